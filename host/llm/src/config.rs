//! The gateway's typed configuration: providers (key, base URL, model, prices), fallback
//! chains, gate sizes, retry and breaker tuning, daily token budgets. Parsed once from a
//! variable lookup; every variable read is declared in [`VARS`].

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Default Anthropic API origin.
pub const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// Default OpenAI API origin.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com";
/// Default Gemini API origin.
pub const DEFAULT_GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com";
/// Default models: small, fast, cheap — SMS replies are short.
pub const DEFAULT_ANTHROPIC_MODEL: &str = "claude-haiku-4-5";
pub const DEFAULT_OPENAI_MODEL: &str = "gpt-4o-mini";
pub const DEFAULT_GEMINI_MODEL: &str = "gemini-2.5-flash";
/// Default fallback order over the configured providers.
pub const DEFAULT_CHAIN: &str = "anthropic,gemini,openai";
/// In-flight requests per (provider, model) unless configured.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// A gate larger than this is a typo, not a plan.
pub const MAX_CONCURRENCY: usize = 1024;
/// Retries per provider (after the first attempt) on 429/5xx/timeouts.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// More retries than this only burns the invocation's deadline on one provider.
pub const MAX_RETRIES_LIMIT: u32 = 10;
/// The ceiling of the first retry's jitter window.
pub const DEFAULT_BACKOFF_BASE_MS: u64 = 250;
/// The largest jitter window any retry gets.
pub const DEFAULT_BACKOFF_CAP_MS: u64 = 4_000;
/// Consecutive failures that open a provider's breaker.
pub const DEFAULT_BREAKER_FAILURES: u32 = 5;
/// How long an open breaker skips its provider before letting one probe through.
pub const DEFAULT_BREAKER_COOLDOWN_SECS: u64 = 30;
/// Tokens (input + output) per plugin per UTC day unless configured; 0 = unlimited.
pub const DEFAULT_DAILY_TOKENS: u64 = 1_000_000;

pub use agenthost_core::{ConfigError, Var};

