//! SOAP as VP handles it: the streaming sniff of a request, the VP fault, and RIVTA profile
//! conversion.
//!
//! - [`sniff`]: header + first body element of a request (logical address, profile, contract).
//! - [`fault`]: every VP error (VP001–VP015) with its exact texts, written as a SOAP 1.1 fault;
//!   also a reader for any SOAP 1.1 fault.
//! - [`rivta`]: RIVTABP20 ⇄ RIVTABP21 conversion by splicing the address header element.
//! - `woodstox`: parser messages in the shape of VP's parser, for VP015.
//!
//! This is pure core: no IO, no sockets, nothing from the router, mocks or servers. No module here
//! builds a DOM; everything reads events and stops as soon as it has what it needs.

pub mod fault;
pub mod rivta;
pub mod sniff;
pub(crate) mod woodstox;

pub use fault::{ParsedFault, VpCode, VpFault, parse_fault};
pub use sniff::{Profile, SniffError, Sniffed, SniffedRef, sniff, sniff_ref};

use std::borrow::Cow;

use quick_xml::events::BytesRef;

/// Escapes text for XML element content or a double-quoted attribute: `&`, `<`, `>`, `"`.
/// Characters XML 1.0 does not allow at all (most C0 controls) become U+FFFD, so that
/// whatever a caller passes (e.g. a parser message quoting bad input) yields well-formed XML.
///
/// The crate's one XML escaper. Not `quick_xml::escape`: `escape` also writes `'` as
/// `&apos;` (changing the bytes of fault texts VP's own carry as `'`), `partial_escape` leaves
/// `"` (needed in attributes), and neither replaces the forbidden characters.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    let needs = |c: char| matches!(c, '&' | '<' | '>' | '"') || !allowed_in_xml(c);
    if !s.contains(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if !allowed_in_xml(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The text an entity or character reference stands for: the five predefined entities and
/// `&#N;`/`&#xH;`. `None` for anything else (an undeclared entity, an invalid code point).
/// The crate's one entity resolver (the sniff, the contract's validator, the TAK read API).
pub(crate) fn ref_text(r: &BytesRef<'_>) -> Option<Cow<'static, str>> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) if allowed_in_xml(c) => Some(Cow::Owned(c.to_string())),
            _ => None,
        };
    }
    // The five entities XML predefines, and no others: quick-xml's own resolver also knows
    // HTML's whenever any crate in the build enables its `escape-html` feature.
    let text = match r.xml10_content().as_ref() {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    };
    Some(Cow::Borrowed(text))
}

/// `at [row,col]: [R,C] (byte N)` for a byte offset, both 1-based, columns in characters,
/// in the style of the Java parser messages VP puts in VP015's details.
pub(crate) fn xml_position(body: &[u8], offset: u64) -> String {
    let offset = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(body.len());
    let before = &body[..offset];
    let row = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    // Count characters, not bytes: skip UTF-8 continuation bytes.
    let col = before[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
        + 1;
    format!("at [row,col]: [{row},{col}] (byte {offset})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_invalid_characters() {
        assert_eq!(escape_text("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c'");
        assert_eq!(escape_text("ok åäö"), "ok åäö");
        assert!(matches!(escape_text("plain"), Cow::Borrowed(_)));
        assert_eq!(escape_text("x\u{0}y\u{1b}z\tw"), "x\u{FFFD}y\u{FFFD}z\tw");
    }

    #[test]
    fn positions_are_one_based_rows_and_character_columns() {
        let body = "ab\ncå<".as_bytes();
        assert_eq!(xml_position(body, 0), "at [row,col]: [1,1] (byte 0)");
        assert_eq!(xml_position(body, 3), "at [row,col]: [2,1] (byte 3)");
        assert_eq!(xml_position(body, 6), "at [row,col]: [2,3] (byte 6)");
        assert_eq!(xml_position(body, 99), "at [row,col]: [2,4] (byte 7)");
    }
}
