-- 0002_queue (PostgreSQL): the embedded queue's tables (owned by host/queue, EmbeddedQueue).
-- Timestamps are Unix epoch milliseconds.
-- Statements end with ';' at the end of a line: the runner splits on that.

-- Messages of every lane, waiting or leased. Claiming a row sets lease_until and pushes
-- available_at to the same instant, so a row is ready exactly when available_at <= now:
-- a consumer that dies leaves a row that comes back by itself when its lease ends.
-- leased_by is the lease's unique token; ack/retry/dead-letter match on it, so a consumer
-- whose lease expired can never settle the row another consumer now holds.
CREATE TABLE queue_items (
    id           BIGSERIAL PRIMARY KEY,
    lane         TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    attempt      BIGINT  NOT NULL,
    available_at BIGINT  NOT NULL,
    lease_until  BIGINT,
    leased_by    TEXT
);
CREATE INDEX queue_items_lane_available ON queue_items (lane, available_at, id);

-- Dead-lettered messages, kept for inspection; never delivered again.
CREATE TABLE queue_dead (
    id       BIGSERIAL PRIMARY KEY,
    lane     TEXT    NOT NULL,
    event_id TEXT    NOT NULL,
    attempt  BIGINT  NOT NULL,
    reason   TEXT    NOT NULL,
    at       BIGINT  NOT NULL
);
CREATE INDEX queue_dead_lane ON queue_dead (lane, at);
