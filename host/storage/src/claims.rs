//! Worker claims on events: the lease that lets exactly one worker of any replica handle
//! an event — and, for events of a conversation, the ONLY event of that conversation — at
//! a time, the delivery count that makes crash redeliveries count as attempts, and the
//! conversation order (an event runs only once every earlier event of its conversation
//! finished).
//!
//! A claim is one write transaction:
//! 1. the event must still be `queued` (else: finished, nothing to do);
//! 2. the conversation may not be taken over by a person (else: held — see `console`),
//!    and no earlier event of it may still be `queued` (else: behind);
//! 3. the lease row of its key (the conversation, or `event:<id>`) is inserted, or taken
//!    over if its holder's lease ran out (an upsert whose update only applies to an
//!    expired row, so of two concurrent claimers one wins on both backends);
//! 4. `deliveries` is raised (and a hold whose pause ran out is cleared: the plugin
//!    handles the event now).
//!
//! The holder's heartbeat ([`Claims::extend_leases`]) keeps its leases alive while it
//! works; its commit, retry or dead letter deletes the lease row only if the token still
//! matches, so a worker that lost its lease can never commit.

use sqlx::Row;

use crate::batch::Staged;
use crate::error::query;
use crate::events::EventStatus;
use crate::{Storage, StorageError};

/// A held lease: the row key and the holder's unique token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub key: String,
    pub token: String,
}

impl Lease {
    /// The lease key of an event: its conversation, or the event itself.
    pub fn key_for(event_id: &str, conversation_id: Option<&str>) -> String {
        match conversation_id {
            Some(c) => format!("conversation:{c}"),
            None => format!("event:{event_id}"),
        }
    }
}

/// A successful claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub lease: Lease,
    /// Deliveries of this event so far, this one included.
    pub deliveries: i64,
    /// Of those, the ones that ended in a host-side failure (not the plugin's doing).
    pub host_failures: i64,
}

/// What [`Claims::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    Claimed(Claimed),
    /// Not `queued` any more (done, dead): the delivery is a leftover.
    Finished(EventStatus),
    /// Another worker holds the conversation (or event) until `until_ms`.
    Busy {
        until_ms: i64,
    },
    /// An earlier event of the same conversation has not finished yet.
    Behind {
        earlier: String,
    },
    /// No such event.
    Missing,
    /// The event's conversation is taken over by a person: the event is held until the
    /// pause ends (see `console`). No lease taken.
    Held,
}

/// How a failed delivery is recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure<'a> {
    /// A host-side failure (storage, pool, commit): not counted against the plugin.
    pub host: bool,
    pub error: &'a str,
    /// When the event should run again (the retry delay's end).
    pub due_at_ms: i64,
}

impl Storage {
    /// The claims view: a worker's hold on an event — the claim and its lease, extending
    /// and releasing it, a recorded failure — and the one commit that applies an
    /// invocation's effects under it.
    pub fn claims(&self) -> Claims {
        Claims { db: self.clone() }
    }
}

/// The claims view of [`Storage`] (see [`Storage::claims`]): claiming an event under a
/// lease (and its conversation's), keeping the lease, releasing it, recording a failed
/// attempt, and committing an invocation's effects checked against the lease — and
/// nothing else.
#[derive(Clone, Debug)]
pub struct Claims {
    pub(crate) db: Storage,
}

