//! Behaviour tests of order validation and execution, and of the fixture orders.

use serde_json::{Value, json};

use super::report::{AUTHORISATIONS, COMPONENTS, CONTRACTS, LOGICAL_ADDRESSES, ROUTES};
use super::*;
use crate::tak::model::RowState;
use crate::tak::{Day, Store, Validity};

use crate::contract::RESPONDER_NS as NS;
const PLATFORM: &str = "NTJP-TEST";

fn day(s: &str) -> Day {
    s.parse().unwrap()
}

fn at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_760_000_000, 0).unwrap()
}

fn order_on(when: &str, include: Value, exclude: Value) -> Order {
    let v = json!({
        "plattform": PLATFORM, "formatVersion": "1.0", "version": "1",
        "bestallningsTidpunkt": "2024-12-01T10:00:00+0000",
        "genomforandeTidpunkt": format!("{when}T08:00:00+0000"),
        "utforare": "Testare", "kommentar": "test",
        "inkludera": include, "exkludera": exclude
    });
    parse(&v.to_string()).unwrap()
}

fn route(la: &str, producer: &str, url: &str) -> Value {
    json!({"adress": url, "logiskAdress": la, "tjanstekontrakt": NS,
           "rivtaprofil": "RIVTABP21", "tjanstekomponent": producer})
}

fn auth(la: &str, consumer: &str) -> Value {
    json!({"logiskAdress": la, "tjanstekontrakt": NS, "tjanstekonsument": consumer})
}

/// A store with the contract, addresses 01/03/SE and components P1, P2, KONS.
fn base() -> Store {
    let mut store = Store::new(PLATFORM);
    let o = order_on(
        "2025-01-01",
        json!({
            "tjanstekontrakt": [{"namnrymd": NS, "beskrivning": "Cervix", "majorVersion": 1}],
            "logiskadresser": [{"hsaId": "01", "beskrivning": "Stockholm"},
                               {"hsaId": "03", "beskrivning": "Uppsala"},
                               {"hsaId": "SE", "beskrivning": "Sverige"}],
            "tjanstekomponenter": [{"hsaId": "P1", "beskrivning": "Producent 1"},
                                   {"hsaId": "P2", "beskrivning": "Producent 2"},
                                   {"hsaId": "KONS", "beskrivning": "Konsument"}]
        }),
        json!({}),
    );
    apply(&mut store, &o).unwrap();
    store
}

fn rejected(store: &mut Store, o: &Order) -> Vec<String> {
    let before = format!("{:?}", store.catalogue());
    let messages = apply(store, o).unwrap_err().messages;
    assert_eq!(
        before,
        format!("{:?}", store.catalogue()),
        "a rejected order must change nothing"
    );
    messages
}

fn route_validities(store: &Store, la: &str) -> Vec<(Validity, RowState, String)> {
    let cat = store.catalogue();
    cat.routes
        .rows()
        .filter(|r| {
            cat.logical_addresses
                .get(r.logical_address)
                .is_some_and(|l| l.hsa_id == la)
        })
        .map(|r| {
            let url = cat
                .call_addresses
                .get(r.call_address)
                .map(|c| c.url.to_string())
                .unwrap_or_default();
            (r.validity, r.state, url)
        })
        .collect()
}

fn v(from: &str, to: &str) -> Validity {
    Validity::new(day(from), day(to))
}

// ---- Phase 1 ----

#[test]
fn wrong_platform_is_the_only_error() {
    let mut store = Store::new("NTJP-QA");
    // Also a duplicate: phase 2 must not run.
    let o = order_on(
        "2025-01-01",
        json!({"vagval": [route("01", "P1", "https://a/b"), route("01", "P1", "https://a/b")]}),
        json!({}),
    );
    assert_eq!(
        rejected(&mut store, &o),
        vec![
            "Beställningen avser plattform NTJP-TEST, men den här instansen av tak-web hanterar NTJP-QA."
        ]
    );
}

// ---- Phase 2 ----

