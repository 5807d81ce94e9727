//! The order service under concurrent changes, through the real admin HTTP API of a real
//! testbed: a rule and the change it guards are decided together, so concurrency cannot get
//! two changes past a rule that admits one.
//! - 20 consumer forms for one system at once: exactly one accepted, 19 refused with the
//!   form's one-order-per-system message, one consumer order recorded.
//! - 20 publishes at once with one change pending: exactly one version, 19 refused with
//!   tak-web's "nothing to publish".
//! - 20 clients each ordering a change and publishing it, at once: the versions are
//!   consecutive, none skipped or repeated, and every accepted change is in the final TAK.
//! - 20 rollbacks of the latest version at once: exactly one rolled back, 19 refused with
//!   tak-web's "only the latest version".
//!
//! Nothing here measures time; the assertions are on outcomes.

mod common;

use common::*;
use ntjp_testbed::cli::client;
use serde_json::{Value, json};

const RACERS: usize = 20;

fn admin(bed: &Bed) -> String {
    bed.testbed.endpoints().admin.clone()
}

/// POSTs every body to `url` at once (each on its own task) and returns the answers as
/// (status, JSON), in the order of `bodies`.
async fn post_all(url: &str, bodies: Vec<String>) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let url = url.to_string();
            tokio::spawn(async move { client::post(&url, body.into_bytes()).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        let a = t.await.unwrap().unwrap();
        answers.push((a.status.as_u16(), a.json));
    }
    answers
}

async fn post_ok(url: &str, body: String) -> Value {
    let a = client::post(url, body.into_bytes()).await.unwrap();
    assert!(a.status.is_success(), "POST {url}: {} {}", a.status, a.json);
    a.json
}

async fn get_ok(url: &str) -> Value {
    let a = client::get(url).await.unwrap();
    assert_eq!(a.status.as_u16(), 200, "GET {url}: {}", a.json);
    a.json
}

/// The published version numbers of SIT, oldest first.
async fn versions(admin: &str) -> Vec<u64> {
    get_ok(&format!("{admin}/api/sit/versions"))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect()
}

/// The logical addresses SIT's version `to` added to version `from`.
async fn added_addresses(admin: &str, from: u64, to: u64) -> Vec<Value> {
    let diff = get_ok(&format!("{admin}/api/sit/versions/{from}/diff/{to}")).await;
    diff["logical_addresses"]["added"]
        .as_array()
        .unwrap_or_else(|| panic!("{diff}"))
        .clone()
}

fn assert_consecutive(versions: &[u64]) {
    for pair in versions.windows(2) {
        assert_eq!(
            pair[1],
            pair[0] + 1,
            "versions not consecutive: {versions:?}"
        );
    }
}

/// An order adding one logical address, executing today.
fn address_order(hsa_id: &str) -> String {
    order(
        today(),
        &json!({"logiskadresser": [{"hsaId": hsa_id, "beskrivning": "Kapplöpning"}]}).to_string(),
        "{}",
    )
}

