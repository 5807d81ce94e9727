//! Criterion benchmarks of the catalogue (issue 8, point 3): TAK lookups (route and authorise,
//! with their fallbacks) in TAKs of 100 and 1,000,000 routes; order validation and execution of
//! 1,000 and 100,000 rows; snapshot build (publish + swap) at 100,000 and 1,000,000 routes;
//! reading an export back. Each group keeps its sample count and measurement time small so the
//! whole file runs in a few minutes:
//!
//! ```text
//! cargo bench --bench catalogue
//! cargo bench --bench catalogue -- lookup      # one group
//! ```
//!
//! Memory per row and the 100,000-route order end to end: `cargo run --release --example
//! tak_scale`.
use std::hint::black_box;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use ntjp_testbed::orders::{self, bulk::BulkOrder};
use ntjp_testbed::tak::{Snapshot, Store, export, hsa, rules::RoutingRules};

const CONTRACT: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1";
const CONSUMER: &str = "SE2321000016-KONS";

fn order(rows: usize, first: usize) -> BulkOrder<'static> {
    BulkOrder {
        platform: "NTJP-TEST",
        rows,
        first,
        contract: CONTRACT,
        producer: "SE2321000016-PROD",
        url: "https://127.0.0.1:20443/vp/cervix",
        consumer: CONSUMER,
        executes_at: "2025-01-01T00:00:00+0000",
    }
}

/// A store holding `routes` routes and as many authorisations, built by orders of at most
/// 100,000 rows, plus a default route (`*`) and an authorisation on `SE` for the fallbacks.
fn store_with(routes: usize) -> Store {
    let mut store = Store::new("NTJP-TEST");
    let mut first = 1;
    while first <= routes {
        let rows = 100_000.min(routes + 1 - first);
        let text = order(rows, first).json();
        let parsed = orders::parse(&text).expect("bulk order parses");
        orders::apply(&mut store, &parsed).expect("bulk order applies");
        first += rows;
    }
    let fallback = format!(
        r#"{{"plattform":"NTJP-TEST","formatVersion":"1.0","version":"1","bestallningsTidpunkt":"2025-01-01T00:00:00+0000","genomforandeTidpunkt":"2025-01-01T00:00:00+0000","utforare":"bench","kommentar":"","inkludera":{{"logiskadresser":[{{"hsaId":"*","beskrivning":"default"}},{{"hsaId":"SE","beskrivning":"Sverige"}}],"anropsbehorigheter":[{{"logiskAdress":"SE","tjanstekontrakt":"{CONTRACT}","tjanstekonsument":"{CONSUMER}-OPEN"}}],"tjanstekomponenter":[{{"hsaId":"{CONSUMER}-OPEN","beskrivning":"open"}}],"vagval":[{{"adress":"https://127.0.0.1:20443/default","logiskAdress":"*","tjanstekontrakt":"{CONTRACT}","rivtaprofil":"RIVTABP21","tjanstekomponent":"SE2321000016-PROD"}}]}},"exkludera":{{}}}}"#
    );
    let parsed = orders::parse(&fallback).expect("fallback order parses");
    orders::apply(&mut store, &parsed).expect("fallback order applies");
    store
}

