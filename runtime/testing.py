"""Test helpers shipped with the runtime: a virtual clock, and waiting on a condition.

`MockClock` keeps its own time. `advance()` moves it forward, firing due callbacks in order
and letting the woken tasks run before it moves on. `autojump()` does that by itself whenever
every task is blocked, like trio's `MockClock(autojump_threshold=0)`: a test that waits for a
30 s restart backoff takes microseconds.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from aiohttp import web

from runtime._clock import TimerHandle, fail_after

# How many scheduler passes a task may stay runnable before `wait_until_idle` gives up on
# it being blocked (a busy loop that never awaits would otherwise spin us for ever).
_IDLE_PASSES = 10_000


@dataclass(order=True)
class _Timer:
    deadline: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class MockClock:
    """A `Clock` whose time only moves when told to (or, with `autojump`, when all is idle)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._timers: list[_Timer] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def call_at(self, deadline: float, callback: Callable[[], None]) -> TimerHandle:
        if deadline <= self._now:
            # Due already: run on the loop's next turn, as the system clock would.
            return asyncio.get_running_loop().call_soon(callback)
        timer = _Timer(deadline, next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self._now:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        timer = self.call_at(deadline, event.set)  # type: TimerHandle
        try:
            await event.wait()
        finally:
            timer.cancel()

    def next_deadline(self) -> float | None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0].deadline if self._timers else None

    def _fire_due(self) -> int:
        fired = 0
        while (deadline := self.next_deadline()) is not None and deadline <= self._now:
            timer = heapq.heappop(self._timers)
            timer.callback()
            fired += 1
        return fired

    async def advance(self, seconds: float) -> None:
        """Move time forward by `seconds`, stopping at every deadline on the way."""
        target = self._now + seconds
        await wait_until_idle()
        while (deadline := self.next_deadline()) is not None and deadline <= target:
            self._now = max(self._now, deadline)
            self._fire_due()
            await wait_until_idle()
        self._now = target
        await wait_until_idle()

    async def _jump_forever(self, busy: Callable[[], bool]) -> None:
        while True:
            await wait_until_idle(jumper=True)
            deadline = self.next_deadline()
            if deadline is None or busy():
                # Nothing scheduled, or a worker thread is working for a task that only looks
                # blocked: let the loop run (the thread's result arrives through it).
                await asyncio.sleep(0.0002)
                continue
            self._now = max(self._now, deadline)
            self._fire_due()

    @asynccontextmanager
    async def autojump(self, busy: Callable[[], bool] = lambda: False) -> AsyncIterator[MockClock]:
        """Jump to the next deadline whenever every other task is blocked and `busy()` is
        false (pass one that sees work in threads, e.g. a SQLite store's worker)."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._jump_forever, busy)
            try:
                yield self
            finally:
                tg.cancel_scope.cancel()


_waiting_for_idle: set[asyncio.Task[object]] = set()


async def wait_until_idle(*, jumper: bool = False) -> None:
    """Return once every other task is blocked on something (or has finished).

    Tasks that are themselves waiting here count as idle, so `advance()` and
    `wait_for_virtual()` can wait side by side; but the autojump task (`jumper`) waits for
    them too, so time never moves under a waiter before it has looked around."""
    this = asyncio.current_task()
    assert this is not None
    _waiting_for_idle.add(this)
    try:
        # Waiters look past each other and past the jumper; the jumper looks past no one.
        await _until_blocked(ignore={this} if jumper else _waiting_for_idle)
    finally:
        _waiting_for_idle.discard(this)


async def _until_blocked(ignore: set[asyncio.Task[object]]) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(_IDLE_PASSES):
        await asyncio.sleep(0)
        # Callbacks due on the loop's next turn (a restart due now, a woken future) count
        # too, except the steps of the tasks we look past.
        busy = any(
            getattr(handle._callback, "__self__", None) not in ignore
            for handle in loop._ready  # type: ignore[attr-defined]  # asyncio's ready queue
        )
        for task in asyncio.all_tasks():
            if task in ignore:
                continue
            waiter = task._fut_waiter  # type: ignore[attr-defined]  # asyncio's own marker of a blocked task
            if waiter is None or waiter.done():
                busy = True
                break
        if not busy:
            return
    raise RuntimeError("tasks stayed runnable; is something spinning without awaiting?")


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]],
    *,
    timeout: float = 10.0,
    interval: float = 0.005,
    what: str = "condition",
) -> None:
    """Poll `condition` until it holds, failing with `TimeoutError` after `timeout` real seconds."""
    try:
        with anyio.fail_after(timeout):
            while True:
                result = condition()
                if not isinstance(result, bool):
                    result = await result
                if result:
                    return
                await anyio.sleep(interval)
    except TimeoutError:
        raise TimeoutError(f"{what} did not hold within {timeout} s") from None


async def wait_for_virtual(
    clock: MockClock,
    condition: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.01,
    what: str = "condition",
) -> None:
    """Wait until `condition` holds, at most `timeout` seconds of `clock`'s (virtual) time,
    looking every `interval` virtual seconds and whenever everything else is idle."""
    try:
        with fail_after(clock, timeout):
            while True:
                await wait_until_idle()
                if condition():
                    return
                await clock.sleep_until(clock.now() + interval)
    except TimeoutError:
        raise TimeoutError(f"{what} did not hold within {timeout} s of virtual time") from None


@asynccontextmanager
async def serving_locally(app: web.Application) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1 at a free port (fake upstreams in tests and benchmarks);
    yields the base URL and stops the server on the way out."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
