//! The fuzz targets' bodies: each takes any bytes and panics only when it finds a fault (a panic
//! inside the testbed's code, or a broken invariant). The AFL++ binaries in `src/bin/` call
//! them; so does `tests/fuzz_regressions.rs` in the main crate, over the corpus and every input
//! that ever crashed one of them, so a fixed crash stays fixed.

use std::path::PathBuf;
use std::sync::OnceLock;

use ntjp_testbed::contract::validate::validate as validate_envelope;
use ntjp_testbed::journal::Journal;
use ntjp_testbed::orders;
use ntjp_testbed::soap::sniff::{sniff_ref, sniff_ref_full};
use ntjp_testbed::tak::{Store, export};
use ntjp_testbed::vocab::CodeLists;

/// The router's SOAP sniff: never panics, and the fast scanner answers exactly as quick-xml's
/// full read does (the same fields, or the same error and message).
pub fn sniff(data: &[u8]) {
    let fast = sniff_ref(data);
    let full = sniff_ref_full(data);
    assert_eq!(fast, full, "the scanner and the full read disagree");
}

/// The mocks' contract validator: never panics, whatever the envelope.
pub fn validate(data: &[u8]) {
    static LISTS: OnceLock<CodeLists> = OnceLock::new();
    let _ = validate_envelope(data, LISTS.get_or_init(CodeLists::default));
}

/// The SIT TAK of the default start-up orders, built once.
fn sit_store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        let mut store = Store::new("NTJP-TEST");
        for text in [
            include_str!("../../fixtures/orders/sit/01-producer-cervix-mocks.json"),
            include_str!("../../fixtures/orders/sit/02-consumer-testbed.json"),
        ] {
            let text = text.replace("{{mocks}}", "https://127.0.0.1:1/mocks");
            if let Ok(order) = orders::parse(&text) {
                let _ = orders::apply(&mut store, &order);
            }
        }
        store.publish("fuzz", "start", chrono_now());
        store
    })
}

fn chrono_now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default()
}

/// Order parsing, validation and execution on the default SIT TAK: never panics; a refused
/// order leaves nothing pending; an accepted one publishes, and its export imports to the same
/// TAK.
pub fn order(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(order) = orders::parse(text) else {
        return;
    };
    let mut store = sit_store().clone();
    match orders::apply(&mut store, &order) {
        Err(_) => assert!(
            !store.has_pending_changes(),
            "a refused order left changes pending"
        ),
        Ok(_) => {
            let snapshot = store.publish("fuzz", "order", chrono_now());
            let text = export::export_string(&snapshot);
            let back = export::import(&text, "NTJP-TEST").expect("an export imports");
            let again = back.latest_snapshot().expect("an import has a snapshot");
            assert_eq!(export::export(&again), export::export(&snapshot));
        }
    }
}

/// The journal reader at start-up: never panics, whatever the file holds.
pub fn journal(data: &[u8]) {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    let path = PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("ntjp-fuzz-journal-{}.jsonl", std::process::id()))
    });
    if std::fs::write(path, data).is_err() {
        return;
    }
    let _ = Journal::open(path);
}
