//! Reading a lead's message: what they tell us about themselves (bedrooms, budget, move-in,
//! pets) and what they ask for. Deterministic; the LLM is never needed to understand the
//! common cases.

use agenthost_sdk::text::{contains_any_word, contains_word, word_number, words};
use agenthost_sdk::time;

pub use agenthost_sdk::lead::{Pets, bedrooms, budget, is_question, pets};
use serde::{Deserialize, Serialize};

/// A qualification question the agent asked and is waiting on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Bedrooms,
    MoveIn,
    Budget,
    Pets,
}

/// The lead's pets, as the Landlord Rep says them back.
pub fn describe_pets(p: &Pets) -> &'static str {
    match (p.cats, p.dogs) {
        (false, false) => "no pets",
        (true, false) => "a cat",
        (false, true) => "a dog",
        (true, true) => "a cat and a dog",
    }
}

/// Facts a message states about the lead.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub bedrooms: Option<u8>,
    pub budget: Option<u32>,
    /// Day number of the move-in date.
    pub move_in: Option<i64>,
    pub pets: Option<Pets>,
}

impl Facts {
    pub fn any(&self) -> bool {
        self.bedrooms.is_some()
            || self.budget.is_some()
            || self.move_in.is_some()
            || self.pets.is_some()
    }
}

/// Move-in date in `text`. Without `asked`, only with a moving cue ("move in Dec 1").
pub fn move_in(text: &str, asked: bool, today: i64) -> Option<i64> {
    let lower = text.to_ascii_lowercase();
    let cue = contains_any_word(
        &lower,
        &[
            "move",
            "moving",
            "move in",
            "movein",
            "lease start",
            "start date",
            "need it by",
            "need a place by",
        ],
    );
    if asked || cue {
        time::parse_date_phrase(&lower, today)
    } else {
        None
    }
}

/// Everything `text` says about the lead, reading bare answers as answers to `asked`.
pub fn facts(text: &str, asked: Option<Field>, today: i64) -> Facts {
    let mut f = Facts {
        bedrooms: bedrooms(text),
        budget: budget(text, asked == Some(Field::Budget)),
        move_in: move_in(text, asked == Some(Field::MoveIn), today),
        pets: pets(text, asked == Some(Field::Pets)),
    };
    if asked == Some(Field::Bedrooms) && f.bedrooms.is_none() {
        let w = words(text);
        if w.len() <= 3
            && let Some(n) = w
                .iter()
                .find_map(|x| x.parse::<u64>().ok().or_else(|| word_number(x)))
            && n <= 6
        {
            f.bedrooms = Some(n as u8);
        }
    }
    // "2" answering bedrooms is not also a budget or a date.
    if f.bedrooms.is_some() && asked == Some(Field::Bedrooms) {
        f.budget = f.budget.filter(|&b| b >= 300);
    }
    f
}

/// What a message asks about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Topics {
    pub availability: bool,
    pub rent: bool,
    pub pets: bool,
    pub parking: bool,
    pub location: bool,
    pub amenities: bool,
}

impl Topics {
    pub fn any(&self) -> bool {
        self.availability
            || self.rent
            || self.pets
            || self.parking
            || self.location
            || self.amenities
    }
}

pub fn topics(text: &str) -> Topics {
    let lower = text.to_ascii_lowercase();
    Topics {
        availability: contains_any_word(
            &lower,
            &[
                "available",
                "availability",
                "vacancy",
                "vacancies",
                "vacant",
                "openings",
                "units",
                "unit",
                "apartments",
                "what do you have",
                "anything",
                "for rent",
                "listings",
                "open",
            ],
        ),
        rent: contains_any_word(
            &lower,
            &[
                "rent",
                "price",
                "prices",
                "pricing",
                "how much",
                "cost",
                "costs",
                "rates",
                "per month",
            ],
        ),
        pets: contains_any_word(
            &lower,
            &[
                "pet",
                "pets",
                "cat",
                "cats",
                "dog",
                "dogs",
                "animal",
                "animals",
                "pet friendly",
                "puppy",
            ],
        ),
        parking: contains_any_word(
            &lower,
            &[
                "parking",
                "park my",
                "garage",
                "car",
                "cars",
                "parking spot",
            ],
        ),
        location: contains_any_word(
            &lower,
            &[
                "where",
                "address",
                "location",
                "located",
                "neighborhood",
                "directions",
                "area",
            ],
        ),
        amenities: contains_any_word(
            &lower,
            &[
                "amenities",
                "amenity",
                "laundry",
                "washer",
                "dryer",
                "gym",
                "fitness",
                "dishwasher",
                "air",
                "ac",
                "heat",
                "utilities",
                "included",
                "elevator",
                "storage",
            ],
        ),
    }
}

