//! WSDL and XSD from the platform URL, as VP serves them (`direct:wsdl`): a request to any
//! `/vp` path whose query names `wsdl` or `xsd` (any method, either listener, before any
//! identity check) gets the contract's WSDL or one of its schemas, embedded in the binary from
//! `wsdl/`, with `soap:address/@location` set to the URL asked for and every
//! `xsd:import`/`xsd:include` `schemaLocation` rewritten to a `?xsd=<location as written>`
//! link of that same URL, so that a client generator needs nothing but the testbed's URL.
//!
//! [`Catalogue`] is pure: built once from the embedded files (the path of each WSDL derived
//! from its target namespace as VP derives it, the schemas found by following the imports),
//! each document kept as pieces of text between the places a URL goes, so an answer is a
//! concatenation, not a parse. [`answer`] is the HTTP side. Neither reads the request body,
//! TAK or the consumer's identity: VP answers these before any of that.

use std::{collections::HashMap, sync::LazyLock};

use bytes::Bytes;
use http::{
    HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode,
    header::{CONNECTION, CONTENT_TYPE, HOST},
};
use quick_xml::{NsReader, XmlVersion, events::Event, name::ResolveResult};

use crate::soap::{escape_text, fault};

use super::{ConnInfo, RespBody, Transport};

/// The contract files served, by path below `wsdl/` (VP's `wsdlfiles.directory`). Every
/// `.wsdl` here is served at the path its target namespace gives; the schemas are found by
/// following the imports, so a file no WSDL imports is never served.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "interactions/ProcessCervixScreeningInformationInteraction/ProcessCervixScreeningInformationInteraction_1.0_RIVTABP21.wsdl",
        include_str!(
            "../../wsdl/interactions/ProcessCervixScreeningInformationInteraction/ProcessCervixScreeningInformationInteraction_1.0_RIVTABP21.wsdl"
        ),
    ),
    (
        "interactions/ProcessCervixScreeningInformationInteraction/ProcessCervixScreeningInformationResponder_1.0.xsd",
        include_str!(
            "../../wsdl/interactions/ProcessCervixScreeningInformationInteraction/ProcessCervixScreeningInformationResponder_1.0.xsd"
        ),
    ),
    (
        "core_components/clinicalprocess_logistics_cervixscreening_1.0.xsd",
        include_str!(
            "../../wsdl/core_components/clinicalprocess_logistics_cervixscreening_1.0.xsd"
        ),
    ),
    (
        "core_components/itintegration_registry_1.0.xsd",
        include_str!("../../wsdl/core_components/itintegration_registry_1.0.xsd"),
    ),
];

const WSDL_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
const WSDL_SOAP_NS: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";

/// VP's `http.forwarded.header.proto|host|port` defaults: set by a proxy in front of VP, they
/// replace the scheme, host and port of the URLs in the answer, each on its own.
const FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-vp-forwarded-proto");
const FORWARDED_HOST: HeaderName = HeaderName::from_static("x-vp-forwarded-host");
const FORWARDED_PORT: HeaderName = HeaderName::from_static("x-vp-forwarded-port");
const CORRELATION_ID: HeaderName = HeaderName::from_static(crate::vocab::CORRELATION_ID);

/// VP's Content-Type for a WSDL or schema (`WsdlProcessorImpl`: `text/xml;UTF-8`, verbatim).
pub const XML_CONTENT_TYPE: &str = "text/xml;UTF-8";
/// VP's Content-Type for the unknown-path answer (`text/plain;UTF-8`, verbatim).
pub const TEXT_CONTENT_TYPE: &str = "text/plain;UTF-8";
/// The first line of VP's answer to a path with no WSDL; one line per known WSDL URL follows.
pub const NO_WSDL: &str = "No wsdl found on this path, following wsdl paths is available:";

/// Builds the catalogue of the embedded files now (at a router's start) rather than at the
/// first `?wsdl`.
pub fn prepare() {
    LazyLock::force(&CATALOGUE);
}

/// The catalogue of the embedded files, built once.
static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    Catalogue::build(EMBEDDED).unwrap_or_else(|e| {
        tracing::error!("the embedded WSDL files cannot be served: {e}");
        Catalogue::default()
    })
});

