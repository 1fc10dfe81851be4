"""Record events end to end: each sync leaves one `record_changed` in the outbox per record it
added, updated or deleted, and none for the records that stayed the same."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from runtime.store import EventRow, Store
from runtime.testing import MockClock
from tests.actors.fakes import ENTITY, FakePeer, fake_spec
from tests.actors.test_faults import PREFIX, hub_with, idle, integration, stored_records, until

TYPE = PREFIX + "record_changed"


async def _record_events(store: Store, after: int | None = None) -> list[EventRow]:
    return [e for e in await store.events_after(after, 10_000) if e.type == TYPE]


async def test_each_sync_reports_exactly_the_records_it_changed(
    tmp_path: Path, clock: MockClock
) -> None:
    peer = FakePeer()
    setup = [integration("shop", "shop")]
    async with hub_with(tmp_path, clock, [fake_spec("shop", peer)], setup) as hub:
        store = hub.services.store
        await until(clock, lambda: idle(hub, "shop"), within=60, what="the first sync")
        await until(clock, _synced_once(store), within=60, what="the first run to finish")
        stored = await stored_records(store, "shop")
        first = await _record_events(store)
        assert len(stored) == 30
        assert sorted((e.data["external_id"], e.data["change"]) for e in first) == [
            (key, "added") for key in sorted(stored)
        ]
        assert {str(e.data["external_id"]): e.data["data"] for e in first} == stored
        assert {(e.data["entity"], e.source) for e in first} == {(ENTITY, "/integrations/shop")}

        seq = (await store.recent_events(1))[0].seq
        peer.records["item-00003"] = {"name": "Item 3", "rev": 1}
        peer.records["item-00017"] = {"name": "Item 17", "rev": 1}
        peer.records["item-00099"] = {"name": "Item 99", "rev": 0}
        del peer.records["item-00025"]
        assert await hub.hub.sync_now("shop") is True
        await until(clock, lambda: idle(hub, "shop"), within=60, what="the second sync")

        second = await _record_events(store, seq)
        assert sorted((e.data["external_id"], e.data["change"]) for e in second) == [
            ("item-00003", "updated"),
            ("item-00017", "updated"),
            ("item-00025", "deleted"),
            ("item-00099", "added"),
        ]
        assert await stored_records(store, "shop") == peer.records
        changed = {str(e.data["external_id"]): e.data.get("data") for e in second}
        assert changed["item-00003"] == peer.records["item-00003"]
        assert "data" not in next(e.data for e in second if e.data["change"] == "deleted")
        # The deletions and the run's own report commit together, in that order.
        after = [e.type.removeprefix(PREFIX) for e in await store.events_after(seq, 100)]
        assert after[-2:] == ["record_changed", "sync_completed"]


def _synced_once(store: Store) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        runs = (await store.list_runs("shop", limit=5)).items
        return len(runs) == 1 and runs[0].finished_at is not None

    return check
