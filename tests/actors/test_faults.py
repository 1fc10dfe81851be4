"""Faults end to end: the hub (root supervisor, integration actors, store, outbox) against
adapters that fail on purpose, each test ending with the exact state it must leave.

Virtual time (`MockClock`, driven by `fakes.autojump`) for the supervisor's backoff, park
cool-down and the stall check; real time and real sockets for the HTTP upstream.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from actors._hub import child_id
from adapters import AdapterSpec, Registry, demo
from api._hub import DEMO_INTEGRATION, RunningHub, running_hub
from api._services import open_services
from config import load_settings
from runtime import SYSTEM_CLOCK, ChildInfo, Clock, Lifecycle, fail_after, sleep
from runtime.bus import EventName
from runtime.store import EventRow, JsonObject, RunKind, RunStatus, Store, SyncRun
from runtime.testing import MockClock, wait_for
from tests.actors.fakes import (
    ENTITY,
    PAGES_SPEC,
    TOKEN_FIELD,
    FakePeer,
    autojump,
    counted,
    fake_spec,
)
from tests.actors.upstream import FAULTS, OK, Upstream

PREFIX = "hub.integration."

# -- starting the hub -----------------------------------------------------------------------------


def integration(integration_id: str, adapter: str, **fields: Any) -> dict[str, Any]:
    """An integration of `adapter` with no schedule (the test says when to sync)."""
    return {
        "id": integration_id,
        "name": integration_id.title(),
        "type": "REST",
        "adapter": adapter,
        "entities": [ENTITY],
        "schedule": {"enabled": False},
        **fields,
    }


@asynccontextmanager
async def hub_with(
    tmp_path: Path,
    clock: Clock,
    specs: Sequence[AdapterSpec],
    integrations: Sequence[dict[str, Any]],
    **options: Any,
) -> AsyncIterator[RunningHub]:
    """The hub with these adapters and integrations, on `clock` (a `MockClock` is driven by
    `fakes.autojump`). A context manager, not a fixture: its task groups must be entered and
    left by the same task."""
    settings = load_settings(env={"HUB_DATA_DIR": str(tmp_path / "data")})
    registry = Registry((demo.SPEC, *specs))
    async with open_services(settings, registry=registry) as opened:
        services, busy = counted(opened)
        for data in integrations:
            await services.integrations.create(data, origin="test")
        if isinstance(clock, MockClock):
            async with (
                autojump(clock, busy),
                running_hub(services, demo=False, clock=clock, **options) as running,
            ):
                yield running
        else:
            async with running_hub(services, demo=False, clock=clock, **options) as running:
                yield running


async def until(
    clock: MockClock, condition: Callable[[], Awaitable[bool]], *, within: float, what: str
) -> None:
    """Wait until `condition` holds, looking every 0.25 s of virtual time, at most `within`
    virtual seconds."""
    try:
        with fail_after(clock, within):
            while not await condition():
                await sleep(clock, 0.25)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {within} s of virtual time") from None


# -- reading the outcome ----------------------------------------------------------------------


async def events_of(store: Store, integration_id: str) -> list[EventRow]:
    """The integration's events in the outbox, oldest first, but for the one `record_changed`
    per changed record (the store's contract tests and tests/actors/test_record_events.py check
    those): what these tests follow is the integration's life."""
    found = reversed(await store.recent_events(10_000, integration_id))
    return [event for event in found if event.type != PREFIX + EventName.RECORD_CHANGED]


def names(events: Sequence[EventRow]) -> list[str]:
    return [event.type.removeprefix(PREFIX) for event in events]


async def status(hub: RunningHub, integration_id: str) -> str:
    return (await hub.services.store.get_integration(integration_id)).status


async def runs_of(store: Store, integration_id: str) -> list[SyncRun]:
    """Oldest first."""
    return list(reversed((await store.list_runs(integration_id, limit=1000)).items))


