//! What renters state by text, read the same way by every agent: what each number in a
//! message is (money, bedrooms, a dog's weight, a credit score, a ZIP, a street number, a
//! time...) from the words around it, and the facts built on that — budget ranges,
//! bedrooms, pets with their weight, a credit score, a name.

use crate::lang::Lexicon;
use crate::words::{Kind, Norm, Number};
use serde::{Deserialize, Serialize};

/// What a number in a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumKind {
    Date,
    Time,
    Bedrooms,
    Bathrooms,
    Pounds,
    SqFt,
    Credit,
    DayOfMonth,
    Street,
    Zip,
    Unit,
    Percent,
    Phone,
    /// "12 month lease", "5 years", "2 weeks".
    Duration,
    /// "2 dogs", "3 claims": a count of the noun after it.
    Count,
    Money,
    Plain,
}

fn next_word(norm: &Norm, i: usize) -> Option<&str> {
    norm.after(i, 1).first().map(|t| t.text.as_str())
}

fn prev_word(norm: &Norm, i: usize) -> Option<&str> {
    norm.before(i, 1).first().map(|t| t.text.as_str())
}

const STREET_WORDS: &[&str] = &[
    "n",
    "s",
    "e",
    "w",
    "north",
    "south",
    "east",
    "west",
    "st",
    "street",
    "ave",
    "avenue",
    "blvd",
    "boulevard",
    "rd",
    "road",
    "dr",
    "drive",
    "pl",
    "place",
    "hwy",
    "highway",
    "ln",
    "lane",
    "ct",
    "court",
    "pkwy",
    "parkway",
    "way",
];

/// What number token `i` of `norm` is, from its marks and the words around it.
pub fn classify(norm: &Norm, lex: &Lexicon, i: usize) -> NumKind {
    let Some(n) = norm.toks[i].num() else {
        return NumKind::Plain;
    };
    let suffix = n.suffix.as_str();
    let next = next_word(norm, i);
    let next_is = |cue: &str| next.is_some_and(|w| lex.is(w, cue));
    let suffix_is = |cue: &str| !suffix.is_empty() && lex.is(suffix, cue);
    if n.iso_date.is_some() || n.slash_date.is_some() {
        return NumKind::Date;
    }
    if n.value <= 24.0
        && !n.dollar
        && (n.minutes.is_some()
            || matches!(suffix, "am" | "pm")
            || matches!(next, Some("am" | "pm")))
    {
        return NumKind::Time;
    }
    if n.value <= 9.0 && (suffix_is("bedroom") || next_is("bedroom")) {
        return NumKind::Bedrooms;
    }
    if n.value <= 6.0 && (suffix_is("bathroom") || next_is("bathroom")) {
        return NumKind::Bathrooms;
    }
    if suffix_is("pounds") || next_is("pounds") {
        return NumKind::Pounds;
    }
    if suffix_is("sqft") || next_is("sqft") {
        return NumKind::SqFt;
    }
    let credit_near = norm.cue_near(i, lex.cues("credit"), 5, 3);
    if (300.0..=850.0).contains(&n.value) && !n.dollar && credit_near {
        return NumKind::Credit;
    }
    if matches!(suffix, "st" | "nd" | "rd" | "th") {
        let street = next.is_some_and(|w| STREET_WORDS.contains(&w));
        return if n.value <= 31.0 && !street {
            NumKind::DayOfMonth
        } else {
            NumKind::Street
        };
    }
    if matches!(
        prev_word(norm, i),
        Some("unit" | "apt" | "apartment" | "suite" | "ste")
    ) || (i >= 1 && norm.toks[i - 1].is_sym('#'))
    {
        return NumKind::Unit;
    }
    if norm.toks.get(i + 1).is_some_and(|t| t.is_sym('%'))
        || matches!(next, Some("percent" | "por"))
            && norm.toks.get(i + 2).is_some_and(|t| t.text == "ciento")
    {
        return NumKind::Percent;
    }
    if norm.toks.get(i + 1).is_some_and(|t| t.is_sym('%')) || next == Some("percent") {
        return NumKind::Percent;
    }
    // (773) 555-0142, 773-555-0142, 5550142
    if n.plain_digits >= 10
        || (n.plain_digits == 3
            && norm.toks.get(i + 1).and_then(Tok_num_digits) == Some(3)
            && norm.toks.get(i + 2).is_some_and(|t| t.is_sym('-')))
        || (n.plain_digits == 3
            && norm.toks.get(i + 1).is_some_and(|t| t.is_sym('-'))
            && norm.toks.get(i + 2).and_then(Tok_num_digits) == Some(4))
    {
        return NumKind::Phone;
    }
    if n.value <= 60.0
        && !n.dollar
        && (next_is("unit_month")
            || next_is("unit_year")
            || next_is("unit_week")
            || next_is("unit_day"))
        && !(next_is("unit_month") && norm.toks.get(i + 1).is_some_and(|t| t.is_sym('/')))
    {
        return NumKind::Duration;
    }
    if n.value <= 20.0
        && !n.dollar
        && next.is_some_and(|w| {
            lex.is(w, "dog")
                || lex.is(w, "cat")
                || lex.is(w, "pet")
                || w.starts_with("claim")
                || w.starts_with("reclamo")
                || w == "people"
                || w == "adults"
                || w == "kids"
                || w == "personas"
        })
    {
        return NumKind::Count;
    }
    if n.plain_digits == 5 && !n.dollar {
        return NumKind::Zip;
    }
    if (3..=5).contains(&n.plain_digits) && next.is_some_and(|w| STREET_WORDS.contains(&w)) {
        return NumKind::Street;
    }
    let money_near = norm.cue_near(i, lex.cues("money"), 4, 3)
        || norm.cue_near(i, lex.cues("per_month"), 1, 2)
        || norm.cue_near(i, lex.cues("under"), 3, 1)
        || norm.cue_near(i, lex.cues("under_after"), 1, 3)
        || norm.cue_near(i, lex.cues("fee_words"), 4, 3);
    // "around 1200": an amount of rent, by its size.
    let approx_amount = (3..=4).contains(&n.plain_digits)
        && (300.0..=20_000.0).contains(&n.value)
        && norm.cue_near(i, lex.cues("approx"), 2, 0);
    if n.dollar || n.thousands() || n.grouped || money_near || approx_amount {
        return NumKind::Money;
    }
    NumKind::Plain
}

