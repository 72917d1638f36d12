//! The plugin registry: immutable, content-addressed plugin versions (`plugin_versions`),
//! what each plugin runs (`plugin_deployments`: active, previous, canary or shadow rollout),
//! the full history of uploads and changes (`plugin_history`), shadow comparisons
//! (`shadow_runs`) and the change counter replicas watch (`deploy_clock`).
//!
//! Every deployment change (activate, rollback, rollout, promote, abort) is one write
//! transaction that first increments `deploy_clock`, then reads the plugin's row, checks the
//! request against it, and writes the row and a history entry. The clock's row lock makes
//! concurrent changes (from any replica) run one after another on PostgreSQL, just as the
//! writer turn and `BEGIN IMMEDIATE` do on SQLite, so each check sees the state left by the
//! previous change. A change that is refused or turns out to be a no-op rolls back, clock
//! included. On PostgreSQL the transaction also sends `NOTIFY` on [`DEPLOY_CHANNEL`] with
//! the plugin's name, delivered when it commits (see [`Deploys::listen_deploys`]).
//!
//! The module's files: `versions.rs` (uploads, metadata, bytes), `rollout.rs` (the
//! deployment state machine: activate, roll back, canary/shadow rollout, promote, abort),
//! `history.rs` (the change log, shared with the console's requeues and discards),
//! `shadow.rs` (shadow comparisons), `listen.rs` (PostgreSQL `NOTIFY` of committed
//! changes).

mod history;
mod listen;
mod rollout;
mod shadow;
mod versions;

use serde::Serialize;

use crate::{Storage, StorageError};

pub(crate) use history::{HistoryInput, insert_history};
pub use listen::{DEPLOY_CHANNEL, DeployListener};

/// The deploy vocabulary is core's; stored here as its text.
pub use agenthost_core::{DeployAction, ParseNameError, RolloutMode};

/// A plugin version to store. `version` is the lower-case hex sha256 of `component`,
/// computed by the caller (this crate does not check it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPluginVersion {
    pub plugin: String,
    pub version: String,
    /// The WebAssembly component's bytes.
    pub component: Vec<u8>,
    /// The WIT world the component targets.
    pub wit_world: String,
    /// The plugin's self-description, as JSON.
    pub description_json: String,
    pub uploaded_by: String,
    /// Why it was uploaded.
    pub note: Option<String>,
    /// The id of the trusted key whose signature was verified, if one was.
    pub signed_by: Option<String>,
}

/// A stored plugin version without its bytes (see [`Deploys::plugin_component`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginVersionMeta {
    pub plugin: String,
    pub version: String,
    /// Length of the component in bytes.
    pub size_bytes: i64,
    pub wit_world: String,
    pub description_json: String,
    pub uploaded_by: String,
    pub uploaded_at: i64,
    pub note: Option<String>,
    /// The trusted key that signed it (`None`: accepted unsigned).
    pub signed_by: Option<String>,
}

/// What a plugin runs. A plugin never activated has no row ([`Deploys::deployment`] returns
/// `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deployment {
    pub plugin: String,
    /// The version serving events; `None` only before the first activation.
    pub active_version: Option<String>,
    /// The version active before it: where a rollback goes.
    pub previous_version: Option<String>,
    pub rollout: RolloutMode,
    /// The version under trial; `Some` exactly when `rollout` is not `None`.
    pub candidate_version: Option<String>,
    /// Canary only: the percentage of events (1..=100) the candidate serves; 0 otherwise.
    pub canary_percent: u8,
    /// When `active_version` became active.
    pub activated_at: Option<i64>,
    pub updated_at: i64,
    /// The `deploy_clock` value of this row's last change.
    pub generation: i64,
}

impl Deployment {
    /// The state of a plugin with no row yet.
    fn empty(plugin: &str) -> Deployment {
        Deployment {
            plugin: plugin.to_owned(),
            active_version: None,
            previous_version: None,
            rollout: RolloutMode::None,
            candidate_version: None,
            canary_percent: 0,
            activated_at: None,
            updated_at: 0,
            generation: 0,
        }
    }

