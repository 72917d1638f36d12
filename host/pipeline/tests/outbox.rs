//! The outbox dispatcher against a real SQLite storage and `FakeTwilio` on loopback:
//! Twilio's health as seen from the sends, alerted once down and once restored.

use std::sync::Arc;
use std::time::Duration;

use agenthost_pipeline::outbox::Dispatcher;
use agenthost_pipeline::policy::SendPolicy;
use agenthost_storage::{
    AlertRow, Commit, EventKind, NewEvent, NewOutbound, OutboxStatus, Storage,
};
use agenthost_twilio::TwilioClient;
use agenthost_twilio::fake::FakeTwilio;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

struct Harness {
    _dir: tempfile::TempDir,
    storage: Storage,
    twilio: FakeTwilio,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

/// Storage holding `rows` due outbound SMS, a fake Twilio scripted by `script`, and a
/// running dispatcher that calls Twilio down after `down_after`.
async fn start(rows: usize, down_after: Duration, script: impl FnOnce(&FakeTwilio)) -> Harness {
    let outbound = (0..rows)
        .map(|i| NewOutbound {
            id: format!("ev-1#{i}"),
            conversation_id: None,
            to: format!("+1555000000{i}"),
            from: "+15559990000".into(),
            body: format!("hello {i}"),
            suppressed: false,
            initiated: false,
            segments: 1,
        })
        .collect();
    start_with(outbound, fast_policy(), down_after, script).await
}

/// The default policy but a sender pace that never gets in a test's way.
fn fast_policy() -> SendPolicy {
    SendPolicy {
        sender_segments_per_minute: 60_000,
        ..SendPolicy::default()
    }
}

async fn start_with(
    outbound: Vec<NewOutbound>,
    policy: SendPolicy,
    down_after: Duration,
    script: impl FnOnce(&FakeTwilio),
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(None, dir.path(), 4).await.unwrap();
    let now = agenthost_core::now_ms();
    storage
        .events()
        .insert(&[NewEvent {
            id: "ev-1".into(),
            dedupe_key: "job:test:1".into(),
            kind: EventKind::Job,
            plugin: Some("echo".into()),
            conversation_id: None,
            payload: "{}".into(),
            received_at_ms: now,
            inbound: None,
        }])
        .await
        .unwrap();
    storage
        .claims()
        .commit(&Commit {
            outbound,
            ..Commit::new("ev-1", "echo", "1", now)
        })
        .await
        .unwrap();
    let twilio = FakeTwilio::start().await;
    script(&twilio);
    let dispatcher = Dispatcher {
        storage: storage.clone(),
        twilio: Arc::new(TwilioClient::new(twilio.config()).unwrap()),
        wake: Arc::new(Notify::new()),
        lease: Duration::from_secs(30),
        leases: agenthost_pipeline::leases::LeaseKeeper::new(),
        down_after,
        policy: Arc::new(policy),
        metrics: Arc::default(),
        sink: agenthost_pipeline::outbox::SmsSink::Twilio,
    };
    let cancel = CancellationToken::new();
    let task = tokio::spawn(dispatcher.run(cancel.clone()));
    Harness {
        _dir: dir,
        storage,
        twilio,
        cancel,
        task,
    }
}

impl Harness {
    async fn alerts(&self, kind: &str) -> Vec<AlertRow> {
        let all = self.storage.alerts().pending(1_000).await.unwrap();
        all.into_iter().filter(|a| a.kind == kind).collect()
    }

