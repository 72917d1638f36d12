//! The leasing agent's decisions, as a pure function of the portfolio, the lead's stored
//! record, the message and the time. It returns [`Action`]s; `lib.rs` turns them into host
//! calls. Nothing here calls the host, so every conversation path is unit-tested natively.
//!
//! A reply answers first — every question in the text, from the data — then asks at most
//! one next question. It is composed from template pieces in the lead's language to fit
//! three SMS segments (never cut), and never repeats an earlier reply word for word.

use crate::data::{self, Building, LaundryKind, Portfolio, Unit};
use crate::schedule::{self, Plan, Planner, Refusal, Slot, SlotBook};
use crate::understand::{self, Context, Field, Reading, Topic};
use agenthost_sdk::compose::{self, priority::*};
use agenthost_sdk::hours::Eta;
use agenthost_sdk::lang::{Language, Languages};
use agenthost_sdk::read::{Beds, Budget, Pets};
use agenthost_sdk::reply::Say;
use agenthost_sdk::text::dollars;
use agenthost_sdk::time::{self, MS_PER_HOUR, MS_PER_MINUTE};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Reply(String),
    /// A question the rules could not answer from the data: the LLM may propose an answer
    /// from `context` (checked by the guard against the data); otherwise `fallback` is
    /// sent and `on_fallback` carried out (the question goes to a person).
    AskLlm {
        question: String,
        context: String,
        fallback: String,
        on_fallback: Vec<Action>,
    },
    Alert {
        kind: &'static str,
        severity: Severity,
        message: String,
        fields: Vec<(String, String)>,
    },
    Schedule {
        key: String,
        name: &'static str,
        delay_ms: u64,
        payload: String,
        conversation_id: Option<String>,
    },
    Cancel(String),
    TrackSla {
        id: String,
        kind: &'static str,
        description: String,
        deadline_ms: u64,
    },
    ResolveSla(String),
    SetKey(String, String),
    DeleteKey(String),
    /// Count one more of a stats counter (see [`Stats::count`]).
    Count(&'static str),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Active,
    Dead,
    HandedOff,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tour {
    pub building: String,
    pub at_ms: u64,
    /// English label for staff ("Sat Nov 28, 11am").
    pub label: String,
}

/// A person was asked to take over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    pub at_ms: u64,
    /// When the lead was told a person would reach out.
    pub eta_ms: u64,
    pub reason: String,
    /// Last time staff were (re)alerted, to keep nudges rare.
    pub alerted_ms: u64,
}

/// Something the agent offered and a "yes" accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Offer {
    /// "Would you like to tour X?"
    Tour(String),
}

/// Everything the office knows about one lead; stored under `lead:<number>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lead {
    pub number: String,
    pub conversation_id: Option<String>,
    pub status: Status,
    pub opted_out: bool,
    pub first_seen_ms: u64,
    pub last_inbound_ms: u64,
    pub messages_in: u32,
    /// Reply language ("en", "es").
    pub lang: Option<String>,
    pub name: Option<String>,
    /// Id of the building in focus.
    pub building: Option<String>,
    /// What the last question asked (for "and the 2 bdrm?").
    pub last_topics: Vec<Topic>,
    pub beds: Option<Beds>,
    pub budget_range: Option<Budget>,
    /// "No limit": no maximum rent (no budget filter, not asked again).
    pub budget_open: bool,
    /// ISO date.
    pub move_in: Option<String>,
    /// "Whenever": no move-in date yet (not asked again).
    pub move_flexible: bool,
    /// Buildings being compared ("yates or evans?"): follow-up questions cover each,
    /// until one building or an area is named.
    pub compare: Vec<String>,
    pub pets: Option<Pets>,
    /// Neighborhoods wanted.
    pub areas: Vec<String>,
    /// Landmark kinds wanted close ("lake").
    pub near: Vec<String>,
    pub voucher: bool,
    pub credit: Option<u32>,
    /// The qualification question we are waiting on.
    pub asked: Option<Field>,
    /// `messages_in` when a question was last asked: a question the lead skipped is not
    /// asked again on the very next turn.
    pub question_turn: u32,
    pub offer: Option<Offer>,
    /// Asked to tour but has not said which building; the time asked, if any.
    pub wants_tour: bool,
    pub pending_when: Option<PendingWhen>,
    pub offered_slots: Vec<Slot>,
    pub tour: Option<Tour>,
    pub toured: Vec<String>,
    pub followups_sent: u32,
    /// When the pending follow-up job is due (also indexed under `due:` for the sweep).
    pub followup_due_ms: Option<u64>,
    pub handoff: Option<Handoff>,
    /// Channels the lead says fail them ("phone", "email"): never offered again.
    pub avoid: Vec<String>,
    /// Questions already passed to a person (fingerprints), and when the last one went.
    pub questions_sent: Vec<u64>,
    pub question_alert_ms: Option<u64>,
    pub docs_received_ms: Option<u64>,
    pub closed_reason: Option<String>,
    /// Fingerprints of recent replies, so none is repeated word for word.
    pub replies: Vec<u64>,
    // Records written before this version.
    #[serde(skip_serializing)]
    bedrooms: Option<u8>,
    #[serde(skip_serializing)]
    budget: Option<u32>,
}

/// A tour time asked before the building was known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingWhen {
    pub day: Option<i64>,
    pub minute: Option<u32>,
}

impl Lead {
    pub fn new(number: &str) -> Lead {
        Lead {
            number: number.to_owned(),
            ..Lead::default()
        }
    }

    /// Moves fields of records stored by earlier versions into their current shape.
    pub fn upgrade(&mut self) {
        if let Some(b) = self.bedrooms.take()
            && self.beds.is_none()
        {
            self.beds = Some(Beds::exact(b));
        }
        if let Some(b) = self.budget.take()
            && self.budget_range.is_none()
        {
            self.budget_range = Some(Budget {
                min: None,
                max: b,
                approx: false,
            });
        }
    }

    fn lang(&self) -> &str {
        self.lang.as_deref().unwrap_or("en")
    }

    fn avoids(&self, channel: &str) -> bool {
        self.avoid.iter().any(|c| c == channel)
    }
}

/// One shard of a day's counters for the owner report; stored under
/// `stats:<yyyy-mm-dd>:<shard>` (the lead's number picks the shard, so concurrent
/// conversations rarely write the same key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    pub leads_in: u32,
    pub messages_in: u32,
    pub responses: u32,
    pub tours_booked: u32,
    pub tours_changed: u32,
    pub tours_cancelled: u32,
    pub reminders_sent: u32,
    pub applications: u32,
    pub handoffs: u32,
    pub questions: u32,
    pub dead_leads: u32,
    pub followups_sent: u32,
    pub llm_replaced: u32,
    pub spanish: u32,
}

impl Stats {
    /// Adds one to counter `name` (names as in the owner report).
    pub fn count(&mut self, name: &str) {
        match name {
            "questions" => self.questions += 1,
            "llm_replaced" => self.llm_replaced += 1,
            "responses" => self.responses += 1,
            _ => {}
        }
    }

    pub fn add(&mut self, o: &Stats) {
        self.leads_in += o.leads_in;
        self.messages_in += o.messages_in;
        self.responses += o.responses;
        self.tours_booked += o.tours_booked;
        self.tours_changed += o.tours_changed;
        self.tours_cancelled += o.tours_cancelled;
        self.reminders_sent += o.reminders_sent;
        self.applications += o.applications;
        self.handoffs += o.handoffs;
        self.questions += o.questions;
        self.dead_leads += o.dead_leads;
        self.followups_sent += o.followups_sent;
        self.llm_replaced += o.llm_replaced;
        self.spanish += o.spanish;
    }
}

/// Shards of the daily counters.
pub const STATS_SHARDS: u64 = 16;

/// The stats key of `number` on local day `days`.
pub fn stats_key(days: i64, number: &str) -> String {
    let shard = compose::fingerprint(number) % STATS_SHARDS;
    format!("stats:{}:{shard:02}", time::iso_date(days))
}

pub const FOLLOWUP_JOB: &str = "followup";
pub const REMINDER_JOB: &str = "tour-reminder";
pub const CHECKIN_JOB: &str = "tour-checkin";

/// Replies kept as fingerprints against repeats.
const KEEP_REPLIES: usize = 40;

pub fn lead_key(number: &str) -> String {
    format!("lead:{number}")
}

pub fn followup_key(number: &str) -> String {
    format!("followup:{number}")
}

/// Index of pending follow-ups, sorted by due time: `due:<13-digit ms>:<number>`.
pub fn due_key(due_ms: u64, number: &str) -> String {
    format!("due:{due_ms:013}:{number}")
}

pub fn parse_due_key(key: &str) -> Option<(u64, String)> {
    let rest = key.strip_prefix("due:")?;
    let (ms, number) = rest.split_once(':')?;
    Some((ms.parse().ok()?, number.to_owned()))
}

/// A reminder or check-in job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TourJob {
    pub number: String,
    pub at_ms: u64,
    /// "day" or "2h" for reminders.
    #[serde(default)]
    pub kind: String,
}

/// One decision: the lead and stats are updated in place, effects are collected.
pub struct Turn<'a> {
    pub p: &'a Portfolio,
    pub langs: &'a Languages,
    pub now_ms: u64,
    pub book: &'a dyn SlotBook,
    /// The conversation so far (inbound?, body), oldest first: for the handoff thread and
    /// to never repeat a reply.
    pub history: Vec<(bool, String)>,
    pub actions: Vec<Action>,
}

impl<'a> Turn<'a> {
    pub fn new(
        p: &'a Portfolio,
        langs: &'a Languages,
        book: &'a dyn SlotBook,
        now_ms: u64,
    ) -> Self {
        Turn {
            p,
            langs,
            now_ms,
            book,
            history: Vec::new(),
            actions: Vec::new(),
        }
    }

    fn today(&self) -> i64 {
        self.p.office.zone().to_local(self.now_ms).days
    }

    fn silence_ms(&self) -> u64 {
        self.p.office.followup_silence_hours.max(1) * MS_PER_HOUR
    }

