//! Log lines of `ntjp serve`: how an event becomes a line, and how lines reach stderr.
//!
//! - [`TextLayer`] writes an event as tracing-subscriber's default text format does
//!   (`2026-12-02T16:21:42.082050Z  INFO request{trace.id=...}: target: message key=value`),
//!   but straight into a line buffer of its thread: a plain string is copied between quotes
//!   instead of being escaped character by character through `Debug`, numbers are written
//!   digit by digit, and no styling is painted when there are no colours (only a terminal
//!   without `NO_COLOR` gets them). A span's fields are written once, when the span is made
//!   or a field is recorded, and copied into each of its events' lines.
//! - [`ecs::EcsLayer`] writes the same events as ECS JSON lines, as the real VP writes its
//!   message log entries (`--log-format json`), in the same way: no allocation per line.
//! - [`LogQueue`] is the writer: a bounded buffer in bytes that a thread of its own empties
//!   to stderr in batches. Writing a line is a copy under an uncontended lock: no allocation,
//!   no system call, no wake-up per line (the thread is woken once per batch). When stderr
//!   cannot keep up and the buffer is full, lines are dropped and counted, never waited for.
//!
//! What is logged (the events, their names and fields) is the callers' business; events and
//! spans of disabled levels never reach this module (tracing checks the filter before building
//! any field). This module is the one piece to replace when the log format changes.

use std::{
    cell::RefCell,
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
    span::{Attributes, Id, Record},
};
use tracing_subscriber::{
    fmt::{
        MakeWriter,
        format::Writer,
        time::{FormatTime, SystemTime as DefaultTime},
    },
    layer::{Context, SubscriberExt},
    registry::LookupSpan,
    util::SubscriberInitExt,
};

pub mod ecs;

/// How many bytes of log lines may wait for the log thread. When stderr does not keep up and
/// this is full, new lines are dropped (and counted): a slow terminal or log pipe must never
/// stall routing. 4 MiB is about 13,000 lines, a quarter of a second of the router's busiest.
pub const QUEUE_BYTES: usize = 4 * 1024 * 1024;

/// How long the log thread gathers lines after the first one of a batch before writing them:
/// one write per batch, at most 50 wake-ups a second however busy the router is.
pub const BATCH_INTERVAL: Duration = Duration::from_millis(20);

/// Sets the process's logging up for `ntjp serve`: the level filter from `RUST_LOG` (else
/// `info`), text or ECS JSON lines, colours only in text on a terminal without `NO_COLOR`.
/// Keep the guard until the process ends: dropping it writes what is still queued.
pub fn init(json: bool) -> LogGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (queue, guard) = LogQueue::start(io::stderr(), QUEUE_BYTES);
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        registry.with(ecs::EcsLayer { queue }).init();
    } else {
        let ansi = colours(
            io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").is_some(),
        );
        registry.with(TextLayer { queue, ansi }).init();
    }
    guard
}

/// Whether the text format is coloured: only on a terminal, and not when `NO_COLOR` is set
/// (<https://no-color.org>). A file or a pipe gets plain text.
pub fn colours(terminal: bool, no_color: bool) -> bool {
    terminal && !no_color
}

/// The text format: tracing-subscriber's default layout, written straight into a line.
pub struct TextLayer {
    /// Where lines go.
    pub queue: LogQueue,
    /// Whether the level is coloured (a terminal).
    pub ansi: bool,
}

