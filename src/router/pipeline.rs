//! One consumer request through VP's phases, in VP's order (which decides which error wins):
//!
//! 0. a `wsdl` or `xsd` query parameter: [`super::wsdl`] answers (VP's `direct:wsdl` branch),
//!    no other phase runs;
//! 1. identity: the certificate's HSA-id (HTTPS), or the whitelist, internal headers or the
//!    forwarded certificate (plain HTTP) — VP002, VP011; then, on both, the routing history
//!    of a call that is not internal — VP014; then a method other than POST — VP015;
//! 2. body: bounded by size, by silence between its pieces and by a deadline for the whole
//!    (also while a large body is passed on) — VP015;
//! 3. sniff: the SOAP header and the first body element only — VP015;
//! 4. original consumer header — VP013 (when configured to refuse);
//! 5. TAK loaded — VP008; logical address present — VP003;
//! 6. route (vägval: `VG#VE` parts, or exact → HSA climb → `*`) — VP004, VP006, VP010;
//! 7. authorisation (anropsbehörighet: `VG#VE` parts, or exact → `*` → HSA climb) — VP007;
//! 8. RIVTA profile conversion — VP005, VP012;
//! 9. forward to the producer — VP009 — and stream the answer back.
//!
//! Every failure is a [`VpFault`] rendered by [`crate::soap::fault`]; this module never writes
//! fault text itself.

use std::{borrow::Cow, time::Instant};

use bytes::Bytes;
use http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode,
    header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, DATE, TRANSFER_ENCODING, USER_AGENT},
};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tracing::{Instrument, field::Empty};

use crate::soap::{self, Profile, VpFault, fault::bounded, rivta};
use crate::vocab::{
    AUTH_CERT, CORRELATION_ID, FORWARDED_FOR, INSTANCE_ID, ORIGINAL_CONSUMER,
    PRODUCER_RESPONSE_TIME, ROUTING_HISTORY, SENDER_ID, SOAP_CONTENT_TYPE,
    SOAP_CONTENT_TYPE_TO_PRODUCER,
};

use super::{
    ConnInfo, OutBody, RespBody, Router, Transport,
    forward::{BodyLimits, ForwardError, RequestBody, Upload, UploadFailure},
};

/// What VP names when the TCP peer itself failed the whitelist.
const REMOTE_ADDRESS: &str = "CamelNettyRemoteAddress";

// The same names as `HeaderName`s: a lookup by `&str` parses and validates the name each time.
const CORRELATION_ID_H: HeaderName = HeaderName::from_static(CORRELATION_ID);
const PRODUCER_RESPONSE_TIME_H: HeaderName = HeaderName::from_static(PRODUCER_RESPONSE_TIME);
const SENDER_ID_H: HeaderName = HeaderName::from_static(SENDER_ID);
const INSTANCE_ID_H: HeaderName = HeaderName::from_static(INSTANCE_ID);
const AUTH_CERT_H: HeaderName = HeaderName::from_static(AUTH_CERT);
const ORIGINAL_CONSUMER_H: HeaderName = HeaderName::from_static(ORIGINAL_CONSUMER);
const ROUTING_HISTORY_H: HeaderName = HeaderName::from_static(ROUTING_HISTORY);
const FORWARDED_FOR_H: HeaderName = HeaderName::from_static(FORWARDED_FOR);
const SOAP_ACTION_H: HeaderName = HeaderName::from_static("soapaction");
const KEEP_ALIVE_H: HeaderName = HeaderName::from_static("keep-alive");

/// A failed request: the fault, and whether the connection must close (request body unread).
struct Failure {
    fault: VpFault,
    close: bool,
}

impl From<VpFault> for Failure {
    fn from(fault: VpFault) -> Self {
        Failure {
            fault,
            close: false,
        }
    }
}

/// Who the consumer is and how it called; borrowed from the connection and the request
/// where possible.
struct Caller<'a> {
    /// The consumer's HSA-id (senderId).
    sender: Cow<'a, str>,
    /// The same as a header value towards producers (`None` if it is not a valid one).
    sender_header: Option<HeaderValue>,
    /// Internal call (x-vp-sender-id + our x-vp-instance-id): trusted headers.
    internal: bool,
    /// The routing history to send on, if any.
    routing_history: Option<HeaderValue>,
}

/// Handles one request; never fails (errors become SOAP faults).
pub async fn handle(
    router: &Router,
    conn: &ConnInfo,
    req: Request<Incoming>,
) -> Response<RespBody> {
    let started = Instant::now();
    let correlation = correlation_id(req.headers());
    let correlation_id = correlation.to_str().unwrap_or_default();
    let path = req.uri().path();
    if path != "/vp" && !path.starts_with("/vp/") {
        return not_found(&correlation);
    }
    // VP's branch before every phase: a `wsdl` or `xsd` query parameter, whatever the method.
    if let Some(asked) = super::wsdl::asked(req.uri().query()) {
        return super::wsdl::answer(&asked, conn, &req, &correlation);
    }
    let mut seen = Seen::default();
    // Every event of the request carries the span's fields (trace.id, source.ip, the labels
    // recorded as the request is read). A disabled span costs a check and nothing more.
    let span = request_span(router, conn, &req, correlation_id);
    // Boxed: the routing future is tens of kilobytes, and each wrapper and hyper's dispatcher
    // would otherwise move it whole (14 copies per request, 100,000 instructions: callgrind).
    // The span goes down by reference too: `Span::current()` costs a lookup each time.
    let routing = Box::pin(route_request(
        router,
        conn,
        req,
        (&correlation, &span),
        &mut seen,
    ));
    let routed = routing.instrument(span.clone()).await;
    let fault = routed.as_ref().err().map(|f| f.fault.code());
    router
        .metrics
        .request(router.env, &seen.metrics, fault, started.elapsed());
    router
        .live
        .record(router.env, &seen.live, live_outcome(&routed), started);
    match routed {
        Ok(resp) => {
            tracing::info!(
                parent: &span,
                event.action = "resp-out",
                http.response.status_code = resp.status().as_u16(),
                event.duration = started.elapsed().as_nanos() as u64,
                "resp-out"
            );
            resp
        }
        Err(failure) => {
            let code = failure.fault.code().as_str();
            tracing::info!(
                parent: &span,
                event.action = "resp-out",
                http.response.status_code = StatusCode::INTERNAL_SERVER_ERROR.as_u16(),
                event.duration = started.elapsed().as_nanos() as u64,
                error.code = code,
                error.message = failure.fault.details(),
                labels.errorCode = code,
                "resp-out"
            );
            fault_response(router, &failure.fault, &correlation, failure.close)
        }
    }
}

