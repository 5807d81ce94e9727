//! `ntjp`: the command line of ntjp-testbed.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ntjp_testbed::{
    cli::{self, ClockArgs, OrderCommand, PreStudyArgs, SystemArgs, TakCommand, exit},
    config::{
        Config,
        layers::{self, FlagValue, Layered},
    },
    load, pki, server,
    vocab::EnvName,
};
use serde_json::json;

/// jemalloc instead of glibc's malloc: measured 5-7 % fewer instructions per routed request,
/// and, with its background thread, the memory a 15 MiB request raised is returned within 30 s
/// even when the process then stays idle (glibc kept it); 2 MB more at idle. mimalloc saved a
/// little more but doubled the idle footprint and grew by 4x a large request's size.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A local copy of Sweden's national service platform (NTjP): the VP router, TAK filled from
/// Beställningsstödet orders, mock producers for ProcessCervixScreeningInformation, and a test
/// PKI with SITHS-like function certificates.
#[derive(Debug, Parser)]
#[command(name = "ntjp", version, propagate_version = true, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const AFTER_HELP: &str = "\
Configuration: built-in defaults, then the TOML file (--config or NTJP_CONFIG), then NTJP_*
environment variables, then flags. Every key has a variable: NTJP_ and the key's path in
capitals, sections joined by __, e.g. NTJP_ROUTER__MAX_REQUEST_BYTES=1048576 or
NTJP_ENVIRONMENTS__QA__INSTANCE_NAME=QA-1. `ntjp config show --sources` prints every key,
its value and where it came from; ntjp.example.toml documents them all.

Logging (serve): RUST_LOG filters the log lines on stderr, default `info`; e.g.
RUST_LOG=info,ntjp_testbed::router=debug adds req-out and resp-in per request, RUST_LOG=warn
leaves out the per-request lines. --log-format json writes one JSON object per line.

Exit status:
  0  success
  1  a check or verification failed (a `verify` case; an order TAK refused by its rules)
  2  usage or configuration error, or a local file that cannot be read or written
  3  the testbed could not be reached (nothing listens at the admin URL; `load`: the target)
  4  the testbed refused the request (unknown order or version, a conflict, shutting down)

