//! Locator conversations, natively, checked against the listing data.

use crate::agent::{Action, Renter, Turn};
use crate::data::{Inventory, matches, sample};
use agenthost_sdk::lang::{Languages, SDK_LEXICONS};
use agenthost_sdk::time::{MS_PER_HOUR, days_from_civil, parse_iso_date};

pub(crate) fn langs() -> Languages {
    Languages::build(SDK_LEXICONS, super::PACKS, &[]).unwrap()
}

/// Sunday 2026-11-22 07:00 CST.
fn now() -> u64 {
    days_from_civil(2026, 11, 22) as u64 * 86_400_000 + 13 * MS_PER_HOUR
}

struct Convo {
    inv: Inventory,
    langs: Languages,
    r: Renter,
    history: Vec<(bool, String)>,
    now: u64,
}

impl Convo {
    fn new() -> Self {
        Convo {
            inv: sample(),
            langs: langs(),
            r: Renter::new("+15550009999"),
            history: Vec::new(),
            now: now(),
        }
    }

    fn say(&mut self, body: &str) -> (String, Vec<Action>) {
        let mut t = Turn::new(&self.inv, &self.langs, self.now);
        t.history = self.history.clone();
        t.on_message(&mut self.r, body, "c1");
        let text: Vec<String> = t
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Reply(s) => Some(s.clone()),
                Action::AskLlm { fallback, .. } => Some(fallback.clone()),
                _ => None,
            })
            .collect();
        for s in &text {
            let fitted = agenthost_sdk::text::fit_sms(s);
            assert!(
                !fitted.ends_with("...") && agenthost_sdk::text::segments(&fitted) <= 3,
                "cut or too long: {s}"
            );
            assert!(
                !self.history.iter().any(|(i, h)| !i
                    && agenthost_sdk::compose::normalized(h)
                        == agenthost_sdk::compose::normalized(s)),
                "verbatim repeat: {s}"
            );
        }
        self.history.push((true, body.to_owned()));
        for s in &text {
            self.history.push((false, s.clone()));
        }
        (text.join("\n"), t.actions)
    }

    fn options(&self) -> Vec<&crate::data::Listing> {
        self.r
            .options
            .iter()
            .map(|id| self.inv.listing(id).unwrap())
            .collect()
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

fn field<'a>(f: &'a [(String, String)], k: &str) -> &'a str {
    f.iter()
        .find(|(x, _)| x == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[test]
fn gathers_requirements_one_at_a_time_and_options_satisfy_them() {
    let mut c = Convo::new();
    let (t, _) = c.say("hi, looking for an apartment");
    assert!(t.contains("How many bedrooms"), "{t}");
    let (t, _) = c.say("2");
    assert!(
        t.contains("max monthly rent") || t.contains("most you want to pay"),
        "{t}"
    );
    let (t, _) = c.say("1200");
    assert!(t.contains("neighborhoods") || t.contains("areas"), "{t}");
    let (t, _) = c.say("hyde park or bridgeport");
    assert!(t.contains("move"), "{t}");
    let (t, _) = c.say("Dec 1");
    assert!(t.contains("pets"), "{t}");
    let (t, _) = c.say("I have a cat");
    assert!(t.starts_with("Top picks for you:"), "{t}");
    assert!(t.contains("1) Harper Court Flats: $1,150 - under your $1,200 budget; 2 BR; cats OK; in Hyde Park; avail Dec 1"), "{t}");
    for l in c.options() {
        assert!(l.bedrooms >= 2 && l.rent as f64 <= 1200.0 * 1.05 && l.cats);
        assert!(["Hyde Park", "Bridgeport"].contains(&l.neighborhood.as_str()));
    }
}

#[test]
fn the_question_is_answered_first_and_areas_are_added_removed_replaced() {
    let mut c = Convo::new();
    let (t, _) = c.say("do you have anything in pilsen?");
    assert!(
        t.contains("Top picks") && t.contains("in Pilsen"),
        "answers first: {t}"
    );
    assert_eq!(c.r.areas.as_deref(), Some(&["Pilsen".to_owned()][..]));
    c.say("hyde park too");
    assert_eq!(
        c.r.areas.as_deref(),
        Some(&["Pilsen".to_owned(), "Hyde Park".to_owned()][..])
    );
    c.say("not pilsen");
    assert_eq!(c.r.areas.as_deref(), Some(&["Hyde Park".to_owned()][..]));
    c.say("actually just logan square");
    assert_eq!(c.r.areas.as_deref(), Some(&["Logan Square".to_owned()][..]));
    c.say("anywhere but uptown");
    let areas = c.r.areas.clone().unwrap();
    assert!(
        !areas.contains(&"Uptown".to_owned()) && areas.len() == 7,
        "{areas:?}"
    );
    let (t, _) = c.say("what areas do you cover?");
    for a in crate::data::sample_json()["office"]["areas"]
        .as_array()
        .unwrap()
    {
        assert!(t.contains(a["name"].as_str().unwrap()), "{t}");
    }
    let (t, _) = c.say("anything in lincoln park?");
    assert!(
        t.contains("don't cover Lincoln Park") || t.contains("Lincoln Park isn't one of our areas"),
        "{t}"
    );
}

#[test]
fn studios_dogs_by_weight_and_the_lake_are_hard_constraints() {
    let mut c = Convo::new();
    let (t, _) = c.say("any studios under 1000?");
    assert!(t.contains("Top picks"), "{t}");
    let opts = c.options();
    assert!(!opts.is_empty() && opts[0].bedrooms == 0, "{t}");
    assert!(opts.iter().all(|l| l.bedrooms <= 1), "{t}");
    let mut c = Convo::new();
    c.say("2 bedroom anywhere, up to 1800, moving jan 1");
    let (t, _) = c.say("I have a 60 lb dog");
    assert!(t.contains("Top picks"), "{t}");
    for l in c.options() {
        assert!(
            l.dogs && l.dog_weight_limit_lbs.is_none_or(|w| w >= 60),
            "{} for a 60-lb dog: {t}",
            l.title
        );
    }
    let (t, _) = c.say("near the lake please");
    for l in c.options() {
        assert!(
            l.landmark("lake").is_some_and(|m| m.walk_minutes <= 15),
            "{}: {t}",
            l.title
        );
    }
}

#[test]
fn budget_ranges_are_read_whole() {
    let mut c = Convo::new();
    c.say("2br $1200-1400 in bridgeport");
    let b = c.r.budget_range.unwrap();
    assert_eq!((b.min, b.max), (Some(1200), 1400));
}

#[test]
fn a_tour_request_goes_to_staff_with_the_preferred_time() {
    let mut c = Convo::new();
    c.say("2 bed anywhere up to 2000 asap, dog");
    assert!(!c.r.options.is_empty());
    let first = c.options()[0].clone();
    let (t, actions) = c.say("can I see the first one saturday morning?");
    let f = alert(&actions, "tour-request").expect("tour request alert");
    assert_eq!(field(f, "listing"), first.id);
    assert_eq!(field(f, "preferred_time"), "Sat Nov 28 (morning)");
    assert!(
        t.contains(&first.title) && t.contains("Sat Nov 28 (morning)"),
        "{t}"
    );
    // Without a time, the request goes at once and the time is asked for, then passed on.
    let (t, actions) = c.say("tour 2");
    let f = alert(&actions, "tour-request").expect("the request goes at once");
    assert_eq!(field(f, "preferred_time"), "not given");
    assert!(
        t.contains("tour of") && t.contains("What day and time"),
        "{t}"
    );
    let (t, actions) = c.say("tuesday at 6pm");
    let f = alert(&actions, "tour-request").expect("the time follows");
    assert_eq!(field(f, "preferred_time"), "Tue Nov 24, 6pm");
    assert!(t.contains("Tue Nov 24, 6pm"), "{t}");
}

#[test]
fn questions_about_an_option_come_from_its_listing() {
    let mut c = Convo::new();
    c.say("1 bedroom in rogers park or uptown under $1,250, moving jan 1, no pets");
    let opts: Vec<crate::data::Listing> = c.options().into_iter().cloned().collect();
    let (t, _) = c.say("does the first one include heat?");
    let heat = opts[0].utilities_included.contains(&"heat".to_owned());
    assert!(t.contains(&opts[0].title), "{t}");
    assert_eq!(
        t.contains("is included") || t.contains("includes heat"),
        heat,
        "{t}"
    );
    let (t, _) = c.say("laundry at #2?");
    assert!(t.contains(&format!("Laundry at {}", opts[1].title)), "{t}");
    let (t, _) = c.say("how far is 1 from the train");
    let lm = opts[0].landmark("transit").unwrap();
    assert!(
        t.contains(&format!("{}-minute walk from {}", lm.walk_minutes, lm.name)),
        "{t}"
    );
    let (t, _) = c.say("do you charge a fee?");
    assert!(t.contains("free for renters"), "{t}");
    let (t, _) = c.say("do they take section 8?");
    assert!(
        t.contains("Housing Choice Vouchers") && t.contains("illegal"),
        "{t}"
    );
}

#[test]
fn everything_in_one_message_and_over_budget_is_flagged() {
    let mut c = Convo::new();
    let (t, _) = c.say("1 bedroom in rogers park or uptown under $1,250, moving jan 1, no pets");
    assert!(
        t.contains("Sheridan Lakeview: $1,025 - under your $1,250 budget; 1 BR; in Rogers Park"),
        "{t}"
    );
    assert!(
        t.contains("Broadway Plaza: $1,295 - 4% over your $1,250 budget"),
        "{t}"
    );
    assert!(
        !t.contains("Sheridan Park Two-Bed"),
        "$1,695 is far over: {t}"
    );
}

#[test]
fn hard_filters_hold_for_every_match() {
    let inv = sample();
    let today = days_from_civil(2026, 11, 22);
    for (br, budget, cats, dogs, lbs) in [
        (0, 900, false, false, None),
        (1, 1100, true, false, None),
        (2, 1400, false, true, Some(55)),
        (3, 2000, true, true, None),
    ] {
        let r = Renter {
            beds: Some(agenthost_sdk::read::Beds::exact(br)),
            budget_range: Some(agenthost_sdk::read::Budget {
                min: None,
                max: budget,
                approx: false,
            }),
            areas: Some(vec![]),
            pets: Some(agenthost_sdk::read::Pets {
                cats,
                dogs,
                dog_lbs: lbs,
                ..Default::default()
            }),
            move_in: Some("2026-12-15".into()),
            ..Renter::new("+1")
        };
        let ms = matches(&inv, &r, today);
        assert!(!ms.is_empty(), "{br} {budget}");
        for m in &ms {
            let l = m.listing;
            assert!(l.bedrooms >= br && l.bedrooms <= br + 1);
            assert!(u64::from(l.rent) * 100 <= u64::from(budget) * 105);
            assert!(!cats || l.cats);
            assert!(
                !dogs
                    || (l.dogs
                        && lbs.is_none_or(|w| l.dog_weight_limit_lbs.is_none_or(|x| x >= w)))
            );
            assert!(parse_iso_date(&l.available_from).is_some());
        }
        let first_over = ms.iter().position(|m| m.over_budget).unwrap_or(ms.len());
        assert!(ms[first_over..].iter().all(|m| m.over_budget));
    }
}

#[test]
fn honest_identity_handoff_and_spanish() {
    let mut c = Convo::new();
    let (t, actions) = c.say("who is this? did you just call me?");
    assert!(
        t.contains("automated assistant") && t.contains("not a person"),
        "{t}"
    );
    assert!(alert(&actions, "handoff").is_none());
    let (t, actions) = c.say("ugh nobody answers your phone, this is ridiculous");
    assert!(!t.contains("(312) 555-0199"), "{t}");
    let f = alert(&actions, "handoff").unwrap();
    assert_eq!(field(f, "do_not_use"), "phone");
    assert!(
        t.contains("within about 20 minutes") || t.contains("by "),
        "an ETA: {t}"
    );
    let (t, _) = c.say("so when will someone call me?");
    assert!(t.contains("text you"), "{t}");
    let mut c = Convo::new();
    c.say("hi");
    let (t, _) = c.say("no hablo ingles");
    assert_eq!(c.r.lang.as_deref(), Some("es"));
    assert!(t.contains("español"), "{t}");
    let (t, _) = c.say("busco 2 recamaras en pilsen, hasta 1500");
    assert!(
        t.contains("Pilsen") && (t.contains("rec.") || t.contains("¿")),
        "{t}"
    );
}

#[test]
fn no_verbatim_repeats_and_start_over_more_help() {
    let mut c = Convo::new();
    c.say("2 bed anywhere up to 2000 asap, dog");
    for body in ["?", "thanks", "👍", "?", "ok", "thanks!", "👍", "?"] {
        let (t, _) = c.say(body);
        assert!(!t.is_empty(), "{body}");
    }
    let (t, _) = c.say("more");
    assert!(t.starts_with("More options:"), "{t}");
    let (t, _) = c.say("start over");
    assert!(t.contains("Starting over"), "{t}");
    assert!(c.r.beds.is_none() && c.r.options.is_empty());
    let (t, _) = c.say("HELP");
    assert!(t.contains("STOP"), "{t}");
    let (t, _) = c.say("STOP");
    assert!(t.is_empty());
}

#[test]
fn several_options_at_once_are_each_answered_from_their_listing() {
    use agenthost_sdk::text::dollars;
    let mut c = Convo::new();
    c.say("1br in rogers park under 1400, move dec 1, no pets");
    let opts: Vec<crate::data::Listing> = c.options().into_iter().cloned().collect();
    assert!(opts.len() >= 2, "two options to compare");

    // "which of those" asks about each option shown.
    let (r, _) = c.say("which of those allows dogs");
    for l in &opts {
        assert!(r.contains(&format!("Pets at {}", l.title)), "{r}");
        match (l.dogs, l.dog_weight_limit_lbs) {
            (true, Some(w)) => assert!(r.contains(&format!("up to {w} lbs")), "{r}"),
            (true, None) => {}
            (false, _) => assert!(
                r.contains(&format!("Pets at {}: cats OK; no dogs", l.title))
                    || r.contains(&format!("Pets at {}: no cats; no dogs", l.title)),
                "{r}"
            ),
        }
    }
    // Option numbers coordinated: each summary line, from the data.
    let (r, _) = c.say("whats the difference between 1 and 2");
    for l in &opts[..2] {
        assert!(
            r.contains(&l.title)
                && r.contains(&l.address)
                && r.contains(&format!("{}/mo", dollars(l.rent.into())))
                && r.contains(&format!("{} sq ft", l.sqft)),
            "{r}"
        );
    }
    // Which is cheaper: the lower rent of the two named.
    let (r, _) = c.say("which is cheaper, 1 or 2?");
    let low = opts[..2].iter().min_by_key(|l| l.rent).unwrap();
    assert!(
        r.contains(&low.title) && r.contains(&dollars(low.rent.into())),
        "{r}"
    );
    let high = opts[..2].iter().max_by_key(|l| l.rent).unwrap();
    assert!(!r.contains(&high.title) || high.rent == low.rent, "{r}");

    // "which one is cheaper" before any option was shown: the options, then the answer.
    let mut c = Convo::new();
    c.say("2br in hyde park or bronzeville under 1400");
    c.say("asap");
    let (r, _) = c.say("which one is cheaper");
    let shown: Vec<crate::data::Listing> = c.options().into_iter().cloned().collect();
    assert!(shown.len() >= 2, "{r}");
    let low = shown.iter().min_by_key(|l| l.rent).unwrap();
    assert!(
        r.contains("1) ")
            && r.contains(&format!(
                "{} is the least expensive, at {}/mo",
                low.title,
                dollars(low.rent.into())
            )),
        "{r}"
    );
}

#[test]
fn no_maximum_rent_is_an_answer_and_a_text_we_cannot_read_still_gets_a_reply() {
    let mut c = Convo::new();
    c.say("studio");
    let (r, _) = c.say("no limit");
    assert!(
        r.contains("no max rent") && !r.contains("max monthly rent"),
        "{r}"
    );
    assert!(c.r.budget_open && c.r.budget_range.is_none());
    // Options then ignore rent entirely.
    c.say("anywhere");
    c.say("december");
    let (r, _) = c.say("no pets");
    assert!(r.contains("1) "), "{r}");

    // A text that answers nothing: a reply that says so and asks again in other words.
    let mut c = Convo::new();
    let (first, _) = c.say("studio");
    let (r, _) = c.say("lol idk");
    assert!(r.starts_with("Sorry, I"), "{r}");
    assert!(r.contains('?') && r != first, "{r}");
    // Something else answered: the question passed over is asked again in its other
    // wording; while the renter asks their own questions, none is added.
    let mut c = Convo::new();
    let (first, _) = c.say("studio");
    let (r, _) = c.say("december");
    assert!(r.contains("Dec 1") && r.contains("per month?"), "{r}");
    assert!(first.contains("max monthly rent?"), "{first}");
    let mut c = Convo::new();
    c.say("studio");
    let (r, _) = c.say("do you charge a fee?");
    assert!(!r.contains('?'), "{r}");
}
