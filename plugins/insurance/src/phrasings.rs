//! How the Insurance agent reads customers' texts, table-driven (see landlord-rep's
//! phrasings for the notation). Expectations: `zip=60615|-`, `cov=15000|-` (belongings
//! amount as stated), `liab=100000`, `ded=500|-`, `claims=2|-`, `t:<topic>`,
//! `peril=<key>`, `lang=es`, and flags `buy`, `person`, `upset`, `bot`, `who`, `called`,
//! `when_contact`, `done`, `thanks`, `greeting`, `yes`, `no`, `start_over`, `cheapest`,
//! `lang_req`, `empty`. Context `asked=zip|coverage|deductible|claims`, `es`.

use crate::understand::{self, Context, Field, Reading, Topic};

pub(crate) const ROWS: &[(&str, &str, &str)] = &[
    // ---- ZIP codes -----------------------------------------------------------------------
    ("", "60615", "zip=60615 cov=-"),
    ("", "my zip is 60649", "zip=60649"),
    ("", "zip code 60411", "zip=60411"),
    ("", "i live in 60637", "zip=60637"),
    ("asked=zip", "60120", "zip=60120"),
    ("asked=zip", "46320", "zip=46320"),
    ("", "46320", "zip=46320"),
    ("", "codigo postal 60608", "zip=60608"),
    (
        "",
        "60615 30k 500 deductible no claims",
        "zip=60615 cov=30000 ded=500 claims=0",
    ),
    // ---- belongings to cover -----------------------------------------------------------
    ("asked=coverage", "30k", "cov=30000"),
    ("asked=coverage", "$40,000", "cov=40000"),
    ("asked=coverage", "15 grand", "cov=15000"),
    ("", "15 grand", "cov=15000"),
    ("asked=coverage", "15000", "cov=15000 zip=-"),
    ("", "15000", "cov=15000 zip=-"),
    ("", "25000 of coverage", "cov=25000"),
    ("", "my stuff is worth about 20k", "cov=20000"),
    ("", "i want to cover 50,000", "cov=50000"),
    ("", "coverage of $35k", "cov=35000"),
    ("asked=coverage", "twenty thousand", "cov=20000"),
    ("asked=coverage", "like 10k", "cov=10000"),
    ("asked=coverage", "about 25 grand", "cov=25000"),
    ("asked=coverage", "1.5k", "cov=1500"),
    ("", "$500,000", "cov=500000"),
    ("", "quiero asegurar 20 mil", "cov=20000"),
    ("asked=coverage", "20 mil", "cov=20000"),
    ("", "mis cosas valen 15000", "cov=15000"),
    // ---- liability is not property --------------------------------------------------------
    (
        "",
        "I need $100,000 of liability",
        "liab=100000 cov=- t:liability",
    ),
    (
        "",
        "my landlord wants 100k liability",
        "liab=100000 cov=- t:landlord",
    ),
    ("", "can i get $300,000 liability", "liab=300000 cov=-"),
    ("", "liability of 500k", "liab=500000 cov=-"),
    (
        "",
        "30k coverage and 100k liability",
        "cov=30000 liab=100000",
    ),
    (
        "",
        "i want 100,000 in liability and 20,000 for my stuff",
        "liab=100000 cov=20000",
    ),
    ("", "$1,000 medical", "cov=-"),
    ("", "responsabilidad de 100 mil", "liab=100000 cov=-"),
    // ---- deductibles ---------------------------------------------------------------------
    ("asked=deductible", "500", "ded=500"),
    ("asked=deductible", "1000", "ded=1000"),
    ("asked=deductible", "$250", "ded=250"),
    ("", "$1000 deductible", "ded=1000 cov=-"),
    ("", "deductible 500", "ded=500"),
    ("", "make the deductible 1000", "ded=1000"),
    ("", "250 deductible", "ded=250"),
    (
        "asked=deductible",
        "whichever is cheapest",
        "cheapest ded=-",
    ),
    ("", "the cheapest one", "cheapest"),
    ("", "whatever costs less", "cheapest"),
    ("", "lo mas barato", "cheapest"),
    ("", "deducible de 500", "ded=500"),
    ("", "$750 deductible", "ded=- cov=-"),
    // ---- claims ----------------------------------------------------------------------------
    ("asked=claims", "0", "claims=0"),
    ("asked=claims", "none", "claims=0"),
    ("asked=claims", "no", "claims=0"),
    ("asked=claims", "never", "claims=0"),
    ("asked=claims", "2", "claims=2"),
    ("asked=claims", "one", "claims=1"),
    ("", "2 claims", "claims=2"),
    ("", "I had a claim in 2021", "claims=1"),
    (
        "",
        "one claim for a stolen bike",
        "claims=1 peril=bike peril=theft",
    ),
    ("", "no claims", "claims=0"),
    ("", "never filed a claim", "claims=0"),
    ("", "4 claims in 5 years", "claims=4"),
    ("asked=claims", "ninguno", "claims=0"),
    ("", "un reclamo", "claims=1"),
    ("", "2 reclamos", "claims=2"),
    // ---- several at once --------------------------------------------------------------------
    (
        "",
        "zip 60411, $50,000 coverage, $1000 deductible, 1 claim",
        "zip=60411 cov=50000 ded=1000 claims=1",
    ),
    (
        "",
        "60649 40k 250 ded 0 claims",
        "zip=60649 cov=40000 ded=250 claims=0",
    ),
    (
        "",
        "i'm in 60608, want 25k with the cheapest deductible, never had a claim",
        "zip=60608 cov=25000 cheapest claims=0",
    ),
    ("", "15 grand, 500 deductible", "cov=15000 ded=500"),
    (
        "",
        "60615, quiero asegurar 20 mil, deducible de 500, ningun reclamo",
        "zip=60615 cov=20000 ded=500 claims=0 lang=es",
    ),
    // ---- what it covers ------------------------------------------------------------------
    ("", "what does renters insurance cover?", "t:covers"),
    ("", "what's covered", "t:covers"),
    ("", "what is personal property", "t:property"),
    ("", "what is liability", "t:liability"),
    (
        "",
        "what's the difference between liability and property?",
        "t:difference t:liability t:property",
    ),
    ("", "liability vs personal property", "t:difference"),
    ("", "what isn't covered", "t:not_covered"),
    ("", "what is a deductible", "t:deductible"),
    ("", "what counts as a claim", "t:claims"),
    (
        "",
        "is it replacement cost or actual cash value",
        "t:valuation",
    ),
    ("", "my landlord needs proof of insurance", "t:landlord"),
    (
        "",
        "can you add my landlord as an interested party",
        "t:landlord",
    ),
    (
        "",
        "what if i cant live there after a fire",
        "t:loss_of_use peril=fire",
    ),
    (
        "",
        "does it pay medical bills if a guest gets hurt",
        "t:medical",
    ),
    ("", "does it cover theft?", "peril=theft"),
    ("", "what if my bike gets stolen", "peril=bike peril=theft"),
    ("", "what about flooding?", "peril=flood"),
    ("", "is my car covered", "peril=car"),
    ("", "does it cover my roommate's stuff", "peril=roommate"),
    ("", "is mold covered?", "peril=mold"),
    ("", "bed bugs?", "peril=pests"),
    ("", "if a pipe bursts", "peril=water"),
    ("", "does it cover my laptop", "peril=electronics"),
    ("", "earthquake?", "peril=earthquake"),
    ("", "what if my dog bites someone", "peril=dog_bite"),
    ("", "que cubre el seguro?", "t:covers lang=es"),
    ("", "cubre robo?", "peril=theft"),
    ("", "y si hay una inundacion", "peril=flood"),
    (
        "",
        "cual es la diferencia entre responsabilidad civil y bienes personales",
        "t:difference",
    ),
    // ---- price -------------------------------------------------------------------------------
    ("", "how much is renters insurance?", "t:price"),
    ("", "how much does it cost", "t:price"),
    ("", "whats the price", "t:price"),
    ("", "cuanto cuesta?", "t:price lang=es"),
    // ---- people, honesty, closing ------------------------------------------------------------
    ("", "I want to buy", "buy"),
    ("", "sign me up", "buy"),
    ("", "ok lets do it", "buy"),
    ("", "how do i pay", "buy"),
    ("", "I'd like to talk to an agent", "person"),
    ("", "can someone call me", "person"),
    ("", "is this a bot?", "bot !person"),
    ("", "who is this?", "who"),
    ("", "did you just call me?", "called !person"),
    ("", "so when will someone call me?", "when_contact person"),
    ("", "this is ridiculous", "upset"),
    ("", "nobody answers your phone", "upset"),
    ("", "already have insurance", "done"),
    ("", "no thanks", "done"),
    ("", "thanks!", "thanks"),
    ("", "hi", "greeting"),
    ("", "ok", "yes"),
    ("", "nope", "no"),
    ("", "start over", "start_over"),
    ("", "new quote", "start_over"),
    ("", "no hablo ingles", "lang=es lang_req !done"),
    ("es", "english please", "lang=en lang_req"),
    ("", "👍", "empty"),
    ("", "quiero comprar", "buy lang=es"),
    ("", "quiero hablar con un agente", "person lang=es"),
    // ---- more of how customers text -----------------------------------------------------
    (
        "",
        "hey how much for renters insurance in 60637",
        "zip=60637 t:price",
    ),
    (
        "",
        "need renters ins for my new apt, zip 60629",
        "zip=60629",
    ),
    ("", "im moving to 60649 next month", "zip=60649"),
    ("asked=zip", "its 60617", "zip=60617"),
    ("asked=zip", "60615 chicago", "zip=60615"),
    ("asked=zip", "chicago heights 60411", "zip=60411"),
    ("asked=zip", "springfield 62701", "zip=62701"),
    ("asked=zip", "gary indiana 46402", "zip=46402"),
    ("asked=coverage", "maybe 20k?", "cov=20000"),
    ("asked=coverage", "$25k", "cov=25000"),
    ("asked=coverage", "25,000", "cov=25000"),
    ("asked=coverage", "10000", "cov=10000"),
    ("asked=coverage", "100k", "cov=100000"),
    ("asked=coverage", "forty thousand", "cov=40000"),
    ("asked=coverage", "not sure, maybe 30 grand", "cov=30000"),
    ("asked=coverage", "the minimum", "cov=-"),
    ("asked=coverage", "cheapest", "cheapest"),
    ("", "i have about 12k worth of stuff", "cov=12000"),
    ("", "my things are worth 8 grand", "cov=8000"),
    ("", "i want $20,000 in coverage", "cov=20000"),
    ("", "cover 35000 please", "cov=35000"),
    ("", "insure 45k of belongings", "cov=45000"),
    ("", "15k property 100k liability", "cov=15000 liab=100000"),
    ("", "property 30000, deductible 500", "cov=30000 ded=500"),
    (
        "",
        "what if i want 200k liability",
        "liab=200000 t:liability",
    ),
    ("", "does it include liability", "t:liability"),
    ("", "is liability included", "t:liability"),
    (
        "",
        "my lease requires 100,000 liability",
        "liab=100000 t:landlord",
    ),
    ("asked=deductible", "$500 please", "ded=500"),
    ("asked=deductible", "1k", "ded=-"),
    ("asked=deductible", "the lowest price one", "cheapest"),
    ("asked=deductible", "whatever is cheapest", "cheapest"),
    ("asked=deductible", "250", "ded=250"),
    ("asked=deductible", "1,000", "ded=1000"),
    ("", "go with the 1000 deductible", "ded=1000"),
    ("", "change deductible to 250", "ded=250"),
    ("", "what if i do a 500 deductible instead", "ded=500"),
    ("", "how does the deductible work", "t:deductible"),
    ("asked=claims", "1", "claims=1"),
    ("asked=claims", "just one", "claims=1"),
    ("asked=claims", "zero", "claims=0"),
    ("asked=claims", "nope none", "claims=0"),
    ("asked=claims", "3", "claims=3"),
    ("asked=claims", "2 i think", "claims=2"),
    ("", "i filed 2 claims", "claims=2"),
    ("", "had one claim a few years ago", "claims=1"),
    ("", "i had a theft claim in 2022", "claims=1 peril=theft"),
    ("", "5 claims", "claims=5"),
    ("", "never made a claim", "claims=0"),
    ("", "does a claim i didnt get paid for count", "t:claims"),
    ("", "how do i file a claim", "t:claims"),
    ("", "what does it not cover", "t:not_covered"),
    (
        "",
        "does renters insurance cover my stuff if it gets stolen from my car",
        "peril=theft peril=car",
    ),
    ("", "what about if there's a fire", "peril=fire"),
    ("", "smoke damage?", "peril=smoke"),
    ("", "does it cover vandalism", "peril=vandalism"),
    ("", "if a storm breaks my window", "peril=windstorm"),
    ("", "my upstairs neighbor's leak", "peril=water"),
    ("", "my iphone", "peril=electronics"),
    ("", "my engagement ring", "peril=jewelry"),
    ("", "if a guest slips and falls", "peril=injury"),
    ("", "stuff stolen while i travel", "peril=theft"),
    ("", "is the building covered", "peril=building"),
    ("", "roaches?", "peril=pests"),
    ("", "termites", "peril=pests"),
    ("", "is it actual cash value", "t:valuation"),
    ("", "do you pay depreciated value", "t:valuation"),
    ("", "can you send proof to my landlord", "t:landlord"),
    (
        "",
        "my landlord wants to be an additional insured",
        "t:landlord",
    ),
    ("", "what's a good amount of coverage", "cov=-"),
    ("", "how much would 30k cost", "cov=30000 t:price"),
    ("", "whats the monthly cost", "t:price"),
    ("", "what are your rates", "t:price"),
    ("", "premium?", "t:price"),
    ("", "ok buy it", "buy"),
    ("", "i'll take it", "buy"),
    ("", "how do i get covered", "buy"),
    ("", "can i start the policy today", "buy"),
    ("", "is there a real person i can talk to", "person"),
    ("", "let me speak with an agent", "person"),
    ("", "are you ai", "bot"),
    ("", "whos this", "who"),
    ("", "who called me from this number", "called"),
    ("", "any update on my agent call", "when_contact"),
    ("", "this is a scam", "upset"),
    ("", "already covered thanks", "done"),
    ("", "nevermind", "!buy"),
    ("", "ty", "thanks"),
    ("", "good morning", "greeting"),
    ("", "restart", "start_over"),
    (
        "",
        "me puede cotizar? codigo postal 60608",
        "zip=60608 lang=es",
    ),
    (
        "",
        "cuanto cuesta un seguro de inquilino",
        "t:price lang=es",
    ),
    ("", "quiero cubrir 30 mil", "cov=30000"),
    ("", "el deducible mas barato", "cheapest"),
    ("", "tuve un reclamo en 2022", "claims=1"),
    ("", "cubre mi bicicleta?", "peril=bike"),
    ("", "cubre el carro?", "peril=car"),
    ("", "que pasa si hay un incendio", "peril=fire"),
    ("", "eres una persona?", "bot"),
    ("", "quien me escribe?", "who"),
    ("", "gracias", "thanks lang=es"),
];

