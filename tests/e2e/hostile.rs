//! Hostile plugins through the real binary: each attack on the sandbox boundary ends in a
//! typed refusal naming the rule, with the host's memory bounded, nothing sent or written
//! for the attacker, exactly one alert naming the rule, and the other plugins answering.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use agenthost_storage::{AlertRow, EventStatus, Storage};

use crate::harness::*;

/// Where the attacker is routed (the echo plugin keeps AGENT_NUMBER).
const HOSTILE_NUMBER: &str = "+15550004444";
const WAIT: Duration = Duration::from_secs(30);
/// The host's peak resident memory may not pass this during any attack (it idles at
/// ~35 MiB; the attacks would take it past a GiB if it copied what they pass).
const MAX_PEAK_RSS_KIB: u64 = 300 << 10;

static SID: AtomicU32 = AtomicU32::new(1);

fn sid() -> String {
    format!(
        "SMHOSTILE{:025}",
        u64::from(SID.fetch_add(1, Ordering::Relaxed)) + u64::from(std::process::id()) * 100_000
    )
}

fn routes(plugin: &str) -> String {
    format!("{AGENT_NUMBER}=echo,{HOSTILE_NUMBER}={plugin}")
}

/// A host serving echo and the hostile `file` as `plugin`.
async fn hostile_world(
    setup: Setup,
    file: &str,
    plugin: &str,
    env: &[(&str, &str)],
) -> (World, Host) {
    let world = World::new(setup, &[("echo", "echo"), (file, plugin)]).await;
    let route = routes(plugin);
    let mut all: Vec<(&str, &str)> = vec![("AGENTHOST_ROUTES", &route)];
    all.extend_from_slice(env);
    let host = world.start(&all);
    host.ready().await;
    (world, host)
}

/// Waits for `event` to end dead and returns its dead letter's outcome and message.
async fn dead(storage: &Storage, event: &str) -> (String, String) {
    let found = eventually(WAIT, || async {
        let e = storage.events().get(event).await.ok()??;
        (e.status == EventStatus::Dead).then_some(())
    })
    .await;
    assert!(found.is_some(), "{event} never dead-lettered");
    let letters = storage.events().dead_letters(1_000).await.unwrap();
    let letter = letters
        .iter()
        .find(|l| l.event_id == event)
        .expect("its dead letter");
    (letter.outcome.clone(), letter.message.clone())
}

async fn alerts(storage: &Storage) -> Vec<AlertRow> {
    storage.alerts().recent(1_000).await.unwrap()
}

/// Echo still answers.
async fn echo_answers(world: &World, host: &Host, text: &str) {
    let (status, _) = host.post_sms(&sid(), LEAD, AGENT_NUMBER, text).await;
    assert_eq!(status, 200);
    let expected = format!("echo: {text}");
    let answered = eventually(WAIT, || async {
        world
            .twilio
            .requests()
            .iter()
            .any(|m| m.body == expected)
            .then_some(())
    })
    .await;
    assert!(
        answered.is_some(),
        "echo stopped answering; log:\n{}",
        host.logs()
    );
}

