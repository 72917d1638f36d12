//! Renders an [`LlmSnapshot`] in the Prometheus text exposition format.

use agenthost_core::prom::{header, sample};

use crate::breaker::BreakerState;
use crate::gateway::LlmSnapshot;

/// The snapshot as Prometheus text: one `# HELP`/`# TYPE` per family, labels escaped.
pub(crate) fn render(s: &LlmSnapshot) -> String {
    let mut out = String::new();
    let u = &s.usage;
    header(
        &mut out,
        "agenthost_llm_requests_total",
        "llm.complete calls by result",
        "counter",
    );
    for ((plugin, result), n) in &u.requests {
        sample(
            &mut out,
            "agenthost_llm_requests_total",
            &[("plugin", plugin), ("result", result.as_str())],
            *n,
        );
    }
    header(
        &mut out,
        "agenthost_llm_attempts_total",
        "HTTP attempts to providers by outcome",
        "counter",
    );
    for ((plugin, provider, outcome), n) in &u.attempts {
        sample(
            &mut out,
            "agenthost_llm_attempts_total",
            &[
                ("plugin", plugin),
                ("provider", provider),
                ("outcome", outcome),
            ],
            *n,
        );
    }
    header(
        &mut out,
        "agenthost_llm_tokens_total",
        "tokens by direction (input, output)",
        "counter",
    );
    for ((plugin, provider, direction), n) in &u.tokens {
        sample(
            &mut out,
            "agenthost_llm_tokens_total",
            &[
                ("plugin", plugin),
                ("provider", provider),
                ("direction", direction.as_str()),
            ],
            *n,
        );
    }
    header(
        &mut out,
        "agenthost_llm_cost_microdollars_total",
        "cost in micro-dollars (1e-6 USD) at configured prices",
        "counter",
    );
    for ((plugin, provider), n) in &u.cost_micro_usd {
        sample(
            &mut out,
            "agenthost_llm_cost_microdollars_total",
            &[("plugin", plugin), ("provider", provider)],
            *n,
        );
    }
    header(
        &mut out,
        "agenthost_llm_budget_used_tokens",
        "tokens spent today (UTC) against the daily budget",
        "gauge",
    );
    for (plugin, b) in &u.budgets {
        sample(
            &mut out,
            "agenthost_llm_budget_used_tokens",
            &[("plugin", plugin)],
            b.used_tokens,
        );
    }
    header(
        &mut out,
        "agenthost_llm_budget_limit_tokens",
        "daily token budget, 0 = unlimited",
        "gauge",
    );
    for (plugin, b) in &u.budgets {
        sample(
            &mut out,
            "agenthost_llm_budget_limit_tokens",
            &[("plugin", plugin)],
            b.limit_tokens,
        );
    }
    header(
        &mut out,
        "agenthost_llm_breaker_open",
        "1 while a provider's circuit breaker is open or half-open",
        "gauge",
    );
    for (kind, p) in &s.providers {
        let open = u64::from(!matches!(p.breaker, BreakerState::Closed { .. }));
        sample(
            &mut out,
            "agenthost_llm_breaker_open",
            &[("provider", kind.as_str()), ("model", &p.model)],
            open,
        );
    }
    header(
        &mut out,
        "agenthost_llm_gate_in_flight",
        "requests holding a (provider, model) gate permit",
        "gauge",
    );
    for (kind, p) in &s.providers {
        let in_flight = p.gate_capacity.saturating_sub(p.gate_available) as u64;
        sample(
            &mut out,
            "agenthost_llm_gate_in_flight",
            &[("provider", kind.as_str()), ("model", &p.model)],
            in_flight,
        );
    }
    out
}
