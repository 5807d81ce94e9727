//! The admin HTTP listener: health and status for every environment, and (in [`api`]) the
//! order service's JSON API and the real TAK read APIs.
//!
//! - `GET /health/live`: 200 `{"status":"UP"}` while the process serves.
//! - `GET /health/ready` (and `GET /health`): 200 when every environment can route (a
//!   published TAK snapshot, a clock that gives a day) and every listener is bound, else 503;
//!   the body says which part is down, in the Spring Boot Actuator shape Java teams' monitors
//!   already parse.
//! - `GET /metrics`: every counter in the Prometheus text format (see [`crate::metrics`]).
//! - `GET /status`: VP-like status JSON per environment (TAK version, counts, uptime,
//!   connection tests not run yet), the HSA cache's (`HsaCacheInitialized`,
//!   `HsaCacheResetInfo`), and whether the order service is working on a change
//!   (`OrderService.running`, `.queued`).
//! - `GET|POST /resethsacache`: VP's HSA cache reset (VP serves it on port 24000 too): the
//!   `router.hsa_files` read again, VP's plain-text answer.
//!
//! None of these waits for a running order: they read published state only.
//!
//! - `/api/...` and `/tak/<env>/...`: see [`api`].
//! - `GET /openapi.json`: the admin API as an OpenAPI 3.0 document ([`openapi`]).
//! - `/` (a redirect), `/console/...` (the web console) and `/api/live...` (its live feed):
//!   see [`crate::console`].
//!
//! Every request but the health probes first passes [`gate`]: its `Host` and `Origin` must
//! name this listener, and a state-changing one must be JSON (so that no web page can drive
//! the API through a browser).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header::CONTENT_TYPE};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::watch};

use crate::{net, ordering::OrderService};

pub mod api;
pub mod gate;
pub mod mocks;
pub mod openapi;

/// Largest request body the admin API reads (an order, a form).
const MAX_ADMIN_BODY: usize = crate::config::DEFAULT_MAX_REQUEST_BYTES;

/// Everything the admin endpoints report on and act on.
pub struct AdminState {
    /// The order service of every environment.
    pub platforms: Arc<OrderService>,
    /// The mock producers (behaviours, recordings); none on an order service whose mocks run
    /// in another process (`cluster.role = "orders"`).
    pub mocks: Option<Arc<crate::mocks::Mocks>>,
    /// The router nodes reset after each publish (`cluster.routers`), on an order service
    /// that has some.
    pub resets: Option<Arc<crate::cluster::resets::Resets>>,
    /// The routers' HSA tree (`/resethsacache`, `/status`).
    pub hsa: Arc<crate::router::hsa::HsaCache>,
    /// Set once every listener is bound.
    pub listeners_bound: AtomicBool,
    /// For the uptime in `/status`.
    pub started: Instant,
    /// Largest order body (`POST /api/<env>/orders`; config `max_order_bytes`).
    pub max_order_bytes: usize,
    /// The names and addresses requests must come to ([`gate`]; config
    /// `admin_allowed_hosts`).
    pub gate: gate::Gate,
    /// Time allowed for a request body to arrive whole (config `admin_body_timeout_ms`).
    pub body_timeout: Duration,
    /// Connections served at once (config `connection_limits.admin`).
    pub max_connections: usize,
    /// The routers' recent requests (the console's live view, `/api/live`).
    pub live: Arc<crate::live::Feed>,
    /// The testbed's counters, served at `/metrics` ([`metrics`]).
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl AdminState {
    /// Whether every environment can route (a TAK, a clock that gives a day) and every
    /// listener is bound.
    pub fn ready(&self) -> bool {
        self.listeners_bound.load(Ordering::Acquire)
            && self
                .platforms
                .all()
                .all(|p| p.tak.load().is_some() && p.clock.checked_today().is_ok())
    }
}

/// Serves the admin API until `shutdown` turns true, at most `state.max_connections` at once
/// (beyond them: 503).
pub async fn serve(listener: TcpListener, state: Arc<AdminState>, shutdown: watch::Receiver<bool>) {
    let (max, metrics) = (state.max_connections, state.metrics.clone());
    serve_listener(listener, max, metrics, state, shutdown, handle).await;
}

/// An admin-style listener: plain HTTP/1.1 with keep-alive, at most `max_connections` at
/// once (beyond them: 503 naming `connection_limits.admin`), counted as the admin listener in
/// `/metrics`, each request answered by `handle` with `state`. Also a router or mocks node's
/// admin listener (`crate::cluster::control`).
pub(crate) async fn serve_listener<S, F, Fut>(
    listener: TcpListener,
    max_connections: usize,
    metrics: Arc<crate::metrics::Metrics>,
    state: Arc<S>,
    shutdown: watch::Receiver<bool>,
    handle: F,
) where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let limit = net::Limit {
        max: max_connections,
        refusal: net::Refusal::Http503,
        setting: "connection_limits.admin",
    };
    net::accept_loop(
        listener,
        shutdown,
        "admin",
        limit,
        move |tcp, _peer, watcher, slot| {
            let (state, metrics) = (state.clone(), metrics.clone());
            tokio::spawn(async move {
                let _slot = slot;
                let _open = metrics.connection(crate::metrics::Listener::Admin);
                net::serve_http1(tcp, Duration::from_secs(30), watcher, move |req| {
                    handle(state.clone(), req)
                })
                .await;
            });
        },
    )
    .await;
}

