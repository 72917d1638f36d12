//! Reading a renter's text for the locator: requirements (bedrooms, budget range, areas
//! with add/remove/replace, move-in, pets with weight, landmarks), which option it is
//! about ("the first one", "#2", "harper"), what it asks, and what it is (a tour request
//! with a preferred time, a person, a complaint, "who is this"...).

use crate::data::{Inventory, LANDMARK_KINDS, UTILITIES};
use agenthost_sdk::lang::Languages;
use agenthost_sdk::read::{self, Beds, Budget, Pets};
use agenthost_sdk::when::{self, When};
use agenthost_sdk::words::Norm;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Availability,
    Rent,
    Pets,
    Utilities,
    Laundry,
    Fees,
    ServiceFee,
    Lease,
    Screening,
    Vouchers,
    Languages,
    OfficeHours,
    Distance,
    Location,
    Features,
    Areas,
}

impl Topic {
    pub const ALL: [Topic; 16] = [
        Topic::Availability,
        Topic::Rent,
        Topic::Pets,
        Topic::Utilities,
        Topic::Laundry,
        Topic::Fees,
        Topic::ServiceFee,
        Topic::Lease,
        Topic::Screening,
        Topic::Vouchers,
        Topic::Languages,
        Topic::OfficeHours,
        Topic::Distance,
        Topic::Location,
        Topic::Features,
        Topic::Areas,
    ];

    /// Answered from one listing's data (so, for several options, from each).
    pub fn per_listing(self) -> bool {
        matches!(
            self,
            Topic::Availability
                | Topic::Rent
                | Topic::Pets
                | Topic::Utilities
                | Topic::Laundry
                | Topic::Fees
                | Topic::Lease
                | Topic::Distance
                | Topic::Location
                | Topic::Features
        )
    }

    pub fn cue(self) -> &'static str {
        match self {
            Topic::Availability => "topic_availability",
            Topic::Rent => "topic_rent",
            Topic::Pets => "topic_pets",
            Topic::Utilities => "topic_utilities",
            Topic::Laundry => "topic_laundry",
            Topic::Fees => "topic_fees",
            Topic::ServiceFee => "topic_service_fee",
            Topic::Lease => "topic_lease",
            Topic::Screening => "topic_screening",
            Topic::Vouchers => "topic_vouchers",
            Topic::Languages => "topic_languages",
            Topic::OfficeHours => "topic_office_hours",
            Topic::Distance => "topic_distance",
            Topic::Location => "topic_location",
            Topic::Features => "topic_features",
            Topic::Areas => "topic_areas",
        }
    }
}

/// What to do with the areas named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaOp {
    /// "pilsen too", "also hyde park", "what about pilsen"
    Add,
    /// "not uptown", "remove pilsen", "anywhere but uptown"
    Remove,
    /// "just pilsen", "only hyde park", "actually logan instead"
    Replace,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intents {
    pub person: bool,
    pub upset: bool,
    pub bot: bool,
    pub who: bool,
    pub called_me: bool,
    pub when_contact: bool,
    pub phone_fails: bool,
    pub email_fails: bool,
    pub done: bool,
    pub tour: bool,
    pub thanks: bool,
    pub greeting: bool,
    pub yes: bool,
    pub no: bool,
    pub more: bool,
    pub start_over: bool,
    /// "any options?", "what do you have for me"
    pub options: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Bedrooms,
    Budget,
    Area,
    MoveIn,
    Pets,
}

#[derive(Debug, Clone)]
pub struct Reading {
    pub norm: Norm,
    pub lang: String,
    pub lang_requested: bool,
    pub question: bool,
    pub topics: Vec<Topic>,
    pub utilities: Vec<&'static str>,
    pub areas: Vec<String>,
    pub area_op: Option<AreaOp>,
    /// "anywhere", "no preference".
    pub anywhere: bool,
    /// A neighborhood the locator does not cover.
    pub uncovered: Option<&'static str>,
    pub beds: Option<Beds>,
    pub budget: Option<Budget>,
    /// "No limit", "doesn't matter" (to the budget question), "no budget".
    pub budget_open: bool,
    pub pets: Option<Pets>,
    pub move_in: Option<i64>,
    /// A preferred tour day/time.
    pub when: When,
    pub near: Vec<&'static str>,
    pub landmark: Option<&'static str>,
    pub name: Option<String>,
    /// Option number referred to (0-based).
    pub pick: Option<usize>,
    /// A listing named by a word of its title, among the options.
    pub named: Option<String>,
    /// Several options referred to together ("1 and 2", "harper or prairie", "which of
    /// those", "both"), as option indexes (0-based): the question is about each of them.
    pub set: Vec<usize>,
    /// Asks which is cheaper.
    pub cheaper: bool,
    pub intents: Intents,
    pub empty: bool,
}

