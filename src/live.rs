//! The live feed: what the routers answered lately, for the web console's live view
//! (`GET /api/live`, `GET /api/live/rate` on the admin listener).
//!
//! Two bounded records, written by one call per routed request from
//! `router::pipeline::handle` where `resp-out` is logged, and read by the admin API:
//! - a ring of the last N request summaries ([`Summary`]: time, environment, consumer,
//!   logical address, contract, outcome, latency), N from the config's `live_requests`;
//! - per-second buckets of the last [`SECONDS`] seconds: requests, faults, summed and
//!   largest latency.
//!
//! Cost per request, by design: no allocation (the ring's slots are allocated once, texts
//! are copied into fixed-size inline arrays, cut at a character boundary), no formatting,
//! one `fetch_add` for the sequence number, one uncontended slot lock (each writer takes its
//! own slot: two writers share one only after N others, and a reader holds it for a copy)
//! held for a copy of 312 bytes, and three compare-and-swap loops on the current
//! second's words. The consumer, address and contract are noted when the request is sniffed
//! ([`Noted::note`]) into a `Noted` the pipeline carries beside the metrics' labels (a
//! task-local cost a swap of it on every poll, and a copy of the whole request future per
//! wrapper: 2,000 instructions per request by callgrind). It does not persist anything, nor count per
//! consumer or contract (that is the metrics' job): it is a window on the last minutes.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use serde::Serialize;

use crate::vocab::EnvName;

/// How many seconds of per-second buckets are kept: ten minutes.
pub const SECONDS: usize = 600;

/// Default of the config's `live_requests`: the summaries kept.
pub const DEFAULT_CAPACITY: usize = crate::config::DEFAULT_LIVE_REQUESTS;

/// At most this many summaries are answered at once by [`Feed::since`].
pub const MAX_ANSWER: usize = 1000;

/// Text kept inline, cut to `N` bytes at a character boundary.
#[derive(Clone, Copy)]
struct Inline<const N: usize> {
    len: u16,
    bytes: [u8; N],
}

impl<const N: usize> Inline<N> {
    const EMPTY: Self = Inline {
        len: 0,
        bytes: [0; N],
    };

    fn set(&mut self, s: &str) {
        let mut end = s.len().min(N);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.bytes[..end].copy_from_slice(&s.as_bytes()[..end]);
        self.len = end as u16;
    }

    fn as_str(&self) -> &str {
        // Only whole characters are ever copied in.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

/// What the pipeline learned of a request when it sniffed it (`req-in`).
#[derive(Clone, Copy)]
pub struct Noted {
    consumer: Inline<64>,
    address: Inline<64>,
    contract: Inline<128>,
}

impl Noted {
    /// Nothing noted: a request refused before it was sniffed.
    pub const EMPTY: Noted = Noted {
        consumer: Inline::EMPTY,
        address: Inline::EMPTY,
        contract: Inline::EMPTY,
    };

    /// Notes the consumer (HSA-id), the logical address and the contract of the request.
    pub fn note(&mut self, consumer: &str, address: Option<&str>, contract: &str) {
        self.consumer.set(consumer);
        self.address.set(address.unwrap_or(""));
        self.contract.set(contract);
    }
}

impl Default for Noted {
    fn default() -> Self {
        Noted::EMPTY
    }
}

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The producer's answer (or the platform's) with this HTTP status.
    Answered(u16),
    /// A VP fault with this code (`VP007`).
    Fault(&'static str),
}

/// One request as the live view shows it.
#[derive(Clone, Copy)]
struct Slot {
    /// 0 while never written; else the summary's sequence number + 1.
    seq_plus_one: u64,
    at_ms: u64,
    env: Option<EnvName>,
    noted: Noted,
    outcome: Outcome,
    latency_us: u64,
}

/// A summary as answered by `GET /api/live`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Increases by one per request, across environments.
    pub seq: u64,
    /// When the answer's head went out, RFC 3339 with milliseconds, UTC.
    pub time: String,
    /// `sit`, `qa` or `prod`.
    pub environment: Option<EnvName>,
    /// The consumer's HSA-id (tjänstekonsument); empty when refused before it was read.
    pub consumer: String,
    /// The logical address (logisk adress) the request named.
    pub address: String,
    /// The service contract's namespace (tjänstekontrakt).
    pub contract: String,
    /// `OK` for an answer with status 200, `HTTP <status>` for another, else the VP code.
    pub outcome: String,
    /// The HTTP status, when the producer or platform answered without a VP fault.
    pub status: Option<u16>,
    /// From the request's arrival to the answer's head going out, milliseconds.
    pub latency_ms: f64,
}

/// One second's bucket: each word holds the second (low [`STAMP_BITS`] bits of the Unix
/// time) in its top bits and the value beneath, so a bucket from an older second is
/// recognised and restarted in the same compare-and-swap that adds to it.
struct Second {
    /// Requests (low 22 bits) and faults (next 22 bits).
    counts: AtomicU64,
    /// Latencies summed, µs.
    sum_us: AtomicU64,
    /// Largest latency, µs.
    max_us: AtomicU64,
}

