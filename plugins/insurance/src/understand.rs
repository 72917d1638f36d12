//! Reading a customer's text for a renters-insurance quote: which number is the ZIP, the
//! amount of belongings to cover, a liability amount, the deductible or a count of past
//! claims — by the words next to it, its shape and the question asked ("15 grand" and
//! "15000" of stuff are coverage, not a ZIP; "$100,000 of liability" is not property);
//! "whichever is cheapest"; what it asks (what a policy covers, liability vs property,
//! a peril, claims, the deductible, the price...) and what it is (buy, a person, who is
//! this...).

use crate::data::{Config, PERILS};
use agenthost_sdk::lang::Languages;
use agenthost_sdk::read::{self, NumKind};
use agenthost_sdk::words::Norm;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Zip,
    Coverage,
    Deductible,
    Claims,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// What does renters insurance cover?
    Covers,
    Property,
    Liability,
    Medical,
    LossOfUse,
    /// Liability vs property.
    Difference,
    NotCovered,
    Deductible,
    Claims,
    Price,
    Valuation,
    Landlord,
    Languages,
    OfficeHours,
}

impl Topic {
    pub const ALL: [Topic; 14] = [
        Topic::Covers,
        Topic::Property,
        Topic::Liability,
        Topic::Medical,
        Topic::LossOfUse,
        Topic::Difference,
        Topic::NotCovered,
        Topic::Deductible,
        Topic::Claims,
        Topic::Price,
        Topic::Valuation,
        Topic::Landlord,
        Topic::Languages,
        Topic::OfficeHours,
    ];

