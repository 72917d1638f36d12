//! Tours like a leasing office books them: slots on a grid inside each building's tour
//! hours, at least the office's lead time ahead, one lead per slot across the whole
//! portfolio (a plugin-wide state key per slot, `slot:<building>:<start ms>`, held by the
//! lead's number — the host's optimistic concurrency check at commit makes two leads
//! racing for one slot safe: the loser re-runs and sees it taken). A named day and time is
//! booked if it is inside tour hours and free; otherwise the nearest free slots are
//! offered.

use crate::data::Building;
use agenthost_sdk::time::{self, Local, MS_PER_MINUTE, Zone};
use agenthost_sdk::when::{DayPart, When};
use serde::{Deserialize, Serialize};

/// Days ahead the agent books tours.
pub const HORIZON_DAYS: i64 = 14;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Unix epoch ms of the start.
    pub at_ms: u64,
    /// Local weekday (0 = Monday) and minute of day, for matching replies.
    pub weekday: u32,
    pub minute: u32,
    /// Local day number.
    #[serde(default)]
    pub days: i64,
    /// "Mon Nov 23, 10am" (English, for staff alerts and logs).
    pub label: String,
}

/// The English label staff see in alerts: "Mon Nov 23, 10am".
pub fn label(days: i64, minute: u32) -> String {
    format!(
        "{} {}, {}",
        time::WEEKDAY_SHORT[time::weekday(days) as usize],
        time::month_day(days),
        time::clock_12h(minute)
    )
}

pub fn slot(zone: Zone, days: i64, minute: u32) -> Slot {
    Slot {
        at_ms: zone.to_utc_ms(Local { days, minute }),
        weekday: time::weekday(days),
        minute,
        days,
        label: label(days, minute),
    }
}

/// The state key that holds a slot for one lead.
pub fn slot_key(building: &str, at_ms: u64) -> String {
    format!("slot:{building}:{at_ms}")
}

/// Who holds a slot (read from plugin-wide state).
pub trait SlotBook {
    fn holder(&self, building: &str, at_ms: u64) -> Option<String>;
}

/// Why a requested time cannot be booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The building does not show that day, or not at that hour ((open, close) that day).
    OutsideHours(Option<(u32, u32)>),
    /// Less than the office's lead time ahead, or past.
    TooSoon,
    /// Another lead has it.
    Taken,
    /// Beyond the booking horizon.
    TooFar,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Book(Slot),
    /// Offer these; `refusal` says why the exact time asked for could not be booked.
    Offer(Vec<Slot>, Option<Refusal>),
}

pub struct Planner<'a> {
    pub b: &'a Building,
    pub zone: Zone,
    pub now_ms: u64,
    pub slot_min: u32,
    pub min_lead_min: u32,
    pub book: &'a dyn SlotBook,
    /// The lead asking: a slot it already holds counts as free for it.
    pub lead: &'a str,
}

