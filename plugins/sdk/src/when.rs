//! Days and times as renters text them, in any language of the [`Lexicon`]: "jan 1",
//! "the 15th", "12/15", "next friday", "this weekend", "end of the month", "in 2 weeks",
//! "asap", "sat 11", "thursday at 3pm", "10ish", "after 5", "noon", "el sábado a las 11",
//! "15 de enero", "mañana en la tarde". Relative to `today` (a local day number).

use crate::lang::Lexicon;
use crate::time::{self, add_months_first, civil_from_days, days_from_civil};
use crate::words::{Kind, Norm, Number};

/// A part of the day, when no exact time is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayPart {
    Morning,
    Afternoon,
    Evening,
}

/// What a message says about a day and a time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct When {
    /// A specific local day (day number).
    pub day: Option<i64>,
    /// Given as a weekday ("saturday", "next fri"): `day` is that weekday's date.
    pub weekday: Option<u32>,
    /// A specific minute of the day.
    pub minute: Option<u32>,
    pub part: Option<DayPart>,
    /// "after 5": no earlier than this minute.
    pub after: Option<u32>,
    /// "before noon": earlier than this minute.
    pub before: Option<u32>,
    /// "10ish", "around 3".
    pub approx: bool,
    /// "asap", "now", "right away".
    pub asap: bool,
    /// Token index where the day or time was found (for attributing numbers).
    pub tokens: Vec<usize>,
}

impl When {
    pub fn has_day(&self) -> bool {
        self.day.is_some()
    }

    pub fn has_time(&self) -> bool {
        self.minute.is_some()
            || self.part.is_some()
            || self.after.is_some()
            || self.before.is_some()
    }

    pub fn is_empty(&self) -> bool {
        !self.has_day() && !self.has_time() && !self.asap
    }
}

fn days_in_month(y: i32, m: u32) -> u32 {
    let next = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    };
    (next - days_from_civil(y, m, 1)) as u32
}

