//! The three agents as renters text them, through the real binary (webhook in, plugin,
//! fake Twilio out; alerts read from storage), one conversation per kind of problem the
//! agents had: the question asked goes unanswered, common questions without an answer,
//! constraints dropped, numbers misread, one-shot scheduling, silent or wrong handoffs, no
//! Spanish, robotic repetition — plus the LLM guard against a fake OpenAI-compatible
//! server that returns wrong numbers, and a config that does not validate. Every fact a
//! reply must state is read from `config/plugins/*.json` here, never written twice.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use agenthost_storage::AlertRow;

use crate::harness::*;

const LANDLORD: &str = "+15550004001";
const LOCATOR: &str = "+15550004002";
const INSURANCE: &str = "+15550004003";
const ROUTES: &str = "+15550004001=landlord-rep,+15550004002=locator,+15550004003=insurance";
const WAIT: Duration = Duration::from_secs(20);
const AGENTS: [&str; 3] = ["landlord-rep", "locator", "insurance"];

static SID: AtomicU32 = AtomicU32::new(1);

fn sid() -> String {
    format!(
        "SMCONV{:028}",
        SID.fetch_add(1, Ordering::Relaxed) as u64 + u64::from(std::process::id()) * 1_000_000
    )
}

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/plugins")
}

fn data(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(config_dir().join(format!("{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
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

fn cents(c: u64) -> String {
    format!("{}.{:02}", dollars(c / 100), c % 100)
}

/// "9am", "6pm", "10:30am" from "HH:MM", as the agents write clocks.
fn clock(hhmm: &str) -> String {
    let (h, m) = hhmm.split_once(':').unwrap();
    let (h, m): (u32, u32) = (h.parse().unwrap(), m.parse().unwrap());
    let suffix = if h < 12 { "am" } else { "pm" };
    let h12 = if h % 12 == 0 { 12 } else { h % 12 };
    if m == 0 {
        format!("{h12}{suffix}")
    } else {
        format!("{h12}:{m:02}{suffix}")
    }
}

struct Agents {
    world: World,
    host: Host,
}

/// A host serving the three agents with their sample data, optionally with an LLM and
/// extra environment.
async fn agents(extra: &[(&str, String)]) -> Agents {
    let world = World::new(Setup::Embedded, &AGENTS.map(|n| (n, n))).await;
    for n in AGENTS {
        std::fs::copy(
            config_dir().join(format!("{n}.json")),
            world.plugins.path().join(format!("{n}.json")),
        )
        .unwrap();
    }
    let mut env: Vec<(&str, &str)> = vec![("AGENTHOST_ROUTES", ROUTES)];
    env.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
    let host = world.start(&env);
    host.ready().await;
    Agents { world, host }
}

impl Agents {
    /// Texts `body` from `from` to agent `to`; the one reply, checked to be a real SMS
    /// (within three segments, never cut with "...").
    async fn say(&self, from: &str, to: &str, body: &str) -> String {
        let before = self.world.twilio.requests().len();
        let (status, text) = self.host.post_sms(&sid(), from, to, body).await;
        assert_eq!(status, 200, "{text}");
        let sent = self.world.twilio.wait_for(before + 1, WAIT).await;
        assert!(
            sent.len() > before,
            "no reply to {body:?}; log:\n{}",
            self.host.logs()
        );
        let sms = &sent[before];
        assert_eq!(sms.to, from);
        assert!(
            !sms.body.ends_with("..."),
            "a reply is composed to fit, never cut: {}",
            sms.body
        );
        assert!(
            sms.body.chars().count() <= 459,
            "within 3 GSM-7 segments ({} chars): {}",
            sms.body.chars().count(),
            sms.body
        );
        sms.body.clone()
    }

    /// Texts `body` after a handoff: the host paused the agent for this lead, so the text
    /// waits for staff (shown as `held_for_staff` in the console) and nothing is sent.
    async fn held(&self, from: &str, to: &str, body: &str) {
        let before = self.world.twilio.requests().len();
        let (status, text) = self.host.post_sms(&sid(), from, to, body).await;
        assert_eq!(status, 200, "{text}");
        let path = format!("/admin/conversations/{}", console_id(to, from));
        let held = eventually(WAIT, || async {
            let (_, t) = self.host.admin(reqwest::Method::GET, &path, None).await;
            t["messages"]
                .as_array()?
                .iter()
                .any(|m| m["body"] == body && m["outcome"] == "held_for_staff")
                .then_some(())
        })
        .await;
        assert!(
            held.is_some(),
            "{body:?} not held for staff; log:\n{}",
            self.host.logs()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            self.world.twilio.requests().len(),
            before,
            "the agent waits for staff"
        );
    }

    /// A person gives the conversation back to the agent.
    async fn release(&self, from: &str, to: &str) {
        let path = format!("/admin/conversations/{}/release", console_id(to, from));
        let (status, r) = self.host.admin(reqwest::Method::POST, &path, None).await;
        assert_eq!(status, 200, "{r}");
    }

    /// Every SMS sent to `to` so far, in order.
    fn sent_to(&self, to: &str) -> Vec<String> {
        self.world
            .twilio
            .requests()
            .into_iter()
            .filter(|s| s.to == to)
            .map(|s| s.body)
            .collect()
    }

    async fn alerts(&self, kind: &str) -> Vec<AlertRow> {
        let storage = self.world.storage().await;
        storage
            .alerts()
            .recent(500)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.kind == kind || a.kind.ends_with(&format!(".{kind}")))
            .collect()
    }
}

/// A conversation id as a console path segment.
fn console_id(agent: &str, lead: &str) -> String {
    format!("{agent}|{lead}")
        .replace('+', "%2B")
        .replace('|', "%7C")
}

fn field<'a>(a: &'a AlertRow, name: &str) -> &'a str {
    a.fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn building<'a>(d: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    d["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == id)
        .unwrap()
}

// ---- Landlord Rep ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landlord_rep_answers_the_question_first_and_keeps_the_building() {
    let a = agents(&[]).await;
    let d = data("landlord-rep");
    let jeffery = building(&d, "jeffery-shores");
    let lead = "+15557660001";
    let r = a
        .say(lead, LANDLORD, "hey is the 2br on jeffery still avail??")
        .await;
    assert!(
        r.contains(&format!(
            "automated leasing assistant for {}",
            d["office"]["company"].as_str().unwrap()
        )),
        "honest from the first text: {r}"
    );
    assert!(r.contains("Jeffery Shores Apartments"), "{r}");
    for u in jeffery["units"].as_array().unwrap() {
        let listed = r.contains(&format!("{}/mo", dollars(u["rent"].as_u64().unwrap())));
        assert_eq!(
            listed,
            u["bedrooms"] == 2,
            "only the 2BRs answer the question: {u} in {r}"
        );
    }
    assert_eq!(r.matches('?').count(), 1, "then one question: {r}");
    // "and the 1 bdrm?" is about the same building.
    let r = a.say(lead, LANDLORD, "and the 1 bdrm?").await;
    let one = jeffery["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["bedrooms"] == 1)
        .unwrap();
    assert!(
        r.contains("Jeffery Shores") && r.contains(&dollars(one["rent"].as_u64().unwrap())),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landlord_rep_answers_common_questions_from_the_data() {
    let a = agents(&[]).await;
    let d = data("landlord-rep");
    let o = &d["office"];
    let lead = "+15557660002";
    let r = a.say(lead, LANDLORD, "do you take section 8?").await;
    for p in o["vouchers"]["programs"].as_array().unwrap() {
        assert!(r.contains(p.as_str().unwrap()), "{p} in {r}");
    }
    assert!(
        r.contains("illegal to turn anyone away"),
        "Illinois law: {r}"
    );
    // Utilities for the building in focus: stated ones answered, silent ones to a person.
    let yates = building(&d, "yates-park");
    assert!(
        yates["utilities_included"]
            .as_array()
            .unwrap()
            .contains(&"heat".into())
    );
    a.say(lead, LANDLORD, "tell me about yates park").await;
    let r = a.say(lead, LANDLORD, "is heat included?").await;
    assert!(r.to_lowercase().contains("heat is included"), "{r}");
    assert!(
        !yates["utilities_included"]
            .as_array()
            .unwrap()
            .contains(&"water".into())
    );
    let r = a.say(lead, LANDLORD, "and water?").await;
    assert!(
        r.contains("water") && (r.contains("confirm") || r.contains("isn't in my notes")),
        "the data is silent: a person confirms: {r}"
    );
    let q = eventually(WAIT, || async {
        let q = a.alerts("question").await;
        (!q.is_empty()).then_some(q)
    })
    .await
    .expect("the question goes to staff");
    assert_eq!(field(&q[0], "lead"), lead);
    let r = a.say(lead, LANDLORD, "laundry?").await;
    assert!(
        r.contains(yates["laundry"]["note"]["en"].as_str().unwrap()),
        "{r}"
    );
    let r = a.say(lead, LANDLORD, "what are your office hours").await;
    let mon = o["office_hours"]["mon"].as_array().unwrap();
    assert!(
        r.contains(&format!(
            "Mon-Fri {}-{}",
            clock(mon[0].as_str().unwrap()),
            clock(mon[1].as_str().unwrap())
        )),
        "{r}"
    );
    let r = a
        .say(
            lead,
            LANDLORD,
            "how much is the deposit and application fee",
        )
        .await;
    assert!(
        r.contains(&dollars(o["fees"]["security_deposit"].as_u64().unwrap()))
            && r.contains(&dollars(o["fees"]["application_fee"].as_u64().unwrap())),
        "{r}"
    );
    let r = a
        .say(lead, LANDLORD, "how far is jeffery shores from the lake?")
        .await;
    let lake = building(&d, "jeffery-shores")["landmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "lake")
        .unwrap();
    assert!(
        r.contains(&format!("{}-minute walk", lake["walk_minutes"]))
            && r.contains(lake["name"].as_str().unwrap()),
        "{r}"
    );
    let r = a.say(lead, LANDLORD, "do you speak spanish?").await;
    assert!(r.contains("Spanish") && r.contains("English"), "{r}");
    let r = a.say(lead, LANDLORD, "how long is the lease").await;
    let months = o["lease"]["months"][0].as_u64().unwrap();
    assert!(r.contains(&format!("{months} months")), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landlord_rep_keeps_every_stated_constraint() {
    let a = agents(&[]).await;
    let d = data("landlord-rep");
    let lead = "+15557660003";
    a.say(
        lead,
        LANDLORD,
        "hi, I have a 60 lb dog, need a 2 bedroom by jan 1",
    )
    .await;
    let r = a.say(lead, LANDLORD, "$1200-1700").await;
    let recommended: Vec<&serde_json::Value> = d["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| {
            let short = b["name"]
                .as_str()
                .unwrap()
                .replace(" Apartments", "")
                .replace(" Residences", "");
            r.contains(&short)
        })
        .collect();
    assert!(!recommended.is_empty(), "{r}");
    for b in recommended {
        let ok = b["pets"]["dogs"] == true
            && b["pets"]["dog_weight_limit_lbs"]
                .as_u64()
                .is_none_or(|l| l >= 60);
        assert!(ok, "{} for a 60-lb dog: {r}", b["name"]);
    }
    // A building whose limit is lower says so at once.
    let r = a.say(lead, LANDLORD, "what about jeffery shores?").await;
    let limit = building(&d, "jeffery-shores")["pets"]["dog_weight_limit_lbs"]
        .as_u64()
        .unwrap();
    assert!(
        r.contains(&format!("up to {limit} lbs")) && r.contains("60-lb dog wouldn't qualify"),
        "{r}"
    );
    // The move-in date was given: it is not asked again.
    assert!(
        a.sent_to(lead)
            .iter()
            .all(|m| !m.contains("When are you looking to move in")),
        "{:?}",
        a.sent_to(lead)
    );
    // "near the lake" filters by the landmarks in the data.
    let other = "+15557660013";
    let r = a.say(other, LANDLORD, "anything near the lake?").await;
    let near = d["office"]["near_walk_minutes"].as_u64().unwrap();
    for b in d["buildings"].as_array().unwrap() {
        let lake = b["landmarks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["kind"] == "lake")
            .map(|l| l["walk_minutes"].as_u64().unwrap())
            .min();
        let short = b["name"]
            .as_str()
            .unwrap()
            .replace(" Apartments", "")
            .replace(" Residences", "");
        assert_eq!(
            r.contains(&short),
            lake.is_some_and(|m| m <= near),
            "{short} near the lake: {r}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landlord_rep_books_a_named_time_moves_it_and_never_double_books() {
    let a = agents(&[]).await;
    let d = data("landlord-rep");
    let lead = "+15557660004";
    a.say(lead, LANDLORD, "I want to see Jeffery Shores").await;
    let r = a.say(lead, LANDLORD, "next tuesday at 11am").await;
    assert!(
        r.contains("You're booked: tour of Jeffery Shores Apartments on Tue") && r.contains("11am"),
        "a free time inside tour hours is booked as asked: {r}"
    );
    let booked = eventually(WAIT, || async {
        let b = a.alerts("tour-booked").await;
        (!b.is_empty()).then_some(b)
    })
    .await
    .expect("staff get the booking");
    let first = field(&booked[0], "when").to_owned();
    assert!(
        first.starts_with("Tue") && first.ends_with("11am"),
        "{first}"
    );
    assert_eq!(field(&booked[0], "lead"), lead);
    // Another lead asking for the same slot gets the nearest free ones instead.
    let other = "+15557660014";
    let r = a
        .say(other, LANDLORD, "tour jeffery shores next tuesday at 11am")
        .await;
    assert!(
        r.contains("is already taken") && r.contains("Nearest open times"),
        "{r}"
    );
    assert!(!r.contains("You're booked"), "{r}");
    // The first lead moves the tour: the reply says what changed.
    let r = a
        .say(lead, LANDLORD, "can I do next wednesday at 10am instead?")
        .await;
    assert!(
        r.contains(&format!("moved from {first}")) && r.contains("Wed") && r.contains("10am"),
        "{r}"
    );
    let changed = eventually(WAIT, || async {
        let c = a.alerts("tour-changed").await;
        (!c.is_empty()).then_some(c)
    })
    .await
    .expect("staff get the change");
    assert_eq!(field(&changed[0], "previous"), first);
    // Now the old slot is free for the other lead.
    let r = a.say(other, LANDLORD, "next tuesday at 11am").await;
    assert!(r.contains("You're booked"), "{r}");
    let r = a.say(lead, LANDLORD, "cancel my tour").await;
    assert!(r.contains("is cancelled") && r.contains("Wed"), "{r}");
    // Tour hours come from the data: Sunday has none at Jeffery Shores.
    assert!(building(&d, "jeffery-shores")["tour_hours"]["sun"].is_null());
    let r = a.say(lead, LANDLORD, "how about next sunday at 11am").await;
    assert!(
        r.contains("doesn't give tours on Sundays") && r.contains("Nearest open times"),
        "{r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landlord_rep_is_honest_about_who_is_texting_and_keeps_an_angry_lead_company() {
    let a = agents(&[]).await;
    let d = data("landlord-rep");
    let phone = d["office"]["phone"].as_str().unwrap();
    let lead = "+15557660005";
    let r = a
        .say(lead, LANDLORD, "who is this? did you just call me?")
        .await;
    assert!(
        r.contains("automated leasing assistant") && r.contains("not a person"),
        "{r}"
    );
    assert!(
        r.contains("can't make calls") || r.contains("can't place calls"),
        "{r}"
    );
    let r = a.say(lead, LANDLORD, "is this a bot?").await;
    assert!(
        r.starts_with("Yes - I'm an automated") || r.starts_with("I am a bot"),
        "{r}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(a.alerts("handoff").await.is_empty(), "no call was booked");
    a.say(lead, LANDLORD, "is the 2br at king drive available")
        .await;
    let r = a
        .say(
            lead,
            LANDLORD,
            "this is ridiculous, I called 3 times and nobody answers the phone",
        )
        .await;
    assert!(
        !r.contains(phone),
        "the failing channel is not offered: {r}"
    );
    assert!(
        r.contains("text you") && (r.contains("minutes") || r.contains(" by ")),
        "an ETA from staff hours: {r}"
    );
    let h = eventually(WAIT, || async {
        let h = a.alerts("handoff").await;
        (!h.is_empty()).then_some(h)
    })
    .await
    .expect("a handoff alert");
    assert!(field(&h[0], "thread").contains("is the 2br at king drive available"));
    assert_eq!(field(&h[0], "do_not_use"), "phone");
    // The handoff paused the agent for this lead: staff has the thread until released.
    a.held(lead, LANDLORD, "so when will someone call me?")
        .await;
    a.release(lead, LANDLORD).await;
    let r = a
        .say(lead, LANDLORD, "is there parking at king drive?")
        .await;
    let fee = building(&d, "king-drive-residences")["parking"]["monthly_fee"]
        .as_u64()
        .unwrap();
    assert!(
        r.contains(&format!("{}/mo", dollars(fee))),
        "answers again once released: {r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landlord_rep_switches_to_spanish_and_never_repeats_itself() {
    let a = agents(&[]).await;
    let d = data("landlord-rep");
    let lead = "+15557660006";
    a.say(lead, LANDLORD, "Hi, is there anything in chatham?")
        .await;
    let r = a.say(lead, LANDLORD, "no hablo ingles").await;
    assert!(
        r.contains("español"),
        "'no hablo inglés' switches language, never closes the lead: {r}"
    );
    let r = a
        .say(
            lead,
            LANDLORD,
            "cuanto cuesta el de 2 recamaras en chatham park place?",
        )
        .await;
    for u in building(&d, "chatham-park-place")["units"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["bedrooms"] == 2)
    {
        assert!(
            r.contains(&format!("{}/mes", dollars(u["rent"].as_u64().unwrap()))),
            "{u} in {r}"
        );
    }
    let other = "+15557660016";
    a.say(other, LANDLORD, "hi").await;
    for body in ["?", "thanks!", "👍", "?", "thanks!", "👍", "ok", "?"] {
        a.say(other, LANDLORD, body).await;
    }
    let sent = a.sent_to(other);
    let mut seen = std::collections::BTreeSet::new();
    for s in &sent {
        assert!(
            seen.insert(s.to_lowercase()),
            "repeated word for word: {s}\nall: {sent:?}"
        );
    }
}

/// A fake OpenAI-compatible server that answers every request with `answer`.
async fn llm(answer: String) -> FakeLlm {
    FakeLlm::start(Box::leak(answer.into_boxed_str())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_llm_guard_replaces_a_reply_with_numbers_not_in_the_data() {
    let d = data("landlord-rep");
    let jeffery = building(&d, "jeffery-shores");
    let rents: Vec<u64> = jeffery["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["rent"].as_u64().unwrap())
        .collect();
    let wrong = 999;
    assert!(!rents.contains(&wrong));
    let fake = llm(format!(
        "The 2BR at Jeffery Shores is just ${wrong}/mo and you can move in Dec 3. The application fee is $10."
    ))
    .await;
    let env = [
        ("OPENAI_API_KEY", "sk-e2e".to_owned()),
        ("OPENAI_BASE_URL", fake.base_url()),
        ("AGENTHOST_LLM_CHAIN", "openai".to_owned()),
    ];
    let a = agents(&env).await;
    let lead = "+15557660007";
    a.say(lead, LANDLORD, "What's available at jeffery shores?")
        .await;
    let r = a
        .say(lead, LANDLORD, "is the rooftop deck nice in the summer?")
        .await;
    assert_eq!(fake.requests().len(), 1, "the LLM was asked");
    assert!(
        !r.contains(&format!("${wrong}")) && !r.contains("$10") && !r.contains("Dec 3"),
        "the wrong numbers never reach the lead: {r}"
    );
    assert!(
        r.starts_with("I can help with availability, rent, pets, parking and tours"),
        "the deterministic reply instead: {r}"
    );
    let log = eventually(WAIT, || async {
        let l = a.host.logs();
        l.contains("llm-guard: replaced").then_some(l)
    })
    .await
    .expect("the replacement is logged (and counted in the owner report)");
    assert!(
        log.contains("amount $999.00"),
        "the log names what was wrong"
    );
    // The data was silent and the LLM could not answer: a person confirms.
    let q = eventually(WAIT, || async {
        let q = a.alerts("question").await;
        (!q.is_empty()).then_some(q)
    })
    .await;
    assert!(q.is_some(), "the unanswered question goes to staff");

    // An LLM that states only what the data says is sent as it is.
    let rent = rents[1];
    let right = format!(
        "Jeffery Shores has a 2BR at {}/mo; no rooftop deck is listed, so a teammate can tell you more.",
        dollars(rent)
    );
    let fake = llm(right.clone()).await;
    let env = [
        ("OPENAI_API_KEY", "sk-e2e".to_owned()),
        ("OPENAI_BASE_URL", fake.base_url()),
        ("AGENTHOST_LLM_CHAIN", "openai".to_owned()),
    ];
    let a = agents(&env).await;
    a.say(lead, LANDLORD, "What's available at jeffery shores?")
        .await;
    let r = a
        .say(lead, LANDLORD, "is the rooftop deck nice in the summer?")
        .await;
    assert_eq!(r, right);
    assert!(!a.host.logs().contains("llm-guard: replaced"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_that_does_not_validate_is_refused_at_load_naming_the_field() {
    let world = World::new(Setup::Embedded, &AGENTS.map(|n| (n, n))).await;
    for n in AGENTS {
        std::fs::copy(
            config_dir().join(format!("{n}.json")),
            world.plugins.path().join(format!("{n}.json")),
        )
        .unwrap();
    }
    let mut d = data("landlord-rep");
    d["buildings"][2]["units"][0]["rent"] = serde_json::json!("1,150");
    std::fs::write(
        world.plugins.path().join("landlord-rep.json"),
        serde_json::to_string(&d).unwrap(),
    )
    .unwrap();
    let host = world.start(&[("AGENTHOST_ROUTES", ROUTES)]);
    let log = eventually(Duration::from_secs(30), || async {
        let l = host.logs();
        l.contains("config invalid").then_some(l)
    })
    .await
    .unwrap_or_else(|| panic!("no config error logged:\n{}", host.logs()));
    assert!(
        log.contains("buildings[2].units[0].rent: invalid type: string"),
        "the error names the field:\n{log}"
    );
    assert!(log.contains("plugin file refused"), "{log}");
    // The other agents serve as usual.
    host.ready().await;
    let before = world.twilio.requests().len();
    host.post_sms(&sid(), "+15557660008", INSURANCE, "hi").await;
    assert!(world.twilio.wait_for(before + 1, WAIT).await.len() > before);
}

/// Waits until every SMS the host queued is recorded as sent: a libfaketime jump across a
/// send in flight times it out, and the retry would text the lead twice.
async fn sends_settled(world: &World) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let db = world.data.path().join("agenthost.db");
    let url = format!("sqlite://{}?mode=rw", db.display());
    let settled = eventually(WAIT, || {
        let url = url.clone();
        async move {
            let mut conn = sqlx::AnyConnection::connect(&url).await.ok()?;
            let open: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')",
            )
            .fetch_one(&mut conn)
            .await
            .ok()?;
            (open == 0).then_some(())
        }
    })
    .await;
    assert!(settled.is_some(), "sends still in flight");
}

/// Landlord Rep alone, on a fake clock.
async fn clocked_landlord() -> (Agents, FakeClock) {
    let world = World::new(Setup::Embedded, &[("landlord-rep", "landlord-rep")]).await;
    std::fs::copy(
        config_dir().join("landlord-rep.json"),
        world.plugins.path().join("landlord-rep.json"),
    )
    .unwrap();
    let clock = world.fake_clock();
    let mut env: Vec<(&str, String)> = clock.env();
    env.push(("AGENTHOST_ROUTES", ROUTES.to_owned()));
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let host = world.start(&refs);
    host.ready().await;
    (Agents { world, host }, clock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landlord_rep_reminds_the_day_before_and_two_hours_before_then_checks_in() {
    let (a, clock) = clocked_landlord().await;
    let d = data("landlord-rep");
    let b = building(&d, "rainbow-beach-lofts");
    let lead = "+15557660009";
    a.say(lead, LANDLORD, "tour at rainbow beach lofts").await;
    let r = a.say(lead, LANDLORD, "next thursday at 3pm").await;
    assert!(r.contains("You're booked") && r.contains("3pm"), "{r}");
    let booked = eventually(WAIT, || async {
        let x = a.alerts("tour-booked").await;
        (!x.is_empty()).then_some(x)
    })
    .await
    .unwrap();
    let at_ms: u64 = field(&booked[0], "at_ms").parse().unwrap();
    // The reply must be recorded as sent before the clock jumps.
    sends_settled(&a.world).await;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let hour = 3_600_000;
    let sent = |n: usize| a.world.twilio.wait_for(n, Duration::from_secs(30));
    let count = a.sent_to(lead).len();
    clock.advance(Duration::from_millis(at_ms - 24 * hour - now_ms + 60_000));
    let all = sent(count + 1).await;
    let day = &all[count].body;
    assert!(
        day.starts_with(&format!(
            "Reminder: your tour of {} is tomorrow at 3pm",
            b["name"].as_str().unwrap()
        )) && day.contains(b["address"].as_str().unwrap()),
        "{day}"
    );
    sends_settled(&a.world).await;
    clock.advance(Duration::from_millis(22 * hour));
    let all = sent(count + 2).await;
    assert!(
        all[count + 1].body.contains("starts at 3pm today"),
        "{}",
        all[count + 1].body
    );
    sends_settled(&a.world).await;
    clock.advance(Duration::from_millis(4 * hour));
    let all = sent(count + 3).await;
    assert!(
        all[count + 2]
            .body
            .contains("Thanks for touring Rainbow Beach Lofts today")
            && all[count + 2]
                .body
                .contains(d["office"]["application_url"].as_str().unwrap()),
        "{}",
        all[count + 2].body
    );
}

/// A follow-up timer lost (its job row deleted by hand) is recovered by the half-hourly
/// sweep. The sweep is a cron job, which belongs to no conversation and may not text a
/// lead: it re-schedules the follow-up on the lead's own conversation, and that job texts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landlord_rep_sweep_recovers_a_lost_follow_up_on_the_leads_conversation() {
    use sqlx::Connection;
    let (a, clock) = clocked_landlord().await;
    let d = data("landlord-rep");
    let b = building(&d, "jeffery-shores");
    let name = b["name"].as_str().unwrap();
    let lead = "+15557660010";
    let r = a
        .say(lead, LANDLORD, "what's available at jeffery shores?")
        .await;
    assert!(r.contains(name), "{r}");
    sends_settled(&a.world).await;
    sqlx::any::install_default_drivers();
    let db = a.world.data.path().join("agenthost.db");
    let mut conn = sqlx::AnyConnection::connect(&format!("sqlite://{}?mode=rw", db.display()))
        .await
        .unwrap();
    let lost = sqlx::query("DELETE FROM jobs WHERE plugin = $1 AND key = $2")
        .bind("landlord-rep")
        .bind(format!("followup:{lead}"))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(lost.rows_affected(), 1, "the follow-up timer was pending");
    conn.close().await.unwrap();
    let silence = d["office"]["followup_silence_hours"].as_u64().unwrap();
    // Past the silence and the sweep's grace: the next sweep slot recovers the timer.
    clock.advance(Duration::from_secs((silence * 3600) + 3600));
    let sent = a.world.twilio.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(sent.len(), 2, "log:\n{}", a.host.logs());
    assert_eq!(sent[1].to, lead);
    assert!(
        sent[1].body.contains("checking in") && sent[1].body.contains(name),
        "{}",
        sent[1].body
    );
    assert!(
        a.host
            .logs()
            .contains("re-scheduled on its conversation by the sweep"),
        "the sweep, not a stray timer, sent it"
    );
    // One nudge: the next sweeps find nothing overdue.
    sends_settled(&a.world).await;
    clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(a.sent_to(lead).len(), 2, "{:?}", a.sent_to(lead));
}

/// "Yates Park Residences" is written "Yates Park" in lists, as the agent shortens names.
fn short_name(b: &serde_json::Value) -> String {
    let name = b["name"].as_str().unwrap();
    [" Apartments", " Residences"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name)
        .to_owned()
}

fn min_rent(b: &serde_json::Value) -> u64 {
    b["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["rent"].as_u64().unwrap())
        .min()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landlord_rep_compares_two_buildings_and_takes_no_limit_for_an_answer() {
    let a = agents(&[]).await;
    let d = data("landlord-rep");
    let lead = "+15557660011";
    let (yates, evans) = (
        building(&d, "yates-park"),
        building(&d, "evans-avenue-flats"),
    );
    let r = a
        .say(lead, LANDLORD, "which is cheaper, yates or evans?")
        .await;
    for b in [yates, evans] {
        assert!(
            r.contains(&format!("{} (", short_name(b))) && r.contains(&dollars(min_rent(b))),
            "{r}"
        );
    }
    let low = if min_rent(yates) < min_rent(evans) {
        yates
    } else {
        evans
    };
    assert!(
        r.contains(&format!(
            "{} starts lower, at {}",
            short_name(low),
            dollars(min_rent(low))
        )) || r.contains(&format!(
            "Of the two, {} is less expensive: from {}",
            short_name(low),
            dollars(min_rent(low))
        )),
        "{r}"
    );
    // The same question of both, answered for each from its own data.
    let r = a.say(lead, LANDLORD, "do yates or evans take pets?").await;
    for b in [yates, evans] {
        assert!(
            r.contains(&format!("Pets at {}", b["name"].as_str().unwrap())),
            "{r}"
        );
        if let Some(dep) = b["pets"]["pet_deposit"].as_u64() {
            assert!(r.contains(&dollars(dep)), "{r}");
        }
    }
    // "whenever" and "no limit" answer the questions they follow.
    let lead = "+15557660012";
    let r = a.say(lead, LANDLORD, "hi, 2 bedrooms").await;
    assert!(r.contains("move in"), "{r}");
    let r = a.say(lead, LANDLORD, "whenever").await;
    assert!(
        r.contains("flexible move-in") && r.contains("budget"),
        "{r}"
    );
    let r = a.say(lead, LANDLORD, "no limit").await;
    assert!(r.contains("no max rent") && r.contains("pets"), "{r}");
}

// ---- Locator -----------------------------------------------------------------------------

fn listing<'a>(d: &'a serde_json::Value, title: &str) -> &'a serde_json::Value {
    d["listings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["title"] == title)
        .unwrap_or_else(|| panic!("{title} is not a listing"))
}

/// The titles of the numbered options in a reply ("1) Title: ...").
fn options(reply: &str) -> Vec<String> {
    reply
        .lines()
        .filter(|l| l.len() > 3 && l.as_bytes()[0].is_ascii_digit() && &l[1..3] == ") ")
        .map(|l| l[3..].split(':').next().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locator_answers_first_and_adds_removes_and_names_areas() {
    let a = agents(&[]).await;
    let d = data("locator");
    let renter = "+15557661001";
    let r = a
        .say(renter, LOCATOR, "do you have anything in pilsen?")
        .await;
    let opts = options(&r);
    assert!(!opts.is_empty(), "the question is answered at once: {r}");
    for t in &opts {
        assert_eq!(listing(&d, t)["neighborhood"], "Pilsen", "{r}");
    }
    let r = a.say(renter, LOCATOR, "hyde park too").await;
    let hoods: Vec<String> = options(&r)
        .iter()
        .map(|t| listing(&d, t)["neighborhood"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        hoods.iter().all(|h| h == "Pilsen" || h == "Hyde Park"),
        "'too' adds: {r}"
    );
    let r = a.say(renter, LOCATOR, "not pilsen").await;
    for t in options(&r) {
        assert_eq!(listing(&d, &t)["neighborhood"], "Hyde Park", "{r}");
    }
    let r = a.say(renter, LOCATOR, "what areas do you cover?").await;
    for area in d["office"]["areas"].as_array().unwrap() {
        assert!(r.contains(area["name"].as_str().unwrap()), "{r}");
    }
    let r = a.say(renter, LOCATOR, "anything in lincoln park?").await;
    assert!(r.contains("Lincoln Park") && r.contains("cover"), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locator_keeps_studios_dog_weights_and_the_lake() {
    let a = agents(&[]).await;
    let d = data("locator");
    let renter = "+15557661002";
    let r = a.say(renter, LOCATOR, "any studios under 1000?").await;
    let opts = options(&r);
    assert!(!opts.is_empty(), "{r}");
    assert_eq!(listing(&d, &opts[0])["bedrooms"], 0, "studios first: {r}");
    for t in &opts {
        let l = listing(&d, t);
        assert!(
            l["bedrooms"].as_u64().unwrap() <= 1 && l["rent"].as_u64().unwrap() <= 1050,
            "{l}"
        );
    }
    let renter = "+15557661012";
    a.say(
        renter,
        LOCATOR,
        "2 bedroom anywhere, up to 1800, moving jan 1",
    )
    .await;
    let r = a.say(renter, LOCATOR, "I have a 60 lb dog").await;
    for t in options(&r) {
        let l = listing(&d, &t);
        assert!(
            l["dogs"] == true && l["dog_weight_limit_lbs"].as_u64().is_none_or(|w| w >= 60),
            "{t} for a 60-lb dog: {r}"
        );
    }
    let r = a.say(renter, LOCATOR, "near the lake please").await;
    let near = d["office"]["near_walk_minutes"].as_u64().unwrap();
    for t in options(&r) {
        let l = listing(&d, &t);
        let lake = l["landmarks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "lake")
            .map(|m| m["walk_minutes"].as_u64().unwrap())
            .min();
        assert!(
            lake.is_some_and(|m| m <= near),
            "{t} not near the lake: {r}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locator_passes_the_preferred_tour_time_and_answers_about_an_option() {
    let a = agents(&[]).await;
    let d = data("locator");
    let renter = "+15557661003";
    let r = a
        .say(
            renter,
            LOCATOR,
            "1 bedroom in rogers park or uptown under $1,250, moving jan 1, no pets",
        )
        .await;
    let opts = options(&r);
    assert!(opts.len() >= 2, "{r}");
    let first = listing(&d, &opts[0]);
    let r = a
        .say(renter, LOCATOR, "does the first one include heat?")
        .await;
    let heat = first["utilities_included"]
        .as_array()
        .unwrap()
        .contains(&"heat".into());
    assert!(r.contains(first["title"].as_str().unwrap()), "{r}");
    assert_eq!(r.contains("No -"), !heat, "{r}");
    let r = a.say(renter, LOCATOR, "do you charge a fee?").await;
    assert!(
        r.contains(d["office"]["service_fee"]["en"].as_str().unwrap()),
        "{r}"
    );
    let r = a
        .say(renter, LOCATOR, "can I see the first one saturday morning?")
        .await;
    assert!(
        r.contains(first["title"].as_str().unwrap()) && r.contains("(morning)"),
        "{r}"
    );
    let t = eventually(WAIT, || async {
        let t = a.alerts("tour-request").await;
        (!t.is_empty()).then_some(t)
    })
    .await
    .expect("staff get the request");
    assert_eq!(field(&t[0], "listing"), first["id"].as_str().unwrap());
    let pref = field(&t[0], "preferred_time");
    assert!(
        pref.starts_with("Sat ") && pref.ends_with("(morning)"),
        "{pref}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locator_is_honest_and_speaks_spanish() {
    let a = agents(&[]).await;
    let renter = "+15557661004";
    let r = a.say(renter, LOCATOR, "who is this?").await;
    assert!(
        r.contains("automated assistant") && r.contains("not a person"),
        "{r}"
    );
    let r = a.say(renter, LOCATOR, "no hablo ingles").await;
    assert!(r.contains("español"), "{r}");
    let r = a
        .say(
            renter,
            LOCATOR,
            "busco 2 recamaras en pilsen o bridgeport, hasta 1400, el 1 de enero, tengo un gato",
        )
        .await;
    assert!(r.starts_with("Mejores opciones para usted:"), "{r}");
    let d = data("locator");
    for t in options(&r) {
        let l = listing(&d, &t);
        assert!(
            l["cats"] == true && l["bedrooms"].as_u64().unwrap() >= 2,
            "{l}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locator_answers_about_several_options_at_once() {
    let a = agents(&[]).await;
    let d = data("locator");
    let renter = "+15557660013";
    let r = a
        .say(
            renter,
            LOCATOR,
            "1br in rogers park under 1400, move dec 1, no pets",
        )
        .await;
    let shown = options(&r);
    assert!(shown.len() >= 2, "{r}");
    let r = a.say(renter, LOCATOR, "which of those allow dogs?").await;
    for title in &shown {
        let l = listing(&d, title);
        assert!(r.contains(&format!("Pets at {title}")), "{r}");
        match (
            l["dogs"].as_bool().unwrap(),
            l["dog_weight_limit_lbs"].as_u64(),
        ) {
            (true, Some(w)) => assert!(r.contains(&format!("up to {w} lbs")), "{r}"),
            (false, _) => assert!(
                r.contains(&format!("Pets at {title}: ")) && r.contains("no dogs"),
                "{r}"
            ),
            _ => {}
        }
    }
    let r = a.say(renter, LOCATOR, "which is cheaper, 1 or 2?").await;
    let rent = |t: &String| listing(&d, t)["rent"].as_u64().unwrap();
    let low = shown[..2].iter().min_by_key(|t| rent(t)).unwrap();
    assert!(
        r.contains(low.as_str()) && r.contains(&dollars(rent(low))),
        "{r}"
    );
}

// ---- Insurance ---------------------------------------------------------------------------

/// The monthly premium by the documented formula, in cents.
fn premium(
    rates: &serde_json::Value,
    zip: &str,
    coverage: u64,
    deductible: u64,
    claims: usize,
) -> u64 {
    let territory = rates["territories_by_zip_prefix"][&zip[..3]]
        .as_str()
        .unwrap_or(rates["default_territory"].as_str().unwrap());
    let base = (rates["base_monthly"][territory].as_f64().unwrap() * 100.0).round() as u64;
    let per_k = (rates["per_1k_coverage_monthly"].as_f64().unwrap() * 100.0).round() as u64;
    let ded = (rates["deductible_factors"][deductible.to_string()]
        .as_f64()
        .unwrap()
        * 1000.0)
        .round() as u64;
    let factors = rates["claims_factors"].as_array().unwrap();
    let cl = (factors[claims.min(factors.len() - 1)].as_f64().unwrap() * 1000.0).round() as u64;
    ((base + coverage / 1000 * per_k) * ded * cl + 500_000) / 1_000_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insurance_reads_numbers_by_their_context_and_takes_the_cheapest() {
    let a = agents(&[]).await;
    let d = data("insurance");
    let rates = &d["rates"];
    let customer = "+15557662001";
    a.say(customer, INSURANCE, "hi I need renters insurance")
        .await;
    a.say(customer, INSURANCE, "60615").await;
    let r = a
        .say(
            customer,
            INSURANCE,
            "my landlord wants $100,000 of liability",
        )
        .await;
    assert!(
        r.contains(&dollars(rates["liability_limit"].as_u64().unwrap()))
            && r.contains("personal property"),
        "liability answered, the property amount still asked: {r}"
    );
    a.say(customer, INSURANCE, "15 grand").await;
    let r = a.say(customer, INSURANCE, "whichever is cheapest").await;
    let cheapest = rates["deductible_factors"]
        .as_object()
        .unwrap()
        .iter()
        .min_by(|x, y| x.1.as_f64().unwrap().total_cmp(&y.1.as_f64().unwrap()))
        .map(|(k, _)| k.parse::<u64>().unwrap())
        .unwrap();
    assert!(
        r.contains(&format!("{} deductible", dollars(cheapest))),
        "{r}"
    );
    let r = a.say(customer, INSURANCE, "I had a claim in 2021").await;
    let monthly = premium(rates, "60615", 15_000, cheapest, 1);
    assert!(
        r.starts_with(&format!("Your quote: {}/mo", cents(monthly)))
            && r.contains("$15,000 personal property"),
        "quoted exactly from the table: {r}"
    );
    // "15000" alone is coverage, not a ZIP, once the ZIP is known.
    let other = "+15557662011";
    a.say(other, INSURANCE, "60411").await;
    let r = a.say(other, INSURANCE, "15000").await;
    assert!(r.contains("deductible") && !r.contains("outside"), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insurance_explains_coverage_from_the_data_and_hands_claims_histories_to_a_person() {
    let a = agents(&[]).await;
    let d = data("insurance");
    let customer = "+15557662002";
    let r = a
        .say(customer, INSURANCE, "what does renters insurance cover?")
        .await;
    assert!(
        r.contains(&dollars(d["rates"]["liability_limit"].as_u64().unwrap()))
            && r.contains(&dollars(
                d["rates"]["medical_payments_limit"].as_u64().unwrap()
            )),
        "{r}"
    );
    assert!(
        d["coverage"]["perils_excluded"]
            .as_array()
            .unwrap()
            .contains(&"flood".into())
    );
    let r = a.say(customer, INSURANCE, "does it cover flooding?").await;
    assert!(
        r.contains("flooding isn't covered") || r.contains("flooding is not covered"),
        "{r}"
    );
    let r = a.say(customer, INSURANCE, "what about theft?").await;
    assert!(
        r.contains("theft is covered") || r.contains("theft: covered"),
        "{r}"
    );
    let r = a.say(customer, INSURANCE, "is mold covered?").await;
    assert!(
        r.contains("mold") && r.contains("licensed agent"),
        "data silent: {r}"
    );
    let max = d["office"]["max_claims_auto_quote"].as_u64().unwrap();
    let other = "+15557662012";
    let r = a
        .say(
            other,
            INSURANCE,
            &format!(
                "zip 60411, $50,000 coverage, $1000 deductible, {} claims",
                max + 1
            ),
        )
        .await;
    assert!(
        r.contains("licensed agent") && r.contains("isn't a no"),
        "{r}"
    );
    let h = eventually(WAIT, || async {
        let h = a.alerts("handoff").await;
        (!h.is_empty()).then_some(h)
    })
    .await
    .expect("a handoff");
    assert_eq!(field(&h[0], "claims_5y"), (max + 1).to_string());
    let spanish = "+15557662022";
    a.say(spanish, INSURANCE, "hola").await;
    let r = a.say(spanish, INSURANCE, "no hablo ingles").await;
    assert!(r.contains("español"), "{r}");
    let r = a
        .say(
            spanish,
            INSURANCE,
            "60615, quiero asegurar 20 mil, deducible de 500, ningun reclamo",
        )
        .await;
    let monthly = premium(&d["rates"], "60615", 20_000, 500, 0);
    assert!(
        r.starts_with(&format!("Su cotizacion: {}/mes", cents(monthly))),
        "accents outside GSM-7 are dropped, ñ kept: {r}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landlord_rep_reads_ranges_and_credit_without_mistaking_them_for_budgets() {
    let a = agents(&[]).await;
    let d = data("landlord-rep");
    let s = &d["office"]["screening"];
    let lead = "+15557660010";
    a.say(
        lead,
        LANDLORD,
        "looking for a 2br, $1200-1400, credit in the 700s",
    )
    .await;
    let r = a.say(lead, LANDLORD, "do I qualify?").await;
    let x = s["income_multiple"].as_f64().unwrap();
    assert!(
        r.contains(&format!("{x}x the rent"))
            && r.contains(&s["credit"]["en"].as_str().unwrap()[..40]),
        "the published criteria, not a $700 budget: {r}"
    );
    let r = a.say(lead, LANDLORD, "what do you recommend?").await;
    // Every unit recommended is a 2BR within $1,400: the range's top, not $700.
    for b in d["buildings"].as_array().unwrap() {
        for u in b["units"].as_array().unwrap() {
            let rent = dollars(u["rent"].as_u64().unwrap());
            if r.contains(&format!(" {rent},")) {
                assert!(
                    u["bedrooms"] == 2 && u["rent"].as_u64().unwrap() <= 1400,
                    "{u} in {r}"
                );
            }
        }
    }
    assert!(r.contains("Good fits for you") || r.contains("try"), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locator_hands_off_without_the_failing_phone_and_never_repeats() {
    let a = agents(&[]).await;
    let d = data("locator");
    let phone = d["office"]["phone"].as_str().unwrap();
    let renter = "+15557661005";
    let r = a
        .say(
            renter,
            LOCATOR,
            "2br $1200-1400 in bridgeport or pilsen, jan 1, no pets",
        )
        .await;
    for t in options(&r) {
        let rent = listing(&d, &t)["rent"].as_u64().unwrap();
        assert!(
            rent * 100 <= 1400 * (100 + d["office"]["over_budget_allowance_pct"].as_u64().unwrap()),
            "{t}: {r}"
        );
    }
    let r = a.say(renter, LOCATOR, "do they take section 8?").await;
    assert!(
        d["listings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["vouchers"] == true)
            && r.contains("Housing Choice Vouchers"),
        "{r}"
    );
    let r = a
        .say(
            renter,
            LOCATOR,
            "ugh nobody answers your phone, this is ridiculous",
        )
        .await;
    assert!(!r.contains(phone) && r.contains("text you"), "{r}");
    let h = eventually(WAIT, || async {
        let h = a.alerts("handoff").await;
        (!h.is_empty()).then_some(h)
    })
    .await
    .expect("a handoff alert");
    assert_eq!(field(&h[0], "do_not_use"), "phone");
    assert!(field(&h[0], "thread").contains("2br $1200-1400"));
    a.held(renter, LOCATOR, "so when will someone call me?")
        .await;
    a.release(renter, LOCATOR).await;
    for body in ["?", "thanks", "👍", "?", "ok", "thanks!"] {
        a.say(renter, LOCATOR, body).await;
    }
    let sent = a.sent_to(renter);
    let mut seen = std::collections::BTreeSet::new();
    for s in &sent {
        assert!(seen.insert(s.to_lowercase()), "repeated word for word: {s}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insurance_is_honest_hands_off_with_an_eta_and_never_repeats() {
    let a = agents(&[]).await;
    let d = data("insurance");
    let customer = "+15557662003";
    let r = a.say(customer, INSURANCE, "is this a bot?").await;
    assert!(r.contains("automated") && r.contains("not a person"), "{r}");
    a.say(customer, INSURANCE, "60615 30k 500 deductible no claims")
        .await;
    let r = a.say(customer, INSURANCE, "I want to buy").await;
    let monthly = premium(&d["rates"], "60615", 30_000, 500, 0);
    assert!(
        r.contains("licensed agent")
            && r.contains(&format!("{}/mo", cents(monthly)))
            && (r.contains("minutes") || r.contains(" by ")),
        "with the quote and an ETA from staff hours: {r}"
    );
    a.held(customer, INSURANCE, "so when will someone call me?")
        .await;
    a.release(customer, INSURANCE).await;
    let other = "+15557662013";
    a.say(other, INSURANCE, "hi").await;
    for body in ["?", "thanks", "👍", "?", "ok"] {
        a.say(other, INSURANCE, body).await;
    }
    let sent = a.sent_to(other);
    let mut seen = std::collections::BTreeSet::new();
    for s in &sent {
        assert!(seen.insert(s.to_lowercase()), "repeated word for word: {s}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_insurance_llm_guard_refuses_a_made_up_premium() {
    let d = data("insurance");
    let fake = llm("Renters insurance here costs just $4.99/mo with $500,000 of liability, and you're covered as of today!".to_owned()).await;
    let env = [
        ("OPENAI_API_KEY", "sk-e2e".to_owned()),
        ("OPENAI_BASE_URL", fake.base_url()),
        ("AGENTHOST_LLM_CHAIN", "openai".to_owned()),
    ];
    let a = agents(&env).await;
    let customer = "+15557662004";
    a.say(customer, INSURANCE, "hi").await;
    let r = a
        .say(
            customer,
            INSURANCE,
            "can I pay with a money order at a currency exchange?",
        )
        .await;
    assert_eq!(fake.requests().len(), 1, "the LLM was asked");
    assert!(
        !r.contains("$4.99") && !r.contains("$500,000"),
        "the made-up numbers never reach the customer: {r}"
    );
    assert!(
        r.contains("licensed agent"),
        "a person confirms instead: {r}"
    );
    let limit = dollars(d["rates"]["liability_limit"].as_u64().unwrap());
    assert_ne!(limit, "$500,000");
    let log = eventually(WAIT, || async {
        let l = a.host.logs();
        l.contains("llm-guard: replaced").then_some(l)
    })
    .await
    .expect("the replacement is logged");
    assert!(
        log.contains("amount $4.99") && log.contains("booking or approval"),
        "{log}"
    );
}
