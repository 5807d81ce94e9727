//! The immutable published view of one TAK (a publicerad version) that the router reads on every
//! request.
//!
//! A [`Snapshot`] is built once at publish time from the active rows of the catalogue: routes and
//! authorisations are resolved to natural keys and indexed in lowercase-keyed hash maps, so a
//! lookup is a couple of hash probes plus a date check, with no locks. Lookups apply the VP
//! fallback rules of takdatahandler (routes: exact → HSA climb to `SE` → `*`; authorisations:
//! exact → `*` → HSA climb to `SE`), case-insensitively. Validity is checked at lookup time
//! against the day the caller passes in; this module never reads the clock and never changes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::model::{Catalogue, Day, Id, Validity};

/// The root of the HSA tree; every address we know of (we have no HSA tree) has it as parent.
pub const HSA_ROOT: &str = "SE";
/// The default logical address (`*`).
pub const DEFAULT_ADDRESS: &str = "*";

/// Where a route (vägval) sends a call: the call address (anropsadress) and its validity.
#[derive(Debug, Clone)]
pub struct RouteTarget {
    /// The producer URL (`adress`); may be empty (the router answers VP010).
    pub url: String,
    /// The RIVTA profile name, e.g. `RIVTABP21`.
    pub profile: String,
    /// The producer component's HSA-id.
    pub producer: String,
    /// Validity of the route.
    pub validity: Validity,
}

/// The result of a route lookup: the valid routes of the first address (in fallback order) that
/// has any, and a trace of the addresses tried.
#[derive(Debug)]
pub struct RouteLookup<'a> {
    /// The valid routes found (0 → VP004, more than one → VP006).
    pub matches: Vec<&'a RouteTarget>,
    /// The addresses tried, like VP's trace: `01`, `X,(parent),SE`, `X,(parent),SE,(default),*`.
    pub trace: String,
}

/// The result of an authorisation lookup.
#[derive(Debug)]
pub struct AuthorisationLookup {
    /// Whether some valid authorisation was found.
    pub granted: bool,
    /// The addresses tried: `X`, `X,(default),*`, `X,(default),*,(parent),SE`.
    pub trace: String,
}

/// Row counts of a snapshot (for status and `resetcache` answers).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SnapshotCounts {
    /// Number of published routes (vägval).
    pub routes: usize,
    /// Number of published authorisations (anropsbehörigheter).
    pub authorisations: usize,
}

/// A published route (vägval) resolved to natural keys.
#[derive(Debug, Clone)]
pub struct PublishedRoute {
    /// The route's row id.
    pub id: Id,
    /// Logical address HSA-id as stored.
    pub logical_address: String,
    /// Contract namespace as stored.
    pub contract: String,
    /// Where it goes.
    pub target: RouteTarget,
}

/// A published authorisation (anropsbehörighet) resolved to natural keys.
#[derive(Debug, Clone)]
pub struct PublishedAuthorisation {
    /// The authorisation's row id.
    pub id: Id,
    /// Consumer HSA-id as stored.
    pub consumer: String,
    /// Contract namespace as stored.
    pub contract: String,
    /// Logical address HSA-id as stored.
    pub logical_address: String,
    /// Validity.
    pub validity: Validity,
    /// `integrationsavtal`.
    pub integration_agreement: String,
}

/// One published version of TAK. Immutable; shared behind an `ArcSwap`.
#[derive(Debug)]
pub struct Snapshot {
    version: u64,
    platform: String,
    published_at: DateTime<Utc>,
    executor: String,
    comment: String,
    catalogue: Catalogue,
    routes: Vec<PublishedRoute>,
    authorisations: Vec<PublishedAuthorisation>,
    /// `lower(contract)|lower(address)` → indexes into `routes`.
    route_index: HashMap<String, Vec<usize>>,
    /// `lower(consumer)|lower(contract)|lower(address)` → validities.
    authorisation_index: HashMap<String, Vec<Validity>>,
}

/// Two snapshots are equal when their metadata and published rows are: the lookup indexes are
/// derived from the rows. Used to check that a replay gives the same versions.
impl PartialEq for Snapshot {
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version
            && self.platform == other.platform
            && self.published_at == other.published_at
            && self.executor == other.executor
            && self.comment == other.comment
            && self.catalogue == other.catalogue
    }
}

