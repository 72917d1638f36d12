//! The gateway end to end over loopback HTTP against a fake LLM server.

mod fake;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agenthost_llm::{AlertSink, Gateway, LlmConfig, NO_PROVIDER_MESSAGE};
use agenthost_runtime::{
    BudgetLedger, ChatMessage, ChatRole, Clock, CompletionRequest, LlmCaller, LlmError, LlmGateway,
    MemoryLedger,
};
use fake::{ANTHROPIC, FakeLlm, GEMINI, OPENAI, Reply};
use serde_json::json;

const ANTHROPIC_KEY: &str = "sk-ant-test-SECRET-1";
const OPENAI_KEY: &str = "sk-openai-test-SECRET-2";
const GOOGLE_KEY: &str = "google-test-SECRET-3";
const PLUGIN: &str = "landlord-rep";
/// 2025-01-01T23:00:00Z: an hour before a UTC midnight.
const START_MS: u64 = 1_735_772_400_000;

struct FakeClock(AtomicU64);

impl FakeClock {
    fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A host alert as raised: kind, severity, message, fields.
type HostAlert = (String, String, String, Vec<(String, String)>);

/// Plugin alerts (kind, severity, plugin, message), then host alerts.
#[derive(Default)]
struct Alerts(
    Mutex<Vec<(String, String, String, String)>>,
    Mutex<Vec<HostAlert>>,
);

impl AlertSink for Alerts {
    fn raise(&self, alert: agenthost_core::HostAlert) {
        let (kind, severity) = (alert.kind.to_string(), alert.severity.to_string());
        match alert.plugin {
            Some(plugin) => self
                .0
                .lock()
                .unwrap()
                .push((kind, severity, plugin, alert.message)),
            None => self
                .1
                .lock()
                .unwrap()
                .push((kind, severity, alert.message, alert.fields)),
        }
    }
}

impl Alerts {
    fn host(&self) -> Vec<HostAlert> {
        self.1.lock().unwrap().clone()
    }
}

struct Harness {
    fake: FakeLlm,
    gateway: Arc<Gateway>,
    clock: Arc<FakeClock>,
    alerts: Arc<Alerts>,
    config: LlmConfig,
    ledger: Arc<MemoryLedger>,
}

/// All three providers pointed at one fake, plus `vars` (which win).
async fn harness(vars: &[(&str, &str)]) -> Harness {
    let fake = FakeLlm::start().await;
    let mut map: BTreeMap<String, String> = [
        ("ANTHROPIC_API_KEY", ANTHROPIC_KEY),
        ("OPENAI_API_KEY", OPENAI_KEY),
        ("GOOGLE_API_KEY", GOOGLE_KEY),
        ("ANTHROPIC_MODEL", "claude-test"),
        ("OPENAI_MODEL", "gpt-test"),
        ("GEMINI_MODEL", "gemini-test"),
        ("AGENTHOST_LLM_BACKOFF_BASE_MS", "10"),
        ("AGENTHOST_LLM_BACKOFF_CAP_MS", "40"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for var in ["ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "GEMINI_BASE_URL"] {
        map.insert(var.into(), fake.url.clone());
    }
    for (k, v) in vars {
        map.insert((*k).into(), (*v).into());
    }
    let config = LlmConfig::from_lookup(|k| map.get(k).cloned()).unwrap();
    let clock = Arc::new(FakeClock(AtomicU64::new(START_MS)));
    let alerts = Arc::new(Alerts::default());
    let ledger = Arc::new(MemoryLedger::default());
    let gateway = Arc::new(
        Gateway::new(
            config.clone(),
            clock.clone(),
            ledger.clone(),
            alerts.clone(),
        )
        .unwrap(),
    );
    Harness {
        fake,
        gateway,
        clock,
        alerts,
        config,
        ledger,
    }
}

/// The active version of `plugin` calling.
fn caller(plugin: &str) -> LlmCaller<'_> {
    LlmCaller {
        plugin,
        budget_subject: plugin,
    }
}

fn conversation() -> CompletionRequest {
    CompletionRequest {
        system: Some("You are the landlord's rep.".into()),
        messages: vec![
            ChatMessage {
                role: ChatRole::User,
                content: "Hi, is the flat free?".into(),
            },
            ChatMessage {
                role: ChatRole::Assistant,
                content: "Yes! When can you view?".into(),
            },
            ChatMessage {
                role: ChatRole::User,
                content: "Tomorrow at 5".into(),
            },
        ],
        max_tokens: 200,
        temperature: Some(0.5),
    }
}

fn secs(n: u64) -> Instant {
    Instant::now() + Duration::from_secs(n)
}

impl Harness {
    async fn complete(&self, deadline: Instant) -> Result<agenthost_runtime::Completion, LlmError> {
        self.gateway
            .complete(&caller(PLUGIN), conversation(), deadline)
            .await
    }
}

#[tokio::test]
async fn anthropic_wire_format() {
    let h = harness(&[("AGENTHOST_LLM_CHAIN", "anthropic")]).await;
    h.fake.script(ANTHROPIC, [Reply::ok("See you at 5", 42, 7)]);
    let c = h.complete(secs(5)).await.unwrap();
    assert_eq!(
        (c.text.as_str(), c.provider.as_str(), c.model.as_str()),
        ("See you at 5", "anthropic", "claude-test")
    );
    assert_eq!((c.input_tokens, c.output_tokens), (42, 7));
    let [r] = h.fake.requests().try_into().unwrap();
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.headers["x-api-key"], ANTHROPIC_KEY);
    assert_eq!(r.headers["anthropic-version"], "2023-06-01");
    assert!(r.headers["content-type"].starts_with("application/json"));
    assert_eq!(
        r.body,
        json!({
            "model": "claude-test",
            "max_tokens": 200,
            "system": "You are the landlord's rep.",
            "messages": [
                {"role": "user", "content": "Hi, is the flat free?"},
                {"role": "assistant", "content": "Yes! When can you view?"},
                {"role": "user", "content": "Tomorrow at 5"}
            ],
            "temperature": 0.5
        })
    );
}

#[tokio::test]
async fn openai_wire_format() {
    let h = harness(&[("AGENTHOST_LLM_CHAIN", "openai")]).await;
    h.fake.script(OPENAI, [Reply::ok("See you at 5", 40, 6)]);
    let c = h.complete(secs(5)).await.unwrap();
    assert_eq!(
        (c.text.as_str(), c.provider.as_str(), c.model.as_str()),
        ("See you at 5", "openai", "gpt-test")
    );
    assert_eq!((c.input_tokens, c.output_tokens), (40, 6));
    let [r] = h.fake.requests().try_into().unwrap();
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.headers["authorization"], format!("Bearer {OPENAI_KEY}"));
    assert_eq!(
        r.body,
        json!({
            "model": "gpt-test",
            "messages": [
                {"role": "system", "content": "You are the landlord's rep."},
                {"role": "user", "content": "Hi, is the flat free?"},
                {"role": "assistant", "content": "Yes! When can you view?"},
                {"role": "user", "content": "Tomorrow at 5"}
            ],
            "max_tokens": 200,
            "temperature": 0.5
        })
    );
}

