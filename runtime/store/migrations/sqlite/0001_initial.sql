-- The hub's tables in SQLite: JSON as TEXT, bytes as BLOB, times as ISO-8601 UTC text of one
-- fixed width (so text order is time order). Applied by runtime/store/_migrations.py inside
-- BEGIN IMMEDIATE, which also records it in schema_migrations.

CREATE TABLE integration_configs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    adapter     TEXT NOT NULL,
    status      TEXT NOT NULL,
    config      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    version     INTEGER NOT NULL
);

CREATE TABLE integration_credentials (
    integration_id  TEXT NOT NULL REFERENCES integration_configs (id) ON DELETE CASCADE,
    field           TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    nonce           BLOB NOT NULL,
    ciphertext      BLOB NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (integration_id, field)
) WITHOUT ROWID;

-- No foreign key: a late log line of a deleted integration must not fail its whole batch.
CREATE TABLE integration_logs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id  TEXT NOT NULL,
    level           TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    message         TEXT NOT NULL,
    details         TEXT NOT NULL,
    duration_ms     REAL,
    created_at      TEXT NOT NULL
);
CREATE INDEX integration_logs_by_integration ON integration_logs (integration_id, id);
CREATE INDEX integration_logs_by_time ON integration_logs (created_at);

CREATE TABLE sync_status (
    integration_id  TEXT NOT NULL REFERENCES integration_configs (id) ON DELETE CASCADE,
    entity          TEXT NOT NULL,
    checkpoint      TEXT,
    last_sync_at    TEXT,
    next_sync_at    TEXT,
    records_synced  INTEGER NOT NULL DEFAULT 0,
    errors_count    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, entity)
) WITHOUT ROWID;

-- seq orders runs (newest first in the API) and tells which run of an entity is the latest.
CREATE TABLE sync_runs (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    id                TEXT NOT NULL UNIQUE,
    integration_id    TEXT NOT NULL REFERENCES integration_configs (id) ON DELETE CASCADE,
    entity            TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('full', 'incremental')),
    status            TEXT NOT NULL
                      CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    last_progress_at  TEXT NOT NULL,
    added             INTEGER NOT NULL DEFAULT 0,
    updated           INTEGER NOT NULL DEFAULT 0,
    unchanged         INTEGER NOT NULL DEFAULT 0,
    deleted           INTEGER NOT NULL DEFAULT 0,
    seen              INTEGER NOT NULL DEFAULT 0,
    error             TEXT
);
CREATE INDEX sync_runs_by_integration ON sync_runs (integration_id, seq);
CREATE INDEX sync_runs_by_entity ON sync_runs (integration_id, entity, seq);
-- Never two runs of one entity at once.
CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (integration_id, entity)
    WHERE status = 'running';

-- No foreign key: it would be checked once per record on the hottest path; deleting an
-- integration deletes its records explicitly.
CREATE TABLE records (
    integration_id  TEXT NOT NULL,
    entity          TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    data            TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT,
    written_by_run  INTEGER NOT NULL,
    PRIMARY KEY (integration_id, entity, external_id)
);

-- The keys a full run saw unchanged so far (what it wrote carries its seq in
-- records.written_by_run); emptied when the run finishes. Append-only while the run lasts:
-- no key, no index, no foreign key, so noting a key costs one row append. A key noted twice
-- (a resumed run re-reading a page) is harmless to the NOT EXISTS that reads it.
CREATE TABLE sync_seen (
    run_id       TEXT NOT NULL,
    entity       TEXT NOT NULL,
    external_id  TEXT NOT NULL
);

-- The outbox. AUTOINCREMENT: a seq is never reused, even after the newest rows were trimmed,
-- so a client resuming after a seq (SSE Last-Event-ID) never misses or repeats one.
CREATE TABLE events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    integration_id  TEXT NOT NULL,
    type            TEXT NOT NULL,
    source          TEXT NOT NULL,
    time            TEXT NOT NULL,
    data            TEXT NOT NULL,
    traceparent     TEXT,
    sent_at         TEXT
);
CREATE INDEX events_unsent ON events (seq) WHERE sent_at IS NULL;
CREATE INDEX events_sent_at ON events (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX events_by_integration ON events (integration_id, seq);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    integration_id  TEXT NOT NULL REFERENCES integration_configs (id) ON DELETE CASCADE,
    delivery_id     TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    headers         TEXT,
    body            BLOB,
    status          TEXT NOT NULL
                    CHECK (status IN ('received', 'processed', 'failed', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    processed_at    TEXT,
    UNIQUE (integration_id, delivery_id)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (received_at)
    WHERE status IN ('received', 'failed');
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (processed_at)
    WHERE status IN ('processed', 'dead');

CREATE TABLE conflicts (
    id              TEXT PRIMARY KEY,
    integration_id  TEXT NOT NULL REFERENCES integration_configs (id) ON DELETE CASCADE,
    entity          TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    hub_data        TEXT NOT NULL,
    source_data     TEXT NOT NULL,
    detected_at     TEXT NOT NULL,
    resolved_at     TEXT,
    resolution      TEXT
);
CREATE INDEX conflicts_open ON conflicts (integration_id, detected_at) WHERE resolved_at IS NULL;

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    details  TEXT NOT NULL
);
