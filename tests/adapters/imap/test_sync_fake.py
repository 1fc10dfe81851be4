"""The sync's decisions against an in-memory mailbox: folders that go away, a UIDVALIDITY that
changes mid-pass, a connection lost mid-sync, refused credentials in a health check."""

from __future__ import annotations

import logging

import pytest

from adapters import AuthError, ConfigError, JsonValue, SyncKind, TransientError
from adapters.imap import ImapAdapter
from tests.adapters.conformance import ids
from tests.adapters.imap.fake import FakeServer, Folder
from tests.adapters.imap.helpers import plain_context, sync


def _adapter(server: FakeServer, **settings: JsonValue) -> ImapAdapter:
    context = plain_context(
        {"host": "imap.example.com", "username": "anna", "batch_size": 2, **settings},
        {"password": "secret-Pw-7x"},
    )
    return ImapAdapter(context, opener=server.open)


async def test_folder_gone_between_list_and_select_passed_over(
    caplog: pytest.LogCaptureFixture,
) -> None:
    inbox = Folder(7)
    inbox.add(1, 2)
    server = FakeServer({"INBOX": inbox}, listed_only={"Gone"})
    with caplog.at_level(logging.WARNING, "adapters.imap"):
        batches = await sync(_adapter(server))
    assert ids(batches) == ["INBOX/7/1", "INBOX/7/2"]
    assert batches[-1].complete
    assert batches[-1].checkpoint["marks"] == {"INBOX": [7, 2]}
    assert "'Gone' can no longer be selected" in caplog.text


async def test_configured_folder_gone_is_config_error() -> None:
    server = FakeServer({"INBOX": Folder(7)})
    with pytest.raises(ConfigError, match="'Archive' is not on the server"):
        await sync(_adapter(server, folders=["INBOX", "Archive"]))


async def test_uidvalidity_changed_mid_pass_reads_the_folder_from_the_start() -> None:
    inbox = Folder(7)
    inbox.add(1, 2, 3)
    server = FakeServer({"INBOX": inbox})
    adapter = _adapter(server)
    whole = await sync(adapter)
    renewed = Folder(8)  # the folder was recreated with other messages
    renewed.add(4, 5, 6)
    server.folders["INBOX"] = renewed
    rest = await sync(adapter, SyncKind.FULL, after=whole[:1])
    assert ids(rest) == ["INBOX/8/1", "INBOX/8/2", "INBOX/8/3"]
    assert rest[-1].checkpoint["marks"] == {"INBOX": [8, 3]}


async def test_connection_lost_mid_sync_resumed_on_a_new_one() -> None:
    inbox = Folder(7)
    inbox.add(1, 2, 3, 4, 5)
    server = FakeServer({"INBOX": inbox}, fail_fetch=0)
    adapter = _adapter(server)
    whole = await sync(adapter)
    first = whole[:1]
    server.fail_fetch = 1
    with pytest.raises(TransientError, match="lost"):
        await sync(adapter, SyncKind.FULL, after=first)
    rest = await sync(adapter, SyncKind.FULL, after=first)
    assert ids(first) + ids(rest) == ids(whole)
    assert server.opens == 2  # the dead session was replaced


async def test_health_check_raises_refused_credentials_reports_unreachable() -> None:
    server = FakeServer(refuse=AuthError("the IMAP server refused the credentials (LOGIN)"))
    adapter = _adapter(server)
    with pytest.raises(AuthError):
        await adapter.health_check()
    server.refuse = TransientError("IMAP greeting: cannot reach the fake")
    status = await adapter.health_check()
    assert (status.ok, status.detail) == (False, "IMAP greeting: cannot reach the fake")
    server.refuse = None
    assert (await adapter.health_check()).ok
