//! Verification of a consumer system (tjänstekonsument) of ProcessCervixScreeningInformation,
//! modelled on the platform's self-declaration for consumers (Självdeklaration
//! tjänstekonsument): what the mock producers recorded from one consumer in one environment is
//! checked against a fixed list of verification cases, each with a stable id, and the result is
//! written as a readable report ([`Report::to_text`]) and as JUnit XML ([`Report::to_junit`]) so
//! that a CI pipeline shows it like a SoapUI run.
//!
//! Pure: no IO. It does not send anything and does not judge message content itself; it trusts
//! the mock producers' verdict (schema and TKB rules) and their answer. `ntjp verify consumer`
//! fetches the recordings from the admin API and writes the files.
//!
//! [`producer`]: the other direction, a producer system's answers to the contract's
//! verification cases, judged and reported the same way.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use crate::{
    contract::{COUNTY_CODES, LOAD_MOCKS, NTJP_MOCKS, validate::Scenario},
    vocab::EnvName,
};

pub mod producer;
pub mod recording;

pub use recording::{Recording, Verdict};

/// The `type` of a JUnit `<failure>` written for a failed case.
pub const FAILURE_TYPE: &str = "VerificationFailed";

/// One verification case and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Case {
    /// Stable id (`scenario-moved`, `logical-addressing`, ...): what CI history, JUnit names
    /// and scripts key on, so it never changes with the wording.
    pub id: &'static str,
    /// Swedish title, in the words of the self-declaration.
    pub title: &'static str,
    /// What the case checks and why, in English.
    pub explanation: &'static str,
    /// Whether the recordings satisfy it.
    pub passed: bool,
    /// One line: why it passed or failed.
    pub message: String,
    /// For a failure: one line per offending message or attempt, and what to do.
    pub details: Vec<String>,
    /// Sequence numbers (`seq`) of the messages that satisfied it.
    pub evidence: Vec<u64>,
}

/// The outcome of verifying one consumer in one environment.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The consumer's HSA-id, as asked for.
    pub consumer: String,
    /// The environment whose recordings were examined.
    pub env: EnvName,
    /// That environment's platform name (`NTJP-TEST`, ...), for the report's header.
    pub platform: String,
    /// When the verification ran (the JUnit `timestamp`).
    pub generated_at: DateTime<Utc>,
    /// Only messages received at or after this time were asked for (set by the caller that
    /// filtered; shown in the header so a reader knows what was left out).
    pub since: Option<DateTime<Utc>>,
    /// Number of messages examined (pings and other consumers' messages not counted).
    pub messages: usize,
    /// Every case, in a fixed order.
    pub cases: Vec<Case>,
    /// The JUnit `hostname`: the machine that ran the verification (the caller knows it;
    /// `localhost` by default).
    pub hostname: String,
    /// How long fetching and checking took (the JUnit `time`; zero unless the caller measured).
    pub elapsed: Duration,
}

struct Spec {
    id: &'static str,
    title: &'static str,
    explanation: &'static str,
}

/// The contract's scenarios that a consumer must have sent, with what distinguishes each.
const SCENARIOS: [(Scenario, Spec, &str); 4] = [
    (
        Scenario::Moved,
        Spec {
            id: "scenario-moved",
            title: "Kvinnan flyttar mellan regioner",
            explanation: "A woman moves to another region: the region she leaves sends her \
                individual invitation date (plannedInvitation) and her history to the county she \
                moves to. Passes when at least one such message was valid and answered OK or INFO.",
        },
        "plannedInvitation",
    ),
    (
        Scenario::SampleElsewhere,
        Spec {
            id: "scenario-sample-elsewhere",
            title: "Kvinnan lämnar prov i en annan region",
            explanation: "A woman leaves a sample in another region than the one that invites \
                her: that region sends the sample (specimen, with its HPV statuses) to the county \
                that invites her. Passes when at least one such message was valid and answered OK \
                or INFO.",
        },
        "specimen",
    ),
    (
        Scenario::TreatedElsewhere,
        Spec {
            id: "scenario-treated-elsewhere",
            title: "Kvinnan behandlas i en annan region",
            explanation: "A woman is treated in another region than the one that invites her: \
                that region sends the follow-up group(s) she was placed in (followUpGroups) to the \
                county that invites her. Passes when at least one such message was valid and \
                answered OK or INFO.",
        },
        "followUpGroups",
    ),
    (
        Scenario::Exclusion,
        Spec {
            id: "scenario-exclusion",
            title: "Kvinnan undantas från kallelse",
            explanation: "A woman is excluded from invitations (exclusion, with its reason and \
                the day it was registered): the region that registered it tells the county that \
                invites her. Passes when at least one such message was valid and answered OK or \
                INFO.",
        },
        "exclusion",
    ),
];

