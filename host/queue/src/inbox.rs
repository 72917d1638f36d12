//! The one way a stored event reaches its lane, whatever stored it: the scheduler's job
//! firings, requeued dead letters and the sweep's republishing go through
//! [`enqueue_stored`]; ingest stores a webhook batch and enqueues it in the same commit
//! with [`enqueue_in`] on the embedded queue. An event is stored first, then put on its
//! lane, then marked enqueued; one that was stored but never marked is found and
//! republished by the sweep, so every source gets the same at-least-once handling.

use agenthost_core::EventId;
use agenthost_storage::{Inserted, Storage, StorageError, WriteTx};

use crate::{Queue, QueueError, QueueMessage};

/// Why [`enqueue_stored`] did not finish.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    /// Nothing reached the lane: the events stay un-enqueued and the sweep publishes them.
    #[error("publishing {count} stored events to lane {lane:?} failed; the sweep republishes them")]
    Publish {
        lane: String,
        count: usize,
        #[source]
        source: QueueError,
    },
    /// On a broker: published, but the enqueued marks were not written. The sweep may
    /// publish them again; a worker's claim finds an event already done and skips it.
    #[error("published {count} events to lane {lane:?}, but marking them enqueued failed")]
    Mark {
        lane: String,
        count: usize,
        #[source]
        source: StorageError,
    },
}

/// Puts the stored events of `messages` on `lane` and marks them enqueued. With the queue
/// in the database the queue rows and the marks commit together (no window between
/// them); on a broker the publish is durable on its confirms and the marks follow.
pub async fn enqueue_stored(
    storage: &Storage,
    queue: &dyn Queue,
    lane: &str,
    messages: &[QueueMessage],
) -> Result<(), EnqueueError> {
    if messages.is_empty() {
        return Ok(());
    }
    let publish = |source: QueueError| EnqueueError::Publish {
        lane: lane.to_owned(),
        count: messages.len(),
        source,
    };
    if queue.in_storage() {
        let in_db = |op| {
            let failed = QueueError::in_storage(op, lane);
            move |source| publish(failed(source))
        };
        let mut tx = storage
            .begin_write("enqueue stored events: begin")
            .await
            .map_err(in_db("begin"))?;
        enqueue_in(storage, queue, &mut tx, lane, messages)
            .await
            .map_err(publish)?;
        tx.commit("enqueue stored events: commit")
            .await
            .map_err(in_db("commit"))?;
        queue.published(lane);
        return Ok(());
    }
    queue.publish(lane, messages).await.map_err(publish)?;
    let ids: Vec<EventId> = messages.iter().map(|m| m.event_id.clone()).collect();
    storage
        .events()
        .mark_enqueued(&ids)
        .await
        .map_err(|source| EnqueueError::Mark {
            lane: lane.to_owned(),
            count: messages.len(),
            source,
        })?;
    Ok(())
}

/// Inside the caller's write transaction (a queue in the database only): appends
/// `messages` to `lane` and marks their events enqueued, both durable when it commits.
/// Call [`Queue::published`] after the commit.
pub async fn enqueue_in(
    storage: &Storage,
    queue: &dyn Queue,
    tx: &mut WriteTx,
    lane: &str,
    messages: &[QueueMessage],
) -> Result<(), QueueError> {
    queue.publish_in(tx, lane, messages).await?;
    let ids: Vec<EventId> = messages.iter().map(|m| m.event_id.clone()).collect();
    storage
        .events()
        .mark_enqueued_in(tx, &ids)
        .await
        .map(drop)
        .map_err(QueueError::in_storage("mark enqueued", lane))
}

/// The event to put on the queue after storing `id`: the new event, or the stored one
/// with the same dedupe key if it never reached the queue (a crash or queue failure
/// between storing and enqueueing, and the source tried again).
pub fn to_enqueue<'a>(id: &'a str, inserted: &'a Inserted) -> Option<&'a str> {
    match inserted {
        Inserted::New => Some(id),
        Inserted::Duplicate {
            id,
            status: agenthost_storage::EventStatus::Queued,
            enqueued: false,
        } => Some(id),
        Inserted::Duplicate { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agenthost_storage::EventStatus;

    #[test]
    fn what_to_enqueue_after_storing() {
        let dup = |status, enqueued| Inserted::Duplicate {
            id: "stored".into(),
            status,
            enqueued,
        };
        assert_eq!(to_enqueue("new", &Inserted::New), Some("new"));
        // Stored earlier, never reached the queue: the stored one goes, not the new id.
        assert_eq!(
            to_enqueue("new", &dup(EventStatus::Queued, false)),
            Some("stored")
        );
        assert_eq!(to_enqueue("new", &dup(EventStatus::Queued, true)), None);
        assert_eq!(to_enqueue("new", &dup(EventStatus::Done, false)), None);
    }
}
