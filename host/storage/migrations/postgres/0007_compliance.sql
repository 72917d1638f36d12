-- 0007_compliance (PostgreSQL): what the outbox needs to enforce messaging compliance
-- whatever a plugin does. Timestamps are Unix epoch milliseconds.

-- Agent-initiated texts (not a reply to an inbound text within the reply window) are
-- subject to quiet hours and the frequency cap; `held` says why a row waits; the host's
-- own texts (the opt-out confirmation, the HELP answer) are marked; delivery status comes
-- from Twilio's status callbacks, kept monotonic by rank.
ALTER TABLE outbox ADD COLUMN initiated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE outbox ADD COLUMN segments BIGINT NOT NULL DEFAULT 1;
ALTER TABLE outbox ADD COLUMN held TEXT;
ALTER TABLE outbox ADD COLUMN host_message TEXT;
ALTER TABLE outbox ADD COLUMN delivery_status TEXT;
ALTER TABLE outbox ADD COLUMN delivery_rank BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN delivery_error TEXT;
ALTER TABLE outbox ADD COLUMN delivery_at BIGINT;
CREATE INDEX outbox_provider_sid ON outbox (provider_sid);
CREATE INDEX outbox_recipient_sent ON outbox (to_number, sent_at);

-- When the one opt-out confirmation went out.
ALTER TABLE opt_outs ADD COLUMN confirmed_at BIGINT;

-- Outbound history rows know their outbox row, to show its delivery status.
ALTER TABLE messages ADD COLUMN outbox_id TEXT;
ALTER TABLE messages ADD COLUMN delivery_status TEXT;
CREATE INDEX messages_outbox ON messages (outbox_id);

-- Per sender: the theoretical arrival time of its next segment (GCRA), shared by every
-- replica, so no backlog bursts past the sender's rate.
CREATE TABLE sender_pace (
    sender TEXT PRIMARY KEY NOT NULL,
    tat_ms BIGINT NOT NULL
);

-- A plugin whose texts carriers filter too often (error 30007) has its agent-initiated
-- sends paused until `until_ms`.
CREATE TABLE plugin_pauses (
    plugin   TEXT PRIMARY KEY NOT NULL,
    until_ms BIGINT NOT NULL,
    reason   TEXT NOT NULL,
    at_ms    BIGINT NOT NULL
);
