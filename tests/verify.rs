//! `ntjp verify consumer` as a CI pipeline runs it: the default consumer sends some of the
//! contract's scenarios over mutual TLS through the SIT router to the mock producers, then the
//! real binary reads the recordings from the admin API, prints the report, writes JUnit XML
//! and sets its exit status.

mod common;

use std::{io::BufReader, path::Path, process::Output};

use common::*;
use ntjp_testbed::{contract, soap::Profile, vocab::MOCK_ADDRESS};

const BIN: &str = env!("CARGO_BIN_EXE_ntjp");
const CONSUMER: &str = "TSTNMT2321000156-KONS";
const CASES: usize = 7;

/// A valid message from `fixtures/messages/valid/` and the address its leading comment names.
fn fixture(name: &str) -> (String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/messages/valid")
        .join(name);
    let xml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let address = xml
        .lines()
        .take_while(|l| !l.contains("-->"))
        .find_map(|l| l.trim().strip_prefix("address:"))
        .unwrap_or_else(|| panic!("{name} names no `address:` in its comment"))
        .trim()
        .to_string();
    (xml, address)
}

/// Sends `body` as the default consumer through the SIT router; returns the mock that answered.
async fn send(bed: &Bed, body: String, correlation_id: &str) -> Answer {
    bed.consumer()
        .post(
            bed.https_addr("sit"),
            body,
            &[("x-skltp-correlation-id", correlation_id)],
        )
        .await
        .unwrap()
}

