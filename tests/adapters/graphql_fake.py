"""A small GraphQL server shaped like Monday.com's boards and items, for the GraphQL template.

A real executable schema (graphql-core) served over aiohttp on loopback: `me`, `boards(ids,
limit, page)` with page numbers, each board's `items_page(limit, cursor)` and the top-level
`next_items_page(cursor, limit)` with opaque cursors, as Monday.com pages them. Like Monday
it wants the token as it is in `Authorization` (else 401) and an `API-Version` header, and
it answers `COMPLEXITY_BUDGET_EXHAUSTED` with `extensions.retry_in_seconds` for the calls
listed in `throttled` (1-based, counting every authenticated call).

`/v2` is the healthy endpoint; `/{fault}/v2` fails one way for the contract suite:
`503` (a server error), `429` (Monday's rate limit: 429 with Retry-After), `budget` (the
complexity budget, for longer than any backoff allows), `broken` (a GraphQL error that is
nobody's fault but the query's).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from graphql import GraphQLError, build_schema, graphql, parse
from graphql.language import FieldNode, OperationDefinitionNode

TOKEN = "mnd-test-token-Qz81-api-Lk5T"
API_VERSION = "2025-04"
RETRY_AFTER = 200  # seconds a 429 fault asks to wait: more than the default backoff lasts
BUDGET_WAIT = 300  # the `budget` fault's retry_in_seconds

SCHEMA = build_schema(
    """
    type Query {
      me: User!
      boards(ids: [ID!], limit: Int = 25, page: Int = 1, order_by: BoardsOrderBy): [Board]
      next_items_page(cursor: String!, limit: Int! = 25): ItemsResponse!
    }
    enum BoardsOrderBy { created_at used_at }
    type User { id: ID!, name: String!, account: Account! }
    type Account { id: ID!, name: String! }
    type Board {
      id: ID!
      name: String!
      description: String
      state: String!
      board_kind: String!
      workspace_id: ID
      updated_at: String
      items_page(limit: Int! = 25, cursor: String): ItemsResponse!
    }
    type ItemsResponse { cursor: String, items: [Item!]! }
    type Item {
      id: ID!
      name: String!
      state: String!
      created_at: String
      updated_at: String
      board: Board
      group: Group
      column_values: [ColumnValue!]!
    }
    type Group { id: ID!, title: String! }
    type ColumnValue { id: ID!, type: String!, text: String }
    """
)


@dataclass(frozen=True)
class Asked:
    """One call as the server saw it: the first root field and the variables."""

    field: str
    variables: dict[str, Any]
    headers: dict[str, str]


def default_boards() -> dict[str, int]:
    """Board id -> how many items: one with several pages, one empty, one small."""
    return {"3001": 12, "3002": 0, "3003": 4}


@dataclass
class FakeMonday:
    boards: dict[str, int] = field(default_factory=default_boards)
    throttled: Collection[int] = ()
    retry_in_seconds: int = 30
    calls: int = 0
    asked: list[Asked] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v2", self._handle)
        app.router.add_post("/{fault}/v2", self._handle)
        return app

    # -- the data -------------------------------------------------------------------------

    def items(self, board: str) -> list[dict[str, Any]]:
        return [self._item(board, n) for n in range(1, self.boards[board] + 1)]

    def all_item_ids(self) -> set[str]:
        return {item["id"] for board in self.boards for item in self.items(board)}

    def _item(self, board: str, n: int) -> dict[str, Any]:
        return {
            "id": f"{board}{n:04d}",
            "name": f"Task {n} on board {board}",
            "state": "active",
            "created_at": f"2026-02-{n % 28 + 1:02d}T08:00:00Z",
            "updated_at": f"2026-03-{n % 28 + 1:02d}T09:30:00Z",
            "board": {"id": board},
            "group": {"id": "topics", "title": "Group Title"},
            "column_values": [
                {"id": "status", "type": "status", "text": "Working on it" if n % 2 else "Done"},
                {"id": "person", "type": "people", "text": None},
            ],
        }

    def _board(self, board: str) -> dict[str, Any]:
        return {
            "id": board,
            "name": f"Board {board}",
            "description": None,
            "state": "active",
            "board_kind": "public",
            "workspace_id": "77",
            "updated_at": "2026-03-01T12:00:00Z",
            "items_page": lambda _info, limit=25, cursor=None: self._page(board, cursor, limit),
        }

    def _page(self, board: str, cursor: str | None, limit: int) -> dict[str, Any]:
        offset = 0
        if cursor is not None:
            board, offset = _decode(cursor)
        items = self.items(board)
        end = offset + limit
        following = _encode(board, end) if end < len(items) else None
        return {"cursor": following, "items": items[offset:end]}

    def _root(self) -> dict[str, Any]:
        def boards(
            _info: object, ids: list[str] | None = None, limit: int = 25, page: int = 1, **_: Any
        ) -> list[dict[str, Any]]:
            chosen = list(self.boards) if ids is None else [b for b in self.boards if b in ids]
            if ids is None:
                chosen = chosen[(page - 1) * limit : page * limit]
            return [self._board(board) for board in chosen]

        def next_items_page(_info: object, cursor: str, limit: int = 25) -> dict[str, Any]:
            return self._page("", cursor, limit)

        me = {"id": "9", "name": "Test User", "account": {"id": "1", "name": "Acme GmbH"}}
        return {"me": me, "boards": boards, "next_items_page": next_items_page}

    # -- HTTP -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != TOKEN:
            return _errors(401, "Not Authenticated", "UNAUTHENTICATED")
        self.calls += 1
        body = await request.json()
        variables = body.get("variables") or {}
        self.asked.append(Asked(_root_field(body["query"]), variables, dict(request.headers)))
        refusal = self._refusal(request.match_info.get("fault"))
        if refusal is not None:
            return refusal
        if request.headers.get("API-Version") != API_VERSION:
            return _errors(400, "Unknown API version", "INVALID_VERSION")
        result = await graphql(
            SCHEMA, body["query"], root_value=self._root(), variable_values=variables
        )
        answer: dict[str, Any] = {"data": result.data, "account_id": 1}
        if result.errors:
            answer["errors"] = [error.formatted for error in result.errors]
        return web.json_response(answer)

    def _refusal(self, fault: str | None) -> web.Response | None:
        """The answer of a failing endpoint, or of a call over the complexity budget."""
        if fault == "503":
            return web.Response(status=503, text="upstream connect error")
        if fault == "429":
            headers = {"Retry-After": str(RETRY_AFTER)}
            return _errors(429, "Rate Limit Exceeded", "RATE_LIMIT_EXCEEDED", headers)
        if fault == "budget" or self.calls in self.throttled:
            wait = BUDGET_WAIT if fault == "budget" else self.retry_in_seconds
            return _errors(
                200,
                "Complexity budget exhausted",
                "COMPLEXITY_BUDGET_EXHAUSTED",
                retry_in_seconds=wait,
                complexity_budget_left=0,
            )
        if fault == "broken":
            return _errors(200, "Argument 'limit' is out of range", "INVALID_ARGUMENT")
        return None


def _errors(
    status: int,
    message: str,
    code: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> web.Response:
    error = {"message": message, "extensions": {"code": code, "status_code": status, **extensions}}
    return web.json_response({"errors": [error], "account_id": 1}, status=status, headers=headers)


def _root_field(query: str) -> str:
    for definition in parse(query).definitions:
        if isinstance(definition, OperationDefinitionNode):
            first = definition.selection_set.selections[0]
            if isinstance(first, FieldNode):
                return first.name.value
    return ""


def _encode(board: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([board, offset]).encode()).decode()


def _decode(cursor: str) -> tuple[str, int]:
    try:
        board, offset = json.loads(base64.urlsafe_b64decode(cursor))
    except ValueError:
        raise GraphQLError(
            "CursorException: cursor has expired", extensions={"code": "CURSOR_EXPIRED"}
        ) from None
    return str(board), int(offset)
