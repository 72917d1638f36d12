//! Which plugin answers each Twilio number: the table in storage, cached in memory. A miss
//! in the cache asks storage (a route set on another replica), and the cache is refreshed
//! periodically so a moved number converges everywhere.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use agenthost_storage::{Storage, StorageError};

#[derive(Debug, Clone)]
pub struct Routes {
    storage: Storage,
    cache: Arc<RwLock<HashMap<String, String>>>,
}

impl Routes {
    /// Loads the table from storage.
    pub async fn load(storage: Storage) -> Result<Routes, StorageError> {
        let routes = Routes {
            storage,
            cache: Default::default(),
        };
        routes.refresh().await?;
        Ok(routes)
    }

    pub async fn refresh(&self) -> Result<(), StorageError> {
        let all: HashMap<String, String> =
            self.storage.routes().list().await?.into_iter().collect();
        *self.cache.write().expect("routes lock poisoned") = all;
        Ok(())
    }

    /// The plugin serving `number`, if any.
    pub async fn plugin_for(&self, number: &str) -> Result<Option<String>, StorageError> {
        if let Some(p) = self.cache.read().expect("routes lock poisoned").get(number) {
            return Ok(Some(p.clone()));
        }
        let found = self.storage.routes().route_for(number).await?;
        if let Some(p) = &found {
            self.cache
                .write()
                .expect("routes lock poisoned")
                .insert(number.to_owned(), p.clone());
        }
        Ok(found)
    }

    pub async fn set(&self, number: &str, plugin: &str) -> Result<(), StorageError> {
        self.storage
            .routes()
            .upsert(number, plugin, crate::now_ms())
            .await?;
        self.cache
            .write()
            .expect("routes lock poisoned")
            .insert(number.to_owned(), plugin.to_owned());
        Ok(())
    }

    pub async fn remove(&self, number: &str) -> Result<(), StorageError> {
        self.storage.routes().delete(number).await?;
        self.cache
            .write()
            .expect("routes lock poisoned")
            .remove(number);
        Ok(())
    }

    /// A number this plugin can send from (for jobs not tied to a conversation).
    pub fn first_number_of(&self, plugin: &str) -> Option<String> {
        let cache = self.cache.read().expect("routes lock poisoned");
        let mut numbers: Vec<_> = cache
            .iter()
            .filter(|(_, p)| *p == plugin)
            .map(|(n, _)| n.clone())
            .collect();
        numbers.sort();
        numbers.into_iter().next()
    }

    pub fn snapshot(&self) -> Vec<(String, String)> {
        let mut all: Vec<_> = self
            .cache
            .read()
            .expect("routes lock poisoned")
            .iter()
            .map(|(n, p)| (n.clone(), p.clone()))
            .collect();
        all.sort();
        all
    }
}
