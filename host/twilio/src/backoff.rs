//! Retry delays: exponential backoff with full jitter, floored by the server's
//! `Retry-After` when it gave one.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Exponential backoff with full jitter: the delay before retry `attempt` (0 = the first
/// retry) is uniform in `[0, min(cap, base × 2^attempt)]`, then raised to the server's
/// `Retry-After` if that is longer — a server that names a wait is obeyed even past `cap`.
///
/// Full jitter spreads a burst of failed sends over the whole window, so a Twilio outage
/// does not end in a synchronized retry storm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's window.
    pub base: Duration,
    /// The largest window any retry gets.
    pub cap: Duration,
}

impl Default for Backoff {
    /// 500 ms doubling up to 5 minutes.
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap }
    }

    /// The upper bound of retry `attempt`'s window: `min(cap, base × 2^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A randomly jittered delay for retry `attempt`, at least `retry_after`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        self.delay_with_sample(attempt, retry_after, random_u64())
    }

    /// [`Backoff::delay`] with the randomness supplied: `sample` picks the point in the
    /// window (`0` → no wait, `u64::MAX` → the ceiling). Deterministic, for tests.
    pub fn delay_with_sample(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        sample: u64,
    ) -> Duration {
        let ceiling = self.ceiling(attempt).as_nanos();
        // ceiling fits in u64 nanos for any cap under ~584 years; saturate beyond.
        let ceiling = u64::try_from(ceiling).unwrap_or(u64::MAX);
        let picked = (u128::from(sample) * u128::from(ceiling) / u128::from(u64::MAX)) as u64;
        let jittered = Duration::from_nanos(picked);
        match retry_after {
            Some(floor) => jittered.max(floor),
            None => jittered,
        }
    }
}

/// 64 random-enough bits from std: each `RandomState` gets fresh per-process-random SipHash
/// keys, so hashing nothing yields an unpredictable value. Jitter needs no more.
fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos().into()),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff::new(100 * MS, 1000 * MS);
        assert_eq!(b.ceiling(0), 100 * MS);
        assert_eq!(b.ceiling(1), 200 * MS);
        assert_eq!(b.ceiling(3), 800 * MS);
        assert_eq!(b.ceiling(4), 1000 * MS);
        assert_eq!(b.ceiling(31), 1000 * MS);
        assert_eq!(b.ceiling(32), 1000 * MS);
        assert_eq!(b.ceiling(u32::MAX), 1000 * MS);
        let huge = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(huge.ceiling(5), Duration::MAX);
        assert!(huge.delay(5, None) <= Duration::MAX);
    }

    #[test]
    fn samples_span_zero_to_ceiling() {
        let b = Backoff::new(100 * MS, 1000 * MS);
        assert_eq!(b.delay_with_sample(2, None, 0), Duration::ZERO);
        assert_eq!(b.delay_with_sample(2, None, u64::MAX), 400 * MS);
        let mid = b.delay_with_sample(2, None, u64::MAX / 2);
        assert!(mid > 199 * MS && mid < 201 * MS, "{mid:?}");
    }

    #[test]
    fn random_delays_stay_in_bounds_and_vary() {
        let b = Backoff::new(100 * MS, 2000 * MS);
        for attempt in 0..40 {
            let mut seen = std::collections::HashSet::new();
            for _ in 0..50 {
                let d = b.delay(attempt, None);
                assert!(d <= b.ceiling(attempt), "attempt {attempt}: {d:?}");
                seen.insert(d);
            }
            assert!(
                seen.len() > 10,
                "attempt {attempt}: jitter too narrow: {}",
                seen.len()
            );
        }
    }

    #[test]
    fn retry_after_is_a_floor_even_past_the_cap() {
        let b = Backoff::new(100 * MS, 1000 * MS);
        for _ in 0..100 {
            let d = b.delay(0, Some(2000 * MS));
            assert!(d >= 2000 * MS, "{d:?}");
            assert!(
                d <= 2000 * MS,
                "a floor above the ceiling is the delay: {d:?}"
            );
        }
        for _ in 0..100 {
            let d = b.delay(3, Some(300 * MS));
            assert!(d >= 300 * MS && d <= 800 * MS, "{d:?}");
        }
        assert_eq!(b.delay_with_sample(3, Some(300 * MS), u64::MAX), 800 * MS);
        assert_eq!(b.delay_with_sample(3, Some(300 * MS), 0), 300 * MS);
    }
}