/// What the message is, beyond questions and facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Carrier opt-out keyword; the host suppresses replies.
    Stop,
    /// Opted back in.
    Start,
    Help,
    /// Wants a person, or is upset.
    Handoff {
        upset: bool,
    },
    /// Not interested / found a place.
    Done,
    /// Says the application documents are in.
    DocsSubmitted,
    /// Asks how to apply.
    Apply,
    Tour,
    CancelTour,
    /// Wants other tour times.
    Reschedule,
    Greeting,
    Thanks,
    /// A plain "no" (the caller decides whether it closes the lead).
    No,
    Other,
}

const UPSET: &[&str] = &[
    "ridiculous",
    "terrible",
    "complaint",
    "complain",
    "scam",
    "scammer",
    "fraud",
    "awful",
    "horrible",
    "unacceptable",
    "angry",
    "furious",
    "worst",
    "lawyer",
    "sue",
    "report you",
    "wtf",
    "damn",
    "hell",
    "shit",
    "fuck",
    "fucking",
    "crap",
    "bs",
    "bullshit",
    "pissed",
    "leave me alone",
    "harassment",
    "harassing",
];

const WANTS_PERSON: &[&str] = &[
    "human",
    "agent",
    "person",
    "real person",
    "someone",
    "somebody",
    "call me",
    "give me a call",
    "speak to",
    "talk to",
    "representative",
    "manager",
    "leasing agent",
    "phone call",
];

pub fn intent(text: &str) -> Intent {
    let trimmed = text.trim();
    let upper = trimmed.to_ascii_uppercase();
    let bare = upper.trim_end_matches(['.', '!']);
    if ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"].contains(&bare) {
        return Intent::Stop;
    }
    if ["START", "UNSTOP"].contains(&bare) {
        return Intent::Start;
    }
    if ["HELP", "INFO"].contains(&bare) {
        return Intent::Help;
    }
    let lower = trimmed.to_ascii_lowercase();
    if contains_any_word(&lower, UPSET) {
        return Intent::Handoff { upset: true };
    }
    if contains_any_word(&lower, WANTS_PERSON) {
        return Intent::Handoff { upset: false };
    }
    if contains_any_word(
        &lower,
        &[
            "not interested",
            "no longer interested",
            "found a place",
            "found an apartment",
            "found another place",
            "found something",
            "no longer looking",
            "not looking",
            "no thanks",
            "no thank you",
            "stop texting",
            "dont text",
            "signed a lease",
            "signed elsewhere",
            "already rented",
            "went with another",
            "remove me",
            "take me off",
        ],
    ) || lower.contains("don't text")
    {
        return Intent::Done;
    }
    let submitted = contains_any_word(
        &lower,
        &[
            "submitted",
            "uploaded",
            "sent",
            "turned in",
            "finished",
            "completed",
            "done with",
            "filled out",
            "emailed",
            "dropped off",
            "applied",
        ],
    );
    let docs = contains_any_word(
        &lower,
        &[
            "document",
            "documents",
            "docs",
            "application",
            "app",
            "paperwork",
            "pay stubs",
            "paystubs",
            "pay stub",
            "id",
            "proof of income",
            "bank statements",
        ],
    );
    if submitted && (docs || contains_word(&lower, "applied")) {
        return Intent::DocsSubmitted;
    }
    if contains_any_word(
        &lower,
        &[
            "cancel my tour",
            "cancel the tour",
            "cancel tour",
            "cancel the showing",
            "cant make it",
        ],
    ) || lower.contains("can't make it")
    {
        return Intent::CancelTour;
    }
    if contains_any_word(
        &lower,
        &[
            "reschedule",
            "different time",
            "another time",
            "change the time",
            "change my tour",
            "other times",
        ],
    ) {
        return Intent::Reschedule;
    }
    if contains_any_word(&lower, &["apply", "application", "applying"]) {
        return Intent::Apply;
    }
    if contains_any_word(
        &lower,
        &[
            "tour",
            "tours",
            "showing",
            "see it",
            "see the",
            "see one",
            "see a",
            "visit",
            "view",
            "viewing",
            "look at",
            "come by",
            "stop by",
            "schedule",
            "appointment",
            "check it out",
            "come see",
            "want to see",
            "like to see",
            "can i see",
            "could i see",
        ],
    ) {
        return Intent::Tour;
    }
    let w = words(&lower);
    if w.len() <= 3
        && w.first()
            .is_some_and(|x| matches!(x.as_str(), "no" | "nope" | "nah"))
    {
        return Intent::No;
    }
    if w.len() <= 4
        && w.iter().all(|x| {
            matches!(
                x.as_str(),
                "thanks"
                    | "thank"
                    | "you"
                    | "ok"
                    | "okay"
                    | "thx"
                    | "ty"
                    | "great"
                    | "cool"
                    | "bye"
                    | "k"
                    | "sounds"
                    | "good"
            )
        })
        && !w.is_empty()
    {
        return Intent::Thanks;
    }
    if w.len() <= 4
        && w.iter().any(|x| {
            matches!(
                x.as_str(),
                "hi" | "hello"
                    | "hey"
                    | "interested"
                    | "yo"
                    | "good"
                    | "morning"
                    | "afternoon"
                    | "evening"
            )
        })
    {
        return Intent::Greeting;
    }
    Intent::Other
}

