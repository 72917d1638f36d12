//! Calendar helpers for agents that talk about dates and local times (move-in dates, tour
//! slots) without a time-zone database: proleptic Gregorian day numbers, a local zone given
//! as a fixed standard UTC offset plus (optionally) the United States daylight-saving rule
//! (second Sunday of March 02:00 to first Sunday of November 02:00, local time, in force
//! since 2007), and a parser for the ways people write dates in a text message.
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

const MONTHS: [(&str, u32); 24] = [
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
];

fn month_of(word: &str) -> Option<u32> {
    MONTHS.iter().find(|(n, _)| *n == word).map(|&(_, m)| m)
}

/// The next date on or after `today - 14 days` with this month/day (people mean the coming
/// one: "Jan 5" said in December is next January).
fn upcoming(today: i64, m: u32, d: u32) -> Option<i64> {
    let (y, _, _) = civil_from_days(today);
    for year in [y, y + 1] {
        if valid(year, m, d) {
            let day = days_from_civil(year, m, d);
            if day >= today - 14 {
                return Some(day);
            }
        }
    }
    None
}

/// A date as people text it, relative to `today` (a day number): "asap", "now",
/// "today", "tomorrow", "next week", "next month", "in 2 weeks", "in 3 months", "12/15",
/// "12/15/2026", "2026-12-15", "Dec 15", "December 15th", "15th of December", "the 1st",
/// "January" (= the 1st of it), "end of the month". `None` when no date is found.
pub fn parse_date_phrase(text: &str, today: i64) -> Option<i64> {
    let lower = text.to_ascii_lowercase();
    let w = crate::text::words(&lower);
    let has = |s: &str| crate::text::contains_word(&lower, s);
    if has("asap")
        || has("now")
        || has("immediately")
        || has("today")
        || has("right away")
        || has("this week")
    {
        return Some(today);
    }
    if has("tomorrow") {
        return Some(today + 1);
    }
    // ISO first, then m/d[/y].
    for token in lower.split(|c: char| c.is_whitespace() || c == ',') {
        let token = token.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        if token.len() == 10
            && let Some(d) = parse_iso_date(token)
        {
            return Some(d);
        }
    }
    for token in lower.split(|c: char| c.is_whitespace() || c == ',') {
        let token = token.trim_matches(|c: char| !c.is_ascii_digit());
        let parts: Vec<&str> = token.split('/').collect();
        if parts.len() >= 2 && parts.len() <= 3 {
            let m: Option<u32> = parts[0].parse().ok();
            let d: Option<u32> = parts[1].parse().ok();
            if let (Some(m), Some(d)) = (m, d) {
                if parts.len() == 3 {
                    if let Ok(mut y) = parts[2].parse::<i32>() {
                        if y < 100 {
                            y += 2000;
                        }
                        if valid(y, m, d) {
                            return Some(days_from_civil(y, m, d));
                        }
                    }
                } else if let Some(day) = upcoming(today, m, d) {
                    return Some(day);
                }
            }
        }
    }
    // "in 2 weeks", "in a month", "in 3 months".
    for (i, word) in w.iter().enumerate() {
        if word == "in" {
            let n = w.get(i + 1).and_then(|x| {
                x.parse::<u64>()
                    .ok()
                    .or_else(|| crate::text::word_number(x))
            });
            let unit = w.get(i + 2).map(String::as_str);
            if let (Some(n), Some(unit)) = (n, unit) {
                match unit {
                    "day" | "days" => return Some(today + n as i64),
                    "week" | "weeks" => return Some(today + 7 * n as i64),
                    "month" | "months" => return Some(add_months_first(today, n as u32)),
                    _ => {}
                }
            }
        }
    }
    if has("next week") {
        return Some(today + 7);
    }
    if has("next month") || has("first of next month") || has("1st of next month") {
        return Some(add_months_first(today, 1));
    }
    if has("end of the month") || has("end of month") || has("this month") {
        let (y, m, _) = civil_from_days(today);
        return Some(days_from_civil(y, m, days_in_month(y, m)));
    }
    // Month names with an optional day before or after: "dec 15", "15th of december".
    for (i, word) in w.iter().enumerate() {
        let Some(m) = month_of(word) else { continue };
        // "may" is also a verb: only take it with a day next to it.
        let day_after = w.get(i + 1).and_then(|x| ordinal(x));
        let day_before = i
            .checked_sub(1)
            .and_then(|j| w.get(j))
            .and_then(|x| ordinal(x))
            .or_else(|| {
                (i >= 2 && w[i - 1] == "of")
                    .then(|| ordinal(&w[i - 2]))
                    .flatten()
            });
        let day = day_after.or(day_before);
        if m == 5 && day.is_none() && word == "may" {
            continue;
        }
        if let Some(d) = upcoming(today, m, day.unwrap_or(1)) {
            return Some(d);
        }
    }
    // "the 15th" alone: this month's if still ahead, else next month's.
    for (i, word) in w.iter().enumerate() {
        if word == "the"
            && let Some(d) = w
                .get(i + 1)
                .filter(|x| {
                    x.ends_with("st") || x.ends_with("nd") || x.ends_with("rd") || x.ends_with("th")
                })
                .and_then(|x| ordinal(x))
        {
            let (y, m, td) = civil_from_days(today);
            if d >= td && valid(y, m, d) {
                return Some(days_from_civil(y, m, d));
            }
            let next = add_months_first(today, 1);
            let (ny, nm, _) = civil_from_days(next);
            if valid(ny, nm, d) {
                return Some(days_from_civil(ny, nm, d));
            }
        }
    }
    None
}

/// "15", "15th", "1st", "2nd", "3rd" -> day of month.
fn ordinal(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &word[digits.len()..];
    if !(suffix.is_empty() || matches!(suffix, "st" | "nd" | "rd" | "th")) {
        return None;
    }
    let d: u32 = digits.parse().ok()?;
    (1..=31).contains(&d).then_some(d)
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
    fn date_phrases() {
        let today = days_from_civil(2026, 11, 22);
        let d = |s: &str| parse_date_phrase(s, today).map(iso_date);
        assert_eq!(d("asap"), Some("2026-11-22".into()));
        assert_eq!(d("Dec 15"), Some("2026-12-15".into()));
        assert_eq!(d("december 15th please"), Some("2026-12-15".into()));
        assert_eq!(d("the 1st of January"), Some("2027-01-01".into()));
        assert_eq!(d("January"), Some("2027-01-01".into()));
        assert_eq!(d("1/15"), Some("2027-01-15".into()));
        assert_eq!(d("moving 2/1/27"), Some("2027-02-01".into()));
        assert_eq!(d("2027-03-01"), Some("2027-03-01".into()));
        assert_eq!(d("next month"), Some("2026-12-01".into()));
        assert_eq!(d("in 2 weeks"), Some("2026-12-06".into()));
        assert_eq!(d("I may want a cat"), None);
        assert_eq!(d("May 3rd"), Some("2027-05-03".into()));
        assert_eq!(d("$1200 and 2 bedrooms"), None);
    }

    #[test]
    fn clock_formats() {
        assert_eq!(clock_12h(9 * 60 + 30), "9:30am");
        assert_eq!(clock_12h(14 * 60), "2pm");
        assert_eq!(clock_12h(12 * 60), "12pm");
    }
}
