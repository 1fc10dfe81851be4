"""Who may call what: a bearer token for `/api/*`, a session cookie for the dashboard.

There is one principal, the holder of the API token (`HUB_API_TOKEN`, or one generated at
first start into `HUB_DATA_DIR/api-token`, mode 0600). The dashboard signs in with the same
token and gets an HttpOnly, SameSite=Strict cookie; the cookie holds an HMAC of the token,
never the token. Requests authenticated by the cookie that change something must also carry
the CSRF token (header `X-CSRF-Token` or form field `csrf_token`), itself an HMAC of the API
token that the dashboard embeds in its pages. Bearer requests need no CSRF token: a browser
never adds an `Authorization` header on its own.

Only `/healthz`, `/webhooks/*`, the sign-in page and the static assets answer without a token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Middleware

from api._problems import Problem
from config import Settings
from runtime.vault import load_or_create_private_file

TOKEN_FILE_NAME = "api-token"
SESSION_COOKIE = "hub_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
LOGIN_PATH = "/login"
PUBLIC_PREFIXES = ("/webhooks/", "/static/")
PUBLIC_PATHS = frozenset({"/healthz", LOGIN_PATH})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class ApiToken:
    """The token, and whether the hub keeps it in its data directory (then the start-up line
    shows it, as Jupyter does; one the operator set in `HUB_API_TOKEN` is never printed)."""

    value: str
    from_file: bool


def load_api_token(settings: Settings) -> ApiToken:
    if settings.api_token is not None:
        return ApiToken(settings.api_token.get_secret_value(), from_file=False)
    path = Path(settings.data_dir) / TOKEN_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    value = load_or_create_private_file(
        path, lambda: secrets.token_urlsafe(32), what="API token file", check=_check_token
    )
    return ApiToken(value, from_file=True)


def _check_token(value: str) -> None:
    if not value.strip():
        raise ValueError("the API token file is empty")


class ApiAuth:
    def __init__(self, token: str) -> None:
        self._token = token.encode()
        self.session_value = self._derive(b"session")
        self.csrf_token = self._derive(b"csrf")

    def _derive(self, purpose: bytes) -> str:
        return hmac.new(self._token, purpose, hashlib.sha256).hexdigest()

    def token_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._token)

    def has_session(self, request: web.Request) -> bool:
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return hmac.compare_digest(cookie.encode(), self.session_value.encode())

    def has_bearer(self, request: web.Request) -> bool:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self.token_matches(credentials.strip())

    async def has_csrf(self, request: web.Request) -> bool:
        candidate = request.headers.get(CSRF_HEADER)
        if candidate is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            value = (await request.post()).get(CSRF_FIELD)
            candidate = value if isinstance(value, str) else None
        return candidate is not None and hmac.compare_digest(
            candidate.encode(), self.csrf_token.encode()
        )

    def sign_in(self, response: web.StreamResponse, *, secure: bool) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self.session_value,
            httponly=True,
            samesite="Strict",
            secure=secure,
            path="/",
        )

    def sign_out(self, response: web.StreamResponse) -> None:
        response.del_cookie(SESSION_COOKIE, path="/")


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def auth_middleware(auth: ApiAuth) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if is_public(path):
            return await handler(request)
        if auth.has_bearer(request):
            return await handler(request)
        if auth.has_session(request):
            if request.method not in SAFE_METHODS and not await auth.has_csrf(request):
                raise Problem(403, "missing or wrong CSRF token", title="Forbidden")
            return await handler(request)
        if path.startswith("/api/"):
            raise Problem(
                401,
                "send the API token as 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": 'Bearer realm="integration-hub"'},
            )
        raise web.HTTPSeeOther(f"{LOGIN_PATH}?next={_quoted_next(request)}")

    return middleware


def _quoted_next(request: web.Request) -> str:
    return quote(request.rel_url.path_qs, safe="")


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: a local path only (no `//host` or scheme: no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value
