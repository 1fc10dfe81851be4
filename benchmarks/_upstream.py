"""A paginated REST upstream on loopback for the sync benchmark, and fetching its pages ahead.

`GET /records?page=<n>&per_page=<m>` -> `{"items": [...], "page": n, "pages": total}` (pages
from 1), ~200-byte records generated once; each page's JSON is rendered once and served as
bytes, so the upstream costs both sides of a comparison the same, and little. `latency` delays
every page; `GET /ping` always answers. The server notes the most requests it had in flight at
once and the busiest second, to show the fetches stayed within their window and rate limit.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
import orjson
from aiohttp import web

from runtime.testing import serving_locally

PER_PAGE = 100
T = TypeVar("T")


def record(n: int) -> dict[str, object]:
    """Record `n`: about 200 bytes of JSON."""
    return {
        "id": f"cus-{n:07d}",
        "name": f"Customer {n}",
        "email": f"customer{n}@example.com",
        "city": ("Berlin", "Hamburg", "Munich", "Cologne")[n % 4],
        "street": f"Hauptstrasse {n % 200 + 1}",
        "balance": round((n * 7919) % 100000 / 100, 2),
        "tags": ["b2b" if n % 3 else "b2c", f"tier-{n % 5}"],
        "updated": "2026-11-27T10:00:00Z",
    }


def render_pages(count: int, per_page: int = PER_PAGE) -> list[bytes]:
    pages = max(1, -(-count // per_page))
    return [
        orjson.dumps(
            {
                "items": [record(n) for n in range(p * per_page, min(count, (p + 1) * per_page))],
                "page": p + 1,
                "pages": pages,
            }
        )
        for p in range(pages)
    ]


class Upstream:
    def __init__(self, count: int, *, latency: float = 0.0) -> None:
        self.pages = render_pages(count)
        self.latency = latency
        self.in_flight = 0
        self.peak_in_flight = 0
        self.requests = 0
        self._second: deque[float] = deque()
        self.peak_per_second = 0

    def reset_counts(self) -> None:
        self.peak_in_flight = self.requests = self.peak_per_second = 0
        self._second.clear()

    def _note(self) -> None:
        now = asyncio.get_running_loop().time()
        self.requests += 1
        self._second.append(now)
        while self._second[0] < now - 1.0:
            self._second.popleft()
        self.peak_per_second = max(self.peak_per_second, len(self._second))

    async def _records(self, request: web.Request) -> web.StreamResponse:
        page = int(request.query.get("page", "1"))
        self._note()
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
        finally:
            self.in_flight -= 1
        if not 1 <= page <= len(self.pages):
            return web.json_response({"items": [], "page": page, "pages": len(self.pages)})
        return web.Response(body=self.pages[page - 1], content_type="application/json")

    async def _ping(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"pong": True})

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Listen on 127.0.0.1 (a free port); yields the base URL."""
        app = web.Application()
        app.router.add_get("/records", self._records)
        app.router.add_get("/ping", self._ping)
        async with serving_locally(app) as url:
            yield url


async def pages_in_order(
    fetch: Callable[[int], Awaitable[T]], first: int, last: int, window: int
) -> AsyncGenerator[T, None]:
    """Pages `first`..`last` in order, fetched `window` at a time in parallel (page-number
    pagination lets a client ask for pages it has not reached yet).

    Each window's fetches run in a task group that closes before anything is yielded: a task
    group must not stay open across a `yield` (its cancel scope would leak into the consumer),
    and no fetch outlives the generator."""
    for start in range(first, last + 1, window):
        pages = range(start, min(last, start + window - 1) + 1)
        results: dict[int, T] = {}
        async with anyio.create_task_group() as tg:
            for page in pages:
                tg.start_soon(_fetch_into, fetch, page, results)
        for page in pages:
            yield results[page]


async def _fetch_into(fetch: Callable[[int], Awaitable[T]], page: int, into: dict[int, T]) -> None:
    into[page] = await fetch(page)
