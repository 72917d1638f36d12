//! Landlord Rep: the leasing office for a portfolio of buildings. It answers leads'
//! questions from the building data in its config (availability, rent, pets, parking,
//! location), qualifies them (bedrooms, move-in, budget, pets), offers and books tours,
//! follows up on silence, tracks documents and tours on the host's SLA ladder, hands off to
//! a person on request, and sends the owner a daily report.
//!
//! Everything works without an LLM; one, when configured, only phrases answers to
//! messages the rules do not understand, grounded in the building data.
//!
//! Config (`config/plugins/landlord-rep.json`): `office` (object) and `buildings` (array).
//! State: `lead:<number>` (the lead's record, see [`agent::Lead`]), `stats:daily` (the
//! owner report's counters), `due:<ms>:<number>` (index of pending follow-ups, for the
//! sweep).

mod agent;
mod data;
mod parse;
mod slots;

use agent::{Action, FOLLOWUP_JOB, Lead, Stats, Turn};
use agenthost_sdk::llm::{ChatMessage, CompletionRequest, Role};
use agenthost_sdk::{
    self as sdk, CronJob, Description, Direction, Guest, HistoryEntry, InboundMessage, Job, Limits,
    PluginError, Severity,
};
use data::Portfolio;

const STATS_KEY: &str = "stats:daily";
/// How late a follow-up may be before the sweep treats it as lost.
const SWEEP_GRACE_MS: u64 = 30 * 60_000;
const SWEEP_BATCH: u32 = 200;

struct LandlordRep;

fn portfolio() -> Result<Portfolio, PluginError> {
    let office = sdk::config::get("office")
        .ok_or_else(|| sdk::error("config-missing", "config key `office` is not set"))?;
    let buildings = sdk::config::get("buildings")
        .ok_or_else(|| sdk::error("config-missing", "config key `buildings` is not set"))?;
    Portfolio::from_json(&office, &buildings).map_err(|e| sdk::error("config-decode", &e))
}

fn load_lead(number: &str) -> Result<Lead, PluginError> {
    Ok(
        sdk::state::get_json::<Lead>(&agent::lead_key(number))?.unwrap_or_else(|| Lead {
            number: number.to_owned(),
            ..Lead::default()
        }),
    )
}

fn load_stats() -> Result<Stats, PluginError> {
    Ok(sdk::state::get_json(STATS_KEY)?.unwrap_or_default())
}

/// Carries out a turn's actions for `lead`'s number. `history` is the conversation so
/// far (oldest first), handed to the LLM so its answer fits what was already said.
fn apply(p: &Portfolio, to: &str, actions: Vec<Action>, history: &[HistoryEntry]) {
    for action in actions {
        match action {
            Action::Reply(text) => sdk::sms::send_fitted(to, &text),
            Action::AskLlm {
                question,
                context,
                fallback,
            } => {
                let text = if p.office.use_llm {
                    phrase_with_llm(p, &question, &context, history)
                } else {
                    None
                };
                sdk::sms::send_fitted(to, &text.unwrap_or(fallback));
            }
            Action::Alert {
                kind,
                severity,
                message,
                fields,
            } => {
                let severity = match severity {
                    agent::Severity::Info => Severity::Info,
                    agent::Severity::Warning => Severity::Warning,
                };
                let fields: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                sdk::alert(kind, severity, &message, &fields);
            }
            Action::Schedule {
                key,
                name,
                delay_ms,
                payload,
                conversation_id,
            } => sdk::jobs::schedule(&key, name, delay_ms, &payload, conversation_id.as_deref()),
            Action::Cancel(key) => sdk::jobs::cancel(&key),
            Action::TrackSla {
                id,
                kind,
                description,
                deadline_ms,
            } => sdk::sla::track(&id, kind, &description, deadline_ms),
            Action::ResolveSla(id) => sdk::sla::resolve(&id),
            Action::SetKey(key, value) => sdk::state::set(&key, &value),
            Action::DeleteKey(key) => sdk::state::delete(&key),
        }
    }
}

/// Messages of the conversation the LLM sees before the question.
const LLM_HISTORY: usize = 8;

/// The last `LLM_HISTORY` messages as chat turns (the lead as user, us as assistant),
/// then the question.
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

