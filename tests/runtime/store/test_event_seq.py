"""Finding an event's place in the outbox by its id (to resume a live feed after it), on
SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from runtime.store import InvalidValue, Store
from tests.runtime.store.helpers import event


async def test_event_seq_finds_the_event_and_resumes_after_it(store: Store) -> None:
    await store.append_events([event(f"e{i}") for i in range(4)])
    everything = await store.events_after(None, 100)

    seq = await store.event_seq("e1")

    assert seq == everything[1].seq
    assert [e.id for e in await store.events_after(seq, 10)] == ["e2", "e3"]


async def test_event_seq_of_an_unknown_id_is_none(store: Store) -> None:
    await store.append_events([event("known")])

    assert await store.event_seq("unknown") is None
    assert await store.event_seq("") is None
    assert await store.event_seq("x" * 10_000) is None


async def test_event_seq_refuses_nul_on_both_backends(store: Store) -> None:
    with pytest.raises(InvalidValue):
        await store.event_seq("a\x00b")
