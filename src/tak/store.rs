//! The mutable TAK catalogue of one environment (one platform, e.g. `NTJP-QA`).
//!
//! Orders change the store (see [`crate::orders::apply`]); every change is pending until
//! [`Store::publish`] freezes the active rows into an immutable [`Snapshot`]. The store offers the
//! case-insensitive natural-key lookups that order validation needs. It does no IO and never reads
//! the clock: the publish time is passed in. Rollback and publish history are not here (yet).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::model::{
    Authorisation, CallAddress, Catalogue, Id, LogicalAddress, RivtaProfile, Route, Row,
    ServiceComponent, ServiceContract, Validity,
};
use super::snapshot::Snapshot;

/// The RIVTA profiles every TAK is seeded with (orders cannot create profiles).
pub const SEEDED_PROFILES: [(&str, &str); 2] = [
    ("RIVTABP20", "RIV Tekniska Anvisningar Basic Profile 2.0"),
    ("RIVTABP21", "RIV Tekniska Anvisningar Basic Profile 2.1"),
];

/// Case-insensitive equality as MySQL's default collation (and Java's `equalsIgnoreCase`) does it.
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

/// The catalogue of one TAK instance plus its publish state.
#[derive(Debug, Clone)]
pub struct Store {
    platform: String,
    pub(crate) catalogue: Catalogue,
    published_version: u64,
    latest: Option<Arc<Snapshot>>,
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
            published_version: 0,
            latest: None,
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

    /// Whether some change has not been published yet.
    pub fn has_pending_changes(&self) -> bool {
        self.catalogue.has_pending()
    }

    /// The latest published version id (0 before the first publish).
    pub fn published_version(&self) -> u64 {
        self.published_version
    }

    /// The latest published snapshot, if any.
    pub fn latest_snapshot(&self) -> Option<Arc<Snapshot>> {
        self.latest.clone()
    }

    /// Publishes: freezes the current active rows into a new [`Snapshot`] with the next version
    /// id, and clears the pending marks. Publishing without pending changes still makes a new
    /// version (real tak-web refuses that in its GUI; callers may check
    /// [`Store::has_pending_changes`] first).
    pub fn publish(&mut self, executor: &str, comment: &str, at: DateTime<Utc>) -> Arc<Snapshot> {
        self.published_version += 1;
        let version = self.published_version;
        self.catalogue.mark_published(version);
        let snapshot = Arc::new(Snapshot::build(
            version,
            &self.platform,
            at,
            executor,
            comment,
            &self.catalogue,
        ));
        self.latest = Some(Arc::clone(&snapshot));
        snapshot
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
