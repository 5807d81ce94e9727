//! VP009 per cause in VP's words, and VP's redelivery (issue 11, points 3 and 6): the real
//! routers over real mutual TLS, towards hand-written producers on loopback that misbehave
//! in one way each and count the requests that reach them.

mod common;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use common::*;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const ADDRESS: &str = "TEST-PRODUCER";
const VP009: &str = "Fel vid kontakt med tjänsteproducenten.";

/// A testbed whose SIT routes `ADDRESS` to `url`; `customise` adjusts the config further.
async fn bed_routing_to(
    url: &str,
    customise: impl FnOnce(&mut ntjp_testbed::config::Config),
) -> Bed {
    let url = url.to_owned();
    start_with(move |c, dir| {
        let o = order(
            chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            &format!(
                r#"{{"logiskadresser": [{{"hsaId": "{ADDRESS}", "beskrivning": "Producent för felfall"}}],
                    "tjanstekomponenter": [{{"hsaId": "TEST-PRODUCER-SYSTEM", "beskrivning": "Felande system"}}],
                    "vagval": [{{"adress": "{url}", "logiskAdress": "{ADDRESS}", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TEST-PRODUCER-SYSTEM"}}]}}"#
            ),
            "{}",
        );
        sit_orders_with(c, dir, &[("90-producer.json", o)]);
        customise(c);
    })
    .await
}

/// The whole VP009 fault body for `details`.
fn vp009(details: &str) -> String {
    let escaped = details
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">"#,
            "<SOAP-ENV:Header/><SOAP-ENV:Body><SOAP-ENV:Fault>",
            "<faultcode>SOAP-ENV:Server</faultcode><faultstring>VP009 [NTJP-TEST] {}</faultstring>",
            "<detail><detailString>{}</detailString></detail>",
            "</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"
        ),
        VP009, escaped
    )
}

/// `Error connecting to service producer at address <url>. Exception Caught by Camel when
/// contacting producer. Exception information: (<class>: <message>)`.
fn camel(url: &str, class_and_message: &str) -> String {
    format!(
        "Error connecting to service producer at address {url}. Exception Caught by Camel when contacting producer. Exception information: ({class_and_message})"
    )
}

/// What a test producer does with the request on its `n`-th connection (from 0).
#[derive(Clone, Copy)]
enum Behaviour {
    /// Resets the connection (RST, no answer byte).
    Reset,
    /// Closes the connection normally without an answer.
    Close,
    /// Answers with this status and a body that is not SOAP.
    Status(u16),
    /// Answers 200 with a SOAP body.
    Ok,
    /// Never answers.
    Silent,
}

/// A plain-HTTP producer on loopback: `behave(n)` decides what its `n`-th request gets.
/// Returns its URL and the number of requests that reached it.
async fn producer(behave: fn(usize) -> Behaviour) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/producer/ProcessCervixScreeningInformation/1/rivtabp21",
        listener.local_addr().unwrap().port()
    );
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut stream = stream;
                if !read_request(&mut stream).await {
                    return;
                }
                let n = counted.fetch_add(1, Ordering::SeqCst);
                answer(stream, behave(n)).await;
            });
        }
    });
    (url, count)
}

