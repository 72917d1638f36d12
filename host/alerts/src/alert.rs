//! The one [`Alert`] model every channel renders: built once from a stored row (or, for a
//! direct alert that never touched storage, from a [`HostAlert`]), carrying a count when
//! identical alerts were coalesced into one delivery.

use std::time::Duration;

use agenthost_core::{HostAlert, human_duration as human};
use agenthost_storage::AlertRow;
use serde::Serialize;

pub use agenthost_core::Severity;

/// One alert as delivered: possibly several identical stored rows (`count`) coalesced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Stable label of what happened (`dead_letter`, `sla_escalation`, …): routes by it.
    pub kind: String,
    pub severity: Severity,
    pub plugin: Option<String>,
    pub version: Option<String>,
    pub conversation_id: Option<String>,
    pub message: String,
    /// Extra labelled values, order kept.
    pub fields: Vec<(String, String)>,
    /// How many identical stored alerts this delivery stands for (1 = not coalesced).
    pub count: u32,
    /// The coalescing window `count` was gathered in; shown beside the count.
    #[serde(skip)]
    pub window: Duration,
    /// When the first of them was raised, Unix epoch milliseconds.
    pub created_at_ms: i64,
}

/// What makes two alerts "identical" for coalescing: same kind, plugin and message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CoalesceKey {
    kind: String,
    plugin: Option<String>,
    message: String,
}

impl CoalesceKey {
    /// The one key every alert of `plugin` past its rate limit folds into.
    pub(crate) fn overflow(plugin: &str) -> CoalesceKey {
        CoalesceKey {
            kind: format!("plugin.{plugin}.*"),
            plugin: Some(plugin.to_owned()),
            message: String::new(),
        }
    }

    pub(crate) fn is_overflow(&self) -> bool {
        self.kind.ends_with(".*")
    }
}

impl Alert {
    /// The alert a stored row describes, not coalesced.
    pub fn from_row(row: &AlertRow) -> Alert {
        Alert {
            kind: row.kind.clone(),
            severity: Severity::parse(&row.severity),
            plugin: row.plugin.clone(),
            version: row.version.clone(),
            conversation_id: row.conversation_id.clone(),
            message: row.message.clone(),
            fields: row.fields.clone(),
            count: 1,
            window: Duration::ZERO,
            created_at_ms: row.created_at_ms,
        }
    }

    /// The alert `alert` describes, raised at `created_at_ms`, not coalesced: what
    /// [`crate::AlertsHandle::raise_direct`] takes when there is no row to read it from.
    pub fn from_host(alert: &HostAlert, created_at_ms: i64) -> Alert {
        Alert {
            kind: alert.kind.as_str().to_owned(),
            severity: alert.severity,
            plugin: alert.plugin.clone(),
            version: alert.version.clone(),
            conversation_id: alert.conversation_id.clone(),
            message: alert.message.clone(),
            fields: alert.fields.clone(),
            count: 1,
            window: Duration::ZERO,
            created_at_ms,
        }
    }

    pub(crate) fn key(&self) -> CoalesceKey {
        CoalesceKey {
            kind: self.kind.clone(),
            plugin: self.plugin.clone(),
            message: self.message.clone(),
        }
    }

    /// `(×7 in 5 min)` when coalesced, `None` for a single alert.
    pub fn count_label(&self) -> Option<String> {
        (self.count > 1).then(|| format!("(×{} in {})", self.count, human(self.window)))
    }

    /// The alert as plain text, one fact per line: the body every text channel sends.
    pub fn render_text(&self) -> String {
        let mut out = format!("[{}] {}", self.severity.as_str().to_uppercase(), self.kind);
        if let Some(label) = self.count_label() {
            out.push(' ');
            out.push_str(&label);
        }
        out.push('\n');
        out.push_str(&self.message);
        let mut line = |name: &str, value: &str| {
            out.push('\n');
            out.push_str(name);
            out.push_str(": ");
            out.push_str(value);
        };
        if let Some(plugin) = &self.plugin {
            match &self.version {
                Some(version) => line("plugin", &format!("{plugin}@{version}")),
                None => line("plugin", plugin),
            }
        }
        if let Some(conversation) = &self.conversation_id {
            line("conversation", conversation);
        }
        for (name, value) in &self.fields {
            line(name, value);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_label_names_the_window() {
        let mut alert = Alert {
            kind: "dead_letter".into(),
            severity: Severity::Critical,
            plugin: Some("echo".into()),
            version: Some("1".into()),
            conversation_id: None,
            message: "boom".into(),
            fields: vec![("event".into(), "e1".into())],
            count: 1,
            window: Duration::from_secs(300),
            created_at_ms: 0,
        };
        assert_eq!(alert.count_label(), None);
        alert.count = 7;
        assert_eq!(alert.count_label().as_deref(), Some("(×7 in 5 min)"));
        assert_eq!(
            alert.render_text(),
            "[CRITICAL] dead_letter (×7 in 5 min)\nboom\nplugin: echo@1\nevent: e1"
        );
    }

    #[test]
    fn unknown_severity_is_not_info() {
        assert_eq!(Severity::parse("INFO"), Severity::Warning);
        assert_eq!(Severity::parse("info"), Severity::Info);
    }
}
