//! `POST /twilio/sms`: Twilio's inbound-message webhook; `POST /twilio/status`: its
//! message status callbacks.
//!
//! Order matters: size limit (413), form parse (400), signature over the public URL and
//! every parameter (403), required fields (400), dedupe + route + durable enqueue (group
//! commit), then 200 with an empty TwiML `<Response/>`. An unrouted number is still
//! stored and alerted, never dropped. STOP/START keywords are recorded in the same commit,
//! before any plugin runs. If storage fails we answer 503 so Twilio retries (the retry is
//! deduplicated by MessageSid); a queue that is down does not refuse a stored message.

use std::sync::Arc;

use agenthost_compliance::Consent;
use agenthost_core::{InboundMessage, Invocation};
use agenthost_pipeline::ingest::{Accepted, Ingest, IngestError, Submission};
use agenthost_pipeline::metrics::PipelineMetrics;
use agenthost_pipeline::policy::{HostTexts, SendPolicy};
use agenthost_pipeline::routes::Routes;
use agenthost_storage::{
    EventKind, HostMessage, HostReply, InboundMessage as StoredSms, NewEvent, Storage,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::error::ApiError;

/// Twilio's webhooks are a few KiB; anything this large is not one.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 64 << 10;
pub const PATH: &str = "/twilio/sms";
pub const STATUS_PATH: &str = "/twilio/status";
const TWIML_EMPTY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>";

#[derive(Clone)]
pub struct TwilioIngress {
    /// What Twilio signs: the public base URL it was configured with (behind a load
    /// balancer this differs from the address we listen on).
    pub public_url: Arc<str>,
    pub auth_token: Arc<str>,
    pub routes: Routes,
    pub ingest: Ingest,
    /// Senders whose messages run through the whole path but whose replies are recorded,
    /// never sent (and whose SLA items never alert): the post-deploy verification.
    pub dry_run_numbers: Arc<[String]>,
    /// The host's own answers: the one opt-out confirmation (`None`: send none, e.g. when
    /// Twilio's Advanced Opt-Out confirms) and the HELP text.
    pub texts: Arc<HostTexts>,
    /// For status callbacks.
    pub storage: Storage,
    pub policy: Arc<SendPolicy>,
    pub metrics: Arc<PipelineMetrics>,
}

impl std::fmt::Debug for TwilioIngress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioIngress")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

pub fn router(state: TwilioIngress) -> Router {
    Router::new()
        .route(PATH, post(inbound_sms))
        .route(STATUS_PATH, post(status_callback))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY_BYTES))
        .with_state(state)
}

async fn inbound_sms(
    State(s): State<TwilioIngress>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = verified_form(&s, &uri, &headers, &body)?;
    inbound(&s, params).await
}

/// The form of a signed Twilio request, or the error to answer: 400 for a body that is
/// not a UTF-8 form, 403 for a missing or wrong `X-Twilio-Signature`.
fn verified_form(
    s: &TwilioIngress,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Vec<(String, String)>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::BadRequest(format!(
            "expected an application/x-www-form-urlencoded body, got content-type {content_type:?}"
        )));
    }
    if std::str::from_utf8(body).is_err() {
        return Err(ApiError::BadRequest("form body is not UTF-8".into()));
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let url = match uri.query() {
        Some(q) => format!("{}{}?{q}", s.public_url, uri.path()),
        None => format!("{}{}", s.public_url, uri.path()),
    };
    let Some(signature) = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
    else {
        tracing::warn!(url = %url, "rejected webhook: no X-Twilio-Signature header");
        return Err(ApiError::Forbidden("missing X-Twilio-Signature".into()));
    };
    if !agenthost_twilio::signature::verify(&s.auth_token, &url, &params, signature) {
        tracing::warn!(url = %url, "rejected webhook: X-Twilio-Signature does not match (wrong TWILIO_AUTH_TOKEN or AGENTHOST_PUBLIC_URL, or a forged request)");
        return Err(ApiError::Forbidden("invalid X-Twilio-Signature".into()));
    }
    Ok(params)
}

