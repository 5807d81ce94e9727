//! Old-style default routing (`VG#VE` logical addresses, VP's `defaultrouting.*`) over real
//! mutual TLS: the parts tried last first for routes and authorisations, no fallback to `SE`
//! or `*`, at most two parts for an authorisation, `allowed_contracts`, and an empty delimiter
//! turning it off; faults compared character by character.

mod common;

use common::{Bed, CONTRACT, cervix_request, order, sit_orders_with, start_with};
use ntjp_testbed::pki::DEFAULT_CONSUMER_HSA_ID;

const VG: &str = "SE2321000016-VG01";
const VE: &str = "SE2321000016-VE01";

const VP004_TEXT: &str = "VP004 [NTJP-TEST] Det finns inget vägval i tjänsteadresseringskatalogen som matchar anropets logiska adressat (ReceiverId) och tjänstekontrakt. Kontrollera uppgifterna i anropet och vid behov, beställ konfigurering i aktuell tjänsteplattform.";
const VP007_TEXT: &str = "VP007 [NTJP-TEST] Tjänstekonsumenten saknar behörighet att anropa den logiska adressaten via detta tjänstekontrakt. Kontrollera uppgifterna och vid behov, tillse att det beställs konfiguration i aktuell tjänsteplattform.";

/// Routes for VG and VE (each to its own mock producer) and the default consumer's
/// authorisation on VG only.
fn orders() -> String {
    let route = |la: &str| {
        format!(
            r#"{{"adress": "{{{{mocks}}}}/{la}/ProcessCervixScreeningInformation/1/rivtabp21", "logiskAdress": "{la}", "tjanstekontrakt": "{CONTRACT}", "rivtaprofil": "RIVTABP21", "tjanstekomponent": "TEST-DR-PRODUCER"}}"#
        )
    };
    order(
        chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
        &format!(
            r#"{{"logiskadresser": [{{"hsaId": "{VG}", "beskrivning": "Vårdgivare"}}, {{"hsaId": "{VE}", "beskrivning": "Vårdenhet"}}],
                "tjanstekomponenter": [{{"hsaId": "TEST-DR-PRODUCER", "beskrivning": "Testproducent"}}],
                "vagval": [{}, {}],
                "anropsbehorigheter": [{{"logiskAdress": "{VG}", "tjanstekontrakt": "{CONTRACT}", "tjanstekonsument": "{DEFAULT_CONSUMER_HSA_ID}"}}]}}"#,
            route(VG),
            route(VE)
        ),
        "{}",
    )
}

async fn bed(customise: impl FnOnce(&mut ntjp_testbed::config::Config)) -> Bed {
    let o = orders();
    start_with(move |c, dir| {
        customise(c);
        sit_orders_with(c, dir, &[("90-default-routing.json", o)]);
    })
    .await
}

async fn call(bed: &Bed, address: &str) -> common::Answer {
    bed.consumer()
        .post(bed.https_addr("sit"), cervix_request(address), &[])
        .await
        .unwrap()
}

fn received(bed: &Bed, mock: &str) -> usize {
    bed.testbed.recorder().for_address(mock).len()
}

fn assert_vp007(a: &common::Answer, receiver: &str) {
    let f = a.vp("VP007");
    assert_eq!(f.faultcode, "SOAP-ENV:Server");
    assert_eq!(f.faultstring, VP007_TEXT);
    assert_eq!(
        f.detail.as_deref(),
        Some(
            format!(
                "Authorization missing for serviceNamespace: {CONTRACT}, receiverId: {receiver}, senderId: {DEFAULT_CONSUMER_HSA_ID}"
            )
            .as_str()
        )
    );
}

fn assert_vp004(a: &common::Answer, receiver: &str) {
    let f = a.vp("VP004");
    assert_eq!(f.faultcode, "SOAP-ENV:Client");
    assert_eq!(f.faultstring, VP004_TEXT);
    assert_eq!(
        f.detail.as_deref(),
        Some(
            format!(
                "No receiverId (logical address) found for serviceNamespace: {CONTRACT}, receiverId: {receiver}"
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn vg_ve_routing_picks_ve_then_vg() {
    let bed = bed(|_| {}).await;
    // Both routed: VE (the last part) wins; authorised through VG (tried after VE).
    let a = call(&bed, &format!("{VG}#{VE}")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!((received(&bed, VE), received(&bed, VG)), (1, 0));
    // The producer gets the whole `VG#VE` address, as from VP, and takes it as its own.
    let got = &bed.testbed.recorder().for_address(VE)[0];
    assert_eq!(
        got.logical_address.as_deref(),
        Some(format!("{VG}#{VE}").as_str())
    );
    assert!(got.violations.is_empty(), "{:?}", got.violations);
    assert_eq!(got.result_code, "OK", "{got:?}");
    // VE unknown: VG.
    let a = call(&bed, &format!("{VG}#SE2321000016-NONE")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!((received(&bed, VE), received(&bed, VG)), (1, 1));
    // Reversed: VG is now the last part.
    let a = call(&bed, &format!("{VE}#{VG}")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!((received(&bed, VE), received(&bed, VG)), (1, 2));
    // No part routed: VP004 naming the whole address; no fallback to SE or `*`.
    assert_vp004(
        &call(&bed, "SE2321000016-NON1#SE2321000016-NON2").await,
        "SE2321000016-NON1#SE2321000016-NON2",
    );
    // No part authorised (the default consumer's SE authorisation does not count here).
    let a = call(&bed, &format!("{VE}#{VE}")).await;
    assert_vp007(&a, &format!("{VE}#{VE}"));
    bed.stop().await;
}

#[tokio::test]
async fn three_parts_are_vp007() {
    let bed = bed(|_| {}).await;
    let address = format!("SE2321000016-NONE#{VG}#{VE}");
    assert_vp007(&call(&bed, &address).await, &address);
    assert_eq!(received(&bed, VE) + received(&bed, VG), 0);
    // Duplicates are dropped before counting.
    let a = call(&bed, &format!("{VG}#{VE}#{VG}")).await;
    assert_eq!(a.status, 200, "{}", a.body);
    bed.stop().await;
}

#[tokio::test]
async fn a_contract_not_in_allowed_contracts_is_refused_as_vp_refuses_it() {
    let bed = bed(|c| {
        c.router.default_routing.allowed_contracts =
            vec!["urn:riv:ehr:accesscontrol:AssertCareEngagementResponder:1".into()];
    })
    .await;
    let address = format!("{VG}#{VE}");
    assert_vp007(&call(&bed, &address).await, &address);
    // Plain addresses are not affected.
    let a = call(&bed, VG).await;
    assert_eq!(a.status, 200, "{}", a.body);
    bed.stop().await;
}

#[tokio::test]
async fn a_sender_not_in_allowed_sender_ids_is_refused() {
    let bed = bed(|c| {
        c.router.default_routing.allowed_sender_ids = vec!["SE2321000016-KONS".into()];
    })
    .await;
    let address = format!("{VG}#{VE}");
    assert_vp007(&call(&bed, &address).await, &address);
    bed.stop().await;
}

#[tokio::test]
async fn an_empty_delimiter_turns_default_routing_off() {
    let bed = bed(|c| c.router.default_routing.delimiter = String::new()).await;
    let address = format!("{VG}#{VE}");
    assert_vp004(&call(&bed, &address).await, &address);
    bed.stop().await;
}
