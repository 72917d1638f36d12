//! The outbox dispatcher: sends committed SMS through Twilio's REST API.
//!
//! Rows are claimed with a lease (so replicas never send the same row at once, and a
//! crashed sender's rows come back), sent, and marked. 429 and transient errors are
//! retried with jittered backoff honouring Retry-After; permanent errors (21211 invalid
//! number, 21610 opted out, ...) are recorded on the row, alerted, and never retried.
//!
//! The one window where exactly-once cannot be guaranteed: Twilio accepted the POST but
//! the process died before `mark_outbox_sent` committed. When the lease expires the row is
//! sent again, so this errs toward a DUPLICATE text, never a lost one. Twilio's Messages
//! API has no idempotency key to close that window.

use std::sync::Arc;
use std::time::Duration;

use agenthost_storage::{NewAlert, OutboxRow, Storage};
use agenthost_twilio::{Backoff, SendError, TwilioClient};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Rows claimed per round.
pub const CLAIM_BATCH: u32 = 64;
/// Sends in flight at once per replica.
pub const MAX_IN_FLIGHT: usize = 32;
/// How often to look for due rows when nothing woke us (retries, other replicas).
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
const SEND_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(1),
    cap: Duration::from_secs(300),
};

#[derive(Clone)]
pub struct Dispatcher {
    pub storage: Storage,
    pub twilio: Arc<TwilioClient>,
    pub wake: Arc<Notify>,
    /// How long a claimed row is ours before another sender may take it. Keep it longer
    /// than the Twilio HTTP timeout, so a slow send is not duplicated by another replica.
    pub lease: Duration,
}

impl Dispatcher {
    /// Runs until `cancel`; sends in flight finish first.
    pub async fn run(self, cancel: CancellationToken) {
        let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
        let mut sends = JoinSet::new();
        while !cancel.is_cancelled() {
            while sends.try_join_next().is_some() {}
            let available = u32::try_from(permits.available_permits()).unwrap_or(u32::MAX);
            let rows = if available == 0 {
                Vec::new()
            } else {
                let lease_ms = self.lease.as_millis() as i64;
                match self
                    .storage
                    .claim_due_outbox(crate::now_ms(), lease_ms, available.min(CLAIM_BATCH))
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
                let this = self.clone();
                sends.spawn(async move {
                    this.send(row).await;
                    drop(permit);
                });
            }
        }
        while sends.join_next().await.is_some() {}
        tracing::debug!("outbox dispatcher stopped");
    }

    async fn send(&self, row: OutboxRow) {
        let result = self
            .twilio
            .send(&row.to_number, &row.from_number, &row.body)
            .await;
        let now = crate::now_ms();
        let marked = match result {
            Ok(sent) => {
                tracing::info!(outbox = %row.id, sid = %sent.sid, to = %row.to_number, "sms sent");
                self.storage.mark_outbox_sent(&row.id, &sent.sid, now).await
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
                let alert = NewAlert {
                    kind: "sms_permanent_failure".into(),
                    severity: "warning".into(),
                    plugin: Some(row.plugin.clone()),
                    version: None,
                    conversation_id: row.conversation_id.clone(),
                    message: format!(
                        "Twilio refused an SMS to {} ({code_text}): {message}",
                        row.to_number
                    ),
                    fields: vec![
                        ("outbox".into(), row.id.clone()),
                        ("code".into(), code_text.clone()),
                    ],
                };
                if let Err(e) = self.storage.insert_alert(&alert, now).await {
                    tracing::error!(outbox = %row.id, error = %e, "could not record the permanent-failure alert");
                }
                self.storage
                    .mark_outbox_failed(&row.id, Some(&code_text), &message, now)
                    .await
            }
            Err(SendError::Transient {
                message,
                retry_after,
            }) => {
                let attempts = u32::try_from(row.attempts.max(0))
                    .unwrap_or(u32::MAX)
                    .saturating_add(1);
                let delay = SEND_BACKOFF.delay(attempts, retry_after);
                tracing::warn!(outbox = %row.id, attempts, ?delay, "sms send failed, will retry: {message}");
                self.storage
                    .reschedule_outbox(&row.id, now + delay.as_millis() as i64, &message, now)
                    .await
            }
        };
        if let Err(e) = marked {
            // The lease expires and the row is claimed again: at worst a duplicate send.
            tracing::error!(outbox = %row.id, error = %e, "could not record the send result");
        }
    }
}
