//! Calendar helpers for agents that talk about dates and local times (move-in dates, tour
//! slots) without a time-zone database: proleptic Gregorian day numbers, a local zone given
//! as a fixed standard UTC offset plus (optionally) the United States daylight-saving rule
//! (second Sunday of March 02:00 to first Sunday of November 02:00, local time, in force
//! since 2007). Dates as people text them are read by [`crate::when`].
//!
//! Days are counted from 1970-01-01 (day 0), weekdays are 0 = Monday .. 6 = Sunday.

pub const MS_PER_MINUTE: u64 = 60_000;
pub const MS_PER_HOUR: u64 = 3_600_000;
pub const MS_PER_DAY: u64 = 86_400_000;

/// Day number of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date (year, month 1-12, day 1-31) of a day number.
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

/// 0 = Monday .. 6 = Sunday.
pub fn weekday(days: i64) -> u32 {
    // 1970-01-01 was a Thursday (3).
    (days + 3).rem_euclid(7) as u32
}

pub const WEEKDAY_SHORT: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
pub const WEEKDAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
pub const MONTH_SHORT: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// The `n`th (1-based) `wd` weekday of a month.
fn nth_weekday(y: i32, m: u32, wd: u32, n: u32) -> i64 {
    let first = days_from_civil(y, m, 1);
    let offset = (i64::from(wd) - i64::from(weekday(first))).rem_euclid(7);
    first + offset + 7 * i64::from(n - 1)
}

/// "2026-12-01" -> day number.
pub fn parse_iso_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i32 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    valid(y, m, d).then(|| days_from_civil(y, m, d))
}

fn valid(y: i32, m: u32, d: u32) -> bool {
    (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

/// Day number -> "2026-12-01".
pub fn iso_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Day number -> "Dec 1".
pub fn month_day(days: i64) -> String {
    let (_, m, d) = civil_from_days(days);
    format!("{} {d}", MONTH_SHORT[m as usize - 1])
}

/// Minute of day -> "9:30am", "2pm".
pub fn clock_12h(minute_of_day: u32) -> String {
    let h = minute_of_day / 60;
    let m = minute_of_day % 60;
    let suffix = if h < 12 { "am" } else { "pm" };
    let h12 = match h % 12 {
        0 => 12,
        x => x,
    };
    if m == 0 {
        format!("{h12}{suffix}")
    } else {
        format!("{h12}:{m:02}{suffix}")
    }
}

/// A local time zone: a fixed standard offset from UTC, optionally with US daylight time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone {
    /// Standard-time offset from UTC in minutes (Chicago: -360).
    pub standard_offset_min: i32,
    /// Observe US daylight-saving time (+60 minutes between the US transition dates).
    pub us_dst: bool,
}

/// A local wall-clock moment: the day number and the minute of that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local {
    pub days: i64,
    pub minute: u32,
}

impl Zone {
    /// America/Chicago: UTC-6, US daylight time.
    pub const CHICAGO: Zone = Zone {
        standard_offset_min: -360,
        us_dst: true,
    };

    /// The offset from UTC in force at `utc_ms`, in minutes.
    pub fn offset_at(&self, utc_ms: u64) -> i32 {
        if !self.us_dst {
            return self.standard_offset_min;
        }
        let std_ms = utc_ms as i64 + i64::from(self.standard_offset_min) * 60_000;
        let (y, _, _) = civil_from_days(std_ms.div_euclid(MS_PER_DAY as i64));
        // Transitions at 02:00 local: standard time for the start, daylight for the end.
        let start_std = nth_weekday(y, 3, 6, 2) * MS_PER_DAY as i64 + 2 * MS_PER_HOUR as i64;
        let end_dst = nth_weekday(y, 11, 6, 1) * MS_PER_DAY as i64 + 2 * MS_PER_HOUR as i64;
        // Compare in local standard time; daylight 02:00 is standard 01:00.
        let in_dst = std_ms >= start_std && std_ms < end_dst - MS_PER_HOUR as i64;
        self.standard_offset_min + if in_dst { 60 } else { 0 }
    }

