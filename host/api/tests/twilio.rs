//! The Twilio webhook handlers through `tower::ServiceExt::oneshot`: no listener, no
//! binary — the router over real SQLite storage, the embedded queue and ingest. What each
//! answer is (status, body) and what was stored.

use std::sync::Arc;

use agenthost_api::twilio::{PATH, STATUS_PATH, TwilioIngress, router};
use agenthost_core::now_ms;
use agenthost_pipeline::ingest::Ingest;
use agenthost_pipeline::metrics::PipelineMetrics;
use agenthost_pipeline::policy::{HostTexts, SendPolicy};
use agenthost_pipeline::routes::Routes;
use agenthost_queue::{EmbeddedConfig, EmbeddedQueue, Queue};
use agenthost_storage::{EventStatus, Storage};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://agents.example.com";
const TOKEN: &str = "test-auth-token-0123456789";
const AGENT: &str = "+15550200000";
const LEAD: &str = "+15550200001";

struct Harness {
    _dir: tempfile::TempDir,
    storage: Storage,
    queue: Arc<dyn Queue>,
    app: Router,
    cancel: CancellationToken,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(None, dir.path(), 4).await.unwrap();
    let queue: Arc<dyn Queue> =
        Arc::new(EmbeddedQueue::new(&storage, EmbeddedConfig::default()).unwrap());
    storage
        .routes()
        .upsert(AGENT, "echo", now_ms())
        .await
        .unwrap();
    let cancel = CancellationToken::new();
    let (ingest, _task) = Ingest::start(storage.clone(), queue.clone(), cancel.clone());
    let app = router(TwilioIngress {
        public_url: PUBLIC_URL.into(),
        auth_token: TOKEN.into(),
        routes: Routes::load(storage.clone()).await.unwrap(),
        ingest,
        dry_run_numbers: Arc::from(Vec::new()),
        texts: Arc::new(HostTexts::default()),
        storage: storage.clone(),
        policy: Arc::new(SendPolicy::default()),
        metrics: Arc::new(PipelineMetrics::default()),
    });
    Harness {
        _dir: dir,
        storage,
        queue,
        app,
        cancel,
    }
}

fn form(params: &[(&str, &str)]) -> (Vec<(String, String)>, String) {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(owned.iter())
        .finish();
    (owned, body)
}

/// A POST to `path` carrying `params`, signed with `token` the way Twilio signs.
fn signed(path: &str, params: &[(&str, &str)], token: &str) -> Request<Body> {
    let (owned, body) = form(params);
    let signature =
        agenthost_twilio::signature::compute(token, &format!("{PUBLIC_URL}{path}"), &owned);
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(Body::from(body))
        .unwrap()
}

fn sms(sid: &str, body: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MessageSid", sid.to_owned()),
        ("AccountSid", "AC00000000000000000000000000000000".into()),
        ("From", LEAD.into()),
        ("To", AGENT.into()),
        ("Body", body.to_owned()),
        ("NumMedia", "0".into()),
    ]
}

fn as_refs<'a>(p: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    p.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn send(h: &Harness, request: Request<Body>) -> (StatusCode, String) {
    let response = h.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_signed_webhook_is_stored_and_queued_once_and_answered_with_empty_twiml() {
    let h = harness().await;
    let params = sms("SM100", "hi, is the 2 bed still available?");
    let (status, body) = send(&h, signed(PATH, &as_refs(&params), TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<Response"), "{body}");
    let event = h.storage.events().get("sms:SM100").await.unwrap().unwrap();
    assert_eq!(event.status, EventStatus::Queued);
    assert_eq!(event.plugin.as_deref(), Some("echo"));
    assert_eq!(h.queue.depth("echo").await.unwrap(), 1);

    // Twilio retries the same message: answered 200 again, nothing new stored or queued.
    let (status, _) = send(&h, signed(PATH, &as_refs(&params), TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.queue.depth("echo").await.unwrap(), 1);
}

#[tokio::test]
async fn forged_unsigned_or_malformed_webhooks_are_refused_and_store_nothing() {
    let h = harness().await;
    let params = sms("SM200", "hello");
    let (status, body) = send(&h, signed(PATH, &as_refs(&params), "not-the-token")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("invalid X-Twilio-Signature"), "{body}");

    let (_, plain) = form(&as_refs(&params));
    let unsigned = Request::post(PATH)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(plain.clone()))
        .unwrap();
    let (status, body) = send(&h, unsigned).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("missing X-Twilio-Signature"), "{body}");

    let json = Request::post(PATH)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let (status, body) = send(&h, json).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("application/x-www-form-urlencoded"), "{body}");

    // Signed, but without a From: the error names the field.
    let no_from: Vec<(&str, &str)> = as_refs(&params)
        .into_iter()
        .filter(|(k, _)| *k != "From")
        .collect();
    let (status, body) = send(&h, signed(PATH, &no_from, TOKEN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("missing form field From"), "{body}");

    assert!(h.storage.events().get("sms:SM200").await.unwrap().is_none());
    assert_eq!(h.queue.depth("echo").await.unwrap(), 0);
}

#[tokio::test]
async fn stop_is_recorded_at_ingest_before_any_plugin_runs() {
    let h = harness().await;
    let params = sms("SM300", "STOP");
    let (status, _) = send(&h, signed(PATH, &as_refs(&params), TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(h.storage.routes().is_opted_out(LEAD).await.unwrap());
    // START gives consent back, recorded the same way.
    let params = sms("SM301", "START");
    let (status, _) = send(&h, signed(PATH, &as_refs(&params), TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!h.storage.routes().is_opted_out(LEAD).await.unwrap());
}

#[tokio::test]
async fn status_callbacks_are_verified_and_name_a_missing_field() {
    let h = harness().await;
    let (status, _) = send(
        &h,
        signed(
            STATUS_PATH,
            &[("MessageSid", "SM400"), ("MessageStatus", "delivered")],
            "x",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = send(&h, signed(STATUS_PATH, &[("MessageSid", "SM400")], TOKEN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("missing form field MessageStatus"), "{body}");
    // A status for a message this host never sent changes nothing and is not retried.
    let (status, _) = send(
        &h,
        signed(
            STATUS_PATH,
            &[("MessageSid", "SM400"), ("MessageStatus", "delivered")],
            TOKEN,
        ),
    )
    .await;
    assert!(status.is_success(), "{status}");
}
