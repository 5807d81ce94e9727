//! The order service's HTTP API (JSON) and the real TAK read APIs (SOAP), per environment
//! (`sit`, `qa`, `prod`):
//!
//! | Method and path | What |
//! |---|---|
//! | `POST /api/<env>/orders[?publish=true\|false][&format=text]` | submit a raw Beställningsstödet JSON order: its summary and TAK's report as text (not the order) |
//! | `POST /api/<env>/orders/consumer`, `.../producer` | submit a consumer or producer form: the summary, the report as text and the generated order |
//! | `GET /api/<env>/orders` | accepted orders as summaries: no order text, report line counts, connection tests per producer |
//! | `GET /api/<env>/orders/<id>` | one order whole: the order text, the report line by line and as text, every route's connection test |
//! | `GET /api/<env>/tak[?version=N]` | the published TAK as tables (routes, authorisations, ...) |
//! | `GET /api/<env>/tak/pending` | executed but unpublished changes |
//! | `GET /api/<env>/tak/export[?version=N]` | the snapshot in TAK's JSON export format |
//! | `GET /api/<env>/versions`, `GET /api/<env>/versions/<a>/diff/<b>` | version history and diffs |
//! | `POST /api/<env>/publish`, `POST /api/<env>/rollback` | publish pending changes; roll back the latest version |
//! | `GET\|POST /api/<env>/clock` | read or move the environment's clock |
//! | `GET\|POST /api/<env>/settings` | automatic publishing on or off |
//! | `GET\|POST /api/<env>/resetcache` | VP's cache reset: what the router has loaded |
//! | `GET\|POST /api/systems`, `/api/prestudies` | Beställningsstödet's system information and pre-studies |
//! | `POST /tak/<env>/SokVagvalsInfo/v2` | SOAP: `hamtaAllaVirtualiseringar`, `hamtaAllaAnropsBehorigheter`, ... |
//! | `POST /tak/<env>/GetLogicalAddresseesByServiceContract/v2` | SOAP |
//!
//! Changes are jobs for the order service's writer thread; a handler awaits the answer (sent
//! only after the journal entry is durable), never a lock. Reads answer from the published
//! views at once, also while a large order runs; answers that can be large (orders with
//! their reports, TAK tables and exports, diffs, systems and pre-studies) are built, and JSON
//! bodies past 64 KiB parsed, by `admin::heavy`, off the async workers and at a lower CPU
//! priority than the routers.

// Handlers return the finished error response as `Err`; the admin API is not a hot path, so
// the size of `Response` in `Result` does not matter here.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header::CONTENT_TYPE, request::Parts};
use http_body_util::Full;
use hyper::Response;
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Value, json};

use super::{json_response, serialized};
use crate::{
    clock::Clock,
    ordering::{
        ClockMove, EnvView, OrderRecord, OrderService, OrderSource, PublishInfo, ServiceError,
    },
    orders::forms::{ConsumerForm, PreStudy, ProducerForm, SystemInfo},
    tak::{self, Snapshot, history::Entry},
    vocab::{EnvName, SOAP_CONTENT_TYPE},
};

type Resp = Response<Full<Bytes>>;

fn error(status: StatusCode, message: impl Into<String>) -> Resp {
    json_response(status, &json!({"error": message.into()}))
}

