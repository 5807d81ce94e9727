//! Request bodies with per-request values: a template is a body file with `{{logical_address}}`,
//! `{{personnummer}}` and `{{correlation_id}}` placeholders; a [`Pool`] holds it rendered in
//! advance so that sending a request costs a reference-count increment (or, with a correlation
//! id in the body, one copy of the body and a 36-byte write), never formatting.
//!
//! Pure: no IO. The caller reads the files and passes their text.

use bytes::{Bytes, BytesMut};

use crate::soap::escape_text;

/// A placeholder in a body template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// `{{logical_address}}`: the next address of `--addresses`, round-robin.
    LogicalAddress,
    /// `{{personnummer}}`: a valid 12-digit Swedish personnummer (with its Luhn check digit),
    /// different between requests.
    Personnummer,
    /// `{{correlation_id}}`: unique per request, also sent as `x-skltp-correlation-id`.
    CorrelationId,
}

impl Var {
    const ALL: [(&'static str, Var); 3] = [
        ("logical_address", Var::LogicalAddress),
        ("personnummer", Var::Personnummer),
        ("correlation_id", Var::CorrelationId),
    ];
}

/// Why a template is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{name}}` with a name not in [`Var`].
    #[error(
        "line {line}: unknown placeholder {{{{{name}}}}} (known: {{{{logical_address}}}}, {{{{personnummer}}}}, {{{{correlation_id}}}})"
    )]
    Unknown {
        /// 1-based line.
        line: usize,
        /// What was between the braces.
        name: String,
    },
    /// `{{` without a closing `}}` on the same line.
    #[error("line {line}: {{{{ without a closing }}}}")]
    Unclosed {
        /// 1-based line.
        line: usize,
    },
}

#[derive(Debug, Clone)]
enum Segment {
    Text(String),
    Var(Var),
}

/// A parsed body template.
#[derive(Debug, Clone)]
pub struct Template {
    segments: Vec<Segment>,
}

impl Template {
    /// Parses `{{name}}` placeholders (spaces inside the braces allowed).
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        let mut rest = text;
        let mut consumed = 0;
        while let Some(open) = rest.find("{{") {
            let line = 1 + text[..consumed + open].matches('\n').count();
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .filter(|&c| !after[..c].contains('\n'))
                .ok_or(TemplateError::Unclosed { line })?;
            let name = after[..close].trim();
            let var = Var::ALL
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v)
                .ok_or_else(|| TemplateError::Unknown {
                    line,
                    name: name.to_owned(),
                })?;
            if open > 0 {
                segments.push(Segment::Text(rest[..open].to_owned()));
            }
            segments.push(Segment::Var(var));
            let used = open + 2 + close + 2;
            consumed += used;
            rest = &rest[used..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_owned()));
        }
        Ok(Template { segments })
    }

    /// Whether the template uses `var`.
    pub fn uses(&self, var: Var) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Var(v) if *v == var))
    }

    /// Whether the template has any placeholder.
    pub fn is_templated(&self) -> bool {
        self.segments.iter().any(|s| matches!(s, Segment::Var(_)))
    }

    /// Renders with these values; correlation-id slots are filled with `-` and their byte
    /// offsets returned.
    fn render(&self, address: &str, personnummer: &str) -> (Bytes, Vec<usize>) {
        let mut out = String::new();
        let mut slots = Vec::new();
        for s in &self.segments {
            match s {
                Segment::Text(t) => out.push_str(t),
                Segment::Var(Var::LogicalAddress) => out.push_str(&escape_text(address)),
                Segment::Var(Var::Personnummer) => out.push_str(personnummer),
                Segment::Var(Var::CorrelationId) => {
                    slots.push(out.len());
                    out.push_str(&"-".repeat(CorrelationIds::LEN));
                }
            }
        }
        (Bytes::from(out), slots)
    }
}

