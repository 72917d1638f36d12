//! Conversations against the sample portfolio, natively: the same decisions the plugin
//! makes inside the host, without the host. Facts are checked against the data file.

use crate::agent::{Action, Lead, Stats, Status, TourJob, Turn};
use crate::data::{Portfolio, sample};
use crate::schedule::SlotBook;
use agenthost_sdk::lang::{Languages, SDK_LEXICONS};
use agenthost_sdk::text::dollars;
use agenthost_sdk::time::{MS_PER_HOUR, MS_PER_MINUTE, days_from_civil};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

pub(crate) const LEAD: &str = "+15557654321";

/// Sunday 2026-11-22 07:04 CST.
pub(crate) fn t0() -> u64 {
    days_from_civil(2026, 11, 22) as u64 * 86_400_000 + 13 * MS_PER_HOUR + 4 * MS_PER_MINUTE
}

pub(crate) fn langs() -> Languages {
    Languages::build(SDK_LEXICONS, super::PACKS, &[]).unwrap()
}

/// Plugin-wide state shared by every lead of a test: who holds which tour slot.
#[derive(Default, Clone)]
pub(crate) struct Book(Rc<RefCell<BTreeMap<String, String>>>);

impl SlotBook for Book {
    fn holder(&self, building: &str, at_ms: u64) -> Option<String> {
        self.0
            .borrow()
            .get(&crate::schedule::slot_key(building, at_ms))
            .cloned()
    }
}

pub(crate) struct Convo {
    pub lead: Lead,
    pub stats: Stats,
    pub now: u64,
    pub p: Portfolio,
    pub langs: Languages,
    pub book: Book,
    /// Everything said so far (inbound?, text), as the host hands it over.
    pub history: Vec<(bool, String)>,
    pub jobs: Vec<(String, String, u64, String)>,
}

impl Convo {
    pub fn new() -> Self {
        Self::with_book(LEAD, Book::default())
    }

    pub fn with_book(number: &str, book: Book) -> Self {
        Convo {
            lead: Lead::new(number),
            stats: Stats::default(),
            now: t0(),
            p: sample(),
            langs: langs(),
            book,
            history: Vec::new(),
            jobs: Vec::new(),
        }
    }

    /// Applies state writes to the shared book and remembers scheduled jobs.
    fn effects(&mut self, actions: &[Action]) {
        for a in actions {
            match a {
                Action::SetKey(k, v) if k.starts_with("slot:") => {
                    self.book.0.borrow_mut().insert(k.clone(), v.clone());
                }
                Action::DeleteKey(k) if k.starts_with("slot:") => {
                    self.book.0.borrow_mut().remove(k);
                }
                Action::Schedule {
                    key,
                    name,
                    delay_ms,
                    payload,
                    ..
                } => {
                    self.jobs.retain(|j| j.0 != *key);
                    self.jobs.push((
                        key.clone(),
                        name.to_string(),
                        self.now + delay_ms,
                        payload.clone(),
                    ));
                }
                Action::Cancel(key) => self.jobs.retain(|j| j.0 != *key),
                _ => {}
            }
        }
    }

    pub fn say(&mut self, body: &str) -> (String, Vec<Action>) {
        let mut turn = Turn::new(&self.p, &self.langs, &self.book, self.now);
        turn.history = self.history.clone();
        turn.on_message(&mut self.lead, &mut self.stats, body, "conv-1");
        let actions = turn.actions;
        let reply = replies(&actions);
        for r in &reply {
            check_reply(r, &self.history);
        }
        self.effects(&actions);
        self.history.push((true, body.to_owned()));
        for r in &reply {
            self.history.push((false, r.clone()));
        }
        (reply.join("\n"), actions)
    }

    pub fn followup(&mut self) -> (String, Vec<Action>) {
        let mut turn = Turn::new(&self.p, &self.langs, &self.book, self.now);
        turn.history = self.history.clone();
        turn.on_followup(&mut self.lead, &mut self.stats);
        let actions = turn.actions;
        self.effects(&actions);
        (replies(&actions).join("\n"), actions)
    }

    /// Fires the pending job `key` (moving the clock to when it is due).
    pub fn fire(&mut self, key: &str) -> (String, Vec<Action>) {
        let (_, name, due, payload) = self
            .jobs
            .iter()
            .find(|j| j.0 == key)
            .cloned()
            .unwrap_or_else(|| panic!("no job {key}: {:?}", self.jobs));
        self.jobs.retain(|j| j.0 != key);
        self.now = self.now.max(due);
        let mut tj: TourJob = serde_json::from_str(&payload).unwrap();
        if name == crate::agent::CHECKIN_JOB {
            tj.kind = "checkin".into();
        }
        let mut turn = Turn::new(&self.p, &self.langs, &self.book, self.now);
        turn.history = self.history.clone();
        turn.on_tour_job(&mut self.lead, &mut self.stats, &tj);
        let actions = turn.actions;
        self.effects(&actions);
        let reply = replies(&actions);
        for r in &reply {
            check_reply(r, &self.history);
            self.history.push((false, r.clone()));
        }
        (reply.join("\n"), actions)
    }
}

