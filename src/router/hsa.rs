//! The routers' HSA cache (VP's `HsaCacheService`): the HSA tree read from the configured
//! `hsacache.xml` files (config `router.hsa_files`) at start-up and on `/resethsacache`, kept in
//! an atomically swapped [`HsaCell`] that every environment's router reads per request without
//! a lock, and the reset's status for `/status`.
//!
//! Files are read and parsed on the blocking pool, never on an async worker; resets run one at
//! a time. A reset that fails keeps the tree that was loaded (as hsa-cache does) and reports
//! HSA as not initialised (as VP does); its answer says why. The texts of the answer and of
//! `HsaCacheResetInfo` are VP's (`HsaCacheServiceImpl`, `GetStatusProcessor`).

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
};

use chrono::{DateTime, Local};

use crate::tak::hsa::{HsaCell, HsaError, HsaFile, HsaTree, parse_file};

/// Why the HSA files could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum HsaLoadError {
    /// A file could not be read.
    #[error("cannot read HSA file {file}: {source}")]
    Read {
        /// The file, as configured.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not a valid HSA cache file.
    #[error("invalid HSA file {0}")]
    Invalid(#[from] HsaError),
}

/// What the last reset did (VP's `HsaCacheStatus`).
#[derive(Debug, Clone, Default)]
struct Status {
    initialized: bool,
    reset_at: Option<DateTime<Local>>,
    old: usize,
    new: usize,
}

/// The HSA cache shared by every environment's router and the admin listener.
pub struct HsaCache {
    /// The files, as configured (master first).
    files: Vec<PathBuf>,
    /// The tree the routers read.
    tree: HsaCell,
    /// The last reset's outcome; written by a reset, read by `/status` (never by a request).
    status: Mutex<Status>,
    /// One reset at a time (awaited, never held by a request).
    resetting: tokio::sync::Mutex<()>,
}

impl HsaCache {
    /// Loads the files (blocking: call on the blocking pool at start-up). Fails naming the
    /// file and the problem; with no files, the tree is empty (every address has the parent
    /// `SE`).
    pub fn load(files: Vec<PathBuf>) -> Result<HsaCache, HsaLoadError> {
        let tree = read_tree(&files)?;
        let status = Status {
            initialized: true,
            reset_at: Some(Local::now()),
            old: 0,
            new: tree.len(),
        };
        Ok(HsaCache {
            files,
            tree: Arc::new(arc_swap::ArcSwap::from_pointee(tree)),
            status: Mutex::new(status),
            resetting: tokio::sync::Mutex::new(()),
        })
    }

    /// The cell the routers read.
    pub fn tree(&self) -> &HsaCell {
        &self.tree
    }

    /// Reloads the files off the async workers and swaps the new tree in; answers VP's text
    /// (`Start a reset of HSA cache using files: [...]` and the outcome). On failure the old
    /// tree stays and the answer ends with the reason (file and problem).
    pub async fn reset(self: &Arc<Self>) -> String {
        let _one_at_a_time = self.resetting.lock().await;
        let old = self.tree.load().len();
        let files = self.files.clone();
        let loaded = tokio::task::spawn_blocking(move || read_tree(&files))
            .await
            .map_err(|e| e.to_string());
        let mut text = format!(
            "Start a reset of HSA cache using files: [{}]\n",
            self.files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut status = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        status.reset_at = Some(Local::now());
        status.old = old;
        match loaded {
            Ok(Ok(tree)) => {
                let new = tree.len();
                self.tree.store(Arc::new(tree));
                status.new = new;
                status.initialized = true;
                if new > 1 {
                    text.push_str(&format!(
                        "Successfully reset HSA cache. \nHSA cache size was: {old} \nHSA cache now is: {new}."
                    ));
                } else {
                    text.push_str(&format!(
                        "Warning: HSA cache reset to {new}. Was {old} entries!"
                    ));
                }
                tracing::info!(old, new, "HSA cache reset");
            }
            Ok(Err(why)) => {
                status.initialized = false;
                text.push_str(FAILED);
                text.push_str(&format!("\nCaused by: {why}"));
                tracing::warn!(error = %why, "HSA cache reset failed; the tree loaded before is kept");
            }
            Err(why) => {
                status.initialized = false;
                text.push_str(FAILED);
                text.push_str(&format!("\nCaused by: {why}"));
            }
        }
        if let Ok(mut s) = self.status.lock() {
            *s = status;
        }
        text
    }

    /// `/status`'s `HsaCacheInitialized` and `HsaCacheResetInfo`, in VP's words
    /// (`Date:yyyy-MM-ddTHH:mm Status:<bool> oldNum:<n> newNum:<m>`).
    pub fn status_fields(&self) -> (String, String) {
        let s = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        let date = s
            .reset_at
            .map(|d| d.format("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default();
        (
            s.initialized.to_string(),
            format!(
                "Date:{date} Status:{} oldNum:{} newNum:{}",
                s.initialized, s.old, s.new
            ),
        )
    }
}

/// VP's failure text: "Reset HSA cache failed." and the exception's `toString()`.
const FAILED: &str = "Reset HSA cache failed.se.skl.tp.hsa.cache.HsaCacheInitializationException: Failed to initialize HSA cache!";

/// Reads and parses every file (blocking), then builds the tree.
fn read_tree(files: &[PathBuf]) -> Result<HsaTree, HsaLoadError> {
    let mut parsed: Vec<HsaFile> = Vec::with_capacity(files.len());
    for path in files {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| HsaLoadError::Read {
            file: name.clone(),
            source,
        })?;
        let file = parse_file(&name, &bytes)?;
        if file.skipped > 0 {
            tracing::warn!(file = %name, skipped = file.skipped, "HSA units without hsaIdentity, DN or name skipped");
        }
        parsed.push(file);
    }
    Ok(HsaTree::build(parsed))
}
