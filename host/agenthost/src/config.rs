//! Typed configuration, parsed once from the environment at start-up (12-factor). Every
//! setting the host reads is declared in `VARS`; an invalid value stops start-up with an
//! error naming the variable, and secrets are redacted wherever config is printed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use agenthost_runtime::{Ceilings, Limits, PluginName, RequestedLimits};

/// One environment variable the host reads.
#[derive(Debug)]
pub struct Var {
    pub name: &'static str,
    pub secret: bool,
    pub help: &'static str,
}

/// Every variable the host reads, in one list: `check-config` prints them, the
/// deployment tests check the pod spec references each one.
pub const VARS: &[Var] = &[
    Var {
        name: "AGENTHOST_LISTEN",
        secret: false,
        help: "address the PUBLIC listener binds: only /twilio/* and /healthz (default 127.0.0.1:8080)",
    },
    Var {
        name: "AGENTHOST_ADMIN_LISTEN",
        secret: false,
        help: "address the INTERNAL listener binds: the admin API, /metrics, /readyz, /healthz; never expose it publicly (default 127.0.0.1:8081)",
    },
    Var {
        name: "AGENTHOST_PUBLIC_URL",
        secret: false,
        help: "public base URL Twilio signs webhooks with (default http://<listen>)",
    },
    Var {
        name: "AGENTHOST_ROLES",
        secret: false,
        help: "comma list of web,worker,scheduler (default all)",
    },
    Var {
        name: "AGENTHOST_DATA_DIR",
        secret: false,
        help: "writable directory for the SQLite file and the compile cache (default ./data)",
    },
    Var {
        name: "AGENTHOST_DATABASE_URL",
        secret: true,
        help: "postgres://... (unset: SQLite under the data dir)",
    },
    Var {
        name: "AGENTHOST_DATABASE_MAX_CONNECTIONS",
        secret: false,
        help: "connection pool size (default 8)",
    },
    Var {
        name: "AGENTHOST_QUEUE_URL",
        secret: true,
        help: "amqp://... for RabbitMQ (unset: the embedded queue in the database)",
    },
    Var {
        name: "AGENTHOST_QUEUE_PREFIX",
        secret: false,
        help: "RabbitMQ queue names become <prefix>.agenthost.<plugin>, e.g. per environment (default none)",
    },
    Var {
        name: "AGENTHOST_PLUGIN_DIR",
        secret: false,
        help: "folder of <name>.wasm plugin components loaded at start (default ./dist/plugins)",
    },
    Var {
        name: "AGENTHOST_PLUGIN_CONFIG_DIR",
        secret: false,
        help: "folder of <name>.json plugin config objects (default ./config/plugins)",
    },
    Var {
        name: "AGENTHOST_PLUGIN_LIMITS",
        secret: false,
        help: "per-plugin limits: name:fuel=N,memory_mb=N,timeout_ms=N,concurrency=N,attempts=N,field_kb=N,invocation_kb=N,sms_segments_day=N,jobs_day=N;...",
    },
    Var {
        name: "AGENTHOST_DEFAULT_FUEL",
        secret: false,
        help: "fuel per invocation for plugins that ask for none",
    },
    Var {
        name: "AGENTHOST_DEFAULT_MEMORY_MB",
        secret: false,
        help: "linear-memory cap per instance in MiB (default 64)",
    },
    Var {
        name: "AGENTHOST_DEFAULT_TIMEOUT_MS",
        secret: false,
        help: "wall-clock deadline per invocation (default 30000)",
    },
    Var {
        name: "AGENTHOST_DEFAULT_CONCURRENCY",
        secret: false,
        help: "invocations per plugin at once (default 16)",
    },
    Var {
        name: "AGENTHOST_DEFAULT_MAX_ATTEMPTS",
        secret: false,
        help: "deliveries before dead letter (default 5)",
    },
    Var {
        name: "AGENTHOST_MAX_INSTANCES",
        secret: false,
        help: "instance pool size across all plugins (default 128)",
    },
    Var {
        name: "AGENTHOST_WORKER_SLOTS",
        secret: false,
        help: "concurrent invocations per lane per replica (default 4)",
    },
    Var {
        name: "AGENTHOST_DRAIN_DELAY_MS",
        secret: false,
        help: "after SIGTERM, keep taking webhooks this long while readiness is 503 (default 2000)",
    },
    Var {
        name: "AGENTHOST_DRAIN_GRACE_MS",
        secret: false,
        help: "time in-flight invocations get to finish after SIGTERM (default 35000)",
    },
    Var {
        name: "AGENTHOST_OUTBOX_LEASE_MS",
        secret: false,
        help: "how long a claimed outbound SMS stays one sender's without a heartbeat (extended every 1.5 s while sending); a crashed sender's rows come back within it (default 6000, at least 5000)",
    },
    Var {
        name: "AGENTHOST_PLUGIN_WATCH",
        secret: false,
        help: "true/false: upload and activate plugin files that appear or change in the plugin dir (default true on SQLite, false on PostgreSQL)",
    },
    Var {
        name: "AGENTHOST_AUTO_ROLLBACK",
        secret: false,
        help: "automatic rollback thresholds: min=10,rate=0.5 for all, then ;name:min=N,rate=R per plugin, or name:off",
    },
    Var {
        name: "AGENTHOST_DRY_RUN_NUMBERS",
        secret: false,
        help: "comma list of sender numbers whose messages are processed but never sent and never alert (post-deploy checks)",
    },
    Var {
        name: "AGENTHOST_ROUTES",
        secret: false,
        help: "number=plugin pairs, comma separated, e.g. +15550001111=echo",
    },
    Var {
        name: "AGENTHOST_ADMIN_TOKEN",
        secret: true,
        help: "bearer token for /admin, named `admin` with every right (unset, with no AGENTHOST_ADMIN_TOKENS: admin API answers 503)",
    },
    Var {
        name: "AGENTHOST_ADMIN_TOKENS",
        secret: true,
        help: "named admin tokens with scopes, name:scope:token;... scope read|staff|deploy|admin, tokens of 16+ characters (every call is audited under the name)",
    },
    Var {
        name: "AGENTHOST_PLUGIN_TRUSTED_KEYS",
        secret: false,
        help: "keys that may sign plugin versions, id=<base64 ed25519 public key>,... (`agenthost plugin keygen` prints the entry)",
    },
    Var {
        name: "AGENTHOST_REQUIRE_SIGNED_PLUGINS",
        secret: false,
        help: "true: uploads and plugin-folder files must carry a signature by a trusted key (default false)",
    },
    Var {
        name: "TWILIO_ACCOUNT_SID",
        secret: false,
        help: "Twilio account SID (required by the web and worker roles)",
    },
    Var {
        name: "TWILIO_AUTH_TOKEN",
        secret: true,
        help: "Twilio auth token: webhook signatures and REST auth (required)",
    },
    Var {
        name: "AGENTHOST_TWILIO_API_BASE",
        secret: false,
        help: "Twilio REST base URL (default https://api.twilio.com)",
    },
    Var {
        name: "AGENTHOST_TWILIO_MESSAGING_SERVICE_SID",
        secret: false,
        help: "send through this messaging service instead of From",
    },
    Var {
        name: "AGENTHOST_SMS_SINK",
        secret: false,
        help: "twilio (default) or local: outbound texts are printed on the console and marked delivered-locally, never sent (a laptop without Twilio credentials)",
    },
    Var {
        name: "AGENTHOST_HANDOFF_TIMEOUT_SECS",
        secret: false,
        help: "how long a plugin's handoff request pauses the agent for a conversation when nobody releases it (default 14400, at least 60)",
    },
    Var {
        name: "AGENTHOST_CONSOLE_URL",
        secret: false,
        help: "the operator console's address for links in alerts (default http://<AGENTHOST_ADMIN_LISTEN>/admin/ui)",
    },
    Var {
        name: "AGENTHOST_LOG_FORMAT",
        secret: false,
        help: "text or json (default text)",
    },
    Var {
        name: "AGENTHOST_LOG",
        secret: false,
        help: "tracing filter, e.g. info,agenthost=debug (default info)",
    },
];