/// Every reply fits three segments without being cut, and none repeats an earlier one.
pub(crate) fn check_reply(r: &str, history: &[(bool, String)]) {
    let fitted = agenthost_sdk::text::fit_sms(r);
    assert!(!fitted.ends_with("..."), "cut: {r}");
    assert!(
        agenthost_sdk::text::segments(&fitted) <= 3,
        "over 3 segments: {r}"
    );
    assert!(
        !history.iter().any(|(inbound, h)| !inbound
            && agenthost_sdk::compose::normalized(h) == agenthost_sdk::compose::normalized(r)),
        "repeats an earlier reply word for word: {r}"
    );
}

pub(crate) fn replies(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Reply(t) => Some(t.clone()),
            Action::AskLlm { fallback, .. } => Some(fallback.clone()),
            _ => None,
        })
        .collect()
}

fn alerts<'a>(actions: &'a [Action], kind: &str) -> Vec<&'a Vec<(String, String)>> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Alert {
                kind: k, fields, ..
            } if *k == kind => Some(fields),
            Action::AskLlm { on_fallback, .. } => on_fallback.iter().find_map(|a| match a {
                Action::Alert {
                    kind: k, fields, ..
                } if *k == kind => Some(fields),
                _ => None,
            }),
            _ => None,
        })
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn data() -> serde_json::Value {
    crate::data::sample_json()
}

