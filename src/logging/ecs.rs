//! The JSON format (`ntjp serve --log-format json`): one ECS 8 object per line, with the field
//! names, values and labels the real VP writes in its message log entries (`EcsLogEntry`,
//! log4j2's `EcsLayout`): dotted keys at the top level (`"trace.id"`, `"labels.senderid"`),
//! `@timestamp`, `log.level` and `message` first.
//!
//! How an event's fields become keys: a dotted name is the key as it is (the callers name
//! ECS fields and VP's labels); a bare name from elsewhere in the program (`env`, `file`) goes
//! under `labels.` (ECS's place for keywords of its own), except `error`, which is
//! `error.message` (ECS's `error` is an object). Labels are strings; other numbers are
//! numbers (`event.duration`, `http.response.status_code`: ECS's `long`).
//!
//! The four message events (`event.action` = `req-in`, `req-out`, `resp-in`, `resp-out`) get
//! `event.kind`, `event.category`, `event.type` and `event.module` as VP writes them (but as
//! JSON arrays where VP writes an array as a string), and VP's message
//! `<action> <senderid> -> <receiverid>` from their span's labels. A span's fields (the
//! request's `trace.id`, `source.ip`, labels recorded as the request is read) are written
//! once into the span's extensions and copied into every line of its events.
//!
//! Every value is escaped as JSON requires, and control characters besides (C1 and DEL too):
//! a value from a request can neither break a line nor reach a terminal as an escape
//! sequence. Nothing is allocated per line: the line is written into its thread's buffer.

use std::{
    fmt::{self, Write as _},
    ops::Range,
};

use tracing::{
    Event, Level, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};
use tracing_subscriber::{layer::Context, registry::LookupSpan};

use super::{LogQueue, plain, push_timestamp, push_u64, with_line};

/// The ECS version the lines follow (`ecs.version`).
pub const ECS_VERSION: &str = "8.11.0";

/// `service.name` of every line (VP writes its Camel context's name, `vp-services`).
pub const SERVICE_NAME: &str = "ntjp-testbed";

/// `event.module` of the four message events, as VP writes it.
pub const MESSAGE_MODULE: &str = "skltp-messages";

/// The ECS JSON format: writes each event as one line into a [`LogQueue`].
pub struct EcsLayer {
    /// Where lines go.
    pub queue: LogQueue,
}

/// Room for a request span's fields in JSON (about 600 bytes): one allocation, no growing.
const SPAN_JSON_BYTES: usize = 1024;

/// A span's fields as JSON (`,"key":value` each), and where the sender's and the receiver's
/// escaped values are in it (for the message of the span's message events).
struct EcsSpan {
    fields: String,
    marks: Marks,
}

/// Where `labels.senderid` and `labels.receiverid` are in a span's fields (empty: unknown).
#[derive(Default)]
struct Marks {
    sender: Range<usize>,
    receiver: Range<usize>,
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for EcsLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ecs = EcsSpan {
            fields: String::with_capacity(SPAN_JSON_BYTES),
            marks: Marks::default(),
        };
        attrs.record(&mut Json {
            line: &mut ecs.fields,
            names: None,
            marks: Some(&mut ecs.marks),
        });
        span.extensions_mut().insert(ecs);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(ecs) = extensions.get_mut::<EcsSpan>() {
            values.record(&mut Json {
                line: &mut ecs.fields,
                names: None,
                marks: Some(&mut ecs.marks),
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        with_line(&self.queue, |line| write_event(line, event, &ctx));
    }
}

/// Writes `event` as one JSON object and a newline.
fn write_event<S: Subscriber + for<'a> LookupSpan<'a>>(
    line: &mut String,
    event: &Event<'_>,
    ctx: &Context<'_, S>,
) {
    let meta = event.metadata();
    line.push_str("{\"@timestamp\":\"");
    push_timestamp(line);
    line.push_str("\",\"log.level\":\"");
    line.push_str(level_name(meta.level()));
    line.push('"');
    let span = ctx.event_span(event);
    let extensions = span.as_ref().map(|s| s.extensions());
    let own = extensions.as_ref().and_then(|e| e.get::<EcsSpan>());
    let names = own.map(|s| {
        (
            s.fields.get(s.marks.sender.clone()).unwrap_or(""),
            s.fields.get(s.marks.receiver.clone()).unwrap_or(""),
        )
    });
    event.record(&mut Json {
        line,
        names: Some(names.unwrap_or(("", ""))),
        marks: None,
    });
    line.push_str(",\"ecs.version\":\"");
    line.push_str(ECS_VERSION);
    line.push_str("\",\"log.logger\":\"");
    escape_into(line, meta.target());
    line.push_str("\",\"service.name\":\"");
    line.push_str(SERVICE_NAME);
    line.push('"');
    if let Some(own) = own {
        line.push_str(&own.fields);
    }
    if let Some(span) = &span {
        for outer in span.scope().skip(1) {
            if let Some(ecs) = outer.extensions().get::<EcsSpan>() {
                line.push_str(&ecs.fields);
            }
        }
    }
    line.push_str("}\n");
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARN",
        Level::ERROR => "ERROR",
    }
}

/// Writes fields as `,"key":value` pairs: an event's (`names` set: the sender and receiver
/// for a message event's message) or a span's (`marks` set: where its sender and receiver
/// are written).
struct Json<'a> {
    line: &'a mut String,
    names: Option<(&'a str, &'a str)>,
    marks: Option<&'a mut Marks>,
}

