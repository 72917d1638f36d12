//! The host's one vocabulary. Every host crate depends on this one and on nothing of it
//! twice: a retry delay, a configuration error, an alert kind or a metrics line is
//! written here once and used everywhere. No I/O: nothing here opens a file, a socket
//! or a database, so every piece is tested as a pure function.
//!
//! - [`backoff`]: the one exponential [`Backoff`] (full, half or no jitter; `Retry-After`
//!   as a floor) used for Twilio sends, LLM calls, alert deliveries, broker reconnects
//!   and queue claims.
//! - [`retry`]: the worker's [`RetryPolicy`] — attempts, the host-failure allowance,
//!   crash loops, the delay between deliveries.
//! - [`config`]: the config kernel: [`Var`] (a variable a capability reads),
//!   [`ConfigError`] (naming the variable, never echoing a secret), [`Secret`], and the
//!   [`Lookup`] helpers each capability parses its own section with.
//! - [`alert`]: [`HostAlert`] with an [`AlertKind`] enum — the host's alert kinds, each
//!   spelled once; a plugin's kinds are `plugin.<name>.<kind>` and cannot pass for them.
//! - [`ids`]: the ids as types — [`PluginName`], [`VersionId`], [`EventId`],
//!   [`ConversationId`] — serialised as plain strings.
//! - [`invocation`]: what a plugin is asked to handle ([`Invocation`], the payload a
//!   stored event holds), how its run ended ([`Outcome`]) and the [`InvocationReport`].
//! - [`effects`]: what one invocation asked the host to do ([`Effects`]), committed
//!   only when the outcome is ok.
//! - [`deploy`]: the deploy vocabulary — [`RolloutMode`], [`DeployAction`].
//! - [`names`]: enums spelled as text, parsed back with a [`ParseNameError`] that lists
//!   what is accepted.
//! - [`hash`]: [`stable_hash`], the hash replicas agree on (canary buckets, stripes).
//! - [`clock`]: [`Clock`] (wall time as plugins and the scheduler see it) and [`now_ms`].
//! - [`prom`]: Prometheus text exposition: label escaping, samples, [`prom::Histogram`].
//! - [`text`]: texts for people: [`human_duration`], [`redact_url`], [`scrub_error`].

pub mod alert;
pub mod backoff;
pub mod clock;
pub mod config;
pub mod deploy;
pub mod effects;
pub mod hash;
pub mod ids;
pub mod invocation;
pub mod names;
pub mod prom;
pub mod retry;
pub mod text;

pub use alert::{AlertKind, HostAlert, Severity};
pub use backoff::{Backoff, Jitter};
pub use clock::{Clock, SystemClock, now_ms};
pub use config::{ConfigError, Lookup, Secret, Var};
pub use deploy::{DeployAction, RolloutMode};
pub use effects::{Effects, JobEffect, OutboundSms, PluginAlert, SlaEffect};
pub use hash::stable_hash;
pub use ids::{ConversationId, EventId, PluginName, VersionId};
pub use invocation::{
    CronJob, Direction, HistoryEntry, InboundMessage, Invocation, InvocationReport, JobFiring,
    Outcome,
};
pub use names::ParseNameError;
pub use retry::{Decision, Failure, RetryPolicy};
pub use text::{MAX_ERROR_CHARS, human_duration, redact_url, scrub_error};
