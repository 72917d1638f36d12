//! Fixtures: a real queue per test on SQLite (tempdir), PostgreSQL (a fresh database,
//! dropped after) or RabbitMQ (unique queue prefix, queues deleted after), and the bounded
//! waits every test uses.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agenthost_queue::{
    AmqpConfig, AmqpQueue, Consumer, Delivery, EmbeddedConfig, EmbeddedQueue, Queue,
};
use agenthost_storage::Storage;
use anyhow::{Context, Result, anyhow};
use futures_lite::FutureExt;
use lapin::options::QueueDeleteOptions;
use sqlx::Connection;

/// RabbitMQ of the test machine (`guest` is the broker's default, loopback-only user).
pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// PostgreSQL of the test machine (trust auth); tests create their own databases.
pub const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Lease used by embedded fixtures: short, so "the consumer died" tests finish quickly,
/// and long enough that a slow CI machine never lets a lease lapse mid-test by accident.
pub const TEST_LEASE: Duration = Duration::from_secs(2);
/// Poll interval of embedded fixtures.
pub const TEST_POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Longest wait for something that should happen.
pub const WAIT: Duration = Duration::from_secs(15);
/// How long nothing must arrive to conclude that nothing will (well above the poll
/// interval and RabbitMQ's delivery latency).
pub const QUIET: Duration = Duration::from_millis(800);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    Rabbitmq,
}

/// What a test body gets.
#[derive(Clone)]
pub struct Ctx {
    pub kind: Kind,
    pub queue: Arc<dyn Queue>,
    /// The embedded queue handle and its storage; `None` on RabbitMQ.
    pub embedded: Option<(EmbeddedQueue, Storage)>,
    /// RabbitMQ connection name of `queue`, unique to this test.
    pub connection_name: String,
    /// The embedded backend's database URL (`None`: SQLite in `data_dir`).
    pub database_url: Option<String>,
    /// A directory that lives as long as the test (the SQLite database is in it).
    pub data_dir: PathBuf,
    test: String,
    lanes: Arc<Mutex<Vec<String>>>,
}

impl Ctx {
    /// A lane name unique to this test (RabbitMQ queues outlive processes).
    pub fn lane(&self, name: &str) -> String {
        let lane = format!("{}-{name}", self.test);
        self.lanes.lock().unwrap().push(lane.clone());
        lane
    }
}

/// Something unique to this test process, for names of databases, prefixes, connections.
pub fn run_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{}{:x}{}",
        std::process::id(),
        nanos,
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// Sets up `kind`, runs `body`, and tears down even when `body` panics.
pub async fn run<F, Fut>(kind: Kind, test: &str, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let _ = tracing_subscriber_init();
    let id = run_id();
    let test_name = test.replace('_', "-");
    let connection_name = format!("agenthost-qtest-{id}-{test_name}");
    let lanes = Arc::new(Mutex::new(Vec::new()));
    let tempdir = tempfile::tempdir().expect("tempdir");
    let mut database = None;
    let mut database_url = None;

    let (queue, embedded): (Arc<dyn Queue>, _) = match kind {
        Kind::Sqlite => {
            let (queue, storage) = embedded(None, tempdir.path())
                .await
                .expect("sqlite fixture");
            (Arc::new(queue.clone()), Some((queue, storage)))
        }
        Kind::Postgres => {
            let name = format!("agenthost_qtest_{id}");
            create_database(&name).await.expect("create test database");
            let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
            database = Some(name);
            database_url = Some(url.clone());
            let (queue, storage) = embedded(Some(&url), tempdir.path())
                .await
                .expect("postgres fixture");
            (Arc::new(queue.clone()), Some((queue, storage)))
        }
        Kind::Rabbitmq => {
            let queue = AmqpQueue::connect(AMQP_URL, amqp_config(&id, &connection_name))
                .await
                .expect("rabbitmq fixture");
            (Arc::new(queue), None)
        }
    };
    let ctx = Ctx {
        kind,
        queue,
        embedded: embedded.clone(),
        connection_name,
        database_url,
        data_dir: tempdir.path().to_owned(),
        test: format!("t{}", test_name),
        lanes: lanes.clone(),
    };

    // Not spawned: `Storage::connect`'s future is not provably `Send`, and bodies call it.
    let outcome = AssertUnwindSafe(body(ctx)).catch_unwind().await;

    // Teardown.
    if let Some((_, storage)) = embedded {
        storage.close().await;
    }
    if let Some(name) = database
        && let Err(error) = drop_database(&name).await
    {
        eprintln!("warning: could not drop test database {name}: {error:#}");
    }
    if kind == Kind::Rabbitmq {
        let lanes = lanes.lock().unwrap().clone();
        if let Err(error) = delete_amqp_queues(&id, &lanes).await {
            eprintln!("warning: could not delete test queues: {error:#}");
        }
    }

    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) => panic!("{test} on {kind:?} failed: {error:#}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Shows the crate's log lines when `RUST_LOG` is set (e.g. `RUST_LOG=agenthost_queue=debug`).
fn tracing_subscriber_init() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init()
}

