//! The one [`AlertChannel`] trait, the [`ChannelRegistry`] of channel kinds (a new kind is
//! one `register` call, no branch in shared code), and the [`Router`]: named channel
//! instances plus the kind → channels routes from configuration.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::alert::Alert;
use crate::config::{AlertConfig, CHANNELS_VAR, ChannelSpec, ConfigError};

/// Why a delivery failed, and whether trying again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// Rate limited, the service is down, or the network failed: retry, no sooner than
    /// `retry_after` when the service named a wait.
    #[error("transient: {message}")]
    Transient {
        retry_after: Option<Duration>,
        message: String,
    },
    /// The request itself is wrong (bad channel id, revoked token): retrying won't help.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// Somewhere an alert can be delivered.
#[async_trait::async_trait]
pub trait AlertChannel: Send + Sync + 'static {
    async fn send(&self, alert: &Alert) -> Result<(), ChannelError>;
}

/// Builds a channel instance of one kind from its spec.
pub type ChannelFactory =
    Box<dyn Fn(&ChannelSpec) -> Result<Arc<dyn AlertChannel>, ConfigError> + Send + Sync>;

/// Channel kinds by name.
#[derive(Default)]
pub struct ChannelRegistry {
    kinds: BTreeMap<String, ChannelFactory>,
}

impl ChannelRegistry {
    pub fn empty() -> ChannelRegistry {
        ChannelRegistry::default()
    }

    /// The built-in kinds: `discord`, `webhook` and `log`.
    pub fn builtin(config: &AlertConfig) -> Result<ChannelRegistry, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(crate::HTTP_TIMEOUT)
            .connect_timeout(crate::HTTP_CONNECT_TIMEOUT)
            .user_agent(concat!("agenthost-alerts/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ConfigError::new(CHANNELS_VAR, format!("cannot build HTTP client: {e}"))
            })?;
        let mut registry = ChannelRegistry::empty();
        let discord = config.discord.clone();
        let client = http.clone();
        registry.register("discord", move |spec| {
            crate::channels::discord::DiscordChannel::from_spec(client.clone(), &discord, spec)
                .map(|c| Arc::new(c) as Arc<dyn AlertChannel>)
        });
        registry.register("webhook", move |spec| {
            crate::channels::webhook::WebhookChannel::from_spec(http.clone(), spec)
                .map(|c| Arc::new(c) as Arc<dyn AlertChannel>)
        });
        registry.register("log", |spec| {
            Ok(Arc::new(crate::channels::log::LogChannel::new(&spec.name))
                as Arc<dyn AlertChannel>)
        });
        Ok(registry)
    }

    /// Adds (or replaces) a kind.
    pub fn register(
        &mut self,
        kind: &str,
        factory: impl Fn(&ChannelSpec) -> Result<Arc<dyn AlertChannel>, ConfigError>
        + Send
        + Sync
        + 'static,
    ) {
        self.kinds.insert(kind.to_owned(), Box::new(factory));
    }

    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.kinds.keys().map(String::as_str)
    }

    fn build(&self, spec: &ChannelSpec) -> Result<Arc<dyn AlertChannel>, ConfigError> {
        let Some(factory) = self.kinds.get(&spec.kind) else {
            let known: Vec<&str> = self.kinds().collect();
            return Err(ConfigError::new(
                CHANNELS_VAR,
                format!(
                    "channel `{}` has unknown kind `{}` (known: {})",
                    spec.name,
                    spec.kind,
                    known.join(", ")
                ),
            ));
        };
        factory(spec)
    }
}

/// Named channel instances and the routes from alert kind to them.
pub struct Router {
    /// Instances in configuration order; the dispatcher gives each its own lane.
    pub(crate) channels: Vec<(String, Arc<dyn AlertChannel>)>,
    routes: BTreeMap<String, Vec<usize>>,
    default: Vec<usize>,
}

impl Router {
    /// Builds every configured channel through `registry` and resolves the routes.
    pub fn build(config: &AlertConfig, registry: &ChannelRegistry) -> Result<Router, ConfigError> {
        let mut channels = Vec::with_capacity(config.channels.len());
        for spec in &config.channels {
            channels.push((spec.name.clone(), registry.build(spec)?));
        }
        let index = |name: &String| -> Result<usize, ConfigError> {
            channels.iter().position(|(n, _)| n == name).ok_or_else(|| {
                ConfigError::new(
                    crate::config::ROUTES_VAR,
                    format!("unknown channel `{name}`"),
                )
            })
        };
        let mut routes = BTreeMap::new();
        let mut default = Vec::new();
        for (kind, names) in &config.routes {
            let targets = names.iter().map(index).collect::<Result<Vec<_>, _>>()?;
            if kind == "*" {
                default = targets;
            } else {
                routes.insert(kind.clone(), targets);
            }
        }
        Ok(Router {
            channels,
            routes,
            default,
        })
    }

    /// The channel names an alert of `kind` goes to (the `*` route if `kind` has none).
    pub fn route(&self, kind: &str) -> Vec<&str> {
        self.targets(kind)
            .iter()
            .map(|&i| self.channels[i].0.as_str())
            .collect()
    }

    pub(crate) fn targets(&self, kind: &str) -> &[usize] {
        self.routes.get(kind).unwrap_or(&self.default)
    }

    pub fn channel_names(&self) -> impl Iterator<Item = &str> {
        self.channels.iter().map(|(n, _)| n.as_str())
    }
}
