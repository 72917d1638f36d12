//! Re-publishes events that were stored but never reached the queue (the process died, or
//! the queue failed, between the two), and reconciles the database with the broker:
//! events that reached the queue but have been due for longer than [`RECONCILE_AFTER`],
//! with no worker holding them, are published again (a broker that lost messages costs
//! minutes, not leads). Publishing twice is harmless: a worker's claim skips an event
//! already done or held.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use agenthost_queue::{EnqueueError, Queue, QueueMessage, enqueue_stored};
use agenthost_storage::{Storage, StorageError};
use tokio_util::sync::CancellationToken;

/// An event younger than this may still be on its way through ingest.
pub const GRACE: Duration = Duration::from_secs(10);
/// How long past its due time a queued, unheld event may wait before it is published
/// again. Longer than a retry's own wait (the backoff caps at 60 s), so only messages the
/// broker lost (or a long outage) are republished.
pub const RECONCILE_AFTER: Duration = Duration::from_secs(90);
pub const INTERVAL: Duration = Duration::from_secs(5);
const BATCH: u32 = 500;

/// One pass; returns how many events were re-published.
pub async fn republish_once(storage: &Storage, queue: &dyn Queue) -> Result<usize, StorageError> {
    let cutoff = crate::now_ms() - GRACE.as_millis() as i64;
    let events = storage.events().unenqueued(cutoff, BATCH).await?;
    let mut by_lane: BTreeMap<&str, Vec<QueueMessage>> = BTreeMap::new();
    for e in &events {
        let Some(lane) = &e.plugin else { continue };
        // Failed attempts already recorded count: this delivery is the next one.
        by_lane.entry(lane).or_default().push(QueueMessage {
            event_id: e.id.clone(),
            attempt: u32::try_from(e.attempts.max(0))
                .unwrap_or(0)
                .saturating_add(1),
        });
    }
    let mut done = 0;
    for (lane, messages) in &by_lane {
        // The way every event source reaches its lane; what fails is found next pass.
        match enqueue_stored(storage, queue, lane, messages).await {
            Ok(()) => done += messages.len(),
            Err(EnqueueError::Mark { source, .. }) => {
                done += messages.len();
                tracing::warn!(lane, error = %source, "republished, but not marked enqueued; may be published again")
            }
            Err(EnqueueError::Publish { source, .. }) => {
                tracing::warn!(lane, error = %source, count = messages.len(), "republish failed; will try again")
            }
        }
    }
    if done > 0 {
        tracing::info!(
            count = done,
            "re-published events that had not reached the queue"
        );
    }
    Ok(done)
}

/// One reconciliation pass; returns how many overdue events were published again.
pub async fn reconcile_once(
    storage: &Storage,
    queue: &dyn Queue,
    after: Duration,
) -> Result<usize, StorageError> {
    let now = crate::now_ms();
    let events = storage
        .events()
        .overdue(now - after.as_millis() as i64, now, BATCH)
        .await?;
    let mut republished = 0;
    for e in &events {
        let Some(lane) = &e.plugin else { continue };
        let msg = QueueMessage {
            event_id: e.id.clone(),
            attempt: u32::try_from(e.deliveries.max(0))
                .unwrap_or(0)
                .saturating_add(1),
        };
        match queue.publish(lane, std::slice::from_ref(&msg)).await {
            Ok(()) => {
                republished += 1;
                // Measure the next wait from now, so one lost message is republished once
                // per period, not on every pass.
                if let Err(err) = storage.claims().set_event_due(&e.id, now).await {
                    tracing::warn!(event = %e.id, error = %err, "could not mark a reconciled event");
                }
            }
            Err(err) => {
                tracing::warn!(event = %e.id, error = %err, "reconcile publish failed; will try again")
            }
        }
    }
    if republished > 0 {
        tracing::warn!(
            count = republished,
            "reconciled: republished queued events the queue had not delivered in time"
        );
    }
    Ok(republished)
}

pub async fn run(storage: Storage, queue: Arc<dyn Queue>, cancel: CancellationToken) {
    loop {
        if let Err(e) = republish_once(&storage, queue.as_ref()).await {
            tracing::warn!(error = %e, "republish sweep failed");
        }
        // A queue in the database cannot lose what the database holds: nothing to
        // reconcile there.
        if !queue.in_storage()
            && let Err(e) = reconcile_once(&storage, queue.as_ref(), RECONCILE_AFTER).await
        {
            tracing::warn!(error = %e, "reconcile pass failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = cancel.cancelled() => break,
        }
    }
}
