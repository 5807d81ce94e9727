//! The publish history over the admin API (issue 9): older versions are held as diffs, and
//! every answer about them (the version list, a version's tables and export, diffs, rollback)
//! stays what it was while they were held whole.

mod common;

use common::*;
use ntjp_testbed::cli::client;
use serde_json::Value;

async fn get(admin: &str, path: &str) -> Value {
    let a = client::get(&format!("{admin}{path}")).await.unwrap();
    assert_eq!(a.status.as_u16(), 200, "{path}: {}", a.json);
    a.json
}

/// The `n`th order of a producer change tried and undone: route 25 ended on day `d`, then
/// ordered again from day `d`, ended on day `d + 1`, ... (published at once).
fn toggle(n: usize) -> String {
    let route = format!(
        r#"{{"vagval": [{{"adress": "{{{{mocks}}}}/25/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "25", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TSTNMT2321000156-MOCK25"}}]}}"#
    );
    let day = today() + chrono::Days::new(n as u64 / 2 + 1);
    if n.is_multiple_of(2) {
        order(day, "{}", &route)
    } else {
        order(day, &route, "{}")
    }
}

#[tokio::test]
async fn old_versions_answer_as_they_did_and_rollback_walks_back_through_them() {
    let bed = start().await;
    let admin = bed.testbed.endpoints().admin.clone();
    let first = get(&admin, "/api/sit/versions").await;
    let mut last = first.as_array().unwrap().last().unwrap()["version"]
        .as_u64()
        .unwrap();
    // Per version, what the API said about it right after its publish (held whole then).
    let mut then = Vec::new();
    for n in 0..7 {
        let a = client::post(&format!("{admin}/api/sit/orders"), toggle(n).into_bytes())
            .await
            .unwrap();
        assert_eq!(a.status.as_u16(), 201, "{}", a.json);
        let v = a.json["published_version"].as_u64().unwrap_or(last + 1);
        let export = get(&admin, &format!("/api/sit/tak/export?version={v}")).await;
        let tables = get(&admin, &format!("/api/sit/tak?version={v}")).await;
        let diff = get(&admin, &format!("/api/sit/versions/{last}/diff/{v}")).await;
        // An exclusion changes the route's end, an inclusion adds a route.
        let routes = if n.is_multiple_of(2) {
            "changed"
        } else {
            "added"
        };
        assert_eq!(
            diff["routes"][routes].as_array().unwrap().len(),
            1,
            "{diff}"
        );
        then.push((last, v, export, tables, diff));
        last = v;
    }
    let versions = get(&admin, "/api/sit/versions").await;
    assert_eq!(versions.as_array().unwrap().len(), 8, "{versions}");

    // Now all but the latest two are diffs: the answers are the same.
    for (before, v, export, tables, diff) in &then {
        assert_eq!(
            &get(&admin, &format!("/api/sit/tak/export?version={v}")).await,
            export,
            "export of {v}"
        );
        assert_eq!(
            &get(&admin, &format!("/api/sit/tak?version={v}")).await,
            tables,
            "tables of {v}"
        );
        assert_eq!(
            &get(&admin, &format!("/api/sit/versions/{before}/diff/{v}")).await,
            diff,
            "diff {before} → {v}"
        );
    }
    // A diff across old versions: the start-up TAK against the fourth order's version.
    let (v0, v4) = (then[0].0, then[3].1);
    let d = get(&admin, &format!("/api/sit/versions/{v0}/diff/{v4}")).await;
    assert_eq!(d["routes"]["added"].as_array().unwrap().len(), 2, "{d}");
    assert_eq!(d["routes"]["changed"].as_array().unwrap().len(), 1, "{d}");

    // Rollback by rollback back to the third: each time the latest is the previous version,
    // answering as it did.
    for (before, v, ..) in then[2..].iter().rev() {
        let a = client::post(
            &format!("{admin}/api/sit/rollback"),
            format!(r#"{{"version": {v}}}"#).into_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(a.status.as_u16(), 200, "{}", a.json);
        assert_eq!(a.json["published"]["version"], *before, "{}", a.json);
        let expected = then.iter().find(|t| t.1 == *before).map(|t| &t.2).unwrap();
        assert_eq!(&get(&admin, "/api/sit/tak/export").await, expected);
    }
    bed.stop().await;
}
