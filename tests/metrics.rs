//! `GET /metrics` on the admin listener (issue 12, point 1), against the running testbed:
//! Prometheus' own Python parser (`prometheus_client.parser`, installed by the test into a
//! virtual environment) reads the whole output, and the counters move by exactly what the
//! test sent: routed calls and VP faults per label set, latency histograms, a refused TLS
//! handshake, an accepted and a refused order, a mock's verdict, and the cap on label values.

mod common;

use std::{collections::BTreeMap, io::Write as _, process::Stdio};

use common::{install::Python, *};
use http::StatusCode;
use ntjp_testbed::cli::client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every sample of one scrape: (sample name, labels) → value.
#[derive(Debug, Default)]
struct Samples(BTreeMap<(String, BTreeMap<String, String>), f64>);

impl Samples {
    /// The sample with exactly these labels (0 when absent: a counter not yet moved).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.0
            .get(&(name.to_string(), labels))
            .copied()
            .unwrap_or(0.0)
    }

    /// The sum of every sample of `name` whose labels include `having`.
    fn sum(&self, name: &str, having: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|((n, labels), _)| {
                n == name
                    && having
                        .iter()
                        .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, v)| v)
            .sum()
    }

    /// Every value the label `label` takes in samples of `name`.
    fn values_of(&self, name: &str, label: &str) -> Vec<String> {
        self.0
            .keys()
            .filter(|(n, _)| n == name)
            .filter_map(|(_, labels)| labels.get(label).cloned())
            .collect()
    }
}

/// Python with `prometheus_client` (installed into `target/tmp`'s virtual environment).
async fn prometheus_parser() -> Python {
    tokio::task::spawn_blocking(|| {
        common::install::python_with(
            "prometheus_client",
            "prometheus-client",
            "python3-prometheus-client",
        )
    })
    .await
    .unwrap()
}

/// Reads the whole text with `prometheus_client.parser.text_string_to_metric_families`
/// (which raises on anything it cannot parse) and returns its samples.
const PARSE: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    assert family.type in ("counter", "gauge", "histogram"), (family.name, family.type)
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
json.dump(out, sys.stdout)
"#;

/// `GET /metrics` through the admin gate, checked by the Python parser.
async fn scrape(bed: &Bed, python: &Python) -> Samples {
    let admin = addr_of(&bed.testbed.endpoints().admin);
    let mut tcp = tokio::net::TcpStream::connect(admin).await.unwrap();
    let request = format!("GET /metrics HTTP/1.1\r\nhost: {admin}\r\nconnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, text) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\ncontent-type: text/plain; version=0.0.4; charset=utf-8\r\n"),
        "{head}"
    );
    let text = text.to_string();
    let python = python.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        let mut child = python
            .command()
            .args(["-c", PARSE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "prometheus_client's parser refused /metrics: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    })
    .await
    .unwrap();
    let rows: Vec<(String, BTreeMap<String, String>, f64)> =
        serde_json::from_slice(&parsed).unwrap();
    let mut samples = Samples::default();
    for (name, labels, value) in rows {
        let key = (name, labels);
        assert!(
            !samples.0.contains_key(&key),
            "a series appears twice: {key:?}"
        );
        samples.0.insert(key, value);
    }
    samples
}

fn sit(bed: &Bed) -> std::net::SocketAddr {
    bed.https_addr("sit")
}

const REQUESTS: &str = "ntjp_requests_total";

#[tokio::test]
async fn routed_calls_and_faults_move_their_counters_by_exactly_what_was_sent() {
    let python = prometheus_parser().await;
    let bed = start().await;
    let pki = bed.testbed.endpoints().pki.clone();
    let (consumer, stranger) = (
        pki.consumer_hsa_id.as_str(),
        pki.unauthorised_hsa_id.as_str(),
    );
    let before = scrape(&bed, &python).await;

    for _ in 0..3 {
        let a = bed
            .consumer()
            .post(sit(&bed), cervix_request("14"), &[])
            .await
            .unwrap();
        assert_ok(&a);
    }
    for _ in 0..2 {
        bed.unauthorised()
            .post(sit(&bed), cervix_request("14"), &[])
            .await
            .unwrap()
            .vp("VP007");
    }
    bed.consumer()
        .post(sit(&bed), cervix_request("NO-ROUTE-HERE"), &[])
        .await
        .unwrap()
        .vp("VP004");

    let after = scrape(&bed, &python).await;
    fn series<'a>(address: &'a str, who: &'a str, outcome: &'a str) -> [(&'a str, &'a str); 5] {
        [
            ("env", "sit"),
            ("contract", CONTRACT),
            ("address", address),
            ("consumer", who),
            ("outcome", outcome),
        ]
    }
    let moved =
        |labels: &[(&str, &str)]| after.get(REQUESTS, labels) - before.get(REQUESTS, labels);
    assert_eq!(moved(&series("14", consumer, "OK")), 3.0);
    assert_eq!(moved(&series("14", stranger, "VP007")), 2.0);
    assert_eq!(moved(&series("NO-ROUTE-HERE", consumer, "VP004")), 1.0);
    assert_eq!(
        after.sum(REQUESTS, &[]) - before.sum(REQUESTS, &[]),
        6.0,
        "only the six calls sent were counted"
    );

    // Every answered request has its router latency, only the three routed ones a producer's.
    let sit_contract = [("env", "sit"), ("contract", CONTRACT)];
    let count_moved = |name: &str| after.get(name, &sit_contract) - before.get(name, &sit_contract);
    assert_eq!(count_moved("ntjp_request_duration_seconds_count"), 6.0);
    assert_eq!(count_moved("ntjp_producer_duration_seconds_count"), 3.0);
    let inf = [("env", "sit"), ("contract", CONTRACT), ("le", "+Inf")];
    assert_eq!(
        after.get("ntjp_request_duration_seconds_bucket", &inf),
        after.get("ntjp_request_duration_seconds_count", &sit_contract)
    );
    assert!(after.get("ntjp_request_duration_seconds_sum", &sit_contract) > 0.0);

    // The mock behind address 14 judged the three routed messages valid.
    let valid = [("address", "14"), ("verdict", "valid")];
    assert_eq!(
        after.get("ntjp_mock_verdicts_total", &valid)
            - before.get("ntjp_mock_verdicts_total", &valid),
        3.0
    );
    // Each call came on a connection of its own: six handshakes on SIT's HTTPS listener.
    let https = [("listener", "sit-https")];
    assert_eq!(
        after.get("ntjp_tls_handshakes_total", &https)
            - before.get("ntjp_tls_handshakes_total", &https),
        6.0
    );
    // This scrape's own connection is open.
    assert!(after.get("ntjp_open_connections", &[("listener", "admin")]) >= 1.0);
    bed.stop().await;
}

