//! Mock producers for ProcessCervixScreeningInformation, like the SIT environment's
//! `LOAD-MOCKS`: one HTTPS listener (mutual TLS, trusting the test CA) serving one mock per
//! logical address under `/mocks/<address>/ProcessCervixScreeningInformation/1/<profile>`,
//! where `<profile>` is `rivtabp21` or `rivtabp20`. The default orders route every county
//! code, `LOAD-MOCKS` and `NTJP-MOCKS` here.
//!
//! A mock judges a message as the contract says ([`crate::contract::validate`]: schema and
//! TKB rules), checks that it carries the header of its profile and is addressed to the mock's
//! logical address, and answers `resultCode` OK, or ERROR with a report naming every
//! violation; a message it cannot read gets a SOAP Fault. It answers PingForConfiguration
//! too. It can be made to misbehave (settings in [`crate::config::mocks`]), and it records
//! every message it received with its verdict and answer ([`recorder`]). The answer says
//! which mock served it in the `x-ntjp-mock-address` header; like a real producer's it has
//! `Date` and `Server`, and it echoes the `x-rivta-routing-history` the mock received.
//!
//! Judging, recording and writing the answer run on the blocking pool, at most
//! [`MockConfig::validation_concurrency`] messages at once (a semaphore sized from the CPU
//! cores): a 15 MiB message or a flood of them waits its turn there, and never holds up
//! an async worker, so health checks and the routers (whose producer timeouts must fire)
//! go on. The check itself is linear in the message's size and refuses messages past
//! [`MockConfig::max_attributes_per_element`] and [`MockConfig::max_element_depth`] with a
//! SOAP Fault naming the limit.
//!
//! Not here: the HTTP API over recordings and behaviours (`admin::mocks`).

pub mod recorder;

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use dashmap::DashMap;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header::CONTENT_TYPE};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
};
use tokio_rustls::TlsAcceptor;

pub use recorder::{Filter, Recorder};

use crate::{
    config::mocks::{AnswerKind, Behaviour, MockConfig, Trigger},
    contract::{
        self, NTJP_MOCKS, ResultCode,
        validate::{self, Outcome, Violation},
    },
    metrics::{HandshakeFailure, Listener},
    net,
    soap::{self, Profile},
    verify::{Recording, Verdict},
    vocab::{
        CORRELATION_ID, CodeLists, MOCK_ADDRESS, ORIGINAL_CONSUMER, ROUTING_HISTORY,
        SOAP_CONTENT_TYPE, SOAP11_NS,
    },
};

/// Largest message a mock reads (the contract's SLA says consumers send at most 5 MB; we take
/// VP's limit so the mock never refuses what the platform forwarded).
const MAX_BODY: usize = crate::config::DEFAULT_MAX_REQUEST_BYTES;

/// The logical addresses the built-in orders route to the mocks: the 21 county codes,
/// `LOAD-MOCKS` and `NTJP-MOCKS`.
pub fn standard_addresses() -> Vec<&'static str> {
    let mut v: Vec<&str> = contract::COUNTY_CODES.iter().map(|(c, _)| *c).collect();
    v.push(contract::LOAD_MOCKS);
    v.push(NTJP_MOCKS);
    v
}

/// The mock producers' shared state: settings, each mock's behaviour, and the recordings.
/// Shared by the mock listener and the admin API.
#[derive(Debug)]
pub struct Mocks {
    /// What every mock received.
    pub recorder: Recorder,
    /// Behaviours set per logical address (upper-cased); absent = default.
    behaviours: DashMap<String, Behaviour>,
    /// Code lists, triggers and limits.
    config: MockConfig,
    /// Platform certificate HSA-id (upper-cased) → environment name, to tell which router
    /// forwarded a message.
    platforms: Vec<(String, String)>,
    /// Requests held unanswered right now (`no-answer`).
    holding: AtomicUsize,
    /// The contract check's limits (from `config`).
    limits: validate::Limits,
    /// One permit per message being judged on the blocking pool
    /// ([`MockConfig::validation_concurrency`]); the others wait here, costing no thread.
    judging: Arc<Semaphore>,
    /// The number of permits in `judging`.
    judging_max: usize,
    /// Messages waiting for a permit right now.
    waiting: AtomicUsize,
    /// The testbed's counters (`/metrics`): verdicts, recordings dropped, handshakes.
    metrics: Arc<crate::metrics::Metrics>,
}