/// Every variable [`LlmConfig::from_lookup`] reads.
#[rustfmt::skip]
pub const VARS: &[Var] = &[
    Var { name: "ANTHROPIC_API_KEY", secret: true, help: "Anthropic API key (unset: provider disabled)" },
    Var { name: "ANTHROPIC_BASE_URL", secret: false, help: "Anthropic API origin (default https://api.anthropic.com)" },
    Var { name: "ANTHROPIC_MODEL", secret: false, help: "Anthropic model (default claude-haiku-4-5)" },
    Var { name: "ANTHROPIC_PRICE_INPUT_USD_PER_MTOK", secret: false, help: "Anthropic input price, USD per 1M tokens (default 1.0)" },
    Var { name: "ANTHROPIC_PRICE_OUTPUT_USD_PER_MTOK", secret: false, help: "Anthropic output price, USD per 1M tokens (default 5.0)" },
    Var { name: "OPENAI_API_KEY", secret: true, help: "OpenAI (or compatible) API key (unset: provider disabled)" },
    Var { name: "OPENAI_BASE_URL", secret: false, help: "OpenAI-compatible API origin, without /v1 (default https://api.openai.com)" },
    Var { name: "OPENAI_MODEL", secret: false, help: "OpenAI model (default gpt-4o-mini)" },
    Var { name: "OPENAI_PRICE_INPUT_USD_PER_MTOK", secret: false, help: "OpenAI input price, USD per 1M tokens (default 0.15)" },
    Var { name: "OPENAI_PRICE_OUTPUT_USD_PER_MTOK", secret: false, help: "OpenAI output price, USD per 1M tokens (default 0.60)" },
    Var { name: "GOOGLE_API_KEY", secret: true, help: "Gemini API key (unset: provider disabled)" },
    Var { name: "GEMINI_BASE_URL", secret: false, help: "Gemini API origin (default https://generativelanguage.googleapis.com)" },
    Var { name: "GEMINI_MODEL", secret: false, help: "Gemini model (default gemini-2.5-flash)" },
    Var { name: "GEMINI_PRICE_INPUT_USD_PER_MTOK", secret: false, help: "Gemini input price, USD per 1M tokens (default 0.30)" },
    Var { name: "GEMINI_PRICE_OUTPUT_USD_PER_MTOK", secret: false, help: "Gemini output price, USD per 1M tokens (default 2.50)" },
    Var { name: "AGENTHOST_LLM_CHAIN", secret: false, help: "default fallback order, comma list of anthropic,gemini,openai; unconfigured providers are skipped (default anthropic,gemini,openai)" },
    Var { name: "AGENTHOST_LLM_PLUGIN_CHAINS", secret: false, help: "per-plugin fallback order: plugin:provider,provider;plugin:provider (default none)" },
    Var { name: "AGENTHOST_LLM_CONCURRENCY", secret: false, help: "in-flight requests per provider and model (default 8)" },
    Var { name: "AGENTHOST_LLM_MAX_RETRIES", secret: false, help: "retries per provider on 429/5xx/timeouts before failing over (default 2)" },
    Var { name: "AGENTHOST_LLM_BACKOFF_BASE_MS", secret: false, help: "first retry's jitter window in ms, doubling per retry (default 250)" },
    Var { name: "AGENTHOST_LLM_BACKOFF_CAP_MS", secret: false, help: "largest retry jitter window in ms (default 4000)" },
    Var { name: "AGENTHOST_LLM_BREAKER_FAILURES", secret: false, help: "consecutive failures that open a provider's circuit breaker (default 5)" },
    Var { name: "AGENTHOST_LLM_BREAKER_COOLDOWN_SECS", secret: false, help: "seconds an open breaker waits before one probe call (default 30)" },
    Var { name: "AGENTHOST_LLM_DAILY_TOKENS", secret: false, help: "tokens per plugin per UTC day, 0 = unlimited (default 1000000)" },
    Var { name: "AGENTHOST_LLM_PLUGIN_DAILY_TOKENS", secret: false, help: "per-plugin daily token budgets: plugin:N;plugin:N (default none)" },
];

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// An LLM provider the gateway speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProviderKind {
    /// The Anthropic Messages API.
    Anthropic,
    /// OpenAI chat completions (or any server speaking them).
    OpenAi,
    /// Google's Gemini `generateContent`.
    Gemini,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 3] = [Self::Anthropic, Self::OpenAi, Self::Gemini];

    /// The name used in config, metrics and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::OpenAi => "openai",
            Self::Gemini => "gemini",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of `anthropic`, `openai`, `gemini`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown LLM provider {0:?} (expected anthropic, openai or gemini)")]
pub struct UnknownProvider(pub String);

impl FromStr for ProviderKind {
    type Err = UnknownProvider;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownProvider(s.to_owned()))
    }
}

/// An API key: a [`agenthost_core::Secret`] (`Debug` and `Display` never show it).
pub type ApiKey = agenthost_core::Secret;

/// Prices for cost accounting. Note 1 USD per 1M tokens is exactly 1 micro-dollar per
/// token, so cost in micro-dollars = tokens × price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input_usd_per_mtok: f64,
    pub output_usd_per_mtok: f64,
}

impl Price {
    /// The cost of one call in micro-dollars, rounded to the nearest.
    pub fn cost_micro_usd(&self, input_tokens: u64, output_tokens: u64) -> u64 {
        let cost = input_tokens as f64 * self.input_usd_per_mtok
            + output_tokens as f64 * self.output_usd_per_mtok;
        cost.round() as u64
    }
}

/// One configured provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// Scheme and host (and optional path prefix), no trailing slash.
    pub base_url: String,
    pub api_key: ApiKey,
    pub model: String,
    pub price: Price,
}

