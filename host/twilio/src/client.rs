//! Outbound SMS through Twilio's REST API (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`)
//! and the classification of every way a send can fail into "retry later" or "never retry".

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Deserialize;

/// Twilio's production API origin.
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";

/// How long one send may take, connect to last byte, unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Twilio error codes answered with a 4xx that still must not drop the message, because
/// retrying later can succeed without anything about the message changing.
///
/// - 20429: too many requests (Twilio's API rate limit; normally a 429 anyway).
/// - 21611: the `From` number's outbound queue is full; it drains.
/// - 14107: SMS send rate limit exceeded (trial/sandbox senders); it resets.
const RETRYABLE_4XX_CODES: &[i64] = &[20429, 21611, 14107];

/// Twilio error codes answered with a 4xx that mean the *sender* side is misconfigured
/// (account, `From` number, Messaging Service), not that the message is bad. Like 401/403
/// they are fixed by an operator, after which the same message goes through, so they are
/// [`SendError::Transient`].
///
/// - 20003: authentication failed (wrong account sid or auth token).
/// - 20404: the account (or Messages resource) was not found.
/// - 21212: the `From` number is invalid.
/// - 21606: the `From` number is not SMS-capable / not on this account.
/// - 21659: the `From` number is not a Twilio number.
/// - 21660: `From` does not belong to this account.
/// - 21701, 21703, 21704: the Messaging Service sid is invalid, inactive or has no senders.
const SENDER_CONFIG_CODES: &[i64] = &[
    20003, 20404, 21212, 21606, 21659, 21660, 21701, 21703, 21704,
];

/// Where and as whom to send. The auth token never appears in `Debug` output.
#[derive(Clone)]
pub struct TwilioConfig {
    /// API origin without a trailing path: [`DEFAULT_API_BASE`] in production, a loopback
    /// fake in tests.
    pub api_base: String,
    /// The account sending (`AC` + 32 hex digits); also the basic-auth user name.
    pub account_sid: String,
    /// The account's auth token; the basic-auth password. Secret.
    pub auth_token: String,
    /// When set, messages go out through this Messaging Service (`MG…`) and `From` is not
    /// sent: the service picks the sender from its pool.
    pub messaging_service_sid: Option<String>,
    /// Whole-request timeout for one send.
    pub timeout: Duration,
}

impl TwilioConfig {
    /// Production defaults for an account: Twilio's API, no Messaging Service,
    /// [`DEFAULT_TIMEOUT`].
    pub fn new(account_sid: impl Into<String>, auth_token: impl Into<String>) -> Self {
        Self {
            api_base: DEFAULT_API_BASE.to_owned(),
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            messaging_service_sid: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Checks the config before any request is made, naming the bad field.
    pub fn validate(&self) -> Result<(), TwilioConfigError> {
        let base = self.api_base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(TwilioConfigError::ApiBase(self.api_base.clone()));
        }
        if !is_sid(&self.account_sid, "AC") {
            return Err(TwilioConfigError::AccountSid(self.account_sid.clone()));
        }
        if self.auth_token.trim().is_empty() {
            return Err(TwilioConfigError::AuthTokenEmpty);
        }
        if let Some(sid) = &self.messaging_service_sid
            && !is_sid(sid, "MG")
        {
            return Err(TwilioConfigError::MessagingServiceSid(sid.clone()));
        }
        if self.timeout.is_zero() {
            return Err(TwilioConfigError::ZeroTimeout);
        }
        Ok(())
    }
}

impl fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("api_base", &self.api_base)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("messaging_service_sid", &self.messaging_service_sid)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Twilio sids are a two-letter prefix and 32 hex digits.
fn is_sid(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// A [`TwilioConfig`] that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum TwilioConfigError {
    #[error("twilio api base {0:?} is not an http(s) url")]
    ApiBase(String),
    #[error("twilio account sid {0:?} is not AC followed by 32 hex digits")]
    AccountSid(String),
    #[error("twilio auth token is empty")]
    AuthTokenEmpty,
    #[error("twilio messaging service sid {0:?} is not MG followed by 32 hex digits")]
    MessagingServiceSid(String),
    #[error("twilio timeout is zero")]
    ZeroTimeout,
    #[error("twilio http client could not be built: {0}")]
    Http(#[source] reqwest::Error),
}

/// Per-message send parameters beyond the recipient, sender and body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendOptions {
    /// `ValidityPeriod`: seconds the message may wait in Twilio's queue before it is
    /// dropped instead of sent (1..=36000; clamped). So a text meant for business hours
    /// cannot be delivered after them.
    pub validity_period_secs: Option<u32>,
    /// `StatusCallback`: where Twilio posts this message's delivery status.
    pub status_callback: Option<String>,
}

/// Twilio's bounds on `ValidityPeriod`.
pub const MAX_VALIDITY_PERIOD_SECS: u32 = 36_000;

/// A message Twilio accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// Twilio's id for the message (`SM…`/`MM…`): the handle for status callbacks.
    pub sid: String,
    /// Status at acceptance, normally [`MessageStatus::Queued`] (or `Accepted` with a
    /// Messaging Service).
    pub status: MessageStatus,
}

