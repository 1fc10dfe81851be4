"""Sync pipeline benchmark (issue 4): REST upstream -> adapter -> IntegrationActor -> PostgreSQL
with change detection -> outbox -> JetStream, end to end.

    python -m benchmarks.sync [--quick] [--profile]

A paginated upstream on loopback (`benchmarks._upstream`: 100 records a page, ~200-byte
records) is synced by `benchmarks._adapter` (the shared `HttpClient`, pages fetched a few
ahead, yielded in order) through the real hub (`running_hub`: root supervisor, integration
actor, PostgreSQL store on a fresh database of 127.0.0.1:5432, outbox relay, NATS at
nats://127.0.0.1:4222). A run is timed from asking the hub to start a new integration (it
connects and starts its first full sync) until the relay has recorded JetStream's ack of the
run's `sync_completed` event (events are relayed in order, so every earlier one is acked too).
The store emits one `record_changed` event per added, updated or deleted record besides the
run's own (connected, sync_started, sync_completed). The baseline (`benchmarks._bare`) does
the same job with nothing of the hub in the same process: aiohttp, hash, COPY-merge, the same
number of events published pipelined. Runs of the two sides alternate; each side's median
counts. Progress goes to stderr.

Figures:
- sync_10k_s / sync_10k_vs_bare: 10,000 new records end to end (< 1 s; <= 1.5x the bare).
- sync_100k_vs_bare, sync_100k_rss_growth_mb (full mode only): 100,000 records, and the peak
  RSS above the RSS before the run, sampled every 10 ms.
- resync_unchanged_rows_written / resync_unchanged_record_events: the same 10,000 again,
  unchanged: rows whose `xmin` changed, and events other than the run's own; resync_10k_s its
  time against the bare pipeline's unchanged merge.
- sync_10k_latency50_s: 10,000 records with 50 ms of upstream latency per page, 16 pages
  ahead within a rate limit of 200 requests/s (burst 16).
- relay_10k_events_s: 10,000 events appended to the outbox, until the relay has marked the
  last one sent, against bare `publish_async` of 10,000; relay_10k_one_by_one_s (no goal): the
  relay publishing one by one (an in-memory outbox), as before the pipelined path.
- event_latency_p99_ms: an event published (`NatsBus.publish`) -> received by a subscriber
  on another connection.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any, cast

import anyio
import asyncpg  # type: ignore[import-untyped, unused-ignore]  # no type information shipped

from actors._integrations import IntegrationService, event_in
from adapters import Registry
from api._hub import RunningHub, running_hub
from api._services import Services, open_services
from benchmarks._adapter import SPEC
from benchmarks._bare import Bare
from benchmarks._report import Figure, emit, percentile, ratio_goal, value_goal
from benchmarks._upstream import Upstream
from benchmarks._watch import WatchedStore
from config import load_settings
from runtime.bus import CloudEvent, EventName, NatsBus, OutboxEvent, OutboxRelay, new_event
from runtime.store import RunStatus, Store

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
NATS_URL = "nats://127.0.0.1:4222"
RECORD_EVENT = f"hub.integration.{EventName.RECORD_CHANGED.value}"
LATENCY = 0.05
RATE_LIMIT = {"rate": 200.0, "period": 1.0, "burst": 16}


@dataclass(frozen=True, slots=True)
class Settings:
    repeats: int  # alternating runs of each side; the median counts
    window: int  # pages fetched ahead, no latency
    latency_window: int  # pages fetched ahead, 50 ms latency
    big: int  # records of the large figure; 0: not measured
    events: int  # relay figure
    latency_events: int


QUICK = Settings(repeats=3, window=4, latency_window=16, big=0, events=10_000, latency_events=500)
FULL = Settings(
    repeats=5, window=4, latency_window=16, big=100_000, events=10_000, latency_events=2_000
)


def progress(text: str) -> None:
    print(f"[benchmarks.sync] {text}", file=sys.stderr, flush=True)


def spread(what: str, samples: Sequence[float], unit: str = "s") -> None:
    shown = ", ".join(f"{s:.3f}" for s in samples)
    progress(f"{what}: median {median(samples):.3f} {unit} ({shown})")


# -- peers ------------------------------------------------------------------------------------


async def postgres_ok() -> str | None:
    try:
        connection = await asyncpg.connect(ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"PostgreSQL at {ADMIN_URL}: {type(error).__name__}: {error}"
    await connection.close()
    return None


async def nats_ok() -> str | None:
    try:
        stream = await anyio.connect_tcp("127.0.0.1", 4222)
    except OSError as error:
        return f"NATS at {NATS_URL}: {error}"
    await stream.aclose()
    return None


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    name = f"hub_bench_{int(time.time() * 1000)}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield ADMIN_URL.rpartition("/")[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# -- the hub side ---------------------------------------------------------------------------


@dataclass
class Harness:
    running: RunningHub
    store: WatchedStore
    sql: asyncpg.Connection
    upstream_url: str
    runs: int = 0

    def new_id(self) -> str:
        self.runs += 1
        return f"bench-{self.runs}"

    async def drain(self) -> None:
        """Until the outbox is empty (events of earlier steps are not timed)."""
        with anyio.fail_after(60):
            while await self.store.pending_events(1):
                self.running.relay.notify()
                await anyio.sleep(0.005)

    async def sync_new(self, window: int, rate_limits: dict[str, float] | None = None) -> str:
        """Create an integration (untimed), then time its first sync; returns its id."""
        iid = self.new_id()
        settings = {"base_url": self.upstream_url, "window": window}
        config: dict[str, object] = {
            "id": iid,
            "name": iid,
            "type": "REST",
            "adapter": SPEC.name,
            "entities": list(SPEC.entities),
            "schedule": {"enabled": False},
            "settings": settings,
        }
        if rate_limits is not None:
            config["rate_limits"] = rate_limits
        await self.running.services.integrations.create(config, origin="benchmark")
        await self.drain()
        return iid

    async def first_sync(self, iid: str) -> float:
        self.store.expect(iid)
        started, cpu = time.perf_counter(), time.process_time()
        await self.running.hub.add(iid)
        ended = await self.ended(iid)
        finished = self.store.finished_at.pop(iid)
        progress(
            f"{iid}: {ended - started:.3f} s, {time.process_time() - cpu:.3f} s CPU; the run "
            f"finished at {finished - started:.3f} s, its last event was acked "
            f"{ended - finished:.3f} s later"
        )
        return ended - started

    async def ended(self, iid: str) -> float:
        """When the run's end was acknowledged; raises if the run did not complete."""
        at = await self.store.marked(iid)
        status, error = self.store.outcomes.pop(iid)
        if status is not RunStatus.COMPLETED:
            raise RuntimeError(f"the sync of {iid} ended {status}: {error}")
        return at

    async def resync(self, iid: str) -> float:
        await self.drain()
        self.store.expect(iid)
        started = time.perf_counter()
        if not await self.running.hub.sync_now(iid):
            raise RuntimeError(f"{iid}: a sync is running already")
        return await self.ended(iid) - started

    async def event_types(self, iid: str, after_seq: int = 0) -> dict[str, int]:
        rows = await self.sql.fetch(
            "SELECT type, count(*) FROM events WHERE integration_id = $1 AND seq > $2 "
            "GROUP BY type",
            iid,
            after_seq,
        )
        return {row[0]: row[1] for row in rows}

    async def last_seq(self) -> int:
        return int(await self.sql.fetchval("SELECT coalesce(max(seq), 0) FROM events"))

    async def versions(self, iid: str) -> list[str]:
        return list(
            await self.sql.fetchval(
                "SELECT array_agg(xmin::text ORDER BY external_id) FROM records "
                "WHERE integration_id = $1",
                iid,
            )
        )

    async def record_count(self, iid: str) -> int:
        return int(
            await self.sql.fetchval("SELECT count(*) FROM records WHERE integration_id = $1", iid)
        )

    async def remove(self, iid: str) -> None:
        await self.running.hub.remove(iid)


