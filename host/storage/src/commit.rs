//! The worker's one transaction: marks an event done and applies everything its invocation
//! produced (state, outbound SMS, jobs, alerts, SLA items) atomically, exactly once.

use agenthost_core::{ConversationId, EventId};
use sqlx::AnyConnection;

use crate::alerts::{HostAlert, encode_fields};
use crate::batch::Staged;
use crate::claims::{Lease, delete_lease};
use crate::error::query;
use crate::history::Direction;
use crate::outbox::OutboxStatus;
use crate::{Claims, StorageError};

/// An outbound SMS to put in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbound {
    /// Idempotency key, stable across retries of the same event (e.g. `{event_id}:{n}`):
    /// a second commit with the same id adds nothing.
    pub id: String,
    /// When set, the message is also appended to the conversation's history.
    pub conversation_id: Option<ConversationId>,
    pub to: String,
    pub from: String,
    pub body: String,
    /// Recorded but never sent (the recipient opted out): stored as `suppressed`.
    pub suppressed: bool,
    /// Agent-initiated (not a reply to an inbound text within the reply window): quiet
    /// hours and the frequency cap apply.
    pub initiated: bool,
    /// SMS segments the body costs.
    pub segments: u32,
}

/// A change to the plugin's one-off delayed jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobChange {
    /// Creates or replaces the job `key`.
    Schedule {
        key: String,
        name: String,
        due_at_ms: i64,
        payload: String,
        conversation_id: Option<String>,
    },
    /// Removes the job `key` if it exists.
    Cancel { key: String },
}

/// A change to the plugin's SLA items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlaChange {
    /// Starts (or restarts, reopening if resolved) tracking an item.
    Track {
        item_id: String,
        kind: String,
        description: String,
        deadline_at_ms: i64,
        /// Tracked and reported, but nobody is nagged.
        dry_run: bool,
    },
    /// Marks an open item resolved now.
    Resolve { item_id: String },
}

/// Units a commit adds to one of its plugin's daily budgets, refused past `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetCharge {
    /// `sms_segments` or `jobs`.
    pub budget: &'static str,
    pub amount: u64,
    pub limit: u64,
}

/// Everything one successful invocation commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub event_id: EventId,
    pub plugin: String,
    /// The plugin version that produced these effects.
    pub version: String,
    pub now_ms: i64,
    /// The worker's lease on the event: the commit applies only while it is still held.
    /// `None` only for callers that hold no lease (tools, tests).
    pub lease: Option<Lease>,
    /// The version of each state key when the invocation read it (`None`: absent). Any
    /// change since refuses the commit with [`CommitResult::Conflict`].
    pub state_reads: Vec<(String, Option<i64>)>,
    /// Final value per key; `None` deletes the key.
    pub state_writes: Vec<(String, Option<String>)>,
    /// Budget subject (the plugin) and UTC day of `budget_charges`.
    pub budget_day: i64,
    pub budget_charges: Vec<BudgetCharge>,
    pub outbound: Vec<NewOutbound>,
    pub jobs: Vec<JobChange>,
    pub alerts: Vec<HostAlert>,
    pub sla: Vec<SlaChange>,
    /// The event's conversation: taken over by a person since the claim, nothing of the
    /// invocation is written and the event is held ([`CommitResult::HeldForStaff`]).
    pub conversation_id: Option<ConversationId>,
    /// The plugin asked for a person: the conversation is paused with this (never
    /// replacing a pause in force), in the same transaction.
    pub handoff: Option<crate::Takeover>,
}

impl Commit {
    /// A commit of `event_id` by `plugin` at `version` that writes nothing yet, held by no
    /// lease (tools and tests); fill in what the invocation produced.
    pub fn new(event_id: &str, plugin: &str, version: &str, now_ms: i64) -> Commit {
        Commit {
            event_id: EventId::from(event_id),
            plugin: plugin.to_owned(),
            version: version.to_owned(),
            now_ms,
            lease: None,
            state_reads: Vec::new(),
            state_writes: Vec::new(),
            budget_day: 0,
            budget_charges: Vec::new(),
            outbound: Vec::new(),
            jobs: Vec::new(),
            alerts: Vec::new(),
            sla: Vec::new(),
            conversation_id: None,
            handoff: None,
        }
    }

    /// What this commit writes, as counts (stored with the event for the console).
    pub fn effect_counts(&self) -> crate::EffectCounts {
        let n = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
        let suppressed = self.outbound.iter().filter(|o| o.suppressed).count();
        crate::EffectCounts {
            sms: n(self.outbound.len() - suppressed),
            suppressed: n(suppressed),
            state_writes: n(self.state_writes.len()),
            jobs: n(self.jobs.len()),
            alerts: n(self.alerts.len()),
            sla: n(self.sla.len()),
        }
    }
}

