"""Runtime benchmarks (issue 2): messaging, restarts and idle cost of the actor runtime.

    python -m benchmarks.runtime [--quick]

Prints one JSON line per figure on stdout (see `benchmarks._report`), progress on stderr, and
exits 0 whether or not the goals are met. Each rate is compared with a baseline measured in
the same run: a bare `asyncio.Queue` pair doing the same job without the runtime, or pykka's
thread actors. Runs of a pair alternate and the median of each side is kept, so another
process busy on the machine slows both sides rather than one. Everything runs on the real
clock.

Figures:
- tell_throughput: a producer task tells a consumer actor N messages, against a producer
  coroutine putting into a bounded `asyncio.Queue` (the mailbox's capacity) and a consumer
  coroutine getting them.
- ask_round_trip: one task asks one actor N times in sequence, against putting
  (message, future) in a queue whose consumer task sets the future's result.
- ask_vs_pykka: the same asks per second against pykka's blocking `ActorRef.ask`, its two
  threads on two cores (the goal's regime) and, without a goal, on one core (see
  `ask_vs_pykka` for why both are pinned).
- crash_restart_p99_ms: from the `raise` inside `receive` to the supervisor reporting the next
  incarnation RUNNING (its `on_start` done), every restart an immediate first restart.
- idle_actors_rss_mb / idle_actors_cpu_percent: 1,000 idle actors, each running a
  `HealthLoop` every 10 s, over a window of real time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio

from benchmarks._report import (
    Figure,
    emit,
    percentile,
    rate,
    ratio_goal,
    value_goal,
)
from runtime import (
    Actor,
    ActorRef,
    Backoff,
    ChildChange,
    HealthLoop,
    HealthOptions,
    Intensity,
    Lifecycle,
    MailboxOptions,
    Request,
    Supervisor,
    SupervisorOptions,
)

CAPACITY = MailboxOptions().capacity  # the bare queue is as bounded as a default mailbox
HEALTH_INTERVAL = 10.0
WARMUP_CRASHES = 20


@dataclass(frozen=True, slots=True)
class Settings:
    messages: int  # per tell run
    asks: int  # per ask run
    pykka_asks: int  # per pykka run
    pinned_repeats: int  # runs of pykka pinned to one and to two cores, half as long each
    repeats: int  # runs of each side of a pair; the median counts
    crashes: int
    idle_actors: int
    idle_window: float  # seconds of real time


QUICK = Settings(
    messages=100_000,
    asks=20_000,
    pykka_asks=4_000,
    pinned_repeats=3,
    repeats=5,
    crashes=1_000,
    idle_actors=1_000,
    idle_window=HEALTH_INTERVAL,
)
FULL = Settings(
    messages=400_000,
    asks=100_000,
    pykka_asks=20_000,
    pinned_repeats=5,
    repeats=9,
    crashes=5_000,
    idle_actors=1_000,
    idle_window=2 * HEALTH_INTERVAL,
)


def progress(text: str) -> None:
    print(f"[benchmarks.runtime] {text}", file=sys.stderr, flush=True)


class Elapsed:
    seconds = 0.0


@contextmanager
def stopwatch() -> Iterator[Elapsed]:
    """Times the block (after a collection, so garbage left by the last run is not billed)."""
    gc.collect()
    elapsed = Elapsed()
    started = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed.seconds = time.perf_counter() - started


async def alternate(
    repeats: int, baseline: Callable[[], Awaitable[float]], subject: Callable[[], Awaitable[float]]
) -> tuple[list[float], list[float]]:
    """Rates of `repeats` alternating runs of each side: (subject's, baseline's)."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(repeats):
        theirs.append(await baseline())
        ours.append(await subject())
    return ours, theirs


def median(rates: Sequence[float]) -> float:
    return percentile(rates, 50)


def spread(name: str, rates: Sequence[float]) -> None:
    """Show on stderr how far apart the runs were."""
    low, mid, high = min(rates), median(rates), max(rates)
    progress(f"{name}: median {mid:,.0f}/s over {len(rates)} runs ({low:,.0f} .. {high:,.0f})")


# -- tell throughput -----------------------------------------------------------------------


class Countdown:
    """Counts messages down to zero and then sets `done`; both consumers use it alike."""

    def __init__(self) -> None:
        self.remaining = 0
        self.done = anyio.Event()

    def arm(self, count: int) -> None:
        self.remaining = count
        self.done = anyio.Event()

    def tick(self) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            self.done.set()


class Sink(Actor[int]):
    def __init__(self, countdown: Countdown) -> None:
        self._countdown = countdown

    async def receive(self, message: int) -> object:
        self._countdown.tick()
        return None


async def bare_tell_rate(count: int) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue(CAPACITY)
    countdown = Countdown()
    countdown.arm(count)

    async def consume() -> None:
        while True:
            await queue.get()
            countdown.tick()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(consume)
        with stopwatch() as elapsed:
            for n in range(count):
                await queue.put(n)
            await countdown.done.wait()
        tasks.cancel_scope.cancel()
    return rate(count, elapsed.seconds)