def watched(services: Services) -> tuple[Services, WatchedStore]:
    store = WatchedStore(services.store)
    typed = cast(Store, store)
    integrations = IntegrationService(typed, services.vault, services.registry.available)
    return replace(services, store=typed, integrations=integrations), store


@asynccontextmanager
async def harness(database_url: str, upstream_url: str, data_dir: Path) -> AsyncIterator[Harness]:
    env = {
        "HUB_DATA_DIR": str(data_dir),
        "HUB_DATABASE_URL": database_url,
        "HUB_NATS_URL": NATS_URL,
    }
    settings = load_settings(env=env)
    async with AsyncExitStack() as stack:
        opened = await stack.enter_async_context(
            open_services(settings, registry=Registry((SPEC,)))
        )
        services, store = watched(opened)
        running = await stack.enter_async_context(running_hub(services, demo=False))
        sql = await asyncpg.connect(database_url)
        stack.push_async_callback(sql.close)
        yield Harness(running, store, sql, upstream_url)


# -- pairs of runs --------------------------------------------------------------------------


async def alternate(
    repeats: int, ours: Callable[[], Awaitable[float]], bare: Callable[[], Awaitable[float]]
) -> tuple[list[float], list[float]]:
    ours_times: list[float] = []
    bare_times: list[float] = []
    for _ in range(repeats):
        ours_times.append(await ours())
        bare_times.append(await bare())
    return ours_times, bare_times


