//! The simulated clock of one environment: the date in the platform's time zone
//! (`Europe/Stockholm` unless `clock.time_zone` says otherwise) shifted by a whole number of
//! days.
//!
//! TAK validity is whole days, so "today" is all the router and the order service ask. As
//! on the real platform, a day starts at midnight Swedish time, not at the machine's (a CI
//! runner in UTC is otherwise a day behind between 22:00 or 23:00 UTC and midnight). Tests
//! and integrators move an environment to "tomorrow" through the admin API instead of
//! waiting; the offset is journaled so a restart keeps it. `clock.start_at` starts the
//! testbed's time at a given instant instead of the machine's, for every environment.
//!
//! Reading the clock takes no lock and, except once a day, no time-zone lookup: the current
//! day is cached with the instants it starts and ends ([`TimeBase`]), and one reading of the
//! system clock says whether it still holds. It neither journals nor decides a move: the
//! order service's writer checks a move, journals it and only then sets the offset here.
//!
//! The simulated day stays within [`FIRST_DAY`]..=[`LAST_DAY`] (the years orders may name):
//! every offset that comes from outside (the admin API, the journal, a checkpoint) is checked
//! with [`Clock::day_at`] (or [`day_from`]) before it is used, so no date arithmetic here can
//! overflow or panic.

use std::{
    sync::{
        Arc, LazyLock,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use chrono::{Days, NaiveDate};
use jiff::{Timestamp, tz::TimeZone};

use crate::{config::clock::ClockConfig, tak::Day, vocab::PLATFORM_TIME_ZONE};

pub use crate::tak::{FIRST_YEAR, LAST_YEAR};
/// The earliest simulated day: 1900-01-01.
pub const FIRST_DAY: Day = match NaiveDate::from_ymd_opt(FIRST_YEAR, 1, 1) {
    Some(d) => d,
    None => panic!("1900-01-01 is a date"),
};
/// The latest simulated day: 9999-12-31.
pub const LAST_DAY: Day = match NaiveDate::from_ymd_opt(LAST_YEAR, 12, 31) {
    Some(d) => d,
    None => panic!("9999-12-31 is a date"),
};

/// A clock value that would put "today" outside [`FIRST_DAY`]..=[`LAST_DAY`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// An offset in days from the real date that leaves the range.
    #[error(
        "offset_days {offset} would make today fall outside {FIRST_DAY}..={LAST_DAY} (real today is {real}); the offset must be between {min} and {max}"
    )]
    OffsetOutOfRange {
        /// The offset asked for (or reached).
        offset: i128,
        /// The real date (in the platform's zone) it was measured from.
        real: Day,
        /// The smallest offset allowed today.
        min: i64,
        /// The largest offset allowed today.
        max: i64,
    },
    /// A day outside the range.
    #[error("today {day} is outside {FIRST_DAY}..={LAST_DAY}")]
    DayOutOfRange {
        /// The day asked for.
        day: Day,
    },
}

