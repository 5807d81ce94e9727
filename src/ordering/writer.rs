//! The order service's writer: the one thread that owns every environment's [`Store`], the
//! order records, the forms and the journal, and runs changes one at a time. A change is a job
//! ([`Job`]); [`apply_event`] applies one [`Event`] in three steps that never interleave with
//! another change: check without changing anything, commit (the journal entry, see
//! [`Core::commit`]), then change the state in place and publish the views readers load.
//! Start-up replays the journal through the same [`apply_event`].
//!
//! It does not talk to callers (the jobs' answers travel on channels set up in the parent
//! module), does not read the journal back (see `replay`), and does no network IO.

use std::{
    collections::BTreeMap,
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU8, Ordering},
        mpsc,
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::{
    EnvView, Event, Job, KEPT_TEXT_BYTES, OrderRecord, OrderSource, OrderText, PublishInfo,
    ServiceError, Shared, TestGroup, TestStatus, checkpoint, record::pending_tests,
};
use crate::{
    journal::{Journal, Place},
    orders::builtin::MOCKS_TOKEN,
    orders::{
        self,
        forms::{Forms, PreparedOrder},
    },
    tak::{
        Day, PendingChanges, RollbackError, Snapshot, Store,
        model::{Catalogue, Id, Text},
        store::{NOTHING_TO_PUBLISH, ROLLBACK_NOT_LATEST},
    },
    vocab::EnvName,
};

pub(super) struct EnvState {
    pub(super) store: Store,
    pub(super) orders: Vec<Arc<OrderRecord>>,
}

/// The writer's checkpoint bookkeeping.
pub(super) struct Checkpoints {
    /// The checkpoint file.
    pub(super) path: std::path::PathBuf,
    /// [`checkpoint::fingerprint`] of this run.
    pub(super) fingerprint: String,
    /// Journal growth since the last checkpoint (see [`checkpoint::THRESHOLD`]).
    pub(super) since: u64,
    /// A checkpoint is being written by its thread.
    pub(super) busy: Arc<AtomicBool>,
}

/// What only the writer touches.
pub(super) struct Core {
    pub(super) journal: Option<Journal>,
    /// Taking checkpoints (none without a journal).
    pub(super) checkpoints: Option<Checkpoints>,
    pub(super) forms: Arc<Forms>,
    pub(super) envs: BTreeMap<EnvName, EnvState>,
    /// Replaying at start-up: views are published once at the end, not per entry.
    pub(super) replaying: bool,
    /// Between a journal write and the end of the change it records: a panic here leaves a
    /// store half-changed, so the writer stops instead of going on.
    pub(super) committing: bool,
}

impl Core {
    pub(super) fn env(&self, env: EnvName) -> Result<&EnvState, ServiceError> {
        self.envs
            .get(&env)
            .ok_or_else(|| ServiceError::NotFound(format!("no environment {env}")))
    }

    pub(super) fn env_mut(&mut self, env: EnvName) -> Result<&mut EnvState, ServiceError> {
        self.envs
            .get_mut(&env)
            .ok_or_else(|| ServiceError::NotFound(format!("no environment {env}")))
    }

    /// The point of no return of a change: claims it (unless shutdown abandoned it), makes
    /// `event` durable in the journal, and tells the caller so. Everything before this only
    /// reads, so a failure here leaves the state as it was.
    pub(super) fn commit(
        &mut self,
        gate: &mut Gate,
        at: DateTime<Utc>,
        event: &Event,
    ) -> Result<(), ServiceError> {
        gate.claim()?;
        self.committing = true;
        self.grow(1);
        if let (true, Some(journal)) = (gate.record, self.journal.as_mut()) {
            match journal.append(at, event) {
                Ok(written) => gate.entry = Some(written),
                Err(e) => {
                    self.committing = false;
                    return Err(e.into());
                }
            }
        }
        gate.journaled();
        Ok(())
    }

    /// Counts journal growth towards the next checkpoint.
    fn grow(&mut self, weight: u64) {
        if let Some(c) = self.checkpoints.as_mut() {
            c.since = c.since.saturating_add(weight);
        }
    }

