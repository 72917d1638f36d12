//! The SMS outbox: rows created by worker commits, claimed by dispatchers under a lease,
//! and finished as sent, failed or rescheduled.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::query;
use crate::sql::{limit, text_enum};
use crate::{Storage, StorageError};

text_enum! {
    /// Where an outbound SMS is in its delivery.
    pub enum OutboxStatus in "outbox.status" {
        /// Waiting for `next_attempt_at`.
        Pending = "pending",
        /// Claimed by a dispatcher until `lease_until`.
        Sending = "sending",
        /// Accepted by the provider (`provider_sid`).
        Sent = "sent",
        /// Permanently failed; will not be retried.
        Failed = "failed",
        /// Recorded but deliberately not sent (recipient opted out).
        Suppressed = "suppressed",
    }
}

/// One outbound SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    /// Idempotency key.
    pub id: String,
    /// The event whose commit created it.
    pub event_id: String,
    pub plugin: String,
    pub conversation_id: Option<String>,
    pub to_number: String,
    pub from_number: String,
    pub body: String,
    pub status: OutboxStatus,
    /// Failed delivery attempts so far.
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    /// While `sending`: when the claim expires and another dispatcher may take it.
    pub lease_until_ms: Option<i64>,
    pub provider_sid: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub sent_at_ms: Option<i64>,
    /// The current lease holder's token while `sending`: results are recorded only with it.
    pub lease_token: Option<String>,
    /// An earlier attempt may have reached the provider (its sender died mid-send, or the
    /// answer never came): look the message up before sending it again.
    pub ambiguous: bool,
}

const OUTBOX_COLUMNS: &str = "id, event_id, plugin, conversation_id, to_number, from_number, \
     body, status, attempts, next_attempt_at, lease_until, provider_sid, error_code, \
     error_message, created_at, updated_at, sent_at, lease_token, ambiguous";

/// Statuses a dispatcher may still finish: a row already sent, failed or suppressed stays so.
const UNFINISHED: &str = "status IN ('pending', 'sending')";

impl Storage {
    /// Atomically claims up to `max_rows` rows that are due (`pending` with
    /// `next_attempt_at <= now_ms`, or `sending` whose lease expired), sets them `sending`
    /// with a lease until `now_ms + lease_ms` held by `token`, and returns them, oldest due
    /// first.
    ///
    /// Concurrent claimers never receive the same row: on PostgreSQL rows locked by another
    /// claimer are skipped (`FOR UPDATE SKIP LOCKED`); on SQLite the claim is one
    /// `UPDATE … RETURNING` under the single writer lock. A row taken over from an expired
    /// lease is marked `ambiguous`: its sender died (or stalled) mid-send, and Twilio may
    /// have accepted it, so the dispatcher looks it up before sending again. (Twilio's
    /// Messages API has no idempotency key.)
    pub async fn claim_due_outbox(
        &self,
        now_ms: i64,
        lease_ms: i64,
        max_rows: u32,
        token: &str,
    ) -> Result<Vec<OutboxRow>, StorageError> {
        let sql = format!(
            "UPDATE outbox SET ambiguous = (ambiguous OR status = 'sending'), \
             status = 'sending', lease_until = $2, lease_token = $4, updated_at = $1 \
             WHERE id IN (SELECT id FROM outbox \
                 WHERE (status = 'pending' AND next_attempt_at <= $1) \
                    OR (status = 'sending' AND lease_until <= $1) \
                 ORDER BY next_attempt_at, id LIMIT $3 {lock}) \
             RETURNING {OUTBOX_COLUMNS}",
            lock = self.backend.claim_lock_clause()
        );
        let _turn = self.writer_turn().await;
        let rows = sqlx::query(&sql)
            .bind(now_ms)
            .bind(now_ms.saturating_add(lease_ms))
            .bind(limit(max_rows))
            .bind(token)
            .fetch_all(&self.pool)
            .await
            .map_err(query("claim_due_outbox"))?;
        let mut claimed = rows.iter().map(outbox_row).collect::<Result<Vec<_>, _>>()?;
        // RETURNING order is unspecified.
        claimed.sort_by(|a, b| (a.next_attempt_at_ms, &a.id).cmp(&(b.next_attempt_at_ms, &b.id)));
        Ok(claimed)
    }

    /// Records that the provider accepted the message. Returns `false` if the row is not
    /// (any more) held by `token`.
    pub async fn mark_outbox_sent(
        &self,
        id: &str,
        token: &str,
        provider_sid: &str,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        self.finish_outbox(
            "mark_outbox_sent",
            "status = 'sent', provider_sid = $2, sent_at = $4",
            id,
            token,
            Some(provider_sid),
            None,
            None,
            now_ms,
        )
        .await
    }

    /// Records a permanent failure (e.g. an invalid number); the row is never retried.
    /// Returns `false` if the row is not (any more) held by `token`.
    pub async fn mark_outbox_failed(
        &self,
        id: &str,
        token: &str,
        error_code: Option<&str>,
        error_message: &str,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        self.finish_outbox(
            "mark_outbox_failed",
            "status = 'failed', attempts = attempts + 1, error_code = $5, error_message = $6",
            id,
            token,
            None,
            error_code,
            Some(error_message),
            now_ms,
        )
        .await
    }

