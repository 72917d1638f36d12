//! Wall-clock time: the [`Clock`] plugins and the scheduler read (tests substitute a
//! fake), and [`now_ms`] for everything else.

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time in Unix epoch milliseconds; tests substitute a fake.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> u64;
}

/// The system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(now_ms()).unwrap_or(0)
    }
}

/// Unix epoch milliseconds now (0 before 1970, saturating far in the future).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_agrees_with_now_ms() {
        let a = now_ms();
        let b = SystemClock.now_ms();
        assert!(a > 1_700_000_000_000, "{a}");
        assert!(b as i64 >= a && b as i64 - a < 1_000, "{a} {b}");
    }
}