class Sides:
    """One harness and one bare pipeline over one upstream; `events` per bare sync."""

    def __init__(self, h: Harness, bare: Bare, base_url: str, events: int) -> None:
        self.h = h
        self.bare = bare
        self.base_url = base_url
        self.events = events
        self.tags = 0

    def tag(self) -> str:
        self.tags += 1
        return f"bare-{self.tags}"

    async def ours_new(self, window: int, rate_limits: dict[str, float] | None = None) -> float:
        iid = await self.h.sync_new(window, rate_limits)
        seconds = await self.h.first_sync(iid)
        await self.h.remove(iid)
        return seconds

    async def bare_new(self, window: int) -> float:
        started, cpu = time.perf_counter(), time.process_time()
        await self.bare.sync(self.base_url, self.tag(), window, self.events)
        seconds = time.perf_counter() - started
        progress(f"bare: {seconds:.3f} s, {time.process_time() - cpu:.3f} s CPU")
        return seconds


async def warm_up(h: Harness, bare: Bare, base_url: str, window: int) -> int:
    """One untimed run of each side; returns the events one sync emits (the bare side's
    count)."""
    iid = await h.sync_new(window)
    before = await h.last_seq()
    seconds = await h.first_sync(iid)
    types = await h.event_types(iid, before)
    count = sum(types.values())
    progress(f"warm-up sync of {await h.record_count(iid)} records: {seconds:.3f} s")
    progress(f"events of one sync: {count} ({', '.join(f'{t}: {n}' for t, n in types.items())})")
    await h.remove(iid)
    await bare.sync(base_url, "bare-warm-up", window, count)
    return count


async def sync_pair(sides: Sides, settings: Settings, records: int, label: str) -> list[Figure]:
    ours, bare = await alternate(
        settings.repeats,
        lambda: sides.ours_new(settings.window),
        lambda: sides.bare_new(settings.window),
    )
    spread(f"{label}, hub", ours)
    spread(f"{label}, bare", bare)
    value, base = median(ours), median(bare)
    return [
        Figure(f"sync_{label}_s", value, "s", base, value_goal("<", 1.0)),
        Figure(f"sync_{label}_vs_bare", value, "s", base, ratio_goal(1.5, "<=")),
    ]


