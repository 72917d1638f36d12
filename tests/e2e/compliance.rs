//! Messaging compliance through the real host, whatever the plugins do: consent keywords
//! and free-text revocations silence every agent, START brings them back, one opt-out
//! confirmation, HELP answered by the host; agent-initiated texts wait for the morning in
//! the lead's zone (libfaketime clock), never go after a STOP, and stop at three a day; a
//! backlog leaves at the sender's pace (across two replicas); status callbacks arrive out
//! of order and end in the right state; carriers filtering a plugin pause its follow-ups.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use agenthost_storage::Storage;
use agenthost_twilio::RecordedSms;
use agenthost_twilio::fake::FAKE_AUTH_TOKEN;
use chrono::{TimeZone, Timelike};
use sqlx::Row;

use crate::harness::*;

on_both_setups!(
    stop_in_any_form_silences_every_agent_until_start,
    a_backlog_leaves_at_the_senders_pace,
);

/// Echo's number and the follow-up plugin's: two agents of one business.
const ECHO: &str = "+15550003201";
const NUDGE: &str = "+15550003202";
/// Leads with Chicago area codes: one candidate zone, the business's.
const LEAD_312: &str = "+13125550101";
const LEAD_773: &str = "+17735550102";
const WAIT: Duration = Duration::from_secs(30);
/// Long enough for the scheduler (1 s ticks), the worker and the outbox to act.
const SETTLE: Duration = Duration::from_secs(4);
const CHICAGO: chrono_tz::Tz = chrono_tz::America::Chicago;
const STATUS_URL: &str = "https://sms.example.test:8443/hooks/twilio/status";

static SID: AtomicU64 = AtomicU64::new(0);

fn sid() -> String {
    format!(
        "SMCOMPLY{:026}",
        SID.fetch_add(1, Ordering::Relaxed) + u64::from(std::process::id()) * 1_000_000
    )
}

async fn world(setup: Setup) -> World {
    World::new(setup, &[("echo", "echo"), ("test-nudge", "nudge")]).await
}

fn routes() -> String {
    format!("{ECHO}=echo,{NUDGE}=nudge")
}

/// Every text the fake received for `to`, in order.
fn texts_to(world: &World, to: &str) -> Vec<String> {
    world
        .twilio
        .requests()
        .into_iter()
        .filter(|m| m.to == to)
        .map(|m| m.body)
        .collect()
}

/// Posts a signed SMS and waits for its event to be processed (done).
async fn text(host: &Host, from: &str, to: &str, body: &str) -> serde_json::Value {
    let sid = sid();
    let (status, _) = host.post_sms(&sid, from, to, body).await;
    assert_eq!(status, 200, "posting {body:?}");
    eventually(WAIT, || async {
        let (_, v) = host
            .admin(reqwest::Method::GET, &format!("/admin/events/{sid}"), None)
            .await;
        (v["status"] == "done"
            && v["replies"].as_array().is_some_and(|r| {
                r.iter()
                    .all(|r| r["status"] != "pending" && r["status"] != "sending")
            }))
        .then_some(v)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "{body:?} from {from} never processed; log:\n{}",
            host.logs()
        )
    })
}

/// Outbox rows to `to`: (body, status, held, initiated).
/// The embedded host with the test routes, living on a libfaketime clock.
async fn on_a_fake_clock() -> (World, FakeClock, Host) {
    let world = world(Setup::Embedded).await;
    let clock = world.fake_clock();
    let mut env = clock.env();
    env.push(("AGENTHOST_ROUTES", routes()));
    // The default window, which these tests are about (the harness opens it all day).
    env.push(("AGENTHOST_QUIET_HOURS", "09:00-20:00".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let host = world.start(&env);
    host.ready().await;
    (world, clock, host)
}

async fn outbox_to(storage: &Storage, to: &str) -> Vec<(String, String, Option<String>, bool)> {
    sqlx::query(
        "SELECT body, status, held, CAST(CASE WHEN initiated THEN 1 ELSE 0 END AS BIGINT) AS initiated \
         FROM outbox WHERE to_number = $1 ORDER BY created_at, id",
    )
    .bind(to)
    .fetch_all(storage.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get::<String, _>("body"),
            r.get::<String, _>("status"),
            r.get::<Option<String>, _>("held"),
            r.get::<i64, _>("initiated") == 1,
        )
    })
    .collect()
}

