//! `ntjp verify consumer`: reads what the mock producers received from one consumer in one
//! environment (admin API `GET /api/mocks/messages`), checks it with [`crate::verify`], prints
//! the report, writes JUnit XML on request and exits 1 when a case failed. It sends nothing.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};

use super::{
    Target, client, env_arg,
    exit::{Status, WithStatus, fail},
};
use crate::{
    config::Config,
    verify::{self, Recording},
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
fn print_report(report: &verify::Report, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

/// Runs `ntjp verify ...`.
pub async fn run(cmd: VerifyCommand) -> Result<()> {
    match cmd {
        VerifyCommand::Consumer(args) => consumer(args).await,
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
    print_report(&report, args.target.json)?;
    if let Some(path) = &args.junit {
        let junit = report.to_junit()?;
        write_junit(path, &junit).status(Status::Usage)?;
        if !args.target.json {
            println!("JUnit XML written to {}", path.display());
        }
    }
    if !report.passed() {
        return Err(fail(
            Status::CheckFailed,
            anyhow!(
                "{} of {} verification cases failed for {} in {}",
                report.failures(),
                report.cases.len(),
                args.hsa_id,
                args.env
            ),
        ));
    }
    Ok(())
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
