//! rustls configurations built from PEM files of the [`crate::pki`]: the router's server side
//! (mandatory client certificates verified against the testbed CA) and the client side used
//! towards producers and by tools. The aws-lc-rs crypto provider is always passed explicitly, so
//! nothing depends on a process-wide default provider.
//!
//! Only TLS 1.2 and 1.3 are offered (rustls has nothing older); revocation (CRL/OCSP) is not
//! checked.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Errors building a TLS configuration; each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read certificates from {}: {source}", path.display())]
    ReadCerts {
        path: PathBuf,
        #[source]
        source: pem::Error,
    },
    #[error("{} contains no PEM certificate", path.display())]
    NoCerts { path: PathBuf },
    #[error("cannot read a private key from {}: {source}", path.display())]
    ReadKey {
        path: PathBuf,
        #[source]
        source: pem::Error,
    },
    #[error("CA certificate in {} is not usable as a trust anchor: {source}", path.display())]
    BadCa {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("cannot build the client certificate verifier from {}: {source}", path.display())]
    Verifier {
        path: PathBuf,
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
    #[error("certificate {} with key {} rejected: {source}", cert.display(), key.display())]
    Identity {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("TLS protocol versions not supported by the crypto provider: {0}")]
    Protocol(#[source] rustls::Error),
}

/// The aws-lc-rs crypto provider (one shared instance).
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .clone()
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read_err = |source| TlsError::ReadCerts {
        path: path.to_path_buf(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(read_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_err)?;
    if certs.is_empty() {
        return Err(TlsError::NoCerts {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|source| TlsError::ReadKey {
        path: path.to_path_buf(),
        source,
    })
}

fn load_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots.add(cert).map_err(|source| TlsError::BadCa {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(roots)
}

/// The CA at `ca` and every certificate in the PEM files `extra` (the `pki.consumer_trust`
/// or `pki.producer_trust` files) as trust anchors.
fn load_roots_with(ca: &Path, extra: &[PathBuf]) -> Result<RootCertStore, TlsError> {
    let mut roots = load_roots(ca)?;
    for path in extra {
        roots.roots.extend(load_roots(path)?.roots);
    }
    Ok(roots)
}

/// Server configuration with MANDATORY client certificates verified against the CA at `ca`,
/// presenting `cert` (PEM chain) with `key` (PEM); TLS 1.2 and 1.3; ALPN `http/1.1`.
pub fn server_config(ca: &Path, cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    server_config_trusting(ca, &[], cert, key)
}

/// [`server_config`] accepting client certificates from the CAs in the PEM files `extra` too
/// (the routers' `pki.consumer_trust`).
pub fn server_config_trusting(
    ca: &Path,
    extra: &[PathBuf],
    cert: &Path,
    key: &Path,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let roots = load_roots_with(ca, extra)?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|source| TlsError::Verifier {
            path: ca.to_path_buf(),
            source,
        })?;
    let certs = load_certs(cert)?;
    let private_key = load_key(key)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Protocol)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, private_key)
        .map_err(|source| TlsError::Identity {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            source,
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Client configuration trusting the CA at `ca`, optionally presenting a client identity
/// `(cert, key)`. No ALPN is offered (towards producers, as hyper-rustls did for HTTP/1.1 only).
pub fn client_config(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
) -> Result<ClientConfig, TlsError> {
    client_config_with(ca, identity, provider(), rustls::DEFAULT_VERSIONS)
}

/// [`client_config`] trusting the CAs in the PEM files `extra` too (the routers'
/// `pki.producer_trust`).
pub fn client_config_trusting(
    ca: &Path,
    extra: &[PathBuf],
    identity: Option<(&Path, &Path)>,
) -> Result<ClientConfig, TlsError> {
    let roots = load_roots_with(ca, extra)?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .map_err(TlsError::Protocol)?
        .with_root_certificates(roots);
    with_identity(builder, identity)
}

/// [`client_config`] with a chosen provider (e.g. one with fewer key-exchange groups) and
/// protocol versions: the load generator pins them so that compared runs use the same.
pub fn client_config_with(
    ca: &Path,
    identity: Option<(&Path, &Path)>,
    provider: Arc<CryptoProvider>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<ClientConfig, TlsError> {
    let roots = load_roots(ca)?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(TlsError::Protocol)?
        .with_root_certificates(roots);
    with_identity(builder, identity)
}

fn with_identity(
    builder: rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>,
    identity: Option<(&Path, &Path)>,
) -> Result<ClientConfig, TlsError> {
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let certs = load_certs(cert)?;
            let private_key = load_key(key)?;
            builder
                .with_client_auth_cert(certs, private_key)
                .map_err(|source| TlsError::Identity {
                    cert: cert.to_path_buf(),
                    key: key.to_path_buf(),
                    source,
                })
        }
    }
}

/// Why a consumer's TLS handshake failed, in words that point at the fix: the `reason` of
/// the router's `tls-handshake-failed` log line (README, "Calling it from SoapUI, Java, .NET
/// and curl", maps each to what the client prints). `error` is what the TLS acceptor returned.
pub fn handshake_refusal(error: &std::io::Error) -> &'static str {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    let Some(tls) = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return match error.kind() {
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe => {
                "the client closed the connection during the handshake: most often it refused \
                 the router's certificate without an alert (Java's HttpClient does): it does not \
                 trust the testbed's CA (give it truststore.p12 or ca.pem), or the host name it \
                 called is not in the certificate (pki.extra_sans)"
            }
            _ => "the connection failed during the handshake",
        };
    };
    match tls {
        E::NoCertificatesPresented => {
            "the client sent no certificate: a consumer must present its function certificate \
             (Java: javax.net.ssl.keyStore; curl: --cert and --key). Java sends none when its \
             key store holds no certificate from a CA the router trusts (ca.pem, \
             pki.consumer_trust)"
        }
        E::InvalidCertificate(C::UnknownIssuer) => {
            "the client's certificate is not issued by a CA the router trusts (the testbed's \
             ca.pem, or a file in pki.consumer_trust)"
        }
        E::InvalidCertificate(C::BadSignature) => {
            "the client's certificate names a trusted CA as its issuer but that CA did not sign \
             it: it comes from another CA of the same name (an older testbed's state directory)"
        }
        E::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => "the client's certificate is outside its validity period",
        E::InvalidCertificate(C::InvalidPurpose | C::InvalidPurposeContext { .. }) => {
            "the client's certificate does not allow client authentication (extended key usage \
             clientAuth)"
        }
        E::InvalidCertificate(_) => "the client's certificate was refused",
        E::AlertReceived(A::CertificateUnknown | A::UnknownCA | A::BadCertificate) => {
            "the client refused the router's certificate: it does not trust the testbed's CA \
             (give it truststore.p12 or ca.pem), or the host name it called is not in the \
             certificate (pki.extra_sans)"
        }
        E::AlertReceived(_) => "the client ended the handshake with an alert",
        E::InvalidMessage(_) | E::InappropriateHandshakeMessage { .. } => {
            "the client did not speak TLS (plain HTTP to the HTTPS listener? use https://, or \
             the router's plain-HTTP listener)"
        }
        E::PeerIncompatible(_) | E::NoApplicationProtocol => {
            "the client offers no TLS version, cipher suite or group in common (TLS 1.2 or 1.3 \
             with ECDHE is needed)"
        }
        _ => "the TLS handshake failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{self, Ca, CertRequest};
    use rustls::{ClientConnection, ServerConnection};

    /// Drives a handshake in memory; returns the server connection on success.
    fn handshake(
        server: Arc<ServerConfig>,
        client: ClientConfig,
    ) -> Result<ServerConnection, rustls::Error> {
        let name = "localhost"
            .try_into()
            .map_err(|_| rustls::Error::General("name".into()))?;
        let mut client = ClientConnection::new(Arc::new(client), name)?;
        let mut server = ServerConnection::new(server)?;
        for _ in 0..20 {
            let mut progressed = false;
            progressed |= transfer(&mut client, &mut server)?;
            progressed |= transfer(&mut server, &mut client)?;
            if !client.is_handshaking() && !server.is_handshaking() {
                // Let a client-cert rejection sent after the client finished (TLS 1.3) arrive.
                transfer(&mut client, &mut server)?;
                transfer(&mut server, &mut client)?;
                return Ok(server);
            }
            if !progressed {
                break;
            }
        }
        Err(rustls::Error::General("handshake stalled".into()))
    }

    fn transfer<A, B, DA, DB>(from: &mut A, to: &mut B) -> Result<bool, rustls::Error>
    where
        A: std::ops::DerefMut<Target = rustls::ConnectionCommon<DA>>,
        B: std::ops::DerefMut<Target = rustls::ConnectionCommon<DB>>,
    {
        let mut buf = Vec::new();
        while from.wants_write() {
            from.write_tls(&mut buf)
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        }
        let moved = !buf.is_empty();
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            to.read_tls(&mut rd)
                .map_err(|e| rustls::Error::General(e.to_string()))?;
            to.process_new_packets()?;
        }
        Ok(moved)
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        pki: pki::StatePki,
        foreign_cert: PathBuf,
        foreign_key: PathBuf,
        no_hsa_cert: PathBuf,
        no_hsa_key: PathBuf,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = pki::ensure_state_pki(&dir.path().join("pki")).expect("pki");
        let other = Ca::generate("Another CA").expect("ca");
        let (foreign_cert, foreign_key) = other
            .issue(&CertRequest::function(pki::DEFAULT_CONSUMER_HSA_ID))
            .expect("issue")
            .write(dir.path(), "foreign")
            .expect("write");
        let ca = Ca::load(&pki.ca_cert, &pki.ca_key).expect("load ca");
        let (no_hsa_cert, no_hsa_key) = ca
            .issue(&CertRequest {
                client_auth: true,
                ..CertRequest::default()
            })
            .expect("issue")
            .write(dir.path(), "no-hsa")
            .expect("write");
        Fixture {
            _dir: dir,
            pki,
            foreign_cert,
            foreign_key,
            no_hsa_cert,
            no_hsa_key,
        }
    }

    fn server(f: &Fixture) -> Arc<ServerConfig> {
        server_config(&f.pki.ca_cert, &f.pki.platform.cert, &f.pki.platform.key).expect("server")
    }

    #[test]
    fn handshake_with_cert_from_the_ca_succeeds() {
        let f = fixture();
        let client = client_config(
            &f.pki.ca_cert,
            Some((&f.pki.consumer.cert, &f.pki.consumer.key)),
        )
        .expect("client");
        let conn = handshake(server(&f), client).expect("handshake");
        let peer = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .expect("peer cert");
        assert_eq!(
            pki::hsa_id_from_der(peer.as_ref())
                .expect("parse")
                .as_deref(),
            Some(pki::DEFAULT_CONSUMER_HSA_ID)
        );
        assert_eq!(conn.alpn_protocol(), None);

        // With ALPN offered, http/1.1 is chosen; TLS 1.2 works too.
        let mut client = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS12])
            .expect("versions")
            .with_root_certificates(load_roots(&f.pki.ca_cert).expect("roots"))
            .with_client_auth_cert(
                load_certs(&f.pki.consumer.cert).expect("certs"),
                load_key(&f.pki.consumer.key).expect("key"),
            )
            .expect("client");
        client.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let conn = handshake(server(&f), client).expect("tls1.2 handshake");
        assert_eq!(conn.alpn_protocol(), Some(&b"http/1.1"[..]));
        assert_eq!(
            conn.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_2)
        );

        // A certificate without an HSA-id still passes TLS (the router answers VP002).
        let client =
            client_config(&f.pki.ca_cert, Some((&f.no_hsa_cert, &f.no_hsa_key))).expect("client");
        let conn = handshake(server(&f), client).expect("handshake");
        let peer = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .expect("peer cert");
        assert_eq!(pki::hsa_id_from_der(peer.as_ref()).expect("parse"), None);
    }

    #[test]
    fn handshake_with_cert_from_another_ca_fails() {
        let f = fixture();
        let client =
            client_config(&f.pki.ca_cert, Some((&f.foreign_cert, &f.foreign_key))).expect("client");
        let err = handshake(server(&f), client).expect_err("foreign cert must fail");
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(_)),
            "{err:?}"
        );
        // The log line's reason points at the trusted CAs.
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, err);
        assert!(
            handshake_refusal(&io).contains("pki.consumer_trust"),
            "{}",
            handshake_refusal(&io)
        );
    }

    #[test]
    fn handshake_without_client_cert_fails() {
        let f = fixture();
        let client = client_config(&f.pki.ca_cert, None).expect("client");
        let err = handshake(server(&f), client).expect_err("client cert is mandatory");
        assert!(
            matches!(err, rustls::Error::NoCertificatesPresented),
            "{err:?}"
        );
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, err);
        assert!(handshake_refusal(&io).contains("sent no certificate"));
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert!(handshake_refusal(&eof).contains("truststore.p12"));
    }

    #[test]
    fn client_rejects_server_from_another_ca() {
        let f = fixture();
        let server =
            server_config(&f.pki.ca_cert, &f.foreign_cert, &f.foreign_key).expect("server");
        let client = client_config(
            &f.pki.ca_cert,
            Some((&f.pki.consumer.cert, &f.pki.consumer.key)),
        )
        .expect("client");
        let err = handshake(server, client).expect_err("untrusted server");
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(_)),
            "{err:?}"
        );
    }

    #[test]
    fn errors_name_the_file() {
        let f = fixture();
        let missing = f.pki.dir.join("missing.pem");
        let err = server_config(&missing, &f.pki.platform.cert, &f.pki.platform.key)
            .expect_err("missing CA");
        assert!(err.to_string().contains("missing.pem"), "{err}");

        // A certificate file given as the key.
        let err = client_config(
            &f.pki.ca_cert,
            Some((&f.pki.consumer.cert, &f.pki.consumer.cert)),
        )
        .expect_err("no key");
        assert!(err.to_string().contains("consumer.pem"), "{err}");

        // A key file given as the CA.
        let err = client_config(&f.pki.ca_key, None).expect_err("no certs");
        assert!(matches!(err, TlsError::NoCerts { .. }), "{err}");

        // Key of another certificate.
        let err = server_config(&f.pki.ca_cert, &f.pki.platform.cert, &f.pki.consumer.key)
            .expect_err("mismatch");
        assert!(
            err.to_string().contains("platform.pem")
                && err.to_string().contains("consumer-key.pem"),
            "{err}"
        );
    }
}
