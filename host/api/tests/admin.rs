//! The admin API's handlers through `tower::ServiceExt::oneshot`: no listener, no binary —
//! the router over real SQLite storage, the embedded queue, a real runtime and deployer.
//! Who may call what (and that every call is audited), routes, uploads and activation,
//! and the errors a caller gets: each names what was wrong, with the right status.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agenthost_api::admin::{Admin, AdminToken, Scope, router};
use agenthost_api::console::{Console, LiveSummary};
use agenthost_api::state::{BuildInfo, StateSource};
use agenthost_deploy::{DeployConfig, Deployer, RollbackPolicy};
use agenthost_pipeline::metrics::PipelineMetrics;
use agenthost_pipeline::routes::Routes;
use agenthost_queue::{EmbeddedConfig, EmbeddedQueue, Queue};
use agenthost_runtime::{Capabilities, Registry, Runtime, RuntimeConfig};
use agenthost_storage::Storage;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN: &str = "admin-secret-0123456789abcdef";
const READER: &str = "reader-secret-0123456789abcdef";
const DEPLOYER: &str = "deployer-secret-0123456789abcd";

struct Harness {
    _dir: tempfile::TempDir,
    storage: Storage,
    app: Router,
}

async fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::connect(None, dir.path(), 4).await.unwrap();
    let queue: Arc<dyn Queue> =
        Arc::new(EmbeddedQueue::new(&storage, EmbeddedConfig::default()).unwrap());
    let (caps, _) = Capabilities::in_memory();
    let runtime = Runtime::new(RuntimeConfig::default(), caps).unwrap();
    let registry = Registry::default();
    let deployer = Deployer::new(
        storage.clone(),
        runtime,
        registry.clone(),
        queue.clone(),
        DeployConfig {
            config_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/plugins"),
            limits: Default::default(),
            rollback: Default::default(),
            default_rollback: RollbackPolicy::default(),
            poll_interval: Duration::from_secs(3600),
            signing: Default::default(),
        },
    );
    let token = |name: &str, scope, secret: &str| AdminToken {
        name: name.into(),
        scope,
        secret: secret.into(),
    };
    let app = router(Admin {
        tokens: vec![
            token("ops", Scope::Admin, ADMIN),
            token("dashboard", Scope::Read, READER),
            token("ci", Scope::Deploy, DEPLOYER),
        ]
        .into(),
        routes: Routes::load(storage.clone()).await.unwrap(),
        deployer,
        state: StateSource {
            storage: storage.clone(),
            queue,
            registry: Some(registry),
            build: BuildInfo {
                version: "test",
                git_sha: "0000000",
                roles: "all".into(),
                database: "sqlite",
                queue: "embedded",
                started_at_ms: agenthost_core::now_ms(),
            },
        },
        console: Console {
            live: LiveSummary::new(Arc::new(PipelineMetrics::default())),
            reply_window: Duration::from_secs(86_400),
            replica: "test".into(),
        },
    });
    Harness {
        _dir: dir,
        storage,
        app,
    }
}

fn request(method: Method, path: &str, token: Option<&str>, body: Body) -> Request<Body> {
    let mut r = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(body).unwrap()
}

fn json_body(value: &Value) -> Body {
    Body::from(value.to_string())
}

