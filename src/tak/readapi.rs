//! The real TAK read APIs as pure functions, XML in and XML out: SokVagvalsInfo v2
//! (`urn:skl:tp:vagvalsinfo:v2`: `hamtaAllaVirtualiseringar`, `hamtaAllaAnropsBehorigheter`,
//! `hamtaAllaTjanstekontrakt`, `hamtaAllaTjanstekomponenter`) and
//! GetLogicalAddresseesByServiceContract v2, as tak-services serves them (tak.md §3.1, §3.3).
//!
//! [`parse_request`] reads a SOAP envelope only as far as the first child of `Body` (and, for
//! GetLogicalAddresseesByServiceContract, its two fields); [`respond`] writes the SOAP 1.1
//! response from a published [`Snapshot`]; [`fault`] writes a SOAP 1.1 Fault. Element names and
//! order follow the real XSDs (`vagvalsinfo-*-2.0.xsd`,
//! `GetLogicalAddresseesByServiceContractResponder_2.0.xsd`); the payload elements are qualified
//! with the prefix `ns2`, as CXF/JAXB write them (prefixes are not significant to readers). As in
//! tak-services there is no date filtering: every published row is returned, dates as zone-less
//! local midnight (`2013-05-24T00:00:00.000`). We have no filters, so `filterInfo` / `filter`
//! never appear. Where the sources are silent we chose: faults use `soap:Server` (CXF's code for
//! service exceptions) unless [`fault_with_code`] says otherwise; the texts for requests that are
//! not SOAP at all are ours.
//!
//! Not here: HTTP, endpoints (the real ones are `/tak-services/SokVagvalsInfo/v2` and
//! `/tak-services/GetLogicalAddresseesByServiceContract/v2`), choosing the snapshot.

use std::fmt::Write as _;

use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

use super::model::{Authorisation, CallAddress, Day, Id, Route, Row};
use super::snapshot::Snapshot;
use super::store::same_key;
use crate::soap::{escape_text, ref_text};
use crate::vocab::{SOAP11_NS, SOAP12_NS};

/// SokVagvalsInfo v2 namespace (requests, responses and their items).
pub const VAGVALSINFO_V2: &str = "urn:skl:tp:vagvalsinfo:v2";
/// GetLogicalAddresseesByServiceContract v2 responder namespace.
pub const LOGICAL_ADDRESSEES_V2: &str = "urn:riv:infrastructure:itintegration:registry:GetLogicalAddresseesByServiceContractResponder:2";
/// The itintegration registry v2 core namespace (`ServiceContractNamespace`).
pub const REGISTRY_CORE_V2: &str = "urn:riv:infrastructure:itintegration:registry:2";

/// tak-services' error for a missing or blank contract namespace (sic: "Namespece").
pub const MISSING_NAMESPACE: &str = "ServiceContractNamespece must not be empty or null";
/// tak-services' error for a missing or blank consumer HSA-id.
pub const MISSING_CONSUMER: &str = "ServiceConsumerHsaId must not be empty or null";

/// A read request to TAK, identified by the first element of the SOAP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakRequest {
    /// SokVagvalsInfo v2 `hamtaAllaVirtualiseringar`: every route (vägval).
    HamtaAllaVirtualiseringar,
    /// SokVagvalsInfo v2 `hamtaAllaAnropsBehorigheter`: every authorisation (anropsbehörighet).
    HamtaAllaAnropsBehorigheter,
    /// SokVagvalsInfo v2 `hamtaAllaTjanstekontrakt`: every service contract.
    HamtaAllaTjanstekontrakt,
    /// SokVagvalsInfo v2 `hamtaAllaTjanstekomponenter`: every component with its call addresses,
    /// routes and authorisations.
    HamtaAllaTjanstekomponenter,
    /// GetLogicalAddresseesByServiceContract v2: the logical addresses `consumer` may call
    /// through `contract`.
    GetLogicalAddressees {
        /// `serviceConsumerHsaId`.
        consumer: String,
        /// `serviceContractNameSpace/ServiceContractNamespace`.
        contract: String,
    },
}

impl TakRequest {
    /// The operation name (the request element's local name).
    pub fn operation(&self) -> &'static str {
        match self {
            TakRequest::HamtaAllaVirtualiseringar => "hamtaAllaVirtualiseringar",
            TakRequest::HamtaAllaAnropsBehorigheter => "hamtaAllaAnropsBehorigheter",
            TakRequest::HamtaAllaTjanstekontrakt => "hamtaAllaTjanstekontrakt",
            TakRequest::HamtaAllaTjanstekomponenter => "hamtaAllaTjanstekomponenter",
            TakRequest::GetLogicalAddressees { .. } => "GetLogicalAddresseesByServiceContract",
        }
    }
}

/// The namespace a name resolved to, if any.
fn bound<'a>(ns: &ResolveResult<'a>) -> Option<&'a str> {
    match ns {
        ResolveResult::Bound(Namespace(ns)) => Some(ns),
        _ => None,
    }
}

fn is_envelope_ns(ns: Option<&str>) -> bool {
    matches!(ns, Some(SOAP11_NS) | Some(SOAP12_NS))
}

