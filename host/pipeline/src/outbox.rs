//! The outbox dispatcher: sends committed SMS through Twilio's REST API.
//!
//! Rows are claimed with a lease (so replicas never send the same row at once, and a
//! crashed sender's rows come back), sent, and marked. 429 and transient errors are
//! retried with jittered backoff honouring Retry-After; permanent errors (21211 invalid
//! number, 21610 opted out, ...) are recorded on the row, alerted, and never retried.
//!
//! Twilio's health is judged from the sends themselves: when every send has failed
//! transiently (no answer, 5xx, 429, …) for `down_after` with no success in between, one
//! `dependency_down` alert (`dependency: twilio`) is stored; the next send Twilio answers
//! stores one `dependency_restored`. Shorter failure streaks raise nothing. With nothing
//! to send there is nothing to judge: an idle outbox never alerts.
//!
//! Every result is recorded only by the sender holding the row's lease (its token), so a
//! stalled sender can never overwrite what another replica did with the row since.
//! Consent is checked again right before each send: a STOP that arrived after the commit
//! still wins.
//!
//! Twilio's Messages API has no idempotency key. Where an attempt may have reached Twilio
//! without us learning the outcome — the process died mid-send (its lease ran out), the
//! answer timed out, a 5xx — the row is marked `ambiguous`, and before sending it again
//! the dispatcher looks for it in Twilio's Messages list (same recipient, sender and body,
//! created since the row was). Found: recorded as sent, not sent again. The window that
//! remains: Twilio accepted the message but does not list it yet when we look (its list
//! is eventually consistent); then the text goes out twice — a duplicate, never a loss.

use std::sync::Arc;
use std::time::Duration;

use agenthost_core::{
    AlertKind, Backoff, HostAlert, Severity, human_duration as human, scrub_error,
};
use agenthost_storage::{
    Admission, OPT_OUT_CONFIRMATION_WINDOW_MS, OutboxRow, Storage, StorageError,
};
use agenthost_twilio::{SendError, SendOptions, TwilioClient};

use crate::policy::{BRAND_WARN_PERCENT, SendPolicy, jitter_ms};
use tokio::sync::{Mutex, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Rows claimed per round.
pub const CLAIM_BATCH: u32 = 64;
/// Sends in flight at once per replica.
pub const MAX_IN_FLIGHT: usize = 32;
/// How often to look for due rows when nothing woke us (retries, other replicas).
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Twilio's name in those alerts.
pub const TWILIO_DEPENDENCY: &str = "twilio";
const SEND_BACKOFF: Backoff = Backoff::full(Duration::from_secs(1), Duration::from_secs(300));
/// How far before a row's creation a listed message may be dated and still be it (clock
/// skew between us and Twilio).
const LOOKUP_SKEW_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// The budget subject of the brand's daily segments (all its senders together).
const BRAND: &str = "brand";

#[derive(Clone)]
pub struct Dispatcher {
    pub storage: Storage,
    pub twilio: Arc<TwilioClient>,
    pub wake: Arc<Notify>,
    /// How long a claimed row is ours without a heartbeat. The process's heartbeat
    /// (`leases`) extends it while the send is in flight, so a slow send is never taken
    /// over, and a crashed sender's rows come back within it.
    pub lease: Duration,
    /// This process's lease tokens: a claim batch's token is held until its last send ends.
    pub leases: Arc<crate::leases::LeaseKeeper>,
    /// How long sends must keep failing transiently (no success in between) before one
    /// `dependency_down` alert for Twilio is stored.
    pub down_after: Duration,
    /// What every send is checked against (quiet hours, frequency cap, pace, ...).
    pub policy: Arc<SendPolicy>,
    pub metrics: Arc<crate::metrics::PipelineMetrics>,
    /// Where texts go once the policy lets them.
    pub sink: SmsSink,
}

/// Where outbound texts go (`AGENTHOST_SMS_SINK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmsSink {
    /// Twilio's REST API.
    #[default]
    Twilio,
    /// Nowhere: a laptop without Twilio credentials. Each text passes the same policy,
    /// is printed on the console as a conversation line, recorded as sent with a `LOCAL`
    /// sid and marked `delivered-locally`, so the console and `agenthost chat` show it.
    Local,
}

