//! The [`DependencyWatch`]: checks the host's dependencies on an interval and raises one
//! `dependency_down` alert when one has failed continuously for the configured threshold
//! ([`crate::DEPENDENCY_DOWN_AFTER_VAR`]), and one `dependency_restored` when it answers
//! again. Failures shorter than the threshold (flapping) raise nothing.
//!
//! The storage the alerts are written to is always watched (as `storage`); other checks
//! are added by name ([`DependencyWatch::with_check`], [`check_fn`]), so this crate still
//! knows nothing of queues. An alert goes through storage when storage is answering, and
//! straight to the dispatcher ([`AlertsHandle::raise_direct`]) when it is not — the alert
//! that storage is down cannot be a row.
//!
//! Error texts in alerts are scrubbed (`agenthost_core::scrub_error`): any URL in them has
//! its password masked, and they are cut short.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use agenthost_core::{
    AlertKind, HostAlert, Severity, human_duration as human, now_ms as epoch_ms, scrub_error,
};
use agenthost_storage::Storage;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::alert::Alert;
use crate::dispatcher::AlertsHandle;

/// The name the alert store is watched under.
pub const STORAGE_DEPENDENCY: &str = "storage";
/// How often dependencies are checked, unless the threshold is shorter.
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// Longest writing an alert to storage may take before it is raised directly instead.
const STORE_TIMEOUT: Duration = Duration::from_secs(3);

/// One dependency the watch checks. A check that does not answer within the watch's
/// interval counts as failed.
#[async_trait::async_trait]
pub trait DependencyCheck: Send + Sync + 'static {
    /// The dependency's name in alerts and logs (`storage`, `queue`, …).
    fn name(&self) -> &str;
    /// `Err` with what went wrong when the dependency does not answer properly. The text
    /// is scrubbed of URL passwords before it reaches an alert.
    async fn check(&self) -> Result<(), String>;
}

/// A check named `name` that runs `check`, e.g.
/// `check_fn("queue", move || { let q = queue.clone(); async move { q.ping().await.map_err(|e| e.to_string()) } })`.
pub fn check_fn<F, Fut>(name: impl Into<String>, check: F) -> Arc<dyn DependencyCheck>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    Arc::new(FnCheck {
        name: name.into(),
        check,
    })
}

struct FnCheck<F> {
    name: String,
    check: F,
}

#[async_trait::async_trait]
impl<F, Fut> DependencyCheck for FnCheck<F>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    fn name(&self) -> &str {
        &self.name
    }

    async fn check(&self) -> Result<(), String> {
        (self.check)().await
    }
}

/// The alert store: a trivial query round-trip.
struct StorageCheck(Storage);

#[async_trait::async_trait]
impl DependencyCheck for StorageCheck {
    fn name(&self) -> &str {
        STORAGE_DEPENDENCY
    }

    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}

/// Checks dependencies and alerts when one is down for long enough, and when it is back.
pub struct DependencyWatch {
    storage: Storage,
    alerts: AlertsHandle,
    /// The storage check first.
    checks: Vec<Arc<dyn DependencyCheck>>,
    interval: Duration,
    down_after: Duration,
}

impl DependencyWatch {
    /// Watches `storage` (as `storage`), raising through it, or through `alerts` (the
    /// running dispatcher's handle) when it is failing. A dependency is down once it has
    /// failed continuously for `down_after`. Checks every [`DEFAULT_CHECK_INTERVAL`], or
    /// every `down_after` if that is shorter.
    pub fn new(storage: Storage, alerts: AlertsHandle, down_after: Duration) -> DependencyWatch {
        let check: Arc<dyn DependencyCheck> = Arc::new(StorageCheck(storage.clone()));
        DependencyWatch {
            storage,
            alerts,
            checks: vec![check],
            interval: DEFAULT_CHECK_INTERVAL
                .min(down_after)
                .max(Duration::from_millis(1)),
            down_after,
        }
    }

    /// Also watches `check`.
    pub fn with_check(mut self, check: Arc<dyn DependencyCheck>) -> DependencyWatch {
        self.checks.push(check);
        self
    }

    /// Checks every `interval` (also each check's timeout).
    pub fn with_interval(mut self, interval: Duration) -> DependencyWatch {
        self.interval = interval.max(Duration::from_millis(1));
        self
    }

    /// The watched dependencies' names, `storage` first.
    pub fn names(&self) -> Vec<&str> {
        self.checks.iter().map(|c| c.name()).collect()
    }

