//! Log lines of `ntjp serve`: how an event becomes a line, and how lines reach stderr.
//!
//! - [`TextLine`] writes an event as tracing-subscriber's default text format does
//!   (`2026-12-02T16:21:42.082050Z  INFO target: message key=value ...`), but writes each
//!   field straight into the line: a plain string is copied between quotes instead of being
//!   escaped character by character through `Debug`, numbers are written as numbers, and no
//!   styling is painted when there are no colours. A routed request's two lines cost about a
//!   fifth of what the default format cost. Spans are not printed (none are used).
//! - [`LogQueue`] is the writer: a bounded buffer in bytes that a thread of its own empties
//!   to stderr in batches. Writing a line is a copy under an uncontended lock: no allocation,
//!   no system call, no wake-up per line (the thread is woken once per batch). When stderr
//!   cannot keep up and the buffer is full, lines are dropped and counted, never waited for.
//!
//! What is logged (the events, their names and fields) is the callers' business; events of
//! disabled levels never reach this module (tracing checks the filter before building any
//! field). The JSON format is still tracing-subscriber's. This module is the one piece to
//! replace when the log format changes.

use std::{
    fmt::{self, Write as _},
    io::{self, IsTerminal, Write as _},
    sync::{
        Arc, Condvar, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use tracing::{
    Event, Level, Subscriber,
    field::{Field, Visit},
};
use tracing_subscriber::{
    fmt::{
        FmtContext, FormatEvent, FormatFields, MakeWriter,
        format::Writer,
        time::{FormatTime, SystemTime as DefaultTime},
    },
    registry::LookupSpan,
};

/// How many bytes of log lines may wait for the log thread. When stderr does not keep up and
/// this is full, new lines are dropped (and counted): a slow terminal or log pipe must never
/// stall routing. 4 MiB is about 13,000 lines, a quarter of a second of the router's busiest.
pub const QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// How long the log thread gathers lines after the first one of a batch before writing them:
/// one write per batch, at most 50 wake-ups a second however busy the router is.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(20);

/// Sets the process's logging up for `ntjp serve`: the level filter from `RUST_LOG` (else
/// `info`), text or JSON lines, colours only on a terminal without `NO_COLOR`. Keep the guard
/// until the process ends: dropping it writes what is still queued.
pub fn init(json: bool) -> LogGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let (queue, guard) = LogQueue::start(io::stderr(), QUEUE_BYTES);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(queue);
    if json {
        builder
            .with_timer(CachedTime)
            .json()
            .flatten_event(true)
            .init();
    } else {
        builder.event_format(TextLine).init();
    }
    guard
}

/// The text format: tracing-subscriber's default layout, each field written directly.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextLine;

impl<S, N> FormatEvent<S, N> for TextLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        write_timestamp(&mut w)?;
        w.write_char(' ')?;
        let level = level_text(meta.level());
        if w.has_ansi_escapes() {
            write!(w, "\x1b[{}m{level}\x1b[0m ", level_colour(meta.level()))?;
        } else {
            w.write_str(level)?;
            w.write_char(' ')?;
        }
        w.write_str(meta.target())?;
        w.write_str(": ")?;
        let mut fields = Fields {
            w: &mut w,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        w.write_char('\n')
    }
}

/// The level as the default format writes it: right-aligned in five characters.
fn level_text(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => " INFO",
        Level::WARN => " WARN",
        Level::ERROR => "ERROR",
    }
}

/// The default format's level colours (ANSI SGR codes).
fn level_colour(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "35",
        Level::DEBUG => "34",
        Level::INFO => "32",
        Level::WARN => "33",
        Level::ERROR => "31",
    }
}

/// Writes an event's fields as `message key=value key="text" ...`.
struct Fields<'a, 'w> {
    w: &'a mut Writer<'w>,
    /// No field written yet (no separating space).
    first: bool,
    result: fmt::Result,
}

