//! The versions each plugin serves with: the active one and, during a rollout, a canary
//! or shadow candidate. Activation replaces an `Arc` under a short lock: an invocation
//! holds the `Plugin` it started with, so a swap never disturbs it, and the next
//! invocation picks up the new version.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

use agenthost_core::stable_hash;

use crate::{Plugin, PluginName, Policy};
use tokio::sync::watch;

/// How a candidate version takes part in a plugin's traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutKind {
    /// Serves `percent` of conversations (sticky per conversation).
    Canary { percent: u8 },
    /// Runs on copies of every event with its effects recorded, never committed.
    Shadow,
}

#[derive(Debug, Clone)]
pub struct Rollout {
    pub kind: RolloutKind,
    pub candidate: Plugin,
}

#[derive(Debug, Clone)]
struct Slot {
    active: Plugin,
    rollout: Option<Rollout>,
}

/// The version chosen for one event.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The version whose effects commit.
    pub plugin: Plugin,
    /// `plugin` is a canary candidate, not the active version.
    pub canary: bool,
    /// A shadow candidate to run on a copy of the event, effects recorded only.
    pub shadow: Option<Plugin>,
}

#[derive(Debug, Clone)]
pub struct Registry {
    slots: Arc<RwLock<HashMap<PluginName, Slot>>>,
    /// Bumped on every change, so lane spawners notice new plugins.
    changed: Arc<watch::Sender<u64>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            slots: Arc::default(),
            changed: Arc::new(watch::channel(0).0),
        }
    }
}

impl Registry {
    /// The active version of `name`.
    pub fn get(&self, name: &str) -> Option<Plugin> {
        self.read().get(name).map(|s| s.active.clone())
    }

    /// The version that serves an event of `name` whose conversation (or other sticky
    /// identity) is `sticky_key`: a canary takes the conversations whose bucket falls
    /// under its percentage, so one lead always talks to one version while it runs.
    pub fn select(&self, name: &str, sticky_key: &str) -> Option<Selected> {
        let slots = self.read();
        let slot = slots.get(name)?;
        let mut selected = Selected {
            plugin: slot.active.clone(),
            canary: false,
            shadow: None,
        };
        match &slot.rollout {
            Some(Rollout {
                kind: RolloutKind::Canary { percent },
                candidate,
            }) if canary_bucket(sticky_key) < *percent => {
                selected.plugin = candidate.clone();
                selected.canary = true;
            }
            Some(Rollout {
                kind: RolloutKind::Shadow,
                candidate,
            }) => selected.shadow = Some(candidate.clone()),
            _ => {}
        }
        Some(selected)
    }

    /// [`Registry::select`] for an event pinned to `version` (a requeued dead letter):
    /// the rollout's candidate when that is the version asked for, else the active
    /// version without the canary split (a pin to a version no longer deployed here falls
    /// back to the active one).
    pub fn select_pinned(&self, name: &str, sticky_key: &str, version: &str) -> Option<Selected> {
        let slots = self.read();
        let slot = slots.get(name)?;
        if let Some(r) = &slot.rollout
            && r.candidate.version().as_str() == version
        {
            return Some(Selected {
                plugin: r.candidate.clone(),
                canary: matches!(r.kind, RolloutKind::Canary { .. }),
                shadow: None,
            });
        }
        if slot.active.version().as_str() != version {
            tracing::warn!(
                plugin = name,
                version,
                key = sticky_key,
                "an event pinned to a version not deployed here runs on the active one"
            );
        }
        Some(Selected {
            plugin: slot.active.clone(),
            canary: false,
            shadow: None,
        })
    }

    /// Makes `plugin` the active version of its name with no rollout; returns the one it
    /// replaced.
    pub fn activate(&self, plugin: Plugin) -> Option<Plugin> {
        self.install(plugin, None)
    }

    /// Sets what `active.name()` serves with, in one swap; returns the replaced active.
    pub fn install(&self, active: Plugin, rollout: Option<Rollout>) -> Option<Plugin> {
        let old = self
            .slots
            .write()
            .expect("registry lock poisoned")
            .insert(active.name().clone(), Slot { active, rollout })
            .map(|s| s.active);
        self.changed.send_modify(|g| *g += 1);
        old
    }

    /// The rollout of `name`, if one runs.
    pub fn rollout(&self, name: &str) -> Option<Rollout> {
        self.read().get(name).and_then(|s| s.rollout.clone())
    }

    /// A receiver that changes whenever a version is installed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub fn names(&self) -> Vec<PluginName> {
        let mut names: Vec<_> = self.read().keys().cloned().collect();
        names.sort();
        names
    }

    /// The active version of every plugin.
    pub fn all(&self) -> Vec<Plugin> {
        self.read().values().map(|s| s.active.clone()).collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<PluginName, Slot>> {
        self.slots.read().expect("registry lock poisoned")
    }
}

/// A stable bucket in `0..100` for a sticky key: the same conversation lands in the same
/// bucket on every replica and across restarts.
pub fn canary_bucket(key: &str) -> u8 {
    (stable_hash(key) % 100) as u8
}