/// How a request ended, for the console's live view.
fn live_outcome(routed: &Result<Response<RespBody>, Failure>) -> crate::live::Outcome {
    match routed {
        Ok(resp) => crate::live::Outcome::Answered(resp.status().as_u16()),
        Err(failure) => crate::live::Outcome::Fault(failure.fault.code().as_str()),
    }
}

/// The request's span (`request`): what is known of every request before it is read, and
/// (recorded later, as VP's exchange properties are set) who sent what to whom.
fn request_span(
    router: &Router,
    conn: &ConnInfo,
    req: &Request<Incoming>,
    correlation_id: &str,
) -> tracing::Span {
    tracing::info_span!(
        "request",
        trace.id = %correlation_id,
        transaction.id = %TransactionId::next(),
        service.environment = %router.env,
        source.ip = %conn.peer_ip,
        source.port = conn.peer.port(),
        http.request.method = %req.method(),
        url.full = %FullUrl { conn, req },
        labels.senderid = Empty,
        labels.receiverid = Empty,
        labels.servicecontract_namespace = Empty,
        labels.rivversion = Empty,
        labels.wsdl_namespace = Empty,
    )
}

/// What the pipeline learns of a request as it reads it, for the metrics' labels and the
/// live view, carried to the end of `handle`.
#[derive(Default)]
struct Seen {
    metrics: crate::metrics::Seen,
    live: crate::live::Noted,
}

/// `transaction.id`: the request's number in this process, as VP names the Camel exchange
/// (`<process>-<sequence>`, hexadecimal). Drawn only when the span is enabled.
struct TransactionId(u64);

static TRANSACTIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl TransactionId {
    fn next() -> Self {
        TransactionId(TRANSACTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

impl std::fmt::Display for TransactionId {
    /// `{:08X}-{:016X}` of the process id and the number, written digit by digit: through
    /// `write!` the two padded numbers cost 1,700 instructions per request (callgrind).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut text = [b'-'; 25];
        let pid = std::process::id();
        for (i, digit) in text[..8].iter_mut().enumerate() {
            *digit = HEX[((pid >> (28 - 4 * i)) & 0xf) as usize];
        }
        for (i, digit) in text[9..].iter_mut().enumerate() {
            *digit = HEX[((self.0 >> (60 - 4 * i)) & 0xf) as usize];
        }
        // Hexadecimal digits and a dash: always UTF-8.
        f.write_str(std::str::from_utf8(&text).unwrap_or_default())
    }
}

/// `url.full`: the URL the consumer called (scheme of the listener, its `Host`, path and
/// query), written only when the span is enabled.
struct FullUrl<'a> {
    conn: &'a ConnInfo,
    req: &'a Request<Incoming>,
}

impl std::fmt::Display for FullUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match self.conn.transport {
            Transport::Https(_) => "https",
            Transport::Http => "http",
        };
        let host = header_str(self.req.headers(), http::header::HOST).unwrap_or("");
        let path = self.req.uri().path_and_query().map_or("/", |p| p.as_str());
        // Piece by piece: `write!` would go through `fmt::write` once more.
        f.write_str(scheme)?;
        f.write_str("://")?;
        f.write_str(&bounded(host))?;
        f.write_str(&bounded(path))
    }
}

/// The request's correlation id, as it came (trimmed), else a new UUID; built once as the
/// header value the producer and the consumer get.
fn correlation_id(headers: &HeaderMap) -> HeaderValue {
    if let Some(value) = headers.get(CORRELATION_ID_H)
        && let Ok(text) = value.to_str()
    {
        let trimmed = text.trim();
        if trimmed.len() == text.len() && !text.is_empty() {
            return value.clone();
        }
        if !trimmed.is_empty()
            && let Ok(v) = HeaderValue::from_str(trimmed)
        {
            return v;
        }
    }
    let mut buf = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
    HeaderValue::from_str(id).expect("a UUID is a valid header value")
}

async fn route_request(
    router: &Router,
    conn: &ConnInfo,
    req: Request<Incoming>,
    (correlation, span): (&HeaderValue, &tracing::Span),
    seen: &mut Seen,
) -> Result<Response<RespBody>, Failure> {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;

    // 1. Identity.
    let caller = identify(router, conn, headers)?;
    router.metrics.consumer(&mut seen.metrics, &caller.sender);
    span.record("labels.senderid", &*bounded(&caller.sender));

    // VP reads every request as a SOAP message sent with POST: another method is answered as
    // VP answers a body it cannot read (VP015), and its body (if any) is neither read nor
    // forwarded, so the connection closes.
    if parts.method != Method::POST {
        return Err(Failure {
            fault: VpFault::not_post(parts.method.as_str()),
            close: !body.is_end_stream(),
        });
    }

    // 2. Body, bounded in size and in time (the whole of it, also while it is passed on).
    let limits = BodyLimits {
        max: router.config.max_request_bytes,
        silence: router.config.client_read_timeout(),
        whole: router.config.request_body_timeout(),
        deadline: tokio::time::Instant::now() + router.config.request_body_timeout(),
    };
    let Received { head, rest } = read_body(&limits, headers, body).await?;
    // A request in another encoding than UTF-8 goes on in UTF-8 (a body read whole; a larger
    // one streamed on is read as UTF-8), and its answer comes back in its encoding.
    let charset = match rest {
        None => super::charset::Declared::of(
            header_str(headers, CONTENT_TYPE),
            &head.prefix(super::charset::PREFIX_BYTES),
        ),
        Some(_) => None,
    };
    // Converting is CPU work in proportion to the body (up to 15 MiB): off the async workers.
    let head = match &charset {
        Some(declared) => {
            let (declared, body) = (declared.clone(), head.contiguous().into_owned());
            let converted = tokio::task::spawn_blocking(move || declared.to_utf8(&body))
                .await
                .map_err(|e| {
                    VpFault::malformed(&format!("converting the request to UTF-8: {e}"))
                })?;
            RequestBody::from(converted)
        }
        None => head,
    };
    let mut rest = rest;
    let routed = route_body(
        router,
        headers,
        &caller,
        (&head, &mut rest, &limits),
        (correlation, span),
        seen,
    )
    .await;
    match (routed, rest, charset) {
        // A fault before the producer: the rest is read as it would have been before routing
        // (the connection goes on serving), and a problem with it wins, as it would have.
        (Err(failure), Some(rest), _) => Err(drain(&limits, rest, head.len())
            .await
            .err()
            .unwrap_or(failure)),
        (Ok(answer), _, Some(declared)) => in_request_encoding(router, answer, &declared).await,
        (routed, _, _) => routed,
    }
}

