//! The locator's operator data (`config/plugins/locator.json`: `office`, `listings`,
//! optional `languages`), validated field by field at load, and the matching of a
//! renter's requirements against the listings.

use crate::agent::Renter;
use agenthost_sdk::config::Problems;
use agenthost_sdk::hours::WeeklyHours;
use agenthost_sdk::lang::{ExtraLanguage, Text};
use agenthost_sdk::text::{contains_word, dollars};
use agenthost_sdk::time::{self, Zone};
use serde::{Deserialize, Serialize};

/// Utility keys; every language pack names them (`utility_<key>`).
pub const UTILITIES: &[&str] = &[
    "heat",
    "water",
    "hot_water",
    "cooking_gas",
    "gas",
    "electricity",
    "trash",
    "sewer",
    "internet",
    "cable",
];

/// Landmark kinds a renter can ask to be near; cue words `near_<kind>`, names `landmark_<kind>`.
pub const LANDMARK_KINDS: &[&str] = &[
    "lake", "transit", "park", "school", "shopping", "highway", "hospital",
];

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    pub name: String,
    /// "north", "south" or "west": "north side" asks for all of them.
    pub side: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    pub company: String,
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default = "default_tz")]
    pub timezone: String,
    #[serde(default = "default_offset")]
    pub utc_offset_minutes: i32,
    #[serde(default = "yes")]
    pub observe_us_dst: bool,
    pub office_hours: WeeklyHours,
    /// When locators answer handoffs; defaults to the office hours.
    #[serde(default)]
    pub staff_hours: WeeklyHours,
    #[serde(default = "default_response")]
    pub handoff_response_minutes: u32,
    pub staff_languages: Vec<String>,
    /// Source of income is protected (Chicago and Illinois): listings take vouchers.
    #[serde(default)]
    pub source_of_income_protected: bool,
    /// What renters pay for the service.
    pub service_fee: Text,
    #[serde(default = "yes")]
    pub use_llm: bool,
    #[serde(default = "default_near")]
    pub near_walk_minutes: u32,
    /// The neighborhoods the locator covers.
    pub areas: Vec<Area>,
    /// How far over the stated budget a listing may be and still be shown (flagged).
    #[serde(default = "default_pct")]
    pub over_budget_allowance_pct: u32,
    #[serde(default = "default_options")]
    pub options_per_message: usize,
}

fn default_tz() -> String {
    "America/Chicago".into()
}
fn default_offset() -> i32 {
    -360
}
fn yes() -> bool {
    true
}
fn default_response() -> u32 {
    30
}
fn default_near() -> u32 {
    15
}
fn default_pct() -> u32 {
    5
}
fn default_options() -> usize {
    3
}

impl Office {
    pub fn zone(&self) -> Zone {
        Zone {
            standard_offset_min: self.utc_offset_minutes,
            us_dst: self.observe_us_dst,
        }
    }

