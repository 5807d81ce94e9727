//! The order service of the testbed (modelled on Beställningsstödet and tak-web): for every
//! environment its TAK [`Store`], the published snapshot its router reads, its simulated
//! [`Clock`], the orders it accepted and their reports; shared by all environments the form
//! registry and the journal.
//!
//! Every change is applied to a copy of the store first; only when TAK accepts the whole
//! order and the journal entry is on disk does the copy replace the store (and, when the
//! environment publishes automatically, does the new snapshot reach the router). A restart
//! replays the journal to the same state. The admin API and the CLI call this module; the
//! router only reads the [`TakCell`] and [`Clock`] of its environment.
//!
//! Methods here block (journal fsync): async callers run them with `spawn_blocking`.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    clock::Clock,
    config::{Config, EnvName},
    journal::{Journal, JournalError},
    orders::{
        self,
        forms::{
            ConsumerForm, FormError, Forms, PreStudy, PreparedOrder, ProducerForm, SystemInfo,
        },
    },
    router::TakCell,
    tak::{Day, Snapshot, Store},
};

/// The token in order files replaced by the mock producers' base URL. Orders are journaled
/// with the token, so a restart on other ports still routes to the mocks.
pub const MOCKS_TOKEN: &str = "{{mocks}}";

/// Who submitted an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OrderSource {
    /// A start-up order file.
    File {
        /// File name.
        name: String,
    },
    /// Raw JSON through the API or `ntjp order apply`.
    Api,
    /// The consumer form.
    ConsumerForm,
    /// The producer form.
    ProducerForm,
}

/// Publishing details carried by an order entry (auto-publish) or a publish entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishInfo {
    /// Who published (utförare).
    pub executor: String,
    /// Why (kommentar).
    pub comment: String,
}

/// One journal event. Replaying them in order rebuilds every environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// An accepted order (text with the mocks token), optionally published at once.
    Order {
        /// Environment.
        env: EnvName,
        /// Who sent it.
        source: OrderSource,
        /// The order as submitted.
        json: String,
        /// Published in the same step.
        publish: Option<PublishInfo>,
        /// The form it came from, for the one-order-per-system rule.
        form: Option<PreparedOrder>,
    },
    /// A publish.
    Publish {
        /// Environment.
        env: EnvName,
        /// Details.
        info: PublishInfo,
    },
    /// A rollback of the latest version.
    Rollback {
        /// Environment.
        env: EnvName,
        /// The version rolled back.
        version: u64,
    },
    /// The environment's clock was moved.
    Clock {
        /// Environment.
        env: EnvName,
        /// New offset from real time, days.
        offset_days: i64,
    },
    /// Automatic publishing switched.
    Settings {
        /// Environment.
        env: EnvName,
        /// Publish right after each order.
        auto_publish: bool,
    },
    /// A system registered (systeminformation).
    System {
        /// The form.
        system: SystemInfo,
    },
    /// A pre-study registered (förstudie).
    PreStudy {
        /// The record.
        prestudy: PreStudy,
    },
}

/// The result of the connection test the platform's operators run after configuring a
/// producer.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionTest {
    /// The producer URL tested.
    pub url: String,
    /// The route's logical address.
    pub logical_address: String,
    /// The first day the route is valid; the test runs from then on.
    pub from: Day,
    /// `pending`, `ok` or `failed`.
    pub status: String,
    /// What happened.
    pub detail: String,
    /// When it ran.
    pub at: Option<DateTime<Utc>>,
}

/// An accepted order as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OrderRecord {
    /// Number within the environment, from 1.
    pub id: u64,
    /// The environment.
    pub env: EnvName,
    /// Who sent it.
    pub source: OrderSource,
    /// When it was accepted.
    pub accepted_at: DateTime<Utc>,
    /// genomförandetidpunkt's day.
    pub execution_day: Option<Day>,
    /// The snapshot version it was published in, if any yet.
    pub published_version: Option<u64>,
    /// TAK's report (per section, status and row).
    pub report: serde_json::Value,
    /// The same report in tak-web's plain-text rendering.
    pub report_text: String,
    /// The order as submitted.
    pub json: String,
    /// Connection tests of the routes it created.
    pub connection_tests: Vec<ConnectionTest>,
}

