//! Cases for worker claims (leases, delivery counts, conversation order), the commit's
//! lease and state-version checks, daily budgets and reconciliation.

use agenthost_storage::{
    AlertKind, BudgetCharge, Claim, CommitResult, DeadLetter, EventStatus, Failure, HostAlert,
    Lease, Severity, Storage,
};

use crate::fixtures::{PLUGIN, empty_commit, job_event, message_event, store};
use crate::harness::TestDb;

const LEASE_MS: i64 = 10_000;

async fn claim(db: &Storage, event: &str, token: &str, now: i64) -> anyhow::Result<Claim> {
    Ok(db
        .claims()
        .claim(event, "owner-a", token, now, LEASE_MS)
        .await?)
}

fn claimed(c: Claim) -> agenthost_storage::Claimed {
    match c {
        Claim::Claimed(c) => c,
        other => panic!("not claimed: {other:?}"),
    }
}

pub async fn a_claim_holds_the_event_and_counts_every_delivery(db: &TestDb) -> anyhow::Result<()> {
    store(db, job_event("ev-1", "k1", 1_000)).await?;
    let first = claimed(claim(db, "ev-1", "t1", 1_000).await?);
    assert_eq!((first.deliveries, first.host_failures), (1, 0));
    assert_eq!(first.lease.key, "event:ev-1");
    // Held: a redelivery elsewhere bounces until the lease ends.
    assert_eq!(
        claim(db, "ev-1", "t2", 5_000).await?,
        Claim::Busy { until_ms: 11_000 }
    );
    // The heartbeat keeps it; a lease not named lapses.
    assert_eq!(
        db.claims()
            .extend_leases("owner-a", &["t1".to_owned()], 20_000)
            .await?,
        1
    );
    assert_eq!(
        db.claims()
            .extend_leases("owner-b", &["t1".to_owned()], 90_000)
            .await?,
        0,
        "only the owner extends"
    );
    assert!(matches!(
        claim(db, "ev-1", "t2", 15_000).await?,
        Claim::Busy { .. }
    ));
    // Its worker died: after the lease another claim takes it, and the lost delivery
    // counts (this is how a poison event that kills workers is caught).
    let second = claimed(claim(db, "ev-1", "t2", 20_001).await?);
    assert_eq!(second.deliveries, 2);
    // The first worker comes back and tries to commit: refused, nothing written.
    let mut stale = empty_commit("ev-1", 21_000);
    stale.lease = Some(first.lease.clone());
    stale.state_writes = vec![("k".into(), Some("stale".into()))];
    assert_eq!(db.claims().commit(&stale).await?, CommitResult::LeaseLost);
    assert_eq!(db.conversations().state(PLUGIN, "k").await?, None);
    // The holder commits; the lease is given back with it.
    let mut good = empty_commit("ev-1", 21_000);
    good.lease = Some(second.lease.clone());
    assert!(matches!(
        db.claims().commit(&good).await?,
        CommitResult::Committed { .. }
    ));
    assert!(matches!(
        claim(db, "ev-1", "t3", 21_001).await?,
        Claim::Finished(EventStatus::Done)
    ));
    assert_eq!(claim(db, "nope", "t4", 1).await?, Claim::Missing);
    Ok(())
}

pub async fn a_conversations_events_run_one_at_a_time_in_order(db: &TestDb) -> anyhow::Result<()> {
    let conv = "+15559990000|+15550000001";
    store(db, message_event("ev-1", "s1", conv, "one", 1_000)).await?;
    store(db, message_event("ev-2", "s2", conv, "two", 1_001)).await?;
    store(
        db,
        message_event("ev-x", "s3", "+15559990000|+15550000009", "other", 1_002),
    )
    .await?;
    // The second text waits for the first, whoever picks it up first.
    assert_eq!(
        claim(db, "ev-2", "t1", 2_000).await?,
        Claim::Behind {
            earlier: "ev-1".into()
        }
    );
    let one = claimed(claim(db, "ev-1", "t2", 2_000).await?);
    assert_eq!(one.lease.key, format!("conversation:{conv}"));
    // Another conversation is not held up.
    claimed(claim(db, "ev-x", "t3", 2_000).await?);
    // The first fails and is retried later: it gives the conversation back but stays
    // first in line.
    let failure = Failure {
        host: false,
        error: "trap",
        due_at_ms: 9_000,
    };
    assert!(
        db.claims()
            .record_failure("ev-1", &one.lease, &failure, 2_100)
            .await?
    );
    assert!(matches!(
        claim(db, "ev-2", "t4", 2_200).await?,
        Claim::Behind { .. }
    ));
    let row = db.events().get("ev-1").await?.expect("event");
    assert_eq!((row.attempts, row.deliveries, row.due_at_ms), (1, 1, 9_000));
    // Its second delivery commits; then the second text runs.
    let again = claimed(claim(db, "ev-1", "t5", 9_000).await?);
    assert_eq!(again.deliveries, 2);
    let mut c = empty_commit("ev-1", 9_100);
    c.lease = Some(again.lease);
    db.claims().commit(&c).await?;
    claimed(claim(db, "ev-2", "t6", 9_200).await?);
    // A host-side failure is counted apart from the plugin's attempts.
    store(db, job_event("ev-h", "kh", 10_000)).await?;
    let h = claimed(claim(db, "ev-h", "t7", 10_000).await?);
    let host_failure = Failure {
        host: true,
        error: "database blip",
        due_at_ms: 10_500,
    };
    assert!(
        db.claims()
            .record_failure("ev-h", &h.lease, &host_failure, 10_100)
            .await?
    );
    let h2 = claimed(claim(db, "ev-h", "t8", 10_500).await?);
    assert_eq!((h2.deliveries, h2.host_failures), (2, 1));
    // A lost lease cannot record a failure or a dead letter either.
    assert!(
        !db.claims()
            .record_failure("ev-h", &h.lease, &failure, 10_600)
            .await?
    );
    Ok(())
}

