//! The embedded test PKI: a CA generated with rcgen that issues SITHS-like *function
//! certificates* (funktionscertifikat) carrying an HSA-id in the subject's serialNumber
//! attribute (OID 2.5.4.5), plus the reading of HSA-ids from certificates (peer certificates and
//! the `x-vp-auth-cert` header). [`ensure_state_pki`] creates the testbed's PKI on first start and
//! reuses it afterwards (adding the configured host names to the platform certificate);
//! [`issue_to_dir`] backs `ntjp certs issue`.
//!
//! It does not emulate SITHS itself: keys are ECDSA P-256 rather than RSA, there is a single
//! root CA and no intermediate, and there are no CRLs, OCSP or certificate policies. Nothing here
//! is suitable for anything but testing; private keys are written unencrypted (mode 0600).
//!
//! One job per file: [`Ca`] creating and reusing the CA (`ca.rs`), issuing function
//! certificates (`issue.rs`), reading identities from a certificate or the `x-vp-auth-cert`
//! header (`identity.rs`), PKCS#12 bundles for Java and .NET: key stores that double as trust
//! stores, and a trust store alone (`p12.rs`), the
//! testbed's own PKI on disk (`state.rs`) and writing key material with the right permissions
//! (`files.rs`). This file is the public face: constants, the error type and re-exports.

mod ca;
mod files;
mod identity;
mod issue;
mod p12;
mod state;
#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

pub use ca::Ca;
pub use identity::{cert_from_header, hsa_id_from_der, subject_from_der, validate_hsa_id};
pub use issue::{CertRequest, IssuedCert, IssuedFiles, issue_to_dir};
pub use state::{
    Identity, StatePki, ensure_state_pki, ensure_state_pki_with, load_state_ca,
    platform_client_hsa_id,
};

/// HSA-id of the platform's own function certificate (its server certificate, and its client
/// certificate towards producers).
pub const PLATFORM_HSA_ID: &str = "TSTNMT2321000156-NTJP";
/// HSA-id of the default consumer, authorised by the default orders.
pub const DEFAULT_CONSUMER_HSA_ID: &str = "TSTNMT2321000156-KONS";
/// HSA-id of a consumer with a valid certificate but no authorisation in TAK.
pub const UNAUTHORISED_CONSUMER_HSA_ID: &str = "TSTNMT2321000156-OBEH";

/// Organisation (O=) of the CA and the default organisation of issued certificates.
pub const ORGANISATION: &str = "NTjP testbed";
/// Common name of the CA created by [`ensure_state_pki`], followed by an id of its own (see
/// [`Ca::generate`]).
pub const CA_COMMON_NAME: &str = "NTjP testbed CA";
/// Password of the `consumer.p12`, `unauthorised.p12` and `truststore.p12` written by
/// [`ensure_state_pki`].
pub const STATE_P12_PASSWORD: &str = "changeit";

pub(crate) const LEAF_VALIDITY_DAYS: i64 = 5 * 365;
pub(crate) const CA_VALIDITY_DAYS: i64 = 10 * 365;
pub(crate) const MAX_HSA_ID_LEN: usize = 64;

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
    #[error(
        "no test CA in {} (looked for ca.pem and ca-key.pem there)", dir.display()
    )]
    NoCa { dir: PathBuf },
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

pub(crate) fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> PkiError {
    let path = path.to_path_buf();
    move |source| PkiError::Io {
        action,
        path,
        source,
    }
}

pub(crate) fn file_err(path: &Path, reason: impl Into<String>) -> PkiError {
    PkiError::File {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}
