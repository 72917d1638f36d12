//! Per-invocation store state: the host side of every import, and the effect buffer the
//! imports fill. One `HostState` lives exactly as long as one invocation's `Store`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::agenthost::plugin::{clock, config, effects, llm, log, state, types};
use crate::caps::{self, Capabilities};
use crate::effects::{Effects, JobEffect, OutboundSms, PluginAlert, Severity, SlaEffect};
use crate::limits::MemoryLimiter;
use crate::plugin::{PluginName, VersionId};

/// Effect records one invocation may buffer ("guest-controlled resource exhaustion").
pub const MAX_EFFECTS_PER_INVOCATION: usize = 1_000;
pub const MAX_STATE_KEY_BYTES: usize = 512;
pub const MAX_STATE_VALUE_BYTES: usize = 1 << 20;
/// Twilio's own cap on a message body.
pub const MAX_SMS_BODY_CHARS: usize = 1_600;
pub const MAX_LIST_KEYS: u32 = 1_000;
pub const MAX_LOG_LINES_PER_INVOCATION: u32 = 200;
pub const MAX_LOG_LINE_BYTES: usize = 4_096;
/// What a WASI guest may print to stdout/stderr per invocation before writes fail.
pub const MAX_GUEST_STDIO_BYTES: usize = 64 << 10;

/// A rule the plugin broke; ends the invocation as a trap naming the rule.
#[derive(Debug, thiserror::Error)]
#[error("plugin broke a host rule: {0}")]
pub(crate) struct RuleViolation(pub String);

/// A host capability failed; the invocation ends without committing and is retried.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HostFailure(pub String);

pub(crate) struct HostState {
    pub plugin: PluginName,
    pub version: VersionId,
    pub config: Arc<BTreeMap<String, String>>,
    pub caps: Capabilities,
    pub deadline: Instant,
    pub effects: Effects,
    pub limiter: MemoryLimiter,
    /// Built on first use: a plugin that imports no WASI never pays for it.
    wasi: Option<WasiState>,
    log_lines: u32,
}

struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl HostState {
    pub fn new(
        plugin: PluginName,
        version: VersionId,
        config: Arc<BTreeMap<String, String>>,
        caps: Capabilities,
        deadline: Instant,
        memory_bytes: u64,
    ) -> HostState {
        HostState {
            plugin,
            version,
            config,
            caps,
            deadline,
            effects: Effects::default(),
            limiter: MemoryLimiter {
                max_bytes: memory_bytes as usize,
                hit: false,
            },
            wasi: None,
            log_lines: 0,
        }
    }

    /// Sends what a WASI guest printed to the host log, tagged with the plugin.
    pub fn flush_guest_stdio(&mut self) {
        let Some(w) = &self.wasi else { return };
        for (stream, pipe) in [("stdout", &w.stdout), ("stderr", &w.stderr)] {
            let bytes = pipe.contents();
            for line in String::from_utf8_lossy(&bytes)
                .lines()
                .filter(|l| !l.is_empty())
            {
                tracing::info!(plugin = %self.plugin, version = %self.version, stream, "{line}");
            }
        }
    }

    fn push_effect(&self) -> wasmtime::Result<()> {
        if self.effects.len() >= MAX_EFFECTS_PER_INVOCATION {
            return Err(RuleViolation(format!(
                "more than {MAX_EFFECTS_PER_INVOCATION} effects in one invocation"
            ))
            .into());
        }
        Ok(())
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let w = self.wasi.get_or_insert_with(|| {
            let stdout = MemoryOutputPipe::new(MAX_GUEST_STDIO_BYTES);
            let stderr = MemoryOutputPipe::new(MAX_GUEST_STDIO_BYTES);
            // Locked down: no preopened directories, no environment, no arguments, no
            // network of any kind. Clocks and randomness stay (std needs them).
            let ctx = WasiCtx::builder()
                .stdout(stdout.clone())
                .stderr(stderr.clone())
                .allow_tcp(false)
                .allow_udp(false)
                .allow_ip_name_lookup(false)
                .socket_addr_check(|_, _| Box::pin(async { false }))
                .build();
            WasiState {
                ctx,
                table: ResourceTable::new(),
                stdout,
                stderr,
            }
        });
        WasiCtxView {
            ctx: &mut w.ctx,
            table: &mut w.table,
        }
    }
}

fn check_key(key: &str) -> wasmtime::Result<()> {
    if key.is_empty() || key.len() > MAX_STATE_KEY_BYTES {
        return Err(RuleViolation(format!(
            "state key must be 1..={MAX_STATE_KEY_BYTES} bytes, got {}",
            key.len()
        ))
        .into());
    }
    Ok(())
}

impl types::Host for HostState {}

impl state::Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        check_key(&key)?;
        if let Some(buffered) = self.effects.state.get(&key) {
            return Ok(buffered.clone());
        }
        self.caps
            .state
            .get(&self.plugin, &key)
            .await
            .map_err(|e| HostFailure(e.to_string()).into())
    }

    async fn list_keys(&mut self, prefix: String, limit: u32) -> wasmtime::Result<Vec<String>> {
        let limit = limit.min(MAX_LIST_KEYS) as usize;
        // Buffered deletes can hide at most `state.len()` stored keys: fetch that many more.
        let fetch = limit + self.effects.state.len();
        let mut keys = self
            .caps
            .state
            .list_keys(&self.plugin, &prefix, fetch)
            .await
            .map_err(|e| HostFailure(e.to_string()))?;
        for (k, v) in self
            .effects
            .state
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
        {
            match v {
                Some(_) => keys.push(k.clone()),
                None => keys.retain(|x| x != k),
            }
        }
        keys.sort_unstable();
        keys.dedup();
        keys.truncate(limit);
        Ok(keys)
    }

    async fn set(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        check_key(&key)?;
        if value.len() > MAX_STATE_VALUE_BYTES {
            return Err(RuleViolation(format!(
                "state value for {key:?} is {} bytes; the limit is {MAX_STATE_VALUE_BYTES}",
                value.len()
            ))
            .into());
        }
        if !self.effects.state.contains_key(&key) {
            self.push_effect()?;
        }
        self.effects.state.insert(key, Some(value));
        Ok(())
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        check_key(&key)?;
        if !self.effects.state.contains_key(&key) {
            self.push_effect()?;
        }
        self.effects.state.insert(key, None);
        Ok(())
    }
}

