//! The sandbox against real components built by `scripts/build-plugins.sh`: round trips,
//! each limit's typed outcome, isolation, the compile cache and WASI lockdown.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agenthost_runtime::{
    Capabilities, InboundMessage, Invocation, JobFiring, LoadError, Outcome, Plugin,
    RequestedLimits, Runtime, RuntimeConfig, Scope,
};

use agenthost_testkit::built_plugin_bytes as plugin_bytes;

/// Invokes with the scope the invocation carries (a message's lead and conversation).
async fn run(plugin: &Plugin, invocation: Invocation) -> agenthost_runtime::InvocationReport {
    let scope = Scope::of(&invocation);
    plugin.invoke(invocation, scope).await
}

struct Host {
    runtime: Runtime,
    state: Arc<agenthost_runtime::MemoryState>,
}

fn host_with(config: RuntimeConfig) -> Host {
    let (caps, state) = Capabilities::in_memory();
    Host {
        runtime: Runtime::new(config, caps).expect("runtime"),
        state,
    }
}

fn host() -> Host {
    host_with(RuntimeConfig::default())
}

impl Host {
    async fn load(&self, name: &str, file: &str, limits: RequestedLimits) -> Plugin {
        self.runtime
            .load(
                name.parse().unwrap(),
                &plugin_bytes(file),
                limits,
                BTreeMap::new(),
            )
            .await
            .unwrap_or_else(|e| panic!("loading {file}: {e}"))
    }

    /// Invokes and, like the pipeline does, commits state only when the outcome is ok.
    async fn send(&self, plugin: &Plugin, body: &str) -> agenthost_runtime::InvocationReport {
        let report = run(plugin, message(body)).await;
        if report.outcome.is_ok() {
            self.state.apply(plugin.name(), &report.effects.state);
        }
        report
    }
}

fn message(body: &str) -> Invocation {
    Invocation::Message(InboundMessage {
        conversation_id: "conv-1".into(),
        message_id: "SM0001".into(),
        from: "+15550001111".into(),
        to: "+15559990000".into(),
        body: body.into(),
        received_at_ms: 1_700_000_000_000,
        history: vec![],
        dry_run: false,
    })
}

fn sms_bodies(report: &agenthost_runtime::InvocationReport) -> Vec<&str> {
    report.effects.sms.iter().map(|s| s.body.as_str()).collect()
}

#[tokio::test]
async fn echo_round_trips_and_describes_itself() {
    let h = host();
    let echo = h.load("echo", "echo", RequestedLimits::default()).await;
    assert_eq!(echo.description().name, "echo");
    let r = h.send(&echo, "hello there").await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert_eq!(sms_bodies(&r), ["echo: hello there"]);
    assert_eq!(r.effects.sms[0].to, "+15550001111");
    assert!(r.fuel_used > 0, "fuel is metered");
    assert_eq!(r.plugin.as_str(), "echo");
    assert_eq!(r.version, *echo.version());
}

#[tokio::test]
async fn a_job_invocation_reaches_handle_job() {
    let h = host();
    let job = || {
        Invocation::Job(JobFiring {
            name: "nightly".into(),
            conversation_id: None,
            payload: "+15550002222".into(),
            scheduled_at_ms: 0,
            dry_run: false,
        })
    };
    // A job of no conversation may text only the numbers the operator lists.
    let policy = agenthost_runtime::Policy {
        sms_recipients: ["+15550002222".to_owned()].into(),
        ..Default::default()
    };
    let echo = h
        .runtime
        .load_with_policy(
            "echo".parse().unwrap(),
            &plugin_bytes("echo"),
            RequestedLimits::default(),
            BTreeMap::new(),
            policy,
        )
        .await
        .unwrap();
    let r = run(&echo, job()).await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert_eq!(r.effects.sms[0].to, "+15550002222");
    assert_eq!(r.effects.sms[0].body, "job: nightly");

    let unlisted = h.load("echo", "echo", RequestedLimits::default()).await;
    let r = run(&unlisted, job()).await;
    assert!(
        matches!(&r.outcome, Outcome::RuleViolation { rule, .. } if rule == "sms.recipient"),
        "{:?}",
        r.outcome
    );
    assert!(
        r.effects.is_empty(),
        "nothing of a refused invocation survives"
    );
}