Every command that prints data takes --json. `ntjp <command> --help` explains each, with
examples.";

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the whole testbed: routers, TAKs, mock producers, admin API.
    ///
    /// Starts the SIT, QA and PROD routers, their TAKs (from the built-in orders or
    /// --config), the mock producers and the admin listener. On first start a test CA and
    /// function certificates are created in the state directory; later starts reuse them.
    /// Prints how to call it and writes <state-dir>/endpoints.json with every URL and path.
    ///
    /// With --role it runs one part of a testbed split over several processes or machines,
    /// as NTjP runs: an order service, mock producers, and router nodes that load their TAK
    /// from the order service (docs/SCALING.md).
    #[command(
        after_help = "Examples:\n  ntjp serve\n  ntjp serve --ephemeral-ports --state-dir /tmp/ntjp\n  ntjp serve --role orders --state-dir /tmp/orders   (one order service; NTJP_CLUSTER__ROUTERS='[\"http://10.0.0.5:24000\"]' names the routers it resets)\n  NTJP_ADMIN=127.0.0.1:24100 NTJP_PKI__DIR=/tmp/orders/pki ntjp serve --role router --state-dir /tmp/r1   (a router node reading TAK from http://127.0.0.1:24000)\n  ntjp serve --config ntjp.toml   (every key: ntjp.example.toml, `ntjp config show`)\n  NTJP_ROUTER__PRODUCER_TIMEOUT_MS=5000 ntjp serve\n  RUST_LOG=info,ntjp_testbed::router=debug ntjp serve --log-format json"
    )]
    Serve(ServeArgs),
    /// Submit orders to a running testbed's TAK, list them and their reports.
    ///
    /// Raw Beställningsstödet JSON, or the consumer and producer forms.
    #[command(subcommand)]
    Order(OrderCommand),
    /// Read a running testbed's TAK; publish, roll back, list versions.
    #[command(subcommand)]
    Tak(TakCommand),
    /// Read or move an environment's clock.
    ///
    /// Validity days and execution days follow it.
    #[command(
        after_help = "Examples:\n  ntjp clock --env sit\n  ntjp clock --env sit --today 2026-12-01\n  ntjp clock --env sit --advance 7\n  ntjp clock --env sit --reset"
    )]
    Clock(ClockArgs),
    /// Register a system (Beställningsstödet's system information).
    #[command(subcommand)]
    System(SystemCommand),
    /// Register a pre-study (förstudie) and the environments it is approved for.
    #[command(subcommand)]
    Prestudy(PreStudyCommand),
    /// Make a mock producer misbehave; read and clear what the mocks received.
    #[command(subcommand)]
    Mocks(cli::mocks::MocksCommand),
    /// Issue certificates from the testbed's CA.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Print the effective configuration and where each value came from.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Verify a consumer (what the mocks received) or a producer (sending it cases).
    ///
    /// The self-declaration's cases, as a report and JUnit XML; exits 1 when a case failed.
    #[command(subcommand)]
    Verify(cli::verify::VerifyCommand),
    /// Load a router (or any SOAP endpoint) and measure it.
    ///
    /// Over mutual TLS or plain HTTP: N connections or a fixed rate, keep-alive or new
    /// connections, templated bodies; prints requests/s, latency percentiles, answers by HTTP
    /// status and VP code, and its own CPU per request.
    #[command(after_help = load::args::AFTER_HELP, args_conflicts_with_subcommands = true)]
    Load(Box<load::LoadArgs>),
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// TOML configuration file; keys not given keep their defaults (ntjp.example.toml lists
    /// every key).
    #[arg(long, env = "NTJP_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// State directory (PKI, endpoints.json). Overrides `state_dir` of the config file and
    /// NTJP_STATE_DIR.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

impl CommonArgs {
    /// The layers: defaults, the file, `NTJP_*` variables, the flags.
    fn load(&self) -> Result<Layered> {
        self.load_with(Vec::new())
    }

    /// [`CommonArgs::load`] with a command's own flags on top.
    fn load_with(&self, mut flags: Vec<FlagValue>) -> Result<Layered> {
        flags.extend(self.state_dir.iter().map(|dir| FlagValue {
            key: "state_dir",
            value: toml::Value::String(dir.display().to_string()),
            flag: "--state-dir",
        }));
        // Variables that are not UTF-8 cannot hold a setting's value; they are skipped.
        let env = std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        });
        Ok(layers::load(self.config.as_deref(), env, &flags)?)
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Let the OS choose every port (the real ones are in endpoints.json and the banner).
    #[arg(long, env = "NTJP_EPHEMERAL_PORTS")]
    ephemeral_ports: bool,
    /// Log format on stderr (RUST_LOG filters the lines; see `ntjp --help`).
    #[arg(long, env = "NTJP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Which part of the testbed this process runs: all (the default: everything in one
    /// process), router (the routers of `cluster.environments`, loading TAK from
    /// `cluster.orders_url`), orders (the order service, TAK's read API, admin API and
    /// console; resets `cluster.routers` after each publish) or mocks (the mock producers).
    /// Overrides `cluster.role` of the config file and NTJP_CLUSTER__ROLE.
    #[arg(long, value_enum)]
    role: Option<RoleArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    /// Everything in one process.
    All,
    /// Routers that load TAK over SokVagvalsInfo v2.
    Router,
    /// The order service (the single writer of TAK).
    Orders,
    /// The mock producers.
    Mocks,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One ECS JSON object per line, with the platform's field names (event.action, trace.id,
    /// labels.senderid, ...), as the real VP logs; README's "Logs" lists them.
    Json,
}

