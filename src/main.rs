//! `ntjp`: the command line of ntjp-testbed.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ntjp_testbed::{
    cli::{self, ClockArgs, OrderCommand, PreStudyArgs, SystemArgs, TakCommand},
    config::Config,
    load, pki, server,
    vocab::EnvName,
};

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
#[command(name = "ntjp", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the whole testbed: SIT, QA and PROD routers, their TAKs (from the built-in orders
    /// or --config), the mock producers and the admin listener. On first start a test CA and
    /// function certificates are created in the state directory; later starts reuse them.
    /// Prints how to call it and writes <state-dir>/endpoints.json with every URL and path.
    #[command(
        after_help = "Examples:\n  ntjp serve\n  ntjp serve --ephemeral-ports --state-dir /tmp/ntjp\n  ntjp serve --config ntjp.toml   (see `ntjp config show` for every key)"
    )]
    Serve(ServeArgs),
    /// Submit orders to a running testbed's TAK: raw Beställningsstödet JSON, or the consumer
    /// and producer forms; list them and their reports.
    #[command(subcommand)]
    Order(OrderCommand),
    /// Read a running testbed's TAK; publish, roll back, list versions.
    #[command(subcommand)]
    Tak(TakCommand),
    /// Read or move an environment's clock (validity days and execution days follow it).
    Clock(ClockArgs),
    /// Beställningsstödet's system information: register a system before ordering for it.
    #[command(subcommand)]
    System(SystemCommand),
    /// Register a pre-study (förstudie) and the environments it is approved for.
    #[command(subcommand)]
    Prestudy(PreStudyCommand),
    /// The mock producers: make one misbehave, read and clear what they received.
    #[command(subcommand)]
    Mocks(cli::mocks::MocksCommand),
    /// Issue certificates from the testbed's CA.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Verify a consumer system from what the mock producers received from it (the
    /// self-declaration's cases), as a report and JUnit XML; exits 1 when a case failed.
    #[command(subcommand)]
    Verify(cli::verify::VerifyCommand),
    /// Load a router (or any SOAP endpoint) over mutual TLS or plain HTTP: N connections or a
    /// fixed rate, keep-alive or new connections, templated bodies; prints requests/s, latency
    /// percentiles, answers by HTTP status and VP code, and its own CPU per request.
    #[command(after_help = load::args::AFTER_HELP)]
    Load(load::LoadArgs),
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// TOML configuration file; keys not given keep their defaults.
    #[arg(long, env = "NTJP_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// State directory (PKI, endpoints.json). Overrides `state_dir` of the config file.
    #[arg(long, env = "NTJP_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

impl CommonArgs {
    fn load(&self) -> Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(dir) = &self.state_dir {
            config.state_dir = dir.clone();
        }
        Ok(config)
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Let the OS choose every port (the real ones are in endpoints.json and the banner).
    #[arg(long, env = "NTJP_EPHEMERAL_PORTS")]
    ephemeral_ports: bool,
    /// Log format on stderr.
    #[arg(long, env = "NTJP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with the platform's field names (event.action, trace.id, ...).
    Json,
}

#[derive(Debug, Subcommand)]
enum CertsCommand {
    /// Issue a SITHS-like function certificate (HSA-id in the subject's serialNumber and CN)
    /// signed by the testbed's CA: writes <ID>.pem, <ID>-key.pem and <ID>.p12 to --out.
    #[command(
        after_help = "Example:\n  ntjp certs issue --hsa-id SE2321000016-ABCD --out ./certs\n\nThe CA is the one `ntjp serve` created in <state-dir>/pki (created now if missing)."
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
        #[command(flatten)]
        common: CommonArgs,
    },
}

#[derive(Debug, Subcommand)]
enum SystemCommand {
    /// Register a system (organisation, name, HSA-id, contacts) for an environment.
    Register(SystemArgs),
}

#[derive(Debug, Subcommand)]
enum PreStudyCommand {
    /// Register an approved pre-study.
    Register(PreStudyArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (defaults + file + flags) as TOML.
    Show(CommonArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Errors are for users: the message and its causes, no backtrace.
    let result = runtime(&cli).and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
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
            common,
        }) => {
            let config = common.load()?;
            let dir = config.state_dir.join("pki");
            let state = pki::ensure_state_pki(&dir)
                .with_context(|| format!("test PKI in {}", dir.display()))?;
            let ca = pki::Ca::load(&state.ca_cert, &state.ca_key)?;
            let files = pki::issue_to_dir(&ca, &hsa_id, &out, &p12_password)?;
            println!(
                "Issued a function certificate for {hsa_id}, signed by {}:\n  certificate  {}\n  private key  {}\n  PKCS#12      {} (password {p12_password:?})",
                state.ca_cert.display(),
                files.cert.display(),
                files.key.display(),
                files.p12.display()
            );
            Ok(())
        }
        Command::Verify(cmd) => cli::verify::run(cmd).await,
        Command::Load(args) => Ok(load::args::main(args).await?),
        Command::Config(ConfigCommand::Show(common)) => {
            let config = common.load()?;
            config.validate()?;
            print!("{}", config.to_toml());
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let log_guard = ntjp_testbed::logging::init(matches!(args.log_format, LogFormat::Json));
    let mut config = args.common.load()?;
    if args.ephemeral_ports {
        config.use_ephemeral_ports();
    }
    let testbed = server::start(config).await?;
    println!("{}", testbed.banner());
    shutdown_signal().await;
    // An order not yet in the journal is abandoned at once; routers and the admin API finish
    // their in-flight requests (at most net::DRAIN_TIMEOUT). A second signal does not wait.
    tracing::info!("shutting down: finishing in-flight requests");
    tokio::select! {
        _ = testbed.shutdown() => {}
        _ = shutdown_signal() => tracing::warn!("second signal: exiting without waiting"),
    }
    let dropped = log_guard.finish();
    if dropped > 0 {
        eprintln!("{dropped} log lines were dropped: stderr did not keep up");
    }
    Ok(())
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
}
