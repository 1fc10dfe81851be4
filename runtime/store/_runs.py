"""The rules of sync runs, as plain functions both backends call inside their transactions.

A batch may only be written to a RUNNING run of the same integration and entity. A finishing
full run deletes what it did not see (neither wrote, see _batch, nor noted in `sync_seen`)
only when it completed and its seen keys are all still there: PostgreSQL keeps them in an
UNLOGGED table, which a server crash empties, and deleting against a partial list would delete
records that still exist. `seen` is counted in the same transactions as the keys themselves
(in a logged table), so a shortfall shows the loss.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.store._errors import Conflict, InvalidValue, NotFound
from runtime.store._model import RunKind, RunStatus, SyncRun
from runtime.store._params import Params
from runtime.store._values import json_text, load_json

SEEN_KEYS_LOST = "deletion detection skipped: the run's seen keys were lost (database restart)"


@dataclass(frozen=True, slots=True)
class RunState:
    integration_id: str
    entity: str
    kind: RunKind
    status: RunStatus
    seen: int
    seq: int
    added: int  # records added so far, and so on
    updated: int
    unchanged: int

    @property
    def written(self) -> int:
        return self.added + self.updated


def state(run_id: str, row: Sequence[Any] | None) -> RunState:
    """From a row of (integration_id, entity, kind, status, seen, seq, added, updated,
    unchanged)."""
    if row is None:
        raise NotFound(f"no sync run {run_id!r}")
    integration_id, entity, kind, status, seen, seq, added, updated, unchanged = row
    return RunState(
        integration_id,
        entity,
        RunKind(kind),
        RunStatus(status),
        seen,
        seq,
        added,
        updated,
        unchanged,
    )


def require_running(run_id: str, run: RunState) -> None:
    if run.status is not RunStatus.RUNNING:
        raise Conflict(f"sync run {run_id!r} is {run.status}, not running")


def check_batch(run_id: str, run: RunState, integration_id: str, entity: str) -> None:
    require_running(run_id, run)
    if (run.integration_id, run.entity) != (integration_id, entity):
        raise InvalidValue(
            f"sync run {run_id!r} belongs to {run.integration_id!r}/{run.entity!r},"
            f" not {integration_id!r}/{entity!r}"
        )


def detects_deletions(run: RunState, status: RunStatus) -> bool:
    return run.kind is RunKind.FULL and status is RunStatus.COMPLETED


def seen_keys_intact(run: RunState, seen_found: int) -> bool:
    return seen_found == run.seen


def may_leave_unseen(run: RunState, stored: int) -> bool:
    """Whether a finishing full run can have unseen records to delete, given how many records
    its entity holds (deleted ones too): not when it added every one of them itself, as a first
    sync does, so that the search for unseen records is skipped there. (A run that added
    nothing need not count: the search is what it needs.)"""
    return stored != run.added


def keeps_seen_keys(status: RunStatus) -> bool:
    """An interrupted run may be resumed, so what it saw stays."""
    return status is RunStatus.INTERRUPTED


def missing_run(run_id: str, exists: bool) -> Exception:
    """The error for a run update that matched no row."""
    if not exists:
        return NotFound(f"no sync run {run_id!r}")
    return Conflict(f"sync run {run_id!r} is not in a state that allows this")


_DATA = 5  # where `_params.event` puts an event's data (canonical JSON text)


def with_counts(events: Sequence[Params], ids: Collection[str], run: SyncRun) -> list[Params]:
    """`events`, those named in `ids` with the finished run's own counts in their data."""
    if not ids:
        return list(events)
    counts = {
        "added": run.added,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "deleted": run.deleted,
    }
    return [
        (*e[:_DATA], _counted(e[_DATA], counts), *e[_DATA + 1 :]) if e[0] in ids else e
        for e in events
    ]


def _counted(data: object, counts: dict[str, int]) -> str:
    return json_text({**load_json(str(data)), **counts}, "event data")
