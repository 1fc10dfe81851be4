"""The relay overlapping the store's work with publishing while a backlog drains: the next
batch is read (after the current one's last `seq`) and the previous one marked while a batch
goes out; order, mark-after-ack and the marks on cancellation hold; spans and the trace
context each publish carries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import anyio
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan

from runtime.bus import EventName, InProcessBus, OutboxEvent, OutboxRelay, new_event
from runtime.telemetry import current_traceparent
from runtime.testing import MockClock, wait_for_virtual
from tests.runtime.bus.fakes import T0, MemoryOutbox, PipelinedFake, make_events
from tests.runtime.bus.test_relay import middle, running

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def as_traceparent(span: ReadableSpan) -> str:
    """What the W3C propagator writes for `span` (as `current_traceparent` would in it)."""
    assert span.context is not None
    with trace.use_span(NonRecordingSpan(span.context)):
        traceparent = current_traceparent()
    assert traceparent is not None
    return traceparent


def relay_over(
    outbox: MemoryOutbox, bus: PipelinedFake | InProcessBus, clock: MockClock, **options: object
) -> OutboxRelay:
    return OutboxRelay(outbox, bus, clock=clock, rng=middle, wall_clock=lambda: T0, **options)  # type: ignore[arg-type]  # keyword options of the test's choice


async def test_relay_reads_the_next_batch_after_a_full_one_and_marks_it_a_round_later(
    clock: MockClock,
) -> None:
    outbox, inner = MemoryOutbox(), InProcessBus()
    events = make_events(250)
    outbox.write(*events)
    bus = PipelinedFake(inner, now=clock.now)
    ids = [event.id for event in events]
    seen_at_ack: dict[str, set[str]] = {}

    def note_marks(event: OutboxEvent) -> bool:  # called as each ack is awaited
        seen_at_ack[event.id] = set(outbox.sent)
        return False

    bus.hold_ack = note_marks
    async with inner.subscribe() as subscription, clock.autojump():
        async with running(relay_over(outbox, bus, clock)):
            await wait_for_virtual(clock, outbox.all_sent, timeout=5)
        received = [await anext(subscription) for _ in events]
    assert received == events
    assert bus.sends == ids
    # Full batches are followed by reads after their last event; the last, partial one is not.
    assert outbox.reads == [None, 100, 200]
    assert outbox.mark_calls == [ids[:100], ids[100:200], ids[200:]]
    # Nothing was marked before its ack: the first batch while the second went out, not before.
    assert seen_at_ack[ids[99]] == set()
    assert seen_at_ack[ids[199]] <= set(ids[:100])
    assert set(ids[:100]) <= seen_at_ack[ids[249]]


async def test_relay_one_by_one_overlaps_the_same_way(clock: MockClock) -> None:
    outbox, bus = MemoryOutbox(), InProcessBus()
    events = make_events(7)
    outbox.write(*events)
    async with bus.subscribe() as subscription, clock.autojump():
        async with running(relay_over(outbox, bus, clock, batch_size=3)):
            await wait_for_virtual(clock, outbox.all_sent, timeout=5)
        received = [await anext(subscription) for _ in events]
    ids = [event.id for event in events]
    assert received == events
    assert outbox.reads == [None, 3, 6]
    assert outbox.mark_calls == [ids[:3], ids[3:6], ids[6:]]


async def test_relay_read_ahead_that_comes_back_empty_marks_then_waits(clock: MockClock) -> None:
    outbox, bus = MemoryOutbox(), InProcessBus()
    events = make_events(4)
    outbox.write(*events)
    relay = relay_over(outbox, bus, clock, batch_size=2)
    async with running(relay):
        await clock.advance(0)
        assert outbox.all_sent()
        assert outbox.reads == [None, 2, 4]  # the third read found nothing after the fourth
        later = make_events(1)
        outbox.write(*later)
        relay.notify()
        await clock.advance(0)
        assert outbox.all_sent()
        assert outbox.reads == [None, 2, 4, None]  # afresh, once every mark is stored
    assert [len(call) for call in outbox.mark_calls] == [2, 2, 1]


class SlowMarks(MemoryOutbox):
    """The first `mark_sent` never returns (until cancelled); later ones are instant."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[list[str]] = []

    async def mark_sent(self, ids: Sequence[str], at: datetime) -> None:
        if not self.blocked:
            self.blocked.append(list(ids))
            await anyio.sleep_forever()
        await super().mark_sent(ids, at)


async def test_relay_cancelled_marks_what_a_cancelled_mark_held_and_what_was_acked_since(
    clock: MockClock,
) -> None:
    outbox = SlowMarks()
    events = make_events(5)
    outbox.write(*events)
    bus = PipelinedFake(InProcessBus(), now=clock.now)
    bus.hold_ack = lambda event: event.id == events[3].id
    async with running(relay_over(outbox, bus, clock, batch_size=2)):
        await clock.advance(0)
        # Round 1 acked 1-2; round 2 marks them in the background (blocked) and acks 3 only.
        assert outbox.blocked == [[events[0].id, events[1].id]]
        assert not outbox.sent
    ids = [event.id for event in events]
    assert outbox.mark_calls == [ids[:3]]  # on the way out: the blocked mark's ids, then 3


async def test_relay_store_error_of_a_background_mark_propagates_as_itself(
    clock: MockClock,
) -> None:
    class BrokenMarks(MemoryOutbox):
        async def mark_sent(self, ids: Sequence[str], at: datetime) -> None:
            raise ConnectionError("database gone")

    outbox = BrokenMarks()
    outbox.write(*make_events(5))
    relay = relay_over(outbox, InProcessBus(), clock, batch_size=2)
    with pytest.raises(ConnectionError, match="database gone"):
        await relay.run()


async def test_relay_pipelined_publish_carries_its_span_and_the_span_is_complete(
    clock: MockClock,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    event = new_event("demo", EventName.SYNC_COMPLETED, {}, now=T0, traceparent=TRACEPARENT)
    outbox = MemoryOutbox()
    outbox.write(event, *make_events(1))
    bus = PipelinedFake(InProcessBus(), now=clock.now)
    relay = relay_over(outbox, bus, clock, tracer_provider=provider)
    async with clock.autojump(), running(relay):
        await wait_for_virtual(clock, outbox.all_sent, timeout=5)
    traced, untraced = exporter.get_finished_spans()
    provider.shutdown()
    assert traced.parent is not None
    assert format(traced.context.trace_id, "032x") == TRACEPARENT.split("-")[1]
    assert untraced.parent is None
    assert bus.traceparents == [as_traceparent(span) for span in (traced, untraced)]
    assert dict(traced.attributes or {}) == {
        "messaging.system": "in_process",
        "messaging.operation.name": "publish",
        "messaging.operation.type": "send",
        "messaging.destination.name": "hub.events.demo.sync_completed",
        "messaging.message.id": event.id,
        "cloudevents.event_id": event.id,
        "cloudevents.event_source": "/integrations/demo",
        "cloudevents.event_type": "hub.integration.sync_completed",
    }


async def test_relay_without_tracing_publishes_the_event_own_traceparent(
    clock: MockClock,
) -> None:
    event = new_event("demo", EventName.SYNC_COMPLETED, {}, now=T0, traceparent=TRACEPARENT)
    outbox = MemoryOutbox()
    outbox.write(event, *make_events(1))
    bus = PipelinedFake(InProcessBus(), now=clock.now)
    async with clock.autojump(), running(relay_over(outbox, bus, clock)):
        await wait_for_virtual(clock, outbox.all_sent, timeout=5)
    assert bus.traceparents == [TRACEPARENT, None]
