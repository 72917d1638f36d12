//! The admin API for plugin deploys: upload a version, activate, roll back, run a canary
//! or shadow rollout, and read versions, history and shadow differences. Mounted by
//! `admin::router`, behind its bearer token. The contract is `openapi/admin.json`.

use agenthost_storage::{Deployment, RolloutMode};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin::{Actor, Admin};
use crate::error::ApiError;

/// Largest component accepted by `POST /admin/plugins/{name}/versions`.
pub const MAX_UPLOAD_BYTES: usize = 50 * 1024 * 1024;
/// The header carrying an upload's signature (`<key id>:<base64>`, from
/// `agenthost plugin sign`).
pub const SIGNATURE_HEADER: &str = "x-agenthost-signature";

pub(crate) fn routes() -> Router<Admin> {
    Router::new()
        .route("/admin/plugins", get(list))
        .route("/admin/plugins/{name}", get(show))
        .route(
            "/admin/plugins/{name}/versions",
            post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/admin/plugins/{name}/activate", post(activate))
        .route("/admin/plugins/{name}/rollback", post(rollback))
        .route("/admin/plugins/{name}/rollout", axum::routing::put(rollout))
        .route("/admin/plugins/{name}/shadow", get(shadow))
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    actor: Option<String>,
    note: Option<String>,
}

async fn upload(
    State(a): State<Admin>,
    Extension(who): Extension<Actor>,
    Path(name): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "component is larger than the {} MiB upload limit",
                MAX_UPLOAD_BYTES / (1024 * 1024)
            ))
        } else {
            ApiError::BadRequest(format!("cannot read the request body: {e}"))
        }
    })?;
    if body.is_empty() {
        return Err(ApiError::BadRequest(
            "empty body: send the component's bytes (application/wasm)".into(),
        ));
    }
    let actor = who.recorded(q.actor.as_deref());
    let signature = match headers.get(SIGNATURE_HEADER) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| ApiError::BadRequest(format!("{SIGNATURE_HEADER} is not ASCII")))?,
        ),
        None => None,
    };
    let up = match a
        .deployer
        .upload(&name, &body, &actor, q.note.as_deref(), signature)
        .await
    {
        Ok(up) => up,
        Err(agenthost_deploy::DeployError::Signature(why)) => {
            a.deployer
                .signature_refused(&name, &body, &actor, &why)
                .await;
            return Err(agenthost_deploy::DeployError::Signature(why).into());
        }
        Err(e) => return Err(e.into()),
    };
    let status = if up.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let description: Value = serde_json::from_str(&up.meta.description_json).unwrap_or(Value::Null);
    Ok((
        status,
        Json(json!({
            "plugin": up.meta.plugin,
            "version": up.meta.version,
            "created": up.created,
            "size_bytes": up.meta.size_bytes,
            "wit_world": up.meta.wit_world,
            "uploaded_by": up.meta.uploaded_by,
            "uploaded_at_ms": up.meta.uploaded_at,
            "note": up.meta.note,
            "signed_by": up.meta.signed_by,
            "description": description,
        })),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivateBody {
    version: String,
    reason: Option<String>,
    actor: Option<String>,
}

async fn activate(
    State(a): State<Admin>,
    Extension(who): Extension<Actor>,
    Path(name): Path<String>,
    body: Result<Json<ActivateBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(b) = body.map_err(|e| {
        ApiError::BadRequest(format!(
            "body must be {{\"version\": \"<id or prefix>\", \"reason\": \"...\"}}: {e}"
        ))
    })?;
    let d = a
        .deployer
        .activate(
            &name,
            &b.version,
            &who.recorded(b.actor.as_deref()),
            b.reason.as_deref(),
        )
        .await?;
    Ok(Json(deployment_json(&d)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollbackBody {
    reason: Option<String>,
    actor: Option<String>,
}

async fn rollback(
    State(a): State<Admin>,
    Extension(who): Extension<Actor>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    // The body is optional: an empty POST rolls back without a reason.
    let b: RollbackBody = if body.iter().all(u8::is_ascii_whitespace) {
        RollbackBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!(
                "body must be empty or {{\"reason\": \"...\"}}: {e}"
            ))
        })?
    };
    let d = a
        .deployer
        .rollback(
            &name,
            &who.recorded(b.actor.as_deref()),
            b.reason.as_deref(),
        )
        .await?;
    Ok(Json(deployment_json(&d)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolloutBody {
    /// `canary`, `shadow`, `promote` or `abort`.
    mode: String,
    candidate: Option<String>,
    percent: Option<u8>,
    reason: Option<String>,
    actor: Option<String>,
}

async fn rollout(
    State(a): State<Admin>,
    Extension(who): Extension<Actor>,
    Path(name): Path<String>,
    body: Result<Json<RolloutBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(b) = body.map_err(|e| {
        ApiError::BadRequest(format!(
            "body must be {{\"mode\": \"canary|shadow|promote|abort\", \"candidate\": \"<version>\", \"percent\": 10}}: {e}"
        ))
    })?;
    let actor = &who.recorded(b.actor.as_deref());
    let reason = b.reason.as_deref();
    let need_candidate = || {
        b.candidate.as_deref().ok_or_else(|| {
            ApiError::BadRequest(format!("mode {} needs a \"candidate\" version", b.mode))
        })
    };
    let d = match b.mode.as_str() {
        "canary" => {
            let percent = b.percent.ok_or_else(|| {
                ApiError::BadRequest("mode canary needs \"percent\" (1..=100)".into())
            })?;
            a.deployer
                .set_rollout(
                    &name,
                    RolloutMode::Canary,
                    Some(need_candidate()?),
                    percent,
                    actor,
                    reason,
                )
                .await?
        }
        "shadow" => {
            a.deployer
                .set_rollout(
                    &name,
                    RolloutMode::Shadow,
                    Some(need_candidate()?),
                    0,
                    actor,
                    reason,
                )
                .await?
        }
        "promote" => a.deployer.promote(&name, actor, reason).await?,
        "abort" | "none" => {
            a.deployer
                .set_rollout(&name, RolloutMode::None, None, 0, actor, reason)
                .await?
        }
        other => {
            return Err(ApiError::BadRequest(format!(
                "unknown rollout mode {other:?}: use canary, shadow, promote or abort"
            )));
        }
    };
    Ok(Json(deployment_json(&d)))
}

async fn list(State(a): State<Admin>) -> Result<Json<Value>, ApiError> {
    let storage = a.deployer.storage();
    let deployments = storage
        .deploys()
        .deployments()
        .await
        .map_err(|e| ApiError::Unavailable(format!("storage: {e}")))?;
    let registry = a.deployer.registry();
    let plugins: Vec<Value> = deployments
        .iter()
        .map(|d| {
            let mut v = deployment_json(d);
            v["serving_here"] = json!(
                registry
                    .get(&d.plugin)
                    .map(|p| p.version().as_str().to_owned())
            );
            v
        })
        .collect();
    Ok(Json(json!({ "plugins": plugins })))
}

async fn show(State(a): State<Admin>, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let storage = a.deployer.storage();
    let unavailable =
        |e: agenthost_storage::StorageError| ApiError::Unavailable(format!("storage: {e}"));
    let versions = storage
        .deploys()
        .plugin_versions(&name)
        .await
        .map_err(unavailable)?;
    let deployment = storage
        .deploys()
        .deployment(&name)
        .await
        .map_err(unavailable)?;
    if versions.is_empty() && deployment.is_none() {
        return Err(ApiError::NotFound(format!("no plugin named {name:?}")));
    }
    let history = storage
        .deploys()
        .plugin_history(Some(&name), 200)
        .await
        .map_err(unavailable)?;
    let mut v = deployment.as_ref().map_or_else(
        || json!({ "plugin": name, "active_version": null, "rollout": {"mode": "none"} }),
        deployment_json,
    );
    v["serving_here"] = json!(
        a.deployer
            .registry()
            .get(&name)
            .map(|p| p.version().as_str().to_owned())
    );
    v["versions"] = versions
        .iter()
        .map(|m| {
            json!({
                "version": m.version,
                "size_bytes": m.size_bytes,
                "wit_world": m.wit_world,
                "uploaded_by": m.uploaded_by,
                "signed_by": m.signed_by,
                "uploaded_at_ms": m.uploaded_at,
                "note": m.note,
                "description": serde_json::from_str::<Value>(&m.description_json).unwrap_or(Value::Null),
            })
        })
        .collect();
    v["history"] = history
        .iter()
        .map(|h| {
            json!({
                "id": h.id,
                "action": h.action.as_str(),
                "from_version": h.from_version,
                "to_version": h.to_version,
                "actor": h.actor,
                "reason": h.reason,
                "at_ms": h.at_ms,
                "details": h.details_json.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok()),
            })
        })
        .collect();
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
struct ShadowQuery {
    /// Only runs whose effects or outcome differed (default true).
    differences: Option<bool>,
    limit: Option<i64>,
}

async fn shadow(
    State(a): State<Admin>,
    Path(name): Path<String>,
    Query(q): Query<ShadowQuery>,
) -> Result<Json<Value>, ApiError> {
    let runs = a
        .deployer
        .storage()
        .deploys()
        .shadow_runs(
            &name,
            q.differences.unwrap_or(true),
            q.limit.unwrap_or(100).clamp(1, 1000),
        )
        .await
        .map_err(|e| ApiError::Unavailable(format!("storage: {e}")))?;
    let runs: Vec<Value> = runs
        .iter()
        .map(|r| {
            let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
            json!({
                "event_id": r.event_id,
                "differs": r.differs,
                "at_ms": r.at_ms,
                "active": {
                    "version": r.active_version,
                    "outcome": r.active_outcome,
                    "effects": parse(&r.active_effects_json),
                },
                "candidate": {
                    "version": r.candidate_version,
                    "outcome": r.candidate_outcome,
                    "effects": parse(&r.candidate_effects_json),
                },
            })
        })
        .collect();
    Ok(Json(json!({ "plugin": name, "runs": runs })))
}

/// A deployment as the API shows it.
pub fn deployment_json(d: &Deployment) -> Value {
    json!({
        "plugin": d.plugin,
        "active_version": d.active_version,
        "previous_version": d.previous_version,
        "activated_at_ms": d.activated_at,
        "updated_at_ms": d.updated_at,
        "generation": d.generation,
        "rollout": {
            "mode": d.rollout.as_str(),
            "candidate": d.candidate_version,
            "percent": (d.rollout == RolloutMode::Canary).then_some(d.canary_percent),
        },
    })
}