/// The Luhn check digit of the ten-digit form's first nine digits (`YYMMDDNNN`).
pub fn luhn_check_digit(nine: &[u8; 9]) -> u8 {
    let sum: u32 = nine
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let p = u32::from(*d) * if i % 2 == 0 { 2 } else { 1 };
            p / 10 + p % 10
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Whether `s` is a 12-digit personnummer `YYYYMMDDNNNC` whose check digit is right.
pub fn is_valid_personnummer(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 12 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut nine = [0u8; 9];
    for (n, c) in nine.iter_mut().zip(&b[2..11]) {
        *n = c - b'0';
    }
    luhn_check_digit(&nine) == b[11] - b'0'
}

/// SplitMix64: a tiny, good-enough mixer for test data (not for anything secret).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The `n`-th personnummer of a run: born 1950–2004, day 1–28, birth number 001–999, a valid
/// check digit. Never one of the mocks' trigger numbers (`19000101NNNN`, `189012139805`).
pub fn personnummer(seed: u64, n: u64) -> String {
    let r = mix(seed ^ mix(n));
    let year = 1950 + (r % 55) as u32;
    let month = 1 + ((r >> 8) % 12) as u32;
    let day = 1 + ((r >> 16) % 28) as u32;
    let serial = 1 + ((r >> 24) % 999) as u32;
    let head = format!("{year:04}{month:02}{day:02}{serial:03}");
    let mut nine = [0u8; 9];
    for (d, c) in nine.iter_mut().zip(&head.as_bytes()[2..]) {
        *d = c - b'0';
    }
    format!("{head}{}", luhn_check_digit(&nine))
}

/// Unique correlation ids of one run, in UUID layout: a random 20-hex-digit run prefix and a
/// 12-hex-digit sequence number, `rrrrrrrr-rrrr-4rrr-8rrr-ssssssssssss`.
#[derive(Debug, Clone)]
pub struct CorrelationIds {
    prefix: [u8; 24],
}

impl CorrelationIds {
    /// Length of an id.
    pub const LEN: usize = 36;

    /// A run prefix from 80 random bits.
    pub fn new(random: u128) -> Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut prefix = *b"00000000-0000-4000-8000-";
        let mut bits = random;
        for (i, b) in prefix.iter_mut().enumerate() {
            if matches!(i, 8 | 13 | 14 | 18 | 19 | 23) {
                continue;
            }
            *b = HEX[(bits & 15) as usize];
            bits >>= 4;
        }
        CorrelationIds { prefix }
    }

    /// Writes id number `seq` into `out`.
    pub fn write(&self, seq: u64, out: &mut [u8; Self::LEN]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out[..24].copy_from_slice(&self.prefix);
        for i in 0..12 {
            out[35 - i] = HEX[((seq >> (4 * i)) & 15) as usize];
        }
    }
}

/// One prepared body.
#[derive(Debug, Clone)]
struct Entry {
    body: Bytes,
    /// Where correlation ids go (empty: the body is sent as it is).
    slots: Vec<usize>,
}

/// Bodies rendered in advance. Request `i` gets body file `i % files` and address
/// `(i / files) % addresses`, so any count that is a multiple of `files × addresses` spreads
/// exactly evenly; personnummer vary over the pool.
#[derive(Debug, Clone)]
pub struct Pool {
    entries: Vec<Entry>,
    ids: CorrelationIds,
}

/// What request `i` sends.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The body.
    pub body: Bytes,
    /// The correlation id, when the body carries one (send it as `x-skltp-correlation-id`).
    pub correlation_id: Option<[u8; CorrelationIds::LEN]>,
}

impl Pool {
    /// Rendered bodies at most this many bytes in all (besides the minimum of one per
    /// combination of file and address).
    pub const MAX_BYTES: usize = 64 << 20;
    /// Target number of distinct rendered bodies.
    pub const TARGET: usize = 1024;

    /// Renders `templates` over `addresses` (which must not be empty when a template uses
    /// `{{logical_address}}`). `seed` varies the personnummer and correlation ids between runs.
    pub fn new(templates: &[Template], addresses: &[String], seed: u64) -> Pool {
        let ids = CorrelationIds::new(u128::from(mix(seed)) << 64 | u128::from(mix(!seed)));
        let files = templates.len().max(1);
        let templated = templates.iter().any(Template::is_templated);
        let addrs = if templates.iter().any(|t| t.uses(Var::LogicalAddress)) {
            addresses.len().max(1)
        } else {
            1
        };
        let combos = files * addrs;
        let len = if templated {
            let largest = templates
                .iter()
                .map(|t| t.render("", "").0.len() + 64)
                .max()
                .unwrap_or(1);
            let wanted = Self::TARGET.min(Self::MAX_BYTES / largest).max(combos);
            wanted.div_ceil(combos) * combos
        } else {
            files
        };
        let entries = (0..len)
            .filter(|_| !templates.is_empty())
            .map(|i| {
                let t = &templates[i % files];
                let address = addresses
                    .get((i / files) % addrs)
                    .map(String::as_str)
                    .unwrap_or("");
                let pnr = if t.uses(Var::Personnummer) {
                    personnummer(seed, i as u64)
                } else {
                    String::new()
                };
                let (body, slots) = t.render(address, &pnr);
                Entry { body, slots }
            })
            .collect();
        Pool { entries, ids }
    }

