//! The publish history (publiceringshistorik) of one store, bounded in memory.
//!
//! Rollback only ever goes to the previous version, and only the latest is routed, so only the
//! latest two versions are held as full [`Snapshot`]s (tables and lookups). Every older one is
//! held as a compact diff against the version after it ([`CatalogueDelta`]: the rows that
//! differ, with its metadata), so a version costs the rows its publish changed, not a copy of
//! the chunks they sit in nor a set of lookups. An old version asked for (its tables, its export,
//! a diff) is rebuilt from the oldest full snapshot by undoing the diffs back to it: the same
//! tables, row for row, as when it was published; the rebuilt snapshot is the caller's and goes
//! when the answer is written. Pure: no IO, no clock.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::model::{Catalogue, CatalogueDelta};
use super::snapshot::{Snapshot, SnapshotCounts};

/// How many of the latest versions are held as full snapshots: the latest (routed) and the
/// one a rollback returns to.
pub const FULL_VERSIONS: usize = 2;

/// An older published version: its metadata and what turns the next version's tables back
/// into its own. (Its platform is the store's, as every version's is.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub(crate) version: u64,
    pub(crate) published_at: DateTime<Utc>,
    pub(crate) executor: Box<str>,
    pub(crate) comment: Box<str>,
    pub(crate) counts: SnapshotCounts,
    pub(crate) catalogue: CatalogueDelta,
}

/// One version in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// One of the latest [`FULL_VERSIONS`]: the snapshot itself.
    Full(Arc<Snapshot>),
    /// An older one, as a diff against the entry after it.
    Delta(Arc<Delta>),
}

impl Entry {
    /// Publish version id.
    pub fn version(&self) -> u64 {
        match self {
            Entry::Full(s) => s.version(),
            Entry::Delta(d) => d.version,
        }
    }

    /// When it was published.
    pub fn published_at(&self) -> DateTime<Utc> {
        match self {
            Entry::Full(s) => s.published_at(),
            Entry::Delta(d) => d.published_at,
        }
    }

    /// Who published (utförare).
    pub fn executor(&self) -> &str {
        match self {
            Entry::Full(s) => s.executor(),
            Entry::Delta(d) => &d.executor,
        }
    }

    /// The publish comment (kommentar).
    pub fn comment(&self) -> &str {
        match self {
            Entry::Full(s) => s.comment(),
            Entry::Delta(d) => &d.comment,
        }
    }

    /// Published routes and authorisations.
    pub fn counts(&self) -> SnapshotCounts {
        match self {
            Entry::Full(s) => s.counts(),
            Entry::Delta(d) => d.counts,
        }
    }

    /// The snapshot, if it is held whole.
    pub fn full(&self) -> Option<&Arc<Snapshot>> {
        match self {
            Entry::Full(s) => Some(s),
            Entry::Delta(_) => None,
        }
    }
}

/// The published versions, oldest first; the latest [`FULL_VERSIONS`] held whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    entries: Vec<Entry>,
}

impl History {
    /// A history of the versions as a checkpoint kept them; `None` unless the latest
    /// [`FULL_VERSIONS`] are whole (the older ones may be either).
    pub(crate) fn from_entries(entries: Vec<Entry>) -> Option<History> {
        let tail = entries.len().saturating_sub(FULL_VERSIONS);
        entries[tail..]
            .iter()
            .all(|e| e.full().is_some())
            .then_some(History { entries })
    }

