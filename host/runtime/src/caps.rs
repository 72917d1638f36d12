//! Capabilities the host lends to plugins: reads of the plugin's own state, the LLM
//! gateway and the clock. Writes never go through here: they are effects.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

/// A failure of the host's state storage (not the plugin's fault; the event is retried).
#[derive(Debug, thiserror::Error)]
#[error("state storage failed: {0}")]
pub struct StateError(pub String);

/// Reads committed plugin state. `plugin` is the namespace; the runtime always passes the
/// invoking plugin's own name, so a plugin cannot reach another's keys.
#[async_trait]
pub trait StateReader: Send + Sync + 'static {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<String>, StateError>;
    /// Keys of `plugin` starting with `prefix`, sorted ascending, at most `limit`.
    async fn list_keys(
        &self,
        plugin: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StateError>;
}

/// State held in memory: for `agenthost plugin run`, tests and benchmarks.
#[derive(Debug, Default)]
pub struct MemoryState {
    entries: Mutex<BTreeMap<(String, String), String>>,
}

impl MemoryState {
    /// Applies committed writes, as the storage layer does after an ok invocation.
    pub fn apply(&self, plugin: &str, writes: &BTreeMap<String, Option<String>>) {
        let mut entries = self.entries.lock().expect("state lock poisoned");
        for (key, value) in writes {
            let k = (plugin.to_owned(), key.clone());
            match value {
                Some(v) => entries.insert(k, v.clone()),
                None => entries.remove(&k),
            };
        }
    }
}

#[async_trait]
impl StateReader for MemoryState {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<String>, StateError> {
        let entries = self.entries.lock().expect("state lock poisoned");
        Ok(entries.get(&(plugin.to_owned(), key.to_owned())).cloned())
    }

    async fn list_keys(
        &self,
        plugin: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StateError> {
        let entries = self.entries.lock().expect("state lock poisoned");
        Ok(entries
            .range((plugin.to_owned(), prefix.to_owned())..)
            .take_while(|((p, k), _)| p == plugin && k.starts_with(prefix))
            .take(limit)
            .map(|((_, k), _)| k.clone())
            .collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatRole {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRequest {
    pub system: Option<String>,
    pub messages: Vec<ChatMessage>,
    pub max_tokens: u32,
    pub temperature: Option<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub provider: String,
    pub model: String,
    pub input_tokens: u32,
    pub output_tokens: u32,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("llm unavailable: {0}")]
    Unavailable(String),
    #[error("llm token budget exhausted")]
    BudgetExhausted,
    #[error("llm call timed out")]
    Timeout,
    #[error("llm call failed: {0}")]
    Failed(String),
}

/// The host's LLM gateway as the runtime sees it.
#[async_trait]
pub trait LlmGateway: Send + Sync + 'static {
    /// `deadline` is the invocation's own wall-clock deadline: the gateway must give up
    /// before it.
    async fn complete(
        &self,
        plugin: &str,
        request: CompletionRequest,
        deadline: Instant,
    ) -> Result<Completion, LlmError>;
}

/// No provider configured: every call fails at once, so agents use their deterministic
/// replies.
#[derive(Debug, Default)]
pub struct NoLlm;

#[async_trait]
impl LlmGateway for NoLlm {
    async fn complete(
        &self,
        _plugin: &str,
        _request: CompletionRequest,
        _deadline: Instant,
    ) -> Result<Completion, LlmError> {
        Err(LlmError::Unavailable(
            "no LLM provider is configured".into(),
        ))
    }
}

/// Wall-clock time as plugins see it; tests substitute a fake.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> u64;
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// The capabilities handed to every invocation.
#[derive(Clone)]
pub struct Capabilities {
    pub state: Arc<dyn StateReader>,
    pub llm: Arc<dyn LlmGateway>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capabilities").finish_non_exhaustive()
    }
}

impl Capabilities {
    /// In-memory state, no LLM, system clock.
    pub fn in_memory() -> (Self, Arc<MemoryState>) {
        let state = Arc::new(MemoryState::default());
        let caps = Capabilities {
            state: state.clone(),
            llm: Arc::new(NoLlm),
            clock: Arc::new(SystemClock),
        };
        (caps, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_state_lists_only_the_plugins_own_prefixed_keys() {
        let s = MemoryState::default();
        let mut w = BTreeMap::new();
        w.insert("lead:1".to_owned(), Some("a".to_owned()));
        w.insert("lead:2".to_owned(), Some("b".to_owned()));
        w.insert("other".to_owned(), Some("c".to_owned()));
        s.apply("alpha", &w);
        s.apply("beta", &w);
        assert_eq!(
            s.list_keys("alpha", "lead:", 10).await.unwrap(),
            ["lead:1", "lead:2"]
        );
        assert_eq!(s.list_keys("alpha", "lead:", 1).await.unwrap(), ["lead:1"]);
        assert_eq!(s.get("beta", "other").await.unwrap().as_deref(), Some("c"));
        let mut del = BTreeMap::new();
        del.insert("other".to_owned(), None);
        s.apply("beta", &del);
        assert_eq!(s.get("beta", "other").await.unwrap(), None);
        assert_eq!(s.get("alpha", "other").await.unwrap().as_deref(), Some("c"));
    }
}
