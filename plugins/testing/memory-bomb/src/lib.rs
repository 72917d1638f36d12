//! Test-only hostile plugin: both handlers allocate 1 MiB blocks forever and keep them, so
//! the host's memory limit must end the invocation.

use agenthost_sdk::{Description, Guest, InboundMessage, Job, PluginError};
use core::hint::black_box;

struct MemoryBomb;

/// Grows linear memory until the host refuses. The blocks are filled with ones (not
/// zeroes, which an allocator may get for free) and kept, so none of it can be elided.
fn explode() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(black_box(vec![1u8; 1 << 20]));
    }
}

impl Guest for MemoryBomb {
    fn describe() -> Description {
        Description::new(
            "test-memory-bomb",
            env!("CARGO_PKG_VERSION"),
            "Allocates without bound",
        )
    }

    fn handle_message(_: InboundMessage) -> Result<(), PluginError> {
        explode()
    }

    fn handle_job(_: Job) -> Result<(), PluginError> {
        explode()
    }
}

agenthost_sdk::export_plugin!(MemoryBomb);
