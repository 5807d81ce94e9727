//! The `ntjp load` command line, and how it is resolved into a [`LoadConfig`]: the target and
//! the consumer's certificate come from the testbed's `<state-dir>/endpoints.json` unless given.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use clap::Args;
use http::{HeaderName, HeaderValue, Uri};

use super::{BodyFile, LoadConfig, LoadError, Mode, TlsSettings, TlsVersion, counties, flag};
use crate::{
    config::endpoints::{Endpoints, EnvEndpoints, PkiPaths},
    vocab::{AUTH_CERT, EnvName, INSTANCE_ID, SENDER_ID},
};

/// The contract's path below a router's `/vp`.
pub const CONTRACT_PATH: &str =
    "/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21";

/// `ntjp load`'s flags.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// The testbed's state directory: endpoints.json there gives the router's URLs, the CA and
    /// the default consumer's certificate.
    #[arg(
        long,
        env = "NTJP_STATE_DIR",
        value_name = "DIR",
        default_value = ".ntjp"
    )]
    pub state_dir: PathBuf,
    /// Which environment's router to call.
    #[arg(long, value_parser = <EnvName as std::str::FromStr>::from_str, default_value = "sit")]
    pub env: EnvName,
    /// Call this URL instead (whole URL with path), e.g. an nginx in front of a producer.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Client certificate (PEM). Default: the default consumer's, from endpoints.json.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key of --cert (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// CA certificate (PEM) to verify the server. Default: the testbed's CA.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Plain HTTP to the environment's internal listener, as an internal caller: sends
    /// x-vp-sender-id (the consumer) and x-vp-instance-id (the platform's id).
    #[arg(long)]
    pub http: bool,
    /// With --http: send the client certificate in x-vp-auth-cert instead (as a TLS-terminating
    /// proxy in front of VP does).
    #[arg(long, requires = "http")]
    pub auth_cert: bool,
    /// With --http: the consumer's HSA-id for x-vp-sender-id. Default: the default consumer.
    #[arg(long, value_name = "HSA-ID")]
    pub sender_id: Option<String>,
    /// Another header for every request, `name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// A request body file (repeatable: files are sent in turn). May use {{logical_address}},
    /// {{personnummer}} and {{correlation_id}}. Default: fixtures/requests/load/cervix.xml
    /// (built in).
    #[arg(long = "body", value_name = "FILE")]
    pub bodies: Vec<PathBuf>,
    /// Logical addresses for {{logical_address}}, comma-separated, in turn; `counties` is the
    /// 21 county codes.
    #[arg(long, value_name = "LIST", default_value = "counties")]
    pub addresses: String,
    /// Closed model: connections, each sending its next request as soon as it has an answer.
    /// Open model (--rate): the most requests in flight at once.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 32)]
    pub connections: usize,
    /// Open model: send this many requests per second whatever the answers take (`500` or
    /// `500/s`); latency counts from when each request was due.
    #[arg(long, value_name = "R/s")]
    pub rate: Option<String>,
    /// Measure for this long after the warm-up (`10s`, `500ms`, `2m`). Default 10s unless
    /// --requests is given.
    #[arg(short = 'd', long, value_name = "TIME")]
    pub duration: Option<String>,
    /// Measure this many requests after the warm-up.
    #[arg(short = 'n', long, value_name = "N")]
    pub requests: Option<u64>,
    /// Send for this long first without counting (connections, caches and TLS sessions warm).
    #[arg(long, value_name = "TIME", default_value = "0s")]
    pub warmup: String,
    /// How connections are used.
    #[arg(long, value_enum, default_value_t = Mode::KeepAlive)]
    pub mode: Mode,
    /// Only TLS 1.3.
    #[arg(long, conflicts_with = "tls12")]
    pub tls13: bool,
    /// Only TLS 1.2.
    #[arg(long)]
    pub tls12: bool,
    /// Only this key-exchange group: x25519, secp256r1, secp384r1 or x25519mlkem768. By default
    /// rustls offers X25519MLKEM768 first, which OpenSSL 3.0 (nginx on Debian 12) lacks: pin
    /// x25519 when comparing.
    #[arg(long, value_name = "GROUP")]
    pub tls_group: Option<String>,
    /// Give up on a request (connect, handshake and answer together) after this long.
    #[arg(long, value_name = "TIME", default_value = "30s")]
    pub timeout: String,
    /// Print the summary as JSON (fields: see below).
    #[arg(long)]
    pub json: bool,
    /// Write the latency histograms to FILE: an HdrHistogram interval log, one interval per
    /// second after the warm-up.
    #[arg(long, value_name = "FILE")]
    pub hdr: Option<PathBuf>,
    /// No progress line (it is only drawn when stderr is a terminal anyway).
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Seed for personnummer and correlation ids (default: random), to repeat a run exactly.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// `ntjp load merge`, instead of a run.
    #[command(subcommand)]
    pub command: Option<LoadCommand>,
}

