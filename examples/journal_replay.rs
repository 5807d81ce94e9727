//! Measures the start-up replay of a journal holding large orders (release build):
//!
//! ```text
//! cargo run --release --example journal_replay -- 1000000 2            # in a temp dir
//! cargo run --release --example journal_replay -- 1000000 2 --keep DIR # append to DIR/journal.jsonl, keep it
//! cargo run --release --example journal_replay -- --open DIR           # time one start on DIR
//! cargo run --release --example journal_replay -- 1000000 10 --keep DIR --write-only \
//!     --url https://localhost:9443/p --consumer SE2321000016-KONS      # a big TAK for `serve`
//! ```
//!
//! Writes a journal with orders totalling N routes (with as many authorisations and logical
//! addresses) in `parts` orders, each published, then times `ordering::OrderService::open` on it
//! (journal verification + replay + publish: the part of `ntjp serve`'s start that grows with
//! the journal; the PKI is loaded in ~16 ms besides): first replaying the whole journal, then,
//! after writing a checkpoint, starting from the checkpoint. `--open DIR` times one start on an
//! existing state directory in a fresh process and prints its resident memory (VmRSS) per
//! route + authorisation row once the order service has settled. `--write-only` writes the
//! journal and stops (benches/compare-nginx.sh serves a 1,000,000-route TAK this way); `--url`
//! and `--consumer` set every route's producer URL and the authorised consumer's HSA-id.
use std::path::{Path, PathBuf};
use std::time::Instant;

use ntjp_testbed::config::Config;
use ntjp_testbed::journal::Journal;
use ntjp_testbed::ordering::{Event, OrderService, OrderSource, PublishInfo, checkpoint};
use ntjp_testbed::orders::bulk::BulkOrder;
use ntjp_testbed::vocab::EnvName;

mod common;
use common::rss_kib;

const CONTRACT: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1";
const MOCKS: &str = "https://127.0.0.1:1/mocks";

/// One start on `journal`: (ms, the service).
fn start(journal: &Path) -> (f64, ntjp_testbed::ordering::Opened) {
    let t = Instant::now();
    let opened = OrderService::open(
        &Config::default(),
        MOCKS,
        Some(journal),
        &|_| Ok(Vec::new()),
    )
    .expect("journal replays");
    (t.elapsed().as_secs_f64() * 1000.0, opened)
}

fn report(what: &str, ms: f64, opened: &ntjp_testbed::ordering::Opened) {
    let counts = opened
        .platforms
        .platform(EnvName::Sit)
        .tak
        .load()
        .as_ref()
        .map(|s| s.counts());
    println!(
        "{what}: {ms:.0} ms ({} entries replayed{}); SIT serves {counts:?}",
        opened.replayed,
        opened
            .checkpoint
            .map(|s| format!(" after the checkpoint at entry {s}"))
            .unwrap_or_default()
    );
    if let Some(w) = &opened.warning {
        println!("  warning: {w}");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let text = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let flag = |name: &str| text(name).map(PathBuf::from);
    if let Some(dir) = flag("--open") {
        let (ms, opened) = start(&dir.join("journal.jsonl"));
        report("start", ms, &opened);
        // The writer builds a restored store's indexes after start-up: counted in the memory.
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(opened.platforms.idle())
            .expect("the order service settles");
        let rows = opened
            .platforms
            .platform(EnvName::Sit)
            .tak
            .load()
            .as_ref()
            .map_or(0, |s| s.counts().routes + s.counts().authorisations);
        let rss = rss_kib();
        println!(
            "resident memory after the start: {:.0} MiB, {:.0} bytes per route or authorisation row",
            rss as f64 / 1024.0,
            rss as f64 * 1024.0 / rows.max(1) as f64
        );
        return;
    }
    let numbers: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let url = text("--url").unwrap_or_else(|| {
        "{{mocks}}/LOAD-MOCKS/ProcessCervixScreeningInformation/1/rivtabp21".to_owned()
    });
    let consumer = text("--consumer").unwrap_or_else(|| "SE2321000016-KONS".to_owned());
    let total = numbers.first().copied().unwrap_or(1_000_000);
    let parts = numbers.get(1).copied().unwrap_or(1).max(1);
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = flag("--keep").unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("state dir");
    let path = dir.join("journal.jsonl");
    // An existing journal (`--keep` on a state directory `ntjp serve` made) is appended to.
    let _ = std::fs::remove_file(checkpoint::path(&path));

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
            url: &url,
            consumer: &consumer,
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
    if args.iter().any(|a| a == "--write-only") {
        return;
    }

    let (ms, opened) = start(&path);
    report("whole journal replayed", ms, &opened);
    // The writer takes a checkpoint by itself after such a replay; this one is timed.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let t = Instant::now();
    runtime
        .block_on(opened.platforms.checkpoint_now())
        .expect("checkpoint written");
    let cp = checkpoint::path(&path);
    println!(
        "checkpoint written in {:.0} ms: {:.0} MB",
        t.elapsed().as_secs_f64() * 1000.0,
        std::fs::metadata(&cp).map(|m| m.len()).unwrap_or(0) as f64 / 1e6
    );
    drop(opened);

    let (ms, opened) = start(&path);
    report("start from the checkpoint", ms, &opened);
}
