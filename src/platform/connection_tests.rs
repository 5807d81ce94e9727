//! The producer connection tests the platform's operators run after configuring a producer in
//! TAK: a TLS handshake with the platform certificate and a PingForConfiguration call, once a
//! route's first day has come and its order is published.
//!
//! One ping per producer URL answers for every route to it, so a 100,000-route order to three
//! producers costs three pings. At most [`CONCURRENCY`] pings run at once; each exchange has
//! one deadline ([`PING_DEADLINE`]) and reads at most [`PING_MAX_BYTES`] of the answer.
//! Outcomes are recorded in batches (one change per batch, see
//! [`Platforms::record_tests`]). Nothing here holds a lock; due tests are found in the
//! published views.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use http_body_util::BodyExt;
use tokio::{sync::watch, task::JoinSet, time::Instant};

use super::{DueTest, Platforms, TestResult};
use crate::router::{ProducerClient, forward::ForwardError};

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
    platforms: Arc<Platforms>,
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
async fn test_all(platforms: &Platforms, client: &ProducerClient, due: Vec<DueProducer>) {
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

async fn record(platforms: &Platforms, results: Vec<TestResult>) {
    if let Err(e) = platforms.record_tests(results).await {
        tracing::debug!(error = %e, "connection test outcomes not recorded");
    }
}

/// One ping: `(passed, what happened)`.
pub async fn ping(client: &ProducerClient, url: &str, logical_address: &str) -> (bool, String) {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return (false, format!("invalid URL {url}"));
    };
    match tokio::time::timeout(PING_DEADLINE, exchange(client, &uri, logical_address)).await {
        Ok(outcome) => outcome,
        Err(_) => (
            false,
            format!("no complete answer within {} s", PING_DEADLINE.as_secs()),
        ),
    }
}

async fn exchange(client: &ProducerClient, uri: &http::Uri, address: &str) -> (bool, String) {
    let body = crate::contract::ping_request(address);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/xml;charset=UTF-8"),
    );
    let answer = client
        .send(uri, &headers, bytes::Bytes::from(body), PING_DEADLINE)
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
            format!("no answer within {} s", PING_DEADLINE.as_secs()),
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
