//! The leasing agent's decisions, as a pure function of the portfolio, the lead's stored
//! record, the message and the time. It returns [`Action`]s; `lib.rs` turns them into host
//! calls. Nothing here calls the host, so every conversation path is unit-tested natively.

use crate::data::{self, Building, Portfolio};
use crate::parse::{self, Facts, Field, Intent, Pets, Topics};
use crate::slots::{self, Slot};
use agenthost_sdk::text::dollars;
use agenthost_sdk::time::{self, MS_PER_HOUR};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Reply(String),
    /// A message the rules did not understand: ask the LLM (grounded in `context`), and on
    /// any error send `fallback`.
    AskLlm {
        question: String,
        context: String,
        fallback: String,
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
    pub label: String,
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
    /// Id of the building the lead is asking about.
    pub building: Option<String>,
    pub bedrooms: Option<u8>,
    pub budget: Option<u32>,
    /// ISO date.
    pub move_in: Option<String>,
    pub pets: Option<Pets>,
    /// The qualification question we are waiting on.
    pub asked: Option<Field>,
    /// Asked to tour but has not said which building.
    pub wants_tour: bool,
    pub offered_slots: Vec<Slot>,
    pub tour: Option<Tour>,
    pub followups_sent: u32,
    /// When the pending follow-up job is due (also indexed under `due:` for the sweep).
    pub followup_due_ms: Option<u64>,
    pub handoff_notice_ms: Option<u64>,
    pub docs_received_ms: Option<u64>,
    pub closed_reason: Option<String>,
}

/// Today's counters for the owner report; stored under `stats:daily`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stats {
    pub since_ms: u64,
    pub leads_in: u32,
    pub messages_in: u32,
    pub responses: u32,
    pub tours_booked: u32,
    pub applications: u32,
    pub handoffs: u32,
    pub dead_leads: u32,
    pub followups_sent: u32,
}

pub const FOLLOWUP_JOB: &str = "followup";

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

/// One decision: the lead and stats are updated in place, effects are collected.
pub struct Turn<'a> {
    pub p: &'a Portfolio,
    pub now_ms: u64,
    pub actions: Vec<Action>,
}

impl<'a> Turn<'a> {
    pub fn new(p: &'a Portfolio, now_ms: u64) -> Self {
        Turn {
            p,
            now_ms,
            actions: Vec::new(),
        }
    }

    fn today(&self) -> i64 {
        self.p.office.zone().to_local(self.now_ms).days
    }

    fn silence_ms(&self) -> u64 {
        self.p.office.followup_silence_hours.max(1) * MS_PER_HOUR
    }

    fn reply(&mut self, stats: &mut Stats, text: String) {
        stats.responses += 1;
        self.actions.push(Action::Reply(text));
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
        stats.dead_leads += 1;
        self.clear_followup(lead);
        if lead.tour.take().is_some() {
            self.actions
                .push(Action::ResolveSla(format!("showing:{}", lead.number)));
        }
    }