/// A producer's answer to a request in another encoding, in that encoding (read whole,
/// bounded as a request is).
async fn in_request_encoding(
    router: &Router,
    answer: Response<RespBody>,
    declared: &super::charset::Declared,
) -> Result<Response<RespBody>, Failure> {
    let (mut parts, body) = answer.into_parts();
    let limited = http_body_util::Limited::new(body, router.config.max_request_bytes);
    let bytes = limited.collect().await.map_err(|e| {
        // VP's own placeholder for an address it does not have at hand.
        VpFault::producer("<UNKNOWN>", &e.to_string())
    })?;
    let (answer_declared, bytes) = (declared.clone(), bytes.to_bytes());
    let converted = tokio::task::spawn_blocking(move || answer_declared.from_utf8(&bytes))
        .await
        .map_err(|e| VpFault::producer("<UNKNOWN>", &format!("converting the answer: {e}")))?;
    if let Ok(value) = HeaderValue::from_str(&declared.content_type()) {
        parts.headers.insert(CONTENT_TYPE, value);
    }
    parts.headers.remove(CONTENT_LENGTH);
    Ok(Response::from_parts(parts, RespBody::whole(converted)))
}

/// Phases 3 to 9 for a body read whole, or for a body's beginning (`rest` then holds what is
/// still to come: it is taken when the request goes to the producer).
async fn route_body(
    router: &Router,
    headers: &HeaderMap,
    caller: &Caller<'_>,
    (body, rest, limits): (&RequestBody, &mut Option<Incoming>, &BodyLimits),
    (correlation, span): (&HeaderValue, &tracing::Span),
    seen: &mut Seen,
) -> Result<Response<RespBody>, Failure> {
    // 3. Sniff the header and the first body element.
    let view = sniff_view(body);
    let sniffed = soap::sniff_ref(&view).map_err(|e| VpFault::malformed(&e.to_string()))?;
    let Some(contract) = sniffed.contract.as_deref() else {
        return Err(VpFault::malformed(
            "The SOAP Body has no element: the service contract is the namespace of its first child element.",
        )
        .into());
    };
    log_req_in(
        router,
        (headers, span),
        &sniffed,
        contract,
        (body, rest.is_none()),
    );
    router.metrics.contract(&mut seen.metrics, contract);
    seen.live
        .note(&caller.sender, sniffed.logical_address.as_deref(), contract);

    // 4. x-rivta-original-serviceconsumer-hsaid from a sender that may not set it.
    check_original_consumer(router, headers, caller)?;

    // 5. TAK and logical address.
    let snapshot = router.tak.load_full().ok_or_else(VpFault::no_tak)?;
    let receiver = match sniffed.logical_address.as_deref() {
        Some(r) if !r.trim().is_empty() => r,
        _ => return Err(VpFault::no_logical_address().into()),
    };
    router.metrics.address(&mut seen.metrics, receiver);
    let day = router.clock.today();

    // 6. Route; the HSA tree read like the snapshot, without a lock.
    let (hsa, rules) = (router.hsa.load(), &router.rules);
    let lookup = snapshot.route_with(contract, receiver, day, rules, &hsa);
    let target = one_route(lookup.matches.as_slice(), contract, receiver)?;

    // 7. Authorisation.
    let auth = snapshot.authorise_with(&caller.sender, contract, receiver, day, rules, &hsa);
    if !auth.granted {
        return Err(VpFault::not_authorised(contract, receiver, &caller.sender).into());
    }

    // 8. Profile.
    let incoming = sniffed.profile.ok_or_else(VpFault::no_rivta_version)?;
    let body = in_profile(body, incoming, &target.profile)?;

    // 9. Forward.
    let producer = router
        .producers
        .target(&target.url)
        .map_err(|e| VpFault::producer(&target.url, &format!("Invalid producer URL: {e}")))?;
    let to_http = producer.is_http();
    let out_headers = || producer_headers(router, headers, caller, correlation, to_http);
    let timeout = router.timeouts.for_contract(contract);
    // req-out and resp-in are debug, req-in and resp-out info: the real VP's production logging
    // (req.out and resp.in off), and each event line costs about as much as the routing itself.
    log_req_out(&target.url, (&lookup.trace, &auth.trace), (headers, caller));
    // The snapshot must not be held across the producer call: a publish may swap it meanwhile.
    let url = target.url.clone();
    drop(snapshot);
    drop(hsa);
    let body = match rest.take() {
        None => OutBody::Whole(body),
        Some(rest) => OutBody::Streamed(Upload::new(body, rest, limits)),
    };
    let sent = Instant::now();
    let answer = send(
        router,
        &producer,
        (&out_headers, body, timeout),
        &url,
        correlation,
    )
    .await;
    seen.metrics.producer_took(sent.elapsed());
    answer
}

