//! Prometheus text exposition (format 0.0.4), the one writer every crate's `/metrics`
//! section uses: headers, samples with escaped labels, and a fixed-bucket histogram.
//!
//! Why not `prometheus-client`: it renders OpenMetrics (a `# EOF` terminator, its own
//! naming rules for counters) from one registry, while `/metrics` is the concatenation
//! of sections each capability renders from counters it already keeps; changing the
//! exposition format would break every dashboard and alert rule built on it. What the
//! crates shared was these few lines, and they now live once, here.

use std::fmt::{Display, Write as _};

/// A label value with `\`, `"` and newlines escaped.
pub fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `# HELP` and `# TYPE` lines of a metric family (`kind`: counter, gauge, histogram).
pub fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// One sample line: `name{k="v",...} value` (no braces without labels).
pub fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl Display) {
    out.push_str(name);
    push_labels(out, labels, None);
    let _ = writeln!(out, " {value}");
}

fn push_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    for (k, v) in labels {
        if !first {
            out.push(',');
        }
        first = false;
        let _ = write!(out, "{k}=\"{}\"", escape(v));
    }
    if let Some(le) = le {
        if !first {
            out.push(',');
        }
        let _ = write!(out, "le=\"{le}\"");
    }
    out.push('}');
}

/// A histogram over fixed upper bounds (seconds, say): counts per bucket (not
/// cumulative; the last is `+Inf`), the sum and the count.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    pub fn observe(&mut self, value: f64) {
        let i = self
            .bounds
            .iter()
            .position(|&b| value <= b)
            .unwrap_or(self.bounds.len());
        self.counts[i] += 1;
        self.sum += value;
        self.count += 1;
    }

    /// Per bucket (not cumulative), the last one `+Inf`.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The `_bucket` (cumulative), `_sum` and `_count` lines of `name` with `labels`.
    pub fn render(&self, out: &mut String, name: &str, labels: &[(&str, &str)]) {
        let bucket = format!("{name}_bucket");
        let mut cumulative = 0;
        for (i, bound) in self.bounds.iter().enumerate() {
            cumulative += self.counts[i];
            out.push_str(&bucket);
            push_labels(out, labels, Some(&bound.to_string()));
            let _ = writeln!(out, " {cumulative}");
        }
        out.push_str(&bucket);
        push_labels(out, labels, Some("+Inf"));
        let _ = writeln!(out, " {}", self.count);
        sample(out, &format!("{name}_sum"), labels, self.sum);
        sample(out, &format!("{name}_count"), labels, self.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        sample(&mut out, "m", &[("plugin", "a\"b\\c\nd")], 3);
        sample(&mut out, "n", &[], 4);
        assert_eq!(out, "m{plugin=\"a\\\"b\\\\c\\nd\"} 3\nn 4\n");
    }

    #[test]
    fn histograms_render_cumulative_buckets() {
        let mut h = Histogram::new(&[0.5, 1.0, 120.0]);
        for v in [0.3, 0.5, 100.0, 500.0] {
            h.observe(v);
        }
        assert_eq!(h.counts(), &[2, 0, 1, 1]);
        let mut out = String::new();
        header(&mut out, "x_seconds", "Lateness.", "histogram");
        h.render(&mut out, "x_seconds", &[("source", "cron")]);
        assert_eq!(
            out,
            "# HELP x_seconds Lateness.\n# TYPE x_seconds histogram\n\
             x_seconds_bucket{source=\"cron\",le=\"0.5\"} 2\n\
             x_seconds_bucket{source=\"cron\",le=\"1\"} 2\n\
             x_seconds_bucket{source=\"cron\",le=\"120\"} 3\n\
             x_seconds_bucket{source=\"cron\",le=\"+Inf\"} 4\n\
             x_seconds_sum{source=\"cron\"} 600.8\n\
             x_seconds_count{source=\"cron\"} 4\n"
        );
    }
}
