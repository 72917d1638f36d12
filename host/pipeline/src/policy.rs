//! The send policy: what the outbox checks before every Twilio call, whatever the plugin
//! did. Consent (right before the call, again when a held message is released), quiet
//! hours in every zone the recipient may be in, the rolling frequency cap, the plugin's
//! pause after carriers filtered its texts, the brand's daily segments and the sender's
//! pace. A message that may not go now is HELD (back to `pending` until it may, not an
//! attempt) with the reason on the row.

use std::time::Duration;

use agenthost_compliance::QuietHours;
use agenthost_compliance::zones::{DEFAULT_FALLBACK, ZoneMap};
use chrono_tz::Tz;

/// Replies to an inbound text within this long are not "agent-initiated".
pub const DEFAULT_REPLY_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Agent-initiated texts per recipient per rolling 24 h (FL/OK/MD law caps at three).
pub const DEFAULT_FREQUENCY_CAP: u32 = 3;
/// Segments per minute per sender: what an unvetted 10DLC campaign is allowed.
pub const DEFAULT_SENDER_SEGMENTS_PER_MINUTE: u32 = 60;
/// Segments per UTC day per brand (T-Mobile's cap for a low-volume brand).
pub const DEFAULT_BRAND_DAILY_SEGMENTS: u64 = 2_000;
/// The share of the daily segments at which one warning is raised.
pub const BRAND_WARN_PERCENT: u64 = 80;
/// A released message waits up to this much past the window's opening, so a night's
/// backlog does not leave at 09:00:00 in one burst.
pub const RELEASE_JITTER_MS: i64 = 10 * 60_000;
/// Carrier filtering (Twilio error 30007) over this share of a plugin's finished texts in
/// the last hour, with at least `FILTERED_MIN_SAMPLE` of them, pauses its agent-initiated
/// sends for `FILTERED_PAUSE`.
pub const DEFAULT_FILTERED_RATE: f64 = 0.05;
pub const FILTERED_MIN_SAMPLE: i64 = 20;
pub const FILTERED_WINDOW_MS: i64 = 3_600_000;
pub const FILTERED_PAUSE: Duration = Duration::from_secs(6 * 3600);
/// The default texts of the host's own answers.
pub const DEFAULT_OPT_OUT_TEXT: &str =
    "You're unsubscribed and will get no more texts from us. Reply START to resubscribe.";
pub const DEFAULT_HELP_TEXT: &str = "This is an automated leasing assistant. A person can take over any time: just ask. Reply STOP to opt out.";

/// What the host itself answers to consent keywords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTexts {
    /// The one confirmation of an opt-out; `None` sends none (e.g. when Twilio's Advanced
    /// Opt-Out already confirms keywords).
    pub opt_out_confirmation: Option<String>,
    pub help: String,
}

impl Default for HostTexts {
    fn default() -> Self {
        HostTexts {
            opt_out_confirmation: Some(DEFAULT_OPT_OUT_TEXT.to_owned()),
            help: DEFAULT_HELP_TEXT.to_owned(),
        }
    }
}

pub use agenthost_core::{ConfigError, Var};

/// Every variable [`SendPolicy::from_lookup`] reads.
#[rustfmt::skip]
pub const VARS: &[Var] = &[
    Var { name: "AGENTHOST_QUIET_HOURS", secret: false, help: "hours agent-initiated texts may go out, in every time zone the recipient may be in (default 09:00-20:00)" },
    Var { name: "AGENTHOST_BUSINESS_TIMEZONE", secret: false, help: "the properties' IANA time zone, always one of a recipient's candidate zones (default America/Chicago)" },
    Var { name: "AGENTHOST_FALLBACK_TIMEZONES", secret: false, help: "zones for numbers the timezone data knows only by country, e.g. toll-free (default America/New_York,America/Chicago,America/Denver,America/Los_Angeles)" },
    Var { name: "AGENTHOST_REPLY_WINDOW_SECS", secret: false, help: "a text to a lead within this long of their inbound text is a reply, exempt from quiet hours and the frequency cap (default 900)" },
    Var { name: "AGENTHOST_FREQUENCY_CAP", secret: false, help: "agent-initiated texts per recipient per rolling 24 h, all agents together (default 3)" },
    Var { name: "AGENTHOST_SENDER_SEGMENTS_PER_MINUTE", secret: false, help: "SMS segments per minute per sender number or messaging service, across replicas (default 60)" },
    Var { name: "AGENTHOST_BRAND_DAILY_SEGMENTS", secret: false, help: "SMS segments per UTC day for the brand, one alert at 80%; past it texts wait for the next day (default 2000)" },
    Var { name: "AGENTHOST_FILTERED_RATE", secret: false, help: "share of a plugin's finished texts carriers may filter (error 30007) in an hour before its agent-initiated texts pause for 6 h (default 0.05)" },
    Var { name: "AGENTHOST_OPT_OUT_TEXT", secret: false, help: "the one confirmation sent after an opt-out; 'off' sends none, e.g. with Twilio Advanced Opt-Out (default: a short unsubscribed notice)" },
    Var { name: "AGENTHOST_HELP_TEXT", secret: false, help: "what the host answers to HELP (default: who is texting and how to stop)" },
];