/// Counts a request while it lives: one held unanswered, or one waiting to be judged.
struct Held<'a>(&'a AtomicUsize);

impl<'a> Held<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::Relaxed);
        Held(n)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The contract check's limits, from the mocks' settings.
fn limits(config: &MockConfig) -> validate::Limits {
    validate::Limits {
        max_attributes: config.max_attributes_per_element,
        max_depth: config.max_element_depth,
        max_violations: config.max_violations_per_recording,
    }
}

impl Mocks {
    /// Mocks with `config`'s behaviours; `platforms` maps each router's client-certificate
    /// HSA-id to its environment name.
    pub fn new(config: MockConfig, platforms: Vec<(String, String)>) -> Self {
        let behaviours = DashMap::new();
        let judging_max = config.validation_concurrency();
        for (address, b) in &config.behaviours {
            behaviours.insert(address.to_ascii_uppercase(), b.clone());
        }
        Mocks {
            recorder: Recorder::with_limits(
                config.max_recordings_per_address,
                config.max_recording_bytes,
            ),
            limits: limits(&config),
            judging: Arc::new(Semaphore::new(judging_max)),
            judging_max,
            waiting: AtomicUsize::new(0),
            behaviours,
            platforms: platforms
                .into_iter()
                .map(|(h, e)| (h.to_ascii_uppercase(), e))
                .collect(),
            config,
            holding: AtomicUsize::new(0),
            metrics: crate::metrics::Metrics::detached(),
        }
    }

    /// The same mocks counting into `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Requests the mocks are holding unanswered right now (behaviour `no-answer`).
    pub fn holding(&self) -> usize {
        self.holding.load(Ordering::Relaxed)
    }

    /// Messages being judged right now, and messages waiting for their turn.
    pub fn judging(&self) -> (usize, usize) {
        let busy = self
            .judging_max
            .saturating_sub(self.judging.available_permits());
        (busy, self.waiting.load(Ordering::Relaxed))
    }

    /// The behaviour of the mock for `address`.
    pub fn behaviour(&self, address: &str) -> Behaviour {
        self.behaviours
            .get(&address.to_ascii_uppercase())
            .map(|b| b.clone())
            .unwrap_or_default()
    }

    /// Sets the behaviour of the mock for `address` (the default removes it).
    pub fn set_behaviour(&self, address: &str, b: Behaviour) -> Result<(), String> {
        b.check()?;
        let key = address.to_ascii_uppercase();
        if b.is_default() {
            self.behaviours.remove(&key);
        } else {
            self.behaviours.insert(key, b);
        }
        Ok(())
    }

    /// Every address with a behaviour other than the default.
    pub fn configured_addresses(&self) -> Vec<String> {
        self.behaviours.iter().map(|e| e.key().clone()).collect()
    }

    /// The data-driven triggers.
    pub fn triggers(&self) -> &[Trigger] {
        &self.config.triggers
    }

    /// The code lists the mocks check.
    pub fn code_lists(&self) -> &CodeLists {
        &self.config.code_lists
    }

    /// Runs `work` on the blocking pool once a judging permit is free. The permit goes with
    /// the work, so a caller that gives up while it runs does not let another one start.
    async fn off_worker<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Mocks) -> T + Send + 'static,
    ) -> Result<T, String> {
        let waiting = Held::new(&self.waiting);
        let permit = self
            .judging
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        drop(waiting);
        let mocks = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&mocks)
        })
        .await
        .map_err(|e| e.to_string())
    }

    fn environment_of(&self, platform_hsa_id: Option<&str>) -> Option<String> {
        let id = platform_hsa_id?;
        self.platforms
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(id))
            .map(|(_, e)| e.clone())
    }
}

/// What one connection knows about its peer.
struct Peer {
    addr: SocketAddr,
    platform_hsa_id: Option<String>,
    environment: Option<String>,
    /// Time allowed for a request body to arrive whole (`router.request_body_timeout_ms`).
    body_timeout: Duration,
}

