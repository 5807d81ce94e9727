//! Requests in another encoding than UTF-8 (issue 11, point 5): over real mutual TLS, read
//! from a raw socket, a request declared ISO-8859-1 reaches the producer in UTF-8 and its
//! answer comes back in ISO-8859-1 with `Content-Type: text/xml; charset=ISO-8859-1`.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

const ADDRESS: &str = "TEST-LATIN1";

/// A plain-HTTP producer that keeps what it was sent and answers `answer` (UTF-8).
async fn recording_producer(answer: &'static str) -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://127.0.0.1:{}/latin1/ProcessCervixScreeningInformation/1/rivtabp21",
        listener.local_addr().unwrap().port()
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
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
                            *keep.lock().unwrap() = buf[end + 4..].to_vec();
                            break;
                        }
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

/// `text` in ISO-8859-1 (every character of it is below U+0100).
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect()
}

#[tokio::test]
async fn a_latin1_request_goes_on_in_utf8_and_its_answer_comes_back_in_latin1() {
    let answer = r#"<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><svar>Östra Göinge</svar></soap:Body></soap:Envelope>"#;
    let (url, seen) = recording_producer(answer).await;
    let bed = start_with(|c, dir| {
        let o = order(
            chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            &format!(
                r#"{{"logiskadresser": [{{"hsaId": "{ADDRESS}", "beskrivning": "Producent i Latin-1"}}],
                    "tjanstekomponenter": [{{"hsaId": "TEST-LATIN1-SYSTEM", "beskrivning": "System"}}],
                    "vagval": [{{"adress": "{url}", "logiskAdress": "{ADDRESS}", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TEST-LATIN1-SYSTEM"}}]}}"#
            ),
            "{}",
        );
        sit_orders_with(c, dir, &[("90-latin1.json", o)]);
    })
    .await;
    let request = cervix_request(ADDRESS)
        .replace(r#"encoding="UTF-8""#, r#"encoding="ISO-8859-1""#)
        .replace("<soap:Header>", "<soap:Header><!-- Västra Götaland -->");
    let body = latin1(&request);
    let mut tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
    let head = format!(
        "POST /vp/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=ISO-8859-1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(&body).await.unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw).await;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..end].to_vec()).unwrap();
    let got = &raw[end + 4..];

    // Towards the producer: the same request in UTF-8, its declaration saying so.
    let expected = request.replace(r#"encoding="ISO-8859-1""#, r#"encoding="UTF-8""#);
    assert_eq!(
        String::from_utf8(seen.lock().unwrap().clone()).unwrap(),
        expected
    );
    // Back to the consumer: the answer in ISO-8859-1, with its charset.
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.lines()
            .any(|l| l.eq_ignore_ascii_case("content-type: text/xml; charset=ISO-8859-1")),
        "{head}"
    );
    assert_eq!(
        got,
        latin1(&answer.replace(r#"encoding="UTF-8""#, r#"encoding="ISO-8859-1""#)).as_slice()
    );
    bed.stop().await;
}

/// A UTF-8 request is passed on byte for byte and its answer keeps VP's UTF-8 content type.
#[tokio::test]
async fn a_utf8_request_is_passed_on_unchanged() {
    let answer = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><svar>Öst</svar></soap:Body></soap:Envelope>"#;
    let (url, seen) = recording_producer(answer).await;
    let bed = start_with(|c, dir| {
        let o = order(
            chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            &format!(
                r#"{{"logiskadresser": [{{"hsaId": "{ADDRESS}", "beskrivning": "Producent"}}],
                    "tjanstekomponenter": [{{"hsaId": "TEST-LATIN1-SYSTEM", "beskrivning": "System"}}],
                    "vagval": [{{"adress": "{url}", "logiskAdress": "{ADDRESS}", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TEST-LATIN1-SYSTEM"}}]}}"#
            ),
            "{}",
        );
        sit_orders_with(c, dir, &[("90-utf8.json", o)]);
    })
    .await;
    let request = cervix_request(ADDRESS).replace("<soap:Header>", "<soap:Header><!-- Väst -->");
    let a = bed
        .consumer()
        .post(bed.https_addr("sit"), request.clone(), &[])
        .await
        .unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.body, answer);
    assert_eq!(a.headers["content-type"], "text/xml; charset=UTF-8");
    assert_eq!(seen.lock().unwrap().as_slice(), request.as_bytes());
    bed.stop().await;
}
