//! The LLM guard: the LLM proposes a reply, the deterministic core checks it. Every money
//! amount, date, quantity with a unit (lbs, sq ft, %, months, bedrooms, pets...) and phone
//! number the proposal states must be one the agent's data (or the deterministic reply,
//! or the lead's own words) states; a proposal that claims a booking, approval or
//! reservation the core did not make is refused too. A refused proposal is replaced by
//! the deterministic reply, and the refusal is logged (`llm-guard: replaced ...`, a warn
//! line the host's log and metrics see) and counted by the agent.
//!
//! Not checked: times of day (opening hours an LLM may know from the facts it was given
//! are not distinguishable from invented ones without more structure) and bare counts.

use crate::lang::Lexicon;
use crate::read::{NumKind, classify};
use crate::words::Norm;
use std::collections::BTreeSet;

/// What a text states that the guard checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// Money amounts in cents.
    pub money: BTreeSet<u64>,
    /// (month, day).
    pub dates: BTreeSet<(u32, u32)>,
    /// Numbers stated with a unit (x100, so 1.5 baths is 150).
    pub quantities: BTreeSet<u64>,
    /// Phone numbers (digits only).
    pub phones: BTreeSet<String>,
    /// Says something was booked, approved or reserved.
    pub commitment: bool,
}

fn cents(v: f64) -> u64 {
    (v * 100.0).round().max(0.0) as u64
}

/// The claims of `text`.
pub fn claims(text: &str, lex: &Lexicon, today: i64) -> Claims {
    let norm = Norm::new(text, Some(lex));
    let mut c = Claims::default();
    for i in 0..norm.toks.len() {
        let Some(n) = norm.toks[i].num() else {
            continue;
        };
        match classify(&norm, lex, i) {
            NumKind::Money => {
                c.money.insert(cents(n.value));
            }
            NumKind::Date => {
                if let Some((_, m, d)) = n.iso_date {
                    c.dates.insert((m, d));
                } else if let Some((m, d, _)) = n.slash_date {
                    c.dates.insert((m, d));
                }
            }
            NumKind::Bedrooms
            | NumKind::Bathrooms
            | NumKind::Pounds
            | NumKind::SqFt
            | NumKind::Percent
            | NumKind::Duration
            | NumKind::Credit => {
                c.quantities.insert(cents(n.value));
            }
            NumKind::Phone => {
                // Gather the digits of the whole number ("(773) 555-0142").
                let mut digits = String::new();
                for t in &norm.toks[i..] {
                    match t.num() {
                        Some(_) => {
                            digits.push_str(&t.text.replace(|ch: char| !ch.is_ascii_digit(), ""))
                        }
                        None if t.is_sym('-') => {}
                        None => break,
                    }
                    if digits.len() >= 10 {
                        break;
                    }
                }
                c.phones.insert(
                    digits
                        .chars()
                        .rev()
                        .take(7)
                        .collect::<String>()
                        .chars()
                        .rev()
                        .collect(),
                );
            }
            _ => {}
        }
    }
    let when = crate::when::when(&norm, lex, today);
    if let Some(day) = when.day
        && !when.asap
        && when.weekday.is_none()
        && !lex.has(&norm, "today")
        && !lex.has(&norm, "tomorrow")
    {
        let (_, m, d) = crate::time::civil_from_days(day);
        c.dates.insert((m, d));
    }
    c.commitment = lex.has(&norm, "commitment");
    c
}

/// What a reply may state: collected from the data, the deterministic reply and the
/// lead's words.
#[derive(Debug, Clone, Default)]
pub struct Allowed {
    pub claims: Claims,
    /// Every number found anywhere in the data, any unit.
    pub numbers: BTreeSet<u64>,
}