/// What [`Claims::commit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitResult {
    /// The effects are durable.
    Committed {
        /// Outbox rows this commit created as `pending`, in order: what the dispatcher now
        /// owes. Suppressed rows and ids that already existed are not listed.
        outbox_ids: Vec<String>,
    },
    /// The event was already `done` (a redelivery): nothing was written.
    AlreadyDone,
    /// The worker's lease was taken over by another worker: nothing was written; that
    /// worker handles the event.
    LeaseLost,
    /// A state key the invocation read changed since: nothing was written; run the
    /// invocation again on fresh state.
    Conflict { key: String },
    /// A daily budget would be passed by this commit: nothing was written.
    BudgetExhausted { budget: &'static str, limit: u64 },
    /// The conversation was taken over by a person while the invocation ran: nothing of
    /// it was written, the lease is given up and the event held (see `console`).
    HeldForStaff,
}

impl Claims {
    /// Applies one invocation's effects in a single transaction.
    ///
    /// The first statement flips the event to `done` unless it already is; if it already
    /// is, the transaction rolls back and [`CommitResult::AlreadyDone`] is returned, so a
    /// redelivered event never commits twice. Otherwise, in order: state writes (upsert or
    /// delete), outbox rows (`pending`, or `suppressed`; an existing id is left alone),
    /// outbound history for rows created with a conversation (suppressed ones are not
    /// history: the lead never saw them), job schedules/cancels, alerts, SLA items.
    pub async fn commit(&self, commit: &Commit) -> Result<CommitResult, StorageError> {
        let commit = commit.clone();
        let backend = self.db.backend;
        self.db
            .relaxed_batch("commit_success", move |conn| {
                Box::pin(async move { commit_in(conn, backend, &commit).await })
            })
            .await
    }
}

/// [`Claims::commit`] inside the group commit's transaction.
async fn commit_in(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    commit: &Commit,
) -> Result<Staged<CommitResult>, StorageError> {
    if let Some(lease) = &commit.lease
        && !delete_lease(conn, lease, "commit_success: release lease").await?
    {
        return Ok(Staged::Undo(CommitResult::LeaseLost));
    }
    if let Some(c) = &commit.conversation_id
        && let Some(takeover) = crate::console::paused_in(conn, backend, c, commit.now_ms).await?
    {
        crate::console::hold_event_in(conn, &commit.event_id, &takeover, commit.now_ms).await?;
        return Ok(Staged::Keep(CommitResult::HeldForStaff));
    }
    let effects = serde_json::to_string(&commit.effect_counts()).unwrap_or_default();
    let claimed = sqlx::query(
        "UPDATE events SET status = 'done', served_by_version = $2, updated_at = $3, \
         effects = $4 WHERE id = $1 AND status <> 'done'",
    )
    .bind(commit.event_id.as_str())
    .bind(&commit.version)
    .bind(commit.now_ms)
    .bind(effects)
    .execute(&mut *conn)
    .await
    .map_err(query("commit_success: mark event done"))?
    .rows_affected();
    if claimed == 0 {
        return Ok(Staged::Undo(CommitResult::AlreadyDone));
    }

    if let Some(key) = write_state(conn, backend, commit).await? {
        return Ok(Staged::Undo(CommitResult::Conflict { key }));
    }
    for charge in &commit.budget_charges {
        if charge.amount == 0 {
            continue;
        }
        let charged = crate::budgets::charge(
            conn,
            &commit.plugin,
            charge.budget,
            commit.budget_day,
            charge.amount,
            Some(charge.limit),
        )
        .await?;
        if charged.is_none() {
            return Ok(Staged::Undo(CommitResult::BudgetExhausted {
                budget: charge.budget,
                limit: charge.limit,
            }));
        }
    }
    let outbox_ids = write_outbox(conn, commit).await?;
    write_jobs(conn, commit).await?;
    for alert in &commit.alerts {
        insert_alert(conn, alert, commit.now_ms).await?;
    }
    write_sla(conn, commit).await?;
    if let (Some(c), Some(handoff)) = (commit.conversation_id.as_deref(), &commit.handoff) {
        sqlx::query(
            "UPDATE conversations SET paused_at = $2, paused_until = $3, paused_by = $4, \
             paused_reason = $5, paused_by_plugin = TRUE WHERE id = $1 \
             AND (paused_at IS NULL OR (paused_until IS NOT NULL AND paused_until <= $2))",
        )
        .bind(c)
        .bind(handoff.since_ms)
        .bind(handoff.until_ms)
        .bind(&handoff.by)
        .bind(&handoff.reason)
        .execute(&mut *conn)
        .await
        .map_err(query("commit_success: hand off"))?;
    }

    Ok(Staged::Keep(CommitResult::Committed { outbox_ids }))
}

