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
//!
//! Two reads feed one walk over the envelope ([`Walk`]): a small scanner of plain markup reads
//! the usual request (tags, quoted attributes, text without references, comments, the XML
//! declaration) and gives up on anything else or anything wrong; then quick-xml's reader reads
//! the body again from the start, with its well-formedness checks, and every error message
//! comes from it. Namespaces are tracked from declarations borrowed from the body; reading the
//! usual envelope copies nothing and allocates nothing.

use std::{borrow::Cow, collections::HashSet};

use quick_xml::{
    errors::{Error as XmlError, IllFormedError, SyntaxError},
    events::{
        Event,
        attributes::{AttrError, Attributes},
    },
    name::{NamespaceError, PrefixDeclaration},
    reader::Reader,
};
use smallvec::SmallVec;

use super::{ref_text, woodstox};
use crate::vocab::{XML_NS, XMLNS_NS};

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

/// The request could not be read up to the first body element. Its text is VP015's details
/// as VP writes them: the message of VP's parser (Woodstox), a newline and
/// ` at [row,col {unknown-source}]: [r,c]` (see [`super::woodstox`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SniffError(String);

impl SniffError {
    /// `message` at the character that starts at byte `offset` of `body`.
    fn at(body: &[u8], offset: u64, message: impl std::fmt::Display) -> Self {
        let location = woodstox::char_location(body, offset_of(offset));
        SniffError(woodstox::with_location(&message.to_string(), location))
    }

    /// `message` at the end of `body` (the input ended too early).
    fn at_end(body: &[u8], message: impl std::fmt::Display) -> Self {
        let location = woodstox::end_location(body);
        SniffError(woodstox::with_location(&message.to_string(), location))
    }
}

/// A reader position as an index into the body.
fn offset_of(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

/// XML's whitespace (not Rust's, which also has form feed).
fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// The character at byte `offset` of `body` (U+FFFD if it is not UTF-8 there).
fn char_at(body: &[u8], offset: usize) -> char {
    let end = body.len().min(offset.saturating_add(4));
    let bytes = body.get(offset..end).unwrap_or_default();
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    };
    text.chars().next().unwrap_or('\u{FFFD}')
}

/// [`Sniffed`] without copies: its text borrowed from the request where it can be (the
/// router's hot path reads it once and drops it with the request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SniffedRef<'a> {
    /// See [`Sniffed::logical_address`].
    pub logical_address: Option<Cow<'a, str>>,
    /// See [`Sniffed::profile`].
    pub profile: Option<Profile>,
    /// See [`Sniffed::contract`].
    pub contract: Option<Cow<'a, str>>,
    /// See [`Sniffed::operation`].
    pub operation: Option<Cow<'a, str>>,
}

impl SniffedRef<'_> {
    /// The same, owning its text.
    pub fn into_owned(self) -> Sniffed {
        Sniffed {
            logical_address: self.logical_address.map(Cow::into_owned),
            profile: self.profile,
            contract: self.contract.map(Cow::into_owned),
            operation: self.operation.map(Cow::into_owned),
        }
    }
}

/// Reads a SOAP request up to the start tag of the first body element. See the module docs.
pub fn sniff(body: &[u8]) -> Result<Sniffed, SniffError> {
    sniff_ref(body).map(SniffedRef::into_owned)
}

/// The open elements: where each one's name is in the body (for the message when the
/// document ends too early) and the depth's namespace declarations. Inline for the usual
/// envelope, so that reading one allocates nothing.
type OpenNames = SmallVec<[(usize, usize); 8]>;

/// At most this many namespace declarations in scope at once (as quick-xml's `NsReader`):
/// bounds the memory and the cost of resolving a prefix.
const MAX_NAMESPACE_BINDINGS: usize = 128;

/// A namespace declaration (`xmlns:prefix="uri"`, or `xmlns="uri"` with an empty prefix) in
/// scope, borrowed from the body.
struct Binding<'a> {
    prefix: &'a str,
    /// Borrowed (quick-xml never copies a raw attribute value).
    uri: Cow<'a, str>,
    /// The depth of the element that declared it (the root is 1).
    depth: usize,
}

/// What a prefix stands for.
enum Resolved<'a> {
    /// A namespace URI.
    Bound(Cow<'a, str>),
    /// No namespace (an unprefixed name without a default namespace, or after `xmlns=""`).
    Unbound,
    /// A prefix that is not declared (or was undeclared with `xmlns:p=""`).
    Unknown,
}

/// The namespace declarations in scope, innermost last. Only the prefixes actually used are
/// ever looked up: no per-element table is built.
#[derive(Default)]
struct Namespaces<'a> {
    bindings: SmallVec<[Binding<'a>; 8]>,
}

impl<'a> Namespaces<'a> {
    /// Adds a declaration of the element at `depth`, refusing what the Namespaces in XML
    /// recommendation forbids.
    fn declare(
        &mut self,
        prefix: Option<&'a str>,
        uri: Cow<'a, str>,
        depth: usize,
    ) -> Result<(), NamespaceError> {
        match prefix {
            Some("xml") if uri != XML_NS => {
                return Err(NamespaceError::InvalidXmlPrefixBind(uri.into_owned()));
            }
            // A redundant declaration of `xml:` changes nothing.
            Some("xml") => return Ok(()),
            Some("xmlns") => return Err(NamespaceError::InvalidXmlnsPrefixBind(uri.into_owned())),
            Some(p) if uri == XML_NS => {
                return Err(NamespaceError::InvalidPrefixForXml(p.to_owned()));
            }
            Some(p) if uri == XMLNS_NS => {
                return Err(NamespaceError::InvalidPrefixForXmlns(p.to_owned()));
            }
            _ => {}
        }
        if self.bindings.len() >= MAX_NAMESPACE_BINDINGS {
            return Err(NamespaceError::TooManyBindings(MAX_NAMESPACE_BINDINGS));
        }
        self.bindings.push(Binding {
            prefix: prefix.unwrap_or(""),
            uri,
            depth,
        });
        Ok(())
    }

    /// Forgets the declarations of elements at `depth` and deeper (they were closed).
    fn close(&mut self, depth: usize) {
        while self.bindings.last().is_some_and(|b| b.depth >= depth) {
            self.bindings.pop();
        }
    }

