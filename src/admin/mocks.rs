//! The mock producers' HTTP API (JSON), on the admin listener:
//!
//! | Method and path | What |
//! |---|---|
//! | `GET /api/mocks` | every mock: address, URL path, behaviour, messages kept and dropped; messages held unanswered (`holding`), being judged (`judging`) and waiting their turn (`waiting_to_be_judged`) |
//! | `GET /api/mocks/triggers` | the data-driven triggers (personnummer → behaviour) |
//! | `GET /api/mocks/messages[?filters]` | what every mock received, in arrival order |
//! | `DELETE /api/mocks/messages` | forget everything every mock received |
//! | `GET /api/mocks/<address>/messages[?filters]` | what the mock for `<address>` received |
//! | `DELETE /api/mocks/<address>/messages` | forget it |
//! | `GET\|PUT\|DELETE /api/mocks/<address>/behaviour` | read, set (`{"answer": "error", "text": "...", "delay_ms": 0}`) or reset to the default |
//!
//! Filters (query parameters, all optional, all must match): `personnummer`,
//! `correlation_id`, `since` (RFC 3339, e.g. `2026-12-02T10:00:00Z`), `consumer` (HSA-id),
//! `environment` (`sit`, `qa`, `prod`), `verdict` (`valid`, `invalid`, `technical`, `ping`).

#![allow(clippy::result_large_err)]

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode, request::Parts};
use http_body_util::Full;
use hyper::Response;
use serde_json::{Value, json};

use super::{json_response, serialized};
use crate::config::mocks::Behaviour;
use crate::mocks::{Filter, Mocks, standard_addresses};
use crate::verify::{Recording, Verdict};

type Resp = Response<Full<Bytes>>;

fn error(status: StatusCode, message: impl Into<String>) -> Resp {
    json_response(status, &json!({"error": message.into()}))
}

/// Decodes `+` (a space) and `%XX` escapes in a query value (application/x-www-form-urlencoded).
/// Stricter than `form_urlencoded::parse`, which passes a malformed escape on as text and
/// replaces bytes that are not UTF-8: a filter that can never match is refused, naming it.
fn decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let malformed = memchr::memchr_iter(b'%', bytes).any(|i| {
        !bytes
            .get(i + 1..i + 3)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if malformed {
        return Err(format!("bad %-escape in {s:?}"));
    }
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| format!("{s:?} is not UTF-8 once decoded"))
}

/// The filters of a query string; unknown keys and bad values are named.
pub fn parse_filter(query: Option<&str>) -> Result<Filter, String> {
    let mut f = Filter::default();
    for kv in query.unwrap_or("").split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let v = decode(v)?;
        match k {
            "personnummer" => f.personnummer = Some(v),
            "correlation_id" => f.correlation_id = Some(v),
            "consumer" => f.consumer = Some(v),
            "environment" => f.environment = Some(v),
            "since" => {
                let t = chrono::DateTime::parse_from_rfc3339(&v).map_err(|e| {
                    format!("since={v:?} is not an RFC 3339 time like 2026-12-02T10:00:00Z: {e}")
                })?;
                f.since = Some(t.with_timezone(&chrono::Utc));
            }
            "verdict" => {
                f.verdict = Some(
                    serde_json::from_value::<Verdict>(Value::String(v.clone())).map_err(|_| {
                        format!("verdict={v:?}: use valid, invalid, technical or ping")
                    })?,
                )
            }
            other => {
                return Err(format!(
                    "unknown filter {other:?}: use personnummer, correlation_id, since, consumer, environment or verdict"
                ));
            }
        }
    }
    Ok(f)
}

fn messages(mocks: &Mocks, address: Option<&str>, parts: &Parts) -> Resp {
    let filter = match parse_filter(parts.uri.query()) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    #[derive(serde::Serialize)]
    struct Messages<'a> {
        count: usize,
        filter: &'a Filter,
        messages: Vec<Arc<Recording>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        address: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        dropped: Option<u64>,
    }
    let messages = mocks.recorder.query_shared(address, &filter);
    serialized(
        StatusCode::OK,
        &Messages {
            count: messages.len(),
            filter: &filter,
            messages,
            address,
            dropped: address.map(|a| mocks.recorder.counts(a).dropped),
        },
    )
}