impl llm::Host for HostState {
    async fn complete(
        &mut self,
        request: llm::CompletionRequest,
    ) -> wasmtime::Result<Result<llm::Completion, llm::LlmError>> {
        let request = caps::CompletionRequest {
            system: request.system,
            messages: request
                .messages
                .into_iter()
                .map(|m| caps::ChatMessage {
                    role: match m.role {
                        llm::Role::User => caps::ChatRole::User,
                        llm::Role::Assistant => caps::ChatRole::Assistant,
                    },
                    content: m.content,
                })
                .collect(),
            max_tokens: request.max_tokens,
            temperature: request.temperature,
        };
        let result = self
            .caps
            .llm
            .complete(&self.plugin, request, self.deadline)
            .await;
        Ok(match result {
            Ok(c) => Ok(llm::Completion {
                text: c.text,
                provider: c.provider,
                model: c.model,
                input_tokens: c.input_tokens,
                output_tokens: c.output_tokens,
            }),
            Err(caps::LlmError::Unavailable(why)) => Err(llm::LlmError::Unavailable(why)),
            Err(caps::LlmError::BudgetExhausted) => Err(llm::LlmError::BudgetExhausted),
            Err(caps::LlmError::Timeout) => Err(llm::LlmError::Timeout),
            Err(caps::LlmError::Failed(why)) => Err(llm::LlmError::Failed(why)),
        })
    }
}

impl clock::Host for HostState {
    async fn now_ms(&mut self) -> wasmtime::Result<u64> {
        Ok(self.caps.clock.now_ms())
    }
}

impl log::Host for HostState {
    async fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES_PER_INVOCATION {
            if self.log_lines == MAX_LOG_LINES_PER_INVOCATION + 1 {
                tracing::warn!(plugin = %self.plugin, version = %self.version,
                    "plugin log limit of {MAX_LOG_LINES_PER_INVOCATION} lines reached; dropping the rest of this invocation's lines");
            }
            return Ok(());
        }
        let mut message = message;
        if message.len() > MAX_LOG_LINE_BYTES {
            let mut cut = MAX_LOG_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("… (truncated)");
        }
        let (p, v) = (&self.plugin, &self.version);
        match level {
            log::Level::Debug => tracing::debug!(plugin = %p, version = %v, "{message}"),
            log::Level::Info => tracing::info!(plugin = %p, version = %v, "{message}"),
            log::Level::Warn => tracing::warn!(plugin = %p, version = %v, "{message}"),
            log::Level::Error => tracing::error!(plugin = %p, version = %v, "{message}"),
        }
        Ok(())
    }
}

impl config::Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.config.get(&key).cloned())
    }
}

impl effects::Host for HostState {
    async fn send_sms(&mut self, to: String, body: String) -> wasmtime::Result<()> {
        let chars = body.chars().count();
        if chars > MAX_SMS_BODY_CHARS {
            return Err(RuleViolation(format!(
                "sms body is {chars} characters; the limit is {MAX_SMS_BODY_CHARS}"
            ))
            .into());
        }
        self.push_effect()?;
        self.effects.sms.push(OutboundSms { to, body });
        Ok(())
    }

    async fn raise_alert(&mut self, alert: effects::Alert) -> wasmtime::Result<()> {
        self.push_effect()?;
        self.effects.alerts.push(PluginAlert {
            kind: alert.kind,
            severity: match alert.severity {
                effects::Severity::Info => Severity::Info,
                effects::Severity::Warning => Severity::Warning,
                effects::Severity::Critical => Severity::Critical,
            },
            message: alert.message,
            fields: alert.fields,
        });
        Ok(())
    }

    async fn schedule_job(
        &mut self,
        key: String,
        name: String,
        delay_ms: u64,
        payload: String,
        conversation_id: Option<String>,
    ) -> wasmtime::Result<()> {
        self.push_effect()?;
        self.effects.jobs.push(JobEffect::Schedule {
            key,
            name,
            delay_ms,
            payload,
            conversation_id,
        });
        Ok(())
    }

    async fn cancel_job(&mut self, key: String) -> wasmtime::Result<()> {
        self.push_effect()?;
        self.effects.jobs.push(JobEffect::Cancel { key });
        Ok(())
    }

    async fn track_sla(
        &mut self,
        item_id: String,
        kind: String,
        description: String,
        deadline_at_ms: u64,
    ) -> wasmtime::Result<()> {
        self.push_effect()?;
        self.effects.slas.push(SlaEffect::Track {
            item_id,
            kind,
            description,
            deadline_at_ms,
        });
        Ok(())
    }

    async fn resolve_sla(&mut self, item_id: String) -> wasmtime::Result<()> {
        self.push_effect()?;
        self.effects.slas.push(SlaEffect::Resolve { item_id });
        Ok(())
    }
}
