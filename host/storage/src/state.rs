//! Each plugin's namespaced key/value state: reads here, writes only through a worker
//! commit (`commit`), so state changes are atomic with the effects that depend on them.

use sqlx::Row;

use crate::error::query;
use crate::sql::limit;
use crate::{Conversations, StorageError};

impl Conversations {
    /// The value of one of `plugin`'s keys, if set.
    /// A committed value and its version (raised on every committed write), or `None`.
    pub async fn state(
        &self,
        plugin: &str,
        key: &str,
    ) -> Result<Option<(String, i64)>, StorageError> {
        sqlx::query("SELECT value, version FROM plugin_state WHERE plugin = $1 AND key = $2")
            .bind(plugin)
            .bind(key)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(query("state_get"))?
            .map(|row| Ok((row.try_get("value")?, row.try_get("version")?)))
            .transpose()
            .map_err(query("state_get: decode"))
    }

    pub async fn state_keys(
        &self,
        plugin: &str,
        prefix: &str,
        max_rows: u32,
    ) -> Result<Vec<String>, StorageError> {
        let rows = match prefix_successor(prefix) {
            Some(upper) => {
                sqlx::query(
                    "SELECT key FROM plugin_state WHERE plugin = $1 AND key >= $2 AND key < $3 \
                     ORDER BY key LIMIT $4",
                )
                .bind(plugin)
                .bind(prefix)
                .bind(upper)
                .bind(limit(max_rows))
                .fetch_all(&self.db.pool)
                .await
            }
            None => {
                sqlx::query(
                    "SELECT key FROM plugin_state WHERE plugin = $1 AND key >= $2 \
                     ORDER BY key LIMIT $3",
                )
                .bind(plugin)
                .bind(prefix)
                .bind(limit(max_rows))
                .fetch_all(&self.db.pool)
                .await
            }
        }
        .map_err(query("state_list_keys"))?;
        rows.iter()
            .map(|row| row.try_get("key"))
            .collect::<Result<_, _>>()
            .map_err(query("state_list_keys: decode"))
    }
}

/// The smallest string greater than every string that starts with `prefix`, in code point
/// (= UTF-8 byte) order; `None` when no such bound exists (empty prefix, or one made only
/// of `char::MAX`), in which case every key `>= prefix` matches.
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_successor;

    #[test]
    fn successor_bounds_the_prefix() {
        assert_eq!(prefix_successor("lead:"), Some("lead;".to_owned()));
        assert_eq!(prefix_successor("a%"), Some("a&".to_owned()));
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("a\u{10FFFF}"), Some("b".to_owned()));
        assert_eq!(prefix_successor("\u{D7FF}"), Some("\u{E000}".to_owned()));
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
    }
}