/// The value of one metric line (`name{labels}`), 0 when absent.
async fn metric(host: &Host, series: &str) -> f64 {
    let (_, body) = host.get("/metrics").await;
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Moves `clock` forward to the next `hour:minute` in Chicago.
fn advance_to(clock: &FakeClock, hour: u32, minute: u32) {
    let now = clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let local = CHICAGO.timestamp_opt(now, 0).unwrap();
    let mut target = local
        .with_hour(hour)
        .and_then(|t| t.with_minute(minute))
        .and_then(|t| t.with_second(0))
        .unwrap();
    if target.timestamp() <= now {
        target = CHICAGO
            .from_local_datetime(&(target.naive_local() + chrono::Duration::days(1)))
            .earliest()
            .unwrap();
    }
    clock.advance(Duration::from_secs((target.timestamp() - now) as u64));
}

/// The host's wall-clock time in Chicago, e.g. "09:04".
fn chicago_time(at: std::time::SystemTime) -> (u32, u32) {
    let secs = at.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let t = CHICAGO.timestamp_opt(secs, 0).unwrap();
    (t.hour(), t.minute())
}

fn opt_out_text() -> &'static str {
    "You're unsubscribed and will get no more texts from us. Reply START to resubscribe."
}

async fn stop_in_any_form_silences_every_agent_until_start(setup: Setup) {
    let world = world(setup).await;
    let host = world.start(&[("AGENTHOST_ROUTES", &routes())]);
    host.ready().await;
    let lead = LEAD_312;
    text(&host, lead, ECHO, "hi").await;
    assert_eq!(texts_to(&world, lead), ["echo: hi"]);

    // A free-text revocation to one agent: the host confirms once; the agent's own answer
    // to it is recorded, never sent.
    let v = text(&host, lead, ECHO, "Please stop texting me").await;
    let sent = world.twilio.wait_for(2, WAIT).await;
    assert_eq!(texts_to(&world, lead), ["echo: hi", opt_out_text()]);
    assert!(sent[1].auth_ok);
    let replies = v["replies"].as_array().unwrap();
    assert!(
        replies
            .iter()
            .any(|r| r["host_message"] == "opt_out_confirmation" && r["status"] == "sent"),
        "{v}"
    );
    assert!(
        replies
            .iter()
            .any(|r| r["body"] == "echo: Please stop texting me" && r["status"] == "suppressed"),
        "{v}"
    );
    // Every other agent of the business, every keyword variant: nothing at all goes out,
    // not even a second confirmation.
    for (to, body) in [
        (NUDGE, "hello"),
        (NUDGE, " stop. "),
        (ECHO, "Unsubscribe"),
        (NUDGE, "QUIT!"),
        (ECHO, "remove me from this list"),
        (NUDGE, "nudge 500"),
        (ECHO, "are you there?"),
    ] {
        let v = text(&host, lead, to, body).await;
        assert!(
            v["replies"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] == "suppressed"),
            "after STOP, {body:?} to {to}: {v}"
        );
    }
    // The follow-up the last nudge scheduled comes due: suppressed too.
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        texts_to(&world, lead),
        ["echo: hi", opt_out_text()],
        "nothing after the one confirmation"
    );
    // A question that mentions stopping is not a revocation: another lead still gets
    // answered (and is not opted out by someone else's STOP).
    text(
        &host,
        LEAD_773,
        ECHO,
        "what time do you stop showing units?",
    )
    .await;
    assert_eq!(
        texts_to(&world, LEAD_773),
        ["echo: what time do you stop showing units?"]
    );

    // START: every agent answers again.
    text(&host, lead, NUDGE, "START").await;
    text(&host, lead, NUDGE, "hello again").await;
    text(&host, lead, ECHO, "still there?").await;
    let after: Vec<String> = texts_to(&world, lead).into_iter().skip(2).collect();
    assert!(after.contains(&"ok: hello again".to_owned()), "{after:?}");
    assert!(
        after.contains(&"echo: still there?".to_owned()),
        "{after:?}"
    );
    assert!(
        metric(&host, "agenthost_consent_total{kind=\"opt_out\"}").await >= 4.0,
        "{}",
        host.get("/metrics").await.1
    );
    // A carrier saying the lead blocked us (21610) opts them out too.
    world.twilio.fail_number(LEAD_773, 21610);
    text(&host, LEAD_773, ECHO, "one more").await;
    world.twilio.heal_number(LEAD_773);
    eventually(WAIT, || async {
        world
            .storage()
            .await
            .routes()
            .is_opted_out(LEAD_773)
            .await
            .unwrap()
            .then_some(())
    })
    .await
    .expect("21610 opts the lead out");
    let before = world.twilio.requests().len();
    let v = text(&host, LEAD_773, NUDGE, "hello").await;
    assert_eq!(v["replies"][0]["status"], "suppressed", "{v}");
    assert_eq!(world.twilio.requests().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_is_answered_by_the_host_not_the_agent() {
    let world = world(Setup::Embedded).await;
    let help = "Acme Leasing: automated texts about your apartment search. Call 312-555-0100. Reply STOP to opt out.";
    let host = world.start(&[
        ("AGENTHOST_ROUTES", &routes()),
        ("AGENTHOST_HELP_TEXT", help),
    ]);
    host.ready().await;
    let v = text(&host, LEAD_312, NUDGE, "Help").await;
    assert_eq!(texts_to(&world, LEAD_312), [help]);
    let replies = v["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 1, "the agent never saw HELP: {v}");
    assert_eq!(replies[0]["host_message"], "help");
    // HELP is not an opt-out: the agent answers the next text.
    text(&host, LEAD_312, NUDGE, "hi").await;
    assert_eq!(texts_to(&world, LEAD_312), [help, "ok: hi"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_due_at_night_goes_out_in_the_morning_unless_stop_came_first() {
    let (world, clock, host) = on_a_fake_clock().await;
    let storage = world.storage().await;

    // 21:40 in Chicago: both leads ask for a follow-up in 20 minutes. The answers are
    // replies, exempt from quiet hours: they go now.
    advance_to(&clock, 21, 40);
    for lead in [LEAD_312, LEAD_773] {
        text(&host, lead, NUDGE, "nudge 1200000").await;
        assert_eq!(texts_to(&world, lead), ["scheduled"]);
    }
    // 22:01: the follow-ups ran and wait for the morning.
    advance_to(&clock, 22, 1);
    let held = eventually(WAIT, || async {
        let rows = outbox_to(&storage, LEAD_312).await;
        rows.iter()
            .any(|r| r.0 == "nudge 1" && r.2.as_deref() == Some("quiet_hours"))
            .then_some(rows)
    })
    .await;
    if held.is_none() {
        let rows = outbox_to(&storage, LEAD_312).await;
        let events: Vec<(String, String, String)> =
            sqlx::query("SELECT id, kind, status FROM events ORDER BY received_at")
                .fetch_all(storage.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get("id"), r.get("kind"), r.get("status")))
                .collect();
        panic!(
            "no held follow-up; outbox {rows:?}; events {events:?}; log:\n{}",
            host.logs()
        );
    }
    let rows = outbox_to(&storage, LEAD_312).await;
    assert!(rows.iter().any(|r| r.0 == "nudge 1" && r.3), "{rows:?}");
    // 23:00: the second lead opts out while theirs waits.
    advance_to(&clock, 23, 0);
    text(&host, LEAD_773, NUDGE, "STOP").await;
    assert_eq!(texts_to(&world, LEAD_773), ["scheduled", opt_out_text()]);
    // 08:59:30: still nothing.
    advance_to(&clock, 8, 59);
    clock.advance(Duration::from_secs(30));
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        texts_to(&world, LEAD_312),
        ["scheduled"],
        "sent before 09:00"
    );
    // By 09:11 (the release is spread over ten minutes): sent once, with a validity that
    // ends by 20:00; the opted-out lead's is never sent.
    advance_to(&clock, 9, 11);
    let sent = eventually(WAIT, || async {
        let all = world.twilio.requests();
        all.iter()
            .find(|m| m.to == LEAD_312 && m.body == "nudge 1")
            .cloned()
    })
    .await
    .unwrap_or_else(|| panic!("the follow-up never left; log:\n{}", host.logs()));
    let validity: u64 = sent
        .validity_period
        .as_deref()
        .expect("a ValidityPeriod on an agent-initiated text")
        .parse()
        .unwrap();
    // Sent between 09:00 and 09:11 by the host's clock, with a validity that ends when
    // the window closes at 20:00 (capped at Twilio's maximum of ten hours). The row is
    // marked sent once Twilio's answer is back, a moment after the fake has the request.
    let sent_at_ms: i64 = eventually(WAIT, || async {
        sqlx::query(
            "SELECT sent_at FROM outbox WHERE to_number = $1 AND body = 'nudge 1' AND status = 'sent'",
        )
        .bind(LEAD_312)
        .fetch_optional(storage.pool())
        .await
        .unwrap()
        .map(|row| row.get::<i64, _>("sent_at"))
    })
    .await
    .expect("the follow-up's row is marked sent");
    let sent_at = UNIX_EPOCH + Duration::from_millis(sent_at_ms as u64);
    let (h, m) = chicago_time(sent_at);
    assert!(h == 9 && m <= 11, "sent at {h:02}:{m:02}");
    let closes = CHICAGO
        .timestamp_opt(sent_at_ms / 1000, 0)
        .unwrap()
        .with_hour(20)
        .and_then(|t| t.with_minute(0))
        .and_then(|t| t.with_second(0))
        .unwrap()
        .timestamp();
    let expected = (closes - sent_at_ms / 1000).min(36_000) as u64;
    assert!(
        validity.abs_diff(expected) <= 2,
        "validity {validity} s, window closes in {expected} s"
    );
    assert!(
        sent.status_callback.as_deref() == Some(STATUS_URL),
        "{sent:?}"
    );
    tokio::time::sleep(SETTLE).await;
    assert_eq!(texts_to(&world, LEAD_312), ["scheduled", "nudge 1"]);
    assert_eq!(texts_to(&world, LEAD_773), ["scheduled", opt_out_text()]);
    let theirs = outbox_to(&storage, LEAD_773).await;
    assert!(
        theirs
            .iter()
            .any(|r| r.0 == "nudge 1" && r.1 == "suppressed"),
        "{theirs:?}"
    );
    assert!(metric(&host, "agenthost_sms_held_total{reason=\"quiet_hours\"}").await >= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fourth_follow_up_in_a_day_is_held_until_the_first_is_a_day_old() {
    let (world, clock, host) = on_a_fake_clock().await;
    let storage = world.storage().await;
    advance_to(&clock, 10, 0);
    // Four follow-ups from one agent, due in a second: three go out.
    text(&host, LEAD_312, NUDGE, "nudge 1000 4").await;
    let nudges = |world: &World| {
        texts_to(world, LEAD_312)
            .into_iter()
            .filter(|b| b.starts_with("nudge "))
            .count()
    };
    eventually(WAIT, || async { (nudges(&world) == 3).then_some(()) })
        .await
        .unwrap_or_else(|| panic!("three follow-ups; log:\n{}", host.logs()));
    let held = eventually(WAIT, || async {
        let rows = outbox_to(&storage, LEAD_312).await;
        rows.iter()
            .any(|r| r.2.as_deref() == Some("frequency_cap"))
            .then_some(())
    })
    .await;
    assert!(held.is_some(), "{:?}", outbox_to(&storage, LEAD_312).await);
    // The cap is the recipient's, across agents: echo's reply to a text still goes (a
    // reply), but nothing initiated does.
    text(&host, LEAD_312, ECHO, "thanks").await;
    assert!(texts_to(&world, LEAD_312).contains(&"echo: thanks".to_owned()));
    clock.advance(Duration::from_secs(12 * 3600));
    tokio::time::sleep(SETTLE).await;
    assert_eq!(nudges(&world), 3, "the fourth left within 24 h");
    assert!(metric(&host, "agenthost_sms_held_total{reason=\"frequency_cap\"}").await >= 1.0);
    // A day after the first three (plus the spread): the fourth goes.
    advance_to(&clock, 10, 12);
    eventually(WAIT, || async { (nudges(&world) == 4).then_some(()) })
        .await
        .unwrap_or_else(|| panic!("the fourth never left; log:\n{}", host.logs()));
}

async fn a_backlog_leaves_at_the_senders_pace(setup: Setup) {
    const N: usize = 500;
    const PER_MINUTE: u64 = 1_800; // 30 a second: slower than the worker answers
    let world = world(setup).await;
    let rate = PER_MINUTE.to_string();
    let env = [
        ("AGENTHOST_ROUTES", routes()),
        ("AGENTHOST_SENDER_SEGMENTS_PER_MINUTE", rate),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Production shape: two replicas share the pace through the database.
    let hosts: Vec<Host> = match setup {
        Setup::Embedded => vec![world.start(&env)],
        Setup::Distributed => vec![world.start(&env), world.start(&env)],
    };
    for h in &hosts {
        h.ready().await;
    }
    let http = reqwest::Client::new();
    let bases: Vec<String> = hosts.iter().map(|h| h.public_url("")).collect();
    let posted = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in 0..10 {
        let http = http.clone();
        let bases = bases.clone();
        tasks.spawn(async move {
            for i in (chunk..N).step_by(10) {
                let lead = format!("+1312556{i:04}");
                let base = &bases[i % bases.len()];
                let status = try_post_sms(&http, base, &sid(), &lead, ECHO, "hi").await;
                assert_eq!(status, Some(200));
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let ingested = posted.elapsed();
    let all = world.twilio.wait_for(N, Duration::from_secs(120)).await;
    assert_eq!(all.len(), N, "log:\n{}", hosts[0].logs());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let all: Vec<RecordedSms> = world.twilio.requests();
    assert_eq!(all.len(), N, "a text sent twice");
    let mut leads: Vec<&str> = all.iter().map(|m| m.to.as_str()).collect();
    leads.sort_unstable();
    leads.dedup();
    assert_eq!(leads.len(), N, "every lead answered once");
    // Never faster than the pace. The host sends each text on its own slot (34 ms apart);
    // what the fake Twilio sees carries the HTTP path's jitter on a loaded machine, so a
    // one-second window may catch a few texts of the neighbouring second (10% here), and
    // over five seconds the pace must hold almost exactly.
    let mut at: Vec<Instant> = all.iter().map(|m| m.at).collect();
    at.sort_unstable();
    let per_second = PER_MINUTE as usize / 60;
    let busiest_in = |window: Duration| {
        let mut busiest = 0;
        for (i, t) in at.iter().enumerate() {
            let n = at[i..]
                .iter()
                .take_while(|u| u.duration_since(*t) < window)
                .count();
            busiest = busiest.max(n);
        }
        busiest
    };
    let busiest = busiest_in(Duration::from_secs(1));
    let busiest5 = busiest_in(Duration::from_secs(5));
    assert!(
        busiest5 <= 5 * per_second + 3,
        "{busiest5} texts within five seconds at {per_second}/s"
    );
    let span = at[N - 1].duration_since(at[0]);
    let floor = Duration::from_millis(60_000 / PER_MINUTE * (N as u64 - 1));
    eprintln!(
        "backlog of {N} ({setup:?}, {} replica(s)): posted in {ingested:?}, sent over {span:?} \
         (pace floor {floor:?}), busiest second {busiest}, busiest five seconds {busiest5}",
        hosts.len()
    );
    assert!(
        busiest <= per_second + per_second / 10,
        "{busiest} texts within one second at {per_second}/s"
    );
    assert!(span >= floor.mul_f64(0.95), "{span:?} < {floor:?}");
    let mut held = 0.0;
    for h in &hosts {
        held += metric(h, "agenthost_sms_held_total{reason=\"sender_rate\"}").await;
    }
    assert!(held > 0.0, "the pace never held a text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_callbacks_out_of_order_end_in_the_final_state() {
    let world = world(Setup::Embedded).await;
    let host = world.start(&[("AGENTHOST_ROUTES", &routes())]);
    host.ready().await;
    let storage = world.storage().await;
    text(&host, LEAD_312, ECHO, "hi").await;
    let sent = world.twilio.requests();
    let message = &sent[0];
    assert_eq!(message.status_callback.as_deref(), Some(STATUS_URL));
    let sid = message.sid.clone().unwrap();
    let post_for =
        |sid: String, status: &'static str, error: Option<&'static str>, forged: bool| {
            let host = &host;
            async move {
                let mut params = vec![
                    (
                        "AccountSid".to_owned(),
                        agenthost_twilio::FAKE_ACCOUNT_SID.to_owned(),
                    ),
                    ("MessageSid".to_owned(), sid),
                    ("MessageStatus".to_owned(), status.to_owned()),
                    ("To".to_owned(), LEAD_312.to_owned()),
                    ("From".to_owned(), ECHO.to_owned()),
                ];
                if let Some(e) = error {
                    params.push(("ErrorCode".to_owned(), e.to_owned()));
                }
                let token = if forged {
                    "not-the-token"
                } else {
                    FAKE_AUTH_TOKEN
                };
                let signature = agenthost_twilio::signature::compute(token, STATUS_URL, &params);
                let body: String = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&params)
                    .finish();
                let r = reqwest::Client::new()
                    .post(host.url("/twilio/status"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("x-twilio-signature", signature)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                r.status().as_u16()
            }
        };
    let post = |status, error, forged| post_for(sid.clone(), status, error, forged);
    let delivery = || async {
        let row = sqlx::query("SELECT delivery_status FROM outbox WHERE provider_sid = $1")
            .bind(&sid)
            .fetch_one(storage.pool())
            .await
            .unwrap();
        let history = sqlx::query("SELECT delivery_status FROM messages WHERE outbox_id = (SELECT id FROM outbox WHERE provider_sid = $1)")
            .bind(&sid)
            .fetch_one(storage.pool())
            .await
            .unwrap();
        (
            row.get::<Option<String>, _>("delivery_status"),
            history.get::<Option<String>, _>("delivery_status"),
        )
    };
    // A forged callback changes nothing.
    assert_eq!(post("undelivered", Some("30003"), true).await, 403);
    assert_eq!(delivery().await, (None, None));
    // Twilio's callbacks, out of order and repeated: the final state stands.
    for (status, error) in [
        ("sent", None),
        ("delivered", None),
        ("queued", None),
        ("sent", None),
        ("delivered", None),
        ("undelivered", Some("30003")),
        ("sending", None),
    ] {
        assert_eq!(post(status, error, false).await, 204, "{status}");
    }
    let delivered = Some("delivered".to_owned());
    assert_eq!(delivery().await, (delivered.clone(), delivered.clone()));
    assert_eq!(
        metric(
            &host,
            "agenthost_sms_delivery_total{plugin=\"echo\",status=\"delivered\"}"
        )
        .await,
        1.0
    );
    assert_eq!(
        metric(
            &host,
            "agenthost_sms_delivery_total{plugin=\"echo\",status=\"undelivered\"}"
        )
        .await,
        0.0
    );
    // A callback for a message the host never sent is answered (Twilio must not retry)
    // and recorded nowhere; one with a status Twilio does not document, too.
    let stranger = "SM00000000000000000000000000000000".to_owned();
    assert_eq!(post_for(stranger, "delivered", None, false).await, 204);
    assert_eq!(post("exploded", None, false).await, 204);
    assert_eq!(delivery().await, (delivered.clone(), delivered));
    let unknown: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM outbox WHERE delivery_status IS NOT NULL AND provider_sid <> $1",
    )
    .bind(&sid)
    .fetch_one(storage.pool())
    .await
    .unwrap();
    assert_eq!(unknown, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carriers_filtering_a_plugin_pause_its_follow_ups_not_its_replies() {
    let (world, clock, host) = on_a_fake_clock().await;
    let storage = world.storage().await;
    advance_to(&clock, 10, 0);
    // Twenty of the plugin's texts finish: 18 delivered, then 2 filtered (10% > 5%).
    for i in 0..20 {
        text(&host, &format!("+1312557{i:04}"), NUDGE, "hi").await;
    }
    let sent = world.twilio.requests();
    assert_eq!(sent.len(), 20);
    for (i, m) in sent.iter().enumerate() {
        let (status, error) = if i < 18 {
            ("delivered", None)
        } else {
            ("undelivered", Some("30007"))
        };
        let mut params = vec![
            ("MessageSid".to_owned(), m.sid.clone().unwrap()),
            ("MessageStatus".to_owned(), status.to_owned()),
        ];
        if let Some(e) = error {
            params.push(("ErrorCode".to_owned(), e.to_owned()));
        }
        let signature = agenthost_twilio::signature::compute(FAKE_AUTH_TOKEN, STATUS_URL, &params);
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let r = reqwest::Client::new()
            .post(host.url("/twilio/status"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let alerts = storage.alerts().recent(100).await.unwrap();
    let filtered: Vec<_> = alerts.iter().filter(|a| a.kind == "sms_filtered").collect();
    assert_eq!(filtered.len(), 1, "{alerts:?}");
    assert_eq!(filtered[0].plugin.as_deref(), Some("nudge"));
    // A reply still goes; the follow-up it schedules waits out the pause.
    text(&host, LEAD_312, NUDGE, "nudge 1000").await;
    assert_eq!(texts_to(&world, LEAD_312), ["scheduled"]);
    let held = eventually(WAIT, || async {
        outbox_to(&storage, LEAD_312)
            .await
            .iter()
            .any(|r| r.0 == "nudge 1" && r.2.as_deref() == Some("paused"))
            .then_some(())
    })
    .await;
    assert!(held.is_some(), "{:?}", outbox_to(&storage, LEAD_312).await);
    // Another agent is not paused.
    text(&host, LEAD_773, ECHO, "hi").await;
    assert_eq!(texts_to(&world, LEAD_773), ["echo: hi"]);
    assert_eq!(texts_to(&world, LEAD_312), ["scheduled"]);
}
