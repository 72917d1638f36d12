//! Test-only hostile plugin: both handlers spin forever, so the host's fuel and
//! wall-clock (epoch) limits must end the invocation.

use agenthost_sdk::{Description, Guest, InboundMessage, Job, PluginError};
use core::hint::black_box;

struct Loop;

/// A loop the optimizer cannot delete: `black_box` hides that the counter is unused.
fn spin() -> ! {
    let mut i: u64 = 0;
    loop {
        i = black_box(i.wrapping_add(1));
    }
}

impl Guest for Loop {
    fn describe() -> Description {
        Description::new("test-loop", env!("CARGO_PKG_VERSION"), "Spins forever")
    }

    fn handle_message(_: InboundMessage) -> Result<(), PluginError> {
        spin()
    }

    fn handle_job(_: Job) -> Result<(), PluginError> {
        spin()
    }
}

agenthost_sdk::export_plugin!(Loop);
