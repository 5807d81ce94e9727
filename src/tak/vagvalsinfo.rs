//! TAK as a router node receives it: the answers of SokVagvalsInfo v2's
//! `hamtaAllaVirtualiseringar` and `hamtaAllaAnropsBehorigheter` read into entries, the entries
//! built into a [`Snapshot`] the router looks up exactly as it looks up the order service's
//! published one, and VP's local TAK copy (takcache's `persistentCache` file) written and read
//! (vp.md §4.2, tak.md §3.1, §3.4).
//!
//! [`parse_routes`], [`parse_authorisations`] and [`parse_cache_file`] stream the bytes once
//! (quick-xml, linear in the input; the caller bounds the input, `cluster.max_tak_bytes`).
//! Elements are matched by namespace URI (`urn:skl:tp:vagvalsinfo:v2`) and local name, so any
//! prefix does; an entry's fields may come in any order; the entry element itself may be
//! qualified (as in SOAP answers) or not (as in `persistentCache`). Dates are xs:dateTime as
//! tak-services writes them (`2013-05-24T00:00:00.000`), with or without a zone (`Z`,
//! `+01:00`); only the date counts, as TAK's validity is whole days (VP compares instants;
//! tak-services writes local midnight, so the two agree for TAK's own rows; a row ending at
//! 14:25 is valid that whole day here). Texts are taken as written, untrimmed, as JAXB takes
//! them (ids and dates excepted). `filterInfo`
//! (an authorisation's filters) and any element we do not know are skipped: we have no
//! filters, and VP's takcache does not use them either. A SOAP Fault is an error carrying its
//! faultstring; every other error names the element, the entry (`virtualiseringsInfo[3]`,
//! 1-based) and, for unreadable XML, the byte position.
//!
//! [`build_snapshot`] makes the catalogue rows in time linear in the entries (hash maps for the
//! shared rows; sorting the answer's ids is the one O(n log n) step): one RIVTA profile per `rivProfil`, one contract per `tjansteKontrakt` (major
//! version from the namespace's last `:N`, else 0; minor 0), one logical address per
//! `receiverId`, one consumer component per `senderId`, and, since SokVagvalsInfo names no
//! producer, one synthetic producer component ([`SOURCE_PRODUCER`]) owning one call address
//! per (`adress`, `rivProfil`). Routes and authorisations keep the answer's ids when every id
//! of the list is a distinct positive integer; else they are numbered 1, 2, ... in answer order.
//!
//! [`write_cache_file`] writes the `persistentCache` XML as JAXB does (root unqualified, entry
//! fields in `ns2`), streamed into any `Write`; dates as local midnight (a time of day in the
//! answer is not kept). No IO of its own, no clock reads: the caller fetches, times and stores.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

use super::model::{
    Authorisation, CallAddress, Catalogue, Day, Id, LogicalAddress, RivtaProfile, Route, Row,
    RowState, ServiceComponent, ServiceContract, Text, Validity,
};
use super::readapi::{VAGVALSINFO_V2, format_date};
use super::snapshot::Snapshot;
use crate::soap::{escape_text, ref_text};
use crate::vocab::{SOAP11_NS, SOAP12_NS};

/// The HSA-id of the one producer component a built snapshot has: SokVagvalsInfo's
/// `virtualiseringsInfo` carries the call address and profile but not the producer.
pub const SOURCE_PRODUCER: &str = "SokVagvalsInfo";

/// A route (vägval) as `virtualiseringsInfo` carries it. Equal texts of one document share
/// one allocation (a contract namespace repeated a million times is held once), which the
/// built snapshot shares too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// `virtualiseringsInfoId` (TAK's row id as text; empty when absent).
    pub id: String,
    /// `receiverId`: the logical address.
    pub logical_address: Text,
    /// `rivProfil`.
    pub profile: Text,
    /// `tjansteKontrakt`: the contract's namespace.
    pub contract: Text,
    /// `fromTidpunkt` .. `tomTidpunkt`, as days.
    pub validity: Validity,
    /// `adress`: the producer URL (may be empty: the router answers VP010).
    pub url: Text,
}

/// An authorisation (anropsbehörighet) as `anropsBehorighetsInfo` carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorisationInfo {
    /// `anropsBehorighetsInfoId` (empty when absent).
    pub id: String,
    /// `receiverId`: the logical address.
    pub logical_address: Text,
    /// `senderId`: the consumer's HSA-id.
    pub consumer: Text,
    /// `tjansteKontrakt`.
    pub contract: Text,
    /// `fromTidpunkt` .. `tomTidpunkt`, as days.
    pub validity: Validity,
}

/// What a `persistentCache` file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheContents {
    /// The `virtualiseringsInfo` entries.
    pub routes: Vec<RouteInfo>,
    /// The `anropsBehorighetsInfo` entries.
    pub authorisations: Vec<AuthorisationInfo>,
}

/// Why an answer or a cache file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VagvalsinfoError {
    /// The answer is a SOAP Fault (its faultstring).
    #[error("SOAP Fault: {0}")]
    Fault(String),
    /// The document is not what was expected; the text names the element, the entry and
    /// the place.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(text: impl Into<String>) -> VagvalsinfoError {
    VagvalsinfoError::Invalid(text.into())
}

/// Reads a `hamtaAllaVirtualiseringarResponse` SOAP answer.
pub fn parse_routes(bytes: &[u8]) -> Result<Vec<RouteInfo>, VagvalsinfoError> {
    let mut out = CacheContents::default();
    parse(bytes, Expect::Answer(Kind::Route), &mut out)?;
    Ok(out.routes)
}

