//! The mock producers' settings (TOML `[mock_producers]`): the code lists they check, how a
//! mock misbehaves on demand — per mock through the admin API or the config file
//! ([`Behaviour`]), and per message through data-driven [`Trigger`]s on the woman's
//! personnummer that need no API call, in the spirit of the platform's LOAD-MOCKS (whose load
//! tests pick a delaying producer "based on chosen personId") — and the recorder's and the
//! contract check's limits.
//!
//! Precedence: a trigger matching the message wins over the mock's behaviour, which wins
//! over the default (answer as the contract says). `info` and `error` replace the answer to a
//! *valid* message only: an invalid one is always answered with the validation report.
//!
//! Only types, defaults and their checks: the mock producers (`crate::mocks`) act on them.
//! Like all of `config`, this imports nothing but `vocab`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::vocab::{CodeLists, DEFAULT_MAX_ATTRIBUTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_VIOLATIONS};

/// What a mock answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerKind {
    /// As the contract says: `OK` for a valid message, `ERROR` with the report otherwise.
    #[default]
    Ok,
    /// `resultCode` INFO with `text`, for a valid message.
    Info,
    /// `resultCode` ERROR with `text`, for a valid message.
    Error,
    /// A SOAP Fault (HTTP 500) with `text` as `faultstring`: the producer's own technical
    /// error, which the platform passes through.
    Fault,
    /// HTTP 500 with a plain-text body and no SOAP envelope (the platform answers VP009).
    Http500,
    /// No answer at all until the caller gives up (the platform's producer timeout: VP009).
    NoAnswer,
    /// The connection is reset (TCP RST) without an answer (VP009).
    Reset,
    /// `resultCode` OK to every readable request, invalid ones too: a producer that
    /// validates nothing (what `ntjp verify producer`'s invalid cases catch).
    AcceptAll,
    /// Answers requests as the contract says but never answers PingForConfiguration (held
    /// like `no-answer`): a producer without the ping BP21 requires.
    NoPing,
}

impl AnswerKind {
    /// Every kind, in documentation order.
    pub const ALL: [AnswerKind; 9] = [
        AnswerKind::Ok,
        AnswerKind::Info,
        AnswerKind::Error,
        AnswerKind::Fault,
        AnswerKind::Http500,
        AnswerKind::NoAnswer,
        AnswerKind::Reset,
        AnswerKind::AcceptAll,
        AnswerKind::NoPing,
    ];

    /// The name used in JSON, TOML and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerKind::Ok => "ok",
            AnswerKind::Info => "info",
            AnswerKind::Error => "error",
            AnswerKind::Fault => "fault",
            AnswerKind::Http500 => "http500",
            AnswerKind::NoAnswer => "no-answer",
            AnswerKind::Reset => "reset",
            AnswerKind::AcceptAll => "accept-all",
            AnswerKind::NoPing => "no-ping",
        }
    }

    /// The kind named `s` (as [`AnswerKind::as_str`]).
    pub fn parse(s: &str) -> Option<AnswerKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A mock's behaviour. The default answers as the contract says, at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviour {
    /// What to answer.
    pub answer: AnswerKind,
    /// `resultText` (info, error) or `faultstring` (fault); a default text names the mock
    /// when not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Wait this long before answering (with any `answer`), in milliseconds.
    pub delay_ms: u64,
}

/// Largest delay a behaviour may ask for: one hour.
pub const MAX_DELAY_MS: u64 = 3_600_000;

impl Behaviour {
    /// Whether this is the default (answer as the contract says, at once).
    pub fn is_default(&self) -> bool {
        *self == Behaviour::default()
    }

    /// Checks the values serde cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.delay_ms > MAX_DELAY_MS {
            return Err(format!(
                "delay_ms {} is more than the largest allowed, {MAX_DELAY_MS} (one hour)",
                self.delay_ms
            ));
        }
        if let Some(t) = &self.text
            && !matches!(
                self.answer,
                AnswerKind::Info | AnswerKind::Error | AnswerKind::Fault
            )
        {
            return Err(format!(
                "text {t:?} is only used with answer info, error or fault, not {}",
                self.answer.as_str()
            ));
        }
        Ok(())
    }
}

/// A data-driven behaviour: every mock behaves so for a message about this woman.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// `subjectOfCare/personId/extension` that selects the behaviour.
    pub personnummer: String,
    /// What to answer.
    #[serde(default)]
    pub answer: AnswerKind,
    /// `resultText` or `faultstring`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Wait before answering, ms.
    #[serde(default)]
    pub delay_ms: u64,
    /// What the trigger is for (shown in `GET /api/mocks/triggers`).
    #[serde(default)]
    pub description: String,
}

impl Trigger {
    /// The behaviour this trigger selects.
    pub fn behaviour(&self) -> Behaviour {
        Behaviour {
            answer: self.answer,
            text: self.text.clone(),
            delay_ms: self.delay_ms,
        }
    }