#[test]
fn duplicates_over_include_and_exclude() {
    let mut store = base();
    let o = order_on(
        "2025-01-01",
        json!({
            "vagval": [route("01", "P1", "https://a/one")],
            "anropsbehorigheter": [auth("SE", "KONS")],
            "logiskadresser": [{"hsaId": "x1", "beskrivning": ""}]
        }),
        json!({
            // Keyed on address + contract only, case-insensitive.
            "vagval": [route("01", "P2", "https://a/two")],
            "anropsbehorigheter": [auth("se", "kons")],
            "logiskadresser": [{"hsaId": "X1", "beskrivning": ""}]
        }),
    );
    assert_eq!(
        rejected(&mut store, &o),
        vec![
            format!(
                "Anropsbehörigheten [SE, KONS, {NS}] får inte finnas på flera ställen i beställningen."
            ),
            "Den logiska adressen [x1] får inte finnas på flera ställen i beställningen."
                .to_string(),
            format!("Vägvalet [01, {NS}] får inte finnas på flera ställen i beställningen."),
        ]
    );
}

#[test]
fn new_plain_objects_get_field_rules() {
    let mut store = base();
    let o = order_on(
        "2025-01-01",
        json!({
            "logiskadresser": [{"hsaId": "", "beskrivning": "tom"}, {"hsaId": "*", "beskrivning": "default"}],
            "tjanstekomponenter": [{"hsaId": "bad id!", "beskrivning": ""}],
            "tjanstekontrakt": [{"namnrymd": "urn:bad namespace", "beskrivning": "", "majorVersion": 1}]
        }),
        json!({}),
    );
    assert_eq!(
        rejected(&mut store, &o),
        vec![
            "Skapa Logisk Adress: HSA-ID får inte vara tomt",
            "Skapa Tjänstekomponent: HSA-ID har ogiltigt innehåll",
            "Skapa Tjänstekontrakt: Namnrymd har ogiltigt innehåll",
        ]
    );
}

#[test]
fn null_hsa_id_is_empty() {
    let mut store = base();
    let o = order_on(
        "2025-01-01",
        json!({"logiskadresser": [{"hsaId": null, "beskrivning": "x"}]}),
        json!({}),
    );
    assert_eq!(
        rejected(&mut store, &o),
        vec!["Skapa Logisk Adress: HSA-ID får inte vara tomt"]
    );
}

#[test]
fn existing_and_excluded_plain_objects_are_skipped() {
    let mut store = base();
    let o = order_on(
        "2025-01-01",
        json!({"logiskadresser": [{"hsaId": "se", "beskrivning": "ny text"}, {"hsaId": "05", "beskrivning": "Östergötland"}]}),
        json!({"logiskadresser": [{"hsaId": "01", "beskrivning": ""}],
               "tjanstekomponenter": [{"hsaId": "", "beskrivning": ""}]}),
    );
    let report = apply(&mut store, &o).unwrap();
    assert_eq!(report.included(LOGICAL_ADDRESSES).len(), 1);
    assert_eq!(report.included(LOGICAL_ADDRESSES)[0].value, "05");
    assert!(report.exclude.0.is_empty());
    let se = store.find_logical_address("SE").unwrap();
    assert_eq!(se.description, "Sverige");
    assert!(store.find_logical_address("01").is_some());
}

#[test]
fn more_than_one_overlapping_row_is_an_error() {
    let mut store = base();
    apply(
        &mut store,
        &order_on(
            "2025-01-01",
            json!({"vagval": [route("01", "P1", "https://a/one")]}),
            json!({}),
        ),
    )
    .unwrap();
    apply(
        &mut store,
        &order_on(
            "2025-06-01",
            json!({"vagval": [route("01", "P2", "https://a/two")]}),
            json!({}),
        ),
    )
    .unwrap();
    // Now 01 has [2025-01-01, 2025-05-31] and [2025-06-01, 2125-06-01].
    let msg = format!("Det finns mer än ett vagval i databasen med dessa parametrar 01 - {NS}.");
    let inc = order_on(
        "2025-03-01",
        json!({"vagval": [route("01", "P1", "https://a/one")]}),
        json!({}),
    );
    assert_eq!(rejected(&mut store, &inc), vec![msg.clone()]);
    let exc = order_on(
        "2025-03-01",
        json!({}),
        json!({"vagval": [route("01", "P1", "https://a/one")]}),
    );
    assert_eq!(rejected(&mut store, &exc), vec![msg]);
}

// ---- Phase 3 ----

