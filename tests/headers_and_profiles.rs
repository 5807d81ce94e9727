//! Headers in both directions, RIVTA profile conversion, and bad input that must neither
//! panic nor hang the router.

mod common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn header<'a>(rec: &'a ntjp_testbed::verify::Recording, name: &str) -> Option<&'a str> {
    rec.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn headers_towards_the_producer_and_back_are_as_vp_sets_them() {
    // VP's own default for the correlation id towards https producers (the testbed's is on).
    let bed = start_with(|c, _| c.router.propagate_correlation_id_for_https = false).await;
    let sit = bed.https_addr("sit");
    let a = bed
        .consumer()
        .post(
            sit,
            cervix_request("12"),
            &[
                ("x-skltp-correlation-id", "corr-from-consumer-1"),
                ("soapaction", "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1:ProcessCervixScreeningInformation"),
                ("x-vp-sender-id", "SPOOFED"),
                ("x-forwarded-for", "10.0.0.1"),
                ("accept-encoding", "gzip"),
                ("x-rivta-acting-on-behalf-of-hsaid", "SE123-ACTOR"),
                ("user-agent", "consumer/1.0"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(assert_ok(&a), "12");
    // Back to the consumer.
    assert_eq!(a.headers["x-skltp-correlation-id"], "corr-from-consumer-1");
    assert!(
        a.headers["x-skltp-prt"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    assert_eq!(a.headers["content-type"], "text/xml; charset=UTF-8");
    assert!(a.headers.get("soapaction").is_none());
    // Towards the (https) producer.
    let rec = &bed.testbed.recorder().for_address("12")[0];
    assert_eq!(
        header(rec, "x-rivta-original-serviceconsumer-hsaid"),
        Some("TSTNMT2321000156-KONS")
    );
    assert_eq!(header(rec, "user-agent"), Some("SKLTP VP/4.3.x"));
    assert_eq!(header(rec, "content-type"), Some("text/xml;charset=UTF-8"));
    assert!(
        header(rec, "soapaction")
            .unwrap()
            .ends_with(":ProcessCervixScreeningInformation")
    );
    assert_eq!(
        header(rec, "x-rivta-acting-on-behalf-of-hsaid"),
        Some("SE123-ACTOR")
    );
    for stripped in [
        "x-vp-sender-id",
        "x-vp-instance-id",
        "x-forwarded-for",
        "accept-encoding",
    ] {
        assert_eq!(
            header(rec, stripped),
            None,
            "{stripped} must not reach the producer"
        );
    }
    // Correlation id goes to https producers only when configured (VP's default: off).
    assert_eq!(header(rec, "x-skltp-correlation-id"), None);
    bed.stop().await;
}

#[tokio::test]
async fn correlation_id_is_generated_when_absent_and_propagated_when_configured() {
    let bed = start_with(|c, _| c.router.propagate_correlation_id_for_https = true).await;
    let sit = bed.https_addr("sit");
    let client = bed.consumer();
    let a = client.post(sit, cervix_request("13"), &[]).await.unwrap();
    assert_ok(&a);
    let generated = a.headers["x-skltp-correlation-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let rec = &bed.testbed.recorder().for_address("13")[0];
    assert_eq!(
        header(rec, "x-skltp-correlation-id"),
        Some(generated.as_str())
    );
    // Faults carry the consumer's correlation id too.
    let f = client
        .post(
            sit,
            cervix_request("99"),
            &[("x-skltp-correlation-id", "kept-on-fault")],
        )
        .await
        .unwrap();
    f.vp("VP004");
    assert_eq!(f.headers["x-skltp-correlation-id"], "kept-on-fault");
    // An original consumer given by the consumer is passed on unchanged.
    let a = client
        .post(
            sit,
            cervix_request("13"),
            &[("x-rivta-original-serviceconsumer-hsaid", "SE123-ORIGINAL")],
        )
        .await
        .unwrap();
    assert_ok(&a);
    let rec = &bed.testbed.recorder().for_address("13")[1];
    assert_eq!(
        header(rec, "x-rivta-original-serviceconsumer-hsaid"),
        Some("SE123-ORIGINAL")
    );
    bed.stop().await;
}

#[tokio::test]
async fn rivtabp20_request_reaches_a_rivtabp21_producer_rewritten_and_the_reverse() {
    let bed = start_with(|c, dir| {
        let o = order(
            chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            &format!(
                r#"{{"logiskadresser": [{{"hsaId": "TEST-BP20", "beskrivning": "Producent med RIVTABP20"}}],
                    "vagval": [{{"adress": "{{{{mocks}}}}/TEST-BP20/ProcessCervixScreeningInformation/1/rivtabp20", "logiskAdress": "TEST-BP20", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP20", "tjanstekomponent": "TSTNMT2321000156-MOCK01"}}]}}"#
            ),
            "{}",
        );
        sit_orders_with(c, dir, &[("90-bp20.json", o)]);
    })
    .await;
    let sit = bed.https_addr("sit");
    let client = bed.consumer();
    // BP20 in, BP21 producer.
    let a = client
        .post(sit, cervix_request_bp20("01"), &[])
        .await
        .unwrap();
    assert_eq!(assert_ok(&a), "01");
    let rec = &bed.testbed.recorder().for_address("01")[0];
    assert_eq!(rec.message_profile.as_deref(), Some("RIVTABP21"));
    assert_eq!(rec.logical_address.as_deref(), Some("01"));
    assert!(
        rec.body.contains("urn:riv:itintegration:registry:1"),
        "{}",
        rec.body
    );
    // BP21 in, BP20 producer.
    let a = client
        .post(sit, cervix_request("TEST-BP20"), &[])
        .await
        .unwrap();
    assert_eq!(assert_ok(&a), "TEST-BP20");
    let rec = &bed.testbed.recorder().for_address("TEST-BP20")[0];
    assert_eq!(rec.message_profile.as_deref(), Some("RIVTABP20"));
    assert_eq!(rec.logical_address.as_deref(), Some("TEST-BP20"));
    assert!(
        rec.body.contains("http://www.w3.org/2005/08/addressing"),
        "{}",
        rec.body
    );
    bed.stop().await;
}

/// Sends a raw request head (and optional body bytes) over mutual TLS and reads the answer
/// until the server closes; bounded so a hang fails the test instead of stalling it.
async fn raw_exchange(bed: &Bed, head: &str, body: &[u8], keep_open: Duration) -> String {
    let mut tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
    tls.write_all(head.as_bytes()).await.unwrap();
    let _ = tls.write_all(body).await;
    let _ = tls.flush().await;
    let mut out = Vec::new();
    let read = async {
        let mut buf = [0u8; 8192];
        loop {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(keep_open, read)
        .await
        .expect("the router neither answered nor closed the connection");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn an_oversized_declared_body_is_refused_without_reading_it() {
    let bed = start().await;
    let head = "POST /vp/x HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/xml\r\ncontent-length: 15728641\r\n\r\n";
    let answer = raw_exchange(&bed, head, b"<soap:Envelope", Duration::from_secs(20)).await;
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    assert!(answer.contains("VP015 [NTJP-TEST]"), "{answer}");
    assert!(
        answer.contains("larger than the maximum of 15728640 bytes"),
        "{answer}"
    );
    // The router is still there.
    assert_ok(
        &bed.consumer()
            .post(bed.https_addr("sit"), cervix_request("01"), &[])
            .await
            .unwrap(),
    );
    bed.stop().await;
}

#[tokio::test]
async fn a_body_sent_in_many_pieces_reaches_the_producer_whole() {
    // The router passes a body on in the pieces it arrived in; it must reach the producer
    // byte for byte, and a RIVTABP20 one converted as if it had come in one piece.
    let bed = start().await;
    for (address, body) in [
        ("13", cervix_request("13")),
        ("14", cervix_request_bp20("14")),
    ] {
        let mut tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
        tls.write_all(
            b"POST /vp/x HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n\r\n",
        )
        .await
        .unwrap();
        for piece in body.as_bytes().chunks(97) {
            tls.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .await
                .unwrap();
            tls.write_all(piece).await.unwrap();
            tls.write_all(b"\r\n").await.unwrap();
            tls.flush().await.unwrap();
            // Let the router see each piece on its own.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tls.write_all(b"0\r\n\r\n").await.unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        while !String::from_utf8_lossy(&out).contains("Envelope>") {
            match tokio::time::timeout(Duration::from_secs(20), tls.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
                other => panic!("no answer: {other:?}"),
            }
        }
        let answer = String::from_utf8_lossy(&out);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let rec = &bed.testbed.recorder().for_address(address)[0];
        if address == "13" {
            assert_eq!(rec.body, body);
        } else {
            let one_piece = ntjp_testbed::soap::rivta::convert(
                body.as_bytes(),
                ntjp_testbed::soap::Profile::Bp21,
            )
            .unwrap();
            assert_eq!(rec.body.as_bytes(), &one_piece[..]);
        }
    }
    bed.stop().await;
}

#[tokio::test]
async fn an_oversized_chunked_body_is_cut_off_at_the_limit() {
    let bed = start().await;
    let mut tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
    tls.write_all(b"POST /vp/x HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let chunk = vec![b'a'; 1024 * 1024];
    let mut sent = 0usize;
    // Send up to 20 MiB; the router answers and closes once it has seen more than 15 MiB.
    let (mut rd, mut wr) = tokio::io::split(tls);
    let writer = async {
        for _ in 0..20 {
            let head = format!("{:x}\r\n", chunk.len());
            if wr.write_all(head.as_bytes()).await.is_err()
                || wr.write_all(&chunk).await.is_err()
                || wr.write_all(b"\r\n").await.is_err()
            {
                break;
            }
            sent += chunk.len();
        }
    };
    let reader = async {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    };
    let (_, out) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(writer, reader)
    })
    .await
    .expect("the router must answer and close");
    let answer = String::from_utf8_lossy(&out);
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    assert!(answer.contains("VP015"), "{answer}");
    assert!(sent <= 20 * 1024 * 1024);
    bed.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_sending_is_cut_off_after_the_read_timeout() {
    let bed = start().await; // client_read_timeout_ms = 1000 in tests
    let head = "POST /vp/x HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/xml\r\ncontent-length: 5000\r\n\r\n";
    let answer = raw_exchange(
        &bed,
        head,
        b"<soap:Envelope xmlns:soap=",
        Duration::from_secs(20),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    assert!(answer.contains("VP015"), "{answer}");
    assert!(answer.contains("sent no data"), "{answer}");
    // A client that sends nothing at all after the handshake is disconnected too.
    let mut tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(20), tls.read(&mut buf))
        .await
        .expect("must be cut off");
    assert!(
        matches!(n, Ok(0) | Err(_)),
        "the router must close an idle connection: {n:?}"
    );
    bed.stop().await;
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let bed = start().await;
    let body = cervix_request("17");
    let mut tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
    // `expect: 100-continue` makes the router say when it has read the head and waits for
    // the body: from then on the request is in flight.
    let head = format!(
        "POST /vp/x HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/xml\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(&body.as_bytes()[..100]).await.unwrap();
    tls.flush().await.unwrap();
    let mut continued = Vec::new();
    let mut byte = [0u8; 1];
    tokio::time::timeout(PATIENCE, async {
        while !continued.ends_with(b"\r\n\r\n") {
            assert_eq!(tls.read(&mut byte).await.unwrap(), 1, "closed");
            continued.push(byte[0]);
        }
    })
    .await
    .expect("the router never read the request head");
    assert!(
        continued.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&continued)
    );
    let mocks = bed.testbed.mocks().clone();
    let https = bed.https_addr("sit");
    let shutdown = tokio::spawn(bed.stop());
    // Shutdown has begun once the router accepts no new connections.
    wait_for("the router still accepts connections", || async {
        tokio::net::TcpStream::connect(https).await.is_err()
    })
    .await;
    tls.write_all(&body.as_bytes()[100..]).await.unwrap();
    tls.flush().await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if String::from_utf8_lossy(&out).contains("</soap:Envelope>")
                        || String::from_utf8_lossy(&out).contains("Envelope>")
                    {
                        break;
                    }
                }
            }
        }
    })
    .await
    .expect("in-flight request must be answered");
    let answer = String::from_utf8_lossy(&out);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("OK"), "{answer}");
    assert_eq!(mocks.recorder.for_address("17").len(), 1);
    drop(tls);
    tokio::time::timeout(Duration::from_secs(40), shutdown)
        .await
        .unwrap()
        .unwrap();
}

/// An external plain-HTTP producer: records each request head, then answers with a contract
/// response, or (when `silent`) never answers.
async fn http_producer(
    silent: bool,
) -> (
    std::net::SocketAddr,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = Vec::new();
                while !String::from_utf8_lossy(&got).contains("</soap:Envelope>")
                    && !String::from_utf8_lossy(&got).contains("Envelope>")
                {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tx.send(String::from_utf8_lossy(&got).into_owned());
                if silent {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                let body =
                    ntjp_testbed::contract::response(ntjp_testbed::contract::ResultCode::Ok, None);
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(body.as_bytes()).await;
            });
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn an_http_producer_gets_vp_headers_and_a_silent_one_times_out_with_vp009() {
    let (fast, mut fast_heads) = http_producer(false).await;
    let (slow, _slow_heads) = http_producer(true).await;
    let bed = start_with(|c, dir| {
        let timeouts = dir.join("timeoutconfig.json");
        std::fs::write(
            &timeouts,
            format!(r#"[{{"tjanstekontrakt": "default_timeouts", "routetimeout": 30000, "producertimeout": 29000}},
                       {{"tjanstekontrakt": "{CONTRACT}", "routetimeout": 1000, "producertimeout": 700}}]"#),
        )
        .unwrap();
        c.router.timeout_config = Some(timeouts);
        let route = |address: &str, addr: std::net::SocketAddr| {
            format!(r#"{{"adress": "http://{addr}/{address}/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "{address}", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK01"}}"#)
        };
        let o = order(
            chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            &format!(
                r#"{{"logiskadresser": [{{"hsaId": "TEST-HTTP", "beskrivning": "HTTP-producent"}}, {{"hsaId": "TEST-SLOW", "beskrivning": "Tyst producent"}}],
                    "vagval": [{}, {}]}}"#,
                route("TEST-HTTP", fast),
                route("TEST-SLOW", slow)
            ),
            "{}",
        );
        sit_orders_with(c, dir, &[("90-http.json", o)]);
    })
    .await;
    let sit = bed.https_addr("sit");
    let client = bed.consumer();
    let a = client
        .post(
            sit,
            cervix_request("TEST-HTTP"),
            &[("x-skltp-correlation-id", "corr-http-1")],
        )
        .await
        .unwrap();
    assert_ok(&a);
    let head = fast_heads.recv().await.unwrap().to_ascii_lowercase();
    assert!(
        head.contains("x-vp-sender-id: tstnmt2321000156-kons"),
        "{head}"
    );
    assert!(head.contains("x-vp-instance-id: ntjp-test"), "{head}");
    assert!(
        head.contains("x-skltp-correlation-id: corr-http-1"),
        "always sent to http producers: {head}"
    );
    assert!(
        head.contains("x-rivta-original-serviceconsumer-hsaid: tstnmt2321000156-kons"),
        "{head}"
    );

    let f = client
        .post(sit, cervix_request("TEST-SLOW"), &[])
        .await
        .unwrap()
        .vp("VP009");
    let detail = f.detail.unwrap_or_default();
    assert!(
        detail.contains("Timeout when waiting on response from producer."),
        "{detail}"
    );
    bed.stop().await;
}

/// A valid request to `address` grown past the 64 KiB the router reads before routing, by a
/// comment of `pad` bytes after the SOAP Body.
fn large_request(request: &str, pad: usize) -> String {
    let at = request.rfind("</").expect("a closing Envelope tag");
    format!(
        "{}<!--{}-->{}",
        &request[..at],
        "x".repeat(pad),
        &request[at..]
    )
}

/// Writes `head` and then `body` as chunks of `piece` bytes on a new connection; with
/// `finish`, the last chunk too. Returns the connection.
async fn send_chunked(
    bed: &Bed,
    body: &[u8],
    piece: usize,
    finish: bool,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
    tls.write_all(b"POST /vp/x HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    for part in body.chunks(piece) {
        tls.write_all(format!("{:x}\r\n", part.len()).as_bytes())
            .await
            .unwrap();
        tls.write_all(part).await.unwrap();
        tls.write_all(b"\r\n").await.unwrap();
    }
    if finish {
        tls.write_all(b"0\r\n\r\n").await.unwrap();
    }
    tls.flush().await.unwrap();
    tls
}

/// Reads until the connection closes or `until` is in what came (at most 30 s).
async fn read_answer(
    tls: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    until: &str,
) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while !String::from_utf8_lossy(&out).contains(until) {
        match tokio::time::timeout(Duration::from_secs(30), tls.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => out.extend_from_slice(&buf[..n]),
            Ok(_) => break,
            Err(_) => panic!("no answer within 30 s: {}", String::from_utf8_lossy(&out)),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_large_body_is_sent_on_while_it_arrives_and_reaches_the_producer_whole() {
    // Past its first 64 KiB a body is passed on as it arrives; it must reach the producer
    // byte for byte (converted when the profiles differ), with its length when it had one.
    let bed = start().await;
    let sit = bed.https_addr("sit");
    let big = large_request(&cervix_request("13"), 1024 * 1024);
    let a = bed.consumer().post(sit, big.clone(), &[]).await.unwrap();
    assert_eq!(assert_ok(&a), "13");
    let rec = bed.testbed.recorder().for_address("13");
    assert_eq!(rec[0].body, big);
    assert_eq!(
        header(&rec[0], "content-length"),
        Some(big.len().to_string().as_str())
    );

    // Chunked, in pieces, and RIVTABP20 towards a RIVTABP21 producer.
    let big20 = large_request(&cervix_request_bp20("14"), 300 * 1024);
    for (address, body) in [("13", &big), ("14", &big20)] {
        let mut tls = send_chunked(&bed, body.as_bytes(), 40 * 1024, true).await;
        let answer = read_answer(&mut tls, "Envelope>").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let rec = bed.testbed.recorder().for_address(address);
        let expected = if address == "13" {
            body.as_bytes().to_vec()
        } else {
            ntjp_testbed::soap::rivta::convert(body.as_bytes(), ntjp_testbed::soap::Profile::Bp21)
                .unwrap()
        };
        assert_eq!(rec.last().unwrap().body.as_bytes(), &expected[..]);
    }
    bed.stop().await;
}

#[tokio::test]
async fn a_large_body_that_grows_too_large_or_stops_coming_is_vp015() {
    let bed = start().await; // client_read_timeout_ms = 1000 in tests
    // The envelope's beginning routes it; then the comment never ends.
    let request = cervix_request("13");
    let at = request.rfind("</").unwrap();
    let open = format!("{}<!--{}", &request[..at], "x".repeat(100 * 1024));

    // More than 15 MiB.
    let mut tls = send_chunked(&bed, open.as_bytes(), 64 * 1024, false).await;
    let chunk = vec![b'x'; 1024 * 1024];
    for _ in 0..16 {
        let head = format!("{:x}\r\n", chunk.len());
        if tls.write_all(head.as_bytes()).await.is_err()
            || tls.write_all(&chunk).await.is_err()
            || tls.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let answer = read_answer(&mut tls, "Envelope>").await;
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    assert!(answer.contains("VP015"), "{answer}");
    assert!(
        answer.contains("larger than the maximum of 15728640 bytes"),
        "{answer}"
    );

    // A consumer that stops sending in the middle.
    let mut tls = send_chunked(&bed, open.as_bytes(), 64 * 1024, false).await;
    let answer = read_answer(&mut tls, "Envelope>").await;
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    assert!(
        answer.contains("VP015") && answer.contains("sent no data"),
        "{answer}"
    );
    bed.stop().await;
}

#[tokio::test]
async fn a_fault_found_in_a_large_body_leaves_the_connection_usable() {
    // A route fault is found before the producer is called: the rest of the body is still
    // read, so the next request on the same connection is served.
    let bed = start().await;
    let tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let post = |body: String| {
        hyper::Request::post("/vp/x")
            .header("host", "localhost")
            .body(http_body_util::Full::new(bytes::Bytes::from(body)))
            .unwrap()
    };
    let resp = sender
        .send_request(post(large_request(
            &cervix_request("NO-SUCH-ADDRESS"),
            500 * 1024,
        )))
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let body = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("VP004"));
    sender.ready().await.unwrap();
    let resp = sender
        .send_request(post(cervix_request("13")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    bed.stop().await;
}