impl Fields<'_, '_> {
    /// Writes the separator and `name=`; returns whether the field is the message (no name).
    fn start(&mut self, field: &Field) -> Result<bool, fmt::Error> {
        if self.first {
            self.first = false;
        } else {
            self.w.write_char(' ')?;
        }
        let name = field.name();
        if name == "message" {
            return Ok(true);
        }
        self.w.write_str(name.strip_prefix("r#").unwrap_or(name))?;
        self.w.write_char('=')?;
        Ok(false)
    }

    fn str_field(&mut self, field: &Field, value: &str) -> fmt::Result {
        if self.start(field)? {
            return Sanitised(self.w).write_str(value);
        }
        // What `Debug` writes for a string, without escaping it character by character when
        // nothing in it needs escaping (the usual HSA-id, address or namespace).
        if value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        {
            self.w.write_char('"')?;
            self.w.write_str(value)?;
            self.w.write_char('"')
        } else {
            write!(self.w, "{value:?}")
        }
    }

    fn debug_field(&mut self, field: &Field, value: &dyn fmt::Debug) -> fmt::Result {
        self.start(field)?;
        write!(Sanitised(self.w), "{value:?}")
    }
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_ok() {
            self.result = self.str_field(field, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.result.is_ok() {
            self.result = self.start(field).and_then(|_| write!(self.w, "{value}"));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.result.is_ok() {
            self.result = self.start(field).and_then(|_| write!(self.w, "{value}"));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.result.is_ok() {
            self.result = self
                .start(field)
                .and_then(|_| self.w.write_str(if value { "true" } else { "false" }));
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            self.start(field)?;
            write!(Sanitised(self.w), "{value}")?;
            if let Some(mut source) = value.source() {
                write!(self.w, " {}.sources=[", field.name())?;
                loop {
                    write!(Sanitised(self.w), "{source}")?;
                    match source.source() {
                        Some(next) => {
                            self.w.write_str(", ")?;
                            source = next;
                        }
                        None => break,
                    }
                }
                self.w.write_char(']')?;
            }
            Ok(())
        })();
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_ok() {
            self.result = self.debug_field(field, value);
        }
    }
}

/// Passes text on with control characters escaped (`\n`, `\x1b`, `\u{85}`, ...): a value that
/// came from a request can neither break a line in two nor reach a terminal as an escape
/// sequence. Text without them (nearly all) is passed on as it is.
struct Sanitised<'a, 'w>(&'a mut Writer<'w>);

impl fmt::Write for Sanitised<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return self.0.write_str(s);
        }
        for c in s.chars() {
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    write!(self.0, "\\x{:02x}", c as u32)?
                }
                c if (0x80..=0x9f).contains(&(c as u32)) => {
                    write!(self.0, "\\u{{{:x}}}", c as u32)?
                }
                c => self.0.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// The JSON format's timestamps, written like the text format's.
#[derive(Debug, Clone, Copy, Default)]
struct CachedTime;

impl FormatTime for CachedTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        write_timestamp(w)
    }
}

thread_local! {
    /// The second last formatted on this thread and its `YYYY-MM-DDTHH:MM:SS`.
    static LOG_SECOND: std::cell::Cell<(u64, [u8; 19])> = const { std::cell::Cell::new((u64::MAX, [0; 19])) };
}

/// The default format's timestamp (`2026-12-02T16:21:42.082050Z`, UTC), with the calendar
/// part formatted once per second and thread instead of for every line.
fn write_timestamp(w: &mut Writer<'_>) -> fmt::Result {
    let Ok(since_epoch) = SystemTime::now().duration_since(UNIX_EPOCH) else {
        return DefaultTime.format_time(w);
    };
    let second = since_epoch.as_secs();
    let (cached, mut prefix) = LOG_SECOND.get();
    if cached != second {
        let Some(text) = i64::try_from(second)
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
            .filter(|t| t.len() == prefix.len())
        else {
            return DefaultTime.format_time(w);
        };
        prefix.copy_from_slice(text.as_bytes());
        LOG_SECOND.set((second, prefix));
    }
    let mut line = [0u8; 27];
    line[..19].copy_from_slice(&prefix);
    line[19] = b'.';
    let mut micros = since_epoch.subsec_micros();
    for digit in line[20..26].iter_mut().rev() {
        *digit = b'0' + (micros % 10) as u8;
        micros /= 10;
    }
    line[26] = b'Z';
    w.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
}

