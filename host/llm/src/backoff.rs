//! Retry delays: exponential backoff with full jitter, floored by the provider's
//! `Retry-After` when it named one.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The delay before retry `attempt` (0 = the first retry) is uniform in
/// `[0, min(cap, base × 2^attempt)]`, then raised to `Retry-After` if that is longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// The upper bound of retry `attempt`'s window.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A randomly jittered delay for retry `attempt`, at least `retry_after`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        self.delay_with_sample(attempt, retry_after, random_u64())
    }

    /// [`Backoff::delay`] with the randomness supplied (`0` → no wait, `u64::MAX` → the
    /// ceiling).
    pub fn delay_with_sample(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        sample: u64,
    ) -> Duration {
        let ceiling = u64::try_from(self.ceiling(attempt).as_nanos()).unwrap_or(u64::MAX);
        let picked = (u128::from(sample) * u128::from(ceiling) / u128::from(u64::MAX)) as u64;
        let jittered = Duration::from_nanos(picked);
        retry_after.map_or(jittered, |floor| jittered.max(floor))
    }
}

/// 64 unpredictable-enough bits from std: every `RandomState` carries fresh SipHash keys.
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

    const B: Backoff = Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_millis(1_000),
    };

    #[test]
    fn windows_double_up_to_the_cap() {
        assert_eq!(B.ceiling(0), Duration::from_millis(100));
        assert_eq!(B.ceiling(3), Duration::from_millis(800));
        assert_eq!(B.ceiling(4), Duration::from_millis(1_000));
        assert_eq!(B.ceiling(63), Duration::from_millis(1_000));
    }

    #[test]
    fn jitter_spans_the_window_and_retry_after_is_a_floor() {
        assert_eq!(B.delay_with_sample(2, None, 0), Duration::ZERO);
        assert_eq!(
            B.delay_with_sample(2, None, u64::MAX),
            Duration::from_millis(400)
        );
        let floor = Duration::from_secs(3);
        assert_eq!(B.delay_with_sample(2, Some(floor), u64::MAX), floor);
        for _ in 0..100 {
            assert!(B.delay(1, None) <= Duration::from_millis(200));
        }
    }
}