#[test]
fn missing_information() {
    let mut store = base();
    let o = order_on(
        "2025-01-01",
        json!({"vagval": [{"logiskAdress": "01", "tjanstekontrakt": NS, "rivtaprofil": "RIVTABP21", "tjanstekomponent": "P1"}]}),
        json!({"anropsbehorigheter": [{"logiskAdress": "01", "tjanstekontrakt": NS}]}),
    );
    assert_eq!(
        rejected(&mut store, &o),
        vec![
            format!(
                "Det saknas information i beställningen för att kunna radera Anropsbehörighet. (Logisk adress: 01, Tjänstekonsument: null, Tjänstekontrakt: {NS})"
            ),
            format!(
                "Det saknas information i beställningen för att kunna skapa Vägval. (Logisk adress: 01, Tjänstekontrakt: {NS}, Tjänstekomponent: P1, RivTaProfil: RIVTABP21, Adress: null)"
            ),
        ]
    );
}

#[test]
fn references_must_exist() {
    let mut store = base();
    let o = order_on(
        "2025-01-01",
        json!({
            "vagval": [
                {"adress": "https://a/b", "logiskAdress": "01", "tjanstekontrakt": NS,
                 "rivtaprofil": "RIVTABP99", "tjanstekomponent": "P1"},
                route("03", "NOPE", "https://a/c"),
                route("99", "P1", "https://a/d")
            ],
            "anropsbehorigheter": [
                auth("77", "KONS"),
                {"logiskAdress": "SE", "tjanstekontrakt": "urn:x:1", "tjanstekonsument": "NOBODY"}
            ]
        }),
        json!({}),
    );
    assert_eq!(
        rejected(&mut store, &o),
        vec![
            "Skapa Anropsbehörighet: Logisk Adress med HSAId = 77 finns inte.",
            "Skapa Anropsbehörighet: Tjänstekomponent med HSAId = NOBODY finns inte.",
            "Skapa Anropsbehörighet: Tjänstekontrakt med namnrymd = urn:x:1 finns inte.",
            "Skapa Vägval: Logisk Adress med HSAId = 99 finns inte.",
            "Skapa Vägval: RivTaProfil med namn = RIVTABP99 finns inte.",
            "Skapa Vägval: Tjänstekomponent med HSAId = NOPE finns inte.",
        ]
    );
}

#[test]
fn new_call_address_is_validated() {
    let mut store = base();
    let o = order_on(
        "2025-01-01",
        json!({"vagval": [route("01", "P1", "https://a b"), route("03", "P1", "")]}),
        json!({}),
    );
    assert_eq!(
        rejected(&mut store, &o),
        vec![
            "Skapa Vägval: Adress får inte vara tom",
            "Skapa Vägval: Adress har ogiltigt innehåll",
        ]
    );
}

#[test]
fn references_to_objects_of_the_same_order_and_upper_casing() {
    let mut store = Store::new(PLATFORM);
    let mut o = order_on(
        "2025-01-01",
        json!({
            "tjanstekontrakt": [{"namnrymd": NS, "beskrivning": "c", "majorVersion": "1"}],
            "logiskadresser": [{"hsaId": "load-mocks", "beskrivning": "m"}],
            "tjanstekomponenter": [{"hsaId": "tstnmt-kons", "beskrivning": "k"},
                                   {"hsaId": "load-mocks", "beskrivning": "m"}],
            "vagval": [route("load-mocks", "load-mocks", "https://h:1/mocks/LOAD-MOCKS")],
            "anropsbehorigheter": [auth("load-mocks", "TSTNMT-KONS")]
        }),
        json!({}),
    );
    // The order's own objects are found case-sensitively, as tak-web does.
    assert_eq!(
        rejected(&mut store, &o),
        vec!["Skapa Anropsbehörighet: Tjänstekomponent med HSAId = TSTNMT-KONS finns inte."]
    );
    o.include.authorisations[0].consumer = Some("tstnmt-kons".into());
    let report = apply(&mut store, &o).unwrap();
    assert_eq!(report.included(LOGICAL_ADDRESSES)[0].value, "LOAD-MOCKS");
    assert_eq!(
        report
            .included(COMPONENTS)
            .iter()
            .map(|r| r.value.as_str())
            .collect::<Vec<_>>(),
        ["TSTNMT-KONS", "LOAD-MOCKS"]
    );
    assert_eq!(report.included(CONTRACTS)[0].value, NS);
    assert_eq!(
        report.included(ROUTES)[0].value,
        format!(
            "LOAD-MOCKS - {NS} - LOAD-MOCKS - RIVTABP21 - https://h:1/mocks/LOAD-MOCKS (2025-01-01 - 2125-01-01)"
        )
    );
    assert_eq!(
        report.included(AUTHORISATIONS)[0].value,
        format!("LOAD-MOCKS - TSTNMT-KONS - {NS}  (2025-01-01 - 2125-01-01)")
    );
    assert!(store.find_component("TSTNMT-KONS").is_some());
    assert_eq!(
        store
            .catalogue()
            .authorisations
            .get(1)
            .map(|a| a.integration_agreement.as_str()),
        Some("AUTOTAKNING")
    );
}

