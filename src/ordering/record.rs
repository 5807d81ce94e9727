//! What the order service keeps of each accepted order, and how the API shows it: the
//! [`OrderRecord`] (small whatever the order's size: its report as references to catalogue
//! rows, its text in memory or in the journal, its connection tests per producer URL) and its
//! serialisations. Records are built and replaced by the writer only; this module does not
//! change them, and renders reports from the catalogue it is given.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Serialize, ser::SerializeStruct};

use super::OrderSource;
use crate::{
    journal::Place,
    orders::CompactReport,
    tak::{
        Day,
        model::{Catalogue, Id, Text},
    },
    vocab::EnvName,
};

/// Where a connection test stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    /// Not run yet (the route is not valid yet, or not published).
    Pending,
    /// The producer answered over TLS with the platform certificate.
    Ok,
    /// It did not.
    Failed,
}

/// The connection test the platform's operators run after configuring a producer, for every
/// route of one order to one producer URL: one ping answers for them all, so a 100,000-route
/// order to three producers holds three of these, with the routes as runs of row ids.
#[derive(Debug, Clone)]
pub struct TestGroup {
    /// The producer URL tested (shared with the catalogue's call address).
    pub url: Text,
    /// The first day the routes are valid; the test runs from then on.
    pub from: Day,
    /// `pending`, `ok` or `failed`.
    pub status: TestStatus,
    /// What happened.
    pub detail: Arc<str>,
    /// When it ran.
    pub at: Option<DateTime<Utc>>,
    /// The routes it answers for: runs of consecutive route ids `(first, count)`.
    pub routes: Vec<(Id, u32)>,
}

impl TestGroup {
    /// How many routes the test answers for.
    pub fn route_count(&self) -> usize {
        self.routes.iter().map(|&(_, n)| n as usize).sum()
    }

    /// The route ids, in order.
    pub fn route_ids(&self) -> impl Iterator<Item = Id> + '_ {
        self.routes
            .iter()
            .flat_map(|&(first, n)| (0..u64::from(n)).map(move |i| first + i))
    }
}

/// The connection test of one route as the API shows it (a [`TestGroup`] per route).
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionTest<'a> {
    /// The producer URL tested.
    pub url: &'a str,
    /// The route's logical address (as TAK holds it).
    pub logical_address: &'a str,
    /// The first day the route is valid; the test runs from then on.
    pub from: Day,
    /// `pending`, `ok` or `failed`.
    pub status: TestStatus,
    /// What happened.
    pub detail: &'a str,
    /// When it ran.
    pub at: Option<DateTime<Utc>>,
}

/// Orders up to this size keep their text in memory; larger ones are read back from the
/// journal when asked for (a 1,000,000-row order is hundreds of megabytes of text).
pub const KEPT_TEXT_BYTES: usize = 64 * 1024;

/// Where an accepted order's text is.
#[derive(Debug, Clone)]
pub enum OrderText {
    /// In memory: small orders, and every order when nothing is persisted.
    Memory(Arc<str>),
    /// In the journal, entry `seq` at `place` ([`crate::journal::read_entry`]).
    Journal {
        /// The entry.
        seq: u64,
        /// Where its line is.
        place: Place,
    },
}

/// An accepted order as the order service keeps it: small whatever the order's size (the
/// report as references to catalogue rows, the text in the journal, connection tests per
/// producer), handed out and updated without copying.
#[derive(Debug, Clone)]
pub struct OrderRecord {
    /// Number within the environment, from 1.
    pub id: u64,
    /// The environment.
    pub env: EnvName,
    /// Who sent it.
    pub source: OrderSource,
    /// When it was accepted.
    pub accepted_at: DateTime<Utc>,
    /// genomförandetidpunkt's day.
    pub execution_day: Option<Day>,
    /// The snapshot version it was published in, if any yet.
    pub published_version: Option<u64>,
    /// TAK's report, rendered from the catalogue when shown.
    pub report: Arc<CompactReport>,
    /// The order as submitted (with the mocks token), or where to find it.
    pub text: OrderText,
    /// Connection tests of the routes it created or changed, per producer URL.
    pub connection_tests: Arc<[TestGroup]>,
    /// The first day of a test still pending (`None`: none is), so that looking for due tests
    /// skips this record without reading its tests.
    pub(super) pending_tests_from: Option<Day>,
    /// How many routes' tests are pending.
    pub(super) pending_tests: usize,
}

