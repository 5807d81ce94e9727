//! The order workflow on the command line: `ntjp order ...`, `ntjp tak ...`, `ntjp clock ...`,
//! `ntjp system ...`, `ntjp prestudy ...`. Each talks JSON to a running testbed's admin API
//! (found through `<state-dir>/endpoints.json`, or `--admin URL`); `ntjp order apply
//! --offline` validates an order without one.

pub mod client;
pub mod exit;
pub mod mocks;
pub mod verify;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use self::exit::{Status, WithStatus, fail};
use crate::{
    orders::{
        self,
        builtin::{EMBEDDED_ORDERS, MOCKS_TOKEN},
    },
    tak::Store,
    vocab::EnvName,
};

/// Where the admin API is.
#[derive(Debug, Args, Clone)]
pub struct Target {
    /// Admin base URL of a running testbed. Default: from <state-dir>/endpoints.json, else
    /// http://127.0.0.1:24000.
    #[arg(long, env = "NTJP_ADMIN", value_name = "URL", global = true)]
    pub admin: Option<String>,
    /// State directory of the running testbed (for endpoints.json).
    #[arg(
        long,
        env = "NTJP_STATE_DIR",
        value_name = "DIR",
        default_value = ".ntjp",
        global = true
    )]
    pub state_dir: PathBuf,
    /// Print the admin API's JSON answer (also when it refuses) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

impl Target {
    fn base(&self) -> String {
        if let Some(a) = &self.admin {
            return a.trim_end_matches('/').to_string();
        }
        let file = self.state_dir.join("endpoints.json");
        std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v["admin"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "http://127.0.0.1:24000".into())
    }
}

pub(crate) fn env_arg(s: &str) -> Result<EnvName, String> {
    s.parse()
}

/// `ntjp order ...`
#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Submit a Beställningsstödet JSON order (the real format) to a TAK.
    ///
    /// Prints TAK's report; a refused order prints TAK's messages and exits 1. With --offline
    /// the order is checked against a local copy of the built-in start-up TAK instead.
    #[command(
        after_help = "Examples:\n  ntjp order apply my-order.json --env sit\n  ntjp order apply my-order.json --env qa --offline   (validate only, against the built-in orders)"
    )]
    Apply {
        /// The order file.
        file: PathBuf,
        /// Environment: sit, qa or prod.
        #[arg(long, value_parser = env_arg)]
        env: EnvName,
        /// Leave the changes unpublished (the router does not see them until `ntjp tak publish`).
        #[arg(long)]
        no_publish: bool,
        /// Validate and execute against a local copy of the built-in start-up TAK, without a
        /// running testbed. Nothing is stored.
        #[arg(long)]
        offline: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Beställningsstödet's consumer form: authorise a consumer for the contract.
    ///
    /// Authorises the consumer for SE, plus LOAD-MOCKS in SIT, unless --address is given.
    /// The system must be registered (`ntjp system register`) and the pre-study approved for
    /// the environment (`ntjp prestudy register`); a form TAK refuses exits 1.
    #[command(
        after_help = "Example:\n  ntjp order consumer --env sit --consumer SE2321000016-ABCD --prestudy FS-2026-001 --date 2026-12-01"
    )]
    Consumer {
        /// Environment: sit, qa or prod.
        #[arg(long, value_parser = env_arg)]
        env: EnvName,
        /// The consumer system's HSA-id (as in its function certificate; registered with `ntjp system register`).
        #[arg(long, value_name = "HSA-ID")]
        consumer: String,
        /// Approved pre-study case number (`ntjp prestudy register`).
        #[arg(long, value_name = "CASE")]
        prestudy: String,
        /// Execution day (genomförandetidpunkt), YYYY-MM-DD. Default: the environment's today.
        #[arg(long, value_name = "DATE")]
        date: Option<chrono::NaiveDate>,
        /// Logical addresses to authorise (repeatable). Default: SE (and LOAD-MOCKS in SIT).
        #[arg(long = "address", value_name = "ADDRESS")]
        addresses: Vec<String>,
        /// The region's name when an agent orders on its behalf.
        #[arg(long)]
        region: Option<String>,
        /// Who orders (utförare).
        #[arg(long, default_value = "ntjp cli")]
        by: String,
        /// Service contract namespace. Default: ProcessCervixScreeningInformation.
        #[arg(long)]
        contract: Option<String>,
        /// Leave unpublished.
        #[arg(long)]
        no_publish: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Beställningsstödet's producer form: route a county code to a producer URL.
    ///
    /// The route uses RIVTABP21. After the order takes effect the testbed runs the
    /// connection test against the URL; `ntjp order show` shows its result.
    #[command(
        after_help = "Example:\n  ntjp order producer --env sit --producer SE2321000016-PROD --county 14 \\\n    --url https://producer.example:8443/ProcessCervixScreeningInformation/1/rivtabp21 --prestudy FS-2026-002"
    )]
    Producer {
        /// Environment: sit, qa or prod.
        #[arg(long, value_parser = env_arg)]
        env: EnvName,
        /// The producing system's HSA-id.
        #[arg(long, value_name = "HSA-ID")]
        producer: String,
        /// The region's two-digit county code (the logical address).
        #[arg(long, value_name = "CODE")]
        county: String,
        /// The URL the platform shall call.
        #[arg(long)]
        url: String,
        /// Approved pre-study case number.
        #[arg(long, value_name = "CASE")]
        prestudy: String,
        /// Execution day, YYYY-MM-DD. Default: the environment's today.
        #[arg(long, value_name = "DATE")]
        date: Option<chrono::NaiveDate>,
        /// The region's name when an agent orders on its behalf.
        #[arg(long)]
        region: Option<String>,
        /// Who orders (utförare).
        #[arg(long, default_value = "ntjp cli")]
        by: String,
        /// Service contract namespace. Default: ProcessCervixScreeningInformation.
        #[arg(long)]
        contract: Option<String>,
        /// Leave unpublished.
        #[arg(long)]
        no_publish: bool,
        #[command(flatten)]
        target: Target,
    },
    /// List accepted orders and their status.
    #[command(after_help = "Example:\n  ntjp order list --env sit --json")]
    List {
        /// Environment: sit, qa or prod.
        #[arg(long, value_parser = env_arg)]
        env: EnvName,
        #[command(flatten)]
        target: Target,
    },
    /// Show one order: its report, JSON and connection tests.
    #[command(
        after_help = "Example:\n  ntjp order show --env sit 3\n\nExit status 4 when the environment has no such order."
    )]
    Show {
        /// Environment: sit, qa or prod.
        #[arg(long, value_parser = env_arg)]
        env: EnvName,
        /// Order number (from `ntjp order list`).
        id: u64,
        #[command(flatten)]
        target: Target,
    },
}

