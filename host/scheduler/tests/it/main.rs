//! The scheduler against real storage and a real queue: SQLite in a tempdir and (for the
//! replica tests) PostgreSQL in a database of its own, with the embedded queue and a
//! fake clock. Every test drives `Scheduler::tick` with explicit times.

mod support;

use std::time::Duration;

use agenthost_core::{CronJob, Invocation};
use agenthost_scheduler::TickReport;
use agenthost_storage::{JobChange, SlaChange};
use anyhow::Result;

use support::{Backend, Fixture, HOUR_MS, MINUTE_MS, T0};

fn sweep_job() -> CronJob {
    CronJob {
        name: "sweep".into(),
        schedule: "*/30 * * * *".into(),
        timezone: None,
    }
}

async fn cron_fires_once_per_slot_across_two_replicas(backend: Backend) -> Result<()> {
    let fx = Fixture::new(backend).await?;
    let plugin = "landlord";
    let a = fx
        .scheduler(vec![(plugin.into(), vec![sweep_job()])])
        .await?;
    let b = fx
        .scheduler(vec![(plugin.into(), vec![sweep_job()])])
        .await?;

    // 10:10: both see the job for the first time; 10:00 is the baseline, nothing fires.
    let (ra, rb) = tokio::join!(a.tick(T0), b.tick(T0));
    assert_eq!(ra?.cron_fired + rb?.cron_fired, 0);

    let mut fired = 0;
    for now in [
        T0 + 20 * MINUTE_MS + 500, // 10:30:00.5 — slot 10:30
        T0 + 20 * MINUTE_MS + 900,
        T0 + 25 * MINUTE_MS,
        T0 + 50 * MINUTE_MS + 200, // 11:00:00.2 — slot 11:00
        T0 + 51 * MINUTE_MS,
    ] {
        let (ra, rb) = tokio::join!(a.tick(now), b.tick(now));
        fired += ra?.cron_fired + rb?.cron_fired;
    }
    assert_eq!(fired, 2, "two slots, each fired by exactly one replica");
    assert_eq!(fx.count_job_events().await?, 2);

    let got = fx.drain(plugin).await?;
    let slot_1030 = T0 + 20 * MINUTE_MS;
    let slot_1100 = T0 + 50 * MINUTE_MS;
    let mut want = vec![
        format!("job:{plugin}:sweep:{slot_1030}"),
        format!("job:{plugin}:sweep:{slot_1100}"),
    ];
    want.sort();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    assert_eq!(got_sorted, want, "one queue message per slot");

    let event = fx
        .storage
        .events()
        .get(&want[0])
        .await?
        .expect("event stored");
    assert!(event.enqueued);
    match serde_json::from_str::<Invocation>(&event.payload)? {
        Invocation::Job(j) => {
            assert_eq!(j.name, "sweep");
            assert_eq!(j.scheduled_at_ms, slot_1030 as u64);
            assert!(!j.dry_run);
            assert_eq!(j.conversation_id, None);
        }
        other => panic!("not a job invocation: {other:?}"),
    }
    let metrics = a.render_prometheus() + &b.render_prometheus();
    assert!(metrics.contains("agenthost_scheduler_fired_total{plugin=\"landlord\",job=\"sweep\"}"));
    fx.close().await
}

#[tokio::test]
async fn cron_once_per_slot_two_replicas_sqlite() -> Result<()> {
    cron_fires_once_per_slot_across_two_replicas(Backend::Sqlite).await
}

#[tokio::test]
async fn cron_once_per_slot_two_replicas_postgres() -> Result<()> {
    cron_fires_once_per_slot_across_two_replicas(Backend::Postgres).await
}

