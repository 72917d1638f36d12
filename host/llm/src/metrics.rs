//! Renders an [`LlmSnapshot`] in the Prometheus text exposition format.

use std::fmt::Write;

use crate::breaker::BreakerState;
use crate::gateway::LlmSnapshot;

/// The snapshot as Prometheus text: one `# HELP`/`# TYPE` per family, labels escaped.
pub(crate) fn render(s: &LlmSnapshot) -> String {
    let mut out = String::new();
    let u = &s.usage;
    family(
        &mut out,
        "agenthost_llm_requests_total",
        "counter",
        "llm.complete calls by result",
    );
    for ((plugin, result), n) in &u.requests {
        sample(
            &mut out,
            "agenthost_llm_requests_total",
            &[("plugin", plugin), ("result", result.as_str())],
            *n,
        );
    }
    family(
        &mut out,
        "agenthost_llm_attempts_total",
        "counter",
        "HTTP attempts to providers by outcome",
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
    family(
        &mut out,
        "agenthost_llm_tokens_total",
        "counter",
        "tokens by direction (input, output)",
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
    family(
        &mut out,
        "agenthost_llm_cost_microdollars_total",
        "counter",
        "cost in micro-dollars (1e-6 USD) at configured prices",
    );
    for ((plugin, provider), n) in &u.cost_micro_usd {
        sample(
            &mut out,
            "agenthost_llm_cost_microdollars_total",
            &[("plugin", plugin), ("provider", provider)],
            *n,
        );
    }
    family(
        &mut out,
        "agenthost_llm_budget_used_tokens",
        "gauge",
        "tokens spent today (UTC) against the daily budget",
    );
    for (plugin, b) in &u.budgets {
        sample(
            &mut out,
            "agenthost_llm_budget_used_tokens",
            &[("plugin", plugin)],
            b.used_tokens,
        );
    }
    family(
        &mut out,
        "agenthost_llm_budget_limit_tokens",
        "gauge",
        "daily token budget, 0 = unlimited",
    );
    for (plugin, b) in &u.budgets {
        sample(
            &mut out,
            "agenthost_llm_budget_limit_tokens",
            &[("plugin", plugin)],
            b.limit_tokens,
        );
    }
    family(
        &mut out,
        "agenthost_llm_breaker_open",
        "gauge",
        "1 while a provider's circuit breaker is open or half-open",
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
    family(
        &mut out,
        "agenthost_llm_gate_in_flight",
        "gauge",
        "requests holding a (provider, model) gate permit",
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

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: u64) {
    let labels: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
}

/// Label values escape `\`, `"` and newlines.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        sample(&mut out, "m", &[("plugin", "a\"b\\c\nd")], 3);
        assert_eq!(out, "m{plugin=\"a\\\"b\\\\c\\nd\"} 3\n");
    }
}
