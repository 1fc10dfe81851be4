"""Rendering the dashboard's pages: the Jinja2 environment (autoescaped, strict about
undefined names), the headers every page carries, and the static files' versioned URLs."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import jinja2
from aiohttp import web

from api import _app
from api._dashboard_views import ago, duration, number

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATE_DIR = PACKAGE_DIR / "templates"

TEMPLATES = web.AppKey("dashboard_templates", jinja2.Environment)

# Everything a page loads comes from the hub itself; scripts only from /static (no inline
# script can run, so an injected <script> in a name could not either); nothing may frame it;
# the sign-in URL's token is never sent on as a Referer.
PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    versions = _static_versions()
    env.globals.update(
        ago=ago,
        duration=duration,
        number=number,
        static=lambda name: f"/static/{name}?v={versions.get(name, '0')}",
    )
    return env


def _static_versions() -> dict[str, str]:
    """A content hash per static file for its URL, so a new release is never served stale."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in STATIC_DIR.iterdir()
        if path.is_file()
    }


def render(
    request: web.Request, template: str, context: Mapping[str, object], *, status: int = 200
) -> web.Response:
    state = _app.state_of(request)
    page = request.app[TEMPLATES].get_template(template)
    html = page.render(
        csrf_token=state.auth.csrf_token,
        signed_in=state.auth.has_session(request),
        **context,
    )
    return web.Response(text=html, status=status, content_type="text/html", headers=PAGE_HEADERS)


def not_found(request: web.Request, what: str) -> web.Response:
    return render(request, "not_found.html", {"what": what}, status=404)
