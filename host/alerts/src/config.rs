//! The alerts section of the host's configuration: named channel instances, routes from
//! alert kind to channels, and the dispatcher's knobs. Parsed once from a lookup function
//! (the environment in production, a map in tests); every variable read is in [`VARS`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub use agenthost_core::{ConfigError, Secret, Var};

pub const CHANNELS_VAR: &str = "AGENTHOST_ALERT_CHANNELS";
pub const ROUTES_VAR: &str = "AGENTHOST_ALERT_ROUTES";
pub const DISCORD_TOKEN_VAR: &str = "DISCORD_BOT_TOKEN";
pub const DISCORD_API_BASE_VAR: &str = "AGENTHOST_DISCORD_API_BASE";
pub const COALESCE_WINDOW_VAR: &str = "AGENTHOST_ALERT_COALESCE_WINDOW_SECS";
pub const MAX_PENDING_VAR: &str = "AGENTHOST_ALERT_MAX_PENDING";
pub const POLL_INTERVAL_VAR: &str = "AGENTHOST_ALERT_POLL_INTERVAL_MS";
pub const RETRY_BASE_VAR: &str = "AGENTHOST_ALERT_RETRY_BASE_MS";
pub const RETRY_CAP_VAR: &str = "AGENTHOST_ALERT_RETRY_CAP_MS";
pub const GIVE_UP_VAR: &str = "AGENTHOST_ALERT_GIVE_UP_AFTER_SECS";
pub const DEPENDENCY_DOWN_AFTER_VAR: &str = "AGENTHOST_DEPENDENCY_DOWN_AFTER_SECS";

/// Every variable the alerts section reads.
pub const VARS: &[Var] = &[
    Var {
        name: CHANNELS_VAR,
        secret: false,
        help: "named alert channels, `name=kind[:target]` comma list, e.g. \
               `ops=discord:123456789,hook=webhook:https://example/hook,log=log` \
               (default `log=log`; a `log` channel always exists unless redefined)",
    },
    Var {
        name: ROUTES_VAR,
        secret: false,
        help: "alert kind to channel names, `kind=name,name;…;*=name` (`*` = every other \
               kind; default `*=log`)",
    },
    Var {
        name: DISCORD_TOKEN_VAR,
        secret: true,
        help: "Discord bot token; required when a discord alert channel is configured",
    },
    Var {
        name: DISCORD_API_BASE_VAR,
        secret: false,
        help: "Discord API base URL (default https://discord.com)",
    },
    Var {
        name: COALESCE_WINDOW_VAR,
        secret: false,
        help: "identical alerts (kind, plugin, message) within this many seconds are \
               delivered once with a count (default 300)",
    },
    Var {
        name: MAX_PENDING_VAR,
        secret: false,
        help: "bound on undelivered alerts; past it the oldest info (then warning) ones are \
               shed, never critical (default 10000)",
    },
    Var {
        name: POLL_INTERVAL_VAR,
        secret: false,
        help: "how often the dispatcher looks for new alerts, ms (default 1000)",
    },
    Var {
        name: RETRY_BASE_VAR,
        secret: false,
        help: "first retry delay after a transient channel failure, ms (default 1000)",
    },
    Var {
        name: RETRY_CAP_VAR,
        secret: false,
        help: "longest retry delay, ms (default 300000)",
    },
    Var {
        name: GIVE_UP_VAR,
        secret: false,
        help: "a delivery still failing transiently after this many seconds is given up \
               (default 86400)",
    },
    Var {
        name: DEPENDENCY_DOWN_AFTER_VAR,
        secret: false,
        help: "a dependency (storage, queue, Twilio, an LLM provider) failing continuously \
               for this many seconds raises one dependency_down alert, and one \
               dependency_restored when it recovers; shorter failures raise nothing \
               (default 30)",
    },
];

/// One named channel instance: `ops=discord:123456789` is name `ops`, kind `discord`,
/// target `123456789`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    pub name: String,
    pub kind: String,
    /// Whatever follows the first `:` (a Discord channel id, a URL); empty if none.
    pub target: String,
}

/// Discord settings shared by every discord channel.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    pub api_base: String,
    pub token: Option<Secret>,
}

/// The parsed alerts section.
#[derive(Debug, Clone)]
pub struct AlertConfig {
    /// Named channel instances, in the order given.
    pub channels: Vec<ChannelSpec>,
    /// Alert kind → channel names; the key `*` routes every other kind.
    pub routes: BTreeMap<String, Vec<String>>,
    pub discord: DiscordConfig,
    pub coalesce_window: Duration,
    pub max_pending: u64,
    pub poll_interval: Duration,
    pub retry_base: Duration,
    pub retry_cap: Duration,
    pub give_up_after: Duration,
    /// How long a dependency must fail continuously before it is alerted as down.
    pub dependency_down_after: Duration,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig::from_lookup(|_| None).expect("defaults are valid")
    }
}

