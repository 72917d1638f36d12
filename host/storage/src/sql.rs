//! Small SQL helpers shared by the query modules: placeholder lists, flag decoding, limits
//! and the string-backed enums stored in status/kind columns.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Backend;

/// Rows per multi-row statement. Keeps bind counts (rows × columns) far below SQLite's
/// 32,766 and PostgreSQL's 65,535 parameter limits.
pub(crate) const MAX_ROWS_PER_STATEMENT: usize = 200;

/// `($1, $2, …), (…)` for `rows` tuples of `columns` placeholders, numbered from 1 in
/// reading order (SQLite spells them `?`: see [`Backend::push_placeholder`]).
pub(crate) fn values_tuples(backend: Backend, rows: usize, columns: usize) -> String {
    let mut out = String::with_capacity(rows * (columns * 6 + 4));
    let mut n = 1;
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for column in 0..columns {
            if column > 0 {
                out.push_str(", ");
            }
            backend.push_placeholder(&mut out, n);
            n += 1;
        }
        out.push(')');
    }
    out
}

/// `$1, $2, …` for an `IN (…)` list of `count` values that are the statement's only
/// parameters.
pub(crate) fn placeholder_list(backend: Backend, count: usize) -> String {
    let mut out = String::with_capacity(count * 6);
    for n in 1..=count {
        if n > 1 {
            out.push_str(", ");
        }
        backend.push_placeholder(&mut out, n);
    }
    out
}

/// Reads a flag column: PostgreSQL stores `BOOLEAN`, SQLite `INTEGER` 0/1.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    match row.try_get::<bool, _>(column) {
        Ok(value) => Ok(value),
        Err(_) => row.try_get::<i64, _>(column).map(|value| value != 0),
    }
}

/// A caller's row limit as the `i64` a `LIMIT $n` binds.
pub(crate) fn limit(n: u32) -> i64 {
    i64::from(n)
}

/// Reads a column holding one of a text-spelled enum's values (core's [`RolloutMode`],
/// [`DeployAction`], [`Direction`], …); anything else is reported as corrupt.
///
/// [`RolloutMode`]: agenthost_core::RolloutMode
/// [`DeployAction`]: agenthost_core::DeployAction
/// [`Direction`]: agenthost_core::Direction
pub(crate) fn parse_column<T: std::str::FromStr>(
    value: String,
    column: &'static str,
) -> Result<T, crate::StorageError> {
    match value.parse() {
        Ok(parsed) => Ok(parsed),
        Err(_) => Err(crate::StorageError::Corrupt { column, value }),
    }
}

/// Defines an enum stored as lower-case text in `$column`: core's
/// [`agenthost_core::named_enum!`] (`as_str`, `Display`, `FromStr`, serde in the same
/// spelling) plus a checked `from_db` that reports unknown values as corrupt.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident in $column:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        agenthost_core::named_enum! {
            $(#[$meta])*
            pub enum $name as $column {
                $( $(#[$vmeta])* $variant = $text, )+
            }
        }

        impl $name {
            pub(crate) fn from_db(value: String) -> Result<Self, $crate::StorageError> {
                $crate::sql::parse_column(value, $column)
            }
        }
    };
}
pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_placeholders() {
        let pg = Backend::Postgres;
        assert_eq!(values_tuples(pg, 2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(placeholder_list(pg, 3), "$1, $2, $3");
        assert_eq!(values_tuples(Backend::Sqlite, 2, 2), "(?, ?), (?, ?)");
        assert_eq!(placeholder_list(Backend::Sqlite, 2), "?, ?");
    }
}
