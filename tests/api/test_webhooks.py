"""`POST /webhooks/{id}` against the hub served on loopback: every scheme end to end (stored
before the answer, processed into records by the demo adapter), and what is refused: a bad
signature (401), an oversize body (413), an integration that takes no webhooks (404), each
with nothing stored; a repeated delivery id answered 2xx and processed once; no secret in any
log line or response."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import orjson
import pytest

from adapters import sign_webhook
from api._hub import RunningHub
from config import WebhookScheme
from runtime.store import RunStatus, StoreUnavailable, WebhookStatus
from runtime.testing import wait_for
from tests.api.served import ServedHub, served_hub

SECRETS = {
    WebhookScheme.STANDARD: "whsec_" + base64.b64encode(b"standard-secret-0123456789").decode(),
    WebhookScheme.GITHUB: "github-secret-0123456789",
    WebhookScheme.STRIPE: "whsec_stripe-secret-0123456789",
    WebhookScheme.SHOPIFY: "shopify-secret-0123456789",
}
LIMIT = 4096
ENV = {"HUB_WEBHOOK_MAX_BODY_BYTES": str(LIMIT)}
RECEIVED = "hub.integration.webhook_received"


def integration(
    integration_id: str, scheme: WebhookScheme | None, secret: str | None, **extra: Any
) -> dict[str, Any]:
    """A demo integration with an empty world and no schedule: records come from webhooks."""
    data: dict[str, Any] = {
        "id": integration_id,
        "name": f"Shop {integration_id}",
        "type": "REST",
        "adapter": "demo",
        "settings": {"customers": 0, "invoices": 0},
        "schedule": {"enabled": False},
        **extra,
    }
    if scheme is not None:
        data["webhook"] = {"scheme": scheme.value}
    if secret is not None:
        data["credentials"] = {"webhook_secret": secret}
    return data


async def add(running: RunningHub, data: dict[str, Any]) -> None:
    """Create and start it, and wait for its first (empty) sync, so that no full sync runs
    later over the records the webhooks bring."""
    await running.services.integrations.create(data, origin="test")
    if data.get("enabled", True):
        await running.hub.apply(data["id"], enabled=True)
        await wait_for(lambda: _synced(running, data["id"]), timeout=20, what="the first sync")


async def _synced(running: RunningHub, integration_id: str) -> bool:
    runs = (await running.services.store.list_runs(integration_id, limit=10)).items
    return len(runs) == 2 and all(run.status is RunStatus.COMPLETED for run in runs)


def body_of(*customers: str, **extra: Any) -> bytes:
    records = [{"id": c, "name": f"Customer {c}"} for c in customers]
    return orjson.dumps({"customers": records, **extra})


def signed(
    scheme: WebhookScheme, body: bytes, delivery_id: str, secret: str | None = None
) -> dict[str, str]:
    return sign_webhook(
        scheme, secret or SECRETS[scheme], body, delivery_id=delivery_id, timestamp=time.time()
    )


async def post(
    served: ServedHub, integration_id: str, body: bytes, headers: dict[str, str]
) -> tuple[int, str, str]:
    """(status, content type, text), posted without the API token: webhooks are public."""
    async with (
        aiohttp.ClientSession(served.base_url) as public,
        public.post(f"/webhooks/{integration_id}", data=body, headers=headers) as response,
    ):
        return response.status, response.content_type, await response.text()


async def customers(running: RunningHub, integration_id: str) -> set[str]:
    page = await running.services.store.list_records(integration_id, "customers", limit=100)
    return {r.external_id for r in page.items}


async def received_events(running: RunningHub, integration_id: str) -> list[dict[str, Any]]:
    found = await running.services.store.events_after(None, 10_000)
    return [
        dict(e.data) for e in found if e.type == RECEIVED and e.integration_id == integration_id
    ]


async def deliveries(running: RunningHub, integration_id: str) -> list[Any]:
    page = await running.services.store.list_webhook_deliveries(integration_id, limit=50)
    return list(page.items)


# -- accepted --------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", list(WebhookScheme))
async def test_webhook_of_each_scheme_is_stored_then_processed_into_records(
    tmp_path: Path, scheme: WebhookScheme, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with served_hub(tmp_path, env=ENV, demo=False) as served:
        running = served.running
        await add(running, integration("shop", scheme, SECRETS[scheme]))
        body = body_of("WH-1", "WH-2", event="customers.changed", id="evt_0001")

        status, _, text = await post(served, "shop", body, signed(scheme, body, "msg_0001"))

        assert (status, text) == (202, "")
        [stored] = await deliveries(running, "shop")  # stored before the answer
        assert stored.body == body
        assert stored.delivery_id == ("evt_0001" if scheme is WebhookScheme.STRIPE else "msg_0001")
        await wait_for(lambda: _status(running, "shop", WebhookStatus.PROCESSED), what="processed")
        assert await customers(running, "shop") == {"WH-1", "WH-2"}
        [event] = await received_events(running, "shop")
        assert event["delivery_id"] == stored.delivery_id
        assert event["records"] == {"customers": 2}
        assert event["events"] == [{"type": "customers.changed", "data": {}}]
        await wait_for(lambda: _all_sent(running, "shop"), what="the events relayed to the bus")
    _nothing_secret(caplog, [text], scheme)


async def _all_sent(running: RunningHub, integration_id: str) -> bool:
    found = await running.services.store.events_after(None, 10_000)
    return all(e.sent_at is not None for e in found if e.integration_id == integration_id)


async def _status(running: RunningHub, integration_id: str, status: WebhookStatus) -> bool:
    found = await deliveries(running, integration_id)
    return bool(found) and all(d.status is status for d in found)


async def test_webhook_repeated_delivery_id_gets_2xx_and_is_processed_once(tmp_path: Path) -> None:
    scheme = WebhookScheme.GITHUB
    async with served_hub(tmp_path, env=ENV, demo=False) as served:
        running = served.running
        await add(running, integration("shop", scheme, SECRETS[scheme]))
        first = body_of("WH-1")
        second = body_of("WH-2")  # a different body under the same delivery id

        answers = [
            (await post(served, "shop", first, signed(scheme, first, "dup-1")))[0],
            (await post(served, "shop", first, signed(scheme, first, "dup-1")))[0],
            (await post(served, "shop", second, signed(scheme, second, "dup-1")))[0],
        ]

        assert answers == [202, 200, 200]
        await wait_for(lambda: _status(running, "shop", WebhookStatus.PROCESSED), what="processed")
        assert len(await deliveries(running, "shop")) == 1
        assert await customers(running, "shop") == {"WH-1"}
        assert len(await received_events(running, "shop")) == 1


async def test_webhook_concurrent_deliveries_are_committed_together(tmp_path: Path) -> None:
    scheme = WebhookScheme.STANDARD
    async with served_hub(tmp_path, env=ENV, demo=False) as served:
        running = served.running
        await add(running, integration("shop", scheme, SECRETS[scheme]))
        commits_before = running.webhooks.intake.commits
        bodies = [body_of(f"C-{n}") for n in range(40)]

        statuses: dict[int, int] = {}

        async with (
            aiohttp.ClientSession(served.base_url) as public,
            anyio.create_task_group() as tg,
        ):

            async def send(n: int) -> None:
                headers = signed(scheme, bodies[n], f"msg_{n}")
                async with public.post("/webhooks/shop", data=bodies[n], headers=headers) as reply:
                    statuses[n] = reply.status

            for n in range(40):
                tg.start_soon(send, n)

        assert statuses == dict.fromkeys(range(40), 202)
        assert running.webhooks.intake.commits - commits_before < 40
        await wait_for(lambda: _status(running, "shop", WebhookStatus.PROCESSED), what="processed")
        assert await customers(running, "shop") == {f"C-{n}" for n in range(40)}


# -- refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", list(WebhookScheme))
async def test_webhook_with_a_bad_signature_gets_401_and_nothing_is_stored(
    tmp_path: Path, scheme: WebhookScheme, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with served_hub(tmp_path, env=ENV, demo=False) as served:
        running = served.running
        await add(running, integration("shop", scheme, SECRETS[scheme]))
        body = body_of("WH-1")
        wrong = signed(scheme, body, "msg_1", secret="whsec_d3Jvbmcgc2VjcmV0")
        tampered = signed(scheme, body, "msg_2")

        answers = [
            await post(served, "shop", body, wrong),
            await post(served, "shop", body + b" ", tampered),
            await post(served, "shop", body, {}),
        ]

        assert {status for status, _, _ in answers} == {401}
        assert {kind for _, kind, _ in answers} == {"application/problem+json"}
        details = {orjson.loads(text)["detail"] for _, _, text in answers}
        assert details == {"the webhook signature could not be verified"}
        assert await deliveries(running, "shop") == []
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "no signature matched" in logged
        assert "is missing" in logged
    _nothing_secret(caplog, [text for _, _, text in answers], scheme)


async def test_webhook_body_over_the_limit_gets_413_and_nothing_is_stored(tmp_path: Path) -> None:
    scheme = WebhookScheme.GITHUB
    async with served_hub(tmp_path, env=ENV, demo=False) as served:
        running = served.running
        await add(running, integration("shop", scheme, SECRETS[scheme]))
        big = body_of(*(f"C-{n:05d}" for n in range(200)))
        assert len(big) > LIMIT

        declared = await post(served, "shop", big, signed(scheme, big, "big-1"))
        chunked = await _post_chunked(served, "shop", big, signed(scheme, big, "big-2"))
        at_limit = body_of("X") + b" " * (LIMIT - len(body_of("X")))
        fits = await post(served, "shop", at_limit, signed(scheme, at_limit, "fits"))

        assert (declared[0], chunked, fits[0]) == (413, 413, 202)
        assert declared[1] == "application/problem+json"
        assert [d.delivery_id for d in await deliveries(running, "shop")] == ["fits"]


async def _post_chunked(
    served: ServedHub, integration_id: str, body: bytes, headers: dict[str, str]
) -> int:
    """Sent with chunked transfer encoding: no Content-Length to trust."""

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    async with (
        aiohttp.ClientSession(served.base_url) as public,
        public.post(f"/webhooks/{integration_id}", data=chunks(), headers=headers) as response,
    ):
        assert response.request_info.headers.get("Transfer-Encoding") == "chunked"
        return response.status


async def test_webhook_to_an_integration_that_takes_none_gets_404(tmp_path: Path) -> None:
    scheme = WebhookScheme.GITHUB
    secret = SECRETS[scheme]
    async with served_hub(tmp_path, env=ENV, demo=False) as served:
        running = served.running
        await add(running, integration("plain", None, secret))
        await add(running, integration("nosecret", scheme, None))
        await add(running, integration("off", scheme, secret, enabled=False))
        await add(running, integration("badsecret", WebhookScheme.STANDARD, "whsec_%%%"))
        body = body_of("WH-1")

        answers = {
            target: (await post(served, target, body, signed(scheme, body, "m1")))[0]
            for target in (
                "plain",
                "nosecret",
                "off",
                "badsecret",
                "ghost",
                "Not_A_Slug",
                "a.b",
                "x%2Fy",
            )
        }

        assert answers == dict.fromkeys(answers, 404)
        for target in ("plain", "nosecret", "off", "badsecret"):
            assert await deliveries(running, target) == []


async def test_webhook_that_cannot_be_stored_gets_503_to_send_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheme = WebhookScheme.GITHUB
    async with served_hub(tmp_path, env=ENV, demo=False) as served:
        running = served.running
        await add(running, integration("shop", scheme, SECRETS[scheme]))
        body = body_of("WH-1")

        async def unavailable(deliveries: object) -> list[bool]:
            raise StoreUnavailable("the database is restarting")

        with monkeypatch.context() as patched:
            patched.setattr(running.services.store, "save_webhook_deliveries", unavailable)
            async with (
                aiohttp.ClientSession(served.base_url) as public,
                public.post(
                    "/webhooks/shop", data=body, headers=signed(scheme, body, "m1")
                ) as response,
            ):
                refused = (response.status, response.headers.get("Retry-After"))
                detail = orjson.loads(await response.text())["detail"]

        assert refused == (503, "5")
        assert "send it again" in detail
        assert await deliveries(running, "shop") == []
        assert (await post(served, "shop", body, signed(scheme, body, "m1")))[0] == 202


async def test_webhook_secret_change_takes_effect(tmp_path: Path) -> None:
    scheme = WebhookScheme.GITHUB
    async with served_hub(tmp_path, env=ENV, demo=False) as served:
        running = served.running
        await add(running, integration("shop", scheme, SECRETS[scheme]))
        body = body_of("WH-1")
        assert (await post(served, "shop", body, signed(scheme, body, "before")))[0] == 202

        await running.services.integrations.update(
            "shop", {"credentials": {"webhook_secret": "the-new-secret"}}, origin="test"
        )

        async def old_refused() -> bool:
            headers = signed(scheme, body, f"old-{time.monotonic()}")
            return (await post(served, "shop", body, headers))[0] == 401

        await wait_for(old_refused, timeout=10, what="the old secret refused")
        new = signed(scheme, body, "after", secret="the-new-secret")
        assert (await post(served, "shop", body, new))[0] == 202


def _nothing_secret(
    caplog: pytest.LogCaptureFixture, texts: list[str], scheme: WebhookScheme
) -> None:
    secret = SECRETS[scheme]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert secret not in logged
    assert secret.removeprefix("whsec_") not in logged
    assert all(secret not in text for text in texts)