/// Every variable the host reads as (name, secret, help): the host's own `VARS` and
/// those of the capabilities that parse their own section (LLM gateway, scheduler,
/// alert delivery).
/// `AGENTHOST_*` variables read by the tools around the host rather than the host itself
/// (the CLI's target, the build and test scripts' folders).
const NOT_HOST_VARS: &[&str] = &[
    "AGENTHOST_ADMIN_URL",
    "AGENTHOST_PLUGINS_OUT",
    "AGENTHOST_TEST_PLUGINS_OUT",
    "AGENTHOST_PLUGINS_TARGET_DIR",
    "AGENTHOST_TEST_POSTGRES_URL",
    "AGENTHOST_BIN",
    "AGENTHOST_DEPLOY_TOOLS",
];

/// The `AGENTHOST_*` names among `names` that nothing reads, each as an error naming the
/// closest variable that exists.
pub fn unknown_vars(names: impl Iterator<Item = String>) -> Vec<ConfigError> {
    let known = all_vars();
    let mut unknown: Vec<String> = names
        .filter(|n| n.starts_with("AGENTHOST_"))
        .filter(|n| !known.iter().any(|(k, _, _)| k == n) && !NOT_HOST_VARS.contains(&n.as_str()))
        .collect();
    unknown.sort();
    unknown
        .into_iter()
        .map(|name| {
            let closest = known
                .iter()
                .map(|(k, _, _)| (strsim::levenshtein(k, &name), *k))
                .min()
                .filter(|(d, _)| *d <= 4)
                .map(|(_, k)| format!(" (did you mean {k}?)"))
                .unwrap_or_default();
            ConfigError {
                var: "AGENTHOST_*",
                message: format!(
                    "{name} is not a variable agenthost reads{closest}; `agenthost check-config` lists every one"
                ),
            }
        })
        .collect()
}

pub fn all_vars() -> Vec<(&'static str, bool, &'static str)> {
    VARS.iter()
        .map(|v| (v.name, v.secret, v.help))
        .chain(
            agenthost_llm::VARS
                .iter()
                .map(|v| (v.name, v.secret, v.help)),
        )
        .chain(
            agenthost_scheduler::VARS
                .iter()
                .map(|v| (v.name, v.secret, v.help)),
        )
        .chain(
            agenthost_alerts::VARS
                .iter()
                .map(|v| (v.name, v.secret, v.help)),
        )
        .chain(
            agenthost_pipeline::policy::VARS
                .iter()
                .map(|v| (v.name, v.secret, v.help)),
        )
        .collect()
}

/// A configuration error: which variable, what was wrong. Never contains a secret value.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// One admin token from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminTokenConfig {
    pub name: String,
    pub scope: agenthost_api::admin::Scope,
    pub secret: Secret,
}