/// Identifies the request in a SOAP envelope (1.1 or 1.2): the namespace and local name of the
/// first child of `Body`, streaming (the rest of the envelope is not read). For
/// `GetLogicalAddresseesByServiceContract` it also reads `serviceConsumerHsaId` and
/// `serviceContractNameSpace/ServiceContractNamespace` in their schema namespaces (responder
/// namespace, and the registry core namespace for the inner element); elements in other
/// namespaces are ignored, as JAXB ignores them, so the field counts as missing. Values are
/// trimmed (our choice).
///
/// Errors are the fault strings to answer with: tak-services' own texts for missing fields
/// ([`MISSING_NAMESPACE`] is checked first, then [`MISSING_CONSUMER`]), CXF's text for an
/// unknown body element, and our own texts for XML that is not a SOAP envelope.
pub fn parse_request(body: &[u8]) -> Result<TakRequest, String> {
    let text = std::str::from_utf8(body).map_err(|e| format!("Request is not UTF-8: {e}"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    read_to_body(&mut reader, text)?;
    let (namespace, local, empty) = first_body_element(&mut reader)?;
    match (namespace.as_deref(), local.as_str()) {
        (Some(VAGVALSINFO_V2), "hamtaAllaVirtualiseringar") => {
            Ok(TakRequest::HamtaAllaVirtualiseringar)
        }
        (Some(VAGVALSINFO_V2), "hamtaAllaAnropsBehorigheter") => {
            Ok(TakRequest::HamtaAllaAnropsBehorigheter)
        }
        (Some(VAGVALSINFO_V2), "hamtaAllaTjanstekontrakt") => {
            Ok(TakRequest::HamtaAllaTjanstekontrakt)
        }
        (Some(VAGVALSINFO_V2), "hamtaAllaTjanstekomponenter") => {
            Ok(TakRequest::HamtaAllaTjanstekomponenter)
        }
        (Some(LOGICAL_ADDRESSEES_V2), "GetLogicalAddresseesByServiceContract") => {
            logical_addressees_request(&mut reader, empty)
        }
        (ns, local) => {
            // CXF's text for a body element that matches no operation.
            let qname = match ns {
                Some(ns) => format!("{{{ns}}}{local}"),
                None => local.to_string(),
            };
            Err(format!(
                "Message part {qname} was not recognized.  (Does it exist in service WSDL?)"
            ))
        }
    }
}

fn xml_error(e: quick_xml::Error) -> String {
    format!("Unreadable XML: {e}")
}

/// Reads up to the start of the SOAP Body: the root must be a SOAP Envelope, its Header is
/// skipped. `text` is the whole request, to tell an empty one.
fn read_to_body(reader: &mut NsReader<&[u8]>, text: &str) -> Result<(), String> {
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(xml_error)?;
        match event {
            Event::Start(e)
                if e.local_name().as_ref() == "Envelope" && is_envelope_ns(bound(&ns)) =>
            {
                break;
            }
            Event::Start(_) | Event::Empty(_) => return Err("Not a SOAP envelope".to_string()),
            Event::Eof if text.trim().is_empty() => return Err("Empty request".to_string()),
            Event::Eof => return Err("Not a SOAP envelope".to_string()),
            _ => {}
        }
    }
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(xml_error)?;
        match event {
            Event::Start(e) => {
                let is_body = e.local_name().as_ref() == "Body" && is_envelope_ns(bound(&ns));
                if is_body {
                    return Ok(());
                }
                let end = e.to_end().into_owned();
                reader.read_to_end(end.name()).map_err(xml_error)?;
            }
            Event::Empty(e) if e.local_name().as_ref() == "Body" && is_envelope_ns(bound(&ns)) => {
                return Err("No operation in the SOAP Body".to_string());
            }
            Event::End(_) | Event::Eof => return Err("No SOAP Body".to_string()),
            _ => {}
        }
    }
}

/// The first element of the Body, which names the operation: (namespace, local name,
/// whether it is empty).
fn first_body_element(
    reader: &mut NsReader<&[u8]>,
) -> Result<(Option<String>, String, bool), String> {
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(xml_error)?;
        match event {
            Event::Start(e) => {
                return Ok((
                    bound(&ns).map(str::to_string),
                    e.local_name().as_ref().to_string(),
                    false,
                ));
            }
            Event::Empty(e) => {
                return Ok((
                    bound(&ns).map(str::to_string),
                    e.local_name().as_ref().to_string(),
                    true,
                ));
            }
            Event::End(_) | Event::Eof => {
                return Err("No operation in the SOAP Body".to_string());
            }
            _ => {}
        }
    }
}

/// `GetLogicalAddresseesByServiceContract` (its start tag read, `empty` if it has no
/// children) with both fields, the namespace checked first.
fn logical_addressees_request(
    reader: &mut NsReader<&[u8]>,
    empty: bool,
) -> Result<TakRequest, String> {
    let (consumer, contract) = if empty {
        (None, None)
    } else {
        read_logical_addressees_fields(reader)?
    };
    let contract = contract.unwrap_or_default();
    let consumer = consumer.unwrap_or_default();
    if contract.trim().is_empty() {
        return Err(MISSING_NAMESPACE.to_string());
    }
    if consumer.trim().is_empty() {
        return Err(MISSING_CONSUMER.to_string());
    }
    Ok(TakRequest::GetLogicalAddressees {
        consumer: consumer.trim().to_string(),
        contract: contract.trim().to_string(),
    })
}

/// Which field's text is being collected.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Consumer,
    Contract,
}

/// What [`read_logical_addressees_fields`] has read so far.
#[derive(Default)]
struct FieldsRead {
    consumer: Option<String>,
    contract: Option<String>,
    /// Open elements below the operation element.
    depth: usize,
    /// Inside `serviceContractNameSpace` (at depth 1).
    in_wrapper: bool,
    /// The field whose text is collected, and the depth of its element.
    capture: Option<(Field, usize)>,
}

