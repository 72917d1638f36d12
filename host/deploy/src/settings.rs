//! The deploy section of the host's configuration: where plugins and their config come
//! from, whether the folder is watched, automatic rollback and signing. Every variable it
//! reads is in [`VARS`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use agenthost_core::{ConfigError, Lookup, Var};
use agenthost_runtime::PluginName;

use crate::signing::SigningPolicy;
use crate::watch::RollbackPolicy;

/// Every variable [`DeploySettings::from_lookup`] reads.
pub const VARS: &[Var] = &[
    Var {
        name: "AGENTHOST_PLUGIN_DIR",
        secret: false,
        help: "folder of <name>.wasm plugin components loaded at start (default ./dist/plugins)",
    },
    Var {
        name: "AGENTHOST_PLUGIN_CONFIG_DIR",
        secret: false,
        help: "folder of <name>.json plugin config objects (default ./config/plugins)",
    },
    Var {
        name: "AGENTHOST_PLUGIN_WATCH",
        secret: false,
        help: "true/false: upload and activate plugin files that appear or change in the plugin dir (default true on SQLite, false on PostgreSQL)",
    },
    Var {
        name: "AGENTHOST_AUTO_ROLLBACK",
        secret: false,
        help: "automatic rollback thresholds: min=10,rate=0.5 for all, then ;name:min=N,rate=R per plugin, or name:off",
    },
    Var {
        name: "AGENTHOST_PLUGIN_TRUSTED_KEYS",
        secret: false,
        help: "keys that may sign plugin versions, id=<base64 ed25519 public key>,... (`agenthost plugin keygen` prints the entry)",
    },
    Var {
        name: "AGENTHOST_REQUIRE_SIGNED_PLUGINS",
        secret: false,
        help: "true: uploads and plugin-folder files must carry a signature by a trusted key (default false)",
    },
];

/// How plugins reach this host, as configured.
#[derive(Debug, Clone)]
pub struct DeploySettings {
    /// `<name>.wasm` components imported at start.
    pub plugin_dir: PathBuf,
    /// `<name>.json` operator config per plugin.
    pub plugin_config_dir: PathBuf,
    /// Upload and activate files that appear or change in `plugin_dir`.
    pub plugin_watch: bool,
    pub auto_rollback: AutoRollback,
    /// Which keys may sign versions, and whether a signature is required.
    pub signing: SigningPolicy,
}

impl DeploySettings {
    /// The section from `lookup` (blank counts as unset); errors name the variable.
    /// `shared_database`: PostgreSQL, where the folder is not watched by default (every
    /// replica would upload the same file).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        shared_database: bool,
    ) -> Result<Self, ConfigError> {
        let l = Lookup::new(lookup).declared(VARS);
        let flag = |var: &'static str, default: bool| -> Result<bool, ConfigError> {
            match l.get(var).as_deref() {
                None => Ok(default),
                Some("true" | "1" | "yes") => Ok(true),
                Some("false" | "0" | "no") => Ok(false),
                Some(other) => Err(ConfigError::new(
                    var,
                    format!("{other:?} is not true or false"),
                )),
            }
        };
        let required = flag("AGENTHOST_REQUIRE_SIGNED_PLUGINS", false)?;
        let signing =
            SigningPolicy::parse(l.get("AGENTHOST_PLUGIN_TRUSTED_KEYS").as_deref(), required)
                .map_err(|e| {
                    let var = if e.contains("required") {
                        "AGENTHOST_REQUIRE_SIGNED_PLUGINS"
                    } else {
                        "AGENTHOST_PLUGIN_TRUSTED_KEYS"
                    };
                    ConfigError::new(var, e)
                })?;
        let auto_rollback = match l.get("AGENTHOST_AUTO_ROLLBACK") {
            Some(v) => parse_auto_rollback(&v)
                .map_err(|m| ConfigError::new("AGENTHOST_AUTO_ROLLBACK", m))?,
            None => AutoRollback::default(),
        };
        Ok(DeploySettings {
            plugin_dir: l
                .get("AGENTHOST_PLUGIN_DIR")
                .map_or_else(|| PathBuf::from("dist/plugins"), PathBuf::from),
            plugin_config_dir: l
                .get("AGENTHOST_PLUGIN_CONFIG_DIR")
                .map_or_else(|| PathBuf::from("config/plugins"), PathBuf::from),
            plugin_watch: flag("AGENTHOST_PLUGIN_WATCH", !shared_database)?,
            auto_rollback,
            signing,
        })
    }
}

