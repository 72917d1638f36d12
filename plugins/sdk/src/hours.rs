//! Weekly opening hours as operators write them (`{"mon": ["09:00", "18:00"], ...}`):
//! tour hours, office hours, staff hours. Validation, "open now?", the next opening, a
//! short description ("Mon-Fri 9am-6pm, Sat 10am-2pm") and when a person can answer a
//! handoff.

use crate::config::{Problems, parse_hhmm};
use crate::lang::Language;
use crate::time::{self, Local, MS_PER_MINUTE, Zone};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Weekday key ("mon".."sun") → [opening, closing] as "HH:MM".
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct WeeklyHours(pub BTreeMap<String, [String; 2]>);

/// When a person will answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eta {
    /// Staff are in now: within this many minutes.
    Within(u32),
    /// Staff are out: by this instant (Unix ms), the next opening plus the response time.
    By(u64),
}

impl WeeklyHours {
    /// Problems with the hours, each naming `field.<day>`.
    pub fn validate(&self, field: &str, p: &mut Problems) {
        for (day, [open, close]) in &self.0 {
            let f = format!("{field}.{day}");
            if !time::WEEKDAY_KEYS.contains(&day.as_str()) {
                p.push(
                    &f,
                    "is not a weekday key (mon, tue, wed, thu, fri, sat, sun)",
                );
                continue;
            }
            let o = p.clock(&format!("{f}[0]"), open);
            let c = p.clock(&format!("{f}[1]"), close);
            if let (Some(o), Some(c)) = (o, c)
                && o >= c
            {
                p.push(&f, format!("opens at {open} but closes at {close}"));
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Opening and closing minute on weekday `wd` (0 = Monday).
    pub fn window(&self, wd: u32) -> Option<(u32, u32)> {
        let [open, close] = self.0.get(time::WEEKDAY_KEYS[wd as usize % 7])?;
        let (o, c) = (parse_hhmm(open)?, parse_hhmm(close)?);
        (o < c).then_some((o, c))
    }

    pub fn is_open(&self, at: Local) -> bool {
        self.window(time::weekday(at.days))
            .is_some_and(|(o, c)| at.minute >= o && at.minute < c)
    }

    /// The first open moment at or after `from`, within two weeks.
    pub fn next_open(&self, from: Local) -> Option<Local> {
        for days in from.days..from.days + 15 {
            let Some((o, c)) = self.window(time::weekday(days)) else {
                continue;
            };
            if days == from.days {
                if from.minute < o {
                    return Some(Local { days, minute: o });
                }
                if from.minute < c {
                    return Some(from);
                }
                continue;
            }
            return Some(Local { days, minute: o });
        }
        None
    }

    /// When a person will answer something handed over at `now_ms`, taking
    /// `response_min` minutes once in: within that time if staff are in long enough,
    /// else by the next opening plus that time. `None` if there are no hours at all.
    pub fn eta(&self, zone: Zone, now_ms: u64, response_min: u32) -> Option<Eta> {
        let now = zone.to_local(now_ms);
        if let Some((_, c)) = self.window(time::weekday(now.days))
            && self.is_open(now)
            && now.minute + response_min <= c
        {
            return Some(Eta::Within(response_min));
        }
        // Staff are out (or about to be): the next opening after now.
        let after = if self.is_open(now) {
            let (_, c) = self.window(time::weekday(now.days))?;
            Local {
                days: now.days,
                minute: c,
            }
        } else {
            now
        };
        let open = self.next_open(after)?;
        let open = if open == after && self.is_open(now) {
            self.next_open(Local {
                days: after.days + 1,
                minute: 0,
            })?
        } else {
            open
        };
        Some(Eta::By(
            zone.to_utc_ms(open) + u64::from(response_min) * MS_PER_MINUTE,
        ))
    }

    /// "Mon-Fri 9am-6pm, Sat 10am-2pm" in `lang`'s weekday names and clock.
    pub fn describe(&self, lang: &Language) -> String {
        let mut groups: Vec<(u32, u32, (u32, u32))> = Vec::new();
        for wd in 0..7 {
            let Some(w) = self.window(wd) else { continue };
            match groups.last_mut() {
                Some((_, last, win)) if *win == w && *last + 1 == wd => *last = wd,
                _ => groups.push((wd, wd, w)),
            }
        }
        groups
            .iter()
            .map(|&(a, b, (o, c))| {
                let days = if a == b {
                    lang.weekday_short(a).to_owned()
                } else {
                    format!("{}-{}", lang.weekday_short(a), lang.weekday_short(b))
                };
                format!("{days} {}-{}", lang.clock(o), lang.clock(c))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{MS_PER_DAY, MS_PER_HOUR, days_from_civil};

    fn hours() -> WeeklyHours {
        serde_json::from_str(
            r#"{"mon": ["09:00", "18:00"], "tue": ["09:00", "18:00"], "wed": ["09:00", "18:00"],
                "thu": ["09:00", "18:00"], "fri": ["09:00", "18:00"], "sat": ["10:00", "14:00"]}"#,
        )
        .unwrap()
    }

    /// Local Chicago wall time on 2026-11-<day> (CST, UTC-6) as UTC ms.
    fn at(day: u32, h: u64, m: u64) -> u64 {
        days_from_civil(2026, 11, day) as u64 * MS_PER_DAY + (h + 6) * MS_PER_HOUR + m * 60_000
    }

    #[test]
    fn describes_grouped_days() {
        let l = crate::lang::tests::languages();
        assert_eq!(
            hours().describe(l.get("en")),
            "Mon-Fri 9am-6pm, Sat 10am-2pm"
        );
        assert_eq!(
            hours().describe(l.get("es")),
            "lun-vie 9am-6pm, sáb 10am-2pm"
        );
    }

    #[test]
    fn eta_inside_and_outside_staff_hours() {
        let h = hours();
        let z = Zone::CHICAGO;
        // Tuesday Nov 24, 11:00: in.
        assert_eq!(h.eta(z, at(24, 11, 0), 30), Some(Eta::Within(30)));
        // Tuesday 17:45: closing within the response time: Wednesday 9:30.
        assert_eq!(h.eta(z, at(24, 17, 45), 30), Some(Eta::By(at(25, 9, 30))));
        // Saturday 15:00: closed until Monday 9:00.
        assert_eq!(h.eta(z, at(28, 15, 0), 30), Some(Eta::By(at(30, 9, 30))));
        // Sunday 07:00.
        assert_eq!(h.eta(z, at(22, 7, 0), 30), Some(Eta::By(at(23, 9, 30))));
        // Monday 06:00: opens at 9 today.
        assert_eq!(h.eta(z, at(23, 6, 0), 30), Some(Eta::By(at(23, 9, 30))));
        assert_eq!(WeeklyHours::default().eta(z, at(23, 6, 0), 30), None);
    }

    #[test]
    fn validation_names_the_field() {
        let bad: WeeklyHours = serde_json::from_str(
            r#"{"mon": ["18:00", "09:00"], "fun": ["09:00", "10:00"], "tue": ["9", "10:00"]}"#,
        )
        .unwrap();
        let mut p = Problems::default();
        bad.validate("office.staff_hours", &mut p);
        let e = p.into_result().unwrap_err();
        assert!(
            e.contains("office.staff_hours.mon: opens at 18:00 but closes at 09:00"),
            "{e}"
        );
        assert!(
            e.contains("office.staff_hours.fun: is not a weekday key"),
            "{e}"
        );
        assert!(
            e.contains("office.staff_hours.tue[0]: `9` is not a HH:MM time"),
            "{e}"
        );
    }
}
