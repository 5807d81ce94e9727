//! `ntjp load` against the real router (in-process testbed, real mutual TLS, ephemeral ports):
//! the counts it reports for OK answers, VP faults, other HTTP statuses and transport errors,
//! each connection mode, the open model, plain HTTP with the internal headers, and the binary
//! with `--json` and `--hdr`. Runs are small; they assert counts, never speed.

mod common;

use std::{path::Path, time::Duration};

use common::*;
use ntjp_testbed::load::{self, LoadConfig, Mode, TlsSettings, TlsVersion, summary::Summary};

const CONTRACT_PATH: &str = load::args::CONTRACT_PATH;

/// A config for the SIT router over mutual TLS as the given identity, `requests` requests.
fn https(bed: &Bed, identity: (&Path, &Path), requests: u64) -> LoadConfig {
    let url = format!(
        "{}{CONTRACT_PATH}",
        bed.testbed.endpoints().environments["sit"].router_https
    );
    let mut c = LoadConfig::new(url.parse().unwrap());
    c.tls = Some(TlsSettings {
        ca: bed.ca(),
        identity: Some((identity.0.to_path_buf(), identity.1.to_path_buf())),
        version: None,
        group: None,
    });
    c.duration = None;
    c.requests = Some(requests);
    c.connections = 4;
    c.timeout = Duration::from_secs(20);
    c.seed = Some(8);
    c
}

fn consumer(bed: &Bed) -> (std::path::PathBuf, std::path::PathBuf) {
    let p = &bed.testbed.endpoints().pki;
    (p.consumer_cert.clone(), p.consumer_key.clone())
}

async fn run(c: LoadConfig) -> Summary {
    load::run(c).await.unwrap().summary
}

fn only_ok(s: &Summary, n: u64) {
    assert_eq!(s.requests, n, "{s:#?}");
    assert_eq!(s.status.get("200"), Some(&n), "{s:#?}");
    assert_eq!(s.status.len(), 1, "{s:#?}");
    assert!(s.vp.is_empty() && s.transport_errors.is_empty(), "{s:#?}");
    assert!(s.latency_us.p50 > 0, "{s:#?}");
}

#[tokio::test]
async fn keep_alive_over_mtls_spreads_the_counties_with_valid_personnummer() {
    let bed = start().await;
    let (cert, key) = consumer(&bed);
    let mut c = https(&bed, (&cert, &key), 105); // 21 counties x 5
    c.warmup = Duration::from_millis(200);
    let s = run(c).await;
    only_ok(&s, 105);
    assert_eq!(s.mode, "keep-alive");
    assert_eq!(s.model, "closed");
    assert!(s.connections_opened <= 4, "{s:#?}");
    let tls = s.tls.as_ref().unwrap();
    assert_eq!(tls.version, "TLSv1_3");
    assert_eq!(tls.group, "X25519MLKEM768", "rustls' default group");
    // The mocks got every county five times (plus the warm-up) with valid personnummer.
    for (county, _) in ntjp_testbed::contract::COUNTY_CODES {
        let got = bed.testbed.recorder().for_address(county);
        assert!(got.len() >= 5, "{county}: {}", got.len());
        for r in got {
            let p = r.personnummer.as_deref().unwrap();
            assert!(load::template::is_valid_personnummer(p), "{p}");
            assert_eq!(r.logical_address.as_deref(), Some(county));
        }
    }
    bed.stop().await;
}

#[tokio::test]
async fn vp004_from_a_template_spread_and_vp007_for_the_unauthorised() {
    let bed = start().await;
    let (cert, key) = consumer(&bed);
    let mut c = https(&bed, (&cert, &key), 100);
    c.addresses = vec!["01".into(), "99".into()];
    let s = run(c).await;
    assert_eq!(s.status.get("200"), Some(&50), "{s:#?}");
    assert_eq!(s.status.get("500"), Some(&50), "{s:#?}");
    assert_eq!(s.vp.get("VP004"), Some(&50), "{s:#?}");
    assert_eq!(s.vp.len(), 1, "{s:#?}");

    let p = &bed.testbed.endpoints().pki;
    let (cert, key) = (p.unauthorised_cert.clone(), p.unauthorised_key.clone());
    let s = run(https(&bed, (&cert, &key), 42)).await;
    assert_eq!(s.status.get("500"), Some(&42), "{s:#?}");
    assert_eq!(s.vp.get("VP007"), Some(&42), "{s:#?}");
    assert_eq!(s.errors, 0);
    bed.stop().await;
}

