//! Test-only plugin for the worker's chaos tests. Message body: `<n> [spin=<ms>]`.
//!
//! - Counts every message in ONE plugin-wide key (`count`, read-modify-write): with lost
//!   updates the final count falls short.
//! - Remembers the last `n` per conversation (`last:<conversation>`) and says whether this
//!   one follows it: handled out of order, or on stale state, it replies `order=bad`.
//! - `spin=<ms>` holds the instance that long first (a slow plugin, past any lease), and
//!   logs `chaos: start <body>` when it begins, so a test can kill the host mid-invocation.
//!
//! Reply: `n=<n> prev=<prev> count=<count> order=<ok|bad>`.

use agenthost_sdk::bindings::agenthost::plugin::{clock, effects, log, state};
use agenthost_sdk::{Description, Guest, InboundMessage, Job, Limits, PluginError};
use core::hint::black_box;

struct Chaos;

fn spin(ms: u64) {
    // Asking the host for the time every turn keeps the fuel spent per second small (a
    // host call is a handful of wasm instructions), so a long spin stays within fuel.
    let until = clock::now_ms() + ms;
    while black_box(clock::now_ms()) < until {}
}

impl Guest for Chaos {
    fn describe() -> Description {
        Description {
            limits: Limits {
                fuel: Some(20_000_000_000),
                wall_clock_ms: Some(60_000),
                max_attempts: Some(4),
                ..Default::default()
            },
            ..Description::new("test-chaos", env!("CARGO_PKG_VERSION"), "Counts and orders")
        }
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        log::log(log::Level::Info, &format!("chaos: start {}", message.body));
        let mut words = message.body.split_whitespace();
        let n: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        for w in words {
            if let Some(ms) = w.strip_prefix("spin=").and_then(|v| v.parse().ok()) {
                spin(ms);
            }
        }
        let count = state::get("count")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + 1;
        state::set("count", &count.to_string());
        let key = format!("last:{}", message.conversation_id);
        let prev: u64 = state::get(&key).and_then(|v| v.parse().ok()).unwrap_or(0);
        state::set(&key, &n.to_string());
        let order = if n == prev + 1 { "ok" } else { "bad" };
        effects::send_sms(
            &message.from,
            &format!("n={n} prev={prev} count={count} order={order}"),
        );
        Ok(())
    }

    fn handle_job(_: Job) -> Result<(), PluginError> {
        Ok(())
    }
}

agenthost_sdk::export_plugin!(Chaos);
