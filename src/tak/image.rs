//! A compact binary image of TAK stores, for the order service's checkpoint: the tables with
//! every row (deleted and pending ones too, with their versioning columns), the version
//! counter and the publish history, so that a store read back is the store written.
//!
//! What is shared in memory is written once and shared again when read: each distinct chunk of
//! rows (the store and its published versions share most of theirs) and each distinct string
//! (a URL, `AUTOTAKNING`, an empty description) by identity. Lookup structures are not written:
//! the natural-key indexes are rebuilt when a store is read ([`Store`]), a version's lookups
//! when it is first needed ([`Snapshot::prepare`]).
//!
//! The format: a string table, then the body, both in LEB128 varints and length-prefixed
//! UTF-8. It carries no checksum and no version of its own: the checkpoint file around it does
//! (see `ordering::checkpoint`). Pure: bytes in, bytes out.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::history::{Delta, Entry, History};
use super::model::{
    Authorisation, CallAddress, Catalogue, CatalogueDelta, Day, LogicalAddress, RivtaProfile,
    Route, Row, RowState, ServiceComponent, ServiceContract, Table, TableChange, TableDelta, Text,
    Validity,
};
use super::snapshot::{Snapshot, SnapshotCounts};
use super::store::Store;

/// The image cannot be read: cut short, or values that make no store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImageError(pub String);

fn bad(what: impl Into<String>) -> ImageError {
    ImageError(what.into())
}

/// Writes an image: [`Encoder::store`] and the primitives, then [`Encoder::finish`].
#[derive(Default)]
pub struct Encoder {
    body: Vec<u8>,
    strings: Vec<Text>,
    string_ids: HashMap<usize, u32>,
    /// Per table kind: chunk identity → index.
    chunk_ids: [HashMap<usize, u32>; 7],
}

/// Reads an image written by [`Encoder`], in the same order.
pub struct Decoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    strings: Vec<Text>,
    pools: Pools,
}

#[derive(Default)]
struct Pools {
    profiles: Vec<Arc<Vec<Row<RivtaProfile>>>>,
    components: Vec<Arc<Vec<Row<ServiceComponent>>>>,
    contracts: Vec<Arc<Vec<Row<ServiceContract>>>>,
    logical_addresses: Vec<Arc<Vec<Row<LogicalAddress>>>>,
    call_addresses: Vec<Arc<Vec<Row<CallAddress>>>>,
    routes: Vec<Arc<Vec<Row<Route>>>>,
    authorisations: Vec<Arc<Vec<Row<Authorisation>>>>,
}

/// An entity's fields in the image, and where its chunks are pooled.
trait Entity: Clone + Sized {
    const KIND: usize;
    fn encode(&self, e: &mut Encoder);
    fn decode(d: &mut Decoder<'_>) -> Result<Self, ImageError>;
    fn pool(pools: &mut Pools) -> &mut Vec<Arc<Vec<Row<Self>>>>;
}

impl Encoder {
    /// An empty image.
    pub fn new() -> Self {
        Encoder::default()
    }

