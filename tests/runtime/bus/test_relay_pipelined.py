"""The relay's pipelined path (a bus with `send`): a batch is sent before its acks are
awaited, only the acknowledged prefix is marked, and a failure is retried from its event."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from runtime.bus import (
    DEFAULT_RELAY_BACKOFF,
    CloudEvent,
    InProcessBus,
    OutboxEvent,
    OutboxRelay,
    PipelinedBus,
    RelayState,
)
from runtime.testing import MockClock, wait_for_virtual
from tests.runtime.bus.fakes import T0, MemoryOutbox, PipelinedFake, make_events
from tests.runtime.bus.test_relay import middle, running


def relay_over(outbox: MemoryOutbox, bus: PipelinedFake, clock: MockClock) -> OutboxRelay:
    return OutboxRelay(outbox, bus, clock=clock, rng=middle, wall_clock=lambda: T0)


def fails_once(target: CloudEvent) -> Callable[[OutboxEvent], bool]:
    remaining: Iterator[bool] = iter([True])
    return lambda event: event.id == target.id and next(remaining, False)


def test_pipelined_fake_is_seen_as_a_pipelined_bus() -> None:
    assert isinstance(PipelinedFake(InProcessBus(), now=lambda: 0.0), PipelinedBus)
    assert not isinstance(InProcessBus(), PipelinedBus)


async def test_pipelined_relay_sends_in_order_and_marks_each_batch_once(clock: MockClock) -> None:
    outbox, inner = MemoryOutbox(), InProcessBus()
    events = make_events(250)
    outbox.write(*events)
    bus = PipelinedFake(inner, now=clock.now)
    async with inner.subscribe() as subscription, clock.autojump():
        async with running(relay_over(outbox, bus, clock)):
            await wait_for_virtual(clock, outbox.all_sent, timeout=5)
        received = [await anext(subscription) for _ in events]
    ids = [event.id for event in events]
    assert received == events
    assert bus.sends == ids
    assert bus.attempts == []  # nothing went through the one-by-one publish
    assert bus.abandoned == []
    assert outbox.mark_calls == [ids[:100], ids[100:200], ids[200:]]


async def test_pipelined_relay_lost_ack_marks_the_prefix_and_retries_from_it(
    clock: MockClock,
) -> None:
    outbox, inner = MemoryOutbox(), InProcessBus()
    events = make_events(6)
    outbox.write(*events)
    bus = PipelinedFake(inner, now=clock.now)
    bus.fail_ack = fails_once(events[2])
    relay = relay_over(outbox, bus, clock)
    async with inner.subscribe() as subscription, clock.autojump():
        async with running(relay):
            await wait_for_virtual(clock, outbox.all_sent, timeout=10)
        received = [await anext(subscription) for _ in events]
    ids = [event.id for event in events]
    assert received == events  # in order, each once: the acks after the failure were dropped
    # All six sent; the failed one retried alone after a backoff; the rest sent again.
    assert bus.sends == [*ids, *ids[3:]]
    assert [event_id for _, event_id in bus.attempts] == [ids[2]]
    assert bus.attempts[0][0] == DEFAULT_RELAY_BACKOFF.delay(0, middle)  # retried after backoff
    assert bus.abandoned == ids[3:]
    assert outbox.mark_calls == [ids[:2], ids[2:]]
    stats = relay.statistics()
    assert (stats.published, stats.failures, stats.state) == (6, 1, RelayState.STOPPED)
    assert stats.last_error == "BusUnavailable: scripted lost ack"


async def test_pipelined_relay_send_failure_awaits_what_was_sent_first(clock: MockClock) -> None:
    outbox, inner = MemoryOutbox(), InProcessBus()
    events = make_events(4)
    outbox.write(*events)
    bus = PipelinedFake(inner, now=clock.now)
    bus.fail_send = fails_once(events[1])
    async with inner.subscribe() as subscription, clock.autojump():
        async with running(relay_over(outbox, bus, clock)):
            await wait_for_virtual(clock, outbox.all_sent, timeout=10)
        received = [await anext(subscription) for _ in events]
    ids = [event.id for event in events]
    assert received == events
    assert bus.sends == [ids[0], ids[1], ids[2], ids[3]]
    assert [event_id for _, event_id in bus.attempts] == [ids[1]]
    assert outbox.mark_calls == [ids[:1], ids[1:]]


async def test_pipelined_relay_cancelled_while_awaiting_acks_marks_the_acked(
    clock: MockClock,
) -> None:
    outbox, inner = MemoryOutbox(), InProcessBus()
    events = make_events(5)
    outbox.write(*events)
    bus = PipelinedFake(inner, now=clock.now)
    bus.hold_ack = lambda event: event.id == events[3].id
    async with running(relay_over(outbox, bus, clock)):
        await clock.advance(0)
        assert not outbox.sent
    ids = [event.id for event in events]
    assert outbox.mark_calls == [ids[:3]]
    assert bus.abandoned == ids[3:]
