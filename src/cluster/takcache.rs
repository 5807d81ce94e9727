//! A router node's TAK, loaded as VP's takcache loads it (vp.md §4.2, tak.md §3.4): fetched
//! from a SokVagvalsInfo v2 endpoint (`hamtaAllaVirtualiseringar`, then
//! `hamtaAllaAnropsBehorigheter`) at start and on `/resetcache`, kept in a local copy (VP's
//! `persistentCache` XML file) to start from when the TAK service cannot be reached.
//!
//! [`TakCache::refresh`] runs VP's algorithm: an empty answer, an HTTP or SOAP failure, a
//! timeout or an unreadable answer is a failed fetch. A fetch that succeeds replaces the
//! snapshot the router reads ([`TakCell`]) and writes the local copy (a temporary file renamed
//! over it: a crash never leaves half a copy); status `REFRESH_OK`. A failed fetch keeps a
//! loaded snapshot (`REUSING_EXISTING_CACHE`), else restores the local copy
//! (`RESTORED_FROM_LOCAL_CACHE`), else leaves the cell empty (`REFRESH_FAILED`: the router
//! answers VP008). The answer of `/resetcache` ([`RefreshLog::html`]) has VP's lines, and
//! after a failure one more, `Reason for failure: ...` (VP's own prefix), naming the URL and
//! what went wrong (HTTP status and the answer's beginning, the timeout, the size limit, the
//! entry that could not be read): VP writes that only to its log file, where an integrator
//! of a testbed does not look.
//!
//! One deviation from VP: VP replaces its route map before it fetches the authorisations, so a
//! failed second fetch leaves new routes with old authorisations; here both are fetched first
//! and the new snapshot replaces the old one whole.
//!
//! Each operation is one POST on its own connection (hyper's `conn::http1`, plain TCP or
//! tokio-rustls), with one deadline for the whole exchange (name lookup, connect, TLS, request,
//! the whole answer) and the answer bounded in bytes (`cluster.max_tak_bytes`). Parsing, the
//! snapshot build and the file IO run on the blocking pool. Refreshes run one at a time (a
//! mutex only refreshers wait on); the router reads the cell without a lock and never waits
//! for a refresh. Not here: the `/resetcache` and `/status` endpoints, the configuration
//! (`server` builds the [`TakSource`]), the publish notification.

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderValue, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::clock::TimeBase;
use crate::tak::vagvalsinfo::{
    self, AuthorisationInfo, RouteInfo, VagvalsinfoError, build_snapshot,
};
use crate::tak::{Snapshot, TakCell};
use crate::vocab::EnvName;

/// The `User-Agent` VP's takcache sends (`takcache.header.user.agent`'s default).
pub const USER_AGENT: &str = "SKLTP VP/3.1";

/// The `Content-Type` of VP's `/resetcache` answer (sic, with the semicolon).
pub const RESET_CONTENT_TYPE: &str = "text/html;";

/// How much of a non-200 answer is quoted in the reason.
const QUOTED_BYTES: usize = 200;

/// takcache's texts (`TakCacheImpl`), exactly, misspellings included.
const MSG_INITIALIZE: &str = "Initialize TAK cache resources...";
const MSG_SAVE: &str =
    "Succeeded to get virtualizations and/or permissions from TAK, save to local TAK copy...";
const MSG_SAVED: &str = "Succesfully saved virtualizations and permissions to local TAK copy: ";
const MSG_SAVE_FAILED: &str = "Failed to save virtualizations and permissions to local TAK copy: ";
const MSG_REASON: &str = "Reason for failure: ";
const MSG_USE_EXISTING: &str = "Failed to get virtualizations and/or permissions from TAK, see logfiles for details. Will continue to use already loaded TAK data.";
const MSG_RESTORE: &str = "Failed to get virtualizations and/or permissions from TAK, see logfiles for details. Restore from local TAK copy...";
const MSG_RESTORED: &str =
    "Succesfully restored virtualizations and permissions from local TAK copy: ";
const MSG_RESTORE_FAILED: &str =
    "Failed to restore virtualizations and permissions from local TAK copy: ";

