//! Test databases: a temp-dir SQLite file, or a fresh PostgreSQL database per test that is
//! dropped afterwards (even when the test panics), so runs never see each other's rows.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use agenthost_storage::Storage;
use anyhow::Context;
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tempfile::TempDir;

/// Server URL (no database) of the PostgreSQL the tests use; trust auth as `postgres`.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/";
/// Overrides [`DEFAULT_POSTGRES_URL`].
const POSTGRES_URL_ENV: &str = "AGENTHOST_TEST_POSTGRES_URL";
/// Pool size for test storages: enough for the concurrency tests.
pub const TEST_MAX_CONNECTIONS: u32 = 8;

/// Storage under test plus what it takes to open it again.
pub struct TestDb {
    storage: Storage,
    url: Option<String>,
    /// Data directory; holds the SQLite file, unused on PostgreSQL.
    dir: TempDir,
    /// Drops the PostgreSQL database when the test ends.
    _postgres: Option<PostgresDatabase>,
}

impl Deref for TestDb {
    type Target = Storage;
    fn deref(&self) -> &Storage {
        &self.storage
    }
}

impl TestDb {
    /// A second, independent `Storage` on the same database (runs migrations again).
    pub async fn reconnect(&self) -> anyhow::Result<Storage> {
        Storage::connect(self.url.as_deref(), self.dir.path(), TEST_MAX_CONNECTIONS)
            .await
            .context("reconnect")
    }

    /// The storage itself, for handing clones to spawned tasks.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    async fn sqlite() -> anyhow::Result<TestDb> {
        let dir = tempfile::tempdir()?;
        let storage = Storage::connect(None, dir.path(), TEST_MAX_CONNECTIONS).await?;
        Ok(TestDb {
            storage,
            url: None,
            dir,
            _postgres: None,
        })
    }

    async fn postgres() -> anyhow::Result<TestDb> {
        let database = PostgresDatabase::create().await?;
        let url = database.url();
        let dir = tempfile::tempdir()?;
        let storage = Storage::connect(Some(&url), dir.path(), TEST_MAX_CONNECTIONS).await?;
        Ok(TestDb {
            storage,
            url: Some(url),
            dir,
            _postgres: Some(database),
        })
    }
}

/// Runs one case against a fresh SQLite database.
pub async fn on_sqlite<F>(case: F) -> anyhow::Result<()>
where
    F: AsyncFn(&TestDb) -> anyhow::Result<()>,
{
    let db = TestDb::sqlite().await?;
    let result = case(&db).await;
    db.storage.close().await;
    result
}

/// Runs one case against a fresh PostgreSQL database.
pub async fn on_postgres<F>(case: F) -> anyhow::Result<()>
where
    F: AsyncFn(&TestDb) -> anyhow::Result<()>,
{
    let db = TestDb::postgres().await?;
    let result = case(&db).await;
    db.storage.close().await;
    result
}

fn server_url() -> String {
    let url = std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
    url.trim_end_matches('/').to_owned()
}

/// A uniquely named database that exists from `create` until drop.
struct PostgresDatabase {
    name: String,
}

impl PostgresDatabase {
    async fn create() -> anyhow::Result<Self> {
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let name = format!(
            "agenthost_test_{}_{:x}_{}",
            std::process::id(),
            nanos,
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        let admin_url = format!("{}/postgres", server_url());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .with_context(|| format!("connect to {admin_url} (is PostgreSQL running?)"))?;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .with_context(|| format!("create database {name}"))?;
        admin.close().await?;
        Ok(Self { name })
    }

    fn url(&self) -> String {
        format!("{}/{}", server_url(), self.name)
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        // Drop can't await and may run inside the test's runtime: use a thread of its own.
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let admin_url = format!("{}/postgres", server_url());
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await?;
                anyhow::Ok(())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e:#}", self.name),
            Err(_) => eprintln!(
                "could not drop test database {}: thread panicked",
                self.name
            ),
        }
    }
}