/// Reads a `hamtaAllaAnropsBehorigheterResponse` SOAP answer.
pub fn parse_authorisations(bytes: &[u8]) -> Result<Vec<AuthorisationInfo>, VagvalsinfoError> {
    let mut out = CacheContents::default();
    parse(bytes, Expect::Answer(Kind::Authorisation), &mut out)?;
    Ok(out.authorisations)
}

/// Reads a `persistentCache` file (VP's local TAK copy).
pub fn parse_cache_file(bytes: &[u8]) -> Result<CacheContents, VagvalsinfoError> {
    let mut out = CacheContents::default();
    parse(bytes, Expect::CacheFile, &mut out)?;
    Ok(out)
}

/// Which entry element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Route,
    Authorisation,
}

impl Kind {
    fn element(self) -> &'static str {
        match self {
            Kind::Route => "virtualiseringsInfo",
            Kind::Authorisation => "anropsBehorighetsInfo",
        }
    }

    fn response(self) -> &'static str {
        match self {
            Kind::Route => "hamtaAllaVirtualiseringarResponse",
            Kind::Authorisation => "hamtaAllaAnropsBehorigheterResponse",
        }
    }

    fn of(local: &str) -> Option<Kind> {
        match local {
            "virtualiseringsInfo" => Some(Kind::Route),
            "anropsBehorighetsInfo" => Some(Kind::Authorisation),
            _ => None,
        }
    }
}

/// What document is expected.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Answer(Kind),
    CacheFile,
}

/// An element's namespace: the two this module matches without allocating, any other kept
/// for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ns {
    None,
    Vagvalsinfo,
    Soap(&'static str),
    Other(String),
}

impl Ns {
    fn of(ns: &ResolveResult<'_>) -> Ns {
        match ns {
            ResolveResult::Bound(Namespace(VAGVALSINFO_V2)) => Ns::Vagvalsinfo,
            ResolveResult::Bound(Namespace(SOAP11_NS)) => Ns::Soap(SOAP11_NS),
            ResolveResult::Bound(Namespace(SOAP12_NS)) => Ns::Soap(SOAP12_NS),
            ResolveResult::Bound(Namespace(other)) => Ns::Other(other.to_string()),
            _ => Ns::None,
        }
    }

    fn is_soap(&self) -> bool {
        matches!(self, Ns::Soap(_))
    }

    fn is_vagvalsinfo(&self) -> bool {
        *self == Ns::Vagvalsinfo
    }

    /// `{namespace}local`, or `local` without a namespace.
    fn name(&self, local: &str) -> String {
        match self {
            Ns::None => local.to_string(),
            Ns::Vagvalsinfo => format!("{{{VAGVALSINFO_V2}}}{local}"),
            Ns::Soap(ns) => format!("{{{ns}}}{local}"),
            Ns::Other(ns) => format!("{{{ns}}}{local}"),
        }
    }
}

/// Where the reader is, written only for an error message (`in virtualiseringsInfo[3]`).
type Place<'p> = &'p dyn Fn() -> String;

/// The streaming reader and where it is, for messages.
struct Walk<'a> {
    reader: NsReader<&'a [u8]>,
    /// Entries read so far per kind, for naming the current one.
    routes: usize,
    authorisations: usize,
    /// The texts read so far, each once.
    texts: HashSet<Text>,
}

impl<'a> Walk<'a> {
    fn xml_error(&self, e: impl std::fmt::Display, place: Place<'_>) -> VagvalsinfoError {
        invalid(format!(
            "unreadable XML at byte {} {}: {e}",
            self.reader.error_position(),
            place()
        ))
    }

    /// The next event with its element's namespace; `place` names where we are.
    fn next(&mut self, place: Place<'_>) -> Result<(Ns, Event<'a>), VagvalsinfoError> {
        match self.reader.read_resolved_event() {
            Ok((ns, event)) => Ok((Ns::of(&ns), event)),
            Err(e) => Err(self.xml_error(e, place)),
        }
    }

    /// Skips the element whose start tag was just read.
    fn skip(
        &mut self,
        start: &quick_xml::events::BytesStart<'_>,
        place: Place<'_>,
    ) -> Result<(), VagvalsinfoError> {
        let end = start.to_end().into_owned();
        self.reader
            .read_to_end(end.name())
            .map(|_| ())
            .map_err(|e| self.xml_error(e, place))
    }

    /// The text of a leaf element whose start tag was just read, up to its end tag.
    fn leaf(&mut self, place: Place<'_>) -> Result<String, VagvalsinfoError> {
        let mut text = String::new();
        loop {
            let (_, event) = self.next(place)?;
            match event {
                Event::Text(t) => text.push_str(&t.xml10_content()),
                Event::CData(t) => text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => {
                    let resolved = ref_text(&r).ok_or_else(|| {
                        invalid(format!(
                            "{}: unknown entity or character reference &{};",
                            place(),
                            &*r
                        ))
                    })?;
                    text.push_str(&resolved);
                }
                Event::End(_) => return Ok(text),
                Event::Start(_) | Event::Empty(_) => {
                    return Err(invalid(format!(
                        "{}: has child elements, text expected",
                        place()
                    )));
                }
                Event::Eof => {
                    return Err(invalid(format!("{}: the document ends inside it", place())));
                }
                _ => {}
            }
        }
    }
}

