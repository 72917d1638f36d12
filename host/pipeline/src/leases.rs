//! This process as a lease holder: the owner name and tokens its workers claim events
//! under, the set of leases it is still working under, and the heartbeat that keeps those
//! (and the embedded queue's deliveries) alive while plugins run, however long they take.
//!
//! A lease outlives its worker by at most [`LEASE`]: the heartbeat extends only tokens
//! still held (a [`Held`] guard removes its token when dropped, on every exit path), so a
//! lease a worker could not give back — the database was down — lapses by itself.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agenthost_queue::Queue;
use agenthost_storage::Storage;
use tokio_util::sync::CancellationToken;

/// How long a claimed event (and an embedded-queue delivery) stays ours without a
/// heartbeat. After a crash, another replica takes the event over within this; on the
/// embedded default the restarted process releases its predecessor's leases at once.
pub const LEASE: Duration = Duration::from_secs(6);
/// How often the heartbeat extends the leases still held: several times per lease, so a
/// late beat or two never loses one.
pub const HEARTBEAT: Duration = Duration::from_millis(1_500);

#[derive(Debug)]
pub struct LeaseKeeper {
    owner: String,
    next: AtomicU64,
    held: Mutex<HashSet<String>>,
}

/// One lease this process works under; dropping it stops the heartbeat extending it.
#[derive(Debug)]
pub struct Held {
    keeper: Arc<LeaseKeeper>,
    pub token: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.keeper.lock().remove(&self.token);
    }
}

impl LeaseKeeper {
    /// A keeper named after this host and process, unique per start.
    pub fn new() -> Arc<LeaseKeeper> {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "host".into());
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Arc::new(LeaseKeeper {
            owner: format!("{host}/{}/{started:x}", std::process::id()),
            next: AtomicU64::new(0),
            held: Mutex::new(HashSet::new()),
        })
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh token, held (extended by the heartbeat) until the guard drops.
    pub fn hold(self: &Arc<Self>) -> Held {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let token = format!("{}#{n}", self.owner);
        self.lock().insert(token.clone());
        Held {
            keeper: self.clone(),
            token,
        }
    }

    /// Tokens held right now.
    pub fn tokens(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }

    /// One beat: extends every lease still held, and the queue's deliveries.
    pub async fn beat(&self, storage: &Storage, queue: &dyn Queue) {
        let tokens = self.tokens();
        if !tokens.is_empty() {
            let until = crate::now_ms().saturating_add(LEASE.as_millis() as i64);
            if let Err(e) = storage
                .claims()
                .extend_leases(&self.owner, &tokens, until)
                .await
            {
                tracing::warn!(error = %e, leases = tokens.len(), "lease heartbeat failed");
            }
        }
        if let Err(e) = queue.keep_alive().await {
            tracing::warn!(error = %e, "queue lease heartbeat failed");
        }
    }

    /// Beats every [`HEARTBEAT`] until `cancel`.
    pub async fn run(
        self: Arc<Self>,
        storage: Storage,
        queue: Arc<dyn Queue>,
        cancel: CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(HEARTBEAT) => {}
                _ = cancel.cancelled() => break,
            }
            self.beat(&storage, queue.as_ref()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_dropped_guards_are_no_longer_extended() {
        let keeper = LeaseKeeper::new();
        let a = keeper.hold();
        let b = keeper.hold();
        assert_ne!(a.token, b.token);
        assert!(a.token.starts_with(keeper.owner()));
        assert_eq!(keeper.tokens().len(), 2);
        drop(a);
        assert_eq!(keeper.tokens(), vec![b.token.clone()]);
        assert!(HEARTBEAT * 3 < LEASE, "several beats per lease");
    }
}