    /// The state as a checkpoint holds it, after the journal's last entry (shared: nothing
    /// large is copied). `None` without a journal or entries.
    pub(super) fn image(&self, shared: &Shared) -> Option<checkpoint::Image> {
        let c = self.checkpoints.as_ref()?;
        let (seq, place) = self.journal.as_ref()?.last_entry()?;
        Some(checkpoint::Image {
            seq,
            place,
            fingerprint: c.fingerprint.clone(),
            forms: self.forms.clone(),
            envs: self
                .envs
                .iter()
                .map(|(env, state)| {
                    let platform = shared.platform(*env);
                    checkpoint::EnvImage {
                        env: *env,
                        store: state.store.without_indexes(),
                        orders: state.orders.clone(),
                        offset_days: platform.clock.offset_days(),
                        auto_publish: platform.auto_publish(),
                    }
                })
                .collect(),
        })
    }

    /// Takes a checkpoint when the journal has grown by [`checkpoint::THRESHOLD`] since the
    /// last: the state is captured here, encoded and written by a thread of its own.
    pub(super) fn maybe_checkpoint(&mut self, shared: &Shared) {
        let Some(c) = self.checkpoints.as_ref() else {
            return;
        };
        if c.since < checkpoint::THRESHOLD || c.busy.load(Ordering::SeqCst) {
            return;
        }
        let Some(image) = self.image(shared) else {
            return;
        };
        let (path, busy) = (c.path.clone(), c.busy.clone());
        busy.store(true, Ordering::SeqCst);
        let thread_busy = busy.clone();
        let spawned = std::thread::Builder::new()
            .name("ntjp-checkpoint".into())
            .spawn(move || {
                lower_priority();
                let started = std::time::Instant::now();
                let bytes = checkpoint::encode(&image);
                drop(image);
                match checkpoint::write(&path, &bytes) {
                    Ok(()) => tracing::info!(
                        file = %path.display(),
                        bytes = bytes.len(),
                        ms = started.elapsed().as_millis() as u64,
                        "checkpoint written"
                    ),
                    Err(e) => tracing::warn!(
                        file = %path.display(),
                        error = %e,
                        "checkpoint not written; the next start replays more of the journal"
                    ),
                }
                thread_busy.store(false, Ordering::SeqCst);
            });
        match spawned {
            Ok(_) => {
                if let Some(c) = self.checkpoints.as_mut() {
                    c.since = 0;
                }
            }
            Err(e) => {
                busy.store(false, Ordering::SeqCst);
                tracing::warn!(error = %e, "cannot start the checkpoint thread");
            }
        }
    }

    /// Publishes the environment's view after `change`.
    pub(super) fn publish_view(&self, shared: &Shared, env: EnvName, change: Changed) {
        if self.replaying {
            return;
        }
        let (Some(state), Some(cell)) = (self.envs.get(&env), shared.views.get(&env)) else {
            return;
        };
        let old = cell.load();
        let catalogue = match change {
            Changed::Orders => old.catalogue.clone(),
            _ => state.store.catalogue().clone(),
        };
        let (versions, pending) = match change {
            Changed::Orders => (old.versions.clone(), old.pending.clone()),
            // Publishing leaves nothing pending: no need to look through the catalogue.
            Changed::Published => (
                Arc::new(state.store.versions().clone()),
                Arc::new(no_pending(Some(state.store.published_version()))),
            ),
            Changed::Store => (
                Arc::new(state.store.versions().clone()),
                Arc::new(state.store.pending()),
            ),
        };
        cell.store(Arc::new(EnvView {
            versions,
            pending,
            orders: Arc::from(state.orders.as_slice()),
            catalogue,
        }));
    }

    pub(super) fn publish_forms(&self, shared: &Shared) {
        shared.forms.store(self.forms.clone());
    }
}

pub(super) const QUEUED: u8 = 0;
const COMMITTING: u8 = 1;
pub(super) const ABANDONED: u8 = 2;

/// A change's passage through its point of no return ([`Core::commit`]).
pub(super) struct Gate {
    /// Write the journal (false while replaying it).
    pub(super) record: bool,
    /// The change's journal entry (number and place): written by [`Core::commit`], or the
    /// entry being replayed.
    pub(super) entry: Option<(u64, Place)>,
    /// Shared with the waiting caller, who may abandon the change while it is `QUEUED`.
    pub(super) ticket: Option<Arc<AtomicU8>>,
    /// Told once the journal entry is durable.
    pub(super) journaled: Option<oneshot::Sender<()>>,
}