async def actor_tell_rate(ref: ActorRef[int], countdown: Countdown, count: int) -> float:
    countdown.arm(count)
    with stopwatch() as elapsed:
        for n in range(count):
            await ref.tell(n)
        await countdown.done.wait()
    return rate(count, elapsed.seconds)


async def tell_throughput(settings: Settings) -> Figure:
    countdown = Countdown()
    async with Supervisor(options=SupervisorOptions(name="tell")).running() as sup:
        ref = await sup.spawn("sink", lambda: Sink(countdown))
        ours, bare = await alternate(
            settings.repeats,
            lambda: bare_tell_rate(settings.messages),
            lambda: actor_tell_rate(ref, countdown, settings.messages),
        )
    spread("tell, actor", ours)
    spread("tell, bare queue", bare)
    return Figure("tell_throughput", median(ours), "msg/s", median(bare), ratio_goal(0.5))


# -- ask round trip ------------------------------------------------------------------------


class Ping(Request[int]):
    __slots__ = ()


PING = Ping()


class Responder(Actor[Ping]):
    async def receive(self, message: Ping) -> object:
        return 1


async def bare_ask_rate(count: int) -> float:
    queue: asyncio.Queue[tuple[Ping, asyncio.Future[int]]] = asyncio.Queue(CAPACITY)
    loop = asyncio.get_running_loop()

    async def serve() -> None:
        while True:
            _message, future = await queue.get()
            if not future.done():
                future.set_result(1)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(serve)
        with stopwatch() as elapsed:
            for _ in range(count):
                future: asyncio.Future[int] = loop.create_future()
                await queue.put((PING, future))
                await future
        tasks.cancel_scope.cancel()
    return rate(count, elapsed.seconds)


async def actor_ask_rate(ref: ActorRef[Ping], count: int) -> float:
    with stopwatch() as elapsed:
        for _ in range(count):
            await ref.ask(PING)
    return rate(count, elapsed.seconds)


async def ask_round_trip(settings: Settings) -> Figure:
    async with Supervisor(options=SupervisorOptions(name="ask")).running() as sup:
        ref = await sup.spawn("responder", Responder)
        ours, bare = await alternate(
            settings.repeats,
            lambda: bare_ask_rate(settings.asks),
            lambda: actor_ask_rate(ref, settings.asks),
        )
    spread("ask, actor", ours)
    spread("ask, bare queue + future", bare)
    return Figure("ask_round_trip", median(ours), "asks/s", median(bare), ratio_goal(0.6))


def pykka_available() -> bool:
    return importlib.util.find_spec("pykka") is not None


def pykka_ask_rates(count: int, repeats: int, actor_core: int | None = None) -> list[float]:
    """Rates of `repeats` runs of `count` blocking asks to one pykka thread actor, its thread
    kept on `actor_core` if given."""
    import pykka  # noqa: PLC0415  (an optional test extra: without it the figure is skipped)

    class Echo(pykka.ThreadingActor):
        def on_start(self) -> None:
            if actor_core is not None:
                os.sched_setaffinity(0, {actor_core})  # 0: the calling thread, the actor's

        def on_receive(self, message: object) -> object:
            return 1

    ref = Echo.start()
    rates: list[float] = []
    try:
        for _ in range(repeats):
            with stopwatch() as elapsed:
                for _ in range(count):
                    ref.ask(PING)
            rates.append(rate(count, elapsed.seconds))
    finally:
        ref.stop()
    return rates


@contextmanager
def pinned(core: int) -> Iterator[None]:
    """Keep the calling thread on `core` for the block."""
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


def pykka_rates_pinned(settings: Settings, *, same_core: bool) -> list[float]:
    """pykka's ask rates with the caller on the first core and its actor thread on the same
    core or on the last one."""
    cores = sorted(os.sched_getaffinity(0))
    caller = cores[0]
    with pinned(caller):
        return pykka_ask_rates(
            settings.pykka_asks, settings.repeats, caller if same_core else cores[-1]
        )


def ask_vs_pykka(ours: float, settings: Settings) -> list[Figure]:
    """Our asks/s against pykka's blocking ask, in both placements of its two threads.

    pykka's rate depends on where its threads run: on two cores each round trip pays two
    cross-core wake-ups (~12-18 k/s here: the regime of the issue's "~12 k/s", and the one a
    deployment with a free core sees); on one core, as when another process keeps the other
    core busy, it is ~3x faster. Left to the scheduler the figure flips between the two with
    the machine's load, so both are pinned and reported: the goal stands on the two-core
    regime it was written for; the one-core figure is shown without a goal (there even the
    bare queue + future is only ~3x pykka).
    """
    two = pykka_rates_pinned(settings, same_core=False)
    one = pykka_rates_pinned(settings, same_core=True)
    spread("ask, pykka on two cores", two)
    spread("ask, pykka on one core", one)
    return [
        Figure("ask_vs_pykka", ours, "asks/s", median(two), ratio_goal(5)),
        Figure("ask_vs_pykka_one_core", ours, "asks/s", median(one), None),
    ]


