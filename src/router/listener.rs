//! Accept loops of a router: HTTPS with mandatory client certificates (the handshake refuses
//! a missing certificate or one from another CA, as VP's `needClientAuth`), and plain HTTP.
//!
//! The consumer's HSA-id is read from the peer certificate once per connection, not per
//! request. Slow clients are bounded: the handshake, the request head and every body read
//! have the configured client read timeout, the whole body its own deadline (see
//! [`super::pipeline`]), and a write to a client that stops reading its answer fails after the
//! client read timeout. Each listener holds at most `connection_limits.router` connections:
//! beyond them the HTTPS listener closes a connection before its handshake, the HTTP listener
//! answers 503 (see [`net::Refusal`]). On shutdown the loops stop accepting and let in-flight
//! requests finish.

use std::sync::Arc;

use hyper_util::server::graceful::Watcher;
use tokio::{net::TcpListener, sync::watch};
use tokio_rustls::TlsAcceptor;

use super::{ConnInfo, Router, Transport, pipeline};
use crate::metrics::{HandshakeFailure, Listener};
use crate::net;

/// Serves mutual-TLS consumers until `shutdown` turns true, at most `max_connections` at once.
pub async fn serve_https(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Arc<Router>,
    max_connections: usize,
    shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let name = format!("{}-https", router.env);
    let limit = net::Limit {
        max: max_connections,
        refusal: net::Refusal::Close,
        setting: "connection_limits.router",
    };
    net::accept_loop(listener, shutdown, &name, limit, move |tcp, peer, graceful, slot| {
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let listener = Listener::Https(router.env);
            let _open = router.metrics.connection(listener);
            let timeout = router.config.client_read_timeout();
            let tls = match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    router.metrics.handshake_failed(listener, HandshakeFailure::of(&e));
                    tracing::info!(event.action = "tls-handshake-failed", source.ip = %peer.ip(), source.port = peer.port(), error.code = certificate_refused(&e).then_some(VP002), error.message = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    router.metrics.handshake_failed(listener, HandshakeFailure::Timeout);
                    tracing::info!(event.action = "tls-handshake-failed", source.ip = %peer.ip(), source.port = peer.port(), error.message = "the client did not complete its handshake in time", "TLS handshake timed out");
                    return;
                }
            };
            router.metrics.handshake_ok(listener);
            let identity = identity_of(tls.get_ref().1.peer_certificates());
            let info = ConnInfo::new(peer, Transport::Https(identity), &router);
            serve_connection(tls, info, router, graceful).await;
        });
    })
    .await;
}

/// The code a handshake refused for the client's certificate is logged with (no answer is
/// sent: VP's `needClientAuth` refuses it in the handshake too); the code VP answers a call
/// without a usable certificate.
const VP002: &str = "VP002";

/// Whether the handshake failed for the client's certificate: none, or one the testbed does
/// not trust (another CA, expired, not for client authentication).
fn certificate_refused(e: &std::io::Error) -> bool {
    matches!(
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::NoCertificatesPresented | rustls::Error::InvalidCertificate(_))
    )
}

/// Serves plain-HTTP callers until `shutdown` turns true, at most `max_connections` at once.
/// The whitelist is checked per request (VP011 is a SOAP fault, not a refused connection).
pub async fn serve_http(
    listener: TcpListener,
    router: Arc<Router>,
    max_connections: usize,
    shutdown: watch::Receiver<bool>,
) {
    let name = format!("{}-http", router.env);
    let limit = net::Limit {
        max: max_connections,
        refusal: net::Refusal::Http503,
        setting: "connection_limits.router",
    };
    net::accept_loop(
        listener,
        shutdown,
        &name,
        limit,
        move |tcp, peer, graceful, slot| {
            let router = router.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let _open = router.metrics.connection(Listener::Http(router.env));
                let info = ConnInfo::new(peer, Transport::Http, &router);
                serve_connection(tcp, info, router, graceful).await;
            });
        },
    )
    .await;
}

/// Reads the HSA-id once per connection; without one, the subject for VP002's details, as
/// VP's HTTPS route writes it ([`super::subject`]).
fn identity_of(
    certs: Option<&[rustls_pki_types::CertificateDer<'_>]>,
) -> Result<Arc<str>, Arc<str>> {
    // The handshake requires a certificate; VP's details for none would name the subject
    // `null` (Camel sets no subject header).
    let Some(cert) = certs.and_then(|c| c.first()) else {
        return Err("null".into());
    };
    match crate::pki::hsa_id_from_der(cert.as_ref()) {
        Ok(Some(id)) if !id.is_empty() => Ok(id.into()),
        _ => Err(super::subject::java_subject_name(cert.as_ref())
            .unwrap_or_else(|| "null".to_owned())
            .into()),
    }
}

async fn serve_connection<I>(io: I, info: ConnInfo, router: Arc<Router>, watcher: Watcher)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let timeout = router.config.client_read_timeout();
    let info = Arc::new(info);
    net::serve_http1(io, timeout, watcher, move |req| {
        let router = router.clone();
        let info = info.clone();
        async move { pipeline::handle(&router, &info, req).await }
    })
    .await;
}