    /// Waits (up to 30 s: retries back off) until an alert of `kind` is stored.
    async fn wait_for_alert(&self, kind: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.alerts(kind).await.is_empty() {
            assert!(
                Instant::now() < deadline,
                "no {kind} alert; twilio saw {:#?}",
                self.twilio.requests()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("dispatcher stops")
            .unwrap();
    }
}

fn field<'a>(alert: &'a AlertRow, name: &str) -> &'a str {
    alert
        .fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no field {name} in {alert:?}"))
}

#[tokio::test]
async fn twilio_outage_is_one_down_and_one_restored_alert() {
    let down_after = Duration::from_millis(300);
    // Several rows fail at once and keep failing: still one alert.
    let h = start(5, down_after, |t| t.error_next(100_000, 500)).await;
    let started = Instant::now();
    h.wait_for_alert("dependency_down").await;
    assert!(started.elapsed() >= down_after);
    assert!(h.twilio.accepted().is_empty());
    assert!(h.alerts("dependency_restored").await.is_empty());
    let failed = h.twilio.requests().len();
    assert!(failed >= 2, "{failed}");

    h.twilio.heal_all();
    h.wait_for_alert("dependency_restored").await;
    assert!(!h.twilio.accepted().is_empty());
    // Every row goes out in the end; no further alert on the way.
    h.twilio.wait_for_accepted(5, Duration::from_secs(60)).await;
    assert_eq!(h.twilio.accepted().len(), 5);
    let storage = h.storage.clone();
    h.stop().await;

    let alerts = storage.alerts().pending(1_000).await.unwrap();
    let kinds: Vec<&str> = alerts.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["dependency_down", "dependency_restored"],
        "{alerts:#?}"
    );
    let (down, restored) = (&alerts[0], &alerts[1]);
    assert_eq!(down.severity, "critical");
    assert_eq!(down.plugin, None);
    assert_eq!(
        down.message,
        "dependency twilio is down: failing for at least 300 ms"
    );
    assert_eq!(field(down, "dependency"), "twilio");
    assert!(field(down, "error").contains("500"), "{down:?}");
    assert_eq!(restored.severity, "info");
    assert_eq!(restored.message, "dependency twilio is back");
    assert_eq!(field(restored, "dependency"), "twilio");
    assert_eq!(field(restored, "since_ms"), field(down, "since_ms"));
    let outage_ms: u128 = field(restored, "outage_ms").parse().unwrap();
    assert!(outage_ms >= down_after.as_millis(), "{restored:?}");
}

#[tokio::test]
async fn brief_transient_failures_raise_nothing() {
    let h = start(1, Duration::from_secs(60), |t| t.error_next(2, 503)).await;
    let accepted = h.twilio.wait_for_accepted(1, Duration::from_secs(20)).await;
    assert_eq!(accepted.len(), 1);
    assert_eq!(h.twilio.requests().len(), 3, "two failures, then sent");
    let storage = h.storage.clone();
    h.stop().await;
    assert_eq!(storage.alerts().pending(1_000).await.unwrap(), []);
}

fn row(id: &str, to: &str, initiated: bool) -> NewOutbound {
    NewOutbound {
        id: id.into(),
        conversation_id: None,
        to: to.into(),
        from: "+15559990000".into(),
        body: format!("text {id}"),
        suppressed: false,
        initiated,
        segments: 1,
    }
}

#[tokio::test]
async fn the_fourth_agent_initiated_text_in_a_day_is_held() {
    // Business zone = the recipient's, and quiet hours wide open, so only the cap acts.
    let policy = SendPolicy {
        quiet: "00:00-23:59".parse().unwrap(),
        ..fast_policy()
    };
    let lead = "+13125550101";
    let rows = vec![
        row("a", lead, true),
        row("b", lead, true),
        row("c", lead, true),
        row("d", lead, true),
        // A reply is not capped.
        row("e", lead, false),
    ];
    let h = start_with(rows, policy, Duration::from_secs(60), |_| {}).await;
    h.twilio.wait_for_accepted(4, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let storage = h.storage.clone();
    h.stop().await;
    let sent: Vec<String> = h_sent(&storage, &["a", "b", "c", "d", "e"]).await;
    assert_eq!(sent.len(), 4, "three initiated and the reply: {sent:?}");
    assert!(sent.contains(&"e".to_owned()));
    let held = ["a", "b", "c", "d"]
        .iter()
        .filter(|id| !sent.contains(&id.to_string()))
        .collect::<Vec<_>>();
    assert_eq!(held.len(), 1);
    let row = storage.outbox().row(held[0]).await.unwrap().unwrap();
    assert_eq!(row.status, OutboxStatus::Pending);
    assert_eq!(row.held.as_deref(), Some("frequency_cap"));
    assert_eq!(row.attempts, 0, "a hold is not an attempt");
    let day = 86_400_000;
    assert!(
        row.next_attempt_at_ms >= agenthost_core::now_ms() + day - 60_000,
        "held a day from the first: {row:?}"
    );
}

async fn h_sent(storage: &Storage, ids: &[&str]) -> Vec<String> {
    let mut sent = Vec::new();
    for id in ids {
        if storage.outbox().row(id).await.unwrap().unwrap().status == OutboxStatus::Sent {
            sent.push((*id).to_owned());
        }
    }
    sent
}

#[tokio::test]
async fn quiet_hours_hold_agent_initiated_texts_and_not_replies() {
    use chrono::{Timelike, Utc};
    // A window that is surely closed now in Chicago: three hours from now, for an hour.
    let chicago_hour = Utc::now()
        .with_timezone(&chrono_tz::America::Chicago)
        .hour();
    let start = (chicago_hour + 3) % 24;
    let start = if start == 23 { 1 } else { start };
    let window = format!("{start:02}:00-{:02}:00", start + 1);
    let policy = SendPolicy {
        quiet: window.parse().unwrap(),
        ..fast_policy()
    };
    let lead = "+13125550102";
    let rows = vec![row("follow-up", lead, true), row("reply", lead, false)];
    let h = start_with(rows, policy.clone(), Duration::from_secs(60), |_| {}).await;
    h.twilio.wait_for_accepted(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let storage = h.storage.clone();
    let accepted = h.twilio.accepted();
    h.stop().await;
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].body, "text reply");
    assert_eq!(
        accepted[0].validity_period, None,
        "a reply is not bound to the window"
    );
    let held = storage.outbox().row("follow-up").await.unwrap().unwrap();
    assert_eq!(held.held.as_deref(), Some("quiet_hours"));
    let opens = policy
        .quiet
        .next_open(&policy.zones_of(lead), agenthost_core::now_ms())
        .unwrap();
    assert!(
        (opens..opens + agenthost_pipeline::policy::RELEASE_JITTER_MS)
            .contains(&held.next_attempt_at_ms),
        "released when the window opens, with jitter: {held:?}"
    );
}

