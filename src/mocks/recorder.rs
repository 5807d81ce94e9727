//! What the mock producers received: every message, with what the platform told the producer
//! about it (the `x-rivta-*`/`x-skltp-*`/`x-vp-*` headers), the verdict of the contract's
//! validation and the answer given, so that a test can assert "region 14 received exactly
//! this woman's specimen".
//!
//! Kept in memory per logical address, oldest first, at most
//! [`MockConfig::max_recordings_per_address`](crate::mocks::MockConfig) per address (the
//! oldest are dropped past that and counted, so a long load run cannot exhaust memory).

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use chrono::{DateTime, Utc};
use dashmap::DashMap;
use serde::{Deserialize, Serialize};

use crate::contract::validate::{Scenario, Violation};

/// The verdict of the mock's check of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Valid by the schema and the TKB's rules.
    Valid,
    /// Schema or TKB violations (listed in `violations`): answered ERROR.
    Invalid,
    /// Not a ProcessCervixScreeningInformation request the mock could read (not well-formed,
    /// another operation, another contract, wrong address or profile).
    Technical,
    /// A PingForConfiguration call.
    Ping,
}

/// One message as a mock received it, and what it answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recording {
    /// Arrival order across all mocks, from 1.
    pub seq: u64,
    /// When it arrived (UTC).
    pub received_at: DateTime<Utc>,
    /// The logical address of the mock that received it (from the URL path).
    pub mock_address: String,
    /// The profile of the URL path: `RIVTABP21` or `RIVTABP20`.
    pub path_profile: String,
    /// The request's path and query, as the producer URL in TAK named it.
    pub path_and_query: String,
    /// The logical address in the message header, as sniffed.
    pub logical_address: Option<String>,
    /// The header profile found in the message.
    pub message_profile: Option<String>,
    /// The consumer, as the platform named it (`x-rivta-original-serviceconsumer-hsaid`).
    pub consumer_hsa_id: Option<String>,
    /// HSA-id in the client certificate of the platform that called (`None` for a caller
    /// without one).
    pub platform_hsa_id: Option<String>,
    /// The environment (`sit`, `qa`, `prod`) whose router forwarded it, known from the
    /// platform certificate; `None` for callers other than the testbed's routers.
    pub environment: Option<String>,
    /// `x-skltp-correlation-id`, if the platform sent one.
    pub correlation_id: Option<String>,
    /// The body element's local name (`ProcessCervixScreeningInformation`,
    /// `PingForConfiguration`, ...), if it could be read.
    pub operation: Option<String>,
    /// `subjectOfCare/personId/extension`, as sent.
    pub personnummer: Option<String>,
    /// `sendingRegion/region/id/extension`, as sent.
    pub sending_region: Option<String>,
    /// Which of the contract's scenarios the content represents.
    pub scenario: Option<Scenario>,
    /// The verdict of the contract check.
    pub verdict: Verdict,
    /// Every schema and TKB violation found (empty unless `verdict` is `invalid`).
    pub violations: Vec<Violation>,
    /// Why the message was technical, when it was.
    pub technical_error: Option<String>,
    /// What the mock answered: `OK`, `INFO`, `ERROR`, `FAULT`, `HTTP-500`, `NO-ANSWER` or
    /// `RESET`.
    pub result_code: String,
    /// Where the answer came from: `validation`, `behaviour` (the mock's configured
    /// behaviour) or `trigger:<personnummer>`.
    pub answer_source: String,
    /// Milliseconds the mock waited before answering (behaviour or trigger).
    pub delay_ms: u64,
    /// HTTP status of the answer (`None` when none was sent).
    pub response_status: Option<u16>,
    /// The answer's body (`None` when none was sent).
    pub response_body: Option<String>,
    /// The peer that sent it (the platform).
    pub peer: SocketAddr,
    /// Every HTTP header, lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as received (UTF-8, lossy).
    pub body: String,
}

impl Recording {
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

#[derive(Debug, Default)]
struct Log {
    kept: VecDeque<Arc<Recording>>,
    dropped: u64,
}

/// Every message every mock received, by mock address. Safe to read while mocks record.
#[derive(Debug)]
pub struct Recorder {
    by_address: DashMap<String, Log>,
    seq: AtomicU64,
    capacity: usize,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::new(super::DEFAULT_MAX_RECORDINGS)
    }
}

/// Counts of one address's log.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    /// Recordings kept.
    pub kept: usize,
    /// Recordings dropped because the log was full.
    pub dropped: u64,
}

fn key(address: &str) -> String {
    address.to_ascii_uppercase()
}

impl Recorder {
    /// An empty recorder keeping at most `capacity` recordings per address (at least 1).
    pub fn new(capacity: usize) -> Self {
        Recorder {
            by_address: DashMap::new(),
            seq: AtomicU64::new(0),
            capacity: capacity.max(1),
        }
    }

    /// The next sequence number (arrival order across all mocks).
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn record(&self, r: Recording) {
        let mut log = self.by_address.entry(key(&r.mock_address)).or_default();
        if log.kept.len() >= self.capacity {
            log.kept.pop_front();
            log.dropped += 1;
        }
        log.kept.push_back(Arc::new(r));
    }

    /// What the mock for `address` received, oldest first.
    pub fn for_address(&self, address: &str) -> Vec<Recording> {
        self.query(Some(address), &Filter::default())
    }

    /// The recordings of one address (or of all, oldest first by arrival) matching `filter`.
    pub fn query(&self, address: Option<&str>, filter: &Filter) -> Vec<Recording> {
        let mut out: Vec<Recording> = match address {
            Some(a) => self
                .by_address
                .get(&key(a))
                .map(|log| {
                    log.kept
                        .iter()
                        .filter(|r| filter.matches(r))
                        .map(|r| (**r).clone())
                        .collect()
                })
                .unwrap_or_default(),
            None => self
                .by_address
                .iter()
                .flat_map(|log| {
                    log.kept
                        .iter()
                        .filter(|r| filter.matches(r))
                        .map(|r| (**r).clone())
                        .collect::<Vec<_>>()
                })
                .collect(),
        };
        out.sort_by_key(|r| r.seq);
        out
    }

    /// Kept and dropped counts of one address.
    pub fn counts(&self, address: &str) -> Counts {
        self.by_address
            .get(&key(address))
            .map(|log| Counts {
                kept: log.kept.len(),
                dropped: log.dropped,
            })
            .unwrap_or_default()
    }

    /// Every address that has received something.
    pub fn addresses(&self) -> Vec<String> {
        let mut v: Vec<String> = self.by_address.iter().map(|e| e.key().clone()).collect();
        v.sort();
        v
    }

    /// Number of messages received by all mocks (kept ones).
    pub fn total(&self) -> usize {
        self.by_address.iter().map(|e| e.value().kept.len()).sum()
    }

    /// Forgets what `address` received; returns how many recordings were dropped.
    pub fn clear_address(&self, address: &str) -> usize {
        self.by_address
            .remove(&key(address))
            .map_or(0, |(_, log)| log.kept.len())
    }

    /// Forgets everything; returns how many recordings were dropped.
    pub fn clear(&self) -> usize {
        let n = self.total();
        self.by_address.clear();
        n
    }
}