/// `AGENTHOST_ADMIN_TOKEN` (named `admin`, scope admin) and `AGENTHOST_ADMIN_TOKENS`
/// (`name:scope:token;...`). Names and tokens are unique.
fn admin_tokens(
    single: Option<&str>,
    named: Option<&str>,
) -> Result<Vec<AdminTokenConfig>, ConfigError> {
    use agenthost_api::admin::Scope;
    const VAR: &str = "AGENTHOST_ADMIN_TOKENS";
    let mut out = Vec::new();
    if let Some(t) = single {
        out.push(AdminTokenConfig {
            name: "admin".into(),
            scope: Scope::Admin,
            secret: Secret(t.to_owned()),
        });
    }
    for (i, entry) in named
        .unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .enumerate()
    {
        // Never echo the entry: it holds a secret.
        let mut parts = entry.splitn(3, ':');
        let (Some(name), Some(scope), Some(token)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(err(VAR, format!("entry {} is not name:scope:token", i + 1)));
        };
        let (name, scope, token) = (name.trim(), scope.trim(), token.trim());
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(err(
                VAR,
                format!(
                    "entry {}: the name must be 1-64 letters, digits, '-', '_' or '.'",
                    i + 1
                ),
            ));
        }
        let scope = Scope::parse(scope).ok_or_else(|| {
            err(
                VAR,
                format!("token {name:?}: scope {scope:?} is not read, deploy or admin"),
            )
        })?;
        if token.chars().count() < 16 {
            return Err(err(
                VAR,
                format!("token {name:?} is shorter than 16 characters"),
            ));
        }
        if out.iter().any(|t: &AdminTokenConfig| t.name == name) {
            return Err(err(VAR, format!("token name {name:?} is used twice")));
        }
        if out.iter().any(|t| t.secret.expose() == token) {
            return Err(err(
                VAR,
                format!("token {name:?} has the same secret as another token"),
            ));
        }
        out.push(AdminTokenConfig {
            name: name.to_owned(),
            scope,
            secret: Secret(token.to_owned()),
        });
    }
    Ok(out)
}

/// A secret value: usable by the code, printed as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Roles {
    pub web: bool,
    pub worker: bool,
    pub scheduler: bool,
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.web, "web"),
            (self.worker, "worker"),
            (self.scheduler, "scheduler"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        f.write_str(&names.join(","))
    }
}

impl Roles {
    pub const ALL: Roles = Roles {
        web: true,
        worker: true,
        scheduler: true,
    };
}

#[derive(Debug, Clone)]
pub struct TwilioSettings {
    pub account_sid: Option<String>,
    pub auth_token: Option<Secret>,
    pub api_base: String,
    pub messaging_service_sid: Option<String>,
}

/// The host's whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The internal listener: admin API, metrics, readiness.
    pub admin_listen: SocketAddr,
    pub public_url: String,
    pub roles: Roles,
    pub data_dir: PathBuf,
    pub database_url: Option<Secret>,
    pub database_max_connections: u32,
    pub queue_url: Option<Secret>,
    pub queue_prefix: Option<String>,
    pub plugin_dir: PathBuf,
    pub plugin_config_dir: PathBuf,
    pub plugin_limits: BTreeMap<PluginName, RequestedLimits>,
    pub default_limits: Limits,
    pub ceilings: Ceilings,
    pub max_instances: u32,
    pub worker_slots: u32,
    pub drain_delay: Duration,
    pub drain_grace: Duration,
    pub outbox_lease: Duration,
    pub routes: Vec<(String, PluginName)>,
    /// Watch the plugin dir and swap changed plugins live.
    pub plugin_watch: bool,
    pub auto_rollback: AutoRollback,
    /// Senders whose traffic is processed but never sent (post-deploy verification).
    pub dry_run_numbers: Vec<String>,
    /// Every admin token, `AGENTHOST_ADMIN_TOKEN` first (as `admin`).
    pub admin_tokens: Vec<AdminTokenConfig>,
    /// Plugin signing: trusted keys and whether signatures are required.
    pub signing: agenthost_deploy::signing::SigningPolicy,
    pub twilio: TwilioSettings,
    pub log_format: LogFormat,
    pub log_filter: String,
    /// The LLM gateway's own section (providers, chains, gates, budgets).
    pub llm: agenthost_llm::LlmConfig,
    /// Scheduler and SLA ladder timing.
    pub scheduler: agenthost_scheduler::SchedulerConfig,
    /// Alert channels and routing from alert kind to channels.
    pub alerts: agenthost_alerts::AlertConfig,
    /// What every outbound text is checked against (quiet hours, caps, pace).
    pub send_policy: agenthost_pipeline::policy::SendPolicy,
    /// The host's own answers to STOP and HELP.
    pub host_texts: agenthost_pipeline::policy::HostTexts,
    /// Where outbound texts go: Twilio, or the local console sink.
    pub sms_sink: agenthost_pipeline::outbox::SmsSink,
    /// What a plugin's handoff request does.
    pub handoff: agenthost_pipeline::handoff::HandoffPolicy,
}

