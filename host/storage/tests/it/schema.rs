//! Cases for connecting and migrating.

use agenthost_storage::Backend;

use crate::fixtures::count;
use crate::harness::TestDb;

pub async fn migrations_are_idempotent(db: &TestDb) -> anyhow::Result<()> {
    let applied = count(db, "_sqlx_migrations", "").await?;
    assert!(applied >= 6);
    db.routes().upsert("+15550001111", "locator", 1).await?;

    for _ in 0..2 {
        let again = db.reconnect().await?;
        assert_eq!(count(&again, "_sqlx_migrations", "").await?, applied);
        // Data survives: re-running migrations recreated nothing.
        assert_eq!(
            again.routes().route_for("+15550001111").await?.as_deref(),
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
    b.routes().upsert("+15550002222", "insurance", 1).await?;
    assert_eq!(c.routes().list().await?.len(), 1);
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
    assert_eq!(db.routes().route_for("+15550000001").await?, None);

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
        db.routes().list().await?,
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
        adopted.routes().route_for("+15550001111").await?.as_deref(),
        Some("echo"),
        "old rows are readable"
    );
    assert_eq!(
        adopted.conversations().state("echo", "k").await?,
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

/// Relaxed writes queued together commit in one transaction on SQLite (the group
/// commit), yet each keeps its own outcome: a write that undoes itself or fails leaves
/// no row and takes nothing of the others with it. On PostgreSQL each is its own.
pub async fn relaxed_writes_commit_together_and_keep_their_own_outcomes(
    db: &TestDb,
) -> anyhow::Result<()> {
    use agenthost_storage::Staged;
    const WRITES: usize = 40;
    db.routes().upsert("+15559999999", "locator", 1).await?;
    let before = db.group_commit();
    // Holding the writer turn, every write queues; they run when it is released.
    let turn = db.writer_turn().await;
    let mut tasks = Vec::new();
    for i in 0..WRITES {
        let storage = (**db).clone();
        tasks.push(tokio::spawn(async move {
            storage
                .relaxed_batch("test: grouped write", move |conn| {
                    Box::pin(async move {
                        let number = format!("+1555000{i:04}");
                        let insert =
                            "INSERT INTO routes (number, plugin, updated_at) VALUES ($1, $2, $3)";
                        sqlx::query(insert)
                            .bind(number.as_str())
                            .bind("echo")
                            .bind(1_i64)
                            .execute(&mut *conn)
                            .await
                            .map_err(agenthost_storage::StorageError::query("test: insert"))?;
                        match i % 4 {
                            1 => Ok(Staged::Undo(i)),
                            2 => {
                                // The same key again: a constraint error after a write.
                                sqlx::query(insert)
                                    .bind(number.as_str())
                                    .bind("echo")
                                    .bind(1_i64)
                                    .execute(&mut *conn)
                                    .await
                                    .map_err(agenthost_storage::StorageError::query(
                                        "test: insert again",
                                    ))?;
                                Ok(Staged::Keep(i))
                            }
                            _ => Ok(Staged::Keep(i)),
                        }
                    })
                })
                .await
        }));
    }
    // A one-statement write that fails (the number is taken) in the same batch, without
    // a savepoint of its own: SQLite undoes that statement and nothing else.
    let storage = (**db).clone();
    let clash = tokio::spawn(async move {
        storage
            .relaxed_statement("test: clashing statement", move |conn| {
                Box::pin(async move {
                    sqlx::query(
                        "INSERT INTO routes (number, plugin, updated_at) VALUES ($1, $2, $3)",
                    )
                    .bind("+15559999999")
                    .bind("echo")
                    .bind(1_i64)
                    .execute(&mut *conn)
                    .await
                    .map_err(agenthost_storage::StorageError::query(
                        "test: clashing insert",
                    ))
                })
            })
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drop(turn);
    let error = clash.await?.expect_err("the clashing statement fails");
    assert!(
        error.to_string().contains("test: clashing insert"),
        "{error}"
    );
    for (i, task) in tasks.into_iter().enumerate() {
        let result = task.await?;
        match i % 4 {
            2 => {
                let error = result.expect_err("a write whose statement fails fails");
                assert!(error.to_string().contains("test: insert again"), "{error}");
            }
            _ => assert_eq!(result?, i),
        }
    }
    let mut kept: Vec<String> = (0..WRITES)
        .filter(|i| i % 4 == 0 || i % 4 == 3)
        .map(|i| format!("+1555000{i:04}"))
        .collect();
    kept.push("+15559999999".to_owned());
    let routes: Vec<String> = db
        .routes()
        .list()
        .await?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(routes, kept, "exactly the kept writes stayed");
    match (db.backend(), before, db.group_commit()) {
        (Backend::Sqlite, Some(before), Some(after)) => {
            assert_eq!(after.writes - before.writes, WRITES as u64 + 1);
            // The writer may have taken the first write before the rest queued.
            assert!(
                after.batches - before.batches <= 2,
                "{} writes queued together ran in {} transactions",
                WRITES + 1,
                after.batches - before.batches
            );
        }
        (Backend::Postgres, None, None) => {}
        other => panic!("unexpected group commit figures {other:?}"),
    }
    Ok(())
}
