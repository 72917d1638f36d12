//! What only the RabbitMQ backend can show: surviving a connection the broker closes, and
//! failing cleanly (password masked) when the broker is unreachable.

use std::collections::HashMap;
use std::time::Duration;

use agenthost_core::EventId;
use agenthost_queue::{AmqpConfig, AmqpQueue, QueueError, QueueMessage, Settled};
use anyhow::{Context, Result, anyhow, bail, ensure};

use crate::support::{Ctx, Kind, QUIET, WAIT, expect_quiet, next, run};

/// Longest a `rabbitmqctl` call may take (it boots an Erlang VM: ~1.5 s here).
const RABBITMQCTL_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `rabbitmqctl args…` and returns its stdout.
async fn rabbitmqctl(args: &[&str]) -> Result<String> {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let shown = args.join(" ");
    let output = tokio::time::timeout(
        RABBITMQCTL_TIMEOUT,
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("rabbitmqctl")
                .args(&args)
                .output()
        }),
    )
    .await
    .map_err(|_| anyhow!("rabbitmqctl {shown} took over {RABBITMQCTL_TIMEOUT:?}"))??
    .with_context(|| format!("run rabbitmqctl {shown}"))?;
    ensure!(
        output.status.success(),
        "rabbitmqctl {shown} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Closes, from the broker's side, the one connection named `connection_name` (other
/// connections on the shared broker are left alone).
async fn close_connection_from_broker(connection_name: &str) -> Result<()> {
    let listing = rabbitmqctl(&["-q", "list_connections", "pid", "client_properties"]).await?;
    let pids: Vec<&str> = listing
        .lines()
        .filter(|line| line.contains(connection_name))
        .filter_map(|line| line.split('\t').next())
        .collect();
    ensure!(
        pids.len() == 1,
        "expected one broker connection named {connection_name}, found {pids:?}"
    );
    rabbitmqctl(&[
        "close_connection",
        pids[0],
        "test: simulated broker restart",
    ])
    .await?;
    Ok(())
}

/// The broker drops our connection while a consumer is subscribed and holds an unacked
/// delivery: the old delivery's ack is a stale no-op, the broker redelivers it once, and
/// messages published afterwards are delivered exactly once.
async fn survives_broker_closing_the_connection(ctx: Ctx) -> Result<()> {
    let lane = ctx.lane("reconnect");
    let mut consumer = ctx.queue.consume(&lane, 4).await?;
    ctx.queue
        .publish(&lane, &[QueueMessage::new("ev-before")])
        .await?;
    let before = next(&mut consumer, "the message published before the drop").await?;

    close_connection_from_broker(&ctx.connection_name).await?;

    // The consumer notices, re-subscribes, and the unacked message comes back.
    let redelivered = next(&mut consumer, "the redelivered message").await?;
    ensure!(
        redelivered.message().event_id == "ev-before",
        "got {:?}",
        redelivered.message()
    );
    // Acking the old delivery must not ack anything on the new channel.
    ensure!(
        before.ack().await? == Settled::Stale,
        "old delivery's ack applied"
    );

    // Publishing reconnects transparently.
    let after: Vec<_> = (0..5)
        .map(|i| QueueMessage::new(format!("ev-after-{i}")))
        .collect();
    ctx.queue.publish(&lane, &after).await?;
    let mut counts: HashMap<EventId, usize> = HashMap::new();
    *counts
        .entry(redelivered.message().event_id.clone())
        .or_default() += 1;
    ensure!(
        redelivered.ack().await? == Settled::Applied,
        "ack not applied"
    );
    for _ in 0..after.len() {
        let delivery = next(&mut consumer, "a message published after the drop").await?;
        *counts
            .entry(delivery.message().event_id.clone())
            .or_default() += 1;
        ensure!(delivery.ack().await? == Settled::Applied, "ack not applied");
    }
    expect_quiet(&mut consumer, "after the reconnect").await?;
    ensure!(counts.len() == 6, "got {counts:?}");
    ensure!(counts.values().all(|&n| n == 1), "duplicates: {counts:?}");
    ensure!(
        ctx.queue.depth(&lane).await? == 0,
        "depth after the reconnect"
    );

    // A second drop with no delivery outstanding: the waiting consumer keeps working.
    close_connection_from_broker(&ctx.connection_name).await?;
    tokio::time::sleep(QUIET).await;
    ctx.queue
        .publish(&lane, &[QueueMessage::new("ev-again")])
        .await?;
    let again = next(&mut consumer, "a message after the second drop").await?;
    ensure!(
        again.message().event_id == "ev-again",
        "got {:?}",
        again.message()
    );
    ensure!(again.ack().await? == Settled::Applied, "ack not applied");
    expect_quiet(&mut consumer, "after the second drop").await?;
    ctx.queue.ping().await?;
    Ok(())
}

/// An unreachable broker fails `connect` within its timeout, naming the URL without its
/// password.
async fn unreachable_broker_fails_cleanly(_ctx: Ctx) -> Result<()> {
    let config = AmqpConfig {
        connect_timeout: Duration::from_secs(5),
        ..AmqpConfig::default()
    };
    // Port 1 on loopback: nothing listens there.
    let started = tokio::time::Instant::now();
    let result = AmqpQueue::connect("amqp://guest:hunter2@127.0.0.1:1/%2f", config).await;
    let Err(error) = result else {
        bail!("connect to a closed port succeeded");
    };
    ensure!(
        started.elapsed() < WAIT,
        "connect took {:?}",
        started.elapsed()
    );
    ensure!(
        matches!(
            error,
            QueueError::Connect { .. } | QueueError::ConnectTimeout { .. }
        ),
        "unexpected error {error:?}"
    );
    let text = format!("{error} / {error:?}");
    ensure!(!text.contains("hunter2"), "password leaked: {text}");
    ensure!(
        text.contains("guest:***@127.0.0.1:1"),
        "url not named: {text}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_broker_closing_the_connection_test() {
    run(
        Kind::Rabbitmq,
        "reconnect",
        survives_broker_closing_the_connection,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_broker_fails_cleanly_test() {
    run(
        Kind::Rabbitmq,
        "unreachable",
        unreachable_broker_fails_cleanly,
    )
    .await;
}