    /// Checks until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        let mut health: Vec<Health> = self.checks.iter().map(|c| Health::new(c.name())).collect();
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tracing::info!(
            dependencies = ?self.names(),
            interval = ?self.interval,
            down_after = ?self.down_after,
            "dependency watch started"
        );
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let results = tokio::select! {
                () = cancel.cancelled() => break,
                results = self.check_all() => results,
            };
            let now = Instant::now();
            let now_ms = epoch_ms();
            let store_failing = results.first().is_some_and(Result::is_err);
            for (dependency, result) in health.iter_mut().zip(results) {
                let Some(change) = dependency.observe(result, now, now_ms, self.down_after) else {
                    continue;
                };
                let alert = change.alert(&dependency.name, self.down_after);
                match change {
                    Change::Down { .. } => tracing::error!(
                        dependency = %dependency.name, message = %alert.message,
                        "dependency down"
                    ),
                    Change::Restored { outage, .. } => tracing::info!(
                        dependency = %dependency.name, ?outage, "dependency restored"
                    ),
                }
                self.raise(alert, now_ms, store_failing).await;
            }
        }
        tracing::debug!("dependency watch stopped");
    }

    /// Runs every check at once, each bounded by the interval. A check that panicked or
    /// timed out is a failure.
    async fn check_all(&self) -> Vec<Result<(), String>> {
        let timeout = self.interval;
        let mut set = JoinSet::new();
        for (index, check) in self.checks.iter().enumerate() {
            let check = check.clone();
            set.spawn(async move {
                let result = match tokio::time::timeout(timeout, check.check()).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("no answer within {}", human(timeout))),
                };
                (index, result)
            });
        }
        let mut results = vec![Err("the check did not finish".to_owned()); self.checks.len()];
        while let Some(done) = set.join_next().await {
            if let Ok((index, result)) = done {
                results[index] = result;
            }
        }
        results
    }

    /// Stores `alert` and wakes the dispatcher; raises it directly when storage is failing
    /// or does not take it within [`STORE_TIMEOUT`].
    async fn raise(&self, alert: HostAlert, now_ms: i64, store_failing: bool) {
        if !store_failing {
            match tokio::time::timeout(STORE_TIMEOUT, self.storage.alerts().insert(&alert, now_ms))
                .await
            {
                Ok(Ok(_)) => {
                    self.alerts.wake();
                    return;
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, kind = %alert.kind, "cannot store alert; raising it directly");
                }
                Err(_) => {
                    tracing::warn!(kind = %alert.kind, timeout = ?STORE_TIMEOUT, "storing alert timed out; raising it directly");
                }
            }
        }
        self.alerts.raise_direct(Alert::from_host(&alert, now_ms));
    }
}

/// One dependency's failure streak.
#[derive(Debug)]
struct Health {
    name: String,
    failing: Option<Failing>,
}

#[derive(Debug)]
struct Failing {
    /// The first failed check of the streak.
    since: Instant,
    since_ms: i64,
    /// Already alerted as down.
    down: bool,
}

/// What a check result changed, worth an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Down { since_ms: i64, error: String },
    Restored { since_ms: i64, outage: Duration },
}

impl Health {
    fn new(name: &str) -> Health {
        Health {
            name: name.to_owned(),
            failing: None,
        }
    }

    /// Records one check's result at `now`: `Down` once per streak when it has lasted
    /// `down_after`, `Restored` at the first success after a `Down`.
    fn observe(
        &mut self,
        result: Result<(), String>,
        now: Instant,
        now_ms: i64,
        down_after: Duration,
    ) -> Option<Change> {
        match result {
            Ok(()) => {
                let failing = self.failing.take()?;
                let outage = now.saturating_duration_since(failing.since);
                if failing.down {
                    Some(Change::Restored {
                        since_ms: failing.since_ms,
                        outage,
                    })
                } else {
                    tracing::info!(dependency = %self.name, ?outage, "dependency answers again (never alerted)");
                    None
                }
            }
            Err(error) => {
                let failing = self.failing.get_or_insert_with(|| {
                    tracing::warn!(dependency = %self.name, error = %scrub_error(&error), "dependency check failed");
                    Failing {
                        since: now,
                        since_ms: now_ms,
                        down: false,
                    }
                });
                if failing.down || now.saturating_duration_since(failing.since) < down_after {
                    return None;
                }
                failing.down = true;
                Some(Change::Down {
                    since_ms: failing.since_ms,
                    error: scrub_error(&error),
                })
            }
        }
    }
}

