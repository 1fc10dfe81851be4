"""The store contract for `record_changed` events and the planned next sync, on both backends.

A write asked for `record_events` reports each record it adds, updates or soft-deletes with
one event, in its own transaction; unchanged records report nothing. The batches below take
each of the ways a backend may write a batch (a run's first batch, one after mostly new
records, one after mostly unchanged ones: see runtime/store/_batch.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

import pytest

from runtime.bus import EventName
from runtime.outbox import cloud_event
from runtime.store import (
    Conflict,
    EventRow,
    NotFound,
    RecordEvents,
    RecordIn,
    RunKind,
    RunStatus,
    Store,
)
from runtime.store._record_events import RECORD_CHANGED
from tests.runtime.store.helpers import START, Backend, audit, event, integration, record, records

ENTITY = "contacts"
TYPE = "hub.integration.record_changed"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
STAMP = RecordEvents(time=START + timedelta(minutes=1), traceparent=TRACEPARENT)


async def _integration(store: Store) -> None:
    await store.create_integration(integration("int-1"), {}, audit())


async def _sync(store: Store, batch: Sequence[RecordIn], kind: RunKind = RunKind.FULL) -> str:
    """A completed run that wrote `batch`, reporting its changes; returns the run's id."""
    run = await store.start_run("int-1", ENTITY, kind)
    await store.write_batch(run.id, "int-1", ENTITY, batch, None, record_events=STAMP)
    await store.finish_run(run.id, RunStatus.COMPLETED, record_events=STAMP)
    return run.id


async def _changes(store: Store, after: int | None = None) -> list[tuple[str, object, object]]:
    """(external id, change, stored data or None) of each `record_changed` after `after`."""
    return [
        (str(e.data["external_id"]), e.data["change"], e.data.get("data"))
        for e in await _record_events(store, after)
    ]


async def _record_events(store: Store, after: int | None = None) -> list[EventRow]:
    return [e for e in await store.events_after(after, 10_000) if e.type == TYPE]


async def _last_seq(store: Store) -> int:
    found = await store.recent_events(1)
    return found[0].seq if found else 0


def _added(*numbers: int, version: int = 1) -> list[tuple[str, object, object]]:
    return [(r.external_id, "added", dict(r.data)) for r in records(numbers, version)]


async def test_first_batch_reports_every_record_added_with_the_full_envelope(
    store: Store,
) -> None:
    await _integration(store)

    await _sync(store, records(range(3)))

    assert await _changes(store) == _added(0, 1, 2)
    found = await _record_events(store)
    assert {(e.integration_id, e.type, e.source, e.time, e.traceparent) for e in found} == {
        ("int-1", TYPE, "/integrations/int-1", STAMP.time, TRACEPARENT)
    }
    assert all(uuid.UUID(e.id).version == 4 for e in found)
    assert len({e.id for e in found}) == 3
    assert {e.data["entity"] for e in found} == {ENTITY}


@pytest.mark.parametrize(
    "history",
    [(), records(range(10, 20)), records(range(3))],
    ids=["first-batch", "after-new-records", "after-unchanged-records"],
)
async def test_mixed_batch_reports_exactly_the_added_and_updated(
    store: Store, history: list[RecordIn]
) -> None:
    await _integration(store)
    await _sync(store, records(range(4)))
    await _sync(store, records(range(3)))  # c00003 deleted
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, history, None, record_events=STAMP)
    seq = await _last_seq(store)

    mixed = [record(0), record(1, version=2), record(2), record(3), record(30)]
    await store.write_batch(run.id, "int-1", ENTITY, mixed, None, record_events=STAMP)

    assert await _changes(store, seq) == [
        ("c00001", "updated", dict(record(1, version=2).data)),
        ("c00003", "updated", dict(record(3).data)),
        ("c00030", "added", dict(record(30).data)),
    ]


async def test_unchanged_resync_writes_no_record_rows_and_no_events(
    store: Store, backend: Backend
) -> None:
    await _integration(store)
    await _sync(store, records(range(6)))
    before_rows = await backend.rows("SELECT external_id, updated_at FROM records ORDER BY 1")
    seq = await _last_seq(store)

    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    for part in (range(3), range(3, 5), range(5, 6)):
        await store.write_batch(run.id, "int-1", ENTITY, records(part), None, record_events=STAMP)
    done = await store.finish_run(run.id, RunStatus.COMPLETED, record_events=STAMP)

    assert (done.added, done.updated, done.unchanged, done.deleted) == (0, 0, 6, 0)
    assert await store.events_after(seq, 100) == []
    assert await backend.rows("SELECT external_id, updated_at FROM records ORDER BY 1") == (
        before_rows
    )


async def test_completed_full_run_reports_each_deleted_record_before_its_own_events(
    store: Store,
) -> None:
    await _integration(store)
    await _sync(store, records(range(5)))
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records([0, 2]), None, record_events=STAMP)
    seq = await _last_seq(store)

    done = await store.finish_run(
        run.id, RunStatus.COMPLETED, events=[event("done")], record_events=STAMP
    )

    assert done.deleted == 3
    found = await store.events_after(seq, 100)
    assert [e.id for e in found][-1] == "done"
    assert [dict(e.data) for e in found[:-1]] == [
        {"entity": ENTITY, "external_id": f"c{i:05d}", "change": "deleted"} for i in (1, 3, 4)
    ]
    assert {(e.type, e.time, e.traceparent) for e in found[:-1]} == {
        (TYPE, STAMP.time, TRACEPARENT)
    }