fn service_error(e: ServiceError) -> Resp {
    match e {
        ServiceError::Parse(m) => json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": format!("the order is not readable JSON: {m}"), "text": format!("JsonBestallning ERROR:::\n{m}")}),
        ),
        ServiceError::Rejected { messages, json } => {
            let text = format!("JsonBestallning ERROR:::\n{}", messages.join("\n"));
            json_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                &json!({"error": "TAK refused the order; nothing was changed", "messages": messages, "text": text, "order": json}),
            )
        }
        ServiceError::Form(f) => json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({"error": f.to_string(), "messages": [f.to_string()]}),
        ),
        ServiceError::Conflict(m) => error(StatusCode::CONFLICT, m),
        ServiceError::Invalid(m) => error(StatusCode::BAD_REQUEST, m),
        ServiceError::NotFound(m) => error(StatusCode::NOT_FOUND, m),
        ServiceError::Journal(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the journal could not be written, nothing was changed: {e}"),
        ),
        e @ (ServiceError::ShuttingDown | ServiceError::Journaled | ServiceError::Busy) => {
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        e @ ServiceError::Stopped => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn env_of(segment: &str) -> Result<EnvName, Resp> {
    match segment {
        "sit" => Ok(EnvName::Sit),
        "qa" => Ok(EnvName::Qa),
        "prod" => Ok(EnvName::Prod),
        other => Err(error(
            StatusCode::NOT_FOUND,
            format!("no environment {other:?}: use sit, qa or prod"),
        )),
    }
}

/// The first value of `key` in the query string, `+` and `%XX` decoded.
fn query(parts: &Parts, key: &str) -> Option<String> {
    form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Bodies up to this size are parsed on the async worker (microseconds); larger ones, up to
/// the admin API's 15 MiB, on the blocking pool ([`super::heavy`]): tens of milliseconds of
/// parsing must not hold up health checks or the routers.
const PARSE_INLINE_BYTES: usize = 64 * 1024;

async fn parse_json<T: DeserializeOwned + Send + 'static>(
    body: &Bytes,
    what: &'static str,
) -> Result<T, Resp> {
    let parse = move |body: &Bytes| {
        serde_json::from_slice(body)
            .map_err(|e| error(StatusCode::BAD_REQUEST, format!("invalid {what}: {e}")))
    };
    if body.len() <= PARSE_INLINE_BYTES {
        return parse(body);
    }
    let body = body.clone();
    super::heavy(move || parse(&body))
        .await
        .unwrap_or_else(|e| {
            Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal error: {e}"),
            ))
        })
}

/// Builds an answer off the async workers ([`super::heavy`]): serialising 100,000 rows must
/// not hold up health checks, other requests or the routers.
async fn off_worker(f: impl FnOnce() -> Resp + Send + 'static) -> Resp {
    match super::heavy(f).await {
        Ok(r) => r,
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}"),
        ),
    }
}

fn publish_flag(parts: &Parts) -> Result<Option<bool>, Resp> {
    match query(parts, "publish").as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("publish={other}: use true or false"),
        )),
    }
}

/// A published version to answer from: the one the router serves, or `?version=N` from the
/// history. An older version is rebuilt from its diff when [`Wanted::snapshot`] is called:
/// call it off the async workers.
enum Wanted {
    Served(Arc<Snapshot>),
    Old(Arc<EnvView>, u64),
}

impl Wanted {
    fn snapshot(self) -> Option<Arc<Snapshot>> {
        match self {
            Wanted::Served(s) => Some(s),
            Wanted::Old(view, v) => view.version(v),
        }
    }
}

fn snapshot_of(platforms: &OrderService, env: EnvName, parts: &Parts) -> Result<Wanted, Resp> {
    match query(parts, "version").as_deref() {
        None => platforms
            .platform(env)
            .tak
            .load_full()
            .map(Wanted::Served)
            .ok_or_else(|| error(StatusCode::NOT_FOUND, format!("nothing published in {env}"))),
        Some(v) => {
            let v: u64 = v.parse().map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    format!("version={v}: not a number"),
                )
            })?;
            let view = platforms.view(env);
            if view.has_version(v) {
                Ok(Wanted::Old(view, v))
            } else {
                Err(error(
                    StatusCode::NOT_FOUND,
                    format!("no version {v} in {env}"),
                ))
            }
        }
    }
}

/// When the history's version cannot be rebuilt (it always can while the history holds it).
fn lost(env: EnvName) -> Resp {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("a version of {env} could not be rebuilt from the history"),
    )
}

/// Order answers with more report lines than this are written without indentation (a
/// 100,000-route order's record would be a third larger pretty-printed).
const COMPACT_FROM_LINES: usize = 1_000;

