"""The actor's side of `Adapter.watch` (added for IMAP IDLE), with a scripted adapter: each
change the adapter reports becomes a sync, a change reported while a sync runs is synced after
it, and a watch that gives up ends the watching, not the integration."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from actors._hub import child_id
from adapters import (
    Adapter,
    AdapterContext,
    AdapterSpec,
    Batch,
    ConnectionInfo,
    HealthStatus,
    IntegrationError,
    JsonObject,
    Registry,
    SourceRecord,
    SyncKind,
    SyncRequest,
    TransientError,
)
from api._hub import RunningHub, running_hub
from api._services import open_services
from config import IntegrationType, load_settings
from runtime import Lifecycle
from runtime.store import RunKind, RunStatus
from runtime.testing import wait_for

ENTITY = "things"
WITHIN = 10.0


@dataclass
class Peer:
    records: dict[str, JsonObject]
    changes: MemoryObjectReceiveStream[SyncKind]
    gate: anyio.Event | None = None  # a sync waits for it, after reading the records
    gives_up: IntegrationError | None = None  # raised by watch once the changes end
    syncs: list[SyncKind] = field(default_factory=list)


class WatchingAdapter(Adapter):
    name = "watching"

    def __init__(self, context: AdapterContext, peer: Peer) -> None:
        super().__init__(context)
        self.peer = peer

    async def connect(self) -> ConnectionInfo:
        return ConnectionInfo("watching peer")

    async def health_check(self) -> HealthStatus:
        return HealthStatus(True, 0.0)

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        self.peer.syncs.append(request.kind)
        seen = tuple(SourceRecord(key, data) for key, data in sorted(self.peer.records.items()))
        if self.peer.gate is not None:
            await self.peer.gate.wait()
        yield Batch(ENTITY, seen, {"seen": len(seen)}, complete=True)

    async def watch(self) -> AsyncGenerator[SyncKind, None]:
        async for kind in self.peer.changes:
            yield kind
        if self.peer.gives_up is not None:
            raise self.peer.gives_up


@asynccontextmanager
async def hub_with(tmp_path: Path, peer: Peer) -> AsyncIterator[RunningHub]:
    spec = AdapterSpec(
        name="watching",
        title="Watching (test)",
        description="Reports changes through watch().",
        icon="🧪",
        kind=IntegrationType.REST,
        factory=lambda context: WatchingAdapter(context, peer),
        settings_schema={"type": "object"},
        entities=(ENTITY,),
    )
    settings = load_settings(env={"HUB_DATA_DIR": str(tmp_path / "data")})
    setup = {
        "id": "w",
        "name": "W",
        "type": "REST",
        "adapter": "watching",
        "schedule": {"enabled": False},
    }
    async with open_services(settings, registry=Registry((spec,))) as services:
        await services.integrations.create(setup, origin="test")
        async with running_hub(services, demo=False) as running:
            yield running


async def _stored(hub: RunningHub) -> set[str]:
    page = await hub.services.store.list_records("w", ENTITY, limit=100)
    return {row.external_id for row in page.items}


def _streams() -> tuple[MemoryObjectSendStream[SyncKind], MemoryObjectReceiveStream[SyncKind]]:
    return anyio.create_memory_object_stream[SyncKind](10)


async def test_change_reported_during_a_sync_synced_after_it(tmp_path: Path) -> None:
    send, receive = _streams()
    peer = Peer({"a": {"n": 1}}, receive, gate=anyio.Event())
    async with send, receive, hub_with(tmp_path, peer) as hub:
        await wait_for(lambda: peer.syncs == [SyncKind.FULL], timeout=WITHIN, what="first sync")
        peer.records["b"] = {"n": 2}
        await send.send(SyncKind.INCREMENTAL)  # while the first sync still runs
        assert peer.gate is not None
        peer.gate.set()

        async def both() -> bool:
            return await _stored(hub) == {"a", "b"}

        await wait_for(both, timeout=WITHIN, what="the change synced after the first sync")
        runs = list(reversed((await hub.services.store.list_runs("w", limit=10)).items))
    assert peer.syncs == [SyncKind.FULL, SyncKind.INCREMENTAL]
    assert [(run.kind, run.status, run.added) for run in runs] == [
        (RunKind.FULL, RunStatus.COMPLETED, 1),
        (RunKind.INCREMENTAL, RunStatus.COMPLETED, 1),
    ]


async def test_watch_giving_up_ends_watching_not_the_integration(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    send, receive = _streams()
    peer = Peer({"a": {"n": 1}}, receive, gives_up=TransientError("the push channel is gone"))
    async with send, receive, hub_with(tmp_path, peer) as hub:
        await send.send(SyncKind.INCREMENTAL)
        await wait_for(lambda: len(peer.syncs) == 2, timeout=WITHIN, what="a sync per change")
        await send.aclose()  # the watch ends with its error
        await wait_for(
            lambda: "stopped watching the peer" in caplog.text, timeout=WITHIN, what="the log"
        )
        assert await hub.hub.sync_now("w")  # still there, still syncing
        info = next(c for c in hub.root.which_children() if c.id == child_id("w"))
        status = (await hub.services.store.get_integration("w")).status
    assert (info.state, info.restarts) == (Lifecycle.RUNNING, 0)
    assert status == "active"
    assert "the push channel is gone" in caplog.text
    assert any(r.levelno == logging.WARNING for r in caplog.records)
