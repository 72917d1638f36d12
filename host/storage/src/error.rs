//! The storage error type: every failure names the operation or input that went wrong.

use std::path::PathBuf;

/// Everything that can go wrong in this crate. Messages name the failing operation; URLs in
/// them are always passed through [`crate::redact_url`] first, so no password is ever shown.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database URL's scheme is not one this crate can serve.
    #[error(
        "unsupported database url scheme `{scheme}` in `{url}` (expected sqlite:, postgres: or postgresql:)"
    )]
    UnsupportedScheme {
        /// The scheme as written (without the colon).
        scheme: String,
        /// The whole URL, password masked.
        url: String,
    },

    /// The data directory (or the SQLite path inside it) could not be prepared.
    #[error("cannot prepare data directory `{}`: {reason}", path.display())]
    DataDir {
        /// The directory that was to hold `agenthost.db`.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },

    /// Opening the pool (or its first connection) failed.
    #[error("cannot connect to `{url}`: {source}")]
    Connect {
        /// The URL, password masked.
        url: String,
        #[source]
        source: sqlx::Error,
    },

    /// Bringing the schema up to date failed (a migration's error, or an applied
    /// migration whose file changed since: its checksum no longer matches).
    #[error("schema migration failed: {reason}")]
    Migrate { reason: String },

    /// A query failed. `op` names the storage operation and the step within it.
    #[error("{op} failed: {source}")]
    Query {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },

    /// The group commit holding this relaxed write failed (see `Storage::relaxed_batch`):
    /// nothing of the write stayed. `source` is the batch's error, shared by its writes.
    #[error("{op} failed: its group commit failed: {source}")]
    Batch {
        op: &'static str,
        #[source]
        source: std::sync::Arc<StorageError>,
    },

    /// Another write of the same group commit failed in a way that may have ended the
    /// transaction (an I/O error, a full disk): the batch was rolled back, nothing of
    /// this write stayed.
    #[error("another write of its group commit failed; the batch was rolled back")]
    BatchAborted,

    /// The process's writer task stopped before answering (its runtime is shutting down);
    /// whether the write stayed is unknown.
    #[error("{op} failed: the storage writer task stopped")]
    WriterGone { op: &'static str },

    /// A row held a value this crate never writes (e.g. an unknown status string).
    #[error("unexpected value in {column}: `{value}`")]
    Corrupt {
        /// `table.column` of the offending value.
        column: &'static str,
        value: String,
    },
}

/// Shorthand for wrapping a sqlx error with the name of the operation that raised it:
/// `.map_err(query("insert_events: insert event"))`.
pub(crate) fn query(op: &'static str) -> impl FnOnce(sqlx::Error) -> StorageError {
    StorageError::query(op)
}

impl StorageError {
    /// Wraps a sqlx error with the name of the operation that raised it, for callers
    /// writing through [`crate::Storage::relaxed_batch`] from another crate.
    pub fn query(op: &'static str) -> impl FnOnce(sqlx::Error) -> StorageError {
        move |source| StorageError::Query { op, source }
    }
}
