//! The gateway: walks a plugin's fallback chain, and per provider passes the breaker,
//! waits at the (provider, model) gate, retries with jittered backoff, all inside the
//! caller's deadline; then accounts tokens, cost and budget.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agenthost_runtime::{
    Budget, BudgetLedger, Clock, Completion, CompletionRequest, LlmCaller, LlmError, LlmGateway,
    utc_day,
};
use async_trait::async_trait;
use tokio::sync::Semaphore;

use crate::accounting::{Accounting, AlertSink, RequestResult, UsageSnapshot};
use crate::breaker::{Breaker, BreakerChange, BreakerState};
use crate::config::{LlmConfig, ProviderConfig, ProviderKind};
use crate::metrics;
use crate::provider::{self, AttemptError};
use agenthost_core::{AlertKind, Backoff, HostAlert, Severity};

/// The message of `Unavailable` when no provider has a key.
pub const NO_PROVIDER_MESSAGE: &str = "no LLM provider is configured";
/// How long an idle pooled connection to a provider is kept.
const POOL_IDLE_TIMEOUT_SECS: u64 = 90;

/// The gateway could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("building the LLM HTTP client failed: {0}")]
    HttpClient(#[from] reqwest::Error),
}

/// A provider with its live state.
struct Provider {
    kind: ProviderKind,
    config: ProviderConfig,
    breaker: Breaker,
    /// The (provider, model) gate: each provider has one model, so one semaphore.
    gate: Arc<Semaphore>,
}

/// Every counter and every breaker at one moment, for `/metrics` and the admin API.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmSnapshot {
    pub usage: UsageSnapshot,
    /// provider → (model, breaker state, free gate permits).
    pub providers: BTreeMap<ProviderKind, ProviderSnapshot>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSnapshot {
    pub model: String,
    pub breaker: BreakerState,
    pub gate_capacity: usize,
    pub gate_available: usize,
}

/// The host's LLM gateway; implements [`LlmGateway`].
pub struct Gateway {
    config: LlmConfig,
    providers: BTreeMap<ProviderKind, Provider>,
    client: reqwest::Client,
    backoff: Backoff,
    accounting: Accounting,
    /// Durable per-day token counts, shared by every replica.
    ledger: Arc<dyn BudgetLedger>,
    alerts: Arc<dyn AlertSink>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `LlmConfig`'s Debug redacts keys.
        f.debug_struct("Gateway")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How one provider's turn in the chain ended without a completion.
enum ProviderFailure {
    /// The breaker refused the call before any request.
    CircuitOpen,
    /// The deadline passed (waiting at the gate, or in flight).
    Deadline,
    /// The provider failed; the last attempt's error.
    Failed(AttemptError),
}

impl Gateway {
    /// Builds the gateway. `clock` drives breaker cool-downs and budget days; `ledger`
    /// holds the durable per-day token counts (shared by every replica); `alerts`
    /// receives budget alerts and a provider's breaker opening (`dependency_down`) and
    /// closing (`dependency_restored`).
    pub fn new(
        config: LlmConfig,
        clock: Arc<dyn Clock>,
        ledger: Arc<dyn BudgetLedger>,
        alerts: Arc<dyn AlertSink>,
    ) -> Result<Self, GatewayError> {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(POOL_IDLE_TIMEOUT_SECS))
            .build()?;
        let providers = config
            .providers
            .iter()
            .map(|(&kind, pc)| {
                let p = Provider {
                    kind,
                    config: pc.clone(),
                    breaker: Breaker::new(
                        config.breaker_failures,
                        config.breaker_cooldown,
                        clock.clone(),
                    ),
                    gate: Arc::new(Semaphore::new(config.concurrency)),
                };
                (kind, p)
            })
            .collect();
        Ok(Self {
            backoff: Backoff::full(config.backoff_base, config.backoff_cap),
            providers,
            client,
            accounting: Accounting::new(clock.clone()),
            ledger,
            alerts,
            clock,
            config,
        })
    }

    /// Every counter, budget and breaker now.
    pub fn snapshot(&self) -> LlmSnapshot {
        LlmSnapshot {
            usage: self.accounting.snapshot(),
            providers: self
                .providers
                .values()
                .map(|p| {
                    let s = ProviderSnapshot {
                        model: p.config.model.clone(),
                        breaker: p.breaker.state(),
                        gate_capacity: self.config.concurrency,
                        gate_available: p.gate.available_permits(),
                    };
                    (p.kind, s)
                })
                .collect(),
        }
    }

    /// The snapshot in the Prometheus text exposition format.
    pub fn render_prometheus(&self) -> String {
        metrics::render(&self.snapshot())
    }

