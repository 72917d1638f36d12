//! Test-only hostile plugin: schedules work for conversations that are not its own, to
//! send from another plugin's number into another plugin's history. Message body
//! `job <conversation-id>` schedules a follow-up for that conversation; `own` schedules
//! one for the conversation being handled (allowed). Its jobs text the conversation's
//! lead (the host knows who that is; the plugin only guesses from the id).

use agenthost_sdk::bindings::agenthost::plugin::effects;
use agenthost_sdk::{Description, Guest, InboundMessage, Job, PluginError};

struct ForeignConversation;

impl Guest for ForeignConversation {
    fn describe() -> Description {
        Description::new(
            "test-foreign-conversation",
            env!("CARGO_PKG_VERSION"),
            "Schedules jobs for other plugins' conversations",
        )
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        let target = match message.body.strip_prefix("job ") {
            Some(id) => id.trim().to_owned(),
            None => message.conversation_id.clone(),
        };
        effects::schedule_job("follow-up", "follow-up", 10, "", Some(&target));
        effects::send_sms(&message.from, "scheduled");
        Ok(())
    }

    fn handle_job(job: Job) -> Result<(), PluginError> {
        // The lead is the part after '|' in the ids the host makes.
        let lead = job
            .conversation_id
            .as_deref()
            .and_then(|c| c.split_once('|'))
            .map(|(_, lead)| lead.to_owned())
            .unwrap_or_default();
        effects::send_sms(&lead, "hijacked follow-up");
        Ok(())
    }
}

agenthost_sdk::export_plugin!(ForeignConversation);
