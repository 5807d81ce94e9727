//! The HSA tree (HSA-katalogens organisationsträd) as VP's hsa-cache holds it: read from files
//! in the real `hsacache.xml` format (`HsaUnitsResponse`, namespace
//! `urn:riv:hsa:HsaWsResponder:3`, `hsaUnits/hsaUnit/{hsaIdentity, DN, name}`), so that route
//! and authorisation lookups can climb from a care unit to its care giver and region.
//!
//! As in hsa-cache: the files' units are united by DN (a later file's unit replaces an earlier
//! one with the same DN: "first master, rest complementary"); a DN twice in one file aborts the
//! load; a unit without `hsaIdentity`, `DN` or `name` is skipped. A unit's parent is the unit of
//! its nearest ancestor DN present (DN parts split at commas and trimmed, compared
//! case-sensitively); a unit without one, and an HSA-id not in the tree, has the parent
//! [`HSA_ROOT`] (`SE`). HSA-ids are looked up case-sensitively, as hsa-cache's `HashMap` does.
//!
//! Pure: the caller reads the files (off the async workers) and swaps the built tree into an
//! [`HsaCell`]; lookups take no lock and allocate nothing.

use std::collections::HashMap;
use std::sync::Arc;

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// The root of the HSA tree (hsa-cache's `DEFAULT_ROOTNODE`): the parent of every unit without
/// an ancestor in the tree and of every HSA-id the tree does not hold.
pub const HSA_ROOT: &str = "SE";

/// The HSA tree the routers read, swapped whole by a reset (`/resethsacache`).
pub type HsaCell = Arc<arc_swap::ArcSwap<HsaTree>>;

/// Why an HSA file could not be read into units.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HsaError {
    /// The file is not well-formed XML, or a field element holds another element's end tag.
    #[error("{file}: line {line}: {message}")]
    Xml {
        /// The file, as configured.
        file: String,
        /// The line the problem was found on (1-based).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Two units of one file have the same DN.
    #[error(
        "{file}: line {line}: duplicate DN \"{dn}\" (hsaIdentity {second}; first given for {first})"
    )]
    DuplicateDn {
        /// The file, as configured.
        file: String,
        /// Line of the second unit's start tag.
        line: usize,
        /// The DN, its parts trimmed.
        dn: String,
        /// HSA-id of the first unit with it.
        first: String,
        /// HSA-id of the second.
        second: String,
    },
}

/// One `hsaUnit` of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsaUnit {
    /// `hsaIdentity`.
    pub hsa_id: String,
    /// `DN`, its comma-separated parts trimmed and empty parts dropped (as hsa-cache's `Dn`).
    pub dn: String,
    /// `name`.
    pub name: String,
}

/// The units of one file, in document order, with the number skipped for a missing field.
#[derive(Debug, Clone, Default)]
pub struct HsaFile {
    /// Units with all three fields, each DN once.
    pub units: Vec<HsaUnit>,
    /// Units skipped (no `hsaIdentity`, `DN` or `name`), as hsa-cache logs and skips them.
    pub skipped: usize,
}

/// Which field element a text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    HsaId,
    Dn,
    Name,
}

impl Field {
    fn of(local: &str) -> Option<Field> {
        match local {
            "hsaIdentity" => Some(Field::HsaId),
            "DN" => Some(Field::Dn),
            "name" => Some(Field::Name),
            _ => None,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Field::HsaId => "hsaIdentity",
            Field::Dn => "DN",
            Field::Name => "name",
        }
    }
}

/// A unit being read.
#[derive(Default)]
struct Partial {
    line: usize,
    hsa_id: Option<String>,
    dn: Option<String>,
    name: Option<String>,
}

/// `DN` as hsa-cache's `Dn` keeps it: split at every comma, parts trimmed, empty parts dropped,
/// joined with commas.
pub fn normalise_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    for part in dn.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(part);
    }
    out
}

fn line_at(xml: &[u8], offset: u64) -> usize {
    let end = usize::try_from(offset).unwrap_or(usize::MAX).min(xml.len());
    1 + memchr::memchr_iter(b'\n', &xml[..end]).count()
}

