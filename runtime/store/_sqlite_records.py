"""Sync runs and records in SQLite: one function per store operation, run on the worker thread.

A batch none of whose keys can be stored (no stored key lies between its smallest and largest,
one index search: each batch of a first sync paged in key order) is inserted as it is.
Otherwise it costs one query comparing its hashes with the stored ones (a JSON object of them),
then one `executemany` each for the new records and the changed ones, and (in a full run) one
row noting the keys seen unchanged (a JSON array); `_batch` decides which is which. The query
returns the stored keys while a run mostly writes, the keys to write once it mostly re-reads
unchanged records, so an unchanged re-sync reads back nothing. Unchanged rows are never
written. This beat staging into a temporary table and one `INSERT … SELECT … ON CONFLICT DO
UPDATE`, which touched every row of the batch three times (see benchmarks/store.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson

from runtime._ids import random_uuid
from runtime.store import _record_events, _runs
from runtime.store import _rows as rows
from runtime.store import _sqlite_sql as sql
from runtime.store._batch import (
    BatchPlan,
    Prepared,
    key_range,
    mostly_unchanged,
    plan_batch,
    plan_writes,
    unseen_gaps,
)
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
from runtime.store._rows import SQLITE
from runtime.store._sqlite_tx import Connection, insert_events, transaction
from runtime.store._values import encode_cursor, load_json

_NO_SEQ_LIMIT = 2**63 - 1


def start_run(
    connection: Connection, integration_id: str, entity: str, kind: RunKind, now: str
) -> SyncRun:
    with transaction(connection):
        connection.execute(sql.DROP_SUPERSEDED_SEEN, (integration_id, entity))
        row = connection.execute(
            sql.INSERT_RUN, (random_uuid(), integration_id, entity, kind.value, now)
        ).fetchone()
    return rows.run(row, SQLITE)


def resume_run(connection: Connection, run_id: str, now: str) -> SyncRun:
    with transaction(connection):
        row = connection.execute(sql.RESUME_RUN, (run_id, now)).fetchone()
        if row is None:
            raise _runs.missing_run(run_id, _exists(connection, run_id))
    return rows.run(row, SQLITE)


def latest_resumable_run(
    connection: Connection, integration_id: str, entity: str
) -> SyncRun | None:
    row = connection.execute(sql.LATEST_RUN, (integration_id, entity)).fetchone()
    if row is None or row[4] != RunStatus.INTERRUPTED:
        return None
    return rows.run(row, SQLITE)


def touch_run(connection: Connection, run_id: str, now: str) -> None:
    with transaction(connection):
        if connection.execute(sql.TOUCH_RUN, (run_id, now)).rowcount == 0:
            raise _runs.missing_run(run_id, _exists(connection, run_id))


def write_batch(
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
    now: str,
) -> BatchResult:
    with transaction(connection):
        run = _runs.state(run_id, connection.execute(sql.RUN_STATE, (run_id,)).fetchone())
        _runs.check_batch(run_id, run, integration_id, entity)
        bounds = key_range(records) if records else None
        plan = _plan(connection, run, records, bounds)
        key = (integration_id, entity)
        connection.executemany(sql.INSERT_RECORD, [(*key, *r, now, run.seq) for r in plan.new])
        connection.executemany(sql.UPDATE_RECORD, [(*key, *r, now, run.seq) for r in plan.changed])
        gone, deletions = soft_delete_keys(
            connection, *key, deleted, record_events=record_events, now=now
        )
        seen = 0
        if run.kind is RunKind.FULL and plan.unchanged and bounds is not None:
            keys = orjson.dumps(plan.unchanged).decode()
            covered = connection.execute(sql.COUNT_BETWEEN, (*key, *bounds)).fetchone()[0]
            noted = bounds if covered == len(records) else (None, None)
            connection.execute(sql.MARK_SEEN, (run_id, entity, keys, *noted))
            seen = len(plan.unchanged)
        result = BatchResult(len(plan.new), len(plan.changed), len(plan.unchanged), gone)
        connection.execute(
            sql.ADD_RUN_COUNTS,
            (run_id, result.added, result.updated, result.unchanged, seen, now, gone),
        )
        connection.execute(sql.SAVE_CHECKPOINT, (*key, checkpoint, len(records)))
        changes = _record_events.written(record_events, *key, plan.new, plan.changed)
        insert_events(connection, [*changes, *deletions, *events])
    return result


def soft_delete_keys(
    connection: Connection,
    integration_id: str,
    entity: str,
    keys: Sequence[str],
    *,
    record_events: _record_events.Stamp | None,
    now: str,
) -> tuple[int, list[Params]]:
    """Tombstones (a sync batch's, a webhook's), inside the caller's transaction: the live
    records of `keys` soft-deleted; (how many, their `record_changed` events if asked for)."""
    if not keys:
        return 0, []
    params = (integration_id, entity, now, orjson.dumps(list(keys)).decode())
    gone = [row[0] for row in connection.execute(sql.SOFT_DELETE_KEYS, params)]
    return len(gone), _record_events.deleted(record_events, integration_id, entity, gone)


def _plan(
    connection: Connection,
    run: _runs.RunState,
    records: Sequence[Prepared],
    bounds: tuple[str, str] | None,
) -> BatchPlan:
    if bounds is None:
        return BatchPlan([], [], [])
    key = (run.integration_id, run.entity)
    if not connection.execute(sql.ANY_STORED_BETWEEN, (*key, *bounds)).fetchone():
        return BatchPlan(list(records), [], [])
    batch = orjson.dumps({r[0]: r[2] for r in records}).decode()
    params = (*key, batch)
    if mostly_unchanged(run.written, run.unchanged):
        to_write = connection.execute(sql.KEYS_TO_WRITE, params)
        return plan_writes(records, {key: bool(stored) for key, stored in to_write})
    found = connection.execute(sql.STORED_KEYS, params)
    return plan_batch(records, {key: bool(same) for key, same in found})


def finish_run(
    connection: Connection,
    *,
    run_id: str,
    status: RunStatus,
    error: str | None,
    events: Sequence[Params],
    record_events: _record_events.Stamp | None,
    counts_in: frozenset[str],
    now: str,
) -> SyncRun:
    with transaction(connection):
        run = _runs.state(run_id, connection.execute(sql.RUN_STATE, (run_id,)).fetchone())
        _runs.require_running(run_id, run)
        deleted = 0
        if _runs.detects_deletions(run, status):
            found = connection.execute(sql.COUNT_SEEN, (run_id,)).fetchone()[0]
            if not _runs.seen_keys_intact(run, found):
                error = error or _runs.SEEN_KEYS_LOST
            elif run.added == 0 or _runs.may_leave_unseen(run, _count_stored(connection, run)):
                deleted, changes = _soft_delete(connection, run, run_id, record_events, now)
                events = [*changes, *events]
        if not _runs.keeps_seen_keys(status):
            connection.execute(sql.DELETE_SEEN, (run_id,))
        row = connection.execute(
            sql.FINISH_RUN, (run_id, status.value, now, deleted, error)
        ).fetchone()
        finished = rows.run(row, SQLITE)
        _note_outcome(connection, run, status, now)
        insert_events(connection, _runs.with_counts(events, counts_in, finished))
    return finished


def _count_stored(connection: Connection, run: _runs.RunState) -> int:
    found = connection.execute(sql.COUNT_STORED, (run.integration_id, run.entity)).fetchone()
    return int(found[0])


def _soft_delete(
    connection: Connection,
    run: _runs.RunState,
    run_id: str,
    record_events: _record_events.Stamp | None,
    now: str,
) -> tuple[int, list[Params]]:
    """(how many unseen records were deleted, their `record_changed` events if asked for).
    When every batch that noted seen keys covered its key range, only the gaps between the
    ranges are searched; otherwise the entity is scanned against the seen keys."""
    ranges = connection.execute(sql.SEEN_RANGES, (run_id, run.entity)).fetchall()
    returning = record_events is not None
    if any(lo is None for lo, _ in ranges):
        statement = sql.SOFT_DELETE_UNSEEN_RETURNING if returning else sql.SOFT_DELETE_UNSEEN
        params = (run.integration_id, run.entity, now, run_id, run.seq)
        cursors = [connection.execute(statement, params)]
    else:
        cursors = [connection.execute(*gap) for gap in _gap_deletes(run, ranges, returning, now)]
    if record_events is None:
        return sum(cursor.rowcount for cursor in cursors), []
    keys = [row[0] for cursor in cursors for row in cursor]
    return len(keys), _record_events.deleted(record_events, run.integration_id, run.entity, keys)


def _gap_deletes(
    run: _runs.RunState, ranges: Sequence[tuple[str, str]], returning: bool, now: str
) -> list[tuple[str, tuple[object, ...]]]:
    """(statement, parameters) soft-deleting the unseen records of each gap between `ranges`."""
    deletes: list[tuple[str, tuple[object, ...]]] = []
    for after, before in unseen_gaps(ranges):
        statement = sql.SOFT_DELETE_GAP[(after is not None, before is not None, returning)]
        bounds = (after, before) if before is not None else () if after is None else (after,)
        deletes.append((statement, (run.integration_id, run.entity, now, run.seq, *bounds)))
    return deletes


def _note_outcome(connection: Connection, run: _runs.RunState, status: RunStatus, now: str) -> None:
    if status is RunStatus.COMPLETED:
        connection.execute(sql.NOTE_SYNC_DONE, (run.integration_id, run.entity, now))
    elif status is RunStatus.FAILED:
        connection.execute(sql.NOTE_SYNC_FAILED, (run.integration_id, run.entity))


def mark_interrupted_runs(connection: Connection, now: str) -> int:
    with transaction(connection):
        return connection.execute(sql.MARK_INTERRUPTED, (now,)).rowcount


def get_run(connection: Connection, run_id: str) -> SyncRun:
    row = connection.execute(sql.SELECT_RUN, (run_id,)).fetchone()
    if row is None:
        raise _runs.missing_run(run_id, exists=False)
    return rows.run(row, SQLITE)


def list_runs(
    connection: Connection, integration_id: str, limit: int, before: int | None
) -> Page[SyncRun]:
    found = connection.execute(
        sql.LIST_RUNS, (integration_id, _NO_SEQ_LIMIT if before is None else before, limit + 1)
    ).fetchall()
    items = tuple(rows.run(row, SQLITE) for row in found[:limit])
    more = len(found) > limit
    return Page(items, encode_cursor("runs", found[limit - 1][rows.RUN_SEQ]) if more else None)


def get_checkpoint(connection: Connection, integration_id: str, entity: str) -> JsonObject | None:
    row = connection.execute(sql.GET_CHECKPOINT, (integration_id, entity)).fetchone()
    return None if row is None or row[0] is None else load_json(row[0])


def set_next_sync(
    connection: Connection, integration_id: str, entities: Sequence[str], at: str
) -> None:
    with transaction(connection):
        if connection.execute(sql.INTEGRATION_EXISTS, (integration_id,)).fetchone() is None:
            raise NotFound(f"no integration {integration_id!r}")
        connection.execute(sql.PLAN_EVERY_ENTITY, (integration_id, at))
        connection.executemany(sql.SET_NEXT_SYNC, [(integration_id, e, at) for e in entities])


def next_sync(connection: Connection, integration_id: str) -> str | None:
    found: str | None = connection.execute(sql.NEXT_SYNC, (integration_id,)).fetchone()[0]
    return found


def list_records(
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
    found = connection.execute(
        statement, (*params, after) if after is not None else params
    ).fetchall()
    items = tuple(rows.record(row, SQLITE) for row in found[:limit])
    more = len(found) > limit
    return Page(items, encode_cursor("records", items[-1].external_id) if more else None)


def count_records(connection: Connection, integration_id: str) -> Mapping[str, int]:
    return dict(connection.execute(sql.COUNT_RECORDS, (integration_id,)).fetchall())


def _exists(connection: Connection, run_id: str) -> bool:
    return connection.execute(sql.SELECT_RUN, (run_id,)).fetchone() is not None
