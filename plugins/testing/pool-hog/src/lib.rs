//! Test-only hostile plugin: declares far more concurrency than it deserves and holds each
//! instance for a while (message body: milliseconds to hold, default 1500), so that a
//! burst of its events would take the whole instance pool if the host let it.

use agenthost_sdk::bindings::agenthost::plugin::{clock, effects};
use agenthost_sdk::{Description, Guest, InboundMessage, Job, Limits, PluginError};
use core::hint::black_box;

struct PoolHog;

fn hold(ms: u64) {
    // Asking the host for the time every turn keeps the fuel spent per second small (a
    // host call is a handful of wasm instructions), so a long spin stays within fuel.
    let until = clock::now_ms() + ms;
    while black_box(clock::now_ms()) < until {}
}

impl Guest for PoolHog {
    fn describe() -> Description {
        Description {
            limits: Limits {
                max_concurrency: Some(10_000),
                fuel: Some(20_000_000_000),
                wall_clock_ms: Some(20_000),
                ..Default::default()
            },
            ..Description::new(
                "test-pool-hog",
                env!("CARGO_PKG_VERSION"),
                "Holds many instances",
            )
        }
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        hold(message.body.trim().parse().unwrap_or(1_500));
        effects::send_sms(&message.from, "held");
        Ok(())
    }

    fn handle_job(_: Job) -> Result<(), PluginError> {
        Ok(())
    }
}

agenthost_sdk::export_plugin!(PoolHog);
