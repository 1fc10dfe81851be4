"""The sync decisions and the checkpoint, without a server: which calendars a pass reads and
where it resumes, what changed, tombstones for objects and instances gone, pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from adapters import SourceRecord, SyncKind
from adapters.caldav import _plan as plan
from adapters.caldav._discovery import Calendar
from adapters.caldav._state import (
    CalendarState,
    Cursor,
    Progress,
    dump_cursor,
    new_progress,
    read_cursor,
    window,
)

WINDOW = ("20250101T000000Z", "20260101T000000Z")


def _cal(slug: str) -> Calendar:
    return Calendar(url=f"https://h/c/{slug}/", path=f"/c/{slug}/", name=slug)


def _rec(key: str) -> SourceRecord:
    return SourceRecord(key, {"summary": key})


def _fetched(path: str, etag: str, *overrides: str) -> plan.Fetched:
    records = (_rec(path), *(_rec(f"{path}#{rid}") for rid in overrides))
    return plan.Fetched(path, path, etag, records)


def _keys(records: tuple[SourceRecord, ...]) -> list[tuple[str, bool]]:
    return [(r.external_id, r.deleted) for r in records]


def test_window_is_whole_utc_days_around_now() -> None:
    late = datetime(2026, 3, 10, 23, 59, tzinfo=UTC)
    assert window(late, 10, 20) == ("20260228T000000Z", "20260331T000000Z")
    assert window(datetime(2026, 3, 10, 0, 1, tzinfo=UTC), 10, 20) == window(late, 10, 20)


def test_cursor_round_trips_through_json_and_foreign_ones_are_dropped() -> None:
    cursor = Cursor(
        calendars={"/c/a/": CalendarState(token="t", overrides={"/c/a/x.ics": ("20260101",)})},
        progress=new_progress(SyncKind.FULL, WINDOW).model_copy(update={"calendar": "/c/a/"}),
    )
    stored = json.loads(json.dumps(dump_cursor(cursor)))
    assert read_cursor(stored) == cursor
    assert "etags" not in json.dumps(stored)  # token mode keeps no etags
    assert read_cursor(None) == Cursor()
    assert read_cursor({"generation": 3, "page": 1}) == Cursor()  # not ours: start over


def test_new_pass_visits_every_calendar_in_path_order() -> None:
    known = CalendarState(token="t1")
    cursor = Cursor(calendars={"/c/b/": known})
    progress, visits = plan.start(cursor, SyncKind.INCREMENTAL, [_cal("b"), _cal("a")], WINDOW)
    assert progress == Progress(kind="incremental", window_start=WINDOW[0], window_end=WINDOW[1])
    assert [(v.calendar.path, v.state, v.after) for v in visits] == [
        ("/c/a/", None, None),
        ("/c/b/", known, None),
    ]


def test_pass_resumes_in_the_calendar_it_reached_with_its_pending_state() -> None:
    pending = CalendarState(token="new")
    old_window = ("20240101T000000Z", "20250101T000000Z")
    reached = new_progress(SyncKind.FULL, old_window).model_copy(
        update={"calendar": "/c/b/", "after": "/c/b/5.ics", "pending": pending}
    )
    cursor = Cursor(calendars={"/c/b/": CalendarState(token="old")}, progress=reached)
    calendars = [_cal("a"), _cal("b"), _cal("c")]
    progress, visits = plan.start(cursor, SyncKind.FULL, calendars, WINDOW)
    assert progress.window_start == old_window[0]  # a resumed pass keeps its window
    assert [(v.calendar.path, v.after, v.pending) for v in visits] == [
        ("/c/b/", "/c/b/5.ics", pending),
        ("/c/c/", None, None),
    ]
    finished = cursor.model_copy(
        update={"progress": reached.model_copy(update={"after": None, "pending": None})}
    )
    assert [v.calendar.path for v in plan.start(finished, SyncKind.FULL, calendars, WINDOW)[1]] == [
        "/c/c/"
    ]
    other_kind = plan.start(cursor, SyncKind.INCREMENTAL, calendars, WINDOW)
    assert [v.calendar.path for v in other_kind[1]] == ["/c/a/", "/c/b/", "/c/c/"]


def test_etag_changes_new_changed_and_gone() -> None:
    changed, gone = plan.etag_changes(
        {"a": "1", "b": "1", "c": "1"}, {"a": "1", "b": "2", "d": "1"}
    )
    assert (changed, gone) == (("b", "d"), ("c",))


def test_listed_calendar_records_sorted_and_state_taken() -> None:
    outcome = plan.listed(
        [_fetched("/c/a/2.ics", '"e2"'), _fetched("/c/a/1.ics", '"e1"', "20260101")],
        token=None,
        ctag="c9",
        keep_etags=True,
        before=CalendarState(
            ctag="c1",
            etags={"/c/a/1.ics": "x", "/c/a/0.ics": "y"},
            overrides={"/c/a/0.ics": ("20250101",)},
        ),
    )
    assert _keys(outcome.records) == [
        ("/c/a/0.ics", True),  # gone since the etags were taken: tombstones, instances too
        ("/c/a/0.ics#20250101", True),
        ("/c/a/1.ics", False),
        ("/c/a/1.ics#20260101", False),
        ("/c/a/2.ics", False),
    ]
    assert outcome.state == CalendarState(
        ctag="c9",
        etags={"/c/a/2.ics": '"e2"', "/c/a/1.ics": '"e1"'},
        overrides={"/c/a/1.ics": ("20260101",)},
    )
    by_token = plan.listed(
        [_fetched("/c/a/1.ics", "e")], token="t", ctag=None, keep_etags=False, before=None
    )
    assert by_token.state == CalendarState(token="t")


def test_changed_objects_upserted_gone_ones_and_dropped_instances_tombstoned() -> None:
    before = CalendarState(
        ctag="c1",
        etags={"/c/a/1.ics": "1", "/c/a/2.ics": "1", "/c/a/3.ics": "1", "/c/a/4.ics": "1"},
        overrides={"/c/a/1.ics": ("r1", "r2"), "/c/a/3.ics": ("r9",)},
    )
    outcome = plan.changed(
        before,
        [_fetched("/c/a/1.ics", "2", "r2")],  # r1 no longer overridden
        ["/c/a/3.ics"],
        token=None,
        ctag="c2",
        in_window={"/c/a/1.ics": "2", "/c/a/2.ics": "1", "/c/a/4.ics": "2", "/c/a/5.ics": "1"},
        asked=["/c/a/1.ics", "/c/a/4.ics"],  # 4 was asked for but did not come back
    )
    assert _keys(outcome.records) == [
        ("/c/a/1.ics", False),
        ("/c/a/1.ics#r1", True),
        ("/c/a/1.ics#r2", False),
        ("/c/a/3.ics", True),
        ("/c/a/3.ics#r9", True),
    ]
    assert outcome.state == CalendarState(
        ctag="c2",
        etags={"/c/a/1.ics": "2", "/c/a/2.ics": "1", "/c/a/5.ics": "1"},
        overrides={"/c/a/1.ics": ("r2",)},
    )


def test_resumed_calendar_commits_its_first_state_knowing_every_override() -> None:
    pending = CalendarState(token="t1", overrides={"/c/a/1.ics": ("r1",)})
    fresh = CalendarState(token="t2", overrides={"/c/a/1.ics": ("r2",), "/c/a/2.ics": ("r3",)})
    assert plan.resumed(pending, fresh) == CalendarState(
        token="t1", overrides={"/c/a/1.ics": ("r1", "r2"), "/c/a/2.ics": ("r3",)}
    )
    records = (_rec("a"), _rec("b"), _rec("c"))
    assert plan.rest_after(records, "a") == records[1:]
    assert plan.rest_after(records, None) == records


def test_calendar_steps_carry_the_position_then_commit_the_state() -> None:
    progress = new_progress(SyncKind.FULL, WINDOW)
    state = CalendarState(token="t")
    records = [_rec("/c/a/1"), _rec("/c/a/2"), _rec("/c/a/3")]
    steps, committed = plan.calendar_steps(progress, {}, "/c/a/", records, state=state, size=2)
    assert [len(part) for part, _ in steps] == [2, 1]
    middle, last = steps[0][1], steps[1][1]
    assert middle.calendars == {}
    assert middle.progress is not None
    assert (middle.progress.calendar, middle.progress.after) == ("/c/a/", "/c/a/2")
    assert middle.progress.pending == state
    assert last.calendars == committed == {"/c/a/": state}
    assert last.progress is not None
    assert (last.progress.after, last.progress.pending) == (None, None)
    empty, _ = plan.calendar_steps(progress, {}, "/c/b/", [], state=state, size=2)
    assert [part for part, _ in empty] == [()]


def test_held_back_page_emitted_when_the_next_has_records() -> None:
    held = plan.HeldBack()
    first, second, third = (Cursor(calendars={str(n): CalendarState()}) for n in range(3))
    assert held.push((), first) is None  # an empty calendar first: nothing to hold yet
    assert held.push((_rec("a"),), second) is None
    assert held.push((), third) is None  # an empty calendar after: the held page moves on
    assert (held.records, held.cursor) == ((_rec("a"),), third)
    assert held.push((_rec("b"),), first) == ((_rec("a"),), third)
    assert held.records == (_rec("b"),)
