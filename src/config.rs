//! Typed configuration of the whole testbed, read once at start-up.
//!
//! Sources, later ones winning: built-in defaults, an optional TOML file (`--config`), then the
//! command-line flags of `ntjp serve` (each of which also reads an `NTJP_*` environment variable).
//! Everything is validated here into typed values; the servers never parse configuration text.
//! `ntjp config show` prints the effective configuration as TOML.
//!
//! This module does not open sockets or read certificates; it only says where they are.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Serialize};

use crate::vocab::EnvName;

pub mod clock;
pub mod cluster;
pub mod endpoints;
pub mod layers;
pub mod mocks;
pub mod pki;

/// The real VP's maximum request size (`vp.max.receive.length`): 15 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 15 * 1024 * 1024;

/// Configuration error, naming the file or the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML file is not valid for this schema.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why (names the key, line and column).
        source: Box<toml::de::Error>,
    },
    /// A value is out of range or contradicts another one.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// A key's value cannot be read, or the key does not exist.
    #[error("invalid configuration: {key} (from {origin}): {message}")]
    Setting {
        /// The key's path, e.g. `environments.qa.https`.
        key: String,
        /// Where the value came from: `ntjp.toml:3`, `environment variable NTJP_...`.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// The whole testbed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the generated PKI, `endpoints.json` and (later) the order journal live.
    /// Default `.ntjp` in the working directory.
    pub state_dir: PathBuf,
    /// Admin HTTP listener (health and status for every environment). Default `127.0.0.1:24000`.
    pub admin: SocketAddr,
    /// HTTPS listener of the built-in mock producers (mutual TLS). Default `127.0.0.1:25000`.
    pub mocks: SocketAddr,
    /// Settings shared by the routers of every environment.
    pub router: RouterConfig,
    /// The three platforms, each with its own TAK and router listeners.
    pub environments: Environments,
    /// The mock producers: code lists, behaviours per logical address, data-driven triggers.
    pub mock_producers: mocks::MockConfig,
    /// Largest order the admin API reads (`POST /api/<env>/orders`), in bytes. Orders have their
    /// own limit because a TAK-sized order is far larger than any message: 512 MiB holds an
    /// order of 1,000,000 routes with their logical addresses. Other admin requests keep the
    /// 15 MiB limit.
    pub max_order_bytes: usize,
    /// Host names the admin API answers to besides `localhost`, `127.0.0.1`, `::1` and the
    /// address `admin` binds (any IP address when that is `0.0.0.0` or `::`), e.g. a
    /// container's or a proxy's name: `["ntjp", "ntjp.testbed.svc"]`. A request whose `Host`
    /// or (browser) `Origin` names anything else gets 403, so that no web page can reach the
    /// API through DNS rebinding or a cross-site request. Default: none.
    pub admin_allowed_hosts: Vec<String>,
    /// How long a client of the admin API may take to send a request body whole, in
    /// milliseconds, counted from when its head has arrived. Default 300000 (5 minutes: a
    /// 512 MiB order over a 2 MB/s link). A body declared larger than its limit is refused
    /// with 413 before any of it is read.
    pub admin_body_timeout_ms: u64,
    /// Most connections each listener holds open at once; see [`ConnectionLimits`].
    pub connection_limits: ConnectionLimits,
    /// The integrator's own host names in the testbed's certificates, and extra trusted CAs;
    /// see [`pki::PkiConfig`].
    pub pki: pki::PkiConfig,
    /// How many of the latest routed requests the web console's live view keeps
    /// (`GET /api/live`), 312 bytes each. Default 1000.
    pub live_requests: usize,
    /// `/metrics`' settings (TOML `[metrics]`); see [`MetricsConfig`].
    pub metrics: MetricsConfig,
    /// The platform's time zone ("today") and where the testbed's time starts.
    pub clock: clock::ClockConfig,
    /// Running as several processes: this one's role, and where the others are (TOML
    /// `[cluster]`); see [`cluster::ClusterConfig`].
    pub cluster: cluster::ClusterConfig,
}

