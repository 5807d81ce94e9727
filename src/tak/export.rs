//! JSON exports of a published version: [`export`] in the real `TAK-published-version` format
//! (the PubVersion blob that tak-core's `Util.fromPublishedVersionToJSON` writes and
//! `PublishedVersionCache` reads) with its reverse [`import`] (an export loaded as an
//! environment's start-up TAK), and [`tables`], a readable listing for `ntjp tak show` and the
//! admin API.
//!
//! The real format, reproduced here: top-level `formatVersion` ("1"), `version` (a string),
//! `tidpunkt`, `utforare`, `kommentar`, `data`; `data` holds the lowercase singular arrays
//! `rivtaprofil`, `tjanstekontrakt`, `logiskadress`, `tjanstekomponent`, `anropsadress`,
//! `anropsbehorighet`, `vagval`, `filter`, `filtercategorization`, with references as row ids in
//! `relationships` — including the real inconsistency `logiskAdress` (anropsbehorighet) versus
//! `logiskadress` (vagval). `pubversion` is the string id of the version a row was last published
//! in. Times use Java's `yyyy-MM-dd'T'HH:mm:ssZ` (`2009-03-10T00:00:00+0100`) in Swedish local
//! time, as the real TAK (running in Sweden) writes them; validity days are local midnight.
//!
//! Deviations: key order within objects is alphabetical (our `serde_json` keeps no insertion
//! order; JSON readers do not care); `filter` and `filtercategorization` are always empty (we
//! have no filters). Rows whose references cannot be resolved are left out, as a real reader would
//! refuse them ("Missing relationship in jsonfile"). Pure functions; no IO.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::model::{
    Authorisation, CallAddress, Day, Id, LogicalAddress, RivtaProfile, Route, Row, RowState,
    ServiceComponent, ServiceContract, Text, Validity,
};
use super::snapshot::Snapshot;
use super::store::Store;
use super::view::{CatalogueViews, Scope};

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let last = first_of_next.pred_opt()?;
    let back = i64::from(last.weekday().num_days_from_sunday());
    last.checked_sub_signed(Duration::days(back))
}

/// Europe/Stockholm's offset in hours at the UTC instant `at`: CEST (+2) from the last Sunday
/// of March 01:00 UTC to the last Sunday of October 01:00 UTC, else CET (+1). The EU rule of
/// 1996, applied to every year (no tz database in a pure core).
fn stockholm_offset_at(at: DateTime<Utc>) -> i64 {
    let year = at.year();
    let one = NaiveTime::from_hms_opt(1, 0, 0).unwrap_or_default();
    match (last_sunday(year, 3), last_sunday(year, 10)) {
        (Some(start), Some(end)) => {
            let naive = at.naive_utc();
            if NaiveDateTime::new(start, one) <= naive && naive < NaiveDateTime::new(end, one) {
                2
            } else {
                1
            }
        }
        _ => 1,
    }
}

/// Europe/Stockholm's offset in hours at local midnight of `day` (midnight is never inside a
/// switch, which happens at 02:00/03:00 local time).
fn stockholm_offset_on(day: Day) -> i64 {
    match (last_sunday(day.year(), 3), last_sunday(day.year(), 10)) {
        (Some(start), Some(end)) if start < day && day <= end => 2,
        _ => 1,
    }
}

/// `tidpunkt`: the publish instant in Swedish local time, `yyyy-MM-dd'T'HH:mm:ssZ`.
pub fn format_instant(at: DateTime<Utc>) -> String {
    let hours = stockholm_offset_at(at);
    let local = at.naive_utc() + Duration::hours(hours);
    format!("{}+0{hours}00", local.format("%Y-%m-%dT%H:%M:%S"))
}

/// `fromTidpunkt` / `tomTidpunkt`: local midnight of `day`, `yyyy-MM-dd'T'HH:mm:ssZ`.
pub fn format_day(day: Day) -> String {
    format!(
        "{}T00:00:00+0{}00",
        day.format("%Y-%m-%d"),
        stockholm_offset_on(day)
    )
}

/// The `TAK-published-version` document. Field order is alphabetical (as our earlier
/// `serde_json::Value` export wrote it); readers do not care.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportFile {
    data: ExportData,
    #[serde(rename = "formatVersion")]
    format_version: Text,
    #[serde(default)]
    kommentar: Option<Text>,
    tidpunkt: Text,
    #[serde(default)]
    utforare: Option<Text>,
    version: Lenient,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportData {
    #[serde(default)]
    anropsadress: Vec<CallAddressOut>,
    #[serde(default)]
    anropsbehorighet: Vec<AuthorisationOut>,
    #[serde(default)]
    filter: Vec<Ignored>,
    #[serde(default)]
    filtercategorization: Vec<Ignored>,
    #[serde(default)]
    logiskadress: Vec<PlainOut>,
    #[serde(default)]
    rivtaprofil: Vec<ProfileOut>,
    #[serde(default)]
    tjanstekomponent: Vec<PlainOut>,
    #[serde(default)]
    tjanstekontrakt: Vec<ContractOut>,
    #[serde(default)]
    vagval: Vec<RouteOut>,
}

