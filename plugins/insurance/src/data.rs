//! The insurance agent's operator data (`config/plugins/insurance.json`): `office`, the
//! `rates` table (see [`crate::rates`]), `coverage` (what each part of a policy does, what
//! is and is not covered, in each language), optional `languages`. Validated at load;
//! errors name the field.

use crate::rates::RateTable;
use agenthost_sdk::config::Problems;
use agenthost_sdk::hours::WeeklyHours;
use agenthost_sdk::lang::{ExtraLanguage, Text};
use agenthost_sdk::time::Zone;
use serde::{Deserialize, Serialize};

/// Perils the data can say are covered or not; each has cue words (`peril_<key>`) and a
/// name (`peril_<key>`) in every language pack.
pub const PERILS: &[&str] = &[
    "fire",
    "smoke",
    "theft",
    "vandalism",
    "windstorm",
    "water",
    "bike",
    "electronics",
    "jewelry",
    "injury",
    "dog_bite",
    "travel",
    "flood",
    "earthquake",
    "car",
    "roommate",
    "building",
    "pests",
    "mold",
];

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
    #[serde(default)]
    pub staff_hours: WeeklyHours,
    #[serde(default = "default_response")]
    pub handoff_response_minutes: u32,
    pub staff_languages: Vec<String>,
    /// Where the agency writes policies ("Illinois").
    pub licensed_in: String,
    #[serde(default = "default_silence")]
    pub followup_silence_hours: u64,
    #[serde(default = "default_claims")]
    pub max_claims_auto_quote: u32,
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
fn default_response() -> u32 {
    30
}
fn default_silence() -> u64 {
    24
}
fn default_claims() -> u32 {
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

/// What a policy does, as the agency words it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    pub personal_property: Text,
    pub liability: Text,
    pub medical_payments: Text,
    pub loss_of_use: Text,
    /// Replacement cost or actual cash value.
    pub valuation: Text,
    pub not_covered: Text,
    pub deductible: Text,
    pub claims: Text,
    /// Proof of coverage for landlords.
    pub landlord_requirement: Text,
    /// Perils (keys of [`PERILS`]) the policy covers, and those it does not.
    pub perils_covered: Vec<String>,
    pub perils_excluded: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub office: Office,
    pub rates: RateTable,
    pub coverage: Coverage,
    pub extra_languages: Vec<ExtraLanguage>,
}

impl Config {
    pub fn from_json(
        office: &str,
        rates: &str,
        coverage: &str,
        languages: Option<&str>,
    ) -> Result<Config, String> {
        use agenthost_sdk::config::{at, parse_str};
        let c = Config {
            office: parse_str(office).map_err(|e| at("office", &e))?,
            rates: parse_str(rates).map_err(|e| at("rates", &e))?,
            coverage: parse_str(coverage).map_err(|e| at("coverage", &e))?,
            extra_languages: match languages {
                Some(l) => parse_str(l).map_err(|e| at("languages", &e))?,
                None => Vec::new(),
            },
        };
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), String> {
        let mut p = Problems::default();
        let o = &self.office;
        p.text("office.company", &o.company);
        p.text("office.phone", &o.phone);
        p.text("office.licensed_in", &o.licensed_in);
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
        self.rates.validate(&mut p);
        let c = &self.coverage;
        for (f, t) in [
            ("personal_property", &c.personal_property),
            ("liability", &c.liability),
            ("medical_payments", &c.medical_payments),
            ("loss_of_use", &c.loss_of_use),
            ("valuation", &c.valuation),
            ("not_covered", &c.not_covered),
            ("deductible", &c.deductible),
            ("claims", &c.claims),
            ("landlord_requirement", &c.landlord_requirement),
        ] {
            if t.is_empty() {
                p.push(&format!("coverage.{f}"), "must not be empty");
            }
        }
        for (f, list) in [
            ("perils_covered", &c.perils_covered),
            ("perils_excluded", &c.perils_excluded),
        ] {
            for (i, k) in list.iter().enumerate() {
                if !PERILS.contains(&k.as_str()) {
                    p.push(
                        &format!("coverage.{f}[{i}]"),
                        format!("`{k}` is not one of {}", PERILS.join(", ")),
                    );
                }
            }
        }
        if let Some(both) = c
            .perils_covered
            .iter()
            .find(|k| c.perils_excluded.contains(k))
        {
            p.push(
                "coverage.perils_excluded",
                format!("`{both}` is also listed as covered"),
            );
        }
        p.into_result()
    }
}

#[cfg(test)]
pub(crate) fn sample_json() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../config/plugins/insurance.json")).unwrap()
}

#[cfg(test)]
pub(crate) fn sample() -> Config {
    let v = sample_json();
    Config::from_json(
        &v["office"].to_string(),
        &v["rates"].to_string(),
        &v["coverage"].to_string(),
        None,
    )
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_config_names_the_field() {
        let v = sample_json();
        let load = |o: &serde_json::Value, r: &serde_json::Value, c: &serde_json::Value| {
            Config::from_json(&o.to_string(), &r.to_string(), &c.to_string(), None).unwrap_err()
        };
        let mut r = v["rates"].clone();
        r["deductible_factors"]["750"] = serde_json::json!("cheap");
        let e = load(&v["office"], &r, &v["coverage"]);
        assert!(
            e.starts_with("rates.deductible_factors.750: invalid type: string"),
            "{e}"
        );
        let mut r = v["rates"].clone();
        r["territories_by_zip_prefix"]["609"] = serde_json::json!("downstate");
        let mut c = v["coverage"].clone();
        c["perils_covered"] = serde_json::json!(["fire", "zombies"]);
        let e = load(&v["office"], &r, &c);
        assert!(e.contains("rates.territories_by_zip_prefix.609: territory `downstate` has no base_monthly rate"), "{e}");
        assert!(
            e.contains("coverage.perils_covered[1]: `zombies` is not one of"),
            "{e}"
        );
        assert_eq!(sample().rates.cheapest_deductible(), Some(1000));
    }
}
