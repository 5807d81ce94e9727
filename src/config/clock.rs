//! The clock's settings (TOML `[clock]`): the platform's time zone, whose calendar day is
//! "today" for TAK's validity days and orders' execution days, and an optional instant the
//! testbed's time starts from.
//!
//! Only the settings and their checks, read into typed values ([`ClockConfig::zone`],
//! [`ClockConfig::start`]); `crate::clock` keeps the time. Like all of `config`, this
//! imports nothing but `vocab`.

use serde::{Deserialize, Deserializer, Serialize};

use crate::vocab::PLATFORM_TIME_ZONE;

/// `[clock]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClockConfig {
    /// The IANA name of the platform's time zone. Default `Europe/Stockholm`, where the real
    /// platform runs: a route valid from the 11th routes from 00:00 Swedish time (23:00 UTC
    /// on the 10th in winter, 22:00 in summer), whatever the machine's own zone. The zone
    /// database is built into the binary, so the host's `/usr/share/zoneinfo` is not needed.
    pub time_zone: String,
    /// The instant the testbed's time starts from (RFC 3339, e.g. `2026-03-10T23:30:00Z`),
    /// running on from there; unset: the machine's clock. For tests across a midnight or a
    /// change to summer time, and reproducible runs. Each environment's day offset
    /// (`POST /api/<env>/clock`) applies on top. Between 1970 and 9999.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_instant"
    )]
    pub start_at: Option<String>,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            time_zone: PLATFORM_TIME_ZONE.to_string(),
            start_at: None,
        }
    }
}

/// The earliest `start_at`: later than the Unix epoch, so instants stay positive.
const EARLIEST_START: i64 = 86_400;
/// The latest `start_at`: 9999-12-30T00:00:00Z, a day before the last date any zone has.
const LATEST_START: i64 = 253_402_128_000;

impl ClockConfig {
    /// The time zone `time_zone` names, or why there is none (the message names the value).
    pub fn zone(&self) -> Result<jiff::tz::TimeZone, String> {
        jiff::tz::TimeZone::get(self.time_zone.trim()).map_err(|_| {
            format!(
                "clock.time_zone: unknown time zone {:?} (give an IANA name such as \
                 \"Europe/Stockholm\" or \"UTC\")",
                self.time_zone
            )
        })
    }

    /// The instant `start_at` names, if set, or why it names none (naming the value).
    pub fn start(&self) -> Result<Option<jiff::Timestamp>, String> {
        let Some(text) = &self.start_at else {
            return Ok(None);
        };
        let bad = |why: &str| {
            format!(
                "clock.start_at: {text:?} {why} (give an RFC 3339 instant with its offset, \
                 e.g. \"2026-03-10T23:30:00Z\" or \"2026-03-11T00:30:00+01:00\")"
            )
        };
        let at: jiff::Timestamp = text.trim().parse().map_err(|_| bad("is not an instant"))?;
        if !(EARLIEST_START..=LATEST_START).contains(&at.as_second()) {
            return Err(bad("is outside 1970-01-02..9999-12-30"));
        }
        Ok(Some(at))
    }

    /// Both settings are usable.
    pub fn check(&self) -> Result<(), String> {
        self.zone()?;
        self.start()?;
        Ok(())
    }
}

/// `start_at` as a string or as TOML's own date-time (`start_at = 2026-03-10T23:30:00Z`
/// in the file, or the same in `NTJP_CLOCK__START_AT`).
fn de_instant<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Instant {
        Text(String),
        Toml(toml::value::Datetime),
    }
    Ok(Option::<Instant>::deserialize(d)?.map(|i| match i {
        Instant::Text(t) => t,
        Instant::Toml(t) => t.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_zone_is_stockholm_and_bad_values_are_named() {
        let c = ClockConfig::default();
        assert_eq!(c.zone().unwrap().iana_name(), Some("Europe/Stockholm"));
        assert_eq!(c.start(), Ok(None));
        let bad = ClockConfig {
            time_zone: "Europe/Stokholm".into(),
            ..ClockConfig::default()
        };
        let e = bad.check().unwrap_err();
        assert!(
            e.contains("clock.time_zone") && e.contains("\"Europe/Stokholm\""),
            "{e}"
        );
        for (value, why) in [
            ("2026-03-10", "is not an instant"),
            ("2026-03-10T23:30:00", "is not an instant"),
            ("1969-12-31T00:00:00Z", "outside"),
        ] {
            let c = ClockConfig {
                start_at: Some(value.into()),
                ..ClockConfig::default()
            };
            let e = c.check().unwrap_err();
            assert!(e.contains(value) && e.contains(why), "{e}");
        }
        let c = ClockConfig {
            start_at: Some("2026-03-11T00:30:00+01:00".into()),
            ..ClockConfig::default()
        };
        assert_eq!(
            c.start().unwrap().unwrap(),
            "2026-03-10T23:30:00Z".parse::<jiff::Timestamp>().unwrap()
        );
    }

    #[test]
    fn start_at_reads_as_text_or_as_a_toml_date_time() {
        #[derive(Deserialize)]
        struct File {
            clock: ClockConfig,
        }
        for text in [
            "[clock]\nstart_at = \"2026-03-10T23:30:00Z\"",
            "[clock]\nstart_at = 2026-03-10T23:30:00Z",
        ] {
            let f: File = toml::from_str(text).unwrap();
            assert_eq!(
                f.clock.start().unwrap().unwrap().to_string(),
                "2026-03-10T23:30:00Z",
                "{text}"
            );
        }
    }
}
