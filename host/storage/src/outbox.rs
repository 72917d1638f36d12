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
    /// Agent-initiated: quiet hours and the frequency cap apply.
    pub initiated: bool,
    pub segments: i64,
    /// Why it waits, while it does (`quiet_hours`, `frequency_cap`, `sender_rate`, ...).
    pub held: Option<String>,
    /// One of the host's own texts (`opt_out_confirmation`, `help`), sent whatever the
    /// recipient's consent says.
    pub host_message: Option<String>,
    /// What Twilio's status callbacks last said (`delivered`, `undelivered`, ...).
    pub delivery_status: Option<String>,
    pub delivery_error: Option<String>,
}

const OUTBOX_COLUMNS: &str = "id, event_id, plugin, conversation_id, to_number, from_number, \
     body, status, attempts, next_attempt_at, lease_until, provider_sid, error_code, \
     error_message, created_at, updated_at, sent_at, lease_token, ambiguous, initiated, \
     segments, held, host_message, delivery_status, delivery_error";

/// Statuses a dispatcher may still finish: a row already sent, failed or suppressed stays so.
const UNFINISHED: &str = "status IN ('pending', 'sending')";

/// What [`Outbox::admit_initiated`] decided for an agent-initiated text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Counted against the recipient's cap: it may go.
    Admitted,
    /// The recipient's cap is full; `oldest_ms` is when the oldest counted text went
    /// (or was admitted, if still in flight): a day after it, a slot frees.
    Full { oldest_ms: i64 },
}

/// Class key of the PostgreSQL advisory locks that serialise the frequency cap's gate per
/// recipient (the two-key form: its own key space, apart from the migration lock).
const FREQUENCY_CAP_LOCK_CLASS: i32 = 0x4341_5031; // "CAP1"

/// How early a text waiting for its booked send slot is claimed (see
/// [`Outbox::claim_due`]); longer than the dispatcher's poll.
pub const PACE_LOOKAHEAD_MS: i64 = 400;
impl Storage {
    /// The outbox view: what the worker's commit leaves to send, and what the dispatchers,
    /// the status callbacks, the console and the send policy read and change about it.
    pub fn outbox(&self) -> Outbox {
        Outbox { db: self.clone() }
    }
}

/// The outbox view of [`Storage`] (see [`Storage::outbox`]): claiming due texts under a
/// lease, finishing them (sent, failed, suppressed, rescheduled, held), the sender pace,
/// agent-initiated admission, plugin send pauses and delivery statuses — and nothing else.
#[derive(Clone, Debug)]
pub struct Outbox {
    db: Storage,
}

