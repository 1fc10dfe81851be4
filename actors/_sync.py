"""One sync of one entity: adapter batches -> field mapping -> store, resumable at any batch.

Each batch is written with its checkpoint in one transaction, so a sync killed at any moment
resumes after its last written batch. Which run to write into follows three rules:
- an interrupted run of the entity is resumed (same run, so its seen keys still count);
- a new full run that starts at the beginning of a pass may conclude deletions;
- a new run that starts in the middle of a pass (the previous one failed for good) is stored
  as incremental: it did not see everything, so it must not delete anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import cast

import anyio
from opentelemetry import trace

from actors import _sync_pipeline as pipeline
from actors._sync_pipeline import split_records
from adapters import Adapter, Batch, SyncKind, SyncRequest
from adapters import JsonObject as AdapterCursor
from config import FieldMapping
from runtime import sole_error
from runtime.store import (
    BatchResult,
    JsonObject,
    LogIn,
    RecordEvents,
    RecordIn,
    RunKind,
    RunStatus,
    Store,
    SyncRun,
)

CURSOR = "cursor"
COMPLETE = "complete"
RUN = "run"
ORPHANED = "interrupted: its sync ended without finishing it"


@dataclass(frozen=True, slots=True)
class Start:
    """Where a sync of one entity starts: the run to write into and the adapter's cursor."""

    run: SyncRun
    cursor: JsonObject | None
    resumed: bool
    done: bool = False  # a resumed run whose own last batch ended its pass: nothing left to read


@dataclass(slots=True)
class Progress:
    """What a running sync has done so far (read by the status page and the stall check)."""

    entity: str = ""
    batches: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0  # by the source's tombstones (a full run's unseen records go at its end)
    last_progress: float = 0.0


def stored_checkpoint(cursor: Mapping[str, object], complete: bool, run_id: str) -> JsonObject:
    """The adapter's cursor, whether its pass is complete, and the run that wrote it."""
    return {CURSOR: dict(cursor), COMPLETE: complete, RUN: run_id}


def split_checkpoint(stored: JsonObject | None) -> tuple[JsonObject | None, bool, str | None]:
    """(the adapter's cursor, whether the pass it belongs to was complete, the run that wrote
    it)."""
    if stored is None:
        return None, True, None
    cursor = stored.get(CURSOR)
    run = stored.get(RUN)
    return (
        dict(cursor) if isinstance(cursor, Mapping) else None,
        bool(stored.get(COMPLETE)),
        run if isinstance(run, str) else None,
    )


def store_kind(kind: SyncKind, pass_complete: bool) -> RunKind:
    """A full run may conclude deletions only if it starts at the beginning of a pass."""
    if kind is SyncKind.FULL and pass_complete:
        return RunKind.FULL
    return RunKind.INCREMENTAL


async def begin(store: Store, integration_id: str, entity: str, kind: SyncKind) -> Start:
    """Called only when no sync of this integration is running (one actor, one sync)."""
    await interrupt_orphans(store, integration_id, entity)
    interrupted = await store.latest_resumable_run(integration_id, entity)
    cursor, complete, written_by = split_checkpoint(
        await store.get_checkpoint(integration_id, entity)
    )
    if interrupted is not None:
        run = await store.resume_run(interrupted.id)
        # Cut off after its last batch but before it was finished: the pass is whole.
        return Start(run, cursor, resumed=True, done=complete and written_by == run.id)
    run = await store.start_run(integration_id, entity, store_kind(kind, complete))
    return Start(run, cursor, resumed=False)


def request_kind(start: Start, asked: SyncKind) -> SyncKind:
    """What to ask the adapter for: a resumed full run goes on as full, whatever this sync
    was asked to be, because that run will conclude deletions from what it saw."""
    if start.resumed and start.run.kind is RunKind.FULL:
        return SyncKind.FULL
    return asked


async def interrupt_orphans(store: Store, integration_id: str, entity: str) -> None:
    """A run still `running` when no sync is: its sync ended (a failed finish, a crash of the
    actor) without finishing it. Interrupted, it keeps its seen keys and is resumed."""
    for run in (await store.list_runs(integration_id, limit=20)).items:
        if run.entity == entity and run.status is RunStatus.RUNNING:
            await store.finish_run(run.id, RunStatus.INTERRUPTED, ORPHANED)


def records_of(batch: Batch, mappings: Sequence[FieldMapping]) -> list[RecordIn]:
    """The batch's records to write (its tombstones left out: `split_records` has both)."""
    return split_records(batch.records, mappings)[0]


async def run_entity(
    adapter: Adapter,
    store: Store,
    start: Start,
    *,
    kind: SyncKind,
    mappings: Sequence[FieldMapping],
    progress: Progress,
    now: Callable[[], float],
    record_events: Callable[[], RecordEvents],
    notify: Callable[[], None],
) -> None:
    """Write every batch of the entity, each changed record reported by an event of its own
    (`record_events` stamps them); returns when the adapter's pass is done."""
    run = start.run
    cursor = cast("AdapterCursor | None", start.cursor)
    request = SyncRequest((run.entity,), request_kind(start, kind), {run.entity: cursor})
    send, receive = pipeline.stream()
    try:
        async with anyio.create_task_group() as tg, aclosing(pipeline.writes(receive)) as writes:
            tg.start_soon(pipeline.read_batches, adapter, request, mappings, send)
            async for write in writes:
                result = await store.write_batch(
                    run.id,
                    run.integration_id,
                    run.entity,
                    write.records,
                    stored_checkpoint(write.checkpoint, write.complete, run.id),
                    deleted=write.deleted,
                    record_events=record_events(),
                )
                if result.added or result.updated or result.deleted:
                    notify()
                _note(progress, write.batches, result, now())
    except BaseExceptionGroup as group:
        raise sole_error(group) from None


def _note(progress: Progress, batches: int, result: BatchResult, at: float) -> None:
    trace.get_current_span().add_event(
        "batch",
        {
            "batches": batches,
            "added": result.added,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "deleted": result.deleted,
        },
    )
    progress.batches += batches
    progress.added += result.added
    progress.updated += result.updated
    progress.unchanged += result.unchanged
    progress.deleted += result.deleted
    progress.last_progress = at


def summary(run: SyncRun) -> dict[str, object]:
    return {
        "run_id": run.id,
        "entity": run.entity,
        "kind": str(run.kind),
        "added": run.added,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "deleted": run.deleted,
    }


def run_log(run: SyncRun, duration: float) -> LogIn:
    """The integration's log line for a finished run: its own counts, how long this sync of
    it took, and its error (as `describe` gave it: never a secret)."""
    counts = {
        "added": run.added,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "deleted": run.deleted,
    }
    details = {"run_id": run.id, "entity": run.entity, "status": str(run.status), **counts}
    if run.status is RunStatus.COMPLETED:
        told = ", ".join(f"{value} {key}" for key, value in counts.items())
        level, name, message = "info", "sync_completed", f"sync completed: {told}"
    else:
        level = "error" if run.status is RunStatus.FAILED else "warning"
        name, message = "sync_failed", f"sync {run.status}: {run.error}"
    ms = round(duration * 1000.0, 3)
    return LogIn(run.integration_id, level, name, f"{run.entity}: {message}", details, ms)
