//! Requests in another encoding than UTF-8, as VP handles them: a request declared in, say,
//! ISO-8859-1 (its XML declaration's `encoding`, else its `Content-Type` charset) is converted
//! to UTF-8 towards the producer, its declaration saying so, and the producer's answer is
//! converted back, with `Content-Type: text/xml; charset=<the request's encoding>`.
//!
//! A request in UTF-8, or declaring nothing, is never looked at past its first bytes. Only
//! converts; the pipeline decides when.

use bytes::Bytes;
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// How far into a body its XML declaration may end: what the pipeline looks at first.
pub const PREFIX_BYTES: usize = 256;

/// A request's encoding other than UTF-8, as the request names it.
#[derive(Debug, Clone)]
pub struct Declared {
    encoding: &'static Encoding,
    /// The name as the request gave it (for the answer's `Content-Type`).
    label: String,
}

impl Declared {
    /// The encoding a request declares, when it is not UTF-8: its byte order mark, else the
    /// `encoding` of its XML declaration, else `content_type`'s `charset`. `None` for UTF-8,
    /// nothing declared, or a name no encoding has (the parser then reports the bytes).
    pub fn of(content_type: Option<&str>, start: &[u8]) -> Option<Declared> {
        if let Some((bom, _)) = Encoding::for_bom(start) {
            return (bom != UTF_8).then(|| Declared {
                encoding: bom,
                label: bom.name().to_owned(),
            });
        }
        let label = match declaration_encoding(start) {
            Some(label) => label,
            None => content_type?
                .split(';')
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
                .map(|(_, v)| v.trim().trim_matches('"'))?,
        };
        // Nearly every request says UTF-8: answered without the label lookup or a copy.
        if label.eq_ignore_ascii_case("utf-8") || label.eq_ignore_ascii_case("utf8") {
            return None;
        }
        let encoding = Encoding::for_label(label.as_bytes())?;
        (encoding != UTF_8).then(|| Declared {
            encoding,
            label: label.to_owned(),
        })
    }

    /// The request in UTF-8, its XML declaration saying `UTF-8`.
    pub fn to_utf8(&self, body: &[u8]) -> Bytes {
        let (text, _, _) = self.encoding.decode(body);
        Bytes::from(with_declared_encoding(&text, "UTF-8").into_bytes())
    }

    /// A producer's UTF-8 answer in the request's encoding (its declaration, if any, saying
    /// so). Characters the encoding lacks become numeric character references.
    pub fn from_utf8(&self, answer: &[u8]) -> Bytes {
        let text = String::from_utf8_lossy(answer);
        let text = with_declared_encoding(&text, &self.label);
        if self.encoding == UTF_16LE || self.encoding == UTF_16BE {
            let big = self.encoding == UTF_16BE;
            let mut out = Vec::with_capacity(text.len() * 2);
            for unit in text.encode_utf16() {
                out.extend_from_slice(&if big {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                });
            }
            return Bytes::from(out);
        }
        let (bytes, _, _) = self.encoding.encode(&text);
        Bytes::from(bytes.into_owned())
    }

    /// `text/xml; charset=<label>` for the answer.
    pub fn content_type(&self) -> String {
        format!("text/xml; charset={}", self.label)
    }
}

/// The `encoding` value of the XML declaration at the start of `start`, if any. Only the
/// declaration is read as text: a body that does not open with `<?xml` (after its byte order
/// mark was looked for) is left at once; the declaration nearly every request opens with is
/// recognised whole; for others its end is found by `memchr`, not a `str` search.
fn declaration_encoding(start: &[u8]) -> Option<&str> {
    /// The declaration of nearly every request (SoapUI's, Java's, .NET's): UTF-8.
    const COMMON: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    if start.starts_with(COMMON) {
        return Some("UTF-8");
    }
    let head = &start[..start.len().min(PREFIX_BYTES)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = declaration_end(head)?;
    let declaration = std::str::from_utf8(&head[..end]).ok()?;
    let (value, _) = declared_value(declaration)?;
    Some(value)
}

/// Where the first `?>` in `bytes` starts.
fn declaration_end(bytes: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'?', bytes).find(|&i| bytes.get(i + 1) == Some(&b'>'))
}

