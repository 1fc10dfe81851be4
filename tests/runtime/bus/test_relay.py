"""The outbox relay on virtual time, with an in-memory outbox and the in-process bus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import pairwise

import anyio
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from runtime.bus import (
    DEFAULT_RELAY_BACKOFF,
    BusClosed,
    CloudEvent,
    EventName,
    InProcessBus,
    OutboxRelay,
    RelayState,
    RelayStatistics,
    new_event,
)
from runtime.telemetry import current_traceparent
from runtime.testing import MockClock, wait_for_virtual, wait_until_idle
from tests.runtime.bus.fakes import T0, FlakyBus, MemoryOutbox, make_events


@asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[None]:
    async with anyio.create_task_group() as tg:
        tg.start_soon(relay.run)
        yield
        tg.cancel_scope.cancel()


def middle(_: float = 0.0) -> float:
    """An rng that puts every jittered delay at its base value."""
    return 0.5


def relay_for(
    outbox: MemoryOutbox, bus: FlakyBus | InProcessBus, clock: MockClock, **options: object
) -> OutboxRelay:
    return OutboxRelay(outbox, bus, clock=clock, rng=middle, wall_clock=lambda: T0, **options)  # type: ignore[arg-type]  # keyword options of the test's choice


async def test_relay_publishes_in_order_and_marks_after_ack(clock: MockClock) -> None:
    outbox, bus = MemoryOutbox(), InProcessBus()
    events = make_events(5)
    outbox.write(*events)
    async with bus.subscribe() as subscription, clock.autojump():
        async with running(relay_for(outbox, bus, clock)):
            await wait_for_virtual(clock, outbox.all_sent, timeout=5)
        received = [await anext(subscription) for _ in events]
    assert received == events
    assert outbox.mark_calls == [[event.id for event in events]]
    assert set(outbox.sent.values()) == {T0}


async def test_relay_marks_in_batches_of_batch_size(clock: MockClock) -> None:
    outbox, bus = MemoryOutbox(), InProcessBus()
    outbox.write(*make_events(250))
    async with clock.autojump(), running(relay_for(outbox, bus, clock, batch_size=100)):
        await wait_for_virtual(clock, outbox.all_sent, timeout=5)
    assert [len(call) for call in outbox.mark_calls] == [100, 100, 50]
    assert bus.statistics().published == 250


async def test_relay_backoff_grows_exactly_then_caps(clock: MockClock) -> None:
    outbox = MemoryOutbox()
    outbox.write(*make_events(1))
    bus = FlakyBus(InProcessBus(), now=clock.now)
    bus.fail_next = 7
    async with clock.autojump(), running(relay_for(outbox, bus, clock)):
        await wait_for_virtual(clock, outbox.all_sent, timeout=60)
    gaps = [later - earlier for (earlier, _), (later, _) in pairwise(bus.attempts)]
    assert gaps == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0])


@pytest.mark.parametrize(("rng", "first"), [(0.0, 0.16), (1.0, 0.24)])
def test_relay_backoff_jitter_is_twenty_percent_either_way(rng: float, first: float) -> None:
    assert DEFAULT_RELAY_BACKOFF.delay(0, lambda: rng) == pytest.approx(first)
    assert DEFAULT_RELAY_BACKOFF.delay(10, lambda: rng) <= 5.0


async def test_relay_statistics_show_backing_off_while_bus_unavailable(clock: MockClock) -> None:
    outbox = MemoryOutbox()
    outbox.write(*make_events(3))
    bus = FlakyBus(InProcessBus(), now=clock.now)
    bus.fail_next = 3
    relay = relay_for(outbox, bus, clock)
    assert relay.statistics().state is RelayState.STOPPED
    async with running(relay):
        await clock.advance(0.3)
        assert relay.statistics() == RelayStatistics(
            state=RelayState.BACKING_OFF,
            published=0,
            failures=2,
            last_error="BusUnavailable: scripted outage",
            backlog_hint=3,
        )
        await clock.advance(1.2)  # the fourth attempt, at 1.4 s, gets through
        assert relay.statistics().state is RelayState.RUNNING
        assert relay.statistics().published == 3
        assert relay.statistics().backlog_hint == 0
    assert relay.statistics().state is RelayState.STOPPED


async def test_relay_outage_keeps_order_and_marks_acked_before_waiting(clock: MockClock) -> None:
    outbox, inner = MemoryOutbox(), InProcessBus()
    events = make_events(4)
    outbox.write(*events)
    bus = FlakyBus(inner, now=clock.now)
    failures = iter([True, True])
    bus.fail_when = lambda event: event.id == events[2].id and next(failures, False)
    async with inner.subscribe() as subscription, clock.autojump():
        async with running(relay_for(outbox, bus, clock)):
            await wait_for_virtual(clock, outbox.all_sent, timeout=10)
        received = [await anext(subscription) for _ in events]
    assert received == events
    ids = [event.id for event in events]
    assert outbox.mark_calls == [ids[:2], ids[2:]]
    assert [event_id for _, event_id in bus.attempts] == [ids[0], ids[1], ids[2], ids[2], *ids[2:]]


async def test_relay_notify_publishes_without_waiting_for_the_poll(clock: MockClock) -> None:
    outbox, bus = MemoryOutbox(), InProcessBus()
    relay = relay_for(outbox, bus, clock)
    async with running(relay):
        await wait_until_idle()
        outbox.write(*make_events(2))
        relay.notify()
        await clock.advance(0)
        assert outbox.all_sent()
        assert clock.now() == 0


async def test_relay_safety_poll_finds_events_written_without_notify(clock: MockClock) -> None:
    outbox, bus = MemoryOutbox(), InProcessBus()
    async with running(relay_for(outbox, bus, clock, poll_interval=1.0)):
        await clock.advance(0.5)
        outbox.write(*make_events(1))
        await clock.advance(0.49)
        assert not outbox.sent
        await clock.advance(0.01)
        assert outbox.all_sent()


async def test_relay_notify_during_a_batch_is_not_lost(clock: MockClock) -> None:
    outbox, inner = MemoryOutbox(), InProcessBus()
    first, second = make_events(2)
    outbox.write(first)
    bus = FlakyBus(inner, now=clock.now)
    relay = relay_for(outbox, bus, clock)

    def write_second_while_publishing(event: CloudEvent) -> bool:
        if event.id == first.id:
            outbox.write(second)
            relay.notify()
        return False

    bus.hold = write_second_while_publishing
    async with running(relay):
        await clock.advance(0)
        assert outbox.all_sent()
        assert clock.now() == 0


async def test_relay_cancelled_mid_batch_marks_what_was_acked(clock: MockClock) -> None:
    outbox = MemoryOutbox()
    events = make_events(5)
    outbox.write(*events)
    bus = FlakyBus(InProcessBus(), now=clock.now)
    bus.hold = lambda event: event.id == events[3].id
    async with running(relay_for(outbox, bus, clock)):
        await clock.advance(0)
        assert not outbox.sent
    assert outbox.mark_calls == [[event.id for event in events[:3]]]


async def test_relay_bus_closed_ends_the_run(clock: MockClock) -> None:
    outbox, bus = MemoryOutbox(), InProcessBus()
    outbox.write(*make_events(1))
    await bus.close()
    with pytest.raises(BusClosed):
        await relay_for(outbox, bus, clock).run()


async def test_relay_store_error_propagates(clock: MockClock) -> None:
    class BrokenOutbox(MemoryOutbox):
        async def mark_sent(self, ids: object, at: object) -> None:
            raise ConnectionError("database gone")

    outbox = BrokenOutbox()
    outbox.write(*make_events(1))
    with pytest.raises(ConnectionError, match="database gone"):
        await relay_for(outbox, InProcessBus(), clock).run()


async def test_relay_run_twice_at_once_is_refused(clock: MockClock) -> None:
    relay = relay_for(MemoryOutbox(), InProcessBus(), clock)
    async with running(relay):
        await wait_until_idle()
        with pytest.raises(RuntimeError, match="already running"):
            await relay.run()


@pytest.mark.parametrize(
    ("options", "message"), [({"batch_size": 0}, "batch_size"), ({"poll_interval": 0}, "poll")]
)
def test_relay_bad_options_are_rejected(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        relay_for(MemoryOutbox(), InProcessBus(), MockClock(), **options)


async def test_relay_publish_span_is_a_child_of_the_event_trace(clock: MockClock) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("sync") as sync_span:
        event = new_event(
            "demo", EventName.SYNC_COMPLETED, {}, now=T0, traceparent=current_traceparent()
        )
    outbox, bus = MemoryOutbox(), FlakyBus(InProcessBus(), now=clock.now)
    outbox.write(event)
    bus.fail_next = 1
    relay = relay_for(outbox, bus, clock, tracer_provider=provider)
    async with clock.autojump(), running(relay):
        await wait_for_virtual(clock, outbox.all_sent, timeout=5)
    failed, published = (s for s in exporter.get_finished_spans() if s.name.startswith("publish"))
    for span in (failed, published):
        assert span.name == "publish hub.events.demo.sync_completed"
        assert span.kind is SpanKind.PRODUCER
        assert span.parent is not None
        assert span.parent.span_id == sync_span.get_span_context().span_id
        assert span.context.trace_id == sync_span.get_span_context().trace_id
        assert dict(span.attributes or {}) == {
            "messaging.system": "in_process",
            "messaging.operation.name": "publish",
            "messaging.operation.type": "send",
            "messaging.destination.name": "hub.events.demo.sync_completed",
            "messaging.message.id": event.id,
            "cloudevents.event_id": event.id,
            "cloudevents.event_source": "/integrations/demo",
            "cloudevents.event_type": "hub.integration.sync_completed",
        }
    assert failed.status.status_code is StatusCode.ERROR
    assert published.status.status_code is StatusCode.UNSET
    provider.shutdown()


async def test_relay_event_without_trace_gets_a_root_publish_span(clock: MockClock) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    outbox = MemoryOutbox()
    outbox.write(*make_events(1))
    relay = relay_for(outbox, InProcessBus(), clock, tracer_provider=provider)
    async with clock.autojump(), running(relay):
        await wait_for_virtual(clock, outbox.all_sent, timeout=5)
    (span,) = exporter.get_finished_spans()
    assert span.parent is None
    provider.shutdown()
