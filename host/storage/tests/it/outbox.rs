//! Cases for the outbox dispatcher's claims, leases and outcomes.

use std::collections::HashSet;

use agenthost_storage::{Admission, NewOutbound, OutboxStatus, Storage};

use crate::fixtures::{empty_commit, job_event, sms, store};
use crate::harness::TestDb;

/// Commits event `event_id` with `n` pending SMS due at `now_ms`; returns their ids.
async fn outbox_of(
    db: &Storage,
    event_id: &str,
    n: usize,
    now_ms: i64,
) -> anyhow::Result<Vec<String>> {
    store(db, job_event(event_id, event_id, now_ms)).await?;
    let mut c = empty_commit(event_id, now_ms);
    c.outbound = (0..n)
        .map(|i| sms(&format!("{event_id}:{i:03}"), None, "hello"))
        .collect();
    db.claims().commit(&c).await?;
    Ok(c.outbound.into_iter().map(|o| o.id).collect())
}

pub async fn concurrent_claims_never_share_a_row(db: &TestDb) -> anyhow::Result<()> {
    const CLAIMERS: usize = 4;
    const ROWS: usize = 60;
    for round in 0..5 {
        let now = 1_000 * (round + 1);
        let ids = outbox_of(db, &format!("ev-{round}"), ROWS, now).await?;
        let tasks: Vec<_> = (0..CLAIMERS)
            .map(|_| {
                let storage = db.storage().clone();
                tokio::spawn(
                    async move { storage.outbox().claim_due(now, 60_000, 20, "t-race").await },
                )
            })
            .collect();
        let mut seen = HashSet::new();
        for task in tasks {
            for row in task.await?? {
                assert_eq!(row.status, OutboxStatus::Sending);
                assert_eq!(row.lease_until_ms, Some(now + 60_000));
                assert!(
                    seen.insert(row.id.clone()),
                    "round {round}: {} claimed twice",
                    row.id
                );
            }
        }
        // Whatever the claimers skipped is still there for the next claim, none twice.
        for row in db.outbox().claim_due(now, 60_000, 1_000, "t-rest").await? {
            assert!(
                seen.insert(row.id.clone()),
                "round {round}: {} claimed twice",
                row.id
            );
        }
        assert_eq!(
            seen,
            ids.into_iter().collect::<HashSet<_>>(),
            "round {round}"
        );
    }
    Ok(())
}

pub async fn expired_leases_are_reclaimed(db: &TestDb) -> anyhow::Result<()> {
    let ids = outbox_of(db, "ev-1", 2, 1_000).await?;
    // Not due yet.
    assert!(db.outbox().claim_due(999, 500, 10, "a").await?.is_empty());

    let first = db.outbox().claim_due(1_000, 500, 10, "a").await?;
    assert_eq!(first.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), ids);
    assert!(first.iter().all(|r| r.lease_token.as_deref() == Some("a")));
    assert!(first.iter().all(|r| !r.ambiguous), "a first claim is clean");
    assert!(
        db.outbox().claim_due(1_200, 500, 10, "b").await?.is_empty(),
        "lease still held"
    );
    assert_eq!(db.outbox().pending_count().await?, 2);

    // The heartbeat keeps a slow send's rows: extended, they are not taken over.
    assert_eq!(
        db.claims()
            .extend_leases("nobody", &["a".to_owned()], 1_900)
            .await?,
        2
    );
    assert!(db.outbox().claim_due(1_600, 500, 10, "b").await?.is_empty());

    // The dispatcher died: once the lease runs out another one takes the rows, marked
    // ambiguous (Twilio may have them), under its own token.
    let again = db.outbox().claim_due(1_900, 500, 10, "b").await?;
    assert_eq!(again.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), ids);
    assert!(again.iter().all(|r| r.lease_until_ms == Some(2_400)));
    assert!(
        again
            .iter()
            .all(|r| r.ambiguous && r.lease_token.as_deref() == Some("b"))
    );

    // The stalled first sender wakes up: whatever it reports changes nothing.
    assert!(
        !db.outbox()
            .mark_sent(&ids[0], "a", "SM-late", 2_000)
            .await?
    );
    assert!(
        !db.outbox()
            .reschedule(&ids[1], "a", 9_000, "late", false, 2_000)
            .await?
    );
    assert!(db.outbox().mark_sent(&ids[0], "b", "SM-b", 2_000).await?);
    let row = db.outbox().row(&ids[0]).await?.expect("row");
    assert_eq!(row.provider_sid.as_deref(), Some("SM-b"));

    // Limits are honoured.
    assert_eq!(db.outbox().claim_due(2_500, 500, 1, "c").await?.len(), 1);

    // A process that owns the database alone takes its predecessor's rows back at once.
    let ids = outbox_of(db, "ev-2", 1, 10_000).await?;
    let held = db.outbox().claim_due(10_000, 60_000, 10, "d").await?;
    assert!(held.iter().any(|r| r.id == ids[0] && !r.ambiguous));
    assert!(
        db.outbox()
            .claim_due(10_001, 60_000, 10, "e")
            .await?
            .is_empty()
    );
    assert_eq!(
        db.claims().expire_outbox_leases(10_001).await?,
        held.len() as u64
    );
    let back = db.outbox().claim_due(10_001, 60_000, 10, "e").await?;
    let row = back.iter().find(|r| r.id == ids[0]).expect("taken back");
    assert!(row.ambiguous, "looked up at Twilio before any resend");
    Ok(())
}

