"""CalDAV syncs written through the real store, as the integration actor writes them
(`actors._sync`): created, changed and deleted events counted as added, updated and deleted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from actors._integrations import IntegrationService
from actors._sync import Progress, begin, run_entity
from adapters import SyncKind
from adapters.caldav import CalDavAdapter
from runtime.store import RecordEvents, RunStatus, Store, SyncRun, open_store
from runtime.vault import Vault, generate_key, parse_keyring
from tests.adapters.caldav.conftest import DavAccount, account_context
from tests.adapters.caldav.ics import berlin, day, simple

INTEGRATION = "calendar"
ENTITY = "events"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(None, tmp_path)
    try:
        yield opened
    finally:
        await opened.close()


async def _integration(store: Store, account: DavAccount) -> None:
    service = IntegrationService(store, Vault(parse_keyring(generate_key())), lambda: {"caldav"})
    await service.create(
        {
            "id": INTEGRATION,
            "name": "Team calendar",
            "type": "CalDAV",
            "adapter": "caldav",
            "entities": [ENTITY],
            "settings": {"url": account.server.url, "username": account.user},
            "credentials": {"password": account.password},
        },
        origin="test",
    )


async def _sync(store: Store, adapter: CalDavAdapter, kind: SyncKind) -> SyncRun:
    start = await begin(store, INTEGRATION, ENTITY, kind)
    await run_entity(
        adapter,
        store,
        start,
        kind=kind,
        mappings=(),
        progress=Progress(),
        now=lambda: 0.0,
        record_events=lambda: RecordEvents(datetime.now(UTC)),
        notify=lambda: None,
    )
    return await store.finish_run(start.run.id, RunStatus.COMPLETED)


def _counts(run: SyncRun) -> tuple[int, int, int, int]:
    return run.added, run.updated, run.unchanged, run.deleted


async def _stored(store: Store) -> dict[str, str]:
    page = await store.list_records(INTEGRATION, ENTITY, limit=100)
    return {row.external_id: str(row.data["summary"]) for row in page.items}


async def test_created_changed_and_deleted_events_counted_by_the_store(
    store: Store, account: DavAccount
) -> None:
    await _integration(store, account)
    await account.mkcalendar("team", "Team")
    for n in range(4):
        await account.put("team", f"e{n}.ics", simple(f"e{n}", day(n + 1), f"Event {n}"))
    await account.put("team", "berlin.ics", berlin("b", day(2), "Berlin"))
    context = account_context(account, page_size=2)
    adapter = CalDavAdapter(context)
    try:
        first = await _sync(store, adapter, SyncKind.FULL)
        assert _counts(first) == (5, 0, 0, 0)
        same = await _sync(store, adapter, SyncKind.INCREMENTAL)
        assert _counts(same) == (0, 0, 0, 0)

        await account.put("team", "e1.ics", simple("e1", day(2), "Event 1 renamed"))
        await account.delete("team", "e2.ics")
        await account.put("team", "e9.ics", simple("e9", day(9), "Event 9"))
        incremental = await _sync(store, adapter, SyncKind.INCREMENTAL)
        assert _counts(incremental) == (1, 1, 0, 1)
        stored = await _stored(store)
        assert stored[account.href("team", "e1.ics")] == "Event 1 renamed"
        assert account.href("team", "e9.ics") in stored

        full = await _sync(store, adapter, SyncKind.FULL)
    finally:
        await context.http.aclose()
    # The incremental sync's tombstone deleted it already: the full sync finds nothing more.
    assert _counts(full) == (0, 0, 5, 0)
    assert account.href("team", "e2.ics") not in await _stored(store)
    assert len(await _stored(store)) == 5


async def test_event_deleted_is_deleted_by_the_incremental_sync(
    store: Store, account: DavAccount
) -> None:
    await _integration(store, account)
    await account.mkcalendar("team", "Team")
    await account.put("team", "a.ics", simple("a", day(1), "A"))
    await account.put("team", "b.ics", simple("b", day(2), "B"))
    context = account_context(account)
    adapter = CalDavAdapter(context)
    try:
        await _sync(store, adapter, SyncKind.FULL)
        await account.delete("team", "b.ics")
        incremental = await _sync(store, adapter, SyncKind.INCREMENTAL)
    finally:
        await context.http.aclose()
    assert incremental.deleted == 1
    assert list(await _stored(store)) == [account.href("team", "a.ics")]
