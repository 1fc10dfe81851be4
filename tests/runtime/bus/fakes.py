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
    OutboxEvent,
    Subscription,
    new_event,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def make_events(count: int, integration_id: str = "demo") -> list[CloudEvent]:
    return [
        new_event(integration_id, EventName.SYNC_COMPLETED, {"n": n}, now=T0) for n in range(count)
    ]


class MemoryOutbox:
    """An `OutboxSource` over a list: what the store will do with its `events` table (an
    event's `seq` is its place in the list, from 1)."""

    def __init__(self) -> None:
        self.events: list[CloudEvent] = []
        self.sent: dict[str, datetime] = {}
        self.mark_calls: list[list[str]] = []
        self.reads: list[int | None] = []  # the `after` of every `pending` call

    def write(self, *events: CloudEvent) -> None:
        self.events.extend(events)

    async def pending(self, limit: int, after: int | None = None) -> Sequence[OutboxEvent]:
        self.reads.append(after)
        if after is not None:  # what follows, marked or not
            return [OutboxEvent.of(e, seq) for seq, e in self._numbered(after)][:limit]
        unsent = [(seq, e) for seq, e in self._numbered(0) if e.id not in self.sent]
        return [OutboxEvent.of(e, seq) for seq, e in unsent[:limit]]

    def _numbered(self, after: int) -> list[tuple[int, CloudEvent]]:
        return list(enumerate(self.events, start=1))[after:]

    async def mark_sent(self, ids: Sequence[str], at: datetime) -> None:
        self.mark_calls.append(list(ids))
        for event_id in ids:
            self.sent[event_id] = at

    def all_sent(self) -> bool:
        return len(self.sent) == len(self.events)


class FlakyBus:
    """Wraps a bus; `fail_next` attempts raise `BusUnavailable`, `hold` blocks a publish. The
    relay publishes a model it builds from the stored event: tell events apart by `id`."""

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

    def __init__(self, bus: PipelinedFake, event: OutboxEvent) -> None:
        self.bus = bus
        self.event = event

    async def acked(self) -> None:
        if self.bus.hold_ack(self.event):
            await anyio.sleep_forever()
        if self.bus.fail_ack(self.event):
            raise BusUnavailable("scripted lost ack")
        await self.bus.inner.publish(self.event.cloud_event())

    def abandon(self) -> None:
        self.bus.abandoned.append(self.event.id)


class PipelinedFake(FlakyBus):
    """A `FlakyBus` that also pipelines (`send`), noting every send and abandoned ack; its
    `fail_send` and `fail_ack` script failures of either step, `hold_ack` an ack that never
    comes; `traceparents` notes what each send was to carry."""

    def __init__(self, inner: EventBus, *, now: Callable[[], float]) -> None:
        super().__init__(inner, now=now)
        self.sends: list[str] = []
        self.traceparents: list[str | None] = []
        self.abandoned: list[str] = []
        self.fail_send: Callable[[OutboxEvent], bool] = lambda _: False
        self.fail_ack: Callable[[OutboxEvent], bool] = lambda _: False
        self.hold_ack: Callable[[OutboxEvent], bool] = lambda _: False

    async def send(self, event: OutboxEvent, traceparent: str | None) -> FakeAck:
        self.sends.append(event.id)
        self.traceparents.append(traceparent)
        if self.fail_send(event):
            raise BusUnavailable("scripted send failure")
        return FakeAck(self, event)
