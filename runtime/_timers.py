"""Timers owned by one actor incarnation: keyed, single or periodic, cancelled with it.

A timer is a callback on the clock that puts a message in the actor's own mailbox; no task
is spent on it, so a thousand idle actors with a periodic tick cost a thousand clock entries.
Starting a timer under a key that is in use replaces the old one (as in Akka's TimerScheduler).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from runtime._clock import Clock, TimerHandle


class Timers:
    def __init__(self, clock: Clock, deliver: Callable[[object], None]) -> None:
        self._clock = clock
        self._deliver = deliver
        self._handles: dict[Hashable, TimerHandle] = {}

    def start_single(self, key: Hashable, delay: float, message: object) -> None:
        """Deliver `message` once, `delay` seconds from now."""
        self.cancel(key)

        def fire() -> None:
            del self._handles[key]
            self._deliver(message)

        self._handles[key] = self._clock.call_at(self._clock.now() + delay, fire)

    def start_periodic(self, key: Hashable, interval: float, message: object) -> None:
        """Deliver `message` every `interval` seconds, the first one `interval` from now."""
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self.cancel(key)
        self._schedule_periodic(key, self._clock.now() + interval, interval, message)

    def _schedule_periodic(
        self, key: Hashable, deadline: float, interval: float, message: object
    ) -> None:
        def fire() -> None:
            # Ticks keep to the planned times (no drift); ticks missed while blocked are skipped.
            upcoming = deadline + interval
            now = self._clock.now()
            if upcoming <= now:
                upcoming = now + interval
            self._schedule_periodic(key, upcoming, interval, message)
            self._deliver(message)

        self._handles[key] = self._clock.call_at(deadline, fire)

    def cancel(self, key: Hashable) -> None:
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.cancel()

    def cancel_all(self) -> None:
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()

    def is_active(self, key: Hashable) -> bool:
        return key in self._handles

    def __len__(self) -> int:
        return len(self._handles)
