//! The pending view: which rows of the live catalogue differ from the latest published version
//! (new, changed or deleted, not yet published), readable by an API.
//!
//! A pending row is classified against the latest published snapshot rather than against its
//! `published_in` mark, because a rollback clears that mark (as tak-web clears `pubVersion`)
//! although the row may still be in an older published version:
//! - active and not in the snapshot → `new`;
//! - active and in the snapshot → `changed` (also when only re-saved, as tak-web shows it);
//! - deleted and in the snapshot → `deleted`;
//! - deleted and not in the snapshot → nothing to publish (tak-web would have removed such a
//!   never-published row physically), so it is left out.
//!
//! This module only reads; it never changes the store.

use serde::Serialize;

use super::model::{Catalogue, Row, Table};
use super::snapshot::Snapshot;
use super::view::{
    self, AuthorisationView, CallAddressView, ComponentView, ContractView, LogicalAddressView,
    ProfileView, RouteView, Scope,
};

/// How a pending row differs from the latest published version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Not in the published version (nyskapad).
    New,
    /// In the published version, changed or re-saved since (uppdaterad).
    Changed,
    /// In the published version, deleted since (borttagen).
    Deleted,
}

/// One pending row: the change and the row resolved to natural keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingRow<T> {
    /// New, changed or deleted.
    pub change: Change,
    /// The row as it is now (for a deleted row: as it was when deleted).
    #[serde(flatten)]
    pub row: T,
}

/// Every unpublished change of a store, per entity kind, in id order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingChanges {
    /// The published version the changes are relative to (`None` before the first publish).
    pub base_version: Option<u64>,
    /// RIVTA profiles (rivtaprofiler).
    pub rivta_profiles: Vec<PendingRow<ProfileView>>,
    /// Logical addresses (logiska adresser).
    pub logical_addresses: Vec<PendingRow<LogicalAddressView>>,
    /// Service components (tjänstekomponenter).
    pub components: Vec<PendingRow<ComponentView>>,
    /// Service contracts (tjänstekontrakt).
    pub contracts: Vec<PendingRow<ContractView>>,
    /// Call addresses (anropsadresser).
    pub call_addresses: Vec<PendingRow<CallAddressView>>,
    /// Routes (vägval).
    pub routes: Vec<PendingRow<RouteView>>,
    /// Authorisations (anropsbehörigheter).
    pub authorisations: Vec<PendingRow<AuthorisationView>>,
}

impl PendingChanges {
    /// Number of pending rows over all entity kinds.
    pub fn len(&self) -> usize {
        self.rivta_profiles.len()
            + self.logical_addresses.len()
            + self.components.len()
            + self.contracts.len()
            + self.call_addresses.len()
            + self.routes.len()
            + self.authorisations.len()
    }

