//! The client towards producers: pooled keep-alive connections ([`super::pool`]) over rustls
//! presenting the platform's function certificate, VP's connect timeout and retry, per-contract
//! response timeouts from a `timeoutconfig.json`, and the mapping of producer answers to what
//! the consumer gets (pass-through, or VP009).
//!
//! It does not decide where to send a request (that is TAK's job in the pipeline). The
//! producer timeout covers the whole answer, head and body: a successful answer is read up to
//! 64 KiB before it is passed on (an empty one, or one that stops short, is VP009 as in VP,
//! and its connection is dropped rather than pooled); past that it streams on and is cut off
//! if it has not ended by the deadline.

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
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde::Deserialize;

use crate::config::RouterConfig;
use crate::vocab::SOAP11_NS;

use super::{
    BoxError, OutBody, RespBody,
    pool::{AnswerBody, Pool, PoolError, Target},
};

/// Why a producer call failed; the pipeline turns each into VP009 with
/// [`ForwardError::camel_cause`] as cause.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// TCP connect or TLS handshake failed (a TCP failure after the configured retries).
    #[error("Could not connect: {0}")]
    Connect(String),
    /// The producer reset the connection before any answer byte (after the retries).
    #[error("Connection reset")]
    Reset,
    /// The producer closed the connection without an answer.
    #[error("No response received from remote server")]
    Closed,
    /// No answer within the contract's producer timeout.
    #[error("Timeout when waiting on response from producer.")]
    Timeout,
    /// The connection broke or the answer could not be read.
    #[error("{0}")]
    Io(String),
    /// 2xx without a body.
    #[error("Empty message when server responded with status code: {0}")]
    Empty(String),
    /// The consumer's body, streamed on, could not be read to its end: the consumer's fault.
    #[error("{0}")]
    Upload(UploadFailure),
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

/// The exception classes VP names in VP009's details (`Exception information: (<class>: …)`).
mod java {
    pub const CONNECT: &str = "java.net.ConnectException";
    pub const RESET: &str = "java.net.SocketException";
    pub const SSL: &str = "javax.net.ssl.SSLHandshakeException";
    pub const TIMEOUT: &str = "io.netty.handler.timeout.ReadTimeoutException";
    pub const NO_RESPONSE: &str = "org.apache.camel.CamelExchangeException";
    pub const STATUS: &str =
        "org.apache.camel.component.netty.http.NettyHttpOperationFailedException";
    pub const IO: &str = "java.io.IOException";
}

/// What the TLS client says when the producer's certificate is from a CA it does not trust.
const JAVA_UNKNOWN_CA: &str = "PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target";

impl ForwardError {
    /// VP009's cause after `Error connecting to service producer at address <url>. `, as VP
    /// (Camel over Netty) words it for `url`: `Exception Caught by Camel when contacting
    /// producer. Exception information: (<Java class>: <message>)`, with
    /// `\nVP_PRODUCER_EXCEPTION_HTTP_STATUS=<n>` for a status; an empty answer has VP's own
    /// text. Where the Java message names the producer it is `host:port`, as Camel's
    /// `NettyConfiguration.getAddress()`.
    pub fn camel_cause(&self, url: &str) -> String {
        let address = || {
            let uri: Option<Uri> = url.parse().ok();
            let host = uri
                .as_ref()
                .and_then(Uri::host)
                .unwrap_or_default()
                .to_owned();
            let port = uri.as_ref().and_then(|u| {
                u.port_u16().or_else(|| {
                    Some(if u.scheme_str() == Some("https") {
                        443
                    } else {
                        80
                    })
                })
            });
            format!("{host}:{}", port.unwrap_or(80))
        };
        let (class, message) = match self {
            ForwardError::Connect(e) if e.contains("TLS handshake: ") => {
                let tls = e.split("TLS handshake: ").nth(1).unwrap_or(e);
                let message = if tls.contains("UnknownIssuer") {
                    JAVA_UNKNOWN_CA.to_owned()
                } else {
                    tls.to_owned()
                };
                (java::SSL, message)
            }
            ForwardError::Connect(_) => (java::CONNECT, format!("Cannot connect to {}", address())),
            ForwardError::Reset => (java::RESET, "Connection reset".to_owned()),
            ForwardError::Closed => (
                java::NO_RESPONSE,
                format!("No response received from remote server: {}", address()),
            ),
            ForwardError::Timeout => (java::TIMEOUT, self.to_string()),
            ForwardError::Io(e) => (java::IO, e.clone()),
            ForwardError::Empty(_) | ForwardError::Upload(_) => return self.to_string(),
            ForwardError::Status { code, .. } => {
                return format!(
                    "Exception Caught by Camel when contacting producer. Exception information: ({}: Netty HTTP operation failed invoking {url} with statusCode: {code})\nVP_PRODUCER_EXCEPTION_HTTP_STATUS={code}",
                    java::STATUS
                );
            }
        };
        format!(
            "Exception Caught by Camel when contacting producer. Exception information: ({class}: {message})"
        )
    }

