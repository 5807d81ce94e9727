//! JSON exports of a published version: [`export`] in the real `TAK-published-version` format
//! (the PubVersion blob that tak-core's `Util.fromPublishedVersionToJSON` writes and
//! `PublishedVersionCache` reads), and [`tables`], a readable listing for `ntjp tak show` and the
//! admin API.
//!
//! The real format, reproduced here: top-level `formatVersion` ("1"), `version` (a string),
//! `tidpunkt`, `utforare`, `kommentar`, `data`; `data` holds the lowercase singular arrays
//! `rivtaprofil`, `tjanstekontrakt`, `logiskadress`, `tjanstekomponent`, `anropsadress`,
//! `anropsbehorighet`, `vagval`, `filter`, `filtercategorization`, with references as row ids in
//! `relationships` — including the real inconsistency `logiskAdress` (anropsbehorighet) versus
//! `logiskadress` (vagval). `pubversion` is the string id of the version a row was last published
//! in. Times use Java's `yyyy-MM-dd'T'HH:mm:ssZ` (`2009-03-10T00:00:00+0100`) in Swedish local
//! time, as the real TAK (running in Sweden) writes them; validity days are local midnight.
//!
//! Deviations: key order within objects is alphabetical (our `serde_json` keeps no insertion
//! order; JSON readers do not care); `filter` and `filtercategorization` are always empty (we
//! have no filters). Rows whose references cannot be resolved are left out, as a real reader would
//! refuse them ("Missing relationship in jsonfile"). Pure functions; no IO.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::model::{Catalogue, Day, Row};
use super::snapshot::Snapshot;
use super::view::CatalogueViews;

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let last = first_of_next.pred_opt()?;
    let back = i64::from(last.weekday().num_days_from_sunday());
    last.checked_sub_signed(Duration::days(back))
}

/// Europe/Stockholm's offset in hours at the UTC instant `at`: CEST (+2) from the last Sunday
/// of March 01:00 UTC to the last Sunday of October 01:00 UTC, else CET (+1). The EU rule of
/// 1996, applied to every year (no tz database in a pure core).
fn stockholm_offset_at(at: DateTime<Utc>) -> i64 {
    let year = at.year();
    let one = NaiveTime::from_hms_opt(1, 0, 0).unwrap_or_default();
    match (last_sunday(year, 3), last_sunday(year, 10)) {
        (Some(start), Some(end)) => {
            let naive = at.naive_utc();
            if NaiveDateTime::new(start, one) <= naive && naive < NaiveDateTime::new(end, one) {
                2
            } else {
                1
            }
        }
        _ => 1,
    }
}

/// Europe/Stockholm's offset in hours at local midnight of `day` (midnight is never inside a
/// switch, which happens at 02:00/03:00 local time).
fn stockholm_offset_on(day: Day) -> i64 {
    match (last_sunday(day.year(), 3), last_sunday(day.year(), 10)) {
        (Some(start), Some(end)) if start < day && day <= end => 2,
        _ => 1,
    }
}

/// `tidpunkt`: the publish instant in Swedish local time, `yyyy-MM-dd'T'HH:mm:ssZ`.
pub fn format_instant(at: DateTime<Utc>) -> String {
    let hours = stockholm_offset_at(at);
    let local = at.naive_utc() + Duration::hours(hours);
    format!("{}+0{hours}00", local.format("%Y-%m-%dT%H:%M:%S"))
}

/// `fromTidpunkt` / `tomTidpunkt`: local midnight of `day`, `yyyy-MM-dd'T'HH:mm:ssZ`.
pub fn format_day(day: Day) -> String {
    format!(
        "{}T00:00:00+0{}00",
        day.format("%Y-%m-%d"),
        stockholm_offset_on(day)
    )
}

/// `pubversion`: the string id of the version the row was last published in, or null.
fn pubversion<T>(row: &Row<T>) -> Value {
    row.published_in
        .map_or(Value::Null, |v| Value::String(v.to_string()))
}

/// Whether the references of a call address resolve within `cat`.
fn call_address_ok(cat: &Catalogue, producer: u64, profile: u64) -> bool {
    cat.components.get(producer).is_some() && cat.profiles.get(profile).is_some()
}