/// The admin listener's `/metrics` (TOML `[metrics]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Most distinct values each label fed by requests keeps (`contract`, `address`,
    /// `consumer`, a mock's `address`); later values are counted as `other`, so that random
    /// input cannot grow memory or the scrape without bound. Default 1000, at most 10000.
    pub max_label_values: usize,
}

/// The largest `metrics.max_label_values` accepted. A label's values are numbered in 16 bits,
/// and each new value copies the label's read-mostly map (lookups take no lock): values up to
/// the cap cost n²/2 entry copies in all, 50 million at 10,000, under the writers' lock, on
/// the request that brings the value. Past that the copies, not the memory, would hurt.
pub const MAX_LABEL_VALUES: usize = 10_000;

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            max_label_values: 1000,
        }
    }
}

/// Default of `live_requests`.
pub const DEFAULT_LIVE_REQUESTS: usize = 1000;

/// Largest `live_requests`: 312 MB of summaries.
pub const MAX_LIVE_REQUESTS: usize = 1_000_000;

/// Default of `max_order_bytes`: 512 MiB.
pub const DEFAULT_MAX_ORDER_BYTES: usize = 512 * 1024 * 1024;

/// The routing core's settings, shared by all environments (VP's `application.properties`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouterConfig {
    /// Largest request body accepted, in bytes (VP: 15728640). Larger requests get VP015 and
    /// the connection is closed without reading the rest.
    pub max_request_bytes: usize,
    /// How long a consumer may take to complete its TLS handshake, its request head, and each
    /// part of its request body, in milliseconds. A client that stops sending is cut off then.
    pub client_read_timeout_ms: u64,
    /// How long a consumer may take to send its whole request body, in milliseconds, counted
    /// from when its head has arrived (default 60000). A client that keeps sending a little at
    /// a time is cut off then with VP015, also while a large body is being passed on.
    pub request_body_timeout_ms: u64,
    /// TCP connect timeout towards producers, ms (VP: `producer.http(s).connect.timeout` 2000).
    pub producer_connect_timeout_ms: u64,
    /// Response timeout towards producers when `timeout_config` names none for the contract, ms
    /// (VP's `default_timeouts` entry: 29000).
    pub producer_timeout_ms: u64,
    /// Optional `timeoutconfig.json` in the real VP's shape: `[{"tjanstekontrakt": ns,
    /// "producertimeout": ms}, ...]` with a `default_timeouts` entry.
    pub timeout_config: Option<PathBuf>,
    /// Redeliveries after a failed TCP connect to a producer or a reset before its answer (a
    /// body still arriving from the consumer is not sent twice); none after a TLS failure,
    /// a status, a timeout or a close (VP: `vp.producer.retry.attempts` 1).
    pub producer_retry_attempts: u32,
    /// Pause before such a retry, ms (VP: `vp.producer.retry.delay` 2000).
    pub producer_retry_delay_ms: u64,
    /// Send `x-skltp-correlation-id` to `https://` producers too (VP:
    /// `propagate.correlation.id.for.https`; always sent to `http://` producers). The testbed's
    /// default is true, so the (https) mock producers can record and filter by it; VP's is
    /// false.
    pub propagate_correlation_id_for_https: bool,
    /// `User-Agent` towards producers (VP: `vp.header.user.agent`).
    pub user_agent: String,
    /// Idle keep-alive connections kept per producer host.
    pub producer_pool_max_idle_per_host: usize,
    /// HSA cache files in the real `hsacache.xml` format (VP: `hsa.files`, "first master, rest
    /// complementary"), read at start-up and on `POST /resethsacache`; route and authorisation
    /// lookups climb their tree. Empty (the default): no tree, every address has the parent
    /// `SE`.
    pub hsa_files: Vec<PathBuf>,
    /// Old-style default routing (`VG#VE` addresses; VP: `defaultrouting.*`).
    pub default_routing: DefaultRoutingConfig,
    /// Where lookups climb the HSA tree (VP: `hsa.lookup.*`).
    pub hsa_lookup: HsaLookupConfig,
    /// Write message bodies into the log: the request's into `req-in`
    /// (`http.request.body.content`), the producer's answer into `resp-in`
    /// (`http.response.body.content`), each at most 64 KiB. Default false (VP logs payloads
    /// only with its message loggers at DEBUG; they may hold patient data).
    pub log_bodies: bool,
}

