//! Language-model completions through the host's gateway, which owns providers,
//! fallbacks, retries and token budgets; a plugin only asks and handles the outcome.

use crate::PluginError;
pub use crate::bindings::agenthost::plugin::llm::{
    ChatMessage, Completion, CompletionRequest, LlmError, Role,
};

pub fn complete(request: &CompletionRequest) -> Result<Completion, LlmError> {
    crate::bindings::agenthost::plugin::llm::complete(request)
}

/// Lets a handler write `sdk::llm::complete(&req)?` when it has no fallback of its own:
/// transient gateway failures are retried by the host, a spent budget is not.
impl From<LlmError> for PluginError {
    fn from(e: LlmError) -> Self {
        match e {
            LlmError::Unavailable(why) => crate::retryable("llm-unavailable", &why),
            LlmError::BudgetExhausted => crate::error("llm-budget-exhausted", "token budget spent"),
            LlmError::Timeout => crate::retryable("llm-timeout", "completion timed out"),
            LlmError::Failed(why) => crate::retryable("llm-failed", &why),
        }
    }
}
