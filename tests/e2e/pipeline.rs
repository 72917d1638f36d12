//! The message path end to end: a lead's SMS in, exactly one reply out, whatever happens
//! in between.

use std::time::Duration;

use crate::harness::*;

on_both_setups!(
    routed_message_gets_exactly_one_reply,
    repeated_message_sid_is_not_processed_again,
    forged_or_missing_signature_is_refused,
    crash_between_receipt_and_reply_still_replies_once,
    trapping_plugin_ends_in_dead_letter_with_nothing_sent,
    unrouted_number_is_kept_and_alerted,
    permanent_twilio_error_is_recorded_alerted_and_not_retried,
    admin_api_sets_routes_behind_its_token,
    stop_is_recorded_even_when_the_plugin_traps,
    a_send_whose_answer_was_lost_is_looked_up_not_sent_twice,
);

const WAIT: Duration = Duration::from_secs(20);

async fn routed_message_gets_exactly_one_reply(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;
    let (status, body) = host
        .post_sms(
            "SM00000000000000000000000000000001",
            LEAD,
            AGENT_NUMBER,
            "hello",
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Response/>"), "answers empty TwiML: {body}");
    let sent = world.twilio.wait_for(1, WAIT).await;
    assert_eq!(sent.len(), 1, "log:\n{}", host.logs());
    let sms = &sent[0];
    assert_eq!(sms.to, LEAD);
    assert_eq!(
        sms.from.as_deref(),
        Some(AGENT_NUMBER),
        "replies from the number the lead texted"
    );
    assert_eq!(sms.body, "echo: hello");
    assert!(sms.auth_ok, "basic auth with the account sid and token");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        world.twilio.requests().len(),
        1,
        "exactly one outbound POST"
    );
}

async fn repeated_message_sid_is_not_processed_again(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;
    let sid = "SM00000000000000000000000000000002";
    for _ in 0..3 {
        let (status, _) = host.post_sms(sid, LEAD, AGENT_NUMBER, "once").await;
        assert_eq!(status, 200, "a Twilio retry is answered 200");
    }
    assert_eq!(world.twilio.wait_for(1, WAIT).await.len(), 1);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        world.twilio.requests().len(),
        1,
        "a repeated MessageSid produces no second reply"
    );
}

async fn forged_or_missing_signature_is_refused(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;
    let params = vec![
        ("Body".to_string(), "hi".to_string()),
        ("From".to_string(), LEAD.to_string()),
        (
            "MessageSid".to_string(),
            "SM00000000000000000000000000000003".to_string(),
        ),
        ("To".to_string(), AGENT_NUMBER.to_string()),
    ];
    let forged = agenthost_twilio::signature::compute(
        "not-the-token",
        "https://sms.example.test:8443/hooks/twilio/sms",
        &params,
    );
    assert_eq!(host.post_form(&params, Some(&forged)).await.0, 403);
    assert_eq!(host.post_form(&params, None).await.0, 403);
    // Signed for another URL (the signature covers the public URL).
    let wrong_url = agenthost_twilio::signature::compute(
        agenthost_twilio::fake::FAKE_AUTH_TOKEN,
        "https://evil.example.test/twilio/sms",
        &params,
    );
    assert_eq!(host.post_form(&params, Some(&wrong_url)).await.0, 403);
    assert!(
        host.logs().contains("X-Twilio-Signature"),
        "the refusal is logged with its reason"
    );
    // Oversized and malformed bodies.
    assert_eq!(host.post_raw(vec![b'a'; 70 * 1024], Some("x")).await.0, 413);
    let (status, body) = host.post_sms("", LEAD, AGENT_NUMBER, "no sid").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("MessageSid"),
        "names the missing field: {body}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(world.twilio.requests().is_empty(), "nothing was processed");
}

async fn crash_between_receipt_and_reply_still_replies_once(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    // Web role only: the message is durably accepted, nobody works on it yet.
    let mut host = world.start(&[("AGENTHOST_ROLES", "web")]);
    host.ready().await;
    let (status, _) = host
        .post_sms(
            "SM00000000000000000000000000000004",
            LEAD,
            AGENT_NUMBER,
            "survive",
        )
        .await;
    assert_eq!(status, 200);
    host.kill9();
    assert!(world.twilio.requests().is_empty());
    // Restart with every role: the stored, queued event is processed exactly once.
    let mut host = world.start(&[]);
    host.ready().await;
    let sent = world.twilio.wait_for(1, WAIT).await;
    assert_eq!(sent.len(), 1, "log:\n{}", host.logs());
    assert_eq!(sent[0].body, "echo: survive");

    // Crash again while the reply is committed but Twilio keeps failing, then restart.
    world.twilio.error_next(1_000, 500);
    let (status, _) = host
        .post_sms(
            "SM00000000000000000000000000000005",
            LEAD,
            AGENT_NUMBER,
            "again",
        )
        .await;
    assert_eq!(status, 200);
    let storage = world.storage().await;
    let committed = eventually(WAIT, || async {
        (storage
            .outbox()
            .row("sms:SM00000000000000000000000000000005#0")
            .await
            .ok()
            .flatten())
        .map(|_| ())
    })
    .await;
    assert!(
        committed.is_some(),
        "the reply reached the outbox; log:\n{}",
        host.logs()
    );
    host.kill9();
    world.twilio.heal_all();
    host.restart();
    host.ready().await;
    let ok = eventually(Duration::from_secs(30), || async {
        let n = world
            .twilio
            .accepted()
            .iter()
            .filter(|s| s.body == "echo: again")
            .count();
        (n >= 1).then_some(n)
    })
    .await;
    assert_eq!(ok, Some(1), "log:\n{}", host.logs());
    tokio::time::sleep(Duration::from_millis(800)).await;
    let accepted: Vec<_> = world
        .twilio
        .accepted()
        .into_iter()
        .map(|s| s.body)
        .collect();
    assert_eq!(
        accepted,
        ["echo: survive", "echo: again"],
        "each event replied to exactly once"
    );
}

