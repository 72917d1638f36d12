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
//! - `effects`  — the effects a plugin can emit, as plain data.
//! - `plugin`   — a loaded plugin: validated, compiled, described, ready to instantiate.
//! - `invoke`   — running one invocation and classifying how it ended.
//! - `caps`     — the capabilities the host lends plugins (state reads, LLM, clock).
//!
//! Nothing here knows about queues, storage engines, HTTP or Twilio: callers hand the
//! runtime their capabilities through the traits in `caps` and commit the returned
//! effects themselves.

mod bindings;
mod cache;
pub mod caps;
pub mod effects;
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

pub use caps::{
    Budget, BudgetLedger, Capabilities, ChatMessage, ChatRole, Clock, Completion,
    CompletionRequest, ConversationInfo, Directory, LlmCaller, LlmError, LlmGateway, MS_PER_DAY,
    MemoryLedger, MemoryState, NoDirectory, NoLlm, StateError, StateReader, SystemClock, Versioned,
    utc_day,
};
pub use effects::{Effects, JobEffect, OutboundSms, PluginAlert, Severity, SlaEffect};
pub use engine::{MAX_POOL_SHARE_PERCENT, Runtime, RuntimeConfig, SHADOW_POOL_SHARE_PERCENT};
pub use host::{
    MAX_ALERTS_PER_INVOCATION, MAX_EFFECTS_PER_INVOCATION, MAX_SMS_BODY_CHARS, Policy, Scope,
};
pub use invoke::{
    Admission, Direction, HistoryEntry, InboundMessage, Invocation, InvocationReport, JobFiring,
    Outcome,
};
pub use limits::{Ceilings, DailyBudgets, Limits, RequestedLimits};
pub use observe::InvocationObserver;
pub use plugin::{CronJob, Description, LoadError, Plugin, PluginName, VersionId};
pub use registry::Registry;
pub use settings::{RuntimeSettings, VARS};
