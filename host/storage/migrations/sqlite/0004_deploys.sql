-- 0004_deploys (SQLite): the plugin registry. Timestamps are Unix epoch milliseconds.
-- Flags are INTEGER 0/1 (sqlx's Any driver cannot read SQLite BOOLEAN columns); component
-- bytes are BLOB.

-- Every uploaded plugin version: immutable and content-addressed (version is the lower-case
-- hex sha256 of component, computed by the uploader). description is the plugin's
-- self-description as JSON.
CREATE TABLE plugin_versions (
    plugin      TEXT NOT NULL,
    version     TEXT NOT NULL,
    component   BLOB NOT NULL,
    size_bytes  INTEGER NOT NULL,
    wit_world   TEXT NOT NULL,
    description TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL,
    note        TEXT,
    PRIMARY KEY (plugin, version)
);

-- What each plugin runs: its active version, the one before it (the rollback target) and
-- any rollout of a candidate. generation is the deploy_clock value of the last change.
CREATE TABLE plugin_deployments (
    plugin            TEXT PRIMARY KEY NOT NULL,
    active_version    TEXT,
    previous_version  TEXT,
    rollout_mode      TEXT NOT NULL CHECK (rollout_mode IN ('none', 'canary', 'shadow')),
    candidate_version TEXT,
    canary_percent    INTEGER NOT NULL CHECK (canary_percent BETWEEN 0 AND 100),
    activated_at      INTEGER,
    updated_at        INTEGER NOT NULL,
    generation        INTEGER NOT NULL
);

-- Every upload and deployment change, with who did it and why.
CREATE TABLE plugin_history (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    plugin       TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN
                 ('upload', 'activate', 'rollback', 'auto_rollback', 'rollout', 'promote', 'abort')),
    from_version TEXT,
    to_version   TEXT,
    actor        TEXT NOT NULL,
    reason       TEXT,
    at_ms        INTEGER NOT NULL,
    details      TEXT
);
CREATE INDEX plugin_history_plugin ON plugin_history (plugin, id);

-- One row counting deployment changes: each change increments it in its transaction, so
-- changes are serialised and a replica polling the count learns that something changed.
CREATE TABLE deploy_clock (
    id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO deploy_clock (id, generation) VALUES (1, 0);

-- Shadow rollouts: the active and candidate versions' results for the same event.
CREATE TABLE shadow_runs (
    event_id          TEXT NOT NULL,
    plugin            TEXT NOT NULL,
    active_version    TEXT NOT NULL,
    candidate_version TEXT NOT NULL,
    active_outcome    TEXT NOT NULL,
    candidate_outcome TEXT NOT NULL,
    active_effects    TEXT NOT NULL,
    candidate_effects TEXT NOT NULL,
    differs           INTEGER NOT NULL CHECK (differs IN (0, 1)),
    at_ms             INTEGER NOT NULL,
    PRIMARY KEY (event_id, candidate_version)
);
CREATE INDEX shadow_runs_plugin_at ON shadow_runs (plugin, at_ms);
