"""Test doubles for the relay: an in-memory outbox and a bus that fails on cue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

import anyio

from runtime.bus import (
    BusUnavailable,
    CloudEvent,
    EventBus,
    EventName,
    Subscription,
    new_event,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def make_events(count: int, integration_id: str = "demo") -> list[CloudEvent]:
    return [
        new_event(integration_id, EventName.SYNC_COMPLETED, {"n": n}, now=T0) for n in range(count)
    ]


class MemoryOutbox:
    """An `OutboxSource` over a list: what the store will do with its `events` table."""

    def __init__(self) -> None:
        self.events: list[CloudEvent] = []
        self.sent: dict[str, datetime] = {}
        self.mark_calls: list[list[str]] = []

    def write(self, *events: CloudEvent) -> None:
        self.events.extend(events)

    async def pending(self, limit: int) -> Sequence[CloudEvent]:
        return [event for event in self.events if event.id not in self.sent][:limit]

    async def mark_sent(self, ids: Sequence[str], at: datetime) -> None:
        self.mark_calls.append(list(ids))
        for event_id in ids:
            self.sent[event_id] = at

    def all_sent(self) -> bool:
        return len(self.sent) == len(self.events)


class FlakyBus:
    """Wraps a bus; `fail_next` attempts raise `BusUnavailable`, `hold` blocks a publish."""

    def __init__(self, inner: EventBus, *, now: Callable[[], float]) -> None:
        self.inner = inner
        self.now = now
        self.fail_next = 0
        self.fail_when: Callable[[CloudEvent], bool] = lambda _: False
        self.hold: Callable[[CloudEvent], bool] = lambda _: False
        self.attempts: list[tuple[float, str]] = []

    @property
    def messaging_system(self) -> str:
        return self.inner.messaging_system

    async def publish(self, event: CloudEvent) -> None:
        self.attempts.append((self.now(), event.id))
        if self.hold(event):
            await anyio.sleep_forever()
        if self.fail_next > 0 or self.fail_when(event):
            self.fail_next = max(0, self.fail_next - 1)
            raise BusUnavailable("scripted outage")
        await self.inner.publish(event)

    def subscribe(
        self, integration_id: str | None = None
    ) -> AbstractAsyncContextManager[Subscription]:
        return self.inner.subscribe(integration_id)

    async def close(self) -> None:
        await self.inner.close()


class FakeAck:
    """The pending ack of one `PipelinedFake.send`: the event reaches the inner bus when its
    ack is awaited, unless the bus's `fail_ack` says this ack fails."""

    def __init__(self, bus: PipelinedFake, event: CloudEvent) -> None:
        self.bus = bus
        self.event = event

    async def acked(self) -> None:
        if self.bus.hold_ack(self.event):
            await anyio.sleep_forever()
        if self.bus.fail_ack(self.event):
            raise BusUnavailable("scripted lost ack")
        await self.bus.inner.publish(self.event)

    def abandon(self) -> None:
        self.bus.abandoned.append(self.event.id)


class PipelinedFake(FlakyBus):
    """A `FlakyBus` that also pipelines (`send`), noting every send and abandoned ack; its
    `fail_send` and `fail_ack` script failures of either step, `hold_ack` an ack that never
    comes."""

    def __init__(self, inner: EventBus, *, now: Callable[[], float]) -> None:
        super().__init__(inner, now=now)
        self.sends: list[str] = []
        self.abandoned: list[str] = []
        self.fail_send: Callable[[CloudEvent], bool] = lambda _: False
        self.fail_ack: Callable[[CloudEvent], bool] = lambda _: False
        self.hold_ack: Callable[[CloudEvent], bool] = lambda _: False

    async def send(self, event: CloudEvent) -> FakeAck:
        self.sends.append(event.id)
        if self.fail_send(event):
            raise BusUnavailable("scripted send failure")
        return FakeAck(self, event)
