//! Time-driven behaviour through the real host, its wall clock moved by libfaketime:
//! Landlord Rep's follow-up after a day of silence, the SLA ladder's rungs, a cron slot
//! missed while the host was down firing once on start-up, and each cron slot firing once
//! across two replicas.

use std::path::PathBuf;
use std::time::Duration;

use agenthost_storage::{AlertRow, Storage};

use crate::harness::*;

const LANDLORD: &str = "+15550003001";
const HOUR: Duration = Duration::from_secs(3600);
/// Long enough for the scheduler (1 s ticks), the worker and the outbox to act.
const SETTLE: Duration = Duration::from_secs(4);
const WAIT: Duration = Duration::from_secs(30);

fn sid(n: usize) -> String {
    format!("SMCLOCK{n:027}")
}

/// A world serving Landlord Rep with its sample portfolio, on a fake clock.
async fn landlord_world(setup: Setup) -> (World, FakeClock) {
    let world = World::new(setup, &[("landlord-rep", "landlord-rep")]).await;
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/plugins");
    std::fs::copy(
        config.join("landlord-rep.json"),
        world.plugins.path().join("landlord-rep.json"),
    )
    .unwrap();
    let clock = world.fake_clock();
    (world, clock)
}

fn start(world: &World, clock: &FakeClock, extra: &[(&str, &str)]) -> Host {
    let mut env: Vec<(&str, String)> = clock.env();
    env.push(("AGENTHOST_ROUTES", format!("{LANDLORD}=landlord-rep")));
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    world.start(&refs)
}

async fn alerts_of(storage: &Storage, kind: &str) -> Vec<AlertRow> {
    storage
        .alerts()
        .recent(500)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == kind)
        .collect()
}

