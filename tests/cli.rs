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
fn certs_init_creates_the_pki_a_split_testbed_shares_and_keeps_it() {
    let state = tempfile::tempdir().unwrap();
    let shared = state.path().join("shared-pki");
    let init = || {
        let out = Command::new(BIN)
            .args(["certs", "init", "--json", "--state-dir"])
            .arg(state.path())
            .env("NTJP_PKI__DIR", &shared)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let first = init();
    assert_eq!(first["dir"], shared.display().to_string());
    let ca = std::fs::read(shared.join("ca.pem")).unwrap();
    for f in [
        "platform.pem",
        "platform-key.pem",
        "consumer.pem",
        "consumer.p12",
        "truststore.p12",
    ] {
        assert!(shared.join(f).exists(), "{f} missing: {first}");
    }
    // Again: nothing is replaced; the same CA.
    let second = init();
    assert_eq!(first["files"], second["files"]);
    assert_eq!(std::fs::read(shared.join("ca.pem")).unwrap(), ca);
    assert!(
        !state.path().join("pki").exists(),
        "pki.dir is where it goes"
    );
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
        .arg("--create-ca")
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
    let built_in: Vec<String> = ntjp_testbed::config::mocks::default_triggers()
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

/// Runs `ntjp args` with no NTJP_* variables from the caller's environment.
fn ntjp(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("NTJP_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(args).current_dir(repo()).output().unwrap()
}

fn code(out: &std::process::Output) -> i32 {
    out.status.code().expect("exited, not killed")
}

#[test]
fn a_cli_error_prints_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let out = ntjp(&["config", "show", "--config", missing.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("missing.toml"), "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
    let out = ntjp(&["order", "apply", missing.to_str().unwrap(), "--env", "sit"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 2, "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

/// A loopback port nothing listens on.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn exit_status_without_a_testbed_is_3_and_usage_errors_are_2() {
    let admin = closed_port_url();
    let unreachable: [&[&str]; 8] = [
        &["order", "list", "--env", "sit"],
        &["order", "show", "--env", "sit", "1"],
        &["tak", "show", "--env", "sit", "--version", "1"],
        &["tak", "versions", "--env", "sit", "--json"],
        &["clock", "--env", "qa"],
        &["mocks", "list"],
        &["mocks", "messages", "14", "--json"],
        &["verify", "consumer", "--env", "sit", "--hsa-id", "SE1"],
    ];
    for args in unreachable {
        let mut args = args.to_vec();
        args.extend(["--admin", &admin]);
        let out = ntjp(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(code(&out), 3, "{args:?}: {err}");
        assert!(err.contains("cannot reach"), "{args:?}: {err}");
    }
    for args in [
        &["order", "list"][..],
        &["tak", "show", "--env", "nowhere"],
        &["config", "show", "--no-such-flag"],
    ] {
        assert_eq!(code(&ntjp(args)), 2, "{args:?}");
    }
    // A configuration error names the key and the variable that set it.
    let out = Command::new(BIN)
        .args(["config", "show"])
        .env("NTJP_ROUTER__MAX_REQUEST_BYTES", "lots")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("router.max_request_bytes"), "{err}");
    assert!(err.contains("NTJP_ROUTER__MAX_REQUEST_BYTES"), "{err}");
    // An order checked offline and refused: a check failed.
    let out = ntjp(&[
        "order",
        "apply",
        "fixtures/orders/examples/exclude-route-25.json",
        "--env",
        "qa",
        "--offline",
        "--json",
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["valid"], false, "{answer}");
    assert!(
        answer["messages"][0]
            .as_str()
            .unwrap()
            .contains("NTJP-TEST")
    );
}

#[test]
fn config_show_layers_a_partial_file_and_variables_and_names_the_sources() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ntjp.toml");
    std::fs::write(&file, "[environments.qa]\ninstance_name = \"QA-1\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["config", "show", "--sources", "--config"])
        .arg(&file)
        .env("NTJP_MOCK_PRODUCERS__MAX_RECORDING_BYTES", "1048576")
        .env_remove("NTJP_STATE_DIR")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = format!(
        "environments.qa.instance_name = \"QA-1\"  # {}:2",
        file.display()
    );
    assert!(text.contains(&line), "{text}");
    assert!(
        text.contains("environments.qa.platform = \"NTJP-QA\"  # default"),
        "{text}"
    );
    assert!(
        text.contains(
            "mock_producers.max_recording_bytes = 1048576  # environment variable NTJP_MOCK_PRODUCERS__MAX_RECORDING_BYTES"
        ),
        "{text}"
    );
    let out = ntjp(&["config", "show", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["environments"]["sit"]["platform"], "NTJP-TEST");
}

#[test]
fn exit_status_and_json_against_a_running_testbed() {
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
    let dir = state.path().to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--state-dir", &dir]);
        ntjp(&args)
    };
    // Data as JSON, exit 0.
    for args in [
        &["tak", "show", "--env", "sit", "--json"][..],
        &["tak", "show", "--env", "sit", "--version", "1", "--json"],
        &["tak", "show", "--env", "sit", "--snapshot", "1", "--json"],
        &["tak", "versions", "--env", "sit", "--json"],
        &["order", "list", "--env", "sit", "--json"],
        &["clock", "--env", "sit", "--json"],
        &["mocks", "list", "--json"],
        &["mocks", "triggers", "--json"],
    ] {
        let out = run(args);
        assert_eq!(
            code(&out),
            0,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?} did not print JSON: {e}"));
    }
    // Refused by the testbed: 4.
    for args in [
        &["order", "show", "--env", "sit", "999999"][..],
        &["tak", "show", "--env", "sit", "--version", "999999"],
        &["tak", "rollback", "--env", "sit", "--version", "999999"],
    ] {
        let out = run(args);
        assert_eq!(
            code(&out),
            4,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // TAK checked the order and refused it (it is for NTJP-TEST): 1, and --json prints
    // TAK's answer.
    let out = run(&[
        "order",
        "apply",
        "fixtures/orders/examples/exclude-route-25.json",
        "--env",
        "qa",
        "--json",
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(answer["messages"].is_array(), "{answer}");
    // A verification with failed cases: 1, its report as JSON.
    let out = run(&[
        "verify",
        "consumer",
        "--env",
        "sit",
        "--hsa-id",
        "SE2321000016-NONE",
        "--json",
    ]);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["cases"].is_array(), "{report}");
}
