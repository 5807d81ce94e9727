//! Keep-alive connections to producers, on hyper's `client::conn::http1`: per producer (scheme,
//! host and port) a small stack of idle connections. The TLS identity is the pool's own (each
//! environment's router has its own pool presenting its platform certificate), so it is not
//! part of the key.
//!
//! It connects (name lookup, TCP with the connect timeout shared among the addresses, TLS with
//! the platform certificate, no ALPN), hands out the most recently used idle connection or a
//! new one, and takes a connection back once the answer on it was read to its end. A request
//! that a pooled connection could not even start to send (the producer had closed it) goes out
//! on another one. It knows nothing of VP: retrying failed connects, the deadline of the whole
//! exchange and the meaning of answers are [`super::forward`]'s.

use std::{
    collections::HashMap,
    hash::BuildHasher,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, Weak, atomic::AtomicBool, atomic::Ordering},
    task::{Context, Poll, ready},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, Uri, uri::Authority};
use http_body::{Body, Frame, SizeHint};
use hyper::{
    body::Incoming,
    client::conn::http1::{self, SendRequest},
};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::OutBody;

/// How long a connection may wait unused in the pool.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Most producer URLs whose parsed form is kept (TAK holds few producer URLs; an unbounded
/// number could only come from an unbounded TAK).
const MAX_TARGETS: usize = 4096;

/// A producer URL, parsed once: where to connect and what the request line and `Host` say.
#[derive(Debug)]
pub struct Target {
    /// The URL as TAK has it.
    pub uri: Uri,
    /// Which idle connections can carry requests to it.
    key: HostKey,
    /// The request target in origin form (path and query).
    origin: Uri,
    /// `Host`: the host, and the port unless it is the scheme's default.
    host_header: Option<HeaderValue>,
    /// Host name or address to look up (IPv6 without brackets) and port.
    host: Box<str>,
    port: u16,
    /// The name the producer's certificate must have (HTTPS only).
    server_name: Option<ServerName<'static>>,
    /// Why no connection to it can be made (unsupported scheme, no host), reported as a
    /// connect failure as any other.
    problem: Option<String>,
}

impl Target {
    /// Parses a producer URL; only a URL that is no URI at all is refused here.
    pub fn parse(url: &str) -> Result<Target, http::uri::InvalidUri> {
        let uri: Uri = url.parse()?;
        let https = uri.scheme_str() == Some("https");
        let mut problem = match uri.scheme_str() {
            Some("http" | "https") => None,
            Some(other) => Some(format!("unsupported scheme {other}")),
            None => Some("missing scheme".to_owned()),
        };
        let host = uri.host().unwrap_or_default();
        if host.is_empty() && problem.is_none() {
            problem = Some("missing host".to_owned());
        }
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host_header = match uri.port_u16() {
            Some(p) if p != if https { 443 } else { 80 } => {
                HeaderValue::from_str(&format!("{host}:{p}")).ok()
            }
            _ => HeaderValue::from_str(host).ok(),
        };
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let server_name = if https && problem.is_none() {
            match ServerName::try_from(bare.to_owned()) {
                Ok(name) => Some(name),
                Err(e) => {
                    problem = Some(format!("invalid server name {bare}: {e}"));
                    None
                }
            }
        } else {
            None
        };
        let origin = match uri.path_and_query() {
            Some(p) if p.as_str() != "/" => {
                let mut parts = http::uri::Parts::default();
                parts.path_and_query = Some(p.clone());
                Uri::from_parts(parts).unwrap_or_default()
            }
            _ => Uri::default(),
        };
        Ok(Target {
            key: HostKey::new(https, uri.authority().cloned()),
            origin,
            host_header,
            host: bare.into(),
            port,
            server_name,
            problem,
            uri,
        })
    }

    /// Whether requests go over plain HTTP (internal headers are sent then).
    pub fn is_http(&self) -> bool {
        self.uri.scheme_str() == Some("http")
    }
}

/// What makes connections interchangeable.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostKey {
    https: bool,
    authority: Option<Authority>,
    /// Their hash, computed once per URL rather than for every request.
    hash: u64,
}

impl HostKey {
    fn new(https: bool, authority: Option<Authority>) -> Self {
        let hash = foldhash::fast::FixedState::default().hash_one((https, &authority));
        HostKey {
            https,
            authority,
            hash,
        }
    }
}

impl std::hash::Hash for HostKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// Why a request could not be sent.
pub enum PoolError {
    /// Name lookup, TCP connect, TLS handshake or HTTP/1.1 set-up failed; the request comes
    /// back untouched (to be sent again).
    Connect(String, Box<Request<OutBody>>),
    /// The exchange failed after the request was (or may have been) sent.
    Io(hyper::Error),
}

