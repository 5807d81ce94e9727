//! The mock producers under hostile messages (issue 9, point 1 and the recordings' bound),
//! through the router over real mutual TLS: a message of many attributes neither stalls the
//! process nor is judged in quadratic time, messages past the attribute and depth limits get
//! a SOAP Fault naming the limit, and a message full of violations is recorded with the
//! first ones and a count of the rest.

mod common;

use std::time::Duration;

use common::*;
use http::StatusCode;
use ntjp_testbed::{
    cli::client,
    contract::{self, ResultCode},
    soap::Profile,
};
use serde_json::Value;

/// Generous: what must answer "at once" gets this long before the test calls it stalled.
const DEADLINE: Duration = Duration::from_secs(20);

fn admin_url(bed: &Bed, path: &str) -> String {
    format!("{}{path}", bed.testbed.endpoints().admin)
}

async fn get_json(bed: &Bed, path: &str) -> Value {
    let a = client::get(&admin_url(bed, path)).await.unwrap();
    assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.json);
    a.json
}

/// A valid request to `address` whose `cervixScreeningInformation` carries `attributes`
/// and whose `sendingRegion` is followed by `extra` (elements in the core namespace, `urn1`).
fn request_with(address: &str, attributes: &str, extra: &str) -> String {
    contract::request(address, Profile::Bp21, "199001012384", "01")
        .replacen(
            "<urn:cervixScreeningInformation>",
            &format!("<urn:cervixScreeningInformation{attributes}>"),
            1,
        )
        .replacen(
            "</urn1:sendingRegion>",
            &format!("</urn1:sendingRegion>{extra}"),
            1,
        )
}

fn attributes(n: usize) -> String {
    (0..n).map(|i| format!(" a{i}=\"v\"")).collect()
}

/// The one recording of the mock for `address`.
async fn recording(bed: &Bed, address: &str) -> Value {
    let list = get_json(bed, &format!("/api/mocks/{address}/messages")).await;
    assert_eq!(list["count"], 1, "{list}");
    list["messages"][0].clone()
}

/// Issue 9, point 1: two requests of 15,000 attributes on one element at once made
/// `/health/live` take 30 s (the mocks' duplicate-attribute check was quadratic and ran on
/// the async workers) and the router's producer timeout could not fire. Here the limit on
/// attributes is raised so that both are read and judged whole; while they are sent,
/// `/health/live` and a normal routed call both answer, and the two get their ERROR answer.
#[tokio::test]
async fn two_messages_of_15000_attributes_stall_neither_health_nor_routing() {
    let bed = start_with(|c, _| c.mock_producers.max_attributes_per_element = 100_000).await;
    let heavy = request_with("03", &attributes(15_000), "");
    assert!(heavy.len() > 150_000);
    let client = bed.consumer();
    let addr = bed.https_addr("sit");
    let sends: Vec<_> = (0..2)
        .map(|_| {
            let (client, body) = (client.clone(), heavy.clone());
            tokio::spawn(async move { client.post(addr, body, &[]).await })
        })
        .collect();

    let live = tokio::time::timeout(DEADLINE, client::get(&admin_url(&bed, "/health/live")))
        .await
        .expect("/health/live did not answer while the large messages were judged")
        .unwrap();
    assert_eq!(live.status, StatusCode::OK);
    let normal = tokio::time::timeout(DEADLINE, client.post(addr, cervix_request("01"), &[]))
        .await
        .expect("a normal routed call did not answer while the large messages were judged")
        .unwrap();
    assert_eq!(assert_ok(&normal), "01");

    for send in sends {
        let a = tokio::time::timeout(DEADLINE, send)
            .await
            .expect("a large message was not answered")
            .unwrap()
            .unwrap();
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let (code, text) = contract::parse_response(a.body.as_bytes()).unwrap();
        assert_eq!(code, ResultCode::Error);
        let text = text.unwrap_or_default();
        assert!(
            text.starts_with("15000 violation(s)")
                && text.contains("\ncervixScreeningInformation: attribute a0 is not allowed")
                && text.ends_with("\n... and 14000 more violation(s), not listed"),
            "{}",
            &text[..300.min(text.len())]
        );
    }
    bed.stop().await;
}

