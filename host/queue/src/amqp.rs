//! RabbitMQ backend (lapin): one durable queue per lane, a per-lane delay queue for
//! retries, a per-lane dead-letter queue, publisher confirms, manual acks, and transparent
//! reconnects.
//!
//! Queues of lane `L` (with an optional `prefix` P, as `P.agenthost.L...`):
//! - `agenthost.L`       — the lane; consumers read it.
//! - `agenthost.L.retry` — no consumers; a retried message waits here with a per-message
//!   `expiration` (the delay) and is dead-lettered back to `agenthost.L` when it expires.
//!   RabbitMQ expires messages only at the head of a queue, so a short delay queued behind
//!   a long one waits for the long one; the worker's delays grow with the attempt count,
//!   which keeps that inversion small.
//! - `agenthost.L.dead`  — dead letters, kept for inspection, never consumed here.
//!
//! One connection per `AmqpQueue`, shared by a confirm-mode publishing channel and one
//! channel per consumer. When the connection drops, the next publish reconnects (a bounded
//! number of attempts), and consumers re-open a channel and re-subscribe with backoff.
//! A delivery from a dead channel is redelivered by the broker; settling it is a no-op
//! that reports `Settled::Stale`, never an ack of some other message's tag on a new channel.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use agenthost_core::{Backoff, redact_url};
use async_trait::async_trait;
use futures_lite::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Acker, BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use tokio::sync::{Mutex, mpsc};
use tokio::time::{Instant, sleep, timeout, timeout_at};

use crate::delivery::{Settle, Settlement};
use crate::{Consumer, Delivery, Queue, QueueError, QueueMessage, Settled, validate_lane};

/// AMQP `delivery_mode` of a message the broker writes to disk.
const DELIVERY_MODE_PERSISTENT: u8 = 2;
/// Content type of every message body (`QueueMessage` as JSON).
const CONTENT_TYPE_JSON: &str = "application/json";
/// Header carrying the reason on a dead-lettered message.
const HEADER_DEAD_REASON: &str = "x-agenthost-dead-reason";
/// Longest accepted queue-name prefix: queue names must fit in 255 bytes.
const MAX_PREFIX_BYTES: usize = 100;
/// Consecutive subscribe failures after which each further one is logged as an error.
const SUBSCRIBE_FAILURES_BEFORE_ERROR: u32 = 10;

/// How the RabbitMQ backend connects and retries.
#[derive(Clone, Debug)]
pub struct AmqpConfig {
    /// Prepended to every queue name as `{prefix}.agenthost.{lane}`, so several hosts (or
    /// test runs) can share a broker. `None` gives `agenthost.{lane}`.
    pub prefix: Option<String>,
    /// Shown by the broker (`rabbitmqctl list_connections client_properties`).
    pub connection_name: String,
    /// How many times one publish is tried (reconnecting in between) before it fails.
    pub publish_attempts: u32,
    /// How long a publish waits for the broker's confirms before treating the connection
    /// as dead.
    pub confirm_timeout: Duration,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// First pause between reconnect attempts; doubles up to `reconnect_backoff_max`.
    pub reconnect_backoff_min: Duration,
    /// Longest pause between reconnect attempts.
    pub reconnect_backoff_max: Duration,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        Self {
            prefix: None,
            connection_name: "agenthost".to_owned(),
            publish_attempts: 5,
            confirm_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            reconnect_backoff_min: Duration::from_millis(100),
            reconnect_backoff_max: Duration::from_secs(5),
        }
    }
}

/// A queue on RabbitMQ. Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct AmqpQueue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AmqpQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpQueue")
            .field("url", &self.inner.masked_url)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// The three queue names of one lane.
#[derive(Clone, Debug)]
struct QueueNames {
    main: String,
    retry: String,
    dead: String,
}