// ---- Phase 4 / execution: date arithmetic ----

#[test]
fn create_route_then_extend() {
    let mut store = base();
    let o = order_on(
        "2025-03-01",
        json!({"vagval": [route("01", "P1", "https://a/one")]}),
        json!({}),
    );
    let report = apply(&mut store, &o).unwrap();
    assert_eq!(report.included(ROUTES)[0].status, Status::Created);
    assert_eq!(
        route_validities(&store, "01"),
        vec![(
            v("2025-03-01", "2125-03-01"),
            RowState::Active,
            "https://a/one".into()
        )]
    );

    // Same call address, later F: extended to the new T, start kept.
    let later = order_on(
        "2026-05-10",
        json!({"vagval": [route("01", "p1", "https://a/one")]}),
        json!({}),
    );
    let report = apply(&mut store, &later).unwrap();
    assert_eq!(report.included(ROUTES).len(), 1);
    assert_eq!(report.included(ROUTES)[0].status, Status::Updated);
    assert_eq!(
        route_validities(&store, "01"),
        vec![(
            v("2025-03-01", "2126-05-10"),
            RowState::Active,
            "https://a/one".into()
        )]
    );

    // Earlier F: starts at F too.
    let earlier = order_on(
        "2025-02-01",
        json!({"vagval": [route("01", "P1", "https://a/one")]}),
        json!({}),
    );
    apply(&mut store, &earlier).unwrap();
    assert_eq!(
        route_validities(&store, "01"),
        vec![(
            v("2025-02-01", "2125-02-01"),
            RowState::Active,
            "https://a/one".into()
        )]
    );
    assert_eq!(store.catalogue().call_addresses.len(), 1);
}

#[test]
fn replace_route_with_another_call_address() {
    let mut store = base();
    apply(
        &mut store,
        &order_on(
            "2025-01-01",
            json!({"vagval": [route("01", "P1", "https://a/one")]}),
            json!({}),
        ),
    )
    .unwrap();
    let o = order_on(
        "2025-06-15",
        json!({"vagval": [route("01", "P2", "https://a/two")]}),
        json!({}),
    );
    let report = apply(&mut store, &o).unwrap();
    let rows = report.included(ROUTES);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].status, Status::Deactivated);
    assert_eq!(
        rows[0].value,
        format!("01 - {NS} - P1 - RIVTABP21 - https://a/one (2025-01-01 - 2025-06-14)")
    );
    assert_eq!(rows[1].status, Status::Created);
    assert_eq!(
        rows[1].value,
        format!("01 - {NS} - P2 - RIVTABP21 - https://a/two (2025-06-15 - 2125-06-15)")
    );
    assert_eq!(
        route_validities(&store, "01"),
        vec![
            (
                v("2025-01-01", "2025-06-14"),
                RowState::Active,
                "https://a/one".into()
            ),
            (
                v("2025-06-15", "2125-06-15"),
                RowState::Active,
                "https://a/two".into()
            ),
        ]
    );
}

#[test]
fn replace_before_start_deletes_the_old_route_and_its_call_address() {
    let mut store = base();
    apply(
        &mut store,
        &order_on(
            "2025-09-01",
            json!({"vagval": [route("01", "P1", "https://a/one")]}),
            json!({}),
        ),
    )
    .unwrap();
    let o = order_on(
        "2025-05-01",
        json!({"vagval": [route("01", "P1", "https://a/new")]}),
        json!({}),
    );
    let report = apply(&mut store, &o).unwrap();
    assert_eq!(report.included(ROUTES)[0].status, Status::Deleted);
    assert_eq!(report.included(ROUTES)[1].status, Status::Created);
    let cat = store.catalogue();
    assert_eq!(
        cat.call_addresses.rows().next().unwrap().state,
        RowState::Deleted
    );
    assert_eq!(
        cat.call_addresses.rows().nth(1).unwrap().state,
        RowState::Active
    );
    assert_eq!(
        route_validities(&store, "01"),
        vec![
            (
                v("2025-09-01", "2125-09-01"),
                RowState::Deleted,
                "https://a/one".into()
            ),
            (
                v("2025-05-01", "2125-05-01"),
                RowState::Active,
                "https://a/new".into()
            ),
        ]
    );
}

