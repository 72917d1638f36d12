//! Per-invocation store state: the host side of every import, the effect buffer the
//! imports fill, and the rules that bound and scope what a plugin hands the host. One
//! `HostState` lives exactly as long as one invocation's `Store`.
//!
//! The imports themselves are defined in `imports`, which checks every string's size in
//! guest memory before copying it; the methods here receive owned, already-bounded values
//! and enforce scope (recipients, conversations, alert kinds) and budgets.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::caps::{self, Budget, Capabilities};
use agenthost_core::AlertKind;

use crate::limits::{Limits, MemoryLimiter};
use agenthost_core::{ConversationId, Invocation, PluginName, VersionId};
use agenthost_core::{Effects, JobEffect, OutboundSms, PluginAlert, Severity, SlaEffect};

/// Effect records one invocation may buffer ("guest-controlled resource exhaustion").
pub const MAX_EFFECTS_PER_INVOCATION: usize = 1_000;
/// Alerts one invocation may raise: an agent raises one or two (a handoff, a booking).
pub const MAX_ALERTS_PER_INVOCATION: usize = 20;
/// Key/value details one alert may carry, and the longest detail name.
pub const MAX_ALERT_FIELDS: usize = 32;
pub const MAX_ALERT_FIELD_NAME_BYTES: usize = 64;
/// Longest alert kind a plugin may give (before the host's `plugin.<name>.` prefix).
pub const MAX_ALERT_KIND_BYTES: usize = 64;
pub const MAX_STATE_KEY_BYTES: usize = 512;
/// Twilio's own cap on a message body.
pub const MAX_SMS_BODY_CHARS: usize = 1_600;
/// The most bytes 1,600 characters of UTF-8 can take: checked before the body is copied.
pub const MAX_SMS_BODY_BYTES: usize = MAX_SMS_BODY_CHARS * 4;
pub const MAX_LIST_KEYS: u32 = 1_000;
pub const MAX_LOG_LINES_PER_INVOCATION: u32 = 200;
pub const MAX_LOG_LINE_BYTES: usize = 4_096;
pub const MAX_CONFIG_KEY_BYTES: usize = 256;
/// Job keys and names, SLA item ids and kinds: identifiers, not documents.
pub const MAX_IDENTIFIER_BYTES: usize = 512;
/// A conversation id is `<agent number>|<lead number>`.
pub const MAX_CONVERSATION_ID_BYTES: usize = 64;
/// Chat messages one LLM request may carry.
pub const MAX_LLM_MESSAGES: usize = 200;
/// The most output tokens one LLM request may ask for; larger asks are clamped.
pub const MAX_LLM_OUTPUT_TOKENS: u32 = 4_096;
/// What a WASI guest may print to stdout/stderr per invocation before writes fail.
pub const MAX_GUEST_STDIO_BYTES: usize = 64 << 10;

/// A rule the plugin broke. Ends the invocation as `Outcome::RuleViolation` naming the
/// rule; nothing it buffered is committed.
#[derive(Debug, thiserror::Error)]
#[error("{rule}: {message}")]
pub(crate) struct RuleViolation {
    /// Stable name of the rule, e.g. `sms.recipient`, `bytes.field`.
    pub rule: &'static str,
    pub message: String,
}

impl RuleViolation {
    pub fn refuse(rule: &'static str, message: impl Into<String>) -> wasmtime::Error {
        RuleViolation {
            rule,
            message: message.into(),
        }
        .into()
    }
}

/// A daily budget would be exceeded. Ends the invocation as `Outcome::BudgetExhausted`.
#[derive(Debug, thiserror::Error)]
#[error("daily {budget} budget of {limit} reached ({spent} spent today)")]
pub(crate) struct BudgetExceeded {
    pub budget: Budget,
    pub limit: u64,
    pub spent: u64,
}

/// A host capability failed; the invocation ends without committing and is retried.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HostFailure(pub String);

