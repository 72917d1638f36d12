//! The insurance agent's conversation: answer first — what a renters policy covers,
//! liability vs property, a peril, the deductible, claims, the price — from the data, then
//! collect what a quote needs (ZIP, belongings to cover, deductible, claims in 5 years)
//! one question at a time, quote exactly from the rate table, follow up once, hand off to
//! a licensed agent on request or when the claims history needs a person. Pure: returns
//! [`Action`]s.

use crate::data::Config;
use crate::rates::{self, Quote};
use crate::understand::{self, Context, Field, Reading, Topic};
use agenthost_sdk::compose::{self, priority::*};
use agenthost_sdk::hours::Eta;
use agenthost_sdk::lang::{Language, Languages};
use agenthost_sdk::reply::Say;
use agenthost_sdk::text::{dollars, dollars_cents};
use agenthost_sdk::time::{MS_PER_HOUR, MS_PER_MINUTE};
use serde::{Deserialize, Serialize};

/// One customer's quote request; stored under `customer:<number>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    pub number: String,
    pub conversation_id: Option<String>,
    pub lang: Option<String>,
    pub name: Option<String>,
    pub messages_in: u32,
    pub zip: Option<String>,
    pub coverage: Option<u32>,
    pub deductible: Option<u32>,
    pub claims: Option<u32>,
    pub asked: Option<Field>,
    pub question_turn: u32,
    pub last_inbound_ms: u64,
    pub monthly_cents: Option<u64>,
    pub followup_pending: bool,
    pub followup_sent: bool,
    pub handed_off: bool,
    pub handoff_notice_ms: Option<u64>,
    pub handoff_eta_ms: Option<u64>,
    pub avoid: Vec<String>,
    pub questions_sent: Vec<u64>,
    pub replies: Vec<u64>,
    pub opted_out: bool,
}

impl Customer {
    pub fn new(number: &str) -> Customer {
        Customer {
            number: number.to_owned(),
            ..Customer::default()
        }
    }

    fn lang(&self) -> &str {
        self.lang.as_deref().unwrap_or("en")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Reply(String),
    Alert {
        kind: &'static str,
        severity: Severity,
        message: String,
        fields: Vec<(String, String)>,
    },
    Schedule {
        key: String,
        delay_ms: u64,
        payload: String,
        conversation_id: Option<String>,
    },
    Cancel(String),
    /// A question the rules could not answer: the LLM may propose an answer (checked by
    /// the guard); otherwise `fallback` and `on_fallback`.
    AskLlm {
        question: String,
        context: String,
        fallback: String,
        on_fallback: Vec<Action>,
    },
}

pub const FOLLOWUP_JOB: &str = "followup";
const KEEP_REPLIES: usize = 40;

pub fn followup_key(number: &str) -> String {
    format!("followup:{number}")
}

pub struct Turn<'a> {
    pub cfg: &'a Config,
    pub langs: &'a Languages,
    pub now_ms: u64,
    pub history: Vec<(bool, String)>,
    pub actions: Vec<Action>,
}

impl<'a> Turn<'a> {
    pub fn new(cfg: &'a Config, langs: &'a Languages, now_ms: u64) -> Self {
        Turn {
            cfg,
            langs,
            now_ms,
            history: Vec::new(),
            actions: Vec::new(),
        }
    }

