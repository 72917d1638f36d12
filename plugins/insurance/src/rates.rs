//! The rate table (`rates` in `config/plugins/insurance.json`) and the quote formula:
//!
//! ```text
//! monthly = round_half_up_to_cent(
//!     (base_monthly[territory] + coverage/1000 * per_1k_coverage_monthly)
//!     * deductible_factors[deductible]
//!     * claims_factors[min(claims, last index)])
//! annual  = monthly * 12
//! ```
//!
//! Money is held in integer cents and factors in integer thousandths (the table's numbers
//! converted once, rounding to the nearest cent / thousandth), so the arithmetic is exact:
//! `monthly_cents = (subtotal_cents * ded_milli * claims_milli + 500_000) / 1_000_000`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateTable {
    /// The formula in words, for people reading the file.
    #[serde(default)]
    pub formula: String,
    pub territories_by_zip_prefix: BTreeMap<String, String>,
    #[serde(default)]
    pub territory_names: BTreeMap<String, String>,
    pub default_territory: String,
    /// ZIP prefixes the agency writes policies in (e.g. Illinois: 60, 61, 62).
    #[serde(default)]
    pub state_zip_prefixes: Vec<String>,
    pub base_monthly: BTreeMap<String, f64>,
    pub per_1k_coverage_monthly: f64,
    pub coverage_min: u32,
    pub coverage_max: u32,
    pub deductible_factors: BTreeMap<String, f64>,
    pub claims_factors: Vec<f64>,
    pub liability_limit: u32,
    pub medical_payments_limit: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub territory: String,
    pub coverage: u32,
    pub deductible: u32,
    pub claims: u32,
    pub base_cents: u64,
    pub per_1k_cents: u64,
    pub subtotal_cents: u64,
    pub deductible_milli: u64,
    pub claims_milli: u64,
    pub monthly_cents: u64,
    pub annual_cents: u64,
}

fn cents(x: f64) -> u64 {
    (x * 100.0).round().max(0.0) as u64
}

fn milli(x: f64) -> u64 {
    (x * 1000.0).round().max(0.0) as u64
}

impl RateTable {
    pub fn territory(&self, zip: &str) -> String {
        zip.get(..3)
            .and_then(|p| self.territories_by_zip_prefix.get(p))
            .cloned()
            .unwrap_or_else(|| self.default_territory.clone())
    }

    pub fn territory_name(&self, t: &str) -> String {
        self.territory_names
            .get(t)
            .cloned()
            .unwrap_or_else(|| t.to_owned())
    }

    pub fn writes_zip(&self, zip: &str) -> bool {
        self.state_zip_prefixes.is_empty()
            || self
                .state_zip_prefixes
                .iter()
                .any(|p| zip.starts_with(p.as_str()))
    }

    pub fn deductibles(&self) -> Vec<u32> {
        let mut d: Vec<u32> = self
            .deductible_factors
            .keys()
            .filter_map(|k| k.parse().ok())
            .collect();
        d.sort();
        d
    }

    /// Coverage rounded to whole thousands, if inside the table's range.
    pub fn normalize_coverage(&self, amount: u32) -> Option<u32> {
        let c = (amount + 500) / 1000 * 1000;
        (self.coverage_min..=self.coverage_max)
            .contains(&c)
            .then_some(c)
    }

    /// Problems with the table, each naming its field (`rates.<field>`).
    pub fn validate(&self, p: &mut agenthost_sdk::config::Problems) {
        if !self.base_monthly.contains_key(&self.default_territory) {
            p.push(
                "rates.default_territory",
                format!("`{}` has no base_monthly rate", self.default_territory),
            );
        }
        for (prefix, t) in &self.territories_by_zip_prefix {
            if !self.base_monthly.contains_key(t) {
                p.push(
                    &format!("rates.territories_by_zip_prefix.{prefix}"),
                    format!("territory `{t}` has no base_monthly rate"),
                );
            }
            if prefix.len() != 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
                p.push(
                    &format!("rates.territories_by_zip_prefix.{prefix}"),
                    "must be 3 digits",
                );
            }
        }
        for (t, v) in &self.base_monthly {
            if !(*v > 0.0 && *v < 1000.0) {
                p.push(
                    &format!("rates.base_monthly.{t}"),
                    "must be a positive monthly amount",
                );
            }
        }
        if !(self.per_1k_coverage_monthly > 0.0 && self.per_1k_coverage_monthly < 100.0) {
            p.push("rates.per_1k_coverage_monthly", "must be positive");
        }
        if self.coverage_min == 0
            || self.coverage_min >= self.coverage_max
            || !self.coverage_min.is_multiple_of(1000)
        {
            p.push(
                "rates.coverage_min",
                "must be whole thousands below coverage_max",
            );
        }
        if self.deductible_factors.is_empty() {
            p.push(
                "rates.deductible_factors",
                "must list at least one deductible",
            );
        }
        for (k, f) in &self.deductible_factors {
            if k.parse::<u32>().is_err() {
                p.push(
                    &format!("rates.deductible_factors.{k}"),
                    "key must be a whole-dollar deductible",
                );
            }
            if !(*f > 0.0 && *f < 10.0) {
                p.push(
                    &format!("rates.deductible_factors.{k}"),
                    "factor must be between 0 and 10",
                );
            }
        }
        if self.claims_factors.is_empty()
            || self.claims_factors.iter().any(|f| !(*f > 0.0 && *f < 10.0))
        {
            p.push(
                "rates.claims_factors",
                "must list positive factors, 0 claims first",
            );
        }
        if self.liability_limit == 0 {
            p.push("rates.liability_limit", "must be positive");
        }
    }

    /// The deductible with the lowest price.
    pub fn cheapest_deductible(&self) -> Option<u32> {
        self.deductible_factors
            .iter()
            .filter_map(|(k, f)| Some((k.parse::<u32>().ok()?, milli(*f))))
            .min_by_key(|&(d, f)| (f, std::cmp::Reverse(d)))
            .map(|(d, _)| d)
    }

    /// A ZIP in `territory` ("606" + "00"), for example quotes.
    pub fn zip_of(&self, territory: &str) -> Option<String> {
        self.territories_by_zip_prefix
            .iter()
            .find(|(_, t)| *t == territory)
            .map(|(prefix, _)| format!("{prefix}00"))
    }

    /// The quote for the inputs; `None` if the territory or deductible is not in the table.
    pub fn quote(&self, zip: &str, coverage: u32, deductible: u32, claims: u32) -> Option<Quote> {
        let territory = self.territory(zip);
        let base_cents = cents(*self.base_monthly.get(&territory)?);
        let per_1k_cents = cents(self.per_1k_coverage_monthly);
        let deductible_milli = milli(*self.deductible_factors.get(&deductible.to_string())?);
        let last = self.claims_factors.len().checked_sub(1)?;
        let claims_milli = milli(self.claims_factors[(claims as usize).min(last)]);
        let subtotal_cents = base_cents + u64::from(coverage / 1000) * per_1k_cents;
        let monthly_cents =
            (subtotal_cents * deductible_milli * claims_milli + 500_000) / 1_000_000;
        Some(Quote {
            territory,
            coverage,
            deductible,
            claims,
            base_cents,
            per_1k_cents,
            subtotal_cents,
            deductible_milli,
            claims_milli,
            monthly_cents,
            annual_cents: monthly_cents * 12,
        })
    }
}

