//! Uploads, activations, rollbacks and rollouts, and the sync that makes each replica's
//! registry serve what the database says is active.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agenthost_core::{AlertKind, EventId, HostAlert, Severity};
use agenthost_queue::{Queue, QueueMessage};
use agenthost_runtime::registry::{Registry, Rollout, RolloutKind};
use agenthost_runtime::{LoadError, Plugin, PluginName, RequestedLimits, Runtime, VersionId};
use agenthost_storage::{
    DeployError as StoreError, Deployment, NewPluginVersion, PluginVersionMeta, RolloutMode,
    Storage, StorageError,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::watch::{OutcomeWatch, RollbackPolicy, Trigger, TriggerKind};

/// Who the host itself acts as in the history (automatic rollbacks).
pub const AUTO_ACTOR: &str = "agenthost (automatic rollback)";

#[derive(Debug, Clone)]
pub struct DeployConfig {
    /// `{config_dir}/{name}.json` is each plugin's operator config.
    pub config_dir: PathBuf,
    /// Operator limits per plugin (they win over what a plugin asks for).
    pub limits: BTreeMap<PluginName, RequestedLimits>,
    /// Automatic-rollback thresholds: per plugin, else `default_rollback`.
    pub rollback: BTreeMap<PluginName, RollbackPolicy>,
    pub default_rollback: RollbackPolicy,
    /// How often a replica checks the database for deploy changes it was not notified
    /// of (PostgreSQL notifications make it faster; this is the floor).
    pub poll_interval: Duration,
    /// Which keys may sign versions, and whether a signature is required.
    pub signing: crate::signing::SigningPolicy,
}

/// Why a deploy operation was refused. Each says what was wrong; `status` is the HTTP
/// status the admin API answers with.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{0}")]
    InvalidName(String),
    /// Not a WebAssembly component at all (400).
    #[error("upload refused: {0}")]
    Malformed(LoadError),
    /// A component we refuse: wrong world, does not compile, `describe` fails (422).
    #[error("upload refused: {0}")]
    Refused(LoadError),
    #[error("plugin {0} has no versions")]
    UnknownPlugin(String),
    #[error("plugin {plugin} has no version {version}")]
    UnknownVersion { plugin: String, version: String },
    #[error("version prefix {prefix} of plugin {plugin} matches several versions: {matches}")]
    AmbiguousVersion {
        plugin: String,
        prefix: String,
        matches: String,
    },
    /// The operation does not apply to the current state (409).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("storage failed: {0}")]
    Storage(#[from] StorageError),
    /// The loaded version's self-description did not serialise (500).
    #[error("describing the version: {0}")]
    Describe(#[from] serde_json::Error),
    /// Signing is required and the version is not signed by a trusted key, or a signature
    /// came that does not verify (403).
    #[error("upload refused: {0}")]
    Signature(#[from] crate::signing::SignatureError),
    /// Signing is required and this stored version was accepted unsigned (403).
    #[error(
        "version {version} of plugin {plugin} is not signed by a trusted key and signed plugins are required (AGENTHOST_REQUIRE_SIGNED_PLUGINS); upload it again with its signature"
    )]
    UnsignedVersion { plugin: String, version: String },
}

impl DeployError {
    pub fn status(&self) -> u16 {
        match self {
            DeployError::InvalidName(_)
            | DeployError::Malformed(_)
            | DeployError::AmbiguousVersion { .. }
            | DeployError::Invalid(_) => 400,
            DeployError::Refused(_) => 422,
            DeployError::UnknownPlugin(_) | DeployError::UnknownVersion { .. } => 404,
            DeployError::Conflict(_) => 409,
            DeployError::Signature(_) | DeployError::UnsignedVersion { .. } => 403,
            DeployError::Storage(_) => 503,
            DeployError::Describe(_) => 500,
        }
    }
}

impl From<StoreError> for DeployError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownVersion { plugin, version } => {
                DeployError::UnknownVersion { plugin, version }
            }
            StoreError::InvalidRollout(why) => DeployError::Invalid(why),
            StoreError::Storage(e) => DeployError::Storage(e),
            other => DeployError::Conflict(other.to_string()),
        }
    }
}

/// The result of an upload: the stored version, and whether these bytes were new.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub meta: PluginVersionMeta,
    pub created: bool,
}