async fn handle(state: Arc<AdminState>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if let Err(refused) = state.gate.check(req.method(), req.uri(), req.headers()) {
        return refused.response();
    }
    if let Some(resp) = crate::console::handle(req.method(), req.uri(), req.headers(), &state.live)
    {
        return resp;
    }
    let path = req.uri().path().to_string();
    if path.starts_with("/api/") || path.starts_with("/tak/") {
        return api_request(&state, req).await;
    }
    if path == "/resethsacache" && matches!(*req.method(), Method::GET | Method::POST) {
        let text = state.hsa.reset().await;
        let mut resp = Response::new(Full::new(Bytes::from(text)));
        resp.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=UTF-8"),
        );
        return resp;
    }
    if req.method() != Method::GET {
        return json_response(StatusCode::METHOD_NOT_ALLOWED, &json!({"error": "use GET"}));
    }
    let state = &*state;
    match req.uri().path() {
        "/health/live" => json_response(StatusCode::OK, &json!({"status": "UP"})),
        "/health/ready" | "/health" => health(state),
        "/status" => status(state),
        "/metrics" => metrics(state).await,
        "/openapi.json" => json_response(StatusCode::OK, &openapi::document()),
        other => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no admin endpoint {other}"), "endpoints": ["/health/live", "/health/ready", "/status", "/metrics", "/openapi.json", "/console/", "/api/live", "/api/live/rate", "/resethsacache", "/api/<env>/orders", "/api/<env>/tak", "/api/<env>/versions", "/api/<env>/clock", "/api/systems", "/api/prestudies", "/api/mocks", "/api/mocks/<address>/messages", "/api/mocks/<address>/behaviour", "/tak/<env>/SokVagvalsInfo/v2", "/tak/<env>/GetLogicalAddresseesByServiceContract/v2"]}),
        ),
    }
}

/// An `/api/` or `/tak/` request: its body read within its limit, then the mocks' API (on
/// the blocking pool) or the order and TAK API.
async fn api_request(state: &AdminState, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.uri().path().starts_with("/api/mocks") {
        return match &state.mocks {
            Some(mocks) => mocks_api(mocks.clone(), req, state.body_timeout).await,
            None => json_response(
                StatusCode::NOT_FOUND,
                &json!({"error": "the mock producers run in another process (this one runs cluster.role = \"orders\"): call /api/mocks on the mocks node's admin listener (its endpoints.json)"}),
            ),
        };
    }
    let (parts, body) = req.into_parts();
    // An order may be TAK-sized: it has its own limit.
    let is_order = parts.method == Method::POST && parts.uri.path().ends_with("/orders");
    let limit = if is_order {
        state.max_order_bytes
    } else {
        MAX_ADMIN_BODY
    };
    let body = match net::read_body(&parts.headers, body, limit, state.body_timeout).await {
        Ok(b) => b,
        Err(e) => return body_refused(&e),
    };
    let answer = api::handle(&state.platforms, &parts, body).await;
    match &state.resets {
        Some(resets) => with_router_resets(resets, &state.platforms, &parts, answer).await,
        None => answer,
    }
}