#[tokio::test]
async fn gemini_wire_format() {
    let h = harness(&[("AGENTHOST_LLM_CHAIN", "gemini")]).await;
    h.fake.script(GEMINI, [Reply::ok("See you at 5", 38, 5)]);
    let c = h.complete(secs(5)).await.unwrap();
    assert_eq!(
        (c.text.as_str(), c.provider.as_str(), c.model.as_str()),
        ("See you at 5", "gemini", "gemini-test")
    );
    assert_eq!((c.input_tokens, c.output_tokens), (38, 5));
    let [r] = h.fake.requests().try_into().unwrap();
    assert_eq!(r.path, "/v1beta/models/gemini-test:generateContent");
    assert_eq!(r.query, None, "the key travels in a header, not the URL");
    assert_eq!(r.headers["x-goog-api-key"], GOOGLE_KEY);
    assert_eq!(
        r.body,
        json!({
            "systemInstruction": {"parts": [{"text": "You are the landlord's rep."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "Hi, is the flat free?"}]},
                {"role": "model", "parts": [{"text": "Yes! When can you view?"}]},
                {"role": "user", "parts": [{"text": "Tomorrow at 5"}]}
            ],
            "generationConfig": {"maxOutputTokens": 200, "temperature": 0.5}
        })
    );
}

