//! The worker on its own: SQLite storage, the embedded queue, the real runtime with real
//! components, ingest in front — no HTTP, no binary. Retry then one dead letter, a reply
//! committed once, an opt-out recorded at ingest that suppresses the next reply, a shadow
//! candidate whose effects are recorded and never committed, an event whose last worker
//! died running alone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use agenthost_core::{SystemClock, now_ms};
use agenthost_pipeline::handoff::HandoffPolicy;
use agenthost_pipeline::ingest::{Accepted, Ingest, Submission};
use agenthost_pipeline::leases::LeaseKeeper;
use agenthost_pipeline::metrics::PipelineMetrics;
use agenthost_pipeline::policy::SendPolicy;
use agenthost_pipeline::routes::Routes;
use agenthost_pipeline::state::StorageState;
use agenthost_pipeline::worker::Worker;
use agenthost_queue::{EmbeddedConfig, EmbeddedQueue, Queue};
use agenthost_runtime::registry::{Rollout, RolloutKind};
use agenthost_runtime::{
    Capabilities, InboundMessage, Invocation, NoLlm, Plugin, PluginName, Registry, RequestedLimits,
    Runtime, RuntimeConfig,
};
use agenthost_storage::{
    EventKind, EventRow, EventStatus, InboundMessage as StoredSms, NewEvent, OutboxStatus, Storage,
};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const AGENT: &str = "+15550100000";

use agenthost_testkit::built_plugin_bytes as plugin_bytes;

struct Harness {
    _dir: tempfile::TempDir,
    storage: Storage,
    runtime: Runtime,
    registry: Registry,
    ingest: Ingest,
    metrics: Arc<PipelineMetrics>,
    worker: Worker,
    cancel: CancellationToken,
}

impl Harness {
    /// Everything a worker needs, with `file` serving as plugin `echo` (at most
    /// `attempts` deliveries per event) on the number [`AGENT`], one worker slot.
    async fn start(file: &str, attempts: u32) -> Harness {
        let h = Harness::new(file, attempts).await;
        h.spawn(1);
        h
    }

    /// [`Harness::start`] with no worker running yet ([`Harness::spawn`] starts them).
    async fn new(file: &str, attempts: u32) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::connect(None, dir.path(), 4).await.unwrap();
        let queue: Arc<dyn Queue> =
            Arc::new(EmbeddedQueue::new(&storage, EmbeddedConfig::default()).unwrap());
        let view = Arc::new(StorageState::new(&storage));
        let runtime = Runtime::new(
            RuntimeConfig {
                max_instances: 8,
                cache_dir: None,
                ..RuntimeConfig::default()
            },
            Capabilities {
                state: view.clone(),
                llm: Arc::new(NoLlm),
                clock: Arc::new(SystemClock),
                directory: view.clone(),
                budgets: view,
            },
        )
        .unwrap();
        let registry = Registry::default();
        let plugin = load(&runtime, file, attempts).await;
        registry.activate(plugin);
        storage
            .routes()
            .upsert(AGENT, "echo", now_ms())
            .await
            .unwrap();
        let routes = Routes::load(storage.clone()).await.unwrap();
        let cancel = CancellationToken::new();
        let (ingest, _task) = Ingest::start(storage.clone(), queue.clone(), cancel.clone());
        let metrics = Arc::new(PipelineMetrics::default());
        let worker = Worker {
            storage: storage.clone(),
            queue,
            registry: registry.clone(),
            routes,
            outbox_wake: Arc::new(Notify::new()),
            observers: vec![metrics.clone()],
            conversations: Arc::default(),
            leases: LeaseKeeper::new(),
            policy: Arc::new(SendPolicy::default()),
            metrics: metrics.clone(),
            handoff: Arc::new(HandoffPolicy::default()),
            isolation: Arc::default(),
        };
        Harness {
            _dir: dir,
            storage,
            runtime,
            registry,
            ingest,
            metrics,
            worker,
            cancel,
        }
    }

    /// Starts `slots` worker slots on the lane.
    fn spawn(&self, slots: u32) {
        self.worker
            .spawn_lane("echo".into(), slots, self.cancel.clone());
    }

    /// `body` texted by `lead` to [`AGENT`], through ingest as the webhook stores it.
    async fn text(&self, sid: &str, lead: &str, body: &str, opt_out: Option<bool>) -> String {
        let event = sms_event(sid, lead, body, opt_out);
        let accepted = self
            .ingest
            .submit(Submission {
                event,
                lane: Some("echo".into()),
            })
            .await
            .unwrap();
        assert_eq!(accepted, Accepted::Queued);
        format!("sms:{sid}")
    }

    /// The event once it is no longer queued (done or dead).
    async fn settled(&self, id: &str) -> EventRow {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let row = self.storage.events().get(id).await.unwrap().unwrap();
            if row.status != EventStatus::Queued {
                return row;
            }
            assert!(Instant::now() < deadline, "{id} still queued: {row:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn alert_kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self
            .storage
            .alerts()
            .recent(100)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.kind)
            .collect();
        kinds.sort();
        kinds
    }
}

