"""The health loop: probe an integration on an interval and feed a circuit breaker.

One loop is one task that sleeps on its `Clock` between probes, and the probe's timeout is a
cancel scope cancelled by a clock callback, so a thousand idle loops cost a thousand timers
and nothing else. While the breaker is open the loop sleeps until `retry_at` instead of
probing. The probe's own errors are outcomes (failures), never exceptions of the loop; the
loop's cancellation always propagates, as in anyio.

`on_change(old, new)` sees every breaker state change in order; it may be a plain function or
a coroutine function (awaited before the loop goes on). Its exceptions are not swallowed.
"""

from __future__ import annotations

import inspect
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskStatus

from runtime._breaker import BreakerOptions, BreakerState, BreakerStatistics, CircuitBreaker
from runtime._clock import SYSTEM_CLOCK, Clock, move_on_after
from runtime._errors import describe

Probe = Callable[[], Awaitable[object]]
StateChangeHook = Callable[[BreakerState, BreakerState], Awaitable[None] | None]


@dataclass(frozen=True, slots=True)
class HealthOptions:
    interval: float = 30.0
    timeout: float = 10.0
    breaker: BreakerOptions = field(default_factory=BreakerOptions)

    def __post_init__(self) -> None:
        for name in ("interval", "timeout"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"HealthOptions.{name} must be a finite number > 0, got {value!r}")
        if not isinstance(self.breaker, BreakerOptions):
            raise ValueError(f"HealthOptions.breaker must be BreakerOptions, got {self.breaker!r}")


@dataclass(frozen=True, slots=True)
class HealthReport:
    """One probe's outcome; `error` is the exception's class name and message, or a timeout."""

    ok: bool
    latency: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class HealthStatistics:
    breaker: BreakerStatistics
    probes_total: int
    failures_total: int
    last_report: HealthReport | None
    last_probe_at: float | None


class HealthLoop:
    """Runs `probe` every `options.interval` seconds and keeps a `CircuitBreaker` up to date."""

    def __init__(
        self,
        probe: Probe,
        options: HealthOptions = HealthOptions(),
        *,
        clock: Clock = SYSTEM_CLOCK,
        on_change: StateChangeHook | None = None,
    ) -> None:
        self._probe = probe
        self._options = options
        self._clock = clock
        self._on_change = on_change
        self._changes: deque[tuple[BreakerState, BreakerState]] = deque()
        self._delivering = False
        self._breaker = CircuitBreaker(
            options.breaker, on_change=None if on_change is None else self._queue_change
        )
        self._running = False
        self._probes_total = 0
        self._failures_total = 0
        self._last_report: HealthReport | None = None
        self._last_probe_at: float | None = None

    @property
    def options(self) -> HealthOptions:
        return self._options

    @property
    def state(self) -> BreakerState:
        return self._breaker.state

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Probe until cancelled: the first probe right away, then on the interval."""
        if self._running:
            raise RuntimeError("this health loop is already running")
        self._running = True
        try:
            task_status.started()
            while True:
                started = self._clock.now()
                if self._breaker.allow(started):
                    await self._probe_admitted()
                await self._clock.sleep_until(self._next_wake(started))
        finally:
            self._running = False

    async def probe_now(self) -> HealthReport:
        """Probe once, now; the breaker counts it only if it would admit a call now."""
        if self._breaker.allow(self._clock.now()):
            return await self._probe_admitted()
        report, started = await self._measure()
        self._note(report, started)
        return report

    def statistics(self) -> HealthStatistics:
        return HealthStatistics(
            breaker=self._breaker.statistics(),
            probes_total=self._probes_total,
            failures_total=self._failures_total,
            last_report=self._last_report,
            last_probe_at=self._last_probe_at,
        )

    def _next_wake(self, started: float) -> float:
        retry_at = self._breaker.retry_at
        if self._breaker.state is BreakerState.OPEN and retry_at is not None:
            return retry_at
        return started + self._options.interval

    async def _probe_admitted(self) -> HealthReport:
        try:
            await self._deliver_changes()
            report, started = await self._measure()
        except BaseException:
            self._breaker.record_cancelled()
            raise
        self._note(report, started)
        if report.ok:
            self._breaker.record_success(self._clock.now())
        else:
            self._breaker.record_failure(self._clock.now())
        await self._deliver_changes()
        return report

    async def _measure(self) -> tuple[HealthReport, float]:
        started = self._clock.now()
        error: str | None = None
        with move_on_after(self._clock, self._options.timeout) as scope:
            try:
                await self._probe()
            except Exception as exc:
                error = describe(exc)
        if scope.cancel_called:
            error = f"timed out after {self._options.timeout:g} s"
        latency = self._clock.now() - started
        return HealthReport(ok=error is None, latency=latency, error=error), started

    def _note(self, report: HealthReport, started: float) -> None:
        self._probes_total += 1
        if not report.ok:
            self._failures_total += 1
        self._last_report = report
        self._last_probe_at = started

    def _queue_change(self, old: BreakerState, new: BreakerState) -> None:
        self._changes.append((old, new))

    async def _deliver_changes(self) -> None:
        if self._on_change is None or self._delivering:
            return
        self._delivering = True
        try:
            while self._changes:
                result = self._on_change(*self._changes.popleft())
                if inspect.isawaitable(result):
                    await result
        finally:
            self._delivering = False
