//! Per-invocation cost of the host's full path (`Plugin::invoke`: fresh instance, limits,
//! deadline, effect buffer, outcome classification) against bare wasmtime on the SAME
//! engine (pooling, InstancePre, fuel and epochs on; no host extras), in one run.
//!
//! `cargo bench --workspace --bench invoke` (release build; a debug host is ~12x
//! slower). Needs `dist/plugins/echo.wasm` from `scripts/build-plugins.sh`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use agenthost_runtime::{
    Capabilities, InboundMessage, Invocation, Outcome, RequestedLimits, Runtime, RuntimeConfig,
    Scope,
};
use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

mod bare {
    wasmtime::component::bindgen!({
        world: "plugin",
        path: "../../wit/plugin-0.1.0",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}
use bare::agenthost::plugin::{clock, config, effects, llm, log, state, types};

/// The least a host must do to run the echo plugin: keep the SMS it sends.
#[derive(Default)]
struct Bare {
    sms: Vec<(String, String)>,
}

impl types::Host for Bare {}
impl state::Host for Bare {
    async fn get(&mut self, _: String) -> wasmtime::Result<Option<String>> {
        Ok(None)
    }
    async fn list_keys(&mut self, _: String, _: u32) -> wasmtime::Result<Vec<String>> {
        Ok(vec![])
    }
    async fn set(&mut self, _: String, _: String) -> wasmtime::Result<()> {
        Ok(())
    }
    async fn delete(&mut self, _: String) -> wasmtime::Result<()> {
        Ok(())
    }
}
impl llm::Host for Bare {
    async fn complete(
        &mut self,
        _: llm::CompletionRequest,
    ) -> wasmtime::Result<Result<llm::Completion, llm::LlmError>> {
        Ok(Err(llm::LlmError::Unavailable(String::new())))
    }
}
impl clock::Host for Bare {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(0)
    }
}
impl log::Host for Bare {
    async fn log(&mut self, _: log::Level, _: String) -> wasmtime::Result<()> {
        Ok(())
    }
}
impl config::Host for Bare {
    async fn get(&mut self, _: String) -> wasmtime::Result<Option<String>> {
        Ok(None)
    }
}
impl effects::Host for Bare {
    async fn send_sms(&mut self, to: String, body: String) -> wasmtime::Result<()> {
        self.sms.push((to, body));
        Ok(())
    }
    async fn raise_alert(&mut self, _: effects::Alert) -> wasmtime::Result<()> {
        Ok(())
    }
    async fn schedule_job(
        &mut self,
        _: String,
        _: String,
        _: u64,
        _: String,
        _: Option<String>,
    ) -> wasmtime::Result<()> {
        Ok(())
    }
    async fn cancel_job(&mut self, _: String) -> wasmtime::Result<()> {
        Ok(())
    }
    async fn track_sla(&mut self, _: String, _: String, _: String, _: u64) -> wasmtime::Result<()> {
        Ok(())
    }
    async fn resolve_sla(&mut self, _: String) -> wasmtime::Result<()> {
        Ok(())
    }
}

const WARMUP: usize = 2_000;
const ITERATIONS: usize = 20_000;

fn message() -> InboundMessage {
    InboundMessage {
        conversation_id: "conv-1".into(),
        message_id: "SM0001".into(),
        from: "+15550001111".into(),
        to: "+15559990000".into(),
        body: "hello world".into(),
        received_at_ms: 1_700_000_000_000,
        history: vec![],
        dry_run: false,
    }
}

fn main() -> anyhow::Result<()> {
    let path = agenthost_testkit::built_plugin("echo");
    let bytes = std::fs::read(&path)
        .map_err(|e| anyhow::anyhow!("{}: {e}; run scripts/build-plugins.sh", path.display()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (caps, _) = Capabilities::in_memory();
        let runtime = Runtime::new(RuntimeConfig::default(), caps)?;
        let plugin = runtime
            .load(
                "echo".parse().unwrap(),
                &bytes,
                RequestedLimits::default(),
                BTreeMap::new(),
            )
            .await?;

        // Bare wasmtime on the same engine.
        let engine = runtime.engine().clone();
        let component = Component::new(&engine, &bytes)?;
        let mut linker: Linker<Bare> = Linker::new(&engine);
        bare::Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        let pre = bare::PluginPre::new(linker.instantiate_pre(&component)?)?;
        let wit_msg = bare::agenthost::plugin::types::InboundMessage {
            conversation_id: "conv-1".into(),
            message_id: "SM0001".into(),
            from: "+15550001111".into(),
            to: "+15559990000".into(),
            body: "hello world".into(),
            received_at_ms: 1_700_000_000_000,
            history: vec![],
            dry_run: false,
        };
        let bare_once = async || -> anyhow::Result<()> {
            let mut store = Store::new(&engine, Bare::default());
            store.set_fuel(u64::MAX / 2)?;
            store.set_epoch_deadline(u64::MAX / 2);
            let p = pre.instantiate_async(&mut store).await?;
            p.call_handle_message(&mut store, &wit_msg)
                .await?
                .map_err(|e| anyhow::anyhow!(e.message))?;
            assert_eq!(store.data().sms.len(), 1);
            Ok(())
        };
        let host_once = async || {
            let invocation = Invocation::Message(message());
            let scope = Scope::of(&invocation);
            let r = plugin.invoke(invocation, scope).await;
            assert_eq!(r.outcome, Outcome::Ok);
            assert_eq!(r.effects.sms[0].body, "echo: hello world");
        };

        for _ in 0..WARMUP {
            bare_once().await?;
            host_once().await;
        }
        // Interleave rounds so drift on a noisy machine hits both sides alike.
        let (mut bare_total, mut host_total) = (Duration::ZERO, Duration::ZERO);
        let rounds = 10;
        for _ in 0..rounds {
            let t = Instant::now();
            for _ in 0..ITERATIONS / rounds {
                bare_once().await?;
            }
            bare_total += t.elapsed();
            let t = Instant::now();
            for _ in 0..ITERATIONS / rounds {
                host_once().await;
            }
            host_total += t.elapsed();
        }
        let per = |d: Duration| d.as_secs_f64() * 1e6 / ITERATIONS as f64;
        let (b, h) = (per(bare_total), per(host_total));
        println!("echo invocation, fresh instance each, {ITERATIONS} iterations, release build");
        println!("| path                         | µs / invocation | ratio |");
        println!("|------------------------------|-----------------|-------|");
        println!("| bare wasmtime (baseline)     | {b:>15.2} | 1.00× |");
        println!(
            "| agenthost Plugin::invoke     | {h:>15.2} | {:.2}× |",
            h / b
        );
        println!("targets: host ≤ 1.2× bare (issue 18), host < 50 µs");
        agenthost_testkit::summary::Figure {
            figure: "echo invocation, fresh instance each",
            setup: "runtime",
            value: h,
            unit: "µs",
            baseline: Some(("bare wasmtime", b)),
            goal: Some(agenthost_testkit::summary::Goal::RatioAtMost(1.2)),
        }
        .record();
        anyhow::Ok(())
    })
}