async fn trapping_plugin_ends_in_dead_letter_with_nothing_sent(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo"), ("test-trap", "trap")]).await;
    let host = world.start(&[("AGENTHOST_PLUGIN_LIMITS", "trap:attempts=3")]);
    host.ready().await;
    let (status, _) = host
        .post_sms(
            "SM00000000000000000000000000000006",
            LEAD,
            TRAP_NUMBER,
            "boom",
        )
        .await;
    assert_eq!(status, 200);
    let storage = world.storage().await;
    let dead = eventually(WAIT, || async {
        storage
            .events()
            .dead_letters(10)
            .await
            .ok()
            .filter(|d| !d.is_empty())
    })
    .await
    .unwrap_or_else(|| panic!("no dead letter; log:\n{}", host.logs()));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id, "sms:SM00000000000000000000000000000006");
    assert_eq!(
        dead[0].attempts, 3,
        "dead-lettered after its configured attempts"
    );
    assert_eq!(dead[0].outcome, "trap");
    assert!(
        world.twilio.requests().is_empty(),
        "nothing sent for a trapping plugin"
    );
    // The host kept serving: echo still answers.
    host.post_sms(
        "SM00000000000000000000000000000007",
        LEAD,
        AGENT_NUMBER,
        "still here",
    )
    .await;
    assert_eq!(
        world.twilio.wait_for(1, WAIT).await[0].body,
        "echo: still here"
    );
}

async fn unrouted_number_is_kept_and_alerted(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;
    let (status, _) = host
        .post_sms(
            "SM00000000000000000000000000000008",
            LEAD,
            "+15559999999",
            "anyone?",
        )
        .await;
    assert_eq!(
        status, 200,
        "Twilio gets 200: the message is kept, not bounced"
    );
    let storage = world.storage().await;
    let event = storage
        .events()
        .get("sms:SM00000000000000000000000000000008")
        .await
        .unwrap()
        .expect("the event is stored");
    assert_eq!(event.status, agenthost_storage::EventStatus::Unrouted);
    // Whether or not the dispatcher has delivered it yet.
    let alerts = storage.alerts().recent(10).await.unwrap();
    assert!(
        alerts.iter().any(|a| a.kind == "unrouted_number"),
        "{alerts:?}"
    );
}

async fn permanent_twilio_error_is_recorded_alerted_and_not_retried(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;
    world.twilio.fail_number(LEAD, 21211);
    let (status, _) = host
        .post_sms(
            "SM00000000000000000000000000000009",
            LEAD,
            AGENT_NUMBER,
            "bad number",
        )
        .await;
    assert_eq!(status, 200);
    let storage = world.storage().await;
    let row = eventually(WAIT, || async {
        storage
            .outbox()
            .row("sms:SM00000000000000000000000000000009#0")
            .await
            .ok()
            .flatten()
            .filter(|r| r.status == agenthost_storage::OutboxStatus::Failed)
    })
    .await
    .unwrap_or_else(|| panic!("the send was not recorded as failed; log:\n{}", host.logs()));
    assert_eq!(row.error_code.as_deref(), Some("21211"));
    let alerts = storage.alerts().pending(20).await.unwrap();
    assert!(
        alerts.iter().any(|a| a.kind == "sms_permanent_failure"),
        "{alerts:?}"
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        world.twilio.requests().len(),
        1,
        "a permanent error is never retried"
    );
}