#[allow(non_snake_case)]
fn Tok_num_digits(t: &crate::words::Tok) -> Option<usize> {
    t.num().map(|n| n.plain_digits)
}

/// A monthly budget: up to `max`, optionally from `min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    pub min: Option<u32>,
    pub max: u32,
    /// "around 1200": a soft limit.
    #[serde(default)]
    pub approx: bool,
}

/// Money amounts in `norm` as (token index, value, is the upper end of a range given with
/// its lower end), with ranges ("$1200-1400", "between 1k and 1.2k", "de 1200 a 1400").
fn money_values(norm: &Norm, lex: &Lexicon, bare_ok: bool) -> Vec<(usize, Option<f64>, f64)> {
    let toks = &norm.toks;
    let mut out = Vec::new();
    let kinds: Vec<Option<NumKind>> = (0..toks.len())
        .map(|i| toks[i].num().map(|_| classify(norm, lex, i)))
        .collect();
    let is_money = |i: usize| -> bool {
        let short_k = toks[i].num().is_some_and(|n| n.decimal && n.value < 20.0)
            && (norm.cue_near(i, lex.cues("under"), 3, 0)
                || norm.cue_near(i, lex.cues("money"), 4, 3));
        match kinds[i] {
            Some(NumKind::Money) => true,
            Some(NumKind::Plain) => bare_ok || short_k,
            _ => false,
        }
    };
    let mut i = 0;
    while i < toks.len() {
        let Some(a) = toks[i].num() else {
            i += 1;
            continue;
        };
        // A range: a [-|to|and|a|y] b.
        let joiner = toks
            .get(i + 1)
            .is_some_and(|t| t.is_sym('-') || (t.is_word() && lex.is(&t.text, "range_to")));
        if joiner
            && let Some(b) = toks.get(i + 2).and_then(|t| t.num())
            && matches!(
                kinds[i],
                Some(NumKind::Money | NumKind::Plain | NumKind::Zip)
            )
            && matches!(
                kinds[i + 2],
                Some(NumKind::Money | NumKind::Plain | NumKind::Zip)
            )
        {
            let mut lo = a.value;
            let hi = b.value;
            if b.thousands() && lo < 100.0 {
                lo *= 1000.0;
            } else if lo < 100.0 && hi >= 1000.0 && lo * 100.0 < hi {
                lo *= 100.0; // "12-1400"
            }
            let plausible = (300.0..=20_000.0).contains(&lo)
                && (300.0..=20_000.0).contains(&hi)
                && (3..=4).contains(&a.plain_digits.max(b.plain_digits));
            let either_money = is_money(i) || is_money(i + 2) || a.dollar || b.dollar || plausible;
            if lo < hi && either_money && (lo >= 200.0 || a.dollar) {
                out.push((i + 2, Some(lo), hi));
                i += 3;
                continue;
            }
        }
        if is_money(i) {
            out.push((i, None, a.value));
        }
        i += 1;
    }
    out
}