/// A `filter` / `filtercategorization` entry: we have no filters, so an import skips them.
#[derive(Debug)]
struct Ignored;

impl Serialize for Ignored {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for Ignored {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Ignored)
    }
}

/// A number or a string holding one (ids and `pubversion` are strings in some places).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lenient(u64);

impl Serialize for Lenient {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a non-negative integer or a string holding one")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Lenient, E> {
                Ok(Lenient(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Lenient, E> {
                v.trim()
                    .parse()
                    .map(Lenient)
                    .map_err(|_| E::custom(format!("{v:?} is not a number")))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileOut {
    #[serde(default)]
    beskrivning: Text,
    id: Id,
    namn: Text,
    #[serde(default)]
    pubversion: Option<Lenient>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractOut {
    #[serde(default)]
    beskrivning: Text,
    id: Id,
    #[serde(rename = "majorVersion", default)]
    major_version: i64,
    #[serde(rename = "minorVersion", default)]
    minor_version: i64,
    namnrymd: Text,
    #[serde(default)]
    pubversion: Option<Lenient>,
}

/// `logiskadress` and `tjanstekomponent`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlainOut {
    #[serde(default)]
    beskrivning: Text,
    #[serde(rename = "hsaId")]
    hsa_id: Text,
    id: Id,
    #[serde(default)]
    pubversion: Option<Lenient>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallAddressOut {
    adress: Text,
    id: Id,
    #[serde(default)]
    pubversion: Option<Lenient>,
    relationships: CallAddressRelations,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallAddressRelations {
    rivtaprofil: Id,
    tjanstekomponent: Id,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorisationOut {
    #[serde(rename = "fromTidpunkt")]
    from: Text,
    id: Id,
    #[serde(default)]
    integrationsavtal: Text,
    #[serde(default)]
    pubversion: Option<Lenient>,
    relationships: AuthorisationRelations,
    #[serde(rename = "tomTidpunkt")]
    to: Text,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorisationRelations {
    /// The real inconsistency: `logiskAdress` here, `logiskadress` in vagval.
    #[serde(rename = "logiskAdress")]
    logical_address: Id,
    tjanstekomponent: Id,
    tjanstekontrakt: Id,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteOut {
    #[serde(rename = "fromTidpunkt")]
    from: Text,
    id: Id,
    #[serde(default)]
    pubversion: Option<Lenient>,
    relationships: RouteRelations,
    #[serde(rename = "tomTidpunkt")]
    to: Text,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteRelations {
    anropsadress: Id,
    logiskadress: Id,
    tjanstekontrakt: Id,
}

fn pv<T>(row: &Row<T>) -> Option<Lenient> {
    row.published_in.map(Lenient)
}

fn export_file(s: &Snapshot) -> ExportFile {
    let cat = s.catalogue();
    let p = Scope::Published;
    let data = ExportData {
        rivtaprofil: p
            .rows(&cat.profiles)
            .map(|r| ProfileOut {
                beskrivning: r.description.clone(),
                id: r.id,
                namn: r.name.clone(),
                pubversion: pv(r),
            })
            .collect(),
        tjanstekontrakt: p
            .rows(&cat.contracts)
            .map(|r| ContractOut {
                beskrivning: r.description.clone(),
                id: r.id,
                major_version: r.major_version,
                minor_version: r.minor_version,
                namnrymd: r.namespace.clone(),
                pubversion: pv(r),
            })
            .collect(),
        logiskadress: p
            .rows(&cat.logical_addresses)
            .map(|r| PlainOut {
                beskrivning: r.description.clone(),
                hsa_id: r.hsa_id.clone(),
                id: r.id,
                pubversion: pv(r),
            })
            .collect(),
        tjanstekomponent: p
            .rows(&cat.components)
            .map(|r| PlainOut {
                beskrivning: r.description.clone(),
                hsa_id: r.hsa_id.clone(),
                id: r.id,
                pubversion: pv(r),
            })
            .collect(),
        anropsadress: export_call_addresses(cat),
        anropsbehorighet: export_authorisations(cat),
        vagval: export_routes(cat),
        filter: Vec::new(),
        filtercategorization: Vec::new(),
    };
    ExportFile {
        data,
        format_version: "1".into(),
        kommentar: Some(s.comment().into()),
        tidpunkt: format_instant(s.published_at()).into(),
        utforare: Some(s.executor().into()),
        version: Lenient(s.version()),
    }
}

/// A call address is exported while its producer and profile are.
fn call_address_exportable(cat: &super::model::Catalogue, producer: Id, profile: Id) -> bool {
    cat.components.get_active(producer).is_some() && cat.profiles.get_active(profile).is_some()
}

/// The published call addresses whose producer and profile are exported.
fn export_call_addresses(cat: &super::model::Catalogue) -> Vec<CallAddressOut> {
    Scope::Published
        .rows(&cat.call_addresses)
        .filter(|r| call_address_exportable(cat, r.producer, r.profile))
        .map(|r| CallAddressOut {
            adress: r.url.clone(),
            id: r.id,
            pubversion: pv(r),
            relationships: CallAddressRelations {
                rivtaprofil: r.profile,
                tjanstekomponent: r.producer,
            },
        })
        .collect()
}

/// The published authorisations whose logical address, consumer and contract are exported.
fn export_authorisations(cat: &super::model::Catalogue) -> Vec<AuthorisationOut> {
    Scope::Published
        .rows(&cat.authorisations)
        .filter(|r| {
            cat.logical_addresses
                .get_active(r.logical_address)
                .is_some()
                && cat.components.get_active(r.consumer).is_some()
                && cat.contracts.get_active(r.contract).is_some()
        })
        .map(|r| AuthorisationOut {
            from: format_day(r.validity.from).into(),
            id: r.id,
            integrationsavtal: r.integration_agreement.clone(),
            pubversion: pv(r),
            relationships: AuthorisationRelations {
                logical_address: r.logical_address,
                tjanstekomponent: r.consumer,
                tjanstekontrakt: r.contract,
            },
            to: format_day(r.validity.to).into(),
        })
        .collect()
}

/// The published routes whose call address, logical address and contract are exported.
fn export_routes(cat: &super::model::Catalogue) -> Vec<RouteOut> {
    Scope::Published
        .rows(&cat.routes)
        .filter(|r| {
            cat.call_addresses
                .get_active(r.call_address)
                .is_some_and(|c| call_address_exportable(cat, c.producer, c.profile))
                && cat
                    .logical_addresses
                    .get_active(r.logical_address)
                    .is_some()
                && cat.contracts.get_active(r.contract).is_some()
        })
        .map(|r| RouteOut {
            from: format_day(r.validity.from).into(),
            id: r.id,
            pubversion: pv(r),
            relationships: RouteRelations {
                anropsadress: r.call_address,
                logiskadress: r.logical_address,
                tjanstekontrakt: r.contract,
            },
            to: format_day(r.validity.to).into(),
        })
        .collect()
}

/// The snapshot in the real `TAK-published-version` JSON format (tak.md §1.5).
pub fn export(s: &Snapshot) -> Value {
    serde_json::to_value(export_file(s)).unwrap_or(Value::Null)
}

/// [`export`] as JSON text, written straight from the rows (no intermediate JSON tree).
pub fn export_string(s: &Snapshot) -> String {
    serde_json::to_string(&export_file(s)).unwrap_or_default()
}

/// Why an export could not be imported. The message names the entry (`data.vagval[3] (id 17)`)
/// or the position in the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

/// Where an entry is, for messages: `data.vagval[3] (id 17)`.
fn entry(table: &str, index: usize, id: Id) -> String {
    format!("data.{table}[{index}] (id {id})")
}

/// The day of a `fromTidpunkt`/`tomTidpunkt` (`2025-01-01T00:00:00+0100`, local midnight).
fn parse_day(text: &str) -> Option<Day> {
    text.get(..10)?.parse().ok()
}

/// The instant of `tidpunkt` (`yyyy-MM-dd'T'HH:mm:ssZ`).
fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z")
        .ok()
        .map(|t| t.to_utc())
}

/// Names the entry a parse error is in, by reading the `data` arrays element by element (only
/// after the fast typed parse failed).
fn locate_parse_error(text: &str, fallback: serde_json::Error) -> ImportError {
    #[derive(Deserialize)]
    struct Loose<'a> {
        #[serde(borrow)]
        data: Option<std::collections::BTreeMap<String, Vec<&'a serde_json::value::RawValue>>>,
    }
    fn check<T: serde::de::DeserializeOwned>(
        table: &str,
        items: &[&serde_json::value::RawValue],
    ) -> Option<ImportError> {
        items.iter().enumerate().find_map(|(i, raw)| {
            serde_json::from_str::<T>(raw.get()).err().map(|e| {
                let id = serde_json::from_str::<serde_json::Value>(raw.get())
                    .ok()
                    .and_then(|v| v.get("id").map(|id| id.to_string()))
                    .unwrap_or_else(|| "?".into());
                ImportError(format!("data.{table}[{i}] (id {id}): {e}"))
            })
        })
    }
    if let Ok(Loose { data: Some(data) }) = serde_json::from_str::<Loose<'_>>(text) {
        for (table, items) in &data {
            let found = match table.as_str() {
                "rivtaprofil" => check::<ProfileOut>(table, items),
                "tjanstekontrakt" => check::<ContractOut>(table, items),
                "logiskadress" | "tjanstekomponent" => check::<PlainOut>(table, items),
                "anropsadress" => check::<CallAddressOut>(table, items),
                "anropsbehorighet" => check::<AuthorisationOut>(table, items),
                "vagval" => check::<RouteOut>(table, items),
                _ => None,
            };
            if let Some(e) = found {
                return e;
            }
        }
    }
    ImportError(format!("not a TAK-published-version export: {fallback}"))
}

/// Reads a `TAK-published-version` export (what [`export`] writes, and real TAK's PubVersion
/// blob) into a store for `platform` whose latest published version is the export: every row
/// keeps its id and `pubversion`, nothing is pending, and the version id, time, executor and
/// comment are the export's (so publishing again continues from its version id). `filter` and
/// `filtercategorization` entries are skipped (we have no filters). Errors name the offending
/// entry: a missing or malformed field, a duplicate id, a relationship to an id that is not in
/// the export (as tak-core's "Missing relationship in jsonfile"), a second row with the same
/// natural key, dates in the wrong order.
pub fn import(text: &str, platform: &str) -> Result<Store, ImportError> {
    let file: ExportFile = serde_json::from_str(text).map_err(|e| locate_parse_error(text, e))?;
    let published_at = parse_instant(&file.tidpunkt).ok_or_else(|| {
        ImportError(format!(
            "tidpunkt {:?} is not yyyy-MM-dd'T'HH:mm:ssZ",
            file.tidpunkt.as_str()
        ))
    })?;
    let mut store = Store::empty(platform);
    let d = file.data;
    // Each table after the ones its relationships point into.
    import_profiles(&mut store, d.rivtaprofil)?;
    import_contracts(&mut store, d.tjanstekontrakt)?;
    import_logical_addresses(&mut store, d.logiskadress)?;
    import_components(&mut store, d.tjanstekomponent)?;
    import_call_addresses(&mut store, d.anropsadress)?;
    import_routes(&mut store, d.vagval)?;
    import_authorisations(&mut store, d.anropsbehorighet)?;
    store.adopt_published(
        file.version.0,
        published_at,
        file.utforare.as_deref().unwrap_or_default(),
        file.kommentar.as_deref().unwrap_or_default(),
    );
    Ok(store)
}

/// An imported row: active, not pending, published in its `pubversion`.
fn imported_row<T>(id: Id, pubversion: Option<Lenient>, item: T) -> Row<T> {
    Row {
        id,
        state: RowState::Active,
        pending: false,
        published_in: pubversion.map(|v| v.0),
        item,
    }
}

/// `items` in id order, each with its index in the export (for messages).
fn sorted<T>(mut items: Vec<T>, id: impl Fn(&T) -> Id) -> Vec<(usize, T)> {
    let mut v: Vec<(usize, T)> = items.drain(..).enumerate().collect();
    v.sort_by_key(|(_, t)| id(t));
    v
}

/// Inserts an imported row, refusing an id that is already taken.
fn put<T: super::store::Entity>(
    store: &mut Store,
    table: &str,
    index: usize,
    row: Row<T>,
) -> Result<(), ImportError> {
    let id = row.id;
    match store.insert_row(row) {
        Some(_) => Ok(()),
        None => Err(ImportError(format!(
            "{}: the id appears twice",
            entry(table, index, id)
        ))),
    }
}

/// Refuses a second row with the same natural key (`other`, the row that has it).
fn unique(
    table: &str,
    index: usize,
    id: Id,
    other: Option<Id>,
    key: &str,
) -> Result<(), ImportError> {
    match other {
        Some(other) => Err(ImportError(format!(
            "{}: {key} is already the key of id {other}",
            entry(table, index, id),
        ))),
        None => Ok(()),
    }
}

/// A relationship to an id that is not in the export.
fn missing(table: &str, index: usize, id: Id, relation: &str, target: Id) -> ImportError {
    ImportError(format!(
        "{}: relationships.{relation} {target} is not in the export (Missing relationship in jsonfile)",
        entry(table, index, id)
    ))
}

/// The validity of a route or authorisation from its `fromTidpunkt` and `tomTidpunkt`.
fn validity(
    table: &str,
    index: usize,
    id: Id,
    from: &Text,
    to: &Text,
) -> Result<Validity, ImportError> {
    let day = |field: &str, t: &Text| {
        parse_day(t).ok_or_else(|| {
            ImportError(format!(
                "{}: {field} {:?} is not a date",
                entry(table, index, id),
                t.as_str()
            ))
        })
    };
    let v = Validity::new(day("fromTidpunkt", from)?, day("tomTidpunkt", to)?);
    // TAK's own quirk (tak.md §2.6): a row replaced or excluded on the day it starts ends
    // the day before, [F, F - 1], valid on no day. TAK holds such rows, so its exports do;
    // anything else inverted is an error, as in tak-web.
    if v.from > v.to && v.to.succ_opt() != Some(v.from) {
        return Err(ImportError(format!(
            "{}: fromTidpunkt is after tomTidpunkt (Tidpunkter i fel ordning)",
            entry(table, index, id)
        )));
    }
    Ok(v)
}

fn import_profiles(store: &mut Store, items: Vec<ProfileOut>) -> Result<(), ImportError> {
    const TABLE: &str = "rivtaprofil";
    for (i, p) in sorted(items, |p| p.id) {
        let other = store.find_profile(&p.namn).map(|r| r.id);
        unique(TABLE, i, p.id, other, &p.namn)?;
        let item = RivtaProfile {
            name: p.namn,
            description: p.beskrivning,
        };
        put(store, TABLE, i, imported_row(p.id, p.pubversion, item))?;
    }
    Ok(())
}

fn import_contracts(store: &mut Store, items: Vec<ContractOut>) -> Result<(), ImportError> {
    const TABLE: &str = "tjanstekontrakt";
    for (i, c) in sorted(items, |c| c.id) {
        let other = store.find_contract(&c.namnrymd).map(|r| r.id);
        unique(TABLE, i, c.id, other, &c.namnrymd)?;
        let item = ServiceContract {
            namespace: c.namnrymd,
            description: c.beskrivning,
            major_version: c.major_version,
            minor_version: c.minor_version,
        };
        put(store, TABLE, i, imported_row(c.id, c.pubversion, item))?;
    }
    Ok(())
}

fn import_logical_addresses(store: &mut Store, items: Vec<PlainOut>) -> Result<(), ImportError> {
    const TABLE: &str = "logiskadress";
    for (i, l) in sorted(items, |l| l.id) {
        let other = store.find_logical_address(&l.hsa_id).map(|r| r.id);
        unique(TABLE, i, l.id, other, &l.hsa_id)?;
        let item = LogicalAddress {
            hsa_id: l.hsa_id,
            description: l.beskrivning,
        };
        put(store, TABLE, i, imported_row(l.id, l.pubversion, item))?;
    }
    Ok(())
}

fn import_components(store: &mut Store, items: Vec<PlainOut>) -> Result<(), ImportError> {
    const TABLE: &str = "tjanstekomponent";
    for (i, k) in sorted(items, |k| k.id) {
        let other = store.find_component(&k.hsa_id).map(|r| r.id);
        unique(TABLE, i, k.id, other, &k.hsa_id)?;
        let item = ServiceComponent {
            hsa_id: k.hsa_id,
            description: k.beskrivning,
        };
        put(store, TABLE, i, imported_row(k.id, k.pubversion, item))?;
    }
    Ok(())
}

fn import_call_addresses(store: &mut Store, items: Vec<CallAddressOut>) -> Result<(), ImportError> {
    const TABLE: &str = "anropsadress";
    for (i, a) in sorted(items, |a| a.id) {
        let r = &a.relationships;
        if store.catalogue().profiles.get(r.rivtaprofil).is_none() {
            return Err(missing(TABLE, i, a.id, "rivtaprofil", r.rivtaprofil));
        }
        if store
            .catalogue()
            .components
            .get(r.tjanstekomponent)
            .is_none()
        {
            return Err(missing(
                TABLE,
                i,
                a.id,
                "tjanstekomponent",
                r.tjanstekomponent,
            ));
        }
        let other = store
            .find_call_address(r.tjanstekomponent, r.rivtaprofil, &a.adress)
            .map(|r| r.id);
        unique(TABLE, i, a.id, other, &a.adress)?;
        let item = CallAddress {
            producer: r.tjanstekomponent,
            profile: r.rivtaprofil,
            url: a.adress,
        };
        put(store, TABLE, i, imported_row(a.id, a.pubversion, item))?;
    }
    Ok(())
}

fn import_routes(store: &mut Store, items: Vec<RouteOut>) -> Result<(), ImportError> {
    const TABLE: &str = "vagval";
    for (i, v) in sorted(items, |v| v.id) {
        let r = &v.relationships;
        let cat = store.catalogue();
        if cat.call_addresses.get(r.anropsadress).is_none() {
            return Err(missing(TABLE, i, v.id, "anropsadress", r.anropsadress));
        }
        if cat.logical_addresses.get(r.logiskadress).is_none() {
            return Err(missing(TABLE, i, v.id, "logiskadress", r.logiskadress));
        }
        if cat.contracts.get(r.tjanstekontrakt).is_none() {
            return Err(missing(
                TABLE,
                i,
                v.id,
                "tjanstekontrakt",
                r.tjanstekontrakt,
            ));
        }
        let item = Route {
            logical_address: r.logiskadress,
            contract: r.tjanstekontrakt,
            call_address: r.anropsadress,
            validity: validity(TABLE, i, v.id, &v.from, &v.to)?,
        };
        put(store, TABLE, i, imported_row(v.id, v.pubversion, item))?;
    }
    Ok(())
}

fn import_authorisations(
    store: &mut Store,
    items: Vec<AuthorisationOut>,
) -> Result<(), ImportError> {
    const TABLE: &str = "anropsbehorighet";
    for (i, a) in sorted(items, |a| a.id) {
        let r = &a.relationships;
        let cat = store.catalogue();
        if cat.logical_addresses.get(r.logical_address).is_none() {
            return Err(missing(TABLE, i, a.id, "logiskAdress", r.logical_address));
        }
        if cat.components.get(r.tjanstekomponent).is_none() {
            return Err(missing(
                TABLE,
                i,
                a.id,
                "tjanstekomponent",
                r.tjanstekomponent,
            ));
        }
        if cat.contracts.get(r.tjanstekontrakt).is_none() {
            return Err(missing(
                TABLE,
                i,
                a.id,
                "tjanstekontrakt",
                r.tjanstekontrakt,
            ));
        }
        let item = Authorisation {
            consumer: r.tjanstekomponent,
            contract: r.tjanstekontrakt,
            logical_address: r.logical_address,
            validity: validity(TABLE, i, a.id, &a.from, &a.to)?,
            integration_agreement: a.integrationsavtal,
        };
        put(store, TABLE, i, imported_row(a.id, a.pubversion, item))?;
    }
    Ok(())
}

fn to_value<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

/// A readable listing of the snapshot: its metadata and counts, then routes, authorisations,
/// components, contracts, logical addresses, call addresses and RIVTA profiles, each resolved to
/// natural keys with validity as `{"from": "2025-01-01", "to": "2125-01-01"}` (inclusive days).
/// Our own format (not a real TAK one), for `ntjp tak show` and the admin API.
pub fn tables(s: &Snapshot) -> Value {
    let v = CatalogueViews::of(s.catalogue(), Scope::Published);
    json!({
        "version": s.version(),
        "platform": s.platform(),
        "published_at": s.published_at().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "executor": s.executor(),
        "comment": s.comment(),
        "counts": to_value(&s.counts()),
        "routes": to_value(&v.routes),
        "authorisations": to_value(&v.authorisations),
        "components": to_value(&v.components),
        "contracts": to_value(&v.contracts),
        "logical_addresses": to_value(&v.logical_addresses),
        "call_addresses": to_value(&v.call_addresses),
        "rivta_profiles": to_value(&v.rivta_profiles),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tak::testutil::{self, at, day};

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn days_are_swedish_local_midnight() {
        assert_eq!(format_day(day("2009-03-10")), "2009-03-10T00:00:00+0100");
        assert_eq!(format_day(day("2025-07-01")), "2025-07-01T00:00:00+0200");
        // 2025: summer time from Sunday 30 March to Sunday 26 October.
        assert_eq!(format_day(day("2025-03-30")), "2025-03-30T00:00:00+0100");
        assert_eq!(format_day(day("2025-03-31")), "2025-03-31T00:00:00+0200");
        assert_eq!(format_day(day("2025-10-26")), "2025-10-26T00:00:00+0200");
        assert_eq!(format_day(day("2025-10-27")), "2025-10-27T00:00:00+0100");
        assert_eq!(format_day(day("2125-01-01")), "2125-01-01T00:00:00+0100");
    }

    #[test]
    fn instants_are_swedish_local_time_with_offset() {
        assert_eq!(format_instant(at(0)), "2025-01-15T11:00:00+0100");
        assert_eq!(
            format_instant(utc("2025-03-30T00:59:59Z")),
            "2025-03-30T01:59:59+0100"
        );
        assert_eq!(
            format_instant(utc("2025-03-30T01:00:00Z")),
            "2025-03-30T03:00:00+0200"
        );
        assert_eq!(
            format_instant(utc("2025-10-26T00:59:59Z")),
            "2025-10-26T02:59:59+0200"
        );
        assert_eq!(
            format_instant(utc("2025-10-26T01:00:00Z")),
            "2025-10-26T02:00:00+0100"
        );
        assert_eq!(
            format_instant(utc("2025-12-31T23:30:00Z")),
            "2026-01-01T00:30:00+0100"
        );
    }

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn export_has_the_real_published_version_shape() {
        let (mut s, ids) = testutil::store();
        let snap = s.publish("Anna Admin", "Första versionen", at(0));
        let e = export(&snap);
        assert_eq!(
            keys(&e),
            [
                "data",
                "formatVersion",
                "kommentar",
                "tidpunkt",
                "utforare",
                "version"
            ]
        );
        assert_eq!(e["formatVersion"], "1");
        assert_eq!(e["version"], "1");
        assert_eq!(e["tidpunkt"], "2025-01-15T11:00:00+0100");
        assert_eq!(e["utforare"], "Anna Admin");
        assert_eq!(e["kommentar"], "Första versionen");
        let data = &e["data"];
        assert_eq!(
            keys(data),
            [
                "anropsadress",
                "anropsbehorighet",
                "filter",
                "filtercategorization",
                "logiskadress",
                "rivtaprofil",
                "tjanstekomponent",
                "tjanstekontrakt",
                "vagval",
            ]
        );
        assert_eq!(data["filter"], json!([]));
        assert_eq!(data["filtercategorization"], json!([]));

        let profiles = data["rivtaprofil"].as_array().unwrap();
        assert_eq!(profiles.len(), 2);
        assert_eq!(
            keys(&profiles[1]),
            ["beskrivning", "id", "namn", "pubversion"]
        );
        assert_eq!(profiles[1]["namn"], "RIVTABP21");
        assert_eq!(
            profiles[1]["pubversion"], "0",
            "seeded rows count as published"
        );

        let contract = &data["tjanstekontrakt"][0];
        assert_eq!(
            keys(contract),
            [
                "beskrivning",
                "id",
                "majorVersion",
                "minorVersion",
                "namnrymd",
                "pubversion"
            ]
        );
        assert_eq!(contract["namnrymd"], testutil::NS);
        assert_eq!(contract["majorVersion"], 1);
        assert_eq!(contract["minorVersion"], 0);
        assert_eq!(contract["pubversion"], "1");

        let la = &data["logiskadress"][0];
        assert_eq!(keys(la), ["beskrivning", "hsaId", "id", "pubversion"]);
        assert_eq!(la["hsaId"], "01");
        assert_eq!(la["id"], ids.la_01);
        assert_eq!(data["tjanstekomponent"][1]["hsaId"], "KONS");

        let aa = &data["anropsadress"][0];
        assert_eq!(keys(aa), ["adress", "id", "pubversion", "relationships"]);
        assert_eq!(aa["adress"], testutil::URL);
        assert_eq!(
            aa["relationships"],
            json!({"rivtaprofil": 2, "tjanstekomponent": 1})
        );

        let ab = &data["anropsbehorighet"][0];
        assert_eq!(
            keys(ab),
            [
                "fromTidpunkt",
                "id",
                "integrationsavtal",
                "pubversion",
                "relationships",
                "tomTidpunkt"
            ]
        );
        assert_eq!(ab["id"], ids.auth_01);
        assert_eq!(ab["integrationsavtal"], "AUTOTAKNING");
        assert_eq!(ab["fromTidpunkt"], "2025-01-01T00:00:00+0100");
        assert_eq!(ab["tomTidpunkt"], "2125-01-01T00:00:00+0100");
        // The real inconsistency: `logiskAdress` here, `logiskadress` in vagval.
        assert_eq!(
            ab["relationships"],
            json!({"logiskAdress": ids.la_01, "tjanstekomponent": ids.consumer, "tjanstekontrakt": 1})
        );

        let vv = data["vagval"].as_array().unwrap();
        assert_eq!(vv.len(), 2);
        assert_eq!(
            keys(&vv[1]),
            [
                "fromTidpunkt",
                "id",
                "pubversion",
                "relationships",
                "tomTidpunkt"
            ]
        );
        assert_eq!(vv[1]["id"], ids.route_se);
        assert_eq!(vv[1]["fromTidpunkt"], "2025-07-01T00:00:00+0200");
        assert_eq!(vv[1]["tomTidpunkt"], "2025-12-31T00:00:00+0100");
        assert_eq!(
            vv[1]["relationships"],
            json!({"anropsadress": ids.call, "logiskadress": ids.la_se, "tjanstekontrakt": 1})
        );
        // Every relationship points at an exported row, as PublishedVersionCache requires.
        let has = |table: &str, id: &Value| {
            data[table]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| &r["id"] == id)
        };
        for r in vv {
            assert!(has("anropsadress", &r["relationships"]["anropsadress"]));
            assert!(has("logiskadress", &r["relationships"]["logiskadress"]));
            assert!(has(
                "tjanstekontrakt",
                &r["relationships"]["tjanstekontrakt"]
            ));
        }
    }

    #[test]
    fn tables_list_everything_readably() {
        let (mut s, ids) = testutil::store();
        let snap = s.publish("admin", "ett", at(0));
        let t = tables(&snap);
        assert_eq!(t["version"], 1);
        assert_eq!(t["platform"], "NTJP-TEST");
        assert_eq!(t["published_at"], "2025-01-15T10:00:00Z");
        assert_eq!(t["counts"], json!({"routes": 2, "authorisations": 2}));
        assert_eq!(
            t["routes"][0],
            json!({
                "id": ids.route_01,
                "logical_address": "01",
                "contract": testutil::NS,
                "producer": "P1",
                "profile": "RIVTABP21",
                "url": testutil::URL,
                "validity": {"from": "2025-01-01", "to": "2125-01-01"},
            })
        );
        assert_eq!(
            t["authorisations"][1],
            json!({
                "id": ids.auth_se,
                "consumer": "KONS",
                "contract": testutil::NS,
                "logical_address": "SE",
                "validity": {"from": "2024-01-01", "to": "2024-12-31"},
                "integration_agreement": "AUTOTAKNING",
            })
        );
        assert_eq!(t["components"].as_array().unwrap().len(), 2);
        assert_eq!(t["contracts"][0]["namespace"], testutil::NS);
        assert_eq!(t["logical_addresses"][1]["hsa_id"], "SE");
        assert_eq!(t["call_addresses"][0]["url"], testutil::URL);
        assert_eq!(t["rivta_profiles"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn an_export_read_back_is_the_same_tak() {
        let (mut s, _) = testutil::store();
        s.publish("admin", "ett", at(0));
        // A deleted and a changed row, so the export has gaps and several publish versions.
        let orders = crate::orders::parse(
            &include_str!("../../fixtures/orders/examples/exclude-route-25.json")
                .replace("{{mocks}}", "https://127.0.0.1:1/mocks"),
        )
        .unwrap();
        let _ = crate::orders::apply(&mut s, &orders);
        let snap = s.publish("Anna Admin", "två", at(3600));
        let text = export_string(&snap);
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), export(&snap));

        let back = import(&text, "NTJP-TEST").unwrap();
        let again = back.latest_snapshot().unwrap();
        assert_eq!(export(&again), export(&snap));
        assert_eq!(again.version(), snap.version());
        assert_eq!(again.counts(), snap.counts());
        assert!(!back.has_pending_changes());
        let today = day("2025-08-01");
        for la in ["01", "SE", "se", "03"] {
            let (a, b) = (
                snap.route(testutil::NS, la, today),
                again.route(testutil::NS, la, today),
            );
            assert_eq!(a.matches.len(), b.matches.len(), "{la}");
            assert_eq!(a.trace.to_string(), b.trace.to_string());
        }
        // Orders continue from the imported state: the next version id follows the export's.
        let mut back = back;
        let next = back.publish("admin", "tre", at(7200));
        assert_eq!(next.version(), snap.version() + 1);
    }

    #[test]
    fn import_errors_name_the_entry() {
        let (mut s, ids) = testutil::store();
        let snap = s.publish("admin", "ett", at(0));
        let good = export(&snap);
        let err = |mutate: &dyn Fn(&mut Value)| {
            let mut v = good.clone();
            mutate(&mut v);
            import(&v.to_string(), "NTJP-TEST").unwrap_err().to_string()
        };
        let e = err(&|v| v["data"]["vagval"][1]["relationships"]["anropsadress"] = json!(99));
        assert!(
            e.contains(&format!("data.vagval[1] (id {})", ids.route_se))
                && e.contains("anropsadress 99")
                && e.contains("Missing relationship"),
            "{e}"
        );
        let e = err(&|v| v["data"]["anropsbehorighet"][0]["fromTidpunkt"] = json!("igår"));
        assert!(
            e.contains("data.anropsbehorighet[0]") && e.contains("igår"),
            "{e}"
        );
        let e = err(&|v| v["data"]["vagval"][0]["tomTidpunkt"] = json!(17));
        assert!(e.contains("data.vagval[0]"), "{e}");
        let e = err(&|v| v["data"]["logiskadress"][1]["hsaId"] = json!("01"));
        assert!(
            e.contains("data.logiskadress[1]") && e.contains("already the key"),
            "{e}"
        );
        let e = err(&|v| {
            v["data"]["logiskadress"][1]["id"] = v["data"]["logiskadress"][0]["id"].clone()
        });
        assert!(e.contains("appears twice"), "{e}");
        let e = err(&|v| v["tidpunkt"] = json!("nyss"));
        assert!(e.contains("tidpunkt"), "{e}");
        assert!(
            import("[]", "NTJP-TEST")
                .unwrap_err()
                .to_string()
                .contains("not a TAK-published-version export")
        );
    }
}
