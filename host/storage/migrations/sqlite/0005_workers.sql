-- 0005_workers (SQLite): which replica consumes which lane, refreshed by each worker
-- replica every few seconds, so an operator (and the post-deploy check) can see every
-- lane has consumers. Timestamps are Unix epoch ms.
CREATE TABLE worker_heartbeats (
    replica  TEXT NOT NULL,
    lane     TEXT NOT NULL,
    slots    INTEGER NOT NULL,
    seen_at  INTEGER NOT NULL,
    PRIMARY KEY (replica, lane)
);
