//! The portfolio as the operator configures it (`config/plugins/landlord-rep.json`, keys
//! `office` and `buildings`), and the lookups the agent does on it.

use agenthost_sdk::text::{contains_word, dollars, words};
use agenthost_sdk::time::{self, Zone};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Office {
    pub company: String,
    pub owner_name: String,
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub application_url: String,
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// Standard-time offset from UTC of `timezone`, in minutes (Chicago: -360). The agent
    /// has no time-zone database: it applies this offset plus, when `observe_us_dst`, the
    /// US daylight-saving rule.
    #[serde(default = "default_offset")]
    pub utc_offset_minutes: i32,
    #[serde(default = "yes")]
    pub observe_us_dst: bool,
    #[serde(default = "default_silence")]
    pub followup_silence_hours: u64,
    #[serde(default = "default_max_followups")]
    pub max_followups: u32,
    #[serde(default = "default_slot")]
    pub tour_slot_minutes: u32,
    #[serde(default = "default_slots_offered")]
    pub tour_slots_offered: usize,
    #[serde(default = "default_lead_minutes")]
    pub tour_min_lead_minutes: u32,
    #[serde(default = "default_silence")]
    pub handoff_notice_hours: u64,
    #[serde(default = "yes")]
    pub use_llm: bool,
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
fn default_silence() -> u64 {
    24
}
fn default_max_followups() -> u32 {
    3
}
fn default_slot() -> u32 {
    30
}
fn default_slots_offered() -> usize {
    3
}
fn default_lead_minutes() -> u32 {
    120
}

impl Office {
    pub fn zone(&self) -> Zone {
        Zone {
            standard_offset_min: self.utc_offset_minutes,
            us_dst: self.observe_us_dst,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Unit {
    pub unit: String,
    pub bedrooms: u8,
    pub bathrooms: f32,
    pub rent: u32,
    pub sqft: u32,
    /// ISO date the unit can be moved into.
    pub available_from: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct PetPolicy {
    #[serde(default)]
    pub cats: bool,
    #[serde(default)]
    pub dogs: bool,
    #[serde(default)]
    pub max_pets: Option<u32>,
    #[serde(default)]
    pub dog_weight_limit_lbs: Option<u32>,
    #[serde(default)]
    pub pet_deposit: Option<u32>,
    #[serde(default)]
    pub monthly_pet_rent: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Parking {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub monthly_fee: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Building {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub address: String,
    pub neighborhood: String,
    pub units: Vec<Unit>,
    #[serde(default)]
    pub pets: PetPolicy,
    pub parking: Parking,
    #[serde(default)]
    pub amenities: Vec<String>,
    #[serde(default)]
    pub nearby: String,
    /// Weekday key ("mon".."sun") -> ["HH:MM", "HH:MM"] opening and closing of tours.
    #[serde(default)]
    pub tour_hours: BTreeMap<String, [String; 2]>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Portfolio {
    pub office: Office,
    pub buildings: Vec<Building>,
}

/// Words of building names that do not identify a building on their own.
const GENERIC: &[&str] = &[
    "apartments",
    "apartment",
    "residences",
    "residence",
    "place",
    "flats",
    "commons",
    "lofts",
    "the",
    "court",
    "park",
    "south",
    "shore",
    "chicago",
    "heights",
    "chatham",
    "avenue",
    "drive",
    "garden",
    "highway",
    "at",
    "of",
];

impl Portfolio {
    pub fn from_json(office: &str, buildings: &str) -> Result<Self, String> {
        Ok(Portfolio {
            office: serde_json::from_str(office).map_err(|e| format!("office: {e}"))?,
            buildings: serde_json::from_str(buildings).map_err(|e| format!("buildings: {e}"))?,
        })
    }

    pub fn building(&self, id: &str) -> Option<&Building> {
        self.buildings.iter().find(|b| b.id == id)
    }

    /// The building `text` names: the full name or an alias (case-insensitive), or else the
    /// building with the most distinctive name words in the text ("jeffery", "yates").
    /// `None` when nothing matches or two buildings match equally well.
    pub fn find_building(&self, text: &str) -> Option<&Building> {
        let mut best: Option<(&Building, usize)> = None;
        let mut tie = false;
        for b in &self.buildings {
            let score = if contains_word(text, &b.name) {
                100
            } else if b.aliases.iter().any(|a| contains_word(text, a)) {
                50
            } else {
                words(&b.name)
                    .iter()
                    .filter(|w| !GENERIC.contains(&w.as_str()) && contains_word(text, w))
                    .count()
            };
            if score == 0 {
                continue;
            }
            match best {
                Some((_, s)) if s > score => {}
                Some((_, s)) if s == score => tie = true,
                _ => {
                    best = Some((b, score));
                    tie = false;
                }
            }
        }
        if tie { None } else { best.map(|(b, _)| b) }
    }

    /// Neighborhoods named in `text` ("South Shore", "Chatham", "Chicago Heights").
    pub fn find_neighborhood(&self, text: &str) -> Option<String> {
        let mut hoods: Vec<&str> = self
            .buildings
            .iter()
            .map(|b| b.neighborhood.as_str())
            .collect();
        hoods.dedup();
        hoods
            .into_iter()
            .find(|h| contains_word(text, h))
            .map(str::to_owned)
            .or_else(|| {
                (contains_word(text, "heights")
                    && self
                        .buildings
                        .iter()
                        .any(|b| b.neighborhood == "Chicago Heights"))
                .then(|| "Chicago Heights".to_owned())
            })
    }

    pub fn neighborhoods(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for b in &self.buildings {
            if !out.contains(&b.neighborhood) {
                out.push(b.neighborhood.clone());
            }
        }
        out
    }
}

impl Building {
    /// The name without a trailing generic word, for compact lists ("Jeffery Shores").
    pub fn short_name(&self) -> &str {
        for suffix in [" Apartments", " Residences"] {
            if let Some(s) = self.name.strip_suffix(suffix) {
                return s;
            }
        }
        &self.name
    }

    /// The street part of the address ("7130 S Jeffery Blvd").
    pub fn street(&self) -> &str {
        self.address.split(',').next().unwrap_or(&self.address)
    }

    pub fn allows_pets(&self, cats: bool, dogs: bool) -> bool {
        (!cats || self.pets.cats) && (!dogs || self.pets.dogs)
    }

    /// "Cats OK; dogs OK up to 40 lbs; max 2 pets; $300 pet deposit + $25/mo pet rent."
    pub fn pet_summary(&self) -> String {
        let p = &self.pets;
        if !p.cats && !p.dogs {
            return "No pets allowed (service and support animals excepted).".into();
        }
        let mut parts = Vec::new();
        parts.push(if p.cats {
            "Cats OK".to_owned()
        } else {
            "No cats".to_owned()
        });
        parts.push(match (p.dogs, p.dog_weight_limit_lbs) {
            (true, Some(lbs)) => format!("dogs OK up to {lbs} lbs"),
            (true, None) => "dogs OK".to_owned(),
            (false, _) => "no dogs".to_owned(),
        });
        if let Some(n) = p.max_pets {
            parts.push(format!("max {n} pet{}", if n == 1 { "" } else { "s" }));
        }
        let mut fees = Vec::new();
        if let Some(d) = p.pet_deposit {
            fees.push(format!("{} pet deposit", dollars(d.into())));
        }
        if let Some(r) = p.monthly_pet_rent {
            fees.push(format!("{}/mo pet rent", dollars(r.into())));
        }
        let mut s = parts.join("; ");
        if !fees.is_empty() {
            s.push_str("; ");
            s.push_str(&fees.join(" + "));
        }
        s.push('.');
        s
    }

    /// "Parking: gated surface lot, $50/mo." / "Parking: street parking only (free)."
    pub fn parking_summary(&self) -> String {
        if self.parking.monthly_fee == 0 {
            format!("Parking: {} (free).", self.parking.kind)
        } else {
            format!(
                "Parking: {}, {}/mo.",
                self.parking.kind,
                dollars(self.parking.monthly_fee.into())
            )
        }
    }

    /// Opening and closing minute of tours on weekday `wd` (0 = Monday), if any.
    pub fn tour_window(&self, wd: u32) -> Option<(u32, u32)> {
        let [open, close] = self.tour_hours.get(time::WEEKDAY_KEYS[wd as usize])?;
        let parse = |s: &str| -> Option<u32> {
            let (h, m) = s.split_once(':')?;
            Some(h.parse::<u32>().ok()? * 60 + m.parse::<u32>().ok()?)
        };
        let (o, c) = (parse(open)?, parse(close)?);
        (o < c).then_some((o, c))
    }
}

/// "1BR/1BA" ("Studio/1BA" for 0 bedrooms; "1.5BA" for half baths).
pub fn layout(u: &Unit) -> String {
    let br = if u.bedrooms == 0 {
        "Studio".to_owned()
    } else {
        format!("{}BR", u.bedrooms)
    };
    let ba = if u.bathrooms.fract() == 0.0 {
        format!("{}", u.bathrooms as u32)
    } else {
        format!("{}", u.bathrooms)
    };
    format!("{br}/{ba}BA")
}

/// "avail now" when the unit is free on `today` (a day number), else "avail Dec 15".
pub fn availability(u: &Unit, today: i64) -> String {
    match time::parse_iso_date(&u.available_from) {
        Some(d) if d > today => format!("avail {}", time::month_day(d)),
        _ => "avail now".into(),
    }
}

#[cfg(test)]
pub(crate) fn sample() -> Portfolio {
    let text = include_str!("../../../config/plugins/landlord-rep.json");
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    Portfolio::from_json(&v["office"].to_string(), &v["buildings"].to_string()).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_data_loads() {
        let p = sample();
        assert_eq!(p.buildings.len(), 8);
        assert_eq!(
            p.neighborhoods(),
            vec!["South Shore", "Chatham", "Chicago Heights"]
        );
        assert_eq!(p.office.max_followups, 3);
    }

    #[test]
    fn buildings_are_found_by_partial_names_in_any_case() {
        let p = sample();
        let id = |t: &str| p.find_building(t).map(|b| b.id.as_str());
        assert_eq!(
            id("What's available at JEFFERY SHORES?"),
            Some("jeffery-shores")
        );
        assert_eq!(id("how much is yates"), Some("yates-park"));
        assert_eq!(id("Chatham Park Place pets?"), Some("chatham-park-place"));
        assert_eq!(id("the one on king drive"), Some("king-drive-residences"));
        assert_eq!(
            id("rainbow beach lofts parking"),
            Some("rainbow-beach-lofts")
        );
        assert_eq!(id("anything in chatham"), None);
        assert_eq!(id("do you allow dogs"), None);
        assert_eq!(
            p.find_neighborhood("anything in chatham").as_deref(),
            Some("Chatham")
        );
        assert_eq!(
            p.find_neighborhood("out in the heights?").as_deref(),
            Some("Chicago Heights")
        );
    }

    #[test]
    fn summaries_come_from_the_data() {
        let p = sample();
        let b = p.building("jeffery-shores").unwrap();
        assert_eq!(
            b.pet_summary(),
            "Cats OK; dogs OK up to 40 lbs; max 2 pets; $300 pet deposit + $25/mo pet rent."
        );
        assert_eq!(b.parking_summary(), "Parking: gated surface lot, $50/mo.");
        assert_eq!(b.tour_window(0), Some((600, 1080)));
        assert_eq!(b.tour_window(6), None);
        assert_eq!(layout(&b.units[2]), "2BR/1.5BA");
    }
}
