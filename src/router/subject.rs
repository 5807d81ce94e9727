//! A certificate's subject as VP's HTTPS route sees it, for VP002's details.
//!
//! VP reads the subject from Camel's `CamelNettySSLClientCertSubjectName`, which Camel fills
//! with `X509Certificate.getSubjectDN().getName()`: Java's `X500Name.toString()`, the RFC 1779
//! style (not RFC 2253) — RDNs last first, joined by `", "`, Java's keywords (`CN`, `OU`,
//! `SERIALNUMBER`, `EMAILADDRESS`, …, else `OID.<dotted>`), string values quoted when they hold
//! a special character or leading, trailing or doubled spaces, other values as `#` and the
//! upper-case hex of their DER. This is why VP's default pattern is
//! `(?:2.5.4.5|SERIALNUMBER)=([^,]+)`: `SERIALNUMBER=` for this route, `2.5.4.5=#…` for the RFC
//! 2253 form of the certificate header route. Camel's own test expects
//! `SERIALNUMBER=1234567890, CN=CommonName, OU=Unit, O=Org, L=Loc, ST=State, C=US`.
//!
//! Only formats; reads nothing but the DER it is given.

use x509_parser::{
    der_parser::asn1_rs::{Any, Tag, ToDer},
    prelude::{FromDer, X509Certificate},
    x509::AttributeTypeAndValue,
};

/// The subject of the DER certificate `der` as `X500Name.toString()` writes it, or `None`
/// when the DER does not parse.
pub fn java_subject_name(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let rdns: Vec<String> = cert
        .subject()
        .iter_rdn()
        .map(|rdn| rdn.iter().map(java_ava).collect::<Vec<_>>().join(" + "))
        .collect();
    Some(rdns.into_iter().rev().collect::<Vec<_>>().join(", "))
}

/// Java's keyword for an attribute type (its `AVAKeyword` table; where two keywords share an
/// OID, the later one registered wins, as in Java).
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "T",
        "1.3.6.1.4.1.42.2.11.2.1" => "IP",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "2.5.4.46" => "DNQ",
        "2.5.4.4" => "SURNAME",
        "2.5.4.42" => "GIVENNAME",
        "2.5.4.43" => "INITIALS",
        "2.5.4.44" => "GENERATION",
        "1.2.840.113549.1.9.1" => "EMAILADDRESS",
        "0.9.2342.19200300.100.1.1" => "UID",
        "2.5.4.5" => "SERIALNUMBER",
        _ => return None,
    })
}

/// One attribute as `AVA.toString()` writes it.
fn java_ava(ava: &AttributeTypeAndValue<'_>) -> String {
    let oid = ava.attr_type().to_id_string();
    let key = keyword(&oid).map_or_else(|| format!("OID.{oid}"), str::to_owned);
    match string_value(ava.attr_value()) {
        Some(value) => format!("{key}={}", quoted(&value)),
        None => {
            let der = ava.attr_value().to_der_vec().unwrap_or_default();
            let hex: String = der.iter().map(|b| format!("{b:02X}")).collect();
            format!("{key}=#{hex}")
        }
    }
}

/// The value as Java's `DerValue.getAsString()` decodes it; `None` for a type that is not a
/// string.
fn string_value(value: &Any<'_>) -> Option<String> {
    let data = value.data;
    match value.tag() {
        Tag::Utf8String => std::str::from_utf8(data).ok().map(str::to_owned),
        Tag::PrintableString | Tag::Ia5String | Tag::GeneralString | Tag::T61String => {
            Some(data.iter().map(|&b| char::from(b)).collect())
        }
        Tag::BmpString => {
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        Tag::UniversalString => Some(
            data.chunks_exact(4)
                .map(|q| {
                    char::from_u32(u32::from_be_bytes([q[0], q[1], q[2], q[3]]))
                        .unwrap_or('\u{FFFD}')
                })
                .collect(),
        ),
        _ => None,
    }
}

/// Java's `DerValue.isPrintableStringChar`.
fn printable(c: char) -> bool {
    c.is_ascii_alphanumeric() || " '()+,-./:=?".contains(c)
}

/// A string value as `AVA.toKeywordValueString` writes it: `"` and `\` escaped, the whole
/// quoted when it holds one of `,+=\n<>#;\"`, starts or ends with a space or newline, or has
/// two spaces in a row (unless it is already in quotes).
fn quoted(value: &str) -> String {
    const ESCAPEES: &str = ",+=\n<>#;\\\"";
    let chars: Vec<char> = value.chars().collect();
    let already = chars.len() > 1 && chars[0] == '"' && chars[chars.len() - 1] == '"';
    let mut out = String::with_capacity(value.len() + 2);
    let (mut quote, mut previous_white) = (false, false);
    for (i, &c) in chars.iter().enumerate() {
        if already && (i == 0 || i == chars.len() - 1) {
            out.push(c);
            continue;
        }
        if printable(c) || ESCAPEES.contains(c) {
            let white = c == ' ' || c == '\n';
            if (i == 0 && white) || ESCAPEES.contains(c) {
                quote = true;
            }
            if white {
                quote |= previous_white;
            } else if c == '"' || c == '\\' {
                out.push('\\');
            }
            previous_white = white;
        } else {
            previous_white = false;
        }
        out.push(c);
    }
    if out.ends_with([' ', '\n']) {
        quote = true;
    }
    if quote && !already {
        format!("\"{out}\"")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_as_java_quotes_them() {
        assert_eq!(quoted("NTjP testbed"), "NTjP testbed");
        assert_eq!(quoted("a, b"), "\"a, b\"");
        assert_eq!(quoted("a  b"), "\"a  b\"");
        assert_eq!(quoted(" a"), "\" a\"");
        assert_eq!(quoted("a "), "\"a \"");
        assert_eq!(quoted("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(quoted("x=y"), "\"x=y\"");
        assert_eq!(quoted("Västra Götaland"), "Västra Götaland");
        assert_eq!(quoted("\"q\""), "\"q\"");
    }

    #[test]
    fn keywords_are_javas() {
        assert_eq!(keyword("2.5.4.5"), Some("SERIALNUMBER"));
        assert_eq!(keyword("1.2.840.113549.1.9.1"), Some("EMAILADDRESS"));
        assert_eq!(keyword("2.5.4.97"), None);
    }
}