/// `ntjp tak ...`
#[derive(Debug, Subcommand)]
pub enum TakCommand {
    /// Show the published TAK: routes and authorisations with validity.
    #[command(
        disable_version_flag = true,
        after_help = "Examples:\n  ntjp tak show --env sit\n  ntjp tak show --env qa --version 3 --json"
    )]
    Show {
        /// Environment: sit, qa or prod.
        #[arg(long, value_parser = env_arg)]
        env: EnvName,
        /// A published version number (default: the latest). `--snapshot N`, its old name,
        /// is still accepted.
        #[arg(long = "version", alias = "snapshot", value_name = "N")]
        version: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
    /// Publish pending changes as a new version, which the router switches to at once.
    #[command(
        after_help = "Example:\n  ntjp tak publish --env sit --comment \"byte av producent\""
    )]
    Publish {
        /// Environment: sit, qa or prod.
        #[arg(long, value_parser = env_arg)]
        env: EnvName,
        /// Comment (kommentar) of the version.
        #[arg(long, default_value = "")]
        comment: String,
        #[command(flatten)]
        target: Target,
    },
    /// Roll back the latest published version.
    #[command(
        disable_version_flag = true,
        after_help = "Example:\n  ntjp tak rollback --env sit --version 4"
    )]
    Rollback {
        /// Environment: sit, qa or prod.
        #[arg(long, value_parser = env_arg)]
        env: EnvName,
        /// The version number to roll back (must be the latest).
        #[arg(
            long = "version",
            value_name = "N",
            required_unless_present = "positional_version"
        )]
        version: Option<u64>,
        /// The version as a bare number, as before `--version` (still accepted).
        #[arg(value_name = "N", hide = true, conflicts_with = "version")]
        positional_version: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
    /// List published versions.
    #[command(after_help = "Example:\n  ntjp tak versions --env sit --json")]
    Versions {
        /// Environment: sit, qa or prod.
        #[arg(long, value_parser = env_arg)]
        env: EnvName,
        #[command(flatten)]
        target: Target,
    },
}