fn building(id: &str) -> serde_json::Value {
    data()["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .unwrap()
        .clone()
}

#[test]
fn the_question_asked_is_answered_first_with_the_building_remembered() {
    let mut c = Convo::new();
    let (r, _) = c.say("hey is the 2br on jeffery still avail??");
    assert!(
        r.starts_with("Hi, this is the automated leasing assistant for Lakefront Residential."),
        "{r}"
    );
    assert!(
        r.contains("Yes - Jeffery Shores Apartments (7130 S Jeffery Blvd, South Shore) has"),
        "{r}"
    );
    for u in building("jeffery-shores")["units"].as_array().unwrap() {
        let rent = dollars(u["rent"].as_u64().unwrap());
        let listed = r.contains(&format!("{rent}/mo"));
        assert_eq!(listed, u["bedrooms"] == 2, "unit {u} in {r}");
    }
    assert!(
        r.ends_with("When are you looking to move in?"),
        "answer first, then one question: {r}"
    );
    assert_eq!(c.lead.beds.map(|b| b.min), Some(2));
    // The follow-up keeps the building: "and the 1 bdrm?" asks about Jeffery Shores.
    let (r, _) = c.say("and the 1 bdrm?");
    assert!(
        r.contains("Jeffery Shores Apartments") && r.contains("1BR/1BA $1,025/mo"),
        "{r}"
    );
    assert!(!r.contains("Yates"), "{r}");
}

#[test]
fn qualifies_one_question_at_a_time_then_recommends_within_every_constraint() {
    let mut c = Convo::new();
    c.say("Hi, do you allow dogs at Chatham Park Place?");
    assert_eq!(c.lead.building.as_deref(), Some("chatham-park-place"));
    let (r, _) = c.say("2");
    assert_eq!(c.lead.beds.and_then(|b| b.single()), Some(2));
    assert!(r.contains("When are you looking to move in?"), "{r}");
    let (r, _) = c.say("December 1st");
    assert_eq!(c.lead.move_in.as_deref(), Some("2026-12-01"));
    assert!(r.contains("budget"), "{r}");
    let (r, _) = c.say("$1,200");
    assert_eq!(c.lead.budget_range.map(|b| b.max), Some(1200));
    assert!(r.contains("pets"), "{r}");
    let (r, _) = c.say("one small dog");
    assert!(c.lead.pets.is_some_and(|p| p.dogs));
    assert!(r.contains("Good fits for you: Heights Garden (Chicago Heights) 2BR/1BA $1,050, avail Dec 1; Chatham Park Place (Chatham) 2BR/1BA $1,150, avail Dec 1"), "{r}");
    assert!(
        !r.contains("Jeffery") && !r.contains("Yates") && !r.contains("Evans"),
        "over budget or no dogs: {r}"
    );
    let (r, _) = c.say("yes I'd like a tour");
    assert!(
        r.contains("1) Mon Nov 23, 10am 2) Tue Nov 24, 2pm 3) Wed Nov 25, 5:30pm"),
        "{r}"
    );
    let (r, actions) = c.say("2");
    assert!(r.contains("You're booked: tour of Chatham Park Place on Tue Nov 24, 2pm at 8201 S Cottage Grove Ave"), "{r}");
    assert!(actions.iter().any(|a| matches!(a, Action::TrackSla { id, kind: "showing_scheduled", .. } if id == "showing:+15557654321")));
    let booked = alerts(&actions, "tour-booked");
    assert_eq!(booked.len(), 1);
    assert_eq!(field(booked[0], "when"), "Tue Nov 24, 2pm");
    assert_eq!(field(booked[0], "conversation"), "conv-1");
    assert_eq!(c.stats.tours_booked, 1);
}

#[test]
fn a_60_lb_dog_is_never_recommended_where_the_limit_is_lower() {
    let mut c = Convo::new();
    c.say("hi, I have a 60 lb dog, need a 2 bedroom by jan 1");
    c.say("up to 1600");
    let (r, _) = c.say("what do you recommend?");
    let d = data();
    for b in d["buildings"].as_array().unwrap() {
        let name = b["name"]
            .as_str()
            .unwrap()
            .replace(" Apartments", "")
            .replace(" Residences", "");
        let limit = b["pets"]["dog_weight_limit_lbs"].as_u64();
        let dogs = b["pets"]["dogs"].as_bool().unwrap_or(false);
        if r.contains(&name) {
            assert!(
                dogs && limit.is_none_or(|l| l >= 60),
                "{name} recommended for a 60-lb dog: {r}"
            );
        }
    }
    assert!(r.contains("Rainbow Beach Lofts"), "{r}");
    // Asking about a building whose limit is lower says so at once.
    let (r, _) = c.say("what about jeffery shores?");
    assert!(
        r.contains(
            "Jeffery Shores takes dogs up to 40 lbs, so your 60-lb dog wouldn't qualify there"
        ),
        "{r}"
    );
}

#[test]
fn near_the_lake_is_a_constraint() {
    let mut c = Convo::new();
    let (r, _) = c.say("anything near the lake?");
    assert!(
        r.contains("Rainbow Beach Lofts") && r.contains("Jeffery Shores"),
        "{r}"
    );
    assert!(
        !r.contains("Yates") && !r.contains("Chatham") && !r.contains("Heights"),
        "{r}"
    );
    assert_eq!(c.lead.near, vec!["lake".to_owned()]);
}

#[test]
fn vouchers_utilities_laundry_office_hours_fees_and_lease_come_from_the_data() {
    let mut c = Convo::new();
    let (r, _) = c.say("do you take section 8?");
    assert!(
        r.contains("Housing Choice Voucher (Section 8) holders are welcome at every building"),
        "{r}"
    );
    assert!(r.contains("Chicago Housing Authority (CHA)"), "{r}");
    assert!(r.contains("illegal to turn anyone away"), "{r}");
    c.say("tell me about yates park");
    let (r, _) = c.say("is heat included");
    assert!(
        r.contains("Heat is included at Yates Park")
            || r.contains("heat is included in the rent at Yates Park"),
        "{r}"
    );
    let (r, actions) = c.say("and water?");
    assert!(
        r.contains("I don't have whether water is included on file for Yates Park")
            || r.contains("whether water is included for Yates Park isn't in my notes"),
        "data silent: {r}"
    );
    assert_eq!(alerts(&actions, "question").len(), 1, "a person is asked");
    let (r, _) = c.say("laundry?");
    assert!(
        r.contains("Laundry at Yates Park: a laundry room on site (laundry room in the basement)"),
        "{r}"
    );
    let (r, _) = c.say("what are your office hours");
    assert!(
        r.contains("Our leasing office is open Mon-Fri 9am-6pm, Sat 10am-2pm"),
        "{r}"
    );
    assert!(
        r.contains("closed right now, open again tomorrow at 9am"),
        "Sunday morning: {r}"
    );
    let (r, _) = c.say("how much is the deposit and application fee");
    assert!(
        r.contains("$45 application fee per adult") && r.contains("$500 security deposit"),
        "{r}"
    );
    let (r, _) = c.say("how long is the lease");
    assert!(
        r.contains("Leases are 12 months, or 6 months for $75/mo more"),
        "{r}"
    );
}

#[test]
fn numbers_in_messy_texts_go_to_the_right_slot() {
    let mut c = Convo::new();
    c.say("looking for a 2br, $1200-1400, credit in the 700s");
    let b = c.lead.budget_range.unwrap();
    assert_eq!((b.min, b.max), (Some(1200), 1400));
    assert_eq!(c.lead.credit, Some(700));
    let (r, _) = c.say("do I qualify?");
    assert!(
        r.contains("2.5x the rent") && r.contains("No minimum credit score"),
        "{r}"
    );
}

#[test]
fn a_named_tour_time_is_booked_and_a_reschedule_says_what_changed() {
    let mut c = Convo::new();
    c.say("I want to see Jeffery Shores");
    let (r, actions) = c.say("saturday at 11am");
    assert!(
        r.contains("You're booked: tour of Jeffery Shores Apartments on Sat Nov 28, 11am"),
        "{r}"
    );
    assert!(c.jobs.iter().any(|j| j.0 == "remind-day:+15557654321"));
    assert!(c.jobs.iter().any(|j| j.0 == "remind-2h:+15557654321"));
    assert!(c.jobs.iter().any(|j| j.0 == "checkin:+15557654321"));
    assert_eq!(alerts(&actions, "tour-booked").len(), 1);
    let (r, actions) = c.say("can I do friday at 10am instead?");
    assert!(
        r.contains("moved from Sat Nov 28, 11am to Fri Nov 27, 10am"),
        "{r}"
    );
    let changed = alerts(&actions, "tour-changed");
    assert_eq!(field(changed[0], "previous"), "Sat Nov 28, 11am");
    assert_eq!(c.book.0.borrow().len(), 1, "the old slot is released");
    let (r, _) = c.say("actually I need to cancel my tour");
    assert!(
        r.contains("Your tour of Jeffery Shores Apartments on Fri Nov 27, 10am is cancelled"),
        "{r}"
    );
    assert!(c.book.0.borrow().is_empty());
    assert!(
        !c.jobs.iter().any(|j| j.0.starts_with("remind")),
        "{:?}",
        c.jobs
    );
}

#[test]
fn reminders_and_check_in_follow_the_tour() {
    let mut c = Convo::new();
    c.say("tour at rainbow beach lofts");
    c.say("tuesday at 3pm");
    let (r, _) = c.fire("remind-day:+15557654321");
    assert!(
        r.starts_with("Reminder: your tour of Rainbow Beach Lofts is tomorrow at 3pm"),
        "{r}"
    );
    assert!(
        !r.contains(" CANCEL "),
        "never the carrier keyword alone: {r}"
    );
    let (r, _) = c.fire("remind-2h:+15557654321");
    assert!(r.contains("starts at 3pm today"), "{r}");
    let (r, _) = c.fire("checkin:+15557654321");
    assert!(
        r.contains("Thanks for touring Rainbow Beach Lofts today")
            && r.contains("https://lakefront-residential.example/apply"),
        "{r}"
    );
    assert!(c.lead.tour.is_none());
    assert_eq!(c.stats.reminders_sent, 2);
}

#[test]
fn a_slot_is_never_double_booked_across_leads() {
    let book = Book::default();
    let mut a = Convo::with_book("+15550000001", book.clone());
    let mut b = Convo::with_book("+15550000002", book.clone());
    a.say("tour jeffery shores saturday at 11am");
    assert!(a.lead.tour.is_some());
    let (r, _) = b.say("tour jeffery shores saturday at 11am");
    assert!(b.lead.tour.is_none(), "{r}");
    assert!(r.contains("Sat Nov 28, 11am is already taken"), "{r}");
    assert!(r.contains("Nearest open times at Jeffery Shores Apartments: 1) Sat Nov 28, 10am 2) Sat Nov 28, 10:30am 3) Sat Nov 28, 11:30am"), "{r}");
}

#[test]
fn honest_about_who_is_texting_and_no_call_is_booked() {
    let mut c = Convo::new();
    let (r, actions) = c.say("who is this? did you just call me?");
    assert!(
        r.contains("automated leasing assistant for Lakefront Residential")
            && r.contains("not a person"),
        "{r}"
    );
    assert!(
        r.contains("can't make calls") || r.contains("can't place calls"),
        "{r}"
    );
    assert!(
        alerts(&actions, "handoff").is_empty(),
        "no call booked: {actions:?}"
    );
    let (r, _) = c.say("is this a bot?");
    assert!(
        r.starts_with("Yes - I'm an automated assistant") || r.starts_with("I am a bot"),
        "{r}"
    );
}

#[test]
fn an_angry_lead_is_not_given_the_phone_that_fails_and_gets_an_eta() {
    let mut c = Convo::new();
    c.say("is the 2br at king drive available");
    let (r, actions) = c.say("this is ridiculous, I called 3 times and nobody answers the phone");
    let o = &data()["office"];
    let phone = o["phone"].as_str().unwrap();
    assert!(
        !r.contains(phone),
        "the failing channel is not offered: {r}"
    );
    assert!(
        r.contains("instead of calling") || r.contains("text you here"),
        "{r}"
    );
    assert!(
        r.contains("by tomorrow at 9:30am"),
        "ETA from staff hours (Sunday): {r}"
    );
    let h = alerts(&actions, "handoff");
    assert_eq!(h.len(), 1);
    assert!(
        field(h[0], "thread").contains("is the 2br at king drive available"),
        "the thread goes with it"
    );
    assert_eq!(field(h[0], "do_not_use"), "phone");
    assert_eq!(c.lead.status, Status::HandedOff);
    // An hour later: "so when will someone call me?" gets the promise again, not silence.
    c.now += MS_PER_HOUR;
    let (r, _) = c.say("so when will someone call me?");
    assert!(
        r.contains("text you") && r.contains("tomorrow at 9:30am"),
        "{r}"
    );
    assert!(!r.contains(phone), "{r}");
    // And it keeps answering what it can.
    let (r, _) = c.say("is there parking at king drive?");
    assert!(
        r.contains("Parking at King Drive Residences: assigned covered spaces, $60/mo."),
        "{r}"
    );
}

#[test]
fn spanish_is_answered_in_spanish_and_no_hablo_ingles_switches() {
    let mut c = Convo::new();
    let (r, _) = c.say("Hi, is there anything in chatham?");
    assert!(r.contains("Chatham"), "{r}");
    let (r, _) = c.say("no hablo ingles");
    assert_eq!(c.lead.lang.as_deref(), Some("es"));
    assert_eq!(
        c.lead.status,
        Status::Active,
        "not read as 'not interested'"
    );
    assert!(
        r.starts_with("¡Claro! Le escribo en español.")
            || r.starts_with("Con gusto, seguimos en español."),
        "{r}"
    );
    let (r, _) = c.say("cuanto cuesta el de 2 recamaras en chatham park place? tengo un perro");
    assert!(
        r.contains("Chatham Park Place") && r.contains("$1,150/mes") && r.contains("$1,175/mes"),
        "{r}"
    );
    let (r, _) = c.say("aceptan seccion 8?");
    assert!(r.contains("Sección 8") && r.contains("Illinois"), "{r}");
}

#[test]
fn unrecognised_texts_never_get_the_same_reply_twice() {
    let mut c = Convo::new();
    c.say("hi");
    let mut seen = Vec::new();
    for body in [
        "?", "thanks!", "👍", "?", "thanks!", "👍", "ok", "?", "thanks", "👍👍",
    ] {
        let (r, _) = c.say(body);
        assert!(!r.is_empty(), "{body}");
        assert!(!seen.contains(&r), "repeat for {body:?}: {r}");
        seen.push(r);
    }
}

#[test]
fn not_interested_closes_and_cancels_the_follow_up() {
    let mut c = Convo::new();
    c.say("hi");
    let (r, actions) = c.say("found a place already, thanks");
    assert!(r.contains("good luck"), "{r}");
    assert_eq!(c.lead.status, Status::Dead);
    assert!(actions.contains(&Action::Cancel("followup:+15557654321".into())));
    let (r, _) = c.say("ok thanks");
    assert!(r.is_empty(), "a closed lead's thanks gets no reply: {r}");
}

#[test]
fn follow_ups_nudge_then_close_after_the_maximum() {
    let mut c = Convo::new();
    c.say("how much is a 1 bedroom at yates?");
    for n in 1..=3 {
        c.now += 24 * MS_PER_HOUR;
        let (r, actions) = c.followup();
        assert!(!r.is_empty(), "nudge {n}");
        let rescheduled = actions.iter().any(|a| matches!(a, Action::Schedule { .. }));
        assert_eq!(rescheduled, n < 3, "nudge {n}");
    }
    assert_eq!(c.lead.status, Status::Dead);
    c.now += 24 * MS_PER_HOUR;
    assert!(c.followup().0.is_empty());
}

#[test]
fn a_stale_followup_firing_does_not_nudge_twice() {
    let mut c = Convo::new();
    c.say("What's available at jeffery shores?");
    c.now += 25 * MS_PER_HOUR;
    let (first, _) = c.followup();
    assert!(
        first.contains("checking in") && first.contains("Jeffery Shores Apartments"),
        "{first}"
    );
    let (second, actions) = c.followup();
    assert!(
        second.is_empty() && actions.is_empty(),
        "{second} {actions:?}"
    );
    c.now += 24 * MS_PER_HOUR + MS_PER_MINUTE;
    assert!(c.followup().0.starts_with("Just following up"));
}

#[test]
fn stop_silences_and_cancels() {
    let mut c = Convo::new();
    c.say("hi");
    let (r, actions) = c.say("STOP");
    assert!(r.is_empty());
    assert!(actions.contains(&Action::Cancel("followup:+15557654321".into())));
    let (r, _) = c.say("what's available?");
    assert!(r.is_empty());
}

#[test]
fn documents_go_on_the_sla_ladder() {
    let mut c = Convo::new();
    c.say("hi");
    let (r, actions) = c.say("I just uploaded my documents");
    assert!(
        r.contains("within 24 hours") && r.contains("48 hours"),
        "{r}"
    );
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::TrackSla {
            kind: "doc_review",
            ..
        }
    )));
}

