"""Webhook deliveries in PostgreSQL: group commit, listing, retry claims, replay and settling.

A group commit is one statement: the batch travels as arrays (`unnest`), `ON CONFLICT DO
NOTHING` skips the delivery ids seen before, and `RETURNING id` tells which rows went in. A
batch that names one delivery id twice sends it once (the first wins; the others report a
duplicate). Records a delivery carries are compared by hash and written in one statement per
entity, as a sync's batch is (see _postgres_records), with no run: a written record carries
the seq of its entity's latest run, so a full run still going (or interrupted, to be resumed)
counts it as seen and does not delete it at its end.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime

import orjson

from runtime.store import _record_events
from runtime.store import _rows as rows
from runtime.store._errors import Conflict, NotFound
from runtime.store._model import Page, WebhookDelivery, WebhookOutcome, WebhookSettled
from runtime.store._params import Params
from runtime.store._postgres_records import soft_delete_keys
from runtime.store._postgres_tx import Connection, insert_events
from runtime.store._rows import POSTGRES, WEBHOOK_COLUMNS
from runtime.store._values import encode_cursor
from runtime.store._webhooks import EntityWrite, entity_writes

_NO_SEQ_LIMIT = 2**63 - 1

# The batch as one JSON array of rows (bodies in base64): one text parameter costs the client
# a third of what seven typed arrays do (asyncpg checks every array element's type).
SAVE_MANY = """
INSERT INTO webhook_deliveries
    (id, integration_id, delivery_id, received_at, headers, body, next_attempt_at, status)
SELECT d.id, d.integration_id, d.delivery_id, d.received_at, d.headers,
       decode(d.body, 'base64'), d.next_attempt_at, 'received'
FROM json_to_recordset($1::json) AS d(
    id text, integration_id text, delivery_id text, received_at timestamptz, headers jsonb,
    body text, next_attempt_at timestamptz)
ON CONFLICT (integration_id, delivery_id) DO NOTHING
RETURNING id"""

GET = f"""
SELECT {WEBHOOK_COLUMNS} FROM webhook_deliveries WHERE integration_id = $1 AND delivery_id = $2"""

LIST = f"""
SELECT {WEBHOOK_COLUMNS}, seq FROM webhook_deliveries
WHERE integration_id = $1 AND seq < $2 AND ($4::text IS NULL OR status = $4)
ORDER BY seq DESC LIMIT $3"""

REQUEUE = f"""
UPDATE webhook_deliveries
SET status = 'received', attempts = 0, last_error = NULL, processed_at = NULL,
    next_attempt_at = $3
WHERE integration_id = $1 AND delivery_id = $2 AND body IS NOT NULL
RETURNING {WEBHOOK_COLUMNS}"""

CLAIM = f"""
UPDATE webhook_deliveries SET next_attempt_at = $2
WHERE id IN (
    SELECT id FROM webhook_deliveries
    WHERE status IN ('received', 'failed') AND next_attempt_at <= $1
    ORDER BY next_attempt_at LIMIT $3
    FOR UPDATE SKIP LOCKED
)
RETURNING {WEBHOOK_COLUMNS}"""

SETTLE = """
UPDATE webhook_deliveries AS w
SET status = o.status, attempts = o.attempts, last_error = o.error,
    processed_at = o.processed_at, next_attempt_at = o.next_attempt_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::timestamptz[],
            $7::timestamptz[])
     AS o(id, integration_id, status, attempts, error, processed_at, next_attempt_at)
WHERE w.id = o.id AND w.integration_id = o.integration_id
  AND w.status IN ('received', 'failed')
