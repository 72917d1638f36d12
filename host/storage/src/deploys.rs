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
//! the plugin's name, delivered when it commits (see [`Storage::listen_deploys`]).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::postgres::PgListener;
use sqlx::{AnyConnection, Row};

use crate::error::query;
use crate::sql::{flag, text_enum};
use crate::{Backend, Storage, StorageError, WriteTx, redact_url};

/// The PostgreSQL `LISTEN`/`NOTIFY` channel on which every committed deployment change is
/// announced; the payload is the plugin's name.
pub const DEPLOY_CHANNEL: &str = "agenthost_deploys";

/// PostgreSQL only: queues the change notification, sent when the transaction commits. The
/// `SELECT` wrapper keeps `pg_notify`'s `void` result out of the row decoder.
const NOTIFY_SQL: &str = "SELECT 1 FROM (SELECT pg_notify('agenthost_deploys', $1)) AS n";

const DEPLOYMENT_COLUMNS: &str = "plugin, active_version, previous_version, rollout_mode, \
     candidate_version, canary_percent, activated_at, updated_at, generation";

const VERSION_META_COLUMNS: &str = "plugin, version, size_bytes, wit_world, description, uploaded_by, uploaded_at, note, signed_by";

const SHADOW_RUN_COLUMNS: &str = "event_id, plugin, active_version, candidate_version, \
     active_outcome, candidate_outcome, active_effects, candidate_effects, differs, at_ms";

text_enum! {
    /// How a candidate version is being tried next to the active one.
    pub enum RolloutMode in "plugin_deployments.rollout_mode" {
        /// No rollout: the active version serves everything.
        None = "none",
        /// The candidate serves `canary_percent` percent of events.
        Canary = "canary",
        /// The active version serves every event; the candidate also runs on each, its
        /// effects discarded and compared (see [`ShadowRun`]).
        Shadow = "shadow",
    }
}

text_enum! {
    /// What a [`DeployHistoryEntry`] records.
    pub enum DeployAction in "plugin_history.action" {
        /// A new version was stored.
        Upload = "upload",
        /// A version was made active by an operator.
        Activate = "activate",
        /// The previous version was made active again by an operator.
        Rollback = "rollback",
        /// The previous version was made active again by the host (e.g. the candidate kept
        /// failing).
        AutoRollback = "auto_rollback",
        /// A canary or shadow rollout started or changed.
        Rollout = "rollout",
        /// The rollout's candidate became the active version.
        Promote = "promote",
        /// The rollout was stopped; the active version serves everything again.
        Abort = "abort",
        /// Dead letters were put back in the queue (details: the events and the version
        /// they run on).
        Requeue = "requeue",
        /// A dead letter was discarded by an operator, with a reason.
        Discard = "discard",
    }
}

impl RolloutMode {
    /// Every mode, in declaration order.
    pub const ALL: [RolloutMode; 3] = [RolloutMode::None, RolloutMode::Canary, RolloutMode::Shadow];
}

impl DeployAction {
    /// Every action, in declaration order.
    pub const ALL: [DeployAction; 9] = [
        DeployAction::Upload,
        DeployAction::Activate,
        DeployAction::Rollback,
        DeployAction::AutoRollback,
        DeployAction::Rollout,
        DeployAction::Promote,
        DeployAction::Abort,
        DeployAction::Requeue,
        DeployAction::Discard,
    ];
}

/// A string that names none of an enum's values (from `FromStr` on [`RolloutMode`] or
/// [`DeployAction`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}` (expected one of: {expected})")]
pub struct ParseNameError {
    /// What was being parsed, e.g. `rollout mode`.
    pub what: &'static str,
    /// The text as given.
    pub value: String,
    /// The accepted spellings, comma-separated.
    pub expected: &'static str,
}

impl FromStr for RolloutMode {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| ParseNameError {
                what: "rollout mode",
                value: s.to_owned(),
                expected: "none, canary, shadow",
            })
    }
}