fn list(mocks: &Mocks) -> Resp {
    let mut addresses: Vec<String> = standard_addresses()
        .into_iter()
        .map(str::to_owned)
        .collect();
    for extra in mocks
        .recorder
        .addresses()
        .into_iter()
        .chain(mocks.configured_addresses())
    {
        if !addresses.iter().any(|a| a.eq_ignore_ascii_case(&extra)) {
            addresses.push(extra);
        }
    }
    let rows: Vec<Value> = addresses
        .iter()
        .map(|a| {
            let counts = mocks.recorder.counts(a);
            json!({
                "address": a,
                "region": crate::contract::region_name(a),
                "path": format!("/mocks/{a}/ProcessCervixScreeningInformation/1/rivtabp21"),
                "behaviour": mocks.behaviour(a),
                "received": counts.kept,
                "dropped": counts.dropped,
            })
        })
        .collect();
    let (judging, waiting) = mocks.judging();
    json_response(
        StatusCode::OK,
        &json!({"mocks": rows, "holding": mocks.holding(), "judging": judging, "waiting_to_be_judged": waiting, "triggers": mocks.triggers().len(), "code_lists": mocks.code_lists(), "recorded_bytes": mocks.recorder.bytes()}),
    )
}

/// Handles `/api/mocks...`.
pub fn handle(mocks: &Mocks, parts: &Parts, body: &Bytes) -> Resp {
    let path = parts.uri.path();
    let segments: Vec<&str> = path
        .trim_start_matches("/api/mocks")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let m = &parts.method;
    match (m, segments.as_slice()) {
        (&Method::GET, []) => list(mocks),
        (&Method::GET, ["triggers"]) => {
            json_response(StatusCode::OK, &json!({"triggers": mocks.triggers()}))
        }
        (&Method::GET, ["messages"]) => messages(mocks, None, parts),
        (&Method::DELETE, ["messages"]) => {
            json_response(StatusCode::OK, &json!({"cleared": mocks.recorder.clear()}))
        }
        (&Method::GET, [address, "messages"]) => messages(mocks, Some(address), parts),
        (&Method::DELETE, [address, "messages"]) => json_response(
            StatusCode::OK,
            &json!({"address": address, "cleared": mocks.recorder.clear_address(address)}),
        ),
        (&Method::GET, [address, "behaviour"]) => json_response(
            StatusCode::OK,
            &json!({"address": address, "behaviour": mocks.behaviour(address)}),
        ),
        (&Method::PUT | &Method::POST, [address, "behaviour"]) => {
            let b: Behaviour = match serde_json::from_slice(body) {
                Ok(b) => b,
                Err(e) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "not a behaviour: {e}. Expected {{\"answer\": \"ok|info|error|fault|http500|no-answer|reset|accept-all|no-ping\", \"text\": \"...\", \"delay_ms\": N}}"
                        ),
                    );
                }
            };
            match mocks.set_behaviour(address, b) {
                Ok(()) => json_response(
                    StatusCode::OK,
                    &json!({"address": address, "behaviour": mocks.behaviour(address)}),
                ),
                Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e),
            }
        }
        (&Method::DELETE, [address, "behaviour"]) => {
            let _ = mocks.set_behaviour(address, Behaviour::default());
            json_response(
                StatusCode::OK,
                &json!({"address": address, "behaviour": mocks.behaviour(address)}),
            )
        }
        _ => error(
            StatusCode::NOT_FOUND,
            format!(
                "no mock endpoint {m} {path}: use GET /api/mocks, GET /api/mocks/triggers, GET|DELETE /api/mocks[/<address>]/messages, GET|PUT|DELETE /api/mocks/<address>/behaviour"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_decoded_and_unknown_keys_named() {
        let f = parse_filter(Some(
            "personnummer=191212121212&since=2026-12-02T10%3A00%3A00%2B01%3A00&verdict=invalid&consumer=SE+1",
        ))
        .unwrap();
        assert_eq!(f.personnummer.as_deref(), Some("191212121212"));
        assert_eq!(f.since.unwrap().to_rfc3339(), "2026-12-02T09:00:00+00:00");
        assert_eq!(f.verdict, Some(Verdict::Invalid));
        assert_eq!(f.consumer.as_deref(), Some("SE 1"));
        assert!(parse_filter(Some("pnr=1")).unwrap_err().contains("\"pnr\""));
        assert!(
            parse_filter(Some("since=yesterday"))
                .unwrap_err()
                .contains("yesterday")
        );
        assert!(
            parse_filter(Some("verdict=bad"))
                .unwrap_err()
                .contains("bad")
        );
        assert!(parse_filter(Some("personnummer=%zz")).is_err());
        assert_eq!(parse_filter(None).unwrap(), Filter::default());
    }
}
