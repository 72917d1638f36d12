//! `agenthost serve`: the one place that composes every capability into a running host,
//! and drains it when told. This file builds what every role shares ([`Shared`]: storage,
//! the queue, the runtime's registry, the deployer, routes, the send policy, metrics),
//! starts the tasks every role runs (deploy sync, the plugins folder, the sweep, route
//! refresh), serves the listeners and drains; each role starts its own tasks in its own
//! file: `worker.rs`, `scheduler.rs`, `web.rs`.

mod scheduler;
mod web;
mod worker;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicU8;
use std::time::Duration;

use agenthost_api::console::LiveSummary;
use agenthost_api::health::{Health, Phase};
use agenthost_deploy::{DeployConfig, Deployer};
use agenthost_pipeline::metrics::PipelineMetrics;
use agenthost_pipeline::policy::SendPolicy;
use agenthost_pipeline::{ingest::Ingest, routes::Routes, state::StorageState, sweep};
use agenthost_queue::{AmqpConfig, AmqpQueue, EmbeddedConfig, EmbeddedQueue, Queue};
use agenthost_runtime::{Capabilities, Registry, Runtime, SystemClock};
use agenthost_storage::Storage;
use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;

const EMBEDDED_POLL: Duration = Duration::from_millis(100);
const ROUTES_REFRESH: Duration = Duration::from_secs(5);
/// The floor on how fast a replica notices a deploy it was not notified of.
const DEPLOY_POLL: Duration = Duration::from_millis(500);

/// What every role shares, built once before any role starts.
struct Shared {
    storage: Storage,
    queue: Arc<dyn Queue>,
    /// What serves each plugin on this replica (the deployer installs into it).
    registry: Registry,
    deployer: Deployer,
    routes: Routes,
    send_policy: Arc<SendPolicy>,
    pipeline_metrics: Arc<PipelineMetrics>,
    /// The console's live summary: rates and percentiles from this replica's counters.
    live_summary: Arc<LiveSummary>,
    started_ms: i64,
}

/// The sockets `serve` answers on: the admin listener always, the public one for the
/// web role. Bound before anything else starts, so a port in use fails at once.
#[derive(Debug)]
pub struct Listeners {
    pub public: Option<tokio::net::TcpListener>,
    pub admin: tokio::net::TcpListener,
}

impl Listeners {
    /// Binds `AGENTHOST_ADMIN_LISTEN`, and `AGENTHOST_LISTEN` when the web role runs.
    pub async fn bind(config: &Config) -> anyhow::Result<Listeners> {
        let admin = tokio::net::TcpListener::bind(config.admin_listen)
            .await
            .with_context(|| format!("binding {} (AGENTHOST_ADMIN_LISTEN)", config.admin_listen))?;
        let public = match config.roles.web {
            true => Some(
                tokio::net::TcpListener::bind(config.listen)
                    .await
                    .with_context(|| format!("binding {} (AGENTHOST_LISTEN)", config.listen))?,
            ),
            false => None,
        };
        Ok(Listeners { public, admin })
    }
}