#[tokio::test]
async fn other_statuses_and_transport_errors_are_counted_by_kind() {
    let bed = start().await;
    let (cert, key) = consumer(&bed);
    let mut c = https(&bed, (&cert, &key), 30);
    let base = &bed.testbed.endpoints().environments["sit"].router_https;
    c.url = base.replace("/vp", "/not-vp/x").parse().unwrap();
    let s = run(c).await;
    assert_eq!(s.status.get("404"), Some(&30), "{s:#?}");
    assert!(s.vp.is_empty(), "{s:#?}");

    // Nothing listens: connect errors.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut c = https(&bed, (&cert, &key), 6);
    c.url = format!("https://localhost:{port}/vp").parse().unwrap();
    let s = run(c).await;
    assert_eq!(s.answered, 0);
    assert_eq!(s.transport_errors["connect"].count, 6, "{s:#?}");

    // A client that trusts the wrong CA: TLS errors.
    let mut c = https(&bed, (&cert, &key), 5);
    c.tls.as_mut().unwrap().ca = cert.clone();
    let s = run(c).await;
    assert_eq!(s.transport_errors["tls"].count, 5, "{s:#?}");
    assert!(
        s.transport_errors["tls"].first.contains("certificate"),
        "{s:#?}"
    );
    bed.stop().await;
}

#[tokio::test]
async fn resumed_and_full_handshakes_open_a_connection_per_request() {
    let bed = start().await;
    let (cert, key) = consumer(&bed);

    let mut c = https(&bed, (&cert, &key), 40);
    c.mode = Mode::Resume;
    c.tls.as_mut().unwrap().group = Some("x25519".into());
    let s = run(c).await;
    only_ok(&s, 40);
    assert_eq!(s.connections_opened, 40, "{s:#?}");
    assert_eq!(s.tls_full_handshakes + s.tls_resumed_handshakes, 40);
    // Only the first connections, opened before any ticket arrived, are full handshakes.
    assert!(s.tls_full_handshakes <= 4, "{s:#?}");
    assert_eq!(s.tls.as_ref().unwrap().group, "X25519");

    let mut c = https(&bed, (&cert, &key), 20);
    c.mode = Mode::Full;
    let tls = c.tls.as_mut().unwrap();
    tls.version = Some(TlsVersion::Tls12);
    tls.group = Some("secp256r1".into());
    let s = run(c).await;
    only_ok(&s, 20);
    assert_eq!(s.tls_full_handshakes, 20, "{s:#?}");
    assert_eq!(s.tls_resumed_handshakes, 0);
    let tls = s.tls.as_ref().unwrap();
    assert_eq!(
        (tls.version.as_str(), tls.group.as_str()),
        ("TLSv1_2", "secp256r1")
    );

    let mut c = https(&bed, (&cert, &key), 1);
    c.tls.as_mut().unwrap().group = Some("x448".into());
    let e = load::run(c).await.unwrap_err().to_string();
    assert!(e.starts_with("--tls-group: x448 is not one of"), "{e}");
    bed.stop().await;
}

#[tokio::test]
async fn open_model_sends_at_the_rate() {
    let bed = start().await;
    let (cert, key) = consumer(&bed);
    let mut c = https(&bed, (&cert, &key), 60);
    c.rate = Some(200.0);
    let s = run(c).await;
    only_ok(&s, 60);
    assert_eq!(s.model, "open");
    // The 60th request is due 59/200 s after the first: the run cannot be shorter.
    assert!(s.duration_s >= 0.28, "{s:#?}");
    bed.stop().await;
}

#[tokio::test]
async fn plain_http_with_internal_headers_and_a_correlation_id_template() {
    let bed = start().await;
    let e = bed.testbed.endpoints();
    let sit = &e.environments["sit"];
    let mut c = LoadConfig::new(
        format!("{}{CONTRACT_PATH}", sit.router_http)
            .parse()
            .unwrap(),
    );
    c.headers = vec![
        (
            "x-vp-sender-id".parse().unwrap(),
            e.pki.consumer_hsa_id.parse().unwrap(),
        ),
        (
            "x-vp-instance-id".parse().unwrap(),
            sit.instance_id.parse().unwrap(),
        ),
    ];
    let template = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/requests/load/cervix-correlation-id.xml"),
    )
    .unwrap();
    c.bodies = vec![load::BodyFile {
        name: "cervix-correlation-id.xml".into(),
        text: template,
    }];
    c.addresses = vec!["03".into()];
    c.duration = None;
    c.requests = Some(20);
    c.connections = 2;
    let s = run(c.clone()).await;
    only_ok(&s, 20);
    assert!(s.tls.is_none());
    // The id in the body reached the mock as the correlation id header too.
    let got = bed.testbed.recorder().for_address("03");
    assert_eq!(got.len(), 20);
    for r in &got {
        let id = r.correlation_id.as_deref().unwrap();
        assert!(r.body.contains(&format!("correlation id {id}")), "{id}");
    }

    // Without the instance id the router needs a certificate: VP002.
    c.headers.truncate(1);
    c.mode = Mode::Full;
    let s = run(c).await;
    assert_eq!(s.vp.get("VP002"), Some(&20), "{s:#?}");
    assert_eq!(s.connections_opened, 20);
    bed.stop().await;
}