#[derive(Clone)]
pub struct Deployer {
    inner: Arc<Inner>,
}

struct Inner {
    storage: Storage,
    runtime: Runtime,
    registry: Registry,
    queue: Arc<dyn Queue>,
    config: DeployConfig,
    /// Versions loaded on this replica, so activation is a pointer swap.
    loaded: Mutex<HashMap<(String, String), Plugin>>,
    /// Serialises syncs; holds the deploy generation last installed.
    synced: tokio::sync::Mutex<i64>,
    watch: OutcomeWatch,
    triggers: Mutex<Option<mpsc::UnboundedReceiver<Trigger>>>,
}

impl Deployer {
    pub fn new(
        storage: Storage,
        runtime: Runtime,
        registry: Registry,
        queue: Arc<dyn Queue>,
        config: DeployConfig,
    ) -> Deployer {
        let (tx, rx) = mpsc::unbounded_channel();
        let watch = OutcomeWatch::new(config.rollback.clone(), config.default_rollback, tx);
        Deployer {
            inner: Arc::new(Inner {
                storage,
                runtime,
                registry,
                queue,
                config,
                loaded: Mutex::default(),
                synced: tokio::sync::Mutex::new(-1),
                watch,
                triggers: Mutex::new(Some(rx)),
            }),
        }
    }

    /// With signing required, refuses a stored version that was accepted unsigned (before
    /// the requirement) from becoming active or a candidate. Rollbacks are not checked:
    /// they restore what was serving.
    async fn require_signed(&self, plugin: &str, version: &str) -> Result<(), DeployError> {
        if !self.inner.config.signing.required() {
            return Ok(());
        }
        let meta = self
            .inner
            .storage
            .deploys()
            .plugin_version_meta(plugin, version)
            .await?;
        match meta {
            Some(m) if m.signed_by.is_some() => Ok(()),
            Some(_) => Err(DeployError::UnsignedVersion {
                plugin: plugin.to_owned(),
                version: version.to_owned(),
            }),
            None => Err(DeployError::UnknownVersion {
                plugin: plugin.to_owned(),
                version: version.to_owned(),
            }),
        }
    }

    /// The alert for an upload refused for its signature: a security event, whoever sent
    /// it. (The plugins folder raises its own refusal alert.)
    pub async fn signature_refused(
        &self,
        plugin: &str,
        bytes: &[u8],
        actor: &str,
        why: &crate::signing::SignatureError,
    ) {
        let version = VersionId::of_bytes(bytes);
        let version = version.as_str();
        let message = format!(
            "an upload of plugin {plugin} by {actor} was refused: {why}. Nothing changed; if nobody on the team sent it, revoke that admin token."
        );
        let alert = HostAlert::new(
            AlertKind::PluginSignatureRefused,
            Severity::Critical,
            message,
        )
        .plugin(plugin.to_owned())
        .version(version.to_owned())
        .fields(vec![("actor".into(), actor.to_owned())]);
        if let Err(e) = self
            .inner
            .storage
            .alerts()
            .insert(&alert, agenthost_core::now_ms())
            .await
        {
            tracing::error!(error = %e, "could not record the refused-signature alert");
        }
    }

