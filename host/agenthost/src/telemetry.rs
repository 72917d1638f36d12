//! The tracing subscriber: human-readable text by default, one JSON object per line when
//! `AGENTHOST_LOG_FORMAT=json`. Logs go to stderr; stdout is for command output.

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|e| {
        eprintln!(
            "agenthost: AGENTHOST_LOG={:?} is not a valid filter ({e}); using info",
            config.log_filter
        );
        EnvFilter::new("info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}