async def resync_figures(sides: Sides, settings: Settings) -> list[Figure]:
    h = sides.h
    iid = await h.sync_new(settings.window)
    await h.first_sync(iid)
    tag = sides.tag()
    await sides.bare.sync(sides.base_url, tag, settings.window, sides.events)
    ours: list[float] = []  # the bare side publishes as many events as the hub's re-sync
    bare: list[float] = []
    rows = events = 0
    for _ in range(settings.repeats):
        before, seq = await h.versions(iid), await h.last_seq()
        ours.append(await h.resync(iid))
        rows += sum(a != b for a, b in zip(before, await h.versions(iid), strict=True))
        types = await h.event_types(iid, seq)
        events += types.get(RECORD_EVENT, 0)
        progress(f"unchanged re-sync events: {types}")
        started = time.perf_counter()
        bare_rows = await sides.bare.sync(sides.base_url, tag, settings.window, sum(types.values()))
        bare.append(time.perf_counter() - started)
        progress(f"bare unchanged re-sync wrote {bare_rows} rows")
    await h.remove(iid)
    spread("unchanged re-sync, hub", ours)
    spread("unchanged re-sync, bare", bare)
    return [
        Figure("resync_unchanged_rows_written", rows, "rows", None, value_goal("<=", 0)),
        Figure("resync_unchanged_record_events", events, "events", None, value_goal("<=", 0)),
        Figure("resync_10k_s", median(ours), "s", median(bare), None),
    ]


async def latency_figure(sides: Sides, upstream: Upstream, settings: Settings) -> Figure:
    upstream.latency = LATENCY
    window = settings.latency_window
    try:
        ours: list[float] = []
        bare: list[float] = []
        for _ in range(settings.repeats):
            upstream.reset_counts()
            ours.append(await sides.ours_new(window, RATE_LIMIT))
            progress(
                f"50 ms upstream: {upstream.requests} requests, at most {upstream.peak_in_flight} "
                f"at once, at most {upstream.peak_per_second} in one second"
            )
            bare.append(await sides.bare_new(window))
    finally:
        upstream.latency = 0.0
    spread("10k with 50 ms/page, hub", ours)
    spread("10k with 50 ms/page, bare (same window, no limiter)", bare)
    return Figure("sync_10k_latency50_s", median(ours), "s", median(bare), value_goal("<", 1.0))


# -- events ---------------------------------------------------------------------------------


async def relay_figure(h: Harness, bare: Bare, settings: Settings) -> Figure:
    ours: list[float] = []
    bare_times: list[float] = []
    iid = await h.sync_new(1)  # an integration for the events to belong to; not started
    now = datetime.now(UTC)
    for run in range(settings.repeats):
        events = [
            event_in(iid, EventName.WEBHOOK_RECEIVED, {"run": run, "n": n}, now)
            for n in range(settings.events)
        ]
        await h.drain()
        await h.store.append_events(events)
        h.store.expect("relay", events[-1].id)
        started = time.perf_counter()
        h.running.relay.notify()
        ours.append(await h.store.marked("relay") - started)
        started = time.perf_counter()
        await bare.publish(settings.events)
        bare_times.append(time.perf_counter() - started)
    spread(f"relay {settings.events} events, hub", ours)
    spread(f"publish_async {settings.events} events, bare", bare_times)
    return Figure(
        f"relay_{settings.events // 1000}k_events_s",
        median(ours),
        "s",
        median(bare_times),
        value_goal("<", 1.0),
    )


class ListOutbox:
    """An outbox in a list (`seq` = place from 1); the relay marks a prefix of it."""

    def __init__(self, events: Sequence[CloudEvent]) -> None:
        self.events = [OutboxEvent.of(event, seq) for seq, event in enumerate(events, start=1)]
        self.marked = 0
        self.done = anyio.Event()

    async def pending(self, limit: int, after: int | None = None) -> Sequence[OutboxEvent]:
        start = self.marked if after is None else after
        return self.events[start : start + limit]

    async def mark_sent(self, ids: Sequence[str], at: datetime) -> None:
        self.marked += len(ids)
        if self.marked == len(self.events):
            self.done.set()


