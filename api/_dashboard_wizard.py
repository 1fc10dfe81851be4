"""The setup wizard (`/integrations/new`): type -> connection -> field mapping -> schedule.

The page carries every available adapter's connection form, made from its settings schema
(`api._dashboard_form`); the script shows one step at a time, tests the connection and reads a
sample of the source's fields through the JSON API (`/api/connection-tests`, `/api/samples`),
and saves with `POST /api/integrations`. The schedule's hint in words comes from the server
(`/fragments/cron-hint`), where croniter is.
"""

from __future__ import annotations

from aiohttp import web

from api import _app
from api._dashboard_data import now_of
from api._dashboard_form import adapter_form, cron_hint
from api._dashboard_render import render
from api._dashboard_views import scheme_title
from config import Transform, WebhookScheme

DEFAULT_CRON = "*/15 * * * *"
MAX_CRON = 200


async def wizard(request: web.Request) -> web.Response:
    state = _app.state_of(request)
    forms = [adapter_form(spec) for spec in state.running.services.registry.catalog()]
    chosen = request.query.get("type", "")
    if not any(form.name == chosen and form.available for form in forms):
        chosen = ""
    cron = state.settings.default_schedule or DEFAULT_CRON
    context = {
        "adapters": forms,
        "chosen": chosen,
        "cron": cron,
        "hint": cron_hint(cron, now_of(state)),
        "transforms": [transform.value for transform in Transform],
        "webhook_schemes": [(scheme.value, scheme_title(scheme.value)) for scheme in WebhookScheme],
    }
    return render(request, "wizard.html", context)


async def cron_hint_fragment(request: web.Request) -> web.Response:
    state = _app.state_of(request)
    expression = request.query.get("cron", "")[:MAX_CRON]
    return render(request, "_cron_hint.html", {"hint": cron_hint(expression, now_of(state))})


def setup(app: web.Application) -> None:
    app.router.add_get("/integrations/new", wizard)
    app.router.add_get("/fragments/cron-hint", cron_hint_fragment)
