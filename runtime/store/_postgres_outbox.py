"""Logs, the event outbox, webhook deliveries and retention in PostgreSQL.

Event writers serialise on a transaction-scoped advisory lock (see _postgres_tx), so `seq`
order is commit order and `events_after(seq)` never skips an event that committed late.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from runtime.store import _postgres_sql as sql
from runtime.store import _rows as rows
from runtime.store._errors import NotFound
from runtime.store._model import (
    EventRow,
    LogRow,
    OutboxRow,
    Page,
    TrimResult,
    WebhookDelivery,
)
from runtime.store._params import Params
from runtime.store._postgres_tx import Connection, affected, insert_events
from runtime.store._rows import POSTGRES
from runtime.store._values import encode_cursor

_NO_ID_LIMIT = 2**63 - 1


async def append_logs(connection: Connection, logs: Sequence[Params]) -> None:
    if logs:
        await connection.executemany(sql.INSERT_LOG, logs)


async def list_logs(
    connection: Connection, integration_id: str, limit: int, before: int | None
) -> Page[LogRow]:
    found = await connection.fetch(
        sql.LIST_LOGS, integration_id, _NO_ID_LIMIT if before is None else before, limit + 1
    )
    items = tuple(rows.log(row, POSTGRES) for row in found[:limit])
    more = len(found) > limit
    return Page(items, encode_cursor("logs", items[-1].id) if more else None)


async def append_events(connection: Connection, events: Sequence[Params]) -> None:
    async with connection.transaction():
        await insert_events(connection, events)


async def pending_events(connection: Connection, limit: int) -> list[EventRow]:
    return [rows.event(row, POSTGRES) for row in await connection.fetch(sql.PENDING_EVENTS, limit)]


async def mark_events_sent(connection: Connection, ids: Sequence[str], at: datetime) -> int:
    if not ids:
        return 0
    return affected(await connection.execute(sql.MARK_EVENTS_SENT, list(ids), at))


async def events_after(connection: Connection, seq: int | None, limit: int) -> list[EventRow]:
    found = await connection.fetch(sql.EVENTS_AFTER, 0 if seq is None else seq, limit)
    return [rows.event(row, POSTGRES) for row in found]


async def outbox_rows(connection: Connection, limit: int, after: int | None) -> list[OutboxRow]:
    found = await (
        connection.fetch(sql.PENDING_EVENTS, limit)
        if after is None
        else connection.fetch(sql.EVENTS_AFTER, after, limit)
    )
    return [rows.outbox(row, POSTGRES) for row in found]


async def event_seq(connection: Connection, event_id: str) -> int | None:
    found = await connection.fetchval(sql.EVENT_SEQ, event_id)
    return None if found is None else int(found)


async def recent_events(
    connection: Connection, limit: int, integration_id: str | None
) -> list[EventRow]:
    found = (
        await connection.fetch(sql.RECENT_EVENTS, limit)
        if integration_id is None
        else await connection.fetch(sql.RECENT_EVENTS_OF, integration_id, limit)
    )
    return [rows.event(row, POSTGRES) for row in found]


async def save_webhook_delivery(connection: Connection, delivery: Params) -> bool:
    return affected(await connection.execute(sql.INSERT_WEBHOOK, *delivery)) == 1


async def pending_webhook_deliveries(connection: Connection, limit: int) -> list[WebhookDelivery]:
    found = await connection.fetch(sql.PENDING_WEBHOOKS, limit)
    return [rows.webhook(row, POSTGRES) for row in found]


async def mark_webhook_delivery(
    connection: Connection,
    *,
    delivery_id: str,
    status: str,
    error: str | None,
    attempts: int,
    processed_at: datetime | None,
    next_attempt_at: datetime | None,
) -> None:
    status_tag = await connection.execute(
        sql.MARK_WEBHOOK, delivery_id, status, error, attempts, processed_at, next_attempt_at
    )
    if affected(status_tag) == 0:
        raise NotFound(f"no webhook delivery {delivery_id!r}")


async def trim(
    connection: Connection, logs: datetime, sent_events: datetime, webhook_payloads: datetime
) -> TrimResult:
    async with connection.transaction():
        return TrimResult(
            logs=affected(await connection.execute(sql.TRIM_LOGS, logs)),
            events=affected(await connection.execute(sql.TRIM_EVENTS, sent_events)),
            webhook_payloads=affected(
                await connection.execute(sql.TRIM_WEBHOOK_PAYLOADS, webhook_payloads)
            ),
        )
