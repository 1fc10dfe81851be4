"""Migrations on both backends: applied once, recorded, safe when two processes start at once."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from runtime.store import InvalidValue, Store, StoreError, open_store
from tests.runtime.store.helpers import Backend


async def test_migrate_again_applies_nothing(store: Store, backend: Backend) -> None:
    assert await store.migrate() == 0

    rows = await backend.rows("SELECT version, name FROM schema_migrations ORDER BY version")
    assert rows == [
        (1, "initial"),
        (2, "seen_keys_per_batch"),
        (3, "webhook_retries"),
        (4, "seen_ranges"),
    ]


async def test_migrate_concurrently_on_a_fresh_database_applies_once(backend: Backend) -> None:
    first = await open_store(backend.url, backend.data_dir, now=backend.now, migrate=False)
    second = await open_store(backend.url, backend.data_dir, now=backend.now, migrate=False)
    applied: list[int] = []

    async def migrate(store: Store) -> None:
        applied.append(await store.migrate())

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(migrate, first)
            group.start_soon(migrate, second)
        assert await first.list_integrations() == []
        assert await second.list_integrations() == []
    finally:
        await first.close()
        await second.close()

    assert sorted(applied) == [0, 4]
    assert await backend.rows("SELECT version FROM schema_migrations ORDER BY version") == [
        (1,),
        (2,),
        (3,),
        (4,),
    ]


async def test_open_refuses_a_schema_from_newer_code(store: Store, backend: Backend) -> None:
    await store.close()
    await _record_version(backend, 99)

    with pytest.raises(StoreError, match="newer"):
        await open_store(backend.url, backend.data_dir, now=backend.now)


async def _record_version(backend: Backend, version: int) -> None:
    if backend.url is None:
        at = "2030-01-01T00:00:00.000000Z"
        await backend.script(f"INSERT INTO schema_migrations VALUES ({version}, 'future', '{at}')")
    else:
        await backend.rows(
            f"INSERT INTO schema_migrations VALUES ({version}, 'future', now()) RETURNING version"
        )


async def test_open_unknown_url_scheme_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidValue, match="mysql") as raised:
        await open_store("mysql://user:secret@db/hub", tmp_path)

    assert "secret" not in str(raised.value)
