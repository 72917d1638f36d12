//! The locator's decisions: requirements gathered over several messages, matching against
//! the inventory, options with reasons, tour hand-offs. Pure: returns [`Action`]s.

use crate::parse::{self, Pets};
use agenthost_sdk::text::{contains_any_word, contains_word, dollars, words};
use agenthost_sdk::time::{self, Zone};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Office {
    pub company: String,
    pub phone: String,
    #[serde(default = "default_offset")]
    pub utc_offset_minutes: i32,
    #[serde(default = "yes")]
    pub observe_us_dst: bool,
    /// How far over the stated budget a listing may be and still be shown (flagged).
    #[serde(default = "default_pct")]
    pub over_budget_allowance_pct: u32,
    #[serde(default = "default_options")]
    pub options_per_message: usize,
}

fn default_offset() -> i32 {
    -360
}
fn yes() -> bool {
    true
}
fn default_pct() -> u32 {
    5
}
fn default_options() -> usize {
    3
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Listing {
    pub id: String,
    pub title: String,
    pub landlord: String,
    pub address: String,
    pub neighborhood: String,
    pub bedrooms: u8,
    pub bathrooms: f32,
    pub rent: u32,
    pub sqft: u32,
    pub available_from: String,
    pub cats: bool,
    pub dogs: bool,
    #[serde(default)]
    pub features: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Inventory {
    pub office: Office,
    pub listings: Vec<Listing>,
}

impl Inventory {
    pub fn from_json(office: &str, listings: &str) -> Result<Self, String> {
        Ok(Inventory {
            office: serde_json::from_str(office).map_err(|e| format!("office: {e}"))?,
            listings: serde_json::from_str(listings).map_err(|e| format!("listings: {e}"))?,
        })
    }

    fn zone(&self) -> Zone {
        Zone {
            standard_offset_min: self.office.utc_offset_minutes,
            us_dst: self.office.observe_us_dst,
        }
    }

    pub fn neighborhoods(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for l in &self.listings {
            if !out.contains(&l.neighborhood) {
                out.push(l.neighborhood.clone());
            }
        }
        out
    }

    pub fn listing(&self, id: &str) -> Option<&Listing> {
        self.listings.iter().find(|l| l.id == id)
    }
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

/// One renter's search; stored under `renter:<number>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Renter {
    pub number: String,
    pub conversation_id: Option<String>,
    pub bedrooms: Option<u8>,
    pub budget: Option<u32>,
    /// Neighborhoods wanted; `Some(empty)` = anywhere.
    pub areas: Option<Vec<String>>,
    /// ISO date.
    pub move_in: Option<String>,
    pub pets: Option<Pets>,
    pub asked: Option<Field>,
    /// Listing ids of the options last sent, in the order numbered.
    pub options: Vec<String>,
    /// Every listing id sent in this search (for "more").
    pub shown: Vec<String>,
    pub tour_requests: Vec<String>,
    pub opted_out: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Reply(String),
    Alert {
        kind: &'static str,
        message: String,
        fields: Vec<(String, String)>,
    },
}

/// A listing that passed the hard filters, with its rank and the reasons to show it.
#[derive(Debug, Clone)]
pub struct Match<'a> {
    pub listing: &'a Listing,
    pub score: i64,
    pub over_budget: bool,
    pub reasons: String,
}

/// Listings that satisfy the renter's requirements, best first.
///
/// Hard filters: bedrooms >= wanted; rent <= budget + `over_budget_allowance_pct`% (shown
/// flagged as over); cats/dogs allowed when the renter has them; neighborhood when stated.
/// Rank (higher is better): 1000, -200 if over budget, +50 exact bedrooms else -20 per
/// extra bedroom, +60 ready by the move-in date (+20 within 14 days after, else -1 per day
/// late up to -100), + up to 30 for savings under budget (percent under x 2). Ties: cheaper
/// first, then id.
pub fn matches<'a>(inv: &'a Inventory, r: &Renter, today: i64) -> Vec<Match<'a>> {
    let pct = inv.office.over_budget_allowance_pct;
    let move_in = r.move_in.as_deref().and_then(time::parse_iso_date);
    let pets = r.pets.unwrap_or_default();
    let mut out: Vec<Match> = Vec::new();
    for l in &inv.listings {
        if r.bedrooms.is_some_and(|b| l.bedrooms < b) {
            continue;
        }
        if let Some(budget) = r.budget
            && u64::from(l.rent) * 100 > u64::from(budget) * u64::from(100 + pct)
        {
            continue;
        }
        if (pets.cats && !l.cats) || (pets.dogs && !l.dogs) {
            continue;
        }
        if let Some(areas) = &r.areas
            && !areas.is_empty()
            && !areas.iter().any(|a| a == &l.neighborhood)
        {
            continue;
        }
        let over = r.budget.is_some_and(|b| l.rent > b);
        let mut score: i64 = 1000;
        if over {
            score -= 200;
        }
        match r.bedrooms {
            Some(b) if l.bedrooms == b => score += 50,
            Some(b) => score -= 20 * i64::from(l.bedrooms - b),
            None => {}
        }
        let ready = time::parse_iso_date(&l.available_from)
            .unwrap_or(today)
            .max(today);
        if let Some(m) = move_in {
            if ready <= m {
                score += 60;
            } else if ready <= m + 14 {
                score += 20;
            } else {
                score -= (ready - m).min(100);
            }
        }
        if let Some(b) = r.budget
            && l.rent < b
        {
            score += (i64::from(b - l.rent) * 200 / i64::from(b)).min(30);
        }
        out.push(Match {
            listing: l,
            score,
            over_budget: over,
            reasons: reasons(l, r, today, ready, move_in),
        });
    }
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.listing.rent.cmp(&b.listing.rent))
            .then(a.listing.id.cmp(&b.listing.id))
    });
    out
}