impl FromStr for DeployAction {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| ParseNameError {
                what: "deploy action",
                value: s.to_owned(),
                expected: "upload, activate, rollback, auto_rollback, rollout, promote, abort",
            })
    }
}

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

/// A stored plugin version without its bytes (see [`Storage::plugin_component`]).
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

/// What a plugin runs. A plugin never activated has no row ([`Storage::deployment`] returns
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

/// A subscription to committed deployment changes on PostgreSQL (see
/// [`Storage::listen_deploys`]).
pub struct DeployListener {
    inner: PgListener,
}

impl fmt::Debug for DeployListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeployListener")
            .field("channel", &DEPLOY_CHANNEL)
            .finish_non_exhaustive()
    }
}

impl DeployListener {
    /// Waits for the next committed change and returns the changed plugin's name. If the
    /// connection drops, this reconnects and listens again by itself; notifications sent
    /// meanwhile are lost, so callers should also poll [`Storage::deploy_generation`] now
    /// and then.
    pub async fn recv(&mut self) -> Result<String, StorageError> {
        let notification = self
            .inner
            .recv()
            .await
            .map_err(query("deploy listener: receive"))?;
        Ok(notification.payload().to_owned())
    }
}

/// A history entry to write.
pub(crate) struct HistoryInput<'a> {
    pub(crate) plugin: &'a str,
    pub(crate) action: DeployAction,
    pub(crate) from_version: Option<&'a str>,
    pub(crate) to_version: Option<&'a str>,
    pub(crate) actor: &'a str,
    pub(crate) reason: Option<&'a str>,
    pub(crate) at_ms: i64,
    pub(crate) details_json: Option<String>,
}

/// A deployment change in progress: the write transaction, holding the clock's row lock,
/// the new clock value, and the plugin's deployment as it stands (empty when it has no row).
struct Change {
    tx: WriteTx,
    generation: i64,
    current: Deployment,
    /// Whether `current` was read from a row (rather than [`Deployment::empty`]).
    exists: bool,
}

impl Change {
    /// Abandons the change (the clock increment too) and returns `outcome`.
    async fn abandon<T>(self, outcome: Result<T, DeployError>) -> Result<T, DeployError> {
        self.tx.rollback("deploy: roll back").await?;
        outcome
    }
}

impl Storage {
    /// Stores a plugin version and records an `upload` history entry (actor `uploaded_by`,
    /// reason `note`). Idempotent: if `(plugin, version)` is already stored, nothing is
    /// written and the stored metadata (the first upload's) comes back with `false`.
    pub async fn put_plugin_version(
        &self,
        v: &NewPluginVersion,
        now_ms: i64,
    ) -> Result<(PluginVersionMeta, bool), StorageError> {
        let size_bytes = i64::try_from(v.component.len()).unwrap_or(i64::MAX);
        let mut tx = self.begin_write("put_plugin_version: begin").await?;
        let inserted = sqlx::query(
            "INSERT INTO plugin_versions (plugin, version, component, size_bytes, wit_world, \
             description, uploaded_by, uploaded_at, note, signed_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (plugin, version) DO NOTHING",
        )
        .bind(&v.plugin)
        .bind(&v.version)
        .bind(v.component.as_slice())
        .bind(size_bytes)
        .bind(&v.wit_world)
        .bind(&v.description_json)
        .bind(&v.uploaded_by)
        .bind(now_ms)
        .bind(v.note.as_deref())
        .bind(v.signed_by.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(query("put_plugin_version: insert"))?
        .rows_affected();
        if inserted == 0 {
            let stored = version_meta(&mut tx, &v.plugin, &v.version).await;
            tx.rollback("put_plugin_version: rollback").await?;
            return match stored? {
                Some(meta) => Ok((meta, false)),
                None => Err(StorageError::Corrupt {
                    column: "plugin_versions.version",
                    value: format!("{}@{} conflicts but cannot be read", v.plugin, v.version),
                }),
            };
        }
        let signer = v
            .signed_by
            .as_ref()
            .map(|k| serde_json::json!({ "signed_by": k }).to_string());
        let signer = signer.as_deref();
        insert_history(
            &mut tx,
            &HistoryInput {
                plugin: &v.plugin,
                action: DeployAction::Upload,
                from_version: None,
                to_version: Some(&v.version),
                actor: &v.uploaded_by,
                reason: v.note.as_deref(),
                at_ms: now_ms,
                details_json: signer.map(str::to_owned),
            },
        )
        .await?;
        tx.commit("put_plugin_version: commit").await?;
        let meta = PluginVersionMeta {
            plugin: v.plugin.clone(),
            version: v.version.clone(),
            size_bytes,
            wit_world: v.wit_world.clone(),
            description_json: v.description_json.clone(),
            uploaded_by: v.uploaded_by.clone(),
            uploaded_at: now_ms,
            note: v.note.clone(),
            signed_by: v.signed_by.clone(),
        };
        Ok((meta, true))
    }

    /// A stored version's metadata, if uploaded.
    pub async fn plugin_version_meta(
        &self,
        plugin: &str,
        version: &str,
    ) -> Result<Option<PluginVersionMeta>, StorageError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(query("plugin_version_meta: acquire"))?;
        version_meta(&mut conn, plugin, version).await
    }