    /// The namespace of an element name's prefix (`None`: unprefixed).
    fn resolve(&self, prefix: Option<&str>) -> Resolved<'a> {
        let wanted = match prefix {
            Some("xml") => return Resolved::Bound(Cow::Borrowed(XML_NS)),
            Some("xmlns") => return Resolved::Bound(Cow::Borrowed(XMLNS_NS)),
            Some(p) => p,
            None => "",
        };
        match self.bindings.iter().rev().find(|b| b.prefix == wanted) {
            Some(b) if !b.uri.is_empty() => Resolved::Bound(b.uri.clone()),
            _ if prefix.is_none() => Resolved::Unbound,
            _ => Resolved::Unknown,
        }
    }
}

/// [`sniff`], borrowing the logical address from `body` where it can.
///
/// The usual envelope is read by a small scanner of plain markup (tags with quoted attribute
/// values, text without references, comments, an XML declaration): it gives up on anything
/// else, and on anything wrong, and then quick-xml's reader reads the body from the start.
/// Both feed the same [`Walk`], so an answer is the same whichever read it; every error
/// (and its message) comes from the full read.
pub fn sniff_ref(body: &[u8]) -> Result<SniffedRef<'_>, SniffError> {
    read_envelope(body, true)
}

/// [`sniff_ref`] with quick-xml's reader alone, never the scanner: the reference the scanner
/// must agree with on every input (the fuzz target `sniff` compares the two).
pub fn sniff_ref_full(body: &[u8]) -> Result<SniffedRef<'_>, SniffError> {
    read_envelope(body, false)
}

fn read_envelope(body: &[u8], scanner: bool) -> Result<SniffedRef<'_>, SniffError> {
    // The reader skips a UTF-8 byte order mark and counts positions after it: so does
    // everything here (as Woodstox does).
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    if body.iter().all(|&b| is_xml_space(char::from(b))) {
        return Err(SniffError::at_end(body, "Unexpected EOF in prolog"));
    }
    if scanner && let Some(sniffed) = plain::sniff(body) {
        return Ok(sniffed);
    }
    full_read(body)
}

/// Where the envelope walk is: what it has learned, and what is open.
#[derive(Default)]
struct Walk<'a> {
    out: SniffedRef<'a>,
    header_seen: bool,
    in_body: bool,
    root_seen: bool,
    /// Open elements, to report a document that ends before the first body element.
    open: OpenNames,
    namespaces: Namespaces<'a>,
    /// The address element being read: its text so far and its depth.
    capture: Option<(Cow<'a, str>, usize)>,
}

/// What a piece of character data was, for the message when it is outside the root.
#[derive(Clone, Copy)]
enum TextKind {
    Text,
    CData,
    Reference,
}

impl<'a> Walk<'a> {
    /// The name of the innermost open element.
    fn open_name_bytes(&self, body: &'a [u8]) -> Option<&'a [u8]> {
        let &(at, len) = self.open.last()?;
        body.get(at..at + len)
    }

    /// The same as text.
    fn open_name(&self, body: &'a [u8]) -> Option<&'a str> {
        self.open_name_bytes(body)
            .and_then(|n| std::str::from_utf8(n).ok())
    }

    /// The depth of an element starting now (the root is 1).
    fn depth(&self) -> usize {
        self.open.len() + 1
    }

    /// A start tag whose attributes were read (its namespace declarations are in scope): its
    /// name begins at `at` in the body, its `>` is at `close`. Returns the answer when it was
    /// the first body child (or an empty `Body`).
    fn start(
        &mut self,
        body: &'a [u8],
        (at, close): (usize, usize),
        name: &'a str,
        empty: bool,
    ) -> Result<Option<SniffedRef<'a>>, SniffError> {
        let depth = self.depth();
        if self.open.is_empty() && self.root_seen {
            let msg = "Illegal to have multiple roots (start tag in epilog?).";
            return Err(SniffError::at(body, at as u64, msg));
        }
        self.root_seen = true;
        let (prefix, local) = match name.bytes().position(|b| b == b':') {
            Some(colon) => (Some(&name[..colon]), &name[colon + 1..]),
            None => (None, name),
        };
        let ns = self.namespaces.resolve(prefix);
        if let (Resolved::Unknown, Some(prefix)) = (&ns, prefix) {
            // Woodstox resolves the element's prefix once the whole start tag is read.
            let msg = format!("Undeclared namespace prefix \"{prefix}\"");
            return Err(SniffError::at(body, close as u64, msg));
        }
        if self.in_body {
            // Only the first body child's namespace is ever looked at.
            self.out.contract = Some(match ns {
                Resolved::Bound(uri) => uri,
                _ => Cow::Borrowed(""),
            });
            self.out.operation = Some(Cow::Borrowed(local));
            return Ok(Some(std::mem::take(&mut self.out)));
        }
        // An element inside the address element ends its text, as in VP, where only the
        // first event after the start tag counts.
        if let Some((text, _)) = self.capture.take() {
            self.out.logical_address = address(text);
        }
        match local {
            "Body" => self.in_body = true,
            "Header" => self.header_seen = true,
            "To" | "LogicalAddress" if self.header_seen => {
                self.out.profile = Some(if local == "To" {
                    Profile::Bp20
                } else {
                    Profile::Bp21
                });
                self.out.logical_address = None;
                if !empty {
                    self.capture = Some((Cow::Borrowed(""), depth));
                }
            }
            _ => {}
        }
        if empty {
            self.namespaces.close(depth);
            if self.in_body {
                // `<Body/>`: no service contract.
                return Ok(Some(std::mem::take(&mut self.out)));
            }
        } else {
            self.open.push((at, name.len()));
        }
        Ok(None)
    }

    /// An end tag (already matched with its start tag). Returns the answer when it closed
    /// `Body` without a child element.
    fn end(&mut self) -> Option<SniffedRef<'a>> {
        if let Some((text, depth)) = self.capture.take() {
            if depth == self.open.len() {
                self.out.logical_address = address(text);
            } else {
                self.capture = Some((text, depth));
            }
        }
        self.namespaces.close(self.open.len());
        self.open.pop();
        // `Body` closed without a child element.
        self.in_body.then(|| std::mem::take(&mut self.out))
    }

