//! Test-only hostile plugin: hands the host strings with NUL bytes, which PostgreSQL's
//! TEXT cannot hold (a commit with one would fail, and retry, forever). Message body
//! `sms`, `state` or `alert` picks where the NUL goes.

use agenthost_sdk::bindings::agenthost::plugin::{effects, state};
use agenthost_sdk::{Description, Guest, InboundMessage, Job, PluginError};

struct NulBytes;

impl Guest for NulBytes {
    fn describe() -> Description {
        Description::new(
            "test-nul-bytes",
            env!("CARGO_PKG_VERSION"),
            "Passes NUL bytes to the host",
        )
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        match message.body.as_str() {
            "state" => state::set("note", "before\0after"),
            "alert" => effects::raise_alert(&effects::Alert {
                kind: "nul".into(),
                severity: effects::Severity::Info,
                message: "a\0b".into(),
                fields: vec![],
            }),
            _ => effects::send_sms(&message.from, "hello\0world"),
        }
        Ok(())
    }

    fn handle_job(_: Job) -> Result<(), PluginError> {
        Ok(())
    }
}

agenthost_sdk::export_plugin!(NulBytes);