    pub fn staff_hours(&self) -> &WeeklyHours {
        if self.staff_hours.is_empty() {
            &self.office_hours
        } else {
            &self.staff_hours
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Laundry {
    InUnit,
    OnSite,
    Hookups,
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Landmark {
    pub name: String,
    pub kind: String,
    pub walk_minutes: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    pub id: String,
    pub title: String,
    pub landlord: String,
    pub address: String,
    pub neighborhood: String,
    pub bedrooms: u8,
    pub bathrooms: f32,
    pub rent: u32,
    pub sqft: u32,
    pub available_from: String,
    pub cats: bool,
    pub dogs: bool,
    #[serde(default)]
    pub dog_weight_limit_lbs: Option<u32>,
    pub vouchers: bool,
    pub utilities_included: Vec<String>,
    pub tenant_pays: Vec<String>,
    pub laundry: Laundry,
    /// `None`: not published; a person confirms.
    #[serde(default)]
    pub application_fee: Option<u32>,
    #[serde(default)]
    pub security_deposit: Option<u32>,
    pub lease_months: Vec<u32>,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub landmarks: Vec<Landmark>,
}

impl Listing {
    pub fn landmark(&self, kind: &str) -> Option<&Landmark> {
        self.landmarks
            .iter()
            .filter(|l| l.kind == kind)
            .min_by_key(|l| l.walk_minutes)
    }

    pub fn allows(&self, pets: &agenthost_sdk::read::Pets) -> bool {
        (!pets.cats || self.cats)
            && (!pets.dogs
                || (self.dogs
                    && match (pets.dog_lbs, self.dog_weight_limit_lbs) {
                        (Some(w), Some(limit)) => w <= limit,
                        _ => true,
                    }))
    }

    pub fn ready(&self, today: i64) -> i64 {
        time::parse_iso_date(&self.available_from)
            .unwrap_or(today)
            .max(today)
    }
}

#[derive(Debug, Clone)]
pub struct Inventory {
    pub office: Office,
    pub listings: Vec<Listing>,
    pub extra_languages: Vec<ExtraLanguage>,
}

impl Inventory {
    pub fn from_json(
        office: &str,
        listings: &str,
        languages: Option<&str>,
    ) -> Result<Self, String> {
        let office: Office = agenthost_sdk::config::parse_str(office)
            .map_err(|e| agenthost_sdk::config::at("office", &e))?;
        let listings: Vec<Listing> = agenthost_sdk::config::parse_str(listings)
            .map_err(|e| agenthost_sdk::config::at("listings", &e))?;
        let extra_languages = match languages {
            Some(l) => agenthost_sdk::config::parse_str(l)
                .map_err(|e| agenthost_sdk::config::at("languages", &e))?,
            None => Vec::new(),
        };
        let inv = Inventory {
            office,
            listings,
            extra_languages,
        };
        inv.validate()?;
        Ok(inv)
    }

    pub fn validate(&self) -> Result<(), String> {
        let mut p = Problems::default();
        let o = &self.office;
        p.text("office.company", &o.company);
        p.text("office.phone", &o.phone);
        if o.office_hours.is_empty() {
            p.push("office.office_hours", "must list at least one day");
        }
        o.office_hours.validate("office.office_hours", &mut p);
        o.staff_hours.validate("office.staff_hours", &mut p);
        if o.staff_languages.is_empty() {
            p.push(
                "office.staff_languages",
                "must list at least one language code",
            );
        }
        if o.service_fee.is_empty() {
            p.push("office.service_fee", "must not be empty");
        }
        if o.areas.is_empty() {
            p.push("office.areas", "must list at least one area");
        }
        for (i, a) in o.areas.iter().enumerate() {
            if !["north", "south", "west"].contains(&a.side.as_str()) {
                p.push(
                    &format!("office.areas[{i}].side"),
                    format!("`{}` is not north, south or west", a.side),
                );
            }
        }
        if !(1..=5).contains(&o.options_per_message) {
            p.push("office.options_per_message", "must be 1-5");
        }
        if o.over_budget_allowance_pct > 25 {
            p.push("office.over_budget_allowance_pct", "must be 0-25");
        }
        for (i, l) in self.listings.iter().enumerate() {
            let f = |n: &str| format!("listings[{i}].{n}");
            if self.listings[..i].iter().any(|x| x.id == l.id) {
                p.push(&f("id"), format!("`{}` is used twice", l.id));
            }
            if !o.areas.iter().any(|a| a.name == l.neighborhood) {
                p.push(
                    &f("neighborhood"),
                    format!("`{}` is not one of office.areas", l.neighborhood),
                );
            }
            if l.bedrooms > 9 {
                p.push(&f("bedrooms"), "must be 0-9");
            }
            if !(100..=50_000).contains(&l.rent) {
                p.push(&f("rent"), "must be 100-50000");
            }
            p.date(&f("available_from"), &l.available_from);
            if o.source_of_income_protected && !l.vouchers {
                p.push(&f("vouchers"), "is false, but source of income is protected here: refusing vouchers is unlawful");
            }
            if l.dog_weight_limit_lbs.is_some() && !l.dogs {
                p.push(
                    &f("dog_weight_limit_lbs"),
                    "is set but dogs are not allowed",
                );
            }
            for (k, u) in l
                .utilities_included
                .iter()
                .chain(&l.tenant_pays)
                .enumerate()
            {
                if !UTILITIES.contains(&u.as_str()) {
                    let field = if k < l.utilities_included.len() {
                        f(&format!("utilities_included[{k}]"))
                    } else {
                        f(&format!("tenant_pays[{}]", k - l.utilities_included.len()))
                    };
                    p.push(
                        &field,
                        format!("`{u}` is not one of {}", UTILITIES.join(", ")),
                    );
                }
            }
            if l.lease_months.is_empty() || l.lease_months.iter().any(|&m| !(1..=36).contains(&m)) {
                p.push(&f("lease_months"), "must list lengths of 1-36 months");
            }
            for (k, lm) in l.landmarks.iter().enumerate() {
                if !LANDMARK_KINDS.contains(&lm.kind.as_str()) {
                    p.push(
                        &f(&format!("landmarks[{k}].kind")),
                        format!("`{}` is not one of {}", lm.kind, LANDMARK_KINDS.join(", ")),
                    );
                }
            }
        }
        p.into_result()
    }

    pub fn listing(&self, id: &str) -> Option<&Listing> {
        self.listings.iter().find(|l| l.id == id)
    }

    /// The covered areas named in `text` ("pilsen", "logan", "hyde pk"), in text order,
    /// and sides ("north side" = every northern area).
    pub fn find_areas(&self, text: &str) -> Vec<String> {
        let mut found: Vec<(usize, String)> = Vec::new();
        for a in &self.office.areas {
            let names = std::iter::once(&a.name).chain(&a.aliases);
            if let Some(pos) = names.filter_map(|n| word_position(text, n)).min() {
                found.push((pos, a.name.clone()));
            }
        }
        for (side, phrases) in [
            ("north", ["north side", "northside", "north"]),
            ("south", ["south side", "southside", "south"]),
            ("west", ["west side", "westside", "west"]),
        ] {
            let Some(pos) = phrases
                .iter()
                .filter(|ph| ph.contains("side") || contains_word(text, &format!("{ph} side")))
                .filter_map(|ph| word_position(text, ph))
                .min()
            else {
                continue;
            };
            for a in self.office.areas.iter().filter(|a| a.side == side) {
                if !found.iter().any(|(_, n)| *n == a.name) {
                    found.push((pos, a.name.clone()));
                }
            }
        }
        found.sort_by_key(|(pos, _)| *pos);
        found.into_iter().map(|(_, n)| n).collect()
    }

    /// A place named that is not a covered area, from a list of well-known Chicago
    /// neighborhoods: the agent says it does not cover it rather than ignoring it.
    pub fn uncovered_area(&self, text: &str) -> Option<&'static str> {
        const KNOWN: &[&str] = &[
            "Lincoln Park",
            "Lakeview",
            "Wicker Park",
            "Bucktown",
            "Edgewater",
            "Andersonville",
            "Chatham",
            "Englewood",
            "Humboldt Park",
            "Little Village",
            "Avondale",
            "Albany Park",
            "Chinatown",
            "West Loop",
            "South Loop",
            "the Loop",
            "River North",
            "Gold Coast",
            "Ukrainian Village",
            "Woodlawn",
            "Kenwood",
            "Garfield Park",
            "Austin",
            "Evanston",
            "Oak Park",
            "Cicero",
            "Berwyn",
            "Chicago Heights",
            "Beverly",
            "Morgan Park",
            "Roseland",
            "Pullman",
        ];
        KNOWN
            .iter()
            .find(|k| {
                contains_word(text, k)
                    && !self.office.areas.iter().any(|a| {
                        a.name.eq_ignore_ascii_case(k)
                            || a.aliases.iter().any(|x| x.eq_ignore_ascii_case(k))
                    })
            })
            .copied()
    }

    /// The listing a text names by a distinctive word of its title ("harper", "the loomis
    /// studio"), among `ids`.
    pub fn named_among(&self, text: &str, ids: &[String]) -> Option<String> {
        let hits: Vec<&String> = ids
            .iter()
            .filter(|id| {
                self.listing(id).is_some_and(|l| {
                    agenthost_sdk::text::words(&l.title).iter().any(|w| {
                        w.len() > 3
                            && ![
                                "apartments",
                                "street",
                                "avenue",
                                "flats",
                                "lofts",
                                "studios",
                                "studio",
                                "tower",
                                "courtyard",
                                "garden",
                                "unit",
                            ]
                            .contains(&w.as_str())
                            && contains_word(text, w)
                    })
                })
            })
            .collect();
        (hits.len() == 1).then(|| hits[0].clone())
    }

    /// Every option of `ids` named by a word of its title ("harper or prairie?").
    pub fn named_all_among(&self, text: &str, ids: &[String]) -> Vec<String> {
        ids.iter()
            .filter(|id| self.named_among(text, std::slice::from_ref(id)).is_some())
            .cloned()
            .collect()
    }
}

fn word_position(text: &str, needle: &str) -> Option<usize> {
    let hay = text.to_ascii_lowercase();
    let n = needle.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = hay[from..].find(&n) {
        let start = from + pos;
        let end = start + n.len();
        let b = hay.as_bytes();
        let before = start == 0 || !b[start - 1].is_ascii_alphanumeric();
        let after = end == b.len() || !b[end].is_ascii_alphanumeric();
        if before && after {
            return Some(start);
        }
        from = start + 1;
    }
    None
}

/// A listing that passed the hard filters, with its rank.
#[derive(Debug, Clone)]
pub struct Match<'a> {
    pub listing: &'a Listing,
    pub score: i64,
    pub over_budget: bool,
}

/// Listings that satisfy the renter's requirements, best first.
///
/// Hard filters: bedrooms within the wanted range (a single size also allows one more
/// bedroom, ranked lower); rent <= budget + `over_budget_allowance_pct`% (shown flagged
/// as over); pets allowed, a dog within the weight limit; areas when stated; within
/// `near_walk_minutes` of each landmark kind wanted. Rank (higher is better): 1000, -200
/// if over budget, +50 exact bedrooms else -20 per extra bedroom, +60 ready by the
/// move-in date (+20 within 14 days after, else -1 per day late up to -100), + up to 30
/// for savings under budget. Ties: cheaper first, then id.
pub fn matches<'a>(inv: &'a Inventory, r: &Renter, today: i64) -> Vec<Match<'a>> {
    let pct = inv.office.over_budget_allowance_pct;
    let move_in = r.move_in.as_deref().and_then(time::parse_iso_date);
    let pets = r.pets.unwrap_or_default();
    let near = inv.office.near_walk_minutes;
    let mut out: Vec<Match> = Vec::new();
    for l in &inv.listings {
        if let Some(b) = r.beds {
            let max = if b.min == b.max {
                b.max.saturating_add(1)
            } else {
                b.max
            };
            if l.bedrooms < b.min || l.bedrooms > max {
                continue;
            }
        }
        let budget = r.budget_range.map(|b| b.max);
        if let Some(budget) = budget
            && u64::from(l.rent) * 100 > u64::from(budget) * u64::from(100 + pct)
        {
            continue;
        }
        if !l.allows(&pets) {
            continue;
        }
        if let Some(areas) = &r.areas
            && !areas.is_empty()
            && !areas.iter().any(|a| a == &l.neighborhood)
        {
            continue;
        }
        if !r
            .near
            .iter()
            .all(|k| l.landmark(k).is_some_and(|m| m.walk_minutes <= near))
        {
            continue;
        }
        let over = budget.is_some_and(|b| l.rent > b);
        let mut score: i64 = 1000;
        if over {
            score -= 200;
        }
        match r.beds {
            Some(b) if b.contains(l.bedrooms) => score += 50,
            Some(b) => score -= 20 * i64::from(l.bedrooms.saturating_sub(b.max)),
            None => {}
        }
        let ready = l.ready(today);
        if let Some(m) = move_in {
            if ready <= m {
                score += 60;
            } else if ready <= m + 14 {
                score += 20;
            } else {
                score -= (ready - m).min(100);
            }
        }
        if let Some(b) = budget
            && l.rent < b
        {
            score += (i64::from(b - l.rent) * 200 / i64::from(b)).min(30);
        }
        out.push(Match {
            listing: l,
            score,
            over_budget: over,
        });
    }
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.listing.rent.cmp(&b.listing.rent))
            .then(a.listing.id.cmp(&b.listing.id))
    });
    out
}

