//! The admin API behind a bearer token (`AGENTHOST_ADMIN_TOKEN`, compared in constant
//! time). No token configured → every admin call answers 503 saying so; a wrong or
//! missing token → 401.

use std::sync::Arc;

use agenthost_pipeline::routes::Routes;
use agenthost_runtime::PluginName;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::error::ApiError;

#[derive(Clone)]
pub struct Admin {
    pub token: Option<Arc<str>>,
    pub routes: Routes,
}

pub fn router(state: Admin) -> Router {
    Router::new()
        .route("/admin/routes", get(list_routes))
        .route(
            "/admin/routes/{number}",
            put(put_route).delete(delete_route),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
        .with_state(state)
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
