//! The TAK entities (tjänsteadresseringskatalogens tabeller) as plain data, and the tables that
//! hold them.
//!
//! Every row has a surrogate id and is either active or deleted (soft delete, as in real TAK where
//! `deleted = NULL` means deleted); a row also remembers whether it has changes that are not yet
//! published (`pending`, the real `updatedBy != null`). At most one active row exists per natural
//! key; the store and the order service keep that invariant, this module does not check it.
//! This module does no lookups by name and knows nothing about orders or publishing.

use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;

pub use super::text::Text;

/// A calendar day. TAK validity is whole days (SQL `date`).
pub type Day = NaiveDate;

/// The first year a day from input may fall in (an order's dates, the simulated clock).
pub const FIRST_YEAR: i32 = 1900;
/// The last year a day from input may fall in: four-digit years, as TAK's SQL dates and the
/// `yyyy-MM-dd` of orders and exports have.
pub const LAST_YEAR: i32 = 9999;

/// Surrogate row id (the real auto-increment `id`), unique within one table.
pub type Id = u64;

/// Validity (giltighet) of a route or an authorisation: whole days, inclusive at both ends
/// (`fromTidpunkt` .. `tomTidpunkt`). Our choice where the real components disagree at the edges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Validity {
    /// First valid day (`fromTidpunkt`).
    pub from: Day,
    /// Last valid day (`tomTidpunkt`), inclusive.
    pub to: Day,
}

impl Validity {
    /// A validity from `from` to `to`, both inclusive.
    pub fn new(from: Day, to: Day) -> Self {
        Validity { from, to }
    }

    /// Whether `day` lies within the validity, both ends included.
    pub fn contains(&self, day: Day) -> bool {
        self.from <= day && day <= self.to
    }

    /// Whether two validities share at least one day (the real overlap rule:
    /// not `a.to < b.from` and not `a.from > b.to`).
    pub fn overlaps(&self, other: &Validity) -> bool {
        !(self.to < other.from || self.from > other.to)
    }
}

/// Active or deleted (the real `deleted` column: `false` = active, `NULL` = deleted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowState {
    /// Visible to lookups and orders.
    Active,
    /// Soft-deleted; kept for history, never matched.
    Deleted,
}

/// One row of a TAK table: the surrogate id, the versioning columns and the entity itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row<T> {
    /// Surrogate id, unique within its table.
    pub id: Id,
    /// Active or deleted.
    pub state: RowState,
    /// Changed since the last publish (real TAK: `updatedBy` set).
    pub pending: bool,
    /// The publish version in which the row was last published (`pubVersion`); `None` = never.
    pub published_in: Option<u64>,
    /// The entity.
    pub item: T,
}

impl<T> Row<T> {
    /// Whether the row is active (not deleted).
    pub fn is_active(&self) -> bool {
        self.state == RowState::Active
    }
}

impl<T> std::ops::Deref for Row<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.item
    }
}

/// RIVTA profile (RIV-TA profil), e.g. `RIVTABP21`. Orders cannot create profiles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RivtaProfile {
    /// `namn`, the natural key.
    pub name: Text,
    /// `beskrivning`.
    pub description: Text,
}

/// Service component (tjänstekomponent): a system, consumer or producer, keyed by HSA-id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceComponent {
    /// `hsaId`, the natural key.
    pub hsa_id: Text,
    /// `beskrivning`.
    pub description: Text,
}

/// Service contract (tjänstekontrakt), keyed by its responder namespace alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceContract {
    /// `namnrymd`, e.g. `urn:riv:…:ProcessCervixScreeningInformationResponder:1`; the natural key.
    pub namespace: Text,
    /// `beskrivning`.
    pub description: Text,
    /// `majorVersion`.
    pub major_version: i64,
    /// `minorVersion` (orders always create 0).
    pub minor_version: i64,
}

/// Logical address (logisk adress): the receiver named in the message header; may be `*`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogicalAddress {
    /// `hsaId`, the natural key (for ProcessCervixScreeningInformation a county code like `01`).
    pub hsa_id: Text,
    /// `beskrivning`.
    pub description: Text,
}

