"""A fake REST upstream on loopback that fails a share of its requests, for the fault tests.

`GET /items?after=<id>&limit=<n>` pages through its records in id order (keyset pagination:
`next` is the last id of the page, or null on the last page); `GET /ping` always answers.
A seeded `random.Random` picks which page requests fail and how: 500/502/504, 503 and 429
with `Retry-After`, or no answer at all (the handler waits until the client gave up). A test
can also script the next outcomes (`script`). Every request to `/items` is noted.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from aiohttp import web

from adapters import JsonObject
from runtime.testing import serving_locally

OK = "ok"
HANG = "hang"
FAULTS = ("500", "502", "503", "504", "429", HANG)


@dataclass(frozen=True, slots=True)
class Hit:
    """One request to /items as the upstream saw it."""

    at: float  # loop time
    after: str
    outcome: str


class Upstream:
    def __init__(
        self,
        count: int,
        *,
        seed: int,
        fault_rate: float,
        retry_after: str = "0",
        hang_for: float = 2.0,
        token: str = "",
    ) -> None:
        self.records: dict[str, JsonObject] = {
            f"rec-{n:05d}": {"name": f"Record {n}", "rev": 0} for n in range(count)
        }
        self.next_id = count
        self.faults = random.Random(seed)
        self.fault_rate = fault_rate
        self.retry_after = retry_after
        self.hang_for = hang_for
        self.token = token
        self.script: deque[tuple[str, str]] = deque()  # (outcome, Retry-After) to use next
        self.hits: list[Hit] = []
        self.outcomes: Counter[str] = Counter()
        self.bad_auth = 0
        self._closing = anyio.Event()

    def snapshot(self) -> dict[str, JsonObject]:
        return {key: dict(value) for key, value in self.records.items()}

    def change(self, rng: random.Random, *, update: int, delete: int, add: int) -> None:
        """Update, delete and add records (never the same one twice in one change)."""
        keys = sorted(self.records)
        touched = rng.sample(keys, update + delete)
        for key in touched[:update]:
            old = self.records[key]
            self.records[key] = {**old, "rev": int(str(old["rev"])) + 1}
        for key in touched[update:]:
            del self.records[key]
        for _ in range(add):
            self.records[f"rec-{self.next_id:05d}"] = {"name": f"Record {self.next_id}", "rev": 0}
            self.next_id += 1

    def _outcome(self) -> tuple[str, str]:
        if self.script:
            return self.script.popleft()
        if self.faults.random() < self.fault_rate:
            return self.faults.choice(FAULTS), self.retry_after
        return OK, ""

    async def _items(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != self.token:
            self.bad_auth += 1
            return web.json_response({"error": "unauthorized"}, status=401)
        after = request.query.get("after", "")
        limit = int(request.query.get("limit", "100"))
        outcome, retry_after = self._outcome()
        self.hits.append(Hit(anyio.current_time(), after, outcome))
        self.outcomes[outcome] += 1
        if outcome == HANG:
            with anyio.move_on_after(self.hang_for):
                await self._closing.wait()
            return web.json_response({"error": "too late"}, status=504)
        if outcome != OK:
            headers = {"Retry-After": retry_after} if outcome in ("429", "503") else {}
            return web.json_response({"error": outcome}, status=int(outcome), headers=headers)
        keys = sorted(key for key in self.records if key > after)[:limit]
        items = [{"id": key, **self.records[key]} for key in keys]
        more = len(keys) == limit and any(key > keys[-1] for key in self.records)
        return web.json_response({"items": items, "next": keys[-1] if more else None})

    async def _ping(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"pong": True})

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Listen on 127.0.0.1 (a free port); yields the base URL."""
        app = web.Application()
        app.router.add_get("/items", self._items)
        app.router.add_get("/ping", self._ping)
        async with serving_locally(app) as url:
            try:
                yield url
            finally:
                self._closing.set()  # release hanging handlers before the server stops
