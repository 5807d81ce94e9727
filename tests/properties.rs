//! Property tests of the catalogue (issue 9, point 8): random sequences of orders in
//! Beställningsstödet's format, over small pools of contracts, addresses, components and URLs
//! so that keys collide and dates overlap often, are applied and published one by one. After
//! every order:
//! - a refused order leaves nothing pending;
//! - no two active routes for one (address, contract), and no two active authorisations for one
//!   (consumer, contract, address), overlap in time (the date arithmetic of DOMAIN.md §4);
//! - route and authorisation lookups agree with a naive reference that scans every published
//!   row, for every key in the pools (and their other case) on days around each order's;
//!
//! and at the end the TAK exported, imported and exported again is the same TAK.
//!
//! Pure: the catalogue and orders do no IO. `PROPTEST_CASES=2000 cargo test --test properties`
//! runs longer by hand.

use chrono::{Days, NaiveDate};
use ntjp_testbed::orders;
use ntjp_testbed::tak::{Day, Snapshot, Store, export};
use proptest::prelude::*;

const PLATFORM: &str = "NTJP-TEST";
const CONTRACTS: [&str; 2] = ["urn:riv:prop:A:1", "urn:riv:prop:B:1"];
/// `se` and `hsa-x` in lower case: new HSA-ids are upper-cased, lookups are case-insensitive.
const ADDRESSES: [&str; 5] = ["01", "02", "se", "*", "hsa-x"];
const PRODUCERS: [&str; 2] = ["PROD-1", "PROD-2"];
const CONSUMERS: [&str; 2] = ["KONS-1", "KONS-2"];
const URLS: [&str; 2] = ["https://a.example/p1", "https://b.example/p2"];

#[derive(Debug, Clone)]
enum Op {
    IncludeRoute {
        address: usize,
        contract: usize,
        target: usize,
    },
    ExcludeRoute {
        address: usize,
        contract: usize,
        target: usize,
    },
    IncludeAuthorisation {
        address: usize,
        contract: usize,
        consumer: usize,
    },
    ExcludeAuthorisation {
        address: usize,
        contract: usize,
        consumer: usize,
    },
}

#[derive(Debug, Clone)]
struct Order {
    /// Days after 2025-01-01 of `genomforandeTidpunkt`.
    day: u32,
    ops: Vec<Op>,
}

fn op() -> impl Strategy<Value = Op> {
    let a = 0..ADDRESSES.len();
    let c = 0..CONTRACTS.len();
    prop_oneof![
        3 => (a.clone(), c.clone(), 0..URLS.len()).prop_map(|(address, contract, target)| Op::IncludeRoute { address, contract, target }),
        1 => (a.clone(), c.clone(), 0..URLS.len()).prop_map(|(address, contract, target)| Op::ExcludeRoute { address, contract, target }),
        3 => (a.clone(), c.clone(), 0..CONSUMERS.len()).prop_map(|(address, contract, consumer)| Op::IncludeAuthorisation { address, contract, consumer }),
        1 => (a, c, 0..CONSUMERS.len()).prop_map(|(address, contract, consumer)| Op::ExcludeAuthorisation { address, contract, consumer }),
    ]
}

fn order() -> impl Strategy<Value = Order> {
    (0u32..400, prop::collection::vec(op(), 1..6)).prop_map(|(day, ops)| Order { day, ops })
}

fn base() -> Day {
    NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default()
}

fn day_of(o: &Order) -> Day {
    base()
        .checked_add_days(Days::new(u64::from(o.day)))
        .unwrap_or_default()
}

