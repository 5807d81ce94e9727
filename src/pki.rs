//! The embedded test PKI: a CA generated with rcgen that issues SITHS-like *function
//! certificates* (funktionscertifikat) carrying an HSA-id in the subject's serialNumber
//! attribute (OID 2.5.4.5), plus the reading of HSA-ids from certificates (peer certificates and
//! the `x-vp-auth-cert` header). [`ensure_state_pki`] creates the testbed's PKI on first start and
//! reuses it afterwards; [`issue_to_dir`] backs `ntjp certs issue`.
//!
//! It does not emulate SITHS itself: keys are ECDSA P-256 rather than RSA, there is a single
//! root CA and no intermediate, and there are no CRLs, OCSP or certificate policies. Nothing here
//! is suitable for anything but testing; private keys are written unencrypted (mode 0600).

use std::fs;
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::string::PrintableString;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::OID_X509_SERIALNUMBER;
use x509_parser::prelude::FromDer;

/// HSA-id of the platform's own function certificate (its server certificate, and its client
/// certificate towards producers).
pub const PLATFORM_HSA_ID: &str = "TSTNMT2321000156-NTJP";
/// HSA-id of the default consumer, authorised by the default orders.
pub const DEFAULT_CONSUMER_HSA_ID: &str = "TSTNMT2321000156-KONS";
/// HSA-id of a consumer with a valid certificate but no authorisation in TAK.
pub const UNAUTHORISED_CONSUMER_HSA_ID: &str = "TSTNMT2321000156-OBEH";

/// Organisation (O=) of the CA and the default organisation of issued certificates.
pub const ORGANISATION: &str = "NTjP testbed";
/// Common name of the CA created by [`ensure_state_pki`].
pub const CA_COMMON_NAME: &str = "NTjP testbed CA";
/// Password of the `consumer.p12` written by [`ensure_state_pki`].
pub const STATE_P12_PASSWORD: &str = "changeit";

const LEAF_VALIDITY_DAYS: i64 = 5 * 365;
const CA_VALIDITY_DAYS: i64 = 10 * 365;
const MAX_HSA_ID_LEN: usize = 64;

