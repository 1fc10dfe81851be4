"""`NatsBus.send`, the relay's pipelined publish, against a real nats-server: what it stores,
how its acks come back (one reply subscription of the bus's own), and how they fail."""

from __future__ import annotations

import json

import nats
import pytest

from runtime.bus import (
    STREAM_NAME,
    BusClosed,
    BusUnavailable,
    NatsBus,
    OutboxEvent,
    new_event,
    to_json,
)
from runtime.bus._event import EventName
from tests.peers.nats import NatsServer
from tests.runtime.bus.fakes import T0, make_events
from tests.runtime.bus.jetstream import read_stream

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
PUBLISH_SPAN = "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01"


def outbox_events(count: int) -> list[OutboxEvent]:
    return [OutboxEvent.of(event, seq) for seq, event in enumerate(make_events(count), start=1)]


async def test_nats_send_stores_the_event_as_publish_would(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    event = new_event("demo", EventName.CONNECTED, {"via": "ü"}, now=T0, traceparent=TRACEPARENT)
    ack = await nats_bus.send(OutboxEvent.of(event, 1), PUBLISH_SPAN)
    await ack.acked()
    (stored,) = await read_stream(nats_server.url)
    assert stored.subject == "hub.events.demo.connected"
    assert stored.event == event
    assert stored.headers["Nats-Msg-Id"] == event.id
    assert stored.headers["Nats-Expected-Stream"] == STREAM_NAME
    assert stored.headers["traceparent"] == PUBLISH_SPAN  # the one given, not the event's
    assert nats_bus.statistics().published == 1


async def test_nats_send_without_traceparent_sends_no_header(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    await (await nats_bus.send(outbox_events(1)[0], None)).acked()
    (stored,) = await read_stream(nats_server.url)
    assert "traceparent" not in stored.headers


async def test_nats_send_pipelines_and_acks_come_back_in_any_order_of_awaiting(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    events = outbox_events(50)
    acks = [await nats_bus.send(event, None) for event in events]
    for ack in reversed(acks):  # arrived or not, each ack finds its own
        await ack.acked()
    stored = await read_stream(nats_server.url)
    assert [item.event.id for item in stored] == [event.id for event in events]
    assert [item.event for item in stored] == [event.cloud_event() for event in events]
    assert nats_bus.statistics().published == 50


async def test_nats_send_again_is_acked_as_a_duplicate(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    (event,) = outbox_events(1)
    for _ in range(3):
        await (await nats_bus.send(event, None)).acked()
    assert len(await read_stream(nats_server.url)) == 1
    stats = nats_bus.statistics()
    assert (stats.published, stats.duplicates) == (3, 2)


async def test_nats_send_abandoned_ack_is_dropped_when_it_arrives(nats_bus: NatsBus) -> None:
    first, second = outbox_events(2)
    (await nats_bus.send(first, None)).abandon()
    await (await nats_bus.send(second, None)).acked()  # the first ack came before this one
    assert nats_bus.statistics().published == 1  # counted only where awaited


async def test_nats_send_to_a_deleted_stream_fails_its_ack_then_sets_the_stream_up_again(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    first, second = outbox_events(2)
    await (await nats_bus.send(first, None)).acked()
    client = await nats.connect(nats_server.url)
    try:
        await client.jetstream().delete_stream(STREAM_NAME)
    finally:
        await client.close()
    ack = await nats_bus.send(second, None)
    with pytest.raises(BusUnavailable, match="no JetStream stream answers"):
        await ack.acked()
    await (await nats_bus.send(second, None)).acked()
    assert [item.event.id for item in await read_stream(nats_server.url)] == [second.id]
    assert nats_bus.statistics().failures == 1


async def test_nats_send_ack_not_answered_in_time_is_unavailable(
    nats_bus: NatsBus, nats_server: NatsServer
) -> None:
    (event,) = outbox_events(1)
    nats_server.pause()
    try:
        ack = await nats_bus.send(event, None)
        with pytest.raises(BusUnavailable, match="no answer in time"):
            await ack.acked()
    finally:
        nats_server.resume()


async def test_nats_close_fails_the_acks_still_awaited(nats_server: NatsServer) -> None:
    bus = await NatsBus.connect(nats_server.url)
    nats_server.pause()
    try:
        ack = await bus.send(outbox_events(1)[0], None)
        await bus.close()
        with pytest.raises(BusClosed):
            await ack.acked()
    finally:
        nats_server.resume()
    with pytest.raises(BusClosed):
        await bus.send(outbox_events(1)[0], None)


def test_outbox_event_json_is_what_to_json_writes() -> None:
    events = [
        new_event("demo", EventName.CONNECTED, {}, now=T0),
        new_event(
            "shop-1",
            EventName.RECORD_CHANGED,
            {"entity": "c", "data": {"name": "Zoë 😀", "n": 1.5, "xs": [1, None, True], "e": {}}},
            now=T0.replace(microsecond=123456),
            traceparent=TRACEPARENT,
        ),
    ]
    for event in events:
        outbox = OutboxEvent.of(event, 7)
        assert outbox.json() == to_json(event)
        assert outbox.cloud_event() == event
        assert outbox.subject == f"hub.events.{event.integration_id}.{event.name}"


def test_outbox_event_with_stored_json_text_splices_it_and_parses_it_for_the_model() -> None:
    event = new_event(
        "shop-1",
        EventName.RECORD_CHANGED,
        {"entity": "c", "data": {"name": "Zoë", "big": 2**70, "n": 1.5}},
        now=T0,
        traceparent=TRACEPARENT,
    )
    stored = (
        '{"data": {"n": 1.5, "big": 1180591620717411303424, "name": "Zo\u00eb"}, "entity": "c"}'
    )
    outbox = OutboxEvent(7, event.id, event.source, event.type, event.time, TRACEPARENT, stored)

    published = outbox.json()

    assert stored.encode() in published  # spliced as it is, not parsed and written again
    assert json.loads(published) == json.loads(to_json(event))
    assert outbox.cloud_event() == event


def test_outbox_event_json_beyond_what_orjson_writes_falls_back_to_the_model() -> None:
    event = new_event("demo", EventName.CONNECTED, {"big": 2**70}, now=T0)
    assert OutboxEvent.of(event, 1).json() == to_json(event)
