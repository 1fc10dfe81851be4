"""The store contract: every test runs on SQLite and on PostgreSQL and must pass on both.

Each test sets up through the store, then checks the exact final state (through the store,
and where it matters in the tables themselves, around the store).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime.store import (
    AuditIn,
    BatchResult,
    Conflict,
    InvalidValue,
    LogIn,
    NotFound,
    RecordIn,
    RetentionCutoffs,
    RunKind,
    RunStatus,
    Store,
    StoreError,
    SyncRun,
    TrimResult,
    WebhookIn,
    WebhookStatus,
)
from tests.runtime.store.helpers import (
    START,
    Backend,
    ManualNow,
    audit,
    event,
    ids,
    integration,
    record,
    records,
    sealed,
)

ENTITY = "contacts"


async def _integration(store: Store, integration_id: str = "int-1") -> None:
    await store.create_integration(integration(integration_id), {}, audit(target=integration_id))


async def _synced(store: Store, ids_: Sequence[int], kind: RunKind = RunKind.FULL) -> SyncRun:
    """A completed run that wrote the records `ids_` (version 1)."""
    run = await store.start_run("int-1", ENTITY, kind)
    await store.write_batch(run.id, "int-1", ENTITY, records(ids_), {"page": "last"})
    return await store.finish_run(run.id, RunStatus.COMPLETED)


async def _all_records(store: Store, *, include_deleted: bool = False) -> list[str]:
    page = await store.list_records("int-1", ENTITY, limit=10_000, include_deleted=include_deleted)
    return ids(page.items)


# -- records and runs -----------------------------------------------------------------------


async def test_write_batch_counts_added_updated_unchanged(store: Store) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.INCREMENTAL)

    first = await store.write_batch(run.id, "int-1", ENTITY, records(range(10)), {"p": 1})
    changed = [record(i, version=2) for i in range(3)]
    second = await store.write_batch(
        run.id, "int-1", ENTITY, [*changed, *records(range(3, 8)), *records(range(10, 12))], None
    )

    assert first == BatchResult(added=10, updated=0, unchanged=0)
    assert second == BatchResult(added=2, updated=3, unchanged=5)
    page = await store.list_records("int-1", ENTITY, limit=100)
    assert ids(page.items) == [f"c{i:05d}" for i in range(12)]
    assert [r.data["version"] for r in page.items] == [2, 2, 2] + [1] * 9
    run = await store.get_run(run.id)
    assert (run.added, run.updated, run.unchanged, run.deleted) == (12, 3, 5, 0)


async def test_write_batch_unchanged_rows_not_rewritten(
    store: Store, backend: Backend, now: ManualNow
) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records(range(5)), None)
    written_at = now()
    before = await _watch_rewrites(backend)
    now.advance(60)

    result = await store.write_batch(run.id, "int-1", ENTITY, records(range(5)), None)

    assert result == BatchResult(added=0, updated=0, unchanged=5)
    page = await store.list_records("int-1", ENTITY, limit=10)
    assert {r.updated_at for r in page.items} == {written_at}
    assert await _rewrites(backend) == before


async def _watch_rewrites(backend: Backend) -> list[tuple[object, ...]]:
    """Start noticing writes to `records` rows; returns the state to compare with later.

    PostgreSQL: each row's xmin (changes on UPDATE) and xmax (changes even when a row is
    only locked, as ON CONFLICT does). SQLite: a trigger logs every UPDATE."""
    if backend.name == "sqlite":
        await backend.script(
            "CREATE TABLE test_rewrites (external_id TEXT);"
            "CREATE TRIGGER test_rewrites AFTER UPDATE ON records"
            " BEGIN INSERT INTO test_rewrites VALUES (new.external_id); END;"
        )
    return await _rewrites(backend)


async def _rewrites(backend: Backend) -> list[tuple[object, ...]]:
    if backend.name == "sqlite":
        return await backend.rows("SELECT external_id FROM test_rewrites")
    return await backend.rows("SELECT external_id, xmin::text, xmax::text FROM records ORDER BY 1")


async def test_write_batch_mixed_batch_after_unchanged_ones_counts_and_deletes_right(
    store: Store,
) -> None:
    """A re-sync that has so far seen mostly unchanged records (PostgreSQL then compares hashes
    before sending data, SQLite asks for the keys to write) must still write, count and detect
    deletions exactly."""
    await _integration(store)
    await _synced(store, range(8))
    await _synced(store, range(7))  # c00007 deleted
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    first = await store.write_batch(run.id, "int-1", ENTITY, records(range(3)), None)

    mixed = [record(3, version=2), record(4), record(7), record(20)]
    second = await store.write_batch(run.id, "int-1", ENTITY, mixed, None)
    done = await store.finish_run(run.id, RunStatus.COMPLETED)

    assert first == BatchResult(added=0, updated=0, unchanged=3)
    assert second == BatchResult(added=1, updated=2, unchanged=1)
    assert (done.added, done.updated, done.unchanged, done.deleted) == (1, 2, 4, 2)
    assert await _all_records(store) == [f"c{i:05d}" for i in (0, 1, 2, 3, 4, 7, 20)]
    page = await store.list_records("int-1", ENTITY, limit=10)
    assert [r.data["version"] for r in page.items] == [1, 1, 1, 2, 1, 1, 1]


async def test_write_batch_mixed_batch_after_new_ones_leaves_unchanged_rows_alone(
    store: Store, backend: Backend
) -> None:
    """A run that has so far mostly added records (PostgreSQL then inserts before comparing)
    must still update the changed, bring back the deleted, and neither write nor lock the
    unchanged."""
    await _integration(store)
    await _synced(store, range(3))
    await _synced(store, range(2))  # c00002 deleted
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    first = await store.write_batch(run.id, "int-1", ENTITY, records(range(10, 20)), None)
    before = await _watch_rewrites(backend)

    mixed = [record(0), record(1, version=2), record(2), record(30)]
    second = await store.write_batch(run.id, "int-1", ENTITY, mixed, None)
    done = await store.finish_run(run.id, RunStatus.COMPLETED)

    assert first == BatchResult(added=10, updated=0, unchanged=0)
    assert second == BatchResult(added=1, updated=2, unchanged=1)
    assert (done.added, done.updated, done.unchanged, done.deleted) == (11, 2, 1, 0)
    expected = [0, 1, 2, *range(10, 20), 30]
    assert await _all_records(store) == [f"c{i:05d}" for i in expected]
    moved = {row[0] for row in set(await _rewrites(backend)) - set(before)}
    assert "c00000" not in moved
    assert {"c00001", "c00002"} <= moved
    assert await backend.rows("SELECT count(*) FROM sync_seen") == [(0,)]


async def test_write_batch_repeated_external_id_counts_once_last_wins(store: Store) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.INCREMENTAL)

    result = await store.write_batch(
        run.id, "int-1", ENTITY, [record(1, 1), record(2, 1), record(1, 9)], None
    )

    assert result == BatchResult(added=2, updated=0, unchanged=0)
    page = await store.list_records("int-1", ENTITY, limit=10)
    assert [r.data["version"] for r in page.items] == [9, 1]


async def test_write_batch_is_atomic_when_an_event_fails(store: Store, backend: Backend) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records(range(3)), {"page": 1})
    await store.append_events([event("taken")])

    with pytest.raises(Conflict):
        await store.write_batch(
            run.id,
            "int-1",
            ENTITY,
            [record(0, version=2), record(1), *records(range(3, 6))],
            {"page": 2},
            events=[event("fresh"), event("taken")],
        )

    page = await store.list_records("int-1", ENTITY, limit=10)
    assert ids(page.items) == ["c00000", "c00001", "c00002"]
    assert page.items[0].data["version"] == 1
    assert await store.get_checkpoint("int-1", ENTITY) == {"page": 1}
    assert [e.id for e in await store.events_after(None, 10)] == ["taken"]
    assert await backend.rows("SELECT count(*) FROM sync_seen") == [(0,)]
    run = await store.get_run(run.id)
    assert (run.added, run.updated, run.unchanged) == (3, 0, 0)


async def test_write_batch_commits_records_checkpoint_and_events_together(store: Store) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.INCREMENTAL)

    await store.write_batch(
        run.id, "int-1", ENTITY, records(range(2)), {"cursor": "abc"}, events=[event("e1")]
    )
    await store.write_batch(run.id, "int-1", ENTITY, records(range(2, 3)), None)

    assert await store.get_checkpoint("int-1", ENTITY) == {"cursor": "abc"}
    assert [e.id for e in await store.pending_events(10)] == ["e1"]
    assert await store.count_records("int-1") == {ENTITY: 3}


async def test_write_batch_to_a_finished_or_foreign_run_is_refused(store: Store) -> None:
    await _integration(store)
    run = await _synced(store, range(2))
    other = await store.start_run("int-1", "deals", RunKind.FULL)

    with pytest.raises(Conflict):
        await store.write_batch(run.id, "int-1", ENTITY, records(range(1)), None)
    with pytest.raises(InvalidValue):
        await store.write_batch(other.id, "int-1", ENTITY, records(range(1)), None)
    with pytest.raises(NotFound):
        await store.write_batch("no-such-run", "int-1", ENTITY, records(range(1)), None)
    assert await store.count_records("int-1") == {ENTITY: 2}


async def test_finish_completed_full_run_soft_deletes_unseen(
    store: Store, backend: Backend, now: ManualNow
) -> None:
    await _integration(store)
    await _synced(store, range(5))
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records([0, 1]), None)
    await store.write_batch(run.id, "int-1", ENTITY, records([2]), None)
    finished_at = now.advance(5)

    done = await store.finish_run(run.id, RunStatus.COMPLETED)

    assert (done.status, done.deleted, done.unchanged, done.finished_at) == (
        RunStatus.COMPLETED, 2, 3, finished_at
    )  # fmt: skip
    assert await _all_records(store) == ["c00000", "c00001", "c00002"]
    everything = await store.list_records("int-1", ENTITY, limit=10, include_deleted=True)
    assert [(r.external_id, r.deleted_at) for r in everything.items] == [
        ("c00000", None), ("c00001", None), ("c00002", None),
        ("c00003", finished_at), ("c00004", finished_at),
    ]  # fmt: skip
    assert await store.count_records("int-1") == {ENTITY: 3}
    assert await backend.rows("SELECT count(*) FROM sync_seen") == [(0,)]


async def test_write_batch_keys_among_stored_ones_are_compared_one_by_one(store: Store) -> None:
    """A batch whose key range holds stored keys, though not its own, and one past every stored
    key (which SQLite writes without comparing): both counted exactly."""
    await _integration(store)
    await _synced(store, [0, 2, 4])
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)

    among = await store.write_batch(
        run.id, "int-1", ENTITY, [record(1), record(2, version=2), record(3)], None
    )
    past = await store.write_batch(run.id, "int-1", ENTITY, records([9, 5]), None)
    again = await store.write_batch(run.id, "int-1", ENTITY, records([5, 3]), None)
    done = await store.finish_run(run.id, RunStatus.COMPLETED)

    assert among == BatchResult(added=2, updated=1, unchanged=0)
    assert past == BatchResult(added=2, updated=0, unchanged=0)
    assert again == BatchResult(added=0, updated=0, unchanged=2)
    assert done.deleted == 2
    assert await _all_records(store) == ["c00001", "c00002", "c00003", "c00005", "c00009"]


async def test_write_batch_compares_keys_beyond_the_basic_multilingual_plane(store: Store) -> None:
    """Key ranges in code point order, as the databases order text (UTF-16 order differs)."""
    await _integration(store)
    stored = RecordIn("\uffff", {"v": 1})
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, [stored], None)

    result = await store.write_batch(
        run.id, "int-1", ENTITY, [RecordIn("\U0001f600", {"v": 1}), stored], None
    )

    assert result == BatchResult(added=1, updated=0, unchanged=1)


async def test_finish_full_run_deletes_unseen_records_it_found_stored_besides_its_own(
    store: Store,
) -> None:
    """A full run that added records of its own but did not see those another run wrote still
    deletes them (only a run that added every stored record skips looking for unseen ones)."""
    await _integration(store)
    await _synced(store, range(3), kind=RunKind.INCREMENTAL)

    done = await _synced(store, [7, 8])

    assert (done.added, done.deleted) == (2, 3)
    assert await _all_records(store) == ["c00007", "c00008"]


async def test_finish_first_full_run_deletes_nothing(store: Store) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records(range(4)), None)
    await store.write_batch(run.id, "int-1", ENTITY, records([3, 4]), None)

    done = await store.finish_run(run.id, RunStatus.COMPLETED)

    assert (done.added, done.unchanged, done.deleted) == (5, 1, 0)
    assert await _all_records(store) == [f"c{i:05d}" for i in range(5)]


async def _full_run(store: Store, *batches: Sequence[int], changed: Sequence[int] = ()) -> SyncRun:
    """A completed full run that read `batches` in this order (records of `changed` at version
    2, the others at 1)."""
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    for batch in batches:
        data = [record(i, version=2 if i in changed else 1) for i in batch]
        await store.write_batch(run.id, "int-1", ENTITY, data, None)
    return await store.finish_run(run.id, RunStatus.COMPLETED)


async def test_finish_deletes_unseen_records_between_and_around_batches_covering_their_keys(
    store: Store,
) -> None:
    """Batches in key order, each holding every stored key of its range (SQLite then looks
    for unseen records only between the ranges): what lies before, between and after goes."""
    await _integration(store)
    await _synced(store, range(12))

    done = await _full_run(store, [2, 3, 4], [7, 8], [10], changed=[8])

    assert (done.deleted, done.unchanged, done.updated) == (6, 5, 1)
    assert await _all_records(store) == [f"c{i:05d}" for i in (2, 3, 4, 7, 8, 10)]


async def test_finish_deletes_stored_records_a_batch_skipped_inside_its_own_range(
    store: Store,
) -> None:
    await _integration(store)
    await _synced(store, range(6))

    done = await _full_run(store, [0, 5], [2])

    assert done.deleted == 3
    assert await _all_records(store) == ["c00000", "c00002", "c00005"]


async def test_finish_after_batches_in_descending_key_order_deletes_only_the_unseen(
    store: Store,
) -> None:
    await _integration(store)
    await _synced(store, range(9))

    done = await _full_run(store, [8, 7, 6], [2, 1, 0])

    assert done.deleted == 3
    assert await _all_records(store) == [f"c{i:05d}" for i in (0, 1, 2, 6, 7, 8)]


async def test_finish_leaves_a_deleted_record_inside_a_batch_range_deleted(store: Store) -> None:
    await _integration(store)
    await _synced(store, range(5))
    await _full_run(store, [0, 1, 3, 4])  # c00002 deleted

    done = await _full_run(store, [0, 1, 3, 4])

    assert (done.deleted, done.unchanged) == (0, 4)
    assert await _all_records(store) == ["c00000", "c00001", "c00003", "c00004"]
    everything = await _all_records(store, include_deleted=True)
    assert everything == [f"c{i:05d}" for i in range(5)]


async def test_write_batch_reappearing_deleted_record_counts_as_updated(store: Store) -> None:
    await _integration(store)
    await _synced(store, range(3))
    await _synced(store, range(2))  # c00002 is now deleted
    run = await store.start_run("int-1", ENTITY, RunKind.INCREMENTAL)

    result = await store.write_batch(run.id, "int-1", ENTITY, records([2]), None)

    assert result == BatchResult(added=0, updated=1, unchanged=0)
    assert await _all_records(store) == ["c00000", "c00001", "c00002"]


@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.INTERRUPTED])
async def test_finish_unsuccessful_full_run_never_deletes(store: Store, status: RunStatus) -> None:
    await _integration(store)
    await _synced(store, range(4))
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records([0]), None)

    done = await store.finish_run(run.id, status, error="upstream 503")

    assert (done.status, done.deleted, done.error) == (status, 0, "upstream 503")
    assert await _all_records(store) == [f"c{i:05d}" for i in range(4)]


async def test_finish_completed_incremental_run_never_deletes(store: Store) -> None:
    await _integration(store)
    await _synced(store, range(4))

    done = await _synced(store, range(1), kind=RunKind.INCREMENTAL)

    assert done.deleted == 0
    assert await store.count_records("int-1") == {ENTITY: 4}


async def test_resumed_full_run_after_crash_deletes_only_unseen(
    store: Store, backend: Backend
) -> None:
    await _integration(store)
    await _synced(store, range(10))
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records(range(5)), {"page": 1})
    await store.close()  # the process dies: the run stays "running"

    async with backend.open() as restarted:
        assert await restarted.mark_interrupted_runs() == 1
        resumable = await restarted.latest_resumable_run("int-1", ENTITY)
        assert resumable is not None
        assert resumable.id == run.id
        assert await restarted.get_checkpoint("int-1", ENTITY) == {"page": 1}
        resumed = await restarted.resume_run(run.id)
        await restarted.write_batch(run.id, "int-1", ENTITY, records(range(5, 8)), {"page": 2})
        done = await restarted.finish_run(run.id, RunStatus.COMPLETED)

        assert resumed.status is RunStatus.RUNNING
        assert (done.status, done.deleted, done.unchanged) == (RunStatus.COMPLETED, 2, 8)
        assert await _all_records(restarted) == [f"c{i:05d}" for i in range(8)]


async def test_mark_interrupted_runs_marks_only_running_ones(store: Store, now: ManualNow) -> None:
    await _integration(store)
    completed = await _synced(store, range(1))
    running = await store.start_run("int-1", "deals", RunKind.INCREMENTAL)
    marked_at = now.advance(1)

    assert await store.mark_interrupted_runs() == 1
    assert await store.mark_interrupted_runs() == 0

    interrupted = await store.get_run(running.id)
    assert (interrupted.status, interrupted.finished_at) == (RunStatus.INTERRUPTED, marked_at)
    assert (await store.get_run(completed.id)).status is RunStatus.COMPLETED


async def test_start_run_while_entity_running_conflicts(store: Store) -> None:
    await _integration(store)
    first = await store.start_run("int-1", ENTITY, RunKind.FULL)

    with pytest.raises(Conflict):
        await store.start_run("int-1", ENTITY, RunKind.INCREMENTAL)
    other_entity = await store.start_run("int-1", "deals", RunKind.FULL)

    assert (await store.get_run(first.id)).status is RunStatus.RUNNING
    assert other_entity.status is RunStatus.RUNNING


async def test_start_run_for_missing_integration_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.start_run("ghost", ENTITY, RunKind.FULL)


async def test_latest_resumable_run_none_once_a_newer_run_started(store: Store) -> None:
    await _integration(store)
    old = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.finish_run(old.id, RunStatus.INTERRUPTED)
    assert (await store.latest_resumable_run("int-1", ENTITY)) is not None

    newer = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.finish_run(newer.id, RunStatus.COMPLETED)

    assert await store.latest_resumable_run("int-1", ENTITY) is None
    with pytest.raises(Conflict):
        await store.resume_run(old.id)
    with pytest.raises(NotFound):
        await store.resume_run("no-such-run")


async def test_touch_run_notes_progress_until_finished(store: Store, now: ManualNow) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    touched_at = now.advance(30)

    await store.touch_run(run.id)
    assert (await store.get_run(run.id)).last_progress_at == touched_at
    await store.finish_run(run.id, RunStatus.FAILED, error="stalled")

    with pytest.raises(Conflict):
        await store.touch_run(run.id)
    with pytest.raises(Conflict):
        await store.finish_run(run.id, RunStatus.COMPLETED)
    with pytest.raises(InvalidValue):
        await store.finish_run(run.id, RunStatus.RUNNING)


async def test_list_records_keyset_pagination(store: Store) -> None:
    await _integration(store)
    await _synced(store, range(25))
    await _synced(store, range(20))  # 20..24 deleted

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await store.list_records("int-1", ENTITY, limit=8, after=cursor)
        seen += ids(page.items)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    with_deleted = await store.list_records(
        "int-1", ENTITY, limit=8, after=cursor, include_deleted=True
    )

    assert seen == [f"c{i:05d}" for i in range(20)]
    assert pages == 3
    assert ids(with_deleted.items) == [f"c{i:05d}" for i in range(16, 24)]
    assert with_deleted.next_cursor is not None
    with pytest.raises(InvalidValue):
        await store.list_records("int-1", ENTITY, limit=8, after="not-a-cursor")


async def test_list_runs_pages_newest_first(store: Store) -> None:
    await _integration(store)
    started = [await _synced(store, range(1)) for _ in range(5)]

    first = await store.list_runs("int-1", limit=3)
    second = await store.list_runs("int-1", limit=3, before=first.next_cursor)

    assert [r.id for r in first.items + second.items] == [r.id for r in reversed(started)]
    assert second.next_cursor is None


async def test_count_records_per_entity_and_checkpoint(store: Store) -> None:
    await _integration(store)
    await _synced(store, range(3))
    run = await store.start_run("int-1", "deals", RunKind.FULL)
    await store.write_batch(run.id, "int-1", "deals", records(range(2)), None)

    assert await store.count_records("int-1") == {ENTITY: 3, "deals": 2}
    assert await store.count_records("ghost") == {}
    assert await store.get_checkpoint("int-1", ENTITY) == {"page": "last"}
    assert await store.get_checkpoint("int-1", "deals") is None
    assert await store.get_checkpoint("int-1", "never") is None


# -- integrations and credentials ---------------------------------------------------------


async def test_create_integration_writes_row_audit_and_events(store: Store, now: ManualNow) -> None:
    created = await store.create_integration(
        integration(), {"api_key": sealed()}, audit(), events=[event("created")]
    )

    assert (created.version, created.created_at, created.updated_at) == (1, now(), now())
    assert await store.get_integration("int-1") == created
    assert await store.list_integrations() == [created]
    assert [c.field for c in await store.list_credentials("int-1")] == ["api_key"]
    trail = await store.list_audit(limit=10)
    assert [(a.action, a.target, a.details) for a in trail.items] == [
        ("create", "int-1", {"via": "api"})
    ]
    assert [e.id for e in await store.pending_events(10)] == ["created"]


async def test_create_integration_duplicate_id_conflicts_and_writes_nothing(
    store: Store,
) -> None:
    await _integration(store)

    with pytest.raises(Conflict):
        await store.create_integration(
            integration(name="Other"), {"k": sealed()}, audit(), events=[event("again")]
        )

    assert (await store.get_integration("int-1")).name == "Xentral"
    assert await store.list_credentials("int-1") == []
    assert len((await store.list_audit(limit=10)).items) == 1
    assert await store.pending_events(10) == []


async def test_update_integration_with_stale_version_conflicts(
    store: Store, now: ManualNow
) -> None:
    await _integration(store)
    updated_at = now.advance(10)
    updated = await store.update_integration(
        integration(name="Renamed"), 1, {}, audit("update"), events=[event("changed")]
    )

    with pytest.raises(Conflict):
        await store.update_integration(integration(name="Lost update"), 1, {}, audit("update"))
    with pytest.raises(NotFound):
        await store.update_integration(integration("ghost"), 1, {}, audit("update"))

    assert (updated.version, updated.name, updated.updated_at) == (2, "Renamed", updated_at)
    assert updated.created_at == updated_at - timedelta(seconds=10)
    assert await store.get_integration("int-1") == updated
    assert len((await store.list_audit(limit=10)).items) == 2


async def test_update_integration_changes_and_deletes_credentials(store: Store) -> None:
    await store.create_integration(
        integration(), {"user": sealed(b"u"), "password": sealed(b"p")}, audit()
    )

    await store.update_integration(
        integration(), 1, {"password": None, "token": sealed(b"t"), "user": sealed(b"u2")}, audit()
    )

    stored = await store.list_credentials("int-1")
    assert [(c.field, c.sealed.ciphertext) for c in stored] == [("token", b"t"), ("user", b"u2")]


async def test_delete_integration_cascades_everything_it_owns(
    store: Store, backend: Backend
) -> None:
    await store.create_integration(integration(), {"api_key": sealed()}, audit())
    await _integration(store, "int-2")
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    await store.write_batch(run.id, "int-1", ENTITY, records(range(3)), {"p": 1})

    await store.delete_integration("int-1", audit("delete"), events=[event("deleted")])

    with pytest.raises(NotFound):
        await store.get_integration("int-1")
    with pytest.raises(NotFound):
        await store.delete_integration("int-1", audit("delete"))
    assert [i.id for i in await store.list_integrations()] == ["int-2"]
    for table in ("integration_credentials", "records", "sync_runs", "sync_seen", "sync_status"):
        assert await backend.rows(f"SELECT count(*) FROM {table}") == [(0,)], table
    assert [e.id for e in await store.pending_events(10)] == ["deleted"]


async def test_credentials_never_stored_in_plaintext(store: Store, backend: Backend) -> None:
    plaintext = b"sk_live_hunter2-very-secret"
    key = AESGCM(AESGCM.generate_key(bit_length=256))
    nonce = b"\x07" * 12
    value = sealed(key.encrypt(nonce, plaintext, b"int-1/api_key"))
    await store.create_integration(integration(), {"api_key": value}, audit())

    stored = await store.list_credentials()

    assert [(c.integration_id, c.field, c.sealed) for c in stored] == [("int-1", "api_key", value)]
    for table in ("integration_credentials", "integration_configs", "audit_log", "events"):
        raw = await backend.raw_bytes(table)
        assert plaintext not in raw, table
    assert value.ciphertext in await backend.raw_bytes("integration_credentials")


async def test_replace_credentials_rewrites_existing_and_skips_gone(
    store: Store, now: ManualNow
) -> None:
    await store.create_integration(integration(), {"a": sealed(b"a1"), "b": sealed(b"b1")}, audit())
    old = await store.list_credentials("int-1")
    rotated_at = now.advance(60)
    rotated = [
        type(c)(c.integration_id, c.field, sealed(c.sealed.ciphertext + b"!", "k2"), rotated_at)
        for c in old
    ]
    gone = type(old[0])("int-1", "removed", sealed(b"x", "k2"), rotated_at)

    assert await store.replace_credentials([*rotated, gone]) == 2
    assert await store.replace_credentials([]) == 0

    assert await store.list_credentials("int-1") == rotated


async def test_set_status_keeps_version_and_emits_events(store: Store) -> None:
    await _integration(store)

    changed = await store.set_status("int-1", "error", events=[event("parked", name="parked")])

    assert (changed.status, changed.version) == ("error", 1)
    assert [e.type for e in await store.pending_events(10)] == ["hub.integration.parked"]
    with pytest.raises(NotFound):
        await store.set_status("ghost", "error")


# -- events, webhooks, logs, audit, retention ---------------------------------------------


async def test_outbox_pending_in_seq_order_and_mark_sent(store: Store, now: ManualNow) -> None:
    await _integration(store)
    await store.append_events([event("a"), event("b")])
    await store.set_status("int-1", "running", events=[event("c")])
    sent_at = now.advance(1)

    pending = await store.pending_events(10)
    marked = await store.mark_events_sent(["a", "c", "unknown"], sent_at)

    assert [e.id for e in pending] == ["a", "b", "c"]
    assert [e.seq for e in pending] == sorted(e.seq for e in pending)
    assert pending[0].data == {"event": "a"}
    assert marked == 2
    assert [e.id for e in await store.pending_events(10)] == ["b"]
    assert await store.mark_events_sent(["a"], sent_at) == 0
    assert [(e.id, e.sent_at) for e in await store.events_after(None, 10)] == [
        ("a", sent_at), ("b", None), ("c", sent_at)
    ]  # fmt: skip


async def test_outbox_rows_are_the_events_with_their_data_as_stored_text(
    store: Store, now: ManualNow
) -> None:
    await _integration(store)
    await store.append_events([event("a"), event("b"), event("c")])
    await store.mark_events_sent(["a"], now.advance(1))
    everything = await store.events_after(None, 10)

    pending = await store.outbox_rows(10)
    after = await store.outbox_rows(1, after=everything[0].seq)

    assert [(r.id, r.seq) for r in pending] == [(e.id, e.seq) for e in everything[1:]]
    assert [r.id for r in after] == ["b"]
    by_id = {e.id: e for e in everything}
    for row in pending:
        stored = by_id[row.id]
        assert json.loads(row.data_json) == stored.data
        assert (row.type, row.source, row.time, row.traceparent) == (
            stored.type, stored.source, stored.time, stored.traceparent
        )  # fmt: skip


async def test_events_after_resumes_from_a_seq(store: Store) -> None:
    await store.append_events([event(f"e{i}") for i in range(5)])
    everything = await store.events_after(None, 100)

    resumed = await store.events_after(everything[1].seq, 2)

    assert [e.id for e in resumed] == ["e2", "e3"]
    assert await store.events_after(everything[-1].seq, 10) == []
    assert everything[0].traceparent == event("e0").traceparent


async def test_recent_events_newest_first_and_by_integration(store: Store) -> None:
    await store.append_events([event("a"), event("b", "int-2"), event("c")])

    assert [e.id for e in await store.recent_events(2)] == ["c", "b"]
    assert [e.id for e in await store.recent_events(10, integration_id="int-1")] == ["c", "a"]


async def test_append_events_duplicate_id_conflicts(store: Store) -> None:
    await store.append_events([event("a")])

    with pytest.raises(Conflict):
        await store.append_events([event("b"), event("a")])

    assert [e.id for e in await store.pending_events(10)] == ["a"]


async def test_save_webhook_delivery_dedupes_by_delivery_id(store: Store, now: ManualNow) -> None:
    await _integration(store)
    first = WebhookIn("w1", "int-1", "msg_1", {"webhook-id": "msg_1"}, b'{"a":1}')

    assert await store.save_webhook_delivery(first) is True
    assert await store.save_webhook_delivery(WebhookIn("w2", "int-1", "msg_1", {}, b"x")) is False
    with pytest.raises(NotFound):
        await store.save_webhook_delivery(WebhookIn("w3", "ghost", "msg_1", {}, b"x"))

    [pending] = await store.pending_webhook_deliveries(10)
    assert (pending.id, pending.body, pending.headers, pending.status, pending.received_at) == (
        "w1", b'{"a":1}', {"webhook-id": "msg_1"}, WebhookStatus.RECEIVED, now()
    )  # fmt: skip


async def test_mark_webhook_delivery_outcomes(store: Store, now: ManualNow) -> None:
    await _integration(store)
    for n in range(3):
        await store.save_webhook_delivery(WebhookIn(f"w{n}", "int-1", f"m{n}", {}, b"{}"))
        now.advance(1)

    await store.mark_webhook_delivery("w0", WebhookStatus.PROCESSED, None, 1)
    await store.mark_webhook_delivery("w1", WebhookStatus.FAILED, "timeout", 1)
    await store.mark_webhook_delivery("w2", WebhookStatus.DEAD, "gave up", 5)
    with pytest.raises(NotFound):
        await store.mark_webhook_delivery("nope", WebhookStatus.PROCESSED, None, 1)

    [retry] = await store.pending_webhook_deliveries(10)
    assert (retry.id, retry.status, retry.last_error, retry.attempts, retry.processed_at) == (
        "w1", WebhookStatus.FAILED, "timeout", 1, None
    )  # fmt: skip


async def test_logs_append_and_list_newest_first(store: Store, now: ManualNow) -> None:
    await store.append_logs(
        [LogIn("int-1", "info", "sync", f"batch {n}", {"n": n}, 12.5) for n in range(5)]
        + [LogIn("int-2", "error", "health", "down", at=START - timedelta(days=1))]
    )

    first = await store.list_logs("int-1", limit=3)
    second = await store.list_logs("int-1", limit=3, before=first.next_cursor)
    other = await store.list_logs("int-2", limit=3)

    assert [x.message for x in first.items + second.items] == [
        f"batch {n}" for n in range(4, -1, -1)
    ]
    assert second.next_cursor is None
    assert (first.items[0].details, first.items[0].duration_ms, first.items[0].created_at) == (
        {"n": 4}, 12.5, now()
    )  # fmt: skip
    assert [(x.level, x.created_at) for x in other.items] == [("error", START - timedelta(days=1))]


async def test_audit_alone_and_paged_newest_first(store: Store) -> None:
    for n in range(3):
        await store.append_audit(AuditIn("cli", "keys.rotate", f"batch-{n}"))

    first = await store.list_audit(limit=2)
    second = await store.list_audit(limit=2, before=first.next_cursor)

    assert [a.target for a in first.items + second.items] == ["batch-2", "batch-1", "batch-0"]
    assert (first.items[0].actor, first.items[0].details) == ("cli", {})


async def test_trim_deletes_old_logs_sent_events_and_done_payloads(
    store: Store, now: ManualNow
) -> None:
    await _integration(store)
    await store.append_logs(
        [LogIn("int-1", "info", "x", "old"), LogIn("int-1", "info", "x", "old")]
    )
    await store.append_events([event("old-sent"), event("old-unsent")])
    await store.mark_events_sent(["old-sent"], now())
    for name in ("done", "dead", "failed"):
        await store.save_webhook_delivery(WebhookIn(name, "int-1", name, {"h": "v"}, b"body"))
    await store.mark_webhook_delivery("done", WebhookStatus.PROCESSED, None, 1)
    await store.mark_webhook_delivery("dead", WebhookStatus.DEAD, "x", 9)
    await store.mark_webhook_delivery("failed", WebhookStatus.FAILED, "x", 1)
    cutoff = now.advance(3600)
    await store.append_logs([LogIn("int-1", "info", "x", "new")])
    await store.append_events([event("new-sent")])
    await store.mark_events_sent(["new-sent"], now())

    result = await store.trim(
        RetentionCutoffs(logs=cutoff, sent_events=cutoff, webhook_payloads=cutoff)
    )

    assert result == TrimResult(logs=2, events=1, webhook_payloads=2)
    assert [x.message for x in (await store.list_logs("int-1", limit=10)).items] == ["new"]
    assert [e.id for e in await store.events_after(None, 10)] == ["old-unsent", "new-sent"]
    [failed] = await store.pending_webhook_deliveries(10)
    assert (failed.id, failed.body) == ("failed", b"body")
    assert await store.save_webhook_delivery(WebhookIn("again", "int-1", "done", {}, b"")) is False
    assert await store.trim(RetentionCutoffs(cutoff, cutoff, cutoff)) == TrimResult(0, 0, 0)


# -- values at the edge -------------------------------------------------------------------

NASTY = [
    "'; DROP TABLE records; --",
    "quote \" and ' and `tick`",
    "back\\slash \\' \\\\ \\x00 (escaped, not a NUL)",
    "% _ ? $1 :name @p {braces}",
    "ünïcødé ✓ 漢字 🚀",
    "",
]


@pytest.mark.parametrize("text", NASTY)
async def test_sql_metacharacters_round_trip_in_every_text_field(store: Store, text: str) -> None:
    iid = f"id {text}"
    spec = integration(iid, name=text, type=text, adapter=text, status=text, config={text: text})
    await store.create_integration(
        spec, {text: sealed(key_id=text)}, AuditIn(text, text, text, {text: [text]})
    )
    run = await store.start_run(iid, text, RunKind.FULL)
    await store.write_batch(run.id, iid, text, [RecordIn(text, {text: text})], {text: text})
    await store.append_events([event(text, iid)])
    await store.append_logs([LogIn(iid, text, text, text, {text: text})])
    await store.save_webhook_delivery(WebhookIn(text, iid, text, {text: text}, text.encode()))
    await store.finish_run(run.id, RunStatus.FAILED, error=text)

    got = await store.get_integration(iid)
    assert (got.id, got.name, got.type, got.adapter, got.status, got.config) == (
        iid, text, text, text, text, {text: text}
    )  # fmt: skip
    [cred] = await store.list_credentials(iid)
    assert (cred.field, cred.sealed.key_id) == (text, text)
    [row] = (await store.list_records(iid, text, limit=5)).items
    assert (row.external_id, row.data) == (text, {text: text})
    assert await store.get_checkpoint(iid, text) == {text: text}
    [ev] = await store.pending_events(5)
    assert (ev.id, ev.integration_id) == (text, iid)
    [log] = (await store.list_logs(iid, limit=5)).items
    assert (log.level, log.event_type, log.message, log.details) == (text, text, text, {text: text})
    [hook] = await store.pending_webhook_deliveries(5)
    assert (hook.id, hook.delivery_id, hook.headers, hook.body) == (
        text, text, {text: text}, text.encode()
    )  # fmt: skip
    assert (await store.get_run(run.id)).error == text
    [entry] = (await store.list_audit(limit=5)).items
    assert (entry.actor, entry.action, entry.target, entry.details) == (
        text,
        text,
        text,
        {text: [text]},
    )
    assert await store.count_records(iid) == {text: 1}


async def test_nul_in_text_or_json_is_refused_before_the_database(store: Store) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)

    with pytest.raises(InvalidValue, match="NUL"):
        await store.write_batch(run.id, "int-1", ENTITY, [RecordIn("a\x00b", {})], None)
    with pytest.raises(InvalidValue, match="NUL"):
        await store.write_batch(run.id, "int-1", ENTITY, [RecordIn("a", {"k": "v\x00"})], None)
    with pytest.raises(InvalidValue, match="NUL"):
        await store.create_integration(integration("int-2", name="x\x00"), {}, audit())
    with pytest.raises(InvalidValue, match="NUL"):
        await store.write_batch(run.id, "int-1", ENTITY, [], {"k\x00": 1})

    assert await store.count_records("int-1") == {}
    assert [i.id for i in await store.list_integrations()] == ["int-1"]


async def test_values_no_backend_can_hold_are_refused(store: Store) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)

    with pytest.raises(InvalidValue, match="JSON"):
        await store.write_batch(run.id, "int-1", ENTITY, [RecordIn("a", {"x": float("nan")})], None)
    with pytest.raises(InvalidValue, match="JSON"):
        await store.write_batch(run.id, "int-1", ENTITY, [RecordIn("a", {"x": b"bytes"})], None)
    with pytest.raises(InvalidValue, match="JSON"):
        await store.write_batch(run.id, "int-1", ENTITY, [RecordIn("a", {"x": "\ud800"})], None)
    with pytest.raises(InvalidValue, match="timezone"):
        await store.mark_events_sent(["a"], datetime(2030, 1, 1))
    with pytest.raises(InvalidValue):
        await store.pending_events(0)

    assert await store.count_records("int-1") == {}


async def test_large_json_round_trips(store: Store) -> None:
    await _integration(store)
    run = await store.start_run("int-1", ENTITY, RunKind.FULL)
    big = {
        "blob": "x" * 2_000_000,
        "items": [
            {"n": n, "f": n / 7, "neg": -n, "t": n % 2 == 0, "z": None} for n in range(5_000)
        ],
        "deep": {"a": {"b": {"c": {"d": [1, [2, [3, [4]]]]}}}},
        "big_int": 2**53 + 1,
    }

    await store.write_batch(run.id, "int-1", ENTITY, [RecordIn("big", big)], big)

    [row] = (await store.list_records("int-1", ENTITY, limit=1)).items
    assert row.data == big
    assert await store.get_checkpoint("int-1", ENTITY) == big


async def test_closed_store_refuses_calls(backend: Backend) -> None:
    async with backend.open() as store:
        await store.close()

        with pytest.raises(StoreError, match="closed"):
            await store.list_integrations()
        await store.close()
