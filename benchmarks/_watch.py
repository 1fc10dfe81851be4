"""A store that tells the sync benchmark when an event's JetStream ack has been recorded.

It forwards every call to the real store; `finish_run` notes the id of each `sync_completed`
or `sync_failed` event it carries, and `mark_events_sent` (called by the outbox relay only
after the ack) sets the integration's `anyio.Event` and the time when that id is marked. The
relay publishes and marks in outbox order, so once a run's `sync_completed` is marked, every
event before it was acknowledged too.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import anyio

from runtime.bus import EventName
from runtime.store import EventIn, RunStatus, Store, SyncRun

ENDED_TYPES = {
    f"hub.integration.{name.value}" for name in (EventName.SYNC_COMPLETED, EventName.SYNC_FAILED)
}


class WatchedStore:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._ids: dict[str, str] = {}  # event id -> what it completes
        self._done: dict[str, anyio.Event] = {}
        self._marked_at: dict[str, float] = {}
        self.outcomes: dict[str, tuple[RunStatus, str | None]] = {}  # how each run ended
        self.finished_at: dict[str, float] = {}  # `time.perf_counter()` of each run's finish

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def expect(self, key: str, event_id: str | None = None) -> None:
        """Wait for `key`: an integration's next run's end (`sync_completed`
        or `sync_failed`), or the event `event_id`."""
        self._done[key] = anyio.Event()
        if event_id is not None:
            self._ids[event_id] = key

    async def marked(self, key: str, timeout: float = 300.0) -> float:
        """`time.perf_counter()` when what `key` waits for was marked sent."""
        with anyio.fail_after(timeout):
            await self._done[key].wait()
        del self._done[key]
        return self._marked_at.pop(key)

    async def finish_run(
        self,
        run_id: str,
        status: RunStatus,
        error: str | None = None,
        *,
        events: Sequence[EventIn] = (),
        **options: Any,
    ) -> SyncRun:
        for event in events:
            if event.type in ENDED_TYPES and event.integration_id in self._done:
                self._ids[event.id] = event.integration_id
                self.outcomes[event.integration_id] = (status, error)
        finished = await self._store.finish_run(run_id, status, error, events=events, **options)
        self.finished_at[finished.integration_id] = time.perf_counter()
        return finished

    async def mark_events_sent(self, ids: Sequence[str], at: datetime) -> int:
        marked = await self._store.mark_events_sent(ids, at)
        now = time.perf_counter()
        for event_id in ids:
            key = self._ids.pop(event_id, None)
            if key is not None:
                self._marked_at[key] = now
                self._done[key].set()
        return marked
