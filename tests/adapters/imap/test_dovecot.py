"""The IMAP adapter against a real Dovecot: records, incremental syncs, UIDVALIDITY, folders,
windows, TLS and the errors a user can run into."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from adapters import AuthError, ConfigError, SyncKind, TransientError
from adapters.imap import ImapAdapter
from adapters.imap._wire import encode_folder
from runtime import SYSTEM_CLOCK, fail_after
from tests.adapters.conformance import ids
from tests.adapters.imap.helpers import Spy, adapter_for, by_id, context_for, sync
from tests.adapters.imap.mail import message
from tests.peers.dovecot import Account, Dovecot, free_port, mail_client

ENTWUERFE = encode_folder("Entwürfe")


async def _deliver(server: Dovecot, account: Account, *items: tuple[str, bytes]) -> None:
    async with mail_client(server, account) as mail:
        for folder, raw in items:
            await mail.append(raw, folder)


async def test_sync_appended_messages_become_records_in_every_folder(
    dovecot: Dovecot, account: Account
) -> None:
    async with mail_client(dovecot, account) as mail:
        await mail.create("Archive")
        await mail.create(ENTWUERFE)
        await mail.append(message(1, attachment=("a.pdf", "application/pdf", b"%PDF-1")))
        await mail.append(message(2, subject="Grüße", html="<p>Hallo</p>"), flags="(\\Flagged)")
        await mail.append(message(3), "Archive")
        await mail.append(message(4, text="Entwurf"), ENTWUERFE)
    adapter = adapter_for(dovecot, account)
    try:
        info = await adapter.connect()
        assert info.peer == f"imap://127.0.0.1:{dovecot.port}"
        assert info.account == account.username
        batches = await sync(adapter)
    finally:
        await adapter.disconnect()
    records = by_id(batches)
    inbox_validity = records[next(key for key in records if key.startswith("INBOX/"))][
        "uidvalidity"
    ]
    assert [key.split("/")[0] for key in records] == ["INBOX", "INBOX", "Archive", "Entwürfe"]
    first = records[f"INBOX/{inbox_validity}/1"]
    assert first["subject"] == "Message 1"
    assert first["from"] == [{"name": "Anna Schmidt", "address": "anna@example.com"}]
    assert first["to"] == [{"name": "Hub", "address": "hub@example.com"}]
    assert first["message_id"] == "<1@example.com>"
    assert first["text"] == "Hello, this is message 1."
    assert first["attachments"] == [
        {"filename": "a.pdf", "content_type": "application/pdf", "size": 6, "inline": False}
    ]
    assert first["flags"] == []
    second = records[f"INBOX/{inbox_validity}/2"]
    assert (second["subject"], second["flags"]) == ("Grüße", ["\\Flagged"])
    drafts = next(data for key, data in records.items() if key.startswith("Entwürfe/"))
    assert (drafts["folder"], drafts["text"]) == ("Entwürfe", "Entwurf")
    assert [len(b.records) for b in batches] == [2, 1, 1, 0]  # batch_size 2, per folder
    assert [b.complete for b in batches] == [False, False, False, True]


async def test_sync_reads_without_marking_seen(dovecot: Dovecot, account: Account) -> None:
    await _deliver(dovecot, account, ("INBOX", message(1)))
    adapter = adapter_for(dovecot, account)
    try:
        await sync(adapter)
        again = await sync(adapter)
    finally:
        await adapter.disconnect()
    assert [data["flags"] for data in by_id(again).values()] == [[]]  # BODY.PEEK: still unseen


async def test_incremental_sync_fetches_only_new_uids(dovecot: Dovecot, account: Account) -> None:
    await _deliver(dovecot, account, *(("INBOX", message(n)) for n in range(1, 4)))
    spy = Spy()
    adapter = adapter_for(dovecot, account, spy=spy)
    try:
        first = await sync(adapter)
        assert spy.fetched == [1, 2, 3]
        await _deliver(dovecot, account, ("INBOX", message(4)), ("INBOX", message(5)))
        spy.fetched.clear()
        second = await sync(adapter, SyncKind.INCREMENTAL, after=first)
        assert spy.fetched == [4, 5]
        assert [r["subject"] for r in by_id(second).values()] == ["Message 4", "Message 5"]
        spy.fetched.clear()
        third = await sync(adapter, SyncKind.INCREMENTAL, after=second)
        assert (spy.fetched, ids(third)) == ([], [])
        full = await sync(adapter, SyncKind.FULL, after=third)
        assert len(ids(full)) == 5
    finally:
        await adapter.disconnect()
    assert spy.opens == 1  # one command connection throughout


async def test_unfinished_full_pass_finished_as_full_whatever_is_asked(
    dovecot: Dovecot, account: Account
) -> None:
    await _deliver(dovecot, account, *(("INBOX", message(n)) for n in range(1, 6)))
    adapter = adapter_for(dovecot, account)
    try:
        full = await sync(adapter)
        rest = await sync(adapter, SyncKind.INCREMENTAL, after=full[:1])  # cut after batch 1
    finally:
        await adapter.disconnect()
    assert ids(rest) == ids(full)[2:]  # the rest of the full pass, not "what is new"
    assert rest[-1].checkpoint == full[-1].checkpoint
    assert rest[-1].checkpoint["kind"] == "full"


async def test_full_sync_after_expunge_no_longer_lists_the_message(
    dovecot: Dovecot, account: Account
) -> None:
    await _deliver(dovecot, account, *(("INBOX", message(n)) for n in range(1, 4)))
    adapter = adapter_for(dovecot, account)
    try:
        before = await sync(adapter)
        async with mail_client(dovecot, account) as mail:
            await mail.expunge("INBOX", 2)
        after = await sync(adapter, SyncKind.FULL, after=before)
    finally:
        await adapter.disconnect()
    assert [key.rsplit("/", 1)[1] for key in ids(before)] == ["1", "2", "3"]
    assert [key.rsplit("/", 1)[1] for key in ids(after)] == ["1", "3"]


async def test_changed_uidvalidity_reads_the_folder_anew(
    dovecot: Dovecot, account: Account
) -> None:
    async with mail_client(dovecot, account) as mail:
        await mail.create("Archive")
        await mail.append(message(1), "Archive")
        await mail.append(message(2), "Archive")
    adapter = adapter_for(dovecot, account)
    try:
        first = await sync(adapter)
        async with mail_client(dovecot, account) as mail:
            await mail.delete_folder("Archive")
            await mail.create("Archive")
            await mail.append(message(3), "Archive")
        incremental = await sync(adapter, SyncKind.INCREMENTAL, after=first)
        full = await sync(adapter, SyncKind.FULL, after=incremental)
    finally:
        await adapter.disconnect()
    old_ids = ids(first)
    new_ids = ids(incremental)
    old_validity = {key.split("/")[1] for key in old_ids}
    new_validity = {key.split("/")[1] for key in new_ids}
    assert old_validity.isdisjoint(new_validity)
    assert [by_id(incremental)[key]["subject"] for key in new_ids] == ["Message 3"]
    assert ids(full) == new_ids  # the old ids are not seen: a full run deletes them
    marks = incremental[-1].checkpoint["marks"]
    assert isinstance(marks, dict)
    assert marks["Archive"] == [int(new_validity.pop()), 1]


async def test_since_days_leaves_older_messages_out(dovecot: Dovecot, account: Account) -> None:
    today = datetime.now(UTC)
    async with mail_client(dovecot, account) as mail:
        await mail.append(message(1), received=today - timedelta(days=40))
        await mail.append(message(2), received=today - timedelta(days=2))
        await mail.append(message(3))
    adapter = adapter_for(dovecot, account, since_days=7)
    try:
        batches = await sync(adapter)
    finally:
        await adapter.disconnect()
    assert [r["subject"] for r in by_id(batches).values()] == ["Message 2", "Message 3"]


async def test_configured_folders_only_and_missing_one_is_config_error(
    dovecot: Dovecot, account: Account
) -> None:
    async with mail_client(dovecot, account) as mail:
        await mail.create("Archive")
        await mail.create("Junk")
        await mail.append(message(1), "Archive")
        await mail.append(message(2), "Junk")
        await mail.append(message(3))
    chosen = adapter_for(dovecot, account, folders=["Archive", "inbox"])
    excluding = adapter_for(dovecot, account, exclude_folders=["Junk"])
    missing = adapter_for(dovecot, account, folders=["INBOX", "Nowhere"])
    try:
        await chosen.connect()
        assert {key.split("/")[0] for key in ids(await sync(chosen))} == {"Archive", "INBOX"}
        assert {key.split("/")[0] for key in ids(await sync(excluding))} == {"Archive", "INBOX"}
        with pytest.raises(ConfigError, match="Nowhere"):
            await missing.connect()
    finally:
        for adapter in (chosen, excluding, missing):
            await adapter.disconnect()


async def test_large_message_read_partially(dovecot: Dovecot, account: Account) -> None:
    big = message(1, text="word " * 40_000)  # ~200 KB
    await _deliver(dovecot, account, ("INBOX", big))
    adapter = adapter_for(dovecot, account, max_message_bytes=64 * 1024, max_text_chars=100)
    try:
        (record,) = by_id(await sync(adapter)).values()
    finally:
        await adapter.disconnect()
    assert record["partial"] is True
    assert record["size"] == len(big)
    assert (record["text"], record["text_truncated"]) == ("word " * 19 + "word", True)


async def test_wrong_password_is_auth_error(lonely: Dovecot) -> None:
    account = lonely.add_user("anna", "right-Pw-1")
    adapter = ImapAdapter(context_for(lonely, account, credentials={"password": "wrong-Pw-1"}))
    with pytest.raises(AuthError, match="AUTHENTICATIONFAILED") as raised:
        await adapter.connect()
    assert "wrong-Pw-1" not in str(raised.value)
    await adapter.disconnect()


async def test_access_token_logs_in_with_xoauth2(lonely: Dovecot) -> None:
    # Dovecot checks an XOAUTH2 token against the passdb like a password: enough to prove
    # what we send (a real provider checks the token with its own service).
    account = lonely.add_user("anna", "token-Ab3-valid")
    good = ImapAdapter(context_for(lonely, account, credentials={"access_token": account.password}))
    bad = ImapAdapter(context_for(lonely, account, credentials={"access_token": "expired-tok-9"}))
    try:
        await good.connect()
        assert (await good.health_check()).ok
        with (
            fail_after(SYSTEM_CLOCK, 4),  # answered at once, not after the 5 s timeout
            pytest.raises(AuthError, match="XOAUTH2"),
        ):
            await bad.connect()
    finally:
        await good.disconnect()
        await bad.disconnect()
    assert "method=XOAUTH2" in lonely.log_tail(200)


async def test_no_credentials_is_config_error(dovecot: Dovecot, account: Account) -> None:
    adapter = ImapAdapter(context_for(dovecot, account, credentials={}))
    with pytest.raises(ConfigError, match="neither"):
        await adapter.connect()


@pytest.mark.parametrize("security", ["ssl", "starttls"])
async def test_tls_with_the_servers_ca_works(
    dovecot: Dovecot, account: Account, security: str
) -> None:
    port = dovecot.tls_port if security == "ssl" else dovecot.port
    await _deliver(dovecot, account, ("INBOX", message(1)))
    adapter = adapter_for(dovecot, account, security=security, port=port, tls_ca=dovecot.ca_pem)
    try:
        info = await adapter.connect()
        assert info.peer.startswith("imaps://" if security == "ssl" else "imap://")
        assert len(ids(await sync(adapter))) == 1
    finally:
        await adapter.disconnect()


async def test_tls_certificate_not_trusted_is_config_error(
    dovecot: Dovecot, account: Account
) -> None:
    adapter = adapter_for(dovecot, account, security="ssl", port=dovecot.tls_port)
    with pytest.raises(ConfigError, match="not trusted"):
        await adapter.connect()


async def test_tls_on_the_plain_port_is_config_error(dovecot: Dovecot, account: Account) -> None:
    adapter = adapter_for(dovecot, account, security="ssl", tls_ca=dovecot.ca_pem)
    with pytest.raises(ConfigError, match="does not speak TLS"):
        await adapter.connect()


async def test_plain_on_the_tls_port_times_out_transient(
    dovecot: Dovecot, account: Account
) -> None:
    adapter = adapter_for(dovecot, account, port=dovecot.tls_port, timeout=0.5)
    with pytest.raises(TransientError, match="no answer"):
        await adapter.connect()


async def test_connection_refused_is_transient_and_health_says_so(
    dovecot: Dovecot, account: Account
) -> None:
    adapter = adapter_for(dovecot, account, port=free_port())
    with pytest.raises(TransientError, match="cannot reach"):
        await adapter.connect()
    status = await adapter.health_check()
    assert not status.ok
    assert "cannot reach" in status.detail


async def test_settings_problems_reported_by_connect_naming_the_field(
    dovecot: Dovecot, account: Account
) -> None:
    adapter = adapter_for(dovecot, account, batch_size=0, security="tls")  # built all the same
    with pytest.raises(ConfigError, match="batch_size") as raised:
        await adapter.connect()
    assert "security" in str(raised.value)


async def test_window_counted_from_the_injected_day(dovecot: Dovecot, account: Account) -> None:
    async with mail_client(dovecot, account) as mail:
        await mail.append(message(1), received=datetime(2025, 2, 20, 12, tzinfo=UTC))
        await mail.append(message(2), received=datetime(2025, 2, 27, 12, tzinfo=UTC))
    context = context_for(dovecot, account, since_days=5)
    adapter = ImapAdapter(context, today=lambda: date(2025, 3, 2))
    try:
        batches = await sync(adapter)
    finally:
        await adapter.disconnect()
    assert [r["subject"] for r in by_id(batches).values()] == ["Message 2"]
