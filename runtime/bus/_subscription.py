"""A subscriber's buffer: the publisher never waits for a slow consumer.

Events are offered synchronously (from `publish`, or from the NATS client's callback); when the
buffer is full the oldest event makes room and is counted as dropped, the policy of a live feed
(a dashboard wants the newest, not a stalled producer). Ids seen recently are remembered so an
event published twice (a retry after a lost ack) reaches the consumer once.
"""

from __future__ import annotations

from collections import deque

import anyio

from runtime.bus._event import CloudEvent
from runtime.bus._interface import SubscriptionStatistics

DEFAULT_BUFFER_SIZE = 1000
_REMEMBERED_IDS = 1024


class BufferedSubscription:
    def __init__(self, capacity: int = DEFAULT_BUFFER_SIZE) -> None:
        if capacity < 1:
            raise ValueError(f"subscription buffer size must be at least 1, got {capacity}")
        self._capacity = capacity
        self._items: deque[CloudEvent] = deque()
        self._waiter: anyio.Event | None = None
        self._closed = False
        self._recent_ids: deque[str] = deque()
        self._recent_set: set[str] = set()
        self._delivered = 0
        self._dropped = 0
        self._duplicates = 0
        self._invalid = 0

    def offer(self, event: CloudEvent) -> None:
        if self._closed:
            return
        if event.id in self._recent_set:
            self._duplicates += 1
            return
        self._remember(event.id)
        if len(self._items) >= self._capacity:
            self._items.popleft()
            self._dropped += 1
        self._items.append(event)
        self._wake()

    def note_invalid(self) -> None:
        self._invalid += 1

    def close(self) -> None:
        """No more events; the consumer still gets what is buffered, then the iteration ends."""
        self._closed = True
        self._wake()

    def statistics(self) -> SubscriptionStatistics:
        return SubscriptionStatistics(
            delivered=self._delivered,
            buffered=len(self._items),
            capacity=self._capacity,
            dropped=self._dropped,
            duplicates=self._duplicates,
            invalid=self._invalid,
        )

    def __aiter__(self) -> BufferedSubscription:
        return self

    async def __anext__(self) -> CloudEvent:
        while not self._items:
            if self._closed:
                raise StopAsyncIteration
            if self._waiter is None:
                self._waiter = anyio.Event()
            await self._waiter.wait()
        self._delivered += 1
        return self._items.popleft()

    def _remember(self, event_id: str) -> None:
        self._recent_ids.append(event_id)
        self._recent_set.add(event_id)
        if len(self._recent_ids) > _REMEMBERED_IDS:
            self._recent_set.discard(self._recent_ids.popleft())

    def _wake(self) -> None:
        if self._waiter is not None:
            self._waiter.set()
            self._waiter = None
