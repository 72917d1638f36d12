-- 0005_workers (PostgreSQL): which replica consumes which lane, refreshed by each worker
-- replica every few seconds, so an operator (and the post-deploy check) can see every
-- lane has consumers. Timestamps are Unix epoch ms.
CREATE TABLE worker_heartbeats (
    replica  TEXT NOT NULL,
    lane     TEXT NOT NULL,
    slots    BIGINT NOT NULL,
    seen_at  BIGINT NOT NULL,
    PRIMARY KEY (replica, lane)
);
