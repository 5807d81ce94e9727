//! RIVTA profile conversion (VP's RivTaProfilProcessor): RIVTABP20 ⇄ RIVTABP21.
//!
//! When a route's profile differs from the request's, VP rewrites the logical-address header
//! element: BP20's `To` in `http://www.w3.org/2005/08/addressing` ⇄ BP21's `LogicalAddress` in
//! `urn:riv:itintegration:registry:1`. [`convert`] does this by splicing bytes: the document is
//! copied verbatim except the address elements, which are rewritten with the target name and a
//! default-namespace declaration; their content (the address, in its escaped form) and their
//! other attributes are kept as they were. The address elements are found by the same rule as
//! [`sniff`](super::sniff()) (local name, after `Header`, before the first body child), so
//! sniffing the output gives the target profile, the same address and the same contract.
//!
//! Unlike the real VP, which re-serialises the whole envelope with a StAX writer, this neither
//! re-encodes nor reformats anything else, and does not move other WS-Addressing elements
//! (e.g. `wsa:Action`) to the registry namespace. Namespace declarations of the old namespace
//! stay where they were (harmless). Only UTF-8 input is handled (the sniff refuses the rest).

use quick_xml::{
    events::{BytesStart, Event},
    reader::Reader,
};

use super::{sniff::Profile, xml_position};
use crate::vocab::{REGISTRY_NS, WSA_NS};

/// The body could not be converted (not well-formed up to the body, or no address element).
/// The router reports it as VP012.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConvertError(String);

/// The element name and namespace that carry the logical address in `profile`.
fn address_element(profile: Profile) -> (&'static str, &'static str) {
    match profile {
        Profile::Bp20 => ("To", WSA_NS),
        Profile::Bp21 => ("LogicalAddress", REGISTRY_NS),
    }
}

/// Rewrites the logical-address header element(s) to the target profile. A body already in
/// that profile comes back unchanged (byte for byte). See the module docs.
pub fn convert(body: &[u8], to: Profile) -> Result<Vec<u8>, ConvertError> {
    let from = match to {
        Profile::Bp20 => Profile::Bp21,
        Profile::Bp21 => Profile::Bp20,
    };
    let (from_name, _) = address_element(from);
    let (to_name, to_ns) = address_element(to);

    let mut reader = Reader::from_reader(body);
    // Byte ranges of the `from` elements to replace, with their replacement.
    let mut splices: Vec<(usize, usize, String)> = Vec::new();
    let mut header_seen = false;
    let mut in_body = false;
    // The profile the sniff would report: the last address element wins.
    let mut current: Option<Profile> = None;

    loop {
        let start = pos(reader.buffer_position());
        let event = reader
            .read_event()
            .map_err(|e| read_error(e, body, &reader))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if in_body {
                    break;
                }
                let local = e.local_name().into_inner();
                let is_empty = matches!(event, Event::Empty(_));
                match local {
                    "Body" if is_empty => break,
                    "Body" => in_body = true,
                    "Header" => header_seen = true,
                    "To" | "LogicalAddress" if header_seen => {
                        let profile = if local == "To" {
                            Profile::Bp20
                        } else {
                            Profile::Bp21
                        };
                        current = Some(profile);
                        if local == from_name {
                            let open = open_tag(e, to_name, to_ns);
                            let (end, replacement) = if is_empty {
                                (pos(reader.buffer_position()), format!("{open}/>"))
                            } else {
                                let content = element_content(&mut reader, body, e)?;
                                (
                                    pos(reader.buffer_position()),
                                    format!("{open}>{content}</{to_name}>"),
                                )
                            };
                            splices.push((start, end, replacement));
                        }
                    }
                    _ => {}
                }
            }
            Event::End(_) if in_body => break,
            Event::Eof => break,
            _ => {}
        }
    }

    match current {
        None => Err(ConvertError(
            "No logical address element (To or LogicalAddress) in the SOAP header.".to_owned(),
        )),
        Some(p) if p == to => Ok(body.to_vec()),
        Some(_) => Ok(spliced(body, &splices)),
    }
}

