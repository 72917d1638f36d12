//! Quiet hours: agent-initiated texts go out only while it is between `start` and `end`
//! (default 09:00–20:00) in EVERY zone the recipient may be in. When the window is closed
//! the message waits for it to open; when it goes out, its `ValidityPeriod` ends no later
//! than the window does, so a carrier queue cannot deliver it after hours.

use chrono::{DateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Steps of the search for the next opening and the closing (minutes).
const STEP_MINUTES: i64 = 5;
/// How far ahead to look for an opening before giving up (the zones' windows may never
/// overlap, e.g. New York and Bangkok together).
const HORIZON_MINUTES: i64 = 72 * 60;

#[derive(Debug, thiserror::Error)]
pub enum QuietHoursError {
    #[error("quiet hours {0:?} are not HH:MM-HH:MM with start before end")]
    Format(String),
}

/// The daily sending window, in each recipient zone's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        QuietHours {
            start: NaiveTime::from_hms_opt(9, 0, 0).expect("valid"),
            end: NaiveTime::from_hms_opt(20, 0, 0).expect("valid"),
        }
    }
}

impl std::str::FromStr for QuietHours {
    type Err = QuietHoursError;

    /// `09:00-20:00`: the hours when sending is allowed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || QuietHoursError::Format(s.to_owned());
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let parse = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let (start, end) = (parse(a)?, parse(b)?);
        if start >= end {
            return Err(bad());
        }
        Ok(QuietHours { start, end })
    }
}

impl QuietHours {
    fn open_in(&self, zone: &Tz, at: DateTime<Utc>) -> bool {
        let local = zone.from_utc_datetime(&at.naive_utc()).time();
        let local = local.with_second(0).unwrap_or(local);
        local >= self.start && local < self.end
    }

    /// Whether `at_ms` is inside the window in every zone of `zones`.
    pub fn open(&self, zones: &[Tz], at_ms: i64) -> bool {
        let Some(at) = Utc.timestamp_millis_opt(at_ms).single() else {
            return false;
        };
        zones.iter().all(|z| self.open_in(z, at))
    }

    /// The first instant at or after `at_ms` (to the minute) when the window is open in
    /// every zone; `None` if the zones' windows never overlap.
    pub fn next_open(&self, zones: &[Tz], at_ms: i64) -> Option<i64> {
        if self.open(zones, at_ms) {
            return Some(at_ms);
        }
        // Search on the clock's whole minutes, so openings land on them.
        let minute = 60_000;
        let first = at_ms - at_ms.rem_euclid(minute) + minute;
        let mut t = first;
        // Coarse steps, then back up to the exact minute.
        while t - first <= HORIZON_MINUTES * minute {
            if self.open(zones, t) {
                let mut exact = t;
                while exact - minute >= at_ms && self.open(zones, exact - minute) {
                    exact -= minute;
                }
                return Some(exact);
            }
            t += STEP_MINUTES * minute;
        }
        None
    }

    /// When the window that is open at `at_ms` closes in the first of the zones.
    pub fn closes_at(&self, zones: &[Tz], at_ms: i64) -> Option<i64> {
        if !self.open(zones, at_ms) {
            return None;
        }
        let minute = 60_000;
        let mut t = at_ms - at_ms.rem_euclid(minute);
        loop {
            t += minute;
            if !self.open(zones, t) {
                return Some(t);
            }
            if t - at_ms > 24 * 60 * minute {
                return Some(t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::{Chicago, Los_Angeles, New_York};

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis()
    }

    #[test]
    fn a_window_is_read_in_each_zones_local_time() {
        let q = QuietHours::default();
        // 2026-12-01 15:00 UTC = 09:00 Chicago, 10:00 New York, 07:00 Los Angeles.
        let at = ms("2026-12-01T15:00:00Z");
        assert!(q.open(&[Chicago], at));
        assert!(q.open(&[New_York], at));
        assert!(!q.open(&[Los_Angeles], at));
        assert!(
            !q.open(&[Chicago, Los_Angeles], at),
            "every zone must be open"
        );
        // 22:00 in Chicago: closed; opens at 09:00 the next morning.
        let late = ms("2026-12-02T04:00:00Z");
        assert!(!q.open(&[Chicago], late));
        assert_eq!(
            q.next_open(&[Chicago], late),
            Some(ms("2026-12-02T15:00:00Z"))
        );
        // Across Chicago and Los Angeles it opens when Los Angeles does.
        assert_eq!(
            q.next_open(&[Chicago, Los_Angeles], late),
            Some(ms("2026-12-02T17:00:00Z"))
        );
        // Open at 15:30 Chicago: it closes at 20:00 Chicago.
        let afternoon = ms("2026-12-01T21:30:00Z");
        assert_eq!(
            q.closes_at(&[Chicago], afternoon),
            Some(ms("2026-12-02T02:00:00Z"))
        );
        // With New York too, it closes at 20:00 New York (19:00 Chicago).
        assert_eq!(
            q.closes_at(&[Chicago, New_York], afternoon),
            Some(ms("2026-12-02T01:00:00Z"))
        );
    }

    #[test]
    fn daylight_saving_time_is_respected() {
        let q = QuietHours::default();
        // 2026-07-01 13:30 UTC = 08:30 CDT (closed), 14:00 UTC = 09:00 CDT (open).
        assert!(!q.open(&[Chicago], ms("2026-07-01T13:30:00Z")));
        assert!(q.open(&[Chicago], ms("2026-07-01T14:00:00Z")));
    }

    #[test]
    fn zones_that_never_overlap_have_no_opening() {
        let q: QuietHours = "09:00-20:00".parse().unwrap();
        // Twelve hours apart: one's 09:00-20:00 is the other's night.
        let zones = [New_York, chrono_tz::Asia::Bangkok];
        assert_eq!(q.next_open(&zones, ms("2026-12-01T00:00:00Z")), None);
    }

    #[test]
    fn windows_parse_and_refuse_nonsense() {
        assert_eq!(
            "08:30-21:00".parse::<QuietHours>().unwrap().start,
            NaiveTime::from_hms_opt(8, 30, 0).unwrap()
        );
        for bad in ["", "9-20", "20:00-09:00", "09:00", "25:00-26:00"] {
            assert!(bad.parse::<QuietHours>().is_err(), "{bad}");
        }
    }
}
