//! Input strictness (issue 9): values from input that once panicked, were echoed unbounded or
//! were accepted where the real platform refuses them. Each test reproduces the original
//! failure through the real testbed.

mod common;

use common::*;
use ntjp_testbed::{cli::client, vocab::EnvName};
use serde_json::{Value, json};

fn admin(bed: &Bed) -> String {
    bed.testbed.endpoints().admin.clone()
}

async fn post(bed: &Bed, path: &str, body: &Value) -> client::Answer {
    client::post(
        &format!("{}{path}", admin(bed)),
        serde_json::to_vec(body).unwrap(),
    )
    .await
    .unwrap()
}

async fn get(bed: &Bed, path: &str) -> client::Answer {
    client::get(&format!("{}{path}", admin(bed))).await.unwrap()
}

fn journal_lines(bed: &Bed) -> usize {
    let path = bed.dir.path().join("state/journal.jsonl");
    std::fs::read_to_string(path).unwrap().lines().count()
}

/// `{"advance_days": 200000000000000}` panicked in the date arithmetic, was journaled, and
/// every SIT request got an empty reply (also after a restart). Now: 400 naming the value and
/// the range, nothing journaled, routing and `/status` unharmed.
#[tokio::test]
async fn a_clock_move_out_of_range_is_refused_and_not_journaled() {
    let bed = start().await;
    let lines = journal_lines(&bed);
    for (body, names) in [
        (
            json!({"advance_days": 200_000_000_000_000_i64}),
            "200000000000000",
        ),
        (json!({"advance_days": i64::MAX}), "9223372036854775807"),
        (json!({"advance_days": i64::MIN}), "-9223372036854775808"),
        (json!({"today": "+10000-01-01"}), "10000-01-01"),
        (json!({"today": "1899-12-31"}), "1899-12-31"),
    ] {
        let a = post(&bed, "/api/sit/clock", &body).await;
        assert_eq!(a.status.as_u16(), 400, "{body}: {}", a.json);
        let error = a.json["error"].as_str().unwrap_or_default();
        assert!(error.contains(names), "{body}: {error}");
        assert!(error.contains("1900-01-01..=9999-12-31"), "{body}: {error}");
    }
    // Twice the largest allowed step, in two moves that are each in range on their own.
    let max = (ntjp_testbed::clock::LAST_DAY - today()).num_days();
    assert_eq!(
        post(&bed, "/api/sit/clock", &json!({"advance_days": max}))
            .await
            .status
            .as_u16(),
        200
    );
    let a = post(&bed, "/api/sit/clock", &json!({"advance_days": 1})).await;
    assert_eq!(a.status.as_u16(), 400, "{}", a.json);
    assert_eq!(
        journal_lines(&bed),
        lines + 1,
        "only the move in range is journaled"
    );
    assert_eq!(
        post(&bed, "/api/sit/clock", &json!({"reset": true}))
            .await
            .status
            .as_u16(),
        200
    );

    assert_eq!(get(&bed, "/status").await.status.as_u16(), 200);
    let ok = bed
        .consumer()
        .post(bed.https_addr("sit"), cervix_request("01"), &[])
        .await
        .unwrap();
    assert_ok(&ok);
    bed.stop().await;
}

/// A journal written before offsets were checked holds the panicking offset: the start is
/// refused with a message naming the file, the line and the entry, not a panic.
#[tokio::test]
async fn a_journal_with_a_clock_out_of_range_is_refused_at_start_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let first = ntjp_testbed::server::start(config.clone()).await.unwrap();
    first.shutdown().await;
    let path = config.state_dir.join("journal.jsonl");
    let (mut journal, _) = ntjp_testbed::journal::Journal::open(&path).unwrap();
    let (seq, place) = journal
        .append(
            chrono::Utc::now(),
            &json!({"kind": "clock", "env": "sit", "offset_days": 200_000_000_000_000_i64}),
        )
        .unwrap();
    drop(journal);
    let e = match ntjp_testbed::server::start(config).await {
        Ok(tb) => {
            tb.shutdown().await;
            panic!("the testbed started with an offset of 200000000000000 days");
        }
        Err(e) => e.to_string(),
    };
    assert!(e.contains(&path.display().to_string()), "{e}");
    assert!(e.contains(&format!("line {}", place.line)), "{e}");
    assert!(e.contains(&format!("seq {seq}")), "{e}");
    assert!(e.contains("200000000000000"), "{e}");
}

