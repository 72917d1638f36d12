//! Capabilities the host lends to plugins: reads of the plugin's own state, the LLM
//! gateway, the clock, the conversation directory (to scope jobs) and the daily budget
//! ledger. Writes never go through here: they are effects.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;

/// A failure of the host's state storage (not the plugin's fault; the event is retried).
#[derive(Debug, thiserror::Error)]
#[error("state storage failed: {0}")]
pub struct StateError(pub String);

/// A committed state value and its version. The version grows on every committed write of
/// the key; the commit checks that what an invocation read is still current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub value: String,
    pub version: i64,
}

/// Reads committed plugin state. `plugin` is the namespace; the runtime always passes the
/// invoking plugin's own name, so a plugin cannot reach another's keys.
#[async_trait]
pub trait StateReader: Send + Sync + 'static {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Versioned>, StateError>;
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
    entries: Mutex<BTreeMap<(String, String), Versioned>>,
}

impl MemoryState {
    /// Applies committed writes, as the storage layer does after an ok invocation.
    pub fn apply(&self, plugin: &str, writes: &BTreeMap<String, Option<String>>) {
        let mut entries = self.entries.lock().expect("state lock poisoned");
        for (key, value) in writes {
            let k = (plugin.to_owned(), key.clone());
            match value {
                Some(v) => {
                    let version = entries.get(&k).map_or(1, |e| e.version + 1);
                    entries.insert(
                        k,
                        Versioned {
                            value: v.clone(),
                            version,
                        },
                    );
                }
                None => {
                    entries.remove(&k);
                }
            }
        }
    }
}

#[async_trait]
impl StateReader for MemoryState {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Versioned>, StateError> {
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

/// Who is asking the gateway, and what they may spend.
#[derive(Debug, Clone, Copy)]
pub struct LlmCaller<'a> {
    /// The plugin: picks its provider chain and labels its metrics.
    pub plugin: &'a str,
    /// Whose daily token budget pays: the plugin, or `<plugin>@shadow` for a shadow
    /// candidate (which never spends the active version's budget).
    pub budget_subject: &'a str,
}

/// The host's LLM gateway as the runtime sees it.
#[async_trait]
pub trait LlmGateway: Send + Sync + 'static {
    /// `deadline` is the invocation's own wall-clock deadline: the gateway must give up
    /// before it.
    async fn complete(
        &self,
        caller: &LlmCaller<'_>,
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
        _caller: &LlmCaller<'_>,
        _request: CompletionRequest,
        _deadline: Instant,
    ) -> Result<Completion, LlmError> {
        Err(LlmError::Unavailable(
            "no LLM provider is configured".into(),
        ))
    }
}

/// What the host knows of a conversation, to scope what a plugin may do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationInfo {
    /// The plugin the conversation belongs to (routed at ingest).
    pub plugin: Option<String>,
    pub lead_number: String,
    pub agent_number: String,
}

/// Looks conversations up, so a plugin can only schedule work for its own.
#[async_trait]
pub trait Directory: Send + Sync + 'static {
    async fn conversation(&self, id: &str) -> Result<Option<ConversationInfo>, StateError>;
}

/// No conversations known (tools without a database): every foreign id is refused.
#[derive(Debug, Default)]
pub struct NoDirectory;

#[async_trait]
impl Directory for NoDirectory {
    async fn conversation(&self, _id: &str) -> Result<Option<ConversationInfo>, StateError> {
        Ok(None)
    }
}

/// A per-day budget the host keeps for every plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Budget {
    SmsSegments,
    LlmTokens,
    Jobs,
}

impl Budget {
    pub const ALL: [Budget; 3] = [Budget::SmsSegments, Budget::LlmTokens, Budget::Jobs];

