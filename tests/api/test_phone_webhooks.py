"""The phone system template end to end through the real hub over HTTP: in the catalog as
available, created through the API, its signed call events (Standard Webhooks) posted to
`/webhooks/{id}` become the calls' records and the delivery's events; a deleted call is
a tombstone; an unsigned delivery is refused."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from adapters import Registry, sign_webhook
from adapters.templates import packaged_template_spec
from config import WebhookScheme
from runtime.store import RunStatus, WebhookStatus
from runtime.testing import wait_for
from tests.api.served import ServedHub, served_hub

PHONE = packaged_template_spec("adapters.templates", "phone.yaml")
REGISTRY = Registry((PHONE,))
SECRET = "whsec_" + base64.b64encode(b"phone-system-signing-secret-01").decode()
INTEGRATION = {
    "id": "phone",
    "name": "Office phones",
    "type": "Webhook",
    "adapter": "phone",
    "webhook": {"scheme": "standard"},
    "credentials": {"webhook_secret": SECRET},
}
RECEIVED = "hub.integration.webhook_received"


def call(event: str, call_id: str, **data: Any) -> dict[str, Any]:
    fields = {
        "call_id": call_id,
        "direction": "inbound",
        "from": "+4930123456",
        "to": "+4989654321",
        "started_at": "2026-03-02T09:12:00Z",
        "answered_at": None,
        "ended_at": None,
        "duration": 0,
        "status": "ringing",
        **data,
    }
    return {"type": event, "timestamp": "2026-03-02T09:15:40Z", "data": fields}


async def deliver(
    served: ServedHub, delivery_id: str, payload: dict[str, Any], *, signed: bool = True
) -> int:
    """Post one delivery as the phone system would (without the API token); its status."""
    body = orjson.dumps(payload)
    headers = {"Content-Type": "application/json"}
    if signed:
        headers |= sign_webhook(
            WebhookScheme.STANDARD, SECRET, body, delivery_id=delivery_id, timestamp=time.time()
        )
    async with (
        aiohttp.ClientSession(served.base_url) as public,
        public.post("/webhooks/phone", data=body, headers=headers) as response,
    ):
        return response.status


async def create(served: ServedHub) -> None:
    """Create the integration and wait for its first (empty) sync."""
    response = await served.client.post("/api/integrations", json=INTEGRATION)
    assert response.status == 201, await response.text()

    async def synced() -> bool:
        runs = (await served.running.services.store.list_runs("phone", limit=10)).items
        return len(runs) == 1 and runs[0].status is RunStatus.COMPLETED

    await wait_for(synced, timeout=20, what="the first sync")


async def processed(served: ServedHub, count: int) -> bool:
    page = await served.running.services.store.list_webhook_deliveries("phone", limit=100)
    statuses = [delivery.status for delivery in page.items]
    return len(statuses) == count and set(statuses) == {WebhookStatus.PROCESSED}


async def calls(served: ServedHub, *, include_deleted: bool = False) -> dict[str, Any]:
    params = {"entity": "calls", "include_deleted": str(include_deleted).lower()}
    response = await served.client.get("/api/integrations/phone/records", params=params)
    assert response.status == 200, await response.text()
    return {item["external_id"]: item for item in (await response.json())["items"]}


async def reported(served: ServedHub) -> list[list[str]]:
    """Per processed delivery, oldest first, the types of the events it reported."""
    params = {"integration": "phone", "limit": "200"}
    response = await served.client.get("/api/activity", params=params)
    items = [item for item in (await response.json())["items"] if item["type"] == RECEIVED]
    items.sort(key=lambda item: item["seq"])
    return [[event["type"] for event in item["data"]["events"]] for item in items]


async def test_phone_call_events_become_records_and_events(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=REGISTRY, demo=False) as served:
        listed = await (await served.client.get("/api/catalog")).json()
        [item] = [item for item in listed["items"] if item["name"] == "phone"]
        assert (item["kind"], item["status"]) == ("Webhook", "available")
        assert item["credential_fields"] == ["webhook_secret"]
        await create(served)

        deliveries = [
            call("call.ringing", "c-1001"),
            call(
                "call.answered", "c-1001", answered_at="2026-03-02T09:12:07Z", status="in_progress"
            ),
            call(
                "call.ended",
                "c-1001",
                answered_at="2026-03-02T09:12:07Z",
                ended_at="2026-03-02T09:15:40Z",
                duration=213,
                status="completed",
            ),
            call("call.missed", "c-1002", direction="outbound", status="missed"),
            {"type": "agent.logged_in", "data": {"agent": "a-7"}},  # not a call: nothing
        ]
        for number, payload in enumerate(deliveries):
            assert await deliver(served, f"msg_{number}", payload) == 202
        assert await deliver(served, "msg_forged", deliveries[0], signed=False) == 401
        await wait_for(lambda: processed(served, 5), timeout=20, what="every delivery processed")

        found = await calls(served)
        assert set(found) == {"c-1001", "c-1002"}
        assert found["c-1001"]["data"] == {
            "call_id": "c-1001",
            "direction": "inbound",
            "from": "+4930123456",
            "to": "+4989654321",
            "started_at": "2026-03-02T09:12:00Z",
            "answered_at": "2026-03-02T09:12:07Z",
            "ended_at": "2026-03-02T09:15:40Z",
            "duration": 213,
            "status": "completed",
            "event": "call.ended",
            "event_at": "2026-03-02T09:15:40Z",
        }
        assert (found["c-1002"]["data"]["direction"], found["c-1002"]["data"]["status"]) == (
            "outbound",
            "missed",
        )
        assert await reported(served) == [
            ["call.ringing"],
            ["call.answered"],
            ["call.ended"],
            ["call.missed"],
            [],
        ]

        assert await deliver(served, "msg_erase", call("call.deleted", "c-1002")) == 202
        await wait_for(lambda: processed(served, 6), timeout=20, what="the deletion processed")
        assert set(await calls(served)) == {"c-1001"}
        assert (await calls(served, include_deleted=True))["c-1002"]["deleted_at"] is not None


async def test_a_full_sync_keeps_the_calls_that_webhooks_brought(tmp_path: Path) -> None:
    async with served_hub(tmp_path, registry=REGISTRY, demo=False) as served:
        await create(served)
        assert await deliver(served, "msg_0", call("call.ringing", "c-7")) == 202
        await wait_for(lambda: processed(served, 1), timeout=20, what="the delivery processed")
        response = await served.client.post("/api/integrations/phone/sync", json={"kind": "full"})
        assert response.status == 202, await response.text()

        async def second_sync_done() -> bool:
            runs = (await served.running.services.store.list_runs("phone", limit=10)).items
            return len(runs) == 2 and all(run.status is RunStatus.COMPLETED for run in runs)

        await wait_for(second_sync_done, timeout=20, what="the second sync")
        assert set(await calls(served)) == {"c-7"}
