//! Step 1: reading the whole envelope as events, checking well-formedness, namespaces and the
//! SOAP structure, and recording the body element's tree.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use quick_xml::errors::{Error as XmlError, IllFormedError};
use quick_xml::events::attributes::AttrError;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

use super::Limits;
use super::tree::{Builder, Extra, Node, is_xml_whitespace};
use crate::contract::{CORE_NS, OPERATION, RESPONDER_NS};
use crate::soap::{ref_text, xml_position};
use crate::vocab::{SOAP11_NS, XML_NS, XMLNS_NS, XSI_NS};

/// The namespace bindings in scope, kept on the heap so that nesting costs no stack.
///
/// Not `quick_xml::NsReader`: its resolver scans the whole binding stack for each name
/// (bindings in scope can reach depth × attributes, 65,536 within the default limits, so the
/// cost per element would no longer be constant), and it binds every declaration of a tag
/// before this reader counts them against [`Limits::max_attributes`]. It also does not report
/// what the validator must (an unbound prefix, a reserved prefix rebound, one expanded
/// attribute name twice) with the position VP's texts give. A prefix here is one hash lookup.
#[derive(Default)]
struct Scopes {
    /// Prefix (`""` for the default namespace) → its bindings, innermost last.
    pub(super) bound: HashMap<String, Vec<String>>,
    /// Every binding in scope with the depth of the element that made it, innermost last.
    made: Vec<(usize, String)>,
}

impl Scopes {
    fn bind(&mut self, depth: usize, prefix: &str, uri: String) {
        self.bound.entry(prefix.to_owned()).or_default().push(uri);
        self.made.push((depth, prefix.to_owned()));
    }

    /// Drops the bindings made by the element at `depth`.
    fn leave(&mut self, depth: usize) {
        while self.made.last().is_some_and(|(d, _)| *d == depth) {
            if let Some((_, prefix)) = self.made.pop()
                && let Some(uris) = self.bound.get_mut(&prefix)
            {
                uris.pop();
            }
        }
    }

    /// The namespace of a prefix (`""`: the default namespace, `""` when there is none).
    fn resolve(&self, prefix: &str) -> Option<&str> {
        match self.bound.get(prefix).and_then(|v| v.last()) {
            Some(uri) => Some(uri),
            None if prefix.is_empty() => Some(""),
            None if prefix == "xml" => Some(XML_NS),
            None => None,
        }
    }
}

/// A start tag, checked and resolved.
struct Start {
    pub(super) ns: Cow<'static, str>,
    pub(super) local: String,
    /// Attributes other than namespace declarations and `xsi` ones, as written.
    pub(super) attributes: Vec<String>,
}

/// `{ns}local`, or `local (no namespace)`.
pub(super) fn clark(ns: &str, local: &str) -> String {
    if ns.is_empty() {
        format!("{local} (no namespace)")
    } else {
        format!("{{{ns}}}{local}")
    }
}

fn not_well_formed(body: &[u8], offset: u64, what: impl std::fmt::Display) -> String {
    let what = what.to_string();
    format!(
        "The message is not well-formed XML: {} {}",
        what.trim_end_matches('.'),
        xml_position(body, offset)
    )
}

