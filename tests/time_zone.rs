//! "Today" is the date in the platform's time zone, `Europe/Stockholm` (issue 12, point 7):
//! validity days and execution days turn at midnight Swedish time — 23:00 UTC in winter,
//! 22:00 UTC in summer — whatever the machine's zone. Each test starts the real testbed with
//! `clock.start_at` just after (or just before) a Swedish midnight that is not a UTC one, and
//! routes through the real router to the real mock producers.
//!
//! The orders: route 04 from the 1st of the month; at 00:15 Swedish time on the day `D` (still
//! `D - 1` in UTC) a route for 03 is added and 04's is ended. So on day `D` in Stockholm 03
//! routes and 04 gives VP004; read in UTC (execution day or today) it would be the other way
//! round.

mod common;

use std::path::Path;

use common::*;
use ntjp_testbed::{cli::client, config::Config};
use serde_json::Value;

const KONS: &str = "TSTNMT2321000156-KONS";
const MOCK: &str = "TSTNMT2321000156-MOCK";

fn route(la: &str) -> String {
    format!(
        r#"{{"adress": "{{{{mocks}}}}/{la}/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "{la}", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "{MOCK}"}}"#
    )
}

fn order(executes_at: &str, include: &str, exclude: &str) -> String {
    format!(
        r#"{{
  "plattform": "NTJP-TEST", "formatVersion": "1.0", "version": "1",
  "bestallningsTidpunkt": "2026-01-01T08:00:00+0000",
  "genomforandeTidpunkt": "{executes_at}",
  "utforare": "test", "kommentar": "tidszon",
  "inkludera": {include}, "exkludera": {exclude}
}}"#
    )
}

