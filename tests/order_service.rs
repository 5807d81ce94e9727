//! Orders never stall the testbed: while a long order runs, reads, health and routing over
//! mutual TLS answer; SIGTERM in the middle of an order leaves a consistent journal; a form's
//! rule holds under concurrent submissions; connection tests cost one ping per producer and
//! read a bounded answer.
//!
//! No test here measures time: each asserts an order of events (what answered while the
//! order's answer was outstanding) or an outcome, with generous deadlines only for waiting.

mod common;

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::*;
use ntjp_testbed::cli::client;
use serde_json::{Value, json};

fn admin(bed: &Bed) -> String {
    bed.testbed.endpoints().admin.clone()
}

/// An order in the real format for SIT: `n` new logical addresses `<prefix>-<i>`, each with a
/// route to one of `producers` producers (`<prefix>-P<j>` mocks, so the URLs are few) and an
/// authorisation for `consumer`, valid from today.
fn big_order(prefix: &str, n: usize, producers: usize, consumer: &str) -> String {
    let today = today().format("%Y-%m-%d");
    let components: Vec<Value> = (0..producers)
        .map(|j| json!({"hsaId": format!("TSTNMT2321000156-{prefix}P{j}"), "beskrivning": format!("Producent {j}")}))
        .collect();
    let addresses: Vec<Value> = (0..n)
        .map(|i| json!({"hsaId": format!("{prefix}-{i}"), "beskrivning": format!("Adress {i}")}))
        .collect();
    let routes: Vec<Value> = (0..n)
        .map(|i| {
            let j = i % producers;
            json!({
                "adress": format!("{{{{mocks}}}}/{prefix}-P{j}/ProcessCervixScreeningInformation/1/rivtabp21"),
                "logiskAdress": format!("{prefix}-{i}"),
                "tjanstekontrakt": CONTRACT,
                "rivtaprofil": "RIVTABP21",
                "tjanstekomponent": format!("TSTNMT2321000156-{prefix}P{j}"),
            })
        })
        .collect();
    let authorisations: Vec<Value> = (0..n)
        .map(|i| json!({"logiskAdress": format!("{prefix}-{i}"), "tjanstekontrakt": CONTRACT, "tjanstekonsument": consumer}))
        .collect();
    json!({
        "plattform": "NTJP-TEST", "formatVersion": "1.0", "version": "1",
        "bestallningsTidpunkt": format!("{today}T00:00:00+0000"),
        "genomforandeTidpunkt": format!("{today}T00:00:00+0000"),
        "utforare": "order_service test", "kommentar": format!("{n} routes"),
        "inkludera": {
            "tjanstekomponenter": components, "logiskadresser": addresses,
            "vagval": routes, "anropsbehorigheter": authorisations,
        },
        "exkludera": {},
    })
    .to_string()
}

