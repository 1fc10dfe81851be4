"""PostgreSQL through an asyncpg pool: the backend the hub grows onto.

Each operation borrows a pooled connection for one transaction (see `_postgres_records`,
`_postgres_admin`, `_postgres_outbox`); every asyncpg and socket error is translated on the way
out (`postgres_errors`). When the server goes away, the calls fail with `StoreUnavailable`;
the pool replaces broken connections on later calls, so the store works again once the
server is back, without being reopened. Each new connection gets the temporary table that
record batches are copied into.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import asyncpg  # type: ignore[import-untyped, unused-ignore]  # no type information shipped

from runtime.store import _migrations, _params
from runtime.store import _postgres_admin as admin
from runtime.store import _postgres_outbox as outbox
from runtime.store import _postgres_records as records_ops
from runtime.store import _postgres_sql as sql
from runtime.store import _postgres_webhooks as webhooks
from runtime.store._batch import Prepared
from runtime.store._errors import StoreError, postgres_errors
from runtime.store._facade import StoreFacade
from runtime.store._model import (
    BatchResult,
    JsonObject,
    RecordIn,
)
from runtime.store._postgres_tx import Connection
from runtime.store._values import json_text, utc

T = TypeVar("T")
P = ParamSpec("P")

Now = Callable[[], datetime]

# asyncpg ships no type information; this names its `Pool`.
Pool = Any


async def _prepare_connection(connection: Connection) -> None:
    await connection.execute(sql.STAGE_TABLE)


async def _reset_connection(connection: Connection) -> None:
    """Between borrowers: end a transaction left open, keep the session (and its temporary
    table). asyncpg's default reset (RESET ALL, CLOSE ALL, UNLISTEN *, unlock all) costs a
    round trip per call, for session state this store never sets."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


class PostgresStore(StoreFacade):
    """`Store` on PostgreSQL; open it with `PostgresStore.open` (or `open_store`)."""

    _admin = admin
    _records = records_ops
    _outbox = outbox
    _webhooks = webhooks

    def __init__(self, pool: Pool, now: Now) -> None:
        self._pool: Pool | None = pool
        self._now = now

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        now: Now,
        migrate: bool = True,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 10.0,
    ) -> PostgresStore:
        with postgres_errors():
            pool = await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                timeout=connect_timeout,
                init=_prepare_connection,
                reset=_reset_connection,
            )
        store = cls(pool, now)
        if migrate:
            try:
                await store.migrate()
            except BaseException:
                await store.close()
                raise
        return store

    async def _call(  # type: ignore[override]  # its operations are coroutine functions
        self,
        operation: Callable[Concatenate[Connection, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        with postgres_errors():
            pool = self._pool
            if pool is None:
                raise StoreError("the store is closed")
            async with pool.acquire() as connection:
                return await operation(connection, *args, **kwargs)

    def _stamp(self) -> datetime:
        return utc(self._now(), "now()")

    async def migrate(self) -> int:
        migrations = _migrations.load_migrations("postgres")
        return await self._call(_migrations.migrate_postgres, migrations, self._now())

    async def close(self) -> None:
        with postgres_errors():
            pool, self._pool = self._pool, None
            if pool is not None:
                await pool.close()

    def _time(self, value: datetime, what: str) -> datetime:
        return utc(value, what)

    def _moment(self, now: datetime) -> datetime:
        return now

    def _read_time(self, value: datetime | None) -> datetime | None:
        return value

    def _batch(
        self, records: Sequence[RecordIn], checkpoint: JsonObject | None
    ) -> tuple[Callable[..., Awaitable[BatchResult]], list[Prepared], str | None]:
        return (
            records_ops.write_batch,
            _params.records(records),
            None if checkpoint is None else json_text(checkpoint, "checkpoint"),
        )
