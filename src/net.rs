//! Listener plumbing shared by the router, the mock producers and the admin API: an accept
//! loop that stops on shutdown and lets in-flight requests finish, and HTTP/1.1 connection
//! serving with a header read timeout.
//!
//! It knows nothing of SOAP, TAK or identities; callers pass a per-connection closure.

use std::{future::Future, net::SocketAddr, time::Duration};

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
    net::{TcpListener, TcpStream},
    sync::watch,
};

/// How long in-flight requests may take to finish after shutdown starts.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts connections until `shutdown` turns true, handing each to `on_accept` with a
/// watcher for graceful shutdown; then waits (up to [`DRAIN_TIMEOUT`]) for them to finish.
pub async fn accept_loop<F>(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    name: &str,
    on_accept: F,
) where
    F: Fn(TcpStream, SocketAddr, Watcher),
{
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let _ = tcp.set_nodelay(true);
                    on_accept(tcp, peer, graceful.watcher());
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(listener = name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
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

/// Serves HTTP/1.1 with keep-alive on one connection until it closes or shutdown drains it.
pub async fn serve_http1<I, S, Fut, B>(
    io: I,
    header_timeout: Duration,
    watcher: Watcher,
    handler: S,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
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
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