/// A rent budget stated in `norm`: "$1,200", "1.2k", "under 1300", "$1200-1400", "1k or
/// less", "twelve hundred a month", "hasta 1200". With `asked`, a bare number in a
/// plausible range counts too. Amounts about fees ("is the deposit $500?"), credit
/// scores, ZIPs, weights and sizes are not budgets. The last budget in the text wins
/// (corrections come last).
pub fn budget(norm: &Norm, lex: &Lexicon, asked: bool) -> Option<Budget> {
    let mut found = None;
    for (i, lo, hi) in money_values(norm, lex, asked) {
        if norm.cue_near(i, lex.cues("fee_words"), 4, 3)
            && !norm.cue_near(i, lex.cues("money"), 4, 3)
        {
            continue;
        }
        // "I make 3000 a month" is income, not a budget.
        if norm.cue_near(i, lex.cues("income_words"), 4, 2) {
            continue;
        }
        // "under 1.6", "1.2-1.4": thousands, written the short way.
        let short = hi < 20.0 && hi.fract() != 0.0;
        let v = if short {
            (hi * 1000.0).round()
        } else {
            hi.round()
        };
        let lo = lo.map(|l| if short && l < 20.0 { l * 1000.0 } else { l });
        if !(300.0..=20_000.0).contains(&v) {
            continue;
        }
        let over = lo.is_none()
            && norm.cue_near(i, lex.cues("over"), 3, 0)
            && !norm.cue_near(i, lex.cues("under"), 3, 0);
        if over {
            continue;
        }
        let approx = norm.cue_near(i, lex.cues("approx"), 3, 1);
        found = Some(Budget {
            min: lo.map(|l| l.round() as u32).filter(|&l| l >= 200),
            max: v as u32,
            approx,
        });
    }
    found
}

/// Bedrooms wanted: `min..=max` (a studio is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beds {
    pub min: u8,
    pub max: u8,
}

impl Beds {
    pub fn exact(n: u8) -> Beds {
        Beds { min: n, max: n }
    }

    pub fn contains(&self, n: u8) -> bool {
        (self.min..=self.max).contains(&n)
    }

    /// The one size wanted, when there is one.
    pub fn single(&self) -> Option<u8> {
        (self.min == self.max).then_some(self.min)
    }
}

/// Bedrooms stated in `norm`: "2br", "2 bedrooms", "two bed", "a 1 bedroom", "studio",
/// "studios", "2 or 3 bedrooms", "2+ bed", "at least 2 bedrooms", "dos recámaras". With
/// `asked`, a bare small number ("2") is the answer.
pub fn bedrooms(norm: &Norm, lex: &Lexicon, asked: bool) -> Option<Beds> {
    let toks = &norm.toks;
    let studio = lex.has(norm, "studio");
    let mut found: Option<Beds> = None;
    for i in 0..toks.len() {
        if toks[i].num().is_none() || classify(norm, lex, i) != NumKind::Bedrooms {
            continue;
        }
        let n = toks[i].num().map(|n| n.value as u8).unwrap_or(0);
        let mut beds = Beds::exact(n);
        // "2 or 3 bedrooms", "2-3 br"
        if i >= 2
            && let Some(a) = toks[i - 2].num()
            && (toks[i - 1].is_sym('-')
                || matches!(toks[i - 1].text.as_str(), "or" | "to" | "o" | "a"))
            && a.value < n as f64
            && a.value >= 0.0
        {
            beds.min = a.value as u8;
        }
        let plus = toks.get(i + 1).is_some_and(|t| t.is_sym('+'))
            || norm.cue_near(
                i,
                &["at least", "or more", "minimum", "al menos", "o mas"],
                3,
                4,
            );
        if plus {
            beds.max = 9;
        }
        if studio {
            beds.min = 0;
        }
        found = Some(beds);
    }
    if found.is_none() && studio {
        found = Some(Beds::exact(0));
    }
    if found.is_none() && asked && norm.len_words() <= 4 {
        let nums: Vec<&Number> = toks.iter().filter_map(|t| t.num()).collect();
        if let [n] = nums[..]
            && n.value.fract() == 0.0
            && (0.0..=6.0).contains(&n.value)
            && n.suffix.is_empty()
        {
            found = Some(Beds::exact(n.value as u8));
        }
    }
    found
}

