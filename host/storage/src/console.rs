//! What the operator's console reads and does: human takeover of a conversation (the
//! agent paused for it), staff replies through the outbox, conversation search and the
//! thread with what handled each message, dead letters with their event, requeue and
//! discard recorded in the deploy history, and the queue figures of the live summary.
//!
//! A takeover lives on the conversation row (`paused_at`, `paused_until`, ...). Two places
//! honour it, so no replica hands a paused conversation's event to a plugin: the claim
//! (before any invocation) and the worker's commit (an invocation that was already running
//! when the takeover landed commits nothing; on PostgreSQL the commit reads the row
//! `FOR SHARE`, so a takeover either lands before the commit and is seen, or waits for it).
//! A held event stays `queued` with `held = 'staff'`, out of the queue, due when the pause
//! ends. Two ways out:
//! - a person releases the conversation: the lead's held texts count as handled by staff
//!   (`done`; they are in the history the plugin sees next), held jobs run at the resume;
//! - the pause runs out (a plugin's handoff nobody picked up, or the end of a delayed
//!   release): the sweep republishes what was held and the plugin handles it in order, so
//!   a text nobody answered is never lost.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::commit::NewOutbound;
use crate::deploys::{DeployAction, HistoryInput, insert_history};
use crate::error::query;
use crate::history::{Direction, direction_from_db};
use crate::sql::{flag, limit};
use crate::{Backend, Storage, StorageError};

/// `due_at` of a job held until a person releases its conversation.
pub const HELD_UNTIL_RELEASED: i64 = i64::MAX / 2;

/// A conversation taken over by a person (or handed off at a plugin's request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Takeover {
    /// Who took it over: the admin token's name, or `plugin <name>` for a handoff request.
    pub by: String,
    pub reason: Option<String>,
    pub since_ms: i64,
    /// When the agent resumes by itself; `None`: when a person releases it.
    pub until_ms: Option<i64>,
    pub requested_by_plugin: bool,
}

impl Takeover {
    /// Whether the agent is paused at `now_ms`.
    pub fn active_at(&self, now_ms: i64) -> bool {
        self.until_ms.is_none_or(|until| until > now_ms)
    }
}

/// A conversation as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationSummary {
    pub id: String,
    pub plugin: Option<String>,
    pub lead_number: String,
    pub agent_number: String,
    pub last_message_at_ms: i64,
    pub last_body: Option<String>,
    /// Set while the agent is paused for this conversation.
    pub takeover: Option<Takeover>,
}

/// What an inbound message's event wrote when it committed (counts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EffectCounts {
    pub sms: u32,
    pub suppressed: u32,
    pub state_writes: u32,
    pub jobs: u32,
    pub alerts: u32,
    pub sla: u32,
}

/// One message of a thread with what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadMessage {
    pub id: i64,
    pub direction: Direction,
    /// `staff:<name>` for a staff reply; `None` for the lead's and the agent's texts.
    pub author: Option<String>,
    pub body: String,
    pub at_ms: i64,
    pub event_id: Option<String>,
    /// Inbound: the version that handled it; outbound: the version whose commit sent it.
    pub version: Option<String>,
    /// Inbound: its event's status (`queued`, `done`, `dead`), `held` when no plugin saw
    /// it.
    pub event_status: Option<String>,
    pub held_for_staff: bool,
    pub error: Option<String>,
    pub effects: Option<EffectCounts>,
    /// Outbound: the outbox row's status (`pending`, `sent`, ...) and why it waits.
    pub outbox_status: Option<String>,
    pub held_reason: Option<String>,
    /// Outbound: what Twilio (or the local sink) last said of its delivery.
    pub delivery_status: Option<String>,
}

/// A dead letter with its event, for an operator deciding what to do with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetterDetail {
    pub event_id: String,
    pub plugin: String,
    pub version: Option<String>,
    pub attempts: i64,
    pub outcome: String,
    pub message: String,
    pub at_ms: i64,
    pub kind: Option<String>,
    pub conversation_id: Option<String>,
    /// The event's stored payload (the invocation as JSON).
    #[serde(skip)]
    pub payload: Option<String>,
}

/// A staff member's text to a conversation's lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffReply {
    /// The outbox row: also its idempotency key (`staff:<conversation>:<client key>`).
    pub outbound: NewOutbound,
    pub plugin: String,
    /// `staff:<name>`.
    pub author: String,
}

/// What [`Storage::staff_reply`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffReplyResult {
    /// Queued in the outbox (or already was, under the same key: `created` false).
    Queued { created: bool },
    /// The lead opted out: nothing stored.
    OptedOut,
}

