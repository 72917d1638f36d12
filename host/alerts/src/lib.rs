//! Alert delivery: moves the alerts the host stored (`alerts` table) to Discord, webhooks
//! and the log, outside the message path; and raises the host's own `dependency_down` /
//! `dependency_restored` alerts, in memory when storage itself is what is down.
//!
//! # Layout
//! - `alert`      — [`Alert`], the one model every channel renders, built once from a row
//!   (or from an [`agenthost_core::HostAlert`] for a direct alert).
//! - `channel`    — the [`AlertChannel`] trait, [`ChannelError`], the [`ChannelRegistry`]
//!   of channel kinds and the [`Router`] (named instances + kind → channel routes).
//! - `channels`   — the built-in kinds: `discord`, `webhook`, `log`.
//! - `config`     — [`AlertConfig`] from the environment; every variable in [`VARS`].
//! - `deps`       — [`DependencyWatch`]: checks dependencies (the alert store always, others
//!   as [`DependencyCheck`]s) on an interval; one `dependency_down` after failing
//!   continuously for the threshold, one `dependency_restored` on recovery; stored when
//!   storage answers, else raised directly.
//! - `dispatcher` — [`Dispatcher`]: poll, coalesce, deliver per channel lane with retries,
//!   shed past the bound, mark rows (storage I/O in a task of its own, so a hung database
//!   never stalls the lanes); [`AlertsHandle::raise_direct`] feeds alerts that have no row
//!   through a bounded in-memory queue ([`MAX_DIRECT`]) into the same lanes.
//! - `metrics`    — [`AlertMetrics`] counters and their Prometheus rendering.
//!
//! # Wiring
//! ```ignore
//! let config = AlertConfig::from_env()?;
//! let dispatcher = Dispatcher::from_config(&config)?;
//! let alerts = dispatcher.handle(); // wake() after inserting an alert; render_prometheus()
//! tracker.spawn(dispatcher.run(storage.alerts(), cancel.clone()));
//! // Scheduler role, beside the dispatcher: storage is always watched; add the rest.
//! let watch = DependencyWatch::new(storage.clone(), alerts, config.dependency_down_after)
//!     .with_check(check_fn("queue", move || { let q = queue.clone();
//!         async move { q.ping().await.map_err(|e| e.to_string()) } }));
//! tracker.spawn(watch.run(cancel.clone()));
//! ```
//! Twilio and the LLM providers are not checked here: the outbox and the LLM gateway see
//! their failures first-hand and raise the same two kinds themselves, with the same
//! threshold (`dependency_down_after`) for Twilio and the circuit breaker for LLMs.
//!
//! **Architecture Invariant:** this crate knows nothing of plugins, queues or Twilio: it
//! reads alert rows and talks to channels; other dependencies come in as named checks.

mod alert;
mod channel;
pub mod channels;
mod config;
mod deps;
mod dispatcher;
mod metrics;

use std::time::Duration;

pub use alert::{Alert, Severity};
pub use channel::{AlertChannel, ChannelError, ChannelFactory, ChannelRegistry, Router};
pub use config::{
    AlertConfig, CHANNELS_VAR, COALESCE_WINDOW_VAR, ChannelSpec, ConfigError,
    DEPENDENCY_DOWN_AFTER_VAR, DISCORD_API_BASE_VAR, DISCORD_TOKEN_VAR, DiscordConfig, GIVE_UP_VAR,
    MAX_PENDING_VAR, POLL_INTERVAL_VAR, RETRY_BASE_VAR, RETRY_CAP_VAR, ROUTES_VAR, Secret, VARS,
    Var,
};
pub use deps::{
    DEFAULT_CHECK_INTERVAL, DependencyCheck, DependencyWatch, STORAGE_DEPENDENCY, check_fn,
};
pub use dispatcher::{AlertsHandle, Dispatcher, MAX_DIRECT, MAX_WORKING_ROWS, SEND_TIMEOUT};
pub use metrics::{AlertMetrics, ChannelCounts, MetricsSnapshot};

/// Longest an HTTP channel request may take, end to end.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest connecting to an HTTP channel may take.
pub const HTTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
