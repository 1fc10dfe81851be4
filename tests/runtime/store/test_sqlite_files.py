"""The embedded backend's file: its page size and its WAL checkpoints on a thread of their own."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import anyio

from runtime.store import SQLITE_FILE_NAME, RunKind, RunStatus, Store, open_store
from tests.runtime.store.helpers import audit, integration, records


def _page_size(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        size: int = connection.execute("PRAGMA page_size").fetchone()[0]
        return size
    finally:
        connection.close()


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "hub-sqlite-checkpoint"]


async def _sync(store: Store, count: int) -> None:
    await store.create_integration(integration("int-1"), {}, audit(target="int-1"))
    run = await store.start_run("int-1", "contacts", RunKind.FULL)
    await store.write_batch(run.id, "int-1", "contacts", records(range(count)), None)
    await store.finish_run(run.id, RunStatus.COMPLETED)


async def _grows_to(path: Path, size: int) -> bool:
    """Whether the file reaches `size` within 10 s (polled: no event tells of a file's size)."""
    for _ in range(1_000):
        if (await anyio.Path(path).stat()).st_size >= size:
            return True
        await anyio.sleep(0.01)
    return False


async def test_new_database_has_16k_pages(tmp_path: Path) -> None:
    store = await open_store(None, tmp_path)
    await store.close()

    assert _page_size(tmp_path / SQLITE_FILE_NAME) == 16384


async def test_existing_database_keeps_its_page_size_and_works(tmp_path: Path) -> None:
    legacy = sqlite3.connect(tmp_path / SQLITE_FILE_NAME)
    legacy.execute("PRAGMA page_size = 4096")
    legacy.execute("PRAGMA journal_mode = WAL")
    legacy.execute("CREATE TABLE before_the_hub (x)")
    legacy.close()

    store = await open_store(None, tmp_path)
    try:
        await _sync(store, 50)
        assert await store.count_records("int-1") == {"contacts": 50}
    finally:
        await store.close()

    assert _page_size(tmp_path / SQLITE_FILE_NAME) == 4096


async def test_writes_are_checkpointed_into_the_database_file_by_the_thread(
    tmp_path: Path,
) -> None:
    """The store's own connection would checkpoint only past 2,500 pages: the records reach
    the database file (not only the WAL) because the checkpoint thread copied them."""
    path = tmp_path / SQLITE_FILE_NAME
    store = await open_store(None, tmp_path)
    try:
        size_before = (await anyio.Path(path).stat()).st_size
        await _sync(store, 2_000)
        assert await _grows_to(path, size_before + 100_000)
    finally:
        await store.close()


async def test_close_ends_the_checkpoint_thread(tmp_path: Path) -> None:
    others = _checkpoint_threads()
    store = await open_store(None, tmp_path)
    await _sync(store, 10)
    assert len(_checkpoint_threads()) == len(others) + 1

    await store.close()

    assert _checkpoint_threads() == others


def _seen_ranges(path: Path) -> list[tuple[str | None, str | None]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT lo, hi FROM sync_seen ORDER BY rowid").fetchall()
    finally:
        connection.close()


async def test_a_batch_notes_its_key_range_only_when_it_holds_every_key_there(
    tmp_path: Path,
) -> None:
    """What lets the finish of an ordered re-sync search only between the ranges."""
    store = await open_store(None, tmp_path)
    try:
        await _sync(store, 6)
        run = await store.start_run("int-1", "contacts", RunKind.FULL)
        await store.write_batch(run.id, "int-1", "contacts", records([1, 2, 3]), None)
        await store.write_batch(run.id, "int-1", "contacts", records([0, 5]), None)

        assert _seen_ranges(tmp_path / SQLITE_FILE_NAME) == [
            ("c00001", "c00003"),
            (None, None),
        ]
    finally:
        await store.close()