/// A JSON answer without indentation.
fn compact<T: serde::Serialize + ?Sized>(status: StatusCode, body: &T) -> Resp {
    let text = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut r = Response::new(Full::new(Bytes::from(text)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The answer to an accepted order: its summary ([`OrderRecord::summary`]), TAK's report as
/// tak-web's text and, for forms, the order generated from the form. The whole record (the
/// report line by line, every route's connection test, the order) is at
/// `GET /api/<env>/orders/<id>`.
fn accepted(record: &OrderRecord, view: &EnvView, json: Option<&str>) -> Value {
    let mut v = record.summary();
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "report_text".into(),
            record.report_text(&view.catalogue).into(),
        );
        if let Some(json) = json {
            o.insert("json".into(), json.into());
        }
    }
    v
}

fn version_summary(s: &Entry) -> Value {
    json!({
        "version": s.version(),
        "published_at": s.published_at(),
        "executor": s.executor(),
        "comment": s.comment(),
        "counts": s.counts(),
    })
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Resp {
    super::text_response(status, content_type, body)
}

/// A request for the clock of an environment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    /// Make this day today (`YYYY-MM-DD`).
    today: Option<chrono::NaiveDate>,
    /// Move this many days (negative: back).
    advance_days: Option<i64>,
    /// Back to real time.
    #[serde(default)]
    reset: bool,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PublishRequest {
    executor: Option<String>,
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackRequest {
    version: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    auto_publish: bool,
}

fn clock_json(clock: &Clock) -> Value {
    let time = clock.time();
    json!({"today": clock.today(), "real_today": clock.real_today(), "offset_days": clock.offset_days(),
        "time_zone": time.zone_name(), "real_now": time.now_text()})
}

/// Dispatches `/api/...` and `/tak/...`.
pub async fn handle(platforms: &Arc<OrderService>, parts: &Parts, body: Bytes) -> Resp {
    match route(platforms, parts, body).await {
        Ok(r) | Err(r) => r,
    }
}

async fn route(platforms: &Arc<OrderService>, parts: &Parts, body: Bytes) -> Result<Resp, Resp> {
    let path = parts.uri.path().trim_end_matches('/').to_string();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let method = &parts.method;
    match (method, segments.as_slice()) {
        (&Method::POST, ["tak", env, "SokVagvalsInfo", "v2"])
        | (&Method::POST, ["tak", env, "GetLogicalAddresseesByServiceContract", "v2"]) => {
            let env = env_of(env)?;
            let snapshot = platforms.platform(env).tak.load_full();
            // Parsing the request and answering from a large TAK: off the async workers.
            Ok(off_worker(move || {
                let soap = |status, body| text(status, SOAP_CONTENT_TYPE, body);
                let req = match tak::readapi::parse_request(&body) {
                    Ok(r) => r,
                    Err(e) => {
                        return soap(StatusCode::INTERNAL_SERVER_ERROR, tak::readapi::fault(&e));
                    }
                };
                let Some(snapshot) = snapshot else {
                    return soap(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        tak::readapi::fault("Nothing is published in this TAK"),
                    );
                };
                soap(StatusCode::OK, tak::readapi::respond(&snapshot, &req))
            })
            .await)
        }
        (&Method::GET, ["api", "systems"]) => {
            let forms = platforms.forms();
            Ok(off_worker(move || json_response(StatusCode::OK, &json!(forms.systems()))).await)
        }
        (&Method::POST, ["api", "systems"]) => {
            let system: SystemInfo = parse_json(&body, "system information").await?;
            platforms
                .register_system(system)
                .await
                .map_err(service_error)?;
            Ok(json_response(
                StatusCode::CREATED,
                &json!({"registered": true}),
            ))
        }
        (&Method::GET, ["api", "prestudies"]) => {
            let forms = platforms.forms();
            Ok(off_worker(move || json_response(StatusCode::OK, &json!(forms.prestudies()))).await)
        }
        (&Method::POST, ["api", "prestudies"]) => {
            let prestudy: PreStudy = parse_json(&body, "pre-study").await?;
            platforms
                .register_prestudy(prestudy)
                .await
                .map_err(service_error)?;
            Ok(json_response(
                StatusCode::CREATED,
                &json!({"registered": true}),
            ))
        }
        (_, ["api", env, rest @ ..]) => {
            let env = env_of(env)?;
            env_route(platforms, env, method, rest, parts, body).await
        }
        _ => Err(error(
            StatusCode::NOT_FOUND,
            format!("no API endpoint {method} {path}"),
        )),
    }
}

async fn env_route(
    platforms: &Arc<OrderService>,
    env: EnvName,
    method: &Method,
    rest: &[&str],
    parts: &Parts,
    body: Bytes,
) -> Result<Resp, Resp> {
    match (method, rest) {
        (&Method::POST, ["orders"]) => post_order(platforms, env, parts, body).await,
        (&Method::POST, ["orders", "consumer"]) => {
            post_consumer_form(platforms, env, parts, &body).await
        }
        (&Method::POST, ["orders", "producer"]) => {
            post_producer_form(platforms, env, parts, &body).await
        }
        (&Method::GET, ["orders"]) => {
            let orders = platforms.orders(env);
            Ok(off_worker(move || {
                let list: Vec<Value> = orders.iter().map(|o| o.summary()).collect();
                json_response(StatusCode::OK, &Value::Array(list))
            })
            .await)
        }
        (&Method::GET, ["orders", id]) => get_order(platforms, env, id).await,
        (&Method::GET, ["tak"]) => get_tak(platforms, env, parts).await,
        (&Method::GET, ["tak", "pending"]) => {
            let view = platforms.view(env);
            Ok(off_worker(move || serialized(StatusCode::OK, &*view.pending)).await)
        }
        (&Method::GET, ["tak", "export"]) => {
            let s = snapshot_of(platforms, env, parts)?;
            Ok(off_worker(move || match s.snapshot() {
                Some(s) => json_response(StatusCode::OK, &tak::export::export(&s)),
                None => lost(env),
            })
            .await)
        }
        (&Method::GET, ["versions"]) => {
            let view = platforms.view(env);
            let list: Vec<Value> = view.versions.iter().map(version_summary).collect();
            Ok(json_response(StatusCode::OK, &json!(list)))
        }
        (&Method::GET, ["versions", a, "diff", b]) => version_diff(platforms, env, a, b).await,
        (&Method::POST, ["publish"]) => post_publish(platforms, env, &body).await,
        (&Method::POST, ["rollback"]) => {
            let req: RollbackRequest = parse_json(&body, "rollback request").await?;
            let s = platforms
                .rollback(env, req.version)
                .await
                .map_err(service_error)?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"rolled_back": req.version, "published": s.map(|s| version_summary(&Entry::Full(s)))}),
            ))
        }
        (&Method::GET, ["clock"]) => Ok(json_response(
            StatusCode::OK,
            &clock_json(&platforms.platform(env).clock),
        )),
        (&Method::POST, ["clock"]) => post_clock(platforms, env, &body).await,
        (&Method::GET, ["settings"]) => Ok(json_response(
            StatusCode::OK,
            &json!({"auto_publish": platforms.platform(env).auto_publish()}),
        )),
        (&Method::POST, ["settings"]) => post_settings(platforms, env, &body).await,
        (&Method::GET | &Method::POST, ["resetcache"]) => resetcache(platforms, env),
        _ => Err(error(
            StatusCode::NOT_FOUND,
            format!("no API endpoint {method} /api/{env}/{}", rest.join("/")),
        )),
    }
}

