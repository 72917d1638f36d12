//! The admin API behind a bearer token (`AGENTHOST_ADMIN_TOKEN`, compared in constant
//! time). No token configured → every admin call answers 503 saying so; a wrong or
//! missing token → 401.

use std::sync::Arc;

use agenthost_deploy::Deployer;
use agenthost_pipeline::routes::Routes;
use agenthost_runtime::PluginName;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::StateSource;

#[derive(Clone)]
pub struct Admin {
    pub token: Option<Arc<str>>,
    pub routes: Routes,
    pub deployer: Deployer,
    pub state: StateSource,
}

/// The admin API's OpenAPI document, kept in the repository and served as is.
pub const OPENAPI: &str = include_str!("../openapi/admin.json");

pub fn router(state: Admin) -> Router {
    let protected = Router::new()
        .route("/admin/routes", get(list_routes))
        .route(
            "/admin/routes/{number}",
            put(put_route).delete(delete_route),
        )
        .route("/admin/events/{id}", get(show_event))
        .route("/admin/state", get(show_state))
        .merge(crate::deploys::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/admin/openapi.json", get(openapi))
        .merge(protected)
        .with_state(state)
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// The deployment record: Markdown (what `DEPLOYMENT_STATE.md` holds) unless the caller
/// asks for JSON.
async fn show_state(State(a): State<Admin>, headers: axum::http::HeaderMap) -> Response {
    let state = a.state.gather(agenthost_pipeline::now_ms()).await;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        Json(state).into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
            crate::state::render_markdown(&state),
        )
            .into_response()
    }
}

/// An event and the replies its commit created: `{id}` is the event id or a Twilio
/// MessageSid (`SM...`, stored as `sms:SM...`).
async fn show_event(
    State(a): State<Admin>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let storage = a.deployer.storage();
    let id = if id.contains(':') {
        id
    } else {
        format!("sms:{id}")
    };
    let unavailable =
        |e: agenthost_storage::StorageError| ApiError::Unavailable(format!("storage: {e}"));
    let event = storage
        .get_event(&id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("no event {id}")))?;
    let replies: Vec<_> = storage
        .outbox_for_event(&id)
        .await
        .map_err(unavailable)?
        .into_iter()
        .map(|o| {
            serde_json::json!({
                "id": o.id,
                "to": o.to_number,
                "from": o.from_number,
                "body": o.body,
                "status": o.status.as_str(),
                "attempts": o.attempts,
                "error_code": o.error_code,
                "sent_at_ms": o.sent_at_ms,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "id": event.id,
        "kind": event.kind.as_str(),
        "plugin": event.plugin,
        "conversation_id": event.conversation_id,
        "status": event.status.as_str(),
        "attempts": event.attempts,
        "last_error": event.last_error,
        "served_by_version": event.served_by_version,
        "received_at_ms": event.received_at_ms,
        "replies": replies,
    })))
}

async fn require_token(
    State(a): State<Admin>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(expected) = &a.token else {
        return Err(ApiError::Unavailable(
            "the admin API is disabled: set AGENTHOST_ADMIN_TOKEN to enable it".into(),
        ));
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(ApiError::Unauthorized(
            "missing or wrong bearer token".into(),
        ));
    }
    Ok(next.run(req).await)
}

async fn list_routes(State(a): State<Admin>) -> Result<Json<serde_json::Value>, ApiError> {
    a.routes
        .refresh()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let routes: Vec<_> = a
        .routes
        .snapshot()
        .into_iter()
        .map(|(number, plugin)| serde_json::json!({ "number": number, "plugin": plugin }))
        .collect();
    Ok(Json(serde_json::json!({ "routes": routes })))
}

#[derive(Debug, Deserialize)]
struct RouteBody {
    plugin: String,
}

/// E.164: `+` then 2..=15 digits.
fn valid_number(n: &str) -> bool {
    n.strip_prefix('+')
        .is_some_and(|d| (2..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

async fn put_route(
    State(a): State<Admin>,
    Path(number): Path<String>,
    body: Result<Json<RouteBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(body) = body
        .map_err(|e| ApiError::BadRequest(format!("body must be {{\"plugin\": \"name\"}}: {e}")))?;
    if !valid_number(&number) {
        return Err(ApiError::BadRequest(format!(
            "{number:?} is not an E.164 number like +15550001111"
        )));
    }
    let plugin: PluginName = body.plugin.parse().map_err(ApiError::BadRequest)?;
    a.routes
        .set(&number, &plugin)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    tracing::info!(number = %number, plugin = %plugin, "route set by admin");
    Ok(Json(
        serde_json::json!({ "number": number, "plugin": plugin }),
    ))
}

async fn delete_route(
    State(a): State<Admin>,
    Path(number): Path<String>,
) -> Result<StatusCode, ApiError> {
    a.routes
        .remove(&number)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every admin route the routers mount, as (method, path).
    const MOUNTED: &[(&str, &str)] = &[
        ("get", "/admin/openapi.json"),
        ("get", "/admin/routes"),
        ("put", "/admin/routes/{number}"),
        ("delete", "/admin/routes/{number}"),
        ("get", "/admin/events/{id}"),
        ("get", "/admin/state"),
        ("get", "/admin/plugins"),
        ("get", "/admin/plugins/{name}"),
        ("post", "/admin/plugins/{name}/versions"),
        ("post", "/admin/plugins/{name}/activate"),
        ("post", "/admin/plugins/{name}/rollback"),
        ("put", "/admin/plugins/{name}/rollout"),
        ("get", "/admin/plugins/{name}/shadow"),
    ];

    #[test]
    fn the_openapi_document_describes_exactly_the_mounted_routes() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                documented.push((method.clone(), path.clone()));
            }
        }
        documented.sort();
        let mut mounted: Vec<(String, String)> = MOUNTED
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        mounted.sort();
        assert_eq!(documented, mounted);
        // Every $ref resolves.
        let text = OPENAPI;
        for piece in text.split("\"$ref\": \"#/components/").skip(1) {
            let target = piece.split('"').next().unwrap();
            let mut node = &doc["components"];
            for part in target.split('/') {
                node = &node[part];
            }
            assert!(!node.is_null(), "dangling $ref {target}");
        }
    }
}
