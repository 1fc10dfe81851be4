"""Every SQL statement the PostgreSQL backend runs (the schema is in migrations/postgres/).

JSON goes in and out as text (asyncpg's default for jsonb), already canonical from _hashing.
"""

from __future__ import annotations

from runtime.store._rows import (
    AUDIT_COLUMNS,
    CREDENTIAL_COLUMNS,
    EVENT_COLUMNS,
    INTEGRATION_COLUMNS,
    LOG_COLUMNS,
    RECORD_COLUMNS,
    RUN_COLUMNS,
    WEBHOOK_COLUMNS,
)

# Held (per transaction) by every writer of events, so seq order is commit order.
EVENTS_LOCK_KEY = 0x1A7E_6A7E_0000_0002

# The staging table of record batches, one per connection, emptied by every commit. `data`
# is text: only the rows actually written pay for parsing it into jsonb.
STAGE = "hub_batch"
STAGE_COLUMNS = ("external_id", "data", "content_hash")
STAGE_TABLE = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGE} (
    external_id   text COLLATE "C" NOT NULL,
    data          text NOT NULL,
    content_hash  text COLLATE "C" NOT NULL
) ON COMMIT DELETE ROWS"""

# -- integrations and credentials ----------------------------------------------------------

INSERT_INTEGRATION = f"""
INSERT INTO integration_configs
    (id, name, type, adapter, status, config, created_at, updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1)
RETURNING {INTEGRATION_COLUMNS}"""

UPDATE_INTEGRATION = f"""
UPDATE integration_configs
SET name = $2, type = $3, adapter = $4, status = $5, config = $6, updated_at = $7,
    version = version + 1
WHERE id = $1 AND version = $8
RETURNING {INTEGRATION_COLUMNS}"""

INTEGRATION_EXISTS = "SELECT version FROM integration_configs WHERE id = $1"

DELETE_INTEGRATION_SEEN = """
DELETE FROM sync_seen WHERE run_id IN (SELECT id FROM sync_runs WHERE integration_id = $1)"""

DELETE_INTEGRATION = "DELETE FROM integration_configs WHERE id = $1"

# records has no foreign key (its check would lock the integration's row once per record).
DELETE_INTEGRATION_RECORDS = "DELETE FROM records WHERE integration_id = $1"

DELETE_INTEGRATION_LOGS = "DELETE FROM integration_logs WHERE integration_id = $1"

SELECT_INTEGRATION = f"SELECT {INTEGRATION_COLUMNS} FROM integration_configs WHERE id = $1"

LIST_INTEGRATIONS = f"SELECT {INTEGRATION_COLUMNS} FROM integration_configs ORDER BY created_at, id"

SET_STATUS = f"""
UPDATE integration_configs SET status = $2 WHERE id = $1
RETURNING {INTEGRATION_COLUMNS}"""

UPSERT_CREDENTIAL = """
INSERT INTO integration_credentials
    (integration_id, field, key_id, nonce, ciphertext, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (integration_id, field) DO UPDATE
SET key_id = EXCLUDED.key_id, nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext,
    updated_at = EXCLUDED.updated_at"""

# One statement for the whole list: the parameters are arrays, one per column.
REPLACE_CREDENTIALS = """
UPDATE integration_credentials AS c
SET key_id = n.key_id, nonce = n.nonce, ciphertext = n.ciphertext, updated_at = n.updated_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::bytea[], $6::timestamptz[])
    AS n (integration_id, field, key_id, nonce, ciphertext, updated_at)
