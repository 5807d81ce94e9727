//! A TAK of real size through the real testbed: a 100,000-route order (with as many
//! authorisations and logical addresses) accepted by the admin API, a real mutual-TLS call
//! routed by one of its routes to a mock producer, then the testbed restarted on the same state
//! directory and its journal replayed to the same TAK (the same versions, counts and nothing
//! pending; `tak::export`'s own round-trip test covers the rows). Behaviour only; speed is in
//! `benches/catalogue.rs` and `examples/tak_scale.rs`.

mod common;

use std::time::Duration;

use ntjp_testbed::{cli::client, orders::bulk::BulkOrder, server};

const ROWS: usize = 100_000;

fn bulk(executes_at: &str) -> BulkOrder<'_> {
    BulkOrder {
        platform: "NTJP-TEST",
        rows: ROWS,
        first: 1,
        contract: common::CONTRACT,
        producer: "TSTNMT2321000156-BULK",
        // The token keeps the journaled order valid when a restart moves the mocks' port.
        url: "{{mocks}}/LOAD-MOCKS/ProcessCervixScreeningInformation/1/rivtabp21",
        consumer: ntjp_testbed::pki::UNAUTHORISED_CONSUMER_HSA_ID,
        executes_at,
    }
}

/// The published versions (id, time, executor, comment, row counts) and what is pending.
async fn tak(admin: &str) -> (serde_json::Value, serde_json::Value) {
    let versions = client::get(&format!("{admin}/api/sit/versions"))
        .await
        .unwrap()
        .json;
    let pending = client::get(&format!("{admin}/api/sit/tak/pending"))
        .await
        .unwrap()
        .json;
    (versions, pending)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100000_route_order_is_accepted_routed_and_replayed_to_the_same_tak() {
    let dir = tempfile::tempdir().unwrap();
    let config = common::test_config(dir.path());
    let testbed = server::start(config.clone()).await.unwrap();
    let bed = common::Bed { testbed, dir };
    let admin = bed.testbed.endpoints().admin.clone();
    let executes_at = format!("{}T00:00:00+0000", common::today().format("%Y-%m-%d"));
    let order = bulk(&executes_at);
    let address = order.address(ROWS / 2);

    // Before: the consumer the order authorises is refused.
    let before = bed
        .unauthorised()
        .post(bed.https_addr("sit"), common::cervix_request(&address), &[])
        .await
        .unwrap();
    assert!(before.status.is_server_error(), "{}", before.body);
    let routes_before = latest_counts(&admin).await["routes"].as_u64().unwrap();

    // The order through the real admin API, published at once.
    let answer = client::post(
        &format!("{admin}/api/sit/orders?publish=true&format=text"),
        order.json().into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 201, "{:?}", answer.json);
    let report = answer.json.as_str().unwrap_or_default();
    // Per row a logical address, an authorisation and a route; the producer and consumer
    // components are new too (SIT already has the contract).
    assert_eq!(report.matches("Nyskapad: ").count(), 3 * ROWS + 2);
    // A real mutual-TLS call by one of its routes reaches the mock producer.
    let routed = bed
        .unauthorised()
        .post(bed.https_addr("sit"), common::cervix_request(&address), &[])
        .await
        .unwrap();
    assert_eq!(routed.status, 200, "{}", routed.body);
    assert!(
        routed
            .body
            .contains("ProcessCervixScreeningInformationResponse"),
        "{}",
        routed.body
    );

    let counts = latest_counts(&admin).await;
    assert_eq!(counts["routes"].as_u64(), Some(routes_before + ROWS as u64));
    assert!(counts["authorisations"].as_u64().unwrap() >= ROWS as u64);
    let (versions, pending) = tak(&admin).await;
    // Restart on the same state directory: the journal is replayed to the same TAK.
    let common::Bed { testbed, dir } = bed;
    testbed.shutdown().await;
    let testbed = tokio::time::timeout(Duration::from_secs(120), server::start(config))
        .await
        .expect("the restart replays within two minutes")
        .unwrap();
    let bed = common::Bed { testbed, dir };
    let admin = bed.testbed.endpoints().admin.clone();
    let (versions_again, pending_again) = tak(&admin).await;
    assert_eq!(versions_again, versions);
    assert_eq!(pending_again, pending);
    assert_eq!(
        latest_counts(&admin).await["routes"].as_u64(),
        Some(routes_before + ROWS as u64)
    );
    let routed = bed
        .unauthorised()
        .post(
            bed.https_addr("sit"),
            common::cervix_request(&order.address(ROWS - 1)),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(routed.status, 200, "{}", routed.body);
    bed.stop().await;
}

/// The row counts of the latest published version.
async fn latest_counts(admin: &str) -> serde_json::Value {
    let versions = client::get(&format!("{admin}/api/sit/versions"))
        .await
        .unwrap()
        .json;
    versions
        .as_array()
        .and_then(|v| v.last())
        .map(|v| v["counts"].clone())
        .unwrap_or_default()
}

#[test]
fn the_readme_tak_export_config_is_read() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("```toml\n[environments.qa]").unwrap() + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ntjp.toml");
    std::fs::write(&file, &readme[start..end]).unwrap();
    let config = ntjp_testbed::config::Config::from_file(&file).unwrap();
    assert_eq!(
        config.environments.qa.tak_export.as_deref(),
        Some(std::path::Path::new("tak-qa.json"))
    );
    assert!(config.to_toml().contains("tak_export = \"tak-qa.json\""));
    assert_eq!(config.max_order_bytes, 512 * 1024 * 1024);
}
