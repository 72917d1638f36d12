//! Embedded backend: lanes as rows in the host's own database (SQLite by default,
//! PostgreSQL when shared), claimed under leases. Durable because the database is.
//!
//! Tables (migration `0002_queue` in `agenthost-storage`): `queue_items` holds waiting and
//! leased messages, `queue_dead` the dead letters. Claiming a row sets `leased_by` to a
//! fresh token and pushes both `lease_until` and `available_at` to the lease's end, so a
//! row is ready exactly when `available_at <= now`: the claim query is one index range,
//! and a leased row whose consumer died becomes ready again by itself. Every settlement
//! matches on the token, so a consumer whose lease expired cannot touch the row once
//! another consumer holds it.
//!
//! The consumer's process extends its leases while it works (`Queue::keep_alive`, the
//! worker's heartbeat), so the lease can be short: a consumer that dies loses its rows
//! within one lease, one that lives keeps them however long its plugin runs.
//!
//! Claims are atomic: SQLite runs one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING`
//! (one writer at a time); PostgreSQL adds `FOR UPDATE SKIP LOCKED` to the sub-select so
//! concurrent claimers (other replicas included) skip each other's rows.
//!
//! Durability on SQLite: a publish is a full commit; claims, lease extensions, acks and
//! retries are relaxed writes (`Storage`'s docs): a power failure can roll them back,
//! which makes a message deliverable again — at least once still holds.
//!
//! Latency: a publish wakes this process's waiting consumers of that lane at once (one
//! `Notify` per lane). An idle consumer does not poll the database itself: one watcher
//! per process looks, every `poll_interval` or sooner, at when each lane consumed here is
//! next ready (work published by other replicas, a retry's delay ending, a lease
//! lapsing) and wakes the lanes that are — a few index seeks per lane in one query per
//! 500 lanes, where one poller per consumer cost a claim (a write) per slot per lane
//! each interval: 1,000 plugins with 4 slots each kept both cores busy doing nothing.

use std::collections::{HashMap, HashSet};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agenthost_core::{Backoff, now_ms};
use agenthost_storage::{Backend, Storage, StorageError, WriteTx};
use async_trait::async_trait;
use sqlx::{AnyPool, Row};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::sleep;

use crate::delivery::{Settle, Settlement};
use crate::{Consumer, Delivery, Queue, QueueError, QueueMessage, Settled, validate_lane};

/// Rows per multi-row `INSERT`: 4 binds each keeps far below SQLite's and PostgreSQL's
/// bind-parameter limits.
const MAX_ROWS_PER_INSERT: usize = 200;
/// First pause after a failed claim; doubles up to `CLAIM_RETRY_MAX`.
const CLAIM_RETRY_MIN: Duration = Duration::from_millis(50);
/// Longest pause between claim attempts while the database is failing.
const CLAIM_RETRY_MAX: Duration = Duration::from_secs(5);
/// Lanes the watcher asks about per query (one bind each).
const WATCH_LANES_PER_QUERY: usize = 500;
/// The watcher's shortest pause between looks, so rows ready while every consumer is busy
/// do not make it spin.
const WATCH_MIN_PAUSE: Duration = Duration::from_millis(5);
/// An idle consumer looks by itself after this long even without a wake-up: a safety net
/// should the watcher's wake-up ever be missed, not the way work is found.
const IDLE_FALLBACK: Duration = Duration::from_secs(30);
/// Consecutive claim failures after which each further one is logged as an error.
const CLAIM_FAILURES_BEFORE_ERROR: u32 = 10;

/// How the embedded queue leases and polls.
#[derive(Clone, Copy, Debug)]
pub struct EmbeddedConfig {
    /// How long a delivered message stays invisible to other consumers before it is
    /// delivered again, unless extended by `Queue::keep_alive`. Call `keep_alive` several
    /// times per lease while deliveries are out.
    pub lease: Duration,
    /// How often an idle consumer looks for messages published by other processes.
    /// Publishes in this process wake consumers at once regardless.
    pub poll_interval: Duration,
}

impl Default for EmbeddedConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(10),
            poll_interval: Duration::from_millis(250),
        }
    }
}

/// A queue stored in the host's database. Cheap to clone; clones share wake-ups.
#[derive(Clone)]
pub struct EmbeddedQueue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmbeddedQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedQueue")
            .field("backend", &self.inner.backend)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

