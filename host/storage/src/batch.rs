//! Group commit for relaxed writes: [`Storage::relaxed_batch`].
//!
//! On SQLite every write in the process takes the one writer turn, and the bookkeeping of
//! a message in flight is a chain of small relaxed writes (the queue's claim, the event's
//! claim, the worker's commit, the queue's ack, the outbox's marks). Written one
//! transaction each, a burst spends its time handing the turn from task to task and
//! opening and committing transactions, not writing. So relaxed writes are handed to one
//! writer task per process instead: it takes the turn once, runs every write queued by
//! then inside one transaction — each in its own savepoint, so one write's undo or error
//! leaves the others whole — commits once, and only then answers each caller. Under load
//! the batches grow by themselves (whatever queued while one batch ran is the next); a
//! lone write is a batch of one with no savepoint, and a write of one statement
//! ([`Storage::relaxed_statement`]) needs none either: SQLite undoes a failed statement
//! and nothing else. Sparing savepoints matters: each statement is a round trip to
//! SQLite's connection thread, and under a burst those round trips (two context switches
//! each), not the writing, are what the drain spends its CPU on.
//!
//! What a caller sees is unchanged: its write is committed (or undone, or failed) when the
//! call returns, and a write later in a batch sees the ones before it, exactly as if they
//! had committed one after another. The price: a commit that fails (a full disk) fails
//! every write of its batch, each with [`StorageError::Batch`] naming its own operation,
//! and so does a write failing in a way that may have ended the transaction under the
//! others ([`StorageError::BatchAborted`]); a broken constraint fails only its own write.
//!
//! On PostgreSQL, and on an in-memory SQLite database, each write is its own transaction,
//! as before (PostgreSQL lets writers run side by side and groups commits itself).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use sqlx::{Acquire, AnyConnection, AnyPool};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::query;
use crate::{Storage, StorageError};

/// The most writes one transaction takes: bounds the work redone by a batch whose
/// commit fails, and how long a write queued behind a batch waits.
pub const MAX_BATCH: usize = 64;

/// What a batched write decided: keep what it wrote, or undo it; either way with the
/// value to hand back (an undone write is an answer too: a lost lease, a conflict).
#[derive(Debug)]
pub enum Staged<T> {
    Keep(T),
    Undo(T),
}

/// The future a batched write returns: it runs on the connection it is given, which is
/// inside a transaction; it must neither commit nor roll back.
pub type StagedWrite<'c, T> =
    Pin<Box<dyn Future<Output = Result<Staged<T>, StorageError>> + Send + 'c>>;

/// The future a one-statement write returns ([`Storage::relaxed_statement`]).
pub type StatementWrite<'c, T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'c>>;

/// A write after it ran, before the batch commits.
struct Ran {
    keep: bool,
    /// It failed in a way SQLite may answer by rolling the whole transaction back (an
    /// I/O error, a full disk, ...), not just its own statement.
    breaks: bool,
    /// Answers the caller: with the commit's error if the write was kept and the commit
    /// failed.
    answer: Box<dyn FnOnce(Option<Arc<StorageError>>) + Send>,
}

/// A queued write, its result type erased.
trait Job: Send {
    fn run<'c>(
        self: Box<Self>,
        conn: &'c mut AnyConnection,
    ) -> Pin<Box<dyn Future<Output = Ran> + Send + 'c>>;
    /// The write never ran: the transaction could not begin or broke before its turn.
    fn fail(self: Box<Self>, error: Arc<StorageError>);
    /// Whether it runs in a savepoint of its own (see [`Storage::relaxed_statement`]).
    fn savepoint(&self) -> bool;
}

struct Typed<T, F> {
    op: &'static str,
    write: F,
    reply: oneshot::Sender<Result<T, StorageError>>,
    savepoint: bool,
}

impl<T, F> Job for Typed<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> StagedWrite<'c, T> + Send + 'static,
{
    fn run<'c>(
        self: Box<Self>,
        conn: &'c mut AnyConnection,
    ) -> Pin<Box<dyn Future<Output = Ran> + Send + 'c>> {
        let Typed {
            op, write, reply, ..
        } = *self;
        Box::pin(async move {
            match write(conn).await {
                Ok(Staged::Keep(value)) => Ran {
                    keep: true,
                    breaks: false,
                    answer: Box::new(move |failed| {
                        let _ = reply.send(match failed {
                            None => Ok(value),
                            Some(source) => Err(StorageError::Batch { op, source }),
                        });
                    }),
                },
                // Nothing of it stays, so the commit's fate is not its own.
                Ok(Staged::Undo(value)) => Ran {
                    keep: false,
                    breaks: false,
                    answer: Box::new(move |_| {
                        let _ = reply.send(Ok(value));
                    }),
                },
                Err(error) => Ran {
                    keep: false,
                    breaks: !statement_scoped(&error),
                    answer: Box::new(move |_| {
                        let _ = reply.send(Err(error));
                    }),
                },
            }
        })
    }

    fn fail(self: Box<Self>, source: Arc<StorageError>) {
        let _ = self.reply.send(Err(StorageError::Batch {
            op: self.op,
            source,
        }));
    }

    fn savepoint(&self) -> bool {
        self.savepoint
    }
}