/// Where one environment's TAK comes from and where its local copy is kept.
#[derive(Clone)]
pub struct TakSource {
    /// The environment (for log lines).
    pub env: EnvName,
    /// The SokVagvalsInfo v2 endpoint, `http://` or `https://`.
    pub url: String,
    /// The local copy (`<cluster.tak_cache_dir>/<env>.xml`).
    pub cache_file: PathBuf,
    /// The TAK platform name the snapshot carries (`tak.platform`).
    pub platform: String,
    /// The whole exchange of one operation, from name lookup to the answer's last byte
    /// (`cluster.tak_fetch_timeout_ms`).
    pub timeout: Duration,
    /// The largest answer, and local copy, read (`cluster.max_tak_bytes`).
    pub max_bytes: usize,
    /// The TLS client configuration for an `https://` URL.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// What the last refresh did (takcache's `RefreshStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshStatus {
    /// Fetched and loaded.
    RefreshOk,
    /// Not fetched, nothing loaded and no local copy: every call gets VP008.
    RefreshFailed,
    /// Not fetched; the local copy was loaded.
    RestoredFromLocalCache,
    /// Not fetched; the snapshot loaded before stays.
    ReusingExistingCache,
}

impl RefreshStatus {
    /// The name VP writes (`REFRESH_OK`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshStatus::RefreshOk => "REFRESH_OK",
            RefreshStatus::RefreshFailed => "REFRESH_FAILED",
            RefreshStatus::RestoredFromLocalCache => "RESTORED_FROM_LOCAL_CACHE",
            RefreshStatus::ReusingExistingCache => "REUSING_EXISTING_CACHE",
        }
    }
}

impl std::fmt::Display for RefreshStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One refresh's log (takcache's `TakCacheLog`). Its `Time:` is the refresh's, in the
/// testbed's zone (takcache writes the time its cache object was made, on every refresh: a
/// quirk not copied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshLog {
    /// The lines, in VP's words (plus `Reason for failure: ...` lines).
    pub lines: Vec<String>,
    /// Whether TAK was fetched (VP's `isRefreshSuccessful`; false after a restore).
    pub success: bool,
    /// The outcome.
    pub status: RefreshStatus,
}

impl RefreshLog {
    /// The body of `/resetcache`'s answer as VP writes it (HTTP 200, [`RESET_CONTENT_TYPE`]):
    /// each line preceded by `<br>`.
    pub fn html(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str("<br>");
            out.push_str(line);
        }
        out
    }
}

/// The last refresh's outcome, for `/status`.
#[derive(Debug, Clone)]
struct LastRefresh {
    at: jiff::civil::DateTime,
    status: RefreshStatus,
    routes: usize,
    authorisations: usize,
}

/// One environment's TAK as a router node loads it. A loaded snapshot's version counts this
/// node's loads (1, 2, ...; SokVagvalsInfo does not tell TAK's own version), its comment says
/// where it came from (the URL or the local copy).
pub struct TakCache {
    source: TakSource,
    /// The snapshot the router reads.
    cell: TakCell,
    /// The testbed's clock and zone (the log's `Time:`, `/status`'s `Date:`).
    time: Arc<TimeBase>,
    /// This machine's name (the log's `Host:`), read once, by the first refresh, off the
    /// async workers.
    host: tokio::sync::OnceCell<String>,
    /// The last refresh; written by a refresh, read by `/status` (never by a request).
    last: Mutex<Option<LastRefresh>>,
    /// The version the next loaded snapshot gets; held only by a refresh.
    next_version: Mutex<u64>,
    /// One refresh at a time (awaited only by refreshers).
    refreshing: tokio::sync::Mutex<()>,
}

/// Why a fetch or a restore failed, in words for the log.
type Reason = String;