impl Gate {
    pub(super) fn replay(entry: Option<(u64, Place)>) -> Self {
        Gate {
            record: false,
            entry,
            ticket: None,
            journaled: None,
        }
    }

    pub(super) fn startup() -> Self {
        Gate {
            record: true,
            ..Gate::replay(None)
        }
    }

    pub(super) fn abandoned(&self) -> bool {
        self.ticket
            .as_ref()
            .is_some_and(|t| t.load(Ordering::SeqCst) == ABANDONED)
    }

    fn claim(&self) -> Result<(), ServiceError> {
        match &self.ticket {
            Some(t) => t
                .compare_exchange(QUEUED, COMMITTING, Ordering::SeqCst, Ordering::SeqCst)
                .map(|_| ())
                .map_err(|_| ServiceError::ShuttingDown),
            None => Ok(()),
        }
    }

    pub(super) fn journaled(&mut self) {
        if let Some(tx) = self.journaled.take() {
            let _ = tx.send(());
        }
    }
}

/// What a change touched, so that a view is rebuilt only as far as needed.
#[derive(Debug, Clone, Copy)]
pub(super) enum Changed {
    /// Only order records (connection test outcomes).
    Orders,
    /// The store, ending with a publish: nothing is pending.
    Published,
    /// The store, with changes that may be pending (an order not published, a rollback).
    Store,
}

/// No pending changes against `base_version`.
pub(super) fn no_pending(base_version: Option<u64>) -> PendingChanges {
    PendingChanges {
        base_version,
        rivta_profiles: Vec::new(),
        logical_addresses: Vec::new(),
        components: Vec::new(),
        contracts: Vec::new(),
        call_addresses: Vec::new(),
        routes: Vec::new(),
        authorisations: Vec::new(),
    }
}

/// What a change produced.
pub(super) enum Applied {
    Order(Arc<OrderRecord>),
    Published(Arc<Snapshot>),
    RolledBack(Option<Arc<Snapshot>>),
    Done,
}

/// How long each phase of an order took, for its log line.
struct Phases {
    last: std::time::Instant,
    done: Vec<(&'static str, Duration)>,
}

impl Phases {
    fn start() -> Self {
        Phases {
            last: std::time::Instant::now(),
            done: Vec::new(),
        }
    }

    fn mark(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        self.done.push((phase, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (phase, took)) in self.done.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{phase}={}ms", took.as_millis())?;
        }
        Ok(())
    }
}

/// The connection tests of an order's routes (`routes`: the route each route item of
/// `inkludera` now has), one per producer URL in order of first appearance.
fn test_groups(cat: &Catalogue, routes: &[Id], from: Day) -> Vec<TestGroup> {
    let waiting: Arc<str> = Arc::from("waits for the execution day");
    let mut groups: Vec<TestGroup> = Vec::new();
    let mut by_url: std::collections::HashMap<Text, usize> = std::collections::HashMap::new();
    for &id in routes {
        let Some(url) = cat
            .routes
            .get(id)
            .and_then(|r| cat.call_addresses.get(r.call_address))
            .map(|c| &c.url)
        else {
            continue;
        };
        let i = *by_url.entry(url.clone()).or_insert_with(|| {
            groups.push(TestGroup {
                url: url.clone(),
                from,
                status: TestStatus::Pending,
                detail: waiting.clone(),
                at: None,
                routes: Vec::new(),
            });
            groups.len() - 1
        });
        let runs = &mut groups[i].routes;
        match runs.last_mut() {
            Some((first, n)) if *n < u32::MAX && *first + u64::from(*n) == id => *n += 1,
            _ => runs.push((id, 1)),
        }
    }
    groups
}

/// The writer thread: runs jobs one at a time until the service is dropped, or until a job
/// panics after its journal write (the store may be half-changed: restarting replays the
/// journal to a consistent state; until then changes are refused, reads still answer).
pub(super) fn run_writer(mut core: Core, shared: &Shared, jobs: &mpsc::Receiver<Job>) {
    lower_priority();
    // A store restored from a checkpoint has no natural-key indexes yet: built here, after
    // start-up and beside serving, before the first order needs them.
    for state in core.envs.values() {
        state.store.prepare_indexes();
    }
    while let Ok(job) = jobs.recv() {
        shared.started.fetch_add(1, Ordering::SeqCst);
        core.committing = false;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut core, shared)));
        shared.finished.fetch_add(1, Ordering::SeqCst);
        if outcome.is_err() && core.committing {
            tracing::error!(
                "a change failed after it was journaled; the order service refuses changes until the testbed is restarted"
            );
            return;
        }
        core.maybe_checkpoint(shared);
    }
}

