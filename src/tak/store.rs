//! The mutable TAK catalogue of one environment (one platform, e.g. `NTJP-QA`).
//!
//! Orders change the store (see [`crate::orders::apply`]); every change is pending until
//! [`Store::publish`] freezes the active rows into an immutable [`Snapshot`]. The store keeps every
//! published version (publiceringshistorik) and can roll back the latest one as tak-web does: the
//! rows published in it become pending again and the version is dropped. It shows the pending
//! changes ([`Store::pending`]) and offers the case-insensitive natural-key lookups that order
//! validation needs.
//!
//! Everything is deterministic: version ids come from a counter (like the real auto-increment id,
//! never reused after a rollback) and the publish time is passed in, so replaying the same orders,
//! publishes and rollbacks on a fresh store gives identical snapshots. It does no IO and never
//! reads the clock.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::model::{
    Authorisation, CallAddress, Catalogue, Id, LogicalAddress, RivtaProfile, Route, Row,
    ServiceComponent, ServiceContract, Validity,
};
use super::pending::{self, PendingChanges};
use super::snapshot::Snapshot;

/// tak-web's refusal to publish when nothing is pending (`PublishDataWrapper.getPublishErrors`).
pub const NOTHING_TO_PUBLISH: &str =
    "Det finns inga ändringar, genomförda av inloggad användare, att publicera";
/// tak-web's refusal to roll back anything but the latest version (`PubVersionService.rollback`).
pub const ROLLBACK_NOT_LATEST: &str = "Rollback får endast göras på senaste version.";

/// Why [`Store::try_publish`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// Nothing is pending.
    #[error("{}", NOTHING_TO_PUBLISH)]
    NothingToPublish,
}

/// Why [`Store::rollback`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollbackError {
    /// `requested` is not the latest version (`latest`; `None` when nothing is published).
    #[error("{}", ROLLBACK_NOT_LATEST)]
    NotLatest {
        /// The version asked for.
        requested: u64,
        /// The latest published version, if any.
        latest: Option<u64>,
    },
}

/// The RIVTA profiles every TAK is seeded with (orders cannot create profiles).
pub const SEEDED_PROFILES: [(&str, &str); 2] = [
    ("RIVTABP20", "RIV Tekniska Anvisningar Basic Profile 2.0"),
    ("RIVTABP21", "RIV Tekniska Anvisningar Basic Profile 2.1"),
];

/// Case-insensitive equality as MySQL's default collation (and Java's `equalsIgnoreCase`) does it.
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// The catalogue of one TAK instance plus its publish history.
#[derive(Debug, Clone)]
pub struct Store {
    /// The instance name orders must name (`tak.platform`).
    platform: String,
    /// The live tables, with pending and deleted rows.
    pub(crate) catalogue: Catalogue,
    /// The highest version id ever issued (the PubVersion auto-increment); not lowered by a
    /// rollback, so a rolled-back id is never reused.
    last_version_id: u64,
    /// The published versions, oldest first; the last one is what the read APIs and the router
    /// serve.
    history: Vec<Arc<Snapshot>>,
}

impl Store {
    /// An empty TAK for `platform`, seeded with the RIVTA profiles RIVTABP20 and RIVTABP21
    /// (seeded rows count as published, so a fresh store has no pending changes).
    pub fn new(platform: &str) -> Self {
        let mut catalogue = Catalogue::default();
        for (name, description) in SEEDED_PROFILES {
            catalogue.profiles.insert(RivtaProfile {
                name: name.to_string(),
                description: description.to_string(),
            });
        }
        catalogue.mark_published(0);
        Store {
            platform: platform.to_string(),
            catalogue,
            last_version_id: 0,
            history: Vec::new(),
        }
    }

    /// Adds a RIVTA profile as a TAK administrator would (orders cannot). Idempotent: an existing
    /// active profile with the same name (case-insensitive) is kept and its id returned. A new
    /// profile is pending until the next publish.
    pub fn add_rivta_profile(&mut self, name: &str) -> Id {
        let name = name.trim();
        if let Some(existing) = self.find_profile(name) {
            return existing.id;
        }
        self.catalogue.profiles.insert(RivtaProfile {
            name: name.to_string(),
            description: String::new(),
        })
    }

