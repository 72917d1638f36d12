//! Reading a lead's text: everything it asks (topics, in order), everything it states
//! (building, neighborhoods, bedrooms, budget range, pets with weight, move-in, a tour
//! time, name, credit, voucher), and what it is (a request for a person, a complaint, a
//! question about who is texting, a tour change...). Words come from the language packs,
//! so Spanish and English are read by the same code.

use crate::data::{LANDMARK_KINDS, Portfolio, UTILITIES};
use agenthost_sdk::lang::Languages;
use agenthost_sdk::read::{self, Beds, Budget, Pets};
use agenthost_sdk::when::{self, When};
use agenthost_sdk::words::Norm;
use serde::{Deserialize, Serialize};

/// Something a lead asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Availability,
    Rent,
    Pets,
    Parking,
    Location,
    Distance,
    Amenities,
    Utilities,
    Laundry,
    OfficeHours,
    TourHours,
    Fees,
    Lease,
    Screening,
    Vouchers,
    Languages,
    Size,
    Apply,
}

impl Topic {
    pub const ALL: [Topic; 18] = [
        Topic::Availability,
        Topic::Rent,
        Topic::Pets,
        Topic::Parking,
        Topic::Location,
        Topic::Distance,
        Topic::Amenities,
        Topic::Utilities,
        Topic::Laundry,
        Topic::OfficeHours,
        Topic::TourHours,
        Topic::Fees,
        Topic::Lease,
        Topic::Screening,
        Topic::Vouchers,
        Topic::Languages,
        Topic::Size,
        Topic::Apply,
    ];

    /// The cue list that asks about this topic.
    pub fn cue(self) -> &'static str {
        match self {
            Topic::Availability => "topic_availability",
            Topic::Rent => "topic_rent",
            Topic::Pets => "topic_pets",
            Topic::Parking => "topic_parking",
            Topic::Location => "topic_location",
            Topic::Distance => "topic_distance",
            Topic::Amenities => "topic_amenities",
            Topic::Utilities => "topic_utilities",
            Topic::Laundry => "topic_laundry",
            Topic::OfficeHours => "topic_office_hours",
            Topic::TourHours => "topic_tour_hours",
            Topic::Fees => "topic_fees",
            Topic::Lease => "topic_lease",
            Topic::Screening => "topic_screening",
            Topic::Vouchers => "topic_vouchers",
            Topic::Languages => "topic_languages",
            Topic::Size => "topic_size",
            Topic::Apply => "topic_apply",
        }
    }
}

/// What kind of message it is, beyond questions and facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intents {
    /// Wants a person (a call, an agent, someone).
    pub person: bool,
    /// Upset or complaining.
    pub upset: bool,
    /// "is this a bot?"
    pub bot: bool,
    /// "who is this?"
    pub who: bool,
    /// "did you just call me?"
    pub called_me: bool,
    /// "so when will someone call me?"
    pub when_contact: bool,
    /// Says the phone (or email) does not work for them.
    pub phone_fails: bool,
    pub email_fails: bool,
    /// Not interested any more / found a place.
    pub done: bool,
    pub docs_submitted: bool,
    pub tour: bool,
    pub reschedule: bool,
    pub cancel_tour: bool,
    pub thanks: bool,
    pub greeting: bool,
    pub yes: bool,
    pub no: bool,
    /// "and the 2 bdrm?": the same question about something else.
    pub what_about: bool,
    /// "actually ...": replaces what was said before.
    pub correction: bool,
    /// "what do you recommend?", "any options for me?"
    pub recommend: bool,
}

/// A field the agent asked about and waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Bedrooms,
    MoveIn,
    Budget,
    Pets,
}

