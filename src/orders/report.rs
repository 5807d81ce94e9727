//! The order report (tak-web's BestallningsRapport): metadata, then per section of `inkludera`
//! and `exkludera` a list of (status, value), and its plain-text rendering.
//!
//! Sections come in tak-web's order (Logiska adresser, Tjänstekomponenter, Tjänstekontrakt,
//! Anropsbehörigheter, Vägval); empty sections are left out. This module only formats; what the
//! rows say is decided by `execute`.
//!
//! Two forms: [`Report`], the lines as text, and [`CompactReport`], what the order service
//! keeps: each line a reference to the catalogue row it is about (its id, the validity the
//! order left it with, its status), consecutive lines folded into runs. A 1,000,000-row order's
//! report is then a few runs instead of three million strings; it is rendered from the
//! catalogue when asked for (rows are never removed and the fields a line shows never change).

use std::fmt::Write as _;

use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::tak::model::{Catalogue, Id, Validity};

/// Section name: logical addresses.
pub const LOGICAL_ADDRESSES: &str = "Logiska adresser";
/// Section name: service components.
pub const COMPONENTS: &str = "Tjänstekomponenter";
/// Section name: service contracts.
pub const CONTRACTS: &str = "Tjänstekontrakt";
/// Section name: authorisations.
pub const AUTHORISATIONS: &str = "Anropsbehörigheter";
/// Section name: routes.
pub const ROUTES: &str = "Vägval";

/// The keys of a report's metadata, in order.
pub const METADATA_KEYS: [&str; 7] = [
    "Plattform",
    "Format Version",
    "Version",
    "Beställningstidpunkt",
    "Genomförandetidpunkt",
    "Utförare",
    "Kommentar",
];

/// The section names, in tak-web's order.
pub const SECTIONS: [&str; 5] = [
    LOGICAL_ADDRESSES,
    COMPONENTS,
    CONTRACTS,
    AUTHORISATIONS,
    ROUTES,
];

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `Nyskapad`: a new row.
    Created,
    /// `Uppdaterad`: an existing row was extended.
    Updated,
    /// `Deaktiverad`: an existing row now ends the day before the execution day.
    Deactivated,
    /// `Borttagen`: an existing row that had not started yet was removed.
    Deleted,
    /// `Existerar ej`: nothing to exclude (a warning, not an error).
    NotExists,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 5] = [
        Status::Created,
        Status::Updated,
        Status::Deactivated,
        Status::Deleted,
        Status::NotExists,
    ];

    /// The Swedish status word tak-web shows.
    pub fn text(self) -> &'static str {
        match self {
            Status::Created => "Nyskapad",
            Status::Updated => "Uppdaterad",
            Status::Deactivated => "Deaktiverad",
            Status::Deleted => "Borttagen",
            Status::NotExists => "Existerar ej",
        }
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.text())
    }
}

/// One report line: a status and the row it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    /// What happened.
    pub status: Status,
    /// The row: an HSA-id or namespace, `LA - konsument - namnrymd  (from - tom)`,
    /// `LA - namnrymd - producent - rivtaprofil - adress (from - tom)`, or the order item's text
    /// for `Existerar ej`.
    pub value: String,
}

impl ReportRow {
    /// Whether tak-web flags the line as a warning (`Existerar ej`).
    pub fn warning(&self) -> bool {
        self.status == Status::NotExists
    }
}

impl Serialize for ReportRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ReportRow", 3)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("value", &self.value)?;
        st.serialize_field("warning", &self.warning())?;
        st.end()
    }
}

/// One section of `inkludera` or `exkludera`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSection {
    /// e.g. `Vägval`.
    pub name: &'static str,
    /// The lines, in order.
    pub rows: Vec<ReportRow>,
}

/// Sections serialise as an ordered JSON object `{ "<name>": [rows] }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sections(pub Vec<ReportSection>);

impl Serialize for Sections {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for section in &self.0 {
            m.serialize_entry(section.name, &section.rows)?;
        }
        m.end()
    }
}

/// Ordered metadata, serialised as an ordered JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata(pub Vec<(&'static str, String)>);

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The report of an executed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Plattform, Format Version, Version, Beställningstidpunkt, Genomförandetidpunkt,
    /// Utförare, Kommentar.
    pub metadata: Metadata,
    /// What `inkludera` did.
    #[serde(rename = "inkludera")]
    pub include: Sections,
    /// What `exkludera` did.
    #[serde(rename = "exkludera")]
    pub exclude: Sections,
}