/// The bounded queue of log lines and the thread that writes them (a [`MakeWriter`]).
#[derive(Clone)]
pub struct LogQueue {
    shared: Arc<Shared>,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when the first line of a batch arrives, and on shutdown.
    wake: Condvar,
    /// Most bytes the queue holds.
    limit: usize,
    /// Lines dropped because the queue was full.
    dropped: AtomicU64,
}

struct Queue {
    lines: Vec<u8>,
    stopping: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock cannot leave the bytes inconsistent: go on.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Keeps the log thread; dropping it writes what is queued and ends the thread.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl LogGuard {
    /// How many lines were dropped so far because the output did not keep up.
    pub fn dropped_lines(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Writes what is queued, ends the log thread (later lines are written directly) and
    /// says how many lines were dropped in all.
    pub fn finish(mut self) -> u64 {
        self.stop();
        self.dropped_lines()
    }

    fn stop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

impl LogQueue {
    /// Starts the log thread writing to `out`; lines beyond `limit` queued bytes are dropped.
    pub fn start<W: io::Write + Send + 'static>(out: W, limit: usize) -> (LogQueue, LogGuard) {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                lines: Vec::new(),
                stopping: false,
            }),
            wake: Condvar::new(),
            limit,
            dropped: AtomicU64::new(0),
        });
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ntjp-log".into())
            .spawn(move || write_batches(&for_thread, out))
            .map_err(|e| eprintln!("cannot start the log thread ({e}): logs are written directly"))
            .ok();
        if thread.is_none() {
            // Without the thread nobody empties the queue: every line is written at once.
            shared.lock().stopping = true;
        }
        let guard = LogGuard {
            shared: shared.clone(),
            thread,
        };
        (LogQueue { shared }, guard)
    }

    fn push(&self, line: &[u8]) {
        let mut queue = self.shared.lock();
        if queue.stopping {
            drop(queue);
            let _ = io::stderr().write_all(line);
            return;
        }
        if queue.lines.len() + line.len() > self.shared.limit {
            drop(queue);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let first = queue.lines.is_empty();
        queue.lines.extend_from_slice(line);
        drop(queue);
        if first {
            self.shared.wake.notify_one();
        }
    }
}

/// The log thread: waits for a first line, gathers lines for [`BATCH_INTERVAL`], writes them
/// in one go; on shutdown writes what is left.
fn write_batches<W: io::Write>(shared: &Shared, mut out: W) {
    let mut batch = Vec::new();
    loop {
        let mut queue = shared.lock();
        while queue.lines.is_empty() && !queue.stopping {
            queue = shared.wake.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
        let stopping = queue.stopping;
        drop(queue);
        if !stopping {
            std::thread::sleep(BATCH_INTERVAL);
        }
        std::mem::swap(&mut shared.lock().lines, &mut batch);
        if !batch.is_empty() {
            // Nowhere to report a failing stderr: the lines are lost, as with eprintln!.
            let _ = out.write_all(&batch).and_then(|_| out.flush());
            batch.clear();
        }
        if stopping {
            return;
        }
    }
}

/// What the formatter writes one event's line into.
pub struct LineSink<'a>(&'a LogQueue);

impl io::Write for LineSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogQueue {
    type Writer = LineSink<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineSink(self)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Collects what the log thread writes.
    #[derive(Clone, Default)]
    struct Collected(Arc<Mutex<Vec<u8>>>, Arc<AtomicUsize>);

