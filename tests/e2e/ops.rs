//! Operating the host: /metrics, alerts through a fake Discord, exactly one alert per
//! trap, readiness through drains and dependency outages, SIGTERM under load, config that
//! fails fast, and secrets that never reach a log line.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::harness::*;

on_both_setups!(
    metrics_expose_the_pipeline,
    a_plugin_trap_produces_exactly_one_alert,
    sigterm_under_load_drains_and_loses_nothing,
);

const WAIT: Duration = Duration::from_secs(30);

fn sid(n: usize) -> String {
    format!("SM{n:032}")
}

async fn metrics_expose_the_pipeline(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo"), ("test-trap", "trap")]).await;
    let host = world.start(&[("AGENTHOST_PLUGIN_LIMITS", "trap:attempts=2")]);
    host.ready().await;
    host.post_sms(&sid(1), LEAD, AGENT_NUMBER, "count me").await;
    host.post_sms(&sid(2), LEAD, TRAP_NUMBER, "trap me").await;
    world.twilio.wait_for(1, WAIT).await;
    let text = eventually(WAIT, || async {
        let (status, text) = host.get("/metrics").await;
        assert_eq!(status, 200);
        text.contains("agenthost_dead_letters_total{plugin=\"trap\"} 1")
            .then_some(text)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "metrics never showed the dead letter; log:\n{}",
            host.logs()
        )
    });
    for needle in [
        "agenthost_build_info{version=\"0.1.0\"",
        "agenthost_invocations_total{plugin=\"echo\",outcome=\"ok\"} 1",
        "agenthost_invocations_total{plugin=\"trap\",outcome=\"trap\"} 2",
        "agenthost_invocation_duration_seconds_count{plugin=\"echo\"} 1",
        "agenthost_fuel_used_total{plugin=\"echo\"}",
        "agenthost_retries_total{plugin=\"trap\"} 1",
        "agenthost_queue_depth{lane=\"echo\"} 0",
        "agenthost_outbox_pending 0",
        "agenthost_http_requests_total{route=\"/twilio/sms\",method=\"POST\",status=\"200\"} 2",
        "agenthost_http_requests_total{route=\"/readyz\",method=\"GET\",status=\"200\"}",
        "# TYPE agenthost_scheduler_lateness_seconds histogram",
        "agenthost_alerts_",
        "agenthost_llm_",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

async fn a_plugin_trap_produces_exactly_one_alert(setup: Setup) {
    let world = World::new(setup, &[("test-trap", "trap")]).await;
    let host = world.start(&[("AGENTHOST_PLUGIN_LIMITS", "trap:attempts=3")]);
    host.ready().await;
    host.post_sms(&sid(10), LEAD, TRAP_NUMBER, "boom").await;
    let storage = world.storage().await;
    eventually(WAIT, || async {
        let dead = storage.events().dead_letters(10).await.ok()?;
        (!dead.is_empty()).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("never dead-lettered; log:\n{}", host.logs()));
    let alerts = storage.alerts().recent(50).await.unwrap();
    let traps: Vec<_> = alerts.iter().filter(|a| a.kind == "plugin_trap").collect();
    assert_eq!(
        traps.len(),
        1,
        "three traps of one event, one alert: {alerts:?}"
    );
    assert_eq!(traps[0].plugin.as_deref(), Some("trap"));
    assert!(
        traps[0].message.contains("sms:") && traps[0].message.contains("trap"),
        "{}",
        traps[0].message
    );
    assert_eq!(alerts.iter().filter(|a| a.kind == "dead_letter").count(), 1);
    assert!(world.twilio.requests().is_empty());
}

async fn sigterm_under_load_drains_and_loses_nothing(setup: Setup) {
    let world = World::new(setup, &[("echo", "echo")]).await;
    let mut host = world.start(&[("AGENTHOST_DRAIN_DELAY_MS", "1500")]);
    host.ready().await;
    const N: usize = 40;
    for n in 0..N {
        let (status, _) = host
            .post_sms(
                &sid(100 + n),
                &format!("+1555300{n:04}"),
                AGENT_NUMBER,
                &format!("drain {n}"),
            )
            .await;
        assert_eq!(status, 200);
    }
    host.terminate();
    // Readiness turns 503 at once while webhooks are still taken during the delay.
    let draining = eventually(Duration::from_secs(1), || async {
        let (status, body) = host.get("/readyz").await;
        (status == 503 && body.contains("draining")).then_some(())
    })
    .await;
    assert!(draining.is_some(), "readyz did not report draining");
    let (status, _) = host
        .post_sms(&sid(100 + N), "+15553009999", AGENT_NUMBER, "late")
        .await;
    assert_eq!(
        status, 200,
        "webhooks are still accepted during the drain delay"
    );
    let code = host.wait_exit(Duration::from_secs(40)).await;
    assert_eq!(code, Some(0), "drains and exits 0; log:\n{}", host.logs());
    assert!(host.logs().contains("drain"), "the drain is logged");
    // Whatever did not finish is done by the next start, exactly once.
    let host = world.start(&[]);
    host.ready().await;
    let sent = world.twilio.wait_for(N + 1, WAIT).await;
    assert_eq!(sent.len(), N + 1, "log:\n{}", host.logs());
    let bodies: HashSet<_> = sent.iter().map(|s| s.body.clone()).collect();
    assert_eq!(bodies.len(), N + 1, "no reply twice");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(world.twilio.requests().len(), N + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    let world = World::new(Setup::Embedded, &[("echo", "echo")]).await;
    let mut host = world.start(&[("AGENTHOST_DRAIN_DELAY_MS", "30000")]);
    host.ready().await;
    host.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(host.get("/readyz").await.0, 503, "draining");
    let started = Instant::now();
    host.terminate();
    let code = host.wait_exit(Duration::from_secs(5)).await;
    assert_eq!(code, Some(130), "log:\n{}", host.logs());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "at once, not after the drain delay"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_storage_and_a_broker_outage_only_shows_in_detail() {
    let world = World::new(Setup::Distributed, &[("echo", "echo")]).await;
    let pg = Outage::proxy("127.0.0.1:5432").await;
    let mq = Outage::proxy("127.0.0.1:5672").await;
    let db = world
        .database_url
        .as_deref()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let host = world.start(&[
        (
            "AGENTHOST_DATABASE_URL",
            &format!("postgres://postgres@127.0.0.1:{}/{db}", pg.port),
        ),
        (
            "AGENTHOST_QUEUE_URL",
            &format!("amqp://guest:guest@127.0.0.1:{}/%2f", mq.port),
        ),
    ]);
    host.ready().await;
    // Storage down: this replica cannot accept a message durably, so it takes itself out
    // of the load balancer.
    pg.set_down(true);
    let down = eventually(Duration::from_secs(15), || async {
        let (status, body) = host.get("/readyz").await;
        (status == 503 && body.contains("storage unreachable")).then_some(())
    })
    .await;
    assert!(
        down.is_some(),
        "readyz never said storage unreachable; log:\n{}",
        host.logs()
    );
    let (status, _) = host.get("/healthz").await;
    assert_eq!(status, 200, "liveness does not depend on dependencies");
    pg.set_down(false);
    let up = eventually(Duration::from_secs(30), || async {
        (host.get("/readyz").await.0 == 200).then_some(())
    })
    .await;
    assert!(
        up.is_some(),
        "readyz never recovered; log:\n{}",
        host.logs()
    );

    // Broker down: the replica stays ready (a message is accepted once stored) and says
    // what is wrong in the detail; a text that arrives now is answered 200 and its reply
    // goes out once the broker is back.
    mq.set_down(true);
    let detail = eventually(Duration::from_secs(15), || async {
        let (status, body) = host.get("/readyz").await;
        (status == 200 && body.contains("\"queue\":\"unreachable")).then_some(body)
    })
    .await;
    assert!(
        detail.is_some(),
        "readyz detail never showed the queue; log:\n{}",
        host.logs()
    );
    let (status, _) = host
        .post_sms(&sid(299), LEAD, AGENT_NUMBER, "during the broker outage")
        .await;
    assert_eq!(
        status, 200,
        "a stored message is accepted whatever the broker does"
    );
    mq.set_down(false);
    let sent = world.twilio.wait_for(1, Duration::from_secs(60)).await;
    assert_eq!(sent.len(), 1, "log:\n{}", host.logs());
    assert_eq!(sent[0].body, "echo: during the broker outage");

    // And the message path works as before.
    host.post_sms(&sid(300), LEAD, AGENT_NUMBER, "after the outages")
        .await;
    let sent = world.twilio.wait_for(2, WAIT).await;
    assert_eq!(sent.len(), 2, "log:\n{}", host.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_config_fails_fast_naming_the_variable() {
    for (var, value) in [
        ("AGENTHOST_LISTEN", "not-an-address"),
        ("AGENTHOST_DEFAULT_FUEL", "lots"),
        ("AGENTHOST_DATABASE_URL", "mysql://x"),
        ("AGENTHOST_ROUTES", "5550001111=echo"),
        ("AGENTHOST_AUTO_ROLLBACK", "rate=2"),
        ("AGENTHOST_ALERT_CHANNELS", "ops=pager:1"),
        // A typo is not a default: the host names it and what it meant.
        ("AGENTHOST_QUIET_HOUR", "10:00-18:00"),
    ] {
        let data = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_agenthost"))
            .arg("serve")
            .env_clear()
            .env("AGENTHOST_DATA_DIR", data.path())
            .env("AGENTHOST_LISTEN", "127.0.0.1:0")
            .env("AGENTHOST_ADMIN_LISTEN", "127.0.0.1:0")
            .env(
                "TWILIO_ACCOUNT_SID",
                agenthost_twilio::fake::FAKE_ACCOUNT_SID,
            )
            .env("TWILIO_AUTH_TOKEN", agenthost_twilio::fake::FAKE_AUTH_TOKEN)
            .env(var, value)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(5) {
                child.kill().unwrap();
                panic!("{var}={value} did not stop start-up");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(78), "{var}={value}: {stderr}");
        assert!(stderr.contains(var), "{var}: {stderr}");
        if var == "AGENTHOST_QUIET_HOUR" {
            assert!(
                stderr.contains("did you mean AGENTHOST_QUIET_HOURS?"),
                "{stderr}"
            );
        }
    }
    // Missing required Twilio credentials.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_agenthost"))
        .arg("serve")
        .env_clear()
        .env("AGENTHOST_DATA_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("TWILIO_ACCOUNT_SID"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_any_log_line() {
    let world = World::new(Setup::Distributed, &[("echo", "echo")]).await;
    let discord = FakeDiscord::start().await;
    const DB_PASSWORD: &str = "pg-pass-7f3a91";
    const DISCORD: &str = "discord-token-51c2e0";
    const OPENAI: &str = "sk-openai-key-9d8e7f";
    const ADMIN: &str = "admin-token-0b1c2d";
    let db = world
        .database_url
        .as_deref()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let env = [
        // Trust auth ignores the password, so a secret one can ride along.
        (
            "AGENTHOST_DATABASE_URL",
            format!("postgres://postgres:{DB_PASSWORD}@127.0.0.1:5432/{db}"),
        ),
        ("AGENTHOST_ADMIN_TOKEN", ADMIN.to_owned()),
        ("DISCORD_BOT_TOKEN", DISCORD.to_owned()),
        ("AGENTHOST_DISCORD_API_BASE", discord.base_url()),
        ("AGENTHOST_ALERT_CHANNELS", "ops=discord:777".to_owned()),
        ("AGENTHOST_ALERT_ROUTES", "*=ops".to_owned()),
        ("AGENTHOST_ALERT_POLL_INTERVAL_MS", "100".to_owned()),
        ("OPENAI_API_KEY", OPENAI.to_owned()),
        (
            "OPENAI_BASE_URL",
            format!("http://127.0.0.1:{dead_port}/v1"),
        ),
        ("AGENTHOST_LOG", "debug".to_owned()),
        ("AGENTHOST_LOG_FORMAT", "json".to_owned()),
    ];
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let host = world.start(&env_refs);
    host.ready().await;
    // Exercise every path that touches a secret: signed and forged webhooks, the admin
    // API with a wrong token, the LLM with a dead provider, alerts to Discord.
    host.post_sms(&sid(400), LEAD, AGENT_NUMBER, "hello").await;
    host.post_sms(&sid(401), LEAD, AGENT_NUMBER, "ask are you there")
        .await;
    host.post_sms(&sid(402), LEAD, AGENT_NUMBER, "alert secret check")
        .await;
    let params = vec![("Body".to_string(), "x".to_string())];
    host.post_form(&params, Some("forged")).await;
    let r = reqwest::Client::new()
        .get(host.url("/admin/plugins"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    world.twilio.wait_for(3, WAIT).await;
    eventually(WAIT, || async {
        (!discord.messages().is_empty()).then_some(())
    })
    .await
    .expect("the alert reached Discord");
    assert_eq!(
        discord.auth_seen()[0],
        format!("Bot {DISCORD}"),
        "the token is used"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_agenthost"))
        .arg("check-config")
        .env_clear()
        .envs(env_refs.iter().copied())
        .env("TWILIO_AUTH_TOKEN", agenthost_twilio::fake::FAKE_AUTH_TOKEN)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains("DISCORD_BOT_TOKEN=<redacted>"),
        "{printed}"
    );
    let logs = host.logs();
    assert!(logs.lines().count() > 20, "the host logged: {logs}");
    for secret in [
        DB_PASSWORD,
        DISCORD,
        OPENAI,
        ADMIN,
        agenthost_twilio::fake::FAKE_AUTH_TOKEN,
    ] {
        assert!(!logs.contains(secret), "secret {secret} in the log");
        assert!(
            !printed.contains(secret),
            "secret {secret} printed by check-config"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_discord_truncated_rate_limited_and_after_an_outage() {
    let world = World::new(Setup::Embedded, &[("echo", "echo")]).await;
    let discord = FakeDiscord::start().await;
    let base = discord.base_url();
    let host = world.start(&[
        ("DISCORD_BOT_TOKEN", "bot-token"),
        ("AGENTHOST_DISCORD_API_BASE", &base),
        ("AGENTHOST_ALERT_CHANNELS", "ops=discord:4242"),
        ("AGENTHOST_ALERT_ROUTES", "*=ops"),
        ("AGENTHOST_ALERT_POLL_INTERVAL_MS", "100"),
        ("AGENTHOST_ALERT_RETRY_BASE_MS", "200"),
        ("AGENTHOST_ALERT_RETRY_CAP_MS", "1000"),
    ]);
    host.ready().await;

    // Over 2000 characters: delivered, truncated with a visible marker.
    let long = "x".repeat(3000);
    host.post_sms(&sid(500), LEAD, AGENT_NUMBER, &format!("alert {long}"))
        .await;
    let first = eventually(WAIT, || async { discord.messages().first().cloned() })
        .await
        .unwrap_or_else(|| panic!("nothing reached Discord; log:\n{}", host.logs()));
    assert_eq!(first.0, "4242");
    assert!(
        first.1.chars().count() <= 2000,
        "{}",
        first.1.chars().count()
    );
    assert!(
        first.1.ends_with("… (truncated)"),
        "{}",
        &first.1[first.1.len() - 40..]
    );

    // A 429: retried after retry_after, delivered once.
    discord.rate_limit_next(1, 1.5);
    host.post_sms(&sid(501), LEAD, AGENT_NUMBER, "alert rate limited once")
        .await;
    let second = eventually(WAIT, || async {
        discord
            .messages()
            .iter()
            .position(|(_, m)| m.contains("rate limited once"))
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the rate-limited alert never arrived; log:\n{}",
            host.logs()
        )
    });
    let limited = discord.rate_limited_at();
    assert_eq!(limited.len(), 1);
    let waited = discord.accepted_at()[second].duration_since(limited[0]);
    assert!(
        waited >= Duration::from_millis(1450),
        "retried after {waited:?}, before retry_after"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        discord
            .messages()
            .iter()
            .filter(|(_, m)| m.contains("rate limited once"))
            .count(),
        1
    );

    // Discord down: alerts wait, then all arrive once it is back.
    discord.set_down(true);
    host.post_sms(&sid(502), LEAD, AGENT_NUMBER, "alert during outage one")
        .await;
    host.post_sms(&sid(503), LEAD, AGENT_NUMBER, "alert during outage two")
        .await;
    world.twilio.wait_for(4, WAIT).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !discord
            .messages()
            .iter()
            .any(|(_, m)| m.contains("during outage"))
    );
    discord.set_down(false);
    let both = eventually(WAIT, || async {
        let n = discord
            .messages()
            .iter()
            .filter(|(_, m)| m.contains("during outage"))
            .count();
        (n == 2).then_some(n)
    })
    .await;
    assert_eq!(both, Some(2), "log:\n{}", host.logs());
}