impl Report {
    /// tak-web's plain-text rendering: `Key: value` metadata lines, a blank line, `Inkludera:`,
    /// per section `<Section>:` and `<status>: <value>` lines, a blank line, `Exkludera:` likewise.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        metadata_text(&mut out, &self.metadata);
        for (title, sections) in [("Inkludera", &self.include), ("Exkludera", &self.exclude)] {
            let _ = write!(out, "\n{title}:\n");
            for section in &sections.0 {
                let _ = writeln!(out, "{}:", section.name);
                for row in &section.rows {
                    let _ = writeln!(out, "{}: {}", row.status.text(), row.value);
                }
            }
        }
        out
    }

    /// The rows of a section of `inkludera` (empty when the section is absent).
    pub fn included(&self, section: &str) -> &[ReportRow] {
        find(&self.include, section)
    }

    /// The rows of a section of `exkludera` (empty when the section is absent).
    pub fn excluded(&self, section: &str) -> &[ReportRow] {
        find(&self.exclude, section)
    }
}

fn metadata_text(out: &mut String, metadata: &Metadata) {
    for (k, v) in &metadata.0 {
        let _ = writeln!(out, "{k}: {v}");
    }
}

/// What the lines of a [`Run`] are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A logical address: its HSA-id.
    LogicalAddress,
    /// A service component: its HSA-id.
    Component,
    /// A service contract: its namespace.
    Contract,
    /// An authorisation: `LA - konsument - namnrymd  (from - tom)`.
    Authorisation,
    /// A route: `LA - namnrymd - producent - rivtaprofil - adress (from - tom)`.
    Route,
    /// An order item's own text (`Existerar ej`): an index into [`CompactReport::texts`].
    Text,
}

impl LineKind {
    /// Every kind.
    pub const ALL: [LineKind; 6] = [
        LineKind::LogicalAddress,
        LineKind::Component,
        LineKind::Contract,
        LineKind::Authorisation,
        LineKind::Route,
        LineKind::Text,
    ];
}

/// `len` report lines of one kind and status about consecutive ids (`first`, `first + 1`,
/// ...; for [`LineKind::Text`] consecutive indexes into the texts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// What the lines are about.
    pub kind: LineKind,
    /// Their status.
    pub status: Status,
    /// The first row id (or text index).
    pub first: Id,
    /// How many lines.
    pub len: u32,
    /// Authorisations and routes: the validity the order left them with (the row may change
    /// later; the line shows it as it was).
    pub validity: Option<Validity>,
}

/// One section of a [`CompactReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSection {
    /// e.g. `Vägval`.
    pub name: &'static str,
    /// Its lines, in order.
    pub runs: Vec<Run>,
}

impl RunSection {
    /// An empty section.
    pub fn new(name: &'static str) -> Self {
        RunSection {
            name,
            runs: Vec::new(),
        }
    }

    /// Adds a line, extending the last run when it continues it.
    pub fn push(&mut self, kind: LineKind, status: Status, id: Id, validity: Option<Validity>) {
        if let Some(last) = self.runs.last_mut()
            && last.kind == kind
            && last.status == status
            && last.validity == validity
            && last.len < u32::MAX
            && last.first.checked_add(u64::from(last.len)) == Some(id)
        {
            last.len += 1;
            return;
        }
        self.runs.push(Run {
            kind,
            status,
            first: id,
            len: 1,
            validity,
        });
    }

    /// Number of lines.
    pub fn lines(&self) -> usize {
        self.runs.iter().map(|r| r.len as usize).sum()
    }
}

/// The report as the order service keeps it: lines as references to catalogue rows (see the
/// module docs). [`CompactReport::render`] gives the [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactReport {
    /// As in [`Report`].
    pub metadata: Metadata,
    /// What `inkludera` did; empty sections left out.
    pub include: Vec<RunSection>,
    /// What `exkludera` did; empty sections left out.
    pub exclude: Vec<RunSection>,
    /// The texts of `Existerar ej` lines.
    pub texts: Vec<String>,
}

