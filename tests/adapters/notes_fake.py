"""A generic REST peer for the template tests ("Notes API"), and templates written for it.

`GET /v1/notes` pages through notes `{"id": n, "title": ..., "meta": {"updated": ...}}` in one
of four ways (offset + total, an opaque cursor in the body, `Link: rel="next"` headers, page
numbers); `updated_since` filters. Credentials are checked in one of five ways: API key in
the query or a header, Basic, a static bearer token, or OAuth2 access tokens from
`POST /oauth/token` (client credentials or a refresh token that rotates on every use, as
the strictest providers do; a used refresh token is refused). Access tokens expire by
`now()` (give it the test's clock) or after `uses` requests. `script` and `fail_with` make
requests fail. `send` serves it in memory; `serving()` on loopback.
"""

from __future__ import annotations

import base64
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio
import anyio.lowlevel
import orjson
import yaml
from aiohttp import web

from adapters import HttpRequest, HttpResponse, JsonObject
from runtime.testing import serving_locally

Paging = Literal["offset", "cursor", "link", "page"]
AuthKind = Literal[
    "api_key_query", "api_key_header", "basic", "bearer", "client_credentials", "refresh"
]

API_KEY = "nk-live-Q4zP-apikey-8TwXe1"
USERNAME, PASSWORD = "notes-user", "pw-Vb7s-secret-K2mQ"
BEARER = "nb-static-Yt5d-bearer-3RwA"
CLIENT_ID, CLIENT_SECRET = "notes-client", "cs-Jd8k-client-secret-P1xN"
REFRESH = "rt-0-Gh3n-refresh-Zq7L"
EPOCH = datetime(2026, 3, 1, tzinfo=UTC)
Answer = tuple[int, dict[str, str], bytes]


def note(n: int) -> JsonObject:
    updated = (EPOCH + timedelta(hours=n)).isoformat().replace("+00:00", "Z")
    return {"id": n, "title": f"Note {n}", "meta": {"updated": updated, "owner": "ada"}}


