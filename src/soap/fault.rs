//! VP's errors (VP001–VP015): the one place where each code, its Swedish message and its
//! details text are made, and where they are written as a SOAP 1.1 fault.
//!
//! A [`VpFault`] is built by one constructor per situation (e.g. [`VpFault::no_route`]); the
//! constructor fills the details template exactly as the real platform does, and [`VpCode`]
//! holds the fixed Swedish message and whether the fault is the client's or the server's.
//! [`VpFault::to_soap`] writes the fault in the real VP's shape. The HTTP status (always 500)
//! and headers are the router's business, not this module's. [`parse_fault`] reads any SOAP 1.1
//! fault back (for tests and tools); it does not read SOAP 1.2 faults.

use std::borrow::Cow;

use quick_xml::{events::Event, reader::Reader};

use super::{escape_text, ref_text};
use crate::vocab::SOAP11_NS;

/// A VP error code. See DOMAIN.md §2.1 for when each one is raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VpCode {
    /// No RIVTA version in the request.
    Vp001,
    /// Client certificate missing or without an HSA-id.
    Vp002,
    /// No logical address in the header.
    Vp003,
    /// No route (vägval) for (contract, logical address).
    Vp004,
    /// The route's profile is not reachable from the request's.
    Vp005,
    /// More than one route matches.
    Vp006,
    /// The consumer is not authorised (anropsbehörighet saknas).
    Vp007,
    /// No TAK loaded.
    Vp008,
    /// The producer is unreachable, failed or timed out.
    Vp009,
    /// The route has an empty URL.
    Vp010,
    /// Plain HTTP from an address not in the whitelist.
    Vp011,
    /// The platform lacks a resource (e.g. profile conversion failed).
    Vp012,
    /// `x-rivta-original-serviceconsumer-hsaid` from a sender not allowed to set it.
    Vp013,
    /// Routing loop between platforms.
    Vp014,
    /// The request is not well-formed.
    Vp015,
}

impl VpCode {
    /// All codes, in order.
    pub const ALL: [VpCode; 15] = [
        VpCode::Vp001,
        VpCode::Vp002,
        VpCode::Vp003,
        VpCode::Vp004,
        VpCode::Vp005,
        VpCode::Vp006,
        VpCode::Vp007,
        VpCode::Vp008,
        VpCode::Vp009,
        VpCode::Vp010,
        VpCode::Vp011,
        VpCode::Vp012,
        VpCode::Vp013,
        VpCode::Vp014,
        VpCode::Vp015,
    ];