/// `/api/mocks...` of the mock producers `mocks`: the body read within its limit, the work on
/// a thread of its own (recordings can add up to hundreds of MiB to serialise). Also served
/// by a mocks node's admin listener (`crate::cluster::control`).
pub(crate) async fn mocks_api(
    mocks: Arc<crate::mocks::Mocks>,
    req: Request<Incoming>,
    body_timeout: Duration,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match net::read_body(&parts.headers, body, MAX_ADMIN_BODY, body_timeout).await {
        Ok(b) => b,
        Err(e) => return body_refused(&e),
    };
    match heavy(move || mocks::handle(&mocks, &parts, &body)).await {
        Ok(r) => r,
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": format!("internal error: {e}")}),
        ),
    }
}

/// On an order service that resets router nodes (`cluster.routers`): `GET
/// /api/<env>/routers` answers the latest round of resets, and a successful publish or
/// rollback answers once its round is done, with every router's result in `routers`.
async fn with_router_resets(
    resets: &crate::cluster::resets::Resets,
    platforms: &OrderService,
    parts: &http::request::Parts,
    answer: Response<Full<Bytes>>,
) -> Response<Full<Bytes>> {
    let segments: Vec<&str> = parts.uri.path().trim_end_matches('/').split('/').collect();
    let (env, action) = match segments.as_slice() {
        ["", "api", env, action] => match env.parse::<crate::vocab::EnvName>() {
            Ok(e) => (e, *action),
            Err(_) => return answer,
        },
        _ => return answer,
    };
    if action == "routers" && parts.method == Method::GET {
        return json_response(
            StatusCode::OK,
            &json!({"routers": resets.routers(), "last": resets.last(env)}),
        );
    }
    let published = matches!(action, "publish" | "rollback")
        && parts.method == Method::POST
        && answer.status() == StatusCode::OK
        && !resets.routers().is_empty();
    if !published {
        return answer;
    }
    let Some(version) = platforms
        .platform(env)
        .tak
        .load()
        .as_deref()
        .map(|s| s.version())
    else {
        return answer;
    };
    let report = resets.wait_for(env, version, resets.round_time()).await;
    let (head, body) = answer.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(head, Full::new(bytes));
    };
    object.insert(
        "routers".into(),
        match report {
            Some(r) => json!(r),
            None => json!({"error": format!("the routers' resets for version {version} did not finish within {} ms", resets.round_time().as_millis())}),
        },
    );
    let mut resp = json_response(head.status, &Value::Object(object));
    *resp.headers_mut() = head.headers;
    resp
}

/// `/health/ready`: each environment's TAK and clock, and the listeners.
fn health(state: &AdminState) -> Response<Full<Bytes>> {
    let mut components = serde_json::Map::new();
    for e in state.platforms.all() {
        let snapshot = e.tak.load();
        let (status, details) = match snapshot.as_deref() {
            Some(s) => ("UP", json!({"platform": e.name, "takVersion": s.version()})),
            None => (
                "DOWN",
                json!({"platform": e.name, "refreshStatus": "Not initialized"}),
            ),
        };
        components.insert(
            format!("takCache.{}", e.env),
            json!({"status": status, "details": details}),
        );
        let clock = match e.clock.checked_today() {
            Ok(day) => json!({"status": "UP", "details": {"today": day}}),
            Err(why) => json!({"status": "DOWN", "details": {"error": why.to_string()}}),
        };
        components.insert(format!("clock.{}", e.env), clock);
    }
    let bound = state.listeners_bound.load(Ordering::Acquire);
    health_response(components, bound, state.ready())
}

/// `/health/ready`'s answer in the Spring Boot Actuator shape: the components, the listeners
/// (`bound`), and 200 `UP` when `ready`, else 503 `DOWN`.
pub(crate) fn health_response(
    mut components: serde_json::Map<String, Value>,
    bound: bool,
    ready: bool,
) -> Response<Full<Bytes>> {
    components.insert(
        "listeners".into(),
        json!({"status": if bound { "UP" } else { "DOWN" }}),
    );
    json_response(
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        &json!({"status": if ready { "UP" } else { "DOWN" }, "components": components}),
    )
}

/// `/metrics`: every counter in the Prometheus text format, with each environment's TAK
/// version and publish time and its orders' results read now. Written on a thread of its
/// own ([`heavy`]): a scrape may hold thousands of series.
async fn metrics(state: &AdminState) -> Response<Full<Bytes>> {
    let facts = state
        .platforms
        .all()
        .map(|p| {
            let snapshot = p.tak.load();
            crate::metrics::EnvFacts {
                env: p.env,
                tak_version: snapshot.as_deref().map(|s| s.version()),
                tak_published: snapshot.as_deref().map(|s| s.published_at().timestamp()),
                orders_accepted: p.orders.accepted.load(Ordering::Relaxed),
                orders_refused: p.orders.refused.load(Ordering::Relaxed),
            }
        })
        .collect();
    metrics_response(state.metrics.clone(), facts).await
}

