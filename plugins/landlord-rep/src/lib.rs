//! Landlord Rep: the leasing office for a portfolio of buildings. It answers what leads
//! ask — availability, rent, pets (with weight limits), parking, vouchers, utilities,
//! laundry, office hours, fees, lease terms, screening, landmarks, languages — from the
//! building data in its config, in English or Spanish, then asks at most one next
//! question; books, moves and cancels tours (reminders the day before and 2 hours before,
//! a check-in after), follows up on silence, tracks documents and tours on the host's SLA
//! ladder, hands off to a person with an ETA from staff hours, and sends the owner a daily
//! report.
//!
//! Everything works without an LLM. With one, the LLM proposes answers to what the rules
//! do not understand, grounded in the data; the guard (`agenthost_sdk::guard`) checks every
//! rent, fee, date and limit it states and sends the deterministic reply instead when one
//! is not in the data (logged as `llm-guard: replaced ...` and counted in the report).
//!
//! Config (`config/plugins/landlord-rep.json`): `office` (object), `buildings` (array),
//! optional `languages` (extra language packs). Validated when the host loads the plugin.
//! State: `lead:<number>` (the lead's record, see [`agent::Lead`]);
//! `stats:<yyyy-mm-dd>:<shard>` (the day's counters, sharded by lead);
//! `due:<ms>:<number>` (index of pending follow-ups, for the sweep);
//! `slot:<building>:<start ms>` (who holds a tour slot).

mod agent;
mod data;
mod schedule;
mod understand;

use agent::{Action, CHECKIN_JOB, FOLLOWUP_JOB, Lead, REMINDER_JOB, Stats, TourJob, Turn};
use agenthost_sdk::lang::Languages;
use agenthost_sdk::llm::{ChatMessage, CompletionRequest, Role};
use agenthost_sdk::{
    self as sdk, CronJob, Description, Direction, Guest, HistoryEntry, InboundMessage, Job, Limits,
    PluginError, Severity,
};
use data::Portfolio;

/// The agent's own language packs, default first.
const PACKS: &[&str] = &[
    include_str!("../lang/en.json"),
    include_str!("../lang/es.json"),
];
/// How late a follow-up may be before the sweep treats it as lost.
const SWEEP_GRACE_MS: u64 = 30 * 60_000;
const SWEEP_BATCH: u32 = 200;
/// Messages of the conversation the LLM sees before the question.
const LLM_HISTORY: usize = 8;

struct LandlordRep;

fn portfolio() -> Result<Portfolio, PluginError> {
    let office = sdk::config::get("office")
        .ok_or_else(|| sdk::error("config-missing", "config key `office` is not set"))?;
    let buildings = sdk::config::get("buildings")
        .ok_or_else(|| sdk::error("config-missing", "config key `buildings` is not set"))?;
    let languages = sdk::config::get("languages");
    Portfolio::from_json(&office, &buildings, languages.as_deref())
        .map_err(|e| sdk::error("config-invalid", &e))
}

/// The agent's languages (see [`Languages::for_agent`]).
fn languages(p: &Portfolio, at_load: bool) -> Result<Languages, PluginError> {
    Languages::for_agent(PACKS, &p.extra_languages, at_load)
}

/// Tour slots held by leads, read from plugin-wide state.
struct StateBook;

impl schedule::SlotBook for StateBook {
    fn holder(&self, building: &str, at_ms: u64) -> Option<String> {
        sdk::state::get(&schedule::slot_key(building, at_ms)).filter(|h| !h.is_empty())
    }
}

fn load_lead(number: &str) -> Result<Lead, PluginError> {
    let mut lead = sdk::state::get_json::<Lead>(&agent::lead_key(number))?
        .unwrap_or_else(|| Lead::new(number));
    lead.upgrade();
    Ok(lead)
}

fn today(p: &Portfolio) -> i64 {
    p.office.zone().to_local(sdk::clock::now_ms()).days
}

/// The lead's shard of today's counters.
fn load_stats(p: &Portfolio, number: &str) -> Result<(String, Stats), PluginError> {
    let key = agent::stats_key(today(p), number);
    let stats = sdk::state::get_json(&key)?.unwrap_or_default();
    Ok((key, stats))
}

fn save_stats(key: &str, before: &Stats, after: &Stats) -> Result<(), PluginError> {
    if before != after {
        sdk::state::set_json(key, after)?;
    }
    Ok(())
}

