"""Store benchmarks (issue 3): how fast syncs write records, on SQLite and on PostgreSQL.

    python -m benchmarks.store [--quick]

Prints one JSON line per figure on stdout (see `benchmarks._report`), progress on stderr, and
exits 0 whether or not the goals are met. Records are ~200 bytes of JSON (one run uses ~2 KB),
written as full syncs in batches of 1,000 through the whole store path: start_run, write_batch
(hash, stage, upsert, checkpoint, seen keys), finish_run (deletion detection). Every timing
covers the calls that store the records (the store's side also builds the `RecordIn`s its API
takes), not the making of each batch's dicts, which happens between the timed calls: as the
issue's reference rates for the bare paths (~500 k/s SQLite, ~145 k/s PostgreSQL) do.

Baselines, measured in the same run on the same data, each serialising the dicts to JSON as any
path storing them must, with the JSON library the store uses (orjson, so that the ratio
compares the database paths, not two JSON encoders):
- PostgreSQL: asyncpg `copy_records_to_table` into a temp table + one
  `INSERT … SELECT … ON CONFLICT DO UPDATE` per batch, a transaction per batch, no hashing.
- SQLite: `sqlite3` `executemany` of plain INSERTs into an equivalent table in one transaction.
Each pair runs several times (4 at 10k, 2 at 100k), alternating, and the best of each is kept,
so a neighbour busy on the machine slows both sides rather than one.

Figures (per backend): first insert (rate and ratio to the baseline; PostgreSQL also its
absolute rate), a re-sync with 10 % changed, an unchanged re-sync (its speed-up over the
first insert, best of four against best of four, and the record rows it wrote, counted in the
database itself: PostgreSQL rows whose ctid/xmin/xmax moved, SQLite an UPDATE/INSERT
trigger), the process's peak RSS, a ~2 KB-record first insert, and what hashing alone costs
per record, the records made before the clock starts (the last two reported without a goal:
`goal` and `met` are null).
`--quick` uses 10k records (PostgreSQL's first insert also at 100k); the full run uses 100k.
PostgreSQL is the machine's server (`HUB_BENCH_POSTGRES_URL`, default
postgres@127.0.0.1:5432), in a database made and dropped here; without it, its figures are
left out (stderr says so).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped, unused-ignore]  # no type information shipped
from orjson import dumps

from benchmarks._report import Figure, emit, rate, ratio_goal, value_goal
from runtime.store import (
    AuditIn,
    IntegrationIn,
    RecordIn,
    RunKind,
    RunStatus,
    Store,
    open_store,
)
from runtime.store._params import records as prepare_batch

BATCH = 1_000
RUNS = 4  # of the first insert against its baseline, and of the unchanged re-sync
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- data ------------------------------------------------------------------------------------


def make_record(i: int, version: int = 1, padding: int = 0) -> dict[str, object]:
    """~200 bytes of JSON (plus `padding` characters)."""
    data: dict[str, object] = {
        "id": i,
        "name": f"Contact {i:07d}",
        "email": f"contact{i}@example.com",
        "company": f"Company {i % 997:03d} GmbH",
        "city": "Berlin",
        "score": (i * 7919) % 1000 / 10,
        "version": version,
        "updated": "2030-01-02T03:04:05Z",
    }
    if padding:
        data["notes"] = "n" * padding
    return data


def changed_version(i: int, changed_every: int | None) -> int:
    return 2 if changed_every and i % changed_every == 0 else 1


def batches(
    count: int, changed_every: int | None = None, padding: int = 0
) -> Iterator[list[tuple[str, dict[str, object]]]]:
    """The records streamed in batches, never all in memory."""
    for start in range(0, count, BATCH):
        yield [
            (f"ext-{i:08d}", make_record(i, changed_version(i, changed_every), padding))
            for i in range(start, min(start + BATCH, count))
        ]


# -- the store path ----------------------------------------------------------------------------


async def store_sync(
    store: Store,
    integration_id: str,
    count: int,
    changed_every: int | None = None,
    padding: int = 0,
) -> float:
    """Seconds for one full sync of `count` records through the store: the store's calls and
    the `RecordIn`s they take are timed, making each batch's records is not."""
    started = time.perf_counter()
    run = await store.start_run(integration_id, "contacts", RunKind.FULL)
    spent = time.perf_counter() - started
    for number, batch in enumerate(batches(count, changed_every, padding)):
        started = time.perf_counter()
        records = [RecordIn(external_id, data) for external_id, data in batch]
        await store.write_batch(run.id, integration_id, "contacts", records, {"batch": number})
        spent += time.perf_counter() - started
    started = time.perf_counter()
    await store.finish_run(run.id, RunStatus.COMPLETED)
    return spent + time.perf_counter() - started


