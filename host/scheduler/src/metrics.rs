//! The scheduler's metrics: how late firings are (a histogram per source: `cron`, `job`),
//! what fired, SLA alerts raised and pass failures, rendered in Prometheus text format.

use std::collections::BTreeMap;
use std::sync::Mutex;

use agenthost_core::prom::{Histogram, header, sample};

/// Upper bounds of the lateness histogram's buckets, in seconds.
const LATENESS_BUCKETS_SECS: &[f64] = &[
    0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0,
];

#[derive(Debug, Default)]
struct Inner {
    lateness: BTreeMap<&'static str, Histogram>,
    cron_fired: BTreeMap<(String, String), u64>,
    jobs_fired: BTreeMap<String, u64>,
    sla_alerts: BTreeMap<String, u64>,
    late_alerts: u64,
    errors: u64,
}

/// Counters shared by the scheduler's passes.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    pub(crate) fn cron_fired(&self, plugin: &str, job: &str, lateness_ms: i64) {
        self.with(|m| {
            *m.cron_fired
                .entry((plugin.to_owned(), job.to_owned()))
                .or_default() += 1;
            m.lateness
                .entry("cron")
                .or_insert_with(|| Histogram::new(LATENESS_BUCKETS_SECS))
                .observe(secs(lateness_ms));
        });
    }

    pub(crate) fn job_fired(&self, plugin: &str, lateness_ms: i64) {
        self.with(|m| {
            *m.jobs_fired.entry(plugin.to_owned()).or_default() += 1;
            m.lateness
                .entry("job")
                .or_insert_with(|| Histogram::new(LATENESS_BUCKETS_SECS))
                .observe(secs(lateness_ms));
        });
    }

    pub(crate) fn sla_alert(&self, kind: &str) {
        self.with(|m| *m.sla_alerts.entry(kind.to_owned()).or_default() += 1);
    }

    pub(crate) fn late_alert(&self) {
        self.with(|m| m.late_alerts += 1);
    }

    pub(crate) fn error(&self) {
        self.with(|m| m.errors += 1);
    }

    pub(crate) fn render(&self) -> String {
        self.with(|m| {
            let mut out = String::new();
            let lateness = "agenthost_scheduler_lateness_seconds";
            header(
                &mut out,
                lateness,
                "Time from a job's slot (or due time) to its firing.",
                "histogram",
            );
            for (source, h) in &m.lateness {
                h.render(&mut out, lateness, &[("source", source)]);
            }
            let fired = "agenthost_scheduler_fired_total";
            header(&mut out, fired, "Cron slots this replica fired.", "counter");
            for ((plugin, job), n) in &m.cron_fired {
                sample(&mut out, fired, &[("plugin", plugin), ("job", job)], n);
            }
            let jobs = "agenthost_scheduler_jobs_fired_total";
            header(
                &mut out,
                jobs,
                "One-off delayed jobs this replica fired.",
                "counter",
            );
            for (plugin, n) in &m.jobs_fired {
                sample(&mut out, jobs, &[("plugin", plugin)], n);
            }
            let sla = "agenthost_scheduler_sla_alerts_total";
            header(
                &mut out,
                sla,
                "SLA ladder alerts raised, by kind.",
                "counter",
            );
            for (kind, n) in &m.sla_alerts {
                sample(&mut out, sla, &[("kind", kind)], n);
            }
            for (name, help, value) in [
                (
                    "agenthost_scheduler_lateness_alerts_total",
                    "Cron firings later than the alert threshold.",
                    m.late_alerts,
                ),
                (
                    "agenthost_scheduler_errors_total",
                    "Scheduler pass steps that failed.",
                    m.errors,
                ),
            ] {
                header(&mut out, name, help, "counter");
                sample(&mut out, name, &[], value);
            }
            out
        })
    }
}

fn secs(ms: i64) -> f64 {
    ms.max(0) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_buckets() {
        let m = Metrics::default();
        m.cron_fired("echo", "sweep", 300);
        m.cron_fired("echo", "sweep", 90_000);
        let text = m.render();
        assert!(
            text.contains(
                "agenthost_scheduler_lateness_seconds_bucket{source=\"cron\",le=\"0.5\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "agenthost_scheduler_lateness_seconds_bucket{source=\"cron\",le=\"120\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("agenthost_scheduler_lateness_seconds_count{source=\"cron\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("agenthost_scheduler_fired_total{plugin=\"echo\",job=\"sweep\"} 2"),
            "{text}"
        );
    }
}
