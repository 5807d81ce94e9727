//! `ntjp verify consumer`: reads what the mock producers received from one consumer in one
//! environment (admin API `GET /api/mocks/messages`), checks it with [`crate::verify`], prints
//! the report, writes JUnit XML on request and exits 1 when a case failed. It sends nothing.
//!
//! `ntjp verify producer`: sends the contract's verification cases
//! ([`crate::verify::producer::CASES`]) as a consumer, over mutual TLS with the consumer
//! certificate from `endpoints.json`, through the environment's router to the producer TAK
//! routes the address to, and PingForConfiguration straight to that producer's URL with the
//! platform's certificate (as the platform's connection test); judges each answer with
//! [`crate::verify::producer`], prints the report and writes JUnit XML the same way.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};

use super::{
    Target, client, env_arg,
    exit::{Status, WithStatus, fail},
};
use crate::{
    config::{Config, endpoints::Endpoints},
    contract, tls,
    verify::{
        self, Recording,
        producer::{Exchange, Expect, Got, ProducerReport},
    },
    vocab::EnvName,
};

const CONSUMER_HELP: &str = "\
What it checks (one JUnit test case each, by id):
  scenario-moved              a valid message with plannedInvitation (the woman moves between
                              regions) was answered OK or INFO
  scenario-sample-elsewhere   the same for specimen (she left a sample in another region)
  scenario-treated-elsewhere  the same for followUpGroups (she was treated in another region)
  scenario-exclusion          the same for exclusion (she is excluded from invitations)
  logical-addressing          every message had a RIVTABP21 LogicalAddress header with a current
                              county code (in SIT also LOAD-MOCKS or NTJP-MOCKS) and reached
                              that address's mock
  correlation-id              every message arrived with x-skltp-correlation-id
  schema-and-rules            no message broke the schema or the TKB's rules, none was technical

Messages come from the mock producers' recordings (kept in memory by the running testbed, so
only what was sent since it started): send them first, as the consumer system, through the
environment's router, to LOAD-MOCKS or a county code. Pings are ignored.

Exit status: 0 when every case passed, 1 when a case failed, 3 when the testbed could not be
reached, 4 when it refused to answer. --json prints the report as JSON instead of text.

Examples:
  ntjp verify consumer --env sit --hsa-id SE2321000016-ABCD
  ntjp verify consumer --env sit --hsa-id SE2321000016-ABCD --junit target/verify/consumer.xml \\
    --since 2026-12-02T10:00:00+01:00 --admin http://127.0.0.1:24000";

/// `ntjp verify ...`
#[derive(Debug, Subcommand)]
pub enum VerifyCommand {
    /// Verify a consumer system from what the mock producers received from it.
    ///
    /// The cases are modelled on the platform's self-declaration for consumers
    /// (Självdeklaration tjänstekonsument): prints a report and optionally writes JUnit XML
    /// for CI.
    #[command(after_help = CONSUMER_HELP)]
    Consumer(ConsumerArgs),
    /// Verify a producer system by sending it the contract's cases through the router.
    ///
    /// Every request in fixtures/messages/ (valid, invalid, technically broken; built into
    /// ntjp) goes to the logical address through the environment's router as the default
    /// consumer, and PingForConfiguration to the producer's URL from TAK with the platform's
    /// certificate; each answer is checked against the contract (self-declaration for
    /// producers, Självdeklaration tjänsteproducent). Prints a report and optionally writes
    /// JUnit XML for CI.
    #[command(after_help = PRODUCER_HELP)]
    Producer(ProducerArgs),
}

const PRODUCER_HELP: &str = "\
What it checks (one JUnit test case each, by id):
  valid-<name>       a valid request (fixtures/messages/valid/<name>.xml) is answered
                     resultCode OK (INFO with a resultText is accepted), HTTP 200
  invalid-<name>     a request that breaks the schema or a TKB rule is answered resultCode
                     ERROR with a resultText, HTTP 200: not OK, and not a SOAP Fault (a logical
                     error is no technical error)
  technical-<name>   a request that is not well-formed or not this operation gets the
                     producer's own SOAP Fault
  ping               PingForConfiguration, sent to the producer's URL from TAK with the
                     platform's certificate, is answered with a PingForConfigurationResponse
