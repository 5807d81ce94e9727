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
pub(super) fn is_date(v: &str) -> bool {
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