/// The whole gateway configuration. `Default` is "no provider configured".
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// Only providers with a key are present.
    pub providers: BTreeMap<ProviderKind, ProviderConfig>,
    /// Fallback order for plugins without their own chain.
    pub default_chain: Vec<ProviderKind>,
    /// Per-plugin fallback order.
    pub plugin_chains: BTreeMap<String, Vec<ProviderKind>>,
    /// Permits per (provider, model) gate.
    pub concurrency: usize,
    /// Retries per provider after the first attempt.
    pub max_retries: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Consecutive failures that open a breaker.
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    /// Tokens per plugin per UTC day; 0 = unlimited.
    pub daily_tokens: u64,
    pub plugin_daily_tokens: BTreeMap<String, u64>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            providers: BTreeMap::new(),
            default_chain: parse_chain(DEFAULT_CHAIN).expect("default chain is valid"),
            plugin_chains: BTreeMap::new(),
            concurrency: DEFAULT_CONCURRENCY,
            max_retries: DEFAULT_MAX_RETRIES,
            backoff_base: Duration::from_millis(DEFAULT_BACKOFF_BASE_MS),
            backoff_cap: Duration::from_millis(DEFAULT_BACKOFF_CAP_MS),
            breaker_failures: DEFAULT_BREAKER_FAILURES,
            breaker_cooldown: Duration::from_secs(DEFAULT_BREAKER_COOLDOWN_SECS),
            daily_tokens: DEFAULT_DAILY_TOKENS,
            plugin_daily_tokens: BTreeMap::new(),
        }
    }
}

struct ProviderVars {
    kind: ProviderKind,
    key: &'static str,
    base_url: &'static str,
    model: &'static str,
    price_in: &'static str,
    price_out: &'static str,
    default_base_url: &'static str,
    default_model: &'static str,
    default_price: Price,
}

const PROVIDER_VARS: [ProviderVars; 3] = [
    ProviderVars {
        kind: ProviderKind::Anthropic,
        key: "ANTHROPIC_API_KEY",
        base_url: "ANTHROPIC_BASE_URL",
        model: "ANTHROPIC_MODEL",
        price_in: "ANTHROPIC_PRICE_INPUT_USD_PER_MTOK",
        price_out: "ANTHROPIC_PRICE_OUTPUT_USD_PER_MTOK",
        default_base_url: DEFAULT_ANTHROPIC_BASE_URL,
        default_model: DEFAULT_ANTHROPIC_MODEL,
        default_price: Price {
            input_usd_per_mtok: 1.0,
            output_usd_per_mtok: 5.0,
        },
    },
    ProviderVars {
        kind: ProviderKind::OpenAi,
        key: "OPENAI_API_KEY",
        base_url: "OPENAI_BASE_URL",
        model: "OPENAI_MODEL",
        price_in: "OPENAI_PRICE_INPUT_USD_PER_MTOK",
        price_out: "OPENAI_PRICE_OUTPUT_USD_PER_MTOK",
        default_base_url: DEFAULT_OPENAI_BASE_URL,
        default_model: DEFAULT_OPENAI_MODEL,
        default_price: Price {
            input_usd_per_mtok: 0.15,
            output_usd_per_mtok: 0.60,
        },
    },
    ProviderVars {
        kind: ProviderKind::Gemini,
        key: "GOOGLE_API_KEY",
        base_url: "GEMINI_BASE_URL",
        model: "GEMINI_MODEL",
        price_in: "GEMINI_PRICE_INPUT_USD_PER_MTOK",
        price_out: "GEMINI_PRICE_OUTPUT_USD_PER_MTOK",
        default_base_url: DEFAULT_GEMINI_BASE_URL,
        default_model: DEFAULT_GEMINI_MODEL,
        default_price: Price {
            input_usd_per_mtok: 0.30,
            output_usd_per_mtok: 2.50,
        },
    },
];

impl LlmConfig {
    /// Parses the configuration from a variable lookup (the binary passes the process
    /// environment). Empty values count as unset. Providers without a key are disabled
    /// and silently dropped from chains, so removing a key needs no chain edit; an
    /// unknown provider name in a chain is an error.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &'static str| {
            debug_assert!(VARS.iter().any(|v| v.name == k), "{k} is missing from VARS");
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let defaults = Self::default();

