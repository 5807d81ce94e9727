//! Natural keys compared as TAK compares them: case-insensitively, with the semantics of
//! `a.to_lowercase() == b.to_lowercase()` (MySQL's default collation, Java's
//! `equalsIgnoreCase`), but without allocating.
//!
//! [`ci_eq`] compares and [`KeyHasher`] hashes the lower-case form of one or more strings, so
//! a hash table can be probed with a request's logical address as it came. ASCII text (every
//! HSA-id, namespace and URL TAK accepts) takes a fast path of byte-wise folding; other text is
//! folded char by char with `char::to_lowercase`. The one context-dependent rule of
//! `str::to_lowercase` (a final capital sigma becomes `ς`) makes strings holding `Σ` fall back
//! to `str::to_lowercase`, the only case that allocates. Ids (`u64`) hash as they are.
//!
//! Nothing here knows tables or rows; the indexes of [`super::store`] and [`super::snapshot`]
//! use it.

use std::hash::{BuildHasher, Hasher};

/// A fixed seed, so a key hashes the same in every index and every process (deterministic
/// behaviour; the inputs are orders and requests, not a hash-flooding surface worth a random
/// seed for a testbed).
const SEED: u64 = 0x6e74_6a70_2d74_616b;

/// Capital sigma, the one letter whose lower case depends on its neighbours.
const SIGMA: char = '\u{3a3}';

