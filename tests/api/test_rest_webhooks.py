"""`GET /api/integrations/{id}/webhooks` and `POST .../webhooks/{delivery_id}/replay`: the
deliveries' state in pages (never their payloads), and a replay from the first attempt."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import aiohttp
import orjson

from adapters import sign_webhook
from config import WebhookScheme
from runtime.store import WebhookStatus
from runtime.testing import wait_for
from tests.api.served import ServedHub, problem, served_hub

SECRET = "whsec_" + base64.b64encode(b"rest-webhooks-secret-0123").decode()
SHOP = {
    "id": "shop",
    "name": "Shop",
    "type": "REST",
    "adapter": "demo",
    "settings": {"customers": 0, "invoices": 0},
    "schedule": {"enabled": False},
    "webhook": {"scheme": "standard"},
    "credentials": {"webhook_secret": SECRET},
}


async def deliver(served: ServedHub, delivery_id: str, customer: str) -> None:
    body = orjson.dumps({"customers": [{"id": customer, "name": f"Customer {customer}"}]})
    headers = sign_webhook(
        WebhookScheme.STANDARD, SECRET, body, delivery_id=delivery_id, timestamp=time.time()
    )
    async with (
        aiohttp.ClientSession(served.base_url) as public,
        public.post("/webhooks/shop", data=body, headers=headers) as response,
    ):
        assert response.status == 202, await response.text()


async def statuses(served: ServedHub) -> dict[str, WebhookStatus]:
    store = served.running.services.store
    page = await store.list_webhook_deliveries("shop", limit=100)
    return {delivery.delivery_id: delivery.status for delivery in page.items}


async def all_processed(served: ServedHub, count: int) -> bool:
    found = await statuses(served)
    return len(found) == count and set(found.values()) == {WebhookStatus.PROCESSED}


async def test_deliveries_are_listed_in_pages_newest_first(tmp_path: Path) -> None:
    async with served_hub(tmp_path, demo=False) as served:
        assert (await served.client.post("/api/integrations", json=SHOP)).status == 201
        for n in range(3):
            await deliver(served, f"msg-{n}", f"C{n}")
        await wait_for(lambda: all_processed(served, 3), timeout=20, what="processing")

        path = "/api/integrations/shop/webhooks"
        first = await (await served.client.get(path, params={"limit": "2"})).json()
        second = await (
            await served.client.get(path, params={"limit": "2", "cursor": first["next_cursor"]})
        ).json()
        assert second["next_cursor"] is None
        listed = first["items"] + second["items"]
        assert [item["delivery_id"] for item in listed] == ["msg-2", "msg-1", "msg-0"]
        item = listed[0]
        assert item["status"] == "processed"
        assert item["attempts"] == 1
        assert item["payload_kept"] is True
        assert item["received_at"].endswith("Z")
        text = orjson.dumps(first).decode() + orjson.dumps(second).decode()
        assert "Customer" not in text  # the payload is not listed
        assert SECRET not in text

        processed = await served.client.get(path, params={"status": "processed"})
        assert len((await processed.json())["items"]) == 3
        dead = await served.client.get(path, params={"status": "dead"})
        assert (await dead.json())["items"] == []
        bogus = await problem(served, "GET", f"{path}?status=lost")
        assert (bogus["status"], bogus["errors"][0]["field"]) == (422, "status")
        bad_cursor = await problem(served, "GET", f"{path}?cursor=bm9wZQ")
        assert (bad_cursor["status"], bad_cursor["errors"][0]["field"]) == (422, "cursor")
        assert (await problem(served, "GET", "/api/integrations/nope/webhooks"))["status"] == 404


async def test_a_delivery_is_replayed_from_its_first_attempt(tmp_path: Path) -> None:
    async with served_hub(tmp_path, demo=False) as served:
        await served.client.post("/api/integrations", json=SHOP)
        await deliver(served, "msg-0", "C0")
        await wait_for(lambda: all_processed(served, 1), timeout=20, what="processing")

        response = await served.client.post("/api/integrations/shop/webhooks/msg-0/replay")
        assert response.status == 202, await response.text()
        body = await response.json()
        assert body["delivery_id"] == "msg-0"
        assert body["status"] == "received"
        assert body["attempts"] == 0

        async def processed_again() -> bool:
            page = await served.running.services.store.list_webhook_deliveries("shop", limit=5)
            [delivery] = page.items
            return delivery.status is WebhookStatus.PROCESSED and delivery.attempts == 1

        await wait_for(processed_again, timeout=20, what="the replay to be processed")
        for path in (
            "/api/integrations/shop/webhooks/msg-9/replay",
            "/api/integrations/nope/webhooks/msg-0/replay",
            "/api/integrations/shop/webhooks/%20/replay",
        ):
            assert (await problem(served, "POST", path))["status"] == 404
