-- 0008_security (SQLite): see the PostgreSQL file for the reasoning. Timestamps are Unix
-- epoch milliseconds.

CREATE TABLE admin_audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms   INTEGER NOT NULL,
    actor   TEXT,
    scope   TEXT,
    method  TEXT    NOT NULL,
    path    TEXT    NOT NULL,
    source  TEXT,
    status  INTEGER NOT NULL,
    outcome TEXT    NOT NULL
);
CREATE INDEX admin_audit_at ON admin_audit (at_ms);
CREATE INDEX admin_audit_actor ON admin_audit (actor, at_ms);

ALTER TABLE plugin_versions ADD COLUMN signed_by TEXT;