/// Judging runs off the async workers, a bounded number at once: with one judging thread
/// and three large messages (about 2.4 MB of stray elements each, a second or so of checking
/// in a debug build), the admin API is seen answering while one message is being judged
/// and another waits its turn, and `/health/live` answers then too. (This test runs on a
/// current-thread runtime: judging on it would leave nothing to answer until it ended, so
/// `judging` would never be seen above 0.)
#[tokio::test]
async fn large_messages_are_judged_off_the_async_workers_and_queue_for_their_turn() {
    let bed = start_with(|c, _| c.mock_producers.validation_threads = 1).await;
    let heavy = request_with("10", "", &"<urn1:junk/>".repeat(200_000));
    let client = bed.consumer();
    let addr = bed.https_addr("sit");
    let sends: Vec<_> = (0..3)
        .map(|_| {
            let (client, body) = (client.clone(), heavy.clone());
            tokio::spawn(async move { client.post(addr, body, &[]).await })
        })
        .collect();

    let seen = tokio::time::timeout(DEADLINE, async {
        loop {
            let m = get_json(&bed, "/api/mocks").await;
            if m["judging"] == 1 && m["waiting_to_be_judged"].as_u64() >= Some(1) {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("never saw a message being judged while another waited");
    assert_eq!(seen["judging"], 1, "{seen}");
    let live = tokio::time::timeout(DEADLINE, client::get(&admin_url(&bed, "/health/live")))
        .await
        .expect("/health/live did not answer")
        .unwrap();
    assert_eq!(live.status, StatusCode::OK);

    for send in sends {
        let a = tokio::time::timeout(DEADLINE, send)
            .await
            .expect("a large message was not answered")
            .unwrap()
            .unwrap();
        let (code, text) = contract::parse_response(a.body.as_bytes()).unwrap();
        assert_eq!(code, ResultCode::Error);
        assert!(text.unwrap_or_default().starts_with("200000 violation(s)"));
    }
    let m = get_json(&bed, "/api/mocks").await;
    assert_eq!(
        (&m["judging"], &m["waiting_to_be_judged"]),
        (&0.into(), &0.into())
    );
    bed.stop().await;
}

/// Past the limits (256 attributes on one element, 256 levels of elements by default) the
/// mock answers a SOAP Fault naming the limit, its setting and the element, which the
/// router passes to the consumer; the recording says the same.
#[tokio::test]
async fn messages_past_the_attribute_or_depth_limit_get_a_fault_naming_it() {
    let bed = start().await;
    let client = bed.consumer();
    let addr = bed.https_addr("sit");

    let a = client
        .post(addr, request_with("03", &attributes(300), ""), &[])
        .await
        .unwrap();
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
    let f = a.fault();
    assert!(f.faultcode.ends_with("Client"), "{f:?}");
    assert!(
        f.faultstring.starts_with(
            "The message exceeds a limit of the mock producers: \
             `<urn:cervixScreeningInformation>` has more than 256 attributes"
        ) && f.faultstring.ends_with(
            "(mock_producers.max_attributes_per_element); at [row,col]: [1,434] (byte 433)"
        ),
        "{f:?}"
    );
    let r = recording(&bed, "03").await;
    assert_eq!(r["verdict"], "technical");
    assert_eq!(r["technical_error"].as_str(), Some(f.faultstring.as_str()));

    // 300 levels inside an extension element (which the schema lets through unread).
    let deep = format!(
        "<x:ext xmlns:x=\"urn:x\">{}{}</x:ext>",
        "<x:a>".repeat(300),
        "</x:a>".repeat(300)
    );
    let a = client
        .post(addr, request_with("05", "", &deep), &[])
        .await
        .unwrap();
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
    let f = a.fault();
    assert!(
        f.faultstring.starts_with(
            "The message exceeds a limit of the mock producers: `<x:a>` is nested 257 \
             elements deep; the mock producers accept at most 256 levels \
             (mock_producers.max_element_depth); at [row,col]: [1,"
        ),
        "{f:?}"
    );
    // Within the limits the same shapes are judged as usual.
    let a = client
        .post(addr, request_with("07", &attributes(200), ""), &[])
        .await
        .unwrap();
    let (code, _) = contract::parse_response(a.body.as_bytes()).unwrap();
    assert_eq!(code, ResultCode::Error);
    bed.stop().await;
}

/// A message full of schema errors was recorded with every violation (176,757 for 15 MB of
/// padding, 48 MB of recording). Now the first 1,000 are kept and the rest counted, in the
/// recording's JSON and in the ERROR answer's count.
#[tokio::test]
async fn a_recording_keeps_the_first_violations_and_counts_the_rest() {
    let bed = start().await;
    let junk = "<urn1:junk/>".repeat(1_500);
    let a = bed
        .consumer()
        .post(bed.https_addr("sit"), request_with("09", "", &junk), &[])
        .await
        .unwrap();
    let (code, text) = contract::parse_response(a.body.as_bytes()).unwrap();
    assert_eq!(code, ResultCode::Error);
    assert!(
        text.unwrap_or_default().starts_with("1500 violation(s)"),
        "{}",
        a.body
    );
    let r = recording(&bed, "09").await;
    assert_eq!(r["verdict"], "invalid");
    assert_eq!(r["violations"].as_array().unwrap().len(), 1_000);
    assert_eq!(r["violations_omitted"], 500);
    assert_eq!(
        r["violations"][0]["path"],
        "cervixScreeningInformation/junk"
    );
    bed.stop().await;
}