    /// The observer workers report outcomes to (automatic rollback).
    pub fn watch(&self) -> OutcomeWatch {
        self.inner.watch.clone()
    }

    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Validates `bytes` as a version of plugin `name` by loading it the way it would
    /// serve (our world, compiles under our engine, answers `describe` within its
    /// limits) and stores it. Identical bytes return the version already stored.
    ///
    /// `signature` (`<key id>:<base64>`, see [`crate::signing`]) is checked first: when
    /// signing is required a version without a valid one is refused, and a signature that
    /// comes must verify whether required or not. The caller alerts a refusal (the API with
    /// [`Deployer::signature_refused`], the plugins folder with its own alert).
    pub async fn upload(
        &self,
        name: &str,
        bytes: &[u8],
        actor: &str,
        note: Option<&str>,
        signature: Option<&str>,
    ) -> Result<Uploaded, DeployError> {
        let name: PluginName = name.parse().map_err(DeployError::InvalidName)?;
        let version = VersionId::of_bytes(bytes);
        let storage = &self.inner.storage;
        let signed_by = match self.inner.config.signing.check(
            name.as_str(),
            version.as_str(),
            signature,
        ) {
            Ok(signer) => signer,
            Err(why) => {
                tracing::error!(plugin = %name, version = %version, actor, error = %why, "plugin upload refused: signature");
                return Err(why.into());
            }
        };
        if let Some(meta) = storage
            .deploys()
            .plugin_version_meta(&name, version.as_str())
            .await?
        {
            return Ok(Uploaded {
                meta,
                created: false,
            });
        }
        let plugin = self.load(&name, bytes).await?;
        let description = serde_json::to_string(plugin.description())?;
        let (meta, created) = storage
            .deploys()
            .put_plugin_version(
                &NewPluginVersion {
                    plugin: name.to_string(),
                    version: version.as_str().to_owned(),
                    component: bytes.to_vec(),
                    wit_world: crate::WIT_WORLD.to_owned(),
                    description_json: description,
                    uploaded_by: actor.to_owned(),
                    note: note.map(str::to_owned),
                    signed_by: signed_by.clone(),
                },
                agenthost_core::now_ms(),
            )
            .await?;
        tracing::info!(plugin = %name, version = %version, actor, created, signed_by = ?signed_by, "plugin version uploaded");
        self.remember(plugin);
        Ok(Uploaded { meta, created })
    }

