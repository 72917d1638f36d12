//! Cases for the worker's commit and the plugin state it writes.

use agenthost_storage::{
    AlertKind, AlertStatus, CommitResult, EventStatus, HostAlert, JobChange, NewOutbound,
    OutboxStatus, Severity, SlaChange,
};

use crate::fixtures::{PLUGIN, count, empty_commit, job_event, message_event, sms, store};
use crate::harness::TestDb;

fn alert(message: &str) -> HostAlert {
    HostAlert::new(
        AlertKind::plugin(PLUGIN, "tour_booked"),
        Severity::Info,
        message,
    )
    .plugin(PLUGIN)
    .version("1.0.0")
    .conversation(Some("conv-1"))
    .field("unit", "2B")
    .field("at", "Sat 10:00")
}

/// A commit for ev-1 exercising every kind of effect.
fn full_commit() -> agenthost_storage::Commit {
    let mut c = empty_commit("ev-1", 5_000);
    c.state_writes = vec![
        ("lead:stage".into(), Some("touring".into())),
        ("lead:old".into(), None),
    ];
    c.outbound = vec![
        sms("ev-1:0", Some("conv-1"), "Tour booked for Saturday 10:00."),
        NewOutbound {
            suppressed: true,
            ..sms("ev-1:1", Some("conv-1"), "Reminder")
        },
        sms("ev-1:2", None, "Staff: tour booked"),
    ];
    c.jobs = vec![
        JobChange::Schedule {
            key: "follow-up".into(),
            name: "nudge".into(),
            due_at_ms: 90_000,
            payload: r#"{"n":1}"#.into(),
            conversation_id: Some("conv-1".into()),
        },
        JobChange::Cancel {
            key: "stale".into(),
        },
    ];
    c.alerts = vec![alert("tour booked")];
    c.sla = vec![
        SlaChange::Track {
            item_id: "app-1".into(),
            kind: "application_decision".into(),
            description: "Decide on application".into(),
            deadline_at_ms: 172_805_000,
            dry_run: false,
        },
        SlaChange::Resolve {
            item_id: "docs-1".into(),
        },
    ];
    c
}

/// Pre-existing rows the full commit changes: a state key to delete, a job to cancel, an
/// SLA item to resolve (written by an earlier event's commit).
async fn seed(db: &TestDb) -> anyhow::Result<()> {
    store(db, job_event("ev-0", "seed", 1_000)).await?;
    let mut c = empty_commit("ev-0", 1_000);
    c.state_writes = vec![("lead:old".into(), Some("x".into()))];
    c.jobs = vec![JobChange::Schedule {
        key: "stale".into(),
        name: "nudge".into(),
        due_at_ms: 50_000,
        payload: "{}".into(),
        conversation_id: None,
    }];
    c.sla = vec![SlaChange::Track {
        item_id: "docs-1".into(),
        kind: "doc_review".into(),
        description: "Review documents".into(),
        deadline_at_ms: 86_401_000,
        dry_run: true,
    }];
    assert!(matches!(
        db.claims().commit(&c).await?,
        CommitResult::Committed { .. }
    ));
    store(
        db,
        message_event("ev-1", "SM-1", "conv-1", "Can I tour Saturday?", 4_000),
    )
    .await?;
    Ok(())
}

