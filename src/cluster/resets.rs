//! The order service's side of "publish reaches every router": after each new published
//! version of an environment, `GET <router>/resetcache?env=<env>` on every router node in
//! `cluster.routers`, and a report per router of whether it refreshed.
//!
//! As the real platform does it: tak-monitor polls TAK's database for a new published version
//! and calls `/resetcache` on every VP pod. Here [`Resets::run`] watches each environment's
//! published snapshot (a pointer compare every [`POLL`]; no lock, nothing on the order
//! service's writer), so every way a version is published — `POST /publish`, automatic
//! publishing after an order, a rollback, the start-up orders — reaches the routers the same
//! way. A router node answers with VP's `/resetcache` log; "refreshed" means its last line says
//! `Init done, was successful: true`. A router that missed a reset (down, unreachable) catches
//! up at its next reset or restart: a reset always reads the whole TAK.
//!
//! A configured URL whose host resolves to several addresses (a Kubernetes headless Service:
//! one address per router pod) is called at every address. Each call has one deadline for
//! the whole exchange (`cluster.reset_timeout_ms`) and reads at most [`MAX_ANSWER_BYTES`].
//! Not here: the router node's side ([`super::control`]) and its TAK loading
//! ([`super::takcache`]).

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::{net::TcpStream, sync::watch, task::JoinSet};

use crate::{
    tak::{Snapshot, TakCell},
    vocab::EnvName,
};

/// How often each environment's published snapshot is looked at.
pub const POLL: Duration = Duration::from_millis(50);

/// The most of a router's `/resetcache` answer read (VP's log is a few hundred bytes).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What one router node said to one reset.
#[derive(Debug, Clone, Serialize)]
pub struct RouterReset {
    /// The configured URL (`cluster.routers`).
    pub url: String,
    /// The address called (one of the URL's host's addresses).
    pub address: String,
    /// Whether the router reloaded its TAK (`Init done, was successful: true`).
    pub refreshed: bool,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// The last line of its answer, or why no answer came.
    pub detail: String,
    /// How long the call took, ms.
    pub elapsed_ms: u64,
}

/// One round of resets: which version of which environment, and every router's answer.
#[derive(Debug, Clone, Serialize)]
pub struct ResetReport {
    /// The environment.
    pub env: EnvName,
    /// The published version announced.
    pub version: u64,
    /// When the round started (RFC 3339, UTC).
    pub started_at: String,
    /// Every router called, in `cluster.routers` order, each address in resolver order.
    pub routers: Vec<RouterReset>,
}

impl ResetReport {
    /// Whether every router refreshed (true for no routers).
    pub fn all_refreshed(&self) -> bool {
        self.routers.iter().all(|r| r.refreshed)
    }
}

/// The router nodes to reset and the last report per environment.
pub struct Resets {
    routers: Vec<String>,
    timeout: Duration,
    reports: Vec<(EnvName, watch::Sender<Option<Arc<ResetReport>>>)>,
}

impl Resets {
    /// Resets of `routers` (base URLs), each call within `timeout`.
    pub fn new(routers: Vec<String>, timeout: Duration) -> Arc<Resets> {
        Arc::new(Resets {
            routers,
            timeout,
            reports: EnvName::ALL
                .into_iter()
                .map(|e| (e, watch::channel(None).0))
                .collect(),
        })
    }

    /// The configured router URLs.
    pub fn routers(&self) -> &[String] {
        &self.routers
    }

    fn sender(&self, env: EnvName) -> Option<&watch::Sender<Option<Arc<ResetReport>>>> {
        self.reports.iter().find(|(e, _)| *e == env).map(|(_, s)| s)
    }

    /// The latest round of resets for `env`, if one ran.
    pub fn last(&self, env: EnvName) -> Option<Arc<ResetReport>> {
        self.sender(env).and_then(|s| s.borrow().clone())
    }

    /// Waits (at most `within`) for a round that announced `version` of `env` or a later one.
    pub async fn wait_for(
        &self,
        env: EnvName,
        version: u64,
        within: Duration,
    ) -> Option<Arc<ResetReport>> {
        let mut rx = self.sender(env)?.subscribe();
        let wait = rx.wait_for(|r| r.as_ref().is_some_and(|r| r.version >= version));
        match tokio::time::timeout(within, wait).await {
            Ok(Ok(r)) => r.clone(),
            _ => None,
        }
    }

    /// How long a publish answer waits for its round: every call's deadline and a poll.
    pub fn round_time(&self) -> Duration {
        self.timeout + POLL * 4
    }

