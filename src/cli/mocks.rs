//! `ntjp mocks ...`: the mock producers' behaviour and recordings from the command line
//! (the admin API's `/api/mocks`).

use anyhow::Result;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{Target, client, report};

/// `ntjp mocks ...`
#[derive(Debug, Subcommand)]
pub enum MocksCommand {
    /// Every mock producer: address, region, behaviour, messages received.
    #[command(after_help = "Example:\n  ntjp mocks list --json")]
    List {
        #[command(flatten)]
        target: Target,
    },
    /// The data-driven triggers: personnummer that make every mock misbehave.
    #[command(after_help = "Example:\n  ntjp mocks triggers")]
    Triggers {
        #[command(flatten)]
        target: Target,
    },
    /// Make one mock misbehave until `ntjp mocks reset`.
    #[command(
        after_help = "Answers:\n  ok         as the contract says (OK, or ERROR with the validation report)\n  info       resultCode INFO with --text (valid messages)\n  error      resultCode ERROR with --text (valid messages)\n  fault      a SOAP Fault with --text as faultstring; the platform passes it through\n  http500    HTTP 500 without a SOAP body (the platform answers VP009)\n  no-answer  no answer until the platform's producer timeout (VP009)\n  reset      the connection is reset (VP009)\n  accept-all OK to every readable message, invalid ones too (validates nothing)\n  no-ping    as the contract says, but PingForConfiguration is never answered\n\nExamples:\n  ntjp mocks set 14 --answer error --text \"Mottagande system är stängt.\"\n  ntjp mocks set LOAD-MOCKS --answer ok --delay-ms 3000"
    )]
    Set {
        /// The mock's logical address: a county code, LOAD-MOCKS or NTJP-MOCKS.
        address: String,
        /// What to answer.
        #[arg(long, value_parser = ["ok", "info", "error", "fault", "http500", "no-answer", "reset", "accept-all", "no-ping"])]
        answer: String,
        /// resultText (info, error) or faultstring (fault).
        #[arg(long)]
        text: Option<String>,
        /// Wait this long before answering, in milliseconds.
        #[arg(long, default_value_t = 0, value_name = "MS")]
        delay_ms: u64,
        #[command(flatten)]
        target: Target,
    },
    /// Back to answering as the contract says.
    #[command(after_help = "Example:\n  ntjp mocks reset 14")]
    Reset {
        /// The mock's logical address.
        address: String,
        #[command(flatten)]
        target: Target,
    },
    /// What the mocks received, oldest first, with verdicts and answers.
    #[command(
        after_help = "Examples:\n  ntjp mocks messages 14 --personnummer 197609202387\n  ntjp mocks messages --consumer SE2321000016-ABCD --env sit --json"
    )]
    Messages {
        /// One mock's logical address (default: every mock).
        address: Option<String>,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        target: Target,
    },
    /// Forget what one mock (or every mock) received.
    #[command(after_help = "Examples:\n  ntjp mocks clear 14\n  ntjp mocks clear")]
    Clear {
        /// One mock's logical address (default: every mock).
        address: Option<String>,
        #[command(flatten)]
        target: Target,
    },
}

/// Filters of `ntjp mocks messages`.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// The woman's personnummer (subjectOfCare/personId/extension).
    #[arg(long)]
    personnummer: Option<String>,
    /// x-skltp-correlation-id.
    #[arg(long)]
    correlation_id: Option<String>,
    /// Received at or after this time (RFC 3339, e.g. 2026-12-02T10:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// The consumer's HSA-id.
    #[arg(long)]
    consumer: Option<String>,
    /// The environment whose router forwarded it: sit, qa or prod.
    #[arg(long)]
    env: Option<String>,
    /// valid, invalid, technical or ping.
    #[arg(long)]
    verdict: Option<String>,
}

impl FilterArgs {
    fn query(&self) -> String {
        let pairs = [
            ("personnummer", &self.personnummer),
            ("correlation_id", &self.correlation_id),
            ("since", &self.since),
            ("consumer", &self.consumer),
            ("environment", &self.env),
            ("verdict", &self.verdict),
        ];
        let q: Vec<String> = pairs
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", client::encode(v))))
            .collect();
        if q.is_empty() {
            String::new()
        } else {
            format!("?{}", q.join("&"))
        }
    }
}

fn behaviour_line(b: &Value) -> String {
    let mut s = b["answer"].as_str().unwrap_or("ok").to_string();
    if let Some(t) = b["text"].as_str() {
        s.push_str(&format!(" {t:?}"));
    }
    if let Some(d) = b["delay_ms"].as_u64().filter(|d| *d > 0) {
        s.push_str(&format!(" after {d} ms"));
    }
    s
}