impl CompactReport {
    /// The lines of `sections` as (status, text), rendered from `cat` one at a time.
    fn rows<'a>(
        &'a self,
        cat: &'a Catalogue,
        runs: &'a [Run],
    ) -> impl Iterator<Item = ReportRow> + 'a {
        runs.iter().flat_map(move |run| {
            (0..u64::from(run.len)).map(move |i| ReportRow {
                status: run.status,
                value: self.line(cat, run, run.first + i),
            })
        })
    }

    fn line(&self, cat: &Catalogue, run: &Run, id: Id) -> String {
        let validity = run.validity;
        match run.kind {
            LineKind::LogicalAddress => la_text(cat, id),
            LineKind::Component => component_text(cat, id),
            LineKind::Contract => contract_text(cat, id),
            LineKind::Authorisation => authorisation_text(cat, id, validity),
            LineKind::Route => route_text(cat, id, validity),
            LineKind::Text => usize::try_from(id)
                .ok()
                .and_then(|i| self.texts.get(i))
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// The report with every line as text. `cat`: the catalogue the order was executed on, or
    /// any later state of it.
    pub fn render(&self, cat: &Catalogue) -> Report {
        let sections = |list: &[RunSection]| {
            Sections(
                list.iter()
                    .map(|s| ReportSection {
                        name: s.name,
                        rows: self.rows(cat, &s.runs).collect(),
                    })
                    .collect(),
            )
        };
        Report {
            metadata: self.metadata.clone(),
            include: sections(&self.include),
            exclude: sections(&self.exclude),
        }
    }

    /// tak-web's plain-text rendering ([`Report::to_text`]), written line by line.
    pub fn to_text(&self, cat: &Catalogue) -> String {
        let mut out = String::new();
        metadata_text(&mut out, &self.metadata);
        for (title, sections) in [("Inkludera", &self.include), ("Exkludera", &self.exclude)] {
            let _ = write!(out, "\n{title}:\n");
            for section in sections {
                let _ = writeln!(out, "{}:", section.name);
                for row in self.rows(cat, &section.runs) {
                    let _ = writeln!(out, "{}: {}", row.status.text(), row.value);
                }
            }
        }
        out
    }

    /// Serialises as [`Report`] does, rendering the lines from `cat` while writing.
    pub fn rendered<'a>(&'a self, cat: &'a Catalogue) -> Rendered<'a> {
        Rendered { report: self, cat }
    }

    /// Number of lines.
    pub fn lines(&self) -> usize {
        self.include
            .iter()
            .chain(&self.exclude)
            .map(RunSection::lines)
            .sum()
    }

    /// Lines per section and status, for summaries:
    /// `{"inkludera": {"Vägval": {"Nyskapad": 100000}}, "exkludera": {}}`.
    pub fn counts(&self) -> serde_json::Value {
        let sections = |list: &[RunSection]| {
            let mut out = serde_json::Map::new();
            for s in list {
                let mut by_status = serde_json::Map::new();
                for run in &s.runs {
                    let n = by_status
                        .get(run.status.text())
                        .and_then(|v| v.as_u64())
                        .unwrap_or(0);
                    by_status.insert(run.status.text().into(), (n + u64::from(run.len)).into());
                }
                out.insert(s.name.into(), by_status.into());
            }
            serde_json::Value::Object(out)
        };
        serde_json::json!({"inkludera": sections(&self.include), "exkludera": sections(&self.exclude)})
    }
}

/// A [`CompactReport`] serialised with its lines rendered (see [`CompactReport::rendered`]).
pub struct Rendered<'a> {
    report: &'a CompactReport,
    cat: &'a Catalogue,
}

struct RenderedSections<'a>(&'a CompactReport, &'a Catalogue, &'a [RunSection]);
struct RenderedRows<'a>(&'a CompactReport, &'a Catalogue, &'a [Run]);

impl Serialize for RenderedRows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.2.iter().map(|r| r.len as usize).sum();
        let mut seq = s.serialize_seq(Some(n))?;
        for row in self.0.rows(self.1, self.2) {
            seq.serialize_element(&row)?;
        }
        seq.end()
    }
}

impl Serialize for RenderedSections<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.2.len()))?;
        for section in self.2 {
            m.serialize_entry(section.name, &RenderedRows(self.0, self.1, &section.runs))?;
        }
        m.end()
    }
}

impl Serialize for Rendered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.report;
        let mut st = s.serialize_struct("Report", 3)?;
        st.serialize_field("metadata", &r.metadata)?;
        st.serialize_field("inkludera", &RenderedSections(r, self.cat, &r.include))?;
        st.serialize_field("exkludera", &RenderedSections(r, self.cat, &r.exclude))?;
        st.end()
    }
}