#[tokio::test]
async fn a_returned_plugin_error_is_typed_and_commits_nothing() {
    let h = host();
    let echo = h.load("echo", "echo", RequestedLimits::default()).await;
    let r = h.send(&echo, "fail").await;
    match &r.outcome {
        Outcome::PluginError {
            code, retryable, ..
        } => {
            assert_eq!(code, "requested");
            assert!(!retryable);
        }
        other => panic!("expected a plugin error, got {other}"),
    }
    assert!(r.effects.is_empty());
}

#[tokio::test]
async fn state_persists_per_plugin_and_one_plugin_cannot_read_anothers() {
    let h = host();
    // The same component under two names: only the namespace differs.
    let alpha = h.load("alpha", "echo", RequestedLimits::default()).await;
    let beta = h.load("beta", "echo", RequestedLimits::default()).await;
    assert_eq!(sms_bodies(&h.send(&alpha, "set secret 42").await), ["ok"]);
    assert_eq!(sms_bodies(&h.send(&alpha, "get secret").await), ["42"]);
    assert_eq!(sms_bodies(&h.send(&beta, "get secret").await), ["(none)"]);
    assert_eq!(sms_bodies(&h.send(&beta, "set secret 7").await), ["ok"]);
    assert_eq!(
        sms_bodies(&h.send(&alpha, "get secret").await),
        ["42"],
        "beta's write did not touch alpha"
    );
}

#[tokio::test]
async fn infinite_loop_runs_out_of_fuel() {
    let h = host();
    let p = h
        .load(
            "looper",
            "test-loop",
            RequestedLimits {
                fuel: Some(5_000_000),
                ..Default::default()
            },
        )
        .await;
    let r = h.send(&p, "go").await;
    assert_eq!(r.outcome, Outcome::FuelExhausted { fuel: 5_000_000 });
    assert!(r.effects.is_empty());
}

#[tokio::test]
async fn infinite_loop_hits_the_wall_clock_deadline() {
    let h = host();
    let limits = RequestedLimits {
        fuel: Some(u64::MAX / 4),
        wall_clock_ms: Some(150),
        ..Default::default()
    };
    let p = h.load("looper", "test-loop", limits).await;
    let t = Instant::now();
    let r = h.send(&p, "go").await;
    let took = t.elapsed();
    assert!(
        matches!(r.outcome, Outcome::Deadline { .. }),
        "got {}",
        r.outcome
    );
    assert!(
        took >= Duration::from_millis(150),
        "stopped early: {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "deadline not enforced promptly: {took:?}"
    );
}

#[tokio::test]
async fn memory_bomb_hits_the_memory_cap() {
    let h = host();
    let p = h
        .load(
            "bomb",
            "test-memory-bomb",
            RequestedLimits {
                memory_bytes: Some(8 << 20),
                ..Default::default()
            },
        )
        .await;
    let r = h.send(&p, "go").await;
    assert_eq!(
        r.outcome,
        Outcome::MemoryLimit {
            limit_bytes: 8 << 20
        }
    );
}

