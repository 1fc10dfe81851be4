"""Where a sync starts: resume, orphans, and which runs may conclude deletions."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import cast

from actors._sync import (
    ORPHANED,
    Progress,
    begin,
    records_of,
    request_kind,
    run_entity,
    store_kind,
    stored_checkpoint,
)
from actors._sync_pipeline import split_records
from adapters import (
    Adapter,
    AdapterContext,
    Batch,
    ConnectionInfo,
    HealthStatus,
    SourceRecord,
    SyncKind,
    SyncRequest,
)
from config import FieldMapping
from runtime.store import RecordEvents, RecordIn, RunKind, RunStatus, Store
from tests.actors.test_integrations import _service, _valid


async def _integration(store: Store) -> None:
    await _service(store).create(_valid(), origin="test")


async def test_begin_resumes_a_run_left_running_by_a_sync_that_ended(store: Store) -> None:
    await _integration(store)
    orphan = await store.start_run("shop", "customers", RunKind.FULL)
    start = await begin(store, "shop", "customers", SyncKind.FULL)
    assert start.run.id == orphan.id
    assert start.resumed
    assert start.run.status is RunStatus.RUNNING
    history = (await store.list_runs("shop", limit=5)).items
    assert len(history) == 1


async def test_begin_finishes_at_once_a_run_cut_off_after_its_last_batch(store: Store) -> None:
    await _integration(store)
    run = await store.start_run("shop", "customers", RunKind.FULL)
    done = stored_checkpoint({"page": 9}, complete=True, run_id=run.id)
    await store.write_batch(run.id, "shop", "customers", [RecordIn("1", {"a": 1})], done)
    await store.finish_run(run.id, RunStatus.INTERRUPTED, ORPHANED)
    start = await begin(store, "shop", "customers", SyncKind.FULL)
    assert (start.run.id, start.resumed, start.done) == (run.id, True, True)


async def test_begin_resumes_from_the_start_when_the_run_wrote_nothing(store: Store) -> None:
    await _integration(store)
    earlier = await store.start_run("shop", "customers", RunKind.FULL)
    done = stored_checkpoint({"page": 9}, complete=True, run_id=earlier.id)
    await store.write_batch(earlier.id, "shop", "customers", [RecordIn("1", {"a": 1})], done)
    await store.finish_run(earlier.id, RunStatus.COMPLETED)
    cut_off = await store.start_run("shop", "customers", RunKind.FULL)
    await store.finish_run(cut_off.id, RunStatus.INTERRUPTED)
    start = await begin(store, "shop", "customers", SyncKind.FULL)
    assert (start.run.id, start.resumed, start.done) == (cut_off.id, True, False)
    assert start.cursor == {"page": 9}


def test_store_kind_only_lets_a_full_pass_from_its_start_delete() -> None:
    assert store_kind(SyncKind.FULL, pass_complete=True) is RunKind.FULL
    assert store_kind(SyncKind.FULL, pass_complete=False) is RunKind.INCREMENTAL
    assert store_kind(SyncKind.INCREMENTAL, pass_complete=True) is RunKind.INCREMENTAL


async def test_request_kind_resumed_full_run_stays_full_when_asked_incremental(
    store: Store,
) -> None:
    await _integration(store)
    run = await store.start_run("shop", "customers", RunKind.FULL)
    await store.finish_run(run.id, RunStatus.INTERRUPTED)
    start = await begin(store, "shop", "customers", SyncKind.INCREMENTAL)
    assert start.resumed
    assert request_kind(start, SyncKind.INCREMENTAL) is SyncKind.FULL


async def test_request_kind_new_run_is_what_was_asked(store: Store) -> None:
    await _integration(store)
    start = await begin(store, "shop", "customers", SyncKind.INCREMENTAL)
    assert not start.resumed
    assert request_kind(start, SyncKind.INCREMENTAL) is SyncKind.INCREMENTAL
    assert request_kind(start, SyncKind.FULL) is SyncKind.FULL


def test_split_records_keeps_tombstones_and_the_last_word_per_id() -> None:
    found = [
        SourceRecord("a", {"v": 1}),
        SourceRecord("b", {}, deleted=True),
        SourceRecord("c", {"v": 1}),
        SourceRecord("a", {}, deleted=True),  # written, then deleted: deleted
        SourceRecord("b", {"v": 2}),  # deleted, then written again: written
        SourceRecord("d", {}, deleted=True),
    ]
    mapping = (FieldMapping(source="v", target="value"),)

    records, deleted = split_records(found, mapping)

    assert sorted((r.external_id, dict(r.data)) for r in records) == [
        ("b", {"value": 2}),
        ("c", {"value": 1}),
    ]
    assert sorted(deleted) == ["a", "d"]
    assert records_of(Batch("x", tuple(found), {}), ()) == [
        RecordIn("c", {"v": 1}),
        RecordIn("b", {"v": 2}),
    ]


class _Tombstones(Adapter):
    """An incremental pass: one record changed, one deleted, one deleted it never had."""

    async def connect(self) -> ConnectionInfo:
        raise NotImplementedError

    async def health_check(self) -> HealthStatus:
        raise NotImplementedError

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        changes = (
            SourceRecord("1", {"a": 2}),
            SourceRecord("2", {}, deleted=True),
            SourceRecord("9", {}, deleted=True),
        )
        yield Batch("customers", changes, {"page": 1}, complete=True)


async def test_run_entity_writes_the_sources_tombstones_with_the_batch(store: Store) -> None:
    await _integration(store)
    run = await store.start_run("shop", "customers", RunKind.FULL)
    records = [RecordIn(key, {"a": 1}) for key in ("1", "2", "3")]
    await store.write_batch(run.id, "shop", "customers", records, None)
    await store.finish_run(run.id, RunStatus.COMPLETED)
    start = await begin(store, "shop", "customers", SyncKind.INCREMENTAL)
    progress = Progress()
    notified: list[None] = []

    await run_entity(
        _Tombstones(cast(AdapterContext, None)),
        store,
        start,
        kind=SyncKind.INCREMENTAL,
        mappings=(),
        progress=progress,
        now=lambda: 1.0,
        record_events=lambda: RecordEvents(datetime.now(UTC)),
        notify=lambda: notified.append(None),
    )

    done = await store.finish_run(start.run.id, RunStatus.COMPLETED)
    assert (done.updated, done.deleted) == (1, 1)
    assert (progress.updated, progress.deleted) == (1, 1)
    assert notified
    live = await store.list_records("shop", "customers", limit=10)
    assert [(r.external_id, dict(r.data)) for r in live.items] == [("1", {"a": 2}), ("3", {"a": 1})]
    changes = [
        (e.data["external_id"], e.data["change"])
        for e in await store.recent_events(10, "shop")
        if e.type.endswith("record_changed")
    ]
    assert sorted(changes) == [("1", "updated"), ("2", "deleted")]
