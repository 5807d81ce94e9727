//! The mock producers through the router, over real mutual TLS: behaviour on demand (admin
//! API, config file, personnummer triggers) as the consumer sees it, and the recordings API.

mod common;

use std::time::{Duration, Instant};

use common::*;
use http::StatusCode;
use ntjp_testbed::{
    cli::client,
    config::mocks::{AnswerKind, Behaviour},
    contract::{self, ResultCode},
    soap::Profile,
};
use serde_json::{Value, json};

fn admin_url(bed: &Bed, path: &str) -> String {
    format!("{}{path}", bed.testbed.endpoints().admin)
}

async fn put_behaviour(bed: &Bed, address: &str, b: Value) -> client::Answer {
    client::put(
        &admin_url(bed, &format!("/api/mocks/{address}/behaviour")),
        serde_json::to_vec(&b).unwrap(),
    )
    .await
    .unwrap()
}

async fn get_json(bed: &Bed, path: &str) -> Value {
    let a = client::get(&admin_url(bed, path)).await.unwrap();
    assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.json);
    a.json
}

fn request_for(address: &str, personnummer: &str) -> String {
    contract::request(address, Profile::Bp21, personnummer, "12")
}

/// Sends `body` through the SIT router; returns the answer and how long it took.
async fn call(bed: &Bed, body: String) -> (Answer, Duration) {
    let started = Instant::now();
    let a = bed
        .consumer()
        .post(bed.https_addr("sit"), body, &[])
        .await
        .unwrap();
    (a, started.elapsed())
}

fn result(a: &Answer) -> (ResultCode, Option<String>) {
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    contract::parse_response(a.body.as_bytes())
        .unwrap_or_else(|| panic!("not a contract response: {}", a.body))
}

fn vp009_detail(a: &Answer) -> String {
    let f = a.vp("VP009");
    assert!(f.faultcode.ends_with(":Server"), "{f:?}");
    f.detail.unwrap_or_default()
}

#[tokio::test]
async fn every_behaviour_set_through_the_admin_api_is_what_the_consumer_sees() {
    let bed = start_with(|c, _| c.router.producer_timeout_ms = 1_500).await;
    let pnr = "199001012384";

    // Default: OK.
    let (a, _) = call(&bed, request_for("14", pnr)).await;
    assert_eq!(result(&a), (ResultCode::Ok, None));

    // INFO and ERROR with the given text.
    let r = put_behaviour(
        &bed,
        "14",
        json!({"answer": "info", "text": "Kvinnan är redan kallad."}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["behaviour"]["answer"], "info");
    let (a, _) = call(&bed, request_for("14", pnr)).await;
    assert_eq!(
        result(&a),
        (ResultCode::Info, Some("Kvinnan är redan kallad.".into()))
    );
    put_behaviour(
        &bed,
        "14",
        json!({"answer": "error", "text": "Mottagande system är stängt."}),
    )
    .await;
    let (a, _) = call(&bed, request_for("14", pnr)).await;
    assert_eq!(
        result(&a),
        (
            ResultCode::Error,
            Some("Mottagande system är stängt.".into())
        )
    );

    // The producer's own SOAP Fault passes through the platform unchanged.
    put_behaviour(
        &bed,
        "14",
        json!({"answer": "fault", "text": "Databasen svarar inte"}),
    )
    .await;
    let (a, _) = call(&bed, request_for("14", pnr)).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    let f = a.fault();
    assert_eq!(f.faultcode, "soap:Server");
    assert_eq!(f.faultstring, "Databasen svarar inte");

    // HTTP 500 without a SOAP body: VP009.
    put_behaviour(&bed, "14", json!({"answer": "http500"})).await;
    let (a, _) = call(&bed, request_for("14", pnr)).await;
    let detail = vp009_detail(&a);
    assert!(detail.contains("500"), "{detail}");

    // A delay: the answer comes, no sooner than asked.
    put_behaviour(&bed, "14", json!({"answer": "ok", "delay_ms": 700})).await;
    let (a, took) = call(&bed, request_for("14", pnr)).await;
    assert_eq!(result(&a).0, ResultCode::Ok);
    assert!(
        took >= Duration::from_millis(700),
        "answered after {took:?}"
    );

    // No answer: the router gives up after its producer timeout, VP009 (and does not wait
    // for the mock, which would hold the request far longer).
    put_behaviour(&bed, "14", json!({"answer": "no-answer"})).await;
    let (a, took) = tokio::time::timeout(PATIENCE, call(&bed, request_for("14", pnr)))
        .await
        .expect("the router never gave up on a producer that does not answer");
    let detail = vp009_detail(&a);
    assert!(took >= Duration::from_millis(1_500), "VP009 after {took:?}");
    assert!(detail.contains("Timeout when waiting"), "{detail}");
    // Once the platform gives up, the mock lets go of the request too.
    wait_for("the mock still holds the abandoned request", || async {
        bed.testbed.mocks().holding() == 0
    })
    .await;

    // Connection reset: redelivered once as VP redelivers a SocketException, then VP009 for
    // the reset and not by the producer timeout.
    put_behaviour(&bed, "14", json!({"answer": "reset"})).await;
    let (a, _) = call(&bed, request_for("14", pnr)).await;
    let detail = vp009_detail(&a);
    assert!(
        detail.ends_with("(java.net.SocketException: Connection reset)"),
        "{detail}"
    );

    // Back to the default; other mocks were never affected.
    let d = client::delete(&admin_url(&bed, "/api/mocks/14/behaviour"))
        .await
        .unwrap();
    assert_eq!(d.json["behaviour"]["answer"], "ok");
    assert_eq!(
        result(&call(&bed, request_for("14", pnr)).await.0).0,
        ResultCode::Ok
    );

    // Each message was recorded with the answer given.
    let rec = bed.testbed.recorder().for_address("14");
    let codes: Vec<&str> = rec.iter().map(|r| r.result_code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "OK",
            "INFO",
            "ERROR",
            "FAULT",
            "HTTP-500",
            "OK",
            "NO-ANSWER",
            "RESET",
            "RESET",
            "OK"
        ]
    );
    assert!(rec.iter().all(|r| r.personnummer.as_deref() == Some(pnr)));
    bed.stop().await;
}