#[tokio::test]
async fn missed_slots_fire_once_on_next_tick() -> Result<()> {
    let fx = Fixture::new(Backend::Sqlite).await?;
    let s = fx
        .scheduler(vec![("landlord".into(), vec![sweep_job()])])
        .await?;
    assert_eq!(s.tick(T0).await?.cron_fired, 0);
    // "Down" for five slots (10:30 … 12:30); back at 12:30:10.
    let back = T0 + (20 + 4 * 30) * MINUTE_MS + 10_000;
    assert_eq!(s.tick(back).await?.cron_fired, 1);
    assert_eq!(s.tick(back + 1_000).await?.cron_fired, 0);
    let got = fx.drain("landlord").await?;
    let latest = T0 + (20 + 4 * 30) * MINUTE_MS;
    assert_eq!(got, vec![format!("job:landlord:sweep:{latest}")]);
    // 10 s late is under the 60 s threshold.
    assert!(fx.alerts().await?.is_empty());

    // A fresh replica (a restart) sees the mark and does not fire again.
    let restarted = fx
        .scheduler(vec![("landlord".into(), vec![sweep_job()])])
        .await?;
    assert_eq!(restarted.tick(back + 2_000).await?.cron_fired, 0);
    fx.close().await
}

#[tokio::test]
async fn lateness_above_threshold_raises_one_alert() -> Result<()> {
    let fx = Fixture::new(Backend::Sqlite).await?;
    let s = fx
        .scheduler(vec![("landlord".into(), vec![sweep_job()])])
        .await?;
    s.tick(T0).await?;
    let late = s.tick(T0 + 20 * MINUTE_MS + 90_000).await?; // 10:31:30
    assert_eq!((late.cron_fired, late.lateness_alerts), (1, 1));
    let on_time = s.tick(T0 + 50 * MINUTE_MS + 1_000).await?; // 11:00:01
    assert_eq!((on_time.cron_fired, on_time.lateness_alerts), (1, 0));
    let alerts = fx.alerts().await?;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].kind, "scheduler_lateness");
    assert_eq!(alerts[0].severity, "warning");
    assert!(
        alerts[0].message.contains("1 min 30 s"),
        "{}",
        alerts[0].message
    );
    let metrics = s.render_prometheus();
    assert!(
        metrics
            .contains("agenthost_scheduler_lateness_seconds_bucket{source=\"cron\",le=\"60\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("agenthost_scheduler_lateness_seconds_bucket{source=\"cron\",le=\"120\"} 2"),
        "{metrics}"
    );
    fx.close().await
}

#[tokio::test]
async fn timezone_daily_report_fires_at_local_seven() -> Result<()> {
    let fx = Fixture::new(Backend::Sqlite).await?;
    let report = CronJob {
        name: "owner_report".into(),
        schedule: "0 7 * * *".into(),
        timezone: Some("America/Chicago".into()),
    };
    let s = fx
        .scheduler(vec![("landlord".into(), vec![report])])
        .await?;
    s.tick(T0).await?; // 10:10 UTC = 04:10 Chicago
    assert_eq!(s.tick(T0 + 2 * HOUR_MS).await?.cron_fired, 0); // 06:10 Chicago
    let seven_chicago = T0 + 2 * HOUR_MS + 50 * MINUTE_MS; // 13:00 UTC
    assert_eq!(s.tick(seven_chicago - 1).await?.cron_fired, 0);
    assert_eq!(s.tick(seven_chicago).await?.cron_fired, 1);
    assert_eq!(
        fx.drain("landlord").await?,
        vec![format!("job:landlord:owner_report:{seven_chicago}")]
    );
    fx.close().await
}

