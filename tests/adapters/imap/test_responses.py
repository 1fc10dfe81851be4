"""Reading IMAP answers without sockets, as aioimaplib hands them over (Dovecot's wording)."""

from __future__ import annotations

import pytest

from adapters import AuthError, ConfigError, TransientError
from adapters.imap._responses import (
    FolderStatus,
    Selected,
    fetched,
    list_folders,
    login_refused,
    new_mail,
    search_uids,
    select_refused,
    selected,
    status,
)


def test_list_folders_attributes_delimiters_quoted_and_literal_names() -> None:
    lines: list[bytes | bytearray] = [
        b'(\\HasNoChildren) "." INBOX',
        b'(\\HasChildren \\Noselect) "/" "Archive"',
        b'(\\HasNoChildren \\Sent) "/" "Sent Items"',
        b'(\\HasNoChildren) "/" {12}',
        bytearray(b"Entw&APw-rfe"),
        b'(\\NonExistent) NIL "Gone"',
    ]
    folders = list_folders(lines)
    assert [(f.name, f.delimiter, f.selectable) for f in folders] == [
        ("INBOX", ".", True),
        ("Archive", "/", False),
        ("Sent Items", "/", True),
        ("Entw&APw-rfe", "/", True),
        ("Gone", None, False),
    ]
    assert "\\SENT" in folders[2].attributes


def test_selected_reads_uidvalidity_exists_uidnext() -> None:
    lines = [
        b"FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        b"OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.",
        b"3 EXISTS",
        b"0 RECENT",
        b"OK [UIDVALIDITY 1795783185] UIDs valid",
        b"OK [UIDNEXT 7] Predicted next UID",
    ]
    assert selected(lines) == Selected(1795783185, 3, 7)


def test_selected_without_uidvalidity_is_transient() -> None:
    with pytest.raises(TransientError, match="UIDVALIDITY"):
        selected([b"3 EXISTS"])


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        (b"[NONEXISTENT] Mailbox doesn't exist: Gone", True),
        (b"[NOPERM] Permission denied", True),
        (b"Mailbox doesn't exist: Gone", True),
        (b"[UNAVAILABLE] Temporary failure", False),
        (b"[INUSE] Mailbox is locked", False),
    ],
)
def test_select_refused_only_for_missing_or_forbidden_folders(text: bytes, refused: bool) -> None:
    assert select_refused(text) is refused


def test_search_uids_sorted_unique() -> None:
    assert search_uids([b"9 3 4", b"4"]) == (3, 4, 9)
    assert search_uids([b""]) == ()


def test_status_counts() -> None:
    assert status([b'"INBOX" (MESSAGES 3 UIDNEXT 9 UIDVALIDITY 42)']) == FolderStatus(3, 9, 42)
    literal_name: list[bytes | bytearray] = [
        b"{5}",
        bytearray(b"INBOX"),
        b" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 7)",
    ]
    assert status(literal_name) == FolderStatus(1, 2, 7)
    with pytest.raises(TransientError):
        status([])


def test_fetched_messages_with_literals_partial_and_unsolicited_flags() -> None:
    lines: list[bytes | bytearray] = [
        b'1 FETCH (UID 4 FLAGS (\\Seen \\Recent) INTERNALDATE "1-Jul-2025 10:00:00 +0000" '
        b"RFC822.SIZE 11 BODY[]<0> {11}",
        bytearray(b"Subject: x\n"),
        b")",
        b"2 FETCH (FLAGS (\\Flagged))",  # another client changed flags meanwhile
        b"3 FETCH (BODY[] {3}",
        bytearray(b"abc"),
        b" UID 9 RFC822.SIZE 3)",
    ]
    first, second = fetched(lines)
    assert (first.uid, first.flags, first.size, first.body) == (
        4,
        ("\\Seen", "\\Recent"),
        11,
        b"Subject: x\n",
    )
    assert first.internal_date == "1-Jul-2025 10:00:00 +0000"
    assert (second.uid, second.flags, second.body) == (9, (), b"abc")
    assert "abc" not in repr(second)


def test_fetched_unreadable_answer_is_transient() -> None:
    with pytest.raises(TransientError, match="cannot read"):
        fetched([b"1 FETCH (UID 4 BODY[] {3}"])


@pytest.mark.parametrize(
    ("lines", "news"),
    [
        ([b"4 EXISTS"], True),
        ([b"1 EXPUNGE", b"1 EXISTS"], True),
        ([b"1 EXPUNGE"], False),
        ([b"2 FETCH (FLAGS (\\Seen))"], False),
        ([b"OK Still here"], False),
    ],
)
def test_new_mail_only_on_exists(lines: list[bytes], news: bool) -> None:
    assert new_mail(lines) is news


@pytest.mark.parametrize(
    ("result", "text", "error"),
    [
        ("NO", b"[AUTHENTICATIONFAILED] Authentication failed.", AuthError),
        ("NO", b"Login failed", AuthError),
        ("NO", b"[EXPIRED] Password expired", AuthError),
        ("NO", b"[UNAVAILABLE] Temporary authentication failure", TransientError),
        ("NO", b"[PRIVACYREQUIRED] Plaintext authentication disallowed", ConfigError),
        ("BAD", b"Unknown command", ConfigError),
    ],
)
def test_login_refused_sorted_by_response_code(
    result: str, text: bytes, error: type[Exception]
) -> None:
    refused = login_refused(result, text, "LOGIN")
    assert type(refused) is error
    assert "LOGIN" in str(refused) or "right now" in str(refused)
