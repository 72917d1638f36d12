//! Locator: an apartment locator. It answers what renters ask — about the listings
//! (price, pets and weight limits, utilities, laundry, fees, lease, distance to the lake or
//! the train), the areas it covers, vouchers, its own fee, hours and languages — from
//! its config, in English or Spanish; gathers requirements one question at a time
//! (bedrooms, budget range, areas added, removed or replaced, move-in, pets), texts the
//! best options with the reasons they fit, and hands tour requests to staff as
//! `tour-request` alerts with the renter's preferred time. With an LLM, unknown questions
//! get an answer the guard checks against the data; without, a person confirms.
//!
//! Config (`config/plugins/locator.json`): `office`, `listings`, optional `languages`,
//! validated at load. State: `renter:<number>` (see [`agent::Renter`]).

mod agent;
mod data;
mod understand;

use agent::{Action, Renter, Turn};
use agenthost_sdk::lang::Languages;
use agenthost_sdk::llm::{ChatMessage, CompletionRequest, Role};
use agenthost_sdk::{
    self as sdk, Description, Direction, Guest, HistoryEntry, InboundMessage, Job, Limits,
    PluginError, Severity,
};
use data::Inventory;

const PACKS: &[&str] = &[
    include_str!("../lang/en.json"),
    include_str!("../lang/es.json"),
];
const LLM_HISTORY: usize = 8;

struct Locator;

fn inventory() -> Result<Inventory, PluginError> {
    let office = sdk::config::get("office")
        .ok_or_else(|| sdk::error("config-missing", "config key `office` is not set"))?;
    let listings = sdk::config::get("listings")
        .ok_or_else(|| sdk::error("config-missing", "config key `listings` is not set"))?;
    let languages = sdk::config::get("languages");
    Inventory::from_json(&office, &listings, languages.as_deref())
        .map_err(|e| sdk::error("config-invalid", &e))
}

/// The agent's languages (see [`Languages::for_agent`]).
fn languages(inv: &Inventory, at_load: bool) -> Result<Languages, PluginError> {
    Languages::for_agent(PACKS, &inv.extra_languages, at_load)
}

fn chat_messages(history: &[HistoryEntry], question: &str) -> Vec<ChatMessage> {
    let start = history.len().saturating_sub(LLM_HISTORY);
    history[start..]
        .iter()
        .map(|h| ChatMessage {
            role: match h.direction {
                Direction::Inbound => Role::User,
                Direction::Outbound => Role::Assistant,
            },
            content: h.body.clone(),
        })
        .chain(std::iter::once(ChatMessage {
            role: Role::User,
            content: question.to_owned(),
        }))
        .collect()
}

/// The LLM's proposed answer if the guard accepts it (see `landlord-rep` for the rules).
fn propose(
    inv: &Inventory,
    langs: &Languages,
    r: &Renter,
    question: &str,
    context: &str,
    fallback: &str,
    history: &[HistoryEntry],
) -> Option<String> {
    let lang = langs.get(r.lang.as_deref().unwrap_or("en"));
    let request = CompletionRequest {
        system: Some(format!(
            "You are the automated SMS assistant of {}, an apartment locator. Reply in {} in at most 300 characters, using ONLY these facts. \
             If they do not answer the question, say a locator will confirm. Never state a price, fee, date, size or limit that is not in the facts, \
             and never say a tour is booked or an application approved.\n\nFacts:\n{context}",
            inv.office.company, lang.name
        )),
        messages: chat_messages(history, question),
        max_tokens: 160,
        temperature: Some(0.2),
    };
    let text = match sdk::llm::complete(&request) {
        Ok(c) if !c.text.trim().is_empty() => c.text.trim().to_owned(),
        Ok(_) => return None,
        Err(e) => {
            sdk::log::debug(&format!("llm not used: {e:?}"));
            return None;
        }
    };
    let today = inv.office.zone().to_local(sdk::clock::now_ms()).days;
    let mut allowed = sdk::guard::Allowed::default();
    for t in [context, fallback, question, inv.office.phone.as_str()] {
        allowed.add_text(t, &langs.lex, today);
    }
    for h in history.iter().filter(|h| h.direction == Direction::Inbound) {
        allowed.add_text(&h.body, &langs.lex, today);
    }
    let unbacked = sdk::guard::unbacked(&text, &allowed, &langs.lex, today);
    if !unbacked.is_empty() {
        sdk::log::warn(&format!(
            "llm-guard: replaced an LLM reply to {} stating {} not in the data: {text:?}",
            r.number,
            unbacked.join(", ")
        ));
        return None;
    }
    let earlier: Vec<String> = history
        .iter()
        .filter(|h| h.direction == Direction::Outbound)
        .map(|h| h.body.clone())
        .collect();
    (sdk::compose::fits(&text) && !sdk::compose::is_repeat(&text, &earlier, &r.replies))
        .then_some(text)
}