    /// The platform name orders must name in `plattform`, e.g. `NTJP-TEST`.
    pub fn platform(&self) -> &str {
        &self.platform
    }

    /// All tables, including deleted and pending rows.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Whether some change has not been published yet: whether [`Store::pending`] lists anything.
    pub fn has_pending_changes(&self) -> bool {
        pending::has_pending(&self.catalogue, self.history.last().map(|s| s.as_ref()))
    }

    /// The unpublished changes per entity kind, against the latest published version.
    pub fn pending(&self) -> PendingChanges {
        pending::pending(&self.catalogue, self.history.last().map(|s| s.as_ref()))
    }

    /// The latest published version id (0 when nothing is published).
    pub fn published_version(&self) -> u64 {
        self.history.last().map_or(0, |s| s.version())
    }

    /// The latest published snapshot, if any.
    pub fn latest_snapshot(&self) -> Option<Arc<Snapshot>> {
        self.history.last().cloned()
    }

    /// Every published version still in the history, oldest first.
    pub fn versions(&self) -> &[Arc<Snapshot>] {
        &self.history
    }

    /// The published version with this id, if it is in the history (rolled-back versions are not).
    pub fn snapshot(&self, version: u64) -> Option<Arc<Snapshot>> {
        self.history
            .iter()
            .find(|s| s.version() == version)
            .cloned()
    }

    /// Publishes: freezes the current active rows into a new [`Snapshot`] with the next version
    /// id, appends it to the history and clears the pending marks. Publishing without pending
    /// changes still makes a new version (real tak-web refuses; see [`Store::try_publish`]).
    pub fn publish(&mut self, executor: &str, comment: &str, at: DateTime<Utc>) -> Arc<Snapshot> {
        self.last_version_id += 1;
        let version = self.last_version_id;
        self.catalogue.mark_published(version);
        let snapshot = Arc::new(Snapshot::build(
            version,
            &self.platform,
            at,
            executor,
            comment,
            &self.catalogue,
        ));
        self.history.push(Arc::clone(&snapshot));
        snapshot
    }

    /// Publishes as tak-web does: refused with [`NOTHING_TO_PUBLISH`] when nothing is pending.
    pub fn try_publish(
        &mut self,
        executor: &str,
        comment: &str,
        at: DateTime<Utc>,
    ) -> Result<Arc<Snapshot>, PublishError> {
        if !self.has_pending_changes() {
            return Err(PublishError::NothingToPublish);
        }
        Ok(self.publish(executor, comment, at))
    }

    /// Rolls back the latest version as tak-web does: only the latest may be rolled back
    /// ([`ROLLBACK_NOT_LATEST`] otherwise, also when nothing is published); every row published
    /// in it becomes pending again (losing its publish version, as tak-web sets
    /// `pubVersion = null`) and the version leaves the history. The live tables are not changed,
    /// so publishing again gives the same content. Returns the now-latest snapshot (`None` when
    /// no version is left), which the router should serve from now on.
    pub fn rollback(&mut self, version: u64) -> Result<Option<Arc<Snapshot>>, RollbackError> {
        let latest = self.history.last().map(|s| s.version());
        if latest != Some(version) {
            return Err(RollbackError::NotLatest {
                requested: version,
                latest,
            });
        }
        self.catalogue.unpublish(version);
        self.history.pop();
        Ok(self.latest_snapshot())
    }

    /// The active RIVTA profile with this name (case-insensitive).
    pub fn find_profile(&self, name: &str) -> Option<&Row<RivtaProfile>> {
        self.catalogue
            .profiles
            .active()
            .find(|r| same_key(&r.name, name))
    }

    /// The active service component with this HSA-id (case-insensitive).
    pub fn find_component(&self, hsa_id: &str) -> Option<&Row<ServiceComponent>> {
        self.catalogue
            .components
            .active()
            .find(|r| same_key(&r.hsa_id, hsa_id))
    }

    /// The active service contract with this namespace (case-insensitive).
    pub fn find_contract(&self, namespace: &str) -> Option<&Row<ServiceContract>> {
        self.catalogue
            .contracts
            .active()
            .find(|r| same_key(&r.namespace, namespace))
    }

