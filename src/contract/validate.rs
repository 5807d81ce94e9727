//! Validation of a ProcessCervixScreeningInformation request against the contract: the
//! schema (element order, cardinality, namespaces, the date pattern, extension points) and the
//! TKB's field rules (OIDs, personnummer, `careGiver`/`careUnit` forbidden under
//! `sendingRegion`, the care programme's code lists). Pure: no IO, no logging.
//!
//! [`validate`] works in two steps. First it reads the whole envelope as events (never
//! recursively), checking that it is well-formed, namespace-well-formed XML and a SOAP 1.1
//! envelope whose Body starts with `ProcessCervixScreeningInformation`; a failure there is
//! [`Outcome::Technical`]. While reading it records a small tree of that body element: only
//! elements in the contract's two namespaces, and only [`MAX_RECORDED_DEPTH`] levels deep,
//! so foreign content and absurd nesting are skipped by counting, not stored. Then it walks
//! that tree along the schema (whose depth, not the input's, bounds the recursion) and
//! collects the violations in document order: [`Outcome::Checked`].
//!
//! Work is linear in the message's size, and bounded by [`Limits`]: attributes per element
//! and element depth (past either, the message is refused as [`Outcome::Technical`] with a
//! text naming the limit and where it was hit), and violations kept (the first
//! [`Limits::max_violations`], the rest only counted).
//!
//! It does not check attributes of the `xsi` namespace, the content of extension elements
//! (`xs:any processContents="lax"`, of which the contract has no schemas), anything outside
//! the body element, nor the SOAP header (the router and the mocks do that).

use std::{
    borrow::Cow,
    collections::{HashMap, HashSet},
};

use quick_xml::{
    errors::{Error as XmlError, IllFormedError},
    events::{BytesRef, BytesStart, Event, attributes::AttrError},
    reader::Reader,
};
use serde::{Deserialize, Serialize};

use super::{CORE_NS, HSA_ID_OID, OPERATION, PERSONNUMMER_OID, RESPONDER_NS};
use crate::soap::{ref_text, xml_position};
use crate::vocab::{
    CodeLists, DEFAULT_MAX_ATTRIBUTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_VIOLATIONS, SNOMED_CT_OID,
    SOAP11_NS, XML_NS, XMLNS_NS, XSI_NS,
};

/// How many levels below the body element are recorded for checking. The schema's deepest
/// leaf is level 6 (`cervixScreeningInformation/specimen/originalRegion/region/id/root`);
/// anything deeper is content a simple element must not have, reported without being read.
pub const MAX_RECORDED_DEPTH: usize = 8;

/// What [`validate_with`] accepts before it refuses a message (attributes, depth) or stops
/// keeping what it finds (violations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Attributes one element may have, namespace declarations included.
    pub max_attributes: usize,
    /// Levels of element nesting, the SOAP Envelope being level 1.
    pub max_depth: usize,
    /// Violations kept, in document order; the rest are counted in
    /// [`Checked::violations_omitted`].
    pub max_violations: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_attributes: DEFAULT_MAX_ATTRIBUTES,
            max_depth: DEFAULT_MAX_DEPTH,
            max_violations: DEFAULT_MAX_VIOLATIONS,
        }
    }
}

/// Values quoted in messages are cut to this many characters.
const QUOTE_MAX: usize = 80;

/// One violation of the schema or a TKB rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Element path below the body element, e.g.
    /// `cervixScreeningInformation/subjectOfCare/personId/extension`;
    /// repeatable elements carry a 1-based index: `followUpGroups[2]`. A missing element has
    /// the path where it should be; a violation on the body element itself (an attribute,
    /// text) has the path `ProcessCervixScreeningInformation`.
    pub path: String,
    /// What is wrong, naming the expected and the found value or element.
    pub message: String,
}

/// Which of the contract's scenarios a message represents (the testbed's reading of its
/// content; see [`Scenario::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Only `subjectOfCare` and `sendingRegion`: "Kallelsegrundande information saknas".
    NoInformation,
    /// The woman moves between regions: the message carries `plannedInvitation`.
    Moved,
    /// She left a sample in another region: `specimen` only.
    SampleElsewhere,
    /// She was treated in another region: `followUpGroups`.
    TreatedElsewhere,
    /// She is excluded from invitations: `exclusion`.
    Exclusion,
}

impl Scenario {
    /// Every scenario, in declaration order.
    pub const ALL: [Scenario; 5] = [
        Scenario::NoInformation,
        Scenario::Moved,
        Scenario::SampleElsewhere,
        Scenario::TreatedElsewhere,
        Scenario::Exclusion,
    ];

