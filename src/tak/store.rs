//! The mutable TAK catalogue of one environment (one platform, e.g. `NTJP-QA`).
//!
//! Orders change the store (see [`crate::orders::apply`]); every change is pending until
//! [`Store::publish`] freezes the active rows into an immutable [`Snapshot`]. The store keeps every
//! published version (publiceringshistorik; the latest two whole, older ones as compact diffs,
//! see [`super::history`]) and can roll back the latest one as tak-web does: the rows published
//! in it become pending again and the version is dropped. It shows the pending
//! changes ([`Store::pending`]) and offers the case-insensitive natural-key lookups that order
//! validation needs, from indexes of the active rows that every change keeps up to date (so an
//! order of n rows costs O(n) lookups whatever the size of TAK). Changes go through the store
//! ([`Store::insert`], [`Store::change`]) so the indexes cannot drift from the tables.
//!
//! Everything is deterministic: version ids come from a counter (like the real auto-increment id,
//! never reused after a rollback) and the publish time is passed in, so replaying the same orders,
//! publishes and rollbacks on a fresh store gives identical snapshots. It does no IO and never
//! reads the clock.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use hashbrown::HashTable;
use smallvec::SmallVec;

use super::history::History;
use super::key::{KeyHasher, ci_eq, ci_hash};
use super::model::{
    Authorisation, CallAddress, Catalogue, Id, LogicalAddress, RivtaProfile, Route, Row,
    ServiceComponent, ServiceContract, Table, Validity,
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
    ci_eq(a, b)
}

/// Ids of the active rows per natural key, kept in step with the tables by [`Store::insert`]
/// and [`Store::change`]. The tables hold row ids only; the key is hashed from the row (and
/// compared against it on lookup), so an index costs a few bytes per row and copies no strings.
#[derive(Debug, Clone, Default)]
pub(crate) struct Indexes {
    profiles: HashTable<Id>,
    components: HashTable<Id>,
    contracts: HashTable<Id>,
    logical_addresses: HashTable<Id>,
    /// By (producer, profile, URL); the URL case-sensitive.
    call_addresses: HashTable<Id>,
    /// By (logical address id, contract id).
    routes: HashTable<Id>,
    /// By (logical address id, consumer id, contract id).
    authorisations: HashTable<Id>,
    /// Active routes per call address id (a call address goes when its last route does).
    routes_per_call: std::collections::HashMap<Id, u32>,
}

/// A TAK entity kept in a store table with a natural-key index.
pub(crate) trait Entity: Clone + Sized {
    /// Its table.
    fn table(cat: &Catalogue) -> &Table<Self>;
    /// Its table, to change.
    fn table_mut(cat: &mut Catalogue) -> &mut Table<Self>;
    /// Its index.
    fn index(idx: &mut Indexes) -> &mut HashTable<Id>;
    /// The hash of its natural key (see [`super::key`]).
    fn key_hash(&self) -> u64;
    /// Called when an active row enters (`+1`) or leaves (`-1`) the index.
    fn on_index(&self, _idx: &mut Indexes, _delta: i32) {}
}

impl Entity for RivtaProfile {
    fn table(cat: &Catalogue) -> &Table<Self> {
        &cat.profiles
    }
    fn table_mut(cat: &mut Catalogue) -> &mut Table<Self> {
        &mut cat.profiles
    }
    fn index(idx: &mut Indexes) -> &mut HashTable<Id> {
        &mut idx.profiles
    }
    fn key_hash(&self) -> u64 {
        ci_hash(&self.name)
    }
}

impl Entity for ServiceComponent {
    fn table(cat: &Catalogue) -> &Table<Self> {
        &cat.components
    }
    fn table_mut(cat: &mut Catalogue) -> &mut Table<Self> {
        &mut cat.components
    }
    fn index(idx: &mut Indexes) -> &mut HashTable<Id> {
        &mut idx.components
    }
    fn key_hash(&self) -> u64 {
        ci_hash(&self.hsa_id)
    }
}