pub async fn finishing_rows(db: &TestDb) -> anyhow::Result<()> {
    store(db, job_event("ev-1", "k", 1_000)).await?;
    let mut c = empty_commit("ev-1", 1_000);
    c.outbound = vec![
        sms("o-sent", None, "a"),
        sms("o-retry", None, "b"),
        NewOutbound {
            suppressed: true,
            ..sms("o-stop", None, "c")
        },
        sms("o-optout", None, "d"),
    ];
    db.claims().commit(&c).await?;
    assert_eq!(
        db.outbox().claim_due(1_000, 500, 10, "t1").await?.len(),
        3,
        "suppressed is never claimed"
    );

    assert!(
        db.outbox()
            .mark_sent("o-sent", "t1", "SM123", 1_100)
            .await?
    );
    assert!(
        !db.outbox()
            .mark_sent("o-sent", "t1", "SM999", 1_200)
            .await?,
        "sent is final"
    );
    let sent = db
        .outbox()
        .row("o-sent")
        .await?
        .ok_or_else(|| anyhow::anyhow!("o-sent missing"))?;
    assert_eq!(sent.status, OutboxStatus::Sent);
    assert_eq!(sent.provider_sid.as_deref(), Some("SM123"));
    assert_eq!((sent.sent_at_ms, sent.lease_until_ms), (Some(1_100), None));
    assert_eq!(sent.lease_token, None);

    assert!(
        db.outbox()
            .mark_suppressed("o-optout", "t1", "recipient opted out", 1_100)
            .await?
    );
    let stopped = db.outbox().row("o-optout").await?.expect("row");
    assert_eq!(stopped.status, OutboxStatus::Suppressed);

    assert!(
        db.outbox()
            .reschedule("o-retry", "t1", 5_000, "503 from provider", true, 1_100)
            .await?
    );
    let retry = db
        .outbox()
        .row("o-retry")
        .await?
        .ok_or_else(|| anyhow::anyhow!("o-retry missing"))?;
    assert_eq!(retry.status, OutboxStatus::Pending);
    assert_eq!((retry.attempts, retry.next_attempt_at_ms), (1, 5_000));
    assert_eq!(retry.error_message.as_deref(), Some("503 from provider"));
    assert!(retry.ambiguous, "a 5xx may have reached the provider");
    assert!(
        db.outbox()
            .claim_due(4_999, 500, 10, "t2")
            .await?
            .is_empty()
    );
    let claimed = db.outbox().claim_due(5_000, 500, 10, "t2").await?;
    assert_eq!(claimed.len(), 1);
    assert!(claimed[0].ambiguous, "stays ambiguous until settled");

    assert!(
        !db.outbox()
            .mark_failed("o-retry", "t1", Some("21211"), "stale holder", 5_100)
            .await?,
        "only the holder records a result"
    );
    assert!(
        db.outbox()
            .mark_failed("o-retry", "t2", Some("21211"), "invalid number", 5_100)
            .await?
    );
    let failed = db
        .outbox()
        .row("o-retry")
        .await?
        .ok_or_else(|| anyhow::anyhow!("o-retry missing"))?;
    assert_eq!(failed.status, OutboxStatus::Failed);
    assert_eq!(failed.attempts, 2);
    assert_eq!(failed.error_code.as_deref(), Some("21211"));
    assert!(
        !db.outbox()
            .reschedule("o-retry", "t2", 9_000, "late", false, 5_200)
            .await?,
        "failed is final"
    );

    assert_eq!(db.outbox().pending_count().await?, 0);
    assert!(
        db.outbox()
            .claim_due(1_000_000, 500, 10, "t3")
            .await?
            .is_empty()
    );
    assert!(db.outbox().row("nope").await?.is_none());
    assert!(!db.outbox().mark_sent("nope", "t3", "SM1", 1).await?);
    Ok(())
}