    fn office_contact(&self) -> String {
        let o = &self.p.office;
        if o.email.is_empty() {
            format!("Call {}", o.phone)
        } else {
            format!("Call {} or email {}", o.phone, o.email)
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
        let intent = parse::intent(body);
        let bare = body
            .trim()
            .trim_end_matches(['.', '!'])
            .to_ascii_uppercase();
        match intent {
            Intent::Stop => {
                // The host records the opt-out and suppresses replies; we stop following up.
                lead.opted_out = true;
                self.clear_followup(lead);
                return;
            }
            Intent::Start => {
                lead.opted_out = false;
            }
            _ if lead.opted_out && bare == "YES" => lead.opted_out = false,
            _ if lead.opted_out => return,
            _ => {}
        }
        if intent == Intent::Help {
            let o = &self.p.office;
            let text = format!(
                "{} leasing: ask about availability, rent, pets or parking at any of our {} buildings, or reply TOUR to book a visit. {}. Reply STOP to opt out.",
                o.company,
                self.p.buildings.len(),
                self.office_contact()
            );
            self.reply(stats, text);
            return;
        }
        if lead.status == Status::HandedOff {
            let every = self.p.office.handoff_notice_hours.max(1) * MS_PER_HOUR;
            if lead
                .handoff_notice_ms
                .is_none_or(|t| self.now_ms >= t + every)
            {
                lead.handoff_notice_ms = Some(self.now_ms);
                self.reply(stats, "Thanks for your message - a member of our leasing team will reply to you soon.".into());
            }
            return;
        }
        if lead.status == Status::Dead {
            if matches!(intent, Intent::Thanks | Intent::No | Intent::Done) {
                return;
            }
            lead.status = Status::Active;
            lead.closed_reason = None;
        }
        match intent {
            Intent::Handoff { upset } => return self.handoff(lead, stats, body, upset),
            Intent::Done => {
                self.close(lead, stats, "not interested");
                self.reply(
                    stats,
                    "Understood - thanks for letting us know, and good luck with your move! If anything changes, just text us here.".into(),
                );
                return;
            }
            Intent::No if lead.asked != Some(Field::Pets) => {
                if !lead.offered_slots.is_empty() {
                    self.reply(
                        stats,
                        "No problem. What day and time would work better for you?".into(),
                    );
                    self.schedule_followup(lead, self.silence_ms());
                } else {
                    self.close(lead, stats, "said no");
                    self.reply(stats, "No problem - thanks for your time. If you're ever looking again, just text us here.".into());
                }
                return;
            }
            Intent::Thanks => {
                let text = match &lead.tour {
                    Some(t) if t.at_ms > self.now_ms => {
                        format!("You're welcome! See you {}.", t.label)
                    }
                    _ => "You're welcome! Text us anytime with questions.".to_owned(),
                };
                self.reply(stats, text);
                self.schedule_followup(lead, self.silence_ms());
                return;
            }
            _ => {}
        }
        let text = self.converse(lead, stats, body, intent, new_lead);
        if let Some(text) = text {
            self.reply(stats, text);
        }
        if lead.status == Status::Active {
            self.schedule_followup(lead, self.silence_ms());
        }
    }

    /// The reply to a message that is a question, an answer, a tour request or a mix.
    /// `None` when an `AskLlm` action was queued instead.
    fn converse(
        &mut self,
        lead: &mut Lead,
        stats: &mut Stats,
        body: &str,
        intent: Intent,
        new_lead: bool,
    ) -> Option<String> {
        let p = self.p;
        let today = self.today();
        let mut parts: Vec<String> = Vec::new();
        if new_lead {
            parts.push(format!("Hi, this is {} leasing.", p.office.company));
        }
        let named = p.find_building(body);
        if let Some(b) = named {
            lead.building = Some(b.id.clone());
        }
        let hood = p.find_neighborhood(body);
        let facts = parse::facts(body, lead.asked, today);
        self.remember(lead, &facts);
        let mut topics = parse::topics(body);
        if facts.pets.is_some() && !parse::is_question(&body.to_ascii_lowercase()) {
            // "I have a cat" answers our question; it does not ask for the pet policy.
            topics.pets = false;
        }

        // A pick among offered tour times comes first.
        if !lead.offered_slots.is_empty() {
            let offered: Vec<(u32, u32)> = lead
                .offered_slots
                .iter()
                .map(|s| (s.weekday, s.minute))
                .collect();
            if let Some(i) = parse::slot_choice(body, &offered) {
                let slot = lead.offered_slots[i].clone();
                parts.push(self.book(lead, stats, slot));
                return Some(parts.join(" "));
            }
            let lower = body.to_ascii_lowercase();
            if let Some(minute) = parse::time_of_day(&lower)
                && let Some(b) = lead.building.as_deref().and_then(|id| p.building(id))
            {
                let o = &p.office;
                let proposed = slots::proposed_slot(
                    b,
                    o.zone(),
                    self.now_ms,
                    parse::weekday_named(&lower),
                    minute,
                    o.tour_slot_minutes,
                    o.tour_min_lead_minutes,
                );
                match proposed {
                    Some(slot) => {
                        parts.push(self.book(lead, stats, slot));
                        return Some(parts.join(" "));
                    }
                    None => {
                        parts.push(format!(
                            "Sorry, that time isn't open for tours at {}.",
                            b.name
                        ));
                        parts.push(self.offer_slots(lead, b));
                        return Some(parts.join(" "));
                    }
                }
            }
        }

        let mut answered = false;
        match intent {
            Intent::DocsSubmitted => {
                parts.push(self.docs_received(lead, stats));
                answered = true;
            }
            Intent::Apply => {
                let url = &p.office.application_url;
                parts.push(format!(
                    "You can apply online at {url} - it takes about 10 minutes. Have a photo ID and your 2 most recent pay stubs ready, and text us once you've submitted."
                ));
                answered = true;
            }
            Intent::CancelTour => {
                match lead.tour.take() {
                    Some(t) => {
                        self.actions
                            .push(Action::ResolveSla(format!("showing:{}", lead.number)));
                        parts.push(format!(
                            "Your tour on {} is cancelled. Reply TOUR anytime to pick a new time.",
                            t.label
                        ));
                    }
                    None => parts
                        .push("You don't have a tour booked. Reply TOUR to schedule one.".into()),
                }
                answered = true;
            }
            Intent::Tour | Intent::Reschedule => {
                lead.wants_tour = true;
            }
            _ => {}
        }

        let current = lead.building.as_deref().and_then(|id| p.building(id));
        if topics.any() || (named.is_some() && !facts.any() && !lead.wants_tour) {
            // A neighborhood named without a building asks across the portfolio.
            let focus = if named.is_none() && hood.is_some() {
                None
            } else {
                named.or(current)
            };
            match focus {
                Some(b) => parts.push(self.answer_building(
                    b,
                    &topics,
                    facts.bedrooms.or(lead.bedrooms),
                    today,
                )),
                None => parts.push(self.answer_portfolio(&topics, hood.as_deref(), lead, today)),
            }
            answered = true;
        } else if hood.is_some() && !lead.wants_tour {
            let t = Topics {
                availability: true,
                ..Topics::default()
            };
            parts.push(self.answer_portfolio(&t, hood.as_deref(), lead, today));
            answered = true;
        }

        if lead.wants_tour {
            match current {
                Some(b) => {
                    lead.wants_tour = false;
                    parts.push(self.offer_slots(lead, b));
                    return Some(parts.join(" "));
                }
                None => {
                    let names: Vec<&str> = p
                        .buildings
                        .iter()
                        .filter(|b| hood.as_deref().is_none_or(|h| b.neighborhood == h))
                        .filter(|b| {
                            lead.bedrooms
                                .is_none_or(|br| b.units.iter().any(|u| u.bedrooms == br))
                        })
                        .map(|b| b.short_name())
                        .collect();
                    parts.push(format!(
                        "Happy to set up a tour! Which building? {}.",
                        names.join(", ")
                    ));
                    return Some(parts.join(" "));
                }
            }
        }

        if facts.any() && !answered {
            parts.push(acknowledge(&facts));
            answered = true;
        }
        if !answered && !new_lead && intent != Intent::Greeting {
            // Not understood: let the LLM phrase an answer from the data, or fall back.
            let mut fallback = format!(
                "I can help with availability, rent, pets, parking and tours at our buildings in {}.",
                join_and(&p.neighborhoods())
            );
            if let Some(q) = self.next_question(lead) {
                fallback.push(' ');
                fallback.push_str(&q);
            } else {
                fallback.push_str(" Which building are you interested in?");
            }
            self.actions.push(Action::AskLlm {
                question: body.to_owned(),
                context: self.llm_context(lead),
                fallback,
            });
            stats.responses += 1;
            return None;
        }
        if let Some(t) = lead.tour.as_ref().filter(|t| t.at_ms > self.now_ms) {
            if !answered {
                parts.push(format!("Your tour is booked for {}.", t.label));
            }
        } else if let Some(q) = self.next_question(lead) {
            parts.push(q);
        } else if facts.any() && !topics.any() {
            // Just qualified: the best fits across the portfolio.
            parts.push(self.recommend(lead, today));
        } else if current.is_some() {
            parts.push(format!(
                "Would you like to tour {}? Reply TOUR and I'll send times.",
                current.map(|b| b.name.as_str()).unwrap_or("")
            ));
        } else {
            parts.push(self.recommend(lead, today));
        }
        Some(parts.join(" "))
    }

    fn remember(&mut self, lead: &mut Lead, f: &Facts) {
        if f.bedrooms.is_some() {
            lead.bedrooms = f.bedrooms;
        }
        if f.budget.is_some() {
            lead.budget = f.budget;
        }
        if let Some(d) = f.move_in {
            lead.move_in = Some(time::iso_date(d));
        }
        if f.pets.is_some() {
            lead.pets = f.pets;
        }
    }

    /// The next qualification question (bedrooms, move-in, budget, pets), remembered as
    /// the one we are waiting on; `None` once the lead is qualified.
    fn next_question(&mut self, lead: &mut Lead) -> Option<String> {
        let (field, q) = if lead.bedrooms.is_none() {
            (Field::Bedrooms, "How many bedrooms do you need?")
        } else if lead.move_in.is_none() {
            (Field::MoveIn, "When are you looking to move in?")
        } else if lead.budget.is_none() {
            (Field::Budget, "What's your monthly budget for rent?")
        } else if lead.pets.is_none() {
            (Field::Pets, "Do you have any pets?")
        } else {
            lead.asked = None;
            return None;
        };
        lead.asked = Some(field);
        Some(q.to_owned())
    }

    fn answer_building(
        &self,
        b: &Building,
        t: &Topics,
        bedrooms: Option<u8>,
        today: i64,
    ) -> String {
        let mut s: Vec<String> = Vec::new();
        let specific = t.pets || t.parking || t.location || t.amenities;
        if t.availability || t.rent || !specific {
            let mut units: Vec<&data::Unit> = b
                .units
                .iter()
                .filter(|u| bedrooms.is_none_or(|br| u.bedrooms == br))
                .collect();
            let mut head = format!("{} ({}, {})", b.name, b.street(), b.neighborhood);
            if units.is_empty() {
                head = format!(
                    "{head} has no {} open right now; it has",
                    br_label(bedrooms.unwrap_or(0))
                );
                units = b.units.iter().collect();
            } else {
                head.push_str(" has");
            }
            units.sort_by_key(|u| (u.bedrooms, u.rent));
            let list: Vec<String> = units
                .iter()
                .map(|u| {
                    format!(
                        "{} {}/mo, {} sq ft, {}",
                        data::layout(u),
                        dollars(u.rent.into()),
                        u.sqft,
                        data::availability(u, today)
                    )
                })
                .collect();
            s.push(format!("{head}: {}.", list.join("; ")));
        }
        if t.pets {
            s.push(format!("Pets: {}", b.pet_summary()));
        }
        if t.parking {
            s.push(b.parking_summary());
        }
        if t.location {
            s.push(format!(
                "{} is at {} in {}{}.",
                b.name,
                b.address,
                b.neighborhood,
                if b.nearby.is_empty() {
                    String::new()
                } else {
                    format!(" - {}", b.nearby)
                }
            ));
        }
        if t.amenities && !b.amenities.is_empty() {
            s.push(format!("Amenities: {}.", b.amenities.join(", ")));
        }
        s.join(" ")
    }

    fn answer_portfolio(&self, t: &Topics, hood: Option<&str>, lead: &Lead, today: i64) -> String {
        let p = self.p;
        let pool: Vec<&Building> = p
            .buildings
            .iter()
            .filter(|b| hood.is_none_or(|h| b.neighborhood == h))
            .collect();
        let mut s: Vec<String> = Vec::new();
        let specific = t.pets || t.parking || t.location || t.amenities;
        if t.availability || t.rent || !specific {
            let mut lines = Vec::new();
            for b in &pool {
                let units: Vec<&data::Unit> = b
                    .units
                    .iter()
                    .filter(|u| lead.bedrooms.is_none_or(|br| u.bedrooms == br))
                    .filter(|u| lead.budget.is_none_or(|max| u.rent <= max))
                    .collect();
                if units.is_empty() {
                    continue;
                }
                let min = units.iter().map(|u| u.rent).min().unwrap_or(0);
                let mut brs: Vec<u8> = units.iter().map(|u| u.bedrooms).collect();
                brs.sort();
                brs.dedup();
                let br = match (brs.first(), brs.last()) {
                    (Some(&a), Some(&z)) if a == z => br_label(a),
                    (Some(&a), Some(&z)) => format!(
                        "{}-{}BR",
                        if a == 0 {
                            "Studio".into()
                        } else {
                            a.to_string()
                        },
                        z
                    ),
                    _ => String::new(),
                };
                let soonest = units
                    .iter()
                    .map(|u| data::availability(u, today))
                    .min_by_key(|a| if a == "avail now" { 0 } else { 1 })
                    .unwrap_or_default();
                lines.push(
                    format!(
                        "{} ({}) {} from {}",
                        b.short_name(),
                        b.neighborhood,
                        br,
                        dollars(min.into())
                    ) + if soonest == "avail now" {
                        ", some avail now"
                    } else {
                        ""
                    },
                );
            }
            let filter = describe_filters(lead);
            if lines.is_empty() {
                s.push(format!(
                    "Nothing open{} matches{} right now, but new units open up often.",
                    hood.map(|h| format!(" in {h}")).unwrap_or_default(),
                    filter
                ));
            } else {
                s.push(format!(
                    "Open now or soon{}{}: {}.",
                    hood.map(|h| format!(" in {h}")).unwrap_or_default(),
                    filter,
                    lines.join("; ")
                ));
            }
        }
        if t.pets {
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
            s.push(format!(
                "Dogs are welcome at {} (weight limits vary); cats at {}. Ask about a building for its pet fees.",
                if dogs.is_empty() { "none of them".to_owned() } else { join_and(&dogs) },
                if cats.len() == pool.len() { "all of them".to_owned() } else { join_and(&cats) }
            ));
        }
        if t.parking {
            let list: Vec<String> = pool
                .iter()
                .map(|b| {
                    format!(
                        "{} {}",
                        b.short_name(),
                        if b.parking.monthly_fee == 0 {
                            "free".to_owned()
                        } else {
                            format!("{}/mo", dollars(b.parking.monthly_fee.into()))
                        }
                    )
                })
                .collect();
            s.push(format!("Parking: {}.", list.join("; ")));
        }
        if t.location {
            let groups: Vec<String> = p
                .neighborhoods()
                .iter()
                .filter(|h| hood.is_none_or(|x| x == h.as_str()))
                .map(|h| {
                    let names: Vec<&str> = p
                        .buildings
                        .iter()
                        .filter(|b| &b.neighborhood == h)
                        .map(|b| b.short_name())
                        .collect();
                    format!("{h}: {}", names.join(", "))
                })
                .collect();
            s.push(format!("Our buildings - {}.", groups.join("; ")));
        }
        if t.amenities && !t.availability && !t.pets && !t.parking && !t.location {
            s.push("Amenities differ by building - which one are you asking about?".into());
        }
        s.join(" ")
    }

    /// The best matches for a qualified lead across the portfolio.
    fn recommend(&self, lead: &Lead, today: i64) -> String {
        let move_in = lead.move_in.as_deref().and_then(time::parse_iso_date);
        let pets = lead.pets.unwrap_or_default();
        let mut fits: Vec<(&Building, &data::Unit)> = Vec::new();
        for b in &self.p.buildings {
            if !b.allows_pets(pets.cats, pets.dogs) {
                continue;
            }
            for u in &b.units {
                if lead.bedrooms.is_some_and(|br| u.bedrooms != br)
                    || lead.budget.is_some_and(|max| u.rent > max)
                {
                    continue;
                }
                fits.push((b, u));
            }
        }
        // Ready by the move-in date first, then cheapest; one unit per building.
        fits.sort_by_key(|(_, u)| {
            let ready = time::parse_iso_date(&u.available_from).unwrap_or(0);
            (move_in.is_some_and(|m| ready > m), u.rent)
        });
        let mut seen: Vec<&str> = Vec::new();
        let mut picks = Vec::new();
        for (b, u) in fits {
            if seen.contains(&b.id.as_str()) {
                continue;
            }
            seen.push(&b.id);
            picks.push(format!(
                "{} ({}) {} {}, {}",
                b.short_name(),
                b.neighborhood,
                data::layout(u),
                dollars(u.rent.into()),
                data::availability(u, today)
            ));
            if picks.len() == 3 {
                break;
            }
        }
        if picks.is_empty() {
            return format!(
                "Thanks! Nothing open matches{} exactly right now. Would a different size or budget work? Our team can also let you know when something opens.",
                describe_filters(lead)
            );
        }
        format!(
            "Thanks! Good fits for you: {}. Which one would you like to tour?",
            picks.join("; ")
        )
    }

    fn offer_slots(&mut self, lead: &mut Lead, b: &Building) -> String {
        let o = &self.p.office;
        let offered = slots::next_slots(
            b,
            o.zone(),
            self.now_ms,
            o.tour_slots_offered.clamp(1, 4),
            o.tour_slot_minutes,
            o.tour_min_lead_minutes,
        );
        if offered.is_empty() {
            return format!(
                "I couldn't find an open tour time at {} this week - a team member will text you to set one up.",
                b.name
            );
        }
        let list: Vec<String> = offered
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}) {}", i + 1, s.label))
            .collect();
        let n = offered.len();
        lead.offered_slots = offered;
        lead.asked = None;
        let pick = match n {
            1 => "Reply 1 to book it".to_owned(),
            2 => "Reply 1 or 2".to_owned(),
            _ => format!("Reply 1-{n}"),
        };
        format!(
            "Tour times at {} ({}): {}. {}, or suggest another time.",
            b.name,
            b.street(),
            list.join(" "),
            pick
        )
    }

    fn book(&mut self, lead: &mut Lead, stats: &mut Stats, slot: Slot) -> String {
        let p = self.p;
        let Some(b) = lead.building.as_deref().and_then(|id| p.building(id)) else {
            lead.offered_slots.clear();
            return "Which building would you like to tour?".into();
        };
        lead.offered_slots.clear();
        lead.asked = None;
        lead.wants_tour = false;
        lead.tour = Some(Tour {
            building: b.id.clone(),
            at_ms: slot.at_ms,
            label: slot.label.clone(),
        });
        stats.tours_booked += 1;
        let description = format!(
            "Tour of {} ({}) with lead {} on {}",
            b.name,
            b.street(),
            lead.number,
            slot.label
        );
        self.actions.push(Action::TrackSla {
            id: format!("showing:{}", lead.number),
            kind: "showing_scheduled",
            description: description.clone(),
            deadline_ms: self.now_ms + 48 * MS_PER_HOUR,
        });
        self.actions.push(Action::Alert {
            kind: "tour-booked",
            severity: Severity::Info,
            message: description,
            fields: vec![
                ("lead".into(), lead.number.clone()),
                ("building".into(), b.name.clone()),
                ("when".into(), slot.label.clone()),
                ("at_ms".into(), slot.at_ms.to_string()),
            ],
        });
        format!(
            "You're booked: tour of {} on {} at {}. A leasing agent will meet you in the lobby. Reply RESCHEDULE if you need another time.",
            b.name, slot.label, b.address
        )
    }

    fn docs_received(&mut self, lead: &mut Lead, stats: &mut Stats) -> String {
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
        "Thank you! Our team will review your documents within 24 hours, and you'll have a decision on your application within 48 hours. We'll text you if we need anything else.".into()
    }

    fn handoff(&mut self, lead: &mut Lead, stats: &mut Stats, body: &str, upset: bool) {
        lead.status = Status::HandedOff;
        lead.handoff_notice_ms = Some(self.now_ms);
        stats.handoffs += 1;
        self.clear_followup(lead);
        let building = lead
            .building
            .as_deref()
            .and_then(|id| self.p.building(id))
            .map(|b| b.name.clone())
            .unwrap_or_default();
        let reason = if upset {
            "is upset"
        } else {
            "asked for a person"
        };
        self.actions.push(Action::Alert {
            kind: "handoff",
            severity: Severity::Warning,
            message: format!("Lead {} {reason}: \"{}\"", lead.number, body.trim()),
            fields: vec![
                ("lead".into(), lead.number.clone()),
                ("last_message".into(), body.trim().to_owned()),
                ("reason".into(), reason.into()),
                ("building".into(), building),
                (
                    "conversation".into(),
                    lead.conversation_id.clone().unwrap_or_default(),
                ),
            ],
        });
        let text = if upset {
            format!(
                "I'm sorry about that. I've passed this to our leasing team and a person will reach out to you shortly. You can also call {}.",
                self.p.office.phone
            )
        } else {
            format!(
                "Sure - a member of our leasing team will reach out to you shortly. You can also call {}.",
                self.p.office.phone
            )
        };
        self.reply(stats, text);
    }

    fn llm_context(&self, lead: &Lead) -> String {
        let today = self.today();
        let p = self.p;
        let mut lines = vec![format!(
            "Company: {}. Office contact: {}.",
            p.office.company,
            self.office_contact()
        )];
        let focus: Vec<&Building> = match lead.building.as_deref().and_then(|id| p.building(id)) {
            Some(b) => vec![b],
            None => p.buildings.iter().collect(),
        };
        for b in focus {
            let all = Topics {
                availability: true,
                pets: true,
                parking: true,
                location: true,
                amenities: true,
                rent: true,
            };
            lines.push(self.answer_building(b, &all, None, today));
        }
        lines.join("\n")
    }

    // ---- jobs -------------------------------------------------------------------------

    /// The follow-up timer fired for `lead`: nudge, and reschedule until the office's
    /// maximum, after which the lead is closed as unresponsive.
    pub fn on_followup(&mut self, lead: &mut Lead, stats: &mut Stats) {
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
        let company = &self.p.office.company;
        let text = match (lead.followups_sent, building) {
            (1, Some(b)) => format!("Hi, it's {company} checking in. Still interested in {}? I can book you a tour in a minute - just reply TOUR, or ask me anything.", b.name),
            (1, None) => format!("Hi, it's {company} checking in. Still looking for an apartment? Tell me what you need and I'll send what's open."),
            (2, _) => "Just following up - apartments are going fast this month. Want me to send tour times? Reply TOUR, or NO if you've found a place.".to_owned(),
            _ => format!("Last check-in from {company}: whenever you're ready, text us and we'll pick up where we left off. Good luck with your search!"),
        };
        self.actions.push(Action::Reply(text));
        if lead.followups_sent >= self.p.office.max_followups {
            lead.status = Status::Dead;
            lead.closed_reason = Some(format!("no reply after {} follow-ups", lead.followups_sent));
            stats.dead_leads += 1;
        } else {
            self.schedule_followup(lead, silence);
        }
    }

    /// The daily owner report: an alert with yesterday's counters; the counters restart.
    pub fn owner_report(&mut self, stats: &mut Stats) {
        let o = &self.p.office;
        let s = stats.clone();
        let since = if s.since_ms == 0 {
            "the start".to_owned()
        } else {
            time::iso_date(o.zone().to_local(s.since_ms).days)
        };
        self.actions.push(Action::Alert {
            kind: "owner-report",
            severity: Severity::Info,
            message: format!(
                "Daily report for {} ({}): {} new leads, {} messages in, {} replies sent, {} tours booked, {} applications, {} handoffs, {} dead leads.",
                o.owner_name, o.company, s.leads_in, s.messages_in, s.responses, s.tours_booked, s.applications, s.handoffs, s.dead_leads
            ),
            fields: vec![
                ("since".into(), since),
                ("leads_in".into(), s.leads_in.to_string()),
                ("messages_in".into(), s.messages_in.to_string()),
                ("responses".into(), s.responses.to_string()),
                ("tours_booked".into(), s.tours_booked.to_string()),
                ("applications".into(), s.applications.to_string()),
                ("handoffs".into(), s.handoffs.to_string()),
                ("followups_sent".into(), s.followups_sent.to_string()),
                ("dead_leads".into(), s.dead_leads.to_string()),
            ],
        });
        *stats = Stats {
            since_ms: self.now_ms,
            ..Stats::default()
        };
    }
}