    /// Whether VP redelivers after this failure: on a `SocketException` (a TCP connect that
    /// failed, a connection reset), not after a TLS failure, a status, a timeout or a close.
    fn retried(&self) -> bool {
        match self {
            ForwardError::Connect(e) => !e.contains("TLS handshake: "),
            ForwardError::Reset => true,
            _ => false,
        }
    }
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
    pool: Pool,
    retry_attempts: u32,
    retry_delay: Duration,
    max_error_body: usize,
}

impl ProducerClient {
    /// Builds the pool. `tls` trusts the producers' CA and presents the platform certificate.
    pub fn new(tls: rustls::ClientConfig, config: &RouterConfig) -> Self {
        ProducerClient {
            pool: Pool::new(
                tls,
                config.producer_connect_timeout(),
                config.producer_pool_max_idle_per_host,
            ),
            retry_attempts: config.producer_retry_attempts,
            retry_delay: config.producer_retry_delay(),
            max_error_body: config.max_request_bytes,
        }
    }

    /// A producer URL parsed (once: the result is kept for the next request to it).
    pub fn target(&self, url: &str) -> Result<Arc<Target>, http::uri::InvalidUri> {
        self.pool.target(url)
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
        let target = self
            .target(&uri.to_string())
            .map_err(|e| ForwardError::Connect(format!("invalid URL: {e}")))?;
        self.send_with(
            &target,
            &|| headers.clone(),
            OutBody::Whole(RequestBody::from(body)),
            timeout,
        )
        .await
    }

    /// [`send`](Self::send) to a parsed target, with a body that may still be arriving from
    /// the consumer. A failed connect is retried with the same request: nothing of its body has
    /// been read then. The producer's timeout runs from when the body has been sent whole (at
    /// once for a body that was read before). `headers` makes the request's headers: called
    /// once, and again only for a redelivery after a reset (keeping a copy of every request's
    /// headers for that rare case cost more than making them).
    pub async fn send_with(
        &self,
        target: &Arc<Target>,
        headers: &(dyn Fn() -> HeaderMap + Sync),
        body: OutBody,
        timeout: Duration,
    ) -> Result<ProducerAnswer, ForwardError> {
        let started = tokio::time::Instant::now();
        let upload = body.upload();
        let mut req = Request::new(body);
        *req.method_mut() = Method::POST;
        *req.headers_mut() = headers();
        let response = self
            .exchange(
                target,
                req,
                headers,
                upload.as_ref(),
                started + timeout,
                timeout,
            )
            .await?;
        let deadline = match &upload {
            None => started + timeout,
            Some((upload, _)) => {
                upload.sent_at().unwrap_or_else(tokio::time::Instant::now) + timeout
            }
        };
        let producer_ms = started.elapsed().as_millis();
        let (parts, incoming) = response.into_parts();
        let status = parts.status;
        if status.is_success() {
            let body = answer(status, incoming, deadline).await?;
            return Ok(ProducerAnswer {
                response: Response::from_parts(parts, RespBody::Streamed(body)),
                producer_ms,
            });
        }
        if status == StatusCode::INTERNAL_SERVER_ERROR
            && let Some(bytes) = self.soap_fault(incoming, deadline).await?
        {
            return Ok(ProducerAnswer {
                response: Response::from_parts(parts, RespBody::whole(bytes)),
                producer_ms,
            });
        }
        Err(ForwardError::Status {
            status: status_line(status),
            code: status.as_u16(),
        })
    }