/// Everything that can go wrong in the PKI; each message names the file, path or input at fault.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    #[error("cannot create {what}: {source}")]
    Generate {
        what: String,
        #[source]
        source: rcgen::Error,
    },
    #[error(
        "{} exists but {} does not; restore it, or delete {} to have a new one generated",
        present.display(), missing.display(), present.display()
    )]
    IncompletePair { present: PathBuf, missing: PathBuf },
    #[error("the private key {} does not belong to the certificate {}", key.display(), cert.display())]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error(
        "{} was not issued by the CA {}; delete it and its key to have it reissued",
        cert.display(), ca.display()
    )]
    NotIssuedByCa { cert: PathBuf, ca: PathBuf },
    #[error("certificate does not parse: {0}")]
    Certificate(String),
    #[error("invalid x-vp-auth-cert header: {0}")]
    Header(String),
    #[error("invalid HSA-id {id:?}: {reason}")]
    InvalidHsaId { id: String, reason: String },
    #[error("invalid subject alternative name {san:?}: {reason}")]
    InvalidSan { san: String, reason: String },
    #[error("cannot write PKCS#12 bundle {}: {source}", path.display())]
    P12 {
        path: PathBuf,
        #[source]
        source: p12_keystore::error::Error,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> PkiError {
    let path = path.to_path_buf();
    move |source| PkiError::Io {
        action,
        path,
        source,
    }
}

fn file_err(path: &Path, reason: impl Into<String>) -> PkiError {
    PkiError::File {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// A certificate authority able to issue certificates.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    cert_der: Vec<u8>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let subject = subject_from_der(&self.cert_der).unwrap_or_default();
        f.debug_struct("Ca")
            .field("subject", &subject)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// A new self-signed CA: ECDSA P-256, DN `C=SE, O=NTjP testbed, CN=<common_name>`, valid from
    /// yesterday for 10 years.
    pub fn generate(common_name: &str) -> Result<Ca, PkiError> {
        let generate_err = |source| PkiError::Generate {
            what: format!("CA {common_name:?}"),
            source,
        };
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CountryName, dn_value("SE"));
        params
            .distinguished_name
            .push(DnType::OrganizationName, dn_value(ORGANISATION));
        params
            .distinguished_name
            .push(DnType::CommonName, dn_value(common_name));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let (not_before, not_after) = validity(CA_VALIDITY_DAYS);
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate().map_err(generate_err)?;
        let cert = params.self_signed(&key).map_err(generate_err)?;
        Ok(Ca {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            issuer: Issuer::new(params, key),
        })
    }

    /// Reuses an existing CA from a PEM certificate and a PEM (PKCS#8) private key.
    pub fn load(cert_pem: &Path, key_pem: &Path) -> Result<Ca, PkiError> {
        let pem = fs::read_to_string(cert_pem).map_err(io_err("read", cert_pem))?;
        let der = CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| file_err(cert_pem, format!("no PEM certificate found: {e}")))?;
        {
            let (_, x509) = X509Certificate::from_der(&der)
                .map_err(|e| file_err(cert_pem, format!("certificate does not parse: {e}")))?;
            if !x509.is_ca() {
                return Err(file_err(cert_pem, "certificate is not a CA certificate"));
            }
            // rcgen only supports single-valued RDNs (and panics on empty ones).
            if x509.subject().iter().any(|rdn| rdn.iter().count() != 1) {
                return Err(file_err(
                    cert_pem,
                    "subject has a multi-valued or empty RDN, which the PKI cannot reuse",
                ));
            }
        }
        let key_text = fs::read_to_string(key_pem).map_err(io_err("read", key_pem))?;
        let key = KeyPair::from_pem(&key_text)
            .map_err(|e| file_err(key_pem, format!("not a usable PKCS#8 PEM private key: {e}")))?;
        check_key_matches(&der, &key, cert_pem, key_pem)?;
        let issuer = Issuer::from_ca_cert_der(&der, key)
            .map_err(|e| file_err(cert_pem, format!("cannot use as issuer: {e}")))?;
        Ok(Ca {
            issuer,
            cert_pem: canonical_pem(&der),
            cert_der: der.to_vec(),
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA's private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// Writes `<dir>/<stem>.pem` and `<dir>/<stem>-key.pem` (mode 0600), creating `dir`.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<(PathBuf, PathBuf), PkiError> {
        write_pair(dir, stem, &self.cert_pem, &self.key_pem())
    }

    /// Issues a certificate with a fresh ECDSA P-256 key, valid from yesterday for 5 years.
    pub fn issue(&self, req: &CertRequest) -> Result<IssuedCert, PkiError> {
        let cn = req
            .common_name
            .clone()
            .or_else(|| req.hsa_id.clone())
            .unwrap_or_else(|| "no-hsa-id".to_owned());
        let generate_err = |source| PkiError::Generate {
            what: format!("certificate {cn:?}"),
            source,
        };
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CountryName, dn_value("SE"));
        params.distinguished_name.push(
            DnType::OrganizationName,
            dn_value(req.organisation.as_deref().unwrap_or(ORGANISATION)),
        );
        params
            .distinguished_name
            .push(DnType::CommonName, dn_value(&cn));
        if let Some(hsa_id) = &req.hsa_id {
            params
                .distinguished_name
                .push(DnType::CustomDnType(vec![2, 5, 4, 5]), dn_value(hsa_id));
        }
        params.subject_alt_names = req
            .subject_alt_names
            .iter()
            .map(|san| san_type(san))
            .collect::<Result<_, _>>()?;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if req.server_auth {
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ServerAuth);
        }
        if req.client_auth {
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ClientAuth);
        }
        params.use_authority_key_identifier_extension = true;
        let (not_before, not_after) = validity(LEAF_VALIDITY_DAYS);
        params.not_before = not_before;
        params.not_after = not_after;
        let key = KeyPair::generate().map_err(generate_err)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(generate_err)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        })
    }
}

fn validity(days: i64) -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - Duration::days(1), now + Duration::days(days))
}

/// PrintableString when the text allows it (as real certificates do), else UTF8String.
fn dn_value(text: &str) -> DnValue {
    match PrintableString::try_from(text) {
        Ok(p) => DnValue::PrintableString(p),
        Err(_) => DnValue::Utf8String(text.to_owned()),
    }
}

fn san_type(san: &str) -> Result<SanType, PkiError> {
    if let Ok(ip) = san.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    san.try_into()
        .map(SanType::DnsName)
        .map_err(|e| PkiError::InvalidSan {
            san: san.to_owned(),
            reason: e.to_string(),
        })
}