    /// A stored version's component bytes, if uploaded.
    pub async fn plugin_component(
        &self,
        plugin: &str,
        version: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        sqlx::query("SELECT component FROM plugin_versions WHERE plugin = $1 AND version = $2")
            .bind(plugin)
            .bind(version)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("plugin_component"))?
            .map(|row| row.try_get("component"))
            .transpose()
            .map_err(query("plugin_component: decode"))
    }

    /// Every stored version of `plugin`, newest upload first (ties by version, descending).
    pub async fn plugin_versions(
        &self,
        plugin: &str,
    ) -> Result<Vec<PluginVersionMeta>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_META_COLUMNS} FROM plugin_versions WHERE plugin = $1 \
             ORDER BY uploaded_at DESC, version DESC"
        ))
        .bind(plugin)
        .fetch_all(&self.pool)
        .await
        .map_err(query("plugin_versions"))?;
        rows.iter().map(version_meta_row).collect()
    }

    /// Makes `version` the active version of `plugin`: the old active version becomes the
    /// previous one (when different), any rollout is cleared, and an `activate` entry is
    /// recorded. Activating the version already active with no rollout changes nothing and
    /// returns the current deployment. [`DeployError::UnknownVersion`] if never uploaded.
    pub async fn activate_version(
        &self,
        plugin: &str,
        version: &str,
        actor: &str,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<Deployment, DeployError> {
        let mut change = self.begin_change(plugin, "activate_version").await?;
        if !version_exists(&mut change.tx, plugin, version).await? {
            let unknown = unknown_version(plugin, version);
            return change.abandon(Err(unknown)).await;
        }
        let current = change.current.clone();
        if change.exists
            && current.active_version.as_deref() == Some(version)
            && current.rollout == RolloutMode::None
        {
            return change.abandon(Ok(current)).await;
        }
        let next = current.activated(version, now_ms, change.generation);
        let details = (current.rollout != RolloutMode::None)
            .then(|| serde_json::json!({ "cleared_rollout": current.rollout_details() }));
        let entry = HistoryInput {
            plugin,
            action: DeployAction::Activate,
            from_version: current.active_version.as_deref(),
            to_version: Some(version),
            actor,
            reason,
            at_ms: now_ms,
            details_json: details.map(|d| d.to_string()),
        };
        self.finish_change(change, &next, &entry).await?;
        Ok(next)
    }

    /// Makes the previous version active again; the version rolled back from becomes the
    /// previous one, any rollout is cleared, and a `rollback` entry (`auto_rollback` when
    /// `automatic`) is recorded with `details_json`.
    ///
    /// With `expect_active`, the rollback happens only if that version is still the active
    /// one ([`DeployError::NotActive`] otherwise), so when several replicas decide to roll
    /// back the same bad version, exactly one does. [`DeployError::NoPrevious`] if no
    /// version was active before the current one.
    #[allow(clippy::too_many_arguments)]
    pub async fn rollback_version(
        &self,
        plugin: &str,
        actor: &str,
        reason: Option<&str>,
        expect_active: Option<&str>,
        automatic: bool,
        details_json: Option<&str>,
        now_ms: i64,
    ) -> Result<Deployment, DeployError> {
        let change = self.begin_change(plugin, "rollback_version").await?;
        let current = change.current.clone();
        if let Some(expected) = expect_active
            && current.active_version.as_deref() != Some(expected)
        {
            let refused = DeployError::NotActive {
                plugin: plugin.to_owned(),
                expected: expected.to_owned(),
                actual: current.active_version,
            };
            return change.abandon(Err(refused)).await;
        }
        let Some(target) = current.previous_version.clone() else {
            let refused = DeployError::NoPrevious {
                plugin: plugin.to_owned(),
            };
            return change.abandon(Err(refused)).await;
        };
        let next = Deployment {
            active_version: Some(target.clone()),
            previous_version: current.active_version.clone(),
            rollout: RolloutMode::None,
            candidate_version: None,
            canary_percent: 0,
            activated_at: Some(now_ms),
            updated_at: now_ms,
            generation: change.generation,
            ..current.clone()
        };
        let entry = HistoryInput {
            plugin,
            action: if automatic {
                DeployAction::AutoRollback
            } else {
                DeployAction::Rollback
            },
            from_version: current.active_version.as_deref(),
            to_version: Some(&target),
            actor,
            reason,
            at_ms: now_ms,
            details_json: details_json.map(str::to_owned),
        };
        self.finish_change(change, &next, &entry).await?;
        Ok(next)
    }

    /// Starts, changes or stops a rollout of a candidate version next to the active one.
    ///
    /// - [`RolloutMode::Canary`]: `candidate` must be uploaded and differ from the active
    ///   version; it serves `percent` (1..=100) percent of events.
    /// - [`RolloutMode::Shadow`]: same candidate rules; `percent` is ignored (stored as 0).
    /// - [`RolloutMode::None`]: stops the rollout in progress ([`DeployError::NoCandidate`]
    ///   if there is none) and records `abort`.
    ///
    /// Canary and shadow need an active version ([`DeployError::InvalidRollout`] otherwise)
    /// and record `rollout` with details `{"mode","candidate","percent"}`. Asking for the
    /// rollout already in progress changes nothing and returns the current deployment.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_rollout(
        &self,
        plugin: &str,
        mode: RolloutMode,
        candidate: Option<&str>,
        percent: u8,
        actor: &str,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<Deployment, DeployError> {
        if mode == RolloutMode::None {
            return self.abort_rollout(plugin, actor, reason, now_ms).await;
        }
        let Some(candidate) = candidate else {
            return Err(DeployError::InvalidRollout(format!(
                "a {mode} rollout of plugin `{plugin}` needs a candidate version"
            )));
        };
        let percent = match mode {
            RolloutMode::Canary if !(1..=100).contains(&percent) => {
                return Err(DeployError::InvalidRollout(format!(
                    "canary percent must be between 1 and 100, got {percent}"
                )));
            }
            RolloutMode::Canary => percent,
            _ => 0,
        };

        let mut change = self.begin_change(plugin, "set_rollout").await?;
        if !version_exists(&mut change.tx, plugin, candidate).await? {
            let unknown = unknown_version(plugin, candidate);
            return change.abandon(Err(unknown)).await;
        }
        let current = change.current.clone();
        let Some(active) = current.active_version.clone() else {
            let refused = DeployError::InvalidRollout(format!(
                "plugin `{plugin}` has no active version; activate one before a {mode} rollout"
            ));
            return change.abandon(Err(refused)).await;
        };
        if active == candidate {
            let refused = DeployError::InvalidRollout(format!(
                "version `{candidate}` is already the active version of plugin `{plugin}`; \
                 a rollout needs a different candidate"
            ));
            return change.abandon(Err(refused)).await;
        }
        if current.rollout == mode
            && current.candidate_version.as_deref() == Some(candidate)
            && current.canary_percent == percent
        {
            return change.abandon(Ok(current)).await;
        }
        let next = Deployment {
            rollout: mode,
            candidate_version: Some(candidate.to_owned()),
            canary_percent: percent,
            updated_at: now_ms,
            generation: change.generation,
            ..current.clone()
        };
        let entry = HistoryInput {
            plugin,
            action: DeployAction::Rollout,
            from_version: Some(&active),
            to_version: Some(candidate),
            actor,
            reason,
            at_ms: now_ms,
            details_json: Some(next.rollout_details().to_string()),
        };
        self.finish_change(change, &next, &entry).await?;
        Ok(next)
    }

    /// Makes the rollout's candidate the active version (the old active one becomes the
    /// previous), clears the rollout and records `promote` with the rollout as details.
    /// [`DeployError::NoCandidate`] if no rollout is in progress.
    pub async fn promote_candidate(
        &self,
        plugin: &str,
        actor: &str,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<Deployment, DeployError> {
        let change = self.begin_change(plugin, "promote_candidate").await?;
        let current = change.current.clone();
        let candidate = match (&current.rollout, &current.candidate_version) {
            (RolloutMode::Canary | RolloutMode::Shadow, Some(candidate)) => candidate.clone(),
            _ => {
                let refused = DeployError::NoCandidate {
                    plugin: plugin.to_owned(),
                };
                return change.abandon(Err(refused)).await;
            }
        };
        let next = current.activated(&candidate, now_ms, change.generation);
        let entry = HistoryInput {
            plugin,
            action: DeployAction::Promote,
            from_version: current.active_version.as_deref(),
            to_version: Some(&candidate),
            actor,
            reason,
            at_ms: now_ms,
            details_json: Some(current.rollout_details().to_string()),
        };
        self.finish_change(change, &next, &entry).await?;
        Ok(next)
    }

    /// Every plugin's deployment, sorted by plugin.
    pub async fn deployments(&self) -> Result<Vec<Deployment>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {DEPLOYMENT_COLUMNS} FROM plugin_deployments ORDER BY plugin"
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(query("deployments"))?;
        rows.iter().map(deployment_row).collect()
    }

    /// `plugin`'s deployment; `None` before its first activation.
    pub async fn deployment(&self, plugin: &str) -> Result<Option<Deployment>, StorageError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(query("deployment: acquire"))?;
        read_deployment(&mut conn, plugin).await
    }

    /// The number of deployment changes ever committed: it increases with every change, so a
    /// replica that polls it (one primary-key read) knows when to reload deployments.
    pub async fn deploy_generation(&self) -> Result<i64, StorageError> {
        sqlx::query("SELECT generation FROM deploy_clock WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(query("deploy_generation"))?
            .try_get("generation")
            .map_err(query("deploy_generation: decode"))
    }

    /// Up to `limit` history entries, of `plugin` or of every plugin, newest first.
    pub async fn plugin_history(
        &self,
        plugin: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeployHistoryEntry>, StorageError> {
        const COLUMNS: &str =
            "id, plugin, action, from_version, to_version, actor, reason, at_ms, details";
        let limit = limit.max(0);
        let rows = match plugin {
            Some(plugin) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM plugin_history WHERE plugin = $1 \
                     ORDER BY id DESC LIMIT $2"
                ))
                .bind(plugin)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM plugin_history ORDER BY id DESC LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(query("plugin_history"))?;
        rows.iter().map(history_row).collect()
    }

    /// Stores a shadow comparison. Idempotent: a second run for the same
    /// `(event_id, candidate_version)` (e.g. a redelivered event) is ignored.
    pub async fn record_shadow_run(&self, run: &ShadowRun) -> Result<(), StorageError> {
        self.execute_write(
            "record_shadow_run",
            sqlx::query(
                "INSERT INTO shadow_runs (event_id, plugin, active_version, candidate_version, \
                 active_outcome, candidate_outcome, active_effects, candidate_effects, differs, \
                 at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (event_id, candidate_version) DO NOTHING",
            )
            .bind(&run.event_id)
            .bind(&run.plugin)
            .bind(&run.active_version)
            .bind(&run.candidate_version)
            .bind(&run.active_outcome)
            .bind(&run.candidate_outcome)
            .bind(&run.active_effects_json)
            .bind(&run.candidate_effects_json)
            .bind(run.differs)
            .bind(run.at_ms),
        )
        .await?;
        Ok(())
    }

    /// Up to `limit` of `plugin`'s shadow runs, newest first; only those whose results
    /// differ when `only_differences`.
    pub async fn shadow_runs(
        &self,
        plugin: &str,
        only_differences: bool,
        limit: i64,
    ) -> Result<Vec<ShadowRun>, StorageError> {
        // `differs = TRUE`, bound so that SQLite compares with its stored 1.
        let filter = if only_differences {
            "AND differs = $3"
        } else {
            ""
        };
        let statement = format!(
            "SELECT {SHADOW_RUN_COLUMNS} FROM shadow_runs WHERE plugin = $1 {filter} \
             ORDER BY at_ms DESC, event_id DESC LIMIT $2"
        );
        let mut select = sqlx::query(&statement).bind(plugin).bind(limit.max(0));
        if only_differences {
            select = select.bind(true);
        }
        let rows = select
            .fetch_all(&self.pool)
            .await
            .map_err(query("shadow_runs"))?;
        rows.iter().map(shadow_run_row).collect()
    }

    /// PostgreSQL: a listener on [`DEPLOY_CHANNEL`], on a connection of its own, that hears
    /// of every deployment change any replica commits from now on. SQLite: `None` (one
    /// process owns the file; poll [`Storage::deploy_generation`] instead).
    pub async fn listen_deploys(&self) -> Result<Option<DeployListener>, StorageError> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let url = self.pool.connect_options().database_url.clone();
        let mut inner =
            PgListener::connect(url.as_str())
                .await
                .map_err(|source| StorageError::Connect {
                    url: redact_url(url.as_str()),
                    source,
                })?;
        inner
            .listen(DEPLOY_CHANNEL)
            .await
            .map_err(query("listen_deploys: listen"))?;
        Ok(Some(DeployListener { inner }))
    }

    /// Opens a deployment change of `plugin`: a write transaction that increments the
    /// deploy clock first (taking its row lock, which queues concurrent changes on
    /// PostgreSQL) and then reads the plugin's row, so it sees every earlier change.
    async fn begin_change(&self, plugin: &str, op: &'static str) -> Result<Change, StorageError> {
        let mut tx = self.begin_write(op).await?;
        let generation: i64 = sqlx::query(
            "UPDATE deploy_clock SET generation = generation + 1 WHERE id = 1 \
             RETURNING generation",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(query("deploy: advance clock"))?
        .try_get("generation")
        .map_err(query("deploy: advance clock"))?;
        let found = read_deployment(&mut tx, plugin).await?;
        let exists = found.is_some();
        Ok(Change {
            tx,
            generation,
            current: found.unwrap_or_else(|| Deployment::empty(plugin)),
            exists,
        })
    }

    /// Writes the new deployment row and its history entry, queues the notification
    /// (PostgreSQL) and commits.
    async fn finish_change(
        &self,
        mut change: Change,
        next: &Deployment,
        entry: &HistoryInput<'_>,
    ) -> Result<(), StorageError> {
        sqlx::query(&format!(
            "INSERT INTO plugin_deployments ({DEPLOYMENT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (plugin) DO UPDATE SET active_version = excluded.active_version, \
             previous_version = excluded.previous_version, \
             rollout_mode = excluded.rollout_mode, \
             candidate_version = excluded.candidate_version, \
             canary_percent = excluded.canary_percent, activated_at = excluded.activated_at, \
             updated_at = excluded.updated_at, generation = excluded.generation"
        ))
        .bind(&next.plugin)
        .bind(next.active_version.as_deref())
        .bind(next.previous_version.as_deref())
        .bind(next.rollout.as_str())
        .bind(next.candidate_version.as_deref())
        .bind(i64::from(next.canary_percent))
        .bind(next.activated_at)
        .bind(next.updated_at)
        .bind(next.generation)
        .execute(&mut *change.tx)
        .await
        .map_err(query("deploy: write deployment"))?;
        insert_history(&mut change.tx, entry).await?;
        if self.backend == Backend::Postgres {
            sqlx::query(NOTIFY_SQL)
                .bind(&next.plugin)
                .execute(&mut *change.tx)
                .await
                .map_err(query("deploy: notify"))?;
        }
        change.tx.commit("deploy: commit").await
    }

    /// [`Storage::set_rollout`] with [`RolloutMode::None`].
    async fn abort_rollout(
        &self,
        plugin: &str,
        actor: &str,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<Deployment, DeployError> {
        let change = self.begin_change(plugin, "set_rollout").await?;
        let current = change.current.clone();
        if current.rollout == RolloutMode::None {
            let refused = DeployError::NoCandidate {
                plugin: plugin.to_owned(),
            };
            return change.abandon(Err(refused)).await;
        }
        let next = Deployment {
            rollout: RolloutMode::None,
            candidate_version: None,
            canary_percent: 0,
            updated_at: now_ms,
            generation: change.generation,
            ..current.clone()
        };
        let entry = HistoryInput {
            plugin,
            action: DeployAction::Abort,
            from_version: current.candidate_version.as_deref(),
            to_version: current.active_version.as_deref(),
            actor,
            reason,
            at_ms: now_ms,
            details_json: Some(current.rollout_details().to_string()),
        };
        self.finish_change(change, &next, &entry).await?;
        Ok(next)
    }
}

fn unknown_version(plugin: &str, version: &str) -> DeployError {
    DeployError::UnknownVersion {
        plugin: plugin.to_owned(),
        version: version.to_owned(),
    }
}

async fn version_exists(
    conn: &mut AnyConnection,
    plugin: &str,
    version: &str,
) -> Result<bool, StorageError> {
    let found =
        sqlx::query("SELECT 1 AS found FROM plugin_versions WHERE plugin = $1 AND version = $2")
            .bind(plugin)
            .bind(version)
            .fetch_optional(&mut *conn)
            .await
            .map_err(query("deploy: look up version"))?;
    Ok(found.is_some())
}

async fn version_meta(
    conn: &mut AnyConnection,
    plugin: &str,
    version: &str,
) -> Result<Option<PluginVersionMeta>, StorageError> {
    sqlx::query(&format!(
        "SELECT {VERSION_META_COLUMNS} FROM plugin_versions WHERE plugin = $1 AND version = $2"
    ))
    .bind(plugin)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await
    .map_err(query("plugin_version_meta"))?
    .as_ref()
    .map(version_meta_row)
    .transpose()
}

async fn read_deployment(
    conn: &mut AnyConnection,
    plugin: &str,
) -> Result<Option<Deployment>, StorageError> {
    sqlx::query(&format!(
        "SELECT {DEPLOYMENT_COLUMNS} FROM plugin_deployments WHERE plugin = $1"
    ))
    .bind(plugin)
    .fetch_optional(&mut *conn)
    .await
    .map_err(query("deployment"))?
    .as_ref()
    .map(deployment_row)
    .transpose()
}

pub(crate) async fn insert_history(
    conn: &mut AnyConnection,
    entry: &HistoryInput<'_>,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO plugin_history (plugin, action, from_version, to_version, actor, reason, \
         at_ms, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(entry.plugin)
    .bind(entry.action.as_str())
    .bind(entry.from_version)
    .bind(entry.to_version)
    .bind(entry.actor)
    .bind(entry.reason)
    .bind(entry.at_ms)
    .bind(entry.details_json.as_deref())
    .execute(&mut *conn)
    .await
    .map_err(query("deploy: record history"))?;
    Ok(())
}

fn version_meta_row(row: &AnyRow) -> Result<PluginVersionMeta, StorageError> {
    let decode = || query("decode plugin_versions row");
    Ok(PluginVersionMeta {
        plugin: row.try_get("plugin").map_err(decode())?,
        version: row.try_get("version").map_err(decode())?,
        size_bytes: row.try_get("size_bytes").map_err(decode())?,
        wit_world: row.try_get("wit_world").map_err(decode())?,
        description_json: row.try_get("description").map_err(decode())?,
        uploaded_by: row.try_get("uploaded_by").map_err(decode())?,
        uploaded_at: row.try_get("uploaded_at").map_err(decode())?,
        note: row.try_get("note").map_err(decode())?,
        signed_by: row.try_get("signed_by").map_err(decode())?,
    })
}

fn deployment_row(row: &AnyRow) -> Result<Deployment, StorageError> {
    let decode = || query("decode plugin_deployments row");
    let percent: i64 = row.try_get("canary_percent").map_err(decode())?;
    Ok(Deployment {
        plugin: row.try_get("plugin").map_err(decode())?,
        active_version: row.try_get("active_version").map_err(decode())?,
        previous_version: row.try_get("previous_version").map_err(decode())?,
        rollout: RolloutMode::from_db(row.try_get("rollout_mode").map_err(decode())?)?,
        candidate_version: row.try_get("candidate_version").map_err(decode())?,
        canary_percent: u8::try_from(percent).map_err(|_| StorageError::Corrupt {
            column: "plugin_deployments.canary_percent",
            value: percent.to_string(),
        })?,
        activated_at: row.try_get("activated_at").map_err(decode())?,
        updated_at: row.try_get("updated_at").map_err(decode())?,
        generation: row.try_get("generation").map_err(decode())?,
    })
}

fn history_row(row: &AnyRow) -> Result<DeployHistoryEntry, StorageError> {
    let decode = || query("decode plugin_history row");
    Ok(DeployHistoryEntry {
        id: row.try_get("id").map_err(decode())?,
        plugin: row.try_get("plugin").map_err(decode())?,
        action: DeployAction::from_db(row.try_get("action").map_err(decode())?)?,
        from_version: row.try_get("from_version").map_err(decode())?,
        to_version: row.try_get("to_version").map_err(decode())?,
        actor: row.try_get("actor").map_err(decode())?,
        reason: row.try_get("reason").map_err(decode())?,
        at_ms: row.try_get("at_ms").map_err(decode())?,
        details_json: row.try_get("details").map_err(decode())?,
    })
}

fn shadow_run_row(row: &AnyRow) -> Result<ShadowRun, StorageError> {
    let decode = || query("decode shadow_runs row");
    Ok(ShadowRun {
        event_id: row.try_get("event_id").map_err(decode())?,
        plugin: row.try_get("plugin").map_err(decode())?,
        active_version: row.try_get("active_version").map_err(decode())?,
        candidate_version: row.try_get("candidate_version").map_err(decode())?,
        active_outcome: row.try_get("active_outcome").map_err(decode())?,
        candidate_outcome: row.try_get("candidate_outcome").map_err(decode())?,
        active_effects_json: row.try_get("active_effects").map_err(decode())?,
        candidate_effects_json: row.try_get("candidate_effects").map_err(decode())?,
        differs: flag(row, "differs").map_err(decode())?,
        at_ms: row.try_get("at_ms").map_err(decode())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for mode in RolloutMode::ALL {
            assert_eq!(mode.as_str().parse::<RolloutMode>(), Ok(mode));
        }
        for action in DeployAction::ALL {
            assert_eq!(action.as_str().parse::<DeployAction>(), Ok(action));
        }
        let err = "blue-green".parse::<RolloutMode>().unwrap_err();
        assert!(err.to_string().contains("blue-green"), "{err}");
        assert_eq!(
            serde_json::to_string(&DeployAction::AutoRollback)
                .ok()
                .as_deref(),
            Some("\"auto_rollback\"")
        );
    }

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