    /// An unsigned number.
    pub fn u64(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.body.push(byte);
                return;
            }
            self.body.push(byte | 0x80);
        }
    }

    /// A signed number.
    pub fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }

    /// A flag.
    pub fn bool(&mut self, v: bool) {
        self.body.push(u8::from(v));
    }

    /// An optional number.
    pub fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            None => self.u64(0),
            Some(n) => {
                self.u64(1);
                self.u64(n);
            }
        }
    }

    /// A string written out (not shared).
    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.body.extend_from_slice(s.as_bytes());
    }

    /// A shared string: written once into the string table, referred to by index.
    pub fn text(&mut self, t: &Text) {
        let next = self.strings.len() as u32;
        let id = *self.string_ids.entry(t.identity()).or_insert_with(|| {
            self.strings.push(t.clone());
            next
        });
        self.u64(u64::from(id));
    }

    /// A day.
    pub fn day(&mut self, d: Day) {
        self.i64(i64::from(chrono::Datelike::num_days_from_ce(&d)));
    }

    /// An optional day.
    pub fn opt_day(&mut self, d: Option<Day>) {
        self.bool(d.is_some());
        if let Some(d) = d {
            self.day(d);
        }
    }

    /// A point in time (to the nanosecond).
    pub fn time(&mut self, t: DateTime<Utc>) {
        self.i64(t.timestamp());
        self.u64(u64::from(t.timestamp_subsec_nanos()));
    }

    fn validity(&mut self, v: Validity) {
        self.day(v.from);
        self.day(v.to);
    }

    fn table<T: Entity>(&mut self, t: &Table<T>) {
        self.u64(t.next_id());
        self.u64(t.chunks().len() as u64);
        for chunk in t.chunks() {
            let identity = Arc::as_ptr(chunk) as usize;
            let next = self.chunk_ids[T::KIND].len() as u32;
            match self.chunk_ids[T::KIND].get(&identity) {
                Some(&i) => self.u64(u64::from(i) + 1),
                None => {
                    self.chunk_ids[T::KIND].insert(identity, next);
                    self.u64(0);
                    self.u64(chunk.len() as u64);
                    for row in chunk.iter() {
                        self.row(row);
                    }
                }
            }
        }
    }

    fn row<T: Entity>(&mut self, row: &Row<T>) {
        self.u64(row.id);
        self.bool(row.is_active());
        self.bool(row.pending);
        self.opt_u64(row.published_in);
        row.item.encode(self);
    }

    fn table_delta<T: Entity>(&mut self, d: &TableChange<T>) {
        let Some(d) = d else {
            self.u64(0);
            return;
        };
        self.u64(1);
        self.u64(d.len as u64);
        self.u64(d.next_id);
        self.u64(d.rows.len() as u64);
        for (position, row) in &d.rows {
            self.u64(*position as u64);
            self.row(row);
        }
    }

    fn catalogue_delta(&mut self, c: &CatalogueDelta) {
        self.table_delta(&c.profiles);
        self.table_delta(&c.components);
        self.table_delta(&c.contracts);
        self.table_delta(&c.logical_addresses);
        self.table_delta(&c.call_addresses);
        self.table_delta(&c.routes);
        self.table_delta(&c.authorisations);
    }

    fn catalogue(&mut self, c: &Catalogue) {
        self.table(&c.profiles);
        self.table(&c.components);
        self.table(&c.contracts);
        self.table(&c.logical_addresses);
        self.table(&c.call_addresses);
        self.table(&c.routes);
        self.table(&c.authorisations);
    }

    /// A store: platform, tables, version counter and every published version (the latest
    /// two whole, tag 0; older ones as their diffs, tag 1).
    pub fn store(&mut self, s: &Store) {
        self.str(s.platform());
        self.u64(s.last_version_id());
        self.catalogue(s.catalogue());
        self.u64(s.versions().len() as u64);
        for v in s.versions() {
            self.u64(v.version());
            // Every version's platform is the store's (kept per version for the format).
            self.str(s.platform());
            self.time(v.published_at());
            self.str(v.executor());
            self.str(v.comment());
            let counts = v.counts();
            self.u64(counts.routes as u64);
            self.u64(counts.authorisations as u64);
            match v {
                Entry::Full(s) => {
                    self.u64(0);
                    self.catalogue(s.catalogue());
                }
                Entry::Delta(d) => {
                    self.u64(1);
                    self.catalogue_delta(&d.catalogue);
                }
            }
        }
    }

    /// The image: the string table, then everything written.
    pub fn finish(self) -> Vec<u8> {
        let mut head = Encoder::new();
        head.u64(self.strings.len() as u64);
        for s in &self.strings {
            head.str(s);
        }
        let mut out = head.body;
        out.extend_from_slice(&self.body);
        out
    }
}