fn parse(bytes: &[u8], expect: Expect, out: &mut CacheContents) -> Result<(), VagvalsinfoError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| invalid(format!("not UTF-8 at byte {}", e.valid_up_to())))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let reader = NsReader::from_str(text);
    let mut walk = Walk {
        reader,
        routes: 0,
        authorisations: 0,
        texts: HashSet::new(),
    };
    // The root element.
    let (ns, root) = loop {
        let (ns, event) = walk.next(&|| "before the root element".into())?;
        match event {
            Event::Start(e) => break (ns, e.into_owned()),
            Event::Empty(e) => {
                return Err(invalid(format!(
                    "the root element <{}> is empty",
                    ns.name(e.local_name().as_ref())
                )));
            }
            Event::Eof => return Err(invalid("empty document")),
            _ => {}
        }
    };
    let local = root.local_name();
    match expect {
        Expect::CacheFile => {
            if local.as_ref() != "persistentCache" {
                return Err(invalid(format!(
                    "the root element is <{}>, not <persistentCache>",
                    ns.name(local.as_ref())
                )));
            }
            entries(&mut walk, None, "persistentCache", out)
        }
        Expect::Answer(kind) => {
            if !(local.as_ref() == "Envelope" && ns.is_soap()) {
                return Err(invalid(format!(
                    "the root element is <{}>, not a SOAP Envelope",
                    ns.name(local.as_ref())
                )));
            }
            soap_body(&mut walk, kind, out)
        }
    }
}

/// Inside the Envelope: skips the Header, reads the Body's one element.
fn soap_body(
    walk: &mut Walk<'_>,
    kind: Kind,
    out: &mut CacheContents,
) -> Result<(), VagvalsinfoError> {
    // Up to the Body.
    loop {
        let (ns, event) = walk.next(&|| "in the SOAP Envelope".into())?;
        match event {
            Event::Start(e) if e.local_name().as_ref() == "Body" && ns.is_soap() => break,
            Event::Start(e) => walk.skip(&e, &|| "in the SOAP Header".into())?,
            Event::Empty(e) if e.local_name().as_ref() == "Body" => {
                return Err(invalid(format!(
                    "the SOAP Body is empty, expected <{}>",
                    kind.response()
                )));
            }
            Event::End(_) | Event::Eof => return Err(invalid("no SOAP Body")),
            _ => {}
        }
    }
    loop {
        let (ns, event) = walk.next(&|| "in the SOAP Body".into())?;
        let (e, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) | Event::Eof => {
                return Err(invalid(format!(
                    "the SOAP Body is empty, expected <{}>",
                    kind.response()
                )));
            }
            _ => continue,
        };
        let local = e.local_name();
        if local.as_ref() == "Fault" && ns.is_soap() {
            return Err(VagvalsinfoError::Fault(if empty {
                String::new()
            } else {
                fault_string(walk)?
            }));
        }
        if local.as_ref() != kind.response() || !ns.is_vagvalsinfo() {
            return Err(invalid(format!(
                "the SOAP Body holds <{}>, expected <{{{VAGVALSINFO_V2}}}{}>",
                ns.name(local.as_ref()),
                kind.response()
            )));
        }
        if empty {
            return Ok(());
        }
        return entries(walk, Some(kind), kind.response(), out);
    }
}

/// The faultstring of a SOAP 1.1 Fault (or the Reason text of a 1.2 one), its start tag read.
fn fault_string(walk: &mut Walk<'_>) -> Result<String, VagvalsinfoError> {
    let mut depth = 0usize;
    let mut found = None;
    loop {
        let (_, event) = walk.next(&|| "in the SOAP Fault".into())?;
        match event {
            Event::Start(e) => {
                let local = e.local_name();
                if found.is_none() && matches!(local.as_ref(), "faultstring" | "Text") {
                    found = Some(walk.leaf(&|| "in the SOAP Fault's faultstring".into())?);
                } else {
                    depth += 1;
                }
            }
            Event::End(_) if depth == 0 => return Ok(found.unwrap_or_default()),
            Event::End(_) => depth -= 1,
            Event::Eof => return Err(invalid("the document ends inside the SOAP Fault")),
            _ => {}
        }
    }
}

/// The children of the entries' parent (its start tag read) up to its end tag: entries of
/// `only` (or, for the cache file, of both kinds); anything else is skipped.
fn entries(
    walk: &mut Walk<'_>,
    only: Option<Kind>,
    parent: &str,
    out: &mut CacheContents,
) -> Result<(), VagvalsinfoError> {
    loop {
        let (r, a) = (out.routes.len(), out.authorisations.len());
        let place = || match (r, a) {
            (0, 0) => format!("in <{parent}>"),
            (r, a) => {
                format!("in <{parent}> after {r} virtualiseringsInfo and {a} anropsBehorighetsInfo")
            }
        };
        let (ns, event) = walk.next(&place)?;
        let (e, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => return Ok(()),
            Event::Eof => {
                return Err(invalid(format!(
                    "the document ends {}, before </{parent}>",
                    place()
                )));
            }
            _ => continue,
        };
        let kind = Kind::of(e.local_name().as_ref())
            .filter(|k| only.is_none_or(|o| o == *k))
            .filter(|_| ns == Ns::None || ns.is_vagvalsinfo());
        let Some(kind) = kind else {
            if !empty {
                walk.skip(&e, &place)?;
            }
            continue;
        };
        let index = match kind {
            Kind::Route => {
                walk.routes += 1;
                walk.routes
            }
            Kind::Authorisation => {
                walk.authorisations += 1;
                walk.authorisations
            }
        };
        let fields = if empty {
            Fields::default()
        } else {
            entry_fields(walk, kind, index)?
        };
        let entry = Entry { kind, index };
        match kind {
            Kind::Route => out.routes.push(fields.route(entry, &mut walk.texts)?),
            Kind::Authorisation => out
                .authorisations
                .push(fields.authorisation(entry, &mut walk.texts)?),
        }
    }
}

/// An entry by its place in the document, as messages name it: `virtualiseringsInfo[3]`
/// (1-based, counted per kind).
#[derive(Debug, Clone, Copy)]
struct Entry {
    kind: Kind,
    index: usize,
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.kind.element(), self.index)
    }
}

