//! `GET /openapi.json`: the admin API described as an OpenAPI 3.0 document, built here from
//! one table of operations ([`OPERATIONS`]) and a few shared schemas.
//!
//! Why a table rather than utoipa's `#[utoipa::path]` on the handlers: the admin router is one
//! hand-written `match` per module (`admin::handle`, `api::route`, `mocks::handle`) whose
//! arms answer `json!` bodies, not typed handler functions with typed answers, so annotating
//! them would describe the same things in attributes scattered over three files while
//! checking nothing more; one table beside the router is shorter to keep true.
//! `tests/openapi.rs` keeps it true: schemathesis calls every operation of this document
//! against the running testbed and fails on a 5xx or an answer the document does not allow.
//!
//! To add an endpoint: add an [`Op`] to [`OPERATIONS`] (path with `{env}`, `{address}`, ...
//! parameters, method, summary, query parameters, request body, the success answer's schema
//! and media type), and the error answers of every operation come with it. New shared
//! schemas go in [`schemas`].

use serde_json::{Map, Value, json};

/// A request body an operation takes.
#[derive(Clone, Copy)]
enum Body {
    None,
    /// JSON, with the named schema in `components`.
    Json(&'static str),
    /// JSON, optional (an empty body is accepted).
    OptionalJson(&'static str),
    /// SOAP 1.1 (`text/xml`).
    Soap,
}

/// What a successful answer is.
#[derive(Clone, Copy)]
enum Answer {
    /// JSON with the named schema.
    Json(u16, &'static str),
    /// `text/plain`.
    Text(u16),
    /// `text/html` (VP's `/resetcache` answer).
    Html,
    /// SOAP (`text/xml`).
    Soap,
    /// JSON or, when asked for with `format=text`, `text/plain`.
    JsonOrText(u16, &'static str),
}

/// One operation of the admin API.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    /// `(name, description, schema)` of each query parameter (all optional).
    query: &'static [(&'static str, &'static str, &'static str)],
    body: Body,
    answer: Answer,
}

const FILTERS: &[(&str, &str, &str)] = &[
    ("personnummer", "only messages about this woman", "string"),
    (
        "correlation_id",
        "only the message with this x-skltp-correlation-id",
        "string",
    ),
    (
        "since",
        "only messages received at or after this time (RFC 3339)",
        "date-time",
    ),
    (
        "consumer",
        "only messages from this consumer HSA-id (case-insensitive)",
        "string",
    ),
    (
        "environment",
        "only messages sent by this environment's router (sit, qa, prod)",
        "string",
    ),
    (
        "verdict",
        "only messages with this verdict (valid, invalid, technical, ping)",
        "string",
    ),
];
const VERSION: &[(&str, &str, &str)] = &[(
    "version",
    "a published version instead of the one served",
    "integer",
)];

/// Every operation, in the order of the README's admin API.
const OPERATIONS: &[Op] = &[
    Op {
        method: "get",
        path: "/health/live",
        summary: "Liveness: 200 while the process serves",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Health"),
    },
    Op {
        method: "get",
        path: "/metrics",
        summary: "Every counter, gauge and histogram in the Prometheus text format 0.0.4 (README, \"Metrics\")",
        query: &[],
        body: Body::None,
        answer: Answer::Text(200),
    },
    Op {
        method: "get",
        path: "/api/live",
        summary: "The latest routed requests (the web console's live view), after sequence number `since`",
        query: &[(
            "since",
            "Only requests with a higher sequence number",
            "integer",
        )],
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "get",
        path: "/api/live/rate",
        summary: "Requests, faults and latency per second over the last `seconds` (at most 600)",
        query: &[("seconds", "How many seconds back (1-600)", "integer")],
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "get",
        path: "/health/ready",
        summary: "Readiness: 200 when every environment can route, else 503 naming the part that is down",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Health"),
    },
    Op {
        method: "get",
        path: "/health",
        summary: "As /health/ready",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Health"),
    },
    Op {
        method: "get",
        path: "/status",
        summary: "VP-like status per environment: TAK version, counts, today, the HSA cache, the order service",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "get",
        path: "/resethsacache",
        summary: "VP's HSA cache reset: the router.hsa_files read again; VP's text",
        query: &[],
        body: Body::None,
        answer: Answer::Text(200),
    },
    Op {
        method: "post",
        path: "/resethsacache",
        summary: "As GET /resethsacache",
        query: &[],
        body: Body::None,
        answer: Answer::Text(200),
    },
    Op {
        method: "get",
        path: "/openapi.json",
        summary: "This document",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "post",
        path: "/api/{env}/orders",
        summary: "Submit a Beställningsstödet JSON order: the summary and TAK's report",
        query: &[
            (
                "publish",
                "publish at once (default: the environment's auto_publish)",
                "boolean",
            ),
            ("format", "`text`: TAK's report as plain text", "string"),
        ],
        body: Body::Json("Order"),
        answer: Answer::JsonOrText(201, "Object"),
    },
    Op {
        method: "get",
        path: "/api/{env}/orders",
        summary: "Accepted orders as summaries",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Array"),
    },
    Op {
        method: "post",
        path: "/api/{env}/orders/consumer",
        summary: "Beställningsstödet's consumer form: authorise a consumer",
        query: &[("publish", "publish at once", "boolean")],
        body: Body::Json("ConsumerForm"),
        answer: Answer::Json(201, "Object"),
    },
    Op {
        method: "post",
        path: "/api/{env}/orders/producer",
        summary: "Beställningsstödet's producer form: route a county code to a producer URL",
        query: &[("publish", "publish at once", "boolean")],
        body: Body::Json("ProducerForm"),
        answer: Answer::Json(201, "Object"),
    },
    Op {
        method: "get",
        path: "/api/{env}/orders/{id}",
        summary: "One order whole: its text, report and connection tests",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "get",
        path: "/api/{env}/tak",
        summary: "The published TAK as tables (routes, authorisations, ...)",
        query: VERSION,
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "get",
        path: "/api/{env}/tak/pending",
        summary: "Executed but unpublished changes",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "get",
        path: "/api/{env}/tak/export",
        summary: "A published version in TAK's JSON export format",
        query: VERSION,
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "get",
        path: "/api/{env}/versions",
        summary: "The published versions",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Array"),
    },
    Op {
        method: "get",
        path: "/api/{env}/versions/{a}/diff/{b}",
        summary: "What changed from version a to version b",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "post",
        path: "/api/{env}/publish",
        summary: "Publish the pending changes",
        query: &[],
        body: Body::OptionalJson("Publish"),
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "post",
        path: "/api/{env}/rollback",
        summary: "Roll back the latest published version",
        query: &[],
        body: Body::Json("Rollback"),
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "get",
        path: "/api/{env}/clock",
        summary: "The environment's simulated day",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Clock"),
    },
    Op {
        method: "post",
        path: "/api/{env}/clock",
        summary: "Move the environment's clock: exactly one of today, advance_days, reset",
        query: &[],
        body: Body::Json("ClockChange"),
        answer: Answer::Json(200, "Clock"),
    },
    Op {
        method: "get",
        path: "/api/{env}/settings",
        summary: "The environment's settings (automatic publishing)",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Settings"),
    },
    Op {
        method: "post",
        path: "/api/{env}/settings",
        summary: "Turn automatic publishing on or off",
        query: &[],
        body: Body::Json("Settings"),
        answer: Answer::Json(200, "Settings"),
    },
    Op {
        method: "get",
        path: "/api/{env}/resetcache",
        summary: "VP's cache reset: what the router has loaded, in VP's <br>-joined lines",
        query: &[],
        body: Body::None,
        answer: Answer::Html,
    },
    Op {
        method: "post",
        path: "/api/{env}/resetcache",
        summary: "As GET",
        query: &[],
        body: Body::None,
        answer: Answer::Html,
    },
    Op {
        method: "get",
        path: "/api/systems",
        summary: "Beställningsstödet's registered systems",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Array"),
    },
    Op {
        method: "post",
        path: "/api/systems",
        summary: "Register a system (Systeminformation)",
        query: &[],
        body: Body::Json("SystemInfo"),
        answer: Answer::Json(201, "Object"),
    },
    Op {
        method: "get",
        path: "/api/prestudies",
        summary: "Registered pre-studies",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Array"),
    },
    Op {
        method: "post",
        path: "/api/prestudies",
        summary: "Register a pre-study (Förstudie)",
        query: &[],
        body: Body::Json("PreStudy"),
        answer: Answer::Json(201, "Object"),
    },
    Op {
        method: "get",
        path: "/api/mocks",
        summary: "The mock producers: addresses, behaviours, recordings, limits",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "get",
        path: "/api/mocks/triggers",
        summary: "The personnummer triggers",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "get",
        path: "/api/mocks/messages",
        summary: "Every mock's recorded messages",
        query: FILTERS,
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "delete",
        path: "/api/mocks/messages",
        summary: "Forget every recorded message",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "get",
        path: "/api/mocks/{address}/messages",
        summary: "One mock's recorded messages",
        query: FILTERS,
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "delete",
        path: "/api/mocks/{address}/messages",
        summary: "Forget one mock's recorded messages",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "Object"),
    },
    Op {
        method: "get",
        path: "/api/mocks/{address}/behaviour",
        summary: "One mock's behaviour",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "MockBehaviour"),
    },
    Op {
        method: "put",
        path: "/api/mocks/{address}/behaviour",
        summary: "Set one mock's behaviour",
        query: &[],
        body: Body::Json("Behaviour"),
        answer: Answer::Json(200, "MockBehaviour"),
    },
    Op {
        method: "post",
        path: "/api/mocks/{address}/behaviour",
        summary: "As PUT",
        query: &[],
        body: Body::Json("Behaviour"),
        answer: Answer::Json(200, "MockBehaviour"),
    },
    Op {
        method: "delete",
        path: "/api/mocks/{address}/behaviour",
        summary: "Back to the default behaviour",
        query: &[],
        body: Body::None,
        answer: Answer::Json(200, "MockBehaviour"),
    },
    Op {
        method: "post",
        path: "/tak/{env}/SokVagvalsInfo/v2",
        summary: "TAK's SOAP read API SokVagvalsInfo v2 (hamtaAllaVirtualiseringar, hamtaAllaAnropsBehorigheter, ...)",
        query: &[],
        body: Body::Soap,
        answer: Answer::Soap,
    },
    Op {
        method: "post",
        path: "/tak/{env}/GetLogicalAddresseesByServiceContract/v2",
        summary: "TAK's SOAP read API GetLogicalAddresseesByServiceContract v2",
        query: &[],
        body: Body::Soap,
        answer: Answer::Soap,
    },
];