    fn new(pnr: &str, answer: AnswerKind, text: Option<&str>, delay_ms: u64, d: &str) -> Self {
        Trigger {
            personnummer: pnr.to_string(),
            answer,
            text: text.map(str::to_owned),
            delay_ms,
            description: d.to_string(),
        }
    }
}

/// The built-in triggers (the README's table). `189012139805` is the woman LOAD-MOCKS' load
/// tests send to get a delaying producer; the `19000101NNNN` series is the testbed's own.
pub fn default_triggers() -> Vec<Trigger> {
    use AnswerKind::*;
    vec![
        Trigger::new(
            "189012139805",
            Ok,
            None,
            5_000,
            "LOAD-MOCKS' ProducerDelay woman: answers after 5 s",
        ),
        Trigger::new(
            "190001010001",
            Info,
            Some("Testbädden: kvinnan är redan registrerad, informationen har uppdaterats."),
            0,
            "INFO with a text",
        ),
        Trigger::new(
            "190001010002",
            Error,
            Some("Testbädden: informationen kunde inte tas emot (logiskt fel)."),
            0,
            "ERROR with a text",
        ),
        Trigger::new(
            "190001010003",
            Fault,
            Some("Testbädden: tekniskt fel hos tjänsteproducenten"),
            0,
            "SOAP Fault (the platform passes it through)",
        ),
        Trigger::new(
            "190001010004",
            Http500,
            None,
            0,
            "HTTP 500 without a SOAP body (VP009)",
        ),
        Trigger::new("190001010005", Ok, None, 2_000, "answers OK after 2 s"),
        Trigger::new(
            "190001010006",
            NoAnswer,
            None,
            0,
            "never answers: the platform's producer timeout (VP009)",
        ),
        Trigger::new(
            "190001010007",
            Reset,
            None,
            0,
            "resets the connection (VP009)",
        ),
    ]
}

/// Default for [`MockConfig::max_recordings_per_address`].
pub const DEFAULT_MAX_RECORDINGS: usize = 10_000;
/// Default for [`MockConfig::max_recording_bytes`]: 256 MiB.
pub const DEFAULT_MAX_RECORDING_BYTES: usize = 256 * 1024 * 1024;
/// The smallest [`MockConfig::max_recording_bytes`] accepted.
pub const MIN_MAX_RECORDING_BYTES: usize = 64 * 1024;

/// The mock producers' settings (TOML `[mock_producers]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MockConfig {
    /// The care programme's code lists the mocks check (TKB 1.0_RC4 by default).
    pub code_lists: CodeLists,
    /// Behaviour per logical address at start-up, e.g. `[mock_producers.behaviours."14"]`
    /// `answer = "error"`; changeable later through `PUT /api/mocks/<address>/behaviour`.
    pub behaviours: BTreeMap<String, Behaviour>,
    /// Data-driven triggers by personnummer; the built-in table by default. An empty list
    /// switches them off.
    pub triggers: Vec<Trigger>,
    /// Recordings kept per logical address; older ones are dropped (and counted) past this.
    pub max_recordings_per_address: usize,
    /// Bytes the recordings of all mocks may hold together (bodies, headers, texts; about
    /// their size in memory), default 256 MiB; past this the oldest are dropped (and counted
    /// per address). A single message larger than this is kept with its body cut to fit.
    pub max_recording_bytes: usize,
    /// Longest a `no-answer` mock holds a request before it gives up and closes, ms.
    pub no_answer_max_ms: u64,
    /// Attributes one element of a message may have, namespace declarations included
    /// (default 256; Apache CXF allows 500, the JDK 10,000). A message with more is answered
    /// with a SOAP Fault naming this setting and the element.
    pub max_attributes_per_element: usize,
    /// Levels of element nesting a message may have, the SOAP Envelope being level 1
    /// (default 256, as libxml2 and MSXML 6; Apache CXF allows 100). A deeper message is
    /// answered with a SOAP Fault naming this setting and the element.
    pub max_element_depth: usize,
    /// Violations kept per message (default 1,000, in document order): in the ERROR answer's
    /// report and in the recording, which counts the rest in `violations_omitted`.
    pub max_violations_per_recording: usize,
    /// Messages checked at once, each on a thread of the blocking pool, so that a flood of
    /// large or pathological messages waits its turn instead of holding up the async workers
    /// (health checks, the routers). 0 (the default): the number of CPU cores.
    pub validation_threads: usize,
}

