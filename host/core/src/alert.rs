//! Typed alerts. Every alert the host raises is a [`HostAlert`] whose kind is one
//! [`AlertKind`]: the host's kinds are spelled once, here, and a plugin's alerts are
//! always `plugin.<name>.<kind>` ([`AlertKind::plugin`]) — they cannot pass for the
//! host's. Rows in the `alerts` table are written from this type only; channels route
//! by [`AlertKind::as_str`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// How urgent an alert is. Unknown stored values read as `Warning`: an alert is never
/// dropped or mis-shed because its severity was misspelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn parse(text: &str) -> Severity {
        match text {
            "info" => Severity::Info,
            "critical" => Severity::Critical,
            _ => Severity::Warning,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! host_kinds {
    ($($(#[$doc:meta])* $variant:ident => $text:literal,)*) => {
        /// What an alert is about. The host's kinds are the unit variants; a plugin's are
        /// [`AlertKind::Plugin`], built only by [`AlertKind::plugin`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum AlertKind {
            $($(#[$doc])* $variant,)*
            /// A plugin's own alert, `plugin.<name>.<kind>`.
            Plugin(String),
        }

        impl AlertKind {
            /// Every host kind, for docs and route validation.
            pub const HOST: &'static [AlertKind] = &[$(AlertKind::$variant,)*];

            /// The stable label stored, routed on and shown.
            pub fn as_str(&self) -> &str {
                match self {
                    $(AlertKind::$variant => $text,)*
                    AlertKind::Plugin(kind) => kind,
                }
            }

            /// The host kind named `text`, if it is one.
            pub fn host(text: &str) -> Option<AlertKind> {
                match text {
                    $($text => Some(AlertKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

host_kinds! {
    /// An event gave up: its attempts are spent, or it may not be retried.
    DeadLetter => "dead_letter",
    /// A plugin trapped on an event (its first failed attempt).
    PluginTrap => "plugin_trap",
    /// A plugin was killed for fuel, memory or its deadline.
    PluginLimitKill => "plugin_limit_kill",
    /// A plugin broke a rule of the boundary (scope, sizes, counts).
    PluginRuleViolation => "plugin_rule_violation",
    /// A plugin's daily budget (SMS segments, jobs, tokens) is spent.
    BudgetExhausted => "budget_exhausted",
    /// A plugin's daily LLM token budget is spent.
    LlmBudgetExhausted => "llm_budget_exhausted",
    /// A conversation was handed to a person (a plugin's handoff request).
    Handoff => "handoff",
    /// A text came to a number no plugin is routed to.
    UnroutedNumber => "unrouted_number",
    /// Twilio refused a text for good.
    SmsPermanentFailure => "sms_permanent_failure",
    /// The brand's daily segments are 80% used.
    SmsDailyLimitNear => "sms_daily_limit_near",
    /// Carriers filtered too many of a plugin's texts; its initiated texts pause.
    SmsFiltered => "sms_filtered",
    /// A dependency (storage, queue, Twilio, an LLM provider) has failed for a while.
    DependencyDown => "dependency_down",
    /// A dependency that was down answers again.
    DependencyRestored => "dependency_restored",
    /// A plugin could not be loaded at start.
    PluginLoadFailed => "plugin_load_failed",
    /// A plugin file in the watched folder was refused.
    PluginUploadRejected => "plugin_upload_rejected",
    /// A plugin version's signature was missing or not trusted.
    PluginSignatureRefused => "plugin_signature_refused",
    /// A failing version was rolled back (or a canary aborted) automatically.
    AutoRollback => "auto_rollback",
    /// A cron job fired late.
    SchedulerLateness => "scheduler_lateness",
    /// An SLA item is nearly due.
    SlaReminder => "sla_reminder",
    /// An SLA item is overdue (and its repeats).
    SlaOverdue => "sla_overdue",
    /// An SLA item stayed overdue past its repeats.
    SlaEscalation => "sla_escalation",
}

impl AlertKind {
    /// A plugin's alert kind: always `plugin.<plugin>.<kind>`, whatever `kind` says.
    pub fn plugin(plugin: &str, kind: &str) -> AlertKind {
        AlertKind::Plugin(format!("plugin.{plugin}.{kind}"))
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert to store (and deliver): what, how urgent, about whom, and labelled facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAlert {
    pub kind: AlertKind,
    pub severity: Severity,
    pub plugin: Option<String>,
    pub version: Option<String>,
    pub conversation_id: Option<String>,
    pub message: String,
    /// Extra labelled values, order kept.
    pub fields: Vec<(String, String)>,
}

impl HostAlert {
    pub fn new(kind: AlertKind, severity: Severity, message: impl Into<String>) -> HostAlert {
        HostAlert {
            kind,
            severity,
            plugin: None,
            version: None,
            conversation_id: None,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn plugin(mut self, plugin: impl Into<String>) -> HostAlert {
        self.plugin = Some(plugin.into());
        self
    }

    pub fn version(mut self, version: impl Into<String>) -> HostAlert {
        self.version = Some(version.into());
        self
    }

    pub fn conversation<C: Into<String>>(mut self, conversation_id: Option<C>) -> HostAlert {
        self.conversation_id = conversation_id.map(Into::into);
        self
    }

    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> HostAlert {
        self.fields.push((name.into(), value.into()));
        self
    }

    pub fn fields(mut self, fields: Vec<(String, String)>) -> HostAlert {
        self.fields.extend(fields);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_kinds_are_spelled_once_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for kind in AlertKind::HOST {
            assert!(seen.insert(kind.as_str()), "{kind} twice");
            assert_eq!(AlertKind::host(kind.as_str()).as_ref(), Some(kind));
            assert!(!kind.as_str().starts_with("plugin."), "{kind}");
        }
        assert_eq!(AlertKind::DependencyDown.as_str(), "dependency_down");
        assert_eq!(AlertKind::host("nope"), None);
    }

    #[test]
    fn a_plugin_kind_never_passes_for_a_host_kind() {
        let k = AlertKind::plugin("echo", "dead_letter");
        assert_eq!(k.as_str(), "plugin.echo.dead_letter");
        assert_eq!(AlertKind::host(k.as_str()), None);
    }

    #[test]
    fn builder_keeps_order_and_severity_reads_leniently() {
        let a = HostAlert::new(AlertKind::Handoff, Severity::Warning, "m")
            .plugin("echo")
            .version("v1")
            .conversation(Some("c"))
            .field("a", "1")
            .fields(vec![("b".into(), "2".into())]);
        assert_eq!(a.plugin.as_deref(), Some("echo"));
        assert_eq!(
            a.fields,
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert_eq!(Severity::parse("critical"), Severity::Critical);
        assert_eq!(Severity::parse("error"), Severity::Warning);
        assert!(Severity::Info < Severity::Critical);
    }
}
