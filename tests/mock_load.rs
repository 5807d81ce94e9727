//! A mock producer under load: 64 concurrent keep-alive connections, every answer a contract
//! answer with resultCode OK and every message recorded. The default suite sends a fixed
//! number of requests per connection; the 10-second run that prints answers per second is a
//! benchmark, run on request: `cargo test --release --test mock_load -- --ignored`. Neither
//! asserts a speed.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::{BodyExt, Full};
use ntjp_testbed::{contract, vocab::EnvName};

const CONNECTIONS: usize = 64;

/// How long each connection keeps sending.
#[derive(Clone, Copy)]
enum Until {
    /// This many requests per connection.
    Count(u64),
    /// Until this long after the start.
    Elapsed(Duration),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mock_answers_64_concurrent_connections_20_requests_each() {
    let total = load_a_mock(Until::Count(20)).await;
    assert_eq!(total, CONNECTIONS as u64 * 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a 10-second benchmark: cargo test --release --test mock_load -- --ignored"]
async fn a_mock_keeps_answering_64_concurrent_connections_for_10_seconds() {
    load_a_mock(Until::Elapsed(Duration::from_secs(10))).await;
}

/// Loads mock 14 from [`CONNECTIONS`] connections; returns how many answers came back (all
/// of them OK, or the test fails).
async fn load_a_mock(until: Until) -> u64 {
    let bed = start().await;
    let pki = bed.testbed.pki();
    let (_, sit) = pki
        .platform_clients
        .iter()
        .find(|(e, _)| *e == EnvName::Sit)
        .unwrap();
    // The mocks are called as the SIT platform calls them.
    let client = Client::new(&pki.ca_cert, Some((&sit.cert, &sit.key)));
    let mocks = addr_of(&bed.testbed.endpoints().mocks);
    let body = Bytes::from(contract::request(
        "14",
        ntjp_testbed::soap::Profile::Bp21,
        "197609202387",
        "12",
    ));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, body) = (client.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let tls = client.connect(mocks).await.map_err(|e| e.to_string())?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                    .await
                    .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            let mut answered = 0u64;
            while match until {
                Until::Count(n) => answered < n,
                Until::Elapsed(d) => started.elapsed() < d,
            } {
                let req = Request::post("/mocks/14/ProcessCervixScreeningInformation/1/rivtabp21")
                    .header("host", "localhost")
                    .header("content-type", "text/xml; charset=UTF-8")
                    .body(Full::new(body.clone()))
                    .map_err(|e| e.to_string())?;
                let resp = tokio::time::timeout(Duration::from_secs(30), sender.send_request(req))
                    .await
                    .map_err(|_| "no answer within 30 s".to_string())?
                    .map_err(|e| format!("request {answered}: {e}"))?;
                let status = resp.status();
                let bytes = resp
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?
                    .to_bytes();
                match contract::parse_response(&bytes) {
                    Some((contract::ResultCode::Ok, _)) if status == 200 => answered += 1,
                    other => {
                        return Err(format!(
                            "answer {answered}: HTTP {status}, {other:?}: {}",
                            String::from_utf8_lossy(&bytes)
                        ));
                    }
                }
            }
            Ok::<u64, String>(answered)
        }));
    }
    let mut total = 0u64;
    let mut errors = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(n) => total += n,
            Err(e) => errors.push(e),
        }
    }
    let elapsed = started.elapsed();
    assert!(
        errors.is_empty(),
        "{} connections failed: {errors:?}",
        errors.len()
    );
    assert!(
        total >= CONNECTIONS as u64,
        "every connection answered at least once: {total}"
    );
    println!(
        "{CONNECTIONS} connections, {total} answers in {elapsed:.1?}: {:.0} answers/s, 0 errors",
        total as f64 / elapsed.as_secs_f64()
    );
    let rec = bed.testbed.recorder();
    assert_eq!(
        rec.counts("14").kept as u64 + rec.counts("14").dropped,
        total,
        "every message recorded (kept or counted as dropped)"
    );
    bed.stop().await;
    total
}
