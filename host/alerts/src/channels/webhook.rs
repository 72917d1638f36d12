//! The `webhook` channel: the alert as JSON, POSTed to a URL
//! (`hook=webhook:https://example/hook`).

use serde::Serialize;

use crate::alert::Alert;
use crate::channel::{AlertChannel, ChannelError};
use crate::channels::{classify, network_error};
use crate::config::{CHANNELS_VAR, ChannelSpec, ConfigError};

pub struct WebhookChannel {
    http: reqwest::Client,
    url: String,
}

/// The JSON body: the alert's fields plus its text rendering.
#[derive(Serialize)]
struct Payload<'a> {
    #[serde(flatten)]
    alert: &'a Alert,
    /// `(×7 in 5 min)` when coalesced.
    count_label: Option<String>,
    /// The same text a chat channel would show.
    text: String,
}

impl WebhookChannel {
    pub fn new(http: reqwest::Client, url: impl Into<String>) -> WebhookChannel {
        WebhookChannel {
            http,
            url: url.into(),
        }
    }

    pub(crate) fn from_spec(
        http: reqwest::Client,
        spec: &ChannelSpec,
    ) -> Result<WebhookChannel, ConfigError> {
        if reqwest::Url::parse(&spec.target).map(|u| u.scheme() == "http" || u.scheme() == "https")
            != Ok(true)
        {
            return Err(ConfigError::new(
                CHANNELS_VAR,
                format!(
                    "webhook channel `{}` needs an http(s) URL, e.g. `{}=webhook:https://host/path`",
                    spec.name, spec.name
                ),
            ));
        }
        Ok(WebhookChannel::new(http, spec.target.clone()))
    }
}

#[async_trait::async_trait]
impl AlertChannel for WebhookChannel {
    async fn send(&self, alert: &Alert) -> Result<(), ChannelError> {
        let payload = Payload {
            alert,
            count_label: alert.count_label(),
            text: alert.render_text(),
        };
        let response = self
            .http
            .post(&self.url)
            .json(&payload)
            .send()
            .await
            .map_err(|e| network_error("webhook", &e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        classify("webhook", status, &headers, &body)
    }
}