fn valid(y: i32, m: u32, d: u32) -> bool {
    (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

/// The coming date with this month and day: on or after `today - 14` (a date just past is
/// still meant, e.g. a move-in "Nov 15" said on Nov 20), else next year.
pub fn upcoming(today: i64, m: u32, d: u32) -> Option<i64> {
    let (y, _, _) = civil_from_days(today);
    [y, y + 1].into_iter().find_map(|year| {
        (valid(year, m, d) && days_from_civil(year, m, d) >= today - 14)
            .then(|| days_from_civil(year, m, d))
    })
}

/// The next `wd` (0 = Monday) on or after `today`.
pub fn coming_weekday(today: i64, wd: u32) -> i64 {
    today + (i64::from(wd) - i64::from(time::weekday(today))).rem_euclid(7)
}

/// "next friday": that weekday in the week (Monday-Sunday) after this one.
pub fn next_week_weekday(today: i64, wd: u32) -> i64 {
    let monday = today - i64::from(time::weekday(today));
    monday + 7 + i64::from(wd)
}

/// A day of the month alone ("the 15th"): this month's if still ahead, else next month's.
fn day_of_month(today: i64, d: u32) -> Option<i64> {
    let (y, m, td) = civil_from_days(today);
    if d >= td && valid(y, m, d) {
        return Some(days_from_civil(y, m, d));
    }
    let (ny, nm, _) = civil_from_days(add_months_first(today, 1));
    valid(ny, nm, d).then(|| days_from_civil(ny, nm, d))
}

fn ordinal_day(n: &Number) -> Option<u32> {
    let ok_suffix = matches!(
        n.suffix.as_str(),
        "" | "st" | "nd" | "rd" | "th" | "ro" | "o"
    );
    (ok_suffix && n.minutes.is_none() && !n.dollar && !n.decimal && n.value.fract() == 0.0)
        .then_some(n.value as u32)
        .filter(|d| (1..=31).contains(d))
}

/// An hour without am/pm read the way an office means it: 8-11 morning, 12 noon, 1-7
/// afternoon or evening.
pub fn business_hour(h: u32) -> u32 {
    match h {
        1..=7 => h + 12,
        _ => h,
    }
}

/// Reads the day and time in `norm`.
pub fn when(norm: &Norm, lex: &Lexicon, today: i64) -> When {
    let mut w = When::default();
    let toks = &norm.toks;
    let is = |i: usize, cue: &str| {
        toks.get(i)
            .is_some_and(|t| t.is_word() && lex.is(&t.text, cue))
    };
    let month_at = |i: usize| -> Option<u32> {
        let t = toks.get(i)?;
        if !t.is_word() {
            return None;
        }
        lex.months.get(t.text.as_str()).copied()
    };
    // Spans of morning phrases ("por la mañana") so their "mañana" is not "tomorrow".
    let morning_spans = lex.find_all(norm, "morning");
    let in_morning_phrase = |i: usize| {
        morning_spans
            .iter()
            .any(|&(s, e)| s < i && i <= e || (s == i && e > i))
    };

    // ---- days ----------------------------------------------------------------------
    if lex.has(norm, "asap") {
        w.asap = true;
        w.day = Some(today);
    }
    if let Some((s, _)) = lex.find(norm, "day_after_tomorrow") {
        w.day = Some(today + 2);
        w.tokens.push(s);
    } else if let Some((s, _)) = lex
        .find_all(norm, "tomorrow")
        .into_iter()
        .find(|&(s, _)| !in_morning_phrase(s))
    {
        w.day = Some(today + 1);
        w.tokens.push(s);
    } else if let Some((s, _)) = lex.find(norm, "today") {
        w.day = Some(today);
        w.tokens.push(s);
        if lex.has(norm, "evening") && norm.has("tonight") {
            w.part = Some(DayPart::Evening);
        }
    }
    for (i, t) in toks.iter().enumerate() {
        if let Some(n) = t.num() {
            if let Some((y, m, d)) = n.iso_date
                && valid(y, m, d)
            {
                w.day = Some(days_from_civil(y, m, d));
                w.tokens.push(i);
            } else if let Some((m, d, y)) = n.slash_date {
                let day = match y {
                    Some(y) if valid(y, m, d) => Some(days_from_civil(y, m, d)),
                    Some(_) => None,
                    None => upcoming(today, m, d),
                };
                if day.is_some() {
                    w.day = day;
                    w.tokens.push(i);
                }
            }
        }
    }
    // Month names with a day before or after ("dec 15", "15th of december", "15 de enero").
    for i in 0..toks.len() {
        let Some(m) = month_at(i) else { continue };
        let after = toks.get(i + 1).and_then(|t| t.num()).and_then(ordinal_day);
        let before = i
            .checked_sub(1)
            .and_then(|j| toks.get(j))
            .and_then(|t| t.num())
            .and_then(ordinal_day)
            .or_else(|| {
                (i >= 2 && matches!(toks[i - 1].text.as_str(), "of" | "de"))
                    .then(|| toks[i - 2].num().and_then(ordinal_day))
                    .flatten()
            });
        let day = after.or(before);
        let word = toks[i].text.as_str();
        if day.is_none() && lex.months_need_day.contains(word) {
            continue;
        }
        // "mid december", "end of jan", "early feb".
        let modifier = |cue: &str| {
            lex.find_all(norm, cue)
                .iter()
                .any(|&(_, e)| e < i && norm.gap(e, i) <= 2)
        };
        let d = match day {
            Some(d) => d,
            None if modifier("mid") => 15,
            None if modifier("end_of") => 0, // last day, below
            None => 1,
        };
        let found = if d == 0 {
            upcoming(today, m, 1).map(|first| {
                let (y, m, _) = civil_from_days(first);
                days_from_civil(y, m, days_in_month(y, m))
            })
        } else {
            upcoming(today, m, d)
        };
        if let Some(found) = found {
            w.day = Some(found);
            w.weekday = None;
            w.tokens.push(i);
            if let Some(j) = [i + 1, i.wrapping_sub(1), i.wrapping_sub(2)]
                .into_iter()
                .find(|&j| {
                    toks.get(j)
                        .is_some_and(|t| t.num().and_then(ordinal_day) == day && day.is_some())
                })
            {
                w.tokens.push(j);
            }
            break;
        }
    }
    if (w.day.is_none() || w.asap) && lex.has(norm, "new_year") {
        let (y, _, _) = civil_from_days(today);
        w.day = upcoming(today, 1, 1).or(Some(days_from_civil(y + 1, 1, 1)));
        w.asap = false;
    }
    if w.day.is_none() || w.asap {
        if lex.has(norm, "end_of_month") {
            let (y, m, _) = civil_from_days(today);
            w.day = Some(days_from_civil(y, m, days_in_month(y, m)));
            w.asap = false;
        } else if lex.has(norm, "next_month") {
            w.day = Some(add_months_first(today, 1));
            w.asap = false;
        } else if lex.find_all(norm, "first_of_month").iter().any(|&(_, e)| {
            !norm
                .after(e, 1)
                .first()
                .is_some_and(|t| NOT_A_DATE.contains(&t.text.as_str()))
        }) {
            let (_, _, d) = civil_from_days(today);
            w.day = Some(if d == 1 {
                today
            } else {
                add_months_first(today, 1)
            });
            w.asap = false;
        }
    }
    // "in 2 weeks", "en 3 semanas", "in a month".
    if w.day.is_none() {
        for (s, e) in lex.find_all(norm, "in_time") {
            // "in 2 weeks", "in a month", "en un mes".
            let Some(n) = norm.after(e, 1).first().and_then(|t| {
                t.num().map(|n| n.value as i64).or_else(|| {
                    matches!(t.text.as_str(), "a" | "an" | "un" | "una" | "one").then_some(1)
                })
            }) else {
                continue;
            };
            let Some(unit) = norm.after(e, 2).get(1).map(|t| t.text.clone()) else {
                continue;
            };
            let day = if lex.is(&unit, "unit_day") {
                Some(today + n)
            } else if lex.is(&unit, "unit_week") {
                Some(today + 7 * n)
            } else if lex.is(&unit, "unit_month") {
                Some(add_months_first(today, n.clamp(0, 24) as u32))
            } else {
                None
            };
            if day.is_some() {
                w.day = day;
                // The count is not an hour ("in 2 weeks" is not 2pm).
                w.tokens.extend(s..(e + 3).min(norm.toks.len()));
                break;
            }
        }
    }
    // Weekdays: "sat", "this saturday", "next friday", "el sábado". With several ("I get
    // paid friday, can I come saturday at 11?"), the one named with a time of day, else
    // the first not said of pay or work.
    if w.day.is_none() || w.asap {
        let named: Vec<(usize, u32)> = toks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.is_word())
            .filter_map(|(i, t)| lex.weekdays.get(t.text.as_str()).map(|&wd| (i, wd)))
            .collect();
        let clock: Vec<usize> = toks
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                t.num().is_some_and(|n| {
                    n.minutes.is_some()
                        || matches!(n.suffix.as_str(), "am" | "pm" | "a" | "p")
                        || toks
                            .get(i + 1)
                            .is_some_and(|x| x.is_word() && matches!(x.text.as_str(), "am" | "pm"))
                        || lex
                            .find_all(norm, "at_time")
                            .iter()
                            .any(|&(_, e)| e < *i && norm.gap(e, *i) == 1)
                })
            })
            .map(|(i, _)| i)
            .collect();
        let busy = lex.find_all(norm, "busy_day");
        let said_busy = |i: usize| busy.iter().any(|&(_, e)| e < i && norm.gap(e, i) <= 2);
        let pick = if named.len() > 1 && !clock.is_empty() {
            named
                .iter()
                .min_by_key(|(i, _)| clock.iter().map(|c| c.abs_diff(*i)).min().unwrap_or(0))
                .copied()
        } else {
            named
                .iter()
                .find(|(i, _)| !said_busy(*i))
                .or(named.first())
                .copied()
        };
        if let Some((i, wd)) = pick {
            let next = i >= 1 && (is(i - 1, "next") || (i >= 2 && is(i - 2, "next")))
                || toks.get(i + 1).is_some_and(|t| lex.is(&t.text, "next"))
                || (i + 2 < toks.len() && toks[i + 1].text == "que" && toks[i + 2].text == "viene");
            w.day = Some(if next {
                next_week_weekday(today, wd)
            } else {
                coming_weekday(today, wd)
            });
            w.weekday = Some(wd);
            w.asap = false;
            w.tokens.push(i);
        }
    }
    if w.day.is_none() {
        if let Some((s, e)) = lex.find(norm, "weekend") {
            let next = (s >= 1 && is(s - 1, "next")) || lex.has(norm, "after_next");
            let sat = coming_weekday(today, 5);
            w.day = Some(if next && sat - today < 7 {
                sat + 7
            } else {
                sat
            });
            w.weekday = Some(5);
            w.tokens.push(e);
        } else if let Some((s, e)) = norm.find("next week") {
            w.day = Some(today + 7);
            w.tokens.push(s);
            w.tokens.push(e);
        }
    }
    // "the 15th", "el 15", "on the 1st".
    if w.day.is_none() {
        for (i, t) in toks.iter().enumerate() {
            let Some(n) = t.num() else { continue };
            let Some(d) = ordinal_day(n) else { continue };
            let ordinal = matches!(n.suffix.as_str(), "st" | "nd" | "rd" | "th");
            let the = i >= 1 && matches!(toks[i - 1].text.as_str(), "the" | "el" | "on");
            let street = norm.after(i, 1).first().is_some_and(|t| {
                matches!(
                    t.text.as_str(),
                    "st" | "street" | "ave" | "pl" | "place" | "and"
                )
            });
            if (ordinal || (the && toks[i - 1].text == "el"))
                && !street
                && !is_hour_context(norm, lex, i)
                && let Some(day) = day_of_month(today, d)
            {
                w.day = Some(day);
                w.tokens.push(i);
                break;
            }
        }
    }

    // ---- times ---------------------------------------------------------------------
    for (i, t) in toks.iter().enumerate() {
        let Some(n) = t.num() else { continue };
        if n.slash_date.is_some() || n.iso_date.is_some() || n.dollar || n.grouped {
            continue;
        }
        // "#2" is a number in a list, not 2 o'clock.
        if i >= 1 && toks[i - 1].is_sym('#') {
            continue;
        }
        let h = n.value as u32;
        if n.value.fract() != 0.0 || h > 24 {
            continue;
        }
        let suffix = n.suffix.as_str();
        let next_word = toks
            .get(i + 1)
            .filter(|t| t.is_word())
            .map(|t| t.text.as_str());
        let am = matches!(suffix, "am" | "a") || next_word.is_some_and(|x| x == "am");
        let pm = matches!(suffix, "pm" | "p") || next_word.is_some_and(|x| x == "pm");
        let ish = suffix == "ish";
        // "3 de la tarde", "10 de la mañana", "3 in the afternoon".
        let after_phrase = |cue: &str| {
            lex.find_all(norm, cue)
                .iter()
                .any(|&(s, _)| s > i && norm.gap(i, s) <= 1)
        };
        let pm_phrase = after_phrase("pm");
        let am_phrase = after_phrase("am");
        let explicit = n.minutes.is_some() || am || pm || pm_phrase || am_phrase || ish;
        let cued = i >= 1
            && (lex
                .find_all(norm, "at_time")
                .iter()
                .any(|&(_, e)| e < i && norm.gap(e, i) == 1)
                || lex
                    .find_all(norm, "after")
                    .iter()
                    .any(|&(_, e)| e < i && norm.gap(e, i) <= 2)
                || lex
                    .find_all(norm, "before")
                    .iter()
                    .any(|&(_, e)| e < i && norm.gap(e, i) <= 2));
        // "sat 11", "tomorrow 2", "friday 10".
        let after_day =
            i >= 1 && w.tokens.iter().any(|&d| d < i && norm.gap(d, i) == 1) && w.day.is_some();
        let oclock = lex
            .find_all(norm, "oclock")
            .iter()
            .any(|&(s, _)| s > i && norm.gap(i, s) == 1);
        if !(explicit || cued || after_day || oclock) {
            continue;
        }
        if !explicit && (h == 0 || h > 12) {
            continue;
        }
        if suffix_is_not_time(suffix) {
            continue;
        }
        if w.tokens.contains(&i) {
            continue; // a day of the month already
        }
        // "3 y media", "10 y cuarto", "5 menos cuarto".
        let (m, minus) = match n.minutes {
            Some(m) => (m, 0),
            None if after_phrase("and_a_half") => (30, 0),
            None if after_phrase("and_a_quarter") => (15, 0),
            None if after_phrase("quarter_to_after") => (0, 15),
            None => (0, 0),
        };
        if m >= 60 {
            continue;
        }
        let h24 = if pm || pm_phrase {
            if h < 12 { h + 12 } else { h }
        } else if am || am_phrase {
            if h == 12 { 0 } else { h }
        } else if n.minutes.is_some() && h > 12 {
            h
        } else {
            business_hour(h)
        };
        if h24 >= 24 {
            continue;
        }
        let minute = (h24 * 60 + m).saturating_sub(minus);
        let is_after = lex
            .find_all(norm, "after")
            .iter()
            .any(|&(_, e)| e < i && norm.gap(e, i) <= 2);
        let is_before = !is_after
            && lex
                .find_all(norm, "before")
                .iter()
                .any(|&(_, e)| e < i && norm.gap(e, i) <= 2)
            && !norm
                .before(i, 1)
                .first()
                .is_some_and(|t| t.text == "by" && (am || pm));
        if is_after {
            w.after = Some(minute);
        } else if is_before {
            w.before = Some(minute);
        } else {
            w.minute = Some(minute);
        }
        w.approx |= ish
            || lex
                .find_all(norm, "approx")
                .iter()
                .any(|&(_, e)| e < i && norm.gap(e, i) <= 2);
        w.tokens.push(i);
        break;
    }
    // "half past 2", "quarter past 10", "quarter to 5", "y media", "menos cuarto".
    if w.minute.is_none() {
        for (k, t) in toks.iter().enumerate() {
            let Some(n) = t.num() else { continue };
            let h = n.value as u32;
            if !(1..=12).contains(&h) || n.value.fract() != 0.0 {
                continue;
            }
            let before = |cue: &str| {
                lex.find_all(norm, cue)
                    .iter()
                    .any(|&(_, e)| e < k && norm.gap(e, k) == 1)
            };
            let after = |cue: &str| {
                lex.find_all(norm, cue)
                    .iter()
                    .any(|&(s, _)| s > k && norm.gap(k, s) == 1)
            };
            let minute = if before("half_past") || after("and_a_half") {
                Some(business_hour(h) * 60 + 30)
            } else if before("quarter_past") || after("and_a_quarter") {
                Some(business_hour(h) * 60 + 15)
            } else if before("quarter_to") || after("quarter_to_after") {
                Some(business_hour(h) * 60 - 15)
            } else {
                None
            };
            if minute.is_some() {
                w.minute = minute;
                w.tokens.push(k);
                break;
            }
        }
    }
    if w.minute.is_none() && lex.has(norm, "noon") {
        w.minute = Some(12 * 60);
    }
    if w.minute.is_none() && w.after.is_none() && w.before.is_none() {
        let morning = lex
            .find_all(norm, "morning")
            .into_iter()
            .any(|(s, e)| !(s == e && norm.toks[s].text == "am"));
        if morning {
            w.part = Some(DayPart::Morning);
        } else if lex.has(norm, "afternoon") {
            w.part = Some(DayPart::Afternoon);
        } else if lex.has(norm, "evening") {
            w.part = Some(DayPart::Evening);
        }
    }
    w
}

