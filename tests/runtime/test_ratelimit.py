"""The rate limiter on virtual time: exact grant times, queue order, cancellation, pauses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio
import pytest
from anyio.abc import TaskGroup

from runtime._ratelimit import Priority, RateLimit, RateLimiter, RateLimiterStatistics
from runtime.testing import MockClock, wait_until_idle

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
BACKGROUND = Priority.BACKGROUND
INTERACTIVE = Priority.INTERACTIVE


@dataclass
class Harness:
    """A limiter on a `MockClock`, recording (label, virtual time) of every grant."""

    limiter: RateLimiter
    clock: MockClock
    grants: list[tuple[str, float]] = field(default_factory=list)

    async def acquire(
        self,
        label: str,
        cost: int = 1,
        priority: Priority = BACKGROUND,
        scope: anyio.CancelScope | None = None,
    ) -> None:
        with scope or anyio.CancelScope():
            await self.limiter.acquire(cost, priority=priority)
            self.grants.append((label, self.clock.now()))

    async def queue(
        self, tg: TaskGroup, label: str, priority: Priority = BACKGROUND, cost: int = 1
    ) -> anyio.CancelScope:
        """Start a waiter and return once it is queued, so arrival order is the call order."""
        scope = anyio.CancelScope()
        tg.start_soon(self.acquire, label, cost, priority, scope)
        await wait_until_idle()
        return scope

    def times(self) -> list[float]:
        return [at for _, at in self.grants]


def _harness(rate: float = 1.0, period: float = 1.0, burst: int = 1) -> Harness:
    clock = MockClock()
    limiter = RateLimiter(RateLimit(rate=rate, period=period, burst=burst), clock=clock)
    return Harness(limiter, clock)


async def test_acquire_burst_then_rate_exact_grant_times() -> None:
    h = _harness(rate=2, burst=3)
    async with h.clock.autojump():
        for n in range(7):
            await h.acquire(str(n))
    assert h.times() == [0.0, 0.0, 0.0, 0.5, 1.0, 1.5, 2.0]


async def test_acquire_period_and_cost_exact_grant_times() -> None:
    h = _harness(rate=4, period=2.0, burst=4)
    async with h.clock.autojump():
        await h.acquire("all", cost=4)
        await h.acquire("two", cost=2)
        await h.acquire("one")
    assert h.grants == [("all", 0.0), ("two", 1.0), ("one", 1.5)]


async def test_acquire_after_idle_refills_only_to_burst() -> None:
    h = _harness(rate=1, burst=2)
    await h.clock.advance(100.0)
    async with h.clock.autojump():
        for n in range(3):
            await h.acquire(str(n))
    assert h.times() == [100.0, 100.0, 101.0]


async def test_acquire_uncontended_does_not_wait() -> None:
    h = _harness(rate=1, burst=2)
    await h.limiter.acquire()
    await h.limiter.acquire(priority=INTERACTIVE)
    assert h.clock.now() == 0.0
    assert h.limiter.statistics().acquired_total == 2


async def test_acquire_uncontended_on_system_clock() -> None:
    limiter = RateLimiter(RateLimit(rate=1, burst=5))
    for _ in range(5):
        await limiter.acquire()
    assert not limiter.try_acquire()


async def test_acquire_already_cancelled_takes_nothing() -> None:
    h = _harness()
    with anyio.CancelScope() as scope:
        scope.cancel()
        await h.limiter.acquire()
    assert scope.cancelled_caught
    assert h.limiter.try_acquire()


async def test_acquire_waiters_served_fifo() -> None:
    h = _harness()
    assert h.limiter.try_acquire()
    async with anyio.create_task_group() as tg:
        for label in "abcd":
            await h.queue(tg, label)
        await h.clock.advance(4.0)
    assert h.grants == [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)]


async def test_acquire_interactive_served_before_background() -> None:
    h = _harness()
    assert h.limiter.try_acquire()
    async with anyio.create_task_group() as tg:
        await h.queue(tg, "bg1")
        await h.queue(tg, "bg2")
        await h.queue(tg, "ui1", INTERACTIVE)
        await h.queue(tg, "ui2", INTERACTIVE)
        await h.clock.advance(4.0)
    assert h.grants == [("ui1", 1.0), ("ui2", 2.0), ("bg1", 3.0), ("bg2", 4.0)]


async def test_acquire_interactive_overtakes_sleeping_background_head() -> None:
    h = _harness()
    assert h.limiter.try_acquire()
    async with anyio.create_task_group() as tg:
        await h.queue(tg, "bg")
        await h.clock.advance(0.75)
        await h.queue(tg, "ui", INTERACTIVE)
        await h.clock.advance(0.25)
        assert h.grants == [("ui", 1.0)]
        await h.clock.advance(1.0)
    assert h.grants == [("ui", 1.0), ("bg", 2.0)]


async def test_acquire_cancelled_head_leaves_cleanly() -> None:
    h = _harness()
    assert h.limiter.try_acquire()
    async with anyio.create_task_group() as tg:
        head = await h.queue(tg, "a")
        await h.queue(tg, "b")
        assert h.limiter.statistics().waiting_background == 2
        await h.clock.advance(0.5)
        head.cancel()
        await h.clock.advance(0.5)
        assert h.grants == [("b", 1.0)]
    stats = h.limiter.statistics()
    assert (stats.waiting_background, stats.acquired_total) == (0, 2)
    assert not h.limiter.try_acquire()
    await h.clock.advance(1.0)
    assert h.limiter.try_acquire()


async def test_acquire_cancelled_middle_waiter_leaves_cleanly() -> None:
    h = _harness()
    assert h.limiter.try_acquire()
    async with anyio.create_task_group() as tg:
        await h.queue(tg, "a")
        middle = await h.queue(tg, "b")
        await h.queue(tg, "c")
        middle.cancel()
        await wait_until_idle()
        assert h.limiter.statistics().waiting_background == 2
        await h.clock.advance(3.0)
    assert h.grants == [("a", 1.0), ("c", 2.0)]
    assert h.limiter.statistics().acquired_total == 3


@pytest.mark.parametrize(
    ("cancel_first", "expected"),
    [(True, [("b", 1.0)]), (False, [("a", 1.0), ("b", 2.0)])],
)
async def test_acquire_head_cancelled_at_its_turn_no_token_lost(
    cancel_first: bool, expected: list[tuple[str, float]]
) -> None:
    h = _harness()
    assert h.limiter.try_acquire()
    async with anyio.create_task_group() as tg:
        head = anyio.CancelScope()
        if cancel_first:
            h.clock.call_at(1.0, head.cancel)
        tg.start_soon(h.acquire, "a", 1, BACKGROUND, head)
        await wait_until_idle()
        await h.queue(tg, "b")
        if not cancel_first:
            h.clock.call_at(1.0, head.cancel)
        await h.clock.advance(2.0)
    assert h.grants == expected
    assert h.limiter.statistics().acquired_total == 1 + len(expected)


async def test_try_acquire_does_not_jump_queue() -> None:
    h = _harness(rate=1, burst=2)
    assert h.limiter.try_acquire(2)
    async with anyio.create_task_group() as tg:
        await h.queue(tg, "big", cost=2)
        await h.clock.advance(1.0)
        assert h.limiter.statistics().tokens == 1.0
        assert not h.limiter.try_acquire()
        await h.clock.advance(1.0)
    assert h.grants == [("big", 2.0)]
    assert not h.limiter.try_acquire()


async def test_acquire_does_not_jump_queue() -> None:
    h = _harness(rate=1, burst=2)
    assert h.limiter.try_acquire(2)
    async with anyio.create_task_group() as tg:
        await h.queue(tg, "big", cost=2)
        await h.clock.advance(1.0)
        await h.queue(tg, "small")
        await h.clock.advance(2.0)
    assert h.grants == [("big", 2.0), ("small", 3.0)]


async def test_pause_until_from_retry_after_delays_grants() -> None:
    h = _harness(rate=1, burst=2)
    assert h.limiter.apply_headers({"Retry-After": "30"}, NOW) == 30.0
    assert not h.limiter.try_acquire()
    async with h.clock.autojump():
        for n in range(3):
            await h.acquire(str(n))
    assert h.times() == [30.0, 30.0, 31.0]


async def test_pause_for_extends_sleeping_head() -> None:
    h = _harness()
    assert h.limiter.try_acquire()
    async with anyio.create_task_group() as tg:
        await h.queue(tg, "a")
        await h.clock.advance(0.5)
        h.limiter.pause_for(5.0)
        await h.clock.advance(4.5)
        assert h.grants == []
        await h.clock.advance(0.5)
    assert h.grants == [("a", 5.5)]


async def test_pause_until_only_extends() -> None:
    h = _harness()
    h.limiter.pause_until(30.0)
    h.limiter.pause_until(10.0)
    h.limiter.pause_for(5.0)
    exhausted = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2"}
    assert h.limiter.apply_headers(exhausted, NOW) == 2.0
    stats = h.limiter.statistics()
    assert (stats.paused_until, stats.paused_total) == (30.0, 1)
    h.limiter.pause_until(40.0)
    await h.clock.advance(39.0)
    assert not h.limiter.try_acquire()
    await h.clock.advance(1.0)
    assert h.limiter.try_acquire()
    assert h.limiter.statistics().paused_total == 2


async def test_pause_until_in_past_is_ignored() -> None:
    h = _harness()
    await h.clock.advance(10.0)
    h.limiter.pause_until(5.0)
    h.limiter.pause_for(0.0)
    assert h.limiter.statistics().paused_total == 0
    assert h.limiter.try_acquire()


@pytest.mark.parametrize("deadline", [math.inf, math.nan])
def test_pause_until_non_finite_raises(deadline: float) -> None:
    with pytest.raises(ValueError, match="deadline"):
        _harness().limiter.pause_until(deadline)


@pytest.mark.parametrize("seconds", [-1.0, math.inf, math.nan])
def test_pause_for_bad_seconds_raises(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds"):
        _harness().limiter.pause_for(seconds)


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "60"}, {"Retry-After": "soon"}],
)
def test_apply_headers_without_pause_returns_none(headers: dict[str, str]) -> None:
    h = _harness()
    assert h.limiter.apply_headers(headers, NOW) is None
    assert h.limiter.statistics().paused_total == 0


def test_apply_headers_exhausted_quota_pauses_until_reset() -> None:
    h = _harness()
    headers = {"RateLimit": '"default";r=0;t=12', "RateLimit-Policy": '"default";q=100;w=60'}
    assert h.limiter.apply_headers(headers, NOW) == 12.0
    assert h.limiter.statistics().paused_until == 12.0


async def test_statistics_values() -> None:
    h = _harness(rate=2, burst=4)
    assert h.limiter.statistics() == RateLimiterStatistics(
        tokens=4.0,
        waiting_interactive=0,
        waiting_background=0,
        paused_until=None,
        acquired_total=0,
        paused_total=0,
    )
    assert h.limiter.try_acquire(3)
    await h.clock.advance(0.25)
    assert h.limiter.statistics().tokens == 1.5
    async with anyio.create_task_group() as tg:
        await h.queue(tg, "bg", cost=4)
        await h.queue(tg, "ui", INTERACTIVE, cost=3)
        h.limiter.pause_for(1.0)
        assert h.limiter.statistics() == RateLimiterStatistics(
            tokens=0.0,
            waiting_interactive=1,
            waiting_background=1,
            paused_until=1.25,
            acquired_total=3,
            paused_total=1,
        )
        await h.clock.advance(10.0)
    assert h.grants == [("ui", 1.25), ("bg", 3.0)]
    stats = h.limiter.statistics()
    assert (stats.tokens, stats.paused_until, stats.acquired_total) == (4.0, None, 10)


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"rate": 0}, "rate"),
        ({"rate": -1.0}, "rate"),
        ({"rate": math.nan}, "rate"),
        ({"rate": math.inf}, "rate"),
        ({"rate": "5"}, "rate"),
        ({"rate": 1, "period": 0}, "period"),
        ({"rate": 1, "period": -2.5}, "period"),
        ({"rate": 1, "burst": 0}, "burst"),
        ({"rate": 1, "burst": 1.5}, "burst"),
        ({"rate": 1, "burst": True}, "burst"),
    ],
)
def test_rate_limit_bad_options_raise_naming_field(options: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=rf"RateLimit\.{name}"):
        RateLimit(**options)  # type: ignore[arg-type]  # deliberately wrong values


def test_rate_limit_interval_is_period_over_rate() -> None:
    assert RateLimit(rate=4, period=2.0).interval == 0.5


@pytest.mark.parametrize("cost", [0, -1, 3])
async def test_acquire_bad_cost_raises(cost: int) -> None:
    limiter = _harness(burst=2).limiter
    with pytest.raises(ValueError, match="cost"):
        await limiter.acquire(cost)
    with pytest.raises(ValueError, match="cost"):
        limiter.try_acquire(cost)