#[tokio::test]
async fn omits_absent_system_and_temperature() {
    let h = harness(&[("AGENTHOST_LLM_CHAIN", "anthropic")]).await;
    let mut req = conversation();
    req.system = None;
    req.temperature = None;
    h.gateway
        .complete(&caller(PLUGIN), req, secs(5))
        .await
        .unwrap();
    let body = &h.fake.requests()[0].body;
    assert!(
        body.get("system").is_none() && body.get("temperature").is_none(),
        "{body}"
    );
}

#[tokio::test]
async fn retries_then_fails_over_on_429_and_5xx() {
    let h = harness(&[
        ("AGENTHOST_LLM_CHAIN", "anthropic,gemini,openai"),
        ("AGENTHOST_LLM_MAX_RETRIES", "2"),
    ])
    .await;
    h.fake.set_default(ANTHROPIC, Reply::retry_after(429, 0));
    h.fake.set_default(GEMINI, Reply::status(529));
    let c = h.complete(secs(10)).await.unwrap();
    assert_eq!(c.provider, "openai");
    assert_eq!(h.fake.count(ANTHROPIC), 3, "first attempt + 2 retries");
    assert_eq!(h.fake.count(GEMINI), 3);
    assert_eq!(h.fake.count(OPENAI), 1);
    // Every attempt carried the same conversation.
    let bodies: Vec<_> = h
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.provider == ANTHROPIC)
        .map(|r| r.body)
        .collect();
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn a_retry_can_succeed_on_the_same_provider() {
    let h = harness(&[("AGENTHOST_LLM_CHAIN", "anthropic,openai")]).await;
    h.fake
        .script(ANTHROPIC, [Reply::status(500), Reply::status(503)]);
    let c = h.complete(secs(10)).await.unwrap();
    assert_eq!(c.provider, "anthropic");
    assert_eq!(h.fake.count(ANTHROPIC), 3);
    assert_eq!(h.fake.count(OPENAI), 0);
}