    pub fn cue(self) -> &'static str {
        match self {
            Topic::Covers => "topic_covers",
            Topic::Property => "topic_property",
            Topic::Liability => "topic_liability",
            Topic::Medical => "topic_medical",
            Topic::LossOfUse => "topic_loss_of_use",
            Topic::Difference => "topic_difference",
            Topic::NotCovered => "topic_not_covered",
            Topic::Deductible => "topic_deductible",
            Topic::Claims => "topic_claims",
            Topic::Price => "topic_price",
            Topic::Valuation => "topic_valuation",
            Topic::Landlord => "topic_landlord",
            Topic::Languages => "topic_languages",
            Topic::OfficeHours => "topic_office_hours",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intents {
    /// Wants to buy / bind / sign up: a licensed agent finishes it.
    pub buy: bool,
    pub person: bool,
    pub upset: bool,
    pub bot: bool,
    pub who: bool,
    pub called_me: bool,
    pub when_contact: bool,
    pub phone_fails: bool,
    pub done: bool,
    pub thanks: bool,
    pub greeting: bool,
    pub yes: bool,
    pub no: bool,
    pub start_over: bool,
    /// "whichever is cheapest"
    pub cheapest: bool,
}

#[derive(Debug, Clone)]
pub struct Reading {
    pub norm: Norm,
    pub lang: String,
    pub lang_requested: bool,
    pub question: bool,
    pub topics: Vec<Topic>,
    /// Perils asked about ("does it cover theft?").
    pub perils: Vec<&'static str>,
    pub zip: Option<String>,
    /// Amount of belongings to cover, as stated (not yet rounded or range-checked).
    pub coverage: Option<u32>,
    /// A liability amount the customer names.
    pub liability: Option<u32>,
    pub deductible: Option<u32>,
    pub claims: Option<u32>,
    pub name: Option<String>,
    pub intents: Intents,
    pub empty: bool,
}

pub struct Context<'a> {
    pub lang: Option<&'a str>,
    pub asked: Option<Field>,
}

pub fn read(cfg: &Config, langs: &Languages, body: &str, cx: &Context) -> Reading {
    let lex = &langs.lex;
    let norm = Norm::new(body, Some(lex));
    let has = |c: &str| lex.has(&norm, c);
    let lang = langs.detect(&norm, cx.lang);
    let question = read::is_question(&norm, lex);
    let called_me = has("called_me");
    let who = has("who");
    let talk = has("talk_to") && !called_me;
    let bot = has("bot") && !talk;
    let words = norm.len_words();
    let first = norm.words().next().unwrap_or("");
    let mut i = Intents {
        buy: has("buy"),
        upset: has("upset"),
        phone_fails: has("phone_fails"),
        bot,
        who,
        called_me,
        when_contact: has("when_contact"),
        done: has("done"),
        thanks: has("thanks"),
        greeting: has("greeting"),
        start_over: has("start_over"),
        cheapest: has("cheapest"),
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
    topics.sort_by_key(|(s, _)| *s);
    let mut topics: Vec<Topic> = topics.into_iter().map(|(_, t)| t).collect();
    let perils: Vec<&'static str> = PERILS
        .iter()
        .copied()
        .filter(|p| lex.has(&norm, &format!("peril_{p}")))
        .collect();

    // ---- numbers, by their neighbours ----------------------------------------------
    let deductibles = cfg.rates.deductibles();
    let near = |k: usize, cue: &str, before: usize, after: usize| {
        norm.cue_near(k, lex.cues(cue), before, after)
    };
    let mut zip = None;
    let mut coverage = None;
    let mut liability = None;
    let mut deductible = None;
    let mut claims = None;
    // The cue a number belongs to: the nearest one after it ("100,000 in liability",
    // "20,000 for my stuff", "4 claims"), else the nearest before ("liability of 500k",
    // "deductible 500", "zip 60615").
    const GROUPS: [&str; 5] = [
        "claim_words",
        "liability_words",
        "medical_words",
        "deductible_words",
        "coverage_words",
    ];
    let bind = |k: usize| -> Option<&'static str> {
        let nearest = |after: bool| {
            GROUPS
                .iter()
                .filter_map(|g| {
                    lex.find_all(&norm, g)
                        .iter()
                        .filter_map(|&(s, e)| {
                            // After the number: right after it, or through a small
                            // word ("100,000 in liability", "20,000 for my stuff").
                            let linked = norm.gap(k, s) == 1
                                || norm.after(k, 1).first().is_some_and(|t| {
                                    matches!(
                                        t.text.as_str(),
                                        "in" | "of"
                                            | "for"
                                            | "on"
                                            | "worth"
                                            | "de"
                                            | "en"
                                            | "para"
                                            | "por"
                                    )
                                });
                            let same_clause =
                                s > k && !norm.toks[k + 1..s].iter().any(|t| t.is_sym(','));
                            if after && s > k && norm.gap(k, s) <= 3 && linked && same_clause {
                                Some(norm.gap(k, s))
                            } else if !after && e < k && norm.gap(e, k) <= 4 {
                                Some(norm.gap(e, k))
                            } else {
                                None
                            }
                        })
                        .min()
                        .map(|d| (d, *g))
                })
                .min()
                .map(|(_, g)| g)
        };
        nearest(true).or_else(|| nearest(false))
    };
    for k in 0..norm.toks.len() {
        let Some(n) = norm.toks[k].num() else {
            continue;
        };
        let kind = read::classify(&norm, lex, k);
        if matches!(
            kind,
            NumKind::Time
                | NumKind::Date
                | NumKind::Phone
                | NumKind::Percent
                | NumKind::Bedrooms
                | NumKind::SqFt
                | NumKind::Pounds
                | NumKind::Duration
        ) {
            continue;
        }
        let v = n.value.round() as u64;
        let text = norm.toks[k].text.clone();
        let year = (1990..=2100).contains(&v) && n.plain_digits == 4;
        let five = n.plain_digits == 5 && !n.dollar;
        let cue = bind(k);
        // A ZIP: said to be one, asked for, or a 5-digit number in the state that is
        // not a round amount of coverage or liability.
        let zip_like = five
            && (near(k, "zip_words", 3, 1)
                || cx.asked == Some(Field::Zip)
                || (cfg.rates.writes_zip(&text)
                    && !matches!(cue, Some("coverage_words" | "liability_words"))
                    && !v.is_multiple_of(1000)));
        if zip_like {
            zip = Some(text);
        } else if year {
            // "a claim in 2021": a year is not an amount or a count.
        } else if cue == Some("claim_words") && v <= 20 {
            claims = Some(v as u32);
        } else if cue == Some("liability_words") && v >= 1000 {
            liability = Some(v as u32);
        } else if cue == Some("medical_words") {
            // A medical-payments amount: not property.
        } else if cue == Some("deductible_words")
            && !n.thousands()
            && deductibles.contains(&(v as u32))
        {
            deductible = Some(v as u32);
        } else if five && cue.is_none() && !v.is_multiple_of(1000) {
            zip = Some(text);
        } else if n.thousands()
            || cue == Some("coverage_words")
            || v >= 5000
            || (cx.asked == Some(Field::Coverage) && v >= 1000)
        {
            if (1000..=1_000_000).contains(&v) {
                coverage = Some(v as u32);
            }
        } else if deductibles.contains(&(v as u32))
            && (cx.asked == Some(Field::Deductible) || n.dollar)
            && deductible.is_none()
        {
            deductible = Some(v as u32);
        } else if cx.asked == Some(Field::Claims) && v <= 20 {
            claims = Some(v as u32);
        }
    }
    if claims.is_none() {
        if has("no_claims")
            || (cx.asked == Some(Field::Claims)
                && (lex.is(first, "no")
                    || matches!(
                        first,
                        "none" | "zero" | "ninguno" | "ninguna" | "nunca" | "never"
                    )))
        {
            claims = Some(0);
        } else if has("one_claim") || singular_claim(&norm, lex) {
            claims = Some(1);
        }
    }
    if liability.is_some() && !topics.contains(&Topic::Liability) {
        topics.push(Topic::Liability);
    }
    // "how much" with every number given is the quote itself, not a price question.
    Reading {
        lang_requested: langs.requested(&norm).is_some(),
        lang,
        question,
        topics,
        perils,
        zip,
        coverage,
        liability,
        deductible,
        claims,
        name: read::name(body, lex),
        intents: i,
        empty: norm.len_words() == 0,
        norm,
    }
}

/// "a theft claim", "un reclamo de robo": one claim, said with an article.
fn singular_claim(norm: &Norm, lex: &agenthost_sdk::lang::Lexicon) -> bool {
    norm.toks.iter().enumerate().any(|(k, t)| {
        matches!(t.text.as_str(), "claim" | "reclamo")
            && norm
                .before(k, 3)
                .iter()
                .any(|b| matches!(b.text.as_str(), "a" | "one" | "un" | "una"))
            && !lex.has(norm, "topic_claims")
    })
}
