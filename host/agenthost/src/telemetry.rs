//! The tracing subscriber: human-readable text by default, one JSON object per line when
//! `AGENTHOST_LOG_FORMAT=json`. Logs go to stderr; stdout is for command output.

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// PostgreSQL's NOTICEs (e.g. "relation _sqlx_migrations already exists, skipping" at
/// every start) are not the operator's business unless asked for by name.
const QUIET: &str = "sqlx::postgres::notice=warn";

pub fn init(config: &Config) {
    let asked = &config.log_filter;
    let spec = if asked.contains("sqlx") {
        asked.clone()
    } else {
        format!("{asked},{QUIET}")
    };
    let filter = EnvFilter::try_new(&spec).unwrap_or_else(|e| {
        eprintln!("agenthost: AGENTHOST_LOG={asked:?} is not a valid filter ({e}); using info");
        EnvFilter::new(format!("info,{QUIET}"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}