impl Config {
    /// Reads the process environment. An `AGENTHOST_*` variable the host does not read
    /// stops it, naming the variable and the closest one it does read: a typo must not
    /// fall back to a default silently.
    pub fn from_env() -> Result<Config, ConfigError> {
        if let Some(e) = unknown_vars(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()))
            .into_iter()
            .next()
        {
            return Err(e);
        }
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// Parses config from any lookup (tests pass a map). Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |k: &'static str| {
            debug_assert!(VARS.iter().any(|v| v.name == k), "{k} is missing from VARS");
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let listen: SocketAddr = match get("AGENTHOST_LISTEN") {
            Some(v) => v
                .parse()
                .map_err(|e| err("AGENTHOST_LISTEN", format!("{v:?} is not host:port ({e})")))?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let admin_listen: SocketAddr = match get("AGENTHOST_ADMIN_LISTEN") {
            Some(v) => v.parse().map_err(|e| {
                err(
                    "AGENTHOST_ADMIN_LISTEN",
                    format!("{v:?} is not host:port ({e})"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8081)),
        };
        if admin_listen.port() != 0 && admin_listen.port() == listen.port() {
            return Err(err(
                "AGENTHOST_ADMIN_LISTEN",
                format!(
                    "{admin_listen} uses the public listener's port (AGENTHOST_LISTEN={listen}); the admin listener must be separate"
                ),
            ));
        }
        let admin_tokens = admin_tokens(
            get("AGENTHOST_ADMIN_TOKEN").as_deref(),
            get("AGENTHOST_ADMIN_TOKENS").as_deref(),
        )?;
        let signing = agenthost_deploy::signing::SigningPolicy::parse(
            get("AGENTHOST_PLUGIN_TRUSTED_KEYS").as_deref(),
            match get("AGENTHOST_REQUIRE_SIGNED_PLUGINS").as_deref() {
                None | Some("false") | Some("0") | Some("no") => false,
                Some("true") | Some("1") | Some("yes") => true,
                Some(v) => {
                    return Err(err(
                        "AGENTHOST_REQUIRE_SIGNED_PLUGINS",
                        format!("{v:?} is not true or false"),
                    ));
                }
            },
        )
        .map_err(|e| {
            let var = if e.contains("required") {
                "AGENTHOST_REQUIRE_SIGNED_PLUGINS"
            } else {
                "AGENTHOST_PLUGIN_TRUSTED_KEYS"
            };
            err(var, e)
        })?;
        let public_url = match get("AGENTHOST_PUBLIC_URL") {
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                v.trim_end_matches('/').to_owned()
            }
            Some(v) => {
                return Err(err(
                    "AGENTHOST_PUBLIC_URL",
                    format!("{v:?} must start with http:// or https://"),
                ));
            }
            None => format!("http://{listen}"),
        };
        let roles = match get("AGENTHOST_ROLES") {
            Some(v) => parse_roles(&v).map_err(|m| err("AGENTHOST_ROLES", m))?,
            None => Roles::ALL,
        };
        let database_url = get("AGENTHOST_DATABASE_URL");
        if let Some(u) = &database_url
            && !(u.starts_with("postgres://")
                || u.starts_with("postgresql://")
                || u.starts_with("sqlite:"))
        {
            return Err(err(
                "AGENTHOST_DATABASE_URL",
                "must start with postgres://, postgresql:// or sqlite:",
            ));
        }
        let queue_url = get("AGENTHOST_QUEUE_URL");
        if let Some(u) = &queue_url
            && !(u.starts_with("amqp://") || u.starts_with("amqps://"))
        {
            return Err(err(
                "AGENTHOST_QUEUE_URL",
                "must start with amqp:// or amqps://",
            ));
        }
        let defaults = Limits::default();
        let default_limits = Limits {
            fuel: num(&get, "AGENTHOST_DEFAULT_FUEL", defaults.fuel, 1)?,
            memory_bytes: num(
                &get,
                "AGENTHOST_DEFAULT_MEMORY_MB",
                defaults.memory_bytes >> 20,
                1,
            )? << 20,
            wall_clock: Duration::from_millis(num(
                &get,
                "AGENTHOST_DEFAULT_TIMEOUT_MS",
                defaults.wall_clock.as_millis() as u64,
                1,
            )?),
            max_concurrency: num(
                &get,
                "AGENTHOST_DEFAULT_CONCURRENCY",
                u64::from(defaults.max_concurrency),
                1,
            )? as u32,
            max_attempts: num(
                &get,
                "AGENTHOST_DEFAULT_MAX_ATTEMPTS",
                u64::from(defaults.max_attempts),
                1,
            )? as u32,
            // Byte limits and daily budgets: per plugin through AGENTHOST_PLUGIN_LIMITS.
            ..defaults
        };
        let plugin_limits = match get("AGENTHOST_PLUGIN_LIMITS") {
            Some(v) => parse_plugin_limits(&v).map_err(|m| err("AGENTHOST_PLUGIN_LIMITS", m))?,
            None => BTreeMap::new(),
        };
        let routes = match get("AGENTHOST_ROUTES") {
            Some(v) => parse_routes(&v).map_err(|m| err("AGENTHOST_ROUTES", m))?,
            None => Vec::new(),
        };
        let plugin_watch = match get("AGENTHOST_PLUGIN_WATCH").as_deref() {
            None => database_url
                .as_deref()
                .is_none_or(|u| u.starts_with("sqlite:")),
            Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(other) => {
                return Err(err(
                    "AGENTHOST_PLUGIN_WATCH",
                    format!("{other:?} is not true or false"),
                ));
            }
        };
        let auto_rollback = match get("AGENTHOST_AUTO_ROLLBACK") {
            Some(v) => parse_auto_rollback(&v).map_err(|m| err("AGENTHOST_AUTO_ROLLBACK", m))?,
            None => AutoRollback::default(),
        };
        let dry_run_numbers = match get("AGENTHOST_DRY_RUN_NUMBERS") {
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| {
                    normalize_number(n).ok_or_else(|| {
                        err(
                            "AGENTHOST_DRY_RUN_NUMBERS",
                            format!("{n:?} is not an E.164 number"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let twilio_api_base =
            get("AGENTHOST_TWILIO_API_BASE").unwrap_or_else(|| "https://api.twilio.com".into());
        if !(twilio_api_base.starts_with("http://") || twilio_api_base.starts_with("https://")) {
            return Err(err(
                "AGENTHOST_TWILIO_API_BASE",
                "must start with http:// or https://",
            ));
        }
        let log_format = match get("AGENTHOST_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(err(
                    "AGENTHOST_LOG_FORMAT",
                    format!("{other:?} is not text or json"),
                ));
            }
        };
        let llm =
            agenthost_llm::LlmConfig::from_lookup(|k| lookup(k).filter(|v| !v.trim().is_empty()))
                .map_err(|e| err(e.var, e.message))?;
        let unset_if_blank = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let scheduler = agenthost_scheduler::SchedulerConfig::from_lookup(unset_if_blank)
            .map_err(|e| err(e.name, format!("{:?} {}", e.value, e.reason)))?;
        let alerts = agenthost_alerts::AlertConfig::from_lookup(unset_if_blank)
            .map_err(|e| err(e.var, e.message))?;
        // Channel kinds and routes are checked by building them, so an unknown kind or
        // a route to an undefined channel stops start-up here, not later in a role.
        agenthost_alerts::Dispatcher::from_config(&alerts).map_err(|e| err(e.var, e.message))?;
        let (send_policy, host_texts) =
            agenthost_pipeline::policy::SendPolicy::from_lookup(unset_if_blank)
                .map_err(|e| err(e.var, e.message))?;
        let sms_sink = match get("AGENTHOST_SMS_SINK").as_deref() {
            None | Some("twilio") => agenthost_pipeline::outbox::SmsSink::Twilio,
            Some("local") => agenthost_pipeline::outbox::SmsSink::Local,
            Some(other) => {
                return Err(err(
                    "AGENTHOST_SMS_SINK",
                    format!("{other:?} is not twilio or local"),
                ));
            }
        };
        let console_url = match get("AGENTHOST_CONSOLE_URL") {
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => v,
            Some(_) => {
                return Err(err(
                    "AGENTHOST_CONSOLE_URL",
                    "must start with http:// or https://",
                ));
            }
            None => format!("http://{admin_listen}/admin/ui"),
        };
        let handoff = agenthost_pipeline::handoff::HandoffPolicy {
            timeout: Duration::from_secs(num(
                &get,
                "AGENTHOST_HANDOFF_TIMEOUT_SECS",
                agenthost_pipeline::handoff::DEFAULT_HANDOFF_TIMEOUT.as_secs(),
                60,
            )?),
            console_url: Some(console_url),
        };
        Ok(Config {
            sms_sink,
            handoff,
            llm,
            scheduler,
            alerts,
            send_policy,
            host_texts,
            listen,
            admin_listen,
            public_url,
            roles,
            data_dir: get("AGENTHOST_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| "data".into()),
            database_url: database_url.map(Secret),
            database_max_connections: num(&get, "AGENTHOST_DATABASE_MAX_CONNECTIONS", 8, 1)? as u32,
            queue_url: queue_url.map(Secret),
            queue_prefix: get("AGENTHOST_QUEUE_PREFIX"),
            plugin_dir: get("AGENTHOST_PLUGIN_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| "dist/plugins".into()),
            plugin_config_dir: get("AGENTHOST_PLUGIN_CONFIG_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| "config/plugins".into()),
            plugin_limits,
            default_limits,
            ceilings: Ceilings::default(),
            max_instances: num(&get, "AGENTHOST_MAX_INSTANCES", 128, 1)? as u32,
            worker_slots: num(&get, "AGENTHOST_WORKER_SLOTS", 4, 1)? as u32,
            drain_delay: Duration::from_millis(num(&get, "AGENTHOST_DRAIN_DELAY_MS", 2_000, 0)?),
            drain_grace: Duration::from_millis(num(&get, "AGENTHOST_DRAIN_GRACE_MS", 35_000, 0)?),
            outbox_lease: Duration::from_millis(num(
                &get,
                "AGENTHOST_OUTBOX_LEASE_MS",
                6_000,
                5_000,
            )?),
            routes,
            plugin_watch,
            auto_rollback,
            dry_run_numbers,
            admin_tokens,
            signing,
            twilio: TwilioSettings {
                account_sid: get("TWILIO_ACCOUNT_SID"),
                auth_token: get("TWILIO_AUTH_TOKEN").map(Secret),
                api_base: twilio_api_base.trim_end_matches('/').to_owned(),
                messaging_service_sid: get("AGENTHOST_TWILIO_MESSAGING_SERVICE_SID"),
            },
            log_format,
            log_filter: get("AGENTHOST_LOG").unwrap_or_else(|| "info".into()),
        })
    }

    /// The Twilio credentials the web and worker roles cannot run without.
    pub fn require_twilio(&self) -> Result<(&str, &Secret), ConfigError> {
        let sid = self
            .twilio
            .account_sid
            .as_deref()
            .ok_or_else(|| err("TWILIO_ACCOUNT_SID", "required by the web and worker roles"))?;
        let token = self
            .twilio
            .auth_token
            .as_ref()
            .ok_or_else(|| err("TWILIO_AUTH_TOKEN", "required by the web and worker roles"))?;
        Ok((sid, token))
    }
}

fn num(
    get: &impl Fn(&'static str) -> Option<String>,
    var: &'static str,
    default: u64,
    min: u64,
) -> Result<u64, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => {
            let n: u64 = v
                .parse()
                .map_err(|_| err(var, format!("{v:?} is not a non-negative integer")))?;
            if n < min {
                return Err(err(var, format!("must be at least {min}")));
            }
            Ok(n)
        }
    }
}

fn parse_roles(v: &str) -> Result<Roles, String> {
    let mut roles = Roles::default();
    for r in v.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        match r {
            "web" => roles.web = true,
            "worker" => roles.worker = true,
            "scheduler" => roles.scheduler = true,
            "all" => roles = Roles::ALL,
            other => {
                return Err(format!(
                    "unknown role {other:?} (expected web, worker, scheduler)"
                ));
            }
        }
    }
    if roles == Roles::default() {
        return Err("names no role".into());
    }
    Ok(roles)
}

/// `+15550001111=echo,+15550002222=locator`
pub fn parse_routes(v: &str) -> Result<Vec<(String, PluginName)>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (number, plugin) = pair
                .split_once('=')
                .ok_or_else(|| format!("{pair:?} is not number=plugin"))?;
            let number = normalize_number(number.trim())
                .ok_or_else(|| format!("{number:?} is not an E.164 number"))?;
            Ok((number, plugin.trim().parse()?))
        })
        .collect()
}

/// E.164: `+` then 2..=15 digits.
pub fn normalize_number(n: &str) -> Option<String> {
    let digits = n.strip_prefix('+')?;
    (2..=15).contains(&digits.len()).then_some(())?;
    digits
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| n.to_owned())
}

/// Automatic-rollback thresholds: the default and per-plugin overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutoRollback {
    pub default: agenthost_deploy::RollbackPolicy,
    pub per_plugin: BTreeMap<PluginName, agenthost_deploy::RollbackPolicy>,
}

