//! Listener plumbing shared by the router, the mock producers and the admin API: an accept
//! loop with a connection limit that stops on shutdown and lets in-flight requests finish,
//! HTTP/1.1 connection serving with a header read timeout and a write deadline, and the
//! reading of a whole request body within a size limit and a deadline.
//!
//! It knows nothing of SOAP, TAK or identities; callers pass a per-connection closure.
//!
//! Beyond its limit a listener refuses: a plain-HTTP one answers 503 with a text and closes,
//! a TLS one closes before the handshake (see [`Refusal`]). When the process runs out of file
//! descriptors (EMFILE, ENFILE) accepting fails: the loop logs it once, backs off briefly and
//! tries again, while the connections it holds are served as before.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::{BodyExt, Limited};
use hyper::{
    Request, Response,
    body::{Body, Incoming},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::{GracefulShutdown, Watcher},
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, watch},
    time::{Instant, Sleep},
};

/// How long in-flight requests may take to finish after shutdown starts.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Pause after a failed accept for want of resources (file descriptors, memory): the
/// listener's backlog keeps the waiting connections meanwhile.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Longest a refusal (the 503, then reading what the client had sent) may take.
const REFUSAL_TIME: Duration = Duration::from_secs(2);

/// Refusals in progress at once per listener; beyond them a connection is closed at once.
const REFUSING_AT_ONCE: usize = 64;

/// A refused connection's request is read (and dropped) up to this much, so that closing
/// does not reset the connection before the client has read the 503.
const REFUSAL_READ_BYTES: usize = 64 * 1024;

/// At most one warning per listener this often while it refuses connections.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// How a listener refuses a connection beyond its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Plain HTTP: `503 Service Unavailable` with a text naming the limit, then close.
    Http503,
    /// TLS: close before the handshake. A handshake costs the CPU and time the limit is there
    /// to protect, and before it there is no channel to send a status over.
    Close,
}

/// A listener's connection limit.
#[derive(Debug, Clone)]
pub struct Limit {
    /// Most connections open at once.
    pub max: usize,
    /// What a connection beyond them gets.
    pub refusal: Refusal,
    /// The setting that holds `max`, named in the refusal and the log.
    pub setting: &'static str,
}

/// A connection's place within its listener's limit, held for as long as the connection is
/// served (dropping it frees the place).
pub struct Slot(#[allow(dead_code)] OwnedSemaphorePermit);

/// Accepts connections until `shutdown` turns true, handing each within the limit to
/// `on_accept` with a watcher for graceful shutdown and its [`Slot`]; then waits (up to
/// [`DRAIN_TIMEOUT`]) for them to finish.
pub async fn accept_loop<F>(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    name: &str,
    limit: Limit,
    on_accept: F,
) where
    F: Fn(TcpStream, SocketAddr, Watcher, Slot),
{
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limit.max));
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let refusal_text: Bytes = refusal_response(name, &limit).into();
    let mut refused = Refused::default();
    // Failed accepts since the last successful one (logged once per run of failures).
    let mut failed_accepts = 0u64;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    if failed_accepts > 0 {
                        tracing::info!(listener = name, failed_accepts, "accepting connections again");
                        failed_accepts = 0;
                    }
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        refused.note(name, &limit);
                        refuse(tcp, limit.refusal, &refusing, &refusal_text);
                        continue;
                    };
                    let _ = tcp.set_nodelay(true);
                    on_accept(tcp, peer, graceful.watcher(), Slot(slot));
                }
                Err(e) if is_per_connection(&e) => {
                    tracing::debug!(listener = name, error = %e, "a connection was lost before it was accepted");
                }
                Err(e) => {
                    // Out of file descriptors and the like: connections already accepted go
                    // on being served; the backlog holds new ones until some close.
                    if failed_accepts == 0 {
                        tracing::warn!(
                            listener = name,
                            error = %e,
                            "cannot accept connections (out of file descriptors? see connection_limits); retrying every {} ms",
                            ACCEPT_BACKOFF.as_millis()
                        );
                    }
                    failed_accepts += 1;
                    tokio::select! {
                        _ = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                        _ = shutdown.changed() => break,
                    }
                }
            },
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            listener = name,
            "in-flight requests did not finish within {DRAIN_TIMEOUT:?}"
        );
    }
}

/// An accept error that concerns one connection only (it went away before it was
/// accepted): accepting goes on at once.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// The 503 a plain-HTTP listener answers beyond its limit.
fn refusal_response(name: &str, limit: &Limit) -> Vec<u8> {
    let text = format!(
        "The {name} listener has {} connections open, its limit ({} = {}); try again when fewer are open.\n",
        limit.max, limit.setting, limit.max
    );
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{text}",
        text.len()
    )
    .into_bytes()
}

