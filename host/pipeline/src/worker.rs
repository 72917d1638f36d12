//! Lane workers: one consumer per plugin lane with its slots as prefetch (each delivery
//! runs in its own task), claims the event
//! (a lease on it and its conversation, across every replica), invokes the active version
//! in a fresh sandbox, and commits the effects, the history and the event's completion in
//! ONE transaction — checked against the lease and the state versions the plugin read —
//! before acknowledging. Every failure goes through the one retry policy (`retry`) and
//! ends in a commit or exactly one dead letter.
//!
//! Order of one delivery: this replica's conversation turn → plugin capacity (its
//! concurrency and a pool instance) → the database claim. The lease starts only when the
//! invocation can start, and the heartbeat (`leases`) extends it while it runs.

use std::sync::Arc;
use std::time::Duration;

use agenthost_core::retry::{Decision, Failure, RetryPolicy};
use agenthost_core::{AlertKind, HostAlert, Severity};
use agenthost_queue::{Delivery, Queue};
use agenthost_runtime::{
    Admission, HistoryEntry, Invocation, InvocationObserver, InvocationReport, JobEffect, Outcome,
    Plugin, Scope, SlaEffect,
};
use agenthost_storage::{
    BudgetCharge, Claim, Claimed, Commit, CommitResult, DeadLetter, EventRow, EventStatus,
    Failure as StoredFailure, JobChange, NewOutbound, SlaChange, Storage, StorageError,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::leases::{LEASE, LeaseKeeper};
use crate::routes::Routes;
use agenthost_runtime::registry::{Registry, Selected};

/// Messages of history handed to a plugin with each inbound message.
pub const HISTORY_MESSAGES: u32 = 30;
/// A plugin not loaded on this replica (yet): try again after this.
const PLUGIN_MISSING_RETRY: Duration = Duration::from_secs(5);
/// After a queue error, wait before consuming again: 0.5 s, doubling to 30 s while it
/// keeps failing (a broker refusing a channel must not be asked twice a second forever).
const CONSUME_RETRY: agenthost_core::Backoff =
    agenthost_core::Backoff::half(Duration::from_millis(500), Duration::from_secs(30));
/// Times an invocation runs again at once after a state conflict before the conflict is
/// treated as a failed attempt (and retried with backoff).
pub const MAX_STATE_RERUNS: u32 = 8;
/// A delivery bounced because an earlier event of its conversation is still queued
/// waits about this long.
const BEHIND_RETRY: Duration = Duration::from_millis(200);
/// How failing events are retried and when they give up (`agenthost_core::retry`).
const RETRY: RetryPolicy = RetryPolicy::DEFAULT;

/// Striped locks that serialise a conversation's events within this process: a lead who
/// texts twice in a second gets the second message handled after the first committed, so
/// the plugin sees the state (and history) the first one left. Striped, so no map grows;
/// two conversations sharing a stripe only wait for each other. Across replicas the
/// database lease (`Claims::claim`) does the same; this only spares it the bounces.
#[derive(Debug)]
pub struct ConversationLocks {
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl Default for ConversationLocks {
    fn default() -> Self {
        ConversationLocks {
            stripes: (0..1024).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }
}

impl ConversationLocks {
    /// Waits for `conversation`'s turn; the turn lasts as long as the guard.
    pub async fn lock(&self, conversation: &str) -> tokio::sync::MutexGuard<'_, ()> {
        self.stripes[self.stripe(conversation)].lock().await
    }

    fn stripe(&self, conversation: &str) -> usize {
        (agenthost_core::stable_hash(conversation) % self.stripes.len() as u64) as usize
    }
}

/// Runs an event suspected of taking its worker down on its own, so the next crash is
/// charged to it alone.
///
/// A worker that dies (OOM kill, abort, kill -9) leaves every event it held with a
/// delivery that recorded no outcome, and [`RetryPolicy::crash_looped`] dead-letters an
/// event whose deliveries pass its attempts. Without isolation an innocent text that
/// keeps being in flight beside a poison event — and it does, since both come back when
/// the dead worker's leases run out — would be dead-lettered with it. So an event with a
/// delivery that ended without an outcome (a *suspect*) runs alone in this process:
/// every other event takes this lock shared, a suspect exclusively, each before its claim
/// (the lock is write-preferring: new claims wait behind a suspect). While a suspect
/// runs, nothing else here is claimed, so a crash then counts against the suspect only;
/// an event waiting is not claimed, so it is charged nothing. An event in flight beside
/// a first-time poison gains one unexplained delivery per such poison, then runs alone
/// and succeeds. Per process: another replica's crash is not this one's.
#[derive(Debug, Default)]
pub struct Isolation {
    lock: tokio::sync::RwLock<()>,
}

/// Sleeps `pause`; `false` if `cancel` fired first.
async fn pause_unless_cancelled(pause: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(pause) => true,
        _ = cancel.cancelled() => false,
    }
}

/// What a delivery holds of [`Isolation`] until it ends (held for its drop only).
#[allow(dead_code)]
enum IsolationGuard<'a> {
    Shared(tokio::sync::RwLockReadGuard<'a, ()>),
    Alone(tokio::sync::RwLockWriteGuard<'a, ()>),
}

#[derive(Clone)]
pub struct Worker {
    pub storage: Storage,
    pub queue: Arc<dyn Queue>,
    pub registry: Registry,
    pub routes: Routes,
    /// Woken after a commit that queued SMS, so the dispatcher sends at once.
    pub outbox_wake: Arc<Notify>,
    pub observers: Vec<Arc<dyn InvocationObserver>>,
    pub conversations: Arc<ConversationLocks>,
    /// This process's leases; its heartbeat runs beside the workers.
    pub leases: Arc<LeaseKeeper>,
    /// What counts as a reply (vs an agent-initiated text) is the send policy's.
    pub policy: Arc<crate::policy::SendPolicy>,
    pub metrics: Arc<crate::metrics::PipelineMetrics>,
    /// What a plugin's handoff request does (pause length, the console's link).
    pub handoff: Arc<crate::handoff::HandoffPolicy>,
    /// Suspects of a crash run alone in this process ([`Isolation`]).
    pub isolation: Arc<Isolation>,
}

/// An event ready to run: the invocation, who it is about, and the number replies go from.
struct Prepared {
    invocation: Invocation,
    scope: Scope,
    from_number: Option<String>,
    dry_run: bool,
    /// For a message: when the lead's text arrived (replies within the reply window are
    /// not agent-initiated).
    received_at_ms: Option<i64>,
}

/// The one alert a dead letter raises.
enum DeadAlert {
    /// `dead_letter`, critical: the event gave up.
    DeadLetter,
    /// `plugin_rule_violation`: the plugin broke a boundary rule (named in the message).
    RuleViolation,
    /// None here: a spent budget raises one alert per plugin, budget and day instead.
    Budget,
}

impl Worker {
    /// Runs `lane` with `slots` events at a time until `cancel`; in-flight events finish
    /// first. One consumer per lane, with `slots` deliveries out at once (its prefetch):
    /// on RabbitMQ one channel per lane instead of one per slot, so a broker's channel
    /// limit (2,047 per connection by default) is reached at 2,047 plugins, not 511.
    pub fn spawn_lane(
        &self,
        lane: String,
        slots: u32,
        cancel: CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let w = self.clone();
        vec![tokio::spawn(async move {
            w.run_lane(lane, slots, cancel).await
        })]
    }

    async fn run_lane(self, lane: String, slots: u32, cancel: CancellationToken) {
        let prefetch = u16::try_from(slots.max(1)).unwrap_or(u16::MAX);
        let in_flight = tokio_util::task::TaskTracker::new();
        let mut failures = 0u32;
        'connect: while !cancel.is_cancelled() {
            let mut consumer = match self.queue.consume(&lane, prefetch).await {
                Ok(c) => c,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let pause = CONSUME_RETRY.delay(failures - 1, None);
                    tracing::warn!(lane = %lane, error = %e, retry_in_ms = pause.as_millis() as u64, "cannot consume lane; retrying");
                    if !pause_unless_cancelled(pause, &cancel).await {
                        break;
                    }
                    continue;
                }
            };
            loop {
                let delivery = tokio::select! {
                    d = consumer.next() => d,
                    _ = cancel.cancelled() => break 'connect,
                };
                match delivery {
                    Ok(d) => {
                        failures = 0;
                        // The consumer hands out at most `prefetch` unsettled deliveries,
                        // so at most `slots` of these run at once.
                        let (w, lane) = (self.clone(), lane.clone());
                        in_flight.spawn(async move { w.process(&lane, d).await });
                    }
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        let pause = CONSUME_RETRY.delay(failures - 1, None);
                        tracing::warn!(lane = %lane, error = %e, retry_in_ms = pause.as_millis() as u64, "consuming failed; reconnecting");
                        if !pause_unless_cancelled(pause, &cancel).await {
                            break 'connect;
                        }
                        continue 'connect;
                    }
                }
            }
        }
        in_flight.close();
        in_flight.wait().await;
        tracing::debug!(lane = %lane, "lane worker stopped");
    }

    /// Sends a delivery back for another look a little past the lease that holds its
    /// conversation (`left_ms` from now).
    async fn bounce_busy(&self, plugin: &str, event_id: &str, left_ms: i64, delivery: Delivery) {
        self.note(plugin, "bounce_busy");
        let left = Duration::from_millis(u64::try_from(left_ms).unwrap_or(0));
        settle(
            delivery.retry(RetryPolicy::bounce_delay(left)).await,
            event_id,
        );
    }

    fn note(&self, plugin: &str, event: &'static str) {
        for observer in &self.observers {
            observer.noted(plugin, event);
        }
    }

    /// Handles one delivery to its end: acked, retried, or dead-lettered.
    pub async fn process(&self, lane: &str, delivery: Delivery) {
        let msg = delivery.message().clone();
        let event = match self.storage.events().get(&msg.event_id).await {
            Ok(Some(e)) => e,
            Ok(None) => {
                tracing::error!(event = %msg.event_id, "queued event not found in storage; dropping the queue entry");
                settle(delivery.ack().await, &msg.event_id);
                return;
            }
            Err(e) => {
                tracing::warn!(event = %msg.event_id, error = %e, "storage unavailable; retrying the event");
                settle(
                    delivery.retry(RETRY.delay(msg.attempt)).await,
                    &msg.event_id,
                );
                return;
            }
        };
        if matches!(event.status, EventStatus::Done | EventStatus::Dead) {
            // Redelivery after a commit whose ack was lost: the effects already exist.
            settle(delivery.ack().await, &msg.event_id);
            return;
        }
        // This replica's turn for the conversation first (cheap, in memory)...
        let conversations = self.conversations.clone();
        let _turn = match &event.conversation_id {
            Some(c) => Some(conversations.lock(c).await),
            None => None,
        };
        let sticky = event.conversation_id.as_deref().unwrap_or(&event.id);
        let Some(Selected {
            plugin,
            canary,
            shadow,
        }) = (match &event.pinned_version {
            Some(v) => self.registry.select_pinned(lane, sticky, v),
            None => self.registry.select(lane, sticky),
        })
        else {
            tracing::warn!(lane, event = %event.id, "no active version of this plugin here; retrying later");
            settle(delivery.retry(PLUGIN_MISSING_RETRY).await, &msg.event_id);
            return;
        };
        // ...then capacity, so the lease starts only when the invocation can...
        let admission = plugin.admit().await;
        // An event whose earlier delivery died with its worker runs alone ([`Isolation`]);
        // every other one holds the isolation lock shared. Either is taken before the
        // claim: an event claimed while it waits would be charged for a crash it had no
        // part in.
        let _isolation = if event.deliveries_without_outcome() > 0 {
            // A lease still held (by the dead worker, until it lapses) refuses the claim:
            // bounce without stopping the process for it.
            let key =
                agenthost_storage::Lease::key_for(&event.id, event.conversation_id.as_deref());
            let now = crate::now_ms();
            if let Ok(Some(until_ms)) = self.storage.claims().lease_held_until(&key, now).await {
                self.bounce_busy(plugin.name(), &event.id, until_ms - now, delivery)
                    .await;
                return;
            }
            self.note(plugin.name(), "isolated");
            tracing::warn!(
                event = %event.id,
                plugin = %plugin.name(),
                without_outcome = event.deliveries_without_outcome(),
                "an earlier delivery of this event ended with its worker; running it alone"
            );
            IsolationGuard::Alone(self.isolation.lock.write().await)
        } else {
            IsolationGuard::Shared(self.isolation.lock.read().await)
        };
        // ...then the claim, which every replica respects.
        let held = self.leases.hold();
        let now = crate::now_ms();
        let claim = self
            .storage
            .claims()
            .claim(
                &event.id,
                self.leases.owner(),
                &held.token,
                now,
                LEASE.as_millis() as i64,
            )
            .await;
        let claimed = match claim {
            Ok(Claim::Claimed(c)) => c,
            Ok(Claim::Finished(_) | Claim::Missing) => {
                settle(delivery.ack().await, &event.id);
                return;
            }
            Ok(Claim::Held) => {
                // A person has the conversation: no plugin sees this event.
                self.note(plugin.name(), "held_for_staff");
                tracing::info!(event = %event.id, "conversation taken over by a person; event held, not handed to the plugin");
                settle(delivery.ack().await, &event.id);
                return;
            }
            Ok(Claim::Busy { until_ms }) => {
                self.bounce_busy(plugin.name(), &event.id, until_ms - now, delivery)
                    .await;
                return;
            }
            Ok(Claim::Behind { earlier }) => {
                tracing::debug!(event = %event.id, %earlier, "an earlier event of the conversation comes first");
                self.note(plugin.name(), "bounce_behind");
                settle(
                    delivery
                        .retry(RetryPolicy::bounce_delay(BEHIND_RETRY))
                        .await,
                    &event.id,
                );
                return;
            }
            Err(e) => {
                tracing::warn!(event = %event.id, error = %e, "claiming the event failed; retrying");
                settle(delivery.retry(RETRY.delay(msg.attempt)).await, &event.id);
                return;
            }
        };
        let max = plugin.limits().max_attempts;
        if RETRY.crash_looped(claimed.deliveries, claimed.host_failures, max) {
            self.note(plugin.name(), "crash_loop");
            let why = format!(
                "delivered {} times without an outcome: each delivery ended its worker (a crash, an OOM kill, an abort) before it finished",
                claimed.deliveries - 1
            );
            self.dead_letter(
                &event,
                Some(&plugin),
                &claimed,
                "crash_loop",
                &why,
                DeadAlert::DeadLetter,
                delivery,
            )
            .await;
            return;
        }
        let prepared = match self.prepare(&event, &plugin).await {
            Ok(p) => p,
            Err(PrepareError::Bad(why)) => {
                self.dead_letter(
                    &event,
                    Some(&plugin),
                    &claimed,
                    "bad_event",
                    &why,
                    DeadAlert::DeadLetter,
                    delivery,
                )
                .await;
                return;
            }
            Err(PrepareError::Storage(error)) => {
                self.fail(
                    &event,
                    &plugin,
                    &claimed,
                    Failure::Host,
                    "host_error",
                    &error.to_string(),
                    delivery,
                )
                .await;
                return;
            }
        };
        self.run(
            &event, &plugin, canary, shadow, &admission, &claimed, &prepared, delivery,
        )
        .await;
        drop(held);
    }

    /// Invokes (again after a state conflict) and commits, or hands the failure on.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        event: &EventRow,
        plugin: &Plugin,
        canary: bool,
        shadow: Option<Plugin>,
        admission: &Admission,
        claimed: &Claimed,
        prepared: &Prepared,
        delivery: Delivery,
    ) {
        let mut reruns = 0;
        loop {
            let report = plugin
                .invoke_admitted(
                    admission,
                    prepared.invocation.clone(),
                    prepared.scope.clone(),
                )
                .await;
            for observer in &self.observers {
                observer.observed(&report, canary);
            }
            if reruns == 0
                && let Some(candidate) = &shadow
            {
                self.spawn_shadow(&event.id, candidate, prepared, &report);
            }
            if !report.outcome.is_ok() {
                self.failed_outcome(event, plugin, claimed, &report, delivery)
                    .await;
                return;
            }
            let committed = self.commit(event, plugin, claimed, prepared, &report).await;
            match committed.map(|(result, segments)| {
                if matches!(result, CommitResult::Committed { .. }) && segments > 0 {
                    self.metrics.segments(plugin.name(), segments);
                }
                result
            }) {
                Ok(CommitResult::Committed { outbox_ids }) => {
                    if !outbox_ids.is_empty() {
                        self.outbox_wake.notify_one();
                    }
                    settle(delivery.ack().await, &event.id);
                    return;
                }
                Ok(CommitResult::AlreadyDone) => {
                    tracing::info!(event = %event.id, "event was already committed by an earlier delivery; nothing written");
                    settle(delivery.ack().await, &event.id);
                    return;
                }
                Ok(CommitResult::LeaseLost) => {
                    // Another worker took the event over (ours stalled past the lease);
                    // it decides now, and nothing of ours was written.
                    self.note(plugin.name(), "lease_lost");
                    tracing::warn!(event = %event.id, "lease lost before the commit; nothing written, the new holder handles the event");
                    settle(delivery.ack().await, &event.id);
                    return;
                }
                Ok(CommitResult::Conflict { key }) if reruns < MAX_STATE_RERUNS => {
                    self.note(plugin.name(), "state_conflict");
                    tracing::debug!(event = %event.id, %key, reruns, "state changed under the invocation; running it again on fresh state");
                    reruns += 1;
                }
                Ok(CommitResult::Conflict { key }) => {
                    let why = format!(
                        "state key {key:?} kept changing under the invocation ({MAX_STATE_RERUNS} re-runs)"
                    );
                    self.fail(
                        event,
                        plugin,
                        claimed,
                        Failure::Host,
                        "state_conflict",
                        &why,
                        delivery,
                    )
                    .await;
                    return;
                }
                Ok(CommitResult::HeldForStaff) => {
                    self.note(plugin.name(), "held_for_staff");
                    tracing::info!(event = %event.id, "conversation taken over while the plugin ran; nothing of the invocation written, event held");
                    settle(delivery.ack().await, &event.id);
                    return;
                }
                Ok(CommitResult::BudgetExhausted { budget, limit }) => {
                    self.budget_exhausted(event, plugin, claimed, budget, limit, delivery)
                        .await;
                    return;
                }
                Err(e) => {
                    let why = format!("commit failed: {e}");
                    tracing::warn!(event = %event.id, error = %e, "commit failed");
                    self.fail(
                        event,
                        plugin,
                        claimed,
                        Failure::Host,
                        "commit_failed",
                        &why,
                        delivery,
                    )
                    .await;
                    return;
                }
            }
        }
    }

    /// A non-ok outcome: alerted (once per event), then retried or dead-lettered.
    async fn failed_outcome(
        &self,
        event: &EventRow,
        plugin: &Plugin,
        claimed: &Claimed,
        report: &InvocationReport,
        delivery: Delivery,
    ) {
        let label = report.outcome.label();
        let why = report.outcome.to_string();
        match &report.outcome {
            Outcome::RuleViolation { .. } => {
                self.dead_letter(
                    event,
                    Some(plugin),
                    claimed,
                    label,
                    &why,
                    DeadAlert::RuleViolation,
                    delivery,
                )
                .await;
            }
            Outcome::BudgetExhausted { budget, limit } => {
                let budget = match budget.as_str() {
                    "jobs" => "jobs",
                    _ => "sms_segments",
                };
                self.budget_exhausted(event, plugin, claimed, budget, *limit, delivery)
                    .await;
            }
            Outcome::HostError { .. } => {
                self.fail(event, plugin, claimed, Failure::Host, label, &why, delivery)
                    .await;
            }
            outcome => {
                if claimed.deliveries - claimed.host_failures == 1 {
                    self.alert_failure(event, report).await;
                }
                let failure = Failure::Plugin {
                    retryable: outcome.retryable(),
                };
                self.fail(event, plugin, claimed, failure, label, &why, delivery)
                    .await;
            }
        }
    }

    /// Applies the retry policy to a failed delivery.
    #[allow(clippy::too_many_arguments)]
    async fn fail(
        &self,
        event: &EventRow,
        plugin: &Plugin,
        claimed: &Claimed,
        failure: Failure,
        label: &str,
        why: &str,
        delivery: Delivery,
    ) {
        let max = plugin.limits().max_attempts;
        match RETRY.after_failure(failure, claimed.deliveries, claimed.host_failures, max) {
            Decision::Retry(delay) => {
                let now = crate::now_ms();
                let recorded = StoredFailure {
                    host: failure == Failure::Host,
                    error: why,
                    due_at_ms: now.saturating_add(delay.as_millis() as i64),
                };
                match self
                    .storage
                    .claims()
                    .record_failure(&event.id, &claimed.lease, &recorded, now)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        // Our lease is gone: the new holder decides.
                        self.note(plugin.name(), "lease_lost");
                        settle(delivery.ack().await, &event.id);
                        return;
                    }
                    Err(e) => {
                        // The lease lapses by itself; the retry still happens.
                        tracing::warn!(event = %event.id, error = %e, "could not record the failed attempt");
                    }
                }
                for observer in &self.observers {
                    observer.retried(plugin.name().as_str());
                }
                self.note(
                    plugin.name(),
                    if failure == Failure::Host {
                        "retry_host"
                    } else {
                        "retry_plugin"
                    },
                );
                tracing::info!(event = %event.id, plugin = %plugin.name(), deliveries = claimed.deliveries, max, ?delay, outcome = label, "retrying event");
                settle(delivery.retry(delay).await, &event.id);
            }
            Decision::DeadLetter => {
                self.dead_letter(
                    event,
                    Some(plugin),
                    claimed,
                    label,
                    why,
                    DeadAlert::DeadLetter,
                    delivery,
                )
                .await;
            }
        }
    }

    /// A daily budget ran out: the event is dead-lettered (an operator can requeue it
    /// once the budget is raised or tomorrow), with ONE alert per plugin, budget and day.
    async fn budget_exhausted(
        &self,
        event: &EventRow,
        plugin: &Plugin,
        claimed: &Claimed,
        budget: &'static str,
        limit: u64,
        delivery: Delivery,
    ) {
        let now = crate::now_ms();
        let day = agenthost_runtime::utc_day(now.max(0) as u64);
        match self
            .storage
            .budgets()
            .first_exhaustion(plugin.name(), budget, day, now)
            .await
        {
            Ok(true) => {
                let message = format!(
                    "plugin {} reached its daily {budget} budget of {limit}; its events are dead-lettered until UTC midnight (raise it in AGENTHOST_PLUGIN_LIMITS, then requeue them)",
                    plugin.name()
                );
                let alert = HostAlert::new(AlertKind::BudgetExhausted, Severity::Warning, message)
                    .plugin(plugin.name().to_string())
                    .version(plugin.version().as_str().to_owned())
                    .conversation(event.conversation_id.clone())
                    .fields(vec![
                        ("budget".into(), budget.into()),
                        ("limit".into(), limit.to_string()),
                        ("event".into(), event.id.to_string()),
                    ]);
                if let Err(e) = self.storage.alerts().insert(&alert, now).await {
                    tracing::error!(event = %event.id, error = %e, "could not record the budget alert");
                }
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(event = %event.id, error = %e, "could not mark the budget exhausted")
            }
        }
        let why = format!("daily {budget} budget of {limit} exhausted");
        self.dead_letter(
            event,
            Some(plugin),
            claimed,
            "budget_exhausted",
            &why,
            DeadAlert::Budget,
            delivery,
        )
        .await;
    }

    /// One alert per failing event, raised on its first failed attempt (its retries and
    /// their traps do not alert again; a final dead letter has its own alert). Errors the
    /// plugin returned itself are its business and do not alert.
    async fn alert_failure(&self, event: &EventRow, report: &InvocationReport) {
        let kind = match &report.outcome {
            Outcome::Trap { .. } => AlertKind::PluginTrap,
            Outcome::FuelExhausted { .. }
            | Outcome::MemoryLimit { .. }
            | Outcome::Deadline { .. } => AlertKind::PluginLimitKill,
            _ => return,
        };
        let alert = HostAlert::new(
            kind,
            Severity::Warning,
            format!(
                "plugin {} version {} failed on event {}: {}",
                report.plugin,
                report.version.short(),
                event.id,
                report.outcome
            ),
        )
        .plugin(report.plugin.to_string())
        .version(report.version.as_str().to_owned())
        .conversation(event.conversation_id.clone())
        .fields(vec![
            ("event".into(), event.id.to_string()),
            ("outcome".into(), report.outcome.label().into()),
        ]);
        if let Err(e) = self.storage.alerts().insert(&alert, crate::now_ms()).await {
            tracing::error!(event = %event.id, error = %e, "could not record the plugin failure alert");
        }
    }

    /// Runs a shadow candidate on a copy of the event, off the lane: its effects are
    /// recorded next to the active version's and never committed (nothing sent, nothing
    /// written), so a new version meets real traffic at zero risk. Shadows have their own
    /// bounded share of the pool and are skipped, never queued, when it is used up.
    fn spawn_shadow(
        &self,
        event_id: &str,
        candidate: &Plugin,
        prepared: &Prepared,
        active: &InvocationReport,
    ) {
        let Some(admission) = candidate.try_admit_shadow() else {
            self.note(candidate.name(), "shadow_shed");
            tracing::debug!(event = %event_id, plugin = %candidate.name(), "shadow run skipped: no capacity for shadows");
            return;
        };
        let storage = self.storage.clone();
        let event_id = event_id.to_owned();
        let active_outcome = active.outcome.label().to_owned();
        let active_version = active.version.as_str().to_owned();
        let active_effects = comparable_effects(active);
        let candidate = candidate.clone();
        let invocation = prepared.invocation.clone();
        let scope = Scope {
            shadow: true,
            ..prepared.scope.clone()
        };
        tokio::spawn(async move {
            let report = candidate
                .invoke_admitted(&admission, invocation, scope)
                .await;
            drop(admission);
            let candidate_effects = comparable_effects(&report);
            let run = agenthost_storage::ShadowRun {
                event_id: event_id.clone(),
                plugin: report.plugin.to_string(),
                differs: active_outcome != report.outcome.label()
                    || active_effects != candidate_effects,
                active_version,
                candidate_version: report.version.as_str().to_owned(),
                active_outcome,
                candidate_outcome: report.outcome.label().to_owned(),
                active_effects_json: active_effects,
                candidate_effects_json: candidate_effects,
                at_ms: crate::now_ms(),
            };
            tracing::debug!(event = %event_id, plugin = %run.plugin, differs = run.differs, "shadow run recorded");
            if let Err(e) = storage.deploys().record_shadow_run(&run).await {
                tracing::warn!(event = %event_id, error = %e, "could not record the shadow run");
            }
        });
    }

    /// The invocation stored with the event, with the conversation's history filled in,
    /// and its scope: whom the plugin may text, which conversation it handles.
    async fn prepare(&self, event: &EventRow, plugin: &Plugin) -> Result<Prepared, PrepareError> {
        let mut invocation: Invocation = serde_json::from_str(&event.payload)
            .map_err(|e| PrepareError::Bad(format!("event payload is not an invocation: {e}")))?;
        Ok(match &mut invocation {
            Invocation::Message(m) => {
                let history = self
                    .storage
                    .conversations()
                    .history(&m.conversation_id, HISTORY_MESSAGES, Some(&event.id))
                    .await?;
                m.history = history
                    .into_iter()
                    .map(|h| HistoryEntry {
                        direction: h.direction,
                        body: h.body,
                        at_ms: h.at_ms.max(0) as u64,
                    })
                    .collect();
                let (from_number, dry_run) = (Some(m.to.clone()), m.dry_run);
                let received_at_ms = Some(i64::try_from(m.received_at_ms).unwrap_or(i64::MAX));
                let scope = Scope::of(&invocation);
                Prepared {
                    invocation,
                    scope,
                    from_number,
                    dry_run,
                    received_at_ms,
                }
            }
            Invocation::Job(j) => {
                // A job for one of this plugin's conversations may text its lead, from
                // its agent number; anything else only the operator's listed numbers,
                // from the plugin's own number.
                let own = match &j.conversation_id {
                    Some(c) => self
                        .storage
                        .conversations()
                        .get(c)
                        .await?
                        .filter(|c| c.plugin.as_deref() == Some(plugin.name().as_str())),
                    None => None,
                };
                let scope = Scope {
                    lead: own.as_ref().map(|c| c.lead_number.clone()),
                    conversation_id: own.as_ref().map(|c| c.id.clone()),
                    shadow: false,
                };
                let from_number = own
                    .map(|c| c.agent_number)
                    .or_else(|| self.routes.first_number_of(plugin.name().as_str()));
                let dry_run = j.dry_run;
                Prepared {
                    invocation,
                    scope,
                    from_number,
                    dry_run,
                    received_at_ms: None,
                }
            }
        })
    }

    /// One transaction: the lease checked, state (against the versions read), budgets,
    /// outbox, jobs, alerts, SLA items, history, event done. Also returns the segments it
    /// queued for sending.
    async fn commit(
        &self,
        event: &EventRow,
        plugin: &Plugin,
        claimed: &Claimed,
        prepared: &Prepared,
        report: &InvocationReport,
    ) -> Result<(CommitResult, u64), agenthost_storage::StorageError> {
        let now = crate::now_ms();
        let conversation_id = prepared.scope.conversation_id.clone();
        let from_number = &prepared.from_number;
        let effects = &report.effects;
        let mut outbound = Vec::with_capacity(effects.sms.len());
        let mut segments = 0u64;
        let reply_window = self.policy.reply_window.as_millis() as i64;
        for (i, sms) in effects.sms.iter().enumerate() {
            let opted_out = self.storage.routes().is_opted_out(&sms.to).await?;
            if opted_out {
                tracing::info!(event = %event.id, to = %sms.to, "reply suppressed: recipient opted out");
            }
            let suppressed = opted_out || prepared.dry_run || from_number.is_none();
            // Smart punctuation to GSM-7 where the meaning stays, then counted.
            let body = agenthost_compliance::lint::normalize(&sms.body);
            let sms_segments = agenthost_runtime::sms::segments(&body);
            if !suppressed {
                segments += u64::from(sms_segments);
            }
            // A reply: to the lead who texted, within the reply window. Anything else
            // (follow-ups, jobs, texts to staff) is agent-initiated.
            let is_reply = prepared.scope.lead.as_deref() == Some(sms.to.as_str())
                && prepared
                    .received_at_ms
                    .is_some_and(|at| now.saturating_sub(at) <= reply_window);
            outbound.push(NewOutbound {
                // Derived from the event: a redelivered event maps to the same keys.
                id: format!("{}#{i}", event.id),
                // Only the lead's own messages belong to the conversation's history.
                conversation_id: conversation_id
                    .clone()
                    .filter(|_| prepared.scope.lead.as_deref() == Some(sms.to.as_str())),
                to: sms.to.clone(),
                from: from_number.clone().unwrap_or_default(),
                body,
                suppressed,
                initiated: !is_reply,
                segments: sms_segments,
            });
        }
        let budgets = plugin.limits().budgets;
        let jobs_scheduled = effects
            .jobs
            .iter()
            .filter(|j| matches!(j, JobEffect::Schedule { .. }))
            .count() as u64;
        let mut commit = Commit {
            event_id: event.id.clone(),
            plugin: report.plugin.to_string(),
            version: report.version.as_str().to_owned(),
            now_ms: now,
            lease: Some(claimed.lease.clone()),
            state_reads: effects
                .state_reads
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            state_writes: effects
                .state
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            budget_day: agenthost_runtime::utc_day(now.max(0) as u64),
            budget_charges: vec![
                BudgetCharge {
                    budget: "sms_segments",
                    amount: segments,
                    limit: budgets.sms_segments,
                },
                BudgetCharge {
                    budget: "jobs",
                    amount: jobs_scheduled,
                    limit: budgets.jobs,
                },
            ],
            outbound,
            jobs: effects
                .jobs
                .iter()
                .map(|j| match j {
                    JobEffect::Schedule {
                        key,
                        name,
                        delay_ms,
                        payload,
                        conversation_id,
                    } => JobChange::Schedule {
                        key: key.clone(),
                        name: name.clone(),
                        due_at_ms: now.saturating_add((*delay_ms).min(i64::MAX as u64) as i64),
                        payload: payload.clone(),
                        conversation_id: conversation_id.clone(),
                    },
                    JobEffect::Cancel { key } => JobChange::Cancel { key: key.clone() },
                })
                .collect(),
            alerts: effects
                .alerts
                .iter()
                // A handoff request in a conversation becomes the host's alert below.
                .filter(|a| {
                    prepared.scope.conversation_id.is_none()
                        || !crate::handoff::is_request(plugin.name().as_str(), &a.kind)
                })
                // The runtime named it `plugin.<name>.<kind>` (`AlertKind::plugin`).
                .map(|a| {
                    HostAlert::new(
                        AlertKind::Plugin(a.kind.clone()),
                        a.severity,
                        a.message.clone(),
                    )
                    .plugin(report.plugin.to_string())
                    .version(report.version.as_str().to_owned())
                    .conversation(conversation_id.clone())
                    .fields(a.fields.clone())
                })
                .collect(),
            sla: effects
                .slas
                .iter()
                .map(|s| match s {
                    SlaEffect::Track {
                        item_id,
                        kind,
                        description,
                        deadline_at_ms,
                    } => SlaChange::Track {
                        item_id: item_id.clone(),
                        kind: kind.clone(),
                        description: description.clone(),
                        deadline_at_ms: (*deadline_at_ms).min(i64::MAX as u64) as i64,
                        dry_run: prepared.dry_run,
                    },
                    SlaEffect::Resolve { item_id } => SlaChange::Resolve {
                        item_id: item_id.clone(),
                    },
                })
                .collect(),
            conversation_id: event.conversation_id.clone(),
            handoff: None,
        };
        // A handoff request: the conversation paused for a person and the host's one
        // alert, in this commit.
        let plugin_name = plugin.name().as_str();
        if let Some(request) = effects
            .alerts
            .iter()
            .find(|a| crate::handoff::is_request(plugin_name, &a.kind))
        {
            match &prepared.scope.conversation_id {
                Some(c) => {
                    commit.handoff =
                        Some(self.handoff.takeover(plugin_name, &request.message, now));
                    commit.alerts.push(self.handoff.alert(
                        plugin_name,
                        report.version.as_str(),
                        c,
                        prepared.scope.lead.as_deref(),
                        &request.message,
                        serde_json::to_value(request.severity).is_ok_and(|v| v == "critical"),
                        &request.fields,
                    ));
                }
                // No conversation to pause: the plugin's alert goes out as it raised it.
                None => {
                    tracing::info!(event = %event.id, plugin = plugin_name, "handoff alert outside a conversation: nothing to pause")
                }
            }
        }
        Ok((self.storage.claims().commit(&commit).await?, segments))
    }

    /// Gives up on an event: the dead letter, the event's `dead` status and ONE alert in
    /// one transaction that also gives the lease up — all of it only if this worker
    /// really holds the event (a lost lease or an event already done raises nothing).
    #[allow(clippy::too_many_arguments)]
    async fn dead_letter(
        &self,
        event: &EventRow,
        plugin: Option<&Plugin>,
        claimed: &Claimed,
        label: &str,
        why: &str,
        alert: DeadAlert,
        delivery: Delivery,
    ) {
        let (name, version) = match plugin {
            Some(p) => (p.name().to_string(), Some(p.version().as_str().to_owned())),
            None => (event.plugin.clone().unwrap_or_default(), None),
        };
        let attempts = claimed.deliveries - claimed.host_failures;
        tracing::error!(event = %event.id, plugin = %name, deliveries = claimed.deliveries, outcome = label, "event dead-lettered: {why}");
        let letter = DeadLetter {
            event_id: event.id.clone(),
            plugin: name.clone(),
            version: version.clone(),
            attempts,
            outcome: label.to_owned(),
            message: why.to_owned(),
            at_ms: crate::now_ms(),
        };
        let alert = match alert {
            DeadAlert::Budget => None,
            DeadAlert::DeadLetter => Some(HostAlert::new(
                AlertKind::DeadLetter,
                Severity::Critical,
                format!(
                    "event {} of plugin {name} gave up after {} deliveries: {why}",
                    event.id, claimed.deliveries
                ),
            )),
            DeadAlert::RuleViolation => Some(HostAlert::new(
                AlertKind::PluginRuleViolation,
                Severity::Warning,
                format!(
                    "plugin {name} broke a host rule on event {} and the event was dead-lettered: {why}",
                    event.id
                ),
            )),
        }
        .map(|alert| HostAlert {
            version,
            ..alert
                .plugin(name.clone())
                .conversation(event.conversation_id.clone())
                .field("event", event.id.clone())
                .field("outcome", label)
        });
        match self
            .storage
            .events()
            .dead_letter_leased(&letter, Some(&claimed.lease), alert.as_ref())
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                // The lease was taken over, or the event committed meanwhile: not ours
                // to bury, and no alert.
                self.note(&name, "lease_lost");
                settle(delivery.ack().await, &event.id);
                return;
            }
            Err(e) => {
                // Not recorded, nor its alert: leave it on the queue rather than lose it.
                tracing::error!(event = %event.id, error = %e, "could not record the dead letter; retrying later");
                settle(delivery.retry(RETRY.backoff.cap).await, &event.id);
                return;
            }
        }
        for observer in &self.observers {
            observer.dead_lettered(&name);
        }
        settle(delivery.dead_letter(why).await, &event.id);
    }
}