    pub fn as_str(self) -> &'static str {
        match self {
            Budget::SmsSegments => "sms_segments",
            Budget::LlmTokens => "llm_tokens",
            Budget::Jobs => "jobs",
        }
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Milliseconds in a UTC day (Unix time has no leap seconds).
pub const MS_PER_DAY: u64 = 86_400_000;

/// The UTC day number of `now_ms` (days since 1970-01-01): the key of daily budgets.
pub fn utc_day(now_ms: u64) -> i64 {
    (now_ms / MS_PER_DAY) as i64
}

/// The durable count of what each subject (a plugin, or `<plugin>@shadow` for its shadow
/// candidate) spent per budget and UTC day. Reads here are advisory (an invocation stops
/// early instead of doing work that cannot commit); the commit (SMS, jobs) and the LLM
/// gateway (tokens) are where the count is enforced.
#[async_trait]
pub trait BudgetLedger: Send + Sync + 'static {
    async fn spent(&self, subject: &str, budget: Budget, day: i64) -> Result<u64, StateError>;

    /// Adds `amount` unconditionally (tokens already spent at a provider). Returns the
    /// new total.
    async fn charge(
        &self,
        subject: &str,
        budget: Budget,
        day: i64,
        amount: u64,
    ) -> Result<u64, StateError>;

    /// Records that `subject` ran out of `budget` on `day`; `true` only for the first call
    /// per subject, budget and day across every replica, so exactly one alert is raised.
    async fn first_exhaustion(
        &self,
        subject: &str,
        budget: Budget,
        day: i64,
    ) -> Result<bool, StateError>;
}

/// Budgets counted in memory: for `agenthost plugin run`, tests and benchmarks.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    spent: Mutex<BTreeMap<(String, Budget, i64), u64>>,
    exhausted: Mutex<std::collections::BTreeSet<(String, Budget, i64)>>,
}

#[async_trait]
impl BudgetLedger for MemoryLedger {
    async fn spent(&self, subject: &str, budget: Budget, day: i64) -> Result<u64, StateError> {
        let spent = self.spent.lock().expect("ledger lock poisoned");
        Ok(spent
            .get(&(subject.to_owned(), budget, day))
            .copied()
            .unwrap_or(0))
    }

    async fn charge(
        &self,
        subject: &str,
        budget: Budget,
        day: i64,
        amount: u64,
    ) -> Result<u64, StateError> {
        let mut spent = self.spent.lock().expect("ledger lock poisoned");
        let total = spent.entry((subject.to_owned(), budget, day)).or_default();
        *total = total.saturating_add(amount);
        Ok(*total)
    }

    async fn first_exhaustion(
        &self,
        subject: &str,
        budget: Budget,
        day: i64,
    ) -> Result<bool, StateError> {
        let mut exhausted = self.exhausted.lock().expect("ledger lock poisoned");
        Ok(exhausted.insert((subject.to_owned(), budget, day)))
    }
}

/// Wall-clock time as plugins see it (`agenthost_core::Clock`; tests substitute a fake).
pub use agenthost_core::{Clock, SystemClock};

/// The capabilities handed to every invocation.
#[derive(Clone)]
pub struct Capabilities {
    pub state: Arc<dyn StateReader>,
    pub llm: Arc<dyn LlmGateway>,
    pub clock: Arc<dyn Clock>,
    pub directory: Arc<dyn Directory>,
    pub budgets: Arc<dyn BudgetLedger>,
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capabilities").finish_non_exhaustive()
    }
}

impl Capabilities {
    /// In-memory state and budgets, no LLM, no conversations, system clock.
    pub fn in_memory() -> (Self, Arc<MemoryState>) {
        let state = Arc::new(MemoryState::default());
        let caps = Capabilities {
            state: state.clone(),
            llm: Arc::new(NoLlm),
            clock: Arc::new(SystemClock),
            directory: Arc::new(NoDirectory),
            budgets: Arc::new(MemoryLedger::default()),
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
        let value = |v: Option<Versioned>| v.map(|v| v.value);
        assert_eq!(
            value(s.get("beta", "other").await.unwrap()).as_deref(),
            Some("c")
        );
        s.apply("beta", &w);
        assert_eq!(
            s.get("beta", "other").await.unwrap().map(|v| v.version),
            Some(2),
            "every committed write raises the version"
        );
        let mut del = BTreeMap::new();
        del.insert("other".to_owned(), None);
        s.apply("beta", &del);
        assert_eq!(s.get("beta", "other").await.unwrap(), None);
        assert_eq!(
            value(s.get("alpha", "other").await.unwrap()).as_deref(),
            Some("c")
        );
    }
}