    /// Sends the request and waits for the answer's head, retrying a failed connect (nothing
    /// of the body has been read then). `deadline` bounds a body read before; a streamed body
    /// is bounded by its upload (see [`send_with`](Self::send_with)).
    async fn exchange(
        &self,
        target: &Arc<Target>,
        mut req: Request<OutBody>,
        headers: &(dyn Fn() -> HeaderMap + Sync),
        upload: Option<&(Arc<UploadState>, tokio::time::Instant)>,
        deadline: tokio::time::Instant,
        timeout: Duration,
    ) -> Result<Response<AnswerBody>, ForwardError> {
        let mut attempt = 0;
        loop {
            // A body read whole can be sent again after a reset (its pieces are shared, not
            // copied); a streamed one cannot.
            let replay = match req.body() {
                OutBody::Whole(body) if attempt < self.retry_attempts => Some(body.clone()),
                _ => None,
            };
            let sent = match upload {
                None => tokio::time::timeout_at(deadline, self.pool.send(target, req))
                    .await
                    .map_err(|_| ForwardError::Timeout)?,
                // A producer that stops reading the body stops it being sent (the consumer's
                // deadline for it is then not watched): the exchange ends by that deadline
                // plus the producer timeout whatever happens.
                Some((upload, body_deadline)) => tokio::select! {
                    sent = self.pool.send(target, req) => sent,
                    () = upload.sent_then(timeout) => return Err(ForwardError::Timeout),
                    () = tokio::time::sleep_until(*body_deadline + timeout) => {
                        return Err(ForwardError::Timeout);
                    }
                },
            };
            let (error, again) = match sent {
                Ok(r) => return Ok(r),
                Err(PoolError::Connect(e, unsent)) => (ForwardError::Connect(e), Some(*unsent)),
                Err(PoolError::Io(e)) => {
                    if let Some(failure) = upload.and_then(|(u, _)| u.failure()) {
                        return Err(ForwardError::Upload(failure));
                    }
                    let again = replay.map(|body| {
                        let mut again = Request::new(OutBody::Whole(body));
                        *again.method_mut() = Method::POST;
                        *again.headers_mut() = headers();
                        again
                    });
                    (io_error(&e), again)
                }
            };
            // VP's redelivery: after the delay, within the deadline of the whole exchange.
            let wake = tokio::time::Instant::now() + self.retry_delay;
            let Some(again) = again
                .filter(|_| error.retried() && attempt < self.retry_attempts && wake < deadline)
            else {
                return Err(error);
            };
            attempt += 1;
            tracing::debug!(uri = %target.uri, attempt, error = %error, "producer call failed, redelivering");
            tokio::time::sleep_until(wake).await;
            req = again;
        }
    }

    /// A 500 answer's body, up to the limit for error bodies, if it is a SOAP envelope (which
    /// passes to the consumer as VP does); `None` for anything else.
    async fn soap_fault(
        &self,
        incoming: AnswerBody,
        deadline: tokio::time::Instant,
    ) -> Result<Option<Bytes>, ForwardError> {
        let limited = http_body_util::Limited::new(incoming, self.max_error_body);
        let bytes = match tokio::time::timeout_at(deadline, limited.collect()).await {
            Err(_) => return Err(ForwardError::Timeout),
            Ok(Err(e)) => return Err(ForwardError::Io(e.to_string())),
            Ok(Ok(c)) => c.to_bytes(),
        };
        Ok(memchr::memmem::find(&bytes, SOAP11_NS.as_bytes())
            .is_some()
            .then_some(bytes))
    }
}

/// A 2xx answer's body. VP reads the whole answer within the producer timeout. Up to
/// ANSWER_WHOLE_BYTES it is read here, so that an answer that stops short is still a VP009
/// (and its connection is dropped, not pooled); a larger one streams on from there with the
/// same deadline. An empty answer is VP009 too.
async fn answer(
    status: StatusCode,
    mut incoming: AnswerBody,
    deadline: tokio::time::Instant,
) -> Result<Streamed, ForwardError> {
    let mut read = Vec::new();
    let mut held = 0usize;
    let complete = loop {
        if !read.is_empty() && incoming.is_end_stream() {
            break true;
        }
        match super::at_once_or_by(deadline, incoming.frame()).await {
            Err(_) => return Err(ForwardError::Timeout),
            Ok(None) if read.is_empty() => {
                return Err(ForwardError::Empty(status_line(status)));
            }
            Ok(None) => break true,
            Ok(Some(Err(e))) => return Err(ForwardError::Io(error_chain(&e))),
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) if !data.is_empty() => {
                    held += data.len();
                    read.push(data);
                    if held >= ANSWER_WHOLE_BYTES && !incoming.is_end_stream() {
                        break false;
                    }
                }
                _ => continue,
            },
        }
    };
    Ok(Streamed {
        read: read.into(),
        rest: incoming,
        deadline: (!complete).then(|| Box::pin(tokio::time::sleep_until(deadline))),
    })
}

fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {}", status.as_u16(), reason),
        None => status.as_u16().to_string(),
    }
}

/// A failed exchange: a reset before the answer (VP's `SocketException: Connection reset`), a
/// close without an answer, or another I/O failure.
fn io_error(e: &hyper::Error) -> ForwardError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionReset
        {
            return ForwardError::Reset;
        }
        source = s.source();
    }
    if e.is_incomplete_message() {
        return ForwardError::Closed;
    }
    ForwardError::Io(error_chain(e))
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
    pub(super) remaining: u64,
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

/// Why a consumer's streamed body could not be sent on whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadFailure {
    /// More than the maximum request size.
    #[error("The request body is larger than the maximum of {0} bytes.")]
    TooLarge(usize),
    /// Nothing arrived for the client read timeout.
    #[error("The client sent no data for {} ms while sending the request body.", .0.as_millis())]
    Silent(Duration),
    /// The client kept sending, but not the whole body within the request body timeout.
    #[error("The client did not send the whole request body within {} ms (router.request_body_timeout_ms); {received} bytes of it had arrived.", .limit.as_millis())]
    TooSlow {
        /// The request body timeout.
        limit: Duration,
        /// Bytes that had arrived by then.
        received: usize,
    },
    /// The connection broke or the body was malformed.
    #[error("The request body could not be read: {0}")]
    Broken(String),
}

/// The bounds of one request body: its size, the longest silence between its pieces, and
/// the deadline of the whole (from when the request head had arrived).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Most bytes (`router.max_request_bytes`).
    pub max: usize,
    /// Longest wait for the next piece (`router.client_read_timeout_ms`).
    pub silence: Duration,
    /// Time allowed for the whole body (`router.request_body_timeout_ms`), for the text.
    pub whole: Duration,
    /// When the whole body must have arrived.
    pub deadline: tokio::time::Instant,
}

impl BodyLimits {
    /// What a limit in time that ran out means, with `held` bytes read by then.
    pub(crate) fn expired(&self, expired: super::Expired, held: usize) -> UploadFailure {
        match expired {
            super::Expired::Silence => UploadFailure::Silent(self.silence),
            super::Expired::Deadline => UploadFailure::TooSlow {
                limit: self.whole,
                received: held,
            },
        }
    }
}

/// A consumer's body sent on as it arrives: the part read already, then the rest, bounded
/// in size, in silence between pieces and by the deadline of the whole body (hyper reads the
/// consumer's connection only as fast as this body is sent on: memory stays at a few buffers).
pub struct Upload {
    pub(super) head: RequestBody,
    pub(super) rest: Incoming,
    /// Bytes read so far, the head included, against `limits.max`.
    held: usize,
    pub(super) limits: BodyLimits,
    /// Armed while waiting for the consumer's next piece: the silence limit or the deadline,
    /// whichever comes first.
    silence: Pin<Box<tokio::time::Sleep>>,
    waiting: bool,
    pub(super) state: Arc<UploadState>,
}

impl Upload {
    /// `head` (already read) followed by what `rest` still brings, within `limits`.
    pub fn new(head: RequestBody, rest: Incoming, limits: &BodyLimits) -> Self {
        Upload {
            held: head.len(),
            head,
            rest,
            limits: *limits,
            silence: Box::pin(tokio::time::sleep_until(limits.deadline)),
            waiting: false,
            state: Arc::new(UploadState::default()),
        }
    }

    fn fail(&self, failure: UploadFailure) -> Poll<Option<Result<Frame<Bytes>, UploadFailure>>> {
        self.state.set_failure(failure.clone());
        Poll::Ready(Some(Err(failure)))
    }
}

