"""The aiohttp application: state, middlewares, and the routes of each part of the API.

Each part (`api._rest`, `api._events`, `api._webhooks`, `api._dashboard`) registers its own
routes with a `setup(app)` function; handlers reach the running hub through `app[STATE]`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from actors._hub import Hub
from actors._integrations import IntegrationService
from api import _dashboard, _events, _rest, _webhooks
from api._auth import ApiAuth, auth_middleware
from api._hub import RunningHub
from api._problems import Problem, from_http_exception
from config import Settings
from runtime.store import Store

log = logging.getLogger("api")

API_BODY_LIMIT = 1024 * 1024  # bytes; webhooks have their own limit (settings)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class AppState:
    running: RunningHub
    auth: ApiAuth

    @property
    def settings(self) -> Settings:
        return self.running.services.settings

    @property
    def store(self) -> Store:
        return self.running.services.store

    @property
    def integrations(self) -> IntegrationService:
        return self.running.services.integrations

    @property
    def hub(self) -> Hub:
        return self.running.hub


STATE = web.AppKey("state", AppState)


def state_of(request: web.Request) -> AppState:
    return request.app[STATE]


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as problem+json; an unexpected one is logged, its text never sent."""
    try:
        return await handler(request)
    except Problem as problem:
        return problem.response()
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return from_http_exception(error).response()
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return Problem(500, "the hub failed to handle this request; see its log").response()


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_app(running: RunningHub, auth: ApiAuth) -> web.Application:
    settings = running.services.settings
    limit = max(API_BODY_LIMIT, settings.webhook_max_body_bytes + 1)
    app = web.Application(
        middlewares=[problem_middleware, auth_middleware(auth)], client_max_size=limit
    )
    app[STATE] = AppState(running, auth)
    app.router.add_get("/healthz", healthz)
    _rest.setup(app)
    _events.setup(app)
    _webhooks.setup(app)
    _dashboard.setup(app)
    return app