/// A Message resource's `status`, per Twilio's API spec (`message_enum_status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageStatus {
    Queued,
    Sending,
    Sent,
    Failed,
    Delivered,
    Undelivered,
    Receiving,
    Received,
    Accepted,
    Scheduled,
    Read,
    PartiallyDelivered,
    Canceled,
    /// A value this crate does not know yet, kept verbatim.
    Other(String),
}

impl MessageStatus {
    /// Twilio's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Receiving => "receiving",
            Self::Received => "received",
            Self::Accepted => "accepted",
            Self::Scheduled => "scheduled",
            Self::Read => "read",
            Self::PartiallyDelivered => "partially_delivered",
            Self::Canceled => "canceled",
            Self::Other(s) => s,
        }
    }

    /// Parses Twilio's spelling; unknown values become [`MessageStatus::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "queued" => Self::Queued,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            "delivered" => Self::Delivered,
            "undelivered" => Self::Undelivered,
            "receiving" => Self::Receiving,
            "received" => Self::Received,
            "accepted" => Self::Accepted,
            "scheduled" => Self::Scheduled,
            "read" => Self::Read,
            "partially_delivered" => Self::PartiallyDelivered,
            "canceled" => Self::Canceled,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a send did not produce a [`SentMessage`], sorted by what the caller must do.
///
/// The rule: **`Permanent` means "do not send this message again"** — retrying cannot
/// succeed, or (for an accepted-but-unreadable answer) could send it twice. Everything
/// else is `Transient`: keep the message and retry with backoff.
///
/// Authentication and authorization failures (HTTP 401/403, and the 4xx codes that mean
/// the account, `From` number or Messaging Service is misconfigured) are deliberately
/// `Transient`: they say nothing about the message, every message would fail the same
/// way, and an operator fixing the token or sender makes the same message go through.
/// Classing them permanent would silently drop every outbound SMS during a credential
/// rotation. Callers should alert when transient failures persist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Twilio refused this message for a reason retrying will not change (invalid `To`
    /// 21211, recipient opted out with STOP 21610, not a mobile number 21614, no
    /// permission for the region 21408, …).
    #[error(
        "twilio refused the message permanently (http {http_status}, code {code:?}): {message}"
    )]
    Permanent {
        /// Twilio's error code, when the answer carried one.
        code: Option<i64>,
        /// Twilio's error message, or what was wrong with the answer.
        message: String,
        /// The HTTP status Twilio answered.
        http_status: u16,
    },
    /// The send may succeed later: rate limiting (429), Twilio-side errors (5xx),
    /// timeouts, connection failures, and auth/config problems an operator must fix.
    #[error("twilio send failed, retry later: {message}")]
    Transient {
        /// What went wrong, including the HTTP status and Twilio code when there was one.
        message: String,
        /// How long Twilio asked us to wait (`Retry-After`), if it did.
        retry_after: Option<Duration>,
        /// Whether Twilio may have accepted the message anyway: the request left and no
        /// clear refusal came back (a timeout, a connection cut mid-answer, a 5xx). Such a
        /// message is looked up ([`TwilioClient::find_sent`]) before it is sent again.
        maybe_sent: bool,
    },
}