/// Reads the whole envelope (see the module docs) and returns the body element's tree.
pub(super) fn read(body: &[u8], limits: &Limits) -> Result<Node, String> {
    let text = std::str::from_utf8(body).map_err(|e| {
        not_well_formed(
            body,
            e.valid_up_to() as u64,
            "it is not UTF-8 (invalid byte sequence)",
        )
    })?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_comments = true;
    let mut reading = Reading::default();
    let mut first_event = true;

    loop {
        let at = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => return Err(reader_error(body, reader.error_position(), &e)),
        };
        let was_first = std::mem::replace(&mut first_event, false);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                reading.start(body, at, e, empty, limits)?;
            }
            Event::End(_) => reading.end(),
            Event::Text(t) => reading.text(body, at, &t.xml10_content())?,
            Event::CData(t) => {
                if reading.depth == 0 {
                    return Err(outside_root(body, at));
                }
                let s = t.xml10_content();
                check_chars(body, at, &s)?;
                reading.builder.text(&s);
            }
            Event::GeneralRef(r) => {
                let Some(s) = ref_text(&r) else {
                    let what = format!(
                        "undeclared entity or invalid character reference `&{};`",
                        r.xml10_content()
                    );
                    return Err(not_well_formed(body, at, what));
                };
                if reading.depth == 0 {
                    return Err(outside_root(body, at));
                }
                reading.builder.text(&s);
            }
            Event::Decl(_) if !was_first => {
                return Err(not_well_formed(
                    body,
                    at,
                    "an XML declaration is allowed only at the start of the document",
                ));
            }
            Event::DocType(_) => {
                return Err(not_well_formed(
                    body,
                    at,
                    "a SOAP message must not contain a document type declaration",
                ));
            }
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => {
                reading.eof(body, reader.buffer_position())?;
                break;
            }
        }
    }
    reading.finish()
}

/// What reading has learnt so far: the open elements, where the SOAP structure stands, the
/// namespace bindings and the tree being built.
#[derive(Default)]
struct Reading {
    scopes: Scopes,
    builder: Builder,
    /// How many elements are open.
    depth: usize,
    /// The open elements' names, in one buffer (so that deep nesting costs little), for a
    /// document that ends too early; `open_starts` holds where each begins.
    open_names: String,
    open_starts: Vec<usize>,
    root_seen: bool,
    root_is_envelope: bool,
    /// Whether a SOAP Body was found, whether it is open, whether its first element was seen.
    body_found: bool,
    in_body: bool,
    body_child_seen: bool,
    /// The first problem of structure (not of well-formedness), reported only if the whole
    /// document turns out to be well-formed.
    structure: Option<String>,
}

impl Reading {
    /// A start tag (or an empty element): limits, names and bindings, its place in the SOAP
    /// structure, and the tree.
    fn start(
        &mut self,
        body: &[u8],
        at: u64,
        e: &BytesStart<'_>,
        empty: bool,
        limits: &Limits,
    ) -> Result<(), String> {
        if self.depth == 0 && self.root_seen {
            return Err(not_well_formed(body, at, "more than one root element"));
        }
        self.root_seen = true;
        let level = self.depth + 1;
        if level > limits.max_depth {
            return Err(past_limit(
                body,
                at,
                format!(
                    "`<{}>` is nested {level} elements deep; the mock producers \
                     accept at most {} levels (mock_producers.max_element_depth)",
                    e.name().0,
                    limits.max_depth
                ),
            ));
        }
        let start = start_tag(body, at, e, level, &mut self.scopes, limits)?;
        self.place(start, empty);
        if empty {
            self.scopes.leave(level);
        } else {
            self.depth = level;
            self.open_starts.push(self.open_names.len());
            self.open_names.push_str(e.name().0);
        }
        Ok(())
    }

    /// Where an element stands in the SOAP structure (Envelope, Body, the body element, inside
    /// it); the first element out of place is remembered, the body element's tree is built.
    fn place(&mut self, start: Start, empty: bool) {
        if self.depth == 0 {
            self.root_is_envelope = start.ns == SOAP11_NS && start.local == "Envelope";
            if !self.root_is_envelope {
                self.structure.get_or_insert_with(|| {
                    format!(
                        "The root element is {}, not {}",
                        clark(&start.ns, &start.local),
                        clark(SOAP11_NS, "Envelope")
                    )
                });
            }
        } else if self.depth == 1 && self.root_is_envelope && !self.body_found {
            if start.ns == SOAP11_NS && start.local == "Body" {
                self.body_found = true;
                self.in_body = !empty;
                if empty {
                    self.structure.get_or_insert_with(no_body_element);
                }
            }
        } else if self.depth == 2 && self.in_body && !self.body_child_seen {
            self.body_child_seen = true;
            if start.ns == RESPONDER_NS && start.local == OPERATION {
                self.builder.start(node(start), empty);
            } else {
                self.structure.get_or_insert_with(|| {
                    format!(
                        "The SOAP Body's first element is {}, not {}",
                        clark(&start.ns, &start.local),
                        clark(RESPONDER_NS, OPERATION)
                    )
                });
            }
        } else if self.builder.building() {
            self.builder.start(node(start), empty);
        }
    }

