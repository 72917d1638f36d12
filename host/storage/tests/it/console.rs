//! Cases for the operator's console: a takeover holds a conversation's events at the claim
//! and at the commit, a person's release finishes what was held, a pause that runs out
//! hands it back; staff replies are idempotent and refused to an opted-out lead; discards
//! and requeues land in the deploy history.

use agenthost_storage::{
    Claim, CommitResult, DeadLetter, DeployAction, StaffReply, StaffReplyResult, Storage, Takeover,
};

use crate::fixtures::{AGENT, LEAD, PLUGIN, empty_commit, message_event, sms, store};
use crate::harness::TestDb;

const CONV: &str = "+15559990000|+15550000001";

fn person(at: i64) -> Takeover {
    Takeover {
        by: "alice".into(),
        reason: Some("tour question".into()),
        since_ms: at,
        until_ms: None,
        requested_by_plugin: false,
    }
}

async fn status_of(db: &Storage, id: &str) -> anyhow::Result<(String, bool, i64)> {
    let e = db.events().get(id).await?.expect("event");
    let thread = db.console().thread(CONV, 100).await?;
    let held = thread
        .iter()
        .any(|m| m.event_id.as_deref() == Some(id) && m.held_for_staff);
    Ok((e.status.as_str().to_owned(), held, e.due_at_ms))
}

pub async fn a_takeover_holds_events_at_the_claim_and_at_the_commit(
    db: &TestDb,
) -> anyhow::Result<()> {
    store(db, message_event("m1", "k1", CONV, "first", 1_000)).await?;
    // A worker claimed m1 and runs the plugin...
    let claim = db.claims().claim("m1", "w", "t1", 1_000, 10_000).await?;
    let Claim::Claimed(claimed) = claim else {
        panic!("{claim:?}")
    };
    // ...when a person takes the conversation over.
    let t = db
        .console()
        .take_over(CONV, &person(1_500), 1_500)
        .await?
        .expect("conversation");
    assert_eq!(t.by, "alice");
    assert_eq!(
        db.console().takeover_of(CONV, 1_600).await?,
        Some(t.clone())
    );
    // The running invocation commits nothing of its own.
    let mut commit = empty_commit("m1", 2_000);
    commit.lease = Some(claimed.lease.clone());
    commit.conversation_id = Some(CONV.into());
    commit.outbound = vec![sms("m1#0", Some(CONV), "agent reply")];
    assert_eq!(
        db.claims().commit(&commit).await?,
        CommitResult::HeldForStaff
    );
    assert!(db.outbox().row("m1#0").await?.is_none());
    let (status, held, due) = status_of(db, "m1").await?;
    assert_eq!((status.as_str(), held), ("queued", true));
    assert_eq!(due, agenthost_storage::HELD_UNTIL_RELEASED);
    // A later text is held at the claim, and does not wait behind the held one.
    store(db, message_event("m2", "k2", CONV, "second", 3_000)).await?;
    assert_eq!(
        db.claims().claim("m2", "w", "t2", 3_000, 10_000).await?,
        Claim::Held
    );
    // So is the plugin's follow-up for this lead.
    let mut follow_up = crate::fixtures::job_event("j1", "kj", 3_100);
    follow_up.conversation_id = Some(CONV.into());
    store(db, follow_up).await?;
    assert_eq!(
        db.claims().claim("j1", "w", "tj", 3_100, 10_000).await?,
        Claim::Held
    );
    assert!(
        db.events().unenqueued(i64::MAX / 4, 10).await?.is_empty(),
        "held until released"
    );
    // Nothing held counts as waiting in the lane.
    assert!(db.console().lane_depths().await?.is_empty());

    // A staff reply: one outbox row per key, in the history as staff.
    let reply = StaffReply {
        outbound: sms("staff:c:k-1", Some(CONV), "Alice here"),
        plugin: PLUGIN.into(),
        author: "staff:alice".into(),
    };
    assert_eq!(
        db.console().staff_reply(&reply, 3_500).await?,
        StaffReplyResult::Queued { created: true }
    );
    assert_eq!(
        db.console().staff_reply(&reply, 3_600).await?,
        StaffReplyResult::Queued { created: false }
    );
    let thread = db.console().thread(CONV, 100).await?;
    let staff: Vec<_> = thread
        .iter()
        .filter(|m| m.author.as_deref() == Some("staff:alice"))
        .collect();
    assert_eq!(staff.len(), 1);
    assert_eq!(staff[0].outbox_status.as_deref(), Some("pending"));

    // Released by the person: the held texts count as handled by staff.
    let left = db
        .console()
        .release(CONV, 4_000, 4_000)
        .await?
        .expect("conversation");
    assert_eq!(left, None);
    for id in ["m1", "m2"] {
        let (status, held, _) = status_of(db, id).await?;
        assert_eq!((status.as_str(), held), ("done", true), "{id}");
    }
    // The follow-up runs when the agent resumes: due now, for the sweep to publish.
    let (status, _, due) = status_of(db, "j1").await?;
    assert_eq!((status.as_str(), due), ("queued", 4_000));
    let due: Vec<String> = db
        .events()
        .unenqueued(20_000, 10)
        .await?
        .into_iter()
        .map(|e| e.id.into_string())
        .collect();
    assert_eq!(due, ["j1"]);
    // The agent has it again, the follow-up first (conversation order).
    store(db, message_event("m3", "k3", CONV, "third", 5_000)).await?;
    assert_eq!(
        db.claims().claim("m3", "w", "t3", 5_000, 10_000).await?,
        Claim::Behind {
            earlier: "j1".into()
        }
    );
    let Claim::Claimed(j) = db.claims().claim("j1", "w", "tj2", 5_000, 10_000).await? else {
        panic!("the follow-up runs")
    };
    let mut done = empty_commit("j1", 5_100);
    done.lease = Some(j.lease);
    done.conversation_id = Some(CONV.into());
    assert!(matches!(
        db.claims().commit(&done).await?,
        CommitResult::Committed { .. }
    ));
    assert!(matches!(
        db.claims().claim("m3", "w", "t3", 5_200, 10_000).await?,
        Claim::Claimed(_)
    ));
    assert_eq!(
        db.console().release("+1|+2", 1, 1).await?,
        None,
        "no such conversation"
    );

    // The lead opted out: staff cannot text them either.
    db.routes().set_opt_out(LEAD, true, 6_000).await?;
    let reply = StaffReply {
        outbound: sms("staff:c:k-2", Some(CONV), "one more thing"),
        plugin: PLUGIN.into(),
        author: "staff:alice".into(),
    };
    assert_eq!(
        db.console().staff_reply(&reply, 6_100).await?,
        StaffReplyResult::OptedOut
    );
    assert!(db.outbox().row("staff:c:k-2").await?.is_none());
    Ok(())
}