/// Refuses a connection beyond the limit: closes it, or (plain HTTP) answers 503 first on a
/// task of its own, bounded in time and in number.
fn refuse(mut tcp: TcpStream, how: Refusal, refusing: &Arc<Semaphore>, text: &Bytes) {
    if how == Refusal::Close {
        return;
    }
    let Ok(permit) = refusing.clone().try_acquire_owned() else {
        return;
    };
    let text = text.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let _ = tokio::time::timeout(REFUSAL_TIME, async {
            tcp.write_all(&text).await?;
            tcp.shutdown().await?;
            let mut buf = [0u8; 4096];
            let mut read = 0;
            while read < REFUSAL_READ_BYTES {
                match tcp.read(&mut buf).await? {
                    0 => break,
                    n => read += n,
                }
            }
            Ok::<_, io::Error>(())
        })
        .await;
    });
}

/// Refusals counted between warnings.
#[derive(Default)]
struct Refused {
    since_log: u64,
    logged: Option<Instant>,
}

impl Refused {
    fn note(&mut self, name: &str, limit: &Limit) {
        self.since_log += 1;
        if self
            .logged
            .is_none_or(|at| at.elapsed() >= REFUSAL_LOG_EVERY)
        {
            tracing::warn!(
                listener = name,
                limit = limit.max,
                refused = self.since_log,
                "connection limit reached ({} = {}): refusing new connections",
                limit.setting,
                limit.max
            );
            self.since_log = 0;
            self.logged = Some(Instant::now());
        }
    }
}

/// Serves HTTP/1.1 with keep-alive on one connection until it closes or shutdown drains it.
/// `header_timeout` bounds the wait for each request head (an idle keep-alive connection is
/// closed then) and every write that makes no progress (a client that stops reading its
/// answer is cut off).
pub async fn serve_http1<I, S, Fut, B>(
    io: I,
    header_timeout: Duration,
    watcher: Watcher,
    handler: S,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Fn(Request<Incoming>) -> Fut + Send + 'static,
    Fut: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let service = service_fn(move |req| {
        let fut = handler(req);
        async move { Ok::<_, std::convert::Infallible>(fut.await) }
    });
    // Header names in title case (`Content-Type`, `X-Skltp-Prt`): what consumers of the
    // real platform read, as its TLS terminator (Traefik, Go's canonical header keys) writes
    // them in front of VP; scripts written against it compare names case-sensitively.
    let conn = http1::Builder::new()
        .title_case_headers(true)
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .serve_connection(
            TokioIo::new(WriteDeadline::new(io, header_timeout)),
            service,
        );
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// A stream whose writes fail when one makes no progress for `limit`: the peer stopped
/// reading. The timer is armed only while a write waits.
struct WriteDeadline<I> {
    io: I,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<I> WriteDeadline<I> {
    fn new(io: I, limit: Duration) -> Self {
        WriteDeadline {
            io,
            limit,
            stalled: None,
        }
    }

    /// After a write or flush returned `Pending`: an error once the wait has lasted `limit`.
    fn waited(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let limit = self.limit;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the peer read nothing of the answer for {} ms",
                    limit.as_millis()
                ),
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for WriteDeadline<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Pending => this.waited(cx).map(Err),
            ready => {
                this.stalled = None;
                ready
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write_vectored(cx, bufs) {
            Poll::Pending => this.waited(cx).map(Err),
            ready => {
                this.stalled = None;
                ready
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_flush(cx) {
            Poll::Pending => this.waited(cx).map(Err),
            ready => {
                this.stalled = None;
                ready
            }
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_shutdown(cx) {
            Poll::Pending => this.waited(cx).map(Err),
            ready => {
                this.stalled = None;
                ready
            }
        }
    }
}

/// Why a request body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Declared or found larger than the limit (a declared size is refused before reading).
    #[error("the request body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Not all of it arrived within the deadline.
    #[error("the request body did not arrive whole within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The connection broke or the body's framing was malformed.
    #[error("the request body could not be read: {0}")]
    Broken(String),
}

/// Reads a whole request body of at most `limit` bytes within `within`. A body whose
/// `Content-Length` says more is refused before any of it is read; memory is taken as the
/// data arrives (in the pieces it came in, joined at the end), never from the declared size.
pub async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    within: Duration,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    match tokio::time::timeout(within, Limited::new(body, limit).collect()).await {
        Err(_) => Err(BodyError::Timeout(within)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(BodyError::TooLarge { limit })
        }
        Ok(Err(e)) => Err(BodyError::Broken(e.to_string())),
    }
}
