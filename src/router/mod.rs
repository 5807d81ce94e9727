//! The routing core (VP): one [`Router`] per environment, serving consumers over HTTPS with
//! mandatory client certificates and over plain HTTP for whitelisted callers.
//!
//! - [`listener`]: accept loops, TLS handshakes, the consumer's identity read once per
//!   connection ([`ConnInfo`], here because listener and pipeline both use it), graceful
//!   shutdown.
//! - [`pipeline`]: one request, as VP's ordered phases: identity, body, sniff, route,
//!   authorise, profile, forward; every failure ends in one [`crate::soap::VpFault`].
//! - [`charset`]: a request in another encoding than UTF-8 converted to UTF-8 towards the
//!   producer and its answer back, as VP does.
//! - [`forward`]: the pooled keep-alive client towards producers, timeouts, retries and the
//!   mapping of producer answers.
//! - [`subject`]: a certificate's subject as VP's HTTPS route writes it (VP002's details).
//! - [`wsdl`]: `?wsdl` and `?xsd=` on any `/vp` path: the contract's WSDL and schemas with
//!   the URL asked for, as VP serves them before any other phase.
//!
//! The router reads TAK only through an atomically swapped [`crate::tak::Snapshot`]
//! ([`TakCell`]): no lock is taken per request. It never imports the mock producers; it only knows URLs from TAK.

pub mod auth_cert;
pub mod charset;
pub mod forward;
pub mod hsa;
pub mod listener;
pub mod pipeline;
pub mod pool;
pub mod subject;
pub mod wsdl;

use std::{
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::{
    clock::Clock,
    config::{EnvConfig, RouterConfig},
    tak::{TakCell, hsa::HsaCell, rules::RoutingRules},
    vocab::EnvName,
};

pub use forward::{ProducerClient, TimeoutTable};
use forward::{RequestBody, Upload, UploadFailure, UploadState};
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

/// The body of a request towards a producer: here beside [`RespBody`], because the pipeline
/// builds it, the forwarder sends it and the pool's connections are typed by it.
pub enum OutBody {
    /// Read whole from the consumer before.
    Whole(RequestBody),
    /// Its beginning read (the SOAP header and the first body element), the rest read from
    /// the consumer while it is sent on.
    Streamed(Upload),
}

impl OutBody {
    /// How a streamed body's sending is going, and when it must have arrived whole (`None`
    /// for a whole one).
    fn upload(&self) -> Option<(Arc<UploadState>, tokio::time::Instant)> {
        match self {
            OutBody::Whole(_) => None,
            OutBody::Streamed(u) => Some((u.state.clone(), u.limits.deadline)),
        }
    }
}

impl Body for OutBody {
    type Data = Bytes;
    type Error = UploadFailure;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, UploadFailure>>> {
        match self.get_mut() {
            OutBody::Whole(b) => Pin::new(b).poll_frame(cx).map_err(|e| match e {}),
            OutBody::Streamed(u) => Pin::new(u).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            OutBody::Whole(b) => b.is_end_stream(),
            OutBody::Streamed(u) => u.head.is_end_stream() && u.rest.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            OutBody::Whole(b) => b.size_hint(),
            OutBody::Streamed(u) => {
                let rest = u.rest.size_hint();
                let head = u.head.remaining;
                let mut hint = SizeHint::new();
                hint.set_lower(rest.lower() + head);
                if let Some(upper) = rest.upper() {
                    hint.set_upper(upper + head);
                }
                hint
            }
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

/// Who is calling, as far as the connection tells.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Mutual TLS: the consumer's HSA-id from the certificate subject's serialNumber, or, when
    /// the certificate has none, its subject as VP writes it (for VP002's details).
    Https(Result<Arc<str>, Arc<str>>),
    /// Plain HTTP: identity comes from headers, after the whitelist check.
    Http,
}

/// What the pipeline knows about the connection a request came on, worked out once per
/// connection rather than per request.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// HTTPS with its certificate identity, or plain HTTP.
    pub transport: Transport,
    /// The peer's IP address as text (whitelist check, VP011's details).
    pub peer_ip: Box<str>,
    /// Whether the peer's IP address is on the environment's whitelist.
    pub peer_whitelisted: bool,
    /// The certificate's HSA-id as a header value (towards producers), HTTPS only.
    pub sender_header: Option<http::HeaderValue>,
}

impl ConnInfo {
    /// Reads what every request on this connection will need.
    pub fn new(peer: SocketAddr, transport: Transport, router: &Router) -> Self {
        let peer_ip: Box<str> = peer.ip().to_string().into();
        let peer_whitelisted = pipeline::whitelisted(router, &peer_ip);
        let sender_header = match &transport {
            Transport::Https(Ok(id)) => http::HeaderValue::from_str(id).ok(),
            _ => None,
        };
        ConnInfo {
            peer,
            transport,
            peer_ip,
            peer_whitelisted,
            sender_header,
        }
    }
}

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
    /// The HSA tree the lookups climb (shared by all routers, swapped by `/resethsacache`).
    pub hsa: HsaCell,
    /// The lookups' fallback rules (default routing, HSA climbs), from `config`.
    pub rules: RoutingRules,
    /// The testbed's counters (`/metrics`); detached ones until [`Router::with_metrics`].
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Header values that never change, built once instead of per request.
    pub(crate) fixed: FixedHeaders,
    /// The recent requests the console's live view shows (shared with the admin listener).
    pub live: Arc<crate::live::Feed>,
    /// HSA-ids of the certificates a load balancer passed in `x-vp-auth-cert`, each parsed once.
    pub auth_certs: auth_cert::AuthCertCache,
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
        wsdl::prepare();
        let fixed = FixedHeaders {
            user_agent: http::HeaderValue::from_str(&config.user_agent).ok(),
            instance_id: http::HeaderValue::from_str(&settings.instance_id).ok(),
        };
        let rules = routing_rules(&config);
        Router {
            auth_certs: auth_cert::AuthCertCache::default(),
            fixed,
            hsa: HsaCell::default(),
            rules,
            metrics: crate::metrics::Metrics::detached(),
            env,
            settings,
            config,
            tak,
            producers,
            timeouts,
            clock,
            live: Arc::new(crate::live::Feed::new(1)),
        }
    }

    /// The same router recording its answers in this feed (default: one of its own).
    pub fn with_live(mut self, live: Arc<crate::live::Feed>) -> Self {
        self.live = live;
        self
    }

    /// The same router climbing this HSA tree (default: an empty one).
    pub fn with_hsa(mut self, hsa: HsaCell) -> Self {
        self.hsa = hsa;
        self
    }

    /// The same router counting into `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }
}

/// VP's `defaultrouting.*` and `hsa.lookup.*` as the lookups take them.
fn routing_rules(config: &RouterConfig) -> RoutingRules {
    use crate::tak::rules::HsaLookup;
    let switch = |s: &crate::config::HsaLookupSwitch| HsaLookup {
        default_enabled: s.default_enabled,
        excepted_namespaces: s.excepted_namespaces.clone(),
    };
    RoutingRules {
        delimiter: config.default_routing.delimiter.clone(),
        allowed_contracts: config.default_routing.allowed_contracts.clone(),
        allowed_sender_ids: config.default_routing.allowed_sender_ids.clone(),
        vagval_hsa: switch(&config.hsa_lookup.vagval),
        behorighet_hsa: switch(&config.hsa_lookup.behorighet),
    }
}
