//! What the mock producers received: every message, with what the platform told the producer
//! about it (the `x-rivta-*`/`x-skltp-*`/`x-vp-*` headers), the verdict of the contract's
//! validation and the answer given, so that a test can assert "region 14 received exactly
//! this woman's specimen".
//!
//! Kept in memory per logical address, oldest first, within two bounds so that a long load
//! run or a few huge messages cannot exhaust memory:
//! [`MockConfig::max_recordings_per_address`](crate::config::mocks::MockConfig) per address, and
//! [`MockConfig::max_recording_bytes`](crate::config::mocks::MockConfig) across all mocks (the
//! recordings' approximate size: bodies, headers, texts). Past either, the oldest recordings
//! (of that address, or of all mocks) are dropped and counted per address. A single
//! recording larger than the byte budget is kept with its body cut to fit
//! ([`Recording::body_truncated_from`] says so), after every older one has been dropped.
//!
//! One short mutex guards the logs: recording and reading take it only to move `Arc`s,
//! never to copy or serialise a body.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contract::validate::Violation;
use crate::verify::{Recording, Verdict};

impl Recording {
    /// Approximately the memory this recording holds, in bytes: what the byte budget counts.
    pub fn approx_bytes(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        std::mem::size_of::<Recording>()
            + self.mock_address.len()
            + self.path_profile.len()
            + self.path_and_query.len()
            + opt(&self.logical_address)
            + opt(&self.message_profile)
            + opt(&self.consumer_hsa_id)
            + opt(&self.platform_hsa_id)
            + opt(&self.environment)
            + opt(&self.correlation_id)
            + opt(&self.operation)
            + opt(&self.personnummer)
            + opt(&self.sending_region)
            + opt(&self.technical_error)
            + self.result_code.len()
            + self.answer_source.len()
            + opt(&self.response_body)
            + self
                .violations
                .iter()
                .map(|v| std::mem::size_of::<Violation>() + v.path.len() + v.message.len())
                .sum::<usize>()
            + self
                .headers
                .iter()
                .map(|(k, v)| std::mem::size_of::<(String, String)>() + k.len() + v.len())
                .sum::<usize>()
            + self.body.len()
    }

    /// Cuts the body (then the answer's body) so that the recording takes at most
    /// `max_bytes`, when it can.
    fn fit(&mut self, max_bytes: usize) {
        let size = self.approx_bytes();
        if size <= max_bytes {
            return;
        }
        let original = self.body.len();
        cut(&mut self.body, original.saturating_sub(size - max_bytes));
        self.body_truncated_from = Some(original);
        let size = self.approx_bytes();
        if size > max_bytes
            && let Some(answer) = &mut self.response_body
        {
            let keep = answer.len().saturating_sub(size - max_bytes);
            cut(answer, keep);
        }
    }

    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Which recordings a query wants; every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    /// `subjectOfCare/personId/extension`, exactly.
    pub personnummer: Option<String>,
    /// `x-skltp-correlation-id`, exactly.
    pub correlation_id: Option<String>,
    /// Received at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// The consumer's HSA-id (case-insensitive).
    pub consumer: Option<String>,
    /// `sit`, `qa` or `prod`.
    pub environment: Option<String>,
    /// The verdict.
    pub verdict: Option<Verdict>,
}

impl Filter {
    /// Whether `r` matches every condition given.
    pub fn matches(&self, r: &Recording) -> bool {
        let eq = |want: &Option<String>, got: &Option<String>| {
            want.as_ref().is_none_or(|w| got.as_deref() == Some(w))
        };
        eq(&self.personnummer, &r.personnummer)
            && eq(&self.correlation_id, &r.correlation_id)
            && self.since.is_none_or(|s| r.received_at >= s)
            && self.consumer.as_ref().is_none_or(|c| {
                r.consumer_hsa_id
                    .as_deref()
                    .is_some_and(|got| got.eq_ignore_ascii_case(c))
            })
            && self.environment.as_ref().is_none_or(|e| {
                r.environment
                    .as_deref()
                    .is_some_and(|got| got.eq_ignore_ascii_case(e))
            })
            && self.verdict.is_none_or(|v| r.verdict == v)
    }
}