#[test]
fn authorisation_create_extend_deactivate_delete() {
    let mut store = base();
    let o = order_on(
        "2025-01-01",
        json!({"anropsbehorigheter": [auth("SE", "KONS")]}),
        json!({}),
    );
    let r = apply(&mut store, &o).unwrap();
    assert_eq!(r.included(AUTHORISATIONS)[0].status, Status::Created);
    assert_eq!(
        r.included(AUTHORISATIONS)[0].value,
        format!("SE - KONS - {NS}  (2025-01-01 - 2125-01-01)")
    );

    let o = order_on(
        "2025-02-01",
        json!({"anropsbehorigheter": [auth("se", "kons")]}),
        json!({}),
    );
    let r = apply(&mut store, &o).unwrap();
    assert_eq!(r.included(AUTHORISATIONS)[0].status, Status::Updated);
    assert_eq!(
        r.included(AUTHORISATIONS)[0].value,
        format!("SE - KONS - {NS}  (2025-01-01 - 2125-02-01)")
    );

    let o = order_on(
        "2025-07-01",
        json!({}),
        json!({"anropsbehorigheter": [auth("SE", "KONS")]}),
    );
    let r = apply(&mut store, &o).unwrap();
    assert_eq!(r.excluded(AUTHORISATIONS)[0].status, Status::Deactivated);
    assert_eq!(
        r.excluded(AUTHORISATIONS)[0].value,
        format!("SE - KONS - {NS}  (2025-01-01 - 2025-06-30)")
    );

    // A future authorisation excluded before it starts is removed.
    let o = order_on(
        "2026-01-01",
        json!({"anropsbehorigheter": [auth("01", "KONS")]}),
        json!({}),
    );
    apply(&mut store, &o).unwrap();
    let o = order_on(
        "2025-12-01",
        json!({}),
        json!({"anropsbehorigheter": [auth("01", "KONS")]}),
    );
    let r = apply(&mut store, &o).unwrap();
    assert_eq!(r.excluded(AUTHORISATIONS)[0].status, Status::Deleted);
    let cat = store.catalogue();
    assert_eq!(
        cat.authorisations.rows().nth(1).unwrap().state,
        RowState::Deleted
    );
}

#[test]
fn exclude_route_deactivates_and_missing_ones_do_not_exist() {
    let mut store = base();
    apply(
        &mut store,
        &order_on(
            "2025-01-01",
            json!({"vagval": [route("01", "P1", "https://a/one")]}),
            json!({}),
        ),
    )
    .unwrap();
    // Excluding matches on address + contract only: producer and URL are not compared.
    let o = order_on(
        "2025-04-01",
        json!({}),
        json!({"vagval": [route("01", "P2", "https://ignored"), route("03", "P1", "https://a/x")],
               "anropsbehorigheter": [auth("SE", "KONS")]}),
    );
    let r = apply(&mut store, &o).unwrap();
    let rows = r.excluded(ROUTES);
    assert_eq!(rows[0].status, Status::Deactivated);
    assert_eq!(
        rows[0].value,
        format!("01 - {NS} - P1 - RIVTABP21 - https://a/one (2025-01-01 - 2025-03-31)")
    );
    assert_eq!(rows[1].status, Status::NotExists);
    assert_eq!(
        rows[1].value,
        format!(
            "Logisk adress: 03, Tjänstekontrakt: {NS}, Tjänstekomponent: P1, RivTaProfil: RIVTABP21, Adress: https://a/x"
        )
    );
    assert!(rows[1].warning());
    assert_eq!(
        r.excluded(AUTHORISATIONS)[0].value,
        format!("Logisk adress: SE, Tjänstekonsument: KONS, Tjänstekontrakt: {NS}")
    );
    assert!(r.include.0.is_empty());
    // The call address stays: the route was only ended.
    assert_eq!(
        store
            .catalogue()
            .call_addresses
            .rows()
            .next()
            .unwrap()
            .state,
        RowState::Active
    );
}

