"""Runs, logs, records, activity and the catalog: pages that cover everything once."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runtime.store import LogIn
from runtime.testing import wait_for
from tests.actors.fakes import ENTITY, FakePeer
from tests.api.served import ServedHub, problem, served_hub, shop, shop_registry


async def all_pages(served: ServedHub, path: str, **params: str) -> list[list[Any]]:
    pages: list[list[Any]] = []
    query = dict(params)
    while True:
        response = await served.client.get(path, params=query)
        assert response.status == 200, await response.text()
        page = await response.json()
        pages.append(page["items"])
        if page["next_cursor"] is None:
            return pages
        query["cursor"] = page["next_cursor"]


async def synced(served: ServedHub, times: int) -> None:
    """`times` completed runs of the shop (the first one starts on connect)."""
    store = served.running.services.store
    hub = served.running.hub

    async def done(count: int) -> bool:
        runs = (await store.list_runs("shop", limit=100)).items
        finished = [run for run in runs if run.finished_at is not None]
        return len(finished) >= count and not (await hub.sync_state("shop")).running

    await wait_for(lambda: done(1), what="the first sync")
    for count in range(2, times + 1):
        assert await hub.sync_now("shop")
        await wait_for(functools.partial(done, count), what=f"sync {count}")


async def test_runs_page_newest_first(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(FakePeer()), demo=False) as served:
        await served.client.post("/api/integrations", json=shop())
        await synced(served, 5)
        pages = await all_pages(served, "/api/integrations/shop/runs", limit="2")
        runs = [run for page in pages for run in page]
        assert [len(page) for page in pages] == [2, 2, 1]
        assert len({run["id"] for run in runs}) == 5
        starts = [run["started_at"] for run in runs]
        assert starts == sorted(starts, reverse=True)
        assert runs[-1]["added"] == 30
        assert runs[0]["unchanged"] == 30
        assert all(run["status"] == "completed" and run["error"] is None for run in runs)
        assert all(run["started_at"].endswith("Z") for run in runs)


async def test_logs_page_newest_first(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(FakePeer()), demo=False) as served:
        await served.client.post("/api/integrations", json=shop(enabled=False))
        at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
        await served.running.services.store.append_logs(
            [
                LogIn("shop", "info", "sync", f"line {n}", {"n": n}, duration_ms=1.5, at=at)
                for n in range(7)
            ]
        )
        pages = await all_pages(served, "/api/integrations/shop/logs", limit="3")
        lines = [line for page in pages for line in page]
        assert [line["message"] for line in lines] == [f"line {n}" for n in reversed(range(7))]
        assert lines[0]["details"] == {"n": 6}
        assert lines[0]["at"] == "2024-05-01T12:00:00Z"
        assert set(lines[0]) == {
            "id",
            "at",
            "level",
            "event_type",
            "message",
            "details",
            "duration_ms",
        }


async def test_records_page_in_id_order_and_deleted_ones_on_request(tmp_path: Path) -> None:
    peer = FakePeer()
    async with served_hub(tmp_path, registry=shop_registry(peer), demo=False) as served:
        await served.client.post("/api/integrations", json=shop())
        await synced(served, 1)
        path = "/api/integrations/shop/records"
        pages = await all_pages(served, path, limit="12")
        ids = [record["external_id"] for page in pages for record in page]
        assert ids == sorted(peer.records)
        assert [len(page) for page in pages] == [12, 12, 6]
        first = pages[0][0]
        assert first == {
            "external_id": "item-00000",
            "entity": ENTITY,
            "data": {"name": "Item 0", "rev": 0},
            "updated_at": first["updated_at"],
            "deleted_at": None,
        }

        del peer.records["item-00004"]
        await synced(served, 2)
        live = await all_pages(served, path, entity=ENTITY, limit="200")
        assert "item-00004" not in [record["external_id"] for record in live[0]]
        with_deleted = await all_pages(served, path, include_deleted="true", limit="200")
        [gone] = [r for r in with_deleted[0] if r["external_id"] == "item-00004"]
        assert gone["deleted_at"] is not None
        bad_flag = await problem(served, "GET", f"{path}?include_deleted=yes")
        assert (bad_flag["status"], bad_flag["errors"][0]["field"]) == (422, "include_deleted")


async def test_records_entity_is_required_when_there_are_several(tmp_path: Path) -> None:
    async with served_hub(tmp_path) as served:  # the demo: customers and invoices
        path = "/api/integrations/demo/records"
        missing = await problem(served, "GET", path)
        assert (missing["status"], missing["errors"][0]["field"]) == (422, "entity")
        assert "customers, invoices" in missing["detail"]
        unknown = await problem(served, "GET", f"{path}?entity=orders")
        assert (unknown["status"], unknown["errors"][0]["field"]) == (422, "entity")
        ok = await served.client.get(path, params={"entity": "invoices", "limit": "1"})
        assert ok.status == 200
        assert len((await ok.json())["items"]) <= 1


async def test_catalog_lists_every_adapter(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(FakePeer()), demo=False) as served:
        body = await (await served.client.get("/api/catalog")).json()
        items = {item["name"]: item for item in body["items"]}
        assert set(items) == {"demo", "shop"}
        assert items["shop"] == {
            "name": "shop",
            "title": "Fake shop",
            "description": "A test peer whose faults the test switches.",
            "icon": "🧪",
            "kind": "REST",
            "status": "available",
            "settings_schema": {"type": "object"},
            "credential_fields": ["api_token"],
            "required_credentials": [["api_token"]],
            "credential_help": {},
            "entities": [ENTITY],
        }
        assert items["demo"]["entities"] == ["customers", "invoices"]


async def test_activity_newest_first_by_integration(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(FakePeer()), demo=False) as served:
        await served.client.post("/api/integrations", json=shop(enabled=False))
        await served.client.post("/api/integrations", json=shop("other", enabled=False))
        everything = await (await served.client.get("/api/activity")).json()
        events = everything["items"]
        assert [event["source"] for event in events] == [
            "/integrations/other",
            "/integrations/shop",
        ]
        assert events[0]["seq"] > events[1]["seq"]
        assert events[0]["type"] == "hub.integration.config_changed"
        assert events[0]["specversion"] == "1.0"
        assert "traceparent" not in events[0] or events[0]["traceparent"]
        one = await served.client.get("/api/activity", params={"integration": "shop"})
        assert [e["source"] for e in (await one.json())["items"]] == ["/integrations/shop"]
        limited = await served.client.get("/api/activity", params={"limit": "1"})
        assert len((await limited.json())["items"]) == 1


@pytest.mark.parametrize("query", ["integration=Not%20an%20id", "limit=0", "limit=x"])
async def test_activity_parameters_are_checked(tmp_path: Path, query: str) -> None:
    async with served_hub(tmp_path, demo=False) as served:
        body = await problem(served, "GET", f"/api/activity?{query}")
        assert body["status"] == 422
        assert body["errors"][0]["field"] == query.partition("=")[0]
