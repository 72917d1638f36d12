//! Typed configuration, parsed once from the environment at start-up (12-factor). Every
//! setting the host reads is declared in `VARS`; an invalid value stops start-up with an
//! error naming the variable, and secrets are redacted wherever config is printed.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use agenthost_runtime::PluginName;

use agenthost_core::Lookup;
pub use agenthost_core::{ConfigError, Secret, Var};

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
/// Variables earlier versions read and this one does not, with why: still set, they
/// are reported at start-up (a warning, not a refusal: an upgrade must not stop on them).
pub const RETIRED_VARS: &[(&str, &str)] = &[(
    "AGENTHOST_SCHEDULER_REPUBLISH_GRACE_SECS",
    "job events that never reached the queue are republished by the one sweep every event \
     source shares (after 10 s), like webhooks",
)];

/// The retired variables among `names`, each as a line for the log.
pub fn retired_vars(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut found: Vec<String> = names
        .filter_map(|n| {
            RETIRED_VARS
                .iter()
                .find(|(name, _)| *name == n)
                .map(|(name, why)| format!("{name} is no longer read and can be removed: {why}"))
        })
        .collect();
    found.sort();
    found
}

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
        .filter(|n| {
            !known.iter().any(|v| v.name == n)
                && !NOT_HOST_VARS.contains(&n.as_str())
                && !RETIRED_VARS.iter().any(|(r, _)| r == n)
        })
        .collect();
    unknown.sort();
    unknown
        .into_iter()
        .map(|name| {
            let closest = known
                .iter()
                .map(|v| (strsim::levenshtein(v.name, &name), v.name))
                .min()
                .filter(|(d, _)| *d <= 4)
                .map(|(_, k)| format!(" (did you mean {k}?)"))
                .unwrap_or_default();
            ConfigError::new(
                "AGENTHOST_*",
                format!(
                    "{name} is not a variable agenthost reads{closest}; `agenthost check-config` lists every one"
                ),
            )
        })
        .collect()
}

pub fn all_vars() -> Vec<Var> {
    [
        VARS,
        agenthost_storage::VARS,
        agenthost_queue::VARS,
        agenthost_runtime::VARS,
        agenthost_deploy::VARS,
        agenthost_twilio::VARS,
        agenthost_llm::VARS,
        agenthost_scheduler::VARS,
        agenthost_alerts::VARS,
        agenthost_pipeline::policy::VARS,
    ]
    .concat()
}

fn err(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(var, message)
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
            secret: Secret::new(t),
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
            secret: Secret::new(token),
        });
    }
    Ok(out)
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