#[derive(Debug, Subcommand)]
enum CertsCommand {
    /// Issue a SITHS-like function certificate signed by the testbed's CA.
    ///
    /// The HSA-id goes in the subject's serialNumber and CN. Writes <ID>.pem, <ID>-key.pem and
    /// <ID>.p12 to --out. The CA is the one `ntjp serve` created in <state-dir>/pki: run it
    /// with the same --state-dir (or NTJP_STATE_DIR, or `state_dir` in --config) as `serve`.
    #[command(
        after_help = "Examples:\n  ntjp certs issue --state-dir .ntjp --hsa-id SE2321000016-ABCD --out ./certs\n  ntjp certs issue --state-dir .ntjp --hsa-id SE2321000016-PROD --san producer.example.internal --san 10.0.0.7 --out ./certs\n\nWithout a CA in <state-dir>/pki it refuses (a new CA would not be the one a running testbed\ntrusts); --create-ca creates one there deliberately."
    )]
    Issue {
        /// The system's HSA-id, e.g. SE2321000016-ABCD (letters, digits, '-' and '_').
        #[arg(long, value_name = "ID")]
        hsa_id: String,
        /// Directory to write the files to (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Password of the PKCS#12 bundle (for Java keystores and SoapUI).
        #[arg(long, default_value = "changeit")]
        p12_password: String,
        /// A host name or IP address for the certificate besides localhost and 127.0.0.1
        /// (a producer's host name); repeatable.
        #[arg(long = "san", value_name = "NAME")]
        sans: Vec<String>,
        /// Create the testbed's PKI (a new CA) in <state-dir>/pki when there is none.
        #[arg(long)]
        create_ca: bool,
        /// Print the files written as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Create the testbed's PKI without serving (for nodes that share it).
    ///
    /// Writes the CA, the platform's, the consumers' and each environment's certificates and
    /// the PKCS#12 files to `pki.dir` (default <state-dir>/pki), as `ntjp serve` would on its
    /// first start, and keeps what is already there. Nodes of a split testbed (`ntjp serve
    /// --role ...`, Kubernetes) must share one PKI: create it once, then hand the directory
    /// to every node (NTJP_PKI__DIR, or a Kubernetes Secret).
    #[command(
        after_help = "Examples:\n  ntjp certs init --state-dir ./pki-out   (files in ./pki-out/pki)\n  NTJP_PKI__EXTRA_SANS='[\"ntjp-router\",\"ntjp-mocks\"]' ntjp certs init --state-dir ./pki-out\n  kubectl create secret generic ntjp-pki --from-file=./pki-out/pki"
    )]
    Init {
        /// Print the directory and files as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Debug, Subcommand)]
enum SystemCommand {
    /// Register a system (organisation, name, HSA-id, contacts) for an environment.
    #[command(
        after_help = "Example:\n  ntjp system register --env sit --hsa-id SE2321000016-ABCD --organisation \"Region Exempel\" --name \"Kallelsesystemet\""
    )]
    Register(SystemArgs),
}

#[derive(Debug, Subcommand)]
enum PreStudyCommand {
    /// Register an approved pre-study.
    #[command(
        after_help = "Example:\n  ntjp prestudy register --case FS-2026-001 --organisation \"Region Exempel\" --env sit --env qa"
    )]
    Register(PreStudyArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration as TOML.
    ///
    /// The layers: defaults, the file, NTJP_* variables, flags. Checks it as `ntjp serve` would (exit status 2 naming the key and where its value came
    /// from when it is wrong). --sources prints one line per key with its origin: `default`,
    /// the file and line, the environment variable or the flag.
    #[command(
        after_help = "Examples:\n  ntjp config show\n  ntjp config show --config ntjp.toml --sources\n  NTJP_ENVIRONMENTS__QA__INSTANCE_NAME=QA-1 ntjp config show --sources | grep qa\n  ntjp config show --json"
    )]
    Show {
        /// One line per key: `key = value  # origin`.
        #[arg(long)]
        sources: bool,
        /// As JSON: the configuration, or with --sources a list of {key, value, origin}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Errors are for users: the message and its causes, no backtrace.
    let result = runtime(&cli).and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", exit::message(&e));
            std::process::ExitCode::from(exit::status_of(&e) as u8)
        }
    }
}

