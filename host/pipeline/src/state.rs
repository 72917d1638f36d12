//! The runtime's capabilities over storage: `StateReader` (plugins read committed state,
//! with the versions the commit checks; their writes arrive later as effects in the
//! worker's commit), `Directory` (conversation lookups that scope what a plugin may
//! schedule) and `BudgetLedger` (the durable per-day budgets).

use agenthost_runtime::{
    Budget, BudgetLedger, ConversationInfo, Directory, StateError, StateReader, Versioned,
};
use agenthost_storage::Storage;
use async_trait::async_trait;

#[derive(Debug, Clone)]
pub struct StorageState(pub Storage);

fn failed(e: agenthost_storage::StorageError) -> StateError {
    StateError(e.to_string())
}

#[async_trait]
impl StateReader for StorageState {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Versioned>, StateError> {
        Ok(self
            .0
            .conversations()
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
        self.0
            .conversations()
            .state_keys(plugin, prefix, u32::try_from(limit).unwrap_or(u32::MAX))
            .await
            .map_err(failed)
    }
}

#[async_trait]
impl Directory for StorageState {
    async fn conversation(&self, id: &str) -> Result<Option<ConversationInfo>, StateError> {
        Ok(self
            .0
            .conversations()
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
        self.0
            .budgets()
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
        self.0
            .budgets()
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
        self.0
            .budgets()
            .first_exhaustion(subject, budget.as_str(), day, crate::now_ms())
            .await
            .map_err(failed)
    }
}
