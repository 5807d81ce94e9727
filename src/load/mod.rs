//! `ntjp load`: a load generator for the router (or any SOAP endpoint, nginx included) over
//! mutual TLS or plain HTTP with VP's internal headers.
//!
//! - [`template`] (pure): body templates with `{{logical_address}}`, `{{personnummer}}` and
//!   `{{correlation_id}}`, rendered in advance into a pool so a request costs no formatting.
//! - [`summary`] (pure): counts by HTTP status, VP code (read from the fault's `faultstring`)
//!   and transport error, percentiles, the text and JSON summary.
//! - `client`: one HTTP/1.1 connection per task on hyper's `client::conn::http1` over
//!   tokio-rustls, driven by the task that sends on it.
//! - `run`: the closed model (N connections, each sending as soon as it has its answer) and the
//!   open model (a fixed rate; latency from when each request was due, so queueing is not
//!   hidden), warm-up, duration or count, progress, the HDR interval log, own CPU.
//! - [`args`]: the command line, and how it finds the testbed from `endpoints.json`.
//!
//! It runs on the command's tokio runtime: one worker thread per available core
//! (`available_parallelism`, which respects `taskset` and cgroup limits), so pinning the
//! generator to one core gives it one thread.
//!
//! It does not retry failed requests (a request the server never read is sent again on a new
//! connection; that is not a failure), follow redirects or speak HTTP/2.

pub mod args;
mod client;
pub mod merge;
mod run;
pub mod summary;
pub mod template;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, OnceLock, atomic::AtomicU64},
    time::Duration,
};

use http::{HeaderMap, HeaderName, HeaderValue, Uri, header};
use rustls::client::Resumption;
use rustls_pki_types::ServerName;
use tokio::{sync::watch, time::Instant};

pub use args::LoadArgs;
pub use run::cpu_seconds_of_stat;
pub use summary::{Summary, vp_code};
pub use template::{Pool, Template};

/// The templated request the generator sends unless told otherwise:
/// `fixtures/requests/load/cervix.xml`.
pub const DEFAULT_BODY: &str = include_str!("../../fixtures/requests/load/cervix.xml");

/// How connections are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// One connection per task, reused for every request (HTTP keep-alive).
    KeepAlive,
    /// A new connection per request, resuming the TLS session of an earlier one.
    Resume,
    /// A new connection per request with a full TLS handshake (resumption disabled).
    Full,
}

impl Mode {
    /// The name in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::KeepAlive => "keep-alive",
            Mode::Resume => "resume",
            Mode::Full => "full",
        }
    }
}

/// A TLS protocol version to pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2 only.
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// The TLS side of a run.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// CA certificate (PEM) to verify the server with.
    pub ca: PathBuf,
    /// Client certificate and key (PEM), if the server asks for one.
    pub identity: Option<(PathBuf, PathBuf)>,
    /// Only this version (default: 1.2 and 1.3, 1.3 preferred).
    pub version: Option<TlsVersion>,
    /// Only this key-exchange group, by rustls' name (`X25519`, `secp256r1`, `secp384r1`,
    /// `X25519MLKEM768`; case-insensitive). Default: rustls' list, X25519MLKEM768 first.
    pub group: Option<String>,
}

/// A request body file (or the built-in one).
#[derive(Debug, Clone)]
pub struct BodyFile {
    /// Where it came from, for error messages.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// A load run, fully resolved.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The whole URL, `https://host:port/path` or `http://…`.
    pub url: Uri,
    /// Required for `https`.
    pub tls: Option<TlsSettings>,
    /// Sent with every request besides `host`, `content-type` and the correlation id.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Round-robin over requests.
    pub bodies: Vec<BodyFile>,
    /// For `{{logical_address}}`, round-robin.
    pub addresses: Vec<String>,
    /// Closed model: connections sending back to back. Open model: the most requests in
    /// flight at once.
    pub connections: usize,
    /// Open model: requests per second. `None`: closed model.
    pub rate: Option<f64>,
    /// Measure for this long (after the warm-up).
    pub duration: Option<Duration>,
    /// Measure this many requests (after the warm-up). With `duration` too, whichever comes first.
    pub requests: Option<u64>,
    /// Send but do not count for this long first.
    pub warmup: Duration,
    /// How connections are used.
    pub mode: Mode,
    /// For a whole request, connection and handshake included.
    pub timeout: Duration,
    /// A progress line on stderr, when it is a terminal.
    pub progress: bool,
    /// Write the latency histograms here (HdrHistogram interval log).
    pub hdr: Option<PathBuf>,
    /// Varies personnummer and correlation ids; random when `None`.
    pub seed: Option<u64>,
}