#[test]
fn unknown_questions_go_to_a_person_once() {
    let mut c = Convo::new();
    c.say("hi");
    let (r, actions) = c.say("can I paint the walls blue?");
    assert!(
        r.starts_with("I can help with availability, rent, pets, parking and tours"),
        "{r}"
    );
    assert!(r.contains("tomorrow at 9:30am"), "{r}");
    assert_eq!(alerts(&actions, "question").len(), 1);
    let (r, actions) = c.say("can I paint the walls blue?");
    assert!(
        r.starts_with("I can help with availability, rent, pets, parking and tours"),
        "{r}"
    );
    assert!(alerts(&actions, "question").is_empty(), "asked once");
}

#[test]
fn owner_report_adds_up_the_days() {
    let p = sample();
    let l = langs();
    let book = Book::default();
    let mut t = Turn::new(&p, &l, &book, t0());
    let day = Stats {
        leads_in: 3,
        tours_booked: 1,
        ..Stats::default()
    };
    t.owner_report(&[
        ("2026-11-20".into(), day.clone()),
        ("2026-11-21".into(), day),
    ]);
    let Action::Alert {
        kind,
        message,
        fields,
        ..
    } = &t.actions[0]
    else {
        panic!()
    };
    assert_eq!(*kind, "owner-report");
    assert!(
        message.contains("2026-11-20 to 2026-11-21: 6 new leads")
            && message.contains("2 tours booked"),
        "{message}"
    );
    assert!(fields.contains(&("tours_booked".into(), "2".into())));
}

