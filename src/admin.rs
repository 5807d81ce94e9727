//! The admin HTTP listener: health and status for every environment.
//!
//! - `GET /health/live`: 200 `{"status":"UP"}` while the process serves.
//! - `GET /health/ready` (and `GET /health`): 200 when every environment has a published TAK
//!   snapshot and every listener is bound, else 503; the body says which part is down, in the
//!   Spring Boot Actuator shape Java teams' monitors already parse.
//! - `GET /status`: VP-like status JSON per environment (TAK version, counts, uptime).
//!
//! The order API and the real TAK read APIs join this listener in a later issue.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header::CONTENT_TYPE};
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::watch};

use crate::{config::EnvName, net, router::TakCell};

/// One environment as the admin API sees it.
pub struct EnvHealth {
    /// Which environment.
    pub name: EnvName,
    /// Its TAK platform name.
    pub platform: String,
    /// Its published TAK.
    pub tak: TakCell,
}

/// Everything the admin endpoints report on.
pub struct AdminState {
    /// The environments.
    pub envs: Vec<EnvHealth>,
    /// Set once every listener is bound.
    pub listeners_bound: AtomicBool,
    /// For the uptime in `/status`.
    pub started: Instant,
}

impl AdminState {
    /// Whether every environment has a TAK and every listener is bound.
    pub fn ready(&self) -> bool {
        self.listeners_bound.load(Ordering::Acquire)
            && self.envs.iter().all(|e| e.tak.load().is_some())
    }
}

/// Serves the admin API until `shutdown` turns true.
pub async fn serve(listener: TcpListener, state: Arc<AdminState>, shutdown: watch::Receiver<bool>) {
    net::accept_loop(listener, shutdown, "admin", move |tcp, _peer, watcher| {
        let state = state.clone();
        tokio::spawn(async move {
            net::serve_http1(tcp, Duration::from_secs(30), watcher, move |req| {
                let state = state.clone();
                async move { handle(&state, req) }
            })
            .await;
        });
    })
    .await;
}

fn handle(state: &AdminState, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET {
        return json_response(StatusCode::METHOD_NOT_ALLOWED, &json!({"error": "use GET"}));
    }
    match req.uri().path() {
        "/health/live" => json_response(StatusCode::OK, &json!({"status": "UP"})),
        "/health/ready" | "/health" => {
            let mut components = serde_json::Map::new();
            for e in &state.envs {
                let snapshot = e.tak.load();
                let (status, details) = match snapshot.as_deref() {
                    Some(s) => (
                        "UP",
                        json!({"platform": e.platform, "takVersion": s.version()}),
                    ),
                    None => (
                        "DOWN",
                        json!({"platform": e.platform, "refreshStatus": "Not initialized"}),
                    ),
                };
                components.insert(
                    format!("takCache.{}", e.name),
                    json!({"status": status, "details": details}),
                );
            }
            let bound = state.listeners_bound.load(Ordering::Acquire);
            components.insert(
                "listeners".into(),
                json!({"status": if bound { "UP" } else { "DOWN" }}),
            );
            let ready = state.ready();
            json_response(
                if ready {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                },
                &json!({"status": if ready { "UP" } else { "DOWN" }, "components": components}),
            )
        }
        "/status" => {
            let up = state.started.elapsed().as_secs();
            let envs: serde_json::Map<String, Value> = state
                .envs
                .iter()
                .map(|e| {
                    let snapshot = e.tak.load();
                    let v = match snapshot.as_deref() {
                        Some(s) => {
                            let c = s.counts();
                            json!({
                                "Platform": e.platform,
                                "TakCacheInitialized": "true",
                                "TakCacheResetInfo": format!(
                                    "Date:{} Status:REFRESH_OK vagval:{} behorigheter:{}",
                                    s.published_at().format("%Y-%m-%dT%H:%M"), c.routes, c.authorisations
                                ),
                                "TakVersion": s.version().to_string(),
                            })
                        }
                        None => json!({"Platform": e.platform, "TakCacheInitialized": "false", "TakCacheResetInfo": "Not initialized"}),
                    };
                    (e.name.to_string(), v)
                })
                .collect();
            json_response(
                StatusCode::OK,
                &json!({
                    "Name": "ntjp-testbed",
                    "Version": env!("CARGO_PKG_VERSION"),
                    "ServiceStatus": if state.ready() { "Started" } else { "Starting" },
                    "Uptime": format!("{} days, {} hours, {} minutes, {} seconds", up / 86400, up / 3600 % 24, up / 60 % 60, up % 60),
                    "Environments": envs,
                }),
            )
        }
        other => json_response(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("no admin endpoint {other}"), "endpoints": ["/health/live", "/health/ready", "/status"]}),
        ),
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let text = serde_json::to_string_pretty(body).unwrap_or_else(|_| "{}".into());
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}