impl LoadConfig {
    /// Defaults: the built-in body over the county codes, 32 keep-alive connections for 10 s,
    /// no warm-up, 30 s timeout, no TLS settings (add them for `https`).
    pub fn new(url: Uri) -> Self {
        LoadConfig {
            url,
            tls: None,
            headers: Vec::new(),
            bodies: vec![BodyFile {
                name: "fixtures/requests/load/cervix.xml (built in)".into(),
                text: DEFAULT_BODY.into(),
            }],
            addresses: counties(),
            connections: 32,
            rate: None,
            duration: Some(Duration::from_secs(10)),
            requests: None,
            warmup: Duration::ZERO,
            mode: Mode::KeepAlive,
            timeout: Duration::from_secs(30),
            progress: false,
            hdr: None,
            seed: None,
        }
    }
}

/// The 21 county codes (`--addresses counties`).
pub fn counties() -> Vec<String> {
    crate::contract::COUNTY_CODES
        .iter()
        .map(|(c, _)| (*c).to_owned())
        .collect()
}

/// Why a run could not start. Each names the flag or file at fault.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A flag's value is unusable.
    #[error("{flag}: {message}")]
    Flag {
        /// The flag, e.g. `--url`.
        flag: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A body file is unusable.
    #[error("--body {name}: {message}")]
    Body {
        /// The file.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// The TLS configuration could not be built.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The host name did not resolve.
    #[error("--url {url}: cannot resolve {host}: {message}")]
    Resolve {
        /// The URL.
        url: String,
        /// The host.
        host: String,
        /// Why.
        message: String,
    },
    /// The `--hdr` file could not be written.
    #[error("--hdr {}: {source}", path.display())]
    Hdr {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `ntjp load merge` could not read a log.
    #[error(transparent)]
    Merge(#[from] merge::MergeError),
}

fn flag(flag: &'static str, message: impl Into<String>) -> LoadError {
    LoadError::Flag {
        flag,
        message: message.into(),
    }
}

/// Checks the configuration and prepares what every connection shares.
async fn prepare(config: &LoadConfig) -> Result<client::Target, LoadError> {
    let url = &config.url;
    let https = match url.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => {
            return Err(flag(
                "--url",
                format!("{url}: not an http:// or https:// URL"),
            ));
        }
    };
    let host = url
        .host()
        .ok_or_else(|| flag("--url", format!("{url}: no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
    let addr = resolve(url, &host, port).await?;
    let tls = if https {
        Some(tls_connector(config, &host)?)
    } else {
        None
    };
    let headers = request_headers(config, &host)?;
    let path: Uri = url
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .parse()
        .map_err(|e: http::uri::InvalidUri| flag("--url", e.to_string()))?;
    Ok(client::Target {
        addr,
        tls,
        path,
        headers,
    })
}

/// The target's address: IPv4 first (`localhost` often resolves to ::1 first while test
/// servers listen on 127.0.0.1).
async fn resolve(url: &Uri, host: &str, port: u16) -> Result<SocketAddr, LoadError> {
    let resolve_error = |message: String| LoadError::Resolve {
        url: url.to_string(),
        host: host.to_owned(),
        message,
    };
    let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| resolve_error(e.to_string()))?
        .collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    addrs
        .first()
        .copied()
        .ok_or_else(|| resolve_error("no address".into()))
}

/// The TLS client every connection uses: the flags' CA, identity, version and group;
/// session resumption unless every request is to pay a full handshake.
fn tls_connector(
    config: &LoadConfig,
    host: &str,
) -> Result<(tokio_rustls::TlsConnector, ServerName<'static>), LoadError> {
    let t = config.tls.as_ref().ok_or_else(|| {
        flag(
            "--cacert",
            "an https:// URL needs the CA certificate (and usually --cert/--key)",
        )
    })?;
    let mut provider = (*crate::tls::provider()).clone();
    if let Some(g) = &t.group {
        provider
            .kx_groups
            .retain(|k| format!("{:?}", k.name()).eq_ignore_ascii_case(g));
        if provider.kx_groups.is_empty() {
            let known: Vec<String> = crate::tls::provider()
                .kx_groups
                .iter()
                .map(|k| format!("{:?}", k.name()))
                .collect();
            return Err(flag(
                "--tls-group",
                format!("{g} is not one of {}", known.join(", ")),
            ));
        }
    }
    let versions: &[&'static rustls::SupportedProtocolVersion] = match t.version {
        None => rustls::DEFAULT_VERSIONS,
        Some(TlsVersion::Tls12) => &[&rustls::version::TLS12],
        Some(TlsVersion::Tls13) => &[&rustls::version::TLS13],
    };
    let identity = t.identity.as_ref().map(|(c, k)| (c.as_path(), k.as_path()));
    let mut cfg = crate::tls::client_config_with(&t.ca, identity, Arc::new(provider), versions)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    cfg.resumption = if config.mode == Mode::Full {
        Resumption::disabled()
    } else {
        Resumption::store(Arc::new(client::TicketStore::default()))
    };
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| flag("--url", format!("{host}: not a TLS server name: {e}")))?;
    Ok((tokio_rustls::TlsConnector::from(Arc::new(cfg)), name))
}

/// The headers every request carries: Host, Content-Type and the flags' headers.
fn request_headers(config: &LoadConfig, host: &str) -> Result<HeaderMap, LoadError> {
    let mut headers = HeaderMap::new();
    let authority = config.url.authority().map(|a| a.as_str()).unwrap_or(host);
    headers.insert(
        header::HOST,
        HeaderValue::from_str(authority).map_err(|e| flag("--url", e.to_string()))?,
    );
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::vocab::SOAP_CONTENT_TYPE),
    );
    for (k, v) in &config.headers {
        headers.append(k.clone(), v.clone());
    }
    Ok(headers)
}

fn pool(config: &LoadConfig, seed: u64) -> Result<Pool, LoadError> {
    if config.bodies.is_empty() {
        return Err(flag("--body", "no request body"));
    }
    let mut templates = Vec::new();
    for b in &config.bodies {
        let t = Template::parse(&b.text).map_err(|e| LoadError::Body {
            name: b.name.clone(),
            message: e.to_string(),
        })?;
        if t.uses(template::Var::LogicalAddress) && config.addresses.is_empty() {
            return Err(LoadError::Body {
                name: b.name.clone(),
                message: "uses {{logical_address}} but --addresses names none".into(),
            });
        }
        templates.push(t);
    }
    Ok(Pool::new(&templates, &config.addresses, seed))
}

/// What a run produced.
#[derive(Debug)]
pub struct Report {
    /// The summary.
    pub summary: Summary,
}

/// Runs the load and returns its summary (and writes `--hdr`).
pub async fn run(config: LoadConfig) -> Result<Report, LoadError> {
    check(&config).await?;
    let target = prepare(&config).await?;
    let seed = config.seed.unwrap_or_else(|| {
        let (hi, lo) = uuid::Uuid::new_v4().as_u64_pair();
        hi ^ lo
    });
    let pool = pool(&config, seed)?;
    let start = Instant::now();
    let t0 = start + config.warmup;
    let shared = Arc::new(run::Shared {
        target,
        pool,
        mode: config.mode,
        rate: config.rate,
        start,
        t0,
        end: config.duration.map(|d| t0 + d),
        limit: config.requests,
        timeout: config.timeout,
        scheduled: AtomicU64::new(0),
        measured: AtomicU64::new(0),
        warm: AtomicU64::new(0),
        answered: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        intervals: std::sync::Mutex::new(run::Intervals::new()),
        tls_info: OnceLock::new(),
    });
    let (done_tx, done_rx) = watch::channel(false);
    let collector = tokio::spawn(run::collect(
        shared.clone(),
        done_rx,
        config.hdr.is_some(),
        config.progress,
    ));
    let cpu_at_t0 = tokio::spawn(async move {
        tokio::time::sleep_until(t0).await;
        run::own_cpu_seconds().await
    });

    let counts = run::run_workers(&shared, config.connections).await;
    let finished = Instant::now();
    let cpu_end = run::own_cpu_seconds().await;
    let _ = done_tx.send(true);
    let log = collector.await.unwrap_or_default();
    let cpu_start = cpu_at_t0.await.ok().flatten();
    let cpu_seconds = cpu_start.zip(cpu_end).map(|(a, b)| (b - a).max(0.0));
    let summary = summarise(&config, &shared, &counts, finished, cpu_seconds);
    if let Some(path) = &config.hdr {
        write_hdr(path, &log).await?;
    }
    Ok(Report { summary })
}

/// The flags a run cannot start without; the `--hdr` file is created now rather than found
/// unwritable after the run.
async fn check(config: &LoadConfig) -> Result<(), LoadError> {
    if config.connections == 0 {
        return Err(flag("--connections", "must be at least 1"));
    }
    if let Some(r) = config.rate
        && !(r.is_finite() && r > 0.0)
    {
        return Err(flag("--rate", format!("{r}: must be a positive number")));
    }
    if config.duration.is_none() && config.requests.is_none() {
        return Err(flag("--duration", "give --duration or --requests"));
    }
    if let Some(path) = &config.hdr {
        write_hdr(path, b"").await?;
    }
    Ok(())
}

async fn write_hdr(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    tokio::fs::write(path, bytes)
        .await
        .map_err(|source| LoadError::Hdr {
            path: path.to_path_buf(),
            source,
        })
}

/// The run's summary from its counts and the measured interval's histograms.
fn summarise(
    config: &LoadConfig,
    shared: &run::Shared,
    counts: &summary::Counts,
    finished: Instant,
    cpu_seconds: Option<f64>,
) -> Summary {
    let total = shared
        .intervals
        .lock()
        .map(|i| i.total.clone())
        .unwrap_or_else(|e| e.into_inner().total.clone());
    let info = summary::RunInfo {
        url: config.url.to_string(),
        mode: config.mode.as_str().to_owned(),
        connections: config.connections,
        rate: config.rate,
        elapsed: finished.saturating_duration_since(shared.t0),
        tls: shared.tls_info.get().cloned(),
        cpu_seconds,
    };
    Summary::new(info, counts, &total)
}