/// Call address (anropsadress): where a producer component is called, with which RIVTA profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallAddress {
    /// The producer (tjänstekomponent) row id.
    pub producer: Id,
    /// The RIVTA profile row id.
    pub profile: Id,
    /// `adress`, the URL; case-sensitive.
    pub url: Text,
}

/// Route (vägval): (logical address, contract) → call address, for a validity. Active routes
/// for the same (address, contract) never overlap in time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Logical address row id.
    pub logical_address: Id,
    /// Service contract row id.
    pub contract: Id,
    /// Call address row id.
    pub call_address: Id,
    /// `fromTidpunkt` .. `tomTidpunkt`.
    pub validity: Validity,
}

/// Authorisation (anropsbehörighet): a consumer may call a logical address through a contract.
/// Active authorisations for the same triple never overlap in time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Authorisation {
    /// Consumer (tjänstekonsument) component row id.
    pub consumer: Id,
    /// Service contract row id.
    pub contract: Id,
    /// Logical address row id.
    pub logical_address: Id,
    /// `fromTidpunkt` .. `tomTidpunkt`.
    pub validity: Validity,
    /// `integrationsavtal`; orders set `AUTOTAKNING`.
    pub integration_agreement: Text,
}

/// Rows per chunk of a [`Table`]: small enough that copying one chunk on a change is cheap,
/// large enough that a table of a million rows is a thousand `Arc`s.
pub(crate) const CHUNK: usize = 1024;

/// One TAK table: rows in id order. Rows are never removed, only soft-deleted.
///
/// The rows live in fixed-size chunks behind `Arc`s, copied on write: cloning a table (the
/// order service's candidate store, a published snapshot) copies no rows, and a change copies
/// only the chunk it touches, so every published version shares the unchanged chunks with the
/// store and with the other versions. Ids come from a counter; orders insert rows with the next
/// id, so the row with id `n` is usually at position `n - 1` and [`Table::get`] is O(1) (an
/// imported table with gaps in its ids falls back to a binary search).
#[derive(Clone)]
pub struct Table<T> {
    chunks: Vec<Arc<Vec<Row<T>>>>,
    len: usize,
    next_id: Id,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            chunks: Vec::new(),
            len: 0,
            next_id: 1,
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("rows", &RowsDebug(self))
            .field("next_id", &self.next_id)
            .finish()
    }
}

struct RowsDebug<'a, T>(&'a Table<T>);

impl<T: fmt::Debug> fmt::Debug for RowsDebug<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.rows()).finish()
    }
}

impl<T: PartialEq> PartialEq for Table<T> {
    fn eq(&self, other: &Self) -> bool {
        self.next_id == other.next_id
            && self.len == other.len
            && self.rows().zip(other.rows()).all(|(a, b)| a == b)
    }
}

impl<T: Eq> Eq for Table<T> {}

impl<T: Serialize> Serialize for Table<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Table", 2)?;
        st.serialize_field("rows", &RowsSer(self))?;
        st.serialize_field("next_id", &self.next_id)?;
        st.end()
    }
}

struct RowsSer<'a, T>(&'a Table<T>);

impl<T: Serialize> Serialize for RowsSer<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.rows())
    }
}

