"""`integration-hub run`: services, the root supervisor and the web app, until a signal."""

from __future__ import annotations

import signal
from collections.abc import Callable

import anyio
from aiohttp import web

from api._hub import running_hub
from api._services import open_services
from config import Settings


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/healthz", healthz)
    return app


async def serve(settings: Settings, *, ready: Callable[[str], None] | None = None) -> None:
    """Run the hub until SIGINT or SIGTERM, then stop everything in reverse order."""
    async with open_services(settings) as services:
        runner = web.AppRunner(build_app(), handle_signals=False, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.host, settings.port).start()
            async with running_hub(services):
                (ready or _announce)(f"Integration Hub is running at {_url(runner, settings)}")
                await _until_signal()
        finally:
            await runner.cleanup()


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
