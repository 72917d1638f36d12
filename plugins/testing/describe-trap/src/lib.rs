//! Test-only hostile plugin: `describe()` traps, so the host must refuse the upload. The
//! handlers are harmless, so a host that wrongly loaded it would not fail for another reason.

use agenthost_sdk::{Description, Guest, InboundMessage, Job, PluginError};

struct DescribeTrap;

impl Guest for DescribeTrap {
    fn describe() -> Description {
        #[cfg(target_arch = "wasm32")]
        core::arch::wasm32::unreachable();
        // Native builds exist only so `cargo check`/`clippy` cover the whole workspace.
        #[cfg(not(target_arch = "wasm32"))]
        std::process::abort();
    }

    fn handle_message(_: InboundMessage) -> Result<(), PluginError> {
        Ok(())
    }

    fn handle_job(_: Job) -> Result<(), PluginError> {
        Ok(())
    }
}

agenthost_sdk::export_plugin!(DescribeTrap);