    /// The kebab-case name, as serialized (`no-information`, `sample-elsewhere`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::NoInformation => "no-information",
            Scenario::Moved => "moved",
            Scenario::SampleElsewhere => "sample-elsewhere",
            Scenario::TreatedElsewhere => "treated-elsewhere",
            Scenario::Exclusion => "exclusion",
        }
    }

    /// The scenario with a kebab-case name ([`Scenario::as_str`]).
    pub fn parse(s: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// What the scenario means, in English with the Swedish wording after a slash.
    pub fn description(self) -> &'static str {
        match self {
            Scenario::NoInformation => {
                "No invitation information: only subjectOfCare and sendingRegion / \
                 Kallelsegrundande information saknas"
            }
            Scenario::Moved => {
                "The woman moves between regions (plannedInvitation) / \
                 Kvinnan flyttar mellan regioner"
            }
            Scenario::SampleElsewhere => {
                "She left a sample in another region (specimen) / \
                 Kvinnan har lämnat prov i en annan region"
            }
            Scenario::TreatedElsewhere => {
                "She was treated in another region (followUpGroups) / \
                 Kvinnan har behandlats i en annan region"
            }
            Scenario::Exclusion => {
                "She is excluded from invitations (exclusion) / \
                 Kvinnan är exkluderad från kallelse"
            }
        }
    }

    /// The scenario for the local names of the elements under `cervixScreeningInformation`:
    /// `exclusion` wins over `plannedInvitation`, which wins over `followUpGroups`, which wins
    /// over `specimen`; none of them is [`Scenario::NoInformation`].
    pub fn of<'a>(elements: impl IntoIterator<Item = &'a str>) -> Scenario {
        let mut best = Scenario::NoInformation;
        let rank = |s: Scenario| match s {
            Scenario::NoInformation => 0,
            Scenario::SampleElsewhere => 1,
            Scenario::TreatedElsewhere => 2,
            Scenario::Moved => 3,
            Scenario::Exclusion => 4,
        };
        for name in elements {
            let s = match name {
                "exclusion" => Scenario::Exclusion,
                "plannedInvitation" => Scenario::Moved,
                "followUpGroups" => Scenario::TreatedElsewhere,
                "specimen" => Scenario::SampleElsewhere,
                _ => continue,
            };
            if rank(s) > rank(best) {
                best = s;
            }
        }
        best
    }
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of checking one request envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not well-formed XML, not a SOAP envelope, or no `ProcessCervixScreeningInformation`
    /// as the first Body element: a technical error, answered with a SOAP Fault.
    Technical(String),
    /// A ProcessCervixScreeningInformation request, checked.
    Checked(Checked),
}

/// What the check of a request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The violations found, in document order, at most [`Limits::max_violations`]; empty
    /// when the message is valid.
    pub violations: Vec<Violation>,
    /// Violations found past [`Limits::max_violations`]: counted, not kept.
    pub violations_omitted: usize,
    /// `subjectOfCare/personId/extension` as sent, if present.
    pub personnummer: Option<String>,
    /// `sendingRegion/region/id/extension` as sent, if present.
    pub sending_region: Option<String>,
    /// The scenario the content represents.
    pub scenario: Scenario,
}

/// Checks a whole SOAP envelope within the default [`Limits`].
pub fn validate(envelope: &[u8], lists: &CodeLists) -> Outcome {
    validate_with(envelope, lists, &Limits::default())
}

/// Checks a whole SOAP envelope within `limits`.
pub fn validate_with(envelope: &[u8], lists: &CodeLists, limits: &Limits) -> Outcome {
    let op = match read(envelope, limits) {
        Ok(op) => op,
        Err(why) => return Outcome::Technical(why),
    };
    let mut checker = Checker {
        lists,
        out: Vec::new(),
        max: limits.max_violations,
        omitted: 0,
    };
    checker.complex(&op, &PROCESS, "");

    // What the message carries, read from the contract's own elements whatever their faults.
    let csi = op.child(RESPONDER_NS, "cervixScreeningInformation");
    let text_at = |path: &[&str]| {
        let mut node = csi?;
        for name in path {
            node = node.child(CORE_NS, name)?;
        }
        node.children_free().then(|| node.text().to_owned())
    };
    let scenario = csi.map_or(Scenario::NoInformation, |c| {
        Scenario::of(
            c.children
                .iter()
                .filter(|n| n.ns == CORE_NS)
                .map(|n| &*n.local),
        )
    });
    Outcome::Checked(Checked {
        violations: checker.out,
        violations_omitted: checker.omitted,
        personnummer: text_at(&["subjectOfCare", "personId", "extension"]),
        sending_region: text_at(&["sendingRegion", "region", "id", "extension"]),
        scenario,
    })
}

/// The `resultText` for a non-empty list of violations: one line per violation,
/// `<path>: <message>`, after a first line counting them (`omitted` ones found but not kept
/// included).
///
/// At most [`MAX_REPORTED`] are written out (a megabyte of junk elements must not become a
/// report of many megabytes); a last line counts the rest.
pub fn report(violations: &[Violation], omitted: usize) -> String {
    let mut s = format!(
        "{} violation(s) of ProcessCervixScreeningInformation 1.0 (schema and TKB rules):",
        violations.len().saturating_add(omitted)
    );
    for v in violations.iter().take(MAX_REPORTED) {
        s.push('\n');
        s.push_str(&v.path);
        s.push_str(": ");
        s.push_str(&v.message);
    }
    let rest = violations
        .len()
        .saturating_sub(MAX_REPORTED)
        .saturating_add(omitted);
    if rest > 0 {
        s.push_str(&format!("\n... and {rest} more violation(s), not listed"));
    }
    s
}

/// Most violations [`report`] lists one by one.
pub const MAX_REPORTED: usize = 1000;

// ---------------------------------------------------------------------------------------------
// Step 1: reading the envelope.

