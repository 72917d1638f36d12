//! [`CronSpec`]: a plugin's 5-field cron pattern in its IANA time zone (UTC when none is
//! given), and the question the scheduler asks of it: which slot is the latest at or
//! before now. Daylight-saving gaps and repeats follow croner's rules.

use std::str::FromStr;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// Why a cron job cannot be scheduled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("invalid cron schedule `{schedule}`: {reason}")]
    Pattern { schedule: String, reason: String },
    #[error("unknown time zone `{0}` (expected an IANA name such as America/Chicago)")]
    TimeZone(String),
}

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct CronSpec {
    cron: Cron,
    tz: Tz,
}

impl CronSpec {
    /// Parses a 5-field pattern (minute hour day-of-month month day-of-week; aliases such
    /// as `@daily` too) and an optional IANA zone name.
    pub fn parse(schedule: &str, timezone: Option<&str>) -> Result<Self, ScheduleError> {
        let tz = match timezone.map(str::trim).filter(|t| !t.is_empty()) {
            None => Tz::UTC,
            Some(name) => Tz::from_str(name).map_err(|_| ScheduleError::TimeZone(name.into()))?,
        };
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(schedule)
            .map_err(|e| ScheduleError::Pattern {
                schedule: schedule.into(),
                reason: e.to_string(),
            })?;
        Ok(Self { cron, tz })
    }

    /// The latest slot at or before `now_ms` (Unix ms), if the pattern has one within
    /// croner's search range.
    pub fn latest_slot_at_or_before(&self, now_ms: i64) -> Option<i64> {
        let now = Utc
            .timestamp_millis_opt(now_ms)
            .single()?
            .with_timezone(&self.tz);
        let slot = self.cron.find_previous_occurrence(&now, true).ok()?;
        Some(slot.timestamp_millis())
    }

    /// The first slot strictly after `after_ms`.
    pub fn next_slot_after(&self, after_ms: i64) -> Option<i64> {
        let after = Utc
            .timestamp_millis_opt(after_ms)
            .single()?
            .with_timezone(&self.tz);
        let slot = self.cron.find_next_occurrence(&after, false).ok()?;
        Some(slot.timestamp_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE_MS: i64 = 60_000;

    fn utc_ms(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn every_30_minutes_latest_slot() {
        let spec = CronSpec::parse("*/30 * * * *", None).unwrap();
        let now = utc_ms(2026, 1, 5, 10, 44, 59) + 999;
        assert_eq!(
            spec.latest_slot_at_or_before(now),
            Some(utc_ms(2026, 1, 5, 10, 30, 0))
        );
        // A slot exactly now counts, and so does one a few ms ago.
        let slot = utc_ms(2026, 1, 5, 11, 0, 0);
        assert_eq!(spec.latest_slot_at_or_before(slot), Some(slot));
        assert_eq!(spec.latest_slot_at_or_before(slot + 250), Some(slot));
        assert_eq!(spec.next_slot_after(slot), Some(slot + 30 * MINUTE_MS));
    }

    #[test]
    fn daily_at_seven_chicago() {
        let spec = CronSpec::parse("0 7 * * *", Some("America/Chicago")).unwrap();
        // January: CST = UTC-6, so 07:00 local is 13:00 UTC.
        let now = utc_ms(2026, 1, 5, 20, 0, 0);
        assert_eq!(
            spec.latest_slot_at_or_before(now),
            Some(utc_ms(2026, 1, 5, 13, 0, 0))
        );
        // July: CDT = UTC-5.
        let now = utc_ms(2026, 7, 5, 11, 59, 0); // 06:59 CDT
        assert_eq!(
            spec.latest_slot_at_or_before(now),
            Some(utc_ms(2026, 7, 4, 12, 0, 0))
        );
    }

    #[test]
    fn rejects_bad_patterns_and_zones() {
        assert!(matches!(
            CronSpec::parse("61 * * * *", None),
            Err(ScheduleError::Pattern { .. })
        ));
        assert!(matches!(
            CronSpec::parse("0 0 7 * * *", None),
            Err(ScheduleError::Pattern { .. })
        ));
        assert_eq!(
            CronSpec::parse("0 7 * * *", Some("Mars/Olympus")).unwrap_err(),
            ScheduleError::TimeZone("Mars/Olympus".into())
        );
    }
}