WHERE c.integration_id = n.integration_id AND c.field = n.field"""

DELETE_CREDENTIAL = "DELETE FROM integration_credentials WHERE integration_id = $1 AND field = $2"

LIST_CREDENTIALS = (
    f"SELECT {CREDENTIAL_COLUMNS} FROM integration_credentials ORDER BY integration_id, field"
)

LIST_CREDENTIALS_OF = f"""
SELECT {CREDENTIAL_COLUMNS} FROM integration_credentials
WHERE integration_id = $1 ORDER BY field"""

INSERT_AUDIT = """
INSERT INTO audit_log (at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5)"""

LIST_AUDIT = f"""
SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2"""

# -- runs and records --------------------------------------------------------------------

INSERT_RUN = f"""
INSERT INTO sync_runs (id, integration_id, entity, kind, status, started_at, last_progress_at)
VALUES ($1, $2, $3, $4, 'running', $5, $5)
RETURNING {RUN_COLUMNS}"""

DROP_SUPERSEDED_SEEN = """
DELETE FROM sync_seen WHERE run_id IN (
    SELECT id FROM sync_runs WHERE integration_id = $1 AND entity = $2 AND status <> 'running'
)"""

SELECT_RUN = f"SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = $1"

LATEST_RUN = f"""
SELECT {RUN_COLUMNS} FROM sync_runs
WHERE integration_id = $1 AND entity = $2 ORDER BY seq DESC LIMIT 1"""

RESUME_RUN = f"""
UPDATE sync_runs SET status = 'running', finished_at = NULL, last_progress_at = $2
WHERE id = $1 AND status = 'interrupted' AND seq = (
    SELECT max(seq) FROM sync_runs AS later
    WHERE later.integration_id = sync_runs.integration_id AND later.entity = sync_runs.entity
)
RETURNING {RUN_COLUMNS}"""

TOUCH_RUN = "UPDATE sync_runs SET last_progress_at = $2 WHERE id = $1 AND status = 'running'"

# FOR UPDATE: a batch and the run's finish never interleave.
RUN_STATE = """
SELECT integration_id, entity, kind, status, seen, seq, added, updated, unchanged
FROM sync_runs WHERE id = $1 FOR UPDATE"""

# For a run that so far mostly re-read unchanged records: compare the batch's hashes first,
# sending only keys and hashes (one JSON object {external_id: content_hash}, $3: cheaper to
# send than two arrays), and note the unchanged keys as seen when the run is a full one ($5);
# returns the keys to write, whose data alone then travels (see WRITE_STAGED for why the
# comparison is a scalar subquery).
SORT_BATCH = """
WITH batch AS (
    SELECT k.key AS external_id, k.value IS NOT DISTINCT FROM (
        SELECT r.content_hash FROM records AS r
        WHERE r.integration_id = $1 AND r.entity = $2 AND r.external_id = k.key
          AND r.deleted_at IS NULL
    ) AS unchanged
    FROM json_each_text($3::json) AS k
), seen AS (
    INSERT INTO sync_seen (run_id, entity, keys)
    SELECT $4, $2, array_agg(external_id) FROM batch WHERE unchanged AND $5
    HAVING count(*) > 0
)
SELECT external_id FROM batch WHERE NOT unchanged"""

# The whole staged batch in one statement: compare each hash with the stored one, note the
# unchanged keys as seen when the run is a full one ($6), insert or update the rest, count.
# The comparison is a scalar subquery on purpose: it runs once per staged row as a primary-key
# probe whatever the (often stale) statistics say, where a join could become a scan of the
# entity's every row per batch. Unchanged rows are neither written nor locked (ON CONFLICT
# would lock them even when its WHERE then skips the update); that WHERE still guards against
# a row written meanwhile by someone else. `xmax = 0` tells an insert from an update.
_WRITE_STAGED = f"""
WITH batch AS (
    SELECT b.external_id, b.data, b.content_hash,
           b.content_hash IS NOT DISTINCT FROM (
               SELECT r.content_hash FROM records AS r
               WHERE r.integration_id = $1 AND r.entity = $2 AND r.external_id = b.external_id
                 AND r.deleted_at IS NULL
           ) AS unchanged
    FROM {STAGE} AS b
), seen AS (
    INSERT INTO sync_seen (run_id, entity, keys)
    SELECT $5, $2, array_agg(external_id) FROM batch WHERE unchanged AND $6
    HAVING count(*) > 0
    RETURNING cardinality(keys) AS noted
), written AS (
    INSERT INTO records (integration_id, entity, external_id, data, content_hash, created_at,
                         updated_at, written_by_run)
    SELECT $1, $2, external_id, data::jsonb, content_hash, $3, $3, $4
    FROM batch WHERE NOT unchanged
    ON CONFLICT (integration_id, entity, external_id) DO UPDATE
    SET data = EXCLUDED.data, content_hash = EXCLUDED.content_hash,
        updated_at = EXCLUDED.updated_at, deleted_at = NULL,
        written_by_run = EXCLUDED.written_by_run
    WHERE records.content_hash IS DISTINCT FROM EXCLUDED.content_hash
       OR records.deleted_at IS NOT NULL
    RETURNING external_id, (xmax = 0) AS inserted
)
"""

# WRITE_STAGED for a run that has so far mostly added records (a first sync): insert the
# whole batch first, ON CONFLICT DO NOTHING (which neither writes nor locks the stored row),
# and compare only the keys that conflicted, as WRITE_STAGED does. A batch of new records so
# costs one index search per record instead of two. A stored record's data is then parsed
# into jsonb in vain (and a changed one's twice): the run's counts keep that case rare.
_INSERT_STAGED = f"""
WITH inserted AS (
    INSERT INTO records (integration_id, entity, external_id, data, content_hash, created_at,
                         updated_at, written_by_run)
    SELECT $1, $2, external_id, data::jsonb, content_hash, $3, $3, $4 FROM {STAGE}
    ON CONFLICT (integration_id, entity, external_id) DO NOTHING
    RETURNING external_id
), batch AS (
    SELECT b.external_id, b.data, b.content_hash,
           b.content_hash IS NOT DISTINCT FROM (
               SELECT r.content_hash FROM records AS r
               WHERE r.integration_id = $1 AND r.entity = $2 AND r.external_id = b.external_id
                 AND r.deleted_at IS NULL
           ) AS unchanged
    FROM {STAGE} AS b
    WHERE b.external_id NOT IN (SELECT external_id FROM inserted)
), seen AS (
    INSERT INTO sync_seen (run_id, entity, keys)
    SELECT $5, $2, array_agg(external_id) FROM batch WHERE unchanged AND $6
    HAVING count(*) > 0
    RETURNING cardinality(keys) AS noted
), updated AS (
    INSERT INTO records (integration_id, entity, external_id, data, content_hash, created_at,
                         updated_at, written_by_run)
    SELECT $1, $2, external_id, data::jsonb, content_hash, $3, $3, $4
    FROM batch WHERE NOT unchanged
    ON CONFLICT (integration_id, entity, external_id) DO UPDATE
    SET data = EXCLUDED.data, content_hash = EXCLUDED.content_hash,
        updated_at = EXCLUDED.updated_at, deleted_at = NULL,
        written_by_run = EXCLUDED.written_by_run
    WHERE records.content_hash IS DISTINCT FROM EXCLUDED.content_hash
       OR records.deleted_at IS NOT NULL
    RETURNING external_id
)
"""

# Each of the two ends in one row: (added, updated, keys noted as seen), as counts, or, when
# the batch is to report its changed records (`record_events`), as the arrays of the added
# and of the updated keys (whose data the caller already has), so nothing is read twice.
_SEEN = "(SELECT coalesce(sum(noted), 0) FROM seen)"
_KEYS = "coalesce((SELECT array_agg(external_id) FROM {}), '{{}}'::text[])"

WRITE_STAGED = (
    _WRITE_STAGED + "SELECT (SELECT count(*) FROM written WHERE inserted),"
    " (SELECT count(*) FROM written WHERE NOT inserted), " + _SEEN
)
WRITE_STAGED_KEYS = (
    _WRITE_STAGED
    + f"SELECT {_KEYS.format('written WHERE inserted')},"
    + f" {_KEYS.format('written WHERE NOT inserted')}, {_SEEN}"
)
INSERT_STAGED = (
    _INSERT_STAGED
    + "SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM updated), "
    + _SEEN
)
INSERT_STAGED_KEYS = (
    _INSERT_STAGED + f"SELECT {_KEYS.format('inserted')}, {_KEYS.format('updated')}, {_SEEN}"
)

# The run's counters and the entity's checkpoint, in one round trip.
NOTE_BATCH = """
WITH run AS (
    UPDATE sync_runs
    SET added = added + $2, updated = updated + $3, unchanged = unchanged + $4,
        seen = seen + $5, last_progress_at = $6, deleted = deleted + $11
    WHERE id = $1
)
INSERT INTO sync_status (integration_id, entity, checkpoint, records_synced)
VALUES ($7, $8, $9, $10)
ON CONFLICT (integration_id, entity) DO UPDATE
SET checkpoint = coalesce(EXCLUDED.checkpoint, sync_status.checkpoint),
    records_synced = sync_status.records_synced + EXCLUDED.records_synced"""

# Tombstones (a sync batch's, a webhook's): the live records of these ids ($4) soft-deleted;
# unknown and already deleted ids match nothing.
SOFT_DELETE_KEYS = """
UPDATE records SET deleted_at = $3, updated_at = $3
WHERE integration_id = $1 AND entity = $2 AND deleted_at IS NULL
  AND external_id = ANY($4::text[])