/// The host's whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The internal listener: admin API, metrics, readiness.
    pub admin_listen: SocketAddr,
    pub public_url: String,
    pub roles: Roles,
    /// Where the data lives and which database.
    pub storage: agenthost_storage::StorageConfig,
    /// RabbitMQ or the embedded queue.
    pub queue: agenthost_queue::QueueConfig,
    /// Sandbox limits and the instance pool.
    pub runtime: agenthost_runtime::RuntimeSettings,
    /// Where plugins come from, automatic rollback, signing.
    pub deploy: agenthost_deploy::DeploySettings,
    pub worker_slots: u32,
    pub drain_delay: Duration,
    pub drain_grace: Duration,
    pub outbox_lease: Duration,
    pub routes: Vec<(String, PluginName)>,
    /// Senders whose traffic is processed but never sent (post-deploy verification).
    pub dry_run_numbers: Vec<String>,
    /// Every admin token, `AGENTHOST_ADMIN_TOKEN` first (as `admin`).
    pub admin_tokens: Vec<AdminTokenConfig>,
    pub twilio: agenthost_twilio::TwilioSettings,
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
    /// Retired variables still set, as log lines (`serve` warns with each).
    pub retired: Vec<String>,
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
        let mut config = Config::from_lookup(|k| std::env::var(k).ok())?;
        config.retired =
            retired_vars(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()));
        Ok(config)
    }

    /// Parses config from any lookup (tests pass a map). Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let l = Lookup::new(&lookup).declared(VARS);
        let get = |k: &'static str| l.get(k);
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
        let routes = match get("AGENTHOST_ROUTES") {
            Some(v) => parse_routes(&v).map_err(|m| err("AGENTHOST_ROUTES", m))?,
            None => Vec::new(),
        };
        // Each capability parses its own section; this only composes them.
        let unset_if_blank = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let storage = agenthost_storage::StorageConfig::from_lookup(unset_if_blank)?;
        let queue = agenthost_queue::QueueConfig::from_lookup(unset_if_blank)?;
        let runtime = agenthost_runtime::RuntimeSettings::from_lookup(unset_if_blank)?;
        let deploy =
            agenthost_deploy::DeploySettings::from_lookup(unset_if_blank, !storage.is_sqlite())?;
        let twilio = agenthost_twilio::TwilioSettings::from_lookup(unset_if_blank)?;
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
            agenthost_llm::LlmConfig::from_lookup(|k| lookup(k).filter(|v| !v.trim().is_empty()))?;
        let scheduler = agenthost_scheduler::SchedulerConfig::from_lookup(unset_if_blank)?;
        let alerts = agenthost_alerts::AlertConfig::from_lookup(unset_if_blank)?;
        // Channel kinds and routes are checked by building them, so an unknown kind or
        // a route to an undefined channel stops start-up here, not later in a role.
        agenthost_alerts::Dispatcher::from_config(&alerts)?;
        let (send_policy, host_texts) =
            agenthost_pipeline::policy::SendPolicy::from_lookup(unset_if_blank)?;
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
            timeout: Duration::from_secs(l.number(
                "AGENTHOST_HANDOFF_TIMEOUT_SECS",
                agenthost_pipeline::handoff::DEFAULT_HANDOFF_TIMEOUT.as_secs(),
                60,
            )?),
            console_url: Some(console_url),
        };
        Ok(Config {
            retired: Vec::new(),
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
            storage,
            queue,
            runtime,
            deploy,
            worker_slots: l.number("AGENTHOST_WORKER_SLOTS", 4, 1)? as u32,
            drain_delay: Duration::from_millis(l.number("AGENTHOST_DRAIN_DELAY_MS", 2_000, 0)?),
            drain_grace: Duration::from_millis(l.number("AGENTHOST_DRAIN_GRACE_MS", 35_000, 0)?),
            outbox_lease: Duration::from_millis(l.number(
                "AGENTHOST_OUTBOX_LEASE_MS",
                6_000,
                5_000,
            )?),
            routes,
            dry_run_numbers,
            admin_tokens,
            twilio,
            log_format,
            log_filter: get("AGENTHOST_LOG").unwrap_or_else(|| "info".into()),
        })
    }

    /// The Twilio credentials the web and worker roles cannot run without.
    pub fn require_twilio(&self) -> Result<(&str, &Secret), ConfigError> {
        self.twilio.require()
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

impl Config {
    /// The effective configuration as `KEY=value` lines, secrets redacted.
    pub fn render_redacted(&self) -> String {
        let lookup = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mut out = String::new();
        for Var { name, secret, help } in all_vars() {
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
            self.storage.data_dir.display(),
            if self.storage.database_url.is_some() { "postgres" } else { "sqlite (embedded)" },
            if self.queue.url.is_some() { "rabbitmq" } else { "embedded" },
            self.deploy.plugin_dir.display(),
            self.runtime.defaults,
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
        let d = &self.runtime.defaults;
        let c = &self.runtime.ceilings;
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
            self.runtime.max_instances
        ));
        out.push_str("#   scope: sms only to the lead of the conversation handled or the plugin's host.sms_recipients, from the number routed to it; jobs only for its own conversations; alerts as plugin.<name>.<kind>, critical only with host.allow_critical_alerts
");
        for (name, limits) in &self.runtime.plugin_limits {
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

    #[test]
    fn a_retired_variable_is_a_warning_not_a_refusal() {
        let names = || {
            [
                "AGENTHOST_SCHEDULER_REPUBLISH_GRACE_SECS",
                "AGENTHOST_QUIET_HOURS",
            ]
            .into_iter()
            .map(String::from)
        };
        assert!(unknown_vars(names()).is_empty());
        let notes = retired_vars(names());
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("AGENTHOST_SCHEDULER_REPUBLISH_GRACE_SECS is no longer read"));
        assert!(
            !all_vars()
                .iter()
                .any(|v| RETIRED_VARS.iter().any(|(r, _)| *r == v.name)),
            "a retired variable is not read"
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
    use agenthost_runtime::Limits;
    use std::collections::BTreeMap;

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
        assert_eq!(c.deploy.auto_rollback.default.min_invocations, 4);
        assert_eq!(c.deploy.auto_rollback.default.failure_rate, 0.25);
        let echo = &c.deploy.auto_rollback.per_plugin[&"echo".parse::<PluginName>().unwrap()];
        assert_eq!((echo.min_invocations, echo.failure_rate), (4, 0.9));
        let locator = &c.deploy.auto_rollback.per_plugin[&"locator".parse::<PluginName>().unwrap()];
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
        assert!(
            !c.deploy.plugin_watch,
            "watching is for the embedded default"
        );
        assert!(parse(&[]).unwrap().deploy.plugin_watch);
        let e = parse(&[("AGENTHOST_PLUGIN_WATCH", "maybe")]).unwrap_err();
        assert_eq!(e.var, "AGENTHOST_PLUGIN_WATCH");
    }

    #[test]
    fn defaults_are_the_embedded_laptop_setup() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.admin_listen.to_string(), "127.0.0.1:8081");
        assert!(c.admin_tokens.is_empty());
        assert!(!c.deploy.signing.required());
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.roles, Roles::ALL);
        assert!(c.storage.database_url.is_none() && c.queue.url.is_none());
        assert_eq!(c.runtime.defaults, Limits::default());
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
            assert!(e.to_string().starts_with(&format!("{var}: ")), "{e}");
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
        let echo = c.runtime.plugin_limits[&"echo".parse::<PluginName>().unwrap()];
        assert_eq!(echo.fuel, Some(1000));
        assert_eq!(echo.memory_bytes, Some(16 << 20));
        let lr = c.runtime.plugin_limits[&"landlord-rep".parse::<PluginName>().unwrap()];
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
        assert!(c.deploy.signing.required());
        assert_eq!(c.deploy.signing.key_ids(), ["release"]);
        let e = parse(&[("AGENTHOST_REQUIRE_SIGNED_PLUGINS", "true")]).unwrap_err();
        assert_eq!(e.var, "AGENTHOST_REQUIRE_SIGNED_PLUGINS");
    }
}