/// Shortens `s` to at most `len` bytes (at a character boundary) and frees the rest.
fn cut(s: &mut String, len: usize) {
    let mut end = len.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.shrink_to_fit();
}

#[derive(Debug)]
struct Kept {
    /// Insertion number across all mocks (the arrival order the byte budget drops by).
    n: u64,
    bytes: usize,
    recording: Arc<Recording>,
}

#[derive(Debug, Default)]
struct Log {
    kept: VecDeque<Kept>,
    dropped: u64,
}

#[derive(Debug, Default)]
struct Logs {
    by_address: HashMap<Arc<str>, Log>,
    /// Every kept recording's (insertion number, address) in arrival order, plus entries of
    /// recordings already dropped by the per-address bound or a clear: those are skipped when
    /// met and compacted away when they outnumber the live ones.
    arrival: VecDeque<(u64, Arc<str>)>,
    next: u64,
    kept: usize,
    bytes: usize,
}

impl Logs {
    /// Drops the oldest recording of `log`.
    fn drop_front(log: &mut Log, kept: &mut usize, bytes: &mut usize) {
        if let Some(k) = log.kept.pop_front() {
            *kept -= 1;
            *bytes -= k.bytes;
            log.dropped += 1;
        }
    }

    /// Drops the oldest recording across all mocks; false when none is left.
    fn drop_oldest(&mut self) -> bool {
        while let Some((n, address)) = self.arrival.pop_front() {
            if let Some(log) = self.by_address.get_mut(&address)
                && log.kept.front().is_some_and(|k| k.n == n)
            {
                Self::drop_front(log, &mut self.kept, &mut self.bytes);
                return true;
            }
        }
        false
    }

    fn compact(&mut self) {
        if self.arrival.len() <= 2 * self.kept + 1024 {
            return;
        }
        let mut live: Vec<(u64, Arc<str>)> = self
            .by_address
            .iter()
            .flat_map(|(a, log)| log.kept.iter().map(|k| (k.n, a.clone())))
            .collect();
        live.sort_unstable_by_key(|(n, _)| *n);
        self.arrival = live.into();
    }
}

/// Every message every mock received, by mock address. Safe to read while mocks record.
#[derive(Debug)]
pub struct Recorder {
    logs: Mutex<Logs>,
    seq: AtomicU64,
    capacity: usize,
    max_bytes: usize,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new(crate::config::mocks::DEFAULT_MAX_RECORDINGS)
    }
}

/// Counts of one address's log.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    /// Recordings kept.
    pub kept: usize,
    /// Recordings dropped because the log was full (in count, or the recorder in bytes).
    pub dropped: u64,
}

fn key(address: &str) -> String {
    address.to_ascii_uppercase()
}

impl Recorder {
    /// An empty recorder keeping at most `capacity` recordings per address (at least 1) and
    /// the default byte budget.
    pub fn new(capacity: usize) -> Self {
        Self::with_limits(capacity, crate::config::mocks::DEFAULT_MAX_RECORDING_BYTES)
    }

    /// An empty recorder keeping at most `capacity` recordings per address and about
    /// `max_bytes` across all addresses (each at least 1).
    pub fn with_limits(capacity: usize, max_bytes: usize) -> Self {
        Recorder {
            logs: Mutex::new(Logs::default()),
            seq: AtomicU64::new(0),
            capacity: capacity.max(1),
            max_bytes: max_bytes.max(1),
        }
    }