/// Why a request to the order service failed; each variant maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The order text is not a readable order (HTTP 400).
    #[error("{0}")]
    Parse(String),
    /// TAK refused the order; nothing changed (HTTP 422). Messages as tak-web words them.
    #[error("JsonBestallning ERROR:::\n{}", messages.join("\n"))]
    Rejected {
        /// The de-duplicated messages.
        messages: Vec<String>,
        /// The order that was refused (for forms: the generated JSON).
        json: Option<String>,
    },
    /// A form rule was broken (HTTP 422).
    #[error(transparent)]
    Form(Box<FormError>),
    /// Publish/rollback refused, unknown version, bad clock value... (HTTP 409/400).
    #[error("{0}")]
    Conflict(String),
    /// Nothing with that id (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The journal could not be written: nothing changed (HTTP 500).
    #[error("journal: {0}")]
    Journal(#[from] JournalError),
}

impl From<FormError> for ServiceError {
    fn from(e: FormError) -> Self {
        ServiceError::Form(Box::new(e))
    }
}

/// Makes `event` durable in the journal (when `record` and a journal is open). Called before
/// any state changes, so a failure leaves the state as it was.
fn persist(
    journal: Option<&mut Journal>,
    record: bool,
    at: DateTime<Utc>,
    event: &Event,
) -> Result<(), ServiceError> {
    let (true, Some(journal)) = (record, journal) else {
        return Ok(());
    };
    let value = serde_json::to_value(event)
        .map_err(|e| ServiceError::Conflict(format!("the change cannot be journaled: {e}")))?;
    journal.append(at, value)?;
    Ok(())
}

/// What the router of an environment reads: the published TAK and the clock.
pub struct Platform {
    /// Which environment.
    pub env: EnvName,
    /// Its TAK platform name.
    pub name: String,
    /// The published snapshot.
    pub tak: TakCell,
    /// Its clock.
    pub clock: Arc<Clock>,
    auto_publish: AtomicBool,
}

impl Platform {
    /// Whether orders are published as soon as they are executed.
    pub fn auto_publish(&self) -> bool {
        self.auto_publish.load(Ordering::Relaxed)
    }
}

struct EnvState {
    store: Store,
    orders: Vec<OrderRecord>,
}

struct Core {
    journal: Option<Journal>,
    forms: Forms,
    envs: BTreeMap<EnvName, EnvState>,
}

/// Every environment's order service, the forms and the journal.
pub struct Platforms {
    platforms: BTreeMap<EnvName, Arc<Platform>>,
    core: Mutex<Core>,
    mocks_base: String,
}

/// A connection test that is due: (environment, order id, index of the test).
pub type DueTest = (EnvName, u64, usize);

/// How the environments were filled at start-up.
pub struct Opened {
    /// The service.
    pub platforms: Arc<Platforms>,
    /// Journal entries replayed (0: a fresh journal, filled from the start-up orders).
    pub replayed: usize,
    /// A torn journal tail that was cut off.
    pub warning: Option<String>,
}