/// The producers' connections of one router (cheap to clone: shared).
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    tls: TlsConnector,
    connect_timeout: Duration,
    max_idle_per_host: usize,
    idle: Mutex<HashMap<HostKey, Vec<Idle>, FastHash>>,
    targets: Mutex<HashMap<Box<str>, Arc<Target>, FastHash>>,
    /// Whether the task that closes long-idle connections runs.
    reaper: AtomicBool,
}

type FastHash = foldhash::fast::RandomState;

struct Idle {
    conn: Conn,
    since: Instant,
}

/// One connection to a producer: the handle to send on, and the task that drives it (aborted
/// when an exchange on it is given up, so that a request body it may still be sending, and
/// with it the consumer's connection, is let go at once).
struct Conn {
    sender: SendRequest<OutBody>,
    task: tokio::task::AbortHandle,
}

/// Aborts a connection's task when dropped, unless disarmed: an exchange given up before its
/// answer's head arrived (the producer timeout) ends its connection.
struct AbortUnlessDone(Option<tokio::task::AbortHandle>);

impl Drop for AbortUnlessDone {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

impl Pool {
    /// An empty pool connecting with `tls` (the platform's client configuration).
    pub fn new(
        tls: rustls::ClientConfig,
        connect_timeout: Duration,
        max_idle_per_host: usize,
    ) -> Self {
        Pool {
            inner: Arc::new(Inner {
                tls: TlsConnector::from(Arc::new(tls)),
                connect_timeout,
                max_idle_per_host,
                idle: Mutex::new(HashMap::default()),
                targets: Mutex::new(HashMap::default()),
                reaper: AtomicBool::new(false),
            }),
        }
    }

    /// The parsed form of a producer URL, parsed once and kept.
    pub fn target(&self, url: &str) -> Result<Arc<Target>, http::uri::InvalidUri> {
        if let Some(t) = lock(&self.inner.targets).get(url) {
            return Ok(t.clone());
        }
        let target = Arc::new(Target::parse(url)?);
        let mut targets = lock(&self.inner.targets);
        if targets.len() >= MAX_TARGETS {
            targets.clear();
        }
        targets.insert(url.into(), target.clone());
        Ok(target)
    }

    /// Sends `req` (its URI and `Host` are set here) on an idle connection to `target`, or a
    /// new one, and waits for the answer's head. The answer's body gives the connection back
    /// when it has been read to its end.
    pub async fn send(
        &self,
        target: &Arc<Target>,
        mut req: Request<OutBody>,
    ) -> Result<Response<AnswerBody>, PoolError> {
        *req.uri_mut() = target.origin.clone();
        if let Some(host) = &target.host_header {
            req.headers_mut().insert(http::header::HOST, host.clone());
        }
        loop {
            let (mut conn, fresh) = match self.take_idle(&target.key) {
                Some(conn) => (conn, false),
                None => match self.connect(target).await {
                    Ok(conn) => (conn, true),
                    Err(e) => return Err(PoolError::Connect(e, Box::new(req))),
                },
            };
            if !fresh && conn.sender.ready().await.is_err() {
                continue;
            }
            let mut guard = AbortUnlessDone(Some(conn.task.clone()));
            match conn.sender.try_send_request(req).await {
                Ok(resp) => {
                    guard.0 = None;
                    let back = GiveBack {
                        pool: self.inner.clone(),
                        target: target.clone(),
                        conn,
                    };
                    return Ok(resp.map(|incoming| AnswerBody {
                        incoming,
                        back: Some(back),
                    }));
                }
                Err(mut e) => match e.take_message() {
                    // Never sent: the pooled connection was closed meanwhile; another one.
                    Some(unsent) if !fresh => {
                        guard.0 = None;
                        req = unsent;
                    }
                    _ => return Err(PoolError::Io(e.into_error())),
                },
            }
        }
    }

    /// The most recently used live idle connection to `key`.
    fn take_idle(&self, key: &HostKey) -> Option<Conn> {
        let mut idle = lock(&self.inner.idle);
        let list = idle.get_mut(key)?;
        while let Some(c) = list.pop() {
            if !c.conn.sender.is_closed() && c.since.elapsed() < IDLE_TIMEOUT {
                return Some(c.conn);
            }
        }
        None
    }

