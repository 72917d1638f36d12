//! One HTTP attempt against one provider: build the provider's wire request, send it with
//! the remaining time as its timeout, and classify the answer. Each wire format lives in
//! its own module.

mod anthropic;
mod gemini;
mod openai;

use std::time::Duration;

use agenthost_runtime::CompletionRequest;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::config::{ProviderConfig, ProviderKind};

/// The longest provider error body quoted in an error message, in bytes.
const MAX_ERROR_BODY_BYTES: usize = 300;
/// A `Retry-After` longer than this is treated as this (the deadline caps it anyway).
const MAX_RETRY_AFTER_SECS: u64 = 3_600;

/// A request in a provider's wire format.
pub(crate) struct WireRequest {
    pub url: String,
    /// Header name and value; the auth header carries the key.
    pub headers: Vec<(&'static str, String)>,
    pub body: serde_json::Value,
}

/// What a provider answered, in our terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub text: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AttemptError {
    #[error("rate limited (HTTP 429): {message}")]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("server error (HTTP {status}): {message}")]
    Server {
        status: u16,
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("request timed out")]
    Timeout,
    #[error("transport error: {0}")]
    Transport(String),
    #[error("request rejected (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("unreadable response: {0}")]
    BadResponse(String),
}

impl AttemptError {
    /// 429, 5xx, timeouts and transport errors are worth retrying on the same provider.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. } | Self::Server { .. } | Self::Timeout | Self::Transport(_)
        )
    }

    /// Whether this says the provider is unhealthy. Other 4xx (bad request, too long)
    /// are the request's fault: the provider answered, so they count as health.
    pub fn counts_against_breaker(&self) -> bool {
        match self {
            Self::Rejected { status, .. } => matches!(status, 401 | 403),
            _ => true,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The label used in `agenthost_llm_attempts_total{outcome}`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server_error",
            Self::Timeout => "timeout",
            Self::Transport(_) => "transport_error",
            Self::Rejected { .. } => "rejected",
            Self::BadResponse(_) => "bad_response",
        }
    }
}

/// Builds `kind`'s wire request for `request`.
pub(crate) fn build(
    kind: ProviderKind,
    config: &ProviderConfig,
    request: &CompletionRequest,
) -> WireRequest {
    match kind {
        ProviderKind::Anthropic => anthropic::build(config, request),
        ProviderKind::OpenAi => openai::build(config, request),
        ProviderKind::Gemini => gemini::build(config, request),
    }
}

fn parse(kind: ProviderKind, body: &[u8]) -> Result<Reply, String> {
    match kind {
        ProviderKind::Anthropic => anthropic::parse(body),
        ProviderKind::OpenAi => openai::parse(body),
        ProviderKind::Gemini => gemini::parse(body),
    }
}

/// Sends one attempt, giving up after `timeout`.
pub(crate) async fn send(
    client: &reqwest::Client,
    kind: ProviderKind,
    config: &ProviderConfig,
    request: &CompletionRequest,
    timeout: Duration,
) -> Result<Reply, AttemptError> {
    let wire = build(kind, config, request);
    let mut builder = client.post(&wire.url).timeout(timeout).json(&wire.body);
    for (name, value) in &wire.headers {
        builder = builder.header(*name, value);
    }
    let key = config.api_key.expose();
    let response = builder
        .send()
        .await
        .map_err(|e| classify_transport(&e, key))?;
    let status = response.status();
    let retry_after = parse_retry_after(response.headers());
    let body = response
        .bytes()
        .await
        .map_err(|e| classify_transport(&e, key))?;
    if status.is_success() {
        return parse(kind, &body).map_err(AttemptError::BadResponse);
    }
    let message = error_message(&body, key);
    Err(match status {
        StatusCode::TOO_MANY_REQUESTS => AttemptError::RateLimited {
            retry_after,
            message,
        },
        s if s.is_server_error() => AttemptError::Server {
            status: s.as_u16(),
            retry_after,
            message,
        },
        s => AttemptError::Rejected {
            status: s.as_u16(),
            message,
        },
    })
}

fn classify_transport(e: &reqwest::Error, key: &str) -> AttemptError {
    if e.is_timeout() {
        AttemptError::Timeout
    } else {
        // reqwest's message names the URL; no provider puts the key there (Gemini's goes
        // in a header), but scrub it anyway.
        AttemptError::Transport(redact(&error_chain(e), key))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// `Retry-After` in whole seconds (the form LLM providers send); HTTP dates are ignored.
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(MAX_RETRY_AFTER_SECS)))
}

/// A provider's error body, shortened and with the key scrubbed, for error messages.
fn error_message(body: &[u8], key: &str) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut end = text.len().min(MAX_ERROR_BODY_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut short = text[..end].to_owned();
    if end < text.len() {
        short.push('…');
    }
    if short.is_empty() {
        short.push_str("(empty body)");
    }
    redact(&short, key)
}

fn redact(s: &str, key: &str) -> String {
    if key.is_empty() {
        s.to_owned()
    } else {
        s.replace(key, "<redacted>")
    }
}

fn text_or_missing(text: Option<String>, what: &str) -> Result<String, String> {
    text.ok_or_else(|| format!("response has no {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_shortened_and_scrubbed() {
        let long = "x".repeat(1_000);
        let m = error_message(long.as_bytes(), "k");
        assert!(m.len() <= MAX_ERROR_BODY_BYTES + '…'.len_utf8());
        assert_eq!(error_message(b"bad key sk-1", "sk-1"), "bad key <redacted>");
        assert_eq!(error_message(b"", "k"), "(empty body)");
    }

    #[test]
    fn only_transient_errors_are_retried() {
        assert!(
            AttemptError::Server {
                status: 529,
                retry_after: None,
                message: String::new()
            }
            .retryable()
        );
        let bad = AttemptError::Rejected {
            status: 400,
            message: String::new(),
        };
        assert!(!bad.retryable());
        assert!(!bad.counts_against_breaker());
        let auth = AttemptError::Rejected {
            status: 401,
            message: String::new(),
        };
        assert!(auth.counts_against_breaker());
    }
}