pub async fn a_pause_that_runs_out_hands_held_events_back_in_order(
    db: &TestDb,
) -> anyhow::Result<()> {
    store(db, message_event("h1", "k1", CONV, "hello", 1_000)).await?;
    // The plugin asked for a person at 1,000 with a one-minute timeout.
    let handoff = Takeover {
        by: format!("plugin {PLUGIN}"),
        reason: Some("asked for a person".into()),
        since_ms: 1_000,
        until_ms: Some(61_000),
        requested_by_plugin: true,
    };
    let Claim::Claimed(c) = db.claims().claim("h1", "w", "t1", 1_000, 10_000).await? else {
        panic!("claim")
    };
    let mut commit = empty_commit("h1", 1_000);
    commit.lease = Some(c.lease);
    commit.conversation_id = Some(CONV.into());
    commit.handoff = Some(handoff);
    assert!(matches!(
        db.claims().commit(&commit).await?,
        CommitResult::Committed { .. }
    ));
    let t = db
        .console()
        .takeover_of(CONV, 2_000)
        .await?
        .expect("paused");
    assert!(t.requested_by_plugin);
    // A second request never replaces a pause in force, nor does it shorten a person's.
    db.console().take_over(CONV, &person(3_000), 3_000).await?;
    let mut again = Takeover {
        until_ms: Some(4_000),
        ..t.clone()
    };
    again.since_ms = 3_500;
    let now = db
        .console()
        .take_over(CONV, &again, 3_500)
        .await?
        .expect("conversation");
    assert_eq!(now.by, "alice", "a person's takeover stands");
    db.console().release(CONV, 3_600, 3_600).await?;
    db.console().take_over(CONV, &t, 3_700).await?;

    store(db, message_event("h2", "k2", CONV, "anyone?", 10_000)).await?;
    store(db, message_event("h3", "k3", CONV, "hello??", 11_000)).await?;
    for id in ["h2", "h3"] {
        assert_eq!(
            db.claims().claim(id, "w", id, 12_000, 10_000).await?,
            Claim::Held
        );
        assert_eq!(
            status_of(db, id).await?.2,
            61_000,
            "due when the pause ends"
        );
    }
    // Not before the pause ends...
    assert!(db.events().unenqueued(60_000, 10).await?.is_empty());
    // ...then republished, and run in order: the plugin answers what nobody did.
    let due: Vec<String> = db
        .events()
        .unenqueued(62_000, 10)
        .await?
        .into_iter()
        .map(|e| e.id.into_string())
        .collect();
    assert_eq!(due, ["h2", "h3"]);
    assert!(matches!(
        db.claims().claim("h3", "w", "x3", 62_000, 10_000).await?,
        Claim::Behind { .. }
    ));
    assert!(matches!(
        db.claims().claim("h2", "w", "x2", 62_000, 10_000).await?,
        Claim::Claimed(_)
    ));
    let thread = db.console().thread(CONV, 100).await?;
    let h2 = thread
        .iter()
        .find(|m| m.event_id.as_deref() == Some("h2"))
        .unwrap();
    assert!(!h2.held_for_staff, "handled by the plugin, not by staff");
    Ok(())
}