impl Outbox {
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
    /// A text waiting for its booked send slot (held `sender_rate`) is claimed up to
    /// [`PACE_LOOKAHEAD_MS`] before the slot, so the dispatcher can send it on the slot
    /// rather than at its next poll (which would bunch slots into bursts).
    ///
    /// A full commit, and the last one before the send: it makes every relaxed commit
    /// before it (the worker's that created the row) durable too (see [`Storage`]).
    pub async fn claim_due(
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
                 WHERE (status = 'pending' AND (next_attempt_at <= $1 \
                        OR (held = 'sender_rate' AND next_attempt_at <= $1 + {PACE_LOOKAHEAD_MS}))) \
                    OR (status = 'sending' AND lease_until <= $1) \
                 ORDER BY next_attempt_at, id LIMIT $3 {lock}) \
             RETURNING {OUTBOX_COLUMNS}",
            lock = self.db.backend.claim_lock_clause()
        );
        let _turn = self.db.writer_turn().await;
        let rows = sqlx::query(&sql)
            .bind(now_ms)
            .bind(now_ms.saturating_add(lease_ms))
            .bind(limit(max_rows))
            .bind(token)
            .fetch_all(&self.db.pool)
            .await
            .map_err(query("claim_due_outbox"))?;
        let mut claimed = rows.iter().map(outbox_row).collect::<Result<Vec<_>, _>>()?;
        // RETURNING order is unspecified.
        claimed.sort_by(|a, b| (a.next_attempt_at_ms, &a.id).cmp(&(b.next_attempt_at_ms, &b.id)));
        Ok(claimed)
    }

    /// Records that the provider accepted the message. Returns `false` if the row is not
    /// (any more) held by `token`.
    pub async fn mark_sent(
        &self,
        id: &str,
        token: &str,
        provider_sid: &str,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        self.finish_outbox(
            "mark_outbox_sent",
            "status = 'sent', provider_sid = $2, sent_at = $4, held = NULL",
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
    pub async fn mark_failed(
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
    pub async fn mark_suppressed(
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
    pub async fn reschedule(
        &self,
        id: &str,
        token: &str,
        next_attempt_at_ms: i64,
        error_message: &str,
        ambiguous: bool,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        // A retry is not a held text: `held` cleared, so a booked send slot is not reused.
        let sql = "UPDATE outbox SET status = 'pending', attempts = attempts + 1, held = NULL, \
             next_attempt_at = $2, error_message = $3, updated_at = $4, lease_until = NULL, \
             lease_token = NULL, ambiguous = (ambiguous OR $5) \
             WHERE id = $1 AND status = 'sending' AND lease_token = $6";
        let done = self
            .db
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

    /// Holds the row until `until_ms` for `reason` (quiet hours, the frequency cap, the
    /// sender's rate, ...): back to `pending`, NOT counted as an attempt. Returns `false`
    /// if the row is not (any more) held by `token`.
    pub async fn hold(
        &self,
        id: &str,
        token: &str,
        until_ms: i64,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let done = self
            .db
            .execute_write(
                "hold_outbox",
                sqlx::query(
                    "UPDATE outbox SET status = 'pending', next_attempt_at = $2, held = $3, \
                     updated_at = $4, lease_until = NULL, lease_token = NULL \
                     WHERE id = $1 AND status = 'sending' AND lease_token = $5",
                )
                .bind(id)
                .bind(until_ms)
                .bind(reason)
                .bind(now_ms)
                .bind(token),
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The rolling frequency cap's gate for the agent-initiated text `id` to `to`: counts
    /// the recipient's other initiated texts that count against the cap — sent since
    /// `since_ms`, or admitted and not yet finished (they go about now) — and, if fewer
    /// than `cap`, records this one as admitted at `now_ms` in the same transaction. The
    /// count and the admission are one step per recipient (SQLite's one writer; on
    /// PostgreSQL a transaction-scoped advisory lock on the recipient), so texts gated at
    /// once by several dispatchers or replicas cannot all pass: whatever the order they
    /// are claimed and sent in, at most `cap` are admitted. A text admitted earlier and
    /// gated again (held for the pace or the day's budget, or retried) is not counted
    /// against itself.
    pub async fn admit_initiated(
        &self,
        to: &str,
        id: &str,
        cap: u32,
        since_ms: i64,
        now_ms: i64,
    ) -> Result<Admission, StorageError> {
        let mut tx = self.db.begin_write("admit_initiated: begin").await?;
        if self.db.backend == crate::Backend::Postgres {
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1, hashtext($2))) AS l")
                .bind(FREQUENCY_CAP_LOCK_CLASS)
                .bind(to)
                .execute(&mut *tx)
                .await
                .map_err(query("admit_initiated: lock"))?;
        }
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS n, MIN(COALESCE(sent_at, admitted_at)) AS oldest FROM outbox \
             WHERE to_number = $1 AND initiated = TRUE AND id <> $2 \
             AND ((status = 'sent' AND sent_at >= $3) OR ({UNFINISHED} AND admitted_at IS NOT NULL))"
        ))
        .bind(to)
        .bind(id)
        .bind(since_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(query("admit_initiated: count"))?;
        let counted: i64 = row.try_get("n").map_err(query("admit_initiated: decode"))?;
        let oldest: Option<i64> = row
            .try_get("oldest")
            .map_err(query("admit_initiated: decode"))?;
        if counted >= i64::from(cap) {
            tx.commit("admit_initiated: commit").await?;
            return Ok(Admission::Full {
                oldest_ms: oldest.unwrap_or(now_ms).min(now_ms),
            });
        }
        sqlx::query("UPDATE outbox SET admitted_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(query("admit_initiated: admit"))?;
        tx.commit("admit_initiated: commit").await?;
        Ok(Admission::Admitted)
    }

    /// Books `cost_ms` of `sender`'s pace (a leaky bucket used as a queue, GCRA's
    /// theoretical arrival time): the send's slot is the sender's next free instant, and
    /// the sender's next free instant moves on by `cost_ms`. `None` when the slot is at
    /// most `tolerance_ms` away (send now), else the booked slot: the caller holds the
    /// text until then and sends it without booking again. Every waiting text so gets its
    /// own slot — a backlog leaves evenly at the sender's rate instead of every held text
    /// waking for the one slot that opened. Shared by every replica through the database.
    pub async fn reserve_sender_pace(
        &self,
        sender: &str,
        cost_ms: i64,
        tolerance_ms: i64,
        now_ms: i64,
    ) -> Result<Option<i64>, StorageError> {
        let greatest = match self.db.backend {
            crate::Backend::Sqlite => "MAX",
            crate::Backend::Postgres => "GREATEST",
        };
        let sender = sender.to_owned();
        let tat = self
            .db
            .relaxed_statement("reserve_sender_pace", move |conn| {
                Box::pin(async move {
                    // One statement: concurrent bookings (other replicas) serialise on the
                    // row; a sender's first booking starts its bucket at now.
                    sqlx::query(&format!(
                        "INSERT INTO sender_pace (sender, tat_ms) VALUES ($1, $2 + $3) \
                         ON CONFLICT (sender) DO UPDATE \
                         SET tat_ms = {greatest}(sender_pace.tat_ms, $2) + $3 \
                         RETURNING tat_ms"
                    ))
                    .bind(sender.as_str())
                    .bind(now_ms)
                    .bind(cost_ms)
                    .fetch_one(&mut *conn)
                    .await
                    .and_then(|r| r.try_get::<i64, _>("tat_ms"))
                    .map_err(query("reserve_sender_pace"))
                })
            })
            .await?;
        let slot = tat - cost_ms;
        Ok((slot > now_ms + tolerance_ms).then_some(slot))
    }

    /// Until when `plugin`'s agent-initiated sends are paused, if they are at `now_ms`.
    pub async fn plugin_paused_until(
        &self,
        plugin: &str,
        now_ms: i64,
    ) -> Result<Option<i64>, StorageError> {
        sqlx::query("SELECT until_ms FROM plugin_pauses WHERE plugin = $1 AND until_ms > $2")
            .bind(plugin)
            .bind(now_ms)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(query("plugin_paused_until"))?
            .map(|r| r.try_get("until_ms"))
            .transpose()
            .map_err(query("plugin_paused_until: decode"))
    }

    /// Pauses `plugin`'s agent-initiated sends until `until_ms`; `true` if it was not
    /// paused already (so the pause is alerted once).
    pub async fn pause_plugin(
        &self,
        plugin: &str,
        until_ms: i64,
        reason: &str,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let done = self.db
            .execute_write(
                "pause_plugin",
                sqlx::query(
                    "INSERT INTO plugin_pauses (plugin, until_ms, reason, at_ms) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (plugin) DO UPDATE SET until_ms = excluded.until_ms, \
                     reason = excluded.reason, at_ms = excluded.at_ms \
                     WHERE plugin_pauses.until_ms <= excluded.at_ms",
                )
                .bind(plugin)
                .bind(until_ms)
                .bind(reason)
                .bind(now_ms),
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a delivery status from Twilio's status callback for message `sid`, only if
    /// `rank` is past what is known (callbacks arrive out of order and more than once).
    /// Returns the row's id and plugin when it changed.
    pub async fn record_delivery_status(
        &self,
        sid: &str,
        status: &str,
        rank: i64,
        error_code: Option<&str>,
        now_ms: i64,
    ) -> Result<Option<(String, String)>, StorageError> {
        let mut tx = self.db.begin_write("record_delivery_status: begin").await?;
        let row = sqlx::query(
            "UPDATE outbox SET delivery_status = $2, delivery_rank = $3, delivery_error = $4, \
             delivery_at = $5 WHERE provider_sid = $1 AND delivery_rank < $3 \
             RETURNING id, plugin",
        )
        .bind(sid)
        .bind(status)
        .bind(rank)
        .bind(error_code)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await
        .map_err(query("record_delivery_status: update outbox"))?;
        let Some(row) = row else {
            tx.rollback("record_delivery_status: rollback").await?;
            return Ok(None);
        };
        let decode = || query("record_delivery_status: decode");
        let id: String = row.try_get("id").map_err(decode())?;
        let plugin: String = row.try_get("plugin").map_err(decode())?;
        sqlx::query("UPDATE messages SET delivery_status = $2 WHERE outbox_id = $1")
            .bind(&id)
            .bind(status)
            .execute(&mut *tx)
            .await
            .map_err(query("record_delivery_status: update history"))?;
        tx.commit("record_delivery_status: commit").await?;
        Ok(Some((id, plugin)))
    }

    /// Of `plugin`'s messages whose delivery ended since `since_ms`: how many, and how many
    /// carriers filtered (Twilio error 30007).
    pub async fn filtered_since(
        &self,
        plugin: &str,
        since_ms: i64,
    ) -> Result<(i64, i64), StorageError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, \
             COALESCE(SUM(CASE WHEN delivery_error = '30007' THEN 1 ELSE 0 END), 0) AS filtered \
             FROM outbox WHERE plugin = $1 AND delivery_at >= $2 AND delivery_rank >= 5",
        )
        .bind(plugin)
        .bind(since_ms)
        .fetch_one(&self.db.pool)
        .await
        .map_err(query("filtered_since"))?;
        let decode = || query("filtered_since: decode");
        Ok((
            row.try_get("n").map_err(decode())?,
            row.try_get("filtered").map_err(decode())?,
        ))
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
        // Relaxed: a result lost in a power failure leaves the row `sending`, which is
        // looked up at Twilio before any resend (see `Storage`).
        let (id, token) = (id.to_owned(), token.to_owned());
        let (provider_sid, error_code, error_message) = (
            provider_sid.map(str::to_owned),
            error_code.map(str::to_owned),
            error_message.map(str::to_owned),
        );
        self.db
            .relaxed_statement(op, move |conn| {
                Box::pin(async move {
                    let done = sqlx::query(&sql)
                        .bind(id.as_str())
                        .bind(provider_sid.as_deref())
                        .bind(token.as_str())
                        .bind(now_ms)
                        .bind(error_code.as_deref())
                        .bind(error_message.as_deref())
                        .execute(&mut *conn)
                        .await
                        .map_err(query(op))?;
                    Ok(done.rows_affected() > 0)
                })
            })
            .await
    }

    /// Rows not yet finished (`pending` or `sending`): the dispatcher's backlog.
    pub async fn pending_count(&self) -> Result<i64, StorageError> {
        let sql = format!("SELECT COUNT(*) AS n FROM outbox WHERE {UNFINISHED}");
        let row = sqlx::query(&sql)
            .fetch_one(&self.db.pool)
            .await
            .map_err(query("outbox_pending_count"))?;
        row.try_get("n")
            .map_err(query("outbox_pending_count: decode"))
    }

    /// One outbox row by id (its idempotency key).
    pub async fn row(&self, id: &str) -> Result<Option<OutboxRow>, StorageError> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(query("outbox_row"))?
            .as_ref()
            .map(outbox_row)
            .transpose()
    }

    /// The outbound messages an event's commit created, in the order the plugin sent them.
    pub async fn for_event(&self, event_id: &str) -> Result<Vec<OutboxRow>, StorageError> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE event_id = $1 ORDER BY created_at, id"
        );
        sqlx::query(&sql)
            .bind(event_id)
            .fetch_all(&self.db.pool)
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
        initiated: crate::sql::flag(row, "initiated").map_err(decode())?,
        segments: row.try_get("segments").map_err(decode())?,
        held: row.try_get("held").map_err(decode())?,
        host_message: row.try_get("host_message").map_err(decode())?,
        delivery_status: row.try_get("delivery_status").map_err(decode())?,
        delivery_error: row.try_get("delivery_error").map_err(decode())?,
    })
}
