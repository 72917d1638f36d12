//! Test-only hostile plugin: hands one import a string of many MiB, several times.
//!
//! Message body: `<target> <mib> <times>`, target one of `alert`, `alert-field`, `job`,
//! `sla`, `sms-to`, `sms-body`, `llm`, `state`, `state-key`, `log`, `config-key`. The
//! string lives in the plugin's own memory (within its cap); copying it out would cost
//! the HOST `mib * times` MiB unless the host measures it in place first.

use agenthost_sdk::bindings::agenthost::plugin::{config, effects, llm, log, state};
use agenthost_sdk::{Description, Guest, InboundMessage, Job, Limits, PluginError};

struct HugeStrings;

fn attack(target: &str, huge: &str, to: &str, conversation: &str) {
    match target {
        "alert" => effects::raise_alert(&effects::Alert {
            kind: "huge".into(),
            severity: effects::Severity::Info,
            message: huge.into(),
            fields: vec![],
        }),
        "alert-field" => effects::raise_alert(&effects::Alert {
            kind: "huge".into(),
            severity: effects::Severity::Info,
            message: "m".into(),
            fields: vec![("k".into(), huge.into())],
        }),
        "job" => effects::schedule_job("k", "n", 1_000, huge, Some(conversation)),
        "sla" => effects::track_sla("item", "kind", huge, 0),
        "sms-to" => effects::send_sms(huge, "hi"),
        "sms-body" => effects::send_sms(to, huge),
        "llm" => {
            let _ = llm::complete(&llm::CompletionRequest {
                system: Some(huge.into()),
                messages: vec![],
                max_tokens: 10,
                temperature: None,
            });
        }
        "state" => state::set("k", huge),
        "state-key" => state::set(huge, "v"),
        "log" => log::log(log::Level::Info, huge),
        "config-key" => {
            let _ = config::get(huge);
        }
        _ => effects::send_sms(to, "unknown target"),
    }
}

impl Guest for HugeStrings {
    fn describe() -> Description {
        Description {
            limits: Limits {
                memory_bytes: Some(64 << 20),
                ..Default::default()
            },
            ..Description::new(
                "test-huge-strings",
                env!("CARGO_PKG_VERSION"),
                "Hands imports strings of many MiB",
            )
        }
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        let mut words = message.body.split_whitespace();
        let target = words.next().unwrap_or("alert");
        let mib: usize = words.next().and_then(|w| w.parse().ok()).unwrap_or(32);
        let times: usize = words.next().and_then(|w| w.parse().ok()).unwrap_or(1);
        let huge = "x".repeat(mib << 20);
        for _ in 0..times {
            attack(target, &huge, &message.from, &message.conversation_id);
        }
        effects::send_sms(&message.from, "survived");
        Ok(())
    }

    fn handle_job(_: Job) -> Result<(), PluginError> {
        Ok(())
    }
}

agenthost_sdk::export_plugin!(HugeStrings);