impl TakCache {
    /// A cache that fills `cell` from `source` once [`TakCache::refresh`] runs.
    pub fn new(source: TakSource, cell: TakCell, time: Arc<TimeBase>) -> Arc<TakCache> {
        Arc::new(TakCache {
            source,
            cell,
            time,
            host: tokio::sync::OnceCell::new(),
            last: Mutex::new(None),
            next_version: Mutex::new(1),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    /// Where this cache loads from.
    pub fn source(&self) -> &TakSource {
        &self.source
    }

    /// The cell the router reads.
    pub fn cell(&self) -> &TakCell {
        &self.cell
    }

    /// Whether a TAK is loaded (VP's `TakCacheInitialized`: a refresh ran and its status is
    /// not `REFRESH_FAILED`).
    pub fn initialized(&self) -> bool {
        self.last_refresh()
            .is_some_and(|l| l.status != RefreshStatus::RefreshFailed)
    }

    /// The last refresh's status; `None` before the first.
    pub fn status(&self) -> Option<RefreshStatus> {
        self.last_refresh().map(|l| l.status)
    }

    /// `/status`'s `TakCacheResetInfo` in VP's words:
    /// `Date:yyyy-MM-dd'T'HH:mm Status:<status> vagval:<n> behorigheter:<m>`, or
    /// `Not initialized`.
    pub fn reset_info(&self) -> String {
        match self.last_refresh() {
            Some(l) if l.status != RefreshStatus::RefreshFailed => format!(
                "Date:{} Status:{} vagval:{} behorigheter:{}",
                l.at.strftime("%Y-%m-%dT%H:%M"),
                l.status,
                l.routes,
                l.authorisations
            ),
            _ => "Not initialized".to_string(),
        }
    }

    fn last_refresh(&self) -> Option<LastRefresh> {
        self.last.lock().ok().and_then(|l| l.clone())
    }

    fn take_version(&self) -> u64 {
        match self.next_version.lock() {
            Ok(mut v) => {
                let version = *v;
                *v += 1;
                version
            }
            Err(_) => 1,
        }
    }

    fn published_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.time.now_secs(), 0).unwrap_or_default()
    }

    /// Fetches TAK and loads it, or keeps or restores what there is (see the module's
    /// paragraph); the log is `/resetcache`'s answer. Waits for a refresh already running.
    pub async fn refresh(&self) -> RefreshLog {
        let _one_at_a_time = self.refreshing.lock().await;
        let now = self.time.now_local();
        let file = self.source.cache_file.display().to_string();
        let host = self
            .host
            .get_or_init(|| async {
                tokio::task::spawn_blocking(host_name)
                    .await
                    .unwrap_or_else(|_| "UNKNOWN".to_string())
            })
            .await;
        let mut lines = vec![
            format!("Host: {host}"),
            format!("Time: {}", now.strftime("%Y-%m-%d %H:%M:%S")),
            MSG_INITIALIZE.to_string(),
        ];
        let env = self.source.env.as_str();
        let (status, success) = match self.fetch().await {
            Ok((routes, authorisations)) => {
                let version = self.take_version();
                let (platform, at, origin) = (
                    self.source.platform.clone(),
                    self.published_at(),
                    self.source.url.clone(),
                );
                let built = tokio::task::spawn_blocking(move || {
                    let snapshot =
                        build_snapshot(&routes, &authorisations, &platform, version, at, &origin);
                    (snapshot, routes, authorisations)
                })
                .await;
                match built {
                    Ok((snapshot, routes, authorisations)) => {
                        let counts = snapshot.counts();
                        self.cell.store(Some(Arc::new(snapshot)));
                        tracing::info!(
                            env,
                            url = %self.source.url,
                            routes = counts.routes,
                            authorisations = counts.authorisations,
                            "TAK loaded from SokVagvalsInfo"
                        );
                        lines.push(MSG_SAVE.to_string());
                        let path = self.source.cache_file.clone();
                        let saved = tokio::task::spawn_blocking(move || {
                            save(&path, &routes, &authorisations)
                        })
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()));
                        match saved {
                            Ok(()) => lines.push(format!("{MSG_SAVED}{file}")),
                            Err(why) => {
                                tracing::warn!(env, file = %file, error = %why, "local TAK copy not saved");
                                lines.push(format!("{MSG_SAVE_FAILED}{file}"));
                                lines.push(format!("{MSG_REASON}{why}"));
                            }
                        }
                        (RefreshStatus::RefreshOk, true)
                    }
                    Err(e) => self.failed(&mut lines, e.to_string(), &file).await,
                }
            }
            Err(why) => self.failed(&mut lines, why, &file).await,
        };
        let counts = self.cell.load().as_ref().map(|s| s.counts());
        let (routes, authorisations) = counts.map_or((0, 0), |c| (c.routes, c.authorisations));
        lines.push(format!(
            "Init TAK cache loaded number of permissions: {authorisations}"
        ));
        lines.push(format!(
            "Init TAK cache loaded number of virtualizations: {routes}"
        ));
        lines.push(format!("Init done, was successful: {success}"));
        if let Ok(mut last) = self.last.lock() {
            *last = Some(LastRefresh {
                at: now,
                status,
                routes,
                authorisations,
            });
        }
        RefreshLog {
            lines,
            success,
            status,
        }
    }

    /// A failed fetch: keep what is loaded, else restore the local copy.
    async fn failed(
        &self,
        lines: &mut Vec<String>,
        why: Reason,
        file: &str,
    ) -> (RefreshStatus, bool) {
        let env = self.source.env.as_str();
        tracing::warn!(env, url = %self.source.url, error = %why, "TAK not fetched");
        if self.cell.load().is_some() {
            lines.push(MSG_USE_EXISTING.to_string());
            lines.push(format!("{MSG_REASON}{why}"));
            return (RefreshStatus::ReusingExistingCache, false);
        }
        lines.push(MSG_RESTORE.to_string());
        lines.push(format!("{MSG_REASON}{why}"));
        let version = self.take_version();
        let (path, platform, at, max) = (
            self.source.cache_file.clone(),
            self.source.platform.clone(),
            self.published_at(),
            self.source.max_bytes,
        );
        let restored =
            tokio::task::spawn_blocking(move || restore(&path, &platform, version, at, max))
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
        match restored {
            Ok(snapshot) => {
                let counts = snapshot.counts();
                self.cell.store(Some(Arc::new(snapshot)));
                tracing::warn!(
                    env,
                    file,
                    routes = counts.routes,
                    authorisations = counts.authorisations,
                    "TAK restored from the local copy"
                );
                lines.push(format!("{MSG_RESTORED}{file}"));
                (RefreshStatus::RestoredFromLocalCache, false)
            }
            Err(why) => {
                tracing::warn!(env, file, error = %why, "no TAK: the local copy could not be restored");
                lines.push(format!("{MSG_RESTORE_FAILED}{file}"));
                lines.push(format!("{MSG_REASON}{why}"));
                (RefreshStatus::RefreshFailed, false)
            }
        }
    }

    /// Both operations, routes first; an empty list is a failure, as in VP.
    async fn fetch(&self) -> Result<(Vec<RouteInfo>, Vec<AuthorisationInfo>), Reason> {
        let routes = self
            .operation(
                "hamtaAllaVirtualiseringar",
                "virtualiseringsInfo",
                vagvalsinfo::parse_routes,
            )
            .await?;
        let authorisations = self
            .operation(
                "hamtaAllaAnropsBehorigheter",
                "anropsBehorighetsInfo",
                vagvalsinfo::parse_authorisations,
            )
            .await?;
        Ok((routes, authorisations))
    }

    /// One operation: POST, answer read within the deadline and the size limit, parsed on the
    /// blocking pool.
    async fn operation<T: Send + 'static>(
        &self,
        operation: &'static str,
        entry: &'static str,
        parse: fn(&[u8]) -> Result<Vec<T>, VagvalsinfoError>,
    ) -> Result<Vec<T>, Reason> {
        let url = &self.source.url;
        let fail = |what: String| format!("{operation} from {url}: {what}");
        let timeout = self.source.timeout;
        let answer = tokio::time::timeout(timeout, self.post(operation))
            .await
            .map_err(|_| {
                fail(format!(
                    "no complete answer within {} ms (cluster.tak_fetch_timeout_ms)",
                    timeout.as_millis()
                ))
            })?
            .map_err(&fail)?;
        let entries = tokio::task::spawn_blocking(move || parse(&answer))
            .await
            .map_err(|e| fail(e.to_string()))?
            .map_err(|e| fail(e.to_string()))?;
        if entries.is_empty() {
            return Err(fail(format!(
                "the answer holds no {entry} (an empty TAK counts as a failure, as in VP)"
            )));
        }
        Ok(entries)
    }

    /// Sends the operation's request and reads the whole answer (200 only).
    async fn post(&self, operation: &str) -> Result<Bytes, String> {
        let uri: Uri = self
            .source
            .url
            .parse()
            .map_err(|e| format!("invalid URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(other) => return Err(format!("unsupported scheme {other}")),
            None => return Err("the URL has no scheme".to_string()),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or("the URL has no host")?;
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = connect(bare, port).await?;
        let body = format!(
            "<soapenv:Envelope xmlns:soapenv=\"{}\" xmlns:urn=\"{}\"><soapenv:Header/><soapenv:Body><urn:{operation}/></soapenv:Body></soapenv:Envelope>",
            crate::vocab::SOAP11_NS,
            crate::tak::readapi::VAGVALSINFO_V2
        );
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let authority = uri.authority().map_or(host, |a| a.as_str());
        let request = Request::post(path)
            .header(header::HOST, authority)
            .header(header::CONTENT_TYPE, "text/xml; charset=UTF-8")
            .header("SOAPAction", HeaderValue::from_static("\"\""))
            .header(header::USER_AGENT, USER_AGENT)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("invalid request: {e}"))?;
        let max = self.source.max_bytes;
        if https {
            let tls = self
                .source
                .tls
                .clone()
                .ok_or("an https URL, but no TLS client configuration")?;
            let name = ServerName::try_from(bare.to_string())
                .map_err(|e| format!("invalid server name {bare}: {e}"))?;
            let stream = TlsConnector::from(tls)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake: {e}"))?;
            exchange(TokioIo::new(stream), request, max).await
        } else {
            exchange(TokioIo::new(tcp), request, max).await
        }
    }
}