        let mut providers = BTreeMap::new();
        for pv in &PROVIDER_VARS {
            let Some(key) = get(pv.key) else { continue };
            let base_url = match get(pv.base_url) {
                Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                    v.trim_end_matches('/').to_owned()
                }
                Some(v) => {
                    return Err(err(
                        pv.base_url,
                        format!("{v:?} must start with http:// or https://"),
                    ));
                }
                None => pv.default_base_url.to_owned(),
            };
            let model = get(pv.model).unwrap_or_else(|| pv.default_model.to_owned());
            let price = Price {
                input_usd_per_mtok: parse_price(pv.price_in, get(pv.price_in))?
                    .unwrap_or(pv.default_price.input_usd_per_mtok),
                output_usd_per_mtok: parse_price(pv.price_out, get(pv.price_out))?
                    .unwrap_or(pv.default_price.output_usd_per_mtok),
            };
            providers.insert(
                pv.kind,
                ProviderConfig {
                    base_url,
                    api_key: ApiKey::new(key),
                    model,
                    price,
                },
            );
        }

        let configured = |chain: Vec<ProviderKind>| -> Vec<ProviderKind> {
            chain
                .into_iter()
                .filter(|k| providers.contains_key(k))
                .collect()
        };
        let default_chain = match get("AGENTHOST_LLM_CHAIN") {
            Some(v) => parse_chain(&v).map_err(|m| err("AGENTHOST_LLM_CHAIN", m))?,
            None => defaults.default_chain,
        };
        let default_chain = configured(default_chain);
        let mut plugin_chains = BTreeMap::new();
        if let Some(v) = get("AGENTHOST_LLM_PLUGIN_CHAINS") {
            for (plugin, chain) in parse_plugin_map("AGENTHOST_LLM_PLUGIN_CHAINS", &v)? {
                let chain = parse_chain(chain).map_err(|m| {
                    err(
                        "AGENTHOST_LLM_PLUGIN_CHAINS",
                        format!("plugin {plugin:?}: {m}"),
                    )
                })?;
                plugin_chains.insert(plugin, configured(chain));
            }
        }

        let concurrency = parse_num(
            "AGENTHOST_LLM_CONCURRENCY",
            get("AGENTHOST_LLM_CONCURRENCY"),
        )?
        .unwrap_or(DEFAULT_CONCURRENCY as u64);
        if !(1..=MAX_CONCURRENCY as u64).contains(&concurrency) {
            return Err(err(
                "AGENTHOST_LLM_CONCURRENCY",
                format!("{concurrency} is outside 1..={MAX_CONCURRENCY}"),
            ));
        }
        let max_retries = parse_num(
            "AGENTHOST_LLM_MAX_RETRIES",
            get("AGENTHOST_LLM_MAX_RETRIES"),
        )?
        .unwrap_or(DEFAULT_MAX_RETRIES.into());
        if max_retries > MAX_RETRIES_LIMIT.into() {
            return Err(err(
                "AGENTHOST_LLM_MAX_RETRIES",
                format!("{max_retries} is more than {MAX_RETRIES_LIMIT}"),
            ));
        }
        let backoff_base_ms = parse_num(
            "AGENTHOST_LLM_BACKOFF_BASE_MS",
            get("AGENTHOST_LLM_BACKOFF_BASE_MS"),
        )?
        .unwrap_or(DEFAULT_BACKOFF_BASE_MS);
        let backoff_cap_ms = parse_num(
            "AGENTHOST_LLM_BACKOFF_CAP_MS",
            get("AGENTHOST_LLM_BACKOFF_CAP_MS"),
        )?
        .unwrap_or(DEFAULT_BACKOFF_CAP_MS);
        if backoff_cap_ms < backoff_base_ms {
            return Err(err(
                "AGENTHOST_LLM_BACKOFF_CAP_MS",
                format!(
                    "{backoff_cap_ms} is below AGENTHOST_LLM_BACKOFF_BASE_MS ({backoff_base_ms})"
                ),
            ));
        }
        let breaker_failures = parse_num(
            "AGENTHOST_LLM_BREAKER_FAILURES",
            get("AGENTHOST_LLM_BREAKER_FAILURES"),
        )?
        .unwrap_or(DEFAULT_BREAKER_FAILURES.into());
        if breaker_failures == 0 || breaker_failures > u32::MAX.into() {
            return Err(err(
                "AGENTHOST_LLM_BREAKER_FAILURES",
                format!("{breaker_failures} must be at least 1"),
            ));
        }
        let breaker_cooldown_secs = parse_num(
            "AGENTHOST_LLM_BREAKER_COOLDOWN_SECS",
            get("AGENTHOST_LLM_BREAKER_COOLDOWN_SECS"),
        )?
        .unwrap_or(DEFAULT_BREAKER_COOLDOWN_SECS);
        let daily_tokens = parse_num(
            "AGENTHOST_LLM_DAILY_TOKENS",
            get("AGENTHOST_LLM_DAILY_TOKENS"),
        )?
        .unwrap_or(DEFAULT_DAILY_TOKENS);
        let mut plugin_daily_tokens = BTreeMap::new();
        if let Some(v) = get("AGENTHOST_LLM_PLUGIN_DAILY_TOKENS") {
            for (plugin, n) in parse_plugin_map("AGENTHOST_LLM_PLUGIN_DAILY_TOKENS", &v)? {
                let n: u64 = n.parse().map_err(|_| {
                    err(
                        "AGENTHOST_LLM_PLUGIN_DAILY_TOKENS",
                        format!("plugin {plugin:?}: {n:?} is not a whole number of tokens"),
                    )
                })?;
                plugin_daily_tokens.insert(plugin, n);
            }
        }

        Ok(Self {
            providers,
            default_chain,
            plugin_chains,
            concurrency: concurrency as usize,
            max_retries: max_retries as u32,
            backoff_base: Duration::from_millis(backoff_base_ms),
            backoff_cap: Duration::from_millis(backoff_cap_ms),
            breaker_failures: breaker_failures as u32,
            breaker_cooldown: Duration::from_secs(breaker_cooldown_secs),
            daily_tokens,
            plugin_daily_tokens,
        })
    }

    /// The fallback order for `plugin`, restricted to configured providers.
    pub fn chain_for(&self, plugin: &str) -> Vec<ProviderKind> {
        self.plugin_chains
            .get(plugin)
            .unwrap_or(&self.default_chain)
            .iter()
            .copied()
            .filter(|k| self.providers.contains_key(k))
            .collect()
    }

    /// The daily token budget of `plugin`; 0 = unlimited.
    pub fn daily_tokens_for(&self, plugin: &str) -> u64 {
        self.plugin_daily_tokens
            .get(plugin)
            .copied()
            .unwrap_or(self.daily_tokens)
    }
}

