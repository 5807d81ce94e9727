//! TAK (tjänsteadresseringskatalog): the routing and authorisation catalogue of one environment.
//!
//! [`model`] holds the entities and tables, [`store::Store`] the mutable catalogue that orders
//! change, and [`snapshot::Snapshot`] the immutable published version the router reads (lookups
//! with the VP fallback rules). This is a pure core: no IO, no clock reads, nothing about SOAP or
//! HTTP; orders (Beställningsstödet JSON) live in [`crate::orders`].
pub mod model;
pub mod snapshot;
pub mod store;

pub use model::{Day, Validity};
pub use snapshot::Snapshot;
pub use store::Store;
