//! Criterion benchmarks of the router's pure per-request work: the SOAP sniff (a 3 KB request
//! and a 1 MiB one), the HSA-id read from a client certificate (once per connection), fault
//! rendering and RIVTA profile conversion.
//!
//! `cargo bench --bench router` (short measurement times; `-- sniff` runs one group). For
//! deterministic A/B comparisons count instructions instead:
//! `valgrind --tool=callgrind target/release/deps/router-* --bench --profile-time 2 sniff`.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ntjp_testbed::{
    pki::{self, Ca, CertRequest},
    soap::{self, Profile, VpFault, rivta},
};

/// A real 3 KB request of the contract (RIVTABP21, logical address in the header).
const REQUEST_3K: &str =
    include_str!("../fixtures/messages/valid/exclusion-with-earlier-sample.xml");

/// The same request grown to 1 MiB by repeating elements after the first body child, which the
/// sniff never reads: its cost must not grow with the body.
fn request_1m() -> Vec<u8> {
    let marker = "</ns2:ProcessCervixScreeningInformation>";
    let at = REQUEST_3K
        .find(marker)
        .expect("fixture has the body element");
    let filler =
        "<ns2:padding>0123456789abcdef0123456789abcdef0123456789abcdef0123456789</ns2:padding>\n";
    let mut out = String::with_capacity(1 << 20);
    out.push_str(&REQUEST_3K[..at]);
    while out.len() + filler.len() + REQUEST_3K.len() - at < 1 << 20 {
        out.push_str(filler);
    }
    out.push_str(&REQUEST_3K[at..]);
    out.into_bytes()
}

fn sniff(c: &mut Criterion) {
    let mut g = c.benchmark_group("sniff");
    let small = REQUEST_3K.as_bytes();
    g.throughput(Throughput::Bytes(small.len() as u64));
    g.bench_function("3KB", |b| {
        b.iter(|| soap::sniff_ref(std::hint::black_box(small)))
    });
    let big = request_1m();
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("1MiB", |b| {
        b.iter(|| soap::sniff_ref(std::hint::black_box(&big)))
    });
    g.finish();
}

fn hsa_id(c: &mut Criterion) {
    let ca = Ca::generate("Bench CA").expect("CA");
    let cert = ca
        .issue(&CertRequest::function("TSTNMT2321000156-KONS"))
        .expect("certificate");
    c.bench_function("hsa_id_from_der", |b| {
        b.iter(|| pki::hsa_id_from_der(std::hint::black_box(&cert.cert_der)))
    });
}

fn fault(c: &mut Criterion) {
    let mut g = c.benchmark_group("fault");
    let not_authorised = VpFault::not_authorised(
        "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1",
        "01",
        "TSTNMT2321000156-OBEH",
    );
    g.bench_function("VP007_to_soap", |b| {
        b.iter(|| std::hint::black_box(&not_authorised).to_soap("NTJP-TEST"))
    });
    let malformed = VpFault::malformed(
        "Unexpected close tag `</a>`; expected `</b>`. at [row,col]: [2,6] (byte 9) <&>",
    );
    g.bench_function("VP015_to_soap", |b| {
        b.iter(|| std::hint::black_box(&malformed).to_soap("NTJP-TEST"))
    });
    g.finish();
}

fn rivta_conversion(c: &mut Criterion) {
    let mut g = c.benchmark_group("rivta");
    let bp21 = REQUEST_3K.as_bytes();
    let bp20 = rivta::convert(bp21, Profile::Bp20).expect("BP21 to BP20");
    g.bench_function("bp21_to_bp20_3KB", |b| {
        b.iter(|| rivta::convert(std::hint::black_box(bp21), Profile::Bp20))
    });
    g.bench_function("bp20_to_bp21_3KB", |b| {
        b.iter(|| rivta::convert(std::hint::black_box(&bp20), Profile::Bp21))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = sniff, hsa_id, fault, rivta_conversion
}
criterion_main!(benches);
