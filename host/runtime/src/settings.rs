//! The runtime section of the host's configuration: the limits of a plugin that asks for
//! nothing, per-plugin limits, and the instance pool. Every variable it reads is in
//! [`VARS`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use agenthost_core::{ConfigError, Lookup, Var};

use crate::engine::RuntimeConfig;
use crate::limits::{Ceilings, Limits, RequestedLimits};
use agenthost_core::PluginName;

/// Every variable [`RuntimeSettings::from_lookup`] reads.
pub const VARS: &[Var] = &[
    Var {
        name: "AGENTHOST_PLUGIN_LIMITS",
        secret: false,
        help: "per-plugin limits: name:fuel=N,memory_mb=N,timeout_ms=N,concurrency=N,attempts=N,field_kb=N,invocation_kb=N,sms_segments_day=N,jobs_day=N;...",
    },
    Var {
        name: "AGENTHOST_DEFAULT_FUEL",
        secret: false,
        help: "fuel per invocation for plugins that ask for none",
    },
    Var {
        name: "AGENTHOST_DEFAULT_MEMORY_MB",
        secret: false,
        help: "linear-memory cap per instance in MiB (default 64)",
    },
    Var {
        name: "AGENTHOST_DEFAULT_TIMEOUT_MS",
        secret: false,
        help: "wall-clock deadline per invocation (default 30000)",
    },
    Var {
        name: "AGENTHOST_DEFAULT_CONCURRENCY",
        secret: false,
        help: "invocations per plugin at once (default 16)",
    },
    Var {
        name: "AGENTHOST_DEFAULT_MAX_ATTEMPTS",
        secret: false,
        help: "deliveries before dead letter (default 5)",
    },
    Var {
        name: "AGENTHOST_MAX_INSTANCES",
        secret: false,
        help: "instance pool size across all plugins (default 128)",
    },
];

/// How plugins are sandboxed, as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeSettings {
    /// Limits for a plugin that asks for none (byte limits and daily budgets are set per
    /// plugin through `AGENTHOST_PLUGIN_LIMITS`).
    pub defaults: Limits,
    /// The most any plugin may have.
    pub ceilings: Ceilings,
    /// Instance pool size across all plugins.
    pub max_instances: u32,
    /// The operator's per-plugin limits.
    pub plugin_limits: BTreeMap<PluginName, RequestedLimits>,
}

impl RuntimeSettings {
    /// The section from `lookup` (blank counts as unset); errors name the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let l = Lookup::new(lookup).declared(VARS);
        let d = Limits::default();
        let u32_of = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        let defaults = Limits {
            fuel: l.number("AGENTHOST_DEFAULT_FUEL", d.fuel, 1)?,
            memory_bytes: l.number("AGENTHOST_DEFAULT_MEMORY_MB", d.memory_bytes >> 20, 1)? << 20,
            wall_clock: l.millis(
                "AGENTHOST_DEFAULT_TIMEOUT_MS",
                d.wall_clock,
                Duration::from_millis(1),
            )?,
            max_concurrency: u32_of(l.number(
                "AGENTHOST_DEFAULT_CONCURRENCY",
                u64::from(d.max_concurrency),
                1,
            )?),
            max_attempts: u32_of(l.number(
                "AGENTHOST_DEFAULT_MAX_ATTEMPTS",
                u64::from(d.max_attempts),
                1,
            )?),
            ..d
        };
        let plugin_limits = match l.get("AGENTHOST_PLUGIN_LIMITS") {
            Some(v) => parse_plugin_limits(&v)
                .map_err(|m| ConfigError::new("AGENTHOST_PLUGIN_LIMITS", m))?,
            None => BTreeMap::new(),
        };
        Ok(RuntimeSettings {
            defaults,
            ceilings: Ceilings::default(),
            max_instances: u32_of(l.number("AGENTHOST_MAX_INSTANCES", 128, 1)?),
            plugin_limits,
        })
    }

    /// The engine's configuration, compiled code cached under `cache_dir`.
    pub fn engine_config(&self, cache_dir: Option<PathBuf>) -> RuntimeConfig {
        RuntimeConfig {
            defaults: self.defaults,
            ceilings: self.ceilings,
            max_instances: self.max_instances,
            cache_dir,
        }
    }
}

/// `echo:fuel=1000000,memory_mb=16;locator:timeout_ms=5000`
fn parse_plugin_limits(v: &str) -> Result<BTreeMap<PluginName, RequestedLimits>, String> {
    let mut out = BTreeMap::new();
    for entry in v.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, rest) = entry
            .split_once(':')
            .ok_or_else(|| format!("{entry:?} is not name:key=value,..."))?;
        let name: PluginName = name.trim().parse()?;
        let mut limits = RequestedLimits::default();
        for kv in rest.split(',').map(str::trim).filter(|kv| !kv.is_empty()) {
            let (k, val) = kv
                .split_once('=')
                .ok_or_else(|| format!("{kv:?} is not key=value"))?;
            let n: u64 = val
                .trim()
                .parse()
                .map_err(|_| format!("{name}: {k}={val:?} is not a number"))?;
            match k.trim() {
                "fuel" => limits.fuel = Some(n),
                "memory_mb" => limits.memory_bytes = Some(n << 20),
                "timeout_ms" => limits.wall_clock_ms = Some(n.min(u64::from(u32::MAX)) as u32),
                "concurrency" => limits.max_concurrency = Some(n.min(u64::from(u32::MAX)) as u32),
                "attempts" => limits.max_attempts = Some(n.min(u64::from(u32::MAX)) as u32),
                "field_kb" => limits.field_bytes = Some(n.saturating_mul(1 << 10)),
                "invocation_kb" => limits.invocation_bytes = Some(n.saturating_mul(1 << 10)),
                "sms_segments_day" => limits.sms_segments_per_day = Some(n),
                "jobs_day" => limits.jobs_per_day = Some(n),
                other => {
                    return Err(format!(
                        "{name}: unknown limit {other:?} (fuel, memory_mb, timeout_ms, concurrency, attempts, field_kb, invocation_kb, sms_segments_day, jobs_day)"
                    ));
                }
            }
        }
        out.insert(name, limits);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_per_plugin_limits() {
        let s = RuntimeSettings::from_lookup(|_| None).unwrap();
        assert_eq!(s.defaults, Limits::default());
        assert_eq!(s.max_instances, 128);
        let s = RuntimeSettings::from_lookup(|k| match k {
            "AGENTHOST_DEFAULT_MEMORY_MB" => Some("16".into()),
            "AGENTHOST_PLUGIN_LIMITS" => Some("echo:fuel=1000,timeout_ms=50".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.defaults.memory_bytes, 16 << 20);
        let echo = &s.plugin_limits[&"echo".parse::<PluginName>().unwrap()];
        assert_eq!((echo.fuel, echo.wall_clock_ms), (Some(1000), Some(50)));
        let e = RuntimeSettings::from_lookup(|k| {
            (k == "AGENTHOST_PLUGIN_LIMITS").then(|| "echo:speed=9".into())
        })
        .unwrap_err();
        assert_eq!(e.var, "AGENTHOST_PLUGIN_LIMITS");
        assert!(e.message.contains("unknown limit \"speed\""), "{e}");
    }
}