/// What `ntjp load` does besides a run.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum LoadCommand {
    /// Combine the --hdr logs of several load generators into one report.
    ///
    /// Answers and latency percentiles of all the logs together, and the rate over the time
    /// from the first log's start to the last one's end (machines' clocks agreeing, as NTP
    /// keeps them); one line per log first.
    #[command(after_help = MERGE_AFTER_HELP)]
    Merge(MergeArgs),
}

/// `ntjp load merge`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The interval logs written by `ntjp load --hdr FILE`, one per load generator.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print the report as JSON: logs [{file, intervals, answered, duration_s,
    /// requests_per_s}], answered, duration_s, requests_per_s, latency_us {p50, p90, p99,
    /// p99_9, max, mean}.
    #[arg(long)]
    pub json: bool,
}

/// Text after `ntjp load merge --help`'s arguments.
pub const MERGE_AFTER_HELP: &str = "\
Examples:
  ntjp load --url https://router:20000/vp/... -d 60s --hdr a.hlog     on machine A
  ntjp load --url https://router:20000/vp/... -d 60s --hdr b.hlog     on machine B, same time
  ntjp load merge a.hlog b.hlog                                       one report of both
  ntjp load merge *.hlog --json

Exit status 0 with the report; 2 when a file cannot be read or is not an interval log (the
error names the file and the interval).";

/// Text after `ntjp load --help`'s flags.
pub const AFTER_HELP: &str = "\
Examples (with `ntjp serve` running; `cargo run --release --` can stand for `ntjp`):
  ntjp load                                        SIT router, mTLS, 32 keep-alive connections, 10 s
  ntjp load -c 64 -d 30s --warmup 5s --tls13 --tls-group x25519
  ntjp load --rate 5000 -d 20s --hdr latency.hlog  open model: 5000 req/s, latency from due time
  ntjp load --mode full -c 16 -d 10s               a new connection and full TLS handshake each time
  ntjp load --http                                 plain HTTP with x-vp-sender-id/x-vp-instance-id
  ntjp load --body my-request.xml --addresses 01,03,99 -n 3000 --json
  ntjp load --url https://localhost:8443/vp/x --cacert ca.pem --cert c.pem --key c-key.pem

Templates: a body file may contain {{logical_address}} (the --addresses in turn),
{{personnummer}} (a valid, varying 12-digit personnummer) and {{correlation_id}} (unique per
request, also sent as x-skltp-correlation-id). Bodies are rendered in advance, so templating
costs nothing per request. Request i gets file i mod files and address (i / files) mod
addresses: a request count that is a multiple of files x addresses spreads exactly evenly.

