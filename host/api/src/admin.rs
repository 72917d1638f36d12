//! The admin API behind named bearer tokens, each with a scope (`AGENTHOST_ADMIN_TOKENS`,
//! and `AGENTHOST_ADMIN_TOKEN` as one token named `admin` with every right), compared in
//! constant time. It is served on the admin listener only (`AGENTHOST_ADMIN_LISTEN`).
//!
//! - No token configured → every admin call answers 503 saying so; a wrong or missing
//!   token → 401; a token whose scope does not cover the call → 403.
//! - Scopes nest: `read` (every GET but the audit log) ⊂ `staff` (take a conversation
//!   over, reply, release) ⊂ `deploy` (plugin uploads, activation, rollback, rollouts,
//!   dead-letter requeues and discards) ⊂ `admin` (routes, the audit log, everything).
//! - Every call, allowed or not, is recorded in the audit log (`GET /admin/audit`): the
//!   token's name, its scope, the source address, method, path and the status answered.

use std::sync::Arc;

use agenthost_deploy::Deployer;
use agenthost_pipeline::routes::Routes;
use agenthost_runtime::PluginName;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::StateSource;

/// What a token may do. Ordered: each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Read,
    /// Read, and take conversations over: replies, release (leasing staff).
    Staff,
    Deploy,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Staff => "staff",
            Scope::Deploy => "deploy",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "staff" => Some(Scope::Staff),
            "deploy" => Some(Scope::Deploy),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// The scope a call needs.
    pub fn needed_for(method: &axum::http::Method, path: &str) -> Scope {
        let reads = matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD);
        if path == "/admin/audit" || path.starts_with("/admin/audit/") {
            Scope::Admin
        } else if reads {
            Scope::Read
        } else if path.starts_with("/admin/conversations/") {
            Scope::Staff
        } else if path.starts_with("/admin/plugins/") || path.starts_with("/admin/dead-letters/") {
            Scope::Deploy
        } else {
            Scope::Admin
        }
    }
}

/// One admin token: the name it is recorded under, and what it may do.
#[derive(Clone)]
pub struct AdminToken {
    pub name: String,
    pub scope: Scope,
    pub secret: Arc<str>,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminToken")
            .field("name", &self.name)
            .field("scope", &self.scope)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Who is calling: set by the token check for the handlers.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub scope: Scope,
}