const STAMP_BITS: u32 = 20;
const VALUE_BITS: u32 = 64 - STAMP_BITS;
const VALUE_MASK: u64 = (1 << VALUE_BITS) - 1;
const COUNT_MASK: u64 = (1 << 22) - 1;

fn stamp(sec: u64) -> u64 {
    (sec & ((1 << STAMP_BITS) - 1)) << VALUE_BITS
}

/// Adds to the bucket word for `sec` with `f` (given 0 when the word holds an older second).
fn bump(word: &AtomicU64, sec: u64, f: impl Fn(u64) -> u64) {
    let s = stamp(sec);
    let _ = word.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
        let v = if w & !VALUE_MASK == s {
            w & VALUE_MASK
        } else {
            0
        };
        Some(s | (f(v) & VALUE_MASK))
    });
}

/// The value of a bucket word for `sec`, 0 when it holds another second.
fn read(word: &AtomicU64, sec: u64) -> u64 {
    let w = word.load(Ordering::Relaxed);
    if w & !VALUE_MASK == stamp(sec) {
        w & VALUE_MASK
    } else {
        0
    }
}

/// One second as answered by `GET /api/live/rate`.
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    /// The second's start, Unix time in seconds.
    pub t: u64,
    /// Requests answered in it.
    pub count: u64,
    /// Of them, answered with a VP fault.
    pub faults: u64,
    /// Mean latency, ms (0 without requests).
    pub mean_ms: f64,
    /// Largest latency, ms.
    pub max_ms: f64,
}

/// The ring of summaries and the per-second buckets; shared by every router and the admin
/// listener.
pub struct Feed {
    /// The next summary's sequence number.
    next: AtomicU64,
    /// `capacity` slots, summary `seq` in slot `seq % capacity`.
    slots: Box<[Mutex<Slot>]>,
    /// Bucket `sec % SECONDS` for Unix second `sec`.
    seconds: Box<[Second]>,
}

impl Feed {
    /// A feed keeping the last `capacity` summaries (at least 1).
    pub fn new(capacity: usize) -> Feed {
        let empty = Slot {
            seq_plus_one: 0,
            at_ms: 0,
            env: None,
            noted: Noted::EMPTY,
            outcome: Outcome::Answered(0),
            latency_us: 0,
        };
        Feed {
            next: AtomicU64::new(0),
            slots: (0..capacity.max(1)).map(|_| Mutex::new(empty)).collect(),
            seconds: (0..SECONDS)
                .map(|_| Second {
                    counts: AtomicU64::new(0),
                    sum_us: AtomicU64::new(0),
                    max_us: AtomicU64::new(0),
                })
                .collect(),
        }
    }

    /// How many summaries are kept.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Records one answered request: `noted` as the pipeline noted it, `started` when it arrived.
    pub fn record(&self, env: EnvName, noted: &Noted, outcome: Outcome, started: Instant) {
        let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = &self.slots[(seq % self.slots.len() as u64) as usize];
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Slot {
            seq_plus_one: seq + 1,
            at_ms,
            env: Some(env),
            noted: *noted,
            outcome,
            latency_us,
        };
        let sec = at_ms / 1000;
        let bucket = &self.seconds[(sec % SECONDS as u64) as usize];
        let fault = u64::from(matches!(outcome, Outcome::Fault(_)));
        bump(&bucket.counts, sec, |v| {
            let count = (v & COUNT_MASK).saturating_add(1).min(COUNT_MASK);
            let faults = ((v >> 22) + fault).min(COUNT_MASK);
            (faults << 22) | count
        });
        bump(&bucket.sum_us, sec, |v| v.saturating_add(latency_us));
        bump(&bucket.max_us, sec, |v| v.max(latency_us));
    }

    /// The summaries after sequence number `since` (all kept when `None`, or when `since` is
    /// not yet given out: the testbed restarted), oldest first, at most [`MAX_ANSWER`] (the
    /// newest); and the sequence number to ask after next time.
    pub fn since(&self, since: Option<u64>) -> (Vec<Summary>, Option<u64>) {
        let next = self.next.load(Ordering::Relaxed);
        let kept_from = next.saturating_sub(self.slots.len().min(MAX_ANSWER) as u64);
        // A `since` past the newest number comes from before a restart: all kept.
        let from = match since {
            Some(s) if s < next => (s + 1).max(kept_from),
            _ => kept_from,
        };
        let mut out = Vec::with_capacity(next.saturating_sub(from) as usize);
        for seq in from..next {
            let slot = *self.slots[(seq % self.slots.len() as u64) as usize]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if slot.seq_plus_one != seq + 1 {
                // Overwritten since (skip it), or its writer has its number but has not
                // written yet: stop there, so that the next poll asks for it again.
                if slot.seq_plus_one < seq + 1 {
                    break;
                }
                continue;
            }
            out.push(summary(seq, &slot));
        }
        let last = out.last().map(|s| s.seq).or(match since {
            Some(s) if s < next => Some(s),
            _ => next.checked_sub(1),
        });
        (out, last)
    }

