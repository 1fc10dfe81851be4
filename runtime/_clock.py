"""Time as the runtime sees it.

Every delay, deadline and timeout in `runtime/` goes through a `Clock`, so tests can run the
actor engine on virtual time (`runtime.testing.MockClock`) while production uses the event
loop's own monotonic clock (`SystemClock`). Both schedule callbacks with `call_at`; timeouts
are cancel scopes cancelled by such a callback, so a timeout costs no extra task.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

import anyio


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Monotonic time in seconds, sleeping, and callbacks at a deadline."""

    def now(self) -> float: ...

    async def sleep_until(self, deadline: float) -> None: ...

    def call_at(self, deadline: float, callback: Callable[[], None]) -> TimerHandle: ...


class SystemClock:
    """The running event loop's clock (`loop.time()`)."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep_until(self, deadline: float) -> None:
        await anyio.sleep_until(deadline)

    def call_at(self, deadline: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_at(deadline, callback)


SYSTEM_CLOCK = SystemClock()


async def sleep(clock: Clock, seconds: float) -> None:
    await clock.sleep_until(clock.now() + max(0.0, seconds))


@contextmanager
def move_on_after(clock: Clock, seconds: float | None) -> Iterator[anyio.CancelScope]:
    """A cancel scope cancelled by `clock` after `seconds` (None: never)."""
    with anyio.CancelScope() as scope:
        handle = None
        if seconds is not None and not math.isinf(seconds):
            handle = clock.call_at(clock.now() + max(0.0, seconds), scope.cancel)
        try:
            yield scope
        finally:
            if handle is not None:
                handle.cancel()


@contextmanager
def fail_after(clock: Clock, seconds: float | None) -> Iterator[anyio.CancelScope]:
    """Like `anyio.fail_after`, on `clock`: raises `TimeoutError` when the time runs out."""
    with move_on_after(clock, seconds) as scope:
        yield scope
    if scope.cancelled_caught:
        raise TimeoutError(f"timed out after {seconds} s")