/// Old-style default routing (VP's `defaultrouting.*`, takdatahandler's
/// `DefaultRoutingConfiguration`): a logical address holding the delimiter (`VG#VE`) is split
/// and its parts tried last first, with no HSA climb and no `*`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DefaultRoutingConfig {
    /// `defaultrouting.delimiter` (default `#`); every character of it splits. Empty: off.
    pub delimiter: String,
    /// `defaultrouting.allowedContracts`: contract namespaces whose calls may be authorised
    /// through such an address (exact, case-sensitive). Empty (default): all.
    pub allowed_contracts: Vec<String>,
    /// `defaultrouting.allowedSenderIds`: consumers who may use such an address. Empty
    /// (default): all.
    pub allowed_sender_ids: Vec<String>,
}

impl Default for DefaultRoutingConfig {
    fn default() -> Self {
        DefaultRoutingConfig {
            delimiter: "#".to_string(),
            allowed_contracts: Vec::new(),
            allowed_sender_ids: Vec::new(),
        }
    }
}

/// Where route (`vagval`) and authorisation (`behorighet`) lookups climb the HSA tree (VP's
/// `hsa.lookup.vagval.*` and `hsa.lookup.behorighet.*`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HsaLookupConfig {
    /// Route lookups (vägval).
    pub vagval: HsaLookupSwitch,
    /// Authorisation lookups (behörighet).
    pub behorighet: HsaLookupSwitch,
}

/// One lookup's HSA climb switch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HsaLookupSwitch {
    /// `defaultEnabled` (default true).
    pub default_enabled: bool,
    /// `exceptedNamespaces`: contract namespaces starting with one of these get the opposite
    /// of `default_enabled` (prefix, case-sensitive). Default: none.
    pub excepted_namespaces: Vec<String>,
}

impl Default for HsaLookupSwitch {
    fn default() -> Self {
        HsaLookupSwitch {
            default_enabled: true,
            excepted_namespaces: Vec::new(),
        }
    }
}

/// Most connections a listener holds open at once (TOML `[connection_limits]`). Beyond them
/// a plain-HTTP listener (a router's `http`, `admin`) answers 503 with a text saying so and
/// closes; a TLS listener (a router's `https`, `mocks`) closes the connection before the
/// handshake (a handshake costs the CPU the limit protects, and there is nothing to say an
/// HTTP status over before it). Connections within the limit are served as before. At
/// start-up the process raises its open-files limit as far as it may and warns when the
/// limits together exceed it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionLimits {
    /// Per router listener: each environment's `https` and `http`, each on its own. Default 4096.
    pub router: usize,
    /// The mock producers' listener (the routers' pooled connections land here). Default 4096.
    pub mocks: usize,
    /// The admin listener (health checks, the order API, the CLI). Default 256.
    pub admin: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            router: 4096,
            mocks: 4096,
            admin: 256,
        }
    }
}

/// The largest connection limit accepted (far more than one process's file descriptors).
pub const MAX_CONNECTION_LIMIT: usize = 1_000_000;

impl ConnectionLimits {
    /// The limits of the listeners a process runs added up: `routed_envs` environments with
    /// 2 router listeners each, the mocks if it runs them, and the admin listener.
    pub fn total_for(&self, routed_envs: usize, mocks: bool) -> usize {
        self.router
            .saturating_mul(2 * routed_envs)
            .saturating_add(if mocks { self.mocks } else { 0 })
            .saturating_add(self.admin)
    }
}

/// One entry per platform. TOML: `[environments.sit]`, `[environments.qa]`, `[environments.prod]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environments {
    /// SIT (first test): platform `NTJP-TEST`.
    #[serde(default = "EnvConfig::default_sit")]
    pub sit: EnvConfig,
    /// QA (end-to-end tests): platform `NTJP-QA`.
    #[serde(default = "EnvConfig::default_qa")]
    pub qa: EnvConfig,
    /// PROD: platform `NTJP-PROD`.
    #[serde(default = "EnvConfig::default_prod")]
    pub prod: EnvConfig,
}

