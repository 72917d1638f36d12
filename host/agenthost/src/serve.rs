//! `agenthost serve`: the one place that composes every capability into a running host,
//! and drains it on SIGTERM/SIGINT.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU8;
use std::time::Duration;

use agenthost_api::{
    Api,
    admin::Admin,
    health::{Health, Phase},
    twilio::TwilioIngress,
};
use agenthost_pipeline::{
    ingest::Ingest,
    outbox::Dispatcher,
    registry::{self, Registry},
    routes::Routes,
    state::StorageState,
    sweep,
    worker::Worker,
};
use agenthost_queue::{AmqpConfig, AmqpQueue, EmbeddedConfig, EmbeddedQueue, Queue};
use agenthost_runtime::{Capabilities, Runtime, RuntimeConfig, SystemClock};
use agenthost_storage::Storage;
use agenthost_twilio::{TwilioClient, TwilioConfig};
use anyhow::Context;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;

/// Embedded-queue lease: longer than any invocation may run, so a live worker's event is
/// never handed to another.
const LEASE_MARGIN: Duration = Duration::from_secs(30);
const EMBEDDED_POLL: Duration = Duration::from_millis(100);
const TWILIO_HTTP_TIMEOUT: Duration = Duration::from_secs(15);
const ROUTES_REFRESH: Duration = Duration::from_secs(5);

