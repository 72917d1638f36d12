-- 0009_console (PostgreSQL): what the operator's console needs — human takeover of a
-- conversation, staff replies in the history, what each event's commit wrote, and
-- dead-letter requeues and discards in the deploy history. Timestamps are Unix epoch ms.

-- A conversation taken over by a person: the agent is paused for it while `paused_at` is
-- set and `paused_until` is NULL (until a person releases it) or still ahead. A plugin's
-- handoff request sets it with a timeout (`paused_by_plugin`).
ALTER TABLE conversations ADD COLUMN paused_at BIGINT;
ALTER TABLE conversations ADD COLUMN paused_until BIGINT;
ALTER TABLE conversations ADD COLUMN paused_by TEXT;
ALTER TABLE conversations ADD COLUMN paused_reason TEXT;
ALTER TABLE conversations ADD COLUMN paused_by_plugin BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX conversations_last_message ON conversations (last_message_at);

-- Who wrote an outbound message when it was not the agent: `staff:<name>`.
ALTER TABLE messages ADD COLUMN author TEXT;

-- What an event's commit wrote (JSON counts), and `staff` on an event held for a person:
-- a message handled by nobody (the lead's text is in the history), or a job waiting for
-- the release (kept `queued`, out of the conversation's order, due when the pause ends).
ALTER TABLE events ADD COLUMN effects TEXT;
ALTER TABLE events ADD COLUMN held TEXT;
-- A requeued dead letter may be pinned to the rollout's candidate version.
ALTER TABLE events ADD COLUMN pinned_version TEXT;
CREATE INDEX events_conversation_held ON events (conversation_id, held);

ALTER TABLE plugin_history DROP CONSTRAINT plugin_history_action_check;
ALTER TABLE plugin_history ADD CONSTRAINT plugin_history_action_check CHECK (action IN
    ('upload', 'activate', 'rollback', 'auto_rollback', 'rollout', 'promote', 'abort',
     'requeue', 'discard'));