/// The fields of one entry, as read.
#[derive(Default)]
struct Fields {
    id: Option<String>,
    receiver: Option<String>,
    sender: Option<String>,
    profile: Option<String>,
    contract: Option<String>,
    from: Option<String>,
    to: Option<String>,
    url: Option<String>,
}

/// Reads an entry's children (its start tag read) up to its end tag.
fn entry_fields(walk: &mut Walk<'_>, kind: Kind, index: usize) -> Result<Fields, VagvalsinfoError> {
    let entry = Entry { kind, index };
    let place = || format!("in {entry}");
    let mut f = Fields::default();
    loop {
        let (ns, event) = walk.next(&place)?;
        let (e, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => return Ok(f),
            Event::Eof => return Err(invalid(format!("the document ends inside {entry}"))),
            _ => continue,
        };
        let local = e.local_name();
        let slot = if ns.is_vagvalsinfo() {
            match (kind, local.as_ref()) {
                (Kind::Route, "virtualiseringsInfoId")
                | (Kind::Authorisation, "anropsBehorighetsInfoId") => Some(&mut f.id),
                (_, "receiverId") => Some(&mut f.receiver),
                (Kind::Authorisation, "senderId") => Some(&mut f.sender),
                (Kind::Route, "rivProfil") => Some(&mut f.profile),
                (_, "tjansteKontrakt") => Some(&mut f.contract),
                (_, "fromTidpunkt") => Some(&mut f.from),
                (_, "tomTidpunkt") => Some(&mut f.to),
                (Kind::Route, "adress") => Some(&mut f.url),
                _ => None,
            }
        } else {
            None
        };
        match slot {
            // A repeated field replaces the earlier value, as JAXB's setter does.
            Some(slot) if empty => *slot = Some(String::new()),
            Some(slot) => {
                let field: &str = local.as_ref();
                *slot = Some(walk.leaf(&|| format!("in {entry}/{field}"))?);
            }
            // `filterInfo` and anything unknown.
            None if empty => {}
            None => walk.skip(&e, &place)?,
        }
    }
}

/// The shared copy of `text`.
fn intern(texts: &mut HashSet<Text>, text: String) -> Text {
    if let Some(t) = texts.get(text.as_str()) {
        return t.clone();
    }
    let t = Text::from(text);
    texts.insert(t.clone());
    t
}

impl Fields {
    fn required(v: Option<String>, entry: Entry, field: &str) -> Result<String, VagvalsinfoError> {
        v.ok_or_else(|| invalid(format!("{entry}: no {field}")))
    }

    fn validity(
        from: Option<String>,
        to: Option<String>,
        entry: Entry,
    ) -> Result<Validity, VagvalsinfoError> {
        let from = Self::required(from, entry, "fromTidpunkt")?;
        let to = Self::required(to, entry, "tomTidpunkt")?;
        let day = |field: &str, text: &str| {
            parse_date_time(text)
                .ok_or_else(|| invalid(format!("{entry}: {field} {text:?} is not an xs:dateTime")))
        };
        Ok(Validity::new(
            day("fromTidpunkt", &from)?,
            day("tomTidpunkt", &to)?,
        ))
    }

    /// The id, trimmed (a number for [`row_ids`]); empty when absent.
    fn id(id: Option<String>) -> String {
        let id = id.unwrap_or_default();
        if id.trim().len() == id.len() {
            id
        } else {
            id.trim().to_string()
        }
    }

    fn route(self, entry: Entry, texts: &mut HashSet<Text>) -> Result<RouteInfo, VagvalsinfoError> {
        let logical_address = Self::required(self.receiver, entry, "receiverId")?;
        let profile = Self::required(self.profile, entry, "rivProfil")?;
        let contract = Self::required(self.contract, entry, "tjansteKontrakt")?;
        let validity = Self::validity(self.from, self.to, entry)?;
        let url = Self::required(self.url, entry, "adress")?;
        Ok(RouteInfo {
            id: Self::id(self.id),
            logical_address: intern(texts, logical_address),
            profile: intern(texts, profile),
            contract: intern(texts, contract),
            validity,
            url: intern(texts, url),
        })
    }

    fn authorisation(
        self,
        entry: Entry,
        texts: &mut HashSet<Text>,
    ) -> Result<AuthorisationInfo, VagvalsinfoError> {
        let logical_address = Self::required(self.receiver, entry, "receiverId")?;
        let consumer = Self::required(self.sender, entry, "senderId")?;
        let contract = Self::required(self.contract, entry, "tjansteKontrakt")?;
        let validity = Self::validity(self.from, self.to, entry)?;
        Ok(AuthorisationInfo {
            id: Self::id(self.id),
            logical_address: intern(texts, logical_address),
            consumer: intern(texts, consumer),
            contract: intern(texts, contract),
            validity,
        })
    }
}

