"""The REST API: every route under `/api/` but the live events, and the OpenAPI document.

The routes come from the operations tables of `api._rest_integrations`, `api._rest_reads`,
`api._rest_actions` and `api._rest_webhooks`; the same tables, with the live events and the
inbound webhooks, make the OpenAPI 3.1 document served at `/api/openapi.json` (built once,
when the app is).
"""

from __future__ import annotations

import orjson
from aiohttp import web

from api import _events, _rest_actions, _rest_integrations, _rest_reads, _rest_webhooks
from api._openapi import HEALTHZ, WEBHOOK, build_document
from api._openapi_ops import JSON, Operation, Reply, register
from api._rest_io import setup_rest

OPENAPI_DOCUMENT = web.AppKey("openapi_document", bytes)

ROUTES = (
    *_rest_integrations.OPERATIONS,
    *_rest_actions.OPERATIONS,
    *_rest_reads.OPERATIONS,
    *_rest_webhooks.OPERATIONS,
)


async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI_DOCUMENT], content_type=JSON)


OPENAPI = Operation(
    "GET",
    "/api/openapi.json",
    "getOpenApi",
    "This document",
    "hub",
    {200: Reply("OpenAPI 3.1.", {"type": "object"})},
    handler=openapi_json,
)


def operations() -> tuple[Operation, ...]:
    """Everything the document describes, served here or by the other parts of the app."""
    return (*ROUTES, _events.OPERATION, OPENAPI, WEBHOOK, HEALTHZ)


def setup(app: web.Application) -> None:
    setup_rest(app)
    app[OPENAPI_DOCUMENT] = orjson.dumps(build_document(operations()))
    register(app, (*ROUTES, OPENAPI))