/// Serves the mocks until `shutdown` turns true, at most `max_connections` at once; a request
/// body must arrive whole within `body_timeout` (else 408).
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    mocks: Arc<Mocks>,
    read_timeout: Duration,
    body_timeout: Duration,
    max_connections: usize,
    shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let stop = shutdown.clone();
    let limit = net::Limit {
        max: max_connections,
        refusal: net::Refusal::Close,
        setting: "connection_limits.mocks",
    };
    net::accept_loop(listener, shutdown, "mocks", limit, move |tcp, addr, watcher, slot| {
        let acceptor = acceptor.clone();
        let mocks = mocks.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let _open = mocks.metrics.connection(Listener::Mocks);
            let resetter = Resetter::for_stream(&tcp);
            let tls = match tokio::time::timeout(read_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    mocks.metrics.handshake_failed(Listener::Mocks, HandshakeFailure::of(&e));
                    tracing::info!(listener = "mocks", source.ip = %addr.ip(), error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => return mocks.metrics.handshake_failed(Listener::Mocks, HandshakeFailure::Timeout),
            };
            mocks.metrics.handshake_ok(Listener::Mocks);
            let platform_hsa_id = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|der| crate::pki::hsa_id_from_der(der).ok().flatten());
            let peer = Arc::new(Peer {
                addr,
                environment: mocks.environment_of(platform_hsa_id.as_deref()),
                platform_hsa_id,
                body_timeout,
            });
            let reset = Arc::new(tokio::sync::Notify::new());
            let on_reset = reset.clone();
            let serving = net::serve_http1(tls, read_timeout, watcher, move |req| {
                let (mocks, peer, reset, stop) =
                    (mocks.clone(), peer.clone(), reset.clone(), stop.clone());
                async move {
                    let history = req.headers().get(ROUTING_HISTORY).cloned();
                    let mut resp = handle(req, &peer, &mocks, &reset, stop).await;
                    producer_headers(resp.headers_mut(), history);
                    resp
                }
            });
            tokio::select! {
                _ = serving => {}
                _ = on_reset.notified() => resetter.reset(),
            }
        });
    })
    .await;
}

/// Resets a connection (TCP RST rather than FIN): `SO_LINGER` 0 on a duplicate of the
/// socket, which is closed last.
struct Resetter {
    #[cfg(unix)]
    fd: Option<std::os::fd::OwnedFd>,
}

impl Resetter {
    fn for_stream(tcp: &tokio::net::TcpStream) -> Self {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd;
            Resetter {
                fd: tcp.as_fd().try_clone_to_owned().ok(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tcp;
            Resetter {}
        }
    }

    /// Called after the connection's other handle is dropped: this close sends the RST.
    fn reset(self) {
        #[cfg(unix)]
        if let Some(fd) = &self.fd {
            let _ = socket2::SockRef::from(fd).set_linger(Some(Duration::ZERO));
        }
    }
}

fn parse_path(path: &str) -> Option<(&str, Profile)> {
    let rest = path.strip_prefix("/mocks/")?;
    let mut parts = rest.split('/');
    let address = parts.next().filter(|a| !a.is_empty())?;
    let (service, major, profile) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || service != "ProcessCervixScreeningInformation" || major != "1" {
        return None;
    }
    let profile = match profile {
        "rivtabp21" => Profile::Bp21,
        "rivtabp20" => Profile::Bp20,
        _ => return None,
    };
    Some((address, profile))
}

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

async fn handle(
    req: Request<Incoming>,
    peer: &Arc<Peer>,
    mocks: &Arc<Mocks>,
    reset: &tokio::sync::Notify,
    mut stop: watch::Receiver<bool>,
) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let Some((address, path_profile)) = parse_path(&path) else {
        return plain(
            StatusCode::NOT_FOUND,
            format!(
                "No mock producer at {path}. Mocks live at /mocks/<logical address>/ProcessCervixScreeningInformation/1/rivtabp21 (or rivtabp20).\n"
            ),
        );
    };
    let address = address.to_string();
    let req_headers = req.headers().clone();
    let body = match read_body(req.into_body(), peer).await {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let received = Received {
        address: address.clone(),
        path_profile,
        path_and_query,
        headers: req_headers,
        body,
        peer: peer.clone(),
    };
    let (behaviour, answer) = match mocks.off_worker(move |m| receive(m, received)).await {
        Ok(done) => done,
        Err(e) => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("The mock producer failed to judge the message: {e}\n"),
            );
        }
    };
    if behaviour.delay_ms > 0 {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(behaviour.delay_ms)) => {}
            _ = stop.wait_for(|s| *s) => return plain(StatusCode::SERVICE_UNAVAILABLE, "The mock producers are shutting down.\n".into()),
        }
    }
    match answer.reply {
        Some(reply) => reply_response(reply, &address),
        None => hold_or_reset(&behaviour, mocks, reset, stop).await,
    }
}