Summary: requests/s, latency p50/p90/p99/p99.9/max of answered requests, answers by HTTP status
and by VP code (the VPxxx at the start of a fault's faultstring), transport errors by kind,
connections and TLS handshakes, and this process's CPU per request. --json fields:
  url, mode (keep-alive|resume|full), model (closed|open), connections, rate (null if closed),
  duration_s (warm-up end to last measured answer), requests (= answered + errors), answered,
  errors, requests_per_s, latency_us {p50, p90, p99, p99_9, max, mean} (microseconds),
  status {\"200\": n, ...}, vp {\"VP004\": n, ..., \"other\": HTTP 500 without a VP code},
  transport_errors {connect|tls|timeout|closed|http: {count, first}}, connections_opened,
  tls_full_handshakes, tls_resumed_handshakes, tls {version, group, cipher} (null for http),
  cpu {seconds, us_per_request} (this process, from /proc/self/stat; null elsewhere).

--hdr writes an HdrHistogram interval log (the format of HdrHistogram's HistogramLogWriter:
V2-deflate histograms in base64, one line per second, timestamps in seconds since the end of
the warm-up, values in microseconds). Read it with HdrHistogram's HistogramLogProcessor
(-i FILE -outputValueUnitRatio 1000 prints milliseconds), HistogramLogAnalyzer, the Python
hdrhistogram package (HdrHistogram.decode per line) or Rust's hdrhistogram IntervalLogIterator.
`ntjp load merge A.hlog B.hlog` combines the logs of several generators into one report.

Exit status 0 when the run completed, whatever the answers; 1 when it could not start.";

/// `10s`, `500ms`, `2m`, `1.5s`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, "s"),
    };
    let n: f64 = num.parse().ok()?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

/// `500`, `500/s` or `500/sec`.
pub fn parse_rate(s: &str) -> Option<f64> {
    let s = s.trim();
    let num = s
        .strip_suffix("/sec")
        .or_else(|| s.strip_suffix("/s"))
        .unwrap_or(s)
        .trim();
    num.parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && *r > 0.0)
}

/// `counties`, or a comma-separated list.
pub fn parse_addresses(s: &str) -> Result<Vec<String>, String> {
    if s.trim().eq_ignore_ascii_case("counties") {
        return Ok(counties());
    }
    let list: Vec<String> = s.split(',').map(|a| a.trim().to_owned()).collect();
    if list.iter().any(String::is_empty) {
        return Err(format!("{s:?}: an empty address in the list"));
    }
    Ok(list)
}

fn duration_flag(name: &'static str, value: &str) -> Result<Duration, LoadError> {
    parse_duration(value).ok_or_else(|| {
        flag(
            name,
            format!("{value:?} is not a duration (e.g. 10s, 500ms, 2m)"),
        )
    })
}

fn read_endpoints(state_dir: &Path) -> Result<Endpoints, LoadError> {
    let path = state_dir.join("endpoints.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        flag(
            "--state-dir",
            format!(
                "cannot read {}: {e} (start the testbed with `ntjp serve`, or give --url and --cacert)",
                path.display()
            ),
        )
    })?;
    serde_json::from_str(&text).map_err(|e| flag("--state-dir", format!("{}: {e}", path.display())))
}

/// The base64 DER of the first certificate in a PEM file (for `x-vp-auth-cert`).
fn cert_header(path: &Path) -> Result<String, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| flag("--auth-cert", format!("{}: {e}", path.display())))?;
    let begin = "-----BEGIN CERTIFICATE-----";
    let start = text.find(begin).ok_or_else(|| {
        flag(
            "--auth-cert",
            format!("{} holds no PEM certificate", path.display()),
        )
    })? + begin.len();
    let end = text[start..]
        .find("-----END CERTIFICATE-----")
        .ok_or_else(|| {
            flag(
                "--auth-cert",
                format!("{}: unterminated PEM", path.display()),
            )
        })?;
    Ok(text[start..start + end].split_ascii_whitespace().collect())
}

/// A client certificate and its key (PEM files).
type Identity = (PathBuf, PathBuf);

impl LoadArgs {
    /// Resolves the flags (reading endpoints.json and the body files as needed).
    pub fn into_config(self) -> Result<LoadConfig, LoadError> {
        let endpoints = self.endpoints()?;
        let env = endpoints
            .as_ref()
            .map(|e| {
                e.environments.get(self.env.as_str()).ok_or_else(|| {
                    flag(
                        "--env",
                        format!("{} is not in endpoints.json", self.env.as_str()),
                    )
                })
            })
            .transpose()?;
        let url = self.target_url(env)?;
        let pki = endpoints.as_ref().map(|e| &e.pki);
        let identity = match (&self.cert, &self.key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            _ => pki.map(|p| (p.consumer_cert.clone(), p.consumer_key.clone())),
        };
        let tls = match url.scheme_str() {
            Some("https") => Some(self.tls_settings(identity.clone(), pki)?),
            _ => None,
        };
        let mut headers = if self.http {
            self.platform_headers(identity.as_ref(), pki, env)?
        } else {
            Vec::new()
        };
        headers.extend(self.extra_headers()?);

        let mut config = LoadConfig::new(url);
        if !self.bodies.is_empty() {
            config.bodies = self.read_bodies()?;
        }
        config.tls = tls;
        config.headers = headers;
        self.set_schedule(&mut config)?;
        Ok(config)
    }