/// A read error, with where in `body` it is.
fn read_error(e: quick_xml::Error, body: &[u8], reader: &Reader<&[u8]>) -> ConvertError {
    ConvertError(format!(
        "{e} {}",
        xml_position(body, reader.error_position())
    ))
}

/// The text between the start tag `e` (just read) and its end tag, which is read too.
fn element_content<'b>(
    reader: &mut Reader<&'b [u8]>,
    body: &'b [u8],
    e: &BytesStart<'_>,
) -> Result<&'b str, ConvertError> {
    let inner = reader
        .read_to_end(e.name())
        .map_err(|err| read_error(err, body, reader))?;
    body.get(pos(inner.start)..pos(inner.end))
        .and_then(|b| std::str::from_utf8(b).ok())
        .ok_or_else(|| ConvertError("Invalid address element content.".into()))
}

/// `body` with each (start, end) byte range replaced by its text, the ranges in order.
fn spliced(body: &[u8], splices: &[(usize, usize, String)]) -> Vec<u8> {
    let extra: usize = splices.iter().map(|(_, _, s)| s.len()).sum();
    let mut out = Vec::with_capacity(body.len() + extra);
    let mut copied = 0;
    for (start, end, replacement) in splices {
        out.extend_from_slice(&body[copied..*start]);
        out.extend_from_slice(replacement.as_bytes());
        copied = *end;
    }
    out.extend_from_slice(&body[copied..]);
    out
}

