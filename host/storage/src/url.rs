//! Database URLs: which backend a URL names and the default SQLite URL. Passwords are
//! masked by `agenthost_core::redact_url`.

use std::path::Path;

use agenthost_core::redact_url;

use crate::{Backend, StorageError};

/// File name of the embedded database inside the data directory.
pub const SQLITE_FILE_NAME: &str = "agenthost.db";

/// The backend a database URL names, from its scheme; any other scheme is an error that
/// quotes the (redacted) URL.
pub(crate) fn backend_for_url(url: &str) -> Result<Backend, StorageError> {
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => Ok(Backend::Sqlite),
        "postgres" | "postgresql" => Ok(Backend::Postgres),
        _ => Err(StorageError::UnsupportedScheme {
            scheme: scheme.to_owned(),
            url: redact_url(url),
        }),
    }
}

/// The URL of the embedded database `{data_dir}/agenthost.db`, creating `data_dir` if needed.
/// `mode=rwc` creates the file on first start.
pub(crate) fn default_sqlite_url(data_dir: &Path) -> Result<String, StorageError> {
    let data_dir_error = |reason: String| StorageError::DataDir {
        path: data_dir.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(data_dir).map_err(|e| data_dir_error(e.to_string()))?;
    // Absolute, so the URL cannot be misread as `sqlite://host/...`.
    let dir = std::fs::canonicalize(data_dir).map_err(|e| data_dir_error(e.to_string()))?;
    let file = dir.join(SQLITE_FILE_NAME);
    let file = file
        .to_str()
        .ok_or_else(|| data_dir_error("path is not valid UTF-8".to_owned()))?;
    Ok(format!("sqlite://{}?mode=rwc", percent_encode_path(file)))
}

/// Percent-encodes every byte of `path` except unreserved characters and `/`; sqlx decodes
/// the file name again, so `?`, `#`, `%` and spaces in directory names survive.
fn percent_encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_scheme() {
        assert_eq!(backend_for_url("sqlite:x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(
            backend_for_url("postgres://h/d").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            backend_for_url("PostgreSQL://h/d").ok(),
            Some(Backend::Postgres)
        );
        let err = backend_for_url("mysql://root:pw@h/d")
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("`mysql`"), "{err}");
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn sqlite_path_is_percent_encoded() {
        assert_eq!(
            percent_encode_path("/tmp/a b/%?#.db"),
            "/tmp/a%20b/%25%3F%23.db"
        );
    }
}