/// The `seq` the mocks gave the message sent with `correlation_id`.
async fn seq_of(bed: &Bed, correlation_id: &str) -> u64 {
    let url = format!(
        "{}/api/mocks/messages?correlation_id={correlation_id}",
        bed.testbed.endpoints().admin
    );
    let a = ntjp_testbed::cli::client::get(&url).await.unwrap();
    a.json["messages"][0]["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("{url}: {}", a.json))
}

/// Sends a fixture and asserts it was accepted (OK) by the mock its comment names.
async fn send_ok(bed: &Bed, name: &str) {
    let (xml, address) = fixture(name);
    let a = send(bed, xml, &format!("verify-{name}")).await;
    assert_eq!(assert_ok(&a), address, "{name}: answered by another mock");
}

/// Runs `ntjp verify consumer` against the bed's admin API, printing what it printed.
async fn verify(bed: &Bed, junit: &Path, extra: &[&str]) -> Output {
    let out = tokio::process::Command::new(BIN)
        .args(["verify", "consumer", "--env", "sit", "--hsa-id", CONSUMER])
        .arg("--junit")
        .arg(junit)
        .arg("--admin")
        .arg(&bed.testbed.endpoints().admin)
        .args(extra)
        .env_remove("NTJP_ADMIN")
        .env_remove("NTJP_STATE_DIR")
        .output()
        .await
        .unwrap();
    println!("{}", String::from_utf8_lossy(&out.stdout));
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One test case as the JUnit reader read it.
#[derive(Debug)]
struct Case {
    name: String,
    classname: Option<String>,
    /// `(type, text)` of its `<failure>`.
    failure: Option<(String, String)>,
    system_out: Option<String>,
}

/// The JUnit file's one suite.
#[derive(Debug)]
struct Suite {
    name: String,
    tests: usize,
    failures: usize,
    errors: usize,
    cases: Vec<Case>,
}

/// The JUnit file's one suite, parsed by a JUnit reader (quick-junit).
fn junit(path: &Path) -> Suite {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut report = quick_junit::Report::deserialize(BufReader::new(file))
        .unwrap_or_else(|e| panic!("{} is not JUnit XML: {e}", path.display()));
    assert_eq!(report.test_suites.len(), 1);
    let s = report.test_suites.remove(0);
    Suite {
        name: s.name.to_string(),
        tests: s.tests,
        failures: s.failures,
        errors: s.errors,
        cases: s
            .test_cases
            .into_iter()
            .map(|c| Case {
                name: c.name.to_string(),
                classname: c.classname.map(|x| x.to_string()),
                failure: match c.status {
                    quick_junit::TestCaseStatus::NonSuccess {
                        kind: quick_junit::NonSuccessKind::Failure,
                        ty,
                        description,
                        ..
                    } => Some((
                        ty.map(|t| t.to_string()).unwrap_or_default(),
                        description.map(|d| d.to_string()).unwrap_or_default(),
                    )),
                    _ => None,
                },
                system_out: c.system_out.map(|x| x.to_string()),
            })
            .collect(),
    }
}

/// The ids of the failed test cases (`<id>: <title>`), in file order.
fn failed_ids(suite: &Suite) -> Vec<String> {
    suite
        .cases
        .iter()
        .filter(|c| c.failure.is_some())
        .map(|c| {
            c.name
                .split_once(':')
                .map_or(c.name.clone(), |(id, _)| id.to_string())
        })
        .collect()
}

fn assert_suite(suite: &Suite, failing: &[&str]) {
    assert_eq!(suite.cases.len(), CASES);
    assert_eq!(suite.tests, CASES);
    assert_eq!(suite.failures, failing.len());
    assert_eq!(suite.errors, 0);
    assert_eq!(failed_ids(suite), failing);
    assert!(
        suite.name.contains(CONSUMER) && suite.name.contains("(sit, NTJP-TEST)"),
        "{}",
        suite.name
    );
    for c in &suite.cases {
        assert_eq!(c.classname.as_deref(), Some("ntjp.verify.consumer.sit"));
        if let Some((ty, _)) = &c.failure {
            assert_eq!(ty, "VerificationFailed");
        }
    }
}

#[tokio::test]
async fn missing_and_refused_scenarios_fail_until_they_are_accepted() {
    let bed = start().await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("ci/reports/report.xml");

    // No information (to LOAD-MOCKS) and a sample in another region: accepted.
    let a = send(
        &bed,
        contract::request("LOAD-MOCKS", Profile::Bp21, "199001012384", "01"),
        "verify-no-information",
    )
    .await;
    assert_eq!(assert_ok(&a), "LOAD-MOCKS");
    send_ok(&bed, "sample-in-other-region.xml").await;
    // A move, for the woman the mocks answer ERROR for: sent, but not accepted.
    let (moved, _) = fixture("moved-between-regions.xml");
    let refused = send(
        &bed,
        moved.replace("199001012384", "190001010002"),
        "verify-moved-refused",
    )
    .await;
    let (code, _) = contract::parse_response(refused.body.as_bytes()).unwrap();
    assert_eq!(code, contract::ResultCode::Error, "{}", refused.body);

    let out = verify(&bed, &report, &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("FAIL  scenario-treated-elsewhere")
            && text.contains("FAIL  scenario-exclusion")
            && text.contains("FAIL  scenario-moved"),
        "{text}"
    );
    assert!(text.contains("PASS  scenario-sample-elsewhere"), "{text}");
    let refused_seq = seq_of(&bed, "verify-moved-refused").await;
    assert!(
        text.contains(&format!(
            "sent 1 time(s) but never accepted: seq {refused_seq} (answered ERROR)"
        )),
        "{text}"
    );
    assert!(text.contains("never sent"), "{text}");
    assert!(text.contains("\n4 passed, 3 failed\n"), "{text}");
    assert!(
        text.contains(&format!("JUnit XML written to {}", report.display())),
        "{text}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("3 of 7 verification cases failed"),
        "{out:?}"
    );
    assert_suite(
        &junit(&report),
        &[
            "scenario-moved",
            "scenario-treated-elsewhere",
            "scenario-exclusion",
        ],
    );

    // The missing ones, sent and accepted: everything passes.
    send_ok(&bed, "moved-between-regions.xml").await;
    send_ok(&bed, "treated-in-other-region.xml").await;
    send_ok(&bed, "exclusion.xml").await;
    let out = verify(&bed, &report, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("\n7 passed, 0 failed\n"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    let suite = junit(&report);
    assert_suite(&suite, &[]);
    assert!(
        suite
            .cases
            .iter()
            .all(|c| c.failure.is_none() && c.system_out.is_some()),
        "{suite:?}"
    );

    // Since a moment after everything was sent (written with an offset, which must reach the
    // admin API intact): nothing is examined, so every case fails and says how to send.
    let since = (chrono::Utc::now() + chrono::Duration::seconds(1))
        .with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap())
        .to_rfc3339();
    let out = verify(&bed, &report, &["--since", &since]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "Nothing from {CONSUMER} was received in sit (NTJP-TEST)."
        )),
        "{text}"
    );
    assert!(text.contains("LOAD-MOCKS or a county code"), "{text}");
    assert!(text.contains("\n0 passed, 7 failed\n"), "{text}");
    assert_eq!(junit(&report).failures, CASES);
    bed.stop().await;
}

#[tokio::test]
async fn an_invalid_message_fails_schema_and_rules_only() {
    let bed = start().await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    for name in [
        "moved-between-regions.xml",
        "sample-in-other-region.xml",
        "treated-in-other-region.xml",
        "exclusion.xml",
    ] {
        send_ok(&bed, name).await;
    }
    // A 10-digit personnummer: answered ERROR with the validation report.
    let a = send(
        &bed,
        contract::request("01", Profile::Bp21, "9001012384", "12"),
        "verify-invalid",
    )
    .await;
    let (code, _) = contract::parse_response(a.body.as_bytes()).unwrap();
    assert_eq!(code, contract::ResultCode::Error, "{}", a.body);

    let seq = seq_of(&bed, "verify-invalid").await;
    let out = verify(&bed, &report, &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("FAIL  schema-and-rules"), "{text}");
    assert!(
        text.contains(&format!(
            "1 of 5 message(s) broke the schema or the rules: seq {seq}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("seq {seq}: to 01, scenario no-information, personnummer 9001012384: invalid, answered ERROR")),
        "{text}"
    );
    assert!(text.contains("personId/extension: "), "{text}");
    assert!(text.contains("\n6 passed, 1 failed\n"), "{text}");
    let suite = junit(&report);
    assert_suite(&suite, &["schema-and-rules"]);
    let (_, failure) = suite.cases.iter().find_map(|c| c.failure.clone()).unwrap();
    assert!(failure.contains("9001012384"), "{failure}");
    bed.stop().await;
}

#[tokio::test]
async fn a_consumer_that_sent_nothing_fails_every_case() {
    let bed = start().await;
    // Someone else's traffic does not count: another HSA-id is asked for.
    let a = send(
        &bed,
        contract::request("LOAD-MOCKS", Profile::Bp21, "199001012384", "01"),
        "verify-other",
    )
    .await;
    assert_eq!(
        a.headers.get(MOCK_ADDRESS).and_then(|v| v.to_str().ok()),
        Some("LOAD-MOCKS")
    );
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.xml");
    let out = tokio::process::Command::new(BIN)
        .args([
            "verify",
            "consumer",
            "--env",
            "sit",
            "--hsa-id",
            "SE2321000016-NONE",
            "--admin",
            &bed.testbed.endpoints().admin,
            "--junit",
        ])
        .arg(&report)
        .output()
        .await
        .unwrap();
    let text = stdout(&out);
    println!("{text}");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.contains("Nothing from SE2321000016-NONE was received in sit (NTJP-TEST)."),
        "{text}"
    );
    assert!(text.contains("messages     0 examined"), "{text}");
    let suite = junit(&report);
    assert_eq!(suite.failures, CASES);
    assert_eq!(suite.cases.len(), CASES);
    bed.stop().await;
}
