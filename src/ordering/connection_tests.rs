//! The producer connection tests the platform's operators run after configuring a producer in
//! TAK: a TLS handshake with the platform certificate and a PingForConfiguration call, once a
//! route's first day has come and its order is published.
//!
//! One ping per producer URL answers for every route to it, so a 100,000-route order to three
//! producers costs three pings. At most [`CONCURRENCY`] pings run at once; each exchange has
//! one deadline ([`PING_DEADLINE`]) and reads at most [`PING_MAX_BYTES`] of the answer.
//! Outcomes are recorded in batches (one change per batch, see
//! [`OrderService::record_tests`]). Nothing here holds a lock; due tests are found in the
//! published views. It changes no order record or TAK itself (the writer does, as one job
//! per batch) and routes no consumer traffic.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use http_body_util::BodyExt;
use tokio::{sync::watch, task::JoinSet, time::Instant};

use super::{DueTest, OrderService, TestResult};
use crate::router::{ProducerClient, forward::ForwardError};
use crate::vocab::SOAP_CONTENT_TYPE_TO_PRODUCER;

/// Pings in flight at once.
pub const CONCURRENCY: usize = 16;
/// The whole exchange of one ping: connect, TLS, request, the complete answer.
pub const PING_DEADLINE: Duration = Duration::from_secs(10);
/// The most of a ping's answer that is read (a PingForConfiguration answer is well under
/// 1 KiB); a larger one fails the test.
pub const PING_MAX_BYTES: usize = 64 * 1024;
/// Outcomes are recorded at least this often while a round of pings runs.
const RECORD_EVERY: Duration = Duration::from_secs(1);

/// A producer URL with tests due, and the tests its ping answers for.
#[derive(Debug, Clone)]
pub struct DueProducer {
    /// The URL, with the mocks token replaced.
    pub url: String,
    /// The logical address the ping names (the first due route's).
    pub logical_address: Arc<str>,
    /// Every due test (of an order's routes) to this URL.
    pub tests: Vec<DueTest>,
    /// How many routes those tests answer for.
    pub routes: usize,
}