/// The alerts matching `keep`, once there are `n` of them (the dead letter is written a
/// moment before its alert); panics with what there is after a while.
async fn alerts_once(
    storage: &Storage,
    n: usize,
    keep: impl Fn(&AlertRow) -> bool,
) -> Vec<AlertRow> {
    let got = eventually(WAIT, || async {
        let matching: Vec<AlertRow> = alerts(storage)
            .await
            .into_iter()
            .filter(|a| keep(a))
            .collect();
        (matching.len() >= n).then_some(matching)
    })
    .await;
    let got = got.unwrap_or_else(|| panic!("fewer than {n} alerts"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled: Vec<AlertRow> = alerts(storage)
        .await
        .into_iter()
        .filter(|a| keep(a))
        .collect();
    assert_eq!(settled.len(), got.len(), "more arrived: {settled:#?}");
    settled
}

fn assert_bounded(host: &Host) {
    let peak = host.peak_rss_kib().expect("reading the host's VmHWM");
    eprintln!("host peak RSS: {} MiB", peak >> 10);
    assert!(
        peak < MAX_PEAK_RSS_KIB,
        "the host's peak RSS was {} MiB",
        peak >> 10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_strings_to_every_import_are_refused_and_the_host_stays_small() {
    let (world, host) = hostile_world(Setup::Embedded, "test-huge-strings", "huge", &[]).await;
    let storage = world.storage().await;
    let targets = [
        "alert",
        "alert-field",
        "job",
        "sla",
        "sms-to",
        "sms-body",
        "llm",
        "state",
        "state-key",
        "config-key",
    ];
    let mut events = Vec::new();
    for (i, target) in targets.iter().enumerate() {
        let id = sid();
        // 24 MiB, 16 times per invocation: 384 MiB per event if the host copied it.
        let lead = format!("+1555700{i:04}");
        let (status, _) = host
            .post_sms(&id, &lead, HOSTILE_NUMBER, &format!("{target} 24 16"))
            .await;
        assert_eq!(status, 200);
        events.push((format!("sms:{id}"), *target));
    }
    echo_answers(&world, &host, "while they attack").await;
    for (event, target) in &events {
        let (outcome, message) = dead(&storage, event).await;
        assert_eq!(outcome, "rule_violation", "{target}: {message}");
        assert!(
            message.contains("bytes.field") && message.contains("25165824 bytes"),
            "{target}: {message}"
        );
    }
    assert_bounded(&host);
    // Nothing of theirs was sent or written; one alert per event, naming the rule.
    assert!(
        world
            .twilio
            .requests()
            .iter()
            .all(|m| m.from.as_deref() != Some(HOSTILE_NUMBER)),
        "the attacker sent something"
    );
    let named = alerts_once(&storage, targets.len(), |a| {
        a.plugin.as_deref() == Some("huge")
    })
    .await;
    assert_eq!(named.len(), targets.len(), "{named:#?}");
    assert!(
        named
            .iter()
            .all(|a| a.kind == "plugin_rule_violation" && a.message.contains("bytes.field")),
        "{named:#?}"
    );
    assert!(
        storage
            .conversations()
            .state_keys("huge", "", 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Refused on the first delivery: a rule violation is not retried.
    for (event, _) in &events {
        assert_eq!(
            storage
                .events()
                .get(event)
                .await
                .unwrap()
                .unwrap()
                .deliveries,
            1
        );
    }
    echo_answers(&world, &host, "after the attack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spraying_strangers_and_foreign_conversations_send_nothing() {
    let (world, host) = hostile_world(Setup::Embedded, "test-sms-spray", "spray", &[]).await;
    let storage = world.storage().await;
    let id = sid();
    host.post_sms(&id, LEAD, HOSTILE_NUMBER, "spray 500").await;
    let (outcome, message) = dead(&storage, &format!("sms:{id}")).await;
    assert_eq!(outcome, "rule_violation");
    assert!(message.contains("sms.recipient"), "{message}");
    // The lead itself may be answered.
    host.post_sms(&sid(), LEAD, HOSTILE_NUMBER, "lead").await;
    let sent = world.twilio.wait_for(1, WAIT).await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(
        (sent[0].to.as_str(), sent[0].body.as_str()),
        (LEAD, "only you")
    );
    let rule_alerts = alerts_once(&storage, 1, |a| a.kind == "plugin_rule_violation").await;
    assert_eq!(rule_alerts.len(), 1);
    drop(host);

    // Another plugin's conversation: a job for it is refused, so nothing is ever sent
    // from echo's number into echo's history.
    let (world, host) =
        hostile_world(Setup::Embedded, "test-foreign-conversation", "foreign", &[]).await;
    let storage = world.storage().await;
    echo_answers(&world, &host, "my own conversation with echo").await;
    let echo_conversation = format!("{AGENT_NUMBER}|{LEAD}");
    let invented = "+15550009999|+15550008888";
    for target in [echo_conversation.as_str(), invented] {
        let id = sid();
        host.post_sms(
            &id,
            "+15557000001",
            HOSTILE_NUMBER,
            &format!("job {target}"),
        )
        .await;
        let (outcome, message) = dead(&storage, &format!("sms:{id}")).await;
        assert_eq!(outcome, "rule_violation", "{target}");
        assert!(message.contains("job.conversation"), "{message}");
    }
    // Its own conversation is fine, and the follow-up goes to its own lead from its own
    // number.
    host.post_sms(&sid(), "+15557000002", HOSTILE_NUMBER, "own")
        .await;
    let sent = eventually(WAIT, || async {
        let sent = world.twilio.requests();
        sent.iter()
            .any(|m| m.body == "hijacked follow-up")
            .then_some(sent)
    })
    .await
    .expect("the own follow-up");
    for m in sent.iter().filter(|m| m.body == "hijacked follow-up") {
        assert_eq!(m.to, "+15557000002");
        assert_eq!(m.from.as_deref(), Some(HOSTILE_NUMBER));
    }
    let history = storage
        .conversations()
        .history(&echo_conversation, 100, None)
        .await
        .unwrap();
    assert!(
        history.iter().all(|h| h.body != "hijacked follow-up"),
        "echo's history was written by another plugin"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_host_alerts_are_namespaced_capped_and_rate_limited() {
    let (world, host) = hostile_world(Setup::Embedded, "test-spoof-alert", "spoof", &[]).await;
    let storage = world.storage().await;
    host.post_sms(&sid(), LEAD, HOSTILE_NUMBER, "dependency_down critical")
        .await;
    host.post_sms(&sid(), LEAD, HOSTILE_NUMBER, "auto_rollback critical")
        .await;
    let two = eventually(WAIT, || async {
        let a: Vec<AlertRow> = alerts(&storage)
            .await
            .into_iter()
            .filter(|a| a.plugin.as_deref() == Some("spoof"))
            .collect();
        (a.len() == 2).then_some(a)
    })
    .await
    .expect("two alerts");
    let mut kinds: Vec<&str> = two.iter().map(|a| a.kind.as_str()).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["plugin.spoof.auto_rollback", "plugin.spoof.dependency_down"]
    );
    assert!(two.iter().all(|a| a.severity == "warning"), "{two:#?}");
    let all = alerts(&storage).await;
    assert!(
        !all.iter()
            .any(|a| a.kind == "dependency_down" || a.kind == "auto_rollback"),
        "a plugin raised a host kind: {all:#?}"
    );
    // More than 20 in one invocation is a rule violation.
    let id = sid();
    host.post_sms(&id, LEAD, HOSTILE_NUMBER, "flood 100").await;
    let (outcome, message) = dead(&storage, &format!("sms:{id}")).await;
    assert_eq!(outcome, "rule_violation");
    assert!(message.contains("alert.count"), "{message}");
    echo_answers(&world, &host, "still here").await;
}

async fn nul_bytes_never_reach_storage(setup: Setup) {
    let (world, host) = hostile_world(setup, "test-nul-bytes", "nul", &[]).await;
    let storage = world.storage().await;
    for body in ["sms", "state", "alert"] {
        let id = sid();
        host.post_sms(&id, LEAD, HOSTILE_NUMBER, body).await;
        let event = format!("sms:{id}");
        let (outcome, message) = dead(&storage, &event).await;
        assert_eq!(outcome, "rule_violation", "{body}");
        assert!(message.contains("text.nul"), "{body}: {message}");
        assert_eq!(
            storage
                .events()
                .get(&event)
                .await
                .unwrap()
                .unwrap()
                .deliveries,
            1,
            "{body}: refused once, never retried against the database"
        );
    }
    let rule_alerts = alerts_once(&storage, 3, |a| a.kind == "plugin_rule_violation").await;
    assert_eq!(rule_alerts.len(), 3);
    assert!(world.twilio.requests().is_empty());
    echo_answers(&world, &host, "fine").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_never_reach_postgres() {
    nul_bytes_never_reach_storage(Setup::Distributed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_bytes_never_reach_sqlite() {
    nul_bytes_never_reach_storage(Setup::Embedded).await;
}

fn multi_memory_component() -> Vec<u8> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/testing/multi-memory/component.wat");
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_of_many_memories_is_capped_on_their_sum() {
    let world = World::new(Setup::Embedded, &[("echo", "echo")]).await;
    let route = routes("multi");
    let host = world.start(&[
        ("AGENTHOST_ROUTES", route.as_str()),
        ("AGENTHOST_PLUGIN_LIMITS", "multi:memory_mb=64,attempts=2"),
    ]);
    host.ready().await;
    let (status, body) = host.upload("multi", multi_memory_component()).await;
    assert_eq!(status, 201, "{body}");
    let version = body["version"].as_str().expect("version").to_owned();
    let (status, body) = host
        .admin(
            reqwest::Method::POST,
            "/admin/plugins/multi/activate",
            Some(serde_json::json!({"version": version, "reason": "e2e"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let storage = world.storage().await;
    let id = sid();
    host.post_sms(&id, LEAD, HOSTILE_NUMBER, "grow").await;
    let (outcome, message) = dead(&storage, &format!("sms:{id}")).await;
    assert_eq!(outcome, "memory_limit", "{message}");
    assert!(message.contains("67108864"), "{message}");
    assert_bounded(&host);
    echo_answers(&world, &host, "unaffected").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_hog_cannot_starve_other_plugins() {
    let (world, host) = hostile_world(
        Setup::Embedded,
        "test-pool-hog",
        "hog",
        &[
            ("AGENTHOST_MAX_INSTANCES", "8"),
            ("AGENTHOST_WORKER_SLOTS", "16"),
        ],
    )
    .await;
    for i in 0..16 {
        let lead = format!("+1555710{i:04}");
        host.post_sms(&sid(), &lead, HOSTILE_NUMBER, "800").await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // While the hog holds what it may (4 of 8 instances, each spinning 0.8 s), echo
    // answers in time.
    for i in 0..5 {
        let t = std::time::Instant::now();
        echo_answers(&world, &host, &format!("ping {i}")).await;
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "echo waited {:?}",
            t.elapsed()
        );
    }
    let (_, metrics) = host.get("/metrics").await;
    assert!(
        !metrics.contains("agenthost_invocations_total{plugin=\"echo\",outcome=\"host_error\"}")
            && !metrics.contains("agenthost_invocations_total{plugin=\"echo\",outcome=\"trap\"}"),
        "echo was blamed for the hog:\n{metrics}"
    );
    // Every hog message is served in the end, none failed for want of an instance.
    let held = world.twilio.wait_for(21, Duration::from_secs(120)).await;
    assert_eq!(held.iter().filter(|m| m.body == "held").count(), 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_daily_budget_dead_letters_with_one_alert_and_survives_a_restart() {
    let world = World::new(Setup::Embedded, &[("echo", "echo")]).await;
    let mut host = world.start(&[("AGENTHOST_PLUGIN_LIMITS", "echo:sms_segments_day=2")]);
    host.ready().await;
    let storage = world.storage().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let id = sid();
        host.post_sms(&id, LEAD, AGENT_NUMBER, &format!("m{i}"))
            .await;
        ids.push(format!("sms:{id}"));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let sent = world.twilio.wait_for(2, WAIT).await;
    assert_eq!(sent.len(), 2);
    for event in &ids[2..] {
        let (outcome, message) = dead(&storage, event).await;
        assert_eq!(outcome, "budget_exhausted", "{message}");
    }
    let budget_alerts = |all: Vec<AlertRow>| {
        all.into_iter()
            .filter(|a| a.kind == "budget_exhausted")
            .count()
    };
    assert_eq!(
        alerts_once(&storage, 1, |a| a.kind == "budget_exhausted")
            .await
            .len(),
        1
    );
    assert!(
        !alerts(&storage)
            .await
            .iter()
            .any(|a| a.kind == "dead_letter"),
        "a spent budget is one alert, not one per event"
    );
    // The count is durable: a restarted host still refuses, and alerts no more.
    host.kill9();
    let host = world.start(&[("AGENTHOST_PLUGIN_LIMITS", "echo:sms_segments_day=2")]);
    host.ready().await;
    let id = sid();
    host.post_sms(&id, LEAD, AGENT_NUMBER, "after restart")
        .await;
    let (outcome, _) = dead(&storage, &format!("sms:{id}")).await;
    assert_eq!(outcome, "budget_exhausted");
    assert_eq!(budget_alerts(alerts(&storage).await), 1);
    assert_eq!(world.twilio.requests().len(), 2);
}
