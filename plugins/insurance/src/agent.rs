//! The insurance agent's conversation: collect ZIP, coverage, deductible and prior claims
//! one at a time, quote from the rate table, follow up once, hand off on request. Pure:
//! returns [`Action`]s.

use crate::rates::{self, Quote, RateTable};
use agenthost_sdk::text::{amounts, contains_any_word, dollars, dollars_cents, word_number, words};
use agenthost_sdk::time::MS_PER_HOUR;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct Office {
    pub company: String,
    pub phone: String,
    #[serde(default = "default_silence")]
    pub followup_silence_hours: u64,
    #[serde(default = "default_claims")]
    pub max_claims_auto_quote: u32,
}

fn default_silence() -> u64 {
    24
}
fn default_claims() -> u32 {
    3
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Zip,
    Coverage,
    Deductible,
    Claims,
}

/// One customer's quote request; stored under `customer:<number>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    pub number: String,
    pub conversation_id: Option<String>,
    pub zip: Option<String>,
    pub coverage: Option<u32>,
    pub deductible: Option<u32>,
    pub claims: Option<u32>,
    pub asked: Option<Field>,
    pub last_inbound_ms: u64,
    pub monthly_cents: Option<u64>,
    pub followup_pending: bool,
    pub followup_sent: bool,
    pub handed_off: bool,
    pub handoff_notice_ms: Option<u64>,
    pub opted_out: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Reply(String),
    Handoff {
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
}

pub const FOLLOWUP_JOB: &str = "followup";

pub fn followup_key(number: &str) -> String {
    format!("followup:{number}")
}

pub struct Turn<'a> {
    pub office: &'a Office,
    pub rates: &'a RateTable,
    pub now_ms: u64,
    pub actions: Vec<Action>,
}

/// Values a message gives, reading bare numbers as the answer to `asked`.
#[derive(Debug, Default, PartialEq)]
pub struct Given {
    pub zip: Option<String>,
    pub coverage: Option<u32>,
    pub deductible: Option<u32>,
    pub claims: Option<u32>,
}

/// Reads ZIP, coverage, deductible and claims from `body`. A number's meaning comes from
/// the words next to it ("deductible", "claims", "coverage"), its shape (five plain digits
/// = ZIP; $ or k or >= 5,000 = coverage) and, for a bare answer, the question asked.
pub fn read(body: &str, asked: Option<Field>, deductibles: &[u32]) -> Given {
    let lower = body.to_ascii_lowercase();
    let mut g = Given::default();
    let nums = amounts(&lower);
    let near = |start: usize, end: usize, cues: &[&str]| -> bool {
        let before = &lower[lower[..start]
            .char_indices()
            .rev()
            .nth(20)
            .map(|(i, _)| i)
            .unwrap_or(0)..start];
        let after_end = lower[end..]
            .char_indices()
            .nth(16)
            .map(|(i, _)| end + i)
            .unwrap_or(lower.len());
        let after = &lower[end..after_end];
        cues.iter().any(|c| before.contains(c) || after.contains(c))
    };
    for a in &nums {
        let v = a.value.round() as u64;
        if near(a.start, a.end, &["claim"]) && v <= 20 {
            g.claims = Some(v as u32);
        } else if near(a.start, a.end, &["deductible", "ded "])
            && deductibles.contains(&(v as u32))
            && !a.thousands
        {
            g.deductible = Some(v as u32);
        } else if a.plain_digits == 5 && !a.dollar {
            g.zip = Some(lower[a.start..a.end].to_owned());
        } else if a.thousands
            || near(
                a.start,
                a.end,
                &["coverage", "cover", "property", "stuff", "belongings"],
            )
            || v >= 5000
        {
            if (1000..=1_000_000).contains(&v) {
                g.coverage = Some(v as u32);
            }
        } else if deductibles.contains(&(v as u32))
            && (asked == Some(Field::Deductible) || a.dollar)
            && g.deductible.is_none()
        {
            g.deductible = Some(v as u32);
        } else if asked == Some(Field::Claims) && v <= 20 {
            g.claims = Some(v as u32);
        }
    }
    if g.claims.is_none() {
        let none_said = contains_any_word(
            &lower,
            &["no claims", "zero claims", "never", "no claim", "none"],
        );
        let bare_no = asked == Some(Field::Claims)
            && words(&lower)
                .first()
                .is_some_and(|w| matches!(w.as_str(), "no" | "nope" | "none" | "zero" | "0"));
        if none_said || bare_no {
            g.claims = Some(0);
        } else if asked == Some(Field::Claims)
            && let Some(n) = words(&lower)
                .iter()
                .find_map(|w| word_number(w))
                .filter(|&n| n <= 20)
        {
            g.claims = Some(n as u32);
        }
    }
    g
}

