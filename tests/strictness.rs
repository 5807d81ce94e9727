//! Input strictness (issue 9): values from input that once panicked, were echoed unbounded or
//! were accepted where the real platform refuses them. Each test reproduces the original
//! failure through the real testbed.

mod common;

use common::*;
use ntjp_testbed::{cli::client, config::EnvName};
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
