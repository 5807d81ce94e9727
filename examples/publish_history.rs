//! Memory held by the publish history (release build):
//!
//! ```text
//! cargo run --release --example publish_history            # 1,000 publishes
//! cargo run --release --example publish_history -- 5000
//! cargo run --release --example publish_history -- 1000 10000   # + 10,000 generated routes
//! ```
//!
//! SIT's TAK from the repository's start-up orders (`fixtures/orders/sit`), then N publishes,
//! each after a real order: route 25 ended, then ordered again, by turns on successive days
//! (as an operator trying a producer change and undoing it would; each inclusion adds a route
//! row, as in TAK). A second argument adds that many generated routes (with their
//! authorisations and logical addresses) to the TAK first, for a TAK of a real platform's size. The heap in use (counted by this
//! program's allocator: what is live, not what the allocator keeps) and the resident size are
//! printed after 10, 100 and N publishes, with the versions held and how many of them whole.
//! Before issue 9 every version kept a full snapshot; now the latest two do and older ones
//! are kept as the rows their publish changed.

use chrono::{Days, NaiveDate};
use ntjp_testbed::orders::{self, bulk::BulkOrder};
use ntjp_testbed::tak::Store;

mod common;
use common::rss_kib;

#[path = "common/counting.rs"]
mod counting;

const MOCKS: &str = "https://127.0.0.1:25000/mocks";
const ROUTE_25: &str = r#"{"adress": "{{mocks}}/25/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "25", "tjanstekontrakt": "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK25"}"#;

fn order(day: NaiveDate, exclude: bool) -> orders::Order {
    let list = format!(r#"{{"vagval": [{ROUTE_25}]}}"#);
    let (inkludera, exkludera) = if exclude {
        ("{}".to_string(), list)
    } else {
        (list, "{}".to_string())
    };
    parse(day, &inkludera, &exkludera)
}

fn parse(day: NaiveDate, inkludera: &str, exkludera: &str) -> orders::Order {
    let text = format!(
        r#"{{"plattform": "NTJP-TEST", "formatVersion": "1.0", "version": "1",
            "bestallningsTidpunkt": "2030-01-01T00:00:00+0000",
            "genomforandeTidpunkt": "{day}T00:00:00+0000", "utforare": "bench",
            "kommentar": "publish_history", "inkludera": {inkludera}, "exkludera": {exkludera}}}"#
    )
    .replace("{{mocks}}", MOCKS);
    match orders::parse(&text) {
        Ok(o) => o,
        Err(e) => panic!("the bench's order does not parse: {e}"),
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("the number of publishes"))
        .unwrap_or(1_000);
    let extra: usize = std::env::args()
        .nth(2)
        .map(|a| a.parse().expect("the number of generated routes"))
        .unwrap_or(0);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/orders/sit");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures/orders/sit")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    let mut store = Store::new("NTJP-TEST");
    for f in &files {
        let text = std::fs::read_to_string(f).expect("an order file");
        let o = orders::parse(&text.replace("{{mocks}}", MOCKS)).expect("a start-up order");
        orders::apply(&mut store, &o).expect("the start-up orders apply");
    }
    if extra > 0 {
        let bulk = BulkOrder {
            platform: "NTJP-TEST",
            rows: extra,
            first: 1,
            contract: "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1",
            producer: "SE2321000016-PROD",
            url: "https://127.0.0.1:20443/vp/cervix",
            consumer: "SE2321000016-KONS",
            executes_at: "2025-01-01T00:00:00+0000",
        };
        let o = orders::parse(&bulk.json()).expect("the generated order parses");
        orders::apply(&mut store, &o).expect("the generated order applies");
    }
    let at = chrono::Utc::now();
    store.publish("ntjp serve", "Beställningar vid start", at);
    let start = counting::heap();
    println!(
        "SIT's TAK: {} routes, {} authorisations; heap in use {:.1} KiB",
        store.catalogue().routes.len(),
        store.catalogue().authorisations.len(),
        start as f64 / 1024.0
    );
    println!(
        "{:>9} {:>9} {:>14} {:>12} {:>10}",
        "publishes", "versions", "heap KiB", "per publish", "RSS KiB"
    );
    let first_day = NaiveDate::from_ymd_opt(2030, 1, 1).expect("a date");
    let mut at_10 = 0usize;
    for i in 1..=n {
        // Ended on day d (valid to d - 1), ordered again from day d, ended on d + 1, ...
        let day = first_day + Days::new((i as u64).div_ceil(2));
        let o = order(day, i % 2 == 1);
        if let Err(e) = orders::apply(&mut store, &o) {
            panic!("order {i} refused: {e:?}");
        }
        store.publish("bench", "publish_history", at);
        if i == 10 || i == 100 || i == n {
            let live = counting::heap();
            if i == 10 {
                at_10 = live;
            }
            println!(
                "{i:>9} {:>9} {:>14.1} {:>12.0} {:>10}",
                store.versions().len(),
                live as f64 / 1024.0,
                (live as f64 - start as f64) / i as f64,
                rss_kib()
            );
        }
    }
    let live = counting::heap();
    // The oldest version, rebuilt through every diff (what `GET /tak/export?version=1` does).
    let t = std::time::Instant::now();
    let oldest = store.snapshot(1).expect("version 1 is in the history");
    println!(
        "version 1 rebuilt through {} diffs in {:.1} ms ({} routes)",
        store.versions().len() - 2,
        t.elapsed().as_secs_f64() * 1000.0,
        oldest.counts().routes
    );
    drop(oldest);
    println!(
        "heap after {n} publishes / after 10: {:.3} ({} route rows now)",
        live as f64 / at_10.max(1) as f64,
        store.catalogue().routes.len()
    );
}
