//! A router node's TAK loaded as VP's takcache loads it, over real sockets: from the testbed's
//! own order service (`<admin>/tak/sit/SokVagvalsInfo/v2`), from its local copy when TAK cannot
//! be reached, and, with a small HTTP server started here standing in for an external TAK
//! service (answers in the real service's recorded format), what a reset does when TAK answers
//! nothing, too much, too late or with a fault.
mod common;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use ntjp_testbed::{
    clock::TimeBase,
    cluster::takcache::{RefreshStatus, TakCache, TakSource, USER_AGENT},
    pki::{DEFAULT_CONSUMER_HSA_ID, UNAUTHORISED_CONSUMER_HSA_ID},
    tak::{Snapshot, TakCell},
    vocab::EnvName,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpListener,
};

use common::CONTRACT;

fn source(url: &str, cache_file: &Path, timeout_ms: u64, max_bytes: usize) -> TakSource {
    TakSource {
        env: EnvName::Sit,
        url: url.to_string(),
        cache_file: cache_file.to_path_buf(),
        platform: "NTJP-TEST".to_string(),
        timeout: Duration::from_millis(timeout_ms),
        max_bytes,
        tls: None,
    }
}

fn cache(url: &str, cache_file: &Path) -> Arc<TakCache> {
    TakCache::new(
        source(url, cache_file, 10_000, 1 << 30),
        TakCell::default(),
        Arc::new(TimeBase::default()),
    )
}

/// A URL nothing listens on.
async fn unreachable() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/tak/sit/SokVagvalsInfo/v2")
}

fn loaded(cache: &TakCache) -> Arc<Snapshot> {
    cache.cell().load_full().expect("a snapshot is loaded")
}

/// Every lookup the router makes for these addresses and consumers, as the snapshot answers it.
fn lookups(s: &Snapshot, today: ntjp_testbed::tak::Day) -> Vec<String> {
    let mut out = Vec::new();
    for address in [
        "SE",
        "01",
        "12",
        "25",
        "02",
        "NTJP-MOCKS",
        "LOAD-MOCKS",
        "*",
        "XX",
    ] {
        let r = s.route(CONTRACT, address, today);
        let targets: Vec<_> = r
            .matches
            .iter()
            .map(|t| format!("{} {}", t.url, t.profile))
            .collect();
        out.push(format!("route {address}: {targets:?} via {}", r.trace));
        for consumer in [DEFAULT_CONSUMER_HSA_ID, UNAUTHORISED_CONSUMER_HSA_ID] {
            let a = s.authorise(consumer, CONTRACT, address, today);
            out.push(format!(
                "{consumer} → {address}: {} via {}",
                a.granted, a.trace
            ));
        }
    }
    out
}

fn has_line(lines: &[String], line: &str) {
    assert!(
        lines.iter().any(|l| l == line),
        "no line {line:?} in {lines:#?}"
    );
}

fn reason(lines: &[String]) -> &str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("Reason for failure: "))
        .unwrap_or_else(|| panic!("no reason in {lines:#?}"))
}

