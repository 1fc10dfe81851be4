"""What every REST handler needs: the hub's parts, reading the request, writing the answer.

Reading is strict and says what is wrong by name: a body must have the right Content-Type
(else 415), stay within the API's 1 MiB (413, counted while reading, whatever the app-wide
limit), be JSON (400) and an object (422); a query parameter with a bad value is a 422 naming
it. The hub's own errors become problems here too (`translated`): unknown integration 404,
invalid configuration 422 naming each field, a refused action 409 or 503 saying what to do,
store unavailable 503. No message echoes what the client sent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from aiohttp import web
from pydantic import BaseModel

from actors._commands import IntegrationCommands, Refusal, Refused
from actors._integrations import InvalidIntegration
from actors._overview import Overview
from actors._probe import Probe
from api._openapi_ops import ID_PATTERN, JSON, Handler
from api._problems import FieldError, Problem, invalid
from config import FieldProblem
from runtime.store import InvalidValue, NotFound, StoreUnavailable

if TYPE_CHECKING:
    from api._app import AppState

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_CHARS = 1000
RETRY_AFTER = "5"
_ID = re.compile(ID_PATTERN)
_CURSOR = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_CURSOR_CHARS}}}")
_READ_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Rest:
    """The hub's parts the REST handlers use, made once per app."""

    state: AppState
    overview: Overview
    commands: IntegrationCommands
    probe: Probe
    body_limit: int


REST = web.AppKey("rest", Rest)


def setup_rest(app: web.Application) -> Rest:
    # Imported here: `api._app` imports the route modules, which import this one.
    from api._app import API_BODY_LIMIT, STATE  # noqa: PLC0415

    state = app[STATE]
    rest = Rest(
        state=state,
        overview=Overview(state.store, state.integrations, state.hub),
        commands=IntegrationCommands(state.integrations, state.hub),
        probe=Probe(
            state.integrations, state.running.services.registry, clock=state.hub.deps.clock
        ),
        body_limit=API_BODY_LIMIT,
    )
    app[REST] = rest
    return rest


def rest_of(request: web.Request) -> Rest:
    return request.app[REST]


# -- answers ----------------------------------------------------------------------------------


def respond(
    model: BaseModel,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    exclude_none: bool = False,
) -> web.Response:
    """`exclude_none` leaves out fields that are None (not null values inside JSON data)."""
    body = model.model_dump_json(exclude_none=exclude_none)
    return web.Response(status=status, body=body, content_type=JSON, headers=headers)


def etag(version: int) -> str:
    return f'"{version}"'


# -- the path and the query -------------------------------------------------------------------


def integration_id(request: web.Request) -> str:
    """The `{id}` of the path; one that no integration can have is simply not found."""
    value = request.match_info["id"]
    if not _ID.fullmatch(value):
        raise Problem(404, "no integration has this id (ids are 1-63 of a-z, 0-9, '_', '-')")
    return value


def _one(request: web.Request, name: str) -> str | None:
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise invalid([FieldError(name, "must be given at most once")])
    return values[0] if values else None


def query_limit(request: web.Request) -> int:
    value = _one(request, "limit")
    if value is None:
        return DEFAULT_LIMIT
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise invalid([FieldError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")])
    return int(value)


def query_cursor(request: web.Request) -> str | None:
    value = _one(request, "cursor")
    if value is not None and not _CURSOR.fullmatch(value):
        raise invalid([FieldError("cursor", "is not a cursor of this list")])
    return value


def query_flag(request: web.Request, name: str) -> bool:
    value = _one(request, name)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise invalid([FieldError(name, "must be true or false")])
    return value == "true"


def query_id(request: web.Request, name: str) -> str | None:
    value = _one(request, name)
    if value is not None and not _ID.fullmatch(value):
        raise invalid([FieldError(name, "must be an integration id (1-63 of a-z, 0-9, _, -)")])
    return value


def bad_cursor() -> Problem:
    return invalid([FieldError("cursor", "is not a cursor of this list")])


# -- the body ---------------------------------------------------------------------------------


async def read_object(
    request: web.Request, *, media_types: Sequence[str] = (JSON,), optional: bool = False
) -> dict[str, object] | None:
    """The body, a JSON object; None when `optional` and there is no body at all (JSON
    `null` is a body, and not an object)."""
    if optional and not request.body_exists:
        return None
    if request.content_type not in media_types:
        raise Problem(415, f"send the body as {' or '.join(media_types)}")
    raw = await _read_limited(request, rest_of(request).body_limit)
    if optional and not raw:
        return None
    try:
        value: object = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        where = f" (line {error.lineno}, column {error.colno})" if error.lineno else ""
        raise Problem(400, f"the body is not valid JSON{where}") from None
    if not isinstance(value, dict):
        raise invalid([FieldError("", "the body must be a JSON object")])
    return value


async def _read_limited(request: web.Request, limit: int) -> bytes:
    too_large = Problem(413, f"the body is larger than the API's limit of {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


# -- the hub's errors as problems ----------------------------------------------------------------


def field_problems(problems: Sequence[FieldProblem], prefix: str = "") -> Problem:
    return invalid([FieldError(_joined(prefix, p.field), p.message) for p in problems])


def _joined(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix and field else prefix or field


def refused(error: Refused) -> Problem:
    name = error.integration_id
    path = f"/api/integrations/{name}"
    match error.reason:
        case Refusal.DISABLED:
            detail = (
                f"integration {name!r} is disabled: enable it first "
                f'(PATCH {path} with {{"enabled": true}})'
            )
            return Problem(409, detail, title="Integration disabled")
        case Refusal.NOT_CONNECTED:
            detail = (
                f"integration {name!r} is not connected (status error): fix its credentials "
                f"or settings, then reconnect it (POST {path}/reconnect)"
            )
            return Problem(409, detail, title="Integration not connected")
        case Refusal.SYNC_RUNNING:
            detail = f"a sync of integration {name!r} is running; wait for it to finish"
            return Problem(409, detail, title="Sync running")
    detail = (
        f"integration {name!r} is restarting, or parked after repeated failures: it is tried "
        f"again automatically, or reconnect it now (POST {path}/reconnect)"
    )
    return Problem(503, detail, title="Integration unavailable", headers={"Retry-After": "10"})


def translated(handler: Handler) -> Handler:
    """The hub's errors raised in `handler` as problems."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except NotFound:
            raise _not_found(request) from None
        except InvalidIntegration as error:
            raise field_problems(error.problems) from None
        except Refused as error:
            raise refused(error) from None
        except StoreUnavailable:
            raise Problem(
                503, "the database is unavailable; try again", headers={"Retry-After": RETRY_AFTER}
            ) from None
        except InvalidValue:
            raise Problem(422, "the request holds a value that cannot be stored") from None

    return wrapper


def _not_found(request: web.Request) -> Problem:
    value = request.match_info.get("id")
    if value is not None and _ID.fullmatch(value):
        return Problem(404, f"integration {value!r} does not exist")
    return Problem(404, "no such integration")
