//! Insurance: a renters-insurance agent. It answers what customers ask — what a policy
//! covers, liability vs property, whether a peril (theft, flood, a roommate's things...)
//! is covered, what the deductible and a claim are, what it costs — from its config, in
//! English or Spanish; collects the four things a quote needs (ZIP, belongings to cover,
//! deductible, claims in 5 years) one at a time, reading each number by its context
//! ("15 grand" of stuff is coverage, "$100,000 of liability" is not); quotes exactly from
//! the rate table (see [`rates`]), takes "whichever is cheapest" literally, follows up
//! once, and hands off to a licensed agent with an ETA on request or when the claims
//! history needs a person. With an LLM, unknown questions get an answer the guard checks
//! against the data.
//!
//! Config (`config/plugins/insurance.json`): `office`, `rates`, `coverage`, optional
//! `languages`, validated at load. State: `customer:<number>` (see [`agent::Customer`]).

mod agent;
mod data;
mod rates;
mod understand;

use agent::{Action, Customer, FOLLOWUP_JOB, Turn};
use agenthost_sdk::lang::Languages;
use agenthost_sdk::llm::{ChatMessage, CompletionRequest, Role};
use agenthost_sdk::{
    self as sdk, Description, Direction, Guest, HistoryEntry, InboundMessage, Job, Limits,
    PluginError, Severity,
};
use data::Config;

const PACKS: &[&str] = &[
    include_str!("../lang/en.json"),
    include_str!("../lang/es.json"),
];
const LLM_HISTORY: usize = 8;

struct Insurance;

fn config() -> Result<Config, PluginError> {
    let get = |k: &str| {
        sdk::config::get(k)
            .ok_or_else(|| sdk::error("config-missing", &format!("config key `{k}` is not set")))
    };
    let (office, rates, coverage) = (get("office")?, get("rates")?, get("coverage")?);
    let languages = sdk::config::get("languages");
    Config::from_json(&office, &rates, &coverage, languages.as_deref())
        .map_err(|e| sdk::error("config-invalid", &e))
}

/// The agent's languages (see [`Languages::for_agent`]).
fn languages(c: &Config, at_load: bool) -> Result<Languages, PluginError> {
    Languages::for_agent(PACKS, &c.extra_languages, at_load)
}

fn key(number: &str) -> String {
    format!("customer:{number}")
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

/// The LLM's proposed answer if the guard accepts it: no premium, limit, deductible or
/// date that the facts do not state, no claim of a bound policy, fits, repeats nothing.
fn propose(
    cfg: &Config,
    langs: &Languages,
    c: &Customer,
    question: &str,
    context: &str,
    fallback: &str,
    history: &[HistoryEntry],
) -> Option<String> {
    let lang = langs.get(c.lang.as_deref().unwrap_or("en"));
    let request = CompletionRequest {
        system: Some(format!(
            "You are the automated SMS assistant of {}, a renters-insurance agency. Reply in {} in at most 300 characters, using ONLY these facts. \
             If they do not answer the question, say a licensed agent will confirm. Never state a price, limit, deductible or date that is not in the facts, \
             and never say a policy is bound, active or approved.\n\nFacts:\n{context}",
            cfg.office.company, lang.name
        )),
        messages: chat_messages(history, question),
        max_tokens: 160,
        temperature: Some(0.2),
    };
    let text = match sdk::llm::complete(&request) {
        Ok(r) if !r.text.trim().is_empty() => r.text.trim().to_owned(),
        Ok(_) => return None,
        Err(e) => {
            sdk::log::debug(&format!("llm not used: {e:?}"));
            return None;
        }
    };
    let today = cfg.office.zone().to_local(sdk::clock::now_ms()).days;
    let mut allowed = sdk::guard::Allowed::default();
    for t in [context, fallback, question, cfg.office.phone.as_str()] {
        allowed.add_text(t, &langs.lex, today);
    }
    for h in history.iter().filter(|h| h.direction == Direction::Inbound) {
        allowed.add_text(&h.body, &langs.lex, today);
    }
    let unbacked = sdk::guard::unbacked(&text, &allowed, &langs.lex, today);
    if !unbacked.is_empty() {
        sdk::log::warn(&format!(
            "llm-guard: replaced an LLM reply to {} stating {} not in the data: {text:?}",
            c.number,
            unbacked.join(", ")
        ));
        return None;
    }
    let earlier: Vec<String> = history
        .iter()
        .filter(|h| h.direction == Direction::Outbound)
        .map(|h| h.body.clone())
        .collect();
    (sdk::compose::fits(&text) && !sdk::compose::is_repeat(&text, &earlier, &c.replies))
        .then_some(text)
}

fn apply(
    cfg: &Config,
    langs: &Languages,
    c: &Customer,
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
            Action::AskLlm {
                question,
                context,
                fallback,
                on_fallback,
            } => {
                let proposal = if cfg.office.use_llm {
                    propose(cfg, langs, c, &question, &context, &fallback, history)
                } else {
                    None
                };
                match proposal {
                    Some(text) => sdk::sms::send_fitted(to, &text),
                    None => {
                        sdk::sms::send_fitted(to, &fallback);
                        apply(cfg, langs, c, to, on_fallback, history);
                    }
                }
            }
        }
    }
}

impl Guest for Insurance {
    fn describe() -> Description {
        let any = ["office", "rates", "coverage"]
            .iter()
            .any(|k| sdk::config::get(k).is_some());
        if any && let Err(e) = config().and_then(|c| languages(&c, true).map(|_| ())) {
            sdk::config::refuse(&e.message);
        }
        Description {
            limits: Limits {
                fuel: Some(1_000_000_000),
                memory_bytes: Some(32 << 20),
                wall_clock_ms: Some(10_000),
                max_concurrency: Some(16),
                max_attempts: Some(5),
            },
            ..Description::new(
                "insurance",
                env!("CARGO_PKG_VERSION"),
                "Renters insurance: answers coverage questions from its data in English and Spanish, quotes from rate tables, follows up once, hands off to a licensed agent",
            )
        }
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        let cfg = config()?;
        let langs = languages(&cfg, false)?;
        let mut c: Customer = sdk::state::get_json(&key(&message.from))?
            .unwrap_or_else(|| Customer::new(&message.from));
        let mut turn = Turn::new(&cfg, &langs, sdk::clock::now_ms());
        turn.history = message
            .history
            .iter()
            .map(|h| (h.direction == Direction::Inbound, h.body.clone()))
            .collect();
        turn.on_message(&mut c, &message.body, &message.conversation_id);
        let actions = std::mem::take(&mut turn.actions);
        apply(&cfg, &langs, &c, &message.from, actions, &message.history);
        sdk::state::set_json(&key(&message.from), &c)
    }

    fn handle_job(job: Job) -> Result<(), PluginError> {
        if job.name != FOLLOWUP_JOB {
            sdk::log::warn(&format!("unknown job {}", job.name));
            return Ok(());
        }
        let cfg = config()?;
        let langs = languages(&cfg, false)?;
        let Some(mut c) = sdk::state::get_json::<Customer>(&key(&job.payload))? else {
            return Ok(());
        };
        let mut turn = Turn::new(&cfg, &langs, sdk::clock::now_ms());
        turn.on_followup(&mut c);
        let actions = std::mem::take(&mut turn.actions);
        apply(&cfg, &langs, &c, &job.payload, actions, &[]);
        sdk::state::set_json(&key(&job.payload), &c)
    }
}

agenthost_sdk::export_plugin!(Insurance);

#[cfg(test)]
mod phrasings;
#[cfg(test)]
mod tests;