pub async fn discards_and_requeues_are_in_the_deploy_history(db: &TestDb) -> anyhow::Result<()> {
    store(db, message_event("d1", "k1", CONV, "lost", 1_000)).await?;
    let letter = DeadLetter {
        event_id: "d1".into(),
        plugin: PLUGIN.into(),
        version: Some("v1".into()),
        attempts: 3,
        outcome: "trap".into(),
        message: "boom".into(),
        at_ms: 2_000,
    };
    assert!(db.events().dead_letter(&letter).await?);
    let details = db.console().dead_letter_details(Some(PLUGIN), 10).await?;
    assert_eq!(details.len(), 1);
    assert_eq!(details[0].conversation_id.as_deref(), Some(CONV));
    assert_eq!(details[0].kind.as_deref(), Some("message"));
    assert_eq!(
        db.console().dead_letter_of("d1").await?,
        Some(details[0].clone())
    );
    assert_eq!(db.console().dead_letter_of("nope").await?, None);
    assert_eq!(
        db.console().dead_letter_counts().await?,
        [(PLUGIN.to_owned(), 1)]
    );
    assert_eq!(
        db.console()
            .discard_dead_letter("d1", "alice", "test traffic", 3_000)
            .await?,
        Some(PLUGIN.to_owned())
    );
    assert_eq!(
        db.console()
            .discard_dead_letter("d1", "alice", "again", 3_100)
            .await?,
        None
    );
    assert!(db.console().dead_letter_details(None, 10).await?.is_empty());
    db.console()
        .record_requeue(
            PLUGIN,
            &["d9".into()],
            Some("v2"),
            "bob",
            Some("fixed"),
            4_000,
        )
        .await?;
    let history = db.deploys().plugin_history(Some(PLUGIN), 10).await?;
    assert_eq!(history[0].action, DeployAction::Requeue);
    assert_eq!(history[0].to_version.as_deref(), Some("v2"));
    assert_eq!(history[1].action, DeployAction::Discard);
    assert_eq!(history[1].reason.as_deref(), Some("test traffic"));
    assert_eq!(history[1].from_version.as_deref(), Some("v1"));
    // The conversation search finds it by any part of either number.
    let found = db
        .console()
        .search_conversations(Some("0000001"), None, 10, 5_000)
        .await?;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].agent_number, AGENT);
    assert!(
        db.console()
            .search_conversations(Some("42"), None, 10, 5_000)
            .await?
            .is_empty()
    );
    assert!(
        db.console()
            .search_conversations(None, Some("locator"), 10, 5_000)
            .await?
            .is_empty()
    );
    Ok(())
}