pub async fn the_sender_pace_books_each_text_its_own_slot(db: &TestDb) -> anyhow::Result<()> {
    // 1 segment a second: the first goes now, the next ones get the next free seconds.
    let now = 1_000_000;
    assert_eq!(
        db.outbox()
            .reserve_sender_pace("+1555", 1_000, 0, now)
            .await?,
        None
    );
    assert_eq!(
        db.outbox()
            .reserve_sender_pace("+1555", 1_000, 0, now)
            .await?,
        Some(now + 1_000)
    );
    assert_eq!(
        db.outbox()
            .reserve_sender_pace("+1555", 2_000, 0, now + 10)
            .await?,
        Some(now + 2_000),
        "a two-segment text takes two slots' worth"
    );
    assert_eq!(
        db.outbox()
            .reserve_sender_pace("+1555", 1_000, 0, now + 10)
            .await?,
        Some(now + 4_000)
    );
    // Within the tolerance: now.
    assert_eq!(
        db.outbox()
            .reserve_sender_pace("+1555", 1_000, 2_000, now + 3_000)
            .await?,
        None
    );
    // Another sender has its own pace; an idle sender starts from now again.
    assert_eq!(
        db.outbox()
            .reserve_sender_pace("+1666", 1_000, 0, now)
            .await?,
        None
    );
    assert_eq!(
        db.outbox()
            .reserve_sender_pace("+1555", 1_000, 0, now + 60_000)
            .await?,
        None
    );
    // Many bookers at once (replicas): every slot distinct, one second apart.
    let at = now + 120_000;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let db: Storage = (**db).clone();
        tasks.spawn(async move { db.outbox().reserve_sender_pace("+1777", 1_000, 0, at).await });
    }
    let mut slots = Vec::new();
    while let Some(r) = tasks.join_next().await {
        slots.push(r??.unwrap_or(at));
    }
    slots.sort_unstable();
    let expected: Vec<i64> = (0..20).map(|k| at + k * 1_000).collect();
    assert_eq!(slots, expected);
    Ok(())
}

pub async fn a_text_waiting_for_its_send_slot_is_claimed_just_before_it(
    db: &TestDb,
) -> anyhow::Result<()> {
    use agenthost_storage::PACE_LOOKAHEAD_MS;
    let ids = outbox_of(db, "ev-pace", 2, 1_000).await?;
    let claimed = db.outbox().claim_due(1_000, 60_000, 10, "p").await?;
    assert_eq!(claimed.len(), 2);
    // One waits for its pace slot at 10 s, the other for quiet hours to end at 10 s.
    assert!(
        db.outbox()
            .hold(&ids[0], "p", 10_000, "sender_rate", 1_000)
            .await?
    );
    assert!(
        db.outbox()
            .hold(&ids[1], "p", 10_000, "quiet_hours", 1_000)
            .await?
    );
    assert!(
        db.outbox()
            .claim_due(10_000 - PACE_LOOKAHEAD_MS - 1, 60_000, 10, "q")
            .await?
            .is_empty()
    );
    let early = db
        .outbox()
        .claim_due(10_000 - PACE_LOOKAHEAD_MS, 60_000, 10, "q")
        .await?;
    assert_eq!(
        early.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [ids[0].as_str()],
        "only the paced text comes early"
    );
    assert_eq!(early[0].held.as_deref(), Some("sender_rate"));
    assert_eq!(early[0].next_attempt_at_ms, 10_000, "its slot rides along");
    let on_time = db.outbox().claim_due(10_000, 60_000, 10, "r").await?;
    assert_eq!(
        on_time.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [ids[1].as_str()]
    );
    Ok(())
}

