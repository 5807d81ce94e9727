//! Shared test harness: starts the real testbed (routers, TAK from orders, mock producers,
//! generated PKI) in-process on ephemeral ports, and talks to it over real mutual TLS.
#![allow(dead_code)]

pub mod install;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use ntjp_testbed::{
    config::Config,
    server::{self, Testbed},
    soap::fault::{ParsedFault, parse_fault},
    vocab::EnvName,
};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::{TlsConnector, client::TlsStream};

/// The contract every test calls.
pub const CONTRACT: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1";

/// A running testbed and the temporary state directory it lives in.
pub struct Bed {
    pub testbed: Testbed,
    pub dir: tempfile::TempDir,
}

impl Bed {
    pub fn https_addr(&self, env: &str) -> SocketAddr {
        addr_of(&self.testbed.endpoints().environments[env].router_https)
    }
    pub fn http_addr(&self, env: &str) -> SocketAddr {
        addr_of(&self.testbed.endpoints().environments[env].router_http)
    }
    /// A mutual-TLS client presenting the default (authorised) consumer's certificate.
    pub fn consumer(&self) -> Client {
        let p = &self.testbed.endpoints().pki;
        Client::new(&p.ca, Some((&p.consumer_cert, &p.consumer_key)))
    }
    /// A client presenting the unauthorised consumer's certificate.
    pub fn unauthorised(&self) -> Client {
        let p = &self.testbed.endpoints().pki;
        Client::new(&p.ca, Some((&p.unauthorised_cert, &p.unauthorised_key)))
    }
    pub fn ca(&self) -> PathBuf {
        self.testbed.endpoints().pki.ca.clone()
    }
    /// Issues a certificate from the testbed's CA into the state dir.
    pub fn issue(&self, hsa_id: Option<&str>, stem: &str) -> (PathBuf, PathBuf) {
        let pki = self.testbed.pki();
        let ca = ntjp_testbed::pki::Ca::load(&pki.ca_cert, &pki.ca_key).unwrap();
        let mut req = ntjp_testbed::pki::CertRequest::function(hsa_id.unwrap_or("UNUSED"));
        req.hsa_id = hsa_id.map(str::to_owned);
        if hsa_id.is_none() {
            req.common_name = Some("system-without-hsa-id".into());
        }
        ca.issue(&req)
            .unwrap()
            .write(self.dir.path(), stem)
            .unwrap()
    }
    pub async fn stop(self) {
        self.testbed.shutdown().await;
    }
}

/// A port free right now (bound and let go), for a listener whose address another process or
/// node must know before it starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn addr_of(url: &str) -> SocketAddr {
    let uri: http::Uri = url.parse().unwrap();
    let port = uri.port_u16().unwrap();
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A config on ephemeral ports in `dir`, with short timeouts so failures show fast.
pub fn test_config(dir: &Path) -> Config {
    let mut c = Config {
        state_dir: dir.join("state"),
        ..Config::default()
    };
    c.use_ephemeral_ports();
    c.router.client_read_timeout_ms = 1_000;
    c.router.producer_connect_timeout_ms = 500;
    c.router.producer_retry_delay_ms = 100;
    c.router.producer_timeout_ms = 5_000;
    c
}

pub async fn start() -> Bed {
    start_with(|_, _| {}).await
}

/// Starts a testbed after `customise` has adjusted the config (the temp dir is given so
/// order directories can be written there).
pub async fn start_with(customise: impl FnOnce(&mut Config, &Path)) -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    customise(&mut config, dir.path());
    let testbed = server::start(config)
        .await
        .unwrap_or_else(|e| panic!("testbed did not start: {e}"));
    Bed { testbed, dir }
}

/// The repository's default order files for an environment.
pub fn default_orders(env: EnvName) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/orders")
        .join(env.as_str());
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Writes the default SIT orders plus `extra` (file name, JSON) into `<dir>/orders-sit` and
/// points the SIT environment there.
pub fn sit_orders_with(config: &mut Config, dir: &Path, extra: &[(&str, String)]) {
    let orders = dir.join("orders-sit");
    std::fs::create_dir_all(&orders).unwrap();
    for (name, text) in default_orders(EnvName::Sit) {
        std::fs::write(orders.join(name), text).unwrap();
    }
    for (name, text) in extra {
        std::fs::write(orders.join(name), text).unwrap();
    }
    config.environments.sit.orders_dir = Some(orders);
}

/// An order in the real Beställningsstödet format for the SIT platform.
pub fn order(execution_day: chrono::NaiveDate, inkludera: &str, exkludera: &str) -> String {
    format!(
        r#"Beställning från testet
{{
  "plattform": "NTJP-TEST",
  "formatVersion": "1.0",
  "version": "1",
  "bestallningsTidpunkt": "2025-01-01T08:00:00+0000",
  "genomforandeTidpunkt": "{}T00:00:00+0000",
  "utforare": "test",
  "kommentar": "test order",
  "inkludera": {inkludera},
  "exkludera": {exkludera}
}}"#,
        execution_day.format("%Y-%m-%d")
    )
}

/// An order (real format, SIT) that authorises `consumer` to call the contract at `SE`.
pub fn authorise_order(consumer: &str) -> String {
    order(
        today(),
        &serde_json::json!({
            "tjanstekomponenter": [{"hsaId": consumer, "beskrivning": "a consumer added by the test"}],
            "logiskadresser": [{"hsaId": "SE", "beskrivning": "Nationell nivå"}],
            "tjanstekontrakt": [{"namnrymd": CONTRACT, "beskrivning": "cervix", "majorVersion": 1}],
            "anropsbehorigheter": [{"logiskAdress": "SE", "tjanstekontrakt": CONTRACT, "tjanstekonsument": consumer}],
            "vagval": []
        })
        .to_string(),
        &serde_json::json!({"anropsbehorigheter": [], "vagval": []}).to_string(),
    )
}

