//! TAK (tjänsteadresseringskatalog): the routing and authorisation catalogue of one environment.
//!
//! [`model`] holds the entities and tables, [`store::Store`] the mutable catalogue that orders
//! change, with its publish history ([`history`]: the latest two versions whole, older ones as
//! diffs) and rollback, and [`snapshot::Snapshot`] the immutable
//! published version the router reads (lookups with the VP fallback rules). Around a snapshot:
//! [`pending`] (what is not yet published), [`diff`](mod@diff) (what changed between two versions),
//! [`export`] (the real `TAK-published-version` JSON and a readable table listing) and
//! [`readapi`] (the real SOAP read APIs SokVagvalsInfo v2 and GetLogicalAddresseesByServiceContract
//! v2, XML in and out). [`view`] resolves rows to natural keys for all of them. [`image`] writes
//! stores to bytes and back for the order service's checkpoint. [`hsa`] is the HSA tree read
//! from `hsacache.xml` files and [`rules`] VP's fallback settings (default routing, HSA
//! climbs) that the lookups apply.
//! [`vagvalsinfo`] reads SokVagvalsInfo's answers and VP's local TAK copy into entries and
//! builds a router node's snapshot from them.
//!
//! This is a pure core: no IO, no clock reads, no HTTP; orders (Beställningsstödet JSON) live in
//! [`crate::orders`].
pub mod diff;
pub mod export;
pub mod history;
pub mod hsa;
pub mod image;
pub mod key;
pub mod model;
pub mod pending;
pub mod readapi;
pub mod rules;
pub mod snapshot;
pub mod store;
#[cfg(test)]
mod testutil;
pub mod text;
pub mod vagvalsinfo;
pub mod view;

pub use diff::{SnapshotDiff, diff};
pub use model::{Day, FIRST_YEAR, LAST_YEAR, Validity};
pub use pending::PendingChanges;
pub use readapi::TakRequest;
pub use snapshot::Snapshot;
pub use store::{PublishError, RollbackError, Store};

/// The published TAK of one environment as the router reads it: `None` until the first
/// snapshot is published (then every call gets VP008), swapped atomically on publish.
pub type TakCell = std::sync::Arc<arc_swap::ArcSwapOption<Snapshot>>;
