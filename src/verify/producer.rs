//! Verification of a producer system (tjänsteproducent) of ProcessCervixScreeningInformation,
//! in the spirit of the platform's self-declaration for producers (Självdeklaration
//! tjänsteproducent): the contract's verification cases — every request in
//! `fixtures/messages/` (valid, invalid by the schema or the TKB, technically broken), sent
//! to the logical address under test — and PingForConfiguration, each with what a producer
//! must answer: OK (or INFO) to a valid request, ERROR with a `resultText` to an invalid one
//! (a logical error, never a SOAP Fault), its own SOAP Fault to one it cannot read, a
//! PingForConfigurationResponse to the ping, and each within the contract's timeout.
//!
//! Pure: the cases and the judgement of what came back. It sends nothing; `ntjp verify
//! producer` (`cli::verify`) sends the cases through the router and writes the report with
//! [`ProducerReport::to_text`] and the JUnit XML with [`ProducerReport::to_junit`], shaped as
//! the consumer verification's.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::{Case, junit_case, junit_report};
use crate::{
    contract::{self, ResultCode},
    soap::fault::parse_fault,
    vocab::EnvName,
};

/// What a producer must answer to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    /// A valid request: `resultCode` OK (INFO, with a text, is accepted too: the request was
    /// carried out, with a message for the user).
    Ok,
    /// A request the schema or the TKB's rules forbid: `resultCode` ERROR with a
    /// `resultText` (the validation report), HTTP 200, no SOAP Fault.
    Error,
    /// A request that cannot be read as this operation: the producer's own SOAP Fault.
    Fault,
    /// PingForConfiguration: a `PingForConfigurationResponse`.
    Ping,
}

impl Expect {
    /// What the report shows as expected.
    pub fn label(self) -> &'static str {
        match self {
            Expect::Ok => "OK",
            Expect::Error => "ERROR+text",
            Expect::Fault => "SOAP Fault",
            Expect::Ping => "ping answer",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Expect::Ok => "Giltigt anrop besvaras OK",
            Expect::Error => "Ogiltigt anrop besvaras ERROR med resultText",
            Expect::Fault => "Tekniskt fel besvaras med SOAP Fault",
            Expect::Ping => "PingForConfiguration besvaras",
        }
    }

    fn explanation(self) -> &'static str {
        match self {
            Expect::Ok => {
                "A valid request (one of the contract's scenarios) must be answered with \
                 resultCode OK (INFO with a resultText is accepted), HTTP 200, within the \
                 contract's timeout."
            }
            Expect::Error => {
                "A request that breaks the schema or the TKB's rules is a logical error: the \
                 producer must answer resultCode ERROR with a resultText (the validation \
                 report), HTTP 200, not OK and not a SOAP Fault (a fault makes consumers send \
                 it again; ERROR means the message counts as not received)."
            }
            Expect::Fault => {
                "A request that is not well-formed or not this operation is a technical error: \
                 the producer answers with its own SOAP Fault, which the platform passes on."
            }
            Expect::Ping => {
                "Every producer offers PingForConfiguration (RIVTA BP 2.1, rule 21), which the \
                 platform's operators use to test the connection: sent to the producer's URL \
                 from TAK with the platform's certificate, it must be answered with a \
                 PingForConfigurationResponse within the contract's timeout."
            }
        }
    }
}

/// One verification case: a request from `fixtures/messages/` and what it must get.
#[derive(Debug, Clone, Copy)]
pub struct CaseSpec {
    /// Stable id, `<folder>-<file name>` (`valid-exclusion`, `invalid-date-month-13`) or
    /// `ping`: what JUnit names and CI history key on.
    pub id: &'static str,
    /// What the producer must answer.
    pub expect: Expect,
    /// The fixture as written (its comment says what it shows); empty for the ping.
    fixture: &'static str,
}

