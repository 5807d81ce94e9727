//! The order service of the testbed (modelled on Beställningsstödet and tak-web): for every
//! environment its TAK [`Store`], the published snapshot its router reads, its simulated
//! [`Clock`], the orders it accepted and their reports; shared by all environments the form
//! registry and the journal. This file is its public face: [`OrderService`], the jobs it
//! takes (orders, forms, publish, rollback, clock, settings, connection test results) and
//! their answers, and the published views reads come from. The writer thread is in `writer`,
//! the start-up (checkpoint, journal replay, start-up orders) in `replay`, what is kept of
//! each accepted order in `record` ([`OrderRecord`]), checkpoints in
//! [`checkpoint`], the producer pings in [`connection_tests`].
//!
//! Two sides that never wait for each other:
//! - **One writer.** Every change is a job run one at a time on a dedicated thread
//!   (`ntjp-orders`, at a lower CPU priority than the routers) that alone owns the stores and
//!   the journal. A job checks everything first without changing anything (form rules, TAK's
//!   validation into a plan, "something to publish", "the latest version" for a rollback),
//!   then writes the journal entry, and only then changes the store in place: a rejected
//!   order changes nothing, an accepted one is durable before it is visible, and no order
//!   copies the catalogue. Check and act are one job, so two concurrent forms cannot both
//!   pass a one-per-system rule and two concurrent publishes cannot both find changes.
//! - **Published views.** After each job the writer swaps, per environment, an [`EnvView`]
//!   (version history, pending changes, order records, all behind `Arc`s) and the forms into
//!   `arc_swap` cells. Readers (the admin API, connection tests) load them without a lock, so a
//!   long order never delays a read, a health check or the router, which reads only the
//!   [`TakCell`] and [`Clock`] of its environment.
//!
//! Async callers await a job's answer on a channel, never a lock. On shutdown
//! ([`OrderService::stop`]) a job that has not reached its journal write is abandoned (nothing
//! changed, the caller told so at once); one that has is finished. A restart replays the
//! journal to the same state; [`OrderService::open`] blocks and runs off the async workers.
//! It does not validate or execute orders itself (that is `orders`, pure), hold TAK's tables
//! (`tak`), or serve HTTP (`admin`).

pub mod checkpoint;
pub mod connection_tests;
mod record;
mod replay;
mod writer;

use record::pending_tests;
pub use record::{
    ConnectionTest, FullRecord, KEPT_TEXT_BYTES, OrderRecord, OrderText, TestGroup, TestStatus,
};
pub use replay::{OpenError, Opened};
pub(crate) use writer::lower_priority;
use writer::{
    ABANDONED, Applied, Changed, Core, Gate, QUEUED, apply_event, no_pending, order,
    publish_checked,
};

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering},
        mpsc,
    },
    time::Duration,
};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, watch};

use crate::{
    clock::Clock,
    journal::JournalError,
    orders::builtin::MOCKS_TOKEN,
    orders::forms::{
        ConsumerForm, FormError, Forms, PreStudy, PreparedOrder, ProducerForm, SystemInfo,
    },
    tak::TakCell,
    tak::{
        Day, PendingChanges, Snapshot, Store,
        history::History,
        model::{Catalogue, Text},
    },
    vocab::EnvName,
};

/// Changes that may wait for the writer (each holds its order text: up to `max_order_bytes`).
pub const MAX_QUEUED: usize = 32;

/// How long an order that reached the journal when shutdown began may still take to finish
/// before its caller is told it takes effect at the next start.
const FINISH_GRACE: Duration = Duration::from_secs(1);

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

/// What the API reads of one environment, published by the writer after every change.
#[derive(Debug)]
pub struct EnvView {
    /// Every published version still in the history, oldest first (the latest two whole,
    /// older ones as diffs: [`crate::tak::history`]).
    pub versions: Arc<History>,
    /// The executed but unpublished changes.
    pub pending: Arc<PendingChanges>,
    /// The accepted orders, by id (order `n` at index `n - 1`).
    pub orders: Arc<[Arc<OrderRecord>]>,
    /// The store's tables (shared, copy-on-write): every row an order report or connection
    /// test refers to, published or not.
    pub catalogue: Catalogue,
}

