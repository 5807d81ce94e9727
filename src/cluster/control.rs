//! The admin listener of a router node or a mocks node (`cluster.role = "router"` or
//! `"mocks"`): what a load balancer, Kubernetes and the order service call.
//!
//! Router node, as VP's own endpoints (vp.md §4.2, §5.1, §5.2):
//! - `GET /health/live`: 200 while the process serves.
//! - `GET /health/ready` (and `/health`): 200 only when every environment's TAK is loaded
//!   (`TakCacheInitialized`) and the listeners are bound, else 503 — the readiness probe, so
//!   a router without a TAK gets no traffic.
//! - `GET /status`: VP's keys (`TakCacheInitialized`, `TakCacheResetInfo`,
//!   `HsaCacheInitialized`, `HsaCacheResetInfo`, `Uptime`, ...) and the same per environment.
//! - `GET|POST /resetcache[?env=<env>]`: reload TAK ([`super::takcache`]) and answer VP's log
//!   (`text/html`); without `env` every environment of the node, one after the other.
//! - `GET|POST /resethsacache`: VP's HSA cache reset.
//! - `GET /metrics`: the node's counters.
//!
//! Mocks node: `/health/*`, `/status`, `/metrics` and the mocks' API (`/api/mocks/...`, as
//! on the single process). Every request but the health probes passes the admin gate
//! (`Host`/`Origin` must name this listener).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Map, Value, json};
use tokio::{net::TcpListener, sync::watch};

use super::takcache::TakCache;
use crate::{
    admin::{
        gate::Gate, health_response, json_response, metrics_response, mocks_api, serve_listener,
        text_response,
    },
    config::cluster::Role,
    mocks::Mocks,
    router::hsa::HsaCache,
    tak::TakCell,
    vocab::EnvName,
};

/// One environment a router node routes.
pub struct RoutedEnv {
    /// Which.
    pub env: EnvName,
    /// Its TAK platform name.
    pub platform: String,
    /// Where its TAK comes from.
    pub tak_url: String,
    /// What the router reads.
    pub cell: TakCell,
    /// Loads and reloads it.
    pub cache: Arc<TakCache>,
}

/// What a node's admin listener answers from.
pub struct NodeState {
    /// `router` or `mocks`.
    pub role: Role,
    /// A router node's environments.
    pub envs: Vec<RoutedEnv>,
    /// A router node's HSA tree.
    pub hsa: Option<Arc<HsaCache>>,
    /// A mocks node's mock producers.
    pub mocks: Option<Arc<Mocks>>,
    /// The node's counters.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// `Host`/`Origin` checks.
    pub gate: Gate,
    /// Set once every listener is bound.
    pub listeners_bound: AtomicBool,
    /// For `Uptime`.
    pub started: Instant,
    /// Time allowed for a request body (`admin_body_timeout_ms`).
    pub body_timeout: Duration,
    /// Connections served at once (`connection_limits.admin`).
    pub max_connections: usize,
}

impl NodeState {
    /// Whether the node can do its work: listeners bound and, on a router node, every TAK
    /// loaded.
    pub fn ready(&self) -> bool {
        self.listeners_bound.load(Ordering::Acquire)
            && self.envs.iter().all(|e| e.cache.initialized())
    }
}

/// Serves the node's admin listener until `shutdown` turns true.
pub async fn serve(listener: TcpListener, state: Arc<NodeState>, shutdown: watch::Receiver<bool>) {
    let (max, metrics) = (state.max_connections, state.metrics.clone());
    serve_listener(listener, max, metrics, state, shutdown, handle).await;
}

async fn handle(state: Arc<NodeState>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if let Err(refused) = state.gate.check(req.method(), req.uri(), req.headers()) {
        return refused.response();
    }
    let path = req.uri().path().to_string();
    if path.starts_with("/api/mocks")
        && let Some(mocks) = &state.mocks
    {
        return mocks_api(mocks.clone(), req, state.body_timeout).await;
    }
    let get_or_post = matches!(*req.method(), Method::GET | Method::POST);
    if path == "/resetcache" && get_or_post && state.role == Role::Router {
        return resetcache(&state, req.uri().query()).await;
    }
    if path == "/resethsacache"
        && get_or_post
        && let Some(hsa) = &state.hsa
    {
        return text_response(
            StatusCode::OK,
            "text/plain; charset=UTF-8",
            hsa.reset().await,
        );
    }
    if req.method() != Method::GET {
        return json_response(StatusCode::METHOD_NOT_ALLOWED, &json!({"error": "use GET"}));
    }
    match path.as_str() {
        "/health/live" => json_response(StatusCode::OK, &json!({"status": "UP"})),
        "/health/ready" | "/health" => health(&state),
        "/status" => status(&state),
        "/metrics" => metrics(&state).await,
        other => {
            let endpoints: &[&str] = match state.role {
                Role::Router => &[
                    "/health/live",
                    "/health/ready",
                    "/status",
                    "/metrics",
                    "/resetcache",
                    "/resethsacache",
                ],
                _ => &[
                    "/health/live",
                    "/health/ready",
                    "/status",
                    "/metrics",
                    "/api/mocks",
                ],
            };
            json_response(
                StatusCode::NOT_FOUND,
                &json!({"error": format!("no endpoint {other} on a {} node", state.role), "endpoints": endpoints}),
            )
        }
    }
}

