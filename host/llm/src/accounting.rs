//! Token and cost accounting per plugin, and this replica's last view of each daily token
//! budget (the count itself lives in the durable ledger; the gateway enforces it).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use agenthost_core::HostAlert;
use agenthost_runtime::Clock;

/// Milliseconds in a UTC day (Unix time has no leap seconds).
pub const MS_PER_DAY: u64 = 86_400_000;
/// Where the gateway raises alerts; the host wires it to its alert store. Called from
/// inside invocations: implementations must not block. The gateway raises
/// `llm_budget_exhausted` about a plugin, and `dependency_down` / `dependency_restored`
/// (`dependency: llm:<provider>`) when a provider's breaker opens or closes.
pub trait AlertSink: Send + Sync + 'static {
    fn raise(&self, alert: HostAlert);
}

/// Drops alerts (only logs them): for tools and tests that have no alert store.
#[derive(Debug, Default)]
pub struct LogAlerts;

impl AlertSink for LogAlerts {
    fn raise(&self, alert: HostAlert) {
        tracing::warn!(kind = %alert.kind, severity = %alert.severity, plugin = ?alert.plugin,
            message = %alert.message, fields = ?alert.fields, "llm alert");
    }
}

/// Input or output tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    Input,
    Output,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Output => "output",
        }
    }
}

/// How a whole `complete` call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestResult {
    Ok,
    BudgetExhausted,
    Unavailable,
    Timeout,
    Failed,
}

impl RequestResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::BudgetExhausted => "budget_exhausted",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Failed => "failed",
        }
    }
}

/// A plugin's budget for the current UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSnapshot {
    /// Days since the Unix epoch (UTC).
    pub day: u64,
    /// Input + output tokens spent today.
    pub used_tokens: u64,
    /// 0 = unlimited.
    pub limit_tokens: u64,
}

/// Every counter at one moment. Keys are label tuples; maps are sorted so renderings are
/// stable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UsageSnapshot {
    /// (plugin, result) → `complete` calls.
    pub requests: BTreeMap<(String, RequestResult), u64>,
    /// (plugin, provider, outcome) → HTTP attempts; outcome is `ok`, `rate_limited`,
    /// `server_error`, `timeout`, `transport_error`, `rejected` or `bad_response`.
    pub attempts: BTreeMap<(String, String, String), u64>,
    /// (plugin, provider, direction) → tokens.
    pub tokens: BTreeMap<(String, String, Direction), u64>,
    /// (plugin, provider) → cost in micro-dollars (1e-6 USD).
    pub cost_micro_usd: BTreeMap<(String, String), u64>,
    /// plugin → today's budget.
    pub budgets: BTreeMap<String, BudgetSnapshot>,
}

pub(crate) struct Accounting {
    clock: Arc<dyn Clock>,
    usage: Mutex<UsageSnapshot>,
    /// Budget subject → the last count read from or written to the ledger.
    budgets: Mutex<BTreeMap<String, BudgetSnapshot>>,
}

impl Accounting {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            usage: Mutex::new(UsageSnapshot::default()),
            budgets: Mutex::new(BTreeMap::new()),
        }
    }

    fn today(&self) -> u64 {
        self.clock.now_ms() / MS_PER_DAY
    }

    /// Remembers what the ledger said `subject` spent on `day`, for the budget gauges.
    pub fn record_spent(&self, subject: &str, day: i64, used: u64, limit: u64) {
        let mut budgets = self.budgets.lock().expect("budget lock poisoned");
        budgets.insert(
            subject.to_owned(),
            BudgetSnapshot {
                day: u64::try_from(day).unwrap_or(0),
                used_tokens: used,
                limit_tokens: limit,
            },
        );
    }

    /// Counts one successful call's tokens and cost.
    pub fn record_tokens(
        &self,
        plugin: &str,
        provider: &str,
        input: u64,
        output: u64,
        cost_micro_usd: u64,
    ) {
        let mut u = self.usage.lock().expect("usage lock poisoned");
        for (direction, n) in [(Direction::Input, input), (Direction::Output, output)] {
            *u.tokens
                .entry((plugin.to_owned(), provider.to_owned(), direction))
                .or_default() += n;
        }
        *u.cost_micro_usd
            .entry((plugin.to_owned(), provider.to_owned()))
            .or_default() += cost_micro_usd;
    }

    pub fn record_attempt(&self, plugin: &str, provider: &str, outcome: &str) {
        let mut u = self.usage.lock().expect("usage lock poisoned");
        *u.attempts
            .entry((plugin.to_owned(), provider.to_owned(), outcome.to_owned()))
            .or_default() += 1;
    }

    pub fn record_request(&self, plugin: &str, result: RequestResult) {
        let mut u = self.usage.lock().expect("usage lock poisoned");
        *u.requests.entry((plugin.to_owned(), result)).or_default() += 1;
    }

    /// Every counter now; budgets as last seen, today's only.
    pub fn snapshot(&self) -> UsageSnapshot {
        let today = self.today();
        let mut snap = self.usage.lock().expect("usage lock poisoned").clone();
        let budgets = self.budgets.lock().expect("budget lock poisoned");
        snap.budgets = budgets
            .iter()
            .filter(|(_, b)| b.day == today)
            .map(|(subject, b)| (subject.clone(), *b))
            .collect();
        snap
    }
}