/// `/health/ready` said UP while SIT could not route. A clock can no longer be moved out of
/// range; should one ever be (here set directly, below the order service), readiness is DOWN
/// and names it, and routing still answers.
#[tokio::test]
async fn readiness_is_down_when_an_environment_cannot_route() {
    let bed = start().await;
    assert_eq!(get(&bed, "/health/ready").await.status.as_u16(), 200);
    let clock = &bed.testbed.platforms().platform(EnvName::Sit).clock;
    clock.set_offset_days(200_000_000_000_000);
    let a = get(&bed, "/health/ready").await;
    assert_eq!(a.status.as_u16(), 503, "{}", a.json);
    assert_eq!(a.json["status"], "DOWN");
    assert_eq!(
        a.json["components"]["clock.sit"]["status"], "DOWN",
        "{}",
        a.json
    );
    assert_eq!(
        a.json["components"]["clock.qa"]["status"], "UP",
        "{}",
        a.json
    );
    assert_eq!(get(&bed, "/status").await.status.as_u16(), 200);
    let answer = bed
        .consumer()
        .post(bed.https_addr("sit"), cervix_request("01"), &[])
        .await
        .unwrap();
    assert!(!answer.body.is_empty());
    clock.reset();
    assert_eq!(get(&bed, "/health/ready").await.status.as_u16(), 200);
    bed.stop().await;
}