/// "$1,150 - under your $1,200 budget; 2 BR; cats OK; in Hyde Park; avail Dec 1".
fn reasons(l: &Listing, r: &Renter, today: i64, ready: i64, move_in: Option<i64>) -> String {
    let mut s = Vec::new();
    let rent = dollars(l.rent.into());
    s.push(match r.budget {
        Some(b) if l.rent > b => format!(
            "{rent} - {}% over your {} budget",
            ((l.rent - b) * 100).div_ceil(b),
            dollars(b.into())
        ),
        Some(b) if l.rent == b => format!("{rent} - right at your budget"),
        Some(b) => format!("{rent} - under your {} budget", dollars(b.into())),
        None => rent,
    });
    s.push(if l.bedrooms == 0 {
        "studio".to_owned()
    } else {
        format!("{} BR", l.bedrooms)
    });
    let pets = r.pets.unwrap_or_default();
    match (pets.cats, pets.dogs) {
        (true, true) => s.push("cats & dogs OK".into()),
        (true, false) => s.push("cats OK".into()),
        (false, true) => s.push("dogs OK".into()),
        _ => {}
    }
    s.push(format!("in {}", l.neighborhood));
    let avail = if ready <= today {
        "avail now".to_owned()
    } else {
        format!("avail {}", time::month_day(ready))
    };
    s.push(match move_in {
        Some(m) if ready > m => format!("{avail} (after your {} move-in)", time::month_day(m)),
        _ => avail,
    });
    s.join("; ")
}

const TOUR_WORDS: &[&str] = &[
    "tour",
    "see",
    "visit",
    "view",
    "viewing",
    "showing",
    "look at",
    "check out",
    "interested in",
];

fn ordinal_choice(lower: &str, n: usize) -> Option<usize> {
    for w in words(lower) {
        let i = match w.as_str() {
            "1" | "first" | "1st" | "one" => 0,
            "2" | "second" | "2nd" | "two" => 1,
            "3" | "third" | "3rd" | "three" => 2,
            "4" | "fourth" | "4th" => 3,
            "5" | "fifth" | "5th" => 4,
            "last" => n.saturating_sub(1),
            _ => continue,
        };
        if i < n {
            return Some(i);
        }
    }
    None
}

