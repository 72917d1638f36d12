//! The plugin's own key-value state. The host namespaces keys per plugin; reads see this
//! invocation's buffered writes, and writes commit only if the handler returns `Ok`.

use crate::PluginError;
use crate::bindings::agenthost::plugin::state;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub fn get(key: &str) -> Option<String> {
    state::get(key)
}

pub fn set(key: &str, value: &str) {
    state::set(key, value);
}

pub fn delete(key: &str) {
    state::delete(key);
}

/// Keys starting with `prefix`, sorted, at most `limit` of them.
pub fn list_keys(prefix: &str, limit: u32) -> Vec<String> {
    state::list_keys(prefix, limit)
}

/// The value under `key` parsed as JSON. A stored value that no longer parses (e.g. after
/// a schema change) is a non-retryable `state-decode` error rather than a silent `None`.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, PluginError> {
    get(key)
        .map(|raw| crate::error::decode_json("state-decode", key, &raw))
        .transpose()
}

/// Stores `value` under `key` as JSON.
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), PluginError> {
    let raw = serde_json::to_string(value)
        .map_err(|e| crate::error("state-encode", &format!("{key}: {e}")))?;
    set(key, &raw);
    Ok(())
}
