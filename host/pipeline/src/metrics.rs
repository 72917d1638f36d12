//! The message path's metrics: invocations per plugin and outcome, invocation duration
//! (histogram), fuel used, canary invocations, retries and dead letters. Fed by the
//! workers (as an [`InvocationObserver`]), rendered in the Prometheus text format.

use std::collections::BTreeMap;
use std::sync::Mutex;

use agenthost_core::prom::{Histogram, header, sample};
use agenthost_runtime::{InvocationObserver, InvocationReport};

/// Upper bounds of the invocation-duration buckets, in seconds.
pub const DURATION_BUCKETS_SECS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

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
                c.duration_buckets = h.counts().to_vec();
            }
            out
        })
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        self.with(|m| {
            let mut out = String::new();
            let name = "agenthost_invocations_total";
            header(&mut out, name, "Plugin invocations by plugin and outcome.", "counter");
            for ((plugin, outcome), n) in &m.invocations {
                sample(&mut out, name, &[("plugin", plugin), ("outcome", outcome)], n);
            }
            let name = "agenthost_canary_invocations_total";
            header(&mut out, name, "Invocations served by a canary candidate.", "counter");
            for (plugin, n) in &m.canary {
                sample(&mut out, name, &[("plugin", plugin)], n);
            }
            let name = "agenthost_invocation_duration_seconds";
            header(&mut out, name, "Wall-clock time of an invocation.", "histogram");
            for (plugin, h) in &m.duration {
                h.render(&mut out, name, &[("plugin", plugin)]);
            }
            let counters: [(&str, &str, &BTreeMap<String, u64>); 3] = [
                ("agenthost_fuel_used_total", "Fuel consumed by invocations.", &m.fuel),
                ("agenthost_retries_total", "Failed attempts sent back for a retry.", &m.retries),
                ("agenthost_dead_letters_total", "Events that gave up into the dead-letter store.", &m.dead_letters),
            ];
            for (name, help, values) in counters {
                header(&mut out, name, help, "counter");
                for (plugin, n) in values {
                    sample(&mut out, name, &[("plugin", plugin)], n);
                }
            }
            let name = "agenthost_worker_events_total";
            header(&mut out, name, "What happened to deliveries besides their outcome: retry_plugin, retry_host, bounce_busy, bounce_behind, state_conflict, lease_lost, shadow_shed, isolated (ran alone: suspected of a crash), crash_loop.", "counter");
            for ((plugin, event), n) in &m.noted {
                sample(&mut out, name, &[("plugin", plugin), ("event", event)], n);
            }
            let name = "agenthost_sms_segments_total";
            header(&mut out, name, "SMS segments committed for sending.", "counter");
            for (plugin, n) in &m.segments {
                sample(&mut out, name, &[("plugin", plugin)], n);
            }
            let name = "agenthost_sms_held_total";
            header(&mut out, name, "Outbound texts held back, by reason.", "counter");
            for (reason, n) in &m.held {
                sample(&mut out, name, &[("reason", reason)], n);
            }
            let name = "agenthost_sms_delivery_total";
            header(&mut out, name, "Delivery statuses reported by Twilio.", "counter");
            for ((plugin, status), n) in &m.delivery {
                sample(&mut out, name, &[("plugin", plugin), ("status", status)], n);
            }
            let name = "agenthost_consent_total";
            header(&mut out, name, "Consent changes recorded at ingest.", "counter");
            for (kind, n) in &m.consent {
                sample(&mut out, name, &[("kind", kind)], n);
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
                .or_insert_with(|| Histogram::new(DURATION_BUCKETS_SECS))
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
