//! The simulated clock of one environment: real local time shifted by a whole number of days.
//!
//! TAK validity is whole days, so "today" is all the router and the order service ask. Tests
//! and integrators move an environment to "tomorrow" through the admin API instead of
//! waiting; the offset is journaled so a restart keeps it. Reading the clock takes no lock.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{Duration, Local};

use crate::tak::Day;

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

    /// The day lookups and orders are evaluated on.
    pub fn today(&self) -> Day {
        let real = Self::real_today();
        real.checked_add_signed(Duration::days(self.offset_days()))
            .unwrap_or(real)
    }

    /// Days ahead of (positive) or behind (negative) real time.
    pub fn offset_days(&self) -> i64 {
        self.offset_days.load(Ordering::Relaxed)
    }

    /// Sets the shift directly (used when replaying the journal).
    pub fn set_offset_days(&self, days: i64) {
        self.offset_days.store(days, Ordering::Relaxed);
    }

    /// Makes `day` today; returns the new offset.
    pub fn set_today(&self, day: Day) -> i64 {
        let offset = (day - Self::real_today()).num_days();
        self.set_offset_days(offset);
        offset
    }

    /// Moves the clock `days` forward (negative: back); returns the new offset.
    pub fn advance(&self, days: i64) -> i64 {
        self.offset_days.fetch_add(days, Ordering::Relaxed) + days
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
    fn set_advance_and_reset() {
        let c = Clock::new();
        let today = Clock::real_today();
        assert_eq!(c.today(), today);
        let tomorrow = today.succ_opt().unwrap();
        assert_eq!(c.set_today(tomorrow), 1);
        assert_eq!(c.today(), tomorrow);
        assert_eq!(c.advance(-3), -2);
        assert_eq!(c.today(), today - Duration::days(2));
        c.reset();
        assert_eq!(c.today(), today);
    }
}
