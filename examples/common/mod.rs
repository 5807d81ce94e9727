//! What the measuring examples share (each uses some of it).
#![allow(dead_code)]

/// This process's resident memory (VmRSS from /proc/self/status) in KiB; 0 where there is no
/// /proc.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The contract the examples' orders name.
pub const CONTRACT: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1";

/// A bulk order of `rows` routes and authorisations numbered from `first` (one producer, one
/// consumer, SIT), as the scale examples apply them.
pub fn bulk_order(rows: usize, first: usize) -> ntjp_testbed::orders::bulk::BulkOrder<'static> {
    ntjp_testbed::orders::bulk::BulkOrder {
        platform: "NTJP-TEST",
        rows,
        first,
        contract: CONTRACT,
        producer: "SE2321000016-PROD",
        url: "https://127.0.0.1:20443/vp/cervix",
        consumer: "SE2321000016-KONS",
        executes_at: "2025-01-01T00:00:00+0000",
    }
}