fn check_key_matches(
    cert_der: &[u8],
    key: &KeyPair,
    cert_path: &Path,
    key_path: &Path,
) -> Result<(), PkiError> {
    let (_, x509) = X509Certificate::from_der(cert_der)
        .map_err(|e| file_err(cert_path, format!("certificate does not parse: {e}")))?;
    if x509.public_key().raw != key.subject_public_key_info().as_slice() {
        return Err(PkiError::KeyMismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.to_path_buf(),
        });
    }
    Ok(())
}

fn canonical_pem(der: &[u8]) -> String {
    let b64 = base64_encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What to put in a certificate issued by [`Ca::issue`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertRequest {
    /// `Some`: subject serialNumber (OID 2.5.4.5) and CN are set to it. `None`: no serialNumber
    /// at all (a certificate that gives VP002).
    pub hsa_id: Option<String>,
    /// Overrides CN (default: the HSA-id, or `no-hsa-id`).
    pub common_name: Option<String>,
    /// O= (default `NTjP testbed`).
    pub organisation: Option<String>,
    /// DNS names or IP literals; IP literals become IP SANs.
    pub subject_alt_names: Vec<String>,
    /// Extended key usage serverAuth.
    pub server_auth: bool,
    /// Extended key usage clientAuth.
    pub client_auth: bool,
}

impl CertRequest {
    /// A function certificate usable both ways: EKU clientAuth + serverAuth, SANs `localhost`
    /// and `127.0.0.1`.
    pub fn function(hsa_id: &str) -> Self {
        CertRequest {
            hsa_id: Some(hsa_id.to_owned()),
            common_name: None,
            organisation: None,
            subject_alt_names: vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
            server_auth: true,
            client_auth: true,
        }
    }
}

/// A certificate and its private key.
#[derive(Clone)]
pub struct IssuedCert {
    pub cert_pem: String,
    /// PKCS#8 PEM.
    pub key_pem: String,
    pub cert_der: Vec<u8>,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let subject = subject_from_der(&self.cert_der).unwrap_or_default();
        f.debug_struct("IssuedCert")
            .field("subject", &subject)
            .finish_non_exhaustive()
    }
}

impl IssuedCert {
    /// Reads a certificate and its PKCS#8 key from PEM files, checking that they belong together.
    pub fn load(cert: &Path, key: &Path) -> Result<IssuedCert, PkiError> {
        let cert_pem = fs::read_to_string(cert).map_err(io_err("read", cert))?;
        let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| file_err(cert, format!("no PEM certificate found: {e}")))?;
        let key_pem = fs::read_to_string(key).map_err(io_err("read", key))?;
        let key_pair = KeyPair::from_pem(&key_pem)
            .map_err(|e| file_err(key, format!("not a usable PKCS#8 PEM private key: {e}")))?;
        check_key_matches(&der, &key_pair, cert, key)?;
        Ok(IssuedCert {
            cert_pem,
            key_pem,
            cert_der: der.to_vec(),
        })
    }

    /// Writes `<dir>/<stem>.pem` and `<dir>/<stem>-key.pem` (mode 0600 on unix), creating `dir`.
    /// Existing files are replaced. Returns (certificate path, key path).
    pub fn write(&self, dir: &Path, stem: &str) -> Result<(PathBuf, PathBuf), PkiError> {
        write_pair(dir, stem, &self.cert_pem, &self.key_pem)
    }

    /// Writes a PKCS#12 bundle (for Java/SoapUI): the private key with the chain (this
    /// certificate, then the CA), plus the CA as a trusted certificate entry so that the same
    /// file also serves as a trust store. Encryption is PBES2/AES-256 with an HMAC-SHA256 MAC.
    pub fn write_p12(&self, ca: &Ca, path: &Path, password: &str) -> Result<(), PkiError> {
        let p12_err = |source| PkiError::P12 {
            path: path.to_path_buf(),
            source,
        };
        let key = KeyPair::from_pem(&self.key_pem).map_err(|e| PkiError::File {
            path: path.to_path_buf(),
            reason: format!("the private key is not usable PKCS#8: {e}"),
        })?;
        let alias = match hsa_id_from_der(&self.cert_der)? {
            Some(id) => id.to_lowercase(),
            None => "function-certificate".to_owned(),
        };
        let leaf = p12_keystore::Certificate::from_der(&self.cert_der).map_err(p12_err)?;
        let ca_cert = p12_keystore::Certificate::from_der(ca.cert_der()).map_err(p12_err)?;
        let private_key =
            p12_keystore::PrivateKey::from_der(&key.serialize_der()).map_err(p12_err)?;
        let chain = p12_keystore::PrivateKeyChain::new(
            alias.as_bytes(),
            private_key,
            [leaf, ca_cert.clone()],
        );
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(&alias, p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
        store.add_entry(
            "ntjp-testbed-ca",
            p12_keystore::KeyStoreEntry::Certificate(ca_cert),
        );
        let bytes = store.writer(password).write().map_err(p12_err)?;
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
        }
        write_file(path, bytes.as_slice(), true)
    }
}