/// Queue figures of one plugin's lane, from the events table (the truth on every backend).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaneDepth {
    pub plugin: String,
    /// Events waiting (queued, not held for staff).
    pub depth: i64,
    /// When the oldest of them arrived.
    pub oldest_received_at_ms: Option<i64>,
}

const TAKEOVER_COLUMNS: &str =
    "paused_at, paused_until, paused_by, paused_reason, paused_by_plugin";

fn takeover_of(row: &AnyRow, now_ms: i64) -> Result<Option<Takeover>, sqlx::Error> {
    let since: Option<i64> = row.try_get("paused_at")?;
    let Some(since_ms) = since else {
        return Ok(None);
    };
    let t = Takeover {
        by: row
            .try_get::<Option<String>, _>("paused_by")?
            .unwrap_or_default(),
        reason: row.try_get("paused_reason")?,
        since_ms,
        until_ms: row.try_get("paused_until")?,
        requested_by_plugin: flag(row, "paused_by_plugin")?,
    };
    Ok(t.active_at(now_ms).then_some(t))
}

/// The columns of a [`ConversationSummary`], from `conversations c`.
fn summary_select() -> String {
    format!(
        "SELECT c.id, c.plugin, c.lead_number, c.agent_number, c.last_message_at, \
         {TAKEOVER_COLUMNS}, \
         (SELECT m.body FROM messages m WHERE m.conversation_id = c.id \
          ORDER BY m.id DESC LIMIT 1) AS last_body \
         FROM conversations c"
    )
}

fn summary_row(r: &AnyRow, now_ms: i64) -> Result<ConversationSummary, sqlx::Error> {
    Ok(ConversationSummary {
        id: r.try_get("id")?,
        plugin: r.try_get("plugin")?,
        lead_number: r.try_get("lead_number")?,
        agent_number: r.try_get("agent_number")?,
        last_message_at_ms: r.try_get("last_message_at")?,
        last_body: r.try_get("last_body")?,
        takeover: takeover_of(r, now_ms)?,
    })
}

/// The conversation's takeover at `now_ms`, read inside a transaction (`FOR SHARE` on
/// PostgreSQL, so a concurrent takeover waits for this transaction or is seen by it).
pub(crate) async fn paused_in(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    conversation_id: &str,
    now_ms: i64,
) -> Result<Option<Takeover>, StorageError> {
    let lock = match backend {
        Backend::Postgres => " FOR SHARE",
        Backend::Sqlite => "",
    };
    let row = sqlx::query(&format!(
        "SELECT {TAKEOVER_COLUMNS} FROM conversations WHERE id = $1{lock}"
    ))
    .bind(conversation_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(query("read takeover"))?;
    match row {
        Some(row) => takeover_of(&row, now_ms).map_err(query("read takeover: decode")),
        None => Ok(None),
    }
}

/// Holds `event_id` for staff inside a transaction: it stays `queued` with `held` set,
/// out of the queue, due when the pause ends (never, while a person has it without an end).
/// When the pause runs out, the sweep republishes it and the plugin handles it in order
/// (nobody answered it meanwhile); when a person releases the conversation, held messages
/// are finished as handled by staff (see [`Storage::release`]).
pub(crate) async fn hold_event_in(
    conn: &mut sqlx::AnyConnection,
    event_id: &str,
    takeover: &Takeover,
    now_ms: i64,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE events SET held = 'staff', enqueued = FALSE, due_at = $2, updated_at = $3 \
         WHERE id = $1 AND status = 'queued'",
    )
    .bind(event_id)
    .bind(takeover.until_ms.unwrap_or(HELD_UNTIL_RELEASED))
    .bind(now_ms)
    .execute(&mut *conn)
    .await
    .map_err(query("hold event for staff"))?;
    Ok(())
}

impl Storage {
    /// The console view: what the operator's console reads and does — takeovers, staff
    /// replies, conversations and threads, dead letters, lane depths.
    pub fn console(&self) -> Console {
        Console { db: self.clone() }
    }
}

/// The console view of [`Storage`] (see [`Storage::console`]): a conversation taken over by
/// a person and released, staff replies, conversation search and threads, dead letters
/// (details, discards, requeues) and lane depths — and nothing else.
#[derive(Clone, Debug)]
pub struct Console {
    db: Storage,
}