impl Entity for ServiceContract {
    fn table(cat: &Catalogue) -> &Table<Self> {
        &cat.contracts
    }
    fn table_mut(cat: &mut Catalogue) -> &mut Table<Self> {
        &mut cat.contracts
    }
    fn index(idx: &mut Indexes) -> &mut HashTable<Id> {
        &mut idx.contracts
    }
    fn key_hash(&self) -> u64 {
        ci_hash(&self.namespace)
    }
}

impl Entity for LogicalAddress {
    fn table(cat: &Catalogue) -> &Table<Self> {
        &cat.logical_addresses
    }
    fn table_mut(cat: &mut Catalogue) -> &mut Table<Self> {
        &mut cat.logical_addresses
    }
    fn index(idx: &mut Indexes) -> &mut HashTable<Id> {
        &mut idx.logical_addresses
    }
    fn key_hash(&self) -> u64 {
        ci_hash(&self.hsa_id)
    }
}

fn call_key(producer: Id, profile: Id, url: &str) -> u64 {
    KeyHasher::new()
        .id(producer)
        .id(profile)
        .exact(url)
        .finish()
}

impl Entity for CallAddress {
    fn table(cat: &Catalogue) -> &Table<Self> {
        &cat.call_addresses
    }
    fn table_mut(cat: &mut Catalogue) -> &mut Table<Self> {
        &mut cat.call_addresses
    }
    fn index(idx: &mut Indexes) -> &mut HashTable<Id> {
        &mut idx.call_addresses
    }
    fn key_hash(&self) -> u64 {
        call_key(self.producer, self.profile, &self.url)
    }
}

fn route_key(logical_address: Id, contract: Id) -> u64 {
    KeyHasher::new().id(logical_address).id(contract).finish()
}

impl Entity for Route {
    fn table(cat: &Catalogue) -> &Table<Self> {
        &cat.routes
    }
    fn table_mut(cat: &mut Catalogue) -> &mut Table<Self> {
        &mut cat.routes
    }
    fn index(idx: &mut Indexes) -> &mut HashTable<Id> {
        &mut idx.routes
    }
    fn key_hash(&self) -> u64 {
        route_key(self.logical_address, self.contract)
    }
    fn on_index(&self, idx: &mut Indexes, delta: i32) {
        let n = idx.routes_per_call.entry(self.call_address).or_insert(0);
        *n = n.saturating_add_signed(delta);
        if *n == 0 {
            idx.routes_per_call.remove(&self.call_address);
        }
    }
}

fn authorisation_key(logical_address: Id, consumer: Id, contract: Id) -> u64 {
    KeyHasher::new()
        .id(logical_address)
        .id(consumer)
        .id(contract)
        .finish()
}

impl Entity for Authorisation {
    fn table(cat: &Catalogue) -> &Table<Self> {
        &cat.authorisations
    }
    fn table_mut(cat: &mut Catalogue) -> &mut Table<Self> {
        &mut cat.authorisations
    }
    fn index(idx: &mut Indexes) -> &mut HashTable<Id> {
        &mut idx.authorisations
    }
    fn key_hash(&self) -> u64 {
        authorisation_key(self.logical_address, self.consumer, self.contract)
    }
}

impl Indexes {
    /// The indexes of every active row of `cat`.
    fn build(cat: &Catalogue) -> Indexes {
        fn all<T: Entity>(idx: &mut Indexes, cat: &Catalogue) {
            let table = T::table(cat);
            T::index(idx).reserve(table.len(), |&id| table.get(id).map_or(0, |r| r.key_hash()));
            for row in table.rows() {
                index_row(idx, cat, row);
            }
        }
        let mut idx = Indexes::default();
        all::<RivtaProfile>(&mut idx, cat);
        all::<ServiceComponent>(&mut idx, cat);
        all::<ServiceContract>(&mut idx, cat);
        all::<LogicalAddress>(&mut idx, cat);
        all::<CallAddress>(&mut idx, cat);
        all::<Route>(&mut idx, cat);
        all::<Authorisation>(&mut idx, cat);
        idx
    }
}