/// One recorded element of the body element's tree. Kept small (80 bytes, the contract's
/// namespaces not copied, what most elements lack boxed): a 15 MiB message can hold a
/// million elements.
#[derive(Debug, Default)]
struct Node {
    /// Namespace URI; empty for an unqualified element.
    ns: Cow<'static, str>,
    local: Box<str>,
    /// Attributes and character data, for the elements that have either.
    extra: Option<Box<Extra>>,
    children: Vec<Node>,
    /// The element has child elements that were not recorded (it is foreign or too deep).
    unrecorded_children: bool,
    /// Whether children and text are recorded: only for the contract's namespaces, and
    /// only down to [`MAX_RECORDED_DEPTH`].
    recording: bool,
}

// The bound the doc comment above promises (on 64-bit targets).
const _: () = assert!(std::mem::size_of::<Node>() <= 80);

/// What few elements of a request have: attributes and character data.
#[derive(Debug, Default)]
struct Extra {
    /// Attributes the schema does not allow, as written (namespace declarations and `xsi`
    /// attributes are not among them).
    attributes: Vec<String>,
    /// The character data directly inside, references and CDATA resolved, line ends
    /// normalised as XML does, nothing trimmed.
    text: String,
    /// How many child elements came before the first non-whitespace character data.
    text_at: Option<usize>,
}

impl Node {
    fn child(&self, ns: &str, local: &str) -> Option<&Node> {
        self.children
            .iter()
            .find(|n| n.ns == ns && &*n.local == local)
    }

    fn attributes(&self) -> &[String] {
        self.extra.as_ref().map_or(&[], |e| &e.attributes)
    }

    fn text(&self) -> &str {
        self.extra.as_ref().map_or("", |e| &e.text)
    }

    fn text_at(&self) -> Option<usize> {
        self.extra.as_ref().and_then(|e| e.text_at)
    }

    /// No child elements at all, recorded or not.
    fn children_free(&self) -> bool {
        self.children.is_empty() && !self.unrecorded_children
    }
}

/// Builds the tree of the body element from events, skipping what it does not record.
#[derive(Default)]
struct Builder {
    /// The open recorded elements, the body element first.
    stack: Vec<Node>,
    /// Open elements below the top of `stack` that are not recorded.
    skipping: usize,
    /// The body element once it has ended.
    done: Option<Node>,
}

impl Builder {
    fn start(&mut self, mut node: Node, empty: bool) {
        if self.skipping > 0 {
            if !empty {
                self.skipping += 1;
            }
            return;
        }
        let depth = self.stack.len();
        match self.stack.last_mut() {
            Some(top) if !top.recording => {
                top.unrecorded_children = true;
                if !empty {
                    self.skipping = 1;
                }
                return;
            }
            _ => {}
        }
        node.recording =
            (node.ns == CORE_NS || node.ns == RESPONDER_NS) && depth < MAX_RECORDED_DEPTH;
        self.stack.push(node);
        if empty {
            self.end();
        }
    }

    fn end(&mut self) {
        if self.skipping > 0 {
            self.skipping -= 1;
            return;
        }
        let Some(node) = self.stack.pop() else {
            return;
        };
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => self.done = Some(node),
        }
    }

    fn text(&mut self, s: &str) {
        if self.skipping > 0 {
            return;
        }
        if let Some(top) = self.stack.last_mut().filter(|t| t.recording) {
            let children = top.children.len();
            let extra = top.extra.get_or_insert_with(Box::default);
            if extra.text_at.is_none() && !is_xml_whitespace(s) {
                extra.text_at = Some(children);
            }
            extra.text.push_str(s);
        }
    }

    fn building(&self) -> bool {
        !self.stack.is_empty()
    }
}

/// The namespace bindings in scope, kept on the heap so that nesting costs no stack.
#[derive(Default)]
struct Scopes {
    /// Prefix (`""` for the default namespace) → its bindings, innermost last.
    bound: HashMap<String, Vec<String>>,
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
    ns: Cow<'static, str>,
    local: String,
    /// Attributes other than namespace declarations and `xsi` ones, as written.
    attributes: Vec<String>,
}

