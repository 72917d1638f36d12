//! Building [`PluginError`]s: the constructors plugins return from handlers, and the JSON
//! decoding failure shared by the state and config helpers.

use crate::PluginError;
use serde::de::DeserializeOwned;

/// A failure retrying cannot fix (bad input, a plugin bug): the host dead-letters the
/// event at once.
pub fn error(code: &str, message: &str) -> PluginError {
    PluginError {
        code: code.into(),
        message: message.into(),
        retryable: false,
    }
}

/// A transient failure (e.g. the LLM timed out): the host redelivers the event, up to the
/// plugin's `max-attempts`. Nothing from the failed attempt was committed.
pub fn retryable(code: &str, message: &str) -> PluginError {
    PluginError {
        retryable: true,
        ..error(code, message)
    }
}

/// Parses `raw`, stored under `key`, as JSON; a value that does not parse is reported as a
/// non-retryable `code` error naming the key.
pub(crate) fn decode_json<T: DeserializeOwned>(
    code: &str,
    key: &str,
    raw: &str,
) -> Result<T, PluginError> {
    serde_json::from_str(raw).map_err(|e| error(code, &format!("{key}: {e}")))
}
