//! [`Scheduler`]: one pass (`tick`) fires due cron slots, claims due one-off jobs, climbs
//! SLA ladders; `run` repeats it until cancelled. Job events stored but never enqueued
//! are the pipeline's sweep's, like every other event.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use agenthost_core::{AlertKind, Severity};
use agenthost_core::{Clock, ConversationId, CronJob, Invocation, JobFiring};
use agenthost_queue::{EnqueueError, Queue, QueueMessage, enqueue_stored, to_enqueue};
use agenthost_storage::{
    EventKind, HostAlert, NewEvent, SlaLadderItem, SlotFiring, Storage, StorageError,
};
use tokio_util::sync::CancellationToken;

use crate::config::SchedulerConfig;
use crate::cron::CronSpec;
use crate::ladder::{Ladder, Rung};
use crate::metrics::Metrics;

/// The cron jobs plugins declare now, as `(plugin, jobs)`. Asked on every pass, so it
/// follows plugin activations and rollbacks.
pub trait CronSource: Send + Sync {
    fn cron_jobs(&self) -> Vec<(String, Vec<CronJob>)>;
}

impl<F> CronSource for F
where
    F: Fn() -> Vec<(String, Vec<CronJob>)> + Send + Sync,
{
    fn cron_jobs(&self) -> Vec<(String, Vec<CronJob>)> {
        self()
    }
}

/// A pass step that failed; the other steps of the pass still ran.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("scheduler storage: {0}")]
    Storage(#[from] StorageError),
    #[error("scheduler could not build job event: {0}")]
    Encode(#[from] serde_json::Error),
}

/// What one pass did (this replica's share).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Cron slots this replica fired.
    pub cron_fired: usize,
    /// One-off jobs this replica fired.
    pub jobs_fired: usize,
    /// SLA rungs this replica climbed (alerts raised, or recorded silently for dry runs).
    pub sla_rungs: usize,
    /// `scheduler_lateness` alerts raised.
    pub lateness_alerts: usize,
    /// Steps that failed (logged; see the error returned by `tick`).
    pub errors: usize,
}

/// Cache key of a parsed schedule: `(pattern, time zone)`.
type SpecKey = (String, Option<String>);

/// The scheduler of one replica. Many may run against the same storage.
pub struct Scheduler {
    storage: Storage,
    queue: Arc<dyn Queue>,
    cron: Arc<dyn CronSource>,
    clock: Arc<dyn Clock>,
    config: SchedulerConfig,
    ladder: Ladder,
    metrics: Metrics,
    /// Parsed schedules; errors kept so a bad one is reported once, not every second.
    specs: Mutex<HashMap<SpecKey, Option<Arc<CronSpec>>>>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    pub fn new(
        storage: Storage,
        queue: Arc<dyn Queue>,
        cron: Arc<dyn CronSource>,
        clock: Arc<dyn Clock>,
        config: SchedulerConfig,
    ) -> Self {
        let ladder = Ladder {
            repeat_every: config.sla_repeat_every,
            max_repeats: config.sla_max_repeats,
        };
        Self {
            storage,
            queue,
            cron,
            clock,
            config,
            ladder,
            metrics: Metrics::default(),
            specs: Mutex::new(HashMap::new()),
        }
    }

    /// Passes every `tick_interval` (time from the clock) until `cancel` fires; a pass in
    /// progress finishes first. Failures are logged and counted; the loop goes on.
    pub async fn run(&self, cancel: CancellationToken) {
        tracing::info!(interval = ?self.config.tick_interval, "scheduler started");
        loop {
            let now = i64::try_from(self.clock.now_ms()).unwrap_or(i64::MAX);
            if let Err(error) = self.tick(now).await {
                tracing::warn!(%error, "scheduler pass had failures; retrying next pass");
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(self.config.tick_interval) => {}
            }
        }
        tracing::info!("scheduler stopped");
    }