fn apply(
    inv: &Inventory,
    langs: &Languages,
    r: &Renter,
    to: &str,
    actions: Vec<Action>,
    history: &[HistoryEntry],
) {
    for action in actions {
        match action {
            Action::Reply(text) => sdk::sms::send_fitted(to, &text),
            Action::Alert {
                kind,
                severity,
                message,
                fields,
            } => {
                let fields: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let severity = match severity {
                    agent::Severity::Info => Severity::Info,
                    agent::Severity::Warning => Severity::Warning,
                };
                sdk::alert(kind, severity, &message, &fields);
            }
            Action::AskLlm {
                question,
                context,
                fallback,
                on_fallback,
            } => {
                let proposal = if inv.office.use_llm {
                    propose(inv, langs, r, &question, &context, &fallback, history)
                } else {
                    None
                };
                match proposal {
                    Some(text) => sdk::sms::send_fitted(to, &text),
                    None => {
                        sdk::sms::send_fitted(to, &fallback);
                        apply(inv, langs, r, to, on_fallback, history);
                    }
                }
            }
        }
    }
}

impl Guest for Locator {
    fn describe() -> Description {
        if (sdk::config::get("office").is_some() || sdk::config::get("listings").is_some())
            && let Err(e) = inventory().and_then(|inv| languages(&inv, true).map(|_| ()))
        {
            sdk::config::refuse(&e.message);
        }
        Description {
            limits: Limits {
                fuel: Some(1_000_000_000),
                memory_bytes: Some(48 << 20),
                wall_clock_ms: Some(10_000),
                max_concurrency: Some(16),
                max_attempts: Some(5),
            },
            ..Description::new(
                "locator",
                env!("CARGO_PKG_VERSION"),
                "Apartment locator: answers from listing data in English and Spanish, gathers requirements, sends the best options, hands tour requests to staff with a preferred time",
            )
        }
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        let inv = inventory()?;
        let langs = languages(&inv, false)?;
        let key = format!("renter:{}", message.from);
        let mut renter: Renter =
            sdk::state::get_json(&key)?.unwrap_or_else(|| Renter::new(&message.from));
        let mut turn = Turn::new(&inv, &langs, sdk::clock::now_ms());
        turn.history = message
            .history
            .iter()
            .map(|h| (h.direction == Direction::Inbound, h.body.clone()))
            .collect();
        turn.on_message(&mut renter, &message.body, &message.conversation_id);
        let actions = std::mem::take(&mut turn.actions);
        apply(
            &inv,
            &langs,
            &renter,
            &message.from,
            actions,
            &message.history,
        );
        sdk::state::set_json(&key, &renter)
    }

    fn handle_job(job: Job) -> Result<(), PluginError> {
        sdk::log::warn(&format!("locator has no jobs; ignoring {}", job.name));
        Ok(())
    }
}

agenthost_sdk::export_plugin!(Locator);

#[cfg(test)]
mod phrasings;
#[cfg(test)]
mod tests;