# -- crash to running again ----------------------------------------------------------------


class Crash:
    __slots__ = ()


class CrashTimes:
    """When the actor last raised, and when the supervisor last reported it RUNNING."""

    def __init__(self) -> None:
        self.crashed_at = 0.0
        self.running_at = 0.0
        self.running = anyio.Event()

    def expect_restart(self) -> None:
        self.running = anyio.Event()

    def on_change(self, change: ChildChange) -> None:
        if change.new is Lifecycle.RUNNING:
            self.running_at = time.perf_counter()
            self.running.set()


class Crasher(Actor[Crash]):
    def __init__(self, times: CrashTimes) -> None:
        self._times = times

    async def receive(self, message: Crash) -> object:
        self._times.crashed_at = time.perf_counter()
        raise RuntimeError("crash on purpose")


def crash_options(crashes: int) -> SupervisorOptions:
    """Every restart an immediate first one: forget earlier restarts at once, never escalate."""
    return SupervisorOptions(
        name="crash",
        intensity=Intensity(max_restarts=crashes + WARMUP_CRASHES + 1, within=3600.0),
        backoff=Backoff(reset_after=0.0),
    )


async def crash_samples(crashes: int) -> list[float]:
    """Milliseconds from each crash to RUNNING again, warm-up crashes left out."""
    times = CrashTimes()
    samples: list[float] = []
    supervisor = Supervisor(options=crash_options(crashes), on_change=times.on_change)
    async with supervisor.running() as sup:
        ref = await sup.spawn("crasher", lambda: Crasher(times))
        gc.collect()
        for _ in range(WARMUP_CRASHES + crashes):
            times.expect_restart()
            await ref.tell(Crash())
            await times.running.wait()
            samples.append((times.running_at - times.crashed_at) * 1000)
    return samples[WARMUP_CRASHES:]


async def crash_restart(settings: Settings) -> Figure:
    samples = await crash_samples(settings.crashes)
    progress(
        f"crash->running ms: median {percentile(samples, 50):.3f}, "
        f"p99 {percentile(samples, 99):.3f}, max {max(samples):.3f}"
    )
    return Figure("crash_restart_p99_ms", percentile(samples, 99), "ms", None, value_goal("<", 5))


# -- idle actors ---------------------------------------------------------------------------


def rss_mb() -> float:
    """This process's resident set size (VmRSS) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class ProbeCount:
    def __init__(self) -> None:
        self.probes = 0

    async def probe(self) -> None:
        self.probes += 1


class Idle(Actor[object]):
    """Does nothing but run its health loop, as an integration with no work would."""

    def __init__(self, count: ProbeCount) -> None:
        self._count = count

    async def on_start(self) -> None:
        loop = HealthLoop(self._count.probe, HealthOptions(interval=HEALTH_INTERVAL))
        self.context.start_soon(loop.run, name=f"{self.context.name}/health")

    async def receive(self, message: object) -> object:
        return None


async def idle_actors(settings: Settings) -> tuple[Figure, Figure]:
    count = ProbeCount()
    before = rss_mb()
    async with Supervisor(options=SupervisorOptions(name="idle")).running() as sup:
        for n in range(settings.idle_actors):
            await sup.spawn(f"idle-{n}", lambda: Idle(count))
        probes_before = count.probes
        wall, cpu = time.perf_counter(), time.process_time()
        await anyio.sleep(settings.idle_window)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        after = rss_mb()
        progress(f"idle: {count.probes - probes_before} probes in {wall:.1f} s")
    return (
        Figure("idle_actors_rss_mb", after, "MB", before, value_goal("<", 100)),
        Figure("idle_actors_cpu_percent", cpu / wall * 100, "%", None, value_goal("<", 2)),
    )


# -- running it all ------------------------------------------------------------------------


async def messaging(settings: Settings) -> tuple[Figure, Figure]:
    return await tell_throughput(settings), await ask_round_trip(settings)


def run(settings: Settings, report: Callable[[Figure], None]) -> None:
    """Measure every figure in turn, handing each to `report` as soon as it is known."""
    # Idle first: its RSS is the whole process's, least disturbed by what ran before it.
    progress(f"{settings.idle_actors} idle actors for {settings.idle_window:g} s")
    for figure in asyncio.run(idle_actors(settings)):
        report(figure)
    progress("tell and ask")
    tell, ask = asyncio.run(messaging(settings))
    report(tell)
    report(ask)
    if pykka_available():
        progress("pykka ask")
        for figure in ask_vs_pykka(ask.value, settings):
            report(figure)
    progress("crash and restart")
    report(asyncio.run(crash_restart(settings)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.runtime",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (< 30 s)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    run(QUICK if args.quick else FULL, emit)
    progress(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