/// The indexes to change (built first if they are not yet; copied first if a clone shares
/// them).
fn indexes_mut<'a>(indexes: &'a mut Arc<OnceLock<Indexes>>, cat: &Catalogue) -> &'a mut Indexes {
    let cell = Arc::make_mut(indexes);
    if cell.get().is_none() {
        let _ = cell.set(Indexes::build(cat));
    }
    match cell.get_mut() {
        Some(idx) => idx,
        None => unreachable!("the indexes were set just above"),
    }
}

/// Adds an active row to its index.
fn index_row<T: Entity>(idx: &mut Indexes, cat: &Catalogue, row: &Row<T>) {
    if !row.is_active() {
        return;
    }
    let table = T::table(cat);
    T::index(idx).insert_unique(row.key_hash(), row.id, |&id| {
        table.get(id).map_or(0, |r| r.key_hash())
    });
    row.on_index(idx, 1);
}

/// Removes a row from its index (if it is there).
fn unindex_row<T: Entity>(idx: &mut Indexes, row: &Row<T>) {
    if !row.is_active() {
        return;
    }
    if let Ok(entry) = T::index(idx).find_entry(row.key_hash(), |&id| id == row.id) {
        entry.remove();
        row.on_index(idx, -1);
    }
}

/// The rows of `table` whose ids `index` holds under `hash` and that `matches`.
fn candidates<'a, T>(
    index: &'a HashTable<Id>,
    table: &'a Table<T>,
    hash: u64,
    matches: impl Fn(&Row<T>) -> bool,
) -> impl Iterator<Item = &'a Row<T>> {
    index
        .iter_hash(hash)
        .filter_map(move |&id| table.get(id))
        .filter(move |r| r.is_active() && matches(r))
}

/// The lowest-id active row whose string key equals `key` ignoring case (as a scan in id
/// order would find it).
fn find_text<'a, T>(
    index: &'a HashTable<Id>,
    table: &'a Table<T>,
    key: &str,
    field: impl Fn(&T) -> &str,
) -> Option<&'a Row<T>> {
    candidates(index, table, ci_hash(key), move |r| {
        ci_eq(field(&r.item), key)
    })
    .min_by_key(|r| r.id)
}

/// The ids of every active row whose string key equals `key` ignoring case.
fn all_text<T>(
    index: &HashTable<Id>,
    table: &Table<T>,
    key: &str,
    field: impl Fn(&T) -> &str,
) -> SmallVec<[Id; 2]> {
    candidates(index, table, ci_hash(key), |r| ci_eq(field(&r.item), key))
        .map(|r| r.id)
        .collect()
}

/// The catalogue of one TAK instance plus its publish history.
#[derive(Debug, Clone)]
pub struct Store {
    /// The instance name orders must name (`tak.platform`).
    platform: String,
    /// The live tables, with pending and deleted rows.
    catalogue: Catalogue,
    /// Natural-key indexes of the active rows; shared by clones until one of them changes. A
    /// store restored from a checkpoint builds them when first needed (the order service
    /// does it on its writer thread after start-up, not before serving).
    indexes: Arc<OnceLock<Indexes>>,
    /// The highest version id ever issued (the PubVersion auto-increment); not lowered by a
    /// rollback, so a rolled-back id is never reused.
    last_version_id: u64,
    /// The published versions, oldest first; the last one is what the read APIs and the router
    /// serve. Only the latest two are held whole.
    history: History,
}

impl Store {
    /// An empty TAK for `platform`, seeded with the RIVTA profiles RIVTABP20 and RIVTABP21
    /// (seeded rows count as published, so a fresh store has no pending changes).
    pub fn new(platform: &str) -> Self {
        let mut store = Store::empty(platform);
        for (name, description) in SEEDED_PROFILES {
            store.insert(RivtaProfile {
                name: name.into(),
                description: description.into(),
            });
        }
        store.catalogue.mark_published(0);
        store
    }

