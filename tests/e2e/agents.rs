//! The three agents end to end: scripted multi-message conversations through the real
//! host (webhook in, plugin, fake Twilio out), asserting the substance of the replies
//! against the shipped sample data in `config/plugins/`. Embedded setup only: these test
//! the agents, not the storage engines (the pipeline scenarios cover both setups).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::harness::*;

const LANDLORD: &str = "+15550003001";
const LOCATOR: &str = "+15550003002";
const INSURANCE: &str = "+15550003003";
const WAIT: Duration = Duration::from_secs(20);
const ROUTES: &str = "+15550003001=landlord-rep,+15550003002=locator,+15550003003=insurance";

static SID: AtomicU32 = AtomicU32::new(1);

fn sid() -> String {
    format!(
        "SMAGENTS{:026}",
        SID.fetch_add(1, Ordering::Relaxed) as u64 + u64::from(std::process::id()) * 1_000_000
    )
}

fn sample_config(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/plugins")
        .join(format!("{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A host serving the three agents with their sample config.
async fn agents_world() -> (World, Host) {
    let names = ["landlord-rep", "locator", "insurance"];
    let world = World::new(Setup::Embedded, &names.map(|n| (n, n))).await;
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/plugins");
    for n in names {
        std::fs::copy(
            config.join(format!("{n}.json")),
            world.plugins.path().join(format!("{n}.json")),
        )
        .unwrap();
    }
    let host = world.start(&[("AGENTHOST_ROUTES", ROUTES)]);
    host.ready().await;
    (world, host)
}

/// Texts `body` from `from` to `to` and returns the one reply.
async fn say(world: &World, host: &Host, from: &str, to: &str, body: &str) -> String {
    let before = world.twilio.requests().len();
    let (status, text) = host.post_sms(&sid(), from, to, body).await;
    assert_eq!(status, 200, "{text}");
    let sent = world.twilio.wait_for(before + 1, WAIT).await;
    assert!(
        sent.len() > before,
        "no reply to {body:?}; log:\n{}",
        host.logs()
    );
    let sms = &sent[before];
    assert_eq!(sms.to, from);
    assert_eq!(
        sms.from.as_deref(),
        Some(to),
        "replies from the number the lead texted"
    );
    assert!(
        sms.body.len() <= 459 && sms.body.is_ascii(),
        "within 3 GSM-7 segments: {}",
        sms.body
    );
    sms.body.clone()
}

/// Texts `body` and asserts nothing is sent back.
async fn say_unanswered(world: &World, host: &Host, from: &str, to: &str, body: &str) {
    let before = world.twilio.requests().len();
    let (status, _) = host.post_sms(&sid(), from, to, body).await;
    assert_eq!(status, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sent = world.twilio.requests();
    assert_eq!(
        sent.len(),
        before,
        "no reply expected to {body:?}, got {:?}",
        sent.get(before).map(|s| &s.body)
    );
}

fn dollars(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::from("$");
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landlord_rep_answers_from_building_data_and_books_a_tour() {
    let (world, host) = agents_world().await;
    let lead = "+15557650001";
    let data = sample_config("landlord-rep");
    let building = data["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "Jeffery Shores Apartments")
        .unwrap();

    let reply = say(
        &world,
        &host,
        lead,
        LANDLORD,
        "Hi! What's available at jeffery shores and how much is the rent?",
    )
    .await;
    assert!(
        reply.contains("Jeffery Shores Apartments") && reply.contains("7130 S Jeffery Blvd"),
        "{reply}"
    );
    for unit in building["units"].as_array().unwrap() {
        let rent = dollars(unit["rent"].as_u64().unwrap());
        let br = unit["bedrooms"].as_u64().unwrap();
        assert!(
            reply.contains(&format!("{br}BR/")) && reply.contains(&format!("{rent}/mo")),
            "unit {unit} missing from {reply}"
        );
    }
    // Its pet policy and parking, for the building in context.
    let reply = say(
        &world,
        &host,
        lead,
        LANDLORD,
        "do you allow dogs? and is there parking",
    )
    .await;
    assert!(
        reply.contains("dogs OK up to 40 lbs") && reply.contains("$50/mo"),
        "{reply}"
    );
    // Qualification remembered across messages.
    let reply = say(&world, &host, lead, LANDLORD, "2 bedrooms").await;
    assert!(reply.contains("move in"), "asks the next question: {reply}");
    // A tour: concrete slots, then book the second.
    let reply = say(&world, &host, lead, LANDLORD, "Can I schedule a tour?").await;
    assert!(
        reply.starts_with("Tour times at Jeffery Shores Apartments"),
        "{reply}"
    );
    let second = reply
        .split("2) ")
        .nth(1)
        .and_then(|s| s.split(" 3)").next())
        .map(|s| s.trim_end_matches('.').to_owned());
    let second = second.unwrap_or_else(|| panic!("no second slot in {reply}"));
    let reply = say(&world, &host, lead, LANDLORD, "2").await;
    assert!(
        reply.contains(&format!(
            "You're booked: tour of Jeffery Shores Apartments on {second}"
        )),
        "{reply}"
    );
    let reply = say(&world, &host, lead, LANDLORD, "thanks!").await;
    assert!(reply.contains(&second), "remembers the tour: {reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locator_options_match_stated_requirements() {
    let (world, host) = agents_world().await;
    let renter = "+15557650002";
    let data = sample_config("locator");
    let listings = data["listings"].as_array().unwrap();

    let reply = say(
        &world,
        &host,
        renter,
        LOCATOR,
        "Hi, I'm looking for an apartment",
    )
    .await;
    assert!(reply.contains("bedrooms"), "{reply}");
    say(&world, &host, renter, LOCATOR, "2 bedrooms").await;
    say(&world, &host, renter, LOCATOR, "$1,400").await;
    say(&world, &host, renter, LOCATOR, "south side").await;
    say(&world, &host, renter, LOCATOR, "moving January 1").await;
    let reply = say(&world, &host, renter, LOCATOR, "I have a dog").await;
    assert!(reply.starts_with("Top picks for you:"), "{reply}");
    let south = ["Hyde Park", "Bronzeville", "South Shore", "Bridgeport"];
    let mut titles = Vec::new();
    for line in reply
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
    {
        let title = line.split_once(") ").unwrap().1.split(':').next().unwrap();
        let l = listings
            .iter()
            .find(|l| l["title"] == title)
            .unwrap_or_else(|| panic!("{title} is not a listing"));
        assert!(l["bedrooms"].as_u64().unwrap() >= 2, "{l}");
        assert!(l["rent"].as_u64().unwrap() * 100 <= 1400 * 105, "{l}");
        assert_eq!(l["dogs"], true, "{l}");
        assert!(south.contains(&l["neighborhood"].as_str().unwrap()), "{l}");
        assert!(
            line.contains(&format!("in {}", l["neighborhood"].as_str().unwrap())),
            "{line}"
        );
        titles.push(title.to_owned());
    }
    assert!(!titles.is_empty() && titles.len() <= 3, "{reply}");
    let reply = say(
        &world,
        &host,
        renter,
        LOCATOR,
        "I'd like to tour the first one",
    )
    .await;
    assert!(reply.contains(&format!("tour of {}", titles[0])), "{reply}");
    let reply = say(&world, &host, renter, LOCATOR, "start over").await;
    assert!(reply.contains("How many bedrooms"), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insurance_quote_matches_the_rate_table() {
    let (world, host) = agents_world().await;
    let customer = "+15557650003";
    let config = sample_config("insurance");
    let rates = &config["rates"];
    // The documented formula, in integer cents and thousandths.
    let territory = rates["territories_by_zip_prefix"]["606"].as_str().unwrap();
    let base = (rates["base_monthly"][territory].as_f64().unwrap() * 100.0).round() as u64;
    let per_k = (rates["per_1k_coverage_monthly"].as_f64().unwrap() * 100.0).round() as u64;
    let ded = (rates["deductible_factors"]["1000"].as_f64().unwrap() * 1000.0).round() as u64;
    let claims = (rates["claims_factors"][1].as_f64().unwrap() * 1000.0).round() as u64;
    let monthly = ((base + 40 * per_k) * ded * claims + 500_000) / 1_000_000;
    let expected = format!("{}.{:02}/mo", dollars(monthly / 100), monthly % 100);

    let reply = say(
        &world,
        &host,
        customer,
        INSURANCE,
        "hi, I need renters insurance",
    )
    .await;
    assert!(reply.contains("ZIP"), "{reply}");
    let reply = say(&world, &host, customer, INSURANCE, "60615").await;
    assert!(reply.contains("personal property"), "{reply}");
    let reply = say(&world, &host, customer, INSURANCE, "$40,000").await;
    assert!(reply.contains("deductible"), "{reply}");
    let reply = say(&world, &host, customer, INSURANCE, "1000").await;
    assert!(reply.contains("claims"), "{reply}");
    let reply = say(&world, &host, customer, INSURANCE, "1").await;
    assert!(
        reply.starts_with(&format!("Your quote: {expected}")),
        "expected {expected}: {reply}"
    );
    assert!(
        reply.contains("$40,000 personal property") && reply.contains("$1,000 deductible"),
        "{reply}"
    );
    let reply = say(
        &world,
        &host,
        customer,
        INSURANCE,
        "I'd like to talk to an agent",
    )
    .await;
    assert!(reply.contains("licensed agent"), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_silences_every_agent() {
    let (world, host) = agents_world().await;
    let person = "+15557650004";
    for agent in [LANDLORD, LOCATOR, INSURANCE] {
        say(&world, &host, person, agent, "hi").await;
    }
    // STOP from the number opts it out of every agent (the host's rule), so one STOP to
    // any agent is enough: the host confirms it once, and no agent answers. Sent to each
    // anyway, as a person would: nothing more.
    let before = world.twilio.requests().len();
    let (status, _) = host.post_sms(&sid(), person, LANDLORD, "STOP").await;
    assert_eq!(status, 200);
    let sent = world
        .twilio
        .wait_for(before + 1, Duration::from_secs(10))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sent_now = world.twilio.requests();
    assert_eq!(sent_now.len(), before + 1, "{:?}", &sent_now[before..]);
    assert!(
        sent[before].body.contains("unsubscribed"),
        "{:?}",
        sent[before]
    );
    for agent in [LOCATOR, INSURANCE, LANDLORD] {
        say_unanswered(&world, &host, person, agent, "STOP").await;
    }
    for agent in [LANDLORD, LOCATOR, INSURANCE] {
        say_unanswered(
            &world,
            &host,
            person,
            agent,
            "what's available? 2 bedrooms, 60615",
        )
        .await;
    }
}
