//! The streaming sniff of a SOAP request: what VP needs to route it, and nothing more.
//!
//! [`sniff`] reads the envelope event by event (never a DOM) and stops at the start tag of the
//! first child of `Body`. It reports the logical address (logisk adressat) from the header, the
//! RIVTA profile that address element implies, and the service contract (the namespace of the
//! first body child) with its operation (that child's local name). Like VP, it matches on local
//! names only and ignores namespaces, does not trim the address, and does not use the URL path or
//! SOAPAction. It does not validate the message against any schema, does not look past the first
//! body child (so the rest of the body may be anything), and does not decode encodings other than
//! UTF-8: such input is refused with a [`SniffError`], which the router turns into VP015.

use std::borrow::Cow;

use quick_xml::{
    errors::{Error as XmlError, IllFormedError},
    events::{BytesStart, Event, attributes::AttrError},
    name::ResolveResult,
    reader::NsReader,
};

use super::{ref_text, xml_position};

/// RIVTA profile (RIV-TA profil) of a request, as its logical-address header element shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// RIVTABP20: the address is in WS-Addressing `To` (`http://www.w3.org/2005/08/addressing`).
    Bp20,
    /// RIVTABP21: the address is in `LogicalAddress` (`urn:riv:itintegration:registry:1`).
    Bp21,
}

impl Profile {
    /// The profile's name as TAK stores it (`rivProfil`): `RIVTABP20` or `RIVTABP21`.
    pub fn tak_name(self) -> &'static str {
        match self {
            Profile::Bp20 => "RIVTABP20",
            Profile::Bp21 => "RIVTABP21",
        }
    }

    /// The profile a TAK name stands for, compared case-insensitively as VP does
    /// (`rivtabp21` = `RIVTABP21`). Other profiles (e.g. `RIVTABP22`) give `None`.
    pub fn from_tak_name(s: &str) -> Option<Profile> {
        [Profile::Bp20, Profile::Bp21]
            .into_iter()
            .find(|p| p.tak_name().eq_ignore_ascii_case(s))
    }
}

/// What [`sniff`] learned from the header and the first body element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sniffed {
    /// The text of the last `To`/`LogicalAddress` element after `Header`, not trimmed. `None`
    /// when there is no such element or the last one is empty or holds only whitespace.
    pub logical_address: Option<String>,
    /// The profile implied by the last address element (`To` → BP20, `LogicalAddress` → BP21),
    /// set even when its text is empty.
    pub profile: Option<Profile>,
    /// The service contract (tjänstekontrakt): the namespace URI of the first child of `Body`.
    /// `None` when `Body` has no child element (or there is no `Body`); `Some("")` when that
    /// child is in no namespace, as VP's parser reports it.
    pub contract: Option<String>,
    /// The local name of the first child of `Body` (the operation, e.g.
    /// `ProcessCervixScreeningInformation`).
    pub operation: Option<String>,
}

/// The request could not be read up to the first body element. Its text is the parser's
/// message with the position (`[row,col]`, 1-based, and the byte offset), used as VP015's
/// details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SniffError(String);

impl SniffError {
    fn at(body: &[u8], offset: u64, message: impl std::fmt::Display) -> Self {
        let message = message.to_string();
        let message = message.trim_end_matches('.');
        SniffError(format!("{message} {}", xml_position(body, offset)))
    }
}

/// [`Sniffed`] without copies: the logical address borrowed from the request where it can be
/// (the router's hot path reads it once and drops it with the request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SniffedRef<'a> {
    /// See [`Sniffed::logical_address`].
    pub logical_address: Option<Cow<'a, str>>,
    /// See [`Sniffed::profile`].
    pub profile: Option<Profile>,
    /// See [`Sniffed::contract`].
    pub contract: Option<String>,
    /// See [`Sniffed::operation`].
    pub operation: Option<String>,
}