    fn logs(&self) -> MutexGuard<'_, Logs> {
        // Every change under the lock keeps the logs consistent at each step.
        self.logs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next sequence number (arrival order across all mocks).
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Keeps `r`; returns how many older recordings were dropped to make room.
    pub(crate) fn record(&self, mut r: Recording) -> usize {
        r.fit(self.max_bytes);
        let bytes = r.approx_bytes();
        let address: Arc<str> = key(&r.mock_address).into();
        let recording = Arc::new(r);
        let mut logs = self.logs();
        let logs = &mut *logs;
        let kept_before = logs.kept;
        let n = logs.next;
        logs.next += 1;
        let log = logs.by_address.entry(address.clone()).or_default();
        if log.kept.len() >= self.capacity {
            Logs::drop_front(log, &mut logs.kept, &mut logs.bytes);
        }
        log.kept.push_back(Kept {
            n,
            bytes,
            recording,
        });
        logs.kept += 1;
        logs.bytes += bytes;
        logs.arrival.push_back((n, address));
        // The new recording fits on its own (`fit`), so this stops before reaching it.
        while logs.bytes > self.max_bytes && logs.kept > 1 && logs.drop_oldest() {}
        logs.compact();
        kept_before + 1 - logs.kept
    }

    /// What the mock for `address` received, oldest first.
    pub fn for_address(&self, address: &str) -> Vec<Recording> {
        self.query(Some(address), &Filter::default())
    }

    /// The recordings of one address (or of all, oldest first by arrival) matching `filter`.
    pub fn query(&self, address: Option<&str>, filter: &Filter) -> Vec<Recording> {
        self.query_shared(address, filter)
            .into_iter()
            .map(|r| Recording::clone(&r))
            .collect()
    }

    /// As [`Recorder::query`], without copying the recordings.
    pub fn query_shared(&self, address: Option<&str>, filter: &Filter) -> Vec<Arc<Recording>> {
        // Under the lock only pointers are copied; filtering happens after.
        let all: Vec<Arc<Recording>> = {
            let logs = self.logs();
            match address {
                Some(a) => logs
                    .by_address
                    .get(key(a).as_str())
                    .map(|log| log.kept.iter().map(|k| k.recording.clone()).collect())
                    .unwrap_or_default(),
                None => logs
                    .by_address
                    .values()
                    .flat_map(|log| log.kept.iter().map(|k| k.recording.clone()))
                    .collect(),
            }
        };
        let mut out: Vec<Arc<Recording>> = all.into_iter().filter(|r| filter.matches(r)).collect();
        out.sort_by_key(|r| r.seq);
        out
    }

    /// Kept and dropped counts of one address.
    pub fn counts(&self, address: &str) -> Counts {
        self.logs()
            .by_address
            .get(key(address).as_str())
            .map(|log| Counts {
                kept: log.kept.len(),
                dropped: log.dropped,
            })
            .unwrap_or_default()
    }

    /// Every address that has received something.
    pub fn addresses(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .logs()
            .by_address
            .keys()
            .map(|a| a.to_string())
            .collect();
        v.sort();
        v
    }

    /// Number of messages received by all mocks (kept ones).
    pub fn total(&self) -> usize {
        self.logs().kept
    }

    /// Approximate bytes the kept recordings hold (what the byte budget counts).
    pub fn bytes(&self) -> usize {
        self.logs().bytes
    }

    /// Forgets what `address` received; returns how many recordings were dropped.
    pub fn clear_address(&self, address: &str) -> usize {
        let mut logs = self.logs();
        let Some(log) = logs.by_address.remove(key(address).as_str()) else {
            return 0;
        };
        logs.kept -= log.kept.len();
        logs.bytes -= log.kept.iter().map(|k| k.bytes).sum::<usize>();
        logs.compact();
        log.kept.len()
    }