    /// This deployment with `version` active (the old active becoming previous when it
    /// differs) and no rollout, as changed at `now_ms` in clock `generation`.
    fn activated(&self, version: &str, now_ms: i64, generation: i64) -> Deployment {
        let changed = self.active_version.as_deref() != Some(version);
        Deployment {
            plugin: self.plugin.clone(),
            active_version: Some(version.to_owned()),
            previous_version: if changed && self.active_version.is_some() {
                self.active_version.clone()
            } else {
                self.previous_version.clone()
            },
            rollout: RolloutMode::None,
            candidate_version: None,
            canary_percent: 0,
            activated_at: if changed {
                Some(now_ms)
            } else {
                self.activated_at
            },
            updated_at: now_ms,
            generation,
        }
    }

    /// The rollout as history details: `{"mode", "candidate", "percent"}`.
    fn rollout_details(&self) -> serde_json::Value {
        serde_json::json!({
            "mode": self.rollout.as_str(),
            "candidate": self.candidate_version,
            "percent": self.canary_percent,
        })
    }
}

/// One upload or deployment change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployHistoryEntry {
    /// Increases with every entry.
    pub id: i64,
    pub plugin: String,
    pub action: DeployAction,
    /// The version that served before the change (for `abort`: the dropped candidate).
    pub from_version: Option<String>,
    /// The version the change concerns: the one uploaded, activated, rolled back to, tried
    /// or promoted (for `abort`: the active version that now serves everything).
    pub to_version: Option<String>,
    pub actor: String,
    pub reason: Option<String>,
    pub at_ms: i64,
    /// Extra facts as JSON, e.g. a rollout's `{"mode","candidate","percent"}`.
    pub details_json: Option<String>,
}

/// The active and candidate versions' results for one event in a shadow rollout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShadowRun {
    pub event_id: String,
    pub plugin: String,
    pub active_version: String,
    pub candidate_version: String,
    pub active_outcome: String,
    pub candidate_outcome: String,
    pub active_effects_json: String,
    pub candidate_effects_json: String,
    /// Whether the two runs' outcomes or effects differ.
    pub differs: bool,
    pub at_ms: i64,
}

/// Why a deployment change was refused (nothing was changed), or that storage failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The version was never uploaded for this plugin.
    #[error("plugin `{plugin}` has no uploaded version `{version}`")]
    UnknownVersion { plugin: String, version: String },

    /// A rollback was asked for, but no version was active before the current one.
    #[error("plugin `{plugin}` has no previous version to roll back to")]
    NoPrevious { plugin: String },

    /// The caller expected another active version: someone else changed the deployment
    /// first (e.g. another replica already rolled back).
    #[error(
        "plugin `{plugin}` is not running version `{expected}` (active version: {}); \
         the deployment was changed meanwhile",
        actual.as_deref().unwrap_or("none")
    )]
    NotActive {
        plugin: String,
        expected: String,
        actual: Option<String>,
    },

    /// The rollout request is not valid; the message says why.
    #[error("invalid rollout: {0}")]
    InvalidRollout(String),

    /// Promote or abort was asked for, but no rollout is in progress.
    #[error("plugin `{plugin}` has no canary or shadow rollout in progress")]
    NoCandidate { plugin: String },

    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The deployments view of [`Storage`] (see [`Storage::deploys`]): plugin versions, what
/// each plugin runs and its rollout, the history of changes, shadow comparisons and the
/// change notifications — and nothing else.
#[derive(Clone, Debug)]
pub struct Deploys {
    db: Storage,
}

impl Storage {
    /// The deployments view: what the deploy crate, the admin API and the console read and
    /// change about plugin versions.
    pub fn deploys(&self) -> Deploys {
        Deploys { db: self.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_what_went_wrong() {
        let err = DeployError::NotActive {
            plugin: "locator".into(),
            expected: "abc".into(),
            actual: None,
        };
        let text = err.to_string();
        assert!(text.contains("locator") && text.contains("abc") && text.contains("none"));
    }
}
