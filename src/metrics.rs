//! The testbed's Prometheus metrics: counted here, served by the admin listener's
//! `GET /metrics` in the Prometheus text format (version 0.0.4, `prometheus-client`'s
//! encoder). README's "Metrics" section lists every series.
//!
//! The router, the mocks and the admin listener call in with a line each: a routed request
//! ([`Metrics::request`], its labels learnt on the way into a [`Seen`]), a TLS handshake
//! ([`Metrics::handshake_ok`], [`Metrics::handshake_failed`]), an open connection
//! ([`Metrics::connection`]), a mock's verdict and the recordings it dropped. What another
//! part already keeps (TAK's version and publish time, the orders accepted and refused) is
//! read from it when scraped and handed in as [`EnvFacts`]. No IO here.
//!
//! Cost on the request path: no lock, no allocation, no formatting. Labels fed by input
//! (contract, logical address, consumer, mock address) are interned: a read-mostly map from
//! value to a small number, swapped atomically (`arc-swap`) when a value is new, so a known
//! value costs one hash and one comparison. Each label keeps at most `max_label_values`
//! values (`metrics.max_label_values`); later ones count as `other`, so a consumer sending
//! random addresses grows nothing. The request counters live in a fixed-size open-addressing
//! table of atomics keyed by the packed numbers (at most [`MAX_REQUEST_SERIES`] series; past
//! that a request counts under `other` for all three input labels); the latency histograms
//! are atomic buckets per environment and contract number. Names are turned back into text
//! only when scraped.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, LazyLock, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed},
    },
    time::Duration,
};

use arc_swap::ArcSwap;
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet},
    metrics::{MetricType, counter::ConstCounter, gauge::ConstGauge},
    registry::{Registry, Unit},
};

use crate::{soap::VpCode, verify::Verdict, vocab::EnvName};

/// `Content-Type` of `/metrics`: the Prometheus text format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The label value that stands for every value past a label's limit.
pub const OTHER: &str = "other";

/// Longest label value kept, in bytes (longer input is cut at a character boundary).
pub const MAX_LABEL_BYTES: usize = 256;

/// Most series of `ntjp_requests_total` (the combinations of environment, contract, address,
/// consumer and outcome); past them a request counts with contract, address and consumer
/// `other`.
pub const MAX_REQUEST_SERIES: usize = 16_384;

/// Most series of `ntjp_mock_verdicts_total` (mock address × verdict).
const MAX_VERDICT_SERIES: usize = 4_096;

/// Number of an empty value (a label not known when the request was refused).
const EMPTY_ID: u32 = 0;
/// Number of [`OTHER`].
const OTHER_ID: u32 = 1;

/// Upper bounds of the latency buckets, in nanoseconds (0.5 ms to 60 s; `+Inf` after).
const BUCKETS_NS: [u64; 16] = [
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
    60_000_000_000,
];

/// A listener, as the `listener` label names it (the names the logs use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// An environment's mutual-TLS router listener: `sit-https`, `qa-https`, `prod-https`.
    Https(EnvName),
    /// An environment's plain-HTTP router listener: `sit-http`, ...
    Http(EnvName),
    /// The mock producers' listener: `mocks`.
    Mocks,
    /// The admin listener: `admin`.
    Admin,
}

const LISTENERS: usize = 2 * EnvName::ALL.len() + 2;

impl Listener {
    const ALL: [Listener; LISTENERS] = [
        Listener::Https(EnvName::Sit),
        Listener::Http(EnvName::Sit),
        Listener::Https(EnvName::Qa),
        Listener::Http(EnvName::Qa),
        Listener::Https(EnvName::Prod),
        Listener::Http(EnvName::Prod),
        Listener::Mocks,
        Listener::Admin,
    ];