#[allow(clippy::too_many_lines)]
fn misses(r: &Reading, spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |ok: bool, what: &str, got: String| {
        if !ok {
            out.push(format!("{what} (got {got})"));
        }
    };
    for item in spec.split_whitespace() {
        let (neg, item) = item.strip_prefix('!').map_or((false, item), |x| (true, x));
        if let Some(t) = item.strip_prefix("t:") {
            let topic: Topic = serde_json::from_value(serde_json::Value::String(t.to_owned()))
                .unwrap_or_else(|_| panic!("no topic {t}"));
            check(
                r.topics.contains(&topic) != neg,
                item,
                format!("{:?}", r.topics),
            );
            continue;
        }
        let (key, value) = item.split_once('=').unwrap_or((item, ""));
        let want = (value != "-").then_some(value);
        match key {
            "zip" => check(r.zip.as_deref() == want, item, format!("{:?}", r.zip)),
            "cov" => check(
                r.coverage.map(|v| v.to_string()).as_deref() == want,
                item,
                format!("{:?}", r.coverage),
            ),
            "liab" => check(
                r.liability.map(|v| v.to_string()).as_deref() == want,
                item,
                format!("{:?}", r.liability),
            ),
            "ded" => check(
                r.deductible.map(|v| v.to_string()).as_deref() == want,
                item,
                format!("{:?}", r.deductible),
            ),
            "claims" => check(
                r.claims.map(|v| v.to_string()).as_deref() == want,
                item,
                format!("{:?}", r.claims),
            ),
            "peril" => check(r.perils.contains(&value), item, format!("{:?}", r.perils)),
            "lang" => check(r.lang == value, item, r.lang.clone()),
            flag => {
                let i = &r.intents;
                let got = match flag {
                    "buy" => i.buy,
                    "person" => i.person,
                    "upset" => i.upset,
                    "bot" => i.bot,
                    "who" => i.who,
                    "called" => i.called_me,
                    "when_contact" => i.when_contact,
                    "done" => i.done,
                    "thanks" => i.thanks,
                    "greeting" => i.greeting,
                    "yes" => i.yes,
                    "no" => i.no,
                    "start_over" => i.start_over,
                    "cheapest" => i.cheapest,
                    "lang_req" => r.lang_requested,
                    "empty" => r.empty,
                    other => panic!("unknown expectation {other}"),
                };
                check(got != neg, item, got.to_string());
            }
        }
    }
    out
}

#[test]
fn customers_phrasings_are_understood() {
    let cfg = crate::data::sample();
    let langs = crate::tests::langs();
    let mut failures = Vec::new();
    for (cx, text, spec) in ROWS {
        let mut asked = None;
        let mut lang = None;
        for c in cx.split_whitespace() {
            match c {
                "asked=zip" => asked = Some(Field::Zip),
                "asked=coverage" => asked = Some(Field::Coverage),
                "asked=deductible" => asked = Some(Field::Deductible),
                "asked=claims" => asked = Some(Field::Claims),
                "es" => lang = Some("es"),
                other => panic!("bad context {other}"),
            }
        }
        let r = understand::read(&cfg, &langs, text, &Context { lang, asked });
        let m = misses(&r, spec);
        if !m.is_empty() {
            failures.push(format!("{text:?} [{cx}]: {}", m.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} phrasings misread:\n{}",
        failures.len(),
        ROWS.len(),
        failures.join("\n")
    );
    assert!(ROWS.len() >= 200, "{} rows", ROWS.len());
}