impl Actor {
    /// The actor recorded in the deploy history: the token's name, with the person a
    /// shared token (say, CI's) acted for when the request names one.
    pub fn recorded(&self, on_behalf_of: Option<&str>) -> String {
        match on_behalf_of.map(str::trim).filter(|a| !a.is_empty()) {
            Some(who) if who != self.name => {
                let who: String = who.chars().take(64).collect();
                format!("{} ({who})", self.name)
            }
            _ => self.name.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Admin {
    pub tokens: Arc<[AdminToken]>,
    pub routes: Routes,
    pub deployer: Deployer,
    pub state: StateSource,
    pub console: crate::console::Console,
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
        .route("/admin/audit", get(audit_log))
        .merge(crate::deploys::routes())
        .merge(crate::console::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/admin/openapi.json", get(openapi))
        .merge(crate::ui::router())
        .merge(protected)
        .with_state(state)
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// The deployment record: Markdown (what `DEPLOYMENT_STATE.md` holds) unless the caller
/// asks for JSON.
async fn show_state(State(a): State<Admin>, headers: axum::http::HeaderMap) -> Response {
    let state = a.state.gather(agenthost_core::now_ms()).await;
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
        .events()
        .get(&id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| ApiError::NotFound(format!("no event {id}")))?;
    let replies: Vec<_> = storage
        .outbox()
        .for_event(&id)
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
                "initiated": o.initiated,
                "segments": o.segments,
                "held": o.held,
                "next_attempt_at_ms": o.next_attempt_at_ms,
                "host_message": o.host_message,
                "delivery_status": o.delivery_status,
                "delivery_error": o.delivery_error,
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
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if a.tokens.is_empty() {
        return Err(ApiError::Unavailable(
            "the admin API is disabled: set AGENTHOST_ADMIN_TOKEN or AGENTHOST_ADMIN_TOKENS to enable it"
                .into(),
        ));
    }
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let source = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string());
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    // Every token is compared (in constant time), so timing tells nothing about which
    // one nearly matched.
    let mut matched: Option<&AdminToken> = None;
    for t in a.tokens.iter() {
        if bool::from(given.as_bytes().ct_eq(t.secret.as_bytes())) && !given.is_empty() {
            matched = Some(t);
        }
    }
    let audit = |actor: Option<&AdminToken>, status: StatusCode, outcome: &'static str| {
        let storage = a.deployer.storage().clone();
        let (method, path, source) = (method.clone(), path.clone(), source.clone());
        let (actor, scope) = (
            actor.map(|t| t.name.clone()),
            actor.map(|t| t.scope.as_str()),
        );
        async move {
            let row = agenthost_storage::NewAudit {
                at_ms: agenthost_core::now_ms(),
                actor: actor.as_deref(),
                scope,
                method: method.as_str(),
                path: &path,
                source: source.as_deref(),
                status: status.as_u16(),
                outcome,
            };
            if let Err(e) = storage.audit().record(&row).await {
                tracing::error!(error = %e, method = %method, path, "could not record the admin call in the audit log");
            }
        }
    };
    let Some(token) = matched else {
        tracing::warn!(method = %method, path, source = ?source, "admin call refused: missing or wrong bearer token");
        audit(None, StatusCode::UNAUTHORIZED, "unauthorized").await;
        return Err(ApiError::Unauthorized(
            "missing or wrong bearer token".into(),
        ));
    };
    let needed = Scope::needed_for(&method, &path);
    if token.scope < needed {
        tracing::warn!(actor = %token.name, method = %method, path, "admin call refused: scope");
        audit(Some(token), StatusCode::FORBIDDEN, "refused").await;
        return Err(ApiError::Forbidden(format!(
            "token {:?} has scope {}; {} {} needs {}",
            token.name,
            token.scope.as_str(),
            method,
            path,
            needed.as_str()
        )));
    }
    req.extensions_mut().insert(Actor {
        name: token.name.clone(),
        scope: token.scope,
    });
    let response = next.run(req).await;
    let status = response.status();
    let outcome = if status.is_success() || status.is_redirection() {
        "ok"
    } else {
        "failed"
    };
    audit(Some(token), status, outcome).await;
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    actor: Option<String>,
    /// Only entries older than this id (the `next_before` of the previous page).
    before: Option<i64>,
    limit: Option<u32>,
}

/// The audit log, newest first: `?actor=` filters, `?before=` pages, `?limit=` (≤ 1000).
async fn audit_log(
    State(a): State<Admin>,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Query(q) =
        q.map_err(|e| ApiError::BadRequest(format!("query must be ?actor=&before=&limit=: {e}")))?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1..=1000, not {limit}"
        )));
    }
    let rows = a
        .deployer
        .storage()
        .audit()
        .recent(q.actor.as_deref(), q.before, limit)
        .await
        .map_err(|e| ApiError::Unavailable(format!("storage: {e}")))?;
    let next_before = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(Json(serde_json::json!({
        "entries": rows,
        "next_before": next_before,
    })))
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
        ("get", "/admin/audit"),
        ("get", "/admin/plugins"),
        ("get", "/admin/plugins/{name}"),
        ("post", "/admin/plugins/{name}/versions"),
        ("post", "/admin/plugins/{name}/activate"),
        ("post", "/admin/plugins/{name}/rollback"),
        ("put", "/admin/plugins/{name}/rollout"),
        ("get", "/admin/plugins/{name}/shadow"),
        ("get", "/admin/summary"),
        ("get", "/admin/alerts"),
        ("get", "/admin/dead-letters"),
        ("post", "/admin/dead-letters/{id}/requeue"),
        ("post", "/admin/dead-letters/{id}/discard"),
        ("post", "/admin/plugins/{name}/dead-letters/requeue"),
        ("get", "/admin/conversations"),
        ("get", "/admin/conversations/{id}"),
        ("post", "/admin/conversations/{id}/takeover"),
        ("post", "/admin/conversations/{id}/reply"),
        ("post", "/admin/conversations/{id}/release"),
    ];

    #[test]
    fn scopes_nest_and_each_call_needs_the_least_that_covers_it() {
        use axum::http::Method;
        assert!(Scope::Read < Scope::Staff && Scope::Staff < Scope::Deploy);
        assert!(Scope::Deploy < Scope::Admin);
        for (method, path, needed) in [
            (Method::GET, "/admin/plugins", Scope::Read),
            (Method::GET, "/admin/events/sms:SM1", Scope::Read),
            (Method::GET, "/admin/state", Scope::Read),
            (Method::GET, "/admin/audit", Scope::Admin),
            (Method::POST, "/admin/plugins/echo/versions", Scope::Deploy),
            (Method::POST, "/admin/plugins/echo/activate", Scope::Deploy),
            (Method::PUT, "/admin/plugins/echo/rollout", Scope::Deploy),
            (Method::PUT, "/admin/routes/+15550001111", Scope::Admin),
            (Method::DELETE, "/admin/routes/+15550001111", Scope::Admin),
            (Method::GET, "/admin/conversations", Scope::Read),
            (
                Method::POST,
                "/admin/conversations/c1/takeover",
                Scope::Staff,
            ),
            (Method::POST, "/admin/conversations/c1/reply", Scope::Staff),
            (
                Method::POST,
                "/admin/dead-letters/e1/requeue",
                Scope::Deploy,
            ),
            (
                Method::POST,
                "/admin/plugins/echo/dead-letters/requeue",
                Scope::Deploy,
            ),
            // An unknown write is the strictest.
            (Method::POST, "/admin/anything", Scope::Admin),
        ] {
            assert_eq!(Scope::needed_for(&method, path), needed, "{method} {path}");
        }
        for s in [Scope::Read, Scope::Staff, Scope::Deploy, Scope::Admin] {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("root"), None);
    }

    #[test]
    fn the_actor_is_the_tokens_name_with_whom_it_acted_for() {
        let ci = Actor {
            name: "ci".into(),
            scope: Scope::Deploy,
        };
        assert_eq!(ci.recorded(None), "ci");
        assert_eq!(ci.recorded(Some("  ")), "ci");
        assert_eq!(ci.recorded(Some("ci")), "ci");
        assert_eq!(ci.recorded(Some("alice")), "ci (alice)");
        assert_eq!(
            ci.recorded(Some(&"x".repeat(500))).len(),
            "ci ()".len() + 64
        );
    }

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