/// Runs every role `config` names on `listeners` until `shutdown` resolves, then drains
/// (readiness off, a short delay for load balancers, HTTP and workers stopped, in-flight
/// work given `AGENTHOST_DRAIN_GRACE_MS`). The caller owns the signals.
pub async fn serve(
    config: Config,
    listeners: Listeners,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<ExitCode> {
    let (_, auth_token) = config.require_twilio()?;
    for note in &config.retired {
        tracing::warn!("{note}");
    }
    let started = std::time::Instant::now();
    let started_ms = agenthost_core::now_ms();

    let storage = Storage::connect(
        config.storage.database_url.as_ref().map(|s| s.expose()),
        &config.storage.data_dir,
        config.storage.max_connections,
    )
    .await
    .context("connecting to storage")?;
    // On SQLite this process owns the database alone (the embedded default is one
    // process): the data directory's lock says so, and makes a second one fail fast.
    let _owner = match storage.backend() {
        agenthost_storage::Backend::Sqlite => Some(lock_data_dir(&config.storage.data_dir)?),
        agenthost_storage::Backend::Postgres => None,
    };
    let queue = connect_queue(&config, &storage).await?;
    if _owner.is_some() {
        // Every lease in the database belongs to a predecessor that died: hand its work
        // back now instead of making its leads wait out the leases.
        let events = storage.claims().release_all().await?;
        let deliveries = queue.release_all_leases().await?;
        let outbox = storage
            .claims()
            .expire_outbox_leases(agenthost_core::now_ms())
            .await?;
        if events + deliveries + outbox > 0 {
            tracing::warn!(
                events,
                deliveries,
                outbox,
                "took back the work a previous run left in flight"
            );
        }
    }

    let clock: Arc<dyn agenthost_runtime::Clock> = Arc::new(SystemClock);
    let host_view = Arc::new(StorageState::new(&storage));
    let llm = agenthost_llm::Gateway::new(
        config.llm.clone(),
        clock.clone(),
        host_view.clone(),
        Arc::new(StoredAlerts(storage.clone())),
    )
    .context("starting the LLM gateway")?;
    let llm = Arc::new(llm);
    let mut metric_sources: Vec<agenthost_api::metrics::Source> = Vec::new();
    {
        let llm = llm.clone();
        metric_sources.push(Arc::new(move || llm.render_prometheus()));
    }
    let pipeline_metrics = Arc::new(PipelineMetrics::default());
    let live_summary = LiveSummary::new(pipeline_metrics.clone());
    let send_policy = Arc::new(SendPolicy {
        status_callback: Some(format!(
            "{}{}",
            config.public_url.trim_end_matches('/'),
            agenthost_api::twilio::STATUS_PATH
        )),
        ..config.send_policy.clone()
    });
    {
        let m = pipeline_metrics.clone();
        metric_sources.push(Arc::new(move || m.render()));
    }
    let caps = Capabilities {
        state: host_view.clone(),
        llm: llm.clone(),
        clock,
        directory: host_view.clone(),
        budgets: host_view,
    };
    let runtime = Runtime::new(
        config
            .runtime
            .engine_config(Some(config.storage.data_dir.join("compile-cache"))),
        caps,
    )?;
    let registry = Registry::default();
    let deployer = Deployer::new(
        storage.clone(),
        runtime.clone(),
        registry.clone(),
        queue.clone(),
        DeployConfig {
            config_dir: config.deploy.plugin_config_dir.clone(),
            limits: config.runtime.plugin_limits.clone(),
            rollback: config.deploy.auto_rollback.per_plugin.clone(),
            default_rollback: config.deploy.auto_rollback.default,
            poll_interval: DEPLOY_POLL,
            signing: config.deploy.signing.clone(),
        },
    );
    // What the database says is active serves first (a replica starting later joins the
    // others); then the plugins folder brings in new builds.
    deployer
        .sync()
        .await
        .context("loading the active plugin versions")?;
    let failures = agenthost_deploy::import_dir(&deployer, &config.deploy.plugin_dir).await;
    for (file, why) in &failures {
        let alert = agenthost_core::HostAlert::new(
            agenthost_core::AlertKind::PluginLoadFailed,
            agenthost_core::Severity::Critical,
            format!("plugin file {file} was not loaded: {why}"),
        )
        .fields(vec![("file".into(), file.clone())]);
        storage
            .alerts()
            .insert(&alert, agenthost_core::now_ms())
            .await?;
    }
    for (number, plugin) in &config.routes {
        storage
            .routes()
            .upsert(number, plugin, agenthost_core::now_ms())
            .await?;
    }
    let routes = Routes::load(storage.clone()).await?;
    let shared = Shared {
        storage: storage.clone(),
        queue: queue.clone(),
        registry: registry.clone(),
        deployer: deployer.clone(),
        routes: routes.clone(),
        send_policy,
        pipeline_metrics,
        live_summary,
        started_ms,
    };

    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    let (ingest, ingest_task) = Ingest::start(storage.clone(), queue.clone(), cancel.child_token());
    tasks.spawn(shared.live_summary.clone().run(cancel.child_token()));

    let work_cancel = CancellationToken::new();
    if config.roles.worker {
        worker::start(&config, &shared, &tasks, &cancel, &work_cancel)?;
    }
    if config.roles.scheduler {
        scheduler::start(&config, &shared, &tasks, &cancel, &mut metric_sources)?;
    }
    tasks.spawn(deployer.clone().run(cancel.child_token()));
    if config.deploy.plugin_watch {
        tasks.spawn(agenthost_deploy::watch_dir(
            deployer.clone(),
            config.deploy.plugin_dir.clone(),
            cancel.child_token(),
        ));
    }
    // The one sweep for every event source (webhooks, the scheduler's job events,
    // replays): wherever events are produced.
    if config.roles.web || config.roles.scheduler {
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
    let metrics = agenthost_api::metrics::Metrics {
        http: Arc::new(agenthost_api::metrics::HttpCounters::default()),
        storage: storage.clone(),
        queue: queue.clone(),
        lanes: {
            let registry = registry.clone();
            Arc::new(move || registry.names().iter().map(|n| n.to_string()).collect())
        },
        sources: metric_sources,
        version: env!("CARGO_PKG_VERSION"),
    };
    // Two listeners. The admin one (internal) serves health, readiness and metrics on
    // every role, and the admin API on the web role; the public one exists on the web
    // role only and serves nothing but Twilio's webhooks and liveness.
    let admin_app = agenthost_api::health::router(health.clone())
        .merge(agenthost_api::metrics::router(metrics.clone()))
        .layer(axum::middleware::from_fn_with_state(
            metrics.http.clone(),
            agenthost_api::metrics::count_requests,
        ));
    let (public_app, admin_app) = if config.roles.web {
        let (public, admin) = web::routers(
            &config,
            &shared,
            auth_token,
            ingest,
            health.clone(),
            metrics,
        );
        (Some(public), admin)
    } else {
        (None, admin_app)
    };
    let Listeners {
        public: public_listener,
        admin: admin_listener,
    } = listeners;
    let http_stop = CancellationToken::new();
    let http = {
        let stop = http_stop.clone();
        tokio::spawn(async move {
            // The source address reaches the admin audit log.
            let admin = axum::serve(
                admin_listener,
                admin_app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(stop.clone().cancelled_owned());
            match (public_listener, public_app) {
                (Some(listener), Some(app)) => {
                    let public =
                        axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
                    let (a, p) = tokio::join!(admin, public);
                    a.and(p)
                }
                _ => admin.await,
            }
        })
    };
    health.set_phase(Phase::Serving);
    tracing::info!(
        listen = %config.listen,
        admin_listen = %config.admin_listen,
        public_url = %config.public_url,
        plugins = ?registry.names().iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        database = storage.backend().as_str(),
        queue = config.queue.kind(),
        startup_ms = started.elapsed().as_millis() as u64,
        "agenthost serving"
    );

    // Drain: readiness off at once; keep taking webhooks briefly (load balancers notice);
    // stop HTTP and workers; in-flight invocations get the grace period; what does not
    // finish stays leased/unacked and returns to the queue.
    shutdown.await;
    tracing::info!("shutdown requested; draining");
    health.set_phase(Phase::Draining);
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

/// The queue the configuration names: RabbitMQ, or the embedded queue in `storage`.
pub async fn connect_queue(config: &Config, storage: &Storage) -> anyhow::Result<Arc<dyn Queue>> {
    Ok(match &config.queue.url {
        Some(url) => {
            let amqp = AmqpConfig {
                prefix: config.queue.prefix.clone(),
                ..AmqpConfig::default()
            };
            Arc::new(
                AmqpQueue::connect(url.expose(), amqp)
                    .await
                    .context("connecting to RabbitMQ")?,
            )
        }
        None => Arc::new(EmbeddedQueue::new(
            storage,
            EmbeddedConfig {
                // Extended by the workers' heartbeat while a delivery is out.
                lease: agenthost_pipeline::leases::LEASE,
                poll_interval: EMBEDDED_POLL,
            },
        )?),
    })
}

/// Takes the data directory's lock (`agenthost.lock`) for the life of the process: on
/// SQLite one process owns the database, which lets it release a dead predecessor's
/// leases at start. A second process on the same directory fails here, saying why.
fn lock_data_dir(data_dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let path = data_dir.join("agenthost.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(anyhow::anyhow!(
            "another agenthost process is serving {} (it holds {}); stop it first, or give this one its own AGENTHOST_DATA_DIR",
            data_dir.display(),
            path.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(anyhow::Error::new(e).context(format!("locking {}", path.display())))
        }
    }
}

/// This process among the replicas: host name and pid.
fn replica_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".into());
    format!("{host}/{}", std::process::id())
}

/// What the deployment record says about this build.
pub fn build_info(
    config: &Config,
    storage: &Storage,
    started_at_ms: i64,
) -> agenthost_api::state::BuildInfo {
    agenthost_api::state::BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        git_sha: option_env!("AGENTHOST_GIT_SHA").unwrap_or("unknown"),
        roles: config.roles.to_string(),
        database: storage.backend().as_str(),
        queue: config.queue.kind(),
        started_at_ms,
    }
}

/// The LLM gateway's alerts (a spent token budget, a provider's breaker opening or
/// closing) go to the durable alert store.
struct StoredAlerts(Storage);

impl agenthost_llm::AlertSink for StoredAlerts {
    fn raise(&self, alert: agenthost_core::HostAlert) {
        let storage = self.0.clone();
        // The gateway calls this from inside an invocation; never block it on storage.
        tokio::spawn(async move {
            if let Err(e) = storage
                .alerts()
                .insert(&alert, agenthost_core::now_ms())
                .await
            {
                tracing::error!(error = %e, kind = %alert.kind, "could not record an LLM alert");
            }
        });
    }
}

/// Resolves at the first SIGTERM or SIGINT; a second one exits at once (130).
pub async fn shutdown_signal() {
    first_signal().await;
    tracing::info!("a second signal exits at once");
    tokio::spawn(async {
        first_signal().await;
        tracing::warn!("second signal: exiting immediately");
        std::process::exit(130);
    });
}

async fn first_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing SIGINT handler");
    tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole host in-process on the embedded default: listeners it is handed (port
    /// 0), a shutdown it is handed, no signals and no `process::exit`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serves_on_the_listeners_it_is_given_and_drains_when_told() {
        let data = tempfile::tempdir().unwrap();
        let plugins = tempfile::tempdir().unwrap();
        let vars = [
            ("AGENTHOST_DATA_DIR", data.path().to_str().unwrap()),
            ("AGENTHOST_PLUGIN_DIR", plugins.path().to_str().unwrap()),
            ("AGENTHOST_LISTEN", "127.0.0.1:0"),
            ("AGENTHOST_ADMIN_LISTEN", "127.0.0.1:0"),
            ("AGENTHOST_DRAIN_DELAY_MS", "0"),
            ("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000"),
            ("TWILIO_AUTH_TOKEN", "test-token-for-serve"),
            ("AGENTHOST_TWILIO_API_BASE", "http://127.0.0.1:9"),
        ];
        let config = Config::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let listeners = Listeners::bind(&config).await.unwrap();
        let public = listeners.public.as_ref().unwrap().local_addr().unwrap();
        let admin = listeners.admin.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let host = serve(config, listeners, async {
            let _ = stopped.await;
        });
        let client = async {
            let http = reqwest::Client::new();
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            loop {
                let ready = http.get(format!("http://{admin}/readyz")).send().await;
                if ready.as_ref().is_ok_and(|r| r.status().is_success()) {
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "never ready: {ready:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let health = http
                .get(format!("http://{public}/healthz"))
                .send()
                .await
                .unwrap();
            assert!(health.status().is_success());
            // The public listener serves no admin route.
            let metrics = http
                .get(format!("http://{public}/metrics"))
                .send()
                .await
                .unwrap();
            assert_eq!(metrics.status(), reqwest::StatusCode::NOT_FOUND);
            stop.send(()).unwrap();
            http
        };
        // One task drives both: the host and a client that tells it to stop.
        let (code, http) = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::join!(host, client)
        })
        .await
        .expect("served, then drained within the grace period");
        assert_eq!(code.unwrap(), ExitCode::SUCCESS);
        assert!(
            http.get(format!("http://{admin}/healthz"))
                .send()
                .await
                .is_err(),
            "the listeners are closed after the drain"
        );
    }
}
