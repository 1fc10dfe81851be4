"""The relay against a real nats-server of the test's own: an outage loses nothing.

The issue's acceptance test keeps NATS down for 30 s; this one kills it (SIGKILL) for a few
seconds, long enough for several backoff rounds, so it stays under ~10 s. The longer version
runs elsewhere.
"""

from __future__ import annotations

import time

import anyio

from runtime.bus import CloudEvent, NatsBus, OutboxRelay, RelayState
from runtime.testing import wait_for
from tests.peers.nats import NatsServer
from tests.runtime.bus.conftest import FAST
from tests.runtime.bus.fakes import MemoryOutbox, make_events
from tests.runtime.bus.jetstream import read_stream


async def test_relay_nats_outage_loses_nothing_and_stores_each_event_once(
    nats_server: NatsServer,
) -> None:
    outbox = MemoryOutbox()
    bus = await NatsBus.connect(nats_server.url, FAST)
    relay = OutboxRelay(outbox, bus)
    received: list[CloudEvent] = []

    def write(count: int) -> None:
        for event in make_events(count):
            outbox.write(event)
            relay.notify()

    try:
        async with bus.subscribe() as subscription, anyio.create_task_group() as tg:

            async def consume() -> None:
                async for event in subscription:
                    received.append(event)

            tg.start_soon(consume)
            tg.start_soon(relay.run)
            write(20)
            await wait_for(outbox.all_sent, timeout=5, what="the first 20 sent")

            await nats_server.kill()
            down_at = time.monotonic()
            write(50)
            await wait_for(
                lambda: relay.statistics().failures >= 5, timeout=10, what="five failed attempts"
            )
            assert relay.statistics().state is RelayState.BACKING_OFF
            assert len(outbox.sent) == 20
            await nats_server.start()
            up_at = time.monotonic()
            write(30)
            await wait_for(outbox.all_sent, timeout=15, what="every event sent after the outage")
            recovered_at = time.monotonic()
            await wait_for(lambda: len(received) == 100, timeout=5, what="the subscriber")
            tg.cancel_scope.cancel()
    finally:
        await bus.close()

    ids = [event.id for event in outbox.events]
    stored = await read_stream(nats_server.url)
    assert [item.event.id for item in stored] == ids
    assert [item.headers["Nats-Msg-Id"] for item in stored] == ids
    assert [event.id for event in received] == ids
    assert relay.statistics().published == 100
    print(
        f"\noutage {up_at - down_at:.2f} s, all sent {recovered_at - up_at:.2f} s after restart, "
        f"{relay.statistics().failures} failed attempts, "
        f"{bus.statistics().duplicates} duplicates deduplicated by the stream"
    )


async def test_relay_nats_lost_ack_is_retried_and_deduplicated(nats_server: NatsServer) -> None:
    outbox = MemoryOutbox()
    bus = await NatsBus.connect(nats_server.url, FAST)
    relay = OutboxRelay(outbox, bus)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(relay.run)
            nats_server.pause()
            outbox.write(*make_events(5))
            relay.notify()
            await wait_for(lambda: relay.statistics().failures >= 1, timeout=10, what="a timeout")
            nats_server.resume()
            await wait_for(outbox.all_sent, timeout=10, what="every event sent")
            tg.cancel_scope.cancel()
    finally:
        await bus.close()
    assert relay.statistics().last_error == (
        f"BusUnavailable: publish: NATS at 127.0.0.1:{nats_server.port}: no answer in time"
    )
    assert bus.statistics().duplicates >= 1
    stored = await read_stream(nats_server.url)
    assert [item.event.id for item in stored] == [event.id for event in outbox.events]


async def test_relay_nats_pipelines_a_backlog_in_order(nats_server: NatsServer) -> None:
    outbox = MemoryOutbox()
    events = make_events(1000)
    outbox.write(*events)
    bus = await NatsBus.connect(nats_server.url, FAST)
    relay = OutboxRelay(outbox, bus, batch_size=250)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(relay.run)
            await wait_for(outbox.all_sent, timeout=10, what="the backlog sent")
            tg.cancel_scope.cancel()
    finally:
        await bus.close()
    ids = [event.id for event in events]
    assert [len(call) for call in outbox.mark_calls] == [250] * 4
    stored = await read_stream(nats_server.url)
    assert [item.event.id for item in stored] == ids
    stats = bus.statistics()
    assert (stats.published, stats.duplicates, stats.failures) == (1000, 0, 0)