impl AlertConfig {
    /// Reads and validates every variable in [`VARS`] through `lookup`.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<AlertConfig, ConfigError> {
        let get = |var: &str| {
            lookup(var)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let mut channels = parse_channels(&get(CHANNELS_VAR).unwrap_or_else(|| "log=log".into()))?;
        if !channels.iter().any(|c| c.name == "log") {
            channels.push(ChannelSpec {
                name: "log".into(),
                kind: "log".into(),
                target: String::new(),
            });
        }
        let routes = parse_routes(&get(ROUTES_VAR).unwrap_or_else(|| "*=log".into()))?;
        let names: BTreeSet<&str> = channels.iter().map(|c| c.name.as_str()).collect();
        for (kind, targets) in &routes {
            for name in targets {
                if !names.contains(name.as_str()) {
                    return Err(ConfigError::new(
                        ROUTES_VAR,
                        format!(
                            "route `{kind}` names unknown channel `{name}` (channels are defined \
                             in {CHANNELS_VAR})"
                        ),
                    ));
                }
            }
        }

        let api_base = get(DISCORD_API_BASE_VAR).unwrap_or_else(|| "https://discord.com".into());
        if !(api_base.starts_with("http://") || api_base.starts_with("https://")) {
            return Err(ConfigError::new(
                DISCORD_API_BASE_VAR,
                format!("`{api_base}` is not an http(s) URL"),
            ));
        }
        let token = get(DISCORD_TOKEN_VAR).map(Secret::new);
        if token.is_none() && channels.iter().any(|c| c.kind == "discord") {
            return Err(ConfigError::new(
                DISCORD_TOKEN_VAR,
                "required because a discord alert channel is configured",
            ));
        }

        let number = |var: &'static str, default: u64| -> Result<u64, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(text) => text.parse::<u64>().map_err(|_| {
                    ConfigError::new(var, format!("`{text}` is not a non-negative integer"))
                }),
            }
        };
        let positive = |var: &'static str, default: u64| -> Result<u64, ConfigError> {
            let n = number(var, default)?;
            if n == 0 {
                return Err(ConfigError::new(var, "must be greater than 0"));
            }
            Ok(n)
        };
        let retry_base = Duration::from_millis(positive(RETRY_BASE_VAR, 1000)?);
        let retry_cap = Duration::from_millis(positive(RETRY_CAP_VAR, 300_000)?);
        if retry_cap < retry_base {
            return Err(ConfigError::new(
                RETRY_CAP_VAR,
                format!("must be at least {RETRY_BASE_VAR}"),
            ));
        }
        Ok(AlertConfig {
            channels,
            routes,
            discord: DiscordConfig { api_base, token },
            coalesce_window: Duration::from_secs(number(COALESCE_WINDOW_VAR, 300)?),
            max_pending: positive(MAX_PENDING_VAR, 10_000)?,
            poll_interval: Duration::from_millis(positive(POLL_INTERVAL_VAR, 1000)?),
            retry_base,
            retry_cap,
            give_up_after: Duration::from_secs(positive(GIVE_UP_VAR, 86_400)?),
            dependency_down_after: Duration::from_secs(positive(DEPENDENCY_DOWN_AFTER_VAR, 30)?),
        })
    }

    /// From the process environment.
    pub fn from_env() -> Result<AlertConfig, ConfigError> {
        AlertConfig::from_lookup(|name| std::env::var(name).ok())
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn parse_channels(text: &str) -> Result<Vec<ChannelSpec>, ConfigError> {
    let mut out: Vec<ChannelSpec> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((name, rest)) = item.split_once('=') else {
            return Err(ConfigError::new(
                CHANNELS_VAR,
                format!("`{item}` is not `name=kind[:target]`"),
            ));
        };
        let name = name.trim();
        let (kind, target) = match rest.split_once(':') {
            Some((kind, target)) => (kind.trim(), target.trim()),
            None => (rest.trim(), ""),
        };
        if !valid_name(name) {
            return Err(ConfigError::new(
                CHANNELS_VAR,
                format!("channel name `{name}` must be letters, digits, `_`, `-` or `.`"),
            ));
        }
        if kind.is_empty() {
            return Err(ConfigError::new(
                CHANNELS_VAR,
                format!("channel `{name}` has no kind"),
            ));
        }
        if out.iter().any(|c| c.name == name) {
            return Err(ConfigError::new(
                CHANNELS_VAR,
                format!("channel `{name}` is defined twice"),
            ));
        }
        out.push(ChannelSpec {
            name: name.to_owned(),
            kind: kind.to_owned(),
            target: target.to_owned(),
        });
    }
    Ok(out)
}

