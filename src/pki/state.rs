//! The testbed's own PKI in its state directory: created on first start, reused (and checked)
//! on later starts.

use std::fs;
use std::path::{Path, PathBuf};

use x509_parser::certificate::X509Certificate;
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