RETURNING external_id"""

COUNT_SEEN = "SELECT coalesce(sum(cardinality(keys)), 0) FROM sync_seen WHERE run_id = $1"

# sync_seen's statistics are always stale (every run fills and empties it) and those of a
# freshly synced entity too; a misjudged anti join becomes a nested loop over both sets.
# Without nested loops the planner must hash or merge: linear in the entity's size. The seen
# keys are unnested in a subquery's select list, not by a LATERAL join, which would need a
# nested loop: disabled, it would still run, at a cost so high that it switches on JIT.
NO_NESTED_LOOPS = "SET LOCAL enable_nestloop = off"

SOFT_DELETE_UNSEEN = """
UPDATE records SET deleted_at = $3, updated_at = $3
WHERE integration_id = $1 AND entity = $2 AND deleted_at IS NULL AND written_by_run <> $5
  AND NOT EXISTS (
    SELECT 1 FROM (
        SELECT unnest(keys) AS external_id FROM sync_seen WHERE run_id = $4 AND entity = $2
    ) AS seen
    WHERE seen.external_id = records.external_id
  )"""

# The same, reporting which records it deleted (for their `record_changed` events).
SOFT_DELETE_UNSEEN_RETURNING = SOFT_DELETE_UNSEEN + "\nRETURNING external_id"

DELETE_SEEN = "DELETE FROM sync_seen WHERE run_id = $1"

# `deleted` adds the unseen records to those the run's tombstones deleted.
FINISH_RUN = f"""
UPDATE sync_runs SET status = $2, finished_at = $3, deleted = deleted + $4, error = $5
WHERE id = $1 AND status = 'running'
RETURNING {RUN_COLUMNS}"""

NOTE_SYNC_DONE = """
INSERT INTO sync_status (integration_id, entity, last_sync_at) VALUES ($1, $2, $3)
ON CONFLICT (integration_id, entity) DO UPDATE SET last_sync_at = EXCLUDED.last_sync_at"""

NOTE_SYNC_FAILED = """
INSERT INTO sync_status (integration_id, entity, errors_count) VALUES ($1, $2, 1)
ON CONFLICT (integration_id, entity) DO UPDATE SET errors_count = sync_status.errors_count + 1"""

MARK_INTERRUPTED = """
UPDATE sync_runs SET status = 'interrupted', finished_at = $1 WHERE status = 'running'"""

LIST_RUNS = f"""
SELECT {RUN_COLUMNS} FROM sync_runs
WHERE integration_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"""

GET_CHECKPOINT = "SELECT checkpoint FROM sync_status WHERE integration_id = $1 AND entity = $2"

# One statement for every entity of the integration, those with a row ($1) and those named
# ($2, an array): the CTE sees the rows as they were, so the two parts never meet a row twice.
SET_NEXT_SYNC = """
WITH others AS (
    UPDATE sync_status SET next_sync_at = $3
    WHERE integration_id = $1 AND entity <> ALL($2::text[])
)
INSERT INTO sync_status (integration_id, entity, next_sync_at)
SELECT $1, entity, $3 FROM unnest($2::text[]) AS entity
ON CONFLICT (integration_id, entity) DO UPDATE SET next_sync_at = EXCLUDED.next_sync_at"""

NEXT_SYNC = "SELECT min(next_sync_at) FROM sync_status WHERE integration_id = $1"

_LIST_RECORDS = f"SELECT {RECORD_COLUMNS} FROM records WHERE integration_id = $1 AND entity = $2"

# (after a cursor?, including deleted?) -> statement; parameters $1..$4 = id, entity, limit, key
LIST_RECORDS = {
    (after, deleted): _LIST_RECORDS
    + (" AND external_id > $4" if after else "")
    + ("" if deleted else " AND deleted_at IS NULL")
    + " ORDER BY external_id LIMIT $3"
    for after in (False, True)
    for deleted in (False, True)
}

COUNT_RECORDS = """
SELECT entity, count(*) FROM records
WHERE integration_id = $1 AND deleted_at IS NULL GROUP BY entity ORDER BY entity"""

# -- logs, events, webhooks, retention ---------------------------------------------------

INSERT_LOG = """
INSERT INTO integration_logs
    (integration_id, level, event_type, message, details, duration_ms, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)"""

LIST_LOGS = f"""
SELECT {LOG_COLUMNS} FROM integration_logs
WHERE integration_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"""

# Events ($2: one JSON array of rows, in order) inserted under the events lock ($1), taken in
# the same statement: every row joins the lock's one row, so the lock is held before the
# first row gets its seq (an identity, assigned in the ORDER BY's order).
INSERT_EVENTS = """
WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock($1))
INSERT INTO events (id, integration_id, type, source, time, data, traceparent)
SELECT e.id, e.integration_id, e.type, e.source, e.time, e.data, e.traceparent
FROM locked, ROWS FROM (json_to_recordset($2::json) AS (
    id text, integration_id text, type text, source text, time timestamptz, data jsonb,
    traceparent text)) WITH ORDINALITY AS e(
    id, integration_id, type, source, time, data, traceparent, n)
