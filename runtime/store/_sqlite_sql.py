"""Every SQL statement the SQLite backend runs (the schema itself is in migrations/sqlite/).

Numbered parameters (`?1`) where one value is used twice; times are ISO text (see _values).
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

# page_size first: it takes effect only while the file is still empty (a new database), and is
# ignored for an existing one. 16 KiB pages (InnoDB's size) need a quarter of the WAL frames,
# each a write of its own, that 4 KiB pages need for the same rows: syncs write faster, a
# one-row commit slower (see docs/design-notes.md, Persistence).
PRAGMAS = (
    "PRAGMA page_size = 16384",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA temp_store = MEMORY",
)

BUSY_TIMEOUT_PRAGMA = "PRAGMA busy_timeout = {ms:d}"

# -- integrations and credentials ----------------------------------------------------------

INSERT_INTEGRATION = f"""
INSERT INTO integration_configs
    (id, name, type, adapter, status, config, created_at, updated_at, version)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1)
RETURNING {INTEGRATION_COLUMNS}"""

UPDATE_INTEGRATION = f"""
UPDATE integration_configs
SET name = ?2, type = ?3, adapter = ?4, status = ?5, config = ?6, updated_at = ?7,
    version = version + 1
WHERE id = ?1 AND version = ?8
RETURNING {INTEGRATION_COLUMNS}"""

INTEGRATION_EXISTS = "SELECT version FROM integration_configs WHERE id = ?"

DELETE_INTEGRATION = "DELETE FROM integration_configs WHERE id = ?"

# records and sync_seen have no foreign keys (checked once per row, on the hottest path).
DELETE_INTEGRATION_SEEN = """
DELETE FROM sync_seen WHERE run_id IN (SELECT id FROM sync_runs WHERE integration_id = ?)"""

DELETE_INTEGRATION_RECORDS = "DELETE FROM records WHERE integration_id = ?"

DELETE_INTEGRATION_LOGS = "DELETE FROM integration_logs WHERE integration_id = ?"

SELECT_INTEGRATION = f"SELECT {INTEGRATION_COLUMNS} FROM integration_configs WHERE id = ?"

LIST_INTEGRATIONS = f"SELECT {INTEGRATION_COLUMNS} FROM integration_configs ORDER BY created_at, id"

SET_STATUS = f"""
UPDATE integration_configs SET status = ?2 WHERE id = ?1
RETURNING {INTEGRATION_COLUMNS}"""

UPSERT_CREDENTIAL = """
INSERT INTO integration_credentials
    (integration_id, field, key_id, nonce, ciphertext, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
ON CONFLICT (integration_id, field) DO UPDATE
SET key_id = excluded.key_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext,
    updated_at = excluded.updated_at"""

REPLACE_CREDENTIAL = """
UPDATE integration_credentials
SET key_id = ?3, nonce = ?4, ciphertext = ?5, updated_at = ?6
WHERE integration_id = ?1 AND field = ?2"""

DELETE_CREDENTIAL = "DELETE FROM integration_credentials WHERE integration_id = ? AND field = ?"

LIST_CREDENTIALS = (
    f"SELECT {CREDENTIAL_COLUMNS} FROM integration_credentials ORDER BY integration_id, field"
)

LIST_CREDENTIALS_OF = f"""
SELECT {CREDENTIAL_COLUMNS} FROM integration_credentials
WHERE integration_id = ? ORDER BY field"""

INSERT_AUDIT = """
INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)"""

LIST_AUDIT = f"""
SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id < ?1 ORDER BY id DESC LIMIT ?2"""

# -- runs and records --------------------------------------------------------------------

INSERT_RUN = f"""
INSERT INTO sync_runs (id, integration_id, entity, kind, status, started_at, last_progress_at)
VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?5)
RETURNING {RUN_COLUMNS}"""

DROP_SUPERSEDED_SEEN = """
DELETE FROM sync_seen WHERE run_id IN (
    SELECT id FROM sync_runs WHERE integration_id = ?1 AND entity = ?2 AND status <> 'running'
)"""

SELECT_RUN = f"SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = ?"

LATEST_RUN = f"""
SELECT {RUN_COLUMNS} FROM sync_runs
WHERE integration_id = ?1 AND entity = ?2 ORDER BY seq DESC LIMIT 1"""

RESUME_RUN = f"""
UPDATE sync_runs SET status = 'running', finished_at = NULL, last_progress_at = ?2
WHERE id = ?1 AND status = 'interrupted' AND seq = (
    SELECT max(seq) FROM sync_runs AS later
    WHERE later.integration_id = sync_runs.integration_id AND later.entity = sync_runs.entity
)
RETURNING {RUN_COLUMNS}"""

TOUCH_RUN = "UPDATE sync_runs SET last_progress_at = ?2 WHERE id = ?1 AND status = 'running'"

RUN_STATE = """
SELECT integration_id, entity, kind, status, seen, seq, added, updated, unchanged
FROM sync_runs WHERE id = ?"""

# Whether any key from ?3 to ?4 is stored: one index search. When none is, as for each batch of
# a first sync whose source pages in key order, no key of the batch is, and the batch needs no
# comparison with the stored keys at all.
ANY_STORED_BETWEEN = """
SELECT 1 FROM records
WHERE integration_id = ?1 AND entity = ?2 AND external_id BETWEEN ?3 AND ?4 LIMIT 1"""

# The batch comes as one JSON object {external_id: content_hash}: one statement, however long
# the batch; one primary-key search per key (the batch is the outer loop: CROSS JOIN and LEFT
# JOIN both make SQLite loop over it, not over the entity's records). Two forms, each returning
# few rows in its own case (`_batch.mostly_unchanged` picks, from the run's counts so far):
# STORED_KEYS returns (external_id, 1 if unchanged else 0) for the keys stored, none in a first
# sync; KEYS_TO_WRITE returns (external_id, 1 if stored else 0) for the keys new or changed,
# none in an unchanged re-sync. A deleted record that comes back counts as changed.
STORED_KEYS = """
SELECT j.key, r.content_hash = j.value AND r.deleted_at IS NULL
FROM json_each(?3) AS j
CROSS JOIN records AS r ON r.integration_id = ?1 AND r.entity = ?2 AND r.external_id = j.key"""

KEYS_TO_WRITE = """
SELECT j.key, r.content_hash IS NOT NULL
FROM json_each(?3) AS j
LEFT JOIN records AS r ON r.integration_id = ?1 AND r.entity = ?2 AND r.external_id = j.key
WHERE r.content_hash IS NOT j.value OR r.deleted_at IS NOT NULL"""

# parameters: integration_id, entity, external_id, data, content_hash, now, run seq
INSERT_RECORD = """
INSERT INTO records (integration_id, entity, external_id, data, content_hash, created_at,
                     updated_at, written_by_run)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)"""

UPDATE_RECORD = """
UPDATE records
SET data = ?4, content_hash = ?5, updated_at = ?6, deleted_at = NULL, written_by_run = ?7
WHERE integration_id = ?1 AND entity = ?2 AND external_id = ?3"""

# parameters: run id, entity, the batch's unchanged keys as a JSON array, and the batch's key
# range when the batch covers it (COUNT_BETWEEN), else NULL and NULL
MARK_SEEN = "INSERT INTO sync_seen (run_id, entity, keys, lo, hi) VALUES (?, ?, ?, ?, ?)"

# The records from ?3 to ?4, deleted ones too: an index-only count. As many as the batch has
# (distinct) keys, all of them stored by now, means every record there is one of the batch's.
COUNT_BETWEEN = """
SELECT count(*) FROM records
WHERE integration_id = ?1 AND entity = ?2 AND external_id BETWEEN ?3 AND ?4"""

ADD_RUN_COUNTS = """
UPDATE sync_runs
SET added = added + ?2, updated = updated + ?3, unchanged = unchanged + ?4, seen = seen + ?5,
    last_progress_at = ?6, deleted = deleted + ?7