/// What kind of value a key takes.
#[derive(PartialEq, Eq)]
enum Key {
    /// The event's message.
    Message,
    /// A label: always a string.
    Label,
    /// Any other field.
    Other,
}

impl Json<'_> {
    /// Writes `,"key":` for `field`, named as the module documentation says.
    fn key(&mut self, field: &Field) -> Key {
        let name = field.name();
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.line.push_str(",\"");
        let key = if name == "message" {
            Key::Message
        } else if name == "error" {
            self.line.push_str("error.message");
            Key::Other
        } else if name.starts_with("labels.") {
            escape_into(self.line, name);
            Key::Label
        } else if name.contains('.') {
            escape_into(self.line, name);
            Key::Other
        } else {
            self.line.push_str("labels.");
            escape_into(self.line, name);
            Key::Label
        };
        if key == Key::Message {
            self.line.push_str("message");
        }
        self.line.push_str("\":");
        key
    }

    /// Writes a string value from `Debug` or `Display`, escaped.
    fn formatted(&mut self, field: &Field, key: Key, value: fmt::Arguments<'_>) {
        self.line.push('"');
        let from = self.line.len();
        let _ = Escaped(self.line).write_fmt(value);
        self.finish_string(field, key, from);
    }

    /// Ends a string value written from `from`: a message event's message gets VP's
    /// ` <sender> -> <receiver>`; a span's sender and receiver are marked.
    fn finish_string(&mut self, field: &Field, key: Key, from: usize) {
        if key == Key::Message
            && let Some((sender, receiver)) = self.names
            && is_message_action(&self.line[from..])
        {
            self.line.push(' ');
            self.line
                .push_str(if sender.is_empty() { "-" } else { sender });
            self.line.push_str(" -> ");
            self.line
                .push_str(if receiver.is_empty() { "-" } else { receiver });
        }
        if let Some(marks) = self.marks.as_deref_mut() {
            match field.name() {
                "labels.senderid" => marks.sender = from..self.line.len(),
                "labels.receiverid" => marks.receiver = from..self.line.len(),
                _ => {}
            }
        }
        self.line.push('"');
    }

    /// A number: a JSON number, or a string for a label.
    fn number(&mut self, field: &Field, negative: bool, value: u64) {
        let quoted = self.key(field) != Key::Other;
        if quoted {
            self.line.push('"');
        }
        if negative {
            self.line.push('-');
        }
        push_u64(self.line, value);
        if quoted {
            self.line.push('"');
        }
    }
}

impl Visit for Json<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        let key = self.key(field);
        self.line.push('"');
        let from = self.line.len();
        escape_into(self.line, value);
        self.finish_string(field, key, from);
        if field.name() == "event.action" {
            self.line.push_str(categories(value));
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, false, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, value < 0, value.unsigned_abs());
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        match u64::try_from(value) {
            Ok(v) => self.number(field, false, v),
            Err(_) => self.record_debug(field, &value),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        let key = self.key(field);
        if key == Key::Other && value.is_finite() {
            let _ = write!(self.line, "{value}");
        } else {
            self.formatted(field, key, format_args!("{value}"));
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        let text = if value { "true" } else { "false" };
        if self.key(field) == Key::Other {
            self.line.push_str(text);
        } else {
            self.line.push('"');
            self.line.push_str(text);
            self.line.push('"');
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let key = self.key(field);
        self.line.push('"');
        let from = self.line.len();
        let _ = write!(Escaped(self.line), "{value}");
        let mut source = value.source();
        while let Some(cause) = source {
            let _ = write!(Escaped(self.line), ": {cause}");
            source = cause.source();
        }
        self.finish_string(field, key, from);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let key = self.key(field);
        self.formatted(field, key, format_args!("{value:?}"));
    }
}

/// Whether `text` is one of the four message events' actions.
fn is_message_action(text: &str) -> bool {
    matches!(text, "req-in" | "req-out" | "resp-in" | "resp-out")
}

/// The ECS categorisation VP writes after an event's `event.action` (none for other events).
fn categories(action: &str) -> &'static str {
    match action {
        "req-in" | "req-out" => {
            ",\"event.kind\":\"event\",\"event.category\":[\"web\"],\
             \"event.type\":[\"access\",\"start\"],\"event.module\":\"skltp-messages\""
        }
        "resp-in" | "resp-out" => {
            ",\"event.kind\":\"event\",\"event.category\":[\"web\"],\
             \"event.type\":[\"access\",\"end\"],\"event.module\":\"skltp-messages\""
        }
        "tls-handshake-failed" => {
            ",\"event.kind\":\"event\",\"event.category\":[\"network\"],\
             \"event.type\":[\"connection\",\"denied\"],\"event.module\":\"skltp-tls\",\
             \"event.outcome\":\"failure\""
        }
        _ => "",
    }
}

