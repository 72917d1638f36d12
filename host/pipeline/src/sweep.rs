//! Re-publishes events that were stored but never reached the queue (the process died, or
//! the queue failed, between the two). Publishing twice is harmless: the worker skips an
//! event already done.

use std::sync::Arc;
use std::time::Duration;

use agenthost_queue::{Queue, QueueMessage};
use agenthost_storage::Storage;
use tokio_util::sync::CancellationToken;

/// An event younger than this may still be on its way through ingest.
pub const GRACE: Duration = Duration::from_secs(10);
pub const INTERVAL: Duration = Duration::from_secs(5);
const BATCH: u32 = 500;

/// One pass; returns how many events were re-published.
pub async fn republish_once(storage: &Storage, queue: &dyn Queue) -> Result<usize, String> {
    let cutoff = crate::now_ms() - GRACE.as_millis() as i64;
    let events = storage
        .unenqueued_events(cutoff, BATCH)
        .await
        .map_err(|e| e.to_string())?;
    let mut done = Vec::new();
    for e in &events {
        let Some(lane) = &e.plugin else { continue };
        // Failed attempts already recorded count: this delivery is the next one.
        let msg = QueueMessage {
            event_id: e.id.clone(),
            attempt: u32::try_from(e.attempts.max(0))
                .unwrap_or(0)
                .saturating_add(1),
        };
        match queue.publish(lane, std::slice::from_ref(&msg)).await {
            Ok(()) => done.push(e.id.clone()),
            Err(err) => {
                tracing::warn!(event = %e.id, error = %err, "republish failed; will try again")
            }
        }
    }
    if !done.is_empty() {
        storage
            .mark_enqueued(&done)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(
            count = done.len(),
            "re-published events that had not reached the queue"
        );
    }
    Ok(done.len())
}

pub async fn run(storage: Storage, queue: Arc<dyn Queue>, cancel: CancellationToken) {
    loop {
        if let Err(e) = republish_once(&storage, queue.as_ref()).await {
            tracing::warn!(error = %e, "republish sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = cancel.cancelled() => break,
        }
    }
}