Every answer must come within --timeout-ms, and from the producer: a platform fault (VP004
no route, VP007 no authorisation, VP009 producer unreachable or too slow) fails the case and
is shown. Each request is the fixture with its LogicalAddress set to --address.

Exit status: 0 when every case passed, 1 when a case failed, 2 for a usage error (a missing
certificate file), 3 when the testbed or its router could not be reached, 4 when the admin
API refused to answer. --json prints the report as JSON instead of text.

Examples:
  ntjp verify producer --env qa --address 14
  ntjp verify producer --env sit --address LOAD-MOCKS --junit target/verify/producer.xml
  ntjp verify producer --env qa --address 14 --timeout-ms 5000 --state-dir /srv/ntjp
  ntjp verify producer --env qa --address 14 --case invalid- --case ping";

/// `ntjp verify producer ...`
#[derive(Debug, Args)]
pub struct ProducerArgs {
    /// Environment whose router is called: sit, qa or prod.
    #[arg(long, value_parser = env_arg)]
    pub env: EnvName,
    /// The logical address whose producer is verified (a county code such as 14, or
    /// LOAD-MOCKS in SIT).
    #[arg(long, value_name = "ADDRESS")]
    pub address: String,
    /// Also write the result as JUnit XML to FILE (parent directories are created).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// The contract's producer timeout each answer is held to, in ms (VP's default, 29000;
    /// the router answers VP009 itself past its own `router.producer_timeout_ms` or
    /// `timeout_config`).
    #[arg(long, value_name = "MS", default_value_t = 29_000)]
    pub timeout_ms: u64,
    /// Run only the case ID (repeatable); an ID ending in `-` selects every case it begins,
    /// e.g. `--case ping`, `--case valid-exclusion`, `--case invalid-`.
    #[arg(long = "case", value_name = "ID")]
    pub cases: Vec<String>,
    /// Client certificate (PEM) to call the router with. Default: the default consumer's,
    /// from <state-dir>/endpoints.json.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub target: Target,
}

/// `ntjp verify consumer ...`
#[derive(Debug, Args)]
pub struct ConsumerArgs {
    /// Environment whose recordings are checked: sit, qa or prod.
    #[arg(long, value_parser = env_arg)]
    pub env: EnvName,
    /// The consumer system's HSA-id, as in its function certificate (compared
    /// case-insensitively).
    #[arg(long, value_name = "ID")]
    pub hsa_id: String,
    /// Also write the result as JUnit XML to FILE (parent directories are created).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Only messages received at or after this time (RFC 3339, e.g. 2026-12-02T10:00:00Z or
    /// 2026-12-02T11:00:00+01:00), e.g. the start of the current CI run.
    #[arg(long, value_name = "RFC3339", value_parser = since_arg)]
    pub since: Option<DateTime<Utc>>,
    #[command(flatten)]
    pub target: Target,
}

fn since_arg(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time like 2026-12-02T10:00:00Z: {e}"))
}

/// The name of this machine, for the JUnit `hostname`.
fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn api_error(what: &str, url: &str, answer: &client::Answer) -> anyhow::Error {
    let why = answer.json["error"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| answer.json.to_string());
    fail(
        Status::Refused,
        anyhow!("{what} ({url}) answered {}: {why}", answer.status),
    )
}

/// The platform name of `env` from `GET /status`, else the default configuration's.
async fn platform_of(base: &str, env: EnvName) -> Result<String> {
    let url = format!("{base}/status");
    let answer = client::get(&url).await?;
    if !answer.status.is_success() {
        return Err(api_error("the testbed's status", &url, &answer));
    }
    Ok(answer.json["Environments"][env.as_str()]["Platform"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| Config::default().environments.get(env).platform.clone()))
}

fn write_junit(path: &Path, xml: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, xml).with_context(|| format!("cannot write {}", path.display()))
}

/// Prints the report, as text or (`--json`) as JSON.
/// A verification report as the CLI hands it out: printed as text or JSON, written as JUnit
/// XML when asked, and an exit status of "check failed" naming how many cases failed.
struct Outcome {
    json: String,
    text: String,
    junit: String,
    /// What failed, when something did.
    failed: Option<String>,
}