/// Reads one file's units. `file` names it in errors.
pub fn parse_file(file: &str, xml: &[u8]) -> Result<HsaFile, HsaError> {
    let mut reader = Reader::from_reader(xml);
    let xml_error = |reader: &Reader<&[u8]>, message: String| HsaError::Xml {
        file: file.to_string(),
        line: line_at(xml, reader.buffer_position()),
        message,
    };
    let mut out = HsaFile::default();
    let mut first_of: HashMap<String, usize> = HashMap::new();
    let mut unit: Option<Partial> = None;
    // The field whose text is being read, and the text so far.
    let mut field: Option<(Field, String)> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| xml_error(&reader, e.to_string()))?;
        match event {
            Event::Start(e) => {
                let local = e.local_name();
                if field.is_some() {
                    continue;
                }
                if local.as_ref() == "hsaUnit" {
                    unit = Some(Partial {
                        line: line_at(xml, reader.buffer_position()),
                        ..Partial::default()
                    });
                } else if let Some(f) = Field::of(local.as_ref()) {
                    field = Some((f, String::new()));
                }
            }
            Event::Empty(e) => {
                if field.is_none()
                    && let Some(f) = Field::of(e.local_name().as_ref())
                {
                    set_field(unit.as_mut(), f, String::new());
                }
            }
            Event::Text(t) => {
                if let Some((_, text)) = field.as_mut() {
                    text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some((_, text)) = field.as_mut() {
                    text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, text)) = field.as_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => text.push(c),
                        Ok(None) => match resolve_predefined_entity(&r) {
                            Some(s) => text.push_str(s),
                            None => {
                                return Err(xml_error(
                                    &reader,
                                    format!("unknown entity &{};", &*r),
                                ));
                            }
                        },
                        Err(e) => return Err(xml_error(&reader, e.to_string())),
                    }
                }
            }
            Event::End(e) => {
                let local = e.local_name();
                if let Some((f, text)) = field.take() {
                    if local.as_ref() != f.tag() {
                        return Err(xml_error(
                            &reader,
                            format!(
                                "Wrong endTag found, expected {} but found {}",
                                f.tag(),
                                local.as_ref()
                            ),
                        ));
                    }
                    set_field(unit.as_mut(), f, text);
                } else if local.as_ref() == "hsaUnit"
                    && let Some(done) = unit.take()
                {
                    add_unit(file, done, &mut out, &mut first_of)?;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn set_field(unit: Option<&mut Partial>, field: Field, text: String) {
    let Some(unit) = unit else { return };
    match field {
        Field::HsaId => unit.hsa_id = Some(text),
        Field::Dn => unit.dn = Some(normalise_dn(&text)),
        Field::Name => unit.name = Some(text),
    }
}

fn add_unit(
    file: &str,
    unit: Partial,
    out: &mut HsaFile,
    first_of: &mut HashMap<String, usize>,
) -> Result<(), HsaError> {
    let (Some(hsa_id), Some(dn), Some(name)) = (unit.hsa_id, unit.dn, unit.name) else {
        out.skipped += 1;
        return Ok(());
    };
    if hsa_id.trim().is_empty() {
        out.skipped += 1;
        return Ok(());
    }
    if let Some(&i) = first_of.get(&dn) {
        return Err(HsaError::DuplicateDn {
            file: file.to_string(),
            line: unit.line,
            dn,
            first: out.units[i].hsa_id.clone(),
            second: hsa_id,
        });
    }
    first_of.insert(dn.clone(), out.units.len());
    out.units.push(HsaUnit { hsa_id, dn, name });
    Ok(())
}

/// No parent in the tree.
const NO_PARENT: u32 = u32::MAX;

/// A unit of the tree: its HSA-id and the position of its parent unit.
#[derive(Debug, Clone)]
struct Node {
    hsa_id: Box<str>,
    parent: u32,
}

/// The HSA tree: units by HSA-id, each with its parent. Immutable once built.
#[derive(Debug, Clone, Default)]
pub struct HsaTree {
    nodes: Vec<Node>,
    by_id: HashMap<Box<str>, u32>,
}

impl HsaTree {
    /// The tree of no file: every HSA-id has the parent `SE`.
    pub fn empty() -> HsaTree {
        HsaTree::default()
    }

    /// The union of the files' units (a later file's unit replaces an earlier one with the
    /// same DN), each linked to its nearest ancestor DN present. Where two DNs have the same
    /// HSA-id, the unit read last is the one looked up (hsa-cache keeps one of them too).
    /// Linear in the number of units times the DN depth.
    pub fn build(files: Vec<HsaFile>) -> HsaTree {
        let mut by_dn: HashMap<String, u32> = HashMap::new();
        let mut units: Vec<HsaUnit> = Vec::new();
        for file in files {
            for unit in file.units {
                match by_dn.get(&unit.dn) {
                    Some(&i) => units[i as usize] = unit,
                    None => {
                        by_dn.insert(unit.dn.clone(), pos(units.len()));
                        units.push(unit);
                    }
                }
            }
        }
        let mut nodes = Vec::with_capacity(units.len());
        let mut by_id = HashMap::with_capacity(units.len());
        for (i, unit) in units.iter().enumerate() {
            // The ancestors' DNs are the suffixes after each comma.
            let parent = unit
                .dn
                .match_indices(',')
                .find_map(|(at, _)| by_dn.get(&unit.dn[at + 1..]).copied())
                .unwrap_or(NO_PARENT);
            nodes.push(Node {
                hsa_id: unit.hsa_id.as_str().into(),
                parent,
            });
            by_id.insert(unit.hsa_id.as_str().into(), pos(i));
        }
        HsaTree { nodes, by_id }
    }

    /// Number of HSA-ids in the tree (hsa-cache's cache size).
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the tree holds no unit.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The parent of `hsa_id`: its parent unit's HSA-id, or `SE` for a unit without one and
    /// an HSA-id not in the tree (hsa-cache's `getParent`).
    pub fn parent(&self, hsa_id: &str) -> &str {
        self.climb(hsa_id).next().unwrap_or(HSA_ROOT)
    }

    /// The addresses VP's HSA climb tries for `hsa_id`, in order: each ancestor unit's HSA-id,
    /// then `SE` (takdatahandler's loop stops when `getParent` answers its `SE` constant, so a
    /// unit named `SE` at the top is followed by `SE` once more, as there). Never empty.
    pub fn climb<'t>(&'t self, hsa_id: &str) -> Climb<'t> {
        Climb {
            tree: self,
            at: self.by_id.get(hsa_id).copied().unwrap_or(NO_PARENT),
            done: false,
        }
    }
}