    async fn run(
        &self,
        caller: &LlmCaller<'_>,
        request: &CompletionRequest,
        deadline: Instant,
    ) -> Result<Completion, LlmError> {
        let plugin = caller.plugin;
        if self.providers.is_empty() {
            return Err(LlmError::Unavailable(NO_PROVIDER_MESSAGE.into()));
        }
        let chain = self.config.chain_for(plugin);
        if chain.is_empty() {
            return Err(LlmError::Unavailable(format!(
                "no configured LLM provider is in plugin {plugin}'s chain"
            )));
        }
        // The budget, from the durable ledger every replica shares. A failing ledger
        // refuses rather than spends blind.
        let limit = self.config.daily_tokens_for(plugin);
        let day = utc_day(self.clock.now_ms());
        let mut request = request.clone();
        if limit > 0 {
            let subject = caller.budget_subject;
            let spent = self
                .ledger
                .spent(subject, Budget::LlmTokens, day)
                .await
                .map_err(|e| LlmError::Unavailable(format!("token budget unreadable: {e}")))?;
            self.accounting.record_spent(subject, day, spent, limit);
            if spent >= limit {
                if self
                    .ledger
                    .first_exhaustion(subject, Budget::LlmTokens, day)
                    .await
                    .unwrap_or(false)
                {
                    let message = format!(
                        "{subject} spent its daily LLM budget ({spent} of {limit} tokens); \
                         LLM calls are refused until UTC midnight"
                    );
                    tracing::warn!(plugin, %message, "llm budget exhausted");
                    self.alerts.raise(
                        HostAlert::new(AlertKind::LlmBudgetExhausted, Severity::Warning, message)
                            .plugin(plugin),
                    );
                }
                return Err(LlmError::BudgetExhausted);
            }
            // Never ask for more output than the budget has left.
            let left = u32::try_from(limit - spent).unwrap_or(u32::MAX);
            request.max_tokens = request.max_tokens.min(left).max(1);
        }
        let request = &request;

        let mut summary = Vec::with_capacity(chain.len());
        let mut open = 0;
        for kind in &chain {
            let provider = &self.providers[kind];
            match self.try_provider(plugin, provider, request, deadline).await {
                Ok(c) => {
                    self.charge(caller, day, c.input_tokens, c.output_tokens)
                        .await;
                    return Ok(c);
                }
                Err(ProviderFailure::Deadline) => return Err(LlmError::Timeout),
                Err(ProviderFailure::CircuitOpen) => {
                    open += 1;
                    summary.push(format!("{kind}: circuit breaker open"));
                }
                Err(ProviderFailure::Failed(e)) => {
                    tracing::warn!(plugin, provider = %kind, error = %e, "llm provider failed, failing over");
                    summary.push(format!("{kind}: {e}"));
                }
            }
        }
        if Instant::now() >= deadline {
            Err(LlmError::Timeout)
        } else if open == chain.len() {
            Err(LlmError::Unavailable(format!(
                "every provider's circuit breaker is open ({})",
                chain
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        } else {
            Err(LlmError::Failed(summary.join("; ")))
        }
    }

    /// Counts a completion's tokens in the durable ledger (they are spent at the provider
    /// whatever happens to the invocation).
    async fn charge(&self, caller: &LlmCaller<'_>, day: i64, input: u32, output: u32) {
        let tokens = u64::from(input) + u64::from(output);
        let limit = self.config.daily_tokens_for(caller.plugin);
        match self
            .ledger
            .charge(caller.budget_subject, Budget::LlmTokens, day, tokens)
            .await
        {
            Ok(total) => self
                .accounting
                .record_spent(caller.budget_subject, day, total, limit),
            Err(e) => {
                tracing::error!(subject = caller.budget_subject, tokens, error = %e, "could not record spent LLM tokens")
            }
        }
    }

    /// One provider's turn: attempts with retries until success, a non-retryable error,
    /// retries spent, an open breaker, or a backoff that would cross the deadline.
    async fn try_provider(
        &self,
        plugin: &str,
        provider: &Provider,
        request: &CompletionRequest,
        deadline: Instant,
    ) -> Result<Completion, ProviderFailure> {
        let name = provider.kind.as_str();
        let mut attempt = 0u32;
        let mut last_error: Option<AttemptError> = None;
        loop {
            let Some(ticket) = provider.breaker.try_acquire() else {
                // Opened by our own failures mid-retry: report what failed, not the breaker.
                return Err(
                    last_error.map_or(ProviderFailure::CircuitOpen, ProviderFailure::Failed)
                );
            };
            let permit = tokio::time::timeout_at(deadline.into(), provider.gate.acquire())
                .await
                .map_err(|_| ProviderFailure::Deadline)?
                .expect("gate semaphore is never closed");
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(ProviderFailure::Deadline);
            }
            let result = provider::send(
                &self.client,
                provider.kind,
                &provider.config,
                request,
                remaining,
            )
            .await;
            drop(permit);
            let error = match result {
                Ok(reply) => {
                    self.breaker_changed(provider, ticket.success(), None);
                    self.accounting.record_attempt(plugin, name, "ok");
                    let (input, output) = (reply.input_tokens, reply.output_tokens);
                    let cost = provider
                        .config
                        .price
                        .cost_micro_usd(input.into(), output.into());
                    self.accounting
                        .record_tokens(plugin, name, input.into(), output.into(), cost);
                    return Ok(Completion {
                        text: reply.text,
                        provider: name.to_owned(),
                        model: provider.config.model.clone(),
                        input_tokens: input,
                        output_tokens: output,
                    });
                }
                Err(e) => e,
            };
            let change = if error.counts_against_breaker() {
                ticket.failure()
            } else {
                ticket.success()
            };
            self.breaker_changed(provider, change, Some(&error));
            self.accounting
                .record_attempt(plugin, name, error.outcome());
            if error == AttemptError::Timeout && Instant::now() >= deadline {
                return Err(ProviderFailure::Deadline);
            }
            if !error.retryable() || attempt >= self.config.max_retries {
                return Err(ProviderFailure::Failed(error));
            }
            let delay = self.backoff.delay(attempt, error.retry_after());
            if Instant::now() + delay >= deadline {
                // Sleeping would cross the deadline: give the next provider the time.
                return Err(ProviderFailure::Failed(error));
            }
            tracing::debug!(plugin, provider = name, attempt, ?delay, error = %error, "llm attempt failed, retrying");
            tokio::time::sleep(delay).await;
            last_error = Some(error);
            attempt += 1;
        }
    }
}

impl Gateway {
    /// Alerts a breaker opening (`dependency_down`, once per outage: a failed probe that
    /// re-opens it is the same outage) or closing (`dependency_restored`).
    fn breaker_changed(
        &self,
        provider: &Provider,
        change: Option<BreakerChange>,
        error: Option<&AttemptError>,
    ) {
        let Some(change) = change else {
            return;
        };
        let dependency = format!("llm:{}", provider.kind.as_str());
        let now_ms = self.clock.now_ms();
        match change {
            BreakerChange::Opened => {
                let message = format!(
                    "dependency {dependency} is down: circuit breaker open after {} \
                     consecutive failures",
                    self.config.breaker_failures
                );
                tracing::error!(provider = %provider.kind, %message, "llm provider down");
                let mut fields = vec![
                    ("dependency".to_owned(), dependency),
                    ("since_ms".to_owned(), now_ms.to_string()),
                    ("model".to_owned(), provider.config.model.clone()),
                ];
                if let Some(error) = error {
                    // Provider errors are already scrubbed of keys.
                    fields.push(("error".to_owned(), error.to_string()));
                }
                self.alerts.raise(
                    HostAlert::new(AlertKind::DependencyDown, Severity::Critical, message)
                        .fields(fields),
                );
            }
            BreakerChange::Closed { open_since_ms } => {
                let outage = Duration::from_millis(now_ms.saturating_sub(open_since_ms));
                tracing::info!(provider = %provider.kind, ?outage, "llm provider back");
                let fields = vec![
                    ("dependency".to_owned(), dependency.clone()),
                    ("since_ms".to_owned(), open_since_ms.to_string()),
                    ("outage".to_owned(), agenthost_core::human_duration(outage)),
                    ("outage_ms".to_owned(), outage.as_millis().to_string()),
                ];
                self.alerts.raise(
                    HostAlert::new(
                        AlertKind::DependencyRestored,
                        Severity::Info,
                        format!("dependency {dependency} is back"),
                    )
                    .fields(fields),
                );
            }
        }
    }
}

#[async_trait]
impl LlmGateway for Gateway {
    async fn complete(
        &self,
        caller: &LlmCaller<'_>,
        request: CompletionRequest,
        deadline: Instant,
    ) -> Result<Completion, LlmError> {
        let plugin = caller.plugin;
        let result = if self.providers.is_empty() {
            // Fast path, nothing to time.
            Err(LlmError::Unavailable(NO_PROVIDER_MESSAGE.into()))
        } else {
            tokio::time::timeout_at(deadline.into(), self.run(caller, &request, deadline))
                .await
                .unwrap_or(Err(LlmError::Timeout))
        };
        let outcome = match &result {
            Ok(_) => RequestResult::Ok,
            Err(LlmError::BudgetExhausted) => RequestResult::BudgetExhausted,
            Err(LlmError::Unavailable(_)) => RequestResult::Unavailable,
            Err(LlmError::Timeout) => RequestResult::Timeout,
            Err(LlmError::Failed(_)) => RequestResult::Failed,
        };
        self.accounting.record_request(plugin, outcome);
        result
    }
}