    /// Character data at `start`.
    fn text(
        &mut self,
        body: &[u8],
        start: u64,
        text: Cow<'a, str>,
        kind: TextKind,
    ) -> Result<(), SniffError> {
        let from = offset_of(start);
        if self.open.is_empty() {
            // Outside the root only whitespace (and markup) may be: Woodstox skips the
            // whitespace and stops at the first other character of the prolog or epilog.
            let blank = match kind {
                TextKind::Text => text.chars().all(is_xml_space),
                TextKind::CData | TextKind::Reference => false,
            };
            if !blank {
                let skipped = body
                    .get(from..)
                    .and_then(|rest| rest.iter().position(|&b| !is_xml_space(char::from(b))))
                    .map_or(from, |n| from + n);
                let c = match kind {
                    // `<![CDATA[` is read as far as the `[` after `<!`.
                    TextKind::CData => '[',
                    _ => char_at(body, skipped),
                };
                let at = if matches!(kind, TextKind::CData) {
                    skipped + 2
                } else {
                    skipped
                };
                let place = if self.root_seen { "epilog" } else { "prolog" };
                let msg = if u32::from(c) < 0x20 {
                    woodstox::illegal_char(c)
                } else if matches!(kind, TextKind::CData) {
                    woodstox::unexpected_char(
                        c,
                        &format!(" in {place} (CDATA is not allowed outside the root element)"),
                    )
                } else {
                    woodstox::unexpected_char(c, &format!(" in {place}; expected '<'"))
                };
                return Err(SniffError::at(body, at as u64, msg));
            }
        }
        // XML 1.0 allows no control characters but tab, newline and carriage return: VP's
        // parser refuses them (VP015), where reading on would make a NUL in an address VP004.
        // Only what is read up to the first body child is looked at, as in VP.
        if let Some(c) = text
            .chars()
            .find(|&c| u32::from(c) < 0x20 && !is_xml_space(c))
        {
            // The character itself is in the body from `start` on (a reference to one is
            // refused before it gets here).
            let at = body
                .get(from..)
                .and_then(|rest| rest.iter().position(|&b| u32::from(b) == u32::from(c)))
                .map_or(from, |n| from + n);
            return Err(SniffError::at(body, at as u64, woodstox::illegal_char(c)));
        }
        if let Some((buf, _)) = self.capture.as_mut() {
            append(buf, text);
        }
        Ok(())
    }

    /// The end of the document, before any body child.
    fn eof(mut self, body: &'a [u8]) -> Result<SniffedRef<'a>, SniffError> {
        if !self.open.is_empty() {
            let name = self.open_name(body).unwrap_or("?");
            let msg = format!("Unexpected EOF; was expecting a close tag for element <{name}>");
            return Err(SniffError::at_end(body, msg));
        }
        if !self.root_seen {
            return Err(SniffError::at_end(body, "Unexpected EOF in prolog"));
        }
        Ok(std::mem::take(&mut self.out))
    }
}

/// The full read: quick-xml's reader, with its well-formedness checks and messages.
fn full_read(body: &[u8]) -> Result<SniffedRef<'_>, SniffError> {
    let mut reader = Reader::from_reader(body);
    let mut walk = Walk::default();
    // Where the XML declaration is, read again only to explain an encoding error.
    let mut declaration: Option<(usize, usize)> = None;
    loop {
        let start = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(x) => x,
            Err(e) => return Err(reader_error(body, &reader, &e, declaration)),
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let name = e.name().into_inner();
                check_name(body, start, name)?;
                let Some(tag) = start_tag(body, start, reader.buffer_position(), empty) else {
                    let msg = format!("The start tag of `{name}` could not be read.");
                    return Err(SniffError::at(body, start, msg));
                };
                let (tag, at) = tag;
                let name = &tag[..name.len()];
                let depth = walk.depth();
                read_attributes(body, start, name, tag, &mut walk.namespaces, depth)?;
                let close = offset_of(reader.buffer_position()).saturating_sub(1);
                if let Some(done) = walk.start(body, (at, close), name, empty)? {
                    return Ok(done);
                }
            }
            Event::End(_) => {
                if let Some(done) = walk.end() {
                    return Ok(done);
                }
            }
            Event::Text(t) => walk.text(body, start, t.xml10_content(), TextKind::Text)?,
            Event::CData(t) => walk.text(body, start, t.xml10_content(), TextKind::CData)?,
            Event::GeneralRef(r) => {
                let Some(text) = ref_text(&r) else {
                    // Woodstox finds out at the `;`.
                    let semicolon = reader.buffer_position().saturating_sub(1);
                    return Err(SniffError::at(body, semicolon, reference_error(&r)));
                };
                walk.text(body, start, text, TextKind::Reference)?;
            }
            Event::Decl(_) if start == 0 => {
                declaration = Some((offset_of(start), offset_of(reader.buffer_position())));
            }
            // An XML declaration anywhere but at the very start (even after whitespace) is a
            // processing instruction with the reserved target `xml`, as Woodstox reads it.
            Event::Decl(_) => return Err(reserved_target(body, start, "xml")),
            Event::PI(ref pi) if pi.target().eq_ignore_ascii_case("xml") => {
                return Err(reserved_target(body, start, pi.target()));
            }
            Event::Eof => return walk.eof(body),
            Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
}

/// Woodstox's message for a processing instruction `<?xml …?>` (any case) that is not the XML
/// declaration at the start of the document, at the last character of its target.
fn reserved_target(body: &[u8], start: u64, target: &str) -> SniffError {
    let msg = format!(
        "Illegal processing instruction target (\"{target}\"); 'xml' (case insensitive) is reserved by the specs."
    );
    SniffError::at(body, start + 1 + target.len() as u64, msg)
}

/// Woodstox's message for a reference that names no character XML allows or no entity XML
/// predefines (VP's parser knows no DTD entities either).
fn reference_error(r: &quick_xml::events::BytesRef<'_>) -> String {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => format!(
                "Illegal character entity: expansion character (code 0x{:x}) not a valid XML character",
                u32::from(c)
            ),
            _ => format!(
                "Illegal character entity: invalid character reference \"&{};\"",
                r.xml10_content()
            ),
        };
    }
    format!("Undeclared general entity \"{}\"", r.xml10_content())
}