/// A factor in thousandths as a short decimal: 1000 -> "1.00", 880 -> "0.88", 1450 -> "1.45", 1125 -> "1.125".
pub fn factor(m: u64) -> String {
    let whole = m / 1000;
    let frac = m % 1000;
    if frac.is_multiple_of(10) {
        format!("{whole}.{:02}", frac / 10)
    } else {
        format!("{whole}.{frac:03}")
    }
}

#[cfg(test)]
pub(crate) fn sample() -> RateTable {
    crate::data::sample().rates
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented formula in floating point, rounded to the cent.
    fn by_formula(t: &RateTable, zip: &str, coverage: u32, deductible: u32, claims: u32) -> f64 {
        let territory = t.territory(zip);
        let base = t.base_monthly[&territory];
        let ded = t.deductible_factors[&deductible.to_string()];
        let cl = t.claims_factors[(claims as usize).min(t.claims_factors.len() - 1)];
        (((base + f64::from(coverage) / 1000.0 * t.per_1k_coverage_monthly) * ded * cl) * 100.0)
            .round()
            / 100.0
    }

    #[test]
    fn quotes_follow_the_rate_table_formula() {
        let t = sample();
        let q = t.quote("60615", 30_000, 500, 0).unwrap();
        assert_eq!(q.territory, "chicago");
        // (11.50 + 30 x 0.32) x 1.00 x 1.00 = 21.10
        assert_eq!(q.monthly_cents, 2110);
        assert_eq!(q.annual_cents, 25_320);
        // (9.75 + 50 x 0.32) x 0.88 x 1.20 = 25.75 x 1.056 = 27.192 -> 27.19
        assert_eq!(
            t.quote("60411", 50_000, 1000, 1).unwrap().monthly_cents,
            2719
        );
        // (7.50 + 10 x 0.32) x 1.15 x 1.75 = 10.70 x 2.0125 = 21.53375 -> 21.53
        assert_eq!(
            t.quote("61820", 10_000, 250, 5).unwrap().monthly_cents,
            2153
        );
        // (11.50 + 10 x 0.32) x 1.15 = 16.905 exactly -> 16.91 (half up; f64 says 16.9049...).
        assert_eq!(
            t.quote("60615", 10_000, 250, 0).unwrap().monthly_cents,
            1691
        );
        for zip in ["60615", "60411", "60120", "60540", "62701", "60007"] {
            for cov in [10_000, 25_000, 40_000, 75_000, 100_000] {
                for ded in [250, 500, 1000] {
                    for claims in 0..5 {
                        let q = t.quote(zip, cov, ded, claims).unwrap();
                        let f = by_formula(&t, zip, cov, ded, claims);
                        // Floating point can land a hair under an exact half cent; never more.
                        assert!(
                            (q.monthly_cents as f64 / 100.0 - f).abs() < 0.0101,
                            "{zip} {cov} {ded} {claims}: {} vs {f}",
                            q.monthly_cents
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn coverage_and_factors() {
        let t = sample();
        assert_eq!(t.normalize_coverage(25_400), Some(25_000));
        assert_eq!(t.normalize_coverage(5_000), None);
        assert_eq!(t.normalize_coverage(150_000), None);
        assert_eq!(t.deductibles(), vec![250, 500, 1000]);
        assert_eq!(factor(1000), "1.00");
        assert_eq!(factor(880), "0.88");
        assert_eq!(factor(1125), "1.125");
        assert!(t.writes_zip("60615") && !t.writes_zip("46320"));
    }
}
