//! How the Locator reads renters' texts, table-driven (see landlord-rep's phrasings for
//! the notation). Locator-specific expectations: `areas=Pilsen,Hyde_Park`,
//! `op=add|remove|replace`, `anywhere`, `uncovered=Lincoln_Park`, `pick=1` (option
//! number, 1-based), `named=<listing id>`, `set=1,3|-` (several options at once,
//! 1-based), `cheaper`, `budget_open`, `more`, `start_over`, `options`. Context `opts`
//! means three options are on the table (Harper Court Flats, Halsted Street Flat, Loomis
//! Studio); `touring` that a tour time is awaited. Today is Sunday 2026-11-22.

use crate::understand::{self, AreaOp, Context, Field, Reading, Topic};
use agenthost_sdk::time::{days_from_civil, iso_date};

pub(crate) const ROWS: &[(&str, &str, &str)] = &[
    // ---- areas: set, add, remove, replace, cover --------------------------------------
    (
        "",
        "do you have anything in pilsen?",
        "areas=Pilsen op=add t:availability",
    ),
    ("asked=area", "pilsen", "areas=Pilsen"),
    (
        "asked=area",
        "hyde park or bridgeport",
        "areas=Hyde_Park,Bridgeport",
    ),
    ("asked=area", "logan sq", "areas=Logan_Square"),
    ("asked=area", "hyde pk", "areas=Hyde_Park"),
    (
        "asked=area",
        "rogers pk or uptown",
        "areas=Rogers_Park,Uptown",
    ),
    ("asked=area", "anywhere", "anywhere"),
    ("asked=area", "no preference", "anywhere"),
    ("asked=area", "doesnt matter", "anywhere"),
    ("asked=area", "any", "anywhere"),
    (
        "asked=area",
        "north side",
        "areas=Logan_Square,Rogers_Park,Uptown",
    ),
    (
        "asked=area",
        "south side",
        "areas=Hyde_Park,Bronzeville,South_Shore,Bridgeport",
    ),
    ("", "pilsen too", "areas=Pilsen op=add"),
    ("", "also hyde park", "areas=Hyde_Park op=add"),
    ("", "add logan square", "areas=Logan_Square op=add"),
    ("", "what about bronzeville", "areas=Bronzeville op=add"),
    ("", "and south shore?", "areas=South_Shore op=add"),
    ("", "not uptown", "areas=Uptown op=remove"),
    ("", "no rogers park", "areas=Rogers_Park op=remove"),
    ("", "remove pilsen", "areas=Pilsen op=remove"),
    ("", "take off logan", "areas=Logan_Square op=remove"),
    ("", "anywhere but uptown", "areas=Uptown op=remove anywhere"),
    (
        "",
        "anything except bridgeport",
        "areas=Bridgeport op=remove",
    ),
    ("", "just pilsen", "areas=Pilsen op=replace"),
    ("", "only hyde park", "areas=Hyde_Park op=replace"),
    (
        "",
        "actually logan square instead",
        "areas=Logan_Square op=replace",
    ),
    ("", "switch to south shore", "areas=South_Shore op=replace"),
    ("", "what areas do you cover", "t:areas"),
    ("", "which neighborhoods do you have", "t:areas"),
    (
        "",
        "do you cover the south side",
        "t:areas areas=Hyde_Park,Bronzeville,South_Shore,Bridgeport",
    ),
    ("", "anything in lincoln park?", "uncovered=Lincoln_Park"),
    ("", "what about wicker park", "uncovered=Wicker_Park"),
    ("", "do you have chatham", "uncovered=Chatham"),
    ("", "solo pilsen", "areas=Pilsen op=replace"),
    ("", "tambien hyde park", "areas=Hyde_Park op=add"),
    ("", "ya no uptown", "areas=Uptown op=remove"),
    ("", "en que zonas tienen", "t:areas lang=es"),
    ("asked=area", "donde sea", "anywhere"),
    // ---- bedrooms --------------------------------------------------------------------
    ("", "looking for a 2br", "beds=2"),
    ("", "any studios?", "beds=0"),
    ("", "studios in pilsen", "beds=0 areas=Pilsen"),
    ("", "1 bed", "beds=1"),
    ("", "two bedroom", "beds=2"),
    ("", "3 bd", "beds=3"),
    ("", "2 or 3 bedrooms", "beds=2-3"),
    ("", "at least 2 br", "beds=2+"),
    ("", "studio or 1br", "beds=0-1"),
    ("asked=beds", "2", "beds=2"),
    ("asked=beds", "one", "beds=1"),
    ("asked=beds", "3 please", "beds=3"),
    ("", "un estudio", "beds=0"),
    ("", "dos recamaras", "beds=2"),
    ("", "need 3 bedrooms for my family", "beds=3"),
    // ---- budgets ---------------------------------------------------------------------
    ("", "$1200-1400", "$=1200-1400"),
    ("", "1200 to 1400", "$=1200-1400"),
    ("", "between 1k and 1.3k", "$=1000-1300"),
    ("", "under 1k", "$=1000"),
    ("", "$1,300 max", "$=1300"),
    ("", "max 1500", "$=1500"),
    ("", "no more than 1100", "$=1100"),
    ("", "up to 2000", "$=2000"),
    ("", "around 1200", "$=1200"),
    ("", "i can pay 1100 a month", "$=1100"),
    ("", "1.5k", "$=1500"),
    ("asked=budget", "1200", "$=1200"),
    ("asked=budget", "twelve hundred", "$=1200"),
    ("asked=budget", "like 1300", "$=1300"),
    ("", "credit in the 700s", "$=-"),
    ("", "i make 4000 a month", "$=-"),
    ("", "hasta 1200", "$=1200"),
    ("", "entre 1000 y 1400", "$=1000-1400"),
    ("", "zip 60615", "$=-"),
    // ---- pets ------------------------------------------------------------------------
    ("", "I have a 60 lb dog", "pets=dog:60"),
    ("", "we have a 70 pound lab", "pets=dog:70"),
    ("", "i have a cat", "pets=cat"),
    ("", "2 cats", "pets=cat"),
    ("", "a dog and a cat", "pets=dog+cat"),
    ("", "no pets", "pets=none"),
    ("asked=pets", "none", "pets=none"),
    ("asked=pets", "nope", "pets=none"),
    ("asked=pets", "dog", "pets=dog"),
    ("", "do you allow dogs?", "pets=- t:pets"),
    ("", "tengo un gato", "pets=cat"),
    ("", "tengo un perro de 40 libras", "pets=dog:40"),
    ("", "i have a service dog", "pets=service"),
    // ---- move-in -----------------------------------------------------------------------
    ("asked=move", "jan 1", "move=2027-01-01"),
    ("asked=move", "Dec 1", "move=2026-12-01"),
    ("", "moving january 1", "move=2027-01-01"),
    ("asked=move", "asap", "move=2026-11-22"),
    ("asked=move", "next month", "move=2026-12-01"),
    ("asked=move", "end of december", "move=2026-12-31"),
    ("asked=move", "12/15", "move=2026-12-15"),
    ("asked=move", "in 3 weeks", "move=2026-12-13"),
    ("", "need to move by feb 1", "move=2027-02-01"),
    ("", "my lease is up jan 31", "move=2027-01-31"),
    ("asked=move", "el 1 de enero", "move=2027-01-01"),
    ("", "me mudo en diciembre", "move=2026-12-01"),
    // ---- options, picks, tours ---------------------------------------------------------
    ("opts", "1", "pick=1"),
    ("opts", "#2", "pick=2"),
    ("opts", "option 3", "pick=3"),
    ("opts", "the first one", "pick=1"),
    ("opts", "the second", "pick=2"),
    ("opts", "tour 1", "pick=1 tour"),
    ("opts", "TOUR 2", "pick=2 tour"),
    (
        "opts",
        "can I see the first one saturday morning?",
        "pick=1 tour day=2026-11-28 part=morning",
    ),
    ("opts", "I'd like to tour the first one", "pick=1 tour"),
    (
        "opts",
        "can i see harper court",
        "named=hp-harper-5400 tour",
    ),
    (
        "opts",
        "the halsted one looks good, can i visit",
        "named=bp-halsted-3100 tour",
    ),
    (
        "opts",
        "tour #3 tuesday at 6pm",
        "pick=3 tour day=2026-11-24 at=18:00",
    ),
    (
        "opts",
        "can i check out the loomis one this weekend",
        "named=pl-loomis-1900 tour day=2026-11-28",
    ),
    ("touring", "tuesday at 6pm", "day=2026-11-24 at=18:00"),
    ("touring", "saturday after 2", "day=2026-11-28 after=14:00"),
    ("touring", "tomorrow morning", "day=2026-11-23 part=morning"),
    ("touring", "any weekday after 5", "after=17:00"),
    ("touring", "el sabado a las 10", "day=2026-11-28 at=10:00"),
    ("opts", "quiero ver la primera", "pick=1 tour"),
    ("opts", "more", "more"),
    ("opts", "other options?", "more"),
    ("opts", "show me more", "more"),
    ("opts", "anything else?", "more"),
    ("opts", "mas opciones", "more"),
    ("", "start over", "start_over"),
    ("", "new search", "start_over"),
    ("", "empezar de nuevo", "start_over"),
    ("", "any options for me?", "options"),
    ("", "what do you have", "options"),
    ("", "show me some listings", "options"),
    // ---- several options at once, compared -------------------------------------------
    ("opts", "which of those allow dogs", "set=1,2,3 t:pets"),
    (
        "opts",
        "is heat included in both?",
        "set=1,2,3 t:utilities util=heat",
    ),
    ("opts", "whats the difference between 1 and 2", "set=1,2"),
    ("opts", "what are the fees for 1 and 3", "set=1,3 t:fees"),
    ("opts", "laundry at harper or halsted?", "set=1,2 t:laundry"),
    ("opts", "which is cheaper 2 or 3", "set=2,3 cheaper"),
    ("opts", "which one is cheaper", "set=1,2,3 cheaper"),
    ("opts", "1 vs 2?", "set=1,2"),
    ("opts", "compare the first and the third", "set=1,3"),
    (
        "opts",
        "how far are 1 & 2 from the train",
        "set=1,2 t:distance lm=transit",
    ),
    (
        "opts",
        "any of them near the lake?",
        "set=1,2,3 t:distance lm=lake",
    ),
    ("opts", "cual de esas acepta perros?", "set=1,2,3 t:pets"),
    ("opts", "cual es mas barato, 1 o 3?", "set=1,3 cheaper"),
    (
        "opts",
        "ambos incluyen la calefaccion?",
        "set=1,2,3 t:utilities",
    ),
    // Not several options.
    ("opts", "do you have 1 or 2 bedrooms?", "set=- beds=1-2"),
    (
        "opts",
        "does the first one take dogs",
        "set=- pick=1 t:pets",
    ),
    ("opts", "cual es su horario?", "set=- t:office_hours"),
    ("opts", "tour 1 and 2 please", "tour"),
    ("", "which is cheaper", "set=- cheaper"),
    // ---- no maximum rent -------------------------------------------------------------
    ("asked=budget", "no limit", "budget_open"),
    ("asked=budget", "doesn't matter", "budget_open"),
    ("asked=budget", "idc", "budget_open"),
    ("asked=budget", "im flexible", "budget_open"),
    ("asked=budget", "1500", "$=1500 !budget_open"),
    ("asked=budget", "no importa", "budget_open"),
    (
        "",
        "price doesn't matter, need 2br in pilsen",
        "budget_open beds=2",
    ),
    ("", "doesn't matter", "!budget_open"),
    // ---- questions about an option -----------------------------------------------------
    (
        "opts",
        "does the first one include heat?",
        "pick=1 t:utilities util=heat",
    ),
    (
        "opts",
        "is water included at #2",
        "pick=2 t:utilities util=water",
    ),
    ("opts", "laundry at #2?", "pick=2 t:laundry"),
    (
        "opts",
        "is there a washer dryer in the loomis studio",
        "named=pl-loomis-1900 t:laundry",
    ),
    (
        "opts",
        "how far is 1 from the train",
        "pick=1 t:distance lm=transit",
    ),
    (
        "opts",
        "is harper court close to the lake",
        "named=hp-harper-5400 t:distance lm=lake",
    ),
    (
        "opts",
        "what's the deposit on the first one",
        "pick=1 t:fees",
    ),
    ("opts", "application fee for #3?", "pick=3 t:fees"),
    ("opts", "how long is the lease on 2", "pick=2 t:lease"),
    ("opts", "does the second one take dogs", "pick=2 t:pets"),
    ("opts", "where is the first one", "pick=1 t:location"),
    (
        "opts",
        "what's the address of halsted",
        "named=bp-halsted-3100 t:location",
    ),
    (
        "opts",
        "does the first one have a dishwasher",
        "pick=1 t:features",
    ),
    ("opts", "how much is the second one", "pick=2 t:rent"),
    ("opts", "is 1 still available", "pick=1 t:availability"),
    (
        "opts",
        "la primera incluye la luz?",
        "pick=1 t:utilities util=electricity",
    ),
    // ---- general questions ---------------------------------------------------------------
    ("", "do you charge a fee?", "t:service_fee"),
    ("", "is this free?", "t:service_fee"),
    ("", "how much do you charge", "t:service_fee"),
    ("", "cobran algo?", "t:service_fee lang=es"),
    ("", "do you take section 8", "t:vouchers"),
    ("", "do they accept vouchers", "t:vouchers"),
    ("", "aceptan seccion 8?", "t:vouchers lang=es"),
    ("", "do you speak spanish", "t:languages"),
    ("", "what are your hours", "t:office_hours"),
    ("", "are you open sunday", "t:office_hours"),
    ("", "what do landlords require for credit", "t:screening"),
    ("", "i have an eviction, can i still rent", "t:screening"),
    ("", "anything near the lake", "near=lake"),
    ("", "close to the red line please", "near=transit"),
    ("", "near a park", "near=park"),
    // ---- people, honesty, closing --------------------------------------------------------
    ("", "can I talk to a real person", "person !bot"),
    ("", "call me", "person"),
    ("", "is this a bot?", "bot !person"),
    ("", "who is this?", "who"),
    ("", "did you just call me?", "called !person"),
    (
        "",
        "who is this? did you just call me?",
        "who called !person",
    ),
    ("", "so when will someone call me?", "when_contact person"),
    ("", "nobody answers your phone", "phone_fails upset"),
    ("", "this is ridiculous", "upset"),
    ("", "found a place, thanks", "done thanks"),
    ("", "not interested anymore", "done"),
    ("", "no hablo ingles", "lang=es lang_req !done"),
    ("es", "english please", "lang=en lang_req"),
    ("", "thanks!", "thanks"),
    ("", "hi", "greeting"),
    ("", "yes", "yes"),
    ("", "nah", "no"),
    ("", "👍", "empty"),
    ("", "quien es?", "who"),
    ("", "quiero hablar con una persona", "person"),
    // ---- several at once -----------------------------------------------------------------
    (
        "",
        "2 bed in pilsen or bridgeport under 1400, moving jan 1, I have a dog",
        "beds=2 areas=Pilsen,Bridgeport $=1400 move=2027-01-01 pets=dog",
    ),
    (
        "",
        "1 bedroom in rogers park or uptown under $1,250, moving jan 1, no pets",
        "beds=1 areas=Rogers_Park,Uptown $=1250 move=2027-01-01 pets=none",
    ),
    (
        "",
        "studio near the lake under 1100",
        "beds=0 near=lake $=1100",
    ),
    (
        "",
        "hi im Ana, need a 2br in hyde park asap with my 30 lb dog",
        "name=Ana beds=2 areas=Hyde_Park move=2026-11-22 pets=dog:30",
    ),
    (
        "",
        "3br on the south side, 1600 max, 2 cats",
        "beds=3 areas=Hyde_Park,Bronzeville,South_Shore,Bridgeport $=1600 pets=cat",
    ),
    (
        "",
        "busco un estudio en pilsen hasta 1000, sin mascotas",
        "beds=0 areas=Pilsen $=1000 pets=none lang=es",
    ),
    // ---- more of how renters text a locator -----------------------------------------
    (
        "",
        "hey whats good, need a spot in logan",
        "areas=Logan_Square op=add",
    ),
    (
        "",
        "looking in bronzeville or hyde park",
        "areas=Bronzeville,Hyde_Park",
    ),
    (
        "",
        "im open to pilsen and bridgeport",
        "areas=Pilsen,Bridgeport",
    ),
    (
        "",
        "north side only",
        "areas=Logan_Square,Rogers_Park,Uptown op=replace",
    ),
    ("", "nothing in uptown please", "areas=Uptown op=remove"),
    ("", "skip rogers park", "areas=Rogers_Park op=remove"),
    ("", "forget bronzeville", "areas=Bronzeville op=remove"),
    ("", "can you add south shore", "areas=South_Shore op=add"),
    ("", "maybe hyde park too", "areas=Hyde_Park op=add"),
    ("", "lets just do logan", "areas=Logan_Square op=replace"),
    ("", "rather pilsen", "areas=Pilsen op=replace"),
    ("", "anything in evanston", "uncovered=Evanston"),
    ("", "do you have stuff in the loop", "uncovered=the_Loop"),
    ("", "got anything in oak park", "uncovered=Oak_Park"),
    ("asked=area", "wherever is cheapest", "anywhere"),
    ("asked=area", "i dont care", "anywhere"),
    ("", "2bd 1ba", "beds=2"),
    ("", "a 1 br for me", "beds=1"),
    ("", "3 bedroom 2 bath", "beds=3"),
    ("", "need a bigger place, 4 bedrooms", "beds=4"),
    ("", "efficiency or studio", "beds=0"),
    ("", "2 bdrm under 1300", "beds=2 $=1300"),
    ("", "my budget is 1100-1250", "$=1100-1250"),
    ("", "$900 max for a studio", "$=900 beds=0"),
    ("", "can't go over 1400", "$=1400"),
    ("", "nothing over 1600", "$=1600"),
    ("", "1k-1.2k", "$=1000-1200"),
    ("", "like 1000 a month", "$=1000"),
    ("asked=budget", "about 1500", "$=1500"),
    ("asked=budget", "1250 tops", "$=1250"),
    ("", "no dogs or cats", "pets=none"),
    ("", "just a small cat", "pets=cat"),
    ("", "my pitbull is 65 lbs", "pets=dog:65"),
    ("", "two dogs, both under 30 pounds", "pets=dog:30"),
    ("", "emotional support dog", "pets=service"),
    ("asked=move", "right away", "move=2026-11-22"),
    ("asked=move", "first of the year", "move=2027-01-01"),
    ("asked=move", "beginning of feb", "move=2027-02-01"),
    ("asked=move", "mid january", "move=2027-01-15"),
    ("asked=move", "in a month", "move=2026-12-01"),
    ("", "need it by december 15", "move=2026-12-15"),
    ("opts", "i like number 2", "pick=2"),
    ("opts", "the last one", "!tour"),
    (
        "opts",
        "can i see #1 tomorrow at 5",
        "pick=1 tour day=2026-11-23 at=17:00",
    ),
    ("opts", "id like to view the third one", "pick=3 tour"),
    ("opts", "set up a showing for 2", "pick=2 tour"),
    (
        "opts",
        "can i look at harper court saturday afternoon",
        "named=hp-harper-5400 tour day=2026-11-28 part=afternoon",
    ),
    ("opts", "is the second one pet friendly", "pick=2 t:pets"),
    (
        "opts",
        "how much is the deposit for halsted",
        "named=bp-halsted-3100 t:fees",
    ),
    (
        "opts",
        "is heat included in the loomis one",
        "named=pl-loomis-1900 t:utilities util=heat",
    ),
    ("opts", "what floor is #1 on", "pick=1"),
    ("opts", "does 3 have in unit laundry", "pick=3 t:laundry"),
    ("opts", "any more?", "more"),
    ("opts", "next", "more"),
    ("opts", "show me others", "more"),
    ("", "wait start over", "start_over"),
    ("", "reset my search", "start_over"),
    ("", "can you send me some options", "options"),
    ("", "whats out there for me", "options"),
    ("", "is your service free", "t:service_fee"),
    ("", "do i have to pay a locator fee", "t:service_fee"),
    ("", "does it cost me anything", "t:service_fee"),
    ("", "do all the places take vouchers", "t:vouchers"),
    ("", "i have a cha voucher", "t:vouchers"),
    ("", "anyone speak spanish there", "t:languages"),
    ("", "when are you open", "t:office_hours"),
    ("", "do landlords check credit", "t:screening"),
    ("", "something by the beach", "near=lake"),
    ("", "walking distance to the train", "near=transit"),
    ("", "are you a real person", "bot"),
    ("", "whos texting me", "who"),
    ("", "someone called me from this number", "called"),
    ("", "let me talk to someone", "person"),
    ("", "still waiting for a call back", "when_contact"),
    ("", "your phone goes straight to voicemail", "phone_fails"),
    ("", "we signed somewhere else", "done"),
    ("", "appreciate it", "thanks"),
    ("", "good morning", "greeting"),
    ("", "hola buenas", "greeting lang=es"),
    (
        "",
        "¿tienen departamentos en pilsen?",
        "areas=Pilsen t:availability lang=es",
    ),
    (
        "",
        "busco algo en logan con mi perro",
        "areas=Logan_Square pets=dog lang=es",
    ),
];