struct Inner {
    /// Writes take its SQLite writer turn; reads go straight to the pool.
    storage: Storage,
    pool: AnyPool,
    /// Claims, lease extensions and settlements: relaxed writes (see `Storage`). Losing
    /// them in a power failure only makes a message deliverable again; a publish stays
    /// on `pool`, durable when it returns.
    relaxed: AnyPool,
    backend: Backend,
    config: EmbeddedConfig,
    lease_ms: i64,
    /// One wake-up per lane, for consumers in this process.
    wakers: Mutex<HashMap<String, Arc<Notify>>>,
    /// Whether the watcher that wakes idle lanes runs (started by the first consumer).
    watching: std::sync::atomic::AtomicBool,
    /// Unique to this queue handle; with `next_token`, makes lease tokens unique across
    /// processes and replicas.
    owner: String,
    next_token: AtomicU64,
    /// Tokens of the deliveries this handle has out: what `keep_alive` extends. A token
    /// leaves when its delivery is settled or given back, even if writing that failed, so
    /// a lease this process could not return lapses instead of living on.
    outstanding: Mutex<HashSet<String>>,
}

impl EmbeddedQueue {
    /// A queue over `storage`'s database, whose schema (migration `0002_queue`) the storage
    /// crate applied at connect.
    pub fn new(storage: &Storage, config: EmbeddedConfig) -> Result<Self, QueueError> {
        if config.lease.is_zero() || config.poll_interval.is_zero() {
            return Err(QueueError::Config(format!(
                "embedded queue lease ({:?}) and poll_interval ({:?}) must be positive",
                config.lease, config.poll_interval
            )));
        }
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Ok(Self {
            inner: Arc::new(Inner {
                storage: storage.clone(),
                pool: storage.pool().clone(),
                relaxed: storage.relaxed_pool().clone(),
                backend: storage.backend(),
                config,
                lease_ms: millis(config.lease),
                wakers: Mutex::new(HashMap::new()),
                watching: std::sync::atomic::AtomicBool::new(false),
                owner: format!("{}-{started:x}", std::process::id()),
                next_token: AtomicU64::new(0),
                outstanding: Mutex::new(HashSet::new()),
            }),
        })
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn publish(&self, lane: &str, messages: &[QueueMessage]) -> Result<(), QueueError> {
        validate_lane(lane)?;
        if messages.is_empty() {
            return Ok(());
        }
        let inner = &self.inner;
        let now = now_ms();
        if messages.len() <= MAX_ROWS_PER_INSERT {
            let _turn = inner.storage.writer_turn().await;
            let sql = insert_sql(messages.len());
            bind_insert(&sql, lane, messages, now)
                .execute(&inner.pool)
                .await
                .map_err(storage("publish", lane))?;
        } else {
            let (mut tx, _turn) = inner
                .begin_write()
                .await
                .map_err(storage("publish", lane))?;
            for chunk in messages.chunks(MAX_ROWS_PER_INSERT) {
                let sql = insert_sql(chunk.len());
                bind_insert(&sql, lane, chunk, now)
                    .execute(&mut *tx)
                    .await
                    .map_err(storage("publish", lane))?;
            }
            tx.commit().await.map_err(storage("publish", lane))?;
        }
        inner.wake(lane);
        Ok(())
    }

    fn in_storage(&self) -> bool {
        true
    }

    async fn publish_in(
        &self,
        tx: &mut WriteTx,
        lane: &str,
        messages: &[QueueMessage],
    ) -> Result<(), QueueError> {
        validate_lane(lane)?;
        let now = now_ms();
        for chunk in messages.chunks(MAX_ROWS_PER_INSERT) {
            let sql = insert_sql(chunk.len());
            bind_insert(&sql, lane, chunk, now)
                .execute(&mut **tx)
                .await
                .map_err(storage("publish", lane))?;
        }
        Ok(())
    }

    fn published(&self, lane: &str) {
        self.inner.wake(lane);
    }

    async fn consume(&self, lane: &str, prefetch: u16) -> Result<Box<dyn Consumer>, QueueError> {
        validate_lane(lane)?;
        if prefetch == 0 {
            return Err(QueueError::InvalidPrefetch {
                lane: lane.to_owned(),
            });
        }
        let (abandoned_tx, abandoned_rx) = mpsc::unbounded_channel();
        let waker = self.inner.waker(lane);
        self.inner.watch();
        Ok(Box::new(EmbeddedConsumer {
            inner: self.inner.clone(),
            lane: lane.to_owned(),
            waker,
            slots: Arc::new(Semaphore::new(usize::from(prefetch))),
            abandoned_tx,
            abandoned_rx,
            failures: 0,
        }))
    }

    async fn depth(&self, lane: &str) -> Result<u64, QueueError> {
        validate_lane(lane)?;
        let count: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM queue_items WHERE lane = $1 AND available_at <= $2",
        )
        .bind(lane)
        .bind(now_ms())
        .fetch_one(&self.inner.pool)
        .await
        .and_then(|row| row.try_get("n"))
        .map_err(storage("depth", lane))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn dead_depth(&self, lane: &str) -> Result<u64, QueueError> {
        validate_lane(lane)?;
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM queue_dead WHERE lane = $1")
            .bind(lane)
            .fetch_one(&self.inner.pool)
            .await
            .and_then(|row| row.try_get("n"))
            .map_err(storage("dead_depth", lane))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn ping(&self) -> Result<(), QueueError> {
        sqlx::query("SELECT 1")
            .execute(&self.inner.pool)
            .await
            .map(drop)
            .map_err(|source| QueueError::Ping { source })
    }

    async fn keep_alive(&self) -> Result<(), QueueError> {
        let inner = &self.inner;
        let tokens: Vec<String> = inner
            .outstanding
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect();
        let until = now_ms().saturating_add(inner.lease_ms);
        for chunk in tokens.chunks(MAX_ROWS_PER_INSERT) {
            let sql = format!(
                "UPDATE queue_items SET lease_until = $1, available_at = $1 \
                 WHERE leased_by IN ({})",
                (2..2 + chunk.len())
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut q = sqlx::query(&sql).bind(until);
            for token in chunk {
                q = q.bind(token.as_str());
            }
            let _turn = inner.storage.writer_turn().await;
            q.execute(&inner.relaxed)
                .await
                .map_err(storage("keep_alive", "*"))?;
        }
        Ok(())
    }

    async fn release_all_leases(&self) -> Result<u64, QueueError> {
        let inner = &self.inner;
        let _turn = inner.storage.writer_turn().await;
        let released = sqlx::query(
            "UPDATE queue_items SET available_at = $1, lease_until = NULL, leased_by = NULL \
             WHERE leased_by IS NOT NULL",
        )
        .bind(now_ms())
        .execute(&inner.pool)
        .await
        .map_err(storage("release_all_leases", "*"))?
        .rows_affected();
        Ok(released)
    }
}

/// A claimed row.
struct Claimed {
    id: i64,
    token: String,
    message: QueueMessage,
}

/// A leased row whose delivery was dropped unsettled.
struct Abandoned {
    id: i64,
    token: String,
}

impl Inner {
    fn waker(&self, lane: &str) -> Arc<Notify> {
        let mut wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        wakers.entry(lane.to_owned()).or_default().clone()
    }

    /// Wakes this process's consumers of `lane` waiting for work.
    fn wake(&self, lane: &str) {
        let wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(waker) = wakers.get(lane) {
            waker.notify_waiters();
        }
    }

    /// Opens a transaction that will write. SQLite's plain `BEGIN` would take the write
    /// lock only at the first write and could then fail busy; `IMMEDIATE` queues instead.
    /// Holds the SQLite writer turn for as long as the returned guard lives.
    async fn begin_write(
        &self,
    ) -> Result<
        (
            sqlx::Transaction<'static, sqlx::Any>,
            Option<tokio::sync::OwnedMutexGuard<()>>,
        ),
        sqlx::Error,
    > {
        let begin = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        let turn = self.storage.writer_turn().await;
        Ok((self.pool.begin_with(begin).await?, turn))
    }

    fn new_token(&self) -> String {
        let n = self.next_token.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.owner)
    }

    /// Leases the lane's oldest ready row, if any (a relaxed write, in the group commit).
    async fn claim(&self, lane: &str) -> Result<Option<Claimed>, StorageError> {
        let lock = match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE queue_items SET available_at = $1, lease_until = $1, leased_by = $2 \
             WHERE id = (SELECT id FROM queue_items WHERE lane = $3 AND available_at <= $4 \
                 ORDER BY available_at, id LIMIT 1 {lock}) \
             RETURNING id, event_id, attempt"
        );
        let now = now_ms();
        let token = self.new_token();
        let until = now.saturating_add(self.lease_ms);
        let (lane, leased_by) = (lane.to_owned(), token.clone());
        let row = self
            .storage
            .relaxed_statement("queue claim", move |conn| {
                Box::pin(async move {
                    let row = sqlx::query(&sql)
                        .bind(until)
                        .bind(leased_by.as_str())
                        .bind(lane.as_str())
                        .bind(now)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(StorageError::query("queue claim"))?;
                    let decoded = match row {
                        None => None,
                        Some(row) => {
                            let decode = || StorageError::query("queue claim: decode");
                            Some((
                                row.try_get::<i64, _>("id").map_err(decode())?,
                                row.try_get::<String, _>("event_id").map_err(decode())?,
                                row.try_get::<i64, _>("attempt").map_err(decode())?,
                            ))
                        }
                    };
                    Ok(decoded)
                })
            })
            .await?;
        let Some((id, event_id, attempt)) = row else {
            return Ok(None);
        };
        self.outstanding
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone());
        Ok(Some(Claimed {
            id,
            token,
            message: QueueMessage {
                event_id: event_id.into(),
                attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
            },
        }))
    }

