//! The Beställningsstödet order (beställning) JSON as tak-web imports it, and its parsing.
//!
//! The model follows tak-web's DTOs: key names exactly as the real JSON (`plattform`,
//! `formatVersion`, `inkludera`/`exkludera` with `tjanstekontrakt`, `logiskadresser`,
//! `tjanstekomponenter`, `anropsbehorigheter`, `vagval`); `formatVersion` and `version` as number
//! or numeric string; timestamps `yyyy-MM-dd'T'HH:mm:ssZ` (`2023-02-28T06:40:11+0000`); unknown
//! keys are an error (Jackson's default); absent or `null` sections and arrays are empty; the
//! plain-object fields (`hsaId`, `namnrymd`, `beskrivning`) and `kommentar` are cleaned as tak-web
//! does (trim, newline → space, drop CR, longer than 255 → first 254 characters, `null` → "").
//! Text before the first `{` and after the last `}` is ignored. This module validates nothing
//! against TAK (see `validate`), and does no IO.

use std::{fmt, sync::LazyLock};

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use jiff::tz::TimeZone;

use crate::{
    tak::{Day, FIRST_YEAR, LAST_YEAR},
    vocab::PLATFORM_TIME_ZONE,
};

/// A parse failure: the JSON is malformed, has a wrong type or unknown key, or lacks a mandatory
/// field. The message names the field and/or the line and column (in the original text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// The full message, position included.
    pub message: String,
    /// 1-based line in the original text, when known.
    pub line: Option<usize>,
    /// 1-based column in the original text, when known.
    pub column: Option<usize>,
}

impl ParseError {
    fn plain(message: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
            line: None,
            column: None,
        }
    }
}

/// A Beställningsstödet order (beställning).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// `plattform`: must equal the TAK instance's platform exactly.
    #[serde(rename = "plattform", default, deserialize_with = "de_null_default")]
    pub platform: String,
    /// `formatVersion` (a Java `float`: number or numeric string; absent = 0). Only displayed.
    #[serde(
        rename = "formatVersion",
        default,
        deserialize_with = "de_format_version"
    )]
    pub format_version: f32,
    /// `version` (a Java `int`: number or numeric string; absent = 0). Only displayed.
    #[serde(default, deserialize_with = "de_version")]
    pub version: i32,
    /// `bestallningsTidpunkt`, when the order was made. Mandatory (our parse error when absent).
    #[serde(
        rename = "bestallningsTidpunkt",
        default,
        deserialize_with = "de_ordered_at",
        serialize_with = "ser_timestamp"
    )]
    pub ordered_at: Option<DateTime<FixedOffset>>,
    /// `genomforandeTidpunkt`, the execution time; its day is the orders' `F`. Mandatory.
    #[serde(
        rename = "genomforandeTidpunkt",
        default,
        deserialize_with = "de_executes_at",
        serialize_with = "ser_timestamp"
    )]
    pub executes_at: Option<DateTime<FixedOffset>>,
    /// `utforare`, who made the order. Only displayed (`null` shown as "null", as tak-web does).
    #[serde(rename = "utforare", default)]
    pub executor: Option<String>,
    /// `kommentar`, cleaned; explicit `null` becomes "" and an absent key stays `None`.
    #[serde(rename = "kommentar", default, deserialize_with = "de_cleaned_opt")]
    pub comment: Option<String>,
    /// `inkludera`: objects to create or extend.
    #[serde(rename = "inkludera", default, deserialize_with = "de_include")]
    pub include: Section,
    /// `exkludera`: objects to end or remove.
    #[serde(rename = "exkludera", default, deserialize_with = "de_exclude")]
    pub exclude: Section,
}

/// One of the two order sections (`inkludera` / `exkludera`, BestallningsAvsnitt).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// `tjanstekontrakt`.
    #[serde(
        rename = "tjanstekontrakt",
        default,
        deserialize_with = "de_null_default"
    )]
    pub contracts: Vec<ContractItem>,
    /// `logiskadresser`.
    #[serde(
        rename = "logiskadresser",
        default,
        deserialize_with = "de_null_default"
    )]
    pub logical_addresses: Vec<PlainItem>,
    /// `tjanstekomponenter`.
    #[serde(
        rename = "tjanstekomponenter",
        default,
        deserialize_with = "de_null_default"
    )]
    pub components: Vec<PlainItem>,
    /// `anropsbehorigheter`.
    #[serde(
        rename = "anropsbehorigheter",
        default,
        deserialize_with = "de_null_default"
    )]
    pub authorisations: Vec<AuthorisationItem>,
    /// `vagval`.
    #[serde(rename = "vagval", default, deserialize_with = "de_null_default")]
    pub routes: Vec<RouteItem>,
}

