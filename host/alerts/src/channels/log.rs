//! The `log` channel: the alert as one structured log line, at `info`, `warn` or `error`
//! by severity. Never fails, so a route to it always delivers.

use crate::alert::{Alert, Severity};
use crate::channel::{AlertChannel, ChannelError};

pub struct LogChannel {
    name: String,
}

impl LogChannel {
    pub fn new(name: &str) -> LogChannel {
        LogChannel {
            name: name.to_owned(),
        }
    }
}

#[async_trait::async_trait]
impl AlertChannel for LogChannel {
    async fn send(&self, alert: &Alert) -> Result<(), ChannelError> {
        let channel = self.name.as_str();
        let kind = alert.kind.as_str();
        let plugin = alert.plugin.as_deref().unwrap_or("");
        let version = alert.version.as_deref().unwrap_or("");
        let conversation = alert.conversation_id.as_deref().unwrap_or("");
        let count = alert.count;
        let fields = serde_json::to_string(&alert.fields).unwrap_or_default();
        let message = alert.message.as_str();
        match alert.severity {
            Severity::Info => tracing::info!(
                target: "agenthost::alert", channel, kind, plugin, version, conversation,
                count, fields, "{message}"
            ),
            Severity::Warning => tracing::warn!(
                target: "agenthost::alert", channel, kind, plugin, version, conversation,
                count, fields, "{message}"
            ),
            Severity::Critical => tracing::error!(
                target: "agenthost::alert", channel, kind, plugin, version, conversation,
                count, fields, "{message}"
            ),
        }
        Ok(())
    }
}
