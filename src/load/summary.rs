//! What a load run counted, and the summary printed at its end (text, or JSON with `--json`).
//!
//! Pure: [`Counts`] is filled per connection task without locks and merged at the end;
//! [`vp_code`] reads the VP code at the start of a SOAP fault's `faultstring` by a byte scan
//! (no XML parser per answer); [`Summary`] turns counts, the latency histogram and the run's
//! times into the figures users compare.

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::soap::VpCode;

/// How a request failed without an HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// TCP connect failed (refused, unreachable).
    Connect,
    /// The TLS handshake failed (certificate refused, protocol or group not supported).
    Tls,
    /// No complete answer within `--timeout` (connect, handshake and exchange together).
    Timeout,
    /// The connection closed before a complete answer.
    Closed,
    /// Any other HTTP-level error (malformed answer, write failure).
    Http,
}

impl ErrorKind {
    /// Every kind, in report order.
    pub const ALL: [ErrorKind; 5] = [
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::Timeout,
        ErrorKind::Closed,
        ErrorKind::Http,
    ];

    /// The name used in the text and JSON summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Closed => "closed",
            ErrorKind::Http => "http",
        }
    }
}

/// The VP code at the start of the first `faultstring` element's text (`VP004 [NTJP-TEST] …`),
/// found by a byte scan: an element named `faultstring` with any prefix, then optional
/// whitespace, then `VP` and three digits. `None` for anything else (a producer's own fault, no
/// fault at all).
pub fn vp_code(body: &[u8]) -> Option<VpCode> {
    const NAME: &[u8] = b"faultstring";
    let mut from = 0;
    while let Some(at) = find(&body[from..], NAME).map(|i| i + from) {
        from = at + NAME.len();
        // The element's name starts after `<` (an opening tag), possibly with a prefix; `</`
        // is a closing tag and anything else is text.
        let name_start = body[..at]
            .iter()
            .rposition(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':')))
            .map_or(0, |i| i + 1);
        let opening = name_start > 0 && body[name_start - 1] == b'<';
        let name_ends = matches!(
            body.get(from),
            Some(b'>' | b'/') | Some(b' ' | b'\t' | b'\r' | b'\n')
        );
        if !opening || !name_ends {
            continue;
        }
        let rest = &body[from..];
        let gt = rest.iter().position(|&c| c == b'>')?;
        if gt > 0 && rest[gt - 1] == b'/' {
            return None;
        }
        let text = &rest[gt + 1..];
        let start = text.iter().position(|c| !c.is_ascii_whitespace())?;
        let code = text.get(start..start + 5)?;
        let after = text.get(start + 5).copied();
        if after.is_some_and(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        return std::str::from_utf8(code).ok().and_then(VpCode::parse);
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Counts of one connection task, or of the whole run once merged.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// Answers by HTTP status, `(status, count)`, in the order first seen (few distinct ones).
    pub statuses: Vec<(u16, u64)>,
    /// Faults by VP code, indexed like [`VpCode::ALL`].
    pub vp: [u64; 15],
    /// HTTP 500 answers without a VP code (a producer's own fault, or not SOAP).
    pub other_500: u64,
    /// Failures without an answer, indexed like [`ErrorKind::ALL`].
    pub errors: [u64; 5],
    /// The first message of each error kind, for the summary.
    pub first_error: [Option<String>; 5],
    /// Connections opened (TCP connects that succeeded, and their TLS handshake if any).
    pub connections: u64,
    /// TLS handshakes that were full handshakes.
    pub tls_full: u64,
    /// TLS handshakes that resumed a session.
    pub tls_resumed: u64,
}

