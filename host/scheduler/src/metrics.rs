//! The scheduler's metrics: how late firings are (a histogram per source: `cron`, `job`),
//! what fired, SLA alerts raised and pass failures, rendered in Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds of the lateness histogram's buckets, in seconds.
const LATENESS_BUCKETS_SECS: &[f64] = &[
    0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0,
];

#[derive(Debug, Default)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last is `+Inf`.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; LATENESS_BUCKETS_SECS.len() + 1];
        }
        let i = LATENESS_BUCKETS_SECS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(LATENESS_BUCKETS_SECS.len());
        self.counts[i] += 1;
        self.sum += secs;
        self.count += 1;
    }
}

#[derive(Debug, Default)]
struct Inner {
    lateness: BTreeMap<&'static str, Histogram>,
    cron_fired: BTreeMap<(String, String), u64>,
    jobs_fired: BTreeMap<String, u64>,
    sla_alerts: BTreeMap<&'static str, u64>,
    late_alerts: u64,
    republished: u64,
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
                .or_default()
                .observe(secs(lateness_ms));
        });
    }

    pub(crate) fn job_fired(&self, plugin: &str, lateness_ms: i64) {
        self.with(|m| {
            *m.jobs_fired.entry(plugin.to_owned()).or_default() += 1;
            m.lateness
                .entry("job")
                .or_default()
                .observe(secs(lateness_ms));
        });
    }

    pub(crate) fn sla_alert(&self, kind: &'static str) {
        self.with(|m| *m.sla_alerts.entry(kind).or_default() += 1);
    }

    pub(crate) fn late_alert(&self) {
        self.with(|m| m.late_alerts += 1);
    }

    pub(crate) fn republished(&self, n: u64) {
        self.with(|m| m.republished += n);
    }

    pub(crate) fn error(&self) {
        self.with(|m| m.errors += 1);
    }

    pub(crate) fn render(&self) -> String {
        self.with(|m| {
            let mut out = String::new();
            out.push_str(
                "# HELP agenthost_scheduler_lateness_seconds Time from a job's slot (or due time) to its firing.\n\
                 # TYPE agenthost_scheduler_lateness_seconds histogram\n",
            );
            for (source, h) in &m.lateness {
                let mut cumulative = 0;
                for (i, bound) in LATENESS_BUCKETS_SECS.iter().enumerate() {
                    cumulative += h.counts.get(i).copied().unwrap_or(0);
                    let _ = writeln!(
                        out,
                        "agenthost_scheduler_lateness_seconds_bucket{{source=\"{source}\",le=\"{bound}\"}} {cumulative}"
                    );
                }
                let _ = writeln!(
                    out,
                    "agenthost_scheduler_lateness_seconds_bucket{{source=\"{source}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "agenthost_scheduler_lateness_seconds_sum{{source=\"{source}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "agenthost_scheduler_lateness_seconds_count{{source=\"{source}\"}} {}",
                    h.count
                );
            }
            out.push_str(
                "# HELP agenthost_scheduler_fired_total Cron slots this replica fired.\n\
                 # TYPE agenthost_scheduler_fired_total counter\n",
            );
            for ((plugin, job), n) in &m.cron_fired {
                let _ = writeln!(
                    out,
                    "agenthost_scheduler_fired_total{{plugin=\"{}\",job=\"{}\"}} {n}",
                    escape(plugin),
                    escape(job)
                );
            }
            out.push_str(
                "# HELP agenthost_scheduler_jobs_fired_total One-off delayed jobs this replica fired.\n\
                 # TYPE agenthost_scheduler_jobs_fired_total counter\n",
            );
            for (plugin, n) in &m.jobs_fired {
                let _ = writeln!(
                    out,
                    "agenthost_scheduler_jobs_fired_total{{plugin=\"{}\"}} {n}",
                    escape(plugin)
                );
            }
            out.push_str(
                "# HELP agenthost_scheduler_sla_alerts_total SLA ladder alerts raised, by kind.\n\
                 # TYPE agenthost_scheduler_sla_alerts_total counter\n",
            );
            for (kind, n) in &m.sla_alerts {
                let _ = writeln!(out, "agenthost_scheduler_sla_alerts_total{{kind=\"{kind}\"}} {n}");
            }
            let _ = write!(
                out,
                "# HELP agenthost_scheduler_lateness_alerts_total Cron firings later than the alert threshold.\n\
                 # TYPE agenthost_scheduler_lateness_alerts_total counter\n\
                 agenthost_scheduler_lateness_alerts_total {}\n\
                 # HELP agenthost_scheduler_republished_total Job events published again after being stored but not enqueued.\n\
                 # TYPE agenthost_scheduler_republished_total counter\n\
                 agenthost_scheduler_republished_total {}\n\
                 # HELP agenthost_scheduler_errors_total Scheduler pass steps that failed.\n\
                 # TYPE agenthost_scheduler_errors_total counter\n\
                 agenthost_scheduler_errors_total {}\n",
                m.late_alerts, m.republished, m.errors
            );
            out
        })
    }
}

fn secs(ms: i64) -> f64 {
    ms.max(0) as f64 / 1000.0
}

/// Escapes a Prometheus label value.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
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
