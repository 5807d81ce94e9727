//! The HSA tree (`router.hsa_files`, VP's `hsa.files`): route and authorisation lookups climb
//! from a care unit to its care giver and region, over real mutual TLS to the real router and
//! mock producers; `/resethsacache` reloads the files with VP's answer texts; `/status` shows
//! the reset as VP does.

mod common;

use std::path::{Path, PathBuf};

use common::{
    Bed, CONTRACT, Client, assert_ok, cervix_request, order, sit_orders_with, start_with,
};
use ntjp_testbed::pki::UNAUTHORISED_CONSUMER_HSA_ID;

/// The sample tree: region REG1 → care giver VG01 → care unit VE01.
const UNIT: &str = "SE2321000016-VE01";
const GIVER: &str = "SE2321000016-VG01";
const REGION: &str = "SE2321000016-REG1";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hsa/hsacache.xml")
}

/// An order adding routes (logical address → the mock producer of `mock`) and authorisations
/// (consumer, logical address).
fn orders(routes: &[(&str, &str)], auths: &[(&str, &str)]) -> String {
    let mut addresses: Vec<&str> = routes
        .iter()
        .map(|r| r.0)
        .chain(auths.iter().map(|a| a.1))
        .collect();
    addresses.sort();
    addresses.dedup();
    let la: Vec<String> = addresses
        .iter()
        .map(|a| format!(r#"{{"hsaId": "{a}", "beskrivning": "Testadress {a}"}}"#))
        .collect();
    let vagval: Vec<String> = routes
        .iter()
        .map(|(la, mock)| {
            format!(
                r#"{{"adress": "{{{{mocks}}}}/{mock}/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "{la}", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TEST-HSA-PRODUCER"}}"#
            )
        })
        .collect();
    let behorigheter: Vec<String> = auths
        .iter()
        .map(|(consumer, la)| {
            format!(
                r#"{{"logiskAdress": "{la}", "tjanstekontrakt": "{CONTRACT}", "tjanstekonsument": "{consumer}"}}"#
            )
        })
        .collect();
    order(
        chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
        &format!(
            r#"{{"logiskadresser": [{}],
                "tjanstekomponenter": [{{"hsaId": "TEST-HSA-PRODUCER", "beskrivning": "Testproducent"}},
                                       {{"hsaId": "{UNAUTHORISED_CONSUMER_HSA_ID}", "beskrivning": "Testkonsument"}}],
                "vagval": [{}], "anropsbehorigheter": [{}]}}"#,
            la.join(","),
            vagval.join(","),
            behorigheter.join(",")
        ),
        "{}",
    )
}

/// A testbed on `files` with `routes` and `auths` added to SIT's orders.
async fn bed(
    files: Vec<PathBuf>,
    routes: &[(&str, &str)],
    auths: &[(&str, &str)],
    customise: impl FnOnce(&mut ntjp_testbed::config::Config),
) -> Bed {
    let o = orders(routes, auths);
    start_with(move |c, dir| {
        c.router.hsa_files = files;
        customise(c);
        sit_orders_with(c, dir, &[("90-hsa.json", o)]);
    })
    .await
}

/// The consumer with no authorisation but those the test orders give it.
fn other_consumer(bed: &Bed) -> Client {
    bed.unauthorised()
}