impl<'a> Turn<'a> {
    pub fn new(office: &'a Office, rates: &'a RateTable, now_ms: u64) -> Self {
        Turn {
            office,
            rates,
            now_ms,
            actions: Vec::new(),
        }
    }

    fn reply(&mut self, text: String) {
        self.actions.push(Action::Reply(text));
    }

    fn silence_ms(&self) -> u64 {
        self.office.followup_silence_hours.max(1) * MS_PER_HOUR
    }

    pub fn on_message(&mut self, c: &mut Customer, body: &str, conversation_id: &str) {
        c.conversation_id = Some(conversation_id.to_owned());
        c.last_inbound_ms = self.now_ms;
        let upper = body
            .trim()
            .trim_end_matches(['.', '!'])
            .to_ascii_uppercase();
        if ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"].contains(&upper.as_str()) {
            c.opted_out = true;
            self.cancel_followup(c);
            return;
        }
        if ["START", "UNSTOP", "YES"].contains(&upper.as_str()) && c.opted_out {
            c.opted_out = false;
        } else if c.opted_out {
            return;
        }
        if upper == "HELP" || upper == "INFO" {
            self.reply(format!(
                "{}: text your ZIP, how much stuff to cover ($10k-$100k), deductible ($250/$500/$1000) and claims in the last 5 years for a renters quote. Reply AGENT for a licensed agent or call {}. STOP to opt out.",
                self.office.company, self.office.phone
            ));
            return;
        }
        let lower = body.to_ascii_lowercase();
        if contains_any_word(&lower, &["start over", "restart", "reset", "new quote"]) {
            *c = Customer {
                number: c.number.clone(),
                conversation_id: c.conversation_id.clone(),
                last_inbound_ms: self.now_ms,
                followup_sent: c.followup_sent,
                ..Customer::default()
            };
            c.asked = Some(Field::Zip);
            self.reply("Starting over. What's the ZIP code of the place you're renting?".into());
            self.after_answer(c);
            return;
        }
        if c.handed_off {
            let day = 24 * MS_PER_HOUR;
            if c.handoff_notice_ms.is_none_or(|t| self.now_ms >= t + day) {
                c.handoff_notice_ms = Some(self.now_ms);
                self.reply(format!(
                    "Thanks - a licensed agent will be in touch shortly. You can also call {}.",
                    self.office.phone
                ));
            }
            return;
        }
        if contains_any_word(
            &lower,
            &[
                "agent",
                "human",
                "person",
                "buy",
                "purchase",
                "call",
                "call me",
                "sign up",
                "enroll",
                "representative",
                "someone",
                "bind",
                "get covered",
            ],
        ) {
            return self.handoff(c, body, "asked for an agent");
        }
        let g = read(body, c.asked, &self.rates.deductibles());
        let mut notes: Vec<String> = Vec::new();
        if let Some(z) = g.zip {
            if self.rates.writes_zip(&z) {
                c.zip = Some(z);
            } else {
                notes.push(format!(
                    "Sorry, we only write policies in Illinois, and {z} is outside it."
                ));
            }
        }
        if let Some(cov) = g.coverage {
            match self.rates.normalize_coverage(cov) {
                Some(n) => c.coverage = Some(n),
                None => notes.push(format!(
                    "Coverage has to be between {} and {}.",
                    dollars(self.rates.coverage_min.into()),
                    dollars(self.rates.coverage_max.into())
                )),
            }
        }
        if let Some(d) = g.deductible {
            c.deductible = Some(d);
        }
        if let Some(n) = g.claims {
            c.claims = Some(n);
        }
        if c.claims
            .is_some_and(|n| n > self.office.max_claims_auto_quote)
        {
            return self.handoff(
                c,
                body,
                "has more prior claims than the automatic quote allows",
            );
        }
        match self.next_question(c) {
            Some((field, q)) => {
                c.asked = Some(field);
                let mut text = notes.join(" ");
                if text.is_empty() && c.zip.is_none() && c.coverage.is_none() {
                    text = format!(
                        "Hi! {} here - I can quote renters insurance by text in about a minute.",
                        self.office.company
                    );
                }
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(q);
                self.reply(text);
            }
            None => {
                c.asked = None;
                if !notes.is_empty() {
                    self.reply(notes.join(" "));
                } else {
                    self.send_quote(c);
                }
            }
        }
        self.after_answer(c);
    }

    fn next_question(&self, c: &Customer) -> Option<(Field, &'static str)> {
        if c.zip.is_none() {
            Some((
                Field::Zip,
                "What's the ZIP code of the place you're renting?",
            ))
        } else if c.coverage.is_none() {
            Some((
                Field::Coverage,
                "How much personal property do you want covered? Most renters pick $20k-$40k (range $10k-$100k).",
            ))
        } else if c.deductible.is_none() {
            Some((
                Field::Deductible,
                "Which deductible: $250, $500 or $1000? A higher deductible lowers the price.",
            ))
        } else if c.claims.is_none() {
            Some((
                Field::Claims,
                "How many insurance claims have you filed in the last 5 years? (0 if none)",
            ))
        } else {
            None
        }
    }

    pub fn quote(&self, c: &Customer) -> Option<Quote> {
        self.rates
            .quote(c.zip.as_deref()?, c.coverage?, c.deductible?, c.claims?)
    }

    fn send_quote(&mut self, c: &mut Customer) {
        let Some(q) = self.quote(c) else {
            return self.handoff(c, "", "could not be quoted from the rate table");
        };
        c.monthly_cents = Some(q.monthly_cents);
        let r = self.rates;
        let text = format!(
            "Your quote: {}/mo ({}/yr) for {} personal property, {} deductible, with {} liability and {} medical payments included. \
             How: ({} {} base + {} x {}) x {} deductible x {} for {} claim{} = {}. \
             Reply BUY or AGENT to talk to a licensed agent, or change anything (e.g. 'deductible 1000').",
            dollars_cents(q.monthly_cents),
            dollars_cents(q.annual_cents),
            dollars(q.coverage.into()),
            dollars(q.deductible.into()),
            dollars(r.liability_limit.into()),
            dollars(r.medical_payments_limit.into()),
            dollars_cents(q.base_cents),
            r.territory_name(&q.territory),
            q.coverage / 1000,
            dollars_cents(q.per_1k_cents),
            rates::factor(q.deductible_milli),
            rates::factor(q.claims_milli),
            q.claims,
            if q.claims == 1 { "" } else { "s" },
            dollars_cents(q.monthly_cents),
        );
        self.reply(text);
    }

    /// Every answer restarts the silence timer, until the one follow-up has been sent.
    fn after_answer(&mut self, c: &mut Customer) {
        if c.followup_sent || c.handed_off {
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

    fn handoff(&mut self, c: &mut Customer, body: &str, reason: &str) {
        c.handed_off = true;
        c.handoff_notice_ms = Some(self.now_ms);
        self.cancel_followup(c);
        let quote = self.quote(c);
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        self.actions.push(Action::Handoff {
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
            ],
        });
        let with_quote = quote
            .map(|q| format!(" about your {}/mo quote", dollars_cents(q.monthly_cents)))
            .unwrap_or_default();
        self.reply(format!(
            "Great - a licensed agent will contact you shortly{with_quote}. You can also call {}.",
            self.office.phone
        ));
    }

    /// The silence timer fired: one gentle follow-up, never more.
    pub fn on_followup(&mut self, c: &mut Customer) {
        c.followup_pending = false;
        if c.opted_out || c.handed_off || c.followup_sent {
            return;
        }
        if self.now_ms + 60_000 < c.last_inbound_ms + self.silence_ms() {
            // They answered after this timer was set; wait out the rest.
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
        let text = match (self.quote(c), self.next_question(c)) {
            (Some(q), _) => format!(
                "Hi from {}: your renters quote of {}/mo for {} coverage is still available. Reply BUY to get covered, or ask me anything.",
                self.office.company,
                dollars_cents(q.monthly_cents),
                dollars(q.coverage.into())
            ),
            (None, Some((_, q))) => format!(
                "Hi from {} - still want your renters insurance quote? {q}",
                self.office.company
            ),
            (None, None) => format!(
                "Hi from {} - still want a renters insurance quote? Reply anytime.",
                self.office.company
            ),
        };
        self.reply(text);
    }
}
