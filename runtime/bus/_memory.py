"""The in-process bus: the embedded default, when no NATS is configured.

Publishing fans the event out to every matching subscriber's buffer and returns at once; it
never waits for a subscriber (a slow one loses its oldest events, counted). Nothing is
durable here, and nothing needs to be: the outbox in the store is the durable copy, and the
relay marks an event sent once this bus has taken it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from runtime.bus._errors import BusClosed
from runtime.bus._event import CloudEvent, check_integration_id
from runtime.bus._subscription import DEFAULT_BUFFER_SIZE, BufferedSubscription


@dataclass(frozen=True, slots=True)
class InProcessBusStatistics:
    published: int
    subscribers: int
    dropped: int  # by the current subscribers, summed


class InProcessBus:
    def __init__(self, *, buffer_size: int = DEFAULT_BUFFER_SIZE) -> None:
        self._buffer_size = buffer_size
        self._subscribers: dict[BufferedSubscription, str | None] = {}
        self._published = 0
        self._closed = False

    @property
    def messaging_system(self) -> str:
        return "in_process"

    async def publish(self, event: CloudEvent) -> None:
        if self._closed:
            raise BusClosed
        self._published += 1
        for subscriber, integration_id in self._subscribers.items():
            if integration_id is None or integration_id == event.integration_id:
                subscriber.offer(event)

    @asynccontextmanager
    async def subscribe(
        self, integration_id: str | None = None
    ) -> AsyncIterator[BufferedSubscription]:
        if integration_id is not None:
            check_integration_id(integration_id)
        if self._closed:
            raise BusClosed
        subscriber = BufferedSubscription(self._buffer_size)
        self._subscribers[subscriber] = integration_id
        try:
            yield subscriber
        finally:
            del self._subscribers[subscriber]
            subscriber.close()

    async def close(self) -> None:
        self._closed = True
        for subscriber in self._subscribers:
            subscriber.close()

    def statistics(self) -> InProcessBusStatistics:
        return InProcessBusStatistics(
            published=self._published,
            subscribers=len(self._subscribers),
            dropped=sum(s.statistics().dropped for s in self._subscribers),
        )
