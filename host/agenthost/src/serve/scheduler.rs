//! The scheduler role: cron slots, one-off jobs and SLA ladders; alert delivery; and the
//! watch on storage and the queue. Alert delivery runs in this one role only: it takes no
//! leases, so a second dispatcher would deliver twice.

use std::sync::Arc;

use agenthost_api::metrics::Source;
use agenthost_runtime::SystemClock;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Shared;
use crate::config::Config;

/// Starts the scheduler role's tasks on `tasks`; their metrics join `metric_sources`.
pub(super) fn start(
    config: &Config,
    shared: &Shared,
    tasks: &TaskTracker,
    host: &CancellationToken,
    metric_sources: &mut Vec<Source>,
) -> anyhow::Result<()> {
    let registry = shared.registry.clone();
    let cron = move || {
        registry
            .all()
            .iter()
            .map(|p| (p.name().to_string(), p.description().cron_jobs.clone()))
            .collect()
    };
    let scheduler = agenthost_scheduler::Scheduler::new(
        shared.storage.clone(),
        shared.queue.clone(),
        Arc::new(cron),
        Arc::new(SystemClock),
        config.scheduler.clone(),
    );
    let scheduler = Arc::new(scheduler);
    {
        let scheduler = scheduler.clone();
        metric_sources.push(Arc::new(move || scheduler.render_prometheus()));
    }
    let scheduler_cancel = host.child_token();
    tasks.spawn(async move { scheduler.run(scheduler_cancel).await });
    let dispatcher = agenthost_alerts::Dispatcher::from_config(&config.alerts)
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    let alerts = dispatcher.handle();
    {
        let alerts = alerts.clone();
        metric_sources.push(Arc::new(move || alerts.render_prometheus()));
    }
    tasks.spawn(dispatcher.run(shared.storage.alerts(), host.child_token()));
    // Storage and the queue, watched beside alert delivery: when storage is what is down,
    // its alert goes to the dispatcher in memory. (Twilio is judged by the outbox, LLM
    // providers by the gateway's breakers.)
    let queue_check = {
        let queue = shared.queue.clone();
        agenthost_alerts::check_fn("queue", move || {
            let queue = queue.clone();
            async move { queue.ping().await.map_err(|e| e.to_string()) }
        })
    };
    let watch = agenthost_alerts::DependencyWatch::new(
        shared.storage.clone(),
        alerts,
        config.alerts.dependency_down_after,
    )
    .with_check(queue_check);
    tasks.spawn(watch.run(host.child_token()));
    Ok(())
}