impl Eq for Snapshot {}

fn route_key(contract: &str, address: &str) -> String {
    format!("{}|{}", contract.to_lowercase(), address.to_lowercase())
}

fn authorisation_key(consumer: &str, contract: &str, address: &str) -> String {
    format!(
        "{}|{}|{}",
        consumer.to_lowercase(),
        contract.to_lowercase(),
        address.to_lowercase()
    )
}

impl Snapshot {
    /// Freezes the active rows of `catalogue` as version `version`. Rows whose references cannot
    /// be resolved to active rows are left out.
    pub fn build(
        version: u64,
        platform: &str,
        published_at: DateTime<Utc>,
        executor: &str,
        comment: &str,
        catalogue: &Catalogue,
    ) -> Snapshot {
        let active = active_only(catalogue);
        let la = |id| active.logical_addresses.get(id).map(|r| r.hsa_id.clone());
        let contract = |id| active.contracts.get(id).map(|r| r.namespace.clone());
        let component = |id| active.components.get(id).map(|r| r.hsa_id.clone());

        let mut routes = Vec::new();
        let mut route_index: HashMap<String, Vec<usize>> = HashMap::new();
        for row in active.routes.rows() {
            let Some(call) = active.call_addresses.get(row.call_address) else {
                continue;
            };
            let (Some(address), Some(namespace), Some(producer), Some(profile)) = (
                la(row.logical_address),
                contract(row.contract),
                component(call.producer),
                active.profiles.get(call.profile).map(|p| p.name.clone()),
            ) else {
                continue;
            };
            route_index
                .entry(route_key(&namespace, &address))
                .or_default()
                .push(routes.len());
            routes.push(PublishedRoute {
                id: row.id,
                logical_address: address,
                contract: namespace,
                target: RouteTarget {
                    url: call.url.clone(),
                    profile,
                    producer,
                    validity: row.validity,
                },
            });
        }

        let mut authorisations = Vec::new();
        let mut authorisation_index: HashMap<String, Vec<Validity>> = HashMap::new();
        for row in active.authorisations.rows() {
            let (Some(consumer), Some(namespace), Some(address)) = (
                component(row.consumer),
                contract(row.contract),
                la(row.logical_address),
            ) else {
                continue;
            };
            authorisation_index
                .entry(authorisation_key(&consumer, &namespace, &address))
                .or_default()
                .push(row.validity);
            authorisations.push(PublishedAuthorisation {
                id: row.id,
                consumer,
                contract: namespace,
                logical_address: address,
                validity: row.validity,
                integration_agreement: row.integration_agreement.clone(),
            });
        }

        Snapshot {
            version,
            platform: platform.to_string(),
            published_at,
            executor: executor.to_string(),
            comment: comment.to_string(),
            catalogue: active,
            routes,
            authorisations,
            route_index,
            authorisation_index,
        }
    }

    /// Publish version id: 1, 2, 3, …
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The TAK platform name, e.g. `NTJP-TEST`.
    pub fn platform(&self) -> &str {
        &self.platform
    }

    /// When the version was published.
    pub fn published_at(&self) -> DateTime<Utc> {
        self.published_at
    }

    /// Who published (utförare).
    pub fn executor(&self) -> &str {
        &self.executor
    }

    /// The publish comment (kommentar).
    pub fn comment(&self) -> &str {
        &self.comment
    }

    /// The published rows of every table (active rows only), for read APIs and exports.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// All published routes, resolved to natural keys, in id order.
    pub fn routes(&self) -> &[PublishedRoute] {
        &self.routes
    }

    /// All published authorisations, resolved to natural keys, in id order.
    pub fn authorisations(&self) -> &[PublishedAuthorisation] {
        &self.authorisations
    }