/// The XML declaration's `encoding` value in `text` and its byte range.
fn encoding_value(text: &str) -> Option<(&str, std::ops::Range<usize>)> {
    let end = declaration_end(text.as_bytes())?;
    declared_value(&text[..end])
}

/// The `encoding` value in `declaration` (an XML declaration without its `?>`) and its range.
fn declared_value(declaration: &str) -> Option<(&str, std::ops::Range<usize>)> {
    if !declaration.starts_with("<?xml") {
        return None;
    }
    // A declaration is a few dozen bytes: a plain scan, no searcher to build.
    let after = declaration
        .as_bytes()
        .windows(b"encoding".len())
        .position(|w| w == b"encoding")?
        + "encoding".len();
    let rest = declaration[after..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
    let start = declaration.len() - rest.len() + 1;
    let len = declaration[start..].find(quote)?;
    Some((&declaration[start..start + len], start..start + len))
}

/// `text` with its XML declaration's `encoding` (if it has one) set to `name`.
fn with_declared_encoding(text: &str, name: &str) -> String {
    match encoding_value(text) {
        Some((_, range)) => format!("{}{name}{}", &text[..range.start], &text[range.end..]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_and_undeclared_bodies_are_left_alone() {
        assert!(Declared::of(None, b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>").is_none());
        assert!(Declared::of(Some("text/xml; charset=utf-8"), b"<a/>").is_none());
        assert!(Declared::of(None, b"<a/>").is_none());
        assert!(Declared::of(Some("text/xml; charset=nonsense"), b"<a/>").is_none());
    }

    #[test]
    fn latin1_goes_to_utf8_and_back() {
        let body = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>V\xe4st</a>";
        let d = Declared::of(Some("text/xml"), body).unwrap();
        assert_eq!(
            &d.to_utf8(body)[..],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>Väst</a>".as_bytes()
        );
        let answer = "<?xml version='1.0' encoding='UTF-8'?><b>Öst</b>";
        assert_eq!(
            &d.from_utf8(answer.as_bytes())[..],
            b"<?xml version='1.0' encoding='ISO-8859-1'?><b>\xd6st</b>"
        );
        assert_eq!(d.content_type(), "text/xml; charset=ISO-8859-1");
        // Declared in the header only.
        let d = Declared::of(Some("text/xml; charset=\"iso-8859-1\""), b"<a/>").unwrap();
        assert_eq!(d.content_type(), "text/xml; charset=iso-8859-1");
    }

    #[test]
    fn declarations_are_read_past_the_common_one() {
        let label =
            |body: &[u8]| Declared::of(Some("text/xml; charset=UTF-8"), body).map(|d| d.label);
        // The declaration, not the header, decides; quotes of either kind, spaces around `=`.
        assert_eq!(
            label(b"<?xml version='1.0' encoding = 'windows-1252' ?><a/>").as_deref(),
            Some("windows-1252")
        );
        // A `?` before the declaration's end does not end it.
        assert_eq!(
            label(b"<?xml version=\"1.0?\" encoding=\"ISO-8859-1\"?><a/>").as_deref(),
            Some("ISO-8859-1")
        );
        // `encoding` after the declaration is not the declaration's.
        assert_eq!(
            label(b"<?xml version=\"1.0\"?><a encoding=\"ISO-8859-1\"/>"),
            None
        );
        // Not at the start: no declaration, and the header says UTF-8.
        assert_eq!(
            label(b" <?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>"),
            None
        );
        // The common declaration, and one in other letters, are UTF-8.
        assert_eq!(
            label(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>"),
            None
        );
        assert_eq!(
            label(b"<?xml version=\"1.0\" encoding=\"utf-8\"?><a/>"),
            None
        );
        // A declaration that never ends within the first bytes declares nothing.
        let mut long = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"".to_vec();
        long.extend(std::iter::repeat_n(b' ', PREFIX_BYTES));
        long.extend(b"?><a/>");
        assert_eq!(label(&long), None);
    }
}