/// One platform instance: its TAK and its router listeners.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    /// TAK platform name; orders must name it in `plattform` (e.g. `NTJP-TEST`).
    pub platform: String,
    /// `vp.instance.name`: shown in every fault string, `VPxxx [<name>] ...`.
    pub instance_name: String,
    /// `vp.instance.id`: compared with `x-vp-instance-id` and written to
    /// `x-rivta-routing-history`.
    pub instance_id: String,
    /// HTTPS listener with mandatory client certificates.
    pub https: SocketAddr,
    /// Plain-HTTP listener for whitelisted callers.
    pub http: SocketAddr,
    /// `ip.whitelist`: prefixes of peer addresses allowed on the plain-HTTP listener.
    /// Empty refuses everyone (VP011), as the real VP's code does.
    #[serde(default = "default_whitelist")]
    pub ip_whitelist: Vec<String>,
    /// `sender.id.allowed.list`: consumers allowed to set
    /// `x-rivta-original-serviceconsumer-hsaid`; empty allows everyone.
    #[serde(default)]
    pub original_consumer_allowed: Vec<String>,
    /// `throw.vp013.when.originalconsumer.not.allowed`: refuse (VP013) instead of logging a
    /// warning when a sender outside `original_consumer_allowed` sets the header.
    #[serde(default)]
    pub refuse_original_consumer: bool,
    /// Directory of order files (`*.json`, applied in file-name order) that fill this
    /// environment's TAK at start-up. Unset: the orders built into the binary (the same files
    /// as `fixtures/orders/<env>/`). The token `{{mocks}}` in an order is replaced by the base
    /// URL of the built-in mock producers before the order is parsed.
    #[serde(default)]
    pub orders_dir: Option<PathBuf>,
    /// RIVTA profiles this TAK knows besides `RIVTABP20` and `RIVTABP21`. Orders cannot
    /// create profiles (the real TAK's administrators do); a route with a profile the router
    /// cannot convert to gets VP005.
    #[serde(default)]
    pub extra_rivta_profiles: Vec<String>,
    /// A TAK export in the real `TAK-published-version` JSON format (what `GET
    /// /api/<env>/tak/export` and real TAK's PubVersion blob hold) to start the environment's
    /// TAK from, e.g. `tak_export = "tak-qa.json"`. It is configuration: loaded at every start,
    /// before the journal is replayed on top of it; its checksum is kept beside the journal, and
    /// a file that changed since the journal began is refused at start (naming it). Default:
    /// none (an empty TAK filled by the start-up orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tak_export: Option<PathBuf>,
    /// Publish every order right after it is executed (default). Off: orders leave pending
    /// changes the router does not see until `POST /api/<env>/publish`, as in real TAK.
    #[serde(default = "yes")]
    pub auto_publish: bool,
    /// A router node (`cluster.role = "router"`) reads this environment's TAK from this
    /// `SokVagvalsInfo` v2 endpoint, e.g. a real TAK's
    /// `http://tak-services:8080/tak-services/SokVagvalsInfo/v2`. Default: the order service's,
    /// `<cluster.orders_url>/tak/<env>/SokVagvalsInfo/v2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tak_url: Option<String>,
}

fn yes() -> bool {
    true
}

fn default_whitelist() -> Vec<String> {
    vec!["127.0.0.1".to_string()]
}

fn addr(s: &str) -> SocketAddr {
    // Only called on the literals below.
    s.parse().unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
}

impl EnvConfig {
    fn new(platform: &str, https: &str, http: &str) -> Self {
        EnvConfig {
            platform: platform.to_string(),
            instance_name: platform.to_string(),
            instance_id: platform.to_string(),
            https: addr(https),
            http: addr(http),
            ip_whitelist: default_whitelist(),
            original_consumer_allowed: Vec::new(),
            refuse_original_consumer: false,
            orders_dir: None,
            extra_rivta_profiles: Vec::new(),
            tak_export: None,
            auto_publish: true,
            tak_url: None,
        }
    }
    /// SIT defaults: `NTJP-TEST`, HTTPS 20000, HTTP 20080.
    pub fn default_sit() -> Self {
        Self::new("NTJP-TEST", "127.0.0.1:20000", "127.0.0.1:20080")
    }
    /// QA defaults: `NTJP-QA`, HTTPS 21000, HTTP 21080.
    pub fn default_qa() -> Self {
        Self::new("NTJP-QA", "127.0.0.1:21000", "127.0.0.1:21080")
    }
    /// PROD defaults: `NTJP-PROD`, HTTPS 22000, HTTP 22080.
    pub fn default_prod() -> Self {
        Self::new("NTJP-PROD", "127.0.0.1:22000", "127.0.0.1:22080")
    }
}