impl Planner<'_> {
    fn earliest(&self) -> u64 {
        self.now_ms + u64::from(self.min_lead_min) * MS_PER_MINUTE
    }

    fn today(&self) -> i64 {
        self.zone.to_local(self.now_ms).days
    }

    fn free(&self, s: &Slot) -> bool {
        self.book
            .holder(&self.b.id, s.at_ms)
            .is_none_or(|h| h == self.lead)
    }

    /// Every free start in the horizon, in time order.
    fn candidates(&self) -> Vec<Slot> {
        let slot_min = self.slot_min.max(15);
        let mut out = Vec::new();
        let today = self.today();
        for days in today..today + HORIZON_DAYS {
            let Some((open, close)) = self.b.tour_hours.window(time::weekday(days)) else {
                continue;
            };
            let mut m = open;
            while m + slot_min <= close {
                let s = slot(self.zone, days, m);
                if s.at_ms >= self.earliest() && self.free(&s) {
                    out.push(s);
                }
                m += slot_min;
            }
        }
        out
    }

    /// Can the lead have `days` at `minute`?
    pub fn check(&self, days: i64, minute: u32) -> Result<Slot, Refusal> {
        let slot_min = self.slot_min.max(15);
        if days >= self.today() + HORIZON_DAYS {
            return Err(Refusal::TooFar);
        }
        let window = self.b.tour_hours.window(time::weekday(days));
        let Some((open, close)) = window else {
            return Err(Refusal::OutsideHours(None));
        };
        if minute < open || minute + slot_min > close {
            return Err(Refusal::OutsideHours(window));
        }
        let s = slot(self.zone, days, minute);
        if s.at_ms < self.earliest() {
            return Err(Refusal::TooSoon);
        }
        if !self.free(&s) {
            return Err(Refusal::Taken);
        }
        Ok(s)
    }

    /// Up to `count` free slots, one per tour day, alternating morning, midday and late
    /// afternoon so the lead gets a real choice.
    pub fn next_free(&self, count: usize) -> Vec<Slot> {
        let all = self.candidates();
        let mut out: Vec<Slot> = Vec::new();
        let mut days: Vec<i64> = all.iter().map(|s| s.days).collect();
        days.dedup();
        for d in days {
            if out.len() >= count {
                break;
            }
            let day: Vec<&Slot> = all.iter().filter(|s| s.days == d).collect();
            let pick = match out.len() % 3 {
                _ if day.len() < 3 => day[0],
                0 => day[0],
                1 => day[day.len() / 2],
                _ => day[day.len() - 1],
            };
            out.push(pick.clone());
        }
        out
    }

    /// Free slots nearest to `target_ms`, earlier first on ties.
    pub fn nearest(&self, target_ms: u64, count: usize) -> Vec<Slot> {
        let mut all = self.candidates();
        all.sort_by_key(|s| (s.at_ms.abs_diff(target_ms), s.at_ms));
        all.truncate(count);
        all.sort_by_key(|s| s.at_ms);
        all
    }

    /// Free slots within a day, optionally limited to a part of it or after/before a time.
    fn within(&self, w: &When, days: Option<i64>, count: usize) -> Vec<Slot> {
        let in_part = |m: u32| match w.part {
            Some(DayPart::Morning) => m < 12 * 60,
            Some(DayPart::Afternoon) => (12 * 60..17 * 60).contains(&m),
            Some(DayPart::Evening) => m >= 16 * 60,
            None => true,
        };
        let mut picked: Vec<Slot> = self
            .candidates()
            .into_iter()
            .filter(|s| days.is_none_or(|d| s.days == d))
            .filter(|s| in_part(s.minute))
            .filter(|s| w.after.is_none_or(|a| s.minute >= a))
            .filter(|s| w.before.is_none_or(|b| s.minute < b))
            .collect();
        if days.is_some() && picked.len() > count {
            // Spread across the day rather than the first three half hours.
            let n = picked.len();
            picked = (0..count)
                .map(|k| picked[k * (n - 1) / (count - 1).max(1)].clone())
                .collect();
        } else if days.is_none() {
            // One per day.
            let mut seen = Vec::new();
            picked.retain(|s| {
                if seen.contains(&s.days) {
                    false
                } else {
                    seen.push(s.days);
                    true
                }
            });
        }
        picked.truncate(count);
        picked
    }

    /// What to do with a requested day/time `w`.
    pub fn plan(&self, w: &When, count: usize) -> Plan {
        let today = self.today();
        match (w.day, w.minute) {
            (Some(day), Some(minute)) => match self.check(day, minute) {
                Ok(s) => Plan::Book(s),
                Err(why) => {
                    let target = self.zone.to_utc_ms(Local { days: day, minute });
                    // Prefer the same day if it has tours, else the nearest anywhere.
                    let same_day = self.within(&When::default(), Some(day), count);
                    let slots = if same_day.is_empty() || why == Refusal::Taken {
                        self.nearest(target, count)
                    } else {
                        let mut s = self.nearest(target, count);
                        s.retain(|x| x.days == day);
                        if s.is_empty() { same_day } else { s }
                    };
                    Plan::Offer(slots, Some(why))
                }
            },
            (None, Some(minute)) => {
                for days in today..today + HORIZON_DAYS {
                    if let Ok(s) = self.check(days, minute) {
                        return Plan::Book(s);
                    }
                }
                let target = self.zone.to_utc_ms(Local {
                    days: today,
                    minute,
                });
                Plan::Offer(
                    self.nearest(target, count),
                    Some(Refusal::OutsideHours(None)),
                )
            }
            (Some(day), None) => {
                let slots = self.within(w, Some(day), count);
                if slots.is_empty() {
                    let window = self.b.tour_hours.window(time::weekday(day));
                    let target = self.zone.to_utc_ms(Local {
                        days: day,
                        minute: window.map_or(12 * 60, |(o, _)| o),
                    });
                    let why = if day >= today + HORIZON_DAYS {
                        Refusal::TooFar
                    } else if window.is_none() {
                        Refusal::OutsideHours(None)
                    } else {
                        Refusal::Taken
                    };
                    Plan::Offer(self.nearest(target, count), Some(why))
                } else {
                    Plan::Offer(slots, None)
                }
            }
            (None, None) if w.part.is_some() || w.after.is_some() || w.before.is_some() => {
                Plan::Offer(self.within(w, None, count), None)
            }
            (None, None) => Plan::Offer(self.next_free(count), None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::sample;
    use agenthost_sdk::time::{MS_PER_HOUR, days_from_civil};
    use std::collections::BTreeMap;

    struct Book(BTreeMap<(String, u64), String>);
    impl SlotBook for Book {
        fn holder(&self, b: &str, at: u64) -> Option<String> {
            self.0.get(&(b.to_owned(), at)).cloned()
        }
    }

    /// Sunday 2026-11-22 13:04 UTC = 07:04 CST.
    fn sunday_morning() -> u64 {
        days_from_civil(2026, 11, 22) as u64 * time::MS_PER_DAY
            + 13 * MS_PER_HOUR
            + 4 * MS_PER_MINUTE
    }

    fn planner<'a>(b: &'a Building, book: &'a Book, now: u64) -> Planner<'a> {
        Planner {
            b,
            zone: Zone::CHICAGO,
            now_ms: now,
            slot_min: 30,
            min_lead_min: 120,
            book,
            lead: "+1",
        }
    }

    #[test]
    fn next_free_alternates_inside_tour_hours() {
        let p = sample();
        let b = p.building("jeffery-shores").unwrap();
        let book = Book(BTreeMap::new());
        let slots = planner(b, &book, sunday_morning()).next_free(3);
        let labels: Vec<&str> = slots.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            vec!["Mon Nov 23, 10am", "Tue Nov 24, 2pm", "Wed Nov 25, 5:30pm"]
        );
        assert_eq!(
            slots[0].at_ms,
            days_from_civil(2026, 11, 23) as u64 * time::MS_PER_DAY + 16 * MS_PER_HOUR
        );
    }

    #[test]
    fn a_named_time_is_booked_when_free_and_inside_hours() {
        let p = sample();
        let b = p.building("jeffery-shores").unwrap(); // Sat 10:00-14:00
        let sat = days_from_civil(2026, 11, 28);
        let mut book = Book(BTreeMap::new());
        let w = When {
            day: Some(sat),
            minute: Some(11 * 60),
            ..When::default()
        };
        let Plan::Book(s) = planner(b, &book, sunday_morning()).plan(&w, 3) else {
            panic!()
        };
        assert_eq!(s.label, "Sat Nov 28, 11am");
        // Taken by another lead: the nearest free ones, around 11.
        book.0.insert((b.id.clone(), s.at_ms), "+2".into());
        let Plan::Offer(offered, Some(Refusal::Taken)) =
            planner(b, &book, sunday_morning()).plan(&w, 3)
        else {
            panic!()
        };
        let labels: Vec<&str> = offered.iter().map(|s| s.label.as_str()).collect();
        // Equally near 10am and noon: the earlier one.
        assert_eq!(
            labels,
            vec![
                "Sat Nov 28, 10am",
                "Sat Nov 28, 10:30am",
                "Sat Nov 28, 11:30am"
            ]
        );
        // Outside tour hours (Saturday closes at 14:00): same-day nearest.
        let late = When {
            day: Some(sat),
            minute: Some(16 * 60),
            ..When::default()
        };
        let Plan::Offer(offered, Some(Refusal::OutsideHours(Some((600, 840))))) =
            planner(b, &book, sunday_morning()).plan(&late, 3)
        else {
            panic!()
        };
        assert_eq!(offered.last().unwrap().label, "Sat Nov 28, 1:30pm");
        // Sunday: no tours at all.
        let sun = When {
            day: Some(days_from_civil(2026, 11, 29)),
            minute: Some(11 * 60),
            ..When::default()
        };
        assert!(matches!(
            planner(b, &book, sunday_morning()).plan(&sun, 3),
            Plan::Offer(_, Some(Refusal::OutsideHours(None)))
        ));
    }

    #[test]
    fn a_day_or_a_part_of_day_offers_spread_slots() {
        let p = sample();
        let b = p.building("yates-park").unwrap(); // Fri 11:00-18:00
        let book = Book(BTreeMap::new());
        let fri = When {
            day: Some(days_from_civil(2026, 11, 27)),
            ..When::default()
        };
        let Plan::Offer(s, None) = planner(b, &book, sunday_morning()).plan(&fri, 3) else {
            panic!()
        };
        let labels: Vec<&str> = s.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            vec!["Fri Nov 27, 11am", "Fri Nov 27, 2pm", "Fri Nov 27, 5:30pm"]
        );
        let after5 = When {
            after: Some(17 * 60),
            ..When::default()
        };
        let Plan::Offer(s, None) = planner(b, &book, sunday_morning()).plan(&after5, 2) else {
            panic!()
        };
        assert!(s.iter().all(|s| s.minute >= 17 * 60), "{s:?}");
    }
}
