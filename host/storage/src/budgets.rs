//! The durable per-day budget ledger: what each subject (a plugin, or `<plugin>@shadow`)
//! spent per budget (`sms_segments`, `llm_tokens`, `jobs`) and UTC day, shared by every
//! replica and surviving restarts.

use sqlx::Row;

use crate::error::query;
use crate::{Storage, StorageError};

impl Storage {
    /// The budgets view: the durable per-day ledger the runtime's budget checks read and
    /// charge.
    pub fn budgets(&self) -> Budgets {
        Budgets { db: self.clone() }
    }
}

/// The budgets view of [`Storage`] (see [`Storage::budgets`]): what a subject spent
/// today, charging it, and the first exhaustion of a day — and nothing else.
#[derive(Clone, Debug)]
pub struct Budgets {
    db: Storage,
}

impl Budgets {
    /// Units of `budget` that `subject` spent on `day` (0 if nothing yet).
    pub async fn spent(&self, subject: &str, budget: &str, day: i64) -> Result<u64, StorageError> {
        let spent: Option<i64> = sqlx::query(
            "SELECT spent FROM budgets WHERE subject = $1 AND budget = $2 AND day = $3",
        )
        .bind(subject)
        .bind(budget)
        .bind(day)
        .fetch_optional(&self.db.pool)
        .await
        .map_err(query("budget_spent"))?
        .map(|r| r.try_get("spent"))
        .transpose()
        .map_err(query("budget_spent: decode"))?;
        Ok(u64::try_from(spent.unwrap_or(0)).unwrap_or(0))
    }

    /// Adds `amount` to what `subject` spent on `day`, whatever the limit (tokens already
    /// spent at a provider). Returns the new total.
    pub async fn charge(
        &self,
        subject: &str,
        budget: &str,
        day: i64,
        amount: u64,
    ) -> Result<u64, StorageError> {
        let mut tx = self.db.begin_write("budget_charge: begin").await?;
        let total = charge(&mut tx, subject, budget, day, amount, None).await?;
        tx.commit("budget_charge: commit").await?;
        Ok(total.unwrap_or(0))
    }

    /// Marks `subject`'s `budget` exhausted on `day`; `true` only for the first call (of
    /// any replica), so the exhaustion is alerted once.
    pub async fn first_exhaustion(
        &self,
        subject: &str,
        budget: &str,
        day: i64,
        now_ms: i64,
    ) -> Result<bool, StorageError> {
        let mut tx = self
            .db
            .begin_write("budget_first_exhaustion: begin")
            .await?;
        sqlx::query(
            "INSERT INTO budgets (subject, budget, day, spent) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (subject, budget, day) DO NOTHING",
        )
        .bind(subject)
        .bind(budget)
        .bind(day)
        .execute(&mut *tx)
        .await
        .map_err(query("budget_first_exhaustion: ensure row"))?;
        let first = sqlx::query(
            "UPDATE budgets SET exhausted_at = $4 \
             WHERE subject = $1 AND budget = $2 AND day = $3 AND exhausted_at IS NULL",
        )
        .bind(subject)
        .bind(budget)
        .bind(day)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(query("budget_first_exhaustion: mark"))?
        .rows_affected()
            > 0;
        tx.commit("budget_first_exhaustion: commit").await?;
        Ok(first)
    }
}

/// Adds `amount` to a budget row inside a transaction. With `limit`, only if the new total
/// stays within it: `None` is returned (nothing changed) when it would not.
pub(crate) async fn charge(
    conn: &mut sqlx::AnyConnection,
    subject: &str,
    budget: &str,
    day: i64,
    amount: u64,
    limit: Option<u64>,
) -> Result<Option<u64>, StorageError> {
    let amount = i64::try_from(amount).unwrap_or(i64::MAX);
    let limit = limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX));
    if limit.is_some_and(|l| amount > l) {
        return Ok(None);
    }
    let row = sqlx::query(
        "INSERT INTO budgets (subject, budget, day, spent) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (subject, budget, day) DO UPDATE SET spent = budgets.spent + excluded.spent \
         WHERE $5 IS NULL OR budgets.spent + excluded.spent <= $5 \
         RETURNING spent",
    )
    .bind(subject)
    .bind(budget)
    .bind(day)
    .bind(amount)
    .bind(limit)
    .fetch_optional(&mut *conn)
    .await
    .map_err(query("charge budget"))?;
    row.map(|r| r.try_get::<i64, _>("spent"))
        .transpose()
        .map_err(query("charge budget: decode"))
        .map(|s| s.map(|s| u64::try_from(s).unwrap_or(0)))
}