impl EnvView {
    fn empty() -> Self {
        EnvView {
            versions: Arc::new(History::default()),
            pending: Arc::new(no_pending(None)),
            orders: Arc::from(Vec::new()),
            catalogue: Catalogue::default(),
        }
    }

    /// Whether the published version with this id is in the history.
    pub fn has_version(&self, version: u64) -> bool {
        self.versions.contains(version)
    }

    /// The published version with this id, if it is in the history. An older version is
    /// rebuilt from its diff: call this off the async workers.
    pub fn version(&self, version: u64) -> Option<Arc<Snapshot>> {
        self.versions.snapshot(version)
    }

    /// The order with this id.
    pub fn order(&self, id: u64) -> Option<&Arc<OrderRecord>> {
        let i = usize::try_from(id).ok()?.checked_sub(1)?;
        self.orders.get(i)
    }
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
    /// Publish/rollback refused, unknown version... (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// A value out of range, e.g. a clock move past 9999-12-31; nothing changed (HTTP 400).
    #[error("{0}")]
    Invalid(String),
    /// Nothing with that id (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The journal could not be written: nothing changed (HTTP 500).
    #[error("journal: {0}")]
    Journal(#[from] JournalError),
    /// The testbed is shutting down and the change was abandoned before it reached the
    /// journal: nothing changed (HTTP 503).
    #[error("the testbed is shutting down; the change was abandoned and nothing was changed")]
    ShuttingDown,
    /// The testbed is shutting down after the change reached the journal: it takes effect
    /// when the testbed starts again (HTTP 503).
    #[error(
        "the testbed is shutting down; the change is in the journal and takes effect when it starts again"
    )]
    Journaled,
    /// [`MAX_QUEUED`] changes are already waiting; nothing changed (HTTP 503).
    #[error(
        "the order service has {MAX_QUEUED} changes waiting; nothing was changed, try again later"
    )]
    Busy,
    /// The order service stopped after an internal error (HTTP 500).
    #[error(
        "the order service stopped after an internal error; restart the testbed (the journal replays every accepted change)"
    )]
    Stopped,
}

impl From<FormError> for ServiceError {
    fn from(e: FormError) -> Self {
        ServiceError::Form(Box::new(e))
    }
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
    /// Orders accepted and refused since start (`/metrics`).
    pub orders: OrderCounts,
}

/// Orders (and forms) answered through the service since start, by result.
#[derive(Debug, Default)]
pub struct OrderCounts {
    /// Accepted: journaled and executed.
    pub accepted: AtomicU64,
    /// Refused: not a readable order, refused by TAK's validation or by a form's rules.
    pub refused: AtomicU64,
}

