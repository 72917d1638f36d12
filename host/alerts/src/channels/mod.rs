//! The built-in channel kinds, one file each, plus the HTTP answer classification they
//! share.
//!
//! - `discord` — the Discord bot API (`POST /api/v10/channels/{id}/messages`).
//! - `webhook` — a generic JSON POST of the alert to a URL.
//! - `log`     — the host's log, at a level chosen by severity.

pub mod discord;
pub mod log;
pub mod webhook;

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::channel::ChannelError;

/// Longest error-body excerpt kept in a failure message, characters.
const MAX_ERROR_BODY_CHARS: usize = 300;

/// A `reqwest` failure before any answer: always worth retrying.
pub(crate) fn network_error(target: &str, e: &reqwest::Error) -> ChannelError {
    ChannelError::Transient {
        retry_after: None,
        message: format!("{target}: request failed: {e}"),
    }
}

/// Classifies an HTTP answer: 2xx ok; 429 transient with the wait from the body's
/// `retry_after` (seconds, float: Discord's form) or the `Retry-After` header; 408 and
/// 5xx transient; any other status permanent.
pub(crate) fn classify(
    target: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
) -> Result<(), ChannelError> {
    if status.is_success() {
        return Ok(());
    }
    let excerpt: String = body.chars().take(MAX_ERROR_BODY_CHARS).collect();
    let message = format!("{target} answered {status}: {excerpt}");
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry_after = body_retry_after(body).or_else(|| header_retry_after(headers));
        return Err(ChannelError::Transient {
            retry_after,
            message,
        });
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return Err(ChannelError::Transient {
            retry_after: header_retry_after(headers),
            message,
        });
    }
    Err(ChannelError::Permanent(message))
}

fn seconds(value: f64) -> Option<Duration> {
    (value.is_finite() && value >= 0.0).then(|| Duration::from_secs_f64(value.min(86_400.0)))
}

fn body_retry_after(body: &str) -> Option<Duration> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    seconds(value.get("retry_after")?.as_f64()?)
}

fn header_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?;
    seconds(text.trim().parse::<f64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn classifies_answers() {
        let none = HeaderMap::new();
        assert_eq!(classify("t", StatusCode::NO_CONTENT, &none, ""), Ok(()));
        let Err(ChannelError::Transient { retry_after, .. }) = classify(
            "t",
            StatusCode::TOO_MANY_REQUESTS,
            &none,
            r#"{"retry_after": 0.3, "global": false}"#,
        ) else {
            panic!("429 is transient")
        };
        assert_eq!(retry_after, Some(Duration::from_millis(300)));
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        let Err(ChannelError::Transient { retry_after, .. }) =
            classify("t", StatusCode::TOO_MANY_REQUESTS, &headers, "")
        else {
            panic!("429 is transient")
        };
        assert_eq!(retry_after, Some(Duration::from_secs(2)));
        assert!(matches!(
            classify("t", StatusCode::BAD_GATEWAY, &none, ""),
            Err(ChannelError::Transient { .. })
        ));
        assert!(matches!(
            classify("t", StatusCode::FORBIDDEN, &none, "no"),
            Err(ChannelError::Permanent(_))
        ));
    }
}