#[tokio::test]
async fn loads_the_order_services_tak_and_starts_from_its_local_copy() {
    let bed = common::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("takcache").join("sit.xml");
    let url = format!(
        "{}/tak/sit/SokVagvalsInfo/v2",
        bed.testbed.endpoints().admin
    );
    let published = bed.testbed.tak(EnvName::Sit).unwrap().load_full().unwrap();
    let today = bed.testbed.platforms().platform(EnvName::Sit).clock.today();

    let c = cache(&url, &file);
    assert!(!c.initialized());
    assert_eq!(c.reset_info(), "Not initialized");
    let log = c.refresh().await;
    assert_eq!(log.status, RefreshStatus::RefreshOk, "{:#?}", log.lines);
    assert!(log.success);
    assert!(log.lines[0].starts_with("Host: "), "{:?}", log.lines);
    assert!(log.lines[1].starts_with("Time: "), "{:?}", log.lines);
    let counts = published.counts();
    assert_eq!(
        log.lines[2..],
        [
            "Initialize TAK cache resources...".to_string(),
            "Succeeded to get virtualizations and/or permissions from TAK, save to local TAK copy..."
                .to_string(),
            format!(
                "Succesfully saved virtualizations and permissions to local TAK copy: {}",
                file.display()
            ),
            format!(
                "Init TAK cache loaded number of permissions: {}",
                counts.authorisations
            ),
            format!(
                "Init TAK cache loaded number of virtualizations: {}",
                counts.routes
            ),
            "Init done, was successful: true".to_string(),
        ]
    );
    assert!(log.html().starts_with("<br>Host: "));
    assert!(log.html().ends_with("<br>Init done, was successful: true"));
    assert!(c.initialized());
    let info = c.reset_info();
    assert!(info.starts_with("Date:"), "{info}");
    assert!(
        info.ends_with(&format!(
            " Status:REFRESH_OK vagval:{} behorigheter:{}",
            counts.routes, counts.authorisations
        )),
        "{info}"
    );
    let s = loaded(&c);
    assert_eq!(s.counts(), counts);
    assert!(
        counts.routes > 20 && counts.authorisations > 0,
        "{counts:?}"
    );
    assert_eq!(lookups(&s, today), lookups(&published, today));
    let l = s.route(CONTRACT, "01", today);
    assert_eq!(l.matches.len(), 1);
    assert!(
        s.authorise(DEFAULT_CONSUMER_HSA_ID, CONTRACT, "01", today)
            .granted
    );
    assert!(file.exists());
    assert!(!file.with_extension("xml.tmp").exists());

    // TAK unreachable, the local copy there: the router starts from it.
    let dead = unreachable().await;
    let restored = cache(&dead, &file);
    let log = restored.refresh().await;
    assert_eq!(
        log.status,
        RefreshStatus::RestoredFromLocalCache,
        "{:#?}",
        log.lines
    );
    assert!(!log.success);
    has_line(
        &log.lines,
        "Failed to get virtualizations and/or permissions from TAK, see logfiles for details. Restore from local TAK copy...",
    );
    has_line(
        &log.lines,
        &format!(
            "Succesfully restored virtualizations and permissions from local TAK copy: {}",
            file.display()
        ),
    );
    has_line(&log.lines, "Init done, was successful: false");
    let why = reason(&log.lines);
    assert!(
        why.starts_with(&format!(
            "hamtaAllaVirtualiseringar from {dead}: connect to "
        )),
        "{why}"
    );
    assert!(restored.initialized());
    assert!(
        restored
            .reset_info()
            .contains(" Status:RESTORED_FROM_LOCAL_CACHE vagval:")
    );
    assert_eq!(
        lookups(&loaded(&restored), today),
        lookups(&published, today)
    );

    // Neither TAK nor a local copy: nothing loaded (the router answers VP008).
    let none = cache(&dead, &dir.path().join("missing.xml"));
    let log = none.refresh().await;
    assert_eq!(log.status, RefreshStatus::RefreshFailed, "{:#?}", log.lines);
    has_line(
        &log.lines,
        &format!(
            "Failed to restore virtualizations and permissions from local TAK copy: {}",
            dir.path().join("missing.xml").display()
        ),
    );
    has_line(
        &log.lines,
        "Init TAK cache loaded number of virtualizations: 0",
    );
    assert!(none.cell().load().is_none());
    assert!(!none.initialized());
    assert_eq!(none.reset_info(), "Not initialized");

    // A second refresh from the order service replaces the snapshot.
    let before = loaded(&c);
    assert_eq!(c.refresh().await.status, RefreshStatus::RefreshOk);
    assert!(!Arc::ptr_eq(&before, &loaded(&c)));
    assert_eq!(loaded(&c).version(), before.version() + 1);
    bed.stop().await;
}

/// What the stand-in TAK service answers.
const RECORDED: u8 = 0;
const EMPTY: u8 = 1;
const OVERSIZED: u8 = 2;
const SILENT: u8 = 3;
const FAULT: u8 = 4;
const UNAVAILABLE: u8 = 5;

fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "fixtures", "tak", name]
        .iter()
        .collect();
    std::fs::read(path).unwrap()
}

