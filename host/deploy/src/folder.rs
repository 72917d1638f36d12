//! The plugins folder (`AGENTHOST_PLUGIN_DIR`): `<name>.wasm` files are uploaded as
//! versions of `<name>`. At start a file is activated when its bytes are new to the
//! database or its plugin has no active version (so a rollback survives a restart, and a
//! rebuilt plugin goes live); while watching, a file that appears or changes is
//! activated, so rebuilding a plugin during development swaps it live. A broken file is
//! refused with an alert and the previous version keeps serving.
//!
//! A version's signature, when signing is used, is the file `<name>.wasm.sig` next to it
//! (what `agenthost plugin sign` writes); the same rule as an upload applies, and a
//! signature written after its component re-imports the component.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use agenthost_core::{AlertKind, HostAlert, Severity};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::Deployer;

/// The actor recorded for versions the folder brought in.
pub const FOLDER_ACTOR: &str = "plugin-dir";
/// A file must be quiet this long before it is read (builds write in several steps).
const SETTLE: Duration = Duration::from_millis(300);

/// Imports every `*.wasm` in `dir`. Returns `(file, why)` for each file refused; one
/// broken plugin never stops the others.
pub async fn import_dir(deployer: &Deployer, dir: &Path) -> Vec<(String, String)> {
    let mut failures = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            failures.push((
                dir.display().to_string(),
                format!("cannot read plugin dir: {e}"),
            ));
            return failures;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths.into_iter().filter(|p| is_component_file(p)) {
        if let Err(why) = import_file(deployer, &path, false).await {
            tracing::error!(file = %path.display(), error = %why, "plugin file refused");
            failures.push((path.display().to_string(), why));
        }
    }
    failures
}

/// Uploads one file; activates it when `always`, when its bytes are new, or when its
/// plugin has no active version.
async fn import_file(deployer: &Deployer, path: &Path, always: bool) -> Result<(), String> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| "file name is not UTF-8".to_owned())?;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let signature = read_signature(path)?;
    let note = format!("from {}", path.display());
    let up = deployer
        .upload(
            name,
            &bytes,
            FOLDER_ACTOR,
            Some(&note),
            signature.as_deref(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let active = deployer
        .storage()
        .deploys()
        .deployment(name)
        .await
        .map_err(|e| e.to_string())?
        .and_then(|d| d.active_version);
    if active.as_deref() == Some(up.meta.version.as_str()) {
        return Ok(());
    }
    if always || up.created || active.is_none() {
        deployer
            .activate(name, &up.meta.version, FOLDER_ACTOR, Some(&note))
            .await
            .map_err(|e| e.to_string())?;
    } else {
        tracing::info!(plugin = name, version = %up.meta.version, active = ?active, "plugin file matches a version uploaded before; the active version stays");
    }
    Ok(())
}

/// The signature file of component `path` (`<file>.sig`), if there is one.
fn read_signature(path: &Path) -> Result<Option<String>, String> {
    let mut sig = path.as_os_str().to_owned();
    sig.push(".sig");
    let sig = PathBuf::from(sig);
    match std::fs::read(&sig) {
        // A signature line is ~100 bytes; anything big is not one.
        Ok(b) if b.len() > 4096 => Err(format!("{} is not a signature", sig.display())),
        Ok(b) => String::from_utf8(b)
            .map(|s| Some(s.trim().to_owned()))
            .map_err(|_| format!("{} is not UTF-8", sig.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", sig.display())),
    }
}

/// The component a changed file belongs to: itself, or the component of a `.wasm.sig`.
fn component_of(path: PathBuf) -> Option<PathBuf> {
    if path.extension().is_some_and(|e| e == "wasm") {
        return Some(path);
    }
    let name = path.to_str()?.strip_suffix(".sig")?;
    name.ends_with(".wasm").then(|| PathBuf::from(name))
}

fn is_component_file(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "wasm") && p.is_file()
}

/// Watches `dir` until `cancel`: a `*.wasm` that appears or changes is uploaded and
/// activated once it has been quiet for a moment; a refused one raises an alert.
pub async fn watch_dir(deployer: Deployer, dir: PathBuf, cancel: CancellationToken) {
    let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res
            && matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_))
        {
            for path in event.paths {
                let _ = tx.send(path);
            }
        }
    });
    let mut watcher = match watcher {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(dir = %dir.display(), error = %e, "cannot watch the plugins folder");
            return;
        }
    };
    if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
        tracing::error!(dir = %dir.display(), error = %e, "cannot watch the plugins folder");
        return;
    }
    tracing::info!(dir = %dir.display(), "watching the plugins folder");
    let mut pending: HashMap<PathBuf, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            Some(path) = rx.recv() => {
                if let Some(component) = component_of(path) {
                    pending.insert(component, Instant::now());
                }
            }
            _ = tick.tick() => {
                let ready: Vec<PathBuf> = pending
                    .iter()
                    .filter(|(_, at)| at.elapsed() >= SETTLE)
                    .map(|(p, _)| p.clone())
                    .collect();
                for path in ready {
                    pending.remove(&path);
                    if !path.is_file() {
                        continue;
                    }
                    tracing::info!(file = %path.display(), "plugin file changed");
                    if let Err(why) = import_file(&deployer, &path, true).await {
                        refused(&deployer, &path, &why).await;
                    }
                }
            }
        }
    }
    drop(watcher);
}

async fn refused(deployer: &Deployer, path: &Path, why: &str) {
    tracing::error!(file = %path.display(), error = %why, "plugin file refused; the previous version keeps serving");
    let plugin = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned);
    let alert = HostAlert {
        plugin,
        ..HostAlert::new(
            AlertKind::PluginUploadRejected,
            Severity::Critical,
            format!(
                "plugin file {} was refused; the previous version keeps serving: {why}",
                path.display()
            ),
        )
        .field("file", path.display().to_string())
    };
    if let Err(e) = deployer
        .storage()
        .alerts()
        .insert(&alert, agenthost_core::now_ms())
        .await
    {
        tracing::error!(error = %e, "could not record the refused-plugin alert");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_file_belongs_to_its_component() {
        assert_eq!(
            component_of(PathBuf::from("/p/echo.wasm.sig")),
            Some(PathBuf::from("/p/echo.wasm"))
        );
        assert_eq!(
            component_of(PathBuf::from("/p/echo.wasm")),
            Some(PathBuf::from("/p/echo.wasm"))
        );
        assert_eq!(component_of(PathBuf::from("/p/notes.sig")), None);
        assert_eq!(component_of(PathBuf::from("/p/echo.json")), None);
    }

    #[test]
    fn signature_files_are_read_trimmed_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let wasm = dir.path().join("echo.wasm");
        assert_eq!(read_signature(&wasm), Ok(None));
        std::fs::write(dir.path().join("echo.wasm.sig"), "release:abc=\n").unwrap();
        assert_eq!(read_signature(&wasm), Ok(Some("release:abc=".into())));
        std::fs::write(dir.path().join("echo.wasm.sig"), vec![b'a'; 5000]).unwrap();
        assert!(
            read_signature(&wasm)
                .unwrap_err()
                .contains("not a signature")
        );
    }
}
