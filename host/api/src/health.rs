//! `/healthz`: the process answers (no dependency checks: a dependency outage must not
//! get healthy pods killed). `/readyz`: should this replica get traffic — 503 with a JSON
//! reason while starting, draining, or when storage is unreachable. The queue is NOT a
//! condition: a message is accepted once it is stored (the sweep publishes it when the
//! broker is back), so a broker blip must not take every web pod out of the load balancer
//! at once. Queue trouble shows in the answer's `queue` detail, in `/metrics` and as a
//! `dependency_down` alert.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use agenthost_queue::Queue;
use agenthost_storage::Storage;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

/// A dependency check slower than this counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    Starting = 0,
    Serving = 1,
    Draining = 2,
}

#[derive(Clone)]
pub struct Health {
    pub phase: Arc<AtomicU8>,
    pub storage: Storage,
    pub queue: Arc<dyn Queue>,
}

impl Health {
    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::SeqCst);
    }

    fn phase(&self) -> Phase {
        match self.phase.load(Ordering::SeqCst) {
            0 => Phase::Starting,
            1 => Phase::Serving,
            _ => Phase::Draining,
        }
    }
}

/// The public listener's share: liveness only, for the load balancer's health check.
/// Readiness, with its detail about storage and the queue, is on the admin listener.
pub fn public_router() -> Router {
    Router::new().route("/healthz", get(healthz))
}

pub fn router(state: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "alive" }))
}

async fn readyz(State(h): State<Health>) -> impl IntoResponse {
    let not_ready = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "ready": false, "reason": reason })),
        )
    };
    match h.phase() {
        Phase::Starting => return not_ready("starting".into()),
        Phase::Draining => return not_ready("draining".into()),
        Phase::Serving => {}
    }
    let (storage, queue) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, h.storage.ping()),
        tokio::time::timeout(CHECK_TIMEOUT, h.queue.ping())
    );
    match storage {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return not_ready(format!("storage unreachable: {e}")),
        Err(_) => return not_ready("storage unreachable: no answer within 2 s".into()),
    }
    let queue = match queue {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => format!("unreachable: {e}"),
        Err(_) => "unreachable: no answer within 2 s".to_owned(),
    };
    (
        StatusCode::OK,
        Json(serde_json::json!({ "ready": true, "storage": "ok", "queue": queue })),
    )
}