    /// An empty store without the seeded profiles (an import brings its own).
    pub(crate) fn empty(platform: &str) -> Self {
        Store {
            platform: platform.to_string(),
            catalogue: Catalogue::default(),
            indexes: Arc::new(OnceLock::from(Indexes::default())),
            last_version_id: 0,
            history: History::default(),
        }
    }

    /// Makes the current rows (already carrying their publish versions) the published version
    /// `version`, as an imported export is: no row changes, the history is that one version.
    pub(crate) fn adopt_published(
        &mut self,
        version: u64,
        at: DateTime<Utc>,
        executor: &str,
        comment: &str,
    ) {
        self.last_version_id = version;
        let snapshot = Snapshot::build(
            version,
            &self.platform,
            at,
            executor,
            comment,
            &self.catalogue,
        );
        self.history = History::default();
        self.history.push(Arc::new(snapshot));
    }

    /// A store as a checkpoint kept it: its tables, version counter and history; the
    /// natural-key indexes are rebuilt from the active rows.
    pub(crate) fn restore(
        platform: &str,
        catalogue: Catalogue,
        last_version_id: u64,
        history: History,
    ) -> Self {
        Store {
            platform: platform.to_string(),
            catalogue,
            indexes: Arc::new(OnceLock::new()),
            last_version_id,
            history,
        }
    }

    /// A copy sharing the tables and history but not the indexes, for a checkpoint: holding
    /// the indexes would make the next change copy them whole (they are shared until then).
    pub fn without_indexes(&self) -> Store {
        Store {
            platform: self.platform.clone(),
            catalogue: self.catalogue.clone(),
            indexes: Arc::new(OnceLock::new()),
            last_version_id: self.last_version_id,
            history: self.history.clone(),
        }
    }

    /// Builds the natural-key indexes now if they are not built yet (a restored store).
    pub fn prepare_indexes(&self) {
        self.idx();
    }

    fn idx(&self) -> &Indexes {
        self.indexes.get_or_init(|| Indexes::build(&self.catalogue))
    }

    /// The highest version id ever issued (a rolled-back id is not reused).
    pub(crate) fn last_version_id(&self) -> u64 {
        self.last_version_id
    }

    /// Inserts a new active, pending row into its table and indexes; returns its id.
    pub(crate) fn insert<T: Entity>(&mut self, item: T) -> Id {
        let id = T::table_mut(&mut self.catalogue).insert(item);
        let idx = indexes_mut(&mut self.indexes, &self.catalogue);
        if let Some(row) = T::table(&self.catalogue).get(id) {
            index_row(idx, &self.catalogue, row);
        }
        id
    }

    /// Appends a row as it is (id and versioning columns included), as an import does; `None`
    /// when its id is not above every id of its table.
    pub(crate) fn insert_row<T: Entity>(&mut self, row: Row<T>) -> Option<Id> {
        let id = T::table_mut(&mut self.catalogue).insert_row(row)?;
        let idx = indexes_mut(&mut self.indexes, &self.catalogue);
        if let Some(row) = T::table(&self.catalogue).get(id) {
            index_row(idx, &self.catalogue, row);
        }
        Some(id)
    }

    /// Changes the row with this id (`f` may change anything, state included; the caller marks
    /// it pending) and keeps the indexes in step. `false` if there is no such row.
    pub(crate) fn change<T: Entity>(&mut self, id: Id, f: impl FnOnce(&mut Row<T>)) -> bool {
        let idx = indexes_mut(&mut self.indexes, &self.catalogue);
        let Some(row) = T::table_mut(&mut self.catalogue).get_mut(id) else {
            return false;
        };
        unindex_row(idx, row);
        f(row);
        if let Some(row) = T::table(&self.catalogue).get(id) {
            index_row(idx, &self.catalogue, row);
        }
        true
    }

