//! Issuing SITHS-like function certificates (funktionscertifikat) from a [`Ca`]: the HSA-id in
//! the subject's serialNumber, fresh ECDSA P-256 keys, and `ntjp certs issue`.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::ca::{check_key_matches, dn_value, validity};
use super::files::write_pair;
use super::{
    Ca, LEAF_VALIDITY_DAYS, ORGANISATION, PkiError, file_err, io_err, subject_from_der,
    validate_hsa_id,
};

impl Ca {
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

    /// Adds `sans` (DNS names or IP literals) to the subject alternative names, leaving out
    /// those already there.
    pub fn with_sans(mut self, sans: &[String]) -> Self {
        for san in sans {
            if !self
                .subject_alt_names
                .iter()
                .any(|s| s.eq_ignore_ascii_case(san))
            {
                self.subject_alt_names.push(san.clone());
            }
        }
        self
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
}

/// Files written by [`issue_to_dir`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub p12: PathBuf,
}

/// `ntjp certs issue --hsa-id ID --out DIR [--san NAME]...`: issues a function certificate for
/// `hsa_id` (SANs `localhost`, `127.0.0.1` and `extra_sans`) and writes `DIR/<ID>.pem`,
/// `DIR/<ID>-key.pem` and `DIR/<ID>.p12` (protected by `p12_password`).
pub fn issue_to_dir(
    ca: &Ca,
    hsa_id: &str,
    out_dir: &Path,
    p12_password: &str,
    extra_sans: &[String],
) -> Result<IssuedFiles, PkiError> {
    validate_hsa_id(hsa_id)?;
    let issued = ca.issue(&CertRequest::function(hsa_id).with_sans(extra_sans))?;
    let (cert, key) = issued.write(out_dir, hsa_id)?;
    let p12 = out_dir.join(format!("{hsa_id}.p12"));
    issued.write_p12(ca, &p12, p12_password)?;
    Ok(IssuedFiles { cert, key, p12 })
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