/// Start-up failure of the order service.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The journal is damaged (not at its tail) or unreadable.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A journal entry does not apply any more (e.g. a hand-edited journal).
    #[error("journal {path}: entry {seq} cannot be replayed: {reason}")]
    Replay {
        /// The journal.
        path: String,
        /// The entry.
        seq: u64,
        /// Why.
        reason: String,
    },
    /// The start-up order files could not be read.
    #[error("cannot read orders for {env} from {path}: {source}")]
    OrdersDir {
        /// Environment.
        env: EnvName,
        /// The directory or file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A start-up order file was refused.
    #[error("order {file} for {env} ({platform}) was refused:\n  {}", messages.join("\n  "))]
    Order {
        /// Environment.
        env: EnvName,
        /// Its platform name.
        platform: String,
        /// The order file.
        file: String,
        /// TAK's messages.
        messages: Vec<String>,
    },
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a half-applied order (changes are applied
    // to a copy), so the data is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Platforms {
    /// Builds every environment: replays the journal at `journal_path` if it has entries,
    /// else applies the start-up orders (`files` per environment) and journals them.
    /// `journal_path` None: nothing is persisted (tests of the core only).
    pub fn open(
        config: &Config,
        mocks_base: &str,
        journal_path: Option<&Path>,
        files: &dyn Fn(EnvName) -> Result<Vec<(String, String)>, OpenError>,
    ) -> Result<Opened, OpenError> {
        let mut platforms = BTreeMap::new();
        let mut envs = BTreeMap::new();
        for env in EnvName::ALL {
            let cfg = config.environments.get(env);
            let store = crate::journal::initial_store(env, cfg, journal_path)?;
            envs.insert(
                env,
                EnvState {
                    store,
                    orders: Vec::new(),
                },
            );
            platforms.insert(
                env,
                Arc::new(Platform {
                    env,
                    name: cfg.platform.clone(),
                    tak: Arc::new(arc_swap::ArcSwapOption::empty()),
                    clock: Arc::new(Clock::new()),
                    auto_publish: AtomicBool::new(cfg.auto_publish),
                }),
            );
        }
        let (journal, recovered) = match journal_path {
            Some(p) => {
                let (j, r) = Journal::open(p)?;
                (Some(j), Some(r))
            }
            None => (None, None),
        };
        let this = Arc::new(Platforms {
            platforms,
            core: Mutex::new(Core {
                journal,
                forms: Forms::default(),
                envs,
            }),
            mocks_base: mocks_base.to_string(),
        });
        let (entries, warning) = match recovered {
            Some(r) => (r.entries, r.warning),
            None => (Vec::new(), None),
        };
        let replayed = entries.len();
        if entries.is_empty() {
            for env in EnvName::ALL {
                let list = files(env)?;
                let platform = config.environments.get(env).platform.clone();
                for (file, text) in list {
                    let source = OrderSource::File { name: file.clone() };
                    if let Err(e) = this.submit(env, &text, source, Some(false), None) {
                        let messages = match e {
                            ServiceError::Rejected { messages, .. } => messages,
                            other => vec![other.to_string()],
                        };
                        return Err(OpenError::Order {
                            env,
                            platform,
                            file,
                            messages,
                        });
                    }
                }
                let info = PublishInfo {
                    executor: "ntjp serve".into(),
                    comment: "Beställningar vid start".into(),
                };
                if let Err(e) = this.publish(env, info) {
                    return Err(OpenError::Order {
                        env,
                        platform,
                        file: "(publish)".into(),
                        messages: vec![e.to_string()],
                    });
                }
            }
        } else {
            let path = journal_path
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            for entry in entries {
                let seq = entry.seq;
                let fail = |reason: String| OpenError::Replay {
                    path: path.clone(),
                    seq,
                    reason,
                };
                let event: Event = match serde_json::from_value(entry.event) {
                    Ok(e) => e,
                    Err(e) => return Err(fail(format!("unknown event: {e}"))),
                };
                if let Err(e) = this.apply_event(&event, entry.at, false) {
                    return Err(fail(e.to_string()));
                }
            }
        }
        Ok(Opened {
            platforms: this,
            replayed,
            warning,
        })
    }

    /// The environment's router-facing state.
    pub fn platform(&self, env: EnvName) -> &Arc<Platform> {
        // Every EnvName has a platform (filled in `open`).
        &self.platforms[&env]
    }

    /// All environments.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Platform>> {
        self.platforms.values()
    }

    /// Base URL replacing [`MOCKS_TOKEN`].
    pub fn mocks_base(&self) -> &str {
        &self.mocks_base
    }

    /// Applies one event: to the state, and (when `record`, i.e. not replaying) to the
    /// journal before the state changes. Returns the new order record for orders.
    fn apply_event(
        &self,
        event: &Event,
        at: DateTime<Utc>,
        record: bool,
    ) -> Result<Option<OrderRecord>, ServiceError> {
        let mut core = lock(&self.core);
        let core = &mut *core;
        match event {
            Event::Order {
                env,
                source,
                json,
                publish,
                form,
            } => {
                let text = json.replace(MOCKS_TOKEN, &self.mocks_base);
                let order = orders::parse(&text).map_err(|e| ServiceError::Parse(e.to_string()))?;
                let state = core
                    .envs
                    .get_mut(env)
                    .ok_or_else(|| ServiceError::NotFound(format!("no environment {env}")))?;
                let mut candidate = state.store.clone();
                let report =
                    orders::apply(&mut candidate, &order).map_err(|r| ServiceError::Rejected {
                        messages: r.messages,
                        json: Some(json.clone()),
                    })?;
                let snapshot = publish
                    .as_ref()
                    .map(|p| candidate.publish(&p.executor, &p.comment, at));
                persist(core.journal.as_mut(), record, at, event)?;
                state.store = candidate;
                if let Some(prepared) = form {
                    core.forms.record(prepared);
                }
                let platform = self.platform(*env);
                let version = snapshot.as_ref().map(|s| s.version());
                if let Some(s) = snapshot {
                    platform.tak.store(Some(s));
                }
                let execution_day = order.execution_day();
                // The operators test producers that orders connect; the start-up files are
                // the testbed's own configuration.
                let tested: &[crate::orders::format::RouteItem] = match source {
                    OrderSource::File { .. } => &[],
                    _ => &order.include.routes,
                };
                let connection_tests = tested
                    .iter()
                    .filter_map(|r| {
                        Some(ConnectionTest {
                            url: r.url.clone()?,
                            logical_address: r.logical_address.clone().unwrap_or_default(),
                            from: execution_day?,
                            status: "pending".into(),
                            detail: "waits for the execution day".into(),
                            at: None,
                        })
                    })
                    .collect();
                let record = OrderRecord {
                    id: state.orders.len() as u64 + 1,
                    env: *env,
                    source: source.clone(),
                    accepted_at: at,
                    execution_day,
                    published_version: version,
                    report: serde_json::to_value(&report).unwrap_or_default(),
                    report_text: report.to_text(),
                    json: json.clone(),
                    connection_tests,
                };
                state.orders.push(record.clone());
                Ok(Some(record))
            }
            Event::Publish { env, info } => {
                let state = core
                    .envs
                    .get_mut(env)
                    .ok_or_else(|| ServiceError::NotFound(format!("no environment {env}")))?;
                let mut candidate = state.store.clone();
                let snapshot = candidate.publish(&info.executor, &info.comment, at);
                persist(core.journal.as_mut(), record, at, event)?;
                state.store = candidate;
                let version = snapshot.version();
                for o in state
                    .orders
                    .iter_mut()
                    .filter(|o| o.published_version.is_none())
                {
                    o.published_version = Some(version);
                }
                self.platform(*env).tak.store(Some(snapshot));
                Ok(None)
            }
            Event::Rollback { env, version } => {
                let state = core
                    .envs
                    .get_mut(env)
                    .ok_or_else(|| ServiceError::NotFound(format!("no environment {env}")))?;
                let mut candidate = state.store.clone();
                let latest = candidate
                    .rollback(*version)
                    .map_err(|e| ServiceError::Conflict(e.to_string()))?;
                persist(core.journal.as_mut(), record, at, event)?;
                state.store = candidate;
                for o in state
                    .orders
                    .iter_mut()
                    .filter(|o| o.published_version == Some(*version))
                {
                    o.published_version = None;
                }
                self.platform(*env).tak.store(latest);
                Ok(None)
            }
            Event::Clock { env, offset_days } => {
                persist(core.journal.as_mut(), record, at, event)?;
                self.platform(*env).clock.set_offset_days(*offset_days);
                Ok(None)
            }
            Event::Settings { env, auto_publish } => {
                persist(core.journal.as_mut(), record, at, event)?;
                self.platform(*env)
                    .auto_publish
                    .store(*auto_publish, Ordering::Relaxed);
                Ok(None)
            }
            Event::System { system } => {
                let mut forms = core.forms.clone();
                forms.register_system(system.clone())?;
                persist(core.journal.as_mut(), record, at, event)?;
                core.forms = forms;
                Ok(None)
            }
            Event::PreStudy { prestudy } => {
                let mut forms = core.forms.clone();
                forms.register_prestudy(prestudy.clone())?;
                persist(core.journal.as_mut(), record, at, event)?;
                core.forms = forms;
                Ok(None)
            }
        }
    }

    fn record_event(&self, event: Event) -> Result<Option<OrderRecord>, ServiceError> {
        self.apply_event(&event, Utc::now(), true)
    }

    /// Submits a raw order. `publish`: None = the environment's setting.
    pub fn submit(
        &self,
        env: EnvName,
        json: &str,
        source: OrderSource,
        publish: Option<bool>,
        form: Option<PreparedOrder>,
    ) -> Result<OrderRecord, ServiceError> {
        let publish = publish
            .unwrap_or_else(|| self.platform(env).auto_publish())
            .then(|| PublishInfo {
                executor: "ntjp".into(),
                comment: "Publicerad direkt efter beställningen".into(),
            });
        let event = Event::Order {
            env,
            source,
            json: json.to_string(),
            publish,
            form,
        };
        self.record_event(event)?
            .ok_or_else(|| ServiceError::Conflict("order was not recorded".into()))
    }

    /// The consumer form: checks its rules, builds the real-format order and submits it.
    pub fn consumer_order(
        &self,
        form: &ConsumerForm,
        publish: Option<bool>,
    ) -> Result<OrderRecord, ServiceError> {
        let prepared = {
            let core = lock(&self.core);
            let env = form.environment;
            let store = &core.envs[&env].store;
            core.forms
                .consumer_order(form, &self.platform(env).name, store, Utc::now())?
        };
        let json = prepared.json.clone();
        self.submit(
            form.environment,
            &json,
            OrderSource::ConsumerForm,
            publish,
            Some(prepared),
        )
    }

    /// The producer form: checks its rules, builds the real-format order and submits it.
    pub fn producer_order(
        &self,
        form: &ProducerForm,
        publish: Option<bool>,
    ) -> Result<OrderRecord, ServiceError> {
        let prepared = {
            let core = lock(&self.core);
            let env = form.environment;
            let store = &core.envs[&env].store;
            core.forms
                .producer_order(form, &self.platform(env).name, store, Utc::now())?
        };
        let json = prepared.json.clone();
        self.submit(
            form.environment,
            &json,
            OrderSource::ProducerForm,
            publish,
            Some(prepared),
        )
    }

    /// Registers a system (systeminformation).
    pub fn register_system(&self, system: SystemInfo) -> Result<(), ServiceError> {
        self.record_event(Event::System { system }).map(|_| ())
    }

    /// Registers a pre-study (förstudie) and the environments it is approved for.
    pub fn register_prestudy(&self, prestudy: PreStudy) -> Result<(), ServiceError> {
        self.record_event(Event::PreStudy { prestudy }).map(|_| ())
    }

    /// Registered systems and pre-studies.
    pub fn forms(&self) -> Forms {
        lock(&self.core).forms.clone()
    }

    /// Publishes the environment's pending changes; refuses when there are none.
    pub fn publish(&self, env: EnvName, info: PublishInfo) -> Result<Arc<Snapshot>, ServiceError> {
        {
            let core = lock(&self.core);
            if !core.envs[&env].store.has_pending_changes() {
                return Err(ServiceError::Conflict(
                    "Det finns inga ändringar, genomförda av inloggad användare, att publicera"
                        .into(),
                ));
            }
        }
        self.record_event(Event::Publish { env, info })?;
        self.platform(env)
            .tak
            .load_full()
            .ok_or_else(|| ServiceError::Conflict("nothing published".into()))
    }

    /// Rolls back the latest published version.
    pub fn rollback(
        &self,
        env: EnvName,
        version: u64,
    ) -> Result<Option<Arc<Snapshot>>, ServiceError> {
        self.record_event(Event::Rollback { env, version })?;
        Ok(self.platform(env).tak.load_full())
    }

    /// Moves the environment's clock to `offset_days` from real time.
    pub fn set_clock(&self, env: EnvName, offset_days: i64) -> Result<(), ServiceError> {
        self.record_event(Event::Clock { env, offset_days })
            .map(|_| ())
    }

    /// Switches automatic publishing.
    pub fn set_auto_publish(&self, env: EnvName, auto_publish: bool) -> Result<(), ServiceError> {
        self.record_event(Event::Settings { env, auto_publish })
            .map(|_| ())
    }

    /// Accepted orders of an environment.
    pub fn orders(&self, env: EnvName) -> Vec<OrderRecord> {
        lock(&self.core).envs[&env].orders.clone()
    }

    /// One order.
    pub fn order(&self, env: EnvName, id: u64) -> Result<OrderRecord, ServiceError> {
        lock(&self.core).envs[&env]
            .orders
            .iter()
            .find(|o| o.id == id)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound(format!("no order {id} in {env}")))
    }

    /// Runs `f` on the environment's store (pending changes, versions, tables).
    pub fn with_store<R>(&self, env: EnvName, f: impl FnOnce(&Store) -> R) -> R {
        f(&lock(&self.core).envs[&env].store)
    }

    /// Connection tests whose day has come and that have not run.
    pub fn due_tests(&self) -> Vec<(DueTest, String)> {
        let core = lock(&self.core);
        let mut due = Vec::new();
        for (env, state) in &core.envs {
            let today = self.platform(*env).clock.today();
            for o in &state.orders {
                if o.published_version.is_none() {
                    continue;
                }
                for (i, t) in o.connection_tests.iter().enumerate() {
                    if t.status == "pending" && t.from <= today {
                        due.push((
                            (*env, o.id, i),
                            t.url.replace(MOCKS_TOKEN, &self.mocks_base),
                        ));
                    }
                }
            }
        }
        due
    }

    /// Records a connection test's outcome.
    pub fn record_test(&self, (env, id, i): DueTest, ok: bool, detail: String) {
        let mut core = lock(&self.core);
        if let Some(t) = core
            .envs
            .get_mut(&env)
            .and_then(|s| s.orders.iter_mut().find(|o| o.id == id))
            .and_then(|o| o.connection_tests.get_mut(i))
        {
            t.status = if ok { "ok" } else { "failed" }.into();
            t.detail = detail;
            t.at = Some(Utc::now());
        }
    }
}

