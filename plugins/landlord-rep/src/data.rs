//! The portfolio as the operator configures it (`config/plugins/landlord-rep.json`, keys
//! `office` and `buildings`, optional `languages`), validated field by field, and the
//! lookups the agent does on it. Everything the agent states about a building — rent,
//! sizes, dates, fees, voucher policy, utilities, laundry, lease terms, screening
//! criteria, landmarks, hours, languages — comes from here; what is not here, it does not
//! say.

use agenthost_sdk::config::Problems;
use agenthost_sdk::hours::WeeklyHours;
use agenthost_sdk::lang::{ExtraLanguage, Text};
use agenthost_sdk::text::{contains_word, words};
use agenthost_sdk::time::{self, Zone};
use serde::{Deserialize, Serialize};

/// Utilities a building may include or leave to the tenant; each has a name in every
/// language pack (`utility_<key>`).
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

/// Kinds of landmark a renter can ask to be near ("near the lake"); each has cue words
/// (`near_<kind>`) and a name in every language pack (`landmark_<kind>`).
pub const LANDMARK_KINDS: &[&str] = &[
    "lake", "transit", "park", "school", "shopping", "highway", "hospital",
];

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    pub company: String,
    pub owner_name: String,
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub application_url: String,
    /// Where the leasing office is, for "where is your office".
    #[serde(default)]
    pub office_address: String,
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
    /// Use the LLM (when the host has one) to answer what the rules do not understand.
    #[serde(default = "yes")]
    pub use_llm: bool,
    /// When the leasing office is open (answers "what are your hours").
    pub office_hours: WeeklyHours,
    /// When staff answer handoffs; defaults to the office hours.
    #[serde(default)]
    pub staff_hours: WeeklyHours,
    /// Minutes staff take to reach a lead once in.
    #[serde(default = "default_response")]
    pub handoff_response_minutes: u32,
    /// Language codes the leasing staff speak ("en", "es").
    pub staff_languages: Vec<String>,
    /// Source of income is a protected class where the portfolio is (Illinois: yes): a
    /// building may then not refuse vouchers, and the agent says so.
    #[serde(default)]
    pub source_of_income_protected: bool,
    /// The default policies; a building may override each.
    pub vouchers: Vouchers,
    pub fees: Fees,
    pub lease: Lease,
    pub screening: Screening,
    /// A landmark within this walk counts as "near" it.
    #[serde(default = "default_near")]
    pub near_walk_minutes: u32,
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
fn default_response() -> u32 {
    30
}
fn default_near() -> u32 {
    15
}

impl Office {
    pub fn zone(&self) -> Zone {
        Zone {
            standard_offset_min: self.utc_offset_minutes,
            us_dst: self.observe_us_dst,
        }
    }

    /// The hours staff answer handoffs in.
    pub fn staff_hours(&self) -> &WeeklyHours {
        if self.staff_hours.is_empty() {
            &self.office_hours
        } else {
            &self.staff_hours
        }
    }
}

/// Housing Choice Voucher (Section 8) policy.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Vouchers {
    pub accepted: bool,
    /// Programs the office works with ("CHA Housing Choice Vouchers").
    #[serde(default)]
    pub programs: Vec<String>,
    /// How it works (inspection, paperwork), in the lead's language when given per language.
    #[serde(default)]
    pub note: Text,
}

/// Move-in costs. `None` = the office has not published it (the agent says a person will
/// confirm); 0 = none charged.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    #[serde(default)]
    pub application_fee: Option<u32>,
    /// The application fee is charged per adult applicant.
    #[serde(default)]
    pub application_fee_per_adult: bool,
    #[serde(default)]
    pub security_deposit: Option<u32>,
    /// Deposit as months of rent (instead of an amount).
    #[serde(default)]
    pub security_deposit_months: Option<u32>,
    #[serde(default)]
    pub move_in_fee: Option<u32>,
    #[serde(default)]
    pub admin_fee: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Lease {
    /// Standard lease lengths offered, in months.
    pub months: Vec<u32>,
    /// A shorter lease offered at a premium, if any.
    #[serde(default)]
    pub short_term_months: Option<u32>,
    #[serde(default)]
    pub short_term_premium: Option<u32>,
    #[serde(default)]
    pub note: Text,
}

