//! Logging through the host: lines land in the host's structured log, tagged with the
//! plugin's name and version. (On wasm32-unknown-unknown `println!` goes nowhere.)

use crate::bindings::agenthost::plugin::log::{Level, log};

pub fn debug(message: &str) {
    log(Level::Debug, message);
}

pub fn info(message: &str) {
    log(Level::Info, message);
}

pub fn warn(message: &str) {
    log(Level::Warn, message);
}

pub fn error(message: &str) {
    log(Level::Error, message);
}
