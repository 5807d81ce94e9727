//! ntjp-testbed: a local copy of Sweden's national service platform (NTjP).
//!
//! # Layout
//!
//! Beneath everything, [`vocab`]: the shared words (environment names, header names,
//! namespaces, the care programme's code lists), importing nothing of this crate; and
//! [`config`], the typed configuration, importing nothing but `vocab`.
//!
//! The pure core does no IO, imports nothing but itself and `vocab`, and is unit-tested
//! without sockets:
//! - [`tak`]: the address catalogue (tjänsteadresseringskatalog): entities, the mutable store
//!   that orders change, and the immutable published [`tak::snapshot::Snapshot`] the router reads.
//! - [`orders`]: Beställningsstödet orders in the real JSON format: parsing, validation with the
//!   real Swedish messages, and execution (date arithmetic) against a [`tak::store::Store`];
//!   the forms of Beställningsstödet.
//! - [`soap`]: the streaming sniff of a SOAP envelope (header + first body element), the VP
//!   fault writer (every VP error code is produced there) and RIVTA profile conversion.
//! - [`contract`]: ProcessCervixScreeningInformation names and responses, and
//!   [`contract::validate`], the contract's schema and TKB rules.
//! - [`verify`]: consumer verification against the self-declaration's cases (recordings
//!   in, a text report and JUnit XML out).
//!
//! Around it sit the servers and tools:
//! - [`pki`]: the embedded test PKI (CA and SITHS-like function certificates) and the reading of
//!   HSA-ids from certificates.
//! - [`tls`]: rustls server/client configurations built from the PKI.
//! - [`router`]: the VP emulation: listeners, the request pipeline, the pooled producer client.
//! - [`mocks`]: mock producers for ProcessCervixScreeningInformation: validation, behaviours
//!   on demand, recordings.
//! - [`clock`]: each environment's simulated day.
//! - [`cluster`]: the parts of a testbed run as several processes: a router node's TAK loaded
//!   over SokVagvalsInfo as VP loads it ([`cluster::takcache`]).
//! - [`journal`]: the durable, checksummed log of every accepted change.
//! - [`ordering`]: the order service: per environment its TAK store, published snapshot,
//!   clock and orders; forms, publishing, rollback, connection tests.
//! - [`admin`]: health, status, the order/TAK JSON API and TAK's SOAP read APIs.
//! - [`cli`]: the order workflow on the command line.
//! - [`load`]: `ntjp load`, the load generator (mutual TLS or plain HTTP, closed or open model).
//! - [`logging`]: the log lines of `ntjp serve` and the bounded queue they leave through.
//! - [`metrics`]: the Prometheus counters behind the admin listener's `/metrics`.
//! - [`live`]: the recent requests and per-second rates the console's live view shows.
//! - [`console`]: the web console's pages, embedded in the binary, served by [`admin`].
//! - [`net`]: accept loops and HTTP/1.1 serving shared by every listener.
//! - [`server`]: wires environments, listeners, shutdown and `endpoints.json` together; with
//!   `main.rs` the only place that knows every part.
//!
//! `tests/module_rules.rs` keeps these layers (see `docs/ARCHITECTURE.md`).
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

pub mod admin;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod console;
pub mod contract;
pub mod journal;
pub mod live;
pub mod load;
pub mod logging;
pub mod metrics;
pub mod mocks;
pub mod net;
pub mod ordering;
pub mod orders;
pub mod pki;
pub mod router;
pub mod server;
pub mod soap;
pub mod tak;
pub mod tls;
pub mod verify;
pub mod vocab;