#[tokio::test]
async fn bad_behaviours_are_refused_with_the_reason() {
    let bed = start().await;
    let r = put_behaviour(&bed, "14", json!({"answer": "explode"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json["error"].as_str().unwrap().contains("explode"),
        "{}",
        r.json
    );
    let r = put_behaviour(&bed, "14", json!({"answer": "reset", "text": "x"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.json["error"].as_str().unwrap().contains("text"),
        "{}",
        r.json
    );
    let r = put_behaviour(&bed, "14", json!({"delay_ms": 99_999_999})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        get_json(&bed, "/api/mocks/14/behaviour").await["behaviour"]["answer"],
        "ok"
    );
    bed.stop().await;
}

#[tokio::test]
async fn behaviours_come_from_the_config_file_too() {
    let bed = start_with(|c, _| {
        c.mock_producers.behaviours.insert(
            "03".into(),
            Behaviour {
                answer: AnswerKind::Error,
                text: Some("Region Uppsala tar inte emot i dag.".into()),
                delay_ms: 0,
            },
        );
    })
    .await;
    let (a, _) = call(&bed, request_for("03", "199001012384")).await;
    assert_eq!(
        result(&a),
        (
            ResultCode::Error,
            Some("Region Uppsala tar inte emot i dag.".into())
        )
    );
    let (a, _) = call(&bed, request_for("04", "199001012384")).await;
    assert_eq!(result(&a).0, ResultCode::Ok);
    let list = get_json(&bed, "/api/mocks").await;
    let row = list["mocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["address"] == "03")
        .unwrap()
        .clone();
    assert_eq!(row["behaviour"]["answer"], "error");
    assert_eq!(row["received"], 1);
    bed.stop().await;
}

#[tokio::test]
async fn personnummer_triggers_need_no_api_call() {
    let bed = start_with(|c, _| c.router.producer_timeout_ms = 3_000).await;
    let triggers = get_json(&bed, "/api/mocks/triggers").await;
    assert_eq!(triggers["triggers"].as_array().unwrap().len(), 8);

    let (a, _) = call(&bed, request_for("LOAD-MOCKS", "190001010001")).await;
    assert_eq!(result(&a).0, ResultCode::Info);
    let (a, _) = call(&bed, request_for("14", "190001010002")).await;
    let (code, text) = result(&a);
    assert_eq!(code, ResultCode::Error);
    assert!(text.unwrap().contains("logiskt fel"));
    let (a, _) = call(&bed, request_for("14", "190001010003")).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!a.fault().faultstring.starts_with("VP"), "{}", a.body);
    let (a, _) = call(&bed, request_for("14", "190001010004")).await;
    vp009_detail(&a);
    let (a, took) = call(&bed, request_for("14", "190001010005")).await;
    assert_eq!(result(&a).0, ResultCode::Ok);
    assert!(took >= Duration::from_secs(2), "{took:?}");
    let (a, took) = call(&bed, request_for("14", "190001010006")).await;
    vp009_detail(&a);
    assert!(took >= Duration::from_millis(3_000), "{took:?}");
    let (a, _) = call(&bed, request_for("14", "190001010007")).await;
    vp009_detail(&a);
    // A trigger wins over the mock's behaviour; other women get the behaviour.
    put_behaviour(&bed, "14", json!({"answer": "info", "text": "x"})).await;
    assert_eq!(
        result(&call(&bed, request_for("14", "190001010002")).await.0).0,
        ResultCode::Error
    );
    assert_eq!(
        result(&call(&bed, request_for("14", "199001012384")).await.0).0,
        ResultCode::Info
    );
    let sources: Vec<String> = bed
        .testbed
        .recorder()
        .for_address("14")
        .iter()
        .map(|r| r.answer_source.clone())
        .collect();
    assert_eq!(sources.last().map(String::as_str), Some("behaviour"));
    assert_eq!(
        sources.first().map(String::as_str),
        Some("trigger:190001010002")
    );
    bed.stop().await;
}

#[tokio::test]
async fn the_load_mocks_delay_woman_is_answered_after_five_seconds() {
    let bed = start_with(|c, _| c.router.producer_timeout_ms = 29_000).await;
    let (a, took) = call(&bed, request_for("LOAD-MOCKS", "189012139805")).await;
    assert_eq!(result(&a).0, ResultCode::Ok);
    assert!(took >= Duration::from_secs(5), "{took:?}");
    bed.stop().await;
}

#[tokio::test]
async fn recordings_are_queried_by_address_and_filters_and_cleared() {
    let bed = start_with(|c, _| c.router.propagate_correlation_id_for_https = true).await;
    let sit = bed.https_addr("sit");
    let consumer = bed.consumer();
    let before = chrono::Utc::now();
    for (pnr, corr) in [("197609202387", "corr-a"), ("191212121212", "corr-b")] {
        let a = consumer
            .post(
                sit,
                request_for("14", pnr),
                &[("x-skltp-correlation-id", corr)],
            )
            .await
            .unwrap();
        assert_eq!(result(&a).0, ResultCode::Ok);
    }
    consumer
        .post(sit, request_for("12", "197609202387"), &[])
        .await
        .unwrap();
    // An invalid one (personnummer of 10 digits) is recorded with its verdict.
    consumer
        .post(sit, request_for("14", "7609202387"), &[])
        .await
        .unwrap();

    let all14 = get_json(&bed, "/api/mocks/14/messages").await;
    assert_eq!(all14["count"], 3);
    let woman = get_json(&bed, "/api/mocks/14/messages?personnummer=197609202387").await;
    assert_eq!(woman["count"], 1, "{woman}");
    let m = &woman["messages"][0];
    assert_eq!(m["mock_address"], "14");
    assert_eq!(m["correlation_id"], "corr-a");
    assert_eq!(m["consumer_hsa_id"], "TSTNMT2321000156-KONS");
    assert_eq!(m["environment"], "sit");
    assert_eq!(m["verdict"], "valid");
    assert_eq!(m["scenario"], "no-information");
    assert_eq!(m["result_code"], "OK");
    assert!(m["body"].as_str().unwrap().contains("197609202387"));
    assert!(
        m["response_body"]
            .as_str()
            .unwrap()
            .contains("<resultCode>OK</resultCode>")
    );
    let by_corr = get_json(&bed, "/api/mocks/14/messages?correlation_id=corr-b").await;
    assert_eq!(by_corr["messages"][0]["personnummer"], "191212121212");
    let invalid = get_json(&bed, "/api/mocks/14/messages?verdict=invalid").await;
    assert_eq!(invalid["count"], 1);
    assert!(
        invalid["messages"][0]["violations"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("personId/extension"),
        "{invalid}"
    );
    // Across every mock, and since a time.
    let everywhere = get_json(&bed, "/api/mocks/messages?personnummer=197609202387").await;
    assert_eq!(everywhere["count"], 2);
    let since =
        (before - chrono::Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(
        get_json(&bed, &format!("/api/mocks/messages?since={since}")).await["count"],
        4
    );
    let future = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(
        get_json(&bed, &format!("/api/mocks/messages?since={future}")).await["count"],
        0
    );
    let bad = client::get(&admin_url(&bed, "/api/mocks/14/messages?pnr=1"))
        .await
        .unwrap();
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json["error"].as_str().unwrap().contains("pnr"));

    // Clearing one address leaves the others.
    let c = client::delete(&admin_url(&bed, "/api/mocks/14/messages"))
        .await
        .unwrap();
    assert_eq!(c.json["cleared"], 3);
    assert_eq!(get_json(&bed, "/api/mocks/14/messages").await["count"], 0);
    assert_eq!(get_json(&bed, "/api/mocks/12/messages").await["count"], 1);
    let c = client::delete(&admin_url(&bed, "/api/mocks/messages"))
        .await
        .unwrap();
    assert_eq!(c.json["cleared"], 1);
    assert_eq!(bed.testbed.recorder().total(), 0);
    bed.stop().await;
}

#[tokio::test]
async fn every_mock_answers_ping_for_configuration() {
    let bed = start().await;
    let pki = bed.testbed.pki();
    let (_, sit) = pki
        .platform_clients
        .iter()
        .find(|(e, _)| *e == ntjp_testbed::vocab::EnvName::Sit)
        .unwrap();
    let client = Client::new(&pki.ca_cert, Some((&sit.cert, &sit.key)));
    let mocks = addr_of(&bed.testbed.endpoints().mocks);
    for address in ["01", "25", "LOAD-MOCKS", "NTJP-MOCKS"] {
        let tls = client.connect(mocks).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = http::Request::post(format!(
            "/mocks/{address}/ProcessCervixScreeningInformation/1/rivtabp21"
        ))
        .header("host", "localhost")
        .header("content-type", "text/xml; charset=UTF-8")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            contract::ping_request(address),
        )))
        .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert!(
            contract::parse_ping_response(&body).is_some(),
            "{address}: {}",
            String::from_utf8_lossy(&body)
        );
        assert!(String::from_utf8_lossy(&body).contains(&format!("<value>{address}</value>")));
        let rec = bed.testbed.recorder().for_address(address);
        assert_eq!(rec.len(), 1);
        assert_eq!(rec[0].verdict, ntjp_testbed::verify::Verdict::Ping);
        assert_eq!(rec[0].environment.as_deref(), Some("sit"));
    }
    bed.stop().await;
}

#[tokio::test]
async fn recordings_are_bounded_in_bytes_across_mocks_oldest_dropped_first() {
    let budget = 1024 * 1024;
    let bed = start_with(|c, _| c.mock_producers.max_recording_bytes = budget).await;
    // Seven messages of about 300 KiB, alternating between two mocks: at most three fit.
    let padding = format!("<!-- {} -->", "x".repeat(300 * 1024));
    let mut sent = Vec::new();
    for i in 0..7 {
        let address = if i % 2 == 0 { "01" } else { "03" };
        let body = request_for(address, "199001012384") + &padding;
        let (a, _) = call(&bed, body).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        sent.push(address);
    }
    let list = get_json(&bed, "/api/mocks").await;
    assert!(
        list["recorded_bytes"].as_u64().unwrap() <= budget as u64,
        "{}",
        list["recorded_bytes"]
    );
    let count = |address: &str, key: &str| {
        list["mocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["address"] == address)
            .unwrap()[key]
            .as_u64()
            .unwrap()
    };
    let (kept_01, kept_03) = (count("01", "received"), count("03", "received"));
    let (dropped_01, dropped_03) = (count("01", "dropped"), count("03", "dropped"));
    assert_eq!(kept_01 + dropped_01, 4);
    assert_eq!(kept_03 + dropped_03, 3);
    assert!((1..=3).contains(&(kept_01 + kept_03)), "{list}");
    // The kept ones are the newest: every dropped message arrived before every kept one.
    let kept = get_json(&bed, "/api/mocks/messages").await;
    let kept_seqs: Vec<u64> = kept["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    let newest: Vec<u64> = (8 - kept_seqs.len() as u64..=7).collect();
    assert_eq!(kept_seqs, newest);
    bed.stop().await;
}