impl<'a> Decoder<'a> {
    /// Reads the string table of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Result<Self, ImageError> {
        let mut d = Decoder {
            bytes,
            pos: 0,
            strings: Vec::new(),
            pools: Pools::default(),
        };
        let n = d.len()?;
        d.strings.reserve(n);
        for _ in 0..n {
            let s = d.str_ref()?;
            d.strings.push(Text::from(s));
        }
        Ok(d)
    }

    /// Whether everything was read.
    pub fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// An unsigned number.
    pub fn u64(&mut self) -> Result<u64, ImageError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .bytes
                .get(self.pos)
                .ok_or_else(|| bad("the image is cut short"))?;
            self.pos += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("a number is too long"))
    }

    /// A count or length, bounded by what is left to read (every item takes a byte).
    fn len(&mut self) -> Result<usize, ImageError> {
        let n = self.u64()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.bytes.len() - self.pos)
            .ok_or_else(|| bad(format!("a count of {n} is more than the image holds")))
    }

    /// A signed number.
    pub fn i64(&mut self) -> Result<i64, ImageError> {
        let v = self.u64()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A flag.
    pub fn bool(&mut self) -> Result<bool, ImageError> {
        match self.u64()? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(bad(format!("{n} is not a flag"))),
        }
    }

    /// An optional number.
    pub fn opt_u64(&mut self) -> Result<Option<u64>, ImageError> {
        Ok(if self.bool()? {
            Some(self.u64()?)
        } else {
            None
        })
    }

    fn str_ref(&mut self) -> Result<&'a str, ImageError> {
        let n = self.len()?;
        let bytes = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        std::str::from_utf8(bytes).map_err(|e| bad(format!("a string is not UTF-8: {e}")))
    }

    /// A string written out.
    pub fn str(&mut self) -> Result<String, ImageError> {
        self.str_ref().map(str::to_string)
    }

    /// A shared string.
    pub fn text(&mut self) -> Result<Text, ImageError> {
        let i = self.u64()?;
        usize::try_from(i)
            .ok()
            .and_then(|i| self.strings.get(i))
            .cloned()
            .ok_or_else(|| bad(format!("string {i} is not in the string table")))
    }

    /// A day.
    pub fn day(&mut self) -> Result<Day, ImageError> {
        let n = self.i64()?;
        i32::try_from(n)
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .ok_or_else(|| bad(format!("{n} is not a day")))
    }

    /// An optional day.
    pub fn opt_day(&mut self) -> Result<Option<Day>, ImageError> {
        Ok(if self.bool()? {
            Some(self.day()?)
        } else {
            None
        })
    }

    /// A point in time.
    pub fn time(&mut self) -> Result<DateTime<Utc>, ImageError> {
        let secs = self.i64()?;
        let nanos = self.u64()?;
        u32::try_from(nanos)
            .ok()
            .and_then(|n| DateTime::from_timestamp(secs, n))
            .ok_or_else(|| bad(format!("{secs}.{nanos} is not a time")))
    }

    fn validity(&mut self) -> Result<Validity, ImageError> {
        Ok(Validity::new(self.day()?, self.day()?))
    }

    fn table<T: Entity>(&mut self) -> Result<Table<T>, ImageError> {
        let next_id = self.u64()?;
        let n = self.len()?;
        let mut chunks = Vec::with_capacity(n);
        for _ in 0..n {
            let r = self.u64()?;
            let chunk = if r == 0 {
                let len = self.len()?;
                let mut rows = Vec::with_capacity(len);
                for _ in 0..len {
                    rows.push(self.row()?);
                }
                let chunk = Arc::new(rows);
                T::pool(&mut self.pools).push(chunk.clone());
                chunk
            } else {
                usize::try_from(r - 1)
                    .ok()
                    .and_then(|i| T::pool(&mut self.pools).get(i))
                    .cloned()
                    .ok_or_else(|| bad(format!("chunk {r} is not in the image")))?
            };
            chunks.push(chunk);
        }
        Table::from_chunks(chunks, next_id)
            .ok_or_else(|| bad("a table's rows are not in id order or its chunks not full"))
    }

    fn row<T: Entity>(&mut self) -> Result<Row<T>, ImageError> {
        let id = self.u64()?;
        let state = if self.bool()? {
            RowState::Active
        } else {
            RowState::Deleted
        };
        let pending = self.bool()?;
        let published_in = self.opt_u64()?;
        let item = T::decode(self)?;
        Ok(Row {
            id,
            state,
            pending,
            published_in,
            item,
        })
    }

    fn table_delta<T: Entity>(&mut self) -> Result<TableChange<T>, ImageError> {
        if !self.bool()? {
            return Ok(None);
        }
        let len = self.len_value()?;
        let next_id = self.u64()?;
        let n = self.len()?;
        let mut rows: Vec<(usize, Row<T>)> = Vec::with_capacity(n);
        for _ in 0..n {
            let position = self.len_value()?;
            if rows.last().is_some_and(|(p, _)| *p >= position) {
                return Err(bad("a version's diff is not in row order"));
            }
            rows.push((position, self.row()?));
        }
        Ok(Some(Box::new(TableDelta { len, next_id, rows })))
    }

    fn catalogue_delta(&mut self) -> Result<CatalogueDelta, ImageError> {
        Ok(CatalogueDelta {
            profiles: self.table_delta()?,
            components: self.table_delta()?,
            contracts: self.table_delta()?,
            logical_addresses: self.table_delta()?,
            call_addresses: self.table_delta()?,
            routes: self.table_delta()?,
            authorisations: self.table_delta()?,
        })
    }

    fn catalogue(&mut self) -> Result<Catalogue, ImageError> {
        Ok(Catalogue {
            profiles: self.table()?,
            components: self.table()?,
            contracts: self.table()?,
            logical_addresses: self.table()?,
            call_addresses: self.table()?,
            routes: self.table()?,
            authorisations: self.table()?,
        })
    }

    /// A store written by [`Encoder::store`]. Its versions' lookups are built when first
    /// needed; call [`Snapshot::prepare`] on the one to be served.
    pub fn store(&mut self) -> Result<Store, ImageError> {
        let platform = self.str()?;
        let last_version_id = self.u64()?;
        let catalogue = self.catalogue()?;
        let n = self.len()?;
        let mut history = Vec::with_capacity(n);
        for _ in 0..n {
            let version = self.u64()?;
            let platform = self.str()?;
            let published_at = self.time()?;
            let executor = self.str()?;
            let comment = self.str()?;
            let counts = SnapshotCounts {
                routes: self.len_value()?,
                authorisations: self.len_value()?,
            };
            history.push(match self.u64()? {
                0 => Entry::Full(Arc::new(Snapshot::restore(
                    version,
                    &platform,
                    published_at,
                    &executor,
                    &comment,
                    self.catalogue()?,
                    counts,
                ))),
                1 => Entry::Delta(Arc::new(Delta {
                    version,
                    published_at,
                    executor: executor.into(),
                    comment: comment.into(),
                    counts,
                    catalogue: self.catalogue_delta()?,
                })),
                tag => return Err(bad(format!("version {version}: unknown kind {tag}"))),
            });
        }
        let history = History::from_entries(history)
            .ok_or_else(|| bad("the latest two versions are not whole in the image"))?;
        Ok(Store::restore(
            &platform,
            catalogue,
            last_version_id,
            history,
        ))
    }

    fn len_value(&mut self) -> Result<usize, ImageError> {
        let n = self.u64()?;
        usize::try_from(n).map_err(|_| bad(format!("{n} is too large")))
    }
}