pub async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let (account_sid, auth_token) = config.require_twilio()?;
    let started = std::time::Instant::now();

    let storage = Storage::connect(
        config.database_url.as_ref().map(|s| s.expose()),
        &config.data_dir,
        config.database_max_connections,
    )
    .await
    .context("connecting to storage")?;
    let queue: Arc<dyn Queue> = match &config.queue_url {
        Some(url) => {
            let amqp = AmqpConfig {
                prefix: config.queue_prefix.clone(),
                ..AmqpConfig::default()
            };
            Arc::new(
                AmqpQueue::connect(url.expose(), amqp)
                    .await
                    .context("connecting to RabbitMQ")?,
            )
        }
        None => Arc::new(EmbeddedQueue::new(
            &storage,
            EmbeddedConfig {
                lease: config.ceilings.wall_clock + LEASE_MARGIN,
                poll_interval: EMBEDDED_POLL,
            },
        )?),
    };

    let clock: Arc<dyn agenthost_runtime::Clock> = Arc::new(SystemClock);
    let llm = agenthost_llm::Gateway::new(
        config.llm.clone(),
        clock.clone(),
        Arc::new(StoredAlerts(storage.clone())),
    )
    .context("starting the LLM gateway")?;
    let caps = Capabilities {
        state: Arc::new(StorageState(storage.clone())),
        llm: Arc::new(llm),
        clock,
    };
    let runtime = Runtime::new(
        RuntimeConfig {
            defaults: config.default_limits,
            ceilings: config.ceilings,
            max_instances: config.max_instances,
            cache_dir: Some(config.data_dir.join("compile-cache")),
        },
        caps,
    )?;
    let registry = Registry::default();
    let failures = registry::load_dir(
        &runtime,
        &registry,
        &config.plugin_dir,
        &config.plugin_config_dir,
        &config.plugin_limits,
    )
    .await;
    for (file, why) in &failures {
        let alert = agenthost_storage::NewAlert {
            kind: "plugin_load_failed".into(),
            severity: "critical".into(),
            plugin: None,
            version: None,
            conversation_id: None,
            message: format!("plugin file {file} was not loaded: {why}"),
            fields: vec![("file".into(), file.clone())],
        };
        storage
            .insert_alert(&alert, agenthost_pipeline::now_ms())
            .await?;
    }
    for (number, plugin) in &config.routes {
        storage
            .upsert_route(number, plugin, agenthost_pipeline::now_ms())
            .await?;
    }
    let routes = Routes::load(storage.clone()).await?;

    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    let (ingest, ingest_task) = Ingest::start(storage.clone(), queue.clone(), cancel.child_token());

    let work_cancel = CancellationToken::new();
    if config.roles.worker {
        let outbox_wake = Arc::new(Notify::new());
        let worker = Worker {
            storage: storage.clone(),
            queue: queue.clone(),
            registry: registry.clone(),
            routes: routes.clone(),
            outbox_wake: outbox_wake.clone(),
        };
        for name in registry.names() {
            for handle in
                worker.spawn_lane(name.to_string(), config.worker_slots, work_cancel.clone())
            {
                tasks.spawn(async move {
                    let _ = handle.await;
                });
            }
        }
        let twilio = TwilioClient::new(TwilioConfig {
            api_base: config.twilio.api_base.clone(),
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.expose().to_owned(),
            messaging_service_sid: config.twilio.messaging_service_sid.clone(),
            timeout: TWILIO_HTTP_TIMEOUT,
        })?;
        let dispatcher = Dispatcher {
            storage: storage.clone(),
            twilio: Arc::new(twilio),
            wake: outbox_wake,
            lease: config.outbox_lease,
        };
        tasks.spawn(dispatcher.run(work_cancel.clone()));
    }
    if config.roles.scheduler {
        let registry = registry.clone();
        let cron = move || {
            registry
                .all()
                .iter()
                .map(|p| (p.name().to_string(), p.description().cron_jobs.clone()))
                .collect()
        };
        let scheduler = agenthost_scheduler::Scheduler::new(
            storage.clone(),
            queue.clone(),
            Arc::new(cron),
            Arc::new(SystemClock),
            config.scheduler.clone(),
        );
        let scheduler_cancel = cancel.child_token();
        tasks.spawn(async move { scheduler.run(scheduler_cancel).await });
        // Alert delivery runs in one role only: it takes no leases, so a second
        // dispatcher would deliver twice.
        let dispatcher = agenthost_alerts::Dispatcher::from_config(&config.alerts)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {}: {}", e.var, e.message))?;
        tasks.spawn(dispatcher.run(storage.clone(), cancel.child_token()));
    }
    if config.roles.web {
        tasks.spawn(sweep::run(
            storage.clone(),
            queue.clone(),
            cancel.child_token(),
        ));
    }
    {
        let (routes, cancel) = (routes.clone(), cancel.child_token());
        tasks.spawn(async move {
            loop {
                tokio::select! { _ = tokio::time::sleep(ROUTES_REFRESH) => {}, _ = cancel.cancelled() => break }
                if let Err(e) = routes.refresh().await {
                    tracing::warn!(error = %e, "refreshing routes failed");
                }
            }
        });
    }

    let health = Health {
        phase: Arc::new(AtomicU8::new(Phase::Starting as u8)),
        storage: storage.clone(),
        queue: queue.clone(),
    };
    let mut app = agenthost_api::health::router(health.clone());
    if config.roles.web {
        let api = Api {
            twilio: TwilioIngress {
                public_url: config.public_url.as_str().into(),
                auth_token: auth_token.expose().into(),
                routes: routes.clone(),
                ingest,
            },
            health: health.clone(),
            admin: Admin {
                token: config.admin_token.as_ref().map(|t| t.expose().into()),
                routes: routes.clone(),
            },
        };
        app = api.router();
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {} (AGENTHOST_LISTEN)", config.listen))?;
    let http_stop = CancellationToken::new();
    let http = {
        let stop = http_stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        })
    };
    health.set_phase(Phase::Serving);
    tracing::info!(
        listen = %config.listen,
        public_url = %config.public_url,
        plugins = ?registry.names().iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        database = storage.backend().as_str(),
        queue = if config.queue_url.is_some() { "rabbitmq" } else { "embedded" },
        startup_ms = started.elapsed().as_millis() as u64,
        "agenthost serving"
    );

    // Drain: readiness off at once; keep taking webhooks briefly (load balancers notice);
    // stop HTTP and workers; in-flight invocations get the grace period; what does not
    // finish stays leased/unacked and returns to the queue.
    shutdown_signal().await;
    tracing::info!("shutdown requested; draining (a second signal exits at once)");
    health.set_phase(Phase::Draining);
    tokio::spawn(async {
        shutdown_signal().await;
        tracing::warn!("second signal: exiting immediately");
        std::process::exit(130);
    });
    tokio::time::sleep(config.drain_delay).await;
    http_stop.cancel();
    work_cancel.cancel();
    cancel.cancel();
    tasks.close();
    let drained = tokio::time::timeout(config.drain_grace, async {
        let _ = http.await;
        let _ = ingest_task.await;
        tasks.wait().await;
    })
    .await;
    match drained {
        Ok(()) => tracing::info!("drained cleanly"),
        Err(_) => {
            tracing::warn!(grace = ?config.drain_grace, "grace period over; unfinished work returns to the queue")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The LLM gateway's alerts (e.g. a spent token budget) go to the durable alert store.
struct StoredAlerts(Storage);

impl agenthost_llm::AlertSink for StoredAlerts {
    fn raise(&self, kind: &str, severity: &str, plugin: &str, message: String) {
        let alert = agenthost_storage::NewAlert {
            kind: kind.to_owned(),
            severity: severity.to_owned(),
            plugin: Some(plugin.to_owned()),
            version: None,
            conversation_id: None,
            message,
            fields: Vec::new(),
        };
        let storage = self.0.clone();
        // The gateway calls this from inside an invocation; never block it on storage.
        tokio::spawn(async move {
            if let Err(e) = storage
                .insert_alert(&alert, agenthost_pipeline::now_ms())
                .await
            {
                tracing::error!(error = %e, kind = %alert.kind, "could not record an LLM alert");
            }
        });
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing SIGINT handler");
    tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
}
