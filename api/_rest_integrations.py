"""`/api/integrations` and `/api/integrations/{id}`: list, create, read, change, delete.

Changes go through `actors.IntegrationCommands` (stored, then the hub starts, restarts or stops
the actor). A detail carries `ETag: "<version>"`; a PATCH with `If-Match` is applied only to
that version (412 otherwise). Credentials are accepted in `credentials` and never returned:
a detail lists the names of those that are set.
"""

from __future__ import annotations

import re

from aiohttp import web

from api._openapi_ops import (
    INTEGRATION_ID,
    JSON,
    MERGE_PATCH,
    PAGE,
    Body,
    Operation,
    Param,
    Reply,
    SchemaRef,
)
from api._problems import Problem
from api._rest_io import (
    bad_cursor,
    etag,
    integration_id,
    query_cursor,
    query_limit,
    read_object,
    respond,
    rest_of,
    translated,
)
from api._schemas import IntegrationDetail, IntegrationPage, detail_out, summary_out
from config import IntegrationInput
from runtime.store import Conflict, InvalidValue

ORIGIN = "api"
_ENTITY_TAG = re.compile(r'\s*"(\d{1,18})"\s*')


@translated
async def list_integrations(request: web.Request) -> web.Response:
    rest = rest_of(request)
    limit, cursor = query_limit(request), query_cursor(request)
    try:
        page = await rest.overview.page(limit=limit, after=cursor)
    except InvalidValue:
        raise bad_cursor() from None
    items = [summary_out(summary) for summary in page.items]
    return respond(IntegrationPage(items=items, next_cursor=page.next_cursor))


@translated
async def create_integration(request: web.Request) -> web.Response:
    rest = rest_of(request)
    data = await read_object(request)
    assert data is not None
    try:
        view = await rest.commands.create(data, origin=ORIGIN)
    except Conflict:
        raise Problem(409, "an integration with this id exists already") from None
    detail = await _detail(request, view.config.id)
    headers = {"Location": f"/api/integrations/{detail.id}", "ETag": etag(detail.version)}
    return respond(detail, 201, headers)


@translated
async def get_integration(request: web.Request) -> web.Response:
    detail = await _detail(request, integration_id(request))
    return respond(detail, headers={"ETag": etag(detail.version)})


@translated
async def patch_integration(request: web.Request) -> web.Response:
    rest = rest_of(request)
    target = integration_id(request)
    patch = await read_object(request, media_types=(MERGE_PATCH, JSON))
    assert patch is not None
    expected = await _expected_version(request, target)
    try:
        await rest.commands.update(target, patch, origin=ORIGIN, expected_version=expected)
    except Conflict:
        if expected is not None:
            raise _precondition_failed() from None
        raise Problem(409, "the integration was changed at the same time; try again") from None
    detail = await _detail(request, target)
    return respond(detail, headers={"ETag": etag(detail.version)})


@translated
async def delete_integration(request: web.Request) -> web.Response:
    await rest_of(request).commands.delete(integration_id(request), origin=ORIGIN)
    return web.Response(status=204)


async def _detail(request: web.Request, target: str) -> IntegrationDetail:
    return detail_out(await rest_of(request).overview.summary(target))


async def _expected_version(request: web.Request, target: str) -> int | None:
    """The version `If-Match` asks for (None: no precondition); 412 when it is not current."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    current = (await rest_of(request).state.integrations.get(target)).version
    if header.strip() == "*":
        return current
    versions = set()
    for tag in header.split(","):
        if match := _ENTITY_TAG.fullmatch(tag):
            versions.add(int(match.group(1)))
    if current not in versions:
        raise _precondition_failed()
    return current


def _precondition_failed() -> Problem:
    return Problem(412, "the integration has changed since that version; read it again, then retry")


IF_MATCH = Param(
    "If-Match",
    "header",
    {"type": "string"},
    'Apply only to this version, as the ETag gave it: "<version>".',
    example='"1"',
)
DETAIL_HEADERS = {"ETag": 'The version, "<n>": send it as If-Match with a change.'}

OPERATIONS = (
    Operation(
        "GET",
        "/api/integrations",
        "listIntegrations",
        "Integrations with their status, last sync and records",
        "integrations",
        {200: Reply("A page of integrations, oldest first.", IntegrationPage)},
        errors=(422,),
        handler=list_integrations,
        params=PAGE,
    ),
    Operation(
        "POST",
        "/api/integrations",
        "createIntegration",
        "Create an integration (credentials are write-only)",
        "integrations",
        {
            201: Reply(
                "Created; the hub starts it when enabled.",
                IntegrationDetail,
                headers={"Location": "The integration's URL.", **DETAIL_HEADERS},
            )
        },
        errors=(400, 409, 413, 415, 422),
        handler=create_integration,
        body=Body(IntegrationInput),
    ),
    Operation(
        "GET",
        "/api/integrations/{id}",
        "getIntegration",
        "One integration: summary, configuration, names of the credentials set",
        "integrations",
        {200: Reply("The integration.", IntegrationDetail, headers=DETAIL_HEADERS)},
        errors=(404,),
        handler=get_integration,
        params=(INTEGRATION_ID,),
    ),
    Operation(
        "PATCH",
        "/api/integrations/{id}",
        "updateIntegration",
        "Change an integration (JSON merge patch, RFC 7396)",
        "integrations",
        {200: Reply("Changed; the hub restarts it.", IntegrationDetail, headers=DETAIL_HEADERS)},
        errors=(400, 404, 409, 412, 413, 415, 422),
        handler=patch_integration,
        params=(INTEGRATION_ID, IF_MATCH),
        body=Body(SchemaRef("IntegrationPatch"), media_types=(MERGE_PATCH, JSON)),
        description="Members set to null are removed (a credential set to null is deleted); "
        "objects merge member by member. The whole result is validated before anything is "
        "stored.",
    ),
    Operation(
        "DELETE",
        "/api/integrations/{id}",
        "deleteIntegration",
        "Stop and delete an integration with its records, runs and logs",
        "integrations",
        {204: Reply("Deleted.")},
        errors=(404,),
        handler=delete_integration,
        params=(INTEGRATION_ID,),
    ),
)