    /// When each of `lanes` next has a row ready (a retry delay or lease ending, or now),
    /// for the lanes holding any row.
    async fn lanes_next_ready(&self, lanes: &[String]) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let mut next = Vec::new();
        for chunk in lanes.chunks(WATCH_LANES_PER_QUERY) {
            let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT lane, MIN(available_at) AS next FROM queue_items \
                 WHERE lane IN ({}) GROUP BY lane",
                params.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for lane in chunk {
                query = query.bind(lane.as_str());
            }
            for row in query.fetch_all(&self.pool).await? {
                next.push((row.try_get("lane")?, row.try_get("next")?));
            }
        }
        Ok(next)
    }

    /// Starts the watcher once per queue handle: it wakes the lanes consumed here whose
    /// rows become ready without a publish from this process, then sleeps until the
    /// next one is due, `poll_interval` at most. Ends with the queue handle.
    fn watch(self: &Arc<Self>) {
        if self.watching.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(self);
        let poll = self.config.poll_interval;
        tokio::spawn(async move {
            loop {
                let Some(inner) = weak.upgrade() else { return };
                let lanes: Vec<String> = inner
                    .wakers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .keys()
                    .cloned()
                    .collect();
                let now = now_ms();
                let mut pause = poll;
                match inner.lanes_next_ready(&lanes).await {
                    Ok(next) => {
                        for (lane, at) in next {
                            if at <= now {
                                inner.wake(&lane);
                            } else {
                                let until = u64::try_from(at - now).unwrap_or(0);
                                // Round up: waking a millisecond early finds nothing.
                                pause = pause.min(Duration::from_millis(until + 1));
                            }
                        }
                    }
                    Err(error) => {
                        tracing::debug!(error = %error, "embedded queue: watching the lanes failed");
                    }
                }
                drop(inner);
                sleep(pause.max(WATCH_MIN_PAUSE)).await;
            }
        });
    }

    /// This process no longer works under `token`: `keep_alive` stops extending it.
    fn forget(&self, token: &str) {
        self.outstanding
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }

    /// Makes an abandoned row ready again now (if it is still ours).
    async fn release(&self, lane: &str, abandoned: &Abandoned) -> Result<bool, StorageError> {
        self.forget(&abandoned.token);
        let (id, token, now) = (abandoned.id, abandoned.token.clone(), now_ms());
        let released = self
            .storage
            .relaxed_statement("queue release", move |conn| {
                Box::pin(async move {
                    let released = sqlx::query(
                        "UPDATE queue_items SET available_at = $1, lease_until = NULL, \
                         leased_by = NULL WHERE id = $2 AND leased_by = $3",
                    )
                    .bind(now)
                    .bind(id)
                    .bind(token.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(StorageError::query("queue release"))?
                    .rows_affected();
                    Ok(released > 0)
                })
            })
            .await?;
        if released {
            self.wake(lane);
        }
        Ok(released)
    }

    async fn ack(&self, id: i64, token: &str) -> Result<bool, StorageError> {
        let token = token.to_owned();
        self.storage
            .relaxed_statement("queue ack", move |conn| {
                Box::pin(async move {
                    let deleted =
                        sqlx::query("DELETE FROM queue_items WHERE id = $1 AND leased_by = $2")
                            .bind(id)
                            .bind(token.as_str())
                            .execute(&mut *conn)
                            .await
                            .map_err(StorageError::query("queue ack"))?
                            .rows_affected();
                    Ok(deleted > 0)
                })
            })
            .await
    }

    async fn retry(
        &self,
        lane: &str,
        id: i64,
        token: &str,
        delay: Duration,
    ) -> Result<bool, StorageError> {
        let (token, available_at) = (token.to_owned(), now_ms().saturating_add(millis(delay)));
        let updated = self
            .storage
            .relaxed_statement("queue retry", move |conn| {
                Box::pin(async move {
                    let updated = sqlx::query(
                        "UPDATE queue_items SET attempt = attempt + 1, available_at = $1, \
                         lease_until = NULL, leased_by = NULL WHERE id = $2 AND leased_by = $3",
                    )
                    .bind(available_at)
                    .bind(id)
                    .bind(token.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(StorageError::query("queue retry"))?
                    .rows_affected();
                    Ok(updated > 0)
                })
            })
            .await?;
        if updated {
            // Waiting consumers re-read when the lane's next row is due.
            self.wake(lane);
        }
        Ok(updated)
    }

    async fn dead_letter(&self, id: i64, token: &str, reason: &str) -> Result<bool, sqlx::Error> {
        let (mut tx, _turn) = self.begin_write().await?;
        let row = sqlx::query(
            "DELETE FROM queue_items WHERE id = $1 AND leased_by = $2 \
             RETURNING lane, event_id, attempt",
        )
        .bind(id)
        .bind(token)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        let lane: String = row.try_get("lane")?;
        let event_id: String = row.try_get("event_id")?;
        let attempt: i64 = row.try_get("attempt")?;
        sqlx::query(
            "INSERT INTO queue_dead (lane, event_id, attempt, reason, at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(lane)
        .bind(event_id)
        .bind(attempt)
        .bind(reason)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// One consumer of one lane: at most `prefetch` rows leased through it at once.
struct EmbeddedConsumer {
    inner: Arc<Inner>,
    lane: String,
    waker: Arc<Notify>,
    /// One permit per delivery this consumer may have out; a delivery holds its permit
    /// until it is settled or dropped.
    slots: Arc<Semaphore>,
    /// Deliveries dropped unsettled come back here and are released at once.
    abandoned_tx: mpsc::UnboundedSender<Abandoned>,
    abandoned_rx: mpsc::UnboundedReceiver<Abandoned>,
    /// Consecutive failed claims, for backoff.
    failures: u32,
}

impl EmbeddedConsumer {
    async fn release(&self, abandoned: Abandoned) {
        match self.inner.release(&self.lane, &abandoned).await {
            Ok(_) => {}
            Err(error) => tracing::warn!(
                lane = %self.lane,
                error = %error,
                "embedded queue: could not release an abandoned delivery; it returns when its lease expires"
            ),
        }
    }

    fn claim_backoff(&self) -> Duration {
        Backoff::fixed(CLAIM_RETRY_MIN, CLAIM_RETRY_MAX)
            .delay(self.failures.saturating_sub(1), None)
    }
}

#[async_trait]
impl Consumer for EmbeddedConsumer {
    async fn next(&mut self) -> Result<Delivery, QueueError> {
        loop {
            while let Ok(abandoned) = self.abandoned_rx.try_recv() {
                self.release(abandoned).await;
            }
            // A slot first: with `prefetch` deliveries out, wait for one to be settled.
            let permit: OwnedSemaphorePermit = tokio::select! {
                permit = self.slots.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    // The semaphore is never closed.
                    Err(_) => continue,
                },
                Some(abandoned) = self.abandoned_rx.recv() => {
                    self.release(abandoned).await;
                    continue;
                }
            };
            // Register for wake-ups before looking, so a publish in between is not missed.
            let mut notified = pin!(self.waker.notified());
            notified.as_mut().enable();
            match self.inner.claim(&self.lane).await {
                Ok(Some(claimed)) => {
                    self.failures = 0;
                    let settler = EmbeddedSettler {
                        inner: self.inner.clone(),
                        lane: self.lane.clone(),
                        id: claimed.id,
                        token: claimed.token,
                        _permit: permit,
                        abandoned: self.abandoned_tx.clone(),
                    };
                    return Ok(Delivery::new(
                        self.lane.clone(),
                        claimed.message,
                        Box::new(settler),
                    ));
                }
                Ok(None) => {
                    self.failures = 0;
                    drop(permit);
                    tokio::select! {
                        () = notified => {}
                        () = sleep(IDLE_FALLBACK) => {}
                        Some(abandoned) = self.abandoned_rx.recv() => self.release(abandoned).await,
                    }
                }
                Err(error) => {
                    drop(permit);
                    self.failures = self.failures.saturating_add(1);
                    let pause = self.claim_backoff();
                    if self.failures >= CLAIM_FAILURES_BEFORE_ERROR {
                        tracing::error!(
                            lane = %self.lane,
                            failures = self.failures,
                            retry_in_ms = millis(pause),
                            error = %error,
                            "embedded queue: claiming keeps failing"
                        );
                    } else {
                        tracing::warn!(
                            lane = %self.lane,
                            failures = self.failures,
                            retry_in_ms = millis(pause),
                            error = %error,
                            "embedded queue: claim failed; retrying"
                        );
                    }
                    sleep(pause).await;
                }
            }
        }
    }
}

/// Settles one leased row, matching on its lease token.
struct EmbeddedSettler {
    inner: Arc<Inner>,
    lane: String,
    id: i64,
    token: String,
    /// Frees the consumer's slot when this delivery is settled or dropped.
    _permit: OwnedSemaphorePermit,
    abandoned: mpsc::UnboundedSender<Abandoned>,
}

#[async_trait]
impl Settle for EmbeddedSettler {
    async fn settle(
        self: Box<Self>,
        message: &QueueMessage,
        settlement: Settlement,
    ) -> Result<Settled, QueueError> {
        let inner = &self.inner;
        inner.forget(&self.token);
        let (op, result) = match &settlement {
            Settlement::Ack => ("ack", inner.ack(self.id, &self.token).await),
            Settlement::Retry(delay) => (
                "retry",
                inner.retry(&self.lane, self.id, &self.token, *delay).await,
            ),
            Settlement::DeadLetter(reason) => (
                "dead_letter",
                inner
                    .dead_letter(self.id, &self.token, reason)
                    .await
                    .map_err(StorageError::query("queue dead_letter")),
            ),
        };
        match result {
            Ok(true) => Ok(Settled::Applied),
            Ok(false) => {
                tracing::warn!(
                    lane = %self.lane,
                    event_id = %message.event_id,
                    op,
                    "embedded queue: settlement ignored: the lease expired and the message was claimed again"
                );
                Ok(Settled::Stale)
            }
            Err(source) => {
                let error = QueueError::Storage {
                    op,
                    lane: self.lane.clone(),
                    source,
                };
                // Give the row back now if the database lets us; its lease ends otherwise.
                self.abandon();
                Err(error)
            }
        }
    }

    fn abandon(self: Box<Self>) {
        // If the consumer is gone, the lease expiry brings the row back instead.
        self.inner.forget(&self.token);
        let _ = self.abandoned.send(Abandoned {
            id: self.id,
            token: self.token,
        });
    }
}

/// A failed statement of `op` on `lane`, as the queue reports it.
fn storage(op: &'static str, lane: &str) -> impl FnOnce(sqlx::Error) -> QueueError {
    let failed = QueueError::in_storage(op, lane);
    move |source| failed(StorageError::query(op)(source))
}

/// `INSERT` of `rows` messages: `($1, $2, $3, $4), ($5, …)…`.
fn insert_sql(rows: usize) -> String {
    let mut sql =
        String::from("INSERT INTO queue_items (lane, event_id, attempt, available_at) VALUES ");
    for row in 0..rows {
        let n = row * 4;
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4));
    }
    sql
}

fn bind_insert<'q>(
    sql: &'q str,
    lane: &'q str,
    messages: &'q [QueueMessage],
    now: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut query = sqlx::query(sql);
    for message in messages {
        query = query
            .bind(lane)
            .bind(message.event_id.as_str())
            .bind(i64::from(message.attempt))
            .bind(now);
    }
    query
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