/// Turns SIT's automatic publishing off, so orders stay pending until published.
async fn auto_publish_off(admin: &str) {
    post_ok(
        &format!("{admin}/api/sit/settings"),
        json!({"auto_publish": false}).to_string(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_20_concurrent_consumer_forms_for_one_system_exactly_one_is_accepted() {
    let bed = start().await;
    let admin = admin(&bed);
    post_ok(
        &format!("{admin}/api/systems"),
        json!({
            "organisation": "Region Testland", "system_name": "Kallelsesystemet",
            "hsa_id": "SE2321000016-RACE",
            "main_contact": {"name": "Anna Andersson", "email": "anna@example.se"},
            "technical_contact": {"name": "Bo Berg", "email": "bo@example.se"},
            "environment": "sit",
        })
        .to_string(),
    )
    .await;
    post_ok(
        &format!("{admin}/api/prestudies"),
        json!({"case_number": "FS-2026-777", "organisation": "Region Testland", "approved_for": ["sit"]}).to_string(),
    )
    .await;
    let form = json!({
        "environment": "sit", "execution_date": today(), "consumer_hsa_id": "SE2321000016-RACE",
        "contract": CONTRACT, "logical_addresses": [], "prestudy_case": "FS-2026-777",
        "region_name": null, "ordered_by": "ordering_concurrency",
    });

    let answers = post_all(
        &format!("{admin}/api/sit/orders/consumer"),
        vec![form.to_string(); RACERS],
    )
    .await;

    let accepted = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(accepted, 1, "{answers:#?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 201) {
        assert_eq!(*status, 422, "{body}");
        let message = body["error"].as_str().unwrap();
        assert!(
            message.starts_with(
                "consumer_hsa_id: SE2321000016-RACE already has a consumer order in sit"
            ) && message.contains(
                "Beställningsstödet takes one order per system, connection type and environment"
            ),
            "{message}"
        );
    }
    let orders = get_ok(&format!("{admin}/api/sit/orders")).await;
    let from_forms = orders
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["source"]["type"] == "consumer_form")
        .count();
    assert_eq!(from_forms, 1, "{orders:#}");
    bed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_20_concurrent_publishes_of_one_pending_change_exactly_one_makes_a_version() {
    let bed = start().await;
    let admin = admin(&bed);
    auto_publish_off(&admin).await;
    let before = versions(&admin).await;
    let latest = *before.last().unwrap();
    post_ok(
        &format!("{admin}/api/sit/orders"),
        address_order("RACE-ONE"),
    )
    .await;

    let bodies = (0..RACERS)
        .map(|i| json!({"executor": "racer", "comment": format!("publish {i}")}).to_string())
        .collect();
    let answers = post_all(&format!("{admin}/api/sit/publish"), bodies).await;

    let published: Vec<u64> = answers
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b["version"].as_u64().unwrap())
        .collect();
    assert_eq!(published, [latest + 1], "{answers:#?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(
            body["error"],
            "Det finns inga ändringar, genomförda av inloggad användare, att publicera"
        );
    }
    let after = versions(&admin).await;
    assert_eq!(after.last(), Some(&(latest + 1)), "{after:?}");
    assert_consecutive(&after);
    bed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_20_concurrent_order_and_publish_pairs_the_versions_are_consecutive_and_nothing_is_lost()
{
    let bed = start().await;
    let admin = admin(&bed);
    auto_publish_off(&admin).await;
    let latest = *versions(&admin).await.last().unwrap();

    // Each racer orders its own logical address, unpublished, then publishes.
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let admin = admin.clone();
            tokio::spawn(async move {
                let o = client::post(
                    &format!("{admin}/api/sit/orders?publish=false"),
                    address_order(&format!("RACE-{i}")).into_bytes(),
                )
                .await
                .unwrap();
                assert_eq!(o.status.as_u16(), 201, "{}", o.json);
                let p = client::post(
                    &format!("{admin}/api/sit/publish"),
                    json!({"executor": "racer", "comment": format!("racer {i}")})
                        .to_string()
                        .into_bytes(),
                )
                .await
                .unwrap();
                (p.status.as_u16(), p.json)
            })
        })
        .collect();
    let mut published = Vec::new();
    for r in racers {
        let (status, body) = r.await.unwrap();
        match status {
            200 => published.push(body["version"].as_u64().unwrap()),
            // Another racer's publish took this racer's change along.
            409 => assert_eq!(
                body["error"],
                "Det finns inga ändringar, genomförda av inloggad användare, att publicera"
            ),
            _ => panic!("publish answered {status}: {body}"),
        }
    }

    // Every publish that answered made its own version: no number repeated or skipped.
    published.sort_unstable();
    let expected: Vec<u64> = (latest + 1..=latest + published.len() as u64).collect();
    assert_eq!(published, expected);
    let after = versions(&admin).await;
    assert_eq!(after.last(), expected.last(), "{after:?}");
    assert_consecutive(&after);
    // No version is empty: each of the new ones adds at least one racer's address.
    for v in expected {
        let added = added_addresses(&admin, v - 1, v).await;
        assert!(!added.is_empty(), "version {v} is empty");
    }
    // Every accepted change is in the TAK the router serves, and nothing is left pending.
    let tak = get_ok(&format!("{admin}/api/sit/tak")).await;
    let addresses: Vec<&str> = tak["logical_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["hsa_id"].as_str().unwrap())
        .collect();
    for i in 0..RACERS {
        let a = format!("RACE-{i}");
        assert!(
            addresses.contains(&a.as_str()),
            "{a} missing from {addresses:?}"
        );
    }
    let orders = get_ok(&format!("{admin}/api/sit/orders")).await;
    for o in orders.as_array().unwrap() {
        assert!(o["published_version"].is_u64(), "unpublished: {o}");
    }
    let pending = get_ok(&format!("{admin}/api/sit/tak/pending")).await;
    assert_eq!(pending["logical_addresses"], json!([]), "{pending:#}");
    bed.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_20_concurrent_rollbacks_of_the_latest_version_exactly_one_rolls_back() {
    let bed = start().await;
    let admin = admin(&bed);
    auto_publish_off(&admin).await;
    for i in 0..2 {
        post_ok(
            &format!("{admin}/api/sit/orders?publish=true"),
            address_order(&format!("ROLLBACK-{i}")),
        )
        .await;
    }
    let before = versions(&admin).await;
    let latest = *before.last().unwrap();

    let answers = post_all(
        &format!("{admin}/api/sit/rollback"),
        vec![json!({"version": latest}).to_string(); RACERS],
    )
    .await;

    let rolled_back = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(rolled_back, 1, "{answers:#?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(
            body["error"],
            "Rollback får endast göras på senaste version."
        );
    }
    let after = versions(&admin).await;
    assert_eq!(after, before[..before.len() - 1], "{after:?}");
    let tak = get_ok(&format!("{admin}/api/sit/tak")).await;
    assert_eq!(
        tak["version"]["version"],
        json!(latest - 1),
        "{}",
        tak["version"]
    );
    bed.stop().await;
}