impl CaseSpec {
    /// The request to send to `address`: the fixture with its `LogicalAddress` replaced, or
    /// the PingForConfiguration request.
    pub fn request(&self, address: &str) -> String {
        match self.expect {
            Expect::Ping => contract::ping_request(address),
            _ => with_address(self.fixture, address),
        }
    }

    /// The fixture comment's first sentence(s): what the request shows.
    pub fn description(&self) -> String {
        if self.expect == Expect::Ping {
            return format!(
                "PingForConfiguration ({}) naming the contract",
                contract::PING_NS
            );
        }
        let Some(start) = self.fixture.find("<!--") else {
            return String::new();
        };
        let comment = &self.fixture[start + 4..];
        let comment = &comment[..comment.find("-->").unwrap_or(comment.len())];
        comment
            .trim()
            .split("\n\n")
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The element paths an invalid fixture names (`expect:` lines of its comment).
    pub fn expected_paths(&self) -> Vec<&'static str> {
        let end = self.fixture.find("-->").unwrap_or(0);
        self.fixture[..end]
            .lines()
            .filter_map(|l| l.trim().strip_prefix("expect:"))
            .map(str::trim)
            .filter(|p| *p != "fault")
            .collect()
    }
}

macro_rules! fixture {
    ($expect:ident, $folder:literal, $name:literal) => {
        CaseSpec {
            id: concat!($folder, "-", $name),
            expect: Expect::$expect,
            fixture: include_str!(concat!(
                "../../fixtures/messages/",
                $folder,
                "/",
                $name,
                ".xml"
            )),
        }
    };
}

/// Every case, in report order: the valid requests, the invalid ones, the technical ones,
/// then the ping. `tests/verify_producer.rs` checks that it names every fixture file.
pub const CASES: [CaseSpec; 36] = [
    fixture!(Ok, "valid", "exclusion-with-earlier-sample"),
    fixture!(Ok, "valid", "exclusion"),
    fixture!(Ok, "valid", "load-mocks"),
    fixture!(Ok, "valid", "moved-between-regions"),
    fixture!(Ok, "valid", "no-information"),
    fixture!(Ok, "valid", "sample-in-other-region"),
    fixture!(Ok, "valid", "treated-in-other-region"),
    fixture!(Ok, "valid", "treated-with-two-groups"),
    fixture!(Ok, "valid", "with-extensions"),
    fixture!(Error, "invalid", "care-unit-root-not-hsa"),
    fixture!(Error, "invalid", "code-system-not-snomed"),
    fixture!(Error, "invalid", "date-month-13"),
    fixture!(Error, "invalid", "date-timestamp"),
    fixture!(Error, "invalid", "date-year-2100"),
    fixture!(Error, "invalid", "exclusion-reason-not-in-list"),
    fixture!(Error, "invalid", "extension-in-middle"),
    fixture!(Error, "invalid", "extension-in-own-namespace"),
    fixture!(Error, "invalid", "follow-up-group-not-in-list"),
    fixture!(Error, "invalid", "hpv-status-not-in-list"),
    fixture!(Error, "invalid", "missing-region-name"),
    fixture!(Error, "invalid", "missing-subject-of-care"),
    fixture!(Error, "invalid", "order-specimen-before-planned-invitation"),
    fixture!(Error, "invalid", "organisation-root-not-hsa"),
    fixture!(Error, "invalid", "personid-extension-missing"),
    fixture!(Error, "invalid", "personid-root-not-personnummer"),
    fixture!(Error, "invalid", "personnummer-month-13"),
    fixture!(Error, "invalid", "personnummer-with-hyphen"),
    fixture!(Error, "invalid", "sending-region-with-care-giver"),
    fixture!(Error, "invalid", "sending-region-with-care-unit"),
    fixture!(Error, "invalid", "several-violations"),
    fixture!(Error, "invalid", "two-exclusions"),
    fixture!(Error, "invalid", "two-subjects-of-care"),
    fixture!(Error, "invalid", "wrong-namespace"),
    fixture!(Fault, "technical", "not-this-operation"),
    fixture!(Fault, "technical", "not-well-formed"),
    CaseSpec {
        id: "ping",
        expect: Expect::Ping,
        fixture: "",
    },
];