const LOGICAL_ADDRESSING: Spec = Spec {
    id: "logical-addressing",
    title: "Logisk adressering enligt RIVTA BP 2.1",
    explanation: "Every message is addressed with a RIVTABP21 LogicalAddress header to a current \
        county code (in SIT also LOAD-MOCKS or NTJP-MOCKS), and reached the mock producer of \
        exactly that address.",
};

const CORRELATION_ID: Spec = Spec {
    id: "correlation-id",
    title: "Korrelations-id i varje anrop",
    explanation: "Every message arrived with an x-skltp-correlation-id header, the id that ties \
        one transaction together in the consumer's and the platform's logs.",
};

const SCHEMA_AND_RULES: Spec = Spec {
    id: "schema-and-rules",
    title: "Meddelandena följer schemat och tjänstekontraktets regler",
    explanation: "No message broke the XML schema or the TKB's rules (verdict invalid, answered \
        ERROR: the message counts as not received) or was technically unreadable (verdict \
        technical, answered with a SOAP Fault).",
};

/// Every case id, in report order.
pub const CASE_IDS: [&str; 7] = [
    "scenario-moved",
    "scenario-sample-elsewhere",
    "scenario-treated-elsewhere",
    "scenario-exclusion",
    "logical-addressing",
    "correlation-id",
    "schema-and-rules",
];

fn specs() -> impl Iterator<Item = &'static Spec> {
    SCENARIOS.iter().map(|(_, spec, _)| spec).chain([
        &LOGICAL_ADDRESSING,
        &CORRELATION_ID,
        &SCHEMA_AND_RULES,
    ])
}

/// Verifies `hsa_id` in `env` (platform `platform`) from what the mocks recorded, now.
///
/// `recordings` should already be that consumer's in that environment; they are filtered
/// again (consumer compared case-insensitively, environment when recorded), and pings are
/// ignored.
pub fn consumer(recordings: &[Recording], env: EnvName, hsa_id: &str, platform: &str) -> Report {
    consumer_at(recordings, env, hsa_id, platform, Utc::now())
}

/// [`consumer`] with the time of the verification given.
pub fn consumer_at(
    recordings: &[Recording],
    env: EnvName,
    hsa_id: &str,
    platform: &str,
    at: DateTime<Utc>,
) -> Report {
    let mut messages: Vec<&Recording> = recordings
        .iter()
        .filter(|r| r.verdict != Verdict::Ping)
        .filter(|r| {
            r.consumer_hsa_id
                .as_deref()
                .is_some_and(|c| c.trim().eq_ignore_ascii_case(hsa_id.trim()))
        })
        .filter(|r| {
            r.environment
                .as_deref()
                .is_none_or(|e| e.eq_ignore_ascii_case(env.as_str()))
        })
        .collect();
    messages.sort_by_key(|r| r.seq);

    let cases = if messages.is_empty() {
        nothing_received(env, hsa_id, platform)
    } else {
        let mut cases: Vec<Case> = SCENARIOS
            .iter()
            .map(|(scenario, spec, element)| scenario_case(spec, *scenario, element, &messages))
            .collect();
        cases.push(addressing_case(env, &messages));
        cases.push(correlation_case(&messages));
        cases.push(schema_case(&messages));
        cases
    };
    Report {
        consumer: hsa_id.to_string(),
        env,
        platform: platform.to_string(),
        generated_at: at,
        since: None,
        messages: messages.len(),
        cases,
        hostname: "localhost".to_string(),
        elapsed: Duration::ZERO,
    }
}

fn case(
    spec: &Spec,
    passed: bool,
    message: String,
    details: Vec<String>,
    evidence: Vec<u64>,
) -> Case {
    Case {
        id: spec.id,
        title: spec.title,
        explanation: spec.explanation,
        passed,
        message,
        details,
        evidence,
    }
}

fn nothing_received(env: EnvName, hsa_id: &str, platform: &str) -> Vec<Case> {
    let to = if env == EnvName::Sit {
        format!("{LOAD_MOCKS} or a county code (01, 03, ..., 25)")
    } else {
        "a county code (01, 03, ..., 25)".to_string()
    };
    let message = format!("Nothing from {hsa_id} was received in {env} ({platform}).");
    let how = format!(
        "Send ProcessCervixScreeningInformation (RIVTABP21) as {hsa_id} through the {env} \
         router (<router>/vp/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21) to {to}, with the consumer's \
         own function certificate, then run the verification again."
    );
    specs()
        .map(|spec| case(spec, false, message.clone(), vec![how.clone()], Vec::new()))
        .collect()
}

fn scenario_name(s: Scenario) -> &'static str {
    match s {
        Scenario::NoInformation => "no-information",
        Scenario::Moved => "moved",
        Scenario::SampleElsewhere => "sample-elsewhere",
        Scenario::TreatedElsewhere => "treated-elsewhere",
        Scenario::Exclusion => "exclusion",
    }
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Invalid => "invalid",
        Verdict::Technical => "technical",
        Verdict::Ping => "ping",
    }
}

fn accepted(r: &Recording) -> bool {
    r.verdict == Verdict::Valid && matches!(r.result_code.as_str(), "OK" | "INFO")
}

