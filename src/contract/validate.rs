//! Validation of a ProcessCervixScreeningInformation request against the contract: the
//! schema (element order, cardinality, namespaces, the date pattern, extension points) and the
//! TKB's field rules (OIDs, personnummer, `careGiver`/`careUnit` forbidden under
//! `sendingRegion`, the care programme's code lists). Pure: no IO.
//!
//! (Stub: the full implementation replaces this file.)

use serde::{Deserialize, Serialize};

/// SNOMED CT, the code system of every CV in this contract.
pub const SNOMED_CT_OID: &str = "1.2.752.116.2.1.1";

/// The code lists the mock producers check. The TKB says the selection "kan komma att
/// förändras vid förändringar i vårdprogrammet", so they are configuration, with the TKB's
/// lists as defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodeLists {
    /// `codeSystem` every CV must carry (SNOMED CT).
    pub code_system: String,
    /// `exclusion/reason/code`.
    pub exclusion_reasons: Vec<String>,
    /// `followUpGroups/type/code`.
    pub follow_up_groups: Vec<String>,
    /// `specimen/HPVstatusList/value/code`.
    pub hpv_statuses: Vec<String>,
}

impl Default for CodeLists {
    fn default() -> Self {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
        CodeLists {
            code_system: SNOMED_CT_OID.to_string(),
            exclusion_reasons: v(&["31021000119100", "116140006", "702371008"]),
            follow_up_groups: v(&[
                "59461000052109",
                "59291000052102",
                "59321000052109",
                "59301000052103",
            ]),
            hpv_statuses: v(&[
                "59291000052102",
                "59321000052109",
                "59301000052103",
                "59311000052101",
            ]),
        }
    }
}

/// One violation of the schema or a TKB rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Element path below the body element, e.g.
    /// `cervixScreeningInformation/subjectOfCare/personId/extension`;
    /// repeatable elements carry a 1-based index: `followUpGroups[2]`.
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
    /// Every violation, in document order; empty when the message is valid.
    pub violations: Vec<Violation>,
    /// `subjectOfCare/personId/extension` as sent, if present.
    pub personnummer: Option<String>,
    /// `sendingRegion/region/id/extension` as sent, if present.
    pub sending_region: Option<String>,
    /// The scenario the content represents.
    pub scenario: Scenario,
}

/// Checks a whole SOAP envelope.
pub fn validate(envelope: &[u8], lists: &CodeLists) -> Outcome {
    let _ = (envelope, lists);
    Outcome::Technical("validation not implemented yet".into())
}

/// The `resultText` for a non-empty list of violations: one line per violation,
/// `<path>: <message>`, after a first line counting them.
pub fn report(violations: &[Violation]) -> String {
    let mut s = format!(
        "{} violation(s) of ProcessCervixScreeningInformation 1.0 (schema and TKB rules):",
        violations.len()
    );
    for v in violations {
        s.push('\n');
        s.push_str(&v.path);
        s.push_str(": ");
        s.push_str(&v.message);
    }
    s
}