/// `"anthropic, gemini"` → kinds in order; unknown names and repeats are errors.
fn parse_chain(s: &str) -> Result<Vec<ProviderKind>, String> {
    let mut chain = Vec::new();
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let kind: ProviderKind = name.parse().map_err(|e: UnknownProvider| e.to_string())?;
        if chain.contains(&kind) {
            return Err(format!("provider {name:?} is listed twice"));
        }
        chain.push(kind);
    }
    Ok(chain)
}

/// `"a:x;b:y"` → `[("a", "x"), ("b", "y")]`; empty entries are ignored.
fn parse_plugin_map<'a>(
    var: &'static str,
    s: &'a str,
) -> Result<Vec<(String, &'a str)>, ConfigError> {
    let mut out: Vec<(String, &str)> = Vec::new();
    for entry in s.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((plugin, value)) = entry.split_once(':') else {
            return Err(err(var, format!("entry {entry:?} is not plugin:value")));
        };
        let plugin = plugin.trim();
        if plugin.is_empty() {
            return Err(err(var, format!("entry {entry:?} names no plugin")));
        }
        if out.iter().any(|(p, _)| p == plugin) {
            return Err(err(var, format!("plugin {plugin:?} is listed twice")));
        }
        out.push((plugin.to_owned(), value.trim()));
    }
    Ok(out)
}

fn parse_num(var: &'static str, v: Option<String>) -> Result<Option<u64>, ConfigError> {
    v.map(|v| {
        v.parse::<u64>()
            .map_err(|_| err(var, format!("{v:?} is not a whole number")))
    })
    .transpose()
}

