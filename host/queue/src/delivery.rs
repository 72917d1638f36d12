//! One received message and the three ways to settle it (ack, retry, dead-letter).

use std::time::Duration;

use async_trait::async_trait;

use crate::{QueueError, QueueMessage};

/// Longest dead-letter reason kept; longer reasons are cut (on a character boundary).
pub(crate) const MAX_DEAD_REASON_BYTES: usize = 4096;

/// What happened to a settlement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// The queue applied it.
    Applied,
    /// The delivery was no longer ours (embedded: the lease expired and the message may
    /// have been claimed again; RabbitMQ: the channel it came on is gone and the broker
    /// redelivers it). Nothing changed; the message will be (or was) delivered again.
    Stale,
}

/// How a delivery is settled, handed to the backend.
#[derive(Debug)]
pub(crate) enum Settlement {
    Ack,
    Retry(Duration),
    DeadLetter(String),
}

/// A backend's handle on one delivered message.
#[async_trait]
pub(crate) trait Settle: Send + Sync {
    async fn settle(
        self: Box<Self>,
        message: &QueueMessage,
        settlement: Settlement,
    ) -> Result<Settled, QueueError>;

    /// The delivery was dropped unsettled: give the message back without blocking.
    fn abandon(self: Box<Self>);
}

/// One message received from a lane, to be settled exactly once.
///
/// Dropping a `Delivery` without settling it returns the message to its lane: at once if
/// its consumer keeps being polled, otherwise when its lease expires (embedded) or its
/// channel closes (RabbitMQ).
pub struct Delivery {
    lane: String,
    message: QueueMessage,
    /// `None` once settled, so `Drop` knows not to abandon it.
    settler: Option<Box<dyn Settle>>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("lane", &self.lane)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl Delivery {
    pub(crate) fn new(lane: String, message: QueueMessage, settler: Box<dyn Settle>) -> Self {
        Self {
            lane,
            message,
            settler: Some(settler),
        }
    }

    /// The lane it came from.
    pub fn lane(&self) -> &str {
        &self.lane
    }

    /// The message.
    pub fn message(&self) -> &QueueMessage {
        &self.message
    }

    /// Done: remove the message for good. Call only after its effects committed.
    pub async fn ack(self) -> Result<Settled, QueueError> {
        self.settle(Settlement::Ack).await
    }

    /// Deliver the message again with `attempt + 1`, no sooner than `delay` from now.
    pub async fn retry(self, delay: Duration) -> Result<Settled, QueueError> {
        self.settle(Settlement::Retry(delay)).await
    }

    /// Move the message to the lane's dead-letter store; it is never delivered again.
    /// `reason` is kept with it (cut to 4 KiB).
    pub async fn dead_letter(self, reason: &str) -> Result<Settled, QueueError> {
        let reason = crate::message::truncate_reason(reason, MAX_DEAD_REASON_BYTES);
        self.settle(Settlement::DeadLetter(reason.to_owned())).await
    }

    async fn settle(mut self, settlement: Settlement) -> Result<Settled, QueueError> {
        match self.settler.take() {
            Some(settler) => settler.settle(&self.message, settlement).await,
            // Unreachable: settling consumes the delivery, and only settling takes it.
            None => Ok(Settled::Stale),
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some(settler) = self.settler.take() {
            tracing::debug!(
                lane = %self.lane,
                event_id = %self.message.event_id,
                "queue: delivery dropped unsettled; returning it to its lane"
            );
            settler.abandon();
        }
    }
}