struct Inner {
    /// The broker URL as given; may hold a password, so never logged.
    url: String,
    /// `url` with the password masked, for logs and errors.
    masked_url: String,
    config: AmqpConfig,
    /// The live connection, replaced when it dies. Held across (re)connecting so that
    /// only one task reconnects at a time.
    link: Mutex<Option<Link>>,
    /// Counts connections made, to tell log lines about different connections apart.
    generations: AtomicU64,
}

/// One connection and what was set up on it.
struct Link {
    generation: u64,
    /// Shared with consumers, which open their channels on it.
    connection: Arc<Connection>,
    /// Confirm-mode channel for every publish of this queue handle.
    publisher: Channel,
    /// Lanes whose three queues were declared on this connection.
    declared: HashSet<String>,
}

/// One message ready to publish.
struct Outgoing {
    body: Vec<u8>,
    properties: BasicProperties,
}

impl AmqpQueue {
    /// Connects to the broker at `url` (e.g. `amqp://user:pass@host:5672/%2f`). Fails
    /// fast if the broker is unreachable; later outages are retried.
    pub async fn connect(url: &str, config: AmqpConfig) -> Result<Self, QueueError> {
        if let Some(prefix) = &config.prefix {
            validate_prefix(prefix)?;
        }
        if config.publish_attempts == 0 {
            return Err(QueueError::Config(
                "amqp publish_attempts must be at least 1".to_owned(),
            ));
        }
        let inner = Arc::new(Inner {
            url: url.to_owned(),
            masked_url: redact_url(url),
            config,
            link: Mutex::new(None),
            generations: AtomicU64::new(0),
        });
        inner.connection().await?;
        Ok(Self { inner })
    }
}

#[async_trait]
impl Queue for AmqpQueue {
    async fn publish(&self, lane: &str, messages: &[QueueMessage]) -> Result<(), QueueError> {
        validate_lane(lane)?;
        let names = self.inner.names(lane);
        let outgoing = messages
            .iter()
            .map(|m| {
                Ok(Outgoing {
                    body: encode(lane, m)?,
                    properties: base_properties(m),
                })
            })
            .collect::<Result<Vec<_>, QueueError>>()?;
        self.inner
            .publish_with_retries(lane, &names.main, outgoing)
            .await
    }

    async fn consume(&self, lane: &str, prefetch: u16) -> Result<Box<dyn Consumer>, QueueError> {
        validate_lane(lane)?;
        if prefetch == 0 {
            return Err(QueueError::InvalidPrefetch {
                lane: lane.to_owned(),
            });
        }
        let (abandoned_tx, abandoned_rx) = mpsc::unbounded_channel();
        let mut consumer = AmqpConsumer {
            inner: self.inner.clone(),
            lane: lane.to_owned(),
            names: self.inner.names(lane),
            prefetch,
            subscription: None,
            abandoned_tx,
            abandoned_rx,
            failures: 0,
        };
        // Subscribe now so that a bad lane or a dead broker shows up here, and so that
        // messages published after `consume` returns are certain to reach this consumer.
        consumer.subscription = Some(consumer.subscribe().await?);
        Ok(Box::new(consumer))
    }

    async fn depth(&self, lane: &str) -> Result<u64, QueueError> {
        validate_lane(lane)?;
        let names = self.inner.names(lane);
        self.inner.message_count(lane, &names.main).await
    }

    async fn dead_depth(&self, lane: &str) -> Result<u64, QueueError> {
        validate_lane(lane)?;
        let names = self.inner.names(lane);
        self.inner.message_count(lane, &names.dead).await
    }

    async fn ping(&self) -> Result<(), QueueError> {
        self.inner.connection().await.map(drop)
    }
}

impl Inner {
    fn names(&self, lane: &str) -> QueueNames {
        let main = match &self.config.prefix {
            Some(prefix) => format!("{prefix}.agenthost.{lane}"),
            None => format!("agenthost.{lane}"),
        };
        QueueNames {
            retry: format!("{main}.retry"),
            dead: format!("{main}.dead"),
            main,
        }
    }

