//! The [`Dispatcher`]: the one task that moves alerts to their channels.
//!
//! The `alerts` table is the queue: a row stays `pending` until every channel it is routed
//! to has taken it (→ `sent`) or one gave up (→ `failed`), so a restart or a Discord
//! outage loses nothing. In memory the dispatcher keeps a bounded working set of rows:
//!
//! - **coalescing** — rows with the same kind, plugin and message become one job. The
//!   first of a burst goes out at once; repeats within the window wait for the window's
//!   end and go out once, with their count.
//! - **plugin rate limit** — alerts a plugin raised (kind `plugin.<name>.…`) open at most
//!   [`PLUGIN_ALERTS_PER_WINDOW`] deliveries per plugin per coalescing window; past that,
//!   everything else the plugin raises in the window is folded into ONE delivery that
//!   says so, with the count. A plugin cannot flood the operators' channel, whatever it
//!   varies in its messages.
//! - **lanes** — each channel instance has its own FIFO lane with at most one request in
//!   flight. A rate limit or outage blocks only that lane (until `retry_after`, or a
//!   jittered exponential backoff); other channels keep delivering.
//! - **shedding** — past `max_pending` undelivered rows, the oldest `info` (then
//!   `warning`) rows are marked `failed` with one log line; `critical` rows never are.
//!
//! **Direct alerts** ([`AlertsHandle::raise_direct`]) are for when no row can be written
//! (storage itself is down): they wait in a bounded in-memory queue ([`MAX_DIRECT`], the
//! oldest dropped with a log line), then take the same path as rows — coalescing, routing,
//! lanes, retries, truncation by the channel — with nothing to mark at the end. They are
//! lost if the process stops before delivering them.
//!
//! Storage is read and marked by a task of its own, so a slow or unreachable database
//! (every query waiting out the pool's acquire timeout) never stalls the lanes: direct
//! alerts and rows already in memory keep going out. The dispatcher runs apart from ingest
//! and the workers and only reads/marks alert rows, so a slow channel never slows the
//! message path.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use agenthost_core::Backoff;
use agenthost_storage::{AlertRow, AlertStatus, Alerts};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::alert::{Alert, CoalesceKey};

/// The plugin an alert was raised by, if a plugin raised it (`plugin.<name>.<kind>`).
fn plugin_of(alert: &Alert) -> Option<String> {
    let rest = alert.kind.strip_prefix("plugin.")?;
    let (name, _) = rest.split_once('.')?;
    Some(name.to_owned())
}
use crate::channel::{ChannelError, ChannelRegistry, Router};
use crate::config::{AlertConfig, ConfigError};
use crate::metrics::AlertMetrics;

/// Most stored rows held in memory at once (waiting, coalescing or being delivered); the
/// rest wait in the table.
pub const MAX_WORKING_ROWS: usize = 1000;
/// Most direct alerts held in memory at once: waiting to be taken, and again taken but not
/// yet delivered. Past it the oldest waiting one is dropped.
pub const MAX_DIRECT: usize = 64;
/// Longest one `send` may take before it counts as a transient failure.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// After a stop, how long the storage task may take to record outcomes already decided.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Deliveries the alerts of one plugin may open per coalescing window before the rest are
/// folded into one.
pub const PLUGIN_ALERTS_PER_WINDOW: usize = 10;

/// Severities shed (in this order) when the backlog passes its bound. Never `critical`.
const SHEDDABLE: [&str; 2] = ["info", "warning"];

/// Wakes the dispatcher, raises direct alerts and reads its counters; cheap to clone,
/// safe to keep anywhere.
#[derive(Clone, Default)]
pub struct AlertsHandle {
    /// Wakes the storage task: new rows.
    notify: Arc<Notify>,
    direct: Arc<DirectQueue>,
    metrics: Arc<AlertMetrics>,
}

/// Direct alerts waiting for the dispatcher.
#[derive(Default)]
struct DirectQueue {
    alerts: Mutex<VecDeque<Alert>>,
    notify: Notify,
}

impl DirectQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Alert>> {
        self.alerts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn pop(&self) -> Option<Alert> {
        self.lock().pop_front()
    }
}

impl AlertsHandle {
    /// Asks the dispatcher to look for new alerts now rather than at its next poll.
    pub fn wake(&self) {
        self.notify.notify_one();
    }

