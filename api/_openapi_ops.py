"""One table of the API's operations: each route is registered from its entry and described in
the OpenAPI document from the same entry, so the document cannot list a route that is not
served, nor miss one that is.

An entry names its models (`api._schemas`, `config`) or a schema of the document's own by name
(`SchemaRef`: a schema derived from a model, such as the merge patch of `IntegrationInput`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
PROBLEM_JSON = "application/problem+json"
EVENT_STREAM = "text/event-stream"


@dataclass(frozen=True, slots=True)
class SchemaRef:
    """A schema of the document's own components, by name (see `api._openapi`)."""

    name: str


Schema = type[BaseModel] | SchemaRef | Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    where: Literal["path", "query", "header"]
    schema: Mapping[str, object]
    description: str
    required: bool = False
    example: object | None = None


@dataclass(frozen=True, slots=True)
class Body:
    schema: Schema
    media_types: tuple[str, ...] = (JSON,)
    required: bool = True
    description: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    description: str
    schema: Schema | None = None
    media_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)  # name -> description


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    replies: Mapping[int, Reply]
    errors: tuple[int, ...] = ()
    handler: Handler | None = None  # None: served by another part of the app
    params: tuple[Param, ...] = ()
    body: Body | None = None
    description: str = ""
    public: bool = False  # no bearer token needed


def register(app: web.Application, operations: tuple[Operation, ...]) -> None:
    for operation in operations:
        if operation.handler is not None:
            app.router.add_route(operation.method, operation.path, operation.handler)


# -- parameters used by many operations ----------------------------------------------------

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
INTEGRATION_ID = Param(
    "id",
    "path",
    {"type": "string", "pattern": ID_PATTERN},
    "The integration's id.",
    required=True,
    example="demo",
)
LIMIT = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    "Items per page (1 to 200).",
)
CURSOR = Param(
    "cursor",
    "query",
    {"type": "string", "minLength": 1, "maxLength": 1000, "pattern": r"^[A-Za-z0-9_-]+$"},
    "The `next_cursor` of the previous page.",
)
PAGE = (LIMIT, CURSOR)
