//! `agenthost plugin upload|list|show|activate|rollback|rollout` and `agenthost state`:
//! the admin API from a terminal. Each command is one HTTP call to a running host
//! (`--url`, default `AGENTHOST_ADMIN_URL` or the local listen address) with the bearer
//! token from `AGENTHOST_ADMIN_TOKEN`; the answer is printed as pretty JSON (the state
//! as Markdown), and a refusal prints the host's error and exits non-zero.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct Target {
    /// Base URL of the running host (default: AGENTHOST_ADMIN_URL, else http://<AGENTHOST_LISTEN>).
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
fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    fn new(config: &Config, target: &Target) -> anyhow::Result<Client> {
        let base = target
            .url
            .clone()
            .unwrap_or_else(|| format!("http://{}", config.listen))
            .trim_end_matches('/')
            .to_owned();
        Ok(Client {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()?,
            base,
            token: config.admin_token.as_ref().map(|t| t.expose().to_owned()),
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Sends and returns the body on success; the host's error text otherwise.
    async fn send(&self, r: reqwest::RequestBuilder) -> anyhow::Result<String> {
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

fn print_json(text: &str) {
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
            target,
        } => {
            let c = Client::new(config, &target)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = match name {
                Some(n) => n,
                None => file
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .context("the file has no usable name; pass --name")?
                    .to_owned(),
            };
            let mut query = vec![("actor", actor())];
            if let Some(n) = note {
                query.push(("note", n));
            }
            let text = c
                .send(
                    c.request(Method::POST, &format!("/admin/plugins/{name}/versions"))
                        .query(&query)
                        .header("content-type", "application/wasm")
                        .body(bytes),
                )
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
            config.database_url.as_ref().map(|s| s.expose()),
            &config.data_dir,
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
        source.gather(agenthost_pipeline::now_ms()).await
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