/// Everything read from one message.
#[derive(Debug, Clone)]
pub struct Reading {
    pub norm: Norm,
    /// The language to answer in.
    pub lang: String,
    /// The lead asked for a language ("no hablo inglés", "english please").
    pub lang_requested: bool,
    pub question: bool,
    /// Topics asked, in the order of the text.
    pub topics: Vec<Topic>,
    /// Utilities asked about by name ("is heat included": ["heat"]).
    pub utilities: Vec<&'static str>,
    /// Building named.
    pub building: Option<String>,
    /// Two or more buildings named together ("yates or evans?"): answers cover each, and
    /// `building` is then `None`.
    pub compare: Vec<String>,
    /// Asks which is cheaper.
    pub cheaper: bool,
    pub hoods: Vec<String>,
    /// Landmark kinds wanted close ("near the lake": ["lake"]).
    pub near: Vec<&'static str>,
    /// A landmark kind asked about ("how far from the train").
    pub landmark: Option<&'static str>,
    pub beds: Option<Beds>,
    pub budget: Option<Budget>,
    /// "No limit" (to the budget question), "price doesn't matter".
    pub budget_open: bool,
    /// "Whenever", "flexible" (to the move-in question).
    pub move_flexible: bool,
    pub pets: Option<Pets>,
    /// Day number of the move-in date.
    pub move_in: Option<i64>,
    /// A tour day/time.
    pub when: When,
    pub credit: Option<u32>,
    pub name: Option<String>,
    /// Says they have a voucher.
    pub voucher_holder: bool,
    pub intents: Intents,
    /// No words or numbers at all ("?", "👍").
    pub empty: bool,
}

impl Reading {
    pub fn has_facts(&self) -> bool {
        self.beds.is_some()
            || self.budget.is_some()
            || self.budget_open
            || self.move_flexible
            || self.pets.is_some()
            || self.move_in.is_some()
            || !self.hoods.is_empty()
            || !self.near.is_empty()
            || self.credit.is_some()
    }
}

/// Context the reading needs: what the agent asked last, and whether a tour is being
/// arranged (then a bare day or time is a tour time, not a move-in date).
pub struct Context<'a> {
    pub lang: Option<&'a str>,
    pub asked: Option<Field>,
    pub scheduling: bool,
    pub today: i64,
}