/// The smallest [`MockConfig::max_attributes_per_element`] accepted: an envelope declares a
/// handful of namespaces on one element.
pub const MIN_MAX_ATTRIBUTES: usize = 16;
/// The smallest [`MockConfig::max_element_depth`] accepted: the contract's deepest element
/// (`.../specimen/originalRegion/region/id/root`) is at level 9.
pub const MIN_MAX_DEPTH: usize = 9;

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            code_lists: CodeLists::default(),
            behaviours: BTreeMap::new(),
            triggers: default_triggers(),
            max_recordings_per_address: DEFAULT_MAX_RECORDINGS,
            max_recording_bytes: DEFAULT_MAX_RECORDING_BYTES,
            no_answer_max_ms: 600_000,
            max_attributes_per_element: DEFAULT_MAX_ATTRIBUTES,
            max_element_depth: DEFAULT_MAX_DEPTH,
            max_violations_per_recording: DEFAULT_MAX_VIOLATIONS,
            validation_threads: 0,
        }
    }
}

impl MockConfig {
    /// Messages checked at once: `validation_threads`, or the CPU cores for 0.
    pub fn validation_concurrency(&self) -> usize {
        match self.validation_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// Checks values serde cannot; errors name the key.
    pub fn check(&self) -> Result<(), String> {
        for (address, b) in &self.behaviours {
            b.check()
                .map_err(|e| format!("mock_producers.behaviours.{address:?}: {e}"))?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, t) in self.triggers.iter().enumerate() {
            t.behaviour()
                .check()
                .map_err(|e| format!("mock_producers.triggers[{i}]: {e}"))?;
            if !seen.insert(t.personnummer.as_str()) {
                return Err(format!(
                    "mock_producers.triggers[{i}]: personnummer {:?} has a trigger already",
                    t.personnummer
                ));
            }
        }
        if self.max_recordings_per_address == 0 {
            return Err("mock_producers.max_recordings_per_address must be greater than 0".into());
        }
        if self.max_attributes_per_element < MIN_MAX_ATTRIBUTES {
            return Err(format!(
                "mock_producers.max_attributes_per_element {} is less than the smallest allowed, {MIN_MAX_ATTRIBUTES}",
                self.max_attributes_per_element
            ));
        }
        if self.max_element_depth < MIN_MAX_DEPTH {
            return Err(format!(
                "mock_producers.max_element_depth {} is less than the smallest allowed, {MIN_MAX_DEPTH} (the contract's deepest element is at level 9)",
                self.max_element_depth
            ));
        }
        if self.max_violations_per_recording == 0 {
            return Err(
                "mock_producers.max_violations_per_recording must be greater than 0".into(),
            );
        }
        if self.max_recording_bytes < MIN_MAX_RECORDING_BYTES {
            return Err(format!(
                "mock_producers.max_recording_bytes {} is less than the smallest allowed, {MIN_MAX_RECORDING_BYTES} (64 KiB)",
                self.max_recording_bytes
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaviours_read_from_json_and_toml_with_named_errors() {
        let b: Behaviour =
            serde_json::from_str(r#"{"answer": "error", "text": "nej", "delay_ms": 10}"#).unwrap();
        assert_eq!(b.answer, AnswerKind::Error);
        assert_eq!(b.text.as_deref(), Some("nej"));
        let err = serde_json::from_str::<Behaviour>(r#"{"answer": "explode"}"#).unwrap_err();
        assert!(err.to_string().contains("explode"), "{err}");
        let err = serde_json::from_str::<Behaviour>(r#"{"delay": 1}"#).unwrap_err();
        assert!(err.to_string().contains("delay"), "{err}");
        let c: MockConfig =
            toml::from_str("[behaviours.\"14\"]\nanswer = \"no-answer\"\n").unwrap();
        assert_eq!(c.behaviours["14"].answer, AnswerKind::NoAnswer);
        assert_eq!(c.triggers, default_triggers());
        c.check().unwrap();
    }

    #[test]
    fn checks_name_the_offending_key() {
        let mut c = MockConfig::default();
        c.behaviours.insert(
            "01".into(),
            Behaviour {
                answer: AnswerKind::Reset,
                text: Some("x".into()),
                delay_ms: 0,
            },
        );
        assert!(c.check().unwrap_err().contains("behaviours.\"01\""));
        let mut c = MockConfig::default();
        c.triggers.push(c.triggers[0].clone());
        assert!(c.check().unwrap_err().contains("triggers[8]"));
        let b = Behaviour {
            delay_ms: MAX_DELAY_MS + 1,
            ..Behaviour::default()
        };
        assert!(b.check().unwrap_err().contains("delay_ms"));
        let c = MockConfig {
            max_element_depth: 8,
            ..MockConfig::default()
        };
        assert!(c.check().unwrap_err().contains("max_element_depth 8"));
        let c = MockConfig {
            max_attributes_per_element: 3,
            ..MockConfig::default()
        };
        assert!(
            c.check()
                .unwrap_err()
                .contains("max_attributes_per_element 3")
        );
        let c = MockConfig {
            max_violations_per_recording: 0,
            ..MockConfig::default()
        };
        assert!(
            c.check()
                .unwrap_err()
                .contains("max_violations_per_recording")
        );
        for k in AnswerKind::ALL {
            assert_eq!(AnswerKind::parse(k.as_str()), Some(k));
        }
    }
}
