-- The hub's tables in PostgreSQL: JSONB, BYTEA, TIMESTAMPTZ. Keys that are paged through
-- or compared with SQLite's order are COLLATE "C" (byte order, as SQLite's BINARY), which is
-- also the cheapest to compare. Applied by runtime/store/_migrations.py in one transaction
-- under pg_advisory_xact_lock, recorded in schema_migrations.

CREATE TABLE integration_configs (
    id          text COLLATE "C" PRIMARY KEY,
    name        text NOT NULL,
    type        text NOT NULL,
    adapter     text NOT NULL,
    status      text NOT NULL,
    config      jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     integer NOT NULL
);

CREATE TABLE integration_credentials (
    integration_id  text COLLATE "C" NOT NULL
                    REFERENCES integration_configs (id) ON DELETE CASCADE,
    field           text COLLATE "C" NOT NULL,
    key_id          text NOT NULL,
    nonce           bytea NOT NULL,
    ciphertext      bytea NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (integration_id, field)
);

-- No foreign key: a late log line of a deleted integration must not fail its whole batch.
CREATE TABLE integration_logs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    integration_id  text COLLATE "C" NOT NULL,
    level           text NOT NULL,
    event_type      text NOT NULL,
    message         text NOT NULL,
    details         jsonb NOT NULL,
    duration_ms     double precision,
    created_at      timestamptz NOT NULL
);
CREATE INDEX integration_logs_by_integration ON integration_logs (integration_id, id);
CREATE INDEX integration_logs_by_time ON integration_logs (created_at);

CREATE TABLE sync_status (
    integration_id  text COLLATE "C" NOT NULL
                    REFERENCES integration_configs (id) ON DELETE CASCADE,
    entity          text COLLATE "C" NOT NULL,
    checkpoint      jsonb,
    last_sync_at    timestamptz,
    next_sync_at    timestamptz,
    records_synced  bigint NOT NULL DEFAULT 0,
    errors_count    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (integration_id, entity)
);

-- seq orders runs (newest first in the API) and tells which run of an entity is the latest.
CREATE TABLE sync_runs (
    seq               bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                text COLLATE "C" PRIMARY KEY,
    integration_id    text COLLATE "C" NOT NULL
                      REFERENCES integration_configs (id) ON DELETE CASCADE,
    entity            text COLLATE "C" NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('full', 'incremental')),
    status            text NOT NULL
                      CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz,
    last_progress_at  timestamptz NOT NULL,
    added             bigint NOT NULL DEFAULT 0,
    updated           bigint NOT NULL DEFAULT 0,
    unchanged         bigint NOT NULL DEFAULT 0,
    deleted           bigint NOT NULL DEFAULT 0,
    seen              bigint NOT NULL DEFAULT 0,
    error             text
);
CREATE INDEX sync_runs_by_integration ON sync_runs (integration_id, seq);
CREATE INDEX sync_runs_by_entity ON sync_runs (integration_id, entity, seq);
-- Never two runs of one entity at once.
CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (integration_id, entity)
    WHERE status = 'running';

-- No foreign key: its check locks the integration's row once per inserted record; deleting
-- an integration deletes its records explicitly.
CREATE TABLE records (
    integration_id  text COLLATE "C" NOT NULL,
    entity          text COLLATE "C" NOT NULL,
    external_id     text COLLATE "C" NOT NULL,
    data            jsonb NOT NULL,
    content_hash    text COLLATE "C" NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    deleted_at      timestamptz,
    written_by_run  bigint NOT NULL,
    PRIMARY KEY (integration_id, entity, external_id)
);

-- The keys a full run saw unchanged so far (what it wrote carries its seq in
-- records.written_by_run); emptied when the run finishes. Append-only while the run lasts:
-- no key and no index, so noting a key costs one heap append; a key noted twice (a resumed
-- run re-reading a page) is harmless to the anti join that reads it. UNLOGGED: scratch data
-- not worth the WAL. A server crash empties it; sync_runs.seen (logged, counted in the same
-- transactions) then no longer matches, and the run's finish deletes nothing.
CREATE UNLOGGED TABLE sync_seen (
    run_id       text COLLATE "C" NOT NULL,
    entity       text COLLATE "C" NOT NULL,
    external_id  text COLLATE "C" NOT NULL
);

-- The outbox. Writers take a transaction-scoped advisory lock before inserting, so seq
-- order is commit order and a reader resuming after a seq never skips a late commit.
CREATE TABLE events (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              text COLLATE "C" NOT NULL UNIQUE,
    integration_id  text COLLATE "C" NOT NULL,
    type            text NOT NULL,
    source          text NOT NULL,
    time            timestamptz NOT NULL,
    data            jsonb NOT NULL,
    traceparent     text,
    sent_at         timestamptz
);
CREATE INDEX events_unsent ON events (seq) WHERE sent_at IS NULL;
CREATE INDEX events_sent_at ON events (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX events_by_integration ON events (integration_id, seq);

CREATE TABLE webhook_deliveries (
    id              text COLLATE "C" PRIMARY KEY,
    integration_id  text COLLATE "C" NOT NULL
                    REFERENCES integration_configs (id) ON DELETE CASCADE,
    delivery_id     text COLLATE "C" NOT NULL,
    received_at     timestamptz NOT NULL,
    headers         jsonb,
    body            bytea,
    status          text NOT NULL
                    CHECK (status IN ('received', 'processed', 'failed', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    processed_at    timestamptz,
    UNIQUE (integration_id, delivery_id)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (received_at)
    WHERE status IN ('received', 'failed');
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (processed_at)
    WHERE status IN ('processed', 'dead');

CREATE TABLE conflicts (
    id              text COLLATE "C" PRIMARY KEY,
    integration_id  text COLLATE "C" NOT NULL
                    REFERENCES integration_configs (id) ON DELETE CASCADE,
    entity          text COLLATE "C" NOT NULL,
    external_id     text COLLATE "C" NOT NULL,
    hub_data        jsonb NOT NULL,
    source_data     jsonb NOT NULL,
    detected_at     timestamptz NOT NULL,
    resolved_at     timestamptz,
    resolution      text
);
CREATE INDEX conflicts_open ON conflicts (integration_id, detected_at) WHERE resolved_at IS NULL;

CREATE TABLE audit_log (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       timestamptz NOT NULL,
    actor    text NOT NULL,
    action   text NOT NULL,
    target   text NOT NULL,
    details  jsonb NOT NULL
);