/// The `req-in` event: what was sent to whom (recorded on the request's span, for every
/// later event), how large, and (`router.log_bodies`) the body's beginning.
fn log_req_in(
    router: &Router,
    (headers, span): (&HeaderMap, &tracing::Span),
    sniffed: &soap::SniffedRef<'_>,
    contract: &str,
    (body, whole): (&RequestBody, bool),
) {
    if span.is_disabled() && !tracing::enabled!(tracing::Level::INFO) {
        return;
    }
    record_labels(span, sniffed, contract);
    let header = |name: &HeaderName| header_str(headers, name).map(bounded);
    // A larger body's rest is still to come: its size is the one declared, if any.
    let size = match header_str(headers, CONTENT_LENGTH).map(|v| v.trim().parse::<usize>()) {
        Some(Ok(declared)) if !whole => declared,
        _ => body.len(),
    };
    let content = router
        .config
        .log_bodies
        .then(|| logged_body(&body.prefix(LOGGED_BODY_BYTES), size));
    tracing::info!(
        parent: span,
        event.action = "req-in",
        http.request.body.bytes = whole.then_some(body.len() as u64),
        http.request.body.content = content.as_deref(),
        labels.originalServiceconsumerHsaid_in = header(&ORIGINAL_CONSUMER_H).as_deref(),
        labels.actingOnBehalfOfHsaid = header(&ACTING_ON_BEHALF_OF_H).as_deref(),
        labels.httpXForwardedProto = header(&FORWARDED_PROTO_H).as_deref(),
        labels.httpXForwardedHost = header(&FORWARDED_HOST_H).as_deref(),
        labels.httpXForwardedPort = header(&FORWARDED_PORT_H).as_deref(),
        "req-in"
    );
}

/// Records what the sniff found on the request's span, in one trip through the subscriber
/// rather than one per label (`Span::record` makes a trip each).
fn record_labels(span: &tracing::Span, sniffed: &soap::SniffedRef<'_>, contract: &str) {
    let Some(fields) = span.metadata().map(|m| m.fields()) else {
        return;
    };
    let (Some(receiver_f), Some(contract_f), Some(riv_f), Some(wsdl_f)) = (
        fields.field("labels.receiverid"),
        fields.field("labels.servicecontract_namespace"),
        fields.field("labels.rivversion"),
        fields.field("labels.wsdl_namespace"),
    ) else {
        return;
    };
    let receiver = bounded(sniffed.logical_address.as_deref().unwrap_or(""));
    let contract_text = bounded(contract);
    let riv = sniffed.profile.map(rivversion);
    let wsdl = riv.map(|riv| tracing::field::display(WsdlNamespace(contract, riv)));
    let (receiver, contract_text) = (&*receiver, &*contract_text);
    span.record_all(&fields.value_set(&[
        (&receiver_f, Some(&receiver as &dyn tracing::Value)),
        (&contract_f, Some(&contract_text as &dyn tracing::Value)),
        (&riv_f, riv.as_ref().map(|r| r as &dyn tracing::Value)),
        (&wsdl_f, wsdl.as_ref().map(|w| w as &dyn tracing::Value)),
    ]));
}

/// The headers VP logs as `labels.actingOnBehalfOfHsaid` and `labels.httpXForwarded*`, as
/// constants: a name given as text would be parsed again on every request.
const ACTING_ON_BEHALF_OF_H: HeaderName =
    HeaderName::from_static("x-rivta-acting-on-behalf-of-hsaid");
const FORWARDED_PROTO_H: HeaderName = HeaderName::from_static("x-forwarded-proto");
const FORWARDED_HOST_H: HeaderName = HeaderName::from_static("x-forwarded-host");
const FORWARDED_PORT_H: HeaderName = HeaderName::from_static("x-forwarded-port");

/// How much of a body `router.log_bodies` writes into a log line.
const LOGGED_BODY_BYTES: usize = 64 * 1024;

/// A body's beginning as logged: text (invalid UTF-8 replaced), cut at
/// [`LOGGED_BODY_BYTES`] with the truncation marker naming the whole size.
fn logged_body(prefix: &[u8], whole: usize) -> String {
    let text = String::from_utf8_lossy(&prefix[..prefix.len().min(LOGGED_BODY_BYTES)]);
    if whole <= LOGGED_BODY_BYTES {
        return text.into_owned();
    }
    let marker = soap::fault::TRUNCATION_MARKER.replace("{}", &whole.to_string());
    format!("{text}{marker}")
}

/// The profile as VP's req-in names it (`labels.rivversion`): as parsed, in lower case.
fn rivversion(profile: Profile) -> &'static str {
    match profile {
        Profile::Bp20 => "rivtabp20",
        Profile::Bp21 => "rivtabp21",
    }
}

/// `labels.wsdl_namespace`: the contract's namespace without `Responder`, then `:` and the
/// profile, as VP derives it (`urn:riv:...:GetCertificate:1:rivtabp20`).
struct WsdlNamespace<'a>(&'a str, &'a str);

impl std::fmt::Display for WsdlNamespace<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Each `R` checked for `Responder`: building a substring searcher (memmem's or
        // `str::split`'s) costs more than the search itself on a namespace this short.
        const RESPONDER: &str = "Responder";
        let contract = bounded(self.0);
        let mut from = 0;
        for at in memchr::memchr_iter(b'R', contract.as_bytes()) {
            if at >= from && contract[at..].starts_with(RESPONDER) {
                f.write_str(&contract[from..at])?;
                from = at + RESPONDER.len();
            }
        }
        f.write_str(&contract[from..])?;
        f.write_str(":")?;
        f.write_str(self.1)
    }
}

/// Phase 6: the one valid route (none is VP004, several VP006), with a URL (else VP010).
fn one_route<'a>(
    matches: &[&'a crate::tak::snapshot::RouteTarget],
    contract: &str,
    receiver: &str,
) -> Result<&'a crate::tak::snapshot::RouteTarget, Failure> {
    let target = match matches {
        [] => return Err(VpFault::no_route(contract, receiver).into()),
        [one] => *one,
        _ => return Err(VpFault::several_routes(contract, receiver).into()),
    };
    if target.url.trim().is_empty() {
        return Err(VpFault::empty_url(contract, receiver).into());
    }
    Ok(target)
}

