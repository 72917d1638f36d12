-- 0006_claims (SQLite): what makes "at least once" never forever and never racing, and
-- the durable per-plugin budgets. See the PostgreSQL file for the reasoning. Timestamps
-- are Unix epoch milliseconds; flags are INTEGER 0/1.

ALTER TABLE events ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN host_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN due_at INTEGER NOT NULL DEFAULT 0;
UPDATE events SET due_at = received_at;
CREATE INDEX events_conversation_queued ON events (conversation_id, status, received_at, id);
CREATE INDEX events_queued_due ON events (status, enqueued, due_at);

CREATE TABLE leases (
    key      TEXT PRIMARY KEY NOT NULL,
    event_id TEXT    NOT NULL,
    token    TEXT    NOT NULL,
    owner    TEXT    NOT NULL,
    until_ms INTEGER NOT NULL
);
CREATE INDEX leases_owner ON leases (owner);

ALTER TABLE plugin_state ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

ALTER TABLE outbox ADD COLUMN lease_token TEXT;
ALTER TABLE outbox ADD COLUMN ambiguous INTEGER NOT NULL DEFAULT 0 CHECK (ambiguous IN (0, 1));

CREATE TABLE budgets (
    subject      TEXT    NOT NULL,
    budget       TEXT    NOT NULL,
    day          INTEGER NOT NULL,
    spent        INTEGER NOT NULL DEFAULT 0,
    exhausted_at INTEGER,
    PRIMARY KEY (subject, budget, day)
);
