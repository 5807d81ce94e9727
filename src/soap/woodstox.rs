//! Parser messages in the shape of VP's XML parser (Woodstox), for VP015's details.
//!
//! VP puts the parser's message alone in VP015's `detailString`: the text, a newline, and
//! ` at [row,col {unknown-source}]: [r,c]`. Woodstox reports the place of the last character
//! it read: rows and columns count from 1, a line ends at `\n`, `\r\n` or `\r`, and columns
//! count UTF-16 code units (Java's `char`), so a character outside the Basic Multilingual Plane
//! takes two. At the end of the input the last character read is the last one of the
//! document: the column is the length of the last line (`[1,0]` for an empty body).
//!
//! This module only formats: which message fits which error is [`super::sniff`]'s business.
//! It does no IO.

/// Woodstox's description of a character in a message (`getCharDesc`): `'s' (code 115)`,
/// `'€' (code 8364 / 0x20ac)` above 255, `(CTRL-CHAR, code 1)` for a control character.
pub(crate) fn char_desc(c: char) -> String {
    let code = u32::from(c);
    if c.is_control() {
        return format!("(CTRL-CHAR, code {code})");
    }
    if code > 255 {
        return format!("'{c}' (code {code} / 0x{code:x})");
    }
    format!("'{c}' (code {code})")
}

/// Woodstox's `throwUnexpectedChar`: `Unexpected character 's' (code 115)` + `suffix`.
pub(crate) fn unexpected_char(c: char, suffix: &str) -> String {
    format!("Unexpected character {}{suffix}", char_desc(c))
}

/// Woodstox's message for a character XML 1.0 does not allow (a C0 control other than tab,
/// line feed and carriage return).
pub(crate) fn illegal_char(c: char) -> String {
    if c == '\0' {
        "Illegal character (NULL, unicode 0) encountered: not valid in any content".to_owned()
    } else {
        format!("Illegal character ({})", char_desc(c))
    }
}

/// `message` + newline + ` at [row,col {unknown-source}]: [row,col]`.
pub(crate) fn with_location(message: &str, (row, col): (usize, usize)) -> String {
    format!("{message}\n at [row,col {{unknown-source}}]: [{row},{col}]")
}

/// Row and column of the character that starts at byte `offset` of `body` (an offset at or
/// past the end gives [`end_location`]).
pub(crate) fn char_location(body: &[u8], offset: usize) -> (usize, usize) {
    if offset >= body.len() {
        return end_location(body);
    }
    let (row, col) = end_location(&body[..offset]);
    (row, col + 1)
}

/// Row and column after the whole of `body` was read: the last line's length in UTF-16 units.
pub(crate) fn end_location(body: &[u8]) -> (usize, usize) {
    let mut row = 1;
    let mut col = 0;
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        match b {
            b'\r' => {
                row += 1;
                col = 0;
                if body.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => {
                row += 1;
                col = 0;
            }
            // UTF-8 continuation bytes belong to the character before them.
            _ if b & 0xC0 == 0x80 => {}
            // A four-byte sequence is a surrogate pair in Java.
            _ if b >= 0xF0 => col += 2,
            _ => col += 1,
        }
        i += 1;
    }
    (row, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_are_described_as_woodstox_does() {
        assert_eq!(
            unexpected_char('s', " expected '='"),
            "Unexpected character 's' (code 115) expected '='"
        );
        assert_eq!(char_desc('\u{1}'), "(CTRL-CHAR, code 1)");
        assert_eq!(char_desc('é'), "'é' (code 233)");
        assert_eq!(char_desc('€'), "'€' (code 8364 / 0x20ac)");
        assert_eq!(
            illegal_char('\u{1f}'),
            "Illegal character ((CTRL-CHAR, code 31))"
        );
        assert_eq!(
            illegal_char('\0'),
            "Illegal character (NULL, unicode 0) encountered: not valid in any content"
        );
    }

    #[test]
    fn locations_count_rows_and_utf16_columns() {
        assert_eq!(end_location(b""), (1, 0));
        assert_eq!(end_location(b"<a><b>"), (1, 6));
        assert_eq!(end_location(b"a\r\nbc"), (2, 2));
        assert_eq!(end_location(b"a\rb\n"), (3, 0));
        assert_eq!(char_location(b"<a x>", 3), (1, 4));
        assert_eq!(char_location("å😀x".as_bytes(), 6), (1, 4));
        assert_eq!(char_location(b"a\r\nb", 3), (2, 1));
        assert_eq!(
            with_location("Unexpected EOF in prolog", (1, 0)),
            "Unexpected EOF in prolog\n at [row,col {unknown-source}]: [1,0]"
        );
    }
}
