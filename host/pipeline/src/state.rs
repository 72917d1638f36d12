//! The runtime's capabilities over storage: `StateReader` (plugins read committed state,
//! with the versions the commit checks; their writes arrive later as effects in the
//! worker's commit), `Directory` (conversation lookups that scope what a plugin may
//! schedule) and `BudgetLedger` (the durable per-day budgets).

use agenthost_runtime::{
    Budget, BudgetLedger, ConversationInfo, Directory, StateError, StateReader, Versioned,
};
use agenthost_storage::{Budgets, Conversations, Storage};
use async_trait::async_trait;

/// The capabilities over the two views they read and charge: conversations (state and
/// the directory) and budgets — nothing else of storage.
#[derive(Debug, Clone)]
pub struct StorageState {
    conversations: Conversations,
    budgets: Budgets,
}

impl StorageState {
    pub fn new(storage: &Storage) -> StorageState {
        StorageState {
            conversations: storage.conversations(),
            budgets: storage.budgets(),
        }
    }
}

fn failed(e: agenthost_storage::StorageError) -> StateError {
    StateError(e.to_string())
}

#[async_trait]
impl StateReader for StorageState {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Versioned>, StateError> {
        Ok(self
            .conversations
            .state(plugin, key)
            .await
            .map_err(failed)?
            .map(|(value, version)| Versioned { value, version }))
    }

    async fn list_keys(
        &self,
        plugin: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StateError> {
        self.conversations
            .state_keys(plugin, prefix, u32::try_from(limit).unwrap_or(u32::MAX))
            .await
            .map_err(failed)
    }
}

#[async_trait]
impl Directory for StorageState {
    async fn conversation(&self, id: &str) -> Result<Option<ConversationInfo>, StateError> {
        Ok(self
            .conversations
            .get(id)
            .await
            .map_err(failed)?
            .map(|c| ConversationInfo {
                plugin: c.plugin,
                lead_number: c.lead_number,
                agent_number: c.agent_number,
            }))
    }
}

#[async_trait]
impl BudgetLedger for StorageState {
    async fn spent(&self, subject: &str, budget: Budget, day: i64) -> Result<u64, StateError> {
        self.budgets
            .spent(subject, budget.as_str(), day)
            .await
            .map_err(failed)
    }

    async fn charge(
        &self,
        subject: &str,
        budget: Budget,
        day: i64,
        amount: u64,
    ) -> Result<u64, StateError> {
        self.budgets
            .charge(subject, budget.as_str(), day, amount)
            .await
            .map_err(failed)
    }

    async fn first_exhaustion(
        &self,
        subject: &str,
        budget: Budget,
        day: i64,
    ) -> Result<bool, StateError> {
        self.budgets
            .first_exhaustion(subject, budget.as_str(), day, crate::now_ms())
            .await
            .map_err(failed)
    }
}
