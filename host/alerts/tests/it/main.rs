//! Delivery end to end: a real SQLite `Storage` in a tempdir, the real dispatcher, real
//! HTTP on loopback to a fake Discord (and webhook) that records what it was sent.

mod direct;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agenthost_alerts::{
    AlertConfig, AlertsHandle, CHANNELS_VAR, ChannelRegistry, DISCORD_TOKEN_VAR, Dispatcher,
    ROUTES_VAR, Router,
};
use agenthost_core::{AlertKind, HostAlert, Severity};
use agenthost_storage::Storage;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "test-bot-token-7f3a";
const MARKER: &str = "… (truncated)";

/// A scripted answer for the next Discord request.
#[derive(Clone, Copy)]
enum Reply {
    RateLimited { retry_after_secs: f64 },
}

#[derive(Debug, Clone)]
struct Received {
    /// Discord channel id, or `hook` for the webhook.
    channel: String,
    content: String,
    at: Instant,
}

#[derive(Default)]
struct FakeState {
    received: Vec<Received>,
    /// Requests answered 429, with when.
    limited: Vec<Instant>,
    script: VecDeque<Reply>,
    down: bool,
    bad_auth: usize,
}

#[derive(Clone)]
struct FakeDiscord {
    base: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeDiscord {
    async fn start() -> FakeDiscord {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let app = axum::Router::new()
            .route("/api/v10/channels/{id}/messages", post(discord_message))
            .route("/hook", post(webhook))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeDiscord { base, state }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }

    fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    fn to(&self, channel: &str) -> Vec<String> {
        self.received()
            .into_iter()
            .filter(|r| r.channel == channel)
            .map(|r| r.content)
            .collect()
    }
}

async fn discord_message(
    State(state): State<Arc<Mutex<FakeState>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let mut s = state.lock().unwrap();
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bot {TOKEN}")) {
        s.bad_auth += 1;
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"message": "401: Unauthorized"}"#,
        )
            .into_response();
    }
    if s.down {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    if let Some(Reply::RateLimited { retry_after_secs }) = s.script.pop_front() {
        s.limited.push(Instant::now());
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(serde_json::json!({"message": "You are being rate limited.",
                "retry_after": retry_after_secs, "global": false})),
        )
            .into_response();
    }
    let content = body["content"].as_str().unwrap_or_default().to_owned();
    s.received.push(Received {
        channel: id,
        content,
        at: Instant::now(),
    });
    (StatusCode::OK, Json(serde_json::json!({"id": "1"}))).into_response()
}

async fn webhook(
    State(state): State<Arc<Mutex<FakeState>>>,
    Json(body): Json<serde_json::Value>,
) -> StatusCode {
    state.lock().unwrap().received.push(Received {
        channel: "hook".into(),
        content: body["text"].as_str().unwrap_or_default().to_owned(),
        at: Instant::now(),
    });
    StatusCode::NO_CONTENT
}

struct Harness {
    _dir: tempfile::TempDir,
    storage: Storage,
    discord: FakeDiscord,
    alerts: AlertsHandle,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

/// Storage, fake Discord and a running dispatcher. `vars` override the test defaults
/// (fast polling and retries, channel `ops` = Discord 111, everything routed to `ops`).
async fn start(vars: &[(&str, &str)]) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(None, dir.path(), 4).await.unwrap();
    let discord = FakeDiscord::start().await;
    run(dir, storage, discord, vars)
}

/// Starts the dispatcher over storage and a fake that tests may have prepared.
fn run(
    dir: tempfile::TempDir,
    storage: Storage,
    discord: FakeDiscord,
    vars: &[(&str, &str)],
) -> Harness {
    let config = config(&discord, vars);
    let dispatcher = Dispatcher::from_config(&config).unwrap();
    let alerts = dispatcher.handle();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(dispatcher.run(storage.alerts(), cancel.clone()));
    Harness {
        _dir: dir,
        storage,
        discord,
        alerts,
        cancel,
        task,
    }
}

/// An alert of `kind`: a host kind by its name, any other name stored as it is (routes
/// match on the text either way).
fn kind_of(kind: &str) -> AlertKind {
    AlertKind::host(kind).unwrap_or_else(|| AlertKind::Plugin(kind.to_owned()))
}

fn new_alert(kind: &str, severity: &str, message: &str) -> HostAlert {
    HostAlert::new(kind_of(kind), Severity::parse(severity), message)
        .plugin("locator")
        .version("3")
        .field("event", "SM1")
}