RETURNING w.id"""

# The records of one entity: compared with the stored hashes, the new and changed written
# (see _postgres_sql.WRITE_STAGED), the added and updated keys returned for their events.
WRITE = """
WITH batch AS (
    SELECT b.external_id, b.data, b.content_hash,
           b.content_hash IS NOT DISTINCT FROM (
               SELECT r.content_hash FROM records AS r
               WHERE r.integration_id = $1 AND r.entity = $2 AND r.external_id = b.external_id
                 AND r.deleted_at IS NULL
           ) AS unchanged
    FROM unnest($4::text[], $5::text[], $6::text[]) AS b(external_id, data, content_hash)
), written AS (
    INSERT INTO records (integration_id, entity, external_id, data, content_hash, created_at,
                         updated_at, written_by_run)
    SELECT $1, $2, external_id, data::jsonb, content_hash, $3, $3, coalesce(
        (SELECT max(seq) FROM sync_runs WHERE integration_id = $1 AND entity = $2), 0)
    FROM batch WHERE NOT unchanged
    ON CONFLICT (integration_id, entity, external_id) DO UPDATE
    SET data = EXCLUDED.data, content_hash = EXCLUDED.content_hash,
        updated_at = EXCLUDED.updated_at, deleted_at = NULL,
        written_by_run = EXCLUDED.written_by_run
    WHERE records.content_hash IS DISTINCT FROM EXCLUDED.content_hash
       OR records.deleted_at IS NOT NULL
    RETURNING external_id, (xmax = 0) AS inserted
)
SELECT coalesce((SELECT array_agg(external_id) FROM written WHERE inserted), '{}'::text[]),
       coalesce((SELECT array_agg(external_id) FROM written WHERE NOT inserted), '{}'::text[])"""


async def save_webhook_deliveries(
    connection: Connection, deliveries: Sequence[Params]
) -> list[bool]:
    if not deliveries:
        return []
    first: dict[tuple[object, object], Params] = {}
    for delivery in deliveries:
        first.setdefault((delivery[1], delivery[2]), delivery)
    rows = b",".join(_json_row(delivery) for delivery in first.values())
    found = await connection.fetch(SAVE_MANY, f"[{rows.decode()}]")
    inserted = {row[0] for row in found}
    return [d[0] in inserted and first[(d[1], d[2])] is d for d in deliveries]


def _json_row(delivery: Params) -> bytes:
    """A delivery's parameters (see _params.webhook) as one JSON object; its headers are
    canonical JSON already and go in as they are."""
    own_id, integration_id, delivery_id, received, headers, body, due = delivery
    assert isinstance(headers, str)
    assert isinstance(body, bytes)
    row = {
        "id": own_id,
        "integration_id": integration_id,
        "delivery_id": delivery_id,
        "received_at": received,
        "headers": orjson.Fragment(headers),
        "body": base64.b64encode(body).decode(),
        "next_attempt_at": due,
    }
    return orjson.dumps(row)


async def get_webhook_delivery(
    connection: Connection, integration_id: str, delivery_id: str
) -> WebhookDelivery:
    row = await connection.fetchrow(GET, integration_id, delivery_id)
    if row is None:
        raise NotFound(f"no webhook delivery {delivery_id!r} of {integration_id!r}")
    return rows.webhook(row, POSTGRES)


async def list_webhook_deliveries(
    connection: Connection, integration_id: str, status: str | None, limit: int, before: int | None
) -> Page[WebhookDelivery]:
    key = _NO_SEQ_LIMIT if before is None else before
    found = await connection.fetch(LIST, integration_id, key, limit + 1, status)
    items = tuple(rows.webhook(row, POSTGRES) for row in found[:limit])
    more = len(found) > limit
    return Page(items, encode_cursor("webhooks", found[limit - 1][-1]) if more else None)


async def requeue_webhook_delivery(
    connection: Connection, integration_id: str, delivery_id: str, due_at: datetime
) -> WebhookDelivery:
    row = await connection.fetchrow(REQUEUE, integration_id, delivery_id, due_at)
    if row is None:
        await get_webhook_delivery(connection, integration_id, delivery_id)  # NotFound if none
        raise Conflict(f"webhook delivery {delivery_id!r}: its payload is no longer kept")
    return rows.webhook(row, POSTGRES)


async def claim_webhook_deliveries(
    connection: Connection, now: datetime, lease_until: datetime, limit: int
) -> list[WebhookDelivery]:
    found = await connection.fetch(CLAIM, now, lease_until, limit)
    claimed = [rows.webhook(row, POSTGRES) for row in found]
    return sorted(claimed, key=lambda d: (d.received_at, d.id))


async def settle_webhook_deliveries(
    connection: Connection,
    *,
    outcomes: Sequence[WebhookOutcome],
    params: Sequence[Params],
    events: Sequence[tuple[str, Params]],
    record_events: _record_events.Stamp | None,
    now: datetime,
) -> WebhookSettled:
    """Only the outcomes whose rows are still received or failed settle; only theirs write
    records and events (`events`: each with the id of the outcome it belongs to)."""
    if not params:
        return WebhookSettled(())
    async with connection.transaction():
        columns = [list(column) for column in zip(*params, strict=True)]
        done = {row[0] for row in await connection.fetch(SETTLE, *columns)}
        writes = entity_writes(outcomes, done)
        counts, changes = await _write(connection, writes, record_events, now)
        await insert_events(connection, [*changes, *(e for owner, e in events if owner in done)])
    return WebhookSettled(tuple(str(p[0]) for p in params if p[0] in done), *counts)


async def _write(
    connection: Connection,
    writes: Sequence[EntityWrite],
    stamp: _record_events.Stamp | None,
    now: datetime,
) -> tuple[tuple[int, int, int, int], list[Params]]:
    added = updated = unchanged = deleted = 0
    changes: list[Params] = []
    for write in writes:
        key = (write.integration_id, write.entity)
        new, changed = await _upsert(connection, write, now)
        gone, deletions = await soft_delete_keys(
            connection, *key, write.deletes, record_events=stamp, now=now
        )
        changes += _record_events.written(stamp, *key, new, changed)
        changes += deletions
        added, updated = added + len(new), updated + len(changed)
        unchanged += len(write.upserts) - len(new) - len(changed)
        deleted += gone
    return (added, updated, unchanged, deleted), changes


async def _upsert(
    connection: Connection, write: EntityWrite, now: datetime
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(the added, the updated records), each as prepared."""
    if not write.upserts:
        return [], []
    keys, texts, hashes = (list(column) for column in zip(*write.upserts, strict=True))
    added, updated = await connection.fetchrow(
        WRITE, write.integration_id, write.entity, now, keys, texts, hashes
    )
    by_key = {r[0]: r for r in write.upserts}
    return [by_key[k] for k in added], [by_key[k] for k in updated]