/// The async runtime: a worker per core the process may use. `serve` on a single core
/// (pinned with taskset, or a one-CPU container) runs every task on one thread instead:
/// measured 0.5-1 µs less CPU per routed request than a work-stealing scheduler with one
/// worker, which still hands wake-ups between threads. Blocking work has its own threads
/// either way.
fn runtime(cli: &Cli) -> Result<tokio::runtime::Runtime> {
    let one_core = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_core && matches!(cli.command, Command::Serve(_)) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Order(cmd) => {
            let config = Config::default();
            cli::order(cmd, |env: EnvName| {
                config.environments.get(env).platform.clone()
            })
            .await
        }
        Command::Tak(cmd) => cli::tak(cmd).await,
        Command::Mocks(cmd) => cli::mocks::run(cmd).await,
        Command::Clock(args) => cli::clock(args).await,
        Command::System(SystemCommand::Register(args)) => cli::system(args).await,
        Command::Prestudy(PreStudyCommand::Register(args)) => cli::prestudy(args).await,
        Command::Certs(CertsCommand::Issue {
            hsa_id,
            out,
            p12_password,
            sans,
            create_ca,
            json,
            common,
        }) => certs_issue(
            &hsa_id,
            &out,
            (&p12_password, &sans, create_ca),
            json,
            &common,
        ),
        Command::Certs(CertsCommand::Init { json, common }) => certs_init(json, &common),
        Command::Verify(cmd) => cli::verify::run(cmd).await,
        Command::Load(args) => Ok(load::args::main(*args).await?),
        Command::Config(ConfigCommand::Show {
            sources,
            json,
            common,
        }) => config_show(sources, json, &common),
    }
}

/// `ntjp certs issue`: from the state directory's CA, which it creates only when asked to.
fn certs_issue(
    hsa_id: &str,
    out: &std::path::Path,
    (p12_password, sans, create_ca): (&str, &[String], bool),
    json: bool,
    common: &CommonArgs,
) -> Result<()> {
    let config = common.load()?.config;
    let dir = config.pki_dir();
    let (ca, ca_cert) = match pki::load_state_ca(&dir) {
        Err(pki::PkiError::NoCa { dir: looked_in }) if create_ca => {
            pki::ensure_state_pki(&dir)
                .with_context(|| format!("test PKI in {}", looked_in.display()))?;
            let (ca, ca_cert) = pki::load_state_ca(&dir)?;
            eprintln!(
                "NOTE: created a NEW test CA in {} ({}). Only a testbed started with `--state-dir {}` trusts certificates from it.",
                looked_in.display(),
                pki::subject_from_der(ca.cert_der()).unwrap_or_default(),
                config.state_dir.display()
            );
            (ca, ca_cert)
        }
        Err(e @ pki::PkiError::NoCa { .. }) => {
            anyhow::bail!(
                "{e}. `ntjp certs issue` signs with the CA of the testbed's state directory and does not create one unasked (a new CA is not one a running testbed trusts): pass the directory `ntjp serve` uses with --state-dir DIR (serve's default is .ntjp in the directory it was started from; DIR holds endpoints.json and pki/), or NTJP_STATE_DIR, or add --create-ca to create a new CA in {}",
                config.state_dir.display()
            );
        }
        other => other.with_context(|| format!("test PKI in {}", dir.display()))?,
    };
    let files = pki::issue_to_dir(&ca, hsa_id, out, p12_password, sans)?;
    if json {
        let files = json!({
            "hsa_id": hsa_id, "ca": ca_cert, "certificate": files.cert,
            "private_key": files.key, "pkcs12": files.p12,
        });
        println!("{}", serde_json::to_string_pretty(&files)?);
        return Ok(());
    }
    println!(
        "Issued a function certificate for {hsa_id}, signed by {}:\n  certificate  {}\n  private key  {}\n  PKCS#12      {} (password {p12_password:?})",
        ca_cert.display(),
        files.cert.display(),
        files.key.display(),
        files.p12.display()
    );
    Ok(())
}