impl<T> Table<T> {
    /// All rows, active and deleted, in id order.
    pub fn rows(&self) -> impl DoubleEndedIterator<Item = &Row<T>> + Clone + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// The active rows, in id order.
    pub fn active(&self) -> impl Iterator<Item = &Row<T>> + Clone + '_ {
        self.rows().filter(|r| r.is_active())
    }

    /// The row at `position` (0-based, in id order).
    pub fn at(&self, position: usize) -> Option<&Row<T>> {
        self.chunks
            .get(position / CHUNK)
            .and_then(|c| c.get(position % CHUNK))
    }

    /// The position of the row with this id.
    pub fn position(&self, id: Id) -> Option<usize> {
        let guess = usize::try_from(id).ok()?.checked_sub(1)?;
        if self.at(guess).is_some_and(|r| r.id == id) {
            return Some(guess);
        }
        // Gaps in the ids (an imported table): the chunk whose first id is the last <= id.
        let chunk = self
            .chunks
            .partition_point(|c| c.first().is_some_and(|r| r.id <= id))
            .checked_sub(1)?;
        let offset = self.chunks[chunk]
            .binary_search_by_key(&id, |r| r.id)
            .ok()?;
        Some(chunk * CHUNK + offset)
    }

    /// The row with this id, active or deleted.
    pub fn get(&self, id: Id) -> Option<&Row<T>> {
        self.position(id).and_then(|p| self.at(p))
    }

    /// The row with this id if it is active.
    pub fn get_active(&self, id: Id) -> Option<&Row<T>> {
        self.get(id).filter(|r| r.is_active())
    }

    /// Number of rows, active and deleted.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table has no rows at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The id the next inserted row gets.
    pub fn next_id(&self) -> Id {
        self.next_id
    }

    /// Whether any row has unpublished changes.
    pub fn has_pending(&self) -> bool {
        self.rows().any(|r| r.pending)
    }
}

impl<T: Clone> Table<T> {
    /// The shared chunks of rows (a checkpoint writes each chunk once, however many versions
    /// share it).
    pub(crate) fn chunks(&self) -> &[Arc<Vec<Row<T>>>] {
        &self.chunks
    }

    /// A table from its chunks (as [`Table::chunks`] gave them: every chunk but the last full,
    /// ids increasing) and its id counter; `None` when they do not make a table.
    pub(crate) fn from_chunks(chunks: Vec<Arc<Vec<Row<T>>>>, next_id: Id) -> Option<Self> {
        let full = chunks.len().saturating_sub(1);
        if chunks[..full].iter().any(|c| c.len() != CHUNK)
            || chunks
                .last()
                .is_some_and(|c| c.is_empty() || c.len() > CHUNK)
        {
            return None;
        }
        let len = full * CHUNK + chunks.last().map_or(0, |c| c.len());
        let table = Table {
            chunks,
            len,
            next_id,
        };
        let mut last = None;
        let ordered = table.rows().all(|r| {
            let ok = last.is_none_or(|l| r.id > l) && r.id < next_id;
            last = Some(r.id);
            ok
        });
        ordered.then_some(table)
    }

    fn push(&mut self, row: Row<T>) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        if let Some(last) = self.chunks.last_mut() {
            Arc::make_mut(last).push(row);
            self.len += 1;
        }
    }

    /// Inserts a new active, pending row and returns its id.
    pub(crate) fn insert(&mut self, item: T) -> Id {
        let id = self.next_id;
        self.push(Row {
            id,
            state: RowState::Active,
            pending: true,
            published_in: None,
            item,
        });
        self.next_id += 1;
        id
    }

    /// Appends a row with its own id and versioning columns (an imported row); `None` when the
    /// id is not above every id in the table.
    pub(crate) fn insert_row(&mut self, row: Row<T>) -> Option<Id> {
        if row.id < self.next_id {
            return None;
        }
        let id = row.id;
        self.push(row);
        self.next_id = id + 1;
        Some(id)
    }

    /// Mutable access to a row (its chunk is copied first if a snapshot shares it); the caller
    /// marks it pending.
    pub(crate) fn get_mut(&mut self, id: Id) -> Option<&mut Row<T>> {
        let p = self.position(id)?;
        let chunk = self.chunks.get_mut(p / CHUNK)?;
        Arc::make_mut(chunk).get_mut(p % CHUNK)
    }

    /// Applies `f` to every row matching `pick`, copying only the chunks that hold one.
    fn update_where(&mut self, pick: impl Fn(&Row<T>) -> bool, f: impl Fn(&mut Row<T>)) {
        for chunk in &mut self.chunks {
            if chunk.iter().any(&pick) {
                for row in Arc::make_mut(chunk).iter_mut().filter(|r| pick(r)) {
                    f(row);
                }
            }
        }
    }

    /// Marks every pending row as published in `version`.
    pub(crate) fn mark_published(&mut self, version: u64) {
        self.update_where(
            |r| r.pending,
            |row| {
                row.pending = false;
                row.published_in = Some(version);
            },
        );
    }

    /// Undoes [`Table::mark_published`] for a rolled-back `version`: its rows become pending
    /// again and, as in tak-web (`pubVersion = null`), lose their publish version.
    pub(crate) fn unpublish(&mut self, version: u64) {
        self.update_where(
            |r| r.published_in == Some(version),
            |row| {
                row.pending = true;
                row.published_in = None;
            },
        );
    }
}