/// Order work yields the CPU to the routers: on a busy machine a large order takes longer
/// rather than slowing routing down. (Linux: the nice value of this thread only.)
pub(crate) fn lower_priority() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10) {
        tracing::debug!(error = %e, "cannot lower the order service's CPU priority");
    }
}

/// An order job: the event for `json`, applied.
#[allow(clippy::too_many_arguments)]
pub(super) fn order(
    core: &mut Core,
    shared: &Shared,
    gate: &mut Gate,
    env: EnvName,
    json: String,
    source: OrderSource,
    publish: Option<bool>,
    form: Option<PreparedOrder>,
) -> Result<Arc<OrderRecord>, ServiceError> {
    let publish = publish
        .unwrap_or_else(|| shared.platform(env).auto_publish())
        .then(|| PublishInfo {
            executor: "ntjp".into(),
            comment: "Publicerad direkt efter beställningen".into(),
        });
    let event = Event::Order {
        env,
        source,
        json,
        publish,
        form,
    };
    match apply_event(core, shared, &event, Utc::now(), gate)? {
        Applied::Order(record) => Ok(record),
        _ => Err(ServiceError::Conflict("order was not recorded".into())),
    }
}

/// A publish as the API asks for it: refused when nothing is pending.
pub(super) fn publish_checked(
    core: &mut Core,
    shared: &Shared,
    event: &Event,
    gate: &mut Gate,
) -> Result<Arc<Snapshot>, ServiceError> {
    if let Event::Publish { env, .. } = event
        && !core.env(*env)?.store.has_pending_changes()
    {
        return Err(ServiceError::Conflict(NOTHING_TO_PUBLISH.into()));
    }
    match apply_event(core, shared, event, Utc::now(), gate)? {
        Applied::Published(s) => Ok(s),
        _ => Err(ServiceError::Conflict("nothing published".into())),
    }
}

/// Sets `published_version` on every order not yet published.
fn mark_published(orders: &mut [Arc<OrderRecord>], version: u64) {
    for o in orders.iter_mut().filter(|o| o.published_version.is_none()) {
        let mut r = OrderRecord::clone(o);
        r.published_version = Some(version);
        *o = Arc::new(r);
    }
}

/// Applies one event: checks it without changing anything, commits it (journal, unless
/// replaying), then changes the state in place and publishes the views. The check and the
/// change are this one call on the writer, so nothing can change in between.
pub(super) fn apply_event(
    core: &mut Core,
    shared: &Shared,
    event: &Event,
    at: DateTime<Utc>,
    gate: &mut Gate,
) -> Result<Applied, ServiceError> {
    match event {
        Event::Order { .. } => apply_order(core, shared, event, at, gate),
        Event::Publish { env, info } => {
            let env = *env;
            core.env(env)?;
            core.commit(gate, at, event)?;
            let state = core.env_mut(env)?;
            let snapshot = state.store.publish(&info.executor, &info.comment, at);
            mark_published(&mut state.orders, snapshot.version());
            shared.platform(env).tak.store(Some(snapshot.clone()));
            core.publish_view(shared, env, Changed::Published);
            Ok(Applied::Published(snapshot))
        }
        Event::Rollback { env, version } => {
            apply_rollback(core, shared, event, *env, *version, at, gate)
        }
        Event::Clock { env, offset_days } => {
            shared
                .platform(*env)
                .clock
                .day_at(i128::from(*offset_days))
                .map_err(|e| ServiceError::Invalid(format!("clock of {env}: {e}")))?;
            core.commit(gate, at, event)?;
            shared.platform(*env).clock.set_offset_days(*offset_days);
            Ok(Applied::Done)
        }
        Event::Settings { env, auto_publish } => {
            core.commit(gate, at, event)?;
            shared
                .platform(*env)
                .auto_publish
                .store(*auto_publish, Ordering::Relaxed);
            Ok(Applied::Done)
        }
        Event::System { system } => {
            let mut forms = Forms::clone(&core.forms);
            forms.register_system(system.clone())?;
            apply_forms(core, shared, event, forms, at, gate)
        }
        Event::PreStudy { prestudy } => {
            let mut forms = Forms::clone(&core.forms);
            forms.register_prestudy(prestudy.clone())?;
            apply_forms(core, shared, event, forms, at, gate)
        }
    }
}

