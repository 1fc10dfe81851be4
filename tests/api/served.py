"""The hub with its web app served on loopback, in process, for the API and browser tests.

A context manager, not a fixture: the hub's task group must be entered and left by the same
task (the test's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from adapters import Registry, demo
from api._app import build_app
from api._auth import ApiAuth
from api._hub import RunningHub, running_hub
from api._services import open_services
from config import load_settings
from runtime.testing import serving_locally
from tests.actors.fakes import ENTITY, FakePeer, fake_spec

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass(frozen=True, slots=True)
class ServedHub:
    running: RunningHub
    base_url: str
    client: aiohttp.ClientSession  # sends the bearer token with every request
    auth: ApiAuth


@asynccontextmanager
async def served_hub(
    tmp_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    registry: Registry | None = None,
    demo: bool = True,
) -> AsyncIterator[ServedHub]:
    """The hub on SQLite in `tmp_path` (or what `env` sets), API token `TOKEN`."""
    settings = load_settings(
        env={"HUB_DATA_DIR": str(tmp_path / "data"), "HUB_API_TOKEN": TOKEN, **(env or {})}
    )
    auth = ApiAuth(TOKEN)
    async with (
        open_services(settings, registry=registry) as services,
        running_hub(services, demo=demo) as running,
        serving_locally(build_app(running, auth)) as base_url,
        aiohttp.ClientSession(base_url, headers=AUTH) as client,
    ):
        yield ServedHub(running, base_url, client, auth)


def shop(integration_id: str = "shop", **fields: Any) -> dict[str, Any]:
    """An integration of the fake `shop` adapter (see `shop_registry`), schedule off."""
    return {
        "id": integration_id,
        "name": "Shop",
        "type": "REST",
        "adapter": "shop",
        "entities": [ENTITY],
        "schedule": {"enabled": False},
        **fields,
    }


def shop_registry(peer: FakePeer | None = None) -> Registry:
    """The demo and a fake `shop` adapter talking to `peer` (a default one if None)."""
    return Registry((demo.SPEC, fake_spec("shop", peer or FakePeer())))


async def problem(served: ServedHub, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """The problem+json body of a request expected to fail; its `status` is the response's."""
    response = await served.client.request(method, path, **kwargs)
    assert response.content_type == "application/problem+json", await response.text()
    body: dict[str, Any] = await response.json(content_type=None)
    assert body["status"] == response.status
    assert body["detail"]
    return body
