//! The web console: plain HTML, CSS and JavaScript modules embedded in the binary at build
//! time (no build step, no framework, nothing fetched from elsewhere), served by the admin
//! listener after its gate ([`crate::admin::gate`]: the same `Host`/`Origin` rules), and its
//! live feed's JSON endpoints:
//!
//! | Method and path | What |
//! |---|---|
//! | `GET /` | 303 to `/console/` |
//! | `GET /console/`, `/console/<asset>` | the pages; every page calls the JSON admin API |
//! | `GET /api/live[?since=<seq>]` | the latest routed requests ([`crate::live`]), after `seq` |
//! | `GET /api/live/rate[?seconds=N]` | requests, faults and latency per second, last N ≤ 600 s |
//!
//! Every asset goes out with its content type, `Cache-Control: no-cache` and an `ETag` (so a
//! reload revalidates and a new binary's pages are never mixed with old ones), and a strict
//! `Content-Security-Policy`: scripts, styles and connections only from this listener, no
//! inline script or style, no frames, no forms posted anywhere. The pages hold no state of
//! their own; everything they show comes from the API at the moment it is shown.
//! This module does not import the admin API: the admin listener dispatches here.

use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Uri, header};
use http_body_util::Full;
use serde_json::json;

use crate::live::{Feed, SECONDS};

type Resp = Response<Full<Bytes>>;

/// The console's policy: nothing but this listener's own scripts, styles and API.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// An embedded file: its name under `/console/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("assets/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the console.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("tak.js", JS),
    asset!("forms.js", JS),
    asset!("live.js", JS),
    asset!("versions.js", JS),
    asset!("mocks.js", JS),
    asset!("orders.js", JS),
    asset!("clock.js", JS),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The assets' entity tags (CRC-32 of their bytes), computed on first use.
fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{:08x}\"", crc32fast::hash(a.bytes)))
            .collect()
    })
}

/// The console's answer to a request it serves, or `None` for one it does not (the admin
/// listener goes on with it).
pub fn handle(method: &Method, uri: &Uri, headers: &HeaderMap, live: &Feed) -> Option<Resp> {
    let path = uri.path();
    let ours = path == "/"
        || path == "/console"
        || path.starts_with("/console/")
        || path == "/api/live"
        || path.starts_with("/api/live/");
    if !ours {
        return None;
    }
    if method != Method::GET && method != Method::HEAD {
        return Some(json(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": format!("{method} {path}: the console and its feed take GET only")}),
        ));
    }
    Some(match path {
        "/" | "/console" => redirect("/console/"),
        "/api/live" => live_requests(live, uri),
        "/api/live/rate" => live_rate(live, uri),
        _ => asset(path, headers),
    })
}

fn redirect(to: &'static str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    r
}

fn json(status: StatusCode, body: &serde_json::Value) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn asset(path: &str, headers: &HeaderMap) -> Resp {
    let name = match path.strip_prefix("/console/") {
        Some("") => "index.html",
        Some(name) => name,
        None => "",
    };
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        return json(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("the console has no file {path}"), "console": "/console/"}),
        );
    };
    let (a, tag) = (&ASSETS[i], &etags()[i]);
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .any(|v| v.as_bytes() == tag.as_bytes() || v.as_bytes() == b"*");
    let mut r = if fresh {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r
    } else {
        Response::new(Full::new(Bytes::from_static(a.bytes)))
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// The value of `key` in the query, if given.
fn query<'a>(uri: &'a Uri, key: &str) -> Option<&'a str> {
    uri.query()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// `GET /api/live[?since=<seq>]`.
fn live_requests(live: &Feed, uri: &Uri) -> Resp {
    let since = match query(uri, "since").map(str::parse::<u64>) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(_)) => {
            return json(
                StatusCode::BAD_REQUEST,
                &json!({"error": format!("since={:?}: give the seq of the last request seen, a number", query(uri, "since").unwrap_or(""))}),
            );
        }
    };
    let (requests, last) = live.since(since);
    json(
        StatusCode::OK,
        &json!({"capacity": live.capacity(), "last": last, "requests": requests}),
    )
}

/// `GET /api/live/rate[?seconds=N]`.
fn live_rate(live: &Feed, uri: &Uri) -> Resp {
    let seconds = match query(uri, "seconds").map(str::parse::<usize>) {
        None => SECONDS,
        Some(Ok(n)) if (1..=SECONDS).contains(&n) => n,
        Some(_) => {
            return json(
                StatusCode::BAD_REQUEST,
                &json!({"error": format!("seconds={:?}: give a number from 1 to {SECONDS}", query(uri, "seconds").unwrap_or(""))}),
            );
        }
    };
    json(StatusCode::OK, &json!({"seconds": live.rates(seconds)}))
}
