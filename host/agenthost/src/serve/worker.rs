//! The worker role: lane workers per plugin (including plugins first activated later),
//! the lease keeper, the lane heartbeat and the outbox dispatcher.

use std::sync::Arc;
use std::time::Duration;

use agenthost_pipeline::{leases::LeaseKeeper, outbox::Dispatcher, worker::Worker};
use agenthost_twilio::TwilioClient;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Shared, replica_id};
use crate::config::Config;

/// How often a worker replica records the lanes it consumes.
const HEARTBEAT: Duration = Duration::from_secs(5);
const TWILIO_HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// Starts the worker role's tasks on `tasks`. `work` stops consuming and sending (first,
/// at the drain); `host` stops the lease keeper with everything else.
pub(super) fn start(
    config: &Config,
    shared: &Shared,
    tasks: &TaskTracker,
    host: &CancellationToken,
    work: &CancellationToken,
) -> anyhow::Result<()> {
    let leases = LeaseKeeper::new();
    tasks.spawn(leases.clone().run(
        shared.storage.clone(),
        shared.queue.clone(),
        host.child_token(),
    ));
    let outbox_wake = Arc::new(Notify::new());
    let worker = Worker {
        storage: shared.storage.clone(),
        queue: shared.queue.clone(),
        registry: shared.registry.clone(),
        routes: shared.routes.clone(),
        outbox_wake: outbox_wake.clone(),
        observers: vec![
            Arc::new(shared.deployer.watch()),
            shared.pipeline_metrics.clone(),
        ],
        conversations: Arc::default(),
        leases: leases.clone(),
        policy: shared.send_policy.clone(),
        metrics: shared.pipeline_metrics.clone(),
        handoff: Arc::new(config.handoff.clone()),
        isolation: Arc::default(),
    };
    // Heartbeats: which lanes this replica consumes, for the deployment record and the
    // post-deploy check.
    {
        let (storage, registry, cancel) = (
            shared.storage.clone(),
            shared.registry.clone(),
            work.clone(),
        );
        let (replica, slots) = (replica_id(), config.worker_slots);
        tasks.spawn(async move {
            loop {
                let lanes: Vec<(String, u32)> =
                    registry.names().iter().map(|n| (n.to_string(), slots)).collect();
                if let Err(e) = storage
                    .workers().heartbeat(&replica, &lanes, agenthost_core::now_ms())
                    .await
                {
                    tracing::warn!(error = %e, "worker heartbeat failed");
                }
                tokio::select! { _ = tokio::time::sleep(HEARTBEAT) => {}, _ = cancel.cancelled() => break }
            }
        });
    }
    // One set of lane workers per plugin, including plugins first activated later.
    let (registry, lanes_cancel, slots, lane_tasks) = (
        shared.registry.clone(),
        work.clone(),
        config.worker_slots,
        tasks.clone(),
    );
    tasks.spawn(async move {
        let mut changes = registry.subscribe();
        let mut serving = std::collections::HashSet::new();
        loop {
            for name in registry.names() {
                if serving.insert(name.clone()) {
                    for handle in worker.spawn_lane(name.to_string(), slots, lanes_cancel.clone()) {
                        lane_tasks.spawn(async move {
                            let _ = handle.await;
                        });
                    }
                }
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { break },
                _ = lanes_cancel.cancelled() => break,
            }
        }
    });
    let twilio = TwilioClient::new(config.twilio.client_config(TWILIO_HTTP_TIMEOUT)?)?;
    let dispatcher = Dispatcher {
        storage: shared.storage.clone(),
        twilio: Arc::new(twilio),
        wake: outbox_wake,
        lease: config.outbox_lease,
        leases,
        down_after: config.alerts.dependency_down_after,
        policy: shared.send_policy.clone(),
        metrics: shared.pipeline_metrics.clone(),
        sink: config.sms_sink,
    };
    if config.sms_sink == agenthost_pipeline::outbox::SmsSink::Local {
        tracing::warn!(
            "AGENTHOST_SMS_SINK=local: outbound texts are printed here and marked delivered-locally; nothing is sent to Twilio"
        );
    }
    tasks.spawn(dispatcher.run(work.clone()));
    Ok(())
}
