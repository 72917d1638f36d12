//! [`Storage`]: the connection pool for either backend, opened, configured and migrated in
//! one call, plus the write path every mutating operation goes through.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyPoolOptions, AnyQueryResult};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::error::query;
use crate::url::{backend_for_url, default_sqlite_url};
use crate::{Backend, StorageError, migrations, redact_url};

/// How long a SQLite connection waits for another process's write lock before giving up,
/// in milliseconds. Writers in this process queue on [`Storage`]'s writer turn instead.
pub const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// How long `connect` keeps retrying an unreachable database, and how long a query waits
/// for a free pooled connection, before failing. Start-up fails fast enough for an
/// orchestrator to restart the process; a query waiting longer means the pool is
/// overwhelmed and the caller should back off.
pub const POOL_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The handle to durable storage. Cheap to clone: clones share one pool.
///
/// # Two durabilities on SQLite
///
/// Every commit through [`Storage::pool`] and [`Storage::begin_write`] is durable when it
/// returns (`synchronous=FULL`: the WAL is fsynced). The bookkeeping of work in flight —
/// claims, leases, heartbeats, a worker's commit, queue settlements, marking a text sent —
/// goes through [`Storage::relaxed_pool`] and [`Storage::begin_relaxed_write`] instead:
/// the same database through a second pool whose connections run `synchronous=NORMAL`,
/// so such a commit is written to the WAL but not fsynced. The next full commit fsyncs
/// the WAL, and with it every relaxed commit before it: the WAL is one file appended in
/// commit order, so what survives a power loss is always a prefix of the commits.
///
/// The rule that keeps this safe: **an act the outside world cannot take back follows a
/// full commit.** The webhook's 200 follows the full ingest commit; an SMS is sent only
/// after the full commit that claims its outbox row (`claim_due_outbox`). So a power loss
/// (a process crash loses nothing: the OS still holds the pages) can roll back only
/// relaxed commits: the event runs again (at least once; its delivery count loses the
/// rolled-back deliveries), a text's `sent` mark reverts to `sending` and is looked up at
/// Twilio before any resend, exactly as after a crash mid-send. An alert a rolled-back
/// worker commit raised may already have been delivered; the event's re-run raises it
/// again — a repeated alert, never a lost one. A burst pays about two fsyncs per message
/// (ingest and outbox claim, each shared by a batch) instead of one per write. On
/// PostgreSQL both are the one pool: every commit is durable.
#[derive(Debug, Clone)]
pub struct Storage {
    pub(crate) pool: AnyPool,
    /// SQLite: a second pool on the same file, `synchronous=NORMAL` (see above).
    /// PostgreSQL: the same pool.
    pub(crate) relaxed: AnyPool,
    pub(crate) backend: Backend,
    /// SQLite only: the single writer's turn. SQLite admits one writer at a time and makes
    /// the others poll with sleeps of up to 100 ms (its busy handler); queueing writers
    /// here instead hands the lock over in FIFO order the moment it is released.
    writer_turn: Option<Arc<Mutex<()>>>,
    /// SQLite on a file: the group commit of relaxed writes (`Storage::relaxed_batch`).
    pub(crate) batcher: Option<Arc<crate::batch::Batcher>>,
}