/// `xml` with the text of its first `LogicalAddress` element (any prefix) replaced by
/// `address` (escaped). Unchanged when it has none.
pub fn with_address(xml: &str, address: &str) -> String {
    let mut from = 0;
    while let Some(at) = xml[from..].find("LogicalAddress").map(|i| i + from) {
        from = at + "LogicalAddress".len();
        // A start tag: `<LogicalAddress` or `<prefix:LogicalAddress`, then `>` or attributes.
        let Some(lt) = xml[..at].rfind('<') else {
            continue;
        };
        let prefix = &xml[lt + 1..at];
        let is_start = prefix.is_empty()
            || (prefix.ends_with(':')
                && !prefix.contains(|c: char| c.is_whitespace() || "/!?<>".contains(c)));
        if !is_start || !xml[from..].starts_with(['>', ' ', '\t', '\r', '\n']) {
            continue;
        }
        let Some(gt) = xml[from..].find('>').map(|i| i + from) else {
            break;
        };
        if xml[..gt].ends_with('/') {
            break;
        }
        let Some(end) = xml[gt..].find('<').map(|i| i + gt) else {
            break;
        };
        let mut out = String::with_capacity(xml.len() + address.len());
        out.push_str(&xml[..gt + 1]);
        for c in address.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                c => out.push(c),
            }
        }
        out.push_str(&xml[end..]);
        return out;
    }
    xml.to_string()
}

/// What came back for one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Got {
    /// An HTTP answer (its status and body, as much as was read).
    Answer {
        /// HTTP status.
        status: u16,
        /// The body as text (lossy UTF-8).
        body: String,
    },
    /// No complete answer: the connection failed, broke off or the deadline passed.
    Transport {
        /// What happened.
        error: String,
    },
}

/// One case's exchange: what came back and how long it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// The answer.
    pub got: Got,
    /// From sending the request to the answer's last byte.
    pub elapsed: Duration,
}

/// A case's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The verdict, in the consumer verification's shape (id, title, message, details).
    pub case: Case,
    /// What the case expected (`OK`, `ERROR+text`, ...).
    pub expected: &'static str,
    /// What came back, in a few words (`OK`, `ERROR "…"`, `SOAP Fault VP009`, ...).
    pub got: String,
    /// How long the answer took.
    pub elapsed: Duration,
}