/// The `req-out` event: where the request goes, the lookups' traces, and the original
/// consumer sent on.
fn log_req_out(
    url: &str,
    (routes, authorisations): (&dyn std::fmt::Display, &dyn std::fmt::Display),
    (headers, caller): (&HeaderMap, &Caller<'_>),
) {
    tracing::debug!(
        event.action = "req-out",
        url.original = %url,
        labels.routerVagvalTrace = %routes,
        labels.routerBehorighetTrace = %authorisations,
        labels.originalServiceconsumerHsaid =
            original_consumer(headers, caller).and_then(|v| v.to_str().ok()),
        "req-out"
    );
}

/// The original consumer as sent to the producer (`labels.originalServiceconsumerHsaid`).
/// The `x-rivta-original-serviceconsumer-hsaid` the producer gets: the consumer's own, if it
/// sent one that is not blank, else the sender's HSA-id.
fn original_consumer<'a>(
    incoming: &'a HeaderMap,
    caller: &'a Caller<'_>,
) -> Option<&'a HeaderValue> {
    incoming
        .get(ORIGINAL_CONSUMER_H)
        .filter(|v| !v.as_bytes().iter().all(u8::is_ascii_whitespace))
        .or(caller.sender_header.as_ref())
}

/// Phase 4: an `x-rivta-original-serviceconsumer-hsaid` from a sender not allowed to set it is
/// refused (VP013) or, as configured, logged.
fn check_original_consumer(
    router: &Router,
    headers: &HeaderMap,
    caller: &Caller<'_>,
) -> Result<(), Failure> {
    let original = header_str(headers, ORIGINAL_CONSUMER_H).filter(|v| !v.trim().is_empty());
    if original.is_some() && !caller.internal {
        let allowed = &router.settings.original_consumer_allowed;
        let ok = allowed.is_empty()
            || allowed
                .iter()
                .any(|a| a.trim().eq_ignore_ascii_case(&caller.sender));
        if !ok {
            if router.settings.refuse_original_consumer {
                return Err(VpFault::original_consumer_not_allowed().into());
            }
            let sender = bounded(&caller.sender);
            tracing::warn!(sender = %sender, "Sender '{sender}' not allowed to set header {ORIGINAL_CONSUMER}");
        }
    }
    Ok(())
}

/// Phase 8: the body in the producer's profile (`target_profile`, TAK's name). A streamed
/// body's beginning holds the first body element: converting it converts the whole (the rest
/// is copied verbatim either way).
fn in_profile(
    body: &RequestBody,
    incoming: Profile,
    target_profile: &str,
) -> Result<RequestBody, Failure> {
    let outgoing = Profile::from_tak_name(target_profile)
        .ok_or_else(|| VpFault::profile_mismatch(&incoming.tak_name().to_ascii_lowercase()))?;
    if incoming == outgoing {
        return Ok(body.clone());
    }
    Ok(RequestBody::from(Bytes::from(
        rivta::convert(&body.contiguous(), outgoing)
            .map_err(|e| VpFault::platform_resource(&e.to_string()))?,
    )))
}

/// Phase 9's exchange: sends to the producer and returns its answer with the consumer's
/// headers, or the fault.
async fn send(
    router: &Router,
    producer: &std::sync::Arc<super::pool::Target>,
    (headers, body, timeout): (
        &(dyn Fn() -> HeaderMap + Sync),
        OutBody,
        std::time::Duration,
    ),
    url: &str,
    correlation: &HeaderValue,
) -> Result<Response<RespBody>, Failure> {
    let answer = router
        .producers
        .send_with(producer, headers, body, timeout)
        .await
        .map_err(|e| forward_fault(url, e))?;
    log_resp_in(router, &answer);
    let (mut parts, body) = answer.response.into_parts();
    consumer_headers(&mut parts.headers, correlation, answer.producer_ms);
    Ok(Response::from_parts(parts, body))
}

/// The `resp-in` event: the producer's status and time (`event.duration`, from its
/// `x-skltp-prt` milliseconds as VP does), and (`router.log_bodies`) the answer's beginning as
/// read before it is passed on.
fn log_resp_in(router: &Router, answer: &super::forward::ProducerAnswer) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let content = match (router.config.log_bodies, answer.response.body()) {
        (true, RespBody::Whole(Some(bytes))) => Some(logged_body(bytes, bytes.len())),
        (true, RespBody::Streamed(s)) => {
            // At most 64 KiB and a piece are read before an answer is passed on.
            let read: Vec<u8> = s.read_so_far().flatten().copied().collect();
            Some(logged_body(&read, read.len()))
        }
        _ => None,
    };
    tracing::debug!(
        event.action = "resp-in",
        http.response.status_code = answer.response.status().as_u16(),
        event.duration = (answer.producer_ms as u64).saturating_mul(1_000_000),
        http.response.body.content = content.as_deref(),
        "resp-in"
    );
}

fn forward_fault(url: &str, e: ForwardError) -> Failure {
    match e {
        ForwardError::Upload(failure) => body_failure(failure),
        e => VpFault::producer(url, &e.camel_cause(url)).into(),
    }
}

/// A request body that could not be read: VP015, and the connection closes (the rest of the
/// body is unread).
fn body_failure(failure: UploadFailure) -> Failure {
    Failure {
        fault: VpFault::malformed(&failure.to_string()),
        close: true,
    }
}

/// Phase 1: who is calling.
fn identify<'a>(
    router: &Router,
    conn: &'a ConnInfo,
    headers: &'a HeaderMap,
) -> Result<Caller<'a>, Failure> {
    let mut caller = match &conn.transport {
        Transport::Https(Ok(id)) => Caller {
            sender: Cow::Borrowed(id),
            sender_header: conn.sender_header.clone(),
            internal: false,
            routing_history: None,
        },
        Transport::Https(Err(subject)) => {
            return Err(VpFault::no_sender_id_in_subject(subject).into());
        }
        Transport::Http => identify_http(router, conn, headers)?,
    };
    caller.routing_history = routing_history(router, headers, &caller)?;
    Ok(caller)
}