#[derive(Debug, Clone)]
pub struct SendPolicy {
    pub quiet: QuietHours,
    /// Zones for numbers the timezone data knows only by their country (toll-free, ...).
    pub fallback_zones: Vec<Tz>,
    /// The business's own zone: always a candidate (a lead with an out-of-town number may
    /// well be here, looking at apartments).
    pub business_zone: Tz,
    pub reply_window: Duration,
    pub frequency_cap: u32,
    pub sender_segments_per_minute: u32,
    pub brand_daily_segments: u64,
    pub filtered_rate: f64,
    /// Where Twilio posts delivery statuses (`<public url>/twilio/status`).
    pub status_callback: Option<String>,
}

impl Default for SendPolicy {
    fn default() -> Self {
        SendPolicy {
            quiet: QuietHours::default(),
            fallback_zones: DEFAULT_FALLBACK
                .iter()
                .filter_map(|z| z.parse().ok())
                .collect(),
            business_zone: chrono_tz::America::Chicago,
            reply_window: DEFAULT_REPLY_WINDOW,
            frequency_cap: DEFAULT_FREQUENCY_CAP,
            sender_segments_per_minute: DEFAULT_SENDER_SEGMENTS_PER_MINUTE,
            brand_daily_segments: DEFAULT_BRAND_DAILY_SEGMENTS,
            filtered_rate: DEFAULT_FILTERED_RATE,
            status_callback: None,
        }
    }
}

impl SendPolicy {
    /// The section from the environment (any lookup; blank counts as unset), validated;
    /// errors name the variable. `status_callback` is the caller's to set.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(SendPolicy, HostTexts), ConfigError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let err = |var: &'static str, message: String| ConfigError { var, message };
        let mut p = SendPolicy::default();
        if let Some(v) = get("AGENTHOST_QUIET_HOURS") {
            p.quiet = v
                .parse()
                .map_err(|e| err("AGENTHOST_QUIET_HOURS", format!("{e}")))?;
        }
        let zone = |var: &'static str, v: &str| -> Result<Tz, ConfigError> {
            v.trim().parse::<Tz>().map_err(|_| {
                err(
                    var,
                    format!("{v:?} is not an IANA time zone like America/Chicago"),
                )
            })
        };
        if let Some(v) = get("AGENTHOST_BUSINESS_TIMEZONE") {
            p.business_zone = zone("AGENTHOST_BUSINESS_TIMEZONE", &v)?;
        }
        if let Some(v) = get("AGENTHOST_FALLBACK_TIMEZONES") {
            p.fallback_zones = v
                .split(',')
                .map(|z| zone("AGENTHOST_FALLBACK_TIMEZONES", z))
                .collect::<Result<_, _>>()?;
        }
        let number = |var: &'static str, min: u64| -> Result<Option<u64>, ConfigError> {
            get(var)
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .ok()
                        .filter(|n| *n >= min)
                        .ok_or_else(|| {
                            err(
                                var,
                                format!("{v:?} is not a whole number of at least {min}"),
                            )
                        })
                })
                .transpose()
        };
        if let Some(n) = number("AGENTHOST_REPLY_WINDOW_SECS", 0)? {
            p.reply_window = Duration::from_secs(n);
        }
        if let Some(n) = number("AGENTHOST_FREQUENCY_CAP", 1)? {
            p.frequency_cap = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = number("AGENTHOST_SENDER_SEGMENTS_PER_MINUTE", 1)? {
            p.sender_segments_per_minute = u32::try_from(n.min(60_000)).unwrap_or(60_000);
        }
        if let Some(n) = number("AGENTHOST_BRAND_DAILY_SEGMENTS", 1)? {
            p.brand_daily_segments = n;
        }
        if let Some(v) = get("AGENTHOST_FILTERED_RATE") {
            p.filtered_rate = v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r) && *r > 0.0)
                .ok_or_else(|| {
                    err(
                        "AGENTHOST_FILTERED_RATE",
                        format!("{v:?} is not a share between 0 and 1"),
                    )
                })?;
        }
        let mut texts = HostTexts::default();
        if let Some(v) = get("AGENTHOST_OPT_OUT_TEXT") {
            texts.opt_out_confirmation = (v.trim() != "off").then(|| v.trim().to_owned());
        }
        if let Some(v) = get("AGENTHOST_HELP_TEXT") {
            texts.help = v.trim().to_owned();
        }
        for (var, text) in [
            (
                "AGENTHOST_OPT_OUT_TEXT",
                texts.opt_out_confirmation.as_deref(),
            ),
            ("AGENTHOST_HELP_TEXT", Some(texts.help.as_str())),
        ] {
            if let Some(t) = text
                && t.chars().count() > 320
            {
                return Err(err(
                    var,
                    "must fit two SMS segments (320 characters)".into(),
                ));
            }
        }
        Ok((p, texts))
    }

    /// Every zone `to` may be in: the data's, and the business's own.
    pub fn zones_of(&self, to: &str) -> Vec<Tz> {
        let mut zones = ZoneMap::bundled().zones_of(to, &self.fallback_zones).zones;
        if !zones.contains(&self.business_zone) {
            zones.push(self.business_zone);
        }
        zones
    }

    /// Milliseconds of the sender's pace one segment costs.
    /// Milliseconds of the sender's pace one segment takes, rounded up so the pace never
    /// runs faster than the configured rate.
    pub fn segment_ms(&self) -> i64 {
        let per_minute = i64::from(self.sender_segments_per_minute.max(1));
        (60_000 + per_minute - 1) / per_minute
    }
}