    /// Makes `version` (full id or a unique prefix) the active version of `name`, here at
    /// once and on every replica within a second.
    pub async fn activate(
        &self,
        name: &str,
        version: &str,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Deployment, DeployError> {
        let version = self.resolve(name, version).await?;
        self.require_signed(name, &version).await?;
        // Refuse before committing if this engine cannot serve it.
        self.version(name, &version).await?;
        let d = self
            .inner
            .storage
            .deploys()
            .activate_version(name, &version, actor, reason, agenthost_core::now_ms())
            .await?;
        tracing::info!(plugin = name, version = %version, actor, reason, "plugin version activated");
        self.sync().await?;
        Ok(d)
    }

    /// Restores the previously active version of `name`.
    pub async fn rollback(
        &self,
        name: &str,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Deployment, DeployError> {
        let d = self
            .inner
            .storage
            .deploys()
            .rollback_version(
                name,
                actor,
                reason,
                None,
                false,
                None,
                agenthost_core::now_ms(),
            )
            .await?;
        tracing::warn!(plugin = name, to = ?d.active_version, actor, reason, "plugin rolled back");
        self.sync().await?;
        Ok(d)
    }

    /// Starts a canary (`percent` of conversations) or shadow rollout of `candidate`, or
    /// ends one (`RolloutMode::None`, an abort).
    pub async fn set_rollout(
        &self,
        name: &str,
        mode: RolloutMode,
        candidate: Option<&str>,
        percent: u8,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Deployment, DeployError> {
        let candidate = match candidate {
            Some(c) if mode != RolloutMode::None => {
                let full = self.resolve(name, c).await?;
                self.require_signed(name, &full).await?;
                self.version(name, &full).await?;
                Some(full)
            }
            _ => None,
        };
        let d = self
            .inner
            .storage
            .deploys()
            .set_rollout(
                name,
                mode,
                candidate.as_deref(),
                percent,
                actor,
                reason,
                agenthost_core::now_ms(),
            )
            .await?;
        tracing::info!(plugin = name, mode = mode.as_str(), candidate = ?candidate, percent, actor, "rollout changed");
        self.sync().await?;
        Ok(d)
    }

    /// Makes the rollout's candidate the active version.
    pub async fn promote(
        &self,
        name: &str,
        actor: &str,
        reason: Option<&str>,
    ) -> Result<Deployment, DeployError> {
        let d = self
            .inner
            .storage
            .deploys()
            .promote_candidate(name, actor, reason, agenthost_core::now_ms())
            .await?;
        tracing::info!(plugin = name, version = ?d.active_version, actor, "candidate promoted");
        self.sync().await?;
        Ok(d)
    }

    /// A full version id from a full id or a unique prefix of at least 6 characters.
    pub async fn resolve(&self, name: &str, version: &str) -> Result<String, DeployError> {
        let versions = self.inner.storage.deploys().plugin_versions(name).await?;
        if versions.is_empty() {
            return Err(DeployError::UnknownPlugin(name.to_owned()));
        }
        resolve_version(name, version, versions.iter().map(|v| v.version.as_str()))
    }

    /// Installs into the registry what the database says is active, loading versions this
    /// replica has not loaded yet. Cheap when nothing changed.
    pub async fn sync(&self) -> Result<(), DeployError> {
        let mut synced = self.inner.synced.lock().await;
        let generation = self.inner.storage.deploys().deploy_generation().await?;
        if generation == *synced {
            return Ok(());
        }
        let mut complete = true;
        for d in self.inner.storage.deploys().deployments().await? {
            if let Err(e) = self.install(&d).await {
                complete = false;
                tracing::error!(plugin = %d.plugin, error = %e, "cannot install the active version on this replica; the previous one keeps serving");
            }
        }
        if complete {
            *synced = generation;
        }
        Ok(())
    }

    async fn install(&self, d: &Deployment) -> Result<(), DeployError> {
        let Some(active_version) = &d.active_version else {
            return Ok(());
        };
        let active = self.version(&d.plugin, active_version).await?;
        let rollout = match (&d.rollout, &d.candidate_version) {
            (RolloutMode::Canary, Some(c)) => Some(Rollout {
                kind: RolloutKind::Canary {
                    percent: d.canary_percent,
                },
                candidate: self.version(&d.plugin, c).await?,
            }),
            (RolloutMode::Shadow, Some(c)) => Some(Rollout {
                kind: RolloutKind::Shadow,
                candidate: self.version(&d.plugin, c).await?,
            }),
            _ => None,
        };
        let canary = rollout
            .as_ref()
            .filter(|r| matches!(r.kind, RolloutKind::Canary { .. }))
            .map(|r| r.candidate.version().as_str().to_owned());
        let current = self.inner.registry.get(&d.plugin);
        let unchanged = current
            .as_ref()
            .is_some_and(|c| c.version().as_str() == active_version)
            && same_rollout(
                self.inner.registry.rollout(&d.plugin).as_ref(),
                rollout.as_ref(),
            );
        self.inner.watch.track(
            &d.plugin,
            active_version,
            d.previous_version.as_deref(),
            canary.as_deref(),
        );
        if !unchanged {
            tracing::info!(plugin = %d.plugin, version = %active_version, rollout = d.rollout.as_str(), generation = d.generation, "serving version installed");
            self.inner.registry.install(active, rollout);
        }
        Ok(())
    }

    /// A loaded version of `name`: from this replica's cache, else from the database.
    async fn version(&self, name: &str, version: &str) -> Result<Plugin, DeployError> {
        let key = (name.to_owned(), version.to_owned());
        if let Some(p) = self.loaded().get(&key) {
            return Ok(p.clone());
        }
        let bytes = self
            .inner
            .storage
            .deploys()
            .plugin_component(name, version)
            .await?
            .ok_or_else(|| DeployError::UnknownVersion {
                plugin: name.to_owned(),
                version: version.to_owned(),
            })?;
        let name: PluginName = name.parse().map_err(DeployError::InvalidName)?;
        let plugin = self.load(&name, &bytes).await?;
        self.remember(plugin.clone());
        Ok(plugin)
    }

    async fn load(&self, name: &PluginName, bytes: &[u8]) -> Result<Plugin, DeployError> {
        let (config, policy) =
            agenthost_runtime::registry::read_plugin_config(&self.inner.config.config_dir, name)
                .map_err(|e| DeployError::Invalid(format!("plugin config: {e}")))?;
        let overrides = self
            .inner
            .config
            .limits
            .get(name)
            .copied()
            .unwrap_or_default();
        self.inner
            .runtime
            .load_with_policy(name.clone(), bytes, overrides, config, policy)
            .await
            .map_err(|e| {
                if e.is_malformed() {
                    DeployError::Malformed(e)
                } else {
                    DeployError::Refused(e)
                }
            })
    }

    fn remember(&self, plugin: Plugin) {
        let key = (
            plugin.name().to_string(),
            plugin.version().as_str().to_owned(),
        );
        self.loaded().insert(key, plugin);
    }

    fn loaded(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Plugin>> {
        self.inner.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps this replica converged (PostgreSQL notifications, else polling) and carries
    /// out the watch's automatic rollbacks, until `cancel`.
    pub async fn run(self, cancel: CancellationToken) {
        let mut triggers = self
            .inner
            .triggers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .expect("Deployer::run is started once");
        let mut listener = match self.inner.storage.deploys().listen_deploys().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for deploy notifications; polling only");
                None
            }
        };
        let mut tick = tokio::time::interval(self.inner.config.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let notified = async {
                match listener.as_mut() {
                    Some(l) => l.recv().await.map(Some),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
                n = notified => {
                    if let Err(e) = n {
                        tracing::warn!(error = %e, "deploy notifications lost; polling until they return");
                        listener = None;
                    }
                }
                Some(trigger) = triggers.recv() => self.act_on(trigger).await,
            }
            if listener.is_none()
                && self.inner.storage.backend() == agenthost_storage::Backend::Postgres
            {
                listener = self
                    .inner
                    .storage
                    .deploys()
                    .listen_deploys()
                    .await
                    .ok()
                    .flatten();
            }
            if let Err(e) = self.sync().await {
                tracing::warn!(error = %e, "deploy sync failed; will retry");
            }
        }
    }

    /// Rolls back (or aborts a canary) as the watch decided, once across replicas.
    async fn act_on(&self, t: Trigger) {
        let now = agenthost_core::now_ms();
        let storage = &self.inner.storage;
        let evidence = t.evidence.to_string();
        let (result, what) = match t.kind {
            TriggerKind::Rollback => (
                storage
                    .deploys()
                    .rollback_version(
                        &t.plugin,
                        AUTO_ACTOR,
                        Some(&t.summary),
                        Some(&t.bad_version),
                        true,
                        Some(&evidence),
                        now,
                    )
                    .await,
                "rolled back",
            ),
            TriggerKind::AbortCanary => {
                let still = storage
                    .deploys()
                    .deployment(&t.plugin)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|d| d.candidate_version.as_deref() == Some(&t.bad_version));
                if !still {
                    return;
                }
                (
                    storage
                        .deploys()
                        .set_rollout(
                            &t.plugin,
                            RolloutMode::None,
                            None,
                            0,
                            AUTO_ACTOR,
                            Some(&t.summary),
                            now,
                        )
                        .await,
                    "canary aborted",
                )
            }
        };
        match result {
            Ok(d) => {
                tracing::error!(plugin = %t.plugin, bad = %t.bad_version, restored = ?d.active_version, evidence = %evidence, "automatic {what}");
                let alert = HostAlert::new(
                    AlertKind::AutoRollback,
                    Severity::Critical,
                    format!(
                        "plugin {} {what} automatically: version {} → {}; {}",
                        t.plugin,
                        short(&t.bad_version),
                        d.active_version.as_deref().map_or("none", short),
                        t.summary
                    ),
                )
                .plugin(t.plugin.clone())
                .version(t.bad_version.clone())
                .fields(vec![
                    ("bad_version".into(), t.bad_version.clone()),
                    (
                        "restored_version".into(),
                        d.active_version.clone().unwrap_or_default(),
                    ),
                    ("evidence".into(), evidence.clone()),
                ]);
                if let Err(e) = storage.alerts().insert(&alert, now).await {
                    tracing::error!(error = %e, "could not record the automatic-rollback alert");
                }
                if let Err(e) = self.sync().await {
                    tracing::warn!(error = %e, "sync after automatic rollback failed");
                }
                self.retry_dead_letters(&t.plugin, &t.bad_version, t.since_ms)
                    .await;
            }
            // Another replica acted first, or an operator changed the version meanwhile.
            Err(e) => tracing::info!(plugin = %t.plugin, error = %e, "automatic {what} not needed"),
        }
    }

    /// Events the bad version dead-lettered get another chance on the restored one.
    async fn retry_dead_letters(&self, plugin: &str, bad_version: &str, since_ms: i64) {
        let storage = &self.inner.storage;
        let letters = match storage.events().dead_letters(10_000).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list dead letters to retry after rollback");
                return;
            }
        };
        let ids: Vec<EventId> = letters
            .into_iter()
            .filter(|l| {
                l.plugin == plugin
                    && l.version.as_deref() == Some(bad_version)
                    && l.at_ms >= since_ms
            })
            .map(|l| l.event_id)
            .collect();
        let requeued = self.requeue_dead_letters(plugin, &ids, None).await;
        if !requeued.is_empty() {
            tracing::info!(
                plugin,
                count = requeued.len(),
                "dead letters of the rolled-back version requeued"
            );
        }
    }

    /// Puts dead events of `plugin` back in its lane with a fresh attempt budget, pinned
    /// to `version` when given; returns the ids requeued (ids not dead are skipped). The
    /// publish happens at once; if it fails, the republish sweep finds them.
    pub async fn requeue_dead_letters(
        &self,
        plugin: &str,
        event_ids: &[EventId],
        version: Option<&str>,
    ) -> Vec<EventId> {
        let storage = &self.inner.storage;
        let mut requeued = Vec::new();
        for id in event_ids {
            match storage
                .events()
                .requeue_onto(id, version, agenthost_core::now_ms())
                .await
            {
                Ok(true) => requeued.push(QueueMessage::new(id.clone())),
                Ok(false) => {}
                Err(e) => tracing::warn!(event = %id, error = %e, "cannot requeue"),
            }
        }
        let ids: Vec<EventId> = requeued.iter().map(|m| m.event_id.clone()).collect();
        if requeued.is_empty() {
            return ids;
        }
        match agenthost_queue::enqueue_stored(storage, self.inner.queue.as_ref(), plugin, &requeued)
            .await
        {
            Ok(()) => {}
            // Harmless but noisy: the sweep republishes them and the redelivery finds
            // them done.
            Err(agenthost_queue::EnqueueError::Mark { source, .. }) => {
                tracing::warn!(plugin, error = %source, "could not mark requeued events enqueued")
            }
            Err(agenthost_queue::EnqueueError::Publish { source, .. }) => {
                tracing::warn!(plugin, error = %source, "requeue publish failed; the sweep will retry")
            }
        }
        ids
    }
}

fn same_rollout(a: Option<&Rollout>, b: Option<&Rollout>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.kind == b.kind && a.candidate.version() == b.candidate.version(),
        _ => false,
    }
}