/// The error answers every operation may give, with the admin API's `{"error": "..."}`.
const ERRORS: &[(u16, &str)] = &[
    (
        400,
        "the request is malformed: a query value, a path value or a body that is not what the operation takes (the message names it)",
    ),
    (
        403,
        "the Host or Origin does not name this admin listener (admin_allowed_hosts)",
    ),
    (
        404,
        "no such environment, order, version, endpoint or nothing published yet",
    ),
    (405, "the method is not allowed on this path"),
    (
        408,
        "the request body did not arrive within admin_body_timeout_ms",
    ),
    (
        409,
        "a conflict: e.g. the version to roll back is not the latest",
    ),
    (
        413,
        "the request body is larger than the limit (max_order_bytes for orders)",
    ),
    (
        415,
        "a state change (POST, PUT under /api/) without Content-Type: application/json",
    ),
    (
        422,
        "TAK or the form's rules refused it; nothing was changed (messages lists why)",
    ),
    (
        503,
        "the testbed is not ready, is shutting down, or the order service is busy",
    ),
];

fn media(answer: Answer) -> (u16, Value) {
    let json = |s: &str| json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{s}")}}});
    match answer {
        Answer::Json(status, s) => (status, json(s)),
        Answer::Text(status) => (
            status,
            json!({"text/plain": {"schema": {"type": "string"}}}),
        ),
        Answer::Html => (200, json!({"text/html": {"schema": {"type": "string"}}})),
        Answer::Soap => (200, json!({"text/xml": {"schema": {"type": "string"}}})),
        Answer::JsonOrText(status, s) => {
            let mut m = json(s);
            m["text/plain"] = json!({"schema": {"type": "string"}});
            (status, m)
        }
    }
}

