//! Durable storage for the host: one API over SQLite (the embedded default) and PostgreSQL
//! (shared by many replicas), through sqlx's `Any` driver with runtime-checked queries.
//!
//! # Layout
//! - `storage`    — [`Storage`]: connecting, pool settings, the write path (SQLite's
//!   single-writer turn, [`WriteTx`]).
//! - `batch`      — the group commit of relaxed writes on SQLite ([`Storage::relaxed_batch`]):
//!   one writer task runs every write queued when the turn comes in one transaction.
//! - `backend`    — [`Backend`] and the few SQL strings that differ between engines.
//! - `url`        — which backend a URL names, the default SQLite path, [`redact_url`].
//! - `migrations` — sqlx's migrator over `migrations/{sqlite,postgres}` (checksums, the
//!   PostgreSQL advisory lock), and the adoption of databases the earlier runner made.
//!
//! # Views
//! [`Storage`] itself only connects and opens write transactions. What the host reads and
//! writes goes through narrow views, each a cheap handle that owns one concern and
//! nothing else, so a crate's imports say what it touches:
//! - `events()`        [`Events`] — ingress (deduplicated, group-committed inbound
//!   events), enqueued marks, the republish sweep, attempt failures, dead letters,
//!   requeues.
//! - `claims()`        [`Claims`] — a worker's lease on an event (and its conversation),
//!   delivery counts, recorded failures, and the one commit that applies an invocation's
//!   effects, checked against its lease, the state versions it read and its budgets
//!   (`claims` and `commit` modules).
//! - `conversations()` [`Conversations`] — who a conversation is between, its messages as
//!   a worker reads them, each plugin's namespaced state (`history` and `state`).
//! - `outbox()`        [`Outbox`] — outbound SMS: claiming with leases, marking
//!   sent/failed/retry, the sender pace, admission, send pauses, delivery statuses.
//! - `routes()`        [`Routes`] — number → plugin routes and opt-outs.
//! - `budgets()`       [`Budgets`] — the durable per-day budget ledger.
//! - `alerts()`        [`Alerts`] — alerts raised outside a worker commit and their
//!   delivery status (`alerts` and `alert_delivery`).
//! - `schedule()`      [`Schedule`] — the scheduler's claims: cron marks, due one-off
//!   jobs, SLA ladder rungs.
//! - `console()`       [`Console`] — the operator's console: takeover of a conversation
//!   (the agent paused), staff replies, search and threads, dead-letter discards and
//!   requeues, lane depths.
//! - `deploys()`       [`Deploys`] — the plugin registry: content-addressed plugin versions
//!   (component bytes are the one `Vec<u8>` column), deployments with rollback, canary
//!   and shadow rollouts, their history, shadow runs, and the deploy clock / `NOTIFY`
//!   replicas watch.
//! - `audit()`         [`Audit`] — the admin API's record of calls.
//! - `workers()`       [`Workers`] — worker heartbeats and lane consumers.
//!
//! # Conventions
//! Timestamps are `i64` Unix epoch milliseconds supplied by the caller (`now_ms`), so tests
//! and replays control time. Queries use `$1, $2` placeholders, which both engines accept.
//! Columns hold only `i64`, `String`, `bool` and their `Option`s: what `Any` can carry.
//!
//! Nothing here knows about plugins' code, queues or HTTP: callers pass plain data in and
//! get plain rows out.

mod alert_delivery;
mod alerts;
mod audit;
mod backend;
mod batch;
mod budgets;
mod claims;
mod commit;
mod config;
mod console;
mod deploys;
mod error;
mod events;
mod history;
mod migrations;
mod outbox;
mod routes;
mod schedule;
mod sql;
mod state;
mod storage;
mod url;
mod workers;

pub use agenthost_core::redact_url;
pub use agenthost_core::{AlertKind, Severity};
pub use alerts::{AlertRow, AlertStatus, Alerts, HostAlert};
pub use audit::{Audit, AuditRow, NewAudit};
pub use backend::Backend;
pub use batch::{GroupCommit, MAX_BATCH, Staged, StagedWrite, StatementWrite};
pub use budgets::Budgets;
pub use claims::{Claim, Claimed, Claims, Failure, Lease};
pub use commit::{BudgetCharge, Commit, CommitResult, JobChange, NewOutbound, SlaChange};
pub use config::{StorageConfig, VARS};
pub use console::{
    Console, ConversationSummary, DeadLetterDetail, EffectCounts, HELD_UNTIL_RELEASED, LaneDepth,
    StaffReply, StaffReplyResult, Takeover, ThreadMessage,
};
pub use deploys::{
    DEPLOY_CHANNEL, DeployAction, DeployError, DeployHistoryEntry, DeployListener, Deployment,
    Deploys, NewPluginVersion, ParseNameError, PluginVersionMeta, RolloutMode, ShadowRun,
};
pub use error::StorageError;
pub use events::{
    DeadLetter, EventKind, EventRow, EventStatus, Events, HostMessage, HostReply, InboundMessage,
    Inserted, NewEvent, OPT_OUT_CONFIRMATION_WINDOW_MS,
};
pub use history::{ConversationRow, Conversations, Direction, HistoryRow};
pub use outbox::{Admission, Outbox, OutboxRow, OutboxStatus, PACE_LOOKAHEAD_MS};
pub use routes::Routes;
pub use schedule::{DueJob, Schedule, SlaLadderItem, SlotFiring};
pub use storage::{POOL_ACQUIRE_TIMEOUT, SQLITE_BUSY_TIMEOUT_MS, Storage, WriteTx};
pub use url::SQLITE_FILE_NAME;
pub use workers::Workers;
