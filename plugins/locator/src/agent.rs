//! The locator's decisions: requirements gathered over several messages (areas added,
//! removed or replaced as the renter says), questions answered first from the listing
//! data, options with the reasons they fit, tour requests handed to staff with the
//! renter's preferred time, honest identity, handoffs with an ETA. Pure: returns
//! [`Action`]s.

use crate::data::{self, Inventory, Laundry, Listing, Match, matches};
use crate::understand::{self, AreaOp, Context, Field, Reading, Topic};
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
    Alert {
        kind: &'static str,
        severity: Severity,
        message: String,
        fields: Vec<(String, String)>,
    },
    /// A question the rules could not answer: the LLM may propose an answer from
    /// `context` (checked by the guard); otherwise `fallback` and `on_fallback`.
    AskLlm {
        question: String,
        context: String,
        fallback: String,
        on_fallback: Vec<Action>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    pub at_ms: u64,
    pub eta_ms: u64,
    pub alerted_ms: u64,
}

/// One renter's search; stored under `renter:<number>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Renter {
    pub number: String,
    pub conversation_id: Option<String>,
    pub lang: Option<String>,
    pub name: Option<String>,
    pub messages_in: u32,
    pub beds: Option<Beds>,
    pub budget_range: Option<Budget>,
    /// "No limit": the renter has no maximum rent (no budget filter, not asked again).
    pub budget_open: bool,
    /// Neighborhoods wanted; `Some(empty)` = anywhere.
    pub areas: Option<Vec<String>>,
    /// ISO date.
    pub move_in: Option<String>,
    pub pets: Option<Pets>,
    /// Landmark kinds wanted close ("lake").
    pub near: Vec<String>,
    pub asked: Option<Field>,
    pub question_turn: u32,
    /// Listing ids of the options last sent, in the order numbered.
    pub options: Vec<String>,
    /// Every listing id sent in this search (for "more").
    pub shown: Vec<String>,
    /// The listing the renter is talking about.
    pub focus: Option<String>,
    pub tour_requests: Vec<String>,
    /// A tour asked for without a time yet: the next day/time named goes to staff.
    pub pending_tour: Option<String>,
    pub handoff: Option<Handoff>,
    pub avoid: Vec<String>,
    pub questions_sent: Vec<u64>,
    pub replies: Vec<u64>,
    pub opted_out: bool,
    // Records written before this version.
    #[serde(skip_serializing)]
    pub(crate) bedrooms: Option<u8>,
    #[serde(skip_serializing)]
    pub(crate) budget: Option<u32>,
}

impl Renter {
    pub fn new(number: &str) -> Renter {
        Renter {
            number: number.to_owned(),
            ..Renter::default()
        }
    }

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

    fn avoids(&self, c: &str) -> bool {
        self.avoid.iter().any(|x| x == c)
    }
}

const KEEP_REPLIES: usize = 40;

pub struct Turn<'a> {
    pub inv: &'a Inventory,
    pub langs: &'a Languages,
    pub now_ms: u64,
    /// The conversation so far (inbound?, body), oldest first.
    pub history: Vec<(bool, String)>,
    pub actions: Vec<Action>,
}

impl<'a> Turn<'a> {
    pub fn new(inv: &'a Inventory, langs: &'a Languages, now_ms: u64) -> Self {
        Turn {
            inv,
            langs,
            now_ms,
            history: Vec::new(),
            actions: Vec::new(),
        }
    }

    fn today(&self) -> i64 {
        self.inv.office.zone().to_local(self.now_ms).days
    }