    /// Character data (not CDATA): allowed characters only, and only whitespace outside the
    /// root.
    fn text(&mut self, body: &[u8], at: u64, s: &str) -> Result<(), String> {
        check_chars(body, at, s)?;
        if s.contains("]]>") {
            return Err(not_well_formed(
                body,
                at,
                "`]]>` is not allowed in character data",
            ));
        }
        if self.depth == 0 && !is_xml_whitespace(s) {
            return Err(outside_root(body, at));
        }
        self.builder.text(s);
        Ok(())
    }

    fn end(&mut self) {
        if self.builder.building() {
            self.builder.end();
        }
        if self.depth == 2 && self.in_body {
            self.in_body = false;
            if !self.body_child_seen {
                self.structure.get_or_insert_with(no_body_element);
            }
        }
        self.scopes.leave(self.depth);
        self.depth = self.depth.saturating_sub(1);
        if let Some(start) = self.open_starts.pop() {
            self.open_names.truncate(start);
        }
    }

    /// The end of the input: every element closed, and a root seen.
    fn eof(&self, body: &[u8], end: u64) -> Result<(), String> {
        if let Some(start) = self.open_starts.last() {
            let name = self.open_names.get(*start..).unwrap_or("");
            let what = format!("the document ends before `</{name}>`");
            return Err(not_well_formed(body, end, what));
        }
        if !self.root_seen {
            return Err(not_well_formed(body, end, "no root element"));
        }
        Ok(())
    }

    /// The body element's tree, or the first problem of structure.
    fn finish(self) -> Result<Node, String> {
        if let Some(why) = self.structure {
            return Err(why);
        }
        if !self.body_found {
            return Err(format!(
                "The SOAP Envelope has no {} element",
                clark(SOAP11_NS, "Body")
            ));
        }
        self.builder.done.ok_or_else(no_body_element)
    }
}

fn no_body_element() -> String {
    format!(
        "The SOAP Body has no element; expected {}",
        clark(RESPONDER_NS, OPERATION)
    )
}

/// A message refused for a limit of the mocks, not for being ill-formed.
fn past_limit(body: &[u8], at: u64, what: String) -> String {
    format!(
        "The message exceeds a limit of the mock producers: {what}; {}",
        xml_position(body, at)
    )
}

fn outside_root(body: &[u8], at: u64) -> String {
    not_well_formed(body, at, "content is not allowed outside the root element")
}

fn node(start: Start) -> Node {
    let extra = (!start.attributes.is_empty()).then(|| {
        Box::new(Extra {
            attributes: start.attributes,
            ..Extra::default()
        })
    });
    Node {
        ns: start.ns,
        local: start.local.into_boxed_str(),
        extra,
        ..Node::default()
    }
}

/// The contract's namespaces (and no namespace) without a copy; others copied.
pub(super) fn namespace(uri: &str) -> Cow<'static, str> {
    match uri {
        "" => Cow::Borrowed(""),
        CORE_NS => Cow::Borrowed(CORE_NS),
        RESPONDER_NS => Cow::Borrowed(RESPONDER_NS),
        SOAP11_NS => Cow::Borrowed(SOAP11_NS),
        other => Cow::Owned(other.to_owned()),
    }
}

/// A quick-xml error as a message with a position.
fn reader_error(body: &[u8], offset: u64, e: &XmlError) -> String {
    match e {
        XmlError::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            let what = format!("the end tag `</{found}>` does not match `<{expected}>`");
            not_well_formed(body, offset, what)
        }
        other => not_well_formed(body, offset, other),
    }
}