    fn index(self) -> usize {
        match self {
            Listener::Https(env) => 2 * env as usize,
            Listener::Http(env) => 2 * env as usize + 1,
            Listener::Mocks => 2 * EnvName::ALL.len(),
            Listener::Admin => 2 * EnvName::ALL.len() + 1,
        }
    }

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            Listener::Https(EnvName::Sit) => "sit-https",
            Listener::Http(EnvName::Sit) => "sit-http",
            Listener::Https(EnvName::Qa) => "qa-https",
            Listener::Http(EnvName::Qa) => "qa-http",
            Listener::Https(EnvName::Prod) => "prod-https",
            Listener::Http(EnvName::Prod) => "prod-http",
            Listener::Mocks => "mocks",
            Listener::Admin => "admin",
        }
    }

    /// Whether it speaks TLS (only those have handshake series).
    fn is_tls(self) -> bool {
        matches!(self, Listener::Https(_) | Listener::Mocks)
    }
}

/// Why a TLS handshake failed, as the `reason` label says it: a small fixed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeFailure {
    /// The client sent no certificate (`no_client_certificate`).
    NoClientCertificate,
    /// The client's certificate is not from a trusted CA (`unknown_ca`); one from another CA
    /// of the same name fails its signature check and counts here too.
    UnknownCa,
    /// The handshake did not finish within the client read timeout (`timeout`).
    Timeout,
    /// The client broke the TLS protocol or offered nothing in common (`protocol_error`).
    ProtocolError,
    /// Anything else: another certificate error, an alert from the client (it did not trust
    /// our certificate), the connection closed or reset mid-handshake (`other`).
    Other,
}

impl HandshakeFailure {
    const ALL: [HandshakeFailure; 5] = [
        HandshakeFailure::NoClientCertificate,
        HandshakeFailure::UnknownCa,
        HandshakeFailure::Timeout,
        HandshakeFailure::ProtocolError,
        HandshakeFailure::Other,
    ];

    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            HandshakeFailure::NoClientCertificate => "no_client_certificate",
            HandshakeFailure::UnknownCa => "unknown_ca",
            HandshakeFailure::Timeout => "timeout",
            HandshakeFailure::ProtocolError => "protocol_error",
            HandshakeFailure::Other => "other",
        }
    }

    /// The reason of a failed accept (tokio-rustls wraps rustls' error in the IO error).
    pub fn of(error: &std::io::Error) -> Self {
        use rustls::{CertificateError, Error};
        let Some(tls) = error.get_ref().and_then(|e| e.downcast_ref::<Error>()) else {
            return match error.kind() {
                std::io::ErrorKind::TimedOut => HandshakeFailure::Timeout,
                _ => HandshakeFailure::Other,
            };
        };
        match tls {
            Error::NoCertificatesPresented => HandshakeFailure::NoClientCertificate,
            Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature,
            ) => HandshakeFailure::UnknownCa,
            Error::InappropriateMessage { .. }
            | Error::InappropriateHandshakeMessage { .. }
            | Error::InvalidMessage(_)
            | Error::PeerIncompatible(_)
            | Error::PeerMisbehaved(_)
            | Error::DecryptError
            | Error::InvalidEncryptedClientHello(_) => HandshakeFailure::ProtocolError,
            _ => HandshakeFailure::Other,
        }
    }
}

/// Label values fed by input, each a small number; at most `cap` of them, later ones are
/// [`OTHER`]. Reads take no lock: the map is swapped whole when a value is added (at most
/// `cap` times, so the copies add up to `cap²/2` entries: half a million at the default).
struct Interner {
    cap: usize,
    ids: ArcSwap<HashMap<Arc<str>, u32, foldhash::fast::RandomState>>,
    /// Every value by its number less 2; also the writers' lock.
    names: Mutex<Vec<Arc<str>>>,
    /// Set once `cap` values are held: a new value is `other` without taking the lock.
    full: AtomicBool,
}

impl Interner {
    fn new(cap: usize) -> Self {
        Interner {
            cap,
            ids: ArcSwap::from_pointee(HashMap::default()),
            names: Mutex::new(Vec::new()),
            full: AtomicBool::new(false),
        }
    }