    /// Records that the row was deliberately not sent (the recipient opted out after the
    /// commit). Returns `false` if the row is not (any more) held by `token`.
    pub async fn mark_outbox_suppressed(
        &self,
        id: &str,
        token: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        self.finish_outbox(
            "mark_outbox_suppressed",
            "status = 'suppressed', error_message = $6",
            id,
            token,
            None,
            None,
            Some(reason),
            now_ms,
        )
        .await
    }

    /// Records a transient failure: counts the attempt and returns the row to `pending`
    /// until `next_attempt_at_ms`; `ambiguous` says whether the attempt may have reached
    /// the provider. Returns `false` if the row is not (any more) held by `token`.
    pub async fn reschedule_outbox(
        &self,
        id: &str,
        token: &str,
        next_attempt_at_ms: i64,
        error_message: &str,
        ambiguous: bool,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let sql = "UPDATE outbox SET status = 'pending', attempts = attempts + 1, \
             next_attempt_at = $2, error_message = $3, updated_at = $4, lease_until = NULL, \
             lease_token = NULL, ambiguous = (ambiguous OR $5) \
             WHERE id = $1 AND status = 'sending' AND lease_token = $6";
        let done = self
            .execute_write(
                "reschedule_outbox",
                sqlx::query(sql)
                    .bind(id)
                    .bind(next_attempt_at_ms)
                    .bind(error_message)
                    .bind(now_ms)
                    .bind(ambiguous)
                    .bind(token),
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// One lease-checked final update: `set` may use `$2` (sid), `$4` (now), `$5` (error
    /// code) and `$6` (error message).
    #[allow(clippy::too_many_arguments)]
    async fn finish_outbox(
        &self,
        op: &'static str,
        set: &str,
        id: &str,
        token: &str,
        provider_sid: Option<&str>,
        error_code: Option<&str>,
        error_message: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let sql = format!(
            "UPDATE outbox SET {set}, updated_at = $4, lease_until = NULL, lease_token = NULL \
             WHERE id = $1 AND status = 'sending' AND lease_token = $3"
        );
        let done = self
            .execute_write(
                op,
                sqlx::query(&sql)
                    .bind(id)
                    .bind(provider_sid)
                    .bind(token)
                    .bind(now_ms)
                    .bind(error_code)
                    .bind(error_message),
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Rows not yet finished (`pending` or `sending`): the dispatcher's backlog.
    pub async fn outbox_pending_count(&self) -> Result<i64, StorageError> {
        let sql = format!("SELECT COUNT(*) AS n FROM outbox WHERE {UNFINISHED}");
        let row = sqlx::query(&sql)
            .fetch_one(&self.pool)
            .await
            .map_err(query("outbox_pending_count"))?;
        row.try_get("n")
            .map_err(query("outbox_pending_count: decode"))
    }

    /// One outbox row by id (its idempotency key).
    pub async fn outbox_row(&self, id: &str) -> Result<Option<OutboxRow>, StorageError> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(query("outbox_row"))?
            .as_ref()
            .map(outbox_row)
            .transpose()
    }

    /// The outbound messages an event's commit created, in the order the plugin sent them.
    pub async fn outbox_for_event(&self, event_id: &str) -> Result<Vec<OutboxRow>, StorageError> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE event_id = $1 ORDER BY created_at, id"
        );
        sqlx::query(&sql)
            .bind(event_id)
            .fetch_all(&self.pool)
            .await
            .map_err(query("outbox_for_event"))?
            .iter()
            .map(outbox_row)
            .collect()
    }
}

fn outbox_row(row: &AnyRow) -> Result<OutboxRow, StorageError> {
    let decode = || query("decode outbox row");
    Ok(OutboxRow {
        id: row.try_get("id").map_err(decode())?,
        event_id: row.try_get("event_id").map_err(decode())?,
        plugin: row.try_get("plugin").map_err(decode())?,
        conversation_id: row.try_get("conversation_id").map_err(decode())?,
        to_number: row.try_get("to_number").map_err(decode())?,
        from_number: row.try_get("from_number").map_err(decode())?,
        body: row.try_get("body").map_err(decode())?,
        status: OutboxStatus::from_db(row.try_get("status").map_err(decode())?)?,
        attempts: row.try_get("attempts").map_err(decode())?,
        next_attempt_at_ms: row.try_get("next_attempt_at").map_err(decode())?,
        lease_until_ms: row.try_get("lease_until").map_err(decode())?,
        provider_sid: row.try_get("provider_sid").map_err(decode())?,
        error_code: row.try_get("error_code").map_err(decode())?,
        error_message: row.try_get("error_message").map_err(decode())?,
        created_at_ms: row.try_get("created_at").map_err(decode())?,
        updated_at_ms: row.try_get("updated_at").map_err(decode())?,
        sent_at_ms: row.try_get("sent_at").map_err(decode())?,
        lease_token: row.try_get("lease_token").map_err(decode())?,
        ambiguous: crate::sql::flag(row, "ambiguous").map_err(decode())?,
    })
}
