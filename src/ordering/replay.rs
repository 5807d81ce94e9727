//! The order service's start: opens the journal (from the checkpoint's entry on when a usable
//! checkpoint matches this configuration, else whole), builds every environment's store (empty,
//! from its start-up TAK export, or from the checkpoint), replays the journal's entries through
//! the writer's own [`apply_event`], or, when the journal is empty, applies the start-up orders
//! and journals them; then hands the state to the writer thread.
//!
//! Blocking (file IO, every order of the journal): it runs before serving, off the async
//! workers. It does not decide what an event means (that is [`apply_event`]'s job, the same
//! at start-up as when serving) and does not write checkpoints (the writer does).

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
};

use arc_swap::ArcSwap;
use chrono::Utc;
use tokio::sync::watch;

use super::{
    EnvView, Event, Job, MAX_QUEUED, OrderService, OrderSource, Platform, PublishInfo,
    ServiceError, Shared, checkpoint,
    writer::{
        Changed, Checkpoints, Core, EnvState, Gate, apply_event, publish_checked, run_writer,
    },
};
use crate::{
    clock::{Clock, TimeBase},
    config::Config,
    journal::{Entry, Journal, JournalError},
    orders::forms::Forms,
    tak::{Day, Store},
    vocab::EnvName,
};

/// How the environments were filled at start-up.
pub struct Opened {
    /// The service.
    pub platforms: Arc<OrderService>,
    /// Journal entries replayed (0: a fresh journal, filled from the start-up orders, or
    /// nothing after the checkpoint).
    pub replayed: usize,
    /// The journal entry the state was loaded at from the checkpoint, if one was used.
    pub checkpoint: Option<u64>,
    /// A torn journal tail that was cut off; a checkpoint that could not be used.
    pub warning: Option<String>,
}

/// Start-up failure of the order service.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The clock's settings (`[clock]`) are unusable; names the setting and the value.
    #[error("{0}")]
    Clock(String),
    /// The journal is damaged (not at its tail) or unreadable.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A journal entry does not apply any more (e.g. a hand-edited journal).
    #[error("journal {path}: line {line} (entry seq {seq}) cannot be replayed: {reason}")]
    Replay {
        /// The journal.
        path: String,
        /// The entry's 1-based line in the journal.
        line: u64,
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
    /// The writer thread could not be started.
    #[error("cannot start the order service's thread: {0}")]
    Thread(std::io::Error),
}

impl OrderService {
    /// Builds every environment: replays the journal at `journal_path` if it has entries,
    /// else applies the start-up orders (`files` per environment) and journals them; then
    /// starts the writer thread. Blocks (file IO, every order of the journal): async callers
    /// run it with `spawn_blocking`. `journal_path` None: nothing is persisted.
    pub fn open(
        config: &Config,
        mocks_base: &str,
        journal_path: Option<&Path>,
        files: &dyn Fn(EnvName) -> Result<Vec<(String, String)>, OpenError>,
    ) -> Result<Opened, OpenError> {
        let fingerprint = checkpoint::fingerprint(config, mocks_base);
        let time = Arc::new(TimeBase::from_config(&config.clock).map_err(OpenError::Clock)?);
        let mut found = match journal_path {
            Some(p) => open_journal(p, &fingerprint, time.today())?,
            None => Found::default(),
        };
        let (shared, envs) = build_envs(
            config,
            mocks_base,
            journal_path,
            found.image.is_some(),
            &time,
        )?;
        let mut core = Core {
            checkpoints: journal_path.map(|p| Checkpoints {
                path: checkpoint::path(p),
                fingerprint,
                since: 0,
                busy: Arc::new(AtomicBool::new(false)),
            }),
            journal: found.journal,
            forms: Arc::new(Forms::default()),
            envs,
            replaying: true,
            committing: false,
        };
        let checkpoint = found.image.as_ref().map(|image| image.seq);
        if let Some(image) = found.image {
            restore(&mut core, &shared, image);
        }
        let entries = std::mem::take(&mut found.entries);
        let replayed = entries.len();
        if core.journal.as_ref().is_none_or(Journal::is_empty) {
            apply_startup_orders(&mut core, &shared, config, files)?;
        } else {
            replay(&mut core, &shared, entries, journal_path)?;
        }
        core.replaying = false;
        serve_latest(&core, &shared);
        core.maybe_checkpoint(&shared);
        let service = start_writer(core, shared)?;
        Ok(Opened {
            platforms: Arc::new(service),
            replayed,
            checkpoint,
            warning: (!found.warnings.is_empty()).then(|| found.warnings.join("\n")),
        })
    }
}

