"""Logs, the event outbox, webhook deliveries and retention in SQLite, on the worker thread.

SQLite has one writer at a time, so an event's `seq` order is also its commit order: a reader
resuming after a `seq` cannot miss an event committed later with a smaller one.
"""

from __future__ import annotations

from collections.abc import Sequence

from runtime.store import _rows as rows
from runtime.store import _sqlite_sql as sql
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
from runtime.store._rows import SQLITE
from runtime.store._sqlite_tx import Connection, insert_events, transaction
from runtime.store._values import encode_cursor

_NO_ID_LIMIT = 2**63 - 1


def append_logs(connection: Connection, logs: Sequence[Params]) -> None:
    with transaction(connection):
        connection.executemany(sql.INSERT_LOG, logs)


def list_logs(
    connection: Connection, integration_id: str, limit: int, before: int | None
) -> Page[LogRow]:
    found = connection.execute(
        sql.LIST_LOGS, (integration_id, _NO_ID_LIMIT if before is None else before, limit + 1)
    ).fetchall()
    items = tuple(rows.log(row, SQLITE) for row in found[:limit])
    more = len(found) > limit
    return Page(items, encode_cursor("logs", items[-1].id) if more else None)


def append_events(connection: Connection, events: Sequence[Params]) -> None:
    with transaction(connection):
        insert_events(connection, events)


def pending_events(connection: Connection, limit: int) -> list[EventRow]:
    return [rows.event(row, SQLITE) for row in connection.execute(sql.PENDING_EVENTS, (limit,))]


def mark_events_sent(connection: Connection, ids: Sequence[str], at: str) -> int:
    if not ids:
        return 0
    with transaction(connection):
        return connection.executemany(sql.MARK_EVENT_SENT, [(i, at) for i in ids]).rowcount


def events_after(connection: Connection, seq: int | None, limit: int) -> list[EventRow]:
    found = connection.execute(sql.EVENTS_AFTER, (0 if seq is None else seq, limit))
    return [rows.event(row, SQLITE) for row in found]


def outbox_rows(connection: Connection, limit: int, after: int | None) -> list[OutboxRow]:
    found = (
        connection.execute(sql.PENDING_EVENTS, (limit,))
        if after is None
        else connection.execute(sql.EVENTS_AFTER, (after, limit))
    )
    return [rows.outbox(row, SQLITE) for row in found]


def event_seq(connection: Connection, event_id: str) -> int | None:
    row = connection.execute(sql.EVENT_SEQ, (event_id,)).fetchone()
    return None if row is None else int(row[0])


def recent_events(connection: Connection, limit: int, integration_id: str | None) -> list[EventRow]:
    found = (
        connection.execute(sql.RECENT_EVENTS, (limit,))
        if integration_id is None
        else connection.execute(sql.RECENT_EVENTS_OF, (integration_id, limit))
    )
    return [rows.event(row, SQLITE) for row in found]


def save_webhook_delivery(connection: Connection, delivery: Params) -> bool:
    with transaction(connection):
        return connection.execute(sql.INSERT_WEBHOOK, delivery).rowcount == 1


def pending_webhook_deliveries(connection: Connection, limit: int) -> list[WebhookDelivery]:
    found = connection.execute(sql.PENDING_WEBHOOKS, (limit,))
    return [rows.webhook(row, SQLITE) for row in found]


def mark_webhook_delivery(
    connection: Connection,
    *,
    delivery_id: str,
    status: str,
    error: str | None,
    attempts: int,
    processed_at: str | None,
    next_attempt_at: str | None,
) -> None:
    with transaction(connection):
        changed = connection.execute(
            sql.MARK_WEBHOOK, (delivery_id, status, error, attempts, processed_at, next_attempt_at)
        ).rowcount
        if changed == 0:
            raise NotFound(f"no webhook delivery {delivery_id!r}")


def trim(connection: Connection, logs: str, sent_events: str, webhook_payloads: str) -> TrimResult:
    with transaction(connection):
        return TrimResult(
            logs=connection.execute(sql.TRIM_LOGS, (logs,)).rowcount,
            events=connection.execute(sql.TRIM_EVENTS, (sent_events,)).rowcount,
            webhook_payloads=connection.execute(
                sql.TRIM_WEBHOOK_PAYLOADS, (webhook_payloads,)
            ).rowcount,
        )