/// Phase 1's routing-loop check (VP014) and the history sent on: VP's non-internal path.
/// In production NTjP terminates TLS in front of VP and forwards the certificate, so every
/// consumer call takes that path; the HTTPS listeners stand for that front and do the same
/// as the plain-HTTP one with `x-vp-auth-cert`. An internal call (`x-vp-sender-id` with this
/// platform's `x-vp-instance-id`) passes the history on as it came.
fn routing_history(
    router: &Router,
    headers: &HeaderMap,
    caller: &Caller<'_>,
) -> Result<Option<HeaderValue>, Failure> {
    if caller.internal || internal_headers(router, headers) {
        return Ok(text_header(headers, ROUTING_HISTORY_H));
    }
    let own = router.settings.instance_id.as_str();
    let before = match header_str(headers, ROUTING_HISTORY_H).map(str::trim) {
        Some(h) if !h.is_empty() => {
            // Hops trimmed, compared case-sensitively: VP's `e.trim().equals(vpInstanceId)`.
            if h.split('#').any(|hop| hop.trim() == own) {
                return Err(VpFault::routing_loop().into());
            }
            h
        }
        _ => caller.sender.as_ref(),
    };
    // `before#own`, built without `format!` (every HTTPS request writes one).
    let mut history = String::with_capacity(before.len() + 1 + own.len());
    history.push_str(before);
    history.push('#');
    history.push_str(own);
    Ok(HeaderValue::try_from(history).ok())
}

/// Whether the request carries VP's internal-call headers: a non-empty `x-vp-sender-id` and
/// this platform's `x-vp-instance-id`.
fn internal_headers(router: &Router, headers: &HeaderMap) -> bool {
    header_str(headers, SENDER_ID_H).is_some_and(|v| !v.trim().is_empty())
        && header_str(headers, INSTANCE_ID_H)
            .is_some_and(|v| v.trim() == router.settings.instance_id)
}

/// A header value passed on unchanged, if it is text (as VP reads headers).
fn text_header(headers: &HeaderMap, name: HeaderName) -> Option<HeaderValue> {
    headers.get(name).filter(|v| v.to_str().is_ok()).cloned()
}

/// Whether `ip` is on the environment's whitelist (a prefix match, as in VP).
pub(crate) fn whitelisted(router: &Router, ip: &str) -> bool {
    router
        .settings
        .ip_whitelist
        .iter()
        .any(|entry| ip.trim().starts_with(entry.trim()))
}

fn identify_http<'a>(
    router: &Router,
    conn: &ConnInfo,
    headers: &'a HeaderMap,
) -> Result<Caller<'a>, Failure> {
    if !conn.peer_whitelisted {
        return Err(VpFault::not_whitelisted(&conn.peer_ip, REMOTE_ADDRESS).into());
    }
    let sender_header = header_str(headers, SENDER_ID_H).filter(|v| !v.trim().is_empty());
    let instance = header_str(headers, INSTANCE_ID_H);
    if let (Some(sender), Some(instance)) = (sender_header, instance)
        && instance.trim() == router.settings.instance_id
    {
        if let Some(xff) = header_str(headers, FORWARDED_FOR_H)
            && !whitelisted(router, xff)
        {
            return Err(VpFault::not_whitelisted(xff.trim(), "X-Forwarded-For").into());
        }
        let trimmed = sender.trim();
        let sender_header = if trimmed.len() == sender.len() {
            headers.get(SENDER_ID_H).cloned()
        } else {
            HeaderValue::from_str(trimmed).ok()
        };
        return Ok(Caller {
            sender: Cow::Borrowed(trimmed),
            sender_header,
            internal: true,
            routing_history: None,
        });
    }
    let Some(value) = headers.get(AUTH_CERT_H) else {
        return Err(VpFault::no_certificate_in_header(AUTH_CERT).into());
    };
    // The same certificate comes again and again from a load balancer: parsed once.
    let (sender, sender_header) = router
        .auth_certs
        .sender(value, || sender_from_cert_header(value))?;
    Ok(Caller {
        sender_header,
        sender: Cow::Owned(sender.to_string()),
        internal: false,
        routing_history: None,
    })
}

/// The consumer's HSA-id from the certificate in `x-vp-auth-cert`, with VP's VP002 for each
/// way that fails (no header: the caller's): a value that is neither PEM (both markers) nor base64 DER
/// starting with `MII`; one that does not parse; a certificate without serialNumber.
fn sender_from_cert_header(value: &HeaderValue) -> Result<String, Failure> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let Ok(cert) = value.to_str() else {
        return Err(VpFault::unknown_certificate_type_in_header(AUTH_CERT).into());
    };
    let cert = cert.trim();
    if !(cert.contains(BEGIN) && cert.contains(END) || cert.starts_with("MII")) {
        return Err(VpFault::unknown_certificate_type_in_header(AUTH_CERT).into());
    }
    let unreadable = || Failure::from(VpFault::unreadable_certificate_in_header(AUTH_CERT));
    let der = crate::pki::cert_from_header(cert).map_err(|_| unreadable())?;
    match crate::pki::hsa_id_from_der(&der) {
        Ok(Some(id)) if !id.is_empty() => Ok(id),
        Ok(_) => Err(VpFault::no_sender_id_in_header_certificate().into()),
        Err(_) => Err(unreadable()),
    }
}

/// How much of a body in several pieces is gathered for the sniff first: the header and the
/// first body element are nearly always within it; when they are not, the whole body is.
const SNIFF_PREFIX_BYTES: usize = 64 * 1024;

/// What the sniff reads: a body in one piece as it is; of a body in pieces, the first 64 KiB
/// when they hold the first body element, else the whole body (so that every answer, errors
/// and their positions included, is the one the whole body gives).
fn sniff_view(body: &RequestBody) -> Cow<'_, [u8]> {
    let prefix = body.prefix(SNIFF_PREFIX_BYTES);
    if prefix.len() == body.len() || soap::sniff_ref(&prefix).is_ok_and(|s| s.contract.is_some()) {
        return prefix;
    }
    body.contiguous()
}