enum PrepareError {
    /// The stored event cannot become an invocation: dead-letter it.
    Bad(String),
    /// Storage failed while preparing: a host failure, retried.
    Storage(StorageError),
}

impl From<StorageError> for PrepareError {
    fn from(e: StorageError) -> Self {
        PrepareError::Storage(e)
    }
}

/// An invocation's effects as JSON for the shadow comparison (reads left out: both
/// versions reading the same keys at a different moment is no difference).
fn comparable_effects(report: &InvocationReport) -> String {
    let mut effects = report.effects.clone();
    effects.state_reads.clear();
    serde_json::to_string(&effects).unwrap_or_default()
}

fn settle<T, E: std::fmt::Display>(result: Result<T, E>, event: &str) {
    if let Err(e) = result {
        tracing::warn!(event, error = %e, "settling the queue delivery failed; it will be redelivered and recognised as done");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_conversation_at_a_time_others_in_parallel() {
        let locks = Arc::new(ConversationLocks::default());
        let inside = Arc::new(AtomicU32::new(0));
        let most = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (locks, inside, most) = (locks.clone(), inside.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = locks.lock("+15550001111|+15557654321").await;
                let n = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            most.load(Ordering::SeqCst),
            1,
            "same conversation overlapped"
        );
        // Different conversations do not wait for each other (unless they share a stripe).
        let a = locks.lock("+15550001111|+15550000001").await;
        let other = (2..100)
            .map(|i| format!("+15550001111|+155500000{i:02}"))
            .find(|c| locks.stripe(c) != locks.stripe("+15550001111|+15550000001"))
            .unwrap();
        let b = tokio::time::timeout(Duration::from_millis(100), locks.lock(&other)).await;
        assert!(b.is_ok(), "an unrelated conversation was blocked");
        drop(a);
    }
}