class OneByOne:
    """The bus without its pipelined `send`: the relay's earlier path."""

    def __init__(self, bus: NatsBus) -> None:
        self.bus = bus
        self.messaging_system = bus.messaging_system

    async def publish(self, event: CloudEvent) -> None:
        await self.bus.publish(event)

    def subscribe(self, integration_id: str | None = None) -> Any:
        return self.bus.subscribe(integration_id)

    async def close(self) -> None:
        await self.bus.close()


def bench_events(count: int) -> list[CloudEvent]:
    now = datetime.now(UTC)
    return [
        new_event("relay-bench", EventName.WEBHOOK_RECEIVED, {"n": n}, now=now)
        for n in range(count)
    ]


async def one_by_one_figure(count: int) -> Figure:
    bus = await NatsBus.connect(NATS_URL)
    try:
        outbox = ListOutbox(bench_events(count))
        relay = OutboxRelay(outbox, OneByOne(bus))
        async with anyio.create_task_group() as tg:
            started = time.perf_counter()
            tg.start_soon(relay.run)
            with anyio.fail_after(120):
                await outbox.done.wait()
            seconds = time.perf_counter() - started
            tg.cancel_scope.cancel()
    finally:
        await bus.close()
    progress(f"relay one by one, {count} events: {seconds:.3f} s")
    return Figure(f"relay_{count // 1000}k_one_by_one_s", seconds, "s", None, None)


async def event_latency(count: int) -> Figure:
    publisher = await NatsBus.connect(NATS_URL)
    subscriber = await NatsBus.connect(NATS_URL)
    sent: dict[str, float] = {}
    delays: list[float] = []
    try:
        async with (
            subscriber.subscribe("latency-bench") as subscription,
            anyio.create_task_group() as tg,
        ):

            async def receive() -> None:
                async for event in subscription:
                    delays.append((time.perf_counter() - sent[event.id]) * 1000)
                    if len(delays) == count:
                        return

            tg.start_soon(receive)
            now = datetime.now(UTC)
            for n in range(count):
                event = new_event("latency-bench", EventName.SYNC_COMPLETED, {"n": n}, now=now)
                sent[event.id] = time.perf_counter()
                await publisher.publish(event)
                await anyio.sleep(0.001)  # paced: the latency of one event, not of a queue
    finally:
        await publisher.close()
        await subscriber.close()
    progress(
        f"publish -> subscriber ms: median {percentile(delays, 50):.2f}, "
        f"p99 {percentile(delays, 99):.2f}, max {max(delays):.2f}"
    )
    return Figure("event_latency_p99_ms", percentile(delays, 99), "ms", None, value_goal("<", 10))


# -- memory ---------------------------------------------------------------------------------


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def peak_rss_growth(run: Callable[[], Awaitable[float]]) -> tuple[float, float]:
    """(seconds of `run`, the peak RSS above the RSS before it, in MB)."""
    before = peak = rss_mb()
    async with anyio.create_task_group() as tg:

        async def sample() -> None:
            nonlocal peak
            while True:
                peak = max(peak, rss_mb())
                await anyio.sleep(0.01)

        tg.start_soon(sample)
        seconds = await run()
        tg.cancel_scope.cancel()
    return seconds, max(peak, rss_mb()) - before