/// A stable spread in `0..RELEASE_JITTER_MS` for `id`, so held rows leave over a few
/// minutes, each always at the same offset.
pub fn jitter_ms(id: &str) -> i64 {
    (agenthost_core::stable_hash(id) % RELEASE_JITTER_MS as u64) as i64
}

/// Twilio's message statuses ordered by how far along they are; callbacks only move a
/// message forward. Final ones rank 5 and up.
pub fn delivery_rank(status: &str) -> Option<i64> {
    Some(match status {
        "accepted" | "scheduled" => 1,
        "queued" => 2,
        "sending" => 3,
        "sent" => 4,
        "delivered" | "undelivered" | "failed" | "canceled" => 5,
        "read" => 6,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_business_zone_is_always_a_candidate() {
        let p = SendPolicy::default();
        let nyc = p.zones_of("+12125550100");
        assert_eq!(
            nyc,
            vec![chrono_tz::America::New_York, chrono_tz::America::Chicago]
        );
        assert_eq!(
            p.zones_of("+13125550100"),
            vec![chrono_tz::America::Chicago]
        );
        // Toll-free: the continental fallback (Chicago is among it).
        assert_eq!(p.zones_of("+18005550100").len(), 4);
    }

    #[test]
    fn the_section_parses_and_errors_name_the_variable() {
        let (p, texts) = SendPolicy::from_lookup(|k| {
            match k {
                "AGENTHOST_QUIET_HOURS" => Some("08:00-21:00"),
                "AGENTHOST_BUSINESS_TIMEZONE" => Some("America/New_York"),
                "AGENTHOST_FREQUENCY_CAP" => Some("5"),
                "AGENTHOST_OPT_OUT_TEXT" => Some("off"),
                _ => None,
            }
            .map(str::to_owned)
        })
        .unwrap();
        assert_eq!(p.frequency_cap, 5);
        assert_eq!(p.business_zone, chrono_tz::America::New_York);
        assert_eq!(texts.opt_out_confirmation, None);
        for (var, value) in [
            ("AGENTHOST_QUIET_HOURS", "20:00-09:00"),
            ("AGENTHOST_BUSINESS_TIMEZONE", "Chicago"),
            ("AGENTHOST_FALLBACK_TIMEZONES", "America/Chicago,Mars/Base"),
            ("AGENTHOST_FREQUENCY_CAP", "0"),
            ("AGENTHOST_SENDER_SEGMENTS_PER_MINUTE", "fast"),
            ("AGENTHOST_FILTERED_RATE", "2"),
        ] {
            let e = SendPolicy::from_lookup(|k| (k == var).then(|| value.to_owned())).unwrap_err();
            assert_eq!(e.var, var, "{e}");
        }
        assert!(VARS.iter().all(|v| v.name.starts_with("AGENTHOST_")));
    }

    #[test]
    fn statuses_only_move_forward() {
        let rank = |s| delivery_rank(s).unwrap();
        assert!(rank("queued") < rank("sent"));
        assert!(rank("sent") < rank("delivered"));
        assert!(rank("delivered") < rank("read"));
        assert_eq!(
            rank("undelivered"),
            rank("delivered"),
            "a final state is final"
        );
        assert_eq!(delivery_rank("bogus"), None);
        assert_eq!(SendPolicy::default().segment_ms(), 1_000);
        // Rounded up: 1,800 a minute is 33.3 ms, never 33 (which would be 1,818 a minute).
        let fast = SendPolicy {
            sender_segments_per_minute: 1_800,
            ..SendPolicy::default()
        };
        assert_eq!(fast.segment_ms(), 34);
        assert!((0..RELEASE_JITTER_MS).contains(&jitter_ms("a")));
        assert_eq!(jitter_ms("a"), jitter_ms("a"));
    }
}
