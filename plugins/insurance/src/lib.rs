//! Insurance: a renters-insurance agent. It collects the four things a quote needs (ZIP,
//! personal-property coverage, deductible, prior claims in 5 years) one at a time,
//! remembering them in state, quotes exactly from the rate table in its config (see
//! [`rates`] for the formula), explains the quote in one message, follows up once after a
//! silence, and hands off to a licensed agent on request. It needs no LLM.
//!
//! Config (`config/plugins/insurance.json`): `office` (object), `rates` (object).
//! State: `customer:<number>` (see [`agent::Customer`]).

mod agent;
mod rates;

use agent::{Action, Customer, FOLLOWUP_JOB, Office, Turn};
use agenthost_sdk::{
    self as sdk, Description, Guest, InboundMessage, Job, Limits, PluginError, Severity,
};
use rates::RateTable;

struct Insurance;

fn config() -> Result<(Office, RateTable), PluginError> {
    let office = sdk::config::get_json::<Office>("office")?
        .ok_or_else(|| sdk::error("config-missing", "config key `office` is not set"))?;
    let rates = sdk::config::get_json::<RateTable>("rates")?
        .ok_or_else(|| sdk::error("config-missing", "config key `rates` is not set"))?;
    Ok((office, rates))
}

fn key(number: &str) -> String {
    format!("customer:{number}")
}

fn apply(to: &str, actions: Vec<Action>) {
    for action in actions {
        match action {
            Action::Reply(text) => sdk::sms::send_fitted(to, &text),
            Action::Handoff { message, fields } => {
                let fields: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                sdk::alert("handoff", Severity::Warning, &message, &fields);
            }
            Action::Schedule {
                key,
                delay_ms,
                payload,
                conversation_id,
            } => sdk::jobs::schedule(
                &key,
                FOLLOWUP_JOB,
                delay_ms,
                &payload,
                conversation_id.as_deref(),
            ),
            Action::Cancel(key) => sdk::jobs::cancel(&key),
        }
    }
}

impl Guest for Insurance {
    fn describe() -> Description {
        Description {
            limits: Limits {
                fuel: Some(200_000_000),
                memory_bytes: Some(16 << 20),
                wall_clock_ms: Some(5_000),
                max_concurrency: Some(16),
                max_attempts: Some(5),
            },
            ..Description::new(
                "insurance",
                env!("CARGO_PKG_VERSION"),
                "Renters insurance: collects ZIP, coverage, deductible and claims, quotes from rate tables, follows up once, hands off",
            )
        }
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        let (office, rates) = config()?;
        let mut c: Customer =
            sdk::state::get_json(&key(&message.from))?.unwrap_or_else(|| Customer {
                number: message.from.clone(),
                ..Customer::default()
            });
        let mut turn = Turn::new(&office, &rates, sdk::clock::now_ms());
        turn.on_message(&mut c, &message.body, &message.conversation_id);
        apply(&message.from, turn.actions);
        sdk::state::set_json(&key(&message.from), &c)
    }

    fn handle_job(job: Job) -> Result<(), PluginError> {
        if job.name != FOLLOWUP_JOB {
            sdk::log::warn(&format!("unknown job {}", job.name));
            return Ok(());
        }
        let (office, rates) = config()?;
        let Some(mut c) = sdk::state::get_json::<Customer>(&key(&job.payload))? else {
            return Ok(());
        };
        let mut turn = Turn::new(&office, &rates, sdk::clock::now_ms());
        turn.on_followup(&mut c);
        apply(&job.payload, turn.actions);
        sdk::state::set_json(&key(&job.payload), &c)
    }
}

agenthost_sdk::export_plugin!(Insurance);

#[cfg(test)]
mod tests;
