-- 0008_security (PostgreSQL): who did what through the admin API, and who signed each
-- plugin version. Timestamps are Unix epoch milliseconds.

-- Every admin call, allowed or refused: the actor is the name bound to the token used
-- (NULL when no valid token came), the scope it carried, the source address as the
-- admin listener saw it, and the HTTP status answered.
CREATE TABLE admin_audit (
    id      BIGSERIAL PRIMARY KEY,
    at_ms   BIGINT NOT NULL,
    actor   TEXT,
    scope   TEXT,
    method  TEXT   NOT NULL,
    path    TEXT   NOT NULL,
    source  TEXT,
    status  INTEGER NOT NULL,
    outcome TEXT   NOT NULL
);
CREATE INDEX admin_audit_at ON admin_audit (at_ms);
CREATE INDEX admin_audit_actor ON admin_audit (actor, at_ms);

-- The trusted key that signed a version (NULL: accepted unsigned, signing not required).
ALTER TABLE plugin_versions ADD COLUMN signed_by TEXT;
