//! Messaging compliance the host enforces whatever a plugin does. Pure rules, no I/O: the
//! message path (ingest, worker commit, outbox) asks them and records the answers.
//!
//! # Layout
//! - `consent` — what an inbound text says about consent: carrier keywords, free-text
//!   revocations a reasonable person reads as "stop", HELP.
//! - `zones`   — the IANA time zones a phone number may be in, from libphonenumber's
//!   timezone data (`data/timezones.txt`).
//! - `quiet`   — quiet hours: whether an instant is inside the sending window in EVERY
//!   candidate zone, when the window next opens, when it closes.
//! - `lint`    — smart punctuation normalised to GSM-7 where meaning is kept.
//!
//! Not legal advice: `docs/compliance.md` says which settings are the operator's to decide.

pub mod consent;
pub mod lint;
pub mod quiet;
pub mod zones;

pub use consent::{Consent, classify};
pub use quiet::{QuietHours, QuietHoursError};
pub use zones::{ZoneMap, Zones};