/// Who an invocation is about: what the plugin may touch besides its operator's list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The lead of the conversation being handled: the one number a reply may go to.
    pub lead: Option<String>,
    /// The conversation being handled; jobs may be scheduled for it without a lookup.
    pub conversation_id: Option<ConversationId>,
    /// A shadow candidate's run: its effects are never committed and its LLM tokens
    /// come from its own budget.
    pub shadow: bool,
}

impl Scope {
    /// The scope an invocation carries by itself: for a message, its sender (the lead)
    /// and conversation; a job's conversation must be looked up by the caller, so a job
    /// gets none here.
    pub fn of(invocation: &Invocation) -> Scope {
        match invocation {
            Invocation::Message(m) => Scope {
                lead: Some(m.from.clone()),
                conversation_id: Some(m.conversation_id.clone()),
                shadow: false,
            },
            Invocation::Job(_) => Scope::default(),
        }
    }
}

/// What the operator lets one plugin do beyond its own conversations (the `host` section
/// of its config file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Numbers it may text besides the lead of the conversation it handles (staff, the
    /// owner for escalations).
    pub sms_recipients: BTreeSet<String>,
    /// Whether its alerts may keep `critical` severity; otherwise they are capped at
    /// `warning`.
    pub allow_critical_alerts: bool,
}

