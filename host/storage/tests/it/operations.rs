//! Cases for dead letters, routes, opt-outs and alerts.

use agenthost_storage::{
    AlertKind, AlertStatus, CommitResult, DeadLetter, EventStatus, HostAlert, Severity,
};

use crate::fixtures::{PLUGIN, count, empty_commit, job_event, store};
use crate::harness::TestDb;

fn letter(at_ms: i64) -> DeadLetter {
    DeadLetter {
        event_id: "ev-1".into(),
        plugin: PLUGIN.into(),
        version: Some("1.0.0".into()),
        attempts: 3,
        outcome: "trap".into(),
        message: "unreachable executed".into(),
        at_ms,
    }
}

pub async fn dead_letters_and_requeue(db: &TestDb) -> anyhow::Result<()> {
    store(db, job_event("ev-1", "k", 1_000)).await?;
    assert!(
        db.events()
            .record_attempt_failure("ev-1", 1, "fuel exhausted", 1_100)
            .await?
    );
    assert!(
        !db.events()
            .record_attempt_failure("nope", 1, "x", 1_100)
            .await?
    );
    let event = db
        .events()
        .get("ev-1")
        .await?
        .ok_or_else(|| anyhow::anyhow!("ev-1 missing"))?;
    assert_eq!(event.status, EventStatus::Queued);
    assert_eq!(
        (event.attempts, event.last_error.as_deref()),
        (1, Some("fuel exhausted"))
    );

    assert!(db.events().dead_letter(&letter(2_000)).await?);
    assert!(
        db.events().dead_letter(&letter(2_500)).await?,
        "dead-lettering again is harmless"
    );
    assert_eq!(db.events().dead_letters(10).await?, [letter(2_500)]);
    let event = db
        .events()
        .get("ev-1")
        .await?
        .ok_or_else(|| anyhow::anyhow!("ev-1 missing"))?;
    assert_eq!((event.status, event.attempts), (EventStatus::Dead, 3));
    assert!(
        !db.events()
            .dead_letter(&DeadLetter {
                event_id: "nope".into(),
                ..letter(1)
            })
            .await?
    );

    assert!(db.events().requeue("ev-1", 3_000).await?);
    assert!(
        !db.events().requeue("ev-1", 3_000).await?,
        "only dead events requeue"
    );
    let event = db
        .events()
        .get("ev-1")
        .await?
        .ok_or_else(|| anyhow::anyhow!("ev-1 missing"))?;
    assert_eq!(
        (event.status, event.enqueued, event.attempts),
        (EventStatus::Queued, false, 0)
    );
    assert!(db.events().dead_letters(10).await?.is_empty());
    assert_eq!(db.events().unenqueued(i64::MAX, 10).await?.len(), 1);

    // Once committed, an event can no longer be dead-lettered.
    assert!(matches!(
        db.claims().commit(&empty_commit("ev-1", 4_000)).await?,
        CommitResult::Committed { .. }
    ));
    assert!(!db.events().dead_letter(&letter(5_000)).await?);
    assert_eq!(count(db, "dead_letters", "").await?, 0);

    // Newest first, limited.
    for (i, id) in ["ev-2", "ev-3", "ev-4"].into_iter().enumerate() {
        store(db, job_event(id, id, 1)).await?;
        let at_ms = 10_000 + i as i64;
        db.events()
            .dead_letter(&DeadLetter {
                event_id: id.into(),
                ..letter(at_ms)
            })
            .await?;
    }
    let newest: Vec<String> = db
        .events()
        .dead_letters(2)
        .await?
        .into_iter()
        .map(|d| d.event_id.into_string())
        .collect();
    assert_eq!(newest, ["ev-4", "ev-3"]);
    Ok(())
}

pub async fn routes(db: &TestDb) -> anyhow::Result<()> {
    assert!(db.routes().list().await?.is_empty());
    assert_eq!(db.routes().route_for("+15550000002").await?, None);
    db.routes().upsert("+15550000002", "locator", 1).await?;
    db.routes()
        .upsert("+15550000001", "landlord-rep", 1)
        .await?;
    db.routes().upsert("+15550000002", "insurance", 2).await?;
    assert_eq!(
        db.routes().route_for("+15550000002").await?.as_deref(),
        Some("insurance")
    );
    assert_eq!(
        db.routes().list().await?,
        [
            ("+15550000001".to_owned(), "landlord-rep".to_owned()),
            ("+15550000002".to_owned(), "insurance".to_owned()),
        ]
    );
    assert!(db.routes().delete("+15550000002").await?);
    assert!(!db.routes().delete("+15550000002").await?);
    assert_eq!(db.routes().route_for("+15550000002").await?, None);
    assert_eq!(db.routes().list().await?.len(), 1);
    Ok(())
}