impl SendError {
    /// Whether the message must not be sent again.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent { .. })
    }

    /// The wait Twilio asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Transient { retry_after, .. } => *retry_after,
            Self::Permanent { .. } => None,
        }
    }
}

/// Twilio's JSON error body: `{"code":21211,"message":"…","more_info":"…","status":400}`.
#[derive(Debug, Deserialize)]
struct TwilioErrorBody {
    code: Option<i64>,
    message: Option<String>,
    more_info: Option<String>,
}

/// The parts of a Message resource the host needs.
#[derive(Debug, Deserialize)]
struct MessageBody {
    sid: Option<String>,
    status: Option<String>,
}

/// One page of the Messages list (`{"messages": [...], ...}`).
#[derive(Debug, Deserialize)]
struct MessagePage {
    #[serde(default)]
    messages: Vec<ListedMessage>,
}

#[derive(Debug, Deserialize)]
struct ListedMessage {
    sid: Option<String>,
    status: Option<String>,
    body: Option<String>,
    direction: Option<String>,
    /// RFC 2822, e.g. `Thu, 24 Aug 2023 05:01:45 +0000`.
    date_created: Option<String>,
}

/// Unix epoch ms of an RFC 2822 date as Twilio writes them
/// (`Thu, 24 Aug 2023 05:01:45 +0000`); `None` if it is not one.
pub fn parse_rfc2822_ms(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, zone] = parts.as_slice() else {
        return None;
    };
    let day: i64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as i64
        + 1;
    let year: i64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let offset: i64 = zone[1..].parse().ok()?;
    let offset_secs = sign * ((offset / 100) * 3600 + (offset % 100) * 60);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + m * 60 + sec - offset_secs) * 1000)
}

/// Sends SMS through one Twilio account. Cheap to clone; clones share one connection pool.
#[derive(Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    config: TwilioConfig,
    /// `{api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, built once.
    messages_url: String,
}

impl fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TwilioClient {
    /// Validates `config` and builds the HTTP client.
    pub fn new(config: TwilioConfig) -> Result<Self, TwilioConfigError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(concat!("agenthost-twilio/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(TwilioConfigError::Http)?;
        let messages_url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            config.api_base.trim_end_matches('/'),
            config.account_sid
        );
        Ok(Self {
            http,
            config,
            messages_url,
        })
    }

    /// The config this client was built with (its `Debug` redacts the token).
    pub fn config(&self) -> &TwilioConfig {
        &self.config
    }

