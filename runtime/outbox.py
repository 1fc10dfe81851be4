"""The store's `events` table as the outbox the relay reads (`runtime.bus.OutboxSource`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from runtime.bus import CloudEvent
from runtime.store import EventRow, Store


def cloud_event(row: EventRow) -> CloudEvent:
    """The stored event as the relay publishes it. Not validated again: every row was built
    by `new_event` and checked by the store on the way in (this path runs per event)."""
    return CloudEvent.model_construct(
        id=row.id,
        source=row.source,
        type=row.type,
        time=row.time,
        traceparent=row.traceparent,
        data=dict(row.data),
    )


class StoreOutbox:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def pending(self, limit: int) -> Sequence[CloudEvent]:
        return [cloud_event(row) for row in await self._store.pending_events(limit)]

    async def mark_sent(self, ids: Sequence[str], at: datetime) -> None:
        await self._store.mark_events_sent(ids, at)
