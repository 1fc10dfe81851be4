"""IMAP syntax without sockets: parsing responses, mailbox names, command arguments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from adapters.imap._wire import (
    WireError,
    decode_folder,
    encode_folder,
    internal_date,
    normal_folder,
    pairs,
    parse,
    quoted,
    responses,
    search_date,
    uid_set,
)


def test_parse_nested_lists_quoted_and_atoms() -> None:
    values = parse(
        rb'1 FETCH (UID 7 FLAGS (\Seen $Label1) INTERNALDATE "1-Jul-2025 10:00:00 +0000")'
    )
    assert values == [
        "1",
        "FETCH",
        ["UID", "7", "FLAGS", ["\\Seen", "$Label1"], "INTERNALDATE", b"1-Jul-2025 10:00:00 +0000"],
    ]


def test_parse_quoted_escapes_and_section_with_spaces_one_atom() -> None:
    values = parse(rb'"a \"b\" \\ c" BODY[HEADER.FIELDS (FROM TO)]<0> NIL')
    assert values == [b'a "b" \\ c', "BODY[HEADER.FIELDS (FROM TO)]<0>", "NIL"]


@pytest.mark.parametrize("text", [b"(a (b)", b'"open', b"a)"])
def test_parse_broken_syntax_is_wire_error(text: bytes) -> None:
    with pytest.raises(WireError):
        parse(text)


def test_responses_join_lines_around_literals() -> None:
    lines: list[bytes | bytearray] = [
        b"1 FETCH (UID 1 BODY[] {5}",
        bytearray(b"hello"),
        b" FLAGS (\\Seen))",
        b"2 FETCH (UID 2 FLAGS ())",
    ]
    grouped = list(responses(lines))
    assert len(grouped) == 2
    text, literals = grouped[0]
    assert literals == [b"hello"]
    assert parse(text, literals) == [
        "1",
        "FETCH",
        ["UID", "1", "BODY[]", b"hello", "FLAGS", ["\\Seen"]],
    ]
    assert grouped[1] == (b"2 FETCH (UID 2 FLAGS ())", [])


def test_parse_announced_literal_missing_is_wire_error() -> None:
    ((text, literals),) = responses([b"x {3}"])
    with pytest.raises(WireError, match="literal"):
        parse(text, literals)


def test_pairs_by_upper_key() -> None:
    assert pairs(["uid", "3", "FLAGS", []]) == {"UID": "3", "FLAGS": []}


@pytest.mark.parametrize(
    ("name", "wire"),
    [
        ("INBOX", "INBOX"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("Tom & Jerry", "Tom &- Jerry"),
        ("日本語", "&ZeVnLIqe-"),
        ("Archiv/2025/Größe", "Archiv/2025/Gr&APY-&AN8-e"),
        ("~peter/mail/台北", "~peter/mail/&U,BTFw-"),
    ],
)
def test_folder_names_modified_utf7_both_ways(name: str, wire: str) -> None:
    assert decode_folder(encode_folder(name)) == name
    assert decode_folder(wire) == name


def test_folder_names_encoded_as_rfc3501_example() -> None:
    assert encode_folder("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"


@pytest.mark.parametrize("raw", ["Broken &ZeV", "Bad &!!!-", "Grüße raw"])
def test_folder_name_not_modified_utf7_kept_as_is(raw: str) -> None:
    assert decode_folder(raw) == raw


def test_inbox_any_case_is_inbox() -> None:
    assert normal_folder("inbox") == "INBOX"
    assert normal_folder("Inbox.Sub") == "Inbox.Sub"


def test_quoted_escapes_backslash_and_quote() -> None:
    assert quoted('say "hi" \\o/') == '"say \\"hi\\" \\\\o/"'


@pytest.mark.parametrize(
    ("uids", "text"),
    [([5], "5"), ([1, 2, 3, 7, 9, 10], "1:3,7,9:10"), ([4, 6, 8], "4,6,8"), ([1, 2], "1:2")],
)
def test_uid_set_compact_ranges(uids: list[int], text: str) -> None:
    assert uid_set(uids) == text


def test_uid_set_empty_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        uid_set([])


def test_search_date_english_month_no_padding() -> None:
    assert search_date(date(2025, 2, 3)) == "3-Feb-2025"


def test_internal_date_with_offset_and_padded_day() -> None:
    assert internal_date(" 7-Jul-1996 02:44:25 -0700") == datetime(
        1996, 7, 7, 2, 44, 25, tzinfo=timezone(-timedelta(hours=7))
    )
    assert internal_date("27-Nov-2026 12:39:45 +0000") == datetime(
        2026, 11, 27, 12, 39, 45, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text", [None, "", "32-Jan-2025 00:00:00 +0000", "1-Foo-2025 00:00:00 +0000"]
)
def test_internal_date_unreadable_is_none(text: str | None) -> None:
    assert internal_date(text) is None
