//! Tour slots: the next times a building shows apartments, in the office's local time.

use crate::data::Building;
use agenthost_sdk::time::{self, Local, MS_PER_MINUTE, Zone};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Unix epoch ms of the start.
    pub at_ms: u64,
    /// Local weekday (0 = Monday) and minute of day, for matching replies.
    pub weekday: u32,
    pub minute: u32,
    /// "Mon Nov 23, 10am".
    pub label: String,
}

pub fn label(days: i64, minute: u32) -> String {
    format!(
        "{} {}, {}",
        time::WEEKDAY_SHORT[time::weekday(days) as usize],
        time::month_day(days),
        time::clock_12h(minute)
    )
}

fn slot(zone: Zone, days: i64, minute: u32) -> Slot {
    Slot {
        at_ms: zone.to_utc_ms(Local { days, minute }),
        weekday: time::weekday(days),
        minute,
        label: label(days, minute),
    }
}

/// Up to `count` tour slots at `b`, one per tour day, starting at least `min_lead_min`
/// minutes after `now_ms`, on a `slot_min` grid inside the building's tour hours, looking
/// up to 14 days ahead. Successive days alternate morning, midday and late-afternoon
/// starts so the lead gets a real choice.
pub fn next_slots(
    b: &Building,
    zone: Zone,
    now_ms: u64,
    count: usize,
    slot_min: u32,
    min_lead_min: u32,
) -> Vec<Slot> {
    let slot_min = slot_min.max(15);
    let earliest = now_ms + u64::from(min_lead_min) * MS_PER_MINUTE;
    let today = zone.to_local(now_ms).days;
    let mut out = Vec::new();
    for days in today..today + 14 {
        if out.len() >= count {
            break;
        }
        let Some((open, close)) = b.tour_window(time::weekday(days)) else {
            continue;
        };
        let last_start = close.saturating_sub(slot_min);
        // Candidate starts on the grid, from open to the last start.
        let grid: Vec<u32> = (0..)
            .map(|k| open + k * slot_min)
            .take_while(|&m| m <= last_start)
            .collect();
        let free: Vec<u32> = grid
            .into_iter()
            .filter(|&m| zone.to_utc_ms(Local { days, minute: m }) >= earliest)
            .collect();
        if free.is_empty() {
            continue;
        }
        // Morning, midday, late afternoon in turn; the first free start on a partial day.
        let pick = match out.len() % 3 {
            _ if free.len() < 3 => free[0],
            0 => free[0],
            1 => free[free.len() / 2],
            _ => free[free.len() - 1],
        };
        out.push(slot(zone, days, pick));
    }
    out
}

/// A specific time the lead proposed ("thursday at 2pm"): the next such weekday (or
/// today/tomorrow) whose tour hours contain it, if it is far enough ahead.
pub fn proposed_slot(
    b: &Building,
    zone: Zone,
    now_ms: u64,
    weekday: Option<u32>,
    minute: u32,
    slot_min: u32,
    min_lead_min: u32,
) -> Option<Slot> {
    let earliest = now_ms + u64::from(min_lead_min) * MS_PER_MINUTE;
    let today = zone.to_local(now_ms).days;
    for days in today..today + 8 {
        let wd = time::weekday(days);
        if weekday.is_some_and(|w| w != wd) {
            continue;
        }
        let Some((open, close)) = b.tour_window(wd) else {
            continue;
        };
        if minute < open || minute + slot_min.max(15) > close {
            continue;
        }
        let s = slot(zone, days, minute);
        if s.at_ms >= earliest {
            return Some(s);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::sample;
    use agenthost_sdk::time::{MS_PER_HOUR, days_from_civil};

    /// Sunday 2026-11-22 13:04 UTC = 07:04 CST.
    fn sunday_morning() -> u64 {
        days_from_civil(2026, 11, 22) as u64 * time::MS_PER_DAY
            + 13 * MS_PER_HOUR
            + 4 * MS_PER_MINUTE
    }

    #[test]
    fn slots_fall_on_tour_days_inside_tour_hours() {
        let p = sample();
        let b = p.building("jeffery-shores").unwrap();
        let zone = p.office.zone();
        let slots = next_slots(b, zone, sunday_morning(), 3, 30, 120);
        let labels: Vec<&str> = slots.iter().map(|s| s.label.as_str()).collect();
        // No Sunday hours; Mon-Wed 10:00-18:00, alternating morning / midday / late.
        assert_eq!(
            labels,
            vec!["Mon Nov 23, 10am", "Tue Nov 24, 2pm", "Wed Nov 25, 5:30pm"]
        );
        for s in &slots {
            let local = zone.to_local(s.at_ms);
            let (open, close) = b.tour_window(time::weekday(local.days)).unwrap();
            assert!(local.minute >= open && local.minute + 30 <= close);
            assert!(s.at_ms >= sunday_morning() + 2 * MS_PER_HOUR);
        }
        // Monday 10:00 CST is 16:00 UTC.
        assert_eq!(
            slots[0].at_ms,
            days_from_civil(2026, 11, 23) as u64 * time::MS_PER_DAY + 16 * MS_PER_HOUR
        );
    }

    #[test]
    fn same_day_slots_respect_the_lead_time() {
        let p = sample();
        let b = p.building("rainbow-beach-lofts").unwrap(); // Sunday 12:00-16:00
        let zone = p.office.zone();
        // Sunday 13:30 CST: earliest is 15:30, last start 15:30.
        let now = days_from_civil(2026, 11, 22) as u64 * time::MS_PER_DAY
            + 19 * MS_PER_HOUR
            + 30 * MS_PER_MINUTE;
        let slots = next_slots(b, zone, now, 2, 30, 120);
        assert_eq!(slots[0].label, "Sun Nov 22, 3:30pm");
        assert_eq!(slots[1].label, "Mon Nov 23, 2pm");
        let s = proposed_slot(b, zone, now, Some(3), 14 * 60, 30, 120).unwrap();
        assert_eq!(s.label, "Thu Nov 26, 2pm");
        assert!(proposed_slot(b, zone, now, Some(3), 20 * 60, 30, 120).is_none());
    }
}
