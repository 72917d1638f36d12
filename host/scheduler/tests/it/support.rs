//! Fixtures: real storage (SQLite in a tempdir, or a fresh PostgreSQL database dropped
//! afterwards), the embedded queue, a fake clock, and helpers to seed and observe.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agenthost_core::{Clock, CronJob};
use agenthost_queue::{EmbeddedConfig, EmbeddedQueue, Queue};
use agenthost_scheduler::{Scheduler, SchedulerConfig};
use agenthost_storage::{AlertRow, Commit, EventKind, JobChange, NewEvent, SlaChange, Storage};
use anyhow::{Context, Result};
use sqlx::{Connection, Row};

/// 2026-01-05 10:10:00 UTC (a Monday).
pub const T0: i64 = 1_767_607_800_000;
pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;
const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A clock tests set by hand.
#[derive(Debug, Clone, Default)]
pub struct FakeClock(Arc<AtomicU64>);

impl FakeClock {
    pub fn set(&self, ms: i64) {
        self.0.store(ms as u64, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct Fixture {
    pub storage: Storage,
    pub queue: Arc<dyn Queue>,
    pub clock: FakeClock,
    url: Option<String>,
    database: Option<String>,
    /// Extra connections opened as other replicas, closed with the fixture.
    replicas: Mutex<Vec<Storage>>,
    seq: AtomicU64,
    dir: tempfile::TempDir,
}

fn unique() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{}_{nanos:x}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

fn queue_over(storage: &Storage) -> Result<Arc<dyn Queue>> {
    Ok(Arc::new(EmbeddedQueue::new(
        storage,
        EmbeddedConfig {
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_millis(50),
        },
    )?))
}

impl Fixture {
    pub async fn new(backend: Backend) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let (url, database) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => {
                let name = format!("agenthost_stest_{}", unique());
                admin_sql(&format!("CREATE DATABASE {name}")).await?;
                (
                    Some(format!("postgres://postgres@127.0.0.1:5432/{name}")),
                    Some(name),
                )
            }
        };
        let storage = Storage::connect(url.as_deref(), dir.path(), 8)
            .await
            .context("connect storage")?;
        let queue = queue_over(&storage)?;
        Ok(Self {
            storage,
            queue,
            clock: FakeClock::default(),
            url,
            database,
            replicas: Mutex::new(Vec::new()),
            seq: AtomicU64::new(0),
            dir,
        })
    }

    /// A scheduler replica serving `cron`. On PostgreSQL each replica has its own pool
    /// and queue handle, as separate processes would.
    pub async fn scheduler(&self, cron: Vec<(String, Vec<CronJob>)>) -> Result<Scheduler> {
        self.scheduler_with(cron, Duration::from_secs(1)).await
    }

    pub async fn scheduler_with(
        &self,
        cron: Vec<(String, Vec<CronJob>)>,
        tick: Duration,
    ) -> Result<Scheduler> {
        let (storage, queue) = match &self.url {
            None => (self.storage.clone(), self.queue.clone()),
            Some(url) => {
                let storage = Storage::connect(Some(url), self.dir.path(), 4).await?;
                self.replicas.lock().unwrap().push(storage.clone());
                let queue = queue_over(&storage)?;
                (storage, queue)
            }
        };
        let config = SchedulerConfig {
            tick_interval: tick,
            ..SchedulerConfig::default()
        };
        Ok(Scheduler::new(
            storage,
            queue,
            Arc::new(move || cron.clone()),
            Arc::new(self.clock.clone()),
            config,
        ))
    }

    /// Commits job and SLA changes as a worker would, for a seed event of `plugin`.
    pub async fn commit(
        &self,
        plugin: &str,
        now_ms: i64,
        jobs: Vec<JobChange>,
        sla: Vec<SlaChange>,
    ) -> Result<()> {
        let id = format!("seed-{}", self.seq.fetch_add(1, Ordering::Relaxed));
        self.storage
            .events()
            .insert(&[NewEvent {
                id: id.as_str().into(),
                dedupe_key: id.clone(),
                kind: EventKind::Message,
                plugin: Some(plugin.into()),
                conversation_id: None,
                payload: "{}".into(),
                received_at_ms: now_ms,
                inbound: None,
            }])
            .await?;
        self.storage
            .claims()
            .commit(&Commit {
                jobs,
                sla,
                ..Commit::new(&id, plugin, "v1", now_ms)
            })
            .await?;
        Ok(())
    }

    /// Every message waiting in `lane`, consumed and acknowledged, in delivery order.
    pub async fn drain(&self, lane: &str) -> Result<Vec<String>> {
        let mut consumer = self.queue.consume(lane, 1).await?;
        let mut ids = Vec::new();
        while let Ok(delivery) =
            tokio::time::timeout(Duration::from_millis(400), consumer.next()).await
        {
            let delivery = delivery?;
            ids.push(delivery.message().event_id.to_string());
            delivery.ack().await?;
        }
        Ok(ids)
    }

    pub async fn alerts(&self) -> Result<Vec<AlertRow>> {
        Ok(self.storage.alerts().pending(1000).await?)
    }

    pub async fn count_job_events(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM events WHERE kind = 'job'")
            .fetch_one(self.storage.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn close(mut self) -> Result<()> {
        let replicas: Vec<Storage> = self.replicas.lock().unwrap().drain(..).collect();
        for replica in replicas {
            replica.close().await;
        }
        self.storage.close().await;
        if let Some(name) = self.database.take() {
            admin_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        }
        Ok(())
    }
}

impl Drop for Fixture {
    /// A failed test still drops its database (on a thread: no async in `drop`).
    fn drop(&mut self) {
        if let Some(name) = self.database.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                if let Err(e) = rt.block_on(admin_sql(&sql)) {
                    eprintln!("warning: could not drop test database {name}: {e:#}");
                }
            })
            .join();
        }
    }
}

async fn admin_sql(sql: &str) -> Result<()> {
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(POSTGRES_ADMIN_URL)
        .await
        .context("connect to postgres as admin")?;
    sqlx::raw_sql(sql)
        .execute(&mut admin)
        .await
        .with_context(|| sql.to_owned())?;
    admin.close().await.ok();
    Ok(())
}