/// A request body as phase 2 leaves it.
struct Received {
    /// The whole body, or (of a larger one) at least its first 64 KiB, which hold the SOAP
    /// header and the first body element.
    head: RequestBody,
    /// What is still to come of a larger body: sent on to the producer as it arrives.
    rest: Option<Incoming>,
}

/// Phase 2: the body, refusing more than the limit without reading it. A body of up to
/// 64 KiB, or one whose first body element is not in its first 64 KiB, is read whole; of a
/// larger one only the beginning is read here. Kept as the pieces it arrived in: nothing is
/// copied and nothing is reserved before data arrives.
async fn read_body(
    limits: &BodyLimits,
    headers: &HeaderMap,
    mut body: Incoming,
) -> Result<Received, Failure> {
    let max = limits.max;
    let declared = header_str(headers, CONTENT_LENGTH).and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = declared
        && n > max as u64
    {
        return Err(body_failure(UploadFailure::TooLarge(max)));
    }
    // The usual request arrives in one frame: no list for it.
    let mut first: Option<Bytes> = None;
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut held = 0usize;
    let mut head_tried = false;
    while let Some(data) = next_piece(&mut body, limits, &mut held).await? {
        if first.is_none() && chunks.is_empty() {
            first = Some(data);
        } else {
            chunks.extend(first.take());
            chunks.push(data);
        }
        if held >= SNIFF_PREFIX_BYTES && !head_tried && !body.is_end_stream() {
            head_tried = true;
            let head = match &first {
                Some(one) => RequestBody::from(one.clone()),
                None => RequestBody::from_chunks(chunks.clone()),
            };
            if soap::sniff_ref(&head.prefix(SNIFF_PREFIX_BYTES)).is_ok_and(|s| s.contract.is_some())
            {
                return Ok(Received {
                    head,
                    rest: Some(body),
                });
            }
        }
    }
    let head = match first {
        Some(one) => RequestBody::from(one),
        None => RequestBody::from_chunks(chunks),
    };
    Ok(Received { head, rest: None })
}

/// The next piece of a request body (`None` at its end), within the body's limits (`held`
/// counts what was read so far).
async fn next_piece(
    body: &mut Incoming,
    limits: &BodyLimits,
    held: &mut usize,
) -> Result<Option<Bytes>, Failure> {
    loop {
        match super::at_once_or_within_by(limits.silence, limits.deadline, body.frame()).await {
            Err(expired) => return Err(body_failure(limits.expired(expired, *held))),
            Ok(None) => return Ok(None),
            Ok(Some(Err(e))) => return Err(body_failure(UploadFailure::Broken(e.to_string()))),
            Ok(Some(Ok(frame))) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                if *held + data.len() > limits.max {
                    return Err(body_failure(UploadFailure::TooLarge(limits.max)));
                }
                *held += data.len();
                return Ok(Some(data));
            }
        }
    }
}

/// Reads the rest of a body and drops it (after a fault found in its beginning), within the
/// same limits; `held` bytes were read before.
async fn drain(limits: &BodyLimits, mut rest: Incoming, mut held: usize) -> Result<(), Failure> {
    while next_piece(&mut rest, limits, &mut held).await?.is_some() {}
    Ok(())
}

