//! What the host's tests and benches share; a dev-dependency only, never linked into the
//! binary.

use std::path::PathBuf;

pub mod summary;

/// Where `scripts/build-plugins.sh` puts the agents (`AGENTHOST_PLUGINS_OUT`, default
/// `dist/plugins`) and the test-only plugins (`AGENTHOST_TEST_PLUGINS_OUT`, default
/// `dist/test-plugins`), in that order.
pub fn plugin_dirs() -> [PathBuf; 2] {
    let repo = repo_root();
    let dir = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| repo.join(default))
    };
    [
        dir("AGENTHOST_PLUGINS_OUT", "dist/plugins"),
        dir("AGENTHOST_TEST_PLUGINS_OUT", "dist/test-plugins"),
    ]
}

/// The checkout the test runs in: the nearest directory above the working directory (cargo
/// runs tests and benches in their package's) holding `scripts/build-plugins.sh`. Found at
/// run time, not baked in at compile time: a build directory shared by two checkouts may
/// reuse this crate's compiled copy from the other one.
pub fn repo_root() -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| {
            cwd.ancestors()
                .find(|d| d.join("scripts/build-plugins.sh").is_file())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The built component `{name}.wasm`: the first of [`plugin_dirs`] that has it, else where
/// an agent would be (so a caller's error names a real place).
pub fn built_plugin(name: &str) -> PathBuf {
    let dirs = plugin_dirs();
    let file = format!("{name}.wasm");
    dirs.iter()
        .map(|d| d.join(&file))
        .find(|p| p.exists())
        .unwrap_or_else(|| dirs[0].join(&file))
}

/// The bytes of [`built_plugin`]; panics saying how to build it when it is missing.
pub fn built_plugin_bytes(name: &str) -> Vec<u8> {
    let path = built_plugin(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; build the plugins first with scripts/build-plugins.sh",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_is_the_one_the_test_runs_in() {
        let here = std::env::current_dir().unwrap();
        assert!(
            here.starts_with(repo_root()),
            "{here:?} under {:?}",
            repo_root()
        );
        assert!(repo_root().join("scripts/build-plugins.sh").is_file());
    }

    #[test]
    fn a_missing_plugin_is_looked_for_among_the_agents() {
        let path = built_plugin("no-such-plugin-anywhere");
        assert!(path.ends_with("no-such-plugin-anywhere.wasm"), "{path:?}");
        assert!(path.starts_with(&plugin_dirs()[0]), "{path:?}");
    }
}
