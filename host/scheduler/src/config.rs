//! The scheduler's configuration: typed, with defaults, read from the environment variables
//! listed in [`VARS`] through a lookup function (so the binary owns `env::var`).

use std::time::Duration;

use agenthost_core::Lookup;
pub use agenthost_core::{ConfigError, Var};

/// Every variable [`SchedulerConfig::from_lookup`] reads (none is secret).
pub const VARS: &[Var] = &[
    Var {
        name: "AGENTHOST_SCHEDULER_TICK_MS",
        secret: false,
        help: "scheduler pass interval in milliseconds (default 1000)",
    },
    Var {
        name: "AGENTHOST_SCHEDULER_LATENESS_ALERT_SECS",
        secret: false,
        help: "alert when a cron job fires more than this many seconds after its slot (default 60)",
    },
    Var {
        name: "AGENTHOST_SCHEDULER_BATCH",
        secret: false,
        help: "most one-off jobs / SLA items handled per pass (default 200)",
    },
    Var {
        name: "AGENTHOST_SLA_REPEAT_SECS",
        secret: false,
        help: "seconds between repeated overdue SLA alerts (default 28800 = 8 h)",
    },
    Var {
        name: "AGENTHOST_SLA_MAX_REPEATS",
        secret: false,
        help: "repeated overdue SLA alerts before escalating to the owner (default 3)",
    },
];

/// How the scheduler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// Pause between passes of [`crate::Scheduler::run`].
    pub tick_interval: Duration,
    /// A cron firing later than this after its slot raises a `scheduler_lateness` alert.
    pub lateness_alert_threshold: Duration,
    /// Most rows each part of a pass handles (the rest wait for the next pass).
    pub batch: u32,
    /// Between repeated overdue SLA alerts (and from the last one to the escalation).
    pub sla_repeat_every: Duration,
    /// Repeated overdue alerts before the one escalation.
    pub sla_max_repeats: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            tick_interval: Duration::from_secs(1),
            lateness_alert_threshold: Duration::from_secs(60),
            batch: 200,
            sla_repeat_every: Duration::from_secs(8 * 3600),
            sla_max_repeats: 3,
        }
    }
}

impl SchedulerConfig {
    /// Reads every variable of [`VARS`] through `lookup` (unset or blank: the default).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let l = Lookup::new(lookup).declared(VARS);
        let count = |var: &'static str, default: u32, min: u64| -> Result<u32, ConfigError> {
            let n = l.number(var, u64::from(default), min)?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        };
        let one_sec = Duration::from_secs(1);
        Ok(Self {
            tick_interval: l.millis(
                "AGENTHOST_SCHEDULER_TICK_MS",
                d.tick_interval,
                Duration::from_millis(10),
            )?,
            lateness_alert_threshold: l.secs(
                "AGENTHOST_SCHEDULER_LATENESS_ALERT_SECS",
                d.lateness_alert_threshold,
                one_sec,
            )?,
            batch: count("AGENTHOST_SCHEDULER_BATCH", d.batch, 1)?,
            sla_repeat_every: l.secs("AGENTHOST_SLA_REPEAT_SECS", d.sla_repeat_every, one_sec)?,
            sla_max_repeats: count("AGENTHOST_SLA_MAX_REPEATS", d.sla_max_repeats, 0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_unset_and_names_the_bad_variable() {
        assert_eq!(
            SchedulerConfig::from_lookup(|_| None).unwrap(),
            SchedulerConfig::default()
        );
        let c = SchedulerConfig::from_lookup(|n| {
            (n == "AGENTHOST_SLA_MAX_REPEATS").then(|| "5".to_owned())
        })
        .unwrap();
        assert_eq!(c.sla_max_repeats, 5);
        let e = SchedulerConfig::from_lookup(|n| {
            (n == "AGENTHOST_SCHEDULER_TICK_MS").then(|| "soon".to_owned())
        })
        .unwrap_err();
        assert!(e.to_string().contains("AGENTHOST_SCHEDULER_TICK_MS"), "{e}");
    }
}