/// Carries out a turn's actions for `to`. `history` is the conversation so far (oldest
/// first), handed to the LLM so its answer fits what was already said.
fn apply(
    p: &Portfolio,
    langs: &Languages,
    lead: &Lead,
    to: &str,
    actions: Vec<Action>,
    history: &[HistoryEntry],
    stats: &mut Stats,
) {
    for action in actions {
        match action {
            Action::Reply(text) => sdk::sms::send_fitted(to, &text),
            Action::AskLlm {
                question,
                context,
                fallback,
                on_fallback,
            } => {
                let proposal = if p.office.use_llm {
                    propose(
                        p, langs, lead, &question, &context, &fallback, history, stats,
                    )
                } else {
                    None
                };
                match proposal {
                    Some(text) => sdk::sms::send_fitted(to, &text),
                    None => {
                        sdk::sms::send_fitted(to, &fallback);
                        apply(p, langs, lead, to, on_fallback, history, stats);
                    }
                }
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
            Action::Count(name) => stats.count(name),
        }
    }
}

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

/// An answer proposed by the LLM from `context`, if the guard accepts it: every amount,
/// date and limit it states must be in the facts (or the deterministic reply, or the
/// lead's own words), it claims no booking, fits 3 segments and repeats nothing. `None`
/// (send the deterministic `fallback`) otherwise, or on any LLM error.
#[allow(clippy::too_many_arguments)]
fn propose(
    p: &Portfolio,
    langs: &Languages,
    lead: &Lead,
    question: &str,
    context: &str,
    fallback: &str,
    history: &[HistoryEntry],
    stats: &mut Stats,
) -> Option<String> {
    let lang = langs.get(lead.lang.as_deref().unwrap_or("en"));
    let system = format!(
        "You are the automated SMS leasing assistant for {}. Reply in {} in at most 300 characters of plain text, \
         friendly and concrete, using ONLY these facts. If the facts do not answer the question, say a person from the team will confirm. \
         Never state a price, fee, date, size or limit that is not in the facts, and never say anything is booked, reserved or approved.\n\nFacts:\n{context}",
        p.office.company, lang.name
    );
    let request = CompletionRequest {
        system: Some(system),
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
    let today = today(p);
    let mut allowed = sdk::guard::Allowed::default();
    allowed.add_text(context, &langs.lex, today);
    allowed.add_text(fallback, &langs.lex, today);
    allowed.add_text(&p.office.phone, &langs.lex, today);
    allowed.add_text(question, &langs.lex, today);
    for h in history.iter().filter(|h| h.direction == Direction::Inbound) {
        allowed.add_text(&h.body, &langs.lex, today);
    }
    let unbacked = sdk::guard::unbacked(&text, &allowed, &langs.lex, today);
    if !unbacked.is_empty() {
        stats.llm_replaced += 1;
        sdk::log::warn(&format!(
            "llm-guard: replaced an LLM reply to {} stating {} not in the data: {:?}",
            lead.number,
            unbacked.join(", "),
            text
        ));
        return None;
    }
    if !sdk::compose::fits(&text) {
        sdk::log::info("llm reply longer than 3 segments; sending the deterministic reply");
        return None;
    }
    let earlier: Vec<String> = history
        .iter()
        .filter(|h| h.direction == Direction::Outbound)
        .map(|h| h.body.clone())
        .collect();
    if sdk::compose::is_repeat(&text, &earlier, &lead.replies) {
        sdk::log::info("llm reply repeats an earlier one; sending the deterministic reply");
        return None;
    }
    Some(text)
}

/// Runs the follow-up for `number` (its timer fired).
fn followup(p: &Portfolio, langs: &Languages, number: &str) -> Result<(), PluginError> {
    let Some(mut lead) = sdk::state::get_json::<Lead>(&agent::lead_key(number))? else {
        return Ok(());
    };
    let (key, before) = load_stats(p, number)?;
    let mut stats = before.clone();
    let mut turn = Turn::new(p, langs, &StateBook, sdk::clock::now_ms());
    turn.on_followup(&mut lead, &mut stats);
    let actions = std::mem::take(&mut turn.actions);
    apply(p, langs, &lead, number, actions, &[], &mut stats);
    sdk::state::set_json(&agent::lead_key(number), &lead)?;
    save_stats(&key, &before, &stats)
}

fn tour_job(p: &Portfolio, langs: &Languages, job: &Job) -> Result<(), PluginError> {
    let Ok(tj) = serde_json::from_str::<TourJob>(&job.payload) else {
        sdk::log::warn(&format!(
            "{}: payload is not a tour job: {}",
            job.name, job.payload
        ));
        return Ok(());
    };
    let Some(mut lead) = sdk::state::get_json::<Lead>(&agent::lead_key(&tj.number))? else {
        return Ok(());
    };
    let (key, before) = load_stats(p, &tj.number)?;
    let mut stats = before.clone();
    let mut turn = Turn::new(p, langs, &StateBook, sdk::clock::now_ms());
    let kind = if job.name == CHECKIN_JOB {
        TourJob {
            kind: "checkin".into(),
            ..tj.clone()
        }
    } else {
        tj.clone()
    };
    turn.on_tour_job(&mut lead, &mut stats, &kind);
    let actions = std::mem::take(&mut turn.actions);
    apply(p, langs, &lead, &tj.number, actions, &[], &mut stats);
    sdk::state::set_json(&agent::lead_key(&tj.number), &lead)?;
    save_stats(&key, &before, &stats)
}

/// The owner report: every finished day's counters (all shards), then those keys go.
fn owner_report(p: &Portfolio, langs: &Languages) -> Result<(), PluginError> {
    let today = sdk::time::iso_date(today(p));
    let mut days: Vec<(String, Stats)> = Vec::new();
    for key in sdk::state::list_keys("stats:", 2000) {
        let day = key
            .strip_prefix("stats:")
            .and_then(|rest| rest.split(':').next())
            .unwrap_or("")
            .to_owned();
        if day >= today && sdk::time::parse_iso_date(&day).is_some() {
            continue; // today's counters are still running
        }
        let label = if sdk::time::parse_iso_date(&day).is_some() {
            day
        } else {
            "earlier".to_owned()
        };
        let s: Stats = sdk::state::get_json(&key)?.unwrap_or_default();
        match days.iter_mut().find(|(d, _)| *d == label) {
            Some((_, acc)) => acc.add(&s),
            None => days.push((label, s)),
        }
        sdk::state::delete(&key);
    }
    days.sort_by(|a, b| a.0.cmp(&b.0));
    let mut turn = Turn::new(p, langs, &StateBook, sdk::clock::now_ms());
    turn.owner_report(&days);
    let actions = std::mem::take(&mut turn.actions);
    apply(
        p,
        langs,
        &Lead::default(),
        "",
        actions,
        &[],
        &mut Stats::default(),
    );
    Ok(())
}

/// A follow-up whose timer should have fired long ago was lost (e.g. a job row deleted by
/// hand). A cron job belongs to no conversation and may not text leads, so the sweep
/// re-schedules the follow-up as a one-off job of the lead's own conversation (same key:
/// it replaces any pending timer) and that job texts. The index is sorted by due time,
/// so the scan stops at the first one not yet overdue.
fn sweep() -> Result<(), PluginError> {
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
        match lead {
            Some(l) if l.followup_due_ms == Some(due) => match l.conversation_id.as_deref() {
                Some(conversation) => {
                    sdk::log::warn(&format!(
                        "follow-up for {number} overdue since {due}; re-scheduled on its conversation by the sweep"
                    ));
                    sdk::jobs::schedule(
                        &agent::followup_key(&number),
                        FOLLOWUP_JOB,
                        1_000,
                        &number,
                        Some(conversation),
                    );
                }
                None => {
                    sdk::log::warn(&format!(
                        "follow-up for {number} overdue but the lead has no conversation id; dropped"
                    ));
                    sdk::state::delete(&key);
                }
            },
            _ => sdk::state::delete(&key),
        }
    }
    Ok(())
}

impl Guest for LandlordRep {
    fn describe() -> Description {
        // The host loads a version with the config it will serve with: refuse a config
        // that does not validate, naming the field, rather than fail lead by lead.
        if sdk::config::get("office").is_some() || sdk::config::get("buildings").is_some() {
            match portfolio().and_then(|p| languages(&p, true).map(|_| ())) {
                Ok(()) => {}
                Err(e) => sdk::config::refuse(&e.message),
            }
        }
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
                fuel: Some(1_500_000_000),
                memory_bytes: Some(48 << 20),
                wall_clock_ms: Some(20_000),
                max_concurrency: Some(16),
                max_attempts: Some(5),
            },
            ..Description::new(
                "landlord-rep",
                env!("CARGO_PKG_VERSION"),
                "Leasing office: answers leads from building data in English and Spanish, books tours with reminders, hands off with an ETA, follows up, daily owner report",
            )
        }
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        let p = portfolio()?;
        let langs = languages(&p, false)?;
        let mut lead = load_lead(&message.from)?;
        let (key, before) = load_stats(&p, &message.from)?;
        let mut stats = before.clone();
        let mut turn = Turn::new(&p, &langs, &StateBook, sdk::clock::now_ms());
        turn.history = message
            .history
            .iter()
            .map(|h| (h.direction == Direction::Inbound, h.body.clone()))
            .collect();
        turn.on_message(
            &mut lead,
            &mut stats,
            &message.body,
            &message.conversation_id,
        );
        let actions = std::mem::take(&mut turn.actions);
        apply(
            &p,
            &langs,
            &lead,
            &message.from,
            actions,
            &message.history,
            &mut stats,
        );
        sdk::state::set_json(&agent::lead_key(&lead.number), &lead)?;
        save_stats(&key, &before, &stats)
    }

    fn handle_job(job: Job) -> Result<(), PluginError> {
        let p = portfolio()?;
        let langs = languages(&p, false)?;
        match job.name.as_str() {
            FOLLOWUP_JOB => followup(&p, &langs, &job.payload),
            REMINDER_JOB | CHECKIN_JOB => tour_job(&p, &langs, &job),
            "owner-report" => owner_report(&p, &langs),
            "follow-up-sweep" => sweep(),
            other => {
                sdk::log::warn(&format!("unknown job {other}"));
                Ok(())
            }
        }
    }
}

agenthost_sdk::export_plugin!(LandlordRep);

#[cfg(test)]
mod phrasings;
#[cfg(test)]
mod tests;
