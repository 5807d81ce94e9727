//! Measures a router node's TAK load at scale: what `cluster::takcache` does with the answers of
//! a TAK of M routes and M authorisations (release build for figures):
//!
//! ```text
//! cargo run --release --example takcache_scale              # 1,000,000 routes
//! cargo run --release --example takcache_scale -- 100000
//! ```
//!
//! A TAK built by orders of 100,000 rows is published; its SokVagvalsInfo answers are written
//! (`tak::readapi`, as the order service serves them), then read back (`tak::vagvalsinfo`),
//! built into a snapshot, written as the local copy and read back: CPU time for each step, the
//! answers' and the copy's size, the heap the entries and the snapshot take, and a
//! check that the loaded snapshot answers lookups as the
//! published one does.
use ntjp_testbed::orders;
use ntjp_testbed::tak::readapi::{TakRequest, respond};
use ntjp_testbed::tak::vagvalsinfo::{
    build_snapshot, parse_authorisations, parse_cache_file, parse_routes, write_cache_file,
};
use ntjp_testbed::tak::{Snapshot, Store};

#[path = "common/counting.rs"]
mod counting;
use counting::heap;

mod common;
use common::{CONTRACT, bulk_order};

/// This thread's CPU time in ms (utime + stime from /proc, 100 ticks a second): wall time
/// means little on a shared machine.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) * 10.0
}

fn ms(t: f64) -> f64 {
    cpu_ms() - t
}

fn published(m: usize) -> std::sync::Arc<Snapshot> {
    let mut store = Store::new("NTJP-TEST");
    let chunk = 100_000.min(m);
    let mut first = 1;
    while first <= m {
        let rows = chunk.min(m + 1 - first);
        let order = bulk_order(rows, first);
        let parsed = orders::parse(&order.json()).expect("generated order parses");
        orders::apply(&mut store, &parsed).expect("generated order is valid");
        first += rows;
    }
    store.publish("bench", "tak", chrono::Utc::now())
}

fn main() {
    let m = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000usize);
    let source = published(m);
    let routes_xml = respond(&source, &TakRequest::HamtaAllaVirtualiseringar);
    let auths_xml = respond(&source, &TakRequest::HamtaAllaAnropsBehorigheter);
    println!(
        "TAK of {m} routes + {m} authorisations: answers of {:.1} MB + {:.1} MB",
        routes_xml.len() as f64 / 1e6,
        auths_xml.len() as f64 / 1e6
    );

    let before = heap();
    let t = cpu_ms();
    let routes = parse_routes(routes_xml.as_bytes()).expect("routes parse");
    let parse_r = ms(t);
    let t = cpu_ms();
    let auths = parse_authorisations(auths_xml.as_bytes()).expect("authorisations parse");
    let parse_a = ms(t);
    let parsed = heap();
    let t = cpu_ms();
    let loaded = build_snapshot(&routes, &auths, "NTJP-TEST", 1, chrono::Utc::now(), "bench");
    let build = ms(t);
    let built = heap();
    drop((routes_xml, auths_xml));
    println!(
        "  parse {parse_r:.0} ms + {parse_a:.0} ms, build {build:.0} ms ({} routes, {} authorisations)",
        loaded.counts().routes,
        loaded.counts().authorisations
    );
    let per_row = |bytes: usize| bytes as f64 / (2 * m) as f64;
    println!(
        "  heap: entries {:.0} bytes per row, snapshot (sharing their texts) +{:.0} bytes per row",
        per_row(parsed.saturating_sub(before)),
        per_row(built.saturating_sub(parsed))
    );

    let t = cpu_ms();
    let mut file = Vec::new();
    write_cache_file(&mut file, &routes, &auths).expect("written");
    let write = ms(t);
    let t = cpu_ms();
    let back = parse_cache_file(&file).expect("local copy reads back");
    let read = ms(t);
    assert_eq!(back.routes.len(), m);
    println!(
        "  local copy {:.1} MB: write {write:.0} ms, read {read:.0} ms",
        file.len() as f64 / 1e6
    );
    assert_eq!(loaded.counts(), source.counts());
    let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date");
    let consumer = "SE2321000016-KONS";
    for r in source.routes().step_by((m / 1000).max(1)) {
        let address = r.logical_address.as_str();
        let a = source.route(CONTRACT, address, today).matches.len();
        let b = loaded.route(CONTRACT, address, today).matches.len();
        assert_eq!((a, b), (1, 1), "routes of {address}");
        let a = source.authorise(consumer, CONTRACT, address, today).granted;
        let b = loaded.authorise(consumer, CONTRACT, address, today).granted;
        assert_eq!((a, b), (true, true), "authorisation of {address}");
    }
    println!("  lookups agree");
}
