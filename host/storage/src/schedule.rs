//! The scheduler's tables and claims: the last fired slot per cron job (`cron_marks`),
//! claiming due one-off jobs into job events, and the SLA ladder's rungs (`sla_rungs`).
//! Every claim is a conditional write, so with many replicas each firing happens once.

use agenthost_core::EventId;
use sqlx::{AnyConnection, Row};

use crate::alerts::HostAlert;
use crate::error::query;
use crate::events::{EventStatus, Inserted, NewEvent};
use crate::sql::{flag, limit};
use crate::{Storage, StorageError};

/// A one-off job taken out of `jobs` by [`Storage::claim_due_jobs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueJob {
    pub plugin: String,
    pub key: String,
    pub name: String,
    pub due_at_ms: i64,
    pub payload: String,
    pub conversation_id: Option<String>,
}

/// What [`Storage::fire_cron_slot`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotFiring {
    /// This caller moved the mark to the slot; the event insert reported this (`New`:
    /// publish it; `Duplicate`: it was stored before, publish only if never enqueued).
    Claimed(Inserted),
    /// The mark was not where the caller saw it: another replica fired (or is firing).
    Lost,
}

/// An open SLA item with how far up its ladder it has climbed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaLadderItem {
    pub plugin: String,
    pub item_id: String,
    pub kind: String,
    pub description: String,
    pub deadline_at_ms: i64,
    pub created_at_ms: i64,
    pub dry_run: bool,
    /// `(rung, deadline_at_ms it was climbed for)`, `None` before the first rung.
    pub climbed: Option<(i64, i64)>,
}

impl Storage {
    /// The schedule view: what the scheduler reads and marks — cron slots, one-off jobs and
    /// the SLA ladder.
    pub fn schedule(&self) -> Schedule {
        Schedule { db: self.clone() }
    }
}

/// The schedule view of [`Storage`] (see [`Storage::schedule`]): cron marks and slot
/// firings, due and upcoming one-off jobs, and the SLA ladder — and nothing else.
#[derive(Clone, Debug)]
pub struct Schedule {
    db: Storage,
}

impl Schedule {
    /// Every cron job's last fired (or baseline) slot, as `(plugin, job, slot_ms)`.
    pub async fn cron_marks(&self) -> Result<Vec<(String, String, i64)>, StorageError> {
        let rows = sqlx::query("SELECT plugin, job, last_slot_at FROM cron_marks")
            .fetch_all(&self.db.pool)
            .await
            .map_err(query("cron_marks"))?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("plugin")?,
                    r.try_get("job")?,
                    r.try_get("last_slot_at")?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(query("cron_marks: decode"))
    }