#[tokio::test]
async fn a_backlog_leaves_at_the_senders_pace() {
    let policy = SendPolicy {
        sender_segments_per_minute: 600,
        ..SendPolicy::default()
    };
    let rows: Vec<NewOutbound> = (0..20)
        .map(|i| row(&format!("r{i:02}"), &format!("+1312555{i:04}"), false))
        .collect();
    let h = start_with(rows, policy, Duration::from_secs(60), |_| {}).await;
    let sent = h
        .twilio
        .wait_for_accepted(20, Duration::from_secs(30))
        .await;
    h.stop().await;
    assert_eq!(sent.len(), 20);
    let span = sent.last().unwrap().at - sent.first().unwrap().at;
    // 600 segments a minute is one every 100 ms: 20 texts take at least 1.9 s.
    assert!(span >= Duration::from_millis(1_800), "{span:?}");
    // Each text leaves on its own slot, 100 ms apart; arrivals carry the HTTP path's
    // jitter, so no one-second window holds more than the ten a second allows, plus one.
    for (i, t) in sent.iter().enumerate() {
        let n = sent[i..]
            .iter()
            .take_while(|u| u.at - t.at < Duration::from_secs(1))
            .count();
        let offsets: Vec<u128> = sent
            .iter()
            .map(|u| (u.at - sent[0].at).as_millis())
            .collect();
        assert!(
            n <= 11,
            "{n} texts within a second at 10 a second; arrivals (ms): {offsets:?}"
        );
    }
}

#[tokio::test]
async fn status_callbacks_only_move_a_message_forward() {
    let h = start(1, Duration::from_secs(60), |_| {}).await;
    let sent = h.twilio.wait_for_accepted(1, Duration::from_secs(10)).await;
    let sid = sent[0].sid.clone().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let storage = h.storage.clone();
    h.stop().await;
    let policy = SendPolicy::default();
    let metrics = agenthost_pipeline::metrics::PipelineMetrics::default();
    let record = |status: &'static str| {
        let (storage, policy, metrics, sid) = (&storage, &policy, &metrics, sid.clone());
        async move {
            agenthost_pipeline::delivery::record(storage, policy, metrics, &sid, status, None, 1)
                .await
                .unwrap()
        }
    };
    use agenthost_pipeline::delivery::Recorded;
    assert!(matches!(record("sent").await, Recorded::Moved { .. }));
    assert!(matches!(record("delivered").await, Recorded::Moved { .. }));
    // Late and repeated callbacks change nothing.
    assert_eq!(record("sending").await, Recorded::Unchanged);
    assert_eq!(record("sent").await, Recorded::Unchanged);
    assert_eq!(record("delivered").await, Recorded::Unchanged);
    assert_eq!(record("bogus").await, Recorded::UnknownStatus);
    let row = storage.outbox().row("ev-1#0").await.unwrap().unwrap();
    assert_eq!(row.delivery_status.as_deref(), Some("delivered"));
    assert!(
        metrics
            .render()
            .contains("agenthost_sms_delivery_total{plugin=\"echo\",status=\"delivered\"} 1")
    );
}