/// The date of an xs:dateTime (`2013-05-24T00:00:00.000`, `2013-08-09T13:25:24.260+02:00`,
/// `...Z`): the date as written, the time and zone checked for form only. A bare date
/// (`2013-05-24`) passes too.
pub fn parse_date_time(text: &str) -> Option<Day> {
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    if rest.is_empty() {
        return Some(day);
    }
    let rest = rest.strip_prefix('T')?;
    let (time, zone) = match rest.find(['Z', '+', '-']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let b = time.as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    let time_ok = b.len() >= 8
        && digits(&b[0..2])
        && b[2] == b':'
        && digits(&b[3..5])
        && b[5] == b':'
        && digits(&b[6..8])
        && (b.len() == 8 || (b[8] == b'.' && digits(&b[9..])));
    let z = zone.as_bytes();
    let zone_ok = zone.is_empty()
        || zone == "Z"
        || (z.len() == 6 && digits(&z[1..3]) && z[3] == b':' && digits(&z[4..6]));
    (time_ok && zone_ok).then_some(day)
}

/// The major version of a contract namespace: its last `:N` (`...Responder:1` → 1), else 0.
pub fn major_version(namespace: &str) -> i64 {
    namespace
        .rsplit(':')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Row ids for a list of entries: their own ids in ascending order when every one is a
/// distinct positive integer, else 1, 2, ... in list order. Returns (id, index into the list)
/// in the order the rows are inserted.
fn row_ids<'a>(ids: impl ExactSizeIterator<Item = &'a str>) -> Vec<(Id, usize)> {
    let n = ids.len();
    let mut own: Vec<(Id, usize)> = Vec::with_capacity(n);
    for (i, id) in ids.enumerate() {
        match id.parse::<Id>() {
            Ok(id) if id > 0 => own.push((id, i)),
            _ => break,
        }
    }
    if own.len() == n {
        own.sort_unstable();
        if own.windows(2).all(|w| w[0].0 < w[1].0) {
            return own;
        }
    }
    (0..n).map(|i| (i as Id + 1, i)).collect()
}

/// Makes the rows of one table from texts: the first time a text is seen it gets the next id
/// (its row shares the entry's allocation).
struct Interner<'a, T> {
    ids: HashMap<&'a str, Id>,
    rows: Vec<Row<T>>,
    version: u64,
}

impl<'a, T> Interner<'a, T> {
    fn new(version: u64) -> Self {
        Interner {
            ids: HashMap::new(),
            rows: Vec::new(),
            version,
        }
    }

    fn id(&mut self, key: &'a Text, make: impl FnOnce(&Text) -> T) -> Id {
        if let Some(id) = self.ids.get(key.as_str()) {
            return *id;
        }
        let id = self.rows.len() as Id + 1;
        self.rows.push(published(id, self.version, make(key)));
        self.ids.insert(key.as_str(), id);
        id
    }
}

fn published<T>(id: Id, version: u64, item: T) -> Row<T> {
    Row {
        id,
        state: RowState::Active,
        pending: false,
        published_in: Some(version),
        item,
    }
}

fn fill<T: Clone>(table: &mut super::model::Table<T>, rows: Vec<Row<T>>) {
    for row in rows {
        // Ids ascend by construction, so every row is taken.
        let _ = table.insert_row(row);
    }
}

/// Builds the snapshot a router reads from SokVagvalsInfo's entries (see the module's
/// paragraph for the rows it makes): version `version` of `platform`, published at `at`,
/// with `origin` (where the entries came from) as its comment. Linear in the entries.
pub fn build_snapshot(
    routes: &[RouteInfo],
    authorisations: &[AuthorisationInfo],
    platform: &str,
    version: u64,
    at: DateTime<Utc>,
    origin: &str,
) -> Snapshot {
    let empty = Text::from("");
    let source_producer = Text::from(SOURCE_PRODUCER);
    let mut profiles: Interner<'_, RivtaProfile> = Interner::new(version);
    let mut contracts: Interner<'_, ServiceContract> = Interner::new(version);
    let mut addresses: Interner<'_, LogicalAddress> = Interner::new(version);
    let mut components: Interner<'_, ServiceComponent> = Interner::new(version);
    let producer = components.id(&source_producer, |hsa| ServiceComponent {
        hsa_id: hsa.clone(),
        description:
            "The producer of every call address read from SokVagvalsInfo v2, which names none"
                .into(),
    });
    let address = |hsa: &Text| LogicalAddress {
        hsa_id: hsa.clone(),
        description: empty.clone(),
    };

    let mut calls: HashMap<(&str, Id), Id> = HashMap::new();
    let mut call_rows = Vec::new();
    let mut route_rows = Vec::with_capacity(routes.len());
    for (id, i) in row_ids(routes.iter().map(|r| r.id.as_str())) {
        let r = &routes[i];
        let profile = profiles.id(&r.profile, |name| RivtaProfile {
            name: name.clone(),
            description: empty.clone(),
        });
        let call_address = *calls.entry((r.url.as_str(), profile)).or_insert_with(|| {
            let id = call_rows.len() as Id + 1;
            call_rows.push(published(
                id,
                version,
                CallAddress {
                    producer,
                    profile,
                    url: r.url.clone(),
                },
            ));
            id
        });
        let item = Route {
            logical_address: addresses.id(&r.logical_address, address),
            contract: contracts.id(&r.contract, |ns| new_contract(ns, &empty)),
            call_address,
            validity: r.validity,
        };
        route_rows.push(published(id, version, item));
    }
    let mut auth_rows = Vec::with_capacity(authorisations.len());
    for (id, i) in row_ids(authorisations.iter().map(|a| a.id.as_str())) {
        let a = &authorisations[i];
        let item = Authorisation {
            consumer: components.id(&a.consumer, |hsa| ServiceComponent {
                hsa_id: hsa.clone(),
                description: empty.clone(),
            }),
            contract: contracts.id(&a.contract, |ns| new_contract(ns, &empty)),
            logical_address: addresses.id(&a.logical_address, address),
            validity: a.validity,
            integration_agreement: empty.clone(),
        };
        auth_rows.push(published(id, version, item));
    }
    let mut cat = Catalogue::default();
    fill(&mut cat.profiles, profiles.rows);
    fill(&mut cat.components, components.rows);
    fill(&mut cat.contracts, contracts.rows);
    fill(&mut cat.logical_addresses, addresses.rows);
    fill(&mut cat.call_addresses, call_rows);
    fill(&mut cat.routes, route_rows);
    fill(&mut cat.authorisations, auth_rows);
    Snapshot::build(version, platform, at, "takcache", origin, &cat)
}