async def stored_records(store: Store, integration_id: str) -> dict[str, JsonObject]:
    records: dict[str, JsonObject] = {}
    after: str | None = None
    while True:
        page = await store.list_records(integration_id, ENTITY, limit=500, after=after)
        for record in page.items:
            assert record.external_id not in records, f"{record.external_id} twice"
            records[record.external_id] = dict(record.data)
        if page.next_cursor is None:
            return records
        after = page.next_cursor


def child(hub: RunningHub, integration_id: str) -> ChildInfo:
    wanted = child_id(integration_id)
    return next(info for info in hub.root.which_children() if info.id == wanted)


async def idle(hub: RunningHub, integration_id: str) -> bool:
    return not (await hub.hub.sync_state(integration_id)).running


# -- 1. connect keeps failing: backoff, park, recover -----------------------------------------

NOMINAL_DELAYS = (0.0, 0.5, 1.0, 2.0, 4.0)  # default backoff: immediate, then 0.5 s doubling
COOL_DOWN = 30.0


def assert_backoff_cycle(times: Sequence[float]) -> None:
    """Six attempts: the first, an immediate restart, then delays growing 0.5, 1, 2, 4 s
    (each +-20 % jitter): the sixth failure is the sixth restart within 30 s, so it parks."""
    assert len(times) == 6
    delays = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert delays[0] == 0.0
    for delay, nominal in zip(delays[1:], NOMINAL_DELAYS[1:], strict=True):
        assert nominal * 0.8 - 1e-9 <= delay <= nominal * 1.2 + 1e-9, delays
    assert delays[1:] == sorted(delays[1:])
    assert times[-1] - times[0] < 30.0


async def test_failing_connect_backs_off_parks_and_recovers_after_the_fault(
    tmp_path: Path, clock: MockClock
) -> None:
    peer = FakePeer(connect_fails=True)
    specs = [fake_spec("flaky", peer)]
    setup = [DEMO_INTEGRATION, integration("flaky", "flaky")]
    async with hub_with(tmp_path, clock, specs, setup) as hub:
        store = hub.services.store

        async def parked(times: int) -> bool:
            return names(await events_of(store, "flaky")).count("parked") == times

        await until(clock, lambda: parked(1), within=20, what="parked once")
        assert_backoff_cycle(peer.connects)
        assert await status(hub, "flaky") == "parked"
        assert child(hub, "flaky").state is Lifecycle.PARKED

        # The cool-down runs out: tried again exactly 30 s after parking, the same cycle again.
        await until(clock, lambda: parked(2), within=60, what="parked twice")
        assert peer.connects[6] - peer.connects[5] == pytest.approx(COOL_DOWN)
        assert_backoff_cycle(peer.connects[6:])

        # The fault goes away just after the second parking: active again within a minute.
        peer.connect_fails = False
        cleared = clock.now()

        async def active() -> bool:
            return await status(hub, "flaky") == "active"

        await until(clock, active, within=60, what="active again")
        assert clock.now() - cleared <= 60.0
        assert len(peer.connects) == 13
        assert peer.connects[12] - peer.connects[11] == pytest.approx(COOL_DOWN)
        await until(clock, lambda: idle(hub, "flaky"), within=60, what="flaky's first sync")
        await until(clock, lambda: idle(hub, "demo"), within=60, what="the demo idle")

        flaky_events = await events_of(store, "flaky")
        cycle = ["restarted"] * 5 + ["parked"]
        assert names(flaky_events)[:14] == ["config_changed", *cycle, *cycle, "connected"]
        for event in flaky_events:
            if event.type in (PREFIX + "restarted", PREFIX + "parked"):
                assert event.data["error"] == (
                    "TransientError: connection refused by the peer (test fault)"
                )
        reported = [PREFIX + "parked", PREFIX + "connected"]
        assert [e.data["status"] for e in flaky_events if e.type in reported] == [
            "parked",
            "parked",
            "active",
        ]
        info = child(hub, "flaky")
        assert (info.state, info.restarts) == (Lifecycle.RUNNING, 12)  # 5 + 1 + 5 + 1
        assert await status(hub, "flaky") == "active"
        assert [run.status for run in await runs_of(store, "flaky")] == [RunStatus.COMPLETED]
        assert await stored_records(store, "flaky") == peer.records

        # The demo beside it was not disturbed: never restarted, every sync completed.
        demo_info = child(hub, "demo")
        assert (demo_info.state, demo_info.restarts) == (Lifecycle.RUNNING, 0)
        assert await status(hub, "demo") == "active"
        demo_names = names(await events_of(store, "demo"))
        assert not {"restarted", "parked", "error", "sync_failed"} & set(demo_names)
        demo_runs = await runs_of(store, "demo")
        assert len(demo_runs) >= 4  # the first sync and at least one scheduled one
        assert {run.status for run in demo_runs} == {RunStatus.COMPLETED}