/// A verified inbound SMS: stored (with what it says about consent, and the host's own
/// answer if it asks for one), then queued for its plugin.
async fn inbound(s: &TwilioIngress, params: Vec<(String, String)>) -> Result<Response, ApiError> {
    let field = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let require = |name: &'static str| {
        field(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::BadRequest(format!("missing form field {name}")))
    };
    // Older webhooks name it SmsSid; MessageSid is the current name.
    let sid = require("MessageSid")
        .or_else(|e| require("SmsSid").map_err(|_| e))?
        .to_owned();
    let from = require("From")?.to_owned();
    let to = require("To")?.to_owned();
    let body_text = field("Body").unwrap_or("").to_owned();
    // Twilio never sends NUL; storage could not hold it, and one bad request must not
    // fail the batch it is committed with.
    if [&sid, &from, &to, &body_text]
        .iter()
        .any(|v| v.contains('\0'))
    {
        return Err(ApiError::BadRequest(
            "a form field contains a NUL character".into(),
        ));
    }

    let plugin = s
        .routes
        .plugin_for(&to)
        .await
        .map_err(|e| ApiError::Unavailable(format!("route lookup failed: {e}")))?;
    let now = agenthost_core::now_ms();
    let conversation_id = agenthost_core::ConversationId::between(&to, &from);
    let consent = agenthost_compliance::classify(&body_text);
    let host_text = match consent {
        Some(Consent::OptOut) => s
            .texts
            .opt_out_confirmation
            .clone()
            .map(|t| (HostMessage::OptOutConfirmation, t)),
        Some(Consent::Help) => Some((HostMessage::Help, s.texts.help.clone())),
        _ => None,
    };
    let host_reply = host_text.map(|(kind, body)| HostReply {
        kind,
        segments: agenthost_runtime::sms::segments(&body),
        body,
    });
    match consent {
        Some(Consent::OptOut) => s.metrics.consent("opt_out"),
        Some(Consent::OptIn) => s.metrics.consent("opt_in"),
        Some(Consent::Help) => s.metrics.consent("help"),
        None => {}
    }
    let invocation = Invocation::Message(InboundMessage {
        conversation_id: conversation_id.clone(),
        message_id: sid.clone(),
        from: from.clone(),
        to: to.clone(),
        body: body_text.clone(),
        received_at_ms: now.max(0) as u64,
        dry_run: s.dry_run_numbers.contains(&from),
        history: Vec::new(),
    });
    let payload =
        serde_json::to_string(&invocation).map_err(|e| ApiError::Internal(e.to_string()))?;
    let event = NewEvent {
        id: format!("sms:{sid}").into(),
        dedupe_key: sid.clone(),
        kind: EventKind::Message,
        plugin: plugin.clone(),
        conversation_id: Some(conversation_id),
        payload,
        received_at_ms: now,
        inbound: Some(StoredSms {
            lead_number: from,
            agent_number: to.clone(),
            opt_out: match consent {
                Some(Consent::OptOut) => Some(true),
                Some(Consent::OptIn) => Some(false),
                _ => None,
            },
            host_reply,
            body: body_text,
        }),
    };
    match s
        .ingest
        .submit(Submission {
            event,
            lane: plugin.clone(),
        })
        .await
    {
        Ok(Accepted::Queued) => {
            tracing::debug!(sid = %sid, plugin = ?plugin, "inbound sms accepted")
        }
        Ok(Accepted::Duplicate) => {
            tracing::info!(sid = %sid, "duplicate webhook (Twilio retry); not processed again")
        }
        Ok(Accepted::Unrouted) => {
            tracing::warn!(sid = %sid, to = %to, "inbound sms for a number no plugin serves; stored and alerted")
        }
        Ok(Accepted::AnsweredByHost) => {
            tracing::info!(sid = %sid, "HELP answered by the host")
        }
        Err(IngestError::Closed) => {
            return Err(ApiError::Unavailable("shutting down; retry".into()));
        }
        Err(e) => {
            return Err(ApiError::Unavailable(format!(
                "could not accept the message durably: {e}"
            )));
        }
    }
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        TWIML_EMPTY,
    )
        .into_response())
}

/// `POST /twilio/status`: one message's delivery status. Verified like the inbound webhook;
/// recorded only if it moves the message forward (callbacks come out of order and more
/// than once), so answering 200 to a repeat is right: Twilio must not retry it.
async fn status_callback(
    State(s): State<TwilioIngress>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = verified_form(&s, &uri, &headers, &body)?;
    let field = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let sid = field("MessageSid")
        .or_else(|| field("SmsSid"))
        .ok_or_else(|| ApiError::BadRequest("missing form field MessageSid".into()))?;
    let status = field("MessageStatus")
        .or_else(|| field("SmsStatus"))
        .ok_or_else(|| ApiError::BadRequest("missing form field MessageStatus".into()))?;
    let recorded = agenthost_pipeline::delivery::record(
        &s.storage,
        &s.policy,
        &s.metrics,
        sid,
        status,
        field("ErrorCode"),
        agenthost_core::now_ms(),
    )
    .await
    .map_err(|e| ApiError::Unavailable(format!("could not record the status: {e}")))?;
    tracing::debug!(sid, status, ?recorded, "status callback");
    Ok(StatusCode::NO_CONTENT.into_response())
}
