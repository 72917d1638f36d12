//! Insurance conversations, natively, checked against the rate table and coverage data.

use crate::agent::{Action, Customer, Turn};
use crate::data::{Config, sample};
use agenthost_sdk::lang::{Languages, SDK_LEXICONS};
use agenthost_sdk::text::dollars_cents;
use agenthost_sdk::time::{MS_PER_HOUR, days_from_civil};

pub(crate) fn langs() -> Languages {
    Languages::build(SDK_LEXICONS, super::PACKS, &[]).unwrap()
}

/// Tuesday 2026-11-24 10:00 CST: agents are in.
fn t0() -> u64 {
    days_from_civil(2026, 11, 24) as u64 * 86_400_000 + 16 * MS_PER_HOUR
}

struct Convo {
    cfg: Config,
    langs: Languages,
    c: Customer,
    now: u64,
    history: Vec<(bool, String)>,
}

impl Convo {
    fn new() -> Self {
        Convo {
            cfg: sample(),
            langs: langs(),
            c: Customer::new("+15550004444"),
            now: t0(),
            history: Vec::new(),
        }
    }

    fn texts(&mut self, actions: &[Action]) -> String {
        let v: Vec<String> = actions
            .iter()
            .filter_map(|a| match a {
                Action::Reply(s) => Some(s.clone()),
                Action::AskLlm { fallback, .. } => Some(fallback.clone()),
                _ => None,
            })
            .collect();
        for s in &v {
            let f = agenthost_sdk::text::fit_sms(s);
            assert!(
                !f.ends_with("...") && agenthost_sdk::text::segments(&f) <= 3,
                "cut or too long ({} chars): {s}",
                s.len()
            );
            assert!(
                !self.history.iter().any(|(i, h)| !i
                    && agenthost_sdk::compose::normalized(h)
                        == agenthost_sdk::compose::normalized(s)),
                "repeat: {s}"
            );
            self.history.push((false, s.clone()));
        }
        v.join("\n")
    }

    fn say(&mut self, body: &str) -> (String, Vec<Action>) {
        let mut t = Turn::new(&self.cfg, &self.langs, self.now);
        t.history = self.history.clone();
        t.on_message(&mut self.c, body, "c1");
        self.history.push((true, body.to_owned()));
        let actions = t.actions;
        (self.texts(&actions), actions)
    }

    fn followup(&mut self) -> (String, Vec<Action>) {
        let mut t = Turn::new(&self.cfg, &self.langs, self.now);
        t.on_followup(&mut self.c);
        let actions = t.actions;
        (self.texts(&actions), actions)
    }

    fn quote(&self, zip: &str, cov: u32, ded: u32, claims: u32) -> String {
        dollars_cents(
            self.cfg
                .rates
                .quote(zip, cov, ded, claims)
                .unwrap()
                .monthly_cents,
        )
    }
}

