//! The order report (tak-web's BestallningsRapport): metadata, then per section of `inkludera`
//! and `exkludera` a list of (status, value), and its plain-text rendering.
//!
//! Sections come in tak-web's order (Logiska adresser, Tjänstekomponenter, Tjänstekontrakt,
//! Anropsbehörigheter, Vägval); empty sections are left out. This module only formats; what the
//! rows say is decided by `execute`.

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

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
        for (k, v) in &self.metadata.0 {
            out.push_str(&format!("{k}: {v}\n"));
        }
        for (title, sections) in [("Inkludera", &self.include), ("Exkludera", &self.exclude)] {
            out.push_str(&format!("\n{title}:\n"));
            for section in &sections.0 {
                out.push_str(&format!("{}:\n", section.name));
                for row in &section.rows {
                    out.push_str(&format!("{}: {}\n", row.status.text(), row.value));
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
