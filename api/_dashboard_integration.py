"""One integration's page (`/integrations/{id}`) and its fragments: the status panel (with
the progress of a running sync), the sync history with its chart, the logs, the records
browser, the webhook deliveries. The page's script re-fetches a fragment when an event
concerns it; each fragment is also part of the page, so the page works without the script."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from actors._overview import IntegrationSummary
from actors._webhook_endpoints import SECRET_FIELD as WEBHOOK_SECRET
from actors._webhook_service import WebhookSummary
from api import _app
from api._dashboard_chart import chart
from api._dashboard_data import entities_of, now_of, overview, spec_of, status
from api._dashboard_render import not_found, render
from api._dashboard_views import cell, record_columns, run_seconds, scheme_title, seen
from api._webhooks import ROUTE as WEBHOOK_ROUTE
from config import IntegrationConfig
from runtime.store import InvalidValue, NotFound, Page, RecordRow, WebhookStatus

HISTORY_RUNS = 30
LOG_LINES = 30
RECORDS_PER_PAGE = 20
WEBHOOK_ROWS = 20
# A delivery still on its way is looked at again: soon when it waits for its first attempt,
# less often when it waits for a retry (after a backoff of 30 s or more).
RECHECK_MS = {WebhookStatus.RECEIVED: 1000, WebhookStatus.FAILED: 5000}
MAX_CURSOR = 1024


@dataclass(frozen=True, slots=True)
class RecordsView:
    """One page of the records browser."""

    entity: str
    entities: tuple[str, ...]
    columns: list[str]
    rows: list[tuple[str, list[str], RecordRow]]
    after: str
    next_cursor: str | None


async def _summary(request: web.Request) -> IntegrationSummary | None:
    try:
        return await overview(_app.state_of(request)).summary(request.match_info["id"])
    except NotFound:
        return None


def _cursor(request: web.Request, name: str) -> str | None:
    value = request.query.get(name) or None
    if value is not None and len(value) > MAX_CURSOR:
        raise web.HTTPBadRequest(text=f"{name} is too long")
    return value


async def _history(request: web.Request, integration_id: str) -> Mapping[str, object]:
    runs = (await _app.state_of(request).store.list_runs(integration_id, limit=HISTORY_RUNS)).items
    return {"runs": runs, "chart": chart(runs), "seconds": run_seconds, "seen": seen}


async def _logs(request: web.Request, integration_id: str) -> Mapping[str, object]:
    state = _app.state_of(request)
    try:
        page = await state.store.list_logs(
            integration_id, limit=LOG_LINES, before=_cursor(request, "before")
        )
    except InvalidValue:
        raise web.HTTPBadRequest(text="before is not a cursor of this listing") from None
    return {"logs": page.items, "logs_next": page.next_cursor}


async def _records(request: web.Request, summary: IntegrationSummary) -> RecordsView:
    state = _app.state_of(request)
    config = summary.view.config
    entities = tuple(dict.fromkeys((*entities_of(state, config), *summary.records)))
    wanted = request.query.get("entity", "")
    entity = wanted if wanted in entities else (entities[0] if entities else "")
    after = _cursor(request, "after")
    page: Page[RecordRow] = Page((), None)
    if entity:
        try:
            page = await state.store.list_records(
                config.id, entity, limit=RECORDS_PER_PAGE, after=after
            )
        except InvalidValue:
            raise web.HTTPBadRequest(text="after is not a cursor of this listing") from None
    columns = record_columns(record.data for record in page.items)
    rows = [
        (record.external_id, [cell(record.data.get(column)) for column in columns], record)
        for record in page.items
    ]
    return RecordsView(entity, entities, columns, rows, after or "", page.next_cursor)


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """Where a sender posts (the hub's address as this page was asked for), how it signs, and
    whether the signing secret is set (never the secret)."""

    url: str
    scheme: str
    secret_set: bool


def _endpoint(request: web.Request, config: IntegrationConfig) -> WebhookEndpoint | None:
    if config.webhook is None:
        return None
    path = WEBHOOK_ROUTE.replace("{integration_id}", quote(config.id, safe=""))
    return WebhookEndpoint(
        url=f"{request.url.origin()}{path}",
        scheme=scheme_title(config.webhook.scheme.value),
        secret_set=WEBHOOK_SECRET in config.credential_fields,
    )


async def _webhooks(request: web.Request, summary: IntegrationSummary) -> Mapping[str, object]:
    """The webhook address, the latest deliveries, and how soon to look again while one is
    still on its way."""
    config = summary.view.config
    deliveries: tuple[WebhookSummary, ...] = ()
    if config.webhook is not None:
        running = _app.state_of(request).running
        deliveries = (await running.webhooks.list(config.id, limit=WEBHOOK_ROWS)).items
    waits = [RECHECK_MS[d.status] for d in deliveries if d.status in RECHECK_MS]
    return {
        "deliveries": deliveries,
        "recheck": min(waits, default=0),
        "webhook": _endpoint(request, config),
    }


async def integration_page(request: web.Request) -> web.Response:
    summary = await _summary(request)
    if summary is None:
        return not_found(request, "integration")
    state = _app.state_of(request)
    config = summary.view.config
    context = {
        "status": await status(state, summary),
        "spec": spec_of(state, config.adapter),
        "view": summary.view,
        "records": await _records(request, summary),
        "now": now_of(state),
        **(await _history(request, config.id)),
        **(await _logs(request, config.id)),
        **(await _webhooks(request, summary)),
    }
    return render(request, "integration.html", context)


async def status_fragment(request: web.Request) -> web.Response:
    summary = await _summary(request)
    if summary is None:
        raise web.HTTPNotFound()
    state = _app.state_of(request)
    context = {"status": await status(state, summary), "now": now_of(state)}
    return render(request, "_status.html", context)


async def history_fragment(request: web.Request) -> web.Response:
    summary = await _summary(request)
    if summary is None:
        raise web.HTTPNotFound()
    context = await _history(request, summary.view.config.id)
    return render(request, "_history.html", context)


async def logs_fragment(request: web.Request) -> web.Response:
    summary = await _summary(request)
    if summary is None:
        raise web.HTTPNotFound()
    context = {"view": summary.view, **(await _logs(request, summary.view.config.id))}
    return render(request, "_logs.html", context)


async def records_fragment(request: web.Request) -> web.Response:
    summary = await _summary(request)
    if summary is None:
        raise web.HTTPNotFound()
    context = {"view": summary.view, "records": await _records(request, summary)}
    return render(request, "_records.html", context)


async def webhooks_fragment(request: web.Request) -> web.Response:
    summary = await _summary(request)
    if summary is None:
        raise web.HTTPNotFound()
    context = {"view": summary.view, **(await _webhooks(request, summary))}
    return render(request, "_webhooks.html", context)


def setup(app: web.Application) -> None:
    app.router.add_get("/integrations/{id}", integration_page)
    app.router.add_get("/integrations/{id}/status", status_fragment)
    app.router.add_get("/integrations/{id}/history", history_fragment)
    app.router.add_get("/integrations/{id}/logs", logs_fragment)
    app.router.add_get("/integrations/{id}/records", records_fragment)
    app.router.add_get("/integrations/{id}/webhooks", webhooks_fragment)