/// Checks a start tag's names and attributes, makes its namespace bindings (at `level`) and
/// resolves its name.
fn start_tag(
    body: &[u8],
    at: u64,
    e: &BytesStart<'_>,
    level: usize,
    scopes: &mut Scopes,
    limits: &Limits,
) -> Result<Start, String> {
    let name = e.name().0;
    let (prefix, local) = split_qname(name)
        .ok_or_else(|| not_well_formed(body, at, format!("invalid element name `{name}`")))?;

    let plain = bind_attributes(body, at, e, name, level, scopes, limits)?;

    let ns = scopes
        .resolve(prefix.unwrap_or(""))
        .ok_or_else(|| {
            not_well_formed(
                body,
                at,
                format!(
                    "the prefix `{}` of `<{name}>` is not bound to a namespace",
                    prefix.unwrap_or("")
                ),
            )
        })
        .map(namespace)?;

    let attributes = expanded_attributes(body, at, name, &plain, scopes)?;
    Ok(Start {
        ns,
        local: local.to_owned(),
        attributes,
    })
}

/// A start tag's attributes checked (syntax, values, names), its namespace declarations bound
/// at `level`; the other attributes returned as written, with their values.
fn bind_attributes(
    body: &[u8],
    at: u64,
    e: &BytesStart<'_>,
    name: &str,
    level: usize,
    scopes: &mut Scopes,
    limits: &Limits,
) -> Result<Vec<(String, String)>, String> {
    // Attributes: syntax, values, and the namespace declarations first. quick-xml's own
    // check for duplicated names is linear (a hash of each name).
    let mut plain: Vec<(String, String)> = Vec::new();
    for (count, attr) in e.attributes().enumerate() {
        if count == limits.max_attributes {
            return Err(past_limit(
                body,
                at,
                format!(
                    "`<{name}>` has more than {} attributes (namespace declarations \
                     included), the most the mock producers accept on one element \
                     (mock_producers.max_attributes_per_element)",
                    limits.max_attributes
                ),
            ));
        }
        let attr = attr.map_err(|err| attribute_error(body, at, name, &err))?;
        let key = attr.key.0;
        let value = attribute_value(&attr.value).map_err(|what| {
            not_well_formed(
                body,
                at,
                format!("in the attribute `{key}` of `<{name}>`: {what}"),
            )
        })?;
        let bad = |what: String| not_well_formed(body, at, format!("in `<{name}>`: {what}"));
        if key == "xmlns" {
            if value == XML_NS || value == XMLNS_NS {
                return Err(bad(format!("the default namespace must not be {value}")));
            }
            scopes.bind(level, "", value);
        } else if let Some(p) = key.strip_prefix("xmlns:") {
            if split_qname(p).is_none_or(|(pp, _)| pp.is_some()) {
                return Err(bad(format!("invalid namespace prefix `{p}`")));
            }
            if value.is_empty() {
                return Err(bad(format!(
                    "the prefix `{p}` is bound to an empty namespace name"
                )));
            }
            if p == "xmlns" || (p == "xml") != (value == XML_NS) || value == XMLNS_NS {
                return Err(bad(format!(
                    "the prefix `{p}` must not be bound to {value}"
                )));
            }
            scopes.bind(level, p, value);
        } else {
            if split_qname(key).is_none() {
                return Err(bad(format!("invalid attribute name `{key}`")));
            }
            plain.push((key.to_owned(), value));
        }
    }
    Ok(plain)
}