/// `<Name xmlns="ns" …other attributes…` (without the closing `>`): the element's own default
/// namespace declaration is replaced, everything else is kept in its original form.
fn open_tag(e: &BytesStart<'_>, name: &str, ns: &str) -> String {
    let mut tag = format!(r#"<{name} xmlns="{ns}""#);
    for attr in e.attributes().with_checks(false).flatten() {
        let key = attr.key.into_inner();
        if key == "xmlns" {
            continue;
        }
        let value = attr.value;
        let quote = if value.contains('"') { '\'' } else { '"' };
        tag.push_str(&format!(" {key}={quote}{value}{quote}"));
    }
    tag
}

fn pos(p: u64) -> usize {
    usize::try_from(p).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::sniff;

    use crate::contract::RESPONDER_NS as NS;

    fn bp21() -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:riv:itintegration:registry:1">
  <soapenv:Header>
    <urn:LogicalAddress>A&amp;B-01</urn:LogicalAddress>
  </soapenv:Header>
  <soapenv:Body>
    <p:ProcessCervixScreeningInformation xmlns:p="{NS}"><p:x>å</p:x></p:ProcessCervixScreeningInformation>
  </soapenv:Body>
</soapenv:Envelope>"#
        )
    }

    fn bp20() -> String {
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsa="http://www.w3.org/2005/08/addressing"><s:Header><wsa:Action>urn:x</wsa:Action><wsa:To s:mustUnderstand="1"> 01</wsa:To></s:Header><s:Body><ProcessCervixScreeningInformation xmlns="{NS}"/></s:Body></s:Envelope>"#
        )
    }

    #[test]
    fn bp21_to_bp20() {
        let input = bp21();
        let out = String::from_utf8(convert(input.as_bytes(), Profile::Bp20).unwrap()).unwrap();
        let expected = input.replace(
            "<urn:LogicalAddress>A&amp;B-01</urn:LogicalAddress>",
            r#"<To xmlns="http://www.w3.org/2005/08/addressing">A&amp;B-01</To>"#,
        );
        assert_eq!(out, expected);
        let (a, b) = (
            sniff(input.as_bytes()).unwrap(),
            sniff(out.as_bytes()).unwrap(),
        );
        assert_eq!(b.profile, Some(Profile::Bp20));
        assert_eq!(b.logical_address.as_deref(), Some("A&B-01"));
        assert_eq!(
            (b.logical_address, b.contract, b.operation),
            (a.logical_address, a.contract, a.operation)
        );
    }

    #[test]
    fn bp20_to_bp21_keeps_other_attributes_and_untrimmed_text() {
        let input = bp20();
        let out = String::from_utf8(convert(input.as_bytes(), Profile::Bp21).unwrap()).unwrap();
        assert!(
            out.contains(
                r#"<s:Header><wsa:Action>urn:x</wsa:Action><LogicalAddress xmlns="urn:riv:itintegration:registry:1" s:mustUnderstand="1"> 01</LogicalAddress></s:Header>"#
            ),
            "{out}"
        );
        let s = sniff(out.as_bytes()).unwrap();
        assert_eq!(s.profile, Some(Profile::Bp21));
        assert_eq!(s.logical_address.as_deref(), Some(" 01"));
        assert_eq!(s.contract.as_deref(), Some(NS));
    }

    #[test]
    fn round_trip_converts_back() {
        let there = convert(bp21().as_bytes(), Profile::Bp20).unwrap();
        let back = convert(&there, Profile::Bp21).unwrap();
        let s = sniff(&back).unwrap();
        assert_eq!(
            (s.profile, s.logical_address.as_deref()),
            (Some(Profile::Bp21), Some("A&B-01"))
        );
    }

    #[test]
    fn same_profile_is_unchanged() {
        let input = bp21();
        assert_eq!(
            convert(input.as_bytes(), Profile::Bp21).unwrap(),
            input.as_bytes()
        );
        let input = bp20();
        assert_eq!(
            convert(input.as_bytes(), Profile::Bp20).unwrap(),
            input.as_bytes()
        );
    }

    #[test]
    fn default_namespace_declaration_is_replaced_and_empty_elements_converted() {
        let xml = format!(
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header><To xmlns="http://www.w3.org/2005/08/addressing"/></Header><Body><Op xmlns="{NS}"/></Body></Envelope>"#
        );
        let out = String::from_utf8(convert(xml.as_bytes(), Profile::Bp21).unwrap()).unwrap();
        assert!(
            out.contains(
                r#"<Header><LogicalAddress xmlns="urn:riv:itintegration:registry:1"/></Header>"#
            ),
            "{out}"
        );
        let s = sniff(out.as_bytes()).unwrap();
        assert_eq!((s.profile, s.logical_address), (Some(Profile::Bp21), None));
    }

    #[test]
    fn all_address_elements_of_the_old_profile_are_converted() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><LogicalAddress>01</LogicalAddress><To>03</To></s:Header><s:Body><Op xmlns="{NS}"/></s:Body></s:Envelope>"#
        );
        let out = String::from_utf8(convert(xml.as_bytes(), Profile::Bp21).unwrap()).unwrap();
        assert!(!out.contains("<To"), "{out}");
        let s = sniff(out.as_bytes()).unwrap();
        assert_eq!(
            (s.profile, s.logical_address.as_deref()),
            (Some(Profile::Bp21), Some("03"))
        );
    }

    #[test]
    fn the_body_is_not_touched() {
        // A `To` inside the body is payload, not an address.
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><To>01</To></s:Header><s:Body><Op xmlns="{NS}"><To>keep</To></Op></s:Body></s:Envelope>"#
        );
        let out = String::from_utf8(convert(xml.as_bytes(), Profile::Bp21).unwrap()).unwrap();
        assert!(out.contains("<Op xmlns=\"urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1\"><To>keep</To></Op>"));
    }

    #[test]
    fn no_address_is_an_error() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/><s:Body><Op xmlns="{NS}"/></s:Body></s:Envelope>"#
        );
        assert!(convert(xml.as_bytes(), Profile::Bp21).is_err());
        assert!(convert(b"<a><b></a>", Profile::Bp21).is_err());
    }
}