/// `/metrics`' answer: `metrics` with `facts` in the Prometheus text format, written on a
/// thread of its own ([`heavy`]). Also a node's (`crate::cluster::control`).
pub(crate) async fn metrics_response(
    metrics: Arc<crate::metrics::Metrics>,
    facts: Vec<crate::metrics::EnvFacts>,
) -> Response<Full<Bytes>> {
    match heavy(move || metrics.encode(facts)).await {
        Ok(body) => text_response(StatusCode::OK, crate::metrics::CONTENT_TYPE, body),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": format!("internal error: {e}")}),
        ),
    }
}

/// A text answer with its status and content type.
pub(crate) fn text_response(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// `/status`, in the shape of VP's status page.
fn status(state: &AdminState) -> Response<Full<Bytes>> {
    let up = state.started.elapsed().as_secs();
    let (hsa_initialized, hsa_reset_info) = state.hsa.status_fields();
    let envs: serde_json::Map<String, Value> = state
        .platforms
        .all()
        .map(|e| {
            let snapshot = e.tak.load();
            let v = match snapshot.as_deref() {
                Some(s) => {
                    let c = s.counts();
                    json!({
                        "Platform": e.name,
                        "TakCacheInitialized": "true",
                        "TakCacheResetInfo": format!(
                            "Date:{} Status:REFRESH_OK vagval:{} behorigheter:{}",
                            s.published_at().format("%Y-%m-%dT%H:%M"), c.routes, c.authorisations
                        ),
                        "TakVersion": s.version().to_string(),
                        "Today": e.clock.today().to_string(),
                        "AutoPublish": e.auto_publish(),
                        "ConnectionTestsPending": state.platforms.pending_connection_tests(e.env),
                    })
                }
                None => json!({"Platform": e.name, "TakCacheInitialized": "false", "TakCacheResetInfo": "Not initialized"}),
            };
            (e.env.to_string(), v)
        })
        .collect();
    json_response(
        StatusCode::OK,
        &json!({
            "Name": "ntjp-testbed",
            "Version": env!("CARGO_PKG_VERSION"),
            "ServiceStatus": if state.ready() { "Started" } else { "Starting" },
            "HsaCacheInitialized": hsa_initialized,
            "HsaCacheResetInfo": hsa_reset_info,
            "Uptime": format!("{} days, {} hours, {} minutes, {} seconds", up / 86400, up / 3600 % 24, up / 60 % 60, up % 60),
            "Environments": envs,
            "OrderService": state.platforms.activity(),
        }),
    )
}

/// Admin work that may be large (serialising 100,000 rows or hundreds of MiB of recordings,
/// checking a 500 MiB order is UTF-8) runs on a thread of its own at the order service's
/// lower CPU priority, so that it neither holds up an async worker nor takes CPU from the
/// routers; at most [`HEAVY_AT_ONCE`] at a time, which also bounds the memory of answers
/// being built.
pub(crate) async fn heavy<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    static PERMITS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HEAVY_AT_ONCE);
    let _permit = PERMITS.acquire().await.map_err(|e| e.to_string())?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("ntjp-admin".into())
        .spawn(move || {
            crate::ordering::lower_priority();
            let _ = tx.send(work());
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    rx.await.map_err(|_| "the work failed".to_string())
}

/// How many [`heavy`] jobs run at once.
pub(crate) const HEAVY_AT_ONCE: usize = 4;

/// A request body that was not read whole: 413 for one too large (refused before reading
/// when its declared size says so), 408 for one too slow, 400 for a broken one; the
/// connection closes, as the rest of the body is unread.
fn body_refused(e: &net::BodyError) -> Response<Full<Bytes>> {
    let status = match e {
        net::BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        net::BodyError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
        net::BodyError::Broken(_) => StatusCode::BAD_REQUEST,
    };
    let mut resp = json_response(status, &json!({"error": e.to_string()}));
    resp.headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    serialized(status, body)
}

/// A JSON answer written straight from `body` (no intermediate `Value` tree: an order list
/// with its reports can be large).
pub(crate) fn serialized<T: serde::Serialize + ?Sized>(
    status: StatusCode,
    body: &T,
) -> Response<Full<Bytes>> {
    let text = serde_json::to_vec_pretty(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}
