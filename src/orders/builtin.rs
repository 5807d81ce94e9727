//! The start-up orders built into the binary: `fixtures/orders/<env>/*.json`, embedded by
//! `build.rs`, so that `ntjp serve` starts on the same orders from any working directory.
//! An environment's `orders_dir` replaces them.
//!
//! Only the texts and the token they share; the order service parses, validates and applies
//! them like any other order.

/// The token in order files replaced by the mock producers' base URL. Orders are journaled
/// with the token, so a restart on other ports still routes to the mocks.
pub const MOCKS_TOKEN: &str = "{{mocks}}";

include!(concat!(env!("OUT_DIR"), "/embedded_orders.rs"));
