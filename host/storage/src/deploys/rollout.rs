//! The deployment state machine. Every change (activate, rollback, rollout, promote,
//! abort) is one write transaction that first increments `deploy_clock` (its row lock
//! queues concurrent changes from any replica on PostgreSQL), then reads the plugin's row,
//! checks the request against it, and writes the row, a history entry and (PostgreSQL) the
//! change notification. A refused change or a no-op rolls back, clock included.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::history::{HistoryInput, insert_history};
use super::listen::NOTIFY_SQL;
use super::versions::version_exists;
use super::{DeployAction, DeployError, Deployment, Deploys, RolloutMode};
use crate::error::query;
use crate::sql::parse_column;
use crate::{Backend, StorageError, WriteTx};

const DEPLOYMENT_COLUMNS: &str = "plugin, active_version, previous_version, rollout_mode, \
     candidate_version, canary_percent, activated_at, updated_at, generation";

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

impl Deploys {
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
        .fetch_all(&self.db.pool)
        .await
        .map_err(query("deployments"))?;
        rows.iter().map(deployment_row).collect()
    }

    /// `plugin`'s deployment; `None` before its first activation.
    pub async fn deployment(&self, plugin: &str) -> Result<Option<Deployment>, StorageError> {
        let mut conn = self
            .db
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
            .fetch_one(&self.db.pool)
            .await
            .map_err(query("deploy_generation"))?
            .try_get("generation")
            .map_err(query("deploy_generation: decode"))
    }

    /// Opens a deployment change of `plugin`: a write transaction that increments the
    /// deploy clock first (taking its row lock, which queues concurrent changes on
    /// PostgreSQL) and then reads the plugin's row, so it sees every earlier change.
    async fn begin_change(&self, plugin: &str, op: &'static str) -> Result<Change, StorageError> {
        let mut tx = self.db.begin_write(op).await?;
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
        if self.db.backend == Backend::Postgres {
            sqlx::query(NOTIFY_SQL)
                .bind(&next.plugin)
                .execute(&mut *change.tx)
                .await
                .map_err(query("deploy: notify"))?;
        }
        change.tx.commit("deploy: commit").await
    }

    /// [`Deploys::set_rollout`] with [`RolloutMode::None`].
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

fn deployment_row(row: &AnyRow) -> Result<Deployment, StorageError> {
    let decode = || query("decode plugin_deployments row");
    let percent: i64 = row.try_get("canary_percent").map_err(decode())?;
    Ok(Deployment {
        plugin: row.try_get("plugin").map_err(decode())?,
        active_version: row.try_get("active_version").map_err(decode())?,
        previous_version: row.try_get("previous_version").map_err(decode())?,
        rollout: parse_column(
            row.try_get("rollout_mode").map_err(decode())?,
            "plugin_deployments.rollout_mode",
        )?,
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