/// `POST <admin>/api/sit/publish` on an order service that resets `routers` router nodes:
/// asserts the answer names each one as refreshed, and returns it.
pub async fn publish_to_routers(admin: &str, routers: usize) -> serde_json::Value {
    let p = ntjp_testbed::cli::client::post(&format!("{admin}/api/sit/publish"), b"{}".to_vec())
        .await
        .unwrap();
    assert_eq!(p.status.as_u16(), 200, "{}", p.json);
    let resets = p.json["routers"]["routers"]
        .as_array()
        .unwrap_or_else(|| panic!("no routers in the publish answer: {}", p.json));
    assert_eq!(resets.len(), routers, "{}", p.json);
    for r in resets {
        assert_eq!(r["refreshed"], true, "{r}");
        assert_eq!(r["detail"], "Init done, was successful: true", "{r}");
    }
    assert_eq!(
        p.json["routers"]["version"], p.json["version"],
        "{}",
        p.json
    );
    p.json
}

/// Today as the testbed sees it: the date in Swedish time (the default `clock.time_zone`),
/// whatever the machine's zone.
pub fn today() -> chrono::NaiveDate {
    ntjp_testbed::clock::TimeBase::default().today()
}

/// A consumer's mutual-TLS client (one connection per request, so each test controls
/// exactly what is sent).
#[derive(Clone)]
pub struct Client {
    tls: Arc<rustls::ClientConfig>,
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn fault(&self) -> ParsedFault {
        parse_fault(self.body.as_bytes())
            .unwrap_or_else(|| panic!("not a SOAP fault: {}", self.body))
    }
    /// Asserts a VP fault with this code and returns it.
    pub fn vp(&self, code: &str) -> ParsedFault {
        assert_eq!(
            self.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{}",
            self.body
        );
        let f = self.fault();
        assert!(
            f.faultstring.starts_with(code),
            "expected {code}, got {f:?}"
        );
        assert!(self.headers.contains_key("x-skltp-correlation-id"));
        f
    }
}

impl Client {
    pub fn new(ca: &Path, identity: Option<(&Path, &Path)>) -> Self {
        let tls = ntjp_testbed::tls::client_config(ca, identity).unwrap();
        Client { tls: Arc::new(tls) }
    }

    pub async fn connect(&self, addr: SocketAddr) -> std::io::Result<TlsStream<TcpStream>> {
        let tcp = TcpStream::connect(addr).await?;
        TlsConnector::from(self.tls.clone())
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
    }

    /// [`Client::post`] to `addr` calling the server by `name` (checked against the server
    /// certificate's names), as a client that resolved `name` to `addr` would.
    pub async fn post_as(
        &self,
        addr: SocketAddr,
        name: &str,
        body: impl Into<Bytes>,
    ) -> Result<Answer, String> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let name = ServerName::try_from(name.to_owned()).map_err(|e| e.to_string())?;
        let tls = TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        send(tls, body.into(), &[]).await
    }

    /// POSTs a SOAP body; `Err` when the TLS handshake or HTTP exchange fails.
    pub async fn post(
        &self,
        addr: SocketAddr,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, String> {
        let tls = self
            .connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        send(tls, body.into(), headers).await
    }
}

/// Plain HTTP POST (the router's whitelisted listener).
pub async fn post_plain(
    addr: SocketAddr,
    body: impl Into<Bytes>,
    headers: &[(&str, &str)],
) -> Result<Answer, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    send(tcp, body.into(), headers).await
}

async fn send<I>(io: I, body: Bytes, headers: &[(&str, &str)]) -> Result<Answer, String>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| format!("http handshake: {e}"))?;
    tokio::spawn(conn);
    let mut req = Request::post("/vp/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21")
        .header("host", "localhost")
        .header("content-type", "text/xml; charset=UTF-8");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(body)).unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(30), sender.send_request(req))
        .await
        .map_err(|_| "no answer within 30 s".to_string())?
        .map_err(|e| format!("request: {e}"))?;
    let (parts, body) = resp.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// A valid request to `address`.
pub fn cervix_request(address: &str) -> String {
    ntjp_testbed::contract::request(
        address,
        ntjp_testbed::soap::Profile::Bp21,
        "199001012384",
        "01",
    )
}

/// A BP20 (wsa:To) request to `address`.
pub fn cervix_request_bp20(address: &str) -> String {
    ntjp_testbed::contract::request(
        address,
        ntjp_testbed::soap::Profile::Bp20,
        "199001012384",
        "01",
    )
}

/// Asserts a contract answer with resultCode OK and returns the mock address header.
pub fn assert_ok(a: &Answer) -> String {
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let (code, _) = ntjp_testbed::contract::parse_response(a.body.as_bytes())
        .unwrap_or_else(|| panic!("not a contract response: {}", a.body));
    assert_eq!(code, ntjp_testbed::contract::ResultCode::Ok, "{}", a.body);
    a.headers
        .get(ntjp_testbed::vocab::MOCK_ADDRESS)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// How long a test waits for something that should happen at once before calling it a hang:
/// generous, so a loaded CI machine never fails a test that would pass. It bounds a wait; it
/// never measures speed.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Waits until `condition` (async) holds, checking every 20 ms; fails the test naming `what`
/// after [`PATIENCE`].
pub async fn wait_for<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The Dockerfile's instructions with their continuation lines joined, comments left out.
pub fn dockerfile_instructions(dockerfile: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}