    /// `"VP001"` … `"VP015"`.
    pub fn as_str(self) -> &'static str {
        match self {
            VpCode::Vp001 => "VP001",
            VpCode::Vp002 => "VP002",
            VpCode::Vp003 => "VP003",
            VpCode::Vp004 => "VP004",
            VpCode::Vp005 => "VP005",
            VpCode::Vp006 => "VP006",
            VpCode::Vp007 => "VP007",
            VpCode::Vp008 => "VP008",
            VpCode::Vp009 => "VP009",
            VpCode::Vp010 => "VP010",
            VpCode::Vp011 => "VP011",
            VpCode::Vp012 => "VP012",
            VpCode::Vp013 => "VP013",
            VpCode::Vp014 => "VP014",
            VpCode::Vp015 => "VP015",
        }
    }

    /// The code for `"VP004"` (case-insensitive), for tools that read faults back.
    pub fn parse(s: &str) -> Option<VpCode> {
        VpCode::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether the consumer is at fault (`SOAP-ENV:Client`) rather than the platform or the
    /// producer (`SOAP-ENV:Server`).
    pub fn is_client(self) -> bool {
        matches!(
            self,
            VpCode::Vp001
                | VpCode::Vp002
                | VpCode::Vp003
                | VpCode::Vp004
                | VpCode::Vp005
                | VpCode::Vp011
                | VpCode::Vp013
                | VpCode::Vp015
        )
    }

    /// The real platform's Swedish message (from its `vp-messages.properties`), exactly.
    pub fn message(self) -> &'static str {
        match self {
            VpCode::Vp001 => "Rivta-version saknas i anrop eller stöds ej av tjänsteplattformen.",
            VpCode::Vp002 => {
                "Fel i klientcertifikat. Saknas, är av felaktig typ, eller är felaktigt utformad."
            }
            VpCode::Vp003 => {
                "Logisk adressat (ReceiverId) saknas i RivHeadern i inkommande meddelande."
            }
            VpCode::Vp004 => {
                "Det finns inget vägval i tjänsteadresseringskatalogen som matchar anropets logiska \
                 adressat (ReceiverId) och tjänstekontrakt. Kontrollera uppgifterna i anropet och \
                 vid behov, beställ konfigurering i aktuell tjänsteplattform."
            }
            VpCode::Vp005 => {
                "Tjänsteproducenten stödjer inte anropets angivna rivta-version. Kontrollera \
                 uppgifterna."
            }
            VpCode::Vp006 => {
                "Internt fel i tjänsteplattformen. Det finns fler än en tjänsteproducent definierad \
                 i tjänsteadresseringskatalogen som matchar logisk adressat (ReceiverId), \
                 tjänstekontrakt och dagens datum. Tyder på felkonfiguration. Rapportera felet till \
                 tjänsteplattformsförvaltningen."
            }
            VpCode::Vp007 => {
                "Tjänstekonsumenten saknar behörighet att anropa den logiska adressaten via detta \
                 tjänstekontrakt. Kontrollera uppgifterna och vid behov, tillse att det beställs \
                 konfiguration i aktuell tjänsteplattform."
            }
            VpCode::Vp008 => {
                "Internt fel i tjänsteplattformen. Ingen kontakt med tjänsteadresseringskatalogen. \
                 Informera tjänsteplattformsförvaltningen."
            }
            VpCode::Vp009 => "Fel vid kontakt med tjänsteproducenten.",
            VpCode::Vp010 => {
                "Internt fel i tjänsteplattformen. URL saknas för tjänsteproducenten i \
                 tjänsteplattformens tjänsteadresseringskatalog."
            }
            VpCode::Vp011 => {
                "Anrop har gjorts utanför TLS vilket ej är tillåtet. Tjänstekonsumenten ska alltid \
                 använda TLS för säker kommunikation."
            }
            VpCode::Vp012 => {
                "Internt fel i tjänsteplattformen. Nödvändiga resurser saknas för att VP skall \
                 fungera."
            }
            VpCode::Vp013 => {
                "Enligt tjänsteplattformens konfiguration saknar tjänstekonsumenten rätt att använda \
                 headern x-rivta-original-serviceconsumer-hsaid. Kontakta \
                 tjänsteplattformsförvaltningen."
            }
            VpCode::Vp014 => {
                "Anropsförmedlingen för den logiska adressaten har givit upphov till rundgång mellan \
                 tjänsteplattformar. Rapportera felet till tjänsteplattformsförvaltningen."
            }
            VpCode::Vp015 => "Anrop ej korrekt utformat och kan därför inte behandlas.",
        }
    }

    /// The SOAP 1.1 fault code as VP writes it: `SOAP-ENV:Client` or `SOAP-ENV:Server`.
    pub fn faultcode(self) -> &'static str {
        if self.is_client() {
            "SOAP-ENV:Client"
        } else {
            "SOAP-ENV:Server"
        }
    }
}

impl std::fmt::Display for VpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One VP error: its code and its details text (`detailString`). Made only by the constructors
/// below, which fill the real platform's details templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VpFault {
    code: VpCode,
    details: String,
}

/// What begins the location at the end of a parser message in Woodstox's shape.
const LOCATION_MARK: &str = "\n at [row,col {unknown-source}]: [";

/// At most this many bytes of one value taken from a request (an address, a namespace, a
/// sender, a parser message) are echoed into a fault's details or a log line; the rest is
/// cut off with [`TRUNCATION_MARKER`]. Real values are far shorter (HSA-ids, namespaces and
/// URLs are at most 255 characters in TAK); a 10 MiB address must not make a 10 MiB fault.
pub const MAX_ECHO_BYTES: usize = 1024;

/// At most this many bytes of details in one fault, whatever it is made of.
pub const MAX_DETAILS_BYTES: usize = 4 * MAX_ECHO_BYTES;

/// What follows the kept beginning of a value that was cut off; `{}` is the value's full size.
pub const TRUNCATION_MARKER: &str = "…[truncated, {} bytes in all]";

/// `text`, or (when longer than `max` bytes) its first `max` bytes at most, cut at a
/// character boundary, followed by the truncation marker with the full size.
pub fn bounded_to(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let marker = TRUNCATION_MARKER.replace("{}", &text.len().to_string());
    Cow::Owned(format!("{}{marker}", &text[..cut]))
}

/// A value from a request as it may be echoed: at most [`MAX_ECHO_BYTES`] of it.
pub fn bounded(text: &str) -> Cow<'_, str> {
    bounded_to(text, MAX_ECHO_BYTES)
}

