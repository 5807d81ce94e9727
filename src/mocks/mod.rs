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
//! too. It can be made to misbehave ([`behaviour`]), and it records every message it received
//! with its verdict and answer ([`recorder`]). The answer says which mock served it in the
//! `x-ntjp-mock-address` header.
//!
//! Not here: the HTTP API over recordings and behaviours (`admin::mocks`).

pub mod behaviour;
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
use tokio::{net::TcpListener, sync::watch};
use tokio_rustls::TlsAcceptor;

pub use behaviour::{
    AnswerKind, Behaviour, DEFAULT_MAX_RECORDING_BYTES, DEFAULT_MAX_RECORDINGS, MockConfig, Trigger,
};
pub use recorder::{Filter, Recorder, Recording, Verdict};

use crate::{
    contract::{
        self, ResultCode,
        validate::{self, Outcome, Violation},
    },
    net,
    soap::{self, Profile},
};

/// Response header naming the logical address of the mock that answered.
pub const MOCK_ADDRESS_HEADER: &str = "x-ntjp-mock-address";

/// The newer name of the platform's mock producer (`LOAD-MOCKS`).
pub const NTJP_MOCKS: &str = "NTJP-MOCKS";

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
}

/// Counts a held request while it lives.
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

impl Mocks {
    /// Mocks with `config`'s behaviours; `platforms` maps each router's client-certificate
    /// HSA-id to its environment name.
    pub fn new(config: MockConfig, platforms: Vec<(String, String)>) -> Self {
        let behaviours = DashMap::new();
        for (address, b) in &config.behaviours {
            behaviours.insert(address.to_ascii_uppercase(), b.clone());
        }
        Mocks {
            recorder: Recorder::with_limits(
                config.max_recordings_per_address,
                config.max_recording_bytes,
            ),
            behaviours,
            platforms: platforms
                .into_iter()
                .map(|(h, e)| (h.to_ascii_uppercase(), e))
                .collect(),
            config,
            holding: AtomicUsize::new(0),
        }
    }

    /// Requests the mocks are holding unanswered right now (behaviour `no-answer`).
    pub fn holding(&self) -> usize {
        self.holding.load(Ordering::Relaxed)
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
    pub fn code_lists(&self) -> &validate::CodeLists {
        &self.config.code_lists
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
            let resetter = Resetter::for_stream(&tcp);
            let tls = match tokio::time::timeout(read_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::info!(listener = "mocks", source.ip = %addr.ip(), error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => return,
            };
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
                async move { handle(req, &peer, &mocks, &reset, stop).await }
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
    peer: &Peer,
    mocks: &Mocks,
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
    let read = Limited::new(req.into_body(), MAX_BODY).collect();
    let body = match tokio::time::timeout(peer.body_timeout, read).await {
        Ok(Ok(c)) => c.to_bytes(),
        Ok(Err(e)) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("Could not read the request: {e}\n"),
            );
        }
        Err(_) => {
            return plain(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "The request body did not arrive whole within {} ms (router.request_body_timeout_ms).\n",
                    peer.body_timeout.as_millis()
                ),
            );
        }
    };
    let judged = judge(&address, path_profile, &body, mocks);
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
    mocks.recorder.record(Recording {
        seq: mocks.recorder.next_seq(),
        received_at: chrono::Utc::now(),
        mock_address: address.clone(),
        path_profile: path_profile.tak_name().to_string(),
        path_and_query,
        logical_address: sniffed.and_then(|s| s.logical_address.clone()),
        message_profile: sniffed
            .and_then(|s| s.profile)
            .map(|p| p.tak_name().to_string()),
        consumer_hsa_id: header_value(&req_headers, "x-rivta-original-serviceconsumer-hsaid"),
        platform_hsa_id: peer.platform_hsa_id.clone(),
        environment: peer.environment.clone(),
        correlation_id: header_value(&req_headers, "x-skltp-correlation-id"),
        operation: sniffed.and_then(|s| s.operation.clone()),
        personnummer,
        sending_region: judged.sending_region.clone(),
        scenario: judged.scenario,
        verdict: judged.verdict,
        violations: judged.violations.clone(),
        technical_error: judged.technical.clone(),
        result_code: answer.label.to_string(),
        answer_source: source,
        delay_ms: behaviour.delay_ms,
        response_status: answer.reply.as_ref().map(|r| r.status.as_u16()),
        response_body: answer.reply.as_ref().map(|r| r.body.clone()),
        peer: peer.addr,
        headers: req_headers
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
    if behaviour.delay_ms > 0 {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(behaviour.delay_ms)) => {}
            _ = stop.wait_for(|s| *s) => return plain(StatusCode::SERVICE_UNAVAILABLE, "The mock producers are shutting down.\n".into()),
        }
    }
    let Some(reply) = answer.reply else {
        if behaviour.answer == AnswerKind::Reset {
            reset.notify_one();
            std::future::pending::<()>().await;
        }
        // No answer: hold the request until the caller gives up (hyper then drops this
        // future), the limit passes, or the testbed stops.
        let _held = Held::new(&mocks.holding);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(mocks.config.no_answer_max_ms)) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "The mock producer was told not to answer.\n".into(),
        );
    };
    let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
    *resp.status_mut() = reply.status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    if let Ok(v) = HeaderValue::from_str(&address) {
        h.insert(MOCK_ADDRESS_HEADER, v);
    }
    resp
}

