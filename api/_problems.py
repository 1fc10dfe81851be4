"""Errors as `application/problem+json` (RFC 9457): one shape for every 4xx and 5xx.

Handlers raise `Problem`; the middleware in `api._app` renders it, and turns aiohttp's own
HTTP errors (unknown route, wrong method, body too large) and anything unexpected into the
same shape. A problem's text never carries a secret: field problems name the field and say
what is wrong with it, never echo the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus

import orjson
from aiohttp import web

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field: `field` is a dotted path into the request body (or a parameter)."""

    field: str
    message: str


@dataclass(slots=True)
class Problem(Exception):
    status: int
    detail: str
    title: str | None = None
    errors: Sequence[FieldError] = field(default_factory=tuple)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.detail}"

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {
            "type": "about:blank",
            "title": self.title or HTTPStatus(self.status).phrase,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return body

    def response(self) -> web.Response:
        return web.Response(
            status=self.status,
            body=orjson.dumps(self.body()),
            content_type=PROBLEM_JSON,
            headers=self.headers,
        )


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} does not exist")


def invalid(errors: Sequence[FieldError], detail: str | None = None) -> Problem:
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return Problem(422, detail or summary or "invalid request", errors=tuple(errors))


def from_http_exception(error: web.HTTPException) -> Problem:
    """aiohttp's own errors (404 route, 405 method, 413 body) in our shape."""
    detail = error.text if error.text and not error.text.startswith(str(error.status)) else None
    headers = {k: v for k, v in error.headers.items() if k.lower() in {"allow", "retry-after"}}
    return Problem(error.status, detail or error.reason, headers=headers)
