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
//! One job per file: `read` (step 1) builds the `tree`; `walk` (step 2) follows the
//! `schema` tables, whose value rules are in `tkb`; `scenario` names what a message carries.
//!
//! It does not check attributes of the `xsi` namespace, the content of extension elements
//! (`xs:any processContents="lax"`, of which the contract has no schemas), anything outside
//! the body element, nor the SOAP header (the router and the mocks do that).

mod read;
mod scenario;
mod schema;
#[cfg(test)]
mod tests;
mod tkb;
mod tree;
mod walk;

use serde::{Deserialize, Serialize};

use super::{CORE_NS, RESPONDER_NS};
use crate::vocab::{
    CodeLists, DEFAULT_MAX_ATTRIBUTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_VIOLATIONS, SNOMED_CT_OID,
};
use read::read;
pub use scenario::Scenario;
use schema::PROCESS;
use walk::Checker;

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
