//! `agenthost plugin run FILE --message TEXT`: the quickest way to try a plugin. Loads the
//! component under the host's real engine settings, invokes it once with in-memory state,
//! and prints the outcome, effects, fuel and time. Nothing is sent anywhere.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use agenthost_runtime::{
    Capabilities, Clock, InboundMessage, Invocation, JobFiring, PluginName, RequestedLimits,
    Runtime, RuntimeConfig, Scope, SystemClock,
};
use anyhow::Context;

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The component file (.wasm).
    file: PathBuf,
    /// Body of an inbound SMS to hand to `handle-message`.
    #[arg(long, conflicts_with = "job")]
    message: Option<String>,
    /// Name of a job to hand to `handle-job` instead.
    #[arg(long)]
    job: Option<String>,
    /// Payload for `--job`.
    #[arg(long, default_value = "")]
    payload: String,
    #[arg(long, default_value = "+15550000001")]
    from: String,
    #[arg(long, default_value = "+15550000002")]
    to: String,
    /// Plugin name (state namespace and config file); default: the file stem.
    #[arg(long)]
    name: Option<String>,
    #[arg(long)]
    fuel: Option<u64>,
    #[arg(long)]
    memory_mb: Option<u64>,
    #[arg(long)]
    timeout_ms: Option<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(config: &Config, args: RunArgs) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let name: PluginName = match &args.name {
        Some(n) => n.parse().map_err(anyhow::Error::msg)?,
        None => args
            .file
            .file_stem()
            .and_then(|s| s.to_str())
            .context("the file has no usable name; pass --name")?
            .parse()
            .map_err(anyhow::Error::msg)?,
    };
    let (caps, _state) = Capabilities::in_memory();
    let runtime = Runtime::new(
        RuntimeConfig {
            defaults: config.runtime.defaults,
            ceilings: config.runtime.ceilings,
            max_instances: 4,
            cache_dir: None,
        },
        caps,
    )?;
    let limits = RequestedLimits {
        fuel: args.fuel,
        memory_bytes: args.memory_mb.map(|m| m << 20),
        wall_clock_ms: args.timeout_ms,
        ..Default::default()
    };
    // The plugin's operator config and policy, as the host would load them.
    let (plugin_config, policy) =
        agenthost_runtime::registry::read_plugin_config(&config.deploy.plugin_config_dir, &name)
            .map_err(anyhow::Error::msg)?;
    let plugin = runtime
        .load_with_policy(name.clone(), &bytes, limits, plugin_config, policy)
        .await
        .with_context(|| format!("loading {}", args.file.display()))?;
    let now = Arc::new(SystemClock).now_ms();
    let invocation = match (&args.message, &args.job) {
        (_, Some(job)) => Invocation::Job(JobFiring {
            name: job.clone(),
            conversation_id: None,
            payload: args.payload.clone(),
            scheduled_at_ms: now,
            dry_run: true,
        }),
        (Some(body), None) => Invocation::Message(InboundMessage {
            conversation_id: agenthost_core::ConversationId::between(&args.to, &args.from),
            message_id: "SMcli".into(),
            from: args.from.clone(),
            to: args.to.clone(),
            body: body.clone(),
            received_at_ms: now,
            history: vec![],
            dry_run: true,
        }),
        (None, None) => anyhow::bail!("give --message TEXT or --job NAME"),
    };
    let scope = Scope::of(&invocation);
    let report = plugin.invoke(invocation, scope).await;
    if args.json {
        let out = serde_json::json!({
            "plugin": report.plugin,
            "version": report.version,
            "description": plugin.description(),
            "outcome": report.outcome,
            "effects": report.effects,
            "fuel_used": report.fuel_used,
            "duration_us": report.duration.as_micros() as u64,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let d = plugin.description();
        println!(
            "plugin   {} ({} {}), version {}",
            report.plugin, d.name, d.version, report.version
        );
        println!("outcome  {}", report.outcome);
        println!("fuel     {} of {}", report.fuel_used, plugin.limits().fuel);
        println!("time     {:?}", report.duration);
        for sms in &report.effects.sms {
            println!("sms      to {}: {}", sms.to, sms.body);
        }
        for alert in &report.effects.alerts {
            println!(
                "alert    [{:?}] {}: {}",
                alert.severity, alert.kind, alert.message
            );
        }
        for job in &report.effects.jobs {
            println!("job      {job:?}");
        }
        for sla in &report.effects.slas {
            println!("sla      {sla:?}");
        }
        for (k, v) in &report.effects.state {
            println!("state    {k} = {}", v.as_deref().unwrap_or("(deleted)"));
        }
    }
    Ok(if report.outcome.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