/// Whether `a` and `b` are equal ignoring case, exactly as `a.to_lowercase() ==
/// b.to_lowercase()`.
pub fn ci_eq(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    if a.contains(SIGMA) || b.contains(SIGMA) {
        return a.to_lowercase() == b.to_lowercase();
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// Hashes the parts of a key: strings by their lower-case form, ids as they are. Two keys
/// whose parts are pairwise [`ci_eq`] (and equal ids) hash alike.
pub struct KeyHasher {
    hasher: foldhash::fast::FoldHasher<'static>,
    buf: [u8; 64],
    used: usize,
}

impl Default for KeyHasher {
    fn default() -> Self {
        KeyHasher::new()
    }
}

impl KeyHasher {
    /// A hasher with nothing written.
    pub fn new() -> Self {
        KeyHasher {
            hasher: foldhash::fast::FixedState::with_seed(SEED).build_hasher(),
            buf: [0; 64],
            used: 0,
        }
    }

    fn byte(&mut self, b: u8) {
        if self.used == self.buf.len() {
            self.hasher.write(&self.buf);
            self.used = 0;
        }
        self.buf[self.used] = b;
        self.used += 1;
    }

    fn char(&mut self, c: char) {
        let mut utf8 = [0u8; 4];
        for &b in c.encode_utf8(&mut utf8).as_bytes() {
            self.byte(b);
        }
    }

    /// Adds ASCII bytes lower-cased, a buffer's worth at a time (the same bytes reach the
    /// hasher in the same pieces as [`byte`](Self::byte) by byte would give).
    fn ascii_lowercase(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.used == self.buf.len() {
                self.hasher.write(&self.buf);
                self.used = 0;
            }
            let n = (self.buf.len() - self.used).min(bytes.len());
            let room = &mut self.buf[self.used..self.used + n];
            room.copy_from_slice(&bytes[..n]);
            room.make_ascii_lowercase();
            self.used += n;
            bytes = &bytes[n..];
        }
    }

    /// Adds a string by its lower-case form, followed by a separator no UTF-8 text contains.
    pub fn text(&mut self, s: &str) -> &mut Self {
        let bytes = s.as_bytes();
        // ASCII fast path; the bytes written are those of `to_lowercase` either way.
        let i = if s.is_ascii() {
            bytes.len()
        } else {
            bytes
                .iter()
                .position(|b| !b.is_ascii())
                .unwrap_or(bytes.len())
        };
        self.ascii_lowercase(&bytes[..i]);
        if i < bytes.len() {
            if s[i..].contains(SIGMA) {
                // The ASCII prefix lower-cases to the bytes already written; the rest is taken
                // from the whole string's `to_lowercase`, which sees the sigma's context.
                let full = s.to_lowercase();
                for &b in &full.as_bytes()[i..] {
                    self.byte(b);
                }
            } else {
                for c in s[i..].chars().flat_map(char::to_lowercase) {
                    self.char(c);
                }
            }
        }
        self.byte(0xff);
        self
    }

    /// Adds a string as it is (case-sensitive, e.g. a URL), followed by the separator.
    pub fn exact(&mut self, s: &str) -> &mut Self {
        for &b in s.as_bytes() {
            self.byte(b);
        }
        self.byte(0xff);
        self
    }

    /// Adds an id.
    pub fn id(&mut self, id: u64) -> &mut Self {
        for b in id.to_le_bytes() {
            self.byte(b);
        }
        self
    }

    /// The hash of everything added.
    pub fn finish(&mut self) -> u64 {
        if self.used > 0 {
            self.hasher.write(&self.buf[..self.used]);
            self.used = 0;
        }
        self.hasher.finish()
    }
}

/// The hash of one string key, case-insensitive.
pub fn ci_hash(s: &str) -> u64 {
    KeyHasher::new().text(s).finish()
}

/// Combines two finished hashes (e.g. a contract's and an address's) into a key's hash.
pub fn combine(a: u64, b: u64) -> u64 {
    // A multiply-xorshift mix (as in splitmix64) so that (a, b) and (b, a) differ.
    let mut x = a.rotate_left(29) ^ b.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 29)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) -> bool {
        a.to_lowercase() == b.to_lowercase()
    }

    #[test]
    fn equality_and_hash_follow_to_lowercase() {
        let cases = [
            ("LOAD-MOCKS", "load-mocks"),
            ("SE2321000016-abcd", "se2321000016-ABCD"),
            ("urn:riv:X:1", "URN:RIV:x:1"),
            ("Östergötland", "östergötland"),
            ("ÅÄÖ", "åäö"),
            ("\u{212a}elvin", "kelvin"), // KELVIN SIGN lower-cases to ASCII k
            ("ΟΔΟΣ", "οδος"),            // final sigma: ς on both sides
            ("ΟΔΟΣ", "οδοσ"),
            ("ΣΑ", "σα"),
            ("aΣ", "aς"),
            ("1Σ", "1σ"),
            ("İ", "i\u{307}"),
            ("a", "b"),
            ("", ""),
            ("", "x"),
            ("abc", "abcd"),
        ];
        let (long_a, long_b) = ("Ab".repeat(100), "aB".repeat(100));
        let cases = cases
            .into_iter()
            .chain([(long_a.as_str(), long_b.as_str())]);
        for (a, b) in cases {
            let expected = same(a, b);
            assert_eq!(ci_eq(a, b), expected, "{a:?} {b:?}");
            assert_eq!(ci_eq(b, a), expected, "{b:?} {a:?}");
            if expected {
                assert_eq!(ci_hash(a), ci_hash(b), "{a:?} {b:?}");
            } else {
                assert_ne!(ci_hash(a), ci_hash(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn the_ascii_path_hashes_as_byte_by_byte_lower_casing() {
        for s in [
            "",
            "A",
            &"urn:RIV:x:1-".repeat(20),
            &format!("{}Ö{}", "Ab".repeat(40), "C"),
        ] {
            for prefix in ["", "x", &"y".repeat(63)] {
                let mut bytewise = KeyHasher::new();
                bytewise.text(prefix);
                for c in s.chars().flat_map(char::to_lowercase) {
                    bytewise.char(c);
                }
                bytewise.byte(0xff);
                let fast = KeyHasher::new().text(prefix).text(s).finish();
                assert_eq!(fast, bytewise.finish(), "{prefix:?} {s:?}");
            }
        }
    }

    #[test]
    fn parts_are_separated() {
        let h = |a: &str, b: &str| KeyHasher::new().text(a).text(b).finish();
        assert_ne!(h("ab", "c"), h("a", "bc"));
        assert_eq!(h("AB", "c"), h("ab", "C"));
        assert_ne!(
            KeyHasher::new().id(1).id(2).finish(),
            KeyHasher::new().id(2).id(1).finish()
        );
        assert_ne!(combine(1, 2), combine(2, 1));
    }
}
