//! The load generator's client: one connection at a time per task, on hyper's
//! `client::conn::http1` over tokio-rustls (or plain TCP). The task that sends also drives its
//! connection (no second task to wake per request), and a request that was never
//! written because the server closed an idle keep-alive connection is handed back to be sent
//! on a new one rather than counted as an error.

use std::{
    collections::VecDeque, future::Future, net::SocketAddr, pin::Pin, sync::Mutex, task::Poll,
};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::{
    HandshakeKind, NamedGroup,
    client::{
        ClientSessionMemoryCache, ClientSessionStore, Tls12ClientSessionValue,
        Tls13ClientSessionValue,
    },
};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::summary::{ErrorKind, TlsInfo, vp_code};
use crate::soap::VpCode;

/// How much of a 500 answer is kept to find its VP code (the `faultstring` comes early).
const FAULT_PREFIX: usize = 64 * 1024;

/// Where and how to connect; shared by every task.
pub struct Target {
    /// The server's address, resolved once.
    pub addr: SocketAddr,
    /// TLS client and the name to verify, or `None` for plain HTTP.
    pub tls: Option<(TlsConnector, ServerName<'static>)>,
    /// The request path (origin form).
    pub path: Uri,
    /// Headers of every request (`host`, `content-type`, the user's).
    pub headers: HeaderMap,
}

/// A failure, by kind, with its message.
#[derive(Debug)]
pub struct Failure {
    /// The kind (for counting).
    pub kind: ErrorKind,
    /// What happened.
    pub message: String,
}

impl Failure {
    fn new(kind: ErrorKind, message: impl std::fmt::Display) -> Self {
        Failure {
            kind,
            message: message.to_string(),
        }
    }
}

/// What a new connection's handshake was.
#[derive(Debug, Clone)]
pub struct Opened {
    /// `Some(true)` resumed, `Some(false)` full handshake, `None` plain TCP.
    pub resumed: Option<bool>,
    /// TLS parameters.
    pub tls: Option<TlsInfo>,
}

type Driver = Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>;

/// An open HTTP/1.1 connection and the future that drives it.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    driver: Option<Driver>,
}

/// The outcome of sending one request.
pub enum Exchange {
    /// An answer: its status and, for HTTP 500, the VP code.
    Answer(u16, Option<VpCode>),
    /// The connection was closed before the request was written: send it again elsewhere.
    NotSent(Box<Request<Full<Bytes>>>),
    /// The request failed.
    Failed(Failure),
}

/// Opens a connection: TCP, the TLS handshake if any, the HTTP/1.1 handshake.
pub async fn connect(target: &Target) -> Result<(Connection, Opened), Failure> {
    let tcp = TcpStream::connect(target.addr)
        .await
        .map_err(|e| Failure::new(ErrorKind::Connect, format!("{}: {e}", target.addr)))?;
    let _ = tcp.set_nodelay(true);
    match &target.tls {
        None => {
            let conn = handshake(tcp).await?;
            Ok((
                conn,
                Opened {
                    resumed: None,
                    tls: None,
                },
            ))
        }
        Some((connector, name)) => {
            let tls = connector
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| Failure::new(ErrorKind::Tls, e))?;
            let c = tls.get_ref().1;
            let opened = Opened {
                resumed: Some(c.handshake_kind() == Some(HandshakeKind::Resumed)),
                tls: Some(TlsInfo {
                    version: c
                        .protocol_version()
                        .map(|v| format!("{v:?}"))
                        .unwrap_or_default(),
                    group: c
                        .negotiated_key_exchange_group()
                        .map(|g| format!("{:?}", g.name()))
                        .unwrap_or_default(),
                    cipher: c
                        .negotiated_cipher_suite()
                        .map(|s| format!("{:?}", s.suite()))
                        .unwrap_or_default(),
                }),
            };
            Ok((handshake(tls).await?, opened))
        }
    }
}

async fn handshake<I>(io: I) -> Result<Connection, Failure>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http1::Builder::new()
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| Failure::new(ErrorKind::Http, e))?;
    Ok(Connection {
        sender,
        driver: Some(Box::pin(conn)),
    })
}

impl Connection {
    /// Whether the connection can take another request (the server has not closed it).
    pub fn is_open(&self) -> bool {
        self.driver.is_some() && !self.sender.is_closed()
    }