    /// Looks for a message to `to` (from `from`, unless a Messaging Service sends) with
    /// exactly `body`, created at or after `since_ms` (Unix epoch ms): the check before a
    /// message whose earlier attempt may have reached Twilio is sent again. Reads the
    /// newest page of the account's Messages list (`GET Messages.json?To=&From=`).
    pub async fn find_sent(
        &self,
        to: &str,
        from: &str,
        body: &str,
        since_ms: i64,
    ) -> Result<Option<SentMessage>, SendError> {
        let mut query: Vec<(&str, &str)> = vec![("To", to)];
        if self.config.messaging_service_sid.is_none() {
            query.push(("From", from));
        }
        query.push(("PageSize", "50"));
        let response = self
            .http
            .get(&self.messages_url)
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .header(reqwest::header::ACCEPT, "application/json")
            .query(&query)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let retry_after = parse_retry_after(response.headers());
        let bytes = response.bytes().await.map_err(transport_error)?;
        if !status.is_success() {
            // A lookup that fails decides nothing: the caller tries again later.
            return Err(match classify(status, retry_after, &bytes) {
                SendError::Permanent { message, .. } => SendError::Transient {
                    message: format!("message lookup refused: {message}"),
                    retry_after,
                    maybe_sent: true,
                },
                transient => transient,
            });
        }
        let page: MessagePage =
            serde_json::from_slice(&bytes).map_err(|e| SendError::Transient {
                message: format!("message lookup answer unreadable: {e}"),
                retry_after: None,
                maybe_sent: true,
            })?;
        Ok(page
            .messages
            .into_iter()
            .filter(|m| m.body.as_deref() == Some(body))
            .filter(|m| {
                m.direction
                    .as_deref()
                    .is_none_or(|d| d.starts_with("outbound"))
            })
            .filter(|m| {
                m.date_created
                    .as_deref()
                    .and_then(parse_rfc2822_ms)
                    .is_none_or(|created| created >= since_ms)
            })
            .find_map(|m| {
                Some(SentMessage {
                    sid: m.sid.filter(|s| !s.is_empty())?,
                    status: MessageStatus::parse(m.status.as_deref().unwrap_or("queued")),
                })
            }))
    }

    /// Sends `body` to `to`. `from` is the sender number; it is ignored (not sent) when a
    /// Messaging Service is configured, which then picks the sender.
    ///
    /// A timeout or dropped connection after the request left is ambiguous — Twilio may
    /// have accepted the message — and is reported as [`SendError::Transient`] with
    /// `maybe_sent`; Twilio's Messages API has no idempotency key, so the caller looks the
    /// message up ([`TwilioClient::find_sent`]) before sending it again.
    pub async fn send(&self, to: &str, from: &str, body: &str) -> Result<SentMessage, SendError> {
        self.send_with(to, from, body, &SendOptions::default())
            .await
    }

    /// [`TwilioClient::send`] with a `ValidityPeriod` and a `StatusCallback`.
    pub async fn send_with(
        &self,
        to: &str,
        from: &str,
        body: &str,
        options: &SendOptions,
    ) -> Result<SentMessage, SendError> {
        let validity = options
            .validity_period_secs
            .map(|v| v.clamp(1, MAX_VALIDITY_PERIOD_SECS).to_string());
        let mut form: Vec<(&str, &str)> = vec![("To", to)];
        match &self.config.messaging_service_sid {
            Some(sid) => form.push(("MessagingServiceSid", sid)),
            None => form.push(("From", from)),
        }
        form.push(("Body", body));
        if let Some(v) = &validity {
            form.push(("ValidityPeriod", v));
        }
        if let Some(url) = &options.status_callback {
            form.push(("StatusCallback", url));
        }
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();

        let response = self
            .http
            .post(&self.messages_url)
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(encoded)
            .send()
            .await
            .map_err(transport_error)?;

        let status = response.status();
        let retry_after = parse_retry_after(response.headers());
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) if status.is_success() => {
                // Twilio accepted the message; we just could not read which sid it got.
                return Err(SendError::Permanent {
                    code: None,
                    message: format!(
                        "twilio accepted the message but its answer could not be read: {e}"
                    ),
                    http_status: status.as_u16(),
                });
            }
            Err(e) => return Err(transport_error(e)),
        };

        if status.is_success() {
            let sent = parse_sent(&bytes).ok_or_else(|| SendError::Permanent {
                code: None,
                message: "twilio accepted the message but its answer had no message sid".to_owned(),
                http_status: status.as_u16(),
            })?;
            tracing::debug!(sid = %sent.sid, status = %sent.status, "twilio accepted sms");
            return Ok(sent);
        }

        let error = classify(status, retry_after, &bytes);
        tracing::debug!(http_status = status.as_u16(), error = %error, "twilio refused sms");
        Err(error)
    }
}

fn parse_sent(bytes: &[u8]) -> Option<SentMessage> {
    let body: MessageBody = serde_json::from_slice(bytes).ok()?;
    let sid = body.sid.filter(|s| !s.is_empty())?;
    let status = MessageStatus::parse(body.status.as_deref().unwrap_or("queued"));
    Some(SentMessage { sid, status })
}

