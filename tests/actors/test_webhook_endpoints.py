"""Which integrations take webhooks, cached: a secret read once per configuration version, a
change noticed after `revalidate_after`, unknown ids cached too."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest

from actors._webhook_endpoints import WebhookEndpoints
from api._services import Services, open_services
from config import WebhookScheme, load_settings
from runtime.store import Store
from tests.api.test_webhooks import integration

SECRET = "endpoint-secret-0123456789"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class CountingStore:
    """Counts the integration reads the cache makes."""

    def __init__(self, services: Services) -> None:
        self._store = services.store
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def get_integration(self, integration_id: str) -> Any:
        self.reads += 1
        return await self._store.get_integration(integration_id)


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = load_settings(env={"HUB_DATA_DIR": str(tmp_path / "data")})
    async with open_services(settings) as opened:
        yield opened


def _endpoints(services: Services, store: CountingStore, clock: Clock) -> WebhookEndpoints:
    return WebhookEndpoints(
        cast(Store, store),  # forwards every other call to the real store
        services.integrations,
        revalidate_after=1.0,
        clock=clock,
    )


async def test_endpoint_is_read_once_per_period_and_reloaded_when_its_version_changes(
    services: Services,
) -> None:
    await services.integrations.create(
        integration("shop", WebhookScheme.GITHUB, SECRET), origin="t"
    )
    store, clock = CountingStore(services), Clock()
    endpoints = _endpoints(services, store, clock)

    first = await endpoints.get("shop")
    again = await endpoints.get("shop")
    clock.now = 1.5
    unchanged = await endpoints.get("shop")
    await services.integrations.update("shop", {"webhook": {"scheme": "shopify"}}, origin="t")
    cached = await endpoints.get("shop")
    clock.now = 3.0
    changed = await endpoints.get("shop")

    assert first is not None
    assert first is again
    assert first is unchanged
    assert first is cached
    assert changed is not None
    assert changed.version == first.version + 1
    assert changed.verifier.scheme is WebhookScheme.SHOPIFY
    assert store.reads == 3


async def _create(services: Services, *args: Any, **extra: Any) -> None:
    await services.integrations.create(integration(*args, **extra), origin="test")


async def test_endpoint_of_an_unknown_disabled_or_unconfigured_integration_is_none(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    scheme = WebhookScheme.STANDARD
    await _create(services, "plain", None, SECRET)
    await services.integrations.create(
        integration("off", scheme, SECRET, enabled=False), origin="t"
    )
    await _create(services, "nosecret", scheme, None)
    await _create(services, "bad", scheme, "whsec_" + SECRET)
    store, clock = CountingStore(services), Clock()
    endpoints = _endpoints(services, store, clock)

    found = {i: await endpoints.get(i) for i in ("plain", "off", "nosecret", "bad", "ghost")}
    await endpoints.get("ghost")

    assert found == dict.fromkeys(found)
    assert store.reads == 5
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "no 'webhook_secret' credential" in logged
    assert "is not" in logged  # the secret is not base64
    assert SECRET not in logged


async def test_endpoint_of_an_integration_deleted_and_created_again_has_its_new_secret(
    services: Services,
) -> None:
    scheme = WebhookScheme.GITHUB
    await _create(services, "shop", scheme, SECRET)
    store, clock = CountingStore(services), Clock()
    endpoints = _endpoints(services, store, clock)
    first = await endpoints.get("shop")

    await services.integrations.delete("shop", origin="test")
    await _create(services, "shop", scheme, "the-other-secret")
    clock.now = 1.5
    again = await endpoints.get("shop")

    assert first is not None
    assert again is not None
    assert again.version == first.version  # version 1 both times
    assert again.verifier.key == b"the-other-secret"