    impl io::Write for Collected {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            self.1.fetch_add(1, Ordering::Relaxed);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A writer that, at its first write, says so and waits until released.
    struct Gate {
        out: Collected,
        entered: std::sync::mpsc::Sender<()>,
        release: std::sync::mpsc::Receiver<()>,
    }

    impl io::Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _ = self.entered.send(());
            let _ = self.release.recv();
            self.out.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Lines written by `f`'s events through [`TextLine`] and [`LogQueue`].
    fn lines_of(f: impl FnOnce()) -> (String, Collected) {
        let out = Collected::default();
        let (queue, guard) = LogQueue::start(out.clone(), 1 << 20);
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .event_format(TextLine)
                .with_ansi(false)
                .with_writer(queue),
        );
        tracing::subscriber::with_default(subscriber, f);
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        (text, out)
    }

    #[test]
    fn a_line_looks_like_the_default_format() {
        let (text, _) = lines_of(|| {
            let id = "b54703b8-ac13-49f3-aec1-4ed588ebd156";
            tracing::info!(
                event.action = "req-in",
                trace.id = %id,
                labels.receiverid = "BENCH-NGINX",
                event.duration = 1234u64,
                delta = -5i64,
                ok = true,
                "req-in"
            );
            tracing::warn!(sender = ?"x", "Sender '{}' not allowed", "A B");
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        // 2026-12-02T18:42:57.582578Z  INFO target: ...
        let (stamp, rest) = lines[0].split_at(27);
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{stamp}"
        );
        assert_eq!(
            rest,
            "  INFO ntjp_testbed::logging::tests: req-in event.action=\"req-in\" \
             trace.id=b54703b8-ac13-49f3-aec1-4ed588ebd156 labels.receiverid=\"BENCH-NGINX\" \
             event.duration=1234 delta=-5 ok=true"
        );
        assert!(
            lines[1].ends_with(
                "  WARN ntjp_testbed::logging::tests: Sender 'A B' not allowed sender=\"x\""
            ),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn values_from_requests_cannot_break_lines_or_reach_the_terminal() {
        let (text, _) = lines_of(|| {
            let bad = "a\"b\\c\nd\x1be\u{85}";
            tracing::info!(quoted = bad, shown = %bad, "m\n{}", "x\x1b[31m");
        });
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        assert!(
            text.ends_with(
                ": m\\nx\\x1b[31m quoted=\"a\\\"b\\\\c\\nd\\u{1b}e\\u{85}\" shown=a\"b\\c\\nd\\x1be\\u{85}\n"
            ),
            "{text:?}"
        );
    }

    #[test]
    fn lines_leave_in_batches_in_order_and_a_full_queue_drops_not_waits() {
        let (text, out) = lines_of(|| {
            for i in 0..1000 {
                tracing::info!(i, "line");
            }
        });
        let numbers: Vec<u64> = text
            .lines()
            .map(|l| l.rsplit("i=").next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(numbers, (0..1000).collect::<Vec<_>>());
        assert!(out.1.load(Ordering::Relaxed) < 100, "one write per batch");

        // While the thread is stuck writing, the queue fills up to its limit and then drops.
        let (entered_tx, entered) = std::sync::mpsc::channel();
        let (release, release_rx) = std::sync::mpsc::channel::<()>();
        let gate = Gate {
            out: Collected::default(),
            entered: entered_tx,
            release: release_rx,
        };
        let written = gate.out.clone();
        let (queue, guard) = LogQueue::start(gate, 100);
        queue.push(&[b'a'; 30]);
        entered.recv().unwrap();
        for _ in 0..10 {
            queue.push(&[b'x'; 30]);
        }
        assert_eq!(guard.dropped_lines(), 7);
        drop(release);
        drop(guard);
        assert_eq!(
            written.0.lock().unwrap().len(),
            120,
            "what was queued is written at the end"
        );
    }
}
