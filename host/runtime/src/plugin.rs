//! A loaded plugin: bytes validated as a component of our world, compiled (or loaded from
//! the compile cache), pre-instantiated, and asked to describe itself.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::bindings::PluginPre;
use crate::cache::{self, CacheUse};
use crate::engine::Runtime;
use crate::host::{HostState, Policy, Scope};
use crate::invoke::{Call, CallResult};
use crate::limits::{Limits, RequestedLimits};
use agenthost_core::{CronJob, Outcome, PluginName, VersionId};

/// What a plugin says about itself (`describe`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    pub name: String,
    pub version: String,
    pub summary: String,
    pub cron_jobs: Vec<CronJob>,
    pub limits: RequestedLimits,
}

/// Why bytes could not become a plugin. Each says what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a WebAssembly binary (bad magic number)")]
    NotWasm,
    #[error(
        "this is a core WebAssembly module, not a component; link it with wasm-component-ld (or `wasm-tools component new`)"
    )]
    NotComponent,
    /// wasmtime's error, its cause chain kept (shown with `{:#}`).
    #[error("component does not compile: {0:#}")]
    Compile(#[source] wasmtime::Error),
    /// The compile task itself ended without an answer (it panicked).
    #[error("component compilation stopped: {0}")]
    CompileStopped(#[source] tokio::task::JoinError),
    #[error("component does not implement agenthost:plugin/plugin@0.1.0: {0}")]
    WrongWorld(String),
    #[error("describe() did not succeed: {0}")]
    Describe(Outcome),
    #[error(
        "component passes strings as {0}; the host accepts only UTF-8 components (what wit-bindgen and every standard toolchain emit)"
    )]
    StringEncoding(&'static str),
}

impl LoadError {
    /// A malformed upload (400) as opposed to a well-formed one we refuse (422).
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            LoadError::NotWasm | LoadError::NotComponent | LoadError::StringEncoding(_)
        )
    }
}

const WASM_MAGIC: [u8; 4] = *b"\0asm";
/// Bytes 4..8 of a component (layer 1, version 0x0d) vs a core module (version 1).
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];

/// A plugin version ready to run. Cheap to clone; invocations in flight keep the version
/// they started with alive, so swapping the active version never disturbs them.
#[derive(Clone)]
pub struct Plugin {
    pub(crate) inner: Arc<PluginInner>,
}

pub(crate) struct PluginInner {
    pub runtime: Runtime,
    pub name: PluginName,
    pub version: VersionId,
    pub description: Description,
    pub limits: Limits,
    pub config: Arc<BTreeMap<String, String>>,
    pub pre: PluginPre<HostState>,
    /// What the operator lets it do beyond its own conversations.
    pub policy: Arc<Policy>,
    /// Caps concurrent invocations of this plugin on this host.
    pub permits: Arc<Semaphore>,
    pub cache: CacheUse,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.inner.name)
            .field("version", &self.inner.version)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    pub fn name(&self) -> &PluginName {
        &self.inner.name
    }
    pub fn version(&self) -> &VersionId {
        &self.inner.version
    }
    pub fn description(&self) -> &Description {
        &self.inner.description
    }
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }
    /// Whether the compiled code came from the on-disk cache.
    /// What the operator lets it do beyond its own conversations.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }
    pub fn from_cache(&self) -> bool {
        self.inner.cache == CacheUse::Hit
    }
}

impl Runtime {
    /// Validates and prepares `bytes` as plugin `name`. `overrides` are the operator's
    /// limits (they win over what the plugin asks for); `config` is what the plugin's
    /// `config.get` import sees.
    pub async fn load(
        &self,
        name: PluginName,
        bytes: &[u8],
        overrides: RequestedLimits,
        config: BTreeMap<String, String>,
    ) -> Result<Plugin, LoadError> {
        self.load_with_policy(name, bytes, overrides, config, Policy::default())
            .await
    }

    /// [`Runtime::load`] with the operator's policy for this plugin (recipients beyond its
    /// leads, critical alerts).
    pub async fn load_with_policy(
        &self,
        name: PluginName,
        bytes: &[u8],
        overrides: RequestedLimits,
        config: BTreeMap<String, String>,
        policy: Policy,
    ) -> Result<Plugin, LoadError> {
        if bytes.len() < 8 || bytes[..4] != WASM_MAGIC {
            return Err(LoadError::NotWasm);
        }
        if bytes[4..8] != COMPONENT_VERSION {
            return Err(LoadError::NotComponent);
        }
        check_string_encodings(bytes)?;
        let version = VersionId::of_bytes(bytes);
        let rt = self.clone();
        let owned = bytes.to_vec();
        let v = version.clone();
        // Compilation is CPU-bound (tens of ms): keep it off the async workers.
        let (component, cache) = tokio::task::spawn_blocking(move || {
            let inner = &rt.inner;
            cache::load_or_compile(
                &inner.engine,
                &inner.engine_key,
                inner.config.cache_dir.as_deref(),
                v.as_str(),
                &owned,
            )
        })
        .await
        .map_err(LoadError::CompileStopped)?
        .map_err(LoadError::Compile)?;
        let pre = self
            .inner
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        let pre = PluginPre::new(pre).map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;

        // Describe under the operator's limits (or the defaults): a plugin that cannot
        // answer within them is refused before it can serve anything.
        let cfg = &self.inner.config;
        let describe_limits = Limits::resolve(overrides, cfg.defaults, cfg.ceilings);
        let config = Arc::new(config);
        let policy = Arc::new(policy);
        let instance = self.instance_permit().await;
        let (outcome, result, _) = crate::invoke::run(
            self,
            &name,
            &version,
            &config,
            &describe_limits,
            &policy,
            Scope::default(),
            &pre,
            Call::Describe,
        )
        .await;
        drop(instance);
        let description = match (outcome, result) {
            (Outcome::Ok, Some(CallResult::Described(d))) => *d,
            (outcome, _) => return Err(LoadError::Describe(outcome)),
        };
        let limits = Limits::resolve(
            overrides.or(description.limits.plugin_askable()),
            cfg.defaults,
            cfg.ceilings,
        )
        .clamp_concurrency(self.pool_share());
        tracing::debug!(plugin = %name, version = %version, ?cache, ?limits, "plugin loaded");
        Ok(Plugin {
            inner: Arc::new(PluginInner {
                runtime: self.clone(),
                name,
                version,
                description,
                limits,
                config,
                pre,
                policy,
                permits: Arc::new(Semaphore::new(limits.max_concurrency as usize)),
                cache,
            }),
        })
    }
}

/// Refuses components that lift or lower strings as UTF-16: viewing such a string in guest
/// memory would transcode (allocate) before the host could check its size.
fn check_string_encodings(bytes: &[u8]) -> Result<(), LoadError> {
    use wasmtime::wasmparser::{CanonicalFunction, CanonicalOption, Parser, Payload};
    for payload in Parser::new(0).parse_all(bytes) {
        // Malformed bytes are reported by the compiler with more context.
        let Ok(Payload::ComponentCanonicalSection(reader)) = payload else {
            continue;
        };
        for function in reader.into_iter().flatten() {
            let options = match &function {
                CanonicalFunction::Lift { options, .. }
                | CanonicalFunction::Lower { options, .. }
                | CanonicalFunction::TaskReturn { options, .. } => options,
                _ => continue,
            };
            for option in options.iter() {
                match option {
                    CanonicalOption::UTF16 => return Err(LoadError::StringEncoding("UTF-16")),
                    CanonicalOption::CompactUTF16 => {
                        return Err(LoadError::StringEncoding("latin1+UTF-16"));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}
