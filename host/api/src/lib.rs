//! The host's HTTP surface. Each resource module owns its routes and its state; `router`
//! composes them.
//!
//! # Layout
//! - `error`  — the one error type: JSON body, right status, internals logged not returned.
//! - `twilio` — `POST /twilio/sms`: verify, parse, route, durably accept, answer TwiML.
//! - `health` — `/healthz` (liveness) and `/readyz` (storage, queue, draining).
//! - `admin`  — bearer-token admin API (`/admin/routes/...`).

pub mod admin;
pub mod error;
pub mod health;
pub mod twilio;

use axum::Router;

/// Everything the HTTP layer needs, built once by the binary.
#[derive(Clone)]
pub struct Api {
    pub twilio: twilio::TwilioIngress,
    pub health: health::Health,
    pub admin: admin::Admin,
}

impl Api {
    pub fn router(self) -> Router {
        Router::new()
            .merge(twilio::router(self.twilio))
            .merge(health::router(self.health))
            .merge(admin::router(self.admin))
    }
}
