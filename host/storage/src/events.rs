//! Inbound events: durable, deduplicated ingress in group-committed batches, the queue
//! bookkeeping around them (enqueued flag, republish sweep), attempt failures and dead
//! letters.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use agenthost_core::{ConversationId, EventId};

use crate::error::query;
use crate::history::Direction;
use crate::sql::{MAX_ROWS_PER_STATEMENT, flag, limit, placeholder_list, text_enum, values_tuples};
use crate::{Storage, StorageError, WriteTx};

text_enum! {
    /// What produced an event.
    pub enum EventKind in "events.kind" {
        /// An inbound SMS webhook.
        Message = "message",
        /// A scheduled job firing.
        Job = "job",
    }
}

text_enum! {
    /// Where an event is in its life.
    pub enum EventStatus in "events.status" {
        /// Waiting for (or being handled by) a worker.
        Queued = "queued",
        /// Its effects committed.
        Done = "done",
        /// Gave up after retries; see `dead_letters`.
        Dead = "dead",
        /// No plugin serves its number; stored for the record, never queued.
        Unrouted = "unrouted",
    }
}

/// The SMS carried by a message event, recorded in its conversation at ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The lead's (sender's) phone number.
    pub lead_number: String,
    /// The agent's number the lead wrote to.
    pub agent_number: String,
    pub body: String,
    /// What the text says about consent, decided at ingest: `Some(true)` opts the lead
    /// out (STOP and its kin), `Some(false)` back in (START). Recorded in the same
    /// transaction as the event, before any plugin runs, whatever the plugin then does.
    pub opt_out: Option<bool>,
    /// A text the host itself sends back, queued in the same transaction.
    pub host_reply: Option<HostReply>,
}

impl InboundMessage {
    /// Whether the host answers this text itself and no plugin sees it (HELP).
    pub fn answered_by_host(&self) -> bool {
        self.host_reply
            .as_ref()
            .is_some_and(|r| r.kind == HostMessage::Help)
    }
}

/// The host's own texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostMessage {
    /// The one confirmation of an opt-out (at most one per 5 minutes per number).
    OptOutConfirmation,
    /// The operator's answer to HELP.
    Help,
}

impl HostMessage {
    pub fn as_str(self) -> &'static str {
        match self {
            HostMessage::OptOutConfirmation => "opt_out_confirmation",
            HostMessage::Help => "help",
        }
    }
}

/// A text the host sends back to an inbound one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostReply {
    pub kind: HostMessage,
    pub body: String,
    pub segments: u32,
}

/// The one confirmation of an opt-out goes out within this long of the STOP, or not at
/// all: a confirmation arriving later (after an outage) would read as one more text.
pub const OPT_OUT_CONFIRMATION_WINDOW_MS: i64 = 5 * 60_000;

/// One event to store at ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Fresh unique id (a ULID/UUID chosen by the caller); reusing one fails the batch.
    pub id: EventId,
    /// Provider id that makes redelivery idempotent: Twilio's MessageSid, or a job's
    /// firing key.
    pub dedupe_key: String,
    pub kind: EventKind,
    /// The plugin that will handle it; `None` stores it as unrouted.
    pub plugin: Option<String>,
    pub conversation_id: Option<ConversationId>,
    /// The event as JSON, handed to the worker unchanged.
    pub payload: String,
    pub received_at_ms: i64,
    /// For message events with a conversation: the SMS to append to its history.
    pub inbound: Option<InboundMessage>,
}

