//! The host's one wasmtime `Engine`: pooling allocator, fuel metering, epoch
//! interruption driven by ONE ticker thread, and the linker with our world and a
//! locked-down WASI p2.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::caps::Capabilities;
use crate::host::HostState;
use crate::limits::{Ceilings, Limits};

/// How often the epoch ticks. Deadlines are checked at this granularity, and a guest
/// spinning in wasm yields its thread to other tasks this often.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Engine-wide settings, fixed for the life of the process.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Limits for a plugin that asks for nothing.
    pub defaults: Limits,
    /// The most any plugin may have.
    pub ceilings: Ceilings,
    /// Component instances alive at once across all plugins (pool size).
    pub max_instances: u32,
    /// Where compiled components are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            defaults: Limits::default(),
            ceilings: Ceilings::default(),
            max_instances: 128,
            cache_dir: None,
        }
    }
}

/// Per-component shape limits for the pool: a WASI p2 component built by wasm-component-ld
/// has a handful of core instances (main module, adapter, shims); generous headroom.
/// The pool's totals are these times the instance count, so that no component, however
/// it is shaped, can use up a pool resource that other plugins' instances need: the only
/// scarce thing is whole instances, and those are handed out by admission (`Admission`).
const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 16;
const MAX_MEMORIES_PER_COMPONENT: u32 = 4;
const MAX_TABLES_PER_COMPONENT: u32 = 8;
/// At most this share of the pool's instances may be held by one plugin (its declared
/// concurrency is clamped to it), so no single plugin can starve the rest.
pub const MAX_POOL_SHARE_PERCENT: u32 = 50;
/// Shadow runs together may hold at most this share of the pool; past it (or when the
/// pool is full) a shadow run is skipped, never queued.
pub const SHADOW_POOL_SHARE_PERCENT: u32 = 12;

/// The sandbox runtime. Cheap to clone; one per host process.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub engine: Engine,
    pub linker: Linker<HostState>,
    pub config: RuntimeConfig,
    pub caps: Capabilities,
    /// One permit per instance of the pool: an invocation holds one while it runs.
    pub instances: Arc<Semaphore>,
    /// Bounds shadow runs (see `SHADOW_POOL_SHARE_PERCENT`).
    pub shadows: Arc<Semaphore>,
    /// Stable identity of the engine's compilation settings, part of every cache key.
    pub engine_key: String,
    ticker: Option<Ticker>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.stop();
        }
    }
}

/// The single thread that advances the engine's epoch. Stopped when the runtime drops.
struct Ticker {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl Ticker {
    fn start(engine: Engine) -> std::io::Result<Ticker> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(Ticker { stop, handle })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.handle.join();
    }
}

pub(crate) fn engine_config(config: &RuntimeConfig) -> Config {
    let mut cfg = Config::new();
    cfg.consume_fuel(true);
    cfg.epoch_interruption(true);
    cfg.wasm_component_model(true);
    let mut pool = PoolingAllocationConfig::default();
    let n = config.max_instances.max(1);
    pool.total_component_instances(n)
        .total_core_instances(n * MAX_CORE_INSTANCES_PER_COMPONENT)
        .total_memories(n * MAX_MEMORIES_PER_COMPONENT)
        .total_tables(n * MAX_TABLES_PER_COMPONENT)
        .total_stacks(n)
        .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(MAX_MEMORIES_PER_COMPONENT)
        .max_tables_per_component(MAX_TABLES_PER_COMPONENT)
        .max_memory_size(config.ceilings.memory_bytes as usize);
    cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    cfg
}

impl Runtime {
    /// Builds the engine, starts its epoch ticker and links the host imports.
    pub fn new(config: RuntimeConfig, caps: Capabilities) -> anyhow::Result<Runtime> {
        let engine = Engine::new(&engine_config(&config))?;
        let engine_key = crate::cache::engine_key(&engine);
        let mut linker: Linker<HostState> = Linker::new(&engine);
        // WASI p2 for components built with standard toolchains. What it can reach is
        // decided per store in `HostState::wasi`: no dirs, no env, no network.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        crate::imports::add_to_linker(&mut linker)?;
        let ticker = Ticker::start(engine.clone())?;
        let n = config.max_instances.max(1);
        let shadows = (n * SHADOW_POOL_SHARE_PERCENT / 100).max(1);
        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                linker,
                instances: Arc::new(Semaphore::new(n as usize)),
                shadows: Arc::new(Semaphore::new(shadows as usize)),
                config,
                caps,
                engine_key,
                ticker: Some(ticker),
            }),
        })
    }

    /// The most instances one plugin may hold at once.
    pub fn pool_share(&self) -> u32 {
        (self.inner.config.max_instances.max(1) * MAX_POOL_SHARE_PERCENT / 100).max(1)
    }

    /// Instances of the pool free right now (for metrics).
    pub fn instances_free(&self) -> usize {
        self.inner.instances.available_permits()
    }

    pub(crate) async fn instance_permit(&self) -> OwnedSemaphorePermit {
        self.inner
            .instances
            .clone()
            .acquire_owned()
            .await
            .expect("instance semaphore is never closed")
    }

    pub(crate) fn try_instance_permit(&self) -> Option<OwnedSemaphorePermit> {
        self.inner.instances.clone().try_acquire_owned().ok()
    }

    pub(crate) fn try_shadow_permit(&self) -> Option<OwnedSemaphorePermit> {
        self.inner.shadows.clone().try_acquire_owned().ok()
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn capabilities(&self) -> &Capabilities {
        &self.inner.caps
    }
}
