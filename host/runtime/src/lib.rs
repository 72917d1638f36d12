//! The plugin sandbox: runs one plugin invocation in a fresh, limited wasmtime instance and
//! returns a typed outcome plus the effects the plugin buffered.
//!
//! # Layout
//! - `engine`   — one wasmtime `Engine` per host: pooling allocator, fuel, and the single
//!   epoch ticker thread that drives every wall-clock deadline.
//! - `cache`    — compiled components on disk, keyed by content hash and engine config.
//! - `limits`   — per-plugin limits, host ceilings, and the memory limiter.
//! - `bindings` — the one `bindgen!` of the `agenthost:plugin@0.1.0` world.
//! - `imports`  — the host imports, defined on the linker by hand so every string and
//!   list is size-checked in guest memory before it is copied.
//! - `host`     — per-invocation store state: what each import does, the effect buffer,
//!   and the rules (scope, budgets) a plugin must keep.
//! - `sms`      — segment counting and E.164 numbers.
//! - `plugin`   — a loaded plugin: validated, compiled, described, ready to instantiate.
//! - `invoke`   — running one invocation and classifying how it ended.
//!
//! The vocabulary it runs on — the ids, [`Invocation`], [`Outcome`], [`Effects`] — is
//! `agenthost_core`'s (re-exported here), so storage, the scheduler and the API read and
//! write stored events without depending on the sandbox.
//! - `caps`     — the capabilities the host lends plugins (state reads, LLM, clock).
//!
//! Nothing here knows about queues, storage engines, HTTP or Twilio: callers hand the
//! runtime their capabilities through the traits in `caps` and commit the returned
//! effects themselves.

mod bindings;
mod cache;
pub mod caps;
mod engine;
mod host;
mod imports;
mod invoke;
pub mod limits;
mod observe;
mod plugin;
pub mod registry;
mod settings;
pub mod sms;

/// The effects vocabulary lives in `agenthost_core`; kept here under its old path.
pub use agenthost_core::effects;
pub use agenthost_core::{
    ConversationId, CronJob, Direction, Effects, EventId, HistoryEntry, InboundMessage, Invocation,
    InvocationReport, JobEffect, JobFiring, OutboundSms, Outcome, PluginAlert, PluginName,
    Severity, SlaEffect, VersionId,
};
pub use caps::{
    Budget, BudgetLedger, Capabilities, ChatMessage, ChatRole, Clock, Completion,
    CompletionRequest, ConversationInfo, Directory, LlmCaller, LlmError, LlmGateway, MS_PER_DAY,
    MemoryLedger, MemoryState, NoDirectory, NoLlm, StateError, StateReader, SystemClock, Versioned,
    utc_day,
};
pub use engine::{MAX_POOL_SHARE_PERCENT, Runtime, RuntimeConfig, SHADOW_POOL_SHARE_PERCENT};
pub use host::{
    MAX_ALERTS_PER_INVOCATION, MAX_EFFECTS_PER_INVOCATION, MAX_SMS_BODY_CHARS, Policy, Scope,
};
pub use invoke::Admission;
pub use limits::{Ceilings, DailyBudgets, Limits, RequestedLimits};
pub use observe::InvocationObserver;
pub use plugin::{Description, LoadError, Plugin};
pub use registry::Registry;
pub use settings::{RuntimeSettings, VARS};