/// Which offered tour slot a reply picks: "1", "#2", "option 3", "the first", "2pm",
/// "tuesday". `labels[i]` = (weekday 0-6, minute of day) of slot i.
pub fn slot_choice(text: &str, slots: &[(u32, u32)]) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    let w = words(&lower);
    let n = slots.len();
    if n == 0 {
        return None;
    }
    let ordinal = |x: &str| -> Option<usize> {
        Some(match x {
            "1" | "first" | "one" | "1st" => 0,
            "2" | "second" | "two" | "2nd" => 1,
            "3" | "third" | "three" | "3rd" => 2,
            "4" | "fourth" | "four" | "4th" => 3,
            "last" => n - 1,
            _ => return None,
        })
    };
    if w.len() <= 4
        && let Some(i) = w.iter().find_map(|x| ordinal(x))
        && i < n
        && !lower.contains(':')
        && !contains_any_word(&lower, &["am", "pm"])
    {
        return Some(i);
    }
    let time = time_of_day(&lower);
    let day = weekday_named(&lower);
    let matches: Vec<usize> = (0..n)
        .filter(|&i| time.is_none_or(|t| slots[i].1 == t) && day.is_none_or(|d| slots[i].0 == d))
        .collect();
    if (time.is_some() || day.is_some()) && matches.len() == 1 {
        return Some(matches[0]);
    }
    None
}

/// A time of day: "2pm", "2:30 pm", "10am", "14:00", "noon".
pub fn time_of_day(lower: &str) -> Option<u32> {
    if contains_word(lower, "noon") {
        return Some(12 * 60);
    }
    let b = lower.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'/')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let h: u32 = lower[start..i].parse().unwrap_or(99);
        let mut m = 0;
        let mut explicit_minutes = false;
        if i + 3 <= b.len()
            && b[i] == b':'
            && lower[i + 1..i + 3].bytes().all(|c| c.is_ascii_digit())
        {
            m = lower[i + 1..i + 3].parse().unwrap_or(0);
            i += 3;
            explicit_minutes = true;
        }
        let rest = lower[i..].trim_start();
        let pm = rest.starts_with("pm") || rest.starts_with("p.m");
        let am = rest.starts_with("am") || rest.starts_with("a.m");
        if h <= 12 && (pm || am) && m < 60 {
            let h24 = match (h, pm) {
                (12, false) => 0,
                (12, true) => 12,
                (h, true) => h + 12,
                (h, false) => h,
            };
            return Some(h24 * 60 + m);
        }
        if explicit_minutes && h < 24 && m < 60 {
            // "2:30" without am/pm: office hours are daytime, so 1-7 means afternoon.
            let h24 = if (1..=7).contains(&h) { h + 12 } else { h };
            return Some(h24 * 60 + m);
        }
    }
    None
}