fn operation(op: &Op) -> Value {
    let mut parameters: Vec<Value> = op
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let schema = match name {
                "env" => json!({"type": "string", "enum": ["sit", "qa", "prod"]}),
                "id" | "a" | "b" => json!({"type": "integer", "minimum": 0}),
                _ => json!({"type": "string", "minLength": 1, "pattern": "^[^/]+$"}),
            };
            let description = match name {
                "env" => "environment",
                "id" => "order number",
                "a" | "b" => "published version",
                _ => "logical address of a mock producer (a county code, LOAD-MOCKS, NTJP-MOCKS)",
            };
            json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
        })
        .collect();
    for (name, description, kind) in op.query {
        let schema = match *kind {
            "date-time" => json!({"type": "string", "format": "date-time"}),
            other => json!({"type": other}),
        };
        parameters.push(json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema}));
    }
    let mut responses = Map::new();
    let (status, content) = media(op.answer);
    responses.insert(
        status.to_string(),
        json!({"description": "success", "content": content}),
    );
    if op.path == "/health/ready" || op.path == "/health" {
        responses.insert(
            "503".into(),
            json!({"description": "not ready: the body names the part that is down (an environment with nothing published, e.g. after rolling back its only version, or a listener not bound yet)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}),
        );
    }
    if matches!(op.answer, Answer::Soap) {
        responses.insert(
            "500".into(),
            json!({"description": "a SOAP Fault, as the real TAK answers a request it cannot read or a TAK with nothing published", "content": {"text/xml": {"schema": {"type": "string"}}}}),
        );
    }
    for (status, why) in ERRORS {
        responses.entry(status.to_string()).or_insert_with(
            || json!({"description": why, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
        );
    }
    let mut o = json!({"summary": op.summary, "operationId": format!("{} {}", op.method, op.path), "parameters": parameters, "responses": responses});
    match op.body {
        Body::None => {}
        Body::Json(s) | Body::OptionalJson(s) => {
            o["requestBody"] = json!({"required": matches!(op.body, Body::Json(_)), "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{s}")}}}});
        }
        Body::Soap => {
            o["requestBody"] =
                json!({"required": true, "content": {"text/xml": {"schema": {"type": "string"}}}});
        }
    }
    o
}