/// Name lookup and TCP connect, each address in turn.
async fn connect(host: &str, port: u16) -> Result<TcpStream, String> {
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("name lookup of {host}: {e}"))?;
    let mut last = format!("name lookup of {host}: no addresses");
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Err(e) => last = format!("connect to {addr}: {e}"),
        }
    }
    Err(last)
}

/// Aborts the connection's task when the exchange ends or is given up.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One request on a new HTTP/1.1 connection; the answer's body, read up to `max` bytes.
async fn exchange<T>(io: T, request: Request<Full<Bytes>>, max: usize) -> Result<Bytes, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let _driver = AbortOnDrop(
        tokio::spawn(async move {
            let _ = conn.await;
        })
        .abort_handle(),
    );
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let status = response.status();
    let too_large = || format!("the answer is larger than {max} bytes (cluster.max_tak_bytes)");
    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    // Non-200 answers are read only far enough to quote (or, a SOAP Fault, to name) them.
    let limit = if status == StatusCode::OK {
        max
    } else {
        max.min(64 * 1024)
    };
    let mut body = response.into_body();
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("reading the answer: {e}"))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                if status == StatusCode::OK {
                    return Err(too_large());
                }
                buf.extend_from_slice(&data[..limit - buf.len()]);
                break;
            }
            buf.extend_from_slice(&data);
        }
    }
    if status != StatusCode::OK {
        return Err(non_200(status, &buf));
    }
    Ok(Bytes::from(buf))
}