pub async fn commit_applies_every_effect(db: &TestDb) -> anyhow::Result<()> {
    seed(db).await?;
    let result = db.claims().commit(&full_commit()).await?;
    assert_eq!(
        result,
        CommitResult::Committed {
            outbox_ids: vec!["ev-1:0".into(), "ev-1:2".into()]
        }
    );

    let event = db
        .events()
        .get("ev-1")
        .await?
        .ok_or_else(|| anyhow::anyhow!("ev-1 missing"))?;
    assert_eq!(event.status, EventStatus::Done);
    assert_eq!(event.served_by_version.as_deref(), Some("1.0.0"));
    assert_eq!(event.updated_at_ms, 5_000);

    assert_eq!(
        db.conversations()
            .state(PLUGIN, "lead:stage")
            .await?
            .map(|(v, _)| v)
            .as_deref(),
        Some("touring")
    );
    assert_eq!(db.conversations().state(PLUGIN, "lead:old").await?, None);

    let sent = db
        .outbox()
        .row("ev-1:0")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no ev-1:0"))?;
    assert_eq!(sent.status, OutboxStatus::Pending);
    assert_eq!(
        (sent.event_id.as_str(), sent.plugin.as_str()),
        ("ev-1", PLUGIN)
    );
    assert_eq!(
        (sent.next_attempt_at_ms, sent.attempts, sent.lease_until_ms),
        (5_000, 0, None)
    );
    let suppressed = db
        .outbox()
        .row("ev-1:1")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no ev-1:1"))?;
    assert_eq!(suppressed.status, OutboxStatus::Suppressed);
    assert_eq!(db.outbox().pending_count().await?, 2);

    // The reply joins the conversation; the suppressed one and the staff note do not.
    let history = db.conversations().history("conv-1", 10, None).await?;
    let bodies: Vec<&str> = history.iter().map(|h| h.body.as_str()).collect();
    assert_eq!(
        bodies,
        ["Can I tour Saturday?", "Tour booked for Saturday 10:00."]
    );
    let last: i64 =
        sqlx::query_scalar("SELECT last_message_at FROM conversations WHERE id = 'conv-1'")
            .fetch_one(db.pool())
            .await?;
    assert_eq!(last, 5_000);

    let jobs = sqlx::query_as::<_, (String, String, i64, String, Option<String>)>(
        "SELECT plugin, key, due_at, payload, conversation_id FROM jobs ORDER BY key",
    )
    .fetch_all(db.pool())
    .await?;
    assert_eq!(
        jobs,
        [(
            PLUGIN.into(),
            "follow-up".into(),
            90_000,
            r#"{"n":1}"#.into(),
            Some("conv-1".into())
        )]
    );

    let alerts = db.alerts().pending(10).await?;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].message, "tour booked");
    assert_eq!(alerts[0].fields, alert("x").fields);
    assert_eq!(
        (alerts[0].status, alerts[0].created_at_ms),
        (AlertStatus::Pending, 5_000)
    );

    let sla = sqlx::query_as::<_, (String, i64, Option<i64>)>(
        "SELECT item_id, deadline_at, resolved_at FROM sla_items ORDER BY item_id",
    )
    .fetch_all(db.pool())
    .await?;
    assert_eq!(
        sla,
        [
            ("app-1".into(), 172_805_000, None),
            ("docs-1".into(), 86_401_000, Some(5_000))
        ]
    );
    Ok(())
}

pub async fn second_commit_of_an_event_changes_nothing(db: &TestDb) -> anyhow::Result<()> {
    seed(db).await?;
    db.claims().commit(&full_commit()).await?;
    let outbox_before = count(db, "outbox", "").await?;
    let messages_before = count(db, "messages", "").await?;

    // A redelivered event whose re-run produced different effects.
    let mut again = full_commit();
    again.now_ms = 9_000;
    again.version = "2.0.0".into();
    again.state_writes = vec![("lead:stage".into(), Some("rerun".into()))];
    again
        .outbound
        .push(sms("ev-1:9", Some("conv-1"), "duplicate?"));
    assert_eq!(db.claims().commit(&again).await?, CommitResult::AlreadyDone);

    assert_eq!(count(db, "outbox", "").await?, outbox_before);
    assert_eq!(count(db, "messages", "").await?, messages_before);
    assert_eq!(count(db, "alerts", "").await?, 1);
    assert_eq!(
        db.conversations()
            .state(PLUGIN, "lead:stage")
            .await?
            .map(|(v, _)| v)
            .as_deref(),
        Some("touring")
    );
    let event = db
        .events()
        .get("ev-1")
        .await?
        .ok_or_else(|| anyhow::anyhow!("ev-1 missing"))?;
    assert_eq!(event.served_by_version.as_deref(), Some("1.0.0"));
    assert_eq!(event.updated_at_ms, 5_000);

    // Two workers committing the same event at once: exactly one wins.
    store(db, job_event("ev-race", "race", 10_000)).await?;
    let mut race = empty_commit("ev-race", 10_000);
    race.outbound = vec![sms("ev-race:0", None, "once")];
    let claims = db.claims();
    let (a, b) = tokio::join!(claims.commit(&race), claims.commit(&race));
    let results = [a?, b?];
    let committed = results
        .iter()
        .filter(|r| matches!(r, CommitResult::Committed { .. }))
        .count();
    assert_eq!(committed, 1, "{results:?}");
    assert!(results.contains(&CommitResult::AlreadyDone));
    assert_eq!(count(db, "outbox", "id = 'ev-race:0'").await?, 1);
    Ok(())
}