    /// Forgets everything; returns how many recordings were dropped.
    pub fn clear(&self) -> usize {
        let mut logs = self.logs();
        let n = logs.kept;
        *logs = Logs {
            next: logs.next,
            ..Logs::default()
        };
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::mocks::DEFAULT_MAX_RECORDING_BYTES;

    fn rec(address: &str, body: String) -> Recording {
        Recording {
            seq: 0,
            received_at: Utc::now(),
            mock_address: address.to_string(),
            path_profile: "RIVTABP21".into(),
            path_and_query: format!(
                "/mocks/{address}/ProcessCervixScreeningInformation/1/rivtabp21"
            ),
            logical_address: Some(address.to_string()),
            message_profile: None,
            consumer_hsa_id: None,
            platform_hsa_id: None,
            environment: None,
            correlation_id: None,
            operation: None,
            personnummer: None,
            sending_region: None,
            scenario: None,
            verdict: Verdict::Valid,
            violations: Vec::new(),
            violations_omitted: 0,
            technical_error: None,
            result_code: "OK".into(),
            answer_source: "validation".into(),
            delay_ms: 0,
            response_status: Some(200),
            response_body: Some("<answer/>".into()),
            peer: "127.0.0.1:1".parse().unwrap(),
            headers: vec![("content-type".into(), "text/xml".into())],
            body,
            body_truncated_from: None,
        }
    }

    fn record(r: &Recorder, address: &str, body_len: usize) -> u64 {
        let mut x = rec(address, "x".repeat(body_len));
        x.seq = r.next_seq();
        let seq = x.seq;
        r.record(x);
        seq
    }

    #[test]
    fn past_the_byte_budget_the_oldest_of_all_mocks_are_dropped_and_counted() {
        let one = rec("A", "x".repeat(10_000)).approx_bytes();
        let r = Recorder::with_limits(1_000, 10 * one);
        let seqs: Vec<u64> = (0..15)
            .map(|i| record(&r, if i % 2 == 0 { "A" } else { "B" }, 10_000))
            .collect();
        assert_eq!(r.total(), 10);
        assert!(r.bytes() <= 10 * one, "{} > {}", r.bytes(), 10 * one);
        let kept: Vec<u64> = r
            .query(None, &Filter::default())
            .iter()
            .map(|x| x.seq)
            .collect();
        assert_eq!(kept, seqs[5..], "the newest are kept");
        // A received 8 (seqs 0,2,..,14), B 7; the first five dropped were A, B, A, B, A.
        assert_eq!((r.counts("A").kept, r.counts("A").dropped), (5, 3));
        assert_eq!((r.counts("b").kept, r.counts("b").dropped), (5, 2));
    }

    #[test]
    fn the_count_bound_per_address_keeps_the_byte_count_exact() {
        let r = Recorder::with_limits(2, DEFAULT_MAX_RECORDING_BYTES);
        for _ in 0..5 {
            record(&r, "A", 1_000);
        }
        record(&r, "B", 3_000);
        assert_eq!((r.counts("A").kept, r.counts("A").dropped), (2, 3));
        let expected: usize = r
            .query(None, &Filter::default())
            .iter()
            .map(Recording::approx_bytes)
            .sum();
        assert_eq!(r.bytes(), expected);
        assert_eq!(r.clear_address("A"), 2);
        assert_eq!(r.bytes(), rec("B", "x".repeat(3_000)).approx_bytes());
        assert_eq!(r.clear(), 1);
        assert_eq!((r.total(), r.bytes()), (0, 0));
    }

    #[test]
    fn a_recording_larger_than_the_budget_is_kept_with_its_body_cut() {
        let budget = MIN_BUDGET;
        let r = Recorder::with_limits(1_000, budget);
        record(&r, "A", 1_000);
        // Two-byte characters: the cut falls on a character boundary.
        let body = "å".repeat(100_000);
        let mut big = rec("A", body.clone());
        big.seq = r.next_seq();
        r.record(big);
        let kept = r.for_address("A");
        assert_eq!(kept.len(), 1, "the older one made room");
        let x = &kept[0];
        assert_eq!(x.body_truncated_from, Some(body.len()));
        assert!(body.starts_with(&x.body) && !x.body.is_empty());
        assert!(x.approx_bytes() <= budget && r.bytes() <= budget);
        assert_eq!(r.counts("A").dropped, 1);
    }

    #[test]
    fn arrival_entries_of_dropped_recordings_do_not_pile_up() {
        let r = Recorder::with_limits(1, DEFAULT_MAX_RECORDING_BYTES);
        for i in 0..20_000 {
            record(&r, if i % 2 == 0 { "A" } else { "B" }, 10);
        }
        assert_eq!(r.total(), 2);
        assert!(r.logs().arrival.len() <= 2 * 2 + 1024 + 1);
    }

    const MIN_BUDGET: usize = crate::config::mocks::MIN_MAX_RECORDING_BYTES;
}