    /// Every version, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Every version, oldest first.
    pub fn iter(&self) -> std::slice::Iter<'_, Entry> {
        self.entries.iter()
    }

    /// How many versions there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is published.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The latest version's snapshot.
    pub fn latest(&self) -> Option<&Arc<Snapshot>> {
        self.entries.last().and_then(Entry::full)
    }

    /// Whether the version with this id is in the history.
    pub fn contains(&self, version: u64) -> bool {
        self.entries.iter().any(|e| e.version() == version)
    }

    /// How many versions are held as full snapshots (at most [`FULL_VERSIONS`]).
    pub fn full_count(&self) -> usize {
        self.entries.iter().filter(|e| e.full().is_some()).count()
    }

    /// The published version with this id, if it is in the history: the held snapshot, or an
    /// older one rebuilt (tables only; its lookups are built if a lookup asks for them). The
    /// cost of a rebuild is the rows changed since that version plus one pass over each
    /// table's chunk list per version in between; call it off the async workers.
    pub fn snapshot(&self, version: u64) -> Option<Arc<Snapshot>> {
        let i = self.entries.iter().position(|e| e.version() == version)?;
        let delta = match &self.entries[i] {
            Entry::Full(s) => return Some(s.clone()),
            Entry::Delta(d) => d,
        };
        let (j, base) = self
            .entries
            .iter()
            .enumerate()
            .skip(i + 1)
            .find_map(|(j, e)| Some((j, e.full()?)))?;
        let mut catalogue: Catalogue = base.catalogue().clone();
        for e in self.entries[i..j].iter().rev() {
            if let Entry::Delta(d) = e {
                catalogue = catalogue.undo(&d.catalogue);
            }
        }
        Some(Arc::new(Snapshot::restore(
            delta.version,
            base.platform(),
            delta.published_at,
            &delta.executor,
            &delta.comment,
            catalogue,
            delta.counts,
        )))
    }

    /// Adds a newly published version; the version that is now third from the end is kept as
    /// a diff from then on.
    pub(crate) fn push(&mut self, snapshot: Arc<Snapshot>) {
        self.entries.push(Entry::Full(snapshot));
        let n = self.entries.len();
        if n > FULL_VERSIONS {
            let (older, newer) = (n - FULL_VERSIONS - 1, n - FULL_VERSIONS);
            if let (Entry::Full(old), Entry::Full(new)) =
                (&self.entries[older], &self.entries[newer])
            {
                let delta = Delta {
                    version: old.version(),
                    published_at: old.published_at(),
                    executor: old.executor().into(),
                    comment: old.comment().into(),
                    counts: old.counts(),
                    catalogue: old.catalogue().delta_from(new.catalogue()),
                };
                self.entries[older] = Entry::Delta(Arc::new(delta));
            }
        }
    }

    /// Drops the latest version (a rollback) and makes the one before the previous whole
    /// again, so the next rollback has it at hand. Returns the new latest snapshot.
    pub(crate) fn pop(&mut self) -> Option<Arc<Snapshot>> {
        self.entries.pop();
        let n = self.entries.len();
        if n >= FULL_VERSIONS {
            let i = n - FULL_VERSIONS;
            if self.entries[i].full().is_none()
                && let Some(s) = self.snapshot(self.entries[i].version())
            {
                self.entries[i] = Entry::Full(s);
            }
        }
        self.latest().cloned()
    }
}

impl std::ops::Index<usize> for History {
    type Output = Entry;
    fn index(&self, i: usize) -> &Entry {
        &self.entries[i]
    }
}

impl<'a> IntoIterator for &'a History {
    type Item = &'a Entry;
    type IntoIter = std::slice::Iter<'a, Entry>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Weak;

    use super::*;
    use crate::tak::model::{Authorisation, LogicalAddress, Route, Row, RowState};
    use crate::tak::testutil::{self, at, v};
    use crate::tak::{diff, export};

