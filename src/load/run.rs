//! The scheduler around [`super::client`]: connection tasks in the closed or open model,
//! warm-up, the stop condition, per-second latency histograms (the live progress line and the
//! `--hdr` interval log), and the CPU this process spent while measuring.

use std::{
    collections::BTreeMap,
    io::IsTerminal,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use hdrhistogram::{
    Histogram,
    serialization::{V2DeflateSerializer, interval_log::IntervalLogWriterBuilder},
};
use tokio::{
    sync::watch,
    task::JoinSet,
    time::{Instant, sleep_until, timeout_at},
};

use super::{
    Mode,
    client::{self, Connection, Exchange, Failure, Target},
    summary::{Counts, ErrorKind, TlsInfo},
};

/// Warm-up requests take their bodies and correlation ids from here on, apart from measured ones.
const WARM_UP_BASE: u64 = 1 << 47;

/// What every connection task shares.
pub(super) struct Shared {
    pub target: Target,
    pub pool: super::template::Pool,
    pub mode: Mode,
    /// Open model: requests per second.
    pub rate: Option<f64>,
    /// When sending began (the open model's schedule starts here).
    pub start: Instant,
    /// When the warm-up ends and measuring begins.
    pub t0: Instant,
    /// No request is started (closed) or due (open) at or after this.
    pub end: Option<Instant>,
    /// At most this many measured requests.
    pub limit: Option<u64>,
    /// For a whole request: connect, handshake, send, answer.
    pub timeout: Duration,
    /// Open model: the next request's number in the schedule.
    pub scheduled: AtomicU64,
    /// Measured requests claimed.
    pub measured: AtomicU64,
    /// Warm-up requests claimed (closed model).
    pub warm: AtomicU64,
    /// Answers and failures so far, warm-up included (for the progress line).
    pub answered: AtomicU64,
    pub failed: AtomicU64,
    /// Per-second latency histograms, filled by the tasks, closed by the collector.
    pub intervals: Mutex<Intervals>,
    /// TLS parameters of the first connection.
    pub tls_info: std::sync::OnceLock<TlsInfo>,
}

/// Latency histograms by second since `t0`; the collector moves closed seconds into `total`.
pub(super) struct Intervals {
    open: BTreeMap<u64, Histogram<u64>>,
    /// Seconds before this one are closed; late data goes into this one.
    closed_before: u64,
    pub total: Histogram<u64>,
}

impl Intervals {
    pub(super) fn new() -> Self {
        Intervals {
            open: BTreeMap::new(),
            closed_before: 0,
            total: histogram(),
        }
    }

    fn add(&mut self, second: u64, h: &Histogram<u64>) {
        let second = second.max(self.closed_before);
        let _ = self.open.entry(second).or_insert_with(histogram).add(h);
    }

    /// The 99th percentile of everything recorded so far, open seconds included.
    fn p99_so_far(&self) -> u64 {
        let mut all = self.total.clone();
        for h in self.open.values() {
            let _ = all.add(h);
        }
        all.value_at_quantile(0.99)
    }

    /// Closes every second before `second`; returns them in order.
    fn close_before(&mut self, second: u64) -> Vec<(u64, Histogram<u64>)> {
        let later = self.open.split_off(&second);
        let closed = std::mem::replace(&mut self.open, later);
        self.closed_before = self.closed_before.max(second);
        closed
            .into_iter()
            .inspect(|(_, h)| {
                let _ = self.total.add(h);
            })
            .collect()
    }
}

/// An auto-resizing histogram of microseconds with three significant digits.
fn histogram() -> Histogram<u64> {
    // new(3) only fails for more than five significant digits.
    let mut h = Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits"));
    h.auto(true);
    h
}

/// Records a latency in microseconds (at least 1, at most an hour). `record` grows the
/// histogram; `saturating_record` would clamp at its current top.
fn record_latency(h: &mut Histogram<u64>, latency: Duration) {
    let us = latency.as_micros().clamp(1, 3_600_000_000) as u64;
    let _ = h.record(us);
}

/// One request to send.
struct Job {
    index: u64,
    measured: bool,
    /// Open model: when it was due.
    due: Option<Instant>,
}

impl Shared {
    async fn next_job(&self) -> Option<Job> {
        let Some(rate) = self.rate else {
            let now = Instant::now();
            if now < self.t0 {
                let n = self.warm.fetch_add(1, Relaxed);
                return Some(Job {
                    index: WARM_UP_BASE + n,
                    measured: false,
                    due: None,
                });
            }
            if self.end.is_some_and(|e| now >= e) {
                return None;
            }
            let slot = self.claim()?;
            return Some(Job {
                index: slot,
                measured: true,
                due: None,
            });
        };
        let k = self.scheduled.fetch_add(1, Relaxed);
        let due = self.start + Duration::from_secs_f64(k as f64 / rate);
        if self.end.is_some_and(|e| due >= e) {
            return None;
        }
        let measured = due >= self.t0;
        let index = if measured {
            self.claim()?
        } else {
            WARM_UP_BASE + k
        };
        // tokio's timer fires on whole milliseconds, rounding up: wake up to 1 ms early rather
        // than late (the latency is then measured from the real send).
        let wake = due.checked_sub(Duration::from_millis(1)).unwrap_or(due);
        if wake > Instant::now() {
            sleep_until(wake).await;
        }
        Some(Job {
            index,
            measured,
            due: Some(due),
        })
    }

    fn claim(&self) -> Option<u64> {
        let slot = self.measured.fetch_add(1, Relaxed);
        match self.limit {
            Some(l) if slot >= l => None,
            _ => Some(slot),
        }
    }
}

/// A task's own records, flushed into [`Shared::intervals`] when a second ends.
struct Local {
    counts: Counts,
    hist: Histogram<u64>,
    second: u64,
}

impl Local {
    fn record(&mut self, shared: &Shared, latency: Duration, done: Instant) {
        let second = done.saturating_duration_since(shared.t0).as_secs();
        if second != self.second {
            self.flush(shared);
            self.second = second;
        }
        record_latency(&mut self.hist, latency);
    }

    fn flush(&mut self, shared: &Shared) {
        if self.hist.is_empty() {
            return;
        }
        if let Ok(mut i) = shared.intervals.lock() {
            i.add(self.second, &self.hist);
        }
        self.hist.reset();
    }
}

/// One connection task: takes jobs until there are none, on one connection at a time.
pub(super) async fn worker(shared: Arc<Shared>) -> Counts {
    let mut local = Local {
        counts: Counts::default(),
        hist: histogram(),
        second: 0,
    };
    let mut conn: Option<Connection> = None;
    let close_each = shared.mode != Mode::KeepAlive;
    while let Some(job) = shared.next_job().await {
        let sent = Instant::now();
        let rendered = shared.pool.get(job.index);
        let req = client::request(
            &shared.target,
            rendered.body,
            rendered.correlation_id.as_ref().map(|id| &id[..]),
            close_each,
        );
        let counts = job.measured.then_some(&mut local.counts);
        let outcome =
            timeout_at(sent + shared.timeout, send(&shared, &mut conn, req, counts)).await;
        let done = Instant::now();
        let outcome = outcome.unwrap_or_else(|_| {
            Err(Failure {
                kind: ErrorKind::Timeout,
                message: format!("no complete answer within {:?}", shared.timeout),
            })
        });
        match outcome {
            Ok((status, vp)) => {
                shared.answered.fetch_add(1, Relaxed);
                if job.measured {
                    local.counts.answer(status, vp);
                    let from = job.due.map_or(sent, |due| due.min(sent));
                    local.record(&shared, done - from, done);
                }
            }
            Err(f) => {
                conn = None;
                shared.failed.fetch_add(1, Relaxed);
                if job.measured {
                    local.counts.error(f.kind, || f.message);
                }
            }
        }
        if close_each {
            conn = None;
        }
    }
    local.flush(&shared);
    local.counts
}

/// Sends on the open connection, or a new one; a request the server never read (an idle
/// keep-alive connection it closed) goes once more on a new connection.
async fn send(
    shared: &Shared,
    conn: &mut Option<Connection>,
    mut req: http::Request<http_body_util::Full<bytes::Bytes>>,
    mut counts: Option<&mut Counts>,
) -> Result<(u16, Option<crate::soap::VpCode>), Failure> {
    for _ in 0..3 {
        let c = match conn {
            Some(c) if c.is_open() => c,
            _ => {
                let (c, opened) = client::connect(&shared.target).await?;
                if let Some(info) = opened.tls {
                    let _ = shared.tls_info.set(info);
                }
                if let Some(counts) = counts.as_deref_mut() {
                    counts.connections += 1;
                    match opened.resumed {
                        Some(true) => counts.tls_resumed += 1,
                        Some(false) => counts.tls_full += 1,
                        None => {}
                    }
                }
                conn.insert(c)
            }
        };
        match c.exchange(req).await {
            Exchange::Answer(status, vp) => return Ok((status, vp)),
            Exchange::NotSent(r) => {
                *conn = None;
                req = *r;
            }
            Exchange::Failed(f) => return Err(f),
        }
    }
    Err(Failure {
        kind: ErrorKind::Closed,
        message: "the server closed three new connections before a request was sent".into(),
    })
}

/// The collector: once a second it closes finished seconds (into the interval log when asked)
/// and, on a terminal, redraws the progress line. Returns the log's text.
pub(super) async fn collect(
    shared: Arc<Shared>,
    mut done: watch::Receiver<bool>,
    hdr: bool,
    progress: bool,
) -> Vec<u8> {
    let progress = progress && std::io::stderr().is_terminal();
    let mut log = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let base = std::time::SystemTime::now() + shared.t0.saturating_duration_since(Instant::now());
    let mut builder = IntervalLogWriterBuilder::new();
    builder
        .add_comment(
            "ntjp load: latency in microseconds, one interval per second after the warm-up",
        )
        .with_base_time(base)
        .with_start_time(base)
        .with_max_value_divisor(1000.0);
    let Ok(mut writer) = builder.begin_log_with(&mut log, &mut serializer) else {
        return Vec::new();
    };
    let mut tick = tokio::time::interval_at(
        shared.start + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    let mut last = (Instant::now(), 0u64);
    loop {
        let finished = tokio::select! {
            _ = tick.tick() => false,
            _ = done.changed() => true,
        };
        let now = Instant::now();
        let second = if finished {
            u64::MAX
        } else {
            // The second that just ended stays open for a second for stragglers.
            now.saturating_duration_since(shared.t0)
                .as_secs()
                .saturating_sub(1)
        };
        let (closed, p99) = match shared.intervals.lock() {
            Ok(mut i) => {
                let closed = i.close_before(second);
                let p99 = if progress { i.p99_so_far() } else { 0 };
                (closed, p99)
            }
            Err(_) => (Vec::new(), 0),
        };
        if hdr {
            for (s, h) in &closed {
                let _ = writer.write_histogram(
                    h,
                    Duration::from_secs(*s),
                    Duration::from_secs(1),
                    None,
                );
            }
        }
        if progress {
            draw_progress(&shared, now, &mut last, finished, p99);
        }
        if finished {
            break;
        }
    }
    drop(writer);
    if hdr { log } else { Vec::new() }
}

/// Redraws the progress line on stderr (clears it when the run has finished). `last` is the
/// previous redraw's time and answered count, for the rate since then.
fn draw_progress(
    shared: &Shared,
    now: Instant,
    last: &mut (Instant, u64),
    finished: bool,
    p99: u64,
) {
    let answered = shared.answered.load(Relaxed);
    let rate = (answered - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-3);
    *last = (now, answered);
    let phase = if now < shared.t0 { " (warm-up)" } else { "" };
    if finished {
        eprint!("\r\x1b[K");
    } else {
        eprint!(
            "\r\x1b[K{:>6.1} s{phase}  {rate:>9.0} req/s  {answered} answered  {} errors  p99 {:.3} ms",
            now.duration_since(shared.start).as_secs_f64(),
            shared.failed.load(Relaxed),
            p99 as f64 / 1000.0
        );
    }
}

/// User plus system CPU seconds from the text of `/proc/<pid>/stat` (fields 14 and 15, in
/// clock ticks of 1/100 s, Linux's fixed USER_HZ).
pub fn cpu_seconds_of_stat(stat: &str) -> Option<f64> {
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// This process's CPU seconds so far.
pub(super) async fn own_cpu_seconds() -> Option<f64> {
    let stat = tokio::fs::read_to_string("/proc/self/stat").await.ok()?;
    cpu_seconds_of_stat(&stat)
}

/// Runs `connections` workers to the end; returns their merged counts.
pub(super) async fn run_workers(shared: &Arc<Shared>, connections: usize) -> Counts {
    let mut tasks = JoinSet::new();
    for _ in 0..connections {
        tasks.spawn(worker(shared.clone()));
    }
    let mut counts = Counts::default();
    while let Some(r) = tasks.join_next().await {
        if let Ok(c) = r {
            counts.merge(&c);
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_from_proc_stat() {
        let stat = "1234 (ntjp load (x)) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 3 0 100 0 0";
        assert_eq!(cpu_seconds_of_stat(stat), Some(3.25));
        assert_eq!(cpu_seconds_of_stat("garbage"), None);
    }

    #[test]
    fn latencies_of_any_size_are_kept() {
        let mut h = histogram();
        record_latency(&mut h, Duration::from_micros(300));
        record_latency(&mut h, Duration::from_millis(21));
        record_latency(&mut h, Duration::from_secs(40));
        record_latency(&mut h, Duration::from_secs(99_999));
        record_latency(&mut h, Duration::ZERO);
        assert_eq!(h.len(), 5);
        assert!(h.equivalent(h.value_at_quantile(0.5), 21_000));
        assert!(h.equivalent(h.max(), 3_600_000_000));
        assert_eq!(h.min(), 1);
    }

    #[test]
    fn late_data_goes_into_the_first_open_second() {
        let mut i = Intervals::new();
        let mut h = histogram();
        h.record(100).unwrap();
        i.add(0, &h);
        i.add(1, &h);
        let closed = i.close_before(1);
        assert_eq!(closed.len(), 1);
        assert_eq!(i.total.len(), 1);
        i.add(0, &h); // a straggler for a closed second
        let closed = i.close_before(u64::MAX);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].0, 1);
        assert_eq!(closed[0].1.len(), 2);
        assert_eq!(i.total.len(), 3);
    }
}