impl SniffedRef<'_> {
    /// The same, owning its text.
    pub fn into_owned(self) -> Sniffed {
        Sniffed {
            logical_address: self.logical_address.map(Cow::into_owned),
            profile: self.profile,
            contract: self.contract,
            operation: self.operation,
        }
    }
}

/// Reads a SOAP request up to the start tag of the first body element. See the module docs.
pub fn sniff(body: &[u8]) -> Result<Sniffed, SniffError> {
    sniff_ref(body).map(SniffedRef::into_owned)
}

/// Open elements by qualified name, in one buffer (no allocation per element): only needed to
/// name the element a truncated document leaves open.
#[derive(Default)]
struct OpenNames {
    names: String,
    starts: Vec<usize>,
}

impl OpenNames {
    fn push(&mut self, name: &str) {
        self.starts.push(self.names.len());
        self.names.push_str(name);
    }

    fn pop(&mut self) {
        if let Some(start) = self.starts.pop() {
            self.names.truncate(start);
        }
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    fn last(&self) -> Option<&str> {
        self.starts.last().map(|&start| &self.names[start..])
    }
}

/// [`sniff`], borrowing the logical address from `body` where it can.
pub fn sniff_ref(body: &[u8]) -> Result<SniffedRef<'_>, SniffError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(SniffError("The request body is empty.".to_owned()));
    }
    let mut reader = NsReader::from_reader(body);
    let mut out = SniffedRef::default();
    let mut header_seen = false;
    let mut in_body = false;
    // Open elements, to report a document that ends before the first body element.
    let mut open = OpenNames::default();
    let mut root_seen = false;
    // The address element being read: its text so far and its depth.
    let mut capture: Option<(Cow<'_, str>, usize)> = None;
    let mut declared_encoding: Option<String> = None;

    loop {
        let start = reader.buffer_position();
        let (ns, event) = match reader.read_resolved_event() {
            Ok(x) => x,
            Err(e) => {
                return Err(reader_error(
                    body,
                    &reader,
                    &e,
                    declared_encoding.as_deref(),
                ));
            }
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                check_start(body, start, e)?;
                if open.is_empty() && root_seen {
                    return Err(SniffError::at(body, start, "More than one root element."));
                }
                root_seen = true;
                if let ResolveResult::Unknown(prefix) = ns {
                    let msg = format!("Undeclared namespace prefix `{prefix}`.");
                    return Err(SniffError::at(body, start, msg));
                }
                let local = e.local_name().into_inner();
                if in_body {
                    // Only the first body child's namespace is ever copied.
                    out.contract = Some(match ns {
                        ResolveResult::Bound(n) => n.into_inner().to_owned(),
                        _ => String::new(),
                    });
                    out.operation = Some(local.to_owned());
                    return Ok(out);
                }
                // An element inside the address element ends its text, as in VP, where only the
                // first event after the start tag counts.
                if let Some((text, _)) = capture.take() {
                    out.logical_address = address(text);
                }
                match local {
                    "Body" => in_body = true,
                    "Header" => header_seen = true,
                    "To" | "LogicalAddress" if header_seen => {
                        out.profile = Some(if local == "To" {
                            Profile::Bp20
                        } else {
                            Profile::Bp21
                        });
                        out.logical_address = None;
                        if !is_empty {
                            capture = Some((Cow::Borrowed(""), open.len() + 1));
                        }
                    }
                    _ => {}
                }
                if is_empty {
                    if in_body {
                        // `<Body/>`: no service contract.
                        return Ok(out);
                    }
                } else {
                    open.push(e.name().into_inner());
                }
            }
            Event::End(_) => {
                if let Some((text, depth)) = capture.take() {
                    if depth == open.len() {
                        out.logical_address = address(text);
                    } else {
                        capture = Some((text, depth));
                    }
                }
                open.pop();
                if in_body {
                    // `Body` closed without a child element.
                    return Ok(out);
                }
            }
            Event::Text(t) => {
                if open.is_empty() && !t.chars().all(|c| c.is_ascii_whitespace()) {
                    let msg = "Content is not allowed outside the root element.";
                    return Err(SniffError::at(body, start, msg));
                }
                if let Some((buf, _)) = capture.as_mut() {
                    append(buf, t.xml10_content());
                }
            }
            Event::CData(t) => {
                if open.is_empty() {
                    let msg = "CDATA is not allowed outside the root element.";
                    return Err(SniffError::at(body, start, msg));
                }
                if let Some((buf, _)) = capture.as_mut() {
                    append(buf, t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let Some(text) = ref_text(&r) else {
                    let msg = format!(
                        "Undeclared entity or invalid character reference `&{};`",
                        r.xml10_content()
                    );
                    return Err(SniffError::at(body, start, msg));
                };
                if open.is_empty() {
                    let msg = "Content is not allowed outside the root element.";
                    return Err(SniffError::at(body, start, msg));
                }
                if let Some((buf, _)) = capture.as_mut() {
                    append(buf, text);
                }
            }
            Event::Decl(d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    declared_encoding = Some(enc.into_owned());
                }
            }
            Event::Eof => {
                let pos = reader.buffer_position();
                return match open.last() {
                    Some(name) => {
                        let msg = format!("Unexpected end of input: `</{name}>` not found.");
                        Err(SniffError::at(body, pos, msg))
                    }
                    _ if !root_seen => Err(SniffError::at(body, pos, "No root element found.")),
                    _ => Ok(out),
                };
            }
            Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

/// Appends address text: the common single text event stays borrowed.
fn append<'a>(buf: &mut Cow<'a, str>, text: Cow<'a, str>) {
    if buf.is_empty() {
        *buf = text;
    } else {
        buf.to_mut().push_str(&text);
    }
}

/// VP's rule: an empty or whitespace-only address is no address; otherwise kept untrimmed.
fn address(text: Cow<'_, str>) -> Option<Cow<'_, str>> {
    (!text.chars().all(char::is_whitespace)).then_some(text)
}

/// Checks what quick-xml leaves to the caller: a tag name and well-formed attributes.
fn check_start(body: &[u8], start: u64, e: &BytesStart<'_>) -> Result<(), SniffError> {
    let name = e.name().into_inner();
    let bad_first = |c: char| c.is_ascii_digit() || matches!(c, '-' | '.' | ':');
    if name.is_empty() {
        return Err(SniffError::at(
            body,
            start,
            "Expected an element name after `<`",
        ));
    }
    if name.starts_with(bad_first) {
        let msg = format!("Invalid element name `{name}`.");
        return Err(SniffError::at(body, start, msg));
    }
    for attr in e.attributes() {
        if let Err(err) = attr {
            // Attribute positions count from the character after `<`.
            let (pos, what) = match err {
                AttrError::ExpectedEq(p) => {
                    (p, "attribute name must be followed by `=`".to_owned())
                }
                AttrError::ExpectedValue(p) => {
                    (p, "`=` must be followed by an attribute value".to_owned())
                }
                AttrError::UnquotedValue(p) => (p, "attribute value must be quoted".to_owned()),
                AttrError::ExpectedQuote(p, q) => (
                    p,
                    format!("missing closing quote `{}` in attribute value", q as char),
                ),
                AttrError::Duplicated(p, _) => (p, "duplicated attribute".to_owned()),
            };
            let msg = format!("Invalid attribute in `<{name}>`: {what}.");
            return Err(SniffError::at(body, start + 1 + pos as u64, msg));
        }
    }
    Ok(())
}

/// Turns a quick-xml error into a message with a useful position.
fn reader_error(
    body: &[u8],
    reader: &NsReader<&[u8]>,
    e: &XmlError,
    declared: Option<&str>,
) -> SniffError {
    match e {
        XmlError::Encoding(_) => {
            // quick-xml reports the byte relative to the event; find the absolute one.
            let offset = std::str::from_utf8(body)
                .err()
                .map_or(0, |u| u.valid_up_to());
            let declared = match declared {
                Some(enc)
                    if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") =>
                {
                    format!(" (declared encoding {enc} is not supported: send UTF-8)")
                }
                _ => String::new(),
            };
            let msg = format!("The request is not valid UTF-8{declared}: invalid byte sequence.");
            SniffError::at(body, offset as u64, msg)
        }
        XmlError::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            SniffError::at(
                body,
                reader.error_position(),
                format!("Unexpected close tag `</{found}>`; expected `</{expected}>`."),
            )
        }
        other => SniffError::at(body, reader.error_position(), format!("{other}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BP21: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:urn="urn:riv:itintegration:registry:1"
    xmlns:urn1="urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1">
  <soapenv:Header>
    <urn:LogicalAddress>01</urn:LogicalAddress>
  </soapenv:Header>
  <soapenv:Body>
    <urn1:ProcessCervixScreeningInformation>
      <urn1:cervixScreeningInformation/>
    </urn1:ProcessCervixScreeningInformation>
  </soapenv:Body>
</soapenv:Envelope>"#;

    const NS: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1";

    fn envelope(header: &str, body: &str) -> String {
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
        )
    }

    fn op() -> String {
        format!(r#"<ProcessCervixScreeningInformation xmlns="{NS}"/>"#)
    }

    #[test]
    fn bp21_prefixed() {
        let s = sniff(BP21.as_bytes()).unwrap();
        assert_eq!(
            s,
            Sniffed {
                logical_address: Some("01".into()),
                profile: Some(Profile::Bp21),
                contract: Some(NS.into()),
                operation: Some("ProcessCervixScreeningInformation".into()),
            }
        );
    }

    #[test]
    fn bp21_default_namespace() {
        let h = r#"<LogicalAddress xmlns="urn:riv:itintegration:registry:1">LOAD-MOCKS</LogicalAddress>"#;
        let s = sniff(envelope(h, &op()).as_bytes()).unwrap();
        assert_eq!(s.logical_address.as_deref(), Some("LOAD-MOCKS"));
        assert_eq!(s.profile, Some(Profile::Bp21));
        assert_eq!(s.contract.as_deref(), Some(NS));
    }

    #[test]
    fn bp20_wsa_to() {
        let h = r#"<wsa:To xmlns:wsa="http://www.w3.org/2005/08/addressing">01</wsa:To>"#;
        let s = sniff(envelope(h, &op()).as_bytes()).unwrap();
        assert_eq!(s.logical_address.as_deref(), Some("01"));
        assert_eq!(s.profile, Some(Profile::Bp20));
        assert_eq!(s.contract.as_deref(), Some(NS));
        assert_eq!(
            s.operation.as_deref(),
            Some("ProcessCervixScreeningInformation")
        );
    }

    #[test]
    fn namespace_of_address_is_ignored() {
        let h = r#"<x:LogicalAddress xmlns:x="urn:something:else">01</x:LogicalAddress>"#;
        let s = sniff(envelope(h, &op()).as_bytes()).unwrap();
        assert_eq!(
            (s.profile, s.logical_address.as_deref()),
            (Some(Profile::Bp21), Some("01"))
        );
        // Unqualified, no namespace at all.
        let s = sniff(envelope("<To>02</To>", &op()).as_bytes()).unwrap();
        assert_eq!(
            (s.profile, s.logical_address.as_deref()),
            (Some(Profile::Bp20), Some("02"))
        );
    }

    #[test]
    fn unprefixed_body_child_in_default_namespace_of_envelope() {
        let xml = format!(
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Header><LogicalAddress xmlns="urn:riv:itintegration:registry:1">01</LogicalAddress></Header><Body><Op xmlns="{NS}"/></Body></Envelope>"#
        );
        let s = sniff(xml.as_bytes()).unwrap();
        assert_eq!(s.contract.as_deref(), Some(NS));
        assert_eq!(s.operation.as_deref(), Some("Op"));
        assert_eq!(s.logical_address.as_deref(), Some("01"));
    }

    #[test]
    fn body_child_without_namespace_gives_empty_contract() {
        let xml = envelope("<LogicalAddress>01</LogicalAddress>", "<Op/>");
        let s = sniff(xml.as_bytes()).unwrap();
        assert_eq!(s.contract.as_deref(), Some(""));
        assert_eq!(s.operation.as_deref(), Some("Op"));
    }

    #[test]
    fn whitespace_only_address_is_none_but_profile_is_set() {
        for h in [
            "<LogicalAddress>  \n\t</LogicalAddress>",
            "<LogicalAddress></LogicalAddress>",
            "<LogicalAddress/>",
        ] {
            let s = sniff(envelope(h, &op()).as_bytes()).unwrap();
            assert_eq!(s.logical_address, None, "{h}");
            assert_eq!(s.profile, Some(Profile::Bp21), "{h}");
        }
    }

    #[test]
    fn address_is_not_trimmed() {
        let s = sniff(envelope("<LogicalAddress> 01</LogicalAddress>", &op()).as_bytes()).unwrap();
        assert_eq!(s.logical_address.as_deref(), Some(" 01"));
        let s = sniff(envelope("<LogicalAddress>01\n</LogicalAddress>", &op()).as_bytes()).unwrap();
        assert_eq!(s.logical_address.as_deref(), Some("01\n"));
    }

    #[test]
    fn entities_in_address_are_resolved() {
        let s =
            sniff(envelope("<LogicalAddress>A&amp;B&#x20;C</LogicalAddress>", &op()).as_bytes())
                .unwrap();
        assert_eq!(s.logical_address.as_deref(), Some("A&B C"));
        let s =
            sniff(envelope("<LogicalAddress><![CDATA[<01>]]></LogicalAddress>", &op()).as_bytes())
                .unwrap();
        assert_eq!(s.logical_address.as_deref(), Some("<01>"));
    }

    #[test]
    fn last_address_wins() {
        let h = r#"<LogicalAddress>01</LogicalAddress><wsa:To xmlns:wsa="http://www.w3.org/2005/08/addressing">03</wsa:To>"#;
        let s = sniff(envelope(h, &op()).as_bytes()).unwrap();
        assert_eq!(
            (s.profile, s.logical_address.as_deref()),
            (Some(Profile::Bp20), Some("03"))
        );
        let h = "<To>03</To><LogicalAddress>04</LogicalAddress>";
        let s = sniff(envelope(h, &op()).as_bytes()).unwrap();
        assert_eq!(
            (s.profile, s.logical_address.as_deref()),
            (Some(Profile::Bp21), Some("04"))
        );
        // A later empty one clears the address, as in VP.
        let h = "<LogicalAddress>01</LogicalAddress><LogicalAddress/>";
        let s = sniff(envelope(h, &op()).as_bytes()).unwrap();
        assert_eq!((s.profile, s.logical_address), (Some(Profile::Bp21), None));
    }

    #[test]
    fn address_before_header_is_ignored() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><To>x</To><s:Header/><s:Body>{}</s:Body></s:Envelope>"#,
            op()
        );
        let s = sniff(xml.as_bytes()).unwrap();
        assert_eq!((s.profile, s.logical_address), (None, None));
        assert_eq!(s.contract.as_deref(), Some(NS));
    }

    #[test]
    fn no_header() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{}</s:Body></s:Envelope>"#,
            op()
        );
        let s = sniff(xml.as_bytes()).unwrap();
        assert_eq!((s.profile, s.logical_address), (None, None));
        assert_eq!(s.contract.as_deref(), Some(NS));
    }

    #[test]
    fn body_without_child() {
        for b in ["", "  ", "<!-- nothing -->"] {
            let s = sniff(envelope("<LogicalAddress>01</LogicalAddress>", b).as_bytes()).unwrap();
            assert_eq!((s.contract, s.operation), (None, None));
            assert_eq!(s.logical_address.as_deref(), Some("01"));
        }
        let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header/><s:Body/></s:Envelope>"#;
        assert_eq!(sniff(xml.as_bytes()).unwrap().contract, None);
    }

    #[test]
    fn stops_at_first_body_child() {
        // Garbage after the first child's start tag is never read.
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><LogicalAddress>01</LogicalAddress></s:Header><s:Body><p:Op xmlns:p="{NS}"> <<<&&& </wrong> not xml at all"#
        );
        let s = sniff(xml.as_bytes()).unwrap();
        assert_eq!(s.contract.as_deref(), Some(NS));
        assert_eq!(s.operation.as_deref(), Some("Op"));
        // Not even UTF-8 afterwards.
        let mut bytes = xml.into_bytes();
        bytes.extend_from_slice(b"\xff\xfe\xe9");
        assert!(sniff(&bytes).is_ok());
    }

    #[test]
    fn malformed_xml_has_position() {
        // VP's own system test: an attribute without `=`.
        let err = sniff(b"<soapenv:Envelope s xmlns:soapenv=\"x\"/>")
            .unwrap_err()
            .to_string();
        assert!(err.contains("[row,col]: [1,21]"), "{err}");
        assert!(err.contains('='), "{err}");

        let err = sniff(b"<a>\n  <b></a>").unwrap_err().to_string();
        assert!(err.contains("[row,col]: [2,6]"), "{err}");
        assert!(err.contains("</a>") && err.contains("</b>"), "{err}");

        let err = sniff(b"<s:Envelope xmlns:s=\"x\"><s:Body>")
            .unwrap_err()
            .to_string();
        assert!(err.contains("</s:Body>"), "{err}");

        let err = sniff(b"<a><b>").unwrap_err().to_string();
        assert!(
            err.contains("</b>") && err.contains("[row,col]: [1,7]"),
            "{err}"
        );

        for bad in [
            "hello",
            "<a>x & y</a>",
            "<a>&nbsp;</a>",
            "<a>x < y</a>",
            "<p:a/>",
            "<a/><b/>",
            "<a x=1/>",
        ] {
            let err = sniff(bad.as_bytes()).unwrap_err().to_string();
            assert!(err.contains("[row,col]"), "{bad}: {err}");
        }
    }

    #[test]
    fn empty_body_is_an_error() {
        assert!(sniff(b"").is_err());
        assert!(sniff(b" \r\n").is_err());
    }

    #[test]
    fn non_utf8_is_an_error_naming_the_problem() {
        let xml = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Header><LogicalAddress>V\xe4st</LogicalAddress></s:Header><s:Body><Op/></s:Body></s:Envelope>";
        let err = sniff(xml).unwrap_err().to_string();
        assert!(err.contains("UTF-8") && err.contains("ISO-8859-1"), "{err}");
        assert!(err.contains("[row,col]: [2,"), "{err}");
        // UTF-16 (with BOM) is not UTF-8 either.
        let utf16: Vec<u8> = "\u{feff}<a/>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(sniff(&utf16).is_err());
    }

    #[test]
    fn utf8_bom_is_accepted() {
        let mut xml = b"\xEF\xBB\xBF".to_vec();
        xml.extend_from_slice(BP21.as_bytes());
        assert_eq!(sniff(&xml).unwrap().logical_address.as_deref(), Some("01"));
    }

    #[test]
    fn profile_names() {
        assert_eq!(Profile::Bp20.tak_name(), "RIVTABP20");
        assert_eq!(Profile::from_tak_name("rivtabp21"), Some(Profile::Bp21));
        assert_eq!(Profile::from_tak_name("RivTaBp20"), Some(Profile::Bp20));
        assert_eq!(Profile::from_tak_name("RIVTABP22"), None);
    }
}
