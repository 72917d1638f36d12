//! Twilio's status callbacks: each message's delivery status, moved only forward (callbacks
//! arrive out of order and more than once), into the outbox row, its history entry and the
//! metrics. Carriers filtering too many of a plugin's texts (error 30007) pause its
//! agent-initiated sends, with one alert; a recipient who unsubscribed at the carrier
//! (21610) is opted out.

use agenthost_core::{AlertKind, HostAlert, Severity};
use agenthost_storage::{Storage, StorageError};

use crate::metrics::PipelineMetrics;
use crate::policy::{
    FILTERED_MIN_SAMPLE, FILTERED_PAUSE, FILTERED_WINDOW_MS, SendPolicy, delivery_rank,
};

/// What a status callback changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The message moved forward to this status.
    Moved { outbox_id: String, plugin: String },
    /// Nothing: a repeat, an older status arriving late, or a message we do not know.
    Unchanged,
    /// A status Twilio does not document; kept out of the record.
    UnknownStatus,
}

/// Records one callback: `sid` reached `status` (with Twilio's `error_code`, if any).
pub async fn record(
    storage: &Storage,
    policy: &SendPolicy,
    metrics: &PipelineMetrics,
    sid: &str,
    status: &str,
    error_code: Option<&str>,
    now_ms: i64,
) -> Result<Recorded, StorageError> {
    let Some(rank) = delivery_rank(status) else {
        return Ok(Recorded::UnknownStatus);
    };
    let Some((outbox_id, plugin)) = storage
        .outbox()
        .record_delivery_status(sid, status, rank, error_code, now_ms)
        .await?
    else {
        return Ok(Recorded::Unchanged);
    };
    metrics.delivery(&plugin, status);
    match error_code {
        Some("30007") if rank >= 5 => {
            filtered(storage, policy, &plugin, now_ms).await?;
        }
        Some("21610") => {
            if let Some(row) = storage.outbox().row(&outbox_id).await? {
                storage
                    .routes()
                    .set_opt_out(&row.to_number, true, now_ms)
                    .await?;
            }
        }
        _ => {}
    }
    Ok(Recorded::Moved { outbox_id, plugin })
}

/// After a filtered text: pauses the plugin's agent-initiated sends if carriers filter too
/// many of its texts, alerting once per pause.
async fn filtered(
    storage: &Storage,
    policy: &SendPolicy,
    plugin: &str,
    now_ms: i64,
) -> Result<(), StorageError> {
    let (finished, filtered) = storage
        .outbox()
        .filtered_since(plugin, now_ms - FILTERED_WINDOW_MS)
        .await?;
    if finished < FILTERED_MIN_SAMPLE || (filtered as f64) <= policy.filtered_rate * finished as f64
    {
        return Ok(());
    }
    let until = now_ms + FILTERED_PAUSE.as_millis() as i64;
    let reason =
        format!("carriers filtered {filtered} of {finished} texts (error 30007) in the last hour");
    if storage
        .outbox()
        .pause_plugin(plugin, until, &reason, now_ms)
        .await?
    {
        tracing::error!(
            plugin,
            filtered,
            finished,
            "texts filtered by carriers; pausing the plugin's agent-initiated sends"
        );
        let message = format!(
            "{reason} for plugin {plugin}: its agent-initiated texts are paused for {} h (replies still go out). Check the message content and the campaign registration.",
            FILTERED_PAUSE.as_secs() / 3600
        );
        let alert = HostAlert::new(AlertKind::SmsFiltered, Severity::Critical, message)
            .plugin(plugin.to_owned())
            .fields(vec![
                ("filtered".into(), filtered.to_string()),
                ("finished".into(), finished.to_string()),
                ("paused_until_ms".into(), until.to_string()),
            ]);
        storage.alerts().insert(&alert, now_ms).await?;
    }
    Ok(())
}
