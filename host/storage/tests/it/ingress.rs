//! Cases for storing inbound events and reading conversations back.

use agenthost_storage::{
    Direction, EventStatus, HistoryRow, HostMessage, HostReply, Inserted, NewEvent,
};

use crate::fixtures::{
    AGENT, LEAD, PLUGIN, count, empty_commit, job_event, message_event, sms, store,
};
use crate::harness::TestDb;

pub async fn dedupes_across_and_within_batches(db: &TestDb) -> anyhow::Result<()> {
    let first = db
        .events()
        .insert(&[
            message_event("ev-a", "SM-1", "conv-1", "hi", 100),
            message_event("ev-b", "SM-2", "conv-1", "there", 101),
            // Twilio retried SM-1 while the first delivery was still in this batch.
            message_event("ev-c", "SM-1", "conv-1", "hi", 102),
        ])
        .await?;
    assert_eq!(
        first,
        [
            Inserted::New,
            Inserted::New,
            Inserted::Duplicate {
                id: "ev-a".into(),
                status: EventStatus::Queued,
                enqueued: false
            },
        ]
    );

    assert_eq!(db.events().mark_enqueued(&["ev-a".into()]).await?, 1);
    let unrouted = NewEvent {
        plugin: None,
        ..message_event("ev-e", "SM-3", "conv-2", "who is this", 103)
    };
    let second = db
        .events()
        .insert(&[message_event("ev-d", "SM-1", "conv-1", "hi", 103), unrouted])
        .await?;
    assert_eq!(
        second,
        [
            Inserted::Duplicate {
                id: "ev-a".into(),
                status: EventStatus::Queued,
                enqueued: true
            },
            Inserted::New,
        ]
    );

    assert_eq!(count(db, "events", "").await?, 3);
    let unrouted = db
        .events()
        .get("ev-e")
        .await?
        .ok_or_else(|| anyhow::anyhow!("ev-e missing"))?;
    assert_eq!(unrouted.status, EventStatus::Unrouted);
    assert_eq!(unrouted.plugin, None);
    assert!(
        db.events().get("ev-c").await?.is_none(),
        "a duplicate is not stored"
    );

    let a = db
        .events()
        .get("ev-a")
        .await?
        .ok_or_else(|| anyhow::anyhow!("ev-a missing"))?;
    assert_eq!(a.dedupe_key, "SM-1");
    assert_eq!(a.plugin.as_deref(), Some(PLUGIN));
    assert_eq!(a.payload, r#"{"body":"hi"}"#);
    assert!(a.enqueued);
    assert_eq!(a.attempts, 0);
    assert_eq!((a.received_at_ms, a.updated_at_ms), (100, 100));

    // An empty batch is a no-op, and a large one crosses the per-statement row limit.
    assert!(db.events().insert(&[]).await?.is_empty());
    let many: Vec<NewEvent> = (0..450)
        .map(|i| job_event(&format!("job-{i}"), &format!("fire-{}", i % 300), 200 + i))
        .collect();
    let inserted = db.events().insert(&many).await?;
    assert_eq!(
        inserted.iter().filter(|i| **i == Inserted::New).count(),
        300
    );
    assert_eq!(
        inserted[310],
        Inserted::Duplicate {
            id: "job-10".into(),
            status: EventStatus::Queued,
            enqueued: false
        }
    );
    Ok(())
}

pub async fn records_conversations_and_inbound_messages(db: &TestDb) -> anyhow::Result<()> {
    db.events()
        .insert(&[
            message_event("ev-1", "SM-1", "conv-1", "first", 1_000),
            message_event("ev-2", "SM-2", "conv-1", "second", 2_000),
            message_event("ev-3", "SM-1", "conv-1", "first", 3_000), // duplicate: not recorded
        ])
        .await?;
    db.events()
        .insert(&[message_event("ev-4", "SM-4", "conv-1", "third", 1_500)])
        .await?;
    // Job events carry no message.
    db.events()
        .insert(&[job_event("job-1", "fire-1", 4_000)])
        .await?;

    assert_eq!(count(db, "conversations", "").await?, 1);
    let row = sqlx::query_as::<_, (String, String, String, i64, i64)>(
        "SELECT plugin, lead_number, agent_number, created_at, last_message_at \
         FROM conversations WHERE id = 'conv-1'",
    )
    .fetch_one(db.pool())
    .await?;
    // last_message_at never moves backwards for a late-arriving message.
    assert_eq!(
        row,
        (PLUGIN.into(), LEAD.into(), AGENT.into(), 1_000, 2_000)
    );

    assert_eq!(count(db, "messages", "").await?, 3);
    assert_eq!(
        count(
            db,
            "messages",
            "event_id = 'ev-2' AND direction = 'inbound'"
        )
        .await?,
        1
    );
    Ok(())
}

pub async fn republish_sweep_finds_unenqueued_events(db: &TestDb) -> anyhow::Result<()> {
    db.events()
        .insert(&[
            job_event("old-1", "k1", 1_000),
            job_event("old-2", "k2", 2_000),
            job_event("new-1", "k3", 9_000),
            NewEvent {
                plugin: None,
                ..job_event("unrouted", "k4", 1_000)
            },
        ])
        .await?;
    db.events().mark_enqueued(&["old-2".into()]).await?;
    let due: Vec<String> = db
        .events()
        .unenqueued(5_000, 10)
        .await?
        .into_iter()
        .map(|e| e.id.into_string())
        .collect();
    assert_eq!(due, ["old-1"]);

    // Marking twice (or unknown ids) is harmless.
    assert_eq!(
        db.events()
            .mark_enqueued(&["old-1".into(), "old-2".into(), "nope".into()])
            .await?,
        1
    );
    assert!(db.events().unenqueued(5_000, 10).await?.is_empty());
    assert_eq!(db.events().unenqueued(10_000, 10).await?.len(), 1);
    Ok(())
}

pub async fn history_is_oldest_first_and_excludes_own_event(db: &TestDb) -> anyhow::Result<()> {
    store(
        db,
        message_event("ev-1", "SM-1", "conv-1", "Is 2B available?", 1_000),
    )
    .await?;
    let mut commit = empty_commit("ev-1", 1_100);
    commit.outbound = vec![sms("out-1", Some("conv-1"), "Yes, from June 1.")];
    db.claims().commit(&commit).await?;
    store(
        db,
        message_event("ev-2", "SM-2", "conv-1", "Pets ok?", 2_000),
    )
    .await?;
    // Another conversation's messages never leak in.
    store(db, message_event("ev-x", "SM-X", "conv-2", "other", 1_500)).await?;

    let history = db
        .conversations()
        .history("conv-1", 10, Some("ev-2"))
        .await?;
    assert_eq!(
        history,
        [
            HistoryRow {
                direction: Direction::Inbound,
                body: "Is 2B available?".into(),
                at_ms: 1_000,
                delivery_status: None,
            },
            HistoryRow {
                direction: Direction::Outbound,
                body: "Yes, from June 1.".into(),
                at_ms: 1_100,
                delivery_status: None,
            },
        ]
    );

    let all = db.conversations().history("conv-1", 10, None).await?;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].body, "Pets ok?");

    // The limit keeps the newest messages, still oldest first.
    let last_two: Vec<String> = db
        .conversations()
        .history("conv-1", 2, None)
        .await?
        .into_iter()
        .map(|h| h.body)
        .collect();
    assert_eq!(last_two, ["Yes, from June 1.", "Pets ok?"]);

    // Excluding ev-1 drops only its inbound message, not the reply it produced.
    let without_first = db
        .conversations()
        .history("conv-1", 10, Some("ev-1"))
        .await?;
    assert_eq!(without_first.len(), 2);
    assert_eq!(without_first[0].direction, Direction::Outbound);

    assert!(
        db.conversations()
            .history("nope", 10, None)
            .await?
            .is_empty()
    );
    Ok(())
}