@dataclass
class FakeNotes:
    count: int = 23
    paging: Paging = "offset"
    auth: AuthKind = "api_key_query"
    now: Callable[[], float] = time.monotonic
    lifetime: float = 3600.0  # seconds an access token is valid
    uses: int | None = None  # or: requests an access token is valid for
    fail_with: int | None = None  # every /v1 request answers this status
    retry_after: str = "7"
    script: deque[int] = field(default_factory=deque)  # statuses for the next /v1 requests
    notes: dict[int, JsonObject] = field(init=False)
    requests: list[str] = field(default_factory=list)  # URLs of /v1 requests
    token_requests: list[dict[str, str]] = field(default_factory=list)
    refresh_token: str = REFRESH
    issued: int = 0
    refused: int = 0
    _tokens: dict[str, list[float]] = field(default_factory=dict)  # token -> [expiry, uses]

    def __post_init__(self) -> None:
        self.notes = {n: note(n) for n in range(1, self.count + 1)}

    # -- the rules ------------------------------------------------------------------------

    def answer(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> Answer:
        parts = urlsplit(url)
        lowered = {name.lower(): value for name, value in headers.items()}
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if method == "POST" and parts.path == "/oauth/token":
            return self._token(lowered, dict(parse_qsl(body.decode())))
        if method != "GET" or parts.path not in ("/v1/notes", "/v1/ping"):
            return _json(404, {"error": "not_found"})
        self.requests.append(url)
        if not self._authorised(lowered, query):
            self.refused += 1
            return _json(401, {"error": "unauthorized"})
        status = self.script.popleft() if self.script else self.fail_with
        if status is not None:
            return _json(status, {"error": status}, {"Retry-After": self.retry_after})
        if parts.path == "/v1/ping":
            return _json(200, {"ok": True})
        return self._list(parts.scheme, parts.netloc, query)

    def _authorised(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        given = headers.get("authorization", "")
        match self.auth:
            case "api_key_query":
                return query.get("api_key") == API_KEY
            case "api_key_header":
                return headers.get("x-api-key") == API_KEY
            case "basic":
                pair = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
                return given == f"Basic {pair}"
            case "bearer":
                return given == f"Bearer {BEARER}"
        state = self._tokens.get(given.removeprefix("Bearer "))
        if state is None or self.now() >= state[0] or (self.uses is not None and state[1] <= 0):
            return False
        state[1] -= 1
        return True

    def _token(self, headers: Mapping[str, str], form: Mapping[str, str]) -> Answer:
        self.token_requests.append(dict(form))
        client = (form.get("client_id"), form.get("client_secret"))
        basic = headers.get("authorization", "")
        if basic.startswith("Basic "):
            user, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            client = (user, secret)
        if client != (CLIENT_ID, CLIENT_SECRET):
            return _json(401, {"error": "invalid_client", "error_description": "who are you"})
        answer: dict[str, Any] = {"token_type": "Bearer", "expires_in": self.lifetime}
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") != self.refresh_token:
                return _json(400, {"error": "invalid_grant", "error_description": "used"})
            self.refresh_token = f"rt-{self.issued + 1}-Gh3n-refresh-Zq7L"
            answer["refresh_token"] = self.refresh_token
        elif form.get("grant_type") != "client_credentials":
            return _json(400, {"error": "unsupported_grant_type"})
        self.issued += 1
        access = f"at-{self.issued}-Wc6v-access-Hy2M"
        self._tokens[access] = [self.now() + self.lifetime, self.uses or 0]
        return _json(200, {**answer, "access_token": access})

    def _list(self, scheme: str, host: str, query: Mapping[str, str]) -> Answer:
        rows = [self.notes[key] for key in sorted(self.notes)]
        since = query.get("updated_since")
        if since:
            bound = datetime.fromisoformat(since)
            rows = [r for r in rows if datetime.fromisoformat(_updated(r)) >= bound]
        limit = int(query.get("limit") or query.get("per_page") or 10)
        if self.paging == "offset":
            start = int(query.get("offset", "0"))
            return _json(200, {"results": rows[start : start + limit], "total": len(rows)})
        if self.paging == "cursor":
            after = int(base64.b64decode(query["cursor"]).decode()) if "cursor" in query else 0
            page = [r for r in rows if int(str(r["id"])) > after][:limit]
            more = page and int(str(page[-1]["id"])) < int(str(rows[-1]["id"]))
            cursor = base64.b64encode(str(page[-1]["id"]).encode()).decode() if more else None
            return _json(200, {"results": page, "paging": {"next": cursor}})
        number = int(query.get("page", "1"))
        page = rows[(number - 1) * limit : number * limit]
        if self.paging == "page":
            return _json(200, {"results": page})
        headers = {}
        if number * limit < len(rows):
            echoed = {k: v for k, v in query.items() if k not in ("page",)}  # api_key echoed too
            link = f"{scheme}://{host}/v1/notes?{urlencode({**echoed, 'page': number + 1})}"
            headers["Link"] = f'<{link}>; rel="next", <{scheme}://{host}/v1/notes>; rel="first"'
        return _json(200, {"results": page}, headers)

    # -- transports ---------------------------------------------------------------------

    async def send(self, request: HttpRequest) -> HttpResponse:
        await anyio.lowlevel.checkpoint()
        status, headers, body = self.answer(
            request.method, request.url, request.headers, request.body or b""
        )
        return HttpResponse(status, headers, body)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        url = str(request.url)
        status, headers, data = self.answer(request.method, url, request.headers, body)
        return web.Response(status=status, headers=headers, body=data)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        async with serving_locally(app) as url:
            yield url


def _updated(row: JsonObject) -> str:
    meta = row["meta"]
    assert isinstance(meta, Mapping)
    return str(meta["updated"])


def _json(status: int, data: object, headers: Mapping[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json", **(headers or {})}, orjson.dumps(data)


# -- templates for it ---------------------------------------------------------------------------

PAGINATORS: dict[Paging, dict[str, Any]] = {
    "offset": {
        "type": "offset",
        "size_param": "limit",
        "page_size": "{page_size}",
        "total_path": "total",
    },
    "cursor": {
        "type": "cursor",
        "size_param": "limit",
        "page_size": "{page_size}",
        "cursor_path": "paging.next",
    },
    "link": {"type": "link", "size_param": "per_page", "page_size": "{page_size}"},
    "page": {
        "type": "page_number",
        "size_param": "per_page",
        "page_size": "{page_size}",
        "start": 1,
    },
}
AUTHS: dict[AuthKind, dict[str, Any]] = {
    "api_key_query": {"type": "api_key", "in": "query", "name": "api_key"},
    "api_key_header": {"type": "api_key", "in": "header", "name": "X-Api-Key"},
    "basic": {"type": "basic"},
    "bearer": {"type": "bearer"},
    "client_credentials": {
        "type": "oauth2_client_credentials",
        "token_url": "{base_url}/oauth/token",
        "client_auth": "basic",
    },
    "refresh": {
        "type": "oauth2_refresh_token",
        "token_url": "{base_url}/oauth/token",
        "client_secret": "client_secret",
        "refresh_before": 60,
    },
}
CREDENTIALS: dict[AuthKind, dict[str, str]] = {
    "api_key_query": {"api_key": API_KEY},
    "api_key_header": {"api_key": API_KEY},
    "basic": {"username": USERNAME, "password": PASSWORD},
    "bearer": {"token": BEARER},
    "client_credentials": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    "refresh": {"refresh_token": REFRESH, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
}


def notes_template(
    paging: Paging = "offset", auth: AuthKind = "api_key_query", **extra: Any
) -> str:
    """A template for the Notes API as YAML text (`extra` replaces top-level fields)."""
    document: dict[str, Any] = {
        "name": f"notes-{paging}",
        "title": "Notes",
        "description": "The template tests' generic REST peer.",
        "settings": {
            "base_url": {"type": "string", "format": "uri"},
            "page_size": {"type": "integer", "default": 10, "minimum": 1, "maximum": 100},
        },
        "base_url": "{base_url}",
        "auth": AUTHS[auth],
        "errors": {
            "retry": [500, 502, 503, 504],
            "rate_limited": [429, 420],
            "fail": [409],
            "ignore": [410],
            "backoff": {"attempts": 2, "initial": 0.001, "max": 0.001, "total": 1},
        },
        "defaults": {"records": "results", "paginator": PAGINATORS[paging]},
        "check": {"path": "/v1/ping"},
        "streams": {
            "notes": {
                "path": "/v1/notes",
                "fields": {"id": "id", "title": "title", "updated": "meta.updated"},
                "incremental": {
                    "cursor_field": "meta.updated",
                    "lookback": 7200,
                    "params": {"updated_since": "{cursor}"},
                },
            }
        },
        **extra,
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
