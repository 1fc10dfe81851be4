"""The IMAP adapter under the real IntegrationActor (the hub with its SQLite store) against
Dovecot: new mail arrives as records within seconds through IDLE, a full sync deletes what the
mailbox no longer has, a server restart is survived, and a wrong password is one error, not a
restart storm."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest

from actors._hub import child_id
from adapters import AdapterContext, AdapterSpec, JsonValue, Registry, SyncKind
from adapters.imap import SPEC, ImapAdapter
from api._hub import RunningHub, running_hub
from api._services import open_services
from config import load_settings
from runtime import SYSTEM_CLOCK, Clock, Lifecycle, fail_after, sleep
from runtime.store import JsonObject, RunKind, RunStatus, SyncRun
from runtime.testing import MockClock, wait_for
from tests.actors.fakes import autojump, counted
from tests.adapters.imap.helpers import Spy, settings_for
from tests.adapters.imap.mail import message
from tests.peers.dovecot import Account, Dovecot, mail_client, running_dovecot

MAIL = "mail"
WITHIN = 15.0  # seconds for what takes well under one


def integration(server: Dovecot, account: Account, **settings: JsonValue) -> dict[str, Any]:
    """An IMAP integration with no schedule: the test says when to sync in full."""
    return {
        "id": MAIL,
        "name": "Mail",
        "type": "IMAP",
        "adapter": "imap",
        "schedule": {"enabled": False},
        "settings": settings_for(server, account, **settings),
        "credentials": {"password": account.password},
    }


@asynccontextmanager
async def hub_with(
    tmp_path: Path,
    setup: dict[str, Any],
    *,
    spec: AdapterSpec = SPEC,
    clock: Clock = SYSTEM_CLOCK,
) -> AsyncIterator[RunningHub]:
    """The hub with the IMAP adapter and one integration (a context manager, not a fixture:
    its task groups must be entered and left by the same task)."""
    settings = load_settings(env={"HUB_DATA_DIR": str(tmp_path / "data")})
    async with open_services(settings, registry=Registry((spec,))) as opened:
        services, busy = counted(opened)
        await services.integrations.create(setup, origin="test")
        if isinstance(clock, MockClock):
            async with (
                autojump(clock, busy),
                running_hub(services, demo=False, clock=clock) as running,
            ):
                yield running
        else:
            async with running_hub(services, demo=False, clock=clock) as running:
                yield running


async def records(hub: RunningHub, *, deleted: bool = False) -> dict[str, JsonObject]:
    """The integration's messages by external id (with `deleted`: only those marked so)."""
    store = hub.services.store
    found: dict[str, JsonObject] = {}
    after: str | None = None
    while True:
        page = await store.list_records(
            MAIL, "messages", limit=500, after=after, include_deleted=deleted
        )
        for row in page.items:
            if (row.deleted_at is not None) == deleted:
                found[row.external_id] = row.data
        if page.next_cursor is None:
            return found
        after = page.next_cursor


async def runs(hub: RunningHub) -> list[SyncRun]:
    """Oldest first."""
    return list(reversed((await hub.services.store.list_runs(MAIL, limit=100)).items))


def settled(hub: RunningHub, count: int) -> Callable[[], Any]:
    """`count` live records and no sync running."""

    async def check() -> bool:
        idle = not (await hub.hub.sync_state(MAIL)).running
        return idle and len(await records(hub)) == count

    return check


def said(caplog: pytest.LogCaptureFixture, words: str) -> int:
    return sum(words in record.getMessage() for record in caplog.records)


async def deliver(server: Dovecot, account: Account, *numbers: int, folder: str = "INBOX") -> None:
    async with mail_client(server, account) as mail:
        for n in numbers:
            await mail.append(message(n), folder)


def subjects(found: dict[str, JsonObject]) -> list[str]:
    return sorted(str(data["subject"]) for data in found.values())


async def test_new_mail_appears_as_records_within_seconds_via_idle(
    tmp_path: Path, dovecot: Dovecot, account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "adapters.imap")
    await deliver(dovecot, account, 1, 2, 3)
    async with hub_with(tmp_path, integration(dovecot, account)) as hub:
        await wait_for(settled(hub, 3), timeout=WITHIN, what="the first sync")
        await wait_for(lambda: said(caplog, "IDLE in INBOX") >= 1, timeout=WITHIN, what="IDLE")
        started = time.monotonic()
        await deliver(dovecot, account, 4)
        await wait_for(settled(hub, 4), timeout=WITHIN, what="the new mail as a record")
        assert time.monotonic() - started < 5.0
        history = await runs(hub)
        assert (history[0].kind, history[0].added) == (RunKind.FULL, 3)
        assert (history[-1].kind, history[-1].added) == (RunKind.INCREMENTAL, 1)
        assert {run.status for run in history} == {RunStatus.COMPLETED}
        assert "Message 4" in subjects(await records(hub))
        assert (await hub.services.store.get_integration(MAIL)).status == "active"