/// `{ns}local`, or `local (no namespace)`.
fn clark(ns: &str, local: &str) -> String {
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
fn read(body: &[u8], limits: &Limits) -> Result<Node, String> {
    let text = std::str::from_utf8(body).map_err(|e| {
        not_well_formed(
            body,
            e.valid_up_to() as u64,
            "it is not UTF-8 (invalid byte sequence)",
        )
    })?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_comments = true;
    let mut scopes = Scopes::default();
    let mut builder = Builder::default();
    // Open elements: how many, and their names (one buffer, so that deep nesting costs
    // little) for a document that ends too early.
    let mut depth = 0usize;
    let mut open_names = String::new();
    let mut open_starts: Vec<usize> = Vec::new();
    let mut root_seen = false;
    let mut root_is_envelope = false;
    let mut first_event = true;
    // Body: whether one was found, whether it is open, whether its first element was seen.
    let mut body_found = false;
    let mut in_body = false;
    let mut body_child_seen = false;
    // The first problem of structure (not of well-formedness), reported only if the whole
    // document turns out to be well-formed.
    let mut structure: Option<String> = None;

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
                if depth == 0 && root_seen {
                    return Err(not_well_formed(body, at, "more than one root element"));
                }
                root_seen = true;
                let level = depth + 1;
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
                let start = start_tag(body, at, e, level, &mut scopes, limits)?;
                if depth == 0 {
                    root_is_envelope = start.ns == SOAP11_NS && start.local == "Envelope";
                    if !root_is_envelope {
                        structure.get_or_insert_with(|| {
                            format!(
                                "The root element is {}, not {}",
                                clark(&start.ns, &start.local),
                                clark(SOAP11_NS, "Envelope")
                            )
                        });
                    }
                } else if depth == 1 && root_is_envelope && !body_found {
                    if start.ns == SOAP11_NS && start.local == "Body" {
                        body_found = true;
                        in_body = !empty;
                        if empty {
                            structure.get_or_insert_with(no_body_element);
                        }
                    }
                } else if depth == 2 && in_body && !body_child_seen {
                    body_child_seen = true;
                    if start.ns == RESPONDER_NS && start.local == OPERATION {
                        builder.start(node(start), empty);
                    } else {
                        structure.get_or_insert_with(|| {
                            format!(
                                "The SOAP Body's first element is {}, not {}",
                                clark(&start.ns, &start.local),
                                clark(RESPONDER_NS, OPERATION)
                            )
                        });
                    }
                } else if builder.building() {
                    builder.start(node(start), empty);
                }
                if empty {
                    scopes.leave(level);
                } else {
                    depth = level;
                    open_starts.push(open_names.len());
                    open_names.push_str(e.name().0);
                }
            }
            Event::End(_) => {
                if builder.building() {
                    builder.end();
                }
                if depth == 2 && in_body {
                    in_body = false;
                    if !body_child_seen {
                        structure.get_or_insert_with(no_body_element);
                    }
                }
                scopes.leave(depth);
                depth = depth.saturating_sub(1);
                if let Some(start) = open_starts.pop() {
                    open_names.truncate(start);
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                check_chars(body, at, &s)?;
                if s.contains("]]>") {
                    return Err(not_well_formed(
                        body,
                        at,
                        "`]]>` is not allowed in character data",
                    ));
                }
                if depth == 0 && !is_xml_whitespace(&s) {
                    return Err(outside_root(body, at));
                }
                builder.text(&s);
            }
            Event::CData(t) => {
                if depth == 0 {
                    return Err(outside_root(body, at));
                }
                let s = t.xml10_content();
                check_chars(body, at, &s)?;
                builder.text(&s);
            }
            Event::GeneralRef(r) => {
                let Some(s) = ref_text(&r) else {
                    let what = format!(
                        "undeclared entity or invalid character reference `&{};`",
                        r.xml10_content()
                    );
                    return Err(not_well_formed(body, at, what));
                };
                if depth == 0 {
                    return Err(outside_root(body, at));
                }
                builder.text(&s);
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
                let end = reader.buffer_position();
                if let Some(start) = open_starts.last() {
                    let name = open_names.get(*start..).unwrap_or("");
                    let what = format!("the document ends before `</{name}>`");
                    return Err(not_well_formed(body, end, what));
                }
                if !root_seen {
                    return Err(not_well_formed(body, end, "no root element"));
                }
                break;
            }
        }
    }
    if let Some(why) = structure {
        return Err(why);
    }
    if !body_found {
        return Err(format!(
            "The SOAP Envelope has no {} element",
            clark(SOAP11_NS, "Body")
        ));
    }
    builder.done.ok_or_else(no_body_element)
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
fn namespace(uri: &str) -> Cow<'static, str> {
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

    // The same expanded name twice (`a:x` and `b:x` with `a` and `b` bound to one namespace):
    // a set of the names seen, so a tag of many attributes costs linear time.
    let mut expanded: HashSet<(&str, &str)> = HashSet::with_capacity(plain.len());
    let mut attributes = Vec::new();
    for (key, _) in &plain {
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
    Ok(Start {
        ns,
        local: local.to_owned(),
        attributes,
    })
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

fn is_xml_whitespace(s: &str) -> bool {
    s.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

// ---------------------------------------------------------------------------------------------
// The schema (XSD-R and XSD-C of ProcessCervixScreeningInformation 1.0) with the TKB's rules
// attached. Types used with different TKB rules (IIType, RegionType, CVType) appear once per
// use; their `name` is the schema's.

/// A complex type: an `xs:sequence` of particles followed by
/// `xs:any namespace="##other" processContents="lax" minOccurs="0" maxOccurs="unbounded"`.
struct Type {
    name: &'static str,
    /// The target namespace: that of the declared elements; extension elements must be in
    /// another one.
    ns: &'static str,
    particles: &'static [Particle],
}

/// One element of a sequence.
struct Particle {
    name: &'static str,
    min: u32,
    /// `None`: unbounded.
    max: Option<u32>,
    content: Content,
    tkb: Tkb,
}

#[derive(Clone, Copy)]
enum Content {
    Complex(&'static Type),
    /// `xs:string`, with the TKB's rule on the value.
    Str(Value),
    /// DateType.
    Date,
}

/// A TKB rule on a string value.
#[derive(Clone, Copy)]
enum Value {
    Any,
    PersonnummerOid,
    Personnummer,
    HsaIdOid,
    CodeSystem,
    Code(List),
}

#[derive(Clone, Copy)]
enum List {
    ExclusionReason,
    FollowUpGroup,
    HpvStatus,
}

/// A TKB rule on an element's presence.
#[derive(Clone, Copy)]
enum Tkb {
    None,
    /// Optional in the schema, required by the TKB; the text says what it is.
    Required(&'static str),
    /// Allowed by the schema, "Skall ej anges" in the TKB, under the named parent.
    Forbidden(&'static str),
}

const fn p(name: &'static str, min: u32, max: Option<u32>, content: Content) -> Particle {
    Particle {
        name,
        min,
        max,
        content,
        tkb: Tkb::None,
    }
}

const ONE: Option<u32> = Some(1);
const MANY: Option<u32> = None;

static PROCESS: Type = Type {
    name: "ProcessCervixScreeningInformationType",
    ns: RESPONDER_NS,
    particles: &[p(
        "cervixScreeningInformation",
        1,
        ONE,
        Content::Complex(&INFORMATION),
    )],
};

static INFORMATION: Type = Type {
    name: "CervixScreeningInformationType",
    ns: CORE_NS,
    particles: &[
        p("subjectOfCare", 1, ONE, Content::Complex(&PERSON)),
        p("sendingRegion", 1, ONE, Content::Complex(&SENDING_REGION)),
        p("exclusion", 0, ONE, Content::Complex(&EXCLUSION)),
        p(
            "followUpGroups",
            0,
            MANY,
            Content::Complex(&FOLLOW_UP_GROUP),
        ),
        p(
            "plannedInvitation",
            0,
            ONE,
            Content::Complex(&PLANNED_INVITATION),
        ),
        p("specimen", 0, ONE, Content::Complex(&SPECIMEN)),
    ],
};

static PERSON: Type = Type {
    name: "PersonType",
    ns: CORE_NS,
    particles: &[p("personId", 1, ONE, Content::Complex(&PERSON_ID))],
};

static PERSON_ID: Type = Type {
    name: "IIType",
    ns: CORE_NS,
    particles: &[
        p("root", 1, ONE, Content::Str(Value::PersonnummerOid)),
        Particle {
            tkb: Tkb::Required("the woman's personnummer, YYYYMMDDNNNN"),
            ..p("extension", 0, ONE, Content::Str(Value::Personnummer))
        },
    ],
};

static SENDING_REGION: Type = Type {
    name: "RegionType",
    ns: CORE_NS,
    particles: &[
        p("region", 1, ONE, Content::Complex(&ORGANISATION)),
        Particle {
            tkb: Tkb::Forbidden("sendingRegion"),
            ..p("careGiver", 0, ONE, Content::Complex(&ORGANISATION))
        },
        Particle {
            tkb: Tkb::Forbidden("sendingRegion"),
            ..p("careUnit", 0, ONE, Content::Complex(&ORGANISATION))
        },
    ],
};

static REGION: Type = Type {
    name: "RegionType",
    ns: CORE_NS,
    particles: &[
        p("region", 1, ONE, Content::Complex(&ORGANISATION)),
        p("careGiver", 0, ONE, Content::Complex(&ORGANISATION)),
        p("careUnit", 0, ONE, Content::Complex(&ORGANISATION)),
    ],
};

static ORGANISATION: Type = Type {
    name: "OrganisationType",
    ns: CORE_NS,
    particles: &[
        p("id", 1, ONE, Content::Complex(&HSA_ID)),
        p("name", 1, ONE, Content::Str(Value::Any)),
    ],
};

static HSA_ID: Type = Type {
    name: "IIType",
    ns: CORE_NS,
    particles: &[
        p("root", 1, ONE, Content::Str(Value::HsaIdOid)),
        p("extension", 0, ONE, Content::Str(Value::Any)),
    ],
};

static EXCLUSION: Type = Type {
    name: "ExclusionType",
    ns: CORE_NS,
    particles: &[
        p("reason", 1, ONE, Content::Complex(&EXCLUSION_REASON)),
        p("registeredAt", 1, ONE, Content::Date),
        p("originalRegion", 1, ONE, Content::Complex(&REGION)),
    ],
};

static FOLLOW_UP_GROUP: Type = Type {
    name: "FollowUpGroupType",
    ns: CORE_NS,
    particles: &[
        p("type", 1, ONE, Content::Complex(&FOLLOW_UP_GROUP_TYPE)),
        p("inclusionDate", 1, ONE, Content::Date),
        p("originalRegion", 1, ONE, Content::Complex(&REGION)),
    ],
};

static PLANNED_INVITATION: Type = Type {
    name: "PlannedInvitationType",
    ns: CORE_NS,
    particles: &[
        p("date", 1, ONE, Content::Date),
        p("reason", 0, ONE, Content::Str(Value::Any)),
    ],
};

static SPECIMEN: Type = Type {
    name: "SpecimenType",
    ns: CORE_NS,
    particles: &[
        p("specimenDate", 1, ONE, Content::Date),
        p("originalRegion", 1, ONE, Content::Complex(&REGION)),
        p("HPVstatusList", 0, MANY, Content::Complex(&HPV_STATUS)),
    ],
};

static HPV_STATUS: Type = Type {
    name: "HPVstatusType",
    ns: CORE_NS,
    particles: &[p("value", 1, ONE, Content::Complex(&HPV_STATUS_VALUE))],
};

const fn cv(list: List) -> [Particle; 6] {
    [
        p("code", 1, ONE, Content::Str(Value::Code(list))),
        p("codeSystem", 1, ONE, Content::Str(Value::CodeSystem)),
        p("codeSystemName", 0, ONE, Content::Str(Value::Any)),
        p("codeSystemVersion", 0, ONE, Content::Str(Value::Any)),
        p("displayName", 0, ONE, Content::Str(Value::Any)),
        p("originalText", 0, ONE, Content::Str(Value::Any)),
    ]
}

static EXCLUSION_REASON: Type = Type {
    name: "CVType",
    ns: CORE_NS,
    particles: &cv(List::ExclusionReason),
};

static FOLLOW_UP_GROUP_TYPE: Type = Type {
    name: "CVType",
    ns: CORE_NS,
    particles: &cv(List::FollowUpGroup),
};

static HPV_STATUS_VALUE: Type = Type {
    name: "CVType",
    ns: CORE_NS,
    particles: &cv(List::HpvStatus),
};

/// The elements that may repeat, whose path steps always carry a 1-based index.
const REPEATABLE: [&str; 2] = ["followUpGroups", "HPVstatusList"];

fn cardinality(p: &Particle) -> String {
    match p.max {
        Some(max) => format!("{}..{max}", p.min),
        None => format!("{}..*", p.min),
    }
}

// ---------------------------------------------------------------------------------------------
// Step 2: checking the tree.

struct Checker<'a> {
    lists: &'a CodeLists,
    /// The violations kept, at most `max`.
    out: Vec<Violation>,
    max: usize,
    /// Violations found past `max`.
    omitted: usize,
}

/// How a child element relates to its parent's type.
enum Role {
    /// In the type's namespace and declared in it (the particle's index).
    Declared(usize),
    /// In the type's namespace, not declared in it.
    Undeclared,
    /// In no namespace (the particle with its local name, if any).
    Unqualified(Option<usize>),
    /// In another namespace (the particle with its local name, if any).
    Foreign(Option<usize>),
}

/// The state of matching a sequence.
struct Sequence<'t> {
    ty: &'t Type,
    /// The particle last matched (or 0).
    pos: usize,
    /// Occurrences of each particle.
    counts: Vec<u32>,
    /// The first extension element, once seen: after it only extension elements may follow.
    extension: Option<String>,
}

impl Sequence<'_> {
    fn fits(&self, j: usize) -> bool {
        let Some(p) = self.ty.particles.get(j) else {
            return false;
        };
        let count = self.counts.get(j).copied().unwrap_or(0);
        self.extension.is_none() && j >= self.pos && p.max.is_none_or(|m| count < m)
    }

    /// Whether a particle the schema or the TKB requires is still unsatisfied from the
    /// current position on.
    fn requires_more(&self) -> bool {
        self.ty
            .particles
            .iter()
            .enumerate()
            .skip(self.pos)
            .any(|(k, p)| {
                let count = self.counts.get(k).copied().unwrap_or(0);
                count < p.min || (count == 0 && matches!(p.tkb, Tkb::Required(_)))
            })
    }

    /// What may come next, for messages.
    fn expected(&self) -> String {
        if self.extension.is_some() {
            return "only extension elements (after an extension element)".to_owned();
        }
        let mut names: Vec<String> = Vec::new();
        let mut open_end = true;
        for (k, p) in self.ty.particles.iter().enumerate().skip(self.pos) {
            let count = self.counts.get(k).copied().unwrap_or(0);
            if p.max.is_none_or(|m| count < m) {
                names.push(p.name.to_owned());
            }
            if count < p.min {
                open_end = false;
                break;
            }
        }
        if open_end {
            names.push(format!("an extension element (not in {})", self.ty.ns));
        }
        match names.split_last() {
            None => "nothing more".to_owned(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        }
    }
}

fn join(path: &str, step: &str) -> String {
    if path.is_empty() {
        step.to_owned()
    } else {
        format!("{path}/{step}")
    }
}

/// `'value'`, control characters escaped, cut after [`QUOTE_MAX`] characters.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(QUOTE_MAX * 4) + 2);
    out.push('\'');
    for (i, c) in value.chars().enumerate() {
        if i == QUOTE_MAX {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

impl Checker<'_> {
    fn push(&mut self, path: &str, message: String) {
        if self.out.len() >= self.max {
            self.omitted = self.omitted.saturating_add(1);
            return;
        }
        let path = if path.is_empty() { OPERATION } else { path };
        self.out.push(Violation {
            path: path.to_owned(),
            message,
        });
    }

    fn attributes(&mut self, node: &Node, what: &str, path: &str) {
        for a in node.attributes() {
            let message = format!(
                "attribute {a} is not allowed: {} ({what}) declares no attributes",
                node.local
            );
            self.push(path, message);
        }
    }

    /// Checks an element of a complex type: its attributes, text and children.
    fn complex(&mut self, node: &Node, ty: &Type, path: &str) {
        self.attributes(node, ty.name, path);
        let mut seq = Sequence {
            ty,
            pos: 0,
            counts: vec![0; ty.particles.len()],
            extension: None,
        };
        // Occurrences so far of each name in REPEATABLE, whatever their namespace.
        let mut occurrences = [0usize; REPEATABLE.len()];
        for (k, child) in node.children.iter().enumerate() {
            if node.text_at() == Some(k) {
                self.stray_text(node, ty, path);
            }
            let repeatable = REPEATABLE.iter().position(|r| *r == &*child.local);
            let step = match repeatable.and_then(|r| occurrences.get_mut(r)) {
                Some(n) => {
                    *n += 1;
                    format!("{}[{n}]", child.local)
                }
                None => child.local.to_string(),
            };
            let cpath = join(path, &step);
            let later = node.children.get(k + 1..).unwrap_or(&[]);
            self.child(&mut seq, child, &cpath, path, later);
        }
        if node.text_at().is_some_and(|k| k >= node.children.len()) {
            self.stray_text(node, ty, path);
        }
        if seq.extension.is_none() {
            let end = ty.particles.len();
            self.skip_to(&mut seq, end, None, path, &[]);
        }
    }

    fn stray_text(&mut self, node: &Node, ty: &Type, path: &str) {
        let text = node
            .text()
            .trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        let message = format!(
            "element {} has element-only content ({}) and must not contain text; found {}",
            node.local,
            ty.name,
            quote(text)
        );
        self.push(path, message);
    }

    fn child(
        &mut self,
        seq: &mut Sequence<'_>,
        child: &Node,
        cpath: &str,
        path: &str,
        later: &[Node],
    ) {
        let ty = seq.ty;
        let particle = ty.particles.iter().position(|p| p.name == &*child.local);
        let role = if child.ns == ty.ns {
            particle.map_or(Role::Undeclared, Role::Declared)
        } else if child.ns.is_empty() {
            Role::Unqualified(particle)
        } else {
            Role::Foreign(particle)
        };
        let found = if child.ns == ty.ns {
            child.local.to_string()
        } else {
            clark(&child.ns, &child.local)
        };
        match role {
            Role::Declared(j) => {
                let Some(p) = ty.particles.get(j) else {
                    return;
                };
                if let Some(ext) = &seq.extension {
                    let message = format!(
                        "element {} is not allowed after the extension element {ext}; \
                         extension elements must come last",
                        child.local
                    );
                    self.push(cpath, message);
                } else if !seq.fits(j) {
                    let count = seq.counts.get(j).copied().unwrap_or(0);
                    let message = if p.max.is_some_and(|m| count >= m) {
                        format!(
                            "surplus element {}: the schema allows at most {} ({})",
                            child.local,
                            p.max.unwrap_or(0),
                            cardinality(p)
                        )
                    } else {
                        let before = ty.particles.get(seq.pos).map_or("", |q| q.name);
                        format!(
                            "element {} is out of order: it must come before {before}",
                            child.local
                        )
                    };
                    self.push(cpath, message);
                } else {
                    self.skip_to(seq, j, Some(&found), path, later);
                    self.take(seq, j);
                    if let Tkb::Forbidden(parent) = p.tkb {
                        let message =
                            format!("must not be given under {parent} (TKB: \"Skall ej anges\")");
                        self.push(cpath, message);
                    }
                    self.element(child, p, cpath);
                }
            }
            Role::Undeclared => {
                let message = format!(
                    "unexpected element {} (not declared in {}); expected {}",
                    child.local,
                    ty.name,
                    seq.expected()
                );
                self.push(cpath, message);
            }
            Role::Unqualified(particle) => {
                let message = match particle {
                    Some(_) => format!(
                        "element {} is in no namespace; expected {}",
                        child.local, ty.ns
                    ),
                    None => format!(
                        "element {} is in no namespace; expected {} \
                         (or, for an extension element, another namespace)",
                        child.local, ty.ns
                    ),
                };
                self.push(cpath, message);
                if let Some(j) = particle.filter(|j| seq.fits(*j)) {
                    self.skip_to(seq, j, Some(&found), path, later);
                    self.take(seq, j);
                }
            }
            Role::Foreign(particle) => {
                // An element named like a declared one where an extension element is not
                // allowed yet is taken for that element in the wrong namespace.
                let wrong = particle.filter(|j| seq.fits(*j) && seq.requires_more());
                if let Some(j) = wrong {
                    let message = format!(
                        "element {} is in namespace {}; expected {}",
                        child.local, child.ns, ty.ns
                    );
                    self.push(cpath, message);
                    self.skip_to(seq, j, Some(&found), path, later);
                    self.take(seq, j);
                } else if seq.extension.is_none() {
                    let end = ty.particles.len();
                    let what = format!("extension element {found}");
                    self.skip_to(seq, end, Some(&what), path, later);
                    seq.extension = Some(found);
                }
            }
        }
    }

    fn take(&mut self, seq: &mut Sequence<'_>, j: usize) {
        seq.pos = j;
        if let Some(c) = seq.counts.get_mut(j) {
            *c += 1;
        }
    }

    /// Moves the sequence from its position up to particle `to`, reporting the required
    /// particles passed without an occurrence, unless they occur later (those are reported
    /// where they occur, as out of order).
    fn skip_to(
        &mut self,
        seq: &mut Sequence<'_>,
        to: usize,
        found: Option<&str>,
        path: &str,
        later: &[Node],
    ) {
        let ty = seq.ty;
        for k in seq.pos..to {
            let Some(p) = ty.particles.get(k) else {
                break;
            };
            let count = seq.counts.get(k).copied().unwrap_or(0);
            if later.iter().any(|n| &*n.local == p.name) {
                continue;
            }
            let message = if count < p.min {
                match found {
                    Some(found) => format!("expected element {} here, found {found}", p.name),
                    None => format!("missing (required by the schema, {})", cardinality(p)),
                }
            } else if let (0, Tkb::Required(what)) = (count, p.tkb) {
                format!("missing (required by the TKB: {what})")
            } else {
                continue;
            };
            self.push(&join(path, p.name), message);
        }
        // `to` may be the end: past the last particle nothing declared may follow.
        seq.pos = seq.pos.max(to);
    }

    fn element(&mut self, node: &Node, p: &Particle, path: &str) {
        match p.content {
            Content::Complex(ty) => self.complex(node, ty, path),
            Content::Str(rule) => {
                if let Some(value) = self.simple(node, "xs:string", path) {
                    self.value(rule, value, path);
                }
            }
            Content::Date => {
                if let Some(value) = self.simple(node, "DateType", path)
                    && !is_date(value)
                {
                    let message = format!(
                        "{} does not match the date pattern YYYYMMDD \
                         (years 1900-2099, month 01-12, day 01-31)",
                        quote(value)
                    );
                    self.push(path, message);
                }
            }
        }
    }

    /// The value of a simple element, or `None` (reported) when it has child elements.
    fn simple<'n>(&mut self, node: &'n Node, ty: &str, path: &str) -> Option<&'n str> {
        self.attributes(node, ty, path);
        if node.children_free() {
            return Some(node.text());
        }
        let found = node.children.first().map_or_else(
            || "child elements".to_owned(),
            |c| format!("element {}", c.local),
        );
        let message = format!(
            "element {} has simple content ({ty}) and must not contain elements; found {found}",
            node.local
        );
        self.push(path, message);
        None
    }

    fn value(&mut self, rule: Value, value: &str, path: &str) {
        let message = match rule {
            Value::Any => return,
            Value::PersonnummerOid if value != PERSONNUMMER_OID => format!(
                "{} is not {PERSONNUMMER_OID}, the OID of Swedish personnummer \
                 (TKB: only a Swedish personnummer is allowed)",
                quote(value)
            ),
            Value::Personnummer if !is_personnummer(value) => format!(
                "{} is not a personnummer of the form YYYYMMDDNNNN \
                 (TKB: 12 digits 0-9, month 01-12, day 01-31)",
                quote(value)
            ),
            Value::HsaIdOid if value != HSA_ID_OID => format!(
                "{} is not {HSA_ID_OID}, the OID of HSA-ids (TKB: organisations are \
                 identified by HSA-id)",
                quote(value)
            ),
            Value::CodeSystem if value != self.lists.code_system => {
                let name = if self.lists.code_system == SNOMED_CT_OID {
                    " (SNOMED CT)"
                } else {
                    ""
                };
                format!(
                    "codeSystem {} is not {}{name}, the code system of the care programme's codes",
                    quote(value),
                    self.lists.code_system
                )
            }
            Value::Code(list) => {
                let (what, codes) = match list {
                    List::ExclusionReason => {
                        ("the exclusion reason", &self.lists.exclusion_reasons)
                    }
                    List::FollowUpGroup => ("the follow-up group", &self.lists.follow_up_groups),
                    List::HpvStatus => ("the HPV status", &self.lists.hpv_statuses),
                };
                if codes.iter().any(|c| c == value) {
                    return;
                }
                let allowed = if codes.is_empty() {
                    "(none)".to_owned()
                } else {
                    codes.join(", ")
                };
                format!(
                    "code {} is not in the care programme's list for {what}: {allowed}",
                    quote(value)
                )
            }
            _ => return,
        };
        self.push(path, message);
    }
}

/// The code points of the digit zero of every run of ten decimal digits (Unicode general
/// category Nd, Unicode 14), for XSD's `\d`, which means `\p{Nd}`.
const DECIMAL_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// XSD's `\d`.
fn is_xsd_digit(c: char) -> bool {
    let u = c as u32;
    DECIMAL_ZEROS.iter().any(|&z| (z..z + 10).contains(&u))
}

/// DateType: the whole value matches `(19|20)\d\d(0[1-9]|1[012])(0[1-9]|[12][0-9]|3[01])`.
fn is_date(v: &str) -> bool {
    let cs: Vec<char> = v.chars().take(9).collect();
    let &[c0, c1, c2, c3, c4, c5, c6, c7] = cs.as_slice() else {
        return false;
    };
    matches!((c0, c1), ('1', '9') | ('2', '0'))
        && is_xsd_digit(c2)
        && is_xsd_digit(c3)
        && matches!((c4, c5), ('0', '1'..='9') | ('1', '0'..='2'))
        && matches!(
            (c6, c7),
            ('0', '1'..='9') | ('1' | '2', '0'..='9') | ('3', '0' | '1')
        )
}

/// The TKB's personnummer: 12 ASCII digits YYYYMMDDNNNN, month 01-12, day 01-31.
fn is_personnummer(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() != 12 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let two = |i: usize| match b.get(i..i + 2) {
        Some(&[x, y]) => u32::from(x - b'0') * 10 + u32::from(y - b'0'),
        _ => 0,
    };
    (1..=12).contains(&two(4)) && (1..=31).contains(&two(6))
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
