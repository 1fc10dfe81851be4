"""The schedule end to end on virtual time: the plan is kept in the store, and after downtime
exactly one catch-up sync runs at start, then the schedule is followed again.

The hub's wall clock (`now`) is virtual too: a fixed start, plus the `MockClock`'s time, plus
however long the test says the hub was down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters import Registry, demo
from api._hub import RunningHub, running_hub
from api._services import open_services
from config import load_settings
from runtime.store import RunStatus
from runtime.testing import MockClock
from tests.actors.fakes import FakePeer, autojump, counted, fake_spec
from tests.actors.test_faults import idle, integration, runs_of, until

START = datetime(2030, 1, 1, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


class Wall:
    """The hub's wall clock: `START` + virtual seconds + the downtime the test adds."""

    def __init__(self, clock: MockClock) -> None:
        self.clock = clock
        self.down = timedelta()

    def __call__(self) -> datetime:
        return START + timedelta(seconds=self.clock.now()) + self.down


@asynccontextmanager
async def hub(
    tmp_path: Path, clock: MockClock, wall: Wall, peer: FakePeer, *, first: bool
) -> AsyncIterator[RunningHub]:
    settings = load_settings(env={"HUB_DATA_DIR": str(tmp_path / "data")})
    registry = Registry((demo.SPEC, fake_spec("fake", peer)))
    async with open_services(settings, registry=registry) as opened:
        services, busy = counted(opened)
        if first:
            schedule = {"cron": "*/15 * * * *", "jitter_seconds": 0}
            await services.integrations.create(
                integration("sched", "fake", schedule=schedule), origin="test"
            )
        async with (
            autojump(clock, busy),
            running_hub(services, demo=False, clock=clock, now=wall) as running,
        ):
            yield running


async def test_plan_is_stored_and_after_downtime_one_catch_up_runs_then_the_schedule(
    tmp_path: Path, clock: MockClock
) -> None:
    wall, peer = Wall(clock), FakePeer()
    async with hub(tmp_path, clock, wall, peer, first=True) as running:
        store = running.services.store
        # Never synced: the first sync runs at once; the plan is the next quarter hour.
        await until(clock, lambda: _completed(running, 1), within=60, what="the first sync")
        assert await store.next_sync("sched") == START + QUARTER

    wall.down = timedelta(hours=3)  # the hub was down: twelve planned syncs were missed
    async with hub(tmp_path, clock, wall, peer, first=False) as running:
        store = running.services.store
        restarted = wall()
        await until(clock, lambda: _completed(running, 2), within=60, what="the catch-up")
        planned = START + timedelta(hours=3) + QUARTER
        assert await store.next_sync("sched") == planned
        assert wall() < planned

        await until(clock, lambda: _completed(running, 3), within=20 * 60, what="the next sync")
        assert planned <= wall() < planned + timedelta(minutes=1)
        assert await store.next_sync("sched") == planned + QUARTER
        assert restarted < planned
        assert peer.syncs == 3


async def _completed(running: RunningHub, count: int) -> bool:
    """Exactly `count` runs, all completed, and no sync running."""
    runs = await runs_of(running.services.store, "sched")
    done = [run for run in runs if run.status is RunStatus.COMPLETED]
    return len(done) == len(runs) == count and await idle(running, "sched")
