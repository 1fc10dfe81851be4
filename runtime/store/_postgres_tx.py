"""Shared pieces of the PostgreSQL operations: events (in commit order), audit, row counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from runtime.store import _postgres_sql as sql
from runtime.store._params import Params

# asyncpg ships no type information; this names its `Connection`.
Connection = Any


async def insert_events(connection: Connection, events: Sequence[Params]) -> None:
    """Insert under the events lock, held to commit: so seq order is commit order."""
    if events:
        await connection.execute(sql.LOCK_EVENTS, sql.EVENTS_LOCK_KEY)
        await connection.executemany(sql.INSERT_EVENT, events)


async def insert_audit(connection: Connection, audit: Params) -> None:
    await connection.execute(sql.INSERT_AUDIT, *audit)


def affected(status: str) -> int:
    """The row count in a command tag such as `UPDATE 3` or `INSERT 0 1`."""
    return int(status.rsplit(" ", 1)[-1])
