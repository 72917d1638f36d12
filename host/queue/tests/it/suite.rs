//! The behaviours every backend must show, written once against `dyn Queue`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use agenthost_core::EventId;
use agenthost_queue::{QueueError, QueueMessage, Settled};
use anyhow::{Result, anyhow, ensure};

use crate::support::{Ctx, Kind, QUIET, TEST_LEASE, WAIT, eventually_eq, expect_quiet, next};

fn messages(prefix: &str, count: usize) -> Vec<QueueMessage> {
    (0..count)
        .map(|i| QueueMessage::new(format!("{prefix}-{i}")))
        .collect()
}

/// Publish → consume → ack delivers each message once, in order, and leaves nothing.
pub async fn publish_consume_ack_delivers_once(ctx: Ctx) -> Result<()> {
    let lane = ctx.lane("once");
    let sent = messages("ev", 3);
    let mut consumer = ctx.queue.consume(&lane, 10).await?;
    ctx.queue.publish(&lane, &sent).await?;
    let mut got = Vec::new();
    for _ in 0..sent.len() {
        let delivery = next(&mut consumer, "a published message").await?;
        ensure!(
            delivery.lane() == lane,
            "delivery from lane {}",
            delivery.lane()
        );
        got.push(delivery.message().clone());
        ensure!(delivery.ack().await? == Settled::Applied, "ack not applied");
    }
    ensure!(got == sent, "delivered {got:?}, published {sent:?}");
    expect_quiet(&mut consumer, "after acking everything").await?;
    ensure!(ctx.queue.depth(&lane).await? == 0, "depth after acks");
    ensure!(
        ctx.queue.dead_depth(&lane).await? == 0,
        "dead depth after acks"
    );
    Ok(())
}

/// A retried message comes back after about its delay with `attempt + 1`.
pub async fn retry_comes_back_after_delay(ctx: Ctx) -> Result<()> {
    let lane = ctx.lane("retry");
    let delay = Duration::from_millis(400);
    let mut consumer = ctx.queue.consume(&lane, 1).await?;
    ctx.queue
        .publish(&lane, &[QueueMessage::new("ev-r")])
        .await?;

    let first = next(&mut consumer, "the first attempt").await?;
    ensure!(
        first.message().attempt == 1,
        "first attempt is {}",
        first.message().attempt
    );
    let retried_at = Instant::now();
    ensure!(
        first.retry(delay).await? == Settled::Applied,
        "retry not applied"
    );

    let second = next(&mut consumer, "the retried message").await?;
    let waited = retried_at.elapsed();
    ensure!(
        second.message().event_id == "ev-r",
        "got {:?}",
        second.message()
    );
    ensure!(
        second.message().attempt == 2,
        "second attempt is {}",
        second.message().attempt
    );
    // Millisecond timestamps may round the delay down by a millisecond or so.
    ensure!(
        waited + Duration::from_millis(20) >= delay,
        "came back after {waited:?}, before the {delay:?} delay"
    );
    ensure!(
        waited < delay + Duration::from_secs(3),
        "came back only after {waited:?}"
    );

    // A zero delay is an immediate redelivery, still counting the attempt.
    ensure!(
        second.retry(Duration::ZERO).await? == Settled::Applied,
        "retry(0) not applied"
    );
    let third = next(&mut consumer, "the immediately retried message").await?;
    ensure!(
        third.message().attempt == 3,
        "third attempt is {}",
        third.message().attempt
    );
    ensure!(third.ack().await? == Settled::Applied, "ack not applied");
    expect_quiet(&mut consumer, "after the final ack").await?;
    Ok(())
}

/// A dead-lettered message is kept in the dead store and never delivered again.
pub async fn dead_letter_never_comes_back(ctx: Ctx) -> Result<()> {
    let lane = ctx.lane("dead");
    let mut consumer = ctx.queue.consume(&lane, 4).await?;
    ctx.queue
        .publish(
            &lane,
            &[QueueMessage::new("ev-d"), QueueMessage::new("ev-ok")],
        )
        .await?;
    let doomed = next(&mut consumer, "the message to dead-letter").await?;
    ensure!(
        doomed.message().event_id == "ev-d",
        "got {:?}",
        doomed.message()
    );
    ensure!(
        doomed.dead_letter("plugin trapped 5 times").await? == Settled::Applied,
        "dead-letter not applied"
    );
    let fine = next(&mut consumer, "the healthy message").await?;
    ensure!(
        fine.message().event_id == "ev-ok",
        "got {:?}",
        fine.message()
    );
    ensure!(fine.ack().await? == Settled::Applied, "ack not applied");

    expect_quiet(&mut consumer, "after dead-lettering").await?;
    let queue = ctx.queue.clone();
    let dead_lane = lane.clone();
    eventually_eq("dead depth", 1, || {
        let queue = queue.clone();
        let lane = dead_lane.clone();
        async move { queue.dead_depth(&lane).await }
    })
    .await?;
    ensure!(
        ctx.queue.depth(&lane).await? == 0,
        "depth after dead-lettering"
    );
    Ok(())
}

