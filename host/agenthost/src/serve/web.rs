//! The web role: Twilio's webhooks on the public listener; the admin API and the console
//! beside health, readiness and metrics on the admin one.

use std::sync::Arc;

use agenthost_api::{Api, admin::Admin, health::Health, metrics::Metrics, twilio::TwilioIngress};
use agenthost_core::Secret;
use agenthost_pipeline::ingest::Ingest;

use super::{Shared, build_info, replica_id};
use crate::config::Config;

/// The web role's routers: (public, admin).
pub(super) fn routers(
    config: &Config,
    shared: &Shared,
    auth_token: &Secret,
    ingest: Ingest,
    health: Health,
    metrics: Metrics,
) -> (axum::Router, axum::Router) {
    let api = Api {
        twilio: TwilioIngress {
            public_url: config.public_url.as_str().into(),
            auth_token: auth_token.expose().into(),
            routes: shared.routes.clone(),
            ingest,
            dry_run_numbers: config.dry_run_numbers.clone().into(),
            texts: Arc::new(config.host_texts.clone()),
            storage: shared.storage.clone(),
            policy: shared.send_policy.clone(),
            metrics: shared.pipeline_metrics.clone(),
        },
        health,
        admin: Admin {
            tokens: config
                .admin_tokens
                .iter()
                .map(|t| agenthost_api::admin::AdminToken {
                    name: t.name.clone(),
                    scope: t.scope,
                    secret: t.secret.expose().into(),
                })
                .collect(),
            routes: shared.routes.clone(),
            deployer: shared.deployer.clone(),
            state: agenthost_api::state::StateSource {
                storage: shared.storage.clone(),
                queue: shared.queue.clone(),
                registry: Some(shared.registry.clone()),
                build: build_info(config, &shared.storage, shared.started_ms),
            },
            console: agenthost_api::console::Console {
                live: shared.live_summary.clone(),
                reply_window: shared.send_policy.reply_window,
                replica: replica_id(),
            },
        },
        metrics,
    };
    api.routers()
}
