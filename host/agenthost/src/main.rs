//! `agenthost`: one binary for the whole host. `serve` runs the roles; `plugin run` tries a
//! component once; `check-config` validates the environment.
//!
//! # Layout
//! - `admin_cli`  — `agenthost plugin upload|list|show|activate|rollback|rollout`: the
//!   admin API of a running host from a terminal.
//! - `config`     — typed configuration from the environment, validated at start-up.
//! - `console_cli` — `agenthost dead-letters|conversations|alerts|summary` (the console's
//!   API from a terminal) and `agenthost chat` (talk to an agent through the webhook).
//! - `plugin_run` — `agenthost plugin run`: one invocation, printed.
//! - `serve`      — composes storage, queue, runtime, pipeline and HTTP; drains on SIGTERM.
//! - `telemetry`  — tracing subscriber (text or JSON).

mod admin_cli;
mod config;
mod console_cli;
mod plugin_run;
mod serve;
mod telemetry;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "agenthost",
    version,
    about = "Runs SMS agents as sandboxed WebAssembly plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process; the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the host (web, worker and scheduler roles; see AGENTHOST_ROLES).
    Serve,
    /// Validate the configuration from the environment and print it, secrets redacted.
    CheckConfig,
    /// Work with plugin components.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Print the deployment record (DEPLOYMENT_STATE.md) of a running host, or straight
    /// from the database with --direct.
    State(admin_cli::StateArgs),
    /// Dead letters of a running host: list, requeue, discard.
    #[command(subcommand)]
    DeadLetters(console_cli::DeadLetterCommand),
    /// Conversations of a running host: search, show, take over, reply, release.
    #[command(subcommand)]
    Conversations(console_cli::ConversationCommand),
    /// Recent alerts of a running host, newest first.
    Alerts(console_cli::ListArgs),
    /// The live summary of a running host (rates, latency, queues, dead letters).
    Summary(admin_cli::Target),
    /// Text an agent of a running host from this terminal, through the signed webhook,
    /// and see its replies.
    Chat(console_cli::ChatArgs),
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Invoke a component once, in-memory, and print the outcome and its effects.
    Run(plugin_run::RunArgs),
    #[command(flatten)]
    Deploy(admin_cli::DeployCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match config::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("agenthost: invalid configuration: {e}");
            return ExitCode::from(78); // EX_CONFIG
        }
    };
    telemetry::init(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("agenthost: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => {
                // What the configuration lacks is named before any port is bound: a
                // missing credential must not hide behind a port another process holds.
                config.require_twilio()?;
                let listeners = serve::Listeners::bind(&config).await?;
                serve::serve(config, listeners, serve::shutdown_signal()).await
            }
            Command::CheckConfig => {
                print!("{}", config.render_redacted());
                Ok(ExitCode::SUCCESS)
            }
            Command::Plugin(PluginCommand::Run(args)) => plugin_run::run(&config, args).await,
            Command::Plugin(PluginCommand::Deploy(c)) => admin_cli::run(&config, c).await,
            Command::State(args) => admin_cli::state(&config, args).await,
            Command::DeadLetters(c) => console_cli::dead_letters(&config, c).await,
            Command::Conversations(c) => console_cli::conversations(&config, c).await,
            Command::Alerts(args) => console_cli::alerts(&config, args).await,
            Command::Summary(target) => console_cli::summary(&config, target).await,
            Command::Chat(args) => console_cli::chat(&config, args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("agenthost: {e:#}");
            ExitCode::FAILURE
        }
    }
}