fn alert<'a>(actions: &'a [Action], kind: &str) -> Option<&'a Vec<(String, String)>> {
    actions.iter().find_map(|a| match a {
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
}

fn cov_text(key: &str) -> String {
    crate::data::sample_json()["coverage"][key]["en"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn collects_one_at_a_time_and_quotes_from_the_table() {
    let mut c = Convo::new();
    let (t, _) = c.say("hi I need renters insurance");
    assert!(t.contains("ZIP"), "{t}");
    let (t, _) = c.say("60615");
    assert!(t.contains("personal property"), "{t}");
    let (t, _) = c.say("30k");
    assert!(t.contains("deductible"), "{t}");
    let (t, _) = c.say("500");
    assert!(t.contains("claims"), "{t}");
    let (t, actions) = c.say("none");
    let q = c.quote("60615", 30_000, 500, 0);
    assert!(t.starts_with(&format!("Your quote: {q}/mo")), "{t}");
    assert!(
        t.contains("for $30,000 personal property, $500 deductible, with $100,000 liability"),
        "{t}"
    );
    assert!(
        t.contains("($11.50 Chicago base + 30 x $0.32) x 1.00 deductible x 1.00 for 0 claims"),
        "{t}"
    );
    assert!(actions.iter().any(|a| matches!(a, Action::Schedule { key, delay_ms, .. } if key == "followup:+15550004444" && *delay_ms == 24 * MS_PER_HOUR)));
    let (t, _) = c.say("make the deductible 1000");
    assert!(
        t.starts_with(&format!(
            "Your quote: {}/mo",
            c.quote("60615", 30_000, 1000, 0)
        )),
        "{t}"
    );
}

#[test]
fn numbers_are_read_by_their_context() {
    let mut c = Convo::new();
    c.say("60615");
    let (t, _) = c.say("I need $100,000 of liability");
    assert_eq!(
        c.c.coverage, None,
        "liability is not the property amount: {t}"
    );
    assert!(
        t.contains("Every quote includes $100,000 of liability")
            || t.contains("Liability is included at $100,000"),
        "{t}"
    );
    let (t, _) = c.say("15 grand");
    assert_eq!(c.c.coverage, Some(15_000), "{t}");
    let mut c = Convo::new();
    c.say("60411");
    c.say("15000");
    assert_eq!(
        (c.c.zip.as_deref(), c.c.coverage),
        (Some("60411"), Some(15_000))
    );
    let (t, _) = c.say("whichever is cheapest");
    assert_eq!(c.c.deductible, Some(1000), "{t}");
    assert!(t.contains("$1,000 deductible"), "{t}");
    let (t, _) = c.say("I had a claim in 2021");
    assert_eq!(c.c.claims, Some(1), "the year is not a count");
    assert!(
        t.starts_with(&format!(
            "Your quote: {}/mo",
            c.quote("60411", 15_000, 1000, 1)
        )),
        "{t}"
    );
    let mut c = Convo::new();
    let (t, actions) = c.say("60615, I want $300,000 of liability");
    assert!(t.contains("$100,000 of liability, not $300,000"), "{t}");
    assert!(
        alert(&actions, "question").is_some(),
        "a licensed agent prices it"
    );
}

#[test]
fn coverage_questions_are_answered_from_the_data() {
    let mut c = Convo::new();
    let (t, _) = c.say("what does renters insurance cover?");
    assert!(
        t.contains("covers your belongings") && t.contains("$100,000") && t.contains("$1,000"),
        "{t}"
    );
    let (t, _) = c.say("what's the difference between liability and property?");
    assert!(
        t.contains(&cov_text("liability")[..40])
            && t.contains(&cov_text("personal_property")[..40]),
        "{t}"
    );
    let (t, _) = c.say("does it cover theft?");
    assert!(t.contains("theft is covered"), "{t}");
    let (t, _) = c.say("what about flooding?");
    assert!(
        t.contains("flooding isn't covered") || t.contains("flooding is not covered"),
        "{t}"
    );
    let (t, actions) = c.say("is mold covered?");
    assert!(t.contains("mold"), "{t}");
    assert!(
        alert(&actions, "question").is_some(),
        "data silent: a person confirms"
    );
    let (t, _) = c.say("what counts as a claim");
    assert!(t.contains(&cov_text("claims")[..40]), "{t}");
}

#[test]
fn the_price_is_answered_before_anything_is_known() {
    let mut c = Convo::new();
    let (t, _) = c.say("how much is renters insurance?");
    let typical = c.quote("60600", 20_000, 500, 0);
    let low = c.quote("60600", 10_000, 1000, 0);
    assert!(
        t.contains(&format!("{typical}/mo")) && t.contains(&format!("{low}/mo")),
        "{t}"
    );
    assert!(t.contains("ZIP"), "then the first question: {t}");
}

#[test]
fn claims_are_handled_honestly() {
    let mut c = Convo::new();
    let (t, actions) = c.say("zip 60411, $50,000 coverage, $1000 deductible, 4 claims");
    assert!(
        t.contains("4 claims") && t.contains("licensed agent") && t.contains("isn't a no"),
        "{t}"
    );
    assert!(alert(&actions, "handoff").is_some());
    let mut c = Convo::new();
    let (t, _) = c.say("zip 60411, $50,000 coverage, $1000 deductible, 1 claim");
    assert!(
        t.contains(&format!(
            "Your quote: {}/mo",
            c.quote("60411", 50_000, 1000, 1)
        )),
        "{t}"
    );
    assert!(t.contains("x 1.20 for 1 claim ="), "{t}");
}

#[test]
fn follows_up_once_after_silence() {
    let mut c = Convo::new();
    c.say("60615");
    c.now += 24 * MS_PER_HOUR;
    let (t, _) = c.followup();
    assert!(
        t.contains("still want your renters insurance quote") && t.contains("personal property"),
        "{t}"
    );
    let (_, actions) = c.say("20000");
    assert!(
        !actions.iter().any(|a| matches!(a, Action::Schedule { .. })),
        "only one follow-up ever"
    );
}

#[test]
fn handoff_on_request_with_the_quote_and_an_eta() {
    let mut c = Convo::new();
    c.say("60615 30k 500 deductible no claims");
    let (t, actions) = c.say("I want to buy");
    let q = c.quote("60615", 30_000, 500, 0);
    assert!(
        t.contains("licensed agent")
            && t.contains(&format!("{q}/mo"))
            && t.contains("within about 15 minutes"),
        "{t}"
    );
    let f = alert(&actions, "handoff").unwrap();
    assert!(f.contains(&("monthly_quote".into(), q.clone())));
    assert!(actions.contains(&Action::Cancel("followup:+15550004444".into())));
    c.now += 2 * MS_PER_HOUR;
    let (t, _) = c.say("so when will someone call me?");
    assert!(
        t.contains("licensed") && (t.contains("within") || t.contains("by ")),
        "{t}"
    );
}

#[test]
fn spanish_identity_and_checks() {
    let mut c = Convo::new();
    c.say("hola");
    let (t, _) = c.say("no hablo ingles");
    assert_eq!(c.c.lang.as_deref(), Some("es"));
    assert!(t.contains("español"), "{t}");
    let (t, _) = c.say("60615, quiero asegurar 20 mil, deducible de 500, ningun reclamo");
    assert!(
        t.starts_with(&format!(
            "Su cotización: {}/mes",
            c.quote("60615", 20_000, 500, 0)
        )),
        "{t}"
    );
    let mut c = Convo::new();
    let (t, _) = c.say("is this a bot?");
    assert!(
        t.contains("automated assistant") && t.contains("not a person"),
        "{t}"
    );
    let (t, _) = c.say("46320");
    assert!(t.contains("Illinois"), "{t}");
    c.say("60615");
    let (t, _) = c.say("$500,000");
    assert!(
        t.contains("between $10,000 and $100,000") || t.contains("from $10,000 to $100,000"),
        "{t}"
    );
    for body in ["?", "thanks", "👍", "?", "ok"] {
        c.say(body);
    }
    let (t, _) = c.say("STOP");
    assert!(t.is_empty());
}