/// All TAK tables of one environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Catalogue {
    /// RIVTA profiles (rivtaprofil).
    pub profiles: Table<RivtaProfile>,
    /// Service components (tjanstekomponent).
    pub components: Table<ServiceComponent>,
    /// Service contracts (tjanstekontrakt).
    pub contracts: Table<ServiceContract>,
    /// Logical addresses (logiskadress).
    pub logical_addresses: Table<LogicalAddress>,
    /// Call addresses (anropsadress).
    pub call_addresses: Table<CallAddress>,
    /// Routes (vagval).
    pub routes: Table<Route>,
    /// Authorisations (anropsbehorighet).
    pub authorisations: Table<Authorisation>,
}

impl Catalogue {
    /// Whether any table has unpublished changes.
    pub fn has_pending(&self) -> bool {
        self.profiles.has_pending()
            || self.components.has_pending()
            || self.contracts.has_pending()
            || self.logical_addresses.has_pending()
            || self.call_addresses.has_pending()
            || self.routes.has_pending()
            || self.authorisations.has_pending()
    }

    /// Marks every pending row of every table as published in `version`.
    pub(crate) fn mark_published(&mut self, version: u64) {
        self.profiles.mark_published(version);
        self.components.mark_published(version);
        self.contracts.mark_published(version);
        self.logical_addresses.mark_published(version);
        self.call_addresses.mark_published(version);
        self.routes.mark_published(version);
        self.authorisations.mark_published(version);
    }

    /// Makes the rows published in `version` pending again (rollback).
    pub(crate) fn unpublish(&mut self, version: u64) {
        self.profiles.unpublish(version);
        self.components.unpublish(version);
        self.contracts.unpublish(version);
        self.logical_addresses.unpublish(version);
        self.call_addresses.unpublish(version);
        self.routes.unpublish(version);
        self.authorisations.unpublish(version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        s.parse().unwrap()
    }

    #[test]
    fn validity_is_inclusive_at_both_ends() {
        let v = Validity::new(day("2025-01-01"), day("2025-01-31"));
        assert!(v.contains(day("2025-01-01")));
        assert!(v.contains(day("2025-01-31")));
        assert!(!v.contains(day("2024-12-31")));
        assert!(!v.contains(day("2025-02-01")));
    }

    #[test]
    fn overlap_counts_a_shared_edge_day() {
        let a = Validity::new(day("2025-01-01"), day("2025-01-31"));
        assert!(a.overlaps(&Validity::new(day("2025-01-31"), day("2025-03-01"))));
        assert!(!a.overlaps(&Validity::new(day("2025-02-01"), day("2025-03-01"))));
        assert!(a.overlaps(&Validity::new(day("2024-01-01"), day("2026-01-01"))));
    }

    #[test]
    fn table_ids_increase_and_rows_start_pending() {
        let mut t: Table<LogicalAddress> = Table::default();
        let a = t.insert(LogicalAddress {
            hsa_id: "01".into(),
            description: Default::default(),
        });
        let b = t.insert(LogicalAddress {
            hsa_id: "03".into(),
            description: Default::default(),
        });
        assert_eq!((a, b), (1, 2));
        assert!(t.has_pending());
        assert_eq!(t.get(2).map(|r| r.hsa_id.as_str()), Some("03"));
        t.mark_published(7);
        assert!(!t.has_pending());
        assert_eq!(t.get(1).and_then(|r| r.published_in), Some(7));
        assert!(t.get(3).is_none());
        t.unpublish(6);
        assert!(!t.has_pending());
        t.unpublish(7);
        assert!(t.rows().all(|r| r.pending && r.published_in.is_none()));
    }
}