/// A short form of a text for one report line.
fn short(s: &str, max: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

/// Judges one exchange of `spec` against a producer timeout of `timeout`.
pub fn judge(spec: &CaseSpec, exchange: &Exchange, timeout: Duration) -> CaseResult {
    let ms = exchange.elapsed.as_millis();
    let (passed, got, why): (bool, String, String) = match &exchange.got {
        Got::Transport { error } => (
            false,
            "no answer".into(),
            format!("no complete answer: {error}"),
        ),
        Got::Answer { status, body } => judge_answer(spec.expect, *status, body.as_bytes()),
    };
    let late = exchange.elapsed > timeout;
    let passed = passed && !late;
    let mut message = if passed {
        format!("expected {}, got {got} in {ms} ms", spec.expect.label())
    } else {
        format!(
            "expected {}, got {got} in {ms} ms: {why}",
            spec.expect.label()
        )
    };
    if late {
        message.push_str(&format!(
            "{}answered after {ms} ms, later than the contract's timeout of {} ms",
            if why.is_empty() { "" } else { "; " },
            timeout.as_millis()
        ));
    }
    let mut details = vec![format!("request: {}", spec.description())];
    let paths = spec.expected_paths();
    if !paths.is_empty() {
        details.push(format!("it breaks: {}", paths.join(", ")));
    }
    if let Got::Answer { body, .. } = &exchange.got
        && !passed
    {
        details.push(format!("answer: {}", short(body, 600)));
    }
    CaseResult {
        case: Case {
            id: spec.id,
            title: spec.expect.title(),
            explanation: spec.expect.explanation(),
            passed,
            message,
            details,
            evidence: Vec::new(),
        },
        expected: spec.expect.label(),
        got,
        elapsed: exchange.elapsed,
    }
}

/// `(passed, what came back, why it fails)` for an HTTP answer.
fn judge_answer(expect: Expect, status: u16, body: &[u8]) -> (bool, String, String) {
    if let Some(f) = parse_fault(body) {
        let platform = f.faultstring.starts_with("VP0");
        let got = if platform {
            format!("SOAP Fault {}", short(&f.faultstring, 120))
        } else {
            format!("SOAP Fault {:?}", short(&f.faultstring, 120))
        };
        let why = if platform {
            format!(
                "the platform answered instead of the producer ({}), {}",
                short(&f.faultstring, 60),
                short(f.detail.as_deref().unwrap_or(""), 300)
            )
        } else {
            match expect {
                Expect::Fault => String::new(),
                Expect::Error => "a SOAP Fault for a logical error: answer resultCode ERROR with the validation report in resultText, HTTP 200 (a fault makes consumers send it again)".into(),
                Expect::Ok => "a SOAP Fault for a valid request".into(),
                Expect::Ping => "a SOAP Fault instead of a PingForConfigurationResponse".into(),
            }
        };
        return (expect == Expect::Fault && !platform, got, why);
    }
    if expect == Expect::Ping {
        return match contract::parse_ping_response(body) {
            Some(version) if status == 200 => (true, format!("version {version}"), String::new()),
            _ => (
                false,
                format!("HTTP {status}"),
                "not a PingForConfigurationResponse".into(),
            ),
        };
    }
    let Some((code, text)) = contract::parse_response(body) else {
        return (
            false,
            format!("HTTP {status}"),
            "neither a ProcessCervixScreeningInformationResponse nor a SOAP Fault".into(),
        );
    };
    let text = text.filter(|t| !t.trim().is_empty());
    let got = match &text {
        Some(t) => format!("{} {:?}", code.as_str(), short(t, 80)),
        None => code.as_str().to_string(),
    };
    let why = match (expect, code, &text) {
        (_, _, _) if status != 200 => format!("HTTP {status} with a contract answer: expected 200"),
        (Expect::Ok, ResultCode::Ok, _) | (Expect::Ok, ResultCode::Info, Some(_)) => String::new(),
        (Expect::Ok, ResultCode::Info, None) => {
            "INFO without a resultText (required when resultCode is not OK)".into()
        }
        (Expect::Ok, ResultCode::Error, _) => "ERROR to a valid request".into(),
        (Expect::Error, ResultCode::Error, Some(_)) => String::new(),
        (Expect::Error, ResultCode::Error, None) => {
            "ERROR without a resultText: the TKB requires the validation report there".into()
        }
        (Expect::Error, _, _) => format!(
            "{} to a request that breaks the contract: it must be answered ERROR with the validation report",
            code.as_str()
        ),
        (Expect::Fault, _, _) => format!(
            "{} to a request that cannot be read as this operation: a technical error is a SOAP Fault",
            code.as_str()
        ),
        (Expect::Ping, _, _) => "not a PingForConfigurationResponse".into(),
    };
    (why.is_empty(), got, why)
}

/// The outcome of verifying the producer of one logical address in one environment.
#[derive(Debug, Clone, Serialize)]
pub struct ProducerReport {
    /// The logical address under test.
    pub address: String,
    /// The environment whose router was called.
    pub env: EnvName,
    /// That environment's platform name (`NTJP-QA`, ...).
    pub platform: String,
    /// The producer TAK routes the address to: `(HSA-id, URL)`, when TAK has a route today.
    pub producer: Option<(String, String)>,
    /// The contract's producer timeout each answer is held to.
    pub timeout: Duration,
    /// When the verification ran.
    pub generated_at: DateTime<Utc>,
    /// Every case, in [`CASES`] order.
    pub cases: Vec<CaseResult>,
    /// The JUnit `hostname`.
    pub hostname: String,
    /// How long the whole run took.
    pub elapsed: Duration,
}

impl ProducerReport {
    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.cases.iter().all(|c| c.case.passed)
    }

    /// Number of failed cases.
    pub fn failures(&self) -> usize {
        self.cases.iter().filter(|c| !c.case.passed).count()
    }

    fn suite_name(&self) -> String {
        format!(
            "ProcessCervixScreeningInformation producer verification: {} ({}, {})",
            self.address, self.env, self.platform
        )
    }

    /// The readable report: a header, one line per case (PASS/FAIL, id, expected, got, time)
    /// with the reason under a failed one, and `N passed, M failed`.
    pub fn to_text(&self) -> String {
        let width = self
            .cases
            .iter()
            .map(|c| c.case.id.len())
            .max()
            .unwrap_or(0);
        let got_width = self
            .cases
            .iter()
            .map(|c| c.got.chars().count())
            .max()
            .unwrap_or(0)
            .min(40);
        let producer = match &self.producer {
            Some((hsa, url)) => format!("{hsa} at {url}"),
            None => "(TAK routes the contract nowhere for this address today)".into(),
        };
        let mut s = format!(
            "{}\n(Självdeklaration tjänsteproducent)\n\n  logical address  {}\n  environment      {} ({})\n  producer         {producer}\n  timeout          {} ms\n  time             {}\n\n",
            self.suite_name(),
            self.address,
            self.env,
            self.platform,
            self.timeout.as_millis(),
            self.generated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        );
        for r in &self.cases {
            let got: String = if r.got.chars().count() > got_width {
                format!(
                    "{}…",
                    r.got
                        .chars()
                        .take(got_width.saturating_sub(1))
                        .collect::<String>()
                )
            } else {
                r.got.clone()
            };
            s.push_str(&format!(
                "{}  {:<width$}  expected {:<11} got {:<got_width$} {:>6} ms\n",
                if r.case.passed { "PASS" } else { "FAIL" },
                r.case.id,
                r.expected,
                got,
                r.elapsed.as_millis(),
            ));
            if !r.case.passed {
                s.push_str(&format!("      {}\n", r.case.message));
                for d in &r.case.details {
                    s.push_str(&format!("        {d}\n"));
                }
            }
        }
        s.push_str(&format!(
            "\n{} passed, {} failed\n",
            self.cases.len() - self.failures(),
            self.failures()
        ));
        s
    }

    /// JUnit XML (quick-junit), as the consumer verification's: one `<testcase>` per case
    /// with its time, a `<failure type="VerificationFailed">` for each failed one.
    pub fn to_junit(&self) -> Result<String, quick_junit::SerializeError> {
        let mut properties = vec![
            ("logical-address", self.address.clone()),
            ("environment", self.env.to_string()),
            ("platform", self.platform.clone()),
            ("timeout-ms", self.timeout.as_millis().to_string()),
        ];
        if let Some((hsa, url)) = &self.producer {
            properties.push(("producer", hsa.clone()));
            properties.push(("producer-url", url.clone()));
        }
        let classname = format!("ntjp.verify.producer.{}", self.env);
        junit_report(
            &self.suite_name(),
            (self.generated_at, self.elapsed, &self.hostname),
            properties,
            self.cases
                .iter()
                .map(|r| junit_case(&r.case, &classname, r.elapsed)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str) -> &'static CaseSpec {
        CASES.iter().find(|c| c.id == id).unwrap()
    }

    fn answer(status: u16, body: String, ms: u64) -> Exchange {
        Exchange {
            got: Got::Answer { status, body },
            elapsed: Duration::from_millis(ms),
        }
    }

    const T: Duration = Duration::from_secs(29);

    #[test]
    fn every_fixture_is_readdressed() {
        for c in CASES.iter().filter(|c| c.expect != Expect::Ping) {
            let xml = c.request("14");
            let sniffed = crate::soap::sniff::sniff(xml.as_bytes());
            assert_eq!(
                sniffed.ok().and_then(|s| s.logical_address).as_deref(),
                Some("14"),
                "{}: {xml}",
                c.id
            );
            assert!(!c.description().is_empty(), "{}", c.id);
        }
        assert_eq!(
            with_address("<a:LogicalAddress>01</a:LogicalAddress>", "A&B"),
            "<a:LogicalAddress>A&amp;B</a:LogicalAddress>"
        );
        assert_eq!(
            with_address(
                "<!-- LogicalAddress --><LogicalAddress x=\"1\">01</LogicalAddress>",
                "14"
            ),
            "<!-- LogicalAddress --><LogicalAddress x=\"1\">14</LogicalAddress>"
        );
        assert!(
            spec("invalid-date-month-13").expected_paths()
                == ["cervixScreeningInformation/exclusion/registeredAt"]
        );
    }

    #[test]
    fn answers_are_judged_as_the_contract_says() {
        let ok = contract::response(ResultCode::Ok, None);
        let error = contract::response(ResultCode::Error, Some("fel: x"));
        let fault = "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>Tekniskt fel</faultstring></soap:Fault></soap:Body></soap:Envelope>".to_string();
        let vp009 = fault.replace(
            "Tekniskt fel",
            "VP009 [NTJP-QA] Fel vid kontakt med tjänsteproducenten.",
        );
        let valid = spec("valid-exclusion");
        let invalid = spec("invalid-date-month-13");
        let technical = spec("technical-not-well-formed");
        assert!(judge(valid, &answer(200, ok.clone(), 5), T).case.passed);
        assert!(
            judge(invalid, &answer(200, error.clone(), 5), T)
                .case
                .passed
        );
        assert!(
            judge(technical, &answer(500, fault.clone(), 5), T)
                .case
                .passed
        );

        let r = judge(invalid, &answer(200, ok.clone(), 5), T);
        assert!(!r.case.passed);
        assert!(
            r.case
                .message
                .starts_with("expected ERROR+text, got OK in 5 ms: OK to a request that breaks"),
            "{}",
            r.case.message
        );
        let r = judge(invalid, &answer(500, fault.clone(), 5), T);
        assert!(
            r.case.message.contains("a SOAP Fault for a logical error"),
            "{}",
            r.case.message
        );
        let r = judge(valid, &answer(500, vp009, 5), T);
        assert!(
            r.case
                .message
                .contains("the platform answered instead of the producer (VP009"),
            "{}",
            r.case.message
        );
        let r = judge(
            invalid,
            &answer(200, contract::response(ResultCode::Error, None), 5),
            T,
        );
        assert!(
            r.case.message.contains("ERROR without a resultText"),
            "{}",
            r.case.message
        );
        let r = judge(valid, &answer(200, ok, 30_000), T);
        assert!(!r.case.passed);
        assert!(
            r.case.message.ends_with(
                "answered after 30000 ms, later than the contract's timeout of 29000 ms"
            ),
            "{}",
            r.case.message
        );
        let ping = spec("ping");
        let pong = contract::ping_response("1.0", "20261203080000", &[]);
        assert!(judge(ping, &answer(200, pong, 3), T).case.passed);
        let r = judge(
            ping,
            &Exchange {
                got: Got::Transport {
                    error: "no answer within 29000 ms".into(),
                },
                elapsed: T,
            },
            T,
        );
        assert_eq!(
            r.case.message,
            "expected ping answer, got no answer in 29000 ms: no complete answer: no answer within 29000 ms"
        );
    }
}
