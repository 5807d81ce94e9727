//! Log lines stay bounded whatever a request holds (issue 9). A binary of its own: the test
//! installs the process's global subscriber to see every thread's lines.

mod common;

use std::sync::{Arc, Mutex};

use common::*;

/// Where the subscriber writes: every line, from every thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A 10 MiB logical address was written whole into the req-in and resp-out lines (two 10 MB
/// log lines per request). Now the echoed address is cut off with a marker giving its size.
#[tokio::test]
async fn a_10_mib_logical_address_gives_bounded_log_lines() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let bed = start().await;
    let address = "A".repeat(10 * 1024 * 1024);
    let a = bed
        .consumer()
        .post(bed.https_addr("sit"), cervix_request(&address), &[])
        .await
        .unwrap();
    a.vp("VP004");
    bed.stop().await;
    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("req-in") || l.contains("resp-out"))
        .collect();
    assert!(lines.len() >= 2, "no req-in and resp-out lines in:\n{logs}");
    for line in lines {
        assert!(line.len() < 16 * 1024, "a log line of {} bytes", line.len());
        assert!(
            line.contains("…[truncated, 10485760 bytes in all]"),
            "{line}"
        );
    }
}