async fn one_off_job_fires_once_when_due(backend: Backend) -> Result<()> {
    let fx = Fixture::new(backend).await?;
    let a = fx.scheduler(vec![]).await?;
    let b = fx.scheduler(vec![]).await?;
    let due = T0 + 10 * MINUTE_MS;
    fx.commit(
        "landlord",
        T0,
        vec![JobChange::Schedule {
            key: "followup:conv-1".into(),
            name: "followup".into(),
            due_at_ms: due,
            payload: "{\"n\":1}".into(),
            conversation_id: Some("conv-1".into()),
        }],
        vec![],
    )
    .await?;
    let sum = |x: TickReport, y: TickReport| x.jobs_fired + y.jobs_fired;
    let (x, y) = tokio::join!(a.tick(T0 + MINUTE_MS), b.tick(T0 + MINUTE_MS));
    assert_eq!(sum(x?, y?), 0);
    let (x, y) = tokio::join!(a.tick(due - 1), b.tick(due - 1));
    assert_eq!(sum(x?, y?), 0, "not before it is due");
    let (x, y) = tokio::join!(a.tick(due), b.tick(due));
    assert_eq!(sum(x?, y?), 1, "once when due, across both replicas");
    let (x, y) = tokio::join!(a.tick(due + MINUTE_MS), b.tick(due + MINUTE_MS));
    assert_eq!(sum(x?, y?), 0);

    let id = format!("job:landlord:followup:conv-1:{due}");
    assert_eq!(fx.drain("landlord").await?, vec![id.clone()]);
    let event = fx.storage.events().get(&id).await?.expect("event stored");
    assert_eq!(event.conversation_id.as_deref(), Some("conv-1"));
    match serde_json::from_str::<Invocation>(&event.payload)? {
        Invocation::Job(j) => {
            assert_eq!(j.name, "followup");
            assert_eq!(j.payload, "{\"n\":1}");
            assert_eq!(j.conversation_id.as_deref(), Some("conv-1"));
            assert_eq!(j.scheduled_at_ms, due as u64);
        }
        other => panic!("not a job invocation: {other:?}"),
    }
    fx.close().await
}

#[tokio::test]
async fn one_off_job_fires_once_when_due_sqlite() -> Result<()> {
    one_off_job_fires_once_when_due(Backend::Sqlite).await
}

#[tokio::test]
async fn one_off_job_fires_once_when_due_postgres() -> Result<()> {
    one_off_job_fires_once_when_due(Backend::Postgres).await
}

