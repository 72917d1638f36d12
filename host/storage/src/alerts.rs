//! Stored alerts: raised by worker commits or by the host itself, read back by the alert
//! deliverer, which records how delivery went.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::query;
use crate::sql::{limit, text_enum};
use crate::{Storage, StorageError};

text_enum! {
    /// Delivery state of an alert.
    pub enum AlertStatus in "alerts.status" {
        Pending = "pending",
        Sent = "sent",
        /// Delivery gave up.
        Failed = "failed",
    }
}

pub use agenthost_core::HostAlert;

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub kind: String,
    pub severity: String,
    pub plugin: Option<String>,
    pub version: Option<String>,
    pub conversation_id: Option<String>,
    pub message: String,
    pub fields: Vec<(String, String)>,
    pub created_at_ms: i64,
    pub status: AlertStatus,
    /// Delivery attempts so far.
    pub attempts: i64,
}

/// `fields` as stored: a JSON array of `[name, value]` pairs (keeps order and repeats).
pub(crate) fn encode_fields(fields: &[(String, String)]) -> String {
    serde_json::to_string(fields).unwrap_or_else(|_| "[]".to_owned())
}

fn decode_fields(text: String) -> Result<Vec<(String, String)>, StorageError> {
    serde_json::from_str(&text).map_err(|_| StorageError::Corrupt {
        column: "alerts.fields",
        value: text,
    })
}

impl Storage {
    /// The alerts view: what the host raised outside a worker commit (a worker's commit
    /// writes its alerts itself) and the dispatcher's bookkeeping of their delivery.
    pub fn alerts(&self) -> Alerts {
        Alerts { db: self.clone() }
    }
}

/// The alerts view of [`Storage`] (see [`Storage::alerts`]): raising a host alert, the
/// pending ones and their delivery marks, the recent ones, and shedding a backlog — and
/// nothing else.
#[derive(Clone, Debug)]
pub struct Alerts {
    pub(crate) db: Storage,
}

impl Alerts {
    /// Stores a `pending` alert raised outside a worker commit; returns its id.
    pub async fn insert(&self, alert: &HostAlert, now_ms: i64) -> Result<i64, StorageError> {
        let mut tx = self.db.begin_write("insert_alert: begin").await?;
        let id = crate::commit::insert_alert(&mut tx, alert, now_ms).await?;
        tx.commit("insert_alert: commit").await?;
        Ok(id)
    }

    /// Up to `max_rows` alerts still `pending`, oldest first.
    pub async fn pending(&self, max_rows: u32) -> Result<Vec<AlertRow>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, kind, severity, plugin, version, conversation_id, message, fields, \
             created_at, status, attempts FROM alerts WHERE status = 'pending' \
             ORDER BY id LIMIT $1",
        )
        .bind(limit(max_rows))
        .fetch_all(&self.db.pool)
        .await
        .map_err(query("pending_alerts"))?;
        rows.iter().map(alert_row).collect()
    }

    /// The newest `max_rows` alerts whatever their delivery status, newest first: what
    /// an operator reviews.
    pub async fn recent(&self, max_rows: u32) -> Result<Vec<AlertRow>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, kind, severity, plugin, version, conversation_id, message, fields, \
             created_at, status, attempts FROM alerts ORDER BY id DESC LIMIT $1",
        )
        .bind(limit(max_rows))
        .fetch_all(&self.db.pool)
        .await
        .map_err(query("recent_alerts"))?;
        rows.iter().map(alert_row).collect()
    }

    /// Records a delivery result: the alert's new status and attempt count. Returns `false`
    /// if no such alert exists.
    pub async fn mark(
        &self,
        id: i64,
        status: AlertStatus,
        attempts: i64,
    ) -> Result<bool, StorageError> {
        let done = self
            .db
            .execute_write(
                "mark_alert",
                sqlx::query("UPDATE alerts SET status = $2, attempts = $3 WHERE id = $1")
                    .bind(id)
                    .bind(status.as_str())
                    .bind(attempts),
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn alert_row(row: &AnyRow) -> Result<AlertRow, StorageError> {
    let decode = || query("decode alerts row");
    Ok(AlertRow {
        id: row.try_get("id").map_err(decode())?,
        kind: row.try_get("kind").map_err(decode())?,
        severity: row.try_get("severity").map_err(decode())?,
        plugin: row.try_get("plugin").map_err(decode())?,
        version: row.try_get("version").map_err(decode())?,
        conversation_id: row.try_get("conversation_id").map_err(decode())?,
        message: row.try_get("message").map_err(decode())?,
        fields: decode_fields(row.try_get("fields").map_err(decode())?)?,
        created_at_ms: row.try_get("created_at").map_err(decode())?,
        status: AlertStatus::from_db(row.try_get("status").map_err(decode())?)?,
        attempts: row.try_get("attempts").map_err(decode())?,
    })
}