/// `POST /api/<env>/orders`: a whole order (Beställningsstödet JSON).
async fn post_order(
    platforms: &Arc<OrderService>,
    env: EnvName,
    parts: &Parts,
    body: Bytes,
) -> Result<Resp, Resp> {
    let publish = publish_flag(parts)?;
    // Checking 15 MiB of UTF-8 is work for the blocking pool too.
    let text_body = super::heavy(move || String::from_utf8(Vec::from(body)))
        .await
        .map_err(|e| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("internal error: {e}"),
            )
        })?
        .map_err(|e| {
            error(
                StatusCode::BAD_REQUEST,
                format!("the order is not UTF-8: {e}"),
            )
        })?;
    let record = platforms
        .submit(env, text_body, OrderSource::Api, publish)
        .await
        .map_err(service_error)?;
    let view = platforms.view(env);
    if query(parts, "format").as_deref() == Some("text") {
        return Ok(off_worker(move || {
            text(
                StatusCode::CREATED,
                "text/plain; charset=utf-8",
                record.report_text(&view.catalogue),
            )
        })
        .await);
    }
    // The sender has the order: the answer does not echo it.
    Ok(
        off_worker(move || json_response(StatusCode::CREATED, &accepted(&record, &view, None)))
            .await,
    )
}

/// `POST /api/<env>/orders/consumer`: a consumer form, made into an order.
async fn post_consumer_form(
    platforms: &Arc<OrderService>,
    env: EnvName,
    parts: &Parts,
    body: &Bytes,
) -> Result<Resp, Resp> {
    let publish = publish_flag(parts)?;
    let mut form: ConsumerForm = parse_json(body, "consumer form").await?;
    form.environment = env;
    let record = platforms
        .consumer_order(form, publish)
        .await
        .map_err(service_error)?;
    Ok(form_accepted(platforms, env, record).await)
}

