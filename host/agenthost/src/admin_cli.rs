//! `agenthost plugin upload|list|show|activate|rollback|rollout|audit` and
//! `agenthost state`: the admin API from a terminal. Each command is one HTTP call to a
//! running host's admin listener (`--url`, default `AGENTHOST_ADMIN_URL` or
//! `http://<AGENTHOST_ADMIN_LISTEN>`) with the bearer token from `AGENTHOST_ADMIN_TOKEN`;
//! the answer is printed as pretty JSON (the state as Markdown), and a refusal prints the
//! host's error and exits non-zero.
//!
//! `agenthost plugin keygen|sign` work offline: a signing key file, and the signature of a
//! component (`<file>.sig`) that `upload` sends along and the plugins folder reads.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct Target {
    /// Base URL of the running host's admin listener (default: AGENTHOST_ADMIN_URL, else
    /// http://<AGENTHOST_ADMIN_LISTEN>).
    #[arg(long, env = "AGENTHOST_ADMIN_URL")]
    url: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum DeployCommand {
    /// Upload a component as a new version of a plugin (validated by the host).
    Upload {
        file: PathBuf,
        /// Plugin name (default: the file stem).
        #[arg(long)]
        name: Option<String>,
        /// Why this version exists.
        #[arg(long)]
        note: Option<String>,
        /// Activate it right after the upload.
        #[arg(long)]
        activate: bool,
        /// The signature file (default: <file>.sig when it exists).
        #[arg(long)]
        signature: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
    },
    /// Make a signing key: writes the secret key file (mode 0600) and prints the entry for
    /// AGENTHOST_PLUGIN_TRUSTED_KEYS.
    Keygen {
        /// The key's id, recorded as the signer of what it signs (e.g. release-2026).
        id: String,
        /// Where to write the secret key (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a component for a plugin: writes <file>.sig (what `upload` and the plugins
    /// folder read).
    Sign {
        file: PathBuf,
        /// Plugin name the signature is for (default: the file stem).
        #[arg(long)]
        name: Option<String>,
        /// The secret key file from `keygen`.
        #[arg(long)]
        key: PathBuf,
    },
    /// The admin audit log, newest first (needs an admin-scope token).
    Audit {
        /// Only this token name's calls.
        #[arg(long)]
        actor: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        target: Target,
    },
    /// Every plugin with its active version and rollout.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// One plugin: versions, active, rollout and history.
    Show {
        name: String,
        #[command(flatten)]
        target: Target,
    },
    /// Make a version (id or unique prefix) the active one.
    Activate {
        name: String,
        version: String,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Restore the previously active version.
    Rollback {
        name: String,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Canary or shadow a candidate version, or promote/abort the running rollout.
    Rollout {
        name: String,
        /// canary, shadow, promote or abort.
        mode: String,
        /// The candidate version (canary, shadow).
        #[arg(long)]
        candidate: Option<String>,
        /// Share of conversations for a canary, 1..=100.
        #[arg(long)]
        percent: Option<u8>,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        target: Target,
    },
}

/// Who the history records for CLI calls: the OS user, so "who" is never blank.
pub(crate) fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    pub(crate) token: Option<String>,
}

impl Client {
    pub(crate) fn new(config: &Config, target: &Target) -> anyhow::Result<Client> {
        let base = target
            .url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.admin_listen))
            .trim_end_matches('/')
            .to_owned();
        Ok(Client {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()?,
            base,
            // AGENTHOST_ADMIN_TOKEN: whichever token this operator holds.
            token: config
                .admin_tokens
                .first()
                .filter(|t| t.name == "admin")
                .map(|t| t.secret.expose().to_owned()),
        })
    }

    pub(crate) fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends and returns the body on success; the host's error text otherwise.
    pub(crate) async fn send(&self, r: reqwest::RequestBuilder) -> anyhow::Result<String> {
        let resp = r
            .send()
            .await
            .with_context(|| format!("cannot reach the host at {}", self.base))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(text);
        }
        let why = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or(text);
        anyhow::bail!("the host answered {status}: {why}")
    }
}

/// The plugin a file is for: `--name`, else the file stem.
fn plugin_name(file: &std::path::Path, name: Option<String>) -> anyhow::Result<String> {
    match name {
        Some(n) => Ok(n),
        None => Ok(file
            .file_stem()
            .and_then(|s| s.to_str())
            .context("the file has no usable name; pass --name")?
            .to_owned()),
    }
}

/// `<file>.sig`.
fn sig_path(file: &std::path::Path) -> PathBuf {
    let mut p = file.as_os_str().to_owned();
    p.push(".sig");
    PathBuf::from(p)
}

/// The signature to send: `--signature`, else `<file>.sig` if it exists.
fn read_signature(
    file: &std::path::Path,
    given: Option<PathBuf>,
) -> anyhow::Result<Option<String>> {
    let (path, must) = match given {
        Some(p) => (p, true),
        None => (sig_path(file), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s.trim().to_owned())),
        Err(e) if !must && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading the signature {}", path.display())),
    }
}

/// Writes a new file readable by its owner only; refuses to overwrite.
fn write_secret_file(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub(crate) fn print_json(text: &str) {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default()),
        Err(_) => println!("{text}"),
    }
}