fn config(discord: &FakeDiscord, vars: &[(&str, &str)]) -> AlertConfig {
    let hook = format!("{}/hook", discord.base);
    let channels = format!("ops=discord:111,owner=discord:222,hook=webhook:{hook}");
    let mut all: Vec<(String, String)> = vec![
        (CHANNELS_VAR.into(), channels),
        (ROUTES_VAR.into(), "*=ops".into()),
        (DISCORD_TOKEN_VAR.into(), TOKEN.into()),
        ("AGENTHOST_DISCORD_API_BASE".into(), discord.base.clone()),
        ("AGENTHOST_ALERT_POLL_INTERVAL_MS".into(), "50".into()),
        ("AGENTHOST_ALERT_RETRY_BASE_MS".into(), "50".into()),
        ("AGENTHOST_ALERT_RETRY_CAP_MS".into(), "200".into()),
    ];
    for (k, v) in vars {
        all.retain(|(name, _)| name != k);
        all.push(((*k).into(), (*v).into()));
    }
    AlertConfig::from_lookup(|name| all.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .unwrap()
}

impl Harness {
    async fn raise(&self, kind: &str, severity: &str, message: &str) -> i64 {
        let alert = new_alert(kind, severity, message);
        let id = self
            .storage
            .alerts()
            .insert(&alert, 1_700_000_000_000)
            .await
            .unwrap();
        self.alerts.wake();
        id
    }

    async fn pending(&self) -> usize {
        self.storage.alerts().pending(100_000).await.unwrap().len()
    }

    /// Waits until nothing is pending, and the fake has seen `deliveries` messages.
    async fn drained(&self, deliveries: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.pending().await == 0 && self.discord.received().len() >= deliveries {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not drained: {} pending, received {:#?}",
                self.pending().await,
                self.discord.received()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("dispatcher stops when cancelled")
            .unwrap();
    }
}

#[tokio::test]
async fn long_alert_arrives_truncated_with_marker() {
    let h = start(&[]).await;
    let message = "lead said: ".to_owned() + &"ü".repeat(5000);
    h.raise("dead_letter", "critical", &message).await;
    h.drained(1).await;
    let got = h.discord.to("111");
    assert_eq!(got.len(), 1);
    assert!(got[0].chars().count() <= 2000, "{}", got[0].chars().count());
    assert!(got[0].ends_with(MARKER));
    assert!(got[0].starts_with("[CRITICAL] dead_letter\nlead said: üü"));
    assert_eq!(h.discord.lock().bad_auth, 0);
    h.stop().await;
}

#[tokio::test]
async fn rate_limit_is_retried_after_retry_after_and_delivered_once() {
    let h = start(&[]).await;
    h.discord.lock().script.push_back(Reply::RateLimited {
        retry_after_secs: 0.3,
    });
    h.raise("dead_letter", "critical", "worker gave up on SM1")
        .await;
    h.drained(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let limited = h.discord.lock().limited.clone();
    let received = h.discord.received();
    assert_eq!(limited.len(), 1);
    assert_eq!(received.len(), 1, "exactly once: {received:#?}");
    let waited = received[0].at - limited[0];
    assert!(
        waited >= Duration::from_millis(300),
        "retried after {waited:?}"
    );
    let counts = h.alerts.metrics().snapshot().channels["ops"];
    assert_eq!((counts.sent, counts.retried, counts.failed), (1, 1, 0));
    h.stop().await;
}

#[tokio::test]
async fn discord_outage_loses_nothing() {
    let h = start(&[]).await;
    h.discord.lock().down = true;
    for i in 0..5 {
        h.raise("sla_breach", "warning", &format!("breach {i}"))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        h.pending().await,
        5,
        "nothing is marked while Discord is down"
    );
    assert!(h.discord.received().is_empty());
    assert!(h.alerts.metrics().snapshot().channels["ops"].retried >= 2);
    h.discord.lock().down = false;
    h.drained(5).await;
    let mut got = h.discord.to("111");
    got.sort();
    let want: Vec<String> = (0..5)
        .map(|i| format!("[WARNING] sla_breach\nbreach {i}\nplugin: locator@3\nevent: SM1"))
        .collect();
    assert_eq!(got, want);
    h.stop().await;
}

#[tokio::test]
async fn identical_alerts_within_the_window_are_one_delivery_with_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(None, dir.path(), 4).await.unwrap();
    let discord = FakeDiscord::start().await;
    let mut trap = new_alert("plugin_trap", "critical", "unreachable executed");
    trap.fields.clear();
    for _ in 0..10 {
        storage.alerts().insert(&trap, 1).await.unwrap();
    }
    let h = run(dir, storage, discord, &[]);
    h.drained(1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let got = h.discord.to("111");
    assert_eq!(
        got,
        ["[CRITICAL] plugin_trap (×10 in 5 min)\nunreachable executed\nplugin: locator@3"]
    );
    assert_eq!(h.alerts.metrics().snapshot().coalesced, 9);
    h.stop().await;
}

#[tokio::test]
async fn a_plugin_flooding_alerts_gets_ten_deliveries_and_one_summary() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(None, dir.path(), 4).await.unwrap();
    let discord = FakeDiscord::start().await;
    // Thirty alerts of one plugin, each message different: coalescing by message alone
    // would send thirty.
    for i in 0..30 {
        let alert = new_alert(
            "plugin.locator.handoff",
            "warning",
            &format!("lead {i} wants a person"),
        );
        storage.alerts().insert(&alert, 1).await.unwrap();
    }
    // Another plugin is not held back by it.
    storage
        .alerts()
        .insert(
            &new_alert("plugin.insurance.handoff", "warning", "quote please"),
            1,
        )
        .await
        .unwrap();
    let h = run(
        dir,
        storage,
        discord,
        &[("AGENTHOST_ALERT_COALESCE_WINDOW_SECS", "1")],
    );
    h.drained(12).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = h.discord.to("111");
    assert_eq!(got.len(), 12, "{got:#?}");
    let singles = got
        .iter()
        .filter(|m| m.starts_with("[WARNING] plugin.locator.handoff\n"))
        .count();
    assert_eq!(singles, 10, "{got:#?}");
    let summary = got
        .iter()
        .find(|m| m.contains("plugin.locator.alert_flood"))
        .expect("one summary for the rest");
    assert!(summary.contains("(×20 in 1 s)"), "{summary}");
    assert!(summary.contains("more than 10 alerts"), "{summary}");
    assert!(got.iter().any(|m| m.contains("quote please")));
    h.stop().await;
}

#[tokio::test]
async fn repeats_after_a_delivery_wait_for_the_window_and_go_out_once() {
    let h = start(&[("AGENTHOST_ALERT_COALESCE_WINDOW_SECS", "1")]).await;
    let first = Instant::now();
    h.raise("plugin_trap", "critical", "trap").await;
    h.drained(1).await;
    for _ in 0..4 {
        h.raise("plugin_trap", "critical", "trap").await;
    }
    h.raise("plugin_trap", "critical", "a different trap").await;
    h.drained(3).await;
    let got = h.discord.received();
    assert_eq!(got.len(), 3, "{got:#?}");
    let summary = got
        .iter()
        .find(|r| r.content.contains("×4"))
        .expect("summary");
    assert!(
        summary
            .content
            .starts_with("[CRITICAL] plugin_trap (×4 in 1 s)\ntrap")
    );
    assert!(summary.at - first >= Duration::from_millis(900));
    assert!(got.iter().any(|r| r.content.contains("a different trap")));
    h.stop().await;
}

#[tokio::test]
async fn routes_send_kinds_to_their_channels_and_the_rest_to_default() {
    let h = start(&[
        (
            ROUTES_VAR,
            "dead_letter=ops;owner-report=owner;sla_escalation=owner,ops;*=hook",
        ),
        // Only a wake() brings new alerts in promptly.
        ("AGENTHOST_ALERT_POLL_INTERVAL_MS", "60000"),
    ])
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    h.raise("dead_letter", "critical", "dl").await;
    h.raise("owner-report", "info", "report").await;
    h.raise("sla_escalation", "warning", "late").await;
    h.raise("something_else", "info", "other").await;
    h.drained(5).await;
    let first_lines = |channel: &str| -> Vec<String> {
        let mut v: Vec<String> = h
            .discord
            .to(channel)
            .iter()
            .map(|c| c.lines().nth(1).unwrap_or_default().to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(first_lines("111"), ["dl", "late"]);
    assert_eq!(first_lines("222"), ["late", "report"]);
    assert_eq!(first_lines("hook"), ["other"]);
    let text = h.alerts.render_prometheus();
    assert!(
        text.contains("agenthost_alerts_sent_total{channel=\"ops\"} 2\n"),
        "{text}"
    );
    assert!(text.contains("agenthost_alerts_sent_total{channel=\"owner\"} 2\n"));
    assert!(text.contains("agenthost_alerts_sent_total{channel=\"hook\"} 1\n"));
    h.stop().await;
}

#[tokio::test]
async fn permanent_failure_marks_failed_and_other_channels_still_deliver() {
    let h = start(&[
        (DISCORD_TOKEN_VAR, "wrong-token"),
        (ROUTES_VAR, "*=ops,hook"),
    ])
    .await;
    h.raise("dead_letter", "critical", "dl").await;
    h.drained(1).await;
    assert_eq!(h.discord.to("hook").len(), 1);
    assert_eq!(h.discord.lock().bad_auth, 1, "a 401 is not retried");
    let counts = h.alerts.metrics().snapshot().channels;
    assert_eq!(counts["ops"].failed, 1);
    assert_eq!(counts["hook"].sent, 1);
    h.stop().await;
}

#[tokio::test]
async fn backlog_over_the_bound_sheds_oldest_info_never_critical() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(None, dir.path(), 4).await.unwrap();
    let discord = FakeDiscord::start().await;
    discord.lock().down = true;
    // Stored while no dispatcher ran (an outage): 3 critical between 10 info.
    for i in 0..5 {
        storage
            .alerts()
            .insert(&new_alert("owner-report", "info", &format!("info {i}")), 1)
            .await
            .unwrap();
    }
    for i in 0..3 {
        storage
            .alerts()
            .insert(
                &new_alert("dead_letter", "critical", &format!("critical {i}")),
                1,
            )
            .await
            .unwrap();
    }
    for i in 5..10 {
        storage
            .alerts()
            .insert(&new_alert("owner-report", "info", &format!("info {i}")), 1)
            .await
            .unwrap();
    }
    let h = run(
        dir,
        storage,
        discord,
        &[("AGENTHOST_ALERT_MAX_PENDING", "5")],
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.alerts.metrics().snapshot().dropped == 0 {
        assert!(Instant::now() < deadline, "never shed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(h.alerts.metrics().snapshot().dropped, 8);
    assert_eq!(h.pending().await, 5);
    h.discord.lock().down = false;
    h.drained(5).await;
    let mut got: Vec<String> = h
        .discord
        .to("111")
        .iter()
        .map(|c| c.lines().nth(1).unwrap_or_default().to_owned())
        .collect();
    got.sort();
    assert_eq!(
        got,
        ["critical 0", "critical 1", "critical 2", "info 8", "info 9"]
    );
    assert!(
        h.alerts
            .render_prometheus()
            .contains("agenthost_alerts_dropped_total 8\n")
    );
    h.stop().await;
}

#[test]
fn router_errors_name_the_variable() {
    let lookup = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let config = AlertConfig::from_lookup(lookup(&[(CHANNELS_VAR, "x=carrier-pigeon")])).unwrap();
    let registry = ChannelRegistry::builtin(&config).unwrap();
    let e = Router::build(&config, &registry).err().unwrap();
    assert_eq!(e.var, CHANNELS_VAR);
    assert!(e.message.contains("carrier-pigeon"), "{e}");

    let config = AlertConfig::from_lookup(lookup(&[
        (CHANNELS_VAR, "ops=discord:general"),
        (DISCORD_TOKEN_VAR, "t"),
    ]))
    .unwrap();
    let e = Router::build(&config, &ChannelRegistry::builtin(&config).unwrap())
        .err()
        .unwrap();
    assert_eq!(e.var, CHANNELS_VAR);

    let e = AlertConfig::from_lookup(lookup(&[
        (CHANNELS_VAR, "ops=log"),
        (ROUTES_VAR, "*=ops,gone"),
    ]))
    .unwrap_err();
    assert_eq!(e.var, ROUTES_VAR);
    assert!(e.to_string().starts_with("AGENTHOST_ALERT_ROUTES: "), "{e}");

    let config = AlertConfig::from_lookup(lookup(&[
        (CHANNELS_VAR, "ops=discord:1"),
        (DISCORD_TOKEN_VAR, TOKEN),
    ]))
    .unwrap();
    assert!(!format!("{config:?}").contains(TOKEN));
    assert!(!format!("{config:#?}").contains(TOKEN));
}