async def new_integration(store: Store) -> str:
    integration_id = f"bench-{uuid.uuid4().hex[:8]}"
    spec = IntegrationIn(integration_id, "bench", "REST", "demo", "running", {})
    await store.create_integration(spec, {}, AuditIn("bench", "create", integration_id))
    return integration_id


# -- baselines -----------------------------------------------------------------------------

PG_BARE_TABLE = """
CREATE TABLE IF NOT EXISTS bare_records (
    integration_id text COLLATE "C" NOT NULL, entity text COLLATE "C" NOT NULL,
    external_id text COLLATE "C" NOT NULL, data jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, entity, external_id))"""
PG_BARE_STAGE = (
    'CREATE TEMP TABLE IF NOT EXISTS bare_stage (external_id text COLLATE "C", data jsonb)'
    " ON COMMIT DELETE ROWS"
)
PG_BARE_UPSERT = """
INSERT INTO bare_records (integration_id, entity, external_id, data)
SELECT $1, 'contacts', external_id, data FROM bare_stage
ON CONFLICT (integration_id, entity, external_id) DO UPDATE SET data = EXCLUDED.data,
    updated_at = now()"""


async def postgres_bare(url: str, count: int, padding: int = 0) -> float:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(PG_BARE_TABLE)
        await connection.execute(PG_BARE_STAGE)
        integration_id = uuid.uuid4().hex
        spent = 0.0
        for batch in batches(count, padding=padding):
            started = time.perf_counter()
            rows = [(external_id, dumps(data).decode()) for external_id, data in batch]
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "bare_stage", records=rows, columns=("external_id", "data")
                )
                await connection.execute(PG_BARE_UPSERT, integration_id)
            spent += time.perf_counter() - started
        return spent
    finally:
        await connection.close()


SQLITE_BARE_TABLE = """
CREATE TABLE IF NOT EXISTS bare_records (
    integration_id TEXT NOT NULL, entity TEXT NOT NULL, external_id TEXT NOT NULL,
    data TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    PRIMARY KEY (integration_id, entity, external_id))"""


def sqlite_bare(path: Path, count: int, padding: int = 0) -> float:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL"):
            connection.execute(f"PRAGMA {pragma}")
        connection.execute(SQLITE_BARE_TABLE)
        integration_id = uuid.uuid4().hex
        now = "2030-01-02T03:04:05.000000Z"
        started = time.perf_counter()
        connection.execute("BEGIN")
        spent = time.perf_counter() - started
        for batch in batches(count, padding=padding):
            started = time.perf_counter()
            connection.executemany(
                "INSERT INTO bare_records VALUES (?, 'contacts', ?, ?, ?, ?)",
                [(integration_id, e, dumps(d).decode(), now, now) for e, d in batch],
            )
            spent += time.perf_counter() - started
        started = time.perf_counter()
        connection.execute("COMMIT")
        return spent + time.perf_counter() - started
    finally:
        connection.close()


# -- counting rewrites in the database itself ---------------------------------------------------


