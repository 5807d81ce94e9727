//! `ntjp verify producer` against the running testbed: the real binary sends the contract's
//! verification cases over mutual TLS through the QA router to the mock producer of 14. A
//! well-behaved mock passes every case; each misbehaviour (set through the admin API, as a
//! user would with `ntjp mocks set`) fails exactly the cases it should, and the JUnit file
//! names them.

mod common;

use std::{io::BufReader, path::Path, process::Output};

use common::*;
use ntjp_testbed::verify::producer::CASES;

const BIN: &str = env!("CARGO_BIN_EXE_ntjp");

/// Runs `ntjp verify producer --env qa --address 14` against the bed with `extra` flags.
async fn verify(bed: &Bed, junit: &Path, extra: &[&str]) -> Output {
    let out = tokio::process::Command::new(BIN)
        .args(["verify", "producer", "--env", "qa", "--address", "14"])
        .arg("--junit")
        .arg(junit)
        .arg("--admin")
        .arg(&bed.testbed.endpoints().admin)
        .arg("--state-dir")
        .arg(bed.dir.path().join("state"))
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

/// Sets the behaviour of mock 14 through the admin API (`{}`: the default).
async fn behave(bed: &Bed, behaviour: &str) {
    let url = format!("{}/api/mocks/14/behaviour", bed.testbed.endpoints().admin);
    let a = ntjp_testbed::cli::client::put(&url, behaviour.as_bytes().to_vec())
        .await
        .unwrap();
    assert!(a.status.is_success(), "{behaviour}: {}", a.json);
}

/// `(name, failure text)` of every test case in the JUnit file, read by a JUnit reader.
fn junit(path: &Path) -> Vec<(String, Option<String>)> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let report = quick_junit::Report::deserialize(BufReader::new(file))
        .unwrap_or_else(|e| panic!("{} is not JUnit XML: {e}", path.display()));
    assert_eq!(report.test_suites.len(), 1);
    report.test_suites[0]
        .test_cases
        .iter()
        .map(|c| {
            let failure = match &c.status {
                quick_junit::TestCaseStatus::Success { .. } => None,
                quick_junit::TestCaseStatus::NonSuccess {
                    message,
                    description,
                    ..
                } => Some(format!(
                    "{} {}",
                    message.as_deref().unwrap_or_default(),
                    description.as_deref().unwrap_or_default()
                )),
                other => panic!("{other:?}"),
            };
            (c.name.to_string(), failure)
        })
        .collect()
}

/// The ids of the failed cases in the JUnit file.
fn failed(cases: &[(String, Option<String>)]) -> Vec<String> {
    cases
        .iter()
        .filter(|(_, f)| f.is_some())
        .map(|(n, _)| n.split(':').next().unwrap().to_string())
        .collect()
}

fn ids(prefix: &str) -> Vec<String> {
    CASES
        .iter()
        .filter(|c| c.id.starts_with(prefix))
        .map(|c| c.id.to_string())
        .collect()
}