/// What [`Storage::insert_events`] did with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now: the caller must enqueue it (then call [`Storage::mark_enqueued`]).
    New,
    /// Its dedupe key was already stored (by an earlier call or earlier in this batch).
    Duplicate {
        /// The id of the stored event.
        id: EventId,
        status: EventStatus,
        /// Whether the stored event already reached the queue; if not, re-enqueue it.
        enqueued: bool,
    },
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    pub id: EventId,
    pub dedupe_key: String,
    pub kind: EventKind,
    pub plugin: Option<String>,
    pub conversation_id: Option<ConversationId>,
    pub payload: String,
    pub status: EventStatus,
    /// Whether it reached the queue.
    pub enqueued: bool,
    /// Failed attempts so far that count against the plugin.
    pub attempts: i64,
    /// Times a worker claimed it (crash redeliveries included).
    pub deliveries: i64,
    /// Of those, the ones that ended in a host-side failure (not the plugin's doing).
    pub host_failures: i64,
    pub last_error: Option<String>,
    /// Plugin version whose effects committed.
    pub served_by_version: Option<String>,
    pub received_at_ms: i64,
    pub updated_at_ms: i64,
    /// When it should next run (received, or a retry delay's end).
    pub due_at_ms: i64,
    /// The version this event must run on (a dead letter requeued onto the rollout's
    /// candidate); `None`: whatever serves the plugin.
    pub pinned_version: Option<String>,
}

impl EventRow {
    /// Deliveries that ended without recording how: the worker died (a crash, an OOM
    /// kill, an abort) or lost its lease while it held the event. A failed delivery records
    /// itself (`attempts` or `host_failures`); a finished one ends the event.
    pub fn deliveries_without_outcome(&self) -> i64 {
        (self.deliveries - self.attempts - self.host_failures).max(0)
    }
}

/// A dead-lettered event: what gave up on it and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    pub event_id: EventId,
    pub plugin: String,
    /// The plugin version of the last attempt, when one ran.
    pub version: Option<String>,
    pub attempts: i64,
    /// Short label of how the last attempt ended (e.g. `trap`, `timeout`).
    pub outcome: String,
    pub message: String,
    pub at_ms: i64,
}

const EVENT_COLUMNS: &str = "id, dedupe_key, kind, plugin, conversation_id, payload, status, \
     enqueued, attempts, deliveries, host_failures, last_error, served_by_version, received_at, \
     updated_at, due_at, pinned_version";

/// Columns `insert_events` binds per event row.
const INSERT_EVENT_COLUMNS: usize = 10;
/// Columns bound per conversation upsert row.
const UPSERT_CONVERSATION_COLUMNS: usize = 6;
/// Columns bound per message row.
const INSERT_MESSAGE_COLUMNS: usize = 5;

impl Storage {
    /// The events view: what ingest stores, the sweep republishes and the worker settles
    /// outside its claim and commit — inbound and job events, their enqueued marks, attempt
    /// failures, dead letters and requeues.
    pub fn events(&self) -> Events {
        Events { db: self.clone() }
    }
}

/// The events view of [`Storage`] (see [`Storage::events`]): storing events (deduplicated),
/// marking them enqueued, finding those that never reached the queue or are overdue,
/// reading one, recording a failed attempt, dead letters and requeues — and nothing else.
#[derive(Clone, Debug)]
pub struct Events {
    db: Storage,
}