    /// endpoints.json, when something must come from it; needed only without --url.
    fn endpoints(&self) -> Result<Option<Endpoints>, LoadError> {
        let needs_endpoints = self.url.is_none()
            || self.cacert.is_none()
            || (self.http && !self.auth_cert)
            || (self.auth_cert && self.cert.is_none());
        if !needs_endpoints {
            return Ok(None);
        }
        match read_endpoints(&self.state_dir) {
            Ok(e) => Ok(Some(e)),
            Err(e) if self.url.is_none() => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// --url, else the environment's router (its HTTPS listener, or HTTP with --http).
    fn target_url(&self, env: Option<&EnvEndpoints>) -> Result<Uri, LoadError> {
        let url = match &self.url {
            Some(u) => u.clone(),
            None => {
                let env = env.ok_or_else(|| flag("--url", "no URL and no endpoints.json"))?;
                let base = if self.http {
                    &env.router_http
                } else {
                    &env.router_https
                };
                format!("{base}{CONTRACT_PATH}")
            }
        };
        url.parse()
            .map_err(|e| flag("--url", format!("{url}: {e}")))
    }

    fn tls_settings(
        &self,
        identity: Option<Identity>,
        pki: Option<&PkiPaths>,
    ) -> Result<TlsSettings, LoadError> {
        let ca = self
            .cacert
            .clone()
            .or_else(|| pki.map(|p| p.ca.clone()))
            .ok_or_else(|| flag("--cacert", "an https URL needs the CA certificate"))?;
        let version = if self.tls13 {
            Some(TlsVersion::Tls13)
        } else if self.tls12 {
            Some(TlsVersion::Tls12)
        } else {
            None
        };
        Ok(TlsSettings {
            ca,
            identity,
            version,
            group: self.tls_group.clone(),
        })
    }

    /// What a plain-HTTP caller sends in place of a client certificate: the certificate in
    /// a header (--auth-cert), or the sender and instance ids.
    fn platform_headers(
        &self,
        identity: Option<&Identity>,
        pki: Option<&PkiPaths>,
        env: Option<&EnvEndpoints>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, LoadError> {
        if self.auth_cert {
            let (cert, _) = identity
                .ok_or_else(|| flag("--auth-cert", "no certificate: give --cert and --key"))?;
            let value = cert_header(cert)?;
            return Ok(vec![(
                HeaderName::from_static(AUTH_CERT),
                HeaderValue::from_str(&value).map_err(|e| flag("--auth-cert", e.to_string()))?,
            )]);
        }
        let sender = self
            .sender_id
            .clone()
            .or_else(|| pki.map(|p| p.consumer_hsa_id.clone()))
            .ok_or_else(|| flag("--sender-id", "needed with --http and no endpoints.json"))?;
        let instance = env
            .map(|e| e.instance_id.clone())
            .ok_or_else(|| flag("--http", "the instance id comes from endpoints.json"))?;
        Ok(vec![
            (
                HeaderName::from_static(SENDER_ID),
                HeaderValue::from_str(&sender).map_err(|e| flag("--sender-id", e.to_string()))?,
            ),
            (
                HeaderName::from_static(INSTANCE_ID),
                HeaderValue::from_str(&instance).map_err(|e| flag("--http", e.to_string()))?,
            ),
        ])
    }

    /// The --header flags.
    fn extra_headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, LoadError> {
        self.headers
            .iter()
            .map(|h| {
                let (name, value) = h
                    .split_once(':')
                    .ok_or_else(|| flag("--header", format!("{h:?} is not `name: value`")))?;
                let name = HeaderName::try_from(name.trim())
                    .map_err(|e| flag("--header", format!("{h:?}: {e}")))?;
                let value = HeaderValue::try_from(value.trim())
                    .map_err(|e| flag("--header", format!("{h:?}: {e}")))?;
                Ok((name, value))
            })
            .collect()
    }

    /// The --body files.
    fn read_bodies(&self) -> Result<Vec<BodyFile>, LoadError> {
        self.bodies
            .iter()
            .map(|p| {
                std::fs::read_to_string(p)
                    .map(|text| BodyFile {
                        name: p.display().to_string(),
                        text,
                    })
                    .map_err(|e| LoadError::Body {
                        name: p.display().to_string(),
                        message: e.to_string(),
                    })
            })
            .collect()
    }

    /// How much load, for how long, and how it is reported.
    fn set_schedule(&self, config: &mut LoadConfig) -> Result<(), LoadError> {
        config.addresses = parse_addresses(&self.addresses).map_err(|m| flag("--addresses", m))?;
        config.connections = self.connections;
        config.rate = self
            .rate
            .as_deref()
            .map(|r| {
                parse_rate(r).ok_or_else(|| {
                    flag(
                        "--rate",
                        format!("{r:?} is not a positive rate (e.g. 500 or 500/s)"),
                    )
                })
            })
            .transpose()?;
        config.duration = match (&self.duration, self.requests) {
            (Some(d), _) => Some(duration_flag("--duration", d)?),
            (None, Some(_)) => None,
            (None, None) => Some(Duration::from_secs(10)),
        };
        config.requests = self.requests;
        config.warmup = duration_flag("--warmup", &self.warmup)?;
        config.timeout = duration_flag("--timeout", &self.timeout)?;
        config.mode = self.mode;
        config.progress = !self.quiet;
        config.hdr = self.hdr.clone();
        config.seed = self.seed;
        Ok(())
    }
}

/// `ntjp load`: runs and prints the summary (text, or JSON with `--json`) on stdout.
pub async fn main(args: LoadArgs) -> Result<(), LoadError> {
    if let Some(LoadCommand::Merge(merge)) = args.command {
        return merge_main(merge).await;
    }
    let json = args.json;
    let report = super::run(args.into_config()?).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report.summary).unwrap_or_default()
        );
    } else {
        print!("{}", report.summary.to_text());
    }
    Ok(())
}