/// A service contract (tjänstekontrakt) in an order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContractItem {
    /// `namnrymd`, cleaned.
    #[serde(rename = "namnrymd", default, deserialize_with = "de_cleaned")]
    pub namespace: String,
    /// `beskrivning`, cleaned.
    #[serde(rename = "beskrivning", default, deserialize_with = "de_cleaned")]
    pub description: String,
    /// `majorVersion` (number or numeric string; absent = 0).
    #[serde(
        rename = "majorVersion",
        default,
        deserialize_with = "de_major_version"
    )]
    pub major_version: i64,
}

/// A logical address (logisk adress) or service component (tjänstekomponent) in an order.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlainItem {
    /// `hsaId`, cleaned (upper-cased only when created).
    #[serde(rename = "hsaId", default, deserialize_with = "de_cleaned")]
    pub hsa_id: String,
    /// `beskrivning`, cleaned.
    #[serde(rename = "beskrivning", default, deserialize_with = "de_cleaned")]
    pub description: String,
}

/// An authorisation (anropsbehörighet) in an order. Fields are not cleaned; absent/`null` is
/// "missing information".
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorisationItem {
    /// `logiskAdress`: the logical address HSA-id.
    #[serde(rename = "logiskAdress", default)]
    pub logical_address: Option<String>,
    /// `tjanstekontrakt`: the contract namespace.
    #[serde(rename = "tjanstekontrakt", default)]
    pub contract: Option<String>,
    /// `tjanstekonsument`: the consumer component HSA-id.
    #[serde(rename = "tjanstekonsument", default)]
    pub consumer: Option<String>,
}

/// A route (vägval) in an order. Fields are not cleaned; absent/`null` is "missing information".
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteItem {
    /// `adress`: the producer URL.
    #[serde(rename = "adress", default)]
    pub url: Option<String>,
    /// `logiskAdress` (tak-web also accepts `logiskadress`).
    #[serde(rename = "logiskAdress", alias = "logiskadress", default)]
    pub logical_address: Option<String>,
    /// `tjanstekontrakt`: the contract namespace.
    #[serde(rename = "tjanstekontrakt", default)]
    pub contract: Option<String>,
    /// `rivtaprofil`: the RIVTA profile name.
    #[serde(rename = "rivtaprofil", default)]
    pub profile: Option<String>,
    /// `tjanstekomponent`: the producer component HSA-id.
    #[serde(rename = "tjanstekomponent", default)]
    pub producer: Option<String>,
}

/// Java's `String.valueOf` of a possibly-null string.
pub(crate) fn java_str(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("null")
}

impl fmt::Display for AuthorisationItem {
    /// tak-web's `toString`: `Logisk adress: X, Tjänstekonsument: Y, Tjänstekontrakt: Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Logisk adress: {}, Tjänstekonsument: {}, Tjänstekontrakt: {}",
            java_str(&self.logical_address),
            java_str(&self.consumer),
            java_str(&self.contract)
        )
    }
}

impl fmt::Display for RouteItem {
    /// tak-web's `toString`:
    /// `Logisk adress: …, Tjänstekontrakt: …, Tjänstekomponent: …, RivTaProfil: …, Adress: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Logisk adress: {}, Tjänstekontrakt: {}, Tjänstekomponent: {}, RivTaProfil: {}, Adress: {}",
            java_str(&self.logical_address),
            java_str(&self.contract),
            java_str(&self.producer),
            java_str(&self.profile),
            java_str(&self.url)
        )
    }
}

impl Order {
    /// The execution day `F`: the calendar day of `genomforandeTidpunkt` in the platform's
    /// time zone `zone`, as tak-web takes it in its server's zone (Swedish time): an order
    /// executing at `2025-01-01T23:30:00+0000` starts on 2025-01-02 in Stockholm. `None` only
    /// if the order was built without the field.
    pub fn execution_day(&self, zone: &TimeZone) -> Option<Day> {
        let at = self.executes_at?;
        let utc_day = at.with_timezone(&Utc).date_naive();
        let Ok(instant) = jiff::Timestamp::from_second(at.timestamp()) else {
            return Some(utc_day);
        };
        let date = zone.to_datetime(instant).date();
        Some(
            Day::from_ymd_opt(
                i32::from(date.year()),
                u32::from(date.month().unsigned_abs()),
                u32::from(date.day().unsigned_abs()),
            )
            .unwrap_or(utc_day),
        )
    }
}