/// The shared schemas.
fn schemas() -> Value {
    let date = json!({"type": "string", "format": "date", "example": "2026-12-03"});
    let env = json!({"type": "string", "enum": ["sit", "qa", "prod"]});
    let contact = json!({"type": "object", "required": ["name", "email"], "properties": {"name": {"type": "string"}, "email": {"type": "string"}, "phone": {"type": "string", "nullable": true}}});
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string", "description": "what was wrong, naming the offending input"}, "messages": {"type": "array", "items": {"type": "string"}}}},
        "Object": {"type": "object"},
        "Array": {"type": "array", "items": {}},
        "Health": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string", "enum": ["UP", "DOWN"]}, "components": {"type": "object"}}},
        "Clock": {"type": "object", "required": ["today", "real_today", "offset_days"], "properties": {"today": date, "real_today": date, "offset_days": {"type": "integer"}}},
        "ClockChange": {"type": "object", "description": "exactly one of the three", "properties": {"today": date, "advance_days": {"type": "integer"}, "reset": {"type": "boolean"}}, "additionalProperties": false},
        "Settings": {"type": "object", "required": ["auto_publish"], "properties": {"auto_publish": {"type": "boolean"}}},
        "Publish": {"type": "object", "properties": {"executor": {"type": "string"}, "comment": {"type": "string"}}, "additionalProperties": false},
        "Rollback": {"type": "object", "required": ["version"], "properties": {"version": {"type": "integer", "minimum": 0, "description": "the latest published version, the one rolled back"}}, "additionalProperties": false},
        "Order": {"type": "object", "description": "a Beställningsstödet JSON order (plattform, formatVersion, version, bestallningsTidpunkt, genomforandeTidpunkt, utforare, kommentar, inkludera, exkludera)"},
        "ConsumerForm": {"type": "object", "required": ["environment", "execution_date", "consumer_hsa_id", "prestudy_case"], "properties": {"environment": env, "execution_date": date, "consumer_hsa_id": {"type": "string"}, "contract": {"type": "string"}, "logical_addresses": {"type": "array", "items": {"type": "string"}}, "prestudy_case": {"type": "string"}, "region_name": {"type": "string", "nullable": true}, "ordered_by": {"type": "string"}}},
        "ProducerForm": {"type": "object", "required": ["environment", "execution_date", "producer_hsa_id", "county_code", "url", "prestudy_case"], "properties": {"environment": env, "execution_date": date, "producer_hsa_id": {"type": "string"}, "contract": {"type": "string"}, "county_code": {"type": "string"}, "rivta_profile": {"type": "string"}, "url": {"type": "string"}, "prestudy_case": {"type": "string"}, "region_name": {"type": "string", "nullable": true}, "ordered_by": {"type": "string"}}},
        "SystemInfo": {"type": "object", "required": ["organisation", "system_name", "hsa_id", "main_contact", "technical_contact", "environment"], "properties": {"organisation": {"type": "string"}, "system_name": {"type": "string"}, "hsa_id": {"type": "string"}, "main_contact": contact, "technical_contact": contact, "environment": env}},
        "PreStudy": {"type": "object", "required": ["case_number", "organisation", "approved_for"], "properties": {"case_number": {"type": "string"}, "organisation": {"type": "string"}, "approved_for": {"type": "array", "items": env}}},
        "Behaviour": {"type": "object", "properties": {"answer": {"type": "string", "enum": ["ok", "info", "error", "fault", "http500", "no-answer", "reset", "accept-all", "no-ping"]}, "text": {"type": "string", "description": "resultText (info, error) or faultstring (fault)"}, "delay_ms": {"type": "integer", "minimum": 0, "maximum": 3_600_000}}, "additionalProperties": false},
        "MockBehaviour": {"type": "object", "required": ["address", "behaviour"], "properties": {"address": {"type": "string"}, "behaviour": {"type": "object", "required": ["answer", "delay_ms"], "properties": {"answer": {"type": "string"}, "text": {"type": "string"}, "delay_ms": {"type": "integer"}}}}},
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let item = paths.entry(op.path).or_insert_with(|| json!({}));
        item[op.method] = operation(op);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "ntjp-testbed admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The testbed's admin listener: health and status, the order service (Beställningsstödet's orders and forms, TAK's versions, the clock), TAK's SOAP read APIs and the mock producers. Every request but /health/* must name this listener in Host (admin_allowed_hosts); a POST or PUT under /api/ must be Content-Type: application/json.",
        },
        "paths": paths,
        "components": {"schemas": schemas()},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_its_path_parameters_and_the_error_answers() {
        let d = document();
        let paths = d["paths"].as_object().unwrap();
        assert_eq!(
            paths
                .values()
                .map(|p| p.as_object().unwrap().len())
                .sum::<usize>(),
            OPERATIONS.len()
        );
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                let params = op["parameters"].as_array().unwrap();
                assert_eq!(
                    params.iter().filter(|p| p["in"] == "path").count(),
                    path.matches('{').count(),
                    "{method} {path}"
                );
                assert!(
                    op["responses"]["403"]["content"]["application/json"].is_object(),
                    "{method} {path}"
                );
            }
        }
    }
}