/// A failure before any HTTP status arrived: always worth retrying. Only a failure to
/// connect proves the request never reached Twilio.
fn transport_error(e: reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let maybe_sent = !e.is_connect();
    SendError::Transient {
        message: format!("twilio {what}: {}", e.without_url()),
        retry_after: None,
        maybe_sent,
    }
}

/// `Retry-After` as delay-seconds (the form Twilio sends). HTTP-dates are ignored.
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let secs: f64 = value.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// Sorts a non-2xx answer into [`SendError`]. See its docs for the rule.
fn classify(status: StatusCode, retry_after: Option<Duration>, body: &[u8]) -> SendError {
    let parsed: Option<TwilioErrorBody> = serde_json::from_slice(body).ok();
    let code = parsed.as_ref().and_then(|b| b.code);
    let twilio_message = parsed.as_ref().and_then(|b| b.message.clone());
    let message = match (&twilio_message, code) {
        (Some(m), _) => m.clone(),
        (None, _) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                format!("http {} with an empty body", status.as_u16())
            } else {
                format!("http {}: {}", status.as_u16(), truncate(text, 200))
            }
        }
    };
    let more_info = parsed
        .as_ref()
        .and_then(|b| b.more_info.as_deref())
        .map(|m| format!(" ({m})"))
        .unwrap_or_default();
    let transient = |why: &str| SendError::Transient {
        message: format!(
            "{why} (http {}, code {}): {message}{more_info}",
            status.as_u16(),
            code.map_or_else(|| "none".to_owned(), |c| c.to_string())
        ),
        retry_after,
        // A 5xx answers a request Twilio received and may have acted on.
        maybe_sent: status.is_server_error(),
    };

    let s = status.as_u16();
    if status == StatusCode::TOO_MANY_REQUESTS {
        return transient("twilio is rate limiting");
    }
    if status.is_server_error() {
        return transient("twilio had a server error");
    }
    if s == 401 || s == 403 {
        return transient("twilio rejected the credentials; fix the account sid or auth token");
    }
    if s == 408 {
        return transient("twilio timed out reading the request");
    }
    if status.is_client_error() {
        match code {
            Some(c) if RETRYABLE_4XX_CODES.contains(&c) => {
                return transient("twilio asked to slow down");
            }
            Some(c) if SENDER_CONFIG_CODES.contains(&c) => {
                return transient(
                    "twilio rejected the sender configuration; an operator must fix it",
                );
            }
            Some(_) => {}
            // Twilio answers its own 404s with a JSON error (20404). A bare 404 did not
            // come from the Messages resource: a wrong api_base or a proxy, i.e. config.
            None if s == 404 => return transient("the messages url was not found; check api_base"),
            None => {}
        }
        return SendError::Permanent {
            code,
            message,
            http_status: s,
        };
    }
    // 1xx/3xx: reqwest follows redirects, so these are unexpected; retry.
    transient("twilio answered with an unexpected status")
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_dates_parse_to_epoch_ms() {
        assert_eq!(
            parse_rfc2822_ms("Thu, 24 Aug 2023 05:01:45 +0000"),
            Some(1_692_853_305_000)
        );
        assert_eq!(
            parse_rfc2822_ms("Thu, 24 Aug 2023 00:01:45 -0500"),
            Some(1_692_853_305_000)
        );
        assert_eq!(
            parse_rfc2822_ms("Sat, 01 Jan 2000 00:00:00 +0000"),
            Some(946_684_800_000)
        );
        assert_eq!(parse_rfc2822_ms("yesterday"), None);
        assert_eq!(parse_rfc2822_ms("Thu, 24 Foo 2023 05:01:45 +0000"), None);
    }

    fn config() -> TwilioConfig {
        TwilioConfig::new("AC0123456789abcdef0123456789abcdef", "s3cr3t-token")
    }

    #[test]
    fn debug_redacts_the_token() {
        let c = config();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t-token"), "{shown}");
        assert!(shown.contains("<redacted>"));
        let client = TwilioClient::new(c).expect("valid config");
        assert!(!format!("{client:?}").contains("s3cr3t-token"));
    }

    #[test]
    fn validate_names_the_bad_field() {
        let mut c = config();
        c.account_sid = "AC123".into();
        assert!(matches!(
            c.validate(),
            Err(TwilioConfigError::AccountSid(_))
        ));
        let mut c = config();
        c.auth_token = " ".into();
        assert!(matches!(
            c.validate(),
            Err(TwilioConfigError::AuthTokenEmpty)
        ));
        let mut c = config();
        c.api_base = "api.twilio.com".into();
        assert!(matches!(c.validate(), Err(TwilioConfigError::ApiBase(_))));
        let mut c = config();
        c.messaging_service_sid = Some("SM0123456789abcdef0123456789abcdef".into());
        assert!(matches!(
            c.validate(),
            Err(TwilioConfigError::MessagingServiceSid(_))
        ));
        let mut c = config();
        c.timeout = Duration::ZERO;
        assert!(matches!(c.validate(), Err(TwilioConfigError::ZeroTimeout)));
        assert!(config().validate().is_ok());
        assert_eq!(
            TwilioConfigError::AuthTokenEmpty.to_string(),
            "twilio auth token is empty"
        );
    }

    fn err_body(code: i64, status: u16) -> Vec<u8> {
        format!(
            r#"{{"code":{code},"message":"m{code}","more_info":"https://www.twilio.com/docs/errors/{code}","status":{status}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn classifies_twilio_errors() {
        for code in [21211, 21610, 21614, 21408] {
            let e = classify(StatusCode::BAD_REQUEST, None, &err_body(code, 400));
            assert_eq!(
                e,
                SendError::Permanent {
                    code: Some(code),
                    message: format!("m{code}"),
                    http_status: 400
                }
            );
        }
        let e = classify(StatusCode::NOT_FOUND, None, &err_body(20404, 404));
        assert!(!e.is_permanent(), "{e}");
        let e = classify(StatusCode::NOT_FOUND, None, &err_body(21608, 404));
        assert!(e.is_permanent());
        let e = classify(StatusCode::NOT_FOUND, None, b"<html>nope</html>");
        assert!(!e.is_permanent());
        let e = classify(StatusCode::BAD_REQUEST, None, b"");
        assert!(matches!(
            e,
            SendError::Permanent {
                code: None,
                http_status: 400,
                ..
            }
        ));
        for s in [401, 403, 408, 500, 502, 503] {
            let status = StatusCode::from_u16(s).expect("valid status");
            assert!(!classify(status, None, b"").is_permanent(), "{s}");
        }
        let e = classify(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(2)),
            &err_body(20429, 429),
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
        assert!(!classify(StatusCode::BAD_REQUEST, None, &err_body(21611, 400)).is_permanent());
        let e = classify(StatusCode::UNAUTHORIZED, None, &err_body(20003, 401));
        assert!(e.to_string().contains("20003"), "{e}");
    }

    #[test]
    fn parses_retry_after_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(parse_retry_after(&h), None);
        h.insert(RETRY_AFTER, "2".parse().expect("header"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, "0.5".parse().expect("header"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(500)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("header"),
        );
        assert_eq!(parse_retry_after(&h), None);
        h.insert(RETRY_AFTER, "-1".parse().expect("header"));
        assert_eq!(parse_retry_after(&h), None);
    }

    #[test]
    fn message_status_round_trips() {
        for s in [
            "queued",
            "accepted",
            "partially_delivered",
            "canceled",
            "weird",
        ] {
            assert_eq!(MessageStatus::parse(s).as_str(), s);
        }
        assert_eq!(
            MessageStatus::parse("weird"),
            MessageStatus::Other("weird".into())
        );
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("hi", 5), "hi");
    }
}
