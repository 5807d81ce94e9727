//! The simulated clock of one environment: real local time shifted by a whole number of days.
//!
//! TAK validity is whole days, so "today" is all the router and the order service ask. Tests
//! and integrators move an environment to "tomorrow" through the admin API instead of
//! waiting; the offset is journaled so a restart keeps it. Reading the clock takes no lock.
//! It neither journals nor decides a move: the order service's writer checks a move, journals
//! it and only then sets the offset here.
//!
//! The simulated day stays within [`FIRST_DAY`]..=[`LAST_DAY`] (the years orders may name):
//! every offset that comes from outside (the admin API, the journal, a checkpoint) is checked
//! with [`day_at`] before it is used, so no date arithmetic here can overflow or panic.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{Days, Local, NaiveDate};

use crate::tak::Day;

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
        /// The real local date it was measured from.
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

/// The day `offset` days from the real local date, if it is within range.
pub fn day_at(offset: i128) -> Result<Day, ClockError> {
    day_from(Clock::real_today(), offset)
}

/// The offset from the real local date that makes `day` today, if `day` is within range.
pub fn offset_to(day: Day) -> Result<i64, ClockError> {
    if !(FIRST_DAY..=LAST_DAY).contains(&day) {
        return Err(ClockError::DayOutOfRange { day });
    }
    Ok((day - Clock::real_today()).num_days())
}

/// An environment's clock: the machine's local date plus `offset` days.
#[derive(Debug, Default)]
pub struct Clock {
    offset_days: AtomicI64,
}

impl Clock {
    /// A clock at real time.
    pub fn new() -> Self {
        Self::default()
    }

    /// The real local date, unshifted.
    pub fn real_today() -> Day {
        Local::now().date_naive()
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
        day_at(i128::from(self.offset_days()))
    }

    /// Days ahead of (positive) or behind (negative) real time.
    pub fn offset_days(&self) -> i64 {
        self.offset_days.load(Ordering::Relaxed)
    }

    /// Sets the shift directly. The caller has checked it ([`day_at`]): the order service
    /// does before journaling a clock move and when replaying one.
    pub fn set_offset_days(&self, days: i64) {
        self.offset_days.store(days, Ordering::Relaxed);
    }

    /// Makes `day` today; returns the new offset.
    pub fn set_today(&self, day: Day) -> Result<i64, ClockError> {
        let offset = offset_to(day)?;
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
        let today = Clock::real_today();
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
        assert!(offset_to(NaiveDate::from_ymd_opt(1899, 12, 31).unwrap()).is_err());
        assert!(offset_to(NaiveDate::from_ymd_opt(10000, 1, 1).unwrap()).is_err());
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
}