/// The scanner of plain markup behind [`sniff_ref`]'s usual path. It accepts only what it is
/// sure the full read reads the same way, and says `None` for everything else.
mod plain {
    use std::{borrow::Cow, sync::LazyLock};

    use memchr::memmem::Finder;
    use smallvec::SmallVec;

    use super::{Namespaces, SniffedRef, TextKind, Walk};

    static COMMENT_END: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("-->"));
    static PI_END: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("?>"));

    /// XML's whitespace.
    fn is_space(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\r' | b'\n')
    }

    /// The name characters of the plain subset (ASCII letters, digits, `_`, `-`, `.`, `:`),
    /// as a table: names are most of the bytes the scanner looks at one by one.
    static NAME: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            table[b] = c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':');
            b += 1;
        }
        table
    };

    fn is_name(b: u8) -> bool {
        NAME[usize::from(b)]
    }

    /// The length of the name at the start of `bytes`.
    fn name_len(bytes: &[u8]) -> usize {
        bytes
            .iter()
            .position(|&b| !is_name(b))
            .unwrap_or(bytes.len())
    }

    /// Whether an element name is plain: not starting with a digit, `-`, `.` or `:`, and at
    /// most one colon, between a prefix and a local part that are not empty.
    fn plain_element_name(name: &[u8]) -> bool {
        let Some(&first) = name.first() else {
            return false;
        };
        if first.is_ascii_digit() || matches!(first, b'-' | b'.' | b':') {
            return false;
        }
        match name.iter().position(|&b| b == b':') {
            None => true,
            Some(colon) => colon + 1 < name.len() && !name[colon + 1..].contains(&b':'),
        }
    }

    /// Line ends as an XML 1.0 parser passes them on (`\r\n` and `\r` become `\n`), as
    /// quick-xml's text content has them.
    fn xml10_line_ends(text: &str) -> String {
        text.replace("\r\n", "\n").replace('\r', "\n")
    }

    /// Reads a start tag's attributes, `(S+ name S* = S* "value")* S*` with values free of
    /// `<`, checks them for duplicates and takes namespace declarations into scope (their
    /// values as written, as quick-xml's resolver takes them).
    fn attributes<'a>(text: &'a str, namespaces: &mut Namespaces<'a>, depth: usize) -> Option<()> {
        let b = text.as_bytes();
        let mut seen: SmallVec<[&str; 8]> = SmallVec::new();
        let mut i = 0;
        loop {
            let spaces = i;
            while b.get(i).copied().is_some_and(is_space) {
                i += 1;
            }
            if i == b.len() {
                return Some(());
            }
            if i == spaces {
                return None;
            }
            let key_start = i;
            i += name_len(&b[i..]);
            if i == key_start {
                return None;
            }
            let key = &text[key_start..i];
            while b.get(i).copied().is_some_and(is_space) {
                i += 1;
            }
            if b.get(i) != Some(&b'=') {
                return None;
            }
            i += 1;
            while b.get(i).copied().is_some_and(is_space) {
                i += 1;
            }
            let quote = *b.get(i).filter(|&&q| q == b'"' || q == b'\'')?;
            let value_start = i + 1;
            let value_end = value_start + memchr::memchr(quote, &b[value_start..])?;
            let value = &text[value_start..value_end];
            i = value_end + 1;
            // Many attributes, or the same one twice: the full read decides.
            if seen.len() == 8 || seen.contains(&key) {
                return None;
            }
            seen.push(key);
            let prefix = match key.strip_prefix("xmlns") {
                Some("") => None,
                Some(named) => match named.strip_prefix(':') {
                    Some(p) if !p.is_empty() => Some(p),
                    Some(_) => return None,
                    None => continue,
                },
                None => continue,
            };
            namespaces
                .declare(prefix, Cow::Borrowed(value), depth)
                .ok()?;
        }
    }

    pub(super) fn sniff(body: &[u8]) -> Option<SniffedRef<'_>> {
        let mut walk = Walk::default();
        let mut pos = 0;
        loop {
            let Some(&first) = body.get(pos) else {
                return walk.eof(body).ok();
            };
            if first != b'<' {
                // Whitespace between tags (most character data here): nothing to read unless
                // it is the address being captured.
                let blank = body[pos..].iter().position(|&b| !is_space(b));
                let blank_end = blank.map_or(body.len(), |n| pos + n);
                if walk.capture.is_none() && body.get(blank_end).is_none_or(|&b| b == b'<') {
                    pos = blank_end;
                    continue;
                }
                // Character data: without references, valid UTF-8.
                let mut end = pos;
                let mut carriage_return = false;
                loop {
                    match memchr::memchr3(b'<', b'&', b'\r', &body[end..]) {
                        None => break end = body.len(),
                        Some(n) => match body[end + n] {
                            b'<' => break end += n,
                            b'&' => return None,
                            _ => {
                                carriage_return = true;
                                end += n + 1;
                            }
                        },
                    }
                }
                let text = std::str::from_utf8(&body[pos..end]).ok()?;
                let text = if carriage_return {
                    Cow::Owned(xml10_line_ends(text))
                } else {
                    Cow::Borrowed(text)
                };
                walk.text(body, pos as u64, text, TextKind::Text).ok()?;
                pos = end;
                continue;
            }
            let rest = &body[pos..];
            if rest.starts_with(b"<!--") {
                let end = COMMENT_END.find(&rest[4..])? + 4;
                std::str::from_utf8(&rest[4..end]).ok()?;
                pos += end + 3;
            } else if rest.starts_with(b"<?") {
                // Only the XML declaration, only at the start.
                if pos != 0
                    || !rest.starts_with(b"<?xml")
                    || !rest.get(5).copied().is_some_and(is_space)
                {
                    return None;
                }
                let end = PI_END.find(rest)?;
                let decl = &rest[2..end];
                if !decl.is_ascii() || memchr::memchr2(b'<', b'>', decl).is_some() {
                    return None;
                }
                pos += end + 2;
            } else if rest.starts_with(b"</") {
                let len = name_len(&rest[2..]);
                let mut end = 2 + len;
                while rest.get(end).copied().is_some_and(is_space) {
                    end += 1;
                }
                if rest.get(end) != Some(&b'>') || walk.open_name_bytes(body)? != &rest[2..2 + len]
                {
                    return None;
                }
                if let Some(done) = walk.end() {
                    return Some(done);
                }
                pos += end + 1;
            } else {
                // A start tag; `>` inside a quoted value does not end it.
                let mut i = 1;
                let gt = loop {
                    i += memchr::memchr3(b'>', b'"', b'\'', &rest[i..])?;
                    match rest[i] {
                        b'>' => break i,
                        quote => i += 1 + memchr::memchr(quote, &rest[i + 1..])? + 1,
                    }
                };
                let empty = rest[gt - 1] == b'/';
                let inner = &rest[1..if empty { gt - 1 } else { gt }];
                if memchr::memchr(b'<', inner).is_some() {
                    return None;
                }
                let tag = std::str::from_utf8(inner).ok()?;
                let len = name_len(inner);
                if !plain_element_name(&inner[..len]) {
                    return None;
                }
                let depth = walk.depth();
                attributes(&tag[len..], &mut walk.namespaces, depth)?;
                let started = walk.start(body, (pos + 1, pos + gt), &tag[..len], empty);
                if let Some(done) = started.ok()? {
                    return Some(done);
                }
                pos += gt + 1;
            }
        }
    }
}

