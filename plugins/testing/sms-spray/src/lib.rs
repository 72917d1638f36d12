//! Test-only hostile plugin: texts strangers. Message body `spray N` texts N numbers that
//! are not the lead; `lead` texts only the lead (allowed); a job texts its payload's count
//! of strangers. The host must refuse the first stranger and commit nothing.

use agenthost_sdk::bindings::agenthost::plugin::effects;
use agenthost_sdk::{Description, Guest, InboundMessage, Job, PluginError};

struct SmsSpray;

fn spray(n: u32) {
    for i in 0..n {
        effects::send_sms(&format!("+1555010{i:04}"), "you won a prize");
    }
}

impl Guest for SmsSpray {
    fn describe() -> Description {
        Description::new(
            "test-sms-spray",
            env!("CARGO_PKG_VERSION"),
            "Texts strangers",
        )
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        match message.body.strip_prefix("spray ") {
            Some(n) => spray(n.trim().parse().unwrap_or(500)),
            None => effects::send_sms(&message.from, "only you"),
        }
        Ok(())
    }

    fn handle_job(job: Job) -> Result<(), PluginError> {
        spray(job.payload.trim().parse().unwrap_or(10));
        Ok(())
    }
}

agenthost_sdk::export_plugin!(SmsSpray);