class RowWrites:
    """Counts the record rows a sync writes, from the database's own bookkeeping: SQLite a
    trigger on INSERT/UPDATE; PostgreSQL the rows whose (ctid, xmin, xmax) moved, which also
    catches a row only locked (as ON CONFLICT … WHERE false does), compared in the server."""

    def __init__(self, backend: Backend, integration_id: str) -> None:
        self._backend = backend
        self._integration_id = integration_id

    async def __aenter__(self) -> RowWrites:
        if self._backend.url is None:
            await asyncio.to_thread(self._sqlite, SQLITE_WATCH)
        else:
            await self._postgres(PG_SNAPSHOT, self._integration_id)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._backend.url is None:
            await asyncio.to_thread(self._sqlite, SQLITE_UNWATCH)
        else:
            await self._postgres("DROP TABLE bench_versions")

    async def count(self) -> int:
        if self._backend.url is None:
            return int(await asyncio.to_thread(self._sqlite, "SELECT count(*) FROM bench_writes"))
        return int(await self._postgres(PG_MOVED, self._integration_id))

    async def _postgres(self, query: str, *args: object) -> Any:
        connection = await asyncpg.connect(self._backend.url)
        try:
            return await connection.fetchval(query, *args)
        finally:
            await connection.close()

    def _sqlite(self, script: str) -> Any:
        connection = sqlite3.connect(self._backend.data_dir / "hub.sqlite3", isolation_level=None)
        try:
            if script.startswith("SELECT"):
                return connection.execute(script).fetchone()[0]
            connection.executescript(script)
            return None
        finally:
            connection.close()


PG_SNAPSHOT = """
CREATE TABLE bench_versions AS
SELECT external_id, ctid::text AS row_ctid, xmin::text AS row_xmin, xmax::text AS row_xmax
FROM records WHERE integration_id = $1"""
PG_MOVED = """
SELECT count(*) FROM records AS r
LEFT JOIN bench_versions AS v ON v.external_id = r.external_id
WHERE r.integration_id = $1
  AND (v.external_id IS NULL
       OR (r.ctid::text, r.xmin::text, r.xmax::text)
           IS DISTINCT FROM (v.row_ctid, v.row_xmin, v.row_xmax))"""
SQLITE_WATCH = """
CREATE TABLE IF NOT EXISTS bench_writes (external_id TEXT);
DELETE FROM bench_writes;
CREATE TRIGGER bench_updates AFTER UPDATE ON records
    BEGIN INSERT INTO bench_writes VALUES (new.external_id); END;
CREATE TRIGGER bench_inserts AFTER INSERT ON records
    BEGIN INSERT INTO bench_writes VALUES (new.external_id); END;
"""
SQLITE_UNWATCH = "DROP TRIGGER bench_updates; DROP TRIGGER bench_inserts;"


# -- running -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    name: str
    url: str | None
    data_dir: Path


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str | None]:
    admin = os.environ.get("HUB_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        connection = await asyncpg.connect(admin, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        log(f"PostgreSQL not reachable ({error}); its figures are left out")
        yield None
        return
    name = f"hub_bench_{uuid.uuid4().hex[:8]}"
    await connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin.rpartition('/')[0]}/{name}"
    finally:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


