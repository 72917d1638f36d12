use crate::agent::{Action, Customer, Office, Turn, read};
use crate::rates::sample;
use agenthost_sdk::time::MS_PER_HOUR;

fn office() -> Office {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../../config/plugins/insurance.json")).unwrap();
    serde_json::from_value(v["office"].clone()).unwrap()
}

struct Convo {
    c: Customer,
    now: u64,
}

impl Convo {
    fn new() -> Self {
        Convo {
            c: Customer {
                number: "+15550004444".into(),
                ..Customer::default()
            },
            now: 1_800_000_000_000,
        }
    }
    fn say(&mut self, body: &str) -> (String, Vec<Action>) {
        let (o, r) = (office(), sample());
        let mut t = Turn::new(&o, &r, self.now);
        t.on_message(&mut self.c, body, "c1");
        (texts(&t.actions), t.actions)
    }
    fn followup(&mut self) -> (String, Vec<Action>) {
        let (o, r) = (office(), sample());
        let mut t = Turn::new(&o, &r, self.now);
        t.on_followup(&mut self.c);
        (texts(&t.actions), t.actions)
    }
}

fn texts(actions: &[Action]) -> String {
    let v: Vec<String> = actions
        .iter()
        .filter_map(|a| {
            if let Action::Reply(s) = a {
                Some(s.clone())
            } else {
                None
            }
        })
        .collect();
    for s in &v {
        assert_eq!(
            agenthost_sdk::text::fit_sms(s),
            *s,
            "fits in 3 segments uncut: {} chars",
            s.len()
        );
    }
    v.join("\n")
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
    // (11.50 + 30 x 0.32) x 1.00 x 1.00 = 21.10
    assert!(t.starts_with("Your quote: $21.10/mo ($253.20/yr) for $30,000 personal property, $500 deductible, with $100,000 liability"), "{t}");
    assert!(
        t.contains(
            "($11.50 Chicago base + 30 x $0.32) x 1.00 deductible x 1.00 for 0 claims = $21.10"
        ),
        "{t}"
    );
    assert!(actions.iter().any(|a| matches!(a, Action::Schedule { key, delay_ms, .. } if key == "followup:+15550004444" && *delay_ms == 24 * MS_PER_HOUR)));
    let q = sample().quote("60615", 30_000, 500, 0).unwrap();
    assert_eq!(c.c.monthly_cents, Some(q.monthly_cents));
    // Changing one input re-quotes.
    let (t, _) = c.say("make the deductible 1000");
    // (11.50 + 9.60) x 0.88 = 18.568 -> 18.57
    assert!(t.starts_with("Your quote: $18.57/mo"), "{t}");
}

#[test]
fn all_at_once() {
    let mut c = Convo::new();
    let (t, _) = c.say("zip 60411, $50,000 coverage, $1000 deductible, 1 claim");
    // (9.75 + 50 x 0.32) x 0.88 x 1.20 = 27.192 -> 27.19
    assert!(t.starts_with("Your quote: $27.19/mo ($326.28/yr)"), "{t}");
}

#[test]
fn reading_numbers_by_context() {
    let d = [250, 500, 1000];
    let g = read("60615, 25k, 250 deductible, 2 claims", None, &d);
    assert_eq!(
        (g.zip.as_deref(), g.coverage, g.deductible, g.claims),
        (Some("60615"), Some(25_000), Some(250), Some(2))
    );
    assert_eq!(
        read("1000", Some(crate::agent::Field::Deductible), &d).deductible,
        Some(1000)
    );
    assert_eq!(
        read("$40,000", Some(crate::agent::Field::Coverage), &d).coverage,
        Some(40_000)
    );
    assert_eq!(
        read("2", Some(crate::agent::Field::Claims), &d).claims,
        Some(2)
    );
    assert_eq!(
        read("never had one", Some(crate::agent::Field::Claims), &d).claims,
        Some(0)
    );
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
    c.now += 24 * MS_PER_HOUR;
    assert!(c.followup().0.is_empty());
}

#[test]
fn handoff_on_request_with_the_quote() {
    let mut c = Convo::new();
    c.say("60615 30k 500 deductible no claims");
    let (t, actions) = c.say("I want to buy");
    assert!(
        t.contains("licensed agent") && t.contains("$21.10/mo"),
        "{t}"
    );
    assert!(actions.iter().any(|a| matches!(a, Action::Handoff { fields, .. } if fields.contains(&("monthly_quote".into(), "$21.10".into())))));
    assert!(actions.contains(&Action::Cancel("followup:+15550004444".into())));
    let (t, _) = c.say("hello?");
    assert!(t.is_empty(), "one notice a day: {t}");
}

#[test]
fn out_of_state_and_range_checks() {
    let mut c = Convo::new();
    let (t, _) = c.say("46320");
    assert!(t.contains("only write policies in Illinois"), "{t}");
    c.say("60615");
    let (t, _) = c.say("$500,000");
    assert!(t.contains("between $10,000 and $100,000"), "{t}");
    let (t, _) = c.say("STOP");
    assert!(t.is_empty());
}