/// Automatic-rollback thresholds: the default and per-plugin overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutoRollback {
    pub default: RollbackPolicy,
    pub per_plugin: BTreeMap<PluginName, RollbackPolicy>,
}

/// `min=10,rate=0.5;echo:min=5,rate=0.3;locator:off`
fn parse_auto_rollback(v: &str) -> Result<AutoRollback, String> {
    let mut out = AutoRollback::default();
    for entry in v.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, rest) = match entry.split_once(':') {
            Some((n, r)) => (Some(n.trim().parse::<PluginName>()?), r.trim()),
            None => (None, entry),
        };
        let mut policy = match &name {
            Some(_) => out.default,
            None => RollbackPolicy::default(),
        };
        if rest == "off" {
            policy.min_invocations = u64::MAX;
        } else {
            for kv in rest.split(',').map(str::trim).filter(|kv| !kv.is_empty()) {
                let (k, val) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("{kv:?} is not key=value"))?;
                match k.trim() {
                    "min" => {
                        policy.min_invocations = val
                            .trim()
                            .parse()
                            .ok()
                            .filter(|n| *n >= 1)
                            .ok_or_else(|| format!("min={val:?} is not an integer ≥ 1"))?;
                    }
                    "rate" => {
                        policy.failure_rate = val
                            .trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|r| *r > 0.0 && *r <= 1.0)
                            .ok_or_else(|| format!("rate={val:?} is not a number in (0, 1]"))?;
                    }
                    other => return Err(format!("unknown key {other:?} (min, rate, or off)")),
                }
            }
        }
        match name {
            Some(n) => {
                out.per_plugin.insert(n, policy);
            }
            None => out.default = policy,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folder_is_watched_on_sqlite_only_unless_told() {
        let s = DeploySettings::from_lookup(|_| None, false).unwrap();
        assert!(s.plugin_watch);
        assert_eq!(s.plugin_dir, PathBuf::from("dist/plugins"));
        assert!(
            !DeploySettings::from_lookup(|_| None, true)
                .unwrap()
                .plugin_watch
        );
        let on = |k: &str| (k == "AGENTHOST_PLUGIN_WATCH").then(|| "yes".to_owned());
        assert!(DeploySettings::from_lookup(on, true).unwrap().plugin_watch);
        let bad = |k: &str| (k == "AGENTHOST_PLUGIN_WATCH").then(|| "maybe".to_owned());
        let e = DeploySettings::from_lookup(bad, true).unwrap_err();
        assert_eq!(e.var, "AGENTHOST_PLUGIN_WATCH");
    }

    #[test]
    fn rollback_thresholds_per_plugin() {
        let s = DeploySettings::from_lookup(
            |k| {
                (k == "AGENTHOST_AUTO_ROLLBACK")
                    .then(|| "min=20;echo:min=5,rate=0.3;locator:off".into())
            },
            false,
        )
        .unwrap();
        assert_eq!(s.auto_rollback.default.min_invocations, 20);
        let echo = s.auto_rollback.per_plugin[&"echo".parse::<PluginName>().unwrap()];
        assert_eq!((echo.min_invocations, echo.failure_rate), (5, 0.3));
        let locator = s.auto_rollback.per_plugin[&"locator".parse::<PluginName>().unwrap()];
        assert_eq!(locator.min_invocations, u64::MAX);
    }
}