fn pos(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(NO_PARENT)
}

/// The addresses of an HSA climb ([`HsaTree::climb`]). Allocates nothing; ends after `SE`.
#[derive(Debug, Clone)]
pub struct Climb<'t> {
    tree: &'t HsaTree,
    /// The unit last returned (or the start), [`NO_PARENT`] when not in the tree.
    at: u32,
    done: bool,
}

impl<'t> Iterator for Climb<'t> {
    type Item = &'t str;

    fn next(&mut self) -> Option<&'t str> {
        if self.done {
            return None;
        }
        let parent = self
            .tree
            .nodes
            .get(self.at as usize)
            .map_or(NO_PARENT, |n| n.parent);
        match self.tree.nodes.get(parent as usize) {
            Some(p) => {
                self.at = parent;
                Some(&p.hsa_id)
            }
            None => {
                self.done = true;
                Some(HSA_ROOT)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<HsaUnitsResponse xmlns="urn:riv:hsa:HsaWsResponder:3">
  <startDate>2013-03-15T15:38:42.597+01:00</startDate>
  <endDate>2013-03-15T15:38:45.721+01:00</endDate>
  <hsaUnits>
    <hsaUnit>
      <hsaIdentity>UNIT</hsaIdentity>
      <DN>ou=Vårdcentralen , ou=Primärvård,o=Region &amp; Län,l=Län,c=SE</DN>
      <name>Vårdcentralen</name>
    </hsaUnit>
    <hsaUnit>
      <hsaIdentity>REGION</hsaIdentity>
      <DN>o=Region &amp; Län,l=Län,c=SE</DN>
      <name>Regionen</name>
    </hsaUnit>
    <hsaUnit>
      <hsaIdentity>NO-NAME</hsaIdentity>
      <DN>ou=X,c=SE</DN>
    </hsaUnit>
  </hsaUnits>
</HsaUnitsResponse>
"#;

    fn tree(files: &[&str]) -> HsaTree {
        HsaTree::build(
            files
                .iter()
                .enumerate()
                .map(|(i, f)| parse_file(&format!("f{i}"), f.as_bytes()).unwrap())
                .collect(),
        )
    }

    #[test]
    fn units_are_read_with_trimmed_dns_and_incomplete_ones_skipped() {
        let f = parse_file("hsacache.xml", SAMPLE.as_bytes()).unwrap();
        assert_eq!(f.skipped, 1);
        assert_eq!(f.units.len(), 2);
        assert_eq!(f.units[0].hsa_id, "UNIT");
        assert_eq!(
            f.units[0].dn,
            "ou=Vårdcentralen,ou=Primärvård,o=Region & Län,l=Län,c=SE"
        );
        assert_eq!(f.units[1].name, "Regionen");
    }

    #[test]
    fn the_parent_is_the_nearest_ancestor_present_else_se() {
        let t = tree(&[SAMPLE]);
        assert_eq!(t.len(), 2);
        assert_eq!(t.parent("UNIT"), "REGION");
        assert_eq!(t.parent("REGION"), "SE");
        assert_eq!(t.parent("UNKNOWN"), "SE");
        // Case-sensitive, as hsa-cache's HashMap.
        assert_eq!(t.parent("unit"), "SE");
        assert_eq!(t.climb("UNIT").collect::<Vec<_>>(), ["REGION", "SE"]);
        assert_eq!(t.climb("X").collect::<Vec<_>>(), ["SE"]);
        assert_eq!(HsaTree::empty().climb("SE").collect::<Vec<_>>(), ["SE"]);
    }

    #[test]
    fn a_unit_named_se_at_the_top_is_followed_by_se_once_more() {
        let se = r#"<HsaUnitsResponse xmlns="urn:riv:hsa:HsaWsResponder:3"><hsaUnits>
            <hsaUnit><hsaIdentity>SE</hsaIdentity><DN>c=SE</DN><name>Sverige</name></hsaUnit>
            </hsaUnits></HsaUnitsResponse>"#;
        let t = tree(&[SAMPLE, se]);
        assert_eq!(t.climb("UNIT").collect::<Vec<_>>(), ["REGION", "SE", "SE"]);
    }

    #[test]
    fn a_later_file_replaces_a_unit_with_the_same_dn() {
        let other = r#"<HsaUnitsResponse><hsaUnits><hsaUnit><hsaIdentity>REGION2</hsaIdentity>
            <DN>o=Region &amp; Län, l=Län, c=SE</DN><name>Ny</name></hsaUnit></hsaUnits></HsaUnitsResponse>"#;
        let t = tree(&[SAMPLE, other]);
        assert_eq!(t.parent("UNIT"), "REGION2");
        assert_eq!(t.parent("REGION"), "SE");
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_duplicate_dn_in_one_file_names_file_line_and_dn() {
        let dup = "<HsaUnitsResponse><hsaUnits>\n<hsaUnit><hsaIdentity>A</hsaIdentity><DN>ou=a,c=SE</DN><name>a</name></hsaUnit>\n<hsaUnit><hsaIdentity>B</hsaIdentity><DN>ou=a, c=SE</DN><name>b</name></hsaUnit>\n</hsaUnits></HsaUnitsResponse>";
        let e = parse_file("hsa/dup.xml", dup.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "hsa/dup.xml: line 3: duplicate DN \"ou=a,c=SE\" (hsaIdentity B; first given for A)"
        );
    }

    #[test]
    fn broken_xml_names_file_and_line() {
        let e = parse_file("x.xml", b"<a>\n<hsaUnit><DN>c=SE</name>").unwrap_err();
        assert!(e.to_string().starts_with("x.xml: line 2: "), "{e}");
        assert!(parse_file("y.xml", b"<a><b></a>").is_err());
    }
}
