//! The one retry policy of the message path: how many deliveries an event gets, how long
//! it waits between them, and when it gives up into the dead letters. Every failure path
//! of the worker comes here — a plugin failure, a crash (counted when the next delivery
//! is claimed), a failed commit, a host-side failure — so "at least once" always ends,
//! either in a commit or in exactly one dead letter.
//!
//! Counting: a delivery is counted when a worker claims the event (`deliveries`, so a
//! delivery whose worker died counts too). Those that ended in a host-side failure
//! (storage, the instance pool, a commit that could not be written) are counted apart
//! (`host_failures`) and do not use up the plugin's `max_attempts`: a database blip must
//! not dead-letter a lead's text. They have their own allowance, so that a failure that
//! never heals still ends.

use std::time::Duration;

use agenthost_twilio::Backoff;

/// Deliveries an event may spend on host-side failures, beyond the plugin's attempts.
/// With the backoff below (up to 60 s apart) this is about twenty minutes of outage.
pub const HOST_FAILURE_ALLOWANCE: i64 = 25;

/// Delays between attempts of a failing event (full jitter, doubling from 200 ms).
pub const BACKOFF: Backoff = Backoff {
    base: Duration::from_millis(200),
    cap: Duration::from_secs(60),
};

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

/// `deliveries` and `host_failures` as counted so far (this delivery included in
/// `deliveries`, not yet in `host_failures`), the plugin's `max_attempts`.
pub fn after_failure(
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
        Failure::Host => host_failures >= HOST_FAILURE_ALLOWANCE,
    };
    if give_up {
        Decision::DeadLetter
    } else {
        Decision::Retry(BACKOFF.delay(u32::try_from(deliveries).unwrap_or(u32::MAX), None))
    }
}

/// At claim: whether earlier deliveries already used up the event's attempts without
/// recording how they ended — they crashed the worker (OOM, abort, kill). Such a poison
/// event is dead-lettered without running it again.
pub fn crash_looped(deliveries: i64, host_failures: i64, max_attempts: u32) -> bool {
    deliveries - host_failures > i64::from(max_attempts) || host_failures >= HOST_FAILURE_ALLOWANCE
}

/// How long a delivery that found its conversation busy (or behind an earlier event)
/// waits before it looks again: a little past the holder's lease, never long.
pub fn bounce_delay(lease_left: Duration) -> Duration {
    let jitter = Duration::from_millis(u64::from(jitter_ms()) % 50);
    lease_left
        .min(Duration::from_secs(2))
        .max(Duration::from_millis(50))
        + jitter
}

fn jitter_ms() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_failures_use_the_plugins_attempts() {
        let retry = Failure::Plugin { retryable: true };
        for d in 1..5 {
            assert!(
                matches!(after_failure(retry, d, 0, 5), Decision::Retry(_)),
                "{d}"
            );
        }
        assert_eq!(after_failure(retry, 5, 0, 5), Decision::DeadLetter);
        assert_eq!(
            after_failure(Failure::Plugin { retryable: false }, 1, 0, 5),
            Decision::DeadLetter
        );
    }

    #[test]
    fn host_failures_do_not_use_the_plugins_attempts_but_still_end() {
        // Ten database blips on a plugin allowed two attempts: still retried.
        assert!(matches!(
            after_failure(Failure::Host, 11, 10, 2),
            Decision::Retry(_)
        ));
        // Then the plugin fails twice: that is its two attempts.
        let retry = Failure::Plugin { retryable: true };
        assert!(matches!(
            after_failure(retry, 12, 11, 2),
            Decision::Retry(_)
        ));
        assert_eq!(after_failure(retry, 13, 11, 2), Decision::DeadLetter);
        // A failure that never heals ends after the allowance.
        assert_eq!(
            after_failure(
                Failure::Host,
                HOST_FAILURE_ALLOWANCE,
                HOST_FAILURE_ALLOWANCE - 1,
                2
            ),
            Decision::DeadLetter
        );
    }

    #[test]
    fn deliveries_that_crashed_count_as_attempts() {
        // Five deliveries claimed, none recorded a failure: they died with the worker.
        assert!(!crash_looped(5, 0, 5));
        assert!(
            crash_looped(6, 0, 5),
            "the sixth claim gives up without running"
        );
        // Host failures are not crashes.
        assert!(!crash_looped(8, 3, 5));
    }

    #[test]
    fn bounces_are_short() {
        assert!(bounce_delay(Duration::from_secs(600)) <= Duration::from_millis(2_050));
        assert!(bounce_delay(Duration::ZERO) >= Duration::from_millis(50));
    }
}