/// A registration checked into `forms`: committed, then made the forms readers see.
fn apply_forms(
    core: &mut Core,
    shared: &Shared,
    event: &Event,
    forms: Forms,
    at: DateTime<Utc>,
    gate: &mut Gate,
) -> Result<Applied, ServiceError> {
    core.commit(gate, at, event)?;
    core.forms = Arc::new(forms);
    core.publish_forms(shared);
    Ok(Applied::Done)
}

/// An order checked: parsed, validated into a plan against the store, and the event to
/// journal (the order as sent, or as not published: see [`check_order`]).
struct CheckedOrder {
    order: orders::Order,
    plan: orders::validate::Plan,
    /// Published in the same step.
    publish: Option<PublishInfo>,
    /// The event to journal when it differs from the one applied.
    unpublished: Option<Event>,
}

/// An order event: checked (parse, TAK's validation, "something to publish"), committed,
/// executed in place, recorded, published if asked, and the views swapped.
fn apply_order(
    core: &mut Core,
    shared: &Shared,
    event: &Event,
    at: DateTime<Utc>,
    gate: &mut Gate,
) -> Result<Applied, ServiceError> {
    let Event::Order {
        env,
        source,
        json,
        form,
        ..
    } = event
    else {
        return Err(ServiceError::Conflict("not an order".into()));
    };
    let env = *env;
    let mut phases = Phases::start();
    let checked = check_order(core, shared, event, &mut phases)?;
    core.commit(gate, at, checked.unpublished.as_ref().unwrap_or(event))?;
    phases.mark("journal");
    let state = core.env_mut(env)?;
    let executed = orders::execute::execute(&mut state.store, &checked.order, checked.plan);
    phases.mark("execute");
    let snapshot = checked
        .publish
        .as_ref()
        .map(|p| state.store.publish(&p.executor, &p.comment, at));
    phases.mark("publish");
    let version = snapshot.as_ref().map(|s| s.version());
    if let Some(v) = version {
        mark_published(&mut state.orders, v);
    }
    let (routes, authorisations) = (
        checked.order.include.routes.len(),
        checked.order.include.authorisations.len(),
    );
    let execution_day = checked
        .order
        .execution_day(shared.platform(env).clock.time().zone());
    drop(checked.order);
    // The operators test producers that orders connect; the start-up files are the testbed's
    // own configuration.
    let connection_tests = match (source, execution_day) {
        (OrderSource::File { .. }, _) | (_, None) => Vec::new(),
        (_, Some(from)) => test_groups(state.store.catalogue(), &executed.routes, from),
    };
    let (pending_tests_from, pending_tests) = pending_tests(&connection_tests);
    core.grow(executed.report.lines() as u64);
    let state = core.env_mut(env)?;
    let record = Arc::new(OrderRecord {
        id: state.orders.len() as u64 + 1,
        env,
        source: source.clone(),
        accepted_at: at,
        execution_day,
        published_version: version,
        report: Arc::new(executed.report),
        text: order_text(json, gate.entry),
        pending_tests_from,
        pending_tests,
        connection_tests: connection_tests.into(),
    });
    state.orders.push(record.clone());
    show_order(core, shared, env, snapshot, form.as_ref());
    phases.mark("views");
    if !core.replaying {
        tracing::info!(%env, order = record.id, routes, authorisations, phases = %phases, "order accepted");
    }
    Ok(Applied::Order(record))
}

/// Makes an executed order visible: the published snapshot (if it was published) to the
/// router, the form it came from to the forms' rules, the environment's view to readers.
fn show_order(
    core: &mut Core,
    shared: &Shared,
    env: EnvName,
    snapshot: Option<Arc<Snapshot>>,
    form: Option<&PreparedOrder>,
) {
    let changed = match snapshot {
        Some(s) => {
            shared.platform(env).tak.store(Some(s));
            Changed::Published
        }
        None => Changed::Store,
    };
    if let Some(prepared) = form {
        Arc::make_mut(&mut core.forms).record(prepared);
        core.publish_forms(shared);
    }
    core.publish_view(shared, env, changed);
}