    fn lang(&self, r: &Renter) -> &'a Language {
        self.langs.get(r.lang())
    }

    fn t(&self, r: &Renter, id: &str, a: &[(&str, &str)]) -> String {
        self.langs.render(r.lang(), id, 0, a)
    }

    fn earlier(&self) -> Vec<String> {
        self.history
            .iter()
            .filter(|(i, _)| !i)
            .map(|(_, b)| b.clone())
            .collect()
    }

    fn send(&mut self, r: &mut Renter, say: &Say) {
        let text = say.compose(self.langs, r.lang(), &self.earlier(), &r.replies);
        if text.is_empty() {
            return;
        }
        compose::remember(&mut r.replies, &text, KEEP_REPLIES);
        self.actions.push(Action::Reply(text));
    }

    pub fn on_message(&mut self, r: &mut Renter, body: &str, conversation_id: &str) {
        r.upgrade();
        r.conversation_id = Some(conversation_id.to_owned());
        let new = r.messages_in == 0;
        r.messages_in += 1;
        let upper = body
            .trim()
            .trim_end_matches(['.', '!'])
            .to_ascii_uppercase();
        match upper.as_str() {
            "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" => {
                r.opted_out = true;
                return;
            }
            "START" | "UNSTOP" => r.opted_out = false,
            "YES" if r.opted_out => r.opted_out = false,
            _ if r.opted_out => return,
            _ => {}
        }
        let cx = Context {
            lang: r.lang.as_deref(),
            asked: r.asked,
            options: &r.options,
            touring: r.pending_tour.is_some(),
            today: self.today(),
        };
        let rd = understand::read(self.inv, self.langs, body, &cx);
        r.lang = Some(rd.lang.clone());
        let mut say = Say::default();
        let o = &self.inv.office;
        if upper == "HELP" || upper == "INFO" {
            say.t(
                "help",
                &[("company", o.company.clone()), ("phone", o.phone.clone())],
                ANSWER,
            );
            self.send(r, &say);
            return;
        }
        if rd.intents.start_over {
            *r = Renter {
                number: r.number.clone(),
                conversation_id: r.conversation_id.clone(),
                lang: r.lang.clone(),
                name: r.name.clone(),
                messages_in: r.messages_in,
                tour_requests: r.tour_requests.clone(),
                replies: r.replies.clone(),
                ..Renter::default()
            };
            r.asked = Some(Field::Bedrooms);
            r.question_turn = r.messages_in;
            say.t("start_over", &[], ANSWER);
            self.send(r, &say);
            return;
        }
        self.converse(r, body, &rd, new, &mut say);
        self.send(r, &say);
    }

    /// Stores the requirements the text states; true when any changed.
    fn remember(&mut self, r: &mut Renter, rd: &Reading) -> bool {
        let before = (
            r.beds,
            r.budget_range,
            r.budget_open,
            r.areas.clone(),
            r.move_in.clone(),
            r.pets,
            r.near.clone(),
        );
        if rd.beds.is_some() {
            r.beds = rd.beds;
        }
        if rd.budget.is_some() {
            r.budget_range = rd.budget;
            r.budget_open = false;
        } else if rd.budget_open {
            r.budget_range = None;
            r.budget_open = true;
        }
        if let Some(d) = rd.move_in {
            r.move_in = Some(time::iso_date(d));
        }
        if let Some(p) = rd.pets {
            let mut p = p;
            if p.dogs && p.dog_lbs.is_none() {
                p.dog_lbs = r.pets.and_then(|old| old.dog_lbs);
            }
            r.pets = Some(p);
        }
        for k in &rd.near {
            if !r.near.iter().any(|x| x == k) {
                r.near.push((*k).to_owned());
            }
        }
        if rd.anywhere && rd.areas.is_empty() {
            r.areas = Some(Vec::new());
        }
        if let Some(op) = rd.area_op {
            let mut areas = r.areas.clone().unwrap_or_default();
            match op {
                AreaOp::Add => {
                    for a in &rd.areas {
                        if !areas.contains(a) {
                            areas.push(a.clone());
                        }
                    }
                    // "anywhere" plus an area named as an addition stays anywhere.
                    if r.areas.as_ref().is_some_and(|x| x.is_empty())
                        && r.asked != Some(Field::Area)
                        && !rd.anywhere
                    {
                        areas = rd.areas.clone();
                    }
                }
                AreaOp::Replace => areas = rd.areas.clone(),
                AreaOp::Remove => {
                    if areas.is_empty() || rd.anywhere {
                        // "anywhere but uptown": every covered area except those.
                        areas = self
                            .inv
                            .office
                            .areas
                            .iter()
                            .map(|a| a.name.clone())
                            .collect();
                    }
                    areas.retain(|a| !rd.areas.contains(a));
                }
            }
            r.areas = Some(areas);
        }
        if let Some(n) = &rd.name {
            r.name = Some(n.clone());
        }
        if rd.intents.phone_fails && !r.avoids("phone") {
            r.avoid.push("phone".into());
        }
        match r.asked {
            Some(Field::Bedrooms) if r.beds.is_some() => r.asked = None,
            Some(Field::Budget) if r.budget_range.is_some() || r.budget_open => r.asked = None,
            Some(Field::Area) if r.areas.is_some() => r.asked = None,
            Some(Field::MoveIn) if r.move_in.is_some() => r.asked = None,
            Some(Field::Pets) if r.pets.is_some() => r.asked = None,
            _ => {}
        }
        let after = (
            r.beds,
            r.budget_range,
            r.budget_open,
            r.areas.clone(),
            r.move_in.clone(),
            r.pets,
            r.near.clone(),
        );
        before != after
    }

    fn converse(&mut self, r: &mut Renter, body: &str, rd: &Reading, new: bool, say: &mut Say) {
        let o = &self.inv.office;
        let i = &rd.intents;
        let changed = self.remember(r, rd);
        if let Some(k) = rd
            .pick
            .and_then(|k| r.options.get(k))
            .cloned()
            .or_else(|| rd.named.clone())
        {
            r.focus = Some(k);
        }
        if new && !i.who && !i.bot {
            say.t("greet_new", &[("company", o.company.clone())], SOCIAL)
                .or_t("greet_new_short", &[("company", o.company.clone())]);
        }
        if rd.lang_requested {
            say.t("lang_switched", &[], ANSWER);
        }
        if i.who || i.bot || i.called_me {
            say.t(
                if i.bot { "identity_bot" } else { "identity" },
                &[("company", o.company.clone())],
                ANSWER,
            );
            if i.called_me {
                say.t("identity_called", &[], ANSWER);
            }
        }
        if i.done && !i.person && rd.topics.is_empty() {
            say.t("done_bye", &[], ANSWER);
            r.asked = None;
            return;
        }
        let upset = i.upset || i.phone_fails || i.email_fails;
        let handed_off = r.handoff.is_some();
        if upset || (i.person && !handed_off) {
            self.handoff(r, body, rd, say);
        } else if handed_off && (i.when_contact || i.person) {
            self.handoff_eta(r, body, say);
        }
        // Tours: a pick with tour words, or the preferred time for a pending request.
        let mut toured = false;
        if i.tour || (r.pending_tour.is_some() && (rd.when.has_day() || rd.when.has_time())) {
            toured = self.tour(r, rd, say);
        }
        // Areas the locator does not cover.
        if let Some(place) = rd.uncovered {
            let covered: Vec<&str> = o.areas.iter().map(|a| a.name.as_str()).collect();
            say.t(
                "uncovered",
                &[
                    ("place", place.to_owned()),
                    ("areas", self.lang(r).join_and(&covered)),
                ],
                ANSWER,
            );
        }
        // Questions, answered from the data.
        let mut answered = false;
        let focus = r
            .focus
            .clone()
            .and_then(|id| self.inv.listing(&id).cloned());
        let mut show_options = false;
        // Several options at once ("which of those take dogs?", "difference between 1
        // and 2"): each one answered from its listing.
        let set: Vec<Listing> = if i.tour {
            Vec::new()
        } else {
            rd.set
                .iter()
                .filter_map(|&k| r.options.get(k))
                .filter_map(|id| self.inv.listing(id).cloned())
                .collect()
        };
        let set_mode = set.len() >= 2
            && (rd.topics.iter().any(|t| t.per_listing())
                || rd.cheaper
                || has_compare(self, rd)
                || (rd.topics.is_empty() && rd.question));
        if set_mode {
            answered = true;
            self.answer_set(r, rd, &set, body, say);
        }
        for &t in &rd.topics {
            answered = true;
            if set_mode && t.per_listing() {
                continue;
            }
            match t {
                Topic::Availability | Topic::Rent => {
                    match (&focus, rd.pick.is_some() || rd.named.is_some()) {
                        (Some(l), true) => self.answer_listing(r, l, say),
                        _ => show_options = true,
                    }
                }
                Topic::Areas => {
                    let lang = self.lang(r);
                    let covered: Vec<String> = o.areas.iter().map(|a| a.name.clone()).collect();
                    say.t(
                        "areas_covered",
                        &[("areas", lang.join_and(&covered))],
                        ANSWER,
                    );
                }
                Topic::ServiceFee => {
                    say.raw(o.service_fee.get(r.lang()).to_owned(), ANSWER, true);
                }
                Topic::Vouchers => self.answer_vouchers(r, focus.as_ref(), say),
                Topic::Languages => self.answer_languages(r, say),
                Topic::OfficeHours => self.answer_office_hours(r, say),
                Topic::Screening => {
                    self.silent(r, "silent_screening", &[], focus.as_ref(), body, say)
                }
                Topic::Pets
                | Topic::Utilities
                | Topic::Laundry
                | Topic::Fees
                | Topic::Lease
                | Topic::Distance
                | Topic::Location
                | Topic::Features => match &focus {
                    Some(l) => self.answer_about(r, rd, t, l, body, say),
                    None if t == Topic::Distance && rd.landmark.is_some() => {
                        self.answer_near(r, rd.landmark.unwrap_or("transit"), say)
                    }
                    None if t == Topic::Pets => self.answer_pets_general(r, say),
                    None if !r.options.is_empty() => {
                        say.t(
                            "which_option",
                            &[("n", r.options.len().to_string())],
                            ANSWER,
                        );
                        say.asks = true;
                    }
                    None => show_options = true,
                },
            }
        }
        if rd.uncovered.is_some() && rd.areas.is_empty() {
            show_options = false;
        }
        if !rd.near.is_empty()
            || (rd.cheaper && !set_mode)
            || (rd.area_op.is_some() && !r.options.is_empty())
            || i.options
            || (i.more && !r.options.is_empty())
        {
            show_options = true;
        }
        let qualified = next_field(r).is_none();
        // New requirements once qualified, or a first full set: options.
        if (changed && (qualified || !r.options.is_empty())) || show_options {
            let more = i.more && !changed && !r.options.is_empty();
            if !more {
                r.shown.clear();
            }
            self.send_options(r, more, say);
            if rd.cheaper && !set_mode && r.options.len() >= 2 {
                let shown: Vec<Listing> = r
                    .options
                    .iter()
                    .filter_map(|id| self.inv.listing(id).cloned())
                    .collect();
                self.cheapest_of(r, &shown, say);
            }
            return;
        }
        if changed && !toured && !answered {
            self.acknowledge(r, rd, say);
        }
        let said = !say.is_empty();
        if !said
            && (rd.question || rd.norm.len_words() >= 4)
            && !i.thanks
            && !i.greeting
            && !i.yes
            && !i.no
            && !rd.empty
        {
            self.unknown(r, body, say);
            return;
        }
        if !said {
            if i.thanks {
                say.t("thanks", &[], ANSWER);
                return;
            }
            if i.no && !r.options.is_empty() {
                say.t("no_after_options", &[], ANSWER);
                return;
            }
            if i.greeting && !new {
                say.t("greeting_back", &[], ANSWER);
            } else if !new && next_field(r).is_none() {
                say.t(
                    "empty_reply",
                    &[("n", r.options.len().max(1).to_string())],
                    ANSWER,
                );
                return;
            }
        }
        if !upset && !toured && !say.asks && r.handoff.is_none() {
            self.next_question(r, rd, say);
        }
    }

    /// At most one next question: the next requirement not known yet. One the renter
    /// just passed over is not asked while they ask their own questions; otherwise it is
    /// asked again in its other wording (saying we did not follow when nothing was read).
    fn next_question(&mut self, r: &mut Renter, rd: &Reading, say: &mut Say) {
        let Some((field, id)) = next_field(r) else {
            return;
        };
        let skipped = r.asked == Some(field) && r.messages_in <= r.question_turn + 1;
        if skipped && !say.is_empty() && rd.question {
            return;
        }
        if skipped && say.is_empty() {
            let i = &rd.intents;
            if !(i.yes || i.thanks || i.no) {
                say.t("not_caught", &[], ANSWER);
            }
        }
        let again = skipped;
        r.asked = Some(field);
        r.question_turn = r.messages_in;
        let areas: Vec<&str> = self
            .inv
            .office
            .areas
            .iter()
            .take(4)
            .map(|a| a.name.as_str())
            .collect();
        say.opt(id, &[("examples", areas.join(", "))], QUESTION);
        if again {
            say.again();
        }
    }

    fn beds_label(&self, r: &Renter, b: Beds) -> String {
        match b.single() {
            Some(0) => self.t(r, "fact_studio", &[]),
            Some(n) => self.t(r, "fact_beds", &[("n", &n.to_string())]),
            None if b.max >= 9 => self.t(r, "fact_beds_plus", &[("n", &b.min.to_string())]),
            None => self.t(
                r,
                "fact_beds_range",
                &[("min", &b.min.to_string()), ("max", &b.max.to_string())],
            ),
        }
    }

    fn acknowledge(&self, r: &Renter, rd: &Reading, say: &mut Say) {
        let mut got = Vec::new();
        if let Some(b) = rd.beds {
            got.push(self.beds_label(r, b));
        }
        if let Some(b) = rd.budget {
            got.push(match b.min {
                Some(m) => self.t(
                    r,
                    "fact_budget_range",
                    &[("min", &dollars(m.into())), ("max", &dollars(b.max.into()))],
                ),
                None => self.t(r, "fact_budget", &[("amount", &dollars(b.max.into()))]),
            });
        } else if rd.budget_open {
            got.push(self.t(r, "fact_budget_open", &[]));
        }
        if rd.area_op.is_some() || rd.anywhere {
            got.push(match &r.areas {
                Some(a) if a.is_empty() => self.t(r, "fact_anywhere", &[]),
                Some(a) => self.t(r, "fact_areas", &[("areas", &self.lang(r).join_and(a))]),
                None => String::new(),
            });
        }
        if let Some(d) = rd.move_in {
            got.push(self.t(r, "fact_move", &[("date", &self.lang(r).month_day(d))]));
        }
        if let Some(p) = rd.pets {
            got.push(self.pets_label(r, &p));
        }
        got.retain(|g| !g.is_empty());
        if !got.is_empty() {
            say.t("ack", &[("facts", got.join(", "))], DETAIL);
        }
    }

    fn pets_label(&self, r: &Renter, p: &Pets) -> String {
        if p.none() {
            return self.t(r, "fact_no_pets", &[]);
        }
        let mut parts = Vec::new();
        if p.dogs {
            parts.push(match p.dog_lbs {
                Some(w) => self.t(r, "fact_dog_lbs", &[("lbs", &w.to_string())]),
                None => self.t(r, "fact_dog", &[]),
            });
        }
        if p.cats {
            parts.push(self.t(r, "fact_cat", &[]));
        }
        if p.service && parts.is_empty() {
            parts.push(self.t(r, "fact_service", &[]));
        }
        self.lang(r).join_and(&parts)
    }

    /// The reasons a listing fits: "$1,150 - under your $1,200 budget; 2 BR; cats OK; in
    /// Hyde Park; avail Dec 1".
    fn reasons(&self, r: &Renter, m: &Match, short: bool) -> String {
        let l = m.listing;
        let lang = self.lang(r);
        let today = self.today();
        let budget = r.budget_range.map(|b| b.max);
        let (rent, over) = data::price_note(l, budget);
        let mut s = vec![match (budget, over) {
            (Some(b), Some(pct)) => self.t(
                r,
                "reason_over",
                &[
                    ("rent", &rent),
                    ("pct", &pct.to_string()),
                    ("budget", &dollars(b.into())),
                ],
            ),
            (Some(b), None) if l.rent == b => self.t(r, "reason_at", &[("rent", &rent)]),
            (Some(b), None) if !short => self.t(
                r,
                "reason_under",
                &[("rent", &rent), ("budget", &dollars(b.into()))],
            ),
            _ => rent,
        }];
        s.push(if l.bedrooms == 0 {
            self.t(r, "fact_studio", &[])
        } else {
            self.t(r, "reason_beds", &[("n", &l.bedrooms.to_string())])
        });
        let pets = r.pets.unwrap_or_default();
        if pets.dogs && pets.cats {
            s.push(self.t(r, "reason_both", &[]));
        } else if pets.dogs {
            s.push(match (pets.dog_lbs, l.dog_weight_limit_lbs) {
                (Some(_), Some(lim)) => self.t(r, "reason_dogs_lbs", &[("lbs", &lim.to_string())]),
                _ => self.t(r, "reason_dogs", &[]),
            });
        } else if pets.cats {
            s.push(self.t(r, "reason_cats", &[]));
        }
        s.push(self.t(r, "reason_area", &[("area", &l.neighborhood)]));
        for k in &r.near {
            if let Some(lm) = l.landmark(k) {
                s.push(self.t(
                    r,
                    "reason_near",
                    &[
                        ("min", &lm.walk_minutes.to_string()),
                        ("kind", &self.t(r, &format!("landmark_{k}"), &[])),
                    ],
                ));
            }
        }
        let ready = l.ready(today);
        let avail = if ready <= today {
            self.t(r, "avail_now", &[])
        } else {
            self.t(r, "avail_on", &[("date", &lang.month_day(ready))])
        };
        let move_in = r.move_in.as_deref().and_then(time::parse_iso_date);
        s.push(match move_in {
            Some(mi) if ready > mi && !short => self.t(
                r,
                "reason_late",
                &[("avail", &avail), ("date", &lang.month_day(mi))],
            ),
            _ => avail,
        });
        s.join("; ")
    }

    fn send_options(&mut self, r: &mut Renter, more: bool, say: &mut Say) {
        let today = self.today();
        let all = matches(self.inv, r, today);
        let per = self.inv.office.options_per_message.clamp(1, 5);
        let fresh: Vec<&Match> = all
            .iter()
            .filter(|m| !r.shown.contains(&m.listing.id))
            .take(per)
            .collect();
        let mut dropped: Vec<String> = Vec::new();
        let mut relaxed_all = Vec::new();
        if fresh.is_empty() && !more {
            // Nothing fits everything: relax the softest constraints in turn (a landmark,
            // then the areas, then 10% on the budget; never pets or size), saying which.
            let mut relaxed = r.clone();
            if !relaxed.near.is_empty() {
                for k in std::mem::take(&mut relaxed.near) {
                    let kind = self.t(r, &format!("landmark_{k}"), &[]);
                    dropped.push(self.t(r, "dropped_near", &[("kind", &kind)]));
                }
                relaxed_all = matches(self.inv, &relaxed, today);
            }
            if relaxed_all.is_empty() && relaxed.areas.as_ref().is_some_and(|a| !a.is_empty()) {
                let areas = relaxed.areas.take().unwrap_or_default();
                dropped.push(self.t(
                    r,
                    "dropped_area",
                    &[("area", &self.lang(r).join_or(&areas))],
                ));
                relaxed.areas = Some(Vec::new());
                relaxed_all = matches(self.inv, &relaxed, today);
            }
            if relaxed_all.is_empty()
                && let Some(b) = relaxed.budget_range.as_mut()
            {
                dropped.push(self.t(r, "dropped_budget", &[("amount", &dollars(b.max.into()))]));
                b.max += b.max / 10;
                relaxed_all = matches(self.inv, &relaxed, today);
            }
        }
        let fresh: Vec<&Match> = if fresh.is_empty() {
            relaxed_all.iter().take(per).collect()
        } else {
            fresh
        };
        if fresh.is_empty() {
            if more {
                say.t("options_end", &[], ANSWER);
            } else {
                r.options.clear();
                say.t("options_none", &[("summary", self.summary(r))], ANSWER);
            }
            return;
        }
        r.options = fresh.iter().map(|m| m.listing.id.clone()).collect();
        r.shown.extend(r.options.iter().cloned());
        r.focus = (r.options.len() == 1).then(|| r.options[0].clone());
        let head = if !dropped.is_empty() {
            "options_relaxed"
        } else if fresh.iter().all(|m| m.over_budget) {
            "options_head_over"
        } else if more {
            "options_head_more"
        } else {
            "options_head"
        };
        let n = fresh.len();
        let pick = if n == 1 {
            self.t(r, "pick_one", &[])
        } else {
            self.t(r, "pick_many", &[("n", &n.to_string())])
        };
        let lines = |short: bool, k: usize| -> String {
            fresh
                .iter()
                .take(k)
                .enumerate()
                .map(|(i, m)| {
                    format!(
                        "{}) {}: {}",
                        i + 1,
                        m.listing.title,
                        self.reasons(r, m, short)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let full = lines(false, n);
        let short = lines(true, n);
        let two = lines(true, n.min(2));
        let summary = self.summary(r);
        let dropped = self.lang(r).join_and(&dropped);
        let a = |lines: String, pick: String| {
            [
                ("lines", lines),
                ("pick", pick),
                ("summary", summary.clone()),
                ("dropped", dropped.clone()),
            ]
        };
        say.t(head, &a(full, pick.clone()), ANSWER)
            .or_t(head, &a(short, pick.clone()))
            .or_t(head, &a(two, pick));
        say.asks = true;
        r.asked = None;
    }

    fn summary(&self, r: &Renter) -> String {
        let mut s = Vec::new();
        if let Some(b) = r.beds {
            s.push(self.beds_label(r, b));
        }
        if let Some(b) = r.budget_range {
            s.push(self.t(r, "fact_budget", &[("amount", &dollars(b.max.into()))]));
        } else if r.budget_open {
            s.push(self.t(r, "fact_budget_open", &[]));
        }
        match &r.areas {
            Some(a) if a.is_empty() => s.push(self.t(r, "fact_anywhere", &[])),
            Some(a) => s.push(a.join("/")),
            None => {}
        }
        if let Some(m) = r.move_in.as_deref().and_then(time::parse_iso_date) {
            s.push(self.t(r, "fact_move", &[("date", &self.lang(r).month_day(m))]));
        }
        if let Some(p) = r.pets {
            s.push(self.pets_label(r, &p));
        }
        for k in &r.near {
            s.push(self.t(
                r,
                "fact_near",
                &[("kind", &self.t(r, &format!("landmark_{k}"), &[]))],
            ));
        }
        s.join(", ")
    }

    fn answer_listing(&mut self, r: &Renter, l: &Listing, say: &mut Say) {
        let today = self.today();
        let ready = l.ready(today);
        let avail = if ready <= today {
            self.t(r, "avail_now", &[])
        } else {
            self.t(r, "avail_on", &[("date", &self.lang(r).month_day(ready))])
        };
        let beds = if l.bedrooms == 0 {
            self.t(r, "fact_studio", &[])
        } else {
            self.t(r, "reason_beds", &[("n", &l.bedrooms.to_string())])
        };
        say.t(
            "listing",
            &[
                ("title", l.title.clone()),
                ("address", l.address.clone()),
                ("area", l.neighborhood.clone()),
                ("beds", beds),
                ("rent", dollars(l.rent.into())),
                ("sqft", l.sqft.to_string()),
                ("avail", avail),
            ],
            ANSWER,
        );
    }

    fn utility(&self, r: &Renter, key: &str) -> String {
        self.t(r, &format!("utility_{key}"), &[])
    }

    fn answer_about(
        &mut self,
        r: &mut Renter,
        rd: &Reading,
        t: Topic,
        l: &Listing,
        body: &str,
        say: &mut Say,
    ) {
        let lang = self.lang(r);
        let title = l.title.clone();
        match t {
            Topic::Pets => {
                let mut parts = vec![if l.cats {
                    self.t(r, "pets_cats_ok", &[])
                } else {
                    self.t(r, "pets_no_cats", &[])
                }];
                parts.push(match (l.dogs, l.dog_weight_limit_lbs) {
                    (true, Some(w)) => self.t(r, "pets_dogs_limit", &[("lbs", &w.to_string())]),
                    (true, None) => self.t(r, "pets_dogs_ok", &[]),
                    (false, _) => self.t(r, "pets_no_dogs", &[]),
                });
                say.t(
                    "pets_listing",
                    &[("title", title.clone()), ("summary", parts.join("; "))],
                    ANSWER,
                );
                if let Some(p) = r.pets
                    && !l.allows(&p)
                    && !p.service
                {
                    say.t("pets_not_here", &[("title", title)], CAVEAT);
                }
            }
            Topic::Utilities => {
                if !rd.utilities.is_empty() {
                    for u in &rd.utilities {
                        let name = self.utility(r, u);
                        if l.utilities_included.iter().any(|x| x == u) {
                            say.t(
                                "utility_yes",
                                &[("utility", name), ("title", title.clone())],
                                ANSWER,
                            );
                        } else if l.tenant_pays.iter().any(|x| x == u) {
                            say.t(
                                "utility_no",
                                &[("utility", name), ("title", title.clone())],
                                ANSWER,
                            );
                        } else {
                            self.silent(
                                r,
                                "silent_utility",
                                &[("utility", name)],
                                Some(l),
                                body,
                                say,
                            );
                        }
                    }
                } else {
                    let inc: Vec<String> = l
                        .utilities_included
                        .iter()
                        .map(|u| self.utility(r, u))
                        .collect();
                    let pays: Vec<String> =
                        l.tenant_pays.iter().map(|u| self.utility(r, u)).collect();
                    let id = match (inc.is_empty(), pays.is_empty()) {
                        (false, false) => "utilities",
                        (true, _) => "utilities_none_included",
                        (false, true) => "utilities_all",
                    };
                    say.t(
                        id,
                        &[
                            ("title", title),
                            ("included", lang.join_and(&inc)),
                            ("tenant", lang.join_and(&pays)),
                        ],
                        ANSWER,
                    );
                }
            }
            Topic::Laundry => {
                let what = self.t(
                    r,
                    match l.laundry {
                        Laundry::InUnit => "laundry_in_unit",
                        Laundry::OnSite => "laundry_on_site",
                        Laundry::Hookups => "laundry_hookups",
                        Laundry::None => "laundry_none",
                    },
                    &[],
                );
                say.t("laundry", &[("title", title), ("what", what)], ANSWER);
            }
            Topic::Fees => {
                let mut items = Vec::new();
                if let Some(a) = l.application_fee {
                    items.push(self.t(r, "fee_app", &[("amount", &dollars(a.into()))]));
                }
                if let Some(d) = l.security_deposit {
                    items.push(self.t(r, "fee_deposit", &[("amount", &dollars(d.into()))]));
                }
                if items.is_empty() {
                    self.silent(r, "silent_fees", &[], Some(l), body, say);
                } else {
                    say.t(
                        "fees",
                        &[("title", title), ("list", lang.join_and(&items))],
                        ANSWER,
                    );
                    say.opt(
                        "service_fee_note",
                        &[("note", self.inv.office.service_fee.get(r.lang()).to_owned())],
                        DETAIL,
                    );
                }
            }
            Topic::Lease => {
                let months: Vec<String> = l.lease_months.iter().map(u32::to_string).collect();
                say.t(
                    "lease",
                    &[("title", title), ("months", lang.join_or(&months))],
                    ANSWER,
                );
            }
            Topic::Distance => {
                let kind = rd.landmark.unwrap_or("transit");
                let kind_name = self.t(r, &format!("landmark_{kind}"), &[]);
                match l.landmark(kind) {
                    Some(lm) => {
                        say.t(
                            "distance",
                            &[
                                ("title", title),
                                ("min", lm.walk_minutes.to_string()),
                                ("landmark", lm.name.clone()),
                            ],
                            ANSWER,
                        );
                    }
                    None => self.silent(
                        r,
                        "silent_distance",
                        &[("kind", kind_name)],
                        Some(l),
                        body,
                        say,
                    ),
                }
            }
            Topic::Location => {
                say.t(
                    "location",
                    &[
                        ("title", title),
                        ("address", l.address.clone()),
                        ("area", l.neighborhood.clone()),
                    ],
                    ANSWER,
                );
            }
            Topic::Features => {
                if l.features.is_empty() {
                    self.silent(r, "silent_features", &[], Some(l), body, say);
                } else {
                    say.t(
                        "features",
                        &[("title", title), ("list", lang.join_and(&l.features))],
                        ANSWER,
                    );
                }
            }
            _ => {}
        }
    }

    /// The topics asked, answered for each listing of `set` (the options referred to
    /// together); with no topic, each one's summary line; and which is cheapest when asked.
    fn answer_set(
        &mut self,
        r: &mut Renter,
        rd: &Reading,
        set: &[Listing],
        body: &str,
        say: &mut Say,
    ) {
        let topics: Vec<Topic> = rd
            .topics
            .iter()
            .copied()
            .filter(|t| t.per_listing())
            .collect();
        let summary_only = topics.is_empty()
            || topics
                .iter()
                .all(|t| matches!(t, Topic::Availability | Topic::Rent));
        // "Which is cheaper?" alone is answered by the verdict below.
        let verdict_only = rd.cheaper && !has_compare(self, rd);
        if summary_only && !verdict_only {
            for l in set {
                self.answer_listing(r, l, say);
            }
        }
        for t in topics {
            if matches!(t, Topic::Availability | Topic::Rent) {
                continue;
            }
            for l in set {
                self.answer_about(r, rd, t, l, body, say);
            }
        }
        if rd.cheaper {
            self.cheapest_of(r, set, say);
        }
    }

    /// Which of `set` costs least (or that they cost the same).
    fn cheapest_of(&mut self, r: &Renter, set: &[Listing], say: &mut Say) {
        {
            let low = set.iter().map(|l| l.rent).min().unwrap_or(0);
            let lowest: Vec<&str> = set
                .iter()
                .filter(|l| l.rent == low)
                .map(|l| l.title.as_str())
                .collect();
            if lowest.len() == set.len() {
                say.t("cheaper_tie", &[("rent", dollars(low.into()))], ANSWER);
            } else {
                say.t(
                    "cheaper",
                    &[
                        ("title", self.lang(r).join_and(&lowest)),
                        ("rent", dollars(low.into())),
                    ],
                    ANSWER,
                );
            }
        }
    }

    fn answer_pets_general(&mut self, r: &Renter, say: &mut Say) {
        let pets = r.pets.unwrap_or(Pets {
            dogs: true,
            ..Pets::default()
        });
        let n = self.inv.listings.iter().filter(|l| l.allows(&pets)).count();
        match pets.dog_lbs {
            Some(w) => say.t(
                "pets_general_lbs",
                &[("n", n.to_string()), ("lbs", w.to_string())],
                ANSWER,
            ),
            None => say.t(
                "pets_general",
                &[
                    ("n", n.to_string()),
                    ("total", self.inv.listings.len().to_string()),
                ],
                ANSWER,
            ),
        };
    }

    fn answer_near(&mut self, r: &Renter, kind: &str, say: &mut Say) {
        let near = self.inv.office.near_walk_minutes;
        let mut list: Vec<(&Listing, u32)> = self
            .inv
            .listings
            .iter()
            .filter(|l| {
                r.areas
                    .as_ref()
                    .is_none_or(|a| a.is_empty() || a.contains(&l.neighborhood))
            })
            .filter_map(|l| {
                l.landmark(kind)
                    .filter(|m| m.walk_minutes <= near)
                    .map(|m| (l, m.walk_minutes))
            })
            .collect();
        list.sort_by_key(|(_, m)| *m);
        list.truncate(5);
        let kind_name = self.t(r, &format!("landmark_{kind}"), &[]);
        let items: Vec<String> = list
            .iter()
            .map(|(l, m)| format!("{} ({m} min)", l.title))
            .collect();
        say.t(
            "near_list",
            &[
                ("kind", kind_name),
                ("min", near.to_string()),
                ("list", self.lang(r).join_and(&items)),
            ],
            ANSWER,
        );
    }

    fn answer_vouchers(&mut self, _r: &Renter, focus: Option<&Listing>, say: &mut Say) {
        let o = &self.inv.office;
        match focus {
            Some(l) if l.vouchers => {
                say.t("vouchers_listing", &[("title", l.title.clone())], ANSWER);
            }
            _ => {
                let all = self.inv.listings.iter().all(|l| l.vouchers);
                say.t(
                    if all { "vouchers_all" } else { "vouchers_some" },
                    &[],
                    ANSWER,
                );
            }
        }
        if o.source_of_income_protected {
            say.opt("vouchers_law", &[], DETAIL);
        }
    }

    fn lang_name(&self, r: &Renter, code: &str) -> String {
        let id = format!("lang_name_{code}");
        if self.langs.variants(r.lang(), &id) > 0 {
            self.t(r, &id, &[])
        } else {
            self.langs.get(code).name.clone()
        }
    }

    fn answer_languages(&mut self, r: &Renter, say: &mut Say) {
        let names: Vec<String> = self
            .inv
            .office
            .staff_languages
            .iter()
            .map(|c| self.lang_name(r, c))
            .collect();
        say.t(
            "languages",
            &[("list", self.lang(r).join_and(&names))],
            ANSWER,
        );
    }

    fn answer_office_hours(&mut self, r: &Renter, say: &mut Say) {
        let o = &self.inv.office;
        let now = o.zone().to_local(self.now_ms);
        let open = if o.office_hours.is_open(now) {
            self.t(r, "open_now", &[])
        } else {
            String::new()
        };
        say.t(
            "office_hours",
            &[
                ("hours", o.office_hours.describe(self.lang(r))),
                ("now", open),
            ],
            ANSWER,
        );
    }

    // ---- tours ------------------------------------------------------------------------

    /// A tour request: the option picked (or in focus, or the only one), handed to staff
    /// with the preferred time when one is given; otherwise the time is asked for.
    fn tour(&mut self, r: &mut Renter, rd: &Reading, say: &mut Say) -> bool {
        let id = rd
            .pick
            .and_then(|k| r.options.get(k).cloned())
            .or_else(|| rd.named.clone())
            .or_else(|| r.pending_tour.clone())
            .or_else(|| r.focus.clone())
            .or_else(|| (r.options.len() == 1).then(|| r.options[0].clone()));
        let Some(l) = id.and_then(|id| self.inv.listing(&id).cloned()) else {
            if r.options.is_empty() {
                // Nothing shown yet: find options first (the next requirement).
                let q = next_field(r)
                    .map(|(_, id)| {
                        self.t(r, id, &[("examples", "Hyde Park, Pilsen, Logan Square")])
                    })
                    .unwrap_or_default();
                if !q.is_empty() {
                    r.asked = next_field(r).map(|(f, _)| f);
                    r.question_turn = r.messages_in;
                }
                say.t("tour_no_options", &[("question", q)], ANSWER);
                say.asks = true;
                return true;
            }
            let n: Vec<String> = (1..=r.options.len()).map(|k| k.to_string()).collect();
            say.t("tour_which", &[("list", self.lang(r).join_or(&n))], ANSWER);
            say.asks = true;
            return true;
        };
        r.focus = Some(l.id.clone());
        let when = self.when_text(r, rd);
        // The request goes to staff at once; a time given now or later goes with it.
        let update = r.pending_tour.as_deref() == Some(l.id.as_str()) && when.is_some();
        r.pending_tour = if when.is_none() {
            Some(l.id.clone())
        } else {
            None
        };
        if !r.tour_requests.contains(&l.id) {
            r.tour_requests.push(l.id.clone());
        }
        let preferred = when.clone().unwrap_or_default();
        let mut fields = vec![
            ("renter".into(), r.number.clone()),
            ("listing".into(), l.id.clone()),
            ("title".into(), l.title.clone()),
            (
                "address".into(),
                format!("{}, {}", l.address, l.neighborhood),
            ),
            ("landlord".into(), l.landlord.clone()),
            ("rent".into(), l.rent.to_string()),
            ("requirements".into(), self.summary_en(r)),
            (
                "preferred_time".into(),
                self.when_text_en(rd).unwrap_or_else(|| "not given".into()),
            ),
            ("language".into(), r.lang().to_owned()),
            (
                "conversation".into(),
                r.conversation_id.clone().unwrap_or_default(),
            ),
        ];
        if let Some(n) = &r.name {
            fields.push(("name".into(), n.clone()));
        }
        self.actions.push(Action::Alert {
            kind: "tour-request",
            severity: Severity::Info,
            message: format!(
                "Renter {} wants to tour {} ({}, {}) - {}/mo, landlord {}; preferred time: {}",
                r.number,
                l.title,
                l.address,
                l.neighborhood,
                dollars(l.rent.into()),
                l.landlord,
                self.when_text_en(rd).unwrap_or_else(|| "not given".into())
            ),
            fields,
        });
        let eta = self.eta_text(r);
        let id = match (when.is_some(), update) {
            (true, true) => "tour_time_passed",
            (true, false) => "tour_requested_time",
            (false, _) => "tour_requested_ask_time",
        };
        say.t(
            id,
            &[
                ("title", l.title.clone()),
                ("address", l.address.clone()),
                ("area", l.neighborhood.clone()),
                ("when", preferred),
                ("eta", eta),
            ],
            ANSWER,
        );
        true
    }

    /// The preferred time in the renter's language: "Sat Nov 28, 11am", "Sat Nov 28
    /// (morning)", "after 5pm".
    fn when_text(&self, r: &Renter, rd: &Reading) -> Option<String> {
        when_text(self.lang(r), self, r, rd)
    }

    fn when_text_en(&self, rd: &Reading) -> Option<String> {
        let en = Renter::default();
        when_text(self.langs.get("en"), self, &en, rd)
    }

    fn summary_en(&self, r: &Renter) -> String {
        let en = Renter {
            lang: Some("en".into()),
            ..r.clone()
        };
        self.summary(&en)
    }

    // ---- handoffs ---------------------------------------------------------------------

    fn eta(&self) -> Option<(Eta, u64)> {
        let o = &self.inv.office;
        let eta = o
            .staff_hours()
            .eta(o.zone(), self.now_ms, o.handoff_response_minutes)?;
        let at = match eta {
            Eta::Within(m) => self.now_ms + u64::from(m) * MS_PER_MINUTE,
            Eta::By(ms) => ms,
        };
        Some((eta, at))
    }

    fn eta_text(&self, r: &Renter) -> String {
        match self.eta() {
            Some((Eta::Within(m), _)) => self.t(r, "eta_within", &[("minutes", &m.to_string())]),
            Some((Eta::By(ms), _)) => {
                let at = self.t(r, "at_word", &[]);
                let when = self
                    .lang(r)
                    .when(self.inv.office.zone(), self.now_ms, ms, &at);
                self.t(r, "eta_by", &[("when", &when)])
            }
            None => self.t(r, "eta_soon", &[]),
        }
    }

    fn thread(&self, body: &str) -> String {
        let mut lines: Vec<String> = self
            .history
            .iter()
            .rev()
            .take(12)
            .rev()
            .map(|(i, t)| format!("{}: {t}", if *i { "renter" } else { "agent" }))
            .collect();
        lines.push(format!("renter: {}", body.trim()));
        lines.join("\n")
    }

    fn handoff(&mut self, r: &mut Renter, body: &str, rd: &Reading, say: &mut Say) {
        let i = &rd.intents;
        let upset = i.upset || i.phone_fails || i.email_fails;
        let eta_ms = self.eta().map_or(self.now_ms + MS_PER_HOUR, |(_, at)| at);
        r.handoff = Some(Handoff {
            at_ms: self.now_ms,
            eta_ms,
            alerted_ms: self.now_ms,
        });
        r.asked = None;
        let reason = if i.phone_fails {
            "is upset: says nobody answers the phone"
        } else if upset {
            "is upset"
        } else {
            "asked for a person"
        };
        self.alert_handoff(
            r,
            body,
            reason,
            if upset {
                Severity::Warning
            } else {
                Severity::Info
            },
        );
        let contact = if r.avoids("phone") {
            self.t(r, "contact_text_verb", &[])
        } else {
            self.t(r, "contact_either_verb", &[])
        };
        let eta = self.eta_text(r);
        let id = if i.phone_fails {
            "handoff_upset_phone"
        } else if upset {
            "handoff_upset"
        } else {
            "handoff_person"
        };
        say.t(id, &[("contact", contact), ("eta", eta)], ANSWER);
        if !upset && !r.avoids("phone") {
            say.opt(
                "also_call",
                &[("phone", self.inv.office.phone.clone())],
                DETAIL,
            );
        }
    }

    fn handoff_eta(&mut self, r: &mut Renter, body: &str, say: &mut Say) {
        let Some(h) = r.handoff.clone() else { return };
        let contact = if r.avoids("phone") {
            self.t(r, "contact_text_verb", &[])
        } else {
            self.t(r, "contact_either_verb", &[])
        };
        if self.now_ms > h.eta_ms {
            let eta_ms = self.eta().map_or(self.now_ms + MS_PER_HOUR, |(_, at)| at);
            r.handoff = Some(Handoff {
                eta_ms,
                alerted_ms: self.now_ms,
                ..h
            });
            self.alert_handoff(
                r,
                body,
                "still waiting past the promised time",
                Severity::Warning,
            );
            say.t(
                "handoff_overdue",
                &[("contact", contact), ("eta", self.eta_text(r))],
                ANSWER,
            );
        } else {
            if self.now_ms >= h.alerted_ms + MS_PER_HOUR {
                self.alert_handoff(
                    r,
                    body,
                    "asked again when someone will reach out",
                    Severity::Info,
                );
                if let Some(x) = r.handoff.as_mut() {
                    x.alerted_ms = self.now_ms;
                }
            }
            let eta = if h.eta_ms <= self.now_ms + 2 * MS_PER_HOUR {
                let m = h
                    .eta_ms
                    .saturating_sub(self.now_ms)
                    .div_ceil(MS_PER_MINUTE)
                    .max(5);
                self.t(r, "eta_within", &[("minutes", &m.to_string())])
            } else {
                let at = self.t(r, "at_word", &[]);
                let when = self
                    .lang(r)
                    .when(self.inv.office.zone(), self.now_ms, h.eta_ms, &at);
                self.t(r, "eta_by", &[("when", &when)])
            };
            say.t("handoff_eta", &[("contact", contact), ("eta", eta)], ANSWER);
        }
    }

    fn alert_handoff(&mut self, r: &Renter, body: &str, reason: &str, severity: Severity) {
        self.actions.push(Action::Alert {
            kind: "handoff",
            severity,
            message: format!("Renter {} {reason}: \"{}\"", r.number, body.trim()),
            fields: vec![
                ("renter".into(), r.number.clone()),
                ("last_message".into(), body.trim().into()),
                ("reason".into(), reason.into()),
                ("requirements".into(), self.summary_en(r)),
                ("language".into(), r.lang().to_owned()),
                ("do_not_use".into(), r.avoid.join(",")),
                (
                    "conversation".into(),
                    r.conversation_id.clone().unwrap_or_default(),
                ),
                ("thread".into(), self.thread(body)),
            ],
        });
    }

    fn question_alert(&self, r: &Renter, about: &str, question: &str) -> Action {
        Action::Alert {
            kind: "question",
            severity: Severity::Info,
            message: format!(
                "Renter {} asked something the data does not answer: {about}",
                r.number
            ),
            fields: vec![
                ("renter".into(), r.number.clone()),
                ("question".into(), question.trim().into()),
                ("about".into(), about.into()),
                ("language".into(), r.lang().to_owned()),
                (
                    "conversation".into(),
                    r.conversation_id.clone().unwrap_or_default(),
                ),
            ],
        }
    }

    /// The data is silent: a person confirms (one alert per question).
    fn silent(
        &mut self,
        r: &mut Renter,
        what: &'static str,
        a: &[(&'static str, String)],
        l: Option<&Listing>,
        body: &str,
        say: &mut Say,
    ) {
        let refs: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let what_text = self.t(r, what, &refs);
        let name = l
            .map(|l| l.title.clone())
            .unwrap_or_else(|| self.inv.office.company.clone());
        say.t(
            "silent",
            &[
                ("what", what_text.clone()),
                ("title", name.clone()),
                ("eta", self.eta_text(r)),
            ],
            ANSWER,
        );
        let fp = compose::fingerprint(&format!("{what_text}{name}"));
        if !r.questions_sent.contains(&fp) {
            r.questions_sent.push(fp);
            let alert = self.question_alert(r, &format!("{what_text} ({name})"), body);
            self.actions.push(alert);
        }
    }

    fn unknown(&mut self, r: &mut Renter, body: &str, say: &mut Say) {
        let fp = compose::fingerprint(body);
        let again = r.questions_sent.contains(&fp);
        let mut fallback = say.take();
        fallback.t(
            if again { "unknown_again" } else { "unknown" },
            &[("eta", self.eta_text(r))],
            ANSWER,
        );
        let text = fallback.compose(self.langs, r.lang(), &self.earlier(), &r.replies);
        compose::remember(&mut r.replies, &text, KEEP_REPLIES);
        let mut on_fallback = Vec::new();
        if !again {
            r.questions_sent.push(fp);
            on_fallback.push(self.question_alert(r, "a question the agent could not answer", body));
        }
        self.actions.push(Action::AskLlm {
            question: body.to_owned(),
            context: self.llm_context(r),
            fallback: text,
            on_fallback,
        });
    }

    /// The facts an LLM may use: the office and the listings last shown (or all).
    pub fn llm_context(&self, r: &Renter) -> String {
        let o = &self.inv.office;
        let mut lines = vec![format!(
            "Company: {} (apartment locator). Phone {}. Hours {}. Areas covered: {}. {}",
            o.company,
            o.phone,
            o.office_hours.describe(self.langs.get("en")),
            o.areas
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            o.service_fee.get("en")
        )];
        let ids: Vec<&String> = if r.options.is_empty() {
            self.inv.listings.iter().map(|l| &l.id).collect()
        } else {
            r.options.iter().collect()
        };
        for id in ids {
            if let Some(l) = self.inv.listing(id) {
                lines.push(format!(
                    "{} ({}, {}): {} BR {} bath ${}/mo {} sqft from {}; cats {} dogs {} (limit {:?} lbs); utilities included {}; laundry {:?}; application fee {:?}; deposit {:?}; lease {:?} months; features {}.",
                    l.title, l.address, l.neighborhood, l.bedrooms, l.bathrooms, l.rent, l.sqft, l.available_from, l.cats, l.dogs, l.dog_weight_limit_lbs,
                    l.utilities_included.join(", "), l.laundry, l.application_fee, l.security_deposit, l.lease_months, l.features.join(", ")
                ));
            }
        }
        lines.join("\n")
    }
}

fn when_text(lang: &Language, turn: &Turn, r: &Renter, rd: &Reading) -> Option<String> {
    let w = &rd.when;
    let part = |id: &str| {
        turn.langs
            .render(r.lang.as_deref().unwrap_or(&lang.code), id, 0, &[])
    };
    let part_text = w.part.map(|p| match p {
        agenthost_sdk::when::DayPart::Morning => part("part_morning"),
        agenthost_sdk::when::DayPart::Afternoon => part("part_afternoon"),
        agenthost_sdk::when::DayPart::Evening => part("part_evening"),
    });
    match (w.day, w.minute) {
        (Some(d), Some(m)) => Some(lang.slot(d, m)),
        (Some(d), None) => Some(match (part_text, w.after) {
            (Some(p), _) => format!("{} ({p})", lang.date(d)),
            (None, Some(a)) => {
                format!("{}, {} {}", lang.date(d), part("after_word"), lang.clock(a))
            }
            _ => lang.date(d),
        }),
        (None, Some(m)) => Some(lang.clock(m)),
        (None, None) => match (part_text, w.after) {
            (Some(p), _) => Some(p),
            (None, Some(a)) => Some(format!("{} {}", part("after_word"), lang.clock(a))),
            _ => None,
        },
    }
}

/// The next requirement not known yet, and its question.
fn next_field(r: &Renter) -> Option<(Field, &'static str)> {
    [
        (r.beds.is_none(), Field::Bedrooms, "q_bedrooms"),
        (
            r.budget_range.is_none() && !r.budget_open,
            Field::Budget,
            "q_budget",
        ),
        (r.areas.is_none(), Field::Area, "q_area"),
        (r.move_in.is_none(), Field::MoveIn, "q_move_in"),
        (r.pets.is_none(), Field::Pets, "q_pets"),
    ]
    .into_iter()
    .find(|(unknown, _, _)| *unknown)
    .map(|(_, f, id)| (f, id))
}

/// Asks to compare ("what's the difference", "compare them").
fn has_compare(t: &Turn, rd: &Reading) -> bool {
    t.langs.lex.has(&rd.norm, "compare_words")
}