    /// The last `seconds` seconds (at most [`SECONDS`]), oldest first, the current one last.
    pub fn rates(&self, seconds: usize) -> Vec<Rate> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let n = seconds.clamp(1, SECONDS) as u64;
        (now + 1 - n..=now)
            .map(|sec| {
                let b = &self.seconds[(sec % SECONDS as u64) as usize];
                let counts = read(&b.counts, sec);
                let count = counts & COUNT_MASK;
                let sum = read(&b.sum_us, sec);
                Rate {
                    t: sec,
                    count,
                    faults: (counts >> 22) & COUNT_MASK,
                    mean_ms: if count == 0 {
                        0.0
                    } else {
                        sum as f64 / count as f64 / 1000.0
                    },
                    max_ms: read(&b.max_us, sec) as f64 / 1000.0,
                }
            })
            .collect()
    }
}

impl Default for Feed {
    fn default() -> Self {
        Feed::new(DEFAULT_CAPACITY)
    }
}

fn summary(seq: u64, slot: &Slot) -> Summary {
    let time = chrono::DateTime::from_timestamp_millis(slot.at_ms as i64)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let (outcome, status) = match slot.outcome {
        Outcome::Answered(200) => ("OK".to_string(), Some(200)),
        Outcome::Answered(s) => (format!("HTTP {s}"), Some(s)),
        Outcome::Fault(code) => (code.to_string(), None),
    };
    Summary {
        seq,
        time,
        environment: slot.env,
        consumer: slot.noted.consumer.as_str().to_string(),
        address: slot.noted.address.as_str().to_string(),
        contract: slot.noted.contract.as_str().to_string(),
        outcome,
        status,
        latency_ms: slot.latency_us as f64 / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noted(address: &str) -> Noted {
        let mut n = Noted::EMPTY;
        n.consumer.set("SE1");
        n.address.set(address);
        n.contract.set("urn:c");
        n
    }

    #[test]
    fn keeps_the_last_n_in_order_and_answers_after_a_sequence_number() {
        let feed = Feed::new(3);
        for i in 0..5 {
            feed.record(
                EnvName::Sit,
                &noted(&i.to_string()),
                Outcome::Answered(200),
                Instant::now(),
            );
        }
        let (all, last) = feed.since(None);
        let addresses: Vec<_> = all.iter().map(|s| s.address.as_str()).collect();
        assert_eq!(addresses, ["2", "3", "4"]);
        assert_eq!(last, Some(4));
        let (after, last) = feed.since(Some(3));
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].seq, 4);
        assert_eq!(last, Some(4));
        assert!(feed.since(Some(4)).0.is_empty());
        assert_eq!(feed.since(Some(4)).1, Some(4));
        // A client from before a restart gets what is kept.
        assert_eq!(feed.since(Some(99)).0.len(), 3);
        let (none, last) = Feed::new(3).since(Some(99));
        assert!(none.is_empty());
        assert_eq!(last, None);
    }

    #[test]
    fn counts_the_current_second_and_its_faults() {
        let feed = Feed::new(10);
        feed.record(
            EnvName::Qa,
            &noted("1"),
            Outcome::Answered(200),
            Instant::now(),
        );
        feed.record(
            EnvName::Qa,
            &noted("1"),
            Outcome::Fault("VP007"),
            Instant::now(),
        );
        let rates = feed.rates(SECONDS);
        assert_eq!(rates.len(), SECONDS);
        let total: u64 = rates.iter().map(|r| r.count).sum();
        let faults: u64 = rates.iter().map(|r| r.faults).sum();
        assert_eq!((total, faults), (2, 1));
        let (s, _) = feed.since(None);
        assert_eq!(s[1].outcome, "VP007");
        assert_eq!(s[0].outcome, "OK");
    }

    #[test]
    fn a_kept_summary_takes_312_bytes() {
        // What the config's `live_requests` documents ("312 bytes each").
        let slot = std::mem::size_of::<Mutex<Slot>>();
        assert!(slot <= 312, "{slot} bytes");
    }

    #[test]
    fn cuts_long_text_at_a_character_boundary() {
        let mut t: Inline<4> = Inline::EMPTY;
        t.set("abcåäö");
        assert_eq!(t.as_str(), "abc");
        t.set("ab");
        assert_eq!(t.as_str(), "ab");
    }

    #[test]
    fn a_note_keeps_what_it_was_given() {
        let mut n = Noted::default();
        assert_eq!(n.consumer.as_str(), "");
        n.note("SE2", Some("14"), "urn:x");
        assert_eq!(n.consumer.as_str(), "SE2");
        assert_eq!(n.address.as_str(), "14");
        assert_eq!(n.contract.as_str(), "urn:x");
    }
}