fn messages_table(v: &Value) -> String {
    let empty = Vec::new();
    let list = v["messages"].as_array().unwrap_or(&empty);
    let mut s = format!(
        "{:>5}  {:<24} {:<10} {:<24} {:<12} {:<17} {:<9} {:<9} {}\n",
        "seq",
        "received (UTC)",
        "mock",
        "consumer",
        "personnummer",
        "scenario",
        "verdict",
        "answer",
        "correlation id"
    );
    for m in list {
        let t = |k: &str| m[k].as_str().unwrap_or("-").to_string();
        s.push_str(&format!(
            "{:>5}  {:<24} {:<10} {:<24} {:<12} {:<17} {:<9} {:<9} {}\n",
            m["seq"],
            t("received_at").chars().take(23).collect::<String>(),
            t("mock_address"),
            t("consumer_hsa_id"),
            t("personnummer"),
            t("scenario"),
            t("verdict"),
            t("result_code"),
            t("correlation_id"),
        ));
        if let Some(vs) = m["violations"].as_array() {
            for x in vs {
                s.push_str(&format!(
                    "         {}: {}\n",
                    x["path"].as_str().unwrap_or(""),
                    x["message"].as_str().unwrap_or("")
                ));
            }
        }
        if let Some(n) = m["violations_omitted"].as_u64().filter(|n| *n > 0) {
            s.push_str(&format!(
                "         ... and {n} more violation(s), not recorded\n"
            ));
        }
        if let Some(e) = m["technical_error"].as_str() {
            s.push_str(&format!("         {e}\n"));
        }
    }
    s.push_str(&format!("{} message(s)", list.len()));
    s
}

/// `ntjp mocks list`: one line per mock.
fn mocks_table(v: &Value) -> String {
    let empty = Vec::new();
    let mut s = format!(
        "{:<11} {:<28} {:>8}  {}\n",
        "address", "region", "received", "behaviour"
    );
    for m in v["mocks"].as_array().unwrap_or(&empty) {
        s.push_str(&format!(
            "{:<11} {:<28} {:>8}  {}\n",
            m["address"].as_str().unwrap_or(""),
            m["region"].as_str().unwrap_or("-"),
            m["received"],
            behaviour_line(&m["behaviour"])
        ));
    }
    s.trim_end().to_string()
}

/// `ntjp mocks triggers`: one line per trigger.
fn triggers_table(v: &Value) -> String {
    let empty = Vec::new();
    let mut s = String::new();
    for t in v["triggers"].as_array().unwrap_or(&empty) {
        s.push_str(&format!(
            "{}  {:<40} {}\n",
            t["personnummer"].as_str().unwrap_or(""),
            behaviour_line(t),
            t["description"].as_str().unwrap_or("")
        ));
    }
    s.trim_end().to_string()
}

/// Runs `ntjp mocks ...`.
pub async fn run(cmd: MocksCommand) -> Result<()> {
    match cmd {
        MocksCommand::List { target } => {
            let answer = client::get(&format!("{}/api/mocks", target.base())).await?;
            report(answer, target.json, mocks_table)
        }
        MocksCommand::Triggers { target } => {
            let answer = client::get(&format!("{}/api/mocks/triggers", target.base())).await?;
            report(answer, target.json, triggers_table)
        }
        MocksCommand::Set {
            address,
            answer,
            text,
            delay_ms,
            target,
        } => {
            let body = json!({"answer": answer, "text": text, "delay_ms": delay_ms});
            let answer = client::put(
                &format!(
                    "{}/api/mocks/{}/behaviour",
                    target.base(),
                    client::encode(&address)
                ),
                serde_json::to_vec(&body)?,
            )
            .await?;
            report(answer, target.json, |v| {
                format!(
                    "Mock {address} now answers: {}",
                    behaviour_line(&v["behaviour"])
                )
            })
        }
        MocksCommand::Reset { address, target } => {
            let answer = client::delete(&format!(
                "{}/api/mocks/{}/behaviour",
                target.base(),
                client::encode(&address)
            ))
            .await?;
            report(answer, target.json, |_| {
                format!("Mock {address} answers as the contract says again.")
            })
        }
        MocksCommand::Messages {
            address,
            filter,
            target,
        } => {
            let path = match &address {
                Some(a) => format!("/api/mocks/{}/messages", client::encode(a)),
                None => "/api/mocks/messages".to_string(),
            };
            let answer = client::get(&format!("{}{path}{}", target.base(), filter.query())).await?;
            report(answer, target.json, messages_table)
        }
        MocksCommand::Clear { address, target } => {
            let path = match &address {
                Some(a) => format!("/api/mocks/{}/messages", client::encode(a)),
                None => "/api/mocks/messages".to_string(),
            };
            let answer = client::delete(&format!("{}{path}", target.base())).await?;
            report(answer, target.json, |v| {
                format!(
                    "Forgot {} message(s) received by {}.",
                    v["cleared"],
                    address.as_deref().unwrap_or("every mock")
                )
            })
        }
    }
}