/// The snapshot in the real `TAK-published-version` JSON format (tak.md §1.5).
pub fn export(s: &Snapshot) -> Value {
    let cat = s.catalogue();
    let rivtaprofil: Vec<Value> = cat
        .profiles
        .rows()
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "namn": r.name,
                "beskrivning": r.description,
                "pubversion": pubversion(r),
            })
        })
        .collect();
    let tjanstekontrakt: Vec<Value> = cat
        .contracts
        .rows()
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "namnrymd": r.namespace,
                "beskrivning": r.description,
                "majorVersion": r.major_version,
                "minorVersion": r.minor_version,
                "pubversion": pubversion(r),
            })
        })
        .collect();
    let logiskadress: Vec<Value> = cat
        .logical_addresses
        .rows()
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "hsaId": r.hsa_id,
                "beskrivning": r.description,
                "pubversion": pubversion(r),
            })
        })
        .collect();
    let tjanstekomponent: Vec<Value> = cat
        .components
        .rows()
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "hsaId": r.hsa_id,
                "beskrivning": r.description,
                "pubversion": pubversion(r),
            })
        })
        .collect();
    let anropsadress: Vec<Value> = cat
        .call_addresses
        .rows()
        .iter()
        .filter(|r| call_address_ok(cat, r.producer, r.profile))
        .map(|r| {
            json!({
                "id": r.id,
                "adress": r.url,
                "pubversion": pubversion(r),
                "relationships": {
                    "rivtaprofil": r.profile,
                    "tjanstekomponent": r.producer,
                },
            })
        })
        .collect();
    let anropsbehorighet: Vec<Value> = cat
        .authorisations
        .rows()
        .iter()
        .filter(|r| {
            cat.logical_addresses.get(r.logical_address).is_some()
                && cat.components.get(r.consumer).is_some()
                && cat.contracts.get(r.contract).is_some()
        })
        .map(|r| {
            json!({
                "id": r.id,
                "integrationsavtal": r.integration_agreement,
                "fromTidpunkt": format_day(r.validity.from),
                "tomTidpunkt": format_day(r.validity.to),
                "pubversion": pubversion(r),
                "relationships": {
                    "logiskAdress": r.logical_address,
                    "tjanstekomponent": r.consumer,
                    "tjanstekontrakt": r.contract,
                },
            })
        })
        .collect();
    let vagval: Vec<Value> = cat
        .routes
        .rows()
        .iter()
        .filter(|r| {
            cat.call_addresses
                .get(r.call_address)
                .is_some_and(|c| call_address_ok(cat, c.producer, c.profile))
                && cat.logical_addresses.get(r.logical_address).is_some()
                && cat.contracts.get(r.contract).is_some()
        })
        .map(|r| {
            json!({
                "id": r.id,
                "fromTidpunkt": format_day(r.validity.from),
                "tomTidpunkt": format_day(r.validity.to),
                "pubversion": pubversion(r),
                "relationships": {
                    "anropsadress": r.call_address,
                    "logiskadress": r.logical_address,
                    "tjanstekontrakt": r.contract,
                },
            })
        })
        .collect();
    json!({
        "formatVersion": "1",
        "version": s.version().to_string(),
        "tidpunkt": format_instant(s.published_at()),
        "utforare": s.executor(),
        "kommentar": s.comment(),
        "data": {
            "rivtaprofil": rivtaprofil,
            "tjanstekontrakt": tjanstekontrakt,
            "logiskadress": logiskadress,
            "tjanstekomponent": tjanstekomponent,
            "anropsadress": anropsadress,
            "anropsbehorighet": anropsbehorighet,
            "vagval": vagval,
            "filter": [],
            "filtercategorization": [],
        },
    })
}

