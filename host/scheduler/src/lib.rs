//! The scheduler role: fires plugins' cron jobs and one-off delayed jobs as job events (the
//! same path as inbound messages: stored, deduplicated, published to the plugin's lane,
//! run by a worker in the sandbox, effects committed once), and climbs the SLA ladder.
//!
//! # Layout
//! - `config`    — [`SchedulerConfig`], its environment variables ([`VARS`]) and parsing.
//! - `cron`      — [`CronSpec`]: a 5-field pattern in an IANA time zone, and its slots.
//! - `ladder`    — the SLA ladder's rungs and when each is due ([`Ladder`]).
//! - `metrics`   — lateness histogram and counters, rendered for Prometheus.
//! - `scheduler` — [`Scheduler`]: `tick(now)` does one pass, `run(cancel)` loops it.
//!
//! # Exactly once across replicas
//! Every firing is a conditional write: a cron slot moves its job's mark in `cron_marks`
//! from the value the replica read (`UPDATE … WHERE last_slot_at = $seen`) in the same
//! transaction that stores the job event; a one-off job is deleted from `jobs` in the
//! transaction that stores its event; an SLA rung moves `sla_rungs` from the rung read
//! in the transaction that stores its alert. Event ids double as dedupe keys
//! (`job:<plugin>:<name>:<slot_ms>`, `job:<plugin>:<key>:<due_at_ms>`), so even a lost
//! mark cannot fire a slot twice. A job event stored but not published (crash, queue
//! outage) is republished by the one sweep every event source shares
//! (`agenthost_pipeline::sweep`), its attempts counted like any other event's.
//!
//! Nothing here knows about HTTP, Twilio or plugins' code: plugins' cron jobs come in
//! through [`CronSource`], time through [`agenthost_core::Clock`].

mod config;
mod cron;
mod ladder;
mod metrics;
mod scheduler;

pub use config::{ConfigError, SchedulerConfig, VARS, Var};
pub use cron::{CronSpec, ScheduleError};
pub use ladder::{Ladder, Rung};
pub use scheduler::{CronSource, Scheduler, SchedulerError, TickReport};