    /// Sends one request and reads its whole answer.
    pub async fn exchange(&mut self, req: Request<Full<Bytes>>) -> Exchange {
        if drive(
            &mut self.driver,
            std::future::poll_fn(|cx| self.sender.poll_ready(cx)),
        )
        .await
        .is_err()
        {
            return Exchange::NotSent(Box::new(req));
        }
        let sent = self.sender.try_send_request(req);
        let resp = match drive(&mut self.driver, sent).await {
            Ok(resp) => resp,
            Err(mut e) => {
                if let Some(req) = e.take_message() {
                    return Exchange::NotSent(Box::new(req));
                }
                return Exchange::Failed(classify(e.error()));
            }
        };
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut kept: Option<Vec<u8>> = (status == 500).then(Vec::new);
        loop {
            match drive(&mut self.driver, body.frame()).await {
                None => break,
                Some(Ok(frame)) => {
                    if let (Some(kept), Some(data)) = (kept.as_mut(), frame.data_ref()) {
                        let room = FAULT_PREFIX.saturating_sub(kept.len());
                        kept.extend_from_slice(&data[..data.len().min(room)]);
                    }
                }
                Some(Err(e)) => return Exchange::Failed(classify(&e)),
            }
        }
        Exchange::Answer(status, kept.as_deref().and_then(vp_code))
    }
}

/// Polls `fut` and the connection's driver together until `fut` is done. When the connection
/// ends first, `fut` is polled on: it then sees the closed connection.
async fn drive<F: Future>(driver: &mut Option<Driver>, fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(v);
        }
        if let Some(d) = driver.as_mut()
            && d.as_mut().poll(cx).is_ready()
        {
            *driver = None;
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    })
    .await
}

fn classify(e: &hyper::Error) -> Failure {
    let kind = if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
        ErrorKind::Closed
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Http
    };
    // hyper's Display hides the cause ("connection error"); the source says what it was.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    Failure::new(kind, message)
}

/// A request with the target's fixed headers and this body (and correlation id).
pub fn request(
    target: &Target,
    body: Bytes,
    correlation_id: Option<&[u8]>,
    close: bool,
) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = http::Method::POST;
    *req.uri_mut() = target.path.clone();
    let headers = req.headers_mut();
    headers.clone_from(&target.headers);
    if let Some(id) = correlation_id.and_then(|id| HeaderValue::from_bytes(id).ok()) {
        headers.insert(crate::vocab::CORRELATION_ID, id);
    }
    if close {
        headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    req
}

/// The TLS session store of a run. rustls' own memory cache keeps at most 8 TLS 1.3 tickets per
/// server: fewer than the connections a run opens at once, so in `resume` mode some would fall
/// back to full handshakes. This one keeps up to [`TicketStore::CAP`] and hands out the newest
/// first (the likeliest to be still in a stateful server's session cache).
#[derive(Debug)]
pub struct TicketStore {
    /// Everything but TLS 1.3 tickets.
    others: ClientSessionMemoryCache,
    /// TLS 1.3 tickets, oldest first, with the server they are for.
    tickets: Mutex<VecDeque<(ServerName<'static>, Tls13ClientSessionValue)>>,
}

impl TicketStore {
    /// Tickets kept at most.
    pub const CAP: usize = 1024;
}

impl Default for TicketStore {
    fn default() -> Self {
        TicketStore {
            others: ClientSessionMemoryCache::new(64),
            tickets: Mutex::new(VecDeque::new()),
        }
    }
}

impl ClientSessionStore for TicketStore {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        self.others.set_kx_hint(server_name, group);
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        self.others.kx_hint(server_name)
    }

    fn set_tls12_session(&self, server_name: ServerName<'static>, value: Tls12ClientSessionValue) {
        self.others.set_tls12_session(server_name, value);
    }

    fn tls12_session(&self, server_name: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        self.others.tls12_session(server_name)
    }

    fn remove_tls12_session(&self, server_name: &ServerName<'static>) {
        self.others.remove_tls12_session(server_name);
    }

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        if let Ok(mut t) = self.tickets.lock() {
            if t.len() >= Self::CAP {
                t.pop_front();
            }
            t.push_back((server_name, value));
        }
    }

    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        let mut t = self.tickets.lock().ok()?;
        let at = t.iter().rposition(|(name, _)| name == server_name)?;
        t.remove(at).map(|(_, value)| value)
    }
}
