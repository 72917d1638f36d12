-- 0003_schedule (SQLite): the scheduler's bookkeeping. Timestamps are Unix epoch ms.

-- The last slot each plugin's cron job fired for (or its baseline when first seen), so a
-- job missed while the host was down fires once on start-up, and replicas fire each slot
-- once (the mark moves by a conditional UPDATE).
CREATE TABLE cron_marks (
    plugin       TEXT NOT NULL,
    job          TEXT NOT NULL,
    last_slot_at INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (plugin, job)
);

-- How far up the SLA ladder each item has climbed (1 reminder, 2 overdue, 3.. repeats,
-- then escalation), for the deadline it was climbed for: a re-tracked item with a new
-- deadline starts again.
CREATE TABLE sla_rungs (
    plugin      TEXT NOT NULL,
    item_id     TEXT NOT NULL,
    rung        INTEGER NOT NULL,
    deadline_at INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (plugin, item_id)
);
