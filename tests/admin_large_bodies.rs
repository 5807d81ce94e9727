//! The admin API parses a large JSON body (up to its 15 MiB) on the blocking pool rather
//! than on an async worker (issue 9, point 1): the answers are the same as for a small one.

mod common;

use common::*;
use ntjp_testbed::cli::client;
use serde_json::json;

#[tokio::test]
async fn large_json_bodies_are_parsed_and_judged_like_small_ones() {
    let bed = start().await;
    let admin = bed.testbed.endpoints().admin.clone();
    let system = |name: String| {
        serde_json::to_vec(&json!({
            "organisation": "Region Testland", "system_name": name, "hsa_id": "SE2321000016-1234",
            "main_contact": {"name": "Anna Andersson", "email": "anna@example.se"},
            "technical_contact": {"name": "Bo Berg", "email": "bo@example.se"},
            "environment": "sit",
        }))
        .unwrap()
    };
    // About 1 MiB, past the size parsed on the async worker.
    let long_name = "K".repeat(1024 * 1024);
    let a = client::post(&format!("{admin}/api/systems"), system(long_name.clone()))
        .await
        .unwrap();
    assert_eq!(a.status.as_u16(), 201, "{}", a.json);
    let listed = client::get(&format!("{admin}/api/systems")).await.unwrap();
    assert_eq!(listed.status.as_u16(), 200);
    assert!(listed.json.to_string().contains(&long_name));

    // A large body that is not JSON gets the same 400 as a small one.
    let mut broken = system("x".repeat(1024 * 1024));
    broken.truncate(broken.len() - 1);
    let a = client::post(&format!("{admin}/api/systems"), broken)
        .await
        .unwrap();
    assert_eq!(a.status.as_u16(), 400, "{}", a.json);
    assert!(
        a.json["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid system information: EOF while parsing"),
        "{}",
        a.json
    );
    bed.stop().await;
}