pub async fn embedded(url: Option<&str>, dir: &Path) -> Result<(EmbeddedQueue, Storage)> {
    let storage = Storage::connect(url, dir, 8)
        .await
        .context("storage connect")?;
    let queue = EmbeddedQueue::new(
        &storage,
        EmbeddedConfig {
            lease: TEST_LEASE,
            poll_interval: TEST_POLL_INTERVAL,
        },
    )?;
    Ok((queue, storage))
}

fn amqp_config(id: &str, connection_name: &str) -> AmqpConfig {
    AmqpConfig {
        prefix: Some(amqp_prefix(id)),
        connection_name: connection_name.to_owned(),
        reconnect_backoff_min: Duration::from_millis(50),
        reconnect_backoff_max: Duration::from_millis(500),
        ..AmqpConfig::default()
    }
}

fn amqp_prefix(id: &str) -> String {
    format!("qtest-{id}")
}

async fn admin() -> Result<sqlx::AnyConnection> {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(POSTGRES_ADMIN_URL)
        .await
        .context("connect to postgres as admin")
}

async fn create_database(name: &str) -> Result<()> {
    let mut admin = admin().await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .with_context(|| format!("create database {name}"))?;
    admin.close().await.ok();
    Ok(())
}

async fn drop_database(name: &str) -> Result<()> {
    let mut admin = admin().await?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .with_context(|| format!("drop database {name}"))?;
    admin.close().await.ok();
    Ok(())
}

async fn delete_amqp_queues(id: &str, lanes: &[String]) -> Result<()> {
    let connection =
        lapin::Connection::connect(AMQP_URL, lapin::ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    let prefix = amqp_prefix(id);
    for lane in lanes {
        let main = format!("{prefix}.agenthost.{lane}");
        for queue in [format!("{main}.retry"), format!("{main}.dead"), main] {
            channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await
                .with_context(|| format!("delete queue {queue}"))?;
        }
    }
    connection.close(200, "test done".into()).await?;
    Ok(())
}

/// The next delivery, or an error naming what was awaited after [`WAIT`].
pub async fn next(consumer: &mut Box<dyn Consumer>, what: &str) -> Result<Delivery> {
    match tokio::time::timeout(WAIT, consumer.next()).await {
        Ok(delivery) => {
            Ok(delivery.with_context(|| format!("consumer failed waiting for {what}"))?)
        }
        Err(_) => Err(anyhow!("no delivery within {WAIT:?} waiting for {what}")),
    }
}

/// Fails if a delivery arrives within [`QUIET`]; gives the delivery back unsettled.
pub async fn expect_quiet(consumer: &mut Box<dyn Consumer>, what: &str) -> Result<()> {
    match tokio::time::timeout(QUIET, consumer.next()).await {
        Err(_) => Ok(()),
        Ok(Ok(delivery)) => Err(anyhow!(
            "unexpected delivery ({what}): {:?}",
            delivery.message()
        )),
        Ok(Err(error)) => Err(anyhow!(error).context(format!("consumer failed ({what})"))),
    }
}

/// Polls `probe` until it returns `want` or [`WAIT`] passes (RabbitMQ counts lag a little).
pub async fn eventually_eq<F, Fut>(what: &str, want: u64, mut probe: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, agenthost_queue::QueueError>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = probe().await.with_context(|| format!("probing {what}"))?;
        if got == want {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(anyhow!("{what}: wanted {want}, still {got} after {WAIT:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
