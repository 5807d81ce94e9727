//! PLACEHOLDER (replaced by the takcache helper's branch at merge): the API the wiring uses.
#![allow(missing_docs, dead_code, unused_variables)]

use std::{path::PathBuf, sync::Arc, time::Duration};

use crate::{tak::TakCell, vocab::EnvName};

pub struct TakSource {
    pub env: EnvName,
    pub url: String,
    pub cache_file: PathBuf,
    pub platform: String,
    pub timeout: Duration,
    pub max_bytes: usize,
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

pub struct TakCache {
    source: TakSource,
    cell: TakCell,
}

pub struct RefreshLog {
    pub lines: Vec<String>,
    pub success: bool,
}

impl RefreshLog {
    pub fn html(&self) -> String {
        self.lines.iter().map(|l| format!("<br>{l}")).collect()
    }
}

impl TakCache {
    pub fn new(
        source: TakSource,
        cell: TakCell,
        time: Arc<crate::clock::TimeBase>,
    ) -> Arc<TakCache> {
        Arc::new(TakCache { source, cell })
    }
    pub async fn refresh(&self) -> RefreshLog {
        RefreshLog {
            lines: vec!["Init done, was successful: false".into()],
            success: false,
        }
    }
    pub fn initialized(&self) -> bool {
        false
    }
    pub fn reset_info(&self) -> String {
        "Not initialized".into()
    }
}