/// The attributes the schema must judge (not `xsi` ones), once each expanded name is known
/// to appear only once.
fn expanded_attributes(
    body: &[u8],
    at: u64,
    name: &str,
    plain: &[(String, String)],
    scopes: &Scopes,
) -> Result<Vec<String>, String> {
    // The same expanded name twice (`a:x` and `b:x` with `a` and `b` bound to one namespace):
    // a set of the names seen, so a tag of many attributes costs linear time.
    let mut expanded: HashSet<(&str, &str)> = HashSet::with_capacity(plain.len());
    let mut attributes = Vec::new();
    for (key, _) in plain {
        let (ap, al) = split_qname(key).unwrap_or((None, key.as_str()));
        let ans = match ap {
            None => "",
            Some(p) => scopes.resolve(p).ok_or_else(|| {
                not_well_formed(
                    body,
                    at,
                    format!(
                        "the prefix `{p}` of the attribute `{key}` is not bound to a namespace"
                    ),
                )
            })?,
        };
        if !expanded.insert((ans, al)) {
            return Err(not_well_formed(
                body,
                at,
                format!(
                    "the attribute {} appears twice in `<{name}>`",
                    clark(ans, al)
                ),
            ));
        }
        if ans != XSI_NS {
            attributes.push(key.clone());
        }
    }
    Ok(attributes)
}

fn attribute_error(body: &[u8], at: u64, name: &str, err: &AttrError) -> String {
    // quick-xml counts attribute positions from the character after `<`.
    let (pos, what) = match err {
        AttrError::ExpectedEq(p) => (*p, "an attribute name must be followed by `=`".to_owned()),
        AttrError::ExpectedValue(p) => (*p, "`=` must be followed by a value".to_owned()),
        AttrError::UnquotedValue(p) => (*p, "an attribute value must be quoted".to_owned()),
        AttrError::ExpectedQuote(p, q) => (
            *p,
            format!(
                "closing quote `{}` missing in an attribute value",
                *q as char
            ),
        ),
        AttrError::Duplicated(p, _) => (*p, "duplicated attribute".to_owned()),
    };
    let offset = at.saturating_add(1).saturating_add(pos as u64);
    not_well_formed(body, offset, format!("in `<{name}>`: {what}"))
}

/// An attribute value as XML reads it: references resolved, whitespace characters written
/// literally turned into spaces.
fn attribute_value(raw: &str) -> Result<String, String> {
    let normalized = raw.replace("\r\n", "\n");
    if let Some(c) = normalized.chars().find(|c| !allowed_in_xml(*c)) {
        return Err(format!("the character U+{:04X} is not allowed", c as u32));
    }
    if normalized.contains('<') {
        return Err("`<` is not allowed in an attribute value".to_owned());
    }
    let literal = |s: &str, out: &mut String| {
        out.extend(s.chars().map(|c| {
            if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        }));
    };
    let mut out = String::with_capacity(normalized.len());
    let mut rest = normalized.as_str();
    while let Some(amp) = rest.find('&') {
        let (before, after) = rest.split_at(amp);
        literal(before, &mut out);
        let Some(semi) = after.find(';') else {
            return Err("a reference is not closed by `;`".to_owned());
        };
        let name = after.get(1..semi).unwrap_or("");
        let resolved = ref_text(&BytesRef::new(name)).ok_or_else(|| {
            format!("undeclared entity or invalid character reference `&{name};`")
        })?;
        out.push_str(&resolved);
        rest = after.get(semi + 1..).unwrap_or("");
    }
    literal(rest, &mut out);
    Ok(out)
}

/// `prefix:local` or `local`, both NCNames; `None` if `name` is not such a QName.
fn split_qname(name: &str) -> Option<(Option<&str>, &str)> {
    let (prefix, local) = match name.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, name),
    };
    let ncname = |s: &str| {
        let mut cs = s.chars();
        cs.next().is_some_and(is_name_start) && cs.all(is_name_char)
    };
    (prefix.is_none_or(ncname) && ncname(local)).then_some((prefix, local))
}

/// XML 1.0 NameStartChar without `:`.
fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 NameChar without `:`.
fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// XML 1.0 `Char`.
fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn check_chars(body: &[u8], at: u64, s: &str) -> Result<(), String> {
    match s.chars().find(|c| !allowed_in_xml(*c)) {
        Some(c) => Err(not_well_formed(
            body,
            at,
            format!("the character U+{:04X} is not allowed in XML", c as u32),
        )),
        None => Ok(()),
    }
}