/// The lead's pets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pets {
    pub cats: bool,
    pub dogs: bool,
    /// The heaviest dog's weight, when stated.
    pub dog_lbs: Option<u32>,
    /// How many pets, when stated.
    pub count: Option<u8>,
    /// A service or support animal (not a pet under fair-housing rules).
    pub service: bool,
}

impl Pets {
    pub fn none(&self) -> bool {
        !self.cats && !self.dogs && !self.service
    }
}

/// Pets stated in `norm`: "I have a cat", "2 dogs", "a 60-lb dog", "my 60 pound pit",
/// "no pets", "tengo un perro de 30 libras". A question about the policy ("do you allow
/// dogs?") states nothing about the lead unless it says whose pet it is or how heavy;
/// with `asked`, a bare "no"/"none" means no pets.
pub fn pets(norm: &Norm, lex: &Lexicon, asked: bool) -> Option<Pets> {
    if lex.has(norm, "no_pets") {
        return Some(Pets::default());
    }
    // A pet mentioned only after a negation ("I don't have a dog", "sin perro") is not
    // the lead's.
    let owned = |cue: &str| {
        lex.find_all(norm, cue).iter().any(|&(s, _)| {
            !lex.find_all(norm, "negation")
                .iter()
                .any(|&(_, e)| e < s && norm.gap(e, s) <= 3)
        })
    };
    let mentioned = |cue: &str| lex.has(norm, cue);
    let negated_only = (mentioned("cat") || mentioned("dog") || mentioned("pet"))
        && !owned("cat")
        && !owned("dog")
        && !owned("pet");
    if negated_only {
        return Some(Pets::default());
    }
    let cats = owned("cat");
    let dogs = owned("dog");
    let service = lex.has(norm, "service_animal");
    let mut weight = None;
    let mut count: Option<u8> = None;
    for i in 0..norm.toks.len() {
        match norm.toks[i].num().map(|_| classify(norm, lex, i)) {
            Some(NumKind::Pounds) => {
                let v = norm.toks[i].num().map(|n| n.value as u32).unwrap_or(0);
                if (1..=250).contains(&v) {
                    weight = Some(weight.map_or(v, |w: u32| w.max(v)));
                }
            }
            Some(NumKind::Count) => {
                let next = next_word(norm, i).unwrap_or("");
                if lex.is(next, "dog") || lex.is(next, "cat") || lex.is(next, "pet") {
                    let v = norm.toks[i].num().map(|n| n.value as u8).unwrap_or(0);
                    count = Some(count.unwrap_or(0) + v);
                }
            }
            _ => {}
        }
    }
    if cats || dogs || service || weight.is_some() {
        let question = norm.question_mark || starts_with_question(norm, lex);
        let own = lex.has(norm, "own");
        if !question || asked || own || weight.is_some() || count.is_some() {
            return Some(Pets {
                cats,
                dogs: dogs || (weight.is_some() && !cats),
                dog_lbs: weight,
                count,
                service,
            });
        }
        return None;
    }
    if asked {
        let first = norm.words().next().unwrap_or("");
        if lex.is(first, "no")
            || matches!(
                first,
                "none" | "nada" | "ninguna" | "ninguno" | "zero" | "0"
            )
        {
            return Some(Pets::default());
        }
    }
    None
}

