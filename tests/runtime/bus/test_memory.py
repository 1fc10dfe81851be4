"""The in-process bus: fan-out, filters, a slow subscriber loses its oldest, close ends all."""

from __future__ import annotations

import anyio
import pytest

from runtime.bus import (
    BufferedSubscription,
    BusClosed,
    CloudEvent,
    InProcessBus,
    InvalidEvent,
    Subscription,
    SubscriptionStatistics,
)
from tests.runtime.bus.fakes import make_events


async def take(subscription: Subscription, count: int) -> list[CloudEvent]:
    with anyio.fail_after(5):
        return [await anext(subscription) for _ in range(count)]


async def test_in_process_fan_out_reaches_every_subscriber() -> None:
    bus = InProcessBus()
    events = make_events(3)
    async with bus.subscribe() as first, bus.subscribe() as second:
        for event in events:
            await bus.publish(event)
        assert await take(first, 3) == events
        assert await take(second, 3) == events


async def test_in_process_subscriber_of_one_integration_sees_only_its_events() -> None:
    bus = InProcessBus()
    shop, erp = make_events(2, "shop"), make_events(2, "erp")
    async with bus.subscribe("erp") as subscription:
        for event in [shop[0], erp[0], shop[1], erp[1]]:
            await bus.publish(event)
        assert await take(subscription, 2) == erp
        assert subscription.statistics().buffered == 0


async def test_in_process_subscriber_sees_only_events_from_now_on() -> None:
    bus = InProcessBus()
    before, after = make_events(2)
    await bus.publish(before)
    async with bus.subscribe() as subscription:
        await bus.publish(after)
        assert await take(subscription, 1) == [after]


async def test_in_process_slow_subscriber_drops_oldest_and_counts() -> None:
    bus = InProcessBus(buffer_size=10)
    events = make_events(25)
    async with bus.subscribe() as slow, bus.subscribe() as other:
        for event in events:
            await bus.publish(event)
        assert slow.statistics() == SubscriptionStatistics(
            delivered=0, buffered=10, capacity=10, dropped=15, duplicates=0, invalid=0
        )
        assert await take(slow, 10) == events[15:]
        assert bus.statistics().dropped == 30
        await bus.publish(events[0])  # long forgotten by the buffer, but not by the dedupe
        assert other.statistics().duplicates == 1


async def test_in_process_publish_never_waits_for_a_subscriber() -> None:
    bus = InProcessBus(buffer_size=1)
    async with bus.subscribe():
        with anyio.fail_after(5):
            for event in make_events(10_000):
                await bus.publish(event)
    assert bus.statistics().published == 10_000


async def test_in_process_waiting_subscriber_is_woken_by_publish() -> None:
    bus = InProcessBus()
    event = make_events(1)[0]
    received: list[CloudEvent] = []
    async with bus.subscribe() as subscription, anyio.create_task_group() as tg:

        async def consume() -> None:
            received.append(await anext(subscription))

        tg.start_soon(consume)
        await anyio.wait_all_tasks_blocked()
        await bus.publish(event)
    assert received == [event]


async def test_in_process_close_ends_subscriptions_after_what_is_buffered() -> None:
    bus = InProcessBus()
    events = make_events(2)
    async with bus.subscribe() as subscription:
        for event in events:
            await bus.publish(event)
        await bus.close()
        with anyio.fail_after(5):
            assert [event async for event in subscription] == events


async def test_in_process_publish_after_close_raises_closed() -> None:
    bus = InProcessBus()
    await bus.close()
    with pytest.raises(BusClosed):
        await bus.publish(make_events(1)[0])
    with pytest.raises(BusClosed):
        async with bus.subscribe():
            pass


async def test_in_process_subscription_left_is_forgotten() -> None:
    bus = InProcessBus()
    async with bus.subscribe():
        assert bus.statistics().subscribers == 1
    assert bus.statistics().subscribers == 0


async def test_in_process_subscribe_bad_integration_id_is_rejected() -> None:
    with pytest.raises(InvalidEvent):
        async with InProcessBus().subscribe("a.>"):
            pass


def test_subscription_buffer_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BufferedSubscription(0)