/// Why the embedded files do not make a catalogue (a build mistake, caught by a unit test).
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{file}: not well-formed XML: {reason}")]
    Xml { file: String, reason: String },
    #[error(
        "{file}: targetNamespace {namespace:?} is not urn:riv:<domain>:...:<Service>:<major>:<rivtabp>"
    )]
    Namespace { file: String, namespace: String },
    #[error("{file}: schemaLocation {location:?} names no embedded file ({resolved})")]
    Missing {
        file: String,
        location: String,
        resolved: String,
    },
}

/// Where a URL goes in a served document.
#[derive(Debug, Clone)]
enum Piece {
    /// Document text, as embedded.
    Text(&'static str),
    /// `soap:address/@location`: the URL asked for.
    Address,
    /// A `schemaLocation`: the URL asked for with `?xsd=` and this location as written
    /// (quoted for a URI's query once, here).
    Schema(String),
}

/// A document as pieces: text, and the places a URL goes.
#[derive(Debug, Clone, Default)]
struct Template {
    pieces: Vec<Piece>,
    /// The bytes of the text pieces (to size the answer in one allocation).
    text_len: usize,
}

impl Template {
    /// The document for the URL `base` (scheme, authority and path, no query).
    fn render(&self, base: &str) -> String {
        let mut out = String::with_capacity(self.text_len + self.pieces.len() * (base.len() + 96));
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Address => out.push_str(&escape_text(base)),
                Piece::Schema(query) => {
                    out.push_str(&escape_text(base));
                    out.push_str("?xsd=");
                    out.push_str(&escape_text(query));
                }
            }
        }
        out
    }
}

/// One WSDL and the schemas it reaches.
#[derive(Debug)]
struct Service {
    /// `vp/<maindomain>/<sub/…>/<Service>/<major>/<rivtabp2x>`, from the target namespace.
    url_path: String,
    wsdl: Template,
    /// The schemas by `schemaLocation` as written in the document that imports them (VP's key:
    /// the first document to name a location decides which file it is).
    schemas: HashMap<String, usize>,
}

/// Every embedded WSDL by its URL path, and the schema documents they reach.
#[derive(Debug, Default)]
pub struct Catalogue {
    services: Vec<Service>,
    /// Lowercased `url_path` → index in `services` (VP matches the path case-insensitively).
    by_path: HashMap<String, usize>,
    schemas: Vec<Template>,
}

/// What one document says: its target namespace and where URLs go.
struct Scanned {
    target_namespace: Option<String>,
    template: Template,
    /// The `schemaLocation` values, in document order.
    locations: Vec<String>,
}

impl Catalogue {
    /// Builds the catalogue from `(path below wsdl/, contents)` pairs.
    pub fn build(files: &[(&'static str, &'static str)]) -> Result<Catalogue, CatalogueError> {
        let mut cat = Catalogue::default();
        // Schema documents by their resolved file path, each scanned once: its index in
        // `cat.schemas` and the locations it names.
        let mut scanned_schemas: HashMap<String, (usize, Vec<String>)> = HashMap::new();
        for &(file, text) in files.iter().filter(|(f, _)| f.ends_with(".wsdl")) {
            let scanned = scan(file, text)?;
            let namespace = scanned.target_namespace.clone().unwrap_or_default();
            let url_path = url_path(&namespace).ok_or_else(|| CatalogueError::Namespace {
                file: file.to_owned(),
                namespace: namespace.clone(),
            })?;
            let mut schemas = HashMap::new();
            // Depth first, as VP's traversal: a location already known is not followed
            // again (which also ends any cycle of imports).
            let mut todo: Vec<(String, String)> = scanned
                .locations
                .iter()
                .rev()
                .map(|l| (file.to_owned(), l.clone()))
                .collect();
            while let Some((from, location)) = todo.pop() {
                if schemas.contains_key(&location) {
                    continue;
                }
                let resolved = resolve(&from, &location);
                if !scanned_schemas.contains_key(&resolved) {
                    let (_, text) =
                        files.iter().find(|(f, _)| *f == resolved).ok_or_else(|| {
                            CatalogueError::Missing {
                                file: from.clone(),
                                location: location.clone(),
                                resolved: resolved.clone(),
                            }
                        })?;
                    let doc = scan(&resolved, text)?;
                    cat.schemas.push(doc.template);
                    scanned_schemas
                        .insert(resolved.clone(), (cat.schemas.len() - 1, doc.locations));
                }
                let (index, locations) = &scanned_schemas[&resolved];
                schemas.insert(location, *index);
                todo.extend(
                    locations
                        .iter()
                        .rev()
                        .filter(|l| !schemas.contains_key(*l))
                        .map(|l| (resolved.clone(), l.clone())),
                );
            }
            let key = url_path.to_lowercase();
            // VP keeps the first configuration of a contract; so does the catalogue.
            if !cat.by_path.contains_key(&key) {
                cat.by_path.insert(key, cat.services.len());
                cat.services.push(Service {
                    url_path,
                    wsdl: scanned.template,
                    schemas,
                });
            }
        }
        Ok(cat)
    }