    /// Records `slot_ms` as a cron job's baseline unless it already has a mark (a job seen
    /// for the first time fires from its next slot, not a past one). `true` if recorded.
    pub async fn init_cron_mark(
        &self,
        plugin: &str,
        job: &str,
        slot_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let done = self
            .db
            .execute_write(
                "init_cron_mark",
                sqlx::query(
                    "INSERT INTO cron_marks (plugin, job, last_slot_at, updated_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (plugin, job) DO NOTHING",
                )
                .bind(plugin)
                .bind(job)
                .bind(slot_ms)
                .bind(now_ms),
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Fires one cron slot exactly once across replicas: in one transaction, moves the
    /// job's mark from `previous_slot_ms` (as the caller read it; `None`: no mark yet) to
    /// `slot_ms` and stores `event`. If the mark moved meanwhile, nothing is written and
    /// [`SlotFiring::Lost`] is returned.
    pub async fn fire_cron_slot(
        &self,
        plugin: &str,
        job: &str,
        previous_slot_ms: Option<i64>,
        slot_ms: i64,
        event: &NewEvent,
    ) -> Result<SlotFiring, StorageError> {
        let mut tx = self.db.begin_write("fire_cron_slot: begin").await?;
        let moved = match previous_slot_ms {
            Some(previous) => {
                sqlx::query(
                    "UPDATE cron_marks SET last_slot_at = $4, updated_at = $5 \
                 WHERE plugin = $1 AND job = $2 AND last_slot_at = $3",
                )
                .bind(plugin)
                .bind(job)
                .bind(previous)
                .bind(slot_ms)
                .bind(event.received_at_ms)
                .execute(&mut *tx)
                .await
            }
            None => {
                sqlx::query(
                    "INSERT INTO cron_marks (plugin, job, last_slot_at, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (plugin, job) DO NOTHING",
                )
                .bind(plugin)
                .bind(job)
                .bind(slot_ms)
                .bind(event.received_at_ms)
                .execute(&mut *tx)
                .await
            }
        }
        .map_err(query("fire_cron_slot: move mark"))?
        .rows_affected();
        if moved == 0 {
            tx.rollback("fire_cron_slot: rollback").await?;
            return Ok(SlotFiring::Lost);
        }
        let inserted = insert_job_event(&mut tx, event).await?;
        tx.commit("fire_cron_slot: commit").await?;
        Ok(SlotFiring::Claimed(inserted))
    }

    /// Takes up to `max_rows` one-off jobs due by `now_ms` out of `jobs` and stores the
    /// event `make_event` builds for each, in one transaction: a job is either still
    /// scheduled or has its event, never neither. Replicas skip each other's rows
    /// (PostgreSQL `SKIP LOCKED`; SQLite has one writer), so each job is claimed once.
    /// Returns each claimed job with what the event insert did.
    pub async fn claim_due_jobs(
        &self,
        now_ms: i64,
        max_rows: u32,
        make_event: impl Fn(&DueJob) -> NewEvent,
    ) -> Result<Vec<(DueJob, NewEvent, Inserted)>, StorageError> {
        let mut tx = self.db.begin_write("claim_due_jobs: begin").await?;
        let sql = format!(
            "DELETE FROM jobs WHERE (plugin, key) IN (SELECT plugin, key FROM jobs \
             WHERE due_at <= $1 ORDER BY due_at LIMIT $2 {}) \
             RETURNING plugin, key, name, due_at, payload, conversation_id",
            self.db.backend.claim_lock_clause()
        );
        let rows = sqlx::query(&sql)
            .bind(now_ms)
            .bind(limit(max_rows))
            .fetch_all(&mut *tx)
            .await
            .map_err(query("claim_due_jobs: delete due"))?;
        let mut jobs = rows
            .iter()
            .map(due_job)
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(query("claim_due_jobs: decode"))?;
        jobs.sort_by(|a, b| {
            (a.due_at_ms, &a.plugin, &a.key).cmp(&(b.due_at_ms, &b.plugin, &b.key))
        });
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            let event = make_event(&job);
            let inserted = insert_job_event(&mut tx, &event).await?;
            out.push((job, event, inserted));
        }
        tx.commit("claim_due_jobs: commit").await?;
        Ok(out)
    }

    /// The next `max_rows` one-off jobs still scheduled, soonest first (without taking
    /// them): what an operator checks to see the scheduler has work ahead.
    pub async fn upcoming_jobs(&self, max_rows: u32) -> Result<Vec<DueJob>, StorageError> {
        let rows = sqlx::query(
            "SELECT plugin, key, name, due_at, payload, conversation_id FROM jobs \
             ORDER BY due_at, plugin, key LIMIT $1",
        )
        .bind(limit(max_rows))
        .fetch_all(&self.db.pool)
        .await
        .map_err(query("upcoming_jobs"))?;
        rows.iter()
            .map(due_job)
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(query("upcoming_jobs: decode"))
    }

    /// Open SLA items whose first rung (half-way) is due by `now_ms` and whose ladder is
    /// not finished (`rung < top_rung`, or climbed for another deadline), oldest deadline
    /// first.
    pub async fn sla_ladder_due(
        &self,
        now_ms: i64,
        top_rung: i64,
        max_rows: u32,
    ) -> Result<Vec<SlaLadderItem>, StorageError> {
        let rows = sqlx::query(
            "SELECT s.plugin, s.item_id, s.kind, s.description, s.deadline_at, s.created_at, \
             s.dry_run, r.rung, r.deadline_at AS rung_deadline_at \
             FROM sla_items s LEFT JOIN sla_rungs r \
             ON r.plugin = s.plugin AND r.item_id = s.item_id \
             WHERE s.resolved_at IS NULL \
             AND s.created_at + (s.deadline_at - s.created_at) / 2 <= $1 \
             AND (r.rung IS NULL OR r.rung < $2 OR r.deadline_at <> s.deadline_at) \
             ORDER BY s.deadline_at, s.plugin, s.item_id LIMIT $3",
        )
        .bind(now_ms)
        .bind(top_rung)
        .bind(limit(max_rows))
        .fetch_all(&self.db.pool)
        .await
        .map_err(query("sla_ladder_due"))?;
        rows.iter()
            .map(|r| {
                let rung: Option<i64> = r.try_get("rung")?;
                let rung_deadline: Option<i64> = r.try_get("rung_deadline_at")?;
                Ok(SlaLadderItem {
                    plugin: r.try_get("plugin")?,
                    item_id: r.try_get("item_id")?,
                    kind: r.try_get("kind")?,
                    description: r.try_get("description")?,
                    deadline_at_ms: r.try_get("deadline_at")?,
                    created_at_ms: r.try_get("created_at")?,
                    dry_run: flag(r, "dry_run")?,
                    climbed: rung.zip(rung_deadline),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(query("sla_ladder_due: decode"))
    }

    /// Moves `item`'s ladder from where the caller read it (`item.climbed`) to `rung` for
    /// the item's current deadline and, in the same transaction, stores `alert` (if any).
    /// Returns `false`, writing nothing, if another replica moved it first.
    pub async fn climb_sla_ladder(
        &self,
        item: &SlaLadderItem,
        rung: i64,
        alert: Option<&HostAlert>,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let (plugin, item_id, deadline_at_ms) = (&item.plugin, &item.item_id, item.deadline_at_ms);
        let mut tx = self.db.begin_write("climb_sla_ladder: begin").await?;
        let moved = match item.climbed {
            Some((from_rung, from_deadline)) => {
                sqlx::query(
                    "UPDATE sla_rungs SET rung = $5, deadline_at = $6, updated_at = $7 \
                 WHERE plugin = $1 AND item_id = $2 AND rung = $3 AND deadline_at = $4",
                )
                .bind(plugin)
                .bind(item_id)
                .bind(from_rung)
                .bind(from_deadline)
                .bind(rung)
                .bind(deadline_at_ms)
                .bind(now_ms)
                .execute(&mut *tx)
                .await
            }
            None => {
                sqlx::query(
                    "INSERT INTO sla_rungs (plugin, item_id, rung, deadline_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (plugin, item_id) DO NOTHING",
                )
                .bind(plugin)
                .bind(item_id)
                .bind(rung)
                .bind(deadline_at_ms)
                .bind(now_ms)
                .execute(&mut *tx)
                .await
            }
        }
        .map_err(query("climb_sla_ladder: move rung"))?
        .rows_affected();
        if moved == 0 {
            tx.rollback("climb_sla_ladder: rollback").await?;
            return Ok(false);
        }
        if let Some(alert) = alert {
            crate::commit::insert_alert(&mut tx, alert, now_ms).await?;
        }
        tx.commit("climb_sla_ladder: commit").await?;
        Ok(true)
    }
}

/// Stores one job event unless its dedupe key exists, reporting which (like
/// [`Events::insert`] for one event without an inbound message).
async fn insert_job_event(
    conn: &mut AnyConnection,
    e: &NewEvent,
) -> Result<Inserted, StorageError> {
    let status = if e.plugin.is_some() {
        EventStatus::Queued
    } else {
        EventStatus::Unrouted
    };
    let inserted = sqlx::query(
        "INSERT INTO events (id, dedupe_key, kind, plugin, conversation_id, payload, status, \
         received_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(e.id.as_str())
    .bind(&e.dedupe_key)
    .bind(e.kind.as_str())
    .bind(&e.plugin)
    .bind(e.conversation_id.as_deref())
    .bind(&e.payload)
    .bind(status.as_str())
    .bind(e.received_at_ms)
    .execute(&mut *conn)
    .await
    .map_err(query("insert job event"))?
    .rows_affected();
    if inserted > 0 {
        return Ok(Inserted::New);
    }
    let row = sqlx::query("SELECT id, status, enqueued FROM events WHERE dedupe_key = $1")
        .bind(&e.dedupe_key)
        .fetch_one(&mut *conn)
        .await
        .map_err(query("insert job event: look up duplicate"))?;
    let decode = || query("insert job event: read duplicate");
    Ok(Inserted::Duplicate {
        id: EventId::from(row.try_get::<String, _>("id").map_err(decode())?),
        status: EventStatus::from_db(row.try_get("status").map_err(decode())?)?,
        enqueued: flag(&row, "enqueued").map_err(decode())?,
    })
}

/// A `jobs` row selected as `plugin, key, name, due_at, payload, conversation_id`.
fn due_job(r: &sqlx::any::AnyRow) -> Result<DueJob, sqlx::Error> {
    Ok(DueJob {
        plugin: r.try_get("plugin")?,
        key: r.try_get("key")?,
        name: r.try_get("name")?,
        due_at_ms: r.try_get("due_at")?,
        payload: r.try_get("payload")?,
        conversation_id: r.try_get("conversation_id")?,
    })
}