async def big_figures(database_url: str, settings: Settings, data_dir: Path) -> list[Figure]:
    upstream = Upstream(settings.big)
    async with upstream.serving() as base_url, harness(database_url, base_url, data_dir) as h:
        bare = await Bare.open(database_url, NATS_URL)
        try:
            sides = Sides(h, bare, base_url, await warm_up(h, bare, base_url, settings.window))
            ours: list[float] = []
            bare_times: list[float] = []
            growth: list[float] = []
            for _ in range(settings.repeats):
                seconds, grew = await peak_rss_growth(lambda: sides.ours_new(settings.window))
                ours.append(seconds)
                growth.append(grew)
                bare_times.append(await sides.bare_new(settings.window))
        finally:
            await bare.close()
    spread("100k, hub", ours)
    spread("100k, bare", bare_times)
    spread("100k, RSS growth", growth, "MB")
    return [
        Figure("sync_100k_vs_bare", median(ours), "s", median(bare_times), ratio_goal(1.5, "<=")),
        Figure("sync_100k_rss_growth_mb", max(growth), "MB", None, value_goal("<", 64)),
    ]


# -- running it all -------------------------------------------------------------------------


async def hub_figures(
    database_url: str, settings: Settings, data_dir: Path, report: Callable[[Figure], None]
) -> None:
    upstream = Upstream(10_000)
    async with upstream.serving() as base_url, harness(database_url, base_url, data_dir) as h:
        bare = await Bare.open(database_url, NATS_URL)
        try:
            sides = Sides(h, bare, base_url, await warm_up(h, bare, base_url, settings.window))
            for figure in await sync_pair(sides, settings, 10_000, "10k"):
                report(figure)
            for figure in await resync_figures(sides, settings):
                report(figure)
            report(await latency_figure(sides, upstream, settings))
            report(await relay_figure(h, bare, settings))
        finally:
            await bare.close()


async def profile(database_url: str, data_dir: Path) -> None:
    """One 10k sync of each side under cProfile; the top of each on stderr."""
    upstream = Upstream(10_000)
    async with upstream.serving() as base_url, harness(database_url, base_url, data_dir) as h:
        bare = await Bare.open(database_url, NATS_URL)
        try:
            sides = Sides(h, bare, base_url, await warm_up(h, bare, base_url, QUICK.window))
            runs: list[tuple[str, Callable[[], Awaitable[float]]]] = [
                ("hub", lambda: sides.ours_new(QUICK.window)),
                ("bare", lambda: sides.bare_new(QUICK.window)),
            ]
            for name, run in runs:
                profiler = cProfile.Profile()
                profiler.enable()
                seconds = await run()
                profiler.disable()
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("tottime").print_stats(35)
                stats.sort_stats("cumulative").print_stats(45)
                progress(f"profile of one 10k sync, {name} ({seconds:.3f} s under the profiler)")
                print(out.getvalue(), file=sys.stderr)
        finally:
            await bare.close()


async def run(settings: Settings, report: Callable[[Figure], None], *, profiled: bool) -> None:
    nats_problem, pg_problem = await nats_ok(), await postgres_ok()
    if nats_problem is not None:
        progress(f"skipping every figure (each needs JetStream): {nats_problem}")
        return
    progress("event latency")
    report(await event_latency(settings.latency_events))
    progress("relay one by one (the earlier path)")
    report(await one_by_one_figure(settings.events))
    if pg_problem is not None:
        progress(f"skipping the sync and relay figures (they need PostgreSQL): {pg_problem}")
        return
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as data_dir:
        async with fresh_database() as database_url:
            if profiled:
                await profile(database_url, Path(data_dir))
                return
            await hub_figures(database_url, settings, Path(data_dir), report)
    if settings.big:  # a database of its own: its integrations are numbered from 1 again
        progress(f"{settings.big} records")
        with tempfile.TemporaryDirectory(prefix="hub-bench-") as data_dir:
            async with fresh_database() as database_url:
                for figure in await big_figures(database_url, settings, Path(data_dir)):
                    report(figure)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sync",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="10k figures only (< 60 s)")
    parser.add_argument("--profile", action="store_true", help="cProfile one sync of each side")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    asyncio.run(run(QUICK if args.quick else FULL, emit, profiled=args.profile))
    progress(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