    /// The URL paths served (`vp/...`), in the order VP lists them.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(|s| s.url_path.as_str())
    }

    fn service(&self, path: &str) -> Option<&Service> {
        let path = path.strip_prefix('/').unwrap_or(path);
        self.by_path
            .get(&path.to_lowercase())
            .map(|&i| &self.services[i])
    }

    /// The WSDL served at `path` (`/vp/...`), for the URL `base`.
    pub fn wsdl(&self, path: &str, base: &str) -> Option<String> {
        self.service(path).map(|s| s.wsdl.render(base))
    }

    /// The schema the WSDL at `path` names `location`, for the URL `base`: `None` when there
    /// is no WSDL at `path`, `Some(None)` when it names no such schema.
    pub fn xsd(&self, path: &str, location: &str, base: &str) -> Option<Option<String>> {
        let service = self.service(path)?;
        Some(
            service
                .schemas
                .get(location)
                .map(|&i| self.schemas[i].render(base)),
        )
    }
}

/// VP's URL path for a WSDL's target namespace: `urn:riv:<maindomain>:<sub…>:<Service>:<major>:<rivtabp2x>`
/// → `vp/<maindomain>/<sub/…>/<Service>/<major>/<rivtabp2x>`.
fn url_path(namespace: &str) -> Option<String> {
    let parts: Vec<&str> = namespace.split(':').collect();
    // urn, riv, main domain, at least one subdomain, service, major, profile.
    if parts.len() < 7
        || !parts[0].eq_ignore_ascii_case("urn")
        || !parts[1].eq_ignore_ascii_case("riv")
        || !parts[parts.len() - 1]
            .to_ascii_lowercase()
            .starts_with("rivtabp")
    {
        return None;
    }
    Some(format!("vp/{}", parts[2..].join("/")))
}

