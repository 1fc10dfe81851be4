"""The store's `events` table as the outbox the relay reads (`runtime.bus.OutboxSource`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from runtime.bus import CloudEvent, OutboxEvent
from runtime.store import EventRow, Store


def outbox_event(row: EventRow) -> OutboxEvent:
    """The stored event as the relay publishes it. Not validated again: every row was built
    by `new_event` (or the store) and checked on the way in (this path runs per event)."""
    return OutboxEvent(row.seq, row.id, row.source, row.type, row.time, row.traceparent, row.data)


def cloud_event(row: EventRow) -> CloudEvent:
    """The stored event as a model, built the same way (not validated again)."""
    return outbox_event(row).cloud_event()


class StoreOutbox:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def pending(self, limit: int, after: int | None = None) -> Sequence[OutboxEvent]:
        """The oldest unsent events; with `after`, the events that follow that `seq` (the
        relay reads ahead so while the ones before are being marked: in one relay's outbox
        they are unsent, and one another relay sent meanwhile is only sent again). Their data
        stays the stored JSON text, which the relay publishes unparsed."""
        rows = await self._store.outbox_rows(limit, after)
        return [
            OutboxEvent(r.seq, r.id, r.source, r.type, r.time, r.traceparent, r.data_json)
            for r in rows
        ]

    async def mark_sent(self, ids: Sequence[str], at: datetime) -> None:
        await self._store.mark_events_sent(ids, at)