impl std::fmt::Display for VpFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.details)
    }
}

impl std::error::Error for VpFault {}

impl VpFault {
    fn new(code: VpCode, details: String) -> Self {
        let details = match bounded_to(&details, MAX_DETAILS_BYTES) {
            Cow::Borrowed(_) => details,
            Cow::Owned(cut) => cut,
        };
        VpFault { code, details }
    }

    /// The error code.
    pub fn code(&self) -> VpCode {
        self.code
    }

    /// The details text (`detailString`).
    pub fn details(&self) -> &str {
        &self.details
    }

    /// `VPxxx [<instance name>] <Swedish message>`, e.g. `VP004 [NTJP-TEST] Det finns inget …`.
    pub fn faultstring(&self, instance_name: &str) -> String {
        format!(
            "{} [{}] {}",
            self.code.as_str(),
            instance_name,
            self.code.message()
        )
    }

    /// The whole SOAP 1.1 fault envelope, in the real VP's shape, all text escaped.
    pub fn to_soap(&self, instance_name: &str) -> String {
        format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="{}">"#,
                "<SOAP-ENV:Header/><SOAP-ENV:Body><SOAP-ENV:Fault>",
                "<faultcode>{}</faultcode><faultstring>{}</faultstring>",
                "<detail><detailString>{}</detailString></detail>",
                "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
            ),
            SOAP11_NS,
            self.code.faultcode(),
            escape_text(&self.faultstring(instance_name)),
            escape_text(&self.details),
        )
    }

    /// VP001: the request has no RIVTA version.
    pub fn no_rivta_version() -> Self {
        Self::new(VpCode::Vp001, "No RIV version configured".to_owned())
    }

    /// VP002 on the HTTPS route: the client certificate has no HSA-id; `subject` is its
    /// subject as VP's route writes it (the router's `subject` module writes it).
    pub fn no_sender_id_in_subject(subject: &str) -> Self {
        Self::new(
            VpCode::Vp002,
            format!("No senderId found in Certificate: {}", bounded(subject)),
        )
    }

    /// VP002 on the plain-HTTP route: no certificate in the header `header`
    /// (`x-vp-auth-cert`).
    pub fn no_certificate_in_header(header: &str) -> Self {
        Self::new(
            VpCode::Vp002,
            format!("No certificate found in httpheader {header}"),
        )
    }

    /// VP002 on the plain-HTTP route: the header's value is neither PEM (both markers) nor
    /// base64 DER starting with `MII`. "unkown" is the real platform's spelling.
    pub fn unknown_certificate_type_in_header(header: &str) -> Self {
        Self::new(
            VpCode::Vp002,
            format!("Exception, unkown certificate type found in httpheader {header}"),
        )
    }

    /// VP002 on the plain-HTTP route: the header's certificate could not be read. "occured"
    /// is the real platform's spelling.
    pub fn unreadable_certificate_in_header(header: &str) -> Self {
        Self::new(
            VpCode::Vp002,
            format!("Exception occured parsing certificate in httpheader {header}"),
        )
    }

    /// VP002 on the plain-HTTP route: the header's certificate has no HSA-id. Unlike the
    /// HTTPS route's, VP's text names no subject.
    pub fn no_sender_id_in_header_certificate() -> Self {
        Self::new(VpCode::Vp002, "No senderId found in Certificate".to_owned())
    }

    /// VP003: no logical address in the header. The trailing space is the real platform's
    /// (its template's `%s` filled with nothing).
    pub fn no_logical_address() -> Self {
        Self::new(
            VpCode::Vp003,
            "No receiverId (logical address) found in message header. ".to_owned(),
        )
    }

    /// VP004: no route for (contract, address), after all fallbacks. Says so when the address
    /// holds a space character, as VP's `contains(" ")` (a tab or newline gets no hint).
    pub fn no_route(namespace: &str, receiver: &str) -> Self {
        let mut details = format!(
            "No receiverId (logical address) found for serviceNamespace: {}, receiverId: {}",
            bounded(namespace),
            bounded(receiver)
        );
        if receiver.contains(' ') {
            details.push_str(". Whitespace detected in incoming request!");
        }
        Self::new(VpCode::Vp004, details)
    }

    /// VP005: the route's profile cannot be reached from the request's (`incoming`, as parsed,
    /// e.g. `rivtabp21`).
    pub fn profile_mismatch(incoming: &str) -> Self {
        Self::new(
            VpCode::Vp005,
            format!(
                "No receiverId (logical address) with matching Riv-version found for {}",
                bounded(incoming)
            ),
        )
    }

    /// VP006: more than one route matches.
    pub fn several_routes(namespace: &str, receiver: &str) -> Self {
        Self::new(
            VpCode::Vp006,
            format!(
                "More than one receiverId (logical address) with matching Riv-version found for serviceNamespace: {}, receiverId: {}",
                bounded(namespace),
                bounded(receiver)
            ),
        )
    }

    /// VP007: the consumer has no authorisation (anropsbehörighet).
    pub fn not_authorised(namespace: &str, receiver: &str, sender: &str) -> Self {
        Self::new(
            VpCode::Vp007,
            format!(
                "Authorization missing for serviceNamespace: {}, receiverId: {}, senderId: {}",
                bounded(namespace),
                bounded(receiver),
                bounded(sender)
            ),
        )
    }

    /// VP008: no TAK has been loaded.
    pub fn no_tak() -> Self {
        Self::new(
            VpCode::Vp008,
            "No contact with TAK at startup, and no local cache to fallback on, not possible to route call"
                .to_owned(),
        )
    }

    /// VP009: the producer at `url` could not be reached, failed or timed out; `cause` says how.
    pub fn producer(url: &str, cause: &str) -> Self {
        Self::new(
            VpCode::Vp009,
            format!(
                "Error connecting to service producer at address {}. {}",
                bounded(url),
                bounded(cause)
            ),
        )
    }

    /// VP010: the route's URL is empty.
    pub fn empty_url(namespace: &str, receiver: &str) -> Self {
        Self::new(
            VpCode::Vp010,
            format!(
                "Physical Address field is empty in Service Producer for serviceNamespace: {}, receiverId: {}",
                bounded(namespace),
                bounded(receiver)
            ),
        )
    }

    /// VP011: plain HTTP from `ip`, which is not whitelisted; `header` names what was checked
    /// (`X-Forwarded-For` or the remote address). The double space is the real platform's.
    pub fn not_whitelisted(ip: &str, header: &str) -> Self {
        Self::new(
            VpCode::Vp011,
            format!(
                "Caller was not on the white list of accepted IP-addresses.  IP-address: {}. HTTP header that caused checking: {header}",
                bounded(ip)
            ),
        )
    }

    /// VP012: the platform lacks a resource (e.g. the profile conversion failed).
    pub fn platform_resource(reason: &str) -> Self {
        Self::new(
            VpCode::Vp012,
            format!(
                "Server problem, VP does not have all necessary resources to operate. {}",
                bounded(reason)
            ),
        )
    }

    /// VP013: the sender may not set `x-rivta-original-serviceconsumer-hsaid`.
    pub fn original_consumer_not_allowed() -> Self {
        Self::new(
            VpCode::Vp013,
            "Sender is not approved to set header x-rivta-original-serviceconsumer-hsaid."
                .to_owned(),
        )
    }

    /// VP014: this platform is already in the routing history. No details, as the real one.
    pub fn routing_loop() -> Self {
        Self::new(VpCode::Vp014, String::new())
    }

    /// VP015 for a request sent with another method than POST (`method`). The real VP has no
    /// method check: its parser fails on what is not a SOAP message sent with POST.
    pub fn not_post(method: &str) -> Self {
        Self::malformed(&format!(
            "HTTP method {method} is not supported: a request to VP is a SOAP message sent with POST."
        ))
    }

    /// VP015: the request could not be read; `reason` is the parser's message, which VP puts
    /// in the details alone (for the sniff: Woodstox's message, a newline and
    /// ` at [row,col {unknown-source}]: [r,c]`). A long message is cut before its location,
    /// which is always kept.
    pub fn malformed(reason: &str) -> Self {
        let (message, location) = match reason.rfind(LOCATION_MARK) {
            Some(at) => reason.split_at(at),
            None => (reason, ""),
        };
        Self::new(VpCode::Vp015, format!("{}{location}", bounded(message)))
    }
}

