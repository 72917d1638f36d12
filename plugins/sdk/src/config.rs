//! Values the operator configured for this plugin (`config/plugins/<name>.json`, one key
//! per top-level field), read as typed data and validated with errors that name the field
//! that is wrong: `buildings[2].units[0].rent: invalid type: string "1,025", expected u32`.
//!
//! Agents validate their whole config in `describe` (which the host runs when it loads a
//! version, with the config it will serve with) and trap on an error after logging it,
//! so a bad config file is refused at load instead of failing lead by lead.

use crate::PluginError;
use crate::bindings::agenthost::plugin::config;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The raw value of `key`, if the operator set one.
pub fn get(key: &str) -> Option<String> {
    config::get(key)
}

/// The value of `key` parsed as JSON (e.g. a portfolio or a rate table). A value that
/// does not parse is a non-retryable `config-decode` error naming the key and the field:
/// retrying cannot fix it.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, PluginError> {
    get(key)
        .map(|raw| parse_str::<T>(&raw).map_err(|e| crate::error("config-decode", &at(key, &e))))
        .transpose()
}

/// `key`'s value parsed as JSON; a missing key is a `config-missing` error.
pub fn require_json<T: DeserializeOwned>(key: &str) -> Result<T, PluginError> {
    get_json(key)?
        .ok_or_else(|| crate::error("config-missing", &format!("config key `{key}` is not set")))
}

/// Parses JSON text into `T`; the error names the path of the bad field
/// ("[2].units[0].rent: invalid type ..."). Strings of `T` may borrow from `text`.
pub fn parse_str<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, String> {
    // Valid text (every call after the load checked it) parses without tracking the path,
    // which copies every key: a plugin parses its config and packs on every invocation.
    // Only a failure is parsed again, for the error that names the field.
    if let Ok(value) = serde_json::from_str(text) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        }
    })?;
    de.end().map_err(|e| e.to_string())?;
    Ok(value)
}

/// `key` joined to a path inside it: ("buildings", "[2].rent") → "buildings[2].rent".
pub fn at(key: &str, path: &str) -> String {
    if path.starts_with('[') {
        format!("{key}{path}")
    } else {
        format!("{key}.{path}")
    }
}

/// Problems found while validating config, each naming its field.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<String>);

impl Problems {
    pub fn push(&mut self, field: &str, what: impl std::fmt::Display) {
        self.0.push(format!("{field}: {what}"));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// All problems as one error message, or `Ok` if there are none.
    pub fn into_result(self) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0.join("; "))
        }
    }

    /// Checks a "HH:MM" clock time.
    pub fn clock(&mut self, field: &str, value: &str) -> Option<u32> {
        match parse_hhmm(value) {
            Some(m) => Some(m),
            None => {
                self.push(field, format!("`{value}` is not a HH:MM time"));
                None
            }
        }
    }

    /// Checks an ISO date ("2026-12-01").
    pub fn date(&mut self, field: &str, value: &str) -> Option<i64> {
        match crate::time::parse_iso_date(value) {
            Some(d) => Some(d),
            None => {
                self.push(field, format!("`{value}` is not a YYYY-MM-DD date"));
                None
            }
        }
    }

    /// Checks that a text field is not blank.
    pub fn text(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.push(field, "must not be empty");
        }
    }
}

/// "09:30" → 570 minutes; "24:00" is the end of the day.
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    ((h < 24 && m < 60) || (h == 24 && m == 0)).then_some(h * 60 + m)
}

/// Logs a config error and stops: called from `describe`, it makes the host refuse to load
/// the plugin with a config it cannot serve, and the log line names the field.
pub fn refuse(error: &str) -> ! {
    crate::log::error(&format!("config invalid: {error}"));
    panic!("config invalid: {error}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Unit {
        rent: u32,
    }

    #[test]
    fn errors_name_the_field() {
        let err = parse_str::<Vec<Unit>>(r#"[{"rent": 1}, {"rent": "1,025"}]"#).unwrap_err();
        assert!(err.starts_with("[1].rent: invalid type: string"), "{err}");
        assert_eq!(at("units", "[1].rent"), "units[1].rent");
        let err = parse_str::<Unit>(r#"{"rnet": 1}"#).unwrap_err();
        assert!(err.contains("unknown field `rnet`"), "{err}");
        // Valid text takes the fast path; trailing text is still refused.
        assert_eq!(parse_str::<Vec<u32>>("[1, 2]"), Ok(vec![1, 2]));
        let err = parse_str::<Vec<u32>>("[1] x").unwrap_err();
        assert!(err.contains("trailing characters"), "{err}");
        assert_eq!(parse_hhmm("09:30"), Some(570));
        assert_eq!(parse_hhmm("9:30"), None);
        assert_eq!(parse_hhmm("25:00"), None);
        let mut p = Problems::default();
        p.clock("office.hours.mon[0]", "9am");
        assert_eq!(
            p.into_result().unwrap_err(),
            "office.hours.mon[0]: `9am` is not a HH:MM time"
        );
    }
}