/// The request body, whole within the body timeout and at most [`MAX_BODY`]; else the answer
/// that says why not.
async fn read_body(body: Incoming, peer: &Peer) -> Result<Bytes, Response<Full<Bytes>>> {
    let read = Limited::new(body, MAX_BODY).collect();
    match tokio::time::timeout(peer.body_timeout, read).await {
        Ok(Ok(c)) => Ok(c.to_bytes()),
        Ok(Err(e)) => Err(plain(
            StatusCode::BAD_REQUEST,
            format!("Could not read the request: {e}\n"),
        )),
        Err(_) => Err(plain(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "The request body did not arrive whole within {} ms (router.request_body_timeout_ms).\n",
                peer.body_timeout.as_millis()
            ),
        )),
    }
}

/// A reset (the connection task is told to drop the connection, this future never ends), or
/// no answer: the request is held until the caller gives up (hyper then drops this future),
/// the limit passes, or the testbed stops.
async fn hold_or_reset(
    behaviour: &Behaviour,
    mocks: &Mocks,
    reset: &tokio::sync::Notify,
    mut stop: watch::Receiver<bool>,
) -> Response<Full<Bytes>> {
    if behaviour.answer == AnswerKind::Reset {
        reset.notify_one();
        std::future::pending::<()>().await;
    }
    let _held = Held::new(&mocks.holding);
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(mocks.config.no_answer_max_ms)) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
    plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "The mock producer was told not to answer.\n".into(),
    )
}

/// What a mock producer says it is in `Server`: a product token as real producers send one
/// (`Apache-Coyote/1.1`, `Microsoft-IIS/10.0`), naming the testbed rather than imitating a
/// product, so whoever reads a captured answer knows the testbed's mock wrote it.
pub const SERVER: &str = concat!("ntjp-testbed-mock/", env!("CARGO_PKG_VERSION"));

/// The headers on every answer of a mock producer: `Server` (hyper adds `Date`), and the
/// `x-rivta-routing-history` it received, echoed so that a consumer can see what the
/// platform sent on (VP passes a producer's headers back).
fn producer_headers(headers: &mut HeaderMap, routing_history: Option<HeaderValue>) {
    headers.insert(http::header::SERVER, HeaderValue::from_static(SERVER));
    if let Some(history) = routing_history {
        headers.insert(ROUTING_HISTORY, history);
    }
}

/// The mock's answer, with the header naming which mock answered.
fn reply_response(reply: Reply, address: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
    *resp.status_mut() = reply.status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    if let Ok(v) = HeaderValue::from_str(address) {
        h.insert(MOCK_ADDRESS, v);
    }
    resp
}

/// One message as it arrived, for [`receive`].
struct Received {
    address: String,
    path_profile: Profile,
    path_and_query: String,
    headers: HeaderMap,
    body: Bytes,
    peer: Arc<Peer>,
}