    /// Whether there is nothing to publish.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The change of one row against the base table, if it is a change worth publishing.
fn classify<T>(row: &Row<T>, base: Option<&Table<T>>) -> Option<Change> {
    if !row.pending {
        return None;
    }
    let published = base.is_some_and(|t| t.get_active(row.id).is_some());
    match (row.is_active(), published) {
        (true, false) => Some(Change::New),
        (true, true) => Some(Change::Changed),
        (false, true) => Some(Change::Deleted),
        (false, false) => None,
    }
}

fn rows<T, V>(
    table: &Table<T>,
    base: Option<&Table<T>>,
    view: impl Fn(&Row<T>) -> Option<V>,
) -> Vec<PendingRow<V>> {
    table
        .rows()
        .filter_map(|r| {
            Some(PendingRow {
                change: classify(r, base)?,
                row: view(r)?,
            })
        })
        .collect()
}

fn any<T>(table: &Table<T>, base: Option<&Table<T>>) -> bool {
    table.rows().any(|r| classify(r, base).is_some())
}

/// The pending rows of `cat` against the published `base` (the latest snapshot, if any).
pub(crate) fn pending(cat: &Catalogue, base: Option<&Snapshot>) -> PendingChanges {
    let b = base.map(|s| s.catalogue());
    PendingChanges {
        base_version: base.map(|s| s.version()),
        rivta_profiles: rows(&cat.profiles, b.map(|b| &b.profiles), |r| {
            Some(view::profile(r))
        }),
        logical_addresses: rows(
            &cat.logical_addresses,
            b.map(|b| &b.logical_addresses),
            |r| Some(view::logical_address(r)),
        ),
        components: rows(&cat.components, b.map(|b| &b.components), |r| {
            Some(view::component(r))
        }),
        contracts: rows(&cat.contracts, b.map(|b| &b.contracts), |r| {
            Some(view::contract(r))
        }),
        call_addresses: rows(&cat.call_addresses, b.map(|b| &b.call_addresses), |r| {
            view::call_address(cat, Scope::All, r)
        }),
        routes: rows(&cat.routes, b.map(|b| &b.routes), |r| {
            view::route(cat, Scope::All, r)
        }),
        authorisations: rows(&cat.authorisations, b.map(|b| &b.authorisations), |r| {
            view::authorisation(cat, Scope::All, r)
        }),
    }
}

/// Whether [`pending`] would list anything, without building the views.
pub(crate) fn has_pending(cat: &Catalogue, base: Option<&Snapshot>) -> bool {
    let b = base.map(|s| s.catalogue());
    any(&cat.profiles, b.map(|b| &b.profiles))
        || any(&cat.components, b.map(|b| &b.components))
        || any(&cat.contracts, b.map(|b| &b.contracts))
        || any(&cat.logical_addresses, b.map(|b| &b.logical_addresses))
        || any(&cat.call_addresses, b.map(|b| &b.call_addresses))
        || any(&cat.routes, b.map(|b| &b.routes))
        || any(&cat.authorisations, b.map(|b| &b.authorisations))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tak::Store;
    use crate::tak::model::{Authorisation, LogicalAddress, Route, Row, RowState};
    use crate::tak::testutil::{self, at, v};

    #[test]
    fn a_fresh_store_has_nothing_pending() {
        let s = Store::new("NTJP-QA");
        let p = s.pending();
        assert!(p.is_empty());
        assert_eq!(p.base_version, None);
        assert!(!s.has_pending_changes());
    }

    #[test]
    fn new_rows_are_new_until_published() {
        let (mut s, ids) = testutil::store();
        let p = s.pending();
        assert_eq!(p.base_version, None);
        assert_eq!(p.len(), 1 + 2 + 2 + 1 + 2 + 2);
        assert!(p.rivta_profiles.is_empty(), "seeded profiles are published");
        assert!(p.routes.iter().all(|r| r.change == Change::New));
        let r = &p.routes[0].row;
        assert_eq!(r.id, ids.route_01);
        assert_eq!(
            (r.logical_address.as_str(), r.contract.as_str()),
            ("01", testutil::NS)
        );
        assert_eq!(
            (r.producer.as_str(), r.profile.as_str(), r.url.as_str()),
            ("P1", "RIVTABP21", testutil::URL)
        );
        assert_eq!(r.validity, v("2025-01-01", "2125-01-01"));
        s.publish("admin", "ett", at(0));
        assert!(s.pending().is_empty());
        assert_eq!(s.pending().base_version, Some(1));
    }

    #[test]
    fn changed_deleted_and_never_published_rows() {
        let (mut s, ids) = testutil::store();
        s.publish("admin", "ett", at(0));
        s.change(ids.route_01, |r: &mut Row<Route>| {
            r.item.validity.to = testutil::day("2025-12-31");
            r.pending = true;
        });
        s.change(ids.auth_se, |r: &mut Row<Authorisation>| {
            r.state = RowState::Deleted;
            r.pending = true;
        });
        // Created and deleted before any publish: nothing to publish.
        let gone = s.insert(LogicalAddress {
            hsa_id: "03".into(),
            description: Default::default(),
        });
        s.change(gone, |r: &mut Row<LogicalAddress>| {
            r.state = RowState::Deleted;
        });
        let p = s.pending();
        assert_eq!(p.base_version, Some(1));
        assert_eq!(p.len(), 2);
        assert_eq!(p.routes[0].change, Change::Changed);
        assert_eq!(p.routes[0].row.validity, v("2025-01-01", "2025-12-31"));
        assert_eq!(p.authorisations[0].change, Change::Deleted);
        assert_eq!(p.authorisations[0].row.id, ids.auth_se);
        assert_eq!(p.authorisations[0].row.logical_address, "SE");
        assert!(p.logical_addresses.is_empty());
        assert!(s.has_pending_changes());

        // Readable by an API: the change next to the row's fields.
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["base_version"], 1);
        let route = &json["routes"][0];
        assert_eq!(route["change"], "changed");
        assert_eq!(route["id"], ids.route_01);
        assert_eq!(route["logical_address"], "01");
        assert_eq!(route["validity"]["to"], "2025-12-31");
        assert_eq!(json["authorisations"][0]["change"], "deleted");
        assert_eq!(json["authorisations"][0]["consumer"], "KONS");
        assert_eq!(json["logical_addresses"], serde_json::json!([]));
        for key in [
            "rivta_profiles",
            "components",
            "contracts",
            "call_addresses",
            "logical_addresses",
        ] {
            assert!(json[key].is_array(), "{key}");
        }
    }

    #[test]
    fn only_the_never_published_deletion_left_is_nothing_to_publish() {
        let (mut s, _) = testutil::store();
        s.publish("admin", "ett", at(0));
        let id = s.insert(LogicalAddress {
            hsa_id: "03".into(),
            description: Default::default(),
        });
        assert!(s.has_pending_changes());
        assert_eq!(s.pending().logical_addresses[0].change, Change::New);
        s.change(id, |r: &mut Row<LogicalAddress>| {
            r.state = RowState::Deleted;
        });
        assert!(s.catalogue().has_pending());
        assert!(!s.has_pending_changes());
        assert!(s.try_publish("admin", "två", at(1)).is_err());
    }
}
