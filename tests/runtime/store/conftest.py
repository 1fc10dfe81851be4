"""The store fixtures: every contract test runs once on SQLite and once on PostgreSQL.

SQLite lives in the test's `tmp_path`; PostgreSQL gets a fresh schema per test in a database
made for the session on the machine's server (see tests/peers/postgres.py), both dropped
afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from runtime.store import Store
from tests.peers.postgres import SharedDatabase, fresh_schema, shared_database
from tests.runtime.store.helpers import Backend, ManualNow


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[SharedDatabase]:
    with shared_database("hub_store_test") as database:
        yield database


@pytest.fixture
def now() -> ManualNow:
    return ManualNow()


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    now: ManualNow,
    postgres_database: SharedDatabase,
) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        yield Backend(None, tmp_path, now)
        return
    async with fresh_schema(postgres_database) as url:
        yield Backend(url, tmp_path, now)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    async with backend.open() as opened:
        yield opened