/// A delivery dropped without settling comes back: to the same consumer at once, and to
/// another consumer when its consumer is gone too.
pub async fn dropped_delivery_comes_back(ctx: Ctx) -> Result<()> {
    let lane = ctx.lane("dropped");
    let mut consumer = ctx.queue.consume(&lane, 1).await?;
    ctx.queue
        .publish(&lane, &[QueueMessage::new("ev-x")])
        .await?;

    let first = next(&mut consumer, "the first delivery").await?;
    drop(first);
    // prefetch is 1: the dropped delivery must have freed its slot, too.
    let again = next(&mut consumer, "the dropped delivery, redelivered").await?;
    ensure!(
        again.message() == &QueueMessage::new("ev-x"),
        "got {:?}",
        again.message()
    );

    // Now the consumer "dies" holding it unsettled.
    let started = Instant::now();
    drop(again);
    drop(consumer);
    let mut rescuer = ctx.queue.consume(&lane, 1).await?;
    let rescued = next(&mut rescuer, "the message of the dead consumer").await?;
    ensure!(
        rescued.message() == &QueueMessage::new("ev-x"),
        "got {:?}",
        rescued.message()
    );
    if matches!(ctx.kind, Kind::Sqlite | Kind::Postgres) {
        // Nobody was left to release it early: it came back when its lease ran out.
        let waited = started.elapsed();
        ensure!(
            waited + Duration::from_millis(100) >= TEST_LEASE,
            "came back after {waited:?}, before the {TEST_LEASE:?} lease ended"
        );
    }
    ensure!(rescued.ack().await? == Settled::Applied, "ack not applied");
    expect_quiet(&mut rescuer, "after the rescue").await?;
    Ok(())
}

/// Two consumers draining one lane together never receive the same message.
pub async fn two_consumers_never_share(ctx: Ctx) -> Result<()> {
    const MESSAGES: usize = 50;
    let lane = ctx.lane("shared");
    let sent = messages("ev-s", MESSAGES);
    let mut tasks = Vec::new();
    for worker in 0..2 {
        let mut consumer = ctx.queue.consume(&lane, 5).await?;
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            // Each consumer stops once the lane has been quiet for a while.
            while let Ok(delivery) = tokio::time::timeout(QUIET * 2, consumer.next()).await {
                let delivery = delivery?;
                got.push(delivery.message().event_id.clone());
                if delivery.ack().await? != Settled::Applied {
                    return Err(anyhow!("worker {worker}: ack not applied"));
                }
            }
            Ok::<_, anyhow::Error>(got)
        }));
    }
    ctx.queue.publish(&lane, &sent).await?;

    let mut counts: HashMap<EventId, usize> = HashMap::new();
    let mut per_worker = Vec::new();
    for task in tasks {
        let got = tokio::time::timeout(WAIT * 2, task).await??;
        let got = got?;
        per_worker.push(got.len());
        for id in got {
            *counts.entry(id).or_default() += 1;
        }
    }
    for message in &sent {
        let n = counts.get(&message.event_id).copied().unwrap_or(0);
        ensure!(n == 1, "{} delivered {n} times", message.event_id);
    }
    ensure!(counts.len() == MESSAGES, "unexpected ids among {counts:?}");
    ensure!(ctx.queue.depth(&lane).await? == 0, "depth after draining");
    eprintln!("two consumers split {MESSAGES} messages as {per_worker:?}");
    Ok(())
}

