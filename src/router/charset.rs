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

/// The `encoding` value of the XML declaration at the start of `start`, if any.
fn declaration_encoding(start: &[u8]) -> Option<&str> {
    let head = std::str::from_utf8(&start[..start.len().min(PREFIX_BYTES)])
        .or_else(|e| std::str::from_utf8(&start[..e.valid_up_to()]))
        .ok()?;
    let (value, _) = encoding_value(head)?;
    Some(value)
}

/// The XML declaration's `encoding` value in `text` and its byte range.
fn encoding_value(text: &str) -> Option<(&str, std::ops::Range<usize>)> {
    let declaration = &text[..text.find("?>")?];
    if !declaration.starts_with("<?xml") {
        return None;
    }
    let after = declaration.find("encoding")? + "encoding".len();
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
}