async def best_of(
    runs: int, first: Callable[[], Awaitable[float]], second: Callable[[], Awaitable[float]]
) -> tuple[float, float]:
    """Run the pair `runs` times, alternating; the best (smallest) time of each."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        a.append(await first())
        b.append(await second())
    return min(a), min(b)


def emit_reported(name: str, value: float, unit: str, baseline: float | None) -> None:
    """A figure reported without a goal: `goal` and `met` are null."""
    emit(Figure(name, value, unit, baseline, None))


def hashing_us_per_record(count: int) -> float:
    """What canonical JSON + SHA-256 alone cost per record (the store's fixed Python share):
    the batch preparation `write_batch` runs (`_params.records`: last record per key wins,
    canonical JSON, hash), the records made before the clock starts."""
    spent = 0.0
    for batch in batches(count):
        records = [RecordIn(external_id, data) for external_id, data in batch]
        started = time.perf_counter()
        prepare_batch(records)
        spent += time.perf_counter() - started
    return spent / count * 1e6


@dataclass
class Bench:
    backend: Backend
    store: Store

    @property
    def prefix(self) -> str:
        return f"store_{self.backend.name}"

    async def sync(self, integration_id: str | None, count: int, **data: int | None) -> float:
        if integration_id is None:
            integration_id = await new_integration(self.store)
        return await store_sync(self.store, integration_id, count, **data)  # type: ignore[arg-type]

    async def bare(self, count: int) -> float:
        if self.backend.url is None:
            path = self.backend.data_dir / "bare.sqlite3"
            return await asyncio.to_thread(sqlite_bare, path, count)
        return await postgres_bare(self.backend.url, count)

    async def first_insert(self, count: int, runs: int) -> float:
        """Emits the first-insert figures; returns the store's best time."""
        ours, bare = await best_of(runs, lambda: self.sync(None, count), lambda: self.bare(count))
        name = f"{self.prefix}_first_insert_{count // 1000}k"
        emit(Figure(name, rate(count, ours), "records/s", rate(count, bare), ratio_goal(0.7)))
        return ours

    async def resyncs(self, count: int, first: float, runs: int) -> None:
        """The re-sync figures; the unchanged one is the best of `runs`, as the first insert's
        best is of as many, so that neither side of the speed-up has more tries at luck."""
        label = f"{count // 1000}k"
        integration_id = await new_integration(self.store)
        await self.sync(integration_id, count)
        changed = await self.sync(integration_id, count, changed_every=10)
        emit_reported(
            f"{self.prefix}_resync_10pct_changed_{label}", rate(count, changed), "records/s", None
        )
        async with RowWrites(self.backend, integration_id) as writes:
            unchanged = await self.sync(integration_id, count, changed_every=10)
            written = await writes.count()
        for _ in range(runs - 1):
            unchanged = min(unchanged, await self.sync(integration_id, count, changed_every=10))
        emit(
            Figure(
                f"{self.prefix}_unchanged_resync_speedup_{label}",
                first / unchanged,
                "x first insert",
                None,
                value_goal(">=", 1.5),
            )
        )
        emit(
            Figure(
                f"{self.prefix}_unchanged_rows_written_{label}",
                written,
                "rows",
                None,
                value_goal("<=", 0),
            )
        )


async def bench_backend(backend: Backend, count: int, big_count: int | None) -> None:
    store = await open_store(backend.url, backend.data_dir)
    bench = Bench(backend, store)
    try:
        log(f"{backend.name}: first insert of {count} records, against the bare path")
        first = await bench.first_insert(count, runs=RUNS)
        if backend.url is not None:
            emit(
                Figure(
                    f"{bench.prefix}_first_insert_{count // 1000}k_rate",
                    rate(count, first),
                    "records/s",
                    None,
                    value_goal(">=", 100_000),
                )
            )
        log(f"{backend.name}: re-syncs, 10 % changed and unchanged")
        await bench.resyncs(count, first, runs=RUNS)
        log(f"{backend.name}: first insert of ~2 KB records")
        big = await bench.sync(None, count, padding=1800)
        emit_reported(
            f"{bench.prefix}_first_insert_2kb_{count // 1000}k",
            rate(count, big),
            "records/s",
            None,
        )
        if big_count is not None:
            log(f"{backend.name}: first insert of {big_count} records")
            await bench.first_insert(big_count, runs=2)
    finally:
        await store.close()


async def main(quick: bool) -> None:
    count = 10_000 if quick else 100_000
    emit_reported("store_hashing_us_per_record", hashing_us_per_record(count), "us", None)
    data_dir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    try:
        await bench_backend(Backend("sqlite", None, data_dir / "sqlite"), count, None)
        async with postgres_database() as url:
            if url is not None:
                pg = Backend("postgres", url, data_dir / "pg")
                await bench_backend(pg, count, 100_000 if quick else None)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        emit(Figure("store_peak_rss_mb", rss, "MB", None, value_goal("<", 150)))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="10k records (< 60 s)")
    args = parser.parse_args(argv)
    asyncio.run(main(args.quick))


if __name__ == "__main__":
    cli()
