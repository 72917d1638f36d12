//! The two database engines and the few places their SQL differs. Every backend-specific
//! string in the crate lives here or in the per-backend migration files.

use std::fmt;

/// Which engine a [`crate::Storage`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded single-file database; the default.
    Sqlite,
    /// Shared database for many replicas.
    Postgres,
}

impl Backend {
    /// Statement that opens a transaction that will write.
    ///
    /// SQLite's plain `BEGIN` takes the write lock only at the first write, and a
    /// transaction that read first then fails with `SQLITE_BUSY` (which `busy_timeout` does
    /// not retry) if another connection committed meanwhile. `BEGIN IMMEDIATE` takes the
    /// lock up front, so writers queue on `busy_timeout` instead.
    pub(crate) fn begin_write_sql(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// Suffix of the sub-select that picks rows to claim. On PostgreSQL concurrent claimers
    /// skip each other's locked rows instead of waiting or double-claiming; SQLite has one
    /// writer at a time, so a single `UPDATE … RETURNING` is already atomic.
    pub(crate) fn claim_lock_clause(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }

    /// Appends the placeholder of bind parameter `n` (1-based) of a generated statement
    /// whose parameters are all numbered in order. SQLite gets an anonymous `?`: it
    /// resolves every `$N` by a linear search of the names seen so far, which made a
    /// 1,800-parameter multi-row insert ~6x slower. PostgreSQL accepts only `$N`.
    pub(crate) fn push_placeholder(self, out: &mut String, n: usize) {
        match self {
            Backend::Sqlite => out.push('?'),
            Backend::Postgres => {
                out.push('$');
                out.push_str(&n.to_string());
            }
        }
    }

    /// Lower-case name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