impl Default for Environments {
    fn default() -> Self {
        Environments {
            sit: EnvConfig::default_sit(),
            qa: EnvConfig::default_qa(),
            prod: EnvConfig::default_prod(),
        }
    }
}

impl Environments {
    /// The environment's settings.
    pub fn get(&self, name: EnvName) -> &EnvConfig {
        match name {
            EnvName::Sit => &self.sit,
            EnvName::Qa => &self.qa,
            EnvName::Prod => &self.prod,
        }
    }
    /// The environment's settings, mutable.
    pub fn get_mut(&mut self, name: EnvName) -> &mut EnvConfig {
        match name {
            EnvName::Sit => &mut self.sit,
            EnvName::Qa => &mut self.qa,
            EnvName::Prod => &mut self.prod,
        }
    }
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            client_read_timeout_ms: 30_000,
            request_body_timeout_ms: 60_000,
            producer_connect_timeout_ms: 2_000,
            producer_timeout_ms: 29_000,
            timeout_config: None,
            producer_retry_attempts: 1,
            producer_retry_delay_ms: 2_000,
            propagate_correlation_id_for_https: true,
            user_agent: "SKLTP VP/4.3.x".to_string(),
            producer_pool_max_idle_per_host: 64,
            hsa_files: Vec::new(),
            default_routing: DefaultRoutingConfig::default(),
            hsa_lookup: HsaLookupConfig::default(),
            log_bodies: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            state_dir: PathBuf::from(".ntjp"),
            admin: addr("127.0.0.1:24000"),
            mocks: addr("127.0.0.1:25000"),
            router: RouterConfig::default(),
            environments: Environments::default(),
            mock_producers: mocks::MockConfig::default(),
            max_order_bytes: DEFAULT_MAX_ORDER_BYTES,
            admin_allowed_hosts: Vec::new(),
            admin_body_timeout_ms: 300_000,
            connection_limits: ConnectionLimits::default(),
            pki: pki::PkiConfig::default(),
            live_requests: DEFAULT_LIVE_REQUESTS,
            metrics: MetricsConfig::default(),
            clock: clock::ClockConfig::default(),
            cluster: cluster::ClusterConfig::default(),
        }
    }
}

impl RouterConfig {
    /// See [`RouterConfig::client_read_timeout_ms`].
    pub fn client_read_timeout(&self) -> Duration {
        Duration::from_millis(self.client_read_timeout_ms)
    }
    /// See [`RouterConfig::request_body_timeout_ms`].
    pub fn request_body_timeout(&self) -> Duration {
        Duration::from_millis(self.request_body_timeout_ms)
    }
    /// See [`RouterConfig::producer_connect_timeout_ms`].
    pub fn producer_connect_timeout(&self) -> Duration {
        Duration::from_millis(self.producer_connect_timeout_ms)
    }
    /// See [`RouterConfig::producer_retry_delay_ms`].
    pub fn producer_retry_delay(&self) -> Duration {
        Duration::from_millis(self.producer_retry_delay_ms)
    }
}

impl Config {
    /// See [`Config::admin_body_timeout_ms`].
    pub fn admin_body_timeout(&self) -> Duration {
        Duration::from_millis(self.admin_body_timeout_ms)
    }

