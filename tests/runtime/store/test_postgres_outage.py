"""PostgreSQL going away: the store says StoreUnavailable (never an asyncpg error) and works
again once the server is back, without being reopened. Uses a cluster of the test's own."""

from __future__ import annotations

from pathlib import Path

import asyncpg  # type: ignore[import-untyped, unused-ignore]  # no type information shipped
import pytest

from runtime.store import RunKind, RunStatus, Store, StoreUnavailable, open_store
from runtime.testing import wait_for
from tests.peers.postgres import closed_port_url, own_cluster
from tests.runtime.store.helpers import ManualNow, audit, integration, records


async def test_open_unreachable_postgres_raises_store_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        await open_store(closed_port_url(), tmp_path)

    assert not isinstance(raised.value, asyncpg.PostgresError | OSError)
    assert "postgresql" in str(raised.value)


async def _works(store: Store) -> bool:
    try:
        await store.list_integrations()
    except StoreUnavailable:
        return False
    return True


async def test_server_restart_mid_use_unavailable_then_recovers(tmp_path: Path) -> None:
    async with own_cluster() as cluster:
        store = await open_store(cluster.url, tmp_path, now=ManualNow())
        try:
            await store.create_integration(integration(), {}, audit())
            run = await store.start_run("int-1", "contacts", RunKind.FULL)
            await store.write_batch(run.id, "int-1", "contacts", records(range(5)), None)

            await cluster.stop("fast")
            with pytest.raises(StoreUnavailable):
                await store.list_integrations()
            with pytest.raises(StoreUnavailable):
                await store.write_batch(run.id, "int-1", "contacts", records(range(5, 9)), None)
            await cluster.start()
            await wait_for(lambda: _works(store), timeout=20, what="store usable again")

            await store.write_batch(run.id, "int-1", "contacts", records(range(5, 9)), None)
            done = await store.finish_run(run.id, RunStatus.COMPLETED)
            assert (done.added, done.deleted, done.error) == (9, 0, None)
            assert [i.id for i in await store.list_integrations()] == ["int-1"]
        finally:
            await store.close()


async def test_server_crash_losing_seen_keys_deletes_nothing(tmp_path: Path) -> None:
    """sync_seen is UNLOGGED: a crash empties it. The finish must notice and not delete."""
    async with own_cluster() as cluster:
        store = await open_store(cluster.url, tmp_path, now=ManualNow())
        try:
            await store.create_integration(integration(), {}, audit())
            first = await store.start_run("int-1", "contacts", RunKind.FULL)
            await store.write_batch(first.id, "int-1", "contacts", records(range(6)), None)
            await store.finish_run(first.id, RunStatus.COMPLETED)
            run = await store.start_run("int-1", "contacts", RunKind.FULL)
            await store.write_batch(run.id, "int-1", "contacts", records(range(3)), None)

            await cluster.stop("immediate")
            await cluster.start()
            await wait_for(lambda: _works(store), timeout=20, what="store usable again")
            await store.write_batch(run.id, "int-1", "contacts", records(range(3, 4)), None)
            done = await store.finish_run(run.id, RunStatus.COMPLETED)

            assert (done.status, done.deleted) == (RunStatus.COMPLETED, 0)
            assert done.error is not None
            assert "seen keys were lost" in done.error
            assert await store.count_records("int-1") == {"contacts": 6}
        finally:
            await store.close()
