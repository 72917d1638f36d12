//! The console's admin API from a terminal — `agenthost dead-letters ...`,
//! `agenthost conversations ...`, `agenthost alerts`, `agenthost summary` — and
//! `agenthost chat`, a conversation with an agent of a running host through the real
//! signed webhook (the way Twilio's dev phone feels).

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::admin_cli::{Client, Target, actor, print_json};
use crate::config::Config;

#[derive(Debug, clap::Subcommand)]
pub enum DeadLetterCommand {
    /// Dead letters, newest first: the failure, the version, the lead's text.
    List {
        #[arg(long)]
        plugin: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[command(flatten)]
        target: Target,
    },
    /// Put a dead letter (an event id) back in its lane — or, with --plugin and no id,
    /// every dead letter of that plugin — onto the active version or --version (the
    /// rollout's candidate).
    Requeue {
        event_id: Option<String>,
        #[arg(long)]
        plugin: Option<String>,
        #[arg(long)]
        version: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Give a dead letter up for good, saying why (kept in the plugin's history).
    Discard {
        event_id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum ConversationCommand {
    /// Conversations by phone number (digits, any part) or agent, most recent first.
    Search {
        number: Option<String>,
        #[arg(long)]
        agent: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// The thread: each message with the version that handled it, its effects and the
    /// delivery status.
    Show {
        id: String,
        #[command(flatten)]
        target: Target,
    },
    /// Pause the agent for this conversation: a person answers now.
    Takeover {
        id: String,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Text the lead as staff (through the outbox: consent and the send policy apply).
    Reply {
        id: String,
        body: String,
        #[command(flatten)]
        target: Target,
    },
    /// Give the conversation back to the agent, now or after --after-mins.
    Release {
        id: String,
        #[arg(long)]
        after_mins: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[arg(long, default_value_t = 50)]
    limit: u32,
    #[command(flatten)]
    target: Target,
}

#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    /// The agent's number (as routed, e.g. +15550001112).
    agent_number: String,
    /// The lead's number you text as (default: a fresh +1555 number per session).
    #[arg(long)]
    from: Option<String>,
    /// The host's public listener (default: http://<AGENTHOST_LISTEN>).
    #[arg(long)]
    public_url: Option<String>,
    #[command(flatten)]
    target: Target,
}

/// A path segment, percent-encoded (conversation ids hold `|` and `+`).
fn seg(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut b = vec![0u8; bytes];
    getrandom::getrandom(&mut b).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

pub async fn dead_letters(config: &Config, c: DeadLetterCommand) -> anyhow::Result<ExitCode> {
    use reqwest::Method;
    let text = match c {
        DeadLetterCommand::List {
            plugin,
            limit,
            target,
        } => {
            let client = Client::new(config, &target)?;
            let mut path = format!("/admin/dead-letters?limit={limit}");
            if let Some(p) = plugin {
                path.push_str(&format!("&plugin={}", seg(&p)));
            }
            client.send(client.request(Method::GET, &path)).await?
        }
        DeadLetterCommand::Requeue {
            event_id,
            plugin,
            version,
            reason,
            target,
        } => {
            let client = Client::new(config, &target)?;
            let path = match (&event_id, &plugin) {
                (Some(id), _) => format!("/admin/dead-letters/{}/requeue", seg(id)),
                (None, Some(p)) => format!("/admin/plugins/{}/dead-letters/requeue", seg(p)),
                (None, None) => anyhow::bail!(
                    "name an event id, or --plugin for all of a plugin's dead letters"
                ),
            };
            let body = json!({ "version": version, "reason": reason, "actor": actor() });
            client
                .send(client.request(Method::POST, &path).json(&body))
                .await?
        }
        DeadLetterCommand::Discard {
            event_id,
            reason,
            target,
        } => {
            let client = Client::new(config, &target)?;
            let path = format!("/admin/dead-letters/{}/discard", seg(&event_id));
            let body = json!({ "reason": reason, "actor": actor() });
            client
                .send(client.request(Method::POST, &path).json(&body))
                .await?
        }
    };
    print_json(&text);
    Ok(ExitCode::SUCCESS)
}

pub async fn conversations(config: &Config, c: ConversationCommand) -> anyhow::Result<ExitCode> {
    use reqwest::Method;
    let text = match c {
        ConversationCommand::Search {
            number,
            agent,
            target,
        } => {
            let client = Client::new(config, &target)?;
            let mut path = "/admin/conversations?limit=50".to_owned();
            if let Some(n) = number {
                path.push_str(&format!("&q={}", seg(&n)));
            }
            if let Some(a) = agent {
                path.push_str(&format!("&agent={}", seg(&a)));
            }
            client.send(client.request(Method::GET, &path)).await?
        }
        ConversationCommand::Show { id, target } => {
            let client = Client::new(config, &target)?;
            let text = client
                .send(client.request(Method::GET, &format!("/admin/conversations/{}", seg(&id))))
                .await?;
            let v: Value = serde_json::from_str(&text).context("the host answered non-JSON")?;
            print_thread(&v);
            return Ok(ExitCode::SUCCESS);
        }
        ConversationCommand::Takeover { id, reason, target } => {
            let client = Client::new(config, &target)?;
            let path = format!("/admin/conversations/{}/takeover", seg(&id));
            let body = json!({ "reason": reason, "actor": actor() });
            client
                .send(client.request(Method::POST, &path).json(&body))
                .await?
        }
        ConversationCommand::Reply { id, body, target } => {
            let client = Client::new(config, &target)?;
            let path = format!("/admin/conversations/{}/reply", seg(&id));
            let body =
                json!({ "body": body, "idempotency_key": random_hex(16)?, "actor": actor() });
            client
                .send(client.request(Method::POST, &path).json(&body))
                .await?
        }
        ConversationCommand::Release {
            id,
            after_mins,
            target,
        } => {
            let client = Client::new(config, &target)?;
            let path = format!("/admin/conversations/{}/release", seg(&id));
            let body = json!({ "after_ms": after_mins.map(|m| m.saturating_mul(60_000)) });
            client
                .send(client.request(Method::POST, &path).json(&body))
                .await?
        }
    };
    print_json(&text);
    Ok(ExitCode::SUCCESS)
}

/// One line per message: who, what, and what became of it.
fn print_thread(v: &Value) {
    let c = &v["conversation"];
    println!(
        "{} ⇄ {} ({}){}",
        c["lead_number"].as_str().unwrap_or("?"),
        c["agent_number"].as_str().unwrap_or("?"),
        c["plugin"].as_str().unwrap_or("unrouted"),
        match c["takeover"]["by"].as_str() {
            Some(by) => format!(" — taken over by {by}"),
            None => String::new(),
        }
    );
    for m in v["messages"].as_array().into_iter().flatten() {
        let who = match m["author"].as_str() {
            Some("staff") => format!("staff {}", m["staff"].as_str().unwrap_or("")),
            Some(a) => a.to_owned(),
            None => "?".into(),
        };
        let detail = if m["direction"] == "inbound" {
            let version: String = m["version"]
                .as_str()
                .unwrap_or("")
                .chars()
                .take(12)
                .collect();
            format!(
                "{} {}",
                m["outcome"].as_str().unwrap_or("?"),
                if version.is_empty() {
                    String::new()
                } else {
                    format!("by {version}")
                }
            )
        } else {
            m["delivery_status"].as_str().unwrap_or("?").to_owned()
        };
        println!(
            "  [{who}] {}  ({})",
            m["body"].as_str().unwrap_or(""),
            detail.trim()
        );
    }
}

pub async fn alerts(config: &Config, args: ListArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(config, &args.target)?;
    let text = client
        .send(client.request(
            reqwest::Method::GET,
            &format!("/admin/alerts?limit={}", args.limit),
        ))
        .await?;
    print_json(&text);
    Ok(ExitCode::SUCCESS)
}

pub async fn summary(config: &Config, target: Target) -> anyhow::Result<ExitCode> {
    let client = Client::new(config, &target)?;
    let text = client
        .send(client.request(reqwest::Method::GET, "/admin/summary"))
        .await?;
    print_json(&text);
    Ok(ExitCode::SUCCESS)
}

/// `agenthost chat`: each line typed is a signed Twilio webhook to the running host; the
/// agent's (and staff's) replies are read back from the admin API and printed.
pub async fn chat(config: &Config, args: ChatArgs) -> anyhow::Result<ExitCode> {
    let (account_sid, auth_token) = config
        .require_twilio()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut client = Client::new(config, &args.target)?;
    if client.token.is_none() {
        // `scripts/run.sh` writes the one-time token of the host it started here.
        let file = config.storage.data_dir.join("admin-token");
        client.token = std::fs::read_to_string(&file)
            .ok()
            .map(|t| t.trim().to_owned());
        if client.token.is_none() {
            anyhow::bail!(
                "chat reads the replies through the admin API: set AGENTHOST_ADMIN_TOKEN (or run the host with scripts/run.sh, which writes {})",
                file.display()
            );
        }
    }
    let lead = match args.from {
        Some(n) => n,
        None => {
            let digits = u32::from_str_radix(&random_hex(4)?, 16)? % 10_000_000;
            format!("+1555{digits:07}")
        }
    };
    let public = args
        .public_url
        .unwrap_or_else(|| format!("http://{}", config.listen))
        .trim_end_matches('/')
        .to_owned();
    // The signature covers the URL Twilio would post to: the host's public URL.
    let signed_url = format!("{}{}", config.public_url, agenthost_api::twilio::PATH);
    let conversation = agenthost_core::ConversationId::between(&args.agent_number, &lead);
    println!(
        "texting {} as {lead} (type a message and Enter; Ctrl-D to leave)",
        args.agent_number
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()?;
    let mut seen = last_message_id(&client, &conversation).await.unwrap_or(0);
    let (lines_tx, mut lines) = tokio::sync::mpsc::channel::<String>(16);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut line = String::new();
        loop {
            line.clear();
            match stdin.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if lines_tx.blocking_send(line.trim_end().to_owned()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    prompt();
    let mut open = true;
    while open {
        tokio::select! {
            line = lines.recv() => match line {
                None => open = false,
                Some(text) if text.trim().is_empty() => prompt(),
                Some(text) => {
                    let sid = format!("SM{}", random_hex(16)?);
                    let params = vec![
                        ("AccountSid".to_owned(), account_sid.to_owned()),
                        ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
                        ("Body".to_owned(), text),
                        ("From".to_owned(), lead.clone()),
                        ("MessageSid".to_owned(), sid.clone()),
                        ("NumMedia".to_owned(), "0".to_owned()),
                        ("NumSegments".to_owned(), "1".to_owned()),
                        ("SmsMessageSid".to_owned(), sid.clone()),
                        ("SmsSid".to_owned(), sid),
                        ("SmsStatus".to_owned(), "received".to_owned()),
                        ("To".to_owned(), args.agent_number.clone()),
                    ];
                    let signature = agenthost_twilio::signature::compute(auth_token.expose(), &signed_url, &params);
                    let resp = http
                        .post(format!("{public}{}", agenthost_api::twilio::PATH))
                        .header("x-twilio-signature", signature)
                        .form(&params)
                        .send()
                        .await
                        .with_context(|| format!("cannot reach the host at {public}"))?;
                    if !resp.status().is_success() {
                        let status = resp.status();
                        println!("! the host answered {status}: {}", resp.text().await.unwrap_or_default());
                        prompt();
                    }
                }
            },
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
        if let Ok(new) = new_messages(&client, &conversation, seen).await {
            for (id, line) in new {
                seen = seen.max(id);
                println!("\r{line}");
                prompt();
            }
        }
    }
    // Replies still on their way after the last line.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if let Ok(new) = new_messages(&client, &conversation, seen).await {
            for (id, line) in new {
                seen = seen.max(id);
                println!("{line}");
            }
        }
    }
    println!();
    Ok(ExitCode::SUCCESS)
}

fn prompt() {
    print!("you> ");
    let _ = std::io::stdout().flush();
}

async fn thread_json(client: &Client, conversation: &str) -> anyhow::Result<Option<Value>> {
    let path = format!("/admin/conversations/{}", seg(conversation));
    let resp = client
        .request(reqwest::Method::GET, &path)
        .send()
        .await
        .context("cannot reach the admin API")?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !resp.status().is_success() {
        anyhow::bail!("the admin API answered {}", resp.status());
    }
    Ok(Some(resp.json().await?))
}

async fn last_message_id(client: &Client, conversation: &str) -> anyhow::Result<i64> {
    Ok(thread_json(client, conversation)
        .await?
        .and_then(|v| {
            v["messages"]
                .as_array()
                .and_then(|m| m.last().and_then(|m| m["id"].as_i64()))
        })
        .unwrap_or(0))
}

/// Outbound messages after `seen`, as lines to print.
async fn new_messages(
    client: &Client,
    conversation: &str,
    seen: i64,
) -> anyhow::Result<Vec<(i64, String)>> {
    let Some(v) = thread_json(client, conversation).await? else {
        return Ok(Vec::new());
    };
    Ok(v["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["id"].as_i64().is_some_and(|id| id > seen) && m["direction"] == "outbound")
        .map(|m| {
            let who = match m["author"].as_str() {
                Some("staff") => format!("staff {}", m["staff"].as_str().unwrap_or("")),
                _ => "agent".to_owned(),
            };
            (
                m["id"].as_i64().unwrap_or(seen),
                format!("{who}> {}", m["body"].as_str().unwrap_or("")),
            )
        })
        .collect())
}