impl Counts {
    /// Records an answer.
    pub fn answer(&mut self, status: u16, vp: Option<VpCode>) {
        match self.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => self.statuses.push((status, 1)),
        }
        match vp {
            Some(code) => self.vp[code as usize] += 1,
            None if status == 500 => self.other_500 += 1,
            None => {}
        }
    }

    /// Records a failure without an answer.
    pub fn error(&mut self, kind: ErrorKind, message: impl FnOnce() -> String) {
        let i = kind as usize;
        self.errors[i] += 1;
        if self.first_error[i].is_none() {
            self.first_error[i] = Some(message());
        }
    }

    /// Adds another task's counts.
    pub fn merge(&mut self, other: &Counts) {
        for &(s, n) in &other.statuses {
            match self.statuses.iter_mut().find(|(x, _)| *x == s) {
                Some((_, m)) => *m += n,
                None => self.statuses.push((s, n)),
            }
        }
        for (a, b) in self.vp.iter_mut().zip(other.vp) {
            *a += b;
        }
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
        for (a, b) in self.first_error.iter_mut().zip(&other.first_error) {
            if a.is_none() {
                a.clone_from(b);
            }
        }
        self.other_500 += other.other_500;
        self.connections += other.connections;
        self.tls_full += other.tls_full;
        self.tls_resumed += other.tls_resumed;
    }

    /// Answers of any status.
    pub fn answered(&self) -> u64 {
        self.statuses.iter().map(|(_, n)| n).sum()
    }

    /// Failures without an answer.
    pub fn failed(&self) -> u64 {
        self.errors.iter().sum()
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p99_9: u64,
    /// Largest.
    pub max: u64,
    /// Arithmetic mean.
    pub mean: f64,
}

impl Latency {
    /// From a histogram of microseconds.
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        Latency {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p99_9: h.value_at_quantile(0.999),
            max: h.max(),
            mean: (h.mean() * 10.0).round() / 10.0,
        }
    }
}

/// The transport errors of one kind.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErrorCount {
    /// How many.
    pub count: u64,
    /// The first one's message.
    pub first: String,
}

/// The TLS parameters of the first connection, to check that compared runs used the same.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TlsInfo {
    /// e.g. `TLSv1_3`.
    pub version: String,
    /// Key-exchange group, e.g. `X25519`.
    pub group: String,
    /// Cipher suite.
    pub cipher: String,
}

/// CPU time this process used while measuring (from `/proc/self/stat`, 10 ms resolution).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cpu {
    /// User plus system CPU seconds.
    pub seconds: f64,
    /// CPU microseconds per answered request.
    pub us_per_request: f64,
}

/// A run's result. Serialised as the `--json` output; every field is documented in
/// `ntjp load --help`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The URL called.
    pub url: String,
    /// `keep-alive`, `resume` or `full`.
    pub mode: String,
    /// `closed` (fixed connections, as fast as answers come) or `open` (fixed rate).
    pub model: String,
    /// Connection tasks.
    pub connections: usize,
    /// Target rate of the open model (requests per second).
    pub rate: Option<f64>,
    /// Seconds from the end of the warm-up until the last measured answer.
    pub duration_s: f64,
    /// Measured requests sent (answered + errors).
    pub requests: u64,
    /// Requests that got an HTTP answer (any status).
    pub answered: u64,
    /// Requests that failed without an answer.
    pub errors: u64,
    /// Answers per second over `duration_s`.
    pub requests_per_s: f64,
    /// Latency of answered requests, microseconds. In the open model measured from the time
    /// each request was due, so waiting for a free connection counts.
    pub latency_us: Latency,
    /// Answers by HTTP status (`"200"`, `"500"`, …).
    pub status: BTreeMap<String, u64>,
    /// VP faults by code (`"VP004"`, …); `"other"` counts HTTP 500 answers without a VP code.
    pub vp: BTreeMap<String, u64>,
    /// Failures without an answer by kind (`connect`, `tls`, `timeout`, `closed`, `http`).
    pub transport_errors: BTreeMap<String, ErrorCount>,
    /// Connections opened while measuring, and how their TLS handshakes went.
    pub connections_opened: u64,
    /// Full TLS handshakes while measuring.
    pub tls_full_handshakes: u64,
    /// Resumed TLS handshakes while measuring.
    pub tls_resumed_handshakes: u64,
    /// TLS version, group and cipher of the first connection (absent for plain HTTP).
    pub tls: Option<TlsInfo>,
    /// This process's CPU while measuring (absent where `/proc` is not readable).
    pub cpu: Option<Cpu>,
}