/// The fault VP makes of an exception that is not one of its own (`ExceptionMessageProcessor`
/// with no VP code): `SOAP-ENV:Server`, the exception's `getMessage()` as `faultstring` (no
/// code, no instance name) and its `toString()` as `detailString`; e.g. its WSDL serving's
/// `WSDLException` for a schema it does not know.
pub fn unexpected(message: &str, exception: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="{}">"#,
            "<SOAP-ENV:Header/><SOAP-ENV:Body><SOAP-ENV:Fault>",
            "<faultcode>SOAP-ENV:Server</faultcode><faultstring>{}</faultstring>",
            "<detail><detailString>{}</detailString></detail>",
            "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
        ),
        SOAP11_NS,
        escape_text(&bounded_to(message, MAX_DETAILS_BYTES)),
        escape_text(&bounded_to(exception, MAX_DETAILS_BYTES)),
    )
}

/// A SOAP 1.1 fault as read by [`parse_fault`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFault {
    /// `faultcode` as written, e.g. `SOAP-ENV:Client` (prefix kept), trimmed.
    pub faultcode: String,
    /// `faultstring`, unescaped, not trimmed.
    pub faultstring: String,
    /// The text of `detail/detailString` when there is one (VP's shape); otherwise all text
    /// inside `detail`, trimmed; `None` without a `detail` element.
    pub detail: Option<String>,
}