/// The process's writer task for relaxed writes on SQLite, started with the first write.
pub(crate) struct Batcher {
    pool: AnyPool,
    turn: Arc<Mutex<()>>,
    queue: OnceLock<mpsc::UnboundedSender<Box<dyn Job>>>,
    counts: Arc<Counts>,
}

/// What the group commit has done since start: its transactions and the writes in them.
#[derive(Debug, Default)]
struct Counts {
    batches: AtomicU64,
    writes: AtomicU64,
}

/// [`Storage::group_commit`]: transactions the group commit ran and the relaxed writes
/// they carried (their ratio is the mean batch), since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    pub batches: u64,
    pub writes: u64,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl Batcher {
    pub(crate) fn new(pool: AnyPool, turn: Arc<Mutex<()>>) -> Batcher {
        Batcher {
            pool,
            turn,
            queue: OnceLock::new(),
            counts: Arc::default(),
        }
    }

    /// Queues `write` (in a savepoint of its own when `savepoint`) and waits for its
    /// batch's answer.
    async fn write<T, F>(
        &self,
        op: &'static str,
        write: F,
        savepoint: bool,
    ) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> StagedWrite<'c, T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.submit(Box::new(Typed {
            op,
            write,
            reply,
            savepoint,
        }))
        .await;
        answer.await.unwrap_or(Err(StorageError::WriterGone { op }))
    }

    /// Queues `job` for the writer task (started on the first call, on the caller's
    /// runtime); runs it alone, here, if that task is gone (its runtime shut down).
    async fn submit(&self, job: Box<dyn Job>) {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(writer(
                rx,
                self.pool.clone(),
                self.turn.clone(),
                self.counts.clone(),
            ));
            tx
        });
        if let Err(mpsc::error::SendError(job)) = queue.send(job) {
            let _turn = self.turn.lock().await;
            self.counts.add(1);
            run_batch(&self.pool, vec![job]).await;
        }
    }
}

/// The writer task: a batch per turn, of everything queued when the turn came.
async fn writer(
    mut rx: mpsc::UnboundedReceiver<Box<dyn Job>>,
    pool: AnyPool,
    turn: Arc<Mutex<()>>,
    counts: Arc<Counts>,
) {
    while let Some(first) = rx.recv().await {
        let _turn = turn.lock().await;
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        counts.add(jobs.len());
        run_batch(&pool, jobs).await;
    }
}

impl Counts {
    fn add(&self, writes: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(writes as u64, Ordering::Relaxed);
    }
}

/// Runs `jobs` in one transaction (the caller holds the writer turn), then answers each.
async fn run_batch(pool: &AnyPool, jobs: Vec<Box<dyn Job>>) {
    let mut tx = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => {
            let error = Arc::new(query("relaxed batch: begin")(e));
            for job in jobs {
                job.fail(error.clone());
            }
            return;
        }
    };
    let alone = jobs.len() == 1;
    let mut ran: Vec<Ran> = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    let mut broken = None;
    for job in jobs.by_ref() {
        if alone || !job.savepoint() {
            // A lone write ends with the transaction; a single statement is atomic by
            // itself: a constraint it breaks undoes that statement and nothing else. Any
            // other failure may have rolled the transaction back under the batch, and
            // what ran after it would then commit on its own: end the batch there.
            let done = job.run(&mut tx).await;
            let breaks = done.breaks && !alone;
            ran.push(done);
            if breaks {
                broken = Some(Arc::new(StorageError::BatchAborted));
                break;
            }
            continue;
        }
        // Each write in a savepoint of its own: undoing it leaves the batch whole.
        let mut savepoint = match (&mut tx).begin().await {
            Ok(savepoint) => savepoint,
            Err(e) => {
                let error = Arc::new(query("relaxed batch: savepoint")(e));
                job.fail(error.clone());
                broken = Some(error);
                break;
            }
        };
        let done = job.run(&mut savepoint).await;
        let settled = if done.keep {
            savepoint.commit().await
        } else {
            savepoint.rollback().await
        };
        ran.push(done);
        if let Err(e) = settled {
            // SQLite may have rolled the whole transaction back under the failed write.
            broken = Some(Arc::new(query("relaxed batch: end savepoint")(e)));
            break;
        }
    }
    let failed = match broken {
        Some(error) => {
            for job in jobs {
                job.fail(error.clone());
            }
            let _ = tx.rollback().await;
            Some(error)
        }
        None if alone && !ran.first().is_some_and(|r| r.keep) => {
            // A lone write undone or failed: nothing to commit.
            tx.rollback()
                .await
                .err()
                .map(|e| Arc::new(query("relaxed batch: rollback")(e)))
        }
        None => tx
            .commit()
            .await
            .err()
            .map(|e| Arc::new(query("relaxed batch: commit")(e))),
    };
    for done in ran {
        (done.answer)(failed.clone());
    }
}