impl Claims {
    /// Claims `event_id` for the worker `owner` with lease `token` until
    /// `now_ms + lease_ms`. See the module docs.
    pub async fn claim(
        &self,
        event_id: &str,
        owner: &str,
        token: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Claim, StorageError> {
        let (event_id, owner, token) = (event_id.to_owned(), owner.to_owned(), token.to_owned());
        let backend = self.db.backend;
        self.db
            .relaxed_batch("claim_event", move |conn| {
                Box::pin(async move {
                    claim_in(conn, backend, &event_id, &owner, &token, now_ms, lease_ms).await
                })
            })
            .await
    }

    /// When the live lease on `key` ends, if one is held at `now_ms`: a read, for a
    /// caller that wants to know whether a claim could succeed before preparing for it
    /// (the claim itself decides).
    pub async fn lease_held_until(
        &self,
        key: &str,
        now_ms: i64,
    ) -> Result<Option<i64>, StorageError> {
        sqlx::query("SELECT until_ms FROM leases WHERE key = $1 AND until_ms > $2")
            .bind(key)
            .bind(now_ms)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(query("lease_held_until"))?
            .map(|r| r.try_get("until_ms"))
            .transpose()
            .map_err(query("lease_held_until: decode"))
    }

    /// The heartbeat: pushes the leases `owner` still works under (`tokens`) to
    /// `until_ms` — event leases and the outbox rows claimed under those tokens — in one
    /// transaction. Only the named tokens: a lease its worker could not give back (the
    /// database was down) must lapse, not live on. Returns how many were extended.
    pub async fn extend_leases(
        &self,
        owner: &str,
        tokens: &[String],
        until_ms: i64,
    ) -> Result<u64, StorageError> {
        if tokens.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db.begin_relaxed_write("extend_leases: begin").await?;
        let mut extended = 0;
        for chunk in tokens.chunks(crate::sql::MAX_ROWS_PER_STATEMENT) {
            let list = |first: usize| {
                (first..first + chunk.len())
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let events = format!(
                "UPDATE leases SET until_ms = $1 WHERE owner = $2 AND token IN ({})",
                list(3)
            );
            let mut q = sqlx::query(&events).bind(until_ms).bind(owner);
            for token in chunk {
                q = q.bind(token);
            }
            extended += q
                .execute(&mut *tx)
                .await
                .map_err(query("extend_leases: events"))?
                .rows_affected();
            // The outbox has no owner column; its tokens are unique per process start.
            let outbox = format!(
                "UPDATE outbox SET lease_until = $1 WHERE status = 'sending' \
                 AND lease_token IN ({})",
                list(2)
            );
            let mut q = sqlx::query(&outbox).bind(until_ms);
            for token in chunk {
                q = q.bind(token);
            }
            extended += q
                .execute(&mut *tx)
                .await
                .map_err(query("extend_leases: outbox"))?
                .rows_affected();
        }
        tx.commit("extend_leases: commit").await?;
        Ok(extended)
    }

    /// Makes every outbox row a predecessor left `sending` claimable now (as ambiguous:
    /// it is looked up at Twilio before any resend). Only for a process that owns the
    /// database alone, at start.
    pub async fn expire_outbox_leases(&self, now_ms: i64) -> Result<u64, StorageError> {
        let done = self.db
            .execute_write(
                "expire_outbox_leases",
                sqlx::query(
                    "UPDATE outbox SET lease_until = $1 WHERE status = 'sending' AND lease_until > $1",
                )
                .bind(now_ms),
            )
            .await?;
        Ok(done.rows_affected())
    }

    /// Gives a lease up (the worker stops without committing, e.g. at shutdown). `false`
    /// if it was no longer held.
    pub async fn release(&self, lease: &Lease) -> Result<bool, StorageError> {
        let done = self
            .db
            .execute_write(
                "release_lease",
                sqlx::query("DELETE FROM leases WHERE key = $1 AND token = $2")
                    .bind(&lease.key)
                    .bind(&lease.token),
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Drops every lease: only for a process that owns the database alone (the embedded
    /// default, under its data-directory lock) at start, when every lease left behind
    /// belongs to a predecessor that died.
    pub async fn release_all(&self) -> Result<u64, StorageError> {
        let done = self
            .db
            .execute_write("release_all_leases", sqlx::query("DELETE FROM leases"))
            .await?;
        Ok(done.rows_affected())
    }

    /// Records a failed delivery and gives the lease up, in one transaction: the event
    /// stays `queued`, due again at `failure.due_at_ms`. Returns `false` (changing nothing)
    /// if the lease was lost or the event is no longer queued.
    pub async fn record_failure(
        &self,
        event_id: &str,
        lease: &Lease,
        failure: &Failure<'_>,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let mut tx = self.db.begin_relaxed_write("record_failure: begin").await?;
        let held = delete_lease(&mut tx, lease, "record_failure: release lease").await?;
        if !held {
            tx.rollback("record_failure: rollback").await?;
            return Ok(false);
        }
        let host = i64::from(failure.host);
        let updated = sqlx::query(
            "UPDATE events SET host_failures = host_failures + $2, \
             attempts = deliveries - host_failures - $2, last_error = $3, due_at = $4, \
             updated_at = $5 WHERE id = $1 AND status = 'queued'",
        )
        .bind(event_id)
        .bind(host)
        .bind(failure.error)
        .bind(failure.due_at_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(query("record_failure: update event"))?
        .rows_affected();
        tx.commit("record_failure: commit").await?;
        Ok(updated > 0)
    }

    /// Marks `event_id` due again at `due_at_ms` (a delivery bounced off a busy
    /// conversation, or was republished), so the reconciler measures from there.
    pub async fn set_event_due(&self, event_id: &str, due_at_ms: i64) -> Result<(), StorageError> {
        self.db
            .execute_write(
                "set_event_due",
                sqlx::query("UPDATE events SET due_at = $2 WHERE id = $1 AND status = 'queued'")
                    .bind(event_id)
                    .bind(due_at_ms),
            )
            .await?;
        Ok(())
    }
}

/// Deletes `lease` inside a transaction; `true` if it was still held by its token.
pub(crate) async fn delete_lease(
    conn: &mut sqlx::AnyConnection,
    lease: &Lease,
    op: &'static str,
) -> Result<bool, StorageError> {
    Ok(
        sqlx::query("DELETE FROM leases WHERE key = $1 AND token = $2")
            .bind(&lease.key)
            .bind(&lease.token)
            .execute(&mut *conn)
            .await
            .map_err(query(op))?
            .rows_affected()
            > 0,
    )
}

/// [`Claims::claim`] inside the group commit's transaction.
async fn claim_in(
    conn: &mut sqlx::AnyConnection,
    backend: crate::Backend,
    event_id: &str,
    owner: &str,
    token: &str,
    now_ms: i64,
    lease_ms: i64,
) -> Result<Staged<Claim>, StorageError> {
    let Some(row) =
        sqlx::query("SELECT status, conversation_id, received_at FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(query("claim_event: read event"))?
    else {
        return Ok(Staged::Undo(Claim::Missing));
    };
    let decode = || query("claim_event: decode event");
    let status = EventStatus::from_db(row.try_get("status").map_err(decode())?)?;
    if status != EventStatus::Queued {
        return Ok(Staged::Undo(Claim::Finished(status)));
    }
    let conversation: Option<String> = row.try_get("conversation_id").map_err(decode())?;
    let received_at: i64 = row.try_get("received_at").map_err(decode())?;
    if let Some(c) = &conversation {
        if let Some(takeover) = crate::console::paused_in(conn, backend, c, now_ms).await? {
            crate::console::hold_event_in(conn, event_id, &takeover, now_ms).await?;
            return Ok(Staged::Keep(Claim::Held));
        }
        let earlier = sqlx::query(
            "SELECT id FROM events WHERE conversation_id = $1 AND status = 'queued' \
             AND (received_at < $2 OR (received_at = $2 AND id < $3)) \
             ORDER BY received_at, id LIMIT 1",
        )
        .bind(c)
        .bind(received_at)
        .bind(event_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(query("claim_event: look for earlier events"))?;
        if let Some(earlier) = earlier {
            let earlier: String = earlier
                .try_get("id")
                .map_err(query("claim_event: decode earlier"))?;
            return Ok(Staged::Undo(Claim::Behind { earlier }));
        }
    }
    let key = Lease::key_for(event_id, conversation.as_deref());
    let until = now_ms.saturating_add(lease_ms);
    let taken = sqlx::query(
        "INSERT INTO leases (key, event_id, token, owner, until_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (key) DO UPDATE SET event_id = excluded.event_id, token = excluded.token, \
         owner = excluded.owner, until_ms = excluded.until_ms \
         WHERE leases.until_ms < $6",
    )
    .bind(&key)
    .bind(event_id)
    .bind(token)
    .bind(owner)
    .bind(until)
    .bind(now_ms)
    .execute(&mut *conn)
    .await
    .map_err(query("claim_event: take lease"))?
    .rows_affected();
    if taken == 0 {
        let holder_until: i64 = sqlx::query("SELECT until_ms FROM leases WHERE key = $1")
            .bind(&key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(query("claim_event: read lease"))?
            .map(|r| r.try_get("until_ms"))
            .transpose()
            .map_err(query("claim_event: decode lease"))?
            .unwrap_or(now_ms);
        return Ok(Staged::Undo(Claim::Busy {
            until_ms: holder_until,
        }));
    }
    let counts = sqlx::query(
        "UPDATE events SET deliveries = deliveries + 1, updated_at = $2, held = NULL \
         WHERE id = $1 RETURNING deliveries, host_failures",
    )
    .bind(event_id)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await
    .map_err(query("claim_event: count delivery"))?;
    let decode = || query("claim_event: decode counts");
    let claimed = Claimed {
        lease: Lease {
            key,
            token: token.to_owned(),
        },
        deliveries: counts.try_get("deliveries").map_err(decode())?,
        host_failures: counts.try_get("host_failures").map_err(decode())?,
    };
    Ok(Staged::Keep(Claim::Claimed(claimed)))
}
