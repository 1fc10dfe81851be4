"""The store contract for a sync batch's tombstones and a finished run's own counts, on both
backends.

An incremental sync reports deletions as tombstones: `write_batch(deleted=...)` soft-deletes
those records in the batch's transaction, counts them in the batch's and the run's `deleted`
and reports each with a `record_changed` event; a tombstone for a record that is unknown or
deleted already changes nothing. `finish_run(counts_in=...)` puts the run's final counts into
the events that report it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from runtime.store import (
    BatchResult,
    Conflict,
    InvalidValue,
    RecordEvents,
    RunKind,
    RunStatus,
    Store,
)
from tests.runtime.store.helpers import (
    START,
    Backend,
    ManualNow,
    audit,
    event,
    integration,
    record,
    records,
)

ENTITY = "contacts"
TYPE = "hub.integration.record_changed"
STAMP = RecordEvents(time=START + timedelta(minutes=1))


async def _synced(store: Store, numbers: range) -> None:
    """The integration with records c00000.. of `numbers`, written by a completed full run."""
    await store.create_integration(integration("int-1"), {}, audit())
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records(numbers), None)
    await store.finish_run(run.id, RunStatus.COMPLETED)


async def _live(store: Store) -> list[str]:
    page = await store.list_records("int-1", ENTITY, limit=100)
    return [row.external_id for row in page.items]


async def _last_seq(store: Store) -> int:
    return (await store.recent_events(1))[0].seq


async def _changes(store: Store, after: int) -> list[tuple[str, str, object]]:
    """(type, change or event id, data) of every event after `after`, in outbox order."""
    found = []
    for e in await store.events_after(after, 1000):
        if e.type == TYPE:
            found.append((str(e.data["external_id"]), str(e.data["change"]), e.data.get("data")))
        else:
            found.append((e.type, e.id, None))
    return found


async def test_tombstones_soft_delete_count_and_report_in_the_batch(
    store: Store, now: ManualNow
) -> None:
    await _synced(store, range(4))
    await store.append_events([event("before")])
    seq = await _last_seq(store)
    run = await store.start_run("int-1", ENTITY, RunKind.INCREMENTAL)
    at = now.advance(5)

    result = await store.write_batch(
        run.id,
        "int-1",
        ENTITY,
        [record(0, version=2), record(9)],
        {"page": 2},
        deleted=["c00003", "c00001", "c00003"],
        events=[event("batch-event")],
        record_events=STAMP,
    )

    assert result == BatchResult(added=1, updated=1, unchanged=0, deleted=2)
    assert await _live(store) == ["c00000", "c00002", "c00009"]
    everything = await store.list_records("int-1", ENTITY, limit=10, include_deleted=True)
    assert {r.external_id: r.deleted_at for r in everything.items if r.deleted_at} == {
        "c00001": at,
        "c00003": at,
    }
    assert await store.get_checkpoint("int-1", ENTITY) == {"page": 2}
    # Written records first, then the deleted ones (each in external-id order), then `events`.
    assert await _changes(store, seq) == [
        ("c00000", "updated", dict(record(0, version=2).data)),
        ("c00009", "added", dict(record(9).data)),
        ("c00001", "deleted", None),
        ("c00003", "deleted", None),
        ("hub.integration.sync_started", "batch-event", None),
    ]
    done = await store.finish_run(run.id, RunStatus.COMPLETED)
    assert (done.added, done.updated, done.deleted) == (1, 1, 2)
    assert await store.count_records("int-1") == {ENTITY: 3}


async def test_tombstone_of_an_unknown_or_deleted_record_is_a_no_op(store: Store) -> None:
    await _synced(store, range(2))
    run = await store.start_run("int-1", ENTITY, RunKind.INCREMENTAL)
    await store.write_batch(run.id, "int-1", ENTITY, [], None, deleted=["c00001"])
    seq = await _last_seq(store) if await store.recent_events(1) else None

    again = await store.write_batch(
        run.id,
        "int-1",
        ENTITY,
        [],
        None,
        deleted=["c00001", "never-stored"],
        record_events=STAMP,
    )

    assert again == BatchResult(added=0, updated=0, unchanged=0, deleted=0)
    assert [e for e in await store.events_after(seq, 100) if e.type == TYPE] == []
    done = await store.finish_run(run.id, RunStatus.COMPLETED)
    assert done.deleted == 1
    assert await _live(store) == ["c00000"]


async def test_tombstoned_record_that_comes_back_counts_as_updated(store: Store) -> None:
    await _synced(store, range(2))
    run = await store.start_run("int-1", ENTITY, RunKind.INCREMENTAL)
    await store.write_batch(run.id, "int-1", ENTITY, [], None, deleted=["c00001"])

    back = await store.write_batch(run.id, "int-1", ENTITY, records([1]), None)

    assert back == BatchResult(added=0, updated=1, unchanged=0)
    assert await _live(store) == ["c00000", "c00001"]


async def test_id_both_written_and_deleted_is_refused_and_nothing_is_written(
    store: Store, backend: Backend
) -> None:
    await _synced(store, range(2))
    run = await store.start_run("int-1", ENTITY, RunKind.INCREMENTAL)

    with pytest.raises(InvalidValue, match="both written and deleted"):
        await store.write_batch(
            run.id, "int-1", ENTITY, records([0, 5]), {"page": 1}, deleted=["c00001", "c00005"]
        )

    assert await _live(store) == ["c00000", "c00001"]
    assert await store.get_checkpoint("int-1", ENTITY) is None
    assert await backend.rows("SELECT count(*) FROM records") == [(2,)]


async def test_failing_batch_deletes_nothing_and_reports_nothing(store: Store) -> None:
    await _synced(store, range(2))
    run = await store.start_run("int-1", ENTITY, RunKind.INCREMENTAL)
    await store.finish_run(run.id, RunStatus.COMPLETED)
    seq = await _last_seq(store) if await store.recent_events(1) else None

    with pytest.raises(Conflict):
        await store.write_batch(
            run.id, "int-1", ENTITY, [], None, deleted=["c00000"], record_events=STAMP
        )

    assert await _live(store) == ["c00000", "c00001"]
    assert await store.events_after(seq, 100) == []


async def test_full_run_counts_tombstones_and_unseen_records_once_each(store: Store) -> None:
    await _synced(store, range(6))
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    # Mostly unchanged: the later batches take each backend's "compare first" way.
    await store.write_batch(run.id, "int-1", ENTITY, records([0, 1, 2]), None)
    tombstoned = await store.write_batch(
        run.id, "int-1", ENTITY, records([3]), None, deleted=["c00004"]
    )
    only_tombstones = await store.write_batch(run.id, "int-1", ENTITY, [], None, deleted=["c00004"])

    done = await store.finish_run(run.id, RunStatus.COMPLETED)

    assert (tombstoned.deleted, only_tombstones.deleted) == (1, 0)
    assert (done.unchanged, done.deleted) == (4, 2)  # c00004 by its tombstone, c00005 unseen
    assert await _live(store) == ["c00000", "c00001", "c00002", "c00003"]


async def test_resumed_run_keeps_the_deletions_counted_before_it_was_interrupted(
    store: Store,
) -> None:
    await _synced(store, range(3))
    run = await store.start_run("int-1", ENTITY, RunKind.INCREMENTAL)
    await store.write_batch(run.id, "int-1", ENTITY, [], None, deleted=["c00000"])
    interrupted = await store.finish_run(run.id, RunStatus.INTERRUPTED)
    assert interrupted.deleted == 1

    await store.resume_run(run.id)
    await store.write_batch(run.id, "int-1", ENTITY, [], None, deleted=["c00001"])
    done = await store.finish_run(run.id, RunStatus.COMPLETED)

    assert done.deleted == 2
    assert await _live(store) == ["c00002"]


async def test_finish_puts_the_runs_own_final_counts_into_the_events_named(
    store: Store,
) -> None:
    await _synced(store, range(4))
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records([0]), None)
    await store.finish_run(run.id, RunStatus.INTERRUPTED)
    await store.resume_run(run.id)
    await store.write_batch(
        run.id, "int-1", ENTITY, [record(1, version=2), record(7)], None, deleted=["c00002"]
    )
    report = replace(event("report", name="sync_completed"), data={"n": 1})
    other = event("other")
    seq = await _last_seq(store) if await store.recent_events(1) else None

    done = await store.finish_run(
        run.id, RunStatus.COMPLETED, events=[report, other], counts_in={"report"}
    )

    assert (done.added, done.updated, done.unchanged, done.deleted) == (1, 1, 1, 2)
    stored = {e.id: dict(e.data) for e in await store.events_after(seq, 100)}
    assert stored == {
        "report": {"n": 1, "added": 1, "updated": 1, "unchanged": 1, "deleted": 2},
        "other": {"event": "other"},
    }
