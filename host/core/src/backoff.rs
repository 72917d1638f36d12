//! The one exponential backoff of the host. Every wait after a failure — a Twilio send,
//! an LLM call, an alert delivery, a broker reconnect, an embedded-queue claim, a
//! failed event's next delivery — is a [`Backoff`]: the window of retry `attempt`
//! (0 = the first retry) is `min(cap, base × 2^attempt)`, and [`Jitter`] picks the
//! delay inside it.
//!
//! Why not the `backon` crate: its backoffs are iterators owned by one retry loop, and
//! its jitter adds up to one more delay on top (`[d, 2d]`). Most of our attempt counts
//! live in the database (an event's deliveries, an alert's failures) and are read back
//! by another process, so the delay must be a pure function of the attempt number, and
//! a burst of failed sends must spread over the whole window (full jitter), not past it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How a delay is picked inside retry `attempt`'s window `[0, ceiling]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Uniform in `[0, ceiling]`: a burst of failures spreads over the whole window, so
    /// an outage does not end in a synchronized retry storm (sends, LLM calls, events).
    Full,
    /// Uniform in `[ceiling / 2, ceiling]`: never much shorter than the window, still out
    /// of step (alert channels recovering together).
    Half,
    /// Exactly the ceiling (one reconnecting client, a local claim loop).
    None,
}

/// Exponential backoff with a cap and a [`Jitter`]; a server's `Retry-After` is a floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's window.
    pub base: Duration,
    /// The largest window any retry gets.
    pub cap: Duration,
    pub jitter: Jitter,
}

impl Default for Backoff {
    /// 500 ms doubling up to 5 minutes, full jitter.
    fn default() -> Self {
        Self::full(Duration::from_millis(500), Duration::from_secs(300))
    }
}

impl Backoff {
    /// Full jitter (see [`Jitter::Full`]).
    pub const fn full(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            jitter: Jitter::Full,
        }
    }

    /// Half jitter (see [`Jitter::Half`]).
    pub const fn half(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            jitter: Jitter::Half,
        }
    }

    /// No jitter: the delay is the window's ceiling.
    pub const fn fixed(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            jitter: Jitter::None,
        }
    }

    /// The upper bound of retry `attempt`'s window: `min(cap, base × 2^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A jittered delay for retry `attempt`, at least `retry_after` — a server that names
    /// a wait is obeyed even past `cap`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        self.delay_with_sample(attempt, retry_after, random_u64())
    }

    /// [`Backoff::delay`] with the randomness supplied: `sample` picks the point in the
    /// jitter's range (`0` → its low end, `u64::MAX` → the ceiling). Deterministic.
    pub fn delay_with_sample(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        sample: u64,
    ) -> Duration {
        let ceiling = self.ceiling(attempt);
        let low = match self.jitter {
            Jitter::Full => Duration::ZERO,
            Jitter::Half => ceiling / 2,
            Jitter::None => ceiling,
        };
        // The span fits in u64 nanos for any cap under ~584 years; saturate beyond.
        let span = u64::try_from((ceiling - low).as_nanos()).unwrap_or(u64::MAX);
        let picked = (u128::from(sample) * u128::from(span) / u128::from(u64::MAX)) as u64;
        let jittered = low.saturating_add(Duration::from_nanos(picked));
        retry_after.map_or(jittered, |floor| jittered.max(floor))
    }
}

/// 64 random-enough bits from std: each `RandomState` gets fresh per-process-random
/// SipHash keys, so hashing the clock's nanoseconds yields an unpredictable value.
/// Jitter needs no more.
pub(crate) fn random_u64() -> u64 {
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
        let b = Backoff::full(100 * MS, 1000 * MS);
        assert_eq!(b.ceiling(0), 100 * MS);
        assert_eq!(b.ceiling(1), 200 * MS);
        assert_eq!(b.ceiling(3), 800 * MS);
        assert_eq!(b.ceiling(4), 1000 * MS);
        assert_eq!(b.ceiling(31), 1000 * MS);
        assert_eq!(b.ceiling(32), 1000 * MS);
        assert_eq!(b.ceiling(u32::MAX), 1000 * MS);
        let huge = Backoff::full(Duration::MAX, Duration::MAX);
        assert_eq!(huge.ceiling(5), Duration::MAX);
        assert!(huge.delay(5, None) <= Duration::MAX);
    }

    #[test]
    fn full_jitter_spans_zero_to_ceiling() {
        let b = Backoff::full(100 * MS, 1000 * MS);
        assert_eq!(b.delay_with_sample(2, None, 0), Duration::ZERO);
        assert_eq!(b.delay_with_sample(2, None, u64::MAX), 400 * MS);
        let mid = b.delay_with_sample(2, None, u64::MAX / 2);
        assert!(mid > 199 * MS && mid < 201 * MS, "{mid:?}");
    }

    #[test]
    fn half_jitter_stays_in_the_upper_half_and_fixed_is_the_ceiling() {
        let half = Backoff::half(100 * MS, 1000 * MS);
        assert_eq!(half.delay_with_sample(2, None, 0), 200 * MS);
        assert_eq!(half.delay_with_sample(2, None, u64::MAX), 400 * MS);
        for failures in 0..40 {
            let d = half.delay(failures, None);
            let c = half.ceiling(failures);
            assert!(d <= c && d >= c / 2, "{failures}: {d:?}");
        }
        let fixed = Backoff::fixed(100 * MS, 1000 * MS);
        for sample in [0, 1 << 40, u64::MAX] {
            assert_eq!(fixed.delay_with_sample(3, None, sample), 800 * MS);
        }
        assert_eq!(fixed.delay(9, None), 1000 * MS);
    }

    #[test]
    fn random_delays_stay_in_bounds_and_vary() {
        let b = Backoff::full(100 * MS, 2000 * MS);
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
        let b = Backoff::full(100 * MS, 1000 * MS);
        for _ in 0..100 {
            assert_eq!(b.delay(0, Some(2000 * MS)), 2000 * MS);
            let d = b.delay(3, Some(300 * MS));
            assert!(d >= 300 * MS && d <= 800 * MS, "{d:?}");
        }
        assert_eq!(b.delay_with_sample(3, Some(300 * MS), u64::MAX), 800 * MS);
        assert_eq!(b.delay_with_sample(3, Some(300 * MS), 0), 300 * MS);
        let fixed = Backoff::fixed(100 * MS, 1000 * MS);
        assert_eq!(fixed.delay(0, Some(5000 * MS)), 5000 * MS);
    }
}
