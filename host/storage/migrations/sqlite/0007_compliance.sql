-- 0007_compliance (SQLite): see the PostgreSQL file for the reasoning. Timestamps are
-- Unix epoch milliseconds; flags are INTEGER 0/1.

ALTER TABLE outbox ADD COLUMN initiated INTEGER NOT NULL DEFAULT 0 CHECK (initiated IN (0, 1));
ALTER TABLE outbox ADD COLUMN segments INTEGER NOT NULL DEFAULT 1;
ALTER TABLE outbox ADD COLUMN held TEXT;
ALTER TABLE outbox ADD COLUMN host_message TEXT;
ALTER TABLE outbox ADD COLUMN delivery_status TEXT;
ALTER TABLE outbox ADD COLUMN delivery_rank INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN delivery_error TEXT;
ALTER TABLE outbox ADD COLUMN delivery_at INTEGER;
CREATE INDEX outbox_provider_sid ON outbox (provider_sid);
CREATE INDEX outbox_recipient_sent ON outbox (to_number, sent_at);

ALTER TABLE opt_outs ADD COLUMN confirmed_at INTEGER;

ALTER TABLE messages ADD COLUMN outbox_id TEXT;
ALTER TABLE messages ADD COLUMN delivery_status TEXT;
CREATE INDEX messages_outbox ON messages (outbox_id);

CREATE TABLE sender_pace (
    sender TEXT PRIMARY KEY NOT NULL,
    tat_ms INTEGER NOT NULL
);

CREATE TABLE plugin_pauses (
    plugin   TEXT PRIMARY KEY NOT NULL,
    until_ms INTEGER NOT NULL,
    reason   TEXT NOT NULL,
    at_ms    INTEGER NOT NULL
);