    async fn connect(&self, target: &Target) -> Result<Conn, String> {
        let fail = |what: String| format!("client error (Connect): {what}");
        if let Some(problem) = &target.problem {
            return Err(fail(problem.clone()));
        }
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((&*target.host, target.port))
            .await
            .map_err(|e| fail(format!("dns error: {e}")))?
            .collect();
        // As hyper-util's connector: the connect timeout is shared among the addresses.
        let per_address = self.inner.connect_timeout / addrs.len().max(1) as u32;
        let mut tcp = None;
        let mut last = String::from("dns error: no addresses");
        for addr in addrs {
            match tokio::time::timeout(per_address, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    tcp = Some(stream);
                    break;
                }
                Ok(Err(e)) => last = format!("tcp connect error: {e}"),
                Err(_) => last = "tcp connect error: connection timed out".to_owned(),
            }
        }
        let tcp = tcp.ok_or_else(|| fail(last))?;
        let _ = tcp.set_nodelay(true);
        // Header names go out lower-case (hyper's default), as VP writes its own to producers:
        // Netty keeps a name as given, and VP gives `x-vp-sender-id`, `x-skltp-correlation-id`,
        // `x-rivta-routing-history`, `content-type`, `content-length`, `host` in lower case
        // (its `HttpHeaders` constants, Netty 4.1's `HttpHeaderNames`).
        let builder = http1::Builder::new();
        let conn = match &target.server_name {
            Some(name) => {
                let tls = self
                    .inner
                    .tls
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| fail(format!("TLS handshake: {e}")))?;
                let (sender, conn) = builder
                    .handshake(TokioIo::new(tls))
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                let task = tokio::spawn(drive(conn)).abort_handle();
                Conn { sender, task }
            }
            None => {
                let (sender, conn) = builder
                    .handshake(TokioIo::new(tcp))
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                let task = tokio::spawn(drive(conn)).abort_handle();
                Conn { sender, task }
            }
        };
        Ok(conn)
    }
}

/// Runs one connection until it closes.
async fn drive<T>(conn: http1::Connection<T, OutBody>)
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "producer connection ended with an error");
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing is left half-changed by a panic under these locks: go on.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    fn give_back(self: &Arc<Self>, key: &HostKey, conn: Conn) {
        if conn.sender.is_closed() {
            return;
        }
        let mut idle = lock(&self.idle);
        let list = idle.entry(key.clone()).or_default();
        if list.len() < self.max_idle_per_host {
            list.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
        drop(idle);
        if !self.reaper.swap(true, Ordering::Relaxed)
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(reap(Arc::downgrade(self)));
        }
    }
}

/// Closes connections idle for longer than [`IDLE_TIMEOUT`] (dropping the last handle of a
/// connection ends it), until the pool is gone.
async fn reap(pool: Weak<Inner>) {
    loop {
        tokio::time::sleep(IDLE_TIMEOUT / 3).await;
        let Some(pool) = pool.upgrade() else { return };
        lock(&pool.idle).retain(|_, list| {
            list.retain(|c| !c.conn.sender.is_closed() && c.since.elapsed() < IDLE_TIMEOUT);
            !list.is_empty()
        });
    }
}

/// Where a connection goes once its answer has been read.
struct GiveBack {
    pool: Arc<Inner>,
    target: Arc<Target>,
    conn: Conn,
}

/// A producer's answer body: read to its end, its connection goes back to the pool; dropped
/// before, the connection is closed at once (it may still carry the rest of this answer).
pub struct AnswerBody {
    incoming: Incoming,
    back: Option<GiveBack>,
}

impl AnswerBody {
    fn give_back(&mut self) {
        if let Some(b) = self.back.take() {
            b.pool.give_back(&b.target.key, b.conn);
        }
    }
}

impl Body for AnswerBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = ready!(Pin::new(&mut self.incoming).poll_frame(cx));
        match &frame {
            None => self.give_back(),
            Some(Ok(_)) if self.incoming.is_end_stream() => self.give_back(),
            Some(Err(_)) => self.back = None,
            Some(Ok(_)) => {}
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

impl Drop for AnswerBody {
    fn drop(&mut self) {
        // A reader may stop at `is_end_stream` without polling once more.
        if self.incoming.is_end_stream() {
            self.give_back();
        } else if let Some(b) = self.back.take() {
            // Given up before its end (the producer timeout): the connection ends now rather
            // than when hyper notices.
            b.conn.task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_say_where_to_connect_and_what_host_and_path_to_send() {
        let t = Target::parse("https://localhost:8443/a/b?c=1").unwrap();
        assert_eq!(t.origin, "/a/b?c=1");
        assert_eq!(t.host_header.as_ref().unwrap(), "localhost:8443");
        assert_eq!(
            (&*t.host, t.port, t.problem.as_deref()),
            ("localhost", 8443, None)
        );
        assert!(t.server_name.is_some() && !t.is_http());

        let t = Target::parse("https://[::1]:443").unwrap();
        assert_eq!(t.origin, "/");
        assert_eq!(t.host_header.as_ref().unwrap(), "[::1]");
        assert_eq!((&*t.host, t.port), ("::1", 443));

        let t = Target::parse("http://10.0.0.1/x").unwrap();
        assert_eq!(t.host_header.as_ref().unwrap(), "10.0.0.1");
        assert!(t.is_http() && t.server_name.is_none());

        assert_eq!(
            Target::parse("ftp://h/x").unwrap().problem.as_deref(),
            Some("unsupported scheme ftp")
        );
        assert_eq!(
            Target::parse("/only/a/path").unwrap().problem.as_deref(),
            Some("missing scheme")
        );
        assert!(Target::parse("http://a b").is_err());
    }
}
