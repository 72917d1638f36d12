//! Schema migrations: the ordered list every database is brought up to, and the runner that
//! applies the missing ones at connect, once, even when several replicas start together.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::{Any, AnyPool, Row, Transaction};

use crate::error::query;
use crate::{Backend, StorageError};

/// One schema change, written once per backend.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    /// Position in the sequence; strictly increasing, never reused.
    pub version: i64,
    /// Short label recorded in `schema_migrations.name`.
    pub name: &'static str,
    /// Statements for SQLite, each ending with `;` at the end of a line.
    pub sqlite: &'static str,
    /// Statements for PostgreSQL, same convention.
    pub postgres: &'static str,
}

impl Migration {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// Every migration, in order. To change the schema, append an entry with the next version
/// and a pair of files under `migrations/{sqlite,postgres}/`; never edit a released entry.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "queue",
        sqlite: include_str!("../migrations/sqlite/0002_queue.sql"),
        postgres: include_str!("../migrations/postgres/0002_queue.sql"),
    },
    Migration {
        version: 3,
        name: "schedule",
        sqlite: include_str!("../migrations/sqlite/0003_schedule.sql"),
        postgres: include_str!("../migrations/postgres/0003_schedule.sql"),
    },
    Migration {
        version: 4,
        name: "deploys",
        sqlite: include_str!("../migrations/sqlite/0004_deploys.sql"),
        postgres: include_str!("../migrations/postgres/0004_deploys.sql"),
    },
    Migration {
        version: 5,
        name: "workers",
        sqlite: include_str!("../migrations/sqlite/0005_workers.sql"),
        postgres: include_str!("../migrations/postgres/0005_workers.sql"),
    },
];

/// Key of the PostgreSQL advisory lock that serialises migration transactions across
/// replicas ("agenthos" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x6167_656e_7468_6f73;

/// The runner's bookkeeping table; the same DDL is valid on both backends.
const CREATE_SCHEMA_MIGRATIONS: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
     version BIGINT PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// Brings the database up to the last entry of [`MIGRATIONS`] and returns the versions this
/// call applied (empty when the schema was already current).
///
/// Each migration runs in its own write transaction that first takes the backend's
/// migration lock, then claims its version with `INSERT … ON CONFLICT DO NOTHING`: a version
/// another process already applied (or is applying: the insert waits for it) inserts
/// nothing and is skipped. A failing migration rolls back, claim included.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<Vec<i64>, StorageError> {
    let mut tx = begin_locked(pool, backend)
        .await
        .map_err(query("migrate: lock"))?;
    sqlx::raw_sql(CREATE_SCHEMA_MIGRATIONS)
        .execute(&mut *tx)
        .await
        .map_err(query("migrate: create schema_migrations"))?;
    tx.commit()
        .await
        .map_err(query("migrate: create schema_migrations"))?;

    let mut applied = Vec::new();
    for migration in MIGRATIONS {
        if apply(pool, backend, migration)
            .await
            .map_err(|source| StorageError::Migration {
                version: migration.version,
                name: migration.name,
                source,
            })?
        {
            tracing::info!(
                backend = %backend,
                version = migration.version,
                name = migration.name,
                "applied schema migration"
            );
            applied.push(migration.version);
        }
    }

    let newest: Option<i64> =
        sqlx::query("SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1")
            .fetch_optional(pool)
            .await
            .map_err(query("migrate: read schema version"))?
            .map(|row| row.try_get("version"))
            .transpose()
            .map_err(query("migrate: read schema version"))?;
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if let Some(newest) = newest.filter(|&v| v > known) {
        // A newer binary migrated this database (e.g. mid rolling deploy). Migrations only
        // add, so keep going, but say so.
        tracing::warn!(
            schema_version = newest,
            known_version = known,
            "database schema is newer than this binary"
        );
    }
    Ok(applied)
}

/// Applies one migration unless already recorded; `true` if this call applied it.
async fn apply(
    pool: &AnyPool,
    backend: Backend,
    migration: &Migration,
) -> Result<bool, sqlx::Error> {
    let mut tx = begin_locked(pool, backend).await?;
    let claimed = sqlx::query(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3) \
         ON CONFLICT (version) DO NOTHING",
    )
    .bind(migration.version)
    .bind(migration.name)
    .bind(unix_now_ms())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    for statement in statements(migration.sql(backend)) {
        sqlx::raw_sql(&statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Opens a write transaction holding the backend's migration lock.
async fn begin_locked(
    pool: &AnyPool,
    backend: Backend,
) -> Result<Transaction<'static, Any>, sqlx::Error> {
    let mut tx = pool.begin_with(backend.begin_write_sql()).await?;
    if let Some(lock_sql) = backend.migration_lock_sql() {
        sqlx::query(lock_sql)
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// Splits a migration file into statements: a statement ends at a line whose last
/// non-blank character is `;`. Blank lines and whole-line `--` comments are dropped, so
/// keep `;` out of the middle of lines and don't put comments after a statement's `;`.
fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// Wall-clock now, for `schema_migrations.applied_at` only (everything else takes `now_ms`
/// from its caller).
fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_increase_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                m.version,
                i as i64 + 1,
                "migration {} out of sequence",
                m.name
            );
        }
    }

    #[test]
    fn backends_have_matching_statement_counts() {
        for m in MIGRATIONS {
            let sqlite = statements(m.sqlite);
            let postgres = statements(m.postgres);
            assert!(!sqlite.is_empty(), "migration {} is empty", m.name);
            assert_eq!(sqlite.len(), postgres.len(), "migration {}", m.name);
            for s in sqlite.iter().chain(&postgres) {
                assert_eq!(s.matches(';').count(), 1, "stray ';' in {s}");
            }
        }
    }

    #[test]
    fn splits_at_line_end_semicolons() {
        let sql = "-- header\nCREATE TABLE a (\n  x TEXT\n);\n\nCREATE INDEX i ON a (x);\nSELECT 1";
        let got = statements(sql);
        assert_eq!(got.len(), 3);
        assert!(got[0].starts_with("CREATE TABLE a ("));
        assert_eq!(got[2].trim(), "SELECT 1");
    }
}