/// Checks the versions the invocation read and applies its writes, each conditional on
/// the version it read. Returns the first key that changed meanwhile (the caller rolls
/// back), or `None` once every write is applied.
async fn write_state(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    c: &Commit,
) -> Result<Option<String>, StorageError> {
    let read: std::collections::BTreeMap<&str, Option<i64>> = c
        .state_reads
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    // Keys only read: their version must still be the one read. On PostgreSQL the row
    // is locked for the rest of the commit (SQLite has one writer at a time anyway).
    let lock = match backend {
        crate::Backend::Postgres => " FOR SHARE",
        crate::Backend::Sqlite => "",
    };
    let written: std::collections::BTreeSet<&str> =
        c.state_writes.iter().map(|(k, _)| k.as_str()).collect();
    for (key, version) in read.iter().filter(|(k, _)| !written.contains(*k)) {
        let current: Option<i64> = sqlx::query(&format!(
            "SELECT version FROM plugin_state WHERE plugin = $1 AND key = $2{lock}"
        ))
        .bind(&c.plugin)
        .bind(*key)
        .fetch_optional(&mut *conn)
        .await
        .map_err(query("commit_success: check state read"))?
        .map(|r| sqlx::Row::try_get(&r, "version"))
        .transpose()
        .map_err(query("commit_success: decode state version"))?;
        if current != *version {
            return Ok(Some((*key).to_owned()));
        }
    }
    for (key, value) in &c.state_writes {
        let applied = match (read.get(key.as_str()), value) {
            // Read at version v: write only over v.
            (Some(Some(v)), Some(value)) => sqlx::query(
                "UPDATE plugin_state SET value = $3, version = version + 1, updated_at = $4                  WHERE plugin = $1 AND key = $2 AND version = $5",
            )
            .bind(&c.plugin)
            .bind(key)
            .bind(value)
            .bind(c.now_ms)
            .bind(*v),
            (Some(Some(v)), None) => sqlx::query(
                "DELETE FROM plugin_state WHERE plugin = $1 AND key = $2 AND version = $3",
            )
            .bind(&c.plugin)
            .bind(key)
            .bind(*v),
            // Read as absent: create only if still absent.
            (Some(None), Some(value)) => sqlx::query(
                "INSERT INTO plugin_state (plugin, key, value, updated_at, version)                  VALUES ($1, $2, $3, $4, 1) ON CONFLICT (plugin, key) DO NOTHING",
            )
            .bind(&c.plugin)
            .bind(key)
            .bind(value)
            .bind(c.now_ms),
            (Some(None), None) => sqlx::query(
                "SELECT 1 AS absent WHERE NOT EXISTS \
                 (SELECT 1 FROM plugin_state WHERE plugin = $1 AND key = $2)",
            )
            .bind(&c.plugin)
            .bind(key),
            // Written without being read: last writer wins, by the plugin's choice.
            (None, Some(value)) => sqlx::query(
                "INSERT INTO plugin_state (plugin, key, value, updated_at, version)                  VALUES ($1, $2, $3, $4, 1) ON CONFLICT (plugin, key) DO UPDATE SET                  value = excluded.value, updated_at = excluded.updated_at,                  version = plugin_state.version + 1",
            )
            .bind(&c.plugin)
            .bind(key)
            .bind(value)
            .bind(c.now_ms),
            (None, None) => {
                sqlx::query("DELETE FROM plugin_state WHERE plugin = $1 AND key = $2")
                    .bind(&c.plugin)
                    .bind(key)
                    .execute(&mut *conn)
                    .await
                    .map_err(query("commit_success: delete state"))?;
                continue;
            }
        };
        let changed = match (read.get(key.as_str()), value) {
            (Some(None), None) => applied
                .fetch_optional(&mut *conn)
                .await
                .map_err(query("commit_success: check state absent"))?
                .is_some(),
            _ => {
                applied
                    .execute(&mut *conn)
                    .await
                    .map_err(query("commit_success: write state"))?
                    .rows_affected()
                    > 0
            }
        };
        if !changed {
            return Ok(Some(key.clone()));
        }
    }
    Ok(None)
}