/// Routes in the published TAK whose logical address starts with `<prefix>-`.
async fn routes_with_prefix(admin: &str, prefix: &str) -> usize {
    let tak = client::get(&format!("{admin}/api/sit/tak")).await.unwrap();
    assert_eq!(tak.status.as_u16(), 200, "{}", tak.json);
    let start = format!("{prefix}-");
    tak.json["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["logical_address"].as_str().unwrap().starts_with(&start))
        .count()
}

/// Whether `/status` says the order service is working on a change.
async fn order_service_running(admin: &str) -> bool {
    let s = client::get(&format!("{admin}/status")).await.unwrap();
    assert_eq!(s.status.as_u16(), 200, "{}", s.json);
    s.json["OrderService"]["running"] == json!(true)
}

type Pending = tokio::task::JoinHandle<anyhow::Result<client::Answer>>;

fn submit(url: String, body: String) -> Pending {
    tokio::spawn(async move { client::post(&url, body.into_bytes()).await })
}

/// Waits until the order service works on a change while `order`'s answer is outstanding
/// (true), or until that answer arrived first (false).
async fn wait_until_running(admin: &str, order: &Pending) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !order.is_finished() {
        if order_service_running(admin).await {
            return !order.is_finished();
        }
        assert!(Instant::now() < deadline, "the order never started");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_health_and_routing_answer_while_a_long_order_runs() {
    let bed = start().await;
    let admin = admin(&bed);
    let consumer_id = bed.testbed.endpoints().pki.consumer_hsa_id.clone();
    let consumer = bed.consumer();
    let sit = bed.https_addr("sit");
    let orders_before = client::get(&format!("{admin}/api/sit/orders"))
        .await
        .unwrap()
        .json
        .as_array()
        .unwrap()
        .len();

    // An order long enough that its answer is still outstanding after every check below
    // (doubled until it is, so the test holds on fast and slow builds alike).
    let mut n = 2_000;
    for attempt in 0.. {
        assert!(
            attempt < 6,
            "no order outlasted the checks (last: {n} routes)"
        );
        let prefix = format!("LONG{attempt}");
        let order = submit(
            format!("{admin}/api/sit/orders"),
            big_order(&prefix, n, 3, &consumer_id),
        );
        if !wait_until_running(&admin, &order).await {
            assert_eq!(order.await.unwrap().unwrap().status.as_u16(), 201);
            n *= 2;
            continue;
        }

        // While it runs: health, status, the order service's reads and a routed call.
        let mut answered = Vec::new();
        for path in [
            "/health/live",
            "/health/ready",
            "/status",
            "/api/sit/versions",
            "/api/sit/orders",
            "/api/sit/tak/pending",
            "/api/sit/settings",
            "/api/systems",
        ] {
            let a = client::get(&format!("{admin}{path}")).await.unwrap();
            assert_eq!(a.status.as_u16(), 200, "{path}: {}", a.json);
            answered.push(path);
        }
        let listed = client::get(&format!("{admin}/api/sit/orders"))
            .await
            .unwrap();
        assert_eq!(
            listed.json.as_array().unwrap().len(),
            orders_before + attempt,
            "a running order is not listed"
        );
        let routed = consumer.post(sit, cervix_request("01"), &[]).await.unwrap();
        assert_eq!(assert_ok(&routed), "01");
        answered.push("routing over mTLS");
        if order.is_finished() {
            // The order was faster than the checks: try a larger one.
            assert_eq!(order.await.unwrap().unwrap().status.as_u16(), 201);
            n *= 2;
            continue;
        }

        // Then the order is accepted, published and routed to.
        let a = order.await.unwrap().unwrap();
        assert_eq!(a.status.as_u16(), 201, "{}", a.json);
        assert!(a.json["published_version"].as_u64().is_some(), "{}", a.json);
        assert_eq!(routes_with_prefix(&admin, &prefix).await, n);
        let address = format!("{prefix}-4");
        consumer
            .post(sit, cervix_request(&address), &[])
            .await
            .unwrap();
        let got = bed.testbed.recorder().for_address(&format!("{prefix}-P1"));
        assert!(
            got.iter()
                .any(|r| r.logical_address.as_deref() == Some(address.as_str())),
            "the new route was not used: {answered:?}"
        );
        break;
    }
    bed.stop().await;
}

/// `ntjp serve` as a child process, killed when dropped.
struct Serve(Child);
impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(state: &Path) -> (Serve, String) {
    let endpoints = state.join("endpoints.json");
    let _ = std::fs::remove_file(&endpoints);
    let child = Command::new(env!("CARGO_BIN_EXE_ntjp"))
        .args(["serve", "--ephemeral-ports", "--state-dir"])
        .arg(state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut serve = Serve(child);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(text) = std::fs::read_to_string(&endpoints)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
        {
            return (serve, v["admin"].as_str().unwrap().to_string());
        }
        if let Ok(Some(status)) = serve.0.try_wait() {
            panic!("ntjp serve exited with {status}");
        }
        assert!(Instant::now() < deadline, "no endpoints.json after 120 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_an_order_exits_and_the_journal_has_it_wholly_or_not_at_all() {
    let state = tempfile::tempdir().unwrap();
    let (mut child, admin) = serve(state.path());
    let endpoints: Value = serde_json::from_str(
        &std::fs::read_to_string(state.path().join("endpoints.json")).unwrap(),
    )
    .unwrap();
    let consumer_id = endpoints["pki"]["consumer_hsa_id"]
        .as_str()
        .unwrap()
        .to_string();

    let n = 20_000;
    let order = submit(
        format!("{admin}/api/sit/orders"),
        big_order("TERM", n, 3, &consumer_id),
    );
    let mid_order = wait_until_running(&admin, &order).await;
    let pid = child.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );

    // The process exits by itself (the deadline is generous: this is not a timing test).
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "ntjp serve did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");
    let answer = order.await.unwrap();

    // A restart replays the journal; the order is there wholly or not at all.
    let (_child, admin) = serve(state.path());
    let present = routes_with_prefix(&admin, "TERM").await;
    match answer.as_ref().map(|a| (a.status.as_u16(), a.json.clone())) {
        Ok((201, _)) => assert_eq!(present, n, "an acknowledged order was lost"),
        Ok((503, j)) if j["error"].as_str().unwrap().contains("in the journal") => {
            assert_eq!(present, n, "a journaled order was lost")
        }
        Ok((503, j)) => {
            assert!(j["error"].as_str().unwrap().contains("abandoned"), "{j}");
            assert_eq!(present, 0, "an abandoned order is visible");
        }
        // The connection closed without an answer: either is consistent, half is not.
        Err(_) => assert!(present == 0 || present == n, "{present} of {n} routes"),
        Ok((s, j)) => panic!("unexpected answer {s}: {j}"),
    }
    if mid_order {
        // The usual case: SIGTERM came while the order ran, and it was answered.
        assert!(answer.is_ok(), "{:?}", answer.err());
    }
}

async fn register_system(admin: &str, hsa_id: &str) {
    let a = client::post(
        &format!("{admin}/api/systems"),
        serde_json::to_vec(&json!({
            "organisation": "Region Testland", "system_name": "Kallelsesystemet", "hsa_id": hsa_id,
            "main_contact": {"name": "Anna Andersson", "email": "anna@example.se"},
            "technical_contact": {"name": "Bo Berg", "email": "bo@example.se"},
            "environment": "sit",
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(a.status.as_u16(), 201, "{}", a.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_consumer_forms_for_one_system_exactly_one_is_accepted() {
    let bed = start().await;
    let admin = admin(&bed);
    register_system(&admin, "SE2321000016-SAMTID").await;
    let a = client::post(
        &format!("{admin}/api/prestudies"),
        serde_json::to_vec(&json!({"case_number": "FS-2026-042", "organisation": "Region Testland", "approved_for": ["sit"]})).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(a.status.as_u16(), 201, "{}", a.json);

    let form = json!({
        "environment": "sit", "execution_date": today(), "consumer_hsa_id": "SE2321000016-SAMTID",
        "contract": CONTRACT, "logical_addresses": [], "prestudy_case": "FS-2026-042",
        "region_name": null, "ordered_by": "test",
    });
    let url = format!("{admin}/api/sit/orders/consumer");
    let forms: Vec<Pending> = (0..8)
        .map(|_| submit(url.clone(), form.to_string()))
        .collect();
    let mut statuses = Vec::new();
    for f in forms {
        let a = f.await.unwrap().unwrap();
        statuses.push(a.status.as_u16());
        if a.status.as_u16() == 422 {
            assert!(
                a.json["error"]
                    .as_str()
                    .unwrap()
                    .contains("SE2321000016-SAMTID"),
                "{}",
                a.json
            );
        }
    }
    statuses.sort();
    assert_eq!(statuses, [201, 422, 422, 422, 422, 422, 422, 422]);
    let orders = client::get(&format!("{admin}/api/sit/orders"))
        .await
        .unwrap();
    let from_forms = orders
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["source"]["type"] == "consumer_form")
        .count();
    assert_eq!(from_forms, 1);
    bed.stop().await;
}

/// The connection tests of order `id`: (ok, failed, pending) counts and the distinct details.
async fn test_outcomes(admin: &str, id: u64) -> ((usize, usize, usize), Vec<String>) {
    let o = client::get(&format!("{admin}/api/sit/orders/{id}"))
        .await
        .unwrap();
    assert_eq!(o.status.as_u16(), 200, "{}", o.json);
    let mut counts = (0, 0, 0);
    let mut details = Vec::new();
    for t in o.json["connection_tests"].as_array().unwrap() {
        match t["status"].as_str().unwrap() {
            "ok" => counts.0 += 1,
            "failed" => counts.1 += 1,
            _ => counts.2 += 1,
        }
        let d = t["detail"].as_str().unwrap().to_string();
        if !details.contains(&d) {
            details.push(d);
        }
    }
    (counts, details)
}

async fn wait_for_tests(admin: &str, id: u64, n: usize) -> ((usize, usize, usize), Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (counts, details) = test_outcomes(admin, id).await;
        assert_eq!(counts.0 + counts.1 + counts.2, n);
        if counts.2 == 0 {
            return (counts, details);
        }
        assert!(
            Instant::now() < deadline,
            "connection tests still pending: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_tests_ping_each_producer_once_for_all_its_routes() {
    let bed = start().await;
    let admin = admin(&bed);
    let consumer_id = bed.testbed.endpoints().pki.consumer_hsa_id.clone();
    let n = 1_500;
    let a = client::post(
        &format!("{admin}/api/sit/orders"),
        big_order("MANY", n, 3, &consumer_id).into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(a.status.as_u16(), 201, "{}", a.json);
    let id = a.json["id"].as_u64().unwrap();

    let ((ok, failed, _), details) = wait_for_tests(&admin, id, n).await;
    assert_eq!((ok, failed), (n, 0), "{details:?}");
    let status = client::get(&format!("{admin}/status")).await.unwrap();
    assert_eq!(
        status.json["Environments"]["sit"]["ConnectionTestsPending"],
        json!(0),
        "{}",
        status.json
    );
    for j in 0..3 {
        let pings = bed
            .testbed
            .recorder()
            .for_address(&format!("MANY-P{j}"))
            .iter()
            .filter(|r| r.operation.as_deref() == Some("PingForConfiguration"))
            .count();
        assert_eq!(pings, 1, "producer {j} was pinged {pings} times");
    }
    bed.stop().await;
}

/// A producer that answers every request with 200 and a body that never ends.
async fn endless_producer(bed: &Bed) -> u16 {
    let (cert, key) = bed.issue(Some("TSTNMT2321000156-ENDLESS"), "endless");
    let tls = ntjp_testbed::tls::server_config(&bed.ca(), &cert, &key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = vec![0u8; 64 * 1024];
                let _ = tls.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ntransfer-encoding: chunked\r\n\r\n";
                if tls.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
                // Until the platform hangs up (bounded, so the task ends even if it does not).
                for _ in 0..1_000_000 {
                    if tls.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_answering_an_endless_ping_fails_its_connection_test() {
    let bed = start().await;
    let admin = admin(&bed);
    let port = endless_producer(&bed).await;
    let order = order(
        today(),
        &format!(
            r#"{{"tjanstekomponenter": [{{"hsaId": "TSTNMT2321000156-ENDLESS", "beskrivning": "Svarar utan slut"}}],
                "logiskadresser": [{{"hsaId": "ENDLESS-1", "beskrivning": "x"}}],
                "vagval": [{{"adress": "https://localhost:{port}/endless", "logiskAdress": "ENDLESS-1", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-ENDLESS"}}]}}"#
        ),
        "{}",
    );
    let a = client::post(&format!("{admin}/api/sit/orders"), order.into_bytes())
        .await
        .unwrap();
    assert_eq!(a.status.as_u16(), 201, "{}", a.json);
    let id = a.json["id"].as_u64().unwrap();
    let ((ok, failed, _), details) = wait_for_tests(&admin, id, 1).await;
    assert_eq!((ok, failed), (0, 1), "{details:?}");
    assert!(
        details[0].contains("larger than 65536 bytes"),
        "{details:?}"
    );
    bed.stop().await;
}
