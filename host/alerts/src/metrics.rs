//! Delivery counters: per channel (sent, failed, retried) and overall (coalesced, shed,
//! unrouted, direct), readable as a snapshot or in the Prometheus text format.

use agenthost_core::prom;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// Counters of one channel instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelCounts {
    /// Deliveries that succeeded.
    pub sent: u64,
    /// Deliveries given up (permanent error, or transient for too long).
    pub failed: u64,
    /// Transient failures that were retried.
    pub retried: u64,
}

/// A copy of every counter at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    pub channels: BTreeMap<String, ChannelCounts>,
    /// Stored alerts folded into another delivery of an identical alert.
    pub coalesced: u64,
    /// Pending alerts shed because the backlog passed its bound.
    pub dropped: u64,
    /// Alerts whose kind matched no route and no `*` route.
    pub unrouted: u64,
    /// Pending alerts at the last poll.
    pub pending: u64,
    /// Alerts raised directly (in memory, no row), e.g. while storage is down.
    pub direct: u64,
    /// Direct alerts dropped, oldest first, because their in-memory queue was full.
    pub direct_dropped: u64,
}

/// Shared, cheap to update; the dispatcher writes, `/metrics` reads.
#[derive(Debug, Default)]
pub struct AlertMetrics {
    inner: Mutex<MetricsSnapshot>,
}

impl AlertMetrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MetricsSnapshot> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn register_channel(&self, name: &str) {
        self.lock().channels.entry(name.to_owned()).or_default();
    }

    pub(crate) fn channel(&self, name: &str, update: impl FnOnce(&mut ChannelCounts)) {
        update(self.lock().channels.entry(name.to_owned()).or_default());
    }

    pub(crate) fn update(&self, update: impl FnOnce(&mut MetricsSnapshot)) {
        update(&mut self.lock());
    }

    /// Every counter in the Prometheus text exposition format.
    pub fn render_prometheus(&self) -> String {
        let s = self.snapshot();
        let mut out = String::new();
        let per_channel: [PerChannel; 3] = [
            ("sent", "Alerts delivered, per channel.", |c| c.sent),
            ("failed", "Alert deliveries given up, per channel.", |c| {
                c.failed
            }),
            (
                "retried",
                "Transient alert delivery failures retried, per channel.",
                |c| c.retried,
            ),
        ];
        for (name, help, get) in per_channel {
            let metric = format!("agenthost_alerts_{name}_total");
            prom::header(&mut out, &metric, help, "counter");
            for (channel, counts) in &s.channels {
                prom::sample(&mut out, &metric, &[("channel", channel)], get(counts));
            }
        }
        for (name, help, kind, value) in [
            (
                "coalesced_total",
                "Alerts folded into a delivery of an identical alert.",
                "counter",
                s.coalesced,
            ),
            (
                "dropped_total",
                "Pending alerts shed because the backlog passed its bound.",
                "counter",
                s.dropped,
            ),
            (
                "unrouted_total",
                "Alerts whose kind matched no route.",
                "counter",
                s.unrouted,
            ),
            (
                "pending",
                "Undelivered alerts at the last poll.",
                "gauge",
                s.pending,
            ),
            (
                "direct_total",
                "Alerts raised directly in memory, without a stored row.",
                "counter",
                s.direct,
            ),
            (
                "direct_dropped_total",
                "Direct alerts dropped (oldest first) because their queue was full.",
                "counter",
                s.direct_dropped,
            ),
        ] {
            let metric = format!("agenthost_alerts_{name}");
            prom::header(&mut out, &metric, help, kind);
            prom::sample(&mut out, &metric, &[], value);
        }
        out
    }
}

/// A per-channel counter: name, help text, how to read it.
type PerChannel = (&'static str, &'static str, fn(&ChannelCounts) -> u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_per_channel_counters() {
        let metrics = AlertMetrics::default();
        metrics.register_channel("ops");
        metrics.channel("ops", |c| c.sent += 2);
        metrics.update(|s| s.dropped += 3);
        let text = metrics.render_prometheus();
        assert!(
            text.contains("agenthost_alerts_sent_total{channel=\"ops\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("agenthost_alerts_failed_total{channel=\"ops\"} 0\n"));
        assert!(text.contains("agenthost_alerts_dropped_total 3\n"));
    }
}