/// `min=10,rate=0.5;echo:min=5,rate=0.3;locator:off`
fn parse_auto_rollback(v: &str) -> Result<AutoRollback, String> {
    let mut out = AutoRollback::default();
    for entry in v.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, rest) = match entry.split_once(':') {
            Some((n, r)) => (Some(n.trim().parse::<PluginName>()?), r.trim()),
            None => (None, entry),
        };
        let mut policy = match &name {
            Some(_) => out.default,
            None => agenthost_deploy::RollbackPolicy::default(),
        };
        if rest == "off" {
            policy.min_invocations = u64::MAX;
        } else {
            for kv in rest.split(',').map(str::trim).filter(|kv| !kv.is_empty()) {
                let (k, val) = kv
                    .split_once('=')
                    .ok_or_else(|| format!("{kv:?} is not key=value"))?;
                match k.trim() {
                    "min" => {
                        policy.min_invocations = val
                            .trim()
                            .parse()
                            .ok()
                            .filter(|n| *n >= 1)
                            .ok_or_else(|| format!("min={val:?} is not an integer ≥ 1"))?;
                    }
                    "rate" => {
                        policy.failure_rate = val
                            .trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|r| *r > 0.0 && *r <= 1.0)
                            .ok_or_else(|| format!("rate={val:?} is not a number in (0, 1]"))?;
                    }
                    other => return Err(format!("unknown key {other:?} (min, rate, or off)")),
                }
            }
        }
        match name {
            Some(n) => {
                out.per_plugin.insert(n, policy);
            }
            None => out.default = policy,
        }
    }
    Ok(out)
}