    /// Reads a TOML file laid over the defaults (no environment variables); keys not given
    /// keep their defaults, also inside a section the file names. See [`layers::load`].
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        Ok(layers::load(Some(path), [], &[])?.config)
    }

    /// Where the PKI is: `pki.dir`, else `<state_dir>/pki`.
    pub fn pki_dir(&self) -> PathBuf {
        self.pki
            .dir
            .clone()
            .unwrap_or_else(|| self.state_dir.join("pki"))
    }

    /// Where a router node keeps its local TAK copies: `cluster.tak_cache_dir`, else
    /// `<state_dir>/takcache`.
    pub fn tak_cache_dir(&self) -> PathBuf {
        self.cluster
            .tak_cache_dir
            .clone()
            .unwrap_or_else(|| self.state_dir.join("takcache"))
    }

    /// The `SokVagvalsInfo` v2 URL a router node reads `env`'s TAK from.
    pub fn tak_url(&self, env: EnvName) -> String {
        match &self.environments.get(env).tak_url {
            Some(url) => url.clone(),
            None => format!(
                "{}/tak/{env}/SokVagvalsInfo/v2",
                self.cluster.orders_url.trim_end_matches('/')
            ),
        }
    }

    /// Sets every listener's port to 0, so the OS picks free ports (`endpoints.json` shows them).
    pub fn use_ephemeral_ports(&mut self) {
        self.admin.set_port(0);
        self.mocks.set_port(0);
        for env in EnvName::ALL {
            let e = self.environments.get_mut(env);
            e.https.set_port(0);
            e.http.set_port(0);
        }
    }

    /// Checks values that serde cannot: ranges, uniqueness of fixed ports and platform names.
    /// Each message starts with the key at fault.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_limits()?;
        self.mock_producers.check().map_err(ConfigError::Invalid)?;
        self.clock.check().map_err(ConfigError::Invalid)?;
        self.validate_allowed_hosts()?;
        self.pki.check().map_err(ConfigError::Invalid)?;
        self.cluster.check().map_err(ConfigError::Invalid)?;
        for env in EnvName::ALL {
            if let Some(url) = &self.environments.get(env).tak_url {
                cluster::check_http_url(&format!("environments.{env}.tak_url"), url)
                    .map_err(ConfigError::Invalid)?;
            }
        }
        self.validate_platforms()?;
        self.validate_listeners()
    }

    /// Sizes, timeouts and connection limits: none 0, connection limits within reason.
    fn validate_limits(&self) -> Result<(), ConfigError> {
        let r = &self.router;
        let limits = &self.connection_limits;
        for (key, value) in [
            ("max_order_bytes", self.max_order_bytes as u64),
            ("router.max_request_bytes", r.max_request_bytes as u64),
            ("router.client_read_timeout_ms", r.client_read_timeout_ms),
            (
                "router.producer_connect_timeout_ms",
                r.producer_connect_timeout_ms,
            ),
            ("router.producer_timeout_ms", r.producer_timeout_ms),
            ("router.request_body_timeout_ms", r.request_body_timeout_ms),
            ("admin_body_timeout_ms", self.admin_body_timeout_ms),
            ("live_requests", self.live_requests as u64),
            ("connection_limits.router", limits.router as u64),
            ("connection_limits.mocks", limits.mocks as u64),
            ("connection_limits.admin", limits.admin as u64),
            (
                "metrics.max_label_values",
                self.metrics.max_label_values as u64,
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!(
                    "{key} must be greater than 0"
                )));
            }
        }
        for (key, value) in [
            ("connection_limits.router", limits.router),
            ("connection_limits.mocks", limits.mocks),
            ("connection_limits.admin", limits.admin),
        ] {
            if value > MAX_CONNECTION_LIMIT {
                return Err(ConfigError::Invalid(format!(
                    "{key} = {value} is more than {MAX_CONNECTION_LIMIT}"
                )));
            }
        }
        if self.live_requests > MAX_LIVE_REQUESTS {
            return Err(ConfigError::Invalid(format!(
                "live_requests = {} is more than {MAX_LIVE_REQUESTS}",
                self.live_requests
            )));
        }
        if self.metrics.max_label_values > MAX_LABEL_VALUES {
            return Err(ConfigError::Invalid(format!(
                "metrics.max_label_values = {} is more than {MAX_LABEL_VALUES}",
                self.metrics.max_label_values
            )));
        }
        Ok(())
    }

    /// `admin_allowed_hosts` holds host names or addresses, not URLs.
    fn validate_allowed_hosts(&self) -> Result<(), ConfigError> {
        for host in &self.admin_allowed_hosts {
            let bad = host.trim().is_empty()
                || host
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '/' | '@' | '?' | '#'));
            if bad {
                return Err(ConfigError::Invalid(format!(
                    "admin_allowed_hosts: {host:?} is not a host name or address (give names \
                     like \"ntjp.svc\" or addresses like \"10.0.0.7\", without scheme or path)"
                )));
            }
        }
        Ok(())
    }

    /// Every environment names a platform of its own.
    fn validate_platforms(&self) -> Result<(), ConfigError> {
        let mut platforms: Vec<&str> = Vec::new();
        for env in EnvName::ALL {
            let e = self.environments.get(env);
            if e.platform.trim().is_empty() {
                return Err(ConfigError::Invalid(format!(
                    "environments.{env}.platform must not be empty"
                )));
            }
            if platforms.contains(&e.platform.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "environments.{env}.platform {:?} is used by another environment",
                    e.platform
                )));
            }
            platforms.push(&e.platform);
        }
        Ok(())
    }

    /// No two listeners on the same fixed address (port 0 lets the OS choose).
    fn validate_listeners(&self) -> Result<(), ConfigError> {
        let role = self.cluster.role;
        let mut listeners = vec![("admin".to_string(), self.admin)];
        if role.mocks() {
            listeners.push(("mocks".to_string(), self.mocks));
        }
        for env in EnvName::ALL.into_iter().filter(|e| self.cluster.routes(*e)) {
            let e = self.environments.get(env);
            listeners.push((format!("environments.{env}.https"), e.https));
            listeners.push((format!("environments.{env}.http"), e.http));
        }
        let mut seen: Vec<(String, SocketAddr)> = Vec::new();
        for (key, a) in listeners {
            if a.port() != 0
                && let Some((other, _)) = seen.iter().find(|(_, b)| *b == a)
            {
                return Err(ConfigError::Invalid(format!(
                    "{key} and {other} both listen on {a}"
                )));
            }
            seen.push((key, a));
        }
        Ok(())
    }

    /// The effective configuration as TOML, for `ntjp config show`.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_roundtrip_through_toml() {
        let c = Config::default();
        c.validate().unwrap();
        let back: Config = toml::from_str(&c.to_toml()).unwrap();
        assert_eq!(back.environments.sit.platform, "NTJP-TEST");
        assert_eq!(back.environments.qa.platform, "NTJP-QA");
        assert_eq!(back.environments.prod.platform, "NTJP-PROD");
        assert_eq!(back.router.max_request_bytes, 15_728_640);
    }

    #[test]
    fn partial_file_keeps_defaults_and_unknown_keys_are_named() {
        let c: Config = toml::from_str("[environments.qa]\nplatform = \"X\"\ninstance_name = \"X\"\ninstance_id = \"x\"\nhttps = \"127.0.0.1:1\"\nhttp = \"127.0.0.1:2\"\n").unwrap();
        assert_eq!(c.environments.qa.platform, "X");
        assert_eq!(c.environments.sit.platform, "NTJP-TEST");
        let err = toml::from_str::<Config>("[router]\nmax_request_byte = 1\n").unwrap_err();
        assert!(err.to_string().contains("max_request_byte"), "{err}");
    }

    #[test]
    fn connection_limits_and_body_timeouts_are_checked_by_name() {
        let c: Config = toml::from_str("[connection_limits]\nadmin = 8\n").unwrap();
        assert_eq!(
            (c.connection_limits.admin, c.connection_limits.router),
            (8, 4096)
        );
        let mut c = Config::default();
        c.connection_limits.router = 0;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("connection_limits.router"), "{err}");
        c.connection_limits.router = MAX_CONNECTION_LIMIT + 1;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("connection_limits.router"), "{err}");
        let mut c = Config::default();
        c.router.request_body_timeout_ms = 0;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("router.request_body_timeout_ms"), "{err}");
        assert!(Config::default().to_toml().contains("[connection_limits]"));
    }

    #[test]
    fn clashing_ports_are_refused_but_ephemeral_ones_are_not() {
        let mut c = Config::default();
        c.mocks = c.admin;
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("mocks and admin"), "{err}");
        c.use_ephemeral_ports();
        c.validate().unwrap();
    }
}
