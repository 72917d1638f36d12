//! Connection set-up that does not need a per-backend run: URL handling, the default
//! SQLite location and its pragmas.

use agenthost_storage::{Backend, SQLITE_FILE_NAME, Storage, StorageError, redact_url};

#[tokio::test]
async fn default_is_sqlite_in_data_dir_with_wal_and_full_sync() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // A directory that does not exist yet, with characters URLs treat specially.
    let data_dir = dir.path().join("data dir #1?");
    let storage = Storage::connect(None, &data_dir, 2).await?;
    assert_eq!(storage.backend(), Backend::Sqlite);
    assert!(data_dir.join(SQLITE_FILE_NAME).is_file());

    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(storage.pool())
        .await?;
    assert_eq!(journal, "wal");
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(storage.pool())
        .await?;
    assert_eq!(synchronous, 2, "FULL");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(storage.pool())
        .await?;
    assert_eq!(foreign_keys, 1);
    let busy_timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(storage.pool())
        .await?;
    assert_eq!(busy_timeout, 5_000);
    // Relaxed writes: the same file, synchronous=NORMAL, every other setting the same.
    let relaxed: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(storage.relaxed_pool())
        .await?;
    assert_eq!(relaxed, 1, "NORMAL");
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(storage.relaxed_pool())
        .await?;
    assert_eq!(journal, "wal");
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(storage.relaxed_pool())
        .await?;
    assert_eq!(foreign_keys, 1);
    sqlx::query("CREATE TABLE probe (n INTEGER)")
        .execute(storage.relaxed_pool())
        .await?;
    sqlx::query("INSERT INTO probe VALUES (7)")
        .execute(storage.relaxed_pool())
        .await?;
    let n: i64 = sqlx::query_scalar("SELECT n FROM probe")
        .fetch_one(storage.pool())
        .await?;
    assert_eq!(n, 7, "one database behind both pools");
    storage.close().await;
    Ok(())
}

#[tokio::test]
async fn unsupported_scheme_is_named_without_the_password() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let err = Storage::connect(Some("mysql://root:hunter2@db/app"), dir.path(), 1)
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("mysql url was accepted"))?;
    assert!(
        matches!(err, StorageError::UnsupportedScheme { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("`mysql`"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    Ok(())
}

#[tokio::test]
async fn connect_failure_hides_the_password() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Port 1: nothing listens there.
    let url = "postgres://app:hunter2@127.0.0.1:1/agenthost?connect_timeout=2";
    let err = Storage::connect(Some(url), dir.path(), 1)
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("connected to port 1"))?;
    let text = format!("{err} / {err:?}");
    assert!(matches!(err, StorageError::Connect { .. }), "{text}");
    assert!(text.contains("app:***@127.0.0.1:1"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    Ok(())
}

#[test]
fn redact_url_masks_passwords() {
    assert_eq!(
        redact_url("postgresql://agent:pa55@10.0.0.5/agenthost?sslmode=require"),
        "postgresql://agent:***@10.0.0.5/agenthost?sslmode=require"
    );
    assert_eq!(
        redact_url("postgres://10.0.0.5/agenthost?password=pa55"),
        "postgres://10.0.0.5/agenthost?password=***"
    );
    assert_eq!(
        redact_url("sqlite:///data/agenthost.db"),
        "sqlite:///data/agenthost.db"
    );
}