/// Screening criteria exactly as the office publishes them.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Screening {
    /// Monthly household income must be at least this multiple of the rent (the tenant's
    /// share of it, for voucher holders).
    #[serde(default)]
    pub income_multiple: Option<f32>,
    /// `None`: no minimum credit score.
    #[serde(default)]
    pub min_credit_score: Option<u32>,
    pub credit: Text,
    pub evictions: Text,
    pub criminal: Text,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct Parking {
    #[serde(rename = "type")]
    pub kind: Text,
    #[serde(default)]
    pub monthly_fee: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LaundryKind {
    InUnit,
    OnSite,
    Hookups,
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Laundry {
    pub kind: LaundryKind,
    #[serde(default)]
    pub note: Text,
}

/// Something near a building, with how far it is.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Landmark {
    pub name: String,
    /// One of [`LANDMARK_KINDS`].
    pub kind: String,
    /// Other ways renters name it ("the beach", "71st st station").
    #[serde(default)]
    pub aliases: Vec<String>,
    pub walk_minutes: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
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
    pub amenities: Vec<Text>,
    /// Utilities the rent includes, and those the tenant pays (keys of [`UTILITIES`]).
    pub utilities_included: Vec<String>,
    pub tenant_pays: Vec<String>,
    pub laundry: Laundry,
    #[serde(default)]
    pub landmarks: Vec<Landmark>,
    /// Tours: weekday key ("mon".."sun") -> ["HH:MM", "HH:MM"].
    pub tour_hours: WeeklyHours,
    /// Overrides of the office defaults.
    #[serde(default)]
    pub vouchers: Option<Vouchers>,
    #[serde(default)]
    pub fees: Option<Fees>,
    #[serde(default)]
    pub lease: Option<Lease>,
}

#[derive(Debug, Clone)]
pub struct Portfolio {
    pub office: Office,
    pub buildings: Vec<Building>,
    pub extra_languages: Vec<ExtraLanguage>,
}

/// `text` without the whole-word occurrences of `phrase`.
fn strip_word(text: &str, phrase: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(phrase) {
        let end = pos + phrase.len();
        let bytes = rest.as_bytes();
        let whole = (pos == 0 || !bytes[pos - 1].is_ascii_alphanumeric())
            && (end == rest.len() || !bytes[end].is_ascii_alphanumeric());
        if whole {
            out.push_str(&rest[..pos]);
            out.push(' ');
        } else {
            out.push_str(&rest[..end]);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
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
    /// Parses and validates the config values; the error names every bad field.
    pub fn from_json(
        office: &str,
        buildings: &str,
        languages: Option<&str>,
    ) -> Result<Self, String> {
        let office: Office = agenthost_sdk::config::parse_str(office)
            .map_err(|e| agenthost_sdk::config::at("office", &e))?;
        let buildings: Vec<Building> = agenthost_sdk::config::parse_str(buildings)
            .map_err(|e| agenthost_sdk::config::at("buildings", &e))?;
        let extra_languages: Vec<ExtraLanguage> = match languages {
            Some(l) => agenthost_sdk::config::parse_str(l)
                .map_err(|e| agenthost_sdk::config::at("languages", &e))?,
            None => Vec::new(),
        };
        let p = Portfolio {
            office,
            buildings,
            extra_languages,
        };
        p.validate()?;
        Ok(p)
    }

    /// Everything [`from_json`]'s types cannot say: ranges, dates, hours, known keys,
    /// unique ids, and the law on vouchers.
    pub fn validate(&self) -> Result<(), String> {
        let mut p = Problems::default();
        let o = &self.office;
        p.text("office.company", &o.company);
        p.text("office.owner_name", &o.owner_name);
        p.text("office.phone", &o.phone);
        if !(15..=240).contains(&o.tour_slot_minutes) {
            p.push("office.tour_slot_minutes", "must be 15-240");
        }
        if !(1..=4).contains(&o.tour_slots_offered) {
            p.push("office.tour_slots_offered", "must be 1-4");
        }
        if !(1..=24 * 60).contains(&o.handoff_response_minutes) {
            p.push("office.handoff_response_minutes", "must be 1-1440");
        }
        if !(-720..=840).contains(&o.utc_offset_minutes) {
            p.push("office.utc_offset_minutes", "must be -720..840");
        }
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
        check_vouchers(
            "office.vouchers",
            &o.vouchers,
            o.source_of_income_protected,
            &mut p,
        );
        check_lease("office.lease", &o.lease, &mut p);
        if let Some(m) = o.screening.income_multiple
            && !(0.5..=5.0).contains(&m)
        {
            p.push("office.screening.income_multiple", "must be 0.5-5");
        }
        if let Some(s) = o.screening.min_credit_score
            && !(300..=850).contains(&s)
        {
            p.push("office.screening.min_credit_score", "must be 300-850");
        }
        for (f, t) in [
            ("credit", &o.screening.credit),
            ("evictions", &o.screening.evictions),
            ("criminal", &o.screening.criminal),
        ] {
            if t.is_empty() {
                p.push(&format!("office.screening.{f}"), "must not be empty");
            }
        }
        if self.buildings.is_empty() {
            p.push("buildings", "must list at least one building");
        }
        for (i, b) in self.buildings.iter().enumerate() {
            let f = |name: &str| format!("buildings[{i}].{name}");
            if b.id.is_empty()
                || !b
                    .id
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            {
                p.push(&f("id"), "must be lowercase letters, digits and -");
            }
            if self.buildings[..i].iter().any(|x| x.id == b.id) {
                p.push(&f("id"), format!("`{}` is used twice", b.id));
            }
            p.text(&f("name"), &b.name);
            p.text(&f("address"), &b.address);
            p.text(&f("neighborhood"), &b.neighborhood);
            if b.units.is_empty() {
                p.push(&f("units"), "must list at least one unit");
            }
            for (j, u) in b.units.iter().enumerate() {
                let uf = |name: &str| format!("buildings[{i}].units[{j}].{name}");
                if u.bedrooms > 9 {
                    p.push(&uf("bedrooms"), "must be 0-9");
                }
                if !(0.5..=9.0).contains(&u.bathrooms) || (u.bathrooms * 2.0).fract() != 0.0 {
                    p.push(&uf("bathrooms"), "must be 0.5-9 in halves");
                }
                if !(100..=50_000).contains(&u.rent) {
                    p.push(&uf("rent"), "must be 100-50000");
                }
                if u.sqft == 0 {
                    p.push(&uf("sqft"), "must be positive");
                }
                p.date(&uf("available_from"), &u.available_from);
            }
            if b.pets.dog_weight_limit_lbs.is_some() && !b.pets.dogs {
                p.push(
                    &f("pets.dog_weight_limit_lbs"),
                    "is set but dogs are not allowed",
                );
            }
            for (k, key) in b
                .utilities_included
                .iter()
                .chain(&b.tenant_pays)
                .enumerate()
            {
                if !UTILITIES.contains(&key.as_str()) {
                    let field = if k < b.utilities_included.len() {
                        format!("buildings[{i}].utilities_included[{k}]")
                    } else {
                        format!(
                            "buildings[{i}].tenant_pays[{}]",
                            k - b.utilities_included.len()
                        )
                    };
                    p.push(
                        &field,
                        format!("`{key}` is not one of {}", UTILITIES.join(", ")),
                    );
                }
            }
            if let Some(both) = b
                .utilities_included
                .iter()
                .find(|u| b.tenant_pays.contains(u))
            {
                p.push(
                    &f("tenant_pays"),
                    format!("`{both}` is also listed as included"),
                );
            }
            for (k, l) in b.landmarks.iter().enumerate() {
                if !LANDMARK_KINDS.contains(&l.kind.as_str()) {
                    p.push(
                        &format!("buildings[{i}].landmarks[{k}].kind"),
                        format!("`{}` is not one of {}", l.kind, LANDMARK_KINDS.join(", ")),
                    );
                }
                if l.walk_minutes > 180 {
                    p.push(
                        &format!("buildings[{i}].landmarks[{k}].walk_minutes"),
                        "must be 0-180",
                    );
                }
                p.text(&format!("buildings[{i}].landmarks[{k}].name"), &l.name);
            }
            b.tour_hours.validate(&f("tour_hours"), &mut p);
            if let Some(v) = &b.vouchers {
                check_vouchers(&f("vouchers"), v, o.source_of_income_protected, &mut p);
            }
            if let Some(l) = &b.lease {
                check_lease(&f("lease"), l, &mut p);
            }
        }
        p.into_result()
    }

    pub fn building(&self, id: &str) -> Option<&Building> {
        self.buildings.iter().find(|b| b.id == id)
    }

    /// The building a message names, by full name, alias, street number + street, or a
    /// distinctive word of its name; `None` when none or several match equally.
    pub fn find_building(&self, text: &str) -> Option<&Building> {
        let mut best: Option<(&Building, usize)> = None;
        let mut tie = false;
        for b in &self.buildings {
            let score = if contains_word(text, &b.name) {
                100
            } else if b.aliases.iter().any(|a| contains_word(text, a)) {
                50
            } else if contains_word(text, b.street()) {
                40
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

    /// Every building named outright in `text` (its name, an alias or its street), in data
    /// order: "which is cheaper, yates or evans?" names two. Looser single-word matches do
    /// not count here, and a landmark that merely contains a building's alias ("the
    /// cottage grove bus") names the landmark, not the building.
    pub fn find_buildings(&self, text: &str) -> Vec<&Building> {
        let names = |b: &'_ Building| -> Vec<String> {
            std::iter::once(b.name.to_lowercase())
                .chain(b.aliases.iter().map(|a| a.to_lowercase()))
                .collect()
        };
        let all: Vec<String> = self.buildings.iter().flat_map(names).collect();
        let mut text = text.to_lowercase();
        for b in &self.buildings {
            for l in &b.landmarks {
                for a in std::iter::once(&l.name).chain(&l.aliases) {
                    let a = a.to_lowercase();
                    // Only a landmark named in the text can shadow a building: checked
                    // first, as it fails for almost every landmark (`strip_word` of a
                    // phrase that is not a whole word of the text changes nothing).
                    if contains_word(&text, &a)
                        && all.iter().any(|n| *n != a && contains_word(&a, n))
                    {
                        text = strip_word(&text, &a);
                    }
                }
            }
        }
        self.buildings
            .iter()
            .filter(|b| {
                names(b).iter().any(|n| contains_word(&text, n)) || contains_word(&text, b.street())
            })
            .collect()
    }

    /// Neighborhoods named in `text`.
    pub fn find_neighborhoods(&self, text: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .neighborhoods()
            .into_iter()
            .filter(|h| contains_word(text, h))
            .collect();
        if out.is_empty()
            && contains_word(text, "heights")
            && self
                .buildings
                .iter()
                .any(|b| b.neighborhood == "Chicago Heights")
        {
            out.push("Chicago Heights".into());
        }
        out
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

fn check_vouchers(field: &str, v: &Vouchers, protected: bool, p: &mut Problems) {
    if protected && !v.accepted {
        p.push(
            &format!("{field}.accepted"),
            "is false, but source of income is protected here (office.source_of_income_protected): refusing vouchers is unlawful",
        );
    }
    if v.accepted && v.programs.is_empty() {
        p.push(
            &format!("{field}.programs"),
            "must name at least one program when vouchers are accepted",
        );
    }
}

fn check_lease(field: &str, l: &Lease, p: &mut Problems) {
    if l.months.is_empty() {
        p.push(
            &format!("{field}.months"),
            "must list at least one lease length",
        );
    }
    if l.months.iter().any(|&m| !(1..=36).contains(&m)) {
        p.push(&format!("{field}.months"), "lengths must be 1-36 months");
    }
    if l.short_term_premium.is_some() && l.short_term_months.is_none() {
        p.push(
            &format!("{field}.short_term_premium"),
            "is set without short_term_months",
        );
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

    /// Whether pets like these may live here (weight included when known).
    pub fn allows(&self, pets: &agenthost_sdk::read::Pets) -> bool {
        (!pets.cats || self.pets.cats)
            && (!pets.dogs
                || (self.pets.dogs
                    && match (pets.dog_lbs, self.pets.dog_weight_limit_lbs) {
                        (Some(w), Some(limit)) => w <= limit,
                        _ => true,
                    }))
            && match (pets.count, self.pets.max_pets) {
                (Some(n), Some(max)) => u32::from(n) <= max,
                _ => true,
            }
    }

    pub fn vouchers<'a>(&'a self, o: &'a Office) -> &'a Vouchers {
        self.vouchers.as_ref().unwrap_or(&o.vouchers)
    }

    pub fn fees<'a>(&'a self, o: &'a Office) -> &'a Fees {
        self.fees.as_ref().unwrap_or(&o.fees)
    }

    pub fn lease<'a>(&'a self, o: &'a Office) -> &'a Lease {
        self.lease.as_ref().unwrap_or(&o.lease)
    }

    /// The nearest landmark of `kind`, if the data names one.
    pub fn landmark(&self, kind: &str) -> Option<&Landmark> {
        self.landmarks
            .iter()
            .filter(|l| l.kind == kind)
            .min_by_key(|l| l.walk_minutes)
    }

    /// Within `minutes`' walk of a landmark of `kind`.
    pub fn near(&self, kind: &str, minutes: u32) -> bool {
        self.landmark(kind)
            .is_some_and(|l| l.walk_minutes <= minutes)
    }
}

/// "1BR/1BA" ("Studio/1BA" for 0 bedrooms; "1.5BA" for half baths).
pub fn layout(u: &Unit, studio: &str) -> String {
    let br = if u.bedrooms == 0 {
        studio.to_owned()
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

/// The day a unit is ready (never before `today`).
pub fn ready_day(u: &Unit, today: i64) -> i64 {
    time::parse_iso_date(&u.available_from)
        .unwrap_or(today)
        .max(today)
}

#[cfg(test)]
pub(crate) fn sample_json() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../config/plugins/landlord-rep.json")).unwrap()
}

#[cfg(test)]
pub(crate) fn sample() -> Portfolio {
    let v = sample_json();
    Portfolio::from_json(&v["office"].to_string(), &v["buildings"].to_string(), None).unwrap()
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
        assert!(p.office.source_of_income_protected);
    }

    #[test]
    fn bad_config_is_refused_with_the_field_named() {
        let v = sample_json();
        let load = |office: &serde_json::Value, buildings: &serde_json::Value| {
            Portfolio::from_json(&office.to_string(), &buildings.to_string(), None).unwrap_err()
        };
        let mut b = v["buildings"].clone();
        b[2]["units"][0]["rent"] = serde_json::json!("1,150");
        let e = load(&v["office"], &b);
        assert!(
            e.starts_with("buildings[2].units[0].rent: invalid type: string"),
            "{e}"
        );
        let mut b = v["buildings"].clone();
        b[0]["utilities_included"] = serde_json::json!(["heat", "cable tv"]);
        b[1]["tour_hours"]["mon"] = serde_json::json!(["18:00", "11:00"]);
        b[3]["vouchers"] = serde_json::json!({"accepted": false});
        let e = load(&v["office"], &b);
        assert!(
            e.contains("buildings[0].utilities_included[1]: `cable tv` is not one of"),
            "{e}"
        );
        assert!(
            e.contains("buildings[1].tour_hours.mon: opens at 18:00 but closes at 11:00"),
            "{e}"
        );
        assert!(
            e.contains(
                "buildings[3].vouchers.accepted: is false, but source of income is protected"
            ),
            "{e}"
        );
        let mut o = v["office"].clone();
        o["vouchr_policy"] = serde_json::json!(true);
        let e = load(&o, &v["buildings"]);
        assert!(
            e.starts_with("office.vouchr_policy: unknown field `vouchr_policy`"),
            "{e}"
        );
        let mut o = v["office"].clone();
        o.as_object_mut().unwrap().remove("screening");
        let e = load(&o, &v["buildings"]);
        assert!(e.contains("missing field `screening`"), "{e}");
    }

    #[test]
    fn buildings_are_found_by_partial_names_in_any_case() {
        let p = sample();
        let id = |t: &str| p.find_building(t).map(|b| b.id.as_str());
        assert_eq!(
            id("What's available at JEFFERY SHORES?"),
            Some("jeffery-shores")
        );
        assert_eq!(
            id("hey is the 2br on jeffery still avail??"),
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
        assert_eq!(p.find_neighborhoods("anything in chatham"), vec!["Chatham"]);
        assert_eq!(
            p.find_neighborhoods("out in the heights?"),
            vec!["Chicago Heights"]
        );
    }

    #[test]
    fn pet_weight_limits() {
        let p = sample();
        let dog60 = agenthost_sdk::read::Pets {
            dogs: true,
            dog_lbs: Some(60),
            ..Default::default()
        };
        let fits: Vec<&str> = p
            .buildings
            .iter()
            .filter(|b| b.allows(&dog60))
            .map(|b| b.id.as_str())
            .collect();
        assert_eq!(fits, vec!["rainbow-beach-lofts", "heights-garden"]);
    }
}