/// Everything but the counts that goes into a [`Summary`].
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// The URL called.
    pub url: String,
    /// Connection mode name.
    pub mode: String,
    /// Connection tasks.
    pub connections: usize,
    /// Open-model rate.
    pub rate: Option<f64>,
    /// Measured time.
    pub elapsed: Duration,
    /// TLS of the first connection.
    pub tls: Option<TlsInfo>,
    /// CPU seconds used while measuring.
    pub cpu_seconds: Option<f64>,
}

impl Summary {
    /// Builds the summary.
    pub fn new(info: RunInfo, counts: &Counts, latency: &Histogram<u64>) -> Summary {
        let answered = counts.answered();
        let secs = info.elapsed.as_secs_f64();
        let per_s = if secs > 0.0 {
            answered as f64 / secs
        } else {
            0.0
        };
        let mut status: Vec<_> = counts.statuses.clone();
        status.sort_unstable();
        let mut vp: BTreeMap<String, u64> = VpCode::ALL
            .iter()
            .zip(counts.vp)
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| (c.as_str().to_owned(), n))
            .collect();
        if counts.other_500 > 0 {
            vp.insert("other".to_owned(), counts.other_500);
        }
        let transport_errors = ErrorKind::ALL
            .iter()
            .zip(counts.errors)
            .zip(&counts.first_error)
            .filter(|((_, n), _)| *n > 0)
            .map(|((k, n), first)| {
                (
                    k.as_str().to_owned(),
                    ErrorCount {
                        count: n,
                        first: first.clone().unwrap_or_default(),
                    },
                )
            })
            .collect();
        Summary {
            url: info.url,
            mode: info.mode,
            model: if info.rate.is_some() {
                "open"
            } else {
                "closed"
            }
            .to_owned(),
            connections: info.connections,
            rate: info.rate,
            duration_s: (secs * 1000.0).round() / 1000.0,
            requests: answered + counts.failed(),
            answered,
            errors: counts.failed(),
            requests_per_s: (per_s * 10.0).round() / 10.0,
            latency_us: Latency::of(latency),
            status: status
                .into_iter()
                .map(|(s, n)| (s.to_string(), n))
                .collect(),
            vp,
            transport_errors,
            connections_opened: counts.connections,
            tls_full_handshakes: counts.tls_full,
            tls_resumed_handshakes: counts.tls_resumed,
            tls: info.tls,
            cpu: info.cpu_seconds.map(|s| Cpu {
                seconds: (s * 100.0).round() / 100.0,
                us_per_request: if answered > 0 {
                    (s * 1e7 / answered as f64).round() / 10.0
                } else {
                    0.0
                },
            }),
        }
    }

    /// The text summary.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let load = match self.rate {
            Some(r) => format!(
                "open model, {r} req/s over up to {} connections",
                self.connections
            ),
            None => format!("closed model, {} connections", self.connections),
        };
        let _ = writeln!(s, "{}  ({load}, {})", self.url, self.mode);
        if let Some(t) = &self.tls {
            let _ = writeln!(s, "  TLS          {} {} {}", t.version, t.group, t.cipher);
        }
        let _ = writeln!(
            s,
            "  requests     {} in {:.2} s: {:.1} req/s, {} answered, {} errors",
            self.requests, self.duration_s, self.requests_per_s, self.answered, self.errors
        );
        let l = &self.latency_us;
        let _ = writeln!(
            s,
            "  latency      p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p99_9),
            ms(l.max)
        );
        let statuses: Vec<String> = self
            .status
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(s, "  HTTP status  {}", none_if_empty(&statuses));
        if !self.vp.is_empty() {
            let vp: Vec<String> = self.vp.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            let _ = writeln!(s, "  VP faults    {}", vp.join(", "));
        }
        for (kind, e) in &self.transport_errors {
            let _ = writeln!(s, "  error        {kind}: {} (first: {})", e.count, e.first);
        }
        let _ = writeln!(
            s,
            "  connections  {} opened while measuring ({} full TLS handshakes, {} resumed)",
            self.connections_opened, self.tls_full_handshakes, self.tls_resumed_handshakes
        );
        if let Some(c) = &self.cpu {
            let _ = writeln!(
                s,
                "  client CPU   {:.2} s, {:.1} µs per request",
                c.seconds, c.us_per_request
            );
        }
        s
    }
}