impl Entity for RivtaProfile {
    const KIND: usize = 0;
    fn encode(&self, e: &mut Encoder) {
        e.text(&self.name);
        e.text(&self.description);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, ImageError> {
        Ok(RivtaProfile {
            name: d.text()?,
            description: d.text()?,
        })
    }
    fn pool(pools: &mut Pools) -> &mut Vec<Arc<Vec<Row<Self>>>> {
        &mut pools.profiles
    }
}

impl Entity for ServiceComponent {
    const KIND: usize = 1;
    fn encode(&self, e: &mut Encoder) {
        e.text(&self.hsa_id);
        e.text(&self.description);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, ImageError> {
        Ok(ServiceComponent {
            hsa_id: d.text()?,
            description: d.text()?,
        })
    }
    fn pool(pools: &mut Pools) -> &mut Vec<Arc<Vec<Row<Self>>>> {
        &mut pools.components
    }
}

impl Entity for ServiceContract {
    const KIND: usize = 2;
    fn encode(&self, e: &mut Encoder) {
        e.text(&self.namespace);
        e.text(&self.description);
        e.i64(self.major_version);
        e.i64(self.minor_version);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, ImageError> {
        Ok(ServiceContract {
            namespace: d.text()?,
            description: d.text()?,
            major_version: d.i64()?,
            minor_version: d.i64()?,
        })
    }
    fn pool(pools: &mut Pools) -> &mut Vec<Arc<Vec<Row<Self>>>> {
        &mut pools.contracts
    }
}

impl Entity for LogicalAddress {
    const KIND: usize = 3;
    fn encode(&self, e: &mut Encoder) {
        e.text(&self.hsa_id);
        e.text(&self.description);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, ImageError> {
        Ok(LogicalAddress {
            hsa_id: d.text()?,
            description: d.text()?,
        })
    }
    fn pool(pools: &mut Pools) -> &mut Vec<Arc<Vec<Row<Self>>>> {
        &mut pools.logical_addresses
    }
}

impl Entity for CallAddress {
    const KIND: usize = 4;
    fn encode(&self, e: &mut Encoder) {
        e.u64(self.producer);
        e.u64(self.profile);
        e.text(&self.url);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, ImageError> {
        Ok(CallAddress {
            producer: d.u64()?,
            profile: d.u64()?,
            url: d.text()?,
        })
    }
    fn pool(pools: &mut Pools) -> &mut Vec<Arc<Vec<Row<Self>>>> {
        &mut pools.call_addresses
    }
}

impl Entity for Route {
    const KIND: usize = 5;
    fn encode(&self, e: &mut Encoder) {
        e.u64(self.logical_address);
        e.u64(self.contract);
        e.u64(self.call_address);
        e.validity(self.validity);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, ImageError> {
        Ok(Route {
            logical_address: d.u64()?,
            contract: d.u64()?,
            call_address: d.u64()?,
            validity: d.validity()?,
        })
    }
    fn pool(pools: &mut Pools) -> &mut Vec<Arc<Vec<Row<Self>>>> {
        &mut pools.routes
    }
}

impl Entity for Authorisation {
    const KIND: usize = 6;
    fn encode(&self, e: &mut Encoder) {
        e.u64(self.consumer);
        e.u64(self.contract);
        e.u64(self.logical_address);
        e.validity(self.validity);
        e.text(&self.integration_agreement);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, ImageError> {
        Ok(Authorisation {
            consumer: d.u64()?,
            contract: d.u64()?,
            logical_address: d.u64()?,
            validity: d.validity()?,
            integration_agreement: d.text()?,
        })
    }
    fn pool(pools: &mut Pools) -> &mut Vec<Arc<Vec<Row<Self>>>> {
        &mut pools.authorisations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tak::testutil::{self, at};

    #[test]
    fn a_store_read_back_is_the_store_written_sharing_what_it_shared() {
        let (mut s, ids) = testutil::store();
        s.publish("admin", "ett", at(1));
        s.change(ids.route_se, |r: &mut Row<Route>| {
            r.item.validity = testutil::v("2025-07-01", "2025-08-31");
            r.pending = true;
        });
        s.publish("admin", "två", at(2));
        s.change(ids.route_01, |r: &mut Row<Route>| {
            r.item.validity = testutil::v("2025-01-01", "2025-12-31");
            r.pending = true;
        });
        s.publish("admin", "tre", at(3));
        s.change(ids.auth_se, |r: &mut Row<Authorisation>| {
            r.state = RowState::Deleted;
            r.pending = true;
        });
        let mut e = Encoder::new();
        e.store(&s);
        e.str("after");
        let mut d_bytes = e.finish();
        let mut d = Decoder::new(&d_bytes).unwrap();
        let back = d.store().unwrap();
        assert_eq!(d.str().unwrap(), "after");
        assert!(d.at_end());
        d_bytes.truncate(d_bytes.len() - "after".len() - 1);
        let bytes = d_bytes;
        assert_eq!(back.catalogue(), s.catalogue());
        assert_eq!(back.versions(), s.versions());
        assert_eq!(back.pending(), s.pending());
        assert_eq!(back.last_version_id(), s.last_version_id());
        // The oldest version went into the image as its diff, and is rebuilt the same.
        assert!(back.versions()[0].full().is_none());
        for (a, b) in back.versions().iter().zip(s.versions()) {
            assert_eq!(a.counts(), b.counts());
            let (a, b) = (
                back.snapshot(a.version()).unwrap(),
                s.snapshot(b.version()).unwrap(),
            );
            assert_eq!(a.catalogue(), b.catalogue());
            assert_eq!(
                crate::tak::export::export(&a),
                crate::tak::export::export(&b)
            );
        }
        // The natural-key indexes were rebuilt.
        assert_eq!(
            back.find_logical_address("01").map(|r| r.id),
            s.find_logical_address("01").map(|r| r.id)
        );
        // Versions share the chunks they shared.
        let (v2, v3) = (
            back.versions()[1].full().unwrap(),
            back.versions()[2].full().unwrap(),
        );
        assert!(Arc::ptr_eq(
            &v2.catalogue().contracts.chunks()[0],
            &v3.catalogue().contracts.chunks()[0]
        ));
        // Every cut of the image is refused, never a panic.
        for cut in 0..bytes.len() {
            let r = Decoder::new(&bytes[..cut]).and_then(|mut d| d.store());
            assert!(r.is_err(), "cut at {cut}");
        }
    }
}