fn write_pair(
    dir: &Path,
    stem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<(PathBuf, PathBuf), PkiError> {
    fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}-key.pem"));
    write_file(&cert, cert_pem.as_bytes(), false)?;
    write_file(&key, key_pem.as_bytes(), true)?;
    Ok((cert, key))
}

fn write_file(path: &Path, data: &[u8], private: bool) -> Result<(), PkiError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_err("write", path))?;
    #[cfg(unix)]
    if private {
        // `mode` only applies to new files; tighten a pre-existing one too.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io_err("set permissions of", path))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    file.write_all(data).map_err(io_err("write", path))?;
    file.sync_all().map_err(io_err("write", path))
}

/// An HSA-id with its certificate and key files.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Identity {
    pub hsa_id: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The files of the testbed's PKI (see [`ensure_state_pki`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatePki {
    pub dir: PathBuf,
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    pub platform: Identity,
    /// Per environment (`sit`, `qa`, `prod`), the certificate its router presents to
    /// producers: each platform instance has its own, so a producer (and the mocks'
    /// recordings) can tell which environment called.
    pub platform_clients: Vec<(crate::vocab::EnvName, Identity)>,
    pub consumer: Identity,
    pub unauthorised: Identity,
}

/// HSA-id in the client certificate `env`'s router presents to producers.
pub fn platform_client_hsa_id(env: crate::vocab::EnvName) -> String {
    format!("{PLATFORM_HSA_ID}-{}", env.as_str().to_ascii_uppercase())
}

