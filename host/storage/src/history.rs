//! Conversation history as a worker reads it: the last messages of a conversation, oldest
//! first.

use agenthost_core::ConversationId;
use serde::Serialize;
use sqlx::Row;

use crate::error::query;
use crate::sql::{limit, parse_column};
use crate::{Storage, StorageError};

/// Which way a message went: the vocabulary's own type, stored as its text.
pub use agenthost_core::Direction;

/// Reads a `messages.direction` column.
pub(crate) fn direction_from_db(value: String) -> Result<Direction, StorageError> {
    parse_column(value, "messages.direction")
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRow {
    pub direction: Direction,
    pub body: String,
    pub at_ms: i64,
    /// For an outbound message: what Twilio last said of its delivery (`delivered`, ...).
    pub delivery_status: Option<String>,
}

/// Who a conversation is between, and which plugin it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationRow {
    pub id: ConversationId,
    pub plugin: Option<String>,
    pub lead_number: String,
    pub agent_number: String,
}

impl Storage {
    /// The conversations view: what a worker reads to build an invocation — who a
    /// conversation is between, its last messages, and the plugin's state.
    pub fn conversations(&self) -> Conversations {
        Conversations { db: self.clone() }
    }
}

/// The conversations view of [`Storage`] (see [`Storage::conversations`]): one
/// conversation, its history, and a plugin's namespaced state (read here; written only
/// by the worker's commit) — and nothing else.
#[derive(Clone, Debug)]
pub struct Conversations {
    pub(crate) db: Storage,
}

impl Conversations {
    /// One conversation by id.
    pub async fn get(&self, id: &str) -> Result<Option<ConversationRow>, StorageError> {
        sqlx::query("SELECT id, plugin, lead_number, agent_number FROM conversations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(query("conversation"))?
            .map(|r| {
                Ok(ConversationRow {
                    id: ConversationId::from(r.try_get::<String, _>("id")?),
                    plugin: r.try_get("plugin")?,
                    lead_number: r.try_get("lead_number")?,
                    agent_number: r.try_get("agent_number")?,
                })
            })
            .transpose()
            .map_err(query("conversation: decode"))
    }

    /// The last `max_rows` messages of a conversation, returned oldest first.
    ///
    /// `exclude_event_id` leaves out the inbound message that event recorded, so a worker
    /// handling that event sees the history *before* it (the event carries the message
    /// itself).
    pub async fn history(
        &self,
        conversation_id: &str,
        max_rows: u32,
        exclude_event_id: Option<&str>,
    ) -> Result<Vec<HistoryRow>, StorageError> {
        // `COALESCE(event_id = $2, FALSE)` is false for NULL on either side, so a `None`
        // exclusion and messages without an event both pass.
        let rows = sqlx::query(
            "SELECT direction, body, at_ms, delivery_status FROM messages \
             WHERE conversation_id = $1 \
             AND NOT (direction = 'inbound' AND COALESCE(event_id = $2, FALSE)) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(conversation_id)
        .bind(exclude_event_id)
        .bind(limit(max_rows))
        .fetch_all(&self.db.pool)
        .await
        .map_err(query("conversation_history"))?;

        let mut history = rows
            .iter()
            .map(|row| {
                let decode = || query("decode messages row");
                Ok(HistoryRow {
                    direction: direction_from_db(row.try_get("direction").map_err(decode())?)?,
                    body: row.try_get("body").map_err(decode())?,
                    at_ms: row.try_get("at_ms").map_err(decode())?,
                    delivery_status: row.try_get("delivery_status").map_err(decode())?,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        history.reverse();
        Ok(history)
    }
}