/// True when the message opens like a question ("do you...", "is there...", "¿tienen...").
pub fn starts_with_question(norm: &Norm, lex: &Lexicon) -> bool {
    norm.toks
        .iter()
        .find(|t| !matches!(t.kind, Kind::Sym(_)))
        .is_some_and(|t| t.is_word() && lex.is(&t.text, "question"))
}

/// A question: a "?" or a question word first.
pub fn is_question(norm: &Norm, lex: &Lexicon) -> bool {
    norm.question_mark || starts_with_question(norm, lex)
}

/// A credit score stated in `norm` ("credit in the 700s", "my score is 640").
pub fn credit(norm: &Norm, lex: &Lexicon) -> Option<u32> {
    (0..norm.toks.len())
        .filter(|&i| norm.toks[i].num().is_some() && classify(norm, lex, i) == NumKind::Credit)
        .find_map(|i| norm.toks[i].num().map(|n| n.value as u32))
}

const NOT_NAMES: &[&str] = &[
    "looking",
    "interested",
    "calling",
    "texting",
    "trying",
    "just",
    "here",
    "not",
    "so",
    "very",
    "still",
    "a",
    "an",
    "the",
    "ready",
    "good",
    "fine",
    "ok",
    "okay",
    "sorry",
    "new",
    "moving",
    "wondering",
    "asking",
    "available",
    "free",
    "busy",
    "out",
    "in",
    "on",
    "at",
    "from",
    "with",
    "about",
    "going",
    "gonna",
    "tired",
    "done",
    "confused",
    "sure",
    "glad",
    "happy",
    "it",
    "is",
    "this",
    "that",
    "what",
    "who",
    "how",
    "ridiculous",
    "crazy",
    "insane",
    "great",
    "nice",
    "perfect",
    "late",
    "early",
    "working",
    "at",
    "interesada",
    "interesado",
    "buscando",
    "estudiante",
    "yo",
    "la",
    "el",
    "de",
    "una",
    "un",
    "no",
    "si",
    "tenant",
    "renter",
    "single",
    "married",
    "pregnant",
    "disabled",
    "retired",
    "unemployed",
    "employed",
    "approved",
    "section",
    "voucher",
    "english",
    "spanish",
];

