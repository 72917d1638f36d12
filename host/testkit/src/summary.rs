//! The one table of a bench run. Each bench records the figures it measured, with the
//! baseline it measured them against in the same run and the target they are held to;
//! `scripts/bench.sh` points `BENCH_SUMMARY` at a file, runs every bench, and prints the
//! figures of all of them as one table with ratios and whether each target is met. A bench
//! run on its own (no `BENCH_SUMMARY`) records nothing and prints its own tables as before.

use std::io::Write;

/// What a figure is held to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// value ÷ baseline at least this (throughput against a limit or the seeds' stack).
    RatioAtLeast(f64),
    /// value ÷ baseline at most this (latency or cost against a baseline).
    RatioAtMost(f64),
    /// The value itself, in its unit.
    AtLeast(f64),
    AtMost(f64),
}

impl Goal {
    /// Whether `value` (against `baseline`, for a ratio) meets the goal; `None` when a
    /// ratio goal has no baseline in this run.
    pub fn met(self, value: f64, baseline: Option<f64>) -> Option<bool> {
        if value.is_nan() {
            return None; // not measured in this run
        }
        match self {
            Goal::RatioAtLeast(r) => baseline.map(|b| value / b >= r),
            Goal::RatioAtMost(r) => baseline.map(|b| value / b <= r),
            Goal::AtLeast(v) => Some(value >= v),
            Goal::AtMost(v) => Some(value <= v),
        }
    }

    fn text(self, unit: &str) -> String {
        match self {
            Goal::RatioAtLeast(r) => format!("≥ {r}×"),
            Goal::RatioAtMost(r) => format!("≤ {r}×"),
            Goal::AtLeast(v) => format!("≥ {v} {unit}"),
            Goal::AtMost(v) => format!("≤ {v} {unit}"),
        }
    }
}

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure<'a> {
    /// What was measured ("drain of a 2,000 burst, echo").
    pub figure: &'a str,
    /// Where: "SQLite + embedded queue", "PostgreSQL + RabbitMQ", "runtime".
    pub setup: &'a str,
    pub value: f64,
    /// "req/s", "ms", "MiB", "µs".
    pub unit: &'a str,
    /// What it is measured against in the same run, in the same unit.
    pub baseline: Option<(&'a str, f64)>,
    pub goal: Option<Goal>,
}

impl Figure<'_> {
    /// Appends the figure as one JSON line to the file `BENCH_SUMMARY` names.
    pub fn record(&self) {
        let Some(path) = std::env::var_os("BENCH_SUMMARY") else {
            return;
        };
        let baseline = self.baseline.map(|(_, v)| v);
        let line = serde_json::json!({
            "figure": self.figure,
            "setup": self.setup,
            "value": self.value,
            "unit": self.unit,
            "baseline_name": self.baseline.map(|(n, _)| n),
            "baseline": baseline,
            "ratio": baseline.filter(|b| *b > 0.0).map(|b| self.value / b),
            "goal": self.goal.map(|g| g.text(self.unit)),
            "met": self.goal.and_then(|g| g.met(self.value, baseline)),
        });
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("BENCH_SUMMARY {}: {e}", path.to_string_lossy()));
        writeln!(file, "{line}").expect("writing BENCH_SUMMARY");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_judge_ratios_and_values() {
        assert_eq!(Goal::RatioAtLeast(0.4).met(40.0, Some(100.0)), Some(true));
        assert_eq!(Goal::RatioAtLeast(0.4).met(39.0, Some(100.0)), Some(false));
        assert_eq!(Goal::RatioAtMost(0.2).met(2.1, Some(10.0)), Some(false));
        assert_eq!(Goal::RatioAtMost(0.2).met(1.9, Some(10.0)), Some(true));
        assert_eq!(Goal::RatioAtLeast(8.0).met(1.0, None), None);
        assert_eq!(Goal::AtMost(300.0).met(111.0, None), Some(true));
        assert_eq!(Goal::AtLeast(10_000.0).met(700.0, None), Some(false));
        assert_eq!(Goal::AtMost(5.0).met(f64::NAN, None), None);
        assert_eq!(Goal::AtMost(5.0).text("ms"), "≤ 5 ms");
    }
}
