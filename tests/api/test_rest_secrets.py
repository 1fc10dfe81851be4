"""Credentials are write-only: a whole flow through the API, and not one response body (nor
header) carries a credential's value, whether it was accepted, refused or misplaced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from adapters import Registry, demo
from runtime.testing import wait_for
from tests.actors.fakes import ENTITY, TOKEN_FIELD, FakePeer, fake_spec
from tests.api.served import ServedHub, served_hub

SECRET = "s3cr3t-Value-9d8e7f"
SECRET_2 = "an0ther-S3cret-1a2b3c"
WRONG = "wr0ng-Secret-5e6f7a"
SECRETS = (SECRET, SECRET_2, WRONG)


class Recorder:
    """Every response of the flow: status line, headers and body, as text."""

    def __init__(self, served: ServedHub) -> None:
        self.served = served
        self.seen: list[str] = []

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.served.client.request(method, path, **kwargs)
        text = await response.text()
        self.seen.append(f"{method} {path} {response.status} {dict(response.headers)}\n{text}")
        return await response.json(content_type=None) if text else None

    async def stream(self, path: str, last_event_id: str, messages: int) -> None:
        """Read `messages` SSE messages (the outbox's after `last_event_id`)."""
        headers = {"Last-Event-ID": last_event_id}
        async with self.served.client.get(path, headers=headers) as response:
            text = ""
            with anyio.fail_after(10):
                while text.count("\ndata: ") < messages:
                    text += (await response.content.readuntil(b"\n\n")).decode()
            self.seen.append(f"GET {path} {response.status}\n{text}")


async def test_no_response_of_a_whole_flow_carries_a_credential(tmp_path: Path) -> None:
    peer = FakePeer(accepted_token=SECRET)
    registry = Registry((demo.SPEC, fake_spec("shop", peer)))
    async with served_hub(tmp_path, registry=registry, demo=False) as served:
        api = Recorder(served)
        data = {
            "id": "shop",
            "name": "Shop",
            "type": "REST",
            "adapter": "shop",
            "entities": [ENTITY],
            "schedule": {"enabled": False},
            "credentials": {TOKEN_FIELD: SECRET, "webhook_secret": SECRET_2},
        }
        draft = {k: v for k, v in data.items() if k not in ("id", "name")}
        await api.call("POST", "/api/connection-tests", json=draft)
        await api.call(
            "POST", "/api/connection-tests", json={**draft, "credentials": {TOKEN_FIELD: WRONG}}
        )
        await api.call("POST", "/api/samples", json={"integration": draft, "entity": ENTITY})
        # Secrets in the wrong places: refused without being repeated.
        await api.call("POST", "/api/integrations", json={**data, "name": SECRET * 10})
        await api.call("POST", "/api/integrations", json={**data, "credentials": {"Bad": SECRET}})
        await api.call("POST", "/api/integrations", json={**data, "api_key": SECRET})
        await api.call(
            "POST", "/api/integrations", json={**data, "credentials": {TOKEN_FIELD: SECRET * 9999}}
        )
        # (A cron expression or an adapter name is quoted back: those fields are never secret.)
        await api.call("POST", "/api/integrations", json={**data, "description": SECRET * 200})

        created = await api.call("POST", "/api/integrations", json=data)
        assert created["status"] == "active"
        await wait_for(lambda: peer.syncs >= 1, what="the first sync")
        await api.call("GET", "/api/integrations")
        await api.call("GET", "/api/integrations/shop")
        await api.call("POST", "/api/integrations/shop/test")
        await api.call(
            "PATCH", "/api/integrations/shop", json={"credentials": {TOKEN_FIELD: WRONG}}
        )
        await api.call("POST", "/api/integrations/shop/sync")
        await api.call("POST", "/api/integrations/shop/reconnect")
        await api.call(
            "PATCH", "/api/integrations/shop", json={"credentials": {TOKEN_FIELD: SECRET}}
        )
        await api.call("POST", "/api/integrations/shop/reconnect")
        await api.call("POST", "/api/integrations/shop/sync")
        await api.call("GET", "/api/integrations/shop/runs")
        await api.call("GET", "/api/integrations/shop/logs")
        await api.call("GET", "/api/integrations/shop/records")
        await api.call("GET", "/api/activity?limit=200")
        await api.call("GET", "/api/catalog")
        await api.call("GET", "/api/openapi.json")
        first = (await served.running.services.store.events_after(None, 1))[0]
        await api.stream("/api/events", first.id, messages=5)
        await api.call("DELETE", "/api/integrations/shop")

        assert len(api.seen) == 26
        for text in api.seen:
            for secret in SECRETS:
                assert secret not in text, text[:300]
                assert secret[:8] not in text, text[:300]  # no hint of it either
