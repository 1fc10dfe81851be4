"""Sync runs and records in PostgreSQL: one coroutine per store operation, on a pooled connection.

A batch travels in one `COPY` (binary, `copy_records_to_table`) into a per-connection
temporary table; one statement (`WRITE_STAGED`) then compares each hash with the stored one,
notes the unchanged keys in `sync_seen` (one row per batch), and inserts or updates the rest
with `INSERT … SELECT … ON CONFLICT DO UPDATE`, counting both (`xmax = 0` tells an insert from
an update). Unchanged rows are neither written nor locked. The run's own counts so far pick
one of two other ways (`_batch`): a run that has so far mostly re-read unchanged records
compares first (`SORT_BATCH`, keys and hashes only) and sends the data of the records to
write alone, one round trip more; one that has so far mostly added records inserts first and
compares only the keys already stored (`INSERT_STAGED`). benchmarks/store.py measured each
against the others. The run's row is locked first, so a batch and the run's finish never
interleave. A batch asked for `record_events` uses the same statements ending in the arrays of
the added and the updated keys instead of their counts (`*_KEYS`); the records' data is
already here, so nothing travels twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson

from runtime._ids import random_uuid
from runtime.store import _postgres_sql as sql
from runtime.store import _record_events, _runs
from runtime.store import _rows as rows
from runtime.store._batch import Prepared, mostly_new, mostly_unchanged
from runtime.store._errors import NotFound
from runtime.store._model import (
    BatchResult,
    JsonObject,
    Page,
    RecordRow,
    RunKind,
    RunStatus,
    SyncRun,
)
from runtime.store._params import Params
from runtime.store._postgres_tx import Connection, affected, insert_events
from runtime.store._rows import POSTGRES
from runtime.store._values import encode_cursor, load_json

_NO_SEQ_LIMIT = 2**63 - 1


async def start_run(
    connection: Connection, integration_id: str, entity: str, kind: RunKind, now: datetime
) -> SyncRun:
    async with connection.transaction():
        await connection.execute(sql.DROP_SUPERSEDED_SEEN, integration_id, entity)
        row = await connection.fetchrow(
            sql.INSERT_RUN, random_uuid(), integration_id, entity, kind.value, now
        )
    return rows.run(row, POSTGRES)


async def resume_run(connection: Connection, run_id: str, now: datetime) -> SyncRun:
    row = await connection.fetchrow(sql.RESUME_RUN, run_id, now)
    if row is None:
        raise _runs.missing_run(run_id, await _exists(connection, run_id))
    return rows.run(row, POSTGRES)


async def latest_resumable_run(
    connection: Connection, integration_id: str, entity: str
) -> SyncRun | None:
    row = await connection.fetchrow(sql.LATEST_RUN, integration_id, entity)
    if row is None or row[4] != RunStatus.INTERRUPTED:
        return None
    return rows.run(row, POSTGRES)


async def touch_run(connection: Connection, run_id: str, now: datetime) -> None:
    if affected(await connection.execute(sql.TOUCH_RUN, run_id, now)) == 0:
        raise _runs.missing_run(run_id, await _exists(connection, run_id))


async def write_batch(
    connection: Connection,
    *,
    run_id: str,
    integration_id: str,
    entity: str,
    records: Sequence[Prepared],
    checkpoint: str | None,
    deleted: Sequence[str],
    events: Sequence[Params],
    record_events: _record_events.Stamp | None,
    now: datetime,
) -> BatchResult:
    async with connection.transaction():
        run = _runs.state(run_id, await connection.fetchrow(sql.RUN_STATE, run_id))
        _runs.check_batch(run_id, run, integration_id, entity)
        to_write, seen = records, 0
        if records and mostly_unchanged(run.written, run.unchanged):
            to_write, seen = await _sort(connection, run_id, run, records)
        written = _Written(0, 0, [])
        if to_write:
            written = await _write(
                connection, run_id, run, to_write, now=now, record_events=record_events
            )
            seen += written.seen
        gone, deletions = await soft_delete_keys(
            connection, integration_id, entity, deleted, record_events=record_events, now=now
        )
        added, updated = written.added, written.updated
        result = BatchResult(added, updated, len(records) - added - updated, gone)
        await connection.execute(
            sql.NOTE_BATCH,
            run_id,
            result.added,
            result.updated,
            result.unchanged,
            seen,
            now,
            integration_id,
            entity,
            checkpoint,
            len(records),
            gone,
        )
        await insert_events(connection, [*written.events, *deletions, *events])
    return result


async def soft_delete_keys(
    connection: Connection,
    integration_id: str,
    entity: str,
    keys: Sequence[str],
    *,
    record_events: _record_events.Stamp | None,
    now: datetime,
) -> tuple[int, list[Params]]:
    """Tombstones (a sync batch's, a webhook's), inside the caller's transaction: the live
    records of `keys` soft-deleted; (how many, their `record_changed` events if asked for)."""
    if not keys:
        return 0, []
    found = await connection.fetch(sql.SOFT_DELETE_KEYS, integration_id, entity, now, list(keys))
    gone = [row[0] for row in found]
    return len(gone), _record_events.deleted(record_events, integration_id, entity, gone)


@dataclass(frozen=True, slots=True)
class _Written:
    added: int
    updated: int
    events: list[Params]
    seen: int = 0


async def _write(
    connection: Connection,
    run_id: str,
    run: _runs.RunState,
    to_write: Sequence[Prepared],
    *,
    now: datetime,
    record_events: _record_events.Stamp | None,
) -> _Written:
    """Stage the records and write them in one statement (see the module docstring): its
    counts, or, for `record_events`, the added and updated keys, turned into events here."""
    await connection.copy_records_to_table(sql.STAGE, records=to_write, columns=sql.STAGE_COLUMNS)
    new = mostly_new(run.added, run.updated, run.unchanged)
    keys = record_events is not None
    statement = {
        (True, False): sql.INSERT_STAGED,
        (True, True): sql.INSERT_STAGED_KEYS,
        (False, False): sql.WRITE_STAGED,
        (False, True): sql.WRITE_STAGED_KEYS,
    }[(new, keys)]
    full = run.kind is RunKind.FULL
    added, updated, seen = await connection.fetchrow(
        statement, run.integration_id, run.entity, now, run.seq, run_id, full
    )
    if not keys:
        return _Written(added, updated, [], seen)
    by_key = {r[0]: r for r in to_write}
    events = _record_events.written(
        record_events,
        run.integration_id,
        run.entity,
        [by_key[key] for key in added],
        [by_key[key] for key in updated],
    )
    return _Written(len(added), len(updated), events, seen)


async def _sort(
    connection: Connection, run_id: str, run: _runs.RunState, records: Sequence[Prepared]
) -> tuple[list[Prepared], int]:
    """(the records to write, how many unchanged keys were noted as seen)."""
    full = run.kind is RunKind.FULL
    batch = orjson.dumps({r[0]: r[2] for r in records}).decode()
    rows = await connection.fetch(
        sql.SORT_BATCH, run.integration_id, run.entity, batch, run_id, full
    )
    wanted = {row[0] for row in rows}
    to_write = [r for r in records if r[0] in wanted]
    return to_write, (len(records) - len(to_write)) if full else 0


async def finish_run(
    connection: Connection,
    *,
    run_id: str,
    status: RunStatus,
    error: str | None,
    events: Sequence[Params],
    record_events: _record_events.Stamp | None,
    counts_in: frozenset[str],
    now: datetime,
) -> SyncRun:
    async with connection.transaction():
        run = _runs.state(run_id, await connection.fetchrow(sql.RUN_STATE, run_id))
        _runs.require_running(run_id, run)
        deleted = 0
        if _runs.detects_deletions(run, status):
            if _runs.seen_keys_intact(run, await connection.fetchval(sql.COUNT_SEEN, run_id)):
                await connection.execute(sql.NO_NESTED_LOOPS)
                deleted, changes = await _soft_delete(connection, run, run_id, record_events, now)
                events = [*changes, *events]
            else:
                error = error or _runs.SEEN_KEYS_LOST
        if not _runs.keeps_seen_keys(status):
            await connection.execute(sql.DELETE_SEEN, run_id)
        row = await connection.fetchrow(sql.FINISH_RUN, run_id, status.value, now, deleted, error)
        finished = rows.run(row, POSTGRES)
        await _note_outcome(connection, run, status, now)
        await insert_events(connection, _runs.with_counts(events, counts_in, finished))
    return finished


async def _soft_delete(
    connection: Connection,
    run: _runs.RunState,
    run_id: str,
    record_events: _record_events.Stamp | None,
    now: datetime,
) -> tuple[int, list[Params]]:
    """(how many unseen records were deleted, their `record_changed` events if asked for)."""
    params = (run.integration_id, run.entity, now, run_id, run.seq)
    if record_events is None:
        return affected(await connection.execute(sql.SOFT_DELETE_UNSEEN, *params)), []
    keys = [row[0] for row in await connection.fetch(sql.SOFT_DELETE_UNSEEN_RETURNING, *params)]
    return len(keys), _record_events.deleted(record_events, run.integration_id, run.entity, keys)


async def _note_outcome(
    connection: Connection, run: _runs.RunState, status: RunStatus, now: datetime
) -> None:
    if status is RunStatus.COMPLETED:
        await connection.execute(sql.NOTE_SYNC_DONE, run.integration_id, run.entity, now)
    elif status is RunStatus.FAILED:
        await connection.execute(sql.NOTE_SYNC_FAILED, run.integration_id, run.entity)


async def mark_interrupted_runs(connection: Connection, now: datetime) -> int:
    return affected(await connection.execute(sql.MARK_INTERRUPTED, now))


async def get_run(connection: Connection, run_id: str) -> SyncRun:
    row = await connection.fetchrow(sql.SELECT_RUN, run_id)
    if row is None:
        raise _runs.missing_run(run_id, exists=False)
    return rows.run(row, POSTGRES)


async def list_runs(
    connection: Connection, integration_id: str, limit: int, before: int | None
) -> Page[SyncRun]:
    found = await connection.fetch(
        sql.LIST_RUNS, integration_id, _NO_SEQ_LIMIT if before is None else before, limit + 1
    )
    items = tuple(rows.run(row, POSTGRES) for row in found[:limit])
    more = len(found) > limit
    return Page(items, encode_cursor("runs", found[limit - 1][rows.RUN_SEQ]) if more else None)


async def get_checkpoint(
    connection: Connection, integration_id: str, entity: str
) -> JsonObject | None:
    value = await connection.fetchval(sql.GET_CHECKPOINT, integration_id, entity)
    return None if value is None else load_json(value)


async def set_next_sync(
    connection: Connection, integration_id: str, entities: list[str], at: datetime
) -> None:
    async with connection.transaction():
        if await connection.fetchrow(sql.INTEGRATION_EXISTS, integration_id) is None:
            raise NotFound(f"no integration {integration_id!r}")
        await connection.execute(sql.SET_NEXT_SYNC, integration_id, entities, at)


async def next_sync(connection: Connection, integration_id: str) -> datetime | None:
    found: datetime | None = await connection.fetchval(sql.NEXT_SYNC, integration_id)
    return found


async def list_records(
    connection: Connection,
    *,
    integration_id: str,
    entity: str,
    limit: int,
    after: str | None,
    include_deleted: bool,
) -> Page[RecordRow]:
    statement = sql.LIST_RECORDS[(after is not None, include_deleted)]
    params: tuple[object, ...] = (integration_id, entity, limit + 1)
    found = await connection.fetch(statement, *params, *(() if after is None else (after,)))
    items = tuple(rows.record(row, POSTGRES) for row in found[:limit])
    more = len(found) > limit
    return Page(items, encode_cursor("records", items[-1].external_id) if more else None)


async def count_records(connection: Connection, integration_id: str) -> Mapping[str, int]:
    return {row[0]: row[1] for row in await connection.fetch(sql.COUNT_RECORDS, integration_id)}


async def _exists(connection: Connection, run_id: str) -> bool:
    return await connection.fetchrow(sql.SELECT_RUN, run_id) is not None