/// Words after "the first" that make it an option, not a date ("the first one").
const NOT_A_DATE: &[&str] = &[
    "one",
    "option",
    "listing",
    "place",
    "apartment",
    "unit",
    "building",
    "choice",
    "pick",
    "link",
    "time",
];

fn suffix_is_not_time(s: &str) -> bool {
    !matches!(s, "" | "am" | "pm" | "a" | "p" | "ish")
}

/// True when number token `i` reads as an hour ("at 11", "11am") rather than a day.
fn is_hour_context(norm: &Norm, lex: &Lexicon, i: usize) -> bool {
    let t = &norm.toks[i];
    if let Kind::Num(n) = &t.kind
        && (n.minutes.is_some() || matches!(n.suffix.as_str(), "am" | "pm"))
    {
        return true;
    }
    lex.find_all(norm, "at_time")
        .iter()
        .any(|&(_, e)| e < i && norm.gap(e, i) == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::iso_date;

    /// Sunday 2026-11-22.
    fn today() -> i64 {
        days_from_civil(2026, 11, 22)
    }

    fn read(s: &str) -> When {
        let lex = crate::lang::tests::lexicon();
        when(&Norm::new(s, Some(&lex)), &lex, today())
    }

    fn day(s: &str) -> Option<String> {
        read(s).day.map(iso_date)
    }

    fn minute(s: &str) -> Option<u32> {
        read(s).minute
    }

    #[test]
    fn days() {
        assert_eq!(day("asap"), Some("2026-11-22".into()));
        assert_eq!(day("tomorrow"), Some("2026-11-23".into()));
        assert_eq!(day("Dec 15"), Some("2026-12-15".into()));
        assert_eq!(day("december 15th please"), Some("2026-12-15".into()));
        assert_eq!(day("the 1st of January"), Some("2027-01-01".into()));
        assert_eq!(day("January"), Some("2027-01-01".into()));
        assert_eq!(day("1/15"), Some("2027-01-15".into()));
        assert_eq!(day("moving 2/1/27"), Some("2027-02-01".into()));
        assert_eq!(day("2027-03-01"), Some("2027-03-01".into()));
        assert_eq!(day("next month"), Some("2026-12-01".into()));
        assert_eq!(day("in 2 weeks"), Some("2026-12-06".into()));
        assert_eq!(day("I may want a cat"), None);
        assert_eq!(day("May 3rd"), Some("2027-05-03".into()));
        assert_eq!(day("$1200 and 2 bedrooms"), None);
        assert_eq!(day("the 15th"), Some("2026-12-15".into()));
        assert_eq!(day("saturday"), Some("2026-11-28".into()));
        assert_eq!(day("next friday"), Some("2026-11-27".into()));
        assert_eq!(day("this weekend"), Some("2026-11-28".into()));
        assert_eq!(day("end of the month"), Some("2026-11-30".into()));
        assert_eq!(day("mid december"), Some("2026-12-15".into()));
        assert_eq!(day("end of january"), Some("2027-01-31".into()));
        assert_eq!(day("15 de enero"), Some("2027-01-15".into()));
        assert_eq!(day("el sabado"), Some("2026-11-28".into()));
        assert_eq!(day("el proximo mes"), Some("2026-12-01".into()));
        assert_eq!(day("pasado mañana"), Some("2026-11-24".into()));
        assert_eq!(day("on 71st st"), None);
    }

    #[test]
    fn several_weekdays_the_one_meant() {
        // Named with the time of day.
        let w = read("I get paid friday, can I come see it saturday at 11?");
        assert_eq!(w.day.map(iso_date), Some("2026-11-28".into()));
        assert_eq!(w.minute, Some(660));
        assert_eq!(
            day("saturday at 10am works, not friday"),
            Some("2026-11-28".into())
        );
        // Not the day of pay or work.
        assert_eq!(
            day("i work monday so tuesday is better"),
            Some("2026-11-24".into())
        );
        assert_eq!(
            day("me pagan el viernes, puedo ir el sabado?"),
            Some("2026-11-28".into())
        );
        // Otherwise the first.
        assert_eq!(day("saturday or sunday"), Some("2026-11-28".into()));
    }

    #[test]
    fn times() {
        assert_eq!(minute("saturday at 11am"), Some(660));
        assert_eq!(minute("sat 11"), Some(660));
        assert_eq!(minute("thursday at 3pm"), Some(900));
        assert_eq!(minute("thursday at 3"), Some(900));
        assert_eq!(minute("10ish"), Some(600));
        assert!(read("10ish").approx);
        assert_eq!(minute("2:30"), Some(870));
        assert_eq!(minute("noon"), Some(720));
        assert_eq!(minute("el sabado a las 11"), Some(660));
        assert_eq!(minute("a las 3 de la tarde"), Some(900));
        assert_eq!(read("after 5").after, Some(17 * 60));
        assert_eq!(read("friday morning").part, Some(DayPart::Morning));
        assert_eq!(read("mañana en la tarde").part, Some(DayPart::Afternoon));
        assert_eq!(day("mañana en la tarde"), Some("2026-11-23".into()));
        assert_eq!(read("por la mañana").day, None);
        assert_eq!(minute("I have 2 dogs"), None);
        assert_eq!(minute("$1200 a month"), None);
        assert_eq!(minute("11 a.m. tuesday"), Some(660));
        assert_eq!(day("11 a.m. tuesday"), Some("2026-11-24".into()));
    }
}
