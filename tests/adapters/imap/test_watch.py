"""Watching for new mail against Dovecot: IDLE, IDLE renewed, polling, and a server restart."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager

import anyio
import pytest

from adapters import SyncKind
from adapters.imap import ImapAdapter
from runtime.testing import wait_for
from tests.adapters.imap.helpers import adapter_for
from tests.adapters.imap.mail import message
from tests.peers.dovecot import Account, Dovecot, mail_client, running_dovecot

WITHIN = 10.0  # seconds: Dovecot tells an idling client about new mail in about half a second


@asynccontextmanager
async def watching(adapter: ImapAdapter) -> AsyncIterator[list[SyncKind]]:
    """The adapter's watch running beside the test; what it yielded so far."""
    seen: list[SyncKind] = []
    async with anyio.create_task_group() as tasks:

        async def consume() -> None:
            async with aclosing(adapter.watch()) as changes:
                async for kind in changes:
                    seen.append(kind)

        tasks.start_soon(consume)
        yield seen
        tasks.cancel_scope.cancel()
    await adapter.disconnect()


def said(caplog: pytest.LogCaptureFixture, words: str) -> int:
    return sum(words in record.getMessage() for record in caplog.records)


async def _deliver(server: Dovecot, account: Account, n: int) -> None:
    async with mail_client(server, account) as mail:
        await mail.append(message(n))


async def test_watch_idle_yields_incremental_on_new_mail(
    dovecot: Dovecot, account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "adapters.imap")
    async with watching(adapter_for(dovecot, account)) as seen:
        await wait_for(lambda: said(caplog, "IDLE in INBOX") == 1, timeout=WITHIN, what="IDLE")
        assert seen == []
        await _deliver(dovecot, account, 1)
        await wait_for(lambda: seen == [SyncKind.INCREMENTAL], timeout=WITHIN, what="a change")
        await _deliver(dovecot, account, 2)
        await wait_for(lambda: len(seen) == 2, timeout=WITHIN, what="another change")


async def test_watch_idle_renewed_keeps_seeing_mail(
    dovecot: Dovecot, account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "adapters.imap")
    async with watching(adapter_for(dovecot, account, idle_refresh=1)) as seen:
        await wait_for(lambda: said(caplog, "IDLE in INBOX") >= 2, timeout=WITHIN, what="renewal")
        await _deliver(dovecot, account, 1)
        await wait_for(lambda: seen == [SyncKind.INCREMENTAL], timeout=WITHIN, what="a change")
    assert said(caplog, "again in") == 0  # renewed on the same connection, never lost


async def test_watch_polls_status_when_idle_is_off(
    dovecot: Dovecot, account: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "adapters.imap")
    async with watching(adapter_for(dovecot, account, idle=False, poll_interval=1)) as seen:
        await wait_for(lambda: said(caplog, "polling INBOX") == 1, timeout=WITHIN, what="polling")
        await _deliver(dovecot, account, 1)
        await wait_for(lambda: seen == [SyncKind.INCREMENTAL], timeout=WITHIN, what="a change")


async def test_watch_without_a_folder_ends_at_once(dovecot: Dovecot, account: Account) -> None:
    adapter = adapter_for(dovecot, account, watch_folder=None)
    with anyio.fail_after(1):
        assert [kind async for kind in adapter.watch()] == []


async def test_watch_survives_a_server_restart_and_catches_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "adapters.imap")
    with running_dovecot() as server:
        account = server.add_user("anna", "secret-Pw-7x")
        # a reconnect may reach the old server's listener while it shuts down: no greeting
        async with watching(adapter_for(server, account, timeout=1.0)) as seen:
            await wait_for(lambda: said(caplog, "IDLE in INBOX") == 1, timeout=WITHIN, what="IDLE")
            await anyio.to_thread.run_sync(server.stop)
            await wait_for(lambda: said(caplog, "again in") >= 1, timeout=WITHIN, what="loss")
            await anyio.to_thread.run_sync(server.start)
            await wait_for(lambda: said(caplog, "IDLE in INBOX") == 2, timeout=30, what="back")
            assert seen == [SyncKind.INCREMENTAL]  # catching up with what came meanwhile
            await _deliver(server, account, 1)
            await wait_for(lambda: len(seen) == 2, timeout=WITHIN, what="mail after restart")
