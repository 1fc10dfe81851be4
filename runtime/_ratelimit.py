"""The per-integration rate limiter: GCRA with burst, priorities, and server-ordered pauses.

GCRA keeps one number, the theoretical arrival time (TAT), instead of a refilling bucket, so
checking and spending tokens is arithmetic without a timer. Callers that must wait queue up
(interactive ahead of background, FIFO within each); only the head of the queue sleeps on the
clock, until the moment its cost conforms, and on leaving (granted or cancelled) it wakes the
next. Tokens are spent in the same synchronous step that grants them, so cancellation can never
lose or double-spend one. A server's `Retry-After` / `RateLimit-Reset` pauses every grant.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import anyio
import anyio.lowlevel

from runtime._clock import SYSTEM_CLOCK, Clock, TimerHandle
from runtime._ratelimit_headers import parse_rate_limit_headers, rate_limit_pause


class Priority(enum.Enum):
    """Interactive calls (a user pressed "Test connection") go before background syncs."""

    INTERACTIVE = "interactive"
    BACKGROUND = "background"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """`rate` requests per `period` seconds, up to `burst` at once."""

    rate: float
    period: float = 1.0
    burst: int = 1

    def __post_init__(self) -> None:
        for name in ("rate", "period"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"RateLimit.{name} must be a positive number, got {value!r}")
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            raise ValueError(f"RateLimit.burst must be a positive integer, got {self.burst!r}")

    @property
    def interval(self) -> float:
        """Seconds one token takes to come back (GCRA's emission interval)."""
        return self.period / self.rate


@dataclass(frozen=True, slots=True)
class RateLimiterStatistics:
    """A limiter's state: `tokens` usable now (0 while paused); `acquired_total` in tokens."""

    tokens: float
    waiting_interactive: int
    waiting_background: int
    paused_until: float | None
    acquired_total: int
    paused_total: int


@dataclass(eq=False, slots=True)
class _Waiter:
    cost: int
    wake: anyio.Event = field(default_factory=anyio.Event)


class RateLimiter:
    """Grants requests at a `RateLimit`'s pace, in priority then arrival order."""

    def __init__(self, options: RateLimit, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._options = options
        self._clock = clock
        self._interval = options.interval
        self._tat = -math.inf
        self._paused_until = -math.inf
        self._interactive: deque[_Waiter] = deque()
        self._background: deque[_Waiter] = deque()
        self._acquired_total = 0
        self._paused_total = 0

    @property
    def options(self) -> RateLimit:
        return self._options

    async def acquire(self, cost: int = 1, *, priority: Priority = Priority.BACKGROUND) -> None:
        """Wait until `cost` tokens may be spent, then spend them."""
        self._check_cost(cost)
        await anyio.lowlevel.checkpoint()
        if self._head() is None and self._take_if_ready(cost):
            return
        waiter = _Waiter(cost)
        queue = self._queue(priority)
        queue.append(waiter)
        try:
            await self._wait_turn(waiter)
        finally:
            self._leave(waiter, queue)

    def try_acquire(self, cost: int = 1) -> bool:
        """Spend `cost` tokens if that needs no waiting and nobody is queued ahead."""
        self._check_cost(cost)
        return self._head() is None and self._take_if_ready(cost)

    def pause_until(self, deadline: float) -> None:
        """Grant nothing before `deadline` (clock time); an earlier pause is only ever extended."""
        if not math.isfinite(deadline):
            raise ValueError(f"pause deadline must be a finite clock time, got {deadline!r}")
        if deadline > max(self._paused_until, self._clock.now()):
            self._paused_until = deadline
            self._paused_total += 1

    def pause_for(self, seconds: float) -> None:
        """Grant nothing for the next `seconds`; an earlier, longer pause stays."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"pause seconds must be a finite number >= 0, got {seconds!r}")
        self.pause_until(self._clock.now() + seconds)

    def apply_headers(self, headers: Mapping[str, str], now: datetime) -> float | None:
        """Pause as a response's rate-limit headers ask; returns the seconds asked, or None."""
        info = parse_rate_limit_headers(headers, now)
        seconds = None if info is None else rate_limit_pause(info)
        if seconds is not None:
            self.pause_for(seconds)
        return seconds

    def statistics(self) -> RateLimiterStatistics:
        now = self._clock.now()
        paused = self._paused_until > now
        return RateLimiterStatistics(
            tokens=0.0 if paused else self._tokens(now),
            waiting_interactive=len(self._interactive),
            waiting_background=len(self._background),
            paused_until=self._paused_until if paused else None,
            acquired_total=self._acquired_total,
            paused_total=self._paused_total,
        )

    async def _wait_turn(self, waiter: _Waiter) -> None:
        """Sleep until `waiter` heads the queue and its cost conforms; then spend it."""
        while True:
            timer: TimerHandle | None = None
            if self._head() is waiter:
                ready_at = self._ready_at(waiter.cost)
                if self._take_if_ready(waiter.cost):
                    return
                timer = self._clock.call_at(ready_at, waiter.wake.set)
            try:
                await waiter.wake.wait()
            finally:
                if timer is not None:
                    timer.cancel()
            waiter.wake = anyio.Event()

    def _leave(self, waiter: _Waiter, queue: deque[_Waiter]) -> None:
        was_head = self._head() is waiter
        if queue[0] is waiter:
            queue.popleft()
        else:
            queue.remove(waiter)
        if was_head and (head := self._head()) is not None:
            head.wake.set()

    def _head(self) -> _Waiter | None:
        if self._interactive:
            return self._interactive[0]
        if self._background:
            return self._background[0]
        return None

    def _queue(self, priority: Priority) -> deque[_Waiter]:
        return self._interactive if priority is Priority.INTERACTIVE else self._background

    def _ready_at(self, cost: int) -> float:
        """The earliest clock time at which `cost` tokens conform (GCRA), pauses included."""
        conforms_at = self._tat + (cost - self._options.burst) * self._interval
        return max(conforms_at, self._paused_until)

    def _take_if_ready(self, cost: int) -> bool:
        now = self._clock.now()
        if self._ready_at(cost) > now:
            return False
        self._tat = max(self._tat, now) + cost * self._interval
        self._acquired_total += cost
        return True

    def _tokens(self, now: float) -> float:
        return self._options.burst - max(0.0, self._tat - now) / self._interval

    def _check_cost(self, cost: int) -> None:
        if isinstance(cost, bool) or not isinstance(cost, int) or cost < 1:
            raise ValueError(f"cost must be a positive integer, got {cost!r}")
        if cost > self._options.burst:
            raise ValueError(f"cost {cost} exceeds burst {self._options.burst}: it could never run")
