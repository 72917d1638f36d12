//! The host's LLM gateway behind the plugins' `llm.complete` import: provider clients,
//! fallback chains, concurrency gates, retries, circuit breakers, deadlines, token and
//! cost accounting, daily budgets.
//!
//! # Layout
//! - `config` — [`LlmConfig`], parsed from variables listed in [`VARS`]; keys redacted.
//! - `provider` — one HTTP attempt and its classification; `anthropic`, `openai`,
//!   `gemini` each own one wire format.
//! - `breaker` — the per-provider circuit breaker on an injected clock; the gateway raises
//!   `dependency_down` (`llm:<provider>`) when one opens and `dependency_restored` when it
//!   closes, through the [`AlertSink`].
//! - `accounting` — counters, daily budgets, the [`AlertSink`] trait.
//! - `gateway` — [`Gateway`], which composes the above and implements
//!   [`agenthost_runtime::LlmGateway`].
//! - `metrics` — Prometheus text rendering of [`LlmSnapshot`].
//!
//! # Wiring
//! ```ignore
//! let config = LlmConfig::from_lookup(|k| std::env::var(k).ok())?;
//! let llm = Arc::new(Gateway::new(config, Arc::new(SystemClock), alerts)?);
//! // Capabilities { llm: llm.clone(), .. }; /metrics appends llm.render_prometheus().
//! ```

mod accounting;
mod breaker;
mod config;
mod gateway;
mod metrics;
mod provider;

pub use accounting::{
    AlertSink, BudgetSnapshot, Direction, LogAlerts, MS_PER_DAY, RequestResult, UsageSnapshot,
};
pub use breaker::BreakerState;
pub use config::{
    ApiKey, ConfigError, LlmConfig, Price, ProviderConfig, ProviderKind, UnknownProvider, VARS, Var,
};
pub use config::{
    DEFAULT_ANTHROPIC_BASE_URL, DEFAULT_ANTHROPIC_MODEL, DEFAULT_BACKOFF_BASE_MS,
    DEFAULT_BACKOFF_CAP_MS, DEFAULT_BREAKER_COOLDOWN_SECS, DEFAULT_BREAKER_FAILURES, DEFAULT_CHAIN,
    DEFAULT_CONCURRENCY, DEFAULT_DAILY_TOKENS, DEFAULT_GEMINI_BASE_URL, DEFAULT_GEMINI_MODEL,
    DEFAULT_MAX_RETRIES, DEFAULT_OPENAI_BASE_URL, DEFAULT_OPENAI_MODEL,
};
pub use gateway::{Gateway, GatewayError, LlmSnapshot, NO_PROVIDER_MESSAGE, ProviderSnapshot};