/// Reads one request (head and `Content-Length` body); false if the connection ended first.
async fn read_request(stream: &mut TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            if buf.len() >= end + 4 + length {
                return true;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn answer(mut stream: TcpStream, behaviour: Behaviour) {
    let respond = |status: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    match behaviour {
        Behaviour::Reset => {
            // A zero linger makes the close a reset (RST) and does not block.
            socket2::SockRef::from(&stream)
                .set_linger(Some(std::time::Duration::ZERO))
                .unwrap();
            drop(stream);
        }
        Behaviour::Close => {
            let _ = stream.shutdown().await;
        }
        Behaviour::Status(code) => {
            let reason = http::StatusCode::from_u16(code)
                .unwrap()
                .canonical_reason()
                .unwrap_or("");
            let text = respond(&format!("{code} {reason}"), "not soap");
            let _ = stream.write_all(text.as_bytes()).await;
        }
        Behaviour::Ok => {
            let body = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ok/></soap:Body></soap:Envelope>"#;
            let _ = stream.write_all(respond("200 OK", body).as_bytes()).await;
        }
        Behaviour::Silent => {
            // Holds the connection open, answering nothing, until the router gives up.
            let mut rest = [0u8; 64];
            let _ = stream.read(&mut rest).await;
        }
    }
}

async fn call(bed: &Bed) -> Answer {
    bed.consumer()
        .post(bed.https_addr("sit"), cervix_request(ADDRESS), &[])
        .await
        .unwrap()
}

/// A producer that resets the first connection before any answer byte gets one redelivery
/// (two requests reach it) and the consumer gets the second answer.
#[tokio::test]
async fn a_reset_before_the_answer_is_redelivered_once() {
    let (url, count) = producer(|n| {
        if n == 0 {
            Behaviour::Reset
        } else {
            Behaviour::Ok
        }
    })
    .await;
    let bed = bed_routing_to(&url, |_| {}).await;
    let a = call(&bed).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("<ok/>"), "{}", a.body);
    assert_eq!(count.load(Ordering::SeqCst), 2);
    bed.stop().await;
}

/// Resets every time: one redelivery, then VP009 `java.net.SocketException: Connection reset`.
#[tokio::test]
async fn a_producer_that_keeps_resetting_is_vp009_after_one_redelivery() {
    let (url, count) = producer(|_| Behaviour::Reset).await;
    let bed = bed_routing_to(&url, |_| {}).await;
    let a = call(&bed).await;
    assert_eq!(a.status, 500);
    assert_eq!(
        a.body,
        vp009(&camel(&url, "java.net.SocketException: Connection reset"))
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
    bed.stop().await;
}

/// No redelivery after an HTTP status: one request, VP009 with Camel's exception and VP's
/// status line.
#[tokio::test]
async fn an_http_500_without_soap_is_vp009_and_not_redelivered() {
    let (url, count) = producer(|_| Behaviour::Status(500)).await;
    let bed = bed_routing_to(&url, |_| {}).await;
    let a = call(&bed).await;
    let details = format!(
        "{}\nVP_PRODUCER_EXCEPTION_HTTP_STATUS=500",
        camel(
            &url,
            &format!(
                "org.apache.camel.component.netty.http.NettyHttpOperationFailedException: Netty HTTP operation failed invoking {url} with statusCode: 500"
            )
        )
    );
    assert_eq!(a.body, vp009(&details));
    assert_eq!(count.load(Ordering::SeqCst), 1);
    bed.stop().await;
}

/// A close without an answer is not a `SocketException` in VP: no redelivery.
#[tokio::test]
async fn a_close_without_answer_is_vp009_and_not_redelivered() {
    let (url, count) = producer(|_| Behaviour::Close).await;
    let bed = bed_routing_to(&url, |_| {}).await;
    let a = call(&bed).await;
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    assert_eq!(
        a.body,
        vp009(&camel(
            &url,
            &format!(
                "org.apache.camel.CamelExchangeException: No response received from remote server: 127.0.0.1:{port}"
            )
        ))
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
    bed.stop().await;
}

/// A producer that never answers: VP's timeout text, no redelivery.
#[tokio::test]
async fn a_timeout_is_vp009_with_vps_text_and_not_redelivered() {
    let (url, count) = producer(|_| Behaviour::Silent).await;
    let bed = bed_routing_to(&url, |c| c.router.producer_timeout_ms = 300).await;
    let a = call(&bed).await;
    assert_eq!(
        a.body,
        vp009(&camel(
            &url,
            "io.netty.handler.timeout.ReadTimeoutException: Timeout when waiting on response from producer."
        ))
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
    bed.stop().await;
}

/// Nothing listens: `java.net.ConnectException: Cannot connect to <host:port>` (Camel's own
/// exception for a failed connect), after the redelivery.
#[tokio::test]
async fn a_closed_port_is_vp009_connect_exception() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url =
        format!("https://127.0.0.1:{closed}/down/ProcessCervixScreeningInformation/1/rivtabp21");
    let bed = bed_routing_to(&url, |_| {}).await;
    let a = call(&bed).await;
    assert_eq!(
        a.body,
        vp009(&camel(
            &url,
            &format!("java.net.ConnectException: Cannot connect to 127.0.0.1:{closed}")
        ))
    );
    bed.stop().await;
}

/// A producer whose certificate comes from another CA: `SSLHandshakeException` with Java's
/// PKIX message, and no redelivery (one connection reaches it).
#[tokio::test]
async fn a_producer_certificate_from_another_ca_is_vp009_ssl_handshake_and_not_redelivered() {
    let dir = tempfile::tempdir().unwrap();
    let other = ntjp_testbed::pki::Ca::generate("Some other CA").unwrap();
    let issued = other
        .issue(&ntjp_testbed::pki::CertRequest::function(
            "SE2321000016-OTHER",
        ))
        .unwrap();
    let (cert, key) = issued.write(dir.path(), "other").unwrap();
    let (ca, _) = other.write(dir.path(), "other-ca").unwrap();
    let tls = ntjp_testbed::tls::server_config(&ca, &cert, &key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(tcp).await;
            });
        }
    });
    let url =
        format!("https://127.0.0.1:{port}/other/ProcessCervixScreeningInformation/1/rivtabp21");
    let bed = bed_routing_to(&url, |_| {}).await;
    let a = call(&bed).await;
    assert_eq!(
        a.body,
        vp009(&camel(
            &url,
            "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target"
        ))
    );
    assert_eq!(connections.load(Ordering::SeqCst), 1);
    bed.stop().await;
}