pub async fn opt_outs(db: &TestDb) -> anyhow::Result<()> {
    assert!(!db.routes().is_opted_out("+15550000001").await?);
    db.routes().set_opt_out("+15550000001", true, 1).await?;
    assert!(db.routes().is_opted_out("+15550000001").await?);
    assert!(!db.routes().is_opted_out("+15550000002").await?);
    db.routes().set_opt_out("+15550000001", false, 2).await?;
    assert!(!db.routes().is_opted_out("+15550000001").await?);
    db.routes().set_opt_out("+15550000001", true, 3).await?;
    assert!(db.routes().is_opted_out("+15550000001").await?);
    Ok(())
}

pub async fn alerts(db: &TestDb) -> anyhow::Result<()> {
    let alert = HostAlert::new(
        AlertKind::PluginTrap,
        Severity::Critical,
        "landlord-rep trapped 5 times in a row",
    )
    .plugin(PLUGIN)
    .field("error", "unreachable \"x\"")
    .field("error", "again");
    let first = db.alerts().insert(&alert, 1_000).await?;
    let second = db.alerts().insert(&alert, 2_000).await?;
    assert!(second > first);

    let pending = db.alerts().pending(10).await?;
    assert_eq!(
        pending.iter().map(|a| a.id).collect::<Vec<_>>(),
        [first, second]
    );
    assert_eq!(pending[0].fields, alert.fields);
    assert_eq!((pending[0].version.clone(), pending[0].attempts), (None, 0));

    assert!(db.alerts().mark(first, AlertStatus::Sent, 1).await?);
    assert!(db.alerts().mark(second, AlertStatus::Pending, 1).await?);
    assert!(!db.alerts().mark(9_999, AlertStatus::Failed, 1).await?);
    let pending = db.alerts().pending(10).await?;
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].id, pending[0].attempts), (second, 1));
    assert_eq!(db.alerts().pending(0).await?.len(), 0);
    Ok(())
}

pub async fn admin_calls_are_audited_newest_first(db: &TestDb) -> anyhow::Result<()> {
    use agenthost_storage::NewAudit;
    let call = |at_ms, actor, status, outcome| NewAudit {
        at_ms,
        actor,
        scope: actor.map(|_| "deploy"),
        method: "POST",
        path: "/admin/plugins/echo/activate",
        source: Some("10.0.0.7:51234"),
        status,
        outcome,
    };
    db.audit().record(&call(1, Some("ci"), 200, "ok")).await?;
    db.audit()
        .record(&call(2, None, 401, "unauthorized"))
        .await?;
    db.audit()
        .record(&call(3, Some("grafana"), 403, "refused"))
        .await?;
    db.audit()
        .record(&NewAudit {
            path: &format!("/admin/{}", "x".repeat(2_000)),
            ..call(4, Some("ci"), 404, "failed")
        })
        .await?;

    let all = db.audit().recent(None, None, 10).await?;
    assert_eq!(
        all.iter()
            .map(|r| (r.at_ms, r.actor.as_deref(), r.status, r.outcome.as_str()))
            .collect::<Vec<_>>(),
        [
            (4, Some("ci"), 404, "failed"),
            (3, Some("grafana"), 403, "refused"),
            (2, None, 401, "unauthorized"),
            (1, Some("ci"), 200, "ok"),
        ]
    );
    assert_eq!(all[3].source.as_deref(), Some("10.0.0.7:51234"));
    assert_eq!(all[3].scope.as_deref(), Some("deploy"));
    assert_eq!(all[3].method, "POST");
    assert_eq!(all[0].path.len(), 512, "long paths are cut");

    let ci = db.audit().recent(Some("ci"), None, 10).await?;
    assert_eq!(ci.iter().map(|r| r.at_ms).collect::<Vec<_>>(), [4, 1]);
    // Paging: the next page starts below the last id seen.
    let first = db.audit().recent(None, None, 2).await?;
    let next = db.audit().recent(None, Some(first[1].id), 2).await?;
    assert_eq!(next.iter().map(|r| r.at_ms).collect::<Vec<_>>(), [2, 1]);
    Ok(())
}