/// `location` relative to the directory of `from`, with `.` and `..` taken away.
fn resolve(from: &str, location: &str) -> String {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for segment in location.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// Reads one embedded document: its target namespace, and the byte ranges of the attribute
/// values to rewrite (`soap:address/@location` below `wsdl:port`, every `xsd:import` and
/// `xsd:include` `@schemaLocation`).
fn scan(file: &str, text: &'static str) -> Result<Scanned, CatalogueError> {
    let xml_error = |reason: String| CatalogueError::Xml {
        file: file.to_owned(),
        reason,
    };
    let mut reader = NsReader::from_str(text);
    let mut target_namespace = None;
    let mut spans: Vec<(usize, usize, Option<String>)> = Vec::new();
    let mut depth = 0usize;
    let mut parent_is_port = Vec::new();
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| xml_error(e.to_string()))?;
        let (start, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                parent_is_port.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let ns: &str = match ns {
            ResolveResult::Bound(n) => n.0,
            _ => "",
        };
        let local = start.local_name();
        let local = local.as_ref();
        let wanted: Option<&str> = match (ns, local) {
            (WSDL_SOAP_NS, "address") if parent_is_port.last() == Some(&true) => Some("location"),
            (XSD_NS, "import" | "include") => Some("schemaLocation"),
            _ => None,
        };
        for attr in start.attributes() {
            let attr = attr.map_err(|e| xml_error(e.to_string()))?;
            if depth == 0 && attr.key.0 == "targetNamespace" {
                let value = attr
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|e| xml_error(e.to_string()))?;
                target_namespace = Some(value.into_owned());
            }
            if Some(attr.key.0) != wanted {
                continue;
            }
            // The value is a slice of `text` (the reader borrows from it): where it starts.
            let at = (attr.value.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
            if at > text.len() || at + attr.value.len() > text.len() {
                return Err(xml_error("an attribute value outside the document".into()));
            }
            let schema = if local == "address" {
                None
            } else {
                Some(
                    attr.normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| xml_error(e.to_string()))?
                        .into_owned(),
                )
            };
            spans.push((at, at + attr.value.len(), schema));
        }
        if !empty {
            depth += 1;
            parent_is_port.push(ns == WSDL_NS && local == "port");
        }
    }
    let mut template = Template::default();
    let mut locations = Vec::new();
    let mut from = 0;
    for (start, end, schema) in spans {
        template.pieces.push(Piece::Text(&text[from..start]));
        template.text_len += start - from;
        match schema {
            None => template.pieces.push(Piece::Address),
            Some(location) => {
                template.pieces.push(Piece::Schema(quote_query(&location)));
                locations.push(location);
            }
        }
        from = end;
    }
    template.pieces.push(Piece::Text(&text[from..]));
    template.text_len += text.len() - from;
    Ok(Scanned {
        target_namespace,
        template,
        locations,
    })
}

