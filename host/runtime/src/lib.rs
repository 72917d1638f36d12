//! The plugin sandbox: runs one plugin invocation in a fresh, limited wasmtime instance and
//! returns a typed outcome plus the effects the plugin buffered.
//!
//! # Layout
//! - `engine`   — one wasmtime `Engine` per host: pooling allocator, fuel, and the single
//!   epoch ticker thread that drives every wall-clock deadline.
//! - `cache`    — compiled components on disk, keyed by content hash and engine config.
//! - `limits`   — per-plugin limits, host ceilings, and the memory limiter.
//! - `bindings` — the one `bindgen!` of the `agenthost:plugin@0.1.0` world.
//! - `host`     — per-invocation store state: host imports and the effect buffer.
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
mod invoke;
pub mod limits;
mod plugin;

pub use caps::{
    Capabilities, ChatMessage, ChatRole, Clock, Completion, CompletionRequest, LlmError,
    LlmGateway, MemoryState, NoLlm, StateError, StateReader, SystemClock,
};
pub use effects::{Effects, JobEffect, OutboundSms, PluginAlert, Severity, SlaEffect};
pub use engine::{Runtime, RuntimeConfig};
pub use invoke::{
    Direction, HistoryEntry, InboundMessage, Invocation, InvocationReport, JobFiring, Outcome,
};
pub use limits::{Ceilings, Limits, RequestedLimits};
pub use plugin::{CronJob, Description, LoadError, Plugin, PluginName, VersionId};