impl FieldsRead {
    /// A start (or, `empty`, an empty) element named `local` in namespace `ns`.
    fn start(&mut self, ns: Option<&str>, local: &str, empty: bool) {
        let level = self.depth + 1;
        let field = match (level, ns, local) {
            (1, Some(LOGICAL_ADDRESSEES_V2), "serviceConsumerHsaId") => Some(Field::Consumer),
            (2, Some(REGISTRY_CORE_V2), "ServiceContractNamespace") if self.in_wrapper => {
                Some(Field::Contract)
            }
            _ => None,
        };
        let wrapper =
            level == 1 && ns == Some(LOGICAL_ADDRESSEES_V2) && local == "serviceContractNameSpace";
        if let Some(f) = field.filter(|_| self.capture.is_none()) {
            let slot = match f {
                Field::Consumer => &mut self.consumer,
                Field::Contract => &mut self.contract,
            };
            // A repeated element replaces the earlier value, as JAXB's setter does.
            *slot = Some(String::new());
            if !empty {
                self.capture = Some((f, level));
            }
        }
        if !empty {
            self.depth = level;
            if wrapper {
                self.in_wrapper = true;
            }
        }
    }

    /// An end tag below the operation element.
    fn end(&mut self) {
        if self.capture.is_some_and(|(_, level)| level == self.depth) {
            self.capture = None;
        }
        if self.depth == 1 {
            self.in_wrapper = false;
        }
        self.depth -= 1;
    }

    fn text(&mut self, text: &str) {
        append(
            self.capture,
            self.depth,
            &mut self.consumer,
            &mut self.contract,
            text,
        );
    }
}

/// Reads the children of `GetLogicalAddresseesByServiceContract` (its start tag already read) up
/// to its end tag: (`serviceConsumerHsaId`, `ServiceContractNamespace`), each `None` if absent.
fn read_logical_addressees_fields(
    reader: &mut NsReader<&[u8]>,
) -> Result<(Option<String>, Option<String>), String> {
    let mut read = FieldsRead::default();
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(xml_error)?;
        let ns = bound(&ns);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                read.start(ns, e.local_name().as_ref(), empty);
            }
            // The operation element's own end tag.
            Event::End(_) if read.depth == 0 => break,
            Event::End(_) => read.end(),
            Event::Text(t) => read.text(&t.xml10_content()),
            Event::CData(t) => read.text(&t.xml10_content()),
            Event::GeneralRef(r) => {
                if let Err(e) = r.resolve_char_ref() {
                    return Err(xml_error(e));
                }
                let resolved = ref_text(&r).ok_or_else(|| {
                    let what = if r.is_char_ref() {
                        "character not allowed in XML"
                    } else {
                        "unknown entity"
                    };
                    format!("Unreadable XML: {what} &{};", &*r)
                })?;
                read.text(&resolved);
            }
            Event::Eof => return Err("Unreadable XML: unexpected end of request".to_string()),
            _ => {}
        }
    }
    Ok((read.consumer, read.contract))
}

/// Appends text to the captured field, if the text is directly inside its element.
fn append(
    capture: Option<(Field, usize)>,
    depth: usize,
    consumer: &mut Option<String>,
    contract: &mut Option<String>,
    text: &str,
) {
    let slot = match capture {
        Some((Field::Consumer, level)) if level == depth => consumer,
        Some((Field::Contract, level)) if level == depth => contract,
        _ => return,
    };
    slot.get_or_insert_with(String::new).push_str(text);
}

/// The zone-less local-midnight dateTime tak-services writes: `2013-05-24T00:00:00.000`.
pub fn format_date(day: Day) -> String {
    format!("{}T00:00:00.000", day.format("%Y-%m-%d"))
}

/// Payload writer: elements qualified with `ns2`, text escaped.
struct Out(String);

impl Out {
    fn open(&mut self, name: &str) {
        let _ = write!(self.0, "<ns2:{name}>");
    }

    fn close(&mut self, name: &str) {
        let _ = write!(self.0, "</ns2:{name}>");
    }

    fn leaf(&mut self, name: &str, text: &str) {
        let _ = write!(self.0, "<ns2:{name}>{}</ns2:{name}>", escape_text(text));
    }
}

/// Wraps a payload in a SOAP 1.1 envelope; the payload's root is `ns2:{root}` in `namespace`.
fn envelope(root: &str, namespace: &str, body: impl FnOnce(&mut Out)) -> String {
    let mut out = Out(String::with_capacity(4096));
    let _ = write!(
        out.0,
        "<soap:Envelope xmlns:soap=\"{SOAP11_NS}\"><soap:Body><ns2:{root} xmlns:ns2=\"{namespace}\">"
    );
    body(&mut out);
    let _ = write!(out.0, "</ns2:{root}></soap:Body></soap:Envelope>");
    out.0
}

/// The SOAP 1.1 response to `req` from the published snapshot `s` (every row, no date filter).
pub fn respond(s: &Snapshot, req: &TakRequest) -> String {
    match req {
        TakRequest::HamtaAllaVirtualiseringar => virtualiseringar(s),
        TakRequest::HamtaAllaAnropsBehorigheter => anropsbehorigheter(s),
        TakRequest::HamtaAllaTjanstekontrakt => tjanstekontrakt(s),
        TakRequest::HamtaAllaTjanstekomponenter => tjanstekomponenter(s),
        TakRequest::GetLogicalAddressees { consumer, contract } => {
            logical_addressees(s, consumer, contract)
        }
    }
}

