//! Compiled components on disk, keyed by the component's sha256 and the engine's
//! compilation settings, so a restart loads native code instead of recompiling.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// The engine's compatibility hash, hex. Two engines with the same key produce
/// interchangeable artifacts (wasmtime checks again on load; this only names files).
pub(crate) fn engine_key(engine: &Engine) -> String {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

fn entry_path(dir: &Path, sha256: &str, engine_key: &str) -> PathBuf {
    dir.join(format!("{sha256}-{engine_key}.cwasm"))
}

/// How the component was obtained, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    Hit,
    Miss,
    Disabled,
}

/// Compiles `bytes`, or loads the artifact a previous compile stored under `dir`.
pub(crate) fn load_or_compile(
    engine: &Engine,
    engine_key: &str,
    dir: Option<&Path>,
    sha256: &str,
    bytes: &[u8],
) -> wasmtime::Result<(Component, CacheUse)> {
    let Some(dir) = dir else {
        return Ok((Component::new(engine, bytes)?, CacheUse::Disabled));
    };
    let path = entry_path(dir, sha256, engine_key);
    if path.exists() {
        // SAFETY: the file was written by `Component::serialize` of this same host into
        // its own cache directory, and wasmtime re-checks engine compatibility on load.
        #[allow(unsafe_code)]
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => return Ok((c, CacheUse::Hit)),
            Err(e) => tracing::warn!(path = %path.display(), error = %e,
                "compiled-component cache entry unusable; recompiling"),
        }
    }
    let component = Component::new(engine, bytes)?;
    if let Err(e) = store(dir, &path, &component) {
        tracing::warn!(path = %path.display(), error = %e, "could not write compiled-component cache");
        release_freed_memory();
        return Ok((component, CacheUse::Miss));
    }
    // Serve from the file just written, as a restart would: its code is mapped from the
    // page cache (shared, reclaimable), where the freshly compiled copy is heap memory
    // held for the life of the version.
    // SAFETY: as above — written just now by `Component::serialize` of this engine.
    #[allow(unsafe_code)]
    let served = match unsafe { Component::deserialize_file(engine, &path) } {
        Ok(mapped) => mapped,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "compiled-component cache entry unusable right after writing it");
            component.clone()
        }
    };
    drop(component);
    release_freed_memory();
    Ok((served, CacheUse::Miss))
}

/// Returns the heap memory freed since to the OS. Compiling a component takes tens of
/// MiB of scratch memory that glibc's allocator keeps in its arenas once freed: a cold
/// start with the three agents held 72 MiB of anonymous memory, 40 MiB after trimming
/// (and serving from the cache file), 12 MiB on a warm start. A compile is rare (an
/// upload or a cold cache), so the trim's walk over the arenas costs nothing that matters.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own arenas to the
    // OS; it touches no live allocation and is thread-safe.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

fn store(dir: &Path, path: &Path, component: &Component) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize()?;
    // Write then rename, so a crash or a concurrent replica never leaves a torn file.
    let tmp = tempfile_in(dir)?;
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn tempfile_in(dir: &Path) -> std::io::Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    Ok(dir.join(format!(".tmp-{}-{n}", std::process::id())))
}