/// `/resetcache[?env=<env>]`: VP's answer (`text/html;`), the environments' logs one after
/// the other.
async fn resetcache(state: &NodeState, query: Option<&str>) -> Response<Full<Bytes>> {
    let wanted = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("env="));
    let envs: Vec<&RoutedEnv> = match wanted {
        None => state.envs.iter().collect(),
        Some(name) => match name.parse::<EnvName>() {
            Ok(env) => match state.envs.iter().find(|e| e.env == env) {
                Some(e) => vec![e],
                None => {
                    let served: Vec<&str> = state.envs.iter().map(|e| e.env.as_str()).collect();
                    return text_response(
                        StatusCode::NOT_FOUND,
                        "text/plain; charset=UTF-8",
                        format!(
                            "This router node does not route {env}: it routes {} (cluster.environments)",
                            served.join(", ")
                        ),
                    );
                }
            },
            Err(e) => {
                return text_response(StatusCode::BAD_REQUEST, "text/plain; charset=UTF-8", e);
            }
        },
    };
    let mut body = String::new();
    for e in envs {
        body.push_str(&e.cache.refresh().await.html());
    }
    text_response(StatusCode::OK, super::takcache::RESET_CONTENT_TYPE, body)
}

/// `/health/ready`: every environment's TAK, and the listeners, in the Actuator shape.
fn health(state: &NodeState) -> Response<Full<Bytes>> {
    let mut components = Map::new();
    for e in &state.envs {
        let up = e.cache.initialized();
        components.insert(
            format!("takCache.{}", e.env),
            json!({
                "status": if up { "UP" } else { "DOWN" },
                "details": {"platform": e.platform, "refreshStatus": e.cache.reset_info()},
            }),
        );
    }
    let bound = state.listeners_bound.load(Ordering::Acquire);
    health_response(components, bound, state.ready())
}

/// `/status`: VP's keys. A node routing one environment shows its `TakCacheInitialized` and
/// `TakCacheResetInfo` at the top as VP does; with several, the top says whether all are
/// loaded and joins their infos, and `Environments` has each.
fn status(state: &NodeState) -> Response<Full<Bytes>> {
    let up = state.started.elapsed().as_secs();
    let mut top = Map::new();
    top.insert("Name".into(), json!("ntjp-testbed"));
    top.insert("Version".into(), json!(env!("CARGO_PKG_VERSION")));
    top.insert("Role".into(), json!(state.role.as_str()));
    top.insert(
        "ServiceStatus".into(),
        json!(if state.listeners_bound.load(Ordering::Acquire) {
            "Started"
        } else {
            "Starting"
        }),
    );
    top.insert(
        "Uptime".into(),
        json!(format!(
            "{} days, {} hours, {} minutes, {} seconds",
            up / 86400,
            up / 3600 % 24,
            up / 60 % 60,
            up % 60
        )),
    );
    if state.role == Role::Router {
        let all = state.envs.iter().all(|e| e.cache.initialized());
        let infos: Vec<String> = state.envs.iter().map(|e| e.cache.reset_info()).collect();
        top.insert("TakCacheInitialized".into(), json!(all.to_string()));
        top.insert(
            "TakCacheResetInfo".into(),
            json!(match infos.as_slice() {
                [one] => one.clone(),
                _ => state
                    .envs
                    .iter()
                    .zip(&infos)
                    .map(|(e, i)| format!("{}: {i}", e.env))
                    .collect::<Vec<_>>()
                    .join("; "),
            }),
        );
        let envs: Map<String, Value> = state
            .envs
            .iter()
            .map(|e| {
                let counts = e.cell.load().as_deref().map(|s| s.counts());
                (
                    e.env.to_string(),
                    json!({
                        "Platform": e.platform,
                        "TakCacheInitialized": e.cache.initialized().to_string(),
                        "TakCacheResetInfo": e.cache.reset_info(),
                        "TakUrl": e.tak_url,
                        "Routes": counts.map(|c| c.routes),
                        "Authorisations": counts.map(|c| c.authorisations),
                    }),
                )
            })
            .collect();
        top.insert("Environments".into(), Value::Object(envs));
    }
    if let Some(hsa) = &state.hsa {
        let (initialized, info) = hsa.status_fields();
        top.insert("HsaCacheInitialized".into(), json!(initialized));
        top.insert("HsaCacheResetInfo".into(), json!(info));
    }
    json_response(StatusCode::OK, &Value::Object(top))
}

/// `/metrics`, written on a thread of its own.
async fn metrics(state: &NodeState) -> Response<Full<Bytes>> {
    let facts = state
        .envs
        .iter()
        .map(|e| {
            let snapshot = e.cell.load();
            crate::metrics::EnvFacts {
                env: e.env,
                tak_version: snapshot.as_deref().map(|s| s.version()),
                tak_published: snapshot.as_deref().map(|s| s.published_at().timestamp()),
                orders_accepted: 0,
                orders_refused: 0,
            }
        })
        .collect();
    metrics_response(state.metrics.clone(), facts).await
}