impl Outcome {
    fn deliver(self, json: bool, junit: Option<&Path>) -> Result<()> {
        if json {
            println!("{}", self.json);
        } else {
            print!("{}", self.text);
        }
        if let Some(path) = junit {
            write_junit(path, &self.junit).status(Status::Usage)?;
            if !json {
                println!("JUnit XML written to {}", path.display());
            }
        }
        match self.failed {
            Some(why) => Err(fail(Status::CheckFailed, anyhow!(why))),
            None => Ok(()),
        }
    }
}

/// Runs `ntjp verify ...`.
pub async fn run(cmd: VerifyCommand) -> Result<()> {
    match cmd {
        VerifyCommand::Consumer(args) => consumer(args).await,
        VerifyCommand::Producer(args) => producer(args).await,
    }
}

/// Runs `ntjp verify consumer`.
pub async fn consumer(args: ConsumerArgs) -> Result<()> {
    let started = Instant::now();
    let base = args.target.base();
    let platform = platform_of(&base, args.env).await?;
    let mut url = format!(
        "{base}/api/mocks/messages?consumer={}&environment={}",
        client::encode(&args.hsa_id),
        args.env
    );
    if let Some(since) = args.since {
        url.push_str("&since=");
        url.push_str(&client::encode(
            &since.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        ));
    }
    let answer = client::get(&url).await?;
    if !answer.status.is_success() {
        return Err(api_error("the mock producers' recordings", &url, &answer));
    }
    let recordings: Vec<Recording> = serde_json::from_value(answer.json["messages"].clone())
        .with_context(|| {
            format!(
                "{url} did not answer with recordings this ntjp can read (is it the same version?)"
            )
        })?;

    let mut report = verify::consumer(&recordings, args.env, &args.hsa_id, &platform);
    report.since = args.since;
    report.hostname = hostname();
    report.elapsed = started.elapsed();
    let outcome = Outcome {
        json: serde_json::to_string_pretty(&report)?,
        text: report.to_text(),
        junit: report.to_junit()?,
        failed: (!report.passed()).then(|| {
            format!(
                "{} of {} verification cases failed for {} in {}",
                report.failures(),
                report.cases.len(),
                args.hsa_id,
                args.env
            )
        }),
    };
    outcome.deliver(args.target.json, args.junit.as_deref())
}

/// `<state-dir>/endpoints.json`, which `ntjp serve` writes once it listens.
fn endpoints(state_dir: &Path) -> Result<Endpoints> {
    let path = state_dir.join("endpoints.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| {
            format!(
                "cannot read {}: is `ntjp serve` running with this state directory? (--state-dir DIR)",
                path.display()
            )
        })
        .status(Status::Unreachable)?;
    serde_json::from_str(&text)
        .with_context(|| {
            format!(
                "{} is not an endpoints.json this ntjp can read",
                path.display()
            )
        })
        .status(Status::Usage)
}

/// Where a case is sent: a URL's host, port, TLS and path, and the TLS client for it.
struct Destination {
    host: String,
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
    path: String,
}

impl Destination {
    fn new(url: &str, tls: Arc<rustls::ClientConfig>) -> Result<Destination> {
        let uri: http::Uri = url
            .parse()
            .with_context(|| format!("{url} is not a URL"))
            .status(Status::Usage)?;
        let https = uri.scheme_str() != Some("http");
        let host = uri
            .host()
            .with_context(|| format!("{url} names no host"))
            .status(Status::Usage)?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        Ok(Destination {
            port: uri.port_u16().unwrap_or(if https { 443 } else { 80 }),
            tls: https.then_some(tls),
            path: uri
                .path_and_query()
                .map_or("/".into(), |p| p.as_str().to_string()),
            host,
        })
    }
}

/// The most of an answer kept for the report.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Why an exchange did not give an answer, and whether nothing was reached at all.
enum SendError {
    /// Nothing listens there (TCP connect failed).
    Unreachable(String),
    /// Reached, but no complete answer.
    Broken(String),
}

