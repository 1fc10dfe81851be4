"""Shared pieces of the PostgreSQL operations: events (in commit order), audit, row counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from runtime.store import _postgres_sql as sql
from runtime.store._params import Params

# asyncpg ships no type information; this names its `Connection`.
Connection = Any


async def insert_events(connection: Connection, events: Sequence[Params]) -> None:
    """Insert under the events lock, held to commit: so seq order is commit order. One round
    trip and one text parameter, whatever the number of events."""
    if events:
        rows = b",".join(_event_row(event) for event in events)
        await connection.execute(sql.INSERT_EVENTS, sql.EVENTS_LOCK_KEY, f"[{rows.decode()}]")


def _event_row(event: Params) -> bytes:
    """An event's parameters (see `_params.event`) as one JSON object; its data is canonical
    JSON text already and goes in as it is."""
    event_id, integration_id, kind, source, time, data, traceparent = event
    assert isinstance(data, str)
    row = {
        "id": event_id,
        "integration_id": integration_id,
        "type": kind,
        "source": source,
        "time": time,
        "data": orjson.Fragment(data),
        "traceparent": traceparent,
    }
    return orjson.dumps(row)


async def insert_audit(connection: Connection, audit: Params) -> None:
    await connection.execute(sql.INSERT_AUDIT, *audit)


def affected(status: str) -> int:
    """The row count in a command tag such as `UPDATE 3` or `INSERT 0 1`."""
    return int(status.rsplit(" ", 1)[-1])
