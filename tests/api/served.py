"""The hub with its web app served on loopback, in process, for the API and browser tests.

A context manager, not a fixture: the hub's task group must be entered and left by the same
task (the test's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from adapters import Registry
from api._app import build_app
from api._auth import ApiAuth
from api._hub import RunningHub, running_hub
from api._services import open_services
from config import load_settings
from runtime.testing import serving_locally

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