pub async fn failed_commit_rolls_back_everything(db: &TestDb) -> anyhow::Result<()> {
    seed(db).await?;
    // Make the last step of the commit fail: state, outbox, jobs and alerts went first.
    sqlx::query("DROP TABLE sla_items")
        .execute(db.pool())
        .await?;
    let err = db.claims().commit(&full_commit()).await.err();
    let err = err.ok_or_else(|| anyhow::anyhow!("commit without sla_items succeeded"))?;
    assert!(err.to_string().contains("sla"), "{err}");

    let event = db
        .events()
        .get("ev-1")
        .await?
        .ok_or_else(|| anyhow::anyhow!("ev-1 missing"))?;
    assert_eq!(event.status, EventStatus::Queued);
    assert_eq!(db.conversations().state(PLUGIN, "lead:stage").await?, None);
    assert_eq!(
        db.conversations()
            .state(PLUGIN, "lead:old")
            .await?
            .map(|(v, _)| v)
            .as_deref(),
        Some("x")
    );
    assert_eq!(count(db, "outbox", "").await?, 0);
    assert_eq!(count(db, "alerts", "").await?, 0);
    assert_eq!(count(db, "jobs", "key = 'stale'").await?, 1);
    assert_eq!(count(db, "messages", "direction = 'outbound'").await?, 0);
    Ok(())
}

pub async fn state_is_namespaced_per_plugin(db: &TestDb) -> anyhow::Result<()> {
    store(db, job_event("ev-a", "a", 1)).await?;
    store(db, job_event("ev-b", "b", 1)).await?;
    let mut a = empty_commit("ev-a", 1);
    a.plugin = "locator".into();
    a.state_writes = vec![("budget".into(), Some("1500".into()))];
    let mut b = empty_commit("ev-b", 1);
    b.plugin = "insurance".into();
    b.state_writes = vec![("quote".into(), Some("12.50".into()))];
    db.claims().commit(&a).await?;
    db.claims().commit(&b).await?;

    assert_eq!(
        db.conversations()
            .state("locator", "budget")
            .await?
            .map(|(v, _)| v)
            .as_deref(),
        Some("1500")
    );
    assert_eq!(db.conversations().state("insurance", "budget").await?, None);
    assert_eq!(db.conversations().state("locator", "quote").await?, None);
    assert_eq!(
        db.conversations().state_keys("locator", "", 100).await?,
        ["budget"]
    );
    assert_eq!(
        db.conversations().state_keys("insurance", "", 100).await?,
        ["quote"]
    );

    // Deleting in one namespace leaves the other alone; overwrites replace.
    store(db, job_event("ev-c", "c", 2)).await?;
    let mut c = empty_commit("ev-c", 2);
    c.plugin = "insurance".into();
    c.state_writes = vec![
        ("budget".into(), None),
        ("quote".into(), Some("13.00".into())),
    ];
    db.claims().commit(&c).await?;
    assert_eq!(
        db.conversations()
            .state("locator", "budget")
            .await?
            .map(|(v, _)| v)
            .as_deref(),
        Some("1500")
    );
    assert_eq!(
        db.conversations()
            .state("insurance", "quote")
            .await?
            .map(|(v, _)| v)
            .as_deref(),
        Some("13.00")
    );
    Ok(())
}

pub async fn prefix_listing_treats_wildcards_literally(db: &TestDb) -> anyhow::Result<()> {
    let keys = [
        "lead:1", "lead:2", "lead_x", "lead%y", "leadz", "Lead:3", "a%b", "a_b", "aXb", "a\\b",
        "é:1", "lead:é",
    ];
    store(db, job_event("ev-1", "k", 1)).await?;
    let mut c = empty_commit("ev-1", 1);
    c.state_writes = keys
        .iter()
        .map(|k| (k.to_string(), Some("v".into())))
        .collect();
    db.claims().commit(&c).await?;
    store(db, job_event("ev-2", "k2", 1)).await?;
    let mut other = empty_commit("ev-2", 1);
    other.plugin = "locator".into();
    other.state_writes = vec![("lead:9".into(), Some("v".into()))];
    db.claims().commit(&other).await?;

    let list = async |prefix: &str| db.conversations().state_keys(PLUGIN, prefix, 100).await;
    assert_eq!(list("lead:").await?, ["lead:1", "lead:2", "lead:é"]);
    assert_eq!(list("lead_").await?, ["lead_x"]);
    assert_eq!(list("lead%").await?, ["lead%y"]);
    assert_eq!(list("a_").await?, ["a_b"]);
    assert_eq!(list("a%").await?, ["a%b"]);
    assert_eq!(list("a\\").await?, ["a\\b"]);
    assert_eq!(list("LEAD").await?, Vec::<String>::new());
    assert_eq!(list("é").await?, ["é:1"]);

    // Everything, in byte order, on both backends.
    let mut sorted: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    sorted.sort();
    assert_eq!(list("").await?, sorted);
    assert_eq!(
        db.conversations().state_keys(PLUGIN, "lead", 2).await?,
        ["lead%y", "lead:1"]
    );
    assert_eq!(
        db.conversations()
            .state_keys("locator", "lead", 100)
            .await?,
        ["lead:9"]
    );
    Ok(())
}