/// Neighborhoods named in `lower`; `Some(empty)` for "anywhere".
fn areas(inv: &Inventory, lower: &str, asked: bool) -> Option<Vec<String>> {
    let mut found: Vec<String> = inv
        .neighborhoods()
        .into_iter()
        .filter(|h| contains_word(lower, h))
        .collect();
    if contains_word(lower, "logan") && !found.iter().any(|h| h == "Logan Square") {
        found.push("Logan Square".into());
    }
    let groups: [(&str, &[&str]); 2] = [
        ("north side", &["Rogers Park", "Uptown", "Logan Square"]),
        (
            "south side",
            &["Hyde Park", "Bronzeville", "South Shore", "Bridgeport"],
        ),
    ];
    for (phrase, hoods) in groups {
        if contains_word(lower, phrase) {
            for h in hoods {
                if !found.iter().any(|x| x == h)
                    && inv.listings.iter().any(|l| l.neighborhood == *h)
                {
                    found.push((*h).to_owned());
                }
            }
        }
    }
    if !found.is_empty() {
        return Some(found);
    }
    let anywhere = contains_any_word(
        lower,
        &[
            "anywhere",
            "any area",
            "any neighborhood",
            "no preference",
            "doesnt matter",
            "dont care",
            "flexible",
            "open to anything",
            "anything",
        ],
    ) || lower.contains("doesn't matter")
        || lower.contains("don't care");
    (anywhere && (asked || contains_any_word(lower, &["anywhere", "any area", "any neighborhood"])))
        .then(Vec::new)
}

pub struct Turn<'a> {
    pub inv: &'a Inventory,
    pub now_ms: u64,
    pub actions: Vec<Action>,
}

impl<'a> Turn<'a> {
    pub fn new(inv: &'a Inventory, now_ms: u64) -> Self {
        Turn {
            inv,
            now_ms,
            actions: Vec::new(),
        }
    }

    fn reply(&mut self, text: String) {
        self.actions.push(Action::Reply(text));
    }