fn la_text(cat: &Catalogue, id: Id) -> String {
    cat.logical_addresses
        .get(id)
        .map(|r| r.hsa_id.to_string())
        .unwrap_or_default()
}

fn component_text(cat: &Catalogue, id: Id) -> String {
    cat.components
        .get(id)
        .map(|r| r.hsa_id.to_string())
        .unwrap_or_default()
}

fn contract_text(cat: &Catalogue, id: Id) -> String {
    cat.contracts
        .get(id)
        .map(|r| r.namespace.to_string())
        .unwrap_or_default()
}

/// ` (from - tom)` of a line, as the order left the row (its current validity otherwise).
fn period(validity: Option<Validity>, current: Validity) -> Validity {
    validity.unwrap_or(current)
}

/// `LA - konsument - namnrymd  (from - tom)` (two spaces, as tak-web writes it).
fn authorisation_text(cat: &Catalogue, id: Id, validity: Option<Validity>) -> String {
    let Some(a) = cat.authorisations.get(id) else {
        return String::new();
    };
    let v = period(validity, a.validity);
    format!(
        "{} - {} - {}  ({} - {})",
        la_text(cat, a.logical_address),
        component_text(cat, a.consumer),
        contract_text(cat, a.contract),
        v.from,
        v.to
    )
}

/// `LA - namnrymd - producent - rivtaprofil - adress (from - tom)`.
fn route_text(cat: &Catalogue, id: Id, validity: Option<Validity>) -> String {
    let Some(r) = cat.routes.get(id) else {
        return String::new();
    };
    let call = cat.call_addresses.get(r.call_address);
    let producer = call
        .map(|c| component_text(cat, c.producer))
        .unwrap_or_default();
    let profile = call
        .and_then(|c| cat.profiles.get(c.profile))
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let url = call.map(|c| c.url.clone()).unwrap_or_default();
    let v = period(validity, r.validity);
    format!(
        "{} - {} - {} - {} - {} ({} - {})",
        la_text(cat, r.logical_address),
        contract_text(cat, r.contract),
        producer,
        profile,
        url,
        v.from,
        v.to
    )
}

fn find<'a>(sections: &'a Sections, name: &str) -> &'a [ReportRow] {
    sections
        .0
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.rows.as_slice())
        .unwrap_or_default()
}

/// Java's `Float.toString` for the values orders carry (`1.0`, `2.5`, `1.0E7`).
pub(crate) fn java_float(v: f32) -> String {
    if v == 0.0 {
        return "0.0".to_string();
    }
    let a = v.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{v}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{v:E}");
        match s.split_once('E') {
            Some((m, e)) if !m.contains('.') => format!("{m}.0E{e}"),
            _ => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_float_formats() {
        assert_eq!(java_float(1.0), "1.0");
        assert_eq!(java_float(1.5), "1.5");
        assert_eq!(java_float(0.0), "0.0");
        assert_eq!(java_float(1e7), "1.0E7");
    }

    #[test]
    fn text_rendering_and_json_shape() {
        let r = Report {
            metadata: Metadata(vec![
                ("Plattform", "NTJP-QA".into()),
                ("Kommentar", "".into()),
            ]),
            include: Sections(vec![ReportSection {
                name: LOGICAL_ADDRESSES,
                rows: vec![ReportRow {
                    status: Status::Created,
                    value: "01".into(),
                }],
            }]),
            exclude: Sections(vec![ReportSection {
                name: ROUTES,
                rows: vec![ReportRow {
                    status: Status::NotExists,
                    value: "x".into(),
                }],
            }]),
        };
        assert_eq!(
            r.to_text(),
            "Plattform: NTJP-QA\nKommentar: \n\nInkludera:\nLogiska adresser:\nNyskapad: 01\n\nExkludera:\nVägval:\nExisterar ej: x\n"
        );
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"metadata":{"Plattform":"NTJP-QA","Kommentar":""},"inkludera":{"Logiska adresser":[{"status":"Nyskapad","value":"01","warning":false}]},"exkludera":{"Vägval":[{"status":"Existerar ej","value":"x","warning":true}]}}"#
        );
        assert_eq!(r.included(LOGICAL_ADDRESSES).len(), 1);
        assert!(r.included(ROUTES).is_empty());
    }
}