const OPTS: &[&str] = &["hp-harper-5400", "bp-halsted-3100", "pl-loomis-1900"];

fn topic(name: &str) -> Topic {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .unwrap_or_else(|_| panic!("no topic {name}"))
}

fn hhmm(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

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
            check(
                r.topics.contains(&topic(t)) != neg,
                item,
                format!("{:?}", r.topics),
            );
            continue;
        }
        let (key, value) = item.split_once('=').unwrap_or((item, ""));
        let value = value.replace('_', " ");
        let none = value == "-";
        match key {
            "areas" => check(r.areas.join(",") == value, item, r.areas.join(",")),
            "op" => {
                let want = match value.as_str() {
                    "add" => AreaOp::Add,
                    "remove" => AreaOp::Remove,
                    _ => AreaOp::Replace,
                };
                check(r.area_op == Some(want), item, format!("{:?}", r.area_op));
            }
            "uncovered" => check(
                r.uncovered == Some(value.as_str()),
                item,
                format!("{:?}", r.uncovered),
            ),
            "pick" => check(
                r.pick.map(|p| (p + 1).to_string()).as_deref() == Some(value.as_str()),
                item,
                format!("{:?}", r.pick),
            ),
            "named" => check(
                r.named.as_deref() == Some(value.as_str()),
                item,
                format!("{:?}", r.named),
            ),
            "set" => {
                let got: Vec<String> = r.set.iter().map(|k| (k + 1).to_string()).collect();
                let got = got.join(",");
                let want = if value == "-" { "" } else { value.as_str() };
                check(got == want, item, got.clone());
            }
            "beds" => {
                let got = r.beds.map(|b| match (b.min, b.max) {
                    (a, z) if a == z => a.to_string(),
                    (a, 9) => format!("{a}+"),
                    (a, z) => format!("{a}-{z}"),
                });
                check(
                    got.as_deref() == (!none).then_some(value.as_str()),
                    item,
                    format!("{got:?}"),
                );
            }
            "$" => {
                let got = r.budget.map(|b| {
                    b.min
                        .map_or(b.max.to_string(), |m| format!("{m}-{}", b.max))
                });
                check(
                    got.as_deref() == (!none).then_some(value.as_str()),
                    item,
                    format!("{got:?}"),
                );
            }
            "pets" => {
                let got = r.pets.map(|p| {
                    if p.service {
                        "service".to_owned()
                    } else if p.none() {
                        "none".to_owned()
                    } else {
                        let mut s = Vec::new();
                        if p.dogs {
                            s.push(p.dog_lbs.map_or("dog".to_owned(), |w| format!("dog:{w}")));
                        }
                        if p.cats {
                            s.push("cat".to_owned());
                        }
                        s.join("+")
                    }
                });
                check(
                    got.as_deref() == (!none).then_some(value.as_str()),
                    item,
                    format!("{got:?}"),
                );
            }
            "move" => check(
                r.move_in.map(iso_date).as_deref() == Some(value.as_str()),
                item,
                format!("{:?}", r.move_in.map(iso_date)),
            ),
            "day" => check(
                r.when.day.map(iso_date).as_deref() == Some(value.as_str()),
                item,
                format!("{:?}", r.when.day.map(iso_date)),
            ),
            "at" => check(
                r.when.minute.map(hhmm).as_deref() == Some(value.as_str()),
                item,
                format!("{:?}", r.when.minute),
            ),
            "after" => check(
                r.when.after.map(hhmm).as_deref() == Some(value.as_str()),
                item,
                format!("{:?}", r.when.after),
            ),
            "part" => check(
                format!("{:?}", r.when.part).to_lowercase() == format!("some({value})"),
                item,
                format!("{:?}", r.when.part),
            ),
            "lang" => check(r.lang == value, item, r.lang.clone()),
            "near" => check(
                r.near.contains(&value.as_str()),
                item,
                format!("{:?}", r.near),
            ),
            "lm" => check(
                r.landmark == Some(value.as_str()),
                item,
                format!("{:?}", r.landmark),
            ),
            "util" => check(
                r.utilities.contains(&value.as_str()),
                item,
                format!("{:?}", r.utilities),
            ),
            "name" => check(
                r.name.as_deref() == Some(value.as_str()),
                item,
                format!("{:?}", r.name),
            ),
            flag => {
                let i = &r.intents;
                let got = match flag {
                    "person" => i.person,
                    "upset" => i.upset,
                    "bot" => i.bot,
                    "who" => i.who,
                    "called" => i.called_me,
                    "when_contact" => i.when_contact,
                    "phone_fails" => i.phone_fails,
                    "done" => i.done,
                    "tour" => i.tour,
                    "thanks" => i.thanks,
                    "greeting" => i.greeting,
                    "yes" => i.yes,
                    "no" => i.no,
                    "more" => i.more,
                    "start_over" => i.start_over,
                    "options" => i.options,
                    "anywhere" => r.anywhere,
                    "lang_req" => r.lang_requested,
                    "empty" => r.empty,
                    "cheaper" => r.cheaper,
                    "budget_open" => r.budget_open,
                    other => panic!("unknown expectation {other}"),
                };
                check(got != neg, item, got.to_string());
            }
        }
    }
    out
}

#[test]
fn renters_phrasings_are_understood() {
    let inv = crate::data::sample();
    let langs = crate::tests::langs();
    let today = days_from_civil(2026, 11, 22);
    let opts: Vec<String> = OPTS.iter().map(|s| s.to_string()).collect();
    let mut failures = Vec::new();
    for (cx, text, spec) in ROWS {
        let mut asked = None;
        let mut options: &[String] = &[];
        let mut touring = false;
        let mut lang = None;
        for c in cx.split_whitespace() {
            match c {
                "asked=beds" => asked = Some(Field::Bedrooms),
                "asked=budget" => asked = Some(Field::Budget),
                "asked=area" => asked = Some(Field::Area),
                "asked=move" => asked = Some(Field::MoveIn),
                "asked=pets" => asked = Some(Field::Pets),
                "opts" => options = &opts,
                "touring" => touring = true,
                "es" => lang = Some("es"),
                other => panic!("bad context {other}"),
            }
        }
        let r = understand::read(
            &inv,
            &langs,
            text,
            &Context {
                lang,
                asked,
                options,
                touring,
                today,
            },
        );
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
