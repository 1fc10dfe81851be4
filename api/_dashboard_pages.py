"""The overview page (`/`) and the fragments its script re-fetches when an event arrives:
one integration's card, the counts, the recent activity."""

from __future__ import annotations

from aiohttp import web

from api import _app
from api._dashboard_data import (
    card,
    cards,
    counts,
    now_of,
    overview,
    recent_activity,
)
from api._dashboard_render import render
from runtime.store import NotFound


async def index(request: web.Request) -> web.Response:
    state = _app.state_of(request)
    context = {
        "cards": await cards(state),
        "counts": await counts(state),
        "catalog": state.running.services.registry.catalog(),
        "activity": await recent_activity(state),
        "now": now_of(state),
    }
    return render(request, "index.html", context)


async def card_fragment(request: web.Request) -> web.Response:
    state = _app.state_of(request)
    try:
        summary = await overview(state).summary(request.match_info["id"])
    except NotFound:
        raise web.HTTPNotFound() from None
    return render(request, "_card.html", {"card": await card(state, summary, now_of(state))})


async def counts_fragment(request: web.Request) -> web.Response:
    return render(request, "_counts.html", {"counts": await counts(_app.state_of(request))})


async def activity_fragment(request: web.Request) -> web.Response:
    state = _app.state_of(request)
    integration_id = request.query.get("integration") or None
    lines = await recent_activity(state, integration_id)
    return render(request, "_activity.html", {"activity": lines, "now": now_of(state)})


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/fragments/counts", counts_fragment)
    app.router.add_get("/fragments/activity", activity_fragment)
    app.router.add_get("/integrations/{id}/card", card_fragment)
