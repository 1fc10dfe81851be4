"""Test connection, sync, reconnect, and the wizard's connection test and sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.store import RunKind, RunStatus
from runtime.testing import wait_for
from tests.actors.fakes import ENTITY, TOKEN_FIELD, FakePeer
from tests.api.served import ServedHub, problem, served_hub, shop_registry
from tests.api.served import shop as shop_input

TOKEN = "tok-7f3a9c"


def shop(integration_id: str = "shop", **fields: Any) -> dict[str, Any]:
    return shop_input(integration_id, credentials={TOKEN_FIELD: TOKEN}, **fields)


async def created(served: ServedHub, data: dict[str, Any]) -> None:
    response = await served.client.post("/api/integrations", json=data)
    assert response.status == 201, await response.text()


async def idle(served: ServedHub, integration_id: str = "shop") -> bool:
    return not (await served.running.hub.sync_state(integration_id)).running


async def test_sync_answers_202_with_the_run_it_began(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(FakePeer()), demo=False) as served:
        await created(served, shop())
        await wait_for(lambda: idle(served), what="the first sync")
        store = served.running.services.store

        response = await served.client.post(
            "/api/integrations/shop/sync", json={"kind": "incremental"}
        )
        assert response.status == 202, await response.text()
        body = await response.json()
        assert body["kind"] == "incremental"
        assert body["entities"] == [ENTITY]
        [run] = body["runs"]
        assert run["entity"] == ENTITY
        assert (await store.get_run(run["id"])).kind is RunKind.INCREMENTAL

        async def completed() -> bool:
            return (await store.get_run(run["id"])).status is RunStatus.COMPLETED

        await wait_for(completed, what="the run to complete")
        runs = await (await served.client.get("/api/integrations/shop/runs")).json()
        assert runs["items"][0]["id"] == run["id"]
        assert runs["items"][0]["duration_ms"] >= 0

        no_body = await served.client.post("/api/integrations/shop/sync")
        assert no_body.status == 202
        assert (await no_body.json())["kind"] == "full"


async def test_sync_body_is_validated(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(FakePeer()), demo=False) as served:
        await created(served, shop())
        path = "/api/integrations/shop/sync"
        bad_kind = await problem(served, "POST", path, json={"kind": "everything"})
        assert (bad_kind["status"], bad_kind["errors"][0]["field"]) == (422, "kind")
        extra = await problem(served, "POST", path, json={"kind": "full", "now": True})
        assert extra["errors"][0]["field"] == "now"
        assert (await problem(served, "POST", path, json=["full"]))["status"] == 422
        wrong_type = await problem(
            served, "POST", path, data=b"kind=full", headers={"Content-Type": "text/plain"}
        )
        assert wrong_type["status"] == 415


async def test_sync_while_one_runs_is_409(tmp_path: Path) -> None:
    peer = FakePeer(hangs_left=1)  # the first sync hangs after its first batch
    async with served_hub(tmp_path, registry=shop_registry(peer), demo=False) as served:
        await created(served, shop())
        await wait_for(lambda: peer.syncs == 1, what="the first sync to start")
        body = await problem(served, "POST", "/api/integrations/shop/sync")
        assert body["status"] == 409
        assert "running" in body["detail"]
        listed = await (await served.client.get("/api/integrations/shop")).json()
        assert listed["sync"] is not None
        assert listed["sync"]["entity"] == ENTITY


async def test_actions_on_a_disabled_integration_are_409_saying_enable_it(
    tmp_path: Path,
) -> None:
    async with served_hub(tmp_path, registry=shop_registry(FakePeer()), demo=False) as served:
        await created(served, shop(enabled=False))
        for action in ("sync", "test", "reconnect"):
            body = await problem(served, "POST", f"/api/integrations/shop/{action}")
            assert body["status"] == 409
            assert "enable" in body["detail"]


async def test_sync_when_not_connected_is_409_saying_reconnect(tmp_path: Path) -> None:
    peer = FakePeer(accepted_token="the-right-one")
    async with served_hub(tmp_path, registry=shop_registry(peer), demo=False) as served:
        await created(served, shop())
        detail = await (await served.client.get("/api/integrations/shop")).json()
        assert detail["status"] == "error"
        body = await problem(served, "POST", "/api/integrations/shop/sync")
        assert body["status"] == 409
        assert "/api/integrations/shop/reconnect" in body["detail"]

        peer.accepted_token = TOKEN  # fixed on the remote side: reconnect now
        response = await served.client.post("/api/integrations/shop/reconnect")
        assert response.status == 202
        assert await response.json() == {"status": "active"}


async def test_actions_while_the_actor_is_not_running_are_503(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(FakePeer()), demo=False) as served:
        await created(served, shop())
        await served.running.hub.remove("shop")  # as while it restarts
        for action in ("sync", "test"):
            response = await served.client.post(f"/api/integrations/shop/{action}")
            assert response.status == 503
            assert response.headers["Retry-After"].isdigit()
        reconnected = await served.client.post("/api/integrations/shop/reconnect")
        assert reconnected.status == 202
        assert served.running.hub.is_running("shop")


async def test_test_connection_reports_latency_and_detail(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(FakePeer()), demo=False) as served:
        await created(served, shop())
        response = await served.client.post("/api/integrations/shop/test")
        assert response.status == 200
        body = await response.json()
        assert body["ok"] is True
        assert body["latency_ms"] >= 0
        assert body["detail"] == "fake peer answers"


async def test_wizard_tests_an_unsaved_integration(tmp_path: Path) -> None:
    peer = FakePeer(accepted_token=TOKEN)
    async with served_hub(tmp_path, registry=shop_registry(peer), demo=False) as served:
        draft = {"type": "REST", "adapter": "shop", "credentials": {TOKEN_FIELD: TOKEN}}
        ok = await served.client.post("/api/connection-tests", json=draft)
        assert ok.status == 200
        assert (await ok.json())["ok"] is True

        wrong = {**draft, "credentials": {TOKEN_FIELD: "wrong-token-value"}}
        refused = await served.client.post("/api/connection-tests", json=wrong)
        text = await refused.text()
        assert refused.status == 200
        assert (await refused.json())["ok"] is False
        assert "wrong-token-value" not in text
        assert "401" in (await refused.json())["detail"]

        invalid = await problem(
            served, "POST", "/api/connection-tests", json={**draft, "adapter": "nope"}
        )
        assert invalid["status"] == 422
        assert invalid["errors"][0]["field"] == "adapter"
        assert await served.running.services.integrations.list() == []


async def test_wizard_samples_records_and_their_fields(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=shop_registry(FakePeer()), demo=False) as served:
        draft = {"type": "REST", "adapter": "shop", "credentials": {TOKEN_FIELD: TOKEN}}
        response = await served.client.post(
            "/api/samples", json={"integration": draft, "entity": ENTITY}
        )
        assert response.status == 200, await response.text()
        body = await response.json()
        assert body["entity"] == ENTITY
        assert body["fields"] == ["name", "rev"]
        assert len(body["records"]) == 20
        assert body["records"][0] == {"name": "Item 0", "rev": 0}

        unknown = await problem(
            served, "POST", "/api/samples", json={"integration": draft, "entity": "nothing"}
        )
        assert (unknown["status"], unknown["errors"][0]["field"]) == (422, "entity")
        bad = await problem(
            served,
            "POST",
            "/api/samples",
            json={"integration": {**draft, "type": "FTP"}, "entity": ENTITY},
        )
        assert (bad["status"], bad["errors"][0]["field"]) == (422, "integration.type")
        missing = await problem(served, "POST", "/api/samples", json={"entity": ENTITY})
        assert missing["errors"][0]["field"] == "integration"


async def test_wizard_sample_of_a_failing_source_is_502(tmp_path: Path) -> None:
    peer = FakePeer(connect_fails=True)
    async with served_hub(tmp_path, registry=shop_registry(peer), demo=False) as served:
        draft = {"type": "REST", "adapter": "shop", "credentials": {TOKEN_FIELD: TOKEN}}
        body = await problem(
            served, "POST", "/api/samples", json={"integration": draft, "entity": ENTITY}
        )
        assert body["status"] == 502
        assert "connection refused" in body["detail"]
        assert TOKEN not in body["detail"]
