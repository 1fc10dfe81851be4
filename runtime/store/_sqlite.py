"""The embedded backend: one SQLite file (WAL) worked by one thread, off the event loop.

`sqlite3` blocks, so every call runs in a worker thread through `anyio.to_thread.run_sync`
with a `CapacityLimiter(1)`: one connection, one statement at a time, in the order asked,
reads sharing it with writes (WAL lets other processes read meanwhile). A call once started
in the thread runs to its commit or rollback even if the caller is cancelled, so a
transaction is never left half-done. Inputs are checked and turned into parameters on the
loop (`_params`); the operations themselves are the plain functions of `_sqlite_records`,
`_sqlite_admin` and `_sqlite_outbox`. WAL checkpoints run on a thread of their own after
writes (`_sqlite_checkpoint`), not inside the commits of the write path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import anyio
import anyio.to_thread

from runtime.store import _migrations, _params, _record_events
from runtime.store import _sqlite_admin as admin
from runtime.store import _sqlite_outbox as outbox
from runtime.store import _sqlite_records as records_ops
from runtime.store import _sqlite_sql as sql
from runtime.store import _sqlite_webhooks as webhooks
from runtime.store._errors import StoreError, sqlite_errors
from runtime.store._facade import StoreFacade
from runtime.store._model import (
    BatchResult,
    JsonObject,
    RecordIn,
)
from runtime.store._sqlite_checkpoint import SAFETY_NET_PRAGMA, Checkpointer
from runtime.store._values import (
    iso,
    json_text,
    optional_from_iso,
)

T = TypeVar("T")
P = ParamSpec("P")

Now = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _connect(path: Path, busy_timeout: float) -> sqlite3.Connection:
    with sqlite_errors():
        connection = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
        )
        try:
            connection.execute(sql.BUSY_TIMEOUT_PRAGMA.format(ms=int(busy_timeout * 1000)))
            for pragma in (*sql.PRAGMAS, SAFETY_NET_PRAGMA):
                connection.execute(pragma)
        except BaseException:
            connection.close()
            raise
    return connection


class SqliteStore(StoreFacade):
    """`Store` on a SQLite file; open it with `SqliteStore.open` (or `open_store`)."""

    _admin = admin
    _records = records_ops
    _outbox = outbox
    _webhooks = webhooks

    def __init__(
        self,
        connection: sqlite3.Connection,
        limiter: anyio.CapacityLimiter,
        now: Now,
        checkpointer: Checkpointer,
    ):
        self._connection: sqlite3.Connection | None = connection
        self._limiter = limiter
        self._now = now
        self._checkpointer = checkpointer

    @classmethod
    async def open(
        cls, path: Path, *, now: Now = utc_now, busy_timeout: float = 5.0, migrate: bool = True
    ) -> SqliteStore:
        limiter = anyio.CapacityLimiter(1)
        connection = await anyio.to_thread.run_sync(_connect, path, busy_timeout, limiter=limiter)
        checkpointer = Checkpointer(path)
        checkpointer.start()
        store = cls(connection, limiter, now, checkpointer)
        if migrate:
            try:
                await store.migrate()
            except BaseException:
                await store.close()
                raise
        return store

    async def _call(
        self,
        operation: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        return await anyio.to_thread.run_sync(
            partial(self._run, operation, *args, **kwargs), limiter=self._limiter
        )

    def _run(
        self,
        operation: Callable[Concatenate[sqlite3.Connection, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        connection = self._connection
        if connection is None:
            raise StoreError("the store is closed")
        changes = connection.total_changes
        try:
            with sqlite_errors():
                return operation(connection, *args, **kwargs)
        finally:
            if connection.total_changes != changes:
                self._checkpointer.nudge()

    async def migrate(self) -> int:
        migrations = _migrations.load_migrations("sqlite")
        return await self._call(_migrations.migrate_sqlite, migrations, self._now())

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self._close, limiter=self._limiter)

    def _close(self) -> None:
        self._checkpointer.stop()
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    def _time(self, value: datetime, what: str) -> str:
        return iso(value, what)

    def _moment(self, now: datetime) -> str:
        return iso(now)

    def _read_time(self, value: str | None) -> datetime | None:
        return optional_from_iso(value)

    def _batch(
        self, records: Sequence[RecordIn], checkpoint: JsonObject | None
    ) -> tuple[Callable[..., BatchResult], Sequence[RecordIn], JsonObject | None]:
        return _write_batch, records, checkpoint


def _write_batch(
    connection: sqlite3.Connection,
    *,
    run_id: str,
    integration_id: str,
    entity: str,
    records: Sequence[RecordIn],
    checkpoint: JsonObject | None,
    deleted: Sequence[str],
    events: Sequence[_params.Params],
    record_events: _record_events.Stamp | None,
    now: str,
) -> BatchResult:
    """Hashing runs here, on the worker thread: 1,000 records take milliseconds of CPU."""
    return records_ops.write_batch(
        connection,
        run_id=run_id,
        integration_id=integration_id,
        entity=entity,
        records=_params.records(records),
        checkpoint=None if checkpoint is None else json_text(checkpoint, "checkpoint"),
        deleted=deleted,
        events=events,
        record_events=record_events,
        now=now,
    )
