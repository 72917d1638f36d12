//! Plugin deploys: every plugin is uploaded, activated, observed and rolled back on its
//! own, in seconds, while the host keeps serving.
//!
//! # Layout
//! - `deployer` — [`Deployer`]: upload (validate by loading: a component of our world
//!   that compiles and answers `describe` within its limits; stored content-addressed),
//!   activate, rollback, canary/shadow rollouts, and `sync`, which installs into the
//!   [`Registry`](agenthost_runtime::Registry) whatever the database says is
//!   active — on this replica at once, on others via PostgreSQL LISTEN/NOTIFY and a poll.
//! - `watch`    — [`OutcomeWatch`]: per-version outcome counts; a new version (or canary
//!   candidate) failing past its plugin's threshold is rolled back (aborted) by itself,
//!   with an alert naming both versions and the evidence.
//! - `signing`  — signed versions: ed25519 over the plugin name and the component's
//!   sha256, checked against the operator's trusted keys on upload and activation.
//! - `folder`   — the plugins folder: imported at start, and watched (`notify`) so a
//!   rebuilt component swaps live; a broken file is refused with an alert.
//!
//! Invariant: the database is the truth about what is active; the registry of each
//! replica converges on it. Every change goes through one storage transaction that also
//! writes the history entry (who, when, why).

mod deployer;
mod folder;
mod settings;
pub mod signing;
mod watch;

pub use deployer::{DeployConfig, DeployError, Deployer, Uploaded, resolve_version};
pub use folder::{import_dir, watch_dir};
pub use settings::{AutoRollback, DeploySettings, VARS};
pub use watch::{OutcomeWatch, RollbackPolicy};

/// The WIT world every uploaded component must implement, as recorded with each version.
pub const WIT_WORLD: &str = "agenthost:plugin/plugin@0.1.0";