/// `ntjp clock ...`
#[derive(Debug, Args)]
pub struct ClockArgs {
    /// Environment: sit, qa or prod.
    #[arg(long, value_parser = env_arg)]
    pub env: EnvName,
    /// Make this day today (YYYY-MM-DD).
    #[arg(long, conflicts_with_all = ["advance", "reset"])]
    pub today: Option<chrono::NaiveDate>,
    /// Move the clock N days (negative: back).
    #[arg(long, allow_negative_numbers = true, conflicts_with = "reset")]
    pub advance: Option<i64>,
    /// Back to real time.
    #[arg(long)]
    pub reset: bool,
    #[command(flatten)]
    pub target: Target,
}

/// `ntjp system register ...`
#[derive(Debug, Args)]
pub struct SystemArgs {
    /// Environment: sit, qa or prod.
    #[arg(long, value_parser = env_arg)]
    pub env: EnvName,
    /// HSA-id, as in the system's function certificate.
    #[arg(long, value_name = "HSA-ID")]
    pub hsa_id: String,
    /// Organisation.
    #[arg(long)]
    pub organisation: String,
    /// System name.
    #[arg(long)]
    pub name: String,
    /// Main contact as "Name <email>".
    #[arg(long, default_value = "Förvaltning <forvaltning@example.se>")]
    pub contact: String,
    /// Technical contact as "Name <email>".
    #[arg(long, default_value = "Teknisk kontakt <teknik@example.se>")]
    pub technical_contact: String,
    #[command(flatten)]
    pub target: Target,
}

/// `ntjp prestudy register ...`
#[derive(Debug, Args)]
pub struct PreStudyArgs {
    /// Case number (ärendenummer) of the pre-study.
    #[arg(long = "case", value_name = "CASE")]
    pub case_number: String,
    /// Organisation.
    #[arg(long)]
    pub organisation: String,
    /// Environments it is approved for (repeatable).
    #[arg(long = "env", value_parser = env_arg, required = true)]
    pub envs: Vec<EnvName>,
    #[command(flatten)]
    pub target: Target,
}

fn contact(s: &str) -> Value {
    match s.split_once('<') {
        Some((name, rest)) => {
            json!({"name": name.trim(), "email": rest.trim_end_matches('>').trim()})
        }
        None => json!({"name": s.trim(), "email": ""}),
    }
}

/// Prints an API answer: with `json` the answer's JSON (also a refusal's), else the text
/// `ok_text` makes of a success. A refusal is returned as an error with TAK's messages:
/// exit status 1 when TAK checked and refused (the answer carries its `messages` or `text`),
/// 4 for any other refusal.
fn report(
    answer: client::Answer,
    json: bool,
    ok_text: impl FnOnce(&Value) -> String,
) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&answer.json).unwrap_or_default()
        );
    }
    if answer.status.is_success() {
        if !json {
            println!("{}", ok_text(&answer.json));
        }
        return Ok(());
    }
    let mut msg = answer.json["error"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("the testbed answered {}", answer.status));
    if let Some(list) = answer.json["messages"].as_array() {
        for m in list {
            msg.push_str("\n  ");
            msg.push_str(m.as_str().unwrap_or_default());
        }
    }
    let checked = answer.json.get("messages").is_some() || answer.json.get("text").is_some();
    let status = if checked {
        Status::CheckFailed
    } else {
        Status::Refused
    };
    Err(fail(status, anyhow!("{msg}")))
}

/// `ntjp order show` lists connection tests one per route up to this many.
const SHOWN_TESTS: usize = 50;

fn order_summary(v: &Value) -> String {
    let mut s = String::new();
    if let Some(j) = v["json"].as_str()
        && !matches!(v["source"]["type"].as_str(), Some("api"))
    {
        s.push_str("The order sent to TAK (Beställningsstödet's JSON):\n");
        s.push_str(j);
        s.push_str("\n\n");
    }
    s.push_str(&format!(
        "Order {} accepted by {}. {}\n\n",
        v["id"],
        v["env"].as_str().unwrap_or_default(),
        match v["published_version"].as_u64() {
            Some(n) => format!("Published in version {n}."),
            None => "Not published yet: run `ntjp tak publish`.".into(),
        }
    ));
    s.push_str(v["report_text"].as_str().unwrap_or_default());
    s
}

