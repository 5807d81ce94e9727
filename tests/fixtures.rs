//! Every request in `fixtures/messages/` through the SIT router to a mock producer, over real
//! mutual TLS: valid ones are answered OK and recorded with their scenario; each invalid one
//! is answered ERROR with a `resultText` naming exactly the element paths its comment
//! expects; technical ones get the mock's SOAP Fault, passed through by the platform.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use http::StatusCode;
use ntjp_testbed::contract::{self, ResultCode};

/// One fixture and the lines of its leading comment.
struct Fixture {
    path: PathBuf,
    text: String,
    address: String,
    expects: Vec<String>,
    scenario: Option<String>,
}

fn fixtures(kind: &str) -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/messages")
        .join(kind);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures in {}", dir.display());
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let comment = &text[text.find("<!--").unwrap()..text.find("-->").unwrap()];
            let value = |key: &str| {
                comment
                    .lines()
                    .filter_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()))
                    .collect::<Vec<_>>()
            };
            Fixture {
                address: value("address:")
                    .pop()
                    .unwrap_or_else(|| panic!("{} has no address line", path.display())),
                expects: value("expect:"),
                scenario: value("scenario:").pop(),
                path,
                text,
            }
        })
        .collect()
}

async fn send(bed: &Bed, f: &Fixture) -> Answer {
    bed.consumer()
        .post(bed.https_addr("sit"), f.text.clone(), &[])
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", f.path.display()))
}

#[tokio::test]
async fn valid_fixtures_are_answered_ok_and_recorded_with_their_scenario() {
    let bed = start().await;
    for f in fixtures("valid") {
        let name = f.path.file_name().unwrap().to_string_lossy().into_owned();
        let a = send(&bed, &f).await;
        assert_eq!(a.status, StatusCode::OK, "{name}: {}", a.body);
        assert_eq!(
            contract::parse_response(a.body.as_bytes()),
            Some((ResultCode::Ok, None)),
            "{name}: {}",
            a.body
        );
        let rec = bed.testbed.recorder().for_address(&f.address);
        let last = rec.last().unwrap_or_else(|| panic!("{name}: not recorded"));
        assert!(last.violations.is_empty(), "{name}: {:?}", last.violations);
        let scenario = serde_json::to_value(last.scenario).unwrap();
        assert_eq!(scenario.as_str(), f.scenario.as_deref(), "{name}: scenario");
    }
    bed.stop().await;
}

#[tokio::test]
async fn each_invalid_fixture_is_answered_error_naming_exactly_its_element_paths() {
    let bed = start().await;
    for f in fixtures("invalid") {
        let name = f.path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!f.expects.is_empty(), "{name} has no expect line");
        let a = send(&bed, &f).await;
        assert_eq!(a.status, StatusCode::OK, "{name}: {}", a.body);
        let (code, text) = contract::parse_response(a.body.as_bytes())
            .unwrap_or_else(|| panic!("{name}: not a contract answer: {}", a.body));
        assert_eq!(code, ResultCode::Error, "{name}");
        let text = text.unwrap_or_default();
        for path in &f.expects {
            assert!(
                text.lines().any(|l| l.starts_with(&format!("{path}: "))),
                "{name}: resultText does not name {path}:\n{text}"
            );
        }
        let rec = bed.testbed.recorder().for_address(&f.address);
        let last = rec.last().unwrap();
        let mut got: Vec<&str> = last.violations.iter().map(|v| v.path.as_str()).collect();
        let mut want: Vec<&str> = f.expects.iter().map(String::as_str).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{name}: violations {:?}", last.violations);
    }
    bed.stop().await;
}

#[tokio::test]
async fn technical_fixtures_get_the_mocks_soap_fault() {
    let bed = start().await;
    for f in fixtures("technical") {
        let name = f.path.file_name().unwrap().to_string_lossy().into_owned();
        let a = send(&bed, &f).await;
        assert_eq!(
            a.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{name}: {}",
            a.body
        );
        let fault = a.fault();
        assert_eq!(fault.faultcode, "soap:Client", "{name}: {fault:?}");
        assert!(!fault.faultstring.starts_with("VP"), "{name}: {fault:?}");
        let rec = bed.testbed.recorder().for_address(&f.address);
        assert_eq!(
            rec.last().map(|r| r.result_code.as_str()),
            Some("FAULT"),
            "{name}"
        );
    }
    bed.stop().await;
}