/// Runs due connection tests (once a second) until shutdown. `client` presents the platform
/// certificate; build it with a `max_request_bytes` of [`PING_MAX_BYTES`] so that an error
/// answer is bounded too.
pub async fn run(
    platforms: Arc<OrderService>,
    client: ProducerClient,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let p = platforms.clone();
        let due = tokio::task::spawn_blocking(move || p.due_tests())
            .await
            .unwrap_or_default();
        if !due.is_empty() {
            tokio::select! {
                _ = test_all(&platforms, &client, due) => {}
                _ = shutdown.changed() => return,
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Pings every producer in `due`, [`CONCURRENCY`] at a time, recording outcomes in batches.
async fn test_all(platforms: &OrderService, client: &ProducerClient, due: Vec<DueProducer>) {
    let mut queue = due.into_iter();
    let mut running = JoinSet::new();
    let mut results = Vec::new();
    let mut recorded = Instant::now();
    loop {
        while running.len() < CONCURRENCY {
            let Some(p) = queue.next() else { break };
            let client = client.clone();
            running.spawn(async move {
                let (ok, detail) = ping(&client, &p.url, &p.logical_address).await;
                (p.tests, ok, detail)
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        match done {
            Ok((tests, ok, detail)) => {
                let detail: Arc<str> = detail.into();
                let at = Utc::now();
                results.extend(tests.into_iter().map(|test| TestResult {
                    test,
                    ok,
                    detail: detail.clone(),
                    at,
                }));
            }
            // Left pending: tried again in the next round.
            Err(e) => tracing::warn!(error = %e, "a connection test failed to run"),
        }
        if recorded.elapsed() >= RECORD_EVERY && !results.is_empty() {
            record(platforms, std::mem::take(&mut results)).await;
            recorded = Instant::now();
        }
    }
    if !results.is_empty() {
        record(platforms, results).await;
    }
}

async fn record(platforms: &OrderService, results: Vec<TestResult>) {
    if let Err(e) = platforms.record_tests(results).await {
        tracing::debug!(error = %e, "connection test outcomes not recorded");
    }
}

/// One ping: `(passed, what happened)`.
pub async fn ping(client: &ProducerClient, url: &str, logical_address: &str) -> (bool, String) {
    ping_within(client, url, logical_address, PING_DEADLINE).await
}

/// [`ping`] with a deadline of its own for the whole exchange.
async fn ping_within(
    client: &ProducerClient,
    url: &str,
    logical_address: &str,
    deadline: Duration,
) -> (bool, String) {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return (false, format!("invalid URL {url}"));
    };
    match tokio::time::timeout(deadline, exchange(client, &uri, logical_address, deadline)).await {
        Ok(outcome) => outcome,
        Err(_) => (
            false,
            format!("no complete answer within {} ms", deadline.as_millis()),
        ),
    }
}

async fn exchange(
    client: &ProducerClient,
    uri: &http::Uri,
    address: &str,
    deadline: Duration,
) -> (bool, String) {
    let body = crate::contract::ping_request(address);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(SOAP_CONTENT_TYPE_TO_PRODUCER),
    );
    let answer = client
        .send(uri, &headers, bytes::Bytes::from(body), deadline)
        .await;
    match answer {
        Ok(a) => {
            let status = a.response.status();
            let mut incoming = a.response.into_body();
            let mut body = Vec::new();
            while let Some(frame) = incoming.frame().await {
                let data = match frame {
                    Ok(frame) => match frame.into_data() {
                        Ok(data) => data,
                        Err(_) => continue,
                    },
                    Err(e) => {
                        return (
                            true,
                            format!(
                                "TLS handshake OK; reading PingForConfiguration's answer failed: {e}"
                            ),
                        );
                    }
                };
                if body.len() + data.len() > PING_MAX_BYTES {
                    return (
                        false,
                        format!(
                            "TLS handshake with the platform certificate OK; the answer to PingForConfiguration is larger than {PING_MAX_BYTES} bytes"
                        ),
                    );
                }
                body.extend_from_slice(&data);
            }
            match crate::contract::parse_ping_response(&body) {
                Some(version) if status.is_success() => (
                    true,
                    format!(
                        "TLS handshake with the platform certificate OK; PingForConfiguration answered (version {version})"
                    ),
                ),
                _ => (
                    true,
                    format!(
                        "TLS handshake with the platform certificate OK; the producer does not offer PingForConfiguration (HTTP {status})"
                    ),
                ),
            }
        }
        Err(ForwardError::Connect(e)) => (
            false,
            format!("cannot connect with the platform certificate: {e}"),
        ),
        Err(ForwardError::Timeout) => (
            false,
            format!("no complete answer within {} ms", deadline.as_millis()),
        ),
        Err(e @ ForwardError::Status { .. }) => (
            true,
            format!(
                "TLS handshake with the platform certificate OK; the producer does not offer PingForConfiguration ({})",
                e.to_string().lines().next().unwrap_or_default()
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    //! A producer that misbehaves during the ping: a small hand-written HTTP server standing
    //! in for an integrator's producer.
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A client like the connection tests' (over plain HTTP here: no certificate is needed).
    fn client() -> ProducerClient {
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        let config = crate::config::RouterConfig {
            max_request_bytes: PING_MAX_BYTES,
            ..Default::default()
        };
        ProducerClient::new(tls, &config)
    }

    /// A producer that reads the request, sends `head`, then `piece` over and over (`None`:
    /// nothing more, the connection held open). Returns its URL and the bytes it managed to
    /// send before the client closed the connection.
    async fn producer(
        head: &'static str,
        piece: Option<&'static [u8]>,
    ) -> (String, tokio::sync::oneshot::Receiver<usize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ping", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = Vec::new();
            while !String::from_utf8_lossy(&got).contains("Envelope>") {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let mut sent = 0;
            if s.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            match piece {
                Some(piece) => {
                    while s.write_all(piece).await.is_ok() {
                        sent += piece.len();
                    }
                }
                None => {
                    let _ = s.read(&mut buf).await;
                }
            }
            let _ = tx.send(sent);
        });
        (url, rx)
    }

    #[tokio::test]
    async fn an_endless_answer_ends_the_ping_at_its_size_limit() {
        // Chunks of 8 KiB, for ever.
        let chunk = format!("2000\r\n{}\r\n", "x".repeat(8192));
        let (url, sent) = producer(
            "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ntransfer-encoding: chunked\r\n\r\n",
            Some(chunk.leak().as_bytes()),
        )
        .await;
        let (ok, detail) = ping_within(&client(), &url, "SE123", Duration::from_secs(30)).await;
        assert!(!ok, "{detail}");
        assert!(
            detail.contains(&format!("larger than {PING_MAX_BYTES} bytes")),
            "{detail}"
        );
        // The producer could send little more than the limit and what the sockets buffer
        // before the connection was closed.
        let sent = tokio::time::timeout(Duration::from_secs(30), sent)
            .await
            .expect("the connection must be closed")
            .unwrap();
        assert!(sent < 64 * 1024 * 1024, "{sent} bytes were taken in");
    }

    #[tokio::test]
    async fn an_answer_that_never_ends_fails_the_ping_at_its_deadline() {
        for head in [
            "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: 5000\r\n\r\n<soap:Envelope",
            "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ntransfer-encoding: chunked\r\n\r\n5\r\n<soap\r\n",
            "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 5000\r\n\r\n<soap:Envelope",
        ] {
            let (url, closed) = producer(head, None).await;
            let (ok, detail) =
                ping_within(&client(), &url, "SE123", Duration::from_millis(500)).await;
            assert!(!ok, "{detail}");
            assert!(
                detail.contains("no complete answer within 500 ms"),
                "{head}: {detail}"
            );
            tokio::time::timeout(Duration::from_secs(30), closed)
                .await
                .expect("the connection must be closed")
                .unwrap();
        }
    }
}
