//! The effects a plugin emits during an invocation, as plain data. The runtime only
//! buffers them; the caller commits them (in one transaction) when the outcome is ok.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::alert::Severity;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundSms {
    pub to: String,
    pub body: String,
    /// SMS segments the body costs (the runtime counts them: `agenthost_runtime::sms::segments`).
    #[serde(default)]
    pub segments: u32,
}

/// An alert a plugin raised. `kind` is already namespaced `plugin.<name>.<kind>` and
/// `severity` already capped by the runtime: a plugin can never raise a host kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginAlert {
    pub kind: String,
    pub severity: Severity,
    pub message: String,
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum JobEffect {
    Schedule {
        key: String,
        name: String,
        delay_ms: u64,
        payload: String,
        conversation_id: Option<String>,
    },
    Cancel {
        key: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SlaEffect {
    Track {
        item_id: String,
        kind: String,
        description: String,
        deadline_at_ms: u64,
    },
    Resolve {
        item_id: String,
    },
}

/// Everything one invocation asked the host to do. Empty until the plugin acts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effects {
    /// Final value per state key after this invocation; `None` deletes the key.
    pub state: BTreeMap<String, Option<String>>,
    /// The committed version each key had when this invocation first read it (`None`:
    /// absent). The commit refuses to apply `state` if any of them changed meanwhile, and
    /// the invocation runs again on fresh state: no update is ever lost.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub state_reads: BTreeMap<String, Option<i64>>,
    pub sms: Vec<OutboundSms>,
    pub alerts: Vec<PluginAlert>,
    pub jobs: Vec<JobEffect>,
    pub slas: Vec<SlaEffect>,
}

impl Effects {
    /// Number of effect records, the quantity `MAX_EFFECTS_PER_INVOCATION` bounds (reads
    /// are not effects).
    pub fn len(&self) -> usize {
        self.state.len() + self.sms.len() + self.alerts.len() + self.jobs.len() + self.slas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