/// The CPU work of one message, on the blocking pool: judges it, chooses the behaviour,
/// writes the answer and records it all.
fn receive(mocks: &Mocks, msg: Received) -> (Behaviour, Answer) {
    let Received {
        address,
        path_profile,
        path_and_query,
        headers,
        body,
        peer,
    } = msg;
    let judged = judge(&address, path_profile, &body, mocks);
    mocks.metrics.mock_verdict(&address, judged.verdict);
    let personnummer = judged.personnummer.clone();
    let (behaviour, source) = personnummer
        .as_deref()
        .and_then(|p| mocks.triggers().iter().find(|t| t.personnummer == p))
        .map(|t| (t.behaviour(), format!("trigger:{}", t.personnummer)))
        .unwrap_or_else(|| {
            let b = mocks.behaviour(&address);
            let source = if b.is_default() {
                "validation"
            } else {
                "behaviour"
            };
            (b, source.to_string())
        });
    // Ping is the platform's health check: it is never made to misbehave.
    let behaviour = if judged.verdict == Verdict::Ping {
        Behaviour::default()
    } else {
        behaviour
    };
    let answer = apply(&address, &judged, &behaviour);
    let sniffed = judged.sniffed.as_ref();
    let dropped = mocks.recorder.record(Recording {
        seq: mocks.recorder.next_seq(),
        received_at: chrono::Utc::now(),
        mock_address: address.clone(),
        path_profile: path_profile.tak_name().to_string(),
        path_and_query,
        logical_address: sniffed.and_then(|s| s.logical_address.clone()),
        message_profile: sniffed
            .and_then(|s| s.profile)
            .map(|p| p.tak_name().to_string()),
        consumer_hsa_id: header_value(&headers, ORIGINAL_CONSUMER),
        platform_hsa_id: peer.platform_hsa_id.clone(),
        environment: peer.environment.clone(),
        correlation_id: header_value(&headers, CORRELATION_ID),
        operation: sniffed.and_then(|s| s.operation.clone()),
        personnummer,
        sending_region: judged.sending_region.clone(),
        scenario: judged.scenario,
        verdict: judged.verdict,
        violations: judged.violations,
        violations_omitted: judged.violations_omitted,
        technical_error: judged.technical,
        result_code: answer.label.to_string(),
        answer_source: source,
        delay_ms: behaviour.delay_ms,
        response_status: answer.reply.as_ref().map(|r| r.status.as_u16()),
        response_body: answer.reply.as_ref().map(|r| r.body.clone()),
        peer: peer.addr,
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        body_truncated_from: None,
    });
    mocks.metrics.recordings_dropped(dropped);
    (behaviour, answer)
}

/// A mock's judgement of one message, before any behaviour.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The verdict.
    pub verdict: Verdict,
    /// The violations (schema, TKB rules, addressing), in document order: at most
    /// [`MockConfig::max_violations_per_recording`].
    pub violations: Vec<Violation>,
    /// Violations found past those kept.
    pub violations_omitted: usize,
    /// Why the message could not be read, for [`Verdict::Technical`].
    pub technical: Option<String>,
    /// `subjectOfCare/personId/extension`.
    pub personnummer: Option<String>,
    /// `sendingRegion/region/id/extension`.
    pub sending_region: Option<String>,
    /// The scenario the content represents.
    pub scenario: Option<validate::Scenario>,
    /// The PingForConfiguration answer, for [`Verdict::Ping`].
    ping: Option<String>,
    /// What the streaming sniff read (header address and profile, body element), unless the
    /// message was not well-formed enough for it.
    pub sniffed: Option<soap::Sniffed>,
}

/// Longest technical error text a mock answers and records, in bytes: the texts quote
/// element and attribute names and namespace URIs, which a message can make megabytes long.
pub const MAX_TECHNICAL_TEXT: usize = 2048;