impl Storage {
    /// What the group commit has done since start; `None` where there is none (on
    /// PostgreSQL each relaxed write is its own transaction).
    pub fn group_commit(&self) -> Option<GroupCommit> {
        self.batcher.as_ref().map(|b| GroupCommit {
            batches: b.counts.batches.load(Ordering::Relaxed),
            writes: b.counts.writes.load(Ordering::Relaxed),
        })
    }

    /// Runs `write` as a relaxed write (see [`Storage`]) in this process's group commit
    /// (see the module docs): `write` runs on a connection inside a transaction, which it
    /// must neither commit nor end, and says whether to keep what it wrote
    /// ([`Staged::Keep`]) or undo it ([`Staged::Undo`]). The call returns once the batch
    /// holding it has committed. Don't call it while holding the writer turn.
    ///
    /// ```ignore
    /// storage.relaxed_batch("mark", move |conn| Box::pin(async move {
    ///     sqlx::query("UPDATE t SET x = 1 WHERE id = $1").bind(id).execute(&mut *conn).await
    ///         .map_err(query("mark"))?;
    ///     Ok(Staged::Keep(()))
    /// })).await
    /// ```
    pub async fn relaxed_batch<T, F>(&self, op: &'static str, write: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> StagedWrite<'c, T> + Send + 'static,
    {
        let Some(batcher) = &self.batcher else {
            let mut tx = self.begin_relaxed_write(op).await?;
            return match write(&mut tx).await? {
                Staged::Keep(value) => {
                    tx.commit(op).await?;
                    Ok(value)
                }
                Staged::Undo(value) => {
                    tx.rollback(op).await?;
                    Ok(value)
                }
            };
        };
        batcher.write(op, write, true).await
    }

    /// [`Storage::relaxed_batch`] for a write of ONE statement, always kept: atomic by
    /// itself, so it needs no savepoint of its own in the batch (two round trips to
    /// SQLite's thread fewer — a burst's cost is those round trips, not the writing).
    /// `write` must run exactly one writing statement; reads before it are fine.
    pub async fn relaxed_statement<T, F>(
        &self,
        op: &'static str,
        write: F,
    ) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> StatementWrite<'c, T> + Send + 'static,
    {
        let Some(batcher) = &self.batcher else {
            // One statement commits by itself (autocommit), as it always did here.
            let _turn = self.writer_turn().await;
            let mut conn = self.relaxed.acquire().await.map_err(query(op))?;
            return write(&mut conn).await;
        };
        batcher.write(op, always_kept(write), false).await
    }
}

/// A one-statement write as a batched write that is always kept.
fn always_kept<T, F>(
    write: F,
) -> impl for<'c> FnOnce(&'c mut AnyConnection) -> StagedWrite<'c, T> + Send + 'static
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut AnyConnection) -> StatementWrite<'c, T> + Send + 'static,
{
    move |conn| {
        let statement = write(conn);
        Box::pin(async move { statement.await.map(Staged::Keep) })
    }
}

/// Whether SQLite undoes just the failing statement for `error`, leaving its transaction
/// open: a broken constraint (its default conflict resolution, ABORT), or a row that did
/// not decode after the statement ran.
fn statement_scoped(error: &StorageError) -> bool {
    use sqlx::error::ErrorKind;
    match error {
        StorageError::Query { source, .. } => match source {
            sqlx::Error::Database(db) => matches!(
                db.kind(),
                ErrorKind::UniqueViolation
                    | ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation
            ),
            sqlx::Error::RowNotFound
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::TypeNotFound { .. } => true,
            _ => false,
        },
        StorageError::Corrupt { .. } => true,
        _ => false,
    }
}
