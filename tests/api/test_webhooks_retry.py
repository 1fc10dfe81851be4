"""Webhook processing that fails: retried with backoff, dead after the last attempt, replayed
from the API's service, processed; and deliveries a previous process stored but never
processed, picked up by the retry scan. The hub is served with short retry times."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from actors._webhook_policy import WebhookOptions
from adapters import (
    AdapterContext,
    AdapterSpec,
    Registry,
    TransientError,
    WebhookRequest,
    WebhookResult,
    sign_webhook,
)
from adapters import demo as demo_adapter
from api._app import build_app
from api._auth import ApiAuth
from api._hub import running_hub
from api._services import open_services
from config import IntegrationType, WebhookScheme, load_settings
from runtime.store import NotFound, WebhookIn, WebhookStatus
from runtime.testing import serving_locally, wait_for
from tests.api.served import AUTH, TOKEN, ServedHub
from tests.api.test_webhooks import (
    add,
    body_of,
    customers,
    deliveries,
    integration,
    received_events,
)

SECRET = "flaky-secret-0123456789"
FAST = WebhookOptions(max_attempts=3, retry_base=0.05, retry_cap=0.2, scan_interval=0.05, lease=0.5)


@dataclass
class Upstream:
    """What the flaky adapter's peer does: fail this many more times (-1: always)."""

    failures: int = 0
    calls: int = 0


class FlakyAdapter(demo_adapter.DemoAdapter):
    name = "flaky"

    def __init__(self, context: AdapterContext, upstream: Upstream) -> None:
        super().__init__(context)
        self.upstream = upstream

    async def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        self.upstream.calls += 1
        if self.upstream.failures != 0:
            if self.upstream.failures > 0:
                self.upstream.failures -= 1
            raise TransientError("the shop's API answered 503")
        return await super().handle_webhook(request)


def _registry(upstream: Upstream) -> Registry:
    spec = AdapterSpec(
        name="flaky",
        title="Flaky shop",
        description="The demo, with webhooks that fail while told to.",
        icon="🧪",
        kind=IntegrationType.REST,
        factory=lambda context: FlakyAdapter(context, upstream),
        settings_schema=demo_adapter.SPEC.settings_schema,
        entities=demo_adapter.SPEC.entities,
    )
    return Registry((demo_adapter.SPEC, spec))


@asynccontextmanager
async def served(tmp_path: Path, upstream: Upstream) -> AsyncIterator[ServedHub]:
    """As tests.api.served.served_hub, with short webhook retry times and the flaky adapter."""
    settings = load_settings(env={"HUB_DATA_DIR": str(tmp_path / "data"), "HUB_API_TOKEN": TOKEN})
    auth = ApiAuth(TOKEN)
    async with (
        open_services(settings, registry=_registry(upstream)) as services,
        running_hub(services, demo=False, webhooks=FAST) as running,
        serving_locally(build_app(running, auth)) as base_url,
        aiohttp.ClientSession(base_url, headers=AUTH) as client,
    ):
        await add(running, integration("shop", WebhookScheme.GITHUB, SECRET, adapter="flaky"))
        yield ServedHub(running, base_url, client, auth)


async def _post(hub: ServedHub, body: bytes, delivery_id: str) -> int:
    headers = sign_webhook(WebhookScheme.GITHUB, SECRET, body, delivery_id=delivery_id)
    async with (
        aiohttp.ClientSession(hub.base_url) as public,
        public.post("/webhooks/shop", data=body, headers=headers) as response,
    ):
        return response.status


async def _delivery_is(hub: ServedHub, status: WebhookStatus, attempts: int) -> bool:
    found = await deliveries(hub.running, "shop")
    return len(found) == 1 and (found[0].status, found[0].attempts) == (status, attempts)