async fn call(h: &Harness, request: Request<Body>) -> (StatusCode, Value) {
    let response = h.app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

/// Sends `request` and checks it is refused with `status` and an error containing `words`.
async fn refused(h: &Harness, request: Request<Body>, status: StatusCode, words: &str) {
    let (got, body) = call(h, request).await;
    assert_eq!(got, status, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(error.contains(words), "{words:?} not in {body}");
}

fn put_json(path: &str, token: &str, value: Value) -> Request<Body> {
    let mut r = request(Method::PUT, path, Some(token), json_body(&value));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

fn post_json(path: &str, token: &str, value: Value) -> Request<Body> {
    let mut r = put_json(path, token, value);
    *r.method_mut() = Method::POST;
    r
}

#[tokio::test]
async fn a_call_without_the_right_token_or_scope_is_refused_and_every_call_is_audited() {
    let h = harness().await;
    // The OpenAPI document needs no token.
    let (status, doc) = call(
        &h,
        request(Method::GET, "/admin/openapi.json", None, Body::empty()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/admin/routes"].is_object(), "{doc}");
    // No token, a wrong one: 401, the same words either way.
    for token in [None, Some("not-a-token")] {
        let (status, body) = call(
            &h,
            request(Method::GET, "/admin/routes", token, Body::empty()),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"], "missing or wrong bearer token");
    }
    // A read-only token reads, and cannot change a route: 403 naming what is needed.
    let (status, _) = call(
        &h,
        request(Method::GET, "/admin/routes", Some(READER), Body::empty()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(
        &h,
        put_json(
            "/admin/routes/+15550001111",
            READER,
            json!({ "plugin": "echo" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("\"dashboard\" has scope read") && error.contains("needs admin"),
        "{error}"
    );
    // Nor the audit log, which only admins read.
    let (status, _) = call(
        &h,
        request(Method::GET, "/admin/audit", Some(READER), Body::empty()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Every call above that reached the token check is in the audit log, refused ones too.
    let rows = h.storage.audit().recent(None, None, 100).await.unwrap();
    let outcomes: Vec<(Option<&str>, &str, i64, &str)> = rows
        .iter()
        .rev()
        .map(|r| {
            (
                r.actor.as_deref(),
                r.path.as_str(),
                r.status,
                r.outcome.as_str(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (None, "/admin/routes", 401, "unauthorized"),
            (None, "/admin/routes", 401, "unauthorized"),
            (Some("dashboard"), "/admin/routes", 200, "ok"),
            (
                Some("dashboard"),
                "/admin/routes/+15550001111",
                403,
                "refused"
            ),
            (Some("dashboard"), "/admin/audit", 403, "refused"),
        ]
    );
    // The secret itself is never recorded.
    for r in &rows {
        assert!(!format!("{r:?}").contains(READER), "{r:?}");
    }
}

#[tokio::test]
async fn routes_are_set_listed_and_removed_and_a_bad_one_says_what_is_wrong() {
    let h = harness().await;
    let (status, body) = call(
        &h,
        put_json(
            "/admin/routes/+15550001111",
            ADMIN,
            json!({ "plugin": "echo" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "number": "+15550001111", "plugin": "echo" }));
    assert_eq!(
        h.storage
            .routes()
            .route_for("+15550001111")
            .await
            .unwrap()
            .as_deref(),
        Some("echo")
    );
    let (_, list) = call(
        &h,
        request(Method::GET, "/admin/routes", Some(ADMIN), Body::empty()),
    )
    .await;
    assert_eq!(
        list,
        json!({ "routes": [{ "number": "+15550001111", "plugin": "echo" }] })
    );
    // Not a number; not a plugin name; not the body asked for.
    for (path, body, words) in [
        (
            "/admin/routes/5550001111",
            json!({ "plugin": "echo" }),
            "is not an E.164 number",
        ),
        (
            "/admin/routes/+15550001112",
            json!({ "plugin": "Bad Name" }),
            "invalid plugin name",
        ),
        (
            "/admin/routes/+15550001112",
            json!({ "agent": "echo" }),
            "body must be {\"plugin\": \"name\"}",
        ),
    ] {
        refused(
            &h,
            put_json(path, ADMIN, body),
            StatusCode::BAD_REQUEST,
            words,
        )
        .await;
    }
    assert_eq!(
        h.storage.routes().list().await.unwrap().len(),
        1,
        "nothing stored"
    );
    // Removed.
    let (status, _) = call(
        &h,
        request(
            Method::DELETE,
            "/admin/routes/+15550001111",
            Some(ADMIN),
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(h.storage.routes().list().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_upload_is_checked_stored_once_and_activated_by_a_deploy_token() {
    let h = harness().await;
    let upload = |token: &str, bytes: Vec<u8>| {
        let mut r = request(
            Method::POST,
            "/admin/plugins/echo/versions",
            Some(token),
            Body::from(bytes),
        );
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/wasm"),
        );
        r
    };
    // Not WebAssembly at all: 400 saying so, nothing stored.
    refused(
        &h,
        upload(DEPLOYER, b"#!/bin/sh\nrm -rf /\n".to_vec()),
        StatusCode::BAD_REQUEST,
        "not a WebAssembly binary",
    )
    .await;
    refused(
        &h,
        upload(DEPLOYER, Vec::new()),
        StatusCode::BAD_REQUEST,
        "empty body",
    )
    .await;
    assert!(
        h.storage
            .deploys()
            .plugin_versions("echo")
            .await
            .unwrap()
            .is_empty()
    );
    // The real component: 201 the first time, 200 (already stored) the second.
    let bytes = agenthost_testkit::built_plugin_bytes("echo");
    let version = agenthost_core::VersionId::of_bytes(&bytes);
    let (status, body) = call(&h, upload(DEPLOYER, bytes.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["version"], version.as_str());
    assert_eq!(body["created"], true);
    let (status, body) = call(&h, upload(DEPLOYER, bytes)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], false);
    // Activated by its id's prefix; an unknown version is 404 naming it.
    let (status, body) = call(
        &h,
        post_json(
            "/admin/plugins/echo/activate",
            DEPLOYER,
            json!({ "version": "0123456789ab" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("0123456789ab"),
        "{body}"
    );
    let (status, body) = call(
        &h,
        post_json(
            "/admin/plugins/echo/activate",
            DEPLOYER,
            json!({ "version": version.short(), "reason": "first deploy" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active_version"], version.as_str());
    assert_eq!(body["rollout"]["mode"], "none");
    // A deploy token may not touch routes.
    let (status, _) = call(
        &h,
        put_json(
            "/admin/routes/+15550001111",
            DEPLOYER,
            json!({ "plugin": "echo" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_unknown_event_is_a_404_naming_it() {
    let h = harness().await;
    let (status, body) = call(
        &h,
        request(
            Method::GET,
            "/admin/events/SM404",
            Some(READER),
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"], "no event sms:SM404");
}
