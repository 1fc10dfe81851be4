"""Where a sync starts: resume, orphans, and which runs may conclude deletions."""

from __future__ import annotations

from actors._sync import ORPHANED, begin, request_kind, store_kind, stored_checkpoint
from adapters import SyncKind
from runtime.store import RecordIn, RunKind, RunStatus, Store
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
