//! Shadow comparisons: the active and candidate versions' results for one event.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{Deploys, ShadowRun};
use crate::StorageError;
use crate::error::query;
use crate::sql::flag;

const SHADOW_RUN_COLUMNS: &str = "event_id, plugin, active_version, candidate_version, \
     active_outcome, candidate_outcome, active_effects, candidate_effects, differs, at_ms";

impl Deploys {
    /// Stores a shadow comparison. Idempotent: a second run for the same
    /// `(event_id, candidate_version)` (e.g. a redelivered event) is ignored.
    pub async fn record_shadow_run(&self, run: &ShadowRun) -> Result<(), StorageError> {
        self.db
            .execute_write(
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
            .fetch_all(&self.db.pool)
            .await
            .map_err(query("shadow_runs"))?;
        rows.iter().map(shadow_run_row).collect()
    }
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