/// Checks what quick-xml leaves to the caller about a tag name.
fn check_name(body: &[u8], start: u64, name: &str) -> Result<(), SniffError> {
    let bad_first = |c: char| c.is_ascii_digit() || matches!(c, '-' | '.' | ':');
    if name.is_empty() || name.starts_with(bad_first) {
        // Woodstox reads `<` and then expects a name start character.
        let c = char_at(body, offset_of(start) + 1);
        let msg = woodstox::unexpected_char(c, " in content after '<' (malformed start element?).");
        return Err(SniffError::at(body, start + 1, msg));
    }
    Ok(())
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

/// The text between `<` and `>` (or `/>`) of the start tag the reader just read between
/// `start` and `end`, borrowed from the body, and where it begins. `None` only if the reader's
/// positions do not frame a tag, which they always do.
fn start_tag(body: &[u8], start: u64, end: u64, empty: bool) -> Option<(&str, usize)> {
    let (start, end) = (offset_of(start), offset_of(end));
    let lt = start + memchr::memchr(b'<', body.get(start..end)?)?;
    let close = if empty { 2 } else { 1 };
    let text = body.get(lt + 1..end.checked_sub(close)?)?;
    Some((std::str::from_utf8(text).ok()?, lt + 1))
}

/// Checks a start tag's attributes as quick-xml leaves it to the caller (well-formed, no
/// duplicates) and takes its namespace declarations into scope, in one pass. `tag` is the
/// text between `<` and `>`, beginning with `name`.
fn read_attributes<'a>(
    body: &[u8],
    start: u64,
    name: &str,
    tag: &'a str,
    namespaces: &mut Namespaces<'a>,
    depth: usize,
) -> Result<(), SniffError> {
    let mut attributes = Attributes::new(tag, name.len());
    attributes.with_checks(false);
    // Names seen so far, for the duplicate check: a linear scan for the usual few, a set past
    // that (so a tag of a million attributes costs a million steps, not a million squared).
    let mut seen: SmallVec<[&str; 8]> = SmallVec::new();
    let mut many: Option<HashSet<&str, foldhash::fast::RandomState>> = None;
    for attr in attributes {
        let attr = match attr {
            Ok(a) => a,
            Err(err) => {
                // quick-xml's own check would have found a duplicated name before its value.
                let err = match err {
                    AttrError::ExpectedValue(p)
                    | AttrError::UnquotedValue(p)
                    | AttrError::ExpectedQuote(p, _) => key_before(tag, p)
                        .filter(|key| match &many {
                            Some(set) => set.contains(key),
                            None => seen.contains(key),
                        })
                        .map_or(err, |key| {
                            let at = offset_in(tag, key);
                            AttrError::Duplicated(at, at)
                        }),
                    other => other,
                };
                return Err(attribute_error(body, start, tag, err));
            }
        };
        let key = attr.key.into_inner();
        let duplicate = match many.as_mut() {
            Some(set) => !set.insert(key),
            None => {
                let found = seen.contains(&key);
                seen.push(key);
                if seen.len() > 8 {
                    many = Some(seen.drain(..).collect());
                }
                found
            }
        };
        if duplicate {
            let at = offset_in(tag, key);
            return Err(attribute_error(
                body,
                start,
                tag,
                AttrError::Duplicated(at, at),
            ));
        }
        if let Some(binding) = attr.key.as_namespace_binding() {
            let prefix = match binding {
                PrefixDeclaration::Default => None,
                PrefixDeclaration::Named(p) => Some(p),
            };
            namespaces
                .declare(prefix, attr.value, depth)
                .map_err(|err| SniffError::at(body, start, namespace_error(err)))?;
        }
    }
    Ok(())
}

/// The attribute name before the `=` that precedes position `p` of a tag's text.
fn key_before(text: &str, p: usize) -> Option<&str> {
    let eq = text.get(..p)?.rfind('=')?;
    let before = text[..eq].trim_end_matches(|c: char| c.is_ascii_whitespace());
    before
        .rsplit(|c: char| c.is_ascii_whitespace())
        .next()
        .filter(|key| !key.is_empty())
}

