//! The `ntjp` binary as a user runs it: `serve` as in the README, the README's curl example,
//! SIGTERM, and `certs issue`.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

#[path = "common/install.rs"]
mod install;

const BIN: &str = env!("CARGO_BIN_EXE_ntjp");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Kills the child if the test fails half-way.
struct Serve(Child);
impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_file(path: &Path, child: &mut Child) -> String {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("ntjp serve exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{} was not written within 60 s", path.display());
}

#[test]
fn serve_as_in_the_readme_answers_the_curl_example_and_stops_on_sigterm() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains("cargo run --release -- serve"),
        "README's first command changed; update this test"
    );
    install::curl();
    let state = tempfile::tempdir().unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--ephemeral-ports", "--state-dir"])
        .arg(state.path())
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut serve = Serve(child);
    let endpoints: serde_json::Value = serde_json::from_str(&wait_for_file(
        &state.path().join("endpoints.json"),
        &mut serve.0,
    ))
    .unwrap();
    let sit = endpoints["environments"]["sit"]["router_https"]
        .as_str()
        .unwrap();
    let port = sit.rsplit(':').next().unwrap().trim_end_matches("/vp");

    // The example as printed, with the default state dir and port replaced by this run's.
    let example = readme_block("<!-- curl-example -->")
        .replace(".ntjp/", &format!("{}/", state.path().display()))
        .replace("localhost:20000", &format!("localhost:{port}"));
    let out = Command::new("bash")
        .arg("-c")
        .arg(&example)
        .current_dir(repo())
        .output()
        .unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "curl failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        body
    );
    let (code, _) = ntjp_testbed::contract::parse_response(body.as_bytes())
        .unwrap_or_else(|| panic!("not a contract response: {body}"));
    assert_eq!(code, ntjp_testbed::contract::ResultCode::Ok, "{body}");

    // SIGTERM: graceful stop, exit code 0.
    let pid = serve.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let status = loop {
        if let Some(s) = serve.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "ntjp serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status}");
    let mut banner = String::new();
    use std::io::Read;
    serve
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut banner)
        .unwrap();
    assert!(banner.contains("ntjp-testbed is ready"), "{banner}");
    assert!(banner.contains("curl --cert"), "{banner}");
}

#[test]
fn a_second_start_reuses_the_pki() {
    let state = tempfile::tempdir().unwrap();
    let pki = state.path().join("pki");
    let first = ntjp_testbed::pki::ensure_state_pki(&pki).unwrap();
    let ca = std::fs::read(&first.ca_cert).unwrap();
    let consumer = std::fs::read(&first.consumer.cert).unwrap();
    let second = ntjp_testbed::pki::ensure_state_pki(&pki).unwrap();
    assert_eq!(std::fs::read(&second.ca_cert).unwrap(), ca);
    assert_eq!(std::fs::read(&second.consumer.cert).unwrap(), consumer);
}

#[test]
fn certs_issue_writes_pem_key_and_p12_signed_by_the_state_ca() {
    let state = tempfile::tempdir().unwrap();
    let out_dir = state.path().join("out");
    let out = Command::new(BIN)
        .args(["certs", "issue", "--hsa-id", "SE2321000016-ABCD", "--out"])
        .arg(&out_dir)
        .arg("--state-dir")
        .arg(state.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = std::fs::read(out_dir.join("SE2321000016-ABCD.pem")).unwrap();
    assert!(out_dir.join("SE2321000016-ABCD-key.pem").exists());
    assert!(out_dir.join("SE2321000016-ABCD.p12").exists());
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(&pem)
        .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
        .unwrap();
    assert_eq!(
        ntjp_testbed::pki::hsa_id_from_der(&der).unwrap().as_deref(),
        Some("SE2321000016-ABCD")
    );

    let bad = Command::new(BIN)
        .args(["certs", "issue", "--hsa-id", "SE 2321", "--out"])
        .arg(&out_dir)
        .arg("--state-dir")
        .arg(state.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("SE 2321"),
        "the error must name the input: {err}"
    );
}

#[test]
fn config_show_prints_the_effective_configuration() {
    let out = Command::new(BIN).args(["config", "show"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("platform = \"NTJP-TEST\""), "{text}");
    assert!(text.contains("max_request_bytes = 15728640"), "{text}");
}

/// The fenced ```sh block after `marker` in the README.
fn readme_block(marker: &str) -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find(marker)
        .unwrap_or_else(|| panic!("README has a {marker} marker"));
    let rest = &readme[start..];
    let open = rest
        .find("```sh\n")
        .expect("a ```sh block after the marker")
        + 6;
    let close = rest[open..].find("```").unwrap();
    rest[open..open + close].to_string()
}

/// Runs the README's ```sh block after `marker` against a spawned `ntjp serve`, as printed
/// (`ntjp` is this build's binary; the commands find the testbed through NTJP_STATE_DIR), and
/// returns its stdout after asserting that it succeeded.
fn run_readme_block(marker: &str) -> String {
    let state = tempfile::tempdir().unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--ephemeral-ports", "--state-dir"])
        .arg(state.path())
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut serve = Serve(child);
    wait_for_file(&state.path().join("endpoints.json"), &mut serve.0);
    let script = format!(
        "set -e\nntjp() {{ {BIN:?} \"$@\"; }}\n{}",
        readme_block(marker)
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(repo())
        .env("NTJP_STATE_DIR", state.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README block {marker} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[test]
fn the_readme_order_workflow_works_as_printed() {
    let stdout = run_readme_block("<!-- order-workflow -->");
    assert!(
        stdout.contains("Registered system SE2321000016-ABCD"),
        "{stdout}"
    );
    assert!(stdout.contains("Nyskapad"), "{stdout}");
    assert!(stdout.contains("refused, as it should be"), "{stdout}");
    assert!(stdout.contains("today is 2026-12-01"), "{stdout}");
    assert!(
        stdout.contains("SE2321000131-E000000000001"),
        "the replaced route is in TAK: {stdout}"
    );
}

#[test]
fn the_readme_mock_workflow_works_as_printed() {
    let stdout = run_readme_block("<!-- mock-workflow -->");
    assert!(
        stdout.contains("Mock 14 now answers: error \"Mottagande system är stängt.\""),
        "{stdout}"
    );
    assert!(stdout.contains("Västra Götalandsregionen"), "{stdout}");
    assert!(stdout.contains("0 message(s)"), "{stdout}");
    assert!(stdout.contains("not verified yet"), "{stdout}");
}

#[test]
fn the_readme_trigger_table_is_the_built_in_one() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("<!-- trigger-table -->").unwrap();
    let rows: Vec<String> = readme[start..]
        .lines()
        .skip(3)
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.split('`').nth(1).unwrap().to_string())
        .collect();
    let built_in: Vec<String> = ntjp_testbed::mocks::behaviour::default_triggers()
        .into_iter()
        .map(|t| t.personnummer)
        .collect();
    assert_eq!(rows, built_in);
}

#[test]
fn the_readme_mock_config_is_read_by_config_show() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("```toml\n[mock_producers").unwrap() + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ntjp.toml");
    std::fs::write(&file, &readme[start..end]).unwrap();
    let out = Command::new(BIN)
        .args(["config", "show", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Mottagande system är stängt."), "{text}");
    assert!(text.contains("\"123456789\""), "{text}");
    assert!(text.contains("delay_ms = 3000"), "{text}");
    // A mistake in the file is named with its key.
    std::fs::write(
        &file,
        "[mock_producers.behaviours.\"14\"]\nanswer = \"explode\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["config", "show", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("explode"), "{err}");
}