/// A backlog (and a stuck consumer) in one lane does not delay another lane.
pub async fn lanes_are_independent(ctx: Ctx) -> Result<()> {
    let busy = ctx.lane("busy");
    let quiet = ctx.lane("quiet");
    ctx.queue.publish(&busy, &messages("ev-busy", 100)).await?;
    let mut stuck = ctx.queue.consume(&busy, 1).await?;
    let held = next(&mut stuck, "a message of the busy lane").await?;

    let mut consumer = ctx.queue.consume(&quiet, 1).await?;
    let started = Instant::now();
    ctx.queue
        .publish(&quiet, &[QueueMessage::new("ev-q")])
        .await?;
    let delivery = next(&mut consumer, "the quiet lane's message").await?;
    ensure!(
        delivery.message().event_id == "ev-q",
        "got {:?}",
        delivery.message()
    );
    ensure!(
        delivery.lane() == quiet,
        "delivery from lane {}",
        delivery.lane()
    );
    let latency = started.elapsed();
    ensure!(
        latency < Duration::from_secs(2),
        "quiet lane took {latency:?}"
    );
    ensure!(delivery.ack().await? == Settled::Applied, "ack not applied");

    let queue = ctx.queue.clone();
    let busy_lane = busy.clone();
    eventually_eq("busy lane depth", 99, || {
        let queue = queue.clone();
        let lane = busy_lane.clone();
        async move { queue.depth(&lane).await }
    })
    .await?;
    ensure!(held.ack().await? == Settled::Applied, "ack not applied");
    Ok(())
}

/// `depth` counts messages ready to deliver: not those out with a consumer, not those
/// waiting out a retry delay, not dead letters.
pub async fn depth_counts_waiting_messages(ctx: Ctx) -> Result<()> {
    let lane = ctx.lane("depth");
    ensure!(ctx.queue.depth(&lane).await? == 0, "depth of a new lane");
    ctx.queue.publish(&lane, &messages("ev-p", 5)).await?;
    let depth = |want: u64| {
        let queue = ctx.queue.clone();
        let lane = lane.clone();
        async move {
            eventually_eq("depth", want, || {
                let queue = queue.clone();
                let lane = lane.clone();
                async move { queue.depth(&lane).await }
            })
            .await
        }
    };
    depth(5).await?;

    let mut consumer = ctx.queue.consume(&lane, 1).await?;
    let first = next(&mut consumer, "the first message").await?;
    depth(4).await?;
    ensure!(first.ack().await? == Settled::Applied, "ack not applied");
    let second = next(&mut consumer, "the second message").await?;
    ensure!(
        second.retry(Duration::from_secs(60)).await? == Settled::Applied,
        "retry not applied"
    );
    let third = next(&mut consumer, "the third message").await?;
    ensure!(
        third.dead_letter("test").await? == Settled::Applied,
        "dead-letter not applied"
    );
    // Left: two ready, one delayed for a minute, none out with the consumer (prefetch 1:
    // RabbitMQ may already have pushed the next one to it, so stop consuming first).
    drop(consumer);
    depth(2).await?;
    Ok(())
}

/// Bad input is refused before anything is sent anywhere.
pub async fn bad_input_is_refused(ctx: Ctx) -> Result<()> {
    let result = ctx
        .queue
        .publish("no spaces", &[QueueMessage::new("e")])
        .await;
    ensure!(
        matches!(result, Err(QueueError::InvalidLane { .. })),
        "publish to a bad lane: {result:?}"
    );
    let lane = ctx.lane("bad");
    let result = ctx.queue.consume(&lane, 0).await.map(drop);
    ensure!(
        matches!(result, Err(QueueError::InvalidPrefetch { .. })),
        "prefetch 0: {result:?}"
    );
    ctx.queue.publish(&lane, &[]).await?;
    ctx.queue.ping().await?;
    Ok(())
}

/// A publish wakes a waiting consumer promptly (the embedded backend must not wait for
/// its poll interval).
pub async fn waiting_consumer_wakes_promptly(ctx: Ctx) -> Result<()> {
    let lane = ctx.lane("latency");
    let mut consumer = ctx.queue.consume(&lane, 1).await?;
    let mut latencies = Vec::new();
    for i in 0..20 {
        // Let the consumer settle into waiting.
        let waiter = tokio::spawn(async move {
            let delivery = consumer.next().await;
            (consumer, delivery, Instant::now())
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        let sent_at = Instant::now();
        ctx.queue
            .publish(&lane, &[QueueMessage::new(format!("ev-l-{i}"))])
            .await?;
        let (back, delivery, received_at) = tokio::time::timeout(WAIT, waiter)
            .await
            .map_err(|_| anyhow!("no delivery within {WAIT:?}"))??;
        consumer = back;
        let delivery = delivery?;
        latencies.push(received_at.saturating_duration_since(sent_at));
        ensure!(delivery.ack().await? == Settled::Applied, "ack not applied");
    }
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    eprintln!(
        "{:?}: publish→delivery p50 {p50:?}, max {:?}",
        ctx.kind,
        latencies.last()
    );
    ensure!(
        p50 < Duration::from_millis(50),
        "publish→delivery p50 {p50:?} (poll interval must not be the wake-up)"
    );
    Ok(())
}
