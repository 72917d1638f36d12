//! Database URLs: which backend a URL names, the default SQLite URL, and password redaction.

use std::path::Path;

use crate::{Backend, StorageError};

/// File name of the embedded database inside the data directory.
pub const SQLITE_FILE_NAME: &str = "agenthost.db";

/// What replaces a password in [`redact_url`]'s output.
const REDACTED: &str = "***";

/// Query parameters whose values are secrets (libpq accepts `?password=`).
const SECRET_PARAMS: &[&str] = &["password", "sslpassword"];

/// Returns `url` with any password masked: the `user:password@` part of the authority and
/// `password=`/`sslpassword=` query parameters. Use it for every URL that reaches a log line
/// or an error message.
///
/// `postgres://app:s3cret@db:5432/agenthost` becomes `postgres://app:***@db:5432/agenthost`.
pub fn redact_url(url: &str) -> String {
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((head, frag)) => (head, Some(frag)),
        None => (url, None),
    };
    let (before_query, query) = match before_fragment.split_once('?') {
        Some((head, q)) => (head, Some(q)),
        None => (before_fragment, None),
    };

    let mut out = String::with_capacity(url.len());
    match before_query.split_once("://") {
        Some((scheme, rest)) => {
            out.push_str(scheme);
            out.push_str("://");
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    match userinfo.split_once(':') {
                        Some((user, _password)) => {
                            out.push_str(user);
                            out.push(':');
                            out.push_str(REDACTED);
                        }
                        None => out.push_str(userinfo),
                    }
                    out.push('@');
                    out.push_str(host);
                }
                None => out.push_str(authority),
            }
            out.push_str(path);
        }
        None => out.push_str(before_query),
    }

    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _value))
                    if SECRET_PARAMS.iter().any(|s| key.eq_ignore_ascii_case(s)) =>
                {
                    format!("{key}={REDACTED}")
                }
                _ => param.to_owned(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

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
    fn redacts_password_in_authority() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/agenthost"),
            "postgres://app:***@db.internal:5432/agenthost"
        );
        // An '@' inside the password must not leak the tail of it.
        assert_eq!(
            redact_url("postgresql://app:p@ss@db/x?sslmode=require"),
            "postgresql://app:***@db/x?sslmode=require"
        );
    }

    #[test]
    fn redacts_password_query_parameter() {
        assert_eq!(
            redact_url("postgres://db/x?user=app&Password=hunter2&sslmode=disable"),
            "postgres://db/x?user=app&Password=***&sslmode=disable"
        );
    }

    #[test]
    fn leaves_urls_without_secrets_alone() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/",
            "sqlite:///var/lib/agenthost/agenthost.db?mode=rwc",
            "sqlite:agenthost.db",
            "not a url",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

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
