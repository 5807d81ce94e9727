//! The client towards producers: a pooled keep-alive hyper client over rustls presenting the
//! platform's function certificate, VP's connect timeout and retry, per-contract response
//! timeouts from a `timeoutconfig.json`, and the mapping of producer answers to what the
//! consumer gets (pass-through, or VP009).
//!
//! It does not decide where to send a request (that is TAK's job in the pipeline) and never
//! buffers a successful answer: it waits for the first body bytes (an empty 2xx answer is
//! VP009, as in VP) and streams the rest.

use std::{
    collections::HashMap,
    path::Path,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde::Deserialize;

use crate::config::RouterConfig;

use super::{BoxError, RespBody};

/// SOAP 1.1 envelope namespace: a producer's HTTP 500 containing it is a SOAP Fault that VP
/// passes back unchanged.
const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// Why a producer call failed; the pipeline turns each into VP009 with this text as cause.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// TCP connect or TLS handshake failed (after the configured retries).
    #[error("Could not connect: {0}")]
    Connect(String),
    /// No answer within the contract's producer timeout.
    #[error("Timeout when waiting on response from producer.")]
    Timeout,
    /// The connection broke or the answer could not be read.
    #[error("{0}")]
    Io(String),
    /// 2xx without a body.
    #[error("Empty message when server responded with status code: {0}")]
    Empty(String),
    /// A status VP does not pass on (anything but 2xx, and 500 with a SOAP envelope).
    #[error(
        "Producer answered with HTTP status {status}\nVP_PRODUCER_EXCEPTION_HTTP_STATUS={code}"
    )]
    Status {
        /// Status line text, e.g. `404 Not Found`.
        status: String,
        /// Numeric code.
        code: u16,
    },
}

/// A producer answer ready to go back to the consumer, and how long the producer took to
/// answer with its headers.
pub struct ProducerAnswer {
    /// Status, producer headers, and the (streamed) body.
    pub response: Response<RespBody>,
    /// Producer response time (`x-skltp-prt`), in milliseconds.
    pub producer_ms: u128,
}

/// Pooled client towards producers (one per environment).
#[derive(Clone)]
pub struct ProducerClient {
    client: Client<HttpsConnector<HttpConnector>, RequestBody>,
    retry_attempts: u32,
    retry_delay: Duration,
    max_error_body: usize,
}

impl ProducerClient {
    /// Builds the pool. `tls` trusts the producers' CA and presents the platform certificate.
    pub fn new(tls: rustls::ClientConfig, config: &RouterConfig) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.producer_connect_timeout()));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(config.producer_pool_max_idle_per_host)
            .pool_idle_timeout(Duration::from_secs(90))
            .build(https);
        ProducerClient {
            client,
            retry_attempts: config.producer_retry_attempts,
            retry_delay: config.producer_retry_delay(),
            max_error_body: config.max_request_bytes,
        }
    }

    /// POSTs `body` to `uri` with `headers`, retrying a failed connect, and maps the answer as
    /// VP does: 2xx with a body and 500 with a SOAP envelope pass; everything else is an error.
    pub async fn send(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<ProducerAnswer, ForwardError> {
        self.send_with(uri, || headers.clone(), &RequestBody::from(body), timeout)
            .await
    }

    /// [`send`](Self::send) with the headers built by `headers`, once per attempt: a retry is
    /// rare, so building the map again then is cheaper than cloning it for every request in
    /// case one is needed.
    pub async fn send_with(
        &self,
        uri: &Uri,
        headers: impl Fn() -> HeaderMap,
        body: &RequestBody,
        timeout: Duration,
    ) -> Result<ProducerAnswer, ForwardError> {
        let started = tokio::time::Instant::now();
        let deadline = started + timeout;
        let mut attempt = 0;
        let response = loop {
            let mut req = Request::new(body.clone());
            *req.method_mut() = Method::POST;
            *req.uri_mut() = uri.clone();
            *req.headers_mut() = headers();
            match tokio::time::timeout_at(deadline, self.client.request(req)).await {
                Err(_) => return Err(ForwardError::Timeout),
                Ok(Ok(r)) => break r,
                Ok(Err(e)) if e.is_connect() => {
                    if attempt >= self.retry_attempts {
                        return Err(ForwardError::Connect(error_chain(&e)));
                    }
                    attempt += 1;
                    tracing::debug!(%uri, attempt, error = %error_chain(&e), "producer connect failed, retrying");
                    tokio::time::sleep(self.retry_delay).await;
                }
                Ok(Err(e)) => return Err(ForwardError::Io(error_chain(&e))),
            }
        };
        let producer_ms = started.elapsed().as_millis();
        let (parts, mut incoming) = response.into_parts();
        let status = parts.status;
        if status.is_success() {
            // Wait for the first bytes: an empty answer is VP009, anything else streams on.
            let first = loop {
                match tokio::time::timeout_at(deadline, incoming.frame()).await {
                    Err(_) => return Err(ForwardError::Timeout),
                    Ok(None) => return Err(ForwardError::Empty(status_line(status))),
                    Ok(Some(Err(e))) => return Err(ForwardError::Io(error_chain(&e))),
                    Ok(Some(Ok(frame))) => match frame.into_data() {
                        Ok(data) if !data.is_empty() => break data,
                        _ => continue,
                    },
                }
            };
            let body = Prepend {
                first: Some(first),
                rest: incoming,
            };
            return Ok(ProducerAnswer {
                response: Response::from_parts(parts, body.boxed()),
                producer_ms,
            });
        }
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            let limited = http_body_util::Limited::new(incoming, self.max_error_body);
            let bytes = match tokio::time::timeout_at(deadline, limited.collect()).await {
                Err(_) => return Err(ForwardError::Timeout),
                Ok(Err(e)) => return Err(ForwardError::Io(e.to_string())),
                Ok(Ok(c)) => c.to_bytes(),
            };
            if memchr::memmem::find(&bytes, SOAP11_NS.as_bytes()).is_some() {
                let body = Full::new(bytes).map_err(|e| -> BoxError { match e {} });
                return Ok(ProducerAnswer {
                    response: Response::from_parts(parts, body.boxed()),
                    producer_ms,
                });
            }
        }
        Err(ForwardError::Status {
            status: status_line(status),
            code: status.as_u16(),
        })
    }
}

fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {}", status.as_u16(), reason),
        None => status.as_u16().to_string(),
    }
}

/// An error and its sources on one line: "client error (Connect): tcp connect error: ...".
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A request body as the pieces it arrived in. Sent to the producer as they are, never copied
/// into one buffer; a retry sends a clone (the pieces are reference-counted).
#[derive(Clone, Debug, Default)]
pub struct RequestBody {
    chunks: Chunks,
    /// The next piece to send.
    next: usize,
    /// Bytes not yet sent.
    remaining: u64,
}

#[derive(Clone, Debug)]
enum Chunks {
    /// The usual SOAP request: it arrived in one piece.
    One(Bytes),
    /// A larger one, in the frames it came in.
    Many(Arc<[Bytes]>),
}

impl Default for Chunks {
    fn default() -> Self {
        Chunks::One(Bytes::new())
    }
}

impl From<Bytes> for RequestBody {
    fn from(bytes: Bytes) -> Self {
        RequestBody {
            remaining: bytes.len() as u64,
            chunks: Chunks::One(bytes),
            next: 0,
        }
    }
}

impl RequestBody {
    /// A body from the pieces it arrived in (empty pieces are dropped).
    pub fn from_chunks(mut chunks: Vec<Bytes>) -> Self {
        chunks.retain(|c| !c.is_empty());
        if chunks.len() <= 1 {
            return RequestBody::from(chunks.pop().unwrap_or_default());
        }
        RequestBody {
            remaining: chunks.iter().map(|c| c.len() as u64).sum(),
            chunks: Chunks::Many(chunks.into()),
            next: 0,
        }
    }

    /// The pieces, in order.
    pub fn chunks(&self) -> &[Bytes] {
        match &self.chunks {
            Chunks::One(b) => std::slice::from_ref(b),
            Chunks::Many(c) => c,
        }
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.chunks().iter().map(Bytes::len).sum()
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.chunks().iter().all(Bytes::is_empty)
    }

    /// The whole body in one slice: borrowed when it is one piece, else copied.
    pub fn contiguous(&self) -> std::borrow::Cow<'_, [u8]> {
        match self.chunks() {
            [one] => std::borrow::Cow::Borrowed(one),
            many => std::borrow::Cow::Owned(many.concat()),
        }
    }

    /// At least the first `n` bytes (or all), copying only when the first piece is shorter.
    pub fn prefix(&self, n: usize) -> std::borrow::Cow<'_, [u8]> {
        let chunks = self.chunks();
        match chunks {
            [first, ..] if first.len() >= n || chunks.len() == 1 => {
                std::borrow::Cow::Borrowed(first)
            }
            _ => {
                let mut out = Vec::with_capacity(n);
                for c in chunks {
                    if out.len() >= n {
                        break;
                    }
                    out.extend_from_slice(c);
                }
                std::borrow::Cow::Owned(out)
            }
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let next = self.next;
        let chunk = self.chunks().get(next).cloned();
        Poll::Ready(chunk.map(|c| {
            self.next += 1;
            self.remaining -= c.len() as u64;
            Ok(Frame::data(c))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// A producer body whose first chunk was already read.
struct Prepend {
    first: Option<Bytes>,
    rest: Incoming,
}

impl Body for Prepend {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        Pin::new(&mut self.rest)
            .poll_frame(cx)
            .map_err(|e| -> BoxError { Box::new(e) })
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let rest = self.rest.size_hint();
        let n = self.first.as_ref().map_or(0, |f| f.len() as u64);
        // A fresh hint: setting the lower bound above an existing upper bound would panic.
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + n);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + n);
        }
        hint
    }
}

