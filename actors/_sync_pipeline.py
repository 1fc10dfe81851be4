"""A sync's read side and write side, overlapped: the adapter's batches are fetched and mapped
while the store writes the ones before them, and the batches that piled up meanwhile go to
the store as one write (group commit).

Semantics stay those of writing each batch alone, in order: the batches a write joins are
consecutive, an id named in more than one takes the last word (`coalesce`), and the write
carries the checkpoint of its last batch, which covers the earlier ones. A reading error
(the adapter's, the mapping's) is handed over in the stream: every batch read before it is
written, then it is raised, as it would have been after them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from actors._mapping import map_record
from adapters import Adapter, SourceRecord, SyncRequest
from adapters import JsonObject as AdapterCursor
from config import FieldMapping
from runtime.store import RecordIn

# Batches mapped and waiting for the store: bounds the memory a fast source can take.
READ_AHEAD = 8
# At most this many records in one write; more waiting are left to the next.
MAX_WRITE_RECORDS = 1000


@dataclass(frozen=True, slots=True)
class Mapped:
    """One adapter batch as the store takes it (`split_records`)."""

    records: list[RecordIn]
    deleted: list[str]
    checkpoint: AdapterCursor
    complete: bool


@dataclass(frozen=True, slots=True)
class Write:
    """Consecutive batches to write as one: their records and tombstones (last word wins),
    the last one's checkpoint, and how many batches went in."""

    records: list[RecordIn]
    deleted: list[str]
    checkpoint: AdapterCursor
    complete: bool
    batches: int


@dataclass(frozen=True, slots=True)
class _Failed:
    error: Exception


def split_records(
    found: Sequence[SourceRecord], mappings: Sequence[FieldMapping]
) -> tuple[list[RecordIn], list[str]]:
    """What the source says, as the store takes it: the records to write (field mapping
    applied) and the external ids of its tombstones. An id named twice counts once, the last
    word winning, whether it wrote the record or deleted it (sync batches and webhooks)."""
    last: dict[str, SourceRecord] = {}
    for record in found:
        last.pop(record.external_id, None)
        last[record.external_id] = record
    records = [
        RecordIn(r.external_id, dict(map_record(r.data, mappings).data))
        for r in last.values()
        if not r.deleted
    ]
    return records, [r.external_id for r in last.values() if r.deleted]


def coalesce(parts: Sequence[Mapped]) -> Write:
    """One write for consecutive batches: an id in more than one takes its last batch's
    word, a record or a tombstone, so the store ends as after writing them one by one."""
    last = parts[-1]
    if len(parts) == 1:
        return Write(last.records, last.deleted, last.checkpoint, last.complete, 1)
    latest: dict[str, RecordIn | None] = {}
    for part in parts:
        for record in part.records:
            latest.pop(record.external_id, None)
            latest[record.external_id] = record
        for external_id in part.deleted:
            latest.pop(external_id, None)
            latest[external_id] = None
    records = [record for record in latest.values() if record is not None]
    deleted = [key for key, record in latest.items() if record is None]
    return Write(records, deleted, last.checkpoint, last.complete, len(parts))


async def read_batches(
    adapter: Adapter,
    request: SyncRequest,
    mappings: Sequence[FieldMapping],
    send: MemoryObjectSendStream[Mapped | _Failed],
) -> None:
    """The read side: every batch of the adapter's pass, mapped, then the stream closed; an
    error of the adapter or the mapping goes down the stream after the batches before it."""
    async with send, aclosing(adapter.sync(request)) as batches:
        try:
            async for batch in batches:
                records, deleted = split_records(batch.records, mappings)
                await send.send(Mapped(records, deleted, batch.checkpoint, batch.complete))
        except Exception as error:
            await send.send(_Failed(error))


async def writes(
    receive: MemoryObjectReceiveStream[Mapped | _Failed],
) -> AsyncGenerator[Write, None]:
    """The write side's units: whatever batches are waiting, up to `MAX_WRITE_RECORDS`, as
    one `Write`; a handed-over reading error is raised once the batches before it are out."""
    async with receive:
        pending: Mapped | _Failed | None = None
        while True:
            first = pending if pending is not None else await _next(receive)
            pending = None
            if first is None:
                return
            if isinstance(first, _Failed):
                raise first.error
            parts = [first]
            size = len(first.records) + len(first.deleted)
            while size < MAX_WRITE_RECORDS:
                try:
                    item = receive.receive_nowait()
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
                if isinstance(item, _Failed) or size + _size(item) > MAX_WRITE_RECORDS:
                    pending = item
                    break
                parts.append(item)
                size += _size(item)
            yield coalesce(parts)


def stream() -> tuple[
    MemoryObjectSendStream[Mapped | _Failed], MemoryObjectReceiveStream[Mapped | _Failed]
]:
    return anyio.create_memory_object_stream[Mapped | _Failed](READ_AHEAD)


async def _next(receive: MemoryObjectReceiveStream[Mapped | _Failed]) -> Mapped | _Failed | None:
    try:
        return await receive.receive()
    except anyio.EndOfStream:
        return None


def _size(item: Mapped) -> int:
    return len(item.records) + len(item.deleted)