/// `why`, its middle cut with a marker when it is longer than [`MAX_TECHNICAL_TEXT`]: the
/// start says what is wrong, the end where (`at [row,col]: ...`).
fn bounded_text(why: String) -> String {
    if why.len() <= MAX_TECHNICAL_TEXT {
        return why;
    }
    let floor = |mut i: usize| {
        while !why.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let head = floor(MAX_TECHNICAL_TEXT / 2);
    let tail = floor(why.len() - MAX_TECHNICAL_TEXT / 4);
    format!(
        "{} […{} bytes cut…] {}",
        &why[..head],
        tail - head,
        &why[tail..]
    )
}

impl Judged {
    fn technical(why: String) -> Self {
        Judged {
            verdict: Verdict::Technical,
            violations: Vec::new(),
            violations_omitted: 0,
            technical: Some(bounded_text(why)),
            personnummer: None,
            sending_region: None,
            scenario: None,
            ping: None,
            sniffed: None,
        }
    }
}

/// Judges `body` as the mock for `address` (and URL profile) would: the contract check plus
/// the profile and logical address the mock serves.
pub fn judge(address: &str, path_profile: Profile, body: &[u8], mocks: &Mocks) -> Judged {
    match soap::sniff(body) {
        Ok(sniffed) => {
            let mut j = judge_sniffed(address, path_profile, body, &sniffed, mocks);
            j.sniffed = Some(sniffed);
            j
        }
        Err(e) => Judged::technical(format!("The message is not well-formed XML: {e}")),
    }
}

fn judge_sniffed(
    address: &str,
    path_profile: Profile,
    body: &[u8],
    sniffed: &soap::Sniffed,
    mocks: &Mocks,
) -> Judged {
    if let Some(judged) = judge_other_operation(address, sniffed) {
        return judged;
    }
    let checked = match validate::validate_with(body, mocks.code_lists(), &mocks.limits) {
        Outcome::Technical(why) => return Judged::technical(why),
        Outcome::Checked(c) => c,
    };
    let mut violations: Vec<Violation> = address_violation(address, path_profile, sniffed)
        .into_iter()
        .collect();
    violations.extend(checked.violations);
    // The address violation comes first; the check kept its own up to the same limit.
    let mut omitted = checked.violations_omitted;
    if violations.len() > mocks.limits.max_violations {
        omitted = omitted.saturating_add(violations.len() - mocks.limits.max_violations);
        violations.truncate(mocks.limits.max_violations);
    }
    Judged {
        verdict: if violations.is_empty() {
            Verdict::Valid
        } else {
            Verdict::Invalid
        },
        violations,
        violations_omitted: omitted,
        technical: None,
        personnummer: checked.personnummer,
        sending_region: checked.sending_region,
        scenario: Some(checked.scenario),
        ping: None,
        sniffed: None,
    }
}

/// The judgement of a message whose Body is not a request of the contract: a ping answered,
/// anything else a technical error naming what came. `None` for the contract's request.
fn judge_other_operation(address: &str, sniffed: &soap::Sniffed) -> Option<Judged> {
    match sniffed.contract.as_deref() {
        Some(contract::RESPONDER_NS) => None,
        Some(contract::PING_NS) => {
            let mut j = Judged::technical(String::new());
            j.verdict = Verdict::Ping;
            j.technical = None;
            j.ping = Some(contract::ping_response(
                env!("CARGO_PKG_VERSION"),
                &chrono::Local::now().format("%Y%m%d%H%M%S").to_string(),
                &[("mock", "ntjp-testbed"), ("address", address)],
            ));
            Some(j)
        }
        Some(other) => {
            let element = sniffed.operation.as_deref().unwrap_or("");
            let found = if other.is_empty() {
                format!("{element} in no namespace")
            } else {
                format!("{{{other}}}{element}")
            };
            Some(Judged::technical(format!(
                "This mock implements {} only; the SOAP Body's first element is {found}.",
                contract::RESPONDER_NS
            )))
        }
        None => Some(Judged::technical("The SOAP Body has no element.".into())),
    }
}

/// The message's header against the mock's path: the profile's header, addressed to this
/// mock.
fn address_violation(
    address: &str,
    path_profile: Profile,
    sniffed: &soap::Sniffed,
) -> Option<Violation> {
    if sniffed.profile != Some(path_profile) {
        return Some(Violation {
            path: format!("Header/{}", header_name(path_profile)),
            message: format!(
                "the mock at this {} address expects the {} header, but the message has {}",
                path_profile.tak_name(),
                header_name(path_profile),
                sniffed.profile.map(header_name).unwrap_or("none")
            ),
        });
    }
    let la = sniffed.logical_address.as_deref().unwrap_or("");
    // A default-routing address (`VG#VE`) reaches the producer of one of its parts whole, as
    // VP passes the message on unchanged: the mock accepts it when one part is its own.
    let addressed_here = la.eq_ignore_ascii_case(address)
        || (la.contains('#')
            && la
                .split('#')
                .any(|p| p.trim().eq_ignore_ascii_case(address)));
    (!addressed_here).then(|| Violation {
        path: format!("Header/{}", header_name(path_profile)),
        message: format!(
            "the message is addressed to {la:?} but reached the mock producer for {address}"
        ),
    })
}

fn header_name(p: Profile) -> &'static str {
    match p {
        Profile::Bp20 => "To",
        Profile::Bp21 => "LogicalAddress",
    }
}

/// What goes back on the wire.
#[derive(Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

/// A mock's answer to one message.
#[derive(Debug)]
pub struct Answer {
    /// `OK`, `INFO`, `ERROR`, `FAULT`, `HTTP-500`, `NO-ANSWER` or `RESET`.
    pub label: &'static str,
    /// What to send; `None` for no answer and reset.
    pub reply: Option<Reply>,
}

