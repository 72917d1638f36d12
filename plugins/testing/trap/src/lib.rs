//! Test-only hostile plugin: both handlers execute the wasm `unreachable` instruction at
//! once, so the host sees a bare trap with nothing logged before it.

use agenthost_sdk::{Description, Guest, InboundMessage, Job, PluginError};

struct Trap;

fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    // Native builds exist only so `cargo check`/`clippy` cover the whole workspace.
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}

impl Guest for Trap {
    fn describe() -> Description {
        Description::new(
            "test-trap",
            env!("CARGO_PKG_VERSION"),
            "Traps on every event",
        )
    }

    fn handle_message(_: InboundMessage) -> Result<(), PluginError> {
        trap()
    }

    fn handle_job(_: Job) -> Result<(), PluginError> {
        trap()
    }
}

agenthost_sdk::export_plugin!(Trap);