pub async fn the_frequency_cap_admits_at_most_cap_texts_per_recipient(
    db: &TestDb,
) -> anyhow::Result<()> {
    const TO: &str = "+15550000001";
    let now = 50_000;
    let ids = outbox_of(db, "ev-cap", 4, now).await?;
    sqlx::query("UPDATE outbox SET initiated = TRUE, to_number = $1 WHERE event_id = 'ev-cap'")
        .bind(TO)
        .execute(db.pool())
        .await?;
    let claimed = db.outbox().claim_due(now, 60_000, 10, "cap").await?;
    assert_eq!(claimed.len(), 4);
    // Gated in reverse order of creation: the order does not matter, the count does.
    let mut admitted = Vec::new();
    for id in ids.iter().rev() {
        admitted.push(db.outbox().admit_initiated(TO, id, 3, now - 1, now).await?);
    }
    assert_eq!(
        admitted,
        [
            Admission::Admitted,
            Admission::Admitted,
            Admission::Admitted,
            Admission::Full { oldest_ms: now },
        ]
    );
    // One admitted earlier and gated again (held for the pace, retried) is not counted
    // against itself.
    assert_eq!(
        db.outbox()
            .admit_initiated(TO, &ids[3], 3, now - 1, now + 5)
            .await?,
        Admission::Admitted
    );
    // Sent: counted from when it went; the oldest is when the first went.
    assert!(
        db.outbox()
            .mark_sent(&ids[3], "cap", "SM-cap", now + 10)
            .await?
    );
    assert_eq!(
        db.outbox()
            .admit_initiated(TO, &ids[0], 3, now - 1, now + 20)
            .await?,
        Admission::Full { oldest_ms: now }
    );
    // One that failed frees its place; one sent before the window does not count.
    assert!(
        db.outbox()
            .mark_failed(&ids[2], "cap", Some("21610"), "refused", now + 30)
            .await?
    );
    assert_eq!(
        db.outbox()
            .admit_initiated(TO, &ids[0], 3, now + 11, now + 40)
            .await?,
        Admission::Admitted
    );
    Ok(())
}

/// Many dispatchers (or replicas) gating one recipient's texts at once: exactly `cap` pass.
/// Several rounds: the first also opens the pool's connections, so the later ones overlap.
pub async fn concurrent_gates_never_pass_more_than_the_cap(db: &TestDb) -> anyhow::Result<()> {
    const TEXTS: usize = 12;
    for round in 0..5 {
        let to = format!("+1555000010{round}");
        let event = format!("ev-cap-race-{round}");
        let now = 60_000;
        let ids = outbox_of(db, &event, TEXTS, now).await?;
        sqlx::query("UPDATE outbox SET initiated = TRUE, to_number = $1 WHERE event_id = $2")
            .bind(&to)
            .bind(&event)
            .execute(db.pool())
            .await?;
        let gates: Vec<_> = ids
            .iter()
            .map(|id| {
                let (storage, id, to) = (db.storage().clone(), id.clone(), to.clone());
                tokio::spawn(async move {
                    storage
                        .outbox()
                        .admit_initiated(&to, &id, 3, now - 1, now)
                        .await
                })
            })
            .collect();
        let mut admitted = 0;
        for gate in gates {
            if gate.await?? == Admission::Admitted {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 3, "round {round}: exactly the cap passes");
    }
    Ok(())
}