/// The order as Beställningsstödet's JSON. Every plain object is included each time (TAK skips
/// the ones it holds); an op whose key an earlier op of the same order used is left out (a
/// duplicate key is a refused order, which is tested elsewhere).
fn json(o: &Order) -> String {
    let at = format!("{}T12:00:00+0000", day_of(o));
    let mut include_routes = Vec::new();
    let mut exclude_routes = Vec::new();
    let mut include_auths = Vec::new();
    let mut exclude_auths = Vec::new();
    let mut route_keys = Vec::new();
    let mut auth_keys = Vec::new();
    let route = |address: usize, contract: usize, target: usize| {
        format!(
            r#"{{"adress":"{}","logiskAdress":"{}","tjanstekontrakt":"{}","rivtaprofil":"RIVTABP21","tjanstekomponent":"{}"}}"#,
            URLS[target], ADDRESSES[address], CONTRACTS[contract], PRODUCERS[target]
        )
    };
    let auth = |address: usize, contract: usize, consumer: usize| {
        format!(
            r#"{{"logiskAdress":"{}","tjanstekontrakt":"{}","tjanstekonsument":"{}"}}"#,
            ADDRESSES[address], CONTRACTS[contract], CONSUMERS[consumer]
        )
    };
    for op in &o.ops {
        match *op {
            Op::IncludeRoute {
                address,
                contract,
                target,
            }
            | Op::ExcludeRoute {
                address,
                contract,
                target,
            } => {
                if route_keys.contains(&(address, contract)) {
                    continue;
                }
                route_keys.push((address, contract));
                if matches!(op, Op::IncludeRoute { .. }) {
                    include_routes.push(route(address, contract, target));
                } else {
                    exclude_routes.push(route(address, contract, target));
                }
            }
            Op::IncludeAuthorisation {
                address,
                contract,
                consumer,
            }
            | Op::ExcludeAuthorisation {
                address,
                contract,
                consumer,
            } => {
                if auth_keys.contains(&(address, contract, consumer)) {
                    continue;
                }
                auth_keys.push((address, contract, consumer));
                if matches!(op, Op::IncludeAuthorisation { .. }) {
                    include_auths.push(auth(address, contract, consumer));
                } else {
                    exclude_auths.push(auth(address, contract, consumer));
                }
            }
        }
    }
    let contracts: Vec<String> = CONTRACTS
        .iter()
        .map(|c| format!(r#"{{"namnrymd":"{c}","beskrivning":"prop","majorVersion":1}}"#))
        .collect();
    let addresses: Vec<String> = ADDRESSES
        .iter()
        .map(|a| format!(r#"{{"hsaId":"{a}","beskrivning":"prop"}}"#))
        .collect();
    let components: Vec<String> = PRODUCERS
        .iter()
        .chain(CONSUMERS.iter())
        .map(|k| format!(r#"{{"hsaId":"{k}","beskrivning":"prop"}}"#))
        .collect();
    format!(
        r#"{{"plattform":"{PLATFORM}","formatVersion":"1.0","version":"1","bestallningsTidpunkt":"{at}","genomforandeTidpunkt":"{at}","utforare":"proptest","kommentar":"prop","inkludera":{{"tjanstekontrakt":[{}],"logiskadresser":[{}],"tjanstekomponenter":[{}],"anropsbehorigheter":[{}],"vagval":[{}]}},"exkludera":{{"anropsbehorigheter":[{}],"vagval":[{}]}}}}"#,
        contracts.join(","),
        addresses.join(","),
        components.join(","),
        include_auths.join(","),
        include_routes.join(","),
        exclude_auths.join(","),
        exclude_routes.join(","),
    )
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// No two active rows of one natural key overlap in time.
fn check_no_overlaps(s: &Snapshot) -> Result<(), TestCaseError> {
    let routes: Vec<_> = s.routes().collect();
    for (i, a) in routes.iter().enumerate() {
        for b in &routes[i + 1..] {
            if same(a.logical_address, b.logical_address) && same(a.contract, b.contract) {
                prop_assert!(
                    a.validity.to < b.validity.from || b.validity.to < a.validity.from,
                    "routes {:?} and {:?} for ({}, {}) overlap",
                    a.validity,
                    b.validity,
                    &**a.logical_address,
                    &**a.contract
                );
            }
        }
    }
    let auths: Vec<_> = s.authorisations().collect();
    for (i, a) in auths.iter().enumerate() {
        for b in &auths[i + 1..] {
            if same(a.logical_address, b.logical_address)
                && same(a.contract, b.contract)
                && same(a.consumer, b.consumer)
            {
                prop_assert!(
                    a.validity.to < b.validity.from || b.validity.to < a.validity.from,
                    "authorisations {:?} and {:?} for ({}, {}, {}) overlap",
                    a.validity,
                    b.validity,
                    &**a.consumer,
                    &**a.contract,
                    &**a.logical_address
                );
            }
        }
    }
    Ok(())
}

/// The URLs of the routes valid on `day` for the first of the address, `SE`, `*` that has any
/// (the router's order, DOMAIN.md §2), by scanning every published route.
fn naive_route(s: &Snapshot, contract: &str, address: &str, day: Day) -> Vec<String> {
    let mut steps = vec![address];
    if !same(address, "SE") {
        steps.push("SE");
    }
    if address != "*" {
        steps.push("*");
    }
    for step in steps {
        let mut urls: Vec<String> = s
            .routes()
            .filter(|r| {
                same(r.logical_address, step)
                    && same(r.contract, contract)
                    && r.validity.contains(day)
            })
            .map(|r| r.target.url.to_string())
            .collect();
        if !urls.is_empty() {
            urls.sort();
            return urls;
        }
    }
    Vec::new()
}

/// Whether an authorisation valid on `day` exists for the address, `*` or `SE` (the router's
/// order), by scanning every published authorisation.
fn naive_authorised(s: &Snapshot, consumer: &str, contract: &str, address: &str, day: Day) -> bool {
    let mut steps = vec![address];
    if address != "*" {
        steps.push("*");
    }
    if !same(address, "SE") {
        steps.push("SE");
    }
    steps.iter().any(|step| {
        s.authorisations().any(|a| {
            same(a.logical_address, step)
                && same(a.contract, contract)
                && same(a.consumer, consumer)
                && a.validity.contains(day)
        })
    })
}

fn check_lookups(s: &Snapshot, days: &[Day]) -> Result<(), TestCaseError> {
    let mut addresses: Vec<String> = ADDRESSES.iter().map(|a| a.to_string()).collect();
    addresses.extend(ADDRESSES.iter().map(|a| a.to_ascii_uppercase()));
    addresses.push("99".into());
    for &day in days {
        for contract in CONTRACTS {
            let other_case = contract.to_ascii_uppercase();
            for contract in [contract, other_case.as_str()] {
                for address in &addresses {
                    let lookup = s.route(contract, address, day);
                    let mut got: Vec<String> = lookup
                        .matches
                        .as_slice()
                        .iter()
                        .map(|t| t.url.to_string())
                        .collect();
                    got.sort();
                    let want = naive_route(s, contract, address, day);
                    if want.len() <= 2 {
                        prop_assert_eq!(&got, &want, "route {} {} on {}", contract, address, day);
                    }
                    prop_assert_eq!(lookup.matches.len(), want.len());
                    for consumer in CONSUMERS {
                        prop_assert_eq!(
                            s.authorise(consumer, contract, address, day).granted,
                            naive_authorised(s, consumer, contract, address, day),
                            "authorise {} {} {} on {}",
                            consumer,
                            contract,
                            address,
                            day
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn orders_keep_tak_consistent_and_lookups_agree_with_a_scan(orders in prop::collection::vec(order(), 1..8)) {
        let mut store = Store::new(PLATFORM);
        let mut days = vec![base()];
        let mut published = 0u32;
        for (n, o) in orders.iter().enumerate() {
            let text = json(o);
            let parsed = orders::parse(&text)
                .map_err(|e| TestCaseError::fail(format!("order {n} does not parse: {e:?}\n{text}")))?;
            match orders::apply(&mut store, &parsed) {
                Ok(_) => {}
                Err(_) => {
                    prop_assert!(!store.has_pending_changes(), "a refused order left changes pending");
                    continue;
                }
            }
            if !store.has_pending_changes() {
                continue;
            }
            published += 1;
            let snapshot = store.publish("proptest", &format!("order {n}"), chrono::Utc::now());
            let d = day_of(o);
            days.extend([d.pred_opt().unwrap_or(d), d, d.succ_opt().unwrap_or(d)]);
            check_no_overlaps(&snapshot)?;
            check_lookups(&snapshot, &days)?;
        }
        if published > 0 {
            let snapshot = store.latest_snapshot().ok_or_else(|| TestCaseError::fail("no snapshot"))?;
            let text = export::export_string(&snapshot);
            let back = export::import(&text, PLATFORM)
                .map_err(|e| TestCaseError::fail(format!("the export does not import: {e}")))?;
            let again = back.latest_snapshot().ok_or_else(|| TestCaseError::fail("no snapshot after import"))?;
            prop_assert_eq!(export::export(&again), export::export(&snapshot));
            check_lookups(&again, &days)?;
        }
    }
}

/// A valid request of the contract (the exclusion fixture) with its namespace prefixes, its
/// logical address, its XML declaration and comment, and its indentation varied.
fn envelope(prefixes: &[String; 4], address: &str, declaration: bool, indent: &str) -> String {
    let fixture = include_str!("../fixtures/messages/valid/exclusion.xml");
    let body = &fixture[fixture.find("<soapenv:Envelope").unwrap_or(0)..];
    let [soap, registry, responder, core] = prefixes;
    let text = body
        .replace("soapenv:", &format!("{soap}:"))
        .replace("xmlns:soapenv=", &format!("xmlns:{soap}="))
        .replace("urn2:", &format!("{core}:"))
        .replace("xmlns:urn2=", &format!("xmlns:{core}="))
        .replace("urn1:", &format!("{responder}:"))
        .replace("xmlns:urn1=", &format!("xmlns:{responder}="))
        .replace("<urn:", &format!("<{registry}:"))
        .replace("</urn:", &format!("</{registry}:"))
        .replace("xmlns:urn=", &format!("xmlns:{registry}="))
        .replace(">06<", &format!(">{address}<"))
        .replace("\n  ", &format!("\n{indent}"));
    if declaration {
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{text}")
    } else {
        text
    }
}

fn prefix() -> impl Strategy<Value = String> {
    "[a-wyz][a-z0-9_]{0,7}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The router's sniff (its fast scanner and quick-xml's full read alike) and the mocks'
    /// validator read the same random valid envelopes the same way: the address and contract
    /// as generated, and a valid message of the exclusion scenario.
    #[test]
    fn the_sniff_and_the_validator_agree_on_random_valid_envelopes(
        prefixes in prop::array::uniform4(prefix()),
        address in "[0-9A-Za-z_-]{1,24}",
        declaration in any::<bool>(),
        indent in "[ \t]{0,6}",
    ) {
        let mut distinct = prefixes.to_vec();
        distinct.sort();
        distinct.dedup();
        prop_assume!(distinct.len() == 4);
        let xml = envelope(&prefixes, &address, declaration, &indent);
        let fast = ntjp_testbed::soap::sniff_ref(xml.as_bytes());
        let full = ntjp_testbed::soap::sniff::sniff_ref_full(xml.as_bytes());
        prop_assert_eq!(&fast, &full);
        let sniffed = fast.map_err(|e| TestCaseError::fail(format!("sniff: {e}\n{xml}")))?;
        prop_assert_eq!(sniffed.logical_address.as_deref(), Some(address.as_str()));
        prop_assert_eq!(
            sniffed.contract.as_deref(),
            Some("urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1")
        );
        let lists = ntjp_testbed::vocab::CodeLists::default();
        match ntjp_testbed::contract::validate::validate(xml.as_bytes(), &lists) {
            ntjp_testbed::contract::validate::Outcome::Checked(checked) => {
                prop_assert!(checked.violations.is_empty(), "{:?}\n{}", checked.violations, xml);
                prop_assert_eq!(checked.scenario, ntjp_testbed::contract::validate::Scenario::Exclusion);
            }
            ntjp_testbed::contract::validate::Outcome::Technical(why) => {
                return Err(TestCaseError::fail(format!("the validator: {why}\n{xml}")));
            }
        }
    }
}

/// Found by the property above: a route replaced on the day it starts ends the day before,
/// [F, F - 1], as in TAK (tak.md §2.6); its export must import again.
#[test]
fn a_route_replaced_on_its_first_day_exports_and_imports() {
    let mut store = Store::new(PLATFORM);
    for target in [0, 1] {
        let o = Order {
            day: 180,
            ops: vec![Op::IncludeRoute {
                address: 0,
                contract: 1,
                target,
            }],
        };
        let parsed = orders::parse(&json(&o)).unwrap();
        orders::apply(&mut store, &parsed).unwrap();
        store.publish("test", "replace", chrono::Utc::now());
    }
    let snapshot = store.latest_snapshot().unwrap();
    let inverted = snapshot
        .routes()
        .filter(|r| r.validity.from > r.validity.to)
        .count();
    assert_eq!(
        inverted, 1,
        "the replaced route ends the day before it starts"
    );
    let back = export::import(&export::export_string(&snapshot), PLATFORM).unwrap();
    assert_eq!(
        export::export(&back.latest_snapshot().unwrap()),
        export::export(&snapshot)
    );
}