    /// The value's number (new values get one while there is room).
    fn id(&self, value: &str) -> u32 {
        let value = bounded(value);
        if value.is_empty() {
            return EMPTY_ID;
        }
        if value == OTHER {
            return OTHER_ID;
        }
        if let Some(&id) = self.ids.load().get(value) {
            return id;
        }
        self.add(value)
    }

    #[cold]
    fn add(&self, value: &str) -> u32 {
        if self.full.load(Relaxed) {
            return OTHER_ID;
        }
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.ids.load_full();
        if let Some(&id) = current.get(value) {
            return id;
        }
        if names.len() >= self.cap {
            self.full.store(true, Relaxed);
            return OTHER_ID;
        }
        let name: Arc<str> = value.into();
        let id = names.len() as u32 + 2;
        let mut next = HashMap::clone(&current);
        next.insert(name.clone(), id);
        self.ids.store(Arc::new(next));
        names.push(name);
        id
    }

    /// Every value by number (for a scrape).
    fn names(&self) -> Vec<Arc<str>> {
        self.names.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The text of label number `id`, given [`Interner::names`].
fn name_of(names: &[Arc<str>], id: u32) -> &str {
    match id {
        EMPTY_ID => "",
        OTHER_ID => OTHER,
        n => names.get(n as usize - 2).map_or(OTHER, |s| s),
    }
}

/// `value` cut to [`MAX_LABEL_BYTES`] at a character boundary.
fn bounded(value: &str) -> &str {
    if value.len() <= MAX_LABEL_BYTES {
        return value;
    }
    let mut end = MAX_LABEL_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// Counters by a packed non-zero key in a fixed-size open-addressing table of atomics: a
/// key's slot is claimed once by compare-and-swap and never freed, so counting takes no lock
/// and allocates nothing. Holds at most `max` keys (the table is four times larger, so
/// probes stay short) plus the fallback keys callers use when it is full.
struct CounterTable {
    keys: Box<[AtomicU64]>,
    counts: Box<[AtomicU64]>,
    used: AtomicUsize,
    max: usize,
    shift: u32,
}

impl CounterTable {
    fn new(max: usize) -> Self {
        let slots = (4 * max).next_power_of_two();
        CounterTable {
            keys: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            counts: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            used: AtomicUsize::new(0),
            max,
            shift: 64 - slots.trailing_zeros(),
        }
    }

    /// Adds 1 to `key` (non-zero); when `max` keys are held and `key` is not one of them,
    /// to `fallback` instead (one of a few keys, always given room).
    fn add(&self, key: u64, fallback: u64) {
        if !self.add_within(key, self.max) {
            // The fallbacks are few (at most one per environment and outcome, or per
            // verdict): the table's spare room always holds them.
            self.add_within(fallback, self.keys.len() - 1);
        }
    }

    fn add_within(&self, key: u64, limit: usize) -> bool {
        let mask = self.keys.len() - 1;
        let mut i = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize;
        loop {
            let held = self.keys[i].load(Relaxed);
            if held == key {
                self.counts[i].fetch_add(1, Relaxed);
                return true;
            }
            if held == 0 {
                if self.used.load(Relaxed) >= limit {
                    return false;
                }
                match self.keys[i].compare_exchange(0, key, Relaxed, Relaxed) {
                    Ok(_) => {
                        self.used.fetch_add(1, Relaxed);
                        self.counts[i].fetch_add(1, Relaxed);
                        return true;
                    }
                    Err(other) if other == key => {
                        self.counts[i].fetch_add(1, Relaxed);
                        return true;
                    }
                    Err(_) => {}
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Every key held with its count.
    fn entries(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.keys
            .iter()
            .zip(self.counts.iter())
            .filter_map(|(k, c)| match k.load(Relaxed) {
                0 => None,
                k => Some((k, c.load(Relaxed))),
            })
    }
}

/// A latency histogram: a count per bucket and the sum, each an atomic.
#[derive(Default)]
struct Histogram {
    counts: [AtomicU64; BUCKETS_NS.len() + 1],
    sum_ns: AtomicU64,
}

impl Histogram {
    fn observe(&self, took: Duration) {
        let ns = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BUCKETS_NS
            .iter()
            .position(|&upper| ns <= upper)
            .unwrap_or(BUCKETS_NS.len());
        self.counts[bucket].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(ns, Relaxed);
    }

    /// Buckets (upper bound in seconds, count in that bucket alone), sum in seconds, count.
    fn read(&self) -> (Vec<(f64, u64)>, f64, u64) {
        let mut buckets = Vec::with_capacity(BUCKETS_NS.len() + 1);
        let mut count = 0;
        for (i, c) in self.counts.iter().enumerate() {
            let n = c.load(Relaxed);
            count += n;
            let upper = BUCKETS_NS
                .get(i)
                .map_or(f64::INFINITY, |&ns| ns as f64 / 1e9);
            buckets.push((upper, n));
        }
        (buckets, self.sum_ns.load(Relaxed) as f64 / 1e9, count)
    }
}

/// Histograms per contract number, made when a contract is first seen.
struct ByContract(Box<[OnceLock<Box<Histogram>>]>);

impl ByContract {
    fn new(cap: usize) -> Self {
        ByContract((0..cap + 2).map(|_| OnceLock::new()).collect())
    }

    fn observe(&self, contract: u32, took: Duration) {
        // Numbers beyond the array cannot occur (the interner's cap sized it); `other` then.
        let slot = self
            .0
            .get(contract as usize)
            .unwrap_or(&self.0[OTHER_ID as usize]);
        slot.get_or_init(Box::default).observe(took);
    }

    fn each(&self) -> impl Iterator<Item = (u32, &Histogram)> {
        self.0
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.get().map(|h| (i as u32, &**h)))
    }
}

/// What the pipeline learnt of one request for its metrics: its labels as numbers (no text
/// is kept) and how long the producer took. Filled as the phases learn them; a label not
/// learnt (a request refused before) stays empty.
#[derive(Debug, Default, Clone, Copy)]
pub struct Seen {
    contract: u32,
    address: u32,
    consumer: u32,
    producer: Option<Duration>,
}

impl Seen {
    /// The producer exchange took `took` (the request was sent to a producer).
    pub fn producer_took(&mut self, took: Duration) {
        self.producer = Some(took);
    }
}

/// A connection counted open while this lives.
pub struct OpenConnection {
    metrics: Arc<Metrics>,
    listener: usize,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.metrics.open[self.listener].fetch_sub(1, Relaxed);
    }
}

/// What the other parts keep of an environment, read when scraped.
#[derive(Debug, Clone)]
pub struct EnvFacts {
    /// The environment.
    pub env: EnvName,
    /// The published TAK version, if one is published.
    pub tak_version: Option<u64>,
    /// When it was published, in seconds since 1970-01-01 UTC.
    pub tak_published: Option<i64>,
    /// Orders (and forms) the order service accepted since start.
    pub orders_accepted: u64,
    /// Orders (and forms) it refused since start: not readable, refused by TAK's validation
    /// or by a form's rules.
    pub orders_refused: u64,
}

/// Every counter of the testbed. One per testbed, shared by its routers, mocks and admin
/// listener.
pub struct Metrics {
    contracts: Interner,
    addresses: Interner,
    consumers: Interner,
    mock_addresses: Interner,
    /// `ntjp_requests_total`, keyed by [`request_key`].
    requests: CounterTable,
    /// `ntjp_request_duration_seconds` and `ntjp_producer_duration_seconds`, per environment.
    router_latency: Vec<ByContract>,
    producer_latency: Vec<ByContract>,
    handshakes: [AtomicU64; LISTENERS],
    handshake_failures: [[AtomicU64; HandshakeFailure::ALL.len()]; LISTENERS],
    open: [AtomicI64; LISTENERS],
    /// `ntjp_mock_verdicts_total`, keyed by mock address number and verdict.
    verdicts: CounterTable,
    recordings_dropped: AtomicU64,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// `1` then environment (8 bits), outcome (8), contract, address, consumer (16 each).
fn request_key(env: EnvName, outcome: usize, contract: u32, address: u32, consumer: u32) -> u64 {
    1 << 63
        | (env as u64) << 56
        | (outcome as u64) << 48
        | u64::from(contract & 0xFFFF) << 32
        | u64::from(address & 0xFFFF) << 16
        | u64::from(consumer & 0xFFFF)
}

/// The outcome label's values: `OK`, then VP's codes in order.
fn outcome_name(outcome: usize) -> &'static str {
    match outcome.checked_sub(1).and_then(|i| VpCode::ALL.get(i)) {
        Some(code) => code.as_str(),
        None => "OK",
    }
}

const VERDICTS: [Verdict; 4] = [
    Verdict::Valid,
    Verdict::Invalid,
    Verdict::Technical,
    Verdict::Ping,
];

/// The verdict label's values: as the mocks' API writes them.
fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Invalid => "invalid",
        Verdict::Technical => "technical",
        Verdict::Ping => "ping",
    }
}

impl Metrics {
    /// Counters keeping at most `max_label_values` values per input-fed label (capped at
    /// [`crate::config::MAX_LABEL_VALUES`]).
    pub fn new(max_label_values: usize) -> Self {
        let cap = max_label_values.clamp(1, crate::config::MAX_LABEL_VALUES);
        let per_env = || EnvName::ALL.iter().map(|_| ByContract::new(cap)).collect();
        Metrics {
            contracts: Interner::new(cap),
            addresses: Interner::new(cap),
            consumers: Interner::new(cap),
            mock_addresses: Interner::new(cap),
            requests: CounterTable::new(MAX_REQUEST_SERIES),
            router_latency: per_env(),
            producer_latency: per_env(),
            handshakes: Default::default(),
            handshake_failures: Default::default(),
            open: Default::default(),
            verdicts: CounterTable::new(MAX_VERDICT_SERIES),
            recordings_dropped: AtomicU64::new(0),
        }
    }

    /// Counters no listener serves, for parts built without a testbed (unit tests, benches).
    pub fn detached() -> Arc<Metrics> {
        static DETACHED: LazyLock<Arc<Metrics>> = LazyLock::new(|| Arc::new(Metrics::new(100)));
        DETACHED.clone()
    }

    /// The request's service contract (the first body element's namespace).
    pub fn contract(&self, seen: &mut Seen, contract: &str) {
        seen.contract = self.contracts.id(contract);
    }

    /// The request's logical address (receiver).
    pub fn address(&self, seen: &mut Seen, address: &str) {
        seen.address = self.addresses.id(address);
    }

    /// The request's consumer (sender HSA-id).
    pub fn consumer(&self, seen: &mut Seen, hsa_id: &str) {
        seen.consumer = self.consumers.id(hsa_id);
    }

    /// A request answered: routed (`fault` `None`) or refused with a VP fault, after `took`.
    pub fn request(&self, env: EnvName, seen: &Seen, fault: Option<VpCode>, took: Duration) {
        let outcome = fault.map_or(0, |code| code as usize + 1);
        let key = request_key(env, outcome, seen.contract, seen.address, seen.consumer);
        let fallback = request_key(env, outcome, OTHER_ID, OTHER_ID, OTHER_ID);
        self.requests.add(key, fallback);
        let e = env as usize;
        self.router_latency[e].observe(seen.contract, took);
        if let Some(producer) = seen.producer {
            self.producer_latency[e].observe(seen.contract, producer);
        }
    }

    /// A TLS handshake completed.
    pub fn handshake_ok(&self, listener: Listener) {
        self.handshakes[listener.index()].fetch_add(1, Relaxed);
    }

    /// A TLS handshake failed.
    pub fn handshake_failed(&self, listener: Listener, why: HandshakeFailure) {
        self.handshake_failures[listener.index()][why as usize].fetch_add(1, Relaxed);
    }

    /// Counts a connection open until the result is dropped.
    pub fn connection(self: &Arc<Self>, listener: Listener) -> OpenConnection {
        let listener = listener.index();
        self.open[listener].fetch_add(1, Relaxed);
        OpenConnection {
            metrics: self.clone(),
            listener,
        }
    }

    /// A mock judged a message.
    pub fn mock_verdict(&self, mock_address: &str, verdict: Verdict) {
        let key = 1 << 63 | u64::from(self.mock_addresses.id(mock_address)) << 8 | verdict as u64;
        let fallback = 1 << 63 | u64::from(OTHER_ID) << 8 | verdict as u64;
        self.verdicts.add(key, fallback);
    }

    /// The mocks' recorder dropped `n` recordings to make room.
    pub fn recordings_dropped(&self, n: usize) {
        if n > 0 {
            self.recordings_dropped.fetch_add(n as u64, Relaxed);
        }
    }

    /// Everything in the Prometheus text format, with `facts` from the other parts.
    pub fn encode(self: &Arc<Self>, facts: Vec<EnvFacts>) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Scrape {
            metrics: self.clone(),
            facts,
        }));
        let mut text = String::new();
        // Writing into a String cannot fail; a collector's own error would be a bug here.
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut text, &registry) {
            tracing::error!(error = %e, "encoding the metrics failed");
        }
        text
    }
}