#[test]
fn the_cases_are_every_fixture_and_the_ping() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/messages");
    let mut files: Vec<String> = ["valid", "invalid", "technical"]
        .iter()
        .flat_map(|folder| {
            std::fs::read_dir(dir.join(folder)).unwrap().map(move |e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                format!("{folder}-{}", name.trim_end_matches(".xml"))
            })
        })
        .collect();
    files.push("ping".into());
    files.sort();
    let mut cases: Vec<String> = CASES.iter().map(|c| c.id.to_string()).collect();
    cases.sort();
    assert_eq!(cases, files);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_producer_passes_a_good_mock_and_fails_each_misbehaviour() {
    let bed = start().await;
    let out_dir = tempfile::tempdir().unwrap();
    let junit_file = out_dir.path().join("producer.xml");

    // A well-behaved mock: every case passes, exit 0.
    let out = verify(&bed, &junit_file, &["--timeout-ms", "20000"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with(
        "ProcessCervixScreeningInformation producer verification: 14 (qa, NTJP-QA)\n"
    ));
    assert!(
        stdout.contains(&format!("\n{} passed, 0 failed\n", CASES.len())),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nPASS  invalid-date-month-13 ")
            && stdout.contains("expected ERROR+text  got ERROR \"1 violation(s)"),
        "{stdout}"
    );
    let cases = junit(&junit_file);
    assert_eq!(cases.len(), CASES.len());
    assert!(failed(&cases).is_empty(), "{cases:?}");

    // A producer that validates nothing: every invalid case fails, and only those.
    behave(&bed, r#"{"answer": "accept-all"}"#).await;
    let out = verify(&bed, &junit_file, &["--timeout-ms", "20000"]).await;
    assert_eq!(out.status.code(), Some(1));
    let cases = junit(&junit_file);
    assert_eq!(failed(&cases), ids("invalid-"));
    let (_, why) = cases
        .iter()
        .find(|(n, _)| n.starts_with("invalid-date-month-13: "))
        .unwrap();
    assert!(
        why.as_deref()
            .unwrap()
            .contains("expected ERROR+text, got OK in ")
            && why
                .as_deref()
                .unwrap()
                .contains("OK to a request that breaks the contract"),
        "{why:?}"
    );

    // A SOAP Fault for everything: valid and invalid cases fail (a logical error is no
    // technical one), the technical cases and the ping pass.
    behave(
        &bed,
        r#"{"answer": "fault", "text": "Databasen svarar inte"}"#,
    )
    .await;
    let out = verify(&bed, &junit_file, &["--timeout-ms", "20000"]).await;
    assert_eq!(out.status.code(), Some(1));
    let cases = junit(&junit_file);
    let mut expected = ids("valid-");
    expected.extend(ids("invalid-"));
    assert_eq!(failed(&cases), expected);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        stdout.contains("got SOAP Fault \"Databasen svarar inte\"")
            && stdout.contains("a SOAP Fault for a logical error"),
        "{stdout}"
    );

    // Slower than the contract's timeout (but within the router's): the case fails on time.
    behave(&bed, r#"{"answer": "ok", "delay_ms": 1500}"#).await;
    let out = verify(
        &bed,
        &junit_file,
        &[
            "--timeout-ms",
            "1000",
            "--case",
            "valid-exclusion",
            "--case",
            "ping",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let cases = junit(&junit_file);
    assert_eq!(failed(&cases), ["valid-exclusion"]);
    assert!(
        cases[0]
            .1
            .as_deref()
            .unwrap()
            .contains("later than the contract's timeout of 1000 ms"),
        "{cases:?}"
    );

    // No answer to PingForConfiguration: only the ping fails.
    behave(&bed, r#"{"answer": "no-ping"}"#).await;
    let out = verify(
        &bed,
        &junit_file,
        &[
            "--timeout-ms",
            "1500",
            "--case",
            "valid-exclusion",
            "--case",
            "ping",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let cases = junit(&junit_file);
    assert_eq!(failed(&cases), ["ping"]);
    assert!(
        cases[1]
            .1
            .as_deref()
            .unwrap()
            .contains("no complete answer within"),
        "{cases:?}"
    );

    // No route in TAK for the address: the router's VP004 is shown, exit 1.
    behave(&bed, "{}").await;
    let out = tokio::process::Command::new(BIN)
        .args([
            "verify",
            "producer",
            "--env",
            "qa",
            "--address",
            "99",
            "--case",
            "valid-exclusion",
            "--case",
            "ping",
        ])
        .arg("--admin")
        .arg(&bed.testbed.endpoints().admin)
        .arg("--state-dir")
        .arg(bed.dir.path().join("state"))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("got SOAP Fault VP004"), "{stdout}");
    assert!(
        stdout.contains("routes ProcessCervixScreeningInformation nowhere for 99"),
        "{stdout}"
    );

    // The router cannot be reached: exit 3.
    let admin = bed.testbed.endpoints().admin.clone();
    let state = bed.dir.path().join("state");
    bed.stop().await;
    let out = tokio::process::Command::new(BIN)
        .args([
            "verify",
            "producer",
            "--env",
            "qa",
            "--address",
            "14",
            "--admin",
            &admin,
        ])
        .arg("--state-dir")
        .arg(&state)
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
