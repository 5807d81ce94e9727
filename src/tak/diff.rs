//! What changed between two published versions: per entity kind the rows added, removed and
//! changed, each described by its natural key and (for routes and authorisations) its validity.
//!
//! Rows are matched by their row id, which publishing never changes, so a route whose validity
//! was shortened shows as changed (before/after), and a route replaced by one to another call
//! address shows as the old one changed (ended) plus a new one added. Both snapshots should come
//! from the same store (or a deterministic replay of it). The tables are walked together in id
//! order and rows are compared borrowed, so only the rows that differ are copied into views. A
//! pure function of its inputs; it says nothing about pending changes (see
//! [`crate::tak::pending`]).

use std::cmp::Ordering;

use serde::Serialize;

use super::model::{Catalogue, Row, Table};
use super::snapshot::Snapshot;
use super::view::{
    self, AuthorisationView, CallAddressView, ComponentView, ContractView, LogicalAddressView,
    ProfileView, RouteView, Scope,
};

/// A row present in both versions but different.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed<T> {
    /// The row in the old version.
    pub before: T,
    /// The row in the new version.
    pub after: T,
}

/// The difference of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableDiff<T> {
    /// Rows only in the new version.
    pub added: Vec<T>,
    /// Rows only in the old version.
    pub removed: Vec<T>,
    /// Rows in both, with other content (keys, validity, description …).
    pub changed: Vec<Changed<T>>,
}

impl<T> TableDiff<T> {
    /// Whether the table is the same in both versions.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// The difference between two published versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotDiff {
    /// The old version id.
    pub from_version: u64,
    /// The new version id.
    pub to_version: u64,
    /// RIVTA profiles (rivtaprofiler).
    pub rivta_profiles: TableDiff<ProfileView>,
    /// Logical addresses (logiska adresser).
    pub logical_addresses: TableDiff<LogicalAddressView>,
    /// Service components (tjänstekomponenter).
    pub components: TableDiff<ComponentView>,
    /// Service contracts (tjänstekontrakt).
    pub contracts: TableDiff<ContractView>,
    /// Call addresses (anropsadresser).
    pub call_addresses: TableDiff<CallAddressView>,
    /// Routes (vägval).
    pub routes: TableDiff<RouteView>,
    /// Authorisations (anropsbehörigheter).
    pub authorisations: TableDiff<AuthorisationView>,
}

impl SnapshotDiff {
    /// Whether the two versions publish the same rows.
    pub fn is_empty(&self) -> bool {
        self.rivta_profiles.is_empty()
            && self.logical_addresses.is_empty()
            && self.components.is_empty()
            && self.contracts.is_empty()
            && self.call_addresses.is_empty()
            && self.routes.is_empty()
            && self.authorisations.is_empty()
    }
}

/// One side of a table diff: the table, a row's content borrowed (`None`: the row does not
/// resolve and counts as absent) and the owned view of a row that differs.
struct Side<'a, T, PF, VF> {
    table: &'a Table<T>,
    parts: PF,
    view: VF,
}