pub async fn run(config: &Config, command: DeployCommand) -> anyhow::Result<ExitCode> {
    use reqwest::Method;
    match command {
        DeployCommand::Upload {
            file,
            name,
            note,
            activate,
            signature,
            target,
        } => {
            let c = Client::new(config, &target)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = plugin_name(&file, name)?;
            let signature = read_signature(&file, signature)?;
            let mut query = vec![("actor", actor())];
            if let Some(n) = note {
                query.push(("note", n));
            }
            let text = c
                .send({
                    let r = c
                        .request(Method::POST, &format!("/admin/plugins/{name}/versions"))
                        .query(&query)
                        .header("content-type", "application/wasm");
                    match &signature {
                        Some(sig) => r.header(agenthost_api::deploys::SIGNATURE_HEADER, sig),
                        None => r,
                    }
                    .body(bytes)
                })
                .await?;
            print_json(&text);
            if activate {
                let v: Value = serde_json::from_str(&text)?;
                let version = v["version"]
                    .as_str()
                    .context("the host sent no version id")?;
                let text = c
                    .send(
                        c.request(Method::POST, &format!("/admin/plugins/{name}/activate"))
                            .json(&json!({ "version": version, "actor": actor(), "reason": "uploaded with --activate" })),
                    )
                    .await?;
                print_json(&text);
            }
        }
        DeployCommand::Keygen { id, out } => {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed)
                .map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
            let key = agenthost_deploy::signing::SecretKey::from_seed(&id, seed)
                .map_err(|e| anyhow::anyhow!(e))?;
            write_secret_file(&out, &key.to_file())?;
            eprintln!(
                "wrote the secret key {} to {}; keep it out of the repository. Trust it with:",
                key.id(),
                out.display()
            );
            println!("AGENTHOST_PLUGIN_TRUSTED_KEYS={}", key.trusted_entry());
        }
        DeployCommand::Sign { file, name, key } => {
            let text = std::fs::read_to_string(&key)
                .with_context(|| format!("reading the key file {}", key.display()))?;
            let key = agenthost_deploy::signing::SecretKey::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = plugin_name(&file, name)?;
            let version = agenthost_runtime::VersionId::of_bytes(&bytes);
            let line = key.sign(&name, version.as_str());
            let out = sig_path(&file);
            std::fs::write(&out, format!("{line}\n"))
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "signed {} as plugin {name} (version {}) with key {}: {}",
                file.display(),
                version.short(),
                key.id(),
                out.display()
            );
        }
        DeployCommand::Audit {
            actor,
            limit,
            target,
        } => {
            let c = Client::new(config, &target)?;
            let mut query = vec![("limit", limit.to_string())];
            if let Some(a) = actor {
                query.push(("actor", a));
            }
            print_json(
                &c.send(c.request(Method::GET, "/admin/audit").query(&query))
                    .await?,
            );
        }
        DeployCommand::List { target } => {
            let c = Client::new(config, &target)?;
            print_json(&c.send(c.request(Method::GET, "/admin/plugins")).await?);
        }
        DeployCommand::Show { name, target } => {
            let c = Client::new(config, &target)?;
            print_json(
                &c.send(c.request(Method::GET, &format!("/admin/plugins/{name}")))
                    .await?,
            );
        }
        DeployCommand::Activate {
            name,
            version,
            reason,
            target,
        } => {
            let c = Client::new(config, &target)?;
            let body = json!({ "version": version, "reason": reason, "actor": actor() });
            print_json(
                &c.send(
                    c.request(Method::POST, &format!("/admin/plugins/{name}/activate"))
                        .json(&body),
                )
                .await?,
            );
        }
        DeployCommand::Rollback {
            name,
            reason,
            target,
        } => {
            let c = Client::new(config, &target)?;
            let body = json!({ "reason": reason, "actor": actor() });
            print_json(
                &c.send(
                    c.request(Method::POST, &format!("/admin/plugins/{name}/rollback"))
                        .json(&body),
                )
                .await?,
            );
        }
        DeployCommand::Rollout {
            name,
            mode,
            candidate,
            percent,
            reason,
            target,
        } => {
            let c = Client::new(config, &target)?;
            let mut body = json!({ "mode": mode, "actor": actor() });
            if let Some(v) = candidate {
                body["candidate"] = json!(v);
            }
            if let Some(p) = percent {
                body["percent"] = json!(p);
            }
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            print_json(
                &c.send(
                    c.request(Method::PUT, &format!("/admin/plugins/{name}/rollout"))
                        .json(&body),
                )
                .await?,
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct StateArgs {
    /// Print the record as JSON instead of Markdown.
    #[arg(long)]
    json: bool,
    /// Read the database (AGENTHOST_DATABASE_URL, AGENTHOST_QUEUE_URL) directly instead
    /// of asking a running host: works while every replica is down.
    #[arg(long)]
    direct: bool,
    #[command(flatten)]
    target: Target,
}

/// `agenthost state`: the deployment record as `DEPLOYMENT_STATE.md` holds it.
pub async fn state(config: &Config, args: StateArgs) -> anyhow::Result<ExitCode> {
    let value = if args.direct {
        let storage = agenthost_storage::Storage::connect(
            config.storage.database_url.as_ref().map(|s| s.expose()),
            &config.storage.data_dir,
            2,
        )
        .await
        .context("connecting to storage")?;
        let queue = crate::serve::connect_queue(config, &storage).await?;
        let source = agenthost_api::state::StateSource {
            build: crate::serve::build_info(config, &storage, 0),
            storage,
            queue,
            registry: None,
        };
        source.gather(agenthost_core::now_ms()).await
    } else {
        let c = Client::new(config, &args.target)?;
        let text = c
            .send(
                c.request(reqwest::Method::GET, "/admin/state")
                    .header("accept", "application/json"),
            )
            .await?;
        serde_json::from_str(&text).context("the host sent a state that is not JSON")?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", agenthost_api::state::render_markdown(&value));
    }
    Ok(ExitCode::SUCCESS)
}
