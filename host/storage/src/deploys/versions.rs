//! Plugin versions: immutable and content-addressed; an upload is recorded in the history.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::history::{HistoryInput, insert_history};
use super::{DeployAction, Deploys, NewPluginVersion, PluginVersionMeta};
use crate::StorageError;
use crate::error::query;

const VERSION_META_COLUMNS: &str = "plugin, version, size_bytes, wit_world, description, uploaded_by, uploaded_at, note, signed_by";

impl Deploys {
    /// Stores a plugin version and records an `upload` history entry (actor `uploaded_by`,
    /// reason `note`). Idempotent: if `(plugin, version)` is already stored, nothing is
    /// written and the stored metadata (the first upload's) comes back with `false`.
    pub async fn put_plugin_version(
        &self,
        v: &NewPluginVersion,
        now_ms: i64,
    ) -> Result<(PluginVersionMeta, bool), StorageError> {
        let size_bytes = i64::try_from(v.component.len()).unwrap_or(i64::MAX);
        let mut tx = self.db.begin_write("put_plugin_version: begin").await?;
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
            .db
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
            .fetch_optional(&self.db.pool)
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
        .fetch_all(&self.db.pool)
        .await
        .map_err(query("plugin_versions"))?;
        rows.iter().map(version_meta_row).collect()
    }
}

pub(super) async fn version_exists(
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
