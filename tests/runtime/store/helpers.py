"""Test helpers of the store suite: a settable clock, value builders, raw looks at the tables.

The raw readers go around the store on purpose: what the store wrote (or did not write) is
checked in the database itself, not through the code under test.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import asyncpg  # type: ignore[import-untyped, unused-ignore]  # no type information shipped

from runtime.store import (
    SQLITE_FILE_NAME,
    AuditIn,
    EventIn,
    IntegrationIn,
    JsonObject,
    RecordIn,
    Store,
    open_store,
)
from runtime.vault import SealedValue

START = datetime(2030, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


class ManualNow:
    """The store's `now`, moved only by the test."""

    def __init__(self, start: datetime = START) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, seconds: float) -> datetime:
        self.value += timedelta(seconds=seconds)
        return self.value


@dataclass(frozen=True)
class Backend:
    """Where a test's store lives: SQLite in `data_dir` (url None) or a PostgreSQL URL."""

    url: str | None
    data_dir: Path
    now: ManualNow

    @property
    def name(self) -> str:
        return "sqlite" if self.url is None else "postgres"

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Store]:
        """Another store instance on the same database (as another process would have)."""
        store = await open_store(self.url, self.data_dir, now=self.now)
        try:
            yield store
        finally:
            await store.close()

    async def rows(self, query: str) -> list[tuple[Any, ...]]:
        """Run `query` on the database directly, around the store."""
        if self.url is None:
            return await anyio.to_thread.run_sync(self._sqlite_rows, query)
        connection = await asyncpg.connect(self.url)
        try:
            return [tuple(row) for row in await connection.fetch(query)]
        finally:
            await connection.close()

    async def script(self, sql: str) -> None:
        """Run statements on the SQLite file directly (test-only schema additions)."""
        await anyio.to_thread.run_sync(self._sqlite_script, sql)

    def _sqlite_script(self, sql: str) -> None:
        connection = sqlite3.connect(self.data_dir / SQLITE_FILE_NAME)
        try:
            connection.executescript(sql)
        finally:
            connection.close()

    def _sqlite_rows(self, query: str) -> list[tuple[Any, ...]]:
        connection = sqlite3.connect(self.data_dir / SQLITE_FILE_NAME)
        try:
            return connection.execute(query).fetchall()
        finally:
            connection.close()

    async def raw_bytes(self, table: str) -> bytes:
        """Every value of every row of `table`, as bytes, to search for what must not be there."""
        found = await self.rows(f"SELECT * FROM {table}")
        parts: list[bytes] = []
        for row in found:
            for value in row:
                parts.append(
                    bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
                )
        return b"\x1f".join(parts)


def integration(integration_id: str = "int-1", **changes: Any) -> IntegrationIn:
    values: dict[str, Any] = {
        "id": integration_id,
        "name": "Xentral",
        "type": "REST",
        "adapter": "xentral",
        "status": "new",
        "config": {"base_url": "https://erp.example", "entities": ["contacts"]},
    }
    values.update(changes)
    return IntegrationIn(**values)


def audit(action: str = "create", target: str = "int-1") -> AuditIn:
    return AuditIn(actor="admin", action=action, target=target, details={"via": "api"})


def sealed(ciphertext: bytes = b"\x01\x02cipher", key_id: str = "k1") -> SealedValue:
    return SealedValue(key_id=key_id, nonce=b"\x00" * 12, ciphertext=ciphertext)


def event(event_id: str, integration_id: str = "int-1", name: str = "sync_started") -> EventIn:
    return EventIn(
        id=event_id,
        integration_id=integration_id,
        type=f"hub.integration.{name}",
        source=f"/integrations/{integration_id}",
        time=START,
        data={"event": event_id},
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    )


def records(ids: Sequence[int], version: int = 1) -> list[RecordIn]:
    return [record(i, version) for i in ids]


def record(i: int, version: int = 1) -> RecordIn:
    data: JsonObject = {"id": i, "name": f"Contact {i}", "version": version}
    return RecordIn(external_id=f"c{i:05d}", data=data)


def ids(found: Sequence[Any]) -> list[str]:
    return [row.external_id for row in found]
