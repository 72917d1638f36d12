//! The history of uploads and deployment changes (`plugin_history`), newest first; the
//! console's dead-letter requeues and discards are written here too.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{DeployAction, DeployHistoryEntry, Deploys};
use crate::StorageError;
use crate::error::query;
use crate::sql::parse_column;

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

impl Deploys {
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
                .fetch_all(&self.db.pool)
                .await
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM plugin_history ORDER BY id DESC LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(&self.db.pool)
                .await
            }
        }
        .map_err(query("plugin_history"))?;
        rows.iter().map(history_row).collect()
    }
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

fn history_row(row: &AnyRow) -> Result<DeployHistoryEntry, StorageError> {
    let decode = || query("decode plugin_history row");
    Ok(DeployHistoryEntry {
        id: row.try_get("id").map_err(decode())?,
        plugin: row.try_get("plugin").map_err(decode())?,
        action: parse_column(
            row.try_get("action").map_err(decode())?,
            "plugin_history.action",
        )?,
        from_version: row.try_get("from_version").map_err(decode())?,
        to_version: row.try_get("to_version").map_err(decode())?,
        actor: row.try_get("actor").map_err(decode())?,
        reason: row.try_get("reason").map_err(decode())?,
        at_ms: row.try_get("at_ms").map_err(decode())?,
        details_json: row.try_get("details").map_err(decode())?,
    })
}