    #[test]
    fn only_the_latest_two_are_held_whole_and_every_version_rebuilds_the_same() {
        let (mut s, ids) = testutil::store();
        let first = s.publish("admin", "0", at(0));
        let mut weak: Vec<Weak<Snapshot>> = vec![Arc::downgrade(&first)];
        // Per version: its export, its tables, the diff from the version before.
        let mut seen = vec![(export::export(&first), first.catalogue().clone(), None)];
        let mut previous = first;
        for n in 1..60_i64 {
            match n % 3 {
                0 => {
                    s.insert(LogicalAddress {
                        hsa_id: format!("L{n}").as_str().into(),
                        description: "ny".into(),
                    });
                }
                1 => {
                    s.change(ids.route_01, |r: &mut Row<Route>| {
                        r.item.validity = v(
                            "2025-01-01",
                            if n % 2 == 0 {
                                "2125-01-01"
                            } else {
                                "2026-06-30"
                            },
                        );
                        r.pending = true;
                    });
                }
                _ => {
                    s.change(ids.auth_se, |r: &mut Row<Authorisation>| {
                        r.state = if n % 2 == 0 {
                            RowState::Active
                        } else {
                            RowState::Deleted
                        };
                        r.pending = true;
                    });
                }
            }
            let now = s.publish("admin", &n.to_string(), at(n));
            weak.push(Arc::downgrade(&now));
            seen.push((
                export::export(&now),
                now.catalogue().clone(),
                Some(diff(&previous, &now)),
            ));
            previous = now;
        }
        drop(previous);
        let h = s.versions();
        assert_eq!(h.len(), 60);
        assert_eq!(h.full_count(), FULL_VERSIONS);
        assert!(h[58].full().is_some() && h[59].full().is_some());
        // Nothing else holds the older snapshots: they are gone, only their diffs remain.
        let alive: Vec<usize> = (0..60).filter(|&i| weak[i].upgrade().is_some()).collect();
        assert_eq!(alive, vec![58, 59]);
        // A diff holds the rows its publish changed, not chunks.
        for e in &h.entries()[..58] {
            let Entry::Delta(d) = e else { panic!("{e:?}") };
            assert!(d.catalogue.rows() <= 2, "{:?}", d.catalogue);
        }

        let mut rebuilt_before: Option<Arc<Snapshot>> = None;
        for (i, (exported, catalogue, diff_then)) in seen.iter().enumerate() {
            let version = i as u64 + 1;
            let e = &h[i];
            assert_eq!(
                (e.version(), e.comment()),
                (version, i.to_string().as_str())
            );
            assert_eq!(e.published_at(), at(i as i64));
            let rebuilt = s.snapshot(version).unwrap();
            assert_eq!(rebuilt.catalogue(), catalogue, "version {version}");
            assert_eq!(&export::export(&rebuilt), exported, "version {version}");
            assert_eq!(rebuilt.counts(), e.counts());
            if let (Some(before), Some(then)) = (&rebuilt_before, diff_then) {
                assert_eq!(&diff(before, &rebuilt), then, "diff to {version}");
            }
            rebuilt_before = Some(rebuilt);
        }
    }

    #[test]
    fn rollbacks_go_back_version_by_version_through_the_diffs() {
        let (mut s, ids) = testutil::store();
        let mut tables = vec![s.publish("admin", "1", at(1)).catalogue().clone()];
        for n in 2..=8_i64 {
            s.insert(LogicalAddress {
                hsa_id: format!("L{n}").as_str().into(),
                description: Default::default(),
            });
            s.change(ids.route_se, |r: &mut Row<Route>| {
                r.item.validity.to = testutil::day("2026-01-01") + chrono::Days::new(n as u64);
                r.pending = true;
            });
            tables.push(
                s.publish("admin", &n.to_string(), at(n))
                    .catalogue()
                    .clone(),
            );
        }
        for latest in (2..=8_u64).rev() {
            let now = s.rollback(latest).unwrap().unwrap();
            assert_eq!(now.version(), latest - 1);
            assert_eq!(now.catalogue(), &tables[latest as usize - 2]);
            assert_eq!(s.versions().len(), latest as usize - 1);
            assert_eq!(
                s.versions().full_count(),
                (latest as usize - 1).min(FULL_VERSIONS)
            );
            // A rolled-back version's rows are pending again: publishing gives its content.
            assert!(s.has_pending_changes());
        }
        let again = s.try_publish("admin", "igen", at(100)).unwrap();
        assert_eq!(again.version(), 9);
        // The same content as version 8 had (published anew as 9).
        let items = |c: &Catalogue| -> Vec<LogicalAddress> {
            c.logical_addresses
                .active()
                .map(|r| r.item.clone())
                .collect()
        };
        assert_eq!(items(again.catalogue()), items(&tables[7]));
        assert_eq!(s.versions().full_count(), 2);
        assert_eq!(s.snapshot(1).unwrap().catalogue(), &tables[0]);
    }
}