fn contract_reply(code: ResultCode, text: Option<&str>) -> Answer {
    Answer {
        label: code.as_str(),
        reply: Some(Reply {
            status: StatusCode::OK,
            content_type: SOAP_CONTENT_TYPE,
            body: contract::response(code, text),
        }),
    }
}

/// The answer for a judged message under `behaviour`.
pub fn apply(address: &str, judged: &Judged, behaviour: &Behaviour) -> Answer {
    if let Some(answer) = misbehaviour(address, behaviour) {
        return answer;
    }
    let text = |default: String| behaviour.text.clone().unwrap_or(default);
    match judged.verdict {
        Verdict::Ping => Answer {
            label: "OK",
            reply: Some(Reply {
                status: StatusCode::OK,
                content_type: SOAP_CONTENT_TYPE,
                body: judged.ping.clone().unwrap_or_default(),
            }),
        },
        Verdict::Technical => Answer {
            label: "FAULT",
            reply: Some(soap_fault(
                "soap:Client",
                judged
                    .technical
                    .as_deref()
                    .unwrap_or("The message cannot be read."),
            )),
        },
        Verdict::Invalid => contract_reply(
            ResultCode::Error,
            Some(&validate::report(
                &judged.violations,
                judged.violations_omitted,
            )),
        ),
        Verdict::Valid => match behaviour.answer {
            AnswerKind::Info => contract_reply(
                ResultCode::Info,
                Some(&text(format!(
                    "Informationsmeddelande från mockproducenten {address} (testbäddens inställda beteende)."
                ))),
            ),
            AnswerKind::Error => contract_reply(
                ResultCode::Error,
                Some(&text(format!(
                    "Fel från mockproducenten {address} (testbäddens inställda beteende)."
                ))),
            ),
            _ => contract_reply(ResultCode::Ok, None),
        },
    }
}

/// The answer of a behaviour that answers whatever the message: a fault, HTTP 500, no
/// answer or a reset. `None` for the behaviours whose answer depends on the judgement.
fn misbehaviour(address: &str, behaviour: &Behaviour) -> Option<Answer> {
    let text = |default: String| behaviour.text.clone().unwrap_or(default);
    match behaviour.answer {
        AnswerKind::Fault => Some(Answer {
            label: "FAULT",
            reply: Some(soap_fault(
                "soap:Server",
                &text(format!(
                    "Tekniskt fel hos mockproducenten {address} (testbäddens inställda beteende)"
                )),
            )),
        }),
        AnswerKind::Http500 => Some(Answer {
            label: "HTTP-500",
            reply: Some(Reply {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                content_type: "text/plain; charset=utf-8",
                body: "Internal Server Error\n".into(),
            }),
        }),
        AnswerKind::NoAnswer => Some(Answer {
            label: "NO-ANSWER",
            reply: None,
        }),
        AnswerKind::Reset => Some(Answer {
            label: "RESET",
            reply: None,
        }),
        AnswerKind::Ok | AnswerKind::Info | AnswerKind::Error => None,
    }
}

fn soap_fault(code: &str, text: &str) -> Reply {
    Reply {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        content_type: SOAP_CONTENT_TYPE,
        body: format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"{SOAP11_NS}\"><soap:Body><soap:Fault><faultcode>{code}</faultcode><faultstring>{}</faultstring></soap:Fault></soap:Body></soap:Envelope>",
            soap::escape_text(text)
        ),
    }
}