/// What was found on disk at start-up.
#[derive(Default)]
struct Found {
    /// The journal, positioned for appending.
    journal: Option<Journal>,
    /// Its entries to replay: after the checkpoint's entry when one is used, else all.
    entries: Vec<Entry>,
    /// The usable checkpoint.
    image: Option<checkpoint::Image>,
    /// A checkpoint that could not be used; a torn journal tail that was cut off.
    warnings: Vec<String>,
}

/// Opens the journal at `path` from a checkpoint's entry on when there is a usable one (made
/// by a run with the same `fingerprint`, at an entry the journal holds), else whole.
fn open_journal(path: &Path, fingerprint: &str, real_today: Day) -> Result<Found, OpenError> {
    let file = checkpoint::path(path);
    checkpoint::remove_leftovers(&file);
    let mut found = Found::default();
    let mut opened = None;
    match checkpoint::read(&file, fingerprint, real_today) {
        Ok(None) => {}
        Ok(Some(image)) => match Journal::open_after(path, image.seq, image.place)? {
            Some(o) => {
                opened = Some(o);
                found.image = Some(image);
            }
            None => found.warnings.push(format!(
                "checkpoint {}: made at journal entry {}, which {} does not hold; the journal is replayed from the start",
                file.display(),
                image.seq,
                path.display()
            )),
        },
        Err(reason) => found.warnings.push(format!(
            "checkpoint {}: {reason}; the journal is replayed from the start",
            file.display()
        )),
    }
    let (journal, recovered) = match opened {
        Some(o) => o,
        None => Journal::open(path)?,
    };
    found.journal = Some(journal);
    found.entries = recovered.entries;
    found.warnings.extend(recovered.warning);
    Ok(found)
}

/// Every environment's router-facing state and empty views (`Shared`), and its store: empty
/// or from its start-up TAK export, or, when `restored` from a checkpoint, empty and to be
/// replaced (the start-up export is only checked to be the one the checkpoint was made with).
fn build_envs(
    config: &Config,
    mocks_base: &str,
    journal_path: Option<&Path>,
    restored: bool,
    time: &Arc<TimeBase>,
) -> Result<(Arc<Shared>, BTreeMap<EnvName, EnvState>), OpenError> {
    let mut platforms = BTreeMap::new();
    let mut envs = BTreeMap::new();
    let mut views = BTreeMap::new();
    for env in EnvName::ALL {
        let cfg = config.environments.get(env);
        let store = if restored {
            crate::journal::check_initial_store(env, cfg, journal_path)?;
            Store::new(&cfg.platform)
        } else {
            crate::journal::initial_store(env, cfg, journal_path)?
        };
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
                clock: Arc::new(Clock::on(time.clone())),
                auto_publish: AtomicBool::new(cfg.auto_publish),
                orders: Default::default(),
            }),
        );
        views.insert(env, ArcSwap::from_pointee(EnvView::empty()));
    }
    let shared = Arc::new(Shared {
        platforms,
        views,
        forms: ArcSwap::from_pointee(Forms::default()),
        mocks_base: mocks_base.to_string(),
        journal_path: journal_path.map(Path::to_path_buf),
        submitted: AtomicU64::new(0),
        started: AtomicU64::new(0),
        finished: AtomicU64::new(0),
    });
    Ok((shared, envs))
}