    fn lang(&self, lead: &Lead) -> &'a Language {
        self.langs.get(lead.lang())
    }

    fn t(&self, lead: &Lead, id: &str, a: &[(&str, &str)]) -> String {
        self.langs.render(lead.lang(), id, 0, a)
    }

    /// Composes `say` into the reply (fresh, fitting) and records it.
    fn send(&mut self, lead: &mut Lead, stats: &mut Stats, say: &Say) -> Option<String> {
        if say.is_empty() {
            return None;
        }
        let earlier: Vec<String> = self
            .history
            .iter()
            .filter(|(inbound, _)| !inbound)
            .map(|(_, b)| b.clone())
            .collect();
        let text = say.compose(self.langs, lead.lang(), &earlier, &lead.replies);
        if text.is_empty() {
            return None;
        }
        compose::remember(&mut lead.replies, &text, KEEP_REPLIES);
        stats.responses += 1;
        self.actions.push(Action::Reply(text.clone()));
        Some(text)
    }

    fn schedule_followup(&mut self, lead: &mut Lead, delay_ms: u64) {
        if let Some(old) = lead.followup_due_ms.take() {
            self.actions
                .push(Action::DeleteKey(due_key(old, &lead.number)));
        }
        let due = self.now_ms + delay_ms;
        lead.followup_due_ms = Some(due);
        self.actions
            .push(Action::SetKey(due_key(due, &lead.number), String::new()));
        self.actions.push(Action::Schedule {
            key: followup_key(&lead.number),
            name: FOLLOWUP_JOB,
            delay_ms,
            payload: lead.number.clone(),
            conversation_id: lead.conversation_id.clone(),
        });
    }

    fn clear_followup(&mut self, lead: &mut Lead) {
        if let Some(old) = lead.followup_due_ms.take() {
            self.actions
                .push(Action::DeleteKey(due_key(old, &lead.number)));
        }
        self.actions
            .push(Action::Cancel(followup_key(&lead.number)));
    }

    fn close(&mut self, lead: &mut Lead, stats: &mut Stats, reason: &str) {
        lead.status = Status::Dead;
        lead.closed_reason = Some(reason.to_owned());
        lead.offered_slots.clear();
        lead.asked = None;
        lead.offer = None;
        stats.dead_leads += 1;
        self.clear_followup(lead);
        if let Some(t) = lead.tour.take() {
            self.release_tour(lead, &t);
        }
    }

    /// The office's contact line without any channel the lead said fails.
    fn contact(&self, lead: &Lead) -> String {
        let o = &self.p.office;
        let phone = !lead.avoids("phone");
        let email = !lead.avoids("email") && !o.email.is_empty();
        match (phone, email) {
            (true, true) => self.t(
                lead,
                "contact_phone_email",
                &[("phone", &o.phone), ("email", &o.email)],
            ),
            (true, false) => self.t(lead, "contact_phone", &[("phone", &o.phone)]),
            (false, true) => self.t(lead, "contact_email", &[("email", &o.email)]),
            (false, false) => self.t(lead, "contact_text", &[]),
        }
    }

    // ---- inbound ----------------------------------------------------------------------

    pub fn on_message(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        body: &str,
        conversation_id: &str,
    ) {
        lead.upgrade();
        let new_lead = lead.messages_in == 0;
        if new_lead {
            lead.first_seen_ms = self.now_ms;
            stats.leads_in += 1;
        }
        lead.messages_in += 1;
        stats.messages_in += 1;
        lead.last_inbound_ms = self.now_ms;
        lead.followups_sent = 0;
        lead.conversation_id = Some(conversation_id.to_owned());
        let bare = body
            .trim()
            .trim_end_matches(['.', '!'])
            .to_ascii_uppercase();
        match bare.as_str() {
            // Carrier opt-out keywords: the host records the opt-out and suppresses
            // replies; we stop following up.
            "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" => {
                lead.opted_out = true;
                self.clear_followup(lead);
                return;
            }
            "START" | "UNSTOP" => lead.opted_out = false,
            "YES" if lead.opted_out => lead.opted_out = false,
            _ if lead.opted_out => return,
            _ => {}
        }
        let today = self.today();
        let cx = Context {
            lang: lead.lang.as_deref(),
            asked: lead.asked,
            scheduling: !lead.offered_slots.is_empty() || lead.wants_tour || lead.tour.is_some(),
            today,
        };
        let r = understand::read(self.p, self.langs, body, &cx);
        if lead.lang.as_deref() != Some(&r.lang) && r.lang != "en" {
            stats.spanish += 1;
        }
        lead.lang = Some(r.lang.clone());
        if matches!(bare.as_str(), "HELP" | "INFO") {
            let mut say = Say::default();
            let o = &self.p.office;
            say.t(
                "help",
                &[
                    ("company", o.company.clone()),
                    ("n", self.p.buildings.len().to_string()),
                    ("contact", self.contact(lead)),
                ],
                ANSWER,
            );
            self.send(lead, stats, &say);
            return;
        }
        if lead.status == Status::Dead {
            let small = r.intents.thanks || r.intents.no || r.intents.done || r.empty;
            if small && r.topics.is_empty() && !r.question {
                return;
            }
            lead.status = Status::Active;
            lead.closed_reason = None;
        }
        let mut say = Say::default();
        self.converse(lead, stats, body, &r, new_lead, &mut say);
        if lead.status != Status::Dead {
            self.send(lead, stats, &say);
        }
        if lead.status == Status::Active {
            self.schedule_followup(lead, self.silence_ms());
        } else if lead.status == Status::HandedOff && lead.followup_due_ms.is_some() {
            self.clear_followup(lead);
        }
    }

    /// Stores what the message states.
    fn remember(&mut self, lead: &mut Lead, r: &Reading) {
        if r.compare.len() >= 2 {
            lead.compare = r.compare.clone();
        } else if r.building.is_some() || !r.hoods.is_empty() {
            lead.compare.clear();
        }
        if let Some(b) = &r.building {
            if lead.building.as_ref() != Some(b) {
                lead.offered_slots.clear();
            }
            lead.building = Some(b.clone());
        }
        if r.beds.is_some() {
            lead.beds = r.beds;
        }
        if r.budget.is_some() {
            lead.budget_range = r.budget;
            lead.budget_open = false;
        } else if r.budget_open {
            lead.budget_range = None;
            lead.budget_open = true;
        }
        if let Some(d) = r.move_in {
            lead.move_in = Some(time::iso_date(d));
            lead.move_flexible = false;
        } else if r.move_flexible && lead.move_in.is_none() {
            lead.move_flexible = true;
        }
        if let Some(p) = r.pets {
            // Keep a weight stated earlier when the new text only repeats "a dog".
            let mut p = p;
            if p.dogs && p.dog_lbs.is_none() {
                p.dog_lbs = lead.pets.and_then(|old| old.dog_lbs);
            }
            lead.pets = Some(p);
        }
        for h in &r.hoods {
            if !lead.areas.contains(h) {
                lead.areas.push(h.clone());
            }
        }
        for k in &r.near {
            if !lead.near.iter().any(|x| x == k) {
                lead.near.push((*k).to_owned());
            }
        }
        if r.voucher_holder {
            lead.voucher = true;
        }
        if r.credit.is_some() {
            lead.credit = r.credit;
        }
        if let Some(n) = &r.name {
            lead.name = Some(n.clone());
        }
        if r.intents.phone_fails && !lead.avoids("phone") {
            lead.avoid.push("phone".into());
        }
        if r.intents.email_fails && !lead.avoids("email") {
            lead.avoid.push("email".into());
        }
        // An answer to the question we asked clears it.
        match lead.asked {
            Some(Field::Bedrooms) if lead.beds.is_some() => lead.asked = None,
            Some(Field::MoveIn) if lead.move_in.is_some() || lead.move_flexible => {
                lead.asked = None
            }
            Some(Field::Budget) if lead.budget_range.is_some() || lead.budget_open => {
                lead.asked = None
            }
            Some(Field::Pets) if lead.pets.is_some() => lead.asked = None,
            _ => {}
        }
    }

    fn converse(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        body: &str,
        r: &Reading,
        new_lead: bool,
        say: &mut Say,
    ) {
        let o = &self.p.office;
        let i = &r.intents;
        self.remember(lead, r);
        if new_lead && !i.who && !i.bot {
            say.t("greet_new", &[("company", o.company.clone())], SOCIAL)
                .or_t("greet_new_short", &[("company", o.company.clone())]);
        }
        if r.lang_requested {
            say.t("lang_switched", &[], ANSWER);
        }
        // Who is texting, honestly.
        if i.who || i.bot || i.called_me {
            let id = if i.bot { "identity_bot" } else { "identity" };
            say.t(id, &[("company", o.company.clone())], ANSWER);
            if i.called_me {
                say.t("identity_called", &[], ANSWER);
                if !lead.avoids("phone") {
                    say.opt(
                        "identity_called_office",
                        &[("phone", o.phone.clone())],
                        DETAIL,
                    );
                }
            }
        }
        // Not interested: close politely.
        if i.done && !i.person && r.topics.is_empty() {
            self.close(lead, stats, "not interested");
            let mut bye = Say::default();
            bye.t("done_bye", &[], ANSWER);
            lead.status = Status::Active; // so the goodbye is sent
            self.send(lead, stats, &bye);
            lead.status = Status::Dead;
            return;
        }
        // A person: asked for, or the lead is upset; and "when will someone call me?".
        let handed_off = lead.status == Status::HandedOff;
        if i.upset
            || i.phone_fails
            || i.email_fails
            || (i.person && !handed_off)
            || (i.when_contact && !handed_off && (i.person || r.question))
        {
            self.handoff(lead, stats, body, r, say);
        } else if handed_off && (i.when_contact || i.person) {
            self.handoff_eta(lead, stats, body, say);
        }
        let upset = i.upset || i.phone_fails;
        // Documents and applications.
        if i.docs_submitted {
            self.docs_received(lead, stats, say);
        }
        // Tours: cancel, reschedule, a named time, a pick among offered times, a request.
        let toured = self.tour_flow(lead, stats, r, say);
        // Questions about the buildings, answered from the data.
        let mut topics = r.topics.clone();
        if topics.is_empty() && i.what_about {
            topics = if lead.last_topics.is_empty() {
                vec![Topic::Availability]
            } else {
                lead.last_topics.clone()
            };
        }
        if topics.is_empty()
            && (r.building.is_some() || r.compare.len() >= 2)
            && !toured
            && (!r.has_facts() || r.beds.is_some() || r.budget.is_some())
            && !i.who
            && !i.bot
            && !i.person
            && !upset
            && !i.done
        {
            topics.push(Topic::Availability);
        }
        if topics.is_empty() && (!r.near.is_empty() || (!r.hoods.is_empty() && !toured)) && !upset {
            topics.push(Topic::Availability);
        }
        if topics.is_empty() && r.credit.is_some() {
            topics.push(Topic::Screening);
        }
        if i.recommend && topics.is_empty() && !toured {
            self.recommend(lead, say);
        }
        let answered_topics = !topics.is_empty() || i.recommend;
        if !topics.is_empty() {
            if !toured {
                lead.last_topics = topics.clone();
            }
            self.answer_topics(lead, stats, r, &topics, say);
        }
        // Facts alone: acknowledge, and recommend once qualified.
        let facts_only = r.has_facts() && !answered_topics && !toured && !i.person && !upset;
        if facts_only {
            self.acknowledge(lead, r, say);
        }
        let said_something = !say.is_empty();
        // A question nobody could answer from the data.
        if !said_something
            && (r.question || r.norm.len_words() >= 4)
            && !i.thanks
            && !i.greeting
            && !i.yes
            && !i.no
            && !r.empty
        {
            self.unknown(lead, stats, body, r, say);
            return;
        }
        // Small talk.
        if !said_something {
            if i.yes
                && let Some(Offer::Tour(b)) = lead.offer.clone()
            {
                lead.offer = None;
                lead.building = Some(b);
                let mut when = r.when.clone();
                when.day = None;
                self.offer_times(lead, &when, None, say);
                return;
            }
            if i.no {
                lead.offer = None;
                if !lead.offered_slots.is_empty() {
                    say.t("no_after_offer", &[], ANSWER);
                    return;
                }
                say.t("no_problem", &[], ANSWER);
            } else if i.thanks {
                match lead.tour.as_ref().filter(|t| t.at_ms > self.now_ms) {
                    Some(t) => {
                        let when = self.label_of(lead, t.at_ms);
                        say.t("thanks_tour", &[("when", when)], ANSWER);
                    }
                    None => {
                        say.t("thanks", &[], ANSWER);
                    }
                }
                return;
            } else if i.greeting {
                let name = lead
                    .name
                    .as_ref()
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default();
                say.t("greeting_back", &[("name", name)], ANSWER);
                return;
            } else if !new_lead {
                // The question we just asked, unanswered: ask it again in other words
                // (saying we did not follow when the text was not a plain "ok").
                if let Some((field, id)) = next_field(lead)
                    && lead.asked == Some(field)
                {
                    if !(i.yes || i.no || i.thanks) {
                        say.t("not_caught", &[], ANSWER);
                    }
                    lead.question_turn = lead.messages_in;
                    say.opt(id, &[], QUESTION).again();
                    return;
                }
                say.t("empty_reply", &[], ANSWER);
                return;
            }
        }
        // At most one next question: a qualification field not known yet.
        if !upset && !toured && !say.asks && lead.tour.is_none() && lead.status != Status::HandedOff
        {
            self.next_step(lead, r, answered_topics, say);
        } else if upset || lead.status == Status::HandedOff {
            lead.asked = None;
        }
    }

    /// The one next step after an answer: the next unknown qualification field, the best
    /// fits once qualified, or a tour offer for the building in focus.
    fn next_step(&mut self, lead: &mut Lead, r: &Reading, answered: bool, say: &mut Say) {
        if let Some((field, id)) = next_field(lead) {
            let skipped = lead.asked == Some(field) && lead.messages_in <= lead.question_turn + 1;
            // A question just passed over: while the lead asks their own questions they
            // lead (no question added); otherwise it is asked again, in its other wording.
            if skipped && r.question {
                return;
            }
            lead.asked = Some(field);
            lead.question_turn = lead.messages_in;
            say.opt(id, &[], QUESTION);
            if skipped {
                say.again();
            }
            return;
        }
        lead.asked = None;
        let just_qualified = r.has_facts() && !answered;
        if just_qualified || (!answered && lead.building.is_none()) {
            self.recommend(lead, say);
        } else if let Some(b) = lead.building.as_deref().and_then(|id| self.p.building(id)) {
            let offered = lead.offer.as_ref() == Some(&Offer::Tour(b.id.clone()))
                && lead.messages_in <= lead.question_turn + 1;
            lead.offer = Some(Offer::Tour(b.id.clone()));
            if !offered {
                lead.question_turn = lead.messages_in;
                say.opt("q_tour", &[("name", b.name.clone())], QUESTION);
            }
        }
    }

    // ---- answers ----------------------------------------------------------------------

    fn focus(&self, lead: &Lead, r: &Reading) -> Option<&'a Building> {
        let p = self.p;
        if r.building.is_none() && (!r.hoods.is_empty() || !r.near.is_empty()) {
            return None; // asks across the portfolio
        }
        r.building
            .as_deref()
            .or(lead.building.as_deref())
            .and_then(|id| p.building(id))
    }

    fn answer_topics(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        r: &Reading,
        topics: &[Topic],
        say: &mut Say,
    ) {
        let compare = if r.compare.len() >= 2 {
            r.compare.clone()
        } else if r.building.is_none() && r.hoods.is_empty() && r.near.is_empty() {
            lead.compare.clone()
        } else {
            Vec::new()
        };
        if compare.len() >= 2 {
            return self.answer_compare(lead, stats, r, &compare, topics, say);
        }
        let focus = self.focus(lead, r);
        let mut listed = false;
        for &t in topics {
            self.answer_topic(lead, stats, r, t, focus, &mut listed, say);
        }
    }

    /// Two or more buildings named together: each topic answered for each of them, in
    /// the order asked; what the office sets for all of them said once.
    fn answer_compare(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        r: &Reading,
        ids: &[String],
        topics: &[Topic],
        say: &mut Say,
    ) {
        let p = self.p;
        let bs: Vec<&'a Building> = ids.iter().filter_map(|id| p.building(id)).collect();
        let o = &p.office;
        let same = |f: &dyn Fn(&Building) -> String| bs.iter().all(|b| f(b) == f(bs[0]));
        for &t in topics {
            match t {
                Topic::Availability | Topic::Rent | Topic::Size => {
                    self.answer_units_of(lead, r, &bs, say);
                }
                Topic::Fees
                    if same(&|b: &Building| {
                        serde_json::to_string(b.fees(o)).unwrap_or_default()
                    }) =>
                {
                    self.answer_fees(lead, stats, r, None, say)
                }
                Topic::Lease
                    if same(&|b: &Building| {
                        serde_json::to_string(b.lease(o)).unwrap_or_default()
                    }) =>
                {
                    self.answer_lease(lead, None, say)
                }
                Topic::Vouchers
                    if same(&|b: &Building| {
                        serde_json::to_string(b.vouchers(o)).unwrap_or_default()
                    }) =>
                {
                    self.answer_vouchers(lead, None, say)
                }
                Topic::OfficeHours | Topic::Screening | Topic::Languages | Topic::Apply => {
                    let mut listed = true;
                    self.answer_topic(lead, stats, r, t, None, &mut listed, say);
                }
                _ => {
                    for b in &bs {
                        let mut listed = true;
                        self.answer_topic(lead, stats, r, t, Some(b), &mut listed, say);
                    }
                }
            }
        }
    }

    /// Units at each of `bs` that fit what the lead said, one line a building, and which
    /// starts lower when that was asked.
    fn answer_units_of(&mut self, lead: &Lead, r: &Reading, bs: &[&'a Building], say: &mut Say) {
        let today = self.today();
        let mut lines = Vec::new();
        let mut mins: Vec<(&Building, u32)> = Vec::new();
        let mut none = Vec::new();
        for b in bs {
            let units: Vec<&Unit> = b.units.iter().filter(|u| self.fits(lead, u)).collect();
            let Some(min) = units.iter().map(|u| u.rent).min() else {
                none.push(b.short_name());
                continue;
            };
            mins.push((b, min));
            let mut brs: Vec<u8> = units.iter().map(|u| u.bedrooms).collect();
            brs.sort();
            brs.dedup();
            let beds = match (brs.first(), brs.last()) {
                (Some(&a), Some(&z)) if a == z => self.beds_label(lead, Beds::exact(a)),
                (Some(&a), Some(&z)) => self.beds_label(lead, Beds { min: a, max: z }),
                _ => String::new(),
            };
            let now = units.iter().any(|u| data::ready_day(u, today) <= today);
            let soon = if now {
                self.t(lead, "some_avail_now", &[])
            } else {
                String::new()
            };
            lines.push(self.t(
                lead,
                "portfolio_line",
                &[
                    ("name", b.short_name()),
                    ("hood", &b.neighborhood),
                    ("beds", &beds),
                    ("rent", &dollars(min.into())),
                    ("soon", &soon),
                ],
            ));
        }
        let filter = self.filter_label(lead);
        if !lines.is_empty() {
            say.t(
                "compare_avail",
                &[("filter", filter.clone()), ("list", lines.join("; "))],
                ANSWER,
            );
        }
        if !none.is_empty() {
            say.t(
                "compare_none",
                &[
                    ("list", self.lang(lead).join_and(&none)),
                    ("filter", filter),
                ],
                ANSWER,
            );
        }
        if r.cheaper {
            self.say_cheapest(lead, &mins, say);
        }
    }

    /// Which of `mins` (a building, its lowest rent that fits) starts lowest: "cheaper"
    /// of two, "cheapest" of more, or that they tie. Nothing for fewer than two.
    fn say_cheapest(&self, lead: &Lead, mins: &[(&Building, u32)], say: &mut Say) {
        if mins.len() < 2 {
            return;
        }
        let low = mins.iter().map(|m| m.1).min().unwrap_or(0);
        let lowest: Vec<&str> = mins
            .iter()
            .filter(|m| m.1 == low)
            .map(|m| m.0.short_name())
            .collect();
        if lowest.len() == mins.len() {
            say.t("cheaper_tie", &[("rent", dollars(low.into()))], ANSWER);
        } else {
            let id = if mins.len() == 2 {
                "cheaper"
            } else {
                "cheapest"
            };
            say.t(
                id,
                &[
                    ("name", self.lang(lead).join_and(&lowest)),
                    ("rent", dollars(low.into())),
                ],
                ANSWER,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn answer_topic(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        r: &Reading,
        t: Topic,
        focus: Option<&'a Building>,
        listed: &mut bool,
        say: &mut Say,
    ) {
        {
            match (t, focus) {
                (Topic::Availability | Topic::Rent | Topic::Size, Some(b)) => {
                    if !*listed {
                        self.answer_units(lead, r, b, say);
                        *listed = true;
                    }
                }
                (Topic::Availability | Topic::Rent | Topic::Size, None) => {
                    if !*listed {
                        self.answer_portfolio_units(lead, r, say);
                        *listed = true;
                    }
                }
                (Topic::Pets, Some(b)) => self.answer_pets(lead, b, say),
                (Topic::Pets, None) => self.answer_portfolio_pets(lead, r, say),
                (Topic::Parking, Some(b)) => self.answer_parking(lead, b, say),
                (Topic::Parking, None) => self.answer_portfolio_parking(lead, say),
                (Topic::Location, Some(b)) => self.answer_location(lead, b, say),
                (Topic::Location, None) => self.answer_portfolio_location(lead, say),
                (Topic::Distance, _) => self.answer_distance(lead, stats, r, focus, say),
                (Topic::Amenities, Some(b)) => {
                    let lang = lead.lang().to_owned();
                    let list: Vec<&str> = b.amenities.iter().map(|a| a.get(&lang)).collect();
                    say.t(
                        "amenities",
                        &[
                            ("name", b.name.clone()),
                            ("list", self.lang(lead).join_and(&list)),
                        ],
                        ANSWER,
                    );
                }
                (Topic::Amenities, None) => {
                    say.t("amenities_which", &[], ANSWER);
                }
                (Topic::Utilities, Some(b)) => self.answer_utilities(lead, stats, r, b, say),
                (Topic::Utilities, None) => self.answer_portfolio_utilities(lead, r, say),
                (Topic::Laundry, Some(b)) => self.answer_laundry(lead, b, say),
                (Topic::Laundry, None) => self.answer_portfolio_laundry(lead, say),
                (Topic::OfficeHours, _) => self.answer_office_hours(lead, say),
                (Topic::TourHours, Some(b)) => {
                    say.t(
                        "tour_hours",
                        &[
                            ("name", b.name.clone()),
                            ("hours", b.tour_hours.describe(self.lang(lead))),
                        ],
                        ANSWER,
                    );
                }
                (Topic::TourHours, None) => self.answer_office_hours(lead, say),
                (Topic::Fees, _) => self.answer_fees(lead, stats, r, focus, say),
                (Topic::Lease, _) => self.answer_lease(lead, focus, say),
                (Topic::Screening, _) => self.answer_screening(lead, say),
                (Topic::Vouchers, _) => self.answer_vouchers(lead, focus, say),
                (Topic::Languages, _) => self.answer_languages(lead, say),
                (Topic::Apply, _) => self.answer_apply(lead, stats, r, say),
            }
        }
    }

    fn avail_label(&self, lead: &Lead, u: &Unit) -> String {
        let today = self.today();
        let ready = data::ready_day(u, today);
        if ready <= today {
            self.t(lead, "avail_now", &[])
        } else {
            self.t(
                lead,
                "avail_on",
                &[("date", &self.lang(lead).month_day(ready))],
            )
        }
    }

    fn layout(&self, lead: &Lead, u: &Unit) -> String {
        data::layout(u, &self.t(lead, "studio_label", &[]))
    }

    fn beds_label(&self, lead: &Lead, beds: Beds) -> String {
        match beds.single() {
            Some(0) => self.t(lead, "fact_studio", &[]),
            Some(n) => self.t(lead, "fact_beds", &[("n", &n.to_string())]),
            None if beds.max >= 9 => {
                self.t(lead, "fact_beds_plus", &[("n", &beds.min.to_string())])
            }
            None => self.t(
                lead,
                "fact_beds_range",
                &[
                    ("min", &beds.min.to_string()),
                    ("max", &beds.max.to_string()),
                ],
            ),
        }
    }

    /// The units of `b` as a list, long and short forms.
    fn unit_lists(&self, lead: &Lead, units: &[&Unit]) -> (String, String) {
        let long: Vec<String> = units
            .iter()
            .map(|u| {
                self.t(
                    lead,
                    "unit_line",
                    &[
                        ("layout", &self.layout(lead, u)),
                        ("rent", &dollars(u.rent.into())),
                        ("sqft", &u.sqft.to_string()),
                        ("avail", &self.avail_label(lead, u)),
                    ],
                )
            })
            .collect();
        let short: Vec<String> = units
            .iter()
            .map(|u| {
                self.t(
                    lead,
                    "unit_line_short",
                    &[
                        ("layout", &self.layout(lead, u)),
                        ("rent", &dollars(u.rent.into())),
                        ("avail", &self.avail_label(lead, u)),
                    ],
                )
            })
            .collect();
        (long.join("; "), short.join("; "))
    }

    fn answer_units(&mut self, lead: &Lead, r: &Reading, b: &Building, say: &mut Say) {
        let beds = r.beds.or(lead.beds);
        let mut units: Vec<&Unit> = b
            .units
            .iter()
            .filter(|u| beds.is_none_or(|br| br.contains(u.bedrooms)))
            .collect();
        units.sort_by_key(|u| (u.bedrooms, u.rent));
        let head = [
            ("name", b.name.clone()),
            ("street", b.street().to_owned()),
            ("hood", b.neighborhood.clone()),
        ];
        if units.is_empty() {
            let mut all: Vec<&Unit> = b.units.iter().collect();
            all.sort_by_key(|u| (u.bedrooms, u.rent));
            let (long, short) = self.unit_lists(lead, &all);
            let beds_label = beds.map(|x| self.beds_label(lead, x)).unwrap_or_default();
            let mut a = head.to_vec();
            a.push(("beds", beds_label));
            let mut s = a.clone();
            a.push(("list", long));
            s.push(("list", short));
            say.t("avail_none_beds", &a, ANSWER)
                .or_t("avail_none_beds", &s);
            return;
        }
        let (long, short) = self.unit_lists(lead, &units);
        let yes = r.question && beds.is_some() && self.langs.lex.has(&r.norm, "yes_no_question");
        let lead_in = if yes {
            self.t(lead, "yes_lead_in", &[])
        } else {
            String::new()
        };
        let mut a = head.to_vec();
        a.push(("lead_in", lead_in));
        let mut s = a.clone();
        a.push(("list", long));
        s.push(("list", short));
        say.t("avail_building", &a, ANSWER)
            .or_t("avail_building", &s);
        // A dog over this building's limit is worth saying at once.
        self.pet_caveat(lead, b, say);
    }

    fn filter_label(&self, lead: &Lead) -> String {
        let mut f = Vec::new();
        if let Some(b) = lead.beds {
            f.push(self.beds_label(lead, b));
        }
        if let Some(bu) = lead.budget_range {
            f.push(self.t(lead, "filter_under", &[("amount", &dollars(bu.max.into()))]));
        }
        if let Some(p) = lead.pets
            && p.dogs
        {
            f.push(match p.dog_lbs {
                Some(lbs) => self.t(lead, "filter_dog_lbs", &[("lbs", &lbs.to_string())]),
                None => self.t(lead, "filter_dog", &[]),
            });
        }
        if let Some(p) = lead.pets
            && p.cats
        {
            f.push(self.t(lead, "filter_cat", &[]));
        }
        for k in &lead.near {
            f.push(self.t(
                lead,
                "filter_near",
                &[("kind", &self.t(lead, &format!("landmark_{k}"), &[]))],
            ));
        }
        if f.is_empty() {
            String::new()
        } else {
            format!(" ({})", f.join(", "))
        }
    }

    /// Buildings that fit the lead's pets, areas and landmarks.
    fn pool(&self, lead: &Lead) -> Vec<&'a Building> {
        let near_min = self.p.office.near_walk_minutes;
        self.p
            .buildings
            .iter()
            .filter(|b| lead.areas.is_empty() || lead.areas.contains(&b.neighborhood))
            .filter(|b| lead.pets.is_none_or(|p| b.allows(&p)))
            .filter(|b| lead.near.iter().all(|k| b.near(k, near_min)))
            .collect()
    }

    fn fits(&self, lead: &Lead, u: &Unit) -> bool {
        lead.beds.is_none_or(|b| b.contains(u.bedrooms))
            && lead.budget_range.is_none_or(|bu| {
                let cap = if bu.approx {
                    bu.max + bu.max / 20
                } else {
                    bu.max
                };
                u.rent <= cap
            })
    }

    /// What is open across the portfolio for what the lead said, one line a building;
    /// asked for the cheapest ("whats the cheapest"), that answer comes first.
    fn answer_portfolio_units(&mut self, lead: &Lead, r: &Reading, say: &mut Say) {
        let today = self.today();
        let mut lines = Vec::new();
        let mut short = Vec::new();
        let mut mins: Vec<(&Building, u32)> = Vec::new();
        for b in self.pool(lead) {
            let units: Vec<&Unit> = b.units.iter().filter(|u| self.fits(lead, u)).collect();
            if units.is_empty() {
                continue;
            }
            let min = units.iter().map(|u| u.rent).min().unwrap_or(0);
            mins.push((b, min));
            let mut brs: Vec<u8> = units.iter().map(|u| u.bedrooms).collect();
            brs.sort();
            brs.dedup();
            let beds = match (brs.first(), brs.last()) {
                (Some(&a), Some(&z)) if a == z => self.beds_label(lead, Beds::exact(a)),
                (Some(&a), Some(&z)) => self.beds_label(lead, Beds { min: a, max: z }),
                _ => String::new(),
            };
            let now = units.iter().any(|u| data::ready_day(u, today) <= today);
            let soon = if now {
                self.t(lead, "some_avail_now", &[])
            } else {
                String::new()
            };
            lines.push(self.t(
                lead,
                "portfolio_line",
                &[
                    ("name", b.short_name()),
                    ("hood", &b.neighborhood),
                    ("beds", &beds),
                    ("rent", &dollars(min.into())),
                    ("soon", &soon),
                ],
            ));
            short.push(self.t(
                lead,
                "portfolio_line_short",
                &[("name", b.short_name()), ("rent", &dollars(min.into()))],
            ));
        }
        let place = if lead.areas.is_empty() {
            String::new()
        } else {
            self.t(
                lead,
                "where_in",
                &[("area", &self.lang(lead).join_or(&lead.areas))],
            )
        };
        let filter = self.filter_label(lead);
        let constrained =
            !lead.near.is_empty() || !lead.areas.is_empty() || lead.budget_range.is_some();
        if lines.is_empty() && constrained {
            // Nothing fits everything: the closest options, saying what was set aside.
            let mut l = lead.clone();
            self.recommend(&mut l, say);
        } else if lines.is_empty() {
            say.t(
                "portfolio_none",
                &[("where", place), ("filter", filter)],
                ANSWER,
            );
        } else {
            if r.cheaper {
                self.say_cheapest(lead, &mins, say);
            }
            say.t(
                "portfolio_avail",
                &[
                    ("where", place.clone()),
                    ("filter", filter.clone()),
                    ("list", lines.join("; ")),
                ],
                ANSWER,
            )
            .or_t(
                "portfolio_avail",
                &[
                    ("where", place),
                    ("filter", filter),
                    ("list", short.join("; ")),
                ],
            );
        }
    }

    fn pet_summary(&self, lead: &Lead, b: &Building) -> String {
        let p = &b.pets;
        if !p.cats && !p.dogs {
            return self.t(lead, "pets_none_allowed", &[]);
        }
        let mut parts = vec![if p.cats {
            self.t(lead, "pets_cats_ok", &[])
        } else {
            self.t(lead, "pets_no_cats", &[])
        }];
        parts.push(match (p.dogs, p.dog_weight_limit_lbs) {
            (true, Some(lbs)) => self.t(lead, "pets_dogs_limit", &[("lbs", &lbs.to_string())]),
            (true, None) => self.t(lead, "pets_dogs_ok", &[]),
            (false, _) => self.t(lead, "pets_no_dogs", &[]),
        });
        if let Some(n) = p.max_pets {
            parts.push(self.t(
                lead,
                if n == 1 { "pets_max_one" } else { "pets_max" },
                &[("n", &n.to_string())],
            ));
        }
        let mut fees = Vec::new();
        if let Some(d) = p.pet_deposit {
            fees.push(self.t(lead, "pets_deposit", &[("amount", &dollars(d.into()))]));
        }
        if let Some(rent) = p.monthly_pet_rent {
            fees.push(self.t(lead, "pets_rent", &[("amount", &dollars(rent.into()))]));
        }
        let mut s = parts.join("; ");
        if !fees.is_empty() {
            s.push_str("; ");
            s.push_str(&fees.join(" + "));
        }
        s.push('.');
        capitalize(&s)
    }

    fn answer_pets(&mut self, lead: &Lead, b: &Building, say: &mut Say) {
        say.t(
            "pets_building",
            &[
                ("name", b.name.clone()),
                ("summary", self.pet_summary(lead, b)),
            ],
            ANSWER,
        );
        if lead.pets.is_some_and(|p| p.service) {
            say.t("pets_service", &[], ANSWER);
        }
        self.pet_caveat(lead, b, say);
    }

    /// When the lead's dog is over `b`'s limit (or pets are not allowed): say so, and
    /// where it would be welcome.
    fn pet_caveat(&self, lead: &Lead, b: &Building, say: &mut Say) {
        let Some(pets) = lead.pets else { return };
        if b.allows(&pets) || pets.service {
            return;
        }
        let lbs = pets.dog_lbs;
        match (pets.dogs, b.pets.dogs, b.pets.dog_weight_limit_lbs, lbs) {
            (true, true, Some(limit), Some(w)) if w > limit => {
                say.t(
                    "pets_dog_too_heavy",
                    &[
                        ("name", b.short_name().to_owned()),
                        ("limit", limit.to_string()),
                        ("lbs", w.to_string()),
                    ],
                    CAVEAT,
                );
            }
            _ => {
                say.t(
                    "pets_not_here",
                    &[("name", b.short_name().to_owned())],
                    CAVEAT,
                );
            }
        }
        let ok: Vec<&str> = self
            .p
            .buildings
            .iter()
            .filter(|x| x.allows(&pets))
            .map(|x| x.short_name())
            .collect();
        if ok.is_empty() {
            say.opt("pets_fit_none", &[], CAVEAT);
        } else {
            say.opt(
                "pets_fit_list",
                &[("list", self.lang(lead).join_and(&ok))],
                CAVEAT,
            );
        }
    }

    fn answer_portfolio_pets(&mut self, lead: &Lead, r: &Reading, say: &mut Say) {
        let lang = self.lang(lead);
        let pool: Vec<&Building> = self
            .p
            .buildings
            .iter()
            .filter(|b| lead.areas.is_empty() || lead.areas.contains(&b.neighborhood))
            .collect();
        if let Some(pets) = lead.pets
            && pets.dogs
            && let Some(w) = pets.dog_lbs
        {
            let ok: Vec<String> = pool
                .iter()
                .filter(|b| b.allows(&pets))
                .map(|b| match b.pets.dog_weight_limit_lbs {
                    Some(l) => self.t(
                        lead,
                        "name_limit",
                        &[("name", b.short_name()), ("lbs", &l.to_string())],
                    ),
                    None => b.short_name().to_owned(),
                })
                .collect();
            if ok.is_empty() {
                say.t("pets_fit_none_lbs", &[("lbs", w.to_string())], ANSWER);
            } else {
                say.t(
                    "pets_fit_lbs",
                    &[("lbs", w.to_string()), ("list", lang.join_and(&ok))],
                    ANSWER,
                );
            }
            return;
        }
        let dogs: Vec<&str> = pool
            .iter()
            .filter(|b| b.pets.dogs)
            .map(|b| b.short_name())
            .collect();
        let cats: Vec<&str> = pool
            .iter()
            .filter(|b| b.pets.cats)
            .map(|b| b.short_name())
            .collect();
        let all = self.t(lead, "all_of_them", &[]);
        // "do you take cats?": the cats' answer alone; "any pets?", or both kinds, both.
        let lex = &self.langs.lex;
        let (cat, dog) = (lex.has(&r.norm, "cat"), lex.has(&r.norm, "dog"));
        if cat != dog {
            let (named, yes, no) = if cat {
                (&cats, "portfolio_cats", "portfolio_no_cats")
            } else {
                (&dogs, "portfolio_dogs", "portfolio_no_dogs")
            };
            if named.is_empty() {
                say.t(no, &[], ANSWER);
            } else {
                // "every building but Dixie Highway Commons" when that is shorter.
                let left_out: Vec<&str> = pool
                    .iter()
                    .map(|b| b.short_name())
                    .filter(|n| !named.contains(n))
                    .collect();
                let list = if left_out.is_empty() {
                    all
                } else if left_out.len() * 2 < named.len() {
                    self.t(lead, "all_but", &[("list", &lang.join_and(&left_out))])
                } else {
                    lang.join_and(named)
                };
                say.t(yes, &[("list", list)], ANSWER);
                // Dropped first when the reply answers more than this.
                say.opt("pet_fees_ask", &[], DETAIL);
            }
            return;
        }
        let none = self.t(lead, "none_of_them", &[]);
        say.t(
            "portfolio_pets",
            &[
                (
                    "dogs",
                    if dogs.is_empty() {
                        none.clone()
                    } else if dogs.len() == pool.len() {
                        all.clone()
                    } else {
                        lang.join_and(&dogs)
                    },
                ),
                (
                    "cats",
                    if cats.is_empty() {
                        none
                    } else if cats.len() == pool.len() {
                        all
                    } else {
                        lang.join_and(&cats)
                    },
                ),
            ],
            ANSWER,
        );
    }

    fn answer_parking(&mut self, lead: &Lead, b: &Building, say: &mut Say) {
        let kind = b.parking.kind.get(lead.lang()).to_owned();
        if b.parking.monthly_fee == 0 {
            say.t(
                "parking_free",
                &[("name", b.name.clone()), ("kind", kind)],
                ANSWER,
            );
        } else {
            say.t(
                "parking_paid",
                &[
                    ("name", b.name.clone()),
                    ("kind", kind),
                    ("fee", dollars(b.parking.monthly_fee.into())),
                ],
                ANSWER,
            );
        }
    }

    fn answer_portfolio_parking(&mut self, lead: &Lead, say: &mut Say) {
        let list: Vec<String> = self
            .pool(lead)
            .iter()
            .map(|b| {
                if b.parking.monthly_fee == 0 {
                    self.t(lead, "parking_line_free", &[("name", b.short_name())])
                } else {
                    self.t(
                        lead,
                        "parking_line_paid",
                        &[
                            ("name", b.short_name()),
                            ("fee", &dollars(b.parking.monthly_fee.into())),
                        ],
                    )
                }
            })
            .collect();
        say.t("portfolio_parking", &[("list", list.join("; "))], ANSWER);
    }

    fn landmark_line(&self, lead: &Lead, l: &data::Landmark) -> String {
        self.t(
            lead,
            "landmark_line",
            &[("name", &l.name), ("min", &l.walk_minutes.to_string())],
        )
    }

    fn answer_location(&mut self, lead: &Lead, b: &Building, say: &mut Say) {
        say.t(
            "location",
            &[
                ("name", b.name.clone()),
                ("address", b.address.clone()),
                ("hood", b.neighborhood.clone()),
            ],
            ANSWER,
        );
        let mut near: Vec<&data::Landmark> = b.landmarks.iter().collect();
        near.sort_by_key(|l| l.walk_minutes);
        let list: Vec<String> = near
            .iter()
            .take(3)
            .map(|l| self.landmark_line(lead, l))
            .collect();
        if !list.is_empty() {
            say.opt("location_near", &[("list", list.join("; "))], DETAIL);
        }
    }

    fn answer_portfolio_location(&mut self, lead: &Lead, say: &mut Say) {
        let groups: Vec<String> = self
            .p
            .neighborhoods()
            .iter()
            .filter(|h| lead.areas.is_empty() || lead.areas.contains(h))
            .map(|h| {
                let names: Vec<&str> = self
                    .p
                    .buildings
                    .iter()
                    .filter(|b| &b.neighborhood == h)
                    .map(|b| b.short_name())
                    .collect();
                format!("{h}: {}", names.join(", "))
            })
            .collect();
        say.t(
            "portfolio_location",
            &[("groups", groups.join("; "))],
            ANSWER,
        );
        if !self.p.office.office_address.is_empty() {
            say.opt(
                "office_location",
                &[("address", self.p.office.office_address.clone())],
                DETAIL,
            );
        }
    }

    fn answer_distance(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        r: &Reading,
        focus: Option<&Building>,
        say: &mut Say,
    ) {
        let Some(kind) = r.landmark else {
            return self.silent(lead, stats, "silent_distance_generic", &[], focus, say);
        };
        let kind_name = self.t(lead, &format!("landmark_{kind}"), &[]);
        match focus {
            Some(b) => match b.landmark(kind) {
                Some(l) => {
                    say.t(
                        "distance",
                        &[
                            ("name", b.short_name().to_owned()),
                            ("min", l.walk_minutes.to_string()),
                            ("landmark", l.name.clone()),
                        ],
                        ANSWER,
                    );
                }
                None => self.silent(
                    lead,
                    stats,
                    "silent_distance",
                    &[("kind", kind_name)],
                    Some(b),
                    say,
                ),
            },
            None => self.answer_near(lead, &[kind], say),
        }
    }

    /// Buildings within walking distance of each landmark kind in `kinds`.
    fn answer_near(&mut self, lead: &Lead, kinds: &[&str], say: &mut Say) {
        let near_min = self.p.office.near_walk_minutes;
        for kind in kinds {
            let mut list: Vec<(&Building, u32)> = self
                .p
                .buildings
                .iter()
                .filter(|b| lead.areas.is_empty() || lead.areas.contains(&b.neighborhood))
                .filter_map(|b| {
                    b.landmark(kind)
                        .filter(|l| l.walk_minutes <= near_min)
                        .map(|l| (b, l.walk_minutes))
                })
                .collect();
            list.sort_by_key(|(_, m)| *m);
            let kind_name = self.t(lead, &format!("landmark_{kind}"), &[]);
            if list.is_empty() {
                say.t(
                    "near_none",
                    &[("kind", kind_name), ("min", near_min.to_string())],
                    ANSWER,
                );
            } else {
                let items: Vec<String> = list
                    .iter()
                    .map(|(b, m)| {
                        self.t(
                            lead,
                            "name_minutes",
                            &[("name", b.short_name()), ("min", &m.to_string())],
                        )
                    })
                    .collect();
                say.t(
                    "near_list",
                    &[
                        ("kind", kind_name),
                        ("min", near_min.to_string()),
                        ("list", self.lang(lead).join_and(&items)),
                    ],
                    ANSWER,
                );
            }
        }
    }

    fn utility_name(&self, lead: &Lead, key: &str) -> String {
        self.t(lead, &format!("utility_{key}"), &[])
    }

    fn answer_utilities(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        r: &Reading,
        b: &'a Building,
        say: &mut Say,
    ) {
        let lang = self.lang(lead);
        if !r.utilities.is_empty() {
            for u in &r.utilities {
                let name = self.utility_name(lead, u);
                if b.utilities_included.iter().any(|x| x == u) {
                    say.t(
                        "utility_yes",
                        &[
                            ("utility", capitalize(&name)),
                            ("name", b.short_name().to_owned()),
                        ],
                        ANSWER,
                    );
                } else if b.tenant_pays.iter().any(|x| x == u) {
                    say.t(
                        "utility_no",
                        &[("utility", name), ("name", b.short_name().to_owned())],
                        ANSWER,
                    );
                } else {
                    self.silent(
                        lead,
                        stats,
                        "silent_utility",
                        &[("utility", name)],
                        Some(b),
                        say,
                    );
                }
            }
            return;
        }
        let inc: Vec<String> = b
            .utilities_included
            .iter()
            .map(|u| self.utility_name(lead, u))
            .collect();
        let pays: Vec<String> = b
            .tenant_pays
            .iter()
            .map(|u| self.utility_name(lead, u))
            .collect();
        let a = [
            ("name", b.short_name().to_owned()),
            ("included", lang.join_and(&inc)),
            ("tenant", lang.join_and(&pays)),
        ];
        let id = match (inc.is_empty(), pays.is_empty()) {
            (false, false) => "utilities",
            (true, false) => "utilities_none_included",
            (false, true) => "utilities_all",
            (true, true) => return self.silent(lead, stats, "silent_utilities", &[], Some(b), say),
        };
        say.t(id, &a, ANSWER);
    }

    fn answer_portfolio_utilities(&mut self, lead: &Lead, r: &Reading, say: &mut Say) {
        let lang = self.lang(lead);
        let pool = self.pool(lead);
        if let [u] = r.utilities[..] {
            let name = self.utility_name(lead, u);
            let yes: Vec<&str> = pool
                .iter()
                .filter(|b| b.utilities_included.iter().any(|x| x == u))
                .map(|b| b.short_name())
                .collect();
            let id = if yes.is_empty() {
                "utility_portfolio_none"
            } else {
                "utility_portfolio"
            };
            say.t(
                id,
                &[("utility", name), ("list", lang.join_and(&yes))],
                ANSWER,
            );
            return;
        }
        let lines: Vec<String> = pool
            .iter()
            .map(|b| {
                let inc: Vec<String> = b
                    .utilities_included
                    .iter()
                    .map(|u| self.utility_name(lead, u))
                    .collect();
                if inc.is_empty() {
                    self.t(lead, "utilities_line_none", &[("name", b.short_name())])
                } else {
                    self.t(
                        lead,
                        "utilities_line",
                        &[("name", b.short_name()), ("included", &lang.join_and(&inc))],
                    )
                }
            })
            .collect();
        say.t("utilities_portfolio", &[("list", lines.join("; "))], ANSWER);
    }

    fn answer_laundry(&mut self, lead: &Lead, b: &Building, say: &mut Say) {
        let what = self.t(lead, laundry_id(b.laundry.kind), &[]);
        let note = b.laundry.note.get(lead.lang());
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(" ({note})")
        };
        say.t(
            "laundry",
            &[
                ("name", b.short_name().to_owned()),
                ("what", what),
                ("note", note),
            ],
            ANSWER,
        );
    }

    fn answer_portfolio_laundry(&mut self, lead: &Lead, say: &mut Say) {
        let lang = self.lang(lead);
        let pool = self.pool(lead);
        let in_unit: Vec<&str> = pool
            .iter()
            .filter(|b| b.laundry.kind == LaundryKind::InUnit)
            .map(|b| b.short_name())
            .collect();
        let on_site: Vec<&str> = pool
            .iter()
            .filter(|b| b.laundry.kind == LaundryKind::OnSite)
            .map(|b| b.short_name())
            .collect();
        let none = self.t(lead, "none_of_them", &[]);
        say.t(
            "laundry_portfolio",
            &[
                (
                    "in_unit",
                    if in_unit.is_empty() {
                        none.clone()
                    } else {
                        lang.join_and(&in_unit)
                    },
                ),
                (
                    "on_site",
                    if on_site.is_empty() {
                        none
                    } else {
                        lang.join_and(&on_site)
                    },
                ),
            ],
            ANSWER,
        );
    }

    fn answer_office_hours(&mut self, lead: &Lead, say: &mut Say) {
        let o = &self.p.office;
        let lang = self.lang(lead);
        let zone = o.zone();
        let now = zone.to_local(self.now_ms);
        let status = if o.office_hours.is_open(now) {
            self.t(lead, "office_open_now", &[])
        } else {
            match o.office_hours.next_open(now) {
                Some(next) => {
                    let at = self.t(lead, "at_word", &[]);
                    let when = lang.when(zone, self.now_ms, zone.to_utc_ms(next), &at);
                    self.t(lead, "office_closed_now", &[("next", &when)])
                }
                None => String::new(),
            }
        };
        say.t(
            "office_hours",
            &[("hours", o.office_hours.describe(lang)), ("now", status)],
            ANSWER,
        );
        if !o.office_address.is_empty() {
            say.opt(
                "office_location",
                &[("address", o.office_address.clone())],
                DETAIL,
            );
        }
    }

    fn answer_fees(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        r: &Reading,
        focus: Option<&'a Building>,
        say: &mut Say,
    ) {
        let o = &self.p.office;
        let (fees, name) = match focus {
            Some(b) => (b.fees(o), b.short_name().to_owned()),
            None => (&o.fees, o.company.clone()),
        };
        let lex = &self.langs.lex;
        // A specific fee asked about that is not published: a person confirms.
        let asked_admin = lex.has(&r.norm, "fee_admin");
        let mut items = Vec::new();
        if let Some(a) = fees.application_fee {
            let id = if fees.application_fee_per_adult {
                "fee_app_per_adult"
            } else {
                "fee_app"
            };
            items.push(self.t(lead, id, &[("amount", &dollars(a.into()))]));
        }
        match (fees.security_deposit, fees.security_deposit_months) {
            (Some(d), _) => {
                items.push(self.t(lead, "fee_deposit", &[("amount", &dollars(d.into()))]))
            }
            (None, Some(m)) => {
                items.push(self.t(lead, "fee_deposit_months", &[("months", &m.to_string())]))
            }
            _ => {}
        }
        match fees.move_in_fee {
            Some(0) => items.push(self.t(lead, "fee_move_in_none", &[])),
            Some(f) => items.push(self.t(lead, "fee_move_in", &[("amount", &dollars(f.into()))])),
            None => {}
        }
        if let Some(f) = fees.admin_fee {
            items.push(self.t(lead, "fee_admin", &[("amount", &dollars(f.into()))]));
        }
        if items.is_empty() {
            return self.silent(lead, stats, "silent_fees", &[], focus, say);
        }
        say.t(
            "fees",
            &[("name", name), ("list", self.lang(lead).join_and(&items))],
            ANSWER,
        );
        if asked_admin && fees.admin_fee.is_none() {
            self.silent(lead, stats, "silent_admin_fee", &[], focus, say);
        }
        if let Some(b) = focus
            && lead.pets.is_some_and(|p| p.cats || p.dogs)
        {
            say.opt(
                "pets_building",
                &[
                    ("name", b.name.clone()),
                    ("summary", self.pet_summary(lead, b)),
                ],
                DETAIL,
            );
        }
    }

    fn answer_lease(&mut self, lead: &Lead, focus: Option<&Building>, say: &mut Say) {
        let o = &self.p.office;
        let l = focus.map_or(&o.lease, |b| b.lease(o));
        let months: Vec<String> = l.months.iter().map(u32::to_string).collect();
        let short = match (l.short_term_months, l.short_term_premium) {
            (Some(m), Some(p)) => self.t(
                lead,
                "lease_short",
                &[("short", &m.to_string()), ("premium", &dollars(p.into()))],
            ),
            (Some(m), None) => self.t(lead, "lease_short_same", &[("short", &m.to_string())]),
            _ => String::new(),
        };
        let note = l.note.get(lead.lang());
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(" {note}")
        };
        say.t(
            "lease",
            &[
                ("months", self.lang(lead).join_or(&months)),
                ("short", short),
                ("note", note),
            ],
            ANSWER,
        );
    }

    fn answer_screening(&mut self, lead: &Lead, say: &mut Say) {
        let s = &self.p.office.screening;
        let lang = lead.lang();
        if let Some(m) = s.income_multiple {
            say.t("screening_income", &[("x", trim_float(m))], ANSWER);
        }
        match (lead.credit, s.min_credit_score) {
            (Some(c), Some(min)) if c >= min => {
                say.t(
                    "screening_credit_meets",
                    &[("score", c.to_string()), ("min", min.to_string())],
                    ANSWER,
                );
            }
            (Some(c), Some(min)) => {
                say.t(
                    "screening_credit_below",
                    &[("score", c.to_string()), ("min", min.to_string())],
                    ANSWER,
                );
            }
            // No minimum: the published credit text says so.
            _ => {}
        }
        say.raw(s.credit.get(lang).to_owned(), ANSWER, true);
        say.raw(s.evictions.get(lang).to_owned(), DETAIL, false);
        say.raw(s.criminal.get(lang).to_owned(), DETAIL, false);
    }

    fn answer_vouchers(&mut self, lead: &Lead, focus: Option<&Building>, say: &mut Say) {
        let o = &self.p.office;
        let v = focus.map_or(&o.vouchers, |b| b.vouchers(o));
        let place = match focus {
            Some(b) => self.t(lead, "at_building", &[("name", b.short_name())]),
            None => self.t(lead, "at_every_building", &[]),
        };
        if v.accepted {
            say.t(
                "vouchers_yes",
                &[
                    ("where", place),
                    ("programs", self.lang(lead).join_and(&v.programs)),
                ],
                ANSWER,
            );
            if o.source_of_income_protected {
                say.opt("vouchers_law", &[], DETAIL);
            }
            let note = v.note.get(lead.lang());
            if !note.is_empty() {
                say.raw(note.to_owned(), DETAIL, false);
            }
            if o.screening.income_multiple.is_some() {
                say.opt("vouchers_income", &[], DETAIL);
            }
        } else {
            say.t("vouchers_no", &[("where", place)], ANSWER);
        }
    }

    fn lang_name(&self, lead: &Lead, code: &str) -> String {
        let id = format!("lang_name_{code}");
        if self.langs.variants(lead.lang(), &id) > 0 {
            self.t(lead, &id, &[])
        } else {
            self.langs.get(code).name.clone()
        }
    }

    fn answer_languages(&mut self, lead: &Lead, say: &mut Say) {
        let names: Vec<String> = self
            .p
            .office
            .staff_languages
            .iter()
            .map(|c| self.lang_name(lead, c))
            .collect();
        say.t(
            "languages",
            &[("list", self.lang(lead).join_and(&names))],
            ANSWER,
        );
        let mine: Vec<String> = self
            .langs
            .langs
            .iter()
            .map(|l| self.lang_name(lead, &l.code))
            .collect();
        say.opt(
            "languages_me",
            &[("list", self.lang(lead).join_or(&mine))],
            DETAIL,
        );
    }

    fn answer_apply(&mut self, lead: &mut Lead, stats: &mut Stats, r: &Reading, say: &mut Say) {
        let url = self.p.office.application_url.clone();
        if url.is_empty() {
            return self.silent(lead, stats, "silent_apply", &[], None, say);
        }
        let _ = r;
        say.t("apply", &[("url", url)], ANSWER);
    }

    /// The data is silent on something asked: say a person will confirm, and send the
    /// question to staff (once per question).
    fn silent(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        what: &'static str,
        a: &[(&'static str, String)],
        b: Option<&Building>,
        say: &mut Say,
    ) {
        let what_text = {
            let refs: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, v.as_str())).collect();
            self.t(lead, what, &refs)
        };
        let name = b
            .map(|b| b.short_name().to_owned())
            .unwrap_or_else(|| self.p.office.company.clone());
        let eta = self.eta_text(lead);
        say.t(
            "silent",
            &[
                ("what", what_text.clone()),
                ("name", name.clone()),
                ("eta", eta),
            ],
            ANSWER,
        );
        let question = self.history_last_inbound().unwrap_or_default();
        self.question_alert(lead, stats, &format!("{what_text} ({name})"), &question);
    }

    fn history_last_inbound(&self) -> Option<String> {
        self.history
            .iter()
            .rev()
            .find(|(i, _)| *i)
            .map(|(_, b)| b.clone())
    }

    /// A question for a person: one alert per question, not more than one an hour.
    fn question_alert(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        about: &str,
        question: &str,
    ) -> bool {
        let fp = compose::fingerprint(about);
        if lead.questions_sent.contains(&fp) {
            return false;
        }
        lead.questions_sent.push(fp);
        if lead.questions_sent.len() > 20 {
            lead.questions_sent.remove(0);
        }
        lead.question_alert_ms = Some(self.now_ms);
        stats.questions += 1;
        self.actions
            .push(self.question_alert_action(lead, about, question));
        true
    }

    fn question_alert_action(&self, lead: &Lead, about: &str, question: &str) -> Action {
        Action::Alert {
            kind: "question",
            severity: Severity::Info,
            message: format!(
                "Lead {} asked something the data does not answer: {about}",
                lead.number
            ),
            fields: vec![
                ("lead".into(), lead.number.clone()),
                ("question".into(), question.trim().to_owned()),
                ("about".into(), about.to_owned()),
                ("language".into(), lead.lang().to_owned()),
                (
                    "conversation".into(),
                    lead.conversation_id.clone().unwrap_or_default(),
                ),
            ],
        }
    }

    /// A question the rules do not understand: the LLM may answer it from the data; if it
    /// cannot (or is not configured), a person confirms.
    fn unknown(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        body: &str,
        r: &Reading,
        say: &mut Say,
    ) {
        let fp = compose::fingerprint(body);
        let again = lead.questions_sent.contains(&fp);
        let place = self.neighborhood_phrase(lead);
        let eta = self.eta_text(lead);
        let mut fallback_say = say.take();
        let id = if again { "unknown_again" } else { "unknown" };
        fallback_say.t(id, &[("where", place), ("eta", eta)], ANSWER);
        if let Some((field, q)) = next_field(lead)
            && !again
            && !(lead.asked == Some(field) && lead.messages_in <= lead.question_turn + 1)
        {
            lead.asked = Some(field);
            lead.question_turn = lead.messages_in;
            fallback_say.opt(q, &[], QUESTION);
        }
        let earlier: Vec<String> = self
            .history
            .iter()
            .filter(|(i, _)| !i)
            .map(|(_, b)| b.clone())
            .collect();
        let fallback = fallback_say.compose(self.langs, lead.lang(), &earlier, &lead.replies);
        compose::remember(&mut lead.replies, &fallback, KEEP_REPLIES);
        stats.responses += 1;
        let mut on_fallback = Vec::new();
        if !again {
            lead.questions_sent.push(fp);
            if lead.questions_sent.len() > 20 {
                lead.questions_sent.remove(0);
            }
            lead.question_alert_ms = Some(self.now_ms);
            on_fallback.push(Action::Count("questions"));
            on_fallback.push(self.question_alert_action(
                lead,
                "a question the agent could not answer",
                body,
            ));
        }
        self.actions.push(Action::AskLlm {
            question: body.to_owned(),
            context: self.llm_context(lead, r),
            fallback,
            on_fallback,
        });
    }

    fn neighborhood_phrase(&self, lead: &Lead) -> String {
        let hoods = self.p.neighborhoods();
        self.t(
            lead,
            "where_in",
            &[("area", &self.lang(lead).join_and(&hoods))],
        )
    }

    /// Facts only: say what was understood, briefly.
    fn acknowledge(&self, lead: &Lead, r: &Reading, say: &mut Say) {
        let mut got = Vec::new();
        if let Some(b) = r.beds {
            got.push(self.beds_label(lead, b));
        }
        if let Some(d) = r.move_in {
            got.push(self.t(
                lead,
                "fact_move",
                &[("date", &self.lang(lead).month_day(d))],
            ));
        }
        if let Some(b) = r.budget {
            got.push(match b.min {
                Some(min) => self.t(
                    lead,
                    "fact_budget_range",
                    &[
                        ("min", &dollars(min.into())),
                        ("max", &dollars(b.max.into())),
                    ],
                ),
                None => self.t(lead, "fact_budget", &[("amount", &dollars(b.max.into()))]),
            });
        }
        if r.budget.is_none() && r.budget_open {
            got.push(self.t(lead, "fact_budget_open", &[]));
        }
        if r.move_in.is_none() && r.move_flexible {
            got.push(self.t(lead, "fact_move_flexible", &[]));
        }
        if let Some(p) = r.pets {
            got.push(self.pets_label(lead, &p));
        }
        for h in &r.hoods {
            got.push(self.t(lead, "fact_area", &[("area", h)]));
        }
        for k in &r.near {
            got.push(self.t(
                lead,
                "filter_near",
                &[("kind", &self.t(lead, &format!("landmark_{k}"), &[]))],
            ));
        }
        if let Some(c) = r.credit {
            got.push(self.t(lead, "fact_credit", &[("score", &c.to_string())]));
        }
        if got.is_empty() {
            return;
        }
        say.t("ack", &[("facts", got.join(", "))], DETAIL);
    }

    fn pets_label(&self, lead: &Lead, p: &Pets) -> String {
        if p.none() {
            return self.t(lead, "fact_no_pets", &[]);
        }
        let mut parts = Vec::new();
        if p.dogs {
            parts.push(match p.dog_lbs {
                Some(lbs) => self.t(lead, "fact_dog_lbs", &[("lbs", &lbs.to_string())]),
                None => self.t(lead, "fact_dog", &[]),
            });
        }
        if p.cats {
            parts.push(self.t(lead, "fact_cat", &[]));
        }
        if p.service && parts.is_empty() {
            parts.push(self.t(lead, "fact_service", &[]));
        }
        self.lang(lead).join_and(&parts)
    }

    /// Up to three best units for `lead`, one per building: ready by the move-in date
    /// first, then cheapest.
    fn picks(&self, lead: &Lead) -> Vec<String> {
        let today = self.today();
        let move_in = lead.move_in.as_deref().and_then(time::parse_iso_date);
        let mut fits: Vec<(&Building, &Unit)> = Vec::new();
        for b in self.pool(lead) {
            for u in &b.units {
                if self.fits(lead, u) {
                    fits.push((b, u));
                }
            }
        }
        fits.sort_by_key(|(_, u)| {
            (
                move_in.is_some_and(|m| data::ready_day(u, today) > m),
                u.rent,
            )
        });
        let mut seen: Vec<&str> = Vec::new();
        let mut picks = Vec::new();
        for (b, u) in fits {
            if seen.contains(&b.id.as_str()) {
                continue;
            }
            seen.push(&b.id);
            picks.push(self.t(
                lead,
                "recommend_line",
                &[
                    ("name", b.short_name()),
                    ("hood", &b.neighborhood),
                    ("layout", &self.layout(lead, u)),
                    ("rent", &dollars(u.rent.into())),
                    ("avail", &self.avail_label(lead, u)),
                ],
            ));
            if picks.len() == 3 {
                break;
            }
        }
        picks
    }

    /// The best matches for the lead across the portfolio, honouring every stated
    /// constraint (size, budget, pets and the dog's weight, areas, landmarks). When
    /// nothing fits, the closest options with the softest constraints relaxed — a
    /// landmark, then the areas, then 10% on the budget; never the pets or the size —
    /// saying which was relaxed.
    fn recommend(&mut self, lead: &mut Lead, say: &mut Say) {
        let picks = self.picks(lead);
        if !picks.is_empty() {
            let short = picks[..picks.len().min(2)].join("; ");
            say.t("recommend", &[("list", picks.join("; "))], ANSWER)
                .or_t("recommend", &[("list", short)]);
            say.asks = true;
            return;
        }
        let mut relaxed = lead.clone();
        let mut dropped: Vec<String> = Vec::new();
        let mut found = Vec::new();
        if !relaxed.near.is_empty() {
            for k in std::mem::take(&mut relaxed.near) {
                let kind = self.t(lead, &format!("landmark_{k}"), &[]);
                dropped.push(self.t(lead, "dropped_near", &[("kind", &kind)]));
            }
            found = self.picks(&relaxed);
        }
        if found.is_empty() && !relaxed.areas.is_empty() {
            let areas = self.lang(lead).join_or(&relaxed.areas);
            dropped.push(self.t(lead, "dropped_area", &[("area", &areas)]));
            relaxed.areas.clear();
            found = self.picks(&relaxed);
        }
        if found.is_empty()
            && let Some(b) = relaxed.budget_range.as_mut()
        {
            let max = b.max;
            b.max += b.max / 10;
            dropped.push(self.t(lead, "dropped_budget", &[("amount", &dollars(max.into()))]));
            found = self.picks(&relaxed);
        }
        let filter = self.filter_label(lead);
        if found.is_empty() {
            say.t("recommend_none", &[("filter", filter)], ANSWER);
        } else {
            say.t(
                "recommend_relaxed",
                &[
                    ("filter", filter),
                    ("dropped", self.lang(lead).join_and(&dropped)),
                    ("list", found.join("; ")),
                ],
                ANSWER,
            );
            say.asks = true;
        }
    }

    // ---- tours ------------------------------------------------------------------------

    fn label_of(&self, lead: &Lead, at_ms: u64) -> String {
        let l = self.p.office.zone().to_local(at_ms);
        self.lang(lead).slot(l.days, l.minute)
    }

    fn planner<'b>(&'b self, b: &'b Building, lead: &'b Lead) -> Planner<'b> {
        let o = &self.p.office;
        Planner {
            b,
            zone: o.zone(),
            now_ms: self.now_ms,
            slot_min: o.tour_slot_minutes,
            min_lead_min: o.tour_min_lead_minutes,
            book: self.book,
            lead: &lead.number,
        }
    }

    /// Cancel, reschedule, book, offer; true when the message was about a tour.
    fn tour_flow(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        r: &Reading,
        say: &mut Say,
    ) -> bool {
        let i = &r.intents;
        if i.cancel_tour {
            match lead.tour.take() {
                Some(t) => {
                    self.release_tour(lead, &t);
                    stats.tours_cancelled += 1;
                    let name = self
                        .p
                        .building(&t.building)
                        .map(|b| b.name.clone())
                        .unwrap_or_default();
                    let when = self.label_of(lead, t.at_ms);
                    self.tour_alert(
                        lead,
                        "tour-cancelled",
                        &format!(
                            "Tour of {name} on {} cancelled by lead {}",
                            t.label, lead.number
                        ),
                        &t,
                        None,
                    );
                    say.t("tour_cancelled", &[("name", name), ("when", when)], ANSWER);
                }
                None => {
                    say.t("tour_none_to_cancel", &[], ANSWER);
                }
            }
            return true;
        }
        // A pick among the times we offered ("2", "the first", "tuesday", "2pm").
        if !lead.offered_slots.is_empty()
            && let Some(k) = slot_choice(r, &lead.offered_slots)
        {
            let slot = lead.offered_slots[k].clone();
            self.book_slot(lead, stats, slot, say);
            return true;
        }
        let asks_time = r.when.has_day() || r.when.has_time();
        // A day with a time of day, with a building in focus, is about a visit too.
        let wants = i.tour
            || i.reschedule
            || (asks_time
                && (!lead.offered_slots.is_empty() || lead.tour.is_some() || lead.wants_tour))
            || (r.when.minute.is_some() && r.move_in.is_none() && lead.building.is_some());
        if !wants {
            return false;
        }
        let building = r
            .building
            .as_deref()
            .or(lead.building.as_deref())
            .and_then(|id| self.p.building(id));
        let Some(b) = building else {
            lead.wants_tour = true;
            if asks_time {
                lead.pending_when = Some(PendingWhen {
                    day: r.when.day,
                    minute: r.when.minute,
                });
            }
            let names: Vec<&str> = self.pool(lead).iter().map(|b| b.short_name()).collect();
            let names = if names.is_empty() {
                self.p.buildings.iter().map(|b| b.short_name()).collect()
            } else {
                names
            };
            say.t(
                "tour_which_building",
                &[("list", self.lang(lead).join_and(&names))],
                ANSWER,
            );
            return true;
        };
        lead.building = Some(b.id.clone());
        lead.wants_tour = false;
        let mut when = r.when.clone();
        if !asks_time && let Some(p) = lead.pending_when.take() {
            when.day = p.day;
            when.minute = p.minute;
        }
        if i.reschedule && !asks_time {
            // "can we reschedule?": fresh times.
            self.offer_times(lead, &when, None, say);
            return true;
        }
        let count = self.p.office.tour_slots_offered.clamp(1, 4);
        let plan = self.planner(b, lead).plan(&when, count);
        match plan {
            Plan::Book(slot) => self.book_slot(lead, stats, slot, say),
            Plan::Offer(slots, why) => {
                if let Some(why) = &why {
                    self.refusal(lead, b, &when, why, say);
                }
                self.list_slots(lead, b, slots, why.is_some(), say);
            }
        }
        true
    }

    fn offer_times(
        &mut self,
        lead: &mut Lead,
        when: &agenthost_sdk::when::When,
        why: Option<Refusal>,
        say: &mut Say,
    ) {
        let Some(b) = lead.building.as_deref().and_then(|id| self.p.building(id)) else {
            return;
        };
        let count = self.p.office.tour_slots_offered.clamp(1, 4);
        let slots = match self.planner(b, lead).plan(when, count) {
            Plan::Offer(s, _) => s,
            Plan::Book(s) => vec![s],
        };
        self.list_slots(lead, b, slots, why.is_some(), say);
    }

    fn refusal(
        &self,
        lead: &Lead,
        b: &Building,
        when: &agenthost_sdk::when::When,
        why: &Refusal,
        say: &mut Say,
    ) {
        let lang = self.lang(lead);
        let name = b.short_name().to_owned();
        match why {
            Refusal::OutsideHours(Some((o, c))) => {
                let day = when
                    .day
                    .map(|d| lang.weekday_long(time::weekday(d)).to_owned())
                    .unwrap_or_default();
                let hours = format!("{}-{}", lang.clock(*o), lang.clock(*c));
                say.t(
                    "refuse_hours",
                    &[("name", name), ("day", day), ("hours", hours)],
                    ANSWER,
                );
            }
            Refusal::OutsideHours(None) => match when.day {
                Some(d) => {
                    say.t(
                        "refuse_closed_day",
                        &[
                            ("name", name),
                            ("weekday", lang.weekday_long(time::weekday(d)).to_owned()),
                        ],
                        ANSWER,
                    );
                }
                None => {
                    say.t(
                        "refuse_time",
                        &[("name", name), ("hours", b.tour_hours.describe(lang))],
                        ANSWER,
                    );
                }
            },
            Refusal::Taken => {
                let what = match (when.day, when.minute) {
                    (Some(d), Some(m)) => lang.slot(d, m),
                    _ => String::new(),
                };
                say.t("refuse_taken", &[("when", what)], ANSWER);
            }
            Refusal::TooSoon => {
                say.t("refuse_soon", &[], ANSWER);
            }
            Refusal::TooFar => {
                say.t(
                    "refuse_far",
                    &[("days", schedule::HORIZON_DAYS.to_string())],
                    ANSWER,
                );
            }
        }
    }

    fn list_slots(
        &mut self,
        lead: &mut Lead,
        b: &Building,
        slots: Vec<Slot>,
        nearest: bool,
        say: &mut Say,
    ) {
        if slots.is_empty() {
            lead.offered_slots.clear();
            say.t(
                "no_slots",
                &[("name", b.name.clone()), ("eta", self.eta_text(lead))],
                ANSWER,
            );
            self.actions.push(Action::Alert {
                kind: "handoff",
                severity: Severity::Warning,
                message: format!(
                    "No open tour slot at {} in the next two weeks for lead {}",
                    b.name, lead.number
                ),
                fields: vec![
                    ("lead".into(), lead.number.clone()),
                    ("building".into(), b.name.clone()),
                    ("reason".into(), "no tour slot".into()),
                    (
                        "conversation".into(),
                        lead.conversation_id.clone().unwrap_or_default(),
                    ),
                ],
            });
            return;
        }
        let lang = self.lang(lead);
        let list: Vec<String> = slots
            .iter()
            .enumerate()
            .map(|(k, s)| format!("{}) {}", k + 1, lang.slot(s.days, s.minute)))
            .collect();
        let n = slots.len();
        let pick = match n {
            1 => self.t(lead, "pick_one", &[]),
            2 => self.t(lead, "pick_two", &[]),
            _ => self.t(lead, "pick_many", &[("n", &n.to_string())]),
        };
        lead.offered_slots = slots;
        lead.asked = None;
        lead.offer = None;
        let id = if nearest { "nearest" } else { "tour_times" };
        say.t(
            id,
            &[
                ("name", b.name.clone()),
                ("street", b.street().to_owned()),
                ("list", list.join(" ")),
                ("pick", pick),
            ],
            ANSWER,
        );
    }

    fn book_slot(&mut self, lead: &mut Lead, stats: &mut Stats, slot: Slot, say: &mut Say) {
        let p = self.p;
        let Some(b) = lead.building.as_deref().and_then(|id| p.building(id)) else {
            lead.offered_slots.clear();
            let names: Vec<&str> = p.buildings.iter().map(|b| b.short_name()).collect();
            say.t(
                "tour_which_building",
                &[("list", self.lang(lead).join_and(&names))],
                ANSWER,
            );
            return;
        };
        // Someone else may have taken it since it was offered.
        if self
            .book
            .holder(&b.id, slot.at_ms)
            .is_some_and(|h| h != lead.number)
        {
            let w = agenthost_sdk::when::When {
                day: Some(slot.days),
                minute: Some(slot.minute),
                ..Default::default()
            };
            self.refusal(lead, b, &w, &Refusal::Taken, say);
            let count = p.office.tour_slots_offered.clamp(1, 4);
            let slots = self.planner(b, lead).nearest(slot.at_ms, count);
            self.list_slots(lead, b, slots, true, say);
            return;
        }
        lead.offered_slots.clear();
        lead.asked = None;
        lead.offer = None;
        lead.wants_tour = false;
        lead.pending_when = None;
        let old = lead.tour.take();
        if let Some(o) = &old {
            if o.at_ms == slot.at_ms && o.building == b.id {
                lead.tour = old.clone();
                let when = self.label_of(lead, slot.at_ms);
                say.t(
                    "tour_already",
                    &[("name", b.name.clone()), ("when", when)],
                    ANSWER,
                );
                return;
            }
            self.release_tour(lead, o);
        }
        let tour = Tour {
            building: b.id.clone(),
            at_ms: slot.at_ms,
            label: slot.label.clone(),
        };
        lead.tour = Some(tour.clone());
        self.actions.push(Action::SetKey(
            schedule::slot_key(&b.id, slot.at_ms),
            lead.number.clone(),
        ));
        self.actions.push(Action::TrackSla {
            id: format!("showing:{}", lead.number),
            kind: "showing_scheduled",
            description: format!(
                "Tour of {} ({}) with lead {} on {}",
                b.name,
                b.street(),
                lead.number,
                slot.label
            ),
            deadline_ms: self.now_ms + 48 * MS_PER_HOUR,
        });
        self.schedule_tour_jobs(lead, &tour);
        let when = self.label_of(lead, slot.at_ms);
        match old {
            Some(o) => {
                stats.tours_changed += 1;
                let old_when = self.label_of(lead, o.at_ms);
                let old_name = p
                    .building(&o.building)
                    .map(|x| x.short_name().to_owned())
                    .unwrap_or_default();
                let old_text = if o.building == b.id {
                    old_when
                } else {
                    format!("{old_when} ({old_name})")
                };
                self.tour_alert(
                    lead,
                    "tour-changed",
                    &format!(
                        "Lead {} moved their tour of {} from {} to {}",
                        lead.number, b.name, o.label, slot.label
                    ),
                    &tour,
                    Some(&o),
                );
                say.t(
                    "tour_moved",
                    &[
                        ("name", b.name.clone()),
                        ("old", old_text),
                        ("new", when),
                        ("address", b.address.clone()),
                    ],
                    ANSWER,
                );
            }
            None => {
                stats.tours_booked += 1;
                self.tour_alert(
                    lead,
                    "tour-booked",
                    &format!(
                        "Tour of {} ({}) with lead {} on {}",
                        b.name,
                        b.street(),
                        lead.number,
                        slot.label
                    ),
                    &tour,
                    None,
                );
                say.t(
                    "tour_booked",
                    &[
                        ("name", b.name.clone()),
                        ("when", when),
                        ("address", b.address.clone()),
                    ],
                    ANSWER,
                );
            }
        }
    }

    /// Staff alert for a booking, change or cancellation, with what staff need.
    fn tour_alert(
        &mut self,
        lead: &Lead,
        kind: &'static str,
        message: &str,
        t: &Tour,
        old: Option<&Tour>,
    ) {
        let b = self.p.building(&t.building);
        let mut fields = vec![
            ("lead".into(), lead.number.clone()),
            (
                "building".into(),
                b.map(|b| b.name.clone()).unwrap_or_default(),
            ),
            ("when".into(), t.label.clone()),
            ("at_ms".into(), t.at_ms.to_string()),
            ("language".into(), lead.lang().to_owned()),
            (
                "conversation".into(),
                lead.conversation_id.clone().unwrap_or_default(),
            ),
        ];
        if let Some(o) = old {
            fields.push(("previous".into(), o.label.clone()));
        }
        if let Some(n) = &lead.name {
            fields.push(("name".into(), n.clone()));
        }
        let en = self.langs.get("en");
        if let Some(bd) = lead.beds {
            fields.push(("bedrooms".into(), format!("{}-{}", bd.min, bd.max)));
        }
        if let Some(bu) = lead.budget_range {
            fields.push(("budget".into(), dollars(bu.max.into())));
        }
        if let Some(m) = lead.move_in.as_deref().and_then(time::parse_iso_date) {
            fields.push(("move_in".into(), en.month_day(m)));
        }
        if let Some(p) = lead.pets {
            fields.push((
                "pets".into(),
                format!(
                    "cats={} dogs={} dog_lbs={}",
                    p.cats,
                    p.dogs,
                    p.dog_lbs.map(|w| w.to_string()).unwrap_or_default()
                ),
            ));
        }
        if lead.voucher {
            fields.push(("voucher".into(), "yes".into()));
        }
        self.actions.push(Action::Alert {
            kind,
            severity: Severity::Info,
            message: message.to_owned(),
            fields,
        });
    }

    /// Reminders the day before and 2 hours before, and a check-in after the slot, as
    /// one-off jobs of this conversation; rescheduling replaces them (same keys).
    fn schedule_tour_jobs(&mut self, lead: &Lead, t: &Tour) {
        let o = &self.p.office;
        let job = |kind: &str| {
            serde_json::to_string(&TourJob {
                number: lead.number.clone(),
                at_ms: t.at_ms,
                kind: kind.into(),
            })
            .unwrap_or_default()
        };
        let day_before = t.at_ms.saturating_sub(24 * MS_PER_HOUR);
        if day_before > self.now_ms + 30 * MS_PER_MINUTE {
            self.actions.push(Action::Schedule {
                key: format!("remind-day:{}", lead.number),
                name: REMINDER_JOB,
                delay_ms: day_before - self.now_ms,
                payload: job("day"),
                conversation_id: lead.conversation_id.clone(),
            });
        } else {
            self.actions
                .push(Action::Cancel(format!("remind-day:{}", lead.number)));
        }
        let two_hours = t.at_ms.saturating_sub(2 * MS_PER_HOUR);
        if two_hours > self.now_ms + 10 * MS_PER_MINUTE {
            self.actions.push(Action::Schedule {
                key: format!("remind-2h:{}", lead.number),
                name: REMINDER_JOB,
                delay_ms: two_hours - self.now_ms,
                payload: job("2h"),
                conversation_id: lead.conversation_id.clone(),
            });
        } else {
            self.actions
                .push(Action::Cancel(format!("remind-2h:{}", lead.number)));
        }
        let after = t.at_ms + u64::from(o.tour_slot_minutes) * MS_PER_MINUTE + MS_PER_HOUR;
        self.actions.push(Action::Schedule {
            key: format!("checkin:{}", lead.number),
            name: CHECKIN_JOB,
            delay_ms: after.saturating_sub(self.now_ms),
            payload: job("checkin"),
            conversation_id: lead.conversation_id.clone(),
        });
    }

    /// Frees a tour's slot, reminders and SLA item.
    fn release_tour(&mut self, lead: &Lead, t: &Tour) {
        self.actions
            .push(Action::DeleteKey(schedule::slot_key(&t.building, t.at_ms)));
        self.actions
            .push(Action::ResolveSla(format!("showing:{}", lead.number)));
        for k in ["remind-day", "remind-2h", "checkin"] {
            self.actions
                .push(Action::Cancel(format!("{k}:{}", lead.number)));
        }
    }

    fn docs_received(&mut self, lead: &mut Lead, stats: &mut Stats, say: &mut Say) {
        lead.docs_received_ms = Some(self.now_ms);
        stats.applications += 1;
        let building = lead
            .building
            .as_deref()
            .and_then(|id| self.p.building(id))
            .map(|b| b.name.clone())
            .unwrap_or_else(|| "building not stated".into());
        self.actions.push(Action::TrackSla {
            id: format!("docs:{}", lead.number),
            kind: "doc_review",
            description: format!(
                "Review application documents from {} ({building})",
                lead.number
            ),
            deadline_ms: self.now_ms + 24 * MS_PER_HOUR,
        });
        self.actions.push(Action::TrackSla {
            id: format!("decision:{}", lead.number),
            kind: "application_decision",
            description: format!("Decide the application of {} ({building})", lead.number),
            deadline_ms: self.now_ms + 48 * MS_PER_HOUR,
        });
        say.t("docs_received", &[], ANSWER);
    }

    // ---- handoffs ---------------------------------------------------------------------

    fn eta(&self) -> Option<(Eta, u64)> {
        let o = &self.p.office;
        let eta = o
            .staff_hours()
            .eta(o.zone(), self.now_ms, o.handoff_response_minutes)?;
        let at = match eta {
            Eta::Within(m) => self.now_ms + u64::from(m) * MS_PER_MINUTE,
            Eta::By(ms) => ms,
        };
        Some((eta, at))
    }

    /// "within about 30 minutes" / "by tomorrow at 9:30am".
    fn eta_text(&self, lead: &Lead) -> String {
        match self.eta() {
            Some((Eta::Within(m), _)) => self.t(lead, "eta_within", &[("minutes", &m.to_string())]),
            Some((Eta::By(ms), _)) => {
                let o = &self.p.office;
                let at = self.t(lead, "at_word", &[]);
                let when = self.lang(lead).when(o.zone(), self.now_ms, ms, &at);
                self.t(lead, "eta_by", &[("when", &when)])
            }
            None => self.t(lead, "eta_soon", &[]),
        }
    }

    /// How a person will reach the lead: never by a channel the lead says fails.
    fn contact_verb(&self, lead: &Lead, r: Option<&Reading>) -> String {
        let wants_call = r.is_some_and(|r| self.langs.lex.has(&r.norm, "wants_call"));
        if lead.avoids("phone") {
            self.t(lead, "contact_text_verb", &[])
        } else if wants_call {
            self.t(lead, "contact_call_verb", &[])
        } else {
            self.t(lead, "contact_either_verb", &[])
        }
    }

    fn thread(&self, body: &str) -> String {
        let mut lines: Vec<String> = self
            .history
            .iter()
            .rev()
            .take(12)
            .rev()
            .map(|(inbound, text)| format!("{}: {}", if *inbound { "lead" } else { "agent" }, text))
            .collect();
        if self.history.last().is_none_or(|(i, t)| !*i || t != body) {
            lines.push(format!("lead: {}", body.trim()));
        }
        lines.join("\n")
    }

    fn handoff(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        body: &str,
        r: &Reading,
        say: &mut Say,
    ) {
        let i = &r.intents;
        let upset = i.upset || i.phone_fails || i.email_fails;
        let reason = if i.phone_fails {
            "is upset: says nobody answers the phone"
        } else if i.email_fails {
            "is upset: says email goes unanswered"
        } else if upset {
            "is upset"
        } else {
            "asked for a person"
        };
        let (eta_ms, already) = match &lead.handoff {
            Some(h) if lead.status == Status::HandedOff => (h.eta_ms, true),
            _ => (
                self.eta().map_or(self.now_ms + MS_PER_HOUR, |(_, at)| at),
                false,
            ),
        };
        if !already {
            stats.handoffs += 1;
        }
        lead.status = Status::HandedOff;
        lead.handoff = Some(Handoff {
            at_ms: self.now_ms,
            eta_ms,
            reason: reason.into(),
            alerted_ms: self.now_ms,
        });
        lead.asked = None;
        self.clear_followup(lead);
        self.handoff_alert(
            lead,
            body,
            reason,
            if upset {
                Severity::Warning
            } else {
                Severity::Info
            },
        );
        let contact = self.contact_verb(lead, Some(r));
        let eta = self.eta_text(lead);
        if upset {
            let id = if i.phone_fails {
                "handoff_upset_phone"
            } else {
                "handoff_upset"
            };
            say.t(id, &[("contact", contact), ("eta", eta)], ANSWER);
        } else {
            say.t(
                "handoff_person",
                &[("contact", contact), ("eta", eta)],
                ANSWER,
            );
            if !lead.avoids("phone") {
                say.opt(
                    "also_call",
                    &[("phone", self.p.office.phone.clone())],
                    DETAIL,
                );
            }
        }
    }

    /// "So when will someone call me?" after a handoff: the ETA, again, and staff nudged.
    fn handoff_eta(&mut self, lead: &mut Lead, _stats: &mut Stats, body: &str, say: &mut Say) {
        let Some(h) = lead.handoff.clone() else {
            return;
        };
        let contact = self.contact_verb(lead, None);
        let hours = self.p.office.staff_hours().describe(self.lang(lead));
        if self.now_ms > h.eta_ms {
            // Overdue: say so, promise the next ETA, and escalate.
            let eta_ms = self.eta().map_or(self.now_ms + MS_PER_HOUR, |(_, at)| at);
            lead.handoff = Some(Handoff {
                eta_ms,
                alerted_ms: self.now_ms,
                ..h
            });
            self.handoff_alert(
                lead,
                body,
                "still waiting past the promised time",
                Severity::Warning,
            );
            say.t(
                "handoff_overdue",
                &[("contact", contact), ("eta", self.eta_text(lead))],
                ANSWER,
            );
        } else {
            if self.now_ms >= h.alerted_ms + MS_PER_HOUR {
                self.handoff_alert(
                    lead,
                    body,
                    "asked again when someone will reach out",
                    Severity::Info,
                );
                if let Some(h) = lead.handoff.as_mut() {
                    h.alerted_ms = self.now_ms;
                }
            }
            let eta = self.eta_text_for(lead, h.eta_ms);
            say.t(
                "handoff_eta",
                &[("contact", contact), ("eta", eta), ("hours", hours)],
                ANSWER,
            );
        }
    }

    /// The ETA already promised, as text.
    fn eta_text_for(&self, lead: &Lead, eta_ms: u64) -> String {
        if eta_ms <= self.now_ms + 2 * MS_PER_HOUR {
            let minutes = eta_ms
                .saturating_sub(self.now_ms)
                .div_ceil(MS_PER_MINUTE)
                .max(5);
            self.t(lead, "eta_within", &[("minutes", &minutes.to_string())])
        } else {
            let o = &self.p.office;
            let at = self.t(lead, "at_word", &[]);
            let when = self.lang(lead).when(o.zone(), self.now_ms, eta_ms, &at);
            self.t(lead, "eta_by", &[("when", &when)])
        }
    }

    fn handoff_alert(&mut self, lead: &Lead, body: &str, reason: &str, severity: Severity) {
        let building = lead
            .building
            .as_deref()
            .and_then(|id| self.p.building(id))
            .map(|b| b.name.clone())
            .unwrap_or_default();
        let avoid = if lead.avoid.is_empty() {
            String::new()
        } else {
            lead.avoid.join(",")
        };
        let eta = lead
            .handoff
            .as_ref()
            .map(|h| h.eta_ms.to_string())
            .unwrap_or_default();
        self.actions.push(Action::Alert {
            kind: "handoff",
            severity,
            message: format!("Lead {} {reason}: \"{}\"", lead.number, body.trim()),
            fields: vec![
                ("lead".into(), lead.number.clone()),
                ("last_message".into(), body.trim().to_owned()),
                ("reason".into(), reason.into()),
                ("building".into(), building),
                ("language".into(), lead.lang().to_owned()),
                ("do_not_use".into(), avoid),
                ("promised_by_ms".into(), eta),
                (
                    "conversation".into(),
                    lead.conversation_id.clone().unwrap_or_default(),
                ),
                ("thread".into(), self.thread(body)),
            ],
        });
    }

    /// The facts an LLM may use, for the building in focus or the whole portfolio.
    pub fn llm_context(&self, lead: &Lead, _r: &Reading) -> String {
        let p = self.p;
        let o = &p.office;
        let en = "en";
        let mut lines = vec![format!(
            "Company: {}. Office: {} (hours {}). Staff languages: {}.",
            o.company,
            o.phone,
            o.office_hours.describe(self.langs.get(en)),
            o.staff_languages.join(", ")
        )];
        let focus: Vec<&Building> = match lead.building.as_deref().and_then(|id| p.building(id)) {
            Some(b) => vec![b],
            None => p.buildings.iter().collect(),
        };
        for b in focus {
            let units: Vec<String> = b
                .units
                .iter()
                .map(|u| {
                    format!(
                        "{} ${}/mo {} sqft from {}",
                        data::layout(u, "Studio"),
                        u.rent,
                        u.sqft,
                        u.available_from
                    )
                })
                .collect();
            let amenities: Vec<&str> = b.amenities.iter().map(|a| a.get(en)).collect();
            let landmarks: Vec<String> = b
                .landmarks
                .iter()
                .map(|l| format!("{} ({} min walk)", l.name, l.walk_minutes))
                .collect();
            lines.push(format!(
                "{} at {} ({}): units {}. Pets: {:?}. Parking: {} ${}/mo. Amenities: {}. Utilities included: {}; tenant pays: {}. Laundry: {:?}. Nearby: {}. Tour hours: {}.",
                b.name,
                b.address,
                b.neighborhood,
                units.join("; "),
                b.pets,
                b.parking.kind.get(en),
                b.parking.monthly_fee,
                amenities.join(", "),
                b.utilities_included.join(", "),
                b.tenant_pays.join(", "),
                b.laundry.kind,
                landmarks.join("; "),
                b.tour_hours.describe(self.langs.get(en)),
            ));
        }
        lines.join("\n")
    }

    // ---- jobs -------------------------------------------------------------------------

    /// The follow-up timer fired for `lead`: nudge, and reschedule until the office's
    /// maximum, after which the lead is closed as unresponsive.
    pub fn on_followup(&mut self, lead: &mut Lead, stats: &mut Stats) {
        lead.upgrade();
        // A newer timer replaced the one firing now (the sweep ran it already, or the lead
        // wrote): this firing is stale and must not nudge twice.
        if lead
            .followup_due_ms
            .is_some_and(|due| due > self.now_ms + 60_000)
        {
            return;
        }
        if let Some(due) = lead.followup_due_ms.take() {
            self.actions
                .push(Action::DeleteKey(due_key(due, &lead.number)));
        }
        if lead.opted_out || lead.status != Status::Active {
            return;
        }
        let silence = self.silence_ms();
        let quiet_until = lead.last_inbound_ms + silence;
        if self.now_ms + 60_000 < quiet_until {
            // They wrote since this timer was set; wait out the rest of the silence.
            self.schedule_followup(lead, quiet_until - self.now_ms);
            return;
        }
        if lead.tour.as_ref().is_some_and(|t| t.at_ms > self.now_ms) {
            return;
        }
        lead.followups_sent += 1;
        stats.followups_sent += 1;
        let building = lead.building.as_deref().and_then(|id| self.p.building(id));
        let company = self.p.office.company.clone();
        let mut say = Say::default();
        match (lead.followups_sent, building) {
            (1, Some(b)) => say.t(
                "followup_1_building",
                &[("company", company), ("name", b.name.clone())],
                ANSWER,
            ),
            (1, None) => say.t("followup_1", &[("company", company)], ANSWER),
            (2, _) => say.t("followup_2", &[], ANSWER),
            _ => say.t("followup_3", &[("company", company)], ANSWER),
        };
        self.send(lead, stats, &say);
        stats.responses -= 1; // a follow-up is not a response
        if lead.followups_sent >= self.p.office.max_followups {
            lead.status = Status::Dead;
            lead.closed_reason = Some(format!("no reply after {} follow-ups", lead.followups_sent));
            stats.dead_leads += 1;
        } else {
            self.schedule_followup(lead, silence);
        }
    }

    /// A reminder (`job.kind` "day" or "2h") or the check-in after a tour.
    pub fn on_tour_job(&mut self, lead: &mut Lead, stats: &mut Stats, job: &TourJob) {
        lead.upgrade();
        let Some(t) = lead.tour.clone() else { return };
        if t.at_ms != job.at_ms || lead.opted_out || lead.status == Status::Dead {
            return; // moved, cancelled, or the lead left: this job is stale
        }
        let Some(b) = self.p.building(&t.building) else {
            return;
        };
        let local = self.p.office.zone().to_local(t.at_ms);
        let time = self.lang(lead).clock(local.minute);
        let mut say = Say::default();
        match job.kind.as_str() {
            "day" => {
                say.t(
                    "remind_day",
                    &[
                        ("name", b.name.clone()),
                        ("time", time),
                        ("address", b.address.clone()),
                    ],
                    ANSWER,
                );
                stats.reminders_sent += 1;
            }
            "2h" => {
                say.t(
                    "remind_2h",
                    &[
                        ("name", b.name.clone()),
                        ("time", time),
                        ("address", b.address.clone()),
                    ],
                    ANSWER,
                );
                stats.reminders_sent += 1;
            }
            _ => {
                // After the slot: ask how it went; the slot is history now.
                lead.tour = None;
                lead.toured.push(b.id.clone());
                self.actions
                    .push(Action::DeleteKey(schedule::slot_key(&t.building, t.at_ms)));
                let name = lead
                    .name
                    .as_ref()
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default();
                let url = self.p.office.application_url.clone();
                let id = if url.is_empty() {
                    "checkin_no_url"
                } else {
                    "checkin"
                };
                say.t(
                    id,
                    &[
                        ("name", name),
                        ("building", b.short_name().to_owned()),
                        ("url", url),
                    ],
                    ANSWER,
                );
                if lead.status == Status::Active {
                    self.schedule_followup(lead, self.silence_ms());
                }
            }
        }
        self.send(lead, stats, &say);
        stats.responses -= 1;
    }

    /// The daily owner report: one alert with the counters of every finished day not yet
    /// reported (`days`: (iso date, counters)).
    pub fn owner_report(&mut self, days: &[(String, Stats)]) {
        let o = &self.p.office;
        let mut s = Stats::default();
        for (_, d) in days {
            s.add(d);
        }
        let period = match (days.first(), days.last()) {
            (Some(a), Some(z)) if a.0 != z.0 => format!("{} to {}", a.0, z.0),
            (Some(a), _) => a.0.clone(),
            _ => "no activity".to_owned(),
        };
        self.actions.push(Action::Alert {
            kind: "owner-report",
            severity: Severity::Info,
            message: format!(
                "Daily report for {} ({}), {period}: {} new leads, {} messages in, {} replies sent, {} tours booked ({} moved, {} cancelled), {} reminders, {} applications, {} handoffs, {} questions for staff, {} dead leads, {} LLM replies replaced by the guard.",
                o.owner_name,
                o.company,
                s.leads_in,
                s.messages_in,
                s.responses,
                s.tours_booked,
                s.tours_changed,
                s.tours_cancelled,
                s.reminders_sent,
                s.applications,
                s.handoffs,
                s.questions,
                s.dead_leads,
                s.llm_replaced
            ),
            fields: vec![
                ("period".into(), period),
                ("leads_in".into(), s.leads_in.to_string()),
                ("messages_in".into(), s.messages_in.to_string()),
                ("responses".into(), s.responses.to_string()),
                ("tours_booked".into(), s.tours_booked.to_string()),
                ("tours_changed".into(), s.tours_changed.to_string()),
                ("tours_cancelled".into(), s.tours_cancelled.to_string()),
                ("reminders_sent".into(), s.reminders_sent.to_string()),
                ("applications".into(), s.applications.to_string()),
                ("handoffs".into(), s.handoffs.to_string()),
                ("questions".into(), s.questions.to_string()),
                ("followups_sent".into(), s.followups_sent.to_string()),
                ("dead_leads".into(), s.dead_leads.to_string()),
                ("llm_replaced".into(), s.llm_replaced.to_string()),
                ("spanish_conversations".into(), s.spanish.to_string()),
            ],
        });
    }
}

