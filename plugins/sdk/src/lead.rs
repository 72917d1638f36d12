//! Facts a lead states by text that every agent reads the same way: bedrooms, budget,
//! pets, and whether a message is a question. Each agent phrases them in its own words.

use crate::text::{amounts, contains_any_word, word_number, words};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pets {
    pub cats: bool,
    pub dogs: bool,
}

const BEDROOM_WORDS: &[&str] = &[
    "br", "bd", "bed", "beds", "bedroom", "bedrooms", "bdrm", "bdrms", "bedrm",
];

/// Bedrooms stated in `text`: "2 bedrooms", "2br", "two bed", "studio".
pub fn bedrooms(text: &str) -> Option<u8> {
    let w = words(text);
    if w.iter().any(|x| x == "studio" || x == "efficiency") {
        return Some(0);
    }
    for (i, word) in w.iter().enumerate() {
        // "2br" glued.
        if let Some(pos) = word.find(|c: char| c.is_ascii_alphabetic())
            && pos > 0
            && BEDROOM_WORDS.contains(&&word[pos..])
            && let Ok(n) = word[..pos].parse::<u8>()
        {
            return (n <= 6).then_some(n);
        }
        if let Some(next) = w.get(i + 1)
            && BEDROOM_WORDS.contains(&next.as_str())
        {
            let n = word
                .parse::<u64>()
                .ok()
                .or_else(|| word_number(word).filter(|&n| n > 0));
            if let Some(n) = n.filter(|&n| n <= 6) {
                return Some(n as u8);
            }
        }
    }
    None
}

/// A monthly budget stated in `text`: "$1,200", "1.2k", "under 1300", "budget is 1100".
/// With `asked`, a bare number in a plausible range counts too.
pub fn budget(text: &str, asked: bool) -> Option<u32> {
    let lower = text.to_ascii_lowercase();
    let cue = contains_any_word(
        &lower,
        &[
            "budget",
            "under",
            "max",
            "maximum",
            "up to",
            "below",
            "less than",
            "around",
            "about",
            "afford",
            "month",
            "mo",
            "monthly",
            "no more than",
        ],
    );
    for a in amounts(&lower) {
        let after = &lower[a.end..];
        // Not a size, a date, a bedroom count, a street number or a weight.
        let unit_after = after.trim_start();
        if unit_after.starts_with("sq")
            || unit_after.starts_with("lb")
            || unit_after.starts_with("pound")
            || after.starts_with('/') && !after.starts_with("/m")
            || lower[..a.start].ends_with('/')
            || words(unit_after)
                .first()
                .is_some_and(|w| BEDROOM_WORDS.contains(&w.as_str()))
        {
            continue;
        }
        let v = a.value.round();
        if !(300.0..=20_000.0).contains(&v) {
            continue;
        }
        if a.dollar || a.thousands || cue || (asked && a.plain_digits > 0 && a.plain_digits < 5) {
            return Some(v as u32);
        }
    }
    None
}

/// Pets stated in `text` ("I have a cat", "2 dogs", "no pets"). With `asked`, a bare "no"
/// or "none" means no pets. A question about the policy ("do you allow dogs?") states
/// nothing about the lead.
pub fn pets(text: &str, asked: bool) -> Option<Pets> {
    let lower = text.to_ascii_lowercase();
    if contains_any_word(
        &lower,
        &[
            "no pets",
            "no pet",
            "dont have pets",
            "dont have any pets",
            "no animals",
            "pet free",
        ],
    ) || lower.contains("don't have pets")
        || lower.contains("don't have any pets")
    {
        return Some(Pets::default());
    }
    let cats = contains_any_word(&lower, &["cat", "cats", "kitten", "kitty"]);
    let dogs = contains_any_word(&lower, &["dog", "dogs", "puppy", "pup"]);
    if cats || dogs {
        let question = is_question(&lower);
        if !question || asked {
            return Some(Pets { cats, dogs });
        }
        return None;
    }
    if asked {
        let w = words(&lower);
        if w.first()
            .is_some_and(|x| matches!(x.as_str(), "no" | "nope" | "none" | "nah"))
        {
            return Some(Pets::default());
        }
    }
    None
}

pub fn is_question(lower: &str) -> bool {
    lower.contains('?')
        || [
            "do ", "does ", "are ", "is ", "can ", "will ", "what", "how", "which", "any ",
        ]
        .iter()
        .any(|p| lower.trim_start().starts_with(p))
}