    pub fn on_message(&mut self, r: &mut Renter, body: &str, conversation_id: &str) {
        r.conversation_id = Some(conversation_id.to_owned());
        let upper = body
            .trim()
            .trim_end_matches(['.', '!'])
            .to_ascii_uppercase();
        if ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"].contains(&upper.as_str()) {
            r.opted_out = true;
            return;
        }
        if ["START", "UNSTOP", "YES"].contains(&upper.as_str()) && r.opted_out {
            r.opted_out = false;
        } else if r.opted_out {
            return;
        }
        let lower = body.to_ascii_lowercase();
        let company = self.inv.office.company.clone();
        if upper == "HELP" || upper == "INFO" {
            self.reply(format!(
                "{company}: tell me your budget, bedrooms, area, move-in date and pets and I'll text you the best matches. Say START OVER to reset, TOUR 1 to see an option. Call {}. Reply STOP to opt out.",
                self.inv.office.phone
            ));
            return;
        }
        if contains_any_word(
            &lower,
            &[
                "start over",
                "restart",
                "reset",
                "new search",
                "start again",
                "clear",
            ],
        ) {
            *r = Renter {
                number: r.number.clone(),
                conversation_id: r.conversation_id.clone(),
                tour_requests: r.tour_requests.clone(),
                ..Renter::default()
            };
            r.asked = Some(Field::Bedrooms);
            self.reply("Starting over! How many bedrooms do you need?".into());
            return;
        }
        if contains_any_word(
            &lower,
            &[
                "human",
                "agent",
                "real person",
                "person",
                "call me",
                "speak to",
                "talk to",
                "someone",
            ],
        ) {
            self.actions.push(Action::Alert {
                kind: "handoff",
                message: format!(
                    "Renter {} asked for a person: \"{}\"",
                    r.number,
                    body.trim()
                ),
                fields: vec![
                    ("renter".into(), r.number.clone()),
                    ("last_message".into(), body.trim().into()),
                    ("requirements".into(), summary(r)),
                ],
            });
            self.reply(format!(
                "Sure - one of our locators will reach out shortly. You can also call {}.",
                self.inv.office.phone
            ));
            return;
        }
        if !r.options.is_empty() && contains_any_word(&lower, TOUR_WORDS) {
            return self.tour(r, &lower);
        }
        if !r.options.is_empty()
            && contains_any_word(
                &lower,
                &["more", "other options", "others", "anything else", "next"],
            )
        {
            return self.send_options(r, true);
        }
        // Requirements, read against the question we asked.
        let today = self.inv.zone().to_local(self.now_ms).days;
        let before = r.clone();
        if let Some(b) = parse::bedrooms(body).or_else(|| {
            (r.asked == Some(Field::Bedrooms))
                .then(|| bare_count(&lower))
                .flatten()
        }) {
            r.bedrooms = Some(b);
        }
        if let Some(b) = parse::budget(body, r.asked == Some(Field::Budget)) {
            r.budget = Some(b);
        }
        if let Some(a) = areas(self.inv, &lower, r.asked == Some(Field::Area)) {
            r.areas = Some(a);
        }
        // A date in a statement is the move-in date; in a question it may be something else.
        let move_cue = contains_any_word(&lower, &["move", "moving", "move in", "by", "start"])
            || !lower.contains('?');
        if (r.asked == Some(Field::MoveIn) || move_cue)
            && let Some(d) = time::parse_date_phrase(&lower, today)
        {
            r.move_in = Some(time::iso_date(d));
        }
        if let Some(p) = parse::pets(body, r.asked == Some(Field::Pets)) {
            r.pets = Some(p);
        }
        let changed = *r != before;
        if let Some((field, q)) = next_question(r) {
            r.asked = Some(field);
            let fresh = Renter {
                number: before.number.clone(),
                conversation_id: before.conversation_id.clone(),
                ..Renter::default()
            };
            let lead = if before == fresh {
                format!("Hi! This is {company}. I'll find apartments that fit you.")
            } else if changed {
                "Got it.".to_owned()
            } else {
                "Sorry, I didn't catch that.".to_owned()
            };
            self.reply(format!("{lead} {q}"));
            return;
        }
        r.asked = None;
        if changed || r.options.is_empty() {
            r.shown.clear();
            return self.send_options(r, false);
        }
        self.reply("Reply TOUR 1, 2 or 3 to see one of your options, MORE for others, or tell me what to change (budget, bedrooms, area, move-in, pets).".into());
    }

    fn send_options(&mut self, r: &mut Renter, more: bool) {
        let today = self.inv.zone().to_local(self.now_ms).days;
        let all = matches(self.inv, r, today);
        let fresh: Vec<&Match> = all
            .iter()
            .filter(|m| !r.shown.contains(&m.listing.id))
            .take(self.inv.office.options_per_message.clamp(1, 5))
            .collect();
        if fresh.is_empty() {
            let text = if more {
                "That's everything that fits right now. Want to widen the area, budget or move-in date?".to_owned()
            } else {
                format!(
                    "No listings match {} right now. Could you stretch the budget, add an area, or take a different size?",
                    summary(r)
                )
            };
            if !more {
                r.options.clear();
            }
            self.reply(text);
            return;
        }
        r.options = fresh.iter().map(|m| m.listing.id.clone()).collect();
        r.shown.extend(r.options.iter().cloned());
        let lines: Vec<String> = fresh
            .iter()
            .enumerate()
            .map(|(i, m)| format!("{}) {}: {}", i + 1, m.listing.title, m.reasons))
            .collect();
        let n = lines.len();
        let pick = if n == 1 {
            "Reply TOUR 1 to see it".to_owned()
        } else {
            format!("Reply TOUR 1-{n} to see one")
        };
        let head = if fresh.iter().all(|m| m.over_budget) {
            "Closest I have, a bit over budget:"
        } else if more {
            "More options:"
        } else {
            "Top picks for you:"
        };
        self.reply(format!(
            "{head}\n{}\n{pick}, or MORE for others.",
            lines.join("\n")
        ));
    }

    fn tour(&mut self, r: &mut Renter, lower: &str) {
        let n = r.options.len();
        let pick = ordinal_choice(lower, n).or_else(|| {
            // By name: a distinctive word of a title.
            let hits: Vec<usize> = (0..n)
                .filter(|&i| {
                    self.inv.listing(&r.options[i]).is_some_and(|l| {
                        words(&l.title).iter().any(|w| {
                            w.len() > 3
                                && !["apartments", "street", "avenue"].contains(&w.as_str())
                                && contains_word(lower, w)
                        })
                    })
                })
                .collect();
            if hits.len() == 1 {
                Some(hits[0])
            } else if n == 1 {
                Some(0)
            } else {
                None
            }
        });
        let Some(i) = pick else {
            self.reply(format!(
                "Happy to set up a tour! Which one - {}?",
                (1..=n)
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            return;
        };
        let Some(l) = self.inv.listing(&r.options[i]).cloned() else {
            return;
        };
        if !r.tour_requests.contains(&l.id) {
            r.tour_requests.push(l.id.clone());
        }
        self.actions.push(Action::Alert {
            kind: "tour-request",
            message: format!(
                "Renter {} wants to tour {} ({}, {}) - {}/mo, landlord {}",
                r.number,
                l.title,
                l.address,
                l.neighborhood,
                dollars(l.rent.into()),
                l.landlord
            ),
            fields: vec![
                ("renter".into(), r.number.clone()),
                ("listing".into(), l.id.clone()),
                ("title".into(), l.title.clone()),
                (
                    "address".into(),
                    format!("{}, {}", l.address, l.neighborhood),
                ),
                ("landlord".into(), l.landlord.clone()),
                ("rent".into(), l.rent.to_string()),
                ("requirements".into(), summary(r)),
            ],
        });
        self.reply(format!(
            "Great choice! I've asked our team to set up a tour of {} ({}, {}). A locator will text or call you shortly to confirm a time.",
            l.title, l.address, l.neighborhood
        ));
    }
}

/// A bare small number answering "how many bedrooms".
fn bare_count(lower: &str) -> Option<u8> {
    let w = words(lower);
    if w.len() > 3 {
        return None;
    }
    w.iter()
        .find_map(|x| {
            x.parse::<u8>()
                .ok()
                .or_else(|| agenthost_sdk::text::word_number(x).map(|n| n as u8))
        })
        .filter(|&n| n <= 6)
}

fn next_question(r: &Renter) -> Option<(Field, &'static str)> {
    if r.bedrooms.is_none() {
        Some((Field::Bedrooms, "How many bedrooms do you need?"))
    } else if r.budget.is_none() {
        Some((Field::Budget, "What's your max monthly rent?"))
    } else if r.areas.is_none() {
        Some((
            Field::Area,
            "Which neighborhoods? (e.g. Hyde Park, Pilsen, Logan Square, Rogers Park - or 'anywhere')",
        ))
    } else if r.move_in.is_none() {
        Some((Field::MoveIn, "When do you want to move in?"))
    } else if r.pets.is_none() {
        Some((Field::Pets, "Any pets? (cats, dogs or none)"))
    } else {
        None
    }
}

/// "2 BR, up to $1,200, Hyde Park, move-in Dec 1, cats".
pub fn summary(r: &Renter) -> String {
    let mut s = Vec::new();
    if let Some(b) = r.bedrooms {
        s.push(if b == 0 {
            "studio".to_owned()
        } else {
            format!("{b}+ BR")
        });
    }
    if let Some(b) = r.budget {
        s.push(format!("up to {}", dollars(b.into())));
    }
    match &r.areas {
        Some(a) if a.is_empty() => s.push("any area".into()),
        Some(a) => s.push(a.join("/")),
        None => {}
    }
    if let Some(m) = r.move_in.as_deref().and_then(time::parse_iso_date) {
        s.push(format!("move-in {}", time::month_day(m)));
    }
    if let Some(p) = r.pets {
        s.push(crate::parse::describe_pets(&p).to_owned());
    }
    s.join(", ")
}