/// Where `part` (a slice of `text`) begins in it.
fn offset_in(text: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

/// An attribute error as VP015's details, in Woodstox's words, at the character Woodstox
/// stops at. `tag` is the text between `<` and `>`; positions in the error count from its
/// start (the character after `<`).
fn attribute_error(body: &[u8], start: u64, tag: &str, err: AttrError) -> SniffError {
    let (pos, suffix) = match err {
        AttrError::ExpectedEq(p) => (p, " expected '='"),
        AttrError::ExpectedValue(p) | AttrError::UnquotedValue(p) => {
            (p, " in start tag Expected a quote")
        }
        AttrError::ExpectedQuote(p, _) => (p, " in attribute value"),
        AttrError::Duplicated(p, _) => {
            let key = tag
                .get(p..)
                .and_then(|rest| rest.split(['=', ' ', '\t', '\r', '\n']).next())
                .unwrap_or_default();
            let msg = format!("Duplicate attribute '{key}'.");
            return SniffError::at(body, start + 1 + p as u64, msg);
        }
    };
    let at = offset_of(start) + 1 + pos;
    let msg = woodstox::unexpected_char(char_at(body, at), suffix);
    SniffError::at(body, at as u64, msg)
}

/// A namespace declaration the Namespaces in XML recommendation forbids, in Woodstox's words.
fn namespace_error(err: NamespaceError) -> String {
    match err {
        NamespaceError::InvalidXmlPrefixBind(uri) => {
            format!("Trying to redeclare prefix 'xml' from its default URI '{XML_NS}' to \"{uri}\"")
        }
        NamespaceError::InvalidXmlnsPrefixBind(_) => {
            "Trying to declare prefix 'xmlns' (illegal as per NS 1.1 #4)".to_owned()
        }
        NamespaceError::InvalidPrefixForXml(p) => {
            format!("Trying to bind URI '{XML_NS}' to prefix \"{p}\" (can only bind to 'xml')")
        }
        NamespaceError::InvalidPrefixForXmlns(p) => format!(
            "Trying to bind URI '{XMLNS_NS}' to prefix \"{p}\" (can not be explicitly bound)"
        ),
        // The testbed's own bound (Woodstox has none this low): says which one.
        NamespaceError::TooManyBindings(n) => {
            format!("More than {n} namespace declarations in scope at once")
        }
        other => format!("{}", XmlError::Namespace(other)),
    }
}

/// Turns a quick-xml error into VP015's details: Woodstox's message at Woodstox's place.
fn reader_error(
    body: &[u8],
    reader: &Reader<&[u8]>,
    e: &XmlError,
    declaration: Option<(usize, usize)>,
) -> SniffError {
    let at = reader.error_position();
    match e {
        XmlError::Encoding(_) => encoding_error(body, declaration),
        XmlError::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            let found = found.split(is_xml_space).next().unwrap_or_default();
            // Woodstox reads the end tag's whole name before it reports it: the place is the
            // name's last character (`<` `/` and the name from the error position).
            let last = at + 2 + found.len().saturating_sub(1) as u64;
            let msg = format!("Unexpected close tag </{found}>; expected </{expected}>.");
            SniffError::at(body, last, msg)
        }
        XmlError::IllFormed(IllFormedError::UnmatchedEndTag(found)) => {
            let last = at + 2 + found.len().saturating_sub(1) as u64;
            let msg = format!("Unbalanced close tag </{found}>; no open start tag.");
            SniffError::at(body, last, msg)
        }
        XmlError::IllFormed(IllFormedError::MissingEndTag(name)) => SniffError::at_end(
            body,
            format!("Unexpected EOF; was expecting a close tag for element <{name}>"),
        ),
        XmlError::IllFormed(IllFormedError::DoubleHyphenInComment) => {
            // The character after `--` (Woodstox reads it to see that it is not `>`).
            let from = offset_of(at) + 4;
            let after = body
                .get(from..)
                .and_then(|rest| rest.windows(2).position(|w| w == b"--"))
                .map_or(from, |n| from + n + 2);
            SniffError::at(
                body,
                after as u64,
                "String '--' not allowed in comment (missing '>'?)",
            )
        }
        XmlError::IllFormed(IllFormedError::UnclosedReference) => {
            // `&` not followed by a name and `;`: Woodstox stops at the first character that
            // cannot be in the reference.
            let from = offset_of(at) + 1;
            let stop = body
                .get(from..)
                .and_then(|rest| {
                    rest.iter().position(|&b| {
                        !(b.is_ascii_alphanumeric()
                            || matches!(b, b'#' | b'_' | b'-' | b'.' | b':'))
                    })
                })
                .map_or(body.len(), |n| from + n);
            let msg = if stop == from {
                woodstox::unexpected_char(char_at(body, stop), " (expected a name start character)")
            } else {
                woodstox::unexpected_char(
                    char_at(body, stop),
                    "; expected a semi-colon after the reference",
                )
            };
            SniffError::at(body, stop as u64, msg)
        }
        XmlError::Syntax(syntax) => {
            let within = match syntax {
                SyntaxError::InvalidBangMarkup => {
                    let c = char_at(body, offset_of(at) + 2);
                    let msg = woodstox::unexpected_char(c, " after '<!' (malformed comment?)");
                    return SniffError::at(body, at + 2, msg);
                }
                SyntaxError::UnclosedTag if body.get(offset_of(at) + 1) == Some(&b'/') => {
                    " in end tag"
                }
                SyntaxError::UnclosedTag => " in start tag",
                SyntaxError::UnclosedPI => " in processing instruction",
                SyntaxError::UnclosedXmlDecl => " in xml declaration",
                SyntaxError::UnclosedComment => " in comment",
                SyntaxError::UnclosedDoctype => " in DOCTYPE declaration",
                SyntaxError::UnclosedCData => " in CDATA section",
                SyntaxError::UnclosedSingleQuotedAttributeValue
                | SyntaxError::UnclosedDoubleQuotedAttributeValue => " in attribute value",
            };
            SniffError::at_end(body, format!("Unexpected EOF{within}"))
        }
        other => {
            let text = other.to_string();
            SniffError::at(body, at, text.trim_end_matches('.'))
        }
    }
}