fn header_str(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether VP strips an incoming header before forwarding (VP's
/// `requestHeadersToRemove`), or sets it itself.
fn dropped_towards_producer(name: &str) -> bool {
    name.starts_with("x-vp")
        || name.starts_with("x-forwarded")
        || name.starts_with("mule_")
        || name.starts_with("x-mule_")
        || matches!(
            name,
            "peer_certificates"
                | "connection"
                | "keep-alive"
                | "proxy-connection"
                | "te"
                | "upgrade"
                | "accept-encoding"
                | "host"
                | "content-length"
                | "transfer-encoding"
                | "content-type"
                | "user-agent"
                | CORRELATION_ID
                | ORIGINAL_CONSUMER
                | ROUTING_HISTORY
        )
}

fn producer_headers(
    router: &Router,
    incoming: &HeaderMap,
    caller: &Caller<'_>,
    correlation: &HeaderValue,
    to_http: bool,
) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(incoming.len() + 6);
    for (name, value) in incoming {
        if !dropped_towards_producer(name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(SOAP_CONTENT_TYPE_TO_PRODUCER),
    );
    if let Some(v) = &router.fixed.user_agent {
        out.insert(USER_AGENT, v.clone());
    }
    if let Some(v) = original_consumer(incoming, caller) {
        out.insert(ORIGINAL_CONSUMER_H, v.clone());
    }
    if to_http || router.config.propagate_correlation_id_for_https {
        out.insert(CORRELATION_ID_H, correlation.clone());
    }
    if to_http {
        if let Some(v) = &caller.sender_header {
            out.insert(SENDER_ID_H, v.clone());
        }
        if let Some(v) = &router.fixed.instance_id {
            out.insert(INSTANCE_ID_H, v.clone());
        }
    }
    if let Some(v) = &caller.routing_history {
        out.insert(ROUTING_HISTORY_H, v.clone());
    }
    out
}

/// Producer headers as the consumer gets them: SOAPAction and hop-by-hop headers dropped,
/// content type normalised, correlation id and producer response time added. The producer's
/// `Server` passes; its `Date` does not (Camel's header filter drops it), and the consumer
/// gets the platform's own, as the TLS terminator in front of VP writes one (hyper here).
fn consumer_headers(headers: &mut HeaderMap, correlation: &HeaderValue, producer_ms: u128) {
    for name in [
        SOAP_ACTION_H,
        CONNECTION,
        KEEP_ALIVE_H,
        TRANSFER_ENCODING,
        DATE,
    ] {
        headers.remove(name);
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(SOAP_CONTENT_TYPE));
    headers.insert(CORRELATION_ID_H, correlation.clone());
    headers.insert(
        PRODUCER_RESPONSE_TIME_H,
        HeaderValue::from(producer_ms as u64),
    );
}

fn full(body: impl Into<Bytes>) -> RespBody {
    RespBody::whole(body)
}

fn fault_response(
    router: &Router,
    fault: &VpFault,
    correlation: &HeaderValue,
    close: bool,
) -> Response<RespBody> {
    let mut resp = Response::new(full(fault.to_soap(&router.settings.instance_name)));
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(SOAP_CONTENT_TYPE));
    h.insert(CORRELATION_ID_H, correlation.clone());
    if close {
        h.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

fn not_found(correlation: &HeaderValue) -> Response<RespBody> {
    let mut resp = Response::new(full(
        "Not found. Consumers call POST /vp/<any path>; the path is not used for routing.\n",
    ));
    *resp.status_mut() = StatusCode::NOT_FOUND;
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(CORRELATION_ID_H, correlation.clone());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp_strips_platform_and_hop_headers_but_keeps_soapaction_and_rivta() {
        for h in [
            "x-vp-sender-id",
            "x-vp-auth-cert",
            "x-forwarded-for",
            "x-forwarded-tls-client-cert",
            "accept-encoding",
            "connection",
            "host",
        ] {
            assert!(dropped_towards_producer(h), "{h}");
        }
        for h in [
            "soapaction",
            "x-rivta-acting-on-behalf-of-hsaid",
            "x-custom",
        ] {
            assert!(!dropped_towards_producer(h), "{h}");
        }
    }

    /// `body` cut into pieces of `size` bytes, as a client sending it slowly would.
    fn in_pieces(body: &[u8], size: usize) -> RequestBody {
        RequestBody::from_chunks(body.chunks(size).map(Bytes::copy_from_slice).collect())
    }

    #[test]
    fn a_body_in_pieces_is_sniffed_as_the_whole_body_would_be() {
        let envelope = |header_filler: &str, after: &str| {
            format!(
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><!--{header_filler}--><LogicalAddress>01</LogicalAddress></s:Header><s:Body><p:Op xmlns:p="urn:x:1"/></s:Body></s:Envelope>{after}"#
            )
        };
        let big_comment = "x".repeat(100 * 1024);
        let cases = [
            // The first body element within the first 64 KiB: the prefix is enough.
            envelope("", &" ".repeat(200 * 1024)),
            // Beyond it: the whole body is read.
            envelope(&big_comment, ""),
            // An error beyond the prefix keeps its position.
            format!("{}<broken", envelope(&big_comment, "")),
            // A root that closes early, then trailing content: an error, not "no body child".
            format!("<a/>{}<b/>", " ".repeat(100 * 1024)),
        ];
        for whole in cases {
            let expected = soap::sniff_ref(whole.as_bytes()).map(|s| s.into_owned());
            for size in [1000, 40 * 1024, 70 * 1024] {
                let body = in_pieces(whole.as_bytes(), size);
                assert_eq!(body.len(), whole.len());
                let view = sniff_view(&body);
                let got = soap::sniff_ref(&view).map(|s| s.into_owned());
                assert_eq!(got, expected, "pieces of {size}");
            }
        }
    }

    #[test]
    fn a_body_in_pieces_is_sent_whole_and_again_on_retry() {
        let whole = b"0123456789".repeat(1000);
        let body = in_pieces(&whole, 333);
        assert_eq!(body.contiguous().as_ref(), &whole[..]);
        assert_eq!(body.prefix(700).len(), 999);
        for _ in 0..2 {
            let sent = futures_collect(body.clone());
            assert_eq!(sent, whole);
        }
        let one = RequestBody::from(Bytes::from_static(b"abc"));
        assert!(matches!(one.contiguous(), Cow::Borrowed(_)));
        assert_eq!(futures_collect(one), b"abc");
    }

    fn futures_collect(body: RequestBody) -> Vec<u8> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async { body.collect().await.unwrap().to_bytes().to_vec() })
    }

    #[test]
    fn a_transaction_id_is_the_process_id_and_the_number_in_hexadecimal() {
        for n in [0, 1, 0xABCDEF, u64::MAX] {
            assert_eq!(
                TransactionId(n).to_string(),
                format!("{:08X}-{:016X}", std::process::id(), n)
            );
        }
    }

    #[test]
    fn the_wsdl_namespace_drops_every_responder() {
        let ns = |contract: &str| WsdlNamespace(contract, "rivtabp21").to_string();
        assert_eq!(
            ns("urn:riv:clinicalprocess:ProcessCervixScreeningInformationResponder:1"),
            "urn:riv:clinicalprocess:ProcessCervixScreeningInformation:1:rivtabp21"
        );
        assert_eq!(
            ns("urn:R:RespondeResponderResponder:R"),
            "urn:R:Responde:R:rivtabp21"
        );
        assert_eq!(ns("Responder"), ":rivtabp21");
        assert_eq!(ns(""), ":rivtabp21");
    }

    #[test]
    fn consumer_headers_drop_soapaction_and_add_prt_and_correlation() {
        let mut h = HeaderMap::new();
        h.insert("soapaction", HeaderValue::from_static("x"));
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        h.insert("x-producer", HeaderValue::from_static("kept"));
        h.insert("server", HeaderValue::from_static("Apache-Coyote/1.1"));
        h.insert(
            DATE,
            HeaderValue::from_static("Mon, 01 Jan 2001 00:00:00 GMT"),
        );
        consumer_headers(&mut h, &HeaderValue::from_static("abc"), 12);
        assert!(h.get("soapaction").is_none());
        assert!(h.get(DATE).is_none(), "the platform writes its own");
        assert_eq!(h["server"], "Apache-Coyote/1.1");
        assert_eq!(h[CONTENT_TYPE], SOAP_CONTENT_TYPE);
        assert_eq!(h[CORRELATION_ID], "abc");
        assert_eq!(h[PRODUCER_RESPONSE_TIME], "12");
        assert_eq!(h["x-producer"], "kept");
    }
}