impl OrderCounts {
    /// Counts an order's answer (other errors, such as a busy or stopping service, are not
    /// the order's result and are not counted).
    fn count<T>(&self, answer: &Result<T, ServiceError>) {
        let counter = match answer {
            Ok(_) => &self.accepted,
            Err(ServiceError::Parse(_) | ServiceError::Rejected { .. } | ServiceError::Form(_)) => {
                &self.refused
            }
            Err(_) => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Platform {
    /// Whether orders are published as soon as they are executed.
    pub fn auto_publish(&self) -> bool {
        self.auto_publish.load(Ordering::Relaxed)
    }
}

/// A move of an environment's clock, resolved to an offset by the writer (so that two
/// concurrent "advance a day" both count).
#[derive(Debug, Clone, Copy)]
pub enum ClockMove {
    /// Make this day today.
    Today(Day),
    /// Move this many days (negative: back).
    Advance(i64),
    /// Back to real time.
    Reset,
}

/// The outcome of one connection test, for [`OrderService::record_tests`].
#[derive(Debug, Clone)]
pub struct TestResult {
    /// Which test.
    pub test: DueTest,
    /// Whether it passed.
    pub ok: bool,
    /// What happened (shared by every test of the same producer).
    pub detail: Arc<str>,
    /// When it ran.
    pub at: DateTime<Utc>,
}

/// A connection test that is due: (environment, order id, index of its [`TestGroup`]).
pub type DueTest = (EnvName, u64, usize);

/// Everything readers see: published by the writer, read without a lock.
struct Shared {
    platforms: BTreeMap<EnvName, Arc<Platform>>,
    views: BTreeMap<EnvName, ArcSwap<EnvView>>,
    forms: ArcSwap<Forms>,
    mocks_base: String,
    /// The journal, where large order texts are read back from.
    journal_path: Option<std::path::PathBuf>,
    /// Changes handed to the writer, started and finished by it (for [`Activity`]).
    submitted: AtomicU64,
    started: AtomicU64,
    finished: AtomicU64,
}

/// What the writer is doing, for `/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// A change (an order, a publish, ...) is being worked on.
    pub running: bool,
    /// Changes waiting for it.
    pub queued: u64,
}

impl Shared {
    fn platform(&self, env: EnvName) -> &Arc<Platform> {
        // Every EnvName has a platform (filled in `open`).
        &self.platforms[&env]
    }
}

type Job = Box<dyn FnOnce(&mut Core, &Shared) + Send>;

/// Every environment's order service, the forms and the journal.
pub struct OrderService {
    shared: Arc<Shared>,
    /// To the writer thread; it ends when this is dropped.
    writer: mpsc::SyncSender<Job>,
    /// Set by [`OrderService::stop`]; callers waiting for a change watch it.
    stopping: watch::Sender<bool>,
}

impl OrderService {
    /// The environment's router-facing state.
    pub fn platform(&self, env: EnvName) -> &Arc<Platform> {
        self.shared.platform(env)
    }

    /// All environments.
    pub fn all(&self) -> impl Iterator<Item = &Arc<Platform>> {
        self.shared.platforms.values()
    }

    /// Base URL replacing [`MOCKS_TOKEN`].
    pub fn mocks_base(&self) -> &str {
        &self.shared.mocks_base
    }

    // === reads: published state, no lock, never waiting for a change ===

    /// The environment's published view (versions, pending changes, orders).
    pub fn view(&self, env: EnvName) -> Arc<EnvView> {
        match self.shared.views.get(&env) {
            Some(cell) => cell.load_full(),
            None => Arc::new(EnvView::empty()),
        }
    }

    /// Whether a change is being worked on and how many wait.
    pub fn activity(&self) -> Activity {
        let finished = self.shared.finished.load(Ordering::SeqCst);
        let started = self.shared.started.load(Ordering::SeqCst);
        let submitted = self.shared.submitted.load(Ordering::SeqCst);
        Activity {
            running: started > finished,
            queued: submitted.saturating_sub(started),
        }
    }

    /// Connection tests of the environment's orders not run yet (waiting for their day, for
    /// a publish, or running now).
    pub fn pending_connection_tests(&self, env: EnvName) -> usize {
        self.view(env).orders.iter().map(|o| o.pending_tests).sum()
    }

    /// Registered systems and pre-studies.
    pub fn forms(&self) -> Arc<Forms> {
        self.shared.forms.load_full()
    }

    /// Accepted orders of an environment.
    pub fn orders(&self, env: EnvName) -> Arc<[Arc<OrderRecord>]> {
        self.view(env).orders.clone()
    }

    /// One order.
    pub fn order(&self, env: EnvName, id: u64) -> Result<Arc<OrderRecord>, ServiceError> {
        self.view(env)
            .order(id)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound(format!("no order {id} in {env}")))
    }

    /// The order's text as submitted. A large one is read back from the journal (blocking
    /// file IO, and as large as the order: call it off the async workers).
    pub fn order_text(&self, record: &OrderRecord) -> Result<Arc<str>, ServiceError> {
        let (seq, place) = match &record.text {
            OrderText::Memory(text) => return Ok(text.clone()),
            OrderText::Journal { seq, place } => (*seq, *place),
        };
        let Some(path) = &self.shared.journal_path else {
            return Err(ServiceError::NotFound(format!(
                "the text of order {} is not kept",
                record.id
            )));
        };
        let entry = crate::journal::read_entry(path, seq, place)?;
        match serde_json::from_str::<Event>(&entry.event) {
            Ok(Event::Order { json, .. }) => Ok(Arc::from(json)),
            Ok(_) => Err(ServiceError::NotFound(format!(
                "journal entry {seq} is not order {}",
                record.id
            ))),
            Err(e) => Err(ServiceError::NotFound(format!(
                "journal entry {seq} cannot be read: {e}"
            ))),
        }
    }

    // === changes: jobs for the writer ===

    /// Stops taking changes: changes not yet journaled are abandoned (their callers are told
    /// at once), one being journaled is finished. Reads keep working.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Runs `change` on the writer and waits for its answer, or, once shutdown begins, for
    /// it to be abandoned or journaled.
    async fn change<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut Core, &Shared, &mut Gate) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let mut stopping = self.stopping.subscribe();
        if *stopping.borrow_and_update() {
            return Err(ServiceError::ShuttingDown);
        }
        let ticket = Arc::new(AtomicU8::new(QUEUED));
        let (answer_tx, mut answer) = oneshot::channel();
        let (journaled_tx, mut journaled) = oneshot::channel();
        let job_ticket = ticket.clone();
        let job: Job = Box::new(move |core, shared| {
            let mut gate = Gate {
                record: true,
                entry: None,
                ticket: Some(job_ticket),
                journaled: Some(journaled_tx),
            };
            if gate.abandoned() {
                return;
            }
            let _ = answer_tx.send(change(core, shared, &mut gate));
        });
        self.shared.submitted.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = self.writer.try_send(job) {
            self.shared.submitted.fetch_sub(1, Ordering::SeqCst);
            return Err(match e {
                mpsc::TrySendError::Full(_) => ServiceError::Busy,
                mpsc::TrySendError::Disconnected(_) => ServiceError::Stopped,
            });
        }
        tokio::select! {
            biased;
            r = &mut answer => return r.unwrap_or(Err(ServiceError::Stopped)),
            _ = stopping.wait_for(|s| *s) => {}
        }
        // Shutting down: abandon the change unless the writer has claimed it.
        if ticket
            .compare_exchange(QUEUED, ABANDONED, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return Err(ServiceError::ShuttingDown);
        }
        tokio::select! {
            biased;
            r = &mut answer => return r.unwrap_or(Err(ServiceError::Stopped)),
            Ok(()) = &mut journaled => {}
        }
        match tokio::time::timeout(FINISH_GRACE, answer).await {
            Ok(r) => r.unwrap_or(Err(ServiceError::Stopped)),
            Err(_) => Err(ServiceError::Journaled),
        }
    }

    /// Submits a raw order. `publish`: None = the environment's setting.
    pub async fn submit(
        &self,
        env: EnvName,
        json: String,
        source: OrderSource,
        publish: Option<bool>,
    ) -> Result<Arc<OrderRecord>, ServiceError> {
        let answer = self
            .change(move |core, shared, gate| {
                order(core, shared, gate, env, json, source, publish, None)
            })
            .await;
        self.platform(env).orders.count(&answer);
        answer
    }

    /// The consumer form: checks its rules, builds the real-format order and submits it, in
    /// one step (two forms for the same system cannot both pass the rules).
    pub async fn consumer_order(
        &self,
        form: ConsumerForm,
        publish: Option<bool>,
    ) -> Result<Arc<OrderRecord>, ServiceError> {
        let env = form.environment;
        self.form_order(
            env,
            OrderSource::ConsumerForm,
            publish,
            move |forms, platform, store| forms.consumer_order(&form, platform, store, Utc::now()),
        )
        .await
    }

    /// The producer form: checks its rules, builds the real-format order and submits it, in
    /// one step.
    pub async fn producer_order(
        &self,
        form: ProducerForm,
        publish: Option<bool>,
    ) -> Result<Arc<OrderRecord>, ServiceError> {
        let env = form.environment;
        self.form_order(
            env,
            OrderSource::ProducerForm,
            publish,
            move |forms, platform, store| forms.producer_order(&form, platform, store, Utc::now()),
        )
        .await
    }

    /// A form's order: `prepare` checks the form's rules against the environment's TAK and
    /// builds the real-format order, which is then submitted in the same step on the writer.
    async fn form_order(
        &self,
        env: EnvName,
        source: OrderSource,
        publish: Option<bool>,
        prepare: impl FnOnce(&Forms, &str, &Store) -> Result<PreparedOrder, FormError> + Send + 'static,
    ) -> Result<Arc<OrderRecord>, ServiceError> {
        let answer = self
            .change(move |core, shared, gate| {
                let prepared = prepare(
                    &core.forms,
                    &shared.platform(env).name,
                    &core.env(env)?.store,
                )?;
                let json = prepared.json.clone();
                order(
                    core,
                    shared,
                    gate,
                    env,
                    json,
                    source,
                    publish,
                    Some(prepared),
                )
            })
            .await;
        self.platform(env).orders.count(&answer);
        answer
    }

    /// Waits until the writer has done everything handed to it so far (start-up work
    /// included, such as building a restored store's indexes).
    pub async fn idle(&self) -> Result<(), ServiceError> {
        self.change(|_core, _shared, _gate| Ok(())).await
    }

    /// Writes a checkpoint of the state now, on the writer (the writer takes them by itself
    /// as the journal grows; this is for tests and tools). `false`: nothing to checkpoint (no
    /// journal, or no entries).
    pub async fn checkpoint_now(&self) -> Result<bool, ServiceError> {
        self.change(|core, shared, _gate| {
            let Some(c) = core.checkpoints.as_ref() else {
                return Ok(false);
            };
            // One writer of the file at a time.
            while c.busy.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(5));
            }
            let path = c.path.clone();
            let Some(image) = core.image(shared) else {
                return Ok(false);
            };
            checkpoint::write(&path, &checkpoint::encode(&image))
                .map_err(|source| ServiceError::Journal(JournalError::Io { path, source }))?;
            if let Some(c) = core.checkpoints.as_mut() {
                c.since = 0;
            }
            Ok(true)
        })
        .await
    }

    /// Registers a system (systeminformation).
    pub async fn register_system(&self, system: SystemInfo) -> Result<(), ServiceError> {
        self.record(Event::System { system }).await.map(|_| ())
    }

    /// Registers a pre-study (förstudie) and the environments it is approved for.
    pub async fn register_prestudy(&self, prestudy: PreStudy) -> Result<(), ServiceError> {
        self.record(Event::PreStudy { prestudy }).await.map(|_| ())
    }

    /// Publishes the environment's pending changes; refuses when there are none.
    pub async fn publish(
        &self,
        env: EnvName,
        info: PublishInfo,
    ) -> Result<Arc<Snapshot>, ServiceError> {
        self.change(move |core, shared, gate| {
            publish_checked(core, shared, &Event::Publish { env, info }, gate)
        })
        .await
    }

    /// Rolls back the latest published version.
    pub async fn rollback(
        &self,
        env: EnvName,
        version: u64,
    ) -> Result<Option<Arc<Snapshot>>, ServiceError> {
        match self.record(Event::Rollback { env, version }).await? {
            Applied::RolledBack(s) => Ok(s),
            _ => Ok(self.platform(env).tak.load_full()),
        }
    }

    /// Moves the environment's clock; returns the new offset from real time, days.
    pub async fn move_clock(&self, env: EnvName, to: ClockMove) -> Result<i64, ServiceError> {
        self.change(move |core, shared, gate| {
            let clock = &shared.platform(env).clock;
            // Checked here for a precise message; apply_event checks the offset again (as it
            // does for a replayed one) before anything is journaled.
            let offset_days = match to {
                ClockMove::Today(day) => clock.offset_to(day),
                ClockMove::Advance(days) => {
                    let offset = i128::from(clock.offset_days()) + i128::from(days);
                    clock
                        .day_at(offset)
                        .map(|_| i64::try_from(offset).unwrap_or_default())
                }
                ClockMove::Reset => Ok(0),
            }
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
            apply_event(
                core,
                shared,
                &Event::Clock { env, offset_days },
                Utc::now(),
                gate,
            )?;
            Ok(offset_days)
        })
        .await
    }

    /// Switches automatic publishing.
    pub async fn set_auto_publish(
        &self,
        env: EnvName,
        auto_publish: bool,
    ) -> Result<(), ServiceError> {
        self.record(Event::Settings { env, auto_publish })
            .await
            .map(|_| ())
    }

    async fn record(&self, event: Event) -> Result<Applied, ServiceError> {
        self.change(move |core, shared, gate| apply_event(core, shared, &event, Utc::now(), gate))
            .await
    }

    // === connection tests ===

    /// The connection tests whose day has come and that have not run, grouped by producer
    /// URL: one ping per producer answers for every route to it. Reads the published views;
    /// cost proportional to the number of orders plus the tests that are due.
    pub fn due_tests(&self) -> Vec<connection_tests::DueProducer> {
        let mut by_url: BTreeMap<Text, connection_tests::DueProducer> = BTreeMap::new();
        for (env, cell) in &self.shared.views {
            let today = self.shared.platform(*env).clock.today();
            let view = cell.load();
            let cat = &view.catalogue;
            for o in view.orders.iter() {
                if o.published_version.is_none() || o.pending_tests_from.is_none_or(|d| d > today) {
                    continue;
                }
                for (i, t) in o.connection_tests.iter().enumerate() {
                    if t.status != TestStatus::Pending || t.from > today {
                        continue;
                    }
                    let due = by_url.entry(t.url.clone()).or_insert_with(|| {
                        let logical_address = t
                            .route_ids()
                            .next()
                            .and_then(|id| cat.routes.get(id))
                            .and_then(|r| cat.logical_addresses.get(r.logical_address))
                            .map_or("", |la| la.hsa_id.as_str());
                        connection_tests::DueProducer {
                            url: t.url.replace(MOCKS_TOKEN, &self.shared.mocks_base),
                            logical_address: Arc::from(logical_address),
                            tests: Vec::new(),
                            routes: 0,
                        }
                    });
                    due.tests.push((*env, o.id, i));
                    due.routes += t.route_count();
                }
            }
        }
        by_url.into_values().collect()
    }

    /// Records connection test outcomes in one change (each affected order is updated once).
    pub async fn record_tests(&self, results: Vec<TestResult>) -> Result<(), ServiceError> {
        self.change(move |core, shared, _gate| {
            let mut by_order: BTreeMap<(EnvName, u64), Vec<TestResult>> = BTreeMap::new();
            for r in results {
                by_order.entry((r.test.0, r.test.1)).or_default().push(r);
            }
            let mut touched = Vec::new();
            for ((env, id), results) in by_order {
                let Ok(state) = core.env_mut(env) else {
                    continue;
                };
                let Some(slot) = usize::try_from(id)
                    .ok()
                    .and_then(|i| i.checked_sub(1))
                    .and_then(|i| state.orders.get_mut(i))
                else {
                    continue;
                };
                let mut tests = slot.connection_tests.to_vec();
                for r in results {
                    if let Some(t) = tests.get_mut(r.test.2) {
                        t.status = if r.ok {
                            TestStatus::Ok
                        } else {
                            TestStatus::Failed
                        };
                        t.detail = r.detail;
                        t.at = Some(r.at);
                    }
                }
                let mut record = OrderRecord::clone(slot);
                (record.pending_tests_from, record.pending_tests) = pending_tests(&tests);
                record.connection_tests = tests.into();
                *slot = Arc::new(record);
                touched.push(env);
            }
            touched.dedup();
            for env in touched {
                core.publish_view(shared, env, Changed::Orders);
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests;
