//! Test-only plugin built for wasm32-wasip2: the same world as every plugin, but the
//! component also imports WASI 0.2. It writes to stdout and stderr (which the host should
//! route to its logs) and replies with what the sandbox let it see, e.g.
//! `env=0 fs=denied time=ok`, so the host's tests can assert the lockdown.

use agenthost_sdk::{self as sdk, Description, Guest, InboundMessage, Job, PluginError};
use std::time::{SystemTime, UNIX_EPOCH};

struct Wasip2Hello;

impl Guest for Wasip2Hello {
    fn describe() -> Description {
        Description::new(
            "test-wasip2",
            env!("CARGO_PKG_VERSION"),
            "Prints to stdio and reports what the WASI sandbox allows",
        )
    }

    fn handle_message(message: InboundMessage) -> Result<(), PluginError> {
        println!("wasip2 stdout: {}", message.body);
        eprintln!("wasip2 stderr");
        let env = std::env::vars().count();
        let fs = match std::fs::read_dir("/") {
            Ok(_) => "open",
            Err(_) => "denied",
        };
        let time = if SystemTime::now() > UNIX_EPOCH {
            "ok"
        } else {
            "bad"
        };
        sdk::sms::send(&message.from, &format!("env={env} fs={fs} time={time}"));
        Ok(())
    }

    fn handle_job(_: Job) -> Result<(), PluginError> {
        Ok(())
    }
}

agenthost_sdk::export_plugin!(Wasip2Hello);
