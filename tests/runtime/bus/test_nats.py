"""NatsBus against a real nats-server: the stream, the headers, dedupe, subscriptions, errors.

Tests that look into the stream or stop the server use a server of their own; one smoke test
uses the machine's shared server on 127.0.0.1:4222, with an integration id nobody else uses.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio
import nats
import pytest
from nats.js.api import StorageType, StreamConfig
from opentelemetry.sdk.trace import TracerProvider

from runtime.bus import (
    STREAM_NAME,
    BusClosed,
    BusError,
    BusUnavailable,
    CloudEvent,
    EventName,
    InProcessBus,
    NatsBus,
    NatsOptions,
    Subscription,
    new_event,
    open_bus,
)
from runtime.telemetry import context_from_traceparent, current_traceparent
from tests.peers.nats import NatsServer, free_port, machine_nats_url, running_nats_server
from tests.runtime.bus.conftest import FAST
from tests.runtime.bus.fakes import T0, make_events
from tests.runtime.bus.jetstream import read_stream

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def take(subscription: Subscription, count: int) -> list[CloudEvent]:
    with anyio.fail_after(5):
        return [await anext(subscription) for _ in range(count)]


async def test_nats_connect_creates_the_stream(nats_bus: NatsBus, nats_server: NatsServer) -> None:
    client = await nats.connect(nats_server.url)
    try:
        config = (await client.jetstream().stream_info(STREAM_NAME)).config
    finally:
        await client.close()
    assert config.subjects == ["hub.events.>"]
    assert config.storage == StorageType.FILE
    assert config.duplicate_window == 120.0
    assert config.max_age == 7 * 24 * 3600.0


async def test_nats_connect_updates_a_stream_with_other_settings(nats_server: NatsServer) -> None:
    client = await nats.connect(nats_server.url)
    try:
        js = client.jetstream()
        await js.add_stream(
            StreamConfig(name=STREAM_NAME, subjects=["hub.events.old.>"], duplicate_window=10)
        )
        bus = await NatsBus.connect(nats_server.url, FAST)
        await bus.close()
        config = (await js.stream_info(STREAM_NAME)).config
    finally:
        await client.close()
    assert (config.subjects, config.duplicate_window) == (["hub.events.>"], 120.0)


async def test_nats_publish_stores_event_with_msg_id_and_traceparent(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    event = new_event("demo", EventName.CONNECTED, {"via": "test"}, now=T0, traceparent=TRACEPARENT)
    await nats_bus.publish(event)
    (stored,) = await read_stream(nats_server.url)
    assert stored.subject == "hub.events.demo.connected"
    assert stored.event == event
    assert stored.headers["Nats-Msg-Id"] == event.id
    assert stored.headers["traceparent"] == TRACEPARENT


async def test_nats_publish_duplicate_is_stored_once(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    first, second = make_events(2)
    for event in (first, first, second, first):
        await nats_bus.publish(event)
    stored = await read_stream(nats_server.url)
    assert [item.event.id for item in stored] == [first.id, second.id]
    assert nats_bus.statistics().published == 4
    assert nats_bus.statistics().duplicates == 2


async def test_nats_subscriber_receives_live_events_of_its_integration(nats_bus: NatsBus) -> None:
    shop, erp = make_events(3, "shop"), make_events(3, "erp")
    async with nats_bus.subscribe("erp") as only_erp, nats_bus.subscribe() as everything:
        for pair in zip(shop, erp, strict=True):
            for event in pair:
                await nats_bus.publish(event)
        assert await take(only_erp, 3) == erp
        assert {event.id for event in await take(everything, 6)} == {
            event.id for event in shop + erp
        }
    assert nats_bus.statistics().subscribers == 0


async def test_nats_subscriber_skips_a_retried_publish_and_invalid_messages(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    first, second = make_events(2)
    client = await nats.connect(nats_server.url)
    try:
        async with nats_bus.subscribe() as subscription:
            await nats_bus.publish(first)
            await nats_bus.publish(first)
            await client.publish("hub.events.demo.connected", b'{"not": "an event"}')
            await client.flush()
            await nats_bus.publish(second)
            assert await take(subscription, 2) == [first, second]
            statistics = subscription.statistics()
    finally:
        await client.close()
    assert (statistics.duplicates, statistics.invalid) == (1, 1)


async def test_nats_publish_while_server_down_is_unavailable_then_recovers(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    before, during, after = make_events(3)
    await nats_bus.publish(before)
    await nats_server.kill()
    with anyio.fail_after(5):
        while True:
            try:
                await nats_bus.publish(during)
            except BusUnavailable:
                break
    assert not nats_bus.statistics().connected
    await nats_server.start()
    with anyio.fail_after(10):
        while True:
            try:
                await nats_bus.publish(after)
                break
            except BusUnavailable:
                await anyio.sleep(0.05)
    statistics = nats_bus.statistics()
    assert (statistics.connected, statistics.reconnects) == (True, 1)
    assert statistics.failures >= 1
    assert statistics.last_error is not None
    stored = [item.event.id for item in await read_stream(nats_server.url)]
    assert stored == [before.id, after.id]


async def test_nats_connect_to_nothing_is_unavailable_within_the_timeout() -> None:
    url = f"nats://user:secret@127.0.0.1:{free_port()}"
    with anyio.fail_after(5), pytest.raises(BusUnavailable) as caught:
        await NatsBus.connect(url, NatsOptions(connect_timeout=0.3))
    assert "127.0.0.1" in str(caught.value)
    assert "secret" not in str(caught.value)


async def test_nats_close_ends_subscriptions_and_refuses_publish(nats_bus: NatsBus) -> None:
    event = make_events(1)[0]
    async with nats_bus.subscribe() as subscription:
        await nats_bus.close()
        with anyio.fail_after(5):
            assert [item async for item in subscription] == []
    with pytest.raises(BusClosed):
        await nats_bus.publish(event)
    with pytest.raises(BusClosed):
        async with nats_bus.subscribe():
            pass
    await nats_bus.close()


async def test_nats_machine_server_round_trip() -> None:
    url = await machine_nats_url()
    integration_id = f"test-{uuid.uuid4().hex[:12]}"
    event = new_event(integration_id, EventName.HEALTH_CHANGED, {"state": "open"}, now=T0)
    bus = await open_bus(url, options=FAST)
    try:
        assert isinstance(bus, NatsBus)
        async with bus.subscribe(integration_id) as subscription:
            await bus.publish(event)
            assert await take(subscription, 1) == [event]
    finally:
        await bus.close()


async def test_open_bus_without_url_is_in_process() -> None:
    for url in (None, ""):
        bus = await open_bus(url)
        assert isinstance(bus, InProcessBus)
        await bus.close()


async def test_nats_server_restarted_keeps_the_stream(tmp_path: Path) -> None:
    event = make_events(1)[0]
    async with running_nats_server(tmp_path) as server:
        bus = await NatsBus.connect(server.url, FAST)
        try:
            await bus.publish(event)
            await server.kill()
            await server.start()
            assert [item.event for item in await read_stream(server.url)] == [event]
        finally:
            await bus.close()


async def test_nats_stream_in_memory_is_refused_with_the_server_reason(
    nats_server: NatsServer,
) -> None:
    client = await nats.connect(nats_server.url)
    try:
        await client.jetstream().add_stream(
            StreamConfig(name=STREAM_NAME, subjects=["hub.events.>"], storage=StorageType.MEMORY)
        )
        with pytest.raises(BusError, match="set up the stream: NATS refused") as caught:
            await NatsBus.connect(nats_server.url, FAST)
    finally:
        await client.close()
    assert not isinstance(caught.value, BusUnavailable)


async def test_nats_publish_in_a_span_sends_that_span_in_the_header(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    provider = TracerProvider()
    event = new_event("demo", EventName.RESTARTED, {}, now=T0, traceparent=TRACEPARENT)
    with provider.get_tracer("test").start_as_current_span(
        "publish", context=context_from_traceparent(TRACEPARENT)
    ):
        await nats_bus.publish(event)
        publish_span = current_traceparent()
    provider.shutdown()
    (stored,) = await read_stream(nats_server.url)
    assert publish_span is not None
    assert stored.headers["traceparent"] == publish_span
    assert publish_span.split("-")[1] == TRACEPARENT.split("-")[1]
    assert stored.event.traceparent == TRACEPARENT


async def test_nats_publish_without_any_trace_sends_no_traceparent(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    await nats_bus.publish(make_events(1)[0])
    (stored,) = await read_stream(nats_server.url)
    assert "traceparent" not in stored.headers


async def test_nats_stream_deleted_under_the_bus_is_created_again(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    first, second = make_events(2)
    await nats_bus.publish(first)
    client = await nats.connect(nats_server.url)
    try:
        await client.jetstream().delete_stream(STREAM_NAME)
    finally:
        await client.close()
    with pytest.raises(BusUnavailable, match="no JetStream stream answers"):
        await nats_bus.publish(second)
    await nats_bus.publish(second)
    assert [item.event for item in await read_stream(nats_server.url)] == [second]