#[tokio::test]
async fn other_4xx_fails_over_without_retry() {
    let h = harness(&[("AGENTHOST_LLM_CHAIN", "anthropic,openai")]).await;
    h.fake.set_default(ANTHROPIC, Reply::status(400));
    let c = h.complete(secs(10)).await.unwrap();
    assert_eq!(c.provider, "openai");
    assert_eq!(h.fake.count(ANTHROPIC), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let h = harness(&[("AGENTHOST_LLM_CHAIN", "anthropic,openai")]).await;
    h.fake.script(ANTHROPIC, [Reply::retry_after(429, 1)]);
    let start = Instant::now();
    let c = h.complete(secs(10)).await.unwrap();
    assert_eq!(c.provider, "anthropic");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn never_sleeps_past_the_deadline() {
    let h = harness(&[("AGENTHOST_LLM_CHAIN", "anthropic,openai")]).await;
    h.fake.script(ANTHROPIC, [Reply::retry_after(429, 30)]);
    let start = Instant::now();
    let c = h.complete(secs(3)).await.unwrap();
    assert_eq!(
        c.provider, "openai",
        "a 30 s Retry-After past a 3 s deadline fails over at once"
    );
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(h.fake.count(ANTHROPIC), 1);
}

#[tokio::test]
async fn all_providers_failing_is_failed_naming_each() {
    let h = harness(&[
        ("AGENTHOST_LLM_CHAIN", "anthropic,openai"),
        ("AGENTHOST_LLM_MAX_RETRIES", "0"),
    ])
    .await;
    h.fake.set_default(ANTHROPIC, Reply::status(500));
    h.fake.set_default(OPENAI, Reply::status(401));
    let Err(LlmError::Failed(summary)) = h.complete(secs(5)).await else {
        panic!("expected Failed")
    };
    assert!(
        summary.contains("anthropic: server error (HTTP 500)"),
        "{summary}"
    );
    assert!(
        summary.contains("openai: request rejected (HTTP 401)"),
        "{summary}"
    );
    assert!(!summary.contains("SECRET"), "{summary}");
}

#[tokio::test]
async fn breaker_opens_skips_half_opens_and_closes() {
    let h = harness(&[
        ("AGENTHOST_LLM_CHAIN", "anthropic,openai"),
        ("AGENTHOST_LLM_MAX_RETRIES", "0"),
        ("AGENTHOST_LLM_BREAKER_FAILURES", "3"),
        ("AGENTHOST_LLM_BREAKER_COOLDOWN_SECS", "30"),
    ])
    .await;
    h.fake.set_default(ANTHROPIC, Reply::status(503));
    for _ in 0..3 {
        assert_eq!(h.complete(secs(5)).await.unwrap().provider, "openai");
    }
    assert_eq!(h.fake.count(ANTHROPIC), 3);
    // Open: anthropic is skipped, no request reaches it.
    for _ in 0..3 {
        assert_eq!(h.complete(secs(5)).await.unwrap().provider, "openai");
    }
    assert_eq!(h.fake.count(ANTHROPIC), 3);
    assert!(
        h.gateway
            .render_prometheus()
            .contains("agenthost_llm_breaker_open{provider=\"anthropic\",model=\"claude-test\"} 1")
    );

    // Cool-down over: one probe; it fails, so the breaker re-opens.
    h.clock.advance(Duration::from_secs(30));
    assert_eq!(h.complete(secs(5)).await.unwrap().provider, "openai");
    assert_eq!(h.fake.count(ANTHROPIC), 4);
    assert_eq!(h.complete(secs(5)).await.unwrap().provider, "openai");
    assert_eq!(
        h.fake.count(ANTHROPIC),
        4,
        "re-opened after the failed probe"
    );

    // Next cool-down: the probe succeeds and the breaker closes.
    h.clock.advance(Duration::from_secs(30));
    h.fake.set_default(ANTHROPIC, Reply::ok("back", 1, 1));
    assert_eq!(h.complete(secs(5)).await.unwrap().provider, "anthropic");
    assert_eq!(h.complete(secs(5)).await.unwrap().provider, "anthropic");
    assert_eq!(h.fake.count(ANTHROPIC), 6);
}

#[tokio::test]
async fn breaker_opening_and_closing_alert_once_each() {
    let h = harness(&[
        ("AGENTHOST_LLM_CHAIN", "anthropic,openai"),
        ("AGENTHOST_LLM_MAX_RETRIES", "0"),
        ("AGENTHOST_LLM_BREAKER_FAILURES", "3"),
        ("AGENTHOST_LLM_BREAKER_COOLDOWN_SECS", "30"),
    ])
    .await;
    h.fake.set_default(ANTHROPIC, Reply::status(503));
    for _ in 0..2 {
        h.complete(secs(5)).await.unwrap();
    }
    assert_eq!(h.alerts.host(), [], "two failures do not open the breaker");
    // The third opens it; calls while open and a failed probe are the same outage.
    for _ in 0..4 {
        h.complete(secs(5)).await.unwrap();
    }
    h.clock.advance(Duration::from_secs(30));
    h.complete(secs(5)).await.unwrap();
    assert_eq!(
        h.fake.count(ANTHROPIC),
        4,
        "three failures and a failed probe"
    );
    let host = h.alerts.host();
    assert_eq!(host.len(), 1, "{host:#?}");
    let (kind, severity, message, fields) = &host[0];
    assert_eq!(
        (kind.as_str(), severity.as_str(), message.as_str()),
        (
            "dependency_down",
            "critical",
            "dependency llm:anthropic is down: circuit breaker open after 3 consecutive failures"
        )
    );
    let field = |fields: &[(String, String)], name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} in {fields:?}"))
    };
    assert_eq!(fields[0], ("dependency".into(), "llm:anthropic".into()));
    assert_eq!(field(fields, "since_ms"), START_MS.to_string());
    assert_eq!(field(fields, "model"), "claude-test");
    assert!(field(fields, "error").contains("HTTP 503"), "{fields:?}");

    // The next probe succeeds: closed, one restored alert with the outage.
    h.clock.advance(Duration::from_secs(30));
    h.fake.set_default(ANTHROPIC, Reply::ok("back", 1, 1));
    for _ in 0..3 {
        assert_eq!(h.complete(secs(5)).await.unwrap().provider, "anthropic");
    }
    let host = h.alerts.host();
    assert_eq!(host.len(), 2, "{host:#?}");
    let (kind, severity, message, fields) = &host[1];
    assert_eq!(
        (kind.as_str(), severity.as_str(), message.as_str()),
        (
            "dependency_restored",
            "info",
            "dependency llm:anthropic is back"
        )
    );
    assert_eq!(fields[0], ("dependency".into(), "llm:anthropic".into()));
    assert_eq!(field(fields, "since_ms"), START_MS.to_string());
    assert_eq!(field(fields, "outage_ms"), "60000");
    assert_eq!(field(fields, "outage"), "1 min");
    let shown = format!("{host:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert_eq!(h.alerts.0.lock().unwrap().len(), 0, "no plugin alert");
}

#[tokio::test]
async fn every_breaker_open_is_unavailable() {
    let h = harness(&[
        ("AGENTHOST_LLM_CHAIN", "gemini"),
        ("AGENTHOST_LLM_MAX_RETRIES", "0"),
        ("AGENTHOST_LLM_BREAKER_FAILURES", "1"),
    ])
    .await;
    h.fake.set_default(GEMINI, Reply::status(500));
    assert!(matches!(
        h.complete(secs(5)).await,
        Err(LlmError::Failed(_))
    ));
    let start = Instant::now();
    let Err(LlmError::Unavailable(m)) = h.complete(secs(5)).await else {
        panic!("expected Unavailable")
    };
    assert!(m.contains("gemini"), "{m}");
    assert!(start.elapsed() < Duration::from_millis(100));
    assert_eq!(h.fake.count(GEMINI), 1);
}

#[tokio::test]
async fn concurrency_gate_bounds_in_flight_requests() {
    let h = harness(&[
        ("AGENTHOST_LLM_CHAIN", "openai"),
        ("AGENTHOST_LLM_CONCURRENCY", "2"),
    ])
    .await;
    h.fake
        .set_default(OPENAI, Reply::Delay(Duration::from_millis(200)));
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let g = h.gateway.clone();
            tokio::spawn(async move { g.complete(&caller(PLUGIN), conversation(), secs(10)).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().provider, "openai");
    }
    assert_eq!(h.fake.count(OPENAI), 6);
    assert_eq!(h.fake.max_in_flight(), 2);
}

#[tokio::test]
async fn waiting_at_the_gate_counts_against_the_deadline() {
    let h = harness(&[
        ("AGENTHOST_LLM_CHAIN", "openai"),
        ("AGENTHOST_LLM_CONCURRENCY", "1"),
    ])
    .await;
    h.fake
        .set_default(OPENAI, Reply::Delay(Duration::from_millis(800)));
    let g = h.gateway.clone();
    let first =
        tokio::spawn(async move { g.complete(&caller(PLUGIN), conversation(), secs(10)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    let second = h
        .complete(Instant::now() + Duration::from_millis(300))
        .await;
    assert_eq!(second, Err(LlmError::Timeout));
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
    assert!(first.await.unwrap().is_ok());
    assert_eq!(
        h.fake.count(OPENAI),
        1,
        "the second call never got a permit"
    );
}

#[tokio::test]
async fn a_hanging_provider_times_out_at_the_deadline() {
    let h = harness(&[("AGENTHOST_LLM_CHAIN", "anthropic,openai")]).await;
    h.fake.set_default(ANTHROPIC, Reply::Hang);
    let start = Instant::now();
    let r = h
        .complete(Instant::now() + Duration::from_millis(500))
        .await;
    let took = start.elapsed();
    assert_eq!(r, Err(LlmError::Timeout));
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(750),
        "{took:?}"
    );
    assert_eq!(h.fake.count(OPENAI), 0);
}

#[tokio::test]
async fn budget_exhaustion_refuses_and_alerts_once_per_day() {
    let h = harness(&[
        ("AGENTHOST_LLM_CHAIN", "anthropic"),
        ("AGENTHOST_LLM_DAILY_TOKENS", "1000000"),
        ("AGENTHOST_LLM_PLUGIN_DAILY_TOKENS", "landlord-rep:100"),
    ])
    .await;
    h.fake.set_default(ANTHROPIC, Reply::ok("ok", 60, 60));
    assert!(h.complete(secs(5)).await.is_ok(), "0 of 100 spent");
    for _ in 0..3 {
        let start = Instant::now();
        assert_eq!(h.complete(secs(5)).await, Err(LlmError::BudgetExhausted));
        assert!(start.elapsed() < Duration::from_millis(50));
    }
    assert_eq!(h.fake.count(ANTHROPIC), 1);
    {
        let alerts = h.alerts.0.lock().unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let (kind, severity, plugin, message) = &alerts[0];
        assert_eq!(
            (kind.as_str(), severity.as_str(), plugin.as_str()),
            ("llm_budget_exhausted", "warning", PLUGIN)
        );
        assert!(message.contains("120 of 100"), "{message}");
    }
    // Another plugin has its own budget.
    assert!(
        h.gateway
            .complete(&caller("locator"), conversation(), secs(5))
            .await
            .is_ok()
    );

    // A shadow candidate spends its own budget, never the active version's.
    let shadow = LlmCaller {
        plugin: PLUGIN,
        budget_subject: "landlord-rep@shadow",
    };
    assert!(
        h.gateway
            .complete(&shadow, conversation(), secs(5))
            .await
            .is_ok()
    );
    assert_eq!(
        h.gateway.complete(&shadow, conversation(), secs(5)).await,
        Err(LlmError::BudgetExhausted)
    );

    // Another replica (another gateway on the same ledger) sees the same spent budget
    // and raises no second alert.
    let replica = Gateway::new(
        h.config.clone(),
        h.clock.clone(),
        h.ledger.clone(),
        h.alerts.clone(),
    )
    .unwrap();
    assert_eq!(
        replica
            .complete(&caller(PLUGIN), conversation(), secs(5))
            .await,
        Err(LlmError::BudgetExhausted)
    );
    assert_eq!(
        h.fake.count(ANTHROPIC),
        3,
        "first, locator's, the shadow's first"
    );
    assert_eq!(
        h.alerts.0.lock().unwrap().len(),
        2,
        "one per subject and day"
    );

    // UTC midnight: a fresh budget, and a fresh alert when it runs out again.
    h.clock.advance(Duration::from_secs(3_600));
    assert!(h.complete(secs(5)).await.is_ok());
    assert_eq!(h.complete(secs(5)).await, Err(LlmError::BudgetExhausted));
    assert_eq!(h.alerts.0.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn max_tokens_never_asks_for_more_than_the_budget_has_left() {
    let h = harness(&[
        ("AGENTHOST_LLM_CHAIN", "openai"),
        ("AGENTHOST_LLM_PLUGIN_DAILY_TOKENS", "landlord-rep:1000"),
    ])
    .await;
    let day = agenthost_runtime::utc_day(START_MS);
    h.ledger
        .charge(PLUGIN, agenthost_runtime::Budget::LlmTokens, day, 950)
        .await
        .unwrap();
    h.fake.set_default(OPENAI, Reply::ok("ok", 10, 5));
    h.complete(secs(5)).await.unwrap();
    let body = h
        .fake
        .requests()
        .into_iter()
        .rfind(|r| r.provider == OPENAI)
        .expect("a request reached the provider")
        .body;
    assert_eq!(body["max_tokens"], 50, "200 asked, 50 left: {body}");
    assert_eq!(
        h.ledger
            .spent(PLUGIN, agenthost_runtime::Budget::LlmTokens, day)
            .await
            .unwrap(),
        965,
        "the call's 15 tokens are in the durable count"
    );
}

#[tokio::test]
async fn no_provider_is_unavailable_at_once() {
    let config = LlmConfig::from_lookup(|_| None).unwrap();
    let gateway = Gateway::new(
        config,
        Arc::new(agenthost_runtime::SystemClock),
        Arc::new(MemoryLedger::default()),
        Arc::new(agenthost_llm::LogAlerts),
    )
    .unwrap();
    let start = Instant::now();
    let r = gateway
        .complete(&caller(PLUGIN), conversation(), secs(5))
        .await;
    assert_eq!(r, Err(LlmError::Unavailable(NO_PROVIDER_MESSAGE.into())));
    assert!(start.elapsed() < Duration::from_millis(50));
}

#[tokio::test]
async fn debug_output_never_contains_a_key() {
    let h = harness(&[]).await;
    let shown = format!("{:?} {:#?}", h.gateway, h.gateway);
    for key in [ANTHROPIC_KEY, OPENAI_KEY, GOOGLE_KEY] {
        assert!(!shown.contains(key), "{shown}");
    }
    assert!(shown.contains("<redacted>"));
}

#[tokio::test]
async fn tokens_and_cost_are_accounted_and_rendered() {
    let h = harness(&[
        ("AGENTHOST_LLM_CHAIN", "anthropic,openai"),
        ("AGENTHOST_LLM_MAX_RETRIES", "0"),
        ("ANTHROPIC_PRICE_INPUT_USD_PER_MTOK", "3"),
        ("ANTHROPIC_PRICE_OUTPUT_USD_PER_MTOK", "15"),
    ])
    .await;
    h.fake
        .script(ANTHROPIC, [Reply::ok("a", 1_000, 100), Reply::status(500)]);
    h.complete(secs(5)).await.unwrap();
    h.complete(secs(5)).await.unwrap();
    let snap = h.gateway.snapshot();
    let key = |p: &str, d| (PLUGIN.to_owned(), p.to_owned(), d);
    assert_eq!(
        snap.usage.tokens[&key("anthropic", agenthost_llm::Direction::Input)],
        1_000
    );
    assert_eq!(
        snap.usage.cost_micro_usd[&(PLUGIN.to_owned(), "anthropic".to_owned())],
        4_500
    );
    assert_eq!(snap.usage.budgets[PLUGIN].used_tokens, 1_115);
    let text = h.gateway.render_prometheus();
    for line in [
        "agenthost_llm_tokens_total{plugin=\"landlord-rep\",provider=\"anthropic\",direction=\"input\"} 1000",
        "agenthost_llm_tokens_total{plugin=\"landlord-rep\",provider=\"anthropic\",direction=\"output\"} 100",
        "agenthost_llm_tokens_total{plugin=\"landlord-rep\",provider=\"openai\",direction=\"output\"} 5",
        "agenthost_llm_cost_microdollars_total{plugin=\"landlord-rep\",provider=\"anthropic\"} 4500",
        "agenthost_llm_attempts_total{plugin=\"landlord-rep\",provider=\"anthropic\",outcome=\"server_error\"} 1",
        "agenthost_llm_requests_total{plugin=\"landlord-rep\",result=\"ok\"} 2",
        "# TYPE agenthost_llm_tokens_total counter",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}
