//! Lane workers: each slot consumes its plugin's lane with prefetch 1, invokes the active
//! version in a fresh sandbox, and commits the effects, the history and the event's
//! completion in ONE transaction before acknowledging. Failures retry with jittered
//! backoff and end in the dead-letter store after the plugin's max attempts.

use std::sync::Arc;
use std::time::Duration;

use agenthost_queue::{Delivery, Queue};
use agenthost_runtime::{HistoryEntry, Invocation, InvocationReport, JobEffect, Plugin, SlaEffect};
use agenthost_storage::{
    Commit, CommitResult, DeadLetter, EventRow, EventStatus, JobChange, NewAlert, NewOutbound,
    SlaChange, Storage,
};
use agenthost_twilio::Backoff;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::registry::{Registry, Selected};
use crate::routes::Routes;

/// Told about every invocation a worker ran (the version, whether it was a canary, how
/// it ended): the deploy watch decides automatic rollbacks from these, metrics count them.
pub trait InvocationObserver: Send + Sync {
    fn observed(&self, report: &InvocationReport, canary: bool);
    /// A failed attempt of `plugin`'s event was sent back for a retry.
    fn retried(&self, plugin: &str) {
        let _ = plugin;
    }
    /// An event of `plugin` gave up into the dead-letter store.
    fn dead_lettered(&self, plugin: &str) {
        let _ = plugin;
    }
}

/// Messages of history handed to a plugin with each inbound message.
pub const HISTORY_MESSAGES: u32 = 30;
/// Retry delays between attempts of a failing event.
const RETRY_BACKOFF: Backoff = Backoff {
    base: Duration::from_millis(200),
    cap: Duration::from_secs(60),
};
/// A plugin not loaded on this replica (yet): try again after this.
const PLUGIN_MISSING_RETRY: Duration = Duration::from_secs(5);
/// After a queue error, wait this long before consuming again.
const CONSUME_ERROR_PAUSE: Duration = Duration::from_millis(500);

/// Keywords that opt a number out of every agent, and back in (carrier conventions).
const OPT_OUT_WORDS: &[&str] = &["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
const OPT_IN_WORDS: &[&str] = &["START", "UNSTOP", "YES"];

/// Striped locks that serialise a conversation's events within this process: a lead who
/// texts twice in a second gets the second message handled after the first committed, so
/// the plugin sees the state (and history) the first one left. Striped, so no map grows;
/// two conversations sharing a stripe only wait for each other.
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
        (crate::registry::stable_hash(conversation) % self.stripes.len() as u64) as usize
    }
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
}

impl Worker {
    /// Runs `slots` consumers on `lane` until `cancel`; in-flight events finish first.
    pub fn spawn_lane(
        &self,
        lane: String,
        slots: u32,
        cancel: CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        (0..slots)
            .map(|slot| {
                let w = self.clone();
                let (lane, cancel) = (lane.clone(), cancel.clone());
                tokio::spawn(async move { w.run_slot(lane, slot, cancel).await })
            })
            .collect()
    }

