"""What every event bus offers, so the relay, the API and tests do not care which one runs.

Two implementations: `InProcessBus` (the embedded default: one process, no broker) and
`NatsBus` (JetStream, durable). `publish` returns only once the bus has accepted the event for
good (for NATS: the JetStream ack); a subscription sees live events from the moment it starts,
through a bounded buffer that drops its oldest event rather than slow the publisher down.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from runtime.bus._event import CloudEvent


@dataclass(frozen=True, slots=True)
class SubscriptionStatistics:
    delivered: int  # handed to the consumer
    buffered: int  # waiting in the buffer
    capacity: int
    dropped: int  # oldest events dropped because the consumer fell behind
    duplicates: int  # seen again with the same id (a retried publish) and skipped
    invalid: int  # messages on the subject that were not valid hub events


class Subscription(Protocol):
    """An `AsyncIterator[CloudEvent]` of live events, in the order published; it ends when the
    bus closes."""

    def __aiter__(self) -> Subscription: ...

    async def __anext__(self) -> CloudEvent: ...

    def statistics(self) -> SubscriptionStatistics: ...


class EventBus(Protocol):
    @property
    def messaging_system(self) -> str:
        """The `messaging.system` trace attribute for this transport ("nats", "in_process")."""

    async def publish(self, event: CloudEvent) -> None:
        """Return once the bus has durably accepted `event`.

        Raises `BusUnavailable` when it cannot now (retry later with the same event: a
        duplicate is harmless) and `BusClosed` after `close()`."""

    def subscribe(
        self, integration_id: str | None = None
    ) -> AbstractAsyncContextManager[Subscription]:
        """Events published from now on, of one integration or (None) of all."""

    async def close(self) -> None:
        """End every subscription and release the connection; idempotent."""