/// `ntjp load merge`: the files are read on the blocking pool.
async fn merge_main(args: MergeArgs) -> Result<(), LoadError> {
    let files = args.files;
    let merged = tokio::task::spawn_blocking(move || super::merge::merge(&files))
        .await
        .map_err(|e| LoadError::Flag {
            flag: "merge",
            message: e.to_string(),
        })??;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&merged).unwrap_or_default()
        );
    } else {
        print!("{}", merged.to_text());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_rates_and_addresses() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("10 parsecs"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_rate("500/s"), Some(500.0));
        assert_eq!(parse_rate("2.5"), Some(2.5));
        assert_eq!(parse_rate("0"), None);
        assert_eq!(parse_rate("fast"), None);
        assert_eq!(parse_addresses("counties").unwrap().len(), 21);
        assert_eq!(parse_addresses("01, 99").unwrap(), vec!["01", "99"]);
        assert!(parse_addresses("01,,03").is_err());
    }

    #[test]
    fn missing_endpoints_names_the_flag_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let args = LoadArgs {
            state_dir: dir.path().join("nowhere"),
            ..test_args()
        };
        let e = args.into_config().unwrap_err().to_string();
        assert!(
            e.starts_with("--state-dir") && e.contains("endpoints.json"),
            "{e}"
        );

        let args = LoadArgs {
            url: Some("https://localhost:1/x".into()),
            state_dir: dir.path().join("nowhere"),
            ..test_args()
        };
        let e = args.into_config().unwrap_err().to_string();
        assert!(e.starts_with("--cacert"), "{e}");

        let args = LoadArgs {
            url: Some("http://127.0.0.1:1/x".into()),
            rate: Some("many".into()),
            ..test_args()
        };
        let e = args.into_config().unwrap_err().to_string();
        assert!(e.starts_with("--rate"), "{e}");

        let args = LoadArgs {
            url: Some("http://127.0.0.1:1/x".into()),
            bodies: vec![dir.path().join("missing.xml")],
            ..test_args()
        };
        let e = args.into_config().unwrap_err().to_string();
        assert!(e.starts_with("--body") && e.contains("missing.xml"), "{e}");
    }

    fn test_args() -> LoadArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            args: LoadArgs,
        }
        Wrap::parse_from(["load"]).args
    }
}