/// Validates and executes `file` against a local copy of the built-in start-up TAK. With
/// `json`, prints `{"valid", "environment", "platform", "report"}` or, refused, `{"valid":
/// false, "messages", "text"}`.
pub fn apply_offline(file: &Path, env: EnvName, platform: &str, json: bool) -> Result<()> {
    let text = read_order(file)?;
    let mut store = Store::new(platform);
    for (e, name, order) in EMBEDDED_ORDERS {
        if *e != env.as_str() {
            continue;
        }
        let order =
            orders::parse(&with_mocks(order)).with_context(|| format!("built-in order {name}"))?;
        orders::apply(&mut store, &order).map_err(|r| anyhow!("built-in order {name}: {r}"))?;
    }
    let order = match orders::parse(&with_mocks(&text)) {
        Ok(order) => order,
        Err(e) => {
            let text = format!("JsonBestallning ERROR:::\n{e}");
            if json {
                let answer = json!({"valid": false, "messages": [e.to_string()], "text": text});
                println!("{}", serde_json::to_string_pretty(&answer)?);
            }
            return Err(fail(
                Status::CheckFailed,
                anyhow!("{}: {text}", file.display()),
            ));
        }
    };
    match orders::apply(&mut store, &order) {
        Ok(r) if json => {
            let answer =
                json!({"valid": true, "environment": env, "platform": platform, "report": r});
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
        Ok(r) => {
            println!(
                "{} is valid for {env} ({platform}); TAK would report:\n\n{}",
                file.display(),
                r.to_text()
            );
            Ok(())
        }
        Err(r) => {
            if json {
                let answer =
                    json!({"valid": false, "messages": r.messages, "text": r.to_rest_text()});
                println!("{}", serde_json::to_string_pretty(&answer)?);
            }
            Err(fail(
                Status::CheckFailed,
                anyhow!(
                    "{} would be refused by {platform}:\n{}",
                    file.display(),
                    r.to_rest_text()
                ),
            ))
        }
    }
}

/// An order with the mocks' token replaced by their default base URL.
fn with_mocks(order: &str) -> String {
    order.replace(MOCKS_TOKEN, "https://127.0.0.1:25000/mocks")
}

fn read_order(file: &Path) -> Result<String> {
    std::fs::read_to_string(file)
        .with_context(|| format!("cannot read {}", file.display()))
        .status(Status::Usage)
}

/// `?publish=false` when the changes are to stay unpublished.
fn publish_query(no_publish: bool) -> &'static str {
    if no_publish { "?publish=false" } else { "" }
}

/// Runs `ntjp order ...`.
pub async fn order(cmd: OrderCommand, platform_of: impl Fn(EnvName) -> String) -> Result<()> {
    match cmd {
        OrderCommand::Apply {
            file,
            env,
            no_publish,
            offline,
            target,
        } => {
            if offline {
                return apply_offline(&file, env, &platform_of(env), target.json);
            }
            let text = read_order(&file)?;
            let url = format!(
                "{}/api/{env}/orders{}",
                target.base(),
                publish_query(no_publish)
            );
            let answer = client::post(&url, text.into_bytes()).await?;
            report(answer, target.json, order_summary)
        }
        OrderCommand::Consumer {
            env,
            consumer,
            prestudy,
            date,
            addresses,
            region,
            by,
            contract,
            no_publish,
            target,
        } => {
            let date = form_date(date, &target, env).await?;
            let form = json!({
                "environment": env, "execution_date": date, "consumer_hsa_id": consumer,
                "contract": contract.unwrap_or_else(|| crate::contract::RESPONDER_NS.into()),
                "logical_addresses": addresses, "prestudy_case": prestudy, "region_name": region, "ordered_by": by,
            });
            submit_form(&target, env, "consumer", &form, no_publish).await
        }
        OrderCommand::Producer {
            env,
            producer,
            county,
            url,
            prestudy,
            date,
            region,
            by,
            contract,
            no_publish,
            target,
        } => {
            let date = form_date(date, &target, env).await?;
            let form = json!({
                "environment": env, "execution_date": date, "producer_hsa_id": producer,
                "contract": contract.unwrap_or_else(|| crate::contract::RESPONDER_NS.into()),
                "county_code": county, "rivta_profile": "RIVTABP21", "url": url,
                "prestudy_case": prestudy, "region_name": region, "ordered_by": by,
            });
            submit_form(&target, env, "producer", &form, no_publish).await
        }
        OrderCommand::List { env, target } => {
            let answer = client::get(&format!("{}/api/{env}/orders", target.base())).await?;
            report(answer, target.json, orders_table)
        }
        OrderCommand::Show { env, id, target } => {
            let answer = client::get(&format!("{}/api/{env}/orders/{id}", target.base())).await?;
            report(answer, target.json, order_details)
        }
    }
}

