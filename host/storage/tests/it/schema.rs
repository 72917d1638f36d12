//! Cases for connecting and migrating.

use agenthost_storage::Backend;

use crate::fixtures::count;
use crate::harness::TestDb;

pub async fn migrations_are_idempotent(db: &TestDb) -> anyhow::Result<()> {
    let applied = count(db, "_sqlx_migrations", "").await?;
    assert!(applied >= 6);
    db.upsert_route("+15550001111", "locator", 1).await?;

    for _ in 0..2 {
        let again = db.reconnect().await?;
        assert_eq!(count(&again, "_sqlx_migrations", "").await?, applied);
        // Data survives: re-running migrations recreated nothing.
        assert_eq!(
            again.route_for("+15550001111").await?.as_deref(),
            Some("locator")
        );
        again.close().await;
    }
    Ok(())
}

pub async fn concurrent_connects_migrate_once(db: &TestDb) -> anyhow::Result<()> {
    // Wipe the schema (whatever migrations created) so the replicas below race to build it.
    let catalog = match db.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        Backend::Postgres => {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()"
        }
    };
    let tables: Vec<String> = sqlx::query_scalar(catalog).fetch_all(db.pool()).await?;
    assert!(tables.iter().any(|t| t == "_sqlx_migrations"), "{tables:?}");
    for table in tables {
        sqlx::query(&format!("DROP TABLE {table}"))
            .execute(db.pool())
            .await?;
    }
    let (a, b, c) = tokio::join!(db.reconnect(), db.reconnect(), db.reconnect());
    let (a, b, c) = (a?, b?, c?);
    let applied = count(&a, "_sqlx_migrations", "").await?;
    assert!(applied >= 6);
    assert_eq!(
        count(&a, "_sqlx_migrations", "").await?,
        count(&b, "_sqlx_migrations", "").await?
    );
    // The schema is usable from every replica.
    b.upsert_route("+15550002222", "insurance", 1).await?;
    assert_eq!(c.routes().await?.len(), 1);
    for storage in [a, b, c] {
        storage.close().await;
    }
    Ok(())
}

pub async fn ping_and_backend(db: &TestDb) -> anyhow::Result<()> {
    db.ping().await?;
    let expected = match db.pool().connect_options().database_url.scheme() {
        "sqlite" => Backend::Sqlite,
        _ => Backend::Postgres,
    };
    assert_eq!(db.backend(), expected);
    Ok(())
}

pub async fn write_transactions_commit_or_roll_back(db: &TestDb) -> anyhow::Result<()> {
    let insert = "INSERT INTO routes (number, plugin, updated_at) VALUES ($1, $2, $3)";
    let mut tx = db.begin_write("test: rolled back").await?;
    sqlx::query(insert)
        .bind("+15550000001")
        .bind("locator")
        .bind(1_i64)
        .execute(&mut *tx)
        .await?;
    tx.rollback("test: rollback").await?;
    assert_eq!(db.route_for("+15550000001").await?, None);

    let mut tx = db.begin_write("test: committed").await?;
    sqlx::query(insert)
        .bind("+15550000001")
        .bind("insurance")
        .bind(1_i64)
        .execute(&mut *tx)
        .await?;
    // Dropped without commit: rolled back too.
    drop(tx);
    let mut tx = db.begin_write("test: committed").await?;
    sqlx::query(insert)
        .bind("+15550000002")
        .bind("insurance")
        .bind(1_i64)
        .execute(&mut *tx)
        .await?;
    tx.commit("test: commit").await?;
    assert_eq!(
        db.routes().await?,
        [("+15550000002".to_owned(), "insurance".to_owned())]
    );
    Ok(())
}

/// The SQL files of the first five migrations, as the earlier runner applied them.
fn legacy_files(backend: Backend) -> Vec<&'static str> {
    match backend {
        Backend::Sqlite => vec![
            include_str!("../../migrations/sqlite/0001_init.sql"),
            include_str!("../../migrations/sqlite/0002_queue.sql"),
            include_str!("../../migrations/sqlite/0003_schedule.sql"),
            include_str!("../../migrations/sqlite/0004_deploys.sql"),
            include_str!("../../migrations/sqlite/0005_workers.sql"),
        ],
        Backend::Postgres => vec![
            include_str!("../../migrations/postgres/0001_init.sql"),
            include_str!("../../migrations/postgres/0002_queue.sql"),
            include_str!("../../migrations/postgres/0003_schedule.sql"),
            include_str!("../../migrations/postgres/0004_deploys.sql"),
            include_str!("../../migrations/postgres/0005_workers.sql"),
        ],
    }
}

/// Drops every table, leaving an empty database.
async fn wipe(db: &TestDb) -> anyhow::Result<()> {
    let catalog = match db.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        Backend::Postgres => {
            "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()"
        }
    };
    let tables: Vec<String> = sqlx::query_scalar(catalog).fetch_all(db.pool()).await?;
    let cascade = match db.backend() {
        Backend::Postgres => " CASCADE",
        Backend::Sqlite => "",
    };
    for table in tables {
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}{cascade}"))
            .execute(db.pool())
            .await?;
    }
    Ok(())
}

pub async fn databases_of_the_earlier_runner_are_adopted(db: &TestDb) -> anyhow::Result<()> {
    // A database as the host's own runner left it (schema_migrations, versions 1-5),
    // holding data.
    wipe(db).await?;
    sqlx::raw_sql(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY NOT NULL, \
         name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(db.pool())
    .await?;
    for (i, sql) in legacy_files(db.backend()).into_iter().enumerate() {
        sqlx::raw_sql(sql).execute(db.pool()).await?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'x', 1)",
        )
        .bind(i as i64 + 1)
        .execute(db.pool())
        .await?;
    }
    sqlx::query(
        "INSERT INTO routes (number, plugin, updated_at) VALUES ('+15550001111', 'echo', 1)",
    )
    .execute(db.pool())
    .await?;
    sqlx::query(
        "INSERT INTO plugin_state (plugin, key, value, updated_at) VALUES ('echo', 'k', 'v', 1)",
    )
    .execute(db.pool())
    .await?;

    // The new binary connects: it adopts 1-5 without re-running them and applies the
    // rest (6 onwards).
    let adopted = db.reconnect().await?;
    // Every migration shipped (both backends have the same versions).
    let latest = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))?
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count() as i64;
    assert_eq!(count(&adopted, "_sqlx_migrations", "").await?, latest);
    assert_eq!(
        adopted.route_for("+15550001111").await?.as_deref(),
        Some("echo"),
        "old rows are readable"
    );
    assert_eq!(
        adopted.state_get("echo", "k").await?,
        Some(("v".to_owned(), 1)),
        "0006 added versions to existing state"
    );
    adopted.close().await;
    // And again: nothing to do.
    let again = db.reconnect().await?;
    assert_eq!(count(&again, "_sqlx_migrations", "").await?, latest);
    again.close().await;
    Ok(())
}

pub async fn an_edited_migration_stops_the_host_naming_it(db: &TestDb) -> anyhow::Result<()> {
    // What an edit of a released migration file looks like from the database: the
    // recorded checksum no longer matches the embedded file.
    sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 3")
        .bind(vec![0u8; 48])
        .execute(db.pool())
        .await?;
    let err = match db.reconnect().await {
        Ok(_) => anyhow::bail!("connected despite a changed migration"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains('3') && err.contains("migration"), "{err}");
    Ok(())
}
