"""A sync's read and write sides overlapped: batches that wait are written as one, in order,
with the last word per id, and a reading error is raised after the batches before it."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import anyio
import pytest

from actors import _sync_pipeline as pipeline
from actors._sync import Progress, Start, begin, run_entity
from actors._sync_pipeline import Mapped, coalesce
from adapters import (
    Adapter,
    AdapterContext,
    Batch,
    ConnectionInfo,
    HealthStatus,
    SourceRecord,
    SyncKind,
    SyncRequest,
    TransientError,
)
from runtime import sole_error
from runtime.store import BatchResult, RecordEvents, RecordIn, Store
from tests.actors.test_sync import _integration


def _mapped(keys: Sequence[str], page: int, deleted: Sequence[str] = ()) -> Mapped:
    records = [RecordIn(key, {"page": page}) for key in keys]
    return Mapped(records, list(deleted), {"page": page}, complete=False)


def test_coalesce_gives_each_id_its_last_batchs_word_and_the_last_checkpoint() -> None:
    write = coalesce(
        [
            _mapped(["a", "b"], 1),
            _mapped(["c"], 2, deleted=["a"]),  # a deleted after it was written
            _mapped(["a"], 3, deleted=["b", "x"]),  # a written again, b deleted
        ]
    )

    assert sorted((r.external_id, dict(r.data)) for r in write.records) == [
        ("a", {"page": 3}),
        ("c", {"page": 2}),
    ]
    assert sorted(write.deleted) == ["b", "x"]
    assert (write.checkpoint, write.batches) == ({"page": 3}, 3)


def test_coalesce_of_one_batch_is_that_batch() -> None:
    only = _mapped(["a"], 1, deleted=["b"])

    write = coalesce([only])

    assert (write.records, write.deleted, write.checkpoint, write.batches) == (
        only.records,
        only.deleted,
        only.checkpoint,
        1,
    )


async def test_writes_joins_the_waiting_batches_up_to_the_record_limit() -> None:
    send, receive = pipeline.stream()
    sizes = [600, 300, 200, 1500]
    for page, size in enumerate(sizes):
        send.send_nowait(_mapped([f"{page}-{n}" for n in range(size)], page))
    send.close()

    got = [(len(w.records), w.batches, w.checkpoint) async for w in pipeline.writes(receive)]

    assert got == [(900, 2, {"page": 1}), (200, 1, {"page": 2}), (1500, 1, {"page": 3})]


async def test_writes_raises_a_reading_error_once_the_batches_before_it_are_out() -> None:
    adapter = _Pages(pages=3, fail_after=True)
    send, receive = pipeline.stream()
    written: list[int] = []

    async def read_and_write() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(pipeline.read_batches, adapter, _request(), (), send)
            async for write in pipeline.writes(receive):
                written.extend(int(r.external_id) for r in write.records)

    with pytest.raises(ExceptionGroup) as raised:
        await read_and_write()

    error = sole_error(raised.value)
    assert isinstance(error, TransientError)
    assert "page 4 is down" in str(error)

    assert written == list(range(300))


async def test_run_entity_writes_batches_read_meanwhile_as_one_write(store: Store) -> None:
    await _integration(store)
    start = await begin(store, "shop", "customers", SyncKind.FULL)
    adapter = _Pages(pages=5)
    recording = _HeldFirstWrite(store, adapter.all_read)
    progress = Progress()

    await _run_full(adapter, cast(Store, recording), start, progress)

    # the first write held until every page was read: the rest wait, and go as one
    assert len(recording.sizes) == 2
    assert sum(recording.sizes) == 500
    assert (progress.batches, progress.added) == (5, 500)
    stored = await store.get_checkpoint("shop", "customers")
    assert stored is not None
    assert stored["cursor"] == {"page": 5}


async def test_run_entity_raises_the_adapters_error_itself_after_writing_what_came_before(
    store: Store,
) -> None:
    await _integration(store)
    start = await begin(store, "shop", "customers", SyncKind.FULL)
    progress = Progress()

    with pytest.raises(TransientError, match="page 4 is down"):
        await _run_full(_Pages(pages=3, fail_after=True), store, start, progress)

    assert progress.added == 300
    stored = await store.get_checkpoint("shop", "customers")
    assert stored is not None
    assert stored["cursor"] == {"page": 3}
    assert (await store.count_records("shop")) == {"customers": 300}


async def _run_full(adapter: Adapter, store: Store, start: Start, progress: Progress) -> None:
    await run_entity(
        adapter,
        store,
        start,
        kind=SyncKind.FULL,
        mappings=(),
        progress=progress,
        now=lambda: 1.0,
        record_events=lambda: RecordEvents(datetime.now(UTC)),
        notify=lambda: None,
    )


def _request() -> SyncRequest:
    return SyncRequest(("customers",), SyncKind.FULL, {"customers": None})


class _Pages(Adapter):
    """`pages` pages of 100 customers, then (`fail_after`) a transient error."""

    def __init__(self, *, pages: int, fail_after: bool = False) -> None:
        super().__init__(cast(AdapterContext, None))
        self.pages = pages
        self.fail_after = fail_after
        self.all_read = anyio.Event()

    async def connect(self) -> ConnectionInfo:
        raise NotImplementedError

    async def health_check(self) -> HealthStatus:
        raise NotImplementedError

    async def sync(self, request: SyncRequest) -> AsyncGenerator[Batch, None]:
        for page in range(1, self.pages + 1):
            records = tuple(
                SourceRecord(str(n), {"n": n}) for n in range((page - 1) * 100, page * 100)
            )
            last = page == self.pages and not self.fail_after
            yield Batch("customers", records, {"page": page}, complete=last)
        self.all_read.set()
        if self.fail_after:
            raise TransientError(f"page {self.pages + 1} is down")


class _HeldFirstWrite:
    """The store, its first `write_batch` held until `release` is set; the sizes written."""

    def __init__(self, store: Store, release: anyio.Event) -> None:
        self._store = store
        self._release = release
        self.sizes: list[int] = []

    async def write_batch(self, *args: Any, **kwargs: Any) -> BatchResult:
        if not self.sizes:
            await self._release.wait()
        self.sizes.append(len(args[3]))
        return await self._store.write_batch(*args, **kwargs)