/// `echo:fuel=1000000,memory_mb=16;locator:timeout_ms=5000`
fn parse_plugin_limits(v: &str) -> Result<BTreeMap<PluginName, RequestedLimits>, String> {
    let mut out = BTreeMap::new();
    for entry in v.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, rest) = entry
            .split_once(':')
            .ok_or_else(|| format!("{entry:?} is not name:key=value,..."))?;
        let name: PluginName = name.trim().parse()?;
        let mut limits = RequestedLimits::default();
        for kv in rest.split(',').map(str::trim).filter(|kv| !kv.is_empty()) {
            let (k, val) = kv
                .split_once('=')
                .ok_or_else(|| format!("{kv:?} is not key=value"))?;
            let n: u64 = val
                .trim()
                .parse()
                .map_err(|_| format!("{name}: {k}={val:?} is not a number"))?;
            match k.trim() {
                "fuel" => limits.fuel = Some(n),
                "memory_mb" => limits.memory_bytes = Some(n << 20),
                "timeout_ms" => limits.wall_clock_ms = Some(n.min(u64::from(u32::MAX)) as u32),
                "concurrency" => limits.max_concurrency = Some(n.min(u64::from(u32::MAX)) as u32),
                "attempts" => limits.max_attempts = Some(n.min(u64::from(u32::MAX)) as u32),
                "field_kb" => limits.field_bytes = Some(n.saturating_mul(1 << 10)),
                "invocation_kb" => limits.invocation_bytes = Some(n.saturating_mul(1 << 10)),
                "sms_segments_day" => limits.sms_segments_per_day = Some(n),
                "jobs_day" => limits.jobs_per_day = Some(n),
                other => {
                    return Err(format!(
                        "{name}: unknown limit {other:?} (fuel, memory_mb, timeout_ms, concurrency, attempts, field_kb, invocation_kb, sms_segments_day, jobs_day)"
                    ));
                }
            }
        }
        out.insert(name, limits);
    }
    Ok(out)
}

impl Config {
    /// The effective configuration as `KEY=value` lines, secrets redacted.
    pub fn render_redacted(&self) -> String {
        let lookup = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mut out = String::new();
        for (name, secret, help) in all_vars() {
            let shown = match lookup(name) {
                Some(_) if secret => "<redacted>".to_owned(),
                Some(v) => v,
                None => "(unset)".to_owned(),
            };
            out.push_str(&format!("{name}={shown}    # {help}\n"));
        }
        out.push_str(&format!(
            "# effective: listen={} admin_listen={} public_url={} roles={:?} data_dir={} database={} queue={} plugin_dir={} default_limits={:?}\n",
            self.listen,
            self.admin_listen,
            self.public_url,
            self.roles,
            self.data_dir.display(),
            if self.database_url.is_some() { "postgres" } else { "sqlite (embedded)" },
            if self.queue_url.is_some() { "rabbitmq" } else { "embedded" },
            self.plugin_dir.display(),
            self.default_limits,
        ));
        out.push_str(&self.render_boundary());
        out
    }