    /// One pass at `now_ms`: cron slots, one-off jobs, SLA ladders. Every
    /// step runs even if an earlier one failed; the first failure is returned.
    pub async fn tick(&self, now_ms: i64) -> Result<TickReport, SchedulerError> {
        let mut report = TickReport::default();
        let mut first_error = None;
        let steps = [
            self.fire_cron(now_ms, &mut report).await,
            self.fire_due_jobs(now_ms, &mut report).await,
            self.climb_sla(now_ms, &mut report).await,
        ];
        for (step, result) in ["cron", "jobs", "sla"].into_iter().zip(steps) {
            if let Err(error) = result {
                tracing::error!(step, %error, "scheduler step failed");
                self.metrics.error();
                report.errors += 1;
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// The metrics in Prometheus text format.
    pub fn render_prometheus(&self) -> String {
        self.metrics.render()
    }

    /// The configuration in use.
    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    fn spec(&self, plugin: &str, job: &CronJob) -> Option<Arc<CronSpec>> {
        let key = (job.schedule.clone(), job.timezone.clone());
        let mut specs = self.specs.lock().unwrap_or_else(|p| p.into_inner());
        specs
            .entry(key)
            .or_insert_with(
                || match CronSpec::parse(&job.schedule, job.timezone.as_deref()) {
                    Ok(spec) => Some(Arc::new(spec)),
                    Err(error) => {
                        tracing::error!(plugin, job = %job.name, %error, "cron job cannot be scheduled; it will not fire");
                        None
                    }
                },
            )
            .clone()
    }

    async fn fire_cron(&self, now_ms: i64, report: &mut TickReport) -> Result<(), SchedulerError> {
        let wanted = self.cron.cron_jobs();
        if wanted.iter().all(|(_, jobs)| jobs.is_empty()) {
            return Ok(());
        }
        let marks: HashMap<(String, String), i64> = self
            .storage
            .schedule()
            .cron_marks()
            .await?
            .into_iter()
            .map(|(p, j, s)| ((p, j), s))
            .collect();
        let first_sight_window_ms = 2 * duration_ms(self.config.tick_interval);
        let mut first_error = None;
        let mut seen = HashSet::new();
        for (plugin, jobs) in &wanted {
            for job in jobs {
                if !seen.insert((plugin.as_str(), job.name.as_str())) {
                    continue; // the same job declared twice: fire it once
                }
                let Some(spec) = self.spec(plugin, job) else {
                    continue;
                };
                let Some(slot) = spec.latest_slot_at_or_before(now_ms) else {
                    continue;
                };
                let previous = marks.get(&(plugin.clone(), job.name.clone())).copied();
                let due = match previous {
                    Some(mark) => slot > mark,
                    // First sight: fire only a slot that has just passed; otherwise the
                    // latest slot becomes the baseline and the next one fires.
                    None => now_ms - slot < first_sight_window_ms,
                };
                let result = if due {
                    self.fire_slot(plugin, &job.name, previous, slot, now_ms, report)
                        .await
                } else if previous.is_none() {
                    self.storage
                        .schedule()
                        .init_cron_mark(plugin, &job.name, slot, now_ms)
                        .await
                        .map(drop)
                        .map_err(SchedulerError::from)
                } else {
                    Ok(())
                };
                if let Err(error) = result {
                    tracing::error!(plugin, job = %job.name, %error, "cron firing failed");
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn fire_slot(
        &self,
        plugin: &str,
        job: &str,
        previous: Option<i64>,
        slot: i64,
        now_ms: i64,
        report: &mut TickReport,
    ) -> Result<(), SchedulerError> {
        let id = format!("job:{plugin}:{job}:{slot}");
        let event = job_event(
            id,
            plugin,
            JobFiring {
                name: job.to_owned(),
                conversation_id: None,
                payload: String::new(),
                scheduled_at_ms: u64::try_from(slot).unwrap_or(0),
                dry_run: false,
            },
            now_ms,
        )?;
        let to_publish = match self
            .storage
            .schedule()
            .fire_cron_slot(plugin, job, previous, slot, &event)
            .await?
        {
            SlotFiring::Lost => return Ok(()),
            SlotFiring::Claimed(inserted) => to_enqueue(&event.id, &inserted).map(str::to_owned),
        };
        let lateness_ms = now_ms - slot;
        self.metrics.cron_fired(plugin, job, lateness_ms);
        report.cron_fired += 1;
        tracing::info!(plugin, job, slot_ms = slot, lateness_ms, "cron job fired");
        if let Some(id) = to_publish {
            self.publish(plugin, vec![id]).await;
        }
        let threshold_ms = duration_ms(self.config.lateness_alert_threshold);
        if lateness_ms > threshold_ms {
            let alert = HostAlert::new(
                AlertKind::SchedulerLateness,
                Severity::Warning,
                format!(
                    "cron job {job} of plugin {plugin} fired {} after its slot (alert threshold {})",
                    human(lateness_ms),
                    human(threshold_ms)
                ),
            )
            .plugin(plugin)
            .field("job", job)
            .field("slot_ms", slot.to_string())
            .field("lateness_ms", lateness_ms.to_string());
            self.storage.alerts().insert(&alert, now_ms).await?;
            self.metrics.late_alert();
            report.lateness_alerts += 1;
        }
        Ok(())
    }

    async fn fire_due_jobs(
        &self,
        now_ms: i64,
        report: &mut TickReport,
    ) -> Result<(), SchedulerError> {
        // Build payloads up front so an encoding failure can't abort the claim half-way.
        let claimed = self
            .storage
            .schedule()
            .claim_due_jobs(now_ms, self.config.batch, |job| {
                let firing = JobFiring {
                    name: job.name.clone(),
                    conversation_id: job.conversation_id.clone().map(ConversationId::from),
                    payload: job.payload.clone(),
                    scheduled_at_ms: u64::try_from(job.due_at_ms).unwrap_or(0),
                    dry_run: false,
                };
                NewEvent {
                    id: format!("job:{}:{}:{}", job.plugin, job.key, job.due_at_ms).into(),
                    dedupe_key: format!("job:{}:{}:{}", job.plugin, job.key, job.due_at_ms),
                    kind: EventKind::Job,
                    plugin: Some(job.plugin.clone()),
                    conversation_id: job.conversation_id.clone().map(ConversationId::from),
                    // JobFiring is strings and numbers: serializing it cannot fail.
                    payload: serde_json::to_string(&Invocation::Job(firing)).unwrap_or_default(),
                    received_at_ms: now_ms,
                    inbound: None,
                }
            })
            .await?;
        let mut by_lane: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (job, event, inserted) in &claimed {
            let lateness_ms = now_ms - job.due_at_ms;
            self.metrics.job_fired(&job.plugin, lateness_ms);
            report.jobs_fired += 1;
            tracing::info!(plugin = %job.plugin, key = %job.key, name = %job.name, lateness_ms, "one-off job fired");
            if let Some(id) = to_enqueue(&event.id, inserted) {
                by_lane
                    .entry(job.plugin.clone())
                    .or_default()
                    .push(id.to_owned());
            }
        }
        for (lane, ids) in by_lane {
            self.publish(&lane, ids).await;
        }
        Ok(())
    }

    async fn climb_sla(&self, now_ms: i64, report: &mut TickReport) -> Result<(), SchedulerError> {
        let items = self
            .storage
            .schedule()
            .sla_ladder_due(now_ms, self.ladder.top(), self.config.batch)
            .await?;
        for item in items {
            let current = match item.climbed {
                Some((rung, deadline)) if deadline == item.deadline_at_ms => rung,
                _ => 0,
            };
            let target = self
                .ladder
                .highest_due(item.created_at_ms, item.deadline_at_ms, now_ms);
            if target <= current {
                continue;
            }
            let Some(rung) = self.ladder.rung(target) else {
                continue;
            };
            // Dry-run (test) items climb the ladder, recorded in `sla_rungs`, but raise no
            // alert at all: nothing of theirs may reach a real channel.
            let alert = (!item.dry_run).then(|| self.sla_alert(&item, rung, now_ms));
            let climbed = self
                .storage
                .schedule()
                .climb_sla_ladder(&item, target, alert.as_ref(), now_ms)
                .await?;
            if climbed {
                report.sla_rungs += 1;
                if alert.is_some() {
                    self.metrics.sla_alert(rung.alert_kind().as_str());
                }
                tracing::info!(plugin = %item.plugin, item = %item.item_id, ?rung, dry_run = item.dry_run, "sla rung reached");
            }
        }
        Ok(())
    }

    fn sla_alert(&self, item: &SlaLadderItem, rung: Rung, now_ms: i64) -> HostAlert {
        let late_ms = now_ms - item.deadline_at_ms;
        let what = format!(
            "plugin {} item {} ({}: {})",
            item.plugin, item.item_id, item.kind, item.description
        );
        let message = match rung {
            Rung::Reminder => format!(
                "SLA reminder: {what} is past half its window; deadline in {}",
                human(-late_ms)
            ),
            Rung::Overdue => format!("SLA overdue: {what} is {} late", human(late_ms)),
            Rung::Repeat(n) => format!(
                "SLA overdue (repeat {n} of {}): {what} is {} late",
                self.ladder.max_repeats,
                human(late_ms)
            ),
            Rung::Escalation => format!(
                "SLA escalation to the owner: {what} is {} late and still unresolved after {} reminders",
                human(late_ms),
                self.ladder.max_repeats
            ),
        };
        HostAlert::new(rung.alert_kind(), rung.severity(), message)
            .plugin(item.plugin.clone())
            .field("item", item.item_id.clone())
            .field("sla_kind", item.kind.clone())
            .field("deadline_at_ms", item.deadline_at_ms.to_string())
            .field("late_ms", late_ms.to_string())
            .field("rung", format!("{rung:?}"))
    }

    /// Puts the job events on `lane` the way every event source does
    /// ([`agenthost_queue::enqueue_stored`]). A failure is logged and left to the
    /// pipeline's sweep.
    async fn publish(&self, lane: &str, ids: Vec<String>) {
        let messages: Vec<QueueMessage> = ids.into_iter().map(QueueMessage::new).collect();
        match enqueue_stored(&self.storage, self.queue.as_ref(), lane, &messages).await {
            Ok(()) => {}
            Err(EnqueueError::Publish { source, count, .. }) => {
                tracing::error!(lane, error = %source, count, "publishing job events failed; they will be republished");
                self.metrics.error();
            }
            Err(EnqueueError::Mark { source, .. }) => {
                tracing::warn!(lane, error = %source, "could not mark job events enqueued; they may be published again");
            }
        }
    }
}

fn job_event(
    id: String,
    plugin: &str,
    firing: JobFiring,
    now_ms: i64,
) -> Result<NewEvent, serde_json::Error> {
    Ok(NewEvent {
        dedupe_key: id.clone(),
        id: id.into(),
        kind: EventKind::Job,
        plugin: Some(plugin.to_owned()),
        conversation_id: firing.conversation_id.clone(),
        payload: serde_json::to_string(&Invocation::Job(firing))?,
        received_at_ms: now_ms,
        inbound: None,
    })
}

fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A duration in milliseconds for people (negative reads as zero).
fn human(ms: i64) -> String {
    agenthost_core::human_duration(std::time::Duration::from_millis(
        u64::try_from(ms).unwrap_or(0),
    ))
}
