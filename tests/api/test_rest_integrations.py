"""`/api/integrations` and `/api/integrations/{id}`: create, list, read, merge-patch, delete,
with the hub following every change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runtime.store import NotFound
from tests.actors.fakes import TOKEN_FIELD, FakePeer
from tests.api.served import problem, served_hub, shop_registry
from tests.api.served import shop as shop_input

SECRET = "sk-live-4b1d7e9c0a"


def shop(integration_id: str = "shop", **fields: Any) -> dict[str, Any]:
    return shop_input(integration_id, credentials={TOKEN_FIELD: SECRET}, **fields)


def fields_of(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body.get("errors", [])}


async def test_create_answers_201_with_location_etag_and_detail(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(), demo=False) as served:
        response = await served.client.post("/api/integrations", json=shop())
        text = await response.text()
        assert response.status == 201, text
        assert response.headers["Location"] == "/api/integrations/shop"
        assert response.headers["ETag"] == '"1"'
        body = await response.json()
        assert SECRET not in text
        assert body["id"] == "shop"
        assert body["version"] == 1
        assert body["status"] == "active"  # the actor's first connect is done
        assert body["credentials"] == [{"field": TOKEN_FIELD, "set": True}]
        assert body["config"]["schedule"]["enabled"] is False
        assert "credentials" not in body["config"]
        assert served.running.hub.is_running("shop")

        again = await served.client.get(response.headers["Location"])
        assert again.status == 200
        assert (await again.json())["config"] == body["config"]


async def test_invalid_input_names_every_field_and_writes_nothing(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(), demo=False) as served:
        bad = shop("Not An Id", name="", adapter="nope", schedule={"cron": "every day"})
        body = await problem(served, "POST", "/api/integrations", json=bad)
        assert body["status"] == 422
        assert fields_of(body) == {"id", "name", "adapter", "schedule.cron"}
        assert all(error["message"] for error in body["errors"])

        unknown = await problem(served, "POST", "/api/integrations", json={**shop(), "x": 1})
        assert fields_of(unknown) == {"x"}
        assert await served.running.services.integrations.list() == []
        assert await served.running.services.store.recent_events(10) == []


async def test_an_existing_id_is_a_conflict(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(), demo=False) as served:
        assert (await served.client.post("/api/integrations", json=shop())).status == 201
        body = await problem(served, "POST", "/api/integrations", json=shop(name="Other"))
        assert body["status"] == 409
        view = await served.running.services.integrations.get("shop")
        assert view.config.name == "Shop"


async def test_list_pages_through_every_integration_once(tmp_path: Path) -> None:
    ids = ["c", "a", "e", "b", "d"]
    async with served_hub(tmp_path, registry=shop_registry(), demo=False) as served:
        for integration_id in ids:
            data = shop(integration_id, enabled=False)
            assert (await served.client.post("/api/integrations", json=data)).status == 201
        seen: list[str] = []
        params: dict[str, str] = {"limit": "2"}
        pages = 0
        while True:
            response = await served.client.get("/api/integrations", params=params)
            assert response.status == 200
            page = await response.json()
            pages += 1
            seen.extend(item["id"] for item in page["items"])
            for item in page["items"]:
                assert item["status"] == "inactive"
                assert item["last_sync"] is None
                assert item["sync"] is None
                assert item["total_records"] == 0
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == ids
        assert pages == 3
        everything = await (await served.client.get("/api/integrations")).json()
        assert [item["id"] for item in everything["items"]] == ids


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("limit=1.5", "limit"),
        ("limit=-1", "limit"),
        ("limit=%EF%BC%91", "limit"),  # a full-width digit one
        ("limit=1&limit=2", "limit"),
        ("cursor=!!", "cursor"),
        ("cursor=", "cursor"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
        ("cursor=" + "A" * 1001, "cursor"),
    ],
)
async def test_bad_list_parameters_are_422_naming_them(
    tmp_path: Path, query: str, parameter: str
) -> None:
    async with served_hub(tmp_path, registry=shop_registry()) as served:
        for path in ("/api/integrations", "/api/integrations/demo/runs"):
            body = await problem(served, "GET", f"{path}?{query}")
            assert body["status"] == 422
            assert fields_of(body) == {parameter}


TRICKY_IDS = [
    "nope",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "demo%2Fruns",
    "demo%252F",
    "a%00b",
    "%C3%A9t%C3%A9",
    "DEMO",
    "x" * 64,
    "-demo",
    "demo%20",
    "%F0%9F%98%80",
]


@pytest.mark.parametrize("tricky", TRICKY_IDS)
async def test_unknown_and_tricky_ids_are_not_found(tmp_path: Path, tricky: str) -> None:
    async with served_hub(tmp_path, registry=shop_registry()) as served:
        for method, suffix in [
            ("GET", ""),
            ("PATCH", ""),
            ("DELETE", ""),
            ("GET", "/runs"),
            ("GET", "/logs"),
            ("GET", "/records"),
            ("POST", "/test"),
            ("POST", "/sync"),
            ("POST", "/reconnect"),
        ]:
            kwargs: dict[str, Any] = {"json": {}} if method == "PATCH" else {}
            response = await served.client.request(
                method, f"/api/integrations/{tricky}{suffix}", **kwargs
            )
            assert response.status in (404, 422), (method, suffix, response.status)
            assert response.content_type == "application/problem+json"
        assert served.running.hub.is_running("demo")


async def test_merge_patch_merges_objects_and_removes_nulls(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(), demo=False) as served:
        await served.client.post("/api/integrations", json=shop(description="first"))
        response = await served.client.patch(
            "/api/integrations/shop",
            data=b'{"schedule": {"cron": "*/5 * * * *"}, "description": null}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert response.status == 200, await response.text()
        assert response.headers["ETag"] == '"2"'
        body = await response.json()
        assert body["version"] == 2
        assert body["description"] == ""
        assert body["config"]["schedule"] == {
            "cron": "*/5 * * * *",
            "jitter_seconds": None,
            "enabled": False,
        }
        as_json = await served.client.patch("/api/integrations/shop", json={"name": "Renamed"})
        assert as_json.status == 200
        assert (await as_json.json())["name"] == "Renamed"


async def test_invalid_patch_names_the_field_and_changes_nothing(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(), demo=False) as served:
        await served.client.post("/api/integrations", json=shop())
        cases = [
            ({"health": {"timeout": 100, "interval": 10}}, "health.timeout"),
            ({"id": "other"}, "id"),
            ({"entities": ["items", "items"]}, "entities"),
            ({"credentials": "token"}, "credentials"),
        ]
        for patch, field in cases:
            body = await problem(served, "PATCH", "/api/integrations/shop", json=patch)
            assert body["status"] == 422
            assert field in fields_of(body), body
        not_object = await problem(served, "PATCH", "/api/integrations/shop", json=[1])
        assert not_object["status"] == 422
        assert (await served.running.services.integrations.get("shop")).version == 1


async def test_if_match_guards_against_lost_updates(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(), demo=False) as served:
        await served.client.post("/api/integrations", json=shop())
        path = "/api/integrations/shop"
        ok = await served.client.patch(path, json={"name": "A"}, headers={"If-Match": '"1"'})
        assert ok.status == 200
        for stale in ('"1"', "1", 'W/"2"', "garbage", '"3", "4"'):
            body = await problem(
                served, "PATCH", path, json={"name": "B"}, headers={"If-Match": stale}
            )
            assert body["status"] == 412
        listed = await served.client.patch(
            path, json={"name": "C"}, headers={"If-Match": '"7", "2"'}
        )
        assert listed.status == 200
        anything = await served.client.patch(path, json={"name": "D"}, headers={"If-Match": "*"})
        assert anything.status == 200
        view = await served.running.services.integrations.get("shop")
        assert (view.config.name, view.version) == ("D", 4)


async def test_credentials_are_set_and_removed_by_name(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(), demo=False) as served:
        await served.client.post("/api/integrations", json=shop())
        path = "/api/integrations/shop"
        added = await served.client.patch(path, json={"credentials": {"webhook_secret": "w"}})
        body = await added.json()
        assert body["credentials"] == [
            {"field": TOKEN_FIELD, "set": True},
            {"field": "webhook_secret", "set": True},
        ]
        removed = await served.client.patch(path, json={"credentials": {"webhook_secret": None}})
        assert (await removed.json())["credentials"] == [{"field": TOKEN_FIELD, "set": True}]
        stored = await served.running.services.integrations.credentials("shop")
        assert set(stored) == {TOKEN_FIELD}
        assert stored[TOKEN_FIELD].reveal() == SECRET


async def test_enable_disable_and_delete_move_the_actor(tmp_path: Path) -> None:
    peer = FakePeer()
    async with served_hub(tmp_path, registry=shop_registry(peer), demo=False) as served:
        hub = served.running.hub
        await served.client.post("/api/integrations", json=shop())
        path = "/api/integrations/shop"
        assert hub.is_running("shop")

        off = await served.client.patch(path, json={"enabled": False})
        assert off.status == 200
        assert not hub.is_running("shop")
        assert (await off.json())["enabled"] is False

        connects = len(peer.connects)
        on = await served.client.patch(path, json={"enabled": True})
        assert on.status == 200
        assert hub.is_running("shop")
        assert len(peer.connects) == connects + 1

        deleted = await served.client.delete(path)
        assert deleted.status == 204
        assert not hub.is_running("shop")
        with pytest.raises(NotFound):
            await served.running.services.integrations.get("shop")
        assert (await problem(served, "GET", path))["status"] == 404
        assert (await problem(served, "DELETE", path))["status"] == 404