/// The worker's dead letter, the event's `dead` status and its one alert are one
/// transaction: a lost lease records none of them, the holder records all three.
pub async fn a_dead_letter_and_its_alert_commit_together(db: &TestDb) -> anyhow::Result<()> {
    store(db, job_event("ev-d", "kd", 1_000)).await?;
    let stale = claimed(claim(db, "ev-d", "t1", 1_000).await?);
    // Its lease lapses and another worker takes the event.
    let holder = claimed(claim(db, "ev-d", "t2", 1_000 + LEASE_MS + 1).await?);
    let letter = |at_ms| DeadLetter {
        event_id: "ev-d".into(),
        plugin: PLUGIN.into(),
        version: None,
        attempts: 3,
        outcome: "trap".into(),
        message: "trapped 3 times".into(),
        at_ms,
    };
    let alert = HostAlert::new(
        AlertKind::DeadLetter,
        Severity::Critical,
        "event ev-d gave up",
    )
    .plugin(PLUGIN.to_owned());
    assert!(
        !db.events()
            .dead_letter_leased(&letter(12_000), Some(&stale.lease), Some(&alert))
            .await?,
        "a lost lease buries nothing"
    );
    assert!(
        db.alerts().recent(10).await?.is_empty(),
        "and alerts nothing"
    );
    assert!(db.events().dead_letters(10).await?.is_empty());
    assert!(
        db.events()
            .dead_letter_leased(&letter(12_100), Some(&holder.lease), Some(&alert))
            .await?
    );
    let alerts = db.alerts().recent(10).await?;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        (alerts[0].kind.as_str(), alerts[0].plugin.as_deref()),
        ("dead_letter", Some(PLUGIN))
    );
    assert_eq!(
        alerts[0].created_at_ms, 12_100,
        "stamped with the letter's time"
    );
    assert_eq!(db.events().dead_letters(10).await?.len(), 1);
    assert_eq!(
        db.events().get("ev-d").await?.map(|e| e.status),
        Some(EventStatus::Dead)
    );
    Ok(())
}

pub async fn state_commits_check_the_versions_they_read(db: &TestDb) -> anyhow::Result<()> {
    let commit = |id: &str, reads: Vec<(&str, Option<i64>)>, writes: Vec<(&str, &str)>| {
        let mut c = empty_commit(id, 1_000);
        c.state_reads = reads.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        c.state_writes = writes
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Some(v.to_owned())))
            .collect();
        c
    };
    for id in ["e1", "e2", "e3", "e4", "e5", "e6"] {
        store(db, job_event(id, id, 1_000)).await?;
    }
    // Both read "count" as absent; the first creates it, the second must not clobber it.
    assert!(matches!(
        db.claims()
            .commit(&commit("e1", vec![("count", None)], vec![("count", "1")]))
            .await?,
        CommitResult::Committed { .. }
    ));
    assert_eq!(
        db.claims()
            .commit(&commit("e2", vec![("count", None)], vec![("count", "1")]))
            .await?,
        CommitResult::Conflict {
            key: "count".into()
        }
    );
    assert_eq!(
        db.events().get("e2").await?.map(|e| e.status),
        Some(EventStatus::Queued),
        "a conflict writes nothing, not even the event's completion"
    );
    // Re-run on fresh state: reads version 1, writes 2.
    assert_eq!(
        db.conversations().state(PLUGIN, "count").await?,
        Some(("1".into(), 1))
    );
    assert!(matches!(
        db.claims()
            .commit(&commit(
                "e2",
                vec![("count", Some(1))],
                vec![("count", "2")]
            ))
            .await?,
        CommitResult::Committed { .. }
    ));
    assert_eq!(
        db.conversations().state(PLUGIN, "count").await?,
        Some(("2".into(), 2))
    );
    // A key only read is checked too (a decision made on stale data).
    assert_eq!(
        db.claims()
            .commit(&commit(
                "e3",
                vec![("count", Some(1))],
                vec![("other", "x")]
            ))
            .await?,
        CommitResult::Conflict {
            key: "count".into()
        }
    );
    assert_eq!(db.conversations().state(PLUGIN, "other").await?, None);
    // A blind write (never read) is the plugin's choice: last writer wins.
    assert!(matches!(
        db.claims()
            .commit(&commit("e4", vec![], vec![("count", "99")]))
            .await?,
        CommitResult::Committed { .. }
    ));
    assert_eq!(
        db.conversations().state(PLUGIN, "count").await?,
        Some(("99".into(), 3))
    );
    Ok(())
}

