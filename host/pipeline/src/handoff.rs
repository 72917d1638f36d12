//! A plugin asking for a person: an alert of kind `handoff` from a plugin (its
//! `raise-alert` with `kind = "handoff"`, which the host scopes to
//! `plugin.<name>.handoff`) is the plugin's request to hand the conversation to staff. The
//! worker's commit then pauses the agent for that conversation until a person releases
//! it or `timeout` passes, and raises ONE host alert of kind `handoff` (route it with
//! `AGENTHOST_ALERT_ROUTES`) carrying a link to the thread in the console. The plugin's
//! words are quoted as its reason; the alert is the host's, naming the plugin that asked.

use std::time::Duration;

use agenthost_core::{AlertKind, HostAlert, Severity};
use agenthost_storage::Takeover;

/// Default time a handoff pauses the agent when nobody releases it: 4 hours.
pub const DEFAULT_HANDOFF_TIMEOUT: Duration = Duration::from_secs(4 * 3600);

/// The plugin's own alert kind (after the host's prefix) that requests a handoff.
pub fn is_request(plugin: &str, alert_kind: &str) -> bool {
    alert_kind
        .strip_prefix("plugin.")
        .and_then(|k| k.strip_prefix(plugin))
        .is_some_and(|k| k == ".handoff")
}

#[derive(Debug, Clone)]
pub struct HandoffPolicy {
    /// How long a plugin's handoff pauses the agent when nobody releases it.
    pub timeout: Duration,
    /// The console's address (`.../admin/ui`), for the link in the alert.
    pub console_url: Option<String>,
}

impl Default for HandoffPolicy {
    fn default() -> Self {
        HandoffPolicy {
            timeout: DEFAULT_HANDOFF_TIMEOUT,
            console_url: None,
        }
    }
}

impl HandoffPolicy {
    /// The console's page of a conversation.
    pub fn link(&self, conversation_id: &str) -> Option<String> {
        self.console_url.as_ref().map(|base| {
            let id: String = url_escape(conversation_id);
            format!("{}#/conversations/{id}", base.trim_end_matches('/'))
        })
    }

    /// The pause a request from `plugin` puts on the conversation at `now_ms`.
    pub fn takeover(&self, plugin: &str, reason: &str, now_ms: i64) -> Takeover {
        let timeout = i64::try_from(self.timeout.as_millis()).unwrap_or(i64::MAX);
        Takeover {
            by: format!("plugin {plugin}"),
            reason: Some(reason.chars().take(500).collect()),
            since_ms: now_ms,
            until_ms: Some(now_ms.saturating_add(timeout)),
            requested_by_plugin: true,
        }
    }

    /// The host's one `handoff` alert for a plugin's request: the plugin's own fields
    /// (what staff need: the thread, the channel not to use, ...) followed by the host's
    /// (`conversation`, `lead`, `paused_for`, `link`), which a plugin field cannot replace.
    #[allow(clippy::too_many_arguments)]
    pub fn alert(
        &self,
        plugin: &str,
        version: &str,
        conversation_id: &str,
        lead: Option<&str>,
        reason: &str,
        critical: bool,
        plugin_fields: &[(String, String)],
    ) -> HostAlert {
        const HOST_FIELDS: [&str; 4] = ["conversation", "lead", "paused_for", "link"];
        let reason: String = reason.chars().take(500).collect();
        let mut fields: Vec<(String, String)> = plugin_fields
            .iter()
            .filter(|(k, _)| !HOST_FIELDS.contains(&k.as_str()))
            .cloned()
            .collect();
        fields.push(("conversation".to_owned(), conversation_id.to_owned()));
        if let Some(lead) = lead {
            fields.push(("lead".to_owned(), lead.to_owned()));
        }
        fields.push((
            "paused_for".to_owned(),
            format!("{} min, or until released", self.timeout.as_secs() / 60),
        ));
        if let Some(link) = self.link(conversation_id) {
            fields.push(("link".to_owned(), link));
        }
        // Someone has to act: at least a warning (critical only if the plugin may).
        let severity = if critical {
            Severity::Critical
        } else {
            Severity::Warning
        };
        HostAlert::new(
            AlertKind::Handoff,
            severity,
            format!(
                "{plugin} asks for a person on a conversation; the agent is paused until someone releases it. Its reason: \"{reason}\""
            ),
        )
        .plugin(plugin)
        .version(version)
        .conversation(Some(conversation_id.to_owned()))
        .fields(fields)
    }
}

/// Percent-encodes what a URL fragment's path segment may not hold as is.
fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_plugins_own_handoff_kind_is_a_request() {
        assert!(is_request("landlord-rep", "plugin.landlord-rep.handoff"));
        assert!(!is_request("landlord-rep", "plugin.landlord-rep.question"));
        assert!(!is_request("landlord-rep", "plugin.locator.handoff"));
        assert!(!is_request("landlord-rep", "plugin.landlord-rep.handoff.x"));
        assert!(!is_request("landlord-rep", "handoff"));
    }

    #[test]
    fn the_alert_links_the_thread_and_quotes_the_plugin() {
        let policy = HandoffPolicy {
            timeout: Duration::from_secs(3600),
            console_url: Some("http://127.0.0.1:8081/admin/ui/".into()),
        };
        let plugin_fields = vec![
            ("thread".to_owned(), "lead: hi".to_owned()),
            ("link".to_owned(), "https://evil.example".to_owned()),
        ];
        let a = policy.alert(
            "echo",
            "v1",
            "+1555|+1666",
            Some("+1666"),
            "wants a human",
            false,
            &plugin_fields,
        );
        assert_eq!(a.kind.as_str(), "handoff");
        assert_eq!(a.severity.as_str(), "warning");
        assert_eq!(a.fields[0], ("thread".to_owned(), "lead: hi".to_owned()));
        assert_eq!(
            a.fields.iter().filter(|(k, _)| k == "link").count(),
            1,
            "the plugin cannot replace the host's link"
        );
        assert!(
            a.message.starts_with("echo asks for a person"),
            "{}",
            a.message
        );
        assert!(a.message.contains("\"wants a human\""));
        let link = &a.fields.iter().find(|(k, _)| k == "link").unwrap().1;
        assert_eq!(
            link,
            "http://127.0.0.1:8081/admin/ui#/conversations/%2B1555%7C%2B1666"
        );
        let t = policy.takeover("echo", "x", 1_000);
        assert_eq!(t.until_ms, Some(1_000 + 3_600_000));
        assert!(t.requested_by_plugin && t.by == "plugin echo");
    }
}