/// A raw HTTP/1.1 exchange with the admin listener; the whole answer as text.
async fn admin(bed: &Bed, method: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = common::addr_of(&bed.testbed.endpoints().admin);
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

fn body_of(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

#[tokio::test]
async fn an_authorisation_on_the_region_reaches_the_unit() {
    let bed = bed(
        vec![fixture()],
        &[(UNIT, UNIT), ("SE2321000016-VE99", "SE2321000016-VE99")],
        &[(UNAUTHORISED_CONSUMER_HSA_ID, REGION)],
        |_| {},
    )
    .await;
    let consumer = other_consumer(&bed);
    let a = consumer
        .post(bed.https_addr("sit"), cervix_request(UNIT), &[])
        .await
        .unwrap();
    assert_eq!(assert_ok(&a), UNIT);
    assert_eq!(bed.testbed.recorder().for_address(UNIT).len(), 1);

    // A unit outside the tree climbs to SE only: not authorised.
    let a = consumer
        .post(
            bed.https_addr("sit"),
            cervix_request("SE2321000016-VE99"),
            &[],
        )
        .await
        .unwrap();
    let f = a.vp("VP007");
    assert_eq!(f.faultcode, "SOAP-ENV:Server");
    assert_eq!(
        f.faultstring,
        "VP007 [NTJP-TEST] Tjänstekonsumenten saknar behörighet att anropa den logiska adressaten via detta tjänstekontrakt. Kontrollera uppgifterna och vid behov, tillse att det beställs konfiguration i aktuell tjänsteplattform."
    );
    assert_eq!(
        f.detail.as_deref(),
        Some(
            format!(
                "Authorization missing for serviceNamespace: {CONTRACT}, receiverId: SE2321000016-VE99, senderId: {UNAUTHORISED_CONSUMER_HSA_ID}"
            )
            .as_str()
        )
    );
    bed.stop().await;
}

#[tokio::test]
async fn excepted_namespaces_switch_the_authorisation_climb_off() {
    let bed = bed(
        vec![fixture()],
        &[(UNIT, UNIT)],
        &[(UNAUTHORISED_CONSUMER_HSA_ID, REGION)],
        |c| {
            c.router.hsa_lookup.behorighet.excepted_namespaces =
                vec!["urn:riv:clinicalprocess:logistics:".into()];
        },
    )
    .await;
    let a = other_consumer(&bed)
        .post(bed.https_addr("sit"), cervix_request(UNIT), &[])
        .await
        .unwrap();
    let f = a.vp("VP007");
    assert_eq!(
        f.detail.as_deref(),
        Some(
            format!(
                "Authorization missing for serviceNamespace: {CONTRACT}, receiverId: {UNIT}, senderId: {UNAUTHORISED_CONSUMER_HSA_ID}"
            )
            .as_str()
        )
    );
    assert!(bed.testbed.recorder().for_address(UNIT).is_empty());
    bed.stop().await;
}

#[tokio::test]
async fn a_route_on_the_care_giver_reaches_the_unit_unless_the_climb_is_off() {
    // The care giver's route leads to the unit's mock (the mock checks the message is for it).
    let bed = bed(vec![fixture()], &[(GIVER, UNIT)], &[], |_| {}).await;
    let a = bed
        .consumer()
        .post(bed.https_addr("sit"), cervix_request(UNIT), &[])
        .await
        .unwrap();
    assert_eq!(assert_ok(&a), UNIT);
    bed.stop().await;

    let bed = bed_without_route_climb().await;
    let a = bed
        .consumer()
        .post(bed.https_addr("sit"), cervix_request(UNIT), &[])
        .await
        .unwrap();
    let f = a.vp("VP004");
    assert_eq!(f.faultcode, "SOAP-ENV:Client");
    assert_eq!(
        f.faultstring,
        "VP004 [NTJP-TEST] Det finns inget vägval i tjänsteadresseringskatalogen som matchar anropets logiska adressat (ReceiverId) och tjänstekontrakt. Kontrollera uppgifterna i anropet och vid behov, beställ konfigurering i aktuell tjänsteplattform."
    );
    assert_eq!(
        f.detail.as_deref(),
        Some(
            format!(
                "No receiverId (logical address) found for serviceNamespace: {CONTRACT}, receiverId: {UNIT}"
            )
            .as_str()
        )
    );
    bed.stop().await;
}

async fn bed_without_route_climb() -> Bed {
    bed(vec![fixture()], &[(GIVER, UNIT)], &[], |c| {
        c.router.hsa_lookup.vagval.default_enabled = false;
    })
    .await
}

#[tokio::test]
async fn resethsacache_with_a_changed_file_changes_the_routing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hsacache.xml");
    let original = std::fs::read_to_string(fixture()).unwrap();
    std::fs::write(&file, &original).unwrap();
    let bed = bed(vec![file.clone()], &[(GIVER, UNIT)], &[], |_| {}).await;
    let call = || async {
        bed.consumer()
            .post(bed.https_addr("sit"), cervix_request(UNIT), &[])
            .await
            .unwrap()
    };
    assert_eq!(assert_ok(&call().await), UNIT);
    let status = admin(&bed, "GET", "/status").await;
    assert!(
        status.contains("\"HsaCacheInitialized\": \"true\""),
        "{status}"
    );

    // The unit moves out from under the care giver: straight under the region.
    let moved = original.replace(
        "ou=Vårdcentralen Exempelby,ou=Primärvården Region Exempel,o=Region Exempel",
        "ou=Vårdcentralen Exempelby,o=Region Exempel",
    );
    assert_ne!(moved, original);
    std::fs::write(&file, &moved).unwrap();
    let answer = admin(&bed, "POST", "/resethsacache").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        body_of(&answer),
        format!(
            "Start a reset of HSA cache using files: [{}]\nSuccessfully reset HSA cache. \nHSA cache size was: 3 \nHSA cache now is: 3.",
            file.display()
        )
    );
    call().await.vp("VP004");

    // A file VP would refuse: the old tree stays, the answer and /status say so.
    let dup = moved.replace("o=Region Exempel,l=Exempel län,c=SE</DN>\n      <name>Region", "ou=Primärvården Region Exempel,o=Region Exempel,l=Exempel län,c=SE</DN>\n      <name>Region");
    assert_ne!(dup, moved);
    std::fs::write(&file, &dup).unwrap();
    let answer = admin(&bed, "GET", "/resethsacache").await;
    assert_eq!(
        body_of(&answer),
        format!(
            "Start a reset of HSA cache using files: [{f}]\nReset HSA cache failed.se.skl.tp.hsa.cache.HsaCacheInitializationException: Failed to initialize HSA cache!\nCaused by: invalid HSA file {f}: line 19: duplicate DN \"ou=Primärvården Region Exempel,o=Region Exempel,l=Exempel län,c=SE\" (hsaIdentity SE2321000016-REG1; first given for SE2321000016-VG01)",
            f = file.display()
        )
    );
    let status = admin(&bed, "GET", "/status").await;
    assert!(
        status.contains("\"HsaCacheInitialized\": \"false\""),
        "{status}"
    );
    let info = status
        .split("\"HsaCacheResetInfo\": \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap();
    let (date, rest) = info.split_once(' ').unwrap();
    assert_eq!(rest, "Status:false oldNum:3 newNum:3");
    assert!(
        chrono::NaiveDateTime::parse_from_str(date, "Date:%Y-%m-%dT%H:%M").is_ok(),
        "{info}"
    );
    // Still the moved tree.
    call().await.vp("VP004");

    std::fs::write(&file, &original).unwrap();
    let answer = admin(&bed, "POST", "/resethsacache").await;
    assert!(body_of(&answer).contains("\nSuccessfully reset HSA cache. "));
    assert_eq!(assert_ok(&call().await), UNIT);
    bed.stop().await;
}

#[tokio::test]
async fn a_bad_hsa_file_stops_start_up_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-hsacache.xml");
    let mut config = common::test_config(dir.path());
    config.router.hsa_files = vec![fixture(), missing.clone()];
    let e = ntjp_testbed::server::start(config).await.err().unwrap();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("cannot read HSA file {}: ", missing.display())),
        "{text}"
    );
}
