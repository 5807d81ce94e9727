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
    clock::Clock,
    config::{Config, EnvName},
    journal::{Journal, JournalError},
    orders::forms::Forms,
    tak::Store,
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
        // The journal from a checkpoint's entry on when there is a usable one, else whole.
        let fingerprint = checkpoint::fingerprint(config, mocks_base);
        let mut warnings = Vec::new();
        let mut restored = None;
        let (journal, recovered) = match journal_path {
            Some(p) => {
                let file = checkpoint::path(p);
                checkpoint::remove_leftovers(&file);
                let mut opened = None;
                match checkpoint::read(&file, &fingerprint) {
                    Ok(None) => {}
                    Ok(Some(image)) => match Journal::open_after(p, image.seq, image.place)? {
                        Some(o) => {
                            opened = Some(o);
                            restored = Some(image);
                        }
                        None => warnings.push(format!(
                            "checkpoint {}: made at journal entry {}, which {} does not hold; the journal is replayed from the start",
                            file.display(),
                            image.seq,
                            p.display()
                        )),
                    },
                    Err(reason) => warnings.push(format!(
                        "checkpoint {}: {reason}; the journal is replayed from the start",
                        file.display()
                    )),
                }
                let (j, r) = match opened {
                    Some(o) => o,
                    None => Journal::open(p)?,
                };
                (Some(j), Some(r))
            }
            None => (None, None),
        };
        let mut platforms = BTreeMap::new();
        let mut envs = BTreeMap::new();
        let mut views = BTreeMap::new();
        for env in EnvName::ALL {
            let cfg = config.environments.get(env);
            // Restored from the checkpoint (below), a start-up TAK is only checked.
            let store = if restored.is_some() {
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
                    clock: Arc::new(Clock::new()),
                    auto_publish: AtomicBool::new(cfg.auto_publish),
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
        let mut core = Core {
            checkpoints: journal_path.map(|p| Checkpoints {
                path: checkpoint::path(p),
                fingerprint,
                since: 0,
                busy: Arc::new(AtomicBool::new(false)),
            }),
            journal,
            forms: Arc::new(Forms::default()),
            envs,
            replaying: true,
            committing: false,
        };
        let checkpoint = restored.as_ref().map(|image| image.seq);
        if let Some(image) = restored {
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
        let (entries, warning) = match recovered {
            Some(r) => (r.entries, r.warning),
            None => (Vec::new(), None),
        };
        warnings.extend(warning);
        let warning = (!warnings.is_empty()).then(|| warnings.join("\n"));
        let replayed = entries.len();
        if core.journal.as_ref().is_none_or(Journal::is_empty) {
            for env in EnvName::ALL {
                let list = files(env)?;
                let platform = config.environments.get(env).platform.clone();
                for (file, text) in list {
                    let event = Event::Order {
                        env,
                        source: OrderSource::File { name: file.clone() },
                        json: text,
                        publish: None,
                        form: None,
                    };
                    if let Err(e) =
                        apply_event(&mut core, &shared, &event, Utc::now(), &mut Gate::startup())
                    {
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
                let event = Event::Publish {
                    env,
                    info: PublishInfo {
                        executor: "ntjp serve".into(),
                        comment: "Beställningar vid start".into(),
                    },
                };
                let published = publish_checked(&mut core, &shared, &event, &mut Gate::startup());
                if let Err(e) = published {
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
                let line = entry.place.line;
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
                if let Err(e) = apply_event(&mut core, &shared, &event, entry.at, &mut gate) {
                    return Err(fail(e.to_string()));
                }
            }
        }
        core.replaying = false;
        for env in EnvName::ALL {
            // The router serves the latest published version, whatever filled the store
            // (start-up orders, the journal, or a start-up TAK that comes published).
            if let Ok(state) = core.env(env) {
                let latest = state.store.latest_snapshot();
                if let Some(s) = &latest {
                    s.prepare();
                }
                shared.platform(env).tak.store(latest);
            }
            core.publish_view(&shared, env, Changed::Store);
        }
        core.publish_forms(&shared);
        core.maybe_checkpoint(&shared);

        let (writer, jobs) = mpsc::sync_channel::<Job>(MAX_QUEUED);
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("ntjp-orders".into())
            .spawn(move || run_writer(core, &thread_shared, &jobs))
            .map_err(OpenError::Thread)?;
        Ok(Opened {
            platforms: Arc::new(OrderService {
                shared,
                writer,
                stopping: watch::Sender::new(false),
            }),
            replayed,
            checkpoint,
            warning,
        })
    }
}
