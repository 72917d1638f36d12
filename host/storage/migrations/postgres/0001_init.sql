-- 0001_init (PostgreSQL): the host's tables. Timestamps are Unix epoch milliseconds.
-- Flags are BOOLEAN; plugin_state.key sorts bytewise (COLLATE "C") like SQLite.
-- Statements end with ';' at the end of a line: the runner splits on that.

-- Every inbound webhook or job firing, stored before the webhook answers.
CREATE TABLE events (
    id                TEXT PRIMARY KEY NOT NULL,
    dedupe_key        TEXT NOT NULL UNIQUE,
    kind              TEXT NOT NULL CHECK (kind IN ('message', 'job')),
    plugin            TEXT,
    conversation_id   TEXT,
    payload           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('queued', 'done', 'dead', 'unrouted')),
    enqueued          BOOLEAN NOT NULL DEFAULT FALSE,
    attempts          BIGINT  NOT NULL DEFAULT 0,
    last_error        TEXT,
    served_by_version TEXT,
    received_at       BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);
CREATE INDEX events_status_enqueued ON events (status, enqueued, received_at);

CREATE TABLE conversations (
    id              TEXT PRIMARY KEY NOT NULL,
    plugin          TEXT,
    lead_number     TEXT NOT NULL,
    agent_number    TEXT NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_message_at BIGINT  NOT NULL
);

CREATE TABLE messages (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    body            TEXT NOT NULL,
    at_ms           BIGINT  NOT NULL,
    event_id        TEXT
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);

-- Each plugin's namespaced key/value state.
CREATE TABLE plugin_state (
    plugin     TEXT NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    value      TEXT NOT NULL,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (plugin, key)
);

-- Outbound SMS; id is the idempotency key.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    event_id        TEXT NOT NULL,
    plugin          TEXT NOT NULL,
    conversation_id TEXT,
    to_number       TEXT NOT NULL,
    from_number     TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_until     BIGINT,
    provider_sid    TEXT,
    error_code      TEXT,
    error_message   TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_status_due ON outbox (status, next_attempt_at);

-- One-off delayed jobs plugins scheduled.
CREATE TABLE jobs (
    plugin          TEXT NOT NULL,
    key             TEXT NOT NULL,
    name            TEXT NOT NULL,
    due_at          BIGINT  NOT NULL,
    payload         TEXT NOT NULL,
    conversation_id TEXT,
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (plugin, key)
);
CREATE INDEX jobs_due ON jobs (due_at);

CREATE TABLE alerts (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT NOT NULL,
    severity        TEXT NOT NULL,
    plugin          TEXT,
    version         TEXT,
    conversation_id TEXT,
    message         TEXT NOT NULL,
    fields          TEXT NOT NULL,
    created_at      BIGINT  NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX alerts_status ON alerts (status, id);

CREATE TABLE sla_items (
    plugin      TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    description TEXT NOT NULL,
    deadline_at BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    resolved_at BIGINT,
    dry_run     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (plugin, item_id)
);
CREATE INDEX sla_items_open ON sla_items (resolved_at, deadline_at);

CREATE TABLE dead_letters (
    event_id TEXT PRIMARY KEY NOT NULL,
    plugin   TEXT NOT NULL,
    version  TEXT,
    attempts BIGINT  NOT NULL,
    outcome  TEXT NOT NULL,
    message  TEXT NOT NULL,
    at_ms    BIGINT  NOT NULL
);
CREATE INDEX dead_letters_at ON dead_letters (at_ms);

-- Which plugin answers which agent phone number.
CREATE TABLE routes (
    number     TEXT PRIMARY KEY NOT NULL,
    plugin     TEXT NOT NULL,
    updated_at BIGINT  NOT NULL
);

CREATE TABLE opt_outs (
    number     TEXT PRIMARY KEY NOT NULL,
    opted_out  BOOLEAN NOT NULL,
    updated_at BIGINT  NOT NULL
);
