//! The active version of each plugin. Activation replaces an `Arc` under a short lock: an
//! invocation holds the `Plugin` it started with, so a swap never disturbs it, and the
//! next invocation picks up the new version.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

use agenthost_runtime::{Plugin, PluginName, RequestedLimits, Runtime};

#[derive(Debug, Clone, Default)]
pub struct Registry {
    active: Arc<RwLock<HashMap<PluginName, Plugin>>>,
}

impl Registry {
    pub fn get(&self, name: &str) -> Option<Plugin> {
        self.active
            .read()
            .expect("registry lock poisoned")
            .get(name)
            .cloned()
    }

    /// Makes `plugin` the version that serves its name; returns the one it replaced.
    pub fn activate(&self, plugin: Plugin) -> Option<Plugin> {
        self.active
            .write()
            .expect("registry lock poisoned")
            .insert(plugin.name().clone(), plugin)
    }

    pub fn names(&self) -> Vec<PluginName> {
        let mut names: Vec<_> = self
            .active
            .read()
            .expect("registry lock poisoned")
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    pub fn all(&self) -> Vec<Plugin> {
        self.active
            .read()
            .expect("registry lock poisoned")
            .values()
            .cloned()
            .collect()
    }
}

/// A plugin's operator config: `{config_dir}/{name}.json`, an object whose string values
/// are passed as-is and other values as their JSON text. A missing file is no config.
pub fn read_plugin_config(
    config_dir: &Path,
    name: &str,
) -> Result<BTreeMap<String, String>, String> {
    let path = config_dir.join(format!("{name}.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
    let serde_json::Value::Object(map) = value else {
        return Err(format!(
            "{}: must be a JSON object of config keys",
            path.display()
        ));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

/// Loads every `*.wasm` in `dir` (file stem = plugin name) and activates it. A file that
/// fails to load is reported and skipped: one broken plugin never stops the others.
pub async fn load_dir(
    runtime: &Runtime,
    registry: &Registry,
    dir: &Path,
    config_dir: &Path,
    limits: &BTreeMap<PluginName, RequestedLimits>,
) -> Vec<(String, String)> {
    let mut failures = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            failures.push((
                dir.display().to_string(),
                format!("cannot read plugin dir: {e}"),
            ));
            return failures;
        }
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
    {
        let file = path.display().to_string();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let name: PluginName = match stem.parse() {
            Ok(n) => n,
            Err(e) => {
                failures.push((file, e));
                continue;
            }
        };
        let result = async {
            let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
            let config = read_plugin_config(config_dir, &name)?;
            let overrides = limits.get(&name).copied().unwrap_or_default();
            runtime
                .load(name.clone(), &bytes, overrides, config)
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        match result {
            Ok(plugin) => {
                tracing::info!(plugin = %name, version = %plugin.version(), cached = plugin.from_cache(), "plugin loaded");
                registry.activate(plugin);
            }
            Err(e) => {
                tracing::error!(plugin = %name, file = %file, error = %e, "plugin failed to load; skipped");
                failures.push((file, e));
            }
        }
    }
    failures
}
