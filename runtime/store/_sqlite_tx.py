"""Transactions and the shared writes (events, audit) of the SQLite backend.

All of this runs on the store's one worker thread (see _sqlite), never on the event loop.
`BEGIN IMMEDIATE` takes the write lock up front, so a transaction never fails half-way with
"database is locked" when it first writes; another process waits `busy_timeout` for it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from runtime.store import _sqlite_sql as sql
from runtime.store._params import Params

Connection = sqlite3.Connection


@contextmanager
def transaction(connection: Connection) -> Iterator[None]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def insert_events(connection: Connection, events: Sequence[Params]) -> None:
    if events:
        connection.executemany(sql.INSERT_EVENT, events)


def insert_audit(connection: Connection, audit: Params) -> None:
    connection.execute(sql.INSERT_AUDIT, audit)
