"""Reading the stream back through a JetStream consumer of the test's own: what was stored."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from runtime.bus import STREAM_NAME, CloudEvent, from_json


@dataclass(frozen=True)
class Stored:
    sequence: int
    subject: str
    headers: dict[str, str]
    event: CloudEvent


async def read_stream(url: str, *, timeout: float = 10.0) -> list[Stored]:
    """Every message in `HUB_EVENTS`, in stream order (an ephemeral pull consumer)."""
    client = await nats.connect(url, connect_timeout=2)
    try:
        js = client.jetstream()
        total = (await js.stream_info(STREAM_NAME)).state.messages
        consumer = await js.pull_subscribe(
            "hub.events.>",
            stream=STREAM_NAME,
            config=ConsumerConfig(
                ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30
            ),
        )
        stored: list[Stored] = []
        with anyio.fail_after(timeout):
            while len(stored) < total:
                for message in await consumer.fetch(batch=min(256, total - len(stored))):
                    stored.append(
                        Stored(
                            sequence=message.metadata.sequence.stream,
                            subject=message.subject,
                            headers=dict(message.headers or {}),
                            event=from_json(message.data),
                        )
                    )
        await consumer.unsubscribe()
        return stored
    finally:
        await client.close()