    /// Number of distinct prepared bodies.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no body at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The body of request number `i`.
    pub fn get(&self, i: u64) -> Rendered {
        let Some(e) = self
            .entries
            .get((i % self.entries.len().max(1) as u64) as usize)
        else {
            return Rendered {
                body: Bytes::new(),
                correlation_id: None,
            };
        };
        if e.slots.is_empty() {
            return Rendered {
                body: e.body.clone(),
                correlation_id: None,
            };
        }
        let mut id = [0u8; CorrelationIds::LEN];
        self.ids.write(i, &mut id);
        let mut body = BytesMut::from(&e.body[..]);
        for &at in &e.slots {
            body[at..at + CorrelationIds::LEN].copy_from_slice(&id);
        }
        Rendered {
            body: body.freeze(),
            correlation_id: Some(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_of_known_numbers() {
        // Tolvan Tolvansson, the Swedish Tax Agency's classic test person.
        assert!(is_valid_personnummer("191212121212"));
        assert!(is_valid_personnummer("198112189876"));
        assert!(!is_valid_personnummer("191212121213"));
        assert!(!is_valid_personnummer("19121212121"));
        assert!(!is_valid_personnummer("19121212121x"));
    }

    #[test]
    fn generated_personnummer_are_valid_varied_and_not_triggers() {
        let all: Vec<String> = (0..5000).map(|n| personnummer(7, n)).collect();
        for p in &all {
            assert!(is_valid_personnummer(p), "{p}");
            let month: u32 = p[4..6].parse().unwrap();
            let day: u32 = p[6..8].parse().unwrap();
            assert!((1..=12).contains(&month) && (1..=28).contains(&day), "{p}");
            assert!(!p.starts_with("1900") && !p.starts_with("1890"), "{p}");
        }
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        assert!(distinct.len() > 4900, "{}", distinct.len());
        assert_ne!(personnummer(1, 0), personnummer(2, 0));
    }

    #[test]
    fn parse_finds_placeholders_and_names_bad_ones() {
        let t = Template::parse("<a>{{ logical_address }}</a><b>{{personnummer}}</b>").unwrap();
        assert!(t.uses(Var::LogicalAddress) && t.uses(Var::Personnummer));
        assert!(!t.uses(Var::CorrelationId));
        assert!(!Template::parse("<a/>").unwrap().is_templated());
        assert_eq!(
            Template::parse("x\n{{adress}}").unwrap_err(),
            TemplateError::Unknown {
                line: 2,
                name: "adress".into()
            }
        );
        let e = Template::parse("a\nb\n{{personnummer\n}}").unwrap_err();
        assert_eq!(e, TemplateError::Unclosed { line: 3 });
        assert!(e.to_string().starts_with("line 3: {{ without"), "{e}");
        let e = Template::parse("{{x}}").unwrap_err().to_string();
        assert!(e.contains("{{x}}") && e.contains("{{personnummer}}"), "{e}");
    }

    #[test]
    fn pool_spreads_files_and_addresses_evenly() {
        let a = Template::parse("A {{logical_address}} {{personnummer}}").unwrap();
        let b = Template::parse("B {{logical_address}}").unwrap();
        let addrs: Vec<String> = ["01", "03", "99"].map(String::from).to_vec();
        let pool = Pool::new(&[a, b], &addrs, 1);
        assert_eq!(pool.len() % 6, 0);
        let mut counts = std::collections::HashMap::new();
        for i in 0..600u64 {
            let body = String::from_utf8(pool.get(i).body.to_vec()).unwrap();
            let mut words = body.split(' ');
            let key = (
                words.next().unwrap().to_owned(),
                words.next().unwrap().to_owned(),
            );
            if key.0 == "A" {
                assert!(is_valid_personnummer(words.next().unwrap()), "{body}");
            }
            *counts.entry(key).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 6, "{counts:?}");
        assert!(counts.values().all(|&n| n == 100), "{counts:?}");
    }

    #[test]
    fn addresses_are_escaped_and_plain_bodies_shared() {
        let t = Template::parse("<a>{{logical_address}}</a>").unwrap();
        let pool = Pool::new(&[t], &["a&b".to_owned()], 1);
        assert_eq!(&pool.get(0).body[..], b"<a>a&amp;b</a>");
        let plain = Pool::new(&[Template::parse("<x/>").unwrap()], &[], 1);
        assert_eq!(plain.len(), 1);
        let (x, y) = (plain.get(0), plain.get(5));
        assert_eq!(x.body.as_ptr(), y.body.as_ptr(), "sent without copying");
        assert!(x.correlation_id.is_none());
    }

    #[test]
    fn correlation_ids_are_unique_and_match_the_body() {
        let t = Template::parse("<id>{{correlation_id}}</id><again>{{correlation_id}}</again>")
            .unwrap();
        let pool = Pool::new(&[t], &[], 42);
        let mut seen = std::collections::HashSet::new();
        for i in 0..3000u64 {
            let r = pool.get(i);
            let id = std::str::from_utf8(&r.correlation_id.unwrap())
                .unwrap()
                .to_owned();
            assert_eq!(id.len(), 36);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
            let body = std::str::from_utf8(&r.body).unwrap();
            assert_eq!(body, format!("<id>{id}</id><again>{id}</again>"));
            assert!(seen.insert(id));
        }
        // Another run, other ids.
        let other = Pool::new(&[Template::parse("{{correlation_id}}").unwrap()], &[], 43);
        assert_ne!(other.get(0).correlation_id, pool.get(0).correlation_id);
    }

    #[test]
    fn large_bodies_keep_the_pool_bounded() {
        let big = format!("{}{{{{personnummer}}}}", "x".repeat(4 << 20));
        let pool = Pool::new(&[Template::parse(&big).unwrap()], &[], 1);
        assert!(pool.len() * (4 << 20) <= Pool::MAX_BYTES, "{}", pool.len());
        assert!(!pool.is_empty());
    }
}