/// A body that is not UTF-8. (Woodstox would read a body declared in another encoding; see
/// README's "Where this deviates".) The message names the declared encoding.
fn encoding_error(body: &[u8], declaration: Option<(usize, usize)>) -> SniffError {
    let declared = declaration
        .and_then(|(start, end)| body.get(start..end))
        .and_then(|text| match Reader::from_reader(text).read_event() {
            Ok(Event::Decl(d)) => d.encoding().and_then(Result::ok).map(Cow::into_owned),
            _ => None,
        });
    let offset = std::str::from_utf8(body)
        .err()
        .map_or(0, |u| u.valid_up_to());
    // Woodstox names the first byte that cannot be where it is: a lead byte is fine, and then
    // a byte after it is not.
    let lead = body.get(offset).copied().unwrap_or_default();
    let width = match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    };
    let middle = (1..width)
        .map(|i| offset + i)
        .find(|&i| body.get(i).is_none_or(|b| b & 0xC0 != 0x80));
    let (kind, offset) = match middle {
        Some(i) => ("middle", i.min(body.len())),
        None => ("start", offset),
    };
    let byte = body.get(offset).copied().unwrap_or_default();
    let declared = match declared.as_deref() {
        Some(enc) if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") => {
            format!(" (declared encoding {enc} is not supported: send UTF-8)")
        }
        _ => String::new(),
    };
    let msg = format!("Invalid UTF-8 {kind} byte 0x{byte:x}{declared}");
    SniffError::at(body, offset as u64, msg)
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

    use crate::contract::RESPONDER_NS as NS;

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
    fn control_characters_before_the_first_body_child_are_refused() {
        for (header, code) in [
            ("<LogicalAddress>0\u{0}1</LogicalAddress>", 0),
            ("<LogicalAddress>\u{1}</LogicalAddress>", 1),
            ("<LogicalAddress><![CDATA[0\u{1f}1]]></LogicalAddress>", 31),
            ("<LogicalAddress>01</LogicalAddress>\u{7}", 7),
        ] {
            let e = sniff(envelope(header, &op()).as_bytes()).unwrap_err();
            let says = if code == 0 {
                "Illegal character (NULL, unicode 0) encountered: not valid in any content\n"
                    .to_owned()
            } else {
                format!("Illegal character ((CTRL-CHAR, code {code}))\n")
            };
            assert!(e.to_string().starts_with(&says), "{header:?}: {e}");
        }
        // A literal NUL is at its own column.
        let e = sniff(envelope("<LogicalAddress>0\u{0}1</LogicalAddress>", &op()).as_bytes())
            .unwrap_err();
        let body = envelope("<LogicalAddress>0\u{0}1</LogicalAddress>", &op());
        let col = body.find('\u{0}').unwrap() + 1;
        assert!(e.to_string().ends_with(&format!("[1,{col}]")), "{e}");
        // &#0; is not a character XML allows either.
        assert!(
            sniff(envelope("<LogicalAddress>&#0;</LogicalAddress>", &op()).as_bytes()).is_err()
        );
        // Tab, newline and carriage return are text, and after the first body child nothing is
        // looked at.
        let s = sniff(envelope("<LogicalAddress>0\t1</LogicalAddress>", &op()).as_bytes()).unwrap();
        assert_eq!(s.logical_address.as_deref(), Some("0\t1"));
        let after = format!("{}\u{0}", op());
        assert!(sniff(envelope("<LogicalAddress>01</LogicalAddress>", &after).as_bytes()).is_ok());
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

    /// VP015's details are Woodstox's message and place: one case for each mapped message.
    #[test]
    fn malformed_xml_is_described_as_woodstox_describes_it() {
        let at = |r: usize, c: usize| format!("\n at [row,col {{unknown-source}}]: [{r},{c}]");
        let cases: Vec<(&str, String)> = vec![
            // The issue's example: an attribute without `=`; the place is the `s`.
            (
                "<felaktigt format soapenv:Envelope xmlns:soapenv=\"x\">",
                format!(
                    "Unexpected character 's' (code 115) expected '='{}",
                    at(1, 19)
                ),
            ),
            (
                "<soapenv:Envelope s xmlns:soapenv=\"x\"/>",
                format!(
                    "Unexpected character 'x' (code 120) expected '='{}",
                    at(1, 21)
                ),
            ),
            (
                "<a b/>",
                format!(
                    "Unexpected character '/' (code 47) expected '='{}",
                    at(1, 5)
                ),
            ),
            (
                "<a x=1/>",
                format!(
                    "Unexpected character '1' (code 49) in start tag Expected a quote{}",
                    at(1, 6)
                ),
            ),
            (
                "x<a/>",
                format!(
                    "Unexpected character 'x' (code 120) in prolog; expected '<'{}",
                    at(1, 1)
                ),
            ),
            (
                "  \n  hello",
                format!(
                    "Unexpected character 'h' (code 104) in prolog; expected '<'{}",
                    at(2, 3)
                ),
            ),
            (
                "<a/>x",
                format!(
                    "Unexpected character 'x' (code 120) in epilog; expected '<'{}",
                    at(1, 5)
                ),
            ),
            // End of input: the place is the last character read.
            ("", format!("Unexpected EOF in prolog{}", at(1, 0))),
            (" \r\n", format!("Unexpected EOF in prolog{}", at(2, 0))),
            (
                "<!-- c -->",
                format!("Unexpected EOF in prolog{}", at(1, 10)),
            ),
            (
                "<s:Envelope xmlns:s=\"x\"><s:Body>",
                format!(
                    "Unexpected EOF; was expecting a close tag for element <s:Body>{}",
                    at(1, 32)
                ),
            ),
            (
                "<a><b>",
                format!(
                    "Unexpected EOF; was expecting a close tag for element <b>{}",
                    at(1, 6)
                ),
            ),
            // Mismatched end tags: the place is the last character of the name read.
            (
                "<a>\n  <b></a>",
                format!("Unexpected close tag </a>; expected </b>.{}", at(2, 8)),
            ),
            (
                "<a></ab>",
                format!("Unexpected close tag </ab>; expected </a>.{}", at(1, 7)),
            ),
            (
                "<a/></b>",
                format!("Unbalanced close tag </b>; no open start tag.{}", at(1, 7)),
            ),
            (
                "<a/><b/>",
                format!(
                    "Illegal to have multiple roots (start tag in epilog?).{}",
                    at(1, 6)
                ),
            ),
            (
                "<a>&nbsp;</a>",
                format!("Undeclared general entity \"nbsp\"{}", at(1, 9)),
            ),
            (
                "<a>x < y</a>",
                format!(
                    "Unexpected character ' ' (code 32) in content after '<' (malformed start element?).{}",
                    at(1, 7)
                ),
            ),
            (
                "<p:a/>",
                format!("Undeclared namespace prefix \"p\"{}", at(1, 6)),
            ),
            ("<a", format!("Unexpected EOF in start tag{}", at(1, 2))),
            ("<a></a", format!("Unexpected EOF in end tag{}", at(1, 6))),
            (
                "<a><!-- x",
                format!("Unexpected EOF in comment{}", at(1, 9)),
            ),
            (
                " <?xml version=\"1.0\"?><a/>",
                format!(
                    "Illegal processing instruction target (\"xml\"); 'xml' (case insensitive) is reserved by the specs.{}",
                    at(1, 6)
                ),
            ),
            (
                "<a>\u{1}</a>",
                format!("Illegal character ((CTRL-CHAR, code 1)){}", at(1, 4)),
            ),
        ];
        for (bad, expected) in cases {
            let err = sniff(bad.as_bytes()).unwrap_err().to_string();
            assert_eq!(err, expected, "{bad:?}");
            // The scanner and the full read agree (the scanner gives up on every error).
            assert_eq!(
                sniff_ref_full(bad.as_bytes()).unwrap_err().to_string(),
                expected
            );
        }
        // Characters outside the Basic Multilingual Plane take two columns, as Java's chars.
        let err = sniff("<a>😀</b>".as_bytes()).unwrap_err().to_string();
        assert!(err.ends_with(&at(1, 8)), "{err}");
    }

    #[test]
    fn namespaces_are_scoped_as_a_namespace_aware_parser_scopes_them() {
        let contract = |body: &str| {
            let xml = format!(
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><p:x xmlns:p="urn:header-only"/></s:Header>{body}</s:Envelope>"#
            );
            sniff(xml.as_bytes()).map(|s| s.contract)
        };
        // The innermost declaration wins; the body child's own declaration counts.
        assert_eq!(
            contract(r#"<s:Body xmlns:p="urn:outer"><p:Op xmlns:p="urn:inner"/></s:Body>"#),
            Ok(Some("urn:inner".to_owned()))
        );
        assert_eq!(
            contract(r#"<s:Body xmlns="urn:default"><Op/></s:Body>"#),
            Ok(Some("urn:default".to_owned()))
        );
        // xmlns="" takes the default namespace away again.
        assert_eq!(
            contract(r#"<s:Body xmlns="urn:default"><Op xmlns=""/></s:Body>"#),
            Ok(Some(String::new()))
        );
        // A declaration ends with its element; xmlns:p="" undeclares.
        for body in [
            r#"<s:Body><p:Op/></s:Body>"#,
            r#"<s:Body xmlns:p="urn:x"><p:Op xmlns:p=""/></s:Body>"#,
        ] {
            let err = contract(body).unwrap_err().to_string();
            assert!(
                err.starts_with(
                    "Undeclared namespace prefix \"p\"\n at [row,col {unknown-source}]: [1,"
                ),
                "{err}"
            );
        }
        assert_eq!(
            contract(r#"<s:Body><xml:Op/></s:Body>"#),
            Ok(Some("http://www.w3.org/XML/1998/namespace".to_owned()))
        );
        for (body, says) in [
            (
                r#"<s:Body xmlns:xml="urn:x"/>"#,
                "Trying to redeclare prefix 'xml' from its default URI 'http://www.w3.org/XML/1998/namespace' to \"urn:x\"",
            ),
            (
                r#"<s:Body xmlns:xmlns="urn:x"/>"#,
                "Trying to declare prefix 'xmlns' (illegal as per NS 1.1 #4)",
            ),
            (
                r#"<s:Body xmlns:p="http://www.w3.org/2000/xmlns/"/>"#,
                "Trying to bind URI 'http://www.w3.org/2000/xmlns/' to prefix \"p\" (can not be explicitly bound)",
            ),
        ] {
            let err = contract(body).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("{says}\n at [row,col {{unknown-source}}]: [1,")),
                "{err}"
            );
        }
    }

    #[test]
    fn duplicated_attributes_are_found_in_tags_of_any_size() {
        let many: String = (0..1000).map(|i| format!(" a{i}=\"{i}\"")).collect();
        assert!(sniff(format!("<r{many}/>").as_bytes()).is_ok());
        for dup in [" a3=\"x\"", " a999=\"x\""] {
            let err = sniff(format!("<r{many}{dup}/>").as_bytes())
                .unwrap_err()
                .to_string();
            let key = dup.trim().split('=').next().unwrap();
            assert!(
                err.starts_with(&format!("Duplicate attribute '{key}'.\n")),
                "{err}"
            );
        }
        // A duplicated name is reported before its broken value, as the parser reads them.
        let err = sniff(b"<r a=\"1\" a=b/>").unwrap_err().to_string();
        assert_eq!(
            err,
            "Duplicate attribute 'a'.\n at [row,col {unknown-source}]: [1,10]"
        );
    }

    /// Every answer of the plain scanner is the full read's, over the fixtures and every
    /// truncation and one-byte change of their sniffed part.
    #[test]
    fn the_plain_scanner_answers_as_the_full_read_or_not_at_all() {
        let mut docs: Vec<Vec<u8>> = vec![
            BP21.as_bytes().to_vec(),
            BP21.replace('\n', "\r\n").into_bytes(),
            include_bytes!("../../fixtures/requests/load/cervix.xml").to_vec(),
            include_bytes!("../../fixtures/requests/cervix-01-rivtabp20.xml").to_vec(),
        ];
        docs.push(envelope("<LogicalAddress>\r\n01\r</LogicalAddress>", &op()).into_bytes());
        let (mut plain_answers, mut checked) = (0, 0);
        let mut check = |doc: &[u8]| {
            checked += 1;
            if let Some(fast) = plain::sniff(doc) {
                plain_answers += 1;
                assert_eq!(
                    Ok(fast),
                    full_read(doc),
                    "{:?}",
                    String::from_utf8_lossy(doc)
                );
            }
        };
        for doc in &docs {
            let sniffed = doc.len().min(1200);
            for i in 0..sniffed {
                check(&doc[..i]);
                let mut m = doc.clone();
                m.remove(i);
                check(&m);
                for c in [b'<', b'>', b'"', b'=', b':', b'/', b' ', b'\r', b'&', b'x'] {
                    let mut m = doc.clone();
                    m[i] = c;
                    check(&m);
                }
            }
            check(doc);
        }
        assert!(plain_answers > 1000, "{plain_answers} of {checked}");
        // The usual requests, CRLF line ends included, never need the full read.
        for doc in &docs {
            assert!(
                plain::sniff(doc).is_some(),
                "{}",
                String::from_utf8_lossy(doc)
            );
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
        assert!(
            err.starts_with("Invalid UTF-8 middle byte 0x73 (declared encoding ISO-8859-1"),
            "{err}"
        );
        assert!(err.contains("[row,col {unknown-source}]: [2,"), "{err}");
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