/// "$1,150" / "$1,295 (4% over your $1,250 budget)".
pub fn price_note(l: &Listing, budget: Option<u32>) -> (String, Option<u32>) {
    let rent = dollars(l.rent.into());
    match budget {
        Some(b) if l.rent > b => (rent, Some(((l.rent - b) * 100).div_ceil(b))),
        _ => (rent, None),
    }
}

#[cfg(test)]
pub(crate) fn sample_json() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../config/plugins/locator.json")).unwrap()
}

#[cfg(test)]
pub(crate) fn sample() -> Inventory {
    let v = sample_json();
    Inventory::from_json(&v["office"].to_string(), &v["listings"].to_string(), None).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_loads_and_areas_are_found() {
        let inv = sample();
        assert_eq!(inv.listings.len(), 21);
        assert_eq!(
            inv.find_areas("pilsen or logan sq"),
            vec!["Pilsen", "Logan Square"]
        );
        assert_eq!(inv.find_areas("hyde pk"), vec!["Hyde Park"]);
        let north = inv.find_areas("anything on the north side");
        assert_eq!(north, vec!["Logan Square", "Rogers Park", "Uptown"]);
        assert_eq!(inv.find_areas("south shore"), vec!["South Shore"]);
        assert_eq!(
            inv.uncovered_area("what about lincoln park"),
            Some("Lincoln Park")
        );
        assert_eq!(inv.uncovered_area("what about pilsen"), None);
    }

    #[test]
    fn bad_config_names_the_field() {
        let v = sample_json();
        let mut l = v["listings"].clone();
        l[3]["laundry"] = serde_json::json!("in_building");
        let e = Inventory::from_json(&v["office"].to_string(), &l.to_string(), None).unwrap_err();
        assert!(
            e.starts_with("listings[3].laundry: unknown variant `in_building`"),
            "{e}"
        );
        let mut l = v["listings"].clone();
        l[0]["neighborhood"] = serde_json::json!("Lincoln Park");
        l[1]["vouchers"] = serde_json::json!(false);
        let e = Inventory::from_json(&v["office"].to_string(), &l.to_string(), None).unwrap_err();
        assert!(
            e.contains("listings[0].neighborhood: `Lincoln Park` is not one of office.areas"),
            "{e}"
        );
        assert!(e.contains("listings[1].vouchers: is false"), "{e}");
    }
}