fn br_label(n: u8) -> String {
    if n == 0 {
        "studio".into()
    } else {
        format!("{n}BR")
    }
}

fn describe_filters(lead: &Lead) -> String {
    let mut f = Vec::new();
    if let Some(b) = lead.bedrooms {
        f.push(br_label(b));
    }
    if let Some(max) = lead.budget {
        f.push(format!("under {}", dollars(max.into())));
    }
    if f.is_empty() {
        String::new()
    } else {
        format!(" ({})", f.join(", "))
    }
}

fn acknowledge(f: &Facts) -> String {
    let mut got = Vec::new();
    if let Some(b) = f.bedrooms {
        got.push(br_label(b));
    }
    if let Some(d) = f.move_in {
        got.push(format!("move-in {}", time::month_day(d)));
    }
    if let Some(b) = f.budget {
        got.push(format!("up to {}/mo", dollars(b.into())));
    }
    if let Some(p) = f.pets {
        got.push(parse::describe_pets(&p).to_owned());
    }
    format!("Got it: {}.", got.join(", "))
}

fn join_and<S: AsRef<str>>(items: &[S]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].as_ref().to_owned(),
        n => {
            let head: Vec<&str> = items[..n - 1].iter().map(AsRef::as_ref).collect();
            format!("{} and {}", head.join(", "), items[n - 1].as_ref())
        }
    }
}