/// The checks of an order event, changing nothing: the text parsed (the mocks token replaced),
/// TAK's validation into a plan, and whether publishing it at once would publish nothing.
fn check_order(
    core: &Core,
    shared: &Shared,
    event: &Event,
    phases: &mut Phases,
) -> Result<CheckedOrder, ServiceError> {
    let Event::Order {
        env,
        source,
        json,
        publish,
        form,
    } = event
    else {
        return Err(ServiceError::Conflict("not an order".into()));
    };
    let order = if json.contains(MOCKS_TOKEN) {
        orders::parse(&json.replace(MOCKS_TOKEN, &shared.mocks_base))
    } else {
        orders::parse(json)
    }
    .map_err(|e| ServiceError::Parse(e.to_string()))?;
    phases.mark("parse");
    // A form's generated order is news to its sender; a raw one is not.
    let shown = || form.as_ref().map(|_| json.clone());
    let store = &core.env(*env)?.store;
    let zone = shared.platform(*env).clock.time().zone();
    let plan =
        orders::validate::plan(store, &order, zone).map_err(|errors| ServiceError::Rejected {
            messages: errors.into_iter().collect(),
            json: shown(),
        })?;
    // An order that leaves nothing to publish, published at once, would be an empty version.
    // With nothing to report either (`{}`, or only plain objects TAK already holds, which
    // tak-web drops silently) it is refused with tak-web's refusal to publish nothing; one
    // that only excludes what does not exist is kept for its report ("Existerar ej") and
    // journaled as not published. Both are decided before anything is journaled; an order
    // journaled before this check replays as it was.
    let nothing_to_publish = publish.is_some()
        && !core.replaying
        && plan.changes_nothing()
        && !store.has_pending_changes();
    let mut checked = CheckedOrder {
        order,
        plan,
        publish: publish.clone(),
        unpublished: None,
    };
    if nothing_to_publish {
        if !checked.plan.reports_something() {
            return Err(ServiceError::Rejected {
                messages: vec![NOTHING_TO_PUBLISH.to_owned()],
                json: shown(),
            });
        }
        checked.publish = None;
        checked.unpublished = Some(Event::Order {
            env: *env,
            source: source.clone(),
            json: json.clone(),
            publish: None,
            form: form.clone(),
        });
    }
    phases.mark("validate");
    Ok(checked)
}

/// Where an accepted order's text is kept: a large one stays in its journal entry.
fn order_text(json: &str, entry: Option<(u64, Place)>) -> OrderText {
    match entry {
        Some((seq, place)) if json.len() > KEPT_TEXT_BYTES => OrderText::Journal { seq, place },
        _ => OrderText::Memory(Arc::from(json)),
    }
}

/// A rollback event: refused unless `version` is the latest published (decided here, on the
/// writer, so two concurrent rollbacks of the same version cannot both pass), then committed,
/// and the orders published in it marked unpublished again.
fn apply_rollback(
    core: &mut Core,
    shared: &Shared,
    event: &Event,
    env: EnvName,
    version: u64,
    at: DateTime<Utc>,
    gate: &mut Gate,
) -> Result<Applied, ServiceError> {
    let latest = core
        .env(env)?
        .store
        .versions()
        .iter()
        .last()
        .map(|s| s.version());
    if latest != Some(version) {
        let refused = RollbackError::NotLatest {
            requested: version,
            latest,
        };
        return Err(ServiceError::Conflict(refused.to_string()));
    }
    core.commit(gate, at, event)?;
    let state = core.env_mut(env)?;
    // Checked above: the version is the latest, so this cannot be refused.
    let now_latest = state
        .store
        .rollback(version)
        .map_err(|_| ServiceError::Conflict(ROLLBACK_NOT_LATEST.into()))?;
    for o in state
        .orders
        .iter_mut()
        .filter(|o| o.published_version == Some(version))
    {
        let mut r = OrderRecord::clone(o);
        r.published_version = None;
        *o = Arc::new(r);
    }
    if let Some(s) = &now_latest {
        s.prepare();
    }
    shared.platform(env).tak.store(now_latest.clone());
    core.publish_view(shared, env, Changed::Store);
    Ok(Applied::RolledBack(now_latest))
}