/// POSTs `body` to `to` on a connection of its own, the whole exchange within `deadline`.
async fn post(
    to: &Destination,
    body: String,
    headers: &[(&str, String)],
    deadline: Duration,
) -> Result<(u16, String), SendError> {
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect((to.host.as_str(), to.port))
            .await
            .map_err(|e| {
                SendError::Unreachable(format!("cannot connect to {}:{}: {e}", to.host, to.port))
            })?;
        match &to.tls {
            Some(tls) => {
                let name = rustls_pki_types::ServerName::try_from(to.host.clone())
                    .map_err(|e| SendError::Broken(format!("{}: {e}", to.host)))?;
                let stream = tokio_rustls::TlsConnector::from(tls.clone())
                    .connect(name, tcp)
                    .await
                    .map_err(|e| {
                        SendError::Broken(format!(
                            "TLS handshake with {}:{} failed: {e}",
                            to.host, to.port
                        ))
                    })?;
                exchange(stream, to, body, headers).await
            }
            None => exchange(tcp, to, body, headers).await,
        }
    };
    tokio::time::timeout(deadline, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(SendError::Broken(format!(
                "no complete answer within {} ms",
                deadline.as_millis()
            )))
        })
}

async fn exchange<I>(
    io: I,
    to: &Destination,
    body: String,
    headers: &[(&str, String)],
) -> Result<(u16, String), SendError>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let broken = |what: &str, e: &dyn std::fmt::Display| SendError::Broken(format!("{what}: {e}"));
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| broken("HTTP handshake", &e))?;
    let conn = tokio::spawn(conn);
    let mut req = http::Request::post(to.path.as_str())
        .header(http::header::HOST, format!("{}:{}", to.host, to.port))
        .header(http::header::CONTENT_TYPE, "text/xml; charset=UTF-8");
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let req = req
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .map_err(|e| broken("request", &e))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| broken("the connection broke off before the answer", &e))?;
    let status = resp.status().as_u16();
    let mut body = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER_BYTES);
    let mut bytes = Vec::new();
    loop {
        use http_body_util::BodyExt;
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => {
                conn.abort();
                return Err(broken("the answer broke off", &e));
            }
        }
    }
    conn.abort();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// The route TAK has today for the contract and `address` in `env`: (producer, URL).
async fn route_of(
    base: &str,
    env: EnvName,
    address: &str,
    today: Option<&str>,
) -> Result<Option<(String, String)>> {
    let url = format!("{base}/api/{env}/tak");
    let answer = client::get(&url).await?;
    if !answer.status.is_success() {
        return Err(api_error("the published TAK", &url, &answer));
    }
    let routes = answer.json["routes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(routes.iter().find_map(|r| {
        let valid = today.is_none_or(|t| {
            r["validity"]["from"].as_str().is_some_and(|f| f <= t)
                && r["validity"]["to"].as_str().is_some_and(|to| t <= to)
        });
        (valid
            && r["contract"].as_str() == Some(contract::RESPONDER_NS)
            && r["logical_address"]
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(address)))
        .then(|| {
            (
                r["producer"].as_str().unwrap_or_default().to_string(),
                r["url"].as_str().unwrap_or_default().to_string(),
            )
        })
    }))
}