/// One scrape: the counters and the facts read for it.
#[derive(Debug)]
struct Scrape {
    metrics: Arc<Metrics>,
    facts: Vec<EnvFacts>,
}

/// Writes one family: its descriptor, then each (labels, value).
fn family<const N: usize>(
    encoder: &mut DescriptorEncoder<'_>,
    (name, help, unit): (&str, &str, Option<&Unit>),
    metric_type: MetricType,
    series: impl IntoIterator<Item = ([(&'static str, String); N], i64)>,
) -> fmt::Result {
    let mut m = encoder.encode_descriptor(name, help, unit, metric_type)?;
    for (labels, value) in series {
        let fam = m.encode_family(&labels)?;
        match metric_type {
            MetricType::Counter => ConstCounter::new(value as u64).encode(fam)?,
            _ => ConstGauge::new(value).encode(fam)?,
        }
    }
    Ok(())
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let m = &*self.metrics;
        let (contracts, addresses, consumers) = (
            m.contracts.names(),
            m.addresses.names(),
            m.consumers.names(),
        );

        // Requests, summed per label set (a full table's fallback may repeat a key's labels).
        let mut requests: HashMap<u64, u64> = HashMap::new();
        for (key, n) in m.requests.entries() {
            *requests.entry(key).or_default() += n;
        }
        let mut rows: Vec<_> = requests.into_iter().collect();
        rows.sort_unstable();
        family(
            &mut encoder,
            (
                "ntjp_requests",
                "Requests to /vp answered by a router, by environment, service contract, logical address, consumer HSA-id and outcome (OK: passed to the producer and its answer returned; else the VP code of the fault). Input-fed labels past metrics.max_label_values are \"other\"; empty when the request was refused before it was known.",
                None,
            ),
            MetricType::Counter,
            rows.into_iter().map(|(key, n)| {
                let env = EnvName::ALL
                    .get((key >> 56 & 0x7F) as usize)
                    .map_or("", |e| e.as_str());
                let id = |shift: u32| (key >> shift & 0xFFFF) as u32;
                (
                    [
                        ("env", env.to_string()),
                        ("contract", name_of(&contracts, id(32)).to_string()),
                        ("address", name_of(&addresses, id(16)).to_string()),
                        ("consumer", name_of(&consumers, id(0)).to_string()),
                        (
                            "outcome",
                            outcome_name((key >> 48 & 0xFF) as usize).to_string(),
                        ),
                    ],
                    n as i64,
                )
            }),
        )?;

        for (latency, name, help) in [
            (
                &m.router_latency,
                "ntjp_request_duration",
                "Time a router took to answer a request to /vp, from its arrival until the answer's head was ready (the producer exchange included), by environment and service contract.",
            ),
            (
                &m.producer_latency,
                "ntjp_producer_duration",
                "Time from sending a request to the producer until its answer's head arrived (connection and retries included), by environment and service contract.",
            ),
        ] {
            let mut h = encoder.encode_descriptor(
                name,
                help,
                Some(&Unit::Seconds),
                MetricType::Histogram,
            )?;
            for (env, by_contract) in EnvName::ALL.iter().zip(latency.iter()) {
                for (contract, histogram) in by_contract.each() {
                    let labels = [
                        ("env", env.as_str()),
                        ("contract", name_of(&contracts, contract)),
                    ];
                    let (buckets, sum, count) = histogram.read();
                    h.encode_family(&labels)?
                        .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
                }
            }
        }

        let tls = || Listener::ALL.into_iter().filter(|l| l.is_tls());
        family(
            &mut encoder,
            (
                "ntjp_tls_handshakes",
                "TLS handshakes completed, by listener.",
                None,
            ),
            MetricType::Counter,
            tls().map(|l| {
                let n = m.handshakes[l.index()].load(Relaxed);
                ([("listener", l.name().to_string())], n as i64)
            }),
        )?;
        family(
            &mut encoder,
            (
                "ntjp_tls_handshake_failures",
                "TLS handshakes that failed, by listener and reason: no_client_certificate, unknown_ca, timeout, protocol_error, other.",
                None,
            ),
            MetricType::Counter,
            tls().flat_map(|l| {
                HandshakeFailure::ALL.into_iter().map(move |why| {
                    let n = m.handshake_failures[l.index()][why as usize].load(Relaxed);
                    (
                        [
                            ("listener", l.name().to_string()),
                            ("reason", why.name().to_string()),
                        ],
                        n as i64,
                    )
                })
            }),
        )?;
        family(
            &mut encoder,
            (
                "ntjp_open_connections",
                "Connections open now, by listener.",
                None,
            ),
            MetricType::Gauge,
            Listener::ALL.into_iter().map(|l| {
                let n = m.open[l.index()].load(Relaxed);
                ([("listener", l.name().to_string())], n)
            }),
        )?;

        let env_label = |f: &EnvFacts| [("env", f.env.as_str().to_string())];
        family(
            &mut encoder,
            (
                "ntjp_tak_version",
                "The published TAK version, by environment (absent before the first publish).",
                None,
            ),
            MetricType::Gauge,
            self.facts
                .iter()
                .filter_map(|f| Some((env_label(f), f.tak_version? as i64))),
        )?;
        family(
            &mut encoder,
            (
                "ntjp_tak_published_timestamp",
                "When the published TAK version was published, in seconds since 1970-01-01 UTC, by environment.",
                Some(&Unit::Seconds),
            ),
            MetricType::Gauge,
            self.facts
                .iter()
                .filter_map(|f| Some((env_label(f), f.tak_published?))),
        )?;
        family(
            &mut encoder,
            (
                "ntjp_orders",
                "Orders and order forms the order service answered, by environment and result: accepted, or refused (not readable, refused by TAK's validation or by a form's rules).",
                None,
            ),
            MetricType::Counter,
            self.facts.iter().flat_map(|f| {
                [
                    ("accepted", f.orders_accepted),
                    ("refused", f.orders_refused),
                ]
                .map(|(result, n)| {
                    (
                        [
                            ("env", f.env.as_str().to_string()),
                            ("result", result.to_string()),
                        ],
                        n as i64,
                    )
                })
            }),
        )?;

        let mock_addresses = m.mock_addresses.names();
        let mut verdicts: HashMap<(String, usize), u64> = HashMap::new();
        for (key, n) in m.verdicts.entries() {
            let address = name_of(&mock_addresses, (key >> 8 & 0xFFFF) as u32).to_string();
            *verdicts
                .entry((address, (key & 0xFF) as usize))
                .or_default() += n;
        }
        let mut verdicts: Vec<_> = verdicts.into_iter().collect();
        verdicts.sort_unstable();
        family(
            &mut encoder,
            (
                "ntjp_mock_verdicts",
                "Messages the mock producers judged, by mock address and verdict: valid, invalid (schema or TKB violations), technical (not a request the mock could read), ping.",
                None,
            ),
            MetricType::Counter,
            verdicts.into_iter().map(|((address, v), n)| {
                let verdict = VERDICTS.get(v).map_or(OTHER, |v| verdict_name(*v));
                (
                    [("address", address), ("verdict", verdict.to_string())],
                    n as i64,
                )
            }),
        )?;
        family(
            &mut encoder,
            (
                "ntjp_mock_recordings_dropped",
                "Recordings the mocks dropped to stay within their limits (per address in count, across all mocks in bytes).",
                None,
            ),
            MetricType::Counter,
            [([], m.recordings_dropped.load(Relaxed) as i64)],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interner_caps_values_and_keeps_numbers() {
        let i = Interner::new(2);
        let a = i.id("a");
        assert_eq!(i.id("a"), a);
        let b = i.id("b");
        assert_ne!(a, b);
        assert_eq!(i.id("c"), OTHER_ID);
        assert_eq!(i.id("a"), a);
        assert_eq!(i.id(""), EMPTY_ID);
        assert_eq!(i.id(OTHER), OTHER_ID);
        assert_eq!(name_of(&i.names(), b), "b");
    }

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        let long = "å".repeat(MAX_LABEL_BYTES);
        let cut = bounded(&long);
        assert!(cut.len() <= MAX_LABEL_BYTES && cut.len() >= MAX_LABEL_BYTES - 1);
        assert!(long.starts_with(cut));
    }

    #[test]
    fn a_full_table_counts_in_the_fallback() {
        let t = CounterTable::new(2);
        for key in [1 << 63 | 1, 1 << 63 | 2, 1 << 63 | 3, 1 << 63 | 3] {
            t.add(key, 1 << 63 | 9);
        }
        let mut got: Vec<_> = t.entries().collect();
        got.sort_unstable();
        assert_eq!(
            got,
            vec![(1 << 63 | 1, 1), (1 << 63 | 2, 1), (1 << 63 | 9, 2)]
        );
    }

    #[test]
    fn handshake_errors_are_told_apart_as_tokio_rustls_reports_them() {
        let tls = |e: rustls::Error| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let reason = |e: std::io::Error| HandshakeFailure::of(&e);
        assert_eq!(
            reason(tls(rustls::Error::NoCertificatesPresented)),
            HandshakeFailure::NoClientCertificate
        );
        assert_eq!(
            reason(tls(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))),
            HandshakeFailure::UnknownCa
        );
        assert_eq!(
            reason(tls(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            ))),
            HandshakeFailure::ProtocolError
        );
        assert_eq!(
            reason(std::io::ErrorKind::UnexpectedEof.into()),
            HandshakeFailure::Other
        );
    }

    #[test]
    fn histogram_buckets_hold_each_observation_once() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(100));
        let (buckets, sum, count) = h.read();
        assert_eq!(count, 3);
        assert_eq!(buckets[0], (0.0005, 1));
        assert_eq!(buckets[3], (0.005, 1));
        assert_eq!(buckets[16], (f64::INFINITY, 1));
        assert!((sum - 100.0031).abs() < 1e-9);
    }
}