    /// Routes (vägval) valid on `today` for exactly this (contract, logical address),
    /// case-insensitive, without fallback.
    fn valid_routes(&self, contract: &str, address: &str, today: Day) -> Vec<&RouteTarget> {
        self.route_index
            .get(&route_key(contract, address))
            .map(|ids| {
                ids.iter()
                    .filter_map(|&i| self.routes.get(i))
                    .map(|r| &r.target)
                    .filter(|t| t.validity.contains(today))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn is_authorised_exactly(
        &self,
        consumer: &str,
        contract: &str,
        address: &str,
        today: Day,
    ) -> bool {
        self.authorisation_index
            .get(&authorisation_key(consumer, contract, address))
            .is_some_and(|vs| vs.iter().any(|v| v.contains(today)))
    }

    /// Routes (vägval) valid on `today` for (contract, logical address), case-insensitive.
    /// Fallback after an exact miss: climb the HSA tree towards `SE` (we have no HSA tree: every
    /// address other than SE has parent SE), then `*`.
    /// Returns the valid routes of the FIRST address in that order that has any (router: 0 →
    /// VP004, >1 → VP006, empty url → VP010).
    /// The trace is like real VP's: `01` for an exact hit; `AnyReceiver,(parent),SE`;
    /// `AnyReceiver,(parent),SE,(default),*`.
    pub fn route(&self, contract: &str, logical_address: &str, today: Day) -> RouteLookup<'_> {
        let mut trace = logical_address.to_string();
        let matches = self.valid_routes(contract, logical_address, today);
        if !matches.is_empty() {
            return RouteLookup { matches, trace };
        }
        if !logical_address.eq_ignore_ascii_case(HSA_ROOT) {
            trace.push_str(",(parent),");
            trace.push_str(HSA_ROOT);
            let matches = self.valid_routes(contract, HSA_ROOT, today);
            if !matches.is_empty() {
                return RouteLookup { matches, trace };
            }
        }
        if logical_address != DEFAULT_ADDRESS {
            trace.push_str(",(default),");
            trace.push_str(DEFAULT_ADDRESS);
            let matches = self.valid_routes(contract, DEFAULT_ADDRESS, today);
            return RouteLookup { matches, trace };
        }
        RouteLookup {
            matches: Vec::new(),
            trace,
        }
    }

    /// Authorisation (anropsbehörighet) valid on `today`: exact, then `*`, then the climb to SE.
    /// Case-insensitive on all three.
    pub fn authorise(
        &self,
        consumer: &str,
        contract: &str,
        logical_address: &str,
        today: Day,
    ) -> AuthorisationLookup {
        let mut trace = logical_address.to_string();
        if self.is_authorised_exactly(consumer, contract, logical_address, today) {
            return AuthorisationLookup {
                granted: true,
                trace,
            };
        }
        if logical_address != DEFAULT_ADDRESS {
            trace.push_str(",(default),");
            trace.push_str(DEFAULT_ADDRESS);
            if self.is_authorised_exactly(consumer, contract, DEFAULT_ADDRESS, today) {
                return AuthorisationLookup {
                    granted: true,
                    trace,
                };
            }
        }
        if !logical_address.eq_ignore_ascii_case(HSA_ROOT) {
            trace.push_str(",(parent),");
            trace.push_str(HSA_ROOT);
            if self.is_authorised_exactly(consumer, contract, HSA_ROOT, today) {
                return AuthorisationLookup {
                    granted: true,
                    trace,
                };
            }
        }
        AuthorisationLookup {
            granted: false,
            trace,
        }
    }

    /// Number of published routes and authorisations.
    pub fn counts(&self) -> SnapshotCounts {
        SnapshotCounts {
            routes: self.routes.len(),
            authorisations: self.authorisations.len(),
        }
    }
}

/// A copy of the catalogue holding only active rows (ids unchanged).
fn active_only(catalogue: &Catalogue) -> Catalogue {
    let mut out = catalogue.clone();
    out.profiles.retain_active();
    out.components.retain_active();
    out.contracts.retain_active();
    out.logical_addresses.retain_active();
    out.call_addresses.retain_active();
    out.routes.retain_active();
    out.authorisations.retain_active();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tak::model::*;

    const CONTRACT: &str = "urn:riv:clinicalprocess:logistics:cervixscreening:ProcessCervixScreeningInformationResponder:1";

    fn day(s: &str) -> Day {
        s.parse().unwrap()
    }

    /// A small catalogue built directly (not through orders).
    struct Builder {
        c: Catalogue,
        contract: Id,
        profile: Id,
    }

    impl Builder {
        fn new() -> Self {
            let mut c = Catalogue::default();
            let profile = c.profiles.insert(RivtaProfile {
                name: "RIVTABP21".into(),
                description: String::new(),
            });
            let contract = c.contracts.insert(ServiceContract {
                namespace: CONTRACT.into(),
                description: String::new(),
                major_version: 1,
                minor_version: 0,
            });
            Builder {
                c,
                contract,
                profile,
            }
        }

        fn address(&mut self, hsa: &str) -> Id {
            if let Some(r) = self.c.logical_addresses.active().find(|r| r.hsa_id == hsa) {
                return r.id;
            }
            self.c.logical_addresses.insert(LogicalAddress {
                hsa_id: hsa.into(),
                description: String::new(),
            })
        }

        fn component(&mut self, hsa: &str) -> Id {
            if let Some(r) = self.c.components.active().find(|r| r.hsa_id == hsa) {
                return r.id;
            }
            self.c.components.insert(ServiceComponent {
                hsa_id: hsa.into(),
                description: String::new(),
            })
        }

        fn route(&mut self, la: &str, producer: &str, url: &str, from: &str, to: &str) {
            let logical_address = self.address(la);
            let producer = self.component(producer);
            let call_address = self.c.call_addresses.insert(CallAddress {
                producer,
                profile: self.profile,
                url: url.into(),
            });
            self.c.routes.insert(Route {
                logical_address,
                contract: self.contract,
                call_address,
                validity: Validity::new(day(from), day(to)),
            });
        }

        fn auth(&mut self, consumer: &str, la: &str, from: &str, to: &str) {
            let consumer = self.component(consumer);
            let logical_address = self.address(la);
            self.c.authorisations.insert(Authorisation {
                consumer,
                contract: self.contract,
                logical_address,
                validity: Validity::new(day(from), day(to)),
                integration_agreement: "AUTOTAKNING".into(),
            });
        }

        fn build(&self) -> Snapshot {
            Snapshot::build(3, "NTJP-TEST", Utc::now(), "test", "", &self.c)
        }
    }

    #[test]
    fn route_exact_is_case_insensitive_and_inclusive() {
        let mut b = Builder::new();
        b.route(
            "load-mocks",
            "P",
            "https://x/load",
            "2025-01-01",
            "2025-12-31",
        );
        let s = b.build();
        let upper = CONTRACT.to_uppercase();
        for d in ["2025-01-01", "2025-12-31"] {
            let r = s.route(&upper, "LOAD-MOCKS", day(d));
            assert_eq!(r.matches.len(), 1, "{d}");
            assert_eq!(r.matches[0].url, "https://x/load");
            assert_eq!(r.trace, "LOAD-MOCKS");
        }
        assert!(
            s.route(CONTRACT, "LOAD-MOCKS", day("2024-12-31"))
                .matches
                .is_empty()
        );
        assert!(
            s.route(CONTRACT, "LOAD-MOCKS", day("2026-01-01"))
                .matches
                .is_empty()
        );
        assert_eq!(s.version(), 3);
        assert_eq!(s.platform(), "NTJP-TEST");
        assert_eq!(s.counts().routes, 1);
    }

    #[test]
    fn route_falls_back_to_se_then_default() {
        let mut b = Builder::new();
        b.route("01", "P01", "https://x/01", "2025-01-01", "2125-01-01");
        b.route("SE", "PSE", "https://x/se", "2025-01-01", "2125-01-01");
        b.route("*", "PDEF", "https://x/default", "2025-01-01", "2125-01-01");
        let s = b.build();
        let today = day("2026-11-22");

        let exact = s.route(CONTRACT, "01", today);
        assert_eq!(exact.matches[0].producer, "P01");
        assert_eq!(exact.trace, "01");

        let parent = s.route(CONTRACT, "AnyReceiver", today);
        assert_eq!(parent.matches[0].producer, "PSE");
        assert_eq!(parent.trace, "AnyReceiver,(parent),SE");

        let mut b = Builder::new();
        b.route("*", "PDEF", "https://x/default", "2025-01-01", "2125-01-01");
        let s = b.build();
        let default = s.route(CONTRACT, "AnyReceiver", today);
        assert_eq!(default.matches[0].producer, "PDEF");
        assert_eq!(default.trace, "AnyReceiver,(parent),SE,(default),*");

        let empty = Builder::new().build();
        let none = empty.route(CONTRACT, "AnyReceiver", today);
        assert!(none.matches.is_empty());
        assert_eq!(none.trace, "AnyReceiver,(parent),SE,(default),*");
    }

    #[test]
    fn route_fallback_skips_routes_not_valid_today() {
        let mut b = Builder::new();
        b.route("01", "P01", "https://x/01", "2020-01-01", "2020-12-31");
        b.route("SE", "PSE", "https://x/se", "2025-01-01", "2125-01-01");
        let s = b.build();
        let r = s.route(CONTRACT, "01", day("2026-01-01"));
        assert_eq!(r.matches[0].producer, "PSE");
        assert_eq!(r.trace, "01,(parent),SE");
    }

    #[test]
    fn two_valid_routes_give_two_matches() {
        let mut b = Builder::new();
        b.route("01", "A", "https://x/a", "2025-01-01", "2125-01-01");
        b.route("01", "B", "https://x/b", "2025-06-01", "2125-01-01");
        let s = b.build();
        assert_eq!(s.route(CONTRACT, "01", day("2025-07-01")).matches.len(), 2);
        assert_eq!(s.route(CONTRACT, "01", day("2025-02-01")).matches.len(), 1);
    }

    #[test]
    fn deleted_rows_are_not_published() {
        let mut b = Builder::new();
        b.route("01", "A", "https://x/a", "2025-01-01", "2125-01-01");
        if let Some(r) = b.c.routes.get_mut(1) {
            r.state = RowState::Deleted;
        }
        let s = b.build();
        assert!(
            s.route(CONTRACT, "01", day("2025-07-01"))
                .matches
                .is_empty()
        );
        assert_eq!(s.counts().routes, 0);
        assert!(s.catalogue().routes.is_empty());
    }

    #[test]
    fn authorisation_exact_then_default_then_se() {
        let today = day("2026-11-22");
        let mut b = Builder::new();
        b.auth("KONS", "01", "2025-01-01", "2125-01-01");
        let s = b.build();
        let a = s.authorise("kons", &CONTRACT.to_uppercase(), "01", today);
        assert!(a.granted);
        assert_eq!(a.trace, "01");
        let a = s.authorise("KONS", CONTRACT, "03", today);
        assert!(!a.granted);
        assert_eq!(a.trace, "03,(default),*,(parent),SE");

        let mut b = Builder::new();
        b.auth("KONS", "*", "2025-01-01", "2125-01-01");
        let a = b.build().authorise("KONS", CONTRACT, "03", today);
        assert!(a.granted);
        assert_eq!(a.trace, "03,(default),*");

        let mut b = Builder::new();
        b.auth("KONS", "se", "2025-01-01", "2125-01-01");
        let s = b.build();
        let a = s.authorise("KONS", CONTRACT, "LOAD-MOCKS", today);
        assert!(a.granted);
        assert_eq!(a.trace, "LOAD-MOCKS,(default),*,(parent),SE");
        assert!(!s.authorise("OTHER", CONTRACT, "01", today).granted);
        assert!(!s.authorise("KONS", "urn:other:1", "01", today).granted);
    }

    #[test]
    fn authorisation_validity_is_inclusive() {
        let mut b = Builder::new();
        b.auth("KONS", "01", "2025-01-01", "2025-01-31");
        let s = b.build();
        assert!(
            s.authorise("KONS", CONTRACT, "01", day("2025-01-01"))
                .granted
        );
        assert!(
            s.authorise("KONS", CONTRACT, "01", day("2025-01-31"))
                .granted
        );
        assert!(
            !s.authorise("KONS", CONTRACT, "01", day("2025-02-01"))
                .granted
        );
        assert!(
            !s.authorise("KONS", CONTRACT, "01", day("2024-12-31"))
                .granted
        );
        assert_eq!(s.counts().authorisations, 1);
    }
}