/// `POST /api/<env>/orders/producer`: a producer form, made into an order.
async fn post_producer_form(
    platforms: &Arc<OrderService>,
    env: EnvName,
    parts: &Parts,
    body: &Bytes,
) -> Result<Resp, Resp> {
    let publish = publish_flag(parts)?;
    let mut form: ProducerForm = parse_json(body, "producer form").await?;
    form.environment = env;
    let record = platforms
        .producer_order(form, publish)
        .await
        .map_err(service_error)?;
    Ok(form_accepted(platforms, env, record).await)
}

/// The answer to an accepted form: the order record with the order the form was made into
/// (news to the sender, and small).
async fn form_accepted(
    platforms: &Arc<OrderService>,
    env: EnvName,
    record: Arc<OrderRecord>,
) -> Resp {
    let view = platforms.view(env);
    let p = platforms.clone();
    off_worker(move || {
        let json = p.order_text(&record).ok();
        json_response(
            StatusCode::CREATED,
            &accepted(&record, &view, json.as_deref()),
        )
    })
    .await
}

/// `GET /api/<env>/orders/<id>`: one order with its report and text.
async fn get_order(platforms: &Arc<OrderService>, env: EnvName, id: &str) -> Result<Resp, Resp> {
    let id: u64 = id.parse().map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            format!("order id {id:?} is not a number"),
        )
    })?;
    let record = platforms.order(env, id).map_err(service_error)?;
    let view = platforms.view(env);
    let p = platforms.clone();
    Ok(off_worker(move || {
        let json = match p.order_text(&record) {
            Ok(json) => json,
            Err(e) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("order {id}'s text cannot be read: {e}"),
                );
            }
        };
        let full = record.full(&view.catalogue, Some(&json));
        if record.report.lines() > COMPACT_FROM_LINES {
            compact(StatusCode::OK, &full)
        } else {
            serialized(StatusCode::OK, &full)
        }
    })
    .await)
}

/// `GET /api/<env>/tak[?version=N]`: the published tables.
async fn get_tak(platforms: &Arc<OrderService>, env: EnvName, parts: &Parts) -> Result<Resp, Resp> {
    let s = snapshot_of(platforms, env, parts)?;
    let today = platforms.platform(env).clock.today();
    Ok(off_worker(move || {
        let Some(s) = s.snapshot() else {
            return lost(env);
        };
        let mut v = tak::export::tables(&s);
        if let Some(o) = v.as_object_mut() {
            o.insert("version".into(), version_summary(&Entry::Full(s)));
            o.insert("today".into(), json!(today));
        }
        json_response(StatusCode::OK, &v)
    })
    .await)
}