pub(crate) struct HostState {
    pub plugin: PluginName,
    pub version: VersionId,
    pub config: Arc<BTreeMap<String, String>>,
    pub caps: Capabilities,
    pub deadline: Instant,
    pub effects: Effects,
    pub limiter: MemoryLimiter,
    pub limits: Limits,
    pub scope: Scope,
    pub policy: Arc<Policy>,
    /// Bytes copied out of guest memory so far (effects, state, logs, prompts).
    pub bytes_used: u64,
    /// What the ledger said was spent today, read once per budget per invocation.
    spent_today: BTreeMap<Budget, u64>,
    /// What this invocation adds to each budget if it commits.
    pending: BTreeMap<Budget, u64>,
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
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        plugin: PluginName,
        version: VersionId,
        config: Arc<BTreeMap<String, String>>,
        caps: Capabilities,
        deadline: Instant,
        limits: Limits,
        scope: Scope,
        policy: Arc<Policy>,
    ) -> HostState {
        HostState {
            plugin,
            version,
            config,
            caps,
            deadline,
            effects: Effects::default(),
            limiter: MemoryLimiter::new(usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX)),
            limits,
            scope,
            policy,
            bytes_used: 0,
            spent_today: BTreeMap::new(),
            pending: BTreeMap::new(),
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

    /// The budget subject: the plugin, or its shadow candidate's own account.
    pub fn budget_subject(&self) -> String {
        if self.scope.shadow {
            format!("{}@shadow", self.plugin)
        } else {
            self.plugin.to_string()
        }
    }

    fn push_effect(&self) -> wasmtime::Result<()> {
        if self.effects.len() >= MAX_EFFECTS_PER_INVOCATION {
            return Err(RuleViolation::refuse(
                "effects.count",
                format!("more than {MAX_EFFECTS_PER_INVOCATION} effects in one invocation"),
            ));
        }
        Ok(())
    }

    /// Counts `amount` more of `budget` for this invocation, refusing past today's limit.
    async fn spend(&mut self, budget: Budget, amount: u64) -> wasmtime::Result<()> {
        let limit = match budget {
            Budget::SmsSegments => self.limits.budgets.sms_segments,
            Budget::Jobs => self.limits.budgets.jobs,
            // Counted and enforced by the LLM gateway, not per import.
            Budget::LlmTokens => u64::MAX,
        };
        let spent = match self.spent_today.get(&budget) {
            Some(s) => *s,
            None => {
                let day = caps::utc_day(self.caps.clock.now_ms());
                let s = self
                    .caps
                    .budgets
                    .spent(&self.budget_subject(), budget, day)
                    .await
                    .map_err(|e| HostFailure(e.to_string()))?;
                self.spent_today.insert(budget, s);
                s
            }
        };
        let pending = self.pending.entry(budget).or_default();
        let total = spent.saturating_add(*pending).saturating_add(amount);
        if total > limit {
            return Err(BudgetExceeded {
                budget,
                limit,
                spent,
            }
            .into());
        }
        *pending += amount;
        Ok(())
    }

    // ---- state ---------------------------------------------------------------------

    pub async fn state_get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        check_key(&key)?;
        if let Some(buffered) = self.effects.state.get(&key) {
            return Ok(buffered.clone());
        }
        let read = self
            .caps
            .state
            .get(&self.plugin, &key)
            .await
            .map_err(|e| HostFailure(e.to_string()))?;
        // The first read of a key fixes the version the commit checks.
        self.effects
            .state_reads
            .entry(key)
            .or_insert(read.as_ref().map(|v| v.version));
        Ok(read.map(|v| v.value))
    }

    pub async fn state_list_keys(
        &mut self,
        prefix: String,
        limit: u32,
    ) -> wasmtime::Result<Vec<String>> {
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

    pub fn state_set(&mut self, key: String, value: Option<String>) -> wasmtime::Result<()> {
        check_key(&key)?;
        if !self.effects.state.contains_key(&key) {
            self.push_effect()?;
        }
        self.effects.state.insert(key, value);
        Ok(())
    }

    // ---- llm -----------------------------------------------------------------------

    pub async fn llm_complete(
        &mut self,
        mut request: caps::CompletionRequest,
    ) -> wasmtime::Result<Result<caps::Completion, caps::LlmError>> {
        request.max_tokens = request.max_tokens.min(MAX_LLM_OUTPUT_TOKENS);
        let subject = self.budget_subject();
        let caller = caps::LlmCaller {
            plugin: self.plugin.as_str(),
            budget_subject: &subject,
        };
        Ok(self
            .caps
            .llm
            .complete(&caller, request, self.deadline)
            .await)
    }

    // ---- log -----------------------------------------------------------------------

    /// Whether another log line may be written this invocation (logs a note once when the
    /// cap is first reached).
    pub fn log_line_allowed(&mut self) -> bool {
        self.log_lines += 1;
        if self.log_lines == MAX_LOG_LINES_PER_INVOCATION + 1 {
            tracing::warn!(plugin = %self.plugin, version = %self.version,
                "plugin log limit of {MAX_LOG_LINES_PER_INVOCATION} lines reached; dropping the rest of this invocation's lines");
        }
        self.log_lines <= MAX_LOG_LINES_PER_INVOCATION
    }

    // ---- effects -------------------------------------------------------------------

    pub async fn send_sms(&mut self, to: String, body: String) -> wasmtime::Result<()> {
        if !crate::sms::is_e164(&to) {
            return Err(RuleViolation::refuse(
                "sms.number",
                format!("{to:?} is not an E.164 phone number"),
            ));
        }
        let allowed = self.scope.lead.as_deref() == Some(to.as_str())
            || self.policy.sms_recipients.contains(&to);
        if !allowed {
            return Err(RuleViolation::refuse(
                "sms.recipient",
                format!(
                    "{to} is neither the lead of the conversation being handled nor a number the operator lists for this plugin"
                ),
            ));
        }
        let chars = body.chars().count();
        if chars > MAX_SMS_BODY_CHARS {
            return Err(RuleViolation::refuse(
                "sms.body",
                format!("sms body is {chars} characters; the limit is {MAX_SMS_BODY_CHARS}"),
            ));
        }
        self.push_effect()?;
        let segments = crate::sms::segments(&body);
        self.spend(Budget::SmsSegments, u64::from(segments)).await?;
        self.effects.sms.push(OutboundSms { to, body, segments });
        Ok(())
    }

    pub fn raise_alert(
        &mut self,
        kind: String,
        severity: Severity,
        message: String,
        fields: Vec<(String, String)>,
    ) -> wasmtime::Result<()> {
        let kind_ok = !kind.is_empty()
            && kind.len() <= MAX_ALERT_KIND_BYTES
            && kind.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
            });
        if !kind_ok {
            return Err(RuleViolation::refuse(
                "alert.kind",
                format!(
                    "alert kind {kind:?} must be 1-{MAX_ALERT_KIND_BYTES} of a-z, 0-9, '-', '_', '.'"
                ),
            ));
        }
        if self.effects.alerts.len() >= MAX_ALERTS_PER_INVOCATION {
            return Err(RuleViolation::refuse(
                "alert.count",
                format!("more than {MAX_ALERTS_PER_INVOCATION} alerts in one invocation"),
            ));
        }
        self.push_effect()?;
        let severity = match severity {
            Severity::Critical if !self.policy.allow_critical_alerts => Severity::Warning,
            s => s,
        };
        self.effects.alerts.push(PluginAlert {
            // Always `plugin.<name>.<kind>`: a plugin's alert can never pass for a host's.
            kind: AlertKind::plugin(self.plugin.as_str(), &kind).to_string(),
            severity,
            message,
            fields,
        });
        Ok(())
    }

    pub async fn schedule_job(
        &mut self,
        key: String,
        name: String,
        delay_ms: u64,
        payload: String,
        conversation_id: Option<String>,
    ) -> wasmtime::Result<()> {
        check_identifier("job key", &key)?;
        check_identifier("job name", &name)?;
        if let Some(c) = &conversation_id {
            self.check_own_conversation(c).await?;
        }
        self.push_effect()?;
        self.spend(Budget::Jobs, 1).await?;
        self.effects.jobs.push(JobEffect::Schedule {
            key,
            name,
            delay_ms,
            payload,
            conversation_id,
        });
        Ok(())
    }

    /// A job may only be scheduled for a conversation of this plugin's.
    async fn check_own_conversation(&mut self, id: &str) -> wasmtime::Result<()> {
        if self.scope.conversation_id.as_deref() == Some(id) {
            return Ok(());
        }
        let info = self
            .caps
            .directory
            .conversation(id)
            .await
            .map_err(|e| HostFailure(e.to_string()))?;
        match info {
            Some(info) if info.plugin.as_deref() == Some(self.plugin.as_str()) => Ok(()),
            _ => Err(RuleViolation::refuse(
                "job.conversation",
                format!(
                    "conversation {id:?} does not belong to plugin {}",
                    self.plugin
                ),
            )),
        }
    }

    pub fn cancel_job(&mut self, key: String) -> wasmtime::Result<()> {
        check_identifier("job key", &key)?;
        self.push_effect()?;
        self.effects.jobs.push(JobEffect::Cancel { key });
        Ok(())
    }

    pub fn track_sla(
        &mut self,
        item_id: String,
        kind: String,
        description: String,
        deadline_at_ms: u64,
    ) -> wasmtime::Result<()> {
        check_identifier("sla item id", &item_id)?;
        check_identifier("sla kind", &kind)?;
        self.push_effect()?;
        self.effects.slas.push(SlaEffect::Track {
            item_id,
            kind,
            description,
            deadline_at_ms,
        });
        Ok(())
    }

    pub fn resolve_sla(&mut self, item_id: String) -> wasmtime::Result<()> {
        check_identifier("sla item id", &item_id)?;
        self.push_effect()?;
        self.effects.slas.push(SlaEffect::Resolve { item_id });
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
        return Err(RuleViolation::refuse(
            "state.key",
            format!(
                "state key must be 1..={MAX_STATE_KEY_BYTES} bytes, got {}",
                key.len()
            ),
        ));
    }
    Ok(())
}

fn check_identifier(what: &str, id: &str) -> wasmtime::Result<()> {
    if id.is_empty() || id.len() > MAX_IDENTIFIER_BYTES {
        return Err(RuleViolation::refuse(
            "identifier",
            format!(
                "{what} must be 1..={MAX_IDENTIFIER_BYTES} bytes, got {}",
                id.len()
            ),
        ));
    }
    Ok(())
}
