//! Measures the catalogue at scale (release build):
//!
//! ```text
//! cargo run --release --example tak_scale                  # 100,000-row order + 1,000,000-route TAK
//! cargo run --release --example tak_scale -- 100000 1000000
//! ```
//!
//! 1. An order of N routes (with as many authorisations and logical addresses): generate, parse,
//!    validate + execute (`orders::apply`), publish, swap into an `ArcSwap` (the router's cell).
//! 2. A TAK of M routes and M authorisations built by orders of 100,000 rows, published; the
//!    process's resident memory (VmRSS from /proc/self/status) before and after, per row; a
//!    publish (snapshot build + swap) at that size; one more 100,000-row order on top.
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwapOption;
use ntjp_testbed::orders::{self, bulk::BulkOrder};
use ntjp_testbed::tak::{Snapshot, Store};

mod common;
use common::{CONTRACT, bulk_order as order, rss_kib};

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Applies one generated order; returns (parse ms, apply ms).
fn apply(store: &mut Store, o: &BulkOrder<'_>) -> (f64, f64) {
    let text = o.json();
    let t = Instant::now();
    let parsed = orders::parse(&text).expect("generated order parses");
    let parse = ms(t);
    let t = Instant::now();
    orders::apply(store, &parsed).expect("generated order is valid");
    (parse, ms(t))
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(100_000);
    let m = args.get(1).copied().unwrap_or(1_000_000);
    let cell: ArcSwapOption<Snapshot> = ArcSwapOption::empty();

    // 1. One order of n rows on an empty TAK (skipped for n = 0, to measure memory alone).
    if n > 0 {
        one_order(n, &cell);
    }
    if m > 100 {
        // The small TAK the lookups are compared with.
        let mut small = Store::new("NTJP-TEST");
        apply(&mut small, &order(100, 1));
        lookups(&small.publish("bench", "small", chrono::Utc::now()), 100);
    }
    tak(m, &cell);
}

fn one_order(n: usize, cell: &ArcSwapOption<Snapshot>) {
    let mut store = Store::new("NTJP-TEST");
    let o = order(n, 1);
    let t = Instant::now();
    let text = o.json();
    let generate = ms(t);
    let bytes = text.len();
    drop(text);
    let (parse, applied) = apply(&mut store, &o);
    let t = Instant::now();
    let snapshot = store.publish("bench", "order", chrono::Utc::now());
    cell.store(Some(snapshot));
    let publish = ms(t);
    println!(
        "order of {n} routes + {n} authorisations + {n} logical addresses ({:.1} MB JSON, generated in {generate:.0} ms):",
        bytes as f64 / 1e6
    );
    println!(
        "  parse {parse:.0} ms, validate+execute {applied:.0} ms, publish+swap {publish:.0} ms, total {:.0} ms",
        parse + applied + publish
    );
    drop(store);
    cell.store(None);
}

/// 2. A TAK of m routes and m authorisations.
fn tak(m: usize, cell: &ArcSwapOption<Snapshot>) {
    let before = rss_kib();
    let mut store = Store::new("NTJP-TEST");
    let chunk = 100_000.min(m);
    let t = Instant::now();
    let mut first = 1;
    while first <= m {
        let rows = chunk.min(m + 1 - first);
        apply(&mut store, &order(rows, first));
        first += rows;
    }
    let build = ms(t);
    let t = Instant::now();
    let snapshot = store.publish("bench", "tak", chrono::Utc::now());
    cell.store(Some(Arc::clone(&snapshot)));
    let publish = ms(t);
    let after = rss_kib();
    let rows = 2 * m;
    println!(
        "TAK of {m} routes + {m} authorisations ({} published), built by orders in {build:.0} ms, first publish+swap {publish:.0} ms",
        snapshot.counts().routes
    );
    println!(
        "  RSS {:.1} MB -> {:.1} MB: {:.0} bytes per route or authorisation row (store, published snapshot, indexes)",
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before) * 1024) as f64 / rows as f64
    );
    lookups(&snapshot, m);
    drop(snapshot);

    // One more order on top, then publish again (the history keeps both versions).
    let (parse, applied) = apply(&mut store, &order(chunk, m + 1));
    let t = Instant::now();
    let snapshot = store.publish("bench", "more", chrono::Utc::now());
    cell.store(Some(snapshot));
    let publish = ms(t);
    println!(
        "  +{chunk}-row order on it: parse {parse:.0} ms, validate+execute {applied:.0} ms, publish+swap {publish:.0} ms; RSS now {:.1} MB ({} versions kept)",
        rss_kib() as f64 / 1024.0,
        store.versions().len()
    );
}

/// ns per route + authorise pair (exact hits, addresses spread over the TAK).
fn lookups(snapshot: &Snapshot, m: usize) {
    let today = "2026-06-01".parse().expect("a day");
    let addresses: Vec<String> = (0..4096)
        .map(|i| order(m, 1).address((i * 7919) % m))
        .collect();
    let n = 2_000_000;
    let t = Instant::now();
    let mut hits = 0usize;
    for i in 0..n {
        let a = &addresses[i & 4095];
        let r = snapshot.route(CONTRACT, a, today);
        let g = snapshot.authorise("SE2321000016-KONS", CONTRACT, a, today);
        hits += usize::from(r.matches.len() == 1 && g.granted);
    }
    println!(
        "  lookups at {m} routes: {:.0} ns per route + authorise ({hits} of {n} hits)",
        t.elapsed().as_secs_f64() * 1e9 / n as f64
    );
}