    /// The active logical address with this HSA-id (case-insensitive).
    pub fn find_logical_address(&self, hsa_id: &str) -> Option<&Row<LogicalAddress>> {
        self.catalogue
            .logical_addresses
            .active()
            .find(|r| same_key(&r.hsa_id, hsa_id))
    }

    /// The active call address for (producer row, profile row, URL); the URL is case-sensitive.
    pub fn find_call_address(
        &self,
        producer: Id,
        profile: Id,
        url: &str,
    ) -> Option<&Row<CallAddress>> {
        self.catalogue
            .call_addresses
            .active()
            .find(|r| r.producer == producer && r.profile == profile && r.url == url)
    }

    fn address_matches(&self, id: Id, hsa_id: &str) -> bool {
        self.catalogue
            .logical_addresses
            .get(id)
            .is_some_and(|r| r.is_active() && same_key(&r.hsa_id, hsa_id))
    }

    fn contract_matches(&self, id: Id, namespace: &str) -> bool {
        self.catalogue
            .contracts
            .get(id)
            .is_some_and(|r| r.is_active() && same_key(&r.namespace, namespace))
    }

    fn component_matches(&self, id: Id, hsa_id: &str) -> bool {
        self.catalogue
            .components
            .get(id)
            .is_some_and(|r| r.is_active() && same_key(&r.hsa_id, hsa_id))
    }

    /// Active routes (vägval) for (logical address, contract), by natural key and
    /// case-insensitive, whose validity overlaps `period` (pending rows count).
    pub fn overlapping_routes(
        &self,
        logical_address: &str,
        contract: &str,
        period: Validity,
    ) -> Vec<&Row<Route>> {
        self.catalogue
            .routes
            .active()
            .filter(|r| {
                r.validity.overlaps(&period)
                    && self.address_matches(r.logical_address, logical_address)
                    && self.contract_matches(r.contract, contract)
            })
            .collect()
    }

