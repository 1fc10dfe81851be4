"""The health loop on virtual time: every wait is on a `MockClock`, never a real sleep."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TypedDict, Unpack

import anyio
import pytest

from runtime._breaker import BreakerOptions, BreakerState
from runtime._clock import sleep
from runtime._errors import describe
from runtime._health import HealthLoop, HealthOptions, HealthReport
from runtime.testing import MockClock

CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


class ScriptedProbe:
    """Plays `script` one step per call ("ok", "fail", "hang" or seconds to take), then `rest`."""

    def __init__(
        self, clock: MockClock, script: Iterable[str | float] = (), rest: str | float = "ok"
    ):
        self.clock = clock
        self.script = deque(script)
        self.rest = rest
        self.calls: list[float] = []

    async def __call__(self) -> None:
        self.calls.append(self.clock.now())
        step = self.script.popleft() if self.script else self.rest
        if step == "fail":
            raise ConnectionError("refused")
        if step == "hang":
            await anyio.sleep_forever()
        if isinstance(step, float):
            await sleep(self.clock, step)


class BreakerFields(TypedDict, total=False):
    failure_threshold: int
    success_threshold: int
    open_for: float
    open_for_max: float
    open_backoff: float


def options(
    interval: float = 10.0, timeout: float = 5.0, **breaker: Unpack[BreakerFields]
) -> HealthOptions:
    return HealthOptions(interval, timeout, BreakerOptions(**breaker))


@asynccontextmanager
async def running(loop: HealthLoop) -> AsyncIterator[None]:
    async with anyio.create_task_group() as tg:
        await tg.start(loop.run)
        yield
        tg.cancel_scope.cancel()


@pytest.fixture
def clock() -> MockClock:
    return MockClock()


async def test_run_probes_at_interval_from_start(clock: MockClock) -> None:
    probe = ScriptedProbe(clock)
    async with running(HealthLoop(probe, options(interval=30.0), clock=clock)):
        await clock.advance(95.0)
    assert probe.calls == [0.0, 30.0, 60.0, 90.0]


async def test_run_slow_probe_keeps_interval_cadence(clock: MockClock) -> None:
    probe = ScriptedProbe(clock, rest=2.5)
    loop = HealthLoop(probe, options(interval=10.0, timeout=5.0), clock=clock)
    async with running(loop):
        await clock.advance(35.0)
    assert probe.calls == [0.0, 10.0, 20.0, 30.0]
    assert loop.statistics().last_report == HealthReport(ok=True, latency=2.5, error=None)


async def test_run_hanging_probe_fails_after_exactly_timeout(clock: MockClock) -> None:
    loop = HealthLoop(ScriptedProbe(clock, ["hang"]), options(timeout=5.0), clock=clock)
    async with running(loop):
        await clock.advance(4.999)
        assert loop.statistics().probes_total == 0
        await clock.advance(0.001)
        stats = loop.statistics()
    assert stats.last_report == HealthReport(ok=False, latency=5.0, error="timed out after 5 s")
    assert (stats.probes_total, stats.failures_total) == (1, 1)
    assert stats.breaker.consecutive_failures == 1


async def test_run_probe_raising_counts_failure_and_keeps_running(clock: MockClock) -> None:
    probe = ScriptedProbe(clock, ["fail", "fail"])
    loop = HealthLoop(probe, options(interval=10.0), clock=clock)
    async with running(loop):
        await clock.advance(25.0)
    stats = loop.statistics()
    assert probe.calls == [0.0, 10.0, 20.0]
    assert (stats.probes_total, stats.failures_total) == (3, 2)
    assert stats.last_report == HealthReport(ok=True, latency=0.0)
    assert stats.last_probe_at == 20.0
    assert loop.state is CLOSED


async def test_run_failures_at_threshold_open_breaker(clock: MockClock) -> None:
    probe = ScriptedProbe(clock, rest="fail")
    loop = HealthLoop(probe, options(failure_threshold=3, open_for=100.0), clock=clock)
    async with running(loop):
        await clock.advance(19.0)
        assert loop.state is CLOSED
        await clock.advance(1.0)
        stats = loop.statistics().breaker
    assert (stats.state, stats.retry_at, stats.opened_total) == (OPEN, 120.0, 1)


async def test_run_while_open_sleeps_until_retry_at(clock: MockClock) -> None:
    probe = ScriptedProbe(clock, rest="fail")
    loop = HealthLoop(probe, options(failure_threshold=3, open_for=95.0), clock=clock)
    async with running(loop):
        await clock.advance(20.0)
        assert clock.next_deadline() == 115.0
        await clock.advance(94.999)
        assert probe.calls == [0.0, 10.0, 20.0]
        await clock.advance(0.001)
    assert probe.calls == [0.0, 10.0, 20.0, 115.0]


async def test_run_half_open_trial_success_closes_breaker(clock: MockClock) -> None:
    probe = ScriptedProbe(clock, ["fail"] * 3)
    loop = HealthLoop(probe, options(failure_threshold=3, open_for=100.0), clock=clock)
    async with clock.autojump(), running(loop):
        await sleep(clock, 125.0)
        assert loop.state is CLOSED
        await sleep(clock, 10.0)
    assert probe.calls == [0.0, 10.0, 20.0, 120.0, 130.0]
    assert loop.statistics().breaker.open_for == 100.0


async def test_run_half_open_trial_failure_reopens_for_longer(clock: MockClock) -> None:
    probe = ScriptedProbe(clock, rest="fail")
    loop = HealthLoop(
        probe,
        options(failure_threshold=1, open_for=10.0, open_backoff=3.0, open_for_max=50.0),
        clock=clock,
    )
    async with clock.autojump(), running(loop):
        await sleep(clock, 200.0)
    assert probe.calls == [0.0, 10.0, 40.0, 90.0, 140.0, 190.0]
    assert loop.statistics().breaker.open_for == 50.0


async def test_on_change_sync_hook_sees_state_sequence(clock: MockClock) -> None:
    seen: list[tuple[BreakerState, BreakerState]] = []
    probe = ScriptedProbe(clock, ["fail", "fail", "fail", "ok", "ok"])
    loop = HealthLoop(
        probe,
        options(failure_threshold=2, success_threshold=2, open_for=10.0),
        clock=clock,
        on_change=lambda old, new: seen.append((old, new)),
    )
    async with clock.autojump(), running(loop):
        await sleep(clock, 65.0)
    assert probe.calls == [0.0, 10.0, 20.0, 40.0, 50.0, 60.0]
    assert seen == [
        (CLOSED, OPEN),
        (OPEN, HALF_OPEN),
        (HALF_OPEN, OPEN),
        (OPEN, HALF_OPEN),
        (HALF_OPEN, CLOSED),
    ]


async def test_on_change_async_hook_awaited_in_order(clock: MockClock) -> None:
    seen: list[tuple[float, BreakerState, BreakerState]] = []

    async def hook(old: BreakerState, new: BreakerState) -> None:
        await sleep(clock, 1.0)
        seen.append((clock.now(), old, new))

    probe = ScriptedProbe(clock, ["fail"])
    loop = HealthLoop(
        probe, options(failure_threshold=1, open_for=10.0), clock=clock, on_change=hook
    )
    async with clock.autojump(), running(loop):
        await sleep(clock, 15.0)
    assert seen == [(1.0, CLOSED, OPEN), (11.0, OPEN, HALF_OPEN), (12.0, HALF_OPEN, CLOSED)]
    assert probe.calls == [0.0, 11.0]


async def test_probe_now_success_returns_report_with_latency(clock: MockClock) -> None:
    loop = HealthLoop(ScriptedProbe(clock, [1.5]), options(), clock=clock)
    async with clock.autojump():
        report = await loop.probe_now()
    assert report == HealthReport(ok=True, latency=1.5, error=None)
    assert loop.statistics().last_report == report
    assert loop.statistics().last_probe_at == 0.0


async def test_probe_now_failure_reports_class_and_message(clock: MockClock) -> None:
    loop = HealthLoop(ScriptedProbe(clock, ["fail"]), options(), clock=clock)
    report = await loop.probe_now()
    assert report == HealthReport(ok=False, latency=0.0, error="ConnectionError: refused")
    assert loop.statistics().breaker.consecutive_failures == 1


async def test_probe_now_hanging_probe_reports_timeout(clock: MockClock) -> None:
    loop = HealthLoop(ScriptedProbe(clock, ["hang"]), options(timeout=2.5), clock=clock)
    async with clock.autojump():
        report = await loop.probe_now()
    assert report == HealthReport(ok=False, latency=2.5, error="timed out after 2.5 s")


async def test_probe_now_probe_replacing_cancel_still_reports_timeout(clock: MockClock) -> None:
    async def probe() -> None:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            raise ConnectionError("aborted") from None

    loop = HealthLoop(probe, options(timeout=3.0), clock=clock)
    async with clock.autojump():
        report = await loop.probe_now()
    assert report.error == "timed out after 3 s"


async def test_probe_now_while_open_does_not_feed_breaker(clock: MockClock) -> None:
    probe = ScriptedProbe(clock, ["fail"])
    loop = HealthLoop(probe, options(failure_threshold=1, open_for=60.0), clock=clock)
    await loop.probe_now()
    before = loop.statistics().breaker
    report = await loop.probe_now()
    assert report.ok
    assert loop.statistics().breaker == before
    assert loop.statistics().probes_total == 2


def test_describe_uses_only_class_name_and_str() -> None:
    class LeakyError(Exception):
        def __str__(self) -> str:
            return "login failed"

    assert describe(LeakyError("login failed", "s3cret-token")) == "LeakyError: login failed"
    assert describe(TimeoutError()) == "TimeoutError"


async def test_run_cancelled_mid_probe_leaves_no_task(clock: MockClock) -> None:
    cancelled = anyio.Event()

    async def probe() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    loop = HealthLoop(probe, options(timeout=5.0), clock=clock)
    async with running(loop):
        await clock.advance(1.0)
    assert cancelled.is_set()
    assert asyncio.all_tasks() == {asyncio.current_task()}
    assert loop.statistics().probes_total == 0


async def test_run_cancelled_during_trial_frees_trial_for_next_run(clock: MockClock) -> None:
    probe = ScriptedProbe(clock, ["fail", "hang"])
    loop = HealthLoop(probe, options(failure_threshold=1, open_for=10.0), clock=clock)
    async with running(loop):
        await clock.advance(11.0)
        assert (loop.state, probe.calls) == (HALF_OPEN, [0.0, 10.0])
    async with running(loop):
        await clock.advance(1.0)
    assert probe.calls == [0.0, 10.0, 11.0]
    assert loop.state is CLOSED


async def test_run_twice_concurrently_raises(clock: MockClock) -> None:
    loop = HealthLoop(ScriptedProbe(clock), options(), clock=clock)
    async with running(loop):
        with pytest.raises(RuntimeError, match="already running"):
            await loop.run()


@pytest.mark.parametrize(
    ("field", "value"),
    [("interval", 0.0), ("interval", float("inf")), ("timeout", -1.0), ("breaker", None)],
)
def test_options_invalid_value_raises_naming_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"HealthOptions.{field}"):
        HealthOptions(**{field: value})  # type: ignore[arg-type]