pub fn read(p: &Portfolio, langs: &Languages, body: &str, cx: &Context) -> Reading {
    let lex = &langs.lex;
    let norm = Norm::new(body, Some(lex));
    let has = |cue: &str| lex.has(&norm, cue);
    let lang = langs.detect(&norm, cx.lang);
    let lang_requested = langs.requested(&norm).is_some();
    let question = read::is_question(&norm, lex);

    // ---- what it is ----------------------------------------------------------------
    let called_me = has("called_me");
    let who = has("who");
    let mut i = Intents {
        upset: has("upset"),
        phone_fails: has("phone_fails"),
        email_fails: has("email_fails"),
        called_me,
        who,
        when_contact: has("when_contact"),
        done: has("done") && !has("not_done"),
        docs_submitted: has("docs_sent") && has("docs_things"),
        reschedule: has("reschedule"),
        cancel_tour: has("cancel_tour"),
        thanks: has("thanks"),
        greeting: has("greeting"),
        what_about: starts_with(&norm, lex.cues("what_about")),
        correction: has("correction_lead"),
        recommend: has("recommend_ask"),
        ..Intents::default()
    };
    // A person: asked for, unless the words are about a call we did not make.
    let person_words = has("person");
    let talk_verbs = has("talk_to") && !called_me;
    i.bot = has("bot") && !talk_verbs;
    i.person = (person_words && !called_me && !i.bot && !who) || talk_verbs;
    if i.bot && talk_verbs {
        i.person = true;
    }
    i.tour = has("tour");
    let words = norm.len_words();
    let first = norm.words().next().unwrap_or("");
    i.yes = words <= 4 && lex.is(first, "yes") && !question;
    i.no = words <= 4 && lex.is(first, "no") && !i.done;

    // ---- what it asks ----------------------------------------------------------------
    let mut topics: Vec<(usize, Topic)> = Vec::new();
    for t in Topic::ALL {
        if let Some((s, _)) = lex.find(&norm, t.cue()) {
            topics.push((s, t));
        }
    }
    let mut utilities = Vec::new();
    for u in UTILITIES {
        if lex.has(&norm, &format!("utility_{u}")) {
            utilities.push(*u);
        }
    }
    if !utilities.is_empty() && !topics.iter().any(|(_, t)| *t == Topic::Utilities) {
        // "is heat included" / "do I pay for gas": naming a utility asks about it.
        if has("included_words") || question {
            let at = lex
                .find(&norm, &format!("utility_{}", utilities[0]))
                .map_or(0, |x| x.0);
            topics.push((at, Topic::Utilities));
        }
    }
    let several = p.find_buildings(&norm.text);
    let named = match several.len() {
        0 => p.find_building(&norm.text),
        1 => Some(several[0]),
        _ => None,
    };
    // "Chatham Park Place" names a building, not the Chatham neighborhood; "Jeffery
    // Shores" is not "stores" near a building.
    let mut rest = norm.text.clone();
    let stripped = if several.len() >= 2 {
        several.clone()
    } else {
        named.into_iter().collect()
    };
    for b in stripped {
        for n in std::iter::once(&b.name).chain(&b.aliases) {
            rest = rest.replace(&n.to_lowercase(), " ");
        }
    }
    let rest_norm = Norm::new(&rest, Some(lex));
    let mut landmark = None;
    let mut near = Vec::new();
    for k in LANDMARK_KINDS {
        let norm = &rest_norm;
        let spans = lex.find_all(norm, &format!("near_{k}"));
        if spans.is_empty() {
            continue;
        }
        // "how far is it from the lake?" asks a distance; "near the lake", "walking
        // distance to the train" states a constraint.
        let closeness = spans.iter().any(|&(s, _)| {
            lex.find_all(norm, "near_words")
                .iter()
                .any(|&(_, e)| e < s && norm.gap(e, s) <= 3)
        });
        let distance_q = lex.has(norm, "topic_distance") && question;
        if distance_q {
            landmark = landmark.or(Some(*k));
        } else if closeness {
            near.push(*k);
        }
    }
    // Landmarks named in the data ("how far is it from rosenblum park").
    if landmark.is_none() && lex.has(&norm, "topic_distance") {
        'found: for b in &p.buildings {
            for l in &b.landmarks {
                if l.aliases
                    .iter()
                    .chain(std::iter::once(&l.name))
                    .any(|a| agenthost_sdk::text::contains_word(&norm.text, a))
                {
                    landmark = LANDMARK_KINDS.iter().copied().find(|k| *k == l.kind);
                    break 'found;
                }
            }
        }
    }
    if landmark.is_some() && !topics.iter().any(|(_, t)| *t == Topic::Distance) {
        topics.push((0, Topic::Distance));
    }
    if !near.is_empty() {
        topics.retain(|(_, t)| *t != Topic::Distance);
    }
    // "do you have 1 bedrooms?", "is there a 2br open": asks whether there is one — the
    // availability of that size — though no availability word is said.
    let beds = read::bedrooms(&norm, lex, cx.asked == Some(Field::Bedrooms));
    // The size must follow the ask closely, with no other topic between ("is there a
    // washer in the 2 bedroom?" asks about laundry).
    if beds.is_some() && !topics.iter().any(|(_, t)| *t == Topic::Availability) {
        let sizes: Vec<usize> = lex
            .find_all(&norm, "bedroom")
            .into_iter()
            .chain(lex.find_all(&norm, "studio"))
            .map(|(s, _)| s)
            .collect();
        let ask = lex.find_all(&norm, "have_ask").into_iter().find(|&(_, e)| {
            sizes
                .iter()
                .any(|&w| norm.gap(e, w) <= 5 && !topics.iter().any(|&(at, _)| at > e && at < w))
        });
        if let Some((at, _)) = ask {
            topics.push((at, Topic::Availability));
        }
    }
    // The screening words in "credit in the 700s" ask about screening.
    topics.sort_by_key(|(s, _)| *s);
    let mut topics: Vec<Topic> = topics.into_iter().map(|(_, t)| t).collect();
    topics.dedup();
    // Office hours vs tour hours: "when can I see it" is tours, "are you open" the office.
    if topics.contains(&Topic::TourHours) && topics.contains(&Topic::OfficeHours) {
        topics.retain(|t| *t != Topic::OfficeHours);
    }

    // ---- what it states ----------------------------------------------------------------
    let building = named.map(|b| b.id.clone());
    let compare: Vec<String> = if several.len() >= 2 {
        several.iter().map(|b| b.id.clone()).collect()
    } else {
        Vec::new()
    };
    let cheaper = has("compare_cheaper");
    let hoods = p.find_neighborhoods(&rest);
    let budget = read::budget(&norm, lex, cx.asked == Some(Field::Budget));
    let budget_open = budget.is_none()
        && (has("budget_open_strong")
            || (cx.asked == Some(Field::Budget) && has("budget_open") && !question));
    // "do u take dogs" asks the policy, with or without a question mark: it says nothing
    // of the lead's own pets unless they also say whose ("we have a dog, do you take
    // dogs?").
    let asks_policy = has("policy_ask") && !has("own");
    let pets = read::pets(&norm, lex, cx.asked == Some(Field::Pets)).filter(|_| !asks_policy);
    let credit = read::credit(&norm, lex);
    let name = read::name(body, lex);
    let voucher_holder = has("topic_vouchers") && (lex.has(&norm, "own") || has("voucher_holder"));
    let w = when::when(&norm, lex, cx.today);
    // "instead", "can I do": a change only with a day or a time.
    i.reschedule |=
        has("reschedule_weak") && (w.has_day() || w.has_time()) && (cx.scheduling || i.tour);
    i.tour |= i.reschedule;
    // A day is a move-in date when the text says so, or answers our question, or there is
    // no tour being arranged and no time of day; otherwise it is a tour time.
    let move_cue = has("move_words");
    let tour_context = i.tour || cx.scheduling || w.has_time();
    let mut move_in = None;
    let mut tour_when = When::default();
    if w.has_day() || w.has_time() || w.asap {
        if move_cue
            || cx.asked == Some(Field::MoveIn) && !w.has_time()
            || (!tour_context && w.has_day() && !question)
        {
            move_in = w.day;
        } else if tour_context {
            tour_when = w.clone();
        }
    }
    if move_in.is_none() && move_cue && w.asap {
        move_in = Some(cx.today);
    }
    let move_flexible = move_in.is_none()
        && !w.has_day()
        && (!question || norm.len_words() <= 3)
        && cx.asked == Some(Field::MoveIn)
        && has("move_flexible");
    let empty = norm.len_words() == 0;
    // "I have a dog" answers our question; it does not ask for the pet policy.
    if pets.is_some() && !question {
        topics.retain(|t| *t != Topic::Pets);
    }
    if topics.is_empty()
        && question
        && (building.is_some() || beds.is_some())
        && !i.tour
        && !i.person
        && !i.who
        && !i.bot
    {
        // "and the 2 bdrm?", "yates?": asks about what it names; the agent fills the
        // topic from the conversation (default: availability).
        i.what_about = true;
    }
    Reading {
        lang,
        lang_requested,
        question,
        topics,
        utilities,
        building,
        compare,
        cheaper,
        hoods,
        near,
        landmark,
        beds,
        budget,
        budget_open,
        move_flexible,
        pets,
        move_in,
        when: tour_when,
        credit,
        name,
        voucher_holder,
        intents: i,
        empty,
        norm,
    }
}

fn starts_with<S: AsRef<str>>(norm: &Norm, cues: &[S]) -> bool {
    cues.iter()
        .any(|c| norm.find(c.as_ref()).is_some_and(|(s, _)| s == 0))
}