/// Creates (first start) or reuses (later starts) the testbed PKI in `dir` (the serve command
/// passes `<state-dir>/pki`): `ca.pem`/`ca-key.pem`, `platform.pem`/`platform-key.pem`
/// ([`PLATFORM_HSA_ID`], function certificate with SANs localhost, 127.0.0.1),
/// `platform-<env>.pem`/`platform-<env>-key.pem` (each router's client certificate towards
/// producers, [`platform_client_hsa_id`]),
/// `consumer.pem`/`consumer-key.pem` ([`DEFAULT_CONSUMER_HSA_ID`]),
/// `unauthorised.pem`/`unauthorised-key.pem` ([`UNAUTHORISED_CONSUMER_HSA_ID`]) and
/// `consumer.p12` (password `changeit`) for SoapUI users.
///
/// Files that exist are reused, never overwritten; a missing leaf is reissued from the existing
/// CA. A certificate without its key (or vice versa) is an error naming both paths, and so is a
/// reused leaf that the CA did not issue.
pub fn ensure_state_pki(dir: &Path) -> Result<StatePki, PkiError> {
    fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    let ca_cert = dir.join("ca.pem");
    let ca_key = dir.join("ca-key.pem");
    let ca = if pair_exists(&ca_cert, &ca_key)? {
        Ca::load(&ca_cert, &ca_key)?
    } else {
        let ca = Ca::generate(CA_COMMON_NAME)?;
        ca.write(dir, "ca")?;
        ca
    };

    let platform = ensure_leaf(&ca, &ca_cert, dir, "platform", PLATFORM_HSA_ID)?;
    let platform_clients = crate::vocab::EnvName::ALL
        .into_iter()
        .map(|env| {
            let stem = format!("platform-{env}");
            ensure_leaf(&ca, &ca_cert, dir, &stem, &platform_client_hsa_id(env)).map(|i| (env, i))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let consumer = ensure_leaf(&ca, &ca_cert, dir, "consumer", DEFAULT_CONSUMER_HSA_ID)?;
    let unauthorised = ensure_leaf(
        &ca,
        &ca_cert,
        dir,
        "unauthorised",
        UNAUTHORISED_CONSUMER_HSA_ID,
    )?;

    let p12 = dir.join("consumer.p12");
    if !exists(&p12)? {
        IssuedCert::load(&consumer.cert, &consumer.key)?.write_p12(
            &ca,
            &p12,
            STATE_P12_PASSWORD,
        )?;
    }

    Ok(StatePki {
        dir: dir.to_path_buf(),
        ca_cert,
        ca_key,
        platform,
        platform_clients,
        consumer,
        unauthorised,
    })
}

fn ensure_leaf(
    ca: &Ca,
    ca_path: &Path,
    dir: &Path,
    stem: &str,
    hsa_id: &str,
) -> Result<Identity, PkiError> {
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}-key.pem"));
    if pair_exists(&cert, &key)? {
        let existing = IssuedCert::load(&cert, &key)?;
        check_issued_by(&existing.cert_der, ca, &cert, ca_path)?;
    } else {
        ca.issue(&CertRequest::function(hsa_id))?.write(dir, stem)?;
    }
    Ok(Identity {
        hsa_id: hsa_id.to_owned(),
        cert,
        key,
    })
}

fn check_issued_by(
    leaf_der: &[u8],
    ca: &Ca,
    leaf_path: &Path,
    ca_path: &Path,
) -> Result<(), PkiError> {
    let (_, leaf) = X509Certificate::from_der(leaf_der)
        .map_err(|e| file_err(leaf_path, format!("certificate does not parse: {e}")))?;
    let (_, ca_x509) = X509Certificate::from_der(ca.cert_der())
        .map_err(|e| file_err(ca_path, format!("certificate does not parse: {e}")))?;
    let issued = leaf.issuer().as_raw() == ca_x509.subject().as_raw()
        && leaf.verify_signature(Some(ca_x509.public_key())).is_ok();
    if issued {
        Ok(())
    } else {
        Err(PkiError::NotIssuedByCa {
            cert: leaf_path.to_path_buf(),
            ca: ca_path.to_path_buf(),
        })
    }
}

fn exists(path: &Path) -> Result<bool, PkiError> {
    path.try_exists().map_err(io_err("check", path))
}

/// Both exist: true; neither: false; one of them: error naming both.
fn pair_exists(cert: &Path, key: &Path) -> Result<bool, PkiError> {
    match (exists(cert)?, exists(key)?) {
        (true, true) => Ok(true),
        (false, false) => Ok(false),
        (true, false) => Err(PkiError::IncompletePair {
            present: cert.to_path_buf(),
            missing: key.to_path_buf(),
        }),
        (false, true) => Err(PkiError::IncompletePair {
            present: key.to_path_buf(),
            missing: cert.to_path_buf(),
        }),
    }
}

/// Files written by [`issue_to_dir`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub p12: PathBuf,
}

/// `ntjp certs issue --hsa-id ID --out DIR`: issues a function certificate for `hsa_id` and
/// writes `DIR/<ID>.pem`, `DIR/<ID>-key.pem` and `DIR/<ID>.p12` (protected by `p12_password`).
pub fn issue_to_dir(
    ca: &Ca,
    hsa_id: &str,
    out_dir: &Path,
    p12_password: &str,
) -> Result<IssuedFiles, PkiError> {
    validate_hsa_id(hsa_id)?;
    let issued = ca.issue(&CertRequest::function(hsa_id))?;
    let (cert, key) = issued.write(out_dir, hsa_id)?;
    let p12 = out_dir.join(format!("{hsa_id}.p12"));
    issued.write_p12(ca, &p12, p12_password)?;
    Ok(IssuedFiles { cert, key, p12 })
}

fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, PkiError> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|e| PkiError::Certificate(e.to_string()))
}

