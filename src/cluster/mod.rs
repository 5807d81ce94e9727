//! The testbed as several processes, as NTjP runs (`cluster.role`): router nodes that load
//! their TAK over TAK's read API and keep a local copy ([`takcache`]), their admin listener
//! (and a mocks node's) with VP's `/status`, `/resetcache` and readiness ([`control`]), and
//! the order service's resets of every router node after each publish ([`resets`]).
//!
//! `crate::server` decides which of these a process runs; with `cluster.role = "all"` (the
//! default) none of them runs and the single process works as it always has.
pub mod control;
pub mod resets;
pub mod takcache;
