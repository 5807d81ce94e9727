//! Header names and the routing history as they travel on the wire: each answer is read as
//! raw bytes from a mutual-TLS socket (no HTTP client, which would normalise the names'
//! case), and what a producer receives is recorded raw by a plain-HTTP producer that only
//! records bytes and answers.

mod common;

use std::net::SocketAddr;

use common::*;
use ntjp_testbed::mocks::SERVER as MOCK_SERVER;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpListener,
    sync::mpsc,
};

const CONSUMER: &str = "TSTNMT2321000156-KONS";
const INSTANCE: &str = "NTJP-TEST";
const ROUTER_PATH: &str =
    "/vp/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21";

/// An HTTP/1.1 message as it came: the first line, each header as written, the body.
#[derive(Debug)]
struct Raw {
    first_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    /// The header names in the order they were written, exactly as written.
    fn names(&self) -> Vec<&str> {
        self.headers.iter().map(|(n, _)| n.as_str()).collect()
    }
    /// The value of the header written exactly `name` (case-sensitive, as scripts compare).
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits a whole message (head and body) into its parts.
fn parse(bytes: &[u8]) -> Raw {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {text:?}"));
    let mut lines = head.split("\r\n");
    let first_line = lines.next().unwrap().to_owned();
    let headers = lines
        .map(|l| {
            let (n, v) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("bad line {l:?}"));
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    Raw {
        first_line,
        headers,
        body: body.to_owned(),
    }
}

/// Reads one message whose length is given by `Content-Length` (any case) from `io`.
async fn read_message<I: AsyncRead + Unpin>(io: &mut I) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let read = async {
        loop {
            if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = parse(&got[..end + 4]);
                let len: usize = head
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                if got.len() >= end + 4 + len {
                    return;
                }
            }
            let n = io.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "closed mid-message: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("a whole message within the patience");
    got
}

/// POSTs `body` to `path` over `io` with `headers` written exactly as given, and returns the
/// answer as it came.
async fn exchange<I: AsyncRead + AsyncWrite + Unpin>(
    mut io: I,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Raw {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    io.write_all(req.as_bytes()).await.unwrap();
    parse(&read_message(&mut io).await)
}

/// A consumer's call to the SIT router over mutual TLS, read raw.
async fn call(bed: &Bed, address: &str, headers: &[(&str, &str)]) -> Raw {
    let tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
    exchange(tls, ROUTER_PATH, headers, &cervix_request(address)).await
}

/// Asserts that every header name is written in title case (`Content-Type`, `X-Skltp-Prt`):
/// each word starts with a capital, the rest is lower case.
fn assert_title_case(raw: &Raw) {
    for name in raw.names() {
        let title = name
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("-");
        assert_eq!(name, title, "{:?}", raw.names());
    }
}

#[tokio::test]
async fn the_router_answers_with_header_names_as_ntjp_consumers_read_them() {
    let bed = start().await;
    let a = call(&bed, "01", &[("x-skltp-correlation-id", "corr-wire-1")]).await;
    assert_eq!(a.first_line, "HTTP/1.1 200 OK", "{}", a.body);
    assert!(a.body.contains("<resultCode>OK</resultCode>"), "{}", a.body);
    assert_title_case(&a);
    for name in [
        "Content-Type",
        "Content-Length",
        "Date",
        "Server",
        "X-Skltp-Prt",
        "X-Skltp-Correlation-Id",
        "X-Rivta-Routing-History",
        "X-Ntjp-Mock-Address",
    ] {
        assert!(a.get(name).is_some(), "{name} missing in {:?}", a.names());
    }
    assert_eq!(a.get("Content-Type"), Some("text/xml; charset=UTF-8"));
    assert_eq!(a.get("X-Skltp-Correlation-Id"), Some("corr-wire-1"));
    assert!(a.get("X-Skltp-Prt").unwrap().parse::<u64>().is_ok());
    // The producer's Server, passed through.
    assert_eq!(a.get("Server"), Some(MOCK_SERVER));
    assert_eq!(
        a.get("Content-Length"),
        Some(a.body.len().to_string().as_str())
    );

    // A platform fault: the same names.
    let f = call(&bed, "NO-SUCH-ADDRESS", &[]).await;
    assert_eq!(f.first_line, "HTTP/1.1 500 Internal Server Error");
    assert!(f.body.contains("VP004"), "{}", f.body);
    assert_title_case(&f);
    assert_eq!(f.get("Content-Type"), Some("text/xml; charset=UTF-8"));
    for name in ["Content-Length", "Date", "X-Skltp-Correlation-Id"] {
        assert!(f.get(name).is_some(), "{name} missing in {:?}", f.names());
    }
    bed.stop().await;
}

#[tokio::test]
async fn a_mock_producer_answers_with_date_server_and_the_routing_history_it_received() {
    let bed = start().await;
    let mocks = addr_of(&bed.testbed.endpoints().mocks);
    let tls = bed.consumer().connect(mocks).await.unwrap();
    let a = exchange(
        tls,
        "/mocks/01/ProcessCervixScreeningInformation/1/rivtabp21",
        &[("x-rivta-routing-history", "SOME-SYSTEM#OTHER-VP")],
        &cervix_request("01"),
    )
    .await;
    assert_eq!(a.first_line, "HTTP/1.1 200 OK", "{}", a.body);
    assert_title_case(&a);
    assert_eq!(a.get("Server"), Some(MOCK_SERVER));
    assert!(a.get("Date").is_some_and(|d| d.ends_with(" GMT")), "{a:?}");
    assert_eq!(a.get("Content-Type"), Some("text/xml; charset=UTF-8"));
    assert_eq!(
        a.get("X-Rivta-Routing-History"),
        Some("SOME-SYSTEM#OTHER-VP")
    );
    assert_eq!(a.get("X-Ntjp-Mock-Address"), Some("01"));
    bed.stop().await;
}

/// The `Date` of the recording producer's answers, a producer with a wrong clock.
const OLD_DATE: &str = "Mon, 01 Jan 2001 00:00:00 GMT";

/// A plain-HTTP producer that records each request as it came and answers a contract
/// response with a `Server` and a `Date` of its own.
async fn recording_producer() -> (SocketAddr, mpsc::UnboundedReceiver<Raw>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                loop {
                    let got = read_message(&mut s).await;
                    let _ = tx.send(parse(&got));
                    let body = ntjp_testbed::contract::response(
                        ntjp_testbed::contract::ResultCode::Ok,
                        None,
                    );
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/xml;charset=UTF-8\r\nServer: Apache-Coyote/1.1\r\nDate: {OLD_DATE}\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn the_producer_gets_vps_own_headers_in_lower_case_and_its_server_but_not_its_date_reaches_the_consumer()
 {
    let (producer, mut requests) = recording_producer().await;
    let bed = start_with(|c, dir| {
        let o = order(
            chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            &format!(
                r#"{{"logiskadresser": [{{"hsaId": "TEST-RAW", "beskrivning": "Producent som spelar in"}}],
                    "vagval": [{{"adress": "http://{producer}/raw/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "TEST-RAW", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK01"}}]}}"#
            ),
            "{}",
        );
        sit_orders_with(c, dir, &[("90-raw.json", o)]);
    })
    .await;
    let a = call(
        &bed,
        "TEST-RAW",
        &[
            ("X-Skltp-Correlation-Id", "corr-wire-2"),
            ("SOAPAction", "urn:test"),
        ],
    )
    .await;
    assert_eq!(a.first_line, "HTTP/1.1 200 OK", "{}", a.body);
    assert_eq!(a.get("Server"), Some("Apache-Coyote/1.1"));
    assert_eq!(a.get("Content-Type"), Some("text/xml; charset=UTF-8"));
    // VP drops the producer's Date (Camel's header filter); the platform writes its own.
    let dates: Vec<_> = a.headers.iter().filter(|(n, _)| n == "Date").collect();
    assert_eq!(dates.len(), 1, "{:?}", a.headers);
    assert_ne!(dates[0].1, OLD_DATE);

    let got = tokio::time::timeout(PATIENCE, requests.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.first_line,
        "POST /raw/ProcessCervixScreeningInformation/1/rivtabp21 HTTP/1.1"
    );
    // VP's own headers in its spelling: its constants, Netty 4.1's lower-case names.
    let expected = [
        ("content-type", "text/xml;charset=UTF-8"),
        ("x-rivta-original-serviceconsumer-hsaid", CONSUMER),
        ("x-skltp-correlation-id", "corr-wire-2"),
        ("x-vp-sender-id", CONSUMER),
        ("x-vp-instance-id", INSTANCE),
        ("x-rivta-routing-history", "TSTNMT2321000156-KONS#NTJP-TEST"),
    ];
    for (name, value) in expected {
        assert_eq!(got.get(name), Some(value), "{name} in {:?}", got.headers);
    }
    assert!(got.get("content-length").is_some(), "{:?}", got.headers);
    assert!(got.get("host").is_some(), "{:?}", got.headers);
    bed.stop().await;
}

/// The value of `x-rivta-routing-history` the mock at `address` last received.
fn recorded_history(bed: &Bed, address: &str) -> Option<String> {
    let rec = bed.testbed.recorder().for_address(address);
    rec.last()
        .unwrap()
        .headers
        .iter()
        .find(|(k, _)| k == "x-rivta-routing-history")
        .map(|(_, v)| v.clone())
}

#[tokio::test]
async fn over_https_the_routing_history_is_started_extended_checked_and_echoed() {
    let bed = start().await;

    // Absent: the consumer, then this platform.
    let a = call(&bed, "07", &[]).await;
    assert_eq!(a.first_line, "HTTP/1.1 200 OK", "{}", a.body);
    let started = format!("{CONSUMER}#{INSTANCE}");
    assert_eq!(
        recorded_history(&bed, "07").as_deref(),
        Some(started.as_str())
    );
    assert_eq!(a.get("X-Rivta-Routing-History"), Some(started.as_str()));

    // Present without this platform: appended.
    let a = call(
        &bed,
        "03",
        &[("x-rivta-routing-history", "SOME-SYSTEM#OTHER-VP")],
    )
    .await;
    assert_eq!(a.first_line, "HTTP/1.1 200 OK", "{}", a.body);
    let extended = "SOME-SYSTEM#OTHER-VP#NTJP-TEST";
    assert_eq!(recorded_history(&bed, "03").as_deref(), Some(extended));
    assert_eq!(a.get("X-Rivta-Routing-History"), Some(extended));

    // This platform already in it (hops trimmed): a loop, VP014, nothing forwarded.
    let before = bed.testbed.recorder().for_address("04").len();
    let f = bed
        .consumer()
        .post(
            bed.https_addr("sit"),
            cervix_request("04"),
            &[(
                "x-rivta-routing-history",
                "SOME-SYSTEM# NTJP-TEST #OTHER-VP",
            )],
        )
        .await
        .unwrap()
        .vp("VP014");
    assert_eq!(f.faultcode, "SOAP-ENV:Server");
    assert_eq!(
        f.faultstring,
        "VP014 [NTJP-TEST] Anropsförmedlingen för den logiska adressaten har givit upphov till rundgång mellan tjänsteplattformar. Rapportera felet till tjänsteplattformsförvaltningen."
    );
    assert_eq!(bed.testbed.recorder().for_address("04").len(), before);

    // Case-sensitive, as VP's String.equals: another platform's id.
    let a = call(&bed, "05", &[("x-rivta-routing-history", "ntjp-test")]).await;
    assert_eq!(a.first_line, "HTTP/1.1 200 OK", "{}", a.body);
    assert_eq!(
        recorded_history(&bed, "05").as_deref(),
        Some("ntjp-test#NTJP-TEST")
    );
    bed.stop().await;
}

#[tokio::test]
async fn an_internal_call_over_https_passes_the_routing_history_on_unchanged() {
    let bed = start().await;
    let history = "SOME-SYSTEM#NTJP-TEST";
    let a = call(
        &bed,
        "06",
        &[
            ("x-vp-sender-id", CONSUMER),
            ("x-vp-instance-id", INSTANCE),
            ("x-rivta-routing-history", history),
        ],
    )
    .await;
    assert_eq!(a.first_line, "HTTP/1.1 200 OK", "{}", a.body);
    assert_eq!(recorded_history(&bed, "06").as_deref(), Some(history));
    assert_eq!(a.get("X-Rivta-Routing-History"), Some(history));

    // Another platform's instance id is not internal: checked, and a loop.
    let f = bed
        .consumer()
        .post(
            bed.https_addr("sit"),
            cervix_request("06"),
            &[
                ("x-vp-sender-id", CONSUMER),
                ("x-vp-instance-id", "OTHER-VP"),
                ("x-rivta-routing-history", history),
            ],
        )
        .await
        .unwrap();
    f.vp("VP014");
    bed.stop().await;
}