fn parse_routes(text: &str) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
    let mut out = BTreeMap::new();
    for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((kind, names)) = item.split_once('=') else {
            return Err(ConfigError::new(
                ROUTES_VAR,
                format!("`{item}` is not `kind=channel[,channel]`"),
            ));
        };
        let kind = kind.trim();
        if !(kind == "*" || valid_name(kind)) {
            return Err(ConfigError::new(
                ROUTES_VAR,
                format!("alert kind `{kind}` must be letters, digits, `_`, `-`, `.` or `*`"),
            ));
        }
        let mut targets: Vec<String> = Vec::new();
        for name in names.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !targets.iter().any(|t| t == name) {
                targets.push(name.to_owned());
            }
        }
        if targets.is_empty() {
            return Err(ConfigError::new(
                ROUTES_VAR,
                format!("route `{kind}` names no channel"),
            ));
        }
        if out.insert(kind.to_owned(), targets).is_some() {
            return Err(ConfigError::new(
                ROUTES_VAR,
                format!("alert kind `{kind}` is routed twice"),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn error(pairs: &[(&str, &str)]) -> ConfigError {
        AlertConfig::from_lookup(lookup(pairs)).unwrap_err()
    }

    #[test]
    fn parses_the_documented_example() {
        let config = AlertConfig::from_lookup(lookup(&[
            (
                CHANNELS_VAR,
                "ops=discord:123456789,owner=discord:987654321,hook=webhook:https://example/hook,log=log",
            ),
            (
                ROUTES_VAR,
                "dead_letter=ops;owner-report=owner;sla_escalation=owner,ops;*=log",
            ),
            (DISCORD_TOKEN_VAR, "tok"),
        ]))
        .unwrap();
        assert_eq!(config.channels.len(), 4);
        assert_eq!(config.channels[2].target, "https://example/hook");
        assert_eq!(config.routes["sla_escalation"], ["owner", "ops"]);
        assert_eq!(config.routes["*"], ["log"]);
        assert_eq!(config.coalesce_window, Duration::from_secs(300));
        assert_eq!(config.max_pending, 10_000);
        assert_eq!(config.dependency_down_after, Duration::from_secs(30));
    }

    #[test]
    fn defaults_route_everything_to_the_log() {
        let config = AlertConfig::default();
        assert_eq!(config.routes["*"], ["log"]);
        assert_eq!(config.channels[0].kind, "log");
    }

    #[test]
    fn errors_name_the_variable() {
        let e = error(&[(CHANNELS_VAR, "ops=log"), (ROUTES_VAR, "x=nope")]);
        assert_eq!(e.var, ROUTES_VAR);
        assert!(e.message.contains("nope"), "{e}");
        assert_eq!(error(&[(CHANNELS_VAR, "ops")]).var, CHANNELS_VAR);
        assert_eq!(error(&[(CHANNELS_VAR, "a=log,a=log")]).var, CHANNELS_VAR);
        assert_eq!(
            error(&[(CHANNELS_VAR, "ops=discord:1")]).var,
            DISCORD_TOKEN_VAR
        );
        assert_eq!(error(&[(ROUTES_VAR, "a=log;a=log")]).var, ROUTES_VAR);
        assert_eq!(error(&[(MAX_PENDING_VAR, "-1")]).var, MAX_PENDING_VAR);
        assert_eq!(error(&[(POLL_INTERVAL_VAR, "0")]).var, POLL_INTERVAL_VAR);
        assert_eq!(
            error(&[(DISCORD_API_BASE_VAR, "ftp://x")]).var,
            DISCORD_API_BASE_VAR
        );
        for bad in ["0", "-5", "soon"] {
            let e = error(&[(DEPENDENCY_DOWN_AFTER_VAR, bad)]);
            assert_eq!(e.var, DEPENDENCY_DOWN_AFTER_VAR, "{bad}");
            assert!(
                e.to_string()
                    .starts_with("AGENTHOST_DEPENDENCY_DOWN_AFTER_SECS: "),
                "{e}"
            );
        }
        let config =
            AlertConfig::from_lookup(lookup(&[(DEPENDENCY_DOWN_AFTER_VAR, " 90 ")])).unwrap();
        assert_eq!(config.dependency_down_after, Duration::from_secs(90));
    }

    #[test]
    fn every_read_variable_is_listed() {
        for var in [
            CHANNELS_VAR,
            ROUTES_VAR,
            DISCORD_TOKEN_VAR,
            DISCORD_API_BASE_VAR,
            COALESCE_WINDOW_VAR,
            MAX_PENDING_VAR,
            POLL_INTERVAL_VAR,
            RETRY_BASE_VAR,
            RETRY_CAP_VAR,
            GIVE_UP_VAR,
            DEPENDENCY_DOWN_AFTER_VAR,
        ] {
            assert!(VARS.iter().any(|v| v.name == var), "{var}");
        }
        let secrets: Vec<_> = VARS.iter().filter(|v| v.secret).map(|v| v.name).collect();
        assert_eq!(secrets, [DISCORD_TOKEN_VAR]);
    }

    #[test]
    fn token_never_in_debug() {
        let config = AlertConfig::from_lookup(lookup(&[
            (CHANNELS_VAR, "ops=discord:1"),
            (DISCORD_TOKEN_VAR, "super-secret-token-value"),
        ]))
        .unwrap();
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("super-secret-token-value"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