fn to_value<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// A readable listing of the snapshot: its metadata and counts, then routes, authorisations,
/// components, contracts, logical addresses, call addresses and RIVTA profiles, each resolved to
/// natural keys with validity as `{"from": "2025-01-01", "to": "2125-01-01"}` (inclusive days).
/// Our own format (not a real TAK one), for `ntjp tak show` and the admin API.
pub fn tables(s: &Snapshot) -> Value {
    let v = CatalogueViews::of(s.catalogue());
    json!({
        "version": s.version(),
        "platform": s.platform(),
        "published_at": s.published_at().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "executor": s.executor(),
        "comment": s.comment(),
        "counts": to_value(&s.counts()),
        "routes": to_value(&v.routes),
        "authorisations": to_value(&v.authorisations),
        "components": to_value(&v.components),
        "contracts": to_value(&v.contracts),
        "logical_addresses": to_value(&v.logical_addresses),
        "call_addresses": to_value(&v.call_addresses),
        "rivta_profiles": to_value(&v.rivta_profiles),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tak::testutil::{self, at, day};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn days_are_swedish_local_midnight() {
        assert_eq!(format_day(day("2009-03-10")), "2009-03-10T00:00:00+0100");
        assert_eq!(format_day(day("2025-07-01")), "2025-07-01T00:00:00+0200");
        // 2025: summer time from Sunday 30 March to Sunday 26 October.
        assert_eq!(format_day(day("2025-03-30")), "2025-03-30T00:00:00+0100");
        assert_eq!(format_day(day("2025-03-31")), "2025-03-31T00:00:00+0200");
        assert_eq!(format_day(day("2025-10-26")), "2025-10-26T00:00:00+0200");
        assert_eq!(format_day(day("2025-10-27")), "2025-10-27T00:00:00+0100");
        assert_eq!(format_day(day("2125-01-01")), "2125-01-01T00:00:00+0100");
    }

    #[test]
    fn instants_are_swedish_local_time_with_offset() {
        assert_eq!(format_instant(at(0)), "2025-01-15T11:00:00+0100");
        assert_eq!(
            format_instant(utc("2025-03-30T00:59:59Z")),
            "2025-03-30T01:59:59+0100"
        );
        assert_eq!(
            format_instant(utc("2025-03-30T01:00:00Z")),
            "2025-03-30T03:00:00+0200"
        );
        assert_eq!(
            format_instant(utc("2025-10-26T00:59:59Z")),
            "2025-10-26T02:59:59+0200"
        );
        assert_eq!(
            format_instant(utc("2025-10-26T01:00:00Z")),
            "2025-10-26T02:00:00+0100"
        );
        assert_eq!(
            format_instant(utc("2025-12-31T23:30:00Z")),
            "2026-01-01T00:30:00+0100"
        );
    }

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn export_has_the_real_published_version_shape() {
        let (mut s, ids) = testutil::store();
        let snap = s.publish("Anna Admin", "Första versionen", at(0));
        let e = export(&snap);
        assert_eq!(
            keys(&e),
            [
                "data",
                "formatVersion",
                "kommentar",
                "tidpunkt",
                "utforare",
                "version"
            ]
        );
        assert_eq!(e["formatVersion"], "1");
        assert_eq!(e["version"], "1");
        assert_eq!(e["tidpunkt"], "2025-01-15T11:00:00+0100");
        assert_eq!(e["utforare"], "Anna Admin");
        assert_eq!(e["kommentar"], "Första versionen");
        let data = &e["data"];
        assert_eq!(
            keys(data),
            [
                "anropsadress",
                "anropsbehorighet",
                "filter",
                "filtercategorization",
                "logiskadress",
                "rivtaprofil",
                "tjanstekomponent",
                "tjanstekontrakt",
                "vagval",
            ]
        );
        assert_eq!(data["filter"], json!([]));
        assert_eq!(data["filtercategorization"], json!([]));

        let profiles = data["rivtaprofil"].as_array().unwrap();
        assert_eq!(profiles.len(), 2);
        assert_eq!(
            keys(&profiles[1]),
            ["beskrivning", "id", "namn", "pubversion"]
        );
        assert_eq!(profiles[1]["namn"], "RIVTABP21");
        assert_eq!(
            profiles[1]["pubversion"], "0",
            "seeded rows count as published"
        );

        let contract = &data["tjanstekontrakt"][0];
        assert_eq!(
            keys(contract),
            [
                "beskrivning",
                "id",
                "majorVersion",
                "minorVersion",
                "namnrymd",
                "pubversion"
            ]
        );
        assert_eq!(contract["namnrymd"], testutil::NS);
        assert_eq!(contract["majorVersion"], 1);
        assert_eq!(contract["minorVersion"], 0);
        assert_eq!(contract["pubversion"], "1");

        let la = &data["logiskadress"][0];
        assert_eq!(keys(la), ["beskrivning", "hsaId", "id", "pubversion"]);
        assert_eq!(la["hsaId"], "01");
        assert_eq!(la["id"], ids.la_01);
        assert_eq!(data["tjanstekomponent"][1]["hsaId"], "KONS");

        let aa = &data["anropsadress"][0];
        assert_eq!(keys(aa), ["adress", "id", "pubversion", "relationships"]);
        assert_eq!(aa["adress"], testutil::URL);
        assert_eq!(
            aa["relationships"],
            json!({"rivtaprofil": 2, "tjanstekomponent": 1})
        );

        let ab = &data["anropsbehorighet"][0];
        assert_eq!(
            keys(ab),
            [
                "fromTidpunkt",
                "id",
                "integrationsavtal",
                "pubversion",
                "relationships",
                "tomTidpunkt"
            ]
        );
        assert_eq!(ab["id"], ids.auth_01);
        assert_eq!(ab["integrationsavtal"], "AUTOTAKNING");
        assert_eq!(ab["fromTidpunkt"], "2025-01-01T00:00:00+0100");
        assert_eq!(ab["tomTidpunkt"], "2125-01-01T00:00:00+0100");
        // The real inconsistency: `logiskAdress` here, `logiskadress` in vagval.
        assert_eq!(
            ab["relationships"],
            json!({"logiskAdress": ids.la_01, "tjanstekomponent": ids.consumer, "tjanstekontrakt": 1})
        );

        let vv = data["vagval"].as_array().unwrap();
        assert_eq!(vv.len(), 2);
        assert_eq!(
            keys(&vv[1]),
            [
                "fromTidpunkt",
                "id",
                "pubversion",
                "relationships",
                "tomTidpunkt"
            ]
        );
        assert_eq!(vv[1]["id"], ids.route_se);
        assert_eq!(vv[1]["fromTidpunkt"], "2025-07-01T00:00:00+0200");
        assert_eq!(vv[1]["tomTidpunkt"], "2025-12-31T00:00:00+0100");
        assert_eq!(
            vv[1]["relationships"],
            json!({"anropsadress": ids.call, "logiskadress": ids.la_se, "tjanstekontrakt": 1})
        );
        // Every relationship points at an exported row, as PublishedVersionCache requires.
        let has = |table: &str, id: &Value| {
            data[table]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| &r["id"] == id)
        };
        for r in vv {
            assert!(has("anropsadress", &r["relationships"]["anropsadress"]));
            assert!(has("logiskadress", &r["relationships"]["logiskadress"]));
            assert!(has(
                "tjanstekontrakt",
                &r["relationships"]["tjanstekontrakt"]
            ));
        }
    }

    #[test]
    fn tables_list_everything_readably() {
        let (mut s, ids) = testutil::store();
        let snap = s.publish("admin", "ett", at(0));
        let t = tables(&snap);
        assert_eq!(t["version"], 1);
        assert_eq!(t["platform"], "NTJP-TEST");
        assert_eq!(t["published_at"], "2025-01-15T10:00:00Z");
        assert_eq!(t["counts"], json!({"routes": 2, "authorisations": 2}));
        assert_eq!(
            t["routes"][0],
            json!({
                "id": ids.route_01,
                "logical_address": "01",
                "contract": testutil::NS,
                "producer": "P1",
                "profile": "RIVTABP21",
                "url": testutil::URL,
                "validity": {"from": "2025-01-01", "to": "2125-01-01"},
            })
        );
        assert_eq!(
            t["authorisations"][1],
            json!({
                "id": ids.auth_se,
                "consumer": "KONS",
                "contract": testutil::NS,
                "logical_address": "SE",
                "validity": {"from": "2024-01-01", "to": "2024-12-31"},
                "integration_agreement": "AUTOTAKNING",
            })
        );
        assert_eq!(t["components"].as_array().unwrap().len(), 2);
        assert_eq!(t["contracts"][0]["namespace"], testutil::NS);
        assert_eq!(t["logical_addresses"][1]["hsa_id"], "SE");
        assert_eq!(t["call_addresses"][0]["url"], testutil::URL);
        assert_eq!(t["rivta_profiles"].as_array().unwrap().len(), 2);
    }
}