/// Texts the agent and waits for its one reply.
async fn say(world: &World, host: &Host, n: usize, from: &str, body: &str) -> String {
    let before = world.twilio.requests().len();
    let (status, _) = host.post_sms(&sid(n), from, LANDLORD, body).await;
    assert_eq!(status, 200);
    let sent = world.twilio.wait_for(before + 1, WAIT).await;
    assert!(
        sent.len() > before,
        "no reply to {body:?}; log:\n{}",
        host.logs()
    );
    // Before anyone moves the clock: the reply is recorded as sent (libfaketime moves the
    // monotonic clock too, and a send in flight across a jump would time out and retry).
    eventually(WAIT, || async {
        let (_, v) = host
            .admin(
                reqwest::Method::GET,
                &format!("/admin/events/{}", sid(n)),
                None,
            )
            .await;
        (v["replies"][0]["status"] == "sent").then_some(())
    })
    .await
    .expect("the reply is marked sent");
    sent.last().unwrap().body.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landlord_rep_follows_up_after_a_day_of_silence() {
    let (world, clock) = landlord_world(Setup::Embedded).await;
    let host = start(&world, &clock, &[]);
    host.ready().await;
    let lead = "+15557651001";
    let reply = say(
        &world,
        &host,
        1,
        lead,
        "What's available at jeffery shores?",
    )
    .await;
    assert!(reply.contains("Jeffery Shores Apartments"), "{reply}");
    // 23 hours of silence: nothing yet.
    clock.advance(23 * HOUR);
    tokio::time::sleep(SETTLE).await;
    let sent = world.twilio.requests();
    assert_eq!(
        sent.len(),
        1,
        "no follow-up before the silence is over: {:?}",
        sent.iter().map(|s| s.body.clone()).collect::<Vec<_>>()
    );
    // Past 24 hours: one follow-up, about the building in context.
    clock.advance(2 * HOUR);
    let sent = world.twilio.wait_for(2, WAIT).await;
    assert_eq!(sent.len(), 2, "log:\n{}", host.logs());
    assert_eq!(sent[1].to, lead);
    assert!(
        sent[1].body.contains("checking in") && sent[1].body.contains("Jeffery Shores Apartments"),
        "{}",
        sent[1].body
    );
    // The lead answers: the silence starts over, no second nudge a day after the first.
    say(&world, &host, 2, lead, "yes, 2 bedrooms").await;
    clock.advance(12 * HOUR);
    tokio::time::sleep(SETTLE).await;
    let sent = world.twilio.requests();
    assert_eq!(
        sent.len(),
        3,
        "the answer reset the silence: {:?}",
        sent.iter().map(|s| s.body.clone()).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sla_ladder_fires_at_half_time_deadline_repeats_then_escalates() {
    let (world, clock) = landlord_world(Setup::Embedded).await;
    let dry_run_lead = "+15550009999";
    let host = start(
        &world,
        &clock,
        &[("AGENTHOST_DRY_RUN_NUMBERS", dry_run_lead)],
    );
    host.ready().await;
    let storage = world.storage().await;
    // Book a tour: a "showing scheduled" item with a 48 h deadline. And the same from a
    // dry-run sender, whose item must never alert.
    say(
        &world,
        &host,
        10,
        "+15557651002",
        "Tour at jeffery shores please",
    )
    .await;
    say(&world, &host, 11, "+15557651002", "1").await;
    for (n, body) in [(20, "Tour at jeffery shores please"), (21, "1")] {
        // A dry-run sender's replies are recorded, never sent: wait for the event instead.
        host.post_sms(&sid(n), dry_run_lead, LANDLORD, body).await;
        let done = eventually(WAIT, || async {
            let (_, v) = host
                .admin(
                    reqwest::Method::GET,
                    &format!("/admin/events/{}", sid(n)),
                    None,
                )
                .await;
            (v["status"] == "done").then_some(v)
        })
        .await
        .expect("dry-run event processed");
        assert_eq!(done["replies"][0]["status"], "suppressed", "{done}");
    }
    let tracked = alerts_of(&storage, "plugin.landlord-rep.tour-booked").await;
    assert_eq!(tracked.len(), 2, "both tours booked: {tracked:?}");
    let item = |a: &AlertRow| {
        a.fields
            .iter()
            .find(|(k, _)| k == "item")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let rungs = |kind: &'static str| {
        let storage = storage.clone();
        async move {
            let all = alerts_of(&storage, kind).await;
            assert!(
                all.iter()
                    .all(|a| !item(a).contains(dry_run_lead) && !a.message.contains(dry_run_lead)),
                "a dry-run item alerted: {all:?}"
            );
            all.len()
        }
    };
    clock.advance(23 * HOUR);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(rungs("sla_reminder").await, 0, "nothing before half time");
    clock.advance(2 * HOUR); // 25 h: past 50 %
    let reminded = eventually(WAIT, || async {
        (rungs("sla_reminder").await == 1).then_some(())
    })
    .await;
    assert!(
        reminded.is_some(),
        "no reminder at half time; log:\n{}",
        host.logs()
    );
    assert_eq!(rungs("sla_overdue").await, 0);
    clock.advance(24 * HOUR); // 49 h: overdue
    let overdue = eventually(WAIT, || async {
        (rungs("sla_overdue").await == 1).then_some(())
    })
    .await;
    assert!(overdue.is_some(), "no overdue alert at the deadline");
    for repeat in 2..=4 {
        clock.advance(8 * HOUR + Duration::from_secs(60)); // every 8 h, at most 3 times
        let n = eventually(WAIT, || async {
            let n = rungs("sla_overdue").await;
            (n == repeat).then_some(n)
        })
        .await;
        assert_eq!(n, Some(repeat), "repeat {repeat}");
    }
    clock.advance(8 * HOUR + Duration::from_secs(60));
    let escalated = eventually(WAIT, || async {
        (rungs("sla_escalation").await == 1).then_some(())
    })
    .await;
    assert!(escalated.is_some(), "no escalation after the repeats");
    clock.advance(24 * HOUR);
    tokio::time::sleep(SETTLE).await;
    assert_eq!(rungs("sla_overdue").await, 4, "no more than 3 repeats");
    assert_eq!(rungs("sla_escalation").await, 1, "escalates once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_slot_missed_while_down_fires_once_on_start_up() {
    let (world, clock) = landlord_world(Setup::Embedded).await;
    let mut host = start(&world, &clock, &[]);
    host.ready().await;
    tokio::time::sleep(SETTLE).await; // the scheduler records its baseline
    host.kill9();
    let storage = world.storage().await;
    let before = alerts_of(&storage, "plugin.landlord-rep.owner-report")
        .await
        .len();
    // Down for three days: three daily-report slots missed.
    clock.advance(72 * HOUR);
    let host = start(&world, &clock, &[]);
    host.ready().await;
    let fired = eventually(WAIT, || async {
        let n = alerts_of(&storage, "plugin.landlord-rep.owner-report")
            .await
            .len();
        (n > before).then_some(n)
    })
    .await;
    assert_eq!(fired, Some(before + 1), "log:\n{}", host.logs());
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        alerts_of(&storage, "plugin.landlord-rep.owner-report")
            .await
            .len(),
        before + 1,
        "once, not once per missed slot"
    );
    assert!(
        !alerts_of(&storage, "scheduler_lateness").await.is_empty(),
        "the lateness is measured and alerted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_cron_slot_fires_once_across_two_replicas() {
    let (world, clock) = landlord_world(Setup::Distributed).await;
    let a = start(&world, &clock, &[]);
    let b = start(&world, &clock, &[]);
    a.ready().await;
    b.ready().await;
    tokio::time::sleep(SETTLE).await;
    let storage = world.storage().await;
    let before = alerts_of(&storage, "plugin.landlord-rep.owner-report")
        .await
        .len();
    for day in 1..=2 {
        clock.advance(24 * HOUR);
        let n = eventually(WAIT, || async {
            let n = alerts_of(&storage, "plugin.landlord-rep.owner-report")
                .await
                .len();
            (n >= before + day).then_some(n)
        })
        .await;
        assert_eq!(n, Some(before + day), "day {day}: log a:\n{}", a.logs());
        tokio::time::sleep(SETTLE).await;
        assert_eq!(
            alerts_of(&storage, "plugin.landlord-rep.owner-report")
                .await
                .len(),
            before + day,
            "two replicas, one firing per slot"
        );
    }
}