    pub fn to_local(&self, utc_ms: u64) -> Local {
        let local_ms = utc_ms as i64 + i64::from(self.offset_at(utc_ms)) * 60_000;
        Local {
            days: local_ms.div_euclid(MS_PER_DAY as i64),
            minute: (local_ms.rem_euclid(MS_PER_DAY as i64) / 60_000) as u32,
        }
    }

    /// The UTC instant of a local wall-clock time (times skipped or repeated by a DST
    /// change resolve to the offset in force just before the change).
    pub fn to_utc_ms(&self, local: Local) -> u64 {
        let local_ms = local.days * MS_PER_DAY as i64 + i64::from(local.minute) * 60_000;
        let guess = local_ms - i64::from(self.standard_offset_min) * 60_000;
        let offset = self.offset_at(guess.max(0) as u64);
        (local_ms - i64::from(offset) * 60_000).max(0) as u64
    }
}

/// The 1st of the month `n` months after the month of `today`.
pub fn add_months_first(today: i64, n: u32) -> i64 {
    let (y, m, _) = civil_from_days(today);
    let total = (y as i64) * 12 + i64::from(m - 1) + i64::from(n);
    days_from_civil((total / 12) as i32, (total % 12) as u32 + 1, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            civil_from_days(days_from_civil(2026, 11, 22)),
            (2026, 11, 22)
        );
        assert_eq!(weekday(days_from_civil(2026, 11, 22)), 6); // a Sunday
        assert_eq!(iso_date(days_from_civil(2027, 2, 28) + 1), "2027-03-01");
        assert_eq!(month_day(parse_iso_date("2026-12-01").unwrap()), "Dec 1");
        assert_eq!(parse_iso_date("2026-02-30"), None);
    }

    #[test]
    fn chicago_observes_us_daylight_time() {
        let z = Zone::CHICAGO;
        // 2026-07-01 17:00 UTC is noon CDT; 2026-12-01 18:00 UTC is noon CST.
        let july = days_from_civil(2026, 7, 1) as u64 * MS_PER_DAY + 17 * MS_PER_HOUR;
        assert_eq!(z.offset_at(july), -300);
        assert_eq!(z.to_local(july).minute, 12 * 60);
        let dec = days_from_civil(2026, 12, 1) as u64 * MS_PER_DAY + 18 * MS_PER_HOUR;
        assert_eq!(z.offset_at(dec), -360);
        assert_eq!(z.to_local(dec).minute, 12 * 60);
        // 2026: DST from Mar 8 08:00 UTC to Nov 1 07:00 UTC.
        let start = days_from_civil(2026, 3, 8) as u64 * MS_PER_DAY + 8 * MS_PER_HOUR;
        assert_eq!(z.offset_at(start - 1), -360);
        assert_eq!(z.offset_at(start), -300);
        let end = days_from_civil(2026, 11, 1) as u64 * MS_PER_DAY + 7 * MS_PER_HOUR;
        assert_eq!(z.offset_at(end - 1), -300);
        assert_eq!(z.offset_at(end), -360);
        let local = Local {
            days: days_from_civil(2026, 12, 1),
            minute: 10 * 60,
        };
        assert_eq!(z.to_local(z.to_utc_ms(local)), local);
        let summer = Local {
            days: days_from_civil(2026, 7, 1),
            minute: 10 * 60,
        };
        assert_eq!(z.to_local(z.to_utc_ms(summer)), summer);
    }

    #[test]
    fn clock_formats() {
        assert_eq!(clock_12h(9 * 60 + 30), "9:30am");
        assert_eq!(clock_12h(14 * 60), "2pm");
        assert_eq!(clock_12h(12 * 60), "12pm");
    }
}
