//! The runtime's `StateReader` over storage: plugins read committed state through it;
//! their writes arrive later as effects in the worker's commit.

use agenthost_runtime::{StateError, StateReader};
use agenthost_storage::Storage;
use async_trait::async_trait;

#[derive(Debug, Clone)]
pub struct StorageState(pub Storage);

#[async_trait]
impl StateReader for StorageState {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<String>, StateError> {
        self.0
            .state_get(plugin, key)
            .await
            .map_err(|e| StateError(e.to_string()))
    }

    async fn list_keys(
        &self,
        plugin: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StateError> {
        self.0
            .state_list_keys(plugin, prefix, u32::try_from(limit).unwrap_or(u32::MAX))
            .await
            .map_err(|e| StateError(e.to_string()))
    }
}