#[test]
fn report_text_is_tak_webs() {
    let mut store = base();
    let o = order_on(
        "2025-01-01",
        json!({"anropsbehorigheter": [auth("SE", "KONS")]}),
        json!({"vagval": [route("03", "P1", "https://a/x")]}),
    );
    let text = apply(&mut store, &o).unwrap().to_text();
    assert_eq!(
        text,
        format!(
            "Plattform: NTJP-TEST\nFormat Version: 1.0\nVersion: 1\nBeställningstidpunkt: 2024-12-01\n\
             Genomförandetidpunkt: 2025-01-01\nUtförare: Testare\nKommentar: test\n\n\
             Inkludera:\nAnropsbehörigheter:\nNyskapad: SE - KONS - {NS}  (2025-01-01 - 2125-01-01)\n\n\
             Exkludera:\nVägval:\nExisterar ej: Logisk adress: 03, Tjänstekontrakt: {NS}, Tjänstekomponent: P1, RivTaProfil: RIVTABP21, Adress: https://a/x\n"
        )
    );
}

#[test]
fn the_kept_report_renders_as_it_was_made_whatever_changes_later() {
    let mut store = base();
    let o = order_on(
        "2025-01-01",
        json!({"anropsbehorigheter": [auth("SE", "KONS")], "vagval": [route("01", "P1", "https://a/ny")]}),
        json!({"vagval": [route("03", "P1", "https://a/x")]}),
    );
    let plan = validate::plan(&store, &o, format::platform_zone()).unwrap();
    let kept = execute::execute(&mut store, &o, plan).report;
    let made = kept.render(store.catalogue());
    assert_eq!(kept.to_text(store.catalogue()), made.to_text());
    assert_eq!(
        serde_json::to_string(&kept.rendered(store.catalogue())).unwrap(),
        serde_json::to_string(&made).unwrap()
    );
    assert_eq!(
        kept.lines(),
        made.include
            .0
            .iter()
            .chain(&made.exclude.0)
            .map(|s| s.rows.len())
            .sum::<usize>()
    );
    // A later order ends the same authorisation and route: the kept report still shows them
    // as this order left them.
    let later = order_on(
        "2025-06-01",
        json!({}),
        json!({"anropsbehorigheter": [auth("SE", "KONS")], "vagval": [route("01", "P1", "https://a/ny")]}),
    );
    apply(&mut store, &later).unwrap();
    assert_eq!(kept.render(store.catalogue()), made);
}

#[test]
fn rejected_display_and_rest_text() {
    let r = Rejected {
        messages: vec!["a".into(), "b".into()],
    };
    assert_eq!(r.to_string(), "a\nb");
    assert_eq!(r.to_rest_text(), "JsonBestallning ERROR:::\na\nb");
}

// ---- Pending and publishing ----

#[test]
fn changes_are_pending_until_published() {
    let mut store = base();
    assert!(store.has_pending_changes());
    let first = store.publish("admin", "bas", at());
    assert!(!store.has_pending_changes());
    assert_eq!(first.counts().routes, 0);

    let o = order_on(
        "2025-01-01",
        json!({"vagval": [route("01", "P1", "https://a/one")]}),
        json!({}),
    );
    apply(&mut store, &o).unwrap();
    assert!(store.has_pending_changes());
    // The published snapshot does not see the pending route.
    assert!(first.route(NS, "01", day("2025-06-01")).matches.is_empty());
    let second = store.publish("admin", "vägval", at());
    assert_eq!(second.version(), 2);
    assert_eq!(second.route(NS, "01", day("2025-06-01")).matches.len(), 1);
    assert!(first.route(NS, "01", day("2025-06-01")).matches.is_empty());
}

// ---- Fixture orders ----

const MOCKS: &str = "https://127.0.0.1:25000/mocks";