/// A first name the lead gives ("my name is Keisha", "This is Marcus", "I'm Ana",
/// "me llamo Rosa"): a capitalised word right after an introduction at the start of the
/// message, or any word after "my name is".
pub fn name(raw: &str, lex: &Lexicon) -> Option<String> {
    let norm = Norm::new(raw, None);
    let raw_words: Vec<&str> = raw
        .split(|c: char| !(c.is_alphabetic() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    for cue in lex.cues("name_intro") {
        let Some((s, e)) = norm.find(cue) else {
            continue;
        };
        let explicit = cue.contains("name") || cue.contains("llamo") || cue.contains("nombre");
        let at_start = s == 0 || norm.toks[..s].iter().all(|t| lex.is(&t.text, "greeting"));
        if !explicit && !at_start {
            continue;
        }
        // The word after the cue, as written.
        let idx = norm.toks[..=e]
            .iter()
            .filter(|t| !matches!(t.kind, Kind::Sym(_)))
            .count();
        let Some(word) = raw_words.get(idx) else {
            continue;
        };
        let folded = crate::words::fold(word);
        let capitalised = word.chars().next().is_some_and(char::is_uppercase);
        if NOT_NAMES.contains(&folded.as_str())
            || !word.chars().all(char::is_alphabetic)
            || word.len() < 2
            || (!explicit && !capitalised)
        {
            continue;
        }
        let mut name: String = word.to_lowercase();
        if let Some(first) = name.get(0..1) {
            name = first.to_uppercase() + &name[1..];
        }
        return Some(name);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::tests::lexicon;

    fn n(s: &str) -> (Norm, Lexicon) {
        let lex = lexicon();
        (Norm::new(s, Some(&lex)), lex)
    }

    fn b(s: &str) -> Option<(Option<u32>, u32)> {
        let (norm, lex) = n(s);
        budget(&norm, &lex, false).map(|b| (b.min, b.max))
    }

    #[test]
    fn budgets() {
        assert_eq!(b("$1200-1400"), Some((Some(1200), 1400)));
        assert_eq!(b("between 1k and 1.2k"), Some((Some(1000), 1200)));
        assert_eq!(b("under 1k"), Some((None, 1000)));
        assert_eq!(b("$1,300 max"), Some((None, 1300)));
        assert_eq!(b("1300 a month"), Some((None, 1300)));
        assert_eq!(b("twelve hundred a month"), Some((None, 1200)));
        assert_eq!(b("credit in the 700s"), None);
        assert_eq!(b("my credit score is 650"), None);
        assert_eq!(b("is the deposit $500?"), None);
        assert_eq!(b("I have a 60 lb dog"), None);
        assert_eq!(b("what's at 7130 jeffery"), None);
        assert_eq!(b("zip 60615"), None);
        assert_eq!(b("budget is 1100"), Some((None, 1100)));
        assert_eq!(b("hasta 1200 al mes"), Some((None, 1200)));
        assert_eq!(b("entre 1000 y 1300"), Some((Some(1000), 1300)));
        assert_eq!(b("actually 1500 max"), Some((None, 1500)));
        assert_eq!(b("at least 1000"), None);
        let (norm, lex) = n("1200");
        assert_eq!(budget(&norm, &lex, true).map(|b| b.max), Some(1200));
        assert_eq!(budget(&norm, &lex, false), None);
    }

    #[test]
    fn beds() {
        let beds = |s: &str| {
            let (norm, lex) = n(s);
            bedrooms(&norm, &lex, false).map(|b| (b.min, b.max))
        };
        assert_eq!(
            beds("hey is the 2br on jeffery still avail??"),
            Some((2, 2))
        );
        assert_eq!(beds("and the 2 bdrm?"), Some((2, 2)));
        assert_eq!(beds("two bedroom"), Some((2, 2)));
        assert_eq!(beds("studios?"), Some((0, 0)));
        assert_eq!(beds("2 or 3 bedrooms"), Some((2, 3)));
        assert_eq!(beds("2+ bed"), Some((2, 9)));
        assert_eq!(beds("dos recamaras"), Some((2, 2)));
        assert_eq!(beds("studio or 1br"), Some((0, 1)));
        assert_eq!(beds("$1200"), None);
        let (norm, lex) = n("2");
        assert_eq!(bedrooms(&norm, &lex, true), Some(Beds::exact(2)));
    }

    #[test]
    fn pets_with_weight() {
        let p = |s: &str, asked: bool| {
            let (norm, lex) = n(s);
            pets(&norm, &lex, asked)
        };
        let dog = p("I have a 60-lb dog", false).unwrap();
        assert!(dog.dogs && !dog.cats);
        assert_eq!(dog.dog_lbs, Some(60));
        assert_eq!(p("do you allow dogs?", false), None);
        assert_eq!(
            p("can my 60 pound pit come?", false).unwrap().dog_lbs,
            Some(60)
        );
        assert_eq!(p("2 cats", false).unwrap().count, Some(2));
        assert_eq!(p("no pets", false), Some(Pets::default()));
        assert_eq!(p("nope", true), Some(Pets::default()));
        assert_eq!(
            p("tengo un perro de 30 libras", false).unwrap().dog_lbs,
            Some(30)
        );
        assert!(
            p("I have an emotional support animal", false)
                .unwrap()
                .service
        );
    }

    #[test]
    fn credit_names_and_kinds() {
        let (norm, lex) = n("credit in the 700s");
        assert_eq!(credit(&norm, &lex), Some(700));
        let lex = lexicon();
        assert_eq!(
            name("Hi, my name is keisha", &lex).as_deref(),
            Some("Keisha")
        );
        assert_eq!(
            name("This is Marcus, is the 2br open?", &lex).as_deref(),
            Some("Marcus")
        );
        assert_eq!(name("this is ridiculous", &lex), None);
        assert_eq!(name("I'm looking for a 2br", &lex), None);
        assert_eq!(name("Me llamo Rosa", &lex).as_deref(), Some("Rosa"));
        let (norm, lex) = n("call (773) 555-0142 or 15000 coverage, unit 2c, 5%");
        let kinds: Vec<NumKind> = (0..norm.toks.len())
            .filter(|&i| norm.toks[i].num().is_some())
            .map(|i| classify(&norm, &lex, i))
            .collect();
        assert_eq!(kinds[0], NumKind::Phone);
        assert!(kinds.contains(&NumKind::Percent), "{kinds:?}");
    }
}