#[tokio::test]
async fn the_binary_prints_json_and_writes_an_hdr_interval_log() {
    let bed = start().await;
    let state = bed.dir.path().join("state");
    let hdr = bed.dir.path().join("latency.hlog");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ntjp"))
        .args(["load", "--state-dir"])
        .arg(&state)
        .args([
            "-n",
            "42",
            "-c",
            "3",
            "--tls13",
            "--tls-group",
            "x25519",
            "--json",
            "--hdr",
        ])
        .arg(&hdr)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no progress when stderr is not a terminal"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["status"]["200"], 42, "{json:#}");
    assert_eq!(json["requests"], 42);
    assert_eq!(json["tls"]["group"], "X25519");
    assert!(json["latency_us"]["p99"].as_u64().unwrap() > 0);
    assert!(json["cpu"]["us_per_request"].as_f64().is_some(), "{json:#}");

    // The interval log holds every measured answer.
    let log = std::fs::read(&hdr).unwrap();
    let mut total = 0;
    for entry in hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&log) {
        if let hdrhistogram::serialization::interval_log::LogEntry::Interval(i) = entry.unwrap() {
            let bytes = base64_decode(i.encoded_histogram());
            let h: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
                .deserialize(&mut &bytes[..])
                .unwrap();
            total += h.len();
        }
    }
    assert_eq!(total, 42);

    // Plain HTTP as an internal caller (ids from endpoints.json), and with x-vp-auth-cert.
    for extra in [&["--http"][..], &["--http", "--auth-cert"][..]] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ntjp"))
            .args(["load", "--state-dir"])
            .arg(&state)
            .args(["-n", "10", "-c", "1", "--json"])
            .args(extra)
            .output()
            .await
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(json["status"]["200"], 10, "{extra:?}: {json:#}");
        assert!(
            json["url"].as_str().unwrap().starts_with("http://"),
            "{json:#}"
        );
    }

    // Errors name the flag.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ntjp"))
        .args(["load", "--state-dir"])
        .arg(&state)
        .args(["--body", "no-such-file.xml"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--body no-such-file.xml"), "{err}");
    bed.stop().await;
}

#[tokio::test]
async fn the_readme_examples_work_as_printed() {
    let bed = start().await;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let block = readme
        .split("<!-- load-examples -->\n```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README has the load examples");
    let script = format!(
        "set -e\nntjp() {{ {:?} \"$@\"; }}\n{block}",
        env!("CARGO_BIN_EXE_ntjp")
    );
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(repo)
        .env("NTJP_STATE_DIR", bed.dir.path().join("state"))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("HTTP status  200: 420"), "{stdout}");
    assert!(
        stdout.contains("40 opened while measuring (40 full TLS handshakes, 0 resumed)"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("target/load.json")).unwrap())
            .unwrap();
    assert_eq!(json["vp"]["VP004"], 100, "{json:#}");
    assert!(repo.join("target/load.hlog").exists());
    bed.stop().await;
}

/// Standard base64 (the interval log's encoding), without a dependency for it.
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = s.bytes().filter(|c| *c != b'=').collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= u32::from(val(*c)) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

/// Two load generators' `--hdr` logs merged into one report (`ntjp load merge`): every answer
/// of both is counted once, and the merged percentiles lie within the two runs' own.
#[tokio::test]
async fn two_generators_logs_merge_into_one_report() {
    let bed = start().await;
    let state = bed.dir.path().join("state");
    let mut runs = Vec::new();
    let mut logs = Vec::new();
    for (name, n) in [("a.hlog", "30"), ("b.hlog", "50")] {
        let hdr = bed.dir.path().join(name);
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ntjp"))
            .args(["load", "--state-dir"])
            .arg(&state)
            .args(["-n", n, "-c", "2", "--json", "--hdr"])
            .arg(&hdr)
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        runs.push(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap());
        logs.push(hdr);
    }
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ntjp"))
        .args(["load", "merge", "--json"])
        .args(&logs)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(merged["answered"], 80, "{merged:#}");
    assert_eq!(merged["logs"][0]["answered"], 30, "{merged:#}");
    assert_eq!(merged["logs"][1]["answered"], 50, "{merged:#}");
    let p99 = |v: &serde_json::Value| v["latency_us"]["p99"].as_u64().unwrap();
    let max = |v: &serde_json::Value| v["latency_us"]["max"].as_u64().unwrap();
    assert!(p99(&merged) > 0, "{merged:#}");
    // The merged maximum is the larger run's maximum (the log keeps 3 significant figures).
    let highest = max(&runs[0]).max(max(&runs[1])) as f64;
    assert!(
        (max(&merged) as f64 - highest).abs() <= highest * 0.002 + 1.0,
        "{merged:#} {runs:#?}"
    );
    assert!(
        merged["requests_per_s"].as_f64().unwrap() > 0.0,
        "{merged:#}"
    );

    // The text report names each file; a file that is not a log is named with the reason.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ntjp"))
        .args(["load", "merge"])
        .args(&logs)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("a.hlog: 30 answered") && text.contains("All 2 logs: 80 answered"),
        "{text}"
    );
    let not_a_log = bed.dir.path().join("not-a-log.hlog");
    std::fs::write(&not_a_log, "hello\n").unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ntjp"))
        .args(["load", "merge"])
        .arg(&logs[0])
        .arg(&not_a_log)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not-a-log.hlog"), "{err}");
    bed.stop().await;
}
