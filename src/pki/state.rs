//! The testbed's own PKI in its state directory: created on first start, reused (and checked)
//! on later starts.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use super::{
    CA_COMMON_NAME, Ca, CertRequest, DEFAULT_CONSUMER_HSA_ID, IssuedCert, PLATFORM_HSA_ID,
    PkiError, STATE_P12_PASSWORD, UNAUTHORISED_CONSUMER_HSA_ID, file_err, io_err,
};

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
    /// `consumer.p12`: the consumer's key and chain, and the CA as a trusted entry
    /// (password [`STATE_P12_PASSWORD`]).
    pub consumer_p12: PathBuf,
    /// `unauthorised.p12`: the same for the unauthorised consumer.
    pub unauthorised_p12: PathBuf,
    /// `truststore.p12`: the CA alone, as a trusted entry (a trust store for Java and .NET).
    pub truststore_p12: PathBuf,
}

/// HSA-id in the client certificate `env`'s router presents to producers.
pub fn platform_client_hsa_id(env: crate::vocab::EnvName) -> String {
    format!("{PLATFORM_HSA_ID}-{}", env.as_str().to_ascii_uppercase())
}

/// [`ensure_state_pki_with`] without extra host names.
pub fn ensure_state_pki(dir: &Path) -> Result<StatePki, PkiError> {
    ensure_state_pki_with(dir, &[])
}

