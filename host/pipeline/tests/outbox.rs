//! The outbox dispatcher against a real SQLite storage and `FakeTwilio` on loopback:
//! Twilio's health as seen from the sends, alerted once down and once restored.

use std::sync::Arc;
use std::time::Duration;

use agenthost_pipeline::outbox::Dispatcher;
use agenthost_storage::{AlertRow, Commit, EventKind, NewEvent, NewOutbound, Storage};
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
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(None, dir.path(), 4).await.unwrap();
    let now = agenthost_pipeline::now_ms();
    storage
        .insert_events(&[NewEvent {
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
    let outbound = (0..rows)
        .map(|i| NewOutbound {
            id: format!("ev-1#{i}"),
            conversation_id: None,
            to: format!("+1555000000{i}"),
            from: "+15559990000".into(),
            body: format!("hello {i}"),
            suppressed: false,
        })
        .collect();
    storage
        .commit_success(&Commit {
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
        let all = self.storage.pending_alerts(1_000).await.unwrap();
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

    let alerts = storage.pending_alerts(1_000).await.unwrap();
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
    assert_eq!(storage.pending_alerts(1_000).await.unwrap(), []);
}