async def test_webhook_failing_is_retried_then_dead_then_replayed_and_processed(
    tmp_path: Path,
) -> None:
    upstream = Upstream(failures=-1)
    async with served(tmp_path, upstream) as hub:
        running = hub.running
        body = body_of("WH-1", "WH-2")

        assert await _post(hub, body, "d-1") == 202
        await wait_for(lambda: _delivery_is(hub, WebhookStatus.DEAD, 3), what="dead after 3")

        [dead] = await deliveries(running, "shop")
        assert dead.last_error == "TransientError: the shop's API answered 503"
        assert upstream.calls == 3
        assert await customers(running, "shop") == set()
        logs = [
            line.message
            for line in (await running.services.store.list_logs("shop", limit=10)).items
        ]
        assert sum("will be retried" in line for line in logs) == 2
        assert sum("(dead)" in line for line in logs) == 1

        upstream.failures = 0
        replayed = await running.webhooks.replay("shop", "d-1")

        assert (replayed.status, replayed.attempts, replayed.last_error) == (
            WebhookStatus.RECEIVED, 0, None
        )  # fmt: skip
        await wait_for(lambda: _delivery_is(hub, WebhookStatus.PROCESSED, 1), what="processed")
        assert await customers(running, "shop") == {"WH-1", "WH-2"}
        assert len(await received_events(running, "shop")) == 1
        [listed] = (await running.webhooks.list("shop")).items
        assert (listed.delivery_id, listed.status, listed.payload_kept) == (
            "d-1", WebhookStatus.PROCESSED, True
        )  # fmt: skip


async def test_webhook_replay_of_a_processed_delivery_changes_no_record(tmp_path: Path) -> None:
    upstream = Upstream()
    async with served(tmp_path, upstream) as hub:
        running = hub.running
        assert await _post(hub, body_of("WH-1"), "d-1") == 202
        await wait_for(lambda: _delivery_is(hub, WebhookStatus.PROCESSED, 1), what="processed")
        before = await running.services.store.events_after(None, 1000)

        await running.webhooks.replay("shop", "d-1")

        await wait_for(lambda: _delivery_is(hub, WebhookStatus.PROCESSED, 1), what="again")
        await wait_for(lambda: upstream.calls == 2, what="the adapter asked again")
        after = await running.services.store.events_after(None, 1000)
        new = [e.type.removeprefix("hub.integration.") for e in after[len(before) :]]
        assert "record_changed" not in new
        await wait_for(lambda: _received_twice(hub), what="a second webhook_received")
        with pytest.raises(NotFound):
            await running.webhooks.replay("shop", "no-such-delivery")
        with pytest.raises(NotFound):
            await running.webhooks.list("ghost")


async def _received_twice(hub: ServedHub) -> bool:
    return len(await received_events(hub.running, "shop")) == 2


async def test_webhook_failing_once_is_processed_on_the_second_attempt(tmp_path: Path) -> None:
    upstream = Upstream(failures=1)
    async with served(tmp_path, upstream) as hub:
        assert await _post(hub, body_of("WH-1"), "d-1") == 202

        await wait_for(lambda: _delivery_is(hub, WebhookStatus.PROCESSED, 2), what="processed")
        assert await customers(hub.running, "shop") == {"WH-1"}


async def test_webhook_stored_but_never_processed_is_picked_up_by_the_retry_scan(
    tmp_path: Path,
) -> None:
    upstream = Upstream()
    async with served(tmp_path, upstream) as hub:
        store = hub.running.services.store
        body = body_of("LEFT-1")
        headers = sign_webhook(WebhookScheme.GITHUB, SECRET, body, delivery_id="left")
        headers = {name.lower(): value for name, value in headers.items()}

        # As a process that died after the commit, before its actor processed it, left it.
        assert await store.save_webhook_deliveries(
            [WebhookIn("w-left", "shop", "left", headers, body)]
        ) == [True]  # fmt: skip

        await wait_for(lambda: _delivery_is(hub, WebhookStatus.PROCESSED, 1), what="picked up")
        assert await customers(hub.running, "shop") == {"LEFT-1"}