/// The next qualification field not known yet, and its question template.
fn next_field(lead: &Lead) -> Option<(Field, &'static str)> {
    [
        (lead.beds.is_none(), Field::Bedrooms, "q_bedrooms"),
        (
            lead.move_in.is_none() && !lead.move_flexible,
            Field::MoveIn,
            "q_move_in",
        ),
        (
            lead.budget_range.is_none() && !lead.budget_open,
            Field::Budget,
            "q_budget",
        ),
        (lead.pets.is_none(), Field::Pets, "q_pets"),
    ]
    .into_iter()
    .find(|(unknown, _, _)| *unknown)
    .map(|(_, f, id)| (f, id))
}

fn laundry_id(k: LaundryKind) -> &'static str {
    match k {
        LaundryKind::InUnit => "laundry_in_unit",
        LaundryKind::OnSite => "laundry_on_site",
        LaundryKind::Hookups => "laundry_hookups",
        LaundryKind::None => "laundry_none",
    }
}

/// Which offered slot a reply picks: "1", "#2", "option 3", "the first", "2pm",
/// "tuesday", "tuesday at 2".
fn slot_choice(r: &Reading, slots: &[Slot]) -> Option<usize> {
    let n = slots.len();
    let words: Vec<&str> = r.norm.words().collect();
    let nums: Vec<f64> = r
        .norm
        .toks
        .iter()
        .filter_map(|t| t.num())
        .map(|x| x.value)
        .collect();
    let short = r.norm.len_words() <= 5;
    let ordinal = |x: &str| -> Option<usize> {
        Some(match x {
            "first" | "1st" | "primero" | "primera" => 0,
            "second" | "2nd" | "segundo" | "segunda" => 1,
            "third" | "3rd" | "tercero" | "tercera" => 2,
            "fourth" | "4th" | "cuarto" | "cuarta" => 3,
            "last" | "ultimo" | "ultima" => n - 1,
            _ => return None,
        })
    };
    if short && !r.when.has_time() && !r.when.has_day() {
        if let [v] = nums[..]
            && v.fract() == 0.0
            && (1.0..=n as f64).contains(&v)
        {
            return Some(v as usize - 1);
        }
        if let Some(k) = words.iter().find_map(|w| ordinal(w))
            && k < n
        {
            return Some(k);
        }
    }
    let w = &r.when;
    if !w.has_day() && w.minute.is_none() {
        return None;
    }
    let matches: Vec<usize> = (0..n)
        .filter(|&k| {
            w.minute.is_none_or(|m| slots[k].minute == m)
                && w.day.is_none_or(|d| {
                    slots[k].days == d
                        || (slots[k].days == 0 && w.weekday == Some(slots[k].weekday))
                })
        })
        .collect();
    (matches.len() == 1).then(|| matches[0])
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn trim_float(x: f32) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as u32)
    } else {
        format!("{x}")
    }
}
