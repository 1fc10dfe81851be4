"""The hub end to end, in process: SQLite, the in-process bus, the demo integration syncing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from api._hub import RunningHub, running_hub
from api._services import open_services
from config import load_settings
from runtime.bus import CloudEvent
from runtime.store import RunStatus
from runtime.testing import wait_for


@asynccontextmanager
async def started_hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    """The hub as `integration-hub run` starts it (a context manager, not a fixture: its task
    group must be entered and left by the same task)."""
    settings = load_settings(env={"HUB_DATA_DIR": str(tmp_path / "data")})
    async with open_services(settings) as services, running_hub(services) as running:
        yield running


async def _completed_runs(hub: RunningHub) -> list[str]:
    runs = await hub.services.store.list_runs("demo", limit=50)
    return [run.entity for run in runs.items if run.status is RunStatus.COMPLETED]


async def test_first_start_adds_the_demo_integration_and_it_syncs(tmp_path: Path) -> None:
    async with started_hub(tmp_path) as hub:
        await _first_sync_seen_on_the_bus(hub)


async def _first_sync_seen_on_the_bus(hub: RunningHub) -> None:
    store = hub.services.store
    received: list[CloudEvent] = []
    async with anyio.create_task_group() as tg, hub.bus.subscribe("demo") as events:

        async def collect() -> None:
            async for event in events:
                received.append(event)

        tg.start_soon(collect)
        await wait_for(lambda: _synced(hub, 2), timeout=30, what="the demo's first sync")
        await wait_for(
            lambda: sum(e.type.endswith("sync_completed") for e in received) == 2,
            timeout=10,
            what="sync_completed events on the bus",
        )
        tg.cancel_scope.cancel()
    counts = await store.count_records("demo")
    assert counts["customers"] > 100
    assert counts["invoices"] > 100
    assert (await store.get_integration("demo")).status == "active"
    types = [e.type.removeprefix("hub.integration.") for e in received]
    assert "sync_started" in types
    assert all(e.source == "/integrations/demo" for e in received)


async def _synced(hub: RunningHub, runs: int) -> bool:
    """At least `runs` completed runs, covering both entities."""
    entities = await _completed_runs(hub)
    return len(entities) >= runs and {"customers", "invoices"} <= set(entities)


async def _idle(hub: RunningHub) -> bool:
    return not (await hub.hub.sync_state("demo")).running


async def test_manual_sync_sees_the_changes_between_generations(tmp_path: Path) -> None:
    async with started_hub(tmp_path) as hub:
        await _second_sync(hub)


async def _second_sync(hub: RunningHub) -> None:
    store = hub.services.store
    await wait_for(lambda: _synced(hub, 2), timeout=30, what="the first sync")
    await wait_for(lambda: _idle(hub), timeout=10, what="the first sync to end")
    first = await _record_changes(hub)
    stored = sum((await store.count_records("demo")).values())
    assert len(first) == stored
    assert {change for _, change in first} == {"added"}
    seq = (await store.recent_events(1))[0].seq
    assert await hub.hub.sync_now("demo") is True
    await wait_for(lambda: _synced(hub, 4), timeout=30, what="the second sync")
    runs = (await store.list_runs("demo", limit=2)).items
    assert all(run.status is RunStatus.COMPLETED for run in runs)
    assert sum(run.updated + run.added + run.deleted for run in runs) > 0
    assert sum(run.unchanged for run in runs) > 0
    second = await _record_changes(hub, seq)
    for kind in ("added", "updated", "deleted"):
        assert sum(change == kind for _, change in second) == sum(
            getattr(run, kind) for run in runs
        )
    assert len(set(second)) == len(second)


async def _record_changes(hub: RunningHub, after: int | None = None) -> list[tuple[str, str]]:
    """((entity, external id), change) of each `record_changed` event in the outbox."""
    found = await hub.services.store.events_after(after, 100_000)
    return [
        (f"{e.data['entity']}/{e.data['external_id']}", str(e.data["change"]))
        for e in found
        if e.type == "hub.integration.record_changed"
    ]


async def test_test_connection_answers_while_running(tmp_path: Path) -> None:
    async with started_hub(tmp_path) as hub:
        result = await hub.hub.test_connection("demo")
        assert result.ok
        everything = await hub.hub.health_check_all(deadline=5)
        assert everything["demo"].ok
