//! Cases for connecting and migrating.

use agenthost_storage::Backend;

use crate::fixtures::count;
use crate::harness::TestDb;

pub async fn migrations_are_idempotent(db: &TestDb) -> anyhow::Result<()> {
    let applied = count(db, "schema_migrations", "").await?;
    assert!(applied >= 1);
    db.upsert_route("+15550001111", "locator", 1).await?;

    for _ in 0..2 {
        let again = db.reconnect().await?;
        assert_eq!(count(&again, "schema_migrations", "").await?, applied);
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
    assert!(
        tables.iter().any(|t| t == "schema_migrations"),
        "{tables:?}"
    );
    for table in tables {
        sqlx::query(&format!("DROP TABLE {table}"))
            .execute(db.pool())
            .await?;
    }
    let (a, b, c) = tokio::join!(db.reconnect(), db.reconnect(), db.reconnect());
    let (a, b, c) = (a?, b?, c?);
    let applied = count(&a, "schema_migrations", "").await?;
    assert!(applied >= 1);
    assert_eq!(
        count(&a, "schema_migrations", "").await?,
        count(&b, "schema_migrations", "").await?
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
