//! Who is told about invocations: the deploy watch (automatic rollback) and the metrics
//! observe every invocation a worker runs, without the worker knowing either.

use agenthost_core::InvocationReport;

/// Told about every invocation a worker ran (the version, whether it was a canary, how
/// it ended): the deploy watch decides automatic rollbacks from these, metrics count them.
pub trait InvocationObserver: Send + Sync {
    fn observed(&self, report: &InvocationReport, canary: bool);
    /// A failed attempt of `plugin`'s event was sent back for a retry.
    fn retried(&self, plugin: &str) {
        let _ = plugin;
    }
    /// An event of `plugin` gave up into the dead-letter store.
    fn dead_lettered(&self, plugin: &str) {
        let _ = plugin;
    }
    /// Something else worth counting happened to `plugin`'s event (`event` is a stable
    /// label: `bounce_busy`, `state_conflict`, `shadow_shed`, ...).
    fn noted(&self, plugin: &str, event: &'static str) {
        let _ = (plugin, event);
    }
}