async fn write_outbox(conn: &mut AnyConnection, c: &Commit) -> Result<Vec<String>, StorageError> {
    let mut pending = Vec::new();
    for sms in &c.outbound {
        let status = if sms.suppressed {
            OutboxStatus::Suppressed
        } else {
            OutboxStatus::Pending
        };
        let inserted = sqlx::query(
            "INSERT INTO outbox (id, event_id, plugin, conversation_id, to_number, from_number, \
             body, status, attempts, next_attempt_at, created_at, updated_at, initiated, segments) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9, $9, $10, $11) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&sms.id)
        .bind(c.event_id.as_str())
        .bind(&c.plugin)
        .bind(sms.conversation_id.as_deref())
        .bind(&sms.to)
        .bind(&sms.from)
        .bind(&sms.body)
        .bind(status.as_str())
        .bind(c.now_ms)
        .bind(sms.initiated)
        .bind(i64::from(sms.segments))
        .execute(&mut *conn)
        .await
        .map_err(query("commit_success: insert outbox"))?
        .rows_affected();
        if inserted == 0 || sms.suppressed {
            continue;
        }
        pending.push(sms.id.clone());
        if let Some(conversation_id) = sms.conversation_id.as_deref() {
            sqlx::query(
                "INSERT INTO messages (conversation_id, direction, body, at_ms, event_id, outbox_id) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(conversation_id)
            .bind(Direction::Outbound.as_str())
            .bind(&sms.body)
            .bind(c.now_ms)
            .bind(c.event_id.as_str())
            .bind(&sms.id)
            .execute(&mut *conn)
            .await
            .map_err(query("commit_success: append outbound message"))?;
            sqlx::query(
                "UPDATE conversations SET last_message_at = $2 \
                 WHERE id = $1 AND last_message_at < $2",
            )
            .bind(conversation_id)
            .bind(c.now_ms)
            .execute(&mut *conn)
            .await
            .map_err(query("commit_success: touch conversation"))?;
        }
    }
    Ok(pending)
}

async fn write_jobs(conn: &mut AnyConnection, c: &Commit) -> Result<(), StorageError> {
    for job in &c.jobs {
        match job {
            JobChange::Schedule {
                key,
                name,
                due_at_ms,
                payload,
                conversation_id,
            } => sqlx::query(
                "INSERT INTO jobs (plugin, key, name, due_at, payload, conversation_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (plugin, key) DO UPDATE SET name = excluded.name, \
                 due_at = excluded.due_at, payload = excluded.payload, \
                 conversation_id = excluded.conversation_id, created_at = excluded.created_at",
            )
            .bind(&c.plugin)
            .bind(key)
            .bind(name)
            .bind(*due_at_ms)
            .bind(payload)
            .bind(conversation_id)
            .bind(c.now_ms)
            .execute(&mut *conn)
            .await
            .map_err(query("commit_success: schedule job"))?,
            JobChange::Cancel { key } => {
                sqlx::query("DELETE FROM jobs WHERE plugin = $1 AND key = $2")
                    .bind(&c.plugin)
                    .bind(key)
                    .execute(&mut *conn)
                    .await
                    .map_err(query("commit_success: cancel job"))?
            }
        };
    }
    Ok(())
}

async fn write_sla(conn: &mut AnyConnection, c: &Commit) -> Result<(), StorageError> {
    for change in &c.sla {
        match change {
            SlaChange::Track {
                item_id,
                kind,
                description,
                deadline_at_ms,
                dry_run,
            } => sqlx::query(
                "INSERT INTO sla_items (plugin, item_id, kind, description, deadline_at, \
                 created_at, resolved_at, dry_run) VALUES ($1, $2, $3, $4, $5, $6, NULL, $7) \
                 ON CONFLICT (plugin, item_id) DO UPDATE SET kind = excluded.kind, \
                 description = excluded.description, deadline_at = excluded.deadline_at, \
                 resolved_at = NULL, dry_run = excluded.dry_run",
            )
            .bind(&c.plugin)
            .bind(item_id)
            .bind(kind)
            .bind(description)
            .bind(*deadline_at_ms)
            .bind(c.now_ms)
            .bind(*dry_run)
            .execute(&mut *conn)
            .await
            .map_err(query("commit_success: track sla item"))?,
            SlaChange::Resolve { item_id } => sqlx::query(
                "UPDATE sla_items SET resolved_at = $3 \
                 WHERE plugin = $1 AND item_id = $2 AND resolved_at IS NULL",
            )
            .bind(&c.plugin)
            .bind(item_id)
            .bind(c.now_ms)
            .execute(&mut *conn)
            .await
            .map_err(query("commit_success: resolve sla item"))?,
        };
    }
    Ok(())
}

/// Inserts one `pending` alert; shared with [`Alerts::insert`].
pub(crate) async fn insert_alert(
    conn: &mut AnyConnection,
    alert: &HostAlert,
    now_ms: i64,
) -> Result<i64, StorageError> {
    let row = sqlx::query(
        "INSERT INTO alerts (kind, severity, plugin, version, conversation_id, message, fields, \
         created_at, status, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0) \
         RETURNING id",
    )
    .bind(alert.kind.as_str())
    .bind(alert.severity.as_str())
    .bind(&alert.plugin)
    .bind(&alert.version)
    .bind(&alert.conversation_id)
    .bind(&alert.message)
    .bind(encode_fields(&alert.fields))
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await
    .map_err(query("insert alert"))?;
    sqlx::Row::try_get(&row, "id").map_err(query("insert alert: read id"))
}
