//! The admin audit log: every admin call, allowed or refused, with the actor bound to the
//! token used, its scope, the source address, and the answer's status.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::query;
use crate::{Storage, StorageError};

/// One admin call to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAudit<'a> {
    pub at_ms: i64,
    /// The name bound to the token; `None` when no valid token came.
    pub actor: Option<&'a str>,
    pub scope: Option<&'a str>,
    pub method: &'a str,
    /// The request path (no query string: it may carry notes, never secrets, but stays short).
    pub path: &'a str,
    pub source: Option<&'a str>,
    pub status: u16,
    /// `ok`, `refused` (authenticated, not allowed), `unauthorized`, `failed` (4xx/5xx).
    pub outcome: &'a str,
}

/// A recorded admin call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub at_ms: i64,
    pub actor: Option<String>,
    pub scope: Option<String>,
    pub method: String,
    pub path: String,
    pub source: Option<String>,
    pub status: i64,
    pub outcome: String,
}

/// Longest path kept; longer ones are cut (a caller cannot fill the table with one call).
const MAX_PATH: usize = 512;

impl Storage {
    /// The audit view: the admin API's record of who called what.
    pub fn audit(&self) -> Audit {
        Audit { db: self.clone() }
    }
}

/// The audit view of [`Storage`] (see [`Storage::audit`]): recording an admin call and
/// reading them back — and nothing else.
#[derive(Clone, Debug)]
pub struct Audit {
    db: Storage,
}

impl Audit {
    /// Records one admin call.
    pub async fn record(&self, a: &NewAudit<'_>) -> Result<(), StorageError> {
        let path = truncate(a.path, MAX_PATH);
        let mut tx = self.db.begin_write("record_admin_call: begin").await?;
        sqlx::query(
            "INSERT INTO admin_audit (at_ms, actor, scope, method, path, source, status, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(a.at_ms)
        .bind(a.actor)
        .bind(a.scope)
        .bind(a.method)
        .bind(path)
        .bind(a.source)
        .bind(i64::from(a.status))
        .bind(a.outcome)
        .execute(&mut *tx)
        .await
        .map_err(query("record_admin_call"))?;
        tx.commit("record_admin_call: commit").await?;
        Ok(())
    }

    /// The newest admin calls first, at most `limit`, optionally only `actor`'s and only
    /// those before id `before` (for paging).
    pub async fn recent(
        &self,
        actor: Option<&str>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StorageError> {
        // Conditions are added only when given: an untyped NULL parameter is an error on
        // PostgreSQL.
        let mut sql = String::from(
            "SELECT id, at_ms, actor, scope, method, path, source, \
             CAST(status AS BIGINT) AS status, outcome FROM admin_audit WHERE 1 = 1",
        );
        let mut n = 0;
        if actor.is_some() {
            n += 1;
            sql.push_str(&format!(" AND actor = ${n}"));
        }
        if before.is_some() {
            n += 1;
            sql.push_str(&format!(" AND id < ${n}"));
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
        let mut q = sqlx::query(&sql);
        if let Some(actor) = actor {
            q = q.bind(actor);
        }
        if let Some(before) = before {
            q = q.bind(before);
        }
        let rows = q
            .bind(i64::from(limit))
            .fetch_all(&self.db.pool)
            .await
            .map_err(query("admin_audit"))?;
        rows.iter().map(audit_row).collect()
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn audit_row(row: &AnyRow) -> Result<AuditRow, StorageError> {
    let decode = || query("decode admin_audit row");
    Ok(AuditRow {
        id: row.try_get("id").map_err(decode())?,
        at_ms: row.try_get("at_ms").map_err(decode())?,
        actor: row.try_get("actor").map_err(decode())?,
        scope: row.try_get("scope").map_err(decode())?,
        method: row.try_get("method").map_err(decode())?,
        path: row.try_get("path").map_err(decode())?,
        source: row.try_get("source").map_err(decode())?,
        status: row.try_get("status").map_err(decode())?,
        outcome: row.try_get("outcome").map_err(decode())?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_path_is_cut_on_a_character_boundary() {
        let s = "é".repeat(300);
        let cut = super::truncate(&s, 511);
        assert_eq!(cut.len(), 510);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(super::truncate("/admin/x", 512), "/admin/x");
    }
}