async def test_full_sync_deletes_expunged_and_resynced_folder_records(
    tmp_path: Path, dovecot: Dovecot, account: Account
) -> None:
    async with mail_client(dovecot, account) as mail:
        await mail.create("Archive")
    await deliver(dovecot, account, 1, 2, 3)
    await deliver(dovecot, account, 4, folder="Archive")
    setup = integration(dovecot, account, watch_folder=None)
    async with hub_with(tmp_path, setup) as hub:
        await wait_for(settled(hub, 4), timeout=WITHIN, what="the first sync")
        before = await records(hub)
        async with mail_client(dovecot, account) as mail:
            await mail.expunge("INBOX", 2)
            await mail.delete_folder("Archive")  # and made anew: a new UIDVALIDITY
            await mail.create("Archive")
            await mail.append(message(5), "Archive")
        assert await hub.hub.sync_now(MAIL, SyncKind.FULL)
        await wait_for(lambda: _runs_done(hub, 2), timeout=WITHIN, what="the full sync")
        live, gone = await records(hub), await records(hub, deleted=True)
    assert subjects(live) == ["Message 1", "Message 3", "Message 5"]
    assert subjects(gone) == ["Message 2", "Message 4"]
    assert set(gone) <= set(before)
    archive = [key for key in live if key.startswith("Archive/")]
    assert archive
    assert all(key.split("/")[1] != old.split("/")[1] for key in archive for old in gone)


async def _runs_done(hub: RunningHub, count: int) -> bool:
    done = [run for run in await runs(hub) if run.status is RunStatus.COMPLETED]
    return len(done) >= count and not (await hub.hub.sync_state(MAIL)).running


async def test_server_restart_survived_sync_works_and_idle_comes_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "adapters.imap")
    with running_dovecot() as server:
        account = server.add_user("anna", "secret-Pw-7x")
        await deliver(server, account, 1)
        setup = integration(server, account, timeout=1.0)
        async with hub_with(tmp_path, setup) as hub:
            await wait_for(settled(hub, 1), timeout=WITHIN, what="the first sync")
            await wait_for(lambda: said(caplog, "IDLE in INBOX") == 1, timeout=WITHIN, what="IDLE")
            await anyio.to_thread.run_sync(server.stop)
            await anyio.to_thread.run_sync(server.start)
            await wait_for(lambda: said(caplog, "IDLE in INBOX") == 2, timeout=30, what="IDLE back")
            await wait_for(lambda: _runs_done(hub, 2), timeout=WITHIN, what="the catch-up sync")
            await deliver(server, account, 2)
            await wait_for(settled(hub, 2), timeout=WITHIN, what="mail after the restart")
            assert await hub.hub.sync_now(MAIL, SyncKind.FULL)
            done = len(await runs(hub))
            await wait_for(lambda: _runs_done(hub, done), timeout=WITHIN, what="a full sync")
            history = await runs(hub)
            info = next(c for c in hub.root.which_children() if c.id == child_id(MAIL))
            status = (await hub.services.store.get_integration(MAIL)).status
    assert {run.status for run in history} == {RunStatus.COMPLETED}
    assert history[-1].kind is RunKind.FULL
    assert (info.state, info.restarts) == (Lifecycle.RUNNING, 0)  # no crash on the way
    assert status == "active"


async def test_wrong_password_is_status_error_without_restart_storm(
    tmp_path: Path, lonely: Dovecot
) -> None:
    account = lonely.add_user("anna", "right-Pw-42")
    spy = Spy()

    def factory(context: AdapterContext) -> ImapAdapter:
        # the hub on virtual time, the IMAP connection on real time (it talks to Dovecot)
        return ImapAdapter(replace(context, clock=SYSTEM_CLOCK), opener=spy)

    setup = integration(lonely, account)
    setup["credentials"] = {"password": "wrong-Pw-42"}
    clock = MockClock()
    async with hub_with(tmp_path, setup, spec=replace(SPEC, factory=factory), clock=clock) as hub:
        store = hub.services.store

        async def in_error() -> bool:
            return (await store.get_integration(MAIL)).status == "error"

        with fail_after(clock, 60):
            while not await in_error():
                await sleep(clock, 0.25)
        await sleep(clock, 300)  # five minutes of virtual time: restarts would have come
        assert spy.opens == 1
        info = next(c for c in hub.root.which_children() if c.id == child_id(MAIL))
        assert (info.state, info.restarts) == (Lifecycle.RUNNING, 0)
        assert not await hub.hub.sync_now(MAIL)  # nothing to sync with
        events = list(reversed(await store.recent_events(100, MAIL)))
        error = next(e for e in events if e.type == "hub.integration.error")
    assert error.data["kind"] == "auth"
    assert "AUTHENTICATIONFAILED" in str(error.data["detail"])
    assert "wrong-Pw-42" not in str([e.data for e in events])
    assert spy.opens == 1