/// The reserved top-level key of a plugin's config file that holds the operator's policy
/// for it; the host reads it and never passes it to the plugin.
pub const HOST_POLICY_KEY: &str = "host";

/// `{config_dir}/{name}.json`: every top-level key but [`HOST_POLICY_KEY`] is handed to
/// the plugin (`config.get`; strings as they are, anything else as JSON text), and the
/// `host` section is the operator's policy for it:
///
/// ```json
/// "host": { "sms_recipients": ["+13125550100"], "allow_critical_alerts": false }
/// ```
///
/// A missing file is an empty config and the default policy (only the leads of its own
/// conversations, alerts capped at warning). Errors name the file and the field.
pub fn read_plugin_config(
    config_dir: &Path,
    name: &str,
) -> Result<(BTreeMap<String, String>, Policy), String> {
    let path = config_dir.join(format!("{name}.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((BTreeMap::new(), Policy::default()));
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    let serde_json::Value::Object(mut map) = value else {
        return Err(format!(
            "{}: must be a JSON object of config keys",
            path.display()
        ));
    };
    let policy = match map.remove(HOST_POLICY_KEY) {
        None => Policy::default(),
        Some(section) => parse_policy(&section).map_err(|e| format!("{}: {e}", path.display()))?,
    };
    let values = map
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect();
    Ok((values, policy))
}

fn parse_policy(section: &serde_json::Value) -> Result<Policy, String> {
    let serde_json::Value::Object(fields) = section else {
        return Err(format!("`{HOST_POLICY_KEY}` must be an object"));
    };
    let mut policy = Policy::default();
    for (key, value) in fields {
        match key.as_str() {
            "sms_recipients" => {
                let serde_json::Value::Array(numbers) = value else {
                    return Err(format!(
                        "`{HOST_POLICY_KEY}.sms_recipients` must be an array of E.164 numbers"
                    ));
                };
                for (i, n) in numbers.iter().enumerate() {
                    match n.as_str() {
                        Some(n) if crate::sms::is_e164(n) => {
                            policy.sms_recipients.insert(n.to_owned());
                        }
                        _ => {
                            return Err(format!(
                                "`{HOST_POLICY_KEY}.sms_recipients[{i}]` = {n} is not an E.164 number like \"+13125550100\""
                            ));
                        }
                    }
                }
            }
            "allow_critical_alerts" => {
                policy.allow_critical_alerts = value.as_bool().ok_or_else(|| {
                    format!("`{HOST_POLICY_KEY}.allow_critical_alerts` must be true or false")
                })?;
            }
            other => {
                return Err(format!(
                    "unknown key `{HOST_POLICY_KEY}.{other}` (known: sms_recipients, allow_critical_alerts)"
                ));
            }
        }
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_section_is_policy_and_never_reaches_the_plugin() {
        let dir = tempfile::tempdir().unwrap();
        let write = |body: &str| std::fs::write(dir.path().join("p.json"), body).unwrap();
        write(
            r#"{"office": {"name": "x"}, "greeting": "hi",
                "host": {"sms_recipients": ["+13125550100"], "allow_critical_alerts": true}}"#,
        );
        let (values, policy) = read_plugin_config(dir.path(), "p").unwrap();
        assert_eq!(values.keys().collect::<Vec<_>>(), ["greeting", "office"]);
        assert_eq!(values["greeting"], "hi");
        assert!(policy.sms_recipients.contains("+13125550100"));
        assert!(policy.allow_critical_alerts);

        let (_, default) = read_plugin_config(dir.path(), "missing").unwrap();
        assert_eq!(default, Policy::default());

        for (bad, names) in [
            (
                r#"{"host": {"sms_recipients": ["555-0100"]}}"#,
                "host.sms_recipients[0]",
            ),
            (
                r#"{"host": {"sms_recipients": "+13125550100"}}"#,
                "host.sms_recipients",
            ),
            (
                r#"{"host": {"allow_critical_alerts": "yes"}}"#,
                "host.allow_critical_alerts",
            ),
            (r#"{"host": {"recipients": []}}"#, "host.recipients"),
            (r#"{"host": []}"#, "`host` must be an object"),
        ] {
            write(bad);
            let err = read_plugin_config(dir.path(), "p").unwrap_err();
            assert!(
                err.contains(names) && err.contains("p.json"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn canary_buckets_are_stable_and_spread() {
        assert_eq!(canary_bucket("conv-1"), canary_bucket("conv-1"));
        let mut counts = [0u32; 100];
        for i in 0..10_000 {
            counts[usize::from(canary_bucket(&format!("+1555{i:07}|+15550001111")))] += 1;
        }
        // 100 per bucket on average; a broken hash piles everything into a few.
        assert!(
            counts.iter().all(|&c| (50..=160).contains(&c)),
            "{counts:?}"
        );
        let under_20 = counts[..20].iter().sum::<u32>();
        assert!((1_800..=2_200).contains(&under_20), "{under_20}");
    }
}