/// The HSA-id of a certificate: the value of the subject's serialNumber attribute (OID 2.5.4.5),
/// trimmed. `Ok(None)` if absent (or blank); `Err` if the DER does not parse or the attribute is
/// not a string.
pub fn hsa_id_from_der(der: &[u8]) -> Result<Option<String>, PkiError> {
    let cert = parse_cert(der)?;
    let Some(attr) = cert.subject().iter_by_oid(&OID_X509_SERIALNUMBER).next() else {
        return Ok(None);
    };
    let value = attr.as_str().map_err(|e| {
        PkiError::Certificate(format!(
            "subject serialNumber is not a readable string: {e}"
        ))
    })?;
    let value = value.trim();
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// The subject DN as text (RFC 4514-ish, e.g. `C=SE, O=NTjP testbed, CN=X, serialNumber=Y`).
pub fn subject_from_der(der: &[u8]) -> Result<String, PkiError> {
    Ok(parse_cert(der)?.subject().to_string())
}

/// Parses VP's `x-vp-auth-cert` header: a PEM certificate (BEGIN/END CERTIFICATE markers,
/// whitespace inside ignored) or a bare base64 DER string (starting with `MII`). A
/// comma-separated list is cut at the first comma (Traefik style); a URL-encoded value (nginx's
/// `$ssl_client_escaped_cert`) is decoded first. Returns the DER of a certificate that parses.
pub fn cert_from_header(value: &str) -> Result<Vec<u8>, PkiError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let decoded;
    let mut value = value.trim();
    if value.contains('%') {
        decoded = percent_decode(value)?;
        value = decoded.trim();
    }
    if value.is_empty() {
        return Err(PkiError::Header("the value is empty".into()));
    }
    let body = if let Some(start) = value.find(BEGIN) {
        let rest = &value[start + BEGIN.len()..];
        let end = rest.find(END).ok_or_else(|| {
            PkiError::Header(format!("PEM value has {BEGIN} but no {END} marker"))
        })?;
        &rest[..end]
    } else if value.contains("-----BEGIN") {
        return Err(PkiError::Header(format!(
            "PEM value does not start with {BEGIN}"
        )));
    } else {
        let first = value.split(',').next().unwrap_or_default().trim();
        if !first.starts_with("MII") {
            return Err(PkiError::Header(
                "neither a PEM certificate nor base64 DER (expected \"-----BEGIN CERTIFICATE-----\" or a value starting with \"MII\")"
                    .into(),
            ));
        }
        first
    };
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(bad) = b64
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
    {
        return Err(PkiError::Header(format!(
            "character {bad:?} is not valid base64"
        )));
    }
    let mut pem = String::with_capacity(b64.len() + 80);
    pem.push_str(BEGIN);
    pem.push('\n');
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str(END);
    pem.push('\n');
    let der = CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| PkiError::Header(format!("base64 does not decode: {e}")))?;
    parse_cert(&der).map_err(|e| {
        PkiError::Header(format!(
            "the decoded value is not an X.509 certificate: {e}"
        ))
    })?;
    Ok(der.to_vec())
}