/// The form's execution day: the one given, else the environment's today.
async fn form_date(
    date: Option<chrono::NaiveDate>,
    target: &Target,
    env: EnvName,
) -> Result<chrono::NaiveDate> {
    match date {
        Some(d) => Ok(d),
        None => today_of(target, env).await,
    }
}

/// Posts a consumer or producer form (`kind`) and prints the order it became.
async fn submit_form(
    target: &Target,
    env: EnvName,
    kind: &str,
    form: &Value,
    no_publish: bool,
) -> Result<()> {
    let url = format!(
        "{}/api/{env}/orders/{kind}{}",
        target.base(),
        publish_query(no_publish)
    );
    let answer = client::post(&url, serde_json::to_vec(form)?).await?;
    report(answer, target.json, order_summary)
}

/// `ntjp order list`: one line per order.
fn orders_table(v: &Value) -> String {
    let mut s = format!(
        "{:>4}  {:<14} {:<11} {:<10} {}\n",
        "id", "source", "execution", "published", "connection tests"
    );
    for o in v.as_array().into_iter().flatten() {
        // Routes per test status (the list gives counts; `order show` the tests).
        let tests: Vec<String> = ["ok", "failed", "pending"]
            .iter()
            .filter_map(|status| {
                let n = o["connection_tests"][*status].as_u64().unwrap_or(0);
                (n > 0).then(|| format!("{n} {status}"))
            })
            .collect();
        s.push_str(&format!(
            "{:>4}  {:<14} {:<11} {:<10} {}\n",
            o["id"],
            o["source"]["type"].as_str().unwrap_or(""),
            o["execution_day"].as_str().unwrap_or("-"),
            o["published_version"]
                .as_u64()
                .map(|n| format!("v{n}"))
                .unwrap_or_else(|| "pending".into()),
            tests.join(", ")
        ));
    }
    s
}

/// `ntjp order show`: the summary and the connection tests (grouped for a large order).
fn order_details(v: &Value) -> String {
    let mut s = order_summary(v);
    let tests = v["connection_tests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if tests.len() <= SHOWN_TESTS {
        for t in &tests {
            s.push_str(&format!(
                "\nConnection test {} ({}): {} — {}",
                t["url"].as_str().unwrap_or(""),
                t["logical_address"].as_str().unwrap_or(""),
                t["status"].as_str().unwrap_or(""),
                t["detail"].as_str().unwrap_or("")
            ));
        }
        return s;
    }
    // A large order: one line per producer URL and outcome.
    let mut groups: Vec<(&str, &str, &str, usize)> = Vec::new();
    for t in &tests {
        let key = (
            t["url"].as_str().unwrap_or(""),
            t["status"].as_str().unwrap_or(""),
            t["detail"].as_str().unwrap_or(""),
        );
        match groups.iter_mut().find(|g| (g.0, g.1, g.2) == key) {
            Some(g) => g.3 += 1,
            None => groups.push((key.0, key.1, key.2, 1)),
        }
    }
    for (url, status, detail, n) in groups {
        s.push_str(&format!(
            "\nConnection test {url} ({n} routes): {status} — {detail}"
        ));
    }
    s
}