ORDER BY e.n"""

PENDING_EVENTS = f"SELECT {EVENT_COLUMNS} FROM events WHERE sent_at IS NULL ORDER BY seq LIMIT $1"

MARK_EVENTS_SENT = """
UPDATE events SET sent_at = $2 WHERE id = ANY($1::text[]) AND sent_at IS NULL"""

EVENTS_AFTER = f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"

EVENT_SEQ = "SELECT seq FROM events WHERE id = $1"

RECENT_EVENTS = f"SELECT {EVENT_COLUMNS} FROM events ORDER BY seq DESC LIMIT $1"

RECENT_EVENTS_OF = f"""
SELECT {EVENT_COLUMNS} FROM events WHERE integration_id = $1 ORDER BY seq DESC LIMIT $2"""

INSERT_WEBHOOK = """
INSERT INTO webhook_deliveries
    (id, integration_id, delivery_id, received_at, headers, body, next_attempt_at, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'received')
ON CONFLICT (integration_id, delivery_id) DO NOTHING"""

PENDING_WEBHOOKS = f"""
SELECT {WEBHOOK_COLUMNS} FROM webhook_deliveries
WHERE status IN ('received', 'failed') ORDER BY received_at, id LIMIT $1"""

MARK_WEBHOOK = """
UPDATE webhook_deliveries SET status = $2, last_error = $3, attempts = $4, processed_at = $5,
    next_attempt_at = $6
WHERE id = $1"""

TRIM_LOGS = "DELETE FROM integration_logs WHERE created_at < $1"

TRIM_EVENTS = "DELETE FROM events WHERE sent_at IS NOT NULL AND sent_at < $1"

TRIM_WEBHOOK_PAYLOADS = """
UPDATE webhook_deliveries SET headers = NULL, body = NULL
WHERE status IN ('processed', 'dead') AND processed_at < $1 AND body IS NOT NULL"""
