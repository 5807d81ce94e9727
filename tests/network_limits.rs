//! Deadlines for whole exchanges and connection limits, against the real testbed: a client
//! that drips its body, a producer that starts an answer and never finishes it, admin bodies
//! too large or too slow, and listeners beyond their connection limits.
//!
//! The misbehaving producers are small hand-written HTTP servers in the test: they stand in
//! for an integrator's producer, not for one of the testbed's own components.

mod common;

use std::{net::SocketAddr, time::Duration};

use common::*;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};

/// Generous overall limit for anything a test waits for (the behaviour is asserted, not
/// the time).
const PATIENCE: Duration = Duration::from_secs(30);

/// Reads until `until` is in what came, the connection closes, or [`PATIENCE`] runs out.
async fn read_until<R: AsyncRead + Unpin>(r: &mut R, until: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let _ = tokio::time::timeout(PATIENCE, async {
        while !String::from_utf8_lossy(&out).contains(until) {
            match r.read(&mut buf).await {
                Ok(n) if n > 0 => out.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
    })
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes `head`, then `body` a byte at a time every 100 ms (well within the client read
/// timeout between pieces), until the peer stops reading; meanwhile reads the answer.
async fn drip<S>(stream: S, head: &[u8], body: &[u8], until: &str) -> String
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    wr.write_all(head).await.unwrap();
    wr.flush().await.unwrap();
    let body = body.to_vec();
    let writer = tokio::spawn(async move {
        for b in body {
            if wr.write_all(&[b]).await.is_err() || wr.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Keep the connection open.
        tokio::time::sleep(PATIENCE).await;
    });
    let answer = read_until(&mut rd, until).await;
    writer.abort();
    answer
}

#[tokio::test]
async fn a_client_dripping_its_body_is_cut_off_by_the_whole_body_deadline() {
    // 1 s without data is silence; a byte every 100 ms is not, but 2 s for the whole body
    // must end it.
    let bed = start_with(|c, _| c.router.request_body_timeout_ms = 2_000).await;
    let body = cervix_request("13");
    let head = format!(
        "POST /vp/x HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
    let answer = drip(tls, head.as_bytes(), body.as_bytes(), "Envelope>").await;
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    assert!(answer.contains("VP015"), "{answer}");
    assert!(
        answer.contains("did not send the whole request body within 2000 ms"),
        "{answer}"
    );

    // A large body is passed on while it arrives: the deadline holds there too.
    let request = cervix_request("13");
    let at = request.rfind("</").unwrap();
    let beginning = format!("{}<!--{}", &request[..at], "x".repeat(100 * 1024));
    let head = format!(
        "POST /vp/x HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{beginning}",
        beginning.len() + 10_000
    );
    let tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
    let answer = drip(tls, head.as_bytes(), &[b'x'; 10_000], "Envelope>").await;
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    assert!(
        answer.contains("VP015") && answer.contains("did not send the whole request body"),
        "{answer}"
    );
    assert!(
        bed.testbed.recorder().for_address("13").is_empty(),
        "an unfinished request must not reach the producer whole"
    );

    // The mock producers' listener holds the same deadline.
    let mocks = addr_of(&bed.testbed.endpoints().mocks);
    let head = format!(
        "POST /mocks/13/ProcessCervixScreeningInformation/1/rivtabp21 HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let tls = bed.consumer().connect(mocks).await.unwrap();
    let answer = drip(tls, head.as_bytes(), body.as_bytes(), "ms (router").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("within 2000 ms"), "{answer}");
    bed.stop().await;
}

/// How a hand-written producer misbehaves after the request.
#[derive(Clone, Copy)]
enum Stall {
    /// `transfer-encoding: chunked`, one chunk of the answer, then nothing.
    Chunked,
    /// `content-length` of the whole answer, then only its first 100 bytes.
    ShortLength,
    /// `content-length` of 200,000 bytes, 100 KiB of them, then nothing.
    LongThenStop,
}

/// A producer that answers 200 and stops in the middle of its body. Sends `()` on the
/// returned channel each time a connection of its closes (the router dropped it).
async fn stalling_producer(stall: Stall) -> (SocketAddr, mpsc::UnboundedReceiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (closed, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let closed = closed.clone();
            tokio::spawn(async move {
                let request = read_until(&mut s, "Envelope>").await;
                if !request.contains("Envelope>") {
                    return;
                }
                let answer =
                    ntjp_testbed::contract::response(ntjp_testbed::contract::ResultCode::Ok, None);
                let sent = match stall {
                    Stall::Chunked => {
                        let part = &answer[..answer.len() / 2];
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{part}\r\n",
                            part.len()
                        )
                    }
                    Stall::ShortLength => format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{}",
                        answer.len(),
                        &answer[..100]
                    ),
                    Stall::LongThenStop => format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: 200000\r\n\r\n{}",
                        "x".repeat(100 * 1024)
                    ),
                };
                if s.write_all(sent.as_bytes()).await.is_err() {
                    return;
                }
                // Wait for the router to give up on this connection.
                let mut buf = [0u8; 1024];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                let _ = closed.send(());
            });
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn a_producer_that_stops_in_the_middle_of_its_answer_is_vp009_at_the_producer_timeout() {
    let mut producers = Vec::new();
    for stall in [Stall::Chunked, Stall::ShortLength, Stall::LongThenStop] {
        producers.push(stalling_producer(stall).await);
    }
    let addrs: Vec<SocketAddr> = producers.iter().map(|(a, _)| *a).collect();
    let names = ["TEST-CHUNKED", "TEST-SHORT", "TEST-LONG"];
    let bed = start_with(|c, dir| {
        let timeouts = dir.join("timeoutconfig.json");
        std::fs::write(
            &timeouts,
            format!(r#"[{{"tjanstekontrakt": "default_timeouts", "producertimeout": 29000}},
                       {{"tjanstekontrakt": "{CONTRACT}", "producertimeout": 1000}}]"#),
        )
        .unwrap();
        c.router.timeout_config = Some(timeouts);
        let routes: Vec<String> = names
            .iter()
            .zip(&addrs)
            .map(|(name, addr)| format!(r#"{{"adress": "http://{addr}/{name}/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "{name}", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK01"}}"#))
            .collect();
        let addresses: Vec<String> = names
            .iter()
            .map(|n| format!(r#"{{"hsaId": "{n}", "beskrivning": "Producent som slutar svara"}}"#))
            .collect();
        let o = order(
            chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            &format!(
                r#"{{"logiskadresser": [{}], "vagval": [{}]}}"#,
                addresses.join(","),
                routes.join(",")
            ),
            "{}",
        );
        sit_orders_with(c, dir, &[("90-stalling.json", o)]);
    })
    .await;
    let sit = bed.https_addr("sit");
    let client = bed.consumer();
    for ((name, _), (_, closed)) in names.iter().zip(&addrs).zip(producers.iter_mut()) {
        let outcome = tokio::time::timeout(PATIENCE, client.post(sit, cervix_request(name), &[]))
            .await
            .unwrap_or_else(|_| panic!("{name}: the consumer was kept waiting"));
        if *name == "TEST-LONG" {
            // Past 64 KiB the answer was on its way: it is cut off, not left hanging.
            assert!(outcome.is_err(), "{name}: {outcome:?}");
        } else {
            let f = outcome.unwrap().vp("VP009");
            let detail = f.detail.unwrap_or_default();
            assert!(
                detail.contains("Timeout when waiting on response from producer."),
                "{name}: {detail}"
            );
        }
        tokio::time::timeout(PATIENCE, closed.recv())
            .await
            .unwrap_or_else(|_| panic!("{name}: the producer connection must be dropped"))
            .unwrap();
    }
    // A whole answer still goes through.
    assert_ok(&client.post(sit, cervix_request("13"), &[]).await.unwrap());
    bed.stop().await;
}

/// Sends `head` to the admin listener and returns what came back.
async fn admin_exchange(bed: &Bed, head: &str) -> String {
    let addr = addr_of(&bed.testbed.endpoints().admin);
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    read_until(&mut tcp, "\r\n\r\n{").await + &read_until(&mut tcp, "}").await
}

#[tokio::test]
async fn the_admin_api_refuses_a_declared_100_mib_body_and_a_slow_one() {
    let bed = start_with(|c, _| c.admin_body_timeout_ms = 1_500).await;
    // 100 MiB is over the 15 MiB of admin requests; orders have their own limit (512 MiB).
    for (path, size) in [
        ("/api/systems", 104_857_600u64),
        ("/api/sit/orders", 1 << 30),
    ] {
        // Nothing of the body is sent: the answer must come from the declared size alone.
        let answer = admin_exchange(
            &bed,
            &format!("POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {size}\r\n\r\n"),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains("larger than the limit"), "{path}: {answer}");
    }
    // A body that keeps coming slowly: 408 when the body timeout passes.
    let addr = addr_of(&bed.testbed.endpoints().admin);
    let tcp = TcpStream::connect(addr).await.unwrap();
    let answer = {
        let (mut rd, mut wr) = tokio::io::split(tcp);
        wr.write_all(b"POST /api/systems HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n")
            .await
            .unwrap();
        let writer = tokio::spawn(async move {
            for _ in 0..1000 {
                if wr.write_all(b" ").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let answer = read_until(&mut rd, "}").await;
        writer.abort();
        answer
    };
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("did not arrive whole within 1500 ms"),
        "{answer}"
    );
    bed.stop().await;
}

/// Opens a plain-HTTP connection and has one request answered on it (so it is surely
/// accepted and held); returns the connection and the status line.
async fn held_plain(addr: SocketAddr) -> (TcpStream, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let status = get_on(&mut tcp).await;
    (tcp, status)
}

/// `GET /` on an open connection; the answer's status line (empty if none came).
async fn get_on<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> String {
    if s.write_all(b"GET /limit-test HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .is_err()
    {
        return String::new();
    }
    let answer = read_until(s, "\r\n\r\n").await;
    // The body of the router's 404 text, or the admin's JSON: read it so the next
    // request starts clean.
    if let Some(len) = answer
        .to_ascii_lowercase()
        .split("content-length: ")
        .nth(1)
        .and_then(|r| r.split("\r\n").next())
        .and_then(|n| n.trim().parse::<usize>().ok())
    {
        let have = answer.split_once("\r\n\r\n").map_or(0, |(_, b)| b.len());
        let mut rest = vec![0u8; len.saturating_sub(have)];
        let _ = tokio::time::timeout(PATIENCE, s.read_exact(&mut rest)).await;
    }
    answer.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn connections_beyond_a_listeners_limit_are_refused_and_those_within_are_served() {
    let bed = start_with(|c, _| {
        c.connection_limits.router = 2;
        c.connection_limits.admin = 2;
        // Held connections must not be closed as idle during the test.
        c.router.client_read_timeout_ms = 20_000;
    })
    .await;

    // Plain HTTP (a router's and the admin listener): 503 with a text naming the limit.
    for (addr, setting) in [
        (bed.http_addr("sit"), "connection_limits.router"),
        (
            addr_of(&bed.testbed.endpoints().admin),
            "connection_limits.admin",
        ),
    ] {
        let (mut a, first) = held_plain(addr).await;
        let (mut b, _) = held_plain(addr).await;
        assert!(first.starts_with("HTTP/1.1 404"), "{first}");
        let mut extra = TcpStream::connect(addr).await.unwrap();
        let refused = read_until(&mut extra, "again").await;
        assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
        assert!(refused.contains(&format!("({setting} = 2)")), "{refused}");
        // Those within the limit are still served.
        assert!(get_on(&mut a).await.starts_with("HTTP/1.1 404"));
        assert!(get_on(&mut b).await.starts_with("HTTP/1.1 404"));
        // Once one closes, a new connection is served again.
        drop(a);
        let served = tokio::time::timeout(PATIENCE, async {
            loop {
                let mut c = TcpStream::connect(addr).await.unwrap();
                let status = get_on(&mut c).await;
                if status.starts_with("HTTP/1.1 404") {
                    return c;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        assert!(served.is_ok(), "a freed place must be used again");
        drop(b);
    }

    // HTTPS: closed before the handshake; the two held connections go on being served.
    let sit = bed.https_addr("sit");
    let client = bed.consumer();
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut tls = client.connect(sit).await.unwrap();
        assert!(get_on(&mut tls).await.starts_with("HTTP/1.1 404"));
        held.push(tls);
    }
    let refused = tokio::time::timeout(PATIENCE, client.connect(sit))
        .await
        .expect("the refusal must be immediate");
    assert!(refused.is_err(), "a third TLS connection must be refused");
    for tls in &mut held {
        assert!(get_on(tls).await.starts_with("HTTP/1.1 404"));
    }
    drop(held);
    let served = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(mut tls) = client.connect(sit).await
                && get_on(&mut tls).await.starts_with("HTTP/1.1 404")
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(served.is_ok(), "freed places must be used again");
    bed.stop().await;
}

/// `ntjp serve` in a child process, killed when dropped.
struct Serve(std::process::Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn listeners_out_of_file_descriptors_keep_serving_and_accept_again() {
    // A child `ntjp serve` allowed 64 open files (it needs about 20 to start): more
    // connections than that make accept fail with EMFILE. The connection limits are far
    // higher, so it is the descriptors that run out.
    let state = tempfile::tempdir().unwrap();
    let log = state.path().join("serve.log");
    let child = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" serve --ephemeral-ports --state-dir \"$1\" 2>\"$2\"")
        .arg(env!("CARGO_BIN_EXE_ntjp"))
        .arg(state.path())
        .arg(&log)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut serve = Serve(child);
    let endpoints = state.path().join("endpoints.json");
    let text = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(text) = std::fs::read_to_string(&endpoints)
                && serde_json::from_str::<serde_json::Value>(&text).is_ok()
            {
                return text;
            }
            if let Ok(Some(status)) = serve.0.try_wait() {
                panic!("ntjp serve exited with {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("ntjp serve did not start");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let http = addr_of(v["environments"]["sit"]["router_http"].as_str().unwrap());
    let admin = addr_of(v["admin"].as_str().unwrap());

    // 100 connections, each with a request: some cannot be accepted.
    let mut held = Vec::new();
    for _ in 0..100 {
        let mut tcp = TcpStream::connect(http).await.unwrap();
        tcp.write_all(b"GET /limit-test HTTP/1.1\r\nhost: localhost\r\n\r\n")
            .await
            .unwrap();
        held.push(tcp);
    }
    let logged = tokio::time::timeout(PATIENCE, async {
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("cannot accept connections") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        logged.is_ok(),
        "the listener must run out of descriptors and say so"
    );
    // The first connections were accepted before the descriptors ran out: still served.
    assert!(get_on(&mut held[0]).await.starts_with("HTTP/1.1 404"));

    // Descriptors freed: the listener accepts again, the admin listener too, and the
    // process is still the same one.
    drop(held);
    let served = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(mut tcp) = TcpStream::connect(http).await
                && get_on(&mut tcp).await.starts_with("HTTP/1.1 404")
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(served.is_ok(), "the listener must accept again");
    let mut tcp = TcpStream::connect(admin).await.unwrap();
    tcp.write_all(b"GET /health/live HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    assert!(read_until(&mut tcp, "UP").await.starts_with("HTTP/1.1 200"));
    assert!(
        serve.0.try_wait().unwrap().is_none(),
        "ntjp serve must run on"
    );
    // Logged once per run of failed accepts, not once per attempt. The log is written in
    // batches: wait for the line that ends the run.
    let again = tokio::time::timeout(PATIENCE, async {
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("accepting connections again") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(again.is_ok(), "no \"accepting connections again\": {text}");
    let warnings = text.matches("cannot accept connections").count();
    assert!((1..=5).contains(&warnings), "{warnings} warnings:\n{text}");
}

#[tokio::test]
async fn a_producer_that_stops_reading_a_streamed_body_is_vp009_by_the_deadlines() {
    // The producer reads the request head and then nothing: with a small receive buffer the
    // router's sending of the body stalls, so nothing of the body is read any more either.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(16).unwrap();
    let producer = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _head = read_until(&mut s, "\r\n\r\n").await;
                tokio::time::sleep(PATIENCE * 2).await;
                drop(s);
            });
        }
    });
    let bed = start_with(|c, dir| {
        c.router.request_body_timeout_ms = 2_000;
        c.router.producer_timeout_ms = 1_000;
        let o = order(
            chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
            &format!(
                r#"{{"logiskadresser": [{{"hsaId": "TEST-DEAF", "beskrivning": "Producent som slutar läsa"}}],
                    "vagval": [{{"adress": "http://{producer}/deaf/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "TEST-DEAF", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK01"}}]}}"#
            ),
            "{}",
        );
        sit_orders_with(c, dir, &[("90-deaf.json", o)]);
    })
    .await;
    // 8 MiB: more than the producer's receive buffer and the router's send buffer hold.
    let request = cervix_request("TEST-DEAF");
    let at = request.rfind("</").unwrap();
    let body = format!(
        "{}<!--{}-->{}",
        &request[..at],
        "x".repeat(8 * 1024 * 1024),
        &request[at..]
    );
    let tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
    let (mut rd, mut wr) = tokio::io::split(tls);
    let head = format!(
        "POST /vp/x HTTP/1.1\r\nhost: localhost\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(head.as_bytes()).await;
        for piece in body.as_bytes().chunks(64 * 1024) {
            if wr.write_all(piece).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(PATIENCE).await;
    });
    let answer = read_until(&mut rd, "Envelope>").await;
    writer.abort();
    drop(rd);
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    assert!(answer.contains("VP009"), "{answer}");
    assert!(
        answer.contains("Timeout when waiting on response from producer."),
        "{answer}"
    );
    bed.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_its_answers_is_cut_off_and_frees_its_place() {
    // One connection allowed: while the stuck one holds it, others get 503.
    let bed = start_with(|c, _| c.connection_limits.router = 1).await;
    let addr = bed.http_addr("sit");
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stuck = socket.connect(addr).await.unwrap();
    let (_rd, mut wr) = tokio::io::split(stuck);
    // 30,000 pipelined requests whose answers (about 9 MB) the client never reads.
    let writer = tokio::spawn(async move {
        let requests = "GET /x HTTP/1.1\r\nhost: localhost\r\n\r\n".repeat(30_000);
        let _ = wr.write_all(requests.as_bytes()).await;
        tokio::time::sleep(PATIENCE * 2).await;
    });
    let mut refused_meanwhile = false;
    let served = tokio::time::timeout(PATIENCE, async {
        loop {
            let mut c = TcpStream::connect(addr).await.unwrap();
            let status = get_on(&mut c).await;
            if status.starts_with("HTTP/1.1 404") {
                return;
            }
            refused_meanwhile |= status.starts_with("HTTP/1.1 503");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    writer.abort();
    assert!(
        refused_meanwhile,
        "the stuck connection must have held the place"
    );
    assert!(served.is_ok(), "the stuck connection must be cut off");
    bed.stop().await;
}
