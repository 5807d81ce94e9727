//! Mock producers for ProcessCervixScreeningInformation, like the SIT environment's
//! `LOAD-MOCKS`: one HTTPS listener (mutual TLS, trusting the test CA) serving one mock per
//! logical address under `/mocks/<address>/ProcessCervixScreeningInformation/1/<profile>`,
//! where `<profile>` is `rivtabp21` or `rivtabp20`.
//!
//! A mock checks that the message is for this contract, carries the header of its profile and
//! is addressed to the logical address the mock serves; it answers `resultCode` OK (or ERROR
//! with the reason), says which address it served in the `x-ntjp-mock-address` header, and
//! records every message it received (see [`Recorder`]).
//!
//! Not here yet (a later issue): the contract's full schema and field-rule validation, fault
//! injection, and recordings over HTTP. The seam is [`respond`]: it decides the answer from
//! the received message alone.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use dashmap::DashMap;
use http::{HeaderValue, Request, Response, StatusCode, header::CONTENT_TYPE};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::Serialize;
use tokio::{net::TcpListener, sync::watch};
use tokio_rustls::TlsAcceptor;

use crate::{
    contract::{self, ResultCode},
    net,
    soap::{self, Profile},
};

/// Response header naming the logical address of the mock that answered.
pub const MOCK_ADDRESS_HEADER: &str = "x-ntjp-mock-address";

/// Largest message a mock reads (the contract's SLA says consumers send at most 5 MB; we take
/// VP's limit so the mock never refuses what the platform forwarded).
const MAX_BODY: usize = crate::config::DEFAULT_MAX_REQUEST_BYTES;

/// One message as a mock received it.
#[derive(Debug, Clone, Serialize)]
pub struct Recording {
    /// The logical address of the mock that received it (from the URL path).
    pub mock_address: String,
    /// The profile of the URL path: `RIVTABP21` or `RIVTABP20`.
    pub path_profile: String,
    /// The request's path and query, as the producer URL in TAK named it.
    pub path_and_query: String,
    /// The logical address in the message header, as sniffed.
    pub logical_address: Option<String>,
    /// The header profile found in the message.
    pub message_profile: Option<String>,
    /// The peer that sent it (the platform).
    pub peer: SocketAddr,
    /// Every HTTP header, lower-case names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body as received (UTF-8, lossy).
    pub body: String,
    /// What the mock answered.
    pub result_code: String,
}

/// Every message every mock received, by mock address. Shared with tests and (later) the
/// admin API; safe to read while mocks record.
#[derive(Debug, Default)]
pub struct Recorder {
    by_address: DashMap<String, Vec<Recording>>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    fn record(&self, r: Recording) {
        self.by_address
            .entry(r.mock_address.to_ascii_uppercase())
            .or_default()
            .push(r);
    }

    /// What the mock for `address` received, oldest first.
    pub fn for_address(&self, address: &str) -> Vec<Recording> {
        self.by_address
            .get(&address.to_ascii_uppercase())
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Number of messages received by all mocks.
    pub fn total(&self) -> usize {
        self.by_address.iter().map(|e| e.value().len()).sum()
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.by_address.clear();
    }
}

/// Serves the mocks until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    recorder: Arc<Recorder>,
    read_timeout: Duration,
    shutdown: watch::Receiver<bool>,
) {
    let acceptor = TlsAcceptor::from(tls);
    net::accept_loop(listener, shutdown, "mocks", move |tcp, peer, watcher| {
        let acceptor = acceptor.clone();
        let recorder = recorder.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(read_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::info!(listener = "mocks", source.ip = %peer.ip(), error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => return,
            };
            net::serve_http1(tls, read_timeout, watcher, move |req| {
                let recorder = recorder.clone();
                async move { handle(req, peer, &recorder).await }
            })
            .await;
        });
    })
    .await;
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

