//! Queue housekeeping for the alert deliverer: how many alerts wait, and shedding the
//! least important of them when the backlog passes its bound.

use sqlx::Row;

use crate::error::query;
use crate::{Alerts, StorageError};

impl Alerts {
    /// How many alerts are still `pending`.
    pub async fn count_pending(&self) -> Result<u64, StorageError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM alerts WHERE status = 'pending'")
            .fetch_one(&self.db.pool)
            .await
            .map_err(query("count_pending_alerts"))?;
        let n: i64 = row
            .try_get("n")
            .map_err(query("decode count_pending_alerts"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Marks up to `max_rows` of the oldest `pending` alerts of `severity` as `failed`
    /// (shed, never delivered); returns how many were shed.
    pub async fn shed_pending(&self, severity: &str, max_rows: u32) -> Result<u64, StorageError> {
        if max_rows == 0 {
            return Ok(0);
        }
        let done = self
            .db
            .execute_write(
                "shed_pending_alerts",
                sqlx::query(
                    "UPDATE alerts SET status = 'failed' WHERE id IN (SELECT id FROM alerts \
                     WHERE status = 'pending' AND severity = $1 ORDER BY id LIMIT $2)",
                )
                .bind(severity.to_owned())
                .bind(i64::from(max_rows)),
            )
            .await?;
        Ok(done.rows_affected())
    }
}