    /// Hands `alert` to the running dispatcher in memory, without a row: for when storage
    /// cannot take one (it is the thing that is down). Delivered like a stored alert, by
    /// routing, coalescing and retries; never blocks. At most [`MAX_DIRECT`] wait: past
    /// that the oldest is dropped with a log line. Lost if the process stops first.
    pub fn raise_direct(&self, alert: Alert) {
        tracing::warn!(
            kind = %alert.kind,
            severity = %alert.severity,
            message = %alert.message,
            "alert raised directly (not stored)"
        );
        let dropped = {
            let mut queue = self.direct.lock();
            let dropped = if queue.len() >= MAX_DIRECT {
                queue.pop_front()
            } else {
                None
            };
            queue.push_back(alert);
            dropped
        };
        self.metrics.update(|m| {
            m.direct += 1;
            m.direct_dropped += u64::from(dropped.is_some());
        });
        if let Some(old) = dropped {
            tracing::error!(
                kind = %old.kind,
                message = %old.message,
                bound = MAX_DIRECT,
                "direct alert queue full: dropped the oldest direct alert"
            );
        }
        self.direct.notify.notify_one();
    }

    pub fn metrics(&self) -> &Arc<AlertMetrics> {
        &self.metrics
    }

    /// The counters in the Prometheus text format.
    pub fn render_prometheus(&self) -> String {
        self.metrics.render_prometheus()
    }
}

/// The dispatcher's timing and bounds (from [`AlertConfig`]).
#[derive(Debug, Clone)]
struct Settings {
    window: Duration,
    max_pending: u64,
    poll_interval: Duration,
    retry_base: Duration,
    retry_cap: Duration,
    give_up_after: Duration,
}

pub struct Dispatcher {
    router: Router,
    settings: Settings,
    handle: AlertsHandle,
}

impl Dispatcher {
    pub fn new(config: &AlertConfig, router: Router) -> Dispatcher {
        let handle = AlertsHandle::default();
        for name in router.channel_names() {
            handle.metrics.register_channel(name);
        }
        Dispatcher {
            router,
            settings: Settings {
                window: config.coalesce_window,
                max_pending: config.max_pending,
                poll_interval: config.poll_interval,
                retry_base: config.retry_base,
                retry_cap: config.retry_cap,
                give_up_after: config.give_up_after,
            },
            handle,
        }
    }

    /// With the built-in channel kinds (`discord`, `webhook`, `log`).
    pub fn from_config(config: &AlertConfig) -> Result<Dispatcher, ConfigError> {
        let registry = ChannelRegistry::builtin(config)?;
        Ok(Dispatcher::new(config, Router::build(config, &registry)?))
    }

    pub fn handle(&self) -> AlertsHandle {
        self.handle.clone()
    }

    /// Delivers alerts until `cancel` fires. Requests in flight at that moment are
    /// abandoned; their rows stay `pending` and go out on the next start (direct alerts
    /// not yet delivered are lost).
    pub async fn run(self, alerts: Alerts, cancel: CancellationToken) {
        let lanes = self
            .router
            .channels
            .iter()
            .map(|(name, _)| Lane::new(name))
            .collect();
        let mut state = State {
            router: self.router,
            settings: self.settings.clone(),
            metrics: self.handle.metrics.clone(),
            jobs: HashMap::new(),
            next_job: 0,
            known: HashSet::new(),
            direct_held: 0,
            open: HashMap::new(),
            last_released: HashMap::new(),
            plugin_opened: HashMap::new(),
            lanes,
            finished: Vec::new(),
        };
        let direct = self.handle.direct.clone();
        let held = Arc::new(AtomicUsize::new(0));
        let (rows_tx, mut rows_rx) = mpsc::unbounded_channel();
        let (marks_tx, marks_rx) = mpsc::unbounded_channel();
        let store = StoreTask {
            alerts,
            settings: self.settings,
            metrics: self.handle.metrics.clone(),
            wake: self.handle.notify.clone(),
            held: held.clone(),
            to_dispatcher: rows_tx,
        };
        let mut store = tokio::spawn(store.run(marks_rx, cancel.clone()));
        let mut inflight: JoinSet<Attempt> = JoinSet::new();
        tracing::info!(
            channels = ?state.router.channel_names().collect::<Vec<_>>(),
            "alert dispatcher started"
        );
        loop {
            let now = Instant::now();
            state.take_direct(&direct, now);
            state.release(now);
            state.start(now, &mut inflight);
            state.send_finished(&marks_tx);
            held.store(state.known.len(), Ordering::Relaxed);
            let wake = state.next_wake();
            tokio::select! {
                () = cancel.cancelled() => break,
                () = direct.notify.notified() => {}
                Some(from_store) = rows_rx.recv() => state.apply(from_store, Instant::now()),
                Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                    match done {
                        Ok(attempt) => state.finish(attempt),
                        Err(e) => tracing::error!(error = %e, "alert send task failed"),
                    }
                }
                () = sleep_until(wake), if wake.is_some() => {}
            }
        }
        inflight.shutdown().await;
        // The storage task records the outcomes already sent to it, then stops.
        drop(marks_tx);
        if tokio::time::timeout(STOP_GRACE, &mut store).await.is_err() {
            store.abort();
        }
        tracing::info!(
            in_memory = state.known.len(),
            "alert dispatcher stopped; undelivered alerts stay pending"
        );
    }
}