async fn today_of(target: &Target, env: EnvName) -> Result<chrono::NaiveDate> {
    let answer = client::get(&format!("{}/api/{env}/clock", target.base())).await?;
    answer.json["today"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .context("the testbed did not say what day it is; give --date")
}

/// Runs `ntjp tak ...`.
pub async fn tak(cmd: TakCommand) -> Result<()> {
    match cmd {
        TakCommand::Show {
            env,
            version,
            target,
        } => {
            let url = match version {
                Some(v) => format!("{}/api/{env}/tak?version={v}", target.base()),
                None => format!("{}/api/{env}/tak", target.base()),
            };
            report(client::get(&url).await?, target.json, render_tables)
        }
        TakCommand::Publish {
            env,
            comment,
            target,
        } => {
            let answer = client::post(
                &format!("{}/api/{env}/publish", target.base()),
                serde_json::to_vec(&json!({"comment": comment}))?,
            )
            .await?;
            report(answer, target.json, |v| {
                format!("Published version {} in {env}.", v["version"])
            })
        }
        TakCommand::Rollback {
            env,
            version,
            positional_version,
            target,
        } => {
            let version = version
                .or(positional_version)
                .context("give the version to roll back: --version N")
                .status(Status::Usage)?;
            let answer = client::post(
                &format!("{}/api/{env}/rollback", target.base()),
                serde_json::to_vec(&json!({"version": version}))?,
            )
            .await?;
            report(answer, target.json, |v| {
                format!(
                    "Rolled back version {version} in {env}; the router now uses {}.",
                    match v["published"]["version"].as_u64() {
                        Some(n) => format!("version {n}"),
                        None => "no TAK (every call gets VP008)".into(),
                    }
                )
            })
        }
        TakCommand::Versions { env, target } => {
            let answer = client::get(&format!("{}/api/{env}/versions", target.base())).await?;
            report(answer, target.json, |v| {
                let mut s = String::new();
                for x in v.as_array().into_iter().flatten() {
                    s.push_str(&format!(
                        "v{:<4} {}  {}  {}\n",
                        x["version"],
                        x["published_at"].as_str().unwrap_or(""),
                        x["executor"].as_str().unwrap_or(""),
                        x["comment"].as_str().unwrap_or("")
                    ));
                }
                s
            })
        }
    }
}

fn render_tables(v: &Value) -> String {
    let mut s = format!(
        "TAK version {} (today {}):\n\nVägval (logical address, contract, producer, profile, URL, validity):\n",
        v["version"]["version"],
        v["today"].as_str().unwrap_or("")
    );
    for r in v["routes"].as_array().into_iter().flatten() {
        s.push_str(&format!("  {}\n", compact(r)));
    }
    s.push_str("\nAnropsbehörigheter (logical address, consumer, contract, validity):\n");
    for a in v["authorisations"].as_array().into_iter().flatten() {
        s.push_str(&format!("  {}\n", compact(a)));
    }
    s
}

fn compact(v: &Value) -> String {
    match v.as_object() {
        Some(o) => o
            .values()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("  "),
        None => v.to_string(),
    }
}

/// Runs `ntjp clock`.
pub async fn clock(args: ClockArgs) -> Result<()> {
    let url = format!("{}/api/{}/clock", args.target.base(), args.env);
    let answer = if let Some(day) = args.today {
        client::post(&url, serde_json::to_vec(&json!({"today": day}))?).await?
    } else if let Some(n) = args.advance {
        client::post(&url, serde_json::to_vec(&json!({"advance_days": n}))?).await?
    } else if args.reset {
        client::post(&url, serde_json::to_vec(&json!({"reset": true}))?).await?
    } else {
        client::get(&url).await?
    };
    report(answer, args.target.json, |v| {
        format!(
            "{}: today is {} ({} days from real time {}, in {}; now {}).",
            args.env,
            v["today"].as_str().unwrap_or(""),
            v["offset_days"],
            v["real_today"].as_str().unwrap_or(""),
            v["time_zone"].as_str().unwrap_or(""),
            v["real_now"].as_str().unwrap_or("")
        )
    })
}

/// Runs `ntjp system register`.
pub async fn system(args: SystemArgs) -> Result<()> {
    let body = json!({
        "organisation": args.organisation, "system_name": args.name, "hsa_id": args.hsa_id,
        "main_contact": contact(&args.contact), "technical_contact": contact(&args.technical_contact),
        "environment": args.env,
    });
    let answer = client::post(
        &format!("{}/api/systems", args.target.base()),
        serde_json::to_vec(&body)?,
    )
    .await?;
    report(answer, args.target.json, |_| {
        format!("Registered system {} for {}.", args.hsa_id, args.env)
    })
}

/// Runs `ntjp prestudy register`.
pub async fn prestudy(args: PreStudyArgs) -> Result<()> {
    let body = json!({"case_number": args.case_number, "organisation": args.organisation, "approved_for": args.envs});
    let answer = client::post(
        &format!("{}/api/prestudies", args.target.base()),
        serde_json::to_vec(&body)?,
    )
    .await?;
    report(answer, args.target.json, |_| {
        format!(
            "Registered pre-study {} (approved for {:?}).",
            args.case_number, args.envs
        )
    })
}
