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

use std::sync::Arc;

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
/// Body of every response the router writes: a fault, or a producer's streamed answer.
pub type RespBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

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