fn new_contract(ns: &Text, empty: &Text) -> ServiceContract {
    ServiceContract {
        namespace: ns.clone(),
        description: empty.clone(),
        major_version: major_version(ns),
        minor_version: 0,
    }
}

/// Writes a `persistentCache` file (VP's local TAK copy, as takcache's JAXB marshaller writes
/// it) of these entries into `w`, streamed.
pub fn write_cache_file(
    w: &mut impl Write,
    routes: &[RouteInfo],
    authorisations: &[AuthorisationInfo],
) -> io::Result<()> {
    writeln!(
        w,
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
    )?;
    writeln!(w, "<persistentCache xmlns:ns2=\"{VAGVALSINFO_V2}\">")?;
    let leaf = |w: &mut dyn Write, name: &str, text: &str| {
        writeln!(w, "        <ns2:{name}>{}</ns2:{name}>", escape_text(text))
    };
    for r in routes {
        writeln!(w, "    <virtualiseringsInfo>")?;
        leaf(w, "virtualiseringsInfoId", &r.id)?;
        leaf(w, "receiverId", &r.logical_address)?;
        leaf(w, "rivProfil", &r.profile)?;
        leaf(w, "tjansteKontrakt", &r.contract)?;
        leaf(w, "fromTidpunkt", &format_date(r.validity.from))?;
        leaf(w, "tomTidpunkt", &format_date(r.validity.to))?;
        leaf(w, "adress", &r.url)?;
        writeln!(w, "    </virtualiseringsInfo>")?;
    }
    for a in authorisations {
        writeln!(w, "    <anropsBehorighetsInfo>")?;
        leaf(w, "anropsBehorighetsInfoId", &a.id)?;
        leaf(w, "receiverId", &a.logical_address)?;
        leaf(w, "senderId", &a.consumer)?;
        leaf(w, "tjansteKontrakt", &a.contract)?;
        leaf(w, "fromTidpunkt", &format_date(a.validity.from))?;
        leaf(w, "tomTidpunkt", &format_date(a.validity.to))?;
        writeln!(w, "    </anropsBehorighetsInfo>")?;
    }
    writeln!(w, "</persistentCache>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tak::readapi::{TakRequest, fault, respond};
    use crate::tak::testutil::{self, NS, at, day};

    const CERVIX: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1";

    fn fixture(name: &str) -> Vec<u8> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tak/");
        std::fs::read(format!("{path}{name}")).unwrap()
    }

    fn recorded() -> (Vec<RouteInfo>, Vec<AuthorisationInfo>) {
        (
            parse_routes(&fixture("hamtaAllaVirtualiseringarResponse.xml")).unwrap(),
            parse_authorisations(&fixture("hamtaAllaAnropsBehorigheterResponse.xml")).unwrap(),
        )
    }

    fn snapshot_of(routes: &[RouteInfo], auths: &[AuthorisationInfo]) -> Snapshot {
        build_snapshot(routes, auths, "NTJP-TEST", 1, at(0), "test")
    }

    /// A route lookup's answer as (url, profile) pairs.
    fn targets(s: &Snapshot, contract: &str, address: &str, on: &str) -> Vec<(String, String)> {
        s.route(contract, address, day(on))
            .matches
            .iter()
            .map(|t| (t.url.to_string(), t.profile.to_string()))
            .collect()
    }

    #[test]
    fn reads_a_recorded_answer_of_the_real_service() {
        let (routes, auths) = recorded();
        assert_eq!(routes.len(), 3);
        assert_eq!(
            routes[0],
            RouteInfo {
                id: "10412".into(),
                logical_address: "01".into(),
                profile: "RIVTABP21".into(),
                contract: CERVIX.into(),
                validity: Validity::new(day("2024-03-01"), day("2124-03-01")),
                url: "https://cervix-sthlm.example.se:443/cervix/ProcessCervixScreeningInformation/1/rivtabp21".into(),
            }
        );
        // filterInfo is skipped, the entry kept.
        assert_eq!(auths.len(), 2);
        assert_eq!(auths[1].consumer, "SE2321000016-ABCD");
        assert_eq!(auths[1].logical_address, "01");

        let s = snapshot_of(&routes, &auths);
        assert_eq!(s.counts().routes, 3);
        assert_eq!(s.counts().authorisations, 2);
        // The answer's ids are kept (they are distinct numbers), in id order.
        let ids: Vec<Id> = s.routes().map(|r| r.id).collect();
        assert_eq!(ids, [9870, 10412, 10413]);
        assert_eq!(
            s.catalogue()
                .contracts
                .active()
                .next()
                .unwrap()
                .major_version,
            1
        );
        // Routes by validity: county 12 had a BP20 producer until 2024-02-29.
        assert_eq!(
            targets(&s, CERVIX, "12", "2024-02-29"),
            [(
                "http://old-cervix-skane.example.se/vp/ProcessCervixScreeningInformation/1/rivtabp20".to_string(),
                "RIVTABP20".to_string()
            )]
        );
        assert_eq!(targets(&s, CERVIX, "12", "2025-06-01")[0].1, "RIVTABP21");
        assert!(targets(&s, CERVIX, "13", "2025-06-01").is_empty());
        // SE authorises every address by the HSA climb; the other consumer only 01.
        let today = day("2025-06-01");
        assert!(s.authorise("SE5565189692-B1", CERVIX, "12", today).granted);
        assert!(
            s.authorise("SE2321000016-ABCD", CERVIX, "01", today)
                .granted
        );
        assert!(
            !s.authorise("SE2321000016-ABCD", CERVIX, "12", today)
                .granted
        );
        assert!(
            !s.authorise("SE5565189692-B1", CERVIX, "12", day("2024-02-01"))
                .granted
        );
    }

    #[test]
    fn our_own_read_api_round_trips_with_the_same_lookups() {
        let (mut store, _) = testutil::store();
        let published = store.publish("admin", "ett", at(0));
        let routes =
            parse_routes(respond(&published, &TakRequest::HamtaAllaVirtualiseringar).as_bytes())
                .unwrap();
        let auths = parse_authorisations(
            respond(&published, &TakRequest::HamtaAllaAnropsBehorigheter).as_bytes(),
        )
        .unwrap();
        let loaded = snapshot_of(&routes, &auths);
        assert_eq!(loaded.counts(), published.counts());
        let route_rows = |s: &Snapshot| -> Vec<_> {
            s.routes()
                .map(|r| {
                    (
                        r.id,
                        r.logical_address.to_string(),
                        r.contract.to_string(),
                        r.target.url.to_string(),
                        r.target.profile.to_string(),
                        r.validity,
                    )
                })
                .collect()
        };
        assert_eq!(route_rows(&loaded), route_rows(&published));
        let auth_rows = |s: &Snapshot| -> Vec<_> {
            s.authorisations()
                .map(|a| {
                    (
                        a.id,
                        a.consumer.to_string(),
                        a.contract.to_string(),
                        a.logical_address.to_string(),
                        a.validity,
                    )
                })
                .collect()
        };
        assert_eq!(auth_rows(&loaded), auth_rows(&published));
        for on in ["2024-06-01", "2025-03-01", "2025-08-01", "2126-01-01"] {
            for address in ["01", "SE", "02", "*", "kons"] {
                assert_eq!(
                    targets(&loaded, NS, address, on),
                    targets(&published, NS, address, on),
                    "{address} on {on}"
                );
                for consumer in ["KONS", "kons", "OTHER"] {
                    assert_eq!(
                        loaded.authorise(consumer, NS, address, day(on)).granted,
                        published.authorise(consumer, NS, address, day(on)).granted,
                        "{consumer} to {address} on {on}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_fault_is_an_error_with_its_faultstring() {
        let err = parse_routes(fault("Nothing is published in this TAK").as_bytes()).unwrap_err();
        assert_eq!(
            err,
            VagvalsinfoError::Fault("Nothing is published in this TAK".into())
        );
    }

    #[test]
    fn a_truncated_answer_names_where_it_ends() {
        let whole = fixture("hamtaAllaVirtualiseringarResponse.xml");
        let text = std::str::from_utf8(&whole).unwrap();
        let cut = text.find("<ns2:virtualiseringsInfoId>10413").unwrap() + 20;
        let err = parse_routes(&whole[..cut]).unwrap_err().to_string();
        assert!(err.contains("virtualiseringsInfo[2]"), "{err}");
        let cut = text.find("</ns2:hamtaAlla").unwrap();
        let err = parse_routes(&whole[..cut]).unwrap_err().to_string();
        assert!(err.contains("after 3 virtualiseringsInfo"), "{err}");
        assert!(parse_routes(b"").is_err());
        // A wrong end tag: the byte, the entry and the field.
        let broken = text.replacen("</ns2:adress>", "</ns2:adres>", 1);
        let err = parse_routes(broken.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("unreadable XML at byte "), "{err}");
        assert!(err.contains(" in virtualiseringsInfo[1]/adress: "), "{err}");
    }

    #[test]
    fn any_prefix_any_field_order_and_zoned_dates() {
        let xml = format!(
            "<?xml version=\"1.0\"?><S:Envelope xmlns:S=\"{SOAP11_NS}\"><S:Header/><S:Body>\
             <v:hamtaAllaVirtualiseringarResponse xmlns:v=\"{VAGVALSINFO_V2}\">\
             <virtualiseringsInfo><v:adress>http://a.example/x?a=1&amp;b=2</v:adress>\
             <v:tomTidpunkt>2030-01-01T00:00:00+01:00</v:tomTidpunkt><v:unknown><v:deep/></v:unknown>\
             <v:fromTidpunkt>2020-05-24T13:25:24.260Z</v:fromTidpunkt><v:tjansteKontrakt>{NS}</v:tjansteKontrakt>\
             <other:receiverId xmlns:other=\"urn:other\">ignored</other:receiverId>\
             <v:rivProfil>RIVTABP21</v:rivProfil><v:receiverId>Vård &amp; omsorg </v:receiverId></virtualiseringsInfo>\
             </v:hamtaAllaVirtualiseringarResponse></S:Body></S:Envelope>"
        );
        let routes = parse_routes(xml.as_bytes()).unwrap();
        assert_eq!(
            routes,
            [RouteInfo {
                id: String::new(),
                logical_address: "Vård & omsorg ".into(),
                profile: "RIVTABP21".into(),
                contract: NS.into(),
                validity: Validity::new(day("2020-05-24"), day("2030-01-01")),
                url: "http://a.example/x?a=1&b=2".into(),
            }]
        );
    }

    #[test]
    fn errors_name_the_entry_and_the_field() {
        let answer = |body: &str| {
            format!(
                "<s:Envelope xmlns:s=\"{SOAP11_NS}\"><s:Body><n:hamtaAllaVirtualiseringarResponse \
                 xmlns:n=\"{VAGVALSINFO_V2}\">{body}</n:hamtaAllaVirtualiseringarResponse></s:Body></s:Envelope>"
            )
        };
        let one = "<n:virtualiseringsInfo><n:receiverId>01</n:receiverId><n:rivProfil>RIVTABP21</n:rivProfil>\
                   <n:tjansteKontrakt>x:1</n:tjansteKontrakt><n:fromTidpunkt>2020-01-01T00:00:00.000</n:fromTidpunkt>\
                   <n:tomTidpunkt>2030-01-01T00:00:00.000</n:tomTidpunkt><n:adress>http://a</n:adress></n:virtualiseringsInfo>";
        let no_url = one.replace("<n:adress>http://a</n:adress>", "");
        let err = parse_routes(answer(&format!("{one}{no_url}")).as_bytes()).unwrap_err();
        assert_eq!(err.to_string(), "virtualiseringsInfo[2]: no adress");
        let bad_date = one.replace("2030-01-01T00:00:00.000", "2030-13-01T00:00:00.000");
        let err = parse_routes(answer(&bad_date).as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "virtualiseringsInfo[1]: tomTidpunkt \"2030-13-01T00:00:00.000\" is not an xs:dateTime"
        );
        // An answer to the other operation.
        let err = parse_authorisations(answer(one).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("hamtaAllaVirtualiseringarResponse"), "{err}");
        assert!(err.contains("expected"), "{err}");
        // An empty answer is read as empty; the caller decides it is a failure.
        assert_eq!(parse_routes(answer("").as_bytes()).unwrap(), []);
    }

    #[test]
    fn the_cache_file_writes_and_reads_back_the_same() {
        let (routes, auths) = recorded();
        let mut buf = Vec::new();
        write_cache_file(&mut buf, &routes, &auths).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(text.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<persistentCache xmlns:ns2=\"urn:skl:tp:vagvalsinfo:v2\">\n    <virtualiseringsInfo>\n        <ns2:virtualiseringsInfoId>10412</ns2:virtualiseringsInfoId>"
        ));
        let back = parse_cache_file(&buf).unwrap();
        assert_eq!(back.routes, routes);
        assert_eq!(back.authorisations, auths);
        // A SOAP answer is not a cache file, nor the reverse.
        assert!(parse_cache_file(&fixture("hamtaAllaVirtualiseringarResponse.xml")).is_err());
        assert!(parse_routes(&buf).is_err());
    }

    #[test]
    fn reads_a_cache_file_as_takcache_writes_it() {
        // Unqualified entries (each may redeclare ns2), ids that are not numbers, times of
        // day with zones.
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
             <persistentCache xmlns:ns2=\"{VAGVALSINFO_V2}\">\n\
             <virtualiseringsInfo xmlns:ns2=\"{VAGVALSINFO_V2}\"><ns2:virtualiseringsInfoId>x</ns2:virtualiseringsInfoId>\
             <ns2:receiverId>vp-test-producer</ns2:receiverId><ns2:rivProfil>RIVTABP20</ns2:rivProfil>\
             <ns2:tjansteKontrakt>urn:riv:domain:subdomain:GetThingsResponder:2</ns2:tjansteKontrakt>\
             <ns2:fromTidpunkt>2015-02-03T10:11:12.130+02:00</ns2:fromTidpunkt>\
             <ns2:tomTidpunkt>2035-02-03T11:11:12.130+02:00</ns2:tomTidpunkt>\
             <ns2:adress>https://localhost:19000/producer</ns2:adress></virtualiseringsInfo>\n\
             <anropsBehorighetsInfo><ns2:anropsBehorighetsInfoId>y</ns2:anropsBehorighetsInfoId>\
             <ns2:receiverId>vp-test-producer</ns2:receiverId><ns2:senderId>tp</ns2:senderId>\
             <ns2:tjansteKontrakt>urn:riv:domain:subdomain:GetThingsResponder:2</ns2:tjansteKontrakt>\
             <ns2:fromTidpunkt>2015-02-03T10:11:12.130+02:00</ns2:fromTidpunkt>\
             <ns2:tomTidpunkt>2035-02-03T11:11:12.130+02:00</ns2:tomTidpunkt></anropsBehorighetsInfo>\n\
             </persistentCache>"
        );
        let c = parse_cache_file(xml.as_bytes()).unwrap();
        let s = snapshot_of(&c.routes, &c.authorisations);
        let contract = "urn:riv:domain:subdomain:GetThingsResponder:2";
        assert_eq!(
            s.catalogue()
                .contracts
                .active()
                .next()
                .unwrap()
                .major_version,
            2
        );
        assert_eq!(s.routes().next().unwrap().id, 1);
        let on = day("2020-01-01");
        assert_eq!(
            s.route(contract, "VP-TEST-PRODUCER", on).matches[0]
                .url
                .as_str(),
            "https://localhost:19000/producer"
        );
        assert!(s.authorise("tp", contract, "vp-test-producer", on).granted);
        assert!(
            !s.authorise("tp", contract, "vp-test-producer", day("2035-02-04"))
                .granted
        );
    }

    #[test]
    fn row_ids_are_the_answers_when_usable() {
        assert_eq!(
            row_ids(["7", "3", "5"].into_iter()),
            [(3, 1), (5, 2), (7, 0)]
        );
        assert_eq!(row_ids(["7", "7"].into_iter()), [(1, 0), (2, 1)]);
        assert_eq!(row_ids(["7", "a"].into_iter()), [(1, 0), (2, 1)]);
        assert_eq!(row_ids(["0"].into_iter()), [(1, 0)]);
        assert_eq!(major_version("urn:a:bResponder:3"), 3);
        assert_eq!(major_version("urn:a:b"), 0);
        assert_eq!(parse_date_time("2013-05-24"), Some(day("2013-05-24")));
        assert_eq!(parse_date_time("2013-05-24T00:00"), None);
        assert_eq!(
            parse_date_time("2013-05-24T00:00:00-05:00"),
            Some(day("2013-05-24"))
        );
        assert_eq!(parse_date_time("24-05-2013"), None);
    }
}