/// `hamtaAllaVirtualiseringarResponse`: one `virtualiseringsInfo` per route, fields in XSD order
/// (`virtualiseringsInfoId` = the route's row id, as tak-services sets it).
fn virtualiseringar(s: &Snapshot) -> String {
    envelope("hamtaAllaVirtualiseringarResponse", VAGVALSINFO_V2, |o| {
        for r in s.routes() {
            o.open("virtualiseringsInfo");
            o.leaf("virtualiseringsInfoId", &r.id.to_string());
            o.leaf("receiverId", r.logical_address);
            o.leaf("rivProfil", &r.target.profile);
            o.leaf("tjansteKontrakt", r.contract);
            o.leaf("fromTidpunkt", &format_date(r.validity.from));
            o.leaf("tomTidpunkt", &format_date(r.validity.to));
            o.leaf("adress", &r.target.url);
            o.close("virtualiseringsInfo");
        }
    })
}

/// `hamtaAllaAnropsBehorigheterResponse`: one `anropsBehorighetsInfo` per authorisation.
fn anropsbehorigheter(s: &Snapshot) -> String {
    envelope("hamtaAllaAnropsBehorigheterResponse", VAGVALSINFO_V2, |o| {
        for a in s.authorisations() {
            o.open("anropsBehorighetsInfo");
            o.leaf("anropsBehorighetsInfoId", &a.id.to_string());
            o.leaf("receiverId", a.logical_address);
            o.leaf("senderId", a.consumer);
            o.leaf("tjansteKontrakt", a.contract);
            o.leaf("fromTidpunkt", &format_date(a.validity.from));
            o.leaf("tomTidpunkt", &format_date(a.validity.to));
            o.close("anropsBehorighetsInfo");
        }
    })
}

/// `hamtaAllaTjanstekontraktResponse`: one `tjanstekontraktInfo` per contract (versions as
/// strings, as the XSD types them).
fn tjanstekontrakt(s: &Snapshot) -> String {
    envelope("hamtaAllaTjanstekontraktResponse", VAGVALSINFO_V2, |o| {
        for c in s.catalogue().contracts.active() {
            o.open("tjanstekontraktInfo");
            o.leaf("namnrymd", &c.namespace);
            o.leaf("majorVersion", &c.major_version.to_string());
            o.leaf("minorVersion", &c.minor_version.to_string());
            o.leaf("beskrivning", &c.description);
            o.close("tjanstekontraktInfo");
        }
    })
}

/// `hamtaAllaTjanstekomponenterResponse`: per component its call addresses (as producer) with
/// their routes, then its authorisations (as consumer), as tak-core's `getAllTjanstekomponent`
/// builds them. Rows whose references do not resolve are left out. The rows are grouped by
/// their owner once (ids in order), so the response costs O(n log n), not components × rows.
fn tjanstekomponenter(s: &Snapshot) -> String {
    use std::collections::HashMap;
    let cat = s.catalogue();
    let mut calls_of: HashMap<Id, Vec<&Row<CallAddress>>> = HashMap::new();
    for call in cat.call_addresses.active() {
        calls_of.entry(call.producer).or_default().push(call);
    }
    let mut routes_of: HashMap<Id, Vec<&Row<Route>>> = HashMap::new();
    for route in cat.routes.active() {
        routes_of.entry(route.call_address).or_default().push(route);
    }
    let mut auths_of: HashMap<Id, Vec<&Row<Authorisation>>> = HashMap::new();
    for auth in cat.authorisations.active() {
        auths_of.entry(auth.consumer).or_default().push(auth);
    }
    envelope("hamtaAllaTjanstekomponenterResponse", VAGVALSINFO_V2, |o| {
        for comp in cat.components.active() {
            o.open("tjanstekomponentInfo");
            o.leaf("hsaId", &comp.hsa_id);
            o.leaf("beskrivning", &comp.description);
            for call in calls_of.get(&comp.id).into_iter().flatten() {
                let Some(profile) = cat.profiles.get_active(call.profile) else {
                    continue;
                };
                o.open("anropsAdressInfo");
                o.leaf("adress", &call.url);
                o.leaf("rivtaProfilNamn", &profile.name);
                for route in routes_of.get(&call.id).into_iter().flatten() {
                    let (Some(contract), Some(la)) = (
                        cat.contracts.get_active(route.contract),
                        cat.logical_addresses.get_active(route.logical_address),
                    ) else {
                        continue;
                    };
                    o.open("vagvalsInfo");
                    o.leaf("fromTidpunkt", &format_date(route.validity.from));
                    o.leaf("tomTidpunkt", &format_date(route.validity.to));
                    o.leaf("tjanstekontraktNamnrymd", &contract.namespace);
                    o.leaf("logiskAdressHsaId", &la.hsa_id);
                    o.leaf("logiskAdressBeskrivning", &la.description);
                    o.close("vagvalsInfo");
                }
                o.close("anropsAdressInfo");
            }
            for auth in auths_of.get(&comp.id).into_iter().flatten() {
                let (Some(contract), Some(la)) = (
                    cat.contracts.get_active(auth.contract),
                    cat.logical_addresses.get_active(auth.logical_address),
                ) else {
                    continue;
                };
                o.open("anropsbehorighetInfo");
                o.leaf("fromTidpunkt", &format_date(auth.validity.from));
                o.leaf("tomTidpunkt", &format_date(auth.validity.to));
                o.leaf("integrationsavtal", &auth.integration_agreement);
                o.leaf("tjanstekontraktNamnrymd", &contract.namespace);
                o.leaf("logiskAdressHsaId", &la.hsa_id);
                o.leaf("logiskAdressBeskrivning", &la.description);
                o.close("anropsbehorighetInfo");
            }
            o.close("tjanstekomponentInfo");
        }
    })
}