fn percent_decode(value: &str) -> Result<String, PkiError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| PkiError::Header(format!("invalid percent-encoding at byte {i}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| PkiError::Header("percent-decoded value is not UTF-8".into()))
}

/// Validates an HSA-id given on the command line: `[0-9a-zA-Z_-]+`, 1..=64 characters.
pub fn validate_hsa_id(id: &str) -> Result<(), PkiError> {
    let invalid = |reason: String| PkiError::InvalidHsaId {
        id: id.to_owned(),
        reason,
    };
    if id.is_empty() {
        return Err(invalid("it is empty".into()));
    }
    if let Some((pos, c)) = id
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-')))
    {
        return Err(invalid(format!(
            "character {c:?} at position {} is not allowed (only 0-9, a-z, A-Z, '_' and '-')",
            pos + 1
        )));
    }
    if id.len() > MAX_HSA_ID_LEN {
        return Err(invalid(format!(
            "it has {} characters, at most {MAX_HSA_ID_LEN} are allowed",
            id.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function_cert(ca: &Ca, id: &str) -> IssuedCert {
        ca.issue(&CertRequest::function(id)).expect("issue")
    }

    #[test]
    fn issued_function_cert_carries_hsa_id() {
        let ca = Ca::generate("Test CA").expect("ca");
        let cert = function_cert(&ca, DEFAULT_CONSUMER_HSA_ID);
        assert_eq!(
            hsa_id_from_der(&cert.cert_der).expect("parse").as_deref(),
            Some(DEFAULT_CONSUMER_HSA_ID)
        );
        let subject = subject_from_der(&cert.cert_der).expect("subject");
        assert!(
            subject.contains(&format!("CN={DEFAULT_CONSUMER_HSA_ID}")),
            "{subject}"
        );
        assert!(
            subject.contains(&format!("serialNumber={DEFAULT_CONSUMER_HSA_ID}")),
            "{subject}"
        );

        let (_, x509) = X509Certificate::from_der(&cert.cert_der).expect("x509");
        let attr = x509
            .subject()
            .iter_by_oid(&OID_X509_SERIALNUMBER)
            .next()
            .expect("serialNumber");
        assert_eq!(
            attr.attr_value().tag(),
            x509_parser::der_parser::asn1_rs::Tag::PrintableString
        );
        let eku = x509
            .extended_key_usage()
            .expect("eku")
            .expect("eku present");
        assert!(eku.value.client_auth && eku.value.server_auth);
        let san = x509
            .subject_alternative_name()
            .expect("san")
            .expect("san present");
        assert_eq!(san.value.general_names.len(), 2);
        assert!(x509.validity().is_valid());
    }

    #[test]
    fn cert_without_hsa_id_has_none() {
        let ca = Ca::generate("Test CA").expect("ca");
        let req = CertRequest {
            client_auth: true,
            ..CertRequest::default()
        };
        let cert = ca.issue(&req).expect("issue");
        assert_eq!(hsa_id_from_der(&cert.cert_der).expect("parse"), None);
        assert!(
            subject_from_der(&cert.cert_der)
                .expect("subject")
                .contains("CN=no-hsa-id")
        );
        assert!(hsa_id_from_der(b"not a certificate").is_err());
    }

    #[test]
    fn ca_round_trips_through_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Ca::generate("Test CA").expect("ca");
        let (cert, key) = ca.write(dir.path(), "ca").expect("write");
        let loaded = Ca::load(&cert, &key).expect("load");
        assert_eq!(loaded.cert_der(), ca.cert_der());
        let leaf = function_cert(&loaded, "SE123-X");
        let (_, x509) = X509Certificate::from_der(&leaf.cert_der).expect("x509");
        let (_, ca_x509) = X509Certificate::from_der(ca.cert_der()).expect("x509");
        assert_eq!(x509.issuer().as_raw(), ca_x509.subject().as_raw());
        x509.verify_signature(Some(ca_x509.public_key()))
            .expect("signed by the CA");

        // A key that does not belong to the certificate is refused.
        let other = Ca::generate("Other CA").expect("ca");
        let (_, other_key) = other.write(&dir.path().join("o"), "ca").expect("write");
        let err = Ca::load(&cert, &other_key).expect_err("mismatch");
        assert!(matches!(err, PkiError::KeyMismatch { .. }), "{err}");
    }

    #[test]
    fn ensure_state_pki_reuses_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pki_dir = dir.path().join("pki");
        let first = ensure_state_pki(&pki_dir).expect("first");
        let names = [
            "ca.pem",
            "ca-key.pem",
            "platform.pem",
            "platform-key.pem",
            "consumer.pem",
            "consumer-key.pem",
            "unauthorised.pem",
            "unauthorised-key.pem",
            "consumer.p12",
        ];
        let read_all = || {
            names
                .iter()
                .map(|n| fs::read(pki_dir.join(n)).expect(n))
                .collect::<Vec<_>>()
        };
        let before = read_all();
        let second = ensure_state_pki(&pki_dir).expect("second");
        assert_eq!(before, read_all());
        assert_eq!(first.platform.cert, second.platform.cert);

        for id in [&first.platform, &first.consumer, &first.unauthorised] {
            let der = CertificateDer::from_pem_file(&id.cert).expect("pem");
            assert_eq!(
                hsa_id_from_der(&der).expect("parse").as_deref(),
                Some(id.hsa_id.as_str())
            );
        }

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&first.ca_key)
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // A missing leaf is reissued from the existing CA; the others stay.
        fs::remove_file(&first.unauthorised.cert).expect("rm");
        fs::remove_file(&first.unauthorised.key).expect("rm");
        ensure_state_pki(&pki_dir).expect("third");
        let after = read_all();
        assert_eq!(before[..6], after[..6]);
        assert_ne!(before[6], after[6]);
        assert_eq!(before[8], after[8]);

        // A CA certificate without its key is an error naming both files.
        fs::remove_file(&first.ca_key).expect("rm");
        let err = ensure_state_pki(&pki_dir).expect_err("incomplete");
        let msg = err.to_string();
        assert!(
            msg.contains("ca.pem") && msg.contains("ca-key.pem"),
            "{msg}"
        );

        // A fresh CA does not silently accept leaves of the old one.
        fs::remove_file(&first.ca_cert).expect("rm");
        let err = ensure_state_pki(&pki_dir).expect_err("stale leaf");
        assert!(matches!(err, PkiError::NotIssuedByCa { .. }), "{err}");
    }

    #[test]
    fn issue_to_dir_writes_files_and_validates_id() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Ca::generate("Test CA").expect("ca");
        let files = issue_to_dir(&ca, "SE2321000016-ABCD", dir.path(), "secret").expect("issue");
        assert!(files.cert.ends_with("SE2321000016-ABCD.pem"));
        assert!(files.key.ends_with("SE2321000016-ABCD-key.pem"));
        assert!(files.p12.ends_with("SE2321000016-ABCD.p12"));
        let loaded = IssuedCert::load(&files.cert, &files.key).expect("load");
        assert_eq!(
            hsa_id_from_der(&loaded.cert_der).expect("parse").as_deref(),
            Some("SE2321000016-ABCD")
        );

        let data = fs::read(&files.p12).expect("p12");
        let store = p12_keystore::KeyStore::from_pkcs12(
            &data,
            "secret",
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .expect("p12 parses");
        let (_, chain) = store.private_key_chain().expect("key entry");
        assert_eq!(chain.certs().len(), 2);
        assert_eq!(chain.certs()[0].as_der(), loaded.cert_der.as_slice());

        let err = issue_to_dir(&ca, "../etc", dir.path(), "x").expect_err("invalid");
        assert!(err.to_string().contains("'.'"), "{err}");
    }

    #[test]
    fn p12_is_readable_by_openssl() {
        let available = std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !available {
            eprintln!("openssl not on PATH; skipping");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = Ca::generate("Test CA").expect("ca");
        let path = dir.path().join("c.p12");
        function_cert(&ca, "SE-P12")
            .write_p12(&ca, &path, "changeit")
            .expect("p12");
        let out = std::process::Command::new("openssl")
            .args(["pkcs12", "-info", "-in"])
            .arg(&path)
            .args(["-passin", "pass:changeit", "-noout"])
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let wrong = std::process::Command::new("openssl")
            .args(["pkcs12", "-info", "-in"])
            .arg(&path)
            .args(["-passin", "pass:wrong", "-noout"])
            .output()
            .expect("openssl");
        assert!(!wrong.status.success());
    }

    #[test]
    fn cert_from_header_accepts_pem_and_base64() {
        let ca = Ca::generate("Test CA").expect("ca");
        let cert = function_cert(&ca, DEFAULT_CONSUMER_HSA_ID);

        // PEM as is, and with newlines flattened to spaces as some proxies do.
        assert_eq!(
            cert_from_header(&cert.cert_pem).expect("pem"),
            cert.cert_der
        );
        let flat = cert.cert_pem.replace('\n', " ");
        assert_eq!(cert_from_header(&flat).expect("flat pem"), cert.cert_der);

        // Bare base64 DER, alone and as the first of a Traefik-style list.
        let b64 = base64_encode(&cert.cert_der);
        assert!(b64.starts_with("MII"));
        assert_eq!(cert_from_header(&b64).expect("b64"), cert.cert_der);
        let other = base64_encode(ca.cert_der());
        assert_eq!(
            cert_from_header(&format!("{b64},{other}")).expect("list"),
            cert.cert_der
        );

        // URL-encoded PEM (nginx $ssl_client_escaped_cert).
        let escaped = cert
            .cert_pem
            .replace(' ', "%20")
            .replace('\n', "%0A")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        assert_eq!(cert_from_header(&escaped).expect("escaped"), cert.cert_der);
    }

    #[test]
    fn cert_from_header_rejects_garbage() {
        for bad in [
            "",
            "garbage",
            "MII!!!!",
            "MIIgarbage",
            "-----BEGIN CERTIFICATE-----\nMIIB",
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
            "%zz",
        ] {
            let err = cert_from_header(bad).expect_err(bad);
            assert!(matches!(err, PkiError::Header(_)), "{bad}: {err}");
        }
        // Valid base64 that is not a certificate.
        let err =
            cert_from_header(&format!("MII{}", base64_encode(b"hello world"))).expect_err("x");
        assert!(err.to_string().contains("x-vp-auth-cert"), "{err}");
    }

    #[test]
    fn validate_hsa_id_rules() {
        assert!(validate_hsa_id("SE2321000016-ABCD").is_ok());
        assert!(validate_hsa_id("a_b-C9").is_ok());
        assert!(validate_hsa_id(&"x".repeat(64)).is_ok());
        assert!(validate_hsa_id(&"x".repeat(65)).is_err());
        assert!(validate_hsa_id("").is_err());
        let err = validate_hsa_id("SE 1").expect_err("space");
        assert!(err.to_string().contains("' '"), "{err}");
        let err = validate_hsa_id("SEå").expect_err("non-ascii");
        assert!(err.to_string().contains("'å'"), "{err}");
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }
}
