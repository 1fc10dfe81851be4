"""Supervision as plain data and pure decisions: specs, options, backoff, intensity.

Nothing here touches a task or the clock; the `Supervisor` asks these functions what to do
and carries it out. Semantics follow Erlang/OTP (strategies, restart types, intensity) with
Akka's exponential restart backoff on top.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from runtime._lifecycle import Lifecycle


class Strategy(StrEnum):
    ONE_FOR_ONE = "one_for_one"  # restart the child that failed
    ONE_FOR_ALL = "one_for_all"  # restart every child
    REST_FOR_ONE = "rest_for_one"  # restart it and every child started after it


class Restart(StrEnum):
    PERMANENT = "permanent"  # always restarted
    TRANSIENT = "transient"  # restarted only after a crash
    TEMPORARY = "temporary"  # never restarted


class OnIntensity(StrEnum):
    ESCALATE = "escalate"  # stop every child and fail: the parent decides (OTP)
    PARK = "park"  # the root: park the failing child, try again after a cool-down


class Runnable(Protocol):
    """What a supervisor can run as a child: an actor cell or another supervisor."""

    async def run(self, started: Callable[[], None]) -> None:
        """Run one incarnation; call `started` once up. Return = normal exit; raise = crash."""

    def request_stop(self) -> None:
        """Ask the running incarnation to finish soon (it is cancelled if it does not)."""

    def lifecycle_changed(self, state: Lifecycle) -> None:
        """Told of every lifecycle move the supervisor makes for this child."""


@dataclass(frozen=True, slots=True)
class ChildSpec:
    id: str
    child: Runnable
    restart: Restart = Restart.PERMANENT
    shutdown_timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """Restart delays: the first immediate, then `initial` growing by `factor` to `cap`."""

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 0.2  # +/- this fraction of the delay, so restarts do not move in lockstep
    reset_after: float = 60.0  # running this long without a crash forgets earlier restarts
    immediate_first: bool = True

    def __post_init__(self) -> None:
        for name in ("initial", "cap", "reset_after"):
            if getattr(self, name) < 0:
                raise ValueError(f"backoff {name} must not be negative")
        if self.factor < 1:
            raise ValueError("backoff factor must be at least 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("backoff jitter must be in [0, 1)")

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before restart number `attempt` (0-based since the last reset)."""
        if self.immediate_first:
            if attempt == 0:
                return 0.0
            attempt -= 1
        base = min(self.cap, self.initial * self.factor**attempt)
        spread = base * self.jitter * (2 * rng() - 1)
        return max(0.0, min(self.cap, base + spread))


@dataclass(frozen=True, slots=True)
class Intensity:
    """At most `max_restarts` restarts within `within` seconds."""

    max_restarts: int = 5
    within: float = 30.0

    def __post_init__(self) -> None:
        if self.max_restarts < 0:
            raise ValueError("max_restarts must not be negative")
        if self.within <= 0:
            raise ValueError("within must be positive")


@dataclass(frozen=True, slots=True)
class SupervisorOptions:
    name: str = "supervisor"
    strategy: Strategy = Strategy.ONE_FOR_ONE
    intensity: Intensity = Intensity()
    backoff: Backoff = Backoff()
    on_intensity: OnIntensity = OnIntensity.ESCALATE
    park_cooldown: float = 30.0


@dataclass(slots=True)
class RestartHistory:
    """Restart times inside the intensity window (per supervisor, or per child at a root)."""

    times: deque[float] = field(default_factory=deque)

    def record(self, now: float, intensity: Intensity) -> bool:
        """Note a restart at `now`; True when that goes over the intensity."""
        self.times.append(now)
        while self.times and self.times[0] <= now - intensity.within:
            self.times.popleft()
        return len(self.times) > intensity.max_restarts

    def clear(self) -> None:
        self.times.clear()


def should_restart(restart: Restart, crashed: bool) -> bool:
    if restart is Restart.PERMANENT:
        return True
    return restart is Restart.TRANSIENT and crashed


def affected_children(strategy: Strategy, order: Sequence[str], failed: str) -> list[str]:
    """The children a failure of `failed` restarts, in start order."""
    if strategy is Strategy.ONE_FOR_ONE:
        return [failed]
    if strategy is Strategy.ONE_FOR_ALL:
        return list(order)
    return list(order[order.index(failed) :])


def next_attempt(attempt: int, ran_for: float, backoff: Backoff) -> int:
    """The backoff attempt number for this restart: reset after a long enough stable run."""
    return 0 if ran_for >= backoff.reset_after else attempt
