//! The host's ids as types of their own, so a plugin name cannot be passed where a
//! version is expected, nor an event id where a conversation id is.
//!
//! - [`PluginName`]: validated on construction (`landlord-rep`), cheap to clone.
//! - [`VersionId`]: a plugin version's identity, the sha256 of its component bytes.
//! - [`EventId`]: one stored event (an inbound text, a job firing), as ingest minted it.
//! - [`ConversationId`]: one lead's conversation with one agent number.
//!
//! All four serialise as plain strings (`#[serde(transparent)]` or via `String`), so
//! stored payloads and API bodies are unchanged by them.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A plugin's name: lowercase letters, digits and `-`, 1..=64 bytes, e.g. `landlord-rep`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PluginName(Arc<str>);

impl PluginName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PluginName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if s.is_empty() || s.len() > 64 || !ok_chars || s.starts_with('-') {
            return Err(format!(
                "invalid plugin name {s:?}: use 1-64 lowercase letters, digits and '-', not starting with '-'"
            ));
        }
        Ok(PluginName(s.into()))
    }
}

impl TryFrom<String> for PluginName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<PluginName> for String {
    fn from(n: PluginName) -> String {
        n.0.to_string()
    }
}

impl fmt::Display for PluginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Lets maps keyed by name be looked up with a `&str` (hash and order match `str`'s).
impl std::borrow::Borrow<str> for PluginName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for PluginName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// A plugin version's identity: the sha256 of its component bytes, lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VersionId(Arc<str>);

impl VersionId {
    pub fn of_bytes(bytes: &[u8]) -> VersionId {
        VersionId(hex::encode(Sha256::digest(bytes)).into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for logs and tables.
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(12)]
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

/// A string id with no syntax of its own beyond being what the host minted: the type
/// is what keeps one kind from standing in for another.
macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        /// Reads as the string it is (`&id` where a `&str` is asked, `as_deref()` on an
        /// option); only the way in — from a plain string — is explicit.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

opaque_id! {
    /// One stored event — an inbound text or a job firing — as ingest or the scheduler
    /// minted it (`evt-…`, `job-…`). The queue carries it; the worker claims by it.
    EventId
}

opaque_id! {
    /// One lead's conversation with one agent number, `<agent number>|<lead number>`
    /// (minted by [`ConversationId::between`] at ingest). A plugin's texts, jobs and
    /// state are scoped to its own.
    ConversationId
}

impl ConversationId {
    /// The conversation between an agent number and a lead's number: the same pair gives
    /// the same id on every replica, so ingest needs no lookup to find it.
    pub fn between(agent_number: &str, lead_number: &str) -> ConversationId {
        ConversationId(format!("{agent_number}|{lead_number}"))
    }

    /// The agent number of an id [`ConversationId::between`] made.
    pub fn agent_number(&self) -> Option<&str> {
        self.0.split_once('|').map(|(agent, _)| agent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_names_are_validated() {
        assert!("landlord-rep".parse::<PluginName>().is_ok());
        assert!("echo2".parse::<PluginName>().is_ok());
        for bad in ["", "Echo", "a b", "-x", "../etc", &"x".repeat(65)] {
            let err = bad.parse::<PluginName>().unwrap_err();
            assert!(err.contains("invalid plugin name"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn plugin_names_refuse_bad_ones_when_deserialised() {
        assert!(serde_json::from_str::<PluginName>("\"Bad Name\"").is_err());
        let n: PluginName = serde_json::from_str("\"echo\"").unwrap();
        assert_eq!(n.as_str(), "echo");
    }

    #[test]
    fn version_ids_are_sha256_hex() {
        let v = VersionId::of_bytes(b"abc");
        assert_eq!(
            v.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(v.short(), "ba7816bf8f01");
        assert_eq!(v.to_string(), "ba7816bf8f01");
    }

    #[test]
    fn opaque_ids_serialise_as_plain_strings() {
        let e = EventId::new("evt-1");
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"evt-1\"");
        let c: ConversationId = serde_json::from_str("\"c-9\"").unwrap();
        assert_eq!(c, "c-9");
        assert_eq!(c.as_str(), "c-9");
        assert_eq!(String::from(c), "c-9");
    }

    #[test]
    fn a_conversation_is_the_pair_of_numbers() {
        let c = ConversationId::between("+15550001112", "+15550002222");
        assert_eq!(c, "+15550001112|+15550002222");
        assert_eq!(c.agent_number(), Some("+15550001112"));
        assert_eq!(ConversationId::new("legacy").agent_number(), None);
    }
}