/// Takes the state at the checkpoint's entry: forms, and per environment its store, orders,
/// clock and publishing setting.
fn restore(core: &mut Core, shared: &Shared, image: checkpoint::Image) {
    core.forms = image.forms;
    for e in image.envs {
        let platform = shared.platform(e.env);
        platform.clock.set_offset_days(e.offset_days);
        platform
            .auto_publish
            .store(e.auto_publish, Ordering::Relaxed);
        core.envs.insert(
            e.env,
            EnvState {
                store: e.store,
                orders: e.orders,
            },
        );
    }
}

/// A fresh journal: every environment's start-up orders applied (and journaled) in file
/// order, then published as one version. A refused one stops the start, naming its file.
fn apply_startup_orders(
    core: &mut Core,
    shared: &Shared,
    config: &Config,
    files: &dyn Fn(EnvName) -> Result<Vec<(String, String)>, OpenError>,
) -> Result<(), OpenError> {
    for env in EnvName::ALL {
        let platform = config.environments.get(env).platform.clone();
        let refused = |file: String, messages: Vec<String>| OpenError::Order {
            env,
            platform: platform.clone(),
            file,
            messages,
        };
        for (file, text) in files(env)? {
            let event = Event::Order {
                env,
                source: OrderSource::File { name: file.clone() },
                json: text,
                publish: None,
                form: None,
            };
            if let Err(e) = apply_event(core, shared, &event, Utc::now(), &mut Gate::startup()) {
                let messages = match e {
                    ServiceError::Rejected { messages, .. } => messages,
                    other => vec![other.to_string()],
                };
                return Err(refused(file, messages));
            }
        }
        let event = Event::Publish {
            env,
            info: PublishInfo {
                executor: "ntjp serve".into(),
                comment: "Beställningar vid start".into(),
            },
        };
        if let Err(e) = publish_checked(core, shared, &event, &mut Gate::startup()) {
            return Err(refused("(publish)".into(), vec![e.to_string()]));
        }
    }
    Ok(())
}

/// Applies the journal's `entries` in order, as they were applied when accepted. An entry
/// that does not apply stops the start, naming the journal, its line and seq.
fn replay(
    core: &mut Core,
    shared: &Shared,
    entries: Vec<Entry>,
    journal_path: Option<&Path>,
) -> Result<(), OpenError> {
    let path = journal_path
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    for entry in entries {
        let (seq, line) = (entry.seq, entry.place.line);
        let fail = |reason: String| OpenError::Replay {
            path: path.clone(),
            line,
            seq,
            reason,
        };
        let event: Event = match serde_json::from_str(&entry.event) {
            Ok(e) => e,
            Err(e) => return Err(fail(format!("unknown event: {e}"))),
        };
        drop(entry.event);
        let mut gate = Gate::replay(Some((seq, entry.place)));
        if let Err(e) = apply_event(core, shared, &event, entry.at, &mut gate) {
            return Err(fail(e.to_string()));
        }
    }
    Ok(())
}

/// Hands each router the latest published version, whatever filled the store (start-up
/// orders, the journal, or a start-up TAK that comes published), and publishes every view
/// and the forms once.
fn serve_latest(core: &Core, shared: &Shared) {
    for env in EnvName::ALL {
        if let Ok(state) = core.env(env) {
            let latest = state.store.latest_snapshot();
            if let Some(s) = &latest {
                s.prepare();
            }
            shared.platform(env).tak.store(latest);
        }
        core.publish_view(shared, env, Changed::Store);
    }
    core.publish_forms(shared);
}

/// Starts the writer thread with the state built at start-up.
fn start_writer(core: Core, shared: Arc<Shared>) -> Result<OrderService, OpenError> {
    let (writer, jobs) = mpsc::sync_channel::<Job>(MAX_QUEUED);
    let thread_shared = shared.clone();
    std::thread::Builder::new()
        .name("ntjp-orders".into())
        .spawn(move || run_writer(core, &thread_shared, &jobs))
        .map_err(OpenError::Thread)?;
    Ok(OrderService {
        shared,
        writer,
        stopping: watch::Sender::new(false),
    })
}