# -- 2. credentials refused: error, no restart storm, reconnect after the fix ----------------

BAD_TOKEN = "sk-live-Q7x9-refused-Zr4mW2pT"
GOOD_TOKEN = "sk-live-K3v8-accepted-Hn6bY1sD"


def assert_secrets_absent(text: str) -> None:
    assert BAD_TOKEN not in text
    assert GOOD_TOKEN not in text


async def test_refused_credentials_stop_without_restarts_until_reconnected(
    tmp_path: Path, clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    peer = FakePeer(accepted_token=GOOD_TOKEN)
    specs = [fake_spec("crm", peer)]
    setup = [integration("crm", "crm", credentials={TOKEN_FIELD: BAD_TOKEN})]
    async with hub_with(tmp_path, clock, specs, setup) as hub:
        store = hub.services.store

        async def in_error() -> bool:
            return await status(hub, "crm") == "error"

        await until(clock, in_error, within=5, what="status error")
        error_at = clock.now()
        await sleep(clock, 300)  # five minutes of virtual time pass
        assert clock.now() - error_at >= 300
        assert len(peer.connects) == 1
        info = child(hub, "crm")
        assert (info.state, info.restarts) == (Lifecycle.RUNNING, 0)
        assert await status(hub, "crm") == "error"
        assert await hub.hub.sync_now("crm") is False  # nothing to sync with
        events = await events_of(store, "crm")
        assert names(events) == ["config_changed", "error"]
        assert events[1].data == {
            "status": "error",
            "kind": "auth",
            "detail": "AuthError: the peer refused the api_token (HTTP 401)",
        }
        assert await runs_of(store, "crm") == []

        # Fixed: a new credential, then reconnect.
        await hub.services.integrations.update(
            "crm", {"credentials": {TOKEN_FIELD: GOOD_TOKEN}}, origin="test"
        )
        await hub.hub.reconnect("crm")

        async def active() -> bool:
            return await status(hub, "crm") == "active"

        await until(clock, active, within=5, what="active after reconnect")
        await until(clock, lambda: idle(hub, "crm"), within=60, what="the first sync")
        assert len(peer.connects) == 2
        assert [run.status for run in await runs_of(store, "crm")] == [RunStatus.COMPLETED]
        assert await stored_records(store, "crm") == peer.records
        events = await events_of(store, "crm")
        assert names(events)[:5] == [
            "config_changed",
            "error",
            "config_changed",
            "restarted",  # the reconnect: a restart on purpose, no error
            "connected",
        ]
        assert events[3].data == {"error": None}

        # No credential value anywhere: events, logs, statuses, runs, the database files.
        everything = [
            *(await store.recent_events(10_000)),
            *(await store.list_logs("crm", limit=10_000)).items,
            *(await store.list_integrations()),
            *(await runs_of(store, "crm")),
            *hub.root.which_children(),
        ]
        assert_secrets_absent(repr(everything))
        assert_secrets_absent(caplog.text)
        assert_secrets_absent(repr([(r.msg, r.args) for r in caplog.records]))
    for path in (tmp_path / "data").iterdir():
        if path.is_file():
            raw = path.read_bytes()
            assert BAD_TOKEN.encode() not in raw, path
            assert GOOD_TOKEN.encode() not in raw, path


# -- 3. an upstream failing a fifth of its requests --------------------------------------------

SYNCS = 50
API_TOKEN = "Bearer up-Lp2v9-token"


async def test_flaky_upstream_syncs_exact_records_every_time(tmp_path: Path) -> None:
    """1,000 records in pages of 100 over real HTTP; 20 % of page requests fail (5xx, 429/503
    with `Retry-After: 0`, no answer within the 0.1 s request timeout); the client tries each
    page 3 times. 50 syncs, the upstream changing between them: after each completed run the
    store holds exactly the upstream's records, and the run counted each record once. A sync
    whose page failed 3 times is interrupted, and the next sync resumes that same run."""
    upstream = Upstream(1000, seed=7, fault_rate=0.2, token=API_TOKEN)
    # Scripted before the dice: the first page fails 3 times (a 429 asking for 1 s, a 500, a
    # 502), so the first sync is interrupted there.
    upstream.script.extend([("429", "1"), ("500", ""), ("502", "")])
    changes = random.Random(11)
    async with upstream.serving() as base_url:
        config = integration(
            "shop",
            "pages",
            settings={"base_url": base_url, "page_size": 100, "timeout": 0.1},
            retry_policy={"max_attempts": 3, "initial_backoff": 0.01, "max_backoff": 0.05},
            credentials={TOKEN_FIELD: API_TOKEN},
        )
        async with hub_with(tmp_path, SYSTEM_CLOCK, [PAGES_SPEC], [config]) as hub:
            outcomes = await _sync_repeatedly(hub, upstream, changes)
    assert upstream.bad_auth == 0
    # The scripted 429 was honoured: its page was asked again no sooner than 1 s later.
    first, second = upstream.hits[0], upstream.hits[1]
    assert (first.outcome, first.after, second.after) == ("429", "", "")
    assert second.at - first.at >= 0.99  # loop timers may fire a hair early
    # The dice did fail about a fifth of the page requests, in every way.
    failed = sum(n for outcome, n in upstream.outcomes.items() if outcome != OK)
    assert 0.12 < failed / len(upstream.hits) < 0.30
    assert set(upstream.outcomes) == {OK, *FAULTS}
    # The first sync was cut by the scripted burst (with seed 7 the dice cut 4 more).
    assert outcomes[0] is RunStatus.INTERRUPTED
    assert outcomes.count(RunStatus.COMPLETED) == SYNCS


async def _sync_repeatedly(
    hub: RunningHub, upstream: Upstream, changes: random.Random
) -> list[RunStatus]:
    """The integration's first sync (at start), then syncs until 50 have completed; returns
    how each ended. The upstream changes only after a completed sync, so the expected counts
    of a resumed run are those of the change before it."""
    store = hub.services.store
    outcomes: list[RunStatus] = []
    expected = (1000, 0, 0)  # added, updated, deleted by the current pass
    previous: SyncRun | None = None
    await wait_for(lambda: _synced(hub), timeout=10, what="the first sync")
    while True:
        [*_, run] = await runs_of(store, "shop")
        outcomes.append(run.status)
        if previous is not None and previous.status is RunStatus.INTERRUPTED:
            assert run.id == previous.id  # the interrupted run was resumed, not replaced
        if run.status is RunStatus.INTERRUPTED:
            assert run.error is not None
            assert run.error.startswith(("TransientError: GET", "RateLimited: GET")), run.error
        else:
            assert run.status is RunStatus.COMPLETED, run
            assert run.kind is RunKind.FULL
            assert upstream.hits[-1].outcome == OK
            assert await stored_records(store, "shop") == upstream.snapshot()
            assert (run.added, run.updated, run.deleted) == expected
            assert run.unchanged == len(upstream.records) - run.added - run.updated
            if outcomes.count(RunStatus.COMPLETED) == SYNCS:
                await _assert_events(store, outcomes, await runs_of(store, "shop"))
                break
            update, delete, add = (changes.randint(0, n) for n in (30, 10, 10))
            upstream.change(changes, update=update, delete=delete, add=add)
            expected = (add, update, delete)
        previous = run
        assert await hub.hub.sync_now("shop") is True
        await wait_for(lambda: idle(hub, "shop"), timeout=10, what="the sync to end")
    return outcomes


async def _synced(hub: RunningHub) -> bool:
    runs = await runs_of(hub.services.store, "shop")
    return bool(runs) and await idle(hub, "shop")


async def _assert_events(store: Store, outcomes: list[RunStatus], runs: list[SyncRun]) -> None:
    """One sync_started per sync (resumed ones say so), one sync_failed per interruption and
    one rate_limited per interruption by a 429; one sync_completed per run."""
    events = await events_of(store, "shop")
    interrupted = outcomes.count(RunStatus.INTERRUPTED)
    started = [e for e in events if e.type == PREFIX + "sync_started"]
    assert len(started) == len(outcomes)
    assert sum(bool(e.data["resumed"]) for e in started) == interrupted
    failed = [e for e in events if e.type == PREFIX + "sync_failed"]
    assert [e.data["status"] for e in failed] == ["interrupted"] * interrupted
    limited = sum(str(e.data["error"]).startswith("RateLimited") for e in failed)
    assert names(events).count("rate_limited") == limited
    assert names(events).count("sync_completed") == len(runs) == SYNCS
    assert {run.status for run in runs} == {RunStatus.COMPLETED}


# -- 4. a sync that hangs: failed as stalled, the next one works -------------------------------

STALL = 20.0


async def test_hanging_sync_fails_as_stalled_and_the_next_sync_completes(
    tmp_path: Path, clock: MockClock
) -> None:
    peer = FakePeer(hangs_left=1)  # the first sync hangs after its first batch
    specs = [fake_spec("stuck", peer)]
    setup = [integration("stuck", "stuck")]
    async with hub_with(tmp_path, clock, specs, setup, stall_timeout=STALL) as hub:
        store = hub.services.store

        async def failed() -> bool:
            return [run.status for run in await runs_of(store, "stuck")] == [RunStatus.FAILED]

        started = clock.now()
        await until(clock, failed, within=3 * STALL, what="the hanging run failed")
        # Checked every STALL / 4 s; failed at the first check after STALL s without progress.
        assert STALL < clock.now() - started <= 1.25 * STALL + 0.5
        assert await idle(hub, "stuck")
        [run] = await runs_of(store, "stuck")
        assert run.error == f"stalled: no progress for {STALL:g} s"
        assert (run.kind, run.added, run.unchanged) == (RunKind.FULL, 10, 0)
        assert len(await stored_records(store, "stuck")) == 10
        [sync_failed] = [e for e in await events_of(store, "stuck") if e.type.endswith("failed")]
        assert sync_failed.data == {
            "run_id": run.id,
            "entity": ENTITY,
            "status": "failed",
            "added": 10,
            "updated": 0,
            "unchanged": 0,
            "deleted": 0,
            "error": f"stalled: no progress for {STALL:g} s",
        }

        # The next sync carries on after the last checkpoint (as incremental: the pass was
        # cut, so it must not conclude deletions); the one after is a full pass again.
        for _ in range(2):
            assert await hub.hub.sync_now("stuck") is True
            await until(clock, lambda: idle(hub, "stuck"), within=60, what="the sync")
        runs = await runs_of(store, "stuck")
        assert [(r.status, r.kind, r.added, r.unchanged) for r in runs] == [
            (RunStatus.FAILED, RunKind.FULL, 10, 0),
            (RunStatus.COMPLETED, RunKind.INCREMENTAL, 20, 0),
            (RunStatus.COMPLETED, RunKind.FULL, 0, 30),
        ]
        assert await stored_records(store, "stuck") == peer.records
        assert await status(hub, "stuck") == "active"
        assert child(hub, "stuck").restarts == 0
        assert names(await events_of(store, "stuck")) == [
            "config_changed",
            "connected",
            "sync_started",
            "sync_failed",
            *["sync_started", "sync_completed"] * 2,
        ]


# -- 5. an adapter bug mid-sync: interrupted, restart, resumed at once -------------------------


async def test_adapter_crash_mid_sync_restarts_and_resumes_the_run(
    tmp_path: Path, clock: MockClock
) -> None:
    peer = FakePeer(crashes_left=1)
    specs = [fake_spec("buggy", peer)]
    setup = [integration("buggy", "buggy")]
    del setup[0]["entities"]  # the adapter's own entities
    async with hub_with(tmp_path, clock, specs, setup) as hub:
        store = hub.services.store

        async def completed() -> bool:
            runs = await runs_of(store, "buggy")
            return bool(runs) and runs[-1].status is RunStatus.COMPLETED

        await until(clock, completed, within=10, what="the run resumed and completed")
        [run] = await runs_of(store, "buggy")  # one run: interrupted, then resumed
        assert (run.kind, run.added, run.updated, run.unchanged) == (RunKind.FULL, 30, 0, 0)
        assert await stored_records(store, "buggy") == peer.records
        events = await events_of(store, "buggy")
        assert names(events) == [
            "config_changed",
            "connected",
            "sync_started",
            "sync_failed",
            "restarted",
            "connected",
            "sync_started",
            "sync_completed",
        ]
        assert events[3].data["status"] == "interrupted"
        assert events[3].data["error"] == "RuntimeError: the fake adapter has a bug (test fault)"
        assert events[6].data["resumed"] is True
        assert len(peer.connects) == 2
        assert child(hub, "buggy").restarts == 1
        assert await status(hub, "buggy") == "active"


# -- 6. reconnect while parked -----------------------------------------------------------------


async def test_reconnect_while_parked_starts_at_once(tmp_path: Path, clock: MockClock) -> None:
    peer = FakePeer(connect_fails=True)
    specs = [fake_spec("flaky", peer)]
    async with hub_with(tmp_path, clock, specs, [integration("flaky", "flaky")]) as hub:

        async def parked() -> bool:
            return await status(hub, "flaky") == "parked"

        await until(clock, parked, within=20, what="parked")
        peer.connect_fails = False
        fixed = clock.now()
        await hub.hub.reconnect("flaky")

        async def active() -> bool:
            return await status(hub, "flaky") == "active"

        await until(clock, active, within=5, what="active after reconnect")
        assert clock.now() - fixed < 1.0  # not after the 30 s cool-down
        assert len(peer.connects) == 7
        assert child(hub, "flaky").state is Lifecycle.RUNNING
        await until(clock, lambda: idle(hub, "flaky"), within=60, what="the first sync")
        assert await hub.hub.sync_now("flaky") is True  # the hub's reference is the new one
        await until(clock, lambda: idle(hub, "flaky"), within=60, what="the second sync")
        assert [run.status for run in await runs_of(hub.services.store, "flaky")] == [
            RunStatus.COMPLETED,
            RunStatus.COMPLETED,
        ]
        assert names(await events_of(hub.services.store, "flaky")) == [
            "config_changed",
            *["restarted"] * 5,
            "parked",
            "connected",  # removed and added again: no restart of the parked child to report
            *["sync_started", "sync_completed"] * 2,
        ]
