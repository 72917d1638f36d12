//! The automatic-rollback watch: counts each version's outcomes on this replica and,
//! when a newly active version (or a canary candidate) fails past its plugin's threshold
//! over a minimum number of invocations, and worse than the version it replaced, asks the
//! deployer to roll it back (abort the canary). Each decision fires once per version.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use agenthost_runtime::InvocationObserver;
use agenthost_runtime::{InvocationReport, PluginName};
use serde_json::json;
use tokio::sync::mpsc;

/// When a version is judged bad.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RollbackPolicy {
    /// Invocations of the new version before it is judged at all.
    pub min_invocations: u64,
    /// Share of failed invocations (traps, kills, plugin errors) that rolls it back.
    pub failure_rate: f64,
}

impl Default for RollbackPolicy {
    fn default() -> Self {
        RollbackPolicy {
            min_invocations: 10,
            failure_rate: 0.5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TriggerKind {
    Rollback,
    AbortCanary,
}

/// A decision for the deployer to carry out.
#[derive(Debug, Clone)]
pub(crate) struct Trigger {
    pub kind: TriggerKind,
    pub plugin: String,
    pub bad_version: String,
    /// When the watch started judging the version (dead letters since then are retried).
    pub since_ms: i64,
    pub summary: String,
    pub evidence: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
struct Counts {
    total: u64,
    failures: u64,
    by_outcome: BTreeMap<&'static str, u64>,
}

impl Counts {
    fn rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.failures as f64 / self.total as f64
        }
    }
}

/// What the watch judges for one plugin.
#[derive(Debug, Clone, Default)]
struct Tracked {
    active: String,
    previous: Option<String>,
    canary: Option<String>,
    since_ms: i64,
    fired: Vec<String>,
}

#[derive(Default)]
struct State {
    counts: HashMap<(String, String), Counts>,
    tracked: HashMap<String, Tracked>,
}

#[derive(Clone)]
pub struct OutcomeWatch {
    state: Arc<Mutex<State>>,
    policies: Arc<BTreeMap<PluginName, RollbackPolicy>>,
    default_policy: RollbackPolicy,
    triggers: mpsc::UnboundedSender<Trigger>,
}

impl OutcomeWatch {
    pub(crate) fn new(
        policies: BTreeMap<PluginName, RollbackPolicy>,
        default_policy: RollbackPolicy,
        triggers: mpsc::UnboundedSender<Trigger>,
    ) -> OutcomeWatch {
        OutcomeWatch {
            state: Arc::default(),
            policies: Arc::new(policies),
            default_policy,
            triggers,
        }
    }

    /// Tells the watch what serves `plugin` now. A version that just became active (or a
    /// new canary candidate) starts a fresh count.
    pub(crate) fn track(
        &self,
        plugin: &str,
        active: &str,
        previous: Option<&str>,
        canary: Option<&str>,
    ) {
        let mut state = self.lock();
        let old = state.tracked.get(plugin).cloned();
        let changed = old.as_ref().is_none_or(|t| t.active != active);
        let canary_changed = old.as_ref().is_none_or(|t| t.canary.as_deref() != canary);
        if changed {
            state.counts.remove(&(plugin.to_owned(), active.to_owned()));
        }
        if canary_changed && let Some(c) = canary {
            state.counts.remove(&(plugin.to_owned(), c.to_owned()));
        }
        let since_ms = match &old {
            Some(t) if !changed && !canary_changed => t.since_ms,
            _ => agenthost_core::now_ms(),
        };
        // A version activated again (by an operator) is judged afresh.
        let mut fired = old.map(|t| t.fired).unwrap_or_default();
        fired.retain(|v| !(changed && v == active || canary_changed && Some(v.as_str()) == canary));
        state.tracked.insert(
            plugin.to_owned(),
            Tracked {
                active: active.to_owned(),
                previous: previous.map(str::to_owned),
                canary: canary.map(str::to_owned),
                since_ms,
                fired,
            },
        );
    }

    fn policy(&self, plugin: &str) -> RollbackPolicy {
        self.policies
            .get(plugin)
            .copied()
            .unwrap_or(self.default_policy)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one outcome and sends the deployer any decision it leads to.
    fn count(&self, plugin: &str, version: &str, label: &'static str, failed: bool) {
        let policy = self.policy(plugin);
        let mut state = self.lock();
        let counts = state
            .counts
            .entry((plugin.to_owned(), version.to_owned()))
            .or_default();
        counts.total += 1;
        counts.failures += u64::from(failed);
        *counts.by_outcome.entry(label).or_default() += 1;
        let counts = counts.clone();
        let Some(tracked) = state.tracked.get(plugin).cloned() else {
            return;
        };
        let kind = if tracked.canary.as_deref() == Some(version) {
            TriggerKind::AbortCanary
        } else if tracked.active == version && tracked.previous.is_some() {
            TriggerKind::Rollback
        } else {
            return;
        };
        if !failed
            || tracked.fired.iter().any(|v| v == version)
            || counts.total < policy.min_invocations
            || counts.rate() < policy.failure_rate
        {
            return;
        }
        // The baseline: the version this one replaced (or, for a canary, the active one).
        let baseline_version = match kind {
            TriggerKind::Rollback => tracked.previous.clone().unwrap_or_default(),
            TriggerKind::AbortCanary => tracked.active.clone(),
        };
        let baseline = state
            .counts
            .get(&(plugin.to_owned(), baseline_version.clone()))
            .cloned()
            .unwrap_or_default();
        if baseline.total > 0 && counts.rate() <= baseline.rate() {
            return; // no worse than before: not this version's fault
        }
        if let Some(t) = state.tracked.get_mut(plugin) {
            t.fired.push(version.to_owned());
        }
        drop(state);
        let summary = format!(
            "{} of {} invocations failed ({:.0}% ≥ threshold {:.0}% over at least {}); baseline {} had {} of {} ({:.0}%)",
            counts.failures,
            counts.total,
            counts.rate() * 100.0,
            policy.failure_rate * 100.0,
            policy.min_invocations,
            baseline_version.get(..12).unwrap_or(&baseline_version),
            baseline.failures,
            baseline.total,
            baseline.rate() * 100.0,
        );
        let evidence = json!({
            "version": version,
            "baseline_version": baseline_version,
            "invocations": counts.total,
            "failures": counts.failures,
            "failure_rate": counts.rate(),
            "outcomes": counts.by_outcome,
            "threshold": policy.failure_rate,
            "min_invocations": policy.min_invocations,
            "baseline_invocations": baseline.total,
            "baseline_failures": baseline.failures,
        });
        let _ = self.triggers.send(Trigger {
            kind,
            plugin: plugin.to_owned(),
            bad_version: version.to_owned(),
            since_ms: tracked.since_ms,
            summary,
            evidence,
        });
    }
}

impl InvocationObserver for OutcomeWatch {
    fn observed(&self, report: &InvocationReport, _canary: bool) {
        self.count(
            report.plugin.as_str(),
            report.version.as_str(),
            report.outcome.label(),
            report.outcome.is_plugin_failure(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(min: u64, rate: f64) -> (OutcomeWatch, mpsc::UnboundedReceiver<Trigger>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let w = OutcomeWatch::new(
            BTreeMap::new(),
            RollbackPolicy {
                min_invocations: min,
                failure_rate: rate,
            },
            tx,
        );
        (w, rx)
    }

    #[test]
    fn a_failing_new_version_is_rolled_back_once() {
        let (w, mut rx) = watch(4, 0.5);
        w.track("p", "old", None, None);
        for _ in 0..5 {
            w.count("p", "old", "ok", false);
        }
        w.track("p", "new", Some("old"), None);
        for _ in 0..3 {
            w.count("p", "new", "trap", true);
        }
        assert!(rx.try_recv().is_err(), "judged before min_invocations");
        w.count("p", "new", "trap", true);
        let t = rx.try_recv().expect("rollback decided");
        assert_eq!(t.kind, TriggerKind::Rollback);
        assert_eq!(t.bad_version, "new");
        assert_eq!(t.evidence["failures"], 4);
        assert_eq!(t.evidence["baseline_version"], "old");
        assert_eq!(t.evidence["outcomes"]["trap"], 4);
        assert!(t.summary.contains("4 of 4"), "{}", t.summary);
        w.count("p", "new", "trap", true);
        assert!(rx.try_recv().is_err(), "fires once per version");
    }

    #[test]
    fn no_rollback_below_threshold_without_previous_or_when_no_worse() {
        let (w, mut rx) = watch(4, 0.5);
        // Below the threshold.
        w.track("a", "new", Some("old"), None);
        for i in 0..10 {
            w.count(
                "a",
                "new",
                if i % 4 == 0 { "trap" } else { "ok" },
                i % 4 == 0,
            );
        }
        // No previous version to go back to.
        w.track("b", "only", None, None);
        for _ in 0..10 {
            w.count("b", "only", "trap", true);
        }
        // The old version failed just as much: the cause is not the new version.
        w.track("c", "old", None, None);
        for _ in 0..10 {
            w.count("c", "old", "deadline", true);
        }
        w.track("c", "new", Some("old"), None);
        for _ in 0..10 {
            w.count("c", "new", "deadline", true);
        }
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_failing_canary_is_aborted_and_reactivation_starts_a_fresh_count() {
        let (w, mut rx) = watch(3, 0.5);
        w.track("p", "stable", Some("older"), Some("cand"));
        for _ in 0..3 {
            w.count("p", "cand", "fuel_exhausted", true);
        }
        let t = rx.try_recv().expect("abort decided");
        assert_eq!(t.kind, TriggerKind::AbortCanary);
        assert_eq!(t.evidence["baseline_version"], "stable");
        // A version counted while not judged starts afresh once it becomes active.
        w.track("q", "v1", None, None);
        for _ in 0..5 {
            w.count("q", "v2", "trap", true);
        }
        w.track("q", "v2", Some("v1"), None);
        w.count("q", "v2", "ok", false);
        assert!(rx.try_recv().is_err());
        assert_eq!(w.lock().counts[&("q".to_owned(), "v2".to_owned())].total, 1);
    }
}