const FIXTURES: [(&str, &str, [&str; 2]); 3] = [
    (
        "sit",
        "NTJP-TEST",
        [
            include_str!("../../fixtures/orders/sit/01-producer-cervix-mocks.json"),
            include_str!("../../fixtures/orders/sit/02-consumer-testbed.json"),
        ],
    ),
    (
        "qa",
        "NTJP-QA",
        [
            include_str!("../../fixtures/orders/qa/01-producer-cervix-mocks.json"),
            include_str!("../../fixtures/orders/qa/02-consumer-testbed.json"),
        ],
    ),
    (
        "prod",
        "NTJP-PROD",
        [
            include_str!("../../fixtures/orders/prod/01-producer-cervix-mocks.json"),
            include_str!("../../fixtures/orders/prod/02-consumer-testbed.json"),
        ],
    ),
];

const COUNTIES: [&str; 21] = [
    "01", "03", "04", "05", "06", "07", "08", "09", "10", "12", "13", "14", "17", "18", "19", "20",
    "21", "22", "23", "24", "25",
];

fn fixture_store(env: &str) -> std::sync::Arc<crate::tak::Snapshot> {
    let (_, platform, files) = FIXTURES.iter().find(|(e, _, _)| *e == env).unwrap();
    let mut store = Store::new(platform);
    for text in files {
        let order = parse(&text.replace("{{mocks}}", MOCKS)).unwrap();
        assert_eq!(order.format_version, 1.0);
        assert_eq!(order.version, 1);
        if let Err(e) = apply(&mut store, &order) {
            panic!("{env}: {e}");
        }
    }
    store.publish("ntjp serve", "Beställningar vid start", at())
}

#[test]
fn fixtures_load_in_every_environment() {
    let today = day("2026-11-22");
    for (env, platform, _) in FIXTURES {
        let s = fixture_store(env);
        assert_eq!(s.platform(), platform);
        let sit = env == "sit";
        // SIT also routes LOAD-MOCKS and NTJP-MOCKS.
        assert_eq!(s.counts().routes, 21 + 2 * usize::from(sit), "{env}");
        assert_eq!(s.counts().authorisations, 1 + usize::from(sit), "{env}");
        for county in COUNTIES {
            let r = s.route(NS, county, today);
            assert_eq!(r.matches.len(), 1, "{env} {county}");
            assert_eq!(
                r.matches[0].url,
                format!("{MOCKS}/{county}/ProcessCervixScreeningInformation/1/rivtabp21")
            );
            assert_eq!(
                r.matches[0].producer,
                format!("TSTNMT2321000156-MOCK{county}")
            );
            assert_eq!(r.matches[0].profile, "RIVTABP21");
            assert!(
                s.authorise("TSTNMT2321000156-KONS", NS, county, today)
                    .granted,
                "{env} {county}"
            );
        }
        assert!(
            s.authorise("tstnmt2321000156-kons", NS, "01", today)
                .granted
        );
        assert!(!s.authorise("SOMEONE-ELSE", NS, "01", today).granted);
        let load = s.route(NS, "LOAD-MOCKS", today);
        let load_auth = s.authorise("TSTNMT2321000156-KONS", NS, "LOAD-MOCKS", today);
        if sit {
            assert_eq!(load.matches.len(), 1);
            assert_eq!(load.matches[0].producer, "LOAD-MOCKS");
            assert!(load_auth.granted);
            assert_eq!(load_auth.trace, "LOAD-MOCKS");
        } else {
            assert!(load.matches.is_empty(), "{env}");
            // Through the climb to SE the consumer may call any address; there is no route.
            assert_eq!(load_auth.trace, "LOAD-MOCKS,(default),*,(parent),SE");
        }
    }
}

#[test]
fn load_mocks_authorisation_exists_only_in_sit() {
    let today = day("2026-11-22");
    let has_exact = |env: &str| {
        fixture_store(env)
            .authorisations()
            .any(|a| a.logical_address == "LOAD-MOCKS" && a.validity.contains(today))
    };
    assert!(has_exact("sit"));
    assert!(!has_exact("qa"));
    assert!(!has_exact("prod"));
}

#[test]
fn fixtures_are_refused_by_another_platform() {
    let order = parse(&FIXTURES[0].2[0].replace("{{mocks}}", MOCKS)).unwrap();
    let mut store = Store::new("NTJP-QA");
    assert_eq!(
        apply(&mut store, &order).unwrap_err().messages,
        vec![
            "Beställningen avser plattform NTJP-TEST, men den här instansen av tak-web hanterar NTJP-QA."
        ]
    );
}