    /// What a plugin may hand the host and whom it may touch: the limits, scopes and
    /// budgets every invocation is held to, with this configuration's values.
    fn render_boundary(&self) -> String {
        use agenthost_runtime::{
            MAX_ALERTS_PER_INVOCATION, MAX_EFFECTS_PER_INVOCATION, MAX_POOL_SHARE_PERCENT,
            MAX_SMS_BODY_CHARS, SHADOW_POOL_SHARE_PERCENT,
        };
        let d = &self.default_limits;
        let c = &self.ceilings;
        let mut out = String::from(
            "# plugin boundary (defaults; ceilings in brackets):
",
        );
        out.push_str(&format!(
            "#   bytes per string or list passed to an import: {} [{}]; bytes one invocation may make the host buffer: {} [{}]
",
            d.field_bytes, c.field_bytes, d.invocation_bytes, c.invocation_bytes
        ));
        out.push_str(&format!(
            "#   memory per instance (all memories together): {} [{}]; fuel: {} [{}]; wall clock: {:?} [{:?}]
",
            d.memory_bytes, c.memory_bytes, d.fuel, c.fuel, d.wall_clock, c.wall_clock
        ));
        out.push_str(&format!(
            "#   effects per invocation: {MAX_EFFECTS_PER_INVOCATION}; alerts per invocation: {MAX_ALERTS_PER_INVOCATION}; sms body: {MAX_SMS_BODY_CHARS} characters; NUL bytes and invalid UTF-8: refused
"
        ));
        out.push_str(&format!(
            "#   budgets per plugin per UTC day: sms segments {}, jobs {}, llm tokens per AGENTHOST_LLM_DAILY_TOKENS (shadow candidates spend their own)
",
            d.budgets.sms_segments, d.budgets.jobs
        ));
        out.push_str(&format!(
            "#   instance pool: {} instances; one plugin at most {MAX_POOL_SHARE_PERCENT}%, shadow runs together at most {SHADOW_POOL_SHARE_PERCENT}% (then skipped)
",
            self.max_instances
        ));
        out.push_str("#   scope: sms only to the lead of the conversation handled or the plugin's host.sms_recipients, from the number routed to it; jobs only for its own conversations; alerts as plugin.<name>.<kind>, critical only with host.allow_critical_alerts
");
        for (name, limits) in &self.plugin_limits {
            out.push_str(&format!("#   {name} overrides: {limits:?}\n"));
        }
        out
    }
}

#[cfg(test)]
mod unknown_var_tests {
    use super::*;

    #[test]
    fn a_mistyped_variable_is_named_with_the_one_it_meant() {
        let errors = unknown_vars(
            [
                "AGENTHOST_QUIET_HOUR",
                "AGENTHOST_QUIET_HOURS",
                "AGENTHOST_ADMIN_URL",
                "PATH",
                "AGENTHOST_NOTHING_LIKE_ANYTHING_AT_ALL",
            ]
            .into_iter()
            .map(String::from),
        );
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with("AGENTHOST_NOTHING_LIKE_ANYTHING_AT_ALL is not"));
        assert!(!messages[0].contains("did you mean"), "{}", messages[0]);
        assert!(
            messages[1].contains("AGENTHOST_QUIET_HOUR is not a variable agenthost reads (did you mean AGENTHOST_QUIET_HOURS?)"),
            "{}",
            messages[1]
        );
    }

    /// The host refuses variables it does not read, so what the deployment sets must all
    /// be read (or the pods would not start).
    #[test]
    fn every_variable_the_deployment_sets_is_read() {
        let env = include_str!("../../../deploy/base/env.yaml");
        let names: Vec<String> = env
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("AGENTHOST_") && w.len() > "AGENTHOST_".len())
            .map(String::from)
            .collect();
        assert!(names.len() > 20, "{names:?}");
        let unknown: Vec<String> = unknown_vars(names.into_iter())
            .into_iter()
            .map(|e| e.message)
            .collect();
        assert!(unknown.is_empty(), "{unknown:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn auto_rollback_thresholds_parse_and_fail_naming_the_variable() {
        let c = parse(&[(
            "AGENTHOST_AUTO_ROLLBACK",
            "min=4,rate=0.25; echo:rate=0.9 ;locator:off",
        )])
        .unwrap();
        assert_eq!(c.auto_rollback.default.min_invocations, 4);
        assert_eq!(c.auto_rollback.default.failure_rate, 0.25);
        let echo = &c.auto_rollback.per_plugin[&"echo".parse::<PluginName>().unwrap()];
        assert_eq!((echo.min_invocations, echo.failure_rate), (4, 0.9));
        let locator = &c.auto_rollback.per_plugin[&"locator".parse::<PluginName>().unwrap()];
        assert_eq!(locator.min_invocations, u64::MAX);
        for bad in [
            "rate=0",
            "rate=1.5",
            "min=0",
            "echo:speed=3",
            "Bad Name:min=3",
        ] {
            let e = parse(&[("AGENTHOST_AUTO_ROLLBACK", bad)]).unwrap_err();
            assert_eq!(e.var, "AGENTHOST_AUTO_ROLLBACK", "{bad}");
        }
        let e = parse(&[("AGENTHOST_DRY_RUN_NUMBERS", "+15550009999,555")]).unwrap_err();
        assert_eq!(e.var, "AGENTHOST_DRY_RUN_NUMBERS");
        assert!(e.message.contains("555"), "{e}");
        let c = parse(&[("AGENTHOST_DATABASE_URL", "postgres://x@h/db")]).unwrap();
        assert!(!c.plugin_watch, "watching is for the embedded default");
        assert!(parse(&[]).unwrap().plugin_watch);
        let e = parse(&[("AGENTHOST_PLUGIN_WATCH", "maybe")]).unwrap_err();
        assert_eq!(e.var, "AGENTHOST_PLUGIN_WATCH");
    }