async fn sla_ladder_each_rung_once(backend: Backend) -> Result<()> {
    let fx = Fixture::new(backend).await?;
    let a = fx.scheduler(vec![]).await?;
    let b = fx.scheduler(vec![]).await?;
    let deadline = T0 + 24 * HOUR_MS;
    fx.commit(
        "landlord",
        T0,
        vec![],
        vec![SlaChange::Track {
            item_id: "app-17".into(),
            kind: "doc_review".into(),
            description: "review documents for unit 4B".into(),
            deadline_at_ms: deadline,
            dry_run: false,
        }],
    )
    .await?;
    let h = HOUR_MS;
    let steps: &[(i64, Option<(&str, &str)>)] = &[
        (T0 + 11 * h, None),
        (T0 + 12 * h, Some(("sla_reminder", "warning"))),
        (T0 + 12 * h + MINUTE_MS, None),
        (deadline - 1, None),
        (deadline, Some(("sla_overdue", "warning"))),
        (deadline + 7 * h, None),
        (deadline + 8 * h, Some(("sla_overdue", "warning"))),
        (deadline + 16 * h, Some(("sla_overdue", "warning"))),
        (deadline + 24 * h, Some(("sla_overdue", "warning"))),
        (deadline + 31 * h, None),
        (deadline + 32 * h, Some(("sla_escalation", "critical"))),
        (deadline + 33 * h, None),
        (deadline + 1000 * h, None),
    ];
    let mut seen = 0;
    for (now, want) in steps {
        let (x, y) = tokio::join!(a.tick(*now), b.tick(*now));
        let climbed = x?.sla_rungs + y?.sla_rungs;
        let alerts = fx.alerts().await?;
        match want {
            None => assert_eq!(
                (climbed, alerts.len()),
                (0, seen),
                "at +{}h",
                (now - T0) / h
            ),
            Some((kind, severity)) => {
                assert_eq!(climbed, 1, "at +{}h", (now - T0) / h);
                assert_eq!(alerts.len(), seen + 1);
                let alert = &alerts[seen];
                assert_eq!(
                    (alert.kind.as_str(), alert.severity.as_str()),
                    (*kind, *severity)
                );
                assert_eq!(alert.plugin.as_deref(), Some("landlord"));
                for part in [
                    "landlord",
                    "app-17",
                    "doc_review",
                    "review documents for unit 4B",
                ] {
                    assert!(alert.message.contains(part), "{}", alert.message);
                }
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 6);
    let last = &fx.alerts().await?[5];
    assert!(last.message.contains("32 h late"), "{}", last.message);
    fx.close().await
}

#[tokio::test]
async fn sla_ladder_each_rung_once_sqlite() -> Result<()> {
    sla_ladder_each_rung_once(Backend::Sqlite).await
}

#[tokio::test]
async fn sla_ladder_each_rung_once_postgres() -> Result<()> {
    sla_ladder_each_rung_once(Backend::Postgres).await
}

#[tokio::test]
async fn sla_after_downtime_fires_only_the_highest_due_rung_and_stops_when_resolved() -> Result<()>
{
    let fx = Fixture::new(Backend::Sqlite).await?;
    let s = fx.scheduler(vec![]).await?;
    let deadline = T0 + 48 * HOUR_MS;
    let track = |id: &str| SlaChange::Track {
        item_id: id.into(),
        kind: "application_decision".into(),
        description: "decide application".into(),
        deadline_at_ms: deadline,
        dry_run: false,
    };
    fx.commit("landlord", T0, vec![], vec![track("a"), track("b")])
        .await?;
    // First look at +50h: both are overdue; no half-way reminder any more.
    let r = s.tick(T0 + 50 * HOUR_MS).await?;
    assert_eq!(r.sla_rungs, 2);
    let kinds: Vec<String> = fx.alerts().await?.into_iter().map(|a| a.kind).collect();
    assert_eq!(kinds, vec!["sla_overdue", "sla_overdue"]);
    // "b" is resolved; only "a" keeps climbing.
    fx.commit(
        "landlord",
        T0 + 51 * HOUR_MS,
        vec![],
        vec![SlaChange::Resolve {
            item_id: "b".into(),
        }],
    )
    .await?;
    assert_eq!(s.tick(deadline + 8 * HOUR_MS).await?.sla_rungs, 1);
    fx.close().await
}

#[tokio::test]
async fn dry_run_sla_items_alert_no_channel() -> Result<()> {
    let fx = Fixture::new(Backend::Sqlite).await?;
    let s = fx.scheduler(vec![]).await?;
    let deadline = T0 + 24 * HOUR_MS;
    fx.commit(
        "landlord",
        T0,
        vec![],
        vec![SlaChange::Track {
            item_id: "test-1".into(),
            kind: "doc_review".into(),
            description: "shadow traffic".into(),
            deadline_at_ms: deadline,
            dry_run: true,
        }],
    )
    .await?;
    let mut climbed = 0;
    for now in [
        T0 + 12 * HOUR_MS,
        deadline,
        deadline + 8 * HOUR_MS,
        deadline + 100 * HOUR_MS,
    ] {
        climbed += s.tick(now).await?.sla_rungs;
    }
    assert_eq!(climbed, 4, "the ladder is still recorded");
    assert!(fx.alerts().await?.is_empty(), "but no alert is raised");
    fx.close().await
}

#[tokio::test]
async fn run_loops_until_cancelled() -> Result<()> {
    let fx = Fixture::new(Backend::Sqlite).await?;
    fx.clock.set(T0);
    let s = std::sync::Arc::new(
        fx.scheduler_with(
            vec![("landlord".into(), vec![sweep_job()])],
            Duration::from_millis(20),
        )
        .await?,
    );
    let cancel = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn({
        let (s, cancel) = (s.clone(), cancel.clone());
        async move { s.run(cancel).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    fx.clock.set(T0 + 20 * MINUTE_MS + 5);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while fx.count_job_events().await? == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "run never fired the slot"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), task).await??;
    assert_eq!(fx.count_job_events().await?, 1);
    fx.close().await
}