impl ParsedFault {
    /// The VP code at the start of `faultstring`, if it is a VP fault.
    pub fn vp_code(&self) -> Option<VpCode> {
        VpCode::parse(self.faultstring.split(' ').next()?)
    }
}

/// Reads the first SOAP 1.1 `Fault` of a document by streaming, matching local names. `None`
/// when there is no fault, it lacks `faultcode` or `faultstring`, or the XML is broken before
/// the fault ends.
pub fn parse_fault(xml: &[u8]) -> Option<ParsedFault> {
    let mut reader = Reader::from_reader(xml);
    // Local names of the open elements, and where `Fault` is among them.
    let mut stack: Vec<String> = Vec::new();
    let mut fault_at: Option<usize> = None;
    let mut fields = Fields::default();

    loop {
        match reader.read_event().ok()? {
            Event::Start(e) => {
                let local = e.local_name().into_inner();
                if fault_at.is_none() && local == "Fault" {
                    fault_at = Some(stack.len());
                }
                stack.push(local.to_owned());
                fields.text(&stack, fault_at, "");
            }
            Event::Empty(e) => {
                if fault_at.is_none() && e.local_name().into_inner() == "Fault" {
                    return None;
                }
                stack.push(e.local_name().into_inner().to_owned());
                fields.text(&stack, fault_at, "");
                stack.pop();
            }
            Event::End(_) => {
                stack.pop();
                if fault_at.is_some_and(|f| f == stack.len()) {
                    break;
                }
            }
            Event::Text(t) => fields.text(&stack, fault_at, &t.xml10_content()),
            Event::CData(t) => fields.text(&stack, fault_at, &t.xml10_content()),
            Event::GeneralRef(r) => fields.text(&stack, fault_at, &ref_text(&r)?),
            Event::Eof => return None,
            _ => {}
        }
    }
    Some(ParsedFault {
        faultcode: fields.code?.trim().to_owned(),
        faultstring: fields.string?,
        detail: fields
            .detail_string
            .or_else(|| fields.detail.map(|d| d.trim().to_owned())),
    })
}

/// The texts [`parse_fault`] collects; `Some` once the element has been seen.
#[derive(Default)]
struct Fields {
    code: Option<String>,
    string: Option<String>,
    detail: Option<String>,
    detail_string: Option<String>,
}