async def test_full_run_reports_deletions_between_batches_covering_their_keys_in_order(
    store: Store,
) -> None:
    await _integration(store)
    await _sync(store, records(range(10)))
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    for part in ([5, 6], [0, 1, 2], [9]):
        await store.write_batch(run.id, "int-1", ENTITY, records(part), None, record_events=STAMP)
    seq = await _last_seq(store)

    done = await store.finish_run(run.id, RunStatus.COMPLETED, record_events=STAMP)

    assert done.deleted == 4
    assert await _changes(store, seq) == [(f"c{i:05d}", "deleted", None) for i in (3, 4, 7, 8)]


@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.INTERRUPTED])
async def test_unsuccessful_full_run_reports_no_deletions(store: Store, status: RunStatus) -> None:
    await _integration(store)
    await _sync(store, records(range(3)))
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records([0]), None, record_events=STAMP)
    seq = await _last_seq(store)

    await store.finish_run(run.id, status, "upstream 503", record_events=STAMP)

    assert await _record_events(store, seq) == []


async def test_incremental_run_reports_no_deletions(store: Store) -> None:
    await _integration(store)
    await _sync(store, records(range(3)))
    seq = await _last_seq(store)

    await _sync(store, [record(0, version=2)], kind=RunKind.INCREMENTAL)

    assert await _changes(store, seq) == [("c00000", "updated", dict(record(0, 2).data))]


async def test_failing_batch_leaves_no_record_events(store: Store, backend: Backend) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records(range(2)), None, record_events=STAMP)
    await store.append_events([event("taken")])
    seq = await _last_seq(store)

    with pytest.raises(Conflict):
        await store.write_batch(
            run.id,
            "int-1",
            ENTITY,
            [record(0, version=2), record(5)],
            None,
            events=[event("taken")],
            record_events=STAMP,
        )

    assert await store.events_after(seq, 100) == []
    assert await backend.rows("SELECT count(*) FROM records") == [(2,)]


async def test_failing_finish_leaves_records_and_no_deletion_events(store: Store) -> None:
    await _integration(store)
    await _sync(store, records(range(3)))
    await store.append_events([event("taken")])
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records([0]), None, record_events=STAMP)
    seq = await _last_seq(store)

    with pytest.raises(Conflict):
        await store.finish_run(
            run.id, RunStatus.COMPLETED, events=[event("taken")], record_events=STAMP
        )

    assert await store.events_after(seq, 100) == []
    assert await store.count_records("int-1") == {ENTITY: 3}


async def test_without_record_events_a_write_reports_nothing(store: Store) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records(range(3)), None)
    await store.finish_run(run.id, RunStatus.COMPLETED)
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, [record(0, version=2)], None)
    await store.finish_run(run.id, RunStatus.COMPLETED)

    assert await _record_events(store) == []


# -- the planned next sync ----------------------------------------------------------------


async def test_next_sync_is_none_until_planned(store: Store) -> None:
    await _integration(store)

    assert await store.next_sync("int-1") is None
    assert await store.next_sync("no-such-integration") is None


async def test_set_next_sync_plans_every_entity_and_keeps_their_status(
    store: Store, backend: Backend
) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records(range(2)), {"page": 7})
    at = START + timedelta(minutes=15, microseconds=7)

    await store.set_next_sync("int-1", [ENTITY, "deals"], at)
    await store.set_next_sync("int-1", [ENTITY, "deals"], at + timedelta(minutes=15))

    assert await store.next_sync("int-1") == at + timedelta(minutes=15)
    assert await store.get_checkpoint("int-1", ENTITY) == {"page": 7}
    assert await backend.rows("SELECT entity, records_synced FROM sync_status ORDER BY entity") == [
        (ENTITY, 2),
        ("deals", 0),
    ]


async def test_set_next_sync_replans_entities_no_longer_named(store: Store) -> None:
    await _integration(store)
    await store.set_next_sync("int-1", ["dropped", ENTITY], START)

    await store.set_next_sync("int-1", [ENTITY, "deals"], START + timedelta(hours=1))

    assert await store.next_sync("int-1") == START + timedelta(hours=1)


async def test_set_next_sync_of_a_missing_integration_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.set_next_sync("no-such-integration", [ENTITY], START)


async def test_record_events_are_valid_cloud_events_of_the_bus(store: Store) -> None:
    await _integration(store)
    await _sync(store, records(range(2)))
    await _sync(store, [record(0, version=2)])

    found = [cloud_event(row) for row in await _record_events(store)]

    assert RECORD_CHANGED == f"hub.integration.{EventName.RECORD_CHANGED}" == TYPE
    assert [(e.name, e.integration_id, e.data["change"]) for e in found] == [
        (EventName.RECORD_CHANGED, "int-1", "added"),
        (EventName.RECORD_CHANGED, "int-1", "added"),
        (EventName.RECORD_CHANGED, "int-1", "updated"),
        (EventName.RECORD_CHANGED, "int-1", "deleted"),
    ]
