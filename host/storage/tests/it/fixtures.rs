//! Builders for test inputs and small SQL probes shared by the cases.

use agenthost_storage::{Commit, EventKind, InboundMessage, NewEvent, NewOutbound, Storage};

pub const PLUGIN: &str = "landlord-rep";
pub const LEAD: &str = "+15550000001";
pub const AGENT: &str = "+15559990000";

/// A routed inbound SMS event in `conversation`.
pub fn message_event(
    id: &str,
    dedupe_key: &str,
    conversation: &str,
    body: &str,
    at_ms: i64,
) -> NewEvent {
    NewEvent {
        id: id.into(),
        dedupe_key: dedupe_key.to_owned(),
        kind: EventKind::Message,
        plugin: Some(PLUGIN.to_owned()),
        conversation_id: Some(conversation.into()),
        payload: format!(r#"{{"body":"{body}"}}"#),
        received_at_ms: at_ms,
        inbound: Some(InboundMessage {
            opt_out: None,
            host_reply: None,
            lead_number: LEAD.to_owned(),
            agent_number: AGENT.to_owned(),
            body: body.to_owned(),
        }),
    }
}

/// A routed job event with no conversation.
pub fn job_event(id: &str, dedupe_key: &str, at_ms: i64) -> NewEvent {
    NewEvent {
        id: id.into(),
        dedupe_key: dedupe_key.to_owned(),
        kind: EventKind::Job,
        plugin: Some(PLUGIN.to_owned()),
        conversation_id: None,
        payload: "{}".to_owned(),
        received_at_ms: at_ms,
        inbound: None,
    }
}

/// A commit for `event_id` with no effects.
pub fn empty_commit(event_id: &str, now_ms: i64) -> Commit {
    Commit::new(event_id, PLUGIN, "1.0.0", now_ms)
}

/// An unsuppressed SMS to the lead.
pub fn sms(id: &str, conversation: Option<&str>, body: &str) -> NewOutbound {
    NewOutbound {
        id: id.to_owned(),
        conversation_id: conversation.map(Into::into),
        to: LEAD.to_owned(),
        from: AGENT.to_owned(),
        body: body.to_owned(),
        suppressed: false,
        initiated: false,
        segments: 1,
    }
}

/// Stores `event` (asserting it is new) and returns its id.
pub async fn store(db: &Storage, event: NewEvent) -> anyhow::Result<String> {
    let id = event.id.to_string();
    let inserted = db.events().insert(&[event]).await?;
    anyhow::ensure!(
        inserted == [agenthost_storage::Inserted::New],
        "{inserted:?}"
    );
    Ok(id)
}

/// `SELECT COUNT(*) FROM {table} [WHERE {filter}]`.
pub async fn count(db: &Storage, table: &str, filter: &str) -> anyhow::Result<i64> {
    let filter = if filter.is_empty() {
        String::new()
    } else {
        format!(" WHERE {filter}")
    };
    let n = sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}{filter}"))
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}
