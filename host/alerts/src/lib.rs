//! Alert delivery: moves the alerts the host stored (`alerts` table) to Discord, webhooks
//! and the log, outside the message path.
//!
//! # Layout
//! - `alert`      — [`Alert`], the one model every channel renders, built once from a row.
//! - `channel`    — the [`AlertChannel`] trait, [`ChannelError`], the [`ChannelRegistry`]
//!   of channel kinds and the [`Router`] (named instances + kind → channel routes).
//! - `channels`   — the built-in kinds: `discord`, `webhook`, `log`.
//! - `config`     — [`AlertConfig`] from the environment; every variable in [`VARS`].
//! - `dispatcher` — [`Dispatcher`]: poll, coalesce, deliver per channel lane with retries,
//!   shed past the bound, mark rows.
//! - `metrics`    — [`AlertMetrics`] counters and their Prometheus rendering.
//!
//! # Wiring
//! ```ignore
//! let config = AlertConfig::from_env()?;
//! let dispatcher = Dispatcher::from_config(&config)?;
//! let alerts = dispatcher.handle(); // wake() after inserting an alert; render_prometheus()
//! tracker.spawn(dispatcher.run(storage.clone(), cancel.clone()));
//! ```
//!
//! **Architecture Invariant:** this crate knows nothing of plugins, queues or Twilio: it
//! reads alert rows and talks to channels.

mod alert;
mod channel;
pub mod channels;
mod config;
mod dispatcher;
mod metrics;

use std::time::Duration;

pub use alert::{Alert, Severity};
pub use channel::{AlertChannel, ChannelError, ChannelFactory, ChannelRegistry, Router};
pub use config::{
    AlertConfig, CHANNELS_VAR, COALESCE_WINDOW_VAR, ChannelSpec, ConfigError, DISCORD_API_BASE_VAR,
    DISCORD_TOKEN_VAR, DiscordConfig, GIVE_UP_VAR, MAX_PENDING_VAR, POLL_INTERVAL_VAR,
    RETRY_BASE_VAR, RETRY_CAP_VAR, ROUTES_VAR, Secret, VARS, Var,
};
pub use dispatcher::{AlertsHandle, Dispatcher, MAX_WORKING_ROWS, SEND_TIMEOUT};
pub use metrics::{AlertMetrics, ChannelCounts, MetricsSnapshot};

/// Longest an HTTP channel request may take, end to end.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest connecting to an HTTP channel may take.
pub const HTTP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