/// Runs due connection tests (once a second, and as soon as routes become valid) until
/// shutdown: a TLS handshake with the platform certificate and a PingForConfiguration call,
/// as the platform's operators do after configuring a producer in TAK.
pub async fn connection_tests(
    platforms: Arc<Platforms>,
    client: crate::router::ProducerClient,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let due = platforms.due_tests();
        for (test, url) in due {
            let (ok, detail) = ping(&client, &url, &platforms, test).await;
            platforms.record_test(test, ok, detail);
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn ping(
    client: &crate::router::ProducerClient,
    url: &str,
    platforms: &Platforms,
    (env, id, i): DueTest,
) -> (bool, String) {
    use crate::router::forward::ForwardError;
    let Ok(uri) = url.parse::<http::Uri>() else {
        return (false, format!("invalid URL {url}"));
    };
    let address = platforms
        .order(env, id)
        .ok()
        .and_then(|o| o.connection_tests.get(i).map(|t| t.logical_address.clone()))
        .unwrap_or_default();
    let body = crate::contract::ping_request(&address);
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/xml;charset=UTF-8"),
    );
    let answer = client
        .send(
            &uri,
            &headers,
            body.into(),
            std::time::Duration::from_secs(10),
        )
        .await;
    match answer {
        Ok(a) => {
            use http_body_util::BodyExt;
            let status = a.response.status();
            let body = match a.response.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(e) => {
                    return (
                        true,
                        format!(
                            "TLS handshake OK; reading PingForConfiguration's answer failed: {e}"
                        ),
                    );
                }
            };
            match crate::contract::parse_ping_response(&body) {
                Some(version) if status.is_success() => (
                    true,
                    format!(
                        "TLS handshake with the platform certificate OK; PingForConfiguration answered (version {version})"
                    ),
                ),
                _ => (
                    true,
                    format!(
                        "TLS handshake with the platform certificate OK; the producer does not offer PingForConfiguration (HTTP {status})"
                    ),
                ),
            }
        }
        Err(ForwardError::Connect(e)) => (
            false,
            format!("cannot connect with the platform certificate: {e}"),
        ),
        Err(ForwardError::Timeout) => (false, "no answer within 10 s".into()),
        Err(e @ ForwardError::Status { .. }) => (
            true,
            format!(
                "TLS handshake with the platform certificate OK; the producer does not offer PingForConfiguration ({})",
                e.to_string().lines().next().unwrap_or_default()
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}