pub struct Context<'a> {
    pub lang: Option<&'a str>,
    pub asked: Option<Field>,
    /// Options shown (listing ids), for "the first one" and names.
    pub options: &'a [String],
    /// A tour is being arranged: a bare day or time is its preferred time.
    pub touring: bool,
    pub today: i64,
}

fn ordinal(w: &str) -> Option<usize> {
    Some(match w {
        "first" | "1st" | "primero" | "primera" | "primer" => 0,
        "second" | "2nd" | "segundo" | "segunda" => 1,
        "third" | "3rd" | "tercero" | "tercera" | "tercer" => 2,
        "fourth" | "4th" | "cuarto" | "cuarta" => 3,
        "fifth" | "5th" | "quinto" | "quinta" => 4,
        _ => return None,
    })
}

pub fn read(inv: &Inventory, langs: &Languages, body: &str, cx: &Context) -> Reading {
    let lex = &langs.lex;
    let norm = Norm::new(body, Some(lex));
    let has = |cue: &str| lex.has(&norm, cue);
    let lang = langs.detect(&norm, cx.lang);
    let lang_requested = langs.requested(&norm).is_some();
    let question = read::is_question(&norm, lex);
    let called_me = has("called_me");
    let who = has("who");
    let talk = has("talk_to") && !called_me;
    let bot = has("bot") && !talk;
    let words = norm.len_words();
    let first = norm.words().next().unwrap_or("");
    let mut i = Intents {
        upset: has("upset"),
        phone_fails: has("phone_fails"),
        email_fails: has("email_fails"),
        called_me,
        who,
        bot,
        when_contact: has("when_contact"),
        done: has("done"),
        tour: has("tour"),
        thanks: has("thanks"),
        greeting: has("greeting"),
        more: has("more") && !question || has("more_strong"),
        start_over: has("start_over"),
        options: has("options_ask"),
        ..Intents::default()
    };
    i.person = (has("person") && !called_me && !bot && !who) || talk;
    i.yes = words <= 4 && lex.is(first, "yes") && !question;
    i.no = words <= 4 && lex.is(first, "no") && !i.done;

    let mut topics: Vec<(usize, Topic)> = Vec::new();
    for t in Topic::ALL {
        if let Some((s, _)) = lex.find(&norm, t.cue()) {
            topics.push((s, t));
        }
    }
    let utilities: Vec<&'static str> = UTILITIES
        .iter()
        .copied()
        .filter(|u| lex.has(&norm, &format!("utility_{u}")))
        .collect();
    if !utilities.is_empty()
        && !topics.iter().any(|(_, t)| *t == Topic::Utilities)
        && (has("included_words") || question)
    {
        topics.push((0, Topic::Utilities));
    }
    let mut landmark = None;
    let mut near = Vec::new();
    for k in LANDMARK_KINDS {
        let spans = lex.find_all(&norm, &format!("near_{k}"));
        if spans.is_empty() {
            continue;
        }
        // A question about distance asks it; "near the lake" states a constraint.
        let closeness = spans.iter().any(|&(s, _)| {
            lex.find_all(&norm, "near_words")
                .iter()
                .any(|&(_, e)| e < s && norm.gap(e, s) <= 3)
        });
        // "is it close to the train?" asks about a listing; "anything near the lake?"
        // asks for listings near it.
        let yes_no = matches!(
            first,
            "is" | "are" | "does" | "do" | "how" | "es" | "esta" | "queda"
        );
        if (has("topic_distance") || (yes_no && closeness)) && question {
            landmark = landmark.or(Some(*k));
        } else if closeness {
            near.push(*k);
        }
    }
    if landmark.is_some() && !topics.iter().any(|(_, t)| *t == Topic::Distance) {
        topics.push((0, Topic::Distance));
    }
    if !near.is_empty() {
        topics.retain(|(_, t)| *t != Topic::Distance);
    }
    topics.sort_by_key(|(s, _)| *s);
    let mut topics: Vec<Topic> = topics.into_iter().map(|(_, t)| t).collect();
    topics.dedup();
    // "do you charge a fee?" is about our fee, not the landlord's.
    if topics.contains(&Topic::ServiceFee) {
        topics.retain(|t| *t != Topic::Fees);
    }

    // Areas and what to do with them.
    let areas = inv.find_areas(&norm.text);
    let anywhere = has("anywhere") || (cx.asked == Some(Field::Area) && has("anywhere_answer"));
    let mut area_op = None;
    if !areas.is_empty() {
        let remove_near = lex.find_all(&norm, "remove_area").iter().any(|&(_, e)| {
            areas.iter().any(|a| {
                norm.find(a)
                    .or_else(|| {
                        inv.office
                            .areas
                            .iter()
                            .find(|x| &x.name == a)
                            .and_then(|x| x.aliases.iter().find_map(|al| norm.find(al)))
                    })
                    .is_some_and(|(s, _)| e < s && norm.gap(e, s) <= 2)
            })
        });
        area_op = Some(if remove_near {
            AreaOp::Remove
        } else if has("only_area") {
            AreaOp::Replace
        } else {
            AreaOp::Add
        });
    }
    let uncovered = if areas.is_empty() {
        inv.uncovered_area(&norm.text)
    } else {
        None
    };

    // Which option: "1", "#2", "option 3", "the first one", "how far is 1 from...", or
    // a title word. A number that is a size, a price, a count or a time is not a pick.
    let w = when::when(&norm, lex, cx.today);
    let mut pick = None;
    if !cx.options.is_empty() {
        for (k, t) in norm.toks.iter().enumerate() {
            if let Some(o) = t.is_word().then(|| ordinal(&t.text)).flatten() {
                pick = Some(o);
                break;
            }
            if let Some(n) = t.num()
                && !n.from_words
                && n.suffix.is_empty()
                && n.minutes.is_none()
                && n.value.fract() == 0.0
                && (1.0..=cx.options.len() as f64).contains(&n.value)
                && !w.tokens.contains(&k)
                && (read::classify(&norm, lex, k) == read::NumKind::Plain
                    || (k >= 1 && norm.toks[k - 1].is_sym('#')))
                && !(cx.asked == Some(Field::Bedrooms) && words <= 2)
            {
                pick = Some(n.value as usize - 1);
                break;
            }
        }
        pick = pick.filter(|&k| k < cx.options.len());
    }
    let named = if pick.is_none() {
        inv.named_among(&norm.text, cx.options)
    } else {
        None
    };
    // "any of them near the lake?" asks about the options shown, not for a constraint.
    if cx.options.len() >= 2 && has("options_group") && question && !near.is_empty() {
        landmark = landmark.or(Some(near[0]));
        near.clear();
        if !topics.contains(&Topic::Distance) {
            topics.push(Topic::Distance);
        }
    }
    // Several options at once: every pick number or ordinal, every title named, or the
    // options as a group ("which of those", "both", "cuál de esos").
    let mut set: Vec<usize> = Vec::new();
    if cx.options.len() >= 2 {
        // An option number: in range, not a time; a plain number, or one coordinated
        // with another ("fees for 1 and 3": "1" after "fees for" alone reads as money).
        let candidate = |k: usize| -> Option<usize> {
            let t = &norm.toks[k];
            if t.is_word() {
                return ordinal(&t.text);
            }
            t.num()
                .filter(|n| {
                    !n.from_words
                        && n.suffix.is_empty()
                        && n.minutes.is_none()
                        && n.value.fract() == 0.0
                        && (1.0..=cx.options.len() as f64).contains(&n.value)
                        && !w.tokens.contains(&k)
                })
                .map(|n| n.value as usize - 1)
        };
        let plain = |k: usize| {
            norm.toks[k].is_word()
                || read::classify(&norm, lex, k) == read::NumKind::Plain
                || (k >= 1 && norm.toks[k - 1].is_sym('#'))
        };
        let joined = |a: usize, b: usize| {
            let (a, b) = (a.min(b), a.max(b));
            b == a + 2
                && (norm.toks[a + 1].is_sym(',')
                    || norm.toks[a + 1].is_sym('&')
                    || lex.is(&norm.toks[a + 1].text, "and_or"))
        };
        let n = norm.toks.len();
        for k in 0..n {
            let Some(o) = candidate(k) else { continue };
            // Coordinated with a plain option number ("1 and 3"), never with a size
            // ("1 or 2 bedrooms" is a bedroom range).
            let loose = |k: usize| {
                norm.toks[k].is_word()
                    || matches!(
                        read::classify(&norm, lex, k),
                        read::NumKind::Plain | read::NumKind::Money | read::NumKind::Count
                    )
            };
            let coordinated = loose(k)
                && [k.wrapping_sub(2), k + 2]
                    .into_iter()
                    .filter(|&j| j < n && j != k)
                    .any(|j| candidate(j).is_some() && plain(j) && joined(k, j));
            if (plain(k) || coordinated) && o < cx.options.len() && !set.contains(&o) {
                set.push(o);
            }
        }
        for id in inv.named_all_among(&norm.text, cx.options) {
            if let Some(o) = cx.options.iter().position(|x| *x == id)
                && !set.contains(&o)
            {
                set.push(o);
            }
        }
        // A group reference needs something to answer about each ("which of those take
        // dogs?"), not just "which" ("¿cuál es su horario?").
        let about_each = topics.iter().any(|t| t.per_listing())
            || has("compare_cheaper")
            || has("compare_words");
        if set.len() < 2 {
            set = if has("options_group") && about_each {
                (0..cx.options.len()).collect()
            } else {
                Vec::new()
            };
        }
        set.sort();
    }
    let cheaper = has("compare_cheaper");
    // "is harper court close to the lake?" asks about that listing, not for a constraint.
    if (pick.is_some() || named.is_some()) && question && !near.is_empty() {
        landmark = landmark.or(Some(near[0]));
        near.clear();
        if !topics.contains(&Topic::Distance) {
            topics.push(Topic::Distance);
        }
    }

    let beds = read::bedrooms(&norm, lex, cx.asked == Some(Field::Bedrooms));
    let budget = read::budget(&norm, lex, cx.asked == Some(Field::Budget));
    let budget_open = budget.is_none()
        && (has("budget_open_strong")
            || (cx.asked == Some(Field::Budget) && has("budget_open") && !question));
    let pets = read::pets(&norm, lex, cx.asked == Some(Field::Pets));
    if pets.is_some() && !question {
        topics.retain(|t| *t != Topic::Pets);
    }
    let name = read::name(body, lex);
    let move_cue = has("move_words");
    let tour_context = i.tour || cx.touring || w.has_time();
    let mut move_in = None;
    let mut tour_when = When::default();
    if w.has_day() || w.has_time() || w.asap {
        if move_cue
            || (cx.asked == Some(Field::MoveIn) && !w.has_time())
            || (!tour_context && w.has_day() && !question)
        {
            move_in = w.day;
        } else if tour_context {
            tour_when = w;
        }
    }
    // A bare pick number is not a bedroom answer.
    let beds = if pick.is_some() && cx.asked != Some(Field::Bedrooms) {
        beds.filter(|_| lex.has(&norm, "bedroom"))
    } else {
        beds
    };
    Reading {
        lang,
        lang_requested,
        question,
        topics,
        utilities,
        areas,
        area_op,
        anywhere,
        uncovered,
        beds,
        budget,
        budget_open,
        pets,
        move_in,
        when: tour_when,
        near,
        landmark,
        name,
        pick,
        named,
        set,
        cheaper,
        intents: i,
        empty: norm.len_words() == 0,
        norm,
    }
}
