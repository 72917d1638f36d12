//! The SLA ladder: for an open item created at `C` with deadline `D`, a reminder at half
//! of `D − C`, an overdue alert at `D`, up to `max_repeats` repeats every `repeat_every`
//! after `D`, then one escalation to the owner one more `repeat_every` later.
//!
//! When several rungs are due at once (the host was down), only the highest fires: a
//! half-way reminder for an item already overdue would be wrong, and a burst of stale
//! repeats is noise. Each rung fires at most once.

use std::time::Duration;

use agenthost_core::{AlertKind, Severity};

/// A step of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rung {
    /// Half of the SLA window has passed.
    Reminder,
    /// The deadline passed.
    Overdue,
    /// The n-th (1-based) repeat of the overdue alert.
    Repeat(u32),
    /// The ladder's end: the owner is told.
    Escalation,
}

impl Rung {
    /// The alert kind this rung raises.
    pub fn alert_kind(self) -> AlertKind {
        match self {
            Rung::Reminder => AlertKind::SlaReminder,
            Rung::Overdue | Rung::Repeat(_) => AlertKind::SlaOverdue,
            Rung::Escalation => AlertKind::SlaEscalation,
        }
    }

    /// The alert severity this rung raises.
    pub fn severity(self) -> Severity {
        match self {
            Rung::Escalation => Severity::Critical,
            _ => Severity::Warning,
        }
    }
}

/// The ladder's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ladder {
    pub repeat_every: Duration,
    pub max_repeats: u32,
}

impl Ladder {
    /// The number stored for the top rung (escalation); rungs count from 1.
    pub fn top(&self) -> i64 {
        3 + i64::from(self.max_repeats)
    }

    /// The rung stored as `n`, if `n` is one.
    pub fn rung(&self, n: i64) -> Option<Rung> {
        match n {
            1 => Some(Rung::Reminder),
            2 => Some(Rung::Overdue),
            n if n == self.top() => Some(Rung::Escalation),
            n if n > 2 && n < self.top() => Some(Rung::Repeat(u32::try_from(n - 2).ok()?)),
            _ => None,
        }
    }

    /// When rung `n` is due for an item created at `created_ms` with `deadline_ms`.
    pub fn due_at(&self, n: i64, created_ms: i64, deadline_ms: i64) -> i64 {
        let repeat_ms = i64::try_from(self.repeat_every.as_millis()).unwrap_or(i64::MAX);
        match n {
            ..=1 => created_ms + (deadline_ms - created_ms) / 2,
            _ => deadline_ms.saturating_add(repeat_ms.saturating_mul(n - 2)),
        }
    }

    /// The highest rung due at `now_ms` (0: none yet).
    pub fn highest_due(&self, created_ms: i64, deadline_ms: i64, now_ms: i64) -> i64 {
        (1..=self.top())
            .rev()
            .find(|&n| self.due_at(n, created_ms, deadline_ms) <= now_ms)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: i64 = 3_600_000;

    #[test]
    fn rungs_and_times() {
        let l = Ladder {
            repeat_every: Duration::from_secs(8 * 3600),
            max_repeats: 3,
        };
        assert_eq!(l.top(), 6);
        let (c, d) = (0, 24 * HOUR_MS);
        assert_eq!(l.highest_due(c, d, 12 * HOUR_MS - 1), 0);
        assert_eq!(l.highest_due(c, d, 12 * HOUR_MS), 1);
        assert_eq!(l.highest_due(c, d, d), 2);
        assert_eq!(l.highest_due(c, d, d + 8 * HOUR_MS), 3);
        assert_eq!(l.highest_due(c, d, d + 24 * HOUR_MS), 5);
        assert_eq!(l.highest_due(c, d, d + 32 * HOUR_MS), 6);
        assert_eq!(l.highest_due(c, d, d + 1000 * HOUR_MS), 6);
        assert_eq!(l.rung(1), Some(Rung::Reminder));
        assert_eq!(l.rung(4), Some(Rung::Repeat(2)));
        assert_eq!(l.rung(6), Some(Rung::Escalation));
        assert_eq!(l.rung(7), None);
    }
}