/// The platform's time zone (`Europe/Stockholm`, [`PLATFORM_TIME_ZONE`]), from the tz
/// database built into the binary; what orders are read in unless the testbed's
/// `clock.time_zone` names another.
pub fn platform_zone() -> &'static TimeZone {
    static ZONE: LazyLock<TimeZone> =
        LazyLock::new(|| TimeZone::get(PLATFORM_TIME_ZONE).unwrap_or(TimeZone::UTC));
    &ZONE
}

/// Parses an order. Text before the first `{` and after the last `}` is ignored, as tak-web
/// does; positions in errors refer to the original text.
pub fn parse(text: &str) -> Result<Order, ParseError> {
    let (Some(start), Some(end)) = (text.find('{'), text.rfind('}')) else {
        return Err(ParseError::plain(
            "Bestallning does not contain JSON object",
        ));
    };
    if end < start {
        return Err(ParseError::plain(
            "Bestallning does not contain JSON object",
        ));
    }
    // Blank out the prefix (keeping newlines and byte widths) so serde's positions stay those of
    // the original text.
    let mut json = String::with_capacity(end + 1);
    for c in text[..start].chars() {
        if c == '\n' {
            json.push('\n');
        } else {
            json.extend(std::iter::repeat_n(' ', c.len_utf8()));
        }
    }
    json.push_str(&text[start..=end]);

    let order: Order = serde_json::from_str(&json).map_err(|e| {
        let line = (e.line() > 0).then_some(e.line());
        let column = (e.line() > 0).then_some(e.column());
        ParseError {
            message: format!("Beställningen kunde inte läsas (JSON): {e}"),
            line,
            column,
        }
    })?;
    // tak-web's checkMandatoryInfo (plattform null).
    if order.platform.is_empty() && !has_key(&json, "plattform") {
        return Err(ParseError::plain(
            "Bestallning is missing mandatory field: plattform",
        ));
    }
    // tak-web dereferences both timestamps unchecked (a runtime error); we refuse at parse time.
    if order.ordered_at.is_none() {
        return Err(ParseError::plain(
            "Bestallning is missing mandatory field: bestallningsTidpunkt",
        ));
    }
    if order.executes_at.is_none() {
        return Err(ParseError::plain(
            "Bestallning is missing mandatory field: genomforandeTidpunkt",
        ));
    }
    Ok(order)
}

/// Whether the top-level object has `key` with a non-null value.
fn has_key(json: &str, key: &str) -> bool {
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json)
        .ok()
        .and_then(|m| m.get(key).map(|v| !v.is_null()))
        .unwrap_or(false)
}

/// tak-web's `JsonUtils.cleanupString`: trim, `\n` → space, drop `\r`; longer than 255
/// characters → the first 254.
pub(crate) fn cleanup(input: &str) -> String {
    // Java's trim() strips every char <= U+0020.
    let trimmed = input.trim_matches(|c: char| c <= ' ');
    let s: String = trimmed
        .chars()
        .filter(|&c| c != '\r')
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    if s.chars().count() > 255 {
        s.chars().take(254).collect()
    } else {
        s
    }
}

fn de_cleaned<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .map(|s| cleanup(&s))
        .unwrap_or_default())
}

fn de_cleaned_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    // Present: a string is cleaned, null becomes "" (the setter was called with null).
    Ok(Some(de_cleaned(d)?))
}

