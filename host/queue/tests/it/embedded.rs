//! What only the embedded backend can show: lease expiry and stale settlements, surviving
//! a restart, several replicas (separate pools) sharing one lane, and idle consumers
//! woken by the process's watcher.

use std::collections::HashMap;
use std::time::Duration;

use agenthost_core::EventId;
use agenthost_queue::{Queue, QueueMessage, Settled};
use anyhow::{Context, Result, ensure};

use crate::support::{Ctx, Kind, QUIET, TEST_LEASE, WAIT, embedded, expect_quiet, next, run};

/// A consumer that held a message past its lease cannot ack it away from the consumer
/// that holds it now.
async fn stale_settlement_after_lease_expiry(ctx: Ctx) -> Result<()> {
    let lane = ctx.lane("lease");
    ctx.queue
        .publish(
            &lane,
            &[
                QueueMessage::new("ev-1"),
                QueueMessage::new("ev-2"),
                QueueMessage::new("ev-3"),
            ],
        )
        .await?;
    let mut slow = ctx.queue.consume(&lane, 3).await?;
    let held: Vec<_> = [
        next(&mut slow, "first").await?,
        next(&mut slow, "second").await?,
        next(&mut slow, "third").await?,
    ]
    .into();
    tokio::time::sleep(TEST_LEASE + Duration::from_millis(300)).await;

    let mut fresh = ctx.queue.consume(&lane, 3).await?;
    let mut taken = Vec::new();
    for _ in 0..3 {
        taken.push(next(&mut fresh, "a message whose lease expired").await?);
    }
    // The slow consumer wakes up and tries every kind of settlement: all stale.
    let mut held = held.into_iter();
    let (a, b, c) = (
        held.next().context("a")?,
        held.next().context("b")?,
        held.next().context("c")?,
    );
    ensure!(a.ack().await? == Settled::Stale, "late ack applied");
    ensure!(
        b.retry(Duration::ZERO).await? == Settled::Stale,
        "late retry applied"
    );
    ensure!(
        c.dead_letter("late").await? == Settled::Stale,
        "late dead-letter applied"
    );
    ensure!(
        ctx.queue.dead_depth(&lane).await? == 0,
        "late dead-letter moved a row"
    );

    for delivery in taken {
        ensure!(
            delivery.message().attempt == 1,
            "attempt changed: {:?}",
            delivery.message()
        );
        ensure!(
            delivery.ack().await? == Settled::Applied,
            "current holder's ack not applied"
        );
    }
    expect_quiet(&mut fresh, "after the current holder acked").await?;
    Ok(())
}

/// Published and leased-but-unsettled messages survive closing and reopening the database.
async fn survives_restart(ctx: Ctx) -> Result<()> {
    let lane = ctx.lane("restart");
    let Some((queue, storage)) = ctx.embedded.clone() else {
        anyhow::bail!("embedded fixture expected");
    };
    queue
        .publish(
            &lane,
            &[QueueMessage::new("ev-a"), QueueMessage::new("ev-b")],
        )
        .await?;
    let mut consumer = queue.consume(&lane, 1).await?;
    let in_flight = next(&mut consumer, "a message before the crash").await?;
    // "Crash": nothing is settled or released; the process's handles just go away.
    std::mem::forget(in_flight);
    drop(consumer);
    drop(queue);
    storage.close().await;

    let (queue, storage) = embedded(ctx.database_url.as_deref(), &ctx.data_dir).await?;
    let mut consumer = queue.consume(&lane, 2).await?;
    let mut got = Vec::new();
    for _ in 0..2 {
        let delivery = next(&mut consumer, "a message after the restart").await?;
        got.push(delivery.message().event_id.clone());
        ensure!(delivery.ack().await? == Settled::Applied, "ack not applied");
    }
    got.sort();
    ensure!(got == ["ev-a", "ev-b"], "after restart got {got:?}");
    expect_quiet(&mut consumer, "after the restart").await?;
    storage.close().await;
    Ok(())
}

/// Two replicas (separate pools, separate queue handles, no shared wake-ups) drain one
/// lane without ever sharing a message.
async fn replicas_never_share(ctx: Ctx) -> Result<()> {
    const MESSAGES: usize = 60;
    let lane = ctx.lane("replicas");
    let (other, other_storage) = embedded(ctx.database_url.as_deref(), &ctx.data_dir).await?;
    let replicas: [std::sync::Arc<dyn Queue>; 2] = [ctx.queue.clone(), std::sync::Arc::new(other)];
    let mut tasks = Vec::new();
    for (replica, queue) in replicas.iter().enumerate() {
        for _ in 0..2 {
            let mut consumer = queue.consume(&lane, 4).await?;
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                while let Ok(delivery) = tokio::time::timeout(QUIET * 2, consumer.next()).await {
                    let delivery = delivery?;
                    got.push(delivery.message().event_id.clone());
                    ensure!(
                        delivery.ack().await? == Settled::Applied,
                        "replica {replica}: ack not applied"
                    );
                }
                Ok(got)
            }));
        }
    }
    let sent: Vec<_> = (0..MESSAGES)
        .map(|i| QueueMessage::new(format!("ev-{i}")))
        .collect();
    // Half published through each replica.
    replicas[0].publish(&lane, &sent[..MESSAGES / 2]).await?;
    replicas[1].publish(&lane, &sent[MESSAGES / 2..]).await?;

    let mut counts: HashMap<EventId, usize> = HashMap::new();
    for task in tasks {
        for id in tokio::time::timeout(WAIT * 2, task).await???.into_iter() {
            *counts.entry(id).or_default() += 1;
        }
    }
    ensure!(
        counts.len() == MESSAGES,
        "got {} distinct ids",
        counts.len()
    );
    ensure!(counts.values().all(|&n| n == 1), "duplicates: {counts:?}");
    other_storage.close().await;
    Ok(())
}

