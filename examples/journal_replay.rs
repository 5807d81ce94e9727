//! Measures the start-up replay of a journal holding large orders (release build):
//!
//! ```text
//! cargo run --release --example journal_replay -- 1000000 2
//! ```
//!
//! Writes a journal with orders totalling N routes (with as many authorisations and logical
//! addresses) in `parts` orders, each published, then times `platform::Platforms::open` on it
//! (journal verification + replay + publish): the part of `ntjp serve`'s start that grows with
//! the journal (the PKI is loaded in ~16 ms besides).
use std::time::Instant;

use ntjp_testbed::config::{Config, EnvName};
use ntjp_testbed::journal::Journal;
use ntjp_testbed::orders::bulk::BulkOrder;
use ntjp_testbed::platform::{Event, OrderSource, Platforms, PublishInfo};

const CONTRACT: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1";

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let total = args.first().copied().unwrap_or(1_000_000);
    let parts = args.get(1).copied().unwrap_or(1).max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("journal.jsonl");
    let config = Config::default();

    let t = Instant::now();
    let (mut journal, _) = Journal::open(&path).expect("journal opens");
    let per = total.div_ceil(parts);
    let mut first = 1;
    while first <= total {
        let rows = per.min(total + 1 - first);
        let order = BulkOrder {
            platform: "NTJP-TEST",
            rows,
            first,
            contract: CONTRACT,
            producer: "SE2321000016-PROD",
            url: "{{mocks}}/LOAD-MOCKS/ProcessCervixScreeningInformation/1/rivtabp21",
            consumer: "SE2321000016-KONS",
            executes_at: "2025-01-01T00:00:00+0000",
        };
        let event = Event::Order {
            env: EnvName::Sit,
            source: OrderSource::File {
                name: format!("bulk-{first}.json"),
            },
            json: order.json(),
            publish: Some(PublishInfo {
                executor: "bench".into(),
                comment: "bulk".into(),
            }),
            form: None,
        };
        journal
            .append(chrono::Utc::now(), &event)
            .expect("journal append");
        first += rows;
    }
    drop(journal);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "journal of {parts} order(s), {total} routes + {total} authorisations + {total} logical addresses: {:.0} MB, written in {:.0} ms",
        size as f64 / 1e6,
        t.elapsed().as_secs_f64() * 1000.0
    );

    let t = Instant::now();
    let opened = Platforms::open(&config, "https://127.0.0.1:1/mocks", Some(&path), &|_| {
        Ok(Vec::new())
    })
    .expect("journal replays");
    println!(
        "replayed {} entries in {:.0} ms; SIT serves {:?}",
        opened.replayed,
        t.elapsed().as_secs_f64() * 1000.0,
        opened
            .platforms
            .platform(EnvName::Sit)
            .tak
            .load()
            .as_ref()
            .map(|s| s.counts())
    );
}
