//! Durable work queues for the host: one lane per plugin, so a slow plugin cannot starve
//! another, with one interface over two real backends.
//!
//! # Layout
//! - `message`  — what travels through a lane (`QueueMessage`) and lane-name rules.
//! - `delivery` — one received message and how it is settled (`Delivery`, `Settled`).
//! - `error`    — `QueueError`, naming what failed (AMQP passwords masked).
//! - `inbox`    — `enqueue_stored` / `enqueue_in`: the one way a stored event reaches its
//!   lane and is marked enqueued, for every event source.
//! - `embedded` — `EmbeddedQueue`: rows in the host's database (SQLite or PostgreSQL through
//!   `agenthost-storage`), claimed with leases; the default.
//! - `amqp`     — `AmqpQueue`: RabbitMQ through lapin, with publisher confirms, a per-lane
//!   delay queue for retries, a per-lane dead-letter queue and transparent reconnects.
//!
//! # Guarantees (both backends)
//! - `Queue::publish` returning `Ok` means the messages are durable.
//! - Delivery is at least once: a delivery that is dropped unsettled, or whose consumer
//!   dies, comes back. Callers make their effects idempotent (keyed by `event_id`).
//! - A settlement arriving after the delivery was handed to someone else (lease expired,
//!   channel closed) changes nothing and reports `Settled::Stale`.
//!
//! Nothing here knows about plugins, HTTP or the worker's retry policy: the worker decides
//! delays and when to give up; this crate only moves messages.

mod amqp;
mod config;
mod delivery;
mod embedded;
mod error;
mod inbox;
mod message;

use agenthost_storage::WriteTx;
use async_trait::async_trait;

pub use amqp::{AmqpConfig, AmqpQueue};
pub use config::{QueueConfig, VARS};
pub use delivery::{Delivery, Settled};
pub use embedded::{EmbeddedConfig, EmbeddedQueue};
pub use error::QueueError;
pub use inbox::{EnqueueError, enqueue_in, enqueue_stored, to_enqueue};
pub use message::{MAX_LANE_BYTES, QueueMessage, validate_lane};

/// A durable queue with independent lanes.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Appends `messages` to `lane`. Durable when it returns `Ok` (RabbitMQ: every
    /// publisher confirm received; embedded: the insert committed).
    async fn publish(&self, lane: &str, messages: &[QueueMessage]) -> Result<(), QueueError>;

    /// Starts receiving deliveries of one lane; at most `prefetch` of them are
    /// unsettled at once for this consumer. `prefetch` must be at least 1.
    async fn consume(&self, lane: &str, prefetch: u16) -> Result<Box<dyn Consumer>, QueueError>;

    /// Messages of `lane` ready for delivery now (not leased or unacknowledged, not
    /// waiting out a retry delay).
    async fn depth(&self, lane: &str) -> Result<u64, QueueError>;

    /// Messages of `lane` that were dead-lettered and are kept for inspection.
    async fn dead_depth(&self, lane: &str) -> Result<u64, QueueError>;

    /// Whether the backend is reachable, for `/readyz`.
    async fn ping(&self) -> Result<(), QueueError>;

    /// The worker's heartbeat: extends the lease of every delivery this queue handle has
    /// out, so a slow invocation is never handed to a second consumer. Backends without
    /// leases (RabbitMQ holds an unacked delivery as long as the channel lives) do nothing.
    async fn keep_alive(&self) -> Result<(), QueueError> {
        Ok(())
    }

    /// Returns every leased message to its lane at once. Only for a process that owns the
    /// database alone, at start: every lease then belongs to a predecessor that died, and
    /// waiting them out would only make its leads wait.
    async fn release_all_leases(&self) -> Result<u64, QueueError> {
        Ok(0)
    }

    /// Whether this queue lives in the host's own database, so [`Queue::publish_in`] can
    /// enqueue inside a storage transaction (storing and queueing become one commit).
    fn in_storage(&self) -> bool {
        false
    }

    /// Appends `messages` to `lane` inside the caller's write transaction: durable and
    /// visible when it commits, gone if it rolls back. Call [`Queue::published`] after
    /// the commit to wake this process's consumers. Only queues that are
    /// [`Queue::in_storage`] support it; others fail with [`QueueError::Config`].
    async fn publish_in(
        &self,
        tx: &mut WriteTx,
        lane: &str,
        messages: &[QueueMessage],
    ) -> Result<(), QueueError> {
        let _ = (tx, messages);
        Err(QueueError::Config(format!(
            "lane {lane}: this queue backend cannot publish inside a storage transaction"
        )))
    }

    /// Tells consumers in this process that `lane` has new work committed by
    /// [`Queue::publish_in`].
    fn published(&self, lane: &str) {
        let _ = lane;
    }
}

/// The receiving end of one lane.
#[async_trait]
pub trait Consumer: Send {
    /// Waits for the next delivery. Backend outages are retried inside (with backoff and a
    /// log line), so an error here means this consumer cannot go on.
    ///
    /// Dropping the returned future while it waits is safe; dropping it in the middle of
    /// an embedded claim may leave that one message leased until its lease expires.
    async fn next(&mut self) -> Result<Delivery, QueueError>;
}
