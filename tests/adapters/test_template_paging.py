"""The template's paging rules as plain functions: no sockets, no event loop."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from adapters import ConfigError, JsonValue, PermanentError, SourceRecord, SyncKind, load_template
from adapters.templates._checks import Stream
from adapters.templates._model import Incremental
from adapters.templates._paging import (
    PageState,
    Position,
    Reply,
    advancing,
    interpolate,
    next_link,
    page_request,
    query_string,
    read_page,
    start,
    without_params,
)
from adapters.templates._records import lower_bound, newer, to_record


def stream(paginator: dict[str, Any], **fields: Any) -> Stream:
    document = {
        "name": "t",
        "title": "T",
        "description": "d",
        "base_url": "https://api.example",
        "settings": {"tenant": {"default": "acme"}},
        "streams": {"s": {"path": "/{tenant}/s", "paginator": paginator, **fields}},
    }
    return load_template(yaml.safe_dump(document)).streams["s"]


PAGES = stream({"type": "page_number", "page_param": "page[number]", "size_param": "page[size]"})
INCREMENTAL = Incremental(cursor_field="at", lookback=60, params={"since": "{cursor}"})


def _reply(body: JsonValue, headers: dict[str, str] | None = None) -> Reply:
    return Reply(body, headers or {}, "https://api.example/acme/s?page=1")


def test_page_request_keeps_brackets_and_fills_settings() -> None:
    path, pairs = page_request(PAGES, start(PAGES, None, SyncKind.FULL), 50, {"tenant": "acme"})
    assert path == "/acme/s"
    assert query_string(pairs) == "page[number]=1&page[size]=50"
    assert interpolate("{tenant}-{on}", {"tenant": "x", "on": True}) == "x-true"


@pytest.mark.parametrize(
    ("count", "total", "following"),
    [
        (50, None, Position(page=2)),
        (49, None, None),
        (0, None, None),
        (50, 50, None),
        (50, 51, Position(page=2)),
    ],
)
def test_page_numbers_end_on_short_or_empty_page_or_at_the_total(
    count: int, total: int | None, following: Position | None
) -> None:
    paged = stream({**_pages(), "total_path": "meta.total"}, records="items")
    state = PageState(Position(page=1), SyncKind.FULL)
    body: JsonValue = {"items": [{"id": n} for n in range(count)], "meta": {"total": total}}
    page = read_page(paged, state, 50, _reply(body))
    assert (page.next.position if page.next else None) == following


def _pages() -> dict[str, Any]:
    return {"type": "page_number"}


def test_offsets_advance_by_what_came() -> None:
    offsets = stream({"type": "offset", "total_path": "total"}, records="items")
    page = read_page(
        offsets,
        PageState(Position(offset=100), SyncKind.FULL),
        100,
        _reply({"items": [{"id": n} for n in range(100)], "total": 250}),
    )
    assert page.checkpoint == {"kind": "full", "next": {"offset": 200}, "since": None, "high": None}


def test_cursor_that_does_not_move_is_refused() -> None:
    cursors = stream({"type": "cursor", "cursor_path": "next"}, records="items")
    state = PageState(Position(cursor="abc"), SyncKind.FULL)
    with pytest.raises(PermanentError, match="the next cursor is the one just used"):
        read_page(cursors, state, 10, _reply({"items": [{"id": 1}], "next": "abc"}))
    header = stream({"type": "cursor", "cursor_header": "X-Next"})
    page = read_page(header, state, 10, _reply([{"id": 1}], {"x-next": "def"}))
    assert page.checkpoint["next"] == {"cursor": "def"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            '<https://a/x?page=2>; rel="next", <https://a/x?page=9>; rel="last"',
            "https://a/x?page=2",
        ),
        ('<https://a/x?page=1>; rel="prev", <https://a/x?page=3>; rel=next', "https://a/x?page=3"),
        ('<https://a/x?page=4>; title="n, m"; rel="last next"', "https://a/x?page=4"),
        ('<https://a/x?page=9>; rel="last"', None),
        ("", None),
    ],
)
def test_link_header_next(header: str, expected: str | None) -> None:
    assert next_link(header) == expected


def test_link_urls_lose_credential_parameters() -> None:
    url = "https://a/x?page=2&api_key=s3cr3t&q=a%20b"
    assert without_params(url, frozenset({"api_key"})) == "https://a/x?page=2&q=a+b"


@pytest.mark.parametrize(
    "checkpoint",
    [
        {"page": 2},
        {"kind": "sideways", "next": {"page": 2}},
        {"kind": "full", "next": {"page": "2"}},
        {"kind": "full", "next": {}},
    ],
)
def test_foreign_checkpoint_is_config_error(checkpoint: dict[str, JsonValue]) -> None:
    with pytest.raises(ConfigError, match="the checkpoint of 's' is not one of ours"):
        start(PAGES, checkpoint, SyncKind.FULL)


def test_start_after_a_done_pass_and_after_a_pass_of_the_other_kind() -> None:
    incremental = stream(_pages(), incremental=INCREMENTAL.model_dump())
    done: dict[str, JsonValue] = {"kind": "full", "done": True, "high": "2026-05-01T12:00:00Z"}
    state = start(incremental, done, SyncKind.INCREMENTAL)
    assert (state.position, state.since) == (Position(page=1), "2026-05-01T11:59:00Z")
    assert start(incremental, done, SyncKind.FULL).since is None
    cut: dict[str, JsonValue] = {
        "kind": "full",
        "next": {"page": 7},
        "since": None,
        "high": "2026-05-01T12:00:00Z",
    }
    assert start(incremental, cut, SyncKind.FULL).position == Position(page=7)
    assert start(incremental, cut, SyncKind.INCREMENTAL) == PageState(
        Position(page=1), SyncKind.INCREMENTAL, None, "2026-05-01T12:00:00Z"
    )


def test_cursor_values_compare_as_times_and_numbers() -> None:
    assert newer("2026-01-01T10:00:00+01:00", "2026-01-01T09:30:00Z") == "2026-01-01T09:30:00Z"
    assert newer(None, "x") == "x"
    assert newer(5, 3) == 5
    numbers = Incremental(
        cursor_field="v", type="number", lookback=10, params={"since": "{cursor}"}
    )
    assert lower_bound(100, numbers) == 90
    assert lower_bound("2026-01-01T00:00:30.5Z", INCREMENTAL) == "2025-12-31T23:59:30Z"


def test_records_keys_and_mapping() -> None:
    keyed = stream(
        _pages(), primary_key=["account.id", "n"], fields={"name": "who.name", "gone": "nope"}
    )
    record = to_record({"account": {"id": 7}, "n": 2, "who": {"name": "Ada"}}, keyed)
    assert (record.external_id, record.data) == ("7:2", {"name": "Ada", "gone": None})
    with pytest.raises(PermanentError, match=r"a record has no usable account\.id, n"):
        to_record({"n": 2}, keyed)


@pytest.mark.parametrize(
    ("records", "body", "message"),
    [
        ("data", {"data": {"id": 1}}, "data is not a list of records"),
        ("", {"id": 1}, "the response body is not a list"),
        ("data", {"data": [1]}, "record 0 is not an object"),
    ],
)
def test_bodies_that_are_not_records(records: str, body: JsonValue, message: str) -> None:
    with pytest.raises(PermanentError, match=message):
        read_page(
            stream(_pages(), records=records),
            PageState(Position(page=1), SyncKind.FULL),
            10,
            _reply(body),
        )


def test_missing_record_list_is_an_empty_last_page() -> None:
    page = read_page(
        stream(_pages(), records="data"), PageState(Position(page=3), SyncKind.FULL), 10, _reply({})
    )
    assert (page.records, page.next) == ((), None)


def test_advancing_refuses_a_page_that_repeats_the_one_before() -> None:
    page = (SourceRecord("1", {}), SourceRecord("2", {}))

    seen = advancing("items", (), page, more=True)

    assert seen == ("1", "2")
    with pytest.raises(PermanentError, match="'items': the peer sent the same page again"):
        advancing("items", seen, page, more=True)
    assert advancing("items", seen, page, more=False) == ()  # the last page may repeat
    assert advancing("items", (), (), more=True) == ()  # empty pages say nothing