impl Storage {
    /// Opens storage and brings its schema up to date.
    ///
    /// `url` `None` means the embedded database `{data_dir}/agenthost.db` (the directory is
    /// created if missing); otherwise a `sqlite:`, `postgres:` or `postgresql:` URL. Any
    /// other scheme is an error naming it. Every SQLite connection runs in WAL mode with
    /// `synchronous=FULL`, a busy timeout of [`SQLITE_BUSY_TIMEOUT_MS`] and foreign keys
    /// on. The pool holds at most `max_connections` (at least 1) connections; one is opened
    /// here, so bad credentials fail now (within [`POOL_ACQUIRE_TIMEOUT`]), not at the
    /// first request.
    pub async fn connect(
        url: Option<&str>,
        data_dir: &Path,
        max_connections: u32,
    ) -> Result<Storage, StorageError> {
        sqlx::any::install_default_drivers();
        let url = match url {
            Some(url) => url.to_owned(),
            None => default_sqlite_url(data_dir)?,
        };
        let backend = backend_for_url(&url)?;
        let redacted = redact_url(&url);

        let open = |max: u32, synchronous: &'static str| {
            AnyPoolOptions::new()
                .max_connections(max.max(1))
                .acquire_timeout(POOL_ACQUIRE_TIMEOUT)
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if backend == Backend::Sqlite {
                            let pragmas = sqlite_pragmas(synchronous);
                            conn.execute(sqlx::raw_sql(&pragmas)).await?;
                        }
                        Ok(())
                    })
                })
                .connect(&url)
        };
        let connect_error = |source| StorageError::Connect {
            url: redacted.clone(),
            source,
        };
        let pool = open(max_connections, "FULL").await.map_err(connect_error)?;
        // An in-memory SQLite database is private to its connection: a second pool
        // would be another database.
        let relaxed = if backend == Backend::Sqlite && !url.contains("memory") {
            // Relaxed writes queue on the writer turn, so two connections are plenty.
            open(2, "NORMAL").await.map_err(connect_error)?
        } else {
            pool.clone()
        };

        let applied = migrations::run(&pool, backend).await?;
        tracing::info!(
            backend = %backend,
            url = %redacted,
            migrations_applied = applied.len(),
            "storage ready"
        );
        let writer_turn = match backend {
            Backend::Sqlite => Some(Arc::new(Mutex::new(()))),
            Backend::Postgres => None,
        };
        // In memory both pools are one connection's database: nothing to group.
        let batcher = match &writer_turn {
            Some(turn) if !url.contains("memory") => Some(Arc::new(crate::batch::Batcher::new(
                relaxed.clone(),
                turn.clone(),
            ))),
            _ => None,
        };
        Ok(Storage {
            pool,
            relaxed,
            backend,
            writer_turn,
            batcher,
        })
    }

    /// Which engine this storage talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The underlying pool, for callers that own tables of their own. On SQLite, writes
    /// made through it bypass the writer turn and rely on the busy timeout instead.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Round-trips a trivial query: the readiness check.
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(query("ping"))?;
        Ok(())
    }

    /// The pool for relaxed writes (see [`Storage`]): bookkeeping whose loss in a power
    /// failure no one outside has seen acted on. Hold the writer turn across each write.
    pub fn relaxed_pool(&self) -> &AnyPool {
        &self.relaxed
    }

    /// Closes every connection after in-flight queries finish; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
        self.relaxed.close().await;
    }

    /// Opens a transaction that will write, for callers that own tables of their own (the
    /// embedded queue) and want to write the way this crate does. On SQLite it first waits
    /// for the writer turn and then takes the write lock up front (`BEGIN IMMEDIATE`), so
    /// it never fails with `SQLITE_BUSY` after reading; hold it briefly and don't open a
    /// second one in the same task while it lives. `op` names the operation in errors.
    pub async fn begin_write(&self, op: &'static str) -> Result<WriteTx, StorageError> {
        self.begin_write_on(&self.pool, op).await
    }

    /// A write transaction on `pool` (the full or the relaxed one), in the writer turn.
    async fn begin_write_on(
        &self,
        pool: &AnyPool,
        op: &'static str,
    ) -> Result<WriteTx, StorageError> {
        let turn = self.writer_turn().await;
        let tx = pool
            .begin_with(self.backend.begin_write_sql())
            .await
            .map_err(query(op))?;
        Ok(WriteTx { tx, _turn: turn })
    }

    /// [`Storage::begin_write`] for a relaxed write (see [`Storage`]): on SQLite its
    /// commit reaches the WAL without an fsync and becomes durable with the next full
    /// commit. Only for bookkeeping no act seen outside depends on.
    pub async fn begin_relaxed_write(&self, op: &'static str) -> Result<WriteTx, StorageError> {
        self.begin_write_on(&self.relaxed, op).await
    }

    /// Runs one writing statement on its own (autocommit), in the writer turn on SQLite.
    pub(crate) async fn execute_write<'q>(
        &self,
        op: &'static str,
        statement: Query<'q, Any, AnyArguments<'q>>,
    ) -> Result<AnyQueryResult, StorageError> {
        let _turn = self.writer_turn().await;
        statement.execute(&self.pool).await.map_err(query(op))
    }

    /// Waits for this process's SQLite writer turn (`None` on PostgreSQL, which needs
    /// none). Code writing through [`Storage::pool`] holds it across its write so SQLite
    /// writers queue in FIFO order instead of sleeping in the busy handler.
    pub async fn writer_turn(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.writer_turn {
            Some(turn) => Some(Arc::clone(turn).lock_owned().await),
            None => None,
        }
    }
}

/// A write transaction from [`Storage::begin_write`], holding the SQLite writer turn until
/// it commits or is dropped (dropping rolls back). Derefs to the connection, so queries
/// run with `.execute(&mut *tx)`.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// Commits; `op` names the operation in the error.
    pub async fn commit(self, op: &'static str) -> Result<(), StorageError> {
        self.tx.commit().await.map_err(query(op))
    }

    /// Rolls back explicitly (dropping would too, but lazily); `op` names the operation.
    pub async fn rollback(self, op: &'static str) -> Result<(), StorageError> {
        self.tx.rollback().await.map_err(query(op))
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Per-connection SQLite settings. `busy_timeout` comes first so that switching to WAL
/// waits for, rather than fails on, a connection opening at the same moment.
/// `synchronous` is `FULL` for the main pool, `NORMAL` for the relaxed one.
fn sqlite_pragmas(synchronous: &str) -> String {
    format!(
        "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY;"
    )
}