/// A small HTTP/1.1 server (over TLS with `tls`) standing in for an external TAK service: one
/// request per connection, answered as `mode` says; every request's head and body are kept.
async fn stand_in(
    mode: Arc<AtomicU8>,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let requests = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (mode, requests, tls) = (mode.clone(), requests.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    Some(config) => {
                        if let Ok(stream) =
                            tokio_rustls::TlsAcceptor::from(config).accept(tcp).await
                        {
                            answer(stream, &mode, &requests).await;
                        }
                    }
                    None => answer(tcp, &mode, &requests).await,
                }
            });
        }
    });
    (addr, seen)
}

/// Reads one request and answers it as `mode` says.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    mode: &AtomicU8,
    requests: &Mutex<Vec<String>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let request = loop {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                break text;
            }
        }
    };
    requests.lock().unwrap().push(request.clone());
    let routes = request.contains("hamtaAllaVirtualiseringar");
    let (status, body) = match mode.load(Ordering::SeqCst) {
        RECORDED if routes => ("200 OK", fixture("hamtaAllaVirtualiseringarResponse.xml")),
        RECORDED => ("200 OK", fixture("hamtaAllaAnropsBehorigheterResponse.xml")),
        EMPTY => (
            "200 OK",
            b"<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><ns2:hamtaAllaVirtualiseringarResponse xmlns:ns2=\"urn:skl:tp:vagvalsinfo:v2\"/></soap:Body></soap:Envelope>".to_vec(),
        ),
        OVERSIZED => {
            // No Content-Length: the size shows only as the body arrives.
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(&vec![b' '; 100 * 1024]).await;
            return;
        }
        SILENT => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        UNAVAILABLE => (
            "503 Service Unavailable",
            format!("<html><body>{}</body></html>", "Down for maintenance. ".repeat(20)).into_bytes(),
        ),
        _ => (
            "500 Internal Server Error",
            b"<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>Database unavailable</faultstring></soap:Fault></soap:Body></soap:Envelope>".to_vec(),
        ),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

#[tokio::test]
async fn a_reset_that_gets_nothing_usable_keeps_the_loaded_tak_and_says_why() {
    let mode = Arc::new(AtomicU8::new(RECORDED));
    let (addr, requests) = stand_in(mode.clone(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sit.xml");
    let url = format!("http://{addr}/tak-services/SokVagvalsInfo/v2");
    let c = TakCache::new(
        source(&url, &file, 1_500, 64 * 1024),
        TakCell::default(),
        Arc::new(TimeBase::default()),
    );

    // The real service's recorded answers load.
    let log = c.refresh().await;
    assert_eq!(log.status, RefreshStatus::RefreshOk, "{:#?}", log.lines);
    assert_eq!(loaded(&c).counts().routes, 3);
    assert_eq!(loaded(&c).counts().authorisations, 2);
    {
        let seen = requests.lock().unwrap();
        assert_eq!(seen.len(), 2);
        for (request, operation) in seen
            .iter()
            .zip(["hamtaAllaVirtualiseringar", "hamtaAllaAnropsBehorigheter"])
        {
            let lower = request.to_ascii_lowercase();
            assert!(
                request.starts_with("POST /tak-services/SokVagvalsInfo/v2 HTTP/1.1\r\n"),
                "{request}"
            );
            assert!(
                lower.contains("\r\ncontent-type: text/xml; charset=utf-8\r\n"),
                "{request}"
            );
            assert!(lower.contains("\r\nsoapaction: \"\"\r\n"), "{request}");
            assert!(
                request.contains(&format!("\r\nuser-agent: {USER_AGENT}\r\n")),
                "{request}"
            );
            assert!(
                request.contains(&format!("<soapenv:Body><urn:{operation}/></soapenv:Body>")),
                "{request}"
            );
        }
    }
    let first = loaded(&c);

    let keeps = |log: &ntjp_testbed::cluster::takcache::RefreshLog| {
        assert_eq!(
            log.status,
            RefreshStatus::ReusingExistingCache,
            "{:#?}",
            log.lines
        );
        assert!(!log.success);
        has_line(
            &log.lines,
            "Failed to get virtualizations and/or permissions from TAK, see logfiles for details. Will continue to use already loaded TAK data.",
        );
        has_line(
            &log.lines,
            "Init TAK cache loaded number of virtualizations: 3",
        );
        has_line(&log.lines, "Init done, was successful: false");
        assert!(Arc::ptr_eq(&first, &loaded(&c)));
        reason(&log.lines).to_string()
    };

    mode.store(EMPTY, Ordering::SeqCst);
    let why = keeps(&c.refresh().await);
    assert_eq!(
        why,
        format!(
            "hamtaAllaVirtualiseringar from {url}: the answer holds no virtualiseringsInfo (an empty TAK counts as a failure, as in VP)"
        )
    );
    assert!(
        c.reset_info()
            .contains(" Status:REUSING_EXISTING_CACHE vagval:3 behorigheter:2")
    );

    mode.store(OVERSIZED, Ordering::SeqCst);
    let why = keeps(&c.refresh().await);
    assert_eq!(
        why,
        format!(
            "hamtaAllaVirtualiseringar from {url}: the answer is larger than 65536 bytes (cluster.max_tak_bytes)"
        )
    );

    mode.store(FAULT, Ordering::SeqCst);
    let why = keeps(&c.refresh().await);
    assert_eq!(
        why,
        format!(
            "hamtaAllaVirtualiseringar from {url}: HTTP 500 Internal Server Error, SOAP Fault: Database unavailable"
        )
    );

    mode.store(UNAVAILABLE, Ordering::SeqCst);
    let why = keeps(&c.refresh().await);
    let quoted = format!("<html><body>{}", "Down for maintenance. ".repeat(20));
    assert_eq!(
        why,
        format!(
            "hamtaAllaVirtualiseringar from {url}: HTTP 503 Service Unavailable: {:?}",
            &quoted[..200]
        )
    );

    mode.store(SILENT, Ordering::SeqCst);
    let why = keeps(&c.refresh().await);
    assert_eq!(
        why,
        format!(
            "hamtaAllaVirtualiseringar from {url}: no complete answer within 1500 ms (cluster.tak_fetch_timeout_ms)"
        )
    );

    // Two resets at once run one after the other, both complete.
    mode.store(RECORDED, Ordering::SeqCst);
    let (a, b) = tokio::join!(c.refresh(), c.refresh());
    assert_eq!(
        (a.status, b.status),
        (RefreshStatus::RefreshOk, RefreshStatus::RefreshOk)
    );
    assert!(!Arc::ptr_eq(&first, &loaded(&c)));
    assert_eq!(loaded(&c).version(), first.version() + 2);
}

#[tokio::test]
async fn loads_over_https_with_the_platform_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = ntjp_testbed::pki::ensure_state_pki(&dir.path().join("pki")).unwrap();
    let server =
        ntjp_testbed::tls::server_config(&pki.ca_cert, &pki.platform.cert, &pki.platform.key)
            .unwrap();
    let (addr, _) = stand_in(Arc::new(AtomicU8::new(RECORDED)), Some(server)).await;
    let url = format!(
        "https://localhost:{}/tak-services/SokVagvalsInfo/v2",
        addr.port()
    );
    let file = dir.path().join("sit.xml");
    let client = ntjp_testbed::tls::client_config(
        &pki.ca_cert,
        Some((&pki.platform.cert, &pki.platform.key)),
    )
    .unwrap();
    let mut https = source(&url, &file, 10_000, 1 << 20);
    https.tls = Some(Arc::new(client));
    let c = TakCache::new(https, TakCell::default(), Arc::new(TimeBase::default()));
    let log = c.refresh().await;
    assert_eq!(log.status, RefreshStatus::RefreshOk, "{:#?}", log.lines);
    assert_eq!(loaded(&c).counts().routes, 3);

    // An https URL without a TLS configuration fails, saying so.
    let none = TakCache::new(
        source(&url, &file, 10_000, 1 << 20),
        TakCell::default(),
        Arc::new(TimeBase::default()),
    );
    let log = none.refresh().await;
    assert_eq!(
        log.status,
        RefreshStatus::RestoredFromLocalCache,
        "{:#?}",
        log.lines
    );
    assert_eq!(
        reason(&log.lines),
        format!(
            "hamtaAllaVirtualiseringar from {url}: an https URL, but no TLS client configuration"
        )
    );
}