/// An answer phrased by the LLM from `context` only, with the conversation so far; `None`
/// on any LLM error or an empty answer, so the caller sends its deterministic fallback.
fn phrase_with_llm(
    p: &Portfolio,
    question: &str,
    context: &str,
    history: &[HistoryEntry],
) -> Option<String> {
    let system = format!(
        "You are the SMS leasing assistant for {}. Answer the lead in at most 300 characters of plain text, \
         friendly and concrete, using ONLY these facts. If the facts do not answer it, say a team member will follow up. \
         Never invent prices, dates or policies.\n\nFacts:\n{context}",
        p.office.company
    );
    let request = CompletionRequest {
        system: Some(system),
        messages: chat_messages(history, question),
        max_tokens: 160,
        temperature: Some(0.2),
    };
    match sdk::llm::complete(&request) {
        Ok(c) if !c.text.trim().is_empty() => Some(c.text.trim().to_owned()),
        Ok(_) => None,
        Err(e) => {
            sdk::log::debug(&format!("llm not used: {e:?}"));
            None
        }
    }
}

fn save(lead: &Lead, stats: &Stats) -> Result<(), PluginError> {
    sdk::state::set_json(&agent::lead_key(&lead.number), lead)?;
    sdk::state::set_json(STATS_KEY, stats)
}

/// Runs the follow-up for `number` (from its timer, or from the sweep).
fn followup(p: &Portfolio, number: &str, stats: &mut Stats) -> Result<(), PluginError> {
    let Some(mut lead) = sdk::state::get_json::<Lead>(&agent::lead_key(number))? else {
        return Ok(());
    };
    let mut turn = Turn::new(p, sdk::clock::now_ms());
    turn.on_followup(&mut lead, stats);
    apply(p, number, turn.actions, &[]);
    sdk::state::set_json(&agent::lead_key(number), &lead)
}

impl Guest for LandlordRep {
    fn describe() -> Description {
        Description {
            cron_jobs: vec![
                CronJob {
                    name: "owner-report".into(),
                    schedule: "0 7 * * *".into(),
                    timezone: Some("America/Chicago".into()),
                },
                CronJob {
                    name: "follow-up-sweep".into(),
                    schedule: "*/30 * * * *".into(),
                    timezone: None,
                },
            ],
            limits: Limits {
                fuel: Some(400_000_000),
                memory_bytes: Some(32 << 20),
                wall_clock_ms: Some(20_000),
                max_concurrency: Some(16),
                max_attempts: Some(5),
            },
            ..Description::new(
                "landlord-rep",
                env!("CARGO_PKG_VERSION"),
                "Leasing office: answers leads from building data, qualifies, books tours, follows up, daily owner report",
            )
        }
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        let p = portfolio()?;
        let mut lead = load_lead(&message.from)?;
        let mut stats = load_stats()?;
        let mut turn = Turn::new(&p, sdk::clock::now_ms());
        turn.on_message(
            &mut lead,
            &mut stats,
            &message.body,
            &message.conversation_id,
        );
        apply(&p, &message.from, turn.actions, &message.history);
        save(&lead, &stats)
    }

    fn handle_job(job: Job) -> Result<(), PluginError> {
        let p = portfolio()?;
        let mut stats = load_stats()?;
        match job.name.as_str() {
            FOLLOWUP_JOB => followup(&p, &job.payload, &mut stats)?,
            "owner-report" => {
                let mut turn = Turn::new(&p, sdk::clock::now_ms());
                turn.owner_report(&mut stats);
                apply(&p, "", turn.actions, &[]);
            }
            "follow-up-sweep" => {
                // Belt and braces: a follow-up whose timer should have fired long ago was
                // lost (e.g. a job row deleted by hand); run it now. The index is sorted by
                // due time, so the scan stops at the first one not yet overdue.
                let now = sdk::clock::now_ms();
                for key in sdk::state::list_keys("due:", SWEEP_BATCH) {
                    let Some((due, number)) = agent::parse_due_key(&key) else {
                        sdk::state::delete(&key);
                        continue;
                    };
                    if due + SWEEP_GRACE_MS > now {
                        break;
                    }
                    let lead = sdk::state::get_json::<Lead>(&agent::lead_key(&number))?;
                    if lead.as_ref().and_then(|l| l.followup_due_ms) == Some(due) {
                        sdk::log::warn(&format!(
                            "follow-up for {number} overdue since {due}; running it from the sweep"
                        ));
                        followup(&p, &number, &mut stats)?;
                    } else {
                        sdk::state::delete(&key);
                    }
                }
            }
            other => sdk::log::warn(&format!("unknown job {other}")),
        }
        sdk::state::set_json(STATS_KEY, &stats)
    }
}

agenthost_sdk::export_plugin!(LandlordRep);

#[cfg(test)]
mod tests;
