//! Query values of the admin API are form-decoded (`+` a space, `%XX` escapes), through the
//! real admin listener, with a real consumer's messages recorded by the real mocks.

mod common;

use common::*;
use http::StatusCode;
use ntjp_testbed::{cli::client, contract, soap::Profile};

fn admin_url(bed: &Bed, path: &str) -> String {
    format!("{}{path}", bed.testbed.endpoints().admin)
}

async fn count(bed: &Bed, path: &str) -> u64 {
    let a = client::get(&admin_url(bed, path)).await.unwrap();
    assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.json);
    a.json["count"].as_u64().unwrap()
}

#[tokio::test]
async fn a_filter_value_with_plus_and_escapes_is_decoded() {
    let bed = start_with(|c, _| c.router.propagate_correlation_id_for_https = true).await;
    let request = contract::request("14", Profile::Bp21, "197609202387", "12");
    let a = bed
        .consumer()
        .post(
            bed.https_addr("sit"),
            request,
            &[("x-skltp-correlation-id", "a+b c d")],
        )
        .await
        .unwrap();
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    // `%2B` is a plus, `%20` and `+` are spaces.
    let m = "/api/mocks/14/messages?correlation_id=";
    assert_eq!(count(&bed, &format!("{m}a%2Bb%20c+d")).await, 1);
    // The same through the CLI's encoder.
    assert_eq!(
        count(&bed, &format!("{m}{}", client::encode("a+b c d"))).await,
        1
    );
    // An unescaped `+` is a space, so "a b c d" is asked for and nothing matches.
    assert_eq!(count(&bed, &format!("{m}a+b%20c+d")).await, 0);
    // A malformed escape is refused, naming the value.
    let bad = client::get(&admin_url(&bed, &format!("{m}a%2")))
        .await
        .unwrap();
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.json["error"].as_str().unwrap().contains("a%2"),
        "{}",
        bad.json
    );

    // The order API's query values are decoded too: `%31` is version 1.
    let plain = client::get(&admin_url(&bed, "/api/sit/tak?version=1"))
        .await
        .unwrap();
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.json);
    let escaped = client::get(&admin_url(&bed, "/api/sit/tak?version=%31"))
        .await
        .unwrap();
    assert_eq!(escaped.status, StatusCode::OK, "{}", escaped.json);
    assert_eq!(escaped.json, plain.json);
    bed.stop().await;
}