    /// How many active routes use the call address with this id.
    pub(crate) fn routes_using(&self, call_address: Id) -> u32 {
        self.idx()
            .routes_per_call
            .get(&call_address)
            .copied()
            .unwrap_or(0)
    }

    /// Adds a RIVTA profile as a TAK administrator would (orders cannot). Idempotent: an existing
    /// active profile with the same name (case-insensitive) is kept and its id returned. A new
    /// profile is pending until the next publish.
    pub fn add_rivta_profile(&mut self, name: &str) -> Id {
        let name = name.trim();
        if let Some(existing) = self.find_profile(name) {
            return existing.id;
        }
        self.insert(RivtaProfile {
            name: name.into(),
            description: Default::default(),
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
        pending::has_pending(&self.catalogue, self.history.latest().map(|s| s.as_ref()))
    }

    /// The unpublished changes per entity kind, against the latest published version.
    pub fn pending(&self) -> PendingChanges {
        pending::pending(&self.catalogue, self.history.latest().map(|s| s.as_ref()))
    }

    /// The latest published version id (0 when nothing is published).
    pub fn published_version(&self) -> u64 {
        self.history.iter().last().map_or(0, |s| s.version())
    }

    /// The latest published snapshot, if any.
    pub fn latest_snapshot(&self) -> Option<Arc<Snapshot>> {
        self.history.latest().cloned()
    }

    /// Every published version still in the history, oldest first.
    pub fn versions(&self) -> &History {
        &self.history
    }

    /// The published version with this id, if it is in the history (rolled-back versions are
    /// not); an older one is rebuilt from its diff (see [`History::snapshot`]).
    pub fn snapshot(&self, version: u64) -> Option<Arc<Snapshot>> {
        self.history.snapshot(version)
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
        let latest = self.history.iter().last().map(|s| s.version());
        if latest != Some(version) {
            return Err(RollbackError::NotLatest {
                requested: version,
                latest,
            });
        }
        self.catalogue.unpublish(version);
        let now = self.history.pop();
        // It is served from now on: its lookups now, not on the router's first request.
        if let Some(s) = &now {
            s.prepare();
        }
        Ok(now)
    }

    /// The active RIVTA profile with this name (case-insensitive).
    pub fn find_profile(&self, name: &str) -> Option<&Row<RivtaProfile>> {
        find_text(&self.idx().profiles, &self.catalogue.profiles, name, |r| {
            &r.name
        })
    }

    /// The active service component with this HSA-id (case-insensitive).
    pub fn find_component(&self, hsa_id: &str) -> Option<&Row<ServiceComponent>> {
        find_text(
            &self.idx().components,
            &self.catalogue.components,
            hsa_id,
            |r| &r.hsa_id,
        )
    }

    /// The active service contract with this namespace (case-insensitive).
    pub fn find_contract(&self, namespace: &str) -> Option<&Row<ServiceContract>> {
        find_text(
            &self.idx().contracts,
            &self.catalogue.contracts,
            namespace,
            |r| &r.namespace,
        )
    }

    /// The active logical address with this HSA-id (case-insensitive).
    pub fn find_logical_address(&self, hsa_id: &str) -> Option<&Row<LogicalAddress>> {
        find_text(
            &self.idx().logical_addresses,
            &self.catalogue.logical_addresses,
            hsa_id,
            |r| &r.hsa_id,
        )
    }

    /// The active call address for (producer row, profile row, URL); the URL is case-sensitive.
    pub fn find_call_address(
        &self,
        producer: Id,
        profile: Id,
        url: &str,
    ) -> Option<&Row<CallAddress>> {
        candidates(
            &self.idx().call_addresses,
            &self.catalogue.call_addresses,
            call_key(producer, profile, url),
            move |r| r.producer == producer && r.profile == profile && *r.url == *url,
        )
        .min_by_key(|r| r.id)
    }

    /// Active routes (vägval) for (logical address, contract), by natural key and
    /// case-insensitive, whose validity overlaps `period` (pending rows count), in id order.
    pub fn overlapping_routes(
        &self,
        logical_address: &str,
        contract: &str,
        period: Validity,
    ) -> Vec<&Row<Route>> {
        let cat = &self.catalogue;
        let idx = self.idx();
        let las = all_text(
            &idx.logical_addresses,
            &cat.logical_addresses,
            logical_address,
            |r| &r.hsa_id,
        );
        let contracts = all_text(&idx.contracts, &cat.contracts, contract, |r| &r.namespace);
        let mut out = Vec::new();
        for &la in &las {
            for &c in &contracts {
                out.extend(candidates(
                    &idx.routes,
                    &cat.routes,
                    route_key(la, c),
                    |r| r.logical_address == la && r.contract == c && r.validity.overlaps(&period),
                ));
            }
        }
        // In id order whatever the order the index holds them in (it depends on the
        // history of changes, which a store restored from a checkpoint does not repeat).
        if out.len() > 1 {
            out.sort_unstable_by_key(|r| r.id);
        }
        out
    }

    /// Active authorisations (anropsbehörigheter) for (logical address, consumer, contract), by
    /// natural key and case-insensitive, whose validity overlaps `period` (pending rows count),
    /// in id order.
    pub fn overlapping_authorisations(
        &self,
        logical_address: &str,
        consumer: &str,
        contract: &str,
        period: Validity,
    ) -> Vec<&Row<Authorisation>> {
        let cat = &self.catalogue;
        let idx = self.idx();
        let las = all_text(
            &idx.logical_addresses,
            &cat.logical_addresses,
            logical_address,
            |r| &r.hsa_id,
        );
        let consumers = all_text(&idx.components, &cat.components, consumer, |r| &r.hsa_id);
        let contracts = all_text(&idx.contracts, &cat.contracts, contract, |r| &r.namespace);
        let mut out = Vec::new();
        for &la in &las {
            for &k in &consumers {
                for &c in &contracts {
                    let key = authorisation_key(la, k, c);
                    out.extend(candidates(
                        &idx.authorisations,
                        &cat.authorisations,
                        key,
                        |r| {
                            r.logical_address == la
                                && r.consumer == k
                                && r.contract == c
                                && r.validity.overlaps(&period)
                        },
                    ));
                }
            }
        }
        // In id order whatever the order the index holds them in (it depends on the
        // history of changes, which a store restored from a checkpoint does not repeat).
        if out.len() > 1 {
            out.sort_unstable_by_key(|r| r.id);
        }
        out
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
        s.change(ids.route_se, |r: &mut Row<Route>| {
            r.item.validity = v("2025-07-01", "2025-09-30");
            r.pending = true;
        });
        let two = s.publish("bertil", "två", at(20));
        let versions: Vec<_> = s.versions().iter().map(|v| v.version()).collect();
        assert_eq!(versions, vec![1, 2]);
        assert_eq!(s.versions()[0].executor(), "anna");
        assert_eq!(s.versions()[1].comment(), "två");
        assert_eq!(s.versions()[1].published_at(), at(20));
        assert!(Arc::ptr_eq(s.versions()[0].full().unwrap(), &one));
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
        s.change(ids.auth_se, |r: &mut Row<Authorisation>| {
            r.state = RowState::Deleted;
            r.pending = true;
        });
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
        s.change(ids.auth_se, |r: &mut Row<Authorisation>| {
            r.state = RowState::Deleted;
            r.pending = true;
        });
        s.change(ids.route_se, |r: &mut Row<Route>| {
            r.item.validity = v("2025-07-01", "2025-08-31");
            r.pending = true;
        });
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
            let (x, y) = (
                a.snapshot(x.version()).unwrap(),
                b.snapshot(y.version()).unwrap(),
            );
            assert_eq!(export::export(&x), export::export(&y));
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
        s.insert(LogicalAddress {
            hsa_id: "01".into(),
            description: Default::default(),
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