impl Fields {
    /// Adds `text`, found with `stack` open, to the field it belongs to (if any).
    fn text(&mut self, stack: &[String], fault_at: Option<usize>, text: &str) {
        let Some(inside) = fault_at.and_then(|f| stack.get(f + 1..)) else {
            return;
        };
        let add = |field: &mut Option<String>| field.get_or_insert_default().push_str(text);
        match inside.first().map(String::as_str) {
            Some("faultcode") => add(&mut self.code),
            Some("faultstring") => add(&mut self.string),
            Some("detail") => {
                add(&mut self.detail);
                if inside.get(1).is_some_and(|n| n == "detailString") {
                    add(&mut self.detail_string);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_input_is_cut_at_a_character_boundary_with_its_size() {
        assert!(matches!(bounded("01"), Cow::Borrowed("01")));
        let long = "å".repeat(MAX_ECHO_BYTES); // two bytes each
        let cut = bounded(&long);
        assert!(cut.starts_with(&"å".repeat(MAX_ECHO_BYTES / 2)));
        assert!(cut.ends_with(&format!(
            "…[truncated, {} bytes in all]",
            2 * MAX_ECHO_BYTES
        )));
        let odd = format!("a{long}");
        assert!(bounded(&odd).len() < MAX_ECHO_BYTES + 40);
        // Each echoed value is bounded, and the hint about whitespace still comes.
        let f = VpFault::no_route(&"n".repeat(1 << 20), &format!("{} x", "r".repeat(1 << 20)));
        assert!(
            f.details().len() < MAX_DETAILS_BYTES + 100,
            "{}",
            f.details().len()
        );
        assert!(
            f.details()
                .ends_with(". Whitespace detected in incoming request!")
        );
        let f = VpFault::malformed(&"m".repeat(1 << 20));
        assert!(f.details().contains("…[truncated, 1048576 bytes in all]"));
        // A long parser message is cut before its location, which stays whole.
        let long = format!(
            "Unexpected close tag </{}>; expected </a>.\n at [row,col {{unknown-source}}]: [1,9]",
            "b".repeat(1 << 20)
        );
        let f = VpFault::malformed(&long);
        assert!(f.details().len() < MAX_DETAILS_BYTES + 100);
        assert!(
            f.details()
                .ends_with("bytes in all]\n at [row,col {unknown-source}]: [1,9]"),
            "{}",
            &f.details()[f.details().len() - 80..]
        );
    }

    use crate::contract::RESPONDER_NS as NS;

    #[test]
    fn codes_and_sides() {
        let client: Vec<&str> = VpCode::ALL
            .iter()
            .filter(|c| c.is_client())
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            client,
            [
                "VP001", "VP002", "VP003", "VP004", "VP005", "VP011", "VP013", "VP015"
            ]
        );
        assert_eq!(VpCode::Vp006.faultcode(), "SOAP-ENV:Server");
        assert_eq!(VpCode::Vp015.faultcode(), "SOAP-ENV:Client");
        assert_eq!(VpCode::parse("vp014"), Some(VpCode::Vp014));
        assert_eq!(VpCode::parse("VP016"), None);
    }

    /// The messages, copied character for character from DOMAIN.md §2.1.
    #[test]
    fn messages_are_the_real_platform_texts() {
        let table = [
            (
                VpCode::Vp001,
                "Rivta-version saknas i anrop eller stöds ej av tjänsteplattformen.",
            ),
            (
                VpCode::Vp002,
                "Fel i klientcertifikat. Saknas, är av felaktig typ, eller är felaktigt utformad.",
            ),
            (
                VpCode::Vp003,
                "Logisk adressat (ReceiverId) saknas i RivHeadern i inkommande meddelande.",
            ),
            (
                VpCode::Vp004,
                "Det finns inget vägval i tjänsteadresseringskatalogen som matchar anropets logiska adressat (ReceiverId) och tjänstekontrakt. Kontrollera uppgifterna i anropet och vid behov, beställ konfigurering i aktuell tjänsteplattform.",
            ),
            (
                VpCode::Vp005,
                "Tjänsteproducenten stödjer inte anropets angivna rivta-version. Kontrollera uppgifterna.",
            ),
            (
                VpCode::Vp006,
                "Internt fel i tjänsteplattformen. Det finns fler än en tjänsteproducent definierad i tjänsteadresseringskatalogen som matchar logisk adressat (ReceiverId), tjänstekontrakt och dagens datum. Tyder på felkonfiguration. Rapportera felet till tjänsteplattformsförvaltningen.",
            ),
            (
                VpCode::Vp007,
                "Tjänstekonsumenten saknar behörighet att anropa den logiska adressaten via detta tjänstekontrakt. Kontrollera uppgifterna och vid behov, tillse att det beställs konfiguration i aktuell tjänsteplattform.",
            ),
            (
                VpCode::Vp008,
                "Internt fel i tjänsteplattformen. Ingen kontakt med tjänsteadresseringskatalogen. Informera tjänsteplattformsförvaltningen.",
            ),
            (VpCode::Vp009, "Fel vid kontakt med tjänsteproducenten."),
            (
                VpCode::Vp010,
                "Internt fel i tjänsteplattformen. URL saknas för tjänsteproducenten i tjänsteplattformens tjänsteadresseringskatalog.",
            ),
            (
                VpCode::Vp011,
                "Anrop har gjorts utanför TLS vilket ej är tillåtet. Tjänstekonsumenten ska alltid använda TLS för säker kommunikation.",
            ),
            (
                VpCode::Vp012,
                "Internt fel i tjänsteplattformen. Nödvändiga resurser saknas för att VP skall fungera.",
            ),
            (
                VpCode::Vp013,
                "Enligt tjänsteplattformens konfiguration saknar tjänstekonsumenten rätt att använda headern x-rivta-original-serviceconsumer-hsaid. Kontakta tjänsteplattformsförvaltningen.",
            ),
            (
                VpCode::Vp014,
                "Anropsförmedlingen för den logiska adressaten har givit upphov till rundgång mellan tjänsteplattformar. Rapportera felet till tjänsteplattformsförvaltningen.",
            ),
            (
                VpCode::Vp015,
                "Anrop ej korrekt utformat och kan därför inte behandlas.",
            ),
        ];
        for (code, message) in table {
            assert_eq!(code.message(), message, "{code}");
        }
    }

    #[test]
    fn constructors_fill_the_real_templates() {
        let cases: Vec<(VpFault, VpCode, &str)> = vec![
            (
                VpFault::no_rivta_version(),
                VpCode::Vp001,
                "No RIV version configured",
            ),
            (
                VpFault::no_sender_id_in_subject("CN=Utan HSA-id, O=NTjP testbed, C=SE"),
                VpCode::Vp002,
                "No senderId found in Certificate: CN=Utan HSA-id, O=NTjP testbed, C=SE",
            ),
            (
                VpFault::no_certificate_in_header("x-vp-auth-cert"),
                VpCode::Vp002,
                "No certificate found in httpheader x-vp-auth-cert",
            ),
            (
                VpFault::unknown_certificate_type_in_header("x-vp-auth-cert"),
                VpCode::Vp002,
                "Exception, unkown certificate type found in httpheader x-vp-auth-cert",
            ),
            (
                VpFault::unreadable_certificate_in_header("x-vp-auth-cert"),
                VpCode::Vp002,
                "Exception occured parsing certificate in httpheader x-vp-auth-cert",
            ),
            (
                VpFault::no_sender_id_in_header_certificate(),
                VpCode::Vp002,
                "No senderId found in Certificate",
            ),
            (
                VpFault::no_logical_address(),
                VpCode::Vp003,
                "No receiverId (logical address) found in message header. ",
            ),
            (
                VpFault::no_route(NS, "TSTNMT2321000156-9999"),
                VpCode::Vp004,
                "No receiverId (logical address) found for serviceNamespace: urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1, receiverId: TSTNMT2321000156-9999",
            ),
            (
                VpFault::no_route("urn:x", " 01"),
                VpCode::Vp004,
                "No receiverId (logical address) found for serviceNamespace: urn:x, receiverId:  01. Whitespace detected in incoming request!",
            ),
            // Only a space gets the hint, as VP's `contains(" ")`.
            (
                VpFault::no_route("urn:x", "0\t1"),
                VpCode::Vp004,
                "No receiverId (logical address) found for serviceNamespace: urn:x, receiverId: 0\t1",
            ),
            (
                VpFault::no_route("urn:x", "01\n"),
                VpCode::Vp004,
                "No receiverId (logical address) found for serviceNamespace: urn:x, receiverId: 01\n",
            ),
            (
                VpFault::profile_mismatch("rivtabp21"),
                VpCode::Vp005,
                "No receiverId (logical address) with matching Riv-version found for rivtabp21",
            ),
            (
                VpFault::several_routes("urn:x", "01"),
                VpCode::Vp006,
                "More than one receiverId (logical address) with matching Riv-version found for serviceNamespace: urn:x, receiverId: 01",
            ),
            (
                VpFault::not_authorised("urn:x", "01", "TSTNMT2321000156-B02"),
                VpCode::Vp007,
                "Authorization missing for serviceNamespace: urn:x, receiverId: 01, senderId: TSTNMT2321000156-B02",
            ),
            (
                VpFault::no_tak(),
                VpCode::Vp008,
                "No contact with TAK at startup, and no local cache to fallback on, not possible to route call",
            ),
            (
                VpFault::producer("https://localhost:1/x", "Connection refused"),
                VpCode::Vp009,
                "Error connecting to service producer at address https://localhost:1/x. Connection refused",
            ),
            (
                VpFault::empty_url("urn:x", "01"),
                VpCode::Vp010,
                "Physical Address field is empty in Service Producer for serviceNamespace: urn:x, receiverId: 01",
            ),
            (
                VpFault::not_whitelisted("10.0.0.1", "X-Forwarded-For"),
                VpCode::Vp011,
                "Caller was not on the white list of accepted IP-addresses.  IP-address: 10.0.0.1. HTTP header that caused checking: X-Forwarded-For",
            ),
            (
                VpFault::platform_resource("boom"),
                VpCode::Vp012,
                "Server problem, VP does not have all necessary resources to operate. boom",
            ),
            (
                VpFault::original_consumer_not_allowed(),
                VpCode::Vp013,
                "Sender is not approved to set header x-rivta-original-serviceconsumer-hsaid.",
            ),
            (VpFault::routing_loop(), VpCode::Vp014, ""),
            (
                VpFault::malformed(
                    "Unexpected character 's' (code 115) expected '='\n at [row,col {unknown-source}]: [1,19]",
                ),
                VpCode::Vp015,
                "Unexpected character 's' (code 115) expected '='\n at [row,col {unknown-source}]: [1,19]",
            ),
        ];
        for (fault, code, details) in cases {
            assert_eq!(fault.code(), code);
            assert_eq!(fault.details(), details, "{code}");
        }
    }

    #[test]
    fn faultstring_has_code_instance_and_message() {
        assert_eq!(
            VpFault::no_route("urn:x", "01").faultstring("NTJP-TEST"),
            "VP004 [NTJP-TEST] Det finns inget vägval i tjänsteadresseringskatalogen som matchar anropets logiska adressat (ReceiverId) och tjänstekontrakt. Kontrollera uppgifterna i anropet och vid behov, beställ konfigurering i aktuell tjänsteplattform."
        );
        assert_eq!(
            VpFault::routing_loop().faultstring("NTJP-QA"),
            "VP014 [NTJP-QA] Anropsförmedlingen för den logiska adressaten har givit upphov till rundgång mellan tjänsteplattformar. Rapportera felet till tjänsteplattformsförvaltningen."
        );
    }

    #[test]
    fn to_soap_is_the_real_shape() {
        let xml = VpFault::no_logical_address().to_soap("NTJP-TEST");
        assert_eq!(
            xml,
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">"#,
                "<SOAP-ENV:Header/><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode>",
                "<faultstring>VP003 [NTJP-TEST] Logisk adressat (ReceiverId) saknas i RivHeadern i inkommande meddelande.</faultstring>",
                "<detail><detailString>No receiverId (logical address) found in message header. </detailString></detail>",
                "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
            )
        );
    }

    #[test]
    fn to_soap_parses_back() {
        for fault in [
            VpFault::no_route(NS, "01"),
            VpFault::no_tak(),
            VpFault::routing_loop(),
            VpFault::malformed(
                "Unexpected close tag </a>; expected </b>.\n at [row,col {unknown-source}]: [1,7]",
            ),
        ] {
            let parsed = parse_fault(fault.to_soap("NTJP-TEST").as_bytes()).unwrap();
            assert_eq!(parsed.faultcode, fault.code().faultcode());
            assert_eq!(parsed.faultstring, fault.faultstring("NTJP-TEST"));
            assert_eq!(parsed.detail.as_deref(), Some(fault.details()));
            assert_eq!(parsed.vp_code(), Some(fault.code()));
        }
    }

    #[test]
    fn text_is_escaped() {
        let fault = VpFault::no_route("urn:<x>&y", "a&b<c");
        let xml = fault.to_soap("<&>");
        assert!(
            xml.contains("receiverId: a&amp;b&lt;c</detailString>"),
            "{xml}"
        );
        assert!(xml.contains("VP004 [&lt;&amp;&gt;]"), "{xml}");
        let parsed = parse_fault(xml.as_bytes()).unwrap();
        assert_eq!(parsed.detail.as_deref(), Some(fault.details()));
        assert_eq!(parsed.faultstring, fault.faultstring("<&>"));
    }

    #[test]
    fn parses_other_faults() {
        let producer = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
            <soap:Fault><faultcode>soap:Server</faultcode><faultstring>Producer &amp; co failed</faultstring>
            <detail><ns2:Error xmlns:ns2="urn:x"> database down </ns2:Error></detail></soap:Fault></soap:Body></soap:Envelope>"#;
        let parsed = parse_fault(producer.as_bytes()).unwrap();
        assert_eq!(parsed.faultcode, "soap:Server");
        assert_eq!(parsed.faultstring, "Producer & co failed");
        assert_eq!(parsed.detail.as_deref(), Some("database down"));
        assert_eq!(parsed.vp_code(), None);

        let no_detail = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring/></s:Fault></s:Body></s:Envelope>"#;
        let parsed = parse_fault(no_detail.as_bytes()).unwrap();
        assert_eq!((parsed.faultstring.as_str(), parsed.detail), ("", None));
    }

    #[test]
    fn no_fault_is_none() {
        assert_eq!(parse_fault(b"<Envelope><Body><x/></Body></Envelope>"), None);
        assert_eq!(
            parse_fault(b"<Fault><faultstring>x</faultstring></Fault>"),
            None
        );
        assert_eq!(parse_fault(b"not xml"), None);
        assert_eq!(parse_fault(b""), None);
    }
}
