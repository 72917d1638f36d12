//! The one retry policy of the message path: how many deliveries an event gets, how long
//! it waits between them, and when it gives up into the dead letters. Every failure path
//! of the worker comes here — a plugin failure, a crash (counted when the next delivery
//! is claimed), a failed commit, a host-side failure — so "at least once" always ends,
//! either in a commit or in exactly one dead letter. To change how the host retries,
//! change [`RetryPolicy::DEFAULT`].
//!
//! Counting: a delivery is counted when a worker claims the event (`deliveries`, so a
//! delivery whose worker died counts too). Those that ended in a host-side failure
//! (storage, the instance pool, a commit that could not be written) are counted apart
//! (`host_failures`) and do not use up the plugin's `max_attempts`: a database blip must
//! not dead-letter a lead's text. They have their own allowance, so that a failure that
//! never heals still ends.

use std::time::Duration;

use crate::backoff::{Backoff, random_u64};

/// How a delivery failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The plugin failed (trap, kill, its own error); `retryable` as its outcome says.
    Plugin { retryable: bool },
    /// The host failed around the plugin (storage, pool, commit).
    Host,
}

/// What to do after a failed delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Retry(Duration),
    DeadLetter,
}

/// Attempts and delays for a failing event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delays between deliveries of a failing event, by delivery count.
    pub backoff: Backoff,
    /// Deliveries an event may spend on host-side failures, beyond the plugin's attempts.
    pub host_failure_allowance: i64,
}

impl RetryPolicy {
    /// Full jitter doubling from 200 ms to 60 s; 25 host-side failures (about twenty
    /// minutes of outage at those delays) before a dead letter.
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        backoff: Backoff::full(Duration::from_millis(200), Duration::from_secs(60)),
        host_failure_allowance: 25,
    };

    /// The wait before the next delivery of an event delivered `deliveries` times.
    pub fn delay(&self, deliveries: u32) -> Duration {
        self.backoff.delay(deliveries, None)
    }

    /// `deliveries` and `host_failures` as counted so far (this delivery included in
    /// `deliveries`, not yet in `host_failures`), the plugin's `max_attempts`.
    pub fn after_failure(
        &self,
        failure: Failure,
        deliveries: i64,
        host_failures: i64,
        max_attempts: u32,
    ) -> Decision {
        let host_failures = host_failures + i64::from(failure == Failure::Host);
        let plugin_attempts = deliveries - host_failures;
        let give_up = match failure {
            Failure::Plugin { retryable: false } => true,
            Failure::Plugin { retryable: true } => plugin_attempts >= i64::from(max_attempts),
            Failure::Host => host_failures >= self.host_failure_allowance,
        };
        if give_up {
            Decision::DeadLetter
        } else {
            Decision::Retry(self.delay(u32::try_from(deliveries).unwrap_or(u32::MAX)))
        }
    }

    /// At claim: whether earlier deliveries already used up the event's attempts without
    /// recording how they ended — they crashed the worker (OOM, abort, kill). Such a
    /// poison event is dead-lettered without running it again.
    pub fn crash_looped(&self, deliveries: i64, host_failures: i64, max_attempts: u32) -> bool {
        deliveries - host_failures > i64::from(max_attempts)
            || host_failures >= self.host_failure_allowance
    }

    /// How long a delivery that found its conversation busy (or behind an earlier event)
    /// waits before it looks again: a little past the holder's lease, never long.
    pub fn bounce_delay(lease_left: Duration) -> Duration {
        let jitter = Duration::from_millis(random_u64() % 50);
        lease_left
            .min(Duration::from_secs(2))
            .max(Duration::from_millis(50))
            + jitter
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: RetryPolicy = RetryPolicy::DEFAULT;

    #[test]
    fn plugin_failures_use_the_plugins_attempts() {
        let retry = Failure::Plugin { retryable: true };
        for d in 1..5 {
            assert!(
                matches!(P.after_failure(retry, d, 0, 5), Decision::Retry(_)),
                "{d}"
            );
        }
        assert_eq!(P.after_failure(retry, 5, 0, 5), Decision::DeadLetter);
        assert_eq!(
            P.after_failure(Failure::Plugin { retryable: false }, 1, 0, 5),
            Decision::DeadLetter
        );
    }

    #[test]
    fn host_failures_do_not_use_the_plugins_attempts_but_still_end() {
        // Ten database blips on a plugin allowed two attempts: still retried.
        assert!(matches!(
            P.after_failure(Failure::Host, 11, 10, 2),
            Decision::Retry(_)
        ));
        // Then the plugin fails twice: that is its two attempts.
        let retry = Failure::Plugin { retryable: true };
        assert!(matches!(
            P.after_failure(retry, 12, 11, 2),
            Decision::Retry(_)
        ));
        assert_eq!(P.after_failure(retry, 13, 11, 2), Decision::DeadLetter);
        // A failure that never heals ends after the allowance.
        let n = P.host_failure_allowance;
        assert_eq!(
            P.after_failure(Failure::Host, n, n - 1, 2),
            Decision::DeadLetter
        );
    }

    #[test]
    fn retry_delays_follow_the_backoff() {
        for deliveries in 1..30 {
            match P.after_failure(Failure::Plugin { retryable: true }, deliveries, 0, 100) {
                Decision::Retry(d) => assert!(d <= P.backoff.ceiling(deliveries as u32)),
                Decision::DeadLetter => panic!("{deliveries}: gave up early"),
            }
        }
        assert!(P.delay(u32::MAX) <= Duration::from_secs(60));
    }

    #[test]
    fn deliveries_that_crashed_count_as_attempts() {
        // Five deliveries claimed, none recorded a failure: they died with the worker.
        assert!(!P.crash_looped(5, 0, 5));
        assert!(
            P.crash_looped(6, 0, 5),
            "the sixth claim gives up without running"
        );
        // Host failures are not crashes.
        assert!(!P.crash_looped(8, 3, 5));
        assert!(P.crash_looped(30, 25, 5));
    }

    #[test]
    fn bounces_are_short() {
        assert!(
            RetryPolicy::bounce_delay(Duration::from_secs(600)) <= Duration::from_millis(2_050)
        );
        assert!(RetryPolicy::bounce_delay(Duration::ZERO) >= Duration::from_millis(50));
    }
}
