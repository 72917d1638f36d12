//! A circuit breaker per provider: opens after N consecutive failures, skips the provider
//! while open, and after a cool-down lets exactly one probe call through. Time comes from
//! an injected [`Clock`], so tests advance it instead of sleeping.
//!
//! Resolving a call reports a [`BreakerChange`] when it opened a closed breaker or closed
//! an open (or half-open) one: the gateway alerts on exactly those. A failed probe that
//! re-opens the breaker is the same outage, not a new one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agenthost_runtime::Clock;

/// Where a breaker stands, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls pass; counts consecutive failures.
    Closed { consecutive_failures: u32 },
    /// Calls are refused until `until_ms` (clock milliseconds).
    Open { until_ms: u64 },
    /// One probe call is in flight; others are refused until it ends.
    HalfOpen,
}

impl BreakerState {
    /// A short name for metrics: `closed`, `open`, `half_open`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Closed { .. } => "closed",
            Self::Open { .. } => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// A transition worth telling someone about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BreakerChange {
    /// Closed → open: the provider is failing.
    Opened,
    /// Open or half-open → closed, `open_since_ms` (clock ms) after it opened.
    Closed { open_since_ms: u64 },
}

struct Inner {
    state: BreakerState,
    /// When it last went from closed to open (clock ms).
    opened_at_ms: u64,
}

pub(crate) struct Breaker {
    state: Mutex<Inner>,
    threshold: u32,
    cooldown_ms: u64,
    clock: Arc<dyn Clock>,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            state: Mutex::new(Inner {
                state: BreakerState::Closed {
                    consecutive_failures: 0,
                },
                opened_at_ms: 0,
            }),
            threshold: threshold.max(1),
            cooldown_ms: u64::try_from(cooldown.as_millis()).unwrap_or(u64::MAX),
            clock,
        }
    }

    pub fn state(&self) -> BreakerState {
        self.state.lock().expect("breaker lock poisoned").state
    }

    /// Asks to make one call. `None`: the breaker is open (or half-open with its probe in
    /// flight) — skip the provider. The ticket must be resolved with `success` or
    /// `failure`; dropping it unresolved (the caller was cancelled) frees a probe slot.
    pub fn try_acquire(&self) -> Option<Ticket<'_>> {
        let mut inner = self.state.lock().expect("breaker lock poisoned");
        let state = &mut inner.state;
        match *state {
            BreakerState::Closed { .. } => Some(Ticket {
                breaker: self,
                probe: false,
                resolved: false,
            }),
            BreakerState::Open { until_ms } if self.clock.now_ms() >= until_ms => {
                *state = BreakerState::HalfOpen;
                Some(Ticket {
                    breaker: self,
                    probe: true,
                    resolved: false,
                })
            }
            BreakerState::Open { .. } | BreakerState::HalfOpen => None,
        }
    }

    fn on_success(&self) -> Option<BreakerChange> {
        let mut inner = self.state.lock().expect("breaker lock poisoned");
        let was_closed = matches!(inner.state, BreakerState::Closed { .. });
        inner.state = BreakerState::Closed {
            consecutive_failures: 0,
        };
        (!was_closed).then_some(BreakerChange::Closed {
            open_since_ms: inner.opened_at_ms,
        })
    }

    fn on_failure(&self, probe: bool) -> Option<BreakerChange> {
        let mut inner = self.state.lock().expect("breaker lock poisoned");
        let now_ms = self.clock.now_ms();
        let open = BreakerState::Open {
            until_ms: now_ms.saturating_add(self.cooldown_ms),
        };
        let was_closed = matches!(inner.state, BreakerState::Closed { .. });
        inner.state = match inner.state {
            _ if probe => open,
            BreakerState::Closed {
                consecutive_failures,
            } => {
                let n = consecutive_failures.saturating_add(1);
                if n >= self.threshold {
                    open
                } else {
                    BreakerState::Closed {
                        consecutive_failures: n,
                    }
                }
            }
            // A call admitted while closed that ends after the breaker opened changes
            // nothing: the breaker already knows the provider is failing.
            other => other,
        };
        let opened = was_closed && matches!(inner.state, BreakerState::Open { .. });
        if opened {
            inner.opened_at_ms = now_ms;
        }
        opened.then_some(BreakerChange::Opened)
    }

    fn on_abandoned_probe(&self) {
        let mut inner = self.state.lock().expect("breaker lock poisoned");
        if inner.state == BreakerState::HalfOpen {
            // The probe told us nothing; let the next call probe again.
            inner.state = BreakerState::Open {
                until_ms: self.clock.now_ms(),
            };
        }
    }
}

/// Permission for one call; report how it went.
pub(crate) struct Ticket<'a> {
    breaker: &'a Breaker,
    probe: bool,
    resolved: bool,
}

impl Ticket<'_> {
    /// The call succeeded; `Closed` if that closed an open breaker.
    pub fn success(mut self) -> Option<BreakerChange> {
        self.resolved = true;
        self.breaker.on_success()
    }

    /// The call failed; `Opened` if that opened a closed breaker.
    pub fn failure(mut self) -> Option<BreakerChange> {
        self.resolved = true;
        self.breaker.on_failure(self.probe)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.resolved && self.probe {
            self.breaker.on_abandoned_probe();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Default)]
    struct FakeClock(AtomicU64);
    impl Clock for FakeClock {
        fn now_ms(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn opens_half_opens_for_one_probe_and_closes_or_reopens() {
        let clock = Arc::new(FakeClock::default());
        let b = Breaker::new(2, Duration::from_secs(30), clock.clone());
        assert_eq!(b.try_acquire().unwrap().failure(), None);
        assert_eq!(b.try_acquire().unwrap().success(), None);
        assert_eq!(b.try_acquire().unwrap().failure(), None);
        assert_eq!(
            b.state(),
            BreakerState::Closed {
                consecutive_failures: 1
            }
        );
        assert_eq!(
            b.try_acquire().unwrap().failure(),
            Some(BreakerChange::Opened)
        );
        assert_eq!(b.state(), BreakerState::Open { until_ms: 30_000 });
        assert!(b.try_acquire().is_none());

        clock.0.store(30_000, Ordering::SeqCst);
        let probe = b.try_acquire().unwrap();
        assert!(b.try_acquire().is_none(), "only one probe at a time");
        assert_eq!(probe.failure(), None, "re-opening is the same outage");
        assert_eq!(b.state(), BreakerState::Open { until_ms: 60_000 });

        clock.0.store(60_000, Ordering::SeqCst);
        assert_eq!(
            b.try_acquire().unwrap().success(),
            Some(BreakerChange::Closed { open_since_ms: 0 })
        );
        assert_eq!(b.try_acquire().unwrap().success(), None);
        assert_eq!(
            b.state(),
            BreakerState::Closed {
                consecutive_failures: 0
            }
        );
    }

    #[test]
    fn an_abandoned_probe_frees_the_slot() {
        let clock = Arc::new(FakeClock::default());
        let b = Breaker::new(1, Duration::from_secs(1), clock.clone());
        b.try_acquire().unwrap().failure();
        clock.0.store(1_000, Ordering::SeqCst);
        drop(b.try_acquire().unwrap());
        assert!(b.try_acquire().is_some());
    }
}
