"""The bare pipeline the sync benchmark compares with: the same job with nothing of the hub.

aiohttp fetches the same pages (the same fetch-ahead window), each record is hashed over the
same canonical JSON, each page is COPY-merged into PostgreSQL in one transaction (binary
`copy_records_to_table` into a temp table, then `INSERT … SELECT … ON CONFLICT DO UPDATE …
WHERE the hash differs`, so unchanged rows are not written), and the same number of events is
published to JetStream pipelined (`publish_async`, then every ack awaited).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any, cast

import aiohttp
import asyncpg  # type: ignore[import-untyped, unused-ignore]  # no type information shipped
import nats
import orjson
from nats.aio.client import Client

from benchmarks._upstream import PER_PAGE, pages_in_order

CREATE = """
CREATE TABLE IF NOT EXISTS bare_records (
    tag text COLLATE "C" NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    data jsonb NOT NULL,
    content_hash text COLLATE "C" NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tag, external_id)
)"""
STAGE = """
CREATE TEMP TABLE IF NOT EXISTS bare_stage (
    tag text COLLATE "C", external_id text COLLATE "C", data jsonb, content_hash text COLLATE "C"
) ON COMMIT DELETE ROWS"""
MERGE = """
INSERT INTO bare_records (tag, external_id, data, content_hash, updated_at)
SELECT tag, external_id, data, content_hash, $1 FROM bare_stage
ON CONFLICT (tag, external_id) DO UPDATE
SET data = excluded.data, content_hash = excluded.content_hash, updated_at = excluded.updated_at
WHERE bare_records.content_hash <> excluded.content_hash"""
SUBJECT = "hub.events.bare-bench.record"


def rows_of(tag: str, page: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows = []
    for item in cast(list[dict[str, Any]], page["items"]):
        data = {k: v for k, v in item.items() if k != "id"}
        raw = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        rows.append((tag, str(item["id"]), raw.decode(), hashlib.sha256(raw).hexdigest()))
    return rows


class Bare:
    """A pool, an HTTP session and a NATS connection, opened once for every run."""

    def __init__(self, pool: asyncpg.Pool, session: aiohttp.ClientSession, nc: Client) -> None:
        self.pool = pool
        self.session = session
        self.nc = nc
        self.js = nc.jetstream()

    @classmethod
    async def open(cls, database_url: str, nats_url: str) -> Bare:
        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2, init=_init)
        async with pool.acquire() as connection:
            await connection.execute(CREATE)
        return cls(pool, aiohttp.ClientSession(), await nats.connect(nats_url))

    async def close(self) -> None:
        await self.session.close()
        await self.nc.close()
        await self.pool.close()

    async def fetch(self, base_url: str, number: int) -> dict[str, Any]:
        url = f"{base_url}/records"
        params = {"page": str(number), "per_page": str(PER_PAGE)}
        async with self.session.get(url, params=params) as response:
            response.raise_for_status()
            return cast(dict[str, Any], orjson.loads(await response.read()))

    async def sync(self, base_url: str, tag: str, window: int, events: int) -> int:
        """Fetch, hash and merge every page, then publish `events`; returns rows written."""
        first = await self.fetch(base_url, 1)
        written = await self.merge(rows_of(tag, first))
        ahead = pages_in_order(lambda n: self.fetch(base_url, n), 2, int(first["pages"]), window)
        async with aclosing(ahead) as pages:
            async for page in pages:
                written += await self.merge(rows_of(tag, page))
        await self.publish(events)
        return written

    async def merge(self, rows: Sequence[tuple[str, str, str, str]]) -> int:
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.copy_records_to_table("bare_stage", records=rows)
            status = await connection.execute(MERGE, datetime.now(UTC))
        return int(status.rsplit(" ", 1)[1])

    async def publish(self, count: int) -> None:
        futures = [
            await self.js.publish_async(
                SUBJECT, b'{"n": %d}' % n, headers={"Nats-Msg-Id": uuid.uuid4().hex}
            )
            for n in range(count)
        ]
        for future in futures:
            await future


async def _init(connection: asyncpg.Connection) -> None:
    await connection.execute(STAGE)