impl Allowed {
    /// Adds every number and ISO date in a JSON value (the agent's data).
    pub fn add_json(&mut self, value: &serde_json::Value) {
        match value {
            serde_json::Value::Number(n) => {
                if let Some(f) = n.as_f64() {
                    self.numbers.insert(cents(f));
                }
            }
            serde_json::Value::String(s) => {
                if let Some(d) = crate::time::parse_iso_date(s) {
                    let (_, m, dd) = crate::time::civil_from_days(d);
                    self.claims.dates.insert((m, dd));
                }
                // Numbers inside text ("2 blocks", "(773) 555-0142", "$45 per adult").
                let norm = Norm::new(s, None);
                let mut digits = String::new();
                for t in &norm.toks {
                    if let Some(n) = t.num() {
                        self.numbers.insert(cents(n.value));
                        digits.push_str(&t.text.replace(|ch: char| !ch.is_ascii_digit(), ""));
                    }
                }
                if digits.len() >= 7 {
                    self.claims
                        .phones
                        .insert(digits[digits.len() - 7..].to_owned());
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| self.add_json(v)),
            serde_json::Value::Object(o) => o.values().for_each(|v| self.add_json(v)),
            _ => {}
        }
    }

    /// Adds what `text` states (the deterministic reply, the lead's messages).
    pub fn add_text(&mut self, text: &str, lex: &Lexicon, today: i64) {
        let c = claims(text, lex, today);
        self.claims.money.extend(c.money.iter().copied());
        self.claims.dates.extend(c.dates.iter().copied());
        self.claims.quantities.extend(c.quantities.iter().copied());
        self.claims.phones.extend(c.phones.iter().cloned());
        self.numbers.extend(c.money);
        self.numbers.extend(c.quantities);
        self.claims.commitment |= c.commitment;
    }
}

/// The claims of `proposal` that `allowed` does not back, described for the log; empty
/// when the proposal may be sent.
pub fn unbacked(proposal: &str, allowed: &Allowed, lex: &Lexicon, today: i64) -> Vec<String> {
    let c = claims(proposal, lex, today);
    let mut out = Vec::new();
    for m in &c.money {
        if !allowed.claims.money.contains(m) && !allowed.numbers.contains(m) {
            out.push(format!("amount ${}.{:02}", m / 100, m % 100));
        }
    }
    for (m, d) in &c.dates {
        if !allowed.claims.dates.contains(&(*m, *d)) {
            out.push(format!("date {m}/{d}"));
        }
    }
    for q in &c.quantities {
        if !allowed.claims.quantities.contains(q) && !allowed.numbers.contains(q) {
            out.push(format!("quantity {}", *q as f64 / 100.0));
        }
    }
    for p in &c.phones {
        if !allowed.claims.phones.contains(p) {
            out.push(format!("phone ...{p}"));
        }
    }
    if c.commitment && !allowed.claims.commitment {
        out.push("a booking or approval the agent did not make".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex() -> Lexicon {
        let pack = r#"{"code": "en", "templates": {}}"#;
        let es = r#"{"code": "es", "templates": {}}"#;
        crate::lang::Languages::build(crate::lang::SDK_LEXICONS, &[pack, es], &[])
            .unwrap()
            .lex
    }

    #[test]
    fn wrong_numbers_are_caught_and_right_ones_pass() {
        let lex = lex();
        let today = crate::time::days_from_civil(2026, 11, 22);
        let mut allowed = Allowed::default();
        allowed.add_json(&serde_json::json!({
            "bedrooms": 2, "rent": 1275, "deposit": 500, "available_from": "2026-12-15",
            "dog_weight_limit_lbs": 40, "phone": "(773) 555-0142"
        }));
        let ok = "The 2BR is $1,275/mo, available Dec 15; dogs up to 40 lbs. Call (773) 555-0142.";
        assert!(
            unbacked(ok, &allowed, &lex, today).is_empty(),
            "{:?}",
            unbacked(ok, &allowed, &lex, today)
        );
        let bad = "The 2BR is just $999/mo, move in Dec 3, dogs up to 80 lbs, call 312-555-9999. You're booked!";
        let why = unbacked(bad, &allowed, &lex, today);
        assert!(why.contains(&"amount $999.00".to_owned()), "{why:?}");
        assert!(why.contains(&"date 12/3".to_owned()), "{why:?}");
        assert!(why.contains(&"quantity 80".to_owned()), "{why:?}");
        assert!(why.iter().any(|w| w.starts_with("phone")), "{why:?}");
        assert!(why.iter().any(|w| w.contains("booking")), "{why:?}");
        let times = "The rooftop deck at Jeffery Shores is open 7am to 10pm every day.";
        assert!(unbacked(times, &allowed, &lex, today).is_empty());
    }
}