thread_local! {
    /// The line being written on this thread (kept: no allocation per line).
    static LINE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Room for a request span's fields in text (about 600 bytes with the labels recorded after
/// the sniff): one allocation, no growing (at 512 the labels made it grow and copy).
const SPAN_TEXT_BYTES: usize = 1024;

/// A span's fields as the text format writes them (`trace.id=... source.ip=...`), kept in the
/// span's extensions from when it is made.
struct TextSpan(String);

impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for TextLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = String::with_capacity(SPAN_TEXT_BYTES);
        attrs.record(&mut Fields {
            line: &mut fields,
            first: true,
        });
        span.extensions_mut().insert(TextSpan(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(TextSpan(fields)) = extensions.get_mut::<TextSpan>() {
            let first = fields.is_empty();
            values.record(&mut Fields {
                line: fields,
                first,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        with_line(&self.queue, |line| write_line(line, event, &ctx, self.ansi));
    }
}

/// Runs `write` on this thread's line buffer (cleared) and queues what it wrote. An event
/// logged while this thread writes a line (from a Debug impl, say) goes through a buffer of
/// its own, as does one on a thread that is ending.
fn with_line(queue: &LogQueue, write: impl Fn(&mut String)) {
    let written = LINE.try_with(|line| match line.try_borrow_mut() {
        Ok(mut line) => {
            line.clear();
            write(&mut line);
            queue.push(line.as_bytes());
        }
        Err(_) => {
            let mut own = String::new();
            write(&mut own);
            queue.push(own.as_bytes());
        }
    });
    if written.is_err() {
        let mut own = String::new();
        write(&mut own);
        queue.push(own.as_bytes());
    }
}

/// Writes `event` as one line, ending in `\n`: its spans (outermost first, each with its
/// fields) before the target, as the default format does.
fn write_line<S: Subscriber + for<'a> LookupSpan<'a>>(
    line: &mut String,
    event: &Event<'_>,
    ctx: &Context<'_, S>,
    ansi: bool,
) {
    let meta = event.metadata();
    push_timestamp(line);
    line.push(' ');
    let level = level_text(meta.level());
    if ansi {
        line.push_str("\x1b[");
        line.push_str(level_colour(meta.level()));
        line.push('m');
        line.push_str(level);
        line.push_str("\x1b[0m ");
    } else {
        line.push_str(level);
        line.push(' ');
    }
    if let Some(span) = ctx.event_span(event) {
        // A request's events have one span: no list of the scope to build and reverse.
        if span.parent().is_none() {
            push_span(line, &span);
        } else {
            for span in span.scope().from_root() {
                push_span(line, &span);
            }
        }
        line.push(' ');
    }
    line.push_str(meta.target());
    line.push_str(": ");
    event.record(&mut Fields { line, first: true });
    line.push('\n');
}

/// Writes a span as the default format does: `name{fields}:`.
fn push_span<S: for<'a> LookupSpan<'a>>(
    line: &mut String,
    span: &tracing_subscriber::registry::SpanRef<'_, S>,
) {
    line.push_str(span.name());
    if let Some(TextSpan(fields)) = span.extensions().get::<TextSpan>()
        && !fields.is_empty()
    {
        line.push('{');
        line.push_str(fields);
        line.push('}');
    }
    line.push(':');
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
struct Fields<'a> {
    line: &'a mut String,
    /// No field written yet (no separating space).
    first: bool,
}

impl Fields<'_> {
    /// Writes the separator and `name=`; returns whether the field is the message (no name).
    fn start(&mut self, field: &Field) -> bool {
        if self.first {
            self.first = false;
        } else {
            self.line.push(' ');
        }
        let name = field.name();
        if name == "message" {
            return true;
        }
        self.line.push_str(name.strip_prefix("r#").unwrap_or(name));
        self.line.push('=');
        false
    }

    /// Writes a value through its `Display` or `Debug`, control characters escaped.
    fn formatted(&mut self, value: fmt::Arguments<'_>) {
        let from = self.line.len();
        // Writing to a String cannot fail.
        let _ = self.line.write_fmt(value);
        sanitise_from(self.line, from);
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.start(field) {
            let from = self.line.len();
            self.line.push_str(value);
            sanitise_from(self.line, from);
            return;
        }
        // What `Debug` writes for a string, without escaping it character by character when
        // nothing in it needs escaping (the usual HSA-id, address or namespace).
        if plain(value.as_bytes(), true) {
            self.line.push('"');
            self.line.push_str(value);
            self.line.push('"');
        } else {
            let _ = write!(self.line, "{value:?}");
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.start(field);
        push_u64(self.line, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.start(field);
        if value < 0 {
            self.line.push('-');
        }
        push_u64(self.line, value.unsigned_abs());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.start(field);
        self.line.push_str(if value { "true" } else { "false" });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.start(field);
        self.formatted(format_args!("{value}"));
        if let Some(mut source) = value.source() {
            self.line.push(' ');
            self.line.push_str(field.name());
            self.line.push_str(".sources=[");
            loop {
                self.formatted(format_args!("{source}"));
                match source.source() {
                    Some(next) => {
                        self.line.push_str(", ");
                        source = next;
                    }
                    None => break,
                }
            }
            self.line.push(']');
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.start(field);
        self.formatted(format_args!("{value:?}"));
    }
}

/// Writes a number's decimal digits.
fn push_u64(line: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        line.push(char::from(d));
    }
}

/// Escapes control characters (`\n`, `\x1b`, `\u{85}`, ...) in what was written from `from`
/// on: a value that came from a request can neither break a line in two nor reach a terminal
/// as an escape sequence. Text without them (nearly all) is left as it is.
fn sanitise_from(line: &mut String, from: usize) {
    if plain(&line.as_bytes()[from..], false) || !line[from..].chars().any(needs_escape) {
        return;
    }
    let written = line.split_off(from);
    for c in written.chars() {
        match c {
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(line, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(line, "\\u{{{:x}}}", c as u32);
            }
            c => line.push(c),
        }
    }
}

/// Whether `bytes` are printable ASCII (`0x20..0x7f`), and (`quotes`) hold no `"` or `\`.
/// Eight bytes at a time: every value of every line goes through here, and a byte at a time
/// it was the JSON format's largest cost (5,000 instructions per request: callgrind).
fn plain(bytes: &[u8], quotes: bool) -> bool {
    let mut words = bytes.chunks_exact(8);
    let mut odd = 0;
    for word in &mut words {
        odd |= odd_bytes(
            u64::from_le_bytes(word.try_into().unwrap_or_default()),
            quotes,
        );
    }
    // The last few bytes one by one: copying them into a word would call `memcpy`.
    let rest = words.remainder().iter().fold(false, |odd, &b| {
        odd | !(0x20..0x7f).contains(&b) | (quotes & (b == b'"' || b == b'\\'))
    });
    odd == 0 && !rest
}

/// Nonzero when a byte of `word` is below `0x20`, `0x7f` or above, or (`quotes`) `"` or `\`
/// (the tests of "Bit Twiddling Hacks": a borrow or carry can mark a wrong byte, but only
/// next to a right one, so the word as a whole is judged correctly).
fn odd_bytes(word: u64, quotes: bool) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let del_or_above = (word.wrapping_add(ONES) | word) & HIGH;
    let mut odd = below_space | del_or_above;
    if quotes {
        odd |= zero_byte(word ^ (ONES * u64::from(b'"')))
            | zero_byte(word ^ (ONES * u64::from(b'\\')));
    }
    odd
}

/// C0 and C1 control characters and DEL.
fn needs_escape(c: char) -> bool {
    let c = c as u32;
    c < 0x20 || (0x7f..=0x9f).contains(&c)
}

thread_local! {
    /// The second last formatted on this thread and its `YYYY-MM-DDTHH:MM:SS`.
    static LOG_SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Writes the default format's timestamp (`2026-12-02T16:21:42.082050Z`, UTC), with the
/// calendar part formatted once per second and thread instead of for every line; the clock
/// before 1970 or past year 9999 (or a re-entered call) is written by tracing-subscriber.
fn push_timestamp(line: &mut String) {
    if !push_fast_timestamp(line) {
        let _ = DefaultTime.format_time(&mut Writer::new(line));
    }
}

/// [`push_timestamp`]'s usual way; `false` (nothing written) when it cannot.
fn push_fast_timestamp(line: &mut String) -> bool {
    let Ok(since_epoch) = SystemTime::now().duration_since(UNIX_EPOCH) else {
        return false;
    };
    let second = since_epoch.as_secs();
    let prefixed = LOG_SECOND.try_with(|cached| {
        let Ok(mut cached) = cached.try_borrow_mut() else {
            return false;
        };
        if cached.0 != second {
            let Some(text) = i64::try_from(second)
                .ok()
                .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
                .filter(|t| t.len() == 19)
            else {
                return false;
            };
            *cached = (second, text);
        }
        line.push_str(&cached.1);
        true
    });
    if prefixed != Ok(true) {
        return false;
    }
    line.push('.');
    let micros = since_epoch.subsec_micros();
    for place in [100_000, 10_000, 1_000, 100, 10, 1] {
        line.push(char::from(b'0' + (micros / place % 10) as u8));
    }
    line.push('Z');
    true
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

    /// Lines written by `f`'s events through [`TextLayer`] and [`LogQueue`].
    fn lines_of(f: impl FnOnce()) -> (String, Collected) {
        let out = Collected::default();
        let (queue, guard) = LogQueue::start(out.clone(), 1 << 20);
        let subscriber = tracing_subscriber::registry().with(TextLayer { queue, ansi: false });
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
    fn an_event_in_a_span_carries_its_fields_as_the_default_format_writes_them() {
        let (text, _) = lines_of(|| {
            let span = tracing::info_span!(
                "request",
                trace.id = "abc",
                labels.senderid = tracing::field::Empty
            );
            span.record("labels.senderid", "SE-1");
            tracing::info!(parent: &span, event.action = "resp-out", "resp-out");
            tracing::info!("outside");
        });
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with(
                "  INFO request{trace.id=\"abc\" labels.senderid=\"SE-1\"}: \
                 ntjp_testbed::logging::tests: resp-out event.action=\"resp-out\""
            ),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].ends_with("  INFO ntjp_testbed::logging::tests: outside"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn an_event_in_nested_spans_names_them_outermost_first() {
        let (text, _) = lines_of(|| {
            let outer = tracing::info_span!("outer", a = 1u64);
            let inner = tracing::info_span!(parent: &outer, "inner", b = "x");
            let bare = tracing::info_span!(parent: &inner, "bare");
            tracing::info!(parent: &bare, "deep");
        });
        assert!(
            text.ends_with(
                "  INFO outer{a=1}:inner{b=\"x\"}:bare: ntjp_testbed::logging::tests: deep\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_span_or_event_of_a_level_that_is_off_formats_nothing() {
        /// Counts how often it is formatted.
        struct Counted<'a>(&'a AtomicUsize);
        impl fmt::Display for Counted<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fetch_add(1, Ordering::Relaxed);
                f.write_str("x")
            }
        }
        let formatted = AtomicUsize::new(0);
        let out = Collected::default();
        let (queue, guard) = LogQueue::start(out.clone(), 1 << 20);
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::WARN)
            .with(TextLayer { queue, ansi: false });
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                trace.id = %Counted(&formatted),
                labels.senderid = tracing::field::Empty
            );
            assert!(span.is_disabled());
            span.record(
                "labels.senderid",
                tracing::field::display(Counted(&formatted)),
            );
            tracing::info!(parent: &span, value = %Counted(&formatted), "resp-out");
            tracing::warn!(value = %Counted(&formatted), "shown");
        });
        drop(guard);
        assert_eq!(
            formatted.load(Ordering::Relaxed),
            1,
            "only the warning's value"
        );
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
    }

    #[test]
    fn plain_finds_every_odd_byte_wherever_it_is() {
        let slow = |bytes: &[u8], quotes: bool| {
            bytes
                .iter()
                .all(|&b| (0x20..0x7f).contains(&b) && !(quotes && (b == b'"' || b == b'\\')))
        };
        for filler in [b'a', b' ', b'~', b'!', b'#', b'[', b']', 0x21, 0x7e] {
            for len in [0, 1, 7, 8, 9, 16, 17, 23] {
                let mut bytes = vec![filler; len];
                assert!(plain(&bytes, true) == slow(&bytes, true));
                for at in 0..len {
                    for b in 0..=255u8 {
                        bytes[at] = b;
                        for quotes in [false, true] {
                            assert_eq!(
                                plain(&bytes, quotes),
                                slow(&bytes, quotes),
                                "{bytes:?} {quotes}"
                            );
                        }
                    }
                    bytes[at] = filler;
                }
            }
        }
        // Every pair of neighbours, across a word's edge and inside one.
        for at in [3, 7] {
            let mut bytes = [b'x'; 16];
            for a in 0..=255u8 {
                for b in 0..=255u8 {
                    bytes[at] = a;
                    bytes[at + 1] = b;
                    assert_eq!(plain(&bytes, true), slow(&bytes, true), "{a} {b}");
                    assert_eq!(plain(&bytes, false), slow(&bytes, false), "{a} {b}");
                }
            }
        }
    }

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        assert!(colours(true, false));
        assert!(!colours(false, false), "a file or a pipe");
        assert!(!colours(true, true), "NO_COLOR");
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