/// Creates (first start) or reuses (later starts) the testbed PKI in `dir` (the serve command
/// passes `<state-dir>/pki`): `ca.pem`/`ca-key.pem`, `platform.pem`/`platform-key.pem`
/// ([`PLATFORM_HSA_ID`], function certificate with SANs localhost, 127.0.0.1 and
/// `extra_sans`: the routers' and the mock producers' server certificate),
/// `platform-<env>.pem`/`platform-<env>-key.pem` (each router's client certificate towards
/// producers, [`platform_client_hsa_id`]),
/// `consumer.pem`/`consumer-key.pem` ([`DEFAULT_CONSUMER_HSA_ID`]),
/// `unauthorised.pem`/`unauthorised-key.pem` ([`UNAUTHORISED_CONSUMER_HSA_ID`]), and for Java,
/// SoapUI and .NET `consumer.p12`, `unauthorised.p12` and `truststore.p12` (password
/// `changeit`).
///
/// Files that exist are reused, never overwritten, with one exception: a platform certificate
/// lacking one of `extra_sans` is reissued from the same CA (and logged). A missing leaf is
/// reissued from the existing CA, and its `.p12` with it. A certificate without its key (or
/// vice versa) is an error naming both paths, and so is a reused leaf that the CA did not
/// issue.
pub fn ensure_state_pki_with(dir: &Path, extra_sans: &[String]) -> Result<StatePki, PkiError> {
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

    let leaf = |stem: &str, hsa_id: &str, sans: &[String]| {
        ensure_leaf(&ca, &ca_cert, dir, stem, hsa_id, sans)
    };
    let (platform, _) = leaf("platform", PLATFORM_HSA_ID, extra_sans)?;
    let platform_clients = crate::vocab::EnvName::ALL
        .into_iter()
        .map(|env| {
            let stem = format!("platform-{env}");
            leaf(&stem, &platform_client_hsa_id(env), &[]).map(|(i, _)| (env, i))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (consumer, consumer_new) = leaf("consumer", DEFAULT_CONSUMER_HSA_ID, &[])?;
    let (unauthorised, unauthorised_new) = leaf("unauthorised", UNAUTHORISED_CONSUMER_HSA_ID, &[])?;

    let consumer_p12 = dir.join("consumer.p12");
    let unauthorised_p12 = dir.join("unauthorised.p12");
    for (id, p12, reissued) in [
        (&consumer, &consumer_p12, consumer_new),
        (&unauthorised, &unauthorised_p12, unauthorised_new),
    ] {
        if reissued || !exists(p12)? {
            IssuedCert::load(&id.cert, &id.key)?.write_p12(&ca, p12, STATE_P12_PASSWORD)?;
        }
    }
    let truststore_p12 = dir.join("truststore.p12");
    if !exists(&truststore_p12)? {
        ca.write_truststore(&truststore_p12, STATE_P12_PASSWORD)?;
    }

    Ok(StatePki {
        dir: dir.to_path_buf(),
        ca_cert,
        ca_key,
        platform,
        platform_clients,
        consumer,
        unauthorised,
        consumer_p12,
        unauthorised_p12,
        truststore_p12,
    })
}

/// The CA of the testbed PKI in `dir` (`<state-dir>/pki`), for `ntjp certs issue`: never
/// creates one ([`PkiError::NoCa`] naming `dir` when there is none).
pub fn load_state_ca(dir: &Path) -> Result<(Ca, PathBuf), PkiError> {
    let ca_cert = dir.join("ca.pem");
    let ca_key = dir.join("ca-key.pem");
    if !pair_exists(&ca_cert, &ca_key)? {
        return Err(PkiError::NoCa {
            dir: std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
        });
    }
    Ok((Ca::load(&ca_cert, &ca_key)?, ca_cert))
}

/// The leaf `<dir>/<stem>.pem`: reused, or issued (true) when missing or lacking one of
/// `extra_sans`.
fn ensure_leaf(
    ca: &Ca,
    ca_path: &Path,
    dir: &Path,
    stem: &str,
    hsa_id: &str,
    extra_sans: &[String],
) -> Result<(Identity, bool), PkiError> {
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}-key.pem"));
    let request = CertRequest::function(hsa_id).with_sans(extra_sans);
    let issued = if pair_exists(&cert, &key)? {
        let existing = IssuedCert::load(&cert, &key)?;
        check_issued_by(&existing.cert_der, ca, &cert, ca_path)?;
        let missing = missing_sans(&existing.cert_der, &request.subject_alt_names, &cert)?;
        if !missing.is_empty() {
            ca.issue(&request)?.write(dir, stem).map_err(|e| match e {
                // A PKI mounted read-only (a Kubernetes Secret) cannot be amended here.
                PkiError::Io { source, .. }
                    if matches!(
                        source.kind(),
                        std::io::ErrorKind::ReadOnlyFilesystem
                            | std::io::ErrorKind::PermissionDenied
                    ) =>
                {
                    PkiError::File {
                        path: cert.clone(),
                        reason: format!(
                            "lacks the host names {} that pki.extra_sans names, and cannot be \
                                 reissued here ({source}): make the PKI again with those names \
                                 (`ntjp certs init` with the same pki.extra_sans, e.g. \
                                 scripts/k8s-pki.sh) and hand it to every node",
                            missing.join(", ")
                        ),
                    }
                }
                other => other,
            })?;
            tracing::info!(
                certificate = %cert.display(),
                added = %missing.join(", "),
                "reissued the certificate from the same CA: it lacked host names that pki.extra_sans names"
            );
        }
        !missing.is_empty()
    } else {
        ca.issue(&request)?.write(dir, stem)?;
        true
    };
    let identity = Identity {
        hsa_id: hsa_id.to_owned(),
        cert,
        key,
    };
    Ok((identity, issued))
}

/// Those of `wanted` (DNS names, any case, or IP literals) the certificate's subject
/// alternative names lack.
fn missing_sans(der: &[u8], wanted: &[String], path: &Path) -> Result<Vec<String>, PkiError> {
    let (_, x509) = X509Certificate::from_der(der)
        .map_err(|e| file_err(path, format!("certificate does not parse: {e}")))?;
    let names = x509
        .subject_alternative_name()
        .map_err(|e| file_err(path, format!("subject alternative names do not parse: {e}")))?
        .map(|ext| ext.value.general_names.clone())
        .unwrap_or_default();
    let has = |san: &str| {
        let ip = san.parse::<IpAddr>().ok();
        names.iter().any(|name| match (name, ip) {
            (GeneralName::IPAddress(bytes), Some(ip)) => ip_of(bytes) == Some(ip),
            (GeneralName::DNSName(dns), None) => dns.eq_ignore_ascii_case(san),
            _ => false,
        })
    };
    Ok(wanted.iter().filter(|s| !has(s)).cloned().collect())
}

fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
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

/// [`missing_sans`] for the unit tests.
#[cfg(test)]
pub(super) fn tests_missing_sans(der: &[u8], wanted: &[String]) -> Vec<String> {
    missing_sans(der, wanted, Path::new("test.pem")).unwrap_or_else(|e| vec![e.to_string()])
}
