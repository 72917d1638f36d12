//! The host's HTTP surface, on two listeners. Each resource module owns its routes and
//! its state; `Api::routers` composes them.
//!
//! - The PUBLIC listener (`AGENTHOST_LISTEN`, behind the internet-facing load balancer)
//!   serves only what Twilio and the load balancer need: `/twilio/*` and `/healthz`.
//! - The ADMIN listener (`AGENTHOST_ADMIN_LISTEN`, internal) serves the admin API,
//!   `/metrics`, `/readyz` and `/healthz`. Anything else is 404 on either.
//!
//! # Layout
//! - `error`  — the one error type: JSON body, right status, internals logged not returned.
//! - `twilio` — `POST /twilio/sms`: verify, parse, route, durably accept, answer TwiML;
//!   `POST /twilio/status`: delivery status callbacks.
//! - `health` — `/healthz` (liveness) and `/readyz` (storage, queue, draining).
//! - `admin`  — the admin API behind named, scoped bearer tokens, every call audited
//!   (`/admin/routes/...`, `/admin/events/...`, `/admin/audit`), and the OpenAPI document
//!   of it (`openapi/admin.json`, served at `/admin/openapi.json`).
//! - `deploys` — the admin API's plugin deploys (`/admin/plugins/...`).
//! - `console` — what the operator's console calls: the live summary, dead letters,
//!   conversations with takeover and staff replies, recent alerts.
//! - `ui`      — the console itself (`/admin/ui`): three static files built into the binary.
//! - `metrics` — `GET /metrics` (Prometheus) and the HTTP request counter middleware.
//! - `state`   — the deployment record (`GET /admin/state`, `agenthost state`) as JSON and
//!   as the Markdown of `DEPLOYMENT_STATE.md`.

pub mod admin;
pub mod console;
pub mod deploys;
pub mod error;
pub mod health;
pub mod metrics;
pub mod state;
pub mod twilio;
pub mod ui;

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
    /// `(public, admin)`: the routers of the two listeners.
    pub fn routers(self) -> (Router, Router) {
        let counters = self.metrics.http.clone();
        let count =
            || axum::middleware::from_fn_with_state(counters.clone(), metrics::count_requests);
        let public = Router::new()
            .merge(twilio::router(self.twilio))
            .merge(health::public_router())
            .layer(count());
        let admin = Router::new()
            .merge(health::router(self.health))
            .merge(admin::router(self.admin))
            .merge(metrics::router(self.metrics))
            .layer(count());
        (public, admin)
    }
}
