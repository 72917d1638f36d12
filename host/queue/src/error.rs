//! `QueueError`: every failure names the operation and the lane or queue it was about.
//! AMQP URLs appear only with their password masked (`agenthost_storage::redact_url`).

impl QueueError {
    /// A storage failure of the queue's `op` on `lane`, as the queue reports it.
    pub(crate) fn in_storage(
        op: &'static str,
        lane: &str,
    ) -> impl FnOnce(agenthost_storage::StorageError) -> QueueError {
        let lane = lane.to_owned();
        move |source| QueueError::Storage { op, lane, source }
    }
}

/// A queue operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("invalid lane name {lane:?}: {reason}")]
    InvalidLane { lane: String, reason: &'static str },

    #[error("invalid prefetch for lane {lane:?}: must be at least 1")]
    InvalidPrefetch { lane: String },

    #[error("invalid queue configuration: {0}")]
    Config(String),

    #[error("embedded queue: {op} for lane {lane:?} failed")]
    Storage {
        op: &'static str,
        lane: String,
        #[source]
        source: agenthost_storage::StorageError,
    },

    #[error("embedded queue: database ping failed")]
    Ping {
        #[source]
        source: sqlx::Error,
    },

    #[error("queue message for lane {lane:?} could not be encoded")]
    Encode {
        lane: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("rabbitmq: connecting to {url} failed")]
    Connect {
        /// The broker URL with its password masked.
        url: String,
        #[source]
        source: lapin::Error,
    },

    #[error("rabbitmq: connecting to {url} timed out after {timeout_ms} ms")]
    ConnectTimeout { url: String, timeout_ms: u64 },

    #[error("rabbitmq: {op} on {target} failed")]
    Amqp {
        op: &'static str,
        /// The queue (or connection) the operation was about.
        target: String,
        #[source]
        source: lapin::Error,
    },

    #[error("rabbitmq: no publisher confirm from the broker for {queue} within {timeout_ms} ms")]
    ConfirmTimeout { queue: String, timeout_ms: u64 },

    #[error("rabbitmq: the broker refused (nacked) a message published to {queue}")]
    Nacked { queue: String },

    #[error("rabbitmq: a message published to {queue} was unroutable (queue missing)")]
    Unroutable { queue: String },

    #[error("rabbitmq: publishing to {queue} failed after {attempts} attempts")]
    PublishFailed {
        queue: String,
        attempts: u32,
        #[source]
        last: Box<QueueError>,
    },
}