fn short(version: &str) -> &str {
    version.get(..12).unwrap_or(version)
}

/// The one version among `versions` that `wanted` names: equal, or a unique prefix of at
/// least 6 hex characters.
pub fn resolve_version<'a>(
    plugin: &str,
    wanted: &str,
    versions: impl Iterator<Item = &'a str>,
) -> Result<String, DeployError> {
    let wanted = wanted.trim().to_ascii_lowercase();
    let unknown = || DeployError::UnknownVersion {
        plugin: plugin.to_owned(),
        version: wanted.clone(),
    };
    if wanted.len() < 6 {
        return Err(DeployError::Invalid(format!(
            "version {wanted:?} is too short: give the sha256 id or at least its first 6 characters"
        )));
    }
    let matches: Vec<&str> = versions.filter(|v| v.starts_with(&wanted)).collect();
    match matches.as_slice() {
        [] => Err(unknown()),
        [one] => Ok((*one).to_owned()),
        many => {
            if let Some(exact) = many.iter().find(|v| **v == wanted) {
                return Ok((*exact).to_owned());
            }
            Err(DeployError::AmbiguousVersion {
                plugin: plugin.to_owned(),
                prefix: wanted.clone(),
                matches: many.iter().map(|v| short(v)).collect::<Vec<_>>().join(", "),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_resolve_by_unique_prefix() {
        let vs = ["abcdef0123", "abcdff9999", "123456789a"];
        assert_eq!(
            resolve_version("p", "abcdef", vs.iter().copied()).unwrap(),
            "abcdef0123"
        );
        assert_eq!(
            resolve_version("p", "123456789A", vs.iter().copied()).unwrap(),
            "123456789a"
        );
        let e = resolve_version("p", "abcdf", vs.iter().copied()).unwrap_err();
        assert!(matches!(e, DeployError::Invalid(_)), "{e}");
        let e = resolve_version("p", "fffffff", vs.iter().copied()).unwrap_err();
        assert_eq!(e.status(), 404);
        let vs = ["abcdef0123", "abcdef9999"];
        let e = resolve_version("p", "abcdef", vs.iter().copied()).unwrap_err();
        assert!(e.to_string().contains("several versions"), "{e}");
        assert_eq!(e.status(), 400);
    }
}