/// The event the webhook stores for `body` texted by `lead` to [`AGENT`].
fn sms_event(sid: &str, lead: &str, body: &str, opt_out: Option<bool>) -> NewEvent {
    let conversation_id = agenthost_core::ConversationId::between(AGENT, lead);
    let now = now_ms();
    let invocation = Invocation::Message(InboundMessage {
        conversation_id: conversation_id.clone(),
        message_id: sid.into(),
        from: lead.into(),
        to: AGENT.into(),
        body: body.into(),
        received_at_ms: now as u64,
        dry_run: false,
        history: Vec::new(),
    });
    NewEvent {
        id: format!("sms:{sid}").into(),
        dedupe_key: sid.into(),
        kind: EventKind::Message,
        plugin: Some("echo".into()),
        conversation_id: Some(conversation_id),
        payload: serde_json::to_string(&invocation).unwrap(),
        received_at_ms: now,
        inbound: Some(StoredSms {
            lead_number: lead.into(),
            agent_number: AGENT.into(),
            opt_out,
            host_reply: None,
            body: body.into(),
        }),
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn load(runtime: &Runtime, file: &str, attempts: u32) -> Plugin {
    runtime
        .load(
            "echo".parse::<PluginName>().unwrap(),
            &plugin_bytes(file),
            RequestedLimits {
                max_attempts: Some(attempts),
                ..RequestedLimits::default()
            },
            BTreeMap::new(),
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_event_is_retried_its_attempts_then_dead_lettered_once_with_one_alert() {
    let h = Harness::start("test-trap", 3).await;
    let id = h.text("SMtrap1", "+15550100001", "hello", None).await;
    let row = h.settled(&id).await;
    assert_eq!(row.status, EventStatus::Dead, "{row:?}");
    assert_eq!(row.deliveries, 3, "exactly the plugin's attempts: {row:?}");
    let letter = h.storage.console().dead_letter_of(&id).await.unwrap();
    assert!(letter.is_some(), "one dead letter recorded");
    assert_eq!(h.storage.events().dead_letters(10).await.unwrap().len(), 1);
    // One alert for the first failed attempt, one for the dead letter; retries are quiet.
    assert_eq!(h.alert_kinds().await, ["dead_letter", "plugin_trap"]);
    assert_eq!(h.metrics.invocations("echo", "trap"), 3);
    let text = h.metrics.render();
    assert!(
        text.contains("agenthost_retries_total{plugin=\"echo\"} 2\n"),
        "{text}"
    );
    assert!(
        text.contains("agenthost_dead_letters_total{plugin=\"echo\"} 1\n"),
        "{text}"
    );
    assert!(
        h.storage.outbox().for_event(&id).await.unwrap().is_empty(),
        "a failed event commits nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_commits_once_and_an_opt_out_recorded_at_ingest_suppresses_the_next() {
    let h = Harness::start("echo", 3).await;
    let lead = "+15550100002";
    let first = h.text("SMecho1", lead, "hi there", None).await;
    let row = h.settled(&first).await;
    assert_eq!(row.status, EventStatus::Done, "{row:?}");
    assert_eq!(row.deliveries, 1);
    let out = h.storage.outbox().for_event(&first).await.unwrap();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].to_number, lead);
    assert_eq!(out[0].from_number, AGENT);
    assert_eq!(out[0].status, OutboxStatus::Pending);

    // STOP is recorded with the event at ingest, before any plugin runs.
    let stop = h.text("SMecho2", lead, "STOP", Some(true)).await;
    assert!(h.storage.routes().is_opted_out(lead).await.unwrap());
    h.settled(&stop).await;
    let after = h.text("SMecho3", lead, "are you there?", None).await;
    assert_eq!(h.settled(&after).await.status, EventStatus::Done);
    let replies = h.storage.outbox().for_event(&after).await.unwrap();
    assert_eq!(replies.len(), 1, "echo answered: {replies:?}");
    for id in [&stop, &after] {
        for row in h.storage.outbox().for_event(id).await.unwrap() {
            assert_eq!(
                row.status,
                OutboxStatus::Suppressed,
                "nothing goes to a lead who opted out: {row:?}"
            );
        }
    }
    assert!(h.alert_kinds().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_candidate_runs_on_a_copy_and_only_its_record_is_kept() {
    let h = Harness::start("echo", 3).await;
    let active = h.registry.get("echo").unwrap();
    let candidate = load(&h.runtime, "test-trap", 3).await;
    h.registry.install(
        active,
        Some(Rollout {
            kind: RolloutKind::Shadow,
            candidate: candidate.clone(),
        }),
    );
    let id = h.text("SMshadow1", "+15550100003", "hi", None).await;
    let row = h.settled(&id).await;
    assert_eq!(
        row.status,
        EventStatus::Done,
        "the active version serves: {row:?}"
    );
    assert_eq!(h.storage.outbox().for_event(&id).await.unwrap().len(), 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    let runs = loop {
        let runs = h
            .storage
            .deploys()
            .shadow_runs("echo", false, 10)
            .await
            .unwrap();
        if !runs.is_empty() || Instant::now() > deadline {
            break runs;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].event_id, id);
    assert_eq!(runs[0].candidate_version, candidate.version().as_str());
    assert_eq!(runs[0].active_outcome, "ok");
    assert_eq!(runs[0].candidate_outcome, "trap");
    assert!(runs[0].differs);
    assert_eq!(
        row.deliveries, 1,
        "the candidate's trap is not a retry of the event"
    );
    assert!(
        h.alert_kinds().await.is_empty(),
        "a shadow's failure alerts nobody"
    );
}

/// `(event id, done at)` of two texts from different leads, run on two worker slots: a
/// slow one (`1 spin=<ms>`), sent first, and a quick one sent once the slow one's
/// invocation began. With `slow_crashed`, the slow event was claimed before by a worker
/// that died (its delivery recorded no outcome).
async fn slow_then_quick(slow_crashed: bool) -> ((String, i64), (String, i64), Harness) {
    let h = Harness::new("test-chaos", 4).await;
    let slow = h.text("SMslow", "+15550100011", "1 spin=1500", None).await;
    if slow_crashed {
        // The dead worker: a claim (one delivery) whose lease ran out, nothing recorded.
        let claim = h
            .storage
            .claims()
            .claim(&slow, "dead-replica", "dead-token", now_ms() - 10_000, 1)
            .await
            .unwrap();
        assert!(
            matches!(claim, agenthost_storage::Claim::Claimed(_)),
            "{claim:?}"
        );
        let row = h.storage.events().get(&slow).await.unwrap().unwrap();
        assert_eq!(row.deliveries_without_outcome(), 1, "{row:?}");
    }
    h.spawn(2);
    // The slow event's invocation has begun once this worker's claim is counted.
    let claimed = if slow_crashed { 2 } else { 1 };
    let deadline = Instant::now() + Duration::from_secs(10);
    while h
        .storage
        .events()
        .get(&slow)
        .await
        .unwrap()
        .unwrap()
        .deliveries
        < claimed
    {
        assert!(
            Instant::now() < deadline,
            "the slow event was never claimed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let quick = h.text("SMquick", "+15550100012", "1", None).await;
    let (slow_row, quick_row) = (h.settled(&slow).await, h.settled(&quick).await);
    assert_eq!(slow_row.status, EventStatus::Done, "{slow_row:?}");
    assert_eq!(quick_row.status, EventStatus::Done, "{quick_row:?}");
    (
        (slow, slow_row.updated_at_ms),
        (quick, quick_row.updated_at_ms),
        h,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_whose_worker_died_runs_alone_and_others_wait_for_it() {
    // Control: two ordinary events run side by side; the quick one finishes first.
    let ((_, slow_done), (_, quick_done), h) = slow_then_quick(false).await;
    assert!(
        quick_done < slow_done,
        "ordinary events share the process: quick done at {quick_done}, slow at {slow_done}"
    );
    let text = h.metrics.render();
    assert!(!text.contains("event=\"isolated\""), "{text}");
    drop(h);

    // The slow event's last worker died with it: it runs alone, and the text that
    // arrives meanwhile is claimed only after it committed, so a second crash now would
    // be charged to the suspect only.
    let ((slow, slow_done), (quick, quick_done), h) = slow_then_quick(true).await;
    assert!(
        quick_done >= slow_done,
        "the suspect ran alone: quick done at {quick_done}, slow at {slow_done}"
    );
    let quick_row = h.storage.events().get(&quick).await.unwrap().unwrap();
    assert_eq!(
        quick_row.deliveries, 1,
        "waiting is not a delivery: {quick_row:?}"
    );
    let slow_row = h.storage.events().get(&slow).await.unwrap().unwrap();
    assert_eq!(slow_row.deliveries, 2, "{slow_row:?}");
    let text = h.metrics.render();
    assert!(text.contains("event=\"isolated\"} 1\n"), "{text}");
}

/// A text stored but never enqueued (the process died between the two), then retried by
/// the provider: ingest answers it as a duplicate and enqueues the stored event, which is
/// answered once; a further retry enqueues nothing.
#[tokio::test]
async fn a_retried_text_that_never_reached_the_queue_is_enqueued_and_answered_once() {
    let h = Harness::start("echo", 3).await;
    let lead = "+15550100077";
    let event = sms_event("SMlost1", lead, "hello", None);
    h.storage
        .events()
        .insert(std::slice::from_ref(&event))
        .await
        .unwrap();
    let retry = |event: NewEvent| {
        h.ingest.submit(Submission {
            event,
            lane: Some("echo".into()),
        })
    };
    assert_eq!(retry(event.clone()).await.unwrap(), Accepted::Duplicate);
    let row = h.settled("sms:SMlost1").await;
    assert_eq!(row.status, EventStatus::Done, "{row:?}");
    assert_eq!(row.deliveries, 1, "{row:?}");
    assert_eq!(retry(event).await.unwrap(), Accepted::Duplicate);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let row = h
        .storage
        .events()
        .get("sms:SMlost1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.deliveries, 1, "not delivered again: {row:?}");
    let out = h.storage.outbox().for_event("sms:SMlost1").await.unwrap();
    assert_eq!(out.len(), 1, "one reply: {out:?}");
}