/// The day `offset` days from `real`, if it is within [`FIRST_DAY`]..=[`LAST_DAY`].
pub fn day_from(real: Day, offset: i128) -> Result<Day, ClockError> {
    let min = (FIRST_DAY - real).num_days();
    let max = (LAST_DAY - real).num_days();
    let out = || ClockError::OffsetOutOfRange {
        offset,
        real,
        min,
        max,
    };
    if offset < i128::from(min) || offset > i128::from(max) {
        return Err(out());
    }
    // Within [min, max], so it fits an i64 and the day exists.
    let days = i64::try_from(offset).map_err(|_| out())?;
    let moved = if days >= 0 {
        real.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        real.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    moved.ok_or_else(out)
}

/// The bits of [`TimeBase`]'s packed word that hold the end of the cached day (Unix seconds,
/// up to the year 36812); the bits above hold the day, as days since [`FIRST_DAY`].
const END_BITS: u32 = 40;
const END_MASK: u64 = (1 << END_BITS) - 1;

/// The time every environment's clock starts from: the platform's time zone, the shift that
/// `clock.start_at` gives the machine's clock, and the current day in that zone.
///
/// The day is cached with the instants it starts and ends: a reading checks the system clock
/// against them (two atomic loads) and only past midnight (or after the machine's clock was
/// set back) looks the zone up again. The day and its end share one word so a reader never
/// pairs one day with another's end; the start is a second word, written first, whose stale
/// value can at worst make one reading recompute or, while the machine's clock is being set
/// back across a midnight, keep the later day for that reading.
#[derive(Debug)]
pub struct TimeBase {
    zone: TimeZone,
    /// Seconds added to the machine's clock: `clock.start_at` minus the instant the testbed
    /// started. 0 without `start_at`.
    shift_secs: i64,
    /// `day << END_BITS | end`: the cached day and the instant the next one starts. 0: none.
    day_and_end: AtomicU64,
    /// The instant the cached day started (Unix seconds).
    start: AtomicI64,
}

/// The platform's zone, read once.
static PLATFORM_ZONE: LazyLock<TimeZone> =
    LazyLock::new(|| TimeZone::get(PLATFORM_TIME_ZONE).unwrap_or(TimeZone::UTC));

impl Default for TimeBase {
    /// Swedish time, from the machine's clock.
    fn default() -> Self {
        Self::new(PLATFORM_ZONE.clone(), None)
    }
}

impl TimeBase {
    /// Time in `zone`, starting now at `start_at` if given, else at the machine's clock.
    pub fn new(zone: TimeZone, start_at: Option<Timestamp>) -> Self {
        let shift_secs = start_at.map_or(0, |at| at.as_second() - machine_secs());
        TimeBase {
            zone,
            shift_secs,
            day_and_end: AtomicU64::new(0),
            start: AtomicI64::new(i64::MAX),
        }
    }

    /// From `[clock]`; the error names the setting and the value.
    pub fn from_config(config: &ClockConfig) -> Result<Self, String> {
        Ok(Self::new(config.zone()?, config.start()?))
    }

    /// The zone's IANA name (`Europe/Stockholm`).
    pub fn zone_name(&self) -> &str {
        self.zone.iana_name().unwrap_or("UTC")
    }

    /// The zone.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The testbed's current instant, Unix seconds (the machine's plus `start_at`'s shift).
    pub fn now_secs(&self) -> i64 {
        machine_secs().saturating_add(self.shift_secs)
    }

    /// The testbed's current instant in the zone, RFC 3339 with the zone's offset
    /// (`2026-03-11T00:30:00+01:00`).
    pub fn now_text(&self) -> String {
        match Timestamp::from_second(self.now_secs()) {
            Ok(t) => t.display_with_offset(self.zone.to_offset(t)).to_string(),
            Err(_) => String::new(),
        }
    }

    /// The testbed's current date and time of day in the zone.
    pub fn now_local(&self) -> jiff::civil::DateTime {
        match Timestamp::from_second(self.now_secs()) {
            Ok(t) => self.zone.to_datetime(t),
            Err(_) => jiff::civil::DateTime::ZERO,
        }
    }

    /// The date in the zone now, unshifted by any environment's offset.
    pub fn today(&self) -> Day {
        self.day_of(self.now_secs())
    }

    /// The date in the zone at `secs` (Unix seconds), from the cache when it holds.
    pub fn day_of(&self, secs: i64) -> Day {
        let packed = self.day_and_end.load(Ordering::Acquire);
        if secs < (packed & END_MASK) as i64
            && secs >= self.start.load(Ordering::Acquire)
            && let Some(day) = FIRST_DAY.checked_add_days(Days::new(packed >> END_BITS))
        {
            return day;
        }
        self.look_up(secs)
    }

    /// The date at `secs` from the zone's rules; caches it with its start and end.
    #[cold]
    fn look_up(&self, secs: i64) -> Day {
        let utc_day = || {
            chrono::DateTime::from_timestamp(secs, 0)
                .map_or(FIRST_DAY, |t| t.date_naive())
                .clamp(FIRST_DAY, LAST_DAY)
        };
        let Ok(at) = Timestamp::from_second(secs) else {
            return utc_day();
        };
        let zoned = at.to_zoned_datetime(self.zone.clone());
        let date = zoned.date();
        let Some(day) = NaiveDate::from_ymd_opt(
            i32::from(date.year()),
            u32::from(date.month().unsigned_abs()),
            u32::from(date.day().unsigned_abs()),
        ) else {
            return utc_day();
        };
        let start = zoned.start_of_day().map(|z| z.timestamp().as_second());
        let end = zoned
            .tomorrow()
            .and_then(|z| z.start_of_day())
            .map(|z| z.timestamp().as_second());
        let index = (day - FIRST_DAY).num_days();
        // Cached only when it packs (it does from 1970 to 9999); else looked up each time.
        if let (Ok(start), Ok(end)) = (start, end)
            && (0..1 << (64 - END_BITS)).contains(&index)
            && (0..=END_MASK as i64).contains(&end)
        {
            self.start.store(start, Ordering::Release);
            self.day_and_end
                .store((index as u64) << END_BITS | end as u64, Ordering::Release);
        }
        day
    }
}

/// The machine's clock, Unix seconds (0 if it is set before 1970).
fn machine_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// An environment's clock: the date in the platform's zone plus `offset` days.
#[derive(Debug, Default)]
pub struct Clock {
    offset_days: AtomicI64,
    time: Arc<TimeBase>,
}

impl Clock {
    /// A clock at real time in Swedish time.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock at real time on `time` (shared by the environments of one testbed).
    pub fn on(time: Arc<TimeBase>) -> Self {
        Clock {
            offset_days: AtomicI64::new(0),
            time,
        }
    }

    /// The time this clock runs on: the zone and the real instant.
    pub fn time(&self) -> &TimeBase {
        &self.time
    }

    /// The real date in the platform's zone, unshifted.
    pub fn real_today(&self) -> Day {
        self.time.today()
    }

    /// The day `offset` days from the real date, if it is within range.
    pub fn day_at(&self, offset: i128) -> Result<Day, ClockError> {
        day_from(self.real_today(), offset)
    }

    /// The offset from the real date that makes `day` today, if `day` is within range.
    pub fn offset_to(&self, day: Day) -> Result<i64, ClockError> {
        if !(FIRST_DAY..=LAST_DAY).contains(&day) {
            return Err(ClockError::DayOutOfRange { day });
        }
        Ok((day - self.real_today()).num_days())
    }

    /// The day lookups and orders are evaluated on. Offsets are checked before they are set,
    /// so this is always [`Clock::checked_today`]; should it ever not be, the nearest day in
    /// range is taken (never a panic on the routing path) and readiness reports the clock
    /// DOWN.
    pub fn today(&self) -> Day {
        self.checked_today().unwrap_or_else(|_| {
            if self.offset_days() < 0 {
                FIRST_DAY
            } else {
                LAST_DAY
            }
        })
    }

    /// The simulated day, or why the offset gives none.
    pub fn checked_today(&self) -> Result<Day, ClockError> {
        self.day_at(i128::from(self.offset_days()))
    }

    /// Days ahead of (positive) or behind (negative) real time.
    pub fn offset_days(&self) -> i64 {
        self.offset_days.load(Ordering::Relaxed)
    }

    /// Sets the shift directly. The caller has checked it ([`Clock::day_at`]): the order
    /// service does before journaling a clock move and when replaying one.
    pub fn set_offset_days(&self, days: i64) {
        self.offset_days.store(days, Ordering::Relaxed);
    }

    /// Makes `day` today; returns the new offset.
    pub fn set_today(&self, day: Day) -> Result<i64, ClockError> {
        let offset = self.offset_to(day)?;
        self.set_offset_days(offset);
        Ok(offset)
    }

    /// Back to real time.
    pub fn reset(&self) {
        self.set_offset_days(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_reset() {
        let c = Clock::new();
        let today = c.real_today();
        assert_eq!(c.today(), today);
        let tomorrow = today.succ_opt().unwrap();
        assert_eq!(c.set_today(tomorrow), Ok(1));
        assert_eq!(c.today(), tomorrow);
        c.set_offset_days(-2);
        assert_eq!(c.today(), today - chrono::Duration::days(2));
        c.reset();
        assert_eq!(c.today(), today);
    }

    #[test]
    fn offsets_that_leave_the_years_are_refused_not_panicked_on() {
        let real = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert_eq!(
            day_from(real, 1),
            Ok(NaiveDate::from_ymd_opt(2026, 12, 3).unwrap())
        );
        let max = (LAST_DAY - real).num_days();
        assert_eq!(day_from(real, i128::from(max)), Ok(LAST_DAY));
        assert_eq!(
            day_from(real, i128::from((FIRST_DAY - real).num_days())),
            Ok(FIRST_DAY)
        );
        for offset in [
            i128::from(max) + 1,
            200_000_000_000_000,
            i128::from(i64::MAX),
            i128::from(i64::MIN),
            i128::from(i64::MAX) * 2,
        ] {
            let e = day_from(real, offset).unwrap_err();
            let text = e.to_string();
            assert!(text.contains(&offset.to_string()), "{text}");
            assert!(text.contains("1900-01-01..=9999-12-31"), "{text}");
        }
        let c = Clock::new();
        assert!(
            c.offset_to(NaiveDate::from_ymd_opt(1899, 12, 31).unwrap())
                .is_err()
        );
        assert!(
            c.offset_to(NaiveDate::from_ymd_opt(10000, 1, 1).unwrap())
                .is_err()
        );
    }

    #[test]
    fn a_clock_with_an_unchecked_offset_gives_a_day_in_range() {
        let c = Clock::new();
        c.set_offset_days(i64::MAX);
        assert!(c.checked_today().is_err());
        assert_eq!(c.today(), LAST_DAY);
        c.set_offset_days(i64::MIN);
        assert_eq!(c.today(), FIRST_DAY);
    }

    fn secs(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_second()
    }

    fn date(text: &str) -> Day {
        text.parse().unwrap()
    }

    #[test]
    fn a_swedish_day_starts_at_swedish_midnight_in_winter_and_in_summer() {
        let t = TimeBase::default();
        assert_eq!(t.zone_name(), "Europe/Stockholm");
        for (at, day) in [
            // Winter, +01:00: midnight is 23:00 UTC.
            ("2026-03-10T22:59:59Z", "2026-03-10"),
            ("2026-03-10T23:00:00Z", "2026-03-11"),
            ("2026-03-10T23:30:00Z", "2026-03-11"),
            // Summer, +02:00: midnight is 22:00 UTC.
            ("2026-07-14T21:59:59Z", "2026-07-14"),
            ("2026-07-14T22:00:00Z", "2026-07-15"),
            // The night summer time starts (02:00 → 03:00 on 2026-03-29) and ends
            // (03:00 → 02:00 on 2026-10-25): 23 and 25 hours long.
            ("2026-03-28T23:00:00Z", "2026-03-29"),
            ("2026-03-29T21:59:59Z", "2026-03-29"),
            ("2026-03-29T22:00:00Z", "2026-03-30"),
            ("2026-10-24T22:00:00Z", "2026-10-25"),
            ("2026-10-25T22:59:59Z", "2026-10-25"),
            ("2026-10-25T23:00:00Z", "2026-10-26"),
        ] {
            // Once looked up, once from the cache, and after an instant of another day.
            assert_eq!(t.day_of(secs(at)), date(day), "{at}");
            assert_eq!(t.day_of(secs(at)), date(day), "{at} (cached)");
            assert_eq!(t.day_of(secs("2020-01-01T12:00:00Z")), date("2020-01-01"));
            assert_eq!(t.day_of(secs(at)), date(day), "{at} (after another day)");
        }
    }

    #[test]
    fn the_cache_holds_the_day_from_its_start_to_its_end() {
        let t = TimeBase::default();
        // 2026-03-29, 23 hours: 2026-03-28T23:00Z..2026-03-29T22:00Z.
        assert_eq!(t.day_of(secs("2026-03-29T12:00:00Z")), date("2026-03-29"));
        assert_eq!(
            t.start.load(Ordering::Relaxed),
            secs("2026-03-28T23:00:00Z")
        );
        assert_eq!(
            t.day_and_end.load(Ordering::Relaxed) & END_MASK,
            secs("2026-03-29T22:00:00Z") as u64
        );
        // Set back across midnight, then forward across the next one.
        assert_eq!(t.day_of(secs("2026-03-28T22:59:59Z")), date("2026-03-28"));
        assert_eq!(t.day_of(secs("2026-03-29T22:00:00Z")), date("2026-03-30"));
    }

    #[test]
    fn another_zone_and_a_start_instant() {
        let utc = TimeBase::new(TimeZone::UTC, None);
        assert_eq!(utc.day_of(secs("2026-03-10T23:30:00Z")), date("2026-03-10"));
        let tokyo = TimeBase::new(TimeZone::get("Asia/Tokyo").unwrap(), None);
        assert_eq!(
            tokyo.day_of(secs("2026-03-10T15:00:00Z")),
            date("2026-03-11")
        );
        let started = TimeBase::new(
            PLATFORM_ZONE.clone(),
            Some("2026-03-10T23:30:00Z".parse().unwrap()),
        );
        // The machine's clock runs on, so "now" is at or shortly after the start.
        let now = started.now_secs();
        assert!((secs("2026-03-10T23:30:00Z")..secs("2026-03-10T23:40:00Z")).contains(&now));
        assert_eq!(started.today(), date("2026-03-11"));
        assert!(
            started.now_text().starts_with("2026-03-11T00:3"),
            "{}",
            started.now_text()
        );
        assert!(
            started.now_text().ends_with("+01:00"),
            "{}",
            started.now_text()
        );
        let c = Clock::on(Arc::new(started));
        assert_eq!(c.today(), date("2026-03-11"));
        assert_eq!(c.set_today(date("2026-03-12")), Ok(1));
    }
}
