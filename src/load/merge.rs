//! `ntjp load merge`: the `--hdr` interval logs of several load generators (on one machine or
//! many) combined into one report, so that a benchmark can be driven from several machines.
//!
//! Each log's intervals are placed on the wall clock by the log's `#[BaseTime: ...]` (seconds
//! since the epoch when that generator's warm-up ended), so the combined rate is the answers
//! of all logs over the time from the first interval's start to the last one's end: clocks of
//! different machines should agree to well under a second (NTP does). Latency percentiles come
//! from the sum of every interval's histogram. Reads files whole; it is a command, not a
//! server, and a log holds one line per second of a run.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use base64::Engine as _;

use super::summary::Latency;
use hdrhistogram::{
    Histogram,
    serialization::{
        Deserializer,
        interval_log::{IntervalLogIterator, LogEntry},
    },
};
use serde::Serialize;

/// Why logs could not be merged: the file and, for its content, the interval that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not an HdrHistogram interval log ({why})", path.display())]
    Format { path: PathBuf, why: String },
    #[error("{}: interval {interval}: {why}", path.display())]
    Interval {
        path: PathBuf,
        interval: usize,
        why: String,
    },
    #[error("{}: holds no intervals (was the run measured with --hdr?)", path.display())]
    Empty { path: PathBuf },
}

/// One log's share of the merged report.
#[derive(Debug, Serialize)]
pub struct LogSummary {
    pub file: String,
    pub intervals: usize,
    pub answered: u64,
    /// From its first interval's start to its last one's end.
    pub duration_s: f64,
    pub requests_per_s: f64,
}

/// The merged report (`--json` prints it as it is).
#[derive(Debug, Serialize)]
pub struct Merged {
    pub logs: Vec<LogSummary>,
    pub answered: u64,
    /// From the earliest interval's start to the latest one's end, across all logs.
    pub duration_s: f64,
    pub requests_per_s: f64,
    pub latency_us: Latency,
}

/// One log read: its intervals' histograms summed, and where it lies on the wall clock.
struct Log {
    histogram: Histogram<u64>,
    intervals: usize,
    start: f64,
    end: f64,
}

/// Merges the logs at `paths` (at least one).
pub fn merge(paths: &[PathBuf]) -> Result<Merged, MergeError> {
    let mut all: Option<Histogram<u64>> = None;
    let mut logs = Vec::with_capacity(paths.len());
    let (mut start, mut end) = (f64::INFINITY, f64::NEG_INFINITY);
    for path in paths {
        let bytes = std::fs::read(path).map_err(|source| MergeError::Read {
            path: path.clone(),
            source,
        })?;
        let log = read_log(path, &bytes)?;
        start = start.min(log.start);
        end = end.max(log.end);
        let duration = log.end - log.start;
        logs.push(LogSummary {
            file: path.display().to_string(),
            intervals: log.intervals,
            answered: log.histogram.len(),
            duration_s: duration,
            requests_per_s: rate(log.histogram.len(), duration),
        });
        match &mut all {
            None => all = Some(log.histogram),
            Some(h) => h.add(&log.histogram).map_err(|e| MergeError::Format {
                path: path.clone(),
                why: format!("its histograms cannot be added to the others': {e:?}"),
            })?,
        }
    }
    let all = all.unwrap_or_else(empty_histogram);
    let duration = if end > start { end - start } else { 0.0 };
    Ok(Merged {
        logs,
        answered: all.len(),
        duration_s: duration,
        requests_per_s: rate(all.len(), duration),
        latency_us: Latency::of(&all),
    })
}

fn rate(answered: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        answered as f64 / seconds
    } else {
        0.0
    }
}

fn empty_histogram() -> Histogram<u64> {
    // Three significant figures, as `ntjp load` records; auto-resizing, so never an error.
    Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant figures are valid"))
}

/// Reads one interval log: every interval's histogram, summed, and its span on the wall clock.
fn read_log(path: &Path, bytes: &[u8]) -> Result<Log, MergeError> {
    let mut histogram = empty_histogram();
    let mut base = Duration::ZERO;
    let (mut intervals, mut start, mut end) = (0, f64::INFINITY, f64::NEG_INFINITY);
    let mut deserializer = Deserializer::new();
    for entry in IntervalLogIterator::new(bytes) {
        let entry = entry.map_err(|e| MergeError::Format {
            path: path.to_owned(),
            why: format!("{e:?} after {intervals} intervals"),
        })?;
        match entry {
            LogEntry::BaseTime(t) => base = t,
            LogEntry::StartTime(_) => {}
            LogEntry::Interval(interval) => {
                intervals += 1;
                let bad = |why: String| MergeError::Interval {
                    path: path.to_owned(),
                    interval: intervals,
                    why,
                };
                let encoded = base64::engine::general_purpose::STANDARD
                    .decode(interval.encoded_histogram())
                    .map_err(|e| bad(format!("its histogram is not base64: {e}")))?;
                let h: Histogram<u64> = deserializer
                    .deserialize(&mut &encoded[..])
                    .map_err(|e| bad(format!("its histogram cannot be read: {e:?}")))?;
                histogram
                    .add(&h)
                    .map_err(|e| bad(format!("its histogram cannot be added: {e:?}")))?;
                let from = (base + interval.start_timestamp()).as_secs_f64();
                start = start.min(from);
                end = end.max(from + interval.duration().as_secs_f64());
            }
        }
    }
    if intervals == 0 {
        return Err(MergeError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(Log {
        histogram,
        intervals,
        start,
        end,
    })
}

impl Merged {
    /// The report as text: one line per log, then the whole.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for log in &self.logs {
            let _ = writeln!(
                out,
                "{}: {} answered in {} intervals over {:.1} s, {:.0} req/s",
                log.file, log.answered, log.intervals, log.duration_s, log.requests_per_s
            );
        }
        let l = &self.latency_us;
        let _ = writeln!(
            out,
            "All {} logs: {} answered over {:.1} s (first start to last end), {:.0} req/s",
            self.logs.len(),
            self.answered,
            self.duration_s,
            self.requests_per_s
        );
        let _ = writeln!(
            out,
            "Latency (ms): p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  mean {:.3}",
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p99_9),
            ms(l.max),
            l.mean / 1000.0
        );
        out
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_log_is_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.hlog");
        std::fs::write(&empty, "#[BaseTime: 1.000 (seconds since epoch)]\n").unwrap();
        let err = merge(std::slice::from_ref(&empty)).unwrap_err().to_string();
        assert!(err.contains("empty.hlog: holds no intervals"), "{err}");

        let broken = dir.path().join("broken.hlog");
        std::fs::write(&broken, "0.000,1.000,0.5,notbase64!!\n").unwrap();
        let err = merge(&[broken]).unwrap_err().to_string();
        assert!(err.contains("broken.hlog: interval 1"), "{err}");

        let missing = dir.path().join("missing.hlog");
        let err = merge(&[missing]).unwrap_err().to_string();
        assert!(err.contains("missing.hlog"), "{err}");
    }
}