pub async fn concurrent_increments_lose_nothing(db: &TestDb) -> anyhow::Result<()> {
    // Forty "invocations" increment one plugin-wide counter at once, re-running on every
    // conflict the way the worker does.
    const N: usize = 40;
    for i in 0..N {
        store(
            db,
            job_event(&format!("inc-{i}"), &format!("inc-{i}"), 1_000),
        )
        .await?;
    }
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let db = db.storage().clone();
            tokio::spawn(async move {
                let mut reruns = 0;
                loop {
                    let read = db.conversations().state(PLUGIN, "count").await?;
                    let n: u64 = read.as_ref().map_or(0, |(v, _)| v.parse().unwrap());
                    let mut c = empty_commit(&format!("inc-{i}"), 1_000);
                    c.state_reads = vec![("count".into(), read.map(|(_, v)| v))];
                    c.state_writes = vec![("count".into(), Some((n + 1).to_string()))];
                    match db.claims().commit(&c).await? {
                        CommitResult::Committed { .. } => return anyhow::Ok(reruns),
                        CommitResult::Conflict { .. } => reruns += 1,
                        other => anyhow::bail!("{other:?}"),
                    }
                }
            })
        })
        .collect();
    let mut reruns = 0;
    for t in tasks {
        reruns += t.await??;
    }
    assert_eq!(
        db.conversations()
            .state(PLUGIN, "count")
            .await?
            .map(|(v, _)| v),
        Some(N.to_string()),
        "{reruns} re-runs"
    );
    Ok(())
}

pub async fn budgets_are_enforced_at_commit_and_alerted_once(db: &TestDb) -> anyhow::Result<()> {
    for id in ["b1", "b2", "b3"] {
        store(db, job_event(id, id, 1_000)).await?;
    }
    let with_charge = |id: &str, amount: u64| {
        let mut c = empty_commit(id, 1_000);
        c.budget_day = 20_000;
        c.budget_charges = vec![BudgetCharge {
            budget: "sms_segments",
            amount,
            limit: 5,
        }];
        c
    };
    assert!(matches!(
        db.claims().commit(&with_charge("b1", 3)).await?,
        CommitResult::Committed { .. }
    ));
    assert_eq!(
        db.claims().commit(&with_charge("b2", 3)).await?,
        CommitResult::BudgetExhausted {
            budget: "sms_segments",
            limit: 5
        }
    );
    assert!(matches!(
        db.claims().commit(&with_charge("b2", 2)).await?,
        CommitResult::Committed { .. }
    ));
    assert_eq!(db.budgets().spent(PLUGIN, "sms_segments", 20_000).await?, 5);
    assert_eq!(
        db.budgets().spent(PLUGIN, "sms_segments", 20_001).await?,
        0,
        "a new day"
    );
    // Tokens already spent are counted whatever the limit.
    assert_eq!(
        db.budgets()
            .charge(PLUGIN, "llm_tokens", 20_000, 700)
            .await?,
        700
    );
    assert_eq!(
        db.budgets()
            .charge(PLUGIN, "llm_tokens", 20_000, 300)
            .await?,
        1_000
    );
    // One alert per subject, budget and day, across replicas.
    assert!(
        db.budgets()
            .first_exhaustion(PLUGIN, "sms_segments", 20_000, 1)
            .await?
    );
    assert!(
        !db.budgets()
            .first_exhaustion(PLUGIN, "sms_segments", 20_000, 2)
            .await?
    );
    assert!(
        db.budgets()
            .first_exhaustion(PLUGIN, "jobs", 20_000, 3)
            .await?
    );
    Ok(())
}

pub async fn overdue_unheld_events_are_found_for_reconciliation(db: &TestDb) -> anyhow::Result<()> {
    for (id, at) in [("o1", 1_000), ("o2", 1_000), ("o3", 50_000)] {
        store(db, job_event(id, id, at)).await?;
    }
    db.events()
        .mark_enqueued(&["o1".into(), "o2".into(), "o3".into()])
        .await?;
    // o2 is being worked on (a live lease): not lost.
    let held = claimed(claim(db, "o2", "t1", 60_000).await?);
    let overdue: Vec<String> = db
        .events()
        .overdue(10_000, 60_000, 100)
        .await?
        .into_iter()
        .map(|e| e.id.into_string())
        .collect();
    assert_eq!(overdue, ["o1"]);
    db.claims().set_event_due("o1", 60_000).await?;
    assert!(db.events().overdue(10_000, 60_000, 100).await?.is_empty());
    // Once its worker's lease lapses, o2 counts as overdue again.
    assert!(
        db.events()
            .overdue(10_000, 60_000 + LEASE_MS + 1, 100)
            .await?
            .iter()
            .any(|e| e.id == "o2")
    );
    assert_eq!(held.lease.key, Lease::key_for("o2", None));
    Ok(())
}