/// A consumer waiting on an idle lane is woken by the process's watcher when another
/// replica publishes (no wake-up of its own reaches it), and again when a retry's delay
/// ends: within a few poll intervals, not at its 30 s fallback look.
async fn idle_consumers_wake_for_other_replicas_and_due_retries(ctx: Ctx) -> Result<()> {
    let lane = ctx.lane("watcher");
    let (other, other_storage) = embedded(ctx.database_url.as_deref(), &ctx.data_dir).await?;
    let mut consumer = ctx.queue.consume(&lane, 1).await?;
    expect_quiet(&mut consumer, "an empty lane").await?;
    let waiting = tokio::spawn(async move {
        let t = std::time::Instant::now();
        let delivery = consumer.next().await;
        (consumer, delivery, t.elapsed())
    });
    // Let the consumer find the lane empty and wait.
    tokio::time::sleep(Duration::from_millis(300)).await;
    other.publish(&lane, &[QueueMessage::new("ev-w")]).await?;
    let soon = Duration::from_secs(2);
    let (mut consumer, delivery, waited) = tokio::time::timeout(soon, waiting)
        .await
        .context("the other replica's publish did not wake the idle consumer")??;
    let delivery = delivery?;
    ensure!(
        delivery.message().event_id == "ev-w",
        "got {:?}",
        delivery.message()
    );
    ensure!(waited < soon, "woken after {waited:?}");
    // A retry due in 400 ms: nothing before, then the watcher wakes the consumer.
    let retry_at = std::time::Instant::now();
    ensure!(
        delivery.retry(Duration::from_millis(400)).await? == Settled::Applied,
        "retry not applied"
    );
    let again = tokio::time::timeout(soon, consumer.next())
        .await
        .context("the due retry did not wake the idle consumer")??;
    let after = retry_at.elapsed();
    ensure!(
        after >= Duration::from_millis(400),
        "redelivered before its delay: {after:?}"
    );
    ensure!(
        again.message().event_id == "ev-w",
        "got {:?}",
        again.message()
    );
    ensure!(again.ack().await? == Settled::Applied, "ack not applied");
    other_storage.close().await;
    Ok(())
}

/// A stored event reaches its lane through `enqueue_stored`, the way every event source
/// enqueues, and is marked enqueued in the same commit: the sweep's list of events that
/// never reached the queue no longer has it. A duplicate that was enqueued is not put on
/// the lane again; one that never was is.
async fn enqueue_stored_queues_and_marks_together(ctx: Ctx) -> Result<()> {
    let (_, storage) = ctx.embedded.as_ref().expect("embedded");
    let lane = ctx.lane("inbox");
    let event = |id: &str| agenthost_storage::NewEvent {
        id: id.into(),
        dedupe_key: id.into(),
        kind: agenthost_storage::EventKind::Job,
        plugin: Some(lane.clone()),
        conversation_id: None,
        payload: "{}".into(),
        received_at_ms: 1,
        inbound: None,
    };
    let stored = storage.events().insert(&[event("ev-in")]).await?;
    ensure!(
        agenthost_queue::to_enqueue("ev-in", &stored[0]) == Some("ev-in"),
        "a new event is to be enqueued"
    );
    ensure!(
        storage.events().unenqueued(i64::MAX, 10).await?.len() == 1,
        "stored, not yet enqueued"
    );
    let mut consumer = ctx.queue.consume(&lane, 1).await?;
    agenthost_queue::enqueue_stored(
        storage,
        ctx.queue.as_ref(),
        &lane,
        &[QueueMessage::new("ev-in")],
    )
    .await?;
    let got = next(&mut consumer, "the stored event").await?;
    ensure!(got.message().event_id == "ev-in", "got {:?}", got.message());
    ensure!(
        storage
            .events()
            .get("ev-in")
            .await?
            .is_some_and(|e| e.enqueued),
        "marked enqueued"
    );
    ensure!(
        storage.events().unenqueued(i64::MAX, 10).await?.is_empty(),
        "the sweep has nothing to republish"
    );
    ensure!(got.ack().await? == Settled::Applied, "ack not applied");
    // The same source trying again: the enqueued event is not put on the lane twice.
    let again = storage.events().insert(&[event("ev-in")]).await?;
    ensure!(
        agenthost_queue::to_enqueue("ev-in", &again[0]).is_none(),
        "an enqueued duplicate is not enqueued again: {:?}",
        again[0]
    );
    Ok(())
}

macro_rules! embedded_tests {
    ($module:ident, $kind:expr) => {
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn enqueue_stored_queues_and_marks_together() {
                run(
                    $kind,
                    "inbox",
                    super::enqueue_stored_queues_and_marks_together,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn stale_settlement_after_lease_expiry() {
                run(
                    $kind,
                    "stale_settlement",
                    super::stale_settlement_after_lease_expiry,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn survives_restart() {
                run($kind, "survives_restart", super::survives_restart).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn idle_consumers_wake_for_other_replicas_and_due_retries() {
                run(
                    $kind,
                    "watcher",
                    super::idle_consumers_wake_for_other_replicas_and_due_retries,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn replicas_never_share() {
                run($kind, "replicas_never_share", super::replicas_never_share).await;
            }
        }
    };
}

embedded_tests!(sqlite, Kind::Sqlite);
embedded_tests!(postgres, Kind::Postgres);
