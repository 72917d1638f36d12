//! The message path's metrics: invocations per plugin and outcome, invocation duration
//! (histogram), fuel used, canary invocations, retries and dead letters. Fed by the
//! workers (as an [`InvocationObserver`]), rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use agenthost_runtime::InvocationReport;

use crate::worker::InvocationObserver;

/// Upper bounds of the invocation-duration buckets, in seconds.
pub const DURATION_BUCKETS_SECS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default)]
struct Histogram {
    /// Per bucket, not cumulative; the last is `+Inf`.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; DURATION_BUCKETS_SECS.len() + 1];
        }
        let i = DURATION_BUCKETS_SECS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(DURATION_BUCKETS_SECS.len());
        self.counts[i] += 1;
        self.sum += secs;
        self.count += 1;
    }
}

/// One plugin's invocation counters at one moment ([`PipelineMetrics::snapshot`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginCounts {
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Per bucket of [`DURATION_BUCKETS_SECS`] (not cumulative), the last one `+Inf`.
    pub duration_buckets: Vec<u64>,
}

#[derive(Debug, Default)]
struct Inner {
    invocations: BTreeMap<(String, &'static str), u64>,
    canary: BTreeMap<String, u64>,
    duration: BTreeMap<String, Histogram>,
    fuel: BTreeMap<String, u64>,
    retries: BTreeMap<String, u64>,
    dead_letters: BTreeMap<String, u64>,
    /// (plugin, event label): bounces, state conflicts, lost leases, shed shadow runs,
    /// crash loops, retries by kind.
    noted: BTreeMap<(String, &'static str), u64>,
    /// SMS segments committed for sending, per plugin.
    segments: BTreeMap<String, u64>,
    /// Outbound texts held back, by reason (quiet hours, frequency cap, ...).
    held: BTreeMap<String, u64>,
    /// Delivery statuses reported by Twilio, per plugin and status.
    delivery: BTreeMap<(String, String), u64>,
    /// Consent changes recorded at ingest: opt_out, opt_in, help.
    consent: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Default)]
pub struct PipelineMetrics {
    inner: Mutex<Inner>,
}

impl PipelineMetrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// How many invocations of `plugin` ended with `outcome` (a label such as `trap`).
    pub fn invocations(&self, plugin: &str, outcome: &str) -> u64 {
        self.with(|m| {
            m.invocations
                .iter()
                .filter(|((p, o), _)| p == plugin && *o == outcome)
                .map(|(_, n)| *n)
                .sum()
        })
    }

    /// Segments committed for sending by `plugin`.
    pub fn segments(&self, plugin: &str, n: u64) {
        self.with(|m| *m.segments.entry(plugin.to_owned()).or_default() += n);
    }

    /// A text held back for `reason`.
    pub fn held(&self, reason: &str) {
        self.with(|m| *m.held.entry(reason.to_owned()).or_default() += 1);
    }

    /// Twilio said a text of `plugin` reached `status`.
    pub fn delivery(&self, plugin: &str, status: &str) {
        self.with(|m| {
            *m.delivery
                .entry((plugin.to_owned(), status.to_owned()))
                .or_default() += 1
        });
    }

    /// A consent change recorded at ingest (`opt_out`, `opt_in`, `help`).
    pub fn consent(&self, kind: &'static str) {
        self.with(|m| *m.consent.entry(kind).or_default() += 1);
    }

