"""Webhook deliveries in SQLite: group commit, listing, retry claims, replay and settling.

Runs on the store's worker thread like every SQLite operation (see _sqlite). The listing's
pages are keyed by `rowid`, the table's insertion order. Records a delivery carries are
compared by hash and written as a sync's batch is (`_batch.plan_batch`), with no run: a
written record carries the seq of its entity's latest run, so a full run still going (or
interrupted, to be resumed) counts it as seen and does not delete it at its end.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from runtime.store import _record_events
from runtime.store import _rows as rows
from runtime.store import _sqlite_sql as sql
from runtime.store._batch import plan_batch
from runtime.store._errors import Conflict, NotFound
from runtime.store._model import Page, WebhookDelivery, WebhookOutcome, WebhookSettled
from runtime.store._params import Params
from runtime.store._rows import SQLITE, WEBHOOK_COLUMNS
from runtime.store._sqlite_records import soft_delete_keys
from runtime.store._sqlite_tx import Connection, insert_events, transaction
from runtime.store._values import encode_cursor
from runtime.store._webhooks import EntityWrite, entity_writes

_NO_ROWID_LIMIT = 2**63 - 1

GET = f"""
SELECT {WEBHOOK_COLUMNS} FROM webhook_deliveries WHERE integration_id = ? AND delivery_id = ?"""

LIST = f"""
SELECT {WEBHOOK_COLUMNS}, rowid FROM webhook_deliveries
WHERE integration_id = ?1 AND rowid < ?2 AND (?4 IS NULL OR status = ?4)
ORDER BY rowid DESC LIMIT ?3"""

REQUEUE = f"""
UPDATE webhook_deliveries
SET status = 'received', attempts = 0, last_error = NULL, processed_at = NULL,
    next_attempt_at = ?3
WHERE integration_id = ?1 AND delivery_id = ?2 AND body IS NOT NULL
RETURNING {WEBHOOK_COLUMNS}"""

CLAIM = f"""
UPDATE webhook_deliveries SET next_attempt_at = ?2
WHERE id IN (
    SELECT id FROM webhook_deliveries
    WHERE status IN ('received', 'failed') AND next_attempt_at <= ?1
    ORDER BY next_attempt_at LIMIT ?3
)
RETURNING {WEBHOOK_COLUMNS}"""

SETTLE = """
UPDATE webhook_deliveries
SET status = ?3, attempts = ?4, last_error = ?5, processed_at = ?6, next_attempt_at = ?7
WHERE id = ?1 AND integration_id = ?2 AND status IN ('received', 'failed')"""

LATEST_SEQ = """
SELECT coalesce(max(seq), 0) FROM sync_runs WHERE integration_id = ? AND entity = ?"""


def save_webhook_deliveries(connection: Connection, deliveries: Sequence[Params]) -> list[bool]:
    with transaction(connection):
        return [connection.execute(sql.INSERT_WEBHOOK, d).rowcount == 1 for d in deliveries]


def get_webhook_delivery(
    connection: Connection, integration_id: str, delivery_id: str
) -> WebhookDelivery:
    row = connection.execute(GET, (integration_id, delivery_id)).fetchone()
    if row is None:
        raise NotFound(f"no webhook delivery {delivery_id!r} of {integration_id!r}")
    return rows.webhook(row, SQLITE)


def list_webhook_deliveries(
    connection: Connection, integration_id: str, status: str | None, limit: int, before: int | None
) -> Page[WebhookDelivery]:
    key = _NO_ROWID_LIMIT if before is None else before
    found = connection.execute(LIST, (integration_id, key, limit + 1, status)).fetchall()
    items = tuple(rows.webhook(row, SQLITE) for row in found[:limit])
    more = len(found) > limit
    return Page(items, encode_cursor("webhooks", found[limit - 1][-1]) if more else None)


def requeue_webhook_delivery(
    connection: Connection, integration_id: str, delivery_id: str, due_at: str
) -> WebhookDelivery:
    with transaction(connection):
        row = connection.execute(REQUEUE, (integration_id, delivery_id, due_at)).fetchone()
        if row is None:
            get_webhook_delivery(connection, integration_id, delivery_id)  # NotFound if none
            raise Conflict(f"webhook delivery {delivery_id!r}: its payload is no longer kept")
    return rows.webhook(row, SQLITE)


def claim_webhook_deliveries(
    connection: Connection, now: str, lease_until: str, limit: int
) -> list[WebhookDelivery]:
    with transaction(connection):
        found = connection.execute(CLAIM, (now, lease_until, limit)).fetchall()
    claimed = [rows.webhook(row, SQLITE) for row in found]
    return sorted(claimed, key=lambda d: (d.received_at, d.id))


def settle_webhook_deliveries(
    connection: Connection,
    *,
    outcomes: Sequence[WebhookOutcome],
    params: Sequence[Params],
    events: Sequence[tuple[str, Params]],
    record_events: _record_events.Stamp | None,
    now: str,
) -> WebhookSettled:
    """Only the outcomes whose rows are still received or failed settle; only theirs write
    records and events (`events`: each with the id of the outcome it belongs to)."""
    with transaction(connection):
        settled = [str(p[0]) for p in params if connection.execute(SETTLE, p).rowcount == 1]
        done = set(settled)
        counts, changes = _write(connection, entity_writes(outcomes, done), record_events, now)
        insert_events(connection, [*changes, *(e for owner, e in events if owner in done)])
    return WebhookSettled(tuple(settled), *counts)


def _write(
    connection: Connection,
    writes: Sequence[EntityWrite],
    stamp: _record_events.Stamp | None,
    now: str,
) -> tuple[tuple[int, int, int, int], list[Params]]:
    added = updated = unchanged = deleted = 0
    changes: list[Params] = []
    for write in writes:
        key = (write.integration_id, write.entity)
        seq = connection.execute(LATEST_SEQ, key).fetchone()[0]
        plan = plan_batch(write.upserts, _stored(connection, write))
        connection.executemany(sql.INSERT_RECORD, [(*key, *r, now, seq) for r in plan.new])
        connection.executemany(sql.UPDATE_RECORD, [(*key, *r, now, seq) for r in plan.changed])
        gone, deletions = soft_delete_keys(
            connection, *key, write.deletes, record_events=stamp, now=now
        )
        changes += _record_events.written(stamp, *key, plan.new, plan.changed)
        changes += deletions
        added, updated = added + len(plan.new), updated + len(plan.changed)
        unchanged, deleted = unchanged + len(plan.unchanged), deleted + gone
    return (added, updated, unchanged, deleted), changes


def _stored(connection: Connection, write: EntityWrite) -> dict[str, bool]:
    if not write.upserts:
        return {}
    batch = orjson.dumps({r[0]: r[2] for r in write.upserts}).decode()
    found = connection.execute(sql.STORED_KEYS, (write.integration_id, write.entity, batch))
    return {key: bool(same) for key, same in found}