async fn sleep_until(wake: Option<Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What the storage task tells the dispatcher, in the order it happened.
enum FromStore {
    /// The oldest pending rows at a poll (some may already be in memory).
    Rows(Vec<AlertRow>),
    /// These rows are marked (or failed to be, and stay pending): forget them.
    Marked(Vec<i64>),
}

/// One stored row's outcome: `(row id, status, attempts in total)`.
type Mark = (i64, AlertStatus, i64);

/// The dispatcher's only contact with storage: polls pending rows, sheds past the bound,
/// and marks outcomes, in one sequence, so rows read after a mark never include it.
struct StoreTask {
    alerts: Alerts,
    settings: Settings,
    metrics: Arc<AlertMetrics>,
    wake: Arc<Notify>,
    /// Rows the dispatcher holds in memory.
    held: Arc<AtomicUsize>,
    to_dispatcher: mpsc::UnboundedSender<FromStore>,
}

impl StoreTask {
    async fn run(self, mut marks: mpsc::UnboundedReceiver<Vec<Mark>>, cancel: CancellationToken) {
        let mut next_poll = Instant::now();
        while !cancel.is_cancelled() {
            while let Ok(batch) = marks.try_recv() {
                self.mark(batch).await;
            }
            if Instant::now() >= next_poll {
                self.poll().await;
                next_poll = Instant::now() + self.settings.poll_interval;
            }
            tokio::select! {
                () = cancel.cancelled() => {}
                () = self.wake.notified() => next_poll = Instant::now(),
                batch = marks.recv() => match batch {
                    Some(batch) => self.mark(batch).await,
                    None => return,
                },
                () = tokio::time::sleep_until(next_poll) => {}
            }
        }
        // Stopping: record what the dispatcher already decided, until it hangs up.
        while let Some(batch) = marks.recv().await {
            self.mark(batch).await;
        }
    }

    /// Sheds past the bound, then reads the oldest pending rows for the dispatcher.
    async fn poll(&self) {
        match self.alerts.count_pending().await {
            Ok(pending) => {
                self.metrics.update(|m| m.pending = pending);
                if pending > self.settings.max_pending {
                    self.shed(pending).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot count pending alerts"),
        }
        if self.held.load(Ordering::Relaxed) >= MAX_WORKING_ROWS {
            return;
        }
        // The oldest MAX_WORKING_ROWS pending rows include every new one there is room for.
        let want = u32::try_from(MAX_WORKING_ROWS).unwrap_or(u32::MAX);
        match self.alerts.pending(want).await {
            Ok(rows) => {
                let _ = self.to_dispatcher.send(FromStore::Rows(rows));
            }
            Err(e) => tracing::warn!(error = %e, "cannot read pending alerts"),
        }
    }

    async fn shed(&self, pending: u64) {
        let mut excess = pending - self.settings.max_pending;
        let mut shed = 0;
        for severity in SHEDDABLE {
            if excess == 0 {
                break;
            }
            let batch = u32::try_from(excess).unwrap_or(u32::MAX);
            match self.alerts.shed_pending(severity, batch).await {
                Ok(n) => {
                    shed += n;
                    excess = excess.saturating_sub(n);
                }
                Err(e) => tracing::error!(error = %e, severity, "cannot shed pending alerts"),
            }
        }
        if shed > 0 {
            self.metrics.update(|m| {
                m.dropped += shed;
                m.pending = pending - shed;
            });
            tracing::warn!(
                dropped = shed,
                pending,
                bound = self.settings.max_pending,
                "alert backlog over its bound: dropped the oldest info/warning alerts \
                 (critical ones are kept)"
            );
        }
    }

    /// Marks rows `sent` or `failed`, then tells the dispatcher to forget them.
    async fn mark(&self, batch: Vec<Mark>) {
        let mut ids = Vec::with_capacity(batch.len());
        for (row, status, attempts) in batch {
            if let Err(e) = self.alerts.mark(row, status, attempts).await {
                // The row stays pending and is delivered again: a duplicate, not a loss.
                tracing::error!(error = %e, alert = row, %status, "cannot mark alert");
            }
            ids.push(row);
        }
        let _ = self.to_dispatcher.send(FromStore::Marked(ids));
    }
}

/// The outcome of one `send` on one lane.
struct Attempt {
    lane: usize,
    job: u64,
    result: Result<(), ChannelError>,
}

/// One delivery: one or more identical alerts (stored rows, direct alerts), routed to one
/// or more lanes.
struct Job {
    alert: Arc<Alert>,
    /// `(row id, attempts recorded before)`.
    rows: Vec<(i64, i64)>,
    /// Direct alerts folded into it (no row to mark).
    direct: usize,
    /// Not handed to lanes before this (the end of the coalescing window).
    release_at: Instant,
    first_seen: Instant,
    /// Lanes that have not yet finished with it.
    outstanding: usize,
    /// Some lane gave up on it.
    failed: bool,
    /// `send` calls made for it, over all lanes.
    attempts: i64,
}

/// One channel instance's queue of jobs.
struct Lane {
    name: String,
    queue: VecDeque<u64>,
    /// No request before this (a rate limit or backoff).
    blocked_until: Option<Instant>,
    /// Transient failures in a row; drives the backoff.
    failures: u32,
    busy: bool,
}

impl Lane {
    fn new(name: &str) -> Lane {
        Lane {
            name: name.to_owned(),
            queue: VecDeque::new(),
            blocked_until: None,
            failures: 0,
            busy: false,
        }
    }

    fn ready(&self, now: Instant) -> bool {
        !self.busy && !self.queue.is_empty() && self.blocked_until.is_none_or(|t| t <= now)
    }
}

struct State {
    router: Router,
    settings: Settings,
    metrics: Arc<AlertMetrics>,
    jobs: HashMap<u64, Job>,
    next_job: u64,
    /// Row ids in some job, or finished and not yet marked.
    known: HashSet<i64>,
    /// Direct alerts in some job.
    direct_held: usize,
    /// Jobs not yet released, by what they coalesce.
    open: HashMap<CoalesceKey, u64>,
    /// When a job of each key was last released: repeats wait for the window's end.
    last_released: HashMap<CoalesceKey, Instant>,
    /// Per plugin: when each delivery its alerts opened in the current window was opened.
    plugin_opened: HashMap<String, VecDeque<Instant>>,
    lanes: Vec<Lane>,
    /// Jobs every lane is done with, to be marked in storage.
    finished: Vec<u64>,
}

impl State {
    /// Takes direct alerts from their queue while fewer than [`MAX_DIRECT`] are held.
    fn take_direct(&mut self, direct: &DirectQueue, now: Instant) {
        while self.direct_held < MAX_DIRECT {
            let Some(alert) = direct.pop() else {
                break;
            };
            self.direct_held += 1;
            self.admit(alert, None, now);
        }
    }

    /// Applies what the storage task reports: new rows in, marked rows forgotten.
    fn apply(&mut self, message: FromStore, now: Instant) {
        match message {
            FromStore::Rows(rows) => {
                let window = self.settings.window;
                self.last_released.retain(|_, t| *t + window > now);
                for row in rows {
                    if self.known.len() >= MAX_WORKING_ROWS {
                        break;
                    }
                    if self.known.insert(row.id) {
                        self.admit(Alert::from_row(&row), Some((row.id, row.attempts)), now);
                    }
                }
            }
            FromStore::Marked(ids) => {
                for id in ids {
                    self.known.remove(&id);
                }
            }
        }
    }

    /// Adds an alert (a stored row, or a direct alert when `row` is `None`) to the job of
    /// identical alerts still waiting, or opens a job for it.
    fn admit(&mut self, mut alert: Alert, row: Option<(i64, i64)>, now: Instant) {
        alert.window = self.settings.window;
        let mut key = alert.key();
        if let Some(plugin) = plugin_of(&alert) {
            let window = self.settings.window;
            let opened = self.plugin_opened.entry(plugin.clone()).or_default();
            while opened.front().is_some_and(|t| *t + window <= now) {
                opened.pop_front();
            }
            let has_job = self.open.contains_key(&key);
            if !has_job && opened.len() >= PLUGIN_ALERTS_PER_WINDOW {
                // Over its limit: fold into the plugin's one overflow delivery.
                key = CoalesceKey::overflow(&plugin);
                if !self.open.contains_key(&key) {
                    alert.message = format!(
                        "plugin {plugin} raised more than {PLUGIN_ALERTS_PER_WINDOW} alerts within {}; this delivery stands for the rest of them (the first: {})",
                        agenthost_core::human_duration(window),
                        alert.message
                    );
                    alert.kind = format!("plugin.{plugin}.alert_flood");
                }
            } else if !has_job {
                opened.push_back(now);
            }
        }
        if let Some(job) = self.open.get(&key).and_then(|id| self.jobs.get_mut(id)) {
            Arc::make_mut(&mut job.alert).count += 1;
            match row {
                Some(row) => job.rows.push(row),
                None => job.direct += 1,
            }
            self.metrics.update(|m| m.coalesced += 1);
            return;
        }
        let release_at = match self.last_released.get(&key) {
            // The overflow delivery always waits for the window's end, to gather.
            _ if key.is_overflow() => now + self.settings.window,
            Some(&t) if now < t + self.settings.window => t + self.settings.window,
            _ => now,
        };
        let id = self.next_job;
        self.next_job += 1;
        self.jobs.insert(
            id,
            Job {
                alert: Arc::new(alert),
                rows: row.into_iter().collect(),
                direct: usize::from(row.is_none()),
                release_at,
                first_seen: now,
                outstanding: 0,
                failed: false,
                attempts: 0,
            },
        );
        self.open.insert(key, id);
    }

    /// Hands jobs whose window has ended to their lanes.
    fn release(&mut self, now: Instant) {
        let due: Vec<(CoalesceKey, u64)> = self
            .open
            .iter()
            .filter(|(_, id)| self.jobs.get(id).is_some_and(|j| j.release_at <= now))
            .map(|(k, id)| (k.clone(), *id))
            .collect();
        for (key, id) in due {
            self.open.remove(&key);
            self.last_released.insert(key, now);
            let Some(job) = self.jobs.get_mut(&id) else {
                continue;
            };
            let targets = self.router.targets(&job.alert.kind);
            if targets.is_empty() {
                tracing::warn!(
                    kind = %job.alert.kind,
                    "alert kind has no route and there is no `*` route; marking it failed"
                );
                let alerts = job.rows.len() + job.direct;
                self.metrics.update(|m| m.unrouted += alerts as u64);
                job.failed = true;
                self.finished.push(id);
                continue;
            }
            job.outstanding = targets.len();
            for &lane in targets {
                self.lanes[lane].queue.push_back(id);
            }
        }
    }

    /// Starts one request on every lane that may send.
    fn start(&mut self, now: Instant, inflight: &mut JoinSet<Attempt>) {
        for (index, lane) in self.lanes.iter_mut().enumerate() {
            if !lane.ready(now) {
                continue;
            }
            let Some(&job_id) = lane.queue.front() else {
                continue;
            };
            let Some(job) = self.jobs.get_mut(&job_id) else {
                lane.queue.pop_front();
                continue;
            };
            job.attempts += 1;
            lane.busy = true;
            lane.blocked_until = None;
            let channel = self.router.channels[index].1.clone();
            let alert = job.alert.clone();
            inflight.spawn(async move {
                let result = match tokio::time::timeout(SEND_TIMEOUT, channel.send(&alert)).await {
                    Ok(result) => result,
                    Err(_) => Err(ChannelError::Transient {
                        retry_after: None,
                        message: format!("no answer within {SEND_TIMEOUT:?}"),
                    }),
                };
                Attempt {
                    lane: index,
                    job: job_id,
                    result,
                }
            });
        }
    }

    /// Records one request's outcome on its lane and job.
    fn finish(&mut self, attempt: Attempt) {
        let Attempt { lane, job, result } = attempt;
        let now = Instant::now();
        let settings = &self.settings;
        let lane = &mut self.lanes[lane];
        lane.busy = false;
        let give_up = match result {
            Ok(()) => {
                self.metrics.channel(&lane.name, |c| c.sent += 1);
                lane.failures = 0;
                false
            }
            Err(ChannelError::Permanent(message)) => {
                self.metrics.channel(&lane.name, |c| c.failed += 1);
                tracing::error!(channel = %lane.name, error = %message, "alert delivery failed permanently");
                true
            }
            Err(ChannelError::Transient {
                retry_after,
                message,
            }) => {
                let age = self
                    .jobs
                    .get(&job)
                    .map_or(Duration::ZERO, |j| now - j.first_seen);
                if age >= settings.give_up_after {
                    self.metrics.channel(&lane.name, |c| c.failed += 1);
                    tracing::error!(
                        channel = %lane.name, error = %message, ?age,
                        "alert delivery still failing; giving up"
                    );
                    lane.failures = 0;
                    true
                } else {
                    let delay =
                        backoff(settings, lane.failures).max(retry_after.unwrap_or_default());
                    lane.failures = lane.failures.saturating_add(1);
                    lane.blocked_until = Some(now + delay);
                    self.metrics.channel(&lane.name, |c| c.retried += 1);
                    tracing::warn!(
                        channel = %lane.name, error = %message, ?delay,
                        "alert delivery failed; will retry"
                    );
                    return;
                }
            }
        };
        if lane.queue.front() == Some(&job) {
            lane.queue.pop_front();
        }
        if let Some(j) = self.jobs.get_mut(&job) {
            j.failed |= give_up;
            j.outstanding = j.outstanding.saturating_sub(1);
            if j.outstanding == 0 {
                self.finished.push(job);
            }
        }
    }

    /// Forgets finished jobs, handing their rows' outcomes (`sent` or `failed`) to the
    /// storage task; the rows stay known until it has marked them.
    fn send_finished(&mut self, marks: &mpsc::UnboundedSender<Vec<Mark>>) {
        for id in std::mem::take(&mut self.finished) {
            let Some(job) = self.jobs.remove(&id) else {
                continue;
            };
            self.direct_held = self.direct_held.saturating_sub(job.direct);
            if job.rows.is_empty() {
                continue;
            }
            let status = if job.failed {
                AlertStatus::Failed
            } else {
                AlertStatus::Sent
            };
            let batch = job
                .rows
                .iter()
                .map(|&(row, before)| (row, status, before + job.attempts))
                .collect();
            if marks.send(batch).is_err() {
                // Only while stopping: the rows stay pending and go out again.
                tracing::warn!(alert_job = id, "alert storage task gone; rows stay pending");
            }
        }
    }

    /// The earliest moment a held job is released or a blocked lane may send again.
    fn next_wake(&self) -> Option<Instant> {
        let held = self
            .open
            .values()
            .filter_map(|id| self.jobs.get(id).map(|j| j.release_at));
        let lanes = self
            .lanes
            .iter()
            .filter(|l| !l.busy && !l.queue.is_empty())
            .filter_map(|l| l.blocked_until);
        held.chain(lanes).min()
    }
}

/// `min(cap, base × 2^failures)`, jittered down by up to half so that lanes recovering
/// together don't retry in step.
fn backoff(settings: &Settings, failures: u32) -> Duration {
    Backoff::half(settings.retry_base, settings.retry_cap).delay(failures, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let settings = Settings {
            window: Duration::ZERO,
            max_pending: 1,
            poll_interval: Duration::from_secs(1),
            retry_base: Duration::from_millis(100),
            retry_cap: Duration::from_secs(1),
            give_up_after: Duration::from_secs(60),
        };
        for failures in 0..40 {
            let d = backoff(&settings, failures);
            let ceiling = Duration::from_millis(100)
                .saturating_mul(1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX))
                .min(Duration::from_secs(1));
            assert!(d <= ceiling && d >= ceiling / 2, "{failures}: {d:?}");
        }
    }
}
