//! Outward effects: SMS, alerts, one-off jobs and SLA items. The host buffers all of them
//! and commits them only if the handler returns `Ok`, so a retried event never sends twice.

use crate::Severity;
use crate::bindings::agenthost::plugin::effects::{self, Alert};

/// Raises an alert for the host's alert routing; `kind` selects the route (e.g.
/// "handoff", "owner-report") and `fields` are shown as key/value details.
pub fn alert(kind: &str, severity: Severity, message: &str, fields: &[(&str, &str)]) {
    effects::raise_alert(&Alert {
        kind: kind.into(),
        severity,
        message: message.into(),
        fields: fields.iter().map(|&(k, v)| (k.into(), v.into())).collect(),
    });
}

pub mod sms {
    /// Texts `to` (E.164) from the conversation's agent number. The host drops numbers
    /// that opted out (STOP), whatever the plugin does.
    pub fn send(to: &str, body: &str) {
        super::effects::send_sms(to, body);
    }

    /// Like [`send`], but first makes `body` fit SMS sense with
    /// [`crate::text::fit_sms`]: ASCII for typographic characters and at most three
    /// segments, cut cleanly at a word. Agents use this for every reply.
    pub fn send_fitted(to: &str, body: &str) {
        send(to, &crate::text::fit_sms(body));
    }
}

/// One-off jobs, delivered later through `Guest::handle_job`.
pub mod jobs {
    /// Fires job `name` with `payload` after `delay_ms`. Scheduling the same `key` again
    /// replaces the pending job, which makes follow-up timers a single call.
    pub fn schedule(
        key: &str,
        name: &str,
        delay_ms: u64,
        payload: &str,
        conversation_id: Option<&str>,
    ) {
        super::effects::schedule_job(key, name, delay_ms, payload, conversation_id);
    }

    pub fn cancel(key: &str) {
        super::effects::cancel_job(key);
    }
}

/// Items on the host's SLA ladder (reminder at 50%, overdue at 100%, then escalation).
pub mod sla {
    /// Starts tracking `item_id`, due at `deadline_at_ms` (Unix epoch ms); tracking the
    /// same id again resets its ladder.
    pub fn track(item_id: &str, kind: &str, description: &str, deadline_at_ms: u64) {
        super::effects::track_sla(item_id, kind, description, deadline_at_ms);
    }

    pub fn resolve(item_id: &str) {
        super::effects::resolve_sla(item_id);
    }
}