fn side<'a, T, P, V, PF, VF>(table: &'a Table<T>, parts: PF, view: VF) -> Side<'a, T, PF, VF>
where
    PF: Fn(&'a Row<T>) -> Option<P>,
    VF: Fn(&'a Row<T>) -> Option<V>,
{
    Side { table, parts, view }
}

/// The difference of one table, walking both sides in id order.
fn table<'a, T, P, V, PF, VF, QF, WF>(
    old: Side<'a, T, PF, VF>,
    new: Side<'a, T, QF, WF>,
) -> TableDiff<V>
where
    P: PartialEq,
    PF: Fn(&'a Row<T>) -> Option<P>,
    VF: Fn(&'a Row<T>) -> Option<V>,
    QF: Fn(&'a Row<T>) -> Option<P>,
    WF: Fn(&'a Row<T>) -> Option<V>,
{
    let mut diff = TableDiff {
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
    };
    let mut a = old
        .table
        .active()
        .filter_map(|r| Some((r, (old.parts)(r)?)))
        .peekable();
    let mut b = new
        .table
        .active()
        .filter_map(|r| Some((r, (new.parts)(r)?)))
        .peekable();
    loop {
        let order = match (a.peek(), b.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(x), Some(y)) => x.0.id.cmp(&y.0.id),
        };
        match order {
            Ordering::Less => diff
                .removed
                .extend(a.next().and_then(|(r, _)| (old.view)(r))),
            Ordering::Greater => diff.added.extend(b.next().and_then(|(r, _)| (new.view)(r))),
            Ordering::Equal => {
                if let (Some((x, px)), Some((y, py))) = (a.next(), b.next())
                    && px != py
                    && let (Some(before), Some(after)) = ((old.view)(x), (new.view)(y))
                {
                    diff.changed.push(Changed { before, after });
                }
            }
        }
    }
    diff
}

/// The rows added, removed and changed from `old` to `new` (all lists in id order).
pub fn diff(old: &Snapshot, new: &Snapshot) -> SnapshotDiff {
    let (o, n): (&Catalogue, &Catalogue) = (old.catalogue(), new.catalogue());
    let p = Scope::Published;
    macro_rules! plain {
        ($table:ident, $view:path) => {
            table(
                side(&o.$table, |r| Some(&r.item), |r| Some($view(r))),
                side(&n.$table, |r| Some(&r.item), |r| Some($view(r))),
            )
        };
    }
    macro_rules! referring {
        ($table:ident, $parts:path, $view:path) => {
            table(
                side(&o.$table, |r| $parts(o, p, r), |r| $view(o, p, r)),
                side(&n.$table, |r| $parts(n, p, r), |r| $view(n, p, r)),
            )
        };
    }
    SnapshotDiff {
        from_version: old.version(),
        to_version: new.version(),
        rivta_profiles: plain!(profiles, view::profile),
        logical_addresses: plain!(logical_addresses, view::logical_address),
        components: plain!(components, view::component),
        contracts: plain!(contracts, view::contract),
        call_addresses: referring!(call_addresses, view::call_address_parts, view::call_address),
        routes: referring!(routes, view::route_parts, view::route),
        authorisations: referring!(
            authorisations,
            view::authorisation_parts,
            view::authorisation
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tak::model::{Authorisation, LogicalAddress, Route, RowState};
    use crate::tak::testutil::{self, at, v};

    #[test]
    fn a_version_against_itself_is_empty() {
        let (mut s, _) = testutil::store();
        let one = s.publish("admin", "ett", at(0));
        let d = diff(&one, &one);
        assert!(d.is_empty());
        assert_eq!((d.from_version, d.to_version), (1, 1));
    }

    #[test]
    fn added_removed_and_changed_rows_per_kind() {
        let (mut s, ids) = testutil::store();
        let one = s.publish("admin", "ett", at(0));
        let new_la = s.insert(LogicalAddress {
            hsa_id: "03".into(),
            description: "Region Uppsala".into(),
        });
        s.change(ids.route_01, |r: &mut Row<Route>| {
            r.item.validity.to = testutil::day("2025-12-31");
            r.pending = true;
        });
        s.change(ids.auth_se, |r: &mut Row<Authorisation>| {
            r.state = RowState::Deleted;
            r.pending = true;
        });
        let two = s.publish("admin", "två", at(1));

        let d = diff(&one, &two);
        assert_eq!((d.from_version, d.to_version), (1, 2));
        assert!(!d.is_empty());
        assert_eq!(d.logical_addresses.added.len(), 1);
        assert_eq!(d.logical_addresses.added[0].id, new_la);
        assert_eq!(d.logical_addresses.added[0].hsa_id, "03");
        assert!(d.logical_addresses.removed.is_empty());
        assert!(d.logical_addresses.changed.is_empty());

        assert!(d.routes.added.is_empty() && d.routes.removed.is_empty());
        assert_eq!(d.routes.changed.len(), 1);
        let ch = &d.routes.changed[0];
        assert_eq!(ch.before.id, ids.route_01);
        assert_eq!(ch.before.validity, v("2025-01-01", "2125-01-01"));
        assert_eq!(ch.after.validity, v("2025-01-01", "2025-12-31"));
        assert_eq!(ch.after.logical_address, "01");

        assert_eq!(d.authorisations.removed.len(), 1);
        assert_eq!(d.authorisations.removed[0].id, ids.auth_se);
        assert_eq!(d.authorisations.removed[0].logical_address, "SE");
        assert_eq!(
            d.authorisations.removed[0].validity,
            v("2024-01-01", "2024-12-31")
        );
        assert!(d.components.is_empty());
        assert!(d.contracts.is_empty());
        assert!(d.call_addresses.is_empty());
        assert!(d.rivta_profiles.is_empty());

        // The reverse diff mirrors it.
        let back = diff(&two, &one);
        assert_eq!(back.logical_addresses.removed.len(), 1);
        assert_eq!(back.authorisations.added.len(), 1);
        assert_eq!(
            back.routes.changed[0].after.validity,
            v("2025-01-01", "2125-01-01")
        );

        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(
            json["routes"]["changed"][0]["before"]["validity"]["to"],
            "2125-01-01"
        );
        assert_eq!(
            json["routes"]["changed"][0]["after"]["validity"]["to"],
            "2025-12-31"
        );
        assert_eq!(json["logical_addresses"]["added"][0]["hsa_id"], "03");
        assert_eq!(json["authorisations"]["removed"][0]["consumer"], "KONS");
        assert_eq!(json["components"]["added"], serde_json::json!([]));
    }
}