/// Sends `body` with `method` over mutual TLS to SIT's router (what `Client::post` does for
/// POST).
async fn send(bed: &Bed, method: &str, body: Vec<u8>) -> Answer {
    use http_body_util::{BodyExt, Full};
    let tls = bed.consumer().connect(bed.https_addr("sit")).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = http::Request::builder()
        .method(method)
        .uri("/vp/clinicalprocess/logistics/cervixscreening/ProcessCervixScreeningInformation/1/rivtabp21")
        .header("host", "localhost")
        .header("content-type", "text/xml; charset=UTF-8")
        .body(Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let resp = tokio::time::timeout(std::time::Duration::from_secs(30), sender.send_request(req))
        .await
        .expect("an answer within 30 s")
        .unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// Any method with a body was routed and forwarded as POST; the real VP reads every request
/// as a SOAP message sent with POST. Now: VP015 naming the method, nothing forwarded.
#[tokio::test]
async fn a_request_with_another_method_than_post_is_vp015_and_not_forwarded() {
    let bed = start().await;
    for (method, body) in [
        ("GET", cervix_request("03")),
        ("PUT", cervix_request("03")),
        ("DELETE", String::new()),
        ("GET", String::new()),
    ] {
        let a = send(&bed, method, body.into_bytes()).await;
        let f = a.vp("VP015");
        assert_eq!(f.faultcode, "SOAP-ENV:Client");
        let detail = f.detail.unwrap_or_default();
        assert!(
            detail.contains(&format!("HTTP method {method} ")),
            "{detail}"
        );
    }
    assert!(bed.testbed.recorder().for_address("03").is_empty());
    assert_ok(&send(&bed, "POST", cervix_request("03").into_bytes()).await);
    bed.stop().await;
}

/// A 10 MiB logical address came back in a 10 MiB fault. Now the echoed address is cut off
/// with a marker that gives its size (the log lines: `tests/log_bounds.rs`).
#[tokio::test]
async fn a_10_mib_logical_address_gives_a_bounded_fault() {
    let bed = start().await;
    let address = "A".repeat(10 * 1024 * 1024);
    let a = bed
        .consumer()
        .post(bed.https_addr("sit"), cervix_request(&address), &[])
        .await
        .unwrap();
    let f = a.vp("VP004");
    assert!(
        a.body.len() < 16 * 1024,
        "a fault of {} bytes",
        a.body.len()
    );
    let detail = f.detail.unwrap_or_default();
    assert!(
        detail.contains(&format!("…[truncated, {} bytes in all]", address.len())),
        "{detail}"
    );
    assert!(detail.starts_with("No receiverId (logical address) found for serviceNamespace: "));
    bed.stop().await;
}

/// A NUL in the logical address was routed as an address (VP004); the real VP's parser
/// refuses a control character (VP015).
#[tokio::test]
async fn a_control_character_in_the_logical_address_is_vp015() {
    let bed = start().await;
    for (address, message) in [
        (
            "0\u{0}1",
            "Illegal character (NULL, unicode 0) encountered: not valid in any content",
        ),
        (
            "\u{0}",
            "Illegal character (NULL, unicode 0) encountered: not valid in any content",
        ),
        ("01\u{1b}", "Illegal character ((CTRL-CHAR, code 27))"),
    ] {
        // Written raw: the request builder would escape the character.
        let request = cervix_request("PLACEHOLDER").replace("PLACEHOLDER", address);
        // Woodstox's place: the control character's row and column, both from 1.
        let control = request.find(['\u{0}', '\u{1b}']).unwrap();
        let before = &request[..control];
        let row = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap().chars().count() + 1;
        let a = bed
            .consumer()
            .post(bed.https_addr("sit"), request.clone(), &[])
            .await
            .unwrap();
        let f = a.vp("VP015");
        assert_eq!(
            f.detail.unwrap_or_default(),
            format!("{message}\n at [row,col {{unknown-source}}]: [{row},{col}]")
        );
    }
    bed.stop().await;
}

/// VP compares its instance id with each hop of `x-rivta-routing-history` case-sensitively
/// (Java `String.equals` after `trim`): `ntjp-test` is not `NTJP-TEST`, so only the exact id
/// is a loop (VP014).
#[tokio::test]
async fn the_routing_history_loop_check_is_case_sensitive_as_in_vp() {
    let bed = start().await;
    let http = bed.http_addr("sit");
    let pem = std::fs::read_to_string(&bed.testbed.endpoints().pki.consumer_cert).unwrap();
    let pem = pem.replace('\n', "");
    let call = |history: &'static str| {
        let pem = pem.clone();
        async move {
            post_plain(
                http,
                cervix_request("07"),
                &[
                    ("x-vp-auth-cert", &pem),
                    ("x-rivta-routing-history", history),
                ],
            )
            .await
            .unwrap()
        }
    };
    call("OTHER-VP# NTJP-TEST ").await.vp("VP014");
    assert_ok(&call("OTHER-VP#ntjp-test").await);
    let rec = bed.testbed.recorder().for_address("07");
    let history = rec[0]
        .headers
        .iter()
        .find(|(k, _)| k == "x-rivta-routing-history")
        .map(|(_, v)| v.as_str());
    assert_eq!(history, Some("OTHER-VP#ntjp-test#NTJP-TEST"));
    bed.stop().await;
}

/// Years 0000 and -0001 were accepted in an order's dates. Now: 400 naming the field and the
/// year, nothing changed.
#[tokio::test]
async fn order_dates_outside_1900_to_9999_are_refused() {
    let bed = start().await;
    let lines = journal_lines(&bed);
    let good = order(
        today(),
        "{}",
        r#"{"vagval": [{"adress": "https://x.example/p", "logiskAdress": "25", "tjanstekontrakt": "urn:x", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "X"}]}"#,
    );
    let day = format!("{}T00:00:00+0000", today().format("%Y-%m-%d"));
    for (year, date) in [
        ("0", "0000-06-01T00:00:00+0000"),
        ("-1", "-0001-06-01T00:00:00+0000"),
    ] {
        let text = good.replace(&day, date);
        let a = client::post(
            &format!("{}/api/sit/orders", admin(&bed)),
            text.into_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(a.status.as_u16(), 400, "{}", a.json);
        let error = a.json["error"].as_str().unwrap_or_default();
        assert!(error.contains("`genomforandeTidpunkt`"), "{error}");
        assert!(
            error.contains(&format!("the year {year} is outside 1900–9999")),
            "{error}"
        );
    }
    assert_eq!(journal_lines(&bed), lines);
    bed.stop().await;
}

/// `"inkludera": []` was accepted and published an empty version. Now an order that leaves
/// nothing to publish (`[]`, `{}`, or only objects TAK already holds) is refused with
/// tak-web's refusal to publish nothing; one that only excludes what does not exist keeps its
/// report but publishes no version; a non-empty array is no section (400, as tak-web's JSON
/// reader).
#[tokio::test]
async fn an_order_that_changes_nothing_is_refused_and_publishes_no_version() {
    let bed = start().await;
    let versions = get(&bed, "/api/sit/versions").await.json.to_string();
    let lines = journal_lines(&bed);
    let url = format!("{}/api/sit/orders", admin(&bed));
    let a = client::post(&url, order(today(), "[[]]", "{}").into_bytes())
        .await
        .unwrap();
    assert_eq!(a.status.as_u16(), 400, "{}", a.json);
    let error = a.json["error"].as_str().unwrap_or_default();
    assert!(error.contains("`inkludera` as an object"), "{error}");
    for inkludera in [
        "[]",
        "{}",
        // A logical address SIT already has.
        r#"{"logiskadresser": [{"hsaId": "01", "beskrivning": "Stockholm"}]}"#,
    ] {
        let a = client::post(&url, order(today(), inkludera, "{}").into_bytes())
            .await
            .unwrap();
        assert_eq!(a.status.as_u16(), 422, "{}", a.json);
        assert_eq!(
            a.json["messages"],
            json!(["Det finns inga ändringar, genomförda av inloggad användare, att publicera"])
        );
    }
    assert_eq!(journal_lines(&bed), lines, "nothing journaled");
    let exclusion = r#"{"vagval": [{"adress": "https://x.example/p", "logiskAdress": "NO-SUCH", "tjanstekontrakt": "urn:x", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "X"}]}"#;
    let a = client::post(&url, order(today(), "{}", exclusion).into_bytes())
        .await
        .unwrap();
    assert_eq!(a.status.as_u16(), 201, "{}", a.json);
    assert!(
        a.json["report_text"]
            .as_str()
            .unwrap_or_default()
            .contains("Existerar ej"),
        "{}",
        a.json
    );
    assert_eq!(a.json["published_version"], Value::Null, "{}", a.json);
    assert_eq!(
        get(&bed, "/api/sit/versions").await.json.to_string(),
        versions
    );
    bed.stop().await;
}

/// A client certificate without extended key usage is accepted, as the real platform's TLS
/// terminators accept it (Java's and Go's verifiers treat a missing EKU as any usage); one
/// whose EKU allows only serverAuth is refused in the handshake. Pinned so a change is a
/// decision.
#[tokio::test]
async fn a_client_certificate_without_eku_is_accepted_and_a_server_only_one_refused() {
    let bed = start().await;
    let pki = bed.testbed.pki();
    let ca = ntjp_testbed::pki::Ca::load(&pki.ca_cert, &pki.ca_key).unwrap();
    let issue = |stem: &str, server_auth: bool| {
        let mut req = ntjp_testbed::pki::CertRequest::function("TSTNMT2321000156-KONS");
        req.client_auth = false;
        req.server_auth = server_auth;
        ca.issue(&req).unwrap().write(bed.dir.path(), stem).unwrap()
    };
    let (cert, key) = issue("no-eku", false);
    let client = Client::new(&bed.ca(), Some((&cert, &key)));
    let a = client
        .post(bed.https_addr("sit"), cervix_request("08"), &[])
        .await
        .unwrap();
    assert_ok(&a);
    let (cert, key) = issue("server-only", true);
    let client = Client::new(&bed.ca(), Some((&cert, &key)));
    let refused = client
        .post(bed.https_addr("sit"), cervix_request("08"), &[])
        .await;
    assert!(refused.is_err(), "{refused:?}");
    bed.stop().await;
}
