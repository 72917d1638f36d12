//! The host's HTTP surface. Each resource module owns its routes and its state; `router`
//! composes them.
//!
//! # Layout
//! - `error`  — the one error type: JSON body, right status, internals logged not returned.
//! - `twilio` — `POST /twilio/sms`: verify, parse, route, durably accept, answer TwiML.
//! - `health` — `/healthz` (liveness) and `/readyz` (storage, queue, draining).
//! - `admin`  — bearer-token admin API (`/admin/routes/...`, `/admin/events/...`), and
//!   the OpenAPI document of it (`openapi/admin.json`, served at `/admin/openapi.json`).
//! - `deploys` — the admin API's plugin deploys (`/admin/plugins/...`).
//! - `metrics` — `GET /metrics` (Prometheus) and the HTTP request counter middleware.
//! - `state`   — the deployment record (`GET /admin/state`, `agenthost state`) as JSON and
//!   as the Markdown of `DEPLOYMENT_STATE.md`.

pub mod admin;
pub mod deploys;
pub mod error;
pub mod health;
pub mod metrics;
pub mod state;
pub mod twilio;

use axum::Router;

/// Everything the HTTP layer needs, built once by the binary.
#[derive(Clone)]
pub struct Api {
    pub twilio: twilio::TwilioIngress,
    pub health: health::Health,
    pub admin: admin::Admin,
    pub metrics: metrics::Metrics,
}

impl Api {
    pub fn router(self) -> Router {
        let counters = self.metrics.http.clone();
        Router::new()
            .merge(twilio::router(self.twilio))
            .merge(health::router(self.health))
            .merge(admin::router(self.admin))
            .merge(metrics::router(self.metrics))
            .layer(axum::middleware::from_fn_with_state(
                counters,
                metrics::count_requests,
            ))
    }
}
