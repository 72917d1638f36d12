//! Twilio for the host: proving inbound webhooks came from Twilio, and sending outbound SMS
//! through Twilio's REST API with every failure sorted into "retry later" or "never retry".
//!
//! # Layout
//! - `signature` — `X-Twilio-Signature`: compute and constant-time verify.
//! - `settings`  — the Twilio section of the configuration ([`TwilioSettings`], [`VARS`]).
//! - `client`    — `TwilioClient::send` (`POST …/Messages.json`), its config and `SendError`.
//! - `fake`      — (feature `fake`) `FakeTwilio`, a loopback Messages API for tests.
//!
//! Nothing here knows about queues, storage or plugins: the outbox decides *when* to send
//! and what to do with a [`SendError`]; this crate only says what Twilio answered and what
//! that means. The auth token is never logged or `Debug`-printed.

pub mod client;
#[cfg(feature = "fake")]
pub mod fake;
pub mod settings;
pub mod signature;

pub use client::{
    DEFAULT_API_BASE, MAX_VALIDITY_PERIOD_SECS, MessageStatus, SendError, SendOptions, SentMessage,
    TwilioClient, TwilioConfig, TwilioConfigError,
};
#[cfg(feature = "fake")]
pub use fake::{FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN, FakeTwilio, RecordedSms};
pub use settings::{TwilioSettings, VARS};
