//! The routing core (VP): one [`Router`] per environment, serving consumers over HTTPS with
//! mandatory client certificates and over plain HTTP for whitelisted callers.
//!
//! - [`listener`]: accept loops, TLS handshakes, the consumer's identity read once per
//!   connection, graceful shutdown.
//! - [`pipeline`]: one request, as VP's ordered phases: identity, body, sniff, route,
//!   authorise, profile, forward; every failure ends in one [`crate::soap::VpFault`].
//! - [`forward`]: the pooled keep-alive client towards producers, timeouts, retries and the
//!   mapping of producer answers.
//!
//! The router reads TAK only through an atomically swapped [`Snapshot`]: no lock is taken per
//! request. It never imports the mock producers; it only knows URLs from TAK.

pub mod forward;
pub mod listener;
pub mod pipeline;
pub mod pool;

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use arc_swap::ArcSwapOption;
use bytes::Bytes;

use crate::{
    clock::Clock,
    config::{EnvConfig, EnvName, RouterConfig},
    tak::Snapshot,
};

pub use forward::{ProducerClient, TimeoutTable};
pub use listener::{serve_http, serve_https};

/// Boxed error of response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Body of every response the router writes (an enum, not a boxed body: no allocation and no
/// dynamic call per response).
pub enum RespBody {
    /// Written whole: a fault, the not-found text, a producer's SOAP fault read in full.
    Whole(Option<Bytes>),
    /// A producer's answer, streamed on after its first chunk.
    Streamed(forward::Streamed),
}

impl RespBody {
    /// A body of these bytes.
    pub fn whole(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        RespBody::Whole((!bytes.is_empty()).then_some(bytes))
    }
}

impl http_body::Body for RespBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            RespBody::Whole(bytes) => {
                Poll::Ready(bytes.take().map(|b| Ok(http_body::Frame::data(b))))
            }
            RespBody::Streamed(s) => Pin::new(s).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RespBody::Whole(bytes) => bytes.is_none(),
            RespBody::Streamed(s) => s.is_end_stream(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            RespBody::Whole(bytes) => {
                http_body::SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            RespBody::Streamed(s) => s.size_hint(),
        }
    }
}

/// Which of [`at_once_or_within_by`]'s limits ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// Nothing came for the silence limit.
    Silence,
    /// The deadline of the whole passed.
    Deadline,
}

/// `future` with a limit on silence and a deadline for the whole, whichever comes first; the
/// timer armed only when the future is not ready at once (a body frame that already arrived):
/// arming and disarming a timer costs more than the poll.
pub(crate) async fn at_once_or_within_by<F: Future + Unpin>(
    silence: Duration,
    deadline: tokio::time::Instant,
    mut future: F,
) -> Result<F::Output, Expired> {
    let now = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut future).poll(cx))).await;
    if let Poll::Ready(out) = now {
        return Ok(out);
    }
    let quiet_until = tokio::time::Instant::now() + silence;
    match tokio::time::timeout_at(quiet_until.min(deadline), future).await {
        Ok(out) => Ok(out),
        Err(_) if deadline <= quiet_until => Err(Expired::Deadline),
        Err(_) => Err(Expired::Silence),
    }
}

/// `future` by a deadline, the timer armed only when the future is not ready at once.
pub(crate) async fn at_once_or_by<F: Future + Unpin>(
    deadline: tokio::time::Instant,
    mut future: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let now = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut future).poll(cx))).await;
    match now {
        Poll::Ready(out) => Ok(out),
        Poll::Pending => tokio::time::timeout_at(deadline, future).await,
    }
}

/// The published TAK of one environment as the router sees it: `None` until the first
/// snapshot is published (then every call gets VP008), swapped atomically on publish.
pub type TakCell = Arc<ArcSwapOption<Snapshot>>;

/// State shared by every connection of one environment's router.
pub struct Router {
    /// Which environment this is (for logs).
    pub env: EnvName,
    /// The environment's settings: instance name and id, whitelist, original-consumer rules.
    pub settings: EnvConfig,
    /// Settings shared by all routers: sizes, timeouts, headers.
    pub config: RouterConfig,
    /// The published TAK snapshot, read once per request.
    pub tak: TakCell,
    /// Pooled keep-alive connections to producers, presenting the platform's certificate.
    pub producers: ProducerClient,
    /// Producer response timeouts per contract (`timeoutconfig.json`).
    pub timeouts: TimeoutTable,
    /// The environment's (simulated) clock: validity is checked against its day.
    pub clock: Arc<Clock>,
    /// Header values that never change, built once instead of per request.
    pub(crate) fixed: FixedHeaders,
}

/// Outbound header values taken from the configuration, validated once.
pub(crate) struct FixedHeaders {
    /// `User-Agent` towards producers (`None` if the configured text is no valid header value).
    pub(crate) user_agent: Option<http::HeaderValue>,
    /// `x-vp-instance-id` towards `http://` producers.
    pub(crate) instance_id: Option<http::HeaderValue>,
}

impl Router {
    /// Assembles a router; the caller binds listeners and runs [`serve_https`]/[`serve_http`].
    pub fn new(
        env: EnvName,
        settings: EnvConfig,
        config: RouterConfig,
        tak: TakCell,
        producers: ProducerClient,
        timeouts: TimeoutTable,
        clock: Arc<Clock>,
    ) -> Self {
        let fixed = FixedHeaders {
            user_agent: http::HeaderValue::from_str(&config.user_agent).ok(),
            instance_id: http::HeaderValue::from_str(&settings.instance_id).ok(),
        };
        Router {
            fixed,
            env,
            settings,
            config,
            tak,
            producers,
            timeouts,
            clock,
        }
    }
}
