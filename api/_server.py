"""The composition root: settings -> root supervisor -> web app, run until a signal."""

from __future__ import annotations

import signal
from collections.abc import Callable

import anyio
from aiohttp import web

from config import Settings
from runtime import OnIntensity, Supervisor, SupervisorOptions

ROOT_OPTIONS = SupervisorOptions(name="hub", on_intensity=OnIntensity.PARK)


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/healthz", healthz)
    return app


async def serve(settings: Settings, *, ready: Callable[[str], None] | None = None) -> None:
    """Run the hub until SIGINT or SIGTERM, then stop everything in order."""
    root = Supervisor(options=ROOT_OPTIONS)
    runner = web.AppRunner(build_app(), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        async with root.running():
            (ready or _announce)(f"Integration Hub is running at {_url(runner, settings)}")
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    break
    finally:
        await runner.cleanup()


def _announce(line: str) -> None:
    print(line, flush=True)


def _url(runner: web.AppRunner, settings: Settings) -> str:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return f"http://{settings.host}:{address[1]}/"
    return f"http://{settings.host}:{settings.port}/"