    /// Active authorisations (anropsbehörigheter) for (logical address, consumer, contract), by
    /// natural key and case-insensitive, whose validity overlaps `period` (pending rows count).
    pub fn overlapping_authorisations(
        &self,
        logical_address: &str,
        consumer: &str,
        contract: &str,
        period: Validity,
    ) -> Vec<&Row<Authorisation>> {
        self.catalogue
            .authorisations
            .active()
            .filter(|r| {
                r.validity.overlaps(&period)
                    && self.address_matches(r.logical_address, logical_address)
                    && self.component_matches(r.consumer, consumer)
                    && self.contract_matches(r.contract, contract)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::tak::model::RowState;
    use crate::tak::testutil::{self, at, v};
    use crate::tak::{diff, export};

    #[test]
    fn try_publish_refuses_without_changes_with_the_real_text() {
        let mut s = Store::new("NTJP-QA");
        let err = s.try_publish("admin", "tomt", at(0)).unwrap_err();
        assert_eq!(err, PublishError::NothingToPublish);
        assert_eq!(
            err.to_string(),
            "Det finns inga ändringar, genomförda av inloggad användare, att publicera"
        );
        assert!(s.versions().is_empty());

        let (mut s, _) = testutil::store();
        let first = s.try_publish("admin", "första", at(1)).unwrap();
        assert_eq!(first.version(), 1);
        assert_eq!(
            s.try_publish("admin", "igen", at(2)),
            Err(PublishError::NothingToPublish)
        );
        // The unconditional publish still makes a version.
        assert_eq!(s.publish("admin", "igen", at(3)).version(), 2);
        assert_eq!(s.published_version(), 2);
    }

    #[test]
    fn every_publish_is_kept_in_the_history_oldest_first() {
        let (mut s, ids) = testutil::store();
        let one = s.publish("anna", "ett", at(10));
        if let Some(r) = s.catalogue.routes.get_mut(ids.route_se) {
            r.item.validity = v("2025-07-01", "2025-09-30");
            r.pending = true;
        }
        let two = s.publish("bertil", "två", at(20));
        let versions: Vec<_> = s.versions().iter().map(|v| v.version()).collect();
        assert_eq!(versions, vec![1, 2]);
        assert_eq!(s.versions()[0].executor(), "anna");
        assert_eq!(s.versions()[1].comment(), "två");
        assert_eq!(s.versions()[1].published_at(), at(20));
        assert!(Arc::ptr_eq(&s.versions()[0], &one));
        assert!(Arc::ptr_eq(&s.latest_snapshot().unwrap(), &two));
        assert_eq!(
            s.snapshot(1).map(|v| v.comment().to_string()),
            Some("ett".into())
        );
        assert!(s.snapshot(3).is_none());
    }

    #[test]
    fn only_the_latest_version_may_be_rolled_back() {
        let mut s = Store::new("NTJP-QA");
        let err = s.rollback(1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Rollback får endast göras på senaste version."
        );
        assert_eq!(
            err,
            RollbackError::NotLatest {
                requested: 1,
                latest: None
            }
        );

        let (mut s, ids) = testutil::store();
        s.publish("admin", "ett", at(1));
        if let Some(r) = s.catalogue.authorisations.get_mut(ids.auth_se) {
            r.state = RowState::Deleted;
            r.pending = true;
        }
        s.publish("admin", "två", at(2));
        for wrong in [1, 3, 0] {
            assert_eq!(
                s.rollback(wrong),
                Err(RollbackError::NotLatest {
                    requested: wrong,
                    latest: Some(2)
                })
            );
        }
        assert_eq!(s.versions().len(), 2);
    }

    #[test]
    fn rollback_makes_the_rows_pending_again_and_drops_the_version() {
        let (mut s, ids) = testutil::store();
        let one = s.publish("admin", "ett", at(1));
        if let Some(r) = s.catalogue.authorisations.get_mut(ids.auth_se) {
            r.state = RowState::Deleted;
            r.pending = true;
        }
        if let Some(r) = s.catalogue.routes.get_mut(ids.route_se) {
            r.item.validity = v("2025-07-01", "2025-08-31");
            r.pending = true;
        }
        let two = s.publish("admin", "två", at(2));
        assert!(!s.has_pending_changes());

        let now = s.rollback(2).unwrap();
        assert!(Arc::ptr_eq(now.as_ref().unwrap(), &one));
        assert_eq!(s.published_version(), 1);
        assert_eq!(s.versions().len(), 1);
        // The live tables are unchanged; the two rows of version 2 are pending again.
        let pending = s.pending();
        assert_eq!(pending.base_version, Some(1));
        assert_eq!(pending.len(), 2);
        assert_eq!(pending.routes[0].row.id, ids.route_se);
        assert_eq!(pending.routes[0].change, pending::Change::Changed);
        assert_eq!(pending.authorisations[0].row.id, ids.auth_se);
        assert_eq!(pending.authorisations[0].change, pending::Change::Deleted);
        assert_eq!(
            s.catalogue()
                .routes
                .get(ids.route_se)
                .and_then(|r| r.published_in),
            None
        );
        assert_eq!(
            s.catalogue()
                .routes
                .get(ids.route_01)
                .and_then(|r| r.published_in),
            Some(1)
        );

        // Publishing again gives the rolled-back content under a new id (never reused).
        let three = s.try_publish("admin", "tre", at(3)).unwrap();
        assert_eq!(three.version(), 3);
        assert!(diff(&two, &three).is_empty());

        // Rolling back everything leaves no version; every row is new again.
        assert!(Arc::ptr_eq(s.rollback(3).unwrap().as_ref().unwrap(), &one));
        assert_eq!(s.rollback(1), Ok(None));
        assert!(s.latest_snapshot().is_none());
        assert_eq!(s.published_version(), 0);
        let pending = s.pending();
        assert_eq!(pending.base_version, None);
        assert!(
            pending
                .routes
                .iter()
                .all(|r| r.change == pending::Change::New)
        );
        // The deleted, never (any more) published authorisation is nothing to publish.
        assert_eq!(pending.authorisations.len(), 1);
        assert_eq!(pending.authorisations[0].row.id, ids.auth_01);
        assert_eq!(s.publish("admin", "fyra", at(4)).version(), 4);
    }

    /// One scripted session: orders, publishes, a refused publish, a refused and a real rollback.
    fn session() -> (Store, Vec<String>) {
        let mocks = "https://127.0.0.1:25000/mocks";
        let orders = [
            include_str!("../../fixtures/orders/sit/01-producer-cervix-mocks.json"),
            include_str!("../../fixtures/orders/sit/02-consumer-testbed.json"),
            include_str!("../../fixtures/orders/examples/replace-route-14.json"),
            include_str!("../../fixtures/orders/examples/exclude-route-25.json"),
        ]
        .map(|t| crate::orders::parse(&t.replace("{{mocks}}", mocks)).unwrap());
        let mut s = Store::new("NTJP-TEST");
        let mut log = Vec::new();
        crate::orders::apply(&mut s, &orders[0]).unwrap();
        crate::orders::apply(&mut s, &orders[1]).unwrap();
        s.publish("ntjp serve", "Beställningar vid start", at(0));
        log.push(format!("{:?}", s.try_publish("admin", "tomt", at(1))));
        crate::orders::apply(&mut s, &orders[2]).unwrap();
        s.publish("admin", "byte 14", at(100));
        log.push(format!("{:?}", s.rollback(1)));
        log.push(format!(
            "{:?}",
            s.rollback(2).map(|v| v.map(|v| v.version()))
        ));
        crate::orders::apply(&mut s, &orders[3]).unwrap();
        log.push(format!(
            "{:?}",
            s.try_publish("admin", "byte 14 och 25", at(200))
                .map(|v| v.version())
        ));
        (s, log)
    }

    #[test]
    fn replaying_a_session_on_a_fresh_store_gives_identical_versions() {
        let (a, log_a) = session();
        let (b, log_b) = session();
        assert_eq!(log_a, log_b);
        assert_eq!(
            log_a,
            vec![
                "Err(NothingToPublish)".to_string(),
                "Err(NotLatest { requested: 1, latest: Some(2) })".to_string(),
                "Ok(Some(1))".to_string(),
                "Ok(3)".to_string(),
            ]
        );
        let ids = |s: &Store| s.versions().iter().map(|v| v.version()).collect::<Vec<_>>();
        assert_eq!(ids(&a), vec![1, 3]);
        assert_eq!(a.versions(), b.versions());
        assert_eq!(a.catalogue(), b.catalogue());
        assert_eq!(a.pending(), b.pending());
        for (x, y) in a.versions().iter().zip(b.versions()) {
            assert_eq!(export::export(x), export::export(y));
        }
        // Version 3 holds the replaced route 14 and no route 25.
        let latest = a.latest_snapshot().unwrap();
        let today = testutil::day("2026-12-02");
        let r14 = latest.route(testutil::NS, "14", today);
        assert_eq!(r14.matches.len(), 1);
        assert!(r14.matches[0].url.ends_with("?nytt"));
        assert!(latest.route(testutil::NS, "25", today).matches.is_empty());
        assert_eq!(latest.published_at(), at(200));
    }

    #[test]
    fn new_store_is_seeded_and_clean() {
        let s = Store::new("NTJP-QA");
        assert_eq!(s.platform(), "NTJP-QA");
        assert!(s.find_profile("rivtabp21").is_some());
        assert!(s.find_profile("RIVTABP20").is_some());
        assert!(s.find_profile("RIVTABP30").is_none());
        assert!(!s.has_pending_changes());
        assert_eq!(s.published_version(), 0);
        assert!(s.latest_snapshot().is_none());
    }

    #[test]
    fn publish_bumps_version_and_clears_pending() {
        let mut s = Store::new("NTJP-TEST");
        s.catalogue.logical_addresses.insert(LogicalAddress {
            hsa_id: "01".into(),
            description: String::new(),
        });
        assert!(s.has_pending_changes());
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let first = s.publish("admin", "first", at);
        assert_eq!(first.version(), 1);
        assert_eq!(first.published_at(), at);
        assert_eq!(first.executor(), "admin");
        assert_eq!(first.comment(), "first");
        assert!(!s.has_pending_changes());
        assert_eq!(
            s.catalogue()
                .logical_addresses
                .get(1)
                .and_then(|r| r.published_in),
            Some(1)
        );
        let second = s.publish("admin", "second", at);
        assert_eq!(second.version(), 2);
        assert_eq!(s.latest_snapshot().map(|s| s.version()), Some(2));
        assert_eq!(s.find_logical_address("01").map(|r| r.id), Some(1));
    }
}
