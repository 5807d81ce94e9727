//! Wires the testbed together: the PKI, one TAK and router per environment (filled from
//! orders), the mock producers, the admin listener, `endpoints.json`, and shutdown.
//!
//! [`start`] returns once every listener is bound and every TAK published, so a test or a
//! tool can call it immediately; [`Testbed::shutdown`] stops accepting and lets in-flight
//! requests finish. This is the only module besides `main` that knows every part; it holds
//! no routing, order or TAK logic of its own, only the order of starting and stopping them.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, atomic::Ordering},
    time::Instant,
};

use serde::Serialize;
use tokio::{net::TcpListener, sync::watch, task::JoinSet};

use crate::{
    admin::{self, AdminState},
    cluster::{
        resets::Resets,
        takcache::{TakCache, TakSource},
    },
    config::cluster::Role,
    config::{
        Config, ConfigError, EnvConfig,
        endpoints::{Endpoints, EnvEndpoints, KeyStoreFile, PkiPaths},
    },
    mocks::{self, Mocks, Recorder},
    ordering::{OpenError, OrderService, connection_tests},
    orders::builtin::EMBEDDED_ORDERS,
    pki::{self, StatePki},
    router::{self, ProducerClient, Router, TimeoutTable},
    tak::TakCell,
    tls,
    vocab::EnvName,
};

