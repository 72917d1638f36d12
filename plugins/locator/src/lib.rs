//! Locator: an apartment locator. It gathers a renter's requirements (bedrooms, budget,
//! area, move-in date, pets) over several messages, one question at a time, remembers them
//! in state, matches them against the inventory in its config and texts the best options
//! with the reasons they fit; a tour request is handed to staff as a `tour-request` alert.
//! Fully deterministic: it needs no LLM.
//!
//! Config (`config/plugins/locator.json`): `office` (object), `listings` (array).
//! State: `renter:<number>` (see [`agent::Renter`]).

mod agent;
mod parse;

use agent::{Action, Inventory, Renter, Turn};
use agenthost_sdk::{
    self as sdk, Description, Guest, InboundMessage, Job, Limits, PluginError, Severity,
};

struct Locator;

fn inventory() -> Result<Inventory, PluginError> {
    let office = sdk::config::get("office")
        .ok_or_else(|| sdk::error("config-missing", "config key `office` is not set"))?;
    let listings = sdk::config::get("listings")
        .ok_or_else(|| sdk::error("config-missing", "config key `listings` is not set"))?;
    Inventory::from_json(&office, &listings).map_err(|e| sdk::error("config-decode", &e))
}

impl Guest for Locator {
    fn describe() -> Description {
        Description {
            limits: Limits {
                fuel: Some(400_000_000),
                memory_bytes: Some(32 << 20),
                wall_clock_ms: Some(5_000),
                max_concurrency: Some(16),
                max_attempts: Some(5),
            },
            ..Description::new(
                "locator",
                env!("CARGO_PKG_VERSION"),
                "Apartment locator: gathers requirements, matches inventory, sends the best options, hands off tours",
            )
        }
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        let inv = inventory()?;
        let key = format!("renter:{}", message.from);
        let mut renter: Renter = sdk::state::get_json(&key)?.unwrap_or_else(|| Renter {
            number: message.from.clone(),
            ..Renter::default()
        });
        let mut turn = Turn::new(&inv, sdk::clock::now_ms());
        turn.on_message(&mut renter, &message.body, &message.conversation_id);
        for action in turn.actions {
            match action {
                Action::Reply(text) => sdk::sms::send_fitted(&message.from, &text),
                Action::Alert {
                    kind,
                    message: text,
                    fields,
                } => {
                    let fields: Vec<(&str, &str)> = fields
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    sdk::alert(kind, Severity::Warning, &text, &fields);
                }
            }
        }
        sdk::state::set_json(&key, &renter)
    }

    fn handle_job(job: Job) -> Result<(), PluginError> {
        sdk::log::warn(&format!("locator has no jobs; ignoring {}", job.name));
        Ok(())
    }
}

agenthost_sdk::export_plugin!(Locator);

#[cfg(test)]
mod tests;