async fn admin_api_sets_routes_behind_its_token(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let mut host = world.start(&[]);
    host.ready().await;
    let http = reqwest::Client::new();
    let number = "+15550003333";
    let put = |token: Option<&str>| {
        let mut req = http
            .put(host.url(&format!("/admin/routes/{number}")))
            .json(&serde_json::json!({"plugin": "echo"}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    assert_eq!(put(None).await.unwrap().status(), 401);
    assert_eq!(put(Some("wrong")).await.unwrap().status(), 401);
    assert_eq!(put(Some(ADMIN_TOKEN)).await.unwrap().status(), 200);
    let bad = http
        .put(host.url("/admin/routes/5550003333"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"plugin": "echo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "a number that is not E.164 is refused");
    host.post_sms(
        "SM00000000000000000000000000000010",
        LEAD,
        number,
        "new route",
    )
    .await;
    let sent = world.twilio.wait_for(1, WAIT).await;
    assert_eq!(sent.len(), 1, "log:\n{}", host.logs());
    assert_eq!(sent[0].from.as_deref(), Some(number));
    assert_eq!(sent[0].body, "echo: new route");

    // On SQLite one process owns the database: a second one fails fast, saying why.
    if setup == Setup::Embedded {
        let mut second = world.start(&[]);
        let code = second.wait_exit(Duration::from_secs(20)).await;
        assert!(
            matches!(code, Some(c) if c != 0),
            "second owner ran: {code:?}"
        );
        assert!(
            second
                .logs()
                .contains("another agenthost process is serving"),
            "{}",
            second.logs()
        );
    }

    // Without a configured token the admin API refuses and says why.
    host.kill9();
    let no_admin = world.start(&[("AGENTHOST_ADMIN_TOKEN", "")]);
    no_admin.ready().await;
    let r = http
        .get(no_admin.url("/admin/routes"))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("AGENTHOST_ADMIN_TOKEN"));
}

async fn stop_is_recorded_even_when_the_plugin_traps(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo"), ("test-trap", "trap")]).await;
    let host = world.start(&[]);
    host.ready().await;
    let storage = world.storage().await;
    // The lead texts STOP to an agent whose version traps on everything.
    let stop = "SM00000000000000000000000000000020";
    assert_eq!(host.post_sms(stop, LEAD, TRAP_NUMBER, "Stop.").await.0, 200);
    // Recorded at ingest, before any plugin ran: every agent of the business is silent.
    assert!(storage.routes().is_opted_out(LEAD).await.unwrap());
    host.post_sms(
        "SM00000000000000000000000000000021",
        LEAD,
        AGENT_NUMBER,
        "hello",
    )
    .await;
    let suppressed = eventually(WAIT, || async {
        let rows = storage
            .outbox()
            .for_event("sms:SM00000000000000000000000000000021")
            .await
            .ok()?;
        rows.first()
            .filter(|r| r.status == agenthost_storage::OutboxStatus::Suppressed)
            .cloned()
    })
    .await;
    assert!(suppressed.is_some(), "log:\n{}", host.logs());
    // START opts back in, and that very text is answered.
    host.post_sms(
        "SM00000000000000000000000000000022",
        LEAD,
        AGENT_NUMBER,
        "START",
    )
    .await;
    // The answer to START, and at most the host's one confirmation of the STOP (from the
    // number texted; here STOP and START come within a second, so the two may cross, and
    // the confirmation is dropped if START was recorded before it left). Nothing else.
    let answered = eventually(WAIT, || async {
        let sent = world.twilio.requests();
        sent.iter().any(|m| m.body == "echo: START").then_some(())
    })
    .await;
    assert!(
        answered.is_some(),
        "START never answered; log:\n{}",
        host.logs()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = world.twilio.requests();
    let (answers, others): (Vec<_>, Vec<_>) = sent.iter().partition(|m| m.body == "echo: START");
    assert_eq!(answers.len(), 1, "{sent:?}");
    assert!(
        others.len() <= 1,
        "nothing went out while opted out: {sent:?}"
    );
    for m in others {
        assert!(m.body.contains("unsubscribed"), "{sent:?}");
        assert_eq!(m.from.as_deref(), Some(TRAP_NUMBER));
    }
}

async fn a_send_whose_answer_was_lost_is_looked_up_not_sent_twice(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let host = world.start(&[]);
    host.ready().await;
    // Twilio takes the message but the answer never comes back within the host's
    // timeout (15 s): the send is ambiguous.
    world
        .twilio
        .accept_then_stall_next(1, Duration::from_secs(20));
    host.post_sms(
        "SM00000000000000000000000000000030",
        LEAD,
        AGENT_NUMBER,
        "once only",
    )
    .await;
    let storage = world.storage().await;
    let sent = eventually(Duration::from_secs(45), || async {
        let rows = storage
            .outbox()
            .for_event("sms:SM00000000000000000000000000000030")
            .await
            .ok()?;
        rows.first()
            .filter(|r| r.status == agenthost_storage::OutboxStatus::Sent)
            .cloned()
    })
    .await
    .unwrap_or_else(|| panic!("never recorded as sent; log:\n{}", host.logs()));
    let posts = world.twilio.requests();
    assert_eq!(
        posts.len(),
        1,
        "sent again after the lost answer: {posts:#?}"
    );
    assert_eq!(
        sent.provider_sid, posts[0].sid,
        "recorded with the sid Twilio gave it"
    );
    assert!(
        host.logs().contains("an earlier attempt reached Twilio"),
        "log:\n{}",
        host.logs()
    );
}