WHERE id = ?1"""

# Tombstones (a sync batch's, a webhook's): the live records of these ids (a JSON array, ?4)
# soft-deleted; unknown and already deleted ids match nothing.
SOFT_DELETE_KEYS = """
UPDATE records SET deleted_at = ?3, updated_at = ?3
WHERE integration_id = ?1 AND entity = ?2 AND deleted_at IS NULL
  AND external_id IN (SELECT value FROM json_each(?4))
RETURNING external_id"""

SAVE_CHECKPOINT = """
INSERT INTO sync_status (integration_id, entity, checkpoint, records_synced)
VALUES (?1, ?2, ?3, ?4)
ON CONFLICT (integration_id, entity) DO UPDATE
SET checkpoint = coalesce(excluded.checkpoint, sync_status.checkpoint),
    records_synced = sync_status.records_synced + excluded.records_synced"""

# The records of an entity, deleted ones too: an index-only count (see _runs.may_leave_unseen).
COUNT_STORED = "SELECT count(*) FROM records WHERE integration_id = ?1 AND entity = ?2"

COUNT_SEEN = "SELECT coalesce(sum(json_array_length(keys)), 0) FROM sync_seen WHERE run_id = ?"

# NOT IN over an uncorrelated subquery: SQLite materialises the seen keys once into a
# temporary index (sync_seen has none, to keep noting keys cheap).
SOFT_DELETE_UNSEEN = """
UPDATE records SET deleted_at = ?3, updated_at = ?3
WHERE integration_id = ?1 AND entity = ?2 AND deleted_at IS NULL AND written_by_run <> ?5
  AND external_id NOT IN (
    SELECT j.value FROM sync_seen AS s, json_each(s.keys) AS j
    WHERE s.run_id = ?4 AND s.entity = ?2
  )"""

# The same, reporting which records it deleted (for their `record_changed` events).
SOFT_DELETE_UNSEEN_RETURNING = SOFT_DELETE_UNSEEN + "\nRETURNING external_id"

# The key ranges a run's batches covered, NULL for a batch that noted keys without one.
SEEN_RANGES = "SELECT lo, hi FROM sync_seen WHERE run_id = ?1 AND entity = ?2"


def _gap_delete(after: bool, before: bool, returning: bool) -> str:
    """Unseen records strictly between two covered ranges (?5, ?6; either end open): the live
    ones this run did not write. Every seen key lies inside a covered range, so none here."""
    bounds = ("\n  AND external_id > ?5" if after else "") + (
        "\n  AND external_id < ?6" if before else ""
    )
    return (
        "UPDATE records SET deleted_at = ?3, updated_at = ?3\n"
        "WHERE integration_id = ?1 AND entity = ?2 AND deleted_at IS NULL"
        " AND written_by_run <> ?4" + bounds + ("\nRETURNING external_id" if returning else "")
    )


# (lower bound?, upper bound?, returning?) -> statement
SOFT_DELETE_GAP = {
    (after, before, returning): _gap_delete(after, before, returning)
    for after in (False, True)
    for before in (False, True)
    for returning in (False, True)
}

DELETE_SEEN = "DELETE FROM sync_seen WHERE run_id = ?"

# `deleted` adds the unseen records to those the run's tombstones deleted.
FINISH_RUN = f"""
UPDATE sync_runs SET status = ?2, finished_at = ?3, deleted = deleted + ?4, error = ?5
WHERE id = ?1 AND status = 'running'
RETURNING {RUN_COLUMNS}"""

NOTE_SYNC_DONE = """
INSERT INTO sync_status (integration_id, entity, last_sync_at) VALUES (?1, ?2, ?3)
ON CONFLICT (integration_id, entity) DO UPDATE SET last_sync_at = excluded.last_sync_at"""

NOTE_SYNC_FAILED = """
INSERT INTO sync_status (integration_id, entity, errors_count) VALUES (?1, ?2, 1)
ON CONFLICT (integration_id, entity) DO UPDATE SET errors_count = sync_status.errors_count + 1"""

MARK_INTERRUPTED = """
UPDATE sync_runs SET status = 'interrupted', finished_at = ?1 WHERE status = 'running'"""

LIST_RUNS = f"""
SELECT {RUN_COLUMNS} FROM sync_runs
WHERE integration_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"""

GET_CHECKPOINT = "SELECT checkpoint FROM sync_status WHERE integration_id = ? AND entity = ?"

PLAN_EVERY_ENTITY = "UPDATE sync_status SET next_sync_at = ?2 WHERE integration_id = ?1"

SET_NEXT_SYNC = """
INSERT INTO sync_status (integration_id, entity, next_sync_at) VALUES (?1, ?2, ?3)
ON CONFLICT (integration_id, entity) DO UPDATE SET next_sync_at = excluded.next_sync_at"""

NEXT_SYNC = "SELECT min(next_sync_at) FROM sync_status WHERE integration_id = ?"

_LIST_RECORDS = f"SELECT {RECORD_COLUMNS} FROM records WHERE integration_id = ?1 AND entity = ?2"

# (after a cursor?, including deleted?) -> statement; parameters ?1..?4 = id, entity, limit, key
LIST_RECORDS = {
    (after, deleted): _LIST_RECORDS
    + (" AND external_id > ?4" if after else "")
    + ("" if deleted else " AND deleted_at IS NULL")
    + " ORDER BY external_id LIMIT ?3"
    for after in (False, True)
    for deleted in (False, True)
}

COUNT_RECORDS = """
SELECT entity, count(*) FROM records
WHERE integration_id = ? AND deleted_at IS NULL GROUP BY entity ORDER BY entity"""

# -- logs, events, webhooks, retention ---------------------------------------------------

INSERT_LOG = """
INSERT INTO integration_logs
    (integration_id, level, event_type, message, details, duration_ms, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)"""

LIST_LOGS = f"""
SELECT {LOG_COLUMNS} FROM integration_logs
WHERE integration_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"""

INSERT_EVENT = """
INSERT INTO events (id, integration_id, type, source, time, data, traceparent)
VALUES (?, ?, ?, ?, ?, ?, ?)"""

PENDING_EVENTS = f"SELECT {EVENT_COLUMNS} FROM events WHERE sent_at IS NULL ORDER BY seq LIMIT ?"

MARK_EVENT_SENT = "UPDATE events SET sent_at = ?2 WHERE id = ?1 AND sent_at IS NULL"

EVENTS_AFTER = f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?"

EVENT_SEQ = "SELECT seq FROM events WHERE id = ?"

RECENT_EVENTS = f"SELECT {EVENT_COLUMNS} FROM events ORDER BY seq DESC LIMIT ?"

RECENT_EVENTS_OF = f"""
SELECT {EVENT_COLUMNS} FROM events WHERE integration_id = ? ORDER BY seq DESC LIMIT ?"""

INSERT_WEBHOOK = """
INSERT INTO webhook_deliveries
    (id, integration_id, delivery_id, received_at, headers, body, next_attempt_at, status)
VALUES (?, ?, ?, ?, ?, ?, ?, 'received')
ON CONFLICT (integration_id, delivery_id) DO NOTHING"""

PENDING_WEBHOOKS = f"""
SELECT {WEBHOOK_COLUMNS} FROM webhook_deliveries
WHERE status IN ('received', 'failed') ORDER BY received_at, id LIMIT ?"""

MARK_WEBHOOK = """
UPDATE webhook_deliveries SET status = ?2, last_error = ?3, attempts = ?4, processed_at = ?5,
    next_attempt_at = ?6
WHERE id = ?1"""

TRIM_LOGS = "DELETE FROM integration_logs WHERE created_at < ?"

TRIM_EVENTS = "DELETE FROM events WHERE sent_at IS NOT NULL AND sent_at < ?"

TRIM_WEBHOOK_PAYLOADS = """
UPDATE webhook_deliveries SET headers = NULL, body = NULL
WHERE status IN ('processed', 'dead') AND processed_at < ? AND body IS NOT NULL"""
