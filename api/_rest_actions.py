"""Things an integration is asked to do now: test its connection, sync, reconnect; and the
setup wizard's two helpers, which try an integration before it is saved.

`POST .../sync` answers 202 once the integration's actor has begun the run of the first
entity, so the answer carries that run's id; the other entities' runs begin in turn.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from pydantic import ValidationError

from actors._integrations import InvalidIntegration
from adapters import SyncKind
from api._openapi_ops import INTEGRATION_ID, Body, Operation, Reply, SchemaRef
from api._problems import FieldError, Problem, invalid
from api._rest_io import (
    field_problems,
    integration_id,
    read_object,
    respond,
    rest_of,
    translated,
)
from api._schemas import (
    ConnectionTest,
    ReconnectAccepted,
    Sample,
    SampleRequest,
    SyncAccepted,
    SyncRequest,
    sync_out,
    test_out,
)
from config import describe_validation_error
from runtime import describe


@translated
async def test_connection(request: web.Request) -> web.Response:
    result = await rest_of(request).commands.test(integration_id(request))
    return respond(test_out(result))


@translated
async def sync(request: web.Request) -> web.Response:
    target = integration_id(request)
    body = await read_object(request, optional=True)
    try:
        kind = SyncRequest.model_validate(body or {}).kind
    except ValidationError as error:
        raise field_problems(describe_validation_error(error)) from None
    reply = await rest_of(request).commands.sync(target, SyncKind(kind))
    return respond(sync_out(kind, reply), 202)


@translated
async def reconnect(request: web.Request) -> web.Response:
    view = await rest_of(request).commands.reconnect(integration_id(request))
    return respond(ReconnectAccepted(status=view.status), 202)


@translated
async def connection_test(request: web.Request) -> web.Response:
    data = await read_object(request)
    assert data is not None
    result = await rest_of(request).probe.test(data)
    return respond(test_out(result))


@translated
async def sample(request: web.Request) -> web.Response:
    rest = rest_of(request)
    data = await read_object(request)
    try:
        body = SampleRequest.model_validate(data)
    except ValidationError as error:
        raise field_problems(describe_validation_error(error)) from None
    _check_entity(request, body.integration, body.entity)
    try:
        found = await rest.probe.sample(body.integration, body.entity)
    except InvalidIntegration as error:
        raise field_problems(error.problems, prefix="integration") from None
    except TimeoutError:
        raise Problem(504, "the source did not answer in time") from None
    except Exception as error:  # the source's trouble, shown as the wizard's error
        raise Problem(502, f"the source could not be read: {describe(error)}") from None
    return respond(
        Sample(entity=found.entity, fields=list(found.fields), records=list(found.records))  # type: ignore[arg-type]  # records are JSON objects
    )


def _check_entity(request: web.Request, integration: Mapping[str, object], entity: str) -> None:
    """An entity the adapter does not offer is the request's mistake (422), not the source's."""
    adapter = integration.get("adapter")
    for spec in rest_of(request).state.running.services.registry.catalog():
        if spec.name == adapter and spec.entities and entity not in spec.entities:
            known = ", ".join(spec.entities)
            raise invalid([FieldError("entity", f"is not an entity of {spec.name} ({known})")])


OPERATIONS = (
    Operation(
        "POST",
        "/api/integrations/{id}/test",
        "testConnection",
        "Test the connection now (ahead of background work)",
        "actions",
        {200: Reply("The outcome; ok false says what failed.", ConnectionTest)},
        errors=(404, 409, 503),
        handler=test_connection,
        params=(INTEGRATION_ID,),
    ),
    Operation(
        "POST",
        "/api/integrations/{id}/sync",
        "syncNow",
        "Start a sync now",
        "actions",
        {202: Reply("Started: the first run's id and every entity to sync.", SyncAccepted)},
        errors=(400, 404, 409, 413, 415, 422, 503),
        handler=sync,
        params=(INTEGRATION_ID,),
        body=Body(SyncRequest, required=False),
        description="409 when a sync is running already, or the integration is disabled or "
        "not connected (the detail says what to do); 503 while it restarts or is parked.",
    ),
    Operation(
        "POST",
        "/api/integrations/{id}/reconnect",
        "reconnect",
        "Start the integration over now (after fixing its credentials), without backoff",
        "actions",
        {202: Reply("Restarted; its status after the first connect attempt.", ReconnectAccepted)},
        errors=(404, 409),
        handler=reconnect,
        params=(INTEGRATION_ID,),
    ),
    Operation(
        "POST",
        "/api/connection-tests",
        "testUnsavedConnection",
        "Wizard: test an integration that is not saved yet",
        "wizard",
        {200: Reply("The outcome; nothing is stored.", ConnectionTest)},
        errors=(400, 413, 415, 422),
        handler=connection_test,
        body=Body(SchemaRef("IntegrationDraft")),
        description="The body is an integration as for create; id and name may be left out.",
    ),
    Operation(
        "POST",
        "/api/samples",
        "sampleRecords",
        "Wizard: the first records of an entity and their field paths, for the field mapping",
        "wizard",
        {200: Reply("Up to 20 records as the source has them; nothing is stored.", Sample)},
        errors=(400, 413, 415, 422, 502, 504),
        handler=sample,
        body=Body(SchemaRef("SampleRequest")),
    ),
)
