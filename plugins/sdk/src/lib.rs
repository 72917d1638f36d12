//! The agenthost plugin SDK: the generated bindings for the `agenthost:plugin@0.1.0` world,
//! its types re-exported at the crate root, and thin helpers over the host imports so a
//! plugin reads as plain Rust.
//!
//! A plugin implements [`Guest`] on a unit struct and exports it:
//!
//! ```no_run
//! use agenthost_sdk::{self as sdk, Description, Guest, InboundMessage, Job, PluginError};
//!
//! struct Hello;
//!
//! impl Guest for Hello {
//!     fn describe() -> Description {
//!         Description::new("hello", env!("CARGO_PKG_VERSION"), "Says hello back")
//!     }
//!     fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
//!         sdk::sms::send(&message.from, "hello");
//!         Ok(())
//!     }
//!     fn handle_job(_job: Job) -> Result<(), PluginError> {
//!         Ok(())
//!     }
//! }
//!
//! agenthost_sdk::export_plugin!(Hello);
//! ```
//!
//! Every effect (SMS, alert, job, SLA item, state write) is buffered by the host and
//! committed only if the handler returns `Ok`, so returning an error is always safe.

pub mod compose;
pub mod config;
mod effects;
mod error;
pub mod guard;
pub mod hours;
pub mod lang;
pub mod llm;
pub mod log;
pub mod read;
pub mod reply;
pub mod state;
pub mod text;
pub mod time;
pub mod when;
pub mod words;

/// Everything `wit-bindgen` generates for the world. Plugins rarely need it directly: the
/// crate root re-exports the types and the modules below wrap the imports.
// The generated canonical-ABI shims take one parameter per flattened value.
#[allow(clippy::too_many_arguments)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../../wit/plugin-0.1.0",
        // One exported macro, named for what it does, that plugin crates call through
        // this crate; its expansion finds the bindings here rather than in the plugin.
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "agenthost_sdk::bindings",
    });
}

pub use bindings::agenthost::plugin::effects::Severity;
pub use bindings::agenthost::plugin::types::{
    CronJob, Description, Direction, HistoryEntry, InboundMessage, Job, Limits, PluginError,
};
pub use bindings::{Guest, export_plugin};
pub use effects::{alert, jobs, sla, sms};
pub use error::{error, retryable};

impl Description {
    /// A description with no cron jobs and the host's default limits; use struct-update
    /// syntax (`Description { cron_jobs, ..Description::new(..) }`) to add either.
    pub fn new(name: &str, version: &str, summary: &str) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            summary: summary.into(),
            cron_jobs: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// Every limit `None`: the host applies its own defaults.
impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel: None,
            memory_bytes: None,
            wall_clock_ms: None,
            max_concurrency: None,
            max_attempts: None,
        }
    }
}

/// The host's clock, the only one a plugin should trust (tests run the host on a fake one).
pub mod clock {
    /// Unix epoch milliseconds as the host sees them.
    pub fn now_ms() -> u64 {
        crate::bindings::agenthost::plugin::clock::now_ms()
    }
}