/// `ntjp certs init`: the PKI `ntjp serve` would create, in `pki.dir`.
fn certs_init(json: bool, common: &CommonArgs) -> Result<()> {
    let config = common.load()?.config;
    let dir = config.pki_dir();
    let pki = pki::ensure_state_pki_with(&dir, &config.pki.extra_sans)
        .with_context(|| format!("test PKI in {}", dir.display()))?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    if json {
        let out = json!({"dir": dir, "ca": pki.ca_cert, "files": files});
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "The testbed's PKI is in {} (CA {}), {} files:",
        dir.display(),
        pki::load_state_ca(&dir)
            .ok()
            .and_then(|(ca, _)| pki::subject_from_der(ca.cert_der()).ok())
            .unwrap_or_default(),
        files.len()
    );
    for f in &files {
        println!("  {}", f.display());
    }
    Ok(())
}

/// `ntjp config show`.
fn config_show(sources: bool, json: bool, common: &CommonArgs) -> Result<()> {
    let layered = common.load()?;
    layered.validate()?;
    match (sources, json) {
        (false, false) => print!("{}", layered.config.to_toml()),
        (true, false) => print!("{}", layered.sources()),
        (false, true) => println!("{}", serde_json::to_string_pretty(&layered.config)?),
        (true, true) => {
            let list: Vec<_> = layers::leaves(&toml::Table::try_from(&layered.config)?)
                .into_iter()
                .map(|(key, value)| {
                    let origin = layered.origin(&key).to_string();
                    json!({"key": key, "value": value, "origin": origin})
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<()> {
    let log_guard = ntjp_testbed::logging::init(matches!(args.log_format, LogFormat::Json));
    let role_flag = args.role.map(|r| FlagValue {
        key: "cluster.role",
        value: toml::Value::String(
            match r {
                RoleArg::All => "all",
                RoleArg::Router => "router",
                RoleArg::Orders => "orders",
                RoleArg::Mocks => "mocks",
            }
            .to_string(),
        ),
        flag: "--role",
    });
    let mut layered = args.common.load_with(role_flag.into_iter().collect())?;
    if args.ephemeral_ports {
        layered.config.use_ephemeral_ports();
    }
    layered.validate()?;
    if layered.config.cluster.role == ntjp_testbed::config::cluster::Role::All {
        let testbed = server::start(layered.config).await?;
        println!("{}", testbed.banner());
        until_stopped(testbed.shutdown()).await;
    } else {
        let node = server::start_node(layered.config).await?;
        println!("{}", node.banner());
        until_stopped(node.shutdown()).await;
    }
    let dropped = log_guard.finish();
    if dropped > 0 {
        eprintln!("{dropped} log lines were dropped: stderr did not keep up");
    }
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM, then runs `shutdown`: an order not yet in the journal is
/// abandoned at once; routers and the admin API finish their in-flight requests (at most
/// net::DRAIN_TIMEOUT). A second signal does not wait.
async fn until_stopped(shutdown: impl std::future::Future<Output = ()>) {
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    tokio::select! {
        _ = shutdown => {}
        _ = shutdown_signal() => tracing::warn!("second signal: exiting without waiting"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn every_command_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    /// `ntjp --help` lists one short line per command; each command's own help teaches,
    /// with examples.
    #[test]
    fn summaries_are_one_line_and_every_command_has_examples() {
        fn check(cmd: &clap::Command, path: &str) {
            for sub in cmd.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
                assert!(
                    !about.is_empty() && about.chars().count() <= 80 && !about.contains('\n'),
                    "{path}: summary {about:?}"
                );
                if sub.has_subcommands() {
                    check(sub, &path);
                } else {
                    let after = sub
                        .get_after_help()
                        .map(|a| a.to_string())
                        .unwrap_or_default();
                    assert!(after.contains("ntjp "), "{path} --help has no example");
                }
            }
        }
        check(&super::Cli::command(), "ntjp");
    }
}
