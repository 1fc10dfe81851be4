"""Where a mailbox sync stands, and the UIDVALIDITY decisions, without sockets."""

from __future__ import annotations

import json

import pytest

from adapters import ConfigError, JsonValue, SyncKind
from adapters.imap._checkpoint import Cursor, Mark, begin, needs_folders, read_cursor, start_after

FULL, INCREMENTAL = SyncKind.FULL, SyncKind.INCREMENTAL


@pytest.mark.parametrize(
    ("kind", "mark", "at", "valid", "after"),
    [
        (FULL, 40, None, True, 0),  # a full pass reads everything
        (INCREMENTAL, 40, None, True, 40),  # an incremental one what is above the mark
        (INCREMENTAL, None, None, True, 0),  # a folder never read: all of it
        (INCREMENTAL, 40, None, False, 0),  # UIDVALIDITY changed: all of it, anew
        (FULL, 40, 12, True, 12),  # resumed mid-folder
        (INCREMENTAL, 40, 45, True, 45),
        (FULL, 40, 12, False, 0),  # resumed, but UIDVALIDITY changed meanwhile
    ],
)
def test_start_after_by_kind_mark_and_uidvalidity(
    kind: SyncKind, mark: int | None, at: int | None, valid: bool, after: int
) -> None:
    assert start_after(kind, mark, at, valid) == after


def _stored(cursor: Cursor) -> dict[str, JsonValue]:
    loaded: dict[str, JsonValue] = json.loads(json.dumps(cursor.to_json()))
    return loaded


def test_new_pass_over_found_folders_drops_marks_of_gone_ones() -> None:
    done = Cursor(FULL, {"INBOX": Mark(7, 30), "Old": Mark(3, 9)})
    assert needs_folders(done)
    assert needs_folders(None)
    cursor = begin(done, INCREMENTAL, ["INBOX", "Sent"])
    assert cursor == Cursor(INCREMENTAL, {"INBOX": Mark(7, 30)}, ("INBOX", "Sent"))


def test_unfinished_pass_goes_on_in_its_own_kind() -> None:
    unfinished = Cursor(FULL, {"INBOX": Mark(7, 30)}, ("INBOX", "Sent"), at=12)
    assert not needs_folders(unfinished)
    assert begin(unfinished, INCREMENTAL, []) is unfinished


def test_incremental_pass_reads_above_marks_and_moves_them() -> None:
    cursor = begin(Cursor(FULL, {"INBOX": Mark(7, 30)}), INCREMENTAL, ["INBOX", "Sent"])
    after, cursor = cursor.enter(7)
    assert after == 30
    cursor = cursor.advance(7, 35)
    assert (cursor.marks["INBOX"], cursor.at) == (Mark(7, 35), 35)
    cursor = cursor.leave()
    assert (cursor.folder, cursor.at) == ("Sent", None)
    after, cursor = cursor.enter(99)
    assert (after, cursor.marks["Sent"]) == (0, Mark(99, 0))
    cursor = cursor.leave()
    assert cursor.done
    assert _stored(cursor) == {
        "v": 1,
        "kind": "incremental",
        "marks": {"INBOX": [7, 35], "Sent": [99, 0]},
        "todo": [],
        "at": None,
    }


def test_changed_uidvalidity_starts_the_folder_over_under_the_new_value() -> None:
    cursor = begin(Cursor(FULL, {"INBOX": Mark(7, 30)}), INCREMENTAL, ["INBOX"])
    after, cursor = cursor.enter(8)
    assert (after, cursor.marks["INBOX"]) == (0, Mark(8, 0))
    assert cursor.advance(8, 3).marks["INBOX"] == Mark(8, 3)


def test_full_pass_keeps_the_highest_uid_seen_as_mark() -> None:
    cursor = begin(Cursor(INCREMENTAL, {"INBOX": Mark(7, 30)}), FULL, ["INBOX"])
    after, cursor = cursor.enter(7)
    assert after == 0
    cursor = cursor.advance(7, 20)
    assert (cursor.marks["INBOX"], cursor.at) == (Mark(7, 30), 20)  # 21..30 were deleted
    resumed = read_cursor(_stored(cursor))
    assert resumed == cursor
    assert resumed is not None
    assert resumed.enter(7)[0] == 20
    assert resumed.enter(9)[0] == 0  # UIDVALIDITY changed while the pass was interrupted


@pytest.mark.parametrize(
    "checkpoint",
    [
        {"offset": 3},
        {"v": 2, "kind": "full", "marks": {}, "todo": [], "at": None},
        {"v": 1, "kind": "sometimes", "marks": {}, "todo": [], "at": None},
        {"v": 1, "kind": "full", "marks": {"INBOX": [1]}, "todo": [], "at": None},
        {"v": 1, "kind": "full", "marks": {"INBOX": [1, -1]}, "todo": [], "at": None},
        {"v": 1, "kind": "full", "marks": {"INBOX": ["1", 2]}, "todo": [], "at": None},
        {"v": 1, "kind": "full", "marks": {}, "todo": ["A", "A"], "at": None},
        {"v": 1, "kind": "full", "marks": {}, "todo": [], "at": None, "extra": 1},
    ],
)
def test_foreign_checkpoint_is_config_error(checkpoint: dict[str, JsonValue]) -> None:
    with pytest.raises(ConfigError, match="not one of ours"):
        read_cursor(checkpoint)


def test_no_checkpoint_no_cursor() -> None:
    assert read_cursor(None) is None