/// SIT holds only these two orders: route 04 from `month`-01, and at `switch_at` (an instant
/// 00:15 Swedish time, written in UTC) a route for 03 added and 04's ended.
fn orders(config: &mut Config, dir: &Path, month: &str, switch_at: &str) {
    let base = order(
        &format!("{month}-01T08:00:00+0000"),
        &format!(
            r#"{{"tjanstekontrakt": [{{"namnrymd": "{CONTRACT}", "beskrivning": "c", "majorVersion": 1}}],
  "logiskadresser": [{{"hsaId": "03", "beskrivning": "Region Uppsala"}}, {{"hsaId": "04", "beskrivning": "Region Sörmland"}}],
  "tjanstekomponenter": [{{"hsaId": "{KONS}", "beskrivning": "konsument"}}, {{"hsaId": "{MOCK}", "beskrivning": "producent"}}],
  "vagval": [{}],
  "anropsbehorigheter": [{{"logiskAdress": "03", "tjanstekontrakt": "{CONTRACT}", "tjanstekonsument": "{KONS}"}}, {{"logiskAdress": "04", "tjanstekontrakt": "{CONTRACT}", "tjanstekonsument": "{KONS}"}}]}}"#,
            route("04")
        ),
        "{}",
    );
    let switch = order(
        switch_at,
        &format!(r#"{{"vagval": [{}]}}"#, route("03")),
        &format!(r#"{{"vagval": [{}]}}"#, route("04")),
    );
    let orders = dir.join("orders-sit");
    std::fs::create_dir_all(&orders).unwrap();
    std::fs::write(orders.join("01-base.json"), base).unwrap();
    std::fs::write(orders.join("02-switch.json"), switch).unwrap();
    config.environments.sit.orders_dir = Some(orders);
}

async fn start_at(instant: &str, month: &str, switch_at: &str) -> Bed {
    let instant = instant.to_string();
    let (month, switch_at) = (month.to_string(), switch_at.to_string());
    start_with(move |c, dir| {
        c.clock.start_at = Some(instant);
        orders(c, dir, &month, &switch_at);
    })
    .await
}

async fn get(bed: &Bed, path: &str) -> Value {
    let a = client::get(&format!("{}{path}", bed.testbed.endpoints().admin))
        .await
        .unwrap();
    assert!(a.status.is_success(), "{path}: {}", a.json);
    a.json
}

/// 03 routes and 04 does not (VP004), or, `before`, the other way round.
async fn assert_day(bed: &Bed, switched: bool) {
    let sit = bed.https_addr("sit");
    let client = bed.consumer();
    let (routes, refused) = if switched { ("03", "04") } else { ("04", "03") };
    assert_eq!(
        assert_ok(&client.post(sit, cervix_request(routes), &[]).await.unwrap()),
        routes
    );
    let a = client
        .post(sit, cervix_request(refused), &[])
        .await
        .unwrap();
    a.vp("VP004");
}

/// The route for `la` in SIT's TAK: (from, to).
async fn validity(bed: &Bed, la: &str) -> (String, String) {
    let tak = get(bed, "/api/sit/tak").await;
    let r = tak["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["logical_address"] == la)
        .unwrap_or_else(|| panic!("no route for {la}: {tak}"));
    let v = &r["validity"];
    let day = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    (day("from"), day("to"))
}

/// 23:30 UTC on 2026-03-10 is 00:30 on the 11th in Stockholm (+01:00): the order executing
/// at 23:15 UTC executed on the 11th, its new route routes, the one it ended (on the 10th)
/// does not; the clock says so, with the zone.
#[tokio::test]
async fn after_swedish_midnight_in_winter_it_is_the_next_day() {
    let bed = start_at(
        "2026-03-10T23:30:00Z",
        "2026-03",
        "2026-03-10T23:15:00+0000",
    )
    .await;
    let clock = get(&bed, "/api/sit/clock").await;
    assert_eq!(clock["today"], "2026-03-11", "{clock}");
    assert_eq!(clock["real_today"], "2026-03-11", "{clock}");
    assert_eq!(clock["time_zone"], "Europe/Stockholm", "{clock}");
    let now = clock["real_now"].as_str().unwrap();
    assert!(
        now.starts_with("2026-03-11T00:") && now.ends_with("+01:00"),
        "{clock}"
    );
    assert_eq!(validity(&bed, "03").await.0, "2026-03-11");
    assert_eq!(validity(&bed, "04").await.1, "2026-03-10");
    assert_day(&bed, true).await;
    // A day moved by the API is a Swedish day too.
    let moved = client::post(
        &format!("{}/api/sit/clock", bed.testbed.endpoints().admin),
        br#"{"advance_days": -1}"#.to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(moved.json["today"], "2026-03-10", "{}", moved.json);
    assert_day(&bed, false).await;
    bed.stop().await;
}

/// In summer (+02:00) midnight is 22:00 UTC: 22:30 UTC on 2026-07-14 is the 15th.
#[tokio::test]
async fn after_swedish_midnight_in_summer_it_is_the_next_day() {
    let bed = start_at(
        "2026-07-14T22:30:00Z",
        "2026-07",
        "2026-07-14T22:15:00+0000",
    )
    .await;
    let clock = get(&bed, "/api/sit/clock").await;
    assert_eq!(clock["today"], "2026-07-15", "{clock}");
    let now = clock["real_now"].as_str().unwrap();
    assert!(
        now.starts_with("2026-07-15T00:") && now.ends_with("+02:00"),
        "{clock}"
    );
    assert_eq!(validity(&bed, "03").await.0, "2026-07-15");
    assert_day(&bed, true).await;
    bed.stop().await;
}

/// Started three seconds before Swedish midnight (22:59:57 UTC), the testbed is on the 10th;
/// the running clock then passes midnight and the router follows without a restart.
#[tokio::test]
async fn the_router_turns_the_day_at_swedish_midnight_while_running() {
    let bed = start_at(
        "2026-03-10T22:59:57Z",
        "2026-03",
        "2026-03-10T23:15:00+0000",
    )
    .await;
    let clock = get(&bed, "/api/sit/clock").await;
    // Start-up takes well under an hour, however loaded the machine; a start that took
    // longer than three seconds has already passed midnight.
    let today = clock["today"].as_str().unwrap().to_string();
    if today == "2026-03-10" {
        // The day before: 04 still routes, 03 (from the 11th in Swedish time, though its
        // order's UTC day is the 10th) does not.
        let sit = bed.https_addr("sit");
        let a = bed
            .consumer()
            .post(sit, cervix_request("03"), &[])
            .await
            .unwrap();
        if a.status == http::StatusCode::OK {
            // Midnight passed between the two readings.
            assert_eq!(get(&bed, "/api/sit/clock").await["today"], "2026-03-11");
        } else {
            a.vp("VP004");
        }
    } else {
        assert_eq!(today, "2026-03-11", "{clock}");
    }
    let sit = bed.https_addr("sit");
    let client = bed.consumer();
    wait_for("03 routes after midnight", || {
        let client = client.clone();
        async move {
            client
                .post(sit, cervix_request("03"), &[])
                .await
                .is_ok_and(|a| a.status == http::StatusCode::OK)
        }
    })
    .await;
    assert_eq!(get(&bed, "/api/sit/clock").await["today"], "2026-03-11");
    assert_day(&bed, true).await;
    bed.stop().await;
}

/// An unknown zone stops start-up with a message naming the value.
#[test]
fn an_unknown_time_zone_is_a_configuration_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ntjp.toml");
    std::fs::write(&file, "[clock]\ntime_zone = \"Europe/Stokholm\"\n").unwrap();
    let e = Config::from_file(&file)
        .and_then(|c| c.validate().map(|()| c))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("clock.time_zone") && e.contains("Europe/Stokholm"),
        "{e}"
    );
}