/// `GetLogicalAddresseesByServiceContractResponse`: one `logicalAddressRecord` per authorisation
/// of `consumer` (case-insensitive) on `contract` (case-sensitive, as the real DAO compares the
/// namespace), in id order, so a logical address may repeat. No date check, as in tak-services.
fn logical_addressees(s: &Snapshot, consumer: &str, contract: &str) -> String {
    envelope(
        "GetLogicalAddresseesByServiceContractResponse",
        LOGICAL_ADDRESSEES_V2,
        |o| {
            for a in s
                .authorisations()
                .filter(|a| *a.contract == *contract && same_key(a.consumer, consumer))
            {
                o.open("logicalAddressRecord");
                o.leaf("logicalAddress", a.logical_address);
                o.close("logicalAddressRecord");
            }
        },
    )
}

/// A SOAP 1.1 Fault with faultcode `soap:Server` (what CXF answers for the exceptions
/// tak-services throws) and `message` as faultstring.
pub fn fault(message: &str) -> String {
    fault_with_code(FaultCode::Server, message)
}

/// Who is to blame for a fault (SOAP 1.1 `faultcode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultCode {
    /// `soap:Client`: the request was wrong.
    Client,
    /// `soap:Server`: the service failed (CXF uses it for service exceptions).
    Server,
}

