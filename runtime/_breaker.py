"""The circuit breaker, as a pure state machine.

The breaker decides and its caller acts: it never reads a clock or touches the event loop,
and every method that depends on time takes `now`. So its rules are tested without an event
loop, and one breaker serves the health loop on virtual time as well as on the real clock.

As in h11's `_state.py`, every state change goes through one table, `TRANSITIONS`; the counting
in `CircuitBreaker` only decides which event happened:

    CLOSED    --TRIP-->     OPEN        failure_threshold consecutive failures
    OPEN      --TRIAL-->    HALF_OPEN   the open period is over: allow() admits one trial
    HALF_OPEN --RECOVER-->  CLOSED      success_threshold successful trials in a row
    HALF_OPEN --TRIP-->     OPEN        a trial failed: the open period grows by open_backoff

Outcomes the breaker did not admit (reported while OPEN, or in HALF_OPEN with no trial out)
come from calls started before it opened; they are stale and ignored.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BreakerEvent(enum.StrEnum):
    TRIP = "trip"
    TRIAL = "trial"
    RECOVER = "recover"


TRANSITIONS: Mapping[tuple[BreakerState, BreakerEvent], BreakerState] = MappingProxyType(
    {
        (BreakerState.CLOSED, BreakerEvent.TRIP): BreakerState.OPEN,
        (BreakerState.OPEN, BreakerEvent.TRIAL): BreakerState.HALF_OPEN,
        (BreakerState.HALF_OPEN, BreakerEvent.RECOVER): BreakerState.CLOSED,
        (BreakerState.HALF_OPEN, BreakerEvent.TRIP): BreakerState.OPEN,
    }
)


class BreakerTransitionError(RuntimeError):
    """An event that `TRANSITIONS` does not allow in the current state."""

    def __init__(self, state: BreakerState, event: BreakerEvent) -> None:
        super().__init__(f"circuit breaker cannot {event.name} while {state.name}")
        self.state = state
        self.event = event


def next_state(state: BreakerState, event: BreakerEvent) -> BreakerState:
    """The state `event` leads to from `state`; `BreakerTransitionError` if none."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise BreakerTransitionError(state, event) from None


def _require_count(owner: str, name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}.{name} must be an integer >= 1, got {value!r}")


def _require_seconds(owner: str, name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{owner}.{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class BreakerOptions:
    failure_threshold: int = 3
    success_threshold: int = 1
    open_for: float = 5.0
    open_for_max: float = 300.0
    open_backoff: float = 2.0

    def __post_init__(self) -> None:
        _require_count("BreakerOptions", "failure_threshold", self.failure_threshold)
        _require_count("BreakerOptions", "success_threshold", self.success_threshold)
        _require_seconds("BreakerOptions", "open_for", self.open_for)
        _require_seconds("BreakerOptions", "open_for_max", self.open_for_max)
        if self.open_for_max < self.open_for:
            raise ValueError(
                f"BreakerOptions.open_for_max must be >= open_for ({self.open_for!r}), "
                f"got {self.open_for_max!r}"
            )
        if not (math.isfinite(self.open_backoff) and self.open_backoff >= 1.0):
            raise ValueError(
                f"BreakerOptions.open_backoff must be a finite number >= 1, "
                f"got {self.open_backoff!r}"
            )


@dataclass(frozen=True, slots=True)
class BreakerStatistics:
    state: BreakerState
    consecutive_failures: int
    consecutive_successes: int
    open_for: float
    opened_total: int
    retry_at: float | None


class CircuitBreaker:
    """Closed -> open -> half-open, with one trial at a time and growing open periods.

    `on_change(old, new)` is called after every state change, once the breaker is consistent
    (so it may read `statistics()`); an exception it raises reaches the caller of the method
    that caused the change.
    """

    def __init__(
        self,
        options: BreakerOptions = BreakerOptions(),
        *,
        on_change: Callable[[BreakerState, BreakerState], None] | None = None,
    ) -> None:
        self._options = options
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._consecutive_failures = 0
        self._consecutive_successes = 0
        self._open_for = self._options.open_for
        self._opened_total = 0
        self._retry_at: float | None = None
        self._trial_out = False

    @property
    def options(self) -> BreakerOptions:
        return self._options

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def retry_at(self) -> float | None:
        """When an OPEN breaker admits its next trial; None in any other state."""
        return self._retry_at

    def allow(self, now: float) -> bool:
        """Whether a call may go ahead now; in HALF_OPEN only one trial is out at a time."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN:
            if self._retry_at is not None and now < self._retry_at:
                return False
            self._move(BreakerEvent.TRIAL, now)
        if self._trial_out:
            return False
        self._trial_out = True
        return True

    def record_success(self, now: float) -> None:
        """An admitted call succeeded (`now` is taken for symmetry with `record_failure`)."""
        if not self._counts_outcome():
            return
        self._consecutive_failures = 0
        self._consecutive_successes += 1
        self._trial_out = False
        if (
            self._state is BreakerState.HALF_OPEN
            and self._consecutive_successes >= self._options.success_threshold
        ):
            self._move(BreakerEvent.RECOVER, now)

    def record_failure(self, now: float) -> None:
        """An admitted call failed at `now`."""
        if not self._counts_outcome():
            return
        self._consecutive_successes = 0
        self._consecutive_failures += 1
        if (
            self._state is BreakerState.HALF_OPEN
            or self._consecutive_failures >= self._options.failure_threshold
        ):
            self._move(BreakerEvent.TRIP, now)

    def record_cancelled(self) -> None:
        """An admitted call ended with no outcome; in HALF_OPEN the next trial may go."""
        self._trial_out = False

    def statistics(self) -> BreakerStatistics:
        return BreakerStatistics(
            state=self._state,
            consecutive_failures=self._consecutive_failures,
            consecutive_successes=self._consecutive_successes,
            open_for=self._open_for,
            opened_total=self._opened_total,
            retry_at=self._retry_at,
        )

    def _counts_outcome(self) -> bool:
        if self._state is BreakerState.HALF_OPEN:
            return self._trial_out
        return self._state is BreakerState.CLOSED

    def _move(self, event: BreakerEvent, now: float) -> None:
        old = self._state
        new = next_state(old, event)
        self._enter(old, new, now)
        self._state = new
        if self._on_change is not None:
            self._on_change(old, new)

    def _enter(self, old: BreakerState, new: BreakerState, now: float) -> None:
        self._trial_out = False
        self._retry_at = None
        if new is BreakerState.OPEN:
            if old is BreakerState.HALF_OPEN:
                grown = self._open_for * self._options.open_backoff
                self._open_for = min(grown, self._options.open_for_max)
            self._retry_at = now + self._open_for
            self._opened_total += 1
        elif new is BreakerState.HALF_OPEN:
            self._consecutive_successes = 0
        else:
            self._consecutive_failures = 0
            self._open_for = self._options.open_for