    /// Watches `cells` until `stop` turns true; after every change of an environment's
    /// published snapshot (including the first one seen), resets every router for it.
    pub async fn run(
        self: Arc<Self>,
        cells: Vec<(EnvName, TakCell)>,
        mut stop: watch::Receiver<bool>,
    ) {
        if self.routers.is_empty() {
            return;
        }
        let mut seen: Vec<Option<Arc<Snapshot>>> = vec![None; cells.len()];
        loop {
            for (i, (env, cell)) in cells.iter().enumerate() {
                let now = cell.load_full();
                let changed = match (&now, &seen[i]) {
                    (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if !changed {
                    continue;
                }
                let Some(snapshot) = now else { continue };
                let version = snapshot.version();
                seen[i] = Some(snapshot);
                let report = self.round(*env, version).await;
                for r in report.routers.iter().filter(|r| !r.refreshed) {
                    tracing::warn!(env = %env, version, router = %r.url, address = %r.address, detail = %r.detail, "a router did not refresh its TAK");
                }
                tracing::info!(env = %env, version, routers = report.routers.len(), refreshed = report.routers.iter().filter(|r| r.refreshed).count(), "routers reset");
                if let Some(s) = self.sender(*env) {
                    s.send_replace(Some(Arc::new(report)));
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// One round: every router of `cluster.routers`, at every address, at once.
    async fn round(&self, env: EnvName, version: u64) -> ResetReport {
        let started_at = jiff::Timestamp::now().to_string();
        let mut calls = JoinSet::new();
        for (i, url) in self.routers.iter().enumerate() {
            let (url, timeout) = (url.clone(), self.timeout);
            calls.spawn(async move { (i, reset_everywhere(&url, env, timeout).await) });
        }
        let mut answers = Vec::new();
        while let Some(done) = calls.join_next().await {
            if let Ok(a) = done {
                answers.push(a);
            }
        }
        answers.sort_by_key(|(i, _)| *i);
        ResetReport {
            env,
            version,
            started_at,
            routers: answers.into_iter().flat_map(|(_, r)| r).collect(),
        }
    }
}

/// `http://host:port/base` split into what a call needs: host, port, base path.
fn split_url(url: &str) -> Option<(String, u16, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => match p.parse::<u16>() {
            Ok(p) => (h, p),
            Err(_) => (authority, 80),
        },
        _ => (authority, 80),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_string(), port, path.to_string()))
}

/// Resets `env` on every address `url`'s host resolves to.
async fn reset_everywhere(url: &str, env: EnvName, timeout: Duration) -> Vec<RouterReset> {
    let started = Instant::now();
    let failed = |address: String, detail: String| RouterReset {
        url: url.to_string(),
        address,
        refreshed: false,
        status: None,
        detail,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    let Some((host, port, base)) = split_url(url) else {
        return vec![failed(
            String::new(),
            format!("{url} is not an http:// URL (cluster.routers)"),
        )];
    };
    let addrs: Vec<SocketAddr> =
        match tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), port))).await {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(e)) => {
                return vec![failed(String::new(), format!("cannot resolve {host}: {e}"))];
            }
            Err(_) => return vec![failed(String::new(), format!("resolving {host} timed out"))],
        };
    if addrs.is_empty() {
        return vec![failed(
            String::new(),
            format!("{host} resolves to no address"),
        )];
    }
    let path = format!("{base}/resetcache?env={env}");
    let mut calls = JoinSet::new();
    for (i, addr) in addrs.into_iter().enumerate() {
        let (url, path) = (url.to_string(), path.clone());
        calls.spawn(async move {
            let started = Instant::now();
            let answer = tokio::time::timeout(timeout, get(addr, &path)).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let reset = match answer {
                Ok(Ok((status, body))) => {
                    let last = body
                        .rsplit("<br>")
                        .map(str::trim)
                        .find(|l| !l.is_empty())
                        .unwrap_or("")
                        .to_string();
                    RouterReset {
                        url,
                        address: addr.to_string(),
                        refreshed: status == 200 && last.ends_with("was successful: true"),
                        status: Some(status),
                        detail: last,
                        elapsed_ms,
                    }
                }
                Ok(Err(e)) => RouterReset {
                    url,
                    address: addr.to_string(),
                    refreshed: false,
                    status: None,
                    detail: e,
                    elapsed_ms,
                },
                Err(_) => RouterReset {
                    url,
                    address: addr.to_string(),
                    refreshed: false,
                    status: None,
                    detail: format!(
                        "no answer within {} ms (cluster.reset_timeout_ms)",
                        timeout.as_millis()
                    ),
                    elapsed_ms,
                },
            };
            (i, reset)
        });
    }
    let mut resets = Vec::new();
    while let Some(done) = calls.join_next().await {
        if let Ok(r) = done {
            resets.push(r);
        }
    }
    resets.sort_by_key(|(i, _)| *i);
    resets.into_iter().map(|(_, r)| r).collect()
}

/// `GET path` at `addr` (`Host` = the address, which a router node's admin gate accepts); the
/// status and at most [`MAX_ANSWER_BYTES`] of the body as text. The caller holds the deadline.
async fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("HTTP with {addr}: {e}"))?;
    let conn = tokio::spawn(conn);
    let req = http::Request::get(path)
        .header(http::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("request {path}: {e}"))?;
    let resp = send
        .send_request(req)
        .await
        .map_err(|e| format!("GET {path} at {addr}: {e}"))?;
    let status = resp.status().as_u16();
    let body = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|e| format!("reading the answer of {addr}: {e}"))?
        .to_bytes();
    drop(send);
    conn.abort();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_base() {
        assert_eq!(
            split_url("http://ntjp-router-headless:24000"),
            Some(("ntjp-router-headless".into(), 24000, String::new()))
        );
        assert_eq!(
            split_url("http://10.0.0.5:23000/vp/"),
            Some(("10.0.0.5".into(), 23000, "/vp".into()))
        );
        assert_eq!(
            split_url("http://[::1]:24000"),
            Some(("::1".into(), 24000, String::new()))
        );
        assert_eq!(
            split_url("http://router"),
            Some(("router".into(), 80, String::new()))
        );
        assert_eq!(split_url("https://router:1"), None);
        assert_eq!(split_url("http://:1"), None);
    }
}
