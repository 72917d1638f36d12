//! Schema migrations, through sqlx's migrator: one folder per backend under
//! `migrations/`, embedded at compile time by `sqlx::migrate!`. Each applied migration is
//! recorded in `_sqlx_migrations` with its SHA-384 checksum, so a released migration that
//! was edited afterwards stops the host at connect, naming the version. The whole run is
//! one transaction under a lock (PostgreSQL: an advisory lock; SQLite: its write lock), so
//! replicas starting together apply each migration exactly once.
//!
//! Databases created by the host's earlier runner (bookkeeping in `schema_migrations`,
//! versions 1-5) are adopted on first connect: the versions it recorded are entered into
//! `_sqlx_migrations` with the checksums of the very files it ran (they are unchanged
//! since), and the migrator then applies only what is new. `schema_migrations` is left in
//! place, so an older binary still reads the database as current.

use sqlx::migrate::{Migrate, Migrator};
use sqlx::{AnyConnection, AnyPool, Row};

use crate::error::query;
use crate::{Backend, StorageError};

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// The last version the earlier runner could have applied.
const LEGACY_LAST_VERSION: i64 = 5;

fn migrator(backend: Backend) -> Migrator {
    let embedded = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    Migrator {
        migrations: embedded.migrations.clone(),
        // A newer binary may have migrated this database during a rolling deploy:
        // migrations only add, so keep going (and say so below).
        ignore_missing: true,
        // `run` holds the lock (and one transaction) around the whole run.
        locking: false,
        no_tx: false,
    }
}

/// Key of the PostgreSQL advisory lock that serialises migration runs across replicas
/// ("agenthos" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x6167_656e_7468_6f73;

/// Brings the database up to the last embedded migration and returns the versions this
/// call applied (empty when the schema was already current).
///
/// Everything happens in ONE write transaction (each migration in a savepoint of it):
/// on SQLite `BEGIN IMMEDIATE` excludes every other writer, on PostgreSQL a
/// transaction-scoped advisory lock excludes other replicas migrating. So replicas
/// starting together apply each migration once, and a failing migration leaves the
/// schema exactly as it was.
pub(crate) async fn run(pool: &AnyPool, backend: Backend) -> Result<Vec<i64>, StorageError> {
    let failed = |e: sqlx::migrate::MigrateError| StorageError::Migrate {
        reason: e.to_string(),
    };
    let migrator = migrator(backend);
    let mut tx = pool
        .begin_with(backend.begin_write_sql())
        .await
        .map_err(query("migrate: begin"))?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS l")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut *tx)
            .await
            .map_err(query("migrate: lock"))?;
    }
    tx.ensure_migrations_table().await.map_err(failed)?;
    adopt_legacy(&mut tx, &migrator).await?;
    let before = applied(&mut tx).await?;
    migrator.run(&mut *tx).await.map_err(failed)?;
    let after = applied(&mut tx).await?;
    tx.commit().await.map_err(query("migrate: commit"))?;
    let known = migrator.migrations.last().map_or(0, |m| m.version);
    if let Some(newest) = after.iter().copied().filter(|&v| v > known).max() {
        tracing::warn!(
            schema_version = newest,
            known_version = known,
            "database schema is newer than this binary"
        );
    }
    Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
}

/// Versions recorded in `_sqlx_migrations`.
async fn applied(conn: &mut AnyConnection) -> Result<Vec<i64>, StorageError> {
    let rows = sqlx::query("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .map_err(query("migrate: list applied"))?;
    rows.iter()
        .map(|r| r.try_get::<i64, _>("version"))
        .collect::<Result<_, _>>()
        .map_err(query("migrate: list applied"))
}

/// Enters what the earlier runner applied into `_sqlx_migrations`, once.
async fn adopt_legacy(conn: &mut AnyConnection, migrator: &Migrator) -> Result<(), StorageError> {
    let Some(versions) = legacy_versions(conn).await? else {
        return Ok(());
    };
    for version in versions.into_iter().filter(|&v| v <= LEGACY_LAST_VERSION) {
        let Some(m) = migrator.migrations.iter().find(|m| m.version == version) else {
            continue;
        };
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, $2, TRUE, $3, 0) ON CONFLICT (version) DO NOTHING",
        )
        .bind(m.version)
        .bind(m.description.as_ref())
        .bind(m.checksum.to_vec())
        .execute(&mut *conn)
        .await
        .map_err(query("migrate: adopt schema_migrations"))?;
    }
    Ok(())
}

/// The versions in the earlier runner's `schema_migrations`, or `None` if the database
/// never had that table.
async fn legacy_versions(conn: &mut AnyConnection) -> Result<Option<Vec<i64>>, StorageError> {
    let exists = sqlx::query(
        "SELECT 1 AS found FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = 'schema_migrations'",
    );
    // SQLite has no information_schema; ask its catalog instead.
    let sqlite = sqlx::query(
        "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
    );
    let found = match conn.backend_name() {
        "SQLite" => sqlite.fetch_optional(&mut *conn).await,
        _ => exists.fetch_optional(&mut *conn).await,
    }
    .map_err(query("migrate: look for schema_migrations"))?;
    if found.is_none() {
        return Ok(None);
    }
    let rows = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await
        .map_err(query("migrate: read schema_migrations"))?;
    rows.iter()
        .map(|r| r.try_get::<i64, _>("version"))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
        .map_err(query("migrate: read schema_migrations"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_versions_in_sequence() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let m = migrator(backend);
            for (i, migration) in m.migrations.iter().enumerate() {
                assert_eq!(
                    migration.version,
                    i as i64 + 1,
                    "{backend}: migration {} out of sequence",
                    migration.description
                );
            }
        }
        let names = |b| -> Vec<String> {
            migrator(b)
                .migrations
                .iter()
                .map(|m| m.description.to_string())
                .collect()
        };
        assert_eq!(names(Backend::Sqlite), names(Backend::Postgres));
    }
}