impl OrderRecord {
    /// The report in tak-web's plain-text rendering; `cat`: the environment's catalogue
    /// ([`EnvView::catalogue`]).
    pub fn report_text(&self, cat: &Catalogue) -> String {
        self.report.to_text(cat)
    }

    /// Routes whose connection test is pending, ok and failed.
    pub fn test_counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for g in self.connection_tests.iter() {
            let n = g.route_count();
            match g.status {
                TestStatus::Pending => counts.0 += n,
                TestStatus::Ok => counts.1 += n,
                TestStatus::Failed => counts.2 += n,
            }
        }
        counts
    }

    /// The record as `GET /api/<env>/orders` lists it: no order text, the report as line
    /// counts per section and status, the connection tests per producer.
    pub fn summary(&self) -> serde_json::Value {
        let (pending, ok, failed) = self.test_counts();
        let producers: Vec<serde_json::Value> = self
            .connection_tests
            .iter()
            .map(|g| {
                serde_json::json!({
                    "url": &*g.url, "from": g.from, "status": g.status, "detail": &*g.detail,
                    "at": g.at, "routes": g.route_count(),
                })
            })
            .collect();
        serde_json::json!({
            "id": self.id,
            "env": self.env,
            "source": self.source,
            "accepted_at": self.accepted_at,
            "execution_day": self.execution_day,
            "published_version": self.published_version,
            "report_lines": self.report.counts(),
            "connection_tests": {"pending": pending, "ok": ok, "failed": failed},
            "producers": producers,
        })
    }

    /// The whole record for serialising: the report rendered from `cat`, every route's
    /// connection test, and the order text `json` when given.
    pub fn full<'a>(&'a self, cat: &'a Catalogue, json: Option<&'a str>) -> FullRecord<'a> {
        FullRecord {
            record: self,
            cat,
            json,
        }
    }
}

/// An [`OrderRecord`] with everything in it, serialised as `GET /api/<env>/orders/<id>`
/// answers (and `POST`, without `json` for raw orders).
pub struct FullRecord<'a> {
    record: &'a OrderRecord,
    cat: &'a Catalogue,
    json: Option<&'a str>,
}

struct Tests<'a>(&'a OrderRecord, &'a Catalogue);

impl Serialize for Tests<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let (record, cat) = (self.0, self.1);
        let n = record
            .connection_tests
            .iter()
            .map(TestGroup::route_count)
            .sum();
        let mut seq = s.serialize_seq(Some(n))?;
        for g in record.connection_tests.iter() {
            for id in g.route_ids() {
                let logical_address = cat
                    .routes
                    .get(id)
                    .and_then(|r| cat.logical_addresses.get(r.logical_address))
                    .map_or("", |la| la.hsa_id.as_str());
                seq.serialize_element(&ConnectionTest {
                    url: &g.url,
                    logical_address,
                    from: g.from,
                    status: g.status,
                    detail: &g.detail,
                    at: g.at,
                })?;
            }
        }
        seq.end()
    }
}

impl Serialize for FullRecord<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = self.record;
        let mut r = s.serialize_struct("OrderRecord", 10)?;
        r.serialize_field("id", &o.id)?;
        r.serialize_field("env", &o.env)?;
        r.serialize_field("source", &o.source)?;
        r.serialize_field("accepted_at", &o.accepted_at)?;
        r.serialize_field("execution_day", &o.execution_day)?;
        r.serialize_field("published_version", &o.published_version)?;
        r.serialize_field("report", &o.report.rendered(self.cat))?;
        r.serialize_field("report_text", &o.report_text(self.cat))?;
        if let Some(json) = self.json {
            r.serialize_field("json", json)?;
        }
        r.serialize_field("connection_tests", &Tests(o, self.cat))?;
        r.end()
    }
}

/// The earliest day of a test still pending, and how many routes' tests are.
pub(super) fn pending_tests(tests: &[TestGroup]) -> (Option<Day>, usize) {
    let pending = tests.iter().filter(|t| t.status == TestStatus::Pending);
    (
        pending.clone().map(|t| t.from).min(),
        pending.map(TestGroup::route_count).sum(),
    )
}