/// Why the testbed could not start. Each names the file, address or order at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The PKI could not be created or loaded.
    #[error("test PKI in {dir}: {source}")]
    Pki {
        /// The PKI directory.
        dir: PathBuf,
        /// Why.
        source: pki::PkiError,
    },
    /// A TLS configuration could not be built.
    #[error("TLS set-up: {0}")]
    Tls(#[from] tls::TlsError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr} for {what}: {source}")]
    Bind {
        /// Which listener.
        what: String,
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The order service could not be built: a start-up order was refused, or the journal
    /// is damaged.
    #[error(transparent)]
    Orders(#[from] OpenError),
    /// The timeout configuration file is unusable.
    #[error(transparent)]
    Timeouts(#[from] router::forward::TimeoutConfigError),
    /// An HSA file (`router.hsa_files`) is unreadable or invalid.
    #[error(transparent)]
    Hsa(#[from] router::hsa::HsaLoadError),
    /// A start-up task failed (a bug: it panicked).
    #[error("start-up failed: {0}")]
    Task(String),
    /// `endpoints.json` could not be written.
    #[error("cannot write {path}: {source}")]
    Endpoints {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A running testbed.
pub struct Testbed {
    endpoints: Endpoints,
    endpoints_file: PathBuf,
    mocks: Arc<Mocks>,
    pki: StatePki,
    platforms: Arc<OrderService>,
    tasks: Tasks,
}

/// A process's listeners and background tasks, in the two groups shutdown stops one after
/// the other.
struct Tasks {
    /// The routers (consumers' side), stopped first so that in-flight requests can still
    /// reach the mocks.
    stop_routers: watch::Sender<bool>,
    routers: JoinSet<()>,
    /// Then the mock producers, the admin listener and the background work.
    stop_backends: watch::Sender<bool>,
    backends: JoinSet<()>,
}

impl Tasks {
    fn new() -> Tasks {
        Tasks {
            stop_routers: watch::channel(false).0,
            routers: JoinSet::new(),
            stop_backends: watch::channel(false).0,
            backends: JoinSet::new(),
        }
    }

    /// What the routers' tasks and the others' watch for shutdown.
    fn stop_signals(&self) -> (watch::Receiver<bool>, watch::Receiver<bool>) {
        (
            self.stop_routers.subscribe(),
            self.stop_backends.subscribe(),
        )
    }

    /// Stops the routers and waits for them, then the rest.
    async fn stop(mut self) {
        let _ = self.stop_routers.send(true);
        join_all(&mut self.routers).await;
        let _ = self.stop_backends.send(true);
        join_all(&mut self.backends).await;
    }
}

async fn bind(what: &str, addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind {
            what: what.to_string(),
            addr,
            source,
        })
}

fn local_addr(l: &TcpListener, what: &str, addr: SocketAddr) -> Result<SocketAddr, StartError> {
    l.local_addr().map_err(|source| StartError::Bind {
        what: what.to_string(),
        addr,
        source,
    })
}

/// The start-up order files of an environment: from its `orders_dir`, or the built-in ones.
fn order_files(env: EnvName, cfg: &EnvConfig) -> Result<Vec<(String, String)>, OpenError> {
    let Some(dir) = &cfg.orders_dir else {
        return Ok(EMBEDDED_ORDERS
            .iter()
            .filter(|(e, _, _)| *e == env.as_str())
            .map(|(_, name, text)| (name.to_string(), text.to_string()))
            .collect());
    };
    let io = |path: &Path, source| OpenError::OrdersDir {
        env,
        path: path.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
            Ok((p.display().to_string(), text))
        })
        .collect()
}

/// File descriptors kept aside for everything but listeners' connections: producer
/// connections, the journal, checkpoints, log output.
const OTHER_FILES: u64 = 1024;

/// Raises the process's open-files limit to its hard limit (a default soft limit of 1024
/// would run out long before the connection limits), and warns when the connection limits
/// and [`OTHER_FILES`] together still exceed it: the listeners would then run out of file
/// descriptors (they back off and keep serving) before they reach their limits.
fn open_files_for(config: &Config) {
    let limits = &config.connection_limits;
    let routed = EnvName::ALL
        .into_iter()
        .filter(|e| config.cluster.routes(*e))
        .count();
    let total = limits.total_for(routed, config.cluster.role.mocks());
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut rlimit = getrlimit(Resource::Nofile);
        if rlimit.current != rlimit.maximum {
            let raised = rustix::process::Rlimit {
                current: rlimit.maximum,
                maximum: rlimit.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                rlimit = getrlimit(Resource::Nofile);
            }
        }
        let wanted = (total as u64).saturating_add(OTHER_FILES);
        if let Some(open_files) = rlimit.current
            && open_files < wanted
        {
            tracing::warn!(
                open_files,
                connection_limits = total,
                "the connection limits add up to {} connections, more than the {open_files} open files this process may have (less {OTHER_FILES} for other use): lower connection_limits or raise `ulimit -n`",
                total
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = total;
}

/// Starts everything; returns when every listener is bound and every TAK is published.
pub async fn start(config: Config) -> Result<Testbed, StartError> {
    config.validate()?;
    let started = Instant::now();
    open_files_for(&config);
    let pki = load_pki(&config).await?;
    let mut tasks = Tasks::new();
    let (routers_rx, backends_rx) = tasks.stop_signals();

    let metrics = Arc::new(crate::metrics::Metrics::new(
        config.metrics.max_label_values,
    ));
    let parts = router_parts(&config, &pki, &metrics).await?;
    // Mock producers first: their address goes into the orders.
    let (mocks, mocks_base) =
        start_mocks(&config, &pki, &mut tasks.backends, &backends_rx, &metrics).await?;
    let platforms = open_orders(&config, &mocks_base).await?;
    let sources: Vec<RoutedSource> = platforms
        .all()
        .map(|p| (p.env, p.tak.clone(), p.clock.clone()))
        .collect();
    let envs = start_routers(
        &config,
        &pki,
        &sources,
        &parts,
        &mut tasks.routers,
        &routers_rx,
    )
    .await?;
    let resets = start_order_tasks(
        &config,
        &platforms,
        &parts,
        &mut tasks.backends,
        &backends_rx,
    );

    let (admin_state, admin_addr) = start_admin(
        &config,
        (&platforms, &parts.hsa, &parts.live),
        (Some(&mocks), &metrics, Some(resets)),
        started,
        &mut tasks.backends,
        backends_rx,
    )
    .await?;
    let endpoints = endpoints(Role::All, admin_addr, mocks_base, envs, &pki);
    let endpoints_file = config.state_dir.join("endpoints.json");
    write_atomically(&endpoints_file, &endpoints)?;
    admin_state.listeners_bound.store(true, Ordering::Release);
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "testbed ready"
    );
    Ok(Testbed {
        endpoints,
        endpoints_file,
        mocks,
        pki,
        platforms,
        tasks,
    })
}

/// A running node of a testbed split over several processes (`cluster.role` = `router`,
/// `orders` or `mocks`).
pub struct Node {
    role: Role,
    endpoints: Endpoints,
    endpoints_file: PathBuf,
    /// An order node's order service (stopped first at shutdown).
    platforms: Option<Arc<OrderService>>,
    tasks: Tasks,
}

/// How often a router node whose TAK could not be loaded at start tries again (VP loads on
/// the first request instead; retrying in the background keeps requests from waiting on it).
const TAK_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// Starts one node of a split testbed; returns when its listeners are bound and, on a router
/// node, every environment's first TAK load has ended (loaded, restored from its local
/// copy, or failed: then the node answers VP008 and tries again every [`TAK_RETRY`]).
pub async fn start_node(config: Config) -> Result<Node, StartError> {
    config.validate()?;
    if config.cluster.role == Role::All {
        return Err(StartError::Config(ConfigError::Invalid(
            "cluster.role = \"all\" runs the whole testbed (server::start), not one node".into(),
        )));
    }
    let started = Instant::now();
    open_files_for(&config);
    let pki = load_pki(&config).await?;
    let role = config.cluster.role;
    let mut tasks = Tasks::new();
    let (routers_rx, backends_rx) = tasks.stop_signals();
    let metrics = Arc::new(crate::metrics::Metrics::new(
        config.metrics.max_label_values,
    ));
    let node_state = |mocks, hsa, envs, admin_addr| crate::cluster::control::NodeState {
        role,
        envs,
        hsa,
        mocks,
        metrics: metrics.clone(),
        gate: admin::gate::Gate::new(admin_addr, &config.admin_allowed_hosts),
        listeners_bound: false.into(),
        started,
        body_timeout: config.admin_body_timeout(),
        max_connections: config.connection_limits.admin,
    };
    let (endpoints, platforms, control) = match role {
        Role::Router => {
            let parts = router_parts(&config, &pki, &metrics).await?;
            let time = Arc::new(
                crate::clock::TimeBase::from_config(&config.clock)
                    .map_err(|e| StartError::Config(ConfigError::Invalid(e)))?,
            );
            let mut routed = Vec::new();
            let mut sources = Vec::new();
            for env in config.cluster.environments.iter().copied() {
                let cell: TakCell = Arc::new(arc_swap::ArcSwapOption::empty());
                let tak_url = config.tak_url(env);
                let cache = TakCache::new(
                    TakSource {
                        env,
                        url: tak_url.clone(),
                        cache_file: config.tak_cache_dir().join(format!("{env}.xml")),
                        platform: config.environments.get(env).platform.clone(),
                        timeout: std::time::Duration::from_millis(
                            config.cluster.tak_fetch_timeout_ms,
                        ),
                        max_bytes: config.cluster.max_tak_bytes,
                        tls: Some(Arc::new(env_client_tls(&config, &pki, &parts, env)?)),
                    },
                    cell.clone(),
                    time.clone(),
                );
                sources.push((
                    env,
                    cell.clone(),
                    Arc::new(crate::clock::Clock::on(time.clone())),
                ));
                routed.push(crate::cluster::control::RoutedEnv {
                    env,
                    platform: config.environments.get(env).platform.clone(),
                    tak_url,
                    cell,
                    cache,
                });
            }
            let envs = start_routers(
                &config,
                &pki,
                &sources,
                &parts,
                &mut tasks.routers,
                &routers_rx,
            )
            .await?;
            // The first loads, all environments at once; then the ones that failed again and
            // again in the background until they load.
            let mut loads = JoinSet::new();
            for r in &routed {
                let cache = r.cache.clone();
                let env = r.env;
                loads.spawn(async move { (env, cache.refresh().await) });
            }
            while let Some(Ok((env, log))) = loads.join_next().await {
                if log.success {
                    tracing::info!(env = %env, "TAK loaded");
                } else {
                    tracing::warn!(env = %env, log = %log.lines.join(" | "), "TAK not loaded at start: answering VP008 until it is; trying again every {} s", TAK_RETRY.as_secs());
                }
            }
            for r in &routed {
                let (cache, mut stop) = (r.cache.clone(), backends_rx.clone());
                tasks.backends.spawn(async move {
                    while !cache.initialized() {
                        tokio::select! {
                            _ = tokio::time::sleep(TAK_RETRY) => {}
                            _ = stop.changed() => return,
                        }
                        if !cache.initialized() {
                            cache.refresh().await;
                        }
                    }
                });
            }
            let listener = bind("admin", config.admin).await?;
            let admin_addr = local_addr(&listener, "admin", config.admin)?;
            let state = Arc::new(node_state(
                None,
                Some(parts.hsa.clone()),
                routed,
                admin_addr,
            ));
            tasks.backends.spawn(crate::cluster::control::serve(
                listener,
                state.clone(),
                backends_rx.clone(),
            ));
            (
                endpoints(role, admin_addr, String::new(), envs, &pki),
                None,
                Some(state),
            )
        }
        Role::Mocks => {
            let (mocks, mocks_base) =
                start_mocks(&config, &pki, &mut tasks.backends, &backends_rx, &metrics).await?;
            let listener = bind("admin", config.admin).await?;
            let admin_addr = local_addr(&listener, "admin", config.admin)?;
            let state = Arc::new(node_state(Some(mocks), None, Vec::new(), admin_addr));
            tasks.backends.spawn(crate::cluster::control::serve(
                listener,
                state.clone(),
                backends_rx.clone(),
            ));
            (
                endpoints(role, admin_addr, mocks_base, BTreeMap::new(), &pki),
                None,
                Some(state),
            )
        }
        Role::Orders | Role::All => {
            // (All was refused above.)
            let mocks_base = mocks_base(&config, config.mocks);
            let platforms = open_orders(&config, &mocks_base).await?;
            let parts = router_parts(&config, &pki, &metrics).await?;
            let resets = start_order_tasks(
                &config,
                &platforms,
                &parts,
                &mut tasks.backends,
                &backends_rx,
            );
            let (admin_state, admin_addr) = start_admin(
                &config,
                (&platforms, &parts.hsa, &parts.live),
                (None, &metrics, Some(resets)),
                started,
                &mut tasks.backends,
                backends_rx.clone(),
            )
            .await?;
            admin_state.listeners_bound.store(true, Ordering::Release);
            (
                endpoints(role, admin_addr, mocks_base, BTreeMap::new(), &pki),
                Some(platforms),
                None,
            )
        }
    };
    let endpoints_file = config.state_dir.join("endpoints.json");
    write_atomically(&endpoints_file, &endpoints)?;
    if let Some(state) = control {
        state.listeners_bound.store(true, Ordering::Release);
    }
    tracing::info!(
        role = %role,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "node ready"
    );
    Ok(Node {
        role,
        endpoints,
        endpoints_file,
        platforms,
        tasks,
    })
}

/// The TLS set-ups, timeouts, HSA tree and live feed a process's routers share.
async fn router_parts(
    config: &Config,
    pki: &StatePki,
    metrics: &Arc<crate::metrics::Metrics>,
) -> Result<RouterParts, StartError> {
    let server_tls = tls::server_config_trusting(
        &pki.ca_cert,
        &config.pki.consumer_trust,
        &pki.platform.cert,
        &pki.platform.key,
    )?;
    let client_tls = tls::client_config_trusting(
        &pki.ca_cert,
        &config.pki.producer_trust,
        Some((&pki.platform.cert, &pki.platform.key)),
    )?;
    let hsa_files = config.router.hsa_files.clone();
    let hsa = Arc::new(
        tokio::task::spawn_blocking(move || router::hsa::HsaCache::load(hsa_files))
            .await
            .map_err(|e| StartError::Task(e.to_string()))??,
    );
    Ok(RouterParts {
        server_tls,
        client_tls,
        timeouts: timeout_table(config)?,
        hsa,
        live: Arc::new(crate::live::Feed::new(config.live_requests)),
        metrics: metrics.clone(),
    })
}

impl Node {
    /// Every base URL and certificate path (also in `endpoints.json`).
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Where `endpoints.json` was written.
    pub fn endpoints_file(&self) -> &Path {
        &self.endpoints_file
    }

    /// What this node runs, and where, for the terminal.
    pub fn banner(&self) -> String {
        let e = &self.endpoints;
        let mut s = format!("ntjp-testbed {} node is ready.\n\n", self.role);
        match self.role {
            Role::Router => {
                for (name, env) in &e.environments {
                    s.push_str(&format!(
                        "  {name:<4} {:<10} {}  (plain HTTP, whitelisted: {})\n",
                        env.platform, env.router_https, env.router_http
                    ));
                }
                s.push_str(&format!(
                    "  admin           {}/health/ready  {}/status  {}/resetcache\n",
                    e.admin, e.admin, e.admin
                ));
            }
            Role::Mocks => {
                s.push_str(&format!("  mock producers  {}/<logical address>/ProcessCervixScreeningInformation/1/rivtabp21\n", e.mocks));
                s.push_str(&format!(
                    "  admin           {}/health/ready  {}/api/mocks/messages\n",
                    e.admin, e.admin
                ));
            }
            Role::Orders | Role::All => {
                s.push_str(&format!(
                    "  order service   {}/api/<env>/orders  {}/console/\n  TAK read API    {}/tak/<env>/SokVagvalsInfo/v2\n  orders point at {}\n",
                    e.admin, e.admin, e.admin, e.mocks
                ));
            }
        }
        s.push_str(&format!(
            "\nEverything above is in {}. Ctrl-C stops.\n",
            self.endpoints_file.display()
        ));
        s
    }

    /// Stops accepting, lets in-flight requests finish, and waits for every listener.
    pub async fn shutdown(self) {
        if let Some(p) = &self.platforms {
            p.stop();
        }
        self.tasks.stop().await;
    }
}

/// The producers' timeouts: per contract and address from `timeout_config`, else one.
fn timeout_table(config: &Config) -> Result<TimeoutTable, StartError> {
    let default = std::time::Duration::from_millis(config.router.producer_timeout_ms);
    Ok(match &config.router.timeout_config {
        Some(path) => TimeoutTable::load(path, default)?,
        None => TimeoutTable::uniform(default),
    })
}

/// The test PKI in `<state-dir>/pki`, created on first start. Key generation and file IO:
/// off the async workers.
async fn load_pki(config: &Config) -> Result<StatePki, StartError> {
    let pki_dir = config.pki_dir();
    let (dir, extra_sans) = (pki_dir.clone(), config.pki.extra_sans.clone());
    tokio::task::spawn_blocking(move || pki::ensure_state_pki_with(&dir, &extra_sans))
        .await
        .map_err(|e| StartError::Task(e.to_string()))?
        .map_err(|source| StartError::Pki {
            dir: pki_dir,
            source,
        })
}

/// Binds and starts the mock producers; returns them and their base URL (what
/// [`MOCKS_TOKEN`] in orders stands for).
async fn start_mocks(
    config: &Config,
    pki: &StatePki,
    backends: &mut JoinSet<()>,
    stop: &watch::Receiver<bool>,
    metrics: &Arc<crate::metrics::Metrics>,
) -> Result<(Arc<Mocks>, String), StartError> {
    // The mocks accept the platform's certificates only (the routers also `pki.consumer_trust`).
    let server_tls = tls::server_config(&pki.ca_cert, &pki.platform.cert, &pki.platform.key)?;
    let mocks_listener = bind("mocks", config.mocks).await?;
    let mocks_addr = local_addr(&mocks_listener, "mocks", config.mocks)?;
    let mocks_base = mocks_base(config, mocks_addr);
    let mocks = Arc::new(
        Mocks::new(
            config.mock_producers.clone(),
            pki.platform_clients
                .iter()
                .map(|(env, id)| (id.hsa_id.clone(), env.to_string()))
                .collect(),
        )
        .with_metrics(metrics.clone()),
    );
    backends.spawn(mocks::serve(
        mocks_listener,
        server_tls,
        mocks.clone(),
        config.router.client_read_timeout(),
        config.router.request_body_timeout(),
        config.connection_limits.mocks,
        stop.clone(),
    ));
    Ok((mocks, mocks_base))
}

/// Every environment's TAK: replayed from the journal, or filled from the start-up orders.
/// Replaying a journal or executing start-up orders is order work: off the async workers.
async fn open_orders(config: &Config, mocks_base: &str) -> Result<Arc<OrderService>, StartError> {
    let journal_path = config.state_dir.join("journal.jsonl");
    let opened = {
        let (config, mocks_base, journal_path) =
            (config.clone(), mocks_base.to_string(), journal_path.clone());
        tokio::task::spawn_blocking(move || {
            OrderService::open(&config, &mocks_base, Some(&journal_path), &|env| {
                order_files(env, config.environments.get(env))
            })
        })
        .await
        .map_err(|e| StartError::Task(e.to_string()))??
    };
    if let Some(w) = &opened.warning {
        tracing::warn!("{w}");
    }
    if let Some(seq) = opened.checkpoint {
        tracing::info!(entry = seq, entries_after = opened.replayed, journal = %journal_path.display(), "state loaded from the checkpoint");
    } else if opened.replayed > 0 {
        tracing::info!(entries = opened.replayed, journal = %journal_path.display(), "state rebuilt from the journal");
    }
    Ok(opened.platforms)
}

/// What every environment's routers share.
struct RouterParts {
    /// Consumers call in with it.
    server_tls: Arc<rustls::ServerConfig>,
    /// Towards producers, with the platform's certificate, for an environment without a
    /// certificate of its own.
    client_tls: rustls::ClientConfig,
    /// The producers' timeouts.
    timeouts: TimeoutTable,
    /// The HSA tree all routers climb, and its reset (`/resethsacache`).
    hsa: Arc<router::hsa::HsaCache>,
    /// The recent requests of every router, for the console's live view.
    live: Arc<crate::live::Feed>,
    /// The testbed's counters (`/metrics`).
    metrics: Arc<crate::metrics::Metrics>,
}

/// An environment a process routes: its TAK as the router reads it, and its clock.
type RoutedSource = (EnvName, TakCell, Arc<crate::clock::Clock>);

/// The client TLS towards `env`'s producers: each environment's router presents its own
/// platform certificate.
fn env_client_tls(
    config: &Config,
    pki: &StatePki,
    parts: &RouterParts,
    env: EnvName,
) -> Result<rustls::ClientConfig, StartError> {
    Ok(match pki.platform_clients.iter().find(|(e, _)| *e == env) {
        Some((_, id)) => tls::client_config_trusting(
            &pki.ca_cert,
            &config.pki.producer_trust,
            Some((&id.cert, &id.key)),
        )?,
        None => parts.client_tls.clone(),
    })
}

/// What `{{mocks}}` in orders stands for: `cluster.mocks_url`, else the mock producers'
/// listener at `mocks_addr` (this process's, or on an order node the configured one).
fn mocks_base(config: &Config, mocks_addr: SocketAddr) -> String {
    match &config.cluster.mocks_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("https://{}/mocks", display_addr(mocks_addr)),
    }
}

/// The order service's background work: the producers' connection tests, and the resets
/// of `cluster.routers` after each publish (watching every environment's published TAK).
fn start_order_tasks(
    config: &Config,
    platforms: &Arc<OrderService>,
    parts: &RouterParts,
    backends: &mut JoinSet<()>,
    stop: &watch::Receiver<bool>,
) -> Arc<Resets> {
    // The connection tests' client reads at most a ping answer's worth of an error body.
    let ping_config = crate::config::RouterConfig {
        max_request_bytes: connection_tests::PING_MAX_BYTES,
        ..config.router.clone()
    };
    backends.spawn(connection_tests::run(
        platforms.clone(),
        ProducerClient::new(parts.client_tls.clone(), &ping_config),
        stop.clone(),
    ));
    let resets = Resets::new(
        config.cluster.routers.clone(),
        std::time::Duration::from_millis(config.cluster.reset_timeout_ms),
    );
    let cells = platforms.all().map(|p| (p.env, p.tak.clone())).collect();
    backends.spawn(resets.clone().run(cells, stop.clone()));
    resets
}

/// Binds and starts each environment's two routers (mutual TLS and plain HTTP) on its
/// published TAK and clock; returns their addresses for `endpoints.json`.
async fn start_routers(
    config: &Config,
    pki: &StatePki,
    sources: &[RoutedSource],
    parts: &RouterParts,
    routers: &mut JoinSet<()>,
    stop: &watch::Receiver<bool>,
) -> Result<BTreeMap<String, EnvEndpoints>, StartError> {
    let mut envs = BTreeMap::new();
    for (env, tak, clock) in sources {
        let env = *env;
        let cfg = config.environments.get(env).clone();
        let producers =
            ProducerClient::new(env_client_tls(config, pki, parts, env)?, &config.router);
        let router = Arc::new(
            Router::new(
                env,
                cfg.clone(),
                config.router.clone(),
                tak.clone(),
                producers,
                parts.timeouts.clone(),
                clock.clone(),
            )
            .with_hsa(parts.hsa.tree().clone())
            .with_live(parts.live.clone())
            .with_metrics(parts.metrics.clone()),
        );
        let https_name = format!("{env} router (https)");
        let http_name = format!("{env} router (http)");
        let https = bind(&https_name, cfg.https).await?;
        let http = bind(&http_name, cfg.http).await?;
        let https_addr = local_addr(&https, &https_name, cfg.https)?;
        let http_addr = local_addr(&http, &http_name, cfg.http)?;
        routers.spawn(router::serve_https(
            https,
            parts.server_tls.clone(),
            router.clone(),
            config.connection_limits.router,
            stop.clone(),
        ));
        routers.spawn(router::serve_http(
            http,
            router,
            config.connection_limits.router,
            stop.clone(),
        ));
        envs.insert(
            env.to_string(),
            EnvEndpoints {
                platform: cfg.platform.clone(),
                instance_id: cfg.instance_id.clone(),
                router_https: format!("https://localhost:{}/vp", https_addr.port()),
                router_http: format!("http://{}/vp", display_addr(http_addr)),
            },
        );
    }
    Ok(envs)
}

/// Binds and starts the admin listener; its state says "not ready" until every listener
/// is bound.
async fn start_admin(
    config: &Config,
    (platforms, hsa, live): (
        &Arc<OrderService>,
        &Arc<router::hsa::HsaCache>,
        &Arc<crate::live::Feed>,
    ),
    (mocks, metrics, resets): (
        Option<&Arc<Mocks>>,
        &Arc<crate::metrics::Metrics>,
        Option<Arc<Resets>>,
    ),
    started: Instant,
    backends: &mut JoinSet<()>,
    stop: watch::Receiver<bool>,
) -> Result<(Arc<AdminState>, SocketAddr), StartError> {
    let admin_listener = bind("admin", config.admin).await?;
    let admin_addr = local_addr(&admin_listener, "admin", config.admin)?;
    let admin_state = Arc::new(AdminState {
        platforms: platforms.clone(),
        mocks: mocks.cloned(),
        resets,
        hsa: hsa.clone(),
        listeners_bound: false.into(),
        started,
        max_order_bytes: config.max_order_bytes,
        gate: admin::gate::Gate::new(admin_addr, &config.admin_allowed_hosts),
        body_timeout: config.admin_body_timeout(),
        max_connections: config.connection_limits.admin,
        live: live.clone(),
        metrics: metrics.clone(),
    });
    backends.spawn(admin::serve(admin_listener, admin_state.clone(), stop));
    Ok((admin_state, admin_addr))
}

/// What `endpoints.json` holds.
fn endpoints(
    role: Role,
    admin_addr: SocketAddr,
    mocks_base: String,
    environments: BTreeMap<String, EnvEndpoints>,
    pki: &StatePki,
) -> Endpoints {
    Endpoints {
        role: role.to_string(),
        admin: format!("http://{}", display_addr(admin_addr)),
        mocks: mocks_base,
        environments,
        pki: PkiPaths {
            ca: absolute(&pki.ca_cert),
            consumer_hsa_id: pki.consumer.hsa_id.clone(),
            consumer_cert: absolute(&pki.consumer.cert),
            consumer_key: absolute(&pki.consumer.key),
            unauthorised_hsa_id: pki.unauthorised.hsa_id.clone(),
            unauthorised_cert: absolute(&pki.unauthorised.cert),
            unauthorised_key: absolute(&pki.unauthorised.key),
            platform_hsa_id: pki.platform.hsa_id.clone(),
            consumer_p12: p12_file(&pki.consumer_p12),
            unauthorised_p12: p12_file(&pki.unauthorised_p12),
            truststore_p12: p12_file(&pki.truststore_p12),
        },
    }
}

fn p12_file(path: &Path) -> KeyStoreFile {
    KeyStoreFile {
        path: absolute(path),
        password: pki::STATE_P12_PASSWORD.to_owned(),
    }
}

/// `127.0.0.1:1234`, or `[::1]:1234`.
fn display_addr(a: SocketAddr) -> String {
    if a.ip().is_unspecified() {
        // Bound to every interface: callers on this machine use loopback.
        format!("127.0.0.1:{}", a.port())
    } else {
        a.to_string()
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Writes JSON to a temporary file beside `path` and renames it over `path`, so a reader
/// never sees a half-written file.
fn write_atomically(path: &Path, value: &impl Serialize) -> Result<(), StartError> {
    let err = |source| StartError::Endpoints {
        path: path.to_path_buf(),
        source,
    };
    let text = serde_json::to_string_pretty(value).map_err(|e| err(std::io::Error::other(e)))?;
    let tmp = path.with_extension("json.tmp");
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    std::fs::write(&tmp, text + "\n").map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

impl Testbed {
    /// Every base URL and certificate path (also in `endpoints.json`).
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Where `endpoints.json` was written.
    pub fn endpoints_file(&self) -> &Path {
        &self.endpoints_file
    }

    /// What the mock producers received.
    pub fn recorder(&self) -> &Recorder {
        &self.mocks.recorder
    }

    /// The mock producers: behaviours and recordings.
    pub fn mocks(&self) -> &Arc<Mocks> {
        &self.mocks
    }

    /// The generated PKI.
    pub fn pki(&self) -> &StatePki {
        &self.pki
    }

    /// The published TAK of an environment.
    pub fn tak(&self, env: EnvName) -> Option<&TakCell> {
        Some(&self.platforms.platform(env).tak)
    }

    /// The order service (orders, publishing, clocks, forms).
    pub fn platforms(&self) -> &Arc<OrderService> {
        &self.platforms
    }

    /// A short, copy-pasteable description of how to call the testbed.
    pub fn banner(&self) -> String {
        let e = &self.endpoints;
        let p = &e.pki;
        let mut s = String::from("ntjp-testbed is ready.\n\n");
        for (name, env) in &e.environments {
            s.push_str(&format!(
                "  {name:<4} {:<10} {}  (plain HTTP, whitelisted: {})\n",
                env.platform, env.router_https, env.router_http
            ));
        }
        s.push_str(&format!("  mock producers  {}/<logical address>/ProcessCervixScreeningInformation/1/rivtabp21\n", e.mocks));
        s.push_str(&format!(
            "  admin           {}/health/ready  {}/status\n",
            e.admin, e.admin
        ));
        s.push_str(&format!("  web console     {}/console/\n\n", e.admin));
        let sit = e
            .environments
            .get("sit")
            .map(|x| x.router_https.clone())
            .unwrap_or_default();
        s.push_str(&format!(
            "Call ProcessCervixScreeningInformation for county 01 in SIT as the default consumer {}:\n\n  curl --cert {} --key {} --cacert {} \\\n    -H 'Content-Type: text/xml; charset=UTF-8' \\\n    --data-binary @fixtures/requests/cervix-01.xml \\\n    {}/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21\n\n",
            p.consumer_hsa_id,
            p.consumer_cert.display(),
            p.consumer_key.display(),
            p.ca.display(),
            sit
        ));
        s.push_str(&format!(
            "The same from Java (HttpClient or HttpsURLConnection; both files' password is in endpoints.json):\n\n  java -Djavax.net.ssl.keyStore={} -Djavax.net.ssl.keyStorePassword={} \\\n    -Djavax.net.ssl.trustStore={} -Djavax.net.ssl.trustStorePassword={} \\\n    YourClient.java\n\n",
            p.consumer_p12.path.display(),
            p.consumer_p12.password,
            p.truststore_p12.path.display(),
            p.truststore_p12.password,
        ));
        s.push_str(&format!(
            "What the mocks received: `ntjp mocks messages` or {}/api/mocks/messages; make one misbehave: `ntjp mocks set 14 --answer fault`.\n",
            e.admin
        ));
        s.push_str(&format!(
            "Unauthorised consumer (gets VP007): {} ({}).\nEverything above is in {}. Ctrl-C stops.\n",
            p.unauthorised_hsa_id,
            p.unauthorised_cert.display(),
            self.endpoints_file.display()
        ));
        s
    }

    /// Stops accepting, lets in-flight requests finish, and waits for every listener. A
    /// change to TAK not yet journaled is abandoned; one being journaled is finished.
    pub async fn shutdown(self) {
        self.platforms.stop();
        self.tasks.stop().await;
    }
}

async fn join_all(tasks: &mut JoinSet<()>) {
    while let Some(r) = tasks.join_next().await {
        if let Err(e) = r {
            tracing::error!(error = %e, "a listener task failed");
        }
    }
}