/// A schema location as a query value: what a URI may not hold percent-encoded (as Java's
/// `URI` constructor quotes it), the rest as written.
fn quote_query(location: &str) -> String {
    let mut out = String::with_capacity(location.len());
    for b in location.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=?".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the query asks for, read as Camel reads query parameters into headers (names
/// case-insensitive, values percent-decoded), VP then decoding the `xsd` value once more.
#[derive(Debug, PartialEq, Eq)]
pub enum Asked {
    /// `?wsdl` (with or without a value).
    Wsdl,
    /// `?xsd=<location>`: the schema of that location.
    Xsd(String),
}

/// Whether this request is one for the WSDL branch: its query has a parameter named `wsdl`
/// or `xsd` (an `xsd` wins, as in VP).
pub fn asked(query: Option<&str>) -> Option<Asked> {
    let query = query?;
    let mut wsdl = false;
    for param in query.split('&') {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        let name = percent_decode(name);
        if name.eq_ignore_ascii_case("xsd") {
            return Some(Asked::Xsd(percent_decode(&percent_decode(value))));
        }
        wsdl |= name.eq_ignore_ascii_case("wsdl");
    }
    wsdl.then_some(Asked::Wsdl)
}

/// `application/x-www-form-urlencoded` decoding as Java's `URLDecoder`: `+` is a space, `%XX`
/// a byte; a `%` not followed by two hex digits is kept as it is.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL the answer names: the listener's scheme and the `Host` the client asked, each part
/// replaced by its `X-VP-Forwarded-*` header when present.
#[derive(Debug, PartialEq, Eq)]
pub struct Base {
    scheme: String,
    host: String,
    port: Option<i32>,
}

/// Why the forwarded headers make no URL: VP's exception, as its generic fault shows it.
#[derive(Debug, PartialEq, Eq)]
pub struct BadUrl {
    /// `getMessage()`.
    pub message: String,
    /// `toString()`.
    pub exception: String,
}

impl Base {
    /// From the listener's scheme, the request's authority (an absolute-form target's, else
    /// its `Host` header's) and its forwarded headers.
    pub fn new(scheme: &str, authority: Option<&str>, headers: &HeaderMap) -> Result<Base, BadUrl> {
        let text = |name: &HeaderName| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let asked = authority.map(str::to_owned).or_else(|| text(&HOST));
        let (mut host, mut port) = split_authority(asked.as_deref().unwrap_or_default());
        let mut scheme = scheme.to_owned();
        if let Some(p) = text(&FORWARDED_PROTO) {
            scheme = p.to_lowercase();
        }
        if let Some(h) = text(&FORWARDED_HOST) {
            host = h;
        }
        if let Some(p) = text(&FORWARDED_PORT) {
            // Java's Integer.valueOf (an optional sign, decimal digits, 32 bits), then URL's
            // check of the number.
            let n: i32 = p.parse().map_err(|_| {
                let message = format!("For input string: \"{}\"", fault::bounded(&p));
                BadUrl {
                    exception: format!("java.lang.NumberFormatException: {message}"),
                    message,
                }
            })?;
            if n < -1 {
                let message = format!("Invalid port number :{n}");
                return Err(BadUrl {
                    exception: format!("java.net.MalformedURLException: {message}"),
                    message,
                });
            }
            port = (n != -1).then_some(n);
        }
        if !matches!(
            scheme.as_str(),
            "http" | "https" | "ftp" | "file" | "jar" | "mailto"
        ) {
            let message = format!("unknown protocol: {}", fault::bounded(&scheme));
            return Err(BadUrl {
                exception: format!("java.net.MalformedURLException: {message}"),
                message,
            });
        }
        Ok(Base { scheme, host, port })
    }

    /// `scheme://host[:port]`.
    pub fn authority_url(&self) -> String {
        match self.port {
            Some(p) => format!("{}://{}:{p}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }
}

/// `host[:port]` of a `Host` header (`[v6]:port` too).
fn split_authority(authority: &str) -> (String, Option<i32>) {
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p))
            if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') =>
        {
            (h, p.parse().ok())
        }
        _ => (authority, None),
    };
    (host.to_owned(), port)
}

/// The answer to a request [`asked`] says is for the WSDL branch.
pub fn answer<B: http_body::Body>(
    asked: &Asked,
    conn: &ConnInfo,
    req: &Request<B>,
    correlation: &HeaderValue,
) -> Response<RespBody> {
    answer_from(&CATALOGUE, asked, conn, req, correlation)
}

fn answer_from<B: http_body::Body>(
    catalogue: &Catalogue,
    asked: &Asked,
    conn: &ConnInfo,
    req: &Request<B>,
    correlation: &HeaderValue,
) -> Response<RespBody> {
    let scheme = match conn.transport {
        Transport::Https(_) => "https",
        Transport::Http => "http",
    };
    let path = req.uri().path();
    let authority = req.uri().authority().map(|a| a.as_str());
    let (status, content_type, body) = match Base::new(scheme, authority, req.headers()) {
        Err(bad) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            crate::vocab::SOAP_CONTENT_TYPE,
            fault::unexpected(&bad.message, &bad.exception),
        ),
        Ok(base) => {
            let authority = base.authority_url();
            let url = format!("{authority}{path}");
            let found = match asked {
                Asked::Wsdl => catalogue.wsdl(path, &url).map(Ok),
                Asked::Xsd(location) => catalogue
                    .xsd(path, location, &url)
                    .map(|x| x.ok_or(location)),
            };
            match found {
                Some(Ok(doc)) => (StatusCode::OK, XML_CONTENT_TYPE, doc),
                Some(Err(location)) => {
                    // VP: WSDLException("OTHER_ERROR", "Couldn't find xsd named " + key),
                    // turned into its generic fault (getMessage(), toString()).
                    let message = format!(
                        "WSDLException: faultCode=OTHER_ERROR: Couldn't find xsd named {}",
                        fault::bounded(location)
                    );
                    let exception = format!("{message}: ");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        crate::vocab::SOAP_CONTENT_TYPE,
                        fault::unexpected(&message, &exception),
                    )
                }
                None => {
                    let mut text = String::from(NO_WSDL);
                    for p in catalogue.paths() {
                        text.push('\n');
                        text.push_str(&format!("{authority}/{p}?wsdl"));
                    }
                    (StatusCode::INTERNAL_SERVER_ERROR, TEXT_CONTENT_TYPE, text)
                }
            }
        }
    };
    let mut resp = Response::new(RespBody::whole(Bytes::from(body)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CORRELATION_ID, correlation.clone());
    // A body sent with the request is not read: the connection cannot serve another request.
    if !req.body().is_end_stream() {
        h.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "/vp/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21";

    fn catalogue() -> Catalogue {
        Catalogue::build(EMBEDDED).unwrap()
    }

    #[test]
    fn the_embedded_files_make_one_service_at_the_path_of_its_namespace() {
        let cat = catalogue();
        assert_eq!(
            cat.paths().collect::<Vec<_>>(),
            [&PATH[1..]],
            "VP's path for urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformation:1:rivtabp21"
        );
        let service = &cat.services[0];
        let mut keys: Vec<_> = service.schemas.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "../../core_components/clinicalprocess_logistics_cervixscreening_1.0.xsd",
                "../../core_components/itintegration_registry_1.0.xsd",
                "ProcessCervixScreeningInformationResponder_1.0.xsd",
            ]
        );
    }

    #[test]
    fn imports_and_includes_are_followed_from_each_document_and_cycles_end() {
        const WSDL: &str = r#"<w:definitions xmlns:w="http://schemas.xmlsoap.org/wsdl/" xmlns:s="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:x="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:riv:d:sub:Svc:2:rivtabp20"><w:types><x:schema><x:import schemaLocation="x.xsd"/></x:schema></w:types><w:service><w:port><s:address location="old"/></w:port></w:service><s:address location="not in a port"/></w:definitions>"#;
        const X: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:x"><xs:include schemaLocation="../b/y.xsd"/></xs:schema>"#;
        const Y: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:x"><xs:import schemaLocation="../a/x.xsd"/></xs:schema>"#;
        let cat = Catalogue::build(&[("a/s.wsdl", WSDL), ("a/x.xsd", X), ("b/y.xsd", Y)]).unwrap();
        assert_eq!(
            cat.paths().collect::<Vec<_>>(),
            ["vp/d/sub/Svc/2/rivtabp20"]
        );
        let wsdl = cat.wsdl("/vp/d/sub/svc/2/RIVTABP20", "U").unwrap();
        assert!(wsdl.contains(r#"<s:address location="U"/>"#), "{wsdl}");
        assert!(wsdl.contains(r#"location="not in a port""#), "{wsdl}");
        assert!(wsdl.contains(r#"schemaLocation="U?xsd=x.xsd""#), "{wsdl}");
        let path = "/vp/d/sub/Svc/2/rivtabp20";
        let y = cat.xsd(path, "../b/y.xsd", "U").unwrap().unwrap();
        assert!(y.contains(r#"schemaLocation="U?xsd=../a/x.xsd""#), "{y}");
        let x = cat.xsd(path, "../a/x.xsd", "U").unwrap().unwrap();
        assert_eq!(x, cat.xsd(path, "x.xsd", "U").unwrap().unwrap());
        assert_eq!(cat.schemas.len(), 2, "each file scanned once");

        let missing = Catalogue::build(&[("a/s.wsdl", WSDL)]).unwrap_err();
        assert_eq!(
            missing.to_string(),
            r#"a/s.wsdl: schemaLocation "x.xsd" names no embedded file (a/x.xsd)"#
        );
    }

    #[test]
    fn the_path_matches_in_any_case_and_only_whole() {
        let cat = catalogue();
        assert!(cat.wsdl(&PATH.to_uppercase(), "x").is_some());
        assert!(cat.wsdl(&format!("{PATH}/"), "x").is_none());
        assert!(cat.wsdl("/vp", "x").is_none());
    }

    #[test]
    fn the_wsdl_names_the_url_asked_for_and_links_its_schemas_to_it() {
        let base = format!("https://h:1{PATH}");
        let wsdl = catalogue().wsdl(PATH, &base).unwrap();
        assert!(wsdl.contains(&format!(r#"<soap:address location="{base}"/>"#)));
        assert!(wsdl.contains(&format!(
            r#"schemaLocation="{base}?xsd=ProcessCervixScreeningInformationResponder_1.0.xsd""#
        )));
        assert!(wsdl.contains(&format!(
            r#"schemaLocation="{base}?xsd=../../core_components/itintegration_registry_1.0.xsd""#
        )));
        // Everything else as embedded.
        let embedded = EMBEDDED[0].1;
        assert_eq!(
            wsdl.replace(&base, ""),
            embedded
                .replace("http://localhost/vp/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21", "")
                .replace(r#"schemaLocation=""#, r#"schemaLocation="?xsd="#)
        );
    }

    #[test]
    fn a_nested_import_links_by_its_location_as_written() {
        let cat = catalogue();
        let xsd = cat
            .xsd(
                PATH,
                "ProcessCervixScreeningInformationResponder_1.0.xsd",
                "B",
            )
            .unwrap()
            .unwrap();
        assert!(xsd.contains(
            r#"schemaLocation="B?xsd=../../core_components/clinicalprocess_logistics_cervixscreening_1.0.xsd""#
        ));
        assert_eq!(
            cat.xsd(PATH, "nope.xsd", "B").map(|x| x.is_none()),
            Some(true)
        );
        assert!(cat.xsd("/vp/other", "nope.xsd", "B").is_none());
    }

    #[test]
    fn a_url_in_a_value_is_escaped() {
        let wsdl = catalogue().wsdl(PATH, "http://a\"&<b").unwrap();
        assert!(wsdl.contains(r#"location="http://a&quot;&amp;&lt;b""#));
    }

    #[test]
    fn the_namespace_gives_vps_path() {
        assert_eq!(
            url_path("urn:riv:a:b:c:S:2:rivtabp20").as_deref(),
            Some("vp/a/b/c/S/2/rivtabp20")
        );
        assert_eq!(url_path("urn:riv:a:S:2:rivtabp21"), None);
        assert_eq!(url_path("urn:x:a:b:S:2:rivtabp21"), None);
    }

    #[test]
    fn queries_are_read_as_camel_reads_them() {
        assert_eq!(asked(Some("wsdl")), Some(Asked::Wsdl));
        assert_eq!(asked(Some("WSDL")), Some(Asked::Wsdl));
        assert_eq!(asked(Some("a=1&Wsdl=")), Some(Asked::Wsdl));
        assert_eq!(
            asked(Some("wsdl&xsd=..%2Fa%2520b.xsd")),
            Some(Asked::Xsd("../a b.xsd".into()))
        );
        assert_eq!(asked(Some("xsd")), Some(Asked::Xsd(String::new())));
        assert_eq!(asked(Some("wsdlx")), None);
        assert_eq!(asked(None), None);
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz+%41"), "%zz A");
    }

    #[test]
    fn forwarded_headers_replace_each_part() {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static("localhost:8443"));
        assert_eq!(
            Base::new("https", None, &h).unwrap().authority_url(),
            "https://localhost:8443"
        );
        h.insert(FORWARDED_HOST, HeaderValue::from_static("vp.example"));
        assert_eq!(
            Base::new("https", None, &h).unwrap().authority_url(),
            "https://vp.example:8443"
        );
        h.insert(FORWARDED_PROTO, HeaderValue::from_static("HTTP"));
        h.insert(FORWARDED_PORT, HeaderValue::from_static("443"));
        assert_eq!(
            Base::new("https", None, &h).unwrap().authority_url(),
            "http://vp.example:443"
        );
        h.insert(FORWARDED_PORT, HeaderValue::from_static("x1"));
        assert_eq!(
            Base::new("https", None, &h).unwrap_err().exception,
            r#"java.lang.NumberFormatException: For input string: "x1""#
        );
        h.insert(FORWARDED_PORT, HeaderValue::from_static("++1"));
        assert_eq!(
            Base::new("https", None, &h).unwrap_err().message,
            r#"For input string: "++1""#
        );
        h.insert(FORWARDED_PORT, HeaderValue::from_static("-2"));
        assert_eq!(
            Base::new("https", None, &h).unwrap_err().exception,
            "java.net.MalformedURLException: Invalid port number :-2"
        );
        h.insert(FORWARDED_PORT, HeaderValue::from_static("-1"));
        assert_eq!(
            Base::new("https", None, &h).unwrap().authority_url(),
            "http://vp.example"
        );
        h.insert(FORWARDED_PROTO, HeaderValue::from_static("gopher"));
        assert_eq!(
            Base::new("https", None, &h).unwrap_err().message,
            "unknown protocol: gopher"
        );
        let mut v6 = HeaderMap::new();
        v6.insert(HOST, HeaderValue::from_static("[::1]:9"));
        assert_eq!(
            Base::new("http", None, &v6).unwrap().authority_url(),
            "http://[::1]:9"
        );
    }
}