fn de_null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A JSON number or a string holding one (Jackson's coercion for numeric fields).
struct Lenient {
    field: &'static str,
    integer: bool,
}

impl<'de> Visitor<'de> for Lenient {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.integer {
            write!(f, "`{}` as an integer or a string holding one", self.field)
        } else {
            write!(f, "`{}` as a number or a string holding one", self.field)
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        // Jackson truncates a float given for an int.
        Ok(if self.integer { v.trunc() } else { v })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        let t = v.trim();
        let parsed = if self.integer {
            t.parse::<i64>().ok().map(|i| i as f64)
        } else {
            t.parse::<f64>().ok().filter(|f| f.is_finite())
        };
        parsed.ok_or_else(|| {
            E::custom(format!(
                "invalid value for `{}`: \"{v}\" is not {}",
                self.field,
                if self.integer {
                    "an integer"
                } else {
                    "a number"
                }
            ))
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
        Ok(0.0)
    }

    fn visit_none<E: de::Error>(self) -> Result<f64, E> {
        Ok(0.0)
    }
}

fn de_lenient<'de, D: Deserializer<'de>>(
    d: D,
    field: &'static str,
    integer: bool,
) -> Result<f64, D::Error> {
    d.deserialize_any(Lenient { field, integer })
}

fn de_format_version<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    Ok(de_lenient(d, "formatVersion", false)? as f32)
}

fn de_version<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    let v = de_lenient(d, "version", true)?;
    if v < f64::from(i32::MIN) || v > f64::from(i32::MAX) {
        return Err(de::Error::custom(format!(
            "invalid value for `version`: {v} is out of range"
        )));
    }
    Ok(v as i32)
}

fn de_major_version<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(de_lenient(d, "majorVersion", true)? as i64)
}

/// A section as an object (or `null`, as empty). serde would also read a struct from any
/// array, field by field; tak-web's Jackson refuses an array where an object belongs, and so
/// do we, naming the section — except `[]`, read as an empty section as it always was here
/// (journals hold such orders; an order that is empty with it is refused as changing nothing).
fn de_section<'de, D: Deserializer<'de>>(d: D, field: &'static str) -> Result<Section, D::Error> {
    struct SectionVisitor(&'static str);
    impl<'de> de::Visitor<'de> for SectionVisitor {
        type Value = Section;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "`{}` as an object with the arrays tjanstekontrakt, logiskadresser, \
                 tjanstekomponenter, anropsbehorigheter and vagval (or null)",
                self.0
            )
        }
        fn visit_unit<E: de::Error>(self) -> Result<Section, E> {
            Ok(Section::default())
        }
        fn visit_none<E: de::Error>(self) -> Result<Section, E> {
            Ok(Section::default())
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Section, A::Error> {
            if seq.next_element::<de::IgnoredAny>()?.is_some() {
                return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
            }
            Ok(Section::default())
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Section, A::Error> {
            Section::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(SectionVisitor(field))
}

fn de_include<'de, D: Deserializer<'de>>(d: D) -> Result<Section, D::Error> {
    de_section(d, "inkludera")
}

fn de_exclude<'de, D: Deserializer<'de>>(d: D) -> Result<Section, D::Error> {
    de_section(d, "exkludera")
}

/// The timestamp pattern `yyyy-MM-dd'T'HH:mm:ssZ`.
pub(crate) const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%z";

fn parse_timestamp(field: &str, s: &str) -> Result<DateTime<FixedOffset>, String> {
    let t = DateTime::parse_from_str(s, TIMESTAMP_FORMAT)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%:z"))
        .map_err(|_| {
            format!(
                "invalid value for `{field}`: \"{s}\" does not match yyyy-MM-dd'T'HH:mm:ssZ \
                 (e.g. 2023-02-28T06:40:11+0000)"
            )
        })?;
    // Four-digit years from 1900, as TAK's dates have: chrono reads year 0000 and signed
    // years such as -0001, which no order means and whose date arithmetic leaves the range.
    let years = FIRST_YEAR..=LAST_YEAR;
    if !years.contains(&t.year()) {
        return Err(format!(
            "invalid value for `{field}`: \"{s}\": the year {} is outside {FIRST_YEAR}–{LAST_YEAR}",
            t.year()
        ));
    }
    let utc = t.with_timezone(&Utc).date_naive();
    if !years.contains(&utc.year()) {
        return Err(format!(
            "invalid value for `{field}`: \"{s}\": its day in UTC, {utc}, is outside {FIRST_YEAR}–{LAST_YEAR}"
        ));
    }
    Ok(t)
}

fn de_timestamp<'de, D: Deserializer<'de>>(
    d: D,
    field: &'static str,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => parse_timestamp(field, &s)
            .map(Some)
            .map_err(de::Error::custom),
    }
}

fn de_ordered_at<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    de_timestamp(d, "bestallningsTidpunkt")
}

fn de_executes_at<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    de_timestamp(d, "genomforandeTidpunkt")
}

