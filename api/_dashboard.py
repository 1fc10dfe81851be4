"""The dashboard: server-rendered pages (Jinja2, autoescaped), a little plain JavaScript, no
build step and nothing fetched from outside, so it works with no internet.

The `api._dashboard_*` modules render the pages from the same read model as the API
(`actors._overview`); the wording is plain functions in `api._dashboard_views`. Live
updates come from `GET /api/events`: on an event, the page's script re-fetches the small
server-rendered fragment the event concerns (an integration's card, the activity list, the
status panel) instead of rendering anything itself. Changes (sync, reconnect, create) go
through the JSON API with the session cookie and the CSRF token the pages carry in a
`<meta>` tag.

Routes: `/login` (the sign-in URL printed at start-up, or a form), `/logout`, `/` (the
overview), `/integrations/new` (the setup wizard), `/integrations/{id}` (one integration) and
the fragments; `/static/*` serves the CSS and scripts.
"""

from __future__ import annotations

from aiohttp import web

from api import _app, _dashboard_integration, _dashboard_pages, _dashboard_wizard
from api._auth import LOGIN_PATH, safe_next
from api._dashboard_render import PAGE_HEADERS, STATIC_DIR, TEMPLATES, environment, render

LOGOUT_PATH = "/logout"


# -- signing in and out ------------------------------------------------------------------------


def _signed_in(request: web.Request, next_path: str) -> web.Response:
    """303 to where the user was going; the token leaves the address bar with it."""
    response = web.Response(status=303, headers={"Location": next_path, **PAGE_HEADERS})
    _app.state_of(request).auth.sign_in(response, secure=request.secure)
    return response


def _login_form(request: web.Request, next_path: str, error: str = "") -> web.Response:
    context = {"next": next_path, "error": error}
    return render(request, "login.html", context, status=401 if error else 200)


async def login_page(request: web.Request) -> web.Response:
    """`/login?token=…` (the printed URL) signs in at once; `/login` alone shows the form."""
    auth = _app.state_of(request).auth
    next_path = safe_next(request.query.get("next"))
    token = request.query.get("token")
    if token is not None:
        if auth.token_matches(token):
            return _signed_in(request, next_path)
        return _login_form(request, next_path, "That token is not right.")
    if auth.has_session(request):
        return web.Response(status=303, headers={"Location": next_path, **PAGE_HEADERS})
    return _login_form(request, next_path)


async def login_submit(request: web.Request) -> web.Response:
    form = await request.post()
    token, next_value = form.get("token"), form.get("next")
    next_path = safe_next(next_value if isinstance(next_value, str) else None)
    if isinstance(token, str) and _app.state_of(request).auth.token_matches(token.strip()):
        return _signed_in(request, next_path)
    return _login_form(request, next_path, "That token is not right.")


async def logout(request: web.Request) -> web.Response:
    """A form post with the CSRF token (the auth middleware checks it)."""
    response = web.Response(status=303, headers={"Location": LOGIN_PATH, **PAGE_HEADERS})
    _app.state_of(request).auth.sign_out(response)
    return response


def setup(app: web.Application) -> None:
    """Register the dashboard's routes and its template environment."""
    app[TEMPLATES] = environment()
    app.router.add_get(LOGIN_PATH, login_page)
    app.router.add_post(LOGIN_PATH, login_submit)
    app.router.add_post(LOGOUT_PATH, logout)
    app.router.add_static("/static/", STATIC_DIR, name="static")
    _dashboard_pages.setup(app)
    _dashboard_wizard.setup(app)  # before the integration pages: /integrations/new is not an id
    _dashboard_integration.setup(app)