#[test]
fn stats_keys_spread_leads_over_shards() {
    let today = days_from_civil(2026, 11, 22);
    let keys: std::collections::BTreeSet<String> = (0..200)
        .map(|i| crate::agent::stats_key(today, &format!("+1555000{i:04}")))
        .collect();
    assert!(keys.len() >= 12, "{keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("stats:2026-11-22:")));
}

#[test]
fn due_keys_sort_by_time() {
    let a = crate::agent::due_key(999, "+1");
    let b = crate::agent::due_key(1_000_000, "+1");
    assert!(a < b);
    assert_eq!(
        crate::agent::parse_due_key(&b),
        Some((1_000_000, "+1".into()))
    );
}

#[test]
fn llm_prompts_carry_the_recent_conversation() {
    use agenthost_sdk::llm::Role;
    use agenthost_sdk::{Direction, HistoryEntry};
    let entry = |direction, body: &str| HistoryEntry {
        direction,
        body: body.into(),
        at_ms: 0,
    };
    let mut history = vec![entry(Direction::Inbound, "too old to matter")];
    for i in 0..4 {
        history.push(entry(Direction::Inbound, &format!("lead {i}")));
        history.push(entry(Direction::Outbound, &format!("us {i}")));
    }
    let messages = super::chat_messages(&history, "is the gym open late?");
    assert_eq!(messages.len(), super::LLM_HISTORY + 1);
    assert_eq!(messages[0].content, "lead 0");
    assert!(matches!(messages[1].role, Role::Assistant));
    assert_eq!(messages.last().unwrap().content, "is the gym open late?");
}

#[test]
fn every_language_has_every_template_and_the_data_keys_have_names() {
    let l = langs();
    for code in ["en", "es"] {
        for u in crate::data::UTILITIES {
            assert!(
                l.variants(code, &format!("utility_{u}")) > 0,
                "{code} utility_{u}"
            );
        }
        for k in crate::data::LANDMARK_KINDS {
            assert!(
                l.variants(code, &format!("landmark_{k}")) > 0,
                "{code} landmark_{k}"
            );
            assert!(!l.lex.cues(&format!("near_{k}")).is_empty(), "near_{k}");
        }
    }
    for t in crate::understand::Topic::ALL {
        assert!(!l.lex.cues(t.cue()).is_empty(), "{t:?}");
    }
}

#[test]
fn asked_for_the_cheapest_across_the_portfolio_it_is_named_first() {
    let p = sample();
    // The lowest 1BR rent in the operator's data, and every building that has it.
    let low = p
        .buildings
        .iter()
        .flat_map(|b| b.units.iter().filter(|u| u.bedrooms == 1))
        .map(|u| u.rent)
        .min()
        .unwrap();
    let names: Vec<&str> = p
        .buildings
        .iter()
        .filter(|b| b.units.iter().any(|u| u.bedrooms == 1 && u.rent == low))
        .map(|b| b.short_name())
        .collect();
    let mut c = Convo::new();
    c.say("hi, do u have any 2 bedrooms availble?");
    let (r, _) = c.say("actually make that a 1 bedroom. whats the cheapest");
    assert!(
        r.contains(&format!(
            "starts lowest, at {} a month",
            dollars(low.into())
        )) && names
            .iter()
            .any(|n| r.contains(&format!("{n} starts lowest"))),
        "names the cheapest ({names:?} at {low}) first: {r}"
    );
    let first = r.find("starts lowest").unwrap();
    let list = r.find("Open now or soon").unwrap_or(usize::MAX);
    assert!(first < list, "the answer before the list: {r}");
    // Not asked for the cheapest: the list alone.
    let mut c = Convo::new();
    let (r, _) = c.say("do you have any 1 bedrooms?");
    assert!(!r.contains("starts lowest"), "{r}");
}

#[test]
fn two_buildings_named_together_are_compared_not_dropped() {
    let p = sample();
    let min_rent = |id: &str, beds: Option<u8>| {
        p.building(id)
            .unwrap()
            .units
            .iter()
            .filter(|u| beds.is_none_or(|b| u.bedrooms == b))
            .map(|u| u.rent)
            .min()
    };
    let (yates, evans) = (
        p.building("yates-park").unwrap(),
        p.building("evans-avenue-flats").unwrap(),
    );
    let mut c = Convo::new();
    let (r, _) = c.say("which is cheaper, yates or evans?");
    let (y, e) = (
        min_rent("yates-park", None).unwrap(),
        min_rent("evans-avenue-flats", None).unwrap(),
    );
    for (b, m) in [(yates, y), (evans, e)] {
        assert!(
            r.contains(&format!("{} ({}) ", b.short_name(), b.neighborhood))
                && r.contains(&dollars(m.into())),
            "{r}"
        );
    }
    let (low, lowest) = if y < e { (yates, y) } else { (evans, e) };
    assert!(
        r.contains(&format!(
            "{} starts lower, at {}",
            low.short_name(),
            dollars(lowest.into())
        )) || r.contains(&format!(
            "Of the two, {} is less expensive: from {}",
            low.short_name(),
            dollars(lowest.into())
        )),
        "{r}"
    );
    // The comparison leaves no single building in focus.
    assert_eq!(c.lead.building, None);
    // A follow-up question still covers both.
    let (r, _) = c.say("and parking?");
    for b in [yates, evans] {
        assert!(r.contains(&format!("Parking at {}", b.name)), "{r}");
    }

    // A topic asked of both is answered for each, from each one's data.
    let (r, _) = c.say("do they take dogs? and what about pets at yates or evans");
    for b in [yates, evans] {
        assert!(r.contains(&format!("Pets at {}", b.name)), "{r}");
        let deposit = b.pets.pet_deposit.unwrap_or(0);
        if deposit > 0 {
            assert!(r.contains(&dollars(deposit.into())), "{r}");
        }
    }

    // What the lead said still filters: a building with nothing that fits says so.
    let mut c = Convo::new();
    let (r, _) = c.say("2br under 1300 at yates park or chatham park place?");
    let cpp = p.building("chatham-park-place").unwrap();
    let fits = |id: &str| {
        p.building(id)
            .unwrap()
            .units
            .iter()
            .any(|u| u.bedrooms == 2 && u.rent <= 1300)
    };
    for b in [yates, cpp] {
        if fits(&b.id) {
            assert!(
                r.contains(&format!("{} ({})", b.short_name(), b.neighborhood)),
                "{r}"
            );
        } else {
            assert!(
                r.contains(&format!("at {} right now", b.short_name())),
                "{r}"
            );
        }
    }
    assert!(
        fits("chatham-park-place") != fits("yates-park"),
        "the data still makes one fit and one not"
    );
}

#[test]
fn no_limit_and_whenever_are_answers_and_an_unread_text_gets_the_question_again() {
    let mut c = Convo::new();
    let (first, _) = c.say("hi");
    let (r, _) = c.say("lol idk");
    assert!(r.starts_with("Sorry, I"), "{r}");
    // Asked again, in its other wording.
    assert!(
        r.contains("bedrooms")
            && !first.ends_with(r.trim_start_matches("Sorry, I didn't catch that. ")),
        "{r}"
    );
    c.say("2");
    let (r, _) = c.say("whenever");
    assert!(
        r.contains("flexible move-in") && r.to_lowercase().contains("budget"),
        "{r}"
    );
    assert!(c.lead.move_flexible && c.lead.move_in.is_none());
    let (r, _) = c.say("no limit");
    assert!(r.contains("no max rent") && r.contains("pets"), "{r}");
    assert!(c.lead.budget_open && c.lead.budget_range.is_none());
    // A date later replaces "whenever"; a budget later replaces "no limit".
    c.say("actually we need to move dec 1, and 1200 max");
    assert_eq!(c.lead.move_in.as_deref(), Some("2026-12-01"));
    assert!(!c.lead.move_flexible && !c.lead.budget_open);
    assert_eq!(c.lead.budget_range.map(|b| b.max), Some(1200));
}

#[test]
fn a_building_named_with_a_size_answers_what_is_there() {
    let p = sample();
    let yates = p.building("yates-park").unwrap();
    let mut c = Convo::new();
    let (r, _) = c.say("2br at yates");
    assert!(r.contains(&yates.name), "{r}");
    // Every unit it lists is from the data, with its rent.
    for u in &yates.units {
        if r.contains(&format!("{}/mo, {} sq ft", dollars(u.rent.into()), u.sqft)) {
            continue;
        }
        // A unit may be left out only for the size asked.
        assert_eq!(u.bedrooms, 2, "{r}");
    }
}

/// Short names of the sample's buildings whose pet policy takes `kind` (`cats`, `dogs`),
/// and of those that do not, from the data file.
fn pet_buildings(kind: &str) -> (Vec<String>, Vec<String>) {
    let p = sample();
    let (mut yes, mut no) = (Vec::new(), Vec::new());
    for b in data()["buildings"].as_array().unwrap() {
        let id = b["id"].as_str().unwrap();
        let short = p
            .buildings
            .iter()
            .find(|x| x.id == id)
            .unwrap()
            .short_name()
            .to_owned();
        if b["pets"][kind].as_bool().unwrap() {
            yes.push(short);
        } else {
            no.push(short);
        }
    }
    (yes, no)
}

#[test]
fn a_size_asked_with_do_you_have_is_answered_with_what_is_open_and_the_pet_asked() {
    let mut c = Convo::new();
    c.say("hi");
    // Changes its mind about the size, asks whether there are any, and about cats.
    let (r, _) = c.say("wait actually do you have 1 bedrooms and do you take cats?");
    assert!(
        r.starts_with("Open now or soon (1BR):"),
        "availability first: {r}"
    );
    for b in data()["buildings"].as_array().unwrap() {
        let one_br: Vec<u64> = b["units"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["bedrooms"] == 1)
            .map(|u| u["rent"].as_u64().unwrap())
            .collect();
        let name = b["name"].as_str().unwrap();
        let short = name
            .trim_end_matches(" Apartments")
            .trim_end_matches(" Residences");
        if let Some(min) = one_br.iter().min() {
            assert!(
                r.contains(&format!("{short} from {}", dollars(*min))),
                "{short}'s cheapest 1BR in {r}"
            );
        }
    }
    assert_eq!(c.lead.beds.map(|b| (b.min, b.max)), Some((1, 1)));
    // Only the pet asked: cats, not a word about dogs.
    let (cats, no_cats) = pet_buildings("cats");
    assert_eq!(no_cats.len(), 1, "the sample has one building without cats");
    assert!(cats.len() > 1);
    assert!(
        r.contains(&format!(
            "Yes, cats are welcome at every building but {}.",
            no_cats[0]
        )),
        "{r}"
    );
    assert!(!r.to_lowercase().contains("dog"), "{r}");
}

#[test]
fn a_pet_question_answers_the_kind_asked() {
    let mut c = Convo::new();
    c.say("hi");
    let (r, _) = c.say("do you allow dogs?");
    let (dogs, no_dogs) = pet_buildings("dogs");
    assert!(r.starts_with("Yes, dogs are welcome at"), "{r}");
    for b in &dogs {
        assert!(r.contains(b.as_str()), "{b} takes dogs: {r}");
    }
    for b in &no_dogs {
        assert!(!r.contains(b.as_str()), "{b} takes no dogs: {r}");
    }
    assert!(!r.to_lowercase().contains("cat"), "{r}");
    // Both kinds, or pets in general: the whole policy.
    let mut c = Convo::new();
    c.say("hi");
    let (r, _) = c.say("are you pet friendly?");
    assert!(
        r.contains("Dogs are welcome at") && r.contains("cats at"),
        "{r}"
    );
    // Asked without a question mark after a change of mind: still the policy, not a dog
    // of theirs.
    let mut c = Convo::new();
    c.say("hi");
    let (r, _) = c.say("wait actualy make it 1 bedroom, do u take dogs");
    assert!(r.contains("Yes, dogs are welcome at"), "{r}");
    assert_eq!(c.lead.pets, None, "{r}");
    assert_eq!(c.lead.beds.map(|b| b.min), Some(1));
    // Two answers at once in Spanish fit the screen whole: the fee hint gives way.
    let mut c = Convo::new();
    let (r, _) = c.say("hola tienen departamentos de 2 recamaras? aceptan perros?");
    assert!(
        r.contains("Disponibles ahora o pronto (2 recámaras)"),
        "{r}"
    );
    assert!(r.contains("Sí, se aceptan perros en"), "{r}");
    assert!(!r.contains("cuotas"), "{r}");
    // In Spanish.
    let mut c = Convo::new();
    c.say("hola");
    let (r, _) = c.say("aceptan gatos?");
    let (_, no_cats) = pet_buildings("cats");
    assert!(
        r.starts_with(&format!(
            "Sí, se aceptan gatos en todos menos {}.",
            no_cats[0]
        )),
        "{r}"
    );
}

#[test]
fn a_size_next_to_another_question_is_not_taken_for_an_availability_question() {
    let mut c = Convo::new();
    c.say("hi");
    let (r, _) = c.say("is there a washer in the 2 bedroom?");
    assert!(!r.contains("Open now or soon"), "{r}");
    assert!(r.contains("washer"), "{r}");
    let mut c = Convo::new();
    c.say("hi");
    let (r, _) = c.say("I dont have any pets, need 2 bedrooms");
    assert!(r.starts_with("Got it: 2BR, no pets."), "{r}");
}
