//! Reading identities: the HSA-id and subject of a certificate, the certificate in VP's
//! `x-vp-auth-cert` header, and the rules for an HSA-id given on the command line.

use base64::Engine as _;
use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::OID_X509_SERIALNUMBER;
use x509_parser::prelude::FromDer;

use super::{MAX_HSA_ID_LEN, PkiError};

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
    let der = HEADER_BASE64
        .decode(b64.as_bytes())
        .map_err(|e| PkiError::Header(format!("base64 does not decode: {e}")))?;
    parse_cert(&der).map_err(|e| {
        PkiError::Header(format!(
            "the decoded value is not an X.509 certificate: {e}"
        ))
    })?;
    Ok(der)
}

/// Proxies differ in how they pad, so padding is optional, as it was for the PEM parser this
/// replaced; the decoded bytes must still parse as a certificate.
const HEADER_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes `%XX` escapes (nginx's `$ssl_client_escaped_cert`); `+` stays `+`, as it is a base64
/// character. A `%` not followed by two hex digits is an error naming its position, rather than
/// the literal text the lenient decoder of `percent-encoding` would pass on.
fn percent_decode(value: &str) -> Result<String, PkiError> {
    let bytes = value.as_bytes();
    if let Some(i) = memchr::memchr_iter(b'%', bytes).find(|&i| {
        !bytes
            .get(i + 1..i + 3)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    }) {
        return Err(PkiError::Header(format!(
            "invalid percent-encoding at byte {i}"
        )));
    }
    percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .map(|text| text.into_owned())
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