/// `GET /api/<env>/versions/<a>/diff/<b>`: what changed between two versions.
async fn version_diff(
    platforms: &Arc<OrderService>,
    env: EnvName,
    a: &str,
    b: &str,
) -> Result<Resp, Resp> {
    let view = platforms.view(env);
    let find = |v: &str| -> Result<u64, Resp> {
        let n: u64 = v.parse().map_err(|_| {
            error(
                StatusCode::BAD_REQUEST,
                format!("version {v:?} is not a number"),
            )
        })?;
        if view.has_version(n) {
            Ok(n)
        } else {
            Err(error(
                StatusCode::NOT_FOUND,
                format!("no version {n} in {env}"),
            ))
        }
    };
    let (old, new) = (find(a)?, find(b)?);
    Ok(
        off_worker(move || match (view.version(old), view.version(new)) {
            (Some(old), Some(new)) => serialized(StatusCode::OK, &tak::diff::diff(&old, &new)),
            _ => lost(env),
        })
        .await,
    )
}

/// `POST /api/<env>/publish`.
async fn post_publish(
    platforms: &Arc<OrderService>,
    env: EnvName,
    body: &Bytes,
) -> Result<Resp, Resp> {
    let req: PublishRequest = if body.is_empty() {
        PublishRequest::default()
    } else {
        parse_json(body, "publish request").await?
    };
    let info = PublishInfo {
        executor: req.executor.unwrap_or_else(|| "ntjp".into()),
        comment: req.comment.unwrap_or_default(),
    };
    let s = platforms.publish(env, info).await.map_err(service_error)?;
    Ok(json_response(
        StatusCode::OK,
        &version_summary(&Entry::Full(s)),
    ))
}

/// `POST /api/<env>/clock`: moves the environment's clock.
async fn post_clock(
    platforms: &Arc<OrderService>,
    env: EnvName,
    body: &Bytes,
) -> Result<Resp, Resp> {
    let change: ClockChange = parse_json(body, "clock change").await?;
    let to = match (change.today, change.advance_days, change.reset) {
        (Some(day), None, false) => ClockMove::Today(day),
        (None, Some(days), false) => ClockMove::Advance(days),
        (None, None, true) => ClockMove::Reset,
        _ => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "give exactly one of {\"today\": \"YYYY-MM-DD\"}, {\"advance_days\": N} or {\"reset\": true}",
            ));
        }
    };
    platforms.move_clock(env, to).await.map_err(service_error)?;
    Ok(json_response(
        StatusCode::OK,
        &clock_json(&platforms.platform(env).clock),
    ))
}

/// `POST /api/<env>/settings`: the environment's auto-publish setting.
async fn post_settings(
    platforms: &Arc<OrderService>,
    env: EnvName,
    body: &Bytes,
) -> Result<Resp, Resp> {
    let s: Settings = parse_json(body, "settings").await?;
    platforms
        .set_auto_publish(env, s.auto_publish)
        .await
        .map_err(service_error)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"auto_publish": s.auto_publish}),
    ))
}

/// `GET|POST /api/<env>/resetcache`: VP's cache reset, answered in its shape.
fn resetcache(platforms: &Arc<OrderService>, env: EnvName) -> Result<Resp, Resp> {
    // The router always reads the latest published snapshot; a reset reports it, in
    // the shape of VP's /resetcache answer.
    let platform = platforms.platform(env);
    let body = match platform.tak.load_full() {
        Some(s) => {
            let c = s.counts();
            format!(
                "<br>Time: {}<br>Initialize TAK cache resources...<br>Init TAK cache loaded number of permissions: {}<br>Init TAK cache loaded number of virtualizations: {}<br>Init done, was successful: true",
                platform
                    .clock
                    .time()
                    .now_local()
                    .strftime("%Y-%m-%d %H:%M:%S"),
                c.authorisations,
                c.routes
            )
        }
        None => "<br>Initialize TAK cache resources...<br>Init done, was successful: false".into(),
    };
    Ok(text(StatusCode::OK, "text/html;", body))
}
