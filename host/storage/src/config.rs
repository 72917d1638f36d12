//! The storage section of the host's configuration: where the data lives and which
//! database. Every variable it reads is in [`VARS`].

use std::path::PathBuf;

use agenthost_core::{ConfigError, Lookup, Secret, Var};

/// Every variable [`StorageConfig::from_lookup`] reads.
pub const VARS: &[Var] = &[
    Var {
        name: "AGENTHOST_DATA_DIR",
        secret: false,
        help: "writable directory for the SQLite file and the compile cache (default ./data)",
    },
    Var {
        name: "AGENTHOST_DATABASE_URL",
        secret: true,
        help: "postgres://... (unset: SQLite under the data dir)",
    },
    Var {
        name: "AGENTHOST_DATABASE_MAX_CONNECTIONS",
        secret: false,
        help: "connection pool size (default 8)",
    },
];

/// Where the host keeps its data.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// The SQLite file and the compile cache live here.
    pub data_dir: PathBuf,
    /// PostgreSQL (or an explicit SQLite URL); unset: SQLite under `data_dir`.
    pub database_url: Option<Secret>,
    /// Connection pool size.
    pub max_connections: u32,
}

impl StorageConfig {
    /// The section from `lookup` (blank counts as unset); errors name the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let l = Lookup::new(lookup).declared(VARS);
        let database_url = l.get("AGENTHOST_DATABASE_URL");
        if let Some(u) = &database_url
            && !(u.starts_with("postgres://")
                || u.starts_with("postgresql://")
                || u.starts_with("sqlite:"))
        {
            return Err(ConfigError::new(
                "AGENTHOST_DATABASE_URL",
                "must start with postgres://, postgresql:// or sqlite:",
            ));
        }
        let max_connections = l.number("AGENTHOST_DATABASE_MAX_CONNECTIONS", 8, 1)?;
        Ok(StorageConfig {
            data_dir: l
                .get("AGENTHOST_DATA_DIR")
                .map_or_else(|| PathBuf::from("data"), PathBuf::from),
            database_url: database_url.map(Secret::new),
            max_connections: u32::try_from(max_connections).unwrap_or(u32::MAX),
        })
    }

    /// Whether this is the embedded default: one process owns a SQLite file.
    pub fn is_sqlite(&self) -> bool {
        self.database_url
            .as_ref()
            .is_none_or(|u| u.expose().starts_with("sqlite:"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<StorageConfig, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        StorageConfig::from_lookup(move |k| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_to_sqlite_under_data() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert!(c.database_url.is_none() && c.is_sqlite());
        assert_eq!(c.max_connections, 8);
    }

    #[test]
    fn urls_and_pool_sizes_are_checked() {
        let c = parse(&[("AGENTHOST_DATABASE_URL", "postgres://app:pw@db/x")]).unwrap();
        assert!(!c.is_sqlite());
        assert!(!format!("{c:?}").contains("pw"));
        let e = parse(&[("AGENTHOST_DATABASE_URL", "mysql://db/x")]).unwrap_err();
        assert_eq!(e.var, "AGENTHOST_DATABASE_URL");
        let e = parse(&[("AGENTHOST_DATABASE_MAX_CONNECTIONS", "0")]).unwrap_err();
        assert_eq!(e.var, "AGENTHOST_DATABASE_MAX_CONNECTIONS");
    }
}