    async fn run_slot(self, lane: String, slot: u32, cancel: CancellationToken) {
        'connect: while !cancel.is_cancelled() {
            let mut consumer = match self.queue.consume(&lane, 1).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(lane = %lane, slot, error = %e, "cannot consume lane; retrying");
                    tokio::select! { _ = tokio::time::sleep(CONSUME_ERROR_PAUSE) => continue 'connect, _ = cancel.cancelled() => break }
                }
            };
            loop {
                let delivery = tokio::select! {
                    d = consumer.next() => d,
                    _ = cancel.cancelled() => break 'connect,
                };
                match delivery {
                    Ok(d) => self.process(&lane, d).await,
                    Err(e) => {
                        tracing::warn!(lane = %lane, slot, error = %e, "consuming failed; reconnecting");
                        tokio::time::sleep(CONSUME_ERROR_PAUSE).await;
                        continue 'connect;
                    }
                }
            }
        }
        tracing::debug!(lane = %lane, slot, "worker slot stopped");
    }

    /// Handles one delivery to its end: acked, retried, or dead-lettered.
    pub async fn process(&self, lane: &str, delivery: Delivery) {
        let msg = delivery.message().clone();
        let event = match self.storage.get_event(&msg.event_id).await {
            Ok(Some(e)) => e,
            Ok(None) => {
                tracing::error!(event = %msg.event_id, "queued event not found in storage; dropping the queue entry");
                settle(delivery.ack().await, &msg.event_id);
                return;
            }
            Err(e) => {
                tracing::warn!(event = %msg.event_id, error = %e, "storage unavailable; retrying the event");
                settle(
                    delivery.retry(RETRY_BACKOFF.delay(msg.attempt, None)).await,
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
        // One event per conversation at a time. A redelivery of this very event finishing
        // while we waited needs no re-read: `commit_success` refuses an event already done.
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
        }) = self.registry.select(lane, sticky)
        else {
            tracing::warn!(lane, event = %event.id, "no active version of this plugin here; retrying later");
            settle(delivery.retry(PLUGIN_MISSING_RETRY).await, &msg.event_id);
            return;
        };
        let invocation = match self.prepare(&event).await {
            Ok(i) => i,
            Err(why) => {
                self.dead_letter(
                    &event,
                    Some(&plugin),
                    msg.attempt,
                    "bad_event",
                    &why,
                    delivery,
                )
                .await;
                return;
            }
        };
        let report = plugin.invoke(invocation.clone()).await;
        for observer in &self.observers {
            observer.observed(&report, canary);
        }
        if let Some(candidate) = shadow {
            self.spawn_shadow(&event.id, candidate, invocation.clone(), &report);
        }
        // Deliveries are numbered from 1: this is attempt `msg.attempt` of the event.
        let attempts = msg.attempt;
        if report.outcome.is_ok() {
            match self.commit(&event, &invocation, &report).await {
                Ok(()) => settle(delivery.ack().await, &event.id),
                Err(e) => {
                    tracing::warn!(event = %event.id, error = %e, "commit failed; the event will be retried");
                    settle(
                        delivery.retry(RETRY_BACKOFF.delay(attempts, None)).await,
                        &event.id,
                    );
                }
            }
            return;
        }
        if attempts == 1 {
            self.alert_failure(&event, &report).await;
        }
        let max = plugin.limits().max_attempts;
        if report.outcome.retryable() && attempts < max {
            if let Err(e) = self
                .storage
                .record_attempt_failure(
                    &event.id,
                    i64::from(attempts),
                    &report.outcome.to_string(),
                    crate::now_ms(),
                )
                .await
            {
                tracing::warn!(event = %event.id, error = %e, "could not record the failed attempt");
            }
            for observer in &self.observers {
                observer.retried(plugin.name().as_str());
            }
            let delay = RETRY_BACKOFF.delay(attempts, None);
            tracing::info!(event = %event.id, plugin = %plugin.name(), attempts, max, ?delay, outcome = report.outcome.label(), "retrying event");
            settle(delivery.retry(delay).await, &event.id);
        } else {
            let label = report.outcome.label();
            self.dead_letter(
                &event,
                Some(&plugin),
                attempts,
                label,
                &report.outcome.to_string(),
                delivery,
            )
            .await;
        }
    }

    /// One alert per failing event, raised on its first failed attempt (its retries and
    /// their traps do not alert again; a final dead letter has its own alert). Errors the
    /// plugin returned itself are its business and do not alert.
    async fn alert_failure(&self, event: &EventRow, report: &InvocationReport) {
        use agenthost_runtime::Outcome;
        let kind = match &report.outcome {
            Outcome::Trap { .. } => "plugin_trap",
            Outcome::FuelExhausted { .. }
            | Outcome::MemoryLimit { .. }
            | Outcome::Deadline { .. } => "plugin_limit_kill",
            _ => return,
        };
        let alert = NewAlert {
            kind: kind.into(),
            severity: "error".into(),
            plugin: Some(report.plugin.to_string()),
            version: Some(report.version.as_str().to_owned()),
            conversation_id: event.conversation_id.clone(),
            message: format!(
                "plugin {} version {} failed on event {}: {}",
                report.plugin,
                report.version.short(),
                event.id,
                report.outcome
            ),
            fields: vec![
                ("event".into(), event.id.clone()),
                ("outcome".into(), report.outcome.label().into()),
            ],
        };
        if let Err(e) = self.storage.insert_alert(&alert, crate::now_ms()).await {
            tracing::error!(event = %event.id, error = %e, "could not record the plugin failure alert");
        }
    }

    /// Runs a shadow candidate on a copy of the event, off the lane: its effects are
    /// recorded next to the active version's and never committed (nothing sent, nothing
    /// written), so a new version meets real traffic at zero risk.
    fn spawn_shadow(
        &self,
        event_id: &str,
        candidate: Plugin,
        invocation: Invocation,
        active: &InvocationReport,
    ) {
        let storage = self.storage.clone();
        let event_id = event_id.to_owned();
        let active_outcome = active.outcome.label().to_owned();
        let active_version = active.version.as_str().to_owned();
        let active_effects = serde_json::to_string(&active.effects).unwrap_or_default();
        tokio::spawn(async move {
            let report = candidate.invoke(invocation).await;
            let candidate_effects = serde_json::to_string(&report.effects).unwrap_or_default();
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
            if let Err(e) = storage.record_shadow_run(&run).await {
                tracing::warn!(event = %event_id, error = %e, "could not record the shadow run");
            }
        });
    }

    /// The invocation stored with the event, with the conversation's history filled in.
    async fn prepare(&self, event: &EventRow) -> Result<Invocation, String> {
        let mut invocation: Invocation = serde_json::from_str(&event.payload)
            .map_err(|e| format!("event payload is not an invocation: {e}"))?;
        if let Invocation::Message(m) = &mut invocation {
            let history = self
                .storage
                .conversation_history(&m.conversation_id, HISTORY_MESSAGES, Some(&event.id))
                .await
                .map_err(|e| e.to_string())?;
            m.history = history
                .into_iter()
                .map(|h| HistoryEntry {
                    direction: if h.direction == agenthost_storage::Direction::Outbound {
                        agenthost_runtime::Direction::Outbound
                    } else {
                        agenthost_runtime::Direction::Inbound
                    },
                    body: h.body,
                    at_ms: h.at_ms.max(0) as u64,
                })
                .collect();
        }
        Ok(invocation)
    }

    /// One transaction: state, outbox, jobs, alerts, SLA items, history, event done.
    async fn commit(
        &self,
        event: &EventRow,
        invocation: &Invocation,
        report: &InvocationReport,
    ) -> Result<(), String> {
        let now = crate::now_ms();
        let (conversation_id, from_number, dry_run) = match invocation {
            Invocation::Message(m) => (
                Some(m.conversation_id.clone()),
                Some(m.to.clone()),
                m.dry_run,
            ),
            Invocation::Job(j) => {
                let from = j
                    .conversation_id
                    .as_deref()
                    .and_then(crate::agent_number_of)
                    .map(str::to_owned)
                    .or_else(|| self.routes.first_number_of(report.plugin.as_str()));
                (j.conversation_id.clone(), from, j.dry_run)
            }
        };
        // STOP/START from the lead: the host records it whatever the plugin does.
        if let Invocation::Message(m) = invocation {
            let word = m.body.trim().to_ascii_uppercase();
            let change = if OPT_OUT_WORDS.contains(&word.as_str()) {
                Some(true)
            } else if OPT_IN_WORDS.contains(&word.as_str()) {
                Some(false)
            } else {
                None
            };
            if let Some(opted_out) = change {
                self.storage
                    .set_opt_out(&m.from, opted_out, now)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        let effects = &report.effects;
        let mut outbound = Vec::with_capacity(effects.sms.len());
        for (i, sms) in effects.sms.iter().enumerate() {
            let opted_out = self
                .storage
                .is_opted_out(&sms.to)
                .await
                .map_err(|e| e.to_string())?;
            if opted_out {
                tracing::info!(event = %event.id, to = %sms.to, "reply suppressed: recipient opted out");
            }
            outbound.push(NewOutbound {
                // Derived from the event: a redelivered event maps to the same keys.
                id: format!("{}#{i}", event.id),
                conversation_id: conversation_id.clone(),
                to: sms.to.clone(),
                from: from_number.clone().unwrap_or_default(),
                body: sms.body.clone(),
                suppressed: opted_out || dry_run || from_number.is_none(),
            });
        }
        let commit = Commit {
            event_id: event.id.clone(),
            plugin: report.plugin.to_string(),
            version: report.version.as_str().to_owned(),
            now_ms: now,
            state_writes: effects
                .state
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
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
                .map(|a| NewAlert {
                    kind: a.kind.clone(),
                    severity: serde_json::to_value(a.severity)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_else(|| "info".into()),
                    plugin: Some(report.plugin.to_string()),
                    version: Some(report.version.as_str().to_owned()),
                    conversation_id: conversation_id.clone(),
                    message: a.message.clone(),
                    fields: a.fields.clone(),
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
                        dry_run,
                    },
                    SlaEffect::Resolve { item_id } => SlaChange::Resolve {
                        item_id: item_id.clone(),
                    },
                })
                .collect(),
        };
        match self
            .storage
            .commit_success(&commit)
            .await
            .map_err(|e| e.to_string())?
        {
            CommitResult::Committed { .. } => {
                if !commit.outbound.is_empty() {
                    self.outbox_wake.notify_one();
                }
            }
            CommitResult::AlreadyDone => {
                tracing::info!(event = %event.id, "event was already committed by an earlier delivery; nothing written");
            }
        }
        Ok(())
    }

    async fn dead_letter(
        &self,
        event: &EventRow,
        plugin: Option<&Plugin>,
        attempts: u32,
        label: &str,
        why: &str,
        delivery: Delivery,
    ) {
        let (name, version) = match plugin {
            Some(p) => (p.name().to_string(), Some(p.version().as_str().to_owned())),
            None => (event.plugin.clone().unwrap_or_default(), None),
        };
        tracing::error!(event = %event.id, plugin = %name, attempts, outcome = label, "event dead-lettered: {why}");
        let letter = DeadLetter {
            event_id: event.id.clone(),
            plugin: name.clone(),
            version: version.clone(),
            attempts: i64::from(attempts),
            outcome: label.to_owned(),
            message: why.to_owned(),
            at_ms: crate::now_ms(),
        };
        let stored = self.storage.dead_letter(&letter).await;
        if let Err(e) = stored {
            // Not recorded: leave it on the queue rather than lose it.
            tracing::error!(event = %event.id, error = %e, "could not record the dead letter; retrying later");
            settle(delivery.retry(RETRY_BACKOFF.cap).await, &event.id);
            return;
        }
        for observer in &self.observers {
            observer.dead_lettered(&name);
        }
        let alert = NewAlert {
            kind: "dead_letter".into(),
            severity: "critical".into(),
            plugin: Some(name.clone()),
            version,
            conversation_id: event.conversation_id.clone(),
            message: format!(
                "event {} of plugin {name} gave up after {attempts} attempt(s): {why}",
                event.id
            ),
            fields: vec![
                ("event".into(), event.id.clone()),
                ("outcome".into(), label.into()),
            ],
        };
        if let Err(e) = self.storage.insert_alert(&alert, crate::now_ms()).await {
            tracing::error!(event = %event.id, error = %e, "could not record the dead-letter alert");
        }
        settle(delivery.dead_letter(why).await, &event.id);
    }
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