/// A SOAP 1.1 Fault with the given faultcode.
pub fn fault_with_code(code: FaultCode, message: &str) -> String {
    let code = match code {
        FaultCode::Client => "soap:Client",
        FaultCode::Server => "soap:Server",
    };
    format!(
        "<soap:Envelope xmlns:soap=\"{SOAP11_NS}\"><soap:Body><soap:Fault><faultcode>{code}</faultcode><faultstring>{}</faultstring></soap:Fault></soap:Body></soap:Envelope>",
        escape_text(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tak::Store;
    use crate::tak::testutil::{self, Node, at, tree};
    use std::sync::Arc;

    fn soap(body: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope xmlns:soapenv=\"{SOAP11_NS}\" \
             xmlns:urn=\"{VAGVALSINFO_V2}\"><soapenv:Header/><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
        )
    }

    fn gla(inner: &str) -> String {
        format!(
            "<s:Envelope xmlns:s=\"{SOAP11_NS}\"><s:Header><itr:LogicalAddress \
             xmlns:itr=\"{REGISTRY_CORE_V2}\">5565594230</itr:LogicalAddress></s:Header><s:Body>\
             <urn:GetLogicalAddresseesByServiceContract xmlns:urn=\"{LOGICAL_ADDRESSEES_V2}\" \
             xmlns:urn1=\"{REGISTRY_CORE_V2}\">{inner}</urn:GetLogicalAddresseesByServiceContract>\
             </s:Body></s:Envelope>"
        )
    }

    fn snapshot() -> (Arc<Snapshot>, testutil::Ids) {
        let (mut s, ids) = testutil::store();
        (s.publish("admin", "ett", at(0)), ids)
    }

    /// The payload root of a response, checking the SOAP 1.1 envelope around it.
    fn payload(xml: &str, ns: &str, root: &str) -> Node {
        let mut env = tree(xml);
        assert_eq!(
            (env.ns.as_deref(), env.name.as_str()),
            (Some(SOAP11_NS), "Envelope")
        );
        let mut body = env.children.pop().unwrap();
        assert_eq!(
            (body.ns.as_deref(), body.name.as_str()),
            (Some(SOAP11_NS), "Body")
        );
        let p = body.children.pop().unwrap();
        assert_eq!((p.ns.as_deref(), p.name.as_str()), (Some(ns), root));
        fn all_in(n: &Node, ns: &str) {
            for c in &n.children {
                assert_eq!(c.ns.as_deref(), Some(ns), "<{}>", c.name);
                all_in(c, ns);
            }
        }
        all_in(&p, ns);
        p
    }

    #[test]
    fn parses_each_sokvagvalsinfo_operation() {
        for (op, want) in [
            (
                "hamtaAllaVirtualiseringar",
                TakRequest::HamtaAllaVirtualiseringar,
            ),
            (
                "hamtaAllaAnropsBehorigheter",
                TakRequest::HamtaAllaAnropsBehorigheter,
            ),
            (
                "hamtaAllaTjanstekontrakt",
                TakRequest::HamtaAllaTjanstekontrakt,
            ),
            (
                "hamtaAllaTjanstekomponenter",
                TakRequest::HamtaAllaTjanstekomponenter,
            ),
        ] {
            assert_eq!(
                parse_request(soap(&format!("<urn:{op}/>")).as_bytes()),
                Ok(want.clone())
            );
            assert_eq!(want.operation(), op);
            // An open/close pair with content, a default namespace, SOAP 1.2.
            let xml = format!(
                "<e:Envelope xmlns:e=\"{SOAP12_NS}\"><e:Body>\n  <{op} xmlns=\"{VAGVALSINFO_V2}\">x</{op}><ignored/></e:Body></e:Envelope>"
            );
            assert_eq!(parse_request(xml.as_bytes()), Ok(want));
        }
    }

    #[test]
    fn unknown_operations_get_cxfs_message() {
        let err = parse_request(soap("<urn:hamtaAllaFilter/>").as_bytes()).unwrap_err();
        assert_eq!(
            err,
            "Message part {urn:skl:tp:vagvalsinfo:v2}hamtaAllaFilter was not recognized.  (Does it exist in service WSDL?)"
        );
        // v1 is not served.
        let v1 = soap("<v1:hamtaAllaVirtualiseringar xmlns:v1=\"urn:skl:tp:vagvalsinfo:v1\"/>");
        assert!(
            parse_request(v1.as_bytes())
                .unwrap_err()
                .contains("{urn:skl:tp:vagvalsinfo:v1}")
        );
        let bare = soap("<hamtaAllaVirtualiseringar/>");
        assert!(
            parse_request(bare.as_bytes())
                .unwrap_err()
                .starts_with("Message part hamtaAllaVirtualiseringar was not recognized")
        );
    }

    #[test]
    fn malformed_requests_are_errors() {
        for bad in [
            "",
            "not xml",
            "<a/>",
            "<Envelope><Body><hamtaAllaVirtualiseringar/></Body></Envelope>",
            &format!("<s:Envelope xmlns:s=\"{SOAP11_NS}\"><s:Header/></s:Envelope>"),
            &format!("<s:Envelope xmlns:s=\"{SOAP11_NS}\"><s:Body/></s:Envelope>"),
            &format!("<s:Envelope xmlns:s=\"{SOAP11_NS}\"><s:Body></s:Body></s:Envelope>"),
            &format!(
                "<s:Envelope xmlns:s=\"{SOAP11_NS}\"><s:Body><g:GetLogicalAddresseesByServiceContract \
                 xmlns:g=\"{LOGICAL_ADDRESSEES_V2}\"><g:serviceConsumerHsaId>&foo;</g:serviceConsumerHsaId>"
            ),
            &format!(
                "<s:Envelope xmlns:s=\"{SOAP11_NS}\"><s:Body><g:GetLogicalAddresseesByServiceContract \
                 xmlns:g=\"{LOGICAL_ADDRESSEES_V2}\"><g:serviceConsumerHsaId>KONS"
            ),
        ] {
            assert!(parse_request(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(
            parse_request(b"not xml"),
            Err("Not a SOAP envelope".to_string())
        );
        assert_eq!(parse_request(b"  "), Err("Empty request".to_string()));
        assert!(parse_request(&[0xff, 0xfe, 0x00]).is_err());
        // The Body is found after an arbitrary Header.
        let with_header = format!(
            "<s:Envelope xmlns:s=\"{SOAP11_NS}\"><s:Header><h:x xmlns:h=\"u\"><h:Body/></h:x></s:Header>\
             <s:Body><v:hamtaAllaTjanstekontrakt xmlns:v=\"{VAGVALSINFO_V2}\"/></s:Body></s:Envelope>"
        );
        assert_eq!(
            parse_request(with_header.as_bytes()),
            Ok(TakRequest::HamtaAllaTjanstekontrakt)
        );
    }

    #[test]
    fn parses_get_logical_addressees_fields() {
        let xml = gla(
            "<urn:serviceConsumerHsaId> KONS </urn:serviceConsumerHsaId>\
             <urn:serviceContractNameSpace><urn1:ServiceContractNamespace>urn:riv:a&amp;b:X:1</urn1:ServiceContractNamespace>\
             </urn:serviceContractNameSpace><other:x xmlns:other=\"u\">y</other:x>",
        );
        assert_eq!(
            parse_request(xml.as_bytes()),
            Ok(TakRequest::GetLogicalAddressees {
                consumer: "KONS".into(),
                contract: "urn:riv:a&b:X:1".into(),
            })
        );
    }

    #[test]
    fn get_logical_addressees_missing_fields_give_tak_services_messages() {
        let contract = "<urn:serviceContractNameSpace><urn1:ServiceContractNamespace>urn:x:1</urn1:ServiceContractNamespace></urn:serviceContractNameSpace>";
        let consumer = "<urn:serviceConsumerHsaId>KONS</urn:serviceConsumerHsaId>";
        let cases = [
            (gla(consumer), MISSING_NAMESPACE),
            (gla(contract), MISSING_CONSUMER),
            (gla(""), MISSING_NAMESPACE),
            (
                gla(&format!(
                    "<urn:serviceConsumerHsaId>  </urn:serviceConsumerHsaId>{contract}"
                )),
                MISSING_CONSUMER,
            ),
            (
                gla(&format!("<urn:serviceConsumerHsaId/>{contract}")),
                MISSING_CONSUMER,
            ),
            // The namespace element in the wrong namespace is not seen, as with JAXB.
            (
                gla(&format!(
                    "{consumer}<urn:serviceContractNameSpace><urn:ServiceContractNamespace>urn:x:1</urn:ServiceContractNamespace></urn:serviceContractNameSpace>"
                )),
                MISSING_NAMESPACE,
            ),
            // Not inside serviceContractNameSpace.
            (
                gla(&format!(
                    "{consumer}<urn1:ServiceContractNamespace>urn:x:1</urn1:ServiceContractNamespace>"
                )),
                MISSING_NAMESPACE,
            ),
        ];
        for (xml, want) in cases {
            assert_eq!(
                parse_request(xml.as_bytes()),
                Err(want.to_string()),
                "{xml}"
            );
        }
        let empty = format!(
            "<s:Envelope xmlns:s=\"{SOAP11_NS}\"><s:Body><g:GetLogicalAddresseesByServiceContract xmlns:g=\"{LOGICAL_ADDRESSEES_V2}\"/></s:Body></s:Envelope>"
        );
        assert_eq!(
            parse_request(empty.as_bytes()),
            Err(MISSING_NAMESPACE.to_string())
        );
        assert_eq!(
            MISSING_NAMESPACE,
            "ServiceContractNamespece must not be empty or null"
        );
        assert_eq!(
            MISSING_CONSUMER,
            "ServiceConsumerHsaId must not be empty or null"
        );
    }

    #[test]
    fn hamta_alla_virtualiseringar_lists_every_route() {
        let (s, _) = snapshot();
        let xml = respond(&s, &TakRequest::HamtaAllaVirtualiseringar);
        assert!(xml.starts_with("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><ns2:hamtaAllaVirtualiseringarResponse xmlns:ns2=\"urn:skl:tp:vagvalsinfo:v2\">"));
        let p = payload(&xml, VAGVALSINFO_V2, "hamtaAllaVirtualiseringarResponse");
        let items = p.all("virtualiseringsInfo");
        assert_eq!(items.len(), s.routes().count());
        assert_eq!(items.len(), 2);
        for (item, r) in items.iter().zip(s.routes()) {
            assert_eq!(
                item.names(),
                [
                    "virtualiseringsInfoId",
                    "receiverId",
                    "rivProfil",
                    "tjansteKontrakt",
                    "fromTidpunkt",
                    "tomTidpunkt",
                    "adress"
                ]
            );
            assert_eq!(item.text_of("virtualiseringsInfoId"), r.id.to_string());
            assert_eq!(item.text_of("receiverId"), r.logical_address);
            assert_eq!(item.text_of("rivProfil"), r.target.profile);
            assert_eq!(item.text_of("tjansteKontrakt"), r.contract);
            assert_eq!(item.text_of("fromTidpunkt"), format_date(r.validity.from));
            assert_eq!(item.text_of("tomTidpunkt"), format_date(r.validity.to));
            assert_eq!(item.text_of("adress"), r.target.url);
        }
        // The URL's `&` was escaped on the wire and comes back intact.
        assert!(xml.contains("cervix?a=1&amp;b=2"));
        assert_eq!(items[1].text_of("receiverId"), "SE");
        assert_eq!(items[1].text_of("fromTidpunkt"), "2025-07-01T00:00:00.000");
        assert_eq!(items[1].text_of("tomTidpunkt"), "2025-12-31T00:00:00.000");
    }

    #[test]
    fn hamta_alla_anropsbehorigheter_lists_every_authorisation_without_date_filter() {
        let (s, ids) = snapshot();
        let xml = respond(&s, &TakRequest::HamtaAllaAnropsBehorigheter);
        let p = payload(&xml, VAGVALSINFO_V2, "hamtaAllaAnropsBehorigheterResponse");
        let items = p.all("anropsBehorighetsInfo");
        assert_eq!(items.len(), s.authorisations().count());
        for (item, a) in items.iter().zip(s.authorisations()) {
            assert_eq!(
                item.names(),
                [
                    "anropsBehorighetsInfoId",
                    "receiverId",
                    "senderId",
                    "tjansteKontrakt",
                    "fromTidpunkt",
                    "tomTidpunkt"
                ]
            );
            assert_eq!(item.text_of("anropsBehorighetsInfoId"), a.id.to_string());
            assert_eq!(item.text_of("receiverId"), a.logical_address);
            assert_eq!(item.text_of("senderId"), a.consumer);
            assert_eq!(item.text_of("tjansteKontrakt"), a.contract);
            assert_eq!(item.text_of("fromTidpunkt"), format_date(a.validity.from));
            assert_eq!(item.text_of("tomTidpunkt"), format_date(a.validity.to));
        }
        // The expired 2024 authorisation is still listed.
        assert_eq!(
            items[1].text_of("anropsBehorighetsInfoId"),
            ids.auth_se.to_string()
        );
        assert_eq!(items[1].text_of("tomTidpunkt"), "2024-12-31T00:00:00.000");
    }

    #[test]
    fn hamta_alla_tjanstekontrakt_lists_contracts() {
        let (s, _) = snapshot();
        let xml = respond(&s, &TakRequest::HamtaAllaTjanstekontrakt);
        let p = payload(&xml, VAGVALSINFO_V2, "hamtaAllaTjanstekontraktResponse");
        let items = p.all("tjanstekontraktInfo");
        assert_eq!(items.len(), 1);
        assert_eq!(
            items[0].names(),
            ["namnrymd", "majorVersion", "minorVersion", "beskrivning"]
        );
        let c = s.catalogue().contracts.active().next().unwrap();
        assert_eq!(items[0].text_of("namnrymd"), c.namespace);
        assert_eq!(items[0].text_of("majorVersion"), "1");
        assert_eq!(items[0].text_of("minorVersion"), "0");
        assert_eq!(items[0].text_of("beskrivning"), "Cervix <screening> & co");
    }

    #[test]
    fn hamta_alla_tjanstekomponenter_nests_call_addresses_routes_and_authorisations() {
        let (s, _) = snapshot();
        let xml = respond(&s, &TakRequest::HamtaAllaTjanstekomponenter);
        let p = payload(&xml, VAGVALSINFO_V2, "hamtaAllaTjanstekomponenterResponse");
        let comps = p.all("tjanstekomponentInfo");
        assert_eq!(comps.len(), 2);

        let producer = comps[0];
        assert_eq!(
            producer.names(),
            ["hsaId", "beskrivning", "anropsAdressInfo"]
        );
        assert_eq!(producer.text_of("hsaId"), "P1");
        assert_eq!(producer.text_of("beskrivning"), "Producent 1");
        let aa = producer.one("anropsAdressInfo");
        assert_eq!(aa.text_of("adress"), testutil::URL);
        assert_eq!(aa.text_of("rivtaProfilNamn"), "RIVTABP21");
        let vv = aa.all("vagvalsInfo");
        assert_eq!(vv.len(), 2);
        assert_eq!(
            vv[0].names(),
            [
                "fromTidpunkt",
                "tomTidpunkt",
                "tjanstekontraktNamnrymd",
                "logiskAdressHsaId",
                "logiskAdressBeskrivning"
            ]
        );
        assert_eq!(vv[0].text_of("logiskAdressHsaId"), "01");
        assert_eq!(vv[0].text_of("logiskAdressBeskrivning"), "Region Stockholm");
        assert_eq!(vv[0].text_of("tjanstekontraktNamnrymd"), testutil::NS);
        assert_eq!(vv[1].text_of("fromTidpunkt"), "2025-07-01T00:00:00.000");

        let consumer = comps[1];
        assert_eq!(consumer.text_of("hsaId"), "KONS");
        assert!(consumer.all("anropsAdressInfo").is_empty());
        let ab = consumer.all("anropsbehorighetInfo");
        assert_eq!(ab.len(), 2);
        assert_eq!(
            ab[0].names(),
            [
                "fromTidpunkt",
                "tomTidpunkt",
                "integrationsavtal",
                "tjanstekontraktNamnrymd",
                "logiskAdressHsaId",
                "logiskAdressBeskrivning"
            ]
        );
        assert_eq!(ab[0].text_of("integrationsavtal"), "AUTOTAKNING");
        assert_eq!(ab[1].text_of("logiskAdressHsaId"), "SE");
        assert_eq!(ab[1].text_of("logiskAdressBeskrivning"), "Sverige");
    }

    #[test]
    fn get_logical_addressees_gives_one_record_per_authorisation() {
        let (s, _) = snapshot();
        let req = |consumer: &str, contract: &str| TakRequest::GetLogicalAddressees {
            consumer: consumer.into(),
            contract: contract.into(),
        };
        let records = |xml: &str| -> Vec<String> {
            let p = payload(
                xml,
                LOGICAL_ADDRESSEES_V2,
                "GetLogicalAddresseesByServiceContractResponse",
            );
            p.all("logicalAddressRecord")
                .iter()
                .map(|r| {
                    assert_eq!(r.names(), ["logicalAddress"], "no filters");
                    r.text_of("logicalAddress").to_string()
                })
                .collect()
        };
        // Consumer case-insensitive; no date check (the SE authorisation ended in 2024).
        let xml = respond(&s, &req("kons", testutil::NS));
        assert_eq!(records(&xml), ["01", "SE"]);
        let expected: Vec<String> = s
            .authorisations()
            .map(|a| a.logical_address.to_string())
            .collect();
        assert_eq!(records(&xml), expected);
        // The namespace must match exactly.
        assert!(records(&respond(&s, &req("KONS", &testutil::NS.to_uppercase()))).is_empty());
        assert!(records(&respond(&s, &req("P1", testutil::NS))).is_empty());

        // Round trip from a request on the wire.
        let wire = gla(&format!(
            "<urn:serviceConsumerHsaId>KONS</urn:serviceConsumerHsaId><urn:serviceContractNameSpace>\
             <urn1:ServiceContractNamespace>{}</urn1:ServiceContractNamespace></urn:serviceContractNameSpace>",
            testutil::NS
        ));
        let parsed = parse_request(wire.as_bytes()).unwrap();
        assert_eq!(records(&respond(&s, &parsed)), ["01", "SE"]);
    }

    #[test]
    fn an_empty_snapshot_gives_empty_responses() {
        let mut store = Store::new("NTJP-QA");
        let s = store.publish("admin", "tom", at(0));
        let xml = respond(&s, &TakRequest::HamtaAllaVirtualiseringar);
        assert!(
            payload(&xml, VAGVALSINFO_V2, "hamtaAllaVirtualiseringarResponse")
                .children
                .is_empty()
        );
    }

    #[test]
    fn faults_are_soap11_with_escaped_text() {
        let xml = fault("Message part {urn:x}a<b> was not recognized & so on");
        let env = tree(&xml);
        assert_eq!(
            (env.ns.as_deref(), env.name.as_str()),
            (Some(SOAP11_NS), "Envelope")
        );
        let f = env.one("Body").one("Fault");
        assert_eq!(f.ns.as_deref(), Some(SOAP11_NS));
        assert_eq!(f.names(), ["faultcode", "faultstring"]);
        assert_eq!(f.one("faultcode").ns, None, "unqualified, as in SOAP 1.1");
        assert_eq!(f.text_of("faultcode"), "soap:Server");
        assert_eq!(
            f.text_of("faultstring"),
            "Message part {urn:x}a<b> was not recognized & so on"
        );
        let client = tree(&fault_with_code(FaultCode::Client, "x"));
        assert_eq!(
            client.one("Body").one("Fault").text_of("faultcode"),
            "soap:Client"
        );
    }
}
