//! The one sweep every event source shares: an event stored but never published — a
//! webhook's or a scheduler's job event alike — is published again once it is older than
//! the grace period, once, with its recorded attempts counted.

use std::time::Duration;

use agenthost_core::now_ms;
use agenthost_pipeline::sweep::{GRACE, republish_once};
use agenthost_queue::{EmbeddedConfig, EmbeddedQueue, Queue};
use agenthost_storage::{EventKind, NewEvent, Storage};

fn event(id: &str, kind: EventKind, received_at_ms: i64) -> NewEvent {
    NewEvent {
        id: id.into(),
        dedupe_key: id.into(),
        kind,
        plugin: Some("landlord".into()),
        conversation_id: None,
        payload: "{}".into(),
        received_at_ms,
        inbound: None,
    }
}

#[tokio::test]
async fn stored_but_unpublished_events_of_every_source_are_published_once_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(None, dir.path(), 4).await.unwrap();
    let queue = EmbeddedQueue::new(&storage, EmbeddedConfig::default()).unwrap();
    let old = now_ms() - 2 * GRACE.as_millis() as i64;
    storage
        .events()
        .insert(&[
            event("job:landlord:orphan:1", EventKind::Job, old),
            event("sms:SMorphan", EventKind::Message, old),
            // Still within the grace period: ingest may be about to publish it.
            event("job:landlord:young:1", EventKind::Job, now_ms()),
        ])
        .await
        .unwrap();

    assert_eq!(republish_once(&storage, &queue).await.unwrap(), 2);
    assert_eq!(
        republish_once(&storage, &queue).await.unwrap(),
        0,
        "marked once published"
    );
    assert_eq!(queue.depth("landlord").await.unwrap(), 2);

    let mut consumer = queue.consume("landlord", 2).await.unwrap();
    let mut seen = Vec::new();
    while let Ok(delivery) = tokio::time::timeout(Duration::from_millis(400), consumer.next()).await
    {
        let delivery = delivery.unwrap();
        // No failure recorded yet: this publication is the first delivery.
        assert_eq!(delivery.message().attempt, 1, "{:?}", delivery.message());
        seen.push(delivery.message().event_id.clone());
        delivery.ack().await.unwrap();
    }
    seen.sort();
    assert_eq!(seen, ["job:landlord:orphan:1", "sms:SMorphan"]);
    assert_eq!(queue.depth("landlord").await.unwrap(), 0);
}