/// A mock's judgement of one message, before any behaviour.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The verdict.
    pub verdict: Verdict,
    /// Every violation (schema, TKB rules, addressing), in document order.
    pub violations: Vec<Violation>,
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

impl Judged {
    fn technical(why: String) -> Self {
        Judged {
            verdict: Verdict::Technical,
            violations: Vec::new(),
            technical: Some(why),
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
    match sniffed.contract.as_deref() {
        Some(contract::RESPONDER_NS) => {}
        Some(contract::PING_NS) => {
            let mut j = Judged::technical(String::new());
            j.verdict = Verdict::Ping;
            j.technical = None;
            j.ping = Some(contract::ping_response(
                env!("CARGO_PKG_VERSION"),
                &chrono::Local::now().format("%Y%m%d%H%M%S").to_string(),
                &[("mock", "ntjp-testbed"), ("address", address)],
            ));
            return j;
        }
        Some(other) => {
            return Judged::technical(format!(
                "This mock implements {} only, not {other}.",
                contract::RESPONDER_NS
            ));
        }
        None => return Judged::technical("The SOAP Body has no element.".into()),
    }
    let checked = match validate::validate(body, mocks.code_lists()) {
        Outcome::Technical(why) => return Judged::technical(why),
        Outcome::Checked(c) => c,
    };
    let mut violations = Vec::new();
    if sniffed.profile != Some(path_profile) {
        violations.push(Violation {
            path: format!("Header/{}", header_name(path_profile)),
            message: format!(
                "the mock at this {} address expects the {} header, but the message has {}",
                path_profile.tak_name(),
                header_name(path_profile),
                sniffed.profile.map(header_name).unwrap_or("none")
            ),
        });
    } else {
        let la = sniffed.logical_address.as_deref().unwrap_or("");
        if !la.eq_ignore_ascii_case(address) {
            violations.push(Violation {
                path: format!("Header/{}", header_name(path_profile)),
                message: format!(
                    "the message is addressed to {la:?} but reached the mock producer for {address}"
                ),
            });
        }
    }
    violations.extend(checked.violations);
    Judged {
        verdict: if violations.is_empty() {
            Verdict::Valid
        } else {
            Verdict::Invalid
        },
        violations,
        technical: None,
        personnummer: checked.personnummer,
        sending_region: checked.sending_region,
        scenario: Some(checked.scenario),
        ping: None,
        sniffed: None,
    }
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

const XML: &str = "text/xml; charset=UTF-8";

fn contract_reply(code: ResultCode, text: Option<&str>) -> Answer {
    Answer {
        label: code.as_str(),
        reply: Some(Reply {
            status: StatusCode::OK,
            content_type: XML,
            body: contract::response(code, text),
        }),
    }
}

/// The answer for a judged message under `behaviour`.
pub fn apply(address: &str, judged: &Judged, behaviour: &Behaviour) -> Answer {
    let text = |default: String| behaviour.text.clone().unwrap_or(default);
    match behaviour.answer {
        AnswerKind::Fault => {
            return Answer {
                label: "FAULT",
                reply: Some(soap_fault(
                    "soap:Server",
                    &text(format!(
                        "Tekniskt fel hos mockproducenten {address} (testbäddens inställda beteende)"
                    )),
                )),
            };
        }
        AnswerKind::Http500 => {
            return Answer {
                label: "HTTP-500",
                reply: Some(Reply {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    content_type: "text/plain; charset=utf-8",
                    body: "Internal Server Error\n".into(),
                }),
            };
        }
        AnswerKind::NoAnswer => {
            return Answer {
                label: "NO-ANSWER",
                reply: None,
            };
        }
        AnswerKind::Reset => {
            return Answer {
                label: "RESET",
                reply: None,
            };
        }
        AnswerKind::Ok | AnswerKind::Info | AnswerKind::Error => {}
    }
    match judged.verdict {
        Verdict::Ping => Answer {
            label: "OK",
            reply: Some(Reply {
                status: StatusCode::OK,
                content_type: XML,
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
            Some(&validate::report(&judged.violations)),
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

fn soap_fault(code: &str, text: &str) -> Reply {
    Reply {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        content_type: XML,
        body: format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>{code}</faultcode><faultstring>{}</faultstring></soap:Fault></soap:Body></soap:Envelope>",
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
        let broken = judge("01", Profile::Bp21, b"<nope", &m);
        assert_eq!(broken.verdict, Verdict::Technical);
        assert_eq!(apply("01", &broken, &Behaviour::default()).label, "FAULT");
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