/// Waits until SIT's HTTPS listener has counted `n` failed handshakes for `reason` (the
/// server counts once its side of the handshake has failed, after the client may have
/// returned).
async fn wait_for_failures(bed: &Bed, python: &Python, reason: &str, n: f64) {
    let failed = [("listener", "sit-https"), ("reason", reason)];
    wait_for(
        &format!("{n} failed handshakes ({reason}) counted"),
        || async {
            scrape(bed, python)
                .await
                .get("ntjp_tls_handshake_failures_total", &failed)
                == n
        },
    )
    .await;
}

#[tokio::test]
async fn failed_handshakes_are_counted_by_their_reason() {
    let python = prometheus_parser().await;
    let bed = start().await;
    let before = scrape(&bed, &python).await;
    for reason in [
        "no_client_certificate",
        "unknown_ca",
        "timeout",
        "protocol_error",
        "other",
    ] {
        let labels = [("listener", "sit-https"), ("reason", reason)];
        assert_eq!(
            before.get("ntjp_tls_handshake_failures_total", &labels),
            0.0,
            "every reason is listed from the start: {reason}"
        );
    }

    // No client certificate.
    let anonymous = Client::new(&bed.ca(), None);
    let refused = anonymous
        .post(sit(&bed), cervix_request("14"), &[])
        .await
        .expect_err("a client without a certificate is refused");
    assert!(!refused.is_empty());
    wait_for_failures(&bed, &python, "no_client_certificate", 1.0).await;

    // A certificate from another CA.
    let other = ntjp_testbed::pki::Ca::generate("Some other CA").unwrap();
    let cert = other
        .issue(&ntjp_testbed::pki::CertRequest::function(
            "SE2321000016-EVIL",
        ))
        .unwrap();
    let (c, k) = cert.write(bed.dir.path(), "evil").unwrap();
    let foreign = Client::new(&bed.ca(), Some((&c, &k)));
    assert!(
        foreign
            .post(sit(&bed), cervix_request("14"), &[])
            .await
            .is_err()
    );
    wait_for_failures(&bed, &python, "unknown_ca", 1.0).await;

    // Plain HTTP to the TLS port: not a TLS record.
    let mut tcp = tokio::net::TcpStream::connect(sit(&bed)).await.unwrap();
    tcp.write_all(b"POST /vp HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut ignored = Vec::new();
    let _ = tcp.read_to_end(&mut ignored).await;
    wait_for_failures(&bed, &python, "protocol_error", 1.0).await;

    // Silence: the handshake's deadline (router.client_read_timeout_ms, 1 s in the tests).
    let silent = tokio::net::TcpStream::connect(sit(&bed)).await.unwrap();
    wait_for_failures(&bed, &python, "timeout", 1.0).await;
    drop(silent);

    let after = scrape(&bed, &python).await;
    assert_eq!(
        after.sum("ntjp_tls_handshake_failures_total", &[]),
        4.0,
        "no other failure"
    );
    assert_eq!(
        after.get("ntjp_tls_handshakes_total", &[("listener", "sit-https")]),
        0.0
    );
    assert_eq!(after.sum(REQUESTS, &[]), 0.0, "no request reached a router");
    bed.stop().await;
}

#[tokio::test]
async fn accepted_and_refused_orders_and_the_published_version_show() {
    let python = prometheus_parser().await;
    let bed = start().await;
    let admin = bed.testbed.endpoints().admin.clone();
    let before = scrape(&bed, &python).await;
    let sit_env = [("env", "sit")];
    let version = before.get("ntjp_tak_version", &sit_env);
    assert!(version >= 1.0, "SIT has a published TAK at start");
    assert!(before.get("ntjp_tak_published_timestamp_seconds", &sit_env) > 1.7e9);

    let order = order(
        today(),
        &format!(
            r#"{{"vagval": [{{"adress": "{{{{mocks}}}}/25/ProcessCervixScreeningInformation/1/rivtabp21?metrics", "logiskAdress": "25", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK25"}}]}}"#
        ),
        "{}",
    );
    let accepted = client::post(&format!("{admin}/api/sit/orders"), order.into_bytes())
        .await
        .unwrap();
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.json);
    let refused = client::post(
        &format!("{admin}/api/sit/orders"),
        b"this is not an order".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.json);

    let after = scrape(&bed, &python).await;
    let moved = |result: &str| {
        let labels = [("env", "sit"), ("result", result)];
        after.get("ntjp_orders_total", &labels) - before.get("ntjp_orders_total", &labels)
    };
    assert_eq!(moved("accepted"), 1.0);
    assert_eq!(moved("refused"), 1.0);
    assert_eq!(
        after.sum("ntjp_orders_total", &[]) - before.sum("ntjp_orders_total", &[]),
        2.0
    );
    // Published at once (auto-publish): the version moved on by one.
    assert_eq!(after.get("ntjp_tak_version", &sit_env), version + 1.0);
    bed.stop().await;
}