    /// The pause after `failures` failed connection attempts in a row (one client, no
    /// jitter): the minimum, doubling up to the maximum.
    fn backoff(&self, failures: u32) -> Duration {
        Backoff::fixed(
            self.config.reconnect_backoff_min,
            self.config.reconnect_backoff_max,
        )
        .delay(failures.saturating_sub(1), None)
    }

    /// Makes sure `link` holds a live connection with an open publishing channel.
    async fn ensure_link<'a>(
        &self,
        link: &'a mut Option<Link>,
    ) -> Result<&'a mut Link, QueueError> {
        if let Some(old) = link.take_if(|l| !l.connection.status().connected()) {
            tracing::warn!(
                url = %self.masked_url,
                generation = old.generation,
                "rabbitmq: connection lost; reconnecting"
            );
        }
        let current = match link.take() {
            Some(current) => current,
            None => {
                let connection = Arc::new(self.open_connection().await?);
                let publisher = self.open_publisher(&connection).await?;
                let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::info!(
                    url = %self.masked_url,
                    generation,
                    "rabbitmq: connected"
                );
                Link {
                    generation,
                    connection,
                    publisher,
                    declared: HashSet::new(),
                }
            }
        };
        let current = link.insert(current);
        if !current.publisher.status().connected() {
            current.publisher = self.open_publisher(&current.connection).await?;
        }
        Ok(current)
    }

    async fn open_connection(&self) -> Result<Connection, QueueError> {
        let properties = ConnectionProperties::default()
            .with_connection_name(LongString::from(self.config.connection_name.as_str()));
        match timeout(
            self.config.connect_timeout,
            Connection::connect(&self.url, properties),
        )
        .await
        {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(source)) => Err(QueueError::Connect {
                url: self.masked_url.clone(),
                source,
            }),
            Err(_) => Err(QueueError::ConnectTimeout {
                url: self.masked_url.clone(),
                timeout_ms: millis(self.config.connect_timeout),
            }),
        }
    }

    async fn open_publisher(&self, connection: &Connection) -> Result<Channel, QueueError> {
        let amqp = |op| {
            let target = self.masked_url.clone();
            move |source| QueueError::Amqp { op, target, source }
        };
        let channel = connection
            .create_channel()
            .await
            .map_err(amqp("channel.open"))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(amqp("confirm.select"))?;
        Ok(channel)
    }

    /// A live connection, for consumers' channels.
    async fn connection(&self) -> Result<Arc<Connection>, QueueError> {
        let mut link = self.link.lock().await;
        Ok(self.ensure_link(&mut link).await?.connection.clone())
    }

    /// The publishing channel with `lane`'s queues declared, and its connection's
    /// generation.
    async fn publisher(&self, lane: &str) -> Result<(u64, Channel), QueueError> {
        let mut link = self.link.lock().await;
        let current = self.ensure_link(&mut link).await?;
        if !current.declared.contains(lane) {
            declare_lane(&current.publisher, &self.names(lane)).await?;
            current.declared.insert(lane.to_owned());
        }
        Ok((current.generation, current.publisher.clone()))
    }

    /// After a failure on connection `generation`: forget what was declared on it, and
    /// drop it entirely if `reconnect` (its socket may be dead without lapin knowing yet).
    async fn invalidate(&self, generation: u64, reconnect: bool) {
        let mut link = self.link.lock().await;
        if link.as_ref().is_some_and(|l| l.generation == generation) {
            if reconnect {
                *link = None;
            } else if let Some(current) = link.as_mut() {
                current.declared.clear();
            }
        }
    }

    async fn message_count(&self, lane: &str, queue: &str) -> Result<u64, QueueError> {
        let (generation, channel) = self.publisher(lane).await?;
        let options = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        match channel
            .queue_declare(queue.into(), options, FieldTable::default())
            .await
        {
            Ok(declared) => Ok(u64::from(declared.message_count())),
            Err(source) => {
                self.invalidate(generation, false).await;
                Err(QueueError::Amqp {
                    op: "queue.declare (passive)",
                    target: queue.to_owned(),
                    source,
                })
            }
        }
    }

    /// Publishes `outgoing` to `queue` (a queue of `lane`) and waits for every confirm,
    /// reconnecting and re-sending the unconfirmed rest on failure, up to
    /// `publish_attempts` tries.
    async fn publish_with_retries(
        &self,
        lane: &str,
        queue: &str,
        outgoing: Vec<Outgoing>,
    ) -> Result<(), QueueError> {
        let mut pending = outgoing;
        let attempts = self.config.publish_attempts;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.publish_once(lane, queue, &mut pending).await {
                Ok(()) => return Ok(()),
                Err(error @ QueueError::Nacked { .. }) => return Err(error),
                Err(error) if attempt >= attempts => {
                    return Err(QueueError::PublishFailed {
                        queue: queue.to_owned(),
                        attempts,
                        last: Box::new(error),
                    });
                }
                Err(error) => {
                    let pause = self.backoff(attempt);
                    tracing::warn!(
                        queue,
                        attempt,
                        unconfirmed = pending.len(),
                        retry_in_ms = millis(pause),
                        error = %error_chain(&error),
                        "rabbitmq: publish failed; retrying"
                    );
                    sleep(pause).await;
                }
            }
        }
    }

    /// One try: sends every message in `pending`, waits for the confirms, and leaves in
    /// `pending` only the messages that were not confirmed.
    async fn publish_once(
        &self,
        lane: &str,
        queue: &str,
        pending: &mut Vec<Outgoing>,
    ) -> Result<(), QueueError> {
        if pending.is_empty() {
            return Ok(());
        }
        let (generation, channel) = self.publisher(lane).await?;
        let mut confirms = Vec::with_capacity(pending.len());
        let mut send_error = None;
        for message in pending.iter() {
            let options = BasicPublishOptions {
                mandatory: true,
                immediate: false,
            };
            match channel
                .basic_publish(
                    ShortString::from(""),
                    queue.into(),
                    options,
                    &message.body,
                    message.properties.clone(),
                )
                .await
            {
                Ok(confirm) => confirms.push(Some(confirm)),
                Err(source) => {
                    send_error = Some(QueueError::Amqp {
                        op: "basic.publish",
                        target: queue.to_owned(),
                        source,
                    });
                    break;
                }
            }
        }

        // Wait for the confirms of everything that was sent, all under one deadline.
        let deadline = Instant::now() + self.config.confirm_timeout;
        let mut confirmed = vec![false; pending.len()];
        let mut first_error = send_error;
        let mut reconnect = false;
        for (index, confirm) in confirms.into_iter().enumerate() {
            let Some(confirm) = confirm else { continue };
            match timeout_at(deadline, confirm).await {
                Ok(Ok(Confirmation::Ack(None) | Confirmation::NotRequested)) => {
                    confirmed[index] = true;
                }
                Ok(Ok(Confirmation::Ack(Some(_returned)))) => {
                    first_error.get_or_insert(QueueError::Unroutable {
                        queue: queue.to_owned(),
                    });
                }
                Ok(Ok(Confirmation::Nack(_))) => {
                    // Keep waiting for the rest so none is left dangling, then report.
                    first_error = Some(QueueError::Nacked {
                        queue: queue.to_owned(),
                    });
                }
                Ok(Err(source)) => {
                    first_error.get_or_insert(QueueError::Amqp {
                        op: "publisher confirm",
                        target: queue.to_owned(),
                        source,
                    });
                }
                Err(_elapsed) => {
                    reconnect = true;
                    first_error.get_or_insert(QueueError::ConfirmTimeout {
                        queue: queue.to_owned(),
                        timeout_ms: millis(self.config.confirm_timeout),
                    });
                }
            }
        }
        let mut index = 0;
        pending.retain(|_| {
            let keep = !confirmed[index];
            index += 1;
            keep
        });
        match first_error {
            None => Ok(()),
            Some(error) => {
                if !matches!(error, QueueError::Nacked { .. }) {
                    self.invalidate(generation, reconnect).await;
                }
                Err(error)
            }
        }
    }
}

