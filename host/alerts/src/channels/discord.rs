//! The `discord` channel: a message posted by the bot to one Discord channel
//! (`ops=discord:123456789`) through `POST {base}/api/v10/channels/{id}/messages`.

use serde_json::json;

use crate::alert::Alert;
use crate::channel::{AlertChannel, ChannelError};
use crate::channels::{classify, network_error};
use crate::config::{
    CHANNELS_VAR, ChannelSpec, ConfigError, DISCORD_TOKEN_VAR, DiscordConfig, Secret,
};

/// Discord's limit on a message's `content`, characters (counted here in UTF-16 units,
/// which is never fewer than characters).
pub const MAX_CONTENT_CHARS: usize = 2000;
/// Appended to content cut to fit [`MAX_CONTENT_CHARS`].
pub const TRUNCATED_MARKER: &str = "… (truncated)";

pub struct DiscordChannel {
    http: reqwest::Client,
    /// The full messages URL for this channel.
    url: String,
    token: Secret,
}

impl DiscordChannel {
    pub fn new(http: reqwest::Client, api_base: &str, channel_id: &str, token: Secret) -> Self {
        DiscordChannel {
            http,
            url: format!(
                "{}/api/v10/channels/{channel_id}/messages",
                api_base.trim_end_matches('/')
            ),
            token,
        }
    }

    pub(crate) fn from_spec(
        http: reqwest::Client,
        discord: &DiscordConfig,
        spec: &ChannelSpec,
    ) -> Result<DiscordChannel, ConfigError> {
        if spec.target.is_empty() || !spec.target.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConfigError::new(
                CHANNELS_VAR,
                format!(
                    "discord channel `{}` needs a numeric channel id, e.g. `{}=discord:123456789`",
                    spec.name, spec.name
                ),
            ));
        }
        let Some(token) = discord.token.clone() else {
            return Err(ConfigError::new(
                DISCORD_TOKEN_VAR,
                format!("required by discord alert channel `{}`", spec.name),
            ));
        };
        Ok(DiscordChannel::new(
            http,
            &discord.api_base,
            &spec.target,
            token,
        ))
    }
}

/// `text` cut to Discord's limit with a visible marker; unchanged if it fits.
pub fn fit_content(text: &str) -> String {
    if text.encode_utf16().count() <= MAX_CONTENT_CHARS {
        return text.to_owned();
    }
    let budget = MAX_CONTENT_CHARS - TRUNCATED_MARKER.encode_utf16().count();
    let mut used = 0;
    let mut out = String::with_capacity(MAX_CONTENT_CHARS * 2);
    for c in text.chars() {
        used += c.len_utf16();
        if used > budget {
            break;
        }
        out.push(c);
    }
    out.push_str(TRUNCATED_MARKER);
    out
}

#[async_trait::async_trait]
impl AlertChannel for DiscordChannel {
    async fn send(&self, alert: &Alert) -> Result<(), ChannelError> {
        // No pings: alert text can carry plugin- or lead-supplied words like `@everyone`.
        let body = json!({
            "content": fit_content(&alert.render_text()),
            "allowed_mentions": { "parse": [] },
        });
        let response = self
            .http
            .post(&self.url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Bot {}", self.token.expose()),
            )
            .json(&body)
            .send()
            .await
            .map_err(|e| network_error("discord", &e.without_url()))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        classify("discord", status, &headers, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_long_content_with_a_marker() {
        assert_eq!(fit_content("short"), "short");
        let exact = "x".repeat(MAX_CONTENT_CHARS);
        assert_eq!(fit_content(&exact), exact);
        let long = "é".repeat(5000);
        let fitted = fit_content(&long);
        assert!(fitted.ends_with(TRUNCATED_MARKER));
        assert_eq!(fitted.chars().count(), MAX_CONTENT_CHARS);
        let emoji = "🚨".repeat(3000);
        let fitted = fit_content(&emoji);
        assert!(fitted.encode_utf16().count() <= MAX_CONTENT_CHARS);
        assert!(fitted.ends_with(TRUNCATED_MARKER));
    }
}
