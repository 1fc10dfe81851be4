"""Choosing the backend from the one setting that names it (`HUB_DATABASE_URL`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import anyio

from runtime.store._errors import InvalidValue
from runtime.store._interface import Store
from runtime.store._postgres import PostgresStore
from runtime.store._sqlite import SqliteStore, utc_now

SQLITE_FILE_NAME = "hub.sqlite3"

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


async def open_store(
    url: str | None,
    data_dir: Path,
    *,
    now: Callable[[], datetime] = utc_now,
    migrate: bool = True,
) -> Store:
    """Open (and migrate) the store.

    `url` None: SQLite in `data_dir/hub.sqlite3`; `postgresql://…`: PostgreSQL."""
    if url is None:
        await anyio.Path(data_dir).mkdir(parents=True, exist_ok=True)
        return await SqliteStore.open(data_dir / SQLITE_FILE_NAME, now=now, migrate=migrate)
    if url.startswith(_POSTGRES_SCHEMES):
        return await PostgresStore.open(url, now=now, migrate=migrate)
    scheme = url.split(":", 1)[0]
    raise InvalidValue(f"database URL: unsupported scheme {scheme!r} (expected postgresql://)")