fn ser_timestamp<S: Serializer>(
    t: &Option<DateTime<FixedOffset>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.format(TIMESTAMP_FORMAT).to_string()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"plattform": "NTJP-TEST", "formatVersion": 1.0, "version": 1,
        "bestallningsTidpunkt": "2022-05-22T12:00:01+0000",
        "genomforandeTidpunkt": "2022-12-14T12:00:00+0000",
        "utforare": "test", "kommentar": null}"#;

    #[test]
    fn years_outside_1900_to_9999_are_refused_naming_the_field() {
        for (field, from, to, year) in [
            (
                "genomforandeTidpunkt",
                "2022-12-14T12:00:00+0000",
                "0000-12-14T12:00:00+0000",
                "0",
            ),
            (
                "genomforandeTidpunkt",
                "2022-12-14T12:00:00+0000",
                "-0001-12-14T12:00:00+0000",
                "-1",
            ),
            (
                "genomforandeTidpunkt",
                "2022-12-14T12:00:00+0000",
                "1899-12-31T12:00:00+0000",
                "1899",
            ),
            (
                "bestallningsTidpunkt",
                "2022-05-22T12:00:01+0000",
                "0000-05-22T12:00:01+0000",
                "0",
            ),
        ] {
            let e = parse(&MINIMAL.replace(from, to)).unwrap_err().to_string();
            assert!(e.contains(&format!("`{field}`")), "{e}");
            assert!(
                e.contains(&format!("the year {year} is outside 1900–9999")),
                "{e}"
            );
        }
        // Written in range, but its day in UTC is not.
        let e = parse(&MINIMAL.replace("2022-12-14T12:00:00+0000", "9999-12-31T23:00:00-0200"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("its day in UTC, +10000-01-01, is outside"),
            "{e}"
        );
        for edge in ["1900-01-01T00:00:00+0000", "9999-12-31T23:59:59+0000"] {
            assert!(
                parse(&MINIMAL.replace("2022-12-14T12:00:00+0000", edge)).is_ok(),
                "{edge}"
            );
        }
    }

    #[test]
    fn a_section_must_be_an_object_null_or_empty() {
        let with = |section: &str| MINIMAL.replace("}", &format!(", \"inkludera\": {section}}}"));
        assert_eq!(parse(&with("null")).unwrap().include, Section::default());
        assert_eq!(parse(&with("{}")).unwrap().include, Section::default());
        assert_eq!(parse(&with("[]")).unwrap().include, Section::default());
        let e = parse(&with("[[]]")).unwrap_err().to_string();
        assert!(
            e.contains("invalid type: sequence, expected `inkludera` as an object"),
            "{e}"
        );
        let e = parse(&MINIMAL.replace("}", ", \"exkludera\": 1}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`exkludera` as an object"), "{e}");
        let e = parse(&with("{\"vagval\": {}}")).unwrap_err().to_string();
        assert!(e.contains("vagval") || e.contains("sequence"), "{e}");
    }

    #[test]
    fn numbers_and_strings_both_work() {
        let a = parse(MINIMAL).unwrap();
        assert_eq!(a.format_version, 1.0);
        assert_eq!(a.version, 1);
        let b = parse(
            &MINIMAL
                .replace("1.0,", "\"1.0\",")
                .replace("\"version\": 1", "\"version\": \"1\""),
        )
        .unwrap();
        assert_eq!(b.format_version, 1.0);
        assert_eq!(b.version, 1);
        assert_eq!(b.comment.as_deref(), Some(""));
        assert_eq!(b.executor.as_deref(), Some("test"));
        assert!(b.include.routes.is_empty() && b.exclude.authorisations.is_empty());
        assert_eq!(b.execution_day(platform_zone()), "2022-12-14".parse().ok());
    }

    #[test]
    fn junk_outside_braces_is_ignored() {
        let text = format!("Beställning 4711:\n{MINIMAL}\n-- slut --");
        assert_eq!(parse(&text).unwrap().platform, "NTJP-TEST");
    }

    #[test]
    fn no_object_at_all() {
        assert_eq!(
            parse("hello").unwrap_err().message,
            "Bestallning does not contain JSON object"
        );
        assert!(parse("} {").is_err());
    }

    #[test]
    fn missing_platform() {
        let text = MINIMAL.replace("\"plattform\": \"NTJP-TEST\",", "");
        assert_eq!(
            parse(&text).unwrap_err().to_string(),
            "Bestallning is missing mandatory field: plattform"
        );
        let text = MINIMAL.replace("\"NTJP-TEST\"", "null");
        assert_eq!(
            parse(&text).unwrap_err().to_string(),
            "Bestallning is missing mandatory field: plattform"
        );
        // Present but empty is a platform mismatch later, not a parse error.
        assert!(parse(&MINIMAL.replace("\"NTJP-TEST\"", "\"\"")).is_ok());
    }

    #[test]
    fn missing_execution_time() {
        let text = MINIMAL.replace(
            "\"genomforandeTidpunkt\": \"2022-12-14T12:00:00+0000\",",
            "",
        );
        assert_eq!(
            parse(&text).unwrap_err().to_string(),
            "Bestallning is missing mandatory field: genomforandeTidpunkt"
        );
    }

    #[test]
    fn errors_name_the_position_in_the_original_text() {
        let text = "junk line\n{\"plattform\": \"X\",\n \"version\": \"one\"}";
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("`version`"), "{e}");
        assert!(e.message.contains("line 3"), "{e}");

        let e = parse("{\"plattform\": \"X\", \"bogus\": 1}").unwrap_err();
        assert!(e.message.contains("unknown field `bogus`"), "{e}");
        assert_eq!(e.line, Some(1));

        let e =
            parse("{\"plattform\": \"X\", \"genomforandeTidpunkt\": \"2025-01-01\"}").unwrap_err();
        assert!(e.message.contains("`genomforandeTidpunkt`"), "{e}");
        assert!(e.message.contains("yyyy-MM-dd'T'HH:mm:ssZ"), "{e}");
    }

    #[test]
    fn timestamps_parse_with_offset() {
        let o = parse(&MINIMAL.replace("2022-12-14T12:00:00+0000", "2022-12-14T00:30:00+0100"))
            .unwrap();
        // 23:30 UTC the day before: F is the day in Stockholm, the UTC day in UTC.
        assert_eq!(o.execution_day(platform_zone()), "2022-12-14".parse().ok());
        assert_eq!(o.execution_day(&TimeZone::UTC), "2022-12-13".parse().ok());
        let summer =
            parse(&MINIMAL.replace("2022-12-14T12:00:00+0000", "2022-07-14T22:30:00+0000"))
                .unwrap();
        assert_eq!(
            summer.execution_day(platform_zone()),
            "2022-07-15".parse().ok()
        );
    }

    #[test]
    fn plain_fields_are_cleaned_and_items_parse() {
        let text = MINIMAL.replace(
            "\"kommentar\": null",
            r#""kommentar": "  rad 1\r\nrad 2 ",
            "inkludera": {"logiskadresser": [{"hsaId": " se ", "beskrivning": null}],
                          "vagval": [{"adress": "https://x/y", "logiskadress": "01",
                                      "tjanstekontrakt": "urn:a:1", "rivtaprofil": "RIVTABP21",
                                      "tjanstekomponent": "P"}],
                          "tjanstekontrakt": [{"namnrymd": "urn:a:1", "beskrivning": "A",
                                               "majorVersion": "2"}]},
            "exkludera": null"#,
        );
        let o = parse(&text).unwrap();
        assert_eq!(o.comment.as_deref(), Some("rad 1 rad 2"));
        assert_eq!(o.include.logical_addresses[0].hsa_id, "se");
        assert_eq!(o.include.logical_addresses[0].description, "");
        assert_eq!(o.include.routes[0].logical_address.as_deref(), Some("01"));
        assert_eq!(o.include.contracts[0].major_version, 2);
        assert_eq!(o.exclude, Section::default());
    }

    #[test]
    fn cleanup_truncates_like_tak_web() {
        assert_eq!(cleanup(&"a".repeat(255)).len(), 255);
        assert_eq!(cleanup(&"a".repeat(256)).len(), 254);
        assert_eq!(cleanup("\t x \n"), "x");
    }

    #[test]
    fn item_texts_match_tak_web() {
        let ab = AuthorisationItem {
            logical_address: Some("SE".into()),
            contract: Some("urn:a:1".into()),
            consumer: None,
        };
        assert_eq!(
            ab.to_string(),
            "Logisk adress: SE, Tjänstekonsument: null, Tjänstekontrakt: urn:a:1"
        );
        let vv = RouteItem {
            url: None,
            logical_address: Some("01".into()),
            contract: Some("urn:a:1".into()),
            profile: Some("RIVTABP21".into()),
            producer: Some("P".into()),
        };
        assert_eq!(
            vv.to_string(),
            "Logisk adress: 01, Tjänstekontrakt: urn:a:1, Tjänstekomponent: P, RivTaProfil: RIVTABP21, Adress: null"
        );
    }
}