impl Change {
    fn alert(&self, dependency: &str, down_after: Duration) -> HostAlert {
        // The message is the same for every outage of one dependency, so repeats within
        // the coalescing window go out once with a count; what varies is in the fields.
        let (kind, severity, message, mut fields) = match self {
            Change::Down { since_ms, error } => (
                AlertKind::DependencyDown,
                Severity::Critical,
                format!(
                    "dependency {dependency} is down: failing for at least {}",
                    human(down_after)
                ),
                vec![
                    ("since_ms".to_owned(), since_ms.to_string()),
                    ("error".to_owned(), error.clone()),
                ],
            ),
            Change::Restored { since_ms, outage } => (
                AlertKind::DependencyRestored,
                Severity::Info,
                format!("dependency {dependency} is back"),
                vec![
                    ("since_ms".to_owned(), since_ms.to_string()),
                    ("outage".to_owned(), human(*outage)),
                    ("outage_ms".to_owned(), outage.as_millis().to_string()),
                ],
            ),
        };
        fields.insert(0, ("dependency".to_owned(), dependency.to_owned()));
        HostAlert::new(kind, severity, message).fields(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOWN_AFTER: Duration = Duration::from_secs(30);
    const STEP: Duration = Duration::from_secs(5);

    /// Feeds `results` one per 5 s step from `start`; returns each change with its step.
    fn feed(health: &mut Health, start: Instant, results: &[bool]) -> Vec<(usize, Change)> {
        results
            .iter()
            .enumerate()
            .filter_map(|(i, &ok)| {
                let at = start + STEP * u32::try_from(i).unwrap();
                let ms = 1_000_000 + i64::try_from(i).unwrap() * 5_000;
                let result = if ok {
                    Ok(())
                } else {
                    Err(format!("refused #{i}"))
                };
                health
                    .observe(result, at, ms, DOWN_AFTER)
                    .map(|change| (i, change))
            })
            .collect()
    }

    #[test]
    fn down_once_after_the_threshold_then_restored_once() {
        let mut health = Health::new("queue");
        // 14 failed checks (0 s .. 65 s), then successes.
        let mut results = vec![false; 14];
        results.extend([true, true, true]);
        let changes = feed(&mut health, Instant::now(), &results);
        assert_eq!(
            changes,
            [
                (
                    6,
                    Change::Down {
                        since_ms: 1_000_000,
                        error: "refused #6".into()
                    }
                ),
                (
                    14,
                    Change::Restored {
                        since_ms: 1_000_000,
                        outage: Duration::from_secs(70)
                    }
                ),
            ]
        );
    }

    #[test]
    fn flapping_within_the_threshold_raises_nothing() {
        let mut health = Health::new("queue");
        // Failing streaks of 25 s, broken by one success each time.
        let mut results = Vec::new();
        for _ in 0..10 {
            results.extend([false; 6]);
            results.push(true);
        }
        assert_eq!(feed(&mut health, Instant::now(), &results), []);
        // A streak that does last is alerted from its own first failure.
        let start = Instant::now();
        let changes = feed(&mut health, start, &[false; 7]);
        assert_eq!(changes.len(), 1);
        assert!(matches!(
            changes[0],
            (
                6,
                Change::Down {
                    since_ms: 1_000_000,
                    ..
                }
            )
        ));
    }

    #[test]
    fn alerts_carry_the_dependency_and_no_password() {
        let error = scrub_error(
            "cannot connect to `postgres://app:hunter2@db:5432/agenthost?sslpassword=pw2`: refused",
        );
        assert!(
            !error.contains("hunter2") && !error.contains("pw2"),
            "{error}"
        );
        assert!(
            error.contains("postgres://app:***@db:5432/agenthost"),
            "{error}"
        );
        let down = Change::Down {
            since_ms: 42,
            error,
        }
        .alert("storage", DOWN_AFTER);
        assert_eq!(
            (down.kind.as_str(), down.severity.as_str()),
            ("dependency_down", "critical")
        );
        assert_eq!(
            down.message,
            "dependency storage is down: failing for at least 30 s"
        );
        assert_eq!(down.fields[0], ("dependency".into(), "storage".into()));
        assert_eq!(down.fields[1], ("since_ms".into(), "42".into()));
        assert_eq!(down.fields[2].0, "error");
        let restored = Change::Restored {
            since_ms: 42,
            outage: Duration::from_millis(125_500),
        }
        .alert("storage", DOWN_AFTER);
        assert_eq!(
            (restored.kind.as_str(), restored.severity.as_str()),
            ("dependency_restored", "info")
        );
        assert_eq!(restored.message, "dependency storage is back");
        assert_eq!(
            restored.fields,
            [
                ("dependency".to_owned(), "storage".to_owned()),
                ("since_ms".to_owned(), "42".to_owned()),
                ("outage".to_owned(), "2 min 5 s".to_owned()),
                ("outage_ms".to_owned(), "125500".to_owned()),
            ]
        );
    }

    #[tokio::test]
    async fn a_hung_check_counts_as_failed() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::connect(None, dir.path(), 2).await.unwrap();
        let watch = DependencyWatch::new(storage, AlertsHandle::default(), DOWN_AFTER)
            .with_check(check_fn("hung", std::future::pending))
            .with_check(check_fn("fine", || async { Ok(()) }));
        assert_eq!(watch.names(), ["storage", "hung", "fine"]);
        assert_eq!(watch.interval, STEP, "the default interval");
        let watch = watch.with_interval(Duration::from_millis(200));
        let started = Instant::now();
        let results = watch.check_all().await;
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            results,
            [Ok(()), Err("no answer within 200 ms".to_owned()), Ok(())]
        );
    }
}