    #[test]
    fn defaults_are_the_embedded_laptop_setup() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.admin_listen.to_string(), "127.0.0.1:8081");
        assert!(c.admin_tokens.is_empty());
        assert!(!c.signing.required());
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.roles, Roles::ALL);
        assert!(c.database_url.is_none() && c.queue_url.is_none());
        assert_eq!(c.default_limits, Limits::default());
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (var, value) in [
            ("AGENTHOST_LISTEN", "nope"),
            ("AGENTHOST_PUBLIC_URL", "ftp://x"),
            ("AGENTHOST_ROLES", "web,cook"),
            ("AGENTHOST_DATABASE_URL", "mysql://x"),
            ("AGENTHOST_QUEUE_URL", "redis://x"),
            ("AGENTHOST_DEFAULT_FUEL", "-3"),
            ("AGENTHOST_DEFAULT_MEMORY_MB", "0"),
            ("AGENTHOST_ROUTES", "5550001111=echo"),
            ("AGENTHOST_PLUGIN_LIMITS", "echo:speed=3"),
            ("AGENTHOST_LOG_FORMAT", "xml"),
            ("AGENTHOST_ADMIN_LISTEN", "nope"),
            ("AGENTHOST_ADMIN_LISTEN", "127.0.0.1:8080"),
            ("AGENTHOST_ADMIN_TOKENS", "ci:deploy"),
            ("AGENTHOST_ADMIN_TOKENS", "ci:root:0123456789abcdef"),
            ("AGENTHOST_ADMIN_TOKENS", "ci:deploy:short"),
            ("AGENTHOST_ADMIN_TOKENS", "c i:deploy:0123456789abcdef"),
            ("AGENTHOST_PLUGIN_TRUSTED_KEYS", "release=notbase64!"),
            ("AGENTHOST_REQUIRE_SIGNED_PLUGINS", "true"),
            ("AGENTHOST_REQUIRE_SIGNED_PLUGINS", "sometimes"),
        ] {
            let e = parse(&[(var, value)]).unwrap_err();
            assert_eq!(e.var, var, "{value}");
            assert!(
                e.to_string()
                    .starts_with(&format!("invalid configuration: {var}: ")),
                "{e}"
            );
        }
    }

    #[test]
    fn routes_and_per_plugin_limits_parse() {
        let c = parse(&[
            (
                "AGENTHOST_ROUTES",
                "+15550001111=echo, +15550002222=landlord-rep",
            ),
            (
                "AGENTHOST_PLUGIN_LIMITS",
                "echo:fuel=1000,memory_mb=16;landlord-rep:timeout_ms=5000,attempts=3",
            ),
        ])
        .unwrap();
        assert_eq!(c.routes.len(), 2);
        assert_eq!(c.routes[1].0, "+15550002222");
        assert_eq!(c.routes[1].1.as_str(), "landlord-rep");
        let echo = c.plugin_limits[&"echo".parse::<PluginName>().unwrap()];
        assert_eq!(echo.fuel, Some(1000));
        assert_eq!(echo.memory_bytes, Some(16 << 20));
        let lr = c.plugin_limits[&"landlord-rep".parse::<PluginName>().unwrap()];
        assert_eq!((lr.wall_clock_ms, lr.max_attempts), (Some(5000), Some(3)));
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let c = parse(&[
            ("TWILIO_AUTH_TOKEN", "tok-very-secret"),
            ("AGENTHOST_ADMIN_TOKEN", "adm-very-secret"),
            ("AGENTHOST_DATABASE_URL", "postgres://u:pw-very-secret@h/db"),
        ])
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("very-secret"), "{dbg}");
        assert_eq!(c.require_twilio().unwrap_err().var, "TWILIO_ACCOUNT_SID");
    }

    #[test]
    fn admin_tokens_are_named_scoped_unique_and_never_echoed() {
        use agenthost_api::admin::Scope;
        let c = parse(&[
            ("AGENTHOST_ADMIN_TOKEN", "root-token-value"),
            (
                "AGENTHOST_ADMIN_TOKENS",
                "ci:deploy:ci-token-0123456789; grafana:read:graf-token-0123456789",
            ),
        ])
        .unwrap();
        let tokens: Vec<_> = c
            .admin_tokens
            .iter()
            .map(|t| (t.name.as_str(), t.scope, t.secret.expose()))
            .collect();
        assert_eq!(
            tokens,
            [
                ("admin", Scope::Admin, "root-token-value"),
                ("ci", Scope::Deploy, "ci-token-0123456789"),
                ("grafana", Scope::Read, "graf-token-0123456789"),
            ]
        );
        assert!(!format!("{c:?}").contains("token-0123456789"));
        for bad in [
            "ci:deploy:same-secret-0123456;ops:admin:same-secret-0123456",
            "ci:deploy:ci-token-0123456789;ci:read:other-token-0123456",
            "ci:deploy:tiny-secret",
        ] {
            let e = parse(&[("AGENTHOST_ADMIN_TOKENS", bad)]).unwrap_err();
            assert_eq!(e.var, "AGENTHOST_ADMIN_TOKENS");
            assert!(!e.message.contains("secret-0123456"), "{e}");
            assert!(!e.message.contains("tiny-secret"), "{e}");
        }
    }

    #[test]
    fn signing_needs_a_trusted_key_to_be_required() {
        let key = agenthost_deploy::signing::SecretKey::from_seed("release", [4; 32]).unwrap();
        let c = parse(&[
            ("AGENTHOST_PLUGIN_TRUSTED_KEYS", &key.trusted_entry()),
            ("AGENTHOST_REQUIRE_SIGNED_PLUGINS", "true"),
        ])
        .unwrap();
        assert!(c.signing.required());
        assert_eq!(c.signing.key_ids(), ["release"]);
        let e = parse(&[("AGENTHOST_REQUIRE_SIGNED_PLUGINS", "true")]).unwrap_err();
        assert_eq!(e.var, "AGENTHOST_REQUIRE_SIGNED_PLUGINS");
    }
}
