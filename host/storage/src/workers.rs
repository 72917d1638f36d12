//! Worker heartbeats: each worker replica records the lanes it consumes and with how
//! many slots, so anyone can see which lanes have live consumers.

use std::collections::BTreeMap;

use sqlx::Row;

use crate::error::query;
use crate::{Storage, StorageError};

/// Rows older than this are deleted by the next heartbeat (replicas long gone).
const FORGET_AFTER_MS: i64 = 24 * 3_600_000;

impl Storage {
    /// The workers view: each worker's heartbeat and who consumes which lane.
    pub fn workers(&self) -> Workers {
        Workers { db: self.clone() }
    }
}

/// The workers view of [`Storage`] (see [`Storage::workers`]): heartbeats and lane
/// consumers — and nothing else.
#[derive(Clone, Debug)]
pub struct Workers {
    db: Storage,
}

impl Workers {
    /// Records that `replica` consumes each `(lane, slots)` now.
    pub async fn heartbeat(
        &self,
        replica: &str,
        lanes: &[(String, u32)],
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write("worker_heartbeat: begin").await?;
        for (lane, slots) in lanes {
            sqlx::query(
                "INSERT INTO worker_heartbeats (replica, lane, slots, seen_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (replica, lane) DO UPDATE SET \
                 slots = excluded.slots, seen_at = excluded.seen_at",
            )
            .bind(replica)
            .bind(lane)
            .bind(i64::from(*slots))
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(query("worker_heartbeat: upsert"))?;
        }
        sqlx::query("DELETE FROM worker_heartbeats WHERE seen_at < $1")
            .bind(now_ms - FORGET_AFTER_MS)
            .execute(&mut *tx)
            .await
            .map_err(query("worker_heartbeat: forget"))?;
        tx.commit("worker_heartbeat: commit").await
    }

    /// Live consumer slots per lane: heartbeats seen at or after `since_ms`.
    pub async fn lane_consumers(
        &self,
        since_ms: i64,
    ) -> Result<BTreeMap<String, i64>, StorageError> {
        let rows = sqlx::query(
            "SELECT lane, CAST(SUM(slots) AS BIGINT) AS slots FROM worker_heartbeats WHERE seen_at >= $1 \
             GROUP BY lane ORDER BY lane",
        )
        .bind(since_ms)
        .fetch_all(&self.db.pool)
        .await
        .map_err(query("lane_consumers"))?;
        rows.iter()
            .map(|r| Ok((r.try_get("lane")?, r.try_get::<i64, _>("slots")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(query("lane_consumers: decode"))
    }
}