    fn lang(&self, c: &Customer) -> &'a Language {
        self.langs.get(c.lang())
    }

    fn t(&self, c: &Customer, id: &str, a: &[(&str, &str)]) -> String {
        self.langs.render(c.lang(), id, 0, a)
    }

    fn earlier(&self) -> Vec<String> {
        self.history
            .iter()
            .filter(|(i, _)| !i)
            .map(|(_, b)| b.clone())
            .collect()
    }

    fn send(&mut self, c: &mut Customer, say: &Say) {
        let text = say.compose(self.langs, c.lang(), &self.earlier(), &c.replies);
        if text.is_empty() {
            return;
        }
        compose::remember(&mut c.replies, &text, KEEP_REPLIES);
        self.actions.push(Action::Reply(text));
    }

    fn silence_ms(&self) -> u64 {
        self.cfg.office.followup_silence_hours.max(1) * MS_PER_HOUR
    }

    pub fn on_message(&mut self, c: &mut Customer, body: &str, conversation_id: &str) {
        c.conversation_id = Some(conversation_id.to_owned());
        c.last_inbound_ms = self.now_ms;
        let new = c.messages_in == 0;
        c.messages_in += 1;
        let upper = body
            .trim()
            .trim_end_matches(['.', '!'])
            .to_ascii_uppercase();
        match upper.as_str() {
            "STOP" | "STOPALL" | "UNSUBSCRIBE" | "CANCEL" | "END" | "QUIT" => {
                c.opted_out = true;
                self.cancel_followup(c);
                return;
            }
            "START" | "UNSTOP" => c.opted_out = false,
            "YES" if c.opted_out => c.opted_out = false,
            _ if c.opted_out => return,
            _ => {}
        }
        let rd = understand::read(
            self.cfg,
            self.langs,
            body,
            &Context {
                lang: c.lang.as_deref(),
                asked: c.asked,
            },
        );
        c.lang = Some(rd.lang.clone());
        let o = &self.cfg.office;
        let r = &self.cfg.rates;
        let mut say = Say::default();
        if upper == "HELP" || upper == "INFO" {
            say.t(
                "help",
                &[
                    ("company", o.company.clone()),
                    ("phone", o.phone.clone()),
                    ("min", dollars(r.coverage_min.into())),
                    ("max", dollars(r.coverage_max.into())),
                    ("deductibles", self.deductible_list(c)),
                ],
                ANSWER,
            );
            self.send(c, &say);
            return;
        }
        if rd.intents.start_over {
            *c = Customer {
                number: c.number.clone(),
                conversation_id: c.conversation_id.clone(),
                lang: c.lang.clone(),
                name: c.name.clone(),
                messages_in: c.messages_in,
                last_inbound_ms: self.now_ms,
                followup_sent: c.followup_sent,
                replies: c.replies.clone(),
                ..Customer::default()
            };
            c.asked = Some(Field::Zip);
            c.question_turn = c.messages_in;
            say.t("start_over", &[], ANSWER);
            self.send(c, &say);
            self.after_answer(c);
            return;
        }
        self.converse(c, body, &rd, new, &mut say);
        self.send(c, &say);
        self.after_answer(c);
    }

    fn deductible_list(&self, c: &Customer) -> String {
        let d: Vec<String> = self
            .cfg
            .rates
            .deductibles()
            .iter()
            .map(|d| dollars((*d).into()))
            .collect();
        self.lang(c).join_or(&d)
    }

    /// Stores what the text gives; returns notes to say (out of state, out of range) and
    /// whether anything changed.
    fn remember(&mut self, c: &mut Customer, rd: &Reading, say: &mut Say) -> bool {
        let r = &self.cfg.rates;
        let before = (c.zip.clone(), c.coverage, c.deductible, c.claims);
        if let Some(z) = &rd.zip {
            if r.writes_zip(z) {
                c.zip = Some(z.clone());
            } else {
                say.t(
                    "zip_outside",
                    &[
                        ("zip", z.clone()),
                        ("state", self.cfg.office.licensed_in.clone()),
                    ],
                    ANSWER,
                );
            }
        }
        if let Some(cov) = rd.coverage {
            match r.normalize_coverage(cov) {
                Some(n) => c.coverage = Some(n),
                None => {
                    say.t(
                        "coverage_range",
                        &[
                            ("amount", dollars(cov.into())),
                            ("min", dollars(r.coverage_min.into())),
                            ("max", dollars(r.coverage_max.into())),
                        ],
                        ANSWER,
                    );
                }
            }
        }
        if rd.deductible.is_some() {
            c.deductible = rd.deductible;
        }
        if rd.claims.is_some() {
            c.claims = rd.claims;
        }
        // "whichever is cheapest": the cheapest deductible (or the least coverage).
        if rd.intents.cheapest {
            let wants_coverage =
                c.asked == Some(Field::Coverage) || self.langs.lex.has(&rd.norm, "coverage_words");
            if wants_coverage && c.coverage.is_none() {
                c.coverage = Some(r.coverage_min);
                say.t(
                    "cheapest_coverage",
                    &[("amount", dollars(r.coverage_min.into()))],
                    ANSWER,
                );
            } else if let Some(d) = r.cheapest_deductible() {
                c.deductible = Some(d);
                say.t(
                    "cheapest_deductible",
                    &[("amount", dollars(d.into()))],
                    ANSWER,
                );
            }
        }
        if let Some(n) = &rd.name {
            c.name = Some(n.clone());
        }
        if rd.intents.phone_fails && !c.avoid.iter().any(|x| x == "phone") {
            c.avoid.push("phone".into());
        }
        match c.asked {
            Some(Field::Zip) if c.zip.is_some() => c.asked = None,
            Some(Field::Coverage) if c.coverage.is_some() => c.asked = None,
            Some(Field::Deductible) if c.deductible.is_some() => c.asked = None,
            Some(Field::Claims) if c.claims.is_some() => c.asked = None,
            _ => {}
        }
        before != (c.zip.clone(), c.coverage, c.deductible, c.claims)
    }

    fn converse(&mut self, c: &mut Customer, body: &str, rd: &Reading, new: bool, say: &mut Say) {
        let o = &self.cfg.office;
        let i = &rd.intents;
        if new && !i.who && !i.bot {
            say.t("greet_new", &[("company", o.company.clone())], SOCIAL)
                .or_t("greet_new_short", &[("company", o.company.clone())]);
        }
        if rd.lang_requested {
            say.t("lang_switched", &[], ANSWER);
        }
        if i.who || i.bot || i.called_me {
            say.t(
                if i.bot { "identity_bot" } else { "identity" },
                &[("company", o.company.clone())],
                ANSWER,
            );
            if i.called_me {
                say.t("identity_called", &[], ANSWER);
            }
        }
        if i.done && !i.buy && rd.topics.is_empty() {
            say.t("done_bye", &[], ANSWER);
            c.asked = None;
            self.cancel_followup(c);
            return;
        }
        let changed = self.remember(c, rd, say);
        if c.handed_off {
            if i.when_contact || i.person || i.buy || rd.empty {
                self.handoff_eta(c, body, say);
            }
        } else if i.buy || i.person || i.upset || i.phone_fails {
            let reason = if i.upset || i.phone_fails {
                "is upset"
            } else if i.buy {
                "wants to buy"
            } else {
                "asked for an agent"
            };
            self.handoff(c, body, reason, say);
        }
        // Questions, answered from the data.
        self.answer_topics(c, rd, body, say);
        // Claims beyond what a text quote may take: a person, honestly.
        if c.claims.is_some_and(|n| n > o.max_claims_auto_quote) && !c.handed_off {
            say.t(
                "claims_too_many",
                &[
                    ("n", c.claims.unwrap_or(0).to_string()),
                    ("max", o.max_claims_auto_quote.to_string()),
                ],
                ANSWER,
            );
            self.handoff(
                c,
                body,
                "has more prior claims than the automatic quote allows",
                say,
            );
            return;
        }
        if c.handed_off {
            return;
        }
        let complete = next_field(c).is_none();
        if complete && (changed || rd.topics.contains(&Topic::Price) || c.monthly_cents.is_none()) {
            self.send_quote(c, say);
            return;
        }
        if changed && !complete {
            self.acknowledge(c, rd, say);
        }
        let said = !say.is_empty();
        if !said
            && (rd.question || rd.norm.len_words() >= 4)
            && !i.thanks
            && !i.greeting
            && !i.yes
            && !i.no
            && !rd.empty
        {
            self.unknown(c, body, say);
            return;
        }
        if !said && i.thanks {
            say.t("thanks", &[], ANSWER);
        } else if !said && !new && complete {
            say.t("empty_quoted", &[], ANSWER);
            return;
        }
        self.next_question(c, say);
    }

    fn acknowledge(&self, c: &Customer, rd: &Reading, say: &mut Say) {
        let mut got = Vec::new();
        if rd.zip.is_some() && c.zip == rd.zip {
            got.push(self.t(c, "fact_zip", &[("zip", c.zip.as_deref().unwrap_or(""))]));
        }
        if rd.coverage.is_some()
            && let Some(v) = c.coverage
        {
            got.push(self.t(c, "fact_coverage", &[("amount", &dollars(v.into()))]));
        }
        if let Some(d) = rd.deductible {
            got.push(self.t(c, "fact_deductible", &[("amount", &dollars(d.into()))]));
        }
        if let Some(n) = rd.claims {
            got.push(self.t(
                c,
                if n == 1 { "fact_claim" } else { "fact_claims" },
                &[("n", &n.to_string())],
            ));
        }
        if !got.is_empty() {
            say.t("ack", &[("facts", got.join(", "))], DETAIL);
        }
    }

    fn next_question(&mut self, c: &mut Customer, say: &mut Say) {
        let Some((field, id)) = next_field(c) else {
            return;
        };
        // A quote is what the customer came for: the next thing it needs is always asked
        // (in another wording if it was just asked).
        c.asked = Some(field);
        c.question_turn = c.messages_in;
        let r = &self.cfg.rates;
        say.opt(
            id,
            &[
                ("min", dollars(r.coverage_min.into())),
                ("max", dollars(r.coverage_max.into())),
                ("deductibles", self.deductible_list(c)),
            ],
            QUESTION,
        );
    }

    fn answer_topics(&mut self, c: &mut Customer, rd: &Reading, body: &str, say: &mut Say) {
        let cov = &self.cfg.coverage;
        let r = &self.cfg.rates;
        let lang = c.lang().to_owned();
        // "liability vs property" answers both at once.
        let difference = rd.topics.contains(&Topic::Difference);
        for t in &rd.topics {
            if difference && matches!(t, Topic::Property | Topic::Liability) {
                continue;
            }
            match t {
                Topic::Covers => {
                    say.t(
                        "covers",
                        &[
                            ("liability", dollars(r.liability_limit.into())),
                            ("medical", dollars(r.medical_payments_limit.into())),
                        ],
                        ANSWER,
                    );
                    say.raw(cov.personal_property.get(&lang).to_owned(), DETAIL, false);
                }
                Topic::Property => {
                    say.raw(cov.personal_property.get(&lang).to_owned(), ANSWER, true);
                    say.opt(
                        "property_range",
                        &[
                            ("min", dollars(r.coverage_min.into())),
                            ("max", dollars(r.coverage_max.into())),
                        ],
                        DETAIL,
                    );
                }
                Topic::Liability => {
                    self.answer_liability(c, rd, body, say);
                }
                Topic::Medical => {
                    say.raw(cov.medical_payments.get(&lang).to_owned(), ANSWER, true);
                    say.t(
                        "medical_limit",
                        &[("amount", dollars(r.medical_payments_limit.into()))],
                        ANSWER,
                    );
                }
                Topic::LossOfUse => {
                    say.raw(cov.loss_of_use.get(&lang).to_owned(), ANSWER, true);
                }
                Topic::Difference => {
                    say.t("difference", &[], ANSWER);
                    say.raw(cov.personal_property.get(&lang).to_owned(), ANSWER, true);
                    say.raw(cov.liability.get(&lang).to_owned(), ANSWER, true);
                    say.t(
                        "liability_included",
                        &[("amount", dollars(r.liability_limit.into()))],
                        ANSWER,
                    );
                }
                Topic::NotCovered => {
                    say.raw(cov.not_covered.get(&lang).to_owned(), ANSWER, true);
                }
                Topic::Deductible => {
                    say.raw(cov.deductible.get(&lang).to_owned(), ANSWER, true);
                    say.opt(
                        "deductible_options",
                        &[("list", self.deductible_list(c))],
                        DETAIL,
                    );
                }
                Topic::Claims => {
                    say.raw(cov.claims.get(&lang).to_owned(), ANSWER, true);
                }
                Topic::Valuation => {
                    say.raw(cov.valuation.get(&lang).to_owned(), ANSWER, true);
                }
                Topic::Landlord => {
                    say.raw(cov.landlord_requirement.get(&lang).to_owned(), ANSWER, true);
                }
                Topic::Languages => {
                    let names: Vec<String> = self
                        .cfg
                        .office
                        .staff_languages
                        .iter()
                        .map(|code| {
                            let id = format!("lang_name_{code}");
                            if self.langs.variants(&lang, &id) > 0 {
                                self.t(c, &id, &[])
                            } else {
                                self.langs.get(code).name.clone()
                            }
                        })
                        .collect();
                    say.t(
                        "languages",
                        &[("list", self.lang(c).join_and(&names))],
                        ANSWER,
                    );
                }
                Topic::OfficeHours => {
                    say.t(
                        "office_hours",
                        &[("hours", self.cfg.office.office_hours.describe(self.lang(c)))],
                        ANSWER,
                    );
                }
                Topic::Price => {
                    if next_field(c).is_some() {
                        self.example_prices(c, say);
                    }
                }
            }
        }
        for p in &rd.perils {
            let name = self.t(c, &format!("peril_{p}"), &[]);
            if cov.perils_covered.iter().any(|x| x == p) {
                say.t("peril_yes", &[("peril", name)], ANSWER);
            } else if cov.perils_excluded.iter().any(|x| x == p) {
                say.t("peril_no", &[("peril", name)], ANSWER);
                say.raw(cov.not_covered.get(&lang).to_owned(), DETAIL, false);
            } else {
                self.silent(c, &name, body, say);
            }
        }
    }

    /// "$100,000 of liability": included at the table's limit; a higher limit is for a
    /// licensed agent. Never taken as the property amount.
    fn answer_liability(&mut self, c: &mut Customer, rd: &Reading, body: &str, say: &mut Say) {
        let r = &self.cfg.rates;
        let lang = c.lang().to_owned();
        match rd.liability {
            Some(v) if v > r.liability_limit => {
                say.t(
                    "liability_higher",
                    &[
                        ("asked", dollars(v.into())),
                        ("amount", dollars(r.liability_limit.into())),
                        ("eta", self.eta_text(c)),
                    ],
                    ANSWER,
                );
                let fp = compose::fingerprint(&format!("liability {v}"));
                if !c.questions_sent.contains(&fp) {
                    c.questions_sent.push(fp);
                    let a = self.question_alert(
                        c,
                        &format!("liability limit of {}", dollars(v.into())),
                        body,
                    );
                    self.actions.push(a);
                }
            }
            Some(_) => {
                say.t(
                    "liability_included",
                    &[("amount", dollars(r.liability_limit.into()))],
                    ANSWER,
                );
            }
            None => {
                say.raw(
                    self.cfg.coverage.liability.get(&lang).to_owned(),
                    ANSWER,
                    true,
                );
                say.t(
                    "liability_included",
                    &[("amount", dollars(r.liability_limit.into()))],
                    ANSWER,
                );
            }
        }
    }

    /// Real prices from the table before anything is known: a typical quote and the lowest.
    fn example_prices(&self, c: &Customer, say: &mut Say) {
        let r = &self.cfg.rates;
        let zip = c
            .zip
            .clone()
            .or_else(|| r.zip_of("chicago"))
            .unwrap_or_else(|| "60601".into());
        let territory = r.territory_name(&r.territory(&zip));
        let typical_cov = (r.coverage_min * 2).clamp(r.coverage_min, r.coverage_max);
        let mid = r
            .deductibles()
            .get(1)
            .copied()
            .or_else(|| r.deductibles().first().copied())
            .unwrap_or(500);
        let cheap = r.cheapest_deductible().unwrap_or(mid);
        let (Some(typ), Some(low)) = (
            r.quote(&zip, typical_cov, mid, 0),
            r.quote(&zip, r.coverage_min, cheap, 0),
        ) else {
            return;
        };
        say.t(
            "price_examples",
            &[
                ("area", territory),
                ("typical", dollars_cents(typ.monthly_cents)),
                ("typical_cov", dollars(typical_cov.into())),
                ("typical_ded", dollars(mid.into())),
                ("low", dollars_cents(low.monthly_cents)),
                ("low_cov", dollars(r.coverage_min.into())),
                ("low_ded", dollars(cheap.into())),
            ],
            ANSWER,
        );
    }

    pub fn quote(&self, c: &Customer) -> Option<Quote> {
        self.cfg
            .rates
            .quote(c.zip.as_deref()?, c.coverage?, c.deductible?, c.claims?)
    }

    fn send_quote(&mut self, c: &mut Customer, say: &mut Say) {
        let Some(q) = self.quote(c) else {
            return self.handoff(c, "", "could not be quoted from the rate table", say);
        };
        c.monthly_cents = Some(q.monthly_cents);
        c.asked = None;
        let r = &self.cfg.rates;
        let claims_word = self.t(
            c,
            if q.claims == 1 {
                "claim_word"
            } else {
                "claims_word"
            },
            &[],
        );
        let a = [
            ("monthly", dollars_cents(q.monthly_cents)),
            ("annual", dollars_cents(q.annual_cents)),
            ("coverage", dollars(q.coverage.into())),
            ("deductible", dollars(q.deductible.into())),
            ("liability", dollars(r.liability_limit.into())),
            ("medical", dollars(r.medical_payments_limit.into())),
            ("base", dollars_cents(q.base_cents)),
            ("territory", r.territory_name(&q.territory)),
            ("thousands", (q.coverage / 1000).to_string()),
            ("per_k", dollars_cents(q.per_1k_cents)),
            ("ded_factor", rates::factor(q.deductible_milli)),
            ("claims_factor", rates::factor(q.claims_milli)),
            ("claims", q.claims.to_string()),
            ("claims_word", claims_word),
        ];
        say.t("quote", &a, ANSWER).or_t("quote_short", &a);
        say.asks = true;
    }

    /// Every answer restarts the silence timer, until the one follow-up has been sent.
    fn after_answer(&mut self, c: &mut Customer) {
        if c.followup_sent || c.handed_off || c.opted_out {
            return;
        }
        c.followup_pending = true;
        self.actions.push(Action::Schedule {
            key: followup_key(&c.number),
            delay_ms: self.silence_ms(),
            payload: c.number.clone(),
            conversation_id: c.conversation_id.clone(),
        });
    }

    fn cancel_followup(&mut self, c: &mut Customer) {
        if c.followup_pending {
            c.followup_pending = false;
            self.actions.push(Action::Cancel(followup_key(&c.number)));
        }
    }

    fn eta(&self) -> Option<(Eta, u64)> {
        let o = &self.cfg.office;
        let eta = o
            .staff_hours()
            .eta(o.zone(), self.now_ms, o.handoff_response_minutes)?;
        Some((
            eta,
            match eta {
                Eta::Within(m) => self.now_ms + u64::from(m) * MS_PER_MINUTE,
                Eta::By(ms) => ms,
            },
        ))
    }

    fn eta_text(&self, c: &Customer) -> String {
        match self.eta() {
            Some((Eta::Within(m), _)) => self.t(c, "eta_within", &[("minutes", &m.to_string())]),
            Some((Eta::By(ms), _)) => {
                let at = self.t(c, "at_word", &[]);
                let when = self
                    .lang(c)
                    .when(self.cfg.office.zone(), self.now_ms, ms, &at);
                self.t(c, "eta_by", &[("when", &when)])
            }
            None => self.t(c, "eta_soon", &[]),
        }
    }

    fn thread(&self, body: &str) -> String {
        let mut lines: Vec<String> = self
            .history
            .iter()
            .rev()
            .take(12)
            .rev()
            .map(|(i, t)| format!("{}: {t}", if *i { "customer" } else { "agent" }))
            .collect();
        if !body.is_empty() {
            lines.push(format!("customer: {}", body.trim()));
        }
        lines.join("\n")
    }

    fn handoff(&mut self, c: &mut Customer, body: &str, reason: &str, say: &mut Say) {
        c.handed_off = true;
        c.handoff_notice_ms = Some(self.now_ms);
        c.handoff_eta_ms = self.eta().map(|(_, at)| at);
        c.asked = None;
        self.cancel_followup(c);
        let quote = self.quote(c);
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let upset = reason.contains("upset");
        self.actions.push(Action::Alert {
            kind: "handoff",
            severity: if upset {
                Severity::Warning
            } else {
                Severity::Info
            },
            message: format!(
                "Renters-insurance customer {} {reason}: \"{}\"",
                c.number,
                body.trim()
            ),
            fields: vec![
                ("customer".into(), c.number.clone()),
                ("last_message".into(), body.trim().to_owned()),
                ("reason".into(), reason.to_owned()),
                ("zip".into(), opt(c.zip.clone())),
                ("coverage".into(), opt(c.coverage.map(|v| v.to_string()))),
                (
                    "deductible".into(),
                    opt(c.deductible.map(|v| v.to_string())),
                ),
                ("claims_5y".into(), opt(c.claims.map(|v| v.to_string()))),
                (
                    "monthly_quote".into(),
                    opt(quote.as_ref().map(|q| dollars_cents(q.monthly_cents))),
                ),
                ("language".into(), c.lang().to_owned()),
                ("do_not_use".into(), c.avoid.join(",")),
                (
                    "conversation".into(),
                    c.conversation_id.clone().unwrap_or_default(),
                ),
                ("thread".into(), self.thread(body)),
            ],
        });
        let avoid_phone = c.avoid.iter().any(|x| x == "phone");
        let contact = self.t(
            c,
            if avoid_phone {
                "contact_text_verb"
            } else {
                "contact_either_verb"
            },
            &[],
        );
        let with_quote = quote
            .map(|q| {
                self.t(
                    c,
                    "about_quote",
                    &[("monthly", &dollars_cents(q.monthly_cents))],
                )
            })
            .unwrap_or_default();
        let id = if upset {
            "handoff_upset"
        } else if reason.contains("claims") || reason.contains("quoted") {
            "handoff_review"
        } else {
            "handoff_agent"
        };
        say.t(
            id,
            &[
                ("contact", contact),
                ("eta", self.eta_text(c)),
                ("about", with_quote),
            ],
            ANSWER,
        );
        if !upset && !avoid_phone {
            say.opt(
                "also_call",
                &[("phone", self.cfg.office.phone.clone())],
                DETAIL,
            );
        }
    }

    fn handoff_eta(&mut self, c: &mut Customer, body: &str, say: &mut Say) {
        let avoid_phone = c.avoid.iter().any(|x| x == "phone");
        let contact = self.t(
            c,
            if avoid_phone {
                "contact_text_verb"
            } else {
                "contact_either_verb"
            },
            &[],
        );
        let overdue = c.handoff_eta_ms.is_some_and(|e| self.now_ms > e);
        if overdue
            || c.handoff_notice_ms
                .is_none_or(|t| self.now_ms >= t + MS_PER_HOUR)
        {
            c.handoff_notice_ms = Some(self.now_ms);
            if overdue {
                c.handoff_eta_ms = self.eta().map(|(_, at)| at);
            }
            self.actions.push(Action::Alert {
                kind: "handoff",
                severity: if overdue {
                    Severity::Warning
                } else {
                    Severity::Info
                },
                message: format!(
                    "Customer {} is still waiting for a licensed agent: \"{}\"",
                    c.number,
                    body.trim()
                ),
                fields: vec![
                    ("customer".into(), c.number.clone()),
                    ("last_message".into(), body.trim().to_owned()),
                    (
                        "conversation".into(),
                        c.conversation_id.clone().unwrap_or_default(),
                    ),
                ],
            });
        }
        say.t(
            if overdue {
                "handoff_overdue"
            } else {
                "handoff_eta"
            },
            &[("contact", contact), ("eta", self.eta_text(c))],
            ANSWER,
        );
    }

    fn question_alert(&self, c: &Customer, about: &str, question: &str) -> Action {
        Action::Alert {
            kind: "question",
            severity: Severity::Info,
            message: format!(
                "Customer {} asked something the data does not answer: {about}",
                c.number
            ),
            fields: vec![
                ("customer".into(), c.number.clone()),
                ("question".into(), question.trim().into()),
                ("about".into(), about.into()),
                ("language".into(), c.lang().to_owned()),
                (
                    "conversation".into(),
                    c.conversation_id.clone().unwrap_or_default(),
                ),
            ],
        }
    }

    fn silent(&mut self, c: &mut Customer, what: &str, body: &str, say: &mut Say) {
        say.t(
            "silent",
            &[("what", what.to_owned()), ("eta", self.eta_text(c))],
            ANSWER,
        );
        let fp = compose::fingerprint(what);
        if !c.questions_sent.contains(&fp) {
            c.questions_sent.push(fp);
            let a = self.question_alert(c, what, body);
            self.actions.push(a);
        }
    }

    fn unknown(&mut self, c: &mut Customer, body: &str, say: &mut Say) {
        let fp = compose::fingerprint(body);
        let again = c.questions_sent.contains(&fp);
        let mut fallback = say.take();
        fallback.t(
            if again { "unknown_again" } else { "unknown" },
            &[("eta", self.eta_text(c))],
            ANSWER,
        );
        if let Some((field, id)) = next_field(c)
            && !again
        {
            c.asked = Some(field);
            let r = &self.cfg.rates;
            fallback.opt(
                id,
                &[
                    ("min", dollars(r.coverage_min.into())),
                    ("max", dollars(r.coverage_max.into())),
                    ("deductibles", self.deductible_list(c)),
                ],
                QUESTION,
            );
        }
        let text = fallback.compose(self.langs, c.lang(), &self.earlier(), &c.replies);
        compose::remember(&mut c.replies, &text, KEEP_REPLIES);
        let mut on_fallback = Vec::new();
        if !again {
            c.questions_sent.push(fp);
            on_fallback.push(self.question_alert(c, "a question the agent could not answer", body));
        }
        self.actions.push(Action::AskLlm {
            question: body.to_owned(),
            context: self.llm_context(c),
            fallback: text,
            on_fallback,
        });
    }

    /// The facts an LLM may use: coverage texts, limits, the deductible options and the
    /// customer's own quote if there is one.
    pub fn llm_context(&self, c: &Customer) -> String {
        let cov = &self.cfg.coverage;
        let r = &self.cfg.rates;
        let mut lines = vec![
            format!(
                "Company: {} ({}), licensed in {}.",
                self.cfg.office.company, self.cfg.office.phone, self.cfg.office.licensed_in
            ),
            cov.personal_property.get("en").to_owned(),
            cov.liability.get("en").to_owned(),
            cov.medical_payments.get("en").to_owned(),
            cov.loss_of_use.get("en").to_owned(),
            cov.valuation.get("en").to_owned(),
            cov.not_covered.get("en").to_owned(),
            cov.deductible.get("en").to_owned(),
            cov.claims.get("en").to_owned(),
            format!(
                "Limits: liability ${} and medical payments ${} included; property ${}-${}; deductibles {:?}.",
                r.liability_limit,
                r.medical_payments_limit,
                r.coverage_min,
                r.coverage_max,
                r.deductibles()
            ),
        ];
        if let Some(q) = self.quote(c) {
            lines.push(format!(
                "This customer's quote: ${}/mo.",
                dollars_cents(q.monthly_cents)
            ));
        }
        lines.join("\n")
    }

    /// The silence timer fired: one gentle follow-up, never more.
    pub fn on_followup(&mut self, c: &mut Customer) {
        c.followup_pending = false;
        if c.opted_out || c.handed_off || c.followup_sent {
            return;
        }
        if self.now_ms + 60_000 < c.last_inbound_ms + self.silence_ms() {
            c.followup_pending = true;
            self.actions.push(Action::Schedule {
                key: followup_key(&c.number),
                delay_ms: c.last_inbound_ms + self.silence_ms() - self.now_ms,
                payload: c.number.clone(),
                conversation_id: c.conversation_id.clone(),
            });
            return;
        }
        c.followup_sent = true;
        let company = self.cfg.office.company.clone();
        let mut say = Say::default();
        match (self.quote(c), next_field(c)) {
            (Some(q), _) => say.t(
                "followup_quoted",
                &[
                    ("company", company),
                    ("monthly", dollars_cents(q.monthly_cents)),
                    ("coverage", dollars(q.coverage.into())),
                ],
                ANSWER,
            ),
            (None, Some((_, id))) => {
                let r = &self.cfg.rates;
                let q = self.t(
                    c,
                    id,
                    &[
                        ("min", &dollars(r.coverage_min.into())),
                        ("max", &dollars(r.coverage_max.into())),
                        ("deductibles", &self.deductible_list(c)),
                    ],
                );
                say.t(
                    "followup_question",
                    &[("company", company), ("question", q)],
                    ANSWER,
                )
            }
            (None, None) => say.t("followup_plain", &[("company", company)], ANSWER),
        };
        self.send(c, &say);
    }
}

fn next_field(c: &Customer) -> Option<(Field, &'static str)> {
    if c.zip.is_none() {
        Some((Field::Zip, "q_zip"))
    } else if c.coverage.is_none() {
        Some((Field::Coverage, "q_coverage"))
    } else if c.deductible.is_none() {
        Some((Field::Deductible, "q_deductible"))
    } else if c.claims.is_none() {
        Some((Field::Claims, "q_claims"))
    } else {
        None
    }
}
