//! The certificate authority: a new self-signed CA, or an existing one read back from its PEM
//! files. Issuing leaves is in `issue.rs`.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::string::PrintableString;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::files::write_pair;
use super::{CA_VALIDITY_DAYS, ORGANISATION, PkiError, file_err, io_err, subject_from_der};

/// A certificate authority able to issue certificates.
pub struct Ca {
    pub(super) issuer: Issuer<'static, KeyPair>,
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
    /// A new self-signed CA: ECDSA P-256, DN `C=SE, O=NTjP testbed, CN=<common_name> <id>`,
    /// valid from yesterday for 10 years. `<id>` is 8 hex digits taken from the new public
    /// key, so two generated CAs never share a subject: a server given a certificate from
    /// another CA then finds no issuer of that name and reports an unknown CA (TLS alert
    /// `unknown_ca`), not a bad signature (`decrypt_error` in Java), which sent users looking
    /// for a broken key instead of a wrong CA.
    pub fn generate(common_name: &str) -> Result<Ca, PkiError> {
        let generate_err = |source| PkiError::Generate {
            what: format!("CA {common_name:?}"),
            source,
        };
        let key = KeyPair::generate().map_err(generate_err)?;
        let common_name = format!("{common_name} {}", key_id(&key));
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
            .push(DnType::CommonName, dn_value(&common_name));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let (not_before, not_after) = validity(CA_VALIDITY_DAYS);
        params.not_before = not_before;
        params.not_after = not_after;
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
}

/// 8 hex digits from the end of the public key (an EC point's last coordinate bytes, as
/// random as the key).
fn key_id(key: &KeyPair) -> String {
    let raw = key.public_key_raw();
    raw[raw.len().saturating_sub(4)..]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(super) fn validity(days: i64) -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - Duration::days(1), now + Duration::days(days))
}

/// PrintableString when the text allows it (as real certificates do), else UTF8String.
pub(super) fn dn_value(text: &str) -> DnValue {
    match PrintableString::try_from(text) {
        Ok(p) => DnValue::PrintableString(p),
        Err(_) => DnValue::Utf8String(text.to_owned()),
    }
}

pub(super) fn check_key_matches(
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

/// The PEM text rcgen writes for a certificate it made (64-character lines, LF), so a loaded
/// CA's `cert_pem` is byte for byte what a generated one would have been.
pub(super) fn canonical_pem(der: &[u8]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    pem::encode_config(&pem::Pem::new("CERTIFICATE", der), config)
}
