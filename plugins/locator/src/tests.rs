use crate::agent::{Action, Inventory, Renter, Turn, matches};
use agenthost_sdk::time::{MS_PER_HOUR, days_from_civil, parse_iso_date};

fn inv() -> Inventory {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../../config/plugins/locator.json")).unwrap();
    Inventory::from_json(&v["office"].to_string(), &v["listings"].to_string()).unwrap()
}

fn now() -> u64 {
    days_from_civil(2026, 11, 22) as u64 * 86_400_000 + 13 * MS_PER_HOUR
}

fn say(inv: &Inventory, r: &mut Renter, body: &str) -> (String, Vec<Action>) {
    let mut t = Turn::new(inv, now());
    t.on_message(r, body, "c1");
    let text: Vec<String> = t
        .actions
        .iter()
        .filter_map(|a| {
            if let Action::Reply(s) = a {
                Some(s.clone())
            } else {
                None
            }
        })
        .collect();
    for s in &text {
        assert!(agenthost_sdk::text::segments(&agenthost_sdk::text::fit_sms(s)) <= 3);
        assert!(
            agenthost_sdk::text::fit_sms(s) == *s,
            "reply fits without cutting: {s}"
        );
    }
    (text.join("\n"), t.actions)
}

fn renter() -> Renter {
    Renter {
        number: "+15550009999".into(),
        ..Renter::default()
    }
}

#[test]
fn gathers_requirements_one_at_a_time_and_options_satisfy_them() {
    let inv = inv();
    let mut r = renter();
    let (t, _) = say(&inv, &mut r, "hi, looking for an apartment");
    assert!(
        t.starts_with("Hi! This is Windy City Apartment Locators")
            && t.contains("How many bedrooms"),
        "{t}"
    );
    let (t, _) = say(&inv, &mut r, "2");
    assert!(t.contains("max monthly rent"), "{t}");
    let (t, _) = say(&inv, &mut r, "1200");
    assert!(t.contains("Which neighborhoods"), "{t}");
    let (t, _) = say(&inv, &mut r, "hyde park or bridgeport");
    assert!(t.contains("move in"), "{t}");
    let (t, _) = say(&inv, &mut r, "Dec 1");
    assert!(t.contains("pets"), "{t}");
    let (t, _) = say(&inv, &mut r, "I have a cat");
    assert_eq!(r.bedrooms, Some(2));
    assert_eq!(r.budget, Some(1200));
    assert_eq!(
        r.areas.as_deref(),
        Some(&["Hyde Park".to_owned(), "Bridgeport".to_owned()][..])
    );
    assert_eq!(r.move_in.as_deref(), Some("2026-12-01"));
    assert!(t.starts_with("Top picks for you:"), "{t}");
    assert!(t.contains("1) Harper Court Flats: $1,150 - under your $1,200 budget; 2 BR; cats OK; in Hyde Park; avail Dec 1"), "{t}");
    assert!(t.contains("2) Halsted Street Flat: $1,195 - under your $1,200 budget; 2 BR; cats OK; in Bridgeport; avail Nov 25"), "{t}");
    assert_eq!(r.options.len(), 2);
    for id in &r.options {
        let l = inv.listing(id).unwrap();
        assert!(l.bedrooms >= 2 && l.rent as f64 <= 1200.0 * 1.05 && l.cats);
        assert!(["Hyde Park", "Bridgeport"].contains(&l.neighborhood.as_str()));
    }
    let (t, actions) = say(&inv, &mut r, "can I tour the first one?");
    assert!(
        t.contains("tour of Harper Court Flats (5400 S Harper Ave, Hyde Park)"),
        "{t}"
    );
    assert!(actions.iter().any(|a| matches!(a, Action::Alert { kind: "tour-request", fields, .. } if fields.contains(&("listing".into(), "hp-harper-5400".into())))));
}

#[test]
fn everything_in_one_message_and_over_budget_is_flagged() {
    let inv = inv();
    let mut r = renter();
    let (t, _) = say(
        &inv,
        &mut r,
        "1 bedroom in rogers park or uptown under $1,250, moving jan 1, no pets",
    );
    assert!(t.contains("Top picks"), "{t}");
    assert!(
        t.contains("Sheridan Lakeview: $1,025 - under your $1,250 budget; 1 BR; in Rogers Park"),
        "{t}"
    );
    // $1,295 is 3.6% over $1,250: inside the 5% allowance, flagged.
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
    let inv = inv();
    let today = days_from_civil(2026, 11, 22);
    for (br, budget, cats, dogs) in [
        (0, 900, false, false),
        (1, 1100, true, false),
        (2, 1400, false, true),
        (3, 2000, true, true),
    ] {
        let r = Renter {
            bedrooms: Some(br),
            budget: Some(budget),
            areas: Some(vec![]),
            pets: Some(crate::parse::Pets { cats, dogs }),
            move_in: Some("2026-12-15".into()),
            ..renter()
        };
        let ms = matches(&inv, &r, today);
        assert!(!ms.is_empty());
        for m in &ms {
            let l = m.listing;
            assert!(l.bedrooms >= br);
            assert!(u64::from(l.rent) * 100 <= u64::from(budget) * 105);
            assert!(!cats || l.cats);
            assert!(!dogs || l.dogs);
        }
        // Within-budget listings rank above flagged ones.
        let first_over = ms.iter().position(|m| m.over_budget).unwrap_or(ms.len());
        assert!(ms[first_over..].iter().all(|m| m.over_budget));
        assert!(
            ms.iter()
                .all(|m| parse_iso_date(&m.listing.available_from).is_some())
        );
    }
}

#[test]
fn start_over_more_and_help() {
    let inv = inv();
    let mut r = renter();
    say(&inv, &mut r, "2 bed anywhere up to 2000 asap, dog");
    assert_eq!(r.options.len(), 3);
    let (t, _) = say(&inv, &mut r, "more");
    assert!(t.starts_with("More options:"), "{t}");
    while !say(&inv, &mut r, "more").0.starts_with("That's everything") {}
    // The last options sent can still be toured by name.
    let title = inv.listing(&r.options[0]).unwrap().title.clone();
    let (t, _) = say(&inv, &mut r, &format!("can I see {title}"));
    assert!(t.contains(&format!("tour of {title}")), "{t}");
    let (t, _) = say(&inv, &mut r, "start over");
    assert!(t.contains("Starting over"), "{t}");
    assert_eq!(r.bedrooms, None);
    assert!(r.options.is_empty());
    let (t, _) = say(&inv, &mut r, "HELP");
    assert!(t.contains("STOP"), "{t}");
    let (t, _) = say(&inv, &mut r, "STOP");
    assert!(t.is_empty());
}
