"""`integration-hub run`: services, the root supervisor and the web app, until a signal."""

from __future__ import annotations

import signal
from collections.abc import Callable

import anyio
from aiohttp import web

from api._app import build_app
from api._auth import ApiAuth, ApiToken, load_api_token
from api._hub import running_hub
from api._services import open_services
from config import Settings


async def serve(settings: Settings, *, ready: Callable[[str], None] | None = None) -> None:
    """Run the hub until SIGINT or SIGTERM, then stop everything in reverse order: the web
    app first (no new requests), then the integrations, then the services."""
    token = load_api_token(settings)
    async with open_services(settings) as services, running_hub(services) as running:
        app = build_app(running, ApiAuth(token.value))
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.host, settings.port).start()
            (ready or _announce)(_ready_line(_url(runner, settings), token))
            await _until_signal()
        finally:
            await runner.cleanup()


def _ready_line(url: str, token: ApiToken) -> str:
    """As Jupyter does: the token the hub keeps in its data directory is shown in the sign-in
    URL, so the first start needs no configuration. One set by the operator is never printed."""
    if token.from_file:
        return f"Integration Hub is running at {url} - open {url}login?token={token.value}"
    return f"Integration Hub is running at {url} - sign in with HUB_API_TOKEN"


async def _until_signal() -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            return


def _announce(line: str) -> None:
    print(line, flush=True)


def _url(runner: web.AppRunner, settings: Settings) -> str:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return f"http://{settings.host}:{address[1]}/"
    return f"http://{settings.host}:{settings.port}/"
