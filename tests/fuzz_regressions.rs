//! Replays every input of the fuzz corpus (`fuzz/corpus/<target>/`) and every input a fuzzer
//! ever crashed on (`fuzz/regressions/<target>/`, written by `fuzz/run.sh`) through the same
//! target functions the AFL++ binaries run (`fuzz/src/lib.rs`): each must come back without a
//! panic, so a fixed crash stays fixed without AFL++ installed.

use std::path::Path;

#[path = "../fuzz/src/lib.rs"]
mod targets;

/// Runs `target` over the files of `fuzz/<dir>/<name>/`; returns how many.
fn replay(dir: &str, name: &str, target: fn(&[u8])) -> usize {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(dir)
        .join(name);
    let Ok(entries) = std::fs::read_dir(&path) else {
        return 0;
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    files.sort();
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let outcome = std::panic::catch_unwind(|| target(&data));
        assert!(outcome.is_ok(), "{} panicked", file.display());
    }
    files.len()
}

fn check(name: &str, target: fn(&[u8])) {
    let corpus = replay("corpus", name, target);
    assert!(corpus > 0, "fuzz/corpus/{name}/ holds no inputs");
    replay("regressions", name, target);
}

#[test]
fn sniff_corpus_and_regressions() {
    check("sniff", targets::sniff);
}

#[test]
fn validate_corpus_and_regressions() {
    check("validate", targets::validate);
}

#[test]
fn order_corpus_and_regressions() {
    check("order", targets::order);
}

#[test]
fn journal_corpus_and_regressions() {
    check("journal", targets::journal);
}