/// Declares the lane's three durable queues (idempotent).
async fn declare_lane(channel: &Channel, names: &QueueNames) -> Result<(), QueueError> {
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let mut retry_args = FieldTable::default();
    retry_args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(LongString::from("")),
    );
    retry_args.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(LongString::from(names.main.as_str())),
    );
    for (queue, args) in [
        (&names.main, FieldTable::default()),
        (&names.retry, retry_args),
        (&names.dead, FieldTable::default()),
    ] {
        channel
            .queue_declare(queue.as_str().into(), durable, args)
            .await
            .map_err(|source| QueueError::Amqp {
                op: "queue.declare",
                target: queue.clone(),
                source,
            })?;
    }
    Ok(())
}

fn validate_prefix(prefix: &str) -> Result<(), QueueError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= MAX_PREFIX_BYTES
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(QueueError::Config(format!(
            "amqp queue prefix {prefix:?} must be 1 to {MAX_PREFIX_BYTES} ASCII letters, digits, '-', '_' or '.'"
        )))
    }
}

fn encode(lane: &str, message: &QueueMessage) -> Result<Vec<u8>, QueueError> {
    serde_json::to_vec(message).map_err(|source| QueueError::Encode {
        lane: lane.to_owned(),
        source,
    })
}

fn base_properties(message: &QueueMessage) -> BasicProperties {
    BasicProperties::default()
        .with_delivery_mode(DELIVERY_MODE_PERSISTENT)
        .with_content_type(CONTENT_TYPE_JSON.into())
        .with_message_id(message.event_id.as_str().into())
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `error` and its sources on one line, for logs.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One consumer of one lane: its own channel, re-opened after a connection loss.
struct AmqpConsumer {
    inner: Arc<Inner>,
    lane: String,
    names: QueueNames,
    prefetch: u16,
    /// `None` while (re)subscribing.
    subscription: Option<Subscription>,
    /// Deliveries dropped unsettled come back here to be requeued.
    abandoned_tx: mpsc::UnboundedSender<Acker>,
    abandoned_rx: mpsc::UnboundedReceiver<Acker>,
    /// Consecutive failures to subscribe, for backoff.
    failures: u32,
}

struct Subscription {
    /// Kept so the channel stays open as long as the subscription (closing it returns
    /// every unacknowledged delivery to the queue).
    _channel: Channel,
    consumer: lapin::Consumer,
}

enum Event {
    Delivery(Box<lapin::message::Delivery>),
    Abandoned(Acker),
    Lost(String),
}

impl AmqpConsumer {
    async fn subscribe(&self) -> Result<Subscription, QueueError> {
        let connection = self.inner.connection().await?;
        let queue = self.names.main.as_str();
        let amqp = |op| {
            move |source| QueueError::Amqp {
                op,
                target: queue.to_owned(),
                source,
            }
        };
        let channel = connection
            .create_channel()
            .await
            .map_err(amqp("channel.open"))?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions { global: false })
            .await
            .map_err(amqp("basic.qos"))?;
        declare_lane(&channel, &self.names).await?;
        let consumer = channel
            .basic_consume(
                queue.into(),
                ShortString::from(""),
                BasicConsumeOptions {
                    no_ack: false,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(amqp("basic.consume"))?;
        Ok(Subscription {
            _channel: channel,
            consumer,
        })
    }

    async fn requeue(&self, acker: Acker) {
        let options = BasicNackOptions {
            multiple: false,
            requeue: true,
        };
        if let Err(error) = acker.nack(options).await {
            // The channel is gone, and with it the delivery: the broker requeues it.
            tracing::debug!(
                lane = %self.lane,
                error = %error_chain(&error),
                "rabbitmq: could not requeue an abandoned delivery; its channel is closed"
            );
        }
    }

    /// Handles a message whose body is not a `QueueMessage`: parks it in the dead queue.
    async fn quarantine(&self, delivery: lapin::message::Delivery, error: serde_json::Error) {
        tracing::error!(
            lane = %self.lane,
            error = %error,
            "rabbitmq: undecodable message; moving it to the dead-letter queue"
        );
        let mut headers = FieldTable::default();
        headers.insert(
            HEADER_DEAD_REASON.into(),
            AMQPValue::LongString(LongString::from(format!("undecodable message: {error}"))),
        );
        let outgoing = Outgoing {
            body: delivery.data.clone(),
            properties: BasicProperties::default()
                .with_delivery_mode(DELIVERY_MODE_PERSISTENT)
                .with_headers(headers),
        };
        match self
            .inner
            .publish_with_retries(&self.lane, &self.names.dead, vec![outgoing])
            .await
        {
            Ok(()) => {
                if let Err(error) = delivery.acker.ack(Default::default()).await {
                    tracing::warn!(
                        lane = %self.lane,
                        error = %error_chain(&error),
                        "rabbitmq: could not ack a quarantined message; it will come back"
                    );
                }
            }
            Err(error) => {
                tracing::error!(
                    lane = %self.lane,
                    error = %error_chain(&error),
                    "rabbitmq: could not quarantine an undecodable message; requeueing it"
                );
                self.requeue(delivery.acker).await;
            }
        }
    }
}

#[async_trait]
impl Consumer for AmqpConsumer {
    async fn next(&mut self) -> Result<Delivery, QueueError> {
        loop {
            while let Ok(acker) = self.abandoned_rx.try_recv() {
                self.requeue(acker).await;
            }
            if self.subscription.is_none() {
                match self.subscribe().await {
                    Ok(subscription) => {
                        if self.failures > 0 {
                            tracing::info!(
                                lane = %self.lane,
                                "rabbitmq: consumer re-subscribed"
                            );
                        }
                        self.failures = 0;
                        self.subscription = Some(subscription);
                    }
                    Err(error) => {
                        self.failures = self.failures.saturating_add(1);
                        let pause = self.inner.backoff(self.failures);
                        if self.failures >= SUBSCRIBE_FAILURES_BEFORE_ERROR {
                            tracing::error!(
                                lane = %self.lane,
                                failures = self.failures,
                                retry_in_ms = millis(pause),
                                error = %error_chain(&error),
                                "rabbitmq: consumer cannot subscribe"
                            );
                        } else {
                            tracing::warn!(
                                lane = %self.lane,
                                failures = self.failures,
                                retry_in_ms = millis(pause),
                                error = %error_chain(&error),
                                "rabbitmq: consumer cannot subscribe; retrying"
                            );
                        }
                        sleep(pause).await;
                        continue;
                    }
                }
            }
            let Some(subscription) = self.subscription.as_mut() else {
                continue;
            };
            let event = tokio::select! {
                item = subscription.consumer.next() => match item {
                    Some(Ok(delivery)) => Event::Delivery(Box::new(delivery)),
                    Some(Err(error)) => Event::Lost(error_chain(&error)),
                    None => Event::Lost("consumer cancelled".to_owned()),
                },
                Some(acker) = self.abandoned_rx.recv() => Event::Abandoned(acker),
            };
            match event {
                Event::Abandoned(acker) => self.requeue(acker).await,
                Event::Lost(reason) => {
                    tracing::warn!(
                        lane = %self.lane,
                        reason,
                        "rabbitmq: consumer lost its channel; re-subscribing"
                    );
                    self.subscription = None;
                    // Count it, so a broker that keeps dropping us is not hammered.
                    self.failures = 1;
                    sleep(self.inner.backoff(1)).await;
                }
                Event::Delivery(delivery) => {
                    match serde_json::from_slice::<QueueMessage>(&delivery.data) {
                        Ok(message) => {
                            let settler = AmqpSettler {
                                inner: self.inner.clone(),
                                lane: self.lane.clone(),
                                names: self.names.clone(),
                                acker: delivery.acker,
                                abandoned: self.abandoned_tx.clone(),
                            };
                            return Ok(Delivery::new(
                                self.lane.clone(),
                                message,
                                Box::new(settler),
                            ));
                        }
                        Err(error) => self.quarantine(*delivery, error).await,
                    }
                }
            }
        }
    }
}

/// Settles one RabbitMQ delivery through the channel it came on.
struct AmqpSettler {
    inner: Arc<Inner>,
    lane: String,
    names: QueueNames,
    acker: Acker,
    abandoned: mpsc::UnboundedSender<Acker>,
}

impl AmqpSettler {
    /// For a retry or dead-letter, publishes the message's next copy where it belongs.
    async fn park_copy(
        &self,
        message: &QueueMessage,
        settlement: Settlement,
    ) -> Result<(), QueueError> {
        match settlement {
            Settlement::Ack => Ok(()),
            Settlement::Retry(delay) => {
                let next = QueueMessage {
                    event_id: message.event_id.clone(),
                    attempt: message.attempt.saturating_add(1),
                };
                let mut properties = base_properties(&next);
                let queue = if delay.is_zero() {
                    &self.names.main
                } else {
                    properties = properties.with_expiration(millis(delay).to_string().into());
                    &self.names.retry
                };
                let outgoing = Outgoing {
                    body: encode(&self.lane, &next)?,
                    properties,
                };
                self.inner
                    .publish_with_retries(&self.lane, queue, vec![outgoing])
                    .await
            }
            Settlement::DeadLetter(reason) => {
                let mut headers = FieldTable::default();
                headers.insert(
                    HEADER_DEAD_REASON.into(),
                    AMQPValue::LongString(LongString::from(reason)),
                );
                let outgoing = Outgoing {
                    body: encode(&self.lane, message)?,
                    properties: base_properties(message).with_headers(headers),
                };
                self.inner
                    .publish_with_retries(&self.lane, &self.names.dead, vec![outgoing])
                    .await
            }
        }
    }

    fn stale(&self, message: &QueueMessage, what: &str) -> Settled {
        tracing::warn!(
            lane = %self.lane,
            event_id = %message.event_id,
            "rabbitmq: {what} ignored: the delivery's channel is closed and the broker redelivers it"
        );
        Settled::Stale
    }
}

#[async_trait]
impl Settle for AmqpSettler {
    async fn settle(
        self: Box<Self>,
        message: &QueueMessage,
        settlement: Settlement,
    ) -> Result<Settled, QueueError> {
        let what = match &settlement {
            Settlement::Ack => "ack",
            Settlement::Retry(_) => "retry",
            Settlement::DeadLetter(_) => "dead-letter",
        };
        if !self.acker.usable() {
            return Ok(self.stale(message, what));
        }
        // Park the copy first, then ack: a crash in between duplicates (the caller is
        // idempotent), never loses.
        if let Err(error) = self.park_copy(message, settlement).await {
            // Give the delivery back, so it comes again and its prefetch slot frees.
            let _ = self.abandoned.send(self.acker.clone());
            return Err(error);
        }
        match self.acker.ack(Default::default()).await {
            Ok(true) => Ok(Settled::Applied),
            Ok(false) => Ok(self.stale(message, what)),
            Err(error) => {
                tracing::warn!(
                    lane = %self.lane,
                    event_id = %message.event_id,
                    error = %error_chain(&error),
                    "rabbitmq: ack failed; the broker redelivers the message"
                );
                Ok(Settled::Stale)
            }
        }
    }

    fn abandon(self: Box<Self>) {
        // If the consumer is gone its channel closes, which requeues the delivery too.
        let _ = self.abandoned.send(self.acker);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_passwords_are_masked() {
        assert_eq!(
            redact_url("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
    }

    #[test]
    fn prefixes_are_validated() {
        assert!(validate_prefix("test-123_a.b").is_ok());
        assert!(validate_prefix("").is_err());
        assert!(validate_prefix("a b").is_err());
        assert!(validate_prefix(&"p".repeat(MAX_PREFIX_BYTES + 1)).is_err());
    }
}
