"""`Overview`: the read model of the API and the dashboard, and its pages of integrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors._overview import Overview, decode_cursor
from api._hub import RunningHub
from runtime.store import InvalidValue, RunStatus
from runtime.testing import MockClock
from tests.actors.fakes import ENTITY, FakePeer, fake_spec
from tests.actors.test_faults import hub_with, idle, integration, runs_of, until


def overview_of(hub: RunningHub) -> Overview:
    return Overview(hub.services.store, hub.services.integrations, hub.hub)


async def test_pages_cover_every_integration_once_in_creation_order(
    tmp_path: Path, clock: MockClock
) -> None:
    names = [f"int-{n}" for n in (3, 1, 4, 0, 2)]
    setup = [integration(name, "shop", enabled=False) for name in names]
    async with hub_with(tmp_path, clock, [fake_spec("shop", FakePeer())], setup) as hub:
        overview = overview_of(hub)
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            page = await overview.page(limit=2, after=cursor)
            pages += 1
            seen.extend(summary.view.config.id for summary in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == names
        assert pages == 3

        everything = await overview.page(limit=5)
        assert everything.next_cursor is None
        assert [s.view.config.id for s in everything.items] == names


async def test_a_page_resumes_after_its_cursor_when_that_integration_is_gone(
    tmp_path: Path, clock: MockClock
) -> None:
    setup = [integration(name, "shop", enabled=False) for name in ("a", "b", "c")]
    async with hub_with(tmp_path, clock, [fake_spec("shop", FakePeer())], setup) as hub:
        overview = overview_of(hub)
        first = await overview.page(limit=1)
        assert first.next_cursor is not None
        await hub.services.integrations.delete("a", origin="test")

        rest = await overview.page(limit=10, after=first.next_cursor)

        assert [s.view.config.id for s in rest.items] == ["b", "c"]


@pytest.mark.parametrize("cursor", ["", "%%%", "bm90IGpzb24", "WyJydW5zIiwzXQ", "W10"])
async def test_bad_cursors_are_invalid_values(cursor: str) -> None:
    with pytest.raises(InvalidValue):
        decode_cursor(cursor)


async def test_summary_joins_runs_records_and_the_sync_in_progress(
    tmp_path: Path, clock: MockClock
) -> None:
    peer = FakePeer()
    setup = [integration("shop", "shop")]
    async with hub_with(tmp_path, clock, [fake_spec("shop", peer)], setup) as hub:
        overview = overview_of(hub)
        await until(clock, lambda: idle(hub, "shop"), within=30, what="the first sync")

        async def finished() -> bool:
            runs = await runs_of(hub.services.store, "shop")
            return bool(runs) and runs[-1].status is RunStatus.COMPLETED

        await until(clock, finished, within=30, what="the first run to finish")
        summary = await overview.summary("shop")
        assert summary.records == {ENTITY: 30}
        assert summary.total_records == 30
        assert summary.last_run is not None
        assert summary.last_run.status is RunStatus.COMPLETED
        assert summary.sync is None

        peer.hangs_left = 1
        assert await hub.hub.sync_now("shop")

        async def in_progress() -> bool:
            sync = (await overview.summary("shop")).sync
            return sync is not None and sync.batches == 1

        await until(clock, in_progress, within=30, what="the sync in progress")
        summary = await overview.summary("shop")
        assert summary.sync is not None
        assert summary.sync.entity == ENTITY
        assert summary.last_run is not None
        assert summary.last_run.status is RunStatus.RUNNING


async def test_disabled_integrations_have_no_sync_in_progress(
    tmp_path: Path, clock: MockClock
) -> None:
    setup = [integration("off", "shop", enabled=False)]
    async with hub_with(tmp_path, clock, [fake_spec("shop", FakePeer())], setup) as hub:
        [summary] = await overview_of(hub).summaries()
        assert summary.sync is None
        assert summary.last_run is None
        assert summary.records == {}
        assert summary.view.status == "inactive"