impl Console {
    /// The conversation's takeover, if the agent is paused for it at `now_ms`.
    pub async fn takeover_of(
        &self,
        conversation_id: &str,
        now_ms: i64,
    ) -> Result<Option<Takeover>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {TAKEOVER_COLUMNS} FROM conversations WHERE id = $1"
        ))
        .bind(conversation_id)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(query("takeover_of"))?;
        match row {
            Some(row) => takeover_of(&row, now_ms).map_err(query("takeover_of: decode")),
            None => Ok(None),
        }
    }

    /// Pauses the agent for a conversation. A person's takeover (`requested_by_plugin`
    /// false) replaces whatever pause there was; a plugin's handoff request never shortens
    /// or replaces a pause already in force. Returns the pause in force afterwards, or
    /// `None` if there is no such conversation.
    pub async fn take_over(
        &self,
        conversation_id: &str,
        takeover: &Takeover,
        now_ms: i64,
    ) -> Result<Option<Takeover>, StorageError> {
        let mut tx = self.db.begin_write("take_over: begin").await?;
        let only_if_free = if takeover.requested_by_plugin {
            " AND (paused_at IS NULL OR (paused_until IS NOT NULL AND paused_until <= $7))"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE conversations SET paused_at = $2, paused_until = $3, paused_by = $4, \
             paused_reason = $5, paused_by_plugin = $6 WHERE id = $1{only_if_free}"
        );
        let mut update = sqlx::query(&sql)
            .bind(conversation_id)
            .bind(takeover.since_ms)
            .bind(takeover.until_ms)
            .bind(&takeover.by)
            .bind(&takeover.reason)
            .bind(takeover.requested_by_plugin);
        if takeover.requested_by_plugin {
            update = update.bind(now_ms);
        }
        update
            .execute(&mut *tx)
            .await
            .map_err(query("take_over: update"))?;
        let row = sqlx::query(&format!(
            "SELECT {TAKEOVER_COLUMNS} FROM conversations WHERE id = $1"
        ))
        .bind(conversation_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(query("take_over: read"))?;
        let Some(row) = row else {
            tx.rollback("take_over: rollback").await?;
            return Ok(None);
        };
        let now = takeover_of(&row, now_ms).map_err(query("take_over: decode"))?;
        tx.commit("take_over: commit").await?;
        Ok(now)
    }

    /// Resumes the agent for a conversation at `at_ms` (now, or later: say, after the
    /// tour slot). Jobs held for the pause become due then (the sweep republishes them).
    /// Returns the pause still in force (`Some` when `at_ms` is ahead), wrapped in `None`
    /// when there is no such conversation.
    pub async fn release(
        &self,
        conversation_id: &str,
        at_ms: i64,
        now_ms: i64,
    ) -> Result<Option<Option<Takeover>>, StorageError> {
        let mut tx = self.db.begin_write("release: begin").await?;
        let exists = sqlx::query("SELECT 1 AS one FROM conversations WHERE id = $1")
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(query("release: read"))?
            .is_some();
        if !exists {
            tx.rollback("release: rollback").await?;
            return Ok(None);
        }
        let at_ms = at_ms.max(now_ms);
        if at_ms <= now_ms {
            sqlx::query(
                "UPDATE conversations SET paused_at = NULL, paused_until = NULL, paused_by = NULL, \
                 paused_reason = NULL, paused_by_plugin = FALSE WHERE id = $1",
            )
            .bind(conversation_id)
            .execute(&mut *tx)
            .await
            .map_err(query("release: clear"))?;
        } else {
            sqlx::query(
                "UPDATE conversations SET paused_until = $2 WHERE id = $1 AND paused_at IS NOT NULL",
            )
            .bind(conversation_id)
            .bind(at_ms)
            .execute(&mut *tx)
            .await
            .map_err(query("release: set end"))?;
        }
        // What a person held so far is theirs: the lead's texts count as handled by staff
        // (`done`, `held` kept); the plugin's jobs run when the agent resumes.
        sqlx::query(
            "UPDATE events SET status = 'done', updated_at = $2 \
             WHERE conversation_id = $1 AND status = 'queued' AND held IS NOT NULL \
             AND kind = 'message'",
        )
        .bind(conversation_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(query("release: finish held messages"))?;
        sqlx::query(
            "UPDATE events SET held = NULL, enqueued = FALSE, due_at = $2, updated_at = $3 \
             WHERE conversation_id = $1 AND status = 'queued' AND held IS NOT NULL \
             AND kind = 'job'",
        )
        .bind(conversation_id)
        .bind(at_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(query("release: release held jobs"))?;
        let row = sqlx::query(&format!(
            "SELECT {TAKEOVER_COLUMNS} FROM conversations WHERE id = $1"
        ))
        .bind(conversation_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(query("release: read back"))?;
        let left = takeover_of(&row, now_ms).map_err(query("release: decode"))?;
        tx.commit("release: commit").await?;
        Ok(Some(left))
    }

    /// Conversations, most recently active first: those whose lead or agent number
    /// contains `number` (digits, `+` allowed), of `plugin` when given.
    pub async fn search_conversations(
        &self,
        number: Option<&str>,
        plugin: Option<&str>,
        max_rows: u32,
        now_ms: i64,
    ) -> Result<Vec<ConversationSummary>, StorageError> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(n) = number.map(str::trim).filter(|n| !n.is_empty()) {
            binds.push(format!("%{}%", n.replace(['%', '_', '\\'], "")));
            let p = binds.len();
            conditions.push(format!(
                "(c.lead_number LIKE ${p} OR c.agent_number LIKE ${p})"
            ));
        }
        if let Some(p) = plugin.filter(|p| !p.is_empty()) {
            binds.push(p.to_owned());
            conditions.push(format!("c.plugin = ${}", binds.len()));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "{} {filter} ORDER BY c.last_message_at DESC, c.id LIMIT ${}",
            summary_select(),
            binds.len() + 1
        );
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q
            .bind(limit(max_rows))
            .fetch_all(&self.db.pool)
            .await
            .map_err(query("search_conversations"))?;
        rows.iter()
            .map(|r| summary_row(r, now_ms))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(query("search_conversations: decode"))
    }

    /// One conversation as the console lists it.
    pub async fn conversation_summary(
        &self,
        conversation_id: &str,
        now_ms: i64,
    ) -> Result<Option<ConversationSummary>, StorageError> {
        let sql = format!("{} WHERE c.id = $1", summary_select());
        sqlx::query(&sql)
            .bind(conversation_id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(query("conversation_summary"))?
            .map(|r| summary_row(&r, now_ms))
            .transpose()
            .map_err(query("conversation_summary: decode"))
    }

    /// The last `max_rows` messages of a conversation, oldest first, each with what became
    /// of it: the event and version of an inbound text, the outbox row of an outbound one.
    pub async fn thread(
        &self,
        conversation_id: &str,
        max_rows: u32,
    ) -> Result<Vec<ThreadMessage>, StorageError> {
        let rows = sqlx::query(
            "SELECT m.id, m.direction, m.author, m.body, m.at_ms, m.event_id, \
             m.delivery_status AS message_delivery, \
             e.served_by_version, e.status AS event_status, e.held, e.effects, e.last_error, \
             o.status AS outbox_status, o.held AS outbox_held, o.delivery_status AS outbox_delivery \
             FROM messages m \
             LEFT JOIN events e ON e.id = m.event_id \
             LEFT JOIN outbox o ON o.id = m.outbox_id \
             WHERE m.conversation_id = $1 ORDER BY m.id DESC LIMIT $2",
        )
        .bind(conversation_id)
        .bind(limit(max_rows))
        .fetch_all(&self.db.pool)
        .await
        .map_err(query("thread"))?;
        let mut thread = rows
            .iter()
            .map(|r| {
                let decode = || query("thread: decode");
                let direction = direction_from_db(r.try_get("direction").map_err(decode())?)?;
                let inbound = direction == Direction::Inbound;
                let held: Option<String> = r.try_get("held").map_err(decode())?;
                let effects: Option<String> = r.try_get("effects").map_err(decode())?;
                let delivery: Option<String> = r.try_get("outbox_delivery").map_err(decode())?;
                let message_delivery: Option<String> =
                    r.try_get("message_delivery").map_err(decode())?;
                Ok(ThreadMessage {
                    id: r.try_get("id").map_err(decode())?,
                    direction,
                    author: r.try_get("author").map_err(decode())?,
                    body: r.try_get("body").map_err(decode())?,
                    at_ms: r.try_get("at_ms").map_err(decode())?,
                    event_id: r.try_get("event_id").map_err(decode())?,
                    version: r.try_get("served_by_version").map_err(decode())?,
                    event_status: if inbound {
                        r.try_get("event_status").map_err(decode())?
                    } else {
                        None
                    },
                    held_for_staff: inbound && held.is_some(),
                    error: if inbound {
                        r.try_get("last_error").map_err(decode())?
                    } else {
                        None
                    },
                    effects: effects
                        .filter(|_| inbound)
                        .and_then(|e| serde_json::from_str(&e).ok()),
                    outbox_status: r.try_get("outbox_status").map_err(decode())?,
                    held_reason: r.try_get("outbox_held").map_err(decode())?,
                    delivery_status: delivery.or(message_delivery),
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        thread.reverse();
        Ok(thread)
    }

    /// Queues a staff member's text to the conversation's lead in the outbox, with the
    /// same idempotency (its id) and the same send policy as an agent's; it joins the
    /// history as an outbound message written by `author`. Refused, storing nothing, when
    /// the lead opted out (the dispatcher checks consent again before sending).
    pub async fn staff_reply(
        &self,
        reply: &StaffReply,
        now_ms: i64,
    ) -> Result<StaffReplyResult, StorageError> {
        let sms = &reply.outbound;
        let mut tx = self.db.begin_write("staff_reply: begin").await?;
        let opted_out = sqlx::query("SELECT opted_out FROM opt_outs WHERE number = $1")
            .bind(&sms.to)
            .fetch_optional(&mut *tx)
            .await
            .map_err(query("staff_reply: consent"))?
            .map_or(Ok(false), |row| flag(&row, "opted_out"))
            .map_err(query("staff_reply: decode consent"))?;
        if opted_out {
            tx.rollback("staff_reply: rollback").await?;
            return Ok(StaffReplyResult::OptedOut);
        }
        let created = sqlx::query(
            "INSERT INTO outbox (id, event_id, plugin, conversation_id, to_number, from_number, \
             body, status, attempts, next_attempt_at, created_at, updated_at, initiated, segments) \
             VALUES ($1, $1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7, $7, $8, $9) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&sms.id)
        .bind(&reply.plugin)
        .bind(sms.conversation_id.as_deref())
        .bind(&sms.to)
        .bind(&sms.from)
        .bind(&sms.body)
        .bind(now_ms)
        .bind(sms.initiated)
        .bind(i64::from(sms.segments))
        .execute(&mut *tx)
        .await
        .map_err(query("staff_reply: insert outbox"))?
        .rows_affected()
            > 0;
        if created && let Some(conversation_id) = sms.conversation_id.as_deref() {
            sqlx::query(
                "INSERT INTO messages (conversation_id, direction, body, at_ms, event_id, outbox_id, author) \
                 VALUES ($1, 'outbound', $2, $3, NULL, $4, $5)",
            )
            .bind(conversation_id)
            .bind(&sms.body)
            .bind(now_ms)
            .bind(&sms.id)
            .bind(&reply.author)
            .execute(&mut *tx)
            .await
            .map_err(query("staff_reply: append message"))?;
            sqlx::query(
                "UPDATE conversations SET last_message_at = $2 \
                 WHERE id = $1 AND last_message_at < $2",
            )
            .bind(conversation_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(query("staff_reply: touch conversation"))?;
        }
        tx.commit("staff_reply: commit").await?;
        Ok(StaffReplyResult::Queued { created })
    }

    /// One dead letter with its event.
    pub async fn dead_letter_of(
        &self,
        event_id: &str,
    ) -> Result<Option<DeadLetterDetail>, StorageError> {
        Ok(self
            .dead_letters_where("WHERE d.event_id = $2", Some(event_id), 1)
            .await?
            .pop())
    }

    /// Dead letters with their event, newest first, of `plugin` when given.
    pub async fn dead_letter_details(
        &self,
        plugin: Option<&str>,
        max_rows: u32,
    ) -> Result<Vec<DeadLetterDetail>, StorageError> {
        let filter = if plugin.is_some() {
            "WHERE d.plugin = $2"
        } else {
            ""
        };
        self.dead_letters_where(filter, plugin, max_rows).await
    }

    async fn dead_letters_where(
        &self,
        filter: &str,
        value: Option<&str>,
        max_rows: u32,
    ) -> Result<Vec<DeadLetterDetail>, StorageError> {
        let sql = format!(
            "SELECT d.event_id, d.plugin, d.version, d.attempts, d.outcome, d.message, d.at_ms, \
             e.kind, e.conversation_id, e.payload \
             FROM dead_letters d LEFT JOIN events e ON e.id = d.event_id {filter} \
             ORDER BY d.at_ms DESC, d.event_id LIMIT $1"
        );
        let mut q = sqlx::query(&sql).bind(limit(max_rows));
        if let Some(v) = value {
            q = q.bind(v);
        }
        let rows = q
            .fetch_all(&self.db.pool)
            .await
            .map_err(query("dead_letter_details"))?;
        rows.iter()
            .map(|r| {
                Ok(DeadLetterDetail {
                    event_id: r.try_get("event_id")?,
                    plugin: r.try_get("plugin")?,
                    version: r.try_get("version")?,
                    attempts: r.try_get("attempts")?,
                    outcome: r.try_get("outcome")?,
                    message: r.try_get("message")?,
                    at_ms: r.try_get("at_ms")?,
                    kind: r.try_get("kind")?,
                    conversation_id: r.try_get("conversation_id")?,
                    payload: r.try_get("payload")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(query("dead_letter_details: decode"))
    }

    /// Discards a dead letter for good: the event stays `dead`, its letter is removed and
    /// the discard is recorded in the plugin's deploy history with `actor` and `reason`.
    /// Returns the plugin, or `None` if there was no such dead letter.
    pub async fn discard_dead_letter(
        &self,
        event_id: &str,
        actor: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Option<String>, StorageError> {
        let mut tx = self.db.begin_write("discard_dead_letter: begin").await?;
        let row = sqlx::query("SELECT plugin, version FROM dead_letters WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(query("discard_dead_letter: read"))?;
        let Some(row) = row else {
            tx.rollback("discard_dead_letter: rollback").await?;
            return Ok(None);
        };
        let plugin: String = row
            .try_get("plugin")
            .map_err(query("discard_dead_letter: decode"))?;
        let version: Option<String> = row
            .try_get("version")
            .map_err(query("discard_dead_letter: decode"))?;
        sqlx::query("DELETE FROM dead_letters WHERE event_id = $1")
            .bind(event_id)
            .execute(&mut *tx)
            .await
            .map_err(query("discard_dead_letter: delete"))?;
        sqlx::query("UPDATE events SET last_error = $2, updated_at = $3 WHERE id = $1")
            .bind(event_id)
            .bind(format!("discarded by {actor}: {reason}"))
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(query("discard_dead_letter: mark event"))?;
        insert_history(
            &mut tx,
            &HistoryInput {
                plugin: &plugin,
                action: DeployAction::Discard,
                from_version: version.as_deref(),
                to_version: None,
                actor,
                reason: Some(reason),
                at_ms: now_ms,
                details_json: Some(serde_json::json!({ "events": [event_id] }).to_string()),
            },
        )
        .await?;
        tx.commit("discard_dead_letter: commit").await?;
        Ok(Some(plugin))
    }

    /// Records in `plugin`'s deploy history that `events` were requeued onto `version`.
    pub async fn record_requeue(
        &self,
        plugin: &str,
        events: &[agenthost_core::EventId],
        version: Option<&str>,
        actor: &str,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write("record_requeue: begin").await?;
        insert_history(
            &mut tx,
            &HistoryInput {
                plugin,
                action: DeployAction::Requeue,
                from_version: None,
                to_version: version,
                actor,
                reason,
                at_ms: now_ms,
                details_json: Some(serde_json::json!({ "events": events }).to_string()),
            },
        )
        .await?;
        tx.commit("record_requeue: commit").await?;
        Ok(())
    }

    /// Per plugin: events waiting (queued and not held for staff) and the oldest arrival.
    pub async fn lane_depths(&self) -> Result<Vec<LaneDepth>, StorageError> {
        let rows = sqlx::query(
            "SELECT plugin, COUNT(*) AS depth, MIN(received_at) AS oldest FROM events \
             WHERE status = 'queued' AND held IS NULL AND plugin IS NOT NULL \
             GROUP BY plugin ORDER BY plugin",
        )
        .fetch_all(&self.db.pool)
        .await
        .map_err(query("lane_depths"))?;
        rows.iter()
            .map(|r| {
                Ok(LaneDepth {
                    plugin: r.try_get("plugin")?,
                    depth: r.try_get("depth")?,
                    oldest_received_at_ms: r.try_get("oldest")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(query("lane_depths: decode"))
    }

    /// Dead letters per plugin.
    pub async fn dead_letter_counts(&self) -> Result<Vec<(String, i64)>, StorageError> {
        let rows = sqlx::query(
            "SELECT plugin, COUNT(*) AS n FROM dead_letters GROUP BY plugin ORDER BY plugin",
        )
        .fetch_all(&self.db.pool)
        .await
        .map_err(query("dead_letter_counts"))?;
        rows.iter()
            .map(|r| Ok((r.try_get("plugin")?, r.try_get("n")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(query("dead_letter_counts: decode"))
    }
}