impl Events {
    /// Durably stores a batch of events in one transaction (group commit: one fsync for
    /// the whole batch) and reports, in input order, which were new and which duplicates.
    ///
    /// Deduplication is by `dedupe_key`, across calls and within the batch (a repeated key
    /// is a duplicate of its first occurrence). A new event is `queued` when it has a
    /// plugin, `unrouted` otherwise. A new event with a `conversation_id` and an `inbound`
    /// message also creates or touches its conversation and appends the message to it.
    pub async fn insert(&self, events: &[NewEvent]) -> Result<Vec<Inserted>, StorageError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.db.begin_write("insert_events: begin").await?;
        let inserted = self.insert_in(&mut tx, events).await?;
        tx.commit("insert_events: commit").await?;
        Ok(inserted)
    }

    /// [`Storage::insert_events`] inside the caller's write transaction, so a caller whose
    /// queue lives in this database can store and enqueue in one commit. Nothing is
    /// durable until the caller commits.
    pub async fn insert_in(
        &self,
        tx: &mut WriteTx,
        events: &[NewEvent],
    ) -> Result<Vec<Inserted>, StorageError> {
        let mut new_ids: HashSet<String> = HashSet::with_capacity(events.len());
        for chunk in events.chunks(MAX_ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO events (id, dedupe_key, kind, plugin, conversation_id, payload, \
                 status, received_at, updated_at, due_at) VALUES {} \
                 ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                values_tuples(self.db.backend, chunk.len(), INSERT_EVENT_COLUMNS)
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for e in chunk {
                let status = if e.inbound.as_ref().is_some_and(|m| m.answered_by_host()) {
                    EventStatus::Done
                } else if e.plugin.is_some() {
                    EventStatus::Queued
                } else {
                    EventStatus::Unrouted
                };
                q = q
                    .bind(e.id.as_str())
                    .bind(&e.dedupe_key)
                    .bind(e.kind.as_str())
                    .bind(&e.plugin)
                    .bind(e.conversation_id.as_deref())
                    .bind(&e.payload)
                    .bind(status.as_str())
                    .bind(e.received_at_ms)
                    .bind(e.received_at_ms)
                    .bind(e.received_at_ms);
            }
            for row in q
                .fetch_all(&mut **tx)
                .await
                .map_err(query("insert_events: insert events"))?
            {
                new_ids.insert(
                    row.try_get("id")
                        .map_err(query("insert_events: read inserted id"))?,
                );
            }
        }

        // Which input is new: the first occurrence of an id the insert returned.
        let mut claimed: HashSet<&str> = HashSet::with_capacity(new_ids.len());
        let is_new: Vec<bool> = events
            .iter()
            .map(|e| new_ids.contains(e.id.as_str()) && claimed.insert(e.dedupe_key.as_str()))
            .collect();

        // Look up what the duplicates collided with.
        let duplicate_keys: Vec<&str> = events
            .iter()
            .zip(&is_new)
            .filter(|(_, new)| !**new)
            .map(|(e, _)| e.dedupe_key.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut existing: HashMap<String, (String, EventStatus, bool)> = HashMap::new();
        for chunk in duplicate_keys.chunks(MAX_ROWS_PER_STATEMENT) {
            let sql = format!(
                "SELECT dedupe_key, id, status, enqueued FROM events WHERE dedupe_key IN ({})",
                placeholder_list(self.db.backend, chunk.len())
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for key in chunk {
                q = q.bind(*key);
            }
            for row in q
                .fetch_all(&mut **tx)
                .await
                .map_err(query("insert_events: look up duplicates"))?
            {
                let decode = || query("insert_events: read duplicate");
                let key: String = row.try_get("dedupe_key").map_err(decode())?;
                let id: String = row.try_get("id").map_err(decode())?;
                let status: String = row.try_get("status").map_err(decode())?;
                let enqueued = flag(&row, "enqueued").map_err(decode())?;
                existing.insert(key, (id, EventStatus::from_db(status)?, enqueued));
            }
        }

        self.record_inbound_messages(tx, events, &is_new).await?;

        events
            .iter()
            .zip(is_new)
            .map(|(e, new)| {
                if new {
                    return Ok(Inserted::New);
                }
                // A duplicate of a key stored by an earlier call or earlier in this batch.
                if let Some((id, status, enqueued)) = existing.get(&e.dedupe_key) {
                    return Ok(Inserted::Duplicate {
                        id: EventId::new(id.as_str()),
                        status: *status,
                        enqueued: *enqueued,
                    });
                }
                Err(StorageError::Corrupt {
                    column: "events.dedupe_key",
                    value: format!("{} conflicted but no stored event has it", e.dedupe_key),
                })
            })
            .collect()
    }

    /// Upserts the conversations of the new events that carry an inbound message and
    /// appends those messages, in input order.
    async fn record_inbound_messages(
        &self,
        conn: &mut sqlx::AnyConnection,
        events: &[NewEvent],
        is_new: &[bool],
    ) -> Result<(), StorageError> {
        let messages: Vec<(&NewEvent, &str, &InboundMessage)> = events
            .iter()
            .zip(is_new)
            .filter(|(_, new)| **new)
            .filter_map(|(e, _)| Some((e, e.conversation_id.as_deref()?, e.inbound.as_ref()?)))
            .collect();
        if messages.is_empty() {
            return Ok(());
        }

        // One row per conversation: a statement must not upsert the same row twice.
        struct Touch<'a> {
            plugin: Option<&'a str>,
            lead: &'a str,
            agent: &'a str,
            first_ms: i64,
            last_ms: i64,
        }
        let mut touched: BTreeMap<&str, Touch<'_>> = BTreeMap::new();
        for (e, conversation_id, m) in &messages {
            touched
                .entry(conversation_id)
                .and_modify(|t| {
                    t.first_ms = t.first_ms.min(e.received_at_ms);
                    t.last_ms = t.last_ms.max(e.received_at_ms);
                })
                .or_insert(Touch {
                    plugin: e.plugin.as_deref(),
                    lead: &m.lead_number,
                    agent: &m.agent_number,
                    first_ms: e.received_at_ms,
                    last_ms: e.received_at_ms,
                });
        }
        let touched: Vec<_> = touched.into_iter().collect();
        for chunk in touched.chunks(MAX_ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO conversations (id, plugin, lead_number, agent_number, created_at, \
                 last_message_at) VALUES {} \
                 ON CONFLICT (id) DO UPDATE SET \
                 plugin = COALESCE(excluded.plugin, conversations.plugin), \
                 last_message_at = CASE WHEN excluded.last_message_at > conversations.last_message_at \
                 THEN excluded.last_message_at ELSE conversations.last_message_at END",
                values_tuples(self.db.backend, chunk.len(), UPSERT_CONVERSATION_COLUMNS)
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for (id, t) in chunk {
                q = q
                    .bind(*id)
                    .bind(t.plugin)
                    .bind(t.lead)
                    .bind(t.agent)
                    .bind(t.first_ms)
                    .bind(t.last_ms);
            }
            q.execute(&mut *conn)
                .await
                .map_err(query("insert_events: upsert conversations"))?;
        }

        for chunk in messages.chunks(MAX_ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO messages (conversation_id, direction, body, at_ms, event_id) VALUES {}",
                values_tuples(self.db.backend, chunk.len(), INSERT_MESSAGE_COLUMNS)
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for (e, conversation_id, m) in chunk {
                q = q
                    .bind(*conversation_id)
                    .bind(Direction::Inbound.as_str())
                    .bind(&m.body)
                    .bind(e.received_at_ms)
                    .bind(e.id.as_str());
            }
            q.execute(&mut *conn)
                .await
                .map_err(query("insert_events: append messages"))?;
        }

        // Consent keywords, in arrival order (a STOP then a START leaves the lead in). An
        // opt-in clears the confirmation mark: the next opt-out gets its own confirmation.
        for (e, _, m) in &messages {
            let Some(opted_out) = m.opt_out else { continue };
            sqlx::query(
                "INSERT INTO opt_outs (number, opted_out, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (number) DO UPDATE SET opted_out = excluded.opted_out, \
                 updated_at = excluded.updated_at, \
                 confirmed_at = CASE WHEN excluded.opted_out THEN opt_outs.confirmed_at END",
            )
            .bind(&m.lead_number)
            .bind(opted_out)
            .bind(e.received_at_ms)
            .execute(&mut *conn)
            .await
            .map_err(query("insert_events: record consent"))?;
        }

        // The host's own answers, queued with the text they answer.
        for (e, conversation_id, m) in &messages {
            let Some(reply) = &m.host_reply else { continue };
            if reply.kind == HostMessage::OptOutConfirmation {
                // One confirmation per opt-out, not one per repeated STOP.
                let first = sqlx::query(
                    "UPDATE opt_outs SET confirmed_at = $2 WHERE number = $1 \
                     AND confirmed_at IS NULL",
                )
                .bind(&m.lead_number)
                .bind(e.received_at_ms)
                .execute(&mut *conn)
                .await
                .map_err(query("insert_events: mark confirmation"))?
                .rows_affected()
                    > 0;
                if !first {
                    continue;
                }
            }
            let id = format!("host:{}", e.id);
            sqlx::query(
                "INSERT INTO outbox (id, event_id, plugin, conversation_id, to_number, from_number, \
                 body, status, attempts, next_attempt_at, created_at, updated_at, initiated, \
                 segments, host_message) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8, $8, FALSE, $9, $10) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&id)
            .bind(e.id.as_str())
            .bind(e.plugin.as_deref().unwrap_or("host"))
            .bind(*conversation_id)
            .bind(&m.lead_number)
            .bind(&m.agent_number)
            .bind(&reply.body)
            .bind(e.received_at_ms)
            .bind(i64::from(reply.segments))
            .bind(reply.kind.as_str())
            .execute(&mut *conn)
            .await
            .map_err(query("insert_events: queue the host's reply"))?;
            sqlx::query(
                "INSERT INTO messages (conversation_id, direction, body, at_ms, event_id, outbox_id) \
                 VALUES ($1, 'outbound', $2, $3, $4, $5)",
            )
            .bind(*conversation_id)
            .bind(&reply.body)
            .bind(e.received_at_ms)
            .bind(e.id.as_str())
            .bind(&id)
            .execute(&mut *conn)
            .await
            .map_err(query("insert_events: record the host's reply"))?;
        }
        Ok(())
    }

    /// Records that these events reached the queue, so the republish sweep skips them.
    /// Returns how many rows changed.
    pub async fn mark_enqueued(&self, event_ids: &[EventId]) -> Result<u64, StorageError> {
        if event_ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db.begin_relaxed_write("mark_enqueued: begin").await?;
        let changed = self.mark_enqueued_in(&mut tx, event_ids).await?;
        tx.commit("mark_enqueued: commit").await?;
        Ok(changed)
    }

    /// [`Storage::mark_enqueued`] inside the caller's write transaction.
    pub async fn mark_enqueued_in(
        &self,
        tx: &mut WriteTx,
        event_ids: &[EventId],
    ) -> Result<u64, StorageError> {
        let mut changed = 0;
        for chunk in event_ids.chunks(MAX_ROWS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE events SET enqueued = TRUE WHERE enqueued = FALSE AND id IN ({})",
                placeholder_list(self.db.backend, chunk.len())
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            changed += q
                .execute(&mut **tx)
                .await
                .map_err(query("mark_enqueued: update"))?
                .rows_affected();
        }
        Ok(changed)
    }

    /// Queued events that never reached the queue (the process died between storing and
    /// enqueueing) and were received before `received_before_ms`, oldest first: what the
    /// republish sweep re-enqueues. A job held for staff is left out until its pause ends
    /// (its `due_at`).
    pub async fn unenqueued(
        &self,
        received_before_ms: i64,
        max_rows: u32,
    ) -> Result<Vec<EventRow>, StorageError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events \
             WHERE status = 'queued' AND enqueued = FALSE AND received_at < $1 AND due_at < $1 \
             ORDER BY received_at, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(received_before_ms)
            .bind(limit(max_rows))
            .fetch_all(&self.db.pool)
            .await
            .map_err(query("unenqueued_events"))?;
        rows.iter().map(event_row).collect()
    }

    /// Events that reached the queue but have been due for longer than `due_before_ms`
    /// allows, with no worker holding them: what the reconciler republishes (a broker that
    /// lost a message costs minutes, not the lead). Oldest due first.
    pub async fn overdue(
        &self,
        due_before_ms: i64,
        now_ms: i64,
        max_rows: u32,
    ) -> Result<Vec<EventRow>, StorageError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events e \
             WHERE status = 'queued' AND enqueued = TRUE AND due_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.event_id = e.id AND l.until_ms >= $2) \
             ORDER BY due_at, id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(due_before_ms)
            .bind(now_ms)
            .bind(limit(max_rows))
            .fetch_all(&self.db.pool)
            .await
            .map_err(query("overdue_events"))?;
        rows.iter().map(event_row).collect()
    }

    /// One event by id.
    pub async fn get(&self, event_id: &str) -> Result<Option<EventRow>, StorageError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
        sqlx::query(&sql)
            .bind(event_id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(query("get_event"))?
            .as_ref()
            .map(event_row)
            .transpose()
    }

    /// Records a failed attempt (the event stays queued for a retry). Returns `false` if
    /// no such event exists.
    pub async fn record_attempt_failure(
        &self,
        event_id: &str,
        attempts: i64,
        error: &str,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let done = self.db.execute_write("record_attempt_failure", sqlx::query(
            "UPDATE events SET attempts = $2, last_error = $3, updated_at = $4 WHERE id = $1",
        )
        .bind(event_id)
        .bind(attempts)
        .bind(error)
        .bind(now_ms)).await?;
        Ok(done.rows_affected() > 0)
    }

    /// Gives up on an event: marks it `dead` and records (or refreshes) its dead letter, in
    /// one transaction. Idempotent. Returns `false`, changing nothing, if the event does
    /// not exist or already committed (`done` is final).
    pub async fn dead_letter(&self, letter: &DeadLetter) -> Result<bool, StorageError> {
        self.dead_letter_leased(letter, None, None).await
    }

    /// [`Storage::dead_letter`] by the worker holding `lease`, which it gives up in the
    /// same transaction, with its `alert` (pending, created at the letter's time) in that
    /// transaction too: a crash cannot record the letter without its alert, nor alert
    /// about a letter that was not recorded. Returns `false`, changing nothing, if the
    /// lease was lost (the holder now decides) or the event already committed.
    pub async fn dead_letter_leased(
        &self,
        letter: &DeadLetter,
        lease: Option<&crate::Lease>,
        alert: Option<&agenthost_core::HostAlert>,
    ) -> Result<bool, StorageError> {
        let mut tx = self.db.begin_write("dead_letter: begin").await?;
        if let Some(lease) = lease
            && !crate::claims::delete_lease(&mut tx, lease, "dead_letter: release lease").await?
        {
            tx.rollback("dead_letter: rollback").await?;
            return Ok(false);
        }
        let updated = sqlx::query(
            "UPDATE events SET status = 'dead', attempts = $2, last_error = $3, updated_at = $4 \
             WHERE id = $1 AND status <> 'done'",
        )
        .bind(letter.event_id.as_str())
        .bind(letter.attempts)
        .bind(&letter.message)
        .bind(letter.at_ms)
        .execute(&mut *tx)
        .await
        .map_err(query("dead_letter: update event"))?
        .rows_affected();
        if updated == 0 {
            tx.rollback("dead_letter: rollback").await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO dead_letters (event_id, plugin, version, attempts, outcome, message, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (event_id) DO UPDATE SET plugin = excluded.plugin, \
             version = excluded.version, attempts = excluded.attempts, \
             outcome = excluded.outcome, message = excluded.message, at_ms = excluded.at_ms",
        )
        .bind(letter.event_id.as_str())
        .bind(&letter.plugin)
        .bind(&letter.version)
        .bind(letter.attempts)
        .bind(&letter.outcome)
        .bind(&letter.message)
        .bind(letter.at_ms)
        .execute(&mut *tx)
        .await
        .map_err(query("dead_letter: insert dead letter"))?;
        if let Some(alert) = alert {
            crate::commit::insert_alert(&mut tx, alert, letter.at_ms).await?;
        }
        tx.commit("dead_letter: commit").await?;
        Ok(true)
    }

    /// The most recent dead letters, newest first.
    pub async fn dead_letters(&self, max_rows: u32) -> Result<Vec<DeadLetter>, StorageError> {
        let rows = sqlx::query(
            "SELECT event_id, plugin, version, attempts, outcome, message, at_ms \
             FROM dead_letters ORDER BY at_ms DESC, event_id LIMIT $1",
        )
        .bind(limit(max_rows))
        .fetch_all(&self.db.pool)
        .await
        .map_err(query("dead_letters"))?;
        rows.iter()
            .map(|row| {
                Ok(DeadLetter {
                    event_id: EventId::from(row.try_get::<String, _>("event_id")?),
                    plugin: row.try_get("plugin")?,
                    version: row.try_get("version")?,
                    attempts: row.try_get("attempts")?,
                    outcome: row.try_get("outcome")?,
                    message: row.try_get("message")?,
                    at_ms: row.try_get("at_ms")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(query("dead_letters: decode"))
    }

    /// Puts a dead event back in the queue with a fresh attempt budget and removes its dead
    /// letter. It is left un-enqueued: publish it (then [`Storage::mark_enqueued`]) or let
    /// the republish sweep find it. Returns `false` unless the event was `dead`.
    pub async fn requeue(&self, event_id: &str, now_ms: i64) -> Result<bool, StorageError> {
        self.requeue_onto(event_id, None, now_ms).await
    }

    /// [`Storage::requeue_event`], pinned to `version` when given (it then runs on that
    /// version only: the rollout's candidate, say).
    pub async fn requeue_onto(
        &self,
        event_id: &str,
        version: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let mut tx = self.db.begin_write("requeue_event: begin").await?;
        let updated = sqlx::query(
            "UPDATE events SET status = 'queued', enqueued = FALSE, attempts = 0, \
             deliveries = 0, host_failures = 0, due_at = $2, updated_at = $2, \
             pinned_version = $3 WHERE id = $1 AND status = 'dead'",
        )
        .bind(event_id)
        .bind(now_ms)
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(query("requeue_event: update event"))?
        .rows_affected();
        if updated == 0 {
            tx.rollback("requeue_event: rollback").await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM dead_letters WHERE event_id = $1")
            .bind(event_id)
            .execute(&mut *tx)
            .await
            .map_err(query("requeue_event: delete dead letter"))?;
        tx.commit("requeue_event: commit").await?;
        Ok(true)
    }
}

fn event_row(row: &AnyRow) -> Result<EventRow, StorageError> {
    let decode = || query("decode events row");
    Ok(EventRow {
        id: EventId::from(row.try_get::<String, _>("id").map_err(decode())?),
        dedupe_key: row.try_get("dedupe_key").map_err(decode())?,
        kind: EventKind::from_db(row.try_get("kind").map_err(decode())?)?,
        plugin: row.try_get("plugin").map_err(decode())?,
        conversation_id: row
            .try_get::<Option<String>, _>("conversation_id")
            .map_err(decode())?
            .map(ConversationId::from),
        payload: row.try_get("payload").map_err(decode())?,
        status: EventStatus::from_db(row.try_get("status").map_err(decode())?)?,
        enqueued: flag(row, "enqueued").map_err(decode())?,
        attempts: row.try_get("attempts").map_err(decode())?,
        deliveries: row.try_get("deliveries").map_err(decode())?,
        host_failures: row.try_get("host_failures").map_err(decode())?,
        last_error: row.try_get("last_error").map_err(decode())?,
        served_by_version: row.try_get("served_by_version").map_err(decode())?,
        received_at_ms: row.try_get("received_at").map_err(decode())?,
        updated_at_ms: row.try_get("updated_at").map_err(decode())?,
        due_at_ms: row.try_get("due_at").map_err(decode())?,
        pinned_version: row.try_get("pinned_version").map_err(decode())?,
    })
}