/// Writes `text` as the inside of a JSON string: `"` and `\` escaped, control characters
/// (C0, DEL, C1) as `\n`, `\r`, `\t` or `\u00XX`. Text that needs none of it (nearly all) is
/// copied as it is.
fn escape_into(line: &mut String, text: &str) {
    if plain(text.as_bytes(), true) {
        line.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            '\r' => line.push_str("\\r"),
            '\t' => line.push_str("\\t"),
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                let _ = write!(line, "\\u{:04x}", c as u32);
            }
            c => line.push(c),
        }
    }
}

/// A `fmt::Write` that escapes what is written into a JSON string.
struct Escaped<'a>(&'a mut String);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_into(self.0, s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Collected(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Collected {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn json_lines_of(f: impl FnOnce()) -> Vec<serde_json::Value> {
        let out = Collected::default();
        let (queue, guard) = LogQueue::start(out.clone(), 1 << 20);
        let subscriber = tracing_subscriber::registry().with(EcsLayer { queue });
        tracing::subscriber::with_default(subscriber, f);
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn message_events_carry_their_span_and_vp_categories() {
        let lines = json_lines_of(|| {
            let span = tracing::info_span!(
                "request",
                trace.id = "abc",
                source.ip = "127.0.0.1",
                labels.senderid = tracing::field::Empty,
                labels.receiverid = tracing::field::Empty,
            );
            span.record("labels.senderid", "SE-CONSUMER");
            span.in_scope(|| {
                tracing::info!(
                    event.action = "req-in",
                    http.request.body.bytes = 12u64,
                    "req-in"
                );
            });
            tracing::info!(
                parent: &span,
                event.action = "resp-out",
                http.response.status_code = 500u16,
                error.code = "VP007",
                labels.errorCode = "VP007",
                "resp-out"
            );
            tracing::warn!(
                env = "sit",
                bytes = 3u64,
                error = "broken \"pipe\"\n\x1b[31m",
                "other"
            );
        });
        assert_eq!(lines.len(), 3);
        let req_in = &lines[0];
        assert_eq!(req_in["message"], "req-in SE-CONSUMER -> -");
        assert_eq!(req_in["log.level"], "INFO");
        assert_eq!(req_in["ecs.version"], ECS_VERSION);
        assert_eq!(req_in["service.name"], SERVICE_NAME);
        assert_eq!(req_in["trace.id"], "abc");
        assert_eq!(req_in["source.ip"], "127.0.0.1");
        assert_eq!(req_in["labels.senderid"], "SE-CONSUMER");
        assert_eq!(req_in["event.kind"], "event");
        assert_eq!(req_in["event.module"], MESSAGE_MODULE);
        assert_eq!(req_in["event.category"], serde_json::json!(["web"]));
        assert_eq!(req_in["event.type"], serde_json::json!(["access", "start"]));
        assert_eq!(req_in["http.request.body.bytes"], 12);
        assert!(req_in["@timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(req_in["log.logger"], "ntjp_testbed::logging::ecs::tests");

        let resp_out = &lines[1];
        assert_eq!(resp_out["trace.id"], "abc");
        assert_eq!(resp_out["event.type"], serde_json::json!(["access", "end"]));
        assert_eq!(resp_out["http.response.status_code"], 500);
        assert_eq!(resp_out["error.code"], "VP007");
        assert_eq!(resp_out["labels.errorCode"], "VP007");

        let other = &lines[2];
        assert_eq!(other["message"], "other");
        assert_eq!(other["labels.env"], "sit");
        assert_eq!(other["labels.bytes"], "3");
        assert_eq!(other["error.message"], "broken \"pipe\"\n\x1b[31m");
        assert!(other.get("trace.id").is_none());
        assert!(other.get("event.kind").is_none());
    }

    #[test]
    fn every_value_is_escaped_and_a_line_stays_one_line() {
        let out = Collected::default();
        let (queue, guard) = LogQueue::start(out.clone(), 1 << 20);
        let subscriber = tracing_subscriber::registry().with(EcsLayer { queue });
        tracing::subscriber::with_default(subscriber, || {
            let bad = "a\"b\\c\nd\x1be\u{85}f\u{7f}åäö";
            let span = tracing::info_span!("request", labels.senderid = bad);
            span.in_scope(|| {
                tracing::info!(quoted = bad, shown = %bad, debugged = ?bad, "m\n{}", "x\x1b[31m");
                tracing::info!(event.action = "resp-out", "resp-out");
            });
        });
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(!text.contains('\x1b') && !text.contains('\u{85}'), "{text}");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let bad = "a\"b\\c\nd\x1be\u{85}f\u{7f}åäö";
        assert_eq!(lines[0]["message"], "m\nx\x1b[31m");
        assert_eq!(lines[0]["labels.quoted"], bad);
        assert_eq!(lines[0]["labels.shown"], bad);
        assert_eq!(lines[0]["labels.debugged"], format!("{bad:?}"));
        assert_eq!(lines[0]["labels.senderid"], bad);
        assert_eq!(lines[1]["message"], format!("resp-out {bad} -> -"));
    }
}
