"""`GET /api/events`: live events as Server-Sent Events, resuming after `Last-Event-ID` from
the outbox with no gap and no duplicate, kept alive, and ended when the app shuts down."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest

from api import _events
from runtime.store import EventRow, Store
from runtime.testing import wait_for
from tests.actors.fakes import FakePeer
from tests.api.served import AUTH, ServedHub, served_hub, shop, shop_registry
from tests.peers.nats import running_nats_server

PREFIX = "hub.integration."


class Stream:
    """The messages of an open SSE response, read one at a time."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments: list[str] = []

    async def next(self, timeout: float = 10.0) -> dict[str, str]:
        with anyio.fail_after(timeout):
            while True:
                block = (await self.response.content.readuntil(b"\n\n")).decode()
                if not block:
                    raise EOFError("the stream ended")
                messages = list(_events.parse_stream(block))
                if messages:
                    return messages[0]
                self.comments.append(block)

    async def until(self, predicate: Any, timeout: float = 20.0) -> list[dict[str, str]]:
        """Messages up to and including the first that `predicate` accepts."""
        seen: list[dict[str, str]] = []
        with anyio.fail_after(timeout):
            while True:
                message = await self.next(timeout)
                seen.append(message)
                if predicate(message):
                    return seen


@asynccontextmanager
async def stream(
    served: ServedHub, query: str = "", headers: dict[str, str] | None = None
) -> AsyncIterator[Stream]:
    async with served.client.get(f"/api/events{query}", headers=headers) as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        yield Stream(response)


def completed(message: dict[str, str]) -> bool:
    return message["event"] == "sync_completed"


async def outbox(store: Store, integration_id: str) -> list[EventRow]:
    return [e for e in await store.events_after(None, 100_000) if e.source.endswith(integration_id)]


async def test_live_events_arrive_as_sse_messages(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(FakePeer()), demo=False) as served:
        async with stream(served, "?integration=shop") as events:
            await served.client.post("/api/integrations", json=shop("other"))
            await served.client.post("/api/integrations", json=shop())
            messages = await events.until(completed)

        names = [message["event"] for message in messages]
        assert names[:3] == ["config_changed", "connected", "sync_started"]
        assert names[-1] == "sync_completed"
        assert names.count("record_changed") == 30
        for message in messages:
            event = json.loads(message["data"])
            assert event["id"] == message["id"]
            assert event["type"] == PREFIX + message["event"]
            assert event["source"] == "/integrations/shop"
            assert event["specversion"] == "1.0"
        stored = await outbox(served.running.services.store, "shop")
        assert [m["id"] for m in messages] == [e.id for e in stored][: len(messages)]


@asynccontextmanager
async def served_on(bus: str, tmp_path: Path, peer: FakePeer) -> AsyncIterator[ServedHub]:
    """The hub with the in-process bus, or with NATS JetStream (a server of the test's own)."""
    if bus == "in_process":
        async with served_hub(tmp_path, registry=shop_registry(peer), demo=False) as served:
            yield served
        return
    async with (
        running_nats_server(tmp_path / "nats") as nats,
        served_hub(
            tmp_path, env={"HUB_NATS_URL": nats.url}, registry=shop_registry(peer), demo=False
        ) as served,
    ):
        assert served.running.bus.messaging_system == "nats"
        yield served


@pytest.mark.parametrize("bus", ["in_process", "nats"])
async def test_resume_after_last_event_id_has_no_gap_and_no_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bus: str
) -> None:
    monkeypatch.setattr(_events, "BACKLOG_PAGE", 2)  # many reads while the sync goes on
    peer = FakePeer()
    async with served_on(bus, tmp_path, peer) as served:
        store = served.running.services.store
        await served.client.post("/api/integrations", json=shop())
        await wait_for(
            lambda: _has_completed_sync(store), what="the first sync's sync_completed event"
        )
        before = await outbox(store, "shop")
        resume_after = before[3]  # in the middle of the first sync's record events
        for key in peer.records:
            peer.records[key] = {**peer.records[key], "rev": 1}
        accepted = await served.client.post("/api/integrations/shop/sync")
        run_id = (await accepted.json())["runs"][0]["id"]

        headers = {"Last-Event-ID": resume_after.id}
        async with stream(served, "?integration=shop", headers) as events:
            messages = await events.until(
                lambda m: completed(m) and json.loads(m["data"])["data"]["run_id"] == run_id
            )

        received = [message["id"] for message in messages]
        stored = [e.id for e in await outbox(store, "shop")]
        start = stored.index(resume_after.id) + 1
        assert received == stored[start : start + len(received)]
        assert len(received) == len(set(received))
        assert len(received) > 60  # the rest of the first sync, and all of the second


async def _has_completed_sync(store: Store) -> bool:
    return any(e.type == PREFIX + "sync_completed" for e in await outbox(store, "shop"))


async def test_an_unknown_last_event_id_gets_live_events_only(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(FakePeer()), demo=False) as served:
        for last_id in ("no-such-event", "bad id; DROP TABLE events", "x" * 500):
            async with stream(served, headers={"Last-Event-ID": last_id}) as events:
                await served.client.post("/api/integrations", json={**shop(), "enabled": False})
                message = await events.next()
                assert message["event"] == "config_changed"
                assert any("Last-Event-ID" in comment for comment in events.comments)
            await served.client.delete("/api/integrations/shop")


async def test_idle_streams_get_keep_alive_comments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_events, "KEEPALIVE", 0.05)
    async with served_hub(tmp_path, demo=False) as served, stream(served) as events:
        with anyio.fail_after(10):
            while not any("keep-alive" in c for c in events.comments):
                block = (await events.response.content.readuntil(b"\n\n")).decode()
                events.comments.append(block)


async def test_streams_end_promptly_when_the_app_shuts_down(tmp_path: Path) -> None:
    async with aiohttp.ClientSession(headers=AUTH) as outside:
        async with served_hub(tmp_path, demo=False) as served:
            responses = [await outside.get(f"{served.base_url}/api/events") for _ in range(3)]
            for response in responses:
                assert response.status == 200
                await response.content.readuntil(b"\n\n")  # the retry line: streaming
            leaving = time.monotonic()
        assert time.monotonic() - leaving < 5.0  # not aiohttp's 60 s shutdown timeout
        for response in responses:
            with anyio.fail_after(5):
                assert await response.content.read() == b""  # ended, not cut off
            response.release()


async def test_bad_parameters_are_refused_before_streaming(tmp_path: Path) -> None:
    async with served_hub(tmp_path, demo=False) as served:
        response = await served.client.get("/api/events?integration=Not%20An%20Id")
        assert response.status == 422
        assert response.content_type == "application/problem+json"
        body = await response.json(content_type=None)
        assert body["errors"][0]["field"] == "integration"
        anonymous = await served.client.get(
            "/api/events", headers={"Authorization": "Bearer wrong"}
        )
        assert anonymous.status == 401
