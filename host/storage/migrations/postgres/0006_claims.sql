-- 0006_claims (PostgreSQL): what makes "at least once" never forever and never racing,
-- and the durable per-plugin budgets. Timestamps are Unix epoch milliseconds.

-- Every delivery of an event is counted when a worker claims it (crash redeliveries
-- included), host-side failures apart; due_at is when the event should next run, so the
-- reconciler can tell an event the broker lost from one waiting out a retry.
ALTER TABLE events ADD COLUMN deliveries BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN host_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN due_at BIGINT NOT NULL DEFAULT 0;
UPDATE events SET due_at = received_at;
CREATE INDEX events_conversation_queued ON events (conversation_id, status, received_at, id);
CREATE INDEX events_queued_due ON events (status, enqueued, due_at);

-- Who is working on what: one row per conversation (or 'event:<id>' for events without
-- one) while a worker handles one of its events. A live row (until_ms in the future)
-- keeps every other worker of every replica off that conversation; the worker's
-- heartbeat pushes until_ms forward; the commit deletes the row only if its token still
-- matches, so a worker that lost its lease can never commit.
CREATE TABLE leases (
    key      TEXT PRIMARY KEY NOT NULL,
    event_id TEXT   NOT NULL,
    token    TEXT   NOT NULL,
    owner    TEXT   NOT NULL,
    until_ms BIGINT NOT NULL
);
CREATE INDEX leases_owner ON leases (owner);

-- Optimistic concurrency for plugin state: every committed write raises the version; a
-- commit whose reads are no longer current is refused and the invocation runs again.
ALTER TABLE plugin_state ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- The outbox row's lease holder (results are recorded only by it), and whether an earlier
-- attempt may have reached Twilio (then it is looked up before any resend).
ALTER TABLE outbox ADD COLUMN lease_token TEXT;
ALTER TABLE outbox ADD COLUMN ambiguous BOOLEAN NOT NULL DEFAULT FALSE;

-- What each subject (a plugin, or '<plugin>@shadow') spent per budget and UTC day.
CREATE TABLE budgets (
    subject      TEXT   NOT NULL,
    budget       TEXT   NOT NULL,
    day          BIGINT NOT NULL,
    spent        BIGINT NOT NULL DEFAULT 0,
    exhausted_at BIGINT,
    PRIMARY KEY (subject, budget, day)
);