async fn handle(
    req: Request<Incoming>,
    peer: SocketAddr,
    recorder: &Recorder,
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
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("Could not read the request: {e}\n"),
            );
        }
    };
    let answer = respond(&address, path_profile, &body);
    let sniffed = soap::sniff(&body).ok();
    recorder.record(Recording {
        mock_address: address.clone(),
        path_profile: path_profile.tak_name().to_string(),
        path_and_query,
        logical_address: sniffed.as_ref().and_then(|s| s.logical_address.clone()),
        message_profile: sniffed
            .as_ref()
            .and_then(|s| s.profile)
            .map(|p| p.tak_name().to_string()),
        peer,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        result_code: answer.label.to_string(),
    });
    let mut resp = Response::new(Full::new(Bytes::from(answer.body)));
    *resp.status_mut() = answer.status;
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=UTF-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&address) {
        h.insert(MOCK_ADDRESS_HEADER, v);
    }
    resp
}

/// A mock's answer to one message.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status: 200 for a contract response, 500 for a SOAP Fault.
    pub status: StatusCode,
    /// `OK`, `ERROR`, or `FAULT`.
    pub label: &'static str,
    /// The SOAP envelope.
    pub body: String,
}

/// Decides the answer of the mock for `address` (and URL profile) to `body`.
pub fn respond(address: &str, path_profile: Profile, body: &[u8]) -> Answer {
    let sniffed = match soap::sniff(body) {
        Ok(s) => s,
        Err(e) => return fault(&format!("The message is not well-formed XML: {e}")),
    };
    match sniffed.contract.as_deref() {
        Some(contract::RESPONDER_NS) => {}
        Some(contract::PING_NS) => {
            return Answer {
                status: StatusCode::OK,
                label: "OK",
                body: contract::ping_response(
                    env!("CARGO_PKG_VERSION"),
                    &chrono::Local::now().format("%Y%m%d%H%M%S").to_string(),
                    &[("mock", "ntjp-testbed"), ("address", address)],
                ),
            };
        }
        Some(other) => {
            return fault(&format!(
                "This mock implements {} only, not {other}.",
                contract::RESPONDER_NS
            ));
        }
        None => return fault("The SOAP Body has no element."),
    }
    if sniffed.profile != Some(path_profile) {
        return error(&format!(
            "The mock at this {} address expects the {} header, but the message has {}.",
            path_profile.tak_name(),
            header_name(path_profile),
            sniffed.profile.map(header_name).unwrap_or("none")
        ));
    }
    match sniffed.logical_address.as_deref() {
        Some(la) if la.eq_ignore_ascii_case(address) => Answer {
            status: StatusCode::OK,
            label: "OK",
            body: contract::response(ResultCode::Ok, None),
        },
        other => error(&format!(
            "The message is addressed to {:?} but reached the mock producer for {address}.",
            other.unwrap_or("")
        )),
    }
}

fn header_name(p: Profile) -> &'static str {
    match p {
        Profile::Bp20 => "wsa:To",
        Profile::Bp21 => "LogicalAddress",
    }
}

fn error(text: &str) -> Answer {
    Answer {
        status: StatusCode::OK,
        label: "ERROR",
        body: contract::response(ResultCode::Error, Some(text)),
    }
}

fn fault(text: &str) -> Answer {
    Answer {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        label: "FAULT",
        body: format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>{}</faultstring></soap:Fault></soap:Body></soap:Envelope>",
            xml_escape(text)
        ),
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
    fn answers_ok_only_to_its_own_address_and_profile() {
        let req = contract::request("01", Profile::Bp21, "199001012384", "01");
        let ok = respond("01", Profile::Bp21, req.as_bytes());
        assert_eq!(ok.label, "OK");
        assert_eq!(
            contract::parse_response(ok.body.as_bytes()).map(|r| r.0),
            Some(ResultCode::Ok)
        );
        let wrong = respond("03", Profile::Bp21, req.as_bytes());
        assert_eq!(wrong.label, "ERROR");
        assert!(
            wrong.body.contains("reached the mock producer for 03"),
            "{}",
            wrong.body
        );
        let bp = respond("01", Profile::Bp20, req.as_bytes());
        assert_eq!(bp.label, "ERROR");
        assert_eq!(respond("01", Profile::Bp21, b"<nope").label, "FAULT");
    }
}
