//! What a plugin is asked to handle and how its run ended, as plain data: the
//! [`Invocation`] (an inbound text with its history, or a job firing) — the very payload
//! a stored event holds — its [`Outcome`] and the [`InvocationReport`] observers see.
//! The runtime turns these into WIT calls; storage keeps them as JSON; the API and the
//! console read them back. Nothing here runs anything.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::effects::Effects;
use crate::ids::{ConversationId, PluginName, VersionId};
use crate::named_enum;

named_enum! {
    /// Which way a message went.
    pub enum Direction as "message direction" {
        /// From the lead to the agent.
        Inbound = "inbound",
        /// From the agent to the lead.
        Outbound = "outbound",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub direction: Direction,
    pub body: String,
    pub at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub conversation_id: ConversationId,
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub body: String,
    pub received_at_ms: u64,
    pub history: Vec<HistoryEntry>,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFiring {
    pub name: String,
    pub conversation_id: Option<ConversationId>,
    pub payload: String,
    pub scheduled_at_ms: u64,
    pub dry_run: bool,
}

/// A job a plugin asks the scheduler to fire on a cron schedule (from `describe`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CronJob {
    pub name: String,
    pub schedule: String,
    pub timezone: Option<String>,
}

/// What a plugin is asked to handle. Stored as a tagged JSON object (`{"kind":"message",
/// …}`) in the event's payload, which is what ingest and the scheduler write and the
/// worker and the console read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Invocation {
    Message(InboundMessage),
    Job(JobFiring),
}

/// How an invocation ended. Only `Ok` commits effects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    /// The plugin returned an error on purpose.
    PluginError {
        code: String,
        message: String,
        retryable: bool,
    },
    /// The plugin trapped (unreachable, panic, bad memory access).
    Trap {
        message: String,
    },
    /// The plugin broke a host rule at the sandbox boundary (a string past its byte
    /// limit, an SMS to a stranger, a job for another plugin's conversation, ...).
    /// Deterministic: the same event breaks it again, so it is not retried.
    RuleViolation {
        /// Stable rule name, e.g. `bytes.field`, `sms.recipient`, `job.conversation`.
        rule: String,
        message: String,
    },
    /// A daily budget (SMS segments, jobs) would be exceeded by this invocation.
    BudgetExhausted {
        budget: String,
        limit: u64,
    },
    FuelExhausted {
        fuel: u64,
    },
    MemoryLimit {
        limit_bytes: u64,
    },
    /// The wall-clock deadline passed, in wasm or while awaiting a host import.
    Deadline {
        after_ms: u64,
    },
    /// A host capability (e.g. state storage) failed; not the plugin's fault.
    HostError {
        message: String,
    },
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }

    /// Stable label for metrics and storage.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::PluginError { .. } => "plugin_error",
            Outcome::Trap { .. } => "trap",
            Outcome::RuleViolation { .. } => "rule_violation",
            Outcome::BudgetExhausted { .. } => "budget_exhausted",
            Outcome::FuelExhausted { .. } => "fuel_exhausted",
            Outcome::MemoryLimit { .. } => "memory_limit",
            Outcome::Deadline { .. } => "deadline",
            Outcome::HostError { .. } => "host_error",
        }
    }

    /// Whether delivering the event again could succeed. A plugin error says so itself;
    /// kills and host errors are retried (a later attempt may run on a fixed version); a
    /// rule violation would be broken again and a spent budget stays spent today.
    pub fn retryable(&self) -> bool {
        match self {
            Outcome::Ok | Outcome::RuleViolation { .. } | Outcome::BudgetExhausted { .. } => false,
            Outcome::PluginError { retryable, .. } => *retryable,
            _ => true,
        }
    }

    /// Whether this counts against the plugin version's health (traps, kills, errors),
    /// as opposed to success or a failure of the host itself.
    pub fn is_plugin_failure(&self) -> bool {
        !matches!(self, Outcome::Ok | Outcome::HostError { .. })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => write!(f, "ok"),
            Outcome::PluginError {
                code,
                message,
                retryable,
            } => {
                write!(f, "plugin error {code}: {message} (retryable: {retryable})")
            }
            Outcome::Trap { message } => write!(f, "trap: {message}"),
            Outcome::RuleViolation { rule, message } => {
                write!(f, "rule violation ({rule}): {message}")
            }
            Outcome::BudgetExhausted { budget, limit } => {
                write!(f, "daily {budget} budget of {limit} exhausted")
            }
            Outcome::FuelExhausted { fuel } => write!(f, "fuel exhausted ({fuel} units)"),
            Outcome::MemoryLimit { limit_bytes } => {
                write!(f, "memory limit of {limit_bytes} bytes exceeded")
            }
            Outcome::Deadline { after_ms } => {
                write!(f, "wall-clock deadline exceeded after {after_ms} ms")
            }
            Outcome::HostError { message } => write!(f, "host error: {message}"),
        }
    }
}

/// The full record of one invocation.
#[derive(Debug, Clone)]
pub struct InvocationReport {
    pub plugin: PluginName,
    pub version: VersionId,
    pub outcome: Outcome,
    /// What the plugin asked for. Empty unless the outcome is `Ok`: nothing of a failed
    /// invocation may be committed.
    pub effects: Effects,
    pub fuel_used: u64,
    pub duration: Duration,
}
