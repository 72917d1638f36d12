//! Which plugin answers which agent number, and which numbers opted out of messages.

use sqlx::Row;

use crate::error::query;
use crate::sql::flag;
use crate::{Storage, StorageError};

impl Storage {
    /// The routes view: which plugin answers which agent number, and which leads opted out.
    pub fn routes(&self) -> Routes {
        Routes { db: self.clone() }
    }
}

/// The routes view of [`Storage`] (see [`Storage::routes`]): number → plugin routes and
/// the opt-out list — and nothing else.
#[derive(Clone, Debug)]
pub struct Routes {
    db: Storage,
}

impl Routes {
    /// Routes messages to `number` to `plugin`, replacing any previous route.
    pub async fn upsert(
        &self,
        number: &str,
        plugin: &str,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.db
            .execute_write(
                "upsert_route",
                sqlx::query(
                    "INSERT INTO routes (number, plugin, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (number) DO UPDATE SET plugin = excluded.plugin, \
             updated_at = excluded.updated_at",
                )
                .bind(number)
                .bind(plugin)
                .bind(now_ms),
            )
            .await?;
        Ok(())
    }

    /// Removes the route for `number`; `false` if there was none.
    pub async fn delete(&self, number: &str) -> Result<bool, StorageError> {
        let done = self
            .db
            .execute_write(
                "delete_route",
                sqlx::query("DELETE FROM routes WHERE number = $1").bind(number),
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every route as `(number, plugin)`, sorted by number.
    pub async fn list(&self) -> Result<Vec<(String, String)>, StorageError> {
        let rows = sqlx::query("SELECT number, plugin FROM routes ORDER BY number")
            .fetch_all(&self.db.pool)
            .await
            .map_err(query("routes"))?;
        rows.iter()
            .map(|row| Ok((row.try_get("number")?, row.try_get("plugin")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(query("routes: decode"))
    }

    /// The plugin that serves `number`, if routed.
    pub async fn route_for(&self, number: &str) -> Result<Option<String>, StorageError> {
        sqlx::query("SELECT plugin FROM routes WHERE number = $1")
            .bind(number)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(query("route_for"))?
            .map(|row| row.try_get("plugin"))
            .transpose()
            .map_err(query("route_for: decode"))
    }

    /// Records that `number` opted out (`true`, e.g. STOP) or back in (`false`, START).
    pub async fn set_opt_out(
        &self,
        number: &str,
        opted_out: bool,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        self.db
            .execute_write(
                "set_opt_out",
                sqlx::query(
                    "INSERT INTO opt_outs (number, opted_out, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (number) DO UPDATE SET opted_out = excluded.opted_out, \
             updated_at = excluded.updated_at",
                )
                .bind(number)
                .bind(opted_out)
                .bind(now_ms),
            )
            .await?;
        Ok(())
    }

    /// Whether `number` is currently opted out; never-seen numbers are not.
    pub async fn is_opted_out(&self, number: &str) -> Result<bool, StorageError> {
        sqlx::query("SELECT opted_out FROM opt_outs WHERE number = $1")
            .bind(number)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(query("is_opted_out"))?
            .map_or(Ok(false), |row| flag(&row, "opted_out"))
            .map_err(query("is_opted_out: decode"))
    }
}