#[tokio::test]
async fn a_mock_verdict_with_violations_and_the_cap_on_label_values() {
    let python = prometheus_parser().await;
    let bed = start_with(|c, _| c.metrics.max_label_values = 2).await;
    let consumer_id = bed.testbed.endpoints().pki.consumer_hsa_id.clone();
    let consumer = bed.consumer();

    // A personnummer of ten digits: the mock answers ERROR and records the violation.
    let invalid = ntjp_testbed::contract::request(
        "14",
        ntjp_testbed::soap::Profile::Bp21,
        "7609202387",
        "12",
    );
    let a = consumer.post(sit(&bed), invalid, &[]).await.unwrap();
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Five addresses without a route: with "14" the label holds two values, so "A1" is the
    // second and the other four are counted as "other".
    for address in ["A1", "A2", "A3", "A4", "A5"] {
        consumer
            .post(sit(&bed), cervix_request(address), &[])
            .await
            .unwrap()
            .vp("VP004");
    }

    let after = scrape(&bed, &python).await;
    assert_eq!(
        after.get(
            "ntjp_mock_verdicts_total",
            &[("address", "14"), ("verdict", "invalid")]
        ),
        1.0
    );
    let vp004 = |address| {
        after.get(
            REQUESTS,
            &[
                ("env", "sit"),
                ("contract", CONTRACT),
                ("address", address),
                ("consumer", consumer_id.as_str()),
                ("outcome", "VP004"),
            ],
        )
    };
    assert_eq!(vp004("A1"), 1.0);
    assert_eq!(vp004("other"), 4.0);
    let mut addresses = after.values_of(REQUESTS, "address");
    addresses.sort();
    addresses.dedup();
    assert_eq!(addresses, ["14", "A1", "other"]);
    bed.stop().await;
}