fn lookups(c: &mut Criterion) {
    let today = "2026-06-01".parse().expect("a day");
    for routes in [100usize, 1_000_000] {
        let store = store_with(routes);
        let mut store = store;
        let snapshot = store.publish("bench", "lookups", chrono::Utc::now());
        // Addresses spread over the TAK so the probes are not all cache-hot.
        let addresses: Vec<String> = (0..1024)
            .map(|i| order(routes, 1).address((i * 7919) % routes))
            .collect();
        let lower: Vec<String> = addresses.iter().map(|a| a.to_lowercase()).collect();
        let mut g = c.benchmark_group(format!("lookup/{routes}-routes"));
        g.sample_size(30).measurement_time(Duration::from_secs(3));
        let mut i = 0usize;
        g.bench_function("route exact", |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                black_box(snapshot.route(CONTRACT, &addresses[i], today).matches.len())
            })
        });
        g.bench_function("route exact, other case", |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                black_box(snapshot.route(CONTRACT, &lower[i], today).matches.len())
            })
        });
        g.bench_function("route via SE and * (default)", |b| {
            b.iter(|| {
                black_box(
                    snapshot
                        .route(CONTRACT, "UNKNOWN-ADDRESS", today)
                        .matches
                        .len(),
                )
            })
        });
        g.bench_function("authorise exact", |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                black_box(
                    snapshot
                        .authorise(CONSUMER, CONTRACT, &addresses[i], today)
                        .granted,
                )
            })
        });
        g.bench_function("authorise via * and SE", |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                let open = format!("{CONSUMER}-OPEN");
                black_box(
                    snapshot
                        .authorise(&open, CONTRACT, &addresses[i], today)
                        .granted,
                )
            })
        });
        // Issue 11: an old-style address (VE routed, VG not) and a one-step HSA climb.
        let old_style: Vec<String> = addresses.iter().map(|a| format!("NONE#{a}")).collect();
        g.bench_function("route VG#VE (VE routed)", |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                black_box(snapshot.route(CONTRACT, &old_style[i], today).matches.len())
            })
        });
        let xml = format!(
            r#"<HsaUnitsResponse><hsaUnits><hsaUnit><hsaIdentity>UNIT-X</hsaIdentity><DN>ou=x,o=a,c=SE</DN><name>x</name></hsaUnit><hsaUnit><hsaIdentity>{}</hsaIdentity><DN>o=a,c=SE</DN><name>a</name></hsaUnit></hsaUnits></HsaUnitsResponse>"#,
            addresses[5]
        );
        let tree = hsa::HsaTree::build(vec![
            hsa::parse_file("bench", xml.as_bytes()).expect("tree"),
        ]);
        let rules = RoutingRules::default();
        g.bench_function("route via the HSA tree (one step up)", |b| {
            b.iter(|| {
                black_box(
                    snapshot
                        .route_with(CONTRACT, "UNIT-X", today, &rules, &tree)
                        .matches
                        .len(),
                )
            })
        });
        g.bench_function("route + authorise (one request)", |b| {
            b.iter(|| {
                i = (i + 1) & 1023;
                let r = snapshot.route(CONTRACT, &addresses[i], today);
                let a = snapshot.authorise(CONSUMER, CONTRACT, &addresses[i], today);
                black_box((r.matches.len(), a.granted))
            })
        });
        g.finish();
    }
}

fn order_work(c: &mut Criterion) {
    for rows in [1_000usize, 100_000] {
        let text = order(rows, 1).json();
        let parsed = orders::parse(&text).expect("bulk order parses");
        let mut g = c.benchmark_group(format!("order/{rows}-rows"));
        g.sample_size(10)
            .measurement_time(Duration::from_secs(if rows > 10_000 { 20 } else { 5 }));
        g.bench_function("parse", |b| {
            b.iter(|| black_box(orders::parse(&text).expect("parses")))
        });
        g.bench_function("validate + execute on an empty TAK", |b| {
            b.iter_batched(
                || Store::new("NTJP-TEST"),
                |mut store| black_box(orders::apply(&mut store, &parsed).expect("applies")),
                BatchSize::PerIteration,
            )
        });
        g.bench_function("validate + execute + publish + swap", |b| {
            let cell: ArcSwapOption<Snapshot> = ArcSwapOption::empty();
            b.iter_batched(
                || Store::new("NTJP-TEST"),
                |mut store| {
                    orders::apply(&mut store, &parsed).expect("applies");
                    cell.store(Some(store.publish("bench", "order", chrono::Utc::now())));
                },
                BatchSize::PerIteration,
            )
        });
        g.finish();
    }
}

fn snapshots(c: &mut Criterion) {
    for routes in [100_000usize, 1_000_000] {
        let store = store_with(routes);
        let mut g = c.benchmark_group(format!("snapshot/{routes}-routes"));
        g.sample_size(10)
            .measurement_time(Duration::from_secs(if routes > 100_000 { 30 } else { 10 }));
        let cell: ArcSwapOption<Snapshot> = ArcSwapOption::empty();
        g.bench_function("publish + swap", |b| {
            b.iter_batched(
                || store.clone(),
                |mut store| {
                    cell.store(Some(store.publish("bench", "snapshot", chrono::Utc::now())))
                },
                BatchSize::PerIteration,
            )
        });
        let mut published = store.clone();
        let snapshot = published.publish("bench", "export", chrono::Utc::now());
        let text = export::export_string(&snapshot);
        g.bench_function("export (JSON text)", |b| {
            b.iter(|| black_box(export::export_string(&snapshot).len()))
        });
        g.bench_function("import export", |b| {
            b.iter(|| black_box(export::import(&text, "NTJP-TEST").expect("imports")))
        });
        g.finish();
    }
}

criterion_group!(benches, lookups, order_work, snapshots);
criterion_main!(benches);
