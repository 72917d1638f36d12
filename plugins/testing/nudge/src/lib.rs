//! Test-only plugin for the send policy's tests. Message body `nudge <ms> [<n>]` schedules
//! `n` (default 1) follow-ups of the conversation `ms` from now and replies `scheduled`;
//! each follow-up texts the lead `nudge <k>`: an agent-initiated text, which quiet hours
//! and the frequency cap apply to. Any other body gets `ok: <body>`.

use agenthost_sdk::bindings::agenthost::plugin::effects;
use agenthost_sdk::{Description, Guest, InboundMessage, Job, PluginError};

struct Nudge;

impl Guest for Nudge {
    fn describe() -> Description {
        Description::new(
            "test-nudge",
            env!("CARGO_PKG_VERSION"),
            "Schedules follow-ups",
        )
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        let mut words = message.body.split_whitespace();
        if words.next() == Some("nudge") {
            let ms: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(1_000);
            let n: u32 = words.next().and_then(|w| w.parse().ok()).unwrap_or(1);
            // Job keys are the plugin's: one per lead and follow-up.
            let lead: String = message.from.chars().filter(char::is_ascii_digit).collect();
            for k in 1..=n {
                effects::schedule_job(
                    &format!("nudge-{lead}-{k}"),
                    "nudge",
                    ms,
                    &k.to_string(),
                    Some(&message.conversation_id),
                );
            }
            effects::send_sms(&message.from, "scheduled");
        } else {
            effects::send_sms(&message.from, &format!("ok: {}", message.body));
        }
        Ok(())
    }

    fn handle_job(job: Job) -> Result<(), PluginError> {
        // The lead is the part after '|' of the conversation id the host made.
        let lead = job
            .conversation_id
            .as_deref()
            .and_then(|c| c.split_once('|'))
            .map(|(_, lead)| lead.to_owned())
            .unwrap_or_default();
        effects::send_sms(&lead, &format!("nudge {}", job.payload));
        Ok(())
    }
}

agenthost_sdk::export_plugin!(Nudge);
