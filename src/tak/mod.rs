//! TAK (tjänsteadresseringskatalog): the routing and authorisation catalogue of one environment.
//!
//! [`model`] holds the entities and tables, [`store::Store`] the mutable catalogue that orders
//! change, with its publish history and rollback, and [`snapshot::Snapshot`] the immutable
//! published version the router reads (lookups with the VP fallback rules). Around a snapshot:
//! [`pending`] (what is not yet published), [`diff`](mod@diff) (what changed between two versions),
//! [`export`] (the real `TAK-published-version` JSON and a readable table listing) and
//! [`readapi`] (the real SOAP read APIs SokVagvalsInfo v2 and GetLogicalAddresseesByServiceContract
//! v2, XML in and out). [`view`] resolves rows to natural keys for all of them. [`image`] writes
//! stores to bytes and back for the order service's checkpoint.
//!
//! This is a pure core: no IO, no clock reads, no HTTP; orders (Beställningsstödet JSON) live in
//! [`crate::orders`].
pub mod diff;
pub mod export;
pub mod image;
pub mod key;
pub mod model;
pub mod pending;
pub mod readapi;
pub mod snapshot;
pub mod store;
#[cfg(test)]
mod testutil;
pub mod text;
pub mod view;

pub use diff::{SnapshotDiff, diff};
pub use model::{Day, FIRST_YEAR, LAST_YEAR, Validity};
pub use pending::PendingChanges;
pub use readapi::TakRequest;
pub use snapshot::Snapshot;
pub use store::{PublishError, RollbackError, Store};
