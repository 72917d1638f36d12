//! Test-only hostile plugin: both handlers panic. With `panic = "abort"` the guest traps;
//! on wasm32-unknown-unknown the message itself goes nowhere.

use agenthost_sdk::{Description, Guest, InboundMessage, Job, PluginError};

struct Panic;

impl Guest for Panic {
    fn describe() -> Description {
        Description::new(
            "test-panic",
            env!("CARGO_PKG_VERSION"),
            "Panics on every event",
        )
    }

    fn handle_message(_: InboundMessage) -> Result<(), PluginError> {
        panic!("deliberate panic")
    }

    fn handle_job(_: Job) -> Result<(), PluginError> {
        panic!("deliberate panic")
    }
}

agenthost_sdk::export_plugin!(Panic);
