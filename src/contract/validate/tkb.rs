//! The TKB's rules on values: OIDs, the personnummer, the date pattern and the care
//! programme's code lists.

use super::SNOMED_CT_OID;
use super::schema::{List, Value};
use super::walk::{Checker, quote};
use crate::contract::{HSA_ID_OID, PERSONNUMMER_OID};

impl Checker<'_> {
    pub(super) fn value(&mut self, rule: Value, value: &str, path: &str) {
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