    /// The invocation counters as they stand: per plugin, counts by outcome and the
    /// duration histogram (what the console's live summary turns into rates and
    /// percentiles between two snapshots).
    pub fn snapshot(&self) -> BTreeMap<String, PluginCounts> {
        self.with(|m| {
            let mut out: BTreeMap<String, PluginCounts> = BTreeMap::new();
            for ((plugin, outcome), n) in &m.invocations {
                *out.entry(plugin.clone())
                    .or_default()
                    .outcomes
                    .entry(outcome)
                    .or_default() += n;
            }
            for (plugin, h) in &m.duration {
                let c = out.entry(plugin.clone()).or_default();
                c.duration_buckets = h.counts.clone();
            }
            out
        })
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        self.with(|m| {
            let mut out = String::new();
            out.push_str("# HELP agenthost_invocations_total Plugin invocations by plugin and outcome.\n# TYPE agenthost_invocations_total counter\n");
            for ((plugin, outcome), n) in &m.invocations {
                let _ = writeln!(
                    out,
                    "agenthost_invocations_total{{plugin=\"{plugin}\",outcome=\"{outcome}\"}} {n}"
                );
            }
            out.push_str("# HELP agenthost_canary_invocations_total Invocations served by a canary candidate.\n# TYPE agenthost_canary_invocations_total counter\n");
            for (plugin, n) in &m.canary {
                let _ = writeln!(out, "agenthost_canary_invocations_total{{plugin=\"{plugin}\"}} {n}");
            }
            out.push_str("# HELP agenthost_invocation_duration_seconds Wall-clock time of an invocation.\n# TYPE agenthost_invocation_duration_seconds histogram\n");
            for (plugin, h) in &m.duration {
                let mut cumulative = 0;
                for (i, bound) in DURATION_BUCKETS_SECS.iter().enumerate() {
                    cumulative += h.counts[i];
                    let _ = writeln!(
                        out,
                        "agenthost_invocation_duration_seconds_bucket{{plugin=\"{plugin}\",le=\"{bound}\"}} {cumulative}"
                    );
                }
                let _ = writeln!(
                    out,
                    "agenthost_invocation_duration_seconds_bucket{{plugin=\"{plugin}\",le=\"+Inf\"}} {}\nagenthost_invocation_duration_seconds_sum{{plugin=\"{plugin}\"}} {}\nagenthost_invocation_duration_seconds_count{{plugin=\"{plugin}\"}} {}",
                    h.count, h.sum, h.count
                );
            }
            let counters: [(&str, &str, &BTreeMap<String, u64>); 3] = [
                ("agenthost_fuel_used_total", "Fuel consumed by invocations.", &m.fuel),
                ("agenthost_retries_total", "Failed attempts sent back for a retry.", &m.retries),
                ("agenthost_dead_letters_total", "Events that gave up into the dead-letter store.", &m.dead_letters),
            ];
            for (name, help, values) in counters {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
                for (plugin, n) in values {
                    let _ = writeln!(out, "{name}{{plugin=\"{plugin}\"}} {n}");
                }
            }
            out.push_str("# HELP agenthost_worker_events_total What happened to deliveries besides their outcome: retry_plugin, retry_host, bounce_busy, bounce_behind, state_conflict, lease_lost, shadow_shed, crash_loop.\n# TYPE agenthost_worker_events_total counter\n");
            for ((plugin, event), n) in &m.noted {
                let _ = writeln!(
                    out,
                    "agenthost_worker_events_total{{plugin=\"{plugin}\",event=\"{event}\"}} {n}"
                );
            }
            out.push_str("# HELP agenthost_sms_segments_total SMS segments committed for sending.\n# TYPE agenthost_sms_segments_total counter\n");
            for (plugin, n) in &m.segments {
                let _ = writeln!(out, "agenthost_sms_segments_total{{plugin=\"{plugin}\"}} {n}");
            }
            out.push_str("# HELP agenthost_sms_held_total Outbound texts held back, by reason.\n# TYPE agenthost_sms_held_total counter\n");
            for (reason, n) in &m.held {
                let _ = writeln!(out, "agenthost_sms_held_total{{reason=\"{reason}\"}} {n}");
            }
            out.push_str("# HELP agenthost_sms_delivery_total Delivery statuses reported by Twilio.\n# TYPE agenthost_sms_delivery_total counter\n");
            for ((plugin, status), n) in &m.delivery {
                let _ = writeln!(
                    out,
                    "agenthost_sms_delivery_total{{plugin=\"{plugin}\",status=\"{status}\"}} {n}"
                );
            }
            out.push_str("# HELP agenthost_consent_total Consent changes recorded at ingest.\n# TYPE agenthost_consent_total counter\n");
            for (kind, n) in &m.consent {
                let _ = writeln!(out, "agenthost_consent_total{{kind=\"{kind}\"}} {n}");
            }
            out
        })
    }
}

impl InvocationObserver for PipelineMetrics {
    fn observed(&self, report: &InvocationReport, canary: bool) {
        let plugin = report.plugin.to_string();
        self.with(|m| {
            *m.invocations
                .entry((plugin.clone(), report.outcome.label()))
                .or_default() += 1;
            if canary {
                *m.canary.entry(plugin.clone()).or_default() += 1;
            }
            m.duration
                .entry(plugin.clone())
                .or_default()
                .observe(report.duration.as_secs_f64());
            *m.fuel.entry(plugin).or_default() += report.fuel_used;
        });
    }

    fn retried(&self, plugin: &str) {
        self.with(|m| *m.retries.entry(plugin.to_owned()).or_default() += 1);
    }

    fn dead_lettered(&self, plugin: &str) {
        self.with(|m| *m.dead_letters.entry(plugin.to_owned()).or_default() += 1);
    }

    fn noted(&self, plugin: &str, event: &'static str) {
        self.with(|m| *m.noted.entry((plugin.to_owned(), event)).or_default() += 1);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use agenthost_runtime::{Effects, Outcome, PluginName, VersionId};

    use super::*;

    fn report(outcome: Outcome, ms: u64) -> InvocationReport {
        InvocationReport {
            plugin: "echo".parse::<PluginName>().unwrap(),
            version: VersionId::of_bytes(b"v"),
            outcome,
            effects: Effects::default(),
            fuel_used: 1_000,
            duration: Duration::from_millis(ms),
        }
    }

    #[test]
    fn counts_outcomes_durations_fuel_retries_and_dead_letters() {
        let m = PipelineMetrics::default();
        m.observed(&report(Outcome::Ok, 2), false);
        m.observed(&report(Outcome::Ok, 40), true);
        m.observed(
            &report(
                Outcome::Trap {
                    message: "unreachable".into(),
                },
                1,
            ),
            false,
        );
        m.retried("echo");
        m.dead_lettered("echo");
        m.noted("echo", "state_conflict");
        m.noted("echo", "state_conflict");
        assert_eq!(m.invocations("echo", "ok"), 2);
        assert_eq!(m.invocations("echo", "trap"), 1);
        let text = m.render();
        for line in [
            "agenthost_invocations_total{plugin=\"echo\",outcome=\"ok\"} 2",
            "agenthost_invocations_total{plugin=\"echo\",outcome=\"trap\"} 1",
            "agenthost_canary_invocations_total{plugin=\"echo\"} 1",
            "agenthost_invocation_duration_seconds_bucket{plugin=\"echo\",le=\"0.0025\"} 2",
            "agenthost_invocation_duration_seconds_bucket{plugin=\"echo\",le=\"0.05\"} 3",
            "agenthost_invocation_duration_seconds_count{plugin=\"echo\"} 3",
            "agenthost_fuel_used_total{plugin=\"echo\"} 3000",
            "agenthost_retries_total{plugin=\"echo\"} 1",
            "agenthost_dead_letters_total{plugin=\"echo\"} 1",
            "agenthost_worker_events_total{plugin=\"echo\",event=\"state_conflict\"} 2",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