fn seqs(rs: &[&Recording]) -> String {
    rs.iter()
        .map(|r| r.seq.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `01`, or `(none)` when the header carried no address.
fn address_of(r: &Recording) -> &str {
    r.logical_address.as_deref().unwrap_or("(none)")
}

fn scenario_case(spec: &Spec, scenario: Scenario, element: &str, messages: &[&Recording]) -> Case {
    let attempts: Vec<&Recording> = messages
        .iter()
        .copied()
        .filter(|r| r.scenario == Some(scenario))
        .collect();
    let ok: Vec<&Recording> = attempts.iter().copied().filter(|r| accepted(r)).collect();
    if !ok.is_empty() {
        let message = format!(
            "accepted {} time(s): seq {} ({})",
            ok.len(),
            seqs(&ok),
            ok.iter()
                .map(|r| format!("{} to {}", r.result_code, address_of(r)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        return case(
            spec,
            true,
            message,
            Vec::new(),
            ok.iter().map(|r| r.seq).collect(),
        );
    }
    if attempts.is_empty() {
        return case(
            spec,
            false,
            format!(
                "never sent: none of the {} message(s) examined carried {element} (scenario {})",
                messages.len(),
                scenario_name(scenario)
            ),
            vec![format!(
                "Send a valid ProcessCervixScreeningInformation with {element} (scenario {}) and \
                 check that it is answered OK.",
                scenario_name(scenario)
            )],
            Vec::new(),
        );
    }
    let details = attempts.iter().map(|r| attempt_line(r)).collect();
    case(
        spec,
        false,
        format!(
            "sent {} time(s) but never accepted: seq {} (answered {})",
            attempts.len(),
            seqs(&attempts),
            attempts
                .iter()
                .map(|r| r.result_code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        details,
        Vec::new(),
    )
}

/// One attempt at a scenario that was not accepted: where it went, its verdict and answer.
fn attempt_line(r: &Recording) -> String {
    let mut line = format!(
        "seq {}: to {}, verdict {}, answered {}",
        r.seq,
        address_of(r),
        verdict_name(r.verdict),
        r.result_code
    );
    if r.verdict == Verdict::Valid {
        line.push_str(&format!(" (answer from {})", r.answer_source));
    }
    if !r.violations.is_empty() {
        line.push_str(&format!(
            "; {} violation(s), see schema-and-rules",
            r.violations.len().saturating_add(r.violations_omitted)
        ));
    }
    line
}

/// Why the addressing of `r` is wrong, if it is.
fn addressing_problems(env: EnvName, r: &Recording) -> Vec<String> {
    let mut why = Vec::new();
    match r.message_profile.as_deref() {
        Some(p) if p.eq_ignore_ascii_case("RIVTABP21") => {}
        Some(p) if p.eq_ignore_ascii_case("RIVTABP20") => why.push(
            "addressed with a RIVTABP20 wsa:To header: the contract is RIVTABP21 only, \
             with a LogicalAddress header"
                .to_string(),
        ),
        Some(p) => why.push(format!(
            "header profile {p}: the contract is RIVTABP21 only, with a LogicalAddress header"
        )),
        None => why.push("no RIVTABP21 LogicalAddress header found".to_string()),
    }
    match r.logical_address.as_deref() {
        None => {}
        Some(a) => {
            let county = COUNTY_CODES.iter().any(|(c, _)| *c == a);
            let mocks = a.eq_ignore_ascii_case(LOAD_MOCKS) || a.eq_ignore_ascii_case(NTJP_MOCKS);
            if mocks && env != EnvName::Sit {
                why.push(format!("{a} is a mock address of SIT only, not of {env}"));
            } else if !county && !mocks {
                why.push(format!(
                    "{a:?} is not a current county code{}",
                    if env == EnvName::Sit {
                        format!(", {LOAD_MOCKS} or {NTJP_MOCKS}")
                    } else {
                        String::new()
                    }
                ));
            }
            if !a.eq_ignore_ascii_case(&r.mock_address) {
                why.push(format!(
                    "addressed to {a} but received by the mock for {}",
                    r.mock_address
                ));
            }
        }
    }
    why
}

fn addressing_case(env: EnvName, messages: &[&Recording]) -> Case {
    let mut details = Vec::new();
    for r in messages {
        let why = addressing_problems(env, r);
        if !why.is_empty() {
            details.push(format!(
                "seq {}: address {}: {}",
                r.seq,
                address_of(r),
                why.join("; ")
            ));
        }
    }
    if details.is_empty() {
        return case(
            &LOGICAL_ADDRESSING,
            true,
            format!(
                "all {} message(s) addressed with a RIVTABP21 LogicalAddress to the mock that received them",
                messages.len()
            ),
            Vec::new(),
            messages.iter().map(|r| r.seq).collect(),
        );
    }
    case(
        &LOGICAL_ADDRESSING,
        false,
        format!(
            "{} of {} message(s) wrongly addressed",
            details.len(),
            messages.len()
        ),
        details,
        Vec::new(),
    )
}

fn correlation_case(messages: &[&Recording]) -> Case {
    let missing: Vec<&Recording> = messages
        .iter()
        .copied()
        .filter(|r| {
            r.correlation_id
                .as_deref()
                .is_none_or(|c| c.trim().is_empty())
        })
        .collect();
    if missing.is_empty() {
        return case(
            &CORRELATION_ID,
            true,
            format!(
                "all {} message(s) carried x-skltp-correlation-id",
                messages.len()
            ),
            Vec::new(),
            messages.iter().map(|r| r.seq).collect(),
        );
    }
    let details = missing
        .iter()
        .map(|r| {
            format!(
                "seq {}: to {}: no x-skltp-correlation-id",
                r.seq,
                address_of(r)
            )
        })
        .collect();
    case(
        &CORRELATION_ID,
        false,
        format!(
            "{} of {} message(s) without x-skltp-correlation-id: seq {}",
            missing.len(),
            messages.len(),
            seqs(&missing)
        ),
        details,
        Vec::new(),
    )
}

fn schema_case(messages: &[&Recording]) -> Case {
    let bad: Vec<&Recording> = messages
        .iter()
        .copied()
        .filter(|r| matches!(r.verdict, Verdict::Invalid | Verdict::Technical))
        .collect();
    if bad.is_empty() {
        return case(
            &SCHEMA_AND_RULES,
            true,
            format!(
                "all {} message(s) valid by the schema and the TKB's rules",
                messages.len()
            ),
            Vec::new(),
            messages.iter().map(|r| r.seq).collect(),
        );
    }
    let mut details = Vec::new();
    for r in &bad {
        let scenario = r
            .scenario
            .map(|s| format!(", scenario {}", scenario_name(s)))
            .unwrap_or_default();
        details.push(format!(
            "seq {}: to {}{scenario}, personnummer {}: {}, answered {}",
            r.seq,
            address_of(r),
            r.personnummer.as_deref().unwrap_or("(none)"),
            verdict_name(r.verdict),
            r.result_code
        ));
        if r.verdict == Verdict::Technical {
            details.push(format!(
                "  {}",
                r.technical_error
                    .as_deref()
                    .unwrap_or("technical error (no reason recorded)")
            ));
        }
        for v in &r.violations {
            details.push(format!("  {}: {}", v.path, v.message));
        }
        if r.violations_omitted > 0 {
            details.push(format!(
                "  ... and {} more violation(s), not recorded (the mocks keep the first {})",
                r.violations_omitted,
                r.violations.len()
            ));
        }
    }
    case(
        &SCHEMA_AND_RULES,
        false,
        format!(
            "{} of {} message(s) broke the schema or the rules: seq {}",
            bad.len(),
            messages.len(),
            seqs(&bad)
        ),
        details,
        Vec::new(),
    )
}

impl Report {
    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.cases.iter().all(|c| c.passed)
    }

    /// Number of failed cases.
    pub fn failures(&self) -> usize {
        self.cases.iter().filter(|c| !c.passed).count()
    }

    fn suite_name(&self) -> String {
        format!(
            "ProcessCervixScreeningInformation consumer verification: {} ({}, {})",
            self.consumer, self.env, self.platform
        )
    }

    /// The readable report: a header, one line per case (`PASS`/`FAIL` and title), the
    /// failures' messages and details indented, and a summary line `N passed, M failed`.
    pub fn to_text(&self) -> String {
        let width = self.cases.iter().map(|c| c.id.len()).max().unwrap_or(0);
        let mut s = format!(
            "{}\n(Självdeklaration tjänstekonsument)\n\n  consumer     {}\n  environment  {} ({})\n  time         {}\n  messages     {} examined{}\n\n",
            self.suite_name(),
            self.consumer,
            self.env,
            self.platform,
            self.generated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            self.messages,
            self.since
                .map(|t| format!(
                    ", received since {}",
                    t.to_rfc3339_opts(SecondsFormat::Secs, true)
                ))
                .unwrap_or_default(),
        );
        // Details repeated word for word (every case when nothing was received) are printed
        // once; the JUnit file keeps them on every case, where each stands alone.
        let mut previous: Option<&[String]> = None;
        for c in &self.cases {
            s.push_str(&format!(
                "{}  {:<width$}  {}\n",
                if c.passed { "PASS" } else { "FAIL" },
                c.id,
                c.title
            ));
            if !c.passed {
                s.push_str(&format!("      {}\n", c.message));
                if previous != Some(c.details.as_slice()) {
                    for d in &c.details {
                        s.push_str(&format!("        {d}\n"));
                    }
                }
                previous = Some(&c.details);
            }
        }
        s.push_str(&format!(
            "\n{} passed, {} failed\n",
            self.cases.len() - self.failures(),
            self.failures()
        ));
        s
    }

    /// JUnit XML (written by quick-junit): one `<testsuite>` in `<testsuites>`, one
    /// `<testcase>` per case, a `<failure type="VerificationFailed">` for each failed one and
    /// the evidence in `<system-out>` for each passed one. Serialising into memory fails only
    /// if quick-junit itself does.
    pub fn to_junit(&self) -> Result<String, quick_junit::SerializeError> {
        let mut properties = vec![
            ("consumer", self.consumer.clone()),
            ("environment", self.env.to_string()),
            ("platform", self.platform.clone()),
            ("messages", self.messages.to_string()),
        ];
        if let Some(t) = self.since {
            properties.push(("since", t.to_rfc3339_opts(SecondsFormat::Secs, true)));
        }
        let classname = format!("ntjp.verify.consumer.{}", self.env);
        junit_report(
            &self.suite_name(),
            (self.generated_at, self.elapsed, &self.hostname),
            properties,
            self.cases
                .iter()
                .map(|c| junit_case(c, &classname, Duration::ZERO)),
        )
    }
}

/// A verification's JUnit XML: one `<testsuite>` named `name` (its time stamp, time and
/// host, then `properties`) holding `cases`, in `<testsuites>`.
fn junit_report(
    name: &str,
    (generated_at, elapsed, hostname): (DateTime<Utc>, Duration, &str),
    properties: Vec<(&str, String)>,
    cases: impl IntoIterator<Item = TestCase>,
) -> Result<String, quick_junit::SerializeError> {
    let mut suite = TestSuite::new(xml_text(name));
    suite
        .set_timestamp(generated_at.fixed_offset())
        .set_time(elapsed);
    suite
        .extra
        .insert("hostname".into(), xml_text(hostname).into());
    for (k, v) in properties {
        suite.add_property(Property::new(k, xml_text(&v)));
    }
    suite.add_test_cases(cases);
    let mut report = quick_junit::Report::new(xml_text(name));
    report.set_time(elapsed).add_test_suite(suite);
    report.to_string()
}

/// One case as a JUnit `<testcase>`.
fn junit_case(c: &Case, classname: &str, time: Duration) -> TestCase {
    let status = if c.passed {
        TestCaseStatus::success()
    } else {
        let mut text = format!("{}\n\n{}", c.explanation, c.message);
        for d in &c.details {
            text.push('\n');
            text.push_str(d);
        }
        let mut failure = TestCaseStatus::non_success(NonSuccessKind::Failure);
        failure
            .set_message(xml_text(&c.message))
            .set_type(FAILURE_TYPE)
            .set_description(xml_text(&text));
        failure
    };
    let mut case = TestCase::new(xml_text(&format!("{}: {}", c.id, c.title)), status);
    case.set_classname(classname).set_time(time);
    if c.passed {
        let evidence = if c.evidence.is_empty() {
            String::new()
        } else {
            let seqs: Vec<String> = c.evidence.iter().map(u64::to_string).collect();
            format!("\nEvidence: seq {}", seqs.join(", "))
        };
        case.set_system_out(xml_text(&format!(
            "{}\n{}{evidence}",
            c.explanation, c.message
        )));
    }
    case
}

/// Text as XML can carry it: characters XML 1.0 forbids (control characters from a consumer's
/// message) become U+FFFD, so they stay visible where quick-junit would drop them silently.
/// Escaping is quick-junit's.
fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..) {
                c
            } else {
                '\u{FFFD}'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::validate::Violation;

    const HSA: &str = "TSTNMT2321000156-KONS";

    fn at() -> DateTime<Utc> {
        "2026-12-02T10:00:00Z".parse().unwrap()
    }

    /// A valid message from HSA in SIT, answered OK by the mock for `address`.
    fn rec(seq: u64, address: &str, scenario: Scenario) -> Recording {
        Recording {
            seq,
            received_at: at(),
            mock_address: address.to_string(),
            path_profile: "RIVTABP21".into(),
            path_and_query: format!(
                "/mocks/{address}/ProcessCervixScreeningInformation/1/rivtabp21"
            ),
            logical_address: Some(address.to_string()),
            message_profile: Some("RIVTABP21".into()),
            consumer_hsa_id: Some(HSA.into()),
            platform_hsa_id: Some("NTJP-TEST".into()),
            environment: Some("sit".into()),
            correlation_id: Some(format!("corr-{seq}")),
            operation: Some("ProcessCervixScreeningInformation".into()),
            personnummer: Some("199001012384".into()),
            sending_region: Some("TSTNMT2321000156-R01".into()),
            scenario: Some(scenario),
            verdict: Verdict::Valid,
            violations: Vec::new(),
            violations_omitted: 0,
            technical_error: None,
            result_code: "OK".into(),
            answer_source: "validation".into(),
            delay_ms: 0,
            response_status: Some(200),
            response_body: None,
            peer: "127.0.0.1:1".parse().unwrap(),
            headers: Vec::new(),
            body: String::new(),
            body_truncated_from: None,
        }
    }

    fn all_scenarios() -> Vec<Recording> {
        vec![
            rec(1, "01", Scenario::Moved),
            rec(2, "13", Scenario::SampleElsewhere),
            rec(3, "17", Scenario::TreatedElsewhere),
            rec(4, LOAD_MOCKS, Scenario::Exclusion),
        ]
    }

    fn verify(rs: &[Recording]) -> Report {
        consumer_at(rs, EnvName::Sit, HSA, "NTJP-TEST", at())
    }

    fn get<'a>(r: &'a Report, id: &str) -> &'a Case {
        r.cases.iter().find(|c| c.id == id).unwrap()
    }

    fn failed(r: &Report) -> Vec<&'static str> {
        r.cases.iter().filter(|c| !c.passed).map(|c| c.id).collect()
    }

    #[test]
    fn every_case_passes_with_every_scenario_accepted() {
        let r = verify(&all_scenarios());
        assert_eq!(r.cases.iter().map(|c| c.id).collect::<Vec<_>>(), CASE_IDS);
        assert!(r.passed(), "{}", r.to_text());
        assert_eq!(r.messages, 4);
        assert_eq!(get(&r, "scenario-moved").evidence, [1]);
        assert_eq!(get(&r, "scenario-exclusion").evidence, [4]);
        assert_eq!(get(&r, "logical-addressing").evidence, [1, 2, 3, 4]);
        assert!(
            r.to_text().ends_with("\n7 passed, 0 failed\n"),
            "{}",
            r.to_text()
        );
    }

    #[test]
    fn a_scenario_never_sent_fails_as_never_sent() {
        let mut rs = all_scenarios();
        rs.retain(|r| r.scenario != Some(Scenario::TreatedElsewhere));
        let r = verify(&rs);
        assert_eq!(failed(&r), ["scenario-treated-elsewhere"]);
        let c = get(&r, "scenario-treated-elsewhere");
        assert!(c.message.starts_with("never sent"), "{}", c.message);
        assert!(c.message.contains("followUpGroups"), "{}", c.message);
        assert!(c.evidence.is_empty());
    }

    #[test]
    fn a_scenario_sent_but_not_accepted_names_the_attempts() {
        let mut rs = all_scenarios();
        rs[0].verdict = Verdict::Invalid;
        rs[0].result_code = "ERROR".into();
        rs[0].violations = vec![Violation {
            path: "cervixScreeningInformation/plannedInvitation/date".into(),
            message: "not a date".into(),
        }];
        let mut behaviour = rec(7, "01", Scenario::Moved);
        behaviour.result_code = "FAULT".into();
        behaviour.answer_source = "behaviour".into();
        rs.push(behaviour);
        let r = verify(&rs);
        assert_eq!(failed(&r), ["scenario-moved", "schema-and-rules"]);
        let c = get(&r, "scenario-moved");
        assert!(
            c.message
                .starts_with("sent 2 time(s) but never accepted: seq 1, 7"),
            "{}",
            c.message
        );
        assert!(c.message.contains("ERROR, FAULT"), "{}", c.message);
        assert!(
            c.details[0].contains("seq 1: to 01, verdict invalid, answered ERROR"),
            "{:?}",
            c.details
        );
        assert!(
            c.details[1].contains("answer from behaviour"),
            "{:?}",
            c.details
        );
    }

    #[test]
    fn info_counts_as_accepted() {
        let mut rs = all_scenarios();
        rs[1].result_code = "INFO".into();
        assert!(verify(&rs).passed());
    }

    #[test]
    fn logical_addressing_fails_for_each_wrong_address() {
        let mut rs = all_scenarios();
        let mut bp20 = rec(5, "01", Scenario::NoInformation);
        bp20.message_profile = Some("RIVTABP20".into());
        let mut elsewhere = rec(6, "14", Scenario::NoInformation);
        elsewhere.logical_address = Some("01".into());
        let mut retired = rec(7, "02", Scenario::NoInformation);
        retired.logical_address = Some("02".into());
        let mut lower = rec(8, "LOAD-MOCKS", Scenario::NoInformation);
        lower.logical_address = Some("load-mocks".into());
        rs.extend([bp20, elsewhere, retired, lower]);
        let r = verify(&rs);
        assert_eq!(failed(&r), ["logical-addressing"]);
        let c = get(&r, "logical-addressing");
        assert_eq!(c.message, "3 of 8 message(s) wrongly addressed");
        assert!(
            c.details[0].starts_with("seq 5: address 01: addressed with a RIVTABP20"),
            "{:?}",
            c.details
        );
        assert!(
            c.details[1].contains("addressed to 01 but received by the mock for 14"),
            "{:?}",
            c.details
        );
        assert!(
            c.details[2].contains("\"02\" is not a current county code"),
            "{:?}",
            c.details
        );
    }

    #[test]
    fn load_mocks_is_an_address_of_sit_only() {
        let mut rs = all_scenarios();
        for r in &mut rs {
            r.environment = Some("qa".into());
        }
        let mut ntjp_mocks = rec(9, NTJP_MOCKS, Scenario::NoInformation);
        ntjp_mocks.environment = Some("qa".into());
        rs.push(ntjp_mocks);
        let sit = verify(&rs);
        assert_eq!(sit.messages, 0, "qa recordings are not examined for sit");
        let qa = consumer_at(&rs, EnvName::Qa, HSA, "NTJP-QA", at());
        assert_eq!(failed(&qa), ["logical-addressing"]);
        let c = get(&qa, "logical-addressing");
        assert!(
            c.details[0].contains("LOAD-MOCKS is a mock address of SIT only, not of qa"),
            "{:?}",
            c.details
        );
        assert!(
            c.details[1].contains("NTJP-MOCKS is a mock address of SIT only"),
            "{:?}",
            c.details
        );
        let mut sit_rs = all_scenarios();
        sit_rs.push(rec(9, NTJP_MOCKS, Scenario::NoInformation));
        assert!(verify(&sit_rs).passed());
    }

    #[test]
    fn correlation_id_fails_when_missing_or_empty() {
        let mut rs = all_scenarios();
        rs[1].correlation_id = None;
        rs[2].correlation_id = Some(" ".into());
        let r = verify(&rs);
        assert_eq!(failed(&r), ["correlation-id"]);
        let c = get(&r, "correlation-id");
        assert!(
            c.message.contains("2 of 4") && c.message.ends_with("seq 2, 3"),
            "{}",
            c.message
        );
        assert_eq!(c.details.len(), 2);
    }

    #[test]
    fn schema_and_rules_lists_violations_and_technical_errors() {
        let mut rs = all_scenarios();
        let mut invalid = rec(5, "01", Scenario::NoInformation);
        invalid.verdict = Verdict::Invalid;
        invalid.result_code = "ERROR".into();
        invalid.personnummer = Some("9001012384".into());
        invalid.violations = vec![Violation {
            path: "cervixScreeningInformation/subjectOfCare/personId/extension".into(),
            message: "not a 12-digit personnummer: 9001012384".into(),
        }];
        invalid.violations_omitted = 41;
        let mut technical = rec(6, "01", Scenario::NoInformation);
        technical.verdict = Verdict::Technical;
        technical.scenario = None;
        technical.result_code = "FAULT".into();
        technical.technical_error = Some("not well-formed XML".into());
        rs.extend([invalid, technical]);
        let r = verify(&rs);
        assert_eq!(failed(&r), ["schema-and-rules"]);
        let c = get(&r, "schema-and-rules");
        assert_eq!(
            c.message,
            "2 of 6 message(s) broke the schema or the rules: seq 5, 6"
        );
        assert_eq!(
            c.details,
            [
                "seq 5: to 01, scenario no-information, personnummer 9001012384: invalid, answered ERROR",
                "  cervixScreeningInformation/subjectOfCare/personId/extension: not a 12-digit personnummer: 9001012384",
                "  ... and 41 more violation(s), not recorded (the mocks keep the first 1)",
                "seq 6: to 01, personnummer 199001012384: technical, answered FAULT",
                "  not well-formed XML",
            ]
        );
    }

    #[test]
    fn nothing_received_fails_every_case_and_says_how_to_send() {
        let mut other = all_scenarios();
        for r in &mut other {
            r.consumer_hsa_id = Some("SE2321000016-ABCD".into());
        }
        let mut ping = rec(9, "01", Scenario::NoInformation);
        ping.verdict = Verdict::Ping;
        other.push(ping);
        for rs in [Vec::new(), other] {
            let r = verify(&rs);
            assert_eq!(r.messages, 0);
            assert_eq!(failed(&r), CASE_IDS);
            for c in &r.cases {
                assert_eq!(
                    c.message,
                    format!("Nothing from {HSA} was received in sit (NTJP-TEST).")
                );
                assert!(
                    c.details[0].contains("LOAD-MOCKS or a county code"),
                    "{:?}",
                    c.details
                );
            }
            let text = r.to_text();
            assert!(text.ends_with("\n0 passed, 7 failed\n"), "{text}");
            assert_eq!(text.matches("Nothing from").count(), 7, "{text}");
            assert_eq!(
                text.matches("Send ProcessCervixScreeningInformation")
                    .count(),
                1,
                "{text}"
            );
            assert_eq!(
                r.to_junit()
                    .unwrap()
                    .matches("Send ProcessCervixScreeningInformation")
                    .count(),
                7
            );
        }
        let prod = consumer_at(&[], EnvName::Prod, HSA, "NTJP-PROD", at());
        assert!(!prod.cases[0].details[0].contains("LOAD-MOCKS"));
    }

    #[test]
    fn the_consumer_is_matched_case_insensitively_and_pings_are_ignored() {
        let mut rs = all_scenarios();
        rs[0].consumer_hsa_id = Some(HSA.to_ascii_lowercase());
        let mut ping = rec(5, "01", Scenario::NoInformation);
        ping.verdict = Verdict::Ping;
        ping.correlation_id = None;
        rs.push(ping);
        let r = verify(&rs);
        assert!(r.passed(), "{}", r.to_text());
        assert_eq!(r.messages, 4);
    }

    #[test]
    fn text_report_shows_failures_indented() {
        let mut rs = all_scenarios();
        rs.pop();
        let text = verify(&rs).to_text();
        assert!(text.starts_with(
            "ProcessCervixScreeningInformation consumer verification: TSTNMT2321000156-KONS (sit, NTJP-TEST)\n"
        ), "{text}");
        assert!(
            text.contains("  time         2026-12-02T10:00:00Z\n"),
            "{text}"
        );
        assert!(
            text.contains("PASS  scenario-moved              Kvinnan flyttar mellan regioner\n"),
            "{text}"
        );
        assert!(text.contains("FAIL  scenario-exclusion          Kvinnan undantas från kallelse\n      never sent:"), "{text}");
        assert!(
            text.contains(
                "\n        Send a valid ProcessCervixScreeningInformation with exclusion"
            ),
            "{text}"
        );
        assert!(text.ends_with("\n6 passed, 1 failed\n"), "{text}");
    }

    #[test]
    fn junit_has_a_suite_properties_and_one_testcase_per_case() {
        let mut rs = all_scenarios();
        rs.pop();
        let mut r = verify(&rs);
        r.hostname = "ci-runner".into();
        r.elapsed = Duration::from_millis(1250);
        let x = r.to_junit().unwrap();
        assert!(
            x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "),
            "{x}"
        );
        // Every attribute of the suite, in quick-junit's order.
        let suite = x
            .lines()
            .find(|l| l.trim_start().starts_with("<testsuite "))
            .unwrap();
        for attribute in [
            "name=\"ProcessCervixScreeningInformation consumer verification: TSTNMT2321000156-KONS (sit, NTJP-TEST)\"",
            "tests=\"7\"",
            "failures=\"1\"",
            "errors=\"0\"",
            "skipped=\"0\"",
            "time=\"1.250\"",
            "timestamp=\"2026-12-02T10:00:00.000+00:00\"",
            "hostname=\"ci-runner\"",
        ] {
            assert!(suite.contains(&format!(" {attribute}")), "{attribute}: {x}");
        }
        assert!(
            x.contains("<property name=\"messages\" value=\"3\"/>"),
            "{x}"
        );
        assert!(
            x.contains("<property name=\"platform\" value=\"NTJP-TEST\"/>"),
            "{x}"
        );
        assert_eq!(
            x.lines()
                .filter(|l| l.trim_start().starts_with("<testcase ")
                    && l.contains(" classname=\"ntjp.verify.consumer.sit\""))
                .count(),
            7,
            "{x}"
        );
        assert_eq!(x.matches("<failure ").count(), 1);
        assert!(
            x.contains("name=\"scenario-exclusion: Kvinnan undantas från kallelse\""),
            "{x}"
        );
        assert!(x.contains("type=\"VerificationFailed\""), "{x}");
        assert!(x.contains("Evidence: seq 1</system-out>"), "{x}");
        // Well-formed all the way through.
        let mut reader = quick_xml::reader::Reader::from_str(&x);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("not well-formed: {e}\n{x}"),
            }
        }
    }

    #[test]
    fn everything_in_the_junit_file_is_escaped() {
        // Markup is left to quick-junit's escaping; what XML cannot carry becomes U+FFFD.
        assert_eq!(xml_text(r#"a&b<c>d"e'f"#), r#"a&b<c>d"e'f"#);
        assert_eq!(xml_text("tab\tnl\nbell\u{7}"), "tab\tnl\nbell\u{FFFD}");
        let hostile = "<x a=\"1\"> & 'q' \u{1}";
        let mut rs = all_scenarios();
        let mut invalid = rec(5, "01", Scenario::NoInformation);
        invalid.verdict = Verdict::Invalid;
        invalid.result_code = "ERROR".into();
        invalid.violations = vec![Violation {
            path: "a/b".into(),
            message: hostile.into(),
        }];
        rs.push(invalid);
        let mut r = consumer_at(&rs, EnvName::Sit, HSA, "P&\"Q'", at());
        r.hostname = "<host>".into();
        let x = r.to_junit().unwrap();
        assert!(!x.contains(hostile));
        assert!(
            x.contains("a/b: &lt;x a=&quot;1&quot;&gt; &amp; &apos;q&apos; \u{FFFD}"),
            "{x}"
        );
        assert!(x.contains("(sit, P&amp;&quot;Q&apos;)"), "{x}");
        assert!(x.contains("hostname=\"&lt;host&gt;\""), "{x}");
        let mut reader = quick_xml::reader::Reader::from_str(&x);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("not well-formed: {e}\n{x}"),
            }
        }
    }
}