/// Runs `ntjp verify producer`.
pub async fn producer(args: ProducerArgs) -> Result<()> {
    let started = Instant::now();
    let base = args.target.base();
    let status_url = format!("{base}/status");
    let status = client::get(&status_url).await?;
    if !status.status.is_success() {
        return Err(api_error("the testbed's status", &status_url, &status));
    }
    let env_status = &status.json["Environments"][args.env.as_str()];
    let platform = env_status["Platform"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| {
            Config::default()
                .environments
                .get(args.env)
                .platform
                .clone()
        });
    let today = env_status["Today"].as_str();
    let producer = route_of(&base, args.env, &args.address, today).await?;

    let ends = endpoints(&args.target.state_dir)?;
    let env_ends = ends
        .environments
        .get(args.env.as_str())
        .with_context(|| {
            format!(
                "{} has no router for {}",
                args.target.state_dir.join("endpoints.json").display(),
                args.env
            )
        })
        .status(Status::Usage)?;
    let (cert, key) = match (&args.cert, &args.key) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => (
            ends.pki.consumer_cert.clone(),
            ends.pki.consumer_key.clone(),
        ),
    };
    let consumer_tls = tls::client_config(&ends.pki.ca, Some((&cert, &key)))
        .with_context(|| {
            format!(
                "cannot use the client certificate {} with key {}",
                cert.display(),
                key.display()
            )
        })
        .status(Status::Usage)?;
    let router_url = format!(
        "{}/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21",
        env_ends.router_https.trim_end_matches('/')
    );
    let router = Destination::new(&router_url, Arc::new(consumer_tls))?;
    let timeout = Duration::from_millis(args.timeout_ms);
    // Past the timeout the case has failed; the margin lets a late answer (or the router's own
    // VP009) arrive, so the report can say what came and when.
    let deadline = timeout + timeout.min(Duration::from_secs(5));
    let chosen: Vec<&verify::producer::CaseSpec> = verify::producer::CASES
        .iter()
        .filter(|c| {
            args.cases.is_empty()
                || args
                    .cases
                    .iter()
                    .any(|p| c.id == p || (p.ends_with('-') && c.id.starts_with(p.as_str())))
        })
        .collect();
    if chosen.is_empty() {
        let ids: Vec<&str> = verify::producer::CASES.iter().map(|c| c.id).collect();
        return Err(fail(
            Status::Usage,
            anyhow!(
                "no case id starts with {}: the cases are {}",
                args.cases.join(" or "),
                ids.join(", ")
            ),
        ));
    }

    let mut cases = Vec::new();
    for spec in chosen {
        let request = spec.request(&args.address);
        let sent = Instant::now();
        let outcome = if spec.expect == Expect::Ping {
            match &producer {
                Some((_, url)) => {
                    // The platform's own client certificate for this environment, beside the CA.
                    let pki = ends.pki.ca.parent().unwrap_or(Path::new("."));
                    let stem = format!("platform-{}", args.env);
                    let (pcert, pkey) = (
                        pki.join(format!("{stem}.pem")),
                        pki.join(format!("{stem}-key.pem")),
                    );
                    let platform_tls = tls::client_config(&ends.pki.ca, Some((&pcert, &pkey)))
                        .with_context(|| {
                            format!("cannot use the platform certificate {}", pcert.display())
                        })
                        .status(Status::Usage)?;
                    let to = Destination::new(url, Arc::new(platform_tls))?;
                    post(&to, request, &[], deadline).await
                }
                None => Err(SendError::Broken(format!(
                    "TAK in {} routes {} nowhere for {} today: there is no producer URL to ping",
                    args.env,
                    contract::OPERATION,
                    args.address
                ))),
            }
        } else {
            let correlation = format!("ntjp-verify-producer-{}-{}", spec.id, uuid::Uuid::new_v4());
            let headers = [
                ("SOAPAction", format!("\"{}\"", contract::SOAP_ACTION)),
                ("x-skltp-correlation-id", correlation),
            ];
            match post(&router, request, &headers, deadline).await {
                Err(SendError::Unreachable(e)) => {
                    return Err(fail(
                        Status::Unreachable,
                        anyhow!(
                            "the {} router ({router_url}) cannot be reached: {e}",
                            args.env
                        ),
                    ));
                }
                other => other,
            }
        };
        let got = match outcome {
            Ok((status, body)) => Got::Answer { status, body },
            Err(SendError::Unreachable(error) | SendError::Broken(error)) => {
                Got::Transport { error }
            }
        };
        let exchange = Exchange {
            got,
            elapsed: sent.elapsed(),
        };
        cases.push(verify::producer::judge(spec, &exchange, timeout));
    }

    let report = ProducerReport {
        address: args.address.clone(),
        env: args.env,
        platform,
        producer,
        timeout,
        generated_at: Utc::now(),
        cases,
        hostname: hostname(),
        elapsed: started.elapsed(),
    };
    let outcome = Outcome {
        json: serde_json::to_string_pretty(&report)?,
        text: report.to_text(),
        junit: report.to_junit()?,
        failed: (!report.passed()).then(|| {
            format!(
                "{} of {} verification cases failed for the producer of {} in {}",
                report.failures(),
                report.cases.len(),
                args.address,
                args.env
            )
        }),
    };
    outcome.deliver(args.target.json, args.junit.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(client::encode("SE2321000016-ABCD"), "SE2321000016-ABCD");
        assert_eq!(
            client::encode("2026-12-02T10:00:00+01:00"),
            "2026-12-02T10%3A00%3A00%2B01%3A00"
        );
        assert_eq!(client::encode("a b&c=ö"), "a%20b%26c%3D%C3%B6");
    }

    #[test]
    fn since_must_be_rfc3339() {
        assert_eq!(
            since_arg("2026-12-02T11:00:00+01:00").map(|t| t.to_rfc3339()),
            Ok("2026-12-02T10:00:00+00:00".to_string())
        );
        assert!(since_arg("yesterday").is_err_and(|e| e.contains("yesterday")));
    }
}