fn none_if_empty(v: &[String]) -> String {
    if v.is_empty() {
        "none".to_owned()
    } else {
        v.join(", ")
    }
}

/// Microseconds as milliseconds with three decimals.
fn ms(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::VpFault;

    #[test]
    fn vp_code_of_the_router_s_faults() {
        let xml = VpFault::no_route("urn:x", "99").to_soap("NTJP-TEST");
        assert_eq!(vp_code(xml.as_bytes()), Some(VpCode::Vp004));
        let xml = VpFault::not_authorised("urn:x", "01", "SE-X").to_soap("NTJP-TEST");
        assert_eq!(vp_code(xml.as_bytes()), Some(VpCode::Vp007));
    }

    #[test]
    fn vp_code_with_prefixes_whitespace_and_other_faults() {
        let prefixed = b"<s:Fault><faultcode>s:Server</faultcode><s:faultstring xml:lang=\"sv\">\n  VP009 [X] fel</s:faultstring></s:Fault>";
        assert_eq!(vp_code(prefixed), Some(VpCode::Vp009));
        let producer = b"<s:Fault><faultcode>s:Server</faultcode><faultstring>Database down</faultstring></s:Fault>";
        assert_eq!(vp_code(producer), None);
        assert_eq!(vp_code(b"<faultstring/>VP004"), None);
        assert_eq!(vp_code(b"<faultstring>VP0045 x</faultstring>"), None);
        assert_eq!(vp_code(b"<faultstring>VP016 x</faultstring>"), None);
        assert_eq!(vp_code(b"<a>VP004 not a fault</a>"), None);
        assert_eq!(vp_code(b""), None);
        assert_eq!(vp_code(b"<faultstring>VP0"), None);
        // A closing tag seen first (broken document) is skipped.
        assert_eq!(
            vp_code(b"</faultstring><faultstring>VP003 x</faultstring>"),
            Some(VpCode::Vp003)
        );
    }

    #[test]
    fn counts_merge_and_summarise() {
        let mut a = Counts::default();
        a.answer(200, None);
        a.answer(200, None);
        a.answer(500, Some(VpCode::Vp004));
        a.error(ErrorKind::Connect, || "refused".into());
        let mut b = Counts::default();
        b.answer(404, None);
        b.answer(500, None);
        b.answer(500, Some(VpCode::Vp004));
        b.error(ErrorKind::Connect, || "second".into());
        b.error(ErrorKind::Timeout, || "slow".into());
        b.connections = 3;
        b.tls_full = 1;
        b.tls_resumed = 2;
        a.merge(&b);
        assert_eq!(a.answered(), 6);
        assert_eq!(a.failed(), 3);

        let mut h = Histogram::<u64>::new(3).unwrap();
        for v in 1..=1000 {
            h.record(v).unwrap();
        }
        let info = RunInfo {
            url: "https://localhost:1/vp".into(),
            mode: "keep-alive".into(),
            connections: 2,
            rate: None,
            elapsed: Duration::from_secs(2),
            tls: None,
            cpu_seconds: Some(0.5),
        };
        let s = Summary::new(info, &a, &h);
        assert_eq!(s.requests, 9);
        assert_eq!(s.requests_per_s, 3.0);
        assert_eq!(s.status["200"], 2);
        assert_eq!(s.status["404"], 1);
        assert_eq!(s.status["500"], 3);
        assert_eq!(s.vp["VP004"], 2);
        assert_eq!(s.vp["other"], 1);
        assert_eq!(s.transport_errors["connect"].count, 2);
        assert_eq!(s.transport_errors["connect"].first, "refused");
        assert_eq!(s.latency_us.p50, 500);
        assert_eq!(s.latency_us.max, 1000);
        assert_eq!(s.cpu.as_ref().unwrap().us_per_request, 83333.3);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["latency_us"]["p99_9"], 999);
        assert_eq!(json["transport_errors"]["timeout"]["count"], 1);
        let text = s.to_text();
        assert!(text.contains("VP004: 2, other: 1"), "{text}");
        assert!(text.contains("404: 1"), "{text}");
        assert!(text.contains("p50 0.500 ms"), "{text}");
        assert!(text.contains("connect: 2 (first: refused)"), "{text}");
    }
}