impl Body for Upload {
    type Data = Bytes;
    type Error = UploadFailure;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, UploadFailure>>> {
        let this = self.get_mut();
        if let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut this.head).poll_frame(cx) {
            return Poll::Ready(Some(Ok(frame)));
        }
        loop {
            match Pin::new(&mut this.rest).poll_frame(cx) {
                Poll::Ready(None) => {
                    this.state.sent();
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) => {
                    return this.fail(UploadFailure::Broken(e.to_string()));
                }
                Poll::Ready(Some(Ok(frame))) => {
                    this.waiting = false;
                    // Trailers are not passed on (the body was sent as data only before).
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    this.held += data.len();
                    if this.held > this.limits.max {
                        return this.fail(UploadFailure::TooLarge(this.limits.max));
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Pending => {
                    if !this.waiting {
                        this.waiting = true;
                        let quiet = tokio::time::Instant::now() + this.limits.silence;
                        this.silence.as_mut().reset(quiet.min(this.limits.deadline));
                    }
                    if this.silence.as_mut().poll(cx).is_ready() {
                        let expired = if tokio::time::Instant::now() >= this.limits.deadline {
                            super::Expired::Deadline
                        } else {
                            super::Expired::Silence
                        };
                        return this.fail(this.limits.expired(expired, this.held));
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_end_stream() && self.rest.is_end_stream()
    }
}

/// How the sending of a streamed body went, shared between the body and the exchange.
#[derive(Default)]
pub struct UploadState {
    /// When the last byte was handed on.
    sent_at: std::sync::Mutex<Option<tokio::time::Instant>>,
    failure: std::sync::Mutex<Option<UploadFailure>>,
    sent: tokio::sync::Notify,
}

impl UploadState {
    fn sent(&self) {
        let mut at = self.sent_at.lock().unwrap_or_else(|e| e.into_inner());
        at.get_or_insert_with(tokio::time::Instant::now);
        drop(at);
        self.sent.notify_waiters();
    }

    fn sent_at(&self) -> Option<tokio::time::Instant> {
        *self.sent_at.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_failure(&self, failure: UploadFailure) {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(failure);
    }

    /// Why the body could not be sent whole, if it could not.
    pub fn failure(&self) -> Option<UploadFailure> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Completes `limit` after the body has been sent whole.
    async fn sent_then(&self, limit: Duration) {
        loop {
            let notified = self.sent.notified();
            if let Some(at) = self.sent_at() {
                tokio::time::sleep_until(at + limit).await;
                return;
            }
            notified.await;
        }
    }
}

/// How much of a successful answer is read before it is passed on (the usual SOAP answer
/// is far smaller): an answer that ends within it and in time goes back whole, one that stops
/// short is VP009.
const ANSWER_WHOLE_BYTES: usize = 64 * 1024;

/// A producer's answer: what was read before it was passed on, then the rest (if any) as it
/// comes, by the producer timeout's deadline.
pub struct Streamed {
    read: std::collections::VecDeque<Bytes>,
    rest: AnswerBody,
    /// The deadline of the whole answer, while some of it is still to come; when it passes
    /// the answer is cut off (its head has gone to the consumer already, so the consumer's
    /// connection is closed mid-answer) and the producer's connection dropped.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// A producer's answer that did not end by the producer timeout, after it had begun.
#[derive(Debug, thiserror::Error)]
#[error("Timeout when waiting on response from producer: the answer had not ended.")]
pub struct AnswerCutOff;

impl Streamed {
    /// What was read of the answer before it was passed on (the whole of a usual answer):
    /// what `router.log_bodies` logs of it.
    pub fn read_so_far(&self) -> impl Iterator<Item = &Bytes> {
        self.read.iter()
    }
}

impl Body for Streamed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(data) = self.read.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if self.rest.is_end_stream() {
            return Poll::Ready(None);
        }
        let this = self.get_mut();
        match Pin::new(&mut this.rest).poll_frame(cx) {
            Poll::Pending => {}
            ready => return ready.map_err(|e| -> BoxError { Box::new(e) }),
        }
        if let Some(deadline) = &mut this.deadline
            && deadline.as_mut().poll(cx).is_ready()
        {
            tracing::info!("a producer's answer did not end within the producer timeout: cut off");
            return Poll::Ready(Some(Err(Box::new(AnswerCutOff))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.read.is_empty() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let rest = self.rest.size_hint();
        let n: u64 = self.read.iter().map(|b| b.len() as u64).sum();
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
    by_contract: HashMap<String, Duration, foldhash::fast::RandomState>,
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
            by_contract: HashMap::default(),
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
        if self.by_contract.is_empty() {
            return self.default;
        }
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
