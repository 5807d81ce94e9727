//! Criterion benchmarks of the mock producers' contract validation (`contract::validate`): a
//! real 3 KB request, and the same request grown to 14.5 MiB (the size of
//! `benches/large-request-memory.sh`'s requests) with elements of the contract's responder
//! namespace inside the body element, so that every one of them is read, recorded in the tree
//! and walked (the worst case for the tree's size).
//!
//! `cargo bench --bench validate`.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ntjp_testbed::contract::validate::{Outcome, validate};
use ntjp_testbed::vocab::CodeLists;

const REQUEST_3K: &str =
    include_str!("../fixtures/messages/valid/exclusion-with-earlier-sample.xml");

/// The request grown to `size` bytes with elements before the body element's end tag.
fn request_of(size: usize) -> Vec<u8> {
    let marker = "</ns2:ProcessCervixScreeningInformation>";
    let at = REQUEST_3K
        .find(marker)
        .expect("fixture has the body element");
    let filler =
        "<ns2:padding>0123456789abcdef0123456789abcdef0123456789abcdef0123456789</ns2:padding>\n";
    let mut out = String::with_capacity(size);
    out.push_str(&REQUEST_3K[..at]);
    while out.len() + filler.len() + REQUEST_3K.len() - at < size {
        out.push_str(filler);
    }
    out.push_str(&REQUEST_3K[at..]);
    out.into_bytes()
}

fn validation(c: &mut Criterion) {
    let lists = CodeLists::default();
    let mut g = c.benchmark_group("validate");
    let small = REQUEST_3K.as_bytes();
    assert!(matches!(validate(small, &lists), Outcome::Checked(ref c) if c.violations.is_empty()));
    g.throughput(Throughput::Bytes(small.len() as u64));
    g.bench_function("3KB", |b| {
        b.iter(|| validate(std::hint::black_box(small), &lists))
    });
    let big = request_of(14 * (1 << 20) + (1 << 19));
    assert!(matches!(validate(&big, &lists), Outcome::Checked(ref c) if !c.violations.is_empty()));
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("14.5MiB", |b| {
        b.iter(|| validate(std::hint::black_box(&big), &lists))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .sample_size(10);
    targets = validation
}
criterion_main!(benches);
