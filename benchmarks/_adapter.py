"""The sync benchmark's REST adapter: pages of `benchmarks._upstream` through the shared
`HttpClient` (so through the integration's rate limiter, retries and spans), the first page
alone to learn how many there are, the rest `window` pages ahead, yielded in order.

The checkpoint is the last page written; a resumed sync starts after it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any, cast

from adapters import (
    Adapter,
    AdapterContext,
    AdapterSpec,
    Batch,
    ConnectionInfo,
    HealthStatus,
    SourceRecord,
    SyncRequest,
)
from benchmarks._upstream import PER_PAGE, pages_in_order
from config import IntegrationType

ENTITY = "customers"
Page = dict[str, Any]


def batch_of(page: Page) -> Batch:
    """The page's records (the id taken out of the data) and the checkpoint after it."""
    items = cast(list[dict[str, Any]], page["items"])
    records = tuple(
        SourceRecord(str(item["id"]), {k: v for k, v in item.items() if k != "id"})
        for item in items
    )
    number, pages = int(page["page"]), int(page["pages"])
    done = number >= pages
    return Batch(ENTITY, records, {"page": number, "done": done}, complete=done)


def first_page(cursor: dict[str, Any] | None) -> int:
    if cursor is None or cursor.get("done"):
        return 1
    return int(cursor["page"]) + 1


class PagesAheadAdapter(Adapter):
    """GET {base_url}/records?page=&per_page= -> {"items": [...], "page": n, "pages": m}."""

    name = "bench-rest"

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        self.base_url = str(context.settings["base_url"])
        self.window = int(cast(int, context.settings.get("window", 1)))
        self.timeout = float(cast(float, context.settings.get("timeout", 5.0)))

    async def connect(self) -> ConnectionInfo:
        await self.context.http.get(f"{self.base_url}/ping", timeout=self.timeout)
        return ConnectionInfo(peer=self.base_url)

    async def health_check(self) -> HealthStatus:
        started = self.context.clock.now()
        await self.context.http.get(f"{self.base_url}/ping", timeout=self.timeout)
        return HealthStatus(True, self.context.clock.now() - started, "pong")

    async def fetch(self, number: int) -> Page:
        response = await self.context.http.get(
            f"{self.base_url}/records",
            params={"page": number, "per_page": PER_PAGE},
            timeout=self.timeout,
        )
        return cast(Page, response.json())

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        start = first_page(cast("dict[str, Any] | None", request.checkpoint(ENTITY)))
        page = await self.fetch(start)
        yield batch_of(page)
        pages = int(page["pages"])
        async with aclosing(pages_in_order(self.fetch, start + 1, pages, self.window)) as ahead:
            async for page in ahead:
                yield batch_of(page)


SPEC = AdapterSpec(
    name="bench-rest",
    title="Paged REST (benchmark)",
    description="Pages through the sync benchmark's upstream, several pages ahead.",
    icon="⏱",
    kind=IntegrationType.REST,
    factory=PagesAheadAdapter,
    settings_schema={"type": "object"},
    entities=(ENTITY,),
)
