-- 0009_console (SQLite): see the PostgreSQL file for the reasoning. Timestamps are Unix
-- epoch milliseconds; flags are INTEGER 0/1.

ALTER TABLE conversations ADD COLUMN paused_at INTEGER;
ALTER TABLE conversations ADD COLUMN paused_until INTEGER;
ALTER TABLE conversations ADD COLUMN paused_by TEXT;
ALTER TABLE conversations ADD COLUMN paused_reason TEXT;
ALTER TABLE conversations ADD COLUMN paused_by_plugin INTEGER NOT NULL DEFAULT 0 CHECK (paused_by_plugin IN (0, 1));
CREATE INDEX conversations_last_message ON conversations (last_message_at);

ALTER TABLE messages ADD COLUMN author TEXT;

ALTER TABLE events ADD COLUMN effects TEXT;
ALTER TABLE events ADD COLUMN held TEXT;
-- A requeued dead letter may be pinned to the rollout's candidate version.
ALTER TABLE events ADD COLUMN pinned_version TEXT;
CREATE INDEX events_conversation_held ON events (conversation_id, held);

-- SQLite cannot change a CHECK constraint: the history table is rebuilt with the two new
-- actions, its rows and ids kept.
CREATE TABLE plugin_history_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    plugin       TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN
                 ('upload', 'activate', 'rollback', 'auto_rollback', 'rollout', 'promote', 'abort',
                  'requeue', 'discard')),
    from_version TEXT,
    to_version   TEXT,
    actor        TEXT NOT NULL,
    reason       TEXT,
    at_ms        INTEGER NOT NULL,
    details      TEXT
);
INSERT INTO plugin_history_new (id, plugin, action, from_version, to_version, actor, reason, at_ms, details)
    SELECT id, plugin, action, from_version, to_version, actor, reason, at_ms, details FROM plugin_history;
DROP TABLE plugin_history;
ALTER TABLE plugin_history_new RENAME TO plugin_history;
CREATE INDEX plugin_history_plugin ON plugin_history (plugin, id);
