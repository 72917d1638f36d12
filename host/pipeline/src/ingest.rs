//! Durable acceptance of inbound events with group commit: webhooks queue up on a
//! channel, one task stores a whole batch in ONE transaction (deduplicated by provider id),
//! publishes the new ones to their plugins' lanes, then answers every waiting request.
//! An fsync per batch instead of per request is what makes thousands per second durable.
//!
//! An event is accepted once it is STORED: a broker that cannot take it right then does
//! not refuse the lead's text (Twilio does not retry a refused webhook by default); the
//! sweep publishes it when the broker is back.

use std::collections::BTreeMap;
use std::sync::Arc;

use agenthost_core::{AlertKind, EventId, HostAlert, Severity};
use agenthost_queue::{Queue, QueueError, QueueMessage, to_enqueue};
use agenthost_storage::{Inserted, NewEvent, Storage, StorageError};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Requests one batch may carry. Bounds a transaction's size and the latency of the
/// first request in it.
pub const MAX_BATCH: usize = 512;
/// Requests waiting for a batch before submitters feel back-pressure.
pub const CHANNEL_CAPACITY: usize = 8_192;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Stored and queued for its plugin.
    Queued,
    /// Seen before (a provider retry): not processed again.
    Duplicate,
    /// No plugin serves the number: stored, alerted, not processed.
    Unrouted,
    /// The host answered it itself (HELP): stored with the answer, no plugin sees it.
    AnsweredByHost,
}

/// Why a submission was not accepted. Cheap to clone (one batch's error answers each of
/// its requests); the cause is kept as the source.
#[derive(Debug, Clone, thiserror::Error)]
pub enum IngestError {
    #[error("storage failed: {0}")]
    Storage(#[source] Arc<StorageError>),
    #[error("queue failed: {0}")]
    Queue(#[source] Arc<QueueError>),
    #[error("ingest is shutting down")]
    Closed,
}

impl From<StorageError> for IngestError {
    fn from(e: StorageError) -> Self {
        IngestError::Storage(Arc::new(e))
    }
}

impl From<QueueError> for IngestError {
    fn from(e: QueueError) -> Self {
        IngestError::Queue(Arc::new(e))
    }
}

/// One event to accept. `lane` is the routed plugin (`None`: unrouted).
#[derive(Debug, Clone)]
pub struct Submission {
    pub event: NewEvent,
    pub lane: Option<String>,
}

struct Pending {
    submission: Submission,
    reply: oneshot::Sender<Result<Accepted, IngestError>>,
}

/// Handle for submitting events; cheap to clone.
#[derive(Debug, Clone)]
pub struct Ingest {
    tx: mpsc::Sender<Pending>,
}

impl Ingest {
    /// Starts the batching task; it runs until `cancel` fires and the channel drains.
    pub fn start(
        storage: Storage,
        queue: Arc<dyn Queue>,
        cancel: CancellationToken,
    ) -> (Ingest, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let task = tokio::spawn(run(storage, queue, rx, cancel));
        (Ingest { tx }, task)
    }

    /// Resolves once the event is durable (stored, and queued if routed).
    pub async fn submit(&self, submission: Submission) -> Result<Accepted, IngestError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Pending { submission, reply })
            .await
            .map_err(|_| IngestError::Closed)?;
        rx.await.map_err(|_| IngestError::Closed)?
    }
}

async fn run(
    storage: Storage,
    queue: Arc<dyn Queue>,
    mut rx: mpsc::Receiver<Pending>,
    cancel: CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = tokio::select! {
            p = rx.recv() => p,
            _ = cancel.cancelled() => { rx.close(); rx.recv().await }
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let enqueued = accept_batch(&storage, queue.as_ref(), &mut batch).await;
        // Bookkeeping off the response path: the sweep republishes anything not marked.
        if !enqueued.is_empty()
            && let Err(e) = storage.events().mark_enqueued(&enqueued).await
        {
            tracing::warn!(error = %e, count = enqueued.len(), "could not mark events enqueued; the sweep will republish them");
        }
    }
    tracing::debug!("ingest stopped");
}