/// The delivery status a text sent to the local sink ends with.
pub const DELIVERED_LOCALLY: &str = "delivered-locally";

/// What the send policy says of a row right now.
enum Gate {
    /// Send it, with this `ValidityPeriod` (seconds) if it must not arrive after hours.
    Go { validity_secs: Option<u32> },
    /// It was held, suppressed or failed: nothing more to do now.
    Settled,
}

/// Twilio's current failure streak, shared by every send of one `run`.
#[derive(Default)]
struct TwilioHealth {
    streak: Mutex<Option<Streak>>,
}

struct Streak {
    since: tokio::time::Instant,
    since_ms: i64,
    /// Already alerted as down.
    down: bool,
}

impl Dispatcher {
    /// Runs until `cancel`; sends in flight finish first.
    pub async fn run(self, cancel: CancellationToken) {
        let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let health = Arc::new(TwilioHealth::default());
        let mut sends = JoinSet::new();
        while !cancel.is_cancelled() {
            while sends.try_join_next().is_some() {}
            let available = u32::try_from(permits.available_permits()).unwrap_or(u32::MAX);
            let held = Arc::new(self.leases.hold());
            let token = held.token.clone();
            let rows = if available == 0 {
                Vec::new()
            } else {
                let lease_ms = self.lease.as_millis() as i64;
                match self
                    .storage
                    .outbox()
                    .claim_due(
                        crate::now_ms(),
                        lease_ms,
                        available.min(CLAIM_BATCH),
                        &token,
                    )
                    .await
                {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming outbox rows failed");
                        Vec::new()
                    }
                }
            };
            if rows.is_empty() {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                    _ = cancel.cancelled() => break,
                }
                continue;
            }
            for row in rows {
                let permit = permits
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("semaphore never closed");
                let (this, health, held) = (self.clone(), health.clone(), held.clone());
                sends.spawn(async move {
                    this.send(row, &held.token, &health).await;
                    drop(held);
                    drop(permit);
                });
            }
        }
        while sends.join_next().await.is_some() {}
        tracing::debug!("outbox dispatcher stopped");
    }

    async fn send(&self, row: OutboxRow, token: &str, health: &TwilioHealth) {
        let validity_secs = match self.gate(&row, token).await {
            Ok(Gate::Go { validity_secs }) => validity_secs,
            Ok(Gate::Settled) => return,
            Err(e) => {
                tracing::warn!(outbox = %row.id, error = %e, "cannot check the send policy; trying the row later");
                let now = crate::now_ms();
                let marked = self
                    .storage
                    .outbox()
                    .reschedule(&row.id, token, now + 1_000, &e.to_string(), false, now)
                    .await;
                self.check_marked(&row, marked);
                return;
            }
        };
        if self.sink == SmsSink::Local {
            self.deliver_locally(&row, token).await;
            return;
        }
        if row.ambiguous {
            let since = row.created_at_ms - LOOKUP_SKEW_MS;
            match self
                .twilio
                .find_sent(&row.to_number, &row.from_number, &row.body, since)
                .await
            {
                Ok(Some(sent)) => {
                    tracing::info!(outbox = %row.id, sid = %sent.sid, "an earlier attempt reached Twilio; recorded as sent, not sent again");
                    let marked = self
                        .storage
                        .outbox()
                        .mark_sent(&row.id, token, &sent.sid, crate::now_ms())
                        .await;
                    self.check_marked(&row, marked);
                    return;
                }
                Ok(None) => {
                    tracing::info!(outbox = %row.id, "an earlier attempt did not reach Twilio; sending");
                }
                Err(e) => {
                    // Cannot tell: sending could duplicate. Ask again later.
                    let now = crate::now_ms();
                    let attempts = u32::try_from(row.attempts.max(0))
                        .unwrap_or(u32::MAX)
                        .saturating_add(1);
                    let delay = SEND_BACKOFF.delay(attempts, e.retry_after());
                    tracing::warn!(outbox = %row.id, ?delay, "looking up an ambiguous send failed; will look again: {e}");
                    if let agenthost_twilio::SendError::Transient { message, .. } = &e {
                        self.failed(health, message, now).await;
                    }
                    let marked = self
                        .storage
                        .outbox()
                        .reschedule(
                            &row.id,
                            token,
                            now + delay.as_millis() as i64,
                            &e.to_string(),
                            true,
                            now,
                        )
                        .await;
                    self.check_marked(&row, marked);
                    return;
                }
            }
        }
        let options = SendOptions {
            validity_period_secs: validity_secs,
            status_callback: self.policy.status_callback.clone(),
        };
        let result = self
            .twilio
            .send_with(&row.to_number, &row.from_number, &row.body, &options)
            .await;
        let now = crate::now_ms();
        match &result {
            Err(SendError::Transient { message, .. }) => self.failed(health, message, now).await,
            // A permanent refusal is Twilio answering: it is up.
            Ok(_) | Err(SendError::Permanent { .. }) => self.answered(health, now).await,
        }
        let marked = match result {
            Ok(sent) => {
                tracing::info!(outbox = %row.id, sid = %sent.sid, to = %row.to_number, "sms sent");
                self.count_brand_segments(&row, now).await;
                self.storage
                    .outbox()
                    .mark_sent(&row.id, token, &sent.sid, now)
                    .await
            }
            Err(SendError::Permanent {
                code,
                message,
                http_status,
            }) => {
                let code_text = code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| format!("http {http_status}"));
                tracing::error!(outbox = %row.id, to = %row.to_number, code = %code_text, "sms permanently refused: {message}");
                if code == Some(21610) {
                    // The recipient unsubscribed at the carrier: nothing more for them.
                    if let Err(e) = self
                        .storage
                        .routes()
                        .set_opt_out(&row.to_number, true, now)
                        .await
                    {
                        tracing::error!(outbox = %row.id, error = %e, "could not record the carrier's opt-out");
                    }
                }
                let alert = HostAlert::new(
                    AlertKind::SmsPermanentFailure,
                    Severity::Warning,
                    format!(
                        "Twilio refused an SMS to {} ({code_text}): {message}",
                        row.to_number
                    ),
                )
                .plugin(row.plugin.clone())
                .conversation(row.conversation_id.clone())
                .fields(vec![
                    ("outbox".into(), row.id.clone()),
                    ("code".into(), code_text.clone()),
                ]);
                if let Err(e) = self.storage.alerts().insert(&alert, now).await {
                    tracing::error!(outbox = %row.id, error = %e, "could not record the permanent-failure alert");
                }
                self.storage
                    .outbox()
                    .mark_failed(&row.id, token, Some(&code_text), &message, now)
                    .await
            }
            Err(SendError::Transient {
                message,
                retry_after,
                maybe_sent,
            }) => {
                let attempts = u32::try_from(row.attempts.max(0))
                    .unwrap_or(u32::MAX)
                    .saturating_add(1);
                let delay = SEND_BACKOFF.delay(attempts, retry_after);
                tracing::warn!(outbox = %row.id, attempts, ?delay, "sms send failed, will retry: {message}");
                self.storage
                    .outbox()
                    .reschedule(
                        &row.id,
                        token,
                        now + delay.as_millis() as i64,
                        &message,
                        maybe_sent,
                        now,
                    )
                    .await
            }
        };
        self.check_marked(&row, marked);
    }

    /// The send policy for `row`, now. Holds, suppresses or fails the row itself when it
    /// may not go.
    async fn gate(&self, row: &OutboxRow, token: &str) -> Result<Gate, StorageError> {
        let now = crate::now_ms();
        let p = &self.policy;
        // Consent, right before the call (and so again when a held text is released): a
        // STOP recorded after the commit wins. The host's own answers (the one opt-out
        // confirmation, HELP) go to whoever asked.
        if row.host_message.is_none() && self.storage.routes().is_opted_out(&row.to_number).await? {
            tracing::info!(outbox = %row.id, to = %row.to_number, "sms suppressed: the recipient opted out");
            let marked = self
                .storage
                .outbox()
                .mark_suppressed(&row.id, token, "recipient opted out", now)
                .await;
            self.check_marked(row, marked);
            return Ok(Gate::Settled);
        }
        let mut validity_secs = None;
        if row.host_message.as_deref() == Some("opt_out_confirmation")
            && !self.storage.routes().is_opted_out(&row.to_number).await?
        {
            // They opted back in before it left: "you're unsubscribed" would now be false.
            tracing::info!(outbox = %row.id, to = %row.to_number, "opt-out confirmation dropped: the recipient opted back in");
            let marked = self
                .storage
                .outbox()
                .mark_suppressed(&row.id, token, "recipient opted back in", now)
                .await;
            self.check_marked(row, marked);
            return Ok(Gate::Settled);
        }
        if row.host_message.as_deref() == Some("opt_out_confirmation") {
            // Within five minutes of the STOP or never: later, it is one more text.
            let left = row.created_at_ms + OPT_OUT_CONFIRMATION_WINDOW_MS - now;
            if left < 1_000 {
                tracing::warn!(outbox = %row.id, "opt-out confirmation not sent: its five minutes passed");
                let marked = self
                    .storage
                    .outbox()
                    .mark_failed(
                        &row.id,
                        token,
                        Some("confirmation_late"),
                        "the opt-out confirmation could not go out within five minutes of the STOP",
                        now,
                    )
                    .await;
                self.check_marked(row, marked);
                return Ok(Gate::Settled);
            }
            validity_secs = u32::try_from(left / 1000).ok();
        }
        if row.initiated {
            if let Some(until) = self
                .storage
                .outbox()
                .plugin_paused_until(&row.plugin, now)
                .await?
            {
                return self.hold(row, token, until, "paused").await;
            }
            let zones = p.zones_of(&row.to_number);
            if !p.quiet.open(&zones, now) {
                let Some(opens) = p.quiet.next_open(&zones, now) else {
                    let marked = self
                        .storage
                        .outbox()
                        .mark_failed(
                            &row.id,
                            token,
                            Some("quiet_hours"),
                            "the recipient's possible time zones share no sending window",
                            now,
                        )
                        .await;
                    self.check_marked(row, marked);
                    return Ok(Gate::Settled);
                };
                return self
                    .hold(row, token, opens + jitter_ms(&row.id), "quiet_hours")
                    .await;
            }
            let admission = self
                .storage
                .outbox()
                .admit_initiated(&row.to_number, &row.id, p.frequency_cap, now - DAY_MS, now)
                .await?;
            if let Admission::Full { oldest_ms } = admission {
                // A day after the oldest counted. (If one still in flight fails, this one
                // waited for nothing: fewer texts, never more.)
                let until = oldest_ms + DAY_MS + jitter_ms(&row.id);
                return self.hold(row, token, until, "frequency_cap").await;
            }
            // Never delivered after the window closes, whatever queues on the way.
            validity_secs = p.quiet.closes_at(&zones, now).map(|closes| {
                u32::try_from((closes - now) / 1000)
                    .unwrap_or(u32::MAX)
                    .max(1)
            });
        }
        let day = now / DAY_MS;
        let spent = self
            .storage
            .budgets()
            .spent(BRAND, "sms_segments", day)
            .await?;
        // The host's own answers (HELP, the opt-out confirmation) are owed whatever the
        // day's spend; they still count against it.
        if row.host_message.is_none()
            && spent.saturating_add(row.segments.max(1) as u64) > p.brand_daily_segments
        {
            let tomorrow = (day + 1) * DAY_MS;
            return self
                .hold(row, token, tomorrow + jitter_ms(&row.id), "brand_daily")
                .await;
        }
        let sender = self
            .twilio
            .config()
            .messaging_service_sid
            .clone()
            .unwrap_or_else(|| row.from_number.clone());
        // A text held for the pace was booked its slot then: it goes now, without booking
        // a second one. Anything else books the sender's next slot.
        let booked = row.held.as_deref() == Some("sender_rate")
            && row.next_attempt_at_ms <= now + agenthost_storage::PACE_LOOKAHEAD_MS;
        if booked {
            // Claimed just before its slot: sent on it.
            let wait = row.next_attempt_at_ms - now;
            if wait > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
            }
        } else {
            let cost = p.segment_ms() * row.segments.max(1);
            if let Some(slot) = self
                .storage
                .outbox()
                .reserve_sender_pace(&sender, cost, 0, now)
                .await?
            {
                let wait = slot - crate::now_ms();
                if wait > agenthost_storage::PACE_LOOKAHEAD_MS {
                    return self.hold(row, token, slot, "sender_rate").await;
                }
                // Close: keep the row (its lease outlasts the wait) and send on the slot.
                self.metrics.held("sender_rate");
                if wait > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
                }
            }
        }
        Ok(Gate::Go { validity_secs })
    }

    /// The local sink: printed, recorded as sent and delivered; nothing leaves the host.
    async fn deliver_locally(&self, row: &OutboxRow, token: &str) {
        let now = crate::now_ms();
        let sid = format!(
            "LOCAL{:016x}{:016x}",
            agenthost_core::stable_hash(&row.id),
            agenthost_core::stable_hash(&format!("{}#local", row.id))
        );
        println!(
            "[sms {} -> {}] {}",
            row.from_number,
            row.to_number,
            row.body.replace('\n', " / ")
        );
        tracing::info!(outbox = %row.id, sid = %sid, to = %row.to_number, "sms delivered to the local sink (AGENTHOST_SMS_SINK=local)");
        self.count_brand_segments(row, now).await;
        let marked = self
            .storage
            .outbox()
            .mark_sent(&row.id, token, &sid, now)
            .await;
        self.check_marked(row, marked);
        let rank = crate::policy::delivery_rank("delivered").unwrap_or(5);
        if let Err(e) = self
            .storage
            .outbox()
            .record_delivery_status(&sid, DELIVERED_LOCALLY, rank, None, now)
            .await
        {
            tracing::warn!(outbox = %row.id, error = %e, "could not record the local delivery");
        }
    }

    async fn hold(
        &self,
        row: &OutboxRow,
        token: &str,
        until_ms: i64,
        reason: &'static str,
    ) -> Result<Gate, StorageError> {
        tracing::debug!(outbox = %row.id, reason, until_ms, "sms held");
        self.metrics.held(reason);
        let marked = self
            .storage
            .outbox()
            .hold(&row.id, token, until_ms, reason, crate::now_ms())
            .await;
        self.check_marked(row, marked);
        Ok(Gate::Settled)
    }

    /// Counts a sent text's segments against the brand's day; one warning at 80%.
    async fn count_brand_segments(&self, row: &OutboxRow, now: i64) {
        let day = now / DAY_MS;
        let limit = self.policy.brand_daily_segments;
        let total = match self
            .storage
            .budgets()
            .charge(BRAND, "sms_segments", day, row.segments.max(1) as u64)
            .await
        {
            Ok(total) => total,
            Err(e) => {
                tracing::error!(outbox = %row.id, error = %e, "could not count the brand's segments");
                return;
            }
        };
        if total.saturating_mul(100) < limit.saturating_mul(BRAND_WARN_PERCENT) {
            return;
        }
        match self
            .storage
            .budgets()
            .first_exhaustion(BRAND, "sms_segments_80pct", day, now)
            .await
        {
            Ok(true) => {
                let message = format!(
                    "{total} of the brand's {limit} daily SMS segments are used (80% reached); past the limit texts wait for the next UTC day (AGENTHOST_BRAND_DAILY_SEGMENTS)"
                );
                let alert =
                    HostAlert::new(AlertKind::SmsDailyLimitNear, Severity::Warning, message)
                        .fields(vec![
                            ("used".into(), total.to_string()),
                            ("limit".into(), limit.to_string()),
                        ]);
                self.store_alert(&alert, now).await;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not mark the brand's 80% warning"),
        }
    }

    /// Logs a result that could not be recorded: the database failed (the lease expires,
    /// the row is claimed again and, being ambiguous, looked up before any resend), or the
    /// lease was lost to another sender (who owns the row now).
    fn check_marked(&self, row: &OutboxRow, marked: Result<bool, agenthost_storage::StorageError>) {
        match marked {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(outbox = %row.id, "outbox result not recorded: the row's lease passed to another sender");
            }
            Err(e) => {
                tracing::error!(outbox = %row.id, error = %e, "could not record the send result");
            }
        }
    }

    /// A transient failure: starts a streak, or stores `dependency_down` once the streak
    /// has lasted `down_after`. The alert is stored under the lock, so it is stored once
    /// and before any `dependency_restored`.
    async fn failed(&self, health: &TwilioHealth, error: &str, now_ms: i64) {
        let now = tokio::time::Instant::now();
        let mut streak = health.streak.lock().await;
        let streak = streak.get_or_insert(Streak {
            since: now,
            since_ms: now_ms,
            down: false,
        });
        if streak.down || now.saturating_duration_since(streak.since) < self.down_after {
            return;
        }
        streak.down = true;
        tracing::error!(
            since_ms = streak.since_ms,
            error,
            "twilio is down: every send failing"
        );
        let alert = dependency_alert(
            AlertKind::DependencyDown,
            Severity::Critical,
            format!(
                "dependency {TWILIO_DEPENDENCY} is down: failing for at least {}",
                human(self.down_after)
            ),
            vec![
                ("since_ms".into(), streak.since_ms.to_string()),
                ("error".into(), scrub_error(error)),
            ],
        );
        self.store_alert(&alert, now_ms).await;
    }

    /// Twilio answered: ends a streak, storing `dependency_restored` if it was alerted.
    async fn answered(&self, health: &TwilioHealth, now_ms: i64) {
        let mut guard = health.streak.lock().await;
        let Some(streak) = guard.take() else {
            return;
        };
        if !streak.down {
            return;
        }
        let outage = streak.since.elapsed();
        tracing::info!(?outage, "twilio is back");
        let alert = dependency_alert(
            AlertKind::DependencyRestored,
            Severity::Info,
            format!("dependency {TWILIO_DEPENDENCY} is back"),
            vec![
                ("since_ms".into(), streak.since_ms.to_string()),
                ("outage".into(), human(outage)),
                ("outage_ms".into(), outage.as_millis().to_string()),
            ],
        );
        self.store_alert(&alert, now_ms).await;
        drop(guard);
    }

    async fn store_alert(&self, alert: &HostAlert, now_ms: i64) {
        if let Err(e) = self.storage.alerts().insert(alert, now_ms).await {
            tracing::error!(error = %e, kind = %alert.kind, "could not record the twilio alert");
        }
    }
}

/// A host alert about Twilio: no plugin, `dependency: twilio` first among `fields`.
fn dependency_alert(
    kind: AlertKind,
    severity: Severity,
    message: String,
    fields: Vec<(String, String)>,
) -> HostAlert {
    HostAlert::new(kind, severity, message)
        .field("dependency", TWILIO_DEPENDENCY)
        .fields(fields)
}
