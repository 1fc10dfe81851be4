"""A fake Xentral of our own: the list endpoints' shape, checks and faults, in memory or on
loopback.

`GET /api/{customers,invoices,products}?page[number]=&page[size]=` answers
`{"data": [...], "extra": {"totalCount": n, "page": {"number": , "size": }}}` in id order, as
Xentral does, and refuses what Xentral (and Prism, from its OpenAPI description) refuses: no
bearer token 401, a wrong `Accept` 406, a missing or malformed `page[...]` 400. Products
understand the `updatedAt greaterThan` filter. A seeded `random.Random` fails a share of
requests (500/502/503/504, 429 with `Retry-After`, or no answer: in memory a `TimeoutError`,
on loopback a handler that waits until the client gave up); `script` sets the next outcomes.

`send` is an `HttpClient` transport (in memory); `serving()` puts the same rules on loopback.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import anyio
import anyio.lowlevel
import orjson
from aiohttp import web

from adapters import HttpRequest, HttpResponse, JsonObject
from runtime.testing import serving_locally

TOKEN = "xpat-7Hq2-fake-Lm9vR4tZ"
DEFAULT_JSON = "application/vnd.xentral.default.v1+json"
MINIMAL_JSON = "application/vnd.xentral.minimal.v1+json"
ACCEPTS = {"customers": DEFAULT_JSON, "invoices": MINIMAL_JSON, "products": DEFAULT_JSON}
OK, HANG = "ok", "hang"
FAULTS = ("500", "502", "503", "504", "429", HANG)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def customer(n: int) -> JsonObject:
    return {
        "id": str(n),
        "type": "company",
        "general": {"name": f"Kunde {n} GmbH", "customerNumber": f"K{n:06d}"},
    }


def invoice(n: int) -> JsonObject:
    return {"id": str(n), "number": f"RE{n:06d}", "status": "released", "updatedAt": _at(n)}


def product(n: int) -> JsonObject:
    return {"id": str(n), "name": f"Artikel {n}", "number": f"A{n:05d}", "updatedAt": _at(n)}


def _at(n: int) -> str:
    return (EPOCH + timedelta(hours=n)).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Hit:
    """One list request as the fake saw it."""

    entity: str
    url: str  # as sent (brackets as they came)
    outcome: str
    at: float  # loop time


@dataclass
class FakeXentral:
    customers: int = 25
    invoices: int = 12
    products: int = 30
    token: str = TOKEN
    seed: int = 1
    fault_rate: float = 0.0
    retry_after: str = "0"
    hang_for: float = 5.0
    records: dict[str, dict[str, JsonObject]] = field(init=False)
    script: deque[tuple[str, str]] = field(default_factory=deque)  # (outcome, Retry-After)
    hits: list[Hit] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    refused: Counter[int] = field(default_factory=Counter)  # 4xx given for bad requests

    def __post_init__(self) -> None:
        self.records = {
            "customers": {str(n): customer(n) for n in range(1, self.customers + 1)},
            "invoices": {str(n): invoice(n) for n in range(1, self.invoices + 1)},
            "products": {str(n): product(n) for n in range(1, self.products + 1)},
        }
        self._dice = random.Random(self.seed)
        self._closing = anyio.Event()

    def snapshot(self, entity: str) -> dict[str, JsonObject]:
        return dict(self.records[entity])

    # -- the rules ----------------------------------------------------------------------------

    def answer(self, url: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for a GET of `url`, or raises `_Hang` for no answer."""
        parts = urlsplit(url)
        entity = parts.path.removeprefix("/api/")
        if entity not in self.records:
            return self._refuse(404, "text/plain", b"not found")
        lowered = {name.lower(): value for name, value in headers.items()}
        if lowered.get("authorization") != f"Bearer {self.token}":
            return self._refuse(401, "text/html", b"Unauthorized")
        if lowered.get("accept") != ACCEPTS[entity]:
            return self._refuse(406, "application/problem+json", b'{"title":"Not Acceptable"}')
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        number, size = query.get("page[number]", ""), query.get("page[size]", "")
        if not (number.isdigit() and size.isdigit() and int(number) >= 1 and 1 <= int(size) <= 50):
            return self._refuse(400, "application/problem+json", b'{"title":"Bad page"}')
        outcome, retry_after = self._outcome()
        self.hits.append(Hit(entity, url, outcome, anyio.current_time()))
        self.outcomes[outcome] += 1
        if outcome == HANG:
            raise _Hang
        if outcome != OK:
            extra = {"Retry-After": retry_after} if outcome in ("429", "503") else {}
            return int(outcome), {"Content-Type": "text/plain", **extra}, outcome.encode()
        return 200, {"Content-Type": ACCEPTS[entity]}, self._page(entity, query)

    def _page(self, entity: str, query: Mapping[str, str]) -> bytes:
        rows = sorted(self.records[entity].values(), key=lambda row: int(str(row["id"])))
        if entity == "products" and query.get("filter[0][key]") == "updatedAt":
            assert query.get("filter[0][op]") == "greaterThan"
            since = datetime.fromisoformat(query["filter[0][value]"])
            rows = [r for r in rows if datetime.fromisoformat(str(r["updatedAt"])) > since]
        number, size = int(query["page[number]"]), int(query["page[size]"])
        page = rows[(number - 1) * size : number * size]
        extra = {"totalCount": len(rows), "page": {"number": number, "size": size}}
        return orjson.dumps({"data": page, "extra": extra})

    def _refuse(self, status: int, kind: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        self.refused[status] += 1
        return status, {"Content-Type": kind}, body

    def _outcome(self) -> tuple[str, str]:
        if self.script:
            return self.script.popleft()
        if self.fault_rate and self._dice.random() < self.fault_rate:
            return self._dice.choice(FAULTS), self.retry_after
        return OK, ""

    # -- in memory -----------------------------------------------------------------------------

    async def send(self, request: HttpRequest) -> HttpResponse:
        await anyio.lowlevel.checkpoint()
        assert request.method == "GET", request
        try:
            status, headers, body = self.answer(request.url, request.headers)
        except _Hang:
            raise TimeoutError from None  # what the real transport raises when time is up
        return HttpResponse(status, headers, body)

    # -- on loopback ---------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            status, headers, body = self.answer(str(request.rel_url), request.headers)
        except _Hang:
            with anyio.move_on_after(self.hang_for):
                await self._closing.wait()
            return web.Response(status=504, text="too late")
        return web.Response(status=status, headers=headers, body=body)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Listen on 127.0.0.1 (a free port); yields the base URL."""
        app = web.Application()
        app.router.add_get("/api/{entity}", self._handle)
        async with serving_locally(app) as url:
            try:
                yield url
            finally:
                self._closing.set()  # release hanging handlers before the server stops


class _Hang(Exception):
    """No answer for this request."""