#[tokio::test]
async fn immediate_trap_and_panic_are_traps() {
    let h = host();
    for file in ["test-trap", "test-panic"] {
        let p = h.load("bad", file, RequestedLimits::default()).await;
        let r = h.send(&p, "go").await;
        match &r.outcome {
            Outcome::Trap { message } => {
                assert!(message.contains("unreachable"), "{file}: {message}")
            }
            other => panic!("{file}: expected a trap, got {other}"),
        }
        assert!(r.effects.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_keeps_serving_while_hostile_plugins_are_killed() {
    let h = host();
    let echo = h.load("echo", "echo", RequestedLimits::default()).await;
    let limits = RequestedLimits {
        fuel: Some(u64::MAX / 4),
        wall_clock_ms: Some(1_000),
        ..Default::default()
    };
    let looper = h.load("looper", "test-loop", limits).await;
    let bomb = h
        .load(
            "bomb",
            "test-memory-bomb",
            RequestedLimits {
                memory_bytes: Some(16 << 20),
                ..Default::default()
            },
        )
        .await;
    let hostile: Vec<_> = (0..2)
        .flat_map(|_| [looper.clone(), bomb.clone()])
        .map(|p| tokio::spawn(async move { run(&p, message("go")).await }))
        .collect();
    // While two loops spin for a full second, echo answers promptly and correctly.
    let t = Instant::now();
    let mut served = 0;
    while t.elapsed() < Duration::from_millis(600) {
        let r = run(&echo, message("ping")).await;
        assert_eq!(r.outcome, Outcome::Ok);
        assert_eq!(r.effects.sms[0].body, "echo: ping");
        served += 1;
    }
    assert!(
        served >= 20,
        "echo starved by hostile plugins: only {served} served in 600 ms"
    );
    for task in hostile {
        let r = task.await.unwrap();
        assert!(
            matches!(
                r.outcome,
                Outcome::Deadline { .. } | Outcome::MemoryLimit { .. }
            ),
            "{}: {}",
            r.plugin,
            r.outcome
        );
    }
}

#[tokio::test]
async fn the_concurrency_cap_serialises_invocations_of_one_plugin() {
    let h = host();
    let limits = RequestedLimits {
        fuel: Some(u64::MAX / 4),
        wall_clock_ms: Some(200),
        max_concurrency: Some(1),
        ..Default::default()
    };
    let looper = h.load("looper", "test-loop", limits).await;
    let t = Instant::now();
    let (a, b) = tokio::join!(run(&looper, message("go")), run(&looper, message("go")));
    assert!(matches!(a.outcome, Outcome::Deadline { .. }));
    assert!(matches!(b.outcome, Outcome::Deadline { .. }));
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "two 200 ms runs overlapped: {:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn limits_are_per_plugin_and_ceilings_bound_them() {
    let mut config = RuntimeConfig::default();
    config.ceilings.fuel = 1_000_000;
    let h = host_with(config);
    let small = h
        .load(
            "small",
            "test-loop",
            RequestedLimits {
                fuel: Some(10_000),
                ..Default::default()
            },
        )
        .await;
    let greedy = h
        .load(
            "greedy",
            "test-loop",
            RequestedLimits {
                fuel: Some(u64::MAX),
                ..Default::default()
            },
        )
        .await;
    assert_eq!(small.limits().fuel, 10_000);
    assert_eq!(greedy.limits().fuel, 1_000_000, "clamped to the ceiling");
    assert_eq!(
        h.send(&small, "go").await.outcome,
        Outcome::FuelExhausted { fuel: 10_000 }
    );
    assert_eq!(
        h.send(&greedy, "go").await.outcome,
        Outcome::FuelExhausted { fuel: 1_000_000 }
    );
}

#[tokio::test]
async fn bad_bytes_are_refused_with_a_reason() {
    let h = host();
    let load = |bytes: Vec<u8>| {
        let rt = h.runtime.clone();
        async move {
            rt.load(
                "x".parse().unwrap(),
                &bytes,
                RequestedLimits::default(),
                BTreeMap::new(),
            )
            .await
        }
    };
    assert!(matches!(
        load(b"hello world".to_vec()).await,
        Err(LoadError::NotWasm)
    ));
    // The smallest core module: magic + version 1.
    let core = b"\0asm\x01\0\0\0".to_vec();
    let err = load(core).await.unwrap_err();
    assert!(matches!(err, LoadError::NotComponent), "{err}");
    assert!(err.is_malformed());
    // A component header followed by a section that does not parse: the compiler's
    // error, its cause kept as the source.
    let mut broken = b"\0asm\x0d\0\x01\0".to_vec();
    broken.extend_from_slice(&[0x01, 0x7f, 0x00]);
    let err = load(broken).await.unwrap_err();
    assert!(matches!(err, LoadError::Compile(_)), "{err}");
    assert!(
        err.to_string().starts_with("component does not compile: "),
        "{err}"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "wasmtime's error is kept as the source: {err:?}"
    );
    // An empty component: valid, but implements nothing of our world.
    let empty_component = b"\0asm\x0d\0\x01\0".to_vec();
    let err = load(empty_component).await.unwrap_err();
    assert!(matches!(err, LoadError::WrongWorld(_)), "{err}");
    assert!(
        err.to_string().contains("describe"),
        "names the missing export: {err}"
    );
    let err = load(plugin_bytes("test-describe-trap")).await.unwrap_err();
    assert!(
        matches!(err, LoadError::Describe(Outcome::Trap { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn compiled_components_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        cache_dir: Some(dir.path().to_owned()),
        ..Default::default()
    };
    let first = host_with(config.clone());
    let p = first.load("echo", "echo", RequestedLimits::default()).await;
    assert!(!p.from_cache());
    let entries = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(entries, 1, "one cache entry written");
    // A new runtime (a restart) with the same engine settings loads it from disk.
    let second = host_with(config);
    let p = second
        .load("echo", "echo", RequestedLimits::default())
        .await;
    assert!(p.from_cache());
    assert_eq!(second.send(&p, "hi").await.effects.sms[0].body, "echo: hi");
}

#[tokio::test]
async fn a_wasip2_component_runs_locked_down() {
    let h = host();
    let p = h
        .load("wasi", "test-wasip2", RequestedLimits::default())
        .await;
    let r = h.send(&p, "hello").await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert_eq!(sms_bodies(&r), ["env=0 fs=denied time=ok"]);
}

/// An LLM gateway that never answers: a provider hung mid-call.
struct HungLlm;

#[async_trait::async_trait]
impl agenthost_runtime::LlmGateway for HungLlm {
    async fn complete(
        &self,
        _caller: &agenthost_runtime::LlmCaller<'_>,
        _request: agenthost_runtime::CompletionRequest,
        _deadline: Instant,
    ) -> Result<agenthost_runtime::Completion, agenthost_runtime::LlmError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn the_deadline_covers_time_spent_awaiting_a_host_import() {
    let (mut caps, state) = Capabilities::in_memory();
    caps.llm = Arc::new(HungLlm);
    let h = Host {
        runtime: Runtime::new(RuntimeConfig::default(), caps).unwrap(),
        state,
    };
    let echo = h
        .load(
            "echo",
            "echo",
            RequestedLimits {
                wall_clock_ms: Some(300),
                ..Default::default()
            },
        )
        .await;
    let t = Instant::now();
    let r = h.send(&echo, "ask anything").await;
    let took = t.elapsed();
    assert!(
        matches!(r.outcome, Outcome::Deadline { .. }),
        "got {}",
        r.outcome
    );
    assert!(
        took >= Duration::from_millis(300),
        "stopped early: {took:?}"
    );
    assert!(
        took < Duration::from_secs(3),
        "a hung import held the instance: {took:?}"
    );
    assert!(r.effects.is_empty());
}

#[tokio::test]
async fn without_a_provider_the_llm_import_fails_typed_and_at_once() {
    let h = host();
    let echo = h.load("echo", "echo", RequestedLimits::default()).await;
    let t = Instant::now();
    let r = h.send(&echo, "ask anything").await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert!(t.elapsed() < Duration::from_secs(1));
    let body = &r.effects.sms[0].body;
    assert!(
        body.contains("Unavailable(\"no LLM provider is configured\")"),
        "{body}"
    );
}

// ---- the boundary: what a plugin hands the host, and whom it may touch -----------------

fn rule_of(report: &agenthost_runtime::InvocationReport) -> Option<&str> {
    match &report.outcome {
        Outcome::RuleViolation { rule, .. } => Some(rule),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_strings_are_refused_in_guest_memory_for_every_import() {
    let h = host();
    let p = h
        .load("huge", "test-huge-strings", RequestedLimits::default())
        .await;
    for target in [
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
    ] {
        let t = Instant::now();
        // A 24 MiB string, 16 times: 384 MiB if the host copied it.
        let r = h.send(&p, &format!("{target} 24 16")).await;
        assert_eq!(rule_of(&r), Some("bytes.field"), "{target}: {}", r.outcome);
        let Outcome::RuleViolation { message, .. } = &r.outcome else {
            unreachable!()
        };
        assert!(
            message.contains("25165824 bytes"),
            "{target}: names the size: {message}"
        );
        assert!(r.effects.is_empty(), "{target}: nothing survives");
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{target}: took {:?}",
            t.elapsed()
        );
    }
    // A log line is cut, not refused (and never copied whole).
    let r = h.send(&p, "log 24 16").await;
    assert_eq!(r.outcome, Outcome::Ok, "{}", r.outcome);
    // Within the limits the same calls are fine.
    let r = h.send(&p, "alert 0 3").await;
    assert_eq!(r.outcome, Outcome::Ok, "{}", r.outcome);
    assert_eq!(r.effects.alerts.len(), 3);
}

#[tokio::test]
async fn an_invocation_has_a_byte_budget_across_all_its_calls() {
    let h = host();
    let p = h
        .load(
            "huge",
            "test-huge-strings",
            RequestedLimits {
                field_bytes: Some(1 << 20),
                invocation_bytes: Some(4 << 20),
                ..Default::default()
            },
        )
        .await;
    // Each 1 MiB state write fits the field limit; the fifth passes the 4 MiB budget.
    let r = h.send(&p, "state 1 3").await;
    assert_eq!(r.outcome, Outcome::Ok, "{}", r.outcome);
    let r = h.send(&p, "alert 1 5").await;
    assert_eq!(rule_of(&r), Some("bytes.invocation"), "{}", r.outcome);
}

#[tokio::test]
async fn nul_bytes_and_strangers_are_refused_at_the_import() {
    let h = host();
    let nul = h
        .load("nul", "test-nul-bytes", RequestedLimits::default())
        .await;
    for body in ["sms", "state", "alert"] {
        let r = h.send(&nul, body).await;
        assert_eq!(rule_of(&r), Some("text.nul"), "{body}: {}", r.outcome);
    }
    let spray = h
        .load("spray", "test-sms-spray", RequestedLimits::default())
        .await;
    let r = h.send(&spray, "spray 500").await;
    assert_eq!(rule_of(&r), Some("sms.recipient"), "{}", r.outcome);
    assert!(r.effects.sms.is_empty());
    let r = h.send(&spray, "lead").await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert_eq!(
        r.effects.sms[0].to, "+15550001111",
        "the lead may be texted"
    );
}

#[tokio::test]
async fn jobs_only_for_the_plugins_own_conversations() {
    let h = host();
    let p = h
        .load(
            "foreign",
            "test-foreign-conversation",
            RequestedLimits::default(),
        )
        .await;
    let r = h.send(&p, "own").await;
    assert_eq!(r.outcome, Outcome::Ok, "{}", r.outcome);
    let r = h.send(&p, "job +15550002222|+15557654321").await;
    assert_eq!(rule_of(&r), Some("job.conversation"), "{}", r.outcome);
}

#[tokio::test]
async fn plugin_alerts_are_namespaced_and_capped() {
    let h = host();
    let p = h
        .load("spoof", "test-spoof-alert", RequestedLimits::default())
        .await;
    let r = h.send(&p, "dependency_down critical").await;
    assert_eq!(r.outcome, Outcome::Ok, "{}", r.outcome);
    let alert = &r.effects.alerts[0];
    assert_eq!(alert.kind, "plugin.spoof.dependency_down");
    assert_eq!(alert.severity, agenthost_runtime::Severity::Warning);
    let r = h.send(&p, "flood 100").await;
    assert_eq!(rule_of(&r), Some("alert.count"), "{}", r.outcome);
    let r = h.send(&p, "Not/A-Kind critical").await;
    assert_eq!(rule_of(&r), Some("alert.kind"), "{}", r.outcome);

    // The operator may let a plugin raise critical alerts.
    let allowed = h
        .runtime
        .load_with_policy(
            "spoof".parse().unwrap(),
            &plugin_bytes("test-spoof-alert"),
            RequestedLimits::default(),
            BTreeMap::new(),
            agenthost_runtime::Policy {
                allow_critical_alerts: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let r = run(&allowed, message("dependency_down critical")).await;
    assert_eq!(
        r.effects.alerts[0].severity,
        agenthost_runtime::Severity::Critical
    );
    assert_eq!(r.effects.alerts[0].kind, "plugin.spoof.dependency_down");
}

#[tokio::test]
async fn daily_sms_budget_ends_the_invocation_typed() {
    let h = host();
    let p = h
        .load(
            "echo",
            "echo",
            RequestedLimits {
                sms_segments_per_day: Some(1),
                ..Default::default()
            },
        )
        .await;
    let r = h.send(&p, "hi").await;
    assert_eq!(r.outcome, Outcome::Ok);
    assert_eq!(r.effects.sms[0].segments, 1);
    // The runtime reads what the ledger says was spent; the commit is what charges it.
    h.runtime
        .capabilities()
        .budgets
        .charge(
            "echo",
            agenthost_runtime::Budget::SmsSegments,
            agenthost_runtime::utc_day(agenthost_runtime::Clock::now_ms(
                &agenthost_runtime::SystemClock,
            )),
            1,
        )
        .await
        .unwrap();
    let r = h.send(&p, "hi").await;
    assert!(
        matches!(&r.outcome, Outcome::BudgetExhausted { budget, limit: 1 } if budget == "sms_segments"),
        "{}",
        r.outcome
    );
    assert!(r.effects.is_empty());
}

fn multi_memory_component() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/testing/multi-memory/component.wat");
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn the_memory_cap_covers_all_of_an_instances_memories() {
    let h = host();
    let p = h
        .runtime
        .load(
            "multi".parse().unwrap(),
            &multi_memory_component(),
            RequestedLimits {
                memory_bytes: Some(64 << 20),
                ..Default::default()
            },
            BTreeMap::new(),
        )
        .await
        .expect("the hand-written component loads");
    assert_eq!(p.description().name, "test-multi-memory");
    let r = run(&p, message("grow")).await;
    assert!(
        matches!(r.outcome, Outcome::MemoryLimit { limit_bytes } if limit_bytes == 64 << 20),
        "three memories of 60 MiB each must not pass a 64 MiB cap: {}",
        r.outcome
    );
    // With room for all of them it runs: the cap is the sum, nothing else.
    let roomy = h
        .runtime
        .load(
            "multi".parse().unwrap(),
            &multi_memory_component(),
            RequestedLimits {
                memory_bytes: Some(256 << 20),
                ..Default::default()
            },
            BTreeMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(run(&roomy, message("grow")).await.outcome, Outcome::Ok);
}

#[tokio::test]
async fn components_passing_utf16_strings_are_refused_at_load() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/testing/multi-memory/component.wat");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        r#"(canon lift (core func $m "describe") (memory"#,
        r#"(canon lift (core func $m "describe") string-encoding=utf16 (memory"#,
    );
    let bytes = wat::parse_str(&text).unwrap();
    let h = host();
    let err = h
        .runtime
        .load(
            "utf16".parse().unwrap(),
            &bytes,
            RequestedLimits::default(),
            BTreeMap::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, LoadError::StringEncoding(_)), "{err}");
    assert!(err.to_string().contains("UTF-8"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_plugin_can_hold_more_than_its_share_of_the_pool() {
    let h = host_with(RuntimeConfig {
        max_instances: 8,
        ..RuntimeConfig::default()
    });
    let hog = h
        .load("hog", "test-pool-hog", RequestedLimits::default())
        .await;
    assert_eq!(
        hog.limits().max_concurrency,
        4,
        "asked for 10,000 of an 8-instance pool"
    );
    let echo = h.load("echo", "echo", RequestedLimits::default()).await;
    // Twenty hog invocations holding instances for a second...
    let hogs: Vec<_> = (0..20)
        .map(|_| {
            let hog = hog.clone();
            tokio::spawn(async move { run(&hog, message("1000")).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...and echo still gets an instance at once, and never fails for want of one.
    let t = Instant::now();
    for _ in 0..5 {
        assert_eq!(run(&echo, message("hi")).await.outcome, Outcome::Ok);
    }
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    for h in hogs {
        assert_eq!(h.await.unwrap().outcome, Outcome::Ok);
    }
    // Shadows are shed, never queued, when their share is used up.
    let shadows: Vec<_> = (0..8).filter_map(|_| echo.try_admit_shadow()).collect();
    assert_eq!(
        shadows.len(),
        1,
        "12% of 8 instances is one shadow at a time"
    );
}