/// A STOP carrying the host's confirmation.
fn keyword(id: &str, body: &str, opt_out: bool, at_ms: i64) -> NewEvent {
    let mut e = message_event(id, id, "conv-consent", body, at_ms);
    let inbound = e.inbound.as_mut().expect("a message event");
    inbound.opt_out = Some(opt_out);
    inbound.host_reply = opt_out.then(|| HostReply {
        kind: HostMessage::OptOutConfirmation,
        body: "unsubscribed".into(),
        segments: 1,
    });
    e
}

pub async fn an_opt_out_is_confirmed_once_until_the_next_opt_in(db: &TestDb) -> anyhow::Result<()> {
    async fn confirmations(db: &TestDb) -> anyhow::Result<i64> {
        count(db, "outbox", "host_message = 'opt_out_confirmation'").await
    }
    db.events()
        .insert(&[keyword("SM-stop-1", "STOP", true, 1_000)])
        .await?;
    assert_eq!(confirmations(db).await?, 1);
    // Repeated STOPs, however far apart, in one batch or later: no second confirmation.
    db.events()
        .insert(&[
            keyword("SM-stop-2", "stop.", true, 2_000),
            keyword("SM-stop-3", "QUIT", true, 3_000),
        ])
        .await?;
    db.events()
        .insert(&[keyword("SM-stop-4", "end", true, 3_600_000)])
        .await?;
    assert_eq!(confirmations(db).await?, 1);
    assert!(db.routes().is_opted_out(LEAD).await?);
    // START, then STOP again: that opt-out gets its own confirmation.
    db.events()
        .insert(&[keyword("SM-start", "START", false, 3_700_000)])
        .await?;
    assert!(!db.routes().is_opted_out(LEAD).await?);
    db.events()
        .insert(&[keyword("SM-stop-5", "STOP", true, 3_800_000)])
        .await?;
    assert_eq!(confirmations(db).await?, 2);
    assert!(db.routes().is_opted_out(LEAD).await?);
    Ok(())
}