/// Producer response timeouts per service contract, VP's `timeoutconfig.json`.
#[derive(Debug, Clone)]
pub struct TimeoutTable {
    by_contract: HashMap<String, Duration>,
    default: Duration,
}

/// One entry of `timeoutconfig.json`.
#[derive(Debug, Deserialize)]
struct TimeoutEntry {
    tjanstekontrakt: String,
    #[serde(default)]
    #[allow(dead_code)]
    routetimeout: Option<u64>,
    producertimeout: u64,
}

/// Name of the entry that holds the default (VP's
/// `timeout.json.file.default.tjanstekontrakt.name`).
pub const DEFAULT_TIMEOUTS_ENTRY: &str = "default_timeouts";

/// A `timeoutconfig.json` that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TimeoutConfigError {
    /// Unreadable file.
    #[error("cannot read timeout config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not the expected JSON shape.
    #[error(
        "invalid timeout config {path}: {source} (expected a JSON array of {{\"tjanstekontrakt\": ..., \"producertimeout\": ms}})"
    )]
    Parse {
        /// The file.
        path: String,
        /// Why, with line and column.
        source: serde_json::Error,
    },
}

impl TimeoutTable {
    /// Every contract gets `default`.
    pub fn uniform(default: Duration) -> Self {
        TimeoutTable {
            by_contract: HashMap::new(),
            default,
        }
    }

    /// Reads a `timeoutconfig.json`. Without a `default_timeouts` entry, `fallback` is the
    /// default (VP synthesises 29000 ms and warns; so do we).
    pub fn load(path: &Path, fallback: Duration) -> Result<Self, TimeoutConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| TimeoutConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, fallback).map_err(|source| TimeoutConfigError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    /// Parses the JSON text of a `timeoutconfig.json`.
    pub fn parse(text: &str, fallback: Duration) -> Result<Self, serde_json::Error> {
        let entries: Vec<TimeoutEntry> = serde_json::from_str(text)?;
        let mut table = TimeoutTable::uniform(fallback);
        let mut has_default = false;
        for e in entries {
            let d = Duration::from_millis(e.producertimeout);
            if e.tjanstekontrakt == DEFAULT_TIMEOUTS_ENTRY {
                table.default = d;
                has_default = true;
            } else {
                table.by_contract.insert(e.tjanstekontrakt, d);
            }
        }
        if !has_default {
            tracing::warn!(
                default_ms = fallback.as_millis() as u64,
                "timeout config has no {DEFAULT_TIMEOUTS_ENTRY} entry, using the default"
            );
        }
        Ok(table)
    }

    /// The producer timeout for a contract: its own entry (exact, case-sensitive as in VP),
    /// else the default.
    pub fn for_contract(&self, contract: &str) -> Duration {
        self.by_contract
            .get(contract)
            .copied()
            .unwrap_or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_table_uses_exact_entry_then_default() {
        let t = TimeoutTable::parse(
            r#"[{"tjanstekontrakt":"default_timeouts","routetimeout":30000,"producertimeout":29000},
                {"tjanstekontrakt":"urn:a:1","routetimeout":6000,"producertimeout":5000}]"#,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(t.for_contract("urn:a:1"), Duration::from_millis(5000));
        assert_eq!(t.for_contract("URN:A:1"), Duration::from_millis(29000));
        assert_eq!(t.for_contract("urn:b:1"), Duration::from_millis(29000));
    }

    #[test]
    fn timeout_table_without_default_uses_fallback_and_bad_json_names_position() {
        let t = TimeoutTable::parse(
            r#"[{"tjanstekontrakt":"urn:a:1","producertimeout":5}]"#,
            Duration::from_secs(7),
        )
        .unwrap();
        assert_eq!(t.for_contract("urn:x"), Duration::from_secs(7));
        let err = TimeoutTable::parse("[{\"tjanstekontrakt\": 1}]", Duration::ZERO).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
