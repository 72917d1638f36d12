-- 0010_admission (SQLite): when the frequency cap admitted an agent-initiated text.
-- Set in the same write transaction that counted the recipient's other admitted texts,
-- so texts gated at once (by several dispatchers or replicas) cannot all pass the cap.
-- Unix epoch ms; NULL until admitted (replies and host messages are never counted).
ALTER TABLE outbox ADD COLUMN admitted_at INTEGER;