fn parse_price(var: &'static str, v: Option<String>) -> Result<Option<f64>, ConfigError> {
    v.map(|v| match v.parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
        _ => Err(err(
            var,
            format!("{v:?} is not a non-negative price in USD per 1M tokens"),
        )),
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<LlmConfig, ConfigError> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        LlmConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn nothing_set_means_no_provider() {
        let c = parse(&[]).unwrap();
        assert!(c.providers.is_empty());
        assert!(c.default_chain.is_empty());
        assert!(c.chain_for("any").is_empty());
        assert_eq!(c.daily_tokens_for("any"), DEFAULT_DAILY_TOKENS);
    }

    #[test]
    fn chains_keep_order_and_drop_unconfigured_providers() {
        let c = parse(&[
            ("ANTHROPIC_API_KEY", "a"),
            ("OPENAI_API_KEY", "o"),
            ("AGENTHOST_LLM_CHAIN", "openai, gemini ,anthropic"),
            (
                "AGENTHOST_LLM_PLUGIN_CHAINS",
                "landlord-rep:anthropic,gemini; locator:openai",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.chain_for("x"),
            [ProviderKind::OpenAi, ProviderKind::Anthropic]
        );
        assert_eq!(c.chain_for("landlord-rep"), [ProviderKind::Anthropic]);
        assert_eq!(c.chain_for("locator"), [ProviderKind::OpenAi]);
        let a = &c.providers[&ProviderKind::Anthropic];
        assert_eq!(a.base_url, DEFAULT_ANTHROPIC_BASE_URL);
        assert_eq!(a.model, DEFAULT_ANTHROPIC_MODEL);
    }

    #[test]
    fn invalid_values_name_their_variable() {
        let cases: &[(&str, &str)] = &[
            ("AGENTHOST_LLM_CHAIN", "anthropic,bard"),
            ("AGENTHOST_LLM_CHAIN", "openai,openai"),
            ("AGENTHOST_LLM_PLUGIN_CHAINS", "locator"),
            ("AGENTHOST_LLM_CONCURRENCY", "0"),
            ("AGENTHOST_LLM_MAX_RETRIES", "many"),
            ("AGENTHOST_LLM_BREAKER_FAILURES", "0"),
            ("AGENTHOST_LLM_PLUGIN_DAILY_TOKENS", "locator:lots"),
            ("ANTHROPIC_BASE_URL", "api.anthropic.com"),
            ("ANTHROPIC_PRICE_INPUT_USD_PER_MTOK", "-1"),
        ];
        for (var, value) in cases {
            let e = parse(&[("ANTHROPIC_API_KEY", "k"), (var, value)]).unwrap_err();
            assert_eq!(e.var, *var, "{value}: {e}");
        }
    }

    #[test]
    fn overrides_are_read() {
        let c = parse(&[
            ("GOOGLE_API_KEY", "g"),
            ("GEMINI_BASE_URL", "http://127.0.0.1:9/"),
            ("GEMINI_MODEL", "gemini-x"),
            ("GEMINI_PRICE_OUTPUT_USD_PER_MTOK", "3"),
            ("AGENTHOST_LLM_DAILY_TOKENS", "500"),
            ("AGENTHOST_LLM_PLUGIN_DAILY_TOKENS", "locator:0"),
        ])
        .unwrap();
        let g = &c.providers[&ProviderKind::Gemini];
        assert_eq!(g.base_url, "http://127.0.0.1:9");
        assert_eq!(g.model, "gemini-x");
        assert_eq!(g.price.output_usd_per_mtok, 3.0);
        assert_eq!(c.daily_tokens_for("x"), 500);
        assert_eq!(c.daily_tokens_for("locator"), 0);
    }

    #[test]
    fn cost_is_tokens_times_price_in_micro_dollars() {
        let p = Price {
            input_usd_per_mtok: 3.0,
            output_usd_per_mtok: 15.0,
        };
        assert_eq!(p.cost_micro_usd(1_000, 100), 4_500);
    }

    #[test]
    fn debug_never_shows_keys() {
        let c = parse(&[("ANTHROPIC_API_KEY", "sk-ant-secret-123")]).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("sk-ant-secret-123"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