/// The reason for an answer that is not 200: its SOAP Fault's faultstring, else its first
/// [`QUOTED_BYTES`] bytes.
fn non_200(status: StatusCode, body: &[u8]) -> String {
    if let Err(VagvalsinfoError::Fault(text)) = vagvalsinfo::parse_routes(body) {
        return format!("HTTP {status}, SOAP Fault: {text}");
    }
    let quoted = String::from_utf8_lossy(&body[..body.len().min(QUOTED_BYTES)]).into_owned();
    format!("HTTP {status}: {quoted:?}")
}

/// Writes the local copy: a temporary file beside it, synced, renamed over it (blocking).
fn save(
    path: &Path,
    routes: &[RouteInfo],
    authorisations: &[AuthorisationInfo],
) -> Result<(), String> {
    let fail = |what: &str, e: std::io::Error| format!("{what} {}: {e}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail("cannot create the directory of", e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = std::fs::File::create(&tmp).map_err(|e| fail("cannot create a file beside", e))?;
    let mut w = std::io::BufWriter::new(file);
    vagvalsinfo::write_cache_file(&mut w, routes, authorisations)
        .and_then(|()| w.flush())
        .map_err(|e| fail("cannot write a file beside", e))?;
    w.get_ref()
        .sync_all()
        .map_err(|e| fail("cannot sync a file beside", e))?;
    drop(w);
    std::fs::rename(&tmp, path).map_err(|e| fail("cannot replace", e))
}

/// Reads the local copy (at most `max` bytes) and builds its snapshot (blocking).
fn restore(
    path: &Path,
    platform: &str,
    version: u64,
    at: DateTime<Utc>,
    max: usize,
) -> Result<Snapshot, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() > max {
        return Err(format!(
            "{} is larger than {max} bytes (cluster.max_tak_bytes)",
            path.display()
        ));
    }
    let contents =
        vagvalsinfo::parse_cache_file(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let origin = format!("local TAK copy {}", path.display());
    Ok(build_snapshot(
        &contents.routes,
        &contents.authorisations,
        platform,
        version,
        at,
        &origin,
    ))
}

/// This machine's name for the log's `Host:` line (VP: the canonical host name), `UNKNOWN`
/// when it cannot be told.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "UNKNOWN".to_string())
}
