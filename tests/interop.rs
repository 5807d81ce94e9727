//! Interoperability: a SOAP client library not written here (Python's zeep) loads the
//! contract's WSDL and schemas from `wsdl/`, builds the request from them and calls through
//! the real SIT router over mutual TLS. Proves the WSDL is usable as published and that the
//! router accepts what a generic client sends (header from the WSDL's header part,
//! soapAction from the binding).

mod common;

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use common::*;
use serde_json::Value;

const SERVICE_PATH: &str =
    "/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21";
const WSDL: &str = "wsdl/interactions/ProcessCervixScreeningInformationInteraction/ProcessCervixScreeningInformationInteraction_1.0_RIVTABP21.wsdl";
const SCRIPT: &str = "tests/interop/zeep_call.py";
const PERSONNUMMER: &str = "199001012384";
const TIMEOUT: Duration = Duration::from_secs(120);

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// What one run of the script did.
struct Run {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "zeep_call.py exited {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
    /// The script's one JSON line, asserting it exited 0.
    fn json(&self) -> Value {
        assert!(self.status.success(), "{}", self.describe());
        let line = self
            .stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("no output\n{}", self.describe()));
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{}", self.describe()))
    }
}

async fn zeep_call(
    python: &common::install::Python,
    url: &str,
    (cert, key): (&Path, &Path),
    ca: &Path,
    correlation_id: &str,
    expect_fault: bool,
) -> Run {
    let wsdl = repo(WSDL);
    zeep_run(
        python,
        (wsdl.as_os_str(), Some(url)),
        (cert, key),
        ca,
        correlation_id,
        expect_fault,
    )
    .await
}

/// Runs the script with `wsdl` (a file or a URL) and, when given, the service URL to call
/// (else the WSDL's own `soap:address`).
async fn zeep_run(
    python: &common::install::Python,
    (wsdl, url): (&std::ffi::OsStr, Option<&str>),
    (cert, key): (&Path, &Path),
    ca: &Path,
    correlation_id: &str,
    expect_fault: bool,
) -> Run {
    let mut cmd = tokio::process::Command::from(python.command());
    cmd.arg(repo(SCRIPT)).arg("--wsdl").arg(wsdl);
    if let Some(url) = url {
        cmd.arg("--url").arg(url);
    }
    cmd.arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .arg("--ca")
        .arg(ca)
        .args(["--logical-address", "01"])
        .args(["--personnummer", PERSONNUMMER])
        .args(["--correlation-id", correlation_id])
        .arg("--debug")
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if expect_fault {
        cmd.arg("--expect-fault");
    }
    let child = cmd.spawn().expect("start python");
    let out = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("zeep_call.py did not finish within {TIMEOUT:?}"))
        .expect("wait for python");
    let run = Run {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!("{}", run.describe());
    run
}

#[tokio::test]
async fn zeep_loads_the_wsdl_and_calls_through_the_router() {
    assert!(
        repo(WSDL).is_file(),
        "the contract's WSDL is missing: {}",
        repo(WSDL).display()
    );
    let python = tokio::task::spawn_blocking(|| {
        common::install::python_with("zeep", "zeep", "python3-zeep")
    })
    .await
    .unwrap();

    let bed = start().await;
    let endpoints = bed.testbed.endpoints();
    let pki = &endpoints.pki;
    let url = format!(
        "{}{SERVICE_PATH}",
        endpoints.environments["sit"].router_https
    );
    assert!(url.starts_with("https://localhost:"), "{url}");

    // The default consumer is authorised for every county: the mock for 01 answers OK.
    let run = zeep_call(
        &python,
        &url,
        (&pki.consumer_cert, &pki.consumer_key),
        &pki.ca,
        "zeep-interop-ok",
        false,
    )
    .await;
    let answer = run.json();
    assert_eq!(answer["resultCode"], "OK", "{}", run.describe());
    // The router keeps the consumer's correlation id (else it makes a new one) and returns
    // it; --debug shows the answer's HTTP headers.
    assert!(
        run.stderr
            .to_ascii_lowercase()
            .contains("x-skltp-correlation-id: zeep-interop-ok"),
        "the router did not return our correlation id\n{}",
        run.describe()
    );

    let recorded = bed.testbed.recorder().for_address("01");
    assert_eq!(
        recorded.len(),
        1,
        "mock 01 should have one message: {recorded:?}"
    );
    let message = &recorded[0];
    assert!(
        message.body.contains(PERSONNUMMER),
        "the personnummer did not reach the producer: {}",
        message.body
    );
    assert_eq!(
        message.logical_address.as_deref(),
        Some("01"),
        "{message:?}"
    );
    let soapaction = message
        .headers
        .iter()
        .find(|(k, _)| k == "soapaction")
        .map(|(_, v)| v.trim_matches('"'))
        .unwrap_or_else(|| panic!("no soapaction reached the producer: {:?}", message.headers));
    assert!(
        soapaction.ends_with(":ProcessCervixScreeningInformation"),
        "soapaction {soapaction:?}"
    );

    // A valid certificate from the test CA, but no authorisation in TAK: VP007 as a Fault.
    let run = zeep_call(
        &python,
        &url,
        (&pki.unauthorised_cert, &pki.unauthorised_key),
        &pki.ca,
        "zeep-interop-vp007",
        true,
    )
    .await;
    let answer = run.json();
    let fault = answer["fault"]
        .as_str()
        .unwrap_or_else(|| panic!("no fault reported\n{}", run.describe()));
    assert!(fault.starts_with("VP007"), "{fault}\n{}", run.describe());
    assert_eq!(
        bed.testbed.recorder().for_address("01").len(),
        1,
        "the unauthorised call must not reach the producer"
    );

    bed.stop().await;
}

/// The acceptance of issue 11: zeep gets the WSDL from the router's URL alone (over mutual TLS
/// with the consumer's certificate), follows its `?xsd=` links to the schemas, and calls the
/// address the WSDL names, which is the router's: resultCode OK from the mock producer.
#[tokio::test]
async fn zeep_loads_the_wsdl_from_the_router_url_and_calls_the_address_it_names() {
    let python = tokio::task::spawn_blocking(|| {
        common::install::python_with("zeep", "zeep", "python3-zeep")
    })
    .await
    .unwrap();

    let bed = start().await;
    let endpoints = bed.testbed.endpoints();
    let pki = &endpoints.pki;
    let router = &endpoints.environments["sit"].router_https;
    let wsdl_url = format!("{router}{SERVICE_PATH}?wsdl");
    assert!(wsdl_url.starts_with("https://localhost:"), "{wsdl_url}");

    let run = zeep_run(
        &python,
        (std::ffi::OsStr::new(&wsdl_url), None),
        (&pki.consumer_cert, &pki.consumer_key),
        &pki.ca,
        "zeep-wsdl-from-router",
        false,
    )
    .await;
    let answer = run.json();
    assert_eq!(answer["resultCode"], "OK", "{}", run.describe());
    let recorded = bed.testbed.recorder().for_address("01");
    assert_eq!(
        recorded.len(),
        1,
        "mock 01 should have one message: {recorded:?}"
    );
    assert!(recorded[0].body.contains(PERSONNUMMER), "{:?}", recorded[0]);
    bed.stop().await;
}