fn plain(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mocks() -> Mocks {
        Mocks::new(MockConfig::default(), Vec::new())
    }

    #[test]
    fn paths_name_address_and_profile() {
        assert_eq!(
            parse_path("/mocks/01/ProcessCervixScreeningInformation/1/rivtabp21"),
            Some(("01", Profile::Bp21))
        );
        assert_eq!(
            parse_path("/mocks/LOAD-MOCKS/ProcessCervixScreeningInformation/1/rivtabp20"),
            Some(("LOAD-MOCKS", Profile::Bp20))
        );
        assert_eq!(parse_path("/mocks/01/Other/1/rivtabp21"), None);
        assert_eq!(
            parse_path("/mocks//ProcessCervixScreeningInformation/1/rivtabp21"),
            None
        );
    }

    #[test]
    fn judges_address_and_profile_as_well_as_content() {
        let m = mocks();
        let req = contract::request("01", Profile::Bp21, "199001012384", "01");
        let ok = judge("01", Profile::Bp21, req.as_bytes(), &m);
        assert_eq!(ok.verdict, Verdict::Valid, "{:?}", ok.violations);
        let a = apply("01", &ok, &Behaviour::default());
        assert_eq!(a.label, "OK");
        let wrong = judge("03", Profile::Bp21, req.as_bytes(), &m);
        assert_eq!(wrong.verdict, Verdict::Invalid);
        assert_eq!(wrong.violations[0].path, "Header/LogicalAddress");
        assert!(
            wrong.violations[0]
                .message
                .contains("reached the mock producer for 03")
        );
        let bp = judge("01", Profile::Bp20, req.as_bytes(), &m);
        assert_eq!(bp.violations[0].path, "Header/To");
        let other = format!(
            "<soap:Envelope xmlns:soap=\"{}\"><soap:Body><Other/></soap:Body></soap:Envelope>",
            SOAP11_NS
        );
        let j = judge("01", Profile::Bp21, other.as_bytes(), &m);
        assert!(
            j.technical
                .as_deref()
                .unwrap()
                .ends_with(" only; the SOAP Body's first element is Other in no namespace."),
            "{:?}",
            j.technical
        );
        let broken = judge("01", Profile::Bp21, b"<nope", &m);
        assert_eq!(broken.verdict, Verdict::Technical);
        assert_eq!(apply("01", &broken, &Behaviour::default()).label, "FAULT");
    }

    #[test]
    fn technical_texts_quoting_huge_names_are_cut_in_the_middle() {
        let m = mocks();
        // An attribute whose prefix, 200,000 bytes long, is bound to no namespace.
        let prefix = "å".repeat(100_000);
        let body = contract::request("01", Profile::Bp21, "199001012384", "01").replacen(
            "<urn:cervixScreeningInformation>",
            &format!("<urn:cervixScreeningInformation {prefix}:a=\"1\">"),
            1,
        );
        let j = judge("01", Profile::Bp21, body.as_bytes(), &m);
        assert_eq!(j.verdict, Verdict::Technical);
        let why = j.technical.unwrap();
        assert!(why.len() <= MAX_TECHNICAL_TEXT + 40, "{}", why.len());
        assert!(
            why.starts_with("The message is not well-formed XML"),
            "{why}"
        );
        assert!(why.contains(" bytes cut…] "), "{why}");
        assert!(why.ends_with(')'), "the position is kept: {why}");
        assert_eq!(bounded_text("short".into()), "short");
    }

    #[test]
    fn behaviours_override_valid_answers_only_for_result_codes() {
        let m = mocks();
        let valid = judge(
            "01",
            Profile::Bp21,
            contract::request("01", Profile::Bp21, "199001012384", "01").as_bytes(),
            &m,
        );
        let invalid = judge(
            "01",
            Profile::Bp21,
            contract::request("01", Profile::Bp21, "1990", "01").as_bytes(),
            &m,
        );
        let info = Behaviour {
            answer: AnswerKind::Info,
            text: Some("Observera".into()),
            delay_ms: 0,
        };
        let a = apply("01", &valid, &info);
        assert_eq!(a.label, "INFO");
        assert!(
            a.reply
                .unwrap()
                .body
                .contains("<resultText>Observera</resultText>")
        );
        assert_eq!(apply("01", &invalid, &info).label, "ERROR");
        let fault = Behaviour {
            answer: AnswerKind::Fault,
            ..Behaviour::default()
        };
        let f = apply("01", &invalid, &fault).reply.unwrap();
        assert_eq!(f.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(f.body.contains("<faultcode>soap:Server</faultcode>"));
        let h = Behaviour {
            answer: AnswerKind::Http500,
            ..Behaviour::default()
        };
        let r = apply("01", &valid, &h).reply.unwrap();
        assert!(!r.body.contains("Envelope"));
        for k in [AnswerKind::NoAnswer, AnswerKind::Reset] {
            let b = Behaviour {
                answer: k,
                ..Behaviour::default()
            };
            assert!(apply("01", &valid, &b).reply.is_none());
        }
    }
}
