"""What the hub knows about integrations' work: sync runs, logs, records, recent events, and
the catalog of adapters. Lists are keyset pages (`limit`, `cursor` -> `next_cursor`), newest
first except records, which come in external-id order.
"""

from __future__ import annotations

from aiohttp import web

from api._openapi_ops import INTEGRATION_ID, LIMIT, PAGE, Operation, Param, Reply
from api._problems import FieldError, invalid
from api._rest_io import (
    bad_cursor,
    integration_id,
    query_cursor,
    query_flag,
    query_id,
    query_limit,
    respond,
    rest_of,
    translated,
)
from api._schemas import (
    Activity,
    Catalog,
    LogPage,
    RecordPage,
    RunPage,
    catalog_item_out,
    event_out,
    log_out,
    record_out,
    run_out,
)
from runtime.store import InvalidValue


@translated
async def list_runs(request: web.Request) -> web.Response:
    rest = rest_of(request)
    target = integration_id(request)
    limit, cursor = query_limit(request), query_cursor(request)
    await rest.state.integrations.get(target)
    try:
        page = await rest.state.store.list_runs(target, limit=limit, before=cursor)
    except InvalidValue:
        raise bad_cursor() from None
    return respond(RunPage(items=[run_out(r) for r in page.items], next_cursor=page.next_cursor))


@translated
async def list_logs(request: web.Request) -> web.Response:
    rest = rest_of(request)
    target = integration_id(request)
    limit, cursor = query_limit(request), query_cursor(request)
    await rest.state.integrations.get(target)
    try:
        page = await rest.state.store.list_logs(target, limit=limit, before=cursor)
    except InvalidValue:
        raise bad_cursor() from None
    return respond(LogPage(items=[log_out(r) for r in page.items], next_cursor=page.next_cursor))


@translated
async def list_records(request: web.Request) -> web.Response:
    rest = rest_of(request)
    target = integration_id(request)
    limit, cursor = query_limit(request), query_cursor(request)
    include_deleted = query_flag(request, "include_deleted")
    view = await rest.state.integrations.get(target)
    entities = view.config.entities or _adapter_entities(request, view.config.adapter)
    entity = _entity(request, entities)
    try:
        page = await rest.state.store.list_records(
            target, entity, limit=limit, after=cursor, include_deleted=include_deleted
        )
    except InvalidValue:
        raise bad_cursor() from None
    items = [record_out(r) for r in page.items]
    return respond(RecordPage(items=items, next_cursor=page.next_cursor))


def _adapter_entities(request: web.Request, adapter: str) -> tuple[str, ...]:
    for spec in rest_of(request).state.running.services.registry.catalog():
        if spec.name == adapter:
            return spec.entities
    return ()


def _entity(request: web.Request, entities: tuple[str, ...]) -> str:
    values = request.query.getall("entity", [])
    if len(values) > 1:
        raise invalid([FieldError("entity", "must be given at most once")])
    known = ", ".join(entities) or "none"
    if not values:
        if len(entities) == 1:
            return entities[0]
        raise invalid([FieldError("entity", f"is required: one of {known}")])
    if values[0] not in entities:
        raise invalid([FieldError("entity", f"is not an entity of this integration ({known})")])
    return values[0]


@translated
async def catalog(request: web.Request) -> web.Response:
    specs = rest_of(request).state.running.services.registry.catalog()
    return respond(Catalog(items=[catalog_item_out(spec) for spec in specs]))


@translated
async def activity(request: web.Request) -> web.Response:
    rest = rest_of(request)
    limit = query_limit(request)
    of = query_id(request, "integration")
    rows = await rest.state.store.recent_events(limit, integration_id=of)
    # CloudEvents leave out an extension attribute without a value: no traceparent, no key.
    return respond(Activity(items=[event_out(row) for row in rows]), exclude_none=True)


ENTITY = Param(
    "entity",
    "query",
    {"type": "string", "minLength": 1, "maxLength": 64},
    "Entity to list; required when the integration has more than one.",
)
INCLUDE_DELETED = Param(
    "include_deleted",
    "query",
    {"type": "string", "enum": ["true", "false"], "default": "false"},
    "Also list records the source no longer has (with deleted_at).",
)
INTEGRATION_FILTER = Param(
    "integration",
    "query",
    {"type": "string", "pattern": INTEGRATION_ID.schema["pattern"]},
    "Only this integration's events.",
)

OPERATIONS = (
    Operation(
        "GET",
        "/api/integrations/{id}/runs",
        "listRuns",
        "Sync history, newest first",
        "integrations",
        {200: Reply("A page of runs.", RunPage)},
        errors=(404, 422),
        handler=list_runs,
        params=(INTEGRATION_ID, *PAGE),
    ),
    Operation(
        "GET",
        "/api/integrations/{id}/logs",
        "listLogs",
        "Log lines, newest first",
        "integrations",
        {200: Reply("A page of log lines.", LogPage)},
        errors=(404, 422),
        handler=list_logs,
        params=(INTEGRATION_ID, *PAGE),
    ),
    Operation(
        "GET",
        "/api/integrations/{id}/records",
        "listRecords",
        "Synced records of one entity, in external-id order",
        "integrations",
        {200: Reply("A page of records.", RecordPage)},
        errors=(404, 422),
        handler=list_records,
        params=(INTEGRATION_ID, ENTITY, INCLUDE_DELETED, *PAGE),
    ),
    Operation(
        "GET",
        "/api/catalog",
        "getCatalog",
        "Adapters installed and coming, with their settings schema",
        "catalog",
        {200: Reply("Every adapter.", Catalog)},
        handler=catalog,
    ),
    Operation(
        "GET",
        "/api/activity",
        "listActivity",
        "Recent events (CloudEvents with their outbox seq), newest first",
        "events",
        {200: Reply("The latest events.", Activity)},
        errors=(422,),
        handler=activity,
        params=(LIMIT, INTEGRATION_FILTER),
    ),
)