/// A weekday named in the text (0 = Monday).
pub fn weekday_named(lower: &str) -> Option<u32> {
    const NAMES: [(&str, u32); 14] = [
        ("monday", 0),
        ("mon", 0),
        ("tuesday", 1),
        ("tue", 1),
        ("wednesday", 2),
        ("wed", 2),
        ("thursday", 3),
        ("thu", 3),
        ("friday", 4),
        ("fri", 4),
        ("saturday", 5),
        ("sat", 5),
        ("sunday", 6),
        ("sun", 6),
    ];
    NAMES
        .iter()
        .find(|(n, _)| contains_word(lower, n))
        .map(|&(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agenthost_sdk::time::{days_from_civil, iso_date};

    #[test]
    fn facts_are_read_from_free_text() {
        let today = days_from_civil(2026, 11, 22);
        let f = facts(
            "Looking for a 2br under $1,300, moving Dec 15, I have a cat",
            None,
            today,
        );
        assert_eq!(f.bedrooms, Some(2));
        assert_eq!(f.budget, Some(1300));
        assert_eq!(f.move_in.map(iso_date).as_deref(), Some("2026-12-15"));
        assert_eq!(
            f.pets,
            Some(Pets {
                cats: true,
                dogs: false
            })
        );
        assert_eq!(facts("2", Some(Field::Bedrooms), today).bedrooms, Some(2));
        assert_eq!(facts("two", Some(Field::Bedrooms), today).bedrooms, Some(2));
        assert_eq!(facts("1200", Some(Field::Budget), today).budget, Some(1200));
        assert_eq!(facts("1200", None, today).budget, None);
        assert_eq!(
            facts("no", Some(Field::Pets), today).pets,
            Some(Pets::default())
        );
        assert_eq!(facts("do you allow dogs?", None, today).pets, None);
        assert_eq!(
            facts("January 1st", Some(Field::MoveIn), today)
                .move_in
                .map(iso_date)
                .as_deref(),
            Some("2027-01-01")
        );
        assert_eq!(
            facts("what's at 7130 jeffery", None, today),
            Facts::default()
        );
        assert_eq!(facts("a 40 lb dog", Some(Field::Pets), today).budget, None);
        assert_eq!(facts("studio please", None, today).bedrooms, Some(0));
    }

    #[test]
    fn intents() {
        assert_eq!(intent("STOP"), Intent::Stop);
        assert_eq!(intent("help"), Intent::Help);
        assert_eq!(
            intent("can I talk to a real person"),
            Intent::Handoff { upset: false }
        );
        assert_eq!(
            intent("this is ridiculous"),
            Intent::Handoff { upset: true }
        );
        assert_eq!(intent("Not interested anymore"), Intent::Done);
        assert_eq!(intent("I found a place, thanks"), Intent::Done);
        assert_eq!(intent("I uploaded my documents"), Intent::DocsSubmitted);
        assert_eq!(
            intent("just submitted the application"),
            Intent::DocsSubmitted
        );
        assert_eq!(intent("how do I apply?"), Intent::Apply);
        assert_eq!(intent("can I tour it?"), Intent::Tour);
        assert_eq!(intent("no"), Intent::No);
        assert_eq!(intent("hi"), Intent::Greeting);
        assert_eq!(intent("Is there parking?"), Intent::Other);
    }

    #[test]
    fn slot_choices() {
        let slots = [(0, 600), (1, 780), (2, 990)];
        assert_eq!(slot_choice("1", &slots), Some(0));
        assert_eq!(slot_choice("#2", &slots), Some(1));
        assert_eq!(slot_choice("the third one please", &slots), Some(2));
        assert_eq!(slot_choice("1pm works", &slots), Some(1));
        assert_eq!(slot_choice("tuesday", &slots), Some(1));
        assert_eq!(slot_choice("4:30pm", &slots), Some(2));
        assert_eq!(slot_choice("3pm", &slots), None);
        assert_eq!(time_of_day("2:30"), Some(14 * 60 + 30));
        assert_eq!(time_of_day("10am"), Some(600));
    }
}