/// Stores, publishes and answers one batch. Returns the ids that reached the queue and
/// still need marking (with a queue in the database, marking shares the one commit).
async fn accept_batch(
    storage: &Storage,
    queue: &dyn Queue,
    batch: &mut Vec<Pending>,
) -> Vec<EventId> {
    let events: Vec<NewEvent> = batch.iter().map(|p| p.submission.event.clone()).collect();
    if queue.in_storage() {
        return match store_and_enqueue(storage, queue, batch, &events).await {
            Ok(results) => {
                answer(storage, batch, results).await;
                Vec::new()
            }
            Err(e) => {
                tracing::error!(error = %e, count = batch.len(), "storing inbound events failed; answering 5xx so the provider retries");
                for p in batch.drain(..) {
                    let _ = p.reply.send(Err(e.clone()));
                }
                Vec::new()
            }
        };
    }
    let inserted = match storage.events().insert(&events).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, count = batch.len(), "storing inbound events failed; answering 5xx so the provider retries");
            let e = Arc::new(e);
            for p in batch.drain(..) {
                let _ = p.reply.send(Err(IngestError::Storage(e.clone())));
            }
            return Vec::new();
        }
    };
    let (by_lane, results) = classify(batch, &inserted);
    // Stored is accepted: answer now, then hand the events to the broker. What it does
    // not take stays un-enqueued and the sweep publishes it later.
    answer(storage, batch, results).await;
    let mut enqueued = Vec::new();
    for (lane, messages) in &by_lane {
        match queue.publish(lane, messages).await {
            Ok(()) => enqueued.extend(messages.iter().map(|m| m.event_id.clone())),
            Err(e) => {
                tracing::warn!(lane = %lane, error = %e, count = messages.len(), "enqueue failed; the events are stored and the sweep publishes them when the queue is back");
            }
        }
    }
    enqueued
}

/// The embedded queue's path: events, queue rows and the enqueued marks in ONE commit,
/// so a batch costs one fsync and there is no window between storing and queueing.
async fn store_and_enqueue(
    storage: &Storage,
    queue: &dyn Queue,
    batch: &[Pending],
    events: &[NewEvent],
) -> Result<Vec<Accepted>, IngestError> {
    let mut tx = storage.begin_write("ingest: begin").await?;
    let inserted = storage.events().insert_in(&mut tx, events).await?;
    let (by_lane, results) = classify(batch, &inserted);
    for (lane, messages) in &by_lane {
        agenthost_queue::enqueue_in(storage, queue, &mut tx, lane, messages).await?;
    }
    tx.commit("ingest: commit").await?;
    for lane in by_lane.keys() {
        queue.published(lane);
    }
    Ok(results)
}

/// What to publish, per lane, and each request's answer: new routed events, and
/// duplicates that never reached the queue (a crash or queue failure between store and
/// publish; the provider retried).
fn classify(
    batch: &[Pending],
    inserted: &[Inserted],
) -> (BTreeMap<String, Vec<QueueMessage>>, Vec<Accepted>) {
    let mut by_lane: BTreeMap<String, Vec<QueueMessage>> = BTreeMap::new();
    let mut results = Vec::with_capacity(batch.len());
    for (p, ins) in batch.iter().zip(inserted) {
        let lane = p.submission.lane.clone();
        let id = p.submission.event.id.clone();
        let by_host = p
            .submission
            .event
            .inbound
            .as_ref()
            .is_some_and(|m| m.answered_by_host());
        let result = match (ins, lane) {
            (Inserted::New, _) if by_host => Accepted::AnsweredByHost,
            (Inserted::New, Some(lane)) => {
                by_lane
                    .entry(lane)
                    .or_default()
                    .push(QueueMessage::new(id.clone()));
                Accepted::Queued
            }
            (Inserted::New, None) => Accepted::Unrouted,
            (Inserted::Duplicate { .. }, lane) => {
                // Stored before but never enqueued (a crash or queue failure between the
                // two, and the provider retried): enqueue the stored one now.
                if let (Some(existing), Some(lane)) = (to_enqueue(&id, ins), lane) {
                    by_lane
                        .entry(lane)
                        .or_default()
                        .push(QueueMessage::new(existing.to_owned()));
                }
                Accepted::Duplicate
            }
        };
        results.push(result);
    }
    (by_lane, results)
}

/// Raises the unrouted-number alerts and answers every waiting request.
async fn answer(storage: &Storage, batch: &mut Vec<Pending>, results: Vec<Accepted>) {
    for (p, result) in batch.drain(..).zip(results) {
        if result == Accepted::Unrouted {
            let e = &p.submission.event;
            let to = e
                .inbound
                .as_ref()
                .map(|m| m.agent_number.clone())
                .unwrap_or_default();
            let message = format!(
                "an SMS arrived for {to} but no plugin serves that number; it is stored as event {}",
                e.id
            );
            let alert = HostAlert::new(AlertKind::UnroutedNumber, Severity::Warning, message)
                .conversation(e.conversation_id.clone())
                .fields(vec![
                    ("to".into(), to.clone()),
                    ("event".into(), e.id.to_string()),
                ]);
            if let Err(err) = storage.alerts().insert(&alert, crate::now_ms()).await {
                tracing::error!(error = %err, event = %e.id, "could not record the unrouted-number alert");
            }
        }
        let _ = p.reply.send(Ok(result));
    }
}
